// Key stores behind the host's callbacks (an HSM, a KMS), as C's
// ehr_key_store_new_callbacks: a `KeyStore` seals and opens exactly what the
// keys themselves do (the envelope vectors byte for byte, records of one
// handshaker opened by the other), opens key capsules through
// `recipientKey`, and every failing callback gives the code C gives:
// EHR_KEY_UNKNOWN for a key it lacks, EHR_KEY_STORE_UNAVAILABLE for a throw
// or an answer that is no 32-byte key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  Handshaker, KeyCapsule, Pipeline, generateRecipientKey, openEnvelope, recipientKeyId, recipientPublicKey, sealCapsule, sealEnvelope,
} from "../pkg/index.js";
import { KEYS, OFFLINE, offlineHandshaker, ti } from "./chain.mjs";

const vectors = (name) => JSON.parse(readFileSync(new URL(`../../docs/vectors/${name}`, import.meta.url), "utf8"));
const unhex = (s) => Uint8Array.from(Buffer.from(s.replace(/^0x/, ""), "hex"));
const hex = (bytes) => `0x${Buffer.from(bytes).toString("hex")}`;

/** A key store over `keys` ({keyId: Uint8Array}) that records what it was asked. */
function storeOf(keys, recipients = {}) {
  const asked = [];
  return {
    asked,
    masterKey(keyId) {
      asked.push(keyId);
      // A fresh copy each time, as an HSM hands out.
      return keys[keyId] === undefined ? null : Uint8Array.from(keys[keyId]);
    },
    recipientKey(keyId, suite) {
      asked.push(`${suite}:${keyId}`);
      return recipients[`${suite}:${keyId}`] ?? null;
    },
  };
}

/** Expects `fn` to throw an EhrchainError with `code`; returns the error. */
function throwsCode(fn, code) {
  let thrown;
  assert.throws(fn, (e) => {
    assert.equal(e.name, "EhrchainError");
    assert.equal(e.code, code, e.message);
    thrown = e;
    return true;
  });
  return thrown;
}

test("a KeyStore seals every envelope vector byte for byte, as the key itself does, and opens it", () => {
  const { valid } = vectors("envelope.json");
  assert.ok(valid.length >= 3);
  for (const v of valid) {
    const store = storeOf({ [v.keyId]: unhex(v.key) });
    const binding = { keyId: v.keyId, patient: `0x${v.patient}`, templateId: `0x${v.templateId}`, tiId: `0x${v.tiId}` };
    const plaintext = unhex(v.plaintextHex);
    const viaStore = sealEnvelope(binding, store, plaintext, unhex(v.nonce));
    assert.equal(hex(viaStore), `0x${v.envelope}`, v.name);
    assert.deepEqual(viaStore, sealEnvelope(binding, unhex(v.key), plaintext, unhex(v.nonce)), v.name);
    assert.deepEqual(openEnvelope(unhex(v.envelope), store), plaintext, v.name);
    assert.deepEqual(store.asked, [v.keyId, v.keyId], v.name);
  }
});

test("a handshaker over a KeyStore opens what one over the keys sealed, and the other way round", async () => {
  const { hs: inMemory, templates } = offlineHandshaker();
  const store = storeOf(KEYS);
  const viaStore = new Handshaker(OFFLINE, store, templates);
  // The core checks both keys when the handshaker is made.
  assert.deepEqual(store.asked.sort(), ["pseudonyms", "records-2026"]);
  assert.equal(viaStore.pseudonym("MRN-000123"), inMemory.pseudonym("MRN-000123"));
  const reading = () => ti(templates, "blood-pressure", "doctor", { systolic: 128, diastolic: 84 }, { patientId: "MRN-000123" });
  const [entry, other] = [reading(), reading()];
  const sealedInMemory = inMemory.generate(entry);
  const sealedViaStore = viaStore.generate(other);
  assert.equal(sealedViaStore.patient, sealedInMemory.patient);
  assert.deepEqual(viaStore.openRecord(sealedInMemory.envelope), inMemory.openRecord(sealedInMemory.envelope));
  assert.deepEqual(inMemory.openRecord(sealedViaStore.envelope), viaStore.openRecord(sealedViaStore.envelope));
  assert.deepEqual(await viaStore.openAsync(sealedInMemory.envelope), inMemory.open(sealedInMemory.envelope));
  // The standalone functions open it with the store too.
  assert.deepEqual(openEnvelope(sealedInMemory.envelope, store), inMemory.open(sealedInMemory.envelope));
  // Each seal and each opening asked the store for the record key's master key.
  assert.ok(store.asked.filter((id) => id === "records-2026").length >= 6, store.asked.join());
  for (const h of [inMemory, viaStore]) h.free();
});

test("a failing masterKey callback gives the core's key store codes, as C's callbacks do", () => {
  const { templates } = offlineHandshaker();
  const make = (masterKey) => () => new Handshaker(OFFLINE, { masterKey }, templates);
  // A key the store lacks: EHR_KEY_UNKNOWN (null or undefined).
  throwsCode(make((id) => (id === "pseudonyms" ? null : KEYS[id])), "EHR_KEY_UNKNOWN");
  throwsCode(make((id) => (id === "pseudonyms" ? undefined : KEYS[id])), "EHR_KEY_UNKNOWN");
  // A throw: EHR_KEY_STORE_UNAVAILABLE, retryable, with the host's message.
  const offline = throwsCode(make(() => {
    throw new Error("HSM offline");
  }), "EHR_KEY_STORE_UNAVAILABLE");
  assert.equal(offline.retryable, true);
  assert.match(offline.message, /masterKey callback .*threw: HSM offline/);
  throwsCode(make(() => {
    throw "no session"; // eslint-disable-line no-throw-literal
  }), "EHR_KEY_STORE_UNAVAILABLE");
  // A key of the wrong length, hex, or a promise (callbacks are synchronous): refused.
  const short = throwsCode(make(() => new Uint8Array(16)), "EHR_KEY_STORE_UNAVAILABLE");
  assert.match(short.message, /16 bytes/);
  throwsCode(make(() => new Uint8Array(33)), "EHR_KEY_STORE_UNAVAILABLE");
  throwsCode(make((id) => hex(KEYS[id])), "EHR_KEY_STORE_UNAVAILABLE");
  throwsCode(make(async (id) => KEYS[id]), "EHR_KEY_STORE_UNAVAILABLE");

  // A store that fails after the handshaker was made: generating and opening fail the same way.
  let down = false;
  const hs = new Handshaker(OFFLINE, {
    masterKey(id) {
      if (down) throw new Error("KMS unreachable");
      return KEYS[id];
    },
  }, templates);
  const tc = hs.generate(ti(templates, "blood-pressure", "doctor", { systolic: 120, diastolic: 80 }, { patientId: "MRN-1" }));
  down = true;
  throwsCode(() => hs.generate(ti(templates, "blood-pressure", "doctor", { systolic: 120, diastolic: 80 }, { patientId: "MRN-1" })),
    "EHR_KEY_STORE_UNAVAILABLE");
  throwsCode(() => hs.open(tc.envelope), "EHR_KEY_STORE_UNAVAILABLE");
  // It is no verdict on a TI (no invalid ACK): no validator, nothing held in a pipeline.
  const reading = ti(templates, "blood-pressure", "doctor", { systolic: 121, diastolic: 80 }, { patientId: "MRN-1" });
  throwsCode(() => hs.validatorFor(reading), "EHR_KEY_STORE_UNAVAILABLE");
  const pipeline = new Pipeline(OFFLINE.chainId, OFFLINE.registry);
  throwsCode(() => hs.pushTo(pipeline, reading, "urgent"), "EHR_KEY_STORE_UNAVAILABLE");
  assert.equal(pipeline.pending, 0);
  assert.equal(pipeline.pollFinished(), undefined);
  throwsCode(() => openEnvelope(tc.envelope, { masterKey: () => new Uint8Array(31) }), "EHR_KEY_STORE_UNAVAILABLE");
  throwsCode(() => openEnvelope(tc.envelope, { masterKey: () => null }), "EHR_KEY_UNKNOWN");
  down = false;
  assert.equal(hs.openRecord(tc.envelope).format, "ehrchain.record/1");
  hs.pushTo(pipeline, reading, "urgent");
  assert.equal(pipeline.pending, 1);
  hs.free();

  // The keys themselves still work as before, and a wrong key length is still EHR_KEY_INVALID.
  throwsCode(() => new Handshaker(OFFLINE, { ...KEYS, pseudonyms: new Uint8Array(16) }, templates), "EHR_KEY_INVALID");
  throwsCode(() => new Handshaker(OFFLINE, { masterKey: "not a function" }, templates), "EHR_INVALID_ARGUMENT");
});

test("key capsules: a RecipientKeyStore opens every capsule vector as the private key does", () => {
  const { valid } = vectors("capsule.json");
  assert.equal(valid.length, 4);
  for (const v of valid) {
    const capsule = KeyCapsule.parse(unhex(v.capsule));
    const store = storeOf({}, { [`${v.suite}:0x${v.recipientKeyId}`]: unhex(v.recipientPrivateKey) });
    assert.deepEqual(capsule.open(v.binding, store), unhex(v.recordKey), v.name);
    assert.deepEqual(capsule.open(v.binding, store), capsule.open(v.binding, unhex(v.recipientPrivateKey)), v.name);
    const record = capsule.openEnvelope(v.binding, { recipientKey: store.recipientKey }, unhex(v.envelope));
    assert.equal(new TextDecoder().decode(record), v.plaintextUtf8, v.name);
    assert.deepEqual(store.asked, Array(3).fill(`${v.suite}:0x${v.recipientKeyId}`), v.name);
    capsule.free();
  }
});

test("key capsules: a holder seals from a KeyStore; a store without the key, or failing, gives C's codes", () => {
  const master = crypto.getRandomValues(new Uint8Array(32));
  const store = storeOf({ "ward-7/2026": master });
  const envelope = sealEnvelope(
    { keyId: "ward-7/2026", patient: `0x${"01".repeat(32)}`, templateId: `0x${"02".repeat(32)}`, tiId: `0x${"03".repeat(32)}` },
    store, new TextEncoder().encode("potassium 4.1 mmol/L"),
  );
  const binding = {
    chainId: 31337, registry: `0x${"ee".repeat(20)}`, recordHash: hex(createHash("sha256").update(envelope).digest()),
    recipient: `0x${"aa".repeat(20)}`, authority: "emergency",
  };
  const privateKey = generateRecipientKey("x25519");
  const publicKey = recipientPublicKey("x25519", privateKey);
  const keyId = recipientKeyId("x25519", publicKey);
  const capsule = KeyCapsule.parse(sealCapsule(envelope, store, binding, "x25519", publicKey));
  const recipients = storeOf({}, { [`x25519:${keyId}`]: privateKey });
  assert.equal(new TextDecoder().decode(capsule.openEnvelope(binding, recipients, envelope)), "potassium 4.1 mmol/L");
  // The same record key as a capsule sealed with the key itself.
  const direct = KeyCapsule.parse(sealCapsule(envelope, master, binding, "x25519", publicKey));
  assert.deepEqual(capsule.open(binding, privateKey), direct.open(binding, recipients));

  throwsCode(() => sealCapsule(envelope, storeOf({}), binding, "x25519", publicKey), "EHR_KEY_UNKNOWN");
  throwsCode(() => capsule.open(binding, storeOf({})), "EHR_CAPSULE_WRONG_KEY");
  const failed = throwsCode(() => capsule.open(binding, {
    recipientKey() {
      throw new Error("card removed");
    },
  }), "EHR_KEY_STORE_UNAVAILABLE");
  assert.match(failed.message, /recipientKey callback .*threw: card removed/);
  throwsCode(() => capsule.open(binding, { recipientKey: () => privateKey.subarray(0, 31) }), "EHR_KEY_STORE_UNAVAILABLE");
  throwsCode(() => capsule.open(binding, { recipientKey: async () => privateKey }), "EHR_KEY_STORE_UNAVAILABLE");
  // Another recipient's key from the store: the core's check still holds.
  throwsCode(() => capsule.open(binding, { recipientKey: () => generateRecipientKey("x25519") }), "EHR_CAPSULE_WRONG_KEY");
  // A store that opens no capsules.
  throwsCode(() => capsule.open(binding, { masterKey: () => master }), "EHR_INVALID_ARGUMENT");
  for (const c of [capsule, direct]) c.free();
});
