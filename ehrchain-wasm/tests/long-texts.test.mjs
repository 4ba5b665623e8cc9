// A TI object crosses into WebAssembly as JSON text, except long texts in
// its fields, which cross as strings (src/ti.js). Whatever the path, the
// result must be what the TI's own JSON text gives: the same record, the
// same header, the same refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { reportHandshaker } from "./chain.mjs";

const { hs, bp } = reportHandshaker();
/** The TIs' timestamp, Unix seconds; every `nowMs` of the API is milliseconds. */
const NOW_S = 1_764_495_000;
const NOW_MS = NOW_S * 1000;

function bpTi(fields) {
  return {
    tiId: `0x${"5a".repeat(32)}`, templateId: bp, authorId: "dr-1", authorRole: "doctor", patientId: "MRN-1",
    timestamp: NOW_S - 60, fields: { systolic: 120, diastolic: 80, ...fields },
  };
}

/** The record and the header (nonce blanked) `prepare` makes of a TI. */
function prepared(ti) {
  const p = hs.prepare(ti, NOW_MS);
  try {
    const header = Buffer.from(p.header());
    const at = 7 + header[6] + 96; // the nonce (docs/envelope.md)
    header.fill(0, at, at + 12);
    return { record: Buffer.from(p.plaintext()).toString("utf8"), header: header.toString("hex") };
  } finally {
    p.free();
  }
}

/** What a call throws, as code and message. */
function thrown(f) {
  try {
    f();
  } catch (e) {
    return { code: e.code, kind: e.kind, reason: e.reason, violations: e.violations };
  }
  assert.fail("did not throw");
}

const NOTES = {
  "ASCII, just below the threshold": "a".repeat(4095),
  "ASCII, at the threshold": "a".repeat(4096),
  "ASCII, 300 kB": "Patient seated, left arm. ".repeat(12_000),
  "accents, CJK and emoji": "é中😀 ".repeat(2000),
  "quotes, backslashes, control characters, U+2028": `"\\\n\t\u0001</script>\u2028`.repeat(600),
};

for (const [what, note] of Object.entries(NOTES)) {
  test(`a long note (${what}) gives the record its JSON text gives`, () => {
    const ti = bpTi({ note, position: "sitting" });
    const viaObject = prepared(ti);
    assert.deepEqual(viaObject, prepared(JSON.stringify(ti)));
    assert.equal(JSON.parse(viaObject.record).fields.note, note);
  });
}

test("a plain object without prototype, a getter and several long texts", () => {
  let reads = 0;
  const fields = Object.create(null);
  Object.assign(fields, { systolic: 120, diastolic: 80, position: "sitting" });
  Object.defineProperty(fields, "note", { enumerable: true, get: () => { reads += 1; return "g".repeat(5000); } });
  const ti = { ...bpTi({}), fields };
  const viaObject = prepared(ti);
  assert.equal(reads, 1, "the getter is read once, as JSON.stringify reads it");
  assert.deepEqual(viaObject, prepared(JSON.stringify(ti)));
});

test("objects JSON.stringify treats specially are stringified whole", () => {
  const note = "w".repeat(5000);
  const withToJson = bpTi({});
  withToJson.fields = { toJSON: () => ({ systolic: 120, diastolic: 80, note }) };
  assert.equal(JSON.parse(prepared(withToJson).record).fields.note, note);
  class Entry { constructor() { Object.assign(this, bpTi({ note })); } }
  assert.deepEqual(prepared(new Entry()), prepared(JSON.stringify(new Entry())));
  // JSON.stringify leaves out undefined properties (the TI allows no other keys).
  const undefinedProp = { ...bpTi({ note }), comment: undefined };
  assert.deepEqual(prepared(undefinedProp), prepared(JSON.stringify(undefinedProp)));
});

test("long texts are refused exactly as in the JSON text", () => {
  // A long text where a number belongs: the same violation either way.
  const wrongType = bpTi({ systolic: "1".repeat(5000) });
  const viaObject = thrown(() => hs.prepare(wrongType, NOW_MS));
  assert.equal(viaObject.code, "EHR_TI_REJECTED");
  assert.deepEqual(viaObject, thrown(() => hs.prepare(JSON.stringify(wrongType), NOW_MS)));
  // A lone surrogate: malformed JSON text, so a malformed TI either way.
  const lone = bpTi({ note: `${"x".repeat(5000)}\ud800` });
  assert.equal(thrown(() => hs.prepare(lone, NOW_MS)).code, "EHR_TI_MALFORMED");
  assert.deepEqual(thrown(() => hs.prepare(lone, NOW_MS)), thrown(() => hs.prepare(JSON.stringify(lone), NOW_MS)));
  // Over 4 MiB: too large either way.
  const huge = bpTi({ note: "h".repeat(4 << 20) });
  assert.equal(thrown(() => hs.prepare(huge, NOW_MS)).code, "EHR_TI_MALFORMED");
  assert.equal(thrown(() => hs.prepare(JSON.stringify(huge), NOW_MS)).code, "EHR_TI_MALFORMED");
});

test("what JSON.stringify cannot write is refused with a code, long texts or not", () => {
  const withBigInt = bpTi({ note: "b".repeat(5000), systolic: 120n });
  assert.equal(thrown(() => hs.prepare(withBigInt, NOW_MS)).code, "EHR_INVALID_ARGUMENT");
  const throwing = bpTi({ note: "t".repeat(5000) });
  Object.defineProperty(throwing.fields, "position", { enumerable: true, get: () => { throw new Error("no"); } });
  assert.equal(thrown(() => hs.prepare(throwing, NOW_MS)).code, "EHR_INVALID_ARGUMENT");
  // The handshaker is still usable afterwards.
  assert.ok(prepared(bpTi({ note: "ok".repeat(3000) })).record.includes("okok"));
});

test("the 4 MiB limit counts the long texts as JSON.stringify writes them", () => {
  // 700,000 control characters: 0.7 MB as a string, 4.2 MB as JSON.
  const escaped = bpTi({ note: "\u0001".repeat(700_000) });
  const viaObject = (() => { try { hs.prepare(escaped, NOW_MS); } catch (e) { return e; } })();
  const viaText = (() => { try { hs.prepare(JSON.stringify(escaped), NOW_MS); } catch (e) { return e; } })();
  assert.equal(viaObject?.code, "EHR_TI_MALFORMED");
  assert.equal(viaObject.message, viaText.message, "the same size reported");
  // Just under the limit by the same count: accepted either way.
  const fits = bpTi({ note: "\u0001".repeat(690_000) });
  assert.deepEqual(prepared(fits), prepared(JSON.stringify(fits)));
});

test("getters are read once, with or without long texts", () => {
  for (const length of [10, 5000]) {
    let reads = 0;
    const ti = bpTi({});
    Object.defineProperty(ti, "authorId", { enumerable: true, get: () => { reads += 1; return "dr-1"; } });
    ti.fields.note = "r".repeat(length);
    prepared(ti);
    assert.equal(reads, 1, `note of ${length}`);
  }
});
