#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod authorship;
mod batch;
mod capsule;
mod convert;
mod error;
mod fhir;
mod handshaker;
mod keystore;
mod patient_records;
mod pipeline;
mod reads;
mod registry;
mod rpc;
mod run;
mod sharing;
mod signed_batch;
mod signed_proof;
mod templates;
mod ti;
mod validator;
mod watcher;
mod webcrypto;

pub use authorship::{LocalSigner, SigningRequest, local_signer};
pub use batch::{
    Batch, BatchBuilder, InclusionProof, verify_proof, verify_proof_anchored, verify_proofs,
};
pub use capsule::{
    KeyCapsule, generate_recipient_key, recipient_key_id, recipient_public_key, seal_capsule,
};
pub use error::{ehrchain_error, transport_error_of};
pub use fhir::{
    fhir_audit_event, fhir_from_ack, fhir_map_bundle, fhir_map_resource, fhir_provenance,
};
pub use handshaker::{ChainTransaction, Handshaker, envelope_info, open_envelope, seal_envelope};
pub use patient_records::{patient_bindings_request, patient_records_of, patient_records_request};
pub use pipeline::Pipeline;
pub use registry::{
    anchor_log_index, anchor_role_of, batch_of_call, decode_batch_of, decode_record_hash_of,
    decode_revert, grant_role_call, record_hash_of_call, registry_bytecode, role_id,
    verify_record_call, verify_record_outcome,
};
pub use rpc::{RpcExchange, rpc_check_chain_id, rpc_classify_error, rpc_view};
pub use sharing::{
    ReceiveCheck, ShareCheck, accounting_of, accounting_requests, bind_patient_call,
    consent_bytecode, consent_grant_id, consent_refusal, consent_relay_call,
    consent_signing_digest, consent_typed_data, disclosure_transaction, mined_block_of,
    mined_block_request, publish_recipient_key_call,
};
pub use signed_batch::{SignedBatch, SignedBatchBuilder};
pub use templates::Templates;
pub use validator::Validator;
pub use watcher::Watcher;
pub use webcrypto::PreparedTransaction;

use wasm_bindgen::prelude::wasm_bindgen;

/// The package version (the workspace version).
#[wasm_bindgen]
#[must_use]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// The package's TypeScript types beside those wasm-bindgen writes.
/// wasm-bindgen copies them into the `.d.ts` while compiling, so only the
/// tests read the constant itself.
#[cfg_attr(not(test), allow(dead_code))]
const TS_TYPES_TEXT: &str = r#"
import type * as fhir4 from "fhir/r4";
/**
 * `0x` and lower-case hex digits (bytes32, address, calldata, revert data), as
 * ehrchain hands them out. Parameters and documents a host passes in take any
 * `string` instead (an account from `eth_accounts`, an id from a database):
 * ehrchain checks it at run time (`0x`, hex digits, the right length; else
 * `EHR_INVALID_ARGUMENT`, or `EHR_TI_MALFORMED` inside a TI).
 */
export type Hex = `0x${string}`;

/** The stable `code` of every error ehrchain throws: the core's table (docs/errors.md). */
export type ErrorCode =
  | "EHR_NULL_ARGUMENT" | "EHR_INVALID_UTF8" | "EHR_BUFFER_TOO_SMALL" | "EHR_INVALID_JSON"
  | "EHR_ZERO_LENGTH" | "EHR_INVALID_ARGUMENT" | "EHR_NOT_PRESENT" | "EHR_FEATURE_DISABLED"
  | "EHR_ROLE_INVALID" | "EHR_TEMPLATE_INVALID" | "EHR_TEMPLATE_ALREADY_LOADED"
  | "EHR_TEMPLATE_VERSION_NOT_NEWER" | "EHR_TEMPLATE_UNKNOWN" | "EHR_TEMPLATE_NOT_IN_CONTRACT"
  | "EHR_TI_MALFORMED" | "EHR_TI_REJECTED" | "EHR_TC_INVALID" | "EHR_KEY_UNKNOWN" | "EHR_KEY_STORE_UNAVAILABLE"
  | "EHR_KEY_ID_INVALID" | "EHR_ENVELOPE_MALFORMED" | "EHR_ENVELOPE_UNSUPPORTED"
  | "EHR_ENVELOPE_WRONG_KEY" | "EHR_ENVELOPE_TAMPERED" | "EHR_ENVELOPE_TOO_LARGE"
  | "EHR_KEY_INVALID" | "EHR_EXTERNAL_CIPHER" | "EHR_CAPSULE_MALFORMED" | "EHR_CAPSULE_UNSUPPORTED"
  | "EHR_CAPSULE_WRONG_KEY" | "EHR_CAPSULE_WRONG_BINDING" | "EHR_CAPSULE_TAMPERED"
  | "EHR_RECIPIENT_KEY_INVALID" | "EHR_BATCH_EMPTY" | "EHR_BATCH_FULL"
  | "EHR_BATCH_ZERO_RECORD_HASH" | "EHR_BATCH_MISMATCH" | "EHR_PROOF_MALFORMED"
  | "EHR_PROOF_UNSUPPORTED" | "EHR_PROOF_INVALID" | "EHR_PROOF_NOT_ANCHORED"
  | "EHR_PROOF_ANCHOR_MISMATCH" | "EHR_BATCH_NO_SUCH_RECORD" | "EHR_BATCH_DUPLICATE_TI" | "EHR_TRANSPORT_UNAVAILABLE"
  | "EHR_TRANSPORT_RATE_LIMITED" | "EHR_TRANSPORT_REJECTED" | "EHR_TRANSPORT_WRONG_CHAIN"
  | "EHR_TRANSPORT_MALFORMED" | "EHR_DEVNET" | "EHR_VALIDATOR" | "EHR_TRANSPORT_REVERTED"
  | "EHR_OUTBOX_ENTRY_INVALID" | "EHR_OUTBOX_UNAVAILABLE" | "EHR_WATCHER" | "EHR_STILL_PENDING" | "EHR_PIPELINE_BUSY" | "EHR_PIPELINE_DUPLICATE" | "EHR_PIPELINE_WRONG_REGISTRY"
  | "EHR_CONSENT_NO_GRANT" | "EHR_CONSENT_REVOKED" | "EHR_CONSENT_EXPIRED" | "EHR_CONSENT_WRONG_TEMPLATE"
  | "EHR_CONSENT_NO_EMERGENCY_ROLE" | "EHR_RECIPIENT_KEY_NOT_PUBLISHED" | "EHR_RECIPIENT_KEY_MISMATCH"
  | "EHR_RECORD_NOT_ANCHORED" | "EHR_RECORD_ANCHOR_MISMATCH" | "EHR_DISCLOSURE_REFUSED" | "EHR_FHIR_MALFORMED" | "EHR_FHIR_TOO_LARGE"
  | "EHR_FHIR_UNMAPPED" | "EHR_FHIR_REJECTED" | "EHR_SIGNATURE_MALFORMED" | "EHR_SIGNATURE_WRONG_SIGNER"
  | "EHR_STATEMENT_MISMATCH" | "EHR_SIGNER_FAILED" | "EHR_TC_NOT_SIGNED" | "EHR_AUTHOR_ROLE_NOT_ALLOWED" | "EHR_AUTHOR_ROLE_NOT_HELD"
  | "EHR_PANIC" | "EHR_INTERNAL";

/** The area an error comes from (docs/errors.md). */
export type ErrorKind = "argument" | "template" | "ti" | "envelope" | "batch" | "chain" | "fhir" | "authorship" | "internal";

/** A template violation of a TI the generator refused. */
export interface Violation { field?: string; violation: string; [detail: string]: unknown }

/** Every error thrown by ehrchain: a real `Error` named `EhrchainError` with a stable `code`. */
export interface EhrchainError extends Error {
  name: "EhrchainError";
  code: ErrorCode;
  kind: ErrorKind;
  /** Whether the same call may succeed when tried again later. */
  retryable: boolean;
  /** The finer cause where the formats' vectors name one, snake_case (`truncated`, `wrong_key`, `root_mismatch`, …). */
  reason?: string;
  /** `EHR_TI_REJECTED`: everything wrong with the TI. */
  violations?: Violation[];
  /** `EHR_TRANSPORT_…` errors of the EIP-1193 transport: the validator's view of the failure. */
  transportError?: TransportError;
  /** `pipeline.admit` refused (`EHR_PIPELINE_BUSY`, `EHR_PIPELINE_DUPLICATE`, `EHR_PIPELINE_WRONG_REGISTRY`): the validator, given back. */
  validator?: Validator;
}

/** `runValidator` / `submitTi` stopped by their `deadline` or `signal`: no ACK, the TI pending (not a verdict). */
export interface StillPendingError extends EhrchainError {
  code: "EHR_STILL_PENDING";
  /** Where the validator stood (`{state: "outage", …}` during an outage). */
  state: ValidatorState;
}

export interface ConceptDoc { system: string; code: string; display?: string }

/** One field of a template (docs/templates.md). */
export interface FieldDoc {
  name: string;
  placement: "chain" | "sealed" | "system";
  type?: "integer" | "decimal" | "bool" | "text" | "enum" | "date-time" | "code" | "bytes32" | "address";
  source?: string;
  label?: string;
  hint?: string;
  required?: boolean;
  identifying?: boolean;
  unit?: string;
  concept?: ConceptDoc;
  min?: number | string;
  max?: number | string;
  scale?: number;
  maxLength?: number;
  values?: string[];
  codeSystem?: string;
}

/** A template document (docs/templates.md). */
export interface TemplateDoc {
  format: "ehrchain.template/1";
  /** The content-derived id: optional in a document passed to `add` (checked when present); always there in one from `get` or `latest`. */
  id?: string;
  name: string;
  version: number;
  title: string;
  description?: string;
  concept?: ConceptDoc;
  roles: string[];
  subject?: "patient" | "none";
  call: { function: string; arguments: string[] };
  fields: FieldDoc[];
  /** How a FHIR R4 resource fills the template (docs/fhir.md); not part of the id. */
  fhir?: { resourceType: string; [key: string]: unknown };
}

export interface TemplateSummary {
  id: Hex; name: string; version: number; title: string; roles: string[]; active: boolean;
}

/** What a user application needs to draw a role-tailored form. */
export interface Form {
  templateId: Hex;
  name: string;
  version: number;
  title: string;
  description?: string;
  /** Whether the form asks for a patient. */
  patient: boolean;
  /** The fields a user fills in, in display order. */
  fields: FieldDoc[];
}

export interface RegisterTemplateCall {
  templateId: Hex; name: string; version: number; roles: string[]; calldata: Hex;
}

/** An initial transaction (TI): a user's entry plus the system data around it. */
export interface InitialTransaction {
  /** The host's idempotency key: `0x` and 64 hex digits. */
  tiId: string;
  /** `0x` and 64 hex digits. */
  templateId: string;
  authorId: string;
  authorRole: string;
  patientId?: string;
  /**
   * When the entry was made, Unix seconds: the TI's data format (its JSON, the
   * sealed record and the chain hold seconds). Every time argument of the API
   * (`nowMs`) is Unix milliseconds: `Math.floor(Date.now() / 1000)` here.
   */
  timestamp: number;
  fields: Record<string, string | number | boolean | null>;
}

export interface HandshakerOptions {
  chainId: number;
  /** The EhrRegistry contract's address: `0x` and 40 hex digits. */
  registry: string;
  sealingKeyId: string;
  pseudonymKeyId: string;
  /** Milliseconds a TI's timestamp may lie ahead of the clock (default 300000, 5 minutes). */
  maxClockSkewMs?: number;
  validator?: Partial<ValidatorConfig>;
}

/** Validator settings; durations in milliseconds. */
export interface ValidatorConfig {
  confirmations: number;
  /** Wait after the first retryable transport failure, doubling up to `backoffMaxMs`; an outage is retried for as long as it lasts (bound the wait with `runValidator`'s `deadline` or `signal`). */
  backoffInitialMs: number;
  backoffMaxMs: number;
  pollIntervalMs: number;
  inclusionTimeoutMs: number;
  maxResubmissions: number;
  /** How the verdict becomes final: `confirmations` deep (`"depth"`, the default), or at or below the node's `"safe"` or `"finalized"` block (read with a `read_block` action); the valid ACK then names the block (`finalBlock`). */
  finality?: Finality;
}

/** How a verdict becomes final: N blocks deep, or under the node's `safe` or `finalized` block. */
export type Finality = "depth" | "safe" | "finalized";

/** A block a read by tag found. */
export interface BlockRef { number: number; hash: Hex }

/** The block a verdict was final at. */
export interface FinalBlock { tag: "safe" | "finalized"; block: BlockRef }

export interface ChainTransactionJson {
  to: Hex; chainId: number; calldata: Hex; tiId: Hex; templateId: Hex; patient: Hex;
  recordHash: Hex; cid: string; envelope: Hex;
}

export type Anchoring =
  | { kind: "record"; tiId: Hex; recordHash: Hex }
  | { kind: "batch"; batchId: Hex; root: Hex; leafCount: number };

/** A transaction for the transport to send. */
export interface Submission { to: Hex; chainId: number; calldata: Hex; anchoring: Anchoring }

/** A signed batch's `anchorSignedBatch` transaction, for the relayer to send. */
export interface BatchTransaction { to: Hex; chainId: number; calldata: Hex; batchId: Hex; root: Hex; leafCount: number }

/** The validator's next action. */
export type Transmit =
  | { kind: "persist" }
  | { kind: "submit"; submission: Submission }
  | { kind: "poll"; txHash: Hex; submission: Submission }
  | { kind: "read_head" }
  | { kind: "read_record"; tiId: Hex }
  | { kind: "read_batch"; root: Hex }
  | { kind: "read_block"; tag: "safe" | "finalized" };

/** How a record is anchored by a `Pipeline`: alone at once, or in the open Merkle batch. */
export type Priority = "urgent" | "bulk";

/** A `Pipeline`'s settings; durations in milliseconds. */
export interface PipelineOptions {
  /** TIs held at most (pushed, without an ACK yet); beyond, `push` throws `EHR_PIPELINE_BUSY` (default 100000). */
  maxPending: number;
  /** A batch is flushed at this many records (default 4096)… */
  batchMaxRecords: number;
  /** …or this long after its first record (default 1000). */
  batchMaxWaitMs: number;
  validator: Partial<ValidatorConfig>;
}

/** An outbox entry of a pipeline round, to store under `key`. */
export interface PipelineEntry { key: Hex; entry: ValidatorEntry }

/** A `Pipeline`'s next action. */
export type PipelineTransmit =
  | { kind: "persist"; round: number; entries: PipelineEntry[] }
  | { kind: "read_head" }
  | { kind: "flight"; flight: number; transmit: Transmit };

/** A submission's verdict: store `acks` and remove the entry under `outboxKey` in one step. */
export interface PipelineFinished { outboxKey: Hex | undefined; acks: Ack[] }

/** A validator's write-ahead outbox entry (`Validator.toJSON`, `Validator.fromJSON`). */
export interface ValidatorEntry { format: "ehrchain.validator/2" | "ehrchain.validator/1"; validator: Record<string, unknown> }

/** The anchor watcher's settings: how deep an anchor must be to be final, how often it looks. */
export interface WatcherConfig {
  depth: number;
  pollIntervalMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** `depth` blocks deep (`"depth"`, the default), or at or below the node's `"safe"` or `"finalized"` block. */
  finality?: Finality;
}

/** A record under a watched anchor. */
export interface WatchedRecord { tiId: Hex; recordHash: Hex }

/** Where the watcher last saw an anchoring transaction. */
export interface AnchorSeen { txHash: Hex; blockNumber: number; blockHash: Hex }

/**
 * What the watcher reports about an anchor: `final` (deep enough, no longer
 * watched) or `vanished` (a reorg took it away: store `entry` in the outbox
 * under `key` and run `Validator.fromJSON(entry)`, the same TC again).
 */
export type WatchEvent =
  | { event: "final"; key: Hex; records: WatchedRecord[]; anchor: AnchorSeen | null; head: number; finalized?: FinalBlock }
  | {
      event: "vanished"; key: Hex; records: WatchedRecord[]; anchor: AnchorSeen | null;
      held: { holds: string; [detail: string]: unknown }; head: number; entry: string;
    };

/** The anchor watcher's whole state (`Watcher.toJSON`, `Watcher.fromJSON`). */
export interface WatcherState { format: "ehrchain.watcher/1"; watcher: Record<string, unknown> }

/** A receipt as a transport hands it to the validator (hex fields are checked). */
export interface TxReceipt {
  txHash: string;
  status: boolean;
  blockNumber: number;
  blockHash: string;
  anchorLogIndex: number | null;
  gasUsed: number;
  revertData: string | null;
}

export type SubmissionStatus =
  | { status: "pending" }
  | { status: "dropped" }
  | { status: "included"; receipt: TxReceipt };

/** A transport failure, as the validator takes it. `unavailable` and `rate_limited` are retried. */
export type TransportError =
  | { error: "unavailable" | "rate_limited" | "rejected" | "malformed"; detail: string }
  | { error: "wrong_chain"; detail: { expected: number; actual?: number } }
  | { error: "reverted"; detail: { data: Hex; txHash?: Hex; message: string } };

/** The settings of an `RpcExchange`. */
export interface RpcExchangeOptions {
  /** The chain the transport is for. */
  chainId: number;
  /** The EhrRegistry read by `read_record` and `read_batch`. */
  registry: string;
  /** The account a submission is sent from (one the provider signs for). */
  from?: string;
  /** Mine a block (`evm_mine`) before each head read: development nodes only (default false). */
  mineOnHead?: boolean;
  /** Percentage added to gas estimates (default 20). */
  gasMarginPercent?: number;
}

/** A batch as anchored on chain (hex fields are checked where it is passed in). */
export interface AnchoredBatch { root: string; leafCount: number; batchId?: string | null }

/** A contract revert, decoded into the registry's custom error when it is one. */
export interface DecodedRevert { error: string | null; detail: string; data: Hex }

export interface ViolationNote { field: string | null; message: string }

export type InvalidReason =
  | { kind: "template_violations"; violations: ViolationNote[] }
  | { kind: "generation"; message: string }
  /** A signed TI refused before anything was sent: its signature is not its author's (`code` `EHR_SIGNATURE_…`, `EHR_STATEMENT_MISMATCH`) or the signer made none (`EHR_SIGNER_FAILED`). */
  | { kind: "authorship"; code: ErrorCode; message: string }
  | { kind: "contract_revert"; revert: DecodedRevert }
  | { kind: "anchored_with_other_hash"; storedRecordHash: Hex }
  | { kind: "status_zero"; revert: DecodedRevert }
  | { kind: "missing_anchor_event" }
  | { kind: "transport_rejected"; error: TransportError }
  | { kind: "dropped"; resubmissions: number }
  | { kind: "reorged_out"; resubmissions: number }
  | { kind: "unconfirmed"; txHash: Hex; blockNumber: number; head: number; confirmations: number }
  | { kind: "root_anchored_with_other_batch"; storedLeafCount: number; storedBatchId: Hex | null }
  | { kind: "not_anchored"; cause: InvalidReason; readAtHead: number | null };

export interface Recovered {
  seenAtHead: number; confirmedAtHead: number; registry: Hex; event: string;
  eventTopic: Hex; key: Hex; note: string;
}

export interface Anchor {
  txHash: Hex | null;
  blockNumber: number | null;
  blockHash: Hex | null;
  logIndex: number | null;
  gasUsed: number | null;
  /** The registry already held this record: anchored exactly once. */
  replay: boolean;
  recovered: Recovered | null;
  /** For a batched record: its inclusion proof. */
  batch: ProofJson | null;
  /** With finality by tag: the node's block the verdict was final at. */
  finalBlock?: FinalBlock;
}

export type AckStatus =
  | ({ status: "valid" } & Anchor)
  | { status: "invalid"; reason: InvalidReason; txHashes: Hex[] };

/** The acknowledgement of one TI: valid (store the record) or invalid (keep it for audit). */
export type Ack = {
  tiId: Hex;
  templateId: Hex;
  recordHash: Hex | null;
  envelope: Hex | null;
  /** A TI its author signed (relayed): the statement (`authorship.statement.author` is who signed) and the signature. */
  authorship?: SignedStatement;
} & AckStatus;

/** What an author signs about one sealed record (docs/authorship.md). */
export interface RecordStatement {
  tiId: Hex; templateId: Hex; recordHash: Hex; subject: Hex; role: Hex; author: Hex;
  /** Unix seconds (the TI's timestamp). */
  timestamp: number;
}

/** A statement with its author's signature (`r ‖ s ‖ v`, 65 bytes when well formed). */
export interface SignedStatement { statement: RecordStatement; signature: Hex }

/** The `eth_signTypedData_v4` document of a statement: pass `JSON.stringify` of it to the wallet. */
export interface TypedData {
  types: Record<string, { name: string; type: string }[]>;
  primaryType: "RecordStatement";
  domain: { name: "ehrchain"; version: "1"; chainId: number; verifyingContract: Hex };
  message: RecordStatement;
}

export type ValidatorState =
  | { state: "generated" }
  | { state: "submitted"; txHash: Hex }
  | { state: "included"; txHash: Hex; blockNumber: number }
  | { state: "confirmed"; txHash: Hex; blockNumber: number }
  | { state: "settling"; seenAtHead: number | null }
  | { state: "finished" }
  /** Pending because of an outage: not a verdict; the validator asks again at `outage.retryAt`. */
  | { state: "outage"; outage: Outage; during: ValidatorState };

/** An outage the validator is waiting out: the node failed every attempt since `since` (Unix ms) with a retryable error. */
export interface Outage { since: number; attempts: number; retryAt: number; lastError: TransportError }

export interface AuditEntry { /** Unix milliseconds. */ at: number; event: { event: string; [detail: string]: unknown } }

/** The JSON form of an inclusion proof (docs/proofs.md). */
export interface ProofJson {
  version: 1; recordHash: Hex; batchId: Hex; root: Hex; leafCount: number; index: number;
  siblings: Hex[];
}

/** A proof in any form: binary, `EHRP:` QR text, JSON text, the JSON object, or an `InclusionProof`. */
export type ProofInput = Uint8Array | string | ProofJson | InclusionProof;

/**
 * The host's key store as synchronous callbacks (an HSM, a KMS, a vault), as
 * C's `ehr_key_store_new_callbacks`: keys stay there until a call needs one.
 * Pass it as a `Handshaker`'s `keys`, or as the `key` of `sealEnvelope`,
 * `openEnvelope` and `sealCapsule`. ehrchain zeroizes its copy of each key
 * once used; the array a callback returns is the host's.
 */
export interface KeyStore {
  /**
   * The 32-byte master key named `keyId`, or `null` (or `undefined`) when the
   * store has none: `EHR_KEY_UNKNOWN`. A throw, or any other answer (another
   * length, a `Promise`), is `EHR_KEY_STORE_UNAVAILABLE` (retryable).
   */
  masterKey(keyId: string): Uint8Array | null | undefined;
  /** As `RecipientKeyStore.recipientKey`: a store that also opens key capsules. */
  recipientKey?(keyId: Hex, suite: CapsuleSuite): Uint8Array | null | undefined;
}

/**
 * Recipients' private keys behind a synchronous callback, for the
 * `privateKey` of `KeyCapsule.open`, `KeyCapsule.openEnvelope` and
 * `receiveRecord` (C's `recipient_key` callback).
 */
export interface RecipientKeyStore {
  /**
   * The 32-byte private key of the recipient key `keyId` (the key id a
   * capsule names, `KeyCapsule.recipientKeyId`) of `suite`, or `null` (or
   * `undefined`) when the store has none: the capsule then fails with
   * `EHR_CAPSULE_WRONG_KEY`. A throw, or any other answer, is
   * `EHR_KEY_STORE_UNAVAILABLE`.
   */
  recipientKey(keyId: Hex, suite: CapsuleSuite): Uint8Array | null | undefined;
}

/** Where an envelope belongs (`sealEnvelope`): the key id and three `bytes32` (`0x` and 64 hex digits). */
export interface EnvelopeBinding { keyId: string; patient: string; templateId: string; tiId: string }
/** The clear header of an envelope, its record hash and CID (`envelopeInfo`). */
export interface EnvelopeInfo { keyId: string; patient: Hex; templateId: Hex; tiId: Hex; recordHash: Hex; cid: string }

/** A key capsule's HPKE suite (docs/capsule.md): X-Wing (X25519 + ML-KEM-768, the default) or the classic DHKEM(X25519). */
export type CapsuleSuite = "x_wing" | "x25519";
/** Under what a record is disclosed: a patient's grant (its `bytes32` id) or an emergency. */
export type CapsuleAuthority = { grant: string } | "emergency";
/** What a key capsule is bound to (its clear header, HPKE's `info`); hex fields are checked where it is passed in. */
export interface CapsuleBinding {
  chainId: number;
  /** The registry contract's address. */
  registry: string;
  /** SHA-256 of the envelope whose key the capsule holds. */
  recordHash: string;
  /** The recipient's account address. */
  recipient: string;
  authority: CapsuleAuthority;
}

/** Where consent lives (docs/consent.md): the chain, the registry that anchors records, the `EhrConsent` contract. */
export interface SharingContext { chainId: number; registry: string; consent: string }
/** The mined block a check's reads were made at (time in Unix milliseconds). */
export interface MinedBlock { number: number; time: number }
/** One key capsule handed out, as a custodian records it on `EhrConsent`. */
export interface Disclosure { capsuleDigest: Hex; recipient: Hex; subject: Hex; templateId: Hex; recordHash: Hex }
/** A capsule made (`shareRecord`): the capsule for the recipient, its disclosure to record, under what and at which block. */
export interface Share { capsule: Uint8Array; disclosure: Disclosure; authority: CapsuleAuthority; checkedAt: MinedBlock }
/**
 * Where a received record is anchored, as the registry's views said at the block read: alone under its TI id
 * (`recordHashOf`), or in a Merkle batch or a signed batch (`batchOf(root)`: leaf count, the anchoring block's time in
 * Unix ms, the sender) with the proof checked against it. The anchoring transaction and the batch id are not included
 * (docs/consent.md).
 */
export type AnchorEvidence =
  | { kind: "record" }
  | { kind: "batch"; root: Hex; leafCount: number; anchoredAt: number; submitter: Hex; proof: ProofJson }
  | {
    kind: "signed_batch"; root: Hex; leafCount: number; anchoredAt: number; submitter: Hex;
    /** The signed record's proof (version 2 JSON: domain, statement, signature, inclusion). */
    proof: { version: 2; [member: string]: unknown };
  };
/** What a recipient checked about a shared record, and at which block. */
export interface Evidence {
  chainId: number; registry: Hex; consent: Hex; recordHash: Hex; tiId: Hex; subject: Hex; templateId: Hex;
  authority: CapsuleAuthority; capsuleDigest: Hex; anchor: AnchorEvidence; checkedAt: MinedBlock;
}
/** A shared record opened and checked (`receiveRecord`): its plaintext and the evidence. */
export interface Received { record: Uint8Array; evidence: Evidence }
/** A transaction to `EhrConsent` (the disclosures of capsules handed out). */
export interface ConsentTransaction { chainId: number; to: Hex; calldata: Hex }
/** Whose accounting: one `EhrConsent` contract, one pseudonym. */
export interface AccountingQuery { consent: string; subject: string }
/** One capsule handed out, as the accounting lists it. */
export interface DisclosureEntry {
  recipient: Hex; recordHash: Hex; templateId: Hex; authority: CapsuleAuthority; capsuleDigest: Hex; custodian: Hex;
  blockNumber: number; transactionHash: Hex | null; blockTime: number | null;
}
/** A grant of the pseudonym's records, with the block of its revocation if any. */
export interface GrantEntry {
  grantId: Hex; recipient: Hex; patient: Hex; templateIds: Hex[]; expiresAt: number; grantedIn: number; revokedIn: number | null;
}
/** A pseudonym's accounting of disclosures (HIPAA §164.528), from the chain alone. */
export interface Accounting { disclosures: DisclosureEntry[]; grants: GrantEntry[] }
/** Whose records: one account's bindings on one `EhrConsent`, the records of its pseudonyms on one `EhrRegistry`. */
export interface PatientRecordsQuery { registry: string; consent: string; patient: string }
/** One record anchored under one of the patient's pseudonyms (`RecordAnchored`); `timestamp` in Unix milliseconds. */
export interface PatientRecord {
  tiId: Hex; templateId: Hex; subject: Hex; recordHash: Hex; role: Hex; roleName: string | null; author: Hex; timestamp: number;
  blockNumber: number; transactionHash: Hex | null;
}
/** The pseudonyms an account is bound to and the records anchored one by one under them, oldest first (batched records are not linkable by pseudonym). */
export interface PatientRecords { pseudonyms: Hex[]; records: PatientRecord[] }
/** The EIP-712 domain of consent statements: the chain and the `EhrConsent` contract. */
export interface ConsentDomain { chainId: number; consent: string }
/** What a patient signs to let `recipient` receive the pseudonym's records of `templateIds` (empty: all) until `expiresAt` (Unix seconds). */
export interface ConsentGrant {
  subject: string; patient: string; recipient: string; templateIds: string[]; expiresAt: number; nonce: number; deadline: number;
}
/** What a bound account signs to revoke a grant. */
export interface ConsentRevocation { grantId: string; patient: string; deadline: number }
/** The `eth_signTypedData_v4` document of a consent statement: pass `JSON.stringify` of it to the wallet. */
export interface ConsentTypedData {
  types: Record<string, { name: string; type: string }[]>;
  primaryType: "ConsentGrant" | "ConsentRevocation";
  domain: { name: "ehrchain consent"; version: "1"; chainId: number; verifyingContract: Hex };
  message: Record<string, unknown>;
}

/** The plaintext of a record sealed by `Handshaker.generate`. */
export interface SealedRecord { format: "ehrchain.record/1"; [member: string]: unknown }

/** What the registry's `verifyRecord` says of a proof (`Eip1193Transport.verifyOnChainDetailed`). */
export interface OnChainVerification {
  /** The proof's root is anchored and the proof leads from its record to it (OpenZeppelin's MerkleProof in the EVM). */
  verified: boolean;
  /**
   * Why not, as the error ehrchain would throw, here returned: `EHR_PROOF_NOT_ANCHORED` (`reason`
   * `not_anchored`) or `EHR_PROOF_INVALID` (`root_mismatch`, …); `null` when verified.
   */
  error: EhrchainError | null;
  /** The registry's revert, decoded (`EhrRegistryRootNotAnchored`), when the call reverted; else `null`. */
  revert: DecodedRevert | null;
}

/**
 * A FHIR R4 resource as JSON, typed by DefinitelyTyped's FHIR R4 types
 * (`@types/fhir`, `fhir/r4`: generated from hl7.fhir.r4.core 4.0.1). ehrchain
 * reads only the elements its templates' mappings name (docs/fhir.md), so any
 * resource type is accepted here.
 */
export type FhirResource = fhir4.FhirResource;

/** A FHIR R4 Bundle (`collection`, `transaction`, `batch` or `searchset`). */
export type FhirBundle = fhir4.Bundle<fhir4.FhirResource>;

/** What `fhirFromAck` writes: a `Provenance` for a valid ACK, an `AuditEvent` for an invalid one. */
export type FhirAckResource = fhir4.Provenance | fhir4.AuditEvent;

/** What `fhirAuditEvent` writes for any ACK (`outcome` "0" for a valid one). */
export type FhirAuditEvent = fhir4.AuditEvent;

/** What `fhirProvenance` writes for a valid ACK. */
export type FhirProvenance = fhir4.Provenance;

/** What the host tells the FHIR mapping (docs/fhir.md, "Author, role, patient, time"). */
export interface FhirOptions {
  /** The hospital's patient identifier system: the TI's patient id is the patient's identifier in it. */
  patientIdentifierSystem: string;
  /** Names resolved authors by their identifier in this system (an NPI system, say) instead of `Type/id`. */
  practitionerIdentifierSystem?: string;
  /** The author of resources that name none (the submitting interface account). */
  fallbackAuthor?: string;
  /** The role authors act in, instead of the template mapping's. */
  authorRole?: string;
  /** A host secret (0x and 64 hex digits) mixed into every derived TI id; keep it stable. */
  tiIdSalt?: string;
}

/** Which FHIR resource a TI came from. */
export interface FhirSource { reference: string; resourceType: string; author?: string }

/** A TI made from a FHIR resource, with its source: keep it for `fhirFromAck`. */
export interface FhirMappedTi { ti: InitialTransaction; source: FhirSource }

/** One problem with a resource's content, at a FHIRPath. */
export interface FhirProblem { path: string; field?: string; kind: { problem: string; [detail: string]: unknown } }

/** A Bundle entry that gave no TI, and why. */
export interface FhirUnmapped {
  index: number; fullUrl?: string; resourceType?: string; code: ErrorCode; reason: string; problems?: FhirProblem[];
}

/** A Bundle's entries: every one is in exactly one of the two lists. */
export interface FhirMapping { mapped: FhirMappedTi[]; unmapped: FhirUnmapped[] }

/** Where a record is anchored, for the FHIR resources written from its ACK. */
export interface FhirAnchorContext { chainId: number; registry: string }

/** A log as `eth_getTransactionReceipt` returns it. */
export interface RpcLog { address: Hex; topics: Hex[]; data: Hex; logIndex?: Hex | null }
"#;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = TS_TYPES_TEXT;

#[cfg(test)]
mod tests {
    use ehrchain_core::{ErrorCode, ErrorKind};

    /// The quoted names in the TypeScript type `name` of `TS_TYPES`.
    fn union(name: &str) -> Vec<&'static str> {
        let start = super::TS_TYPES_TEXT
            .find(&format!("export type {name} ="))
            .unwrap_or_default();
        let body = super::TS_TYPES_TEXT[start..]
            .split(';')
            .next()
            .unwrap_or_default();
        body.split('"').skip(1).step_by(2).collect()
    }

    #[test]
    fn the_typescript_error_types_list_the_cores_table() {
        let names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(union("ErrorCode"), names);
        let mut kinds: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.kind().name()).collect();
        kinds.dedup();
        assert_eq!(union("ErrorKind"), kinds);
        assert_eq!(ErrorKind::Argument.name(), "argument");
    }
}
