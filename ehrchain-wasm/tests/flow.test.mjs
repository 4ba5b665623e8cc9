// The whole flow on Ganache's in-process provider, through the built package:
// TI → TC → EIP-1193 transport → ACK, forbidden roles, template violations,
// replays, batches with proofs checked in WebAssembly and in the EVM.
import { createHash } from "node:crypto";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ehr from "../pkg/index.js";
import { CHAIN_ID, FAST, KEYS, reportTemplate, setup, ti, withoutSubtle } from "./chain.mjs";

const chain = await setup();
const { hs, templates, transport, registry } = chain;

/** 32 bytes as the package writes them: 0x and 64 lowercase hex digits. */
const HASH = /^0x[0-9a-f]{64}$/;

/** SHA-256 of the bytes `hex` (0x...), as 0x-hex: a record hash. */
const sha256 = (hex) => `0x${createHash("sha256").update(Buffer.from(hex.slice(2), "hex")).digest("hex")}`;

/** The registry's logs indexing `key` (a TI id or a root) as their first topic. */
const logsOf = (key) => chain.provider.request({
  method: "eth_getLogs",
  params: [{ address: registry, fromBlock: "0x0", toBlock: "latest", topics: [null, key] }],
});

/** The receipt of transaction `hash`, from the node. */
const receiptOf = (hash) => chain.provider.request({ method: "eth_getTransactionReceipt", params: [hash] });

test("a doctor's blood-pressure reading is anchored: valid ACK", async () => {
  const entry = ti(templates, "blood-pressure", "doctor", { systolic: 128, diastolic: 84, position: "sitting" }, {
    patientId: "MRN-000123",
  });
  const states = [];
  const ack = await ehr.submitTi(hs, entry, transport, { onState: (s) => states.push(s.state) });
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  assert.equal(ack.tiId, entry.tiId);
  assert.equal(ack.templateId, entry.templateId);
  assert.equal(ack.replay, false);
  // The anchor is the one RecordAnchored log under the TI id: its
  // transaction, block and log index.
  assert.match(ack.txHash, HASH);
  const [log, ...more] = await logsOf(entry.tiId);
  assert.deepEqual(more, []);
  assert.equal(log.transactionHash, ack.txHash);
  assert.equal(log.blockHash, ack.blockHash);
  assert.equal(Number(log.blockNumber), ack.blockNumber);
  assert.equal(Number(log.logIndex), ack.logIndex);
  assert.ok(states.includes("submitted") && states.includes("included"), states.join());
  // The record hash is SHA-256 of the envelope, and what the chain holds; the
  // envelope opens to the reading.
  assert.match(ack.recordHash, HASH);
  assert.equal(ack.recordHash, sha256(ack.envelope));
  assert.equal(await transport.recordHashOf(entry.tiId), ack.recordHash);
  const record = hs.openRecord(ack.envelope);
  assert.equal(record.format, "ehrchain.record/1");
  assert.deepEqual(record.fields, { diastolic: 84, position: "sitting", systolic: 128 });
  assert.equal(record.patientId, "MRN-000123");
  // Nothing clinical in the calldata: the patient is a pseudonym.
  const calldata = (await chain.provider.request({ method: "eth_getTransactionByHash", params: [ack.txHash] })).input;
  assert.ok(calldata.includes(hs.pseudonym("MRN-000123").slice(2)));
  assert.ok(!calldata.includes(Buffer.from("MRN-000123").toString("hex")));
});

test("a role the chain refuses: invalid ACK with the decoded custom error", async () => {
  // The template allows pharmacists, but the pharmacy's account holds no role on chain.
  const entry = ti(templates, "drug-shipment-custody", "pharmacist", {
    lot: "B2026-117", gtin: "04012345678901", event: "received", quantity: 240,
  });
  const ack = await ehr.submitTi(hs, entry, transport);
  assert.equal(ack.status, "invalid");
  const reason = ack.reason;
  assert.equal(reason.kind, "contract_revert", JSON.stringify(reason));
  assert.equal(reason.revert.error, "AccessControlUnauthorizedAccount");
  assert.match(reason.revert.detail, /AccessControlUnauthorizedAccount/);
  // Its gas estimate reverted: nothing was sent (no gas paid), and the ACK
  // came at once.
  assert.deepEqual(ack.txHashes, []);
  assert.equal(await transport.recordHashOf(entry.tiId), null);
});

test("a role its template refuses: invalid ACK, nothing sent", async () => {
  const entry = ti(templates, "blood-pressure", "admin", { systolic: 120, diastolic: 80 }, { patientId: "MRN-1" });
  const ack = await ehr.submitTi(hs, entry, transport);
  assert.equal(ack.status, "invalid");
  assert.equal(ack.reason.kind, "template_violations");
  assert.match(ack.reason.violations[0].message, /role "admin" may not submit/);
  assert.deepEqual(ack.txHashes, []);
  assert.equal(ack.recordHash, null);
});

test("a TI that breaks its template: invalid ACK listing every violation", async () => {
  const entry = ti(templates, "blood-pressure", "nurse", { systolic: 999, pulse: 1 }, { patientId: "MRN-1" });
  const ack = await ehr.submitTi(hs, entry, transport);
  assert.equal(ack.reason.kind, "template_violations");
  const fields = ack.reason.violations.map((v) => v.field).sort();
  assert.deepEqual(fields, ["diastolic", "pulse", "systolic"]);
  // generate() throws the same as an Error with the violations.
  assert.throws(() => hs.generate(entry), (e) => e instanceof Error && e.code === "EHR_TI_REJECTED"
    && e.violations.length === 3 && e.violations.some((v) => v.violation === "out_of_range"));
});

test("a live handshaker takes changed templates with setTemplates; until then it keeps its copy", () => {
  const entry = ti(templates, "blood-pressure", "nurse", { systolic: 120, diastolic: 80 }, { patientId: "MRN-1" });
  const changed = hs.templates();
  try {
    changed.deactivate(entry.templateId);
    hs.generate(entry).free();
    hs.setTemplates(changed);
    assert.throws(() => hs.generate(entry), (e) => e.code === "EHR_TI_REJECTED"
      && e.violations.some((v) => v.violation === "template_inactive"));
  } finally {
    changed.activate(entry.templateId);
    hs.setTemplates(changed);
    changed.free();
  }
  hs.generate(entry).free();
});

test("a record of 300 kB goes through WebCrypto and is anchored; without WebCrypto too", async () => {
  // The blood-pressure template with room for a scanned report, registered on chain.
  const large = new ehr.Templates();
  const id = large.add(reportTemplate(templates));
  const receipt = await transport.waitForReceipt(await transport.send({
    from: chain.admin, to: registry, data: large.registerCalls().find((c) => c.templateId === id).calldata,
  }));
  assert.equal(receipt.status, true);
  const handshaker = new ehr.Handshaker(
    { chainId: CHAIN_ID, registry, sealingKeyId: "records-2026", pseudonymKeyId: "pseudonyms", validator: FAST },
    KEYS, large,
  );
  const report = "r".repeat(300_000);
  const entry = () => ti(large, "blood-pressure-with-report", "doctor", { systolic: 120, diastolic: 80, note: report }, {
    patientId: "MRN-000123",
  });
  // Count WebCrypto's encryptions: the record must go through it, not the fallback.
  const subtle = globalThis.crypto.subtle;
  const encrypt = subtle.encrypt;
  let encryptions = 0;
  subtle.encrypt = function (...args) {
    encryptions += 1;
    return encrypt.apply(this, args);
  };
  let viaWebCrypto;
  try {
    viaWebCrypto = await ehr.submitTi(handshaker, entry(), transport, {
      onWebCryptoFallback: () => assert.fail("WebCrypto is there"),
    });
  } finally {
    subtle.encrypt = encrypt;
  }
  assert.equal(encryptions, 1);
  assert.equal(viaWebCrypto.status, "valid", JSON.stringify(viaWebCrypto));
  assert.equal(handshaker.openRecord(viaWebCrypto.envelope).fields.note, report);
  assert.equal(viaWebCrypto.recordHash, sha256(viaWebCrypto.envelope));
  assert.equal(await transport.recordHashOf(viaWebCrypto.tiId), viaWebCrypto.recordHash);

  const fallbacks = [];
  const fallback = await withoutSubtle(() => ehr.submitTi(handshaker, entry(), transport, {
    onWebCryptoFallback: (error) => fallbacks.push(error.code),
  }));
  assert.equal(fallback.status, "valid", JSON.stringify(fallback));
  assert.deepEqual(fallbacks, ["EHR_EXTERNAL_CIPHER"], "the host is told");
  assert.equal(await transport.recordHashOf(fallback.tiId), fallback.recordHash);
  handshaker.free();
});

test("a replayed TC is anchored once: the second ACK is a valid replay", async () => {
  const entry = ti(templates, "blood-pressure", "nurse", { systolic: 131, diastolic: 86 }, { patientId: "MRN-2" });
  const tc = hs.generate(entry);
  const [first] = await ehr.runValidator(tc.validator(FAST), transport);
  const [second] = await ehr.runValidator(tc.validator(FAST), transport);
  assert.equal(first.status, "valid");
  assert.equal(first.replay, false);
  assert.equal(second.status, "valid", JSON.stringify(second));
  assert.equal(second.replay, true);
  // Both ACKs are about this TC's record.
  for (const ack of [first, second]) {
    assert.deepEqual([ack.tiId, ack.recordHash], [tc.tiId, tc.recordHash]);
  }
  assert.equal(tc.tiId, entry.tiId);
  // Nothing was sent the second time (its gas estimate reverted with
  // "TI id already used"): the anchor was read and confirmed at a mined
  // block, and says how to find its transaction.
  assert.equal(second.txHash, null);
  assert.ok(second.recovered, JSON.stringify(second));
  const topic = (await receiptOf(first.txHash)).logs[0].topics[0];
  const logs = await chain.provider.request({
    method: "eth_getLogs",
    params: [{ address: registry, fromBlock: "0x0", toBlock: "latest", topics: [topic, entry.tiId] }],
  });
  assert.equal(logs.length, 1, "RecordAnchored is emitted once");
  assert.equal(logs[0].transactionHash, first.txHash);
});

test("a TC stored as JSON and validated later: valid ACK; a tampered one is refused", async () => {
  const entry = ti(templates, "blood-pressure", "doctor", { systolic: 118, diastolic: 76 }, { patientId: "MRN-9" });
  const stored = JSON.stringify(hs.generate(entry).toJSON());
  const tc = ehr.ChainTransaction.fromJSON(stored);
  assert.deepEqual(tc.toJSON(), JSON.parse(stored));
  const [ack] = await ehr.runValidator(tc.validator(FAST), transport);
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  const doc = JSON.parse(stored);
  // The ACK is the stored TC's: its TI, its record and envelope.
  assert.equal(doc.tiId, entry.tiId);
  assert.deepEqual(
    [ack.tiId, ack.templateId, ack.recordHash, ack.envelope],
    [doc.tiId, doc.templateId, doc.recordHash, doc.envelope],
  );
  const flipped = `${doc.envelope.slice(0, -2)}${doc.envelope.endsWith("00") ? "01" : "00"}`;
  assert.throws(() => ehr.ChainTransaction.fromJSON({ ...doc, envelope: flipped }), { code: "EHR_TC_INVALID" });
  assert.throws(() => ehr.ChainTransaction.fromJSON({ ...doc, envelope: "0x4548" }), { code: "EHR_ENVELOPE_MALFORMED" });
  assert.throws(() => ehr.ChainTransaction.fromJSON({ ...doc, tiId: `0x${"07".repeat(32)}` }), { code: "EHR_TC_INVALID" });
  assert.throws(() => ehr.ChainTransaction.fromJSON({ ...doc, extra: 1 }), { code: "EHR_TC_INVALID" });
});

test("a batch of device readings under one root: proofs verify in WASM and in the EVM", async () => {
  const builder = new ehr.BatchBuilder();
  const entries = [];
  const tcs = [];
  for (let i = 0; i < 5; i += 1) {
    const entry = ti(templates, "device-vital-sign", "device", { device_serial: "BSM-7", heart_rate: 70 + i, measured_at: "2026-11-30T07:45:00Z" },
      { patientId: `MRN-${i}` });
    entries.push(entry);
    tcs.push(hs.generate(entry));
    assert.equal(builder.add(tcs[i]), i);
  }
  const batch = builder.build(`0x${"ba".repeat(32)}`);
  assert.equal(batch.leafCount, 5);
  // A TI given twice would get two ACKs: its batch has no validator.
  const twice = new ehr.BatchBuilder();
  twice.add(tcs[0]);
  twice.add(tcs[0]);
  assert.throws(() => twice.build(`0x${"bb".repeat(32)}`).validator(registry, CHAIN_ID, FAST), {
    code: "EHR_BATCH_DUPLICATE_TI",
  });
  const acks = await ehr.runValidator(batch.validator(registry, CHAIN_ID, FAST), transport);
  assert.equal(acks.length, 5);
  const anchored = await transport.anchoredBatch(batch.root);
  assert.deepEqual(anchored, { root: batch.root, leafCount: 5, batchId: null });
  // One anchorBatch transaction, whose BatchAnchored log is the one under the root.
  const [log, ...more] = await logsOf(batch.root);
  assert.deepEqual(more, []);
  for (const [i, ack] of acks.entries()) {
    assert.equal(ack.status, "valid", JSON.stringify(ack));
    assert.equal(ack.tiId, entries[i].tiId);
    assert.equal(ack.recordHash, tcs[i].recordHash);
    assert.equal(ack.txHash, log.transactionHash);
    const proof = ehr.InclusionProof.parse(ack.batch);
    assert.equal(proof.index, i);
    assert.deepEqual([proof.root, proof.recordHash], [batch.root, tcs[i].recordHash]);
    const text = proof.toText();
    assert.ok(text.startsWith("EHRP:"));
    // The QR text and the binary form verify, alone and against the chain.
    for (const form of [text, proof.toBytes(), JSON.stringify(proof.toJSON())]) {
      assert.equal(ehr.verifyProof(form).recordHash, ack.recordHash);
      ehr.verifyProofAnchored(form, anchored);
    }
    assert.equal(await transport.verifyOnChain(text), true);
    // An InclusionProof itself is a proof input too.
    assert.deepEqual(await transport.verifyOnChainDetailed(proof), { verified: true, error: null, revert: null });
  }
  // A tampered proof fails everywhere.
  const bytes = batch.proof(1).toBytes();
  bytes[bytes.length - 1] ^= 1;
  assert.throws(() => ehr.verifyProof(bytes), { code: "EHR_PROOF_INVALID", kind: "batch", reason: "root_mismatch" });
  assert.equal(await transport.verifyOnChain(bytes), false);
  const tampered = await transport.verifyOnChainDetailed(bytes);
  assert.equal(tampered.verified, false);
  assert.equal(tampered.revert, null);
  assert.ok(tampered.error instanceof Error);
  assert.deepEqual([tampered.error.name, tampered.error.code, tampered.error.reason],
    ["EhrchainError", "EHR_PROOF_INVALID", "root_mismatch"]);
  // A proof of a root the chain does not hold; a tampered one is invalid
  // first, whatever the chain holds (as on chain: checked before the read).
  assert.throws(() => batch.proof(1).verifyAnchored(null), { code: "EHR_PROOF_NOT_ANCHORED", reason: "not_anchored" });
  assert.throws(() => ehr.InclusionProof.parse(bytes).verifyAnchored(null), { code: "EHR_PROOF_INVALID", reason: "root_mismatch" });
});

test("verifyOnChain on a batch not anchored: false with the decoded reason; transport failures throw", async () => {
  const builder = new ehr.BatchBuilder();
  for (let i = 1; i <= 3; i += 1) builder.push(`0x${String(i).padStart(2, "0").repeat(32)}`);
  const batch = builder.build(`0x${"bb".repeat(32)}`);
  const proof = batch.proof(1);
  assert.equal(await transport.anchoredBatch(batch.root), null);
  for (const form of [proof, proof.toText(), proof.toBytes(), proof.toJSON()]) {
    assert.equal(await transport.verifyOnChain(form), false);
    const { verified, error, revert } = await transport.verifyOnChainDetailed(form);
    assert.equal(verified, false);
    // The error verifyAnchored throws for the same root, here returned.
    assert.ok(error instanceof Error);
    assert.deepEqual([error.name, error.code, error.kind, error.reason, error.retryable],
      ["EhrchainError", "EHR_PROOF_NOT_ANCHORED", "batch", "not_anchored", false]);
    assert.equal(error.message, `no batch with root ${batch.root} is anchored on chain`);
    // The registry's revert: EhrRegistryRootNotAnchored(root), decoded.
    assert.equal(revert.error, "EhrRegistryRootNotAnchored");
    assert.equal(revert.data.slice(10), batch.root.slice(2));
    assert.deepEqual(ehr.decodeRevert(revert.data), revert);
    assert.match(revert.detail, new RegExp(`no batch is anchored under root ${batch.root}`));
  }
  // A malformed proof still throws, and so does a provider that is down.
  await assert.rejects(transport.verifyOnChain("EHRP:"), { code: "EHR_PROOF_MALFORMED" });
  const down = new ehr.Eip1193Transport({ request: () => Promise.reject(new TypeError("fetch failed")) }, { chainId: CHAIN_ID, registry });
  await assert.rejects(down.verifyOnChain(proof), { code: "EHR_TRANSPORT_UNAVAILABLE", reason: "unavailable" });
  const refusing = new ehr.Eip1193Transport({
    request: () => Promise.reject(Object.assign(new Error("execution reverted"), { code: -32000, data: "0x" })),
  }, { chainId: CHAIN_ID, registry });
  await assert.rejects(refusing.verifyOnChain(proof), { code: "EHR_TRANSPORT_REVERTED" });
});

test("default validator settings on an instamining node: the wait ends, inconclusive (or valid with mineOnHead)", { timeout: 60_000 }, async () => {
  // Ganache mines a block only when a transaction arrives: with the default
  // 3 confirmations the head stays at the transaction's block. A virtual
  // clock runs the validator's waits at once.
  const defaults = new ehr.Handshaker(
    { chainId: CHAIN_ID, registry, sealingKeyId: "records-2026", pseudonymKeyId: "pseudonyms" }, KEYS, templates,
  );
  const virtualClock = () => {
    let at = Date.now();
    return { now: () => at, sleep: async (ms) => { at += ms; }, elapsed: (since) => at - since };
  };
  const plain = new ehr.Eip1193Transport(chain.provider, { chainId: CHAIN_ID, registry, senders: chain.roles });
  const entry = ti(templates, "blood-pressure", "doctor", { systolic: 121, diastolic: 79 }, { patientId: "MRN-6" });
  const clock = virtualClock();
  const start = clock.now();
  const ack = await ehr.submitTi(defaults, entry, plain, clock);
  // The transaction is in its block (the one RecordAnchored log under the TI
  // id), but the head never moved: unconfirmed, after inclusion_timeout_ms
  // (2 minutes by default) of a still head.
  const [log] = await logsOf(entry.tiId);
  const head = Number(await chain.provider.request({ method: "eth_blockNumber", params: [] }));
  assert.equal(ack.status, "invalid");
  assert.deepEqual(ack.reason, {
    kind: "unconfirmed", txHash: log.transactionHash, blockNumber: Number(log.blockNumber), head, confirmations: 3,
  });
  assert.equal(head, Number(log.blockNumber));
  assert.deepEqual(ack.txHashes, [log.transactionHash]);
  const waited = clock.elapsed(start);
  assert.ok(waited >= 120_000 && waited <= 125_000, `${waited} ms`);
  // The record is on chain: running the same TC again once blocks come is a valid replay.
  assert.equal(await transport.recordHashOf(entry.tiId), ack.recordHash);

  // The same defaults with a transport that mines on head reads: valid.
  const again = ti(templates, "blood-pressure", "doctor", { systolic: 122, diastolic: 78 }, { patientId: "MRN-6" });
  const valid = await ehr.submitTi(defaults, again, transport, virtualClock());
  assert.equal(valid.status, "valid", JSON.stringify(valid));
  assert.equal(valid.txHash, (await logsOf(again.tiId))[0].transactionHash);
});

test("a provider on another chain: EHR_TRANSPORT_WRONG_CHAIN, and an inconclusive invalid ACK", async () => {
  await assert.rejects(transport.checkChain(1), { code: "EHR_TRANSPORT_WRONG_CHAIN", kind: "chain", reason: "wrong_chain", name: "EhrchainError" });
  const other = new ehr.Handshaker(
    { chainId: 5, registry, sealingKeyId: "records-2026", pseudonymKeyId: "pseudonyms", validator: FAST }, KEYS, templates,
  );
  const entry = ti(templates, "blood-pressure", "doctor", { systolic: 120, diastolic: 80 }, { patientId: "MRN-3" });
  const ack = await ehr.submitTi(other, entry, transport);
  assert.equal(ack.reason.kind, "transport_rejected", JSON.stringify(ack));
  assert.deepEqual(ack.reason.error, { error: "wrong_chain", detail: { expected: 5, actual: 1337 } });
});

test("a user who rejects the wallet prompt (EIP-1193 4001): invalid ACK, not anchored", async () => {
  const rejecting = {
    request: (args) => args.method === "eth_sendTransaction"
      ? Promise.reject(Object.assign(new Error("User rejected the request."), { code: 4001 }))
      : chain.provider.request(args),
  };
  const t = new ehr.Eip1193Transport(rejecting, { chainId: CHAIN_ID, registry, senders: chain.roles, mineOnHead: true });
  const entry = ti(templates, "blood-pressure", "doctor", { systolic: 120, diastolic: 80 }, { patientId: "MRN-4" });
  const ack = await ehr.submitTi(hs, entry, t);
  assert.equal(ack.status, "invalid");
  const reason = ack.reason.kind === "not_anchored" ? ack.reason.cause : ack.reason;
  assert.equal(reason.kind, "transport_rejected", JSON.stringify(ack.reason));
  assert.equal(reason.error.error, "rejected");
  assert.match(reason.error.detail, /user rejected/);
  await assert.rejects(t.send({ from: chain.roles.doctor, to: chain.roles.nurse, data: "0x" }), { code: "EHR_TRANSPORT_REJECTED", reason: "rejected", retryable: false });
});
