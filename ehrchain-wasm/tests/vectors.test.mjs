// The interop vectors in docs/vectors/ through the built package: every
// envelope seals and opens exactly, every proof verifies in every form, and
// every invalid input fails with the error the vectors name (as `kind`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as ehr from "../pkg/index.js";

const vectors = (name) => JSON.parse(readFileSync(new URL(`../../docs/vectors/${name}`, import.meta.url), "utf8"));
const bytes = (hex) => Uint8Array.from(Buffer.from(hex.replace(/^0x/, ""), "hex"));
const hex0x = (u8) => `0x${Buffer.from(u8).toString("hex")}`;

test("envelope vectors: sealing gives the envelope, opening gives the plaintext", () => {
  const { valid } = vectors("envelope.json");
  assert.ok(valid.length > 0);
  for (const v of valid) {
    const binding = { keyId: v.keyId, patient: `0x${v.patient}`, templateId: `0x${v.templateId}`, tiId: `0x${v.tiId}` };
    const sealed = ehr.sealEnvelope(binding, bytes(v.key), bytes(v.plaintextHex), bytes(v.nonce));
    assert.equal(Buffer.from(sealed).toString("hex"), v.envelope, v.name);
    assert.equal(Buffer.from(ehr.openEnvelope(bytes(v.envelope), `0x${v.key}`)).toString("hex"), v.plaintextHex, v.name);
    const info = ehr.envelopeInfo(bytes(v.envelope));
    assert.equal(info.recordHash, `0x${v.recordHash}`, v.name);
    assert.equal(info.cid, v.cid, v.name);
    assert.equal(info.keyId, v.keyId, v.name);
  }
});

test("envelope vectors: every invalid envelope fails with its error", () => {
  const { invalid } = vectors("envelope.json");
  for (const v of invalid) {
    assert.throws(() => ehr.openEnvelope(bytes(v.envelope), bytes(v.key)), (e) => {
      assert.ok(e instanceof Error, v.name);
      assert.equal(e.code, v.code, v.name);
      assert.equal(e.kind, "envelope", v.name);
      assert.equal(e.reason, v.error, v.name);
      return true;
    });
  }
});

test("pseudonym vectors", () => {
  for (const v of vectors("envelope.json").pseudonyms) {
    const hs = new ehr.Handshaker(
      { chainId: 1, registry: `0x${"00".repeat(20)}`, sealingKeyId: "k", pseudonymKeyId: "k" },
      { k: `0x${v.key}` },
      new ehr.Templates(),
    );
    assert.equal(hs.pseudonym(v.patientId), `0x${v.pseudonym}`, v.name);
  }
});

test("proof vectors: every proof verifies in its binary, QR text and JSON forms", () => {
  const { batches } = vectors("proofs.json");
  let count = 0;
  for (const b of batches) {
    const builder = new ehr.BatchBuilder();
    for (const h of b.recordHashes) builder.push(h);
    const batch = builder.build(b.batchId);
    assert.equal(batch.root, b.root, b.name);
    assert.equal(batch.anchorTransaction(`0x${"ee".repeat(20)}`, 1337).calldata, b.anchorCalldata, b.name);
    const anchored = { root: b.root, leafCount: b.leafCount, batchId: b.batchId };
    for (const p of b.proofs) {
      for (const form of [bytes(p.binary), p.text, p.fields, JSON.stringify(p.fields)]) {
        assert.deepEqual(ehr.verifyProof(form), p.fields, `${b.name} #${p.index}`);
        ehr.verifyProofAnchored(form, anchored);
      }
      const ours = batch.proof(p.index);
      assert.equal(hex0x(ours.toBytes()), p.binary);
      assert.equal(ours.toText(), p.text);
      assert.deepEqual(ours.toJSON(), p.fields);
      count += 1;
    }
  }
  assert.ok(count > 10);
});

test("proof vectors: every invalid proof fails with its error", () => {
  const { invalid } = vectors("proofs.json");
  for (const v of invalid) {
    const run = () => {
      const proof = v.binary !== undefined
        ? ehr.InclusionProof.fromBytes(bytes(v.binary))
        : v.text !== undefined ? ehr.InclusionProof.fromText(v.text) : ehr.InclusionProof.fromJson(v.json);
      if (v.anchored) proof.verifyAnchored(v.anchored);
      else proof.verify();
      // verifyProof reads binary and QR text the same way.
      if (v.json === undefined) {
        const input = v.binary !== undefined ? bytes(v.binary) : v.text;
        if (v.anchored) ehr.verifyProofAnchored(input, v.anchored);
        else ehr.verifyProof(input);
      }
    };
    if (v.error === "none") {
      run();
      continue;
    }
    assert.throws(run, (e) => {
      assert.ok(e instanceof Error, v.name);
      assert.equal(e.code, v.code, `${v.name}: ${e.message}`);
      assert.equal(e.kind, "batch", `${v.name}: ${e.message}`);
      assert.equal(e.reason, v.error, `${v.name}: ${e.message}`);
      return true;
    }, v.name);
  }
});

test("signed proof vectors: every signed record's proof proves its author, every invalid one fails with its code", () => {
  const { anchor, roles, valid, invalid } = vectors("signed_proofs.json");
  assert.equal(valid.length, 3);
  for (const v of valid) {
    for (const input of [bytes(v.binary), v.text, v.json, JSON.stringify(v.json)]) {
      const proof = ehr.SignedRecordProof.parse(input);
      proof.verify();
      proof.verifyAnchored(anchor, roles);
      assert.equal(proof.author, v.json.statement.author);
      assert.equal(proof.role, v.json.statement.role);
      assert.equal(proof.recordHash, v.json.statement.recordHash);
      assert.equal(hex0x(proof.toBytes()), v.binary);
      assert.equal(proof.toText(), v.text);
      assert.deepEqual(JSON.parse(JSON.stringify(proof.toJSON())), v.json);
    }
  }
  assert.equal(invalid.length, 9);
  for (const v of invalid) {
    assert.throws(() => ehr.SignedRecordProof.parse(bytes(v.binary)).verifyAnchored(anchor, roles), (e) => {
      assert.equal(e.code, v.code, `${v.name}: ${e.message}`);
      return true;
    });
  }
  // A version 1 proof is not a signed record's proof.
  const plain = vectors("proofs.json").batches[0].proofs[0].binary;
  assert.throws(() => ehr.SignedRecordProof.parse(bytes(plain)), (e) => e.code === "EHR_PROOF_UNSUPPORTED");
  // Another role history: the author was never a doctor.
  assert.throws(
    () => ehr.SignedRecordProof.parse(valid[0].text).verifyAnchored(anchor, { allowed: roles.allowed, terms: [] }),
    (e) => e.code === "EHR_AUTHOR_ROLE_NOT_HELD",
  );
});

test("proof vectors in bulk: verifyProofs gives every proof its code, as verifyProof one by one", () => {
  const { batches, invalid } = vectors("proofs.json");
  const inputs = [];
  const expected = [];
  const add = (input, code) => {
    inputs.push(input);
    expected.push(code);
  };
  // Valid proofs in every form, interleaved with the invalid ones.
  let at = 0;
  for (const b of batches) {
    for (const p of b.proofs) {
      add([bytes(p.binary), p.text, p.fields, JSON.stringify(p.fields), ehr.InclusionProof.parse(bytes(p.binary))][at % 5], null);
      const v = invalid[at % invalid.length];
      at += 1;
      if (at > invalid.length) continue;
      const input = v.binary !== undefined ? bytes(v.binary) : v.text !== undefined ? v.text : v.json;
      // Against its own root only: a vector whose batch disagrees with the anchor (`anchored`) verifies here.
      add(input, v.error === "none" || v.anchored ? null : v.code);
    }
  }
  // Every invalid vector is in.
  assert.ok(at >= invalid.length, `${at} proofs for ${invalid.length} invalid vectors`);
  const codes = ehr.verifyProofs(inputs);
  assert.equal(codes.length, inputs.length);
  assert.deepEqual(codes, expected);
  assert.ok(codes.filter((c) => c !== null).length > 30, codes.join());
  // Each entry is what verifyProof says of that proof alone.
  inputs.forEach((input, i) => {
    try {
      ehr.verifyProof(input);
      assert.equal(codes[i], null, `#${i}`);
    } catch (e) {
      assert.equal(codes[i], e.code, `#${i}: ${e.message}`);
    }
  });
  // The anchored vectors fail only against their anchor.
  for (const v of invalid.filter((v) => v.anchored && v.binary !== undefined)) {
    assert.throws(() => ehr.verifyProofAnchored(bytes(v.binary), v.anchored), { code: v.code });
  }
});

test("verifyProofs: a whole batch at once, one bad proof among them, and what is no proof", () => {
  const big = vectors("proofs.json").batches.reduce((a, b) => (b.leafCount > a.leafCount ? b : a));
  assert.ok(big.proofs.length >= 8);
  const proofs = big.proofs.map((p) => p.fields);
  assert.deepEqual(ehr.verifyProofs(proofs), proofs.map(() => null));
  const tampered = proofs.map((p, i) => (i === 5 ? { ...p, root: big.proofs[0].fields.recordHash } : p));
  assert.deepEqual(ehr.verifyProofs(tampered), proofs.map((_, i) => (i === 5 ? "EHR_PROOF_INVALID" : null)));
  assert.deepEqual(ehr.verifyProofs([]), []);
  assert.deepEqual(ehr.verifyProofs([42, "EHRP:", proofs[0]]), ["EHR_INVALID_ARGUMENT", "EHR_PROOF_MALFORMED", null]);
  for (const notAList of ["EHRP:", proofs[0], undefined, null]) {
    assert.throws(() => ehr.verifyProofs(notAList), { name: "EhrchainError", code: "EHR_INVALID_ARGUMENT" });
  }
});

test("authorship vectors: localSigner signs every statement with the signature Rust and C make (RFC 6979)", () => {
  const { valid } = vectors("authorship.json");
  assert.ok(valid.length >= 2);
  for (const v of valid) {
    for (const secret of [v.privateKey, bytes(v.privateKey)]) {
      const signer = ehr.localSigner(secret);
      assert.equal(signer.address, v.signer, v.name);
      assert.equal(signer.signDigest(v.signingHash), v.signature, v.name);
      signer.free();
    }
  }
  // A statement of a TC made here: sign(request) signs its digest, and the core takes it as the author's.
  const templates = ehr.Templates.builtIn();
  const hs = new ehr.Handshaker(
    { chainId: 1337, registry: `0x${"42".repeat(20)}`, sealingKeyId: "k", pseudonymKeyId: "k" }, { k: new Uint8Array(32).fill(7) }, templates,
  );
  const tc = hs.generate({
    tiId: `0x${"51".repeat(32)}`, templateId: templates.latest("blood-pressure").id, authorId: "dr-1", authorRole: "doctor",
    patientId: "MRN-1", timestamp: 1764000017, fields: { systolic: 128, diastolic: 84 },
  }, 1764000017000);
  const doctor = ehr.localSigner(valid[0].privateKey);
  const request = tc.signingRequest(doctor.address);
  const signature = doctor.sign(request);
  assert.match(signature, /^0x[0-9a-f]{130}$/);
  assert.equal(signature, doctor.signDigest(request.digest));
  assert.equal(doctor.sign(request), signature); // deterministic
  assert.equal(request.attach(signature).authorship.signature, signature);
  // Another key's signature is refused by the core.
  const other = ehr.localSigner(valid[1].privateKey);
  assert.throws(() => request.attach(other.sign(request)), { code: "EHR_SIGNATURE_WRONG_SIGNER" });
  // What is no secret key.
  for (const secret of [`0x${"00".repeat(32)}`, `0x${"ff".repeat(32)}`, new Uint8Array(31), new Uint8Array(33).fill(1)]) {
    assert.throws(() => ehr.localSigner(secret), { name: "EhrchainError", code: "EHR_SIGNER_FAILED" });
  }
  for (const secret of [42, undefined, "0x11"]) {
    assert.throws(() => ehr.localSigner(secret), { code: secret === "0x11" ? "EHR_SIGNER_FAILED" : "EHR_INVALID_ARGUMENT" });
  }
  // A key that is not hex is refused without being repeated in the message.
  const leaked = "5a".repeat(31) + "zz";
  for (const secret of [leaked, `0x${leaked}`]) {
    assert.throws(() => ehr.localSigner(secret), (e) => e.code === "EHR_INVALID_ARGUMENT" && !e.message.includes("5a5a5a"));
  }
  assert.throws(() => doctor.signDigest("0x1234"), { code: "EHR_INVALID_ARGUMENT" });
  for (const x of [doctor, other, hs]) x.free();
});
