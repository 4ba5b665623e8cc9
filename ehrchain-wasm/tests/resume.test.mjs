// resumeAll: at start-up every entry the host's write-ahead outbox still
// holds is resumed and run to its ACK with the same sealed record (the Rust
// `Handshaker::resume`, the C `ehr_handshaker_resume`), each ACK stored and
// its entry removed by `finish`, nothing anchored twice.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ehr from "../pkg/index.js";
import { CHAIN_ID, setup, ti } from "./chain.mjs";

const chain = await setup();
const { hs, templates, transport } = chain;

/** A fresh transport over the chain, as a restarted host opens one. */
const freshTransport = () => new ehr.Eip1193Transport(chain.provider, {
  chainId: CHAIN_ID, registry: chain.registry, senders: chain.roles, mineOnHead: true,
});

/**
 * An outbox over a Map (the entries as JSON text, as a database table holds
 * them), recording every finish in order.
 */
function tableOutbox(rows = new Map()) {
  return {
    rows,
    finished: [],
    keys: () => rows.keys(),
    load: (key) => rows.get(key),
    save(key, entry) {
      rows.set(key, JSON.stringify(entry));
    },
    finish(key, acks) {
      this.finished.push({ key, acks });
      rows.delete(key);
    },
  };
}

const reading = (systolic) =>
  ti(templates, "blood-pressure", "nurse", { systolic, diastolic: 80 }, { patientId: "MRN-000456" });

/** How many `RecordAnchored` events the registry emitted for `tiId`. */
async function anchorsOf(tiId) {
  const logs = await chain.provider.request({
    method: "eth_getLogs",
    params: [{ address: chain.registry, fromBlock: "0x0", toBlock: "latest", topics: [null, tiId] }],
  });
  return logs.length;
}

/** Stored, then the host dies before sending: the entry names no submission yet. */
function storedNotSent(outbox, entry) {
  const v = hs.validatorFor(entry, Date.now());
  const now = Date.now();
  assert.deepEqual(v.pollTransmit(now), { kind: "persist" });
  outbox.save(v.outboxKey, v.toJSON());
  v.free();
}

/** Stored, sent, then the host dies before the answer is handled. */
async function storedAndSent(outbox, entry) {
  const v = hs.validatorFor(entry, Date.now());
  const now = Date.now();
  assert.deepEqual(v.pollTransmit(now), { kind: "persist" });
  outbox.save(v.outboxKey, v.toJSON());
  v.handlePersisted(now);
  const send = v.pollTransmit(now);
  assert.equal(send.kind, "submit");
  await transport.submit(send.submission);
  v.free();
}

/** Run to its confirmation, then the host dies inside `finish`: the ACK is lost, the entry stays. */
async function confirmedNotFinished(outbox, entry) {
  const v = hs.validatorFor(entry, Date.now());
  const dying = { save: (key, e) => outbox.save(key, e), finish() { throw new Error("killed"); } };
  await assert.rejects(ehr.runValidator(v, transport, { outbox: dying }), /killed/);
  v.free();
}

test("resumeAll completes every stored TI: one valid ACK each, the same sealed record, each entry removed, anchored once", async () => {
  const outbox = tableOutbox();
  const notSent = reading(131);
  const sent = reading(132);
  const confirmed = reading(133);
  storedNotSent(outbox, notSent);
  await storedAndSent(outbox, sent);
  await confirmedNotFinished(outbox, confirmed);
  const all = [notSent, sent, confirmed];
  assert.deepEqual([...outbox.rows.keys()], all.map((t) => t.tiId), "the host crashed with three entries stored");
  const sealed = new Map([...outbox.rows].map(([key, text]) => [key, JSON.parse(text).validator.records[0].recordHash]));
  // What the registry held before the restart: the sent and the confirmed TI.
  assert.equal(await transport.recordHashOf(notSent.tiId), null);
  assert.equal(await transport.recordHashOf(sent.tiId), sealed.get(sent.tiId));

  const submits = [];
  const report = await ehr.resumeAll(freshTransport(), outbox, {
    onAction: (transmit) => transmit.kind === "submit" && submits.push(transmit.submission.anchoring.tiId),
  });
  assert.equal(report.stopped, undefined);
  assert.equal(report.acks.length, 3, JSON.stringify(report.acks));
  assert.deepEqual(report.acks.map((a) => a.tiId), all.map((t) => t.tiId), "one ACK per TI, in the outbox's order");
  for (const ack of report.acks) {
    assert.equal(ack.status, "valid", JSON.stringify(ack));
    assert.equal(ack.recordHash, sealed.get(ack.tiId), "the stored sealed record, never a new one");
    assert.equal(await transport.recordHashOf(ack.tiId), ack.recordHash);
    assert.equal(await anchorsOf(ack.tiId), 1, "anchored exactly once");
  }
  // Only the TI never sent was sent now; the others were found on chain.
  assert.deepEqual(submits, [notSent.tiId]);
  assert.equal(report.acks[0].recovered, null);
  assert.ok(report.acks[1].recovered, "anchored by the send before the crash");
  assert.ok(report.acks[2].recovered, "anchored and confirmed before the crash");
  // Every entry finished with its ACK, and removed.
  assert.equal(outbox.rows.size, 0);
  assert.deepEqual(outbox.finished, report.acks.map((ack) => ({ key: ack.tiId, acks: [ack] })));

  // Nothing left: a second start-up does nothing.
  assert.deepEqual(await ehr.resumeAll(freshTransport(), outbox), { acks: [], stopped: undefined });
});

test("resumeAll takes entries as data too and skips a key whose entry is gone; an entry resumed twice is a valid replay, not a second anchor", async () => {
  const outbox = tableOutbox();
  const entry = reading(134);
  const v = hs.validatorFor(entry, Date.now());
  // Two backups of its entry: before the write-ahead persist was asked, and as stored.
  const early = JSON.stringify(v.toJSON());
  assert.deepEqual(v.pollTransmit(Date.now()), { kind: "persist" });
  outbox.save(v.outboxKey, v.toJSON());
  const copy = outbox.rows.get(entry.tiId);
  v.free();
  // An outbox handing back the entries as data, and a key whose row was deleted meanwhile.
  const data = {
    keys: () => ["0x" + "ab".repeat(32), ...outbox.rows.keys()],
    load: (key) => (outbox.rows.has(key) ? JSON.parse(outbox.rows.get(key)) : undefined),
    save: (key, e) => outbox.save(key, e),
    finish: (key, acks) => outbox.finish(key, acks),
  };
  const { acks: [ack], stopped } = await ehr.resumeAll(freshTransport(), data);
  assert.equal(stopped, undefined);
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  assert.equal(ack.replay, false);
  assert.equal(outbox.rows.size, 0);
  assert.equal(await anchorsOf(entry.tiId), 1);
  // The host restores an old backup of its outbox: the same TC runs again and
  // finds its record on chain. Stored for sending, it may have been sent: the
  // registry is read first and holds it (recovered), nothing is sent.
  const sends = [];
  const onAction = (transmit, result) => transmit.kind === "submit" && sends.push(result);
  outbox.rows.set(entry.tiId, copy);
  const { acks: [recovered] } = await ehr.resumeAll(freshTransport(), outbox, { onAction });
  assert.equal(recovered.status, "valid", JSON.stringify(recovered));
  assert.ok(recovered.recovered);
  assert.deepEqual(sends, []);
  // Taken before it was ever stored for sending: it is submitted, and the
  // registry's refusal of a TI it holds with this record is a valid replay.
  outbox.rows.set(entry.tiId, early);
  const { acks: [replayed] } = await ehr.resumeAll(freshTransport(), outbox, { onAction });
  assert.equal(replayed.status, "valid", JSON.stringify(replayed));
  assert.equal(replayed.replay, true);
  for (const again of [recovered, replayed]) assert.equal(again.recordHash, ack.recordHash);
  assert.equal(await anchorsOf(entry.tiId), 1, "anchored once");
  assert.equal(outbox.rows.size, 0);
});

test("a damaged entry: EHR_OUTBOX_ENTRY_INVALID after the entries before it, which are finished; it stays, as do those after it", async () => {
  const outbox = tableOutbox();
  const [first, damaged, last] = [reading(141), reading(142), reading(143)];
  storedNotSent(outbox, first);
  storedNotSent(outbox, damaged);
  storedNotSent(outbox, last);
  // Its sealed record no longer matches its envelope (a flipped bit on disk).
  const parsed = JSON.parse(outbox.rows.get(damaged.tiId));
  const hash = parsed.validator.records[0].recordHash;
  parsed.validator.records[0].recordHash = `${hash.slice(0, -1)}${hash.endsWith("0") ? "1" : "0"}`;
  const tampered = JSON.stringify(parsed);
  outbox.rows.set(damaged.tiId, tampered);
  assert.throws(() => ehr.Validator.fromJSON(tampered), (e) => e.code === "EHR_OUTBOX_ENTRY_INVALID");

  await assert.rejects(ehr.resumeAll(freshTransport(), outbox), (e) => {
    assert.equal(e.name, "EhrchainError");
    assert.equal(e.code, "EHR_OUTBOX_ENTRY_INVALID");
    assert.equal(e.key, damaged.tiId);
    assert.equal(e.acks.length, 1);
    assert.equal(e.acks[0].tiId, first.tiId);
    assert.equal(e.acks[0].status, "valid");
    return true;
  });
  assert.deepEqual(outbox.finished.map((f) => f.key), [first.tiId], "the entry before it resumed and finished");
  assert.deepEqual([...outbox.rows.keys()], [damaged.tiId, last.tiId]);
  assert.equal(outbox.rows.get(damaged.tiId), tampered, "left as it was, for the host to restore");
  assert.equal(await transport.recordHashOf(damaged.tiId), null);
  assert.equal(await transport.recordHashOf(last.tiId), null, "not reached");

  // Truncated text is damaged too.
  outbox.rows.set(damaged.tiId, tampered.slice(0, 100));
  await assert.rejects(ehr.resumeAll(freshTransport(), outbox), (e) => e.code === "EHR_OUTBOX_ENTRY_INVALID" && e.key === damaged.tiId);

  // The host moves it aside; the next start-up resumes the rest.
  outbox.rows.delete(damaged.tiId);
  const { acks } = await ehr.resumeAll(freshTransport(), outbox);
  assert.deepEqual(acks.map((a) => [a.tiId, a.status]), [[last.tiId, "valid"]]);
  assert.equal(outbox.rows.size, 0);
});

test("an abort stops resumeAll between entries: the ACKs made are returned, the rest stay stored as they were", async () => {
  const outbox = tableOutbox();
  const [a, b] = [reading(151), reading(152)];
  storedNotSent(outbox, a);
  storedNotSent(outbox, b);
  const before = outbox.rows.get(b.tiId);
  const controller = new AbortController();
  const stopping = { ...outbox, keys: outbox.keys, load: outbox.load, save: (k, e) => outbox.save(k, e),
    finish(key, acks) {
      outbox.finish(key, acks);
      controller.abort();
    } };
  const report = await ehr.resumeAll(freshTransport(), stopping, { signal: controller.signal });
  assert.equal(report.stopped, "cancelled");
  assert.deepEqual(report.acks.map((ack) => [ack.tiId, ack.status]), [[a.tiId, "valid"]]);
  assert.deepEqual([...outbox.rows.keys()], [b.tiId]);
  assert.equal(outbox.rows.get(b.tiId), before, "not reached: untouched");

  // A deadline passed already: nothing is sent, nothing changes.
  const late = await ehr.resumeAll(freshTransport(), outbox, { deadline: Date.now() - 1 });
  assert.deepEqual(late, { acks: [], stopped: "deadline" });
  assert.equal(outbox.rows.get(b.tiId), before);

  // The next start-up completes it.
  const { acks, stopped } = await ehr.resumeAll(freshTransport(), outbox);
  assert.equal(stopped, undefined);
  assert.deepEqual(acks.map((ack) => [ack.tiId, ack.status]), [[b.tiId, "valid"]]);
  assert.equal(outbox.rows.size, 0);
});

test("a provider that never answers: an AbortSignal.timeout leaves the TI in progress stored as it stands", async () => {
  const outbox = tableOutbox();
  const entry = reading(153);
  storedNotSent(outbox, entry);
  const silent = { request: () => new Promise(() => {}) };
  const t = new ehr.Eip1193Transport(silent, { chainId: CHAIN_ID, registry: chain.registry, senders: chain.roles });
  const report = await ehr.resumeAll(t, outbox, { signal: AbortSignal.timeout(100) });
  assert.deepEqual(report, { acks: [], stopped: "cancelled" });
  // It was sending: the stored entry says so, and resuming settles first.
  const resumed = ehr.Validator.fromJSON(outbox.rows.get(entry.tiId));
  assert.equal(resumed.state.state, "settling");
  resumed.free();
  const { acks: [ack] } = await ehr.resumeAll(freshTransport(), outbox);
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  assert.equal(await anchorsOf(entry.tiId), 1);
  assert.equal(outbox.rows.size, 0);
});

test("an outbox that cannot list or load its entries: EHR_OUTBOX_UNAVAILABLE, nothing sent", async () => {
  const outbox = tableOutbox();
  const entry = reading(161);
  storedNotSent(outbox, entry);
  const noKeys = { save: outbox.save, finish: outbox.finish, load: outbox.load };
  await assert.rejects(ehr.resumeAll(freshTransport(), noKeys), (e) => e.code === "EHR_OUTBOX_UNAVAILABLE" && /keys\(\)/.test(e.message));
  const failing = { ...outbox, load() { throw new Error("disk I/O error"); } };
  await assert.rejects(ehr.resumeAll(freshTransport(), failing), (e) => {
    assert.equal(e.code, "EHR_OUTBOX_UNAVAILABLE");
    assert.match(e.message, /disk I\/O error/);
    assert.equal(e.key, entry.tiId);
    assert.deepEqual(e.acks, []);
    return true;
  });
  assert.equal(await transport.recordHashOf(entry.tiId), null);
  assert.equal(outbox.rows.size, 1);
});
