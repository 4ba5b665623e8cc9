// Handshaker.generateAsync and openAsync: records of 12 KiB and more
// encrypted, hashed and decrypted by WebCrypto instead of WebAssembly.
// generateAsync's TCs must be what `generate` makes: same header,
// a record that opens (also with node:crypto, from docs/envelope.md alone),
// SHA-256 of the envelope as record hash, in the calldata where `generate`
// puts it. Failures reject with coded Errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createDecipheriv, createHash, hkdfSync } from "node:crypto";
import * as ehr from "../pkg/index.js";
import { KEYS, reportHandshaker, withoutSubtle } from "./chain.mjs";

const { hs, bp, templates, options: OPTIONS } = reportHandshaker();
/** The TIs' timestamp, Unix seconds; every `nowMs` of the API is milliseconds. */
const NOW_S = 1_764_495_000;
const NOW_MS = NOW_S * 1000;
/** Note lengths below and above the 12 KiB from which WebCrypto seals. */
const SMALL = 1000;
const LARGE = 300_000;

function bpTi(note) {
  return {
    tiId: `0x${"5a".repeat(32)}`, templateId: bp, authorId: "dr-1", authorRole: "doctor", patientId: "MRN-1",
    timestamp: NOW_S - 60, fields: { systolic: 120, diastolic: 80, ...(note === undefined ? {} : { note }) },
  };
}

/** Opens an envelope with node:crypto, following docs/envelope.md only. */
function openWithNode(envelope, masterKey) {
  const bytes = Buffer.from(envelope);
  const keyIdLen = bytes[6];
  const headerLen = 135 + keyIdLen;
  const at = 7 + keyIdLen;
  const [patient, templateId, tiId] = [0, 32, 64].map((o) => bytes.subarray(at + o, at + o + 32));
  const nonce = bytes.subarray(at + 96, at + 108);
  const info = Buffer.concat([Buffer.from("ehrchain/v1/record"), patient, tiId]);
  const okm = Buffer.from(hkdfSync("sha256", masterKey, templateId, info, 48));
  assert.deepEqual(okm.subarray(32), bytes.subarray(at + 108, at + 124), "key commitment");
  const decipher = createDecipheriv("aes-256-gcm", okm.subarray(0, 32), nonce);
  decipher.setAAD(bytes.subarray(0, headerLen));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  return Buffer.concat([decipher.update(bytes.subarray(headerLen, bytes.length - 16)), decipher.final()]);
}

for (const size of [0, SMALL, 12 * 1024, LARGE]) {
  test(`generateAsync makes the TC generate makes (note of ${size} characters)`, async () => {
    const entry = bpTi(size === 0 ? undefined : "n".repeat(size));
    const ours = await hs.generateAsync(entry, NOW_MS);
    const reference = hs.generate(entry, NOW_MS);
    assert.ok(ours instanceof ehr.ChainTransaction);
    const envelope = Buffer.from(ours.envelope);
    assert.equal(ours.recordHash, `0x${createHash("sha256").update(envelope).digest("hex")}`);
    assert.ok(ours.calldata.includes(ours.recordHash.slice(2)), "record hash in the calldata");
    // Same call but for the record hash (fresh nonces), same header but for the nonce and commitment.
    assert.equal(ours.calldata.replace(ours.recordHash.slice(2), ""), reference.calldata.replace(reference.recordHash.slice(2), ""));
    assert.equal(envelope.length, reference.envelope.length);
    // Key id "records-2026": the 12-byte nonce is at 115..127 (docs/envelope.md).
    const theirs = Buffer.from(reference.envelope);
    assert.deepEqual(envelope.subarray(0, 115), theirs.subarray(0, 115));
    assert.deepEqual(envelope.subarray(127, 147), theirs.subarray(127, 147), "commitment and length");
    assert.deepEqual(Buffer.from(hs.open(ours.envelope)), Buffer.from(hs.open(reference.envelope)));
    assert.deepEqual(openWithNode(envelope, Buffer.from(KEYS["records-2026"])), Buffer.from(hs.open(ours.envelope)));
    assert.equal(ours.cid, ehr.envelopeInfo(ours.envelope).cid);
  });
}

test("prepare + intoSealed by hand is what generateAsync does", async () => {
  const prepared = hs.prepare(bpTi("by hand"), NOW_MS);
  const key = await crypto.subtle.importKey("raw", prepared.recordKey(), "AES-GCM", false, ["encrypt"]);
  const header = prepared.header();
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: prepared.nonce(), additionalData: header }, key, prepared.plaintext()));
  const hash = createHash("sha256").update(header).update(sealed).digest();
  const tc = prepared.intoSealed(sealed);
  assert.equal(tc.recordHash, `0x${hash.toString("hex")}`);
  assert.equal(JSON.parse(Buffer.from(hs.open(tc.envelope))).fields.note, "by hand");
  assert.throws(() => prepared.header(), (e) => e.code === "EHR_INVALID_ARGUMENT", "consumed by intoSealed");
});

test("openAsync opens what open opens, small and large", async () => {
  for (const size of [SMALL, LARGE]) {
    const tc = hs.generate(bpTi("o".repeat(size)), NOW_MS);
    assert.deepEqual(await hs.openAsync(tc.envelope), hs.open(tc.envelope));
    assert.deepEqual(await hs.openAsync(`0x${Buffer.from(tc.envelope).toString("hex")}`), hs.open(tc.envelope));
  }
});

test("openAsync refuses tampered and wrongly keyed envelopes like open", async () => {
  const other = new ehr.Handshaker(OPTIONS, { ...KEYS, "records-2026": new Uint8Array(32).fill(0x33) }, templates);
  for (const size of [SMALL, LARGE]) {
    const envelope = hs.generate(bpTi("t".repeat(size)), NOW_MS).envelope;
    const headerLen = 135 + envelope[6];
    const cases = [
      ["ciphertext", headerLen + 5, "tampered"],
      ["tag", envelope.length - 1, "tampered"],
      ["nonce", headerLen - 32 + 1, "tampered"],
      ["patient", headerLen - 128 + 3, "wrong_key"],
    ];
    for (const [what, at, kind] of cases) {
      const bad = Uint8Array.from(envelope);
      bad[at] ^= 1;
      await assert.rejects(hs.openAsync(bad), (e) => {
        assert.equal(e.kind, "envelope", `${what}, ${size}: ${e.message}`);
        assert.equal(e.reason, kind, `${what}, ${size}`);
        return true;
      });
      assert.throws(() => hs.open(bad), (e) => e.reason === kind, `open agrees: ${what}`);
    }
    await assert.rejects(other.openAsync(envelope), (e) => e.code === "EHR_ENVELOPE_WRONG_KEY");
  }
  await assert.rejects(hs.openAsync(new Uint8Array(3)), (e) => e.code === "EHR_ENVELOPE_MALFORMED" && e.reason === "truncated");
  await assert.rejects(hs.openAsync(42), (e) => e.code === "EHR_INVALID_ARGUMENT");
});

test("a sealed record of the wrong length is refused with a code", () => {
  const prepared = hs.prepare(bpTi(), NOW_MS);
  assert.throws(() => prepared.intoSealed(new Uint8Array(3)), (e) => {
    assert.equal(e.code, "EHR_EXTERNAL_CIPHER");
    assert.equal(e.reason, "sealed_length");
    return true;
  });
  const again = hs.prepare(bpTi(), NOW_MS);
  assert.throws(() => again.intoSealed("not bytes"), (e) => e.code === "EHR_INVALID_ARGUMENT");
});

test("a rejected TI rejects the promise (it does not throw)", async () => {
  let promise;
  assert.doesNotThrow(() => { promise = hs.generateAsync({ ...bpTi(), authorRole: "admin" }, NOW_MS); });
  await assert.rejects(promise, (e) => {
    assert.equal(e.code, "EHR_TI_REJECTED");
    assert.equal(e.violations.length, 1);
    assert.match(e.message, /admin/);
    return true;
  });
  await assert.rejects(hs.generateAsync(42), (e) => e.code === "EHR_INVALID_ARGUMENT");
});

test("without WebCrypto large records reject with EHR_EXTERNAL_CIPHER, small ones are sealed and opened in WebAssembly", async () => {
  await withoutSubtle(async () => {
    await assert.rejects(hs.generateAsync(bpTi("n".repeat(LARGE)), NOW_MS), (e) => {
      assert.equal(e.code, "EHR_EXTERNAL_CIPHER");
      assert.match(e.message, /secure contexts/);
      return true;
    });
    const small = await hs.generateAsync(bpTi("n".repeat(SMALL)), NOW_MS);
    assert.equal(JSON.parse(Buffer.from(hs.open(small.envelope))).fields.note.length, SMALL);
    const large = hs.generate(bpTi("n".repeat(LARGE)), NOW_MS);
    await assert.rejects(hs.openAsync(large.envelope), (e) => e.code === "EHR_EXTERNAL_CIPHER");
    assert.deepEqual(await hs.openAsync(small.envelope), hs.open(small.envelope));
  });
});
