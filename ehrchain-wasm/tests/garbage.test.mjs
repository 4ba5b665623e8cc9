// Nothing panics across the boundary: every exported function and method,
// called thousands of times with arbitrary JavaScript values (seeded), either
// returns or throws an Error with one of the documented codes; never a
// WebAssembly trap (a Rust panic would be a RuntimeError: unreachable).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ehr from "../pkg/index.js";
// The package's internals (not exported by its root) take arguments too.
import * as wasm from "../pkg/ehrchain_wasm.js";
import { readFileSync } from "node:fs";
import { offlineHandshaker } from "./chain.mjs";

// The codes of docs/errors.md, but for those that mean a bug in ehrchain.
const CODES = new Set(
  [...readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8").matchAll(/^\| \d+ \| `(EHR_\w+)`/gm)]
    .map((m) => m[1])
    .filter((code) => code !== "EHR_PANIC" && code !== "EHR_INTERNAL"),
);

const { hs, bp, templates } = offlineHandshaker();
const ti = {
  tiId: `0x${"01".repeat(32)}`, templateId: bp, authorId: "dr-1", authorRole: "doctor", patientId: "MRN-1",
  timestamp: 1_700_000_000, fields: { systolic: 120, diastolic: 80 },
};
const tc = hs.generate(ti, 1_700_000_000_000); // nowMs
const builder = new ehr.BatchBuilder();
for (let i = 1; i <= 5; i += 1) builder.push(`0x${String(i).padStart(2, "0").repeat(32)}`);
const batch = builder.build(`0x${"aa".repeat(32)}`);
const proof = batch.proof(2);

// Arbitrary values, with near misses of the real inputs.
const VALUES = [
  undefined, null, 0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, 4294967296, "", "0x", "0x0", "0xzz",
  `0x${"ab".repeat(32)}`, `0x${"ab".repeat(20)}`, "EHRP:", "EHRP:6Y8", "{}", "[]", "{\"tiId\":1}", "doctor", "Doctor",
  "x".repeat(5000), true, 10n, {}, [], [1, 2], ["doctor", 5], { error: "unavailable", detail: "x" }, { error: "x" },
  { status: "included" }, { status: "included", receipt: {} }, { root: 1 }, new Uint8Array(0), new Uint8Array(200).fill(255),
  new Uint8Array(3), Symbol("s"), () => 1, new Date(0), Object.create(null), tc.envelope, proof.toBytes(), proof.toText(),
  proof.toJSON(), { ...ti, fields: { systolic: "x" } }, { ...ti, timestamp: -5 }, ti, tc.submission(),
  JSON.stringify(ti), { keyId: "k", patient: 1 },
  // Key stores (callbacks) that answer, lack keys, answer garbage or throw.
  { masterKey: () => new Uint8Array(32).fill(9), recipientKey: () => new Uint8Array(32).fill(9) }, { masterKey: () => null },
  { masterKey: () => "0x00", recipientKey: () => 5 }, { masterKey: () => { throw Symbol("x"); }, recipientKey: () => { throw null; } },
  [proof.toBytes(), "EHRP:", 7],
];

let seed = 0x2545f491;
const rand = (n) => {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  return (seed >>> 0) % n;
};
const pick = () => VALUES[rand(VALUES.length)];

const TARGETS = {
  roleId: (a) => ehr.roleId(a),
  grantRoleCall: (a, b) => wasm.grantRoleCall(a, b),
  recordHashOfCall: (a) => wasm.recordHashOfCall(a),
  decodeRecordHashOf: (a) => wasm.decodeRecordHashOf(a),
  batchOfCall: (a) => wasm.batchOfCall(a),
  decodeBatchOf: (a, b) => wasm.decodeBatchOf(a, b),
  verifyRecordCall: (a) => wasm.verifyRecordCall(a),
  verifyRecordOutcome: (a, b, c) => wasm.verifyRecordOutcome(a, b, c),
  decodeRevert: (a) => ehr.decodeRevert(a),
  anchorRoleOf: (a) => wasm.anchorRoleOf(a),
  anchorLogIndex: (a, b) => wasm.anchorLogIndex(a, b),
  sealEnvelope: (a, b, c, d) => ehr.sealEnvelope(a, b, c, d),
  openEnvelope: (a, b) => ehr.openEnvelope(a, b),
  envelopeInfo: (a) => ehr.envelopeInfo(a),
  verifyProof: (a) => ehr.verifyProof(a),
  verifyProofAnchored: (a, b) => ehr.verifyProofAnchored(a, b),
  verifyProofs: (a) => ehr.verifyProofs(a),
  localSigner: (a) => ehr.localSigner(a).free(),
  "signer.sign/signDigest": (a, b) => {
    const signer = ehr.localSigner(`0x${"11".repeat(32)}`);
    try {
      signer.signDigest(a);
      signer.sign(b);
    } finally {
      signer.free();
    }
  },
  "signer.signConsent": (a, b) => {
    const signer = ehr.localSigner(`0x${"11".repeat(32)}`);
    try {
      signer.signConsent(a, b);
    } finally {
      signer.free();
    }
  },
  consentSigningDigest: (a, b) => ehr.consentSigningDigest(a, b),
  fhirAuditEvent: (a, b, c, d) => ehr.fhirAuditEvent(a, b, c, d),
  fhirProvenance: (a, b, c, d) => ehr.fhirProvenance(a, b, c, d),
  sealCapsule: (a, b, c, d) => ehr.sealCapsule(tc.envelope, a, b, c, d),
  "KeyCapsule.open": (a, b) => ehr.KeyCapsule.parse(a).open(b, b),
  "InclusionProof.parse": (a) => ehr.InclusionProof.parse(a).free(),
  "InclusionProof.fromBytes": (a) => ehr.InclusionProof.fromBytes(a).free(),
  "InclusionProof.fromText": (a) => ehr.InclusionProof.fromText(a).free(),
  "InclusionProof.fromJson": (a) => ehr.InclusionProof.fromJson(a).free(),
  "proof.verifyAnchored": (a) => proof.verifyAnchored(a),
  "Templates.add": (a) => new ehr.Templates().add(a),
  "templates.get": (a) => templates.get(a),
  "templates.latest": (a) => templates.latest(a),
  "templates.formsFor": (a) => templates.formsFor(a),
  "Templates.deactivate": (a) => ehr.Templates.builtIn().deactivate(a),
  "new Handshaker": (a, b) => new ehr.Handshaker(a, b, templates).free(),
  "hs.generate": (a, b) => hs.generate(a, b).free(),
  "hs.validatorFor": (a, b) => hs.validatorFor(a, b).free(),
  "hs.pseudonym": (a) => hs.pseudonym(a),
  "hs.open": (a) => hs.open(a),
  "hs.openRecord": (a) => hs.openRecord(a),
  "hs.formsFor": (a) => hs.formsFor(a),
  "BatchBuilder.push": (a) => new ehr.BatchBuilder().push(a),
  "BatchBuilder.build": (a, b) => { const bb = new ehr.BatchBuilder(); bb.push(a); bb.build(b).free(); },
  "batch.proof": (a) => batch.proof(a).free(),
  "new SignedBatchBuilder": (a, b) => new ehr.SignedBatchBuilder(a, b).free(),
  "SignedBatchBuilder.push": (a) => new ehr.SignedBatchBuilder(`0x${"ab".repeat(20)}`, 1337).push(a),
  "SignedBatchBuilder.build": (a) => new ehr.SignedBatchBuilder(`0x${"ab".repeat(20)}`, 1337).build(a).free(),
  "batch.anchorTransaction": (a, b) => batch.anchorTransaction(a, b),
  "batch.validator": (a, b, c) => batch.validator(a, b, c).free(),
  "tc.validator": (a) => tc.validator(a).free(),
  "ChainTransaction.fromJSON": (a) => ehr.ChainTransaction.fromJSON(a).free(),
  "validator.*": (a, b, c) => {
    const v = tc.validator({ pollIntervalMs: 1 });
    v.pollTransmit(a);
    for (const m of ["handleSubmitted", "handleReceipt", "handleHead", "handleRecord", "handleBatch"]) {
      try { v[m](b, c); } catch (e) { check(e, m); }
    }
    v.handleTimeout(c);
    v.pollAck();
    v.free();
  },
};

function check(e, where) {
  assert.ok(e instanceof Error, `${where}: threw a non-Error ${String(e)}`);
  assert.ok(!(e instanceof WebAssembly.RuntimeError), `${where}: WebAssembly trap ${e.message}`);
  assert.ok(CODES.has(e.code), `${where}: ${e.name} without a documented code: ${e.message}`);
}

test("arbitrary values never trap and always throw coded Errors", () => {
  let calls = 0;
  let thrown = 0;
  for (const [name, f] of Object.entries(TARGETS)) {
    for (let i = 0; i < 400; i += 1) {
      const args = [pick(), pick(), pick(), pick()];
      calls += 1;
      try {
        f(...args);
      } catch (e) {
        thrown += 1;
        check(e, name);
      }
    }
  }
  // The module still works afterwards (no trap left it broken).
  assert.equal(hs.generate(ti, 1_700_000_000_000).recordHash.length, 66);
  assert.ok(thrown > calls / 2, `${thrown} of ${calls} calls threw`);
});
