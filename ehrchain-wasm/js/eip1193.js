// The EIP-1193 transport and the validator loop of the ehrchain package.
//
// The core's Transaction Validator is sans-I/O: it hands out actions
// (pollTransmit) and takes their results (handle*). `runValidator`,
// `runWatcher` and `runPipeline` only perform the steps of the core's runs
// (`ValidatorRun`, `WatchRun`, `PipelineRun`: the rules of the Rust
// `run_durably`, `watch_durably` and `drain_durably`, written once); the
// `Eip1193Transport` performs each action over any EIP-1193 provider
// (`provider.request({method, params})`): MetaMask's `window.ethereum`,
// Ganache's provider, or any wallet. The requests and the reading of every
// answer are the core's JSON-RPC policy (`RpcExchange`, `rpcClassifyError`:
// the same as the Rust `RpcTransport` and the C ABI's `ehr_rpc_exchange`);
// this file only moves requests and answers. Failures reach the validator as
// its `TransportError` (retryable: `unavailable`, `rate_limited`; permanent:
// `rejected`, `wrong_chain`, `reverted`, `malformed`) and reach callers as
// `Error`s with the core's stable `code` (`EHR_TRANSPORT_UNAVAILABLE`, …;
// docs/errors.md).

import {
  RpcExchange,
  Validator,
  PipelineRun,
  ValidatorRun,
  WatchRun,
  anchorRoleOf,
  grantRoleCall,
  registryBytecode,
  ehrchainError,
  roleId,
  transportErrorOf,
  rpcCheckChainId,
  rpcClassifyError,
  rpcView,
  verifyRecordCall,
  verifyRecordOutcome,
} from "./ehrchain_wasm.js";

/** The core's error for the validator's `transportError` (`EHR_TRANSPORT_…`; an empty `message` keeps the core's), with it and the provider's error as `cause`. */
export function transportFailure(transportError, message, cause) {
  const error = transportErrorOf(transportError, message);
  if (cause !== undefined) error.cause = cause;
  error.transportError = transportError;
  return error;
}

function badInput(message) {
  return ehrchainError("EHR_INVALID_ARGUMENT", message);
}

/**
 * A provider's thrown error as the plain object the core classifies: its
 * `code`, `message` and `data`, and the errors nested in `error`, `cause` and
 * MetaMask's `data.originalError` (an `Error`'s own fields are not
 * enumerable, so JSON alone would lose them).
 */
function plainError(e, depth = 0) {
  if (e === null || typeof e !== "object") return { message: String(e) };
  const out = { message: String(e.message ?? "") };
  if (typeof e.code === "number") out.code = e.code;
  if (depth < 3) {
    if (e.data !== undefined) {
      out.data = e.data?.originalError ? { ...e.data, originalError: plainError(e.data.originalError, depth + 1) } : e.data;
    }
    if (e.error) out.error = plainError(e.error, depth + 1);
    if (e.cause) out.cause = plainError(e.cause, depth + 1);
  }
  return out;
}

/** The core's `TransportError` for what a provider threw, on a transport for `chainId`. */
export function classify(error, chainId) {
  return rpcClassifyError(plainError(error), chainId);
}

/**
 * The validator's transport over an EIP-1193 provider.
 *
 * - Sender of an `anchorRecord`: `senders[role]` for the call's role (the
 *   account must hold that role on chain), else `from`, else the provider's
 *   first account (`eth_accounts`, then `eth_requestAccounts`).
 * - Gas: `eth_estimateGas` at the latest mined block plus
 *   `gasMarginPercent`; a call whose estimate reverts is never sent: the
 *   validator ends the TI with the decoded refusal at once.
 * - Reads: pinned to the latest mined block, never `pending`.
 * - Receipts: status, block, the anchoring event's log index, gas used; for
 *   a reverted transaction the revert data of re-running it at its block.
 */
export class Eip1193Transport {
  constructor(provider, options = {}) {
    if (!provider || typeof provider.request !== "function") {
      throw badInput("provider must be an EIP-1193 provider (an object with request({method, params}))");
    }
    const { chainId, registry, from, senders = {}, gasMarginPercent = 20, mineOnHead = false, timeoutMs = 30_000 } = options;
    if (!Number.isSafeInteger(chainId) || chainId <= 0) throw badInput("options.chainId must be a positive integer");
    if (typeof registry !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(registry)) {
      throw badInput("options.registry must be a 0x address");
    }
    this.provider = provider;
    this.chainId = chainId;
    this.registry = registry.toLowerCase();
    this.from = from;
    this.senders = new Map(Object.entries(senders).map(([role, account]) => [roleId(role), account]));
    this.gasMarginPercent = gasMarginPercent;
    this.mineOnHead = mineOnHead;
    this.timeoutMs = timeoutMs;
  }

  /** The settings of this transport's exchanges, sending from `from`. */
  exchangeOptions(from) {
    return { chainId: this.chainId, registry: this.registry, from, mineOnHead: this.mineOnHead, gasMarginPercent: this.gasMarginPercent };
  }

  /** `provider.request` with the timeout: resolves `{result}` or `{thrown}`, or `{failure}` when no answer came. */
  async answer(method, params) {
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve({ failure: { error: "unavailable", detail: `${method} timed out after ${this.timeoutMs} ms` } }), this.timeoutMs);
    });
    try {
      return await Promise.race([
        this.provider.request({ method, params }).then((result) => ({ result }), (thrown) => ({ thrown })),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Posts an exchange's requests and hands back the answers until it is done. */
  async drive(exchange) {
    for (let r = exchange.request(); r !== undefined; r = exchange.request()) {
      const a = await this.answer(r.method, r.params);
      if ("failure" in a) exchange.handleFailure(a.failure);
      else if ("thrown" in a) exchange.handleError(plainError(a.thrown));
      else exchange.handleResult(a.result);
    }
  }

  /** Carries out an exchange; its value, or throws its EHR_TRANSPORT_… error. */
  async carryOut(exchange) {
    try {
      await this.drive(exchange);
      const outcome = exchange.result();
      if ("ok" in outcome) return outcome.ok;
      throw transportFailure(outcome, "");
    } finally {
      exchange.free();
    }
  }

  /** One request outside an exchange (accounts, the chain id); provider errors become EHR_TRANSPORT_… errors. */
  async request(method, params = []) {
    const a = await this.answer(method, params);
    if ("result" in a) return a.result;
    const te = a.failure ?? classify(a.thrown, this.chainId);
    throw transportFailure(te, "", a.thrown);
  }

  /** Throws EHR_TRANSPORT_WRONG_CHAIN unless the provider is on `chainId`. */
  async checkChain(expected = this.chainId) {
    const te = rpcCheckChainId(await this.request("eth_chainId"), expected);
    if (te === undefined) return;
    const actual = te.detail?.actual;
    throw transportFailure(te, te.error === "wrong_chain"
      ? `the transaction is for chain ${expected} but the provider is on chain ${actual}; switch the wallet to chain ${expected}`
      : "");
  }

  /** The provider's accounts, asking the wallet to connect when none is exposed yet. */
  async accounts() {
    let accounts = await this.request("eth_accounts");
    if (!Array.isArray(accounts) || accounts.length === 0) accounts = await this.request("eth_requestAccounts");
    if (!Array.isArray(accounts) || accounts.length === 0) {
      throw transportFailure({ error: "rejected", detail: "no account is available" },
        "the Ethereum provider refused the request: no account is available; connect a wallet account");
    }
    return accounts;
  }

  async senderOf(submission) {
    const role = anchorRoleOf(submission.calldata);
    if (role !== undefined && this.senders.has(role)) return this.senders.get(role);
    if (this.from) return this.from;
    return (await this.accounts())[0];
  }

  /** Sends a transaction (`to` omitted: contract creation); returns its hash. A transaction whose estimate reverts is not sent (EHR_TRANSPORT_REVERTED). */
  async send(tx) {
    return this.carryOut(RpcExchange.send(tx, this.exchangeOptions()));
  }

  /** The validator's `submit`: checks the chain, picks the sender, sends. */
  async submit(submission) {
    await this.checkChain(submission.chainId);
    const from = await this.senderOf(submission);
    return this.carryOut(new RpcExchange({ kind: "submit", submission }, this.exchangeOptions(from)));
  }

  /** The validator's `poll`: pending, dropped, or included with its receipt. */
  async poll(txHash, submission) {
    return this.carryOut(new RpcExchange({ kind: "poll", txHash: txHash, submission }, this.exchangeOptions()));
  }

  /** The validator's `read_head` (mining a block first with `mineOnHead`, for instamining dev nodes). */
  async head() {
    return this.carryOut(new RpcExchange({ kind: "read_head" }, this.exchangeOptions()));
  }

  /** The validator's `read_block` (finality by tag): the node's `safe` or `finalized` block `{number, hash}`, or `null` while it names none. */
  async blockAt(tag) {
    return this.carryOut(new RpcExchange({ kind: "read_block", tag }, this.exchangeOptions()));
  }

  /** `recordHashOf(tiId)` at the latest mined block: the anchored record hash, or `null`. */
  async recordHashOf(tiId) {
    return this.carryOut(new RpcExchange({ kind: "read_record", tiId: tiId }, this.exchangeOptions()));
  }

  /** `batchOf(root)` at the latest mined block: the anchored batch, or `null`. */
  async anchoredBatch(root) {
    return this.carryOut(new RpcExchange({ kind: "read_batch", root }, this.exchangeOptions()));
  }

  /** A view call on the registry at the latest mined block; returns the data. */
  async call(data) {
    const { method, params } = rpcView(this.registry, data);
    return this.request(method, params);
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
      const te = e?.transportError;
      const outcome = te?.error === "reverted" ? verifyRecordOutcome(proof, undefined, te.detail.data) : undefined;
      if (outcome !== undefined) return outcome;
      throw e;
    }
    try {
      return verifyRecordOutcome(proof, returned, undefined);
    } catch (e) {
      if (e?.transportError) throw e;
      throw transportFailure({ error: "malformed", detail: e.message }, "", e);
    }
  }

  /** Whether the registry's `verifyRecord` accepts the proof: `verifyOnChainDetailed(proof)`'s `verified`. */
  async verifyOnChain(proof) {
    return (await this.verifyOnChainDetailed(proof)).verified;
  }

  /** Waits (polling every `intervalMs`) for the receipt of `txHash` (a `TxReceipt`, without an anchoring event). */
  async waitForReceipt(txHash, { timeoutMs = this.timeoutMs, intervalMs = 50 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.carryOut(RpcExchange.receipt(txHash, this.exchangeOptions()));
      if (status.status === "included") return status.receipt;
      if (Date.now() >= deadline) {
        throw transportFailure({ error: "unavailable", detail: `no receipt for ${txHash} after ${timeoutMs} ms` }, "");
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
      case "read_block":
        return await transport.blockAt(transmit.tag);
      default:
        return { error: "malformed", detail: `unknown action ${transmit.kind}` };
    }
  } catch (e) {
    if (e?.transportError) return e.transportError;
    return { error: "unavailable", detail: String(e?.message ?? e) };
  }
}

/** The watcher's handler of each read. */
const HANDLERS = {
  poll: "handleReceipt",
  read_head: "handleHead",
  read_record: "handleRecord",
  read_batch: "handleBatch",
  read_block: "handleBlock",
};

/**
 * Runs a validator to its verdict over `transport` (an `Eip1193Transport`, or
 * any object with the same submit/poll/head/recordHashOf/anchoredBatch
 * methods); returns its ACKs (one per TI). `onAction(transmit, result)` and
 * `onState(state)` report progress. Every step is the core's (the rules of
 * the Rust `run_durably` and the C `ehr_validator_run_durably`); this only
 * performs them. An action `pollTransmit` handed out whose result was never
 * handed in is asked again first (as `validator.askAgain()`); the entry is
 * stored (`outbox.save`) before anything is sent; the ACKs leave the
 * validator only once `outbox.finish` stored them (a failing store rejects
 * with EHR_OUTBOX_UNAVAILABLE, the storage's error as `cause`, and the next
 * run stores them again).
 *
 * An outage (the provider unreachable, timing out, rate-limiting) is waited
 * out, never turned into an invalid ACK. `deadline` (Unix milliseconds on
 * `now`) and `signal` (an `AbortSignal`) bound the wait: when either is
 * reached the run rejects with an `EHR_STILL_PENDING` error (its `state` says
 * where the validator stood, an outage say) and stores the validator's entry
 * in `outbox` as it stands, so the TI is resumed later (same TC); no ACK is
 * made. An abort also stops waiting for a request in flight (its outcome is
 * settled on resume); the deadline is checked between requests, so a
 * provider that never answers costs the deadline plus its own time-out
 * (`signal: AbortSignal.timeout(ms)` bounds it exactly).
 */
export async function runValidator(validator, transport, options = {}) {
  const { now = () => Date.now(), sleep = abortableSleep, onAction, onState, outbox, deadline, signal } = options;
  // The core's durable run (ehrchain_core::ValidatorRun) decides every step;
  // this loop only performs them.
  const run = new ValidatorRun(deadline, outbox !== undefined);
  try {
    for (;;) {
      const step = run.poll(validator, now(), signal?.aborted === true);
      switch (step.kind) {
        case "perform": {
          const result = await untilAborted(perform(transport, step.transmit), signal);
          // Aborted: the next poll stores the entry as it stands and stops.
          if (result === ABORTED) break;
          onAction?.(step.transmit, result);
          run.handlePerformed(validator, step.transmit.kind, now(), result);
          onState?.(validator.state);
          break;
        }
        case "save":
          await store(run, validator, now, () => outbox.save(step.key, step.entry));
          break;
        case "finish":
          await store(run, validator, now, () => outbox?.finish(step.key, step.acks));
          break;
        case "wait":
          await sleepUntil(step.until, now, sleep, signal);
          break;
        case "acked":
          return step.acks;
        case "pending":
          throw step.error;
        default:
          throw unexpected(step);
      }
    }
  } finally {
    run.free();
  }
}

/** Performs a run's `save` or `finish` step with `write` and hands the outcome in. */
async function store(run, validator, now, write) {
  handOutcome((failure) => run.handleStored(validator, now(), failure), await outboxWrite(write));
}

/** Runs an outbox write; the storage's error, or `undefined` once stored. */
async function outboxWrite(write) {
  try {
    await write();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** Hands a write's outcome to a run (`handle`); its EHR_OUTBOX_UNAVAILABLE error gets the storage's as `cause`. */
function handOutcome(handle, failure) {
  try {
    handle(failure);
  } catch (error) {
    error.cause = failure;
    throw error;
  }
}

/**
 * Runs an anchor `watcher` (a `Watcher`) over `transport` until nothing is
 * watched, `deadline` (Unix milliseconds) passes or `signal` aborts; resolves to
 * `{events, resent}`: its events (`final`, `vanished`), oldest first, and
 * the ACKs of the TCs it resent. With `outbox`, the TI of a vanished anchor
 * is moved back to pending (the event's entry stored under its key) and the
 * same TC is run again (`runValidator`: the same record hash, a new
 * transaction); its valid ACK is watched in turn. Without one, resending is
 * the host's (`Validator.fromJSON(event.entry)`). Failed reads are retried,
 * never taken as a verdict. `onEvent(event)` is called once for each event,
 * once it was acted on. When the outbox fails, the run rejects and the
 * vanished anchor's event stays in the watcher (`pollEvent`), so the next run
 * resends it. Run one `runWatcher` at a time on a watcher.
 */
export async function runWatcher(watcher, transport, options = {}) {
  const { now = () => Date.now(), sleep = abortableSleep, deadline, signal, onEvent, outbox } = options;
  const events = [];
  const resent = [];
  const handOut = (event) => {
    events.push(event);
    onEvent?.(event);
  };
  // The core's watch run (ehrchain_core::WatchRun) decides every step; this
  // loop only performs them.
  const run = new WatchRun(deadline, outbox !== undefined);
  try {
    for (;;) {
      // Without an outbox the run acts on nothing: the events are the host's as they come.
      if (outbox === undefined) for (let e = watcher.pollEvent(); e !== undefined; e = watcher.pollEvent()) handOut(e);
      const step = run.poll(watcher, now(), signal?.aborted === true);
      switch (step.kind) {
        case "perform":
          watcher[HANDLERS[step.transmit.kind]](now(), await perform(transport, step.transmit));
          break;
        case "save":
          handOutcome((failure) => run.handleStored(failure), await outboxWrite(() => outbox.save(step.key, step.entry)));
          break;
        case "resend":
          await resend(run, watcher, transport, step.entry, options);
          break;
        case "event":
          resent.push(...step.resent);
          handOut(step.event);
          break;
        case "wait":
          await sleepUntil(step.until, now, sleep, signal);
          break;
        case "done":
          return { events, resent };
        default:
          throw unexpected(step);
      }
    }
  } finally {
    run.free();
  }
}

/**
 * Runs a `pipeline` (a `Pipeline`) over `transport` until every TI it holds
 * has its ACK, `deadline` (Unix milliseconds) passes or `signal` aborts;
 * resolves to `{acks, stopped}`: the ACKs, in the order their verdicts came
 * (`outbox.finishAll` stored each round's verdicts, or `outbox.finish` each
 * submission's when the outbox has no `finishAll`; `pipeline.takeAcks()`, so
 * also those stored before by a run that failed), and `stopped` ("deadline" or
 * "cancelled") when it stopped first, after storing every submission's
 * entry as it stands (`pipeline.resume` takes them back after a restart).
 * Each round of entries is one `outbox.saveAll(entries)` when the outbox has
 * it (one transaction), else a `save` per entry; nothing of a round is sent
 * before it is stored. Many transactions are in flight at once; the actions
 * themselves are performed one after another. When the outbox fails, it
 * rejects with `EHR_OUTBOX_UNAVAILABLE` and nothing more is sent; the ACKs
 * of the rounds stored before wait in the pipeline (`pipeline.takeAcks()`).
 */
export async function runPipeline(pipeline, transport, options = {}) {
  const { now = () => Date.now(), sleep = abortableSleep, outbox, deadline, signal } = options;
  // The core's drain (ehrchain_core::pipeline::PipelineRun) decides every
  // step; this loop only performs them.
  const run = new PipelineRun(deadline, outbox !== undefined);
  try {
    for (;;) {
      const step = run.poll(pipeline, now(), signal?.aborted === true);
      switch (step.kind) {
        case "perform": {
          const t = step.transmit;
          if (t.kind === "read_head") pipeline.handleHead(now(), await perform(transport, t));
          else pipeline.handleFlight(t.flight, t.transmit.kind, now(), await perform(transport, t.transmit));
          break;
        }
        case "store": {
          const written = { verdicts: 0 };
          const failure = await outboxWrite(async () => {
            await saveRound(outbox, step.entries);
            await finishRound(outbox, step.verdicts, written);
          });
          handOutcome((f) => run.handleStored(pipeline, now(), f, written.verdicts), failure);
          break;
        }
        case "wait":
          await sleepUntil(step.until, now, sleep, signal);
          break;
        case "drained":
          return { acks: pipeline.takeAcks(), stopped: step.stopped };
        default:
          throw unexpected(step);
      }
    }
  } finally {
    run.free();
  }
}

/**
 * Resumes every TI whose entry `outbox` holds (at start-up, after a crash or
 * a reload) and runs each to its ACK with the same sealed record: the async
 * twin of the Rust `Handshaker::resume` and the C `ehr_handshaker_resume`.
 * The entries are those of `outbox.keys()`, in its order, each read with
 * `outbox.load(key)` (one gone meanwhile is skipped), resumed with
 * `Validator.fromJSON` and run by `runValidator` over `transport` with
 * `options` (`deadline`, `signal`, `now`, `sleep`, `onAction`, `onState`):
 * a submission that may have been sent is settled from the registry before
 * anything is sent again (a record anchored before the crash comes back as a
 * valid `recovered` ACK, never a second anchor), and `outbox.finish(key,
 * acks)` stores each verdict and removes its entry. Resolves to `{acks,
 * stopped}` as `runPipeline` does: the ACKs made, in the outbox's order, and
 * `stopped` ("deadline" or "cancelled") when `deadline` or `signal` ended it
 * first: the TI in progress is stored as it stands (`outbox.save`) and the
 * entries not reached stay as they are, to be resumed later. A damaged entry
 * rejects with `EHR_OUTBOX_ENTRY_INVALID` after the entries before it were
 * resumed; it stays in the outbox for the host to restore or move aside, and
 * the entries after it are not reached. A `keys` or `load` that fails (or
 * is missing) rejects with `EHR_OUTBOX_UNAVAILABLE`, nothing more sent. Such
 * an error carries `key` (the entry it stopped at, if any) and `acks` (the
 * ACKs made before, stored already).
 */
export async function resumeAll(transport, outbox, options = {}) {
  const { now = () => Date.now(), deadline, signal } = options;
  const acks = [];
  const reached = () => (signal?.aborted ? "cancelled" : deadline !== undefined && now() >= deadline ? "deadline" : undefined);
  for (const name of ["keys", "load", "save", "finish"]) {
    if (typeof outbox?.[name] !== "function") {
      throw resumeFailure(ehrchainError("EHR_OUTBOX_UNAVAILABLE", `resumeAll needs an outbox with ${name}(); nothing was sent`), undefined, acks);
    }
  }
  const keys = await readOutbox(async () => [...(await outbox.keys())], "list its entries", undefined, acks);
  for (const key of keys) {
    const stopped = reached();
    if (stopped !== undefined) return { acks, stopped };
    const entry = await readOutbox(() => outbox.load(key), `read the entry under ${key}`, key, acks);
    if (entry === undefined || entry === null) continue;
    let validator;
    try {
      validator = Validator.fromJSON(entry);
    } catch (error) {
      throw resumeFailure(error, key, acks);
    }
    try {
      acks.push(...(await runValidator(validator, transport, { ...options, outbox })));
    } catch (error) {
      // Stopped by the deadline or the signal: stored as it stands.
      if (error?.code === "EHR_STILL_PENDING") return { acks, stopped: signal?.aborted ? "cancelled" : "deadline" };
      throw resumeFailure(error, key, acks);
    } finally {
      validator.free();
    }
  }
  return { acks, stopped: undefined };
}

/** `read()`'s value, or the `EHR_OUTBOX_UNAVAILABLE` error of `resumeAll` when the outbox failed to `what`. */
async function readOutbox(read, what, key, acks) {
  try {
    return await read();
  } catch (e) {
    const error = ehrchainError("EHR_OUTBOX_UNAVAILABLE", `the outbox could not ${what} (${e?.message ?? e}); nothing more was sent`);
    error.cause = e;
    throw resumeFailure(error, key, acks);
  }
}

/** `error` (an EhrchainError) with where `resumeAll` stopped: the entry's `key` and the ACKs made before. */
function resumeFailure(error, key, acks) {
  if (error?.name === "EhrchainError") Object.assign(error, { key, acks: [...acks] });
  return error;
}

/** Stores a round of outbox entries: one `saveAll`, or a `save` each. */
async function saveRound(outbox, entries) {
  if (outbox === undefined || entries.length === 0) return;
  if (outbox.saveAll !== undefined) return outbox.saveAll(entries);
  for (const { key, entry } of entries) await outbox.save(key, entry);
}

/**
 * Stores a round's verdicts: one `finishAll` (all or none), or a `finish`
 * each, counted in `written.verdicts` as it goes (so that a failure part-way
 * says how many were stored).
 */
async function finishRound(outbox, verdicts, written) {
  if (outbox === undefined || verdicts.length === 0) return;
  if (outbox.finishAll !== undefined) return outbox.finishAll(verdicts);
  for (const { outboxKey, acks } of verdicts) {
    await outbox.finish(outboxKey, acks);
    written.verdicts += 1;
  }
}

/**
 * A watch run's `resend` step: the TC of the stored `entry` run to its ACKs
 * (`runValidator`; stopped by the deadline or the signal, it stays pending
 * in the outbox) and handed back to the run.
 */
async function resend(run, watcher, transport, entry, options) {
  const validator = Validator.fromJSON(entry);
  try {
    let acks;
    try {
      acks = await runValidator(validator, transport, options);
    } catch (error) {
      if (error?.code !== "EHR_STILL_PENDING") throw error;
    }
    run.handleResent(watcher, validator, acks);
  } finally {
    validator.free();
  }
}

/**
 * The error for a step these loops never get (`awaiting`: they hand every
 * result in before polling again).
 */
function unexpected(step) {
  return ehrchainError("EHR_INTERNAL", `the run asked for an unexpected step: ${step.kind}`);
}

/** A run's `wait` step: sleeps (`sleep`) until `until` on `now`'s clock, or until `signal` aborts. */
async function sleepUntil(until, now, sleep, signal) {
  const wait = until - now();
  if (wait > 0) await sleep(wait, signal);
}

/** Waits `ms` milliseconds, or until `signal` aborts. */
function abortableSleep(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

const ABORTED = Symbol("aborted");

/** `promise`'s value, or `ABORTED` as soon as `signal` aborts. */
function untilAborted(promise, signal) {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise((resolve, reject) => {
    const abort = () => resolve(ABORTED);
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

/**
 * A TI through the whole handshake: TI → TC → chain → its one ACK. The TC is
 * made with `generateAsync` (WebCrypto seals records from 12 KiB on); if that
 * fails, `validatorFor` takes over, whose validator ends in the invalid ACK
 * of a TI its template refuses, or seals in WebAssembly when WebCrypto was
 * what failed (then `options.onWebCryptoFallback` gets the EHR_EXTERNAL_CIPHER
 * error: large records are several times slower that way). Either way the
 * TI gets its ACK; a key store that cannot answer is no verdict on the TI:
 * it rejects with EHR_KEY_STORE_UNAVAILABLE (retryable), nothing sent.
 */
export async function submitTi(handshaker, ti, transport, options = {}) {
  const validator = await validatorForTi(handshaker, ti, (options.now ?? Date.now)(), options);
  try {
    const [ack] = await runValidator(validator, transport, options);
    return ack;
  } finally {
    validator.free();
  }
}

/** The validator of `submitTi` (see there). */
async function validatorForTi(handshaker, ti, nowMs, { onWebCryptoFallback, signer }) {
  let tc;
  try {
    tc = await handshaker.generateAsync(ti, nowMs);
  } catch (error) {
    if (error?.code !== "EHR_EXTERNAL_CIPHER") return handshaker.validatorFor(ti, nowMs);
    onWebCryptoFallback?.(error);
    if (signer === undefined) return handshaker.validatorFor(ti, nowMs);
    tc = handshaker.generate(ti, nowMs);
  }
  try {
    return signer === undefined ? handshaker.validatorForTransaction(tc) : await signedValidator(handshaker, tc, signer);
  } finally {
    tc.free();
  }
}

/**
 * The validator of `tc` signed by `signer`'s author: whatever the signer
 * answers (a signature, or an error such as a wallet the author closed) goes
 * to the core, which checks it before anything is sent.
 */
async function signedValidator(handshaker, tc, signer) {
  const request = tc.signingRequest(signer.address, signer.smartAccount === true);
  try {
    let outcome;
    try {
      outcome = { signature: toHex(await signer.sign(request)) };
    } catch (e) {
      outcome = { error: e instanceof Error ? e.message : String(e) };
    }
    return handshaker.validatorForSigned(request, outcome);
  } finally {
    request.free();
  }
}

/** A signature as `0x` hex (a wallet answers hex; a key may give bytes). */
function toHex(signature) {
  if (typeof signature === "string") return signature;
  return `0x${Array.from(signature, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * The signer of `author` (an account the provider signs for: MetaMask's
 * selected account, a node's unlocked one): asks the provider for
 * `eth_signTypedData_v4` with `[author, JSON.stringify(typedData)]`, as
 * MetaMask takes it, and shows the author the statement member by member.
 */
export function eip1193Signer(provider, author) {
  return {
    address: author,
    sign: (request) => provider.request({
      method: "eth_signTypedData_v4",
      params: [author, JSON.stringify(request.typedData)],
    }),
  };
}

/**
 * Sets up a registry on `chainId` from the `admin` account (which becomes its
 * administrator): deploys the committed `EhrRegistry` bytecode, grants
 * `grants` (`[[role, account], …]`, as `grantRole`) and registers every
 * template of `templates` (a `Templates`, as `registerTemplates`); returns the
 * registry address. Role names and templates are checked before anything is
 * sent; a transaction that reverts throws EHR_TRANSPORT_REVERTED.
 */
export async function deployRegistry(provider, { chainId, admin, grants = [], templates }) {
  const grantCalls = grantCallsOf(grants);
  const registrations = templates === undefined ? [] : registrationsOf(templates);
  const transport = await adminTransport(provider, chainId, `0x${"00".repeat(20)}`);
  const registry = await deploy(transport, admin, registryBytecode(), "EhrRegistry");
  await sendGrants(transport, admin, registry, grantCalls);
  await sendRegistrations(transport, admin, registry, registrations);
  return registry;
}

/**
 * Grants `role` (a role name such as `"nurse"`, whose id is `roleId(role)`)
 * to `account` on the live `registry` with a transaction from `admin` (an
 * account holding `DEFAULT_ADMIN_ROLE`, the admin of every role, as the
 * registry's deployer does), and waits for it to be mined; resolves to its receipt. As the Rust `grant_role` and the C
 * `ehr_transport_rpc_grant_role`. Granting a role the account holds already
 * changes nothing and succeeds. Throws EHR_ROLE_INVALID for a malformed role
 * name and EHR_INVALID_ARGUMENT for a malformed address (before anything is
 * sent), EHR_TRANSPORT_WRONG_CHAIN when the provider is on another chain, and
 * EHR_TRANSPORT_REVERTED when the grant reverts (an `admin` that is no
 * administrator: `AccessControlUnauthorizedAccount`, found by the gas
 * estimate, so nothing is sent).
 */
export async function grantRole(provider, { chainId, registry, admin, role, account }) {
  const calls = grantCallsOf([[role, account]]);
  const transport = await adminTransport(provider, chainId, registry);
  const [receipt] = await sendGrants(transport, admin, registry, calls);
  return receipt;
}

/**
 * Registers templates of `templates` (a `Templates`) on the live `registry`
 * with transactions from `admin` (an account holding the registry's
 * `ADMIN_ROLE`): every template (in `registerCalls()` order), or only those
 * whose ids `ids` lists, in its order. One transaction per template, each
 * mined before the next; resolves to their receipts. As the Rust
 * `register_template` and the C `ehr_transport_rpc_register_template`, one
 * template each.
 *
 * A template the registry holds already is refused by the contract
 * (`EhrRegistryTemplateExists`: a registration is never changed; a new
 * version is a new id): EHR_TRANSPORT_REVERTED, as in Rust and C. Its gas
 * estimate reverts, so nothing is sent for it, and registration stops there:
 * the templates before it stay registered. To add templates to a registry
 * that has some, pass the new ones' `ids`.
 *
 * Throws EHR_TEMPLATE_UNKNOWN for an id `templates` does not hold and
 * EHR_INVALID_ARGUMENT for a malformed one (before anything is sent),
 * EHR_TRANSPORT_WRONG_CHAIN, and EHR_TRANSPORT_REVERTED when a registration
 * reverts (a template registered already; an `admin` without `ADMIN_ROLE`).
 */
export async function registerTemplates(provider, { chainId, registry, admin, templates, ids }) {
  const registrations = registrationsOf(templates, ids);
  const transport = await adminTransport(provider, chainId, registry);
  return sendRegistrations(transport, admin, registry, registrations);
}

/**
 * The `grantRole(roleId(role), account)` calls of `grants` (`[[role,
 * account], …]`), every role name and account checked before anything is
 * sent (EHR_ROLE_INVALID, EHR_INVALID_ARGUMENT).
 */
export function grantCallsOf(grants) {
  return grants.map(([role, account]) => ({ role, calldata: grantRoleCall(role, account) }));
}

/** Sends the `grantCallsOf` calls to `registry` from `admin`, each mined before the next; their receipts. */
export async function sendGrants(transport, admin, registry, calls) {
  const receipts = [];
  for (const { role, calldata } of calls) {
    receipts.push(await sendMined(transport, { from: admin, to: registry, data: calldata }, `grantRole(${role})`));
  }
  return receipts;
}

/**
 * The `registerCalls()` of `templates`: all, or those of `ids` in its order
 * (EHR_TEMPLATE_UNKNOWN for an id it does not hold).
 */
function registrationsOf(templates, ids) {
  if (typeof templates?.registerCalls !== "function") throw badInput("templates must be a Templates");
  return templates.registerCalls(ids);
}

async function sendRegistrations(transport, admin, registry, registrations) {
  const receipts = [];
  for (const call of registrations) {
    receipts.push(await sendMined(transport, { from: admin, to: registry, data: call.calldata }, `registerTemplate(${call.name})`));
  }
  return receipts;
}

/** A transport over `provider` for setting contracts up, after checking it is on `chainId`. */
export async function adminTransport(provider, chainId, registry) {
  const transport = new Eip1193Transport(provider, { chainId, registry });
  await transport.checkChain();
  return transport;
}

/**
 * Sends `tx` over `transport` and waits for it to be mined; its receipt. A
 * transaction that reverts (at its estimate or mined) throws
 * EHR_TRANSPORT_REVERTED with the revert data in `transportError.detail.data`.
 */
export async function sendMined(transport, tx, what) {
  const hash = await transport.send(tx);
  const receipt = await transport.waitForReceipt(hash);
  if (!receipt.status) {
    throw transportFailure({ error: "reverted", detail: { data: receipt.revertData ?? "0x", txHash: hash, message: `${what} reverted` } }, "");
  }
  return receipt;
}

/** Deploys the creation `code` from `admin`; the new contract's address. */
export async function deploy(transport, admin, code, name) {
  const { txHash } = await sendMined(transport, { from: admin, data: code }, `deploying ${name}`);
  const address = (await transport.request("eth_getTransactionReceipt", [txHash]))?.contractAddress;
  if (typeof address !== "string") {
    throw transportFailure({ error: "malformed", detail: `${txHash} created no contract` }, "");
  }
  return address;
}
