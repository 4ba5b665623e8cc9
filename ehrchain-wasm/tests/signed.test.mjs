// TIs their author signs, through the built package on Ganache: a wallet
// (the node's unlocked account, through EIP-1193 `eth_signTypedData_v4`)
// signs, the handshaker account relays (`anchorSignedRecord`), and the ACK,
// the event and the registry name the author; a signature by another
// account, a wallet that refuses and an author without the role are refused
// with the codes Rust and C use; a smart-account author (ERC-1271) is
// checked by the registry alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeFunctionData, parseAbi } from "viem";
import * as ehr from "../pkg/index.js";
import { CHAIN_ID, FAST, setup, ti, walletOf } from "./chain.mjs";

const chain = await setup();
const { hs, templates, transport, roles } = chain;
const pharmacy = chain.accounts[7];
const lower = (address) => address.toLowerCase();

const wallet = walletOf(chain.provider);

/** A doctor's blood-pressure reading. */
const reading = () => ti(templates, "blood-pressure", "doctor", { systolic: 128, diastolic: 84 }, { patientId: "MRN-000123" });

/** `account`'s wallet signature of `request`. */
const walletSignature = (account, request) => wallet.request({
  method: "eth_signTypedData_v4",
  params: [account, JSON.stringify(request.typedData)],
});

const blockNumber = () => chain.provider.request({ method: "eth_blockNumber", params: [] });

test("the doctor's wallet signs, the handshaker account relays, and the ACK names the doctor", async () => {
  const entry = reading();
  const ack = await ehr.submitTi(hs, entry, transport, { signer: ehr.eip1193Signer(wallet, roles.doctor) });
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  assert.equal(ack.authorship.statement.author, lower(roles.doctor));
  assert.equal(ack.authorship.statement.tiId, entry.tiId);
  assert.equal(ack.authorship.statement.recordHash, ack.recordHash);
  assert.equal(ack.authorship.statement.role, ehr.roleId("doctor"));
  assert.equal(await transport.recordHashOf(entry.tiId), ack.recordHash);
  const tx = await chain.provider.request({ method: "eth_getTransactionByHash", params: [ack.txHash] });
  assert.equal(lower(tx.from), lower(roles.handshaker));
  // RecordAnchored(tiId, templateId, subject indexed; recordHash, role, author, timestamp): the author is the third data word.
  const [log] = await chain.provider.request({
    method: "eth_getLogs",
    params: [{ address: chain.registry, fromBlock: "0x0", toBlock: "latest", topics: [null, entry.tiId] }],
  });
  assert.equal(`0x${log.data.slice(2 + 64 * 2 + 24, 2 + 64 * 3)}`, lower(roles.doctor));
  // Its FHIR Provenance carries the doctor's signature.
  const source = { reference: "Observation/bp-1", resourceType: "Observation" };
  const provenance = ehr.fhirFromAck(ack, { ti: entry, source }, { chainId: 1337, registry: chain.registry }, 1764495000123);
  const [signature] = provenance.signature;
  // (`eip155:<chain id>:<address>`, the address EIP-55 checksummed)
  assert.equal(signature.who.identifier.system, "urn:ehrchain:account");
  assert.equal(lower(signature.who.identifier.value), `eip155:1337:${lower(roles.doctor)}`);
  assert.equal(signature.sigFormat, "application/vnd.ehrchain.record-statement.eip712");
  assert.equal(signature.data, Buffer.from(ack.authorship.signature.slice(2), "hex").toString("base64"));
});

test("a key held here (localSigner) signs, the handshaker account relays, and the ACK names its account", async () => {
  // A service account's key the node knows nothing of: it needs the role, not ETH.
  const key = ehr.localSigner(`0x${"5a".repeat(32)}`);
  await ehr.grantRole(chain.provider, { chainId: 1337, registry: chain.registry, admin: chain.admin, role: "doctor", account: key.address });
  const entry = reading();
  const ack = await ehr.submitTi(hs, entry, transport, { signer: key });
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  assert.equal(ack.authorship.statement.author, key.address);
  assert.equal(ack.authorship.statement.recordHash, ack.recordHash);
  // The signature is the key's deterministic one over the statement's digest (RFC 6979, as Rust and C).
  const tc = hs.generate(reading());
  const request = tc.signingRequest(key.address);
  assert.equal(key.sign(request), key.signDigest(request.digest));
  assert.equal(request.attach(key.sign(request)).authorship.signature, key.sign(request));
  // Under another author's name: refused before sending.
  const before = await blockNumber();
  const impostor = { address: roles.doctor, sign: (r) => key.sign(r) };
  const refused = await ehr.submitTi(hs, reading(), transport, { signer: impostor });
  assert.equal(refused.reason.code, "EHR_SIGNATURE_WRONG_SIGNER");
  assert.equal(await blockNumber(), before);
  key.free();
});

test("a signed TI goes through a pipeline (admit): given back while it is full, then valid with its author", async () => {
  const key = ehr.localSigner(`0x${"5b".repeat(32)}`);
  await ehr.grantRole(chain.provider, { chainId: 1337, registry: chain.registry, admin: chain.admin, role: "doctor", account: key.address });
  const pipeline = new ehr.Pipeline(CHAIN_ID, chain.registry, { maxPending: 1, validator: FAST });
  hs.pushTo(pipeline, reading(), "urgent", Date.now());
  const entry = reading();
  const request = hs.generate(entry).signingRequest(key.address);
  let back;
  assert.throws(() => pipeline.admit(hs.validatorForSigned(request, { signature: key.sign(request) })), (error) => {
    assert.equal(error.code, "EHR_PIPELINE_BUSY");
    back = error.validator;
    return true;
  });
  assert.ok(back instanceof ehr.Validator);
  assert.equal(back.isFinished, false);
  assert.equal((await ehr.runPipeline(pipeline, transport)).acks.length, 1);
  pipeline.admit(back);
  assert.throws(() => pipeline.admit(back), "the pipeline owns it now");
  const { acks } = await ehr.runPipeline(pipeline, transport);
  assert.equal(acks.length, 1);
  assert.equal(acks[0].status, "valid", JSON.stringify(acks[0]));
  assert.equal(acks[0].tiId, entry.tiId);
  assert.equal(acks[0].authorship.statement.author, key.address);
  assert.equal(await transport.recordHashOf(entry.tiId), acks[0].recordHash);
  key.free();
});

test("a signed TC pushed as bulk is anchored alone, so its signature reaches the chain; a TC of another registry is refused", async () => {
  const key = ehr.localSigner(`0x${"5c".repeat(32)}`);
  await ehr.grantRole(chain.provider, { chainId: 1337, registry: chain.registry, admin: chain.admin, role: "doctor", account: key.address });
  const pipeline = new ehr.Pipeline(CHAIN_ID, chain.registry, { batchMaxRecords: 8, batchMaxWaitMs: 50, validator: FAST });
  const request = hs.generate(reading()).signingRequest(key.address);
  const signed = request.attach(key.sign(request));
  const plain = [hs.generate(reading()), hs.generate(reading())];
  const now = Date.now();
  for (const tc of [signed, ...plain]) pipeline.push(tc, "bulk", now);
  pipeline.flush();
  const { acks } = await ehr.runPipeline(pipeline, transport);
  assert.equal(acks.length, 3);
  for (const ack of acks) assert.equal(ack.status, "valid", JSON.stringify(ack));
  const own = acks.find((ack) => ack.tiId === signed.tiId);
  assert.equal(own.authorship.statement.author, key.address);
  assert.equal(own.batch, null, "anchored alone, with its author's anchorSignedRecord");
  assert.equal(acks.filter((ack) => ack.batch !== null && ack.authorship === undefined).length, 2);
  assert.equal(await transport.recordHashOf(signed.tiId), own.recordHash);
  // A batch validator built by hand refuses it too.
  const builder = new ehr.BatchBuilder();
  builder.add(hs.generate(reading()));
  builder.add(signed);
  const mixed = builder.build(`0x${"5c".repeat(32)}`);
  assert.throws(() => mixed.validator(chain.registry, CHAIN_ID, FAST), (error) => {
    assert.equal(error.code, "EHR_BATCH_MISMATCH");
    assert.match(error.message, /TC 1 cannot be anchored in this batch: its author signed it/);
    return true;
  });
  const elsewhere = ehr.ChainTransaction.fromJSON({ ...hs.generate(reading()).toJSON(), to: `0x${"ab".repeat(20)}` });
  assert.throws(() => pipeline.push(elsewhere, "bulk", now), { code: "EHR_PIPELINE_WRONG_REGISTRY" });
  assert.equal(pipeline.isIdle, true, "nothing kept");
  key.free();
});

test("many authors' signed TCs in one signed batch: the relayer anchors its root, and each record's proof names its author", async () => {
  const keys = [ehr.localSigner(`0x${"5d".repeat(32)}`), ehr.localSigner(`0x${"5e".repeat(32)}`)];
  for (const key of keys) {
    await ehr.grantRole(chain.provider, { chainId: 1337, registry: chain.registry, admin: chain.admin, role: "doctor", account: key.address });
  }
  const signedBy = (key) => {
    const request = hs.generate(reading()).signingRequest(key.address);
    return request.attach(key.sign(request));
  };
  const tcs = [signedBy(keys[0]), signedBy(keys[1]), signedBy(keys[0])];
  const builder = new ehr.SignedBatchBuilder(chain.registry, CHAIN_ID);
  tcs.forEach((tc, i) => assert.equal(builder.push(tc), i));
  // Refused, and nothing added: an unsigned TC, one signed for another registry.
  assert.throws(() => builder.push(hs.generate(reading())), (error) => {
    assert.equal(error.code, "EHR_TC_NOT_SIGNED");
    assert.equal(error.kind, "authorship");
    return true;
  });
  const elsewhere = new ehr.SignedBatchBuilder(`0x${"ab".repeat(20)}`, CHAIN_ID);
  assert.throws(() => elsewhere.push(tcs[0]), { code: "EHR_SIGNATURE_WRONG_SIGNER" });
  // A TI already in the batch: anchored once, with one ACK.
  assert.throws(() => builder.push(tcs[1]), { code: "EHR_BATCH_DUPLICATE_TI", kind: "batch" });
  assert.equal(builder.length, 3);
  assert.equal(elsewhere.length, 0);

  const batch = builder.build(`0x${"5d".repeat(32)}`);
  const tx = batch.anchorTransaction();
  assert.deepEqual(
    { to: tx.to.toLowerCase(), chainId: tx.chainId, root: tx.root, leafCount: tx.leafCount, batchId: tx.batchId },
    { to: lower(chain.registry), chainId: CHAIN_ID, root: batch.root, leafCount: 3, batchId: batch.batchId },
  );
  // viem reads the call as the registry's anchorSignedBatch.
  const call = decodeFunctionData({
    abi: parseAbi(["function anchorSignedBatch(bytes32 root, uint32 leafCount, bytes32 batchId)"]),
    data: tx.calldata,
  });
  assert.deepEqual(call.args, [batch.root, 3, batch.batchId]);
  const hash = await transport.send({ from: roles.handshaker, to: tx.to, data: tx.calldata });
  await transport.waitForReceipt(hash);
  const anchored = await transport.anchoredBatch(batch.root);
  assert.deepEqual([anchored.root, anchored.leafCount], [batch.root, 3]);
  const receipt = await chain.provider.request({ method: "eth_getTransactionReceipt", params: [hash] });
  assert.equal(receipt.status, "0x1");
  const block = await chain.provider.request({ method: "eth_getBlockByNumber", params: [receipt.blockNumber, false] });

  const anchor = {
    domain: { chainId: CHAIN_ID, registry: chain.registry },
    batch: { root: batch.root, leafCount: 3, batchId: batch.batchId },
    anchoredAt: Number(block.timestamp) * 1000,
  };
  const doctor = ehr.roleId("doctor");
  const roleHistory = {
    allowed: [{ templateId: tcs[0].templateId, role: doctor }],
    terms: keys.map((key) => ({ role: doctor, account: key.address, grantedAt: 0 })),
  };
  tcs.forEach((tc, i) => {
    const proof = ehr.SignedRecordProof.parse(batch.proof(i).toText());
    proof.verify();
    proof.verifyAnchored(anchor, roleHistory);
    assert.equal(proof.recordHash, tc.recordHash);
    assert.equal(proof.author, keys[i === 1 ? 1 : 0].address);
  });
  assert.throws(() => batch.proof(3), { code: "EHR_BATCH_NO_SUCH_RECORD" });
  for (const key of keys) key.free();
});

test("a signature by another account is refused before sending, as in Rust and C", async () => {
  const impostor = { address: roles.doctor, sign: (request) => walletSignature(roles.nurse, request) };
  const before = await blockNumber();
  const ack = await ehr.submitTi(hs, reading(), transport, { signer: impostor });
  assert.equal(ack.status, "invalid");
  assert.equal(ack.reason.kind, "authorship");
  assert.equal(ack.reason.code, "EHR_SIGNATURE_WRONG_SIGNER");
  assert.deepEqual(ack.txHashes, []);
  assert.equal(ack.authorship.statement.author, lower(roles.doctor));
  assert.equal(await blockNumber(), before);

  // The two steps: attaching throws the same codes.
  const tc = hs.generate(reading());
  const request = tc.signingRequest(roles.doctor);
  assert.equal(request.author, lower(roles.doctor));
  assert.equal(request.typedData.domain.verifyingContract, lower(chain.registry));
  const wrong = await walletSignature(roles.nurse, request);
  assert.throws(() => request.attach(wrong), { name: "EhrchainError", code: "EHR_SIGNATURE_WRONG_SIGNER" });
  assert.throws(() => request.attach(wrong.slice(0, -2)), { code: "EHR_SIGNATURE_MALFORMED" });
  const signed = request.attach(await walletSignature(roles.doctor, request));
  assert.equal(tc.authorship, undefined);
  assert.deepEqual(signed.authorship.statement, request.statement);
  // A signed TC reads back from its JSON form, still signed; it cannot be signed again.
  assert.deepEqual(ehr.ChainTransaction.fromJSON(signed.toJSON()).authorship, signed.authorship);
  assert.throws(() => signed.signingRequest(roles.doctor), { code: "EHR_STATEMENT_MISMATCH" });
});

test("a wallet that declines gives an invalid ACK with EHR_SIGNER_FAILED", async () => {
  const declined = {
    address: roles.doctor,
    sign: async () => {
      throw Object.assign(new Error("User rejected the request."), { code: 4001 });
    },
  };
  const ack = await ehr.submitTi(hs, reading(), transport, { signer: declined });
  assert.equal(ack.reason.kind, "authorship");
  assert.equal(ack.reason.code, "EHR_SIGNER_FAILED");
  assert.match(ack.reason.message, /User rejected the request\./);
  assert.equal(ack.authorship, undefined);
});

test("an author without the role on chain: the registry refuses, and the ACK names the author", async () => {
  const ack = await ehr.submitTi(hs, reading(), transport, { signer: ehr.eip1193Signer(wallet, pharmacy) });
  assert.equal(ack.status, "invalid");
  assert.equal(ack.reason.kind, "contract_revert");
  assert.equal(ack.reason.revert.error, "AccessControlUnauthorizedAccount");
  assert.ok(ack.reason.revert.detail.toLowerCase().includes(lower(pharmacy)), ack.reason.revert.detail);
  assert.equal(ack.authorship.statement.author, lower(pharmacy));
});

test("a smart-account author (ERC-1271) is checked by the registry alone", async () => {
  // The test account accepts its owner's signatures: the doctor's account owns it.
  const artifact = JSON.parse(readFileSync(new URL("../../contracts/artifacts/SmartAccountAuthor.json", import.meta.url), "utf8"));
  const owner = roles.doctor.slice(2).toLowerCase().padStart(64, "0");
  const deployment = await transport.send({ from: chain.admin, data: `${artifact.bytecode}${owner}` });
  await transport.waitForReceipt(deployment);
  const { contractAddress: account } = await chain.provider.request({ method: "eth_getTransactionReceipt", params: [deployment] });
  const grant = await transport.send({ from: chain.admin, to: chain.registry, data: grantDoctor(account) });
  assert.equal((await transport.waitForReceipt(grant)).status, true);
  const smart = (key) => ({
    address: account,
    smartAccount: true,
    sign: (request) => walletSignature(key, request),
  });
  const ack = await ehr.submitTi(hs, reading(), transport, { signer: smart(roles.doctor) });
  assert.equal(ack.status, "valid", JSON.stringify(ack.reason));
  assert.equal(ack.authorship.statement.author, lower(account));
  // Another key: not refused here (only the account can tell), but by the
  // registry (its gas estimate reverts, so nothing is mined).
  const refused = await ehr.submitTi(hs, reading(), transport, { signer: smart(roles.nurse) });
  assert.equal(refused.reason.kind, "contract_revert");
  assert.equal(refused.reason.revert.error, "EhrRegistryBadSignature");
  assert.equal(refused.authorship.statement.author, lower(account));
});

/** `grantRole(DOCTOR_ROLE, account)` calldata. */
function grantDoctor(account) {
  return `0x2f2ff15d${ehr.roleId("doctor").slice(2)}${account.slice(2).toLowerCase().padStart(64, "0")}`;
}
