// The write-ahead outbox from JavaScript: every submission is announced in
// the host's outbox first; after a crash (a reload) the stored entry resumes
// the same TC, and the registry is read before anything is sent again.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ehr from "../pkg/index.js";
import { setup, ti } from "./chain.mjs";

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
