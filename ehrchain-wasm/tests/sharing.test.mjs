// Sharing a record with consent from JavaScript on Ganache (issue 17's "done
// when"): the patient signs a grant with eth_signTypedData_v4 and a relayer
// sends it; hospital A shares a record with hospital B after checking consent
// and B's published key at one mined block, and records the disclosure; B
// opens the record and checks it against the chain; the accounting lists the
// disclosure; the patient revokes and sharing is refused (EHR_CONSENT_REVOKED).
// A record anchored in a Merkle batch is received with its inclusion proof;
// a grant that expired is refused on both sides (EHR_CONSENT_EXPIRED).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as ehr from "../pkg/index.js";
import * as wasm from "../pkg/ehrchain_wasm.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { CHAIN_ID, FAST, anchorReading, setup, ti, walletOf } from "./chain.mjs";
import * as pinned from "./consent_fixed.mjs";

const chain = await setup();
const { provider, accounts, admin, registry, templates, transport, hs } = chain;
// A is the handshaker account (custodian); B receives; the patient signs.
const hospitalA = chain.roles.handshaker;
const [hospitalB, patient] = accounts.slice(8, 10);
const consent = await ehr.deployConsent(provider, { chainId: CHAIN_ID, admin, registry, custodians: [hospitalA] });
const context = { chainId: CHAIN_ID, registry, consent };
const domain = { chainId: CHAIN_ID, consent };
const lower = (hex) => hex.toLowerCase();
// The patient's wallet (MetaMask in the portal): the node's unlocked account.
const wallet = walletOf(provider);

/** The newest block's time in Unix seconds. */
async function chainNow() {
  const block = await provider.request({ method: "eth_getBlockByNumber", params: ["latest", false] });
  return Number(block.timestamp);
}

// A anchors two records of the patient, of two templates.
const bp = templates.list().find((t) => t.name === "blood-pressure").id;
const { reading, ack, envelope, subject } = await anchorReading(chain, "MRN-000123", { systolic: 128, diastolic: 84 });

// B's key pair; B publishes its key; A binds the patient to the pseudonym.
const privateKey = ehr.generateRecipientKey();
const publicKey = ehr.recipientPublicKey("x_wing", privateKey);
await ehr.publishRecipientKey(provider, { context, from: hospitalB, suite: "x_wing", publicKey });
await ehr.bindPatient(provider, { context, from: hospitalA, subject, account: patient });

const now = await chainNow();
const grant = {
  subject, patient, recipient: hospitalB, templateIds: [bp], expiresAt: now + 3600, nonce: 1, deadline: now + 600,
};
const grantId = ehr.consentGrantId(domain, grant);
const share = { context, envelope, recipient: hospitalB, authority: { grant: grantId }, publicKey, handshaker: hs };

test("before the grant, A may not share: EHR_CONSENT_NO_GRANT", async () => {
  await assert.rejects(ehr.shareRecord(provider, share), { code: "EHR_CONSENT_NO_GRANT" });
});

test("the grant's typed data is what the wallet signs", () => {
  const typed = ehr.consentTypedData(domain, grant);
  assert.equal(typed.primaryType, "ConsentGrant");
  assert.deepEqual(typed.domain, { name: "ehrchain consent", version: "1", chainId: CHAIN_ID, verifyingContract: typed.domain.verifyingContract });
  assert.equal(lower(typed.domain.verifyingContract), lower(consent));
  assert.equal(lower(typed.message.recipient), lower(hospitalB));
});

test("a fixed statement's encodings are the core's (pinned by ehrchain-core's consent_abi tests)", async () => {
  // The values of a_fixed_statement_s_encodings_as_the_bindings_pin_them
  // (ehrchain-core/src/consent_abi/tests.rs, in consent_fixed.mjs).
  const { fixed, patient01, fixedGrant: grant, fixedGrantId: grantId, fixedRevocation: revocation } = pinned;
  assert.equal(ehr.consentGrantId(fixed, grant), grantId);
  const typed = {
    domain: { name: "ehrchain consent", version: "1", chainId: 1337, verifyingContract: fixed.consent },
    message: { grantId, patient: patient01, deadline: 1767229200 },
    primaryType: "ConsentRevocation",
    types: {
      ConsentRevocation: [
        { name: "grantId", type: "bytes32" }, { name: "patient", type: "address" }, { name: "deadline", type: "uint64" },
      ],
      EIP712Domain: [
        { name: "name", type: "string" }, { name: "version", type: "string" },
        { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" },
      ],
    },
  };
  assert.deepEqual(ehr.consentTypedData(fixed, revocation), typed);
  // A statement given as JSON text is read by the same rule (a grantId: a revocation).
  assert.deepEqual(ehr.consentTypedData(fixed, JSON.stringify(revocation)), typed);
  // What signConsent hands the wallet is that document, for the patient.
  const asked = [];
  const recorder = { request: async (r) => (asked.push(r), "0xsigned") };
  assert.equal(await ehr.signConsent(recorder, fixed, revocation), "0xsigned");
  assert.deepEqual(asked.map((r) => [r.method, r.params[0], JSON.parse(r.params[1])]), [["eth_signTypedData_v4", patient01, typed]]);
  // The relay, bindPatient and publishRecipientKey calldata.
  const signature = `0x${"aa".repeat(65)}`;
  const keccakHex = (hex) => `0x${Buffer.from(keccak_256(Buffer.from(hex.slice(2), "hex"))).toString("hex")}`;
  assert.equal(keccakHex(wasm.consentRelayCall(grant, signature)), "0x14312a1f75a4ac5fe0429ed5316d4a99f9afff1af0b7d7235dee5c82340b5f48");
  assert.equal(keccakHex(wasm.consentRelayCall(revocation, signature)), "0x4f7b65390116de37776d56ecbbdc59e9f13b2428969b9cbb164b851dc489a255");
  assert.equal(
    wasm.bindPatientCall(grant.subject, patient01),
    `0xacf2097e${"07".repeat(32)}${"00".repeat(12)}${"01".repeat(20)}`,
  );
  const x25519 = ehr.recipientPublicKey("x25519", new Uint8Array(32).fill(0x42));
  assert.equal(
    wasm.publishRecipientKeyCall("x25519", x25519),
    "0x932cd3dd987afb34ed1445c2b54cdee2636a2988ec170c3308fbd0ad92030ccd42ce1806"
      + "0000000000000000000000000000000000000000000000000000000000000020"
      + "82dab32a9aedffb4925a762f879f6fdd05b8ba0aa825a6986a85b751ff3b21e4",
  );
  // A revocation with a grant's members, a grant missing one: EHR_INVALID_JSON, named.
  assert.throws(() => ehr.consentTypedData(fixed, { ...revocation, nonce: 1 }), { code: "EHR_INVALID_JSON", message: /a revocation \(it has a grantId\)/ });
  assert.throws(() => wasm.consentRelayCall({ patient: patient01 }, signature), { code: "EHR_INVALID_JSON", message: /a grant \(it has no grantId\)/ });
});

test("signed, relayed, shared, recorded, received, accounted; revoked, refused", async () => {
  // The patient signs in the wallet; A relays (the patient needs no ETH).
  const signature = await ehr.signConsent(wallet, domain, grant);
  assert.match(signature, /^0x[0-9a-f]{130}$/);
  const relayed = await ehr.relayConsent(provider, { context, from: hospitalA, statement: grant, signature });
  assert.equal(relayed.status, true);

  // A shares: consent and B's key read at one mined block.
  const made = await ehr.shareRecord(provider, share);
  assert.ok(made.capsule instanceof Uint8Array);
  assert.deepEqual(made.authority, { grant: grantId });
  assert.equal(made.disclosure.recordHash, ack.recordHash);
  assert.equal(made.disclosure.subject, subject);
  assert.equal(made.disclosure.templateId, bp);
  assert.equal(lower(made.disclosure.recipient), lower(hospitalB));
  assert.equal(made.checkedAt.number, Number(await provider.request({ method: "eth_blockNumber", params: [] })));
  const capsule = ehr.KeyCapsule.parse(made.capsule);
  assert.equal(capsule.recipientKeyId, ehr.recipientKeyId("x_wing", publicKey));
  capsule.free();
  const recorded = await ehr.recordDisclosures(provider, { context, from: hospitalA, disclosures: [made.disclosure] });
  assert.equal(recorded.status, true);

  // B opens the record and checks it against the chain.
  const { record, evidence } = await ehr.receiveRecord(provider, {
    context, recipient: hospitalB, capsule: made.capsule, envelope, privateKey,
  });
  assert.deepEqual(JSON.parse(Buffer.from(record).toString("utf8")), hs.openRecord(envelope));
  assert.equal(evidence.recordHash, ack.recordHash);
  assert.equal(evidence.tiId, reading.tiId);
  assert.equal(evidence.subject, subject);
  assert.deepEqual(evidence.authority, { grant: grantId });
  assert.equal(lower(evidence.consent), lower(consent));
  assert.equal(evidence.chainId, CHAIN_ID);
  // Another key does not open it.
  await assert.rejects(
    ehr.receiveRecord(provider, { context, recipient: hospitalB, capsule: made.capsule, envelope, privateKey: ehr.generateRecipientKey() }),
    { code: "EHR_CAPSULE_WRONG_KEY" },
  );

  // The patient's accounting lists the disclosure and the grant.
  const before = await ehr.accounting(provider, consent, subject);
  assert.equal(before.disclosures.length, 1);
  const [entry] = before.disclosures;
  assert.equal(lower(entry.recipient), lower(hospitalB));
  assert.equal(entry.recordHash, ack.recordHash);
  assert.deepEqual(entry.authority, { grant: grantId });
  assert.equal(lower(entry.custodian), lower(hospitalA));
  assert.equal(entry.blockNumber, recorded.blockNumber);
  assert.equal(entry.transactionHash, recorded.txHash);
  assert.deepEqual(before.grants.map((g) => [g.grantId, g.revokedIn]), [[grantId, null]]);

  // The patient revokes (signed, relayed).
  const revocation = { grantId, patient, deadline: now + 600 };
  const revokeSignature = await ehr.signConsent(wallet, domain, revocation);
  const revoked = await ehr.relayConsent(provider, { context, from: hospitalA, statement: revocation, signature: revokeSignature });
  assert.equal(revoked.status, true);

  // No new capsule, and the contract refuses the disclosure too.
  await assert.rejects(ehr.shareRecord(provider, share), { code: "EHR_CONSENT_REVOKED" });
  await assert.rejects(
    ehr.recordDisclosures(provider, { context, from: hospitalA, disclosures: [made.disclosure] }),
    { code: "EHR_CONSENT_REVOKED" },
  );
  // B's capsule no longer checks against the chain (delivered is delivered:
  // the record key stays known to B).
  await assert.rejects(
    ehr.receiveRecord(provider, { context, recipient: hospitalB, capsule: made.capsule, envelope, privateKey }),
    { code: "EHR_CONSENT_REVOKED" },
  );
  const after = await ehr.accounting(provider, consent, subject);
  assert.equal(after.disclosures.length, 1);
  assert.deepEqual(after.grants.map((g) => [g.grantId, g.revokedIn]), [[grantId, revoked.blockNumber]]);
});

test("a relayed statement not signed by the bound patient is refused with the contract's error", async () => {
  const stranger = { ...grant, nonce: 2 };
  const signature = await wallet.request({
    method: "eth_signTypedData_v4",
    params: [hospitalB, JSON.stringify(ehr.consentTypedData(domain, stranger))],
  });
  await assert.rejects(
    ehr.relayConsent(provider, { context, from: hospitalA, statement: stranger, signature }),
    { code: "EHR_DISCLOSURE_REFUSED" },
  );
});

test("disclosureTransaction: recordDisclosure for one, refuses none", () => {
  const one = { capsuleDigest: `0x${"11".repeat(32)}`, recipient: hospitalB, subject, templateId: bp, recordHash: ack.recordHash };
  const tx = ehr.disclosureTransaction(context, [one]);
  assert.equal(tx.chainId, CHAIN_ID);
  assert.equal(lower(tx.to), lower(consent));
  assert.throws(() => ehr.disclosureTransaction(context, []), { code: "EHR_DISCLOSURE_REFUSED" });
});

test("an emergency disclosure to a recipient without EMERGENCY_ROLE is refused: EHR_CONSENT_NO_EMERGENCY_ROLE", async () => {
  await assert.rejects(
    ehr.shareRecord(provider, { ...share, recipient: accounts[7], authority: "emergency" }),
    { code: "EHR_CONSENT_NO_EMERGENCY_ROLE" },
  );
});

test("a key other than the one the recipient published is refused: EHR_RECIPIENT_KEY_MISMATCH", async () => {
  const other = ehr.recipientPublicKey("x_wing", ehr.generateRecipientKey());
  const held = { ...grant, nonce: 3 };
  await ehr.relayConsent(provider, { context, from: hospitalA, statement: held, signature: await ehr.signConsent(wallet, domain, held) });
  const authority = { grant: ehr.consentGrantId(domain, held) };
  await assert.rejects(ehr.shareRecord(provider, { ...share, authority, publicKey: other }), { code: "EHR_RECIPIENT_KEY_MISMATCH" });
});

/** The patient signs `statement` (a grant) and A relays it; its authority. */
async function granted(statement) {
  const signature = await ehr.signConsent(wallet, domain, statement);
  const relayed = await ehr.relayConsent(provider, { context, from: hospitalA, statement, signature });
  assert.equal(relayed.status, true);
  return { grant: ehr.consentGrantId(domain, statement) };
}

test("a record anchored in a batch is received with its proof, and the evidence names the batch", async () => {
  // A's pipeline anchors three blood-pressure records of the patient as one batch.
  const builder = new ehr.BatchBuilder();
  const tcs = [];
  for (let i = 0; i < 3; i += 1) {
    const entry = ti(templates, "blood-pressure", "doctor", { systolic: 120 + i, diastolic: 80, position: "sitting" }, {
      patientId: "MRN-000123",
    });
    tcs.push(hs.generate(entry));
    builder.add(tcs[i]);
  }
  const batch = builder.build(`0x${"bb".repeat(32)}`);
  const acks = await ehr.runValidator(batch.validator(registry, CHAIN_ID, FAST), transport);
  const ackOf = acks.find((a) => a.tiId === tcs[1].tiId);
  assert.equal(ackOf.status, "valid", JSON.stringify(ackOf));
  const anchoringBlock = await provider.request({
    method: "eth_getBlockByNumber", params: [`0x${ackOf.blockNumber.toString(16)}`, false],
  });

  const start = await chainNow();
  const authority = await granted({ ...grant, nonce: 4, expiresAt: start + 3600, deadline: start + 600 });
  const batched = tcs[1].envelope;
  const made = await ehr.shareRecord(provider, { ...share, envelope: batched, authority });
  const receive = { context, recipient: hospitalB, capsule: made.capsule, envelope: batched, privateKey };

  // No record is anchored under its TI id: without its proof, refused.
  await assert.rejects(ehr.receiveRecord(provider, receive), { code: "EHR_RECORD_NOT_ANCHORED" });
  // With its proof (the ACK's, as A hands it over), received.
  const { record, evidence } = await ehr.receiveRecord(provider, { ...receive, proof: ackOf.batch });
  assert.deepEqual(JSON.parse(Buffer.from(record).toString("utf8")), hs.openRecord(batched));
  assert.equal(evidence.recordHash, tcs[1].recordHash);
  assert.deepEqual(evidence.authority, authority);
  assert.deepEqual(evidence.anchor, {
    kind: "batch",
    root: batch.root,
    leafCount: 3,
    anchoredAt: Number(anchoringBlock.timestamp) * 1000,
    submitter: evidence.anchor.submitter,
    proof: ackOf.batch,
  });
  assert.equal(lower(evidence.anchor.submitter), lower(hospitalA));
  // The QR text form reads the same; another record's proof and a batch never
  // anchored are refused.
  const text = batch.proof(1).toText();
  const again = await ehr.receiveRecord(provider, { ...receive, proof: text });
  assert.deepEqual(again.evidence.anchor, evidence.anchor);
  await assert.rejects(
    ehr.receiveRecord(provider, { ...receive, proof: batch.proof(0).toText() }),
    { code: "EHR_PROOF_INVALID" },
  );
  const alone = new ehr.BatchBuilder();
  alone.add(tcs[1]);
  const unanchored = alone.build(`0x${"bc".repeat(32)}`);
  await assert.rejects(
    ehr.receiveRecord(provider, { ...receive, proof: unanchored.proof(0).toText() }),
    { code: "EHR_PROOF_NOT_ANCHORED" },
  );
  // A signed batch's proof (version 2, from docs/vectors) proves another
  // record: refused before any read.
  const { valid } = JSON.parse(readFileSync(new URL("../../docs/vectors/signed_proofs.json", import.meta.url), "utf8"));
  await assert.rejects(ehr.receiveRecord(provider, { ...receive, signedProof: valid[0].text }), (e) => {
    assert.equal(e.code, "EHR_PROOF_INVALID");
    assert.match(e.message, new RegExp(`proves record ${valid[0].json.statement.recordHash}`));
    return true;
  });
});

// Last: it moves the chain's clock past the grant's expiry.
test("a grant that expired: A may not share and B's capsule no longer checks (EHR_CONSENT_EXPIRED)", async () => {
  const start = await chainNow();
  const authority = await granted({ ...grant, nonce: 5, expiresAt: start + 60, deadline: start + 600 });
  const made = await ehr.shareRecord(provider, { ...share, authority });
  const receive = { context, recipient: hospitalB, capsule: made.capsule, envelope, privateKey };
  const { evidence } = await ehr.receiveRecord(provider, receive);
  assert.deepEqual(evidence.authority, authority);

  await provider.request({ method: "evm_increaseTime", params: [120] });
  await provider.request({ method: "evm_mine", params: [] });
  assert.ok((await chainNow()) >= start + 60);
  await assert.rejects(ehr.shareRecord(provider, { ...share, authority }), (e) => {
    assert.equal(e.code, "EHR_CONSENT_EXPIRED");
    assert.match(e.message, new RegExp(`grant ${authority.grant} expired at ${(start + 60) * 1000}`));
    return true;
  });
  await assert.rejects(ehr.receiveRecord(provider, receive), { code: "EHR_CONSENT_EXPIRED" });
});
