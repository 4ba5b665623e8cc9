// After the ACK from JavaScript: the anchor watcher over a valid ACK. A
// reorg deeper than the confirmations (evm_snapshot before the anchor,
// evm_revert after the ACK) takes the anchor away; runWatcher reports it
// vanished, moves the TI back to pending in the outbox and resends the same
// TC (the same record hash, a new transaction), then watches it to final.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ehr from "../pkg/index.js";
import { CHAIN_ID, FAST, KEYS, setup, ti } from "./chain.mjs";

const { hs, templates, transport, provider, registry } = await setup();
const SETTINGS = { depth: 4, pollIntervalMs: 10, backoffInitialMs: 10, backoffMaxMs: 50 };

// Against a shared node (EHRCHAIN_RPC_URL), reverting the chain would undo
// the other test files' transactions: the reorg runs on the in-process node.
const shared = { skip: process.env.EHRCHAIN_RPC_URL ? "reverts a shared node" : false };

// A blood-pressure TI (`systolic`) anchored valid after a snapshot of the
// chain, and a watcher over its ACK: revert to `snapshot` to reorg it away.
async function anchoredAndWatched(systolic) {
  const snapshot = await provider.request({ method: "evm_snapshot", params: [] });
  const entry = ti(templates, "blood-pressure", "nurse", { systolic, diastolic: 80 }, { patientId: "MRN-000123" });
  const v = hs.validatorFor(entry, Date.now());
  const [ack] = await ehr.runValidator(v, transport);
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  const watcher = new ehr.Watcher(SETTINGS);
  watcher.watch(v, ack);
  return { snapshot, entry, v, ack, watcher };
}

// Takes the chain back to `snapshot` (a reorg deeper than the confirmations).
async function revert(snapshot) {
  assert.equal(await provider.request({ method: "evm_revert", params: [snapshot] }), true);
}

test("a vanished anchor is resent as the same TC and watched until final", shared, async () => {
  const { snapshot, entry, v, ack, watcher } = await anchoredAndWatched(125);
  assert.equal(watcher.size, 1);
  await revert(snapshot);

  const saved = [];
  const outbox = { save: (key) => saved.push(key), finish: () => {} };
  const { events, resent } = await ehr.runWatcher(watcher, transport, { outbox, deadline: Date.now() + 60_000 });
  assert.deepEqual(events.map((e) => e.event), ["vanished", "final"]);
  const [vanished, final] = events;
  assert.deepEqual(vanished.records, [{ tiId: entry.tiId, recordHash: ack.recordHash }]);
  assert.deepEqual(vanished.held, { holds: "nothing" });
  assert.equal(vanished.anchor.txHash, ack.txHash);
  assert.equal(resent.length, 1);
  assert.equal(resent[0].status, "valid");
  assert.equal(resent[0].recordHash, ack.recordHash);
  assert.notEqual(resent[0].txHash, ack.txHash);
  assert.equal(final.anchor.txHash, resent[0].txHash);
  assert.ok(final.head + 1 >= final.anchor.blockNumber + SETTINGS.depth);
  assert.equal(saved[0], entry.tiId);
  assert.equal(await transport.recordHashOf(entry.tiId), ack.recordHash);
  assert.equal(watcher.size, 0);
  v.free();
  watcher.free();
});

test("a vanished anchor the outbox could not take stays in the watcher; the next run resends it", shared, async () => {
  const { snapshot, entry, v, ack, watcher } = await anchoredAndWatched(127);
  await revert(snapshot);
  const full = { save() { throw new Error("disk full"); }, finish() {} };
  await assert.rejects(ehr.runWatcher(watcher, transport, { outbox: full, deadline: Date.now() + 60_000 }), /disk full/);
  const kept = watcher.peekEvent();
  assert.equal(kept?.event, "vanished", "the vanished anchor was dropped");
  assert.deepEqual(kept.records, [{ tiId: entry.tiId, recordHash: ack.recordHash }]);
  const saved = [];
  const outbox = { save: (key) => saved.push(key), finish: () => {} };
  const { events, resent } = await ehr.runWatcher(watcher, transport, { outbox, deadline: Date.now() + 60_000 });
  assert.deepEqual(events.map((e) => e.event), ["vanished", "final"]);
  assert.ok(saved.length > 0 && saved.every((key) => key === entry.tiId), `${saved}`);
  assert.equal(resent.length, 1);
  assert.equal(resent[0].status, "valid");
  assert.equal(resent[0].recordHash, ack.recordHash);
  assert.equal(await transport.recordHashOf(entry.tiId), ack.recordHash);
  assert.equal(watcher.peekEvent(), undefined);
  v.free();
  watcher.free();
});

test("an anchor that vanishes twice is resent twice, the same TC each time, until final", shared, async () => {
  const { snapshot, entry, v, ack, watcher } = await anchoredAndWatched(124);
  await revert(snapshot);
  // The outbox: the first resend is taken away too, once its ACK is stored
  // (a snapshot when the vanished TI is stored, a revert when its ACK is).
  let second;
  let finished = 0;
  const outbox = {
    save: async () => {
      second ??= await provider.request({ method: "evm_snapshot", params: [] });
    },
    finish: async () => {
      finished += 1;
      if (finished === 1) await revert(second);
    },
  };
  const { events, resent } = await ehr.runWatcher(watcher, transport, { outbox, deadline: Date.now() + 60_000 });
  assert.deepEqual(events.map((e) => e.event), ["vanished", "vanished", "final"]);
  assert.deepEqual(resent.map((a) => [a.status, a.recordHash]), [["valid", ack.recordHash], ["valid", ack.recordHash]]);
  assert.equal(events[1].anchor.txHash, resent[0].txHash);
  assert.equal(events[2].anchor.txHash, resent[1].txHash);
  assert.equal(new Set([ack.txHash, resent[0].txHash, resent[1].txHash]).size, 3);
  assert.equal(await transport.recordHashOf(entry.tiId), ack.recordHash);
  v.free();
  watcher.free();
});

test("a resend that ends not anchored (dropped again) is rerun, the same TC, until valid", shared, async () => {
  const { snapshot, v, ack, watcher } = await anchoredAndWatched(123);
  await revert(snapshot);
  // The first four sends of the resend vanish on the way (a hash, nothing
  // sent): dropped, resent, dropped again, until the validator gives up.
  let lies = 4;
  const lossy = Object.create(transport);
  lossy.submit = async (submission) =>
    lies-- > 0 ? `0x${String(lies).repeat(64)}` : transport.submit(submission);
  const outbox = { save: () => {}, finish: () => {} };
  const { events, resent } = await ehr.runWatcher(watcher, lossy, { outbox, deadline: Date.now() + 60_000 });
  assert.deepEqual(events.map((e) => e.event), ["vanished", "final"]);
  assert.deepEqual(resent.map((a) => a.status), ["invalid", "valid"]);
  assert.equal(resent[0].reason.kind, "not_anchored");
  assert.equal(ehr.Validator.mayRerun(resent[0]), true);
  assert.equal(ehr.Validator.mayRerun(resent[1]), false);
  assert.equal(resent[1].recordHash, ack.recordHash);
  assert.equal(events[1].anchor.txHash, resent[1].txHash);
  v.free();
  watcher.free();
});

test("a watcher takes only valid ACKs of their validator, and resumes from its state", async () => {
  const entry = ti(templates, "blood-pressure", "nurse", { systolic: 126, diastolic: 80 }, { patientId: "MRN-000123" });
  const v = hs.validatorFor(entry, Date.now());
  const [ack] = await ehr.runValidator(v, transport);
  const other = hs.validatorFor(ti(templates, "blood-pressure", "nurse", { systolic: 127, diastolic: 80 }), Date.now());
  const watcher = new ehr.Watcher(SETTINGS);
  assert.throws(() => watcher.watch(other, ack), (e) => e.code === "EHR_WATCHER");
  assert.throws(() => new ehr.Watcher({ dept: 4 }), (e) => e.code === "EHR_INVALID_ARGUMENT");
  watcher.watch(v, ack);
  assert.equal(watcher.pollTransmit(Date.now()).kind, "read_head");
  const state = watcher.toJSON();
  assert.equal(state.format, "ehrchain.watcher/1");
  const resumed = ehr.Watcher.fromJSON(JSON.stringify(state));
  // The read asked before the "restart" is asked again; a failure is no verdict.
  assert.equal(resumed.pollTransmit(Date.now()).kind, "read_head");
  resumed.handleHead(Date.now(), { error: "unavailable", detail: "connection refused" });
  assert.deepEqual(resumed.lastError, { error: "unavailable", detail: "connection refused" });
  const { events } = await ehr.runWatcher(resumed, transport, { deadline: Date.now() + 60_000 });
  assert.deepEqual(events.map((e) => [e.event, e.anchor.txHash]), [["final", ack.txHash]]);
  for (const x of [v, other, watcher, resumed]) x.free();
});

test("final by tag: the ACK and the watcher name the node's finalized block", async () => {
  // Ganache answers its latest block for "finalized" (so do Hardhat on
  // post-merge hardforks and the devnet): final at once, and named.
  const byTag = new ehr.Handshaker(
    { chainId: CHAIN_ID, registry, sealingKeyId: "records-2026", pseudonymKeyId: "pseudonyms", validator: { ...FAST, finality: "finalized" } },
    KEYS,
    templates,
  );
  const entry = ti(templates, "blood-pressure", "nurse", { systolic: 122, diastolic: 80 }, { patientId: "MRN-000123" });
  const v = byTag.validatorFor(entry, Date.now());
  const kinds = [];
  const [ack] = await ehr.runValidator(v, transport, { onAction: (transmit) => kinds.push(transmit.kind) });
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  assert.ok(kinds.includes("read_block") && !kinds.includes("read_head"), kinds.join());
  assert.equal(ack.finalBlock.tag, "finalized");
  assert.ok(ack.finalBlock.block.number >= ack.blockNumber);
  const latest = await provider.request({ method: "eth_getBlockByNumber", params: ["latest", false] });
  assert.deepEqual(await transport.blockAt("finalized"), { number: Number(latest.number), hash: latest.hash });
  const watcher = new ehr.Watcher({ ...SETTINGS, finality: "finalized" });
  watcher.watch(v, ack);
  const { events } = await ehr.runWatcher(watcher, transport, { deadline: Date.now() + 60_000 });
  assert.deepEqual(events.map((e) => e.event), ["final"]);
  assert.equal(events[0].finalized.tag, "finalized");
  assert.ok(events[0].finalized.block.number >= ack.blockNumber);
  v.free();
  watcher.free();
  byTag.free();
});
