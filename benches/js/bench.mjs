// The npm package ehrchain (WebAssembly) against the same pipeline written
// with viem + node:crypto (baseline.mjs), in one run: TI → TC per second and
// proof verifications per second, as ratios. Writes target/bench-js.json.
//
// Run with `make bench-js` (builds the package first). BENCH_MS sets the time
// per measurement (default 2000 ms; each is taken twice, the best kept).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import * as ehr from "../../ehrchain-wasm/pkg/index.js";
import { JsGenerator, jsVerifyProof } from "./baseline.mjs";

const MS = Number(process.env.BENCH_MS ?? 2000);
const REGISTRY = `0x${"ee".repeat(20)}`;
const sealingKey = randomBytes(32);
const pseudonymKey = randomBytes(32);

const templates = ehr.Templates.builtIn();
const summary = templates.list().find((t) => t.name === "blood-pressure");
const doc = templates.get(summary.id);
const hs = new ehr.Handshaker(
  { chainId: 1337, registry: REGISTRY, sealingKeyId: "records-2026", pseudonymKeyId: "pseudonyms" },
  { "records-2026": sealingKey, pseudonyms: pseudonymKey },
  templates,
);
const js = new JsGenerator({
  chainId: 1337, registry: REGISTRY, sealingKeyId: "records-2026", sealingKey, pseudonymKey, template: doc, templateId: summary.id,
});

const now = Math.floor(Date.now() / 1000);
const tis = Array.from({ length: 256 }, (_, i) => ({
  ti_id: `0x${randomBytes(32).toString("hex")}`,
  template_id: summary.id,
  author_id: "dr-4711",
  author_role: i % 2 ? "doctor" : "nurse",
  patient_id: `MRN-${100000 + i}`,
  timestamp: now,
  fields: { systolic: 100 + (i % 60), diastolic: 60 + (i % 30), position: "sitting" },
}));

// The two pipelines agree: the package opens the baseline's envelopes, and
// both derive the same pseudonym.
{
  const ti = tis[0];
  const tc = js.generate(ti, now);
  const opened = JSON.parse(Buffer.from(ehr.openEnvelope(tc.envelope, sealingKey)).toString("utf8"));
  assert.deepEqual(opened.fields, { diastolic: 60, position: "sitting", systolic: 100 });
  assert.equal(ehr.envelopeInfo(tc.envelope).patient, hs.pseudonym(ti.patient_id));
  assert.equal(tc.calldata.slice(0, 10), hs.generate(ti, now).calldata.slice(0, 10));
  assert.throws(() => js.generate({ ...ti, fields: { systolic: 999 } }, now));
}

// Proofs of a 1,024-record batch, binary form.
const builder = new ehr.BatchBuilder();
for (let i = 0; i < 1024; i += 1) builder.push(`0x${randomBytes(32).toString("hex")}`);
const batch = builder.build(`0x${"ba".repeat(32)}`);
const proofs = Array.from({ length: 64 }, (_, i) => batch.proof(i * 16 + 3).toBytes());
const texts = Array.from({ length: 64 }, (_, i) => batch.proof(i * 16 + 3).toText());
for (const p of proofs) assert.equal(jsVerifyProof(p), true);
{
  const bad = proofs[0].slice();
  bad[bad.length - 1] ^= 1;
  assert.throws(() => jsVerifyProof(bad));
  assert.throws(() => ehr.verifyProof(bad));
}

function measure(f, n) {
  let best = 0;
  for (let round = 0; round < 2; round += 1) {
    let ops = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < MS) {
      for (let i = 0; i < 64; i += 1) f(ops + i);
      ops += 64;
      elapsed = performance.now() - start;
    }
    best = Math.max(best, (ops / elapsed) * 1000);
  }
  void n;
  return best;
}

const results = {};
const run = (name, f) => {
  for (let i = 0; i < 200; i += 1) f(i); // warm up
  results[name] = Math.round(measure(f));
  console.log(`${name.padEnd(34)} ${results[name].toLocaleString("en").padStart(10)} /s`);
};

console.log(`ehrchain ${ehr.version()} (WebAssembly) vs viem + node:crypto, node ${process.version}, ${MS} ms x 2 per line\n`);
run("ti_to_tc.wasm", (i) => {
  const tc = hs.generate(tis[i % tis.length], now);
  // Hand the TC's bytes to JavaScript, as the baseline does.
  void tc.calldata;
  void tc.recordHash;
  void tc.envelope;
  tc.free();
});
run("ti_to_tc.viem_node_crypto", (i) => js.generate(tis[i % tis.length], now));
run("proof_verify.wasm", (i) => ehr.verifyProof(proofs[i % proofs.length]));
run("proof_verify.viem", (i) => jsVerifyProof(proofs[i % proofs.length]));
run("proof_verify.wasm_qr_text", (i) => ehr.verifyProof(texts[i % texts.length]));

const wasm = readFileSync(new URL("../../ehrchain-wasm/pkg/ehrchain_wasm_bg.wasm", import.meta.url));
const report = {
  node: process.version,
  package_version: ehr.version(),
  ms_per_measurement: MS,
  ops_per_second: results,
  ratios_wasm_over_js: {
    ti_to_tc: +(results["ti_to_tc.wasm"] / results["ti_to_tc.viem_node_crypto"]).toFixed(2),
    proof_verify: +(results["proof_verify.wasm"] / results["proof_verify.viem"]).toFixed(2),
  },
  wasm_bytes: wasm.length,
  wasm_gzip_bytes: gzipSync(wasm, { level: 9 }).length,
};
console.log(`\nratio ti_to_tc (wasm / viem+node:crypto):    ${report.ratios_wasm_over_js.ti_to_tc}`);
console.log(`ratio proof_verify (wasm / viem):            ${report.ratios_wasm_over_js.proof_verify}`);
console.log(`ehrchain_wasm_bg.wasm: ${report.wasm_bytes} bytes, ${report.wasm_gzip_bytes} gzipped (${(report.wasm_gzip_bytes / 1024).toFixed(1)} KiB)`);
const out = new URL("../../target/bench-js.json", import.meta.url);
mkdirSync(new URL(".", out), { recursive: true });
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`written: ${out.pathname}`);
