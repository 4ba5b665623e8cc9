// The package root exports exactly the public API the README documents; the
// internals (registry calldata, log and revert decoding, error helpers) stay
// in the package's own modules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as root from "../pkg/index.js";
import * as wasm from "../pkg/ehrchain_wasm.js";
import * as eip1193 from "../pkg/eip1193.js";
import * as sharing from "../pkg/sharing.js";

const PUBLIC = [
  "Batch", "BatchBuilder", "ChainTransaction", "Eip1193Transport", "Handshaker", "InclusionProof",
  "PreparedTransaction", "SignedBatch", "SignedBatchBuilder", "SignedRecordProof", "SigningRequest", "Templates", "Validator", "decodeRevert", "deployRegistry",
  "eip1193Signer", "envelopeInfo", "localSigner",
  "fhirAuditEvent", "fhirFromAck", "fhirMapBundle", "fhirMapResource", "fhirProvenance", "generateRecipientKey", "grantRole", "KeyCapsule",
  "openEnvelope", "Pipeline", "recipientKeyId", "recipientPublicKey", "registerTemplates", "resumeAll", "roleId", "runPipeline", "runValidator", "runWatcher",
  "sealCapsule", "sealEnvelope", "submitTi", "verifyProof",
  "verifyProofAnchored", "verifyProofs", "version", "Watcher",
  // Sharing with consent (docs/consent.md).
  "accounting", "bindPatient", "consentGrantId", "consentSigningDigest", "consentTypedData", "deployConsent", "disclosureTransaction",
  "patientRecords", "publishRecipientKey", "receiveRecord", "recordDisclosures", "relayConsent", "shareRecord",
  "signConsent",
].sort();

const pkg = (file) => readFileSync(new URL(`../pkg/${file}`, import.meta.url), "utf8");

test("the Node entry exports exactly the public API", () => {
  assert.deepEqual(Object.keys(root).sort(), PUBLIC);
});

test("the browser entry exports what the Node entry does", () => {
  // web.js fetches the .wasm, which Node cannot: compare the sources' exports.
  const exportsOf = (js) => js.split("\n").filter((l) => l.startsWith("export")).join("\n");
  assert.equal(exportsOf(pkg("web.js")), 'export * from "./api.js";');
  assert.equal(exportsOf(pkg("index.js")), 'export * from "./api.js";');
  assert.equal(pkg("web.d.ts").trim(), 'export * from "./index.js";');
});

test("the .d.ts declares the same values, and every document type", () => {
  const dts = pkg("index.d.ts");
  const values = [...dts.matchAll(/^export \{([^}]*)\} from/gm)].flatMap((m) => m[1].split(",")).map((n) => n.trim())
    .filter(Boolean).sort();
  assert.deepEqual(values, PUBLIC);
  const types = [...dts.matchAll(/^export type \{([^}]*)\} from/gm)].flatMap((m) => m[1].split(",")).map((n) => n.trim())
    .filter(Boolean);
  // Every interface and type of the package's documents is exported, but the
  // internal ones (a raw RPC log, the core policy's exchange settings) and wasm-bindgen's loader types.
  const declared = [...pkg("ehrchain_wasm.d.ts").matchAll(/^export (?:interface|type) (\w+)/gm), ...pkg("eip1193.d.ts")
    .matchAll(/^export (?:interface|type) (\w+)/gm)].map((m) => m[1])
    .filter((name) => !["RpcLog", "RpcExchangeOptions", "InitInput", "InitOutput", "SyncInitInput"].includes(name));
  assert.deepEqual([...types].sort(), [...new Set(declared)].sort());
});

test("the README documents the public API and none of the internals", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const api = readme.slice(readme.indexOf("## API"), readme.indexOf("## Errors"));
  for (const name of PUBLIC) assert.ok(api.includes(name), `${name} is not in the README's API section`);
  const internals = [...Object.keys(wasm), ...Object.keys(eip1193), ...Object.keys(sharing)]
    .filter((name) => !PUBLIC.includes(name) && name !== "default" && name !== "initSync");
  assert.ok(internals.includes("grantRoleCall") && internals.includes("transportFailure"), internals.join());
  assert.ok(internals.includes("ShareCheck") && internals.includes("consentRelayCall"), internals.join());
  for (const name of internals) {
    assert.ok(!(name in root), `${name} is exported by the root`);
    assert.ok(!new RegExp(`\\b${name}\\b`).test(readme), `the README documents the internal ${name}`);
  }
});
