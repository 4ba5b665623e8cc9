#!/usr/bin/env node
// Interop check of ehrchain inclusion proofs against OpenZeppelin's own code.
// For every proof of docs/vectors/proofs.json it
//   - verifies the proof with StandardMerkleTree.verify(root, ['bytes32'],
//     [recordHash], siblings) from @openzeppelin/merkle-tree (OpenZeppelin's
//     leaf hashing and proof processing, the same as MerkleProof.verify on chain),
//   - recomputes the leaf with OpenZeppelin's standardLeafHash,
//   - checks that the proof fails once a sibling (or the record hash) is changed,
//   - decodes the binary and text forms with the decoder below, written from
//     docs/proofs.md alone (with its own base45 decoder), and compares them with
//     the vector's fields;
// checks each batch's root, sibling counts and anchorBatch calldata, and runs
// every invalid vector through the same decoder and verifier, expecting the
// error the vector names.
//
//   npm ci --prefix ehrchain-core/tests/interop
//   node ehrchain-core/tests/interop/verify_proofs.mjs [path/to/proofs.json]
//
// One line per batch, one for the invalid vectors, then "N passed, M failed";
// exits non-zero on any failure.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { keccak256, standardLeafHash } from '@openzeppelin/merkle-tree/dist/hashes.js';
import { processProof } from '@openzeppelin/merkle-tree/dist/core.js';

// ------------------------------------------------------------ the format

const MAGIC = Buffer.from('EHRP', 'ascii');
const VERSION = 1;
const TEXT_PREFIX = 'EHRP:';
const FIXED_LEN = 110; // bytes before the siblings
const MAX_SIBLINGS = 32;
const ANCHOR_SIGNATURE = 'anchorBatch(bytes32,uint32,bytes32)';
const BASE45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const JSON_KEYS = ['batchId', 'index', 'leafCount', 'recordHash', 'root', 'siblings', 'version'];

/** A refusal, named as in docs/proofs.md ("truncated", ...). */
class ProofError extends Error {
  constructor(code, detail) {
    super(`${code}: ${detail}`);
    this.code = code;
  }
}

const fail = (code, detail) => {
  throw new ProofError(code, detail);
};

const hex = (bytes) => '0x' + Buffer.from(bytes).toString('hex');

/** RFC 9285 base45, strict: every group must be canonical. */
function base45Decode(text) {
  const values = [];
  for (const c of text) {
    const v = BASE45.indexOf(c);
    if (v < 0) fail('bad_text', `character ${JSON.stringify(c)} is not in the base45 alphabet`);
    values.push(v);
  }
  if (values.length % 3 === 1) fail('bad_text', `length ${values.length} is 1 modulo 3`);
  const out = [];
  for (let i = 0; i < values.length; i += 3) {
    if (i + 2 < values.length) {
      const n = values[i] + values[i + 1] * 45 + values[i + 2] * 45 * 45;
      if (n > 0xffff) fail('bad_text', `group ${n} exceeds 65535`);
      out.push(n >> 8, n & 0xff);
    } else {
      const n = values[i] + values[i + 1] * 45;
      if (n > 0xff) fail('bad_text', `final pair ${n} exceeds 255`);
      out.push(n);
    }
  }
  return Buffer.from(out);
}

/** The number of siblings of leaf `index` in a batch of `leafCount`. */
function expectedSiblings(index, leafCount) {
  let [i, n, count] = [index, leafCount, 0];
  while (n > 1) {
    if ((i ^ 1) < n) count += 1;
    i = Math.floor(i / 2);
    n = Math.ceil(n / 2);
  }
  return count;
}

/** Shape checks shared by every form. */
function checkShape(p) {
  if (p.leafCount === 0) fail('zero_leaf_count', 'leaf count 0');
  if (p.index >= p.leafCount) fail('index_out_of_range', `index ${p.index} of ${p.leafCount}`);
  const expected = expectedSiblings(p.index, p.leafCount);
  if (p.siblings.length !== expected) {
    fail('wrong_hash_count', `${p.siblings.length} siblings, ${expected} expected`);
  }
  return p;
}

/** Binary form: the checks in the order docs/proofs.md gives. */
function decodeBinary(bytes) {
  const got = bytes.length;
  if (got < 4) {
    if (MAGIC.subarray(0, got).equals(bytes)) fail('truncated', `${got} bytes`);
    fail('not_a_proof', 'no magic');
  }
  if (!bytes.subarray(0, 4).equals(MAGIC)) fail('not_a_proof', 'no magic');
  if (got < FIXED_LEN) fail('truncated', `${got} bytes, ${FIXED_LEN} needed`);
  const version = bytes[4];
  if (version !== VERSION) fail('unsupported_version', `version ${version}`);
  const count = bytes[109];
  if (count > MAX_SIBLINGS) fail('too_many_siblings', `${count} siblings`);
  const needed = FIXED_LEN + 32 * count;
  if (got < needed) fail('truncated', `${got} bytes, ${needed} needed`);
  if (got > needed) fail('trailing_bytes', `${got - needed} bytes after the last sibling`);
  const siblings = [];
  for (let i = 0; i < count; i++) siblings.push(hex(bytes.subarray(110 + 32 * i, 142 + 32 * i)));
  return checkShape({
    version,
    recordHash: hex(bytes.subarray(5, 37)),
    batchId: hex(bytes.subarray(37, 69)),
    root: hex(bytes.subarray(69, 101)),
    leafCount: bytes.readUInt32BE(101),
    index: bytes.readUInt32BE(105),
    siblings,
  });
}

function decodeText(text) {
  const trimmed = text.trim();
  if (!trimmed.startsWith(TEXT_PREFIX)) fail('not_a_proof', 'no EHRP: prefix');
  return decodeBinary(base45Decode(trimmed.slice(TEXT_PREFIX.length)));
}

/** JSON form, canonical only (lower-case 0x hex). */
function decodeJson(text) {
  let j;
  try {
    j = JSON.parse(text);
  } catch (e) {
    fail('json', e.message);
  }
  if (j === null || typeof j !== 'object' || Array.isArray(j)) fail('json', 'not an object');
  const keys = Object.keys(j).sort();
  if (keys.join() !== JSON_KEYS.join()) fail('json', `fields ${keys.join()}`);
  const isHash = (v) => typeof v === 'string' && /^0x[0-9a-f]{64}$/.test(v);
  const isU32 = (v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
  for (const k of ['recordHash', 'batchId', 'root']) if (!isHash(j[k])) fail('json', `${k} is not a bytes32`);
  for (const k of ['leafCount', 'index']) if (!isU32(j[k])) fail('json', `${k} is not a u32`);
  if (!Number.isInteger(j.version) || j.version < 0 || j.version > 255) fail('json', 'version is not a u8');
  if (!Array.isArray(j.siblings) || !j.siblings.every(isHash)) fail('json', 'siblings are not bytes32');
  if (j.version !== VERSION) fail('unsupported_version', `version ${j.version}`);
  return checkShape(j);
}

/** Against the proof's own root, with OpenZeppelin's leaf hash and proof processing. */
function verify(p) {
  const leaf = standardLeafHash(['bytes32'], [p.recordHash]);
  const computed = processProof(leaf, p.siblings);
  if (computed !== p.root) fail('root_mismatch', `leads to ${computed}`);
}

function verifyAnchored(p, anchored) {
  if (anchored.root !== p.root) fail('root_mismatch', `anchored root ${anchored.root}`);
  if (anchored.leafCount !== p.leafCount) fail('leaf_count_mismatch', `anchored ${anchored.leafCount}`);
  if (anchored.batchId !== p.batchId) fail('batch_id_mismatch', `anchored ${anchored.batchId}`);
  verify(p);
}

// ------------------------------------------------------------ the checks

const path =
  process.argv[2] ?? fileURLToPath(new URL('../../../docs/vectors/proofs.json', import.meta.url));
const file = JSON.parse(readFileSync(path, 'utf8'));
let passed = 0;
let failed = 0;

function attempt(label, f) {
  try {
    f();
    passed += 1;
    return true;
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${label}: ${e.message}`);
    return false;
  }
}

const fieldsOf = (p) => ({
  version: p.version,
  recordHash: p.recordHash,
  batchId: p.batchId,
  root: p.root,
  leafCount: p.leafCount,
  index: p.index,
  siblings: p.siblings,
});

const flipLowBit = (h) => h.slice(0, -1) + (parseInt(h.slice(-1), 16) ^ 1).toString(16);

attempt('header', () => {
  assert.equal(file.proofVersion, VERSION);
  assert.equal(file.textPrefix, TEXT_PREFIX);
  assert.equal(file.anchorBatch.signature, ANCHOR_SIGNATURE);
  const selector = keccak256(new TextEncoder().encode(ANCHOR_SIGNATURE)).slice(0, 10);
  assert.equal(file.anchorBatch.selector, selector);
});

for (const b of file.batches) {
  let ok = 0;
  const before = failed;
  const n = b.leafCount;
  let ozOf = '';
  attempt(`${b.name} batch`, () => {
    assert.equal(b.recordHashes.length, n);
    assert.equal(b.proofs.length, n);
    const calldata =
      file.anchorBatch.selector +
      b.root.slice(2) +
      n.toString(16).padStart(64, '0') +
      b.batchId.slice(2);
    assert.equal(b.anchorCalldata, calldata, 'anchorBatch calldata');
    // For information: OpenZeppelin's own tree over the same records (its
    // layout, with and without sorting the leaves) has the same root or not.
    const values = b.recordHashes.map((h) => [h]);
    const unsorted = StandardMerkleTree.of(values, ['bytes32'], { sortLeaves: false }).root;
    const sorted = StandardMerkleTree.of(values, ['bytes32']).root;
    ozOf = `StandardMerkleTree.of root ${unsorted === b.root ? 'equal' : 'differs'} (unsorted), ${
      sorted === b.root ? 'equal' : 'differs'
    } (sorted)`;
  });
  for (const pv of b.proofs) {
    const label = `${b.name} proof ${pv.index}`;
    const good = attempt(label, () => {
      const f = pv.fields;
      assert.equal(f.index, pv.index);
      assert.equal(f.recordHash, b.recordHashes[pv.index]);
      assert.deepEqual([f.version, f.batchId, f.root, f.leafCount], [VERSION, b.batchId, b.root, n]);
      assert.equal(f.siblings.length, expectedSiblings(pv.index, n), 'sibling count');

      // OpenZeppelin: leaf hash and proof verification.
      assert.equal(standardLeafHash(['bytes32'], [f.recordHash]), pv.leaf, 'standardLeafHash');
      assert.equal(StandardMerkleTree.verify(b.root, ['bytes32'], [f.recordHash], f.siblings), true, 'OZ verify');
      if (f.siblings.length > 0) {
        for (let i = 0; i < f.siblings.length; i++) {
          const changed = f.siblings.map((s, j) => (j === i ? flipLowBit(s) : s));
          assert.equal(
            StandardMerkleTree.verify(b.root, ['bytes32'], [f.recordHash], changed),
            false,
            `OZ verify accepts sibling ${i} changed`,
          );
        }
      } else {
        const extra = [...f.siblings, b.root];
        assert.equal(StandardMerkleTree.verify(b.root, ['bytes32'], [f.recordHash], extra), false);
      }
      const otherRecord = flipLowBit(f.recordHash);
      assert.equal(StandardMerkleTree.verify(b.root, ['bytes32'], [otherRecord], f.siblings), false);

      // The three forms, decoded independently.
      const bytes = Buffer.from(pv.binary.slice(2), 'hex');
      assert.equal(bytes.length, FIXED_LEN + 32 * f.siblings.length);
      assert.deepEqual(fieldsOf(decodeBinary(bytes)), f, 'binary form');
      assert.ok(pv.text.startsWith(TEXT_PREFIX));
      assert.ok([...pv.text].every((c) => BASE45.includes(c)), 'text outside the QR alphanumeric set');
      assert.ok(base45Decode(pv.text.slice(TEXT_PREFIX.length)).equals(bytes), 'text is not base45 of binary');
      assert.deepEqual(fieldsOf(decodeText(pv.text)), f, 'text form');
      assert.deepEqual(fieldsOf(decodeJson(JSON.stringify(f))), f, 'JSON form');
      verify(decodeText(pv.text));
      verifyAnchored(decodeBinary(bytes), { root: b.root, leafCount: n, batchId: b.batchId });
    });
    if (good) ok += 1;
  }
  const status = failed === before ? 'ok' : 'FAILED';
  console.log(`${b.name}: ${n} records, root ${b.root}: ${ok}/${n} proofs verified by OpenZeppelin; ${ozOf}: ${status}`);
}

let invalidOk = 0;
for (const v of file.invalid) {
  const good = attempt(`invalid ${v.name}`, () => {
    let result;
    try {
      let p;
      if (v.binary !== undefined) p = decodeBinary(Buffer.from(v.binary.slice(2), 'hex'));
      else if (v.text !== undefined) p = decodeText(v.text);
      else p = decodeJson(v.json);
      if (v.anchored !== undefined) verifyAnchored(p, v.anchored);
      else verify(p);
      result = 'none';
    } catch (e) {
      if (!(e instanceof ProofError)) throw e;
      result = e.code;
    }
    assert.equal(result, v.error, `got ${result}, expected ${v.error}`);
  });
  if (good) invalidOk += 1;
}
console.log(`invalid: ${invalidOk}/${file.invalid.length} refused with the expected error`);

console.log(`${passed} passed, ${failed} failed`);
if (failed > 0) process.exitCode = 1;
