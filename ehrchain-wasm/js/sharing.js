// Sharing a record with consent over an EIP-1193 provider (docs/consent.md,
// "From JavaScript"): the holder's `shareRecord`, the custodian's
// `recordDisclosures`, the recipient's `receiveRecord`, the patient's
// `accounting`, `signConsent` and `relayConsent`, and `deployConsent`. Every
// rule is the core's (ShareCheck, ReceiveCheck, AccountingQuery through the
// WebAssembly module); this file only moves requests and answers, making
// every read of a check at one mined block.

import {
  ReceiveCheck,
  ShareCheck,
  accountingOf,
  accountingRequests,
  bindPatientCall,
  consentBytecode,
  consentRefusal,
  consentRelayCall,
  consentTypedData,
  disclosureTransaction,
  minedBlockOf,
  minedBlockRequest,
  publishRecipientKeyCall,
} from "./ehrchain_wasm.js";
import { adminTransport, deploy, grantCallsOf, sendGrants, sendMined } from "./eip1193.js";

/** A transport over `provider` for the chain and registry of `context`. */
function transportOf(provider, context) {
  return adminTransport(provider, context.chainId, context.registry);
}

/** Makes `check`'s reads at the newest mined block; `{block, results}`. */
async function readAtOneBlock(transport, check) {
  const { method, params } = minedBlockRequest();
  const block = minedBlockOf(await transport.request(method, params));
  const results = [];
  for (const r of check.requests(block)) results.push(await transport.request(r.method, r.params));
  return { block, results };
}

/** Runs `f(check)` and frees the check. */
async function using(check, f) {
  try {
    return await f(check);
  } finally {
    check.free();
  }
}

/**
 * The holder's side: reads consent and the recipient's published key at one
 * mined block and, when the chain allows it, seals the record key of
 * `envelope` (from `handshaker`'s key store) for the recipient's `publicKey`
 * of `suite` (default `"x_wing"`). Resolves to `{capsule, disclosure,
 * authority, checkedAt}`; refuses with EHR_CONSENT_… and
 * EHR_RECIPIENT_KEY_… errors. Record the disclosure (`recordDisclosures`)
 * before handing the capsule out.
 */
export async function shareRecord(provider, { context, envelope, recipient, authority, publicKey, suite, handshaker }) {
  const transport = await transportOf(provider, context);
  return using(new ShareCheck(context, envelope, recipient, authority), async (check) => {
    const { block, results } = await readAtOneBlock(transport, check);
    return check.seal(block, results, suite, publicKey, handshaker);
  });
}

/**
 * The recipient's side: reads consent and the record's anchor at one mined
 * block, opens `capsule` with the recipient's `privateKey` (or the key a
 * `RecipientKeyStore` answers for it) and `envelope`
 * with the record key, and checks the record against its anchor and the
 * grant against the chain. A record anchored in a Merkle batch comes with its
 * inclusion `proof` (any form), checked against the registry's `batchOf` of
 * its root at the same block; a record of a signed batch with its
 * `signedProof` (the author's roles are read too). Resolves to `{record, evidence}`.
 */
export async function receiveRecord(provider, { context, recipient, capsule, envelope, privateKey, proof, signedProof }) {
  const transport = await transportOf(provider, context);
  return using(new ReceiveCheck(context, recipient, capsule, envelope, proof, signedProof), async (check) => {
    const { block, results } = await readAtOneBlock(transport, check);
    return check.open(block, results, privateKey);
  });
}

/**
 * Sends `tx` and waits for it to be mined; a revert of `EhrConsent` throws
 * the core's error for it (EHR_CONSENT_REVOKED, …, EHR_DISCLOSURE_REFUSED).
 */
async function sendToConsent(transport, tx, what) {
  try {
    return await sendMined(transport, tx, what);
  } catch (e) {
    const data = e?.transportError?.error === "reverted" ? e.transportError.detail?.data : undefined;
    const refusal = typeof data === "string" ? consentRefusal(data) : undefined;
    if (refusal === undefined) throw e;
    refusal.cause = e;
    throw refusal;
  }
}

/**
 * The custodian records `disclosures` (the `disclosure` of each share) on
 * `EhrConsent` from its account `from`: one transaction, all or none.
 * Resolves to its receipt.
 */
export async function recordDisclosures(provider, { context, from, disclosures }) {
  const transport = await transportOf(provider, context);
  const tx = disclosureTransaction(context, disclosures);
  return sendToConsent(transport, { from, to: tx.to, data: tx.calldata }, "recordDisclosures");
}

/**
 * A pseudonym's accounting of disclosures on the `consent` contract: the
 * `eth_getLogs` of its `Disclosed`, `ConsentGranted` and `ConsentRevoked`
 * events from block `fromBlock` (default 0), decoded by the core:
 * `{disclosures, grants}`.
 */
export async function accounting(provider, consent, subject, { fromBlock } = {}) {
  const query = { consent, subject };
  const results = [];
  for (const { method, params } of accountingRequests(query, fromBlock)) {
    results.push(await provider.request({ method, params }));
  }
  return accountingOf(query, results);
}

/**
 * The patient's wallet signs a consent `statement` (a `ConsentGrant`, or a
 * `ConsentRevocation`) for `domain` (`{chainId, consent}`) with
 * `eth_signTypedData_v4`, as MetaMask takes it; the signature.
 */
export async function signConsent(provider, domain, statement) {
  return provider.request({
    method: "eth_signTypedData_v4",
    params: [statement.patient, JSON.stringify(consentTypedData(domain, statement))],
  });
}

/**
 * Relays a consent `statement` its patient signed (`grantSigned` or
 * `revokeSigned`) from any account `from`: the patient needs no ETH.
 * Resolves to the receipt; a refusal throws the core's error.
 */
export async function relayConsent(provider, { context, from, statement, signature }) {
  const transport = await transportOf(provider, context);
  const data = consentRelayCall(statement, signature);
  return sendToConsent(transport, { from, to: context.consent, data }, "relaying a consent statement");
}

/**
 * Binds the patient's `account` to the pseudonym `subject` on `EhrConsent`,
 * from a custodian's account `from`; the receipt.
 */
export async function bindPatient(provider, { context, from, subject, account }) {
  const transport = await transportOf(provider, context);
  return sendToConsent(transport, { from, to: context.consent, data: bindPatientCall(subject, account) }, "bindPatient");
}

/**
 * The recipient `from` publishes (or rotates to) its `publicKey` of `suite`
 * on `EhrConsent`; the receipt.
 */
export async function publishRecipientKey(provider, { context, from, suite, publicKey }) {
  const transport = await transportOf(provider, context);
  const data = publishRecipientKeyCall(suite, publicKey);
  return sendToConsent(transport, { from, to: context.consent, data }, "publishRecipientKey");
}

/**
 * Deploys `EhrConsent` over `registry` from the registry's `admin`, and
 * grants the registry roles `custodian` and `emergency` to the accounts
 * given; resolves to its address.
 */
export async function deployConsent(provider, { chainId, admin, registry, custodians = [], emergency = [] }) {
  const grants = grantCallsOf([...custodians.map((a) => ["custodian", a]), ...emergency.map((a) => ["emergency", a])]);
  const transport = await adminTransport(provider, chainId, registry);
  const consent = await deploy(transport, admin, consentBytecode(registry), "EhrConsent");
  await sendGrants(transport, admin, registry, grants);
  return consent;
}
