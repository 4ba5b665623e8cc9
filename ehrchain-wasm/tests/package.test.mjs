// The built package itself: its manifest, its entry points and its types.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const pkgDir = new URL("../pkg/", import.meta.url);
const manifest = JSON.parse(readFileSync(new URL("package.json", pkgDir), "utf8"));

test("package.json: ESM with an exports map for Node and browsers", async () => {
  assert.equal(manifest.name, "ehrchain");
  assert.equal(manifest.type, "module");
  const workspace = readFileSync(new URL("../../Cargo.toml", import.meta.url), "utf8");
  assert.equal(manifest.version, /\[workspace\.package\]\s*version = "([^"]+)"/.exec(workspace)[1]);
  const root = manifest.exports["."];
  assert.deepEqual(Object.keys(root), ["types", "node", "browser", "default"]);
  const viaNode = await import(new URL(root.node, pkgDir));
  assert.equal(viaNode.version(), manifest.version);
  for (const file of [root.types, root.browser, "./ehrchain_wasm_bg.wasm", "./eip1193.d.ts"]) {
    assert.ok(readFileSync(new URL(file, pkgDir)).length > 0, file);
  }
});

test("types: precise interfaces, not any", () => {
  const dts = readFileSync(new URL("ehrchain_wasm.d.ts", pkgDir), "utf8");
  for (const decl of ["export type Ack", "export interface Form", "export interface InitialTransaction",
    "export type Transmit", "export interface ProofJson", "export interface EhrchainError", "export type ErrorCode"]) {
    assert.ok(dts.includes(decl), decl);
  }
  for (const sig of ["formsFor(role: string): Form[]", "pollAck(): Ack | undefined", "generate(ti: InitialTransaction | string",
    "verifyProof(proof: ProofInput): ProofJson", "verifyProofAnchored(proof: ProofInput, anchored: AnchoredBatch | null): ProofJson",
    "generate(ti: InitialTransaction | string, nowMs?: number", "validatorFor(ti: InitialTransaction | string, nowMs?: number",
    "prepare(ti: InitialTransaction | string, nowMs?: number", "generateAsync(ti: InitialTransaction | string, nowMs?: number"]) {
    assert.ok(dts.includes(sig), sig);
  }
  // Every exported function and method is typed: no `any` in a signature.
  // (The raw wasm exports of InitOutput, at the end, are wasm-bindgen's own.)
  const api = dts.slice(0, dts.indexOf("export type InitInput"));
  assert.ok(api.length > 1000);
  const anyLines = api.split("\n").filter((l) => /\bany\b/.test(l) && !/^\s*(\/\*\*|\*)/.test(l));
  assert.deepEqual(anyLines, []);
});
