// Consent statements signed without a wallet, as C's
// ehr_consent_signing_digest and ehr_signer_sign_consent do it: the EIP-712
// digest of any statement (grant or revocation) from consentSigningDigest,
// checked against viem's hashTypedData over the package's own typed data, for
// a key or an HSM that signs a 32-byte hash (viem's sign({hash}) here), and
// localSigner's signConsent, checked against viem's signTypedData. On
// Ganache, grants and revocations signed both ways are relayed and taken by
// EhrConsent: after the revocation, sharing is refused (EHR_CONSENT_REVOKED).
import { test } from "node:test";
import assert from "node:assert/strict";
import { hashTypedData, recoverTypedDataAddress } from "viem";
import { privateKeyToAccount, sign, signTypedData } from "viem/accounts";
import * as ehr from "../pkg/index.js";
import { CHAIN_ID, anchorReading, setup } from "./chain.mjs";
import { fixed, fixedGrant, fixedGrantId, fixedRevocation, fixedRevocationDigest, patient01 } from "./consent_fixed.mjs";

const lower = (hex) => hex.toLowerCase();

/** viem's EIP-712 digest of the package's typed data for `statement`. */
const viemDigest = (domain, statement) => hashTypedData(ehr.consentTypedData(domain, statement));

test("consentSigningDigest: the EIP-712 digest of a grant or a revocation, as viem's hashTypedData", () => {
  assert.equal(ehr.consentSigningDigest(fixed, fixedGrant), fixedGrantId);
  assert.equal(ehr.consentSigningDigest(fixed, fixedGrant), ehr.consentGrantId(fixed, fixedGrant));
  assert.equal(ehr.consentSigningDigest(fixed, fixedRevocation), fixedRevocationDigest);
  for (const statement of [fixedGrant, fixedRevocation, { ...fixedGrant, templateIds: [], nonce: 9 }]) {
    assert.equal(ehr.consentSigningDigest(fixed, statement), viemDigest(fixed, statement));
    // As JSON text, by the same rule (a grantId: a revocation).
    assert.equal(ehr.consentSigningDigest(fixed, JSON.stringify(statement)), viemDigest(fixed, statement));
  }
  // Bound to the chain and the EhrConsent contract.
  const elsewhere = { chainId: 1, consent: fixed.consent };
  assert.notEqual(ehr.consentSigningDigest(elsewhere, fixedRevocation), fixedRevocationDigest);
  assert.equal(ehr.consentSigningDigest(elsewhere, fixedRevocation), viemDigest(elsewhere, fixedRevocation));
  // Malformed statements and domains, named.
  assert.throws(() => ehr.consentSigningDigest(fixed, { ...fixedRevocation, nonce: 1 }),
    { code: "EHR_INVALID_JSON", message: /a revocation \(it has a grantId\)/ });
  assert.throws(() => ehr.consentSigningDigest(fixed, { patient: patient01 }),
    { code: "EHR_INVALID_JSON", message: /a grant \(it has no grantId\)/ });
  assert.throws(() => ehr.consentSigningDigest({ chainId: 1337 }, fixedRevocation), { code: "EHR_INVALID_JSON", message: /domain/ });
});

test("localSigner.signConsent signs a statement's digest: viem's signTypedData, recovered to the key's account", async () => {
  const secret = `0x${"5d".repeat(32)}`;
  const key = ehr.localSigner(secret);
  try {
    const patient = key.address;
    assert.equal(lower(patient), lower(privateKeyToAccount(secret).address));
    for (const statement of [{ ...fixedGrant, patient }, { ...fixedRevocation, patient }]) {
      const signature = key.signConsent(fixed, statement);
      assert.match(signature, /^0x[0-9a-f]{130}$/);
      // The digest signed (RFC 6979, low s): the same bytes as viem's.
      assert.equal(signature, key.signDigest(ehr.consentSigningDigest(fixed, statement)));
      assert.equal(signature, await signTypedData({ privateKey: secret, ...ehr.consentTypedData(fixed, statement) }));
      assert.equal(signature, await sign({ hash: ehr.consentSigningDigest(fixed, statement), privateKey: secret, to: "hex" }));
      const signer = await recoverTypedDataAddress({ ...ehr.consentTypedData(fixed, statement), signature });
      assert.equal(lower(signer), lower(patient));
    }
    assert.throws(() => key.signConsent(fixed, { grantId: fixedGrantId }), { code: "EHR_INVALID_JSON" });
  } finally {
    key.free();
  }
});

test("on chain: grants and revocations signed without a wallet are relayed and taken; sharing then refused", async () => {
  const chain = await setup();
  const { provider, accounts, admin, registry, hs } = chain;
  const hospitalA = chain.roles.handshaker;
  const hospitalB = accounts[8];
  const consent = await ehr.deployConsent(provider, { chainId: CHAIN_ID, admin, registry, custodians: [hospitalA] });
  const context = { chainId: CHAIN_ID, registry, consent };
  const domain = { chainId: CHAIN_ID, consent };

  // A anchors a record of the patient, B publishes its key, A binds the
  // patient's key (held by the portal, never funded) to the pseudonym.
  const { reading, envelope, subject } = await anchorReading(chain, "MRN-000777", { systolic: 121, diastolic: 79 });
  const publicKey = ehr.recipientPublicKey("x_wing", ehr.generateRecipientKey());
  await ehr.publishRecipientKey(provider, { context, from: hospitalB, suite: "x_wing", publicKey });
  const secret = `0x${"5e".repeat(32)}`;
  const key = ehr.localSigner(secret);
  const stranger = ehr.localSigner(`0x${"5f".repeat(32)}`);
  try {
    const patient = key.address;
    await ehr.bindPatient(provider, { context, from: hospitalA, subject, account: patient });
    const block = await provider.request({ method: "eth_getBlockByNumber", params: ["latest", false] });
    const now = Number(block.timestamp);
    const grantOf = (nonce) => ({
      subject, patient, recipient: hospitalB, templateIds: [reading.templateId], expiresAt: now + 3600, nonce, deadline: now + 600,
    });
    const relay = (statement, signature) => ehr.relayConsent(provider, { context, from: hospitalA, statement, signature });
    const share = (grant) => ehr.shareRecord(provider, {
      context, envelope, recipient: hospitalB, authority: { grant: ehr.consentGrantId(domain, grant) }, publicKey, handshaker: hs,
    });

    /** The digest signed by "an HSM": a key that signs 32-byte hashes (viem's sign). */
    const hsm = (statement) => sign({ hash: ehr.consentSigningDigest(domain, statement), privateKey: secret, to: "hex" });
    const revocationOf = (grant) => ({ grantId: ehr.consentGrantId(domain, grant), patient, deadline: now + 600 });

    // Grant 1, signed with the key held here, is taken: A shares.
    const first = grantOf(1);
    assert.equal((await relay(first, key.signConsent(domain, first))).status, true);
    assert.ok((await share(first)).capsule instanceof Uint8Array);
    // A revocation signed by another key is refused by the contract.
    const revokeFirst = revocationOf(first);
    await assert.rejects(relay(revokeFirst, stranger.signConsent(domain, revokeFirst)), { code: "EHR_DISCLOSURE_REFUSED" });
    assert.ok((await share(first)).capsule instanceof Uint8Array);
    // The patient's, signed by the HSM over consentSigningDigest, is taken: sharing stops.
    const revoked = await relay(revokeFirst, await hsm(revokeFirst));
    assert.equal(revoked.status, true);
    await assert.rejects(share(first), { code: "EHR_CONSENT_REVOKED" });

    // Grant 2 signed by the HSM, revoked with the key held here.
    const second = grantOf(2);
    assert.equal((await relay(second, await hsm(second))).status, true);
    assert.ok((await share(second)).capsule instanceof Uint8Array);
    const revokeSecond = revocationOf(second);
    const revokedToo = await relay(revokeSecond, key.signConsent(domain, revokeSecond));
    assert.equal(revokedToo.status, true);
    await assert.rejects(share(second), { code: "EHR_CONSENT_REVOKED" });

    const { grants } = await ehr.accounting(provider, consent, subject);
    assert.deepEqual(
      grants.map((g) => [g.grantId, g.revokedIn]),
      [[revokeFirst.grantId, revoked.blockNumber], [revokeSecond.grantId, revokedToo.blockNumber]],
    );
  } finally {
    key.free();
    stranger.free();
  }
});
