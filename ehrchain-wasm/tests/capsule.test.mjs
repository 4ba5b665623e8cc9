// Key capsules from JavaScript (docs/capsule.md): every vector of
// docs/vectors/capsule.json, the holder's and the recipient's sides with every
// refusal, and interop both ways with an independent HPKE implementation,
// @hpke/core with @hpke/dhkem-x25519 and @hpke/hybridkem-x-wing (pinned in
// package.json), for both suites: capsules sealed by ehrchain open there, and
// capsules made there in the ehrchain format (following only the document)
// open in ehrchain.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256 as CoreX25519, HkdfSha256 } from "@hpke/core";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { XWing } from "@hpke/hybridkem-x-wing";
import { keccak_256 } from "@noble/hashes/sha3.js";
import {
  KeyCapsule, generateRecipientKey, recipientKeyId, recipientPublicKey, sealCapsule, sealEnvelope,
} from "../pkg/index.js";

const vectors = JSON.parse(readFileSync(new URL("../../docs/vectors/capsule.json", import.meta.url), "utf8"));
const unhex = (s) => Uint8Array.from(Buffer.from(s.replace(/^0x/, ""), "hex"));
const hex = (bytes) => `0x${Buffer.from(bytes).toString("hex")}`;
const HEADER_LEN = 151;
const INFO_LABEL = new TextEncoder().encode("ehrchain/v1/capsule");
const SUITES = {
  x_wing: { id: 1, publicKeyLen: 1216, encLen: 1120 },
  x25519: { id: 2, publicKeyLen: 32, encLen: 32 },
};

/** The @hpke/core cipher suites of a capsule suite: one for X-Wing; for
 * X25519 the pure-JS @hpke/dhkem-x25519 and @hpke/core's built-in KEM. */
const hpkeSuites = (suite) =>
  (suite === "x_wing" ? [new XWing()] : [new DhkemX25519HkdfSha256(), new CoreX25519()]).map(
    (kem) => new CipherSuite({ kem, kdf: new HkdfSha256(), aead: new Aes256Gcm() }),
  );

/** Expects `fn` to throw an EhrchainError with `code` (and `reason`). */
const throwsCode = (fn, code, reason) =>
  assert.throws(fn, (e) => {
    assert.equal(e.name, "EhrchainError");
    assert.equal(e.code, code, e.message);
    if (reason !== undefined) assert.equal(e.reason, reason, e.message);
    return true;
  });

const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** The capsule header of docs/capsule.md ("Byte layout"), written from the
 * document alone. */
function header(suite, binding, keyId) {
  const chainId = new Uint8Array(8);
  new DataView(chainId.buffer).setBigUint64(0, BigInt(binding.chainId));
  const emergency = binding.authority === "emergency";
  return concat(
    new TextEncoder().encode("EHRK"), [1, SUITES[suite].id], chainId, unhex(binding.registry),
    unhex(binding.recordHash), unhex(binding.recipient), keyId, [emergency ? 1 : 0],
    emergency ? new Uint8Array(32) : unhex(binding.authority.grant),
  );
}

const info = (capsuleHeader) => concat(INFO_LABEL, capsuleHeader);

test("every valid vector: the recipient's keys, the header, the record key and the record", () => {
  assert.equal(vectors.valid.length, 4);
  for (const v of vectors.valid) {
    const privateKey = unhex(v.recipientPrivateKey);
    const publicKey = recipientPublicKey(v.suite, privateKey);
    assert.deepEqual(publicKey, unhex(v.recipientPublicKey), v.name);
    assert.equal(recipientKeyId(v.suite, publicKey), `0x${v.recipientKeyId}`, v.name);
    const capsule = KeyCapsule.parse(unhex(v.capsule));
    assert.equal(capsule.suite, v.suite);
    assert.deepEqual(capsule.binding, v.binding);
    assert.equal(capsule.recipientKeyId, `0x${v.recipientKeyId}`);
    assert.deepEqual(capsule.toBytes(), unhex(v.capsule));
    assert.deepEqual(capsule.open(v.binding, privateKey), unhex(v.recordKey), v.name);
    const record = capsule.openEnvelope(v.binding, privateKey, unhex(v.envelope));
    assert.equal(new TextDecoder().decode(record), v.plaintextUtf8, v.name);
    capsule.free();
  }
});

test("every invalid vector gives the core's code and reason", () => {
  assert.equal(vectors.invalid.length, 17);
  for (const v of vectors.invalid) {
    throwsCode(() => KeyCapsule.parse(unhex(v.capsule)).open(v.expectedBinding, unhex(v.recipientPrivateKey)),
      v.code, v.error);
  }
});

/** A record sealed by a hospital, and a binding for it. */
function record(text = "potassium 4.1 mmol/L") {
  const master = crypto.getRandomValues(new Uint8Array(32));
  const envelope = sealEnvelope(
    { keyId: "ward-7/2026", patient: `0x${"01".repeat(32)}`, templateId: `0x${"02".repeat(32)}`, tiId: `0x${"03".repeat(32)}` },
    master, new TextEncoder().encode(text),
  );
  const recordHash = hex(createHash("sha256").update(envelope).digest());
  const binding = {
    chainId: 31337, registry: `0x${"ee".repeat(20)}`, recordHash, recipient: `0x${"aa".repeat(20)}`,
    authority: { grant: `0x${"42".repeat(32)}` },
  };
  return { master, envelope, binding };
}

for (const suite of Object.keys(SUITES)) {
  test(`${suite}: a holder seals, the recipient opens, every refusal has its code`, () => {
    const { master, envelope, binding } = record();
    const privateKey = generateRecipientKey(suite);
    assert.equal(privateKey.length, 32);
    const publicKey = recipientPublicKey(suite, privateKey);
    assert.equal(publicKey.length, SUITES[suite].publicKeyLen);
    const keyId = recipientKeyId(suite, publicKey);
    assert.equal(keyId, hex(keccak_256(concat([SUITES[suite].id], publicKey))));

    const bytes = sealCapsule(envelope, master, binding, suite, publicKey);
    assert.equal(bytes.length, HEADER_LEN + SUITES[suite].encLen + 48);
    const capsule = KeyCapsule.parse(bytes);
    assert.equal(capsule.recipientKeyId, keyId);
    assert.deepEqual(capsule.binding, binding);
    assert.equal(new TextDecoder().decode(capsule.openEnvelope(binding, privateKey, envelope)), "potassium 4.1 mmol/L");

    // Another recipient's key, another disclosure, another record, a flipped bit.
    throwsCode(() => capsule.open(binding, generateRecipientKey(suite)), "EHR_CAPSULE_WRONG_KEY", "wrong_key");
    throwsCode(() => capsule.open({ ...binding, authority: "emergency" }, privateKey),
      "EHR_CAPSULE_WRONG_BINDING", "wrong_binding");
    const other = record("other");
    throwsCode(() => capsule.openEnvelope(binding, privateKey, other.envelope), "EHR_CAPSULE_WRONG_BINDING", "wrong_record");
    const flipped = bytes.slice();
    flipped[flipped.length - 1] ^= 1;
    throwsCode(() => KeyCapsule.parse(flipped).open(binding, privateKey), "EHR_CAPSULE_TAMPERED", "tampered");
    throwsCode(() => KeyCapsule.parse(bytes.slice(0, -1)), "EHR_CAPSULE_MALFORMED", "truncated");
    throwsCode(() => capsule.open(binding, privateKey.slice(1)), "EHR_RECIPIENT_KEY_INVALID", "invalid_private_key");

    // The holder's refusals.
    throwsCode(() => sealCapsule(other.envelope, other.master, binding, suite, publicKey),
      "EHR_CAPSULE_WRONG_BINDING", "wrong_record");
    throwsCode(() => sealCapsule(envelope, other.master, binding, suite, publicKey), "EHR_ENVELOPE_WRONG_KEY", "wrong_key");
    throwsCode(() => sealCapsule(envelope, master, binding, suite, publicKey.slice(1)),
      "EHR_RECIPIENT_KEY_INVALID", "invalid_public_key");
    throwsCode(() => sealCapsule(envelope, master, binding, "x448", publicKey), "EHR_INVALID_ARGUMENT");
    throwsCode(() => sealCapsule(envelope, master, { ...binding, chainId: -1 }, suite, publicKey), "EHR_INVALID_JSON");
    capsule.free();
  });

  test(`${suite}: capsules sealed by ehrchain open with @hpke/core`, async () => {
    const { master, envelope, binding } = record();
    const privateKey = generateRecipientKey(suite);
    const publicKey = recipientPublicKey(suite, privateKey);
    for (const emergency of [false, true]) {
      const bound = emergency ? { ...binding, authority: "emergency" } : binding;
      const bytes = sealCapsule(envelope, master, bound, suite, publicKey);
      const recordKey = KeyCapsule.parse(bytes).open(bound, privateKey);
      const capsuleHeader = bytes.slice(0, HEADER_LEN);
      assert.deepEqual(capsuleHeader, header(suite, bound, unhex(recipientKeyId(suite, publicKey))));
      const enc = bytes.slice(HEADER_LEN, HEADER_LEN + SUITES[suite].encLen);
      const ciphertext = bytes.slice(HEADER_LEN + SUITES[suite].encLen);
      for (const hpke of hpkeSuites(suite)) {
        const recipientKey = await hpke.kem.importKey("raw", privateKey, false);
        const opened = await hpke.open({ recipientKey, enc, info: info(capsuleHeader) }, ciphertext);
        assert.deepEqual(new Uint8Array(opened), recordKey, `${hpke.kem.constructor.name}`);
        // The header is HPKE's info: another header does not open.
        const otherHeader = header(suite, { ...bound, chainId: 1 }, unhex(recipientKeyId(suite, publicKey)));
        await assert.rejects(hpke.open({ recipientKey, enc, info: info(otherHeader) }, ciphertext));
      }
    }
  });

  test(`${suite}: capsules made with @hpke/core in the ehrchain format open in ehrchain`, async () => {
    // The vector's envelope and record key: @hpke wraps that key for a key
    // pair it made itself.
    const v = vectors.valid.find((x) => x.suite === suite);
    for (const hpke of hpkeSuites(suite)) {
      const pair = await hpke.kem.generateKeyPair();
      const publicKey = new Uint8Array(await hpke.kem.serializePublicKey(pair.publicKey));
      const privateKey = new Uint8Array(await hpke.kem.serializePrivateKey(pair.privateKey));
      assert.deepEqual(recipientPublicKey(suite, privateKey), publicKey);
      const keyId = keccak_256(concat([SUITES[suite].id], publicKey));
      assert.equal(recipientKeyId(suite, publicKey), hex(keyId));
      for (const authority of [{ grant: `0x${"47".repeat(32)}` }, "emergency"]) {
        const binding = { ...v.binding, authority };
        const capsuleHeader = header(suite, binding, keyId);
        const sealed = await hpke.seal({ recipientPublicKey: pair.publicKey, info: info(capsuleHeader) }, unhex(v.recordKey));
        const bytes = concat(capsuleHeader, new Uint8Array(sealed.enc), new Uint8Array(sealed.ct));
        const capsule = KeyCapsule.parse(bytes);
        assert.deepEqual(capsule.binding, binding);
        assert.deepEqual(capsule.open(binding, privateKey), unhex(v.recordKey));
        const record = capsule.openEnvelope(binding, privateKey, unhex(v.envelope));
        assert.equal(new TextDecoder().decode(record), v.plaintextUtf8, hpke.kem.constructor.name);
        capsule.free();
      }
    }
  });
}
