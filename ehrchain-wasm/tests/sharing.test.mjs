// Sharing a record with consent from JavaScript on Ganache (issue 17's "done
// when"): the patient signs a grant with eth_signTypedData_v4 and a relayer
// sends it; hospital A shares a record with hospital B after checking consent
// and B's published key at one mined block, and records the disclosure; B
// opens the record and checks it against the chain; the accounting lists the
// disclosure; the patient revokes and sharing is refused (EHR_CONSENT_REVOKED).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ehr from "../pkg/index.js";
import { CHAIN_ID, setup, ti, walletOf } from "./chain.mjs";

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
const reading = ti(templates, "blood-pressure", "doctor", { systolic: 128, diastolic: 84, position: "sitting" }, {
  patientId: "MRN-000123",
});
const ack = await ehr.submitTi(hs, reading, transport);
assert.equal(ack.status, "valid", JSON.stringify(ack));
const envelope = Uint8Array.from(Buffer.from(ack.envelope.slice(2), "hex"));
const subject = hs.pseudonym("MRN-000123");

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
