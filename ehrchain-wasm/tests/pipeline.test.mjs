// The anchoring pipeline from JavaScript: urgent readings alone, bulk ones in
// Merkle batches, one outbox write per round, a bounded queue that says busy,
// every TI one ACK, against Ganache's provider with the registry deployed.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ehr from "../pkg/index.js";
import { CHAIN_ID, FAST, setup, ti } from "./chain.mjs";

const chain = await setup();
const { hs, templates, transport, registry } = chain;

const reading = (systolic) =>
  ti(templates, "blood-pressure", "nurse", { systolic, diastolic: 80 }, { patientId: "MRN-000123" });

/** A reading by a pathologist, whom the registry refuses: its ACK is invalid. */
const refusedReading = (patientId) =>
  ti(templates, "blood-pressure", "pathologist", { systolic: 120, diastolic: 80 }, { patientId });

/**
 * A pipeline holding two urgent refused readings (of `${prefix}1` and
 * `${prefix}2`) and a `roundOutbox` for it: `{ pipeline, refused, outbox }`.
 */
function twoRefused(prefix) {
  const pipeline = new ehr.Pipeline(CHAIN_ID, registry, { validator: FAST });
  const refused = [1, 2].map((n) => refusedReading(`${prefix}${n}`));
  for (const entry of refused) hs.pushTo(pipeline, entry, "urgent", Date.now());
  return { pipeline, refused, outbox: roundOutbox() };
}

/** An outbox over a Map that stores a round in one `saveAll`. */
function roundOutbox() {
  return {
    entries: new Map(),
    writes: 0,
    saveAll(entries) {
      this.writes += 1;
      for (const { key, entry } of entries) this.entries.set(key, JSON.stringify(entry));
    },
    save() {
      throw new Error("a pipeline round is stored with saveAll");
    },
    finish(key, acks) {
      if (key !== undefined) this.entries.delete(key);
    },
  };
}

test("runPipeline takes over actions the host's own loop handed out and never answered", async () => {
  const pipeline = new ehr.Pipeline(CHAIN_ID, registry, { validator: FAST });
  const tis = [reading(131), reading(132)];
  for (const entry of tis) hs.pushTo(pipeline, entry, "urgent", Date.now());
  const round = pipeline.pollTransmit(Date.now());
  assert.equal(round.kind, "persist");
  const outbox = roundOutbox();
  outbox.saveAll(round.entries);
  pipeline.handlePersisted(round.round, Date.now());
  const sent = pipeline.pollTransmit(Date.now());
  assert.equal(sent.kind, "flight");
  assert.equal(sent.transmit.kind, "submit");
  await transport.submit(sent.transmit.submission); // sent; its hash never handed in
  while (pipeline.pollTransmit(Date.now()) !== undefined);
  const { acks, stopped } = await ehr.runPipeline(pipeline, transport, { outbox });
  assert.equal(stopped, undefined);
  assert.equal(acks.length, 2, "every TI one ACK");
  for (const entry of tis) {
    const ack = acks.find((a) => a.tiId === entry.tiId);
    assert.equal(ack?.status, "valid", JSON.stringify(ack));
    assert.equal(await transport.recordHashOf(entry.tiId), ack.recordHash);
  }
  assert.ok(pipeline.isIdle);
  pipeline.free();
});

test("urgent readings go alone, bulk ones in batches, every TI one valid ACK", async () => {
  const pipeline = new ehr.Pipeline(CHAIN_ID, registry, { batchMaxRecords: 8, batchMaxWaitMs: 50, validator: FAST });
  const tis = Array.from({ length: 12 }, (_, i) => reading(100 + i));
  tis.forEach((entry, i) => hs.pushTo(pipeline, entry, i < 2 ? "urgent" : "bulk", Date.now()));
  // A TI its template refuses is held too; its invalid ACK comes out like the others.
  const refused = refusedReading("MRN-1");
  hs.pushTo(pipeline, refused, "bulk", Date.now());
  assert.equal(pipeline.pending, 13);
  assert.throws(() => hs.pushTo(pipeline, tis[3], "bulk", Date.now()), { code: "EHR_PIPELINE_DUPLICATE" });
  assert.throws(() => hs.pushTo(pipeline, reading(99), "soon", Date.now()), { code: "EHR_INVALID_ARGUMENT" });

  const outbox = roundOutbox();
  const { acks, stopped } = await ehr.runPipeline(pipeline, transport, { outbox });
  assert.equal(stopped, undefined);
  assert.equal(acks.length, 13);
  const byTi = new Map(acks.map((ack) => [ack.tiId, ack]));
  const invalid = byTi.get(refused.tiId);
  assert.equal(invalid.status, "invalid");
  assert.equal(invalid.reason.kind, "template_violations");
  const roots = new Set();
  for (const [i, entry] of tis.entries()) {
    const ack = byTi.get(entry.tiId);
    assert.equal(ack.status, "valid", JSON.stringify(ack));
    if (i < 2) {
      assert.equal(ack.batch, null);
    } else {
      roots.add(ack.batch.root);
      assert.equal(await transport.verifyOnChain(ack.batch), true);
    }
  }
  assert.equal(roots.size, 2, "a batch of 8 and one of 2");
  // Round one: the urgent readings and the full batch; round two: the rest after the wait.
  assert.equal(outbox.writes, 2);
  assert.equal(outbox.entries.size, 0);
  assert.equal(pipeline.isIdle, true);
});

test("an outbox with finishAll stores each round's verdicts in one call", async () => {
  const pipeline = new ehr.Pipeline(CHAIN_ID, registry, { batchMaxRecords: 8, batchMaxWaitMs: 50, validator: FAST });
  const tis = Array.from({ length: 12 }, (_, i) => reading(140 + i));
  tis.forEach((entry, i) => hs.pushTo(pipeline, entry, i < 2 ? "urgent" : "bulk", Date.now()));
  const outbox = roundOutbox();
  const saved = [];
  outbox.saveAll = function (entries) {
    for (const { key, entry } of entries) {
      saved.push(key);
      this.entries.set(key, JSON.stringify(entry));
    }
  };
  outbox.finish = () => {
    throw new Error("a pipeline's verdicts are stored with finishAll");
  };
  const rounds = [];
  outbox.finishAll = function (verdicts) {
    rounds.push(verdicts);
    for (const { outboxKey } of verdicts) this.entries.delete(outboxKey);
  };
  const { acks, stopped } = await ehr.runPipeline(pipeline, transport, { outbox });
  assert.equal(stopped, undefined);
  assert.deepEqual(acks.map((a) => a.status), Array(12).fill("valid"));
  const verdicts = rounds.flat();
  // Two urgent readings alone, a batch of 8 and one of 2: four verdicts, each a key stored before.
  assert.deepEqual(verdicts.map((v) => v.acks.length).sort((a, b) => a - b), [1, 1, 2, 8]);
  assert.deepEqual(new Set(verdicts.map((v) => v.outboxKey)), new Set(saved));
  assert.deepEqual(verdicts.flatMap((v) => v.acks), acks);
  assert.equal(outbox.entries.size, 0);
});

test("a full pipeline says busy and keeps nothing", () => {
  const pipeline = new ehr.Pipeline(CHAIN_ID, registry, { maxPending: 1 });
  hs.pushTo(pipeline, reading(120), "bulk", Date.now());
  assert.throws(() => hs.pushTo(pipeline, reading(121), "urgent", Date.now()), (error) => {
    assert.equal(error.code, "EHR_PIPELINE_BUSY");
    assert.match(error.message, /holds 1 TIs, its limit/);
    return true;
  });
  assert.equal(pipeline.pending, 1);
  assert.throws(() => new ehr.Pipeline(CHAIN_ID, registry, { maxPendin: 1 }), { code: "EHR_INVALID_JSON" });
});

test("a pipeline stopped at its deadline stores its entries; a new one resumes them", async () => {
  const pipeline = new ehr.Pipeline(CHAIN_ID, registry, { batchMaxRecords: 100, batchMaxWaitMs: 60_000, validator: FAST });
  const tis = Array.from({ length: 5 }, (_, i) => reading(130 + i));
  for (const entry of tis) hs.pushTo(pipeline, entry, "bulk", Date.now());
  const outbox = roundOutbox();
  const first = await ehr.runPipeline(pipeline, transport, { outbox, deadline: Date.now() + 20 });
  assert.equal(first.stopped, "deadline");
  assert.equal(first.acks.length, 0);
  assert.equal(outbox.entries.size, 1, "the open batch, flushed and stored");
  const resumed = new ehr.Pipeline(CHAIN_ID, registry, { validator: FAST });
  resumed.resume([...outbox.entries.values()]);
  assert.equal(resumed.pending, 5);
  const second = await ehr.runPipeline(resumed, transport, { outbox });
  assert.deepEqual(second.acks.map((a) => a.status), Array(5).fill("valid"));
  assert.deepEqual(new Set(second.acks.map((a) => a.tiId)), new Set(tis.map((t) => t.tiId)));
  assert.equal(outbox.entries.size, 0);
});

test("a refused TI's verdict survives an outbox that fails to store it", async () => {
  const pipeline = new ehr.Pipeline(CHAIN_ID, registry, { validator: FAST });
  const refused = refusedReading("MRN-2");
  hs.pushTo(pipeline, refused, "urgent", Date.now());
  const outbox = roundOutbox();
  outbox.finish = () => {
    throw new Error("the disk is full");
  };
  await assert.rejects(ehr.runPipeline(pipeline, transport, { outbox }), /the disk is full/);
  // Not lost: still pending, and stored once the disk is back.
  assert.equal(pipeline.pending, 1);
  assert.equal(pipeline.isIdle, false);
  const stored = [];
  outbox.finish = (key, acks) => stored.push(...acks);
  const { acks } = await ehr.runPipeline(pipeline, transport, { outbox });
  assert.equal(acks.length, 1);
  assert.equal(acks[0].tiId, refused.tiId);
  assert.equal(acks[0].status, "invalid");
  assert.deepEqual(stored, acks);
  assert.equal(pipeline.isIdle, true);
  pipeline.free();
});

test("ACKs stored before a failed store wait in the pipeline", async () => {
  const pipeline = new ehr.Pipeline(CHAIN_ID, registry, { validator: FAST });
  const refused = refusedReading("MRN-3");
  hs.pushTo(pipeline, refused, "urgent", Date.now());
  hs.pushTo(pipeline, reading(121), "urgent", Date.now());
  // The refused TI's verdict is stored in the first write; the anchored
  // one's, later, is not: the disk is full by then.
  const outbox = roundOutbox();
  const stored = [];
  outbox.finish = (key, acks) => {
    if (stored.length > 0) throw new Error("the disk is full");
    stored.push(...acks);
  };
  await assert.rejects(ehr.runPipeline(pipeline, transport, { outbox }), /the disk is full/);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].tiId, refused.tiId);
  // Not lost with the rejection: the stored ACK waits, once.
  assert.deepEqual(pipeline.takeAcks(), stored);
  assert.deepEqual(pipeline.takeAcks(), []);
  // The anchored TI's verdict stays in its stored entry.
  assert.equal(outbox.entries.size, 1);
  pipeline.free();
});

test("a store that fails part-way keeps what it stored and stores nothing twice", async () => {
  const { pipeline, refused, outbox } = twoRefused("MRN-4");
  // Both verdicts in one store, a `finish` each: the first is stored, then
  // the disk is full.
  const stored = [];
  let full = true;
  outbox.finish = (key, acks) => {
    if (full && stored.length > 0) throw new Error("the disk is full");
    stored.push(...acks);
  };
  await assert.rejects(ehr.runPipeline(pipeline, transport, { outbox }), /the disk is full/);
  assert.equal(stored.length, 1);
  assert.deepEqual(pipeline.takeAcks(), stored, "the stored verdict's ACK is handed on");
  assert.equal(pipeline.pending, 1, "only the other is given back");
  full = false;
  const { acks } = await ehr.runPipeline(pipeline, transport, { outbox });
  assert.equal(acks.length, 1);
  assert.deepEqual(stored.map((a) => a.tiId).sort(), refused.map((e) => e.tiId).sort(), "each stored once");
  pipeline.free();
});

test("a round's finishAll that fails stores none, and every refused TI's verdict is stored later, once", async () => {
  const { pipeline, refused, outbox } = twoRefused("MRN-5");
  const stored = [];
  let full = true;
  outbox.finishAll = (verdicts) => {
    if (full) throw new Error("the disk is full");
    for (const { acks } of verdicts) stored.push(...acks);
  };
  await assert.rejects(ehr.runPipeline(pipeline, transport, { outbox }), /the disk is full/);
  assert.deepEqual(pipeline.takeAcks(), []);
  assert.equal(pipeline.pending, 2, "both given back");
  full = false;
  const { acks } = await ehr.runPipeline(pipeline, transport, { outbox });
  assert.deepEqual(acks, stored);
  assert.deepEqual(stored.map((a) => a.tiId).sort(), refused.map((e) => e.tiId).sort(), "each stored once");
  pipeline.free();
});
