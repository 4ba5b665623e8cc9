// The write-ahead outbox from JavaScript: every submission is announced in
// the host's outbox first; after a crash (a reload) the stored entry resumes
// the same TC, and the registry is read before anything is sent again.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ehr from "../pkg/index.js";
import { CHAIN_ID, setup, ti } from "./chain.mjs";

const chain = await setup();
const { hs, templates, transport } = chain;

/** An outbox over a Map, recording what happened in order. */
function memoryOutbox(log) {
  const entries = new Map();
  return {
    entries,
    acks: [],
    save(key, entry) {
      log.push("save");
      entries.set(key, JSON.stringify(entry));
    },
    finish(key, acks) {
      log.push("finish");
      entries.delete(key);
      this.acks.push(...acks);
    },
  };
}

const reading = (systolic) =>
  ti(templates, "blood-pressure", "nurse", { systolic, diastolic: 80 }, { patientId: "MRN-000123" });

test("runValidator stores the entry before the submission and finishes with the ACK", async () => {
  const log = [];
  const outbox = memoryOutbox(log);
  const entry = reading(121);
  const v = hs.validatorFor(entry, Date.now());
  assert.equal(v.outboxKey, entry.tiId);
  const [ack] = await ehr.runValidator(v, transport, {
    outbox,
    onAction: (transmit) => log.push(transmit.kind),
  });
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  assert.deepEqual(log.slice(0, 2), ["save", "submit"]);
  assert.equal(log.at(-1), "finish");
  assert.equal(outbox.entries.size, 0);
  assert.deepEqual(outbox.acks, [ack]);
  v.free();
});

test("a stored entry resumes the same TC after a crash; a failing outbox sends nothing", async () => {
  const entry = reading(122);
  const v = hs.validatorFor(entry, Date.now());
  // The outbox fails: nothing is sent, and the error says so.
  const broken = { save() { throw new Error("quota exceeded"); }, finish() {} };
  await assert.rejects(ehr.runValidator(v, transport, { outbox: broken }), (e) => {
    assert.equal(e.code, "EHR_OUTBOX_UNAVAILABLE");
    assert.match(e.message, /quota exceeded/);
    return true;
  });
  assert.equal(await transport.recordHashOf(entry.tiId), null);
  // Stored, sent, then the page is reloaded before the answer is handled.
  const now = Date.now() + 1_000;
  assert.deepEqual(v.pollTransmit(now), { kind: "persist" });
  const stored = JSON.stringify(v.toJSON());
  v.handlePersisted(now);
  const send = v.pollTransmit(now);
  assert.equal(send.kind, "submit");
  await transport.submit(send.submission);
  const recordHash = send.submission.anchoring.recordHash;
  v.free();

  const resumed = ehr.Validator.fromJSON(stored);
  assert.deepEqual(resumed.pollTransmit(Date.now() + 2_000), { kind: "read_record", tiId: entry.tiId });
  resumed.handleRecord(Date.now() + 2_000, await transport.recordHashOf(entry.tiId));
  const [ack] = await ehr.runValidator(resumed, transport);
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  assert.equal(ack.recordHash, recordHash, "the stored sealed record, never a new one");
  assert.ok(ack.recovered, "anchored by the send before the crash");
  resumed.free();

  assert.throws(() => ehr.Validator.fromJSON("{}"), (e) => e.code === "EHR_OUTBOX_ENTRY_INVALID");
});

test("runValidator asks again for a submission the host's loop sent but never answered: one anchor, one ACK", async () => {
  const outbox = memoryOutbox([]);
  const entry = reading(124);
  const v = hs.validatorFor(entry, Date.now());
  const now = Date.now();
  assert.deepEqual(v.pollTransmit(now), { kind: "persist" });
  v.handlePersisted(now);
  const send = v.pollTransmit(now);
  assert.equal(send.kind, "submit");
  await transport.submit(send.submission); // sent; its hash never handed in
  const sent = [];
  const acks = await ehr.runValidator(v, transport, { outbox, onAction: (t) => sent.push(t.kind) });
  assert.equal(acks.length, 1, "one ACK, never none");
  assert.equal(acks[0].status, "valid", JSON.stringify(acks[0]));
  assert.equal(acks[0].recordHash, send.submission.anchoring.recordHash);
  assert.ok(!sent.includes("submit"), `settled from the registry, not sent again: ${sent}`);
  assert.deepEqual(outbox.acks, acks);
  v.free();
});

test("an ACK the outbox could not store stays in the validator; the next run stores it", async () => {
  const outbox = memoryOutbox([]);
  const finish = outbox.finish.bind(outbox);
  outbox.finish = () => {
    throw new Error("database is locked");
  };
  const entry = reading(125);
  const v = hs.validatorFor(entry, Date.now());
  await assert.rejects(ehr.runValidator(v, transport, { outbox }), /database is locked/);
  assert.ok(outbox.entries.has(entry.tiId), "the entry stays");
  assert.equal(v.pendingAcks.length, 1, "the ACK stays in the validator");
  outbox.finish = finish;
  const acks = await ehr.runValidator(v, transport, { outbox });
  assert.equal(acks.length, 1);
  assert.equal(acks[0].status, "valid", JSON.stringify(acks[0]));
  assert.deepEqual(outbox.acks, acks);
  assert.equal(outbox.entries.size, 0);
  assert.deepEqual(await ehr.runValidator(v, transport, { outbox }), [], "handed out: none again");
  assert.equal(outbox.acks.length, 1);
  v.free();
});

/** A provider that refuses connections while `down`, else is the chain's. */
function flaky() {
  const provider = {
    down: true,
    request(args) {
      return provider.down ? Promise.reject(new TypeError("fetch failed")) : chain.provider.request(args);
    },
  };
  return provider;
}

test("an outage is not a verdict: the deadline leaves the TI pending in the outbox, and it resumes valid", async () => {
  const provider = flaky();
  const t = new ehr.Eip1193Transport(provider, { chainId: CHAIN_ID, registry: chain.registry, senders: chain.roles, mineOnHead: true });
  const outbox = memoryOutbox([]);
  const entry = reading(123);
  const start = Date.now();
  let at = start;
  const clock = { now: () => at, sleep: async (ms) => { at += ms; } };
  const v = hs.validatorFor(entry, at);
  // Ten virtual minutes of outage: retried every 10 to 50 ms, never an ACK.
  await assert.rejects(ehr.runValidator(v, t, { ...clock, outbox, deadline: start + 600_000 }), (e) => {
    assert.equal(e.name, "EhrchainError");
    assert.equal(e.code, "EHR_STILL_PENDING");
    assert.match(e.message, /^the TI is still pending: the deadline passed at \d+ ms while it was waiting out an outage/);
    assert.equal(e.state.state, "outage");
    assert.equal(e.state.during.state, "generated");
    assert.equal(e.state.outage.since, start);
    assert.equal(e.state.outage.lastError.error, "unavailable");
    assert.ok(e.state.outage.attempts > 10_000, `${e.state.outage.attempts} attempts`);
    return true;
  });
  assert.equal(at, start + 600_000, "stopped at the deadline");
  const stored = outbox.entries.get(entry.tiId);
  assert.ok(stored, "the entry stays in the outbox");
  v.free();
  // The provider is back: the stored entry resumes, the same sealed record.
  provider.down = false;
  const resumed = ehr.Validator.fromJSON(stored);
  assert.equal(resumed.state.state, "outage", "the outage is remembered");
  const [ack] = await ehr.runValidator(resumed, t, { ...clock, outbox });
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  assert.equal(ack.recordHash, JSON.parse(stored).validator.records[0].recordHash);
  assert.equal(await transport.recordHashOf(entry.tiId), ack.recordHash);
  assert.equal(outbox.entries.size, 0);
  resumed.free();
});

test("an AbortSignal ends a run waiting on a provider that never answers, at once", async () => {
  const silent = { request: () => new Promise(() => {}) };
  const t = new ehr.Eip1193Transport(silent, { chainId: CHAIN_ID, registry: chain.registry, senders: chain.roles });
  const outbox = memoryOutbox([]);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const started = Date.now();
  const w = hs.validatorFor(reading(124), Date.now());
  await assert.rejects(ehr.runValidator(w, t, { outbox, signal: controller.signal }), (e) => {
    assert.equal(e.code, "EHR_STILL_PENDING");
    assert.match(e.message, /the host cancelled/);
    // It was sending: the entry says so, and resuming settles first.
    assert.equal(e.state.state, "generated");
    return true;
  });
  const took = Date.now() - started;
  assert.ok(took >= 100 && took < 1_000, `${took} ms`);
  const resumed = ehr.Validator.fromJSON(outbox.entries.get(w.outboxKey));
  assert.equal(resumed.state.state, "settling", "a send whose outcome is unknown is settled before anything is sent again");
  w.free();
  resumed.free();
});

test("a deadline may be Infinity (none) or a fraction of a millisecond; a past one stops at once", async () => {
  for (const deadline of [Infinity, Date.now() + 600_000.5]) {
    const v = hs.validatorFor(reading(126), Date.now());
    const [ack] = await ehr.runValidator(v, transport, { outbox: memoryOutbox([]), deadline });
    assert.equal(ack.status, "valid", JSON.stringify(ack));
    v.free();
  }
  const v = hs.validatorFor(reading(127), Date.now());
  await assert.rejects(ehr.runValidator(v, transport, { outbox: memoryOutbox([]), deadline: -1 }),
    (e) => e.code === "EHR_STILL_PENDING");
  v.free();
});
