// Malformed inputs from JavaScript are refused with an Error carrying a
// stable code, never a panic or a trap: wrong types, missing fields, bad hex,
// truncated proofs and envelopes, misuse of the validator and of classes.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ehr from "../pkg/index.js";
// The package's internals (not exported by its root), tested here directly.
import * as wasm from "../pkg/ehrchain_wasm.js";
import * as eip1193 from "../pkg/eip1193.js";
import { KEYS, OFFLINE as OPTIONS, offlineHandshaker } from "./chain.mjs";

const { hs, bp, templates } = offlineHandshaker();
const goodTi = {
  tiId: `0x${"01".repeat(32)}`, templateId: bp, authorId: "dr-1", authorRole: "doctor", patientId: "MRN-1",
  timestamp: Math.floor(Date.now() / 1000), fields: { systolic: 120, diastolic: 80 },
};

/** Asserts `f` throws an Error with `code` (and `reason`). */
function fails(f, code, reason) {
  assert.throws(f, (e) => {
    assert.ok(e instanceof Error, `not an Error: ${e}`);
    assert.equal(e.name, "EhrchainError");
    assert.equal(e.code, code, e.message);
    if (reason) assert.equal(e.reason, reason, e.message);
    assert.equal(typeof e.kind, "string");
    assert.equal(typeof e.retryable, "boolean");
    assert.ok(e.message.length > 10);
    return true;
  });
}

test("wrong types are refused with EHR_INVALID_ARGUMENT", () => {
  for (const bad of [undefined, null, 5, true, 10n, () => 1]) {
    fails(() => hs.generate(bad), "EHR_INVALID_ARGUMENT");
    fails(() => templates.formsFor(bad), "EHR_INVALID_ARGUMENT");
    fails(() => ehr.verifyProof(bad), "EHR_INVALID_ARGUMENT");
    fails(() => ehr.roleId(bad), "EHR_INVALID_ARGUMENT");
  }
  fails(() => hs.generate({ ...goodTi, timestamp: 10n }), "EHR_INVALID_ARGUMENT");
  const cyclic = { ...goodTi };
  cyclic.self = cyclic;
  fails(() => hs.generate(cyclic), "EHR_INVALID_ARGUMENT");
  fails(() => templates.add(42), "EHR_INVALID_ARGUMENT");
  fails(() => new ehr.Handshaker(5, KEYS, templates), "EHR_INVALID_ARGUMENT");
  fails(() => new ehr.Handshaker(OPTIONS, "keys", templates), "EHR_INVALID_ARGUMENT");
  fails(() => hs.generate(goodTi, "now"), "EHR_INVALID_ARGUMENT");
  fails(() => hs.generate(goodTi, -1), "EHR_INVALID_ARGUMENT");
  fails(() => hs.generate(goodTi, 1.5), "EHR_INVALID_ARGUMENT");
  fails(() => hs.validatorFor(goodTi, Number.NaN), "EHR_INVALID_ARGUMENT");
  fails(() => new ehr.BatchBuilder().build(`0x${"00".repeat(32)}`), "EHR_BATCH_EMPTY");
});

test("times: nowMs is Unix milliseconds everywhere, a TI's timestamp Unix seconds", async () => {
  const nowMs = goodTi.timestamp * 1000;
  /** The violations of generating `ti` at `now`, or [] when it generates. */
  const violations = (ti, now) => {
    try {
      hs.generate(ti, now).free();
      return [];
    } catch (e) {
      assert.equal(e.code, "EHR_TI_REJECTED", e.message);
      return e.violations.map((v) => v.violation);
    }
  };
  assert.deepEqual(violations(goodTi, nowMs), []);
  // 299 s ahead passes, 301 s ahead is refused (tolerance 300 000 ms).
  assert.deepEqual(violations({ ...goodTi, timestamp: goodTi.timestamp + 299 }, nowMs), []);
  assert.deepEqual(violations({ ...goodTi, timestamp: goodTi.timestamp + 301 }, nowMs), ["timestamp_in_future"]);
  // A clock in seconds by mistake puts the TI far in the future: refused.
  assert.deepEqual(violations(goodTi, goodTi.timestamp), ["timestamp_in_future"]);
  // prepare, generateAsync and validatorFor take the same nowMs.
  hs.prepare(goodTi, nowMs).free();
  assert.throws(() => hs.prepare(goodTi, goodTi.timestamp), (e) => e.code === "EHR_TI_REJECTED");
  (await hs.generateAsync(goodTi, nowMs)).free();
  const accepted = hs.validatorFor(goodTi, nowMs);
  assert.equal(accepted.isFinished, false);
  accepted.free();
  assert.equal((await hs.generateAsync(goodTi, goodTi.timestamp).catch((e) => e)).code, "EHR_TI_REJECTED");
  const refused = hs.validatorFor(goodTi, goodTi.timestamp);
  assert.equal(refused.pollAck().reason.kind, "template_violations");
  refused.free();
  // The tolerance is set in milliseconds; the seconds-era option is refused.
  const strict = new ehr.Handshaker({ ...OPTIONS, maxClockSkewMs: 0 }, KEYS, templates);
  const aSecondAhead = { ...goodTi, timestamp: goodTi.timestamp + 1 };
  fails(() => strict.generate(aSecondAhead, nowMs + 999), "EHR_TI_REJECTED");
  strict.generate(aSecondAhead, nowMs + 1000).free();
  strict.free();
  fails(() => new ehr.Handshaker({ ...OPTIONS, maxClockSkew: 300 }, KEYS, templates), "EHR_INVALID_JSON");
});

test("class arguments of the wrong class are refused with EHR_INVALID_ARGUMENT", () => {
  fails(() => new ehr.BatchBuilder().add({ recordHash: `0x${"01".repeat(32)}` }), "EHR_INVALID_ARGUMENT");
  fails(() => new ehr.Handshaker(OPTIONS, KEYS, {}), "EHR_INVALID_ARGUMENT");
  // An object used after it was consumed (build() takes the builder).
  const builder = new ehr.BatchBuilder();
  builder.push(`0x${"01".repeat(32)}`);
  builder.build(`0x${"02".repeat(32)}`);
  fails(() => builder.push(`0x${"03".repeat(32)}`), "EHR_INVALID_ARGUMENT");
});

test("missing and unknown fields: EHR_TI_MALFORMED / EHR_INVALID_JSON", () => {
  for (const key of ["tiId", "templateId", "authorId", "authorRole", "timestamp", "fields"]) {
    const ti = { ...goodTi };
    delete ti[key];
    fails(() => hs.generate(ti), "EHR_TI_MALFORMED");
  }
  fails(() => hs.generate({ ...goodTi, extra: 1 }), "EHR_TI_MALFORMED");
  fails(() => hs.generate("{not json"), "EHR_TI_MALFORMED");
  fails(() => hs.generate({ ...goodTi, authorRole: "Doctor" }), "EHR_TI_MALFORMED");
  fails(() => new ehr.Handshaker({ ...OPTIONS, chainId: undefined }, KEYS, templates), "EHR_INVALID_JSON");
  fails(() => new ehr.Handshaker({ ...OPTIONS, colour: "red" }, KEYS, templates), "EHR_INVALID_JSON");
  fails(() => new ehr.Handshaker({ ...OPTIONS, validator: { confirmation: 2 } }, KEYS, templates), "EHR_INVALID_JSON");
  fails(() => templates.add({ format: "ehrchain.template/1", name: "x" }), "EHR_TEMPLATE_INVALID");
  fails(() => templates.add("{}"), "EHR_TEMPLATE_INVALID");
});

test("bad hex: EHR_INVALID_ARGUMENT (or EHR_TI_MALFORMED inside a TI)", () => {
  for (const bad of ["", "0x", "01".repeat(32), `0x${"0".repeat(63)}`, `0x${"zz".repeat(32)}`, `0x${"01".repeat(33)}`]) {
    fails(() => templates.get(bad), "EHR_INVALID_ARGUMENT");
    fails(() => new ehr.BatchBuilder().push(bad), "EHR_INVALID_ARGUMENT");
    fails(() => wasm.recordHashOfCall(bad), "EHR_INVALID_ARGUMENT");
  }
  fails(() => wasm.grantRoleCall("doctor", "0x1234"), "EHR_INVALID_ARGUMENT");
  fails(() => new ehr.Handshaker({ ...OPTIONS, registry: "0xabc" }, KEYS, templates), "EHR_INVALID_ARGUMENT");
  fails(() => new ehr.Handshaker(OPTIONS, { ...KEYS, pseudonyms: "0x12" }, templates), "EHR_KEY_INVALID");
  fails(() => hs.generate({ ...goodTi, tiId: "0x01" }), "EHR_TI_MALFORMED");
  // A TI's ids are 0x and 64 hex digits, as in docs/templates.md: the digits
  // alone are refused (the core's TI reader, the same in C and Rust).
  for (const key of ["tiId", "templateId"]) {
    const bare = { ...goodTi, [key]: goodTi[key].slice(2) };
    fails(() => hs.generate(bare), "EHR_TI_MALFORMED");
    fails(() => hs.generate(JSON.stringify(bare)), "EHR_TI_MALFORMED");
    fails(() => hs.validatorFor(bare), "EHR_TI_MALFORMED");
    fails(() => hs.prepare(bare), "EHR_TI_MALFORMED");
    fails(() => hs.generate({ ...goodTi, [key]: `0X${goodTi[key].slice(2)}` }), "EHR_TI_MALFORMED");
  }
  fails(() => ehr.decodeRevert("nothex"), "EHR_INVALID_ARGUMENT");
});

test("keys: a missing key is EHR_KEY_UNKNOWN", () => {
  fails(() => new ehr.Handshaker({ ...OPTIONS, sealingKeyId: "nope" }, KEYS, templates), "EHR_KEY_UNKNOWN");
  fails(() => new ehr.Handshaker({ ...OPTIONS, pseudonymKeyId: "nope" }, KEYS, templates), "EHR_KEY_UNKNOWN");
});

test("truncated or tampered envelopes and proofs", () => {
  const tc = hs.generate(goodTi);
  const envelope = tc.envelope;
  fails(() => hs.open(envelope.slice(0, 40)), "EHR_ENVELOPE_MALFORMED", "truncated");
  const tampered = envelope.slice();
  tampered[tampered.length - 1] ^= 1;
  fails(() => hs.open(tampered), "EHR_ENVELOPE_TAMPERED", "tampered");
  fails(() => ehr.openEnvelope(envelope, new Uint8Array(32)), "EHR_ENVELOPE_WRONG_KEY", "wrong_key");
  assert.equal(hs.openRecord(envelope).fields.systolic, 120);

  const builder = new ehr.BatchBuilder();
  for (let i = 1; i <= 3; i += 1) builder.push(`0x${String(i).padStart(2, "0").repeat(32)}`);
  const proof = builder.build(`0x${"aa".repeat(32)}`).proof(1);
  const binary = proof.toBytes();
  fails(() => ehr.verifyProof(binary.slice(0, binary.length - 1)), "EHR_PROOF_MALFORMED", "truncated");
  fails(() => ehr.verifyProof(proof.toText().slice(0, 30)), "EHR_PROOF_MALFORMED");
  fails(() => ehr.verifyProof("EHRP:!!"), "EHR_PROOF_MALFORMED", "bad_text");
  fails(() => ehr.verifyProof("hello"), "EHR_PROOF_MALFORMED", "not_a_proof");
  fails(() => ehr.verifyProof({ ...proof.toJSON(), index: 9 }), "EHR_PROOF_INVALID", "index_out_of_range");
  fails(() => ehr.verifyProofAnchored(proof.toText(), { root: proof.root, leafCount: 4 }), "EHR_PROOF_ANCHOR_MISMATCH", "leaf_count_mismatch");
});

test("the validator refuses results nobody asked for", () => {
  const v = hs.generate(goodTi).validator({ pollIntervalMs: 10 });
  fails(() => v.handleHead(Date.now(), 5), "EHR_VALIDATOR");
  fails(() => v.handlePersisted(Date.now()), "EHR_VALIDATOR");
  assert.equal(v.pollTransmit(Date.now()).kind, "persist");
  fails(() => v.handleSubmitted(Date.now(), `0x${"ab".repeat(32)}`), "EHR_VALIDATOR");
  v.handlePersisted(Date.now());
  const t = v.pollTransmit(Date.now());
  assert.equal(t.kind, "submit");
  fails(() => v.handleSubmitted(Date.now(), "0x1234"), "EHR_INVALID_ARGUMENT");
  fails(() => v.handleSubmitted(Date.now(), { error: "broken" }), "EHR_INVALID_ARGUMENT");
  fails(() => v.handleReceipt(Date.now(), { status: "pending" }), "EHR_VALIDATOR");
  v.handleSubmitted(Date.now(), { error: "rejected", detail: "no funds" });
  // A rejected transaction is settled by reading the chain, never guessed.
  assert.equal(v.pollTransmit(Date.now()).kind, "read_record");
  fails(() => v.handleRecord(Date.now(), "0xzz"), "EHR_INVALID_ARGUMENT");
  fails(() => wasm.anchorLogIndex(tcSubmission(), [{ address: "0x1", topics: [], data: "0x" }]), "EHR_INVALID_ARGUMENT");
});

test("the EIP-1193 transport refuses bad providers and options", () => {
  fails(() => new ehr.Eip1193Transport({}, { chainId: 1, registry: `0x${"ee".repeat(20)}` }), "EHR_INVALID_ARGUMENT");
  fails(() => new ehr.Eip1193Transport({ request() {} }, { chainId: "1", registry: `0x${"ee".repeat(20)}` }), "EHR_INVALID_ARGUMENT");
  fails(() => new ehr.Eip1193Transport({ request() {} }, { chainId: 1, registry: "0x12" }), "EHR_INVALID_ARGUMENT");
  // The core's classification (docs/vectors/rpc.json), through the package.
  assert.deepEqual(eip1193.classify({ code: 4001, message: "User rejected" }, 1337).error, "rejected");
  assert.deepEqual(eip1193.classify({ code: -32005, message: "limit" }, 1337).error, "rate_limited");
  assert.deepEqual(eip1193.classify(new TypeError("fetch failed"), 1337).error, "unavailable");
  assert.deepEqual(eip1193.classify({ message: "execution reverted", data: "0x0102" }, 1337),
    { error: "reverted", detail: { data: "0x0102", message: "execution reverted" } });
  const hardhat = Object.assign(new Error("Error: VM Exception while processing transaction: reverted"), {
    code: -32603, data: { message: "reverted", txHash: `0x${"ab".repeat(32)}`, data: "0xe2517d3f" },
  });
  assert.deepEqual(eip1193.classify(hardhat, 1337).detail.txHash, `0x${"ab".repeat(32)}`);
});

function tcSubmission() {
  return hs.generate({ ...goodTi, tiId: `0x${"05".repeat(32)}` }).submission();
}
