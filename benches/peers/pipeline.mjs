// ehrchain's TI -> TC pipeline written the way a web portal would write it
// without ehrchain: template checks by hand, the sealed record of
// docs/envelope.md with node:crypto or WebCrypto, and the contract call
// encoded with viem or ethers v6. `bench.mjs` times it beside ehrchain and
// first checks that it reproduces ehrchain's bytes exactly (same calldata,
// same envelope under the same nonce), so both sides do the same work.

import { createCipheriv, createHash, createHmac, hkdfSync, webcrypto } from 'node:crypto';
import { encodeFunctionData, keccak256, parseAbiItem, toBytes, toHex } from 'viem';
import { Interface } from 'ethers';

const subtle = webcrypto.subtle;
const RECORD_FORMAT = 'ehrchain.record/1';
const HKDF_LABEL = Buffer.from('ehrchain/v1/record');
const PSEUDONYM_LABEL = Buffer.from('ehrchain/v1/pseudonym');
const ZERO32 = Buffer.alloc(32);

const hexBytes = (hex) => Buffer.from(hex.slice(2), 'hex');

/// The call encoders: (function signature) -> (args -> 0x calldata).
export const ENCODERS = {
  viem(signature) {
    const abi = [parseAbiItem(`function ${signature}`)];
    const functionName = abi[0].name;
    return (args) => encodeFunctionData({ abi, functionName, args });
  },
  ethers(signature) {
    const iface = new Interface([`function ${signature}`]);
    const fragment = iface.fragments[0];
    return (args) => iface.encodeFunctionData(fragment, args);
  },
};

/// What the host set up once: the template (by id), the keys, the chain.
function setup(fixture, templateId, encoder) {
  const template = fixture.template;
  const call = template.call;
  const signature = call.function.replace(/\s+\w+(?=[,)])/g, '');
  const byName = new Map(template.fields.map((f) => [f.name, f]));
  const pseudonymKey = createHmac('sha256', hexBytes(fixture.pseudonym_key))
    .update(PSEUDONYM_LABEL)
    .digest();
  return {
    templates: new Map([[templateId, template]]),
    byName,
    sortedNames: template.fields.map((f) => f.name).sort(),
    encode: ENCODERS[encoder](signature),
    argumentFields: call.arguments.map((name) => byName.get(name)),
    roleIds: new Map(),
    pseudonymKey,
    sealingKey: hexBytes(fixture.sealing_key),
    keyId: Buffer.from(fixture.sealing_key_id),
    fixture,
  };
}

function validIdentifier(s) {
  // 1 to 128 bytes without control characters (docs/templates.md).
  return typeof s === 'string' && s.length > 0 && Buffer.byteLength(s) <= 128 && !/[\u0000-\u001f\u007f]/.test(s);
}

/// Every violation of `ti` against its template, as ehrchain reports them.
function violations(ctx, template, ti, nowMs) {
  const out = [];
  if (!template.roles.includes(ti.authorRole)) out.push({ kind: 'role_not_allowed' });
  if (!validIdentifier(ti.authorId)) out.push({ kind: 'bad_identifier', what: 'authorId' });
  if (ti.patientId !== undefined && !validIdentifier(ti.patientId)) out.push({ kind: 'bad_identifier', what: 'patientId' });
  // The TI's timestamp is in seconds, the clock in milliseconds (5 min skew).
  if (ti.timestamp * 1000 - nowMs > 300_000) out.push({ kind: 'timestamp_in_future' });
  for (const [name, value] of Object.entries(ti.fields)) {
    const field = ctx.byName.get(name);
    if (!field) out.push({ field: name, kind: 'unknown_field' });
    else if (field.placement === 'system' && value !== null) out.push({ field: name, kind: 'system_field' });
  }
  for (const field of template.fields) {
    if (field.placement === 'system') continue;
    const value = ti.fields[field.name];
    if (value === undefined || value === null) {
      if (field.required) out.push({ field: field.name, kind: 'missing_field' });
      continue;
    }
    const bad = checkValue(field, value);
    if (bad) out.push({ field: field.name, kind: bad });
  }
  return out;
}

function checkValue(field, value) {
  switch (field.type) {
    case 'integer':
      if (!Number.isSafeInteger(value)) return 'wrong_type';
      if ((field.min !== undefined && value < field.min) || (field.max !== undefined && value > field.max)) return 'out_of_range';
      return null;
    case 'enum':
      if (typeof value !== 'string') return 'wrong_type';
      return field.values.includes(value) ? null : 'unknown_enum_value';
    case 'text':
      if (typeof value !== 'string') return 'wrong_type';
      return value.length <= field.maxLength ? null : 'text_too_long';
    case 'bool':
      return typeof value === 'boolean' ? null : 'wrong_type';
    case 'date-time':
      return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? null : 'wrong_type';
    default:
      return 'unsupported_type';
  }
}

/// The sealed record's plaintext (docs/envelope.md, "Record plaintext").
function recordJson(ctx, template, ti) {
  const fields = {};
  for (const name of ctx.sortedNames) {
    const value = ti.fields[name];
    if (value !== undefined && value !== null) fields[name] = value;
  }
  const record = {
    format: RECORD_FORMAT,
    templateId: ti.templateId,
    template: template.name,
    templateVersion: template.version,
    tiId: ti.tiId,
    authorId: ti.authorId,
    authorRole: ti.authorRole,
  };
  if (ti.patientId !== undefined) record.patientId = ti.patientId;
  record.timestamp = ti.timestamp;
  record.fields = fields;
  return Buffer.from(JSON.stringify(record));
}

function header(ctx, patient, templateId, tiId, nonce, commitment, plaintextLength) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(plaintextLength + 16);
  return Buffer.concat([
    Buffer.from('EHRE'), Buffer.from([1, 1, ctx.keyId.length]), ctx.keyId,
    patient, templateId, tiId, nonce, commitment, length,
  ]);
}

function roleId(ctx, role) {
  let id = ctx.roleIds.get(role);
  if (id === undefined) {
    id = keccak256(toBytes(`${role.toUpperCase()}_ROLE`));
    ctx.roleIds.set(role, id);
  }
  return id;
}

function encodeCall(ctx, ti, patient, recordHash) {
  const system = {
    patient_pseudonym: toHex(patient),
    template_id: ti.templateId,
    ti_id: ti.tiId,
    record_hash: toHex(recordHash),
    timestamp: BigInt(ti.timestamp),
    author_role: roleId(ctx, ti.authorRole),
  };
  return ctx.encode(ctx.argumentFields.map((f) => (f.placement === 'system' ? system[f.source] : ti.fields[f.name])));
}

function lookup(ctx, ti, nowMs) {
  const template = ctx.templates.get(ti.templateId);
  if (!template) throw new Error(`unknown template ${ti.templateId}`);
  const found = violations(ctx, template, ti, nowMs);
  if (found.length > 0) throw Object.assign(new Error('TI rejected'), { violations: found });
  return template;
}

/// node:crypto (synchronous, OpenSSL underneath): (ti, nowMs, nonce) -> TC.
export function nodePipeline(fixture, templateId, encoder) {
  const ctx = setup(fixture, templateId, encoder);
  return (ti, nowMs, nonce) => {
    const template = lookup(ctx, ti, nowMs);
    const patient = ti.patientId === undefined ? ZERO32 : createHmac('sha256', ctx.pseudonymKey).update(ti.patientId).digest();
    const templateIdBytes = hexBytes(ti.templateId);
    const tiId = hexBytes(ti.tiId);
    const plaintext = recordJson(ctx, template, ti);
    const okm = Buffer.from(hkdfSync('sha256', ctx.sealingKey, templateIdBytes, Buffer.concat([HKDF_LABEL, patient, tiId]), 48));
    const head = header(ctx, patient, templateIdBytes, tiId, nonce, okm.subarray(32), plaintext.length);
    const cipher = createCipheriv('aes-256-gcm', okm.subarray(0, 32), nonce);
    cipher.setAAD(head);
    const envelope = Buffer.concat([head, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    const recordHash = createHash('sha256').update(envelope).digest();
    return { calldata: encodeCall(ctx, ti, patient, recordHash), recordHash, envelope };
  };
}

/// WebCrypto (asynchronous, as in a browser): (ti, nowMs, nonce) -> Promise<TC>.
export async function webPipeline(fixture, templateId, encoder) {
  const ctx = setup(fixture, templateId, encoder);
  const master = await subtle.importKey('raw', ctx.sealingKey, 'HKDF', false, ['deriveBits']);
  const pseudonymKey = await subtle.importKey('raw', ctx.pseudonymKey, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return async (ti, nowMs, nonce) => {
    const template = lookup(ctx, ti, nowMs);
    const patient = ti.patientId === undefined
      ? ZERO32
      : Buffer.from(await subtle.sign('HMAC', pseudonymKey, Buffer.from(ti.patientId)));
    const templateIdBytes = hexBytes(ti.templateId);
    const tiId = hexBytes(ti.tiId);
    const plaintext = recordJson(ctx, template, ti);
    const okm = Buffer.from(await subtle.deriveBits(
      { name: 'HKDF', hash: 'SHA-256', salt: templateIdBytes, info: Buffer.concat([HKDF_LABEL, patient, tiId]) },
      master, 384,
    ));
    const head = header(ctx, patient, templateIdBytes, tiId, nonce, okm.subarray(32), plaintext.length);
    const recordKey = await subtle.importKey('raw', okm.subarray(0, 32), 'AES-GCM', false, ['encrypt']);
    const sealed = await subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: head, tagLength: 128 }, recordKey, plaintext);
    const envelope = Buffer.concat([head, Buffer.from(sealed)]);
    const recordHash = Buffer.from(await subtle.digest('SHA-256', envelope));
    return { calldata: encodeCall(ctx, ti, patient, recordHash), recordHash, envelope };
  };
}
