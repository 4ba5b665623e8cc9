import type {
  Ack, AnchoredBatch, EhrchainError, Handshaker, Hex, InitialTransaction, ProofInput, Submission,
  SubmissionStatus, Templates, Transmit, TransportError, TxReceipt, Validator, ValidatorState,
} from "./ehrchain_wasm.js";

/** An EIP-1193 provider: MetaMask's `window.ethereum`, Ganache's provider, any wallet. */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown>;
}

export interface Eip1193TransportOptions {
  /** The chain the registry is on; submissions for another chain are refused (EHR_TRANSPORT_WRONG_CHAIN). */
  chainId: number;
  /** The EhrRegistry contract. */
  registry: Hex;
  /** The default sender (else the provider's first account). */
  from?: Hex;
  /** Senders of `anchorRecord` calls by role name (the account must hold the role on chain). */
  senders?: Record<string, Hex>;
  /** Gas for a transaction the estimate says reverts (default 500,000). */
  gasLimitOnRevert?: number;
  /** Percentage added to gas estimates (default 20). */
  gasMarginPercent?: number;
  /** Mine a block (`evm_mine`) before each head read: for instamining development nodes. */
  mineOnHead?: boolean;
  /** Longest a single request may take (default 30,000 ms). */
  timeoutMs?: number;
}

/** A receipt as `Eip1193Transport.receipt` returns it (with the created contract, if any). */
export interface Eip1193Receipt extends TxReceipt { contract_address: Hex | null }

export declare class Eip1193Transport {
  constructor(provider: Eip1193Provider, options: Eip1193TransportOptions);
  readonly provider: Eip1193Provider;
  readonly chainId: number;
  readonly registry: Hex;
  request(method: string, params?: unknown[]): Promise<unknown>;
  checkChain(expected?: number): Promise<void>;
  accounts(): Promise<Hex[]>;
  send(tx: { from: Hex; to?: Hex; data: Hex; value?: Hex }): Promise<Hex>;
  submit(submission: Submission): Promise<Hex>;
  receipt(txHash: Hex, submission?: Submission): Promise<Eip1193Receipt | null>;
  poll(txHash: Hex, submission: Submission): Promise<SubmissionStatus>;
  head(): Promise<number>;
  call(data: Hex): Promise<Hex>;
  recordHashOf(tiId: Hex): Promise<Hex | null>;
  anchoredBatch(root: Hex): Promise<AnchoredBatch | null>;
  verifyOnChain(proof: ProofInput): Promise<boolean>;
  waitForReceipt(txHash: Hex, options?: { timeoutMs?: number; intervalMs?: number }): Promise<Eip1193Receipt>;
}

/** What `runValidator` needs from a transport. */
export interface ValidatorTransport {
  submit(submission: Submission): Promise<Hex>;
  poll(txHash: Hex, submission: Submission): Promise<SubmissionStatus>;
  head(): Promise<number>;
  recordHashOf(tiId: Hex): Promise<Hex | null>;
  anchoredBatch(root: Hex): Promise<AnchoredBatch | null>;
}

export interface RunOptions {
  /** The clock, Unix milliseconds (default `Date.now`). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  onAction?: (transmit: Transmit, result: unknown) => void;
  onState?: (state: ValidatorState) => void;
}

/** Runs a validator to its verdict; resolves to its ACKs (one per TI). */
export declare function runValidator(validator: Validator, transport: ValidatorTransport, options?: RunOptions): Promise<Ack[]>;

export interface SubmitTiOptions extends RunOptions {
  /**
   * Called with the EHR_EXTERNAL_CIPHER error when WebCrypto failed or is missing
   * and the record is sealed in WebAssembly instead (slower for large records).
   */
  onWebCryptoFallback?: (error: EhrchainError) => void;
}

/**
 * A TI through the whole handshake: TI → TC (`generateAsync`, falling back to
 * `validatorFor`) → chain → its one ACK.
 */
export declare function submitTi(
  handshaker: Handshaker, ti: InitialTransaction | string, transport: ValidatorTransport, options?: SubmitTiOptions,
): Promise<Ack>;

/** Deploys EhrRegistry from `admin`, grants roles and registers templates; resolves to its address. */
export declare function deployRegistry(provider: Eip1193Provider, setup: {
  chainId: number; admin: Hex; grants?: Array<[role: string, account: Hex]>; templates?: Templates;
}): Promise<Hex>;

/** An EHR_TRANSPORT_… error carrying the validator's view of the failure. */
export declare function transportFailure(transportError: TransportError, message: string, cause?: unknown): EhrchainError;
/** Maps a provider error onto the validator's retryable / permanent split. */
export declare function classify(error: unknown): TransportError;
/** The revert a provider error reports, if any. */
export declare function revertOf(error: unknown): { hash?: Hex; data: Hex } | undefined;
