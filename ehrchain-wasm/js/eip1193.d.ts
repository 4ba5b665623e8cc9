import type {
  Ack, AnchoredBatch, BlockRef, EhrchainError, Handshaker, Hex, InitialTransaction, OnChainVerification,
  Pipeline, PipelineEntry, PipelineFinished, ProofInput, SigningRequest, Submission, SubmissionStatus, Templates, Transmit, TxReceipt,
  Validator, ValidatorEntry, ValidatorState, WatchEvent, Watcher,
} from "./ehrchain_wasm.js";

/** An EIP-1193 provider: MetaMask's `window.ethereum`, Ganache's provider, any wallet. */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown>;
}

export interface Eip1193TransportOptions {
  /** The chain the registry is on; submissions for another chain are refused (EHR_TRANSPORT_WRONG_CHAIN). */
  chainId: number;
  /** The EhrRegistry contract: `0x` and 40 hex digits (EHR_INVALID_ARGUMENT otherwise). */
  registry: string;
  /** The default sender (else the provider's first account). */
  from?: string;
  /** Senders of `anchorRecord` calls by role name (the account must hold the role on chain). */
  senders?: Record<string, string>;
  /** Percentage added to gas estimates (default 20). */
  gasMarginPercent?: number;
  /**
   * Mine a block (`evm_mine`) before each head read (default `false`). Development nodes such as
   * Ganache and Hardhat mine a block only when a transaction arrives, so the head never reaches more
   * than one confirmation by itself; set this there (or ask the validator for 1 confirmation). Never
   * on a real chain, whose nodes refuse `evm_mine`.
   */
  mineOnHead?: boolean;
  /** Longest a single request may take (default 30,000 ms). */
  timeoutMs?: number;
}

export declare class Eip1193Transport {
  constructor(provider: Eip1193Provider, options: Eip1193TransportOptions);
  readonly provider: Eip1193Provider;
  readonly chainId: number;
  readonly registry: Hex;
  request(method: string, params?: unknown[]): Promise<unknown>;
  checkChain(expected?: number): Promise<void>;
  accounts(): Promise<string[]>;
  send(tx: { from: string; to?: string; data: string; value?: string }): Promise<Hex>;
  submit(submission: Submission): Promise<Hex>;
  poll(txHash: string, submission: Submission): Promise<SubmissionStatus>;
  head(): Promise<number>;
  call(data: string): Promise<Hex>;
  recordHashOf(tiId: string): Promise<Hex | null>;
  anchoredBatch(root: string): Promise<AnchoredBatch | null>;
  /** The node's `safe` or `finalized` block (`eth_getBlockByNumber`), or `null` while it names none: for finality by tag. */
  blockAt(tag: "safe" | "finalized"): Promise<BlockRef | null>;
  /**
   * The registry's `verifyRecord` (OpenZeppelin's MerkleProof in the EVM) on a proof: `verified`, or
   * why not in `error` (EHR_PROOF_NOT_ANCHORED for a root the registry does not hold, EHR_PROOF_INVALID
   * for a proof that does not lead to it) with the decoded revert. Throws only for a malformed proof
   * (EHR_PROOF_…) and transport failures (EHR_TRANSPORT_…).
   */
  verifyOnChainDetailed(proof: ProofInput): Promise<OnChainVerification>;
  /** `verifyOnChainDetailed(proof)`'s `verified`: `false` for a root not anchored or a proof that does not lead to it. */
  verifyOnChain(proof: ProofInput): Promise<boolean>;
  waitForReceipt(txHash: string, options?: { timeoutMs?: number; intervalMs?: number }): Promise<TxReceipt>;
}

/** What `runValidator` needs from a transport (hex it answers with is checked). */
export interface ValidatorTransport {
  submit(submission: Submission): Promise<string>;
  poll(txHash: Hex, submission: Submission): Promise<SubmissionStatus>;
  head(): Promise<number>;
  recordHashOf(tiId: Hex): Promise<string | null>;
  anchoredBatch(root: Hex): Promise<AnchoredBatch | null>;
  /** Needed with finality by tag only (`finality: "finalized"` or `"safe"`). */
  blockAt?(tag: "safe" | "finalized"): Promise<BlockRef | null>;
}

/**
 * The host's write-ahead outbox (IndexedDB, a database table): where the
 * validators of TIs without an ACK yet are kept across reloads and crashes.
 */
export interface Outbox {
  /** Stores `entry` under `key`, replacing the one before; resolves once it is durable. Nothing is sent before. */
  save(key: Hex, entry: ValidatorEntry): Promise<void> | void;
  /** Optional: stores a pipeline's round of entries in one transaction (else `save` is called for each). */
  saveAll?(entries: PipelineEntry[]): Promise<void> | void;
  /** The verdict: stores `acks` and removes the entry under `key` (undefined for a refused TI), in one transaction. */
  finish(key: Hex | undefined, acks: Ack[]): Promise<void> | void;
  /** Optional: stores a pipeline's round of verdicts (their ACKs, their entries removed) in one transaction (else `finish` is called for each). */
  finishAll?(verdicts: PipelineFinished[]): Promise<void> | void;
  /** Optional (`resumeAll` needs it): the keys of the entries stored. */
  keys?(): Iterable<string> | Promise<Iterable<string>>;
  /** Optional (`resumeAll` needs it): the entry stored under `key` (as `save` got it, or its JSON text), or `undefined`/`null` for none. */
  load?(key: string): ValidatorEntry | string | null | undefined | Promise<ValidatorEntry | string | null | undefined>;
}

/** An outbox `resumeAll` can read back: it lists its entries and loads them. */
export interface ResumableOutbox extends Outbox {
  keys(): Iterable<string> | Promise<Iterable<string>>;
  load(key: string): ValidatorEntry | string | null | undefined | Promise<ValidatorEntry | string | null | undefined>;
}

export interface RunOptions {
  /**
   * The write-ahead outbox; without one nothing is kept and a crash or a
   * reload loses the TIs in flight.
   */
  outbox?: Outbox;
  /** The clock, Unix milliseconds (default `Date.now`). */
  now?: () => number;
  /** Waits `ms` milliseconds, or less once `signal` aborts (default: a timer). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Unix milliseconds (on `now`) after which the run stops waiting (an
   * outage is waited out until then): it rejects with an `EHR_STILL_PENDING`
   * error and leaves the TI pending, its entry stored in `outbox`.
   */
  deadline?: number;
  /** Aborting it stops the run at once, like `deadline`. */
  signal?: AbortSignal;
  onAction?: (transmit: Transmit, result: unknown) => void;
  onState?: (state: ValidatorState) => void;
}

/**
 * Runs a validator to its verdict; resolves to its ACKs (one per TI). An
 * action `pollTransmit` handed out whose result was never handed in is asked
 * again first (`validator.askAgain()`). Rejects with an `EHR_STILL_PENDING`
 * error (a `StillPendingError`) when
 * `deadline` passes or `signal` aborts first: no ACK, the TI pending.
 */
export declare function runValidator(validator: Validator, transport: ValidatorTransport, options?: RunOptions): Promise<Ack[]>;

/** `deadline` and `signal` stop the watcher (and a resend, left pending) even if anchors are still watched. */
export interface WatchOptions extends RunOptions {
  onEvent?: (event: WatchEvent) => void;
}

/** What `runWatcher` saw: the watcher's events, and the ACKs of the TCs it resent. */
export interface WatchReport { events: WatchEvent[]; resent: Ack[] }

/**
 * Runs an anchor watcher until nothing is watched or `deadline` passes;
 * with `outbox`, resends (the same TC) what vanished and watches its new ACK.
 */
export declare function runWatcher(watcher: Watcher, transport: ValidatorTransport, options?: WatchOptions): Promise<WatchReport>;

/** What `runPipeline` did: the ACKs made, and why it stopped early, if it did. */
export interface PipelineReport { acks: Ack[]; stopped: "deadline" | "cancelled" | undefined }

/**
 * Runs a pipeline until every TI it holds has its ACK, or `deadline` /
 * `signal` stops it (then every submission's entry is stored in `outbox`).
 * A store that fails rejects with `EHR_OUTBOX_UNAVAILABLE`: the step's
 * verdicts not stored come back when their stored entries are resumed
 * (`pipeline.resume`), and those of TIs refused before anything was stored
 * stay in the pipeline. The ACKs of every verdict the outbox stored
 * (`finishAll`, `finish`), the failing step's included, wait in the
 * pipeline: `pipeline.takeAcks()`.
 */
export declare function runPipeline(
  pipeline: Pipeline,
  transport: ValidatorTransport,
  options?: Pick<RunOptions, "outbox" | "now" | "sleep" | "deadline" | "signal">,
): Promise<PipelineReport>;

/** What `resumeAll` did: the ACKs made (`outbox.finish` stored them), and why it stopped early, if it did. */
export interface ResumeReport { acks: Ack[]; stopped: "deadline" | "cancelled" | undefined }

/**
 * How `resumeAll` failed: `EHR_OUTBOX_ENTRY_INVALID` for a damaged entry (it stays in the outbox),
 * `EHR_OUTBOX_UNAVAILABLE` when the outbox could not list or load its entries, or a failure of the run.
 */
export interface ResumeError extends EhrchainError {
  /** The key of the entry it stopped at (`undefined` when it failed before reaching one). */
  key: string | undefined;
  /** The ACKs made before it stopped (`outbox.finish` stored them). */
  acks: Ack[];
}

/**
 * Resumes every TI whose entry `outbox` holds (at start-up) and runs each to its ACK with the same
 * sealed record (`Validator.fromJSON`, `runValidator`; `outbox.finish` stores the ACKs and removes
 * the entries), as the Rust `Handshaker::resume` and the C `ehr_handshaker_resume`. `deadline` or
 * `signal` stops it (`stopped`): the TI in progress is stored as it stands, the rest stay. Rejects
 * with a `ResumeError`: `EHR_OUTBOX_ENTRY_INVALID` for a damaged entry, after those before it.
 */
export declare function resumeAll(
  transport: ValidatorTransport, outbox: ResumableOutbox, options?: Omit<RunOptions, "outbox">,
): Promise<ResumeReport>;

export interface SubmitTiOptions extends RunOptions {
  /**
   * Called with the EHR_EXTERNAL_CIPHER error when WebCrypto failed or is missing
   * and the record is sealed in WebAssembly instead (slower for large records).
   */
  onWebCryptoFallback?: (error: EhrchainError) => void;
  /**
   * The author signs the TI's statement (`eip1193Signer` for a wallet); the TC
   * is then relayed (`anchorSignedRecord`, from the transport's account, which
   * needs `RELAYER_ROLE`) and the ACK carries `authorship`. A signature that is
   * not the author's, or a signer that makes none, gives an invalid ACK
   * (`reason.kind` `"authorship"`) before anything is sent.
   */
  signer?: Signer;
}

/** Signs statements for one author: an EIP-1193 wallet (`eip1193Signer`), a key (`localSigner`), an HSM. */
export interface Signer {
  /** The author's account: what the statement names as `author`. */
  address: string;
  /**
   * The author is a smart account (ERC-1271: a multisig, a passkey wallet):
   * only the registry can check its signatures (here only the statement is).
   */
  smartAccount?: boolean;
  /** The 65-byte signature (`r ‖ s ‖ v`) of the request (its `typedData`, or its `digest`). */
  sign(request: SigningRequest): Promise<string | Uint8Array> | string | Uint8Array;
}

/**
 * The signer of `author` through an EIP-1193 provider: `eth_signTypedData_v4`
 * with `[author, JSON.stringify(request.typedData)]` (MetaMask, a node's
 * unlocked account).
 */
export declare function eip1193Signer(provider: Eip1193Provider, author: string): Signer;

/**
 * A TI through the whole handshake: TI → TC (`generateAsync`, falling back to
 * `validatorFor`) → chain → its one ACK.
 */
export declare function submitTi(
  handshaker: Handshaker, ti: InitialTransaction | string, transport: ValidatorTransport, options?: SubmitTiOptions,
): Promise<Ack>;

/**
 * Deploys EhrRegistry from `admin`, grants roles (as `grantRole`) and registers every template of
 * `templates` (as `registerTemplates`); resolves to its address.
 */
export declare function deployRegistry(provider: Eip1193Provider, setup: {
  chainId: number; admin: string; grants?: Array<[role: string, account: string]>; templates?: Templates;
}): Promise<Hex>;

/**
 * Grants `role` (a name such as `"nurse"`; its id is `roleId(role)`) to `account` on a live
 * `registry`, from `admin` (holding `DEFAULT_ADMIN_ROLE`, as the registry's deployer does); resolves to
 * the mined receipt. Granting a role held already succeeds and changes nothing. Throws
 * EHR_ROLE_INVALID / EHR_INVALID_ARGUMENT before sending anything, EHR_TRANSPORT_WRONG_CHAIN, and
 * EHR_TRANSPORT_REVERTED when the grant reverts (an `admin` that is no administrator:
 * `AccessControlUnauthorizedAccount`).
 */
export declare function grantRole(provider: Eip1193Provider, grant: {
  chainId: number; registry: string; admin: string; role: string; account: string;
}): Promise<TxReceipt>;

/**
 * Registers templates of `templates` on a live `registry`, from `admin` (holding `ADMIN_ROLE`):
 * all of them, or those `ids` names (in its order; EHR_TEMPLATE_UNKNOWN for an id `templates`
 * lacks, before anything is sent). One mined transaction each; resolves to their receipts. A
 * template registered already reverts (`EhrRegistryTemplateExists`): EHR_TRANSPORT_REVERTED, nothing
 * sent for it, and registration stops there (those before it stay registered).
 */
export declare function registerTemplates(provider: Eip1193Provider, registration: {
  chainId: number; registry: string; admin: string; templates: Templates; ids?: string[];
}): Promise<TxReceipt[]>;
