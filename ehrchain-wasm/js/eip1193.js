// The EIP-1193 transport and the validator loop of the ehrchain package.
//
// The core's Transaction Validator is sans-I/O: it hands out actions
// (pollTransmit) and takes their results (handle*). `runValidator` is the one
// loop that drives it, the async twin of the Rust `run_blocking`; the
// `Eip1193Transport` performs each action over any EIP-1193 provider
// (`provider.request({method, params})`): MetaMask's `window.ethereum`,
// Ganache's provider, or any wallet. Failures reach the validator as its
// `TransportError` (retryable: `unavailable`, `rate_limited`; permanent:
// `rejected`, `wrong_chain`, `malformed`) and reach callers as `Error`s with
// the core's stable `code` (`EHR_TRANSPORT_UNAVAILABLE`, …; docs/errors.md).

import {
  anchorLogIndex,
  anchorRoleOf,
  batchOfCall,
  decodeBatchOf,
  grantRoleCall,
  registryBytecode,
  decodeRecordHashOf,
  ehrchainError,
  recordHashOfCall,
  roleId,
  verifyRecordCall,
  verifyRecordOutcome,
} from "./ehrchain_wasm.js";

/** The core's error for the validator's `transportError` (`EHR_TRANSPORT_…`), with it and the provider's error as `cause`. */
export function transportFailure(transportError, message, cause) {
  const error = ehrchainError(undefined, message, transportError);
  if (cause !== undefined) error.cause = cause;
  error.transportError = transportError;
  return error;
}

function badInput(message) {
  return ehrchainError("EHR_INVALID_ARGUMENT", message, undefined);
}

const HEX = /^0x[0-9a-fA-F]*$/;

/** A JSON-RPC quantity as a number; throws EHR_TRANSPORT_MALFORMED otherwise. */
function quantity(value, what) {
  if (typeof value === "string" && HEX.test(value) && value.length > 2) {
    const n = Number.parseInt(value, 16);
    if (Number.isSafeInteger(n)) return n;
  }
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  throw transportFailure(
    { error: "malformed", detail: `${what} is not a quantity: ${JSON.stringify(value)}` },
    `the Ethereum node answered with data ehrchain cannot read: ${what} is not a quantity`,
  );
}

function hexData(value, what) {
  if (typeof value === "string" && HEX.test(value) && value.length % 2 === 0) return value.toLowerCase();
  throw transportFailure(
    { error: "malformed", detail: `${what} is not hex data` },
    `the Ethereum node answered with data ehrchain cannot read: ${what} is not hex data`,
  );
}

function toHex(n) {
  return `0x${n.toString(16)}`;
}

/** The revert data a provider error reports, if it reports a revert: `{hash?, data}`. */
export function revertOf(error) {
  // Providers nest the node's error differently: Ganache puts {hash, result}
  // on `data`; geth-style nodes a hex string; MetaMask wraps the node error
  // in `data.originalError` or `data.data`.
  const candidates = [];
  for (let e = error, depth = 0; e && depth < 4; depth += 1) {
    candidates.push(e);
    e = e.data?.originalError ?? e.error ?? e.cause;
  }
  let saysRevert = false;
  for (const e of candidates) {
    const message = String(e?.message ?? "");
    if (/revert/i.test(message)) saysRevert = true;
    const data = e?.data;
    if (typeof data === "string" && HEX.test(data)) return { hash: undefined, data: data.toLowerCase() };
    if (data && typeof data === "object") {
      const result = [data.result, data.data, data.data?.data].find(
        (d) => typeof d === "string" && HEX.test(d),
      );
      const hash = typeof data.hash === "string" && /^0x[0-9a-fA-F]{64}$/.test(data.hash) ? data.hash : undefined;
      if (result !== undefined || (saysRevert && hash)) return { hash, data: (result ?? "0x").toLowerCase() };
    }
  }
  return saysRevert ? { hash: undefined, data: "0x" } : undefined;
}

/** Maps a provider error onto the validator's retryable / permanent split. */
export function classify(error) {
  const code = error?.code;
  const message = String(error?.message ?? error);
  const detail = code === undefined ? message : `EIP-1193 error ${code}: ${message}`;
  if (code === 4001) return { error: "rejected", detail: `the user rejected the request (${message})` };
  if (code === 4100 || code === 4200) return { error: "rejected", detail };
  if (code === 4900 || code === 4901) return { error: "unavailable", detail };
  if (code === 429 || code === -32005) return { error: "rate_limited", detail };
  if (code === undefined || /fetch|network|timed? ?out|ECONN|socket|disconnected/i.test(message)) {
    return { error: "unavailable", detail };
  }
  return { error: "rejected", detail };
}

const MESSAGES = {
  unavailable: "the Ethereum provider is unreachable or timed out",
  rate_limited: "the Ethereum provider is rate-limiting requests",
  rejected: "the Ethereum provider refused the request",
  malformed: "the Ethereum provider answered with data ehrchain cannot read",
};

/**
 * The validator's transport over an EIP-1193 provider.
 *
 * - Sender of an `anchorRecord`: `senders[role]` for the call's role (the
 *   account must hold that role on chain), else `from`, else the provider's
 *   first account (`eth_accounts`, then `eth_requestAccounts`).
 * - Gas: `eth_estimateGas` plus `gasMarginPercent`; a call the estimate says
 *   reverts is sent with `gasLimitOnRevert`, so the refusal is on chain and
 *   the validator decodes it from the receipt (and a used TI id becomes a
 *   replay, not a lost record).
 * - Receipts: status, block, the anchoring event's log index, gas used; for
 *   a reverted transaction the revert data the provider gave when it was sent,
 *   or what `eth_call` at its block returns.
 */
export class Eip1193Transport {
  constructor(provider, options = {}) {
    if (!provider || typeof provider.request !== "function") {
      throw badInput("provider must be an EIP-1193 provider (an object with request({method, params}))");
    }
    const { chainId, registry, from, senders = {}, gasLimitOnRevert = 500_000, gasMarginPercent = 20,
      mineOnHead = false, timeoutMs = 30_000 } = options;
    if (!Number.isSafeInteger(chainId) || chainId <= 0) throw badInput("options.chainId must be a positive integer");
    if (typeof registry !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(registry)) {
      throw badInput("options.registry must be a 0x address");
    }
    this.provider = provider;
    this.chainId = chainId;
    this.registry = registry.toLowerCase();
    this.from = from;
    this.senders = new Map(Object.entries(senders).map(([role, account]) => [roleId(role), account]));
    this.gasLimitOnRevert = gasLimitOnRevert;
    this.gasMarginPercent = gasMarginPercent;
    this.mineOnHead = mineOnHead;
    this.timeoutMs = timeoutMs;
    this.knownReverts = new Map();
  }

  /** One request; provider errors become EHR_TRANSPORT_… errors (the raw error is `cause`). */
  async request(method, params = []) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(transportFailure({ error: "unavailable", detail: `${method} timed out after ${this.timeoutMs} ms` },
          `${MESSAGES.unavailable}: ${method} timed out after ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([this.provider.request({ method, params }), timeout]);
    } catch (e) {
      if (e?.transportError) throw e;
      const te = classify(e);
      throw transportFailure(te, `${MESSAGES[te.error]}: ${te.detail}`, e);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Throws EHR_TRANSPORT_WRONG_CHAIN unless the provider is on `chainId`. */
  async checkChain(expected = this.chainId) {
    const actual = quantity(await this.request("eth_chainId"), "eth_chainId");
    if (actual !== expected) {
      throw transportFailure({ error: "wrong_chain", detail: { expected, actual } },
        `the transaction is for chain ${expected} but the provider is on chain ${actual}; switch the wallet to chain ${expected}`);
    }
  }

  /** The provider's accounts, asking the wallet to connect when none is exposed yet. */
  async accounts() {
    let accounts = await this.request("eth_accounts");
    if (!Array.isArray(accounts) || accounts.length === 0) accounts = await this.request("eth_requestAccounts");
    if (!Array.isArray(accounts) || accounts.length === 0) {
      throw transportFailure({ error: "rejected", detail: "no account is available" },
        `${MESSAGES.rejected}: no account is available; connect a wallet account`);
    }
    return accounts;
  }

  async senderOf(submission) {
    const role = anchorRoleOf(submission.calldata);
    if (role !== undefined && this.senders.has(role)) return this.senders.get(role);
    if (this.from) return this.from;
    return (await this.accounts())[0];
  }

  /** Sends a transaction (`to` omitted: contract creation); returns its hash. */
  async send({ from, to, data, value }) {
    const tx = { from, data };
    if (to) tx.to = to;
    if (value) tx.value = value;
    let gas;
    try {
      const estimate = quantity(await this.request("eth_estimateGas", [tx]), "eth_estimateGas");
      gas = estimate + Math.floor((estimate * this.gasMarginPercent) / 100);
    } catch (e) {
      if (!revertOf(e.cause ?? e)) throw e;
      gas = this.gasLimitOnRevert;
    }
    try {
      return hexData(await this.request("eth_sendTransaction", [{ ...tx, gas: toHex(gas) }]), "transaction hash");
    } catch (e) {
      // Ganache with vmErrorsOnRPCResponse mines the reverted transaction and
      // names it in the error.
      const revert = revertOf(e.cause ?? e);
      if (revert?.hash) {
        this.knownReverts.set(revert.hash.toLowerCase(), revert.data);
        return revert.hash.toLowerCase();
      }
      throw e;
    }
  }

  /** The validator's `submit`: checks the chain, picks the sender, sends. */
  async submit(submission) {
    await this.checkChain(submission.chainId);
    const from = await this.senderOf(submission);
    return this.send({ from, to: submission.to, data: submission.calldata });
  }

  /** The receipt of `txHash` as the validator reads it, or `null` while it is not mined. */
  async receipt(txHash, submission) {
    const r = await this.request("eth_getTransactionReceipt", [txHash]);
    if (r === null || r === undefined || r.blockNumber === null || r.blockHash === null) return null;
    const blockNumber = quantity(r.blockNumber, "receipt blockNumber");
    const status = quantity(r.status, "receipt status") === 1;
    let logIndex = null;
    if (submission) {
      try {
        logIndex = anchorLogIndex(submission, r.logs ?? []) ?? null;
      } catch (e) {
        throw transportFailure({ error: "malformed", detail: `receipt logs: ${e.message}` }, `${MESSAGES.malformed}: ${e.message}`, e);
      }
    }
    return {
      txHash: txHash,
      status,
      blockNumber: blockNumber,
      blockHash: hexData(r.blockHash, "receipt blockHash"),
      anchorLogIndex: logIndex,
      gasUsed: quantity(r.gasUsed, "receipt gasUsed"),
      revertData: status ? null : await this.revertData(txHash, blockNumber),
      contractAddress: r.contractAddress ? hexData(r.contractAddress, "receipt contractAddress") : null,
    };
  }

  /** The revert data of a reverted transaction: as given when sent, or re-run with eth_call at its block. */
  async revertData(txHash, blockNumber) {
    const known = this.knownReverts.get(txHash.toLowerCase());
    if (known !== undefined) return known;
    const tx = await this.request("eth_getTransactionByHash", [txHash]);
    if (!tx) return "0x";
    const call = { from: tx.from, to: tx.to ?? undefined, data: tx.input ?? tx.data, gas: tx.gas };
    let data = "0x";
    try {
      await this.request("eth_call", [call, toHex(blockNumber)]);
    } catch (e) {
      const revert = revertOf(e.cause ?? e);
      if (revert) data = revert.data;
      else if (e.kind !== "rejected") throw e;
    }
    this.knownReverts.set(txHash.toLowerCase(), data);
    return data;
  }

  /** The validator's `poll`: pending, dropped, or included with its receipt. */
  async poll(txHash, submission) {
    const receipt = await this.receipt(txHash, submission);
    if (receipt) {
      delete receipt.contractAddress;
      return { status: "included", receipt };
    }
    const known = await this.request("eth_getTransactionByHash", [txHash]);
    return known ? { status: "pending" } : { status: "dropped" };
  }

  /** The validator's `read_head` (mining a block first with `mineOnHead`, for instamining dev nodes). */
  async head() {
    if (this.mineOnHead) await this.request("evm_mine");
    return quantity(await this.request("eth_blockNumber"), "eth_blockNumber");
  }

  /** A view call on the registry at the latest block; returns the data. */
  async call(data) {
    return hexData(await this.request("eth_call", [{ to: this.registry, data }, "latest"]), "eth_call result");
  }

  /** `recordHashOf(tiId)`: the anchored record hash, or `null`. */
  async recordHashOf(tiId) {
    const data = await this.call(recordHashOfCall(tiId));
    return this.decoded(() => decodeRecordHashOf(data));
  }

  /** `batchOf(root)`: the anchored batch, or `null`. */
  async anchoredBatch(root) {
    const data = await this.call(batchOfCall(root));
    return this.decoded(() => decodeBatchOf(root, data));
  }

  /**
   * `verifyRecord` in the EVM (OpenZeppelin MerkleProof) for a proof in any
   * form: `{verified, error, revert}`. A root the registry does not hold
   * (its `EhrRegistryRootNotAnchored` revert, decoded in `revert`) or a proof
   * that does not lead to the root resolves `verified: false` with the reason
   * in `error` (EHR_PROOF_NOT_ANCHORED, EHR_PROOF_INVALID); only a malformed
   * proof (EHR_PROOF_…) and transport failures (EHR_TRANSPORT_…) throw.
   */
  async verifyOnChainDetailed(proof) {
    const data = verifyRecordCall(proof);
    let returned;
    try {
      returned = await this.call(data);
    } catch (e) {
      const revert = e?.transportError?.error === "rejected" ? revertOf(e.cause) : undefined;
      const outcome = revert === undefined ? undefined : verifyRecordOutcome(proof, undefined, revert.data);
      if (outcome !== undefined) return outcome;
      throw e;
    }
    return this.decoded(() => verifyRecordOutcome(proof, returned, undefined));
  }

  /** Whether the registry's `verifyRecord` accepts the proof: `verifyOnChainDetailed(proof)`'s `verified`. */
  async verifyOnChain(proof) {
    return (await this.verifyOnChainDetailed(proof)).verified;
  }

  async decoded(f) {
    try {
      return await f();
    } catch (e) {
      if (e?.transportError) throw e;
      throw transportFailure({ error: "malformed", detail: e.message }, `${MESSAGES.malformed}: ${e.message}`, e);
    }
  }

  /** Waits (polling every `intervalMs`) for the receipt of `txHash`. */
  async waitForReceipt(txHash, { timeoutMs = this.timeoutMs, intervalMs = 50 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const receipt = await this.receipt(txHash);
      if (receipt) return receipt;
      if (Date.now() >= deadline) {
        throw transportFailure({ error: "unavailable", detail: `no receipt for ${txHash}` },
          `${MESSAGES.unavailable}: no receipt for ${txHash} after ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

async function perform(transport, transmit) {
  try {
    switch (transmit.kind) {
      case "submit":
        return await transport.submit(transmit.submission);
      case "poll":
        return await transport.poll(transmit.txHash, transmit.submission);
      case "read_head":
        return await transport.head();
      case "read_record":
        return await transport.recordHashOf(transmit.tiId);
      case "read_batch":
        return await transport.anchoredBatch(transmit.root);
      default:
        return { error: "malformed", detail: `unknown action ${transmit.kind}` };
    }
  } catch (e) {
    if (e?.transportError) return e.transportError;
    return { error: "unavailable", detail: String(e?.message ?? e) };
  }
}

const HANDLERS = {
  submit: "handleSubmitted",
  poll: "handleReceipt",
  read_head: "handleHead",
  read_record: "handleRecord",
  read_batch: "handleBatch",
};

/**
 * Runs a validator to its verdict over `transport` (an `Eip1193Transport`, or
 * any object with the same submit/poll/head/recordHashOf/anchoredBatch
 * methods); returns its ACKs (one per TI). `onAction(transmit, result)` and
 * `onState(state)` report progress.
 */
export async function runValidator(validator, transport, options = {}) {
  const { now = () => Date.now(), sleep = (ms) => new Promise((r) => setTimeout(r, ms)), onAction, onState, outbox } = options;
  for (;;) {
    validator.handleTimeout(now());
    for (let transmit = validator.pollTransmit(now()); transmit !== undefined; transmit = validator.pollTransmit(now())) {
      if (transmit.kind === "persist") {
        const error = await persist(validator, outbox);
        validator.handlePersisted(now(), error);
        // An outbox that cannot store is the host's to fix: nothing is sent.
        if (error !== undefined) {
          throw ehrchainError("EHR_OUTBOX_UNAVAILABLE", `the outbox could not store the entry (${error.message}); nothing was sent`, undefined);
        }
        continue;
      }
      const result = await perform(transport, transmit);
      onAction?.(transmit, result);
      validator[HANDLERS[transmit.kind]](now(), result);
      onState?.(validator.state);
    }
    if (validator.isFinished) break;
    const deadline = validator.pollTimeout();
    if (deadline === undefined) break;
    const wait = deadline - now();
    if (wait > 0) await sleep(wait);
  }
  const acks = [];
  for (let ack = validator.pollAck(); ack !== undefined; ack = validator.pollAck()) acks.push(ack);
  await outbox?.finish(validator.outboxKey, acks);
  return acks;
}

/** Stores the validator's outbox entry; the storage's error, if any. */
async function persist(validator, outbox) {
  try {
    await outbox?.save(validator.outboxKey, validator.toJSON());
    return undefined;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/**
 * A TI through the whole handshake: TI → TC → chain → its one ACK. The TC is
 * made with `generateAsync` (WebCrypto seals records from 12 KiB on); if that
 * fails, `validatorFor` takes over, whose validator ends in the invalid ACK
 * of a TI its template refuses, or seals in WebAssembly when WebCrypto was
 * what failed (then `options.onWebCryptoFallback` gets the EHR_EXTERNAL_CIPHER
 * error: large records are several times slower that way). Either way the
 * TI gets its ACK.
 */
export async function submitTi(handshaker, ti, transport, options = {}) {
  const validator = await validatorForTi(handshaker, ti, (options.now ?? Date.now)(), options.onWebCryptoFallback);
  try {
    const [ack] = await runValidator(validator, transport, options);
    return ack;
  } finally {
    validator.free();
  }
}

/** The validator of `submitTi` (see there). */
async function validatorForTi(handshaker, ti, nowMs, onWebCryptoFallback) {
  let tc;
  try {
    tc = await handshaker.generateAsync(ti, nowMs);
  } catch (error) {
    if (error?.code === "EHR_EXTERNAL_CIPHER") onWebCryptoFallback?.(error);
    return handshaker.validatorFor(ti, nowMs);
  }
  try {
    return handshaker.validatorForTransaction(tc);
  } finally {
    tc.free();
  }
}

/**
 * Sets up a registry on `chainId` from the `admin` account (which becomes its
 * administrator): deploys the committed `EhrRegistry` bytecode, grants
 * `grants` (`[[role, account], …]`) and registers every template of
 * `templates` (a `Templates`); returns the registry address.
 */
export async function deployRegistry(provider, { chainId, admin, grants = [], templates }) {
  const transport = new Eip1193Transport(provider, { chainId, registry: `0x${"00".repeat(20)}` });
  await transport.checkChain();
  const mined = async (hash, what) => {
    const receipt = await transport.waitForReceipt(hash);
    if (!receipt.status) {
      throw transportFailure({ error: "rejected", detail: `${what} reverted` }, `${MESSAGES.rejected}: ${what} reverted in ${hash}`);
    }
    return receipt;
  };
  const created = await mined(await transport.send({ from: admin, data: registryBytecode() }), "deploying EhrRegistry");
  const registry = created.contractAddress;
  for (const [role, account] of grants) {
    await mined(await transport.send({ from: admin, to: registry, data: grantRoleCall(role, account) }), `grantRole(${role})`);
  }
  for (const call of templates ? templates.registerCalls() : []) {
    await mined(await transport.send({ from: admin, to: registry, data: call.calldata }), `registerTemplate(${call.name})`);
  }
  return registry;
}
