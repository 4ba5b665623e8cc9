#!/usr/bin/env node
// Independent opener for ehrchain sealed-record envelopes (format version 1,
// suite 1), written from docs/envelope.md alone, with nothing but node:crypto,
// node:fs and node:assert. It checks every vector of docs/vectors/envelope.json:
//
//   node ehrchain-core/tests/interop/open_envelopes.mjs [path/to/envelope.json]
//
// One line per vector, then "N passed, M failed"; exits non-zero on any failure.

import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  timingSafeEqual,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';

// ------------------------------------------------------------ the format

const MAGIC = Buffer.from('EHRE', 'ascii');
const VERSION = 1;
const SUITE = 1;
const PREFIX_LEN = 7; // magic, version, suite, key id length
const FIXED_HEADER = 135; // header length besides the key id
const MAX_KEY_ID_LEN = 64;
const NONCE_LEN = 12;
const COMMITMENT_LEN = 16;
const TAG_LEN = 16;
const MAX_PLAINTEXT = 2 ** 32 - 17;
const HKDF_LABEL = Buffer.from('ehrchain/v1/record', 'ascii');
const PSEUDONYM_LABEL = Buffer.from('ehrchain/v1/pseudonym', 'ascii');
const RECORD_FORMAT = 'ehrchain.record/1';

/** An opening failure, named as in docs/envelope.md ("truncated", ...). */
class EnvelopeError extends Error {
  constructor(code, detail) {
    super(`${code}: ${detail}`);
    this.code = code;
  }
}

const fail = (code, detail) => {
  throw new EnvelopeError(code, detail);
};

function validKeyId(bytes) {
  return (
    bytes.length >= 1 &&
    bytes.length <= MAX_KEY_ID_LEN &&
    bytes.every((b) => b >= 0x21 && b <= 0x7e)
  );
}

/** Steps 1 to 9: structural checks, then the header's fields. */
function parse(bytes) {
  const n = bytes.length;
  if (n < PREFIX_LEN) fail('truncated', `${n} bytes, the prefix needs ${PREFIX_LEN}`);
  if (!bytes.subarray(0, 4).equals(MAGIC)) fail('not_an_envelope', 'no EHRE magic');
  if (bytes[4] !== VERSION) fail('unsupported_version', `version ${bytes[4]}`);
  if (bytes[5] !== SUITE) fail('unsupported_suite', `suite ${bytes[5]}`);
  const l = bytes[6];
  const h = FIXED_HEADER + l;
  if (n < h) fail('truncated', `${n} bytes, the header needs ${h}`);
  const keyId = bytes.subarray(PREFIX_LEN, PREFIX_LEN + l);
  if (!validKeyId(keyId)) fail('malformed_key_id', `key id ${keyId.toString('hex')}`);
  const c = bytes.readUInt32BE(h - 4);
  if (c < TAG_LEN) fail('ciphertext_too_short', `ciphertext length ${c}`);
  // Numbers are exact up to 2^53, so h + c cannot overflow.
  if (n < h + c) fail('truncated', `${n} bytes, the envelope needs ${h + c}`);
  if (n > h + c) fail('trailing_bytes', `${n - (h + c)} bytes after the tag`);
  let at = PREFIX_LEN + l;
  const take = (len) => {
    const out = bytes.subarray(at, at + len);
    at += len;
    return out;
  };
  const header = {
    keyId: keyId.toString('ascii'),
    patient: take(32),
    templateId: take(32),
    tiId: take(32),
    nonce: take(NONCE_LEN),
    commitment: take(COMMITMENT_LEN),
  };
  at += 4; // the ciphertext length field
  assert.equal(at, h);
  return {
    ...header,
    aad: bytes.subarray(0, h),
    ciphertext: bytes.subarray(h, n - TAG_LEN),
    tag: bytes.subarray(n - TAG_LEN, n),
  };
}

/** HKDF-SHA256(salt = template id, IKM = master key, info, 48 bytes). */
function derive(masterKey, patient, templateId, tiId) {
  const info = Buffer.concat([HKDF_LABEL, patient, tiId]);
  const okm = Buffer.from(hkdfSync('sha256', masterKey, templateId, info, 48));
  return { key: okm.subarray(0, 32), commitment: okm.subarray(32, 48) };
}

/** Steps 1 to 12: the plaintext, or an EnvelopeError. */
function open(bytes, masterKey) {
  const e = parse(bytes);
  const { key, commitment } = derive(masterKey, e.patient, e.templateId, e.tiId);
  if (!timingSafeEqual(commitment, e.commitment)) {
    fail('wrong_key', `master key does not fit key id ${JSON.stringify(e.keyId)}`);
  }
  const decipher = createDecipheriv('aes-256-gcm', key, e.nonce, { authTagLength: TAG_LEN });
  decipher.setAAD(e.aad);
  decipher.setAuthTag(e.tag);
  const head = decipher.update(e.ciphertext);
  try {
    // Only after final() succeeds may the plaintext be used.
    return Buffer.concat([head, decipher.final()]);
  } catch {
    return fail('tampered', 'AES-GCM authentication failed');
  }
}

/** Sealing as docs/envelope.md specifies it (deterministic given the nonce). */
function seal({ masterKey, keyId, patient, templateId, tiId, nonce }, plaintext) {
  const id = Buffer.from(keyId, 'ascii');
  assert.ok(validKeyId(id), 'key id');
  assert.ok(plaintext.length <= MAX_PLAINTEXT, 'plaintext too large');
  for (const b of [patient, templateId, tiId]) assert.equal(b.length, 32);
  assert.equal(nonce.length, NONCE_LEN);
  const { key, commitment } = derive(masterKey, patient, templateId, tiId);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(plaintext.length + TAG_LEN);
  const header = Buffer.concat([
    MAGIC,
    Buffer.from([VERSION, SUITE, id.length]),
    id,
    patient,
    templateId,
    tiId,
    nonce,
    commitment,
    length,
  ]);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LEN });
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest();

/** RFC 4648 base32, lower-case alphabet, no padding. */
function base32Lower(bytes) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

/** CIDv1, raw codec, sha2-256 multihash, multibase base32 lower ("b"). */
function cidOfRecordHash(recordHash) {
  return 'b' + base32Lower(Buffer.concat([Buffer.from([0x01, 0x55, 0x12, 0x20]), recordHash]));
}

/** HMAC-SHA256(HMAC-SHA256(master, "ehrchain/v1/pseudonym"), patient id). */
function pseudonym(masterKey, patientId) {
  const k = createHmac('sha256', masterKey).update(PSEUDONYM_LABEL).digest();
  return createHmac('sha256', k).update(Buffer.from(patientId, 'utf8')).digest();
}

// ------------------------------------------------------------ the vectors

const hex = (s) => {
  assert.match(s, /^([0-9a-f]{2})*$/, 'lower-case hex');
  return Buffer.from(s, 'hex');
};

function checkValid(v, pseudonyms) {
  const masterKey = hex(v.key);
  assert.equal(masterKey.length, 32, 'master key length');
  const envelope = hex(v.envelope);
  const plaintext = hex(v.plaintextHex);
  if (v.plaintextUtf8 !== null) {
    assert.deepEqual(Buffer.from(v.plaintextUtf8, 'utf8'), plaintext, 'plaintextUtf8');
  }

  const opened = open(envelope, masterKey);
  assert.deepEqual(opened, plaintext, 'opened plaintext');

  const e = parse(envelope);
  assert.equal(e.keyId, v.keyId, 'key id');
  assert.equal(e.patient.toString('hex'), v.patient, 'patient');
  assert.equal(e.templateId.toString('hex'), v.templateId, 'template id');
  assert.equal(e.tiId.toString('hex'), v.tiId, 'TI id');
  assert.equal(e.nonce.toString('hex'), v.nonce, 'nonce');
  assert.equal(e.aad.length, v.headerLen, 'header length');
  const { key, commitment } = derive(masterKey, e.patient, e.templateId, e.tiId);
  assert.equal(key.toString('hex'), v.recordKey, 'record key');
  assert.equal(commitment.toString('hex'), v.keyCommitment, 'key commitment');

  const recordHash = sha256(envelope);
  assert.equal(recordHash.toString('hex'), v.recordHash, 'record hash');
  assert.equal(cidOfRecordHash(recordHash), v.cid, 'cid');
  assert.equal(v.cid.length, 59, 'cid length');
  assert.ok(v.cid.startsWith('bafkrei'), 'cid prefix');

  const resealed = seal(
    {
      masterKey,
      keyId: v.keyId,
      patient: hex(v.patient),
      templateId: hex(v.templateId),
      tiId: hex(v.tiId),
      nonce: hex(v.nonce),
    },
    plaintext,
  );
  assert.equal(resealed.toString('hex'), v.envelope, 'sealing reproduces the envelope');

  if (v.name.startsWith('record-')) checkRecord(v, opened, e, pseudonyms);
}

/** An ehrchain.record/1 plaintext, read as docs/envelope.md describes it. */
function checkRecord(v, plaintext, e, pseudonyms) {
  const record = JSON.parse(plaintext.toString('utf8'));
  assert.equal(record.format, RECORD_FORMAT, 'record format');
  assert.equal(record.templateId, '0x' + e.templateId.toString('hex'), 'record template_id');
  assert.equal(record.tiId, '0x' + e.tiId.toString('hex'), 'record ti_id');
  const order = [
    'format',
    'templateId',
    'template',
    'templateVersion',
    'tiId',
    'authorId',
    'authorRole',
    'patientId',
    'timestamp',
    'fields',
  ].filter((k) => k in record);
  assert.deepEqual(Object.keys(record), order, 'record keys and their order');
  assert.ok(Number.isInteger(record.templateVersion) && Number.isInteger(record.timestamp));
  const names = Object.keys(record.fields);
  assert.deepEqual(names, [...names].sort(), 'fields sorted by name');
  for (const value of Object.values(record.fields)) {
    if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) {
      assert.match(value, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'date-time in UTC, whole seconds');
    }
  }
  // Compact JSON: re-serialising changes nothing.
  assert.equal(JSON.stringify(record), plaintext.toString('utf8'), 'compact JSON');
  if ('patientId' in record) {
    // docs/envelope.md: the header's patient is the pseudonym of patientId
    // (under the pseudonym master key of one of the pseudonym vectors).
    const patient = e.patient.toString('hex');
    assert.ok(
      pseudonyms.some((x) => x.patientId === record.patientId && x.pseudonym === patient),
      `header patient is the pseudonym of ${JSON.stringify(record.patientId)}`,
    );
  } else {
    assert.ok(e.patient.equals(Buffer.alloc(32)), 'no patient: 32 zero bytes');
  }
}

const ERRORS = [
  'truncated',
  'trailing_bytes',
  'not_an_envelope',
  'unsupported_version',
  'unsupported_suite',
  'malformed_key_id',
  'ciphertext_too_short',
  'wrong_key',
  'tampered',
];

function checkInvalid(v) {
  assert.ok(ERRORS.includes(v.error), `documented error name ${v.error}`);
  let opened;
  try {
    opened = open(hex(v.envelope), hex(v.key));
  } catch (err) {
    if (!(err instanceof EnvelopeError)) throw err;
    if (err.code !== v.error) assert.fail(`expected ${v.error}, got ${err.message}`);
    return;
  }
  assert.fail(`opened to ${opened.length} bytes, expected ${v.error}`);
}

function checkPseudonym(v) {
  assert.equal(pseudonym(hex(v.key), v.patientId).toString('hex'), v.pseudonym, 'pseudonym');
}

// ------------------------------------------------------------ main

const path = process.argv[2] ?? new URL('../../../docs/vectors/envelope.json', import.meta.url);
const file = JSON.parse(readFileSync(path, 'utf8'));
assert.equal(file.envelopeVersion, VERSION, 'vector file version');
assert.equal(file.suite, SUITE, 'vector file suite');

// Self-test of the base32 encoder against RFC 4648 section 10.
for (const [input, output] of [
  ['', ''],
  ['f', 'my'],
  ['fo', 'mzxq'],
  ['foo', 'mzxw6'],
  ['foob', 'mzxw6yq'],
  ['fooba', 'mzxw6ytb'],
  ['foobar', 'mzxw6ytboi'],
]) {
  assert.equal(base32Lower(Buffer.from(input)), output, `base32(${input})`);
}

const cases = [
  ...file.valid.map((v) => [`valid/${v.name}`, () => checkValid(v, file.pseudonyms)]),
  ...file.invalid.map((v) => [`invalid/${v.name} (${v.error})`, () => checkInvalid(v)]),
  ...file.pseudonyms.map((v) => [`pseudonym/${v.name}`, () => checkPseudonym(v)]),
];
let passed = 0;
let failed = 0;
for (const [name, run] of cases) {
  try {
    run();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}: ${String(err.message).split('\n')[0]}`);
  }
}
const coverage = new Set(file.invalid.map((v) => v.error));
for (const code of ERRORS) {
  if (!coverage.has(code)) {
    failed += 1;
    console.log(`FAIL coverage: no invalid vector for ${code}`);
  }
}
if (file.valid.length < 5) {
  failed += 1;
  console.log(`FAIL coverage: only ${file.valid.length} valid vectors`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
