// The patient's records found from their wallet on Ganache (docs/consent.md,
// "The patient's records"): the hospital anchors readings of two patients,
// binds the patient's account to the first one's pseudonym, binds it to the
// second's and unbinds it again; `patientRecords` lists the first patient's
// readings only, oldest first, with their template, author role, time and
// record hash.
import { test } from "node:test";
import assert from "node:assert/strict";
import { keccak_256 } from "@noble/hashes/sha3.js";
import * as ehr from "../pkg/index.js";
import { CHAIN_ID, setup, ti } from "./chain.mjs";

const chain = await setup();
const { provider, accounts, admin, registry, templates, transport, hs } = chain;
const custodian = chain.roles.handshaker;
const patient = accounts[9];
const consent = await ehr.deployConsent(provider, { chainId: CHAIN_ID, admin, registry, custodians: [custodian] });
const context = { chainId: CHAIN_ID, registry, consent };
const lower = (hex) => hex.toLowerCase();
const bp = templates.list().find((t) => t.name === "blood-pressure").id;

/** A valid blood-pressure reading of `patientId` anchored on its own; the TI and its ACK. */
async function reading(patientId, systolic) {
  const entry = ti(templates, "blood-pressure", "doctor", { systolic, diastolic: 80, position: "sitting" }, { patientId });
  const ack = await ehr.submitTi(hs, entry, transport);
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  return { entry, ack };
}

/** `unbindPatient(subject, account)` sent by the custodian (no wrapper: hospitals' scripts do it). */
async function unbind(subject, account) {
  const selector = Buffer.from(keccak_256(Buffer.from("unbindPatient(bytes32,address)"))).subarray(0, 4).toString("hex");
  const data = `0x${selector}${subject.slice(2)}${account.slice(2).toLowerCase().padStart(64, "0")}`;
  const hash = await provider.request({ method: "eth_sendTransaction", params: [{ from: custodian, to: consent, data }] });
  const receipt = await provider.request({ method: "eth_getTransactionReceipt", params: [hash] });
  assert.equal(receipt.status, "0x1");
}

test("an account bound to no pseudonym has no records", async () => {
  assert.deepEqual(await ehr.patientRecords(provider, { registry, consent, patient }), { pseudonyms: [], records: [] });
});

test("the records of the pseudonyms the account is bound to, oldest first", async () => {
  const first = await reading("MRN-000123", 121);
  const other = await reading("MRN-000456", 133);
  const second = await reading("MRN-000123", 127);
  const subject = hs.pseudonym("MRN-000123");
  const otherSubject = hs.pseudonym("MRN-000456");
  await ehr.bindPatient(provider, { context, from: custodian, subject, account: patient });
  await ehr.bindPatient(provider, { context, from: custodian, subject: otherSubject, account: patient });
  await unbind(otherSubject, patient);

  const found = await ehr.patientRecords(provider, { registry, consent, patient });
  assert.deepEqual(found.pseudonyms, [subject]);
  const expected = ({ entry, ack }) => ({
    tiId: entry.tiId,
    templateId: bp,
    subject,
    recordHash: ack.recordHash,
    role: ehr.roleId("doctor"),
    roleName: "doctor",
    author: lower(chain.roles.doctor),
    timestamp: entry.timestamp * 1000,
    blockNumber: ack.blockNumber,
    transactionHash: ack.txHash,
  });
  assert.deepEqual(found.records.map((r) => ({ ...r, author: lower(r.author) })), [expected(first), expected(second)]);
  assert.notEqual(other.ack.recordHash, first.ack.recordHash);

  // From a later block: only what was anchored since.
  const later = await ehr.patientRecords(provider, { registry, consent, patient }, { fromBlock: second.ack.blockNumber });
  assert.deepEqual(later.records.map((r) => r.tiId), [second.entry.tiId]);
  // Another account sees none of them.
  assert.deepEqual(await ehr.patientRecords(provider, { registry, consent, patient: accounts[8] }), { pseudonyms: [], records: [] });
});
