// The pipeline a portal would otherwise write with viem and node:crypto:
// TI → TC (template check, keyed pseudonym, sealed envelope per
// docs/envelope.md, record hash, anchorRecord calldata) and inclusion-proof
// verification (docs/proofs.md, binary form). It does the same work as the
// package, step for step, so the two can be timed side by side.
import { createCipheriv, createHash, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { encodeFunctionData, keccak256 } from "viem";

const ANCHOR_ABI = [{
  type: "function",
  name: "anchorRecord",
  stateMutability: "nonpayable",
  inputs: [
    { name: "subject", type: "bytes32" }, { name: "templateId", type: "bytes32" }, { name: "tiId", type: "bytes32" },
    { name: "recordHash", type: "bytes32" }, { name: "timestamp", type: "uint64" }, { name: "role", type: "bytes32" },
  ],
  outputs: [],
}];

const HKDF_LABEL = Buffer.from("ehrchain/v1/record", "ascii");
const PSEUDONYM_LABEL = Buffer.from("ehrchain/v1/pseudonym", "ascii");
const hexOf = (b) => `0x${Buffer.from(b).toString("hex")}`;
const bytesOf = (h) => Buffer.from(h.slice(2), "hex");

/** A TI → TC generator over one template document (a FieldDoc list). */
export class JsGenerator {
  constructor({ chainId, registry, sealingKeyId, sealingKey, pseudonymKey, template, templateId, maxClockSkew = 300 }) {
    this.chainId = chainId;
    this.registry = registry;
    this.keyId = Buffer.from(sealingKeyId, "ascii");
    this.sealingKey = sealingKey;
    this.pseudonymKey = createHmac("sha256", pseudonymKey).update(PSEUDONYM_LABEL).digest();
    this.template = template;
    this.templateId = templateId;
    this.templateIdBytes = bytesOf(templateId);
    this.fields = template.fields.filter((f) => f.placement !== "system");
    this.roleIds = new Map(template.roles.map((r) => [r, keccak256(Buffer.from(`${r.toUpperCase()}_ROLE`))]));
    this.maxClockSkew = maxClockSkew;
  }

  /** Every violation of `ti`, or []. */
  check(ti, now) {
    const violations = [];
    if (ti.template_id !== this.templateId) violations.push("unknown template");
    if (!this.roleIds.has(ti.author_role)) violations.push(`role ${ti.author_role} not allowed`);
    if (!ti.patient_id) violations.push("patient_id missing");
    if (ti.timestamp > now + this.maxClockSkew) violations.push("timestamp in the future");
    for (const name of Object.keys(ti.fields)) {
      if (!this.fields.some((f) => f.name === name)) violations.push(`unknown field ${name}`);
    }
    for (const f of this.fields) {
      const v = ti.fields[f.name];
      if (v === undefined || v === null) {
        if (f.required) violations.push(`${f.name} missing`);
        continue;
      }
      if (f.type === "integer" && (!Number.isInteger(v) || (f.min !== undefined && v < f.min) || (f.max !== undefined && v > f.max))) {
        violations.push(`${f.name} out of range`);
      } else if (f.type === "enum" && !f.values.includes(v)) {
        violations.push(`${f.name} not allowed`);
      } else if ((f.type === "text" || f.type === "code") && (typeof v !== "string" || v.length > (f.max_length ?? 1 << 20))) {
        violations.push(`${f.name} too long`);
      }
    }
    return violations;
  }

  /** TI → TC: { calldata, recordHash, envelope }. Throws on violations. */
  generate(ti, now) {
    const violations = this.check(ti, now);
    if (violations.length) throw new Error(violations.join("; "));
    const patient = createHmac("sha256", this.pseudonymKey).update(ti.patient_id, "utf8").digest();
    const fields = {};
    for (const name of Object.keys(ti.fields).sort()) fields[name] = ti.fields[name];
    const plaintext = Buffer.from(JSON.stringify({
      format: "ehrchain.record/1", template_id: ti.template_id, template: this.template.name,
      template_version: this.template.version, ti_id: ti.ti_id, author_id: ti.author_id,
      author_role: ti.author_role, patient_id: ti.patient_id, timestamp: ti.timestamp, fields,
    }), "utf8");
    const tiId = bytesOf(ti.ti_id);
    const okm = Buffer.from(hkdfSync("sha256", this.sealingKey, this.templateIdBytes,
      Buffer.concat([HKDF_LABEL, patient, tiId]), 48));
    const nonce = randomBytes(12);
    const header = Buffer.alloc(135 + this.keyId.length);
    header.write("EHRE", 0, "ascii");
    header[4] = 1;
    header[5] = 1;
    header[6] = this.keyId.length;
    let at = 7;
    at += this.keyId.copy(header, at);
    at += patient.copy(header, at);
    at += this.templateIdBytes.copy(header, at);
    at += tiId.copy(header, at);
    at += nonce.copy(header, at);
    at += okm.copy(header, at, 32, 48);
    header.writeUInt32BE(plaintext.length + 16, at);
    const cipher = createCipheriv("aes-256-gcm", okm.subarray(0, 32), nonce);
    cipher.setAAD(header);
    const envelope = Buffer.concat([header, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    const recordHash = hexOf(createHash("sha256").update(envelope).digest());
    const calldata = encodeFunctionData({
      abi: ANCHOR_ABI,
      functionName: "anchorRecord",
      args: [hexOf(patient), ti.template_id, ti.ti_id, recordHash, BigInt(ti.timestamp), this.roleIds.get(ti.author_role)],
    });
    return { to: this.registry, chainId: this.chainId, calldata, recordHash, envelope };
  }
}

function expectedSiblings(index, leafCount) {
  let count = 0;
  for (let i = index, n = leafCount; n > 1; i = Math.floor(i / 2), n = Math.ceil(n / 2)) {
    if ((i ^ 1) < n) count += 1;
  }
  return count;
}

/** Verifies a binary inclusion proof: shape, then the sorted-pair keccak fold to the root. */
export function jsVerifyProof(bytes) {
  if (bytes.length < 110 || bytes[0] !== 0x45 || bytes[1] !== 0x48 || bytes[2] !== 0x52 || bytes[3] !== 0x50 || bytes[4] !== 1) {
    throw new Error("not a proof");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const recordHash = bytes.subarray(5, 37);
  const root = bytes.subarray(69, 101);
  const leafCount = view.getUint32(101);
  const index = view.getUint32(105);
  const n = bytes[109];
  if (leafCount === 0 || index >= leafCount) throw new Error("index out of range");
  if (bytes.length !== 110 + 32 * n || n !== expectedSiblings(index, leafCount)) throw new Error("wrong hash count");
  let node = keccak256(keccak256(recordHash, "bytes"), "bytes");
  for (let i = 0; i < n; i += 1) {
    const sibling = bytes.subarray(110 + 32 * i, 142 + 32 * i);
    node = Buffer.compare(node, sibling) <= 0
      ? keccak256(Buffer.concat([node, sibling]), "bytes")
      : keccak256(Buffer.concat([sibling, node]), "bytes");
  }
  if (Buffer.compare(node, root) !== 0) throw new Error("root mismatch");
  return true;
}
