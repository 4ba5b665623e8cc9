// Administering a live registry from JavaScript, through the built package
// (Ganache's in-process provider, or the node of EHRCHAIN_RPC_URL): a
// registry deployed without the nurse's grant and without a template refuses
// the nurse's TI and the template's; `grantRole` and `registerTemplates`
// from its administrator make both anchor (valid ACKs), as the Rust
// `grant_role` / `register_template` and the C
// `ehr_transport_rpc_grant_role` / `ehr_transport_rpc_register_template` do.
// An account that is no administrator, a template registered already, a
// malformed role name and an unknown template id are refused with the
// package's codes, the last two before anything is sent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { keccak_256 } from "@noble/hashes/sha3.js";
import * as ehr from "../pkg/index.js";
import { CHAIN_ID, FAST, KEYS, provider, reportTemplate, ti } from "./chain.mjs";

const chain = provider();
const accounts = await chain.request({ method: "eth_accounts", params: [] });
const [admin, handshaker, doctor, nurse] = accounts;

// Every request the package makes, by method, to tell what it sent.
const methods = [];
const p = { request: (args) => (methods.push(args.method), chain.request(args)) };

// Built-in templates on chain; the nurse holds no role yet.
const builtIn = ehr.Templates.builtIn();
const registry = await ehr.deployRegistry(p, {
  chainId: CHAIN_ID, admin, grants: [["handshaker", handshaker], ["doctor", doctor]], templates: builtIn,
});

// The portal knows one template more than the chain: the blood-pressure
// template with room for a scanned report (a new id).
const templates = ehr.Templates.builtIn();
const reportId = templates.add(reportTemplate(templates));
const hs = new ehr.Handshaker(
  { chainId: CHAIN_ID, registry, sealingKeyId: "records-2026", pseudonymKeyId: "pseudonyms", validator: FAST },
  KEYS,
  templates,
);
const transport = new ehr.Eip1193Transport(p, {
  chainId: CHAIN_ID, registry, from: handshaker, senders: { handshaker, doctor, nurse }, mineOnHead: true,
});
const setup = { chainId: CHAIN_ID, registry, admin };

/** 0x and the first four bytes of keccak256(`signature`): a custom error's selector. */
const selector = (signature) => `0x${Buffer.from(keccak_256(new TextEncoder().encode(signature))).subarray(0, 4).toString("hex")}`;

/** Runs `f`, recording the methods it requested. */
async function requestsOf(f) {
  const from = methods.length;
  await f();
  return methods.slice(from);
}

const nurseReading = () => ti(templates, "blood-pressure", "nurse", { systolic: 118, diastolic: 76 }, { patientId: "MRN-7" });
const report = () => ti(templates, "blood-pressure-with-report", "doctor", { systolic: 121, diastolic: 79, note: "scan" }, {
  patientId: "MRN-8",
});

test("a nurse the registry does not know is refused; grantRole from the admin makes the reading anchor", async () => {
  const refused = await ehr.submitTi(hs, nurseReading(), transport);
  assert.equal(refused.status, "invalid", JSON.stringify(refused));
  assert.equal(refused.reason.kind, "contract_revert");
  assert.equal(refused.reason.revert.error, "AccessControlUnauthorizedAccount");

  // Another account is no administrator: refused at its gas estimate, nothing sent.
  let sent = await requestsOf(() => assert.rejects(
    ehr.grantRole(p, { ...setup, admin: doctor, role: "nurse", account: nurse }),
    (e) => e instanceof Error && e.code === "EHR_TRANSPORT_REVERTED" && e.transportError?.error === "reverted"
      && /AccessControlUnauthorizedAccount/.test(e.message),
  ));
  assert.ok(!sent.includes("eth_sendTransaction"), sent.join());
  const stillRefused = await ehr.submitTi(hs, nurseReading(), transport);
  assert.equal(stillRefused.status, "invalid", JSON.stringify(stillRefused));

  const receipt = await ehr.grantRole(p, { ...setup, role: "nurse", account: nurse });
  assert.equal(receipt.status, true);
  assert.match(receipt.txHash, /^0x[0-9a-f]{64}$/);
  const entry = nurseReading();
  const ack = await ehr.submitTi(hs, entry, transport);
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  assert.equal(await transport.recordHashOf(entry.tiId), ack.recordHash);

  // Granting a role held already changes nothing and succeeds, as on the contract.
  assert.equal((await ehr.grantRole(p, { ...setup, role: "nurse", account: nurse })).status, true);
  // A malformed role name: the core's code, before any request.
  sent = await requestsOf(() => assert.rejects(
    ehr.grantRole(p, { ...setup, role: "Head Nurse", account: nurse }), { code: "EHR_ROLE_INVALID" },
  ));
  assert.deepEqual(sent, []);
  await assert.rejects(ehr.grantRole(p, { ...setup, role: "nurse", account: "0x1234" }), { code: "EHR_INVALID_ARGUMENT" });
  await assert.rejects(ehr.grantRole(p, { ...setup, chainId: CHAIN_ID + 1, role: "nurse", account: nurse }),
    { code: "EHR_TRANSPORT_WRONG_CHAIN" });
});

test("a template the registry does not hold is refused; registerTemplates from the admin makes it anchor", async () => {
  const refused = await ehr.submitTi(hs, report(), transport);
  assert.equal(refused.status, "invalid", JSON.stringify(refused));
  assert.equal(refused.reason.kind, "contract_revert");
  assert.equal(refused.reason.revert.error, "EhrRegistryUnknownTemplate", JSON.stringify(refused.reason));

  // An id the Templates lacks, and a malformed one: refused before any request.
  let sent = await requestsOf(async () => {
    await assert.rejects(ehr.registerTemplates(p, { ...setup, templates, ids: [`0x${"ab".repeat(32)}`] }),
      { code: "EHR_TEMPLATE_UNKNOWN" });
    await assert.rejects(ehr.registerTemplates(p, { ...setup, templates, ids: ["blood-pressure"] }),
      { code: "EHR_INVALID_ARGUMENT" });
  });
  assert.deepEqual(sent, []);
  // Another account is no administrator: refused, nothing sent.
  sent = await requestsOf(() => assert.rejects(
    ehr.registerTemplates(p, { ...setup, admin: doctor, templates, ids: [reportId] }),
    (e) => e.code === "EHR_TRANSPORT_REVERTED" && /AccessControlUnauthorizedAccount/.test(e.message),
  ));
  assert.ok(!sent.includes("eth_sendTransaction"), sent.join());

  const receipts = await ehr.registerTemplates(p, { ...setup, templates, ids: [reportId.toUpperCase().replace("0X", "0x")] });
  assert.equal(receipts.length, 1);
  assert.equal(receipts[0].status, true);
  const entry = report();
  const ack = await ehr.submitTi(hs, entry, transport);
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  assert.equal(ack.templateId, reportId);

  // Registered already: the contract refuses (EhrRegistryTemplateExists), as in Rust and C; nothing sent.
  sent = await requestsOf(() => assert.rejects(ehr.registerTemplates(p, { ...setup, templates, ids: [reportId] }), (e) => {
    assert.equal(e.code, "EHR_TRANSPORT_REVERTED");
    assert.equal(e.transportError.detail.data, `${selector("EhrRegistryTemplateExists(bytes32)")}${reportId.slice(2)}`);
    // Decoded by the core's registry interface, as for Rust and C.
    assert.equal(ehr.decodeRevert(e.transportError.detail.data).error, "EhrRegistryTemplateExists");
    return true;
  }));
  assert.ok(!sent.includes("eth_sendTransaction"), sent.join());
  // So does every template of a Templates the registry holds, at its first.
  await assert.rejects(ehr.registerTemplates(p, { ...setup, templates: builtIn }), { code: "EHR_TRANSPORT_REVERTED" });
  await assert.rejects(ehr.registerTemplates(p, { ...setup, templates: undefined }), { code: "EHR_INVALID_ARGUMENT" });
});

test("deployRegistry checks its role names before deploying anything", async () => {
  const sent = await requestsOf(() => assert.rejects(
    ehr.deployRegistry(p, { chainId: CHAIN_ID, admin, grants: [["nurse", nurse], ["Head Nurse", nurse]] }),
    { code: "EHR_ROLE_INVALID" },
  ));
  assert.deepEqual(sent, []);
  // With every template of a Templates, one transaction each after the deployment and grants.
  const fresh = ehr.Templates.builtIn();
  const sentOk = await requestsOf(() => ehr.deployRegistry(p, { chainId: CHAIN_ID, admin, grants: [["nurse", nurse]], templates: fresh }));
  assert.equal(sentOk.filter((m) => m === "eth_sendTransaction").length, 2 + fresh.list().length);
});
