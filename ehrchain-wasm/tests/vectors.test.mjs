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
