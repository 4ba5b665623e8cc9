// The test chain: Ganache's in-process EIP-1193 provider (npm `ganache`,
// pinned in package.json) with the registry deployed from the package's
// committed bytecode, roles granted and the built-in templates registered, as
// the Rust suites set it up (contracts/src/rpc.rs `deploy_registry`).
import assert from "node:assert/strict";
import ganache from "ganache";
import * as ehr from "../pkg/index.js";

export const CHAIN_ID = 1337;

/** Validator settings for an instamining node: quick polls, 2 confirmations. */
export const FAST = {
  confirmations: 2,
  pollIntervalMs: 10,
  backoffInitialMs: 10,
  backoffMaxMs: 50,
  inclusionTimeoutMs: 5_000,
};

export const KEYS = {
  "records-2026": new Uint8Array(32).fill(0x11),
  pseudonyms: new Uint8Array(32).fill(0x22),
};

/**
 * A handshaker (no chain) whose blood-pressure template has room for a
 * scanned report in its note (1 MiB): `{ hs, bp (the template's id),
 * templates, options }`.
 */
export function reportHandshaker() {
  const templates = new ehr.Templates();
  const bp = templates.add(reportTemplate(ehr.Templates.builtIn()));
  return { hs: new ehr.Handshaker(OFFLINE, KEYS, templates), bp, templates, options: OFFLINE };
}

/**
 * The document of `templates`' blood-pressure template made into a new one,
 * `blood-pressure-with-report`, whose note holds a scanned report (1 MiB).
 */
export function reportTemplate(templates) {
  const doc = templates.get(templates.list().find((t) => t.name === "blood-pressure").id);
  // A new template: its id comes from its content.
  delete doc.id;
  doc.name = "blood-pressure-with-report";
  doc.fields.find((f) => f.name === "note").maxLength = 1 << 20;
  return doc;
}

/** Handshaker options for tests without a chain (registry 0xee…ee). */
export const OFFLINE = {
  chainId: CHAIN_ID, registry: `0x${"ee".repeat(20)}`, sealingKeyId: "records-2026", pseudonymKeyId: "pseudonyms",
};

/**
 * A handshaker without a chain over the built-in templates: `{ hs, bp (the
 * blood-pressure template's id), templates }`.
 */
export function offlineHandshaker() {
  const templates = ehr.Templates.builtIn();
  const bp = templates.list().find((t) => t.name === "blood-pressure").id;
  return { hs: new ehr.Handshaker(OFFLINE, KEYS, templates), bp, templates };
}

/**
 * The test chain's provider: Ganache's in-process one, or, with
 * `EHRCHAIN_RPC_URL` set (scripts/hardhat-e2e.sh), a minimal EIP-1193
 * provider over that node's HTTP JSON-RPC (errors thrown as the node sent
 * them: `code`, `message`, `data`).
 */
export function provider() {
  const url = process.env.EHRCHAIN_RPC_URL;
  if (url) return httpProvider(url);
  return ganache.provider({
    chain: { chainId: CHAIN_ID, hardfork: "shanghai" },
    wallet: { deterministic: true },
    miner: { blockGasLimit: 30_000_000, defaultTransactionGasLimit: 5_000_000 },
    logging: { quiet: true },
  });
}

function httpProvider(url) {
  let id = 0;
  return {
    async request({ method, params = [] }) {
      id += 1;
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
      });
      const answer = await response.json();
      if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code, data: answer.error.data });
      return answer.result;
    },
  };
}

/**
 * A fresh chain with the registry: accounts 0..7 are admin, handshaker (also
 * the relayer), doctor, nurse, pathologist, device, distributor and a
 * pharmacy that holds no role on chain.
 */
export async function setup() {
  const p = provider();
  const accounts = await p.request({ method: "eth_accounts", params: [] });
  const [admin, handshaker, doctor, nurse, pathologist, device, distributor, pharmacy] = accounts;
  const templates = ehr.Templates.builtIn();
  const roles = { handshaker, doctor, nurse, pathologist, device, distributor };
  const registry = await ehr.deployRegistry(p, {
    chainId: CHAIN_ID,
    admin,
    // The handshaker account also relays records their authors signed.
    grants: [...Object.entries(roles), ["relayer", handshaker]],
    templates,
  });
  const transport = new ehr.Eip1193Transport(p, {
    chainId: CHAIN_ID,
    registry,
    from: handshaker,
    senders: { ...roles, pharmacist: pharmacy },
    mineOnHead: true,
  });
  const hs = new ehr.Handshaker(
    { chainId: CHAIN_ID, registry, sealingKeyId: "records-2026", pseudonymKeyId: "pseudonyms", validator: FAST },
    KEYS,
    templates,
  );
  return { provider: p, accounts, admin, registry, templates, transport, hs, roles };
}

let counter = 0;

/** A fresh TI id. */
export function tiId() {
  counter += 1;
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  bytes[0] = counter & 0xff;
  return `0x${Buffer.from(bytes).toString("hex")}`;
}

/** A TI of the latest version of template `name`. */
export function ti(templates, name, role, fields, extra = {}) {
  const template = templates.list().find((t) => t.name === name);
  return {
    tiId: tiId(),
    templateId: template.id,
    authorId: `${role}-1`,
    authorRole: role,
    timestamp: Math.floor(Date.now() / 1000),
    fields,
    ...extra,
  };
}

/**
 * A doctor's blood-pressure reading (`systolic`, `diastolic`, sitting) of
 * the patient `patientId`, anchored through the chain's handshaker to a
 * valid ACK: `{ reading (the TI), ack, envelope (its bytes), subject (the
 * patient's pseudonym) }`.
 */
export async function anchorReading({ templates, transport, hs }, patientId, { systolic, diastolic }) {
  const reading = ti(templates, "blood-pressure", "doctor", { systolic, diastolic, position: "sitting" }, { patientId });
  const ack = await ehr.submitTi(hs, reading, transport);
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  const envelope = Uint8Array.from(Buffer.from(ack.envelope.slice(2), "hex"));
  return { reading, ack, envelope, subject: hs.pseudonym(patientId) };
}

/**
 * Runs `f` as on a page outside a secure context: `crypto.getRandomValues`
 * is there, `crypto.subtle` is not.
 */
export async function withoutSubtle(f) {
  const saved = Object.getOwnPropertyDescriptor(globalThis, "crypto");
  const original = globalThis.crypto;
  const insecure = { getRandomValues: (array) => original.getRandomValues(array) };
  Object.defineProperty(globalThis, "crypto", { value: insecure, configurable: true });
  try {
    return await f();
  } finally {
    Object.defineProperty(globalThis, "crypto", saved);
  }
}

/**
 * The node's unlocked accounts as a wallet: MetaMask takes
 * `eth_signTypedData_v4`'s typed data as JSON text, Ganache 7 only as an
 * object, so the text is parsed on the way (any other request passes as is).
 */
export function walletOf(provider) {
  return {
    request: ({ method, params }) => provider.request(method === "eth_signTypedData_v4"
      ? { method, params: [params[0], JSON.parse(params[1])] }
      : { method, params }),
  };
}
