//! The Transaction Validator (TV): a sans-I/O state machine that takes one
//! submission (a TC, or a batch transaction for many TCs) from generated to a
//! final verdict, and emits exactly one [`Ack`] per TI.
//!
//! ```text
//! Generated ─submit─▶ Submitted(tx) ─receipt─▶ Included(block) ─head─▶ Confirmed(n blocks) ─▶ Ack
//!     ▲                   │  dropped / timed out        │ reorged out
//!     │                   ▼                             ▼
//!     └──── nothing ── Settling ◀── giving up (transport failures after retries,
//!            (budget left)  │       permanent transport error, drops, timeouts
//!                           │       or reorgs past the limit)
//!                           ├─ ours, confirmed ──────▶ Ack::Valid (recovered)
//!                           ├─ another hash / batch ─▶ Ack::Invalid (AnchoredWithOtherHash, RootAnchoredWithOtherBatch)
//!                           ├─ nothing, giving up ───▶ Ack::Invalid (NotAnchored)
//!                           └─ chain unreadable ─────▶ resubmit, or Ack::Invalid (inconclusive)
//! ```
//!
//! The caller owns I/O and time: `now` is Unix milliseconds from the host's
//! clock. [`TransactionValidator::poll_transmit`] hands out the next
//! [`Transmit`] (submit, poll, read the head, read the registry); its result
//! goes back through the matching `handle_*` method;
//! [`TransactionValidator::poll_timeout`] says when to call again;
//! [`TransactionValidator::poll_ack`] hands out the ACKs.
//!
//! **Sticky end.** Once the verdict is reached (valid, or invalid for any
//! reason, including a fatal transport error), the machine is finished: it
//! transmits nothing more, ignores further inputs (they return
//! [`ValidatorError::Finished`]) and its ACKs never change.
//!
//! **Never anchored twice.** Retries and resubmissions may put the same call on
//! chain more than once; the registry refuses a used TI id (or root) and the
//! validator turns that refusal into a valid ACK marked `replay` when the hash
//! stored on chain is the one it submitted, and into an invalid ACK otherwise.
//!
//! **Settling: nothing lost.** Whenever the fate of what was sent is unknown,
//! the validator asks the chain what it holds before acting: before sending
//! again after a drop or timeout, and before giving up for any reason but a
//! node on another chain (whose state says nothing about this one). It hands
//! out [`Transmit::ReadRecord`] (the registry's `recordHashOf(tiId)`) or, for
//! a batch, [`Transmit::ReadBatch`] (the root's anchored leaf count), answered
//! through [`TransactionValidator::handle_record`] /
//! [`TransactionValidator::handle_batch`], and settles:
//!
//! - **Something stored** is confirmed like a receipt: the validator reads the
//!   head right after the read (`h`), waits until the head reaches
//!   `h + confirmations - 1`, and reads the registry again. Reads carry no
//!   block number, so the record is taken to be in a block at or below `h`;
//!   the second read checks a reorg shallower than the confirmations did not
//!   take it away. The same value twice is final: this record's hash (or this
//!   batch) gives a valid ACK without a receipt, marked
//!   [`Anchor::recovered`]: its transaction is unknown, and [`Recovered`] says
//!   how to find it (the `RecordAnchored` event by `tiId`, or `BatchAnchored`
//!   by `root`, via `eth_getLogs`). Another hash gives
//!   [`InvalidReason::AnchoredWithOtherHash`], another batch under the root
//!   [`InvalidReason::RootAnchoredWithOtherBatch`]. A value that changed
//!   between the reads is confirmed again from the new read.
//! - **Nothing stored**: with resubmissions left (a drop or timeout), the
//!   transaction is sent again. When giving up, the validator first waits
//!   until [`ValidatorConfig::inclusion_timeout_ms`] has passed since the last
//!   submission (a transaction whose submission answer was lost may still be
//!   pending; like a pending one, it counts as dropped after that time), reads
//!   again, and if still nothing is stored ends with
//!   [`InvalidReason::NotAnchored`] (the cause inside). That verdict is true
//!   at that moment; [`InvalidReason::may_rerun`] tells the host it may run the
//!   same TC again later, which is idempotent.
//! - **The chain cannot be read** (reads fail past
//!   [`ValidatorConfig::max_retries`], with the same backoff, or fail
//!   permanently): a resubmission goes ahead (the registry refuses a second
//!   anchoring), and giving up ends with the original reason, which
//!   [`InvalidReason::is_inconclusive`] flags. Only then, or for a node on the
//!   wrong chain, is an ACK inconclusive.

use std::collections::VecDeque;

use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::SolEvent;
use serde::{Deserialize, Serialize};

use crate::batch::{AnchoredBatch, Batch, InclusionProof};
use crate::generator::ChainTransaction;
use crate::registry_abi::{DecodedRevert, IEhrRegistry, RegistryErrors};
use crate::ti::InitialTransaction;
use crate::transport::{
    Anchoring, Submission, SubmissionStatus, TransportError, TxHash, TxReceipt,
};
use crate::violation::Violations;

/// How patient the validator is. Times are in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorConfig {
    /// Blocks that must hold the transaction (its own included) before the
    /// verdict is final; 0 counts as 1.
    pub confirmations: u64,
    /// Retryable transport failures in a row tolerated before giving up.
    pub max_retries: u32,
    /// Wait after the first transport failure; doubled after each further one.
    pub backoff_initial_ms: u64,
    /// Longest wait between retries.
    pub backoff_max_ms: u64,
    /// Wait between two polls of a pending transaction or of the chain head.
    pub poll_interval_ms: u64,
    /// How long a submitted transaction may stay pending before it is treated
    /// as dropped and sent again.
    pub inclusion_timeout_ms: u64,
    /// How many times the transaction is sent again after being dropped, timed
    /// out or reorged out, before the TI is given up as invalid.
    pub max_resubmissions: u32,
}

impl Default for ValidatorConfig {
    /// 3 confirmations, 5 retries backing off from 0.5 s to 30 s, a poll every
    /// second, 2 minutes to be mined, 3 resubmissions.
    fn default() -> Self {
        Self {
            confirmations: 3,
            max_retries: 5,
            backoff_initial_ms: 500,
            backoff_max_ms: 30_000,
            poll_interval_ms: 1_000,
            inclusion_timeout_ms: 120_000,
            max_resubmissions: 3,
        }
    }
}

/// The next thing the host must do for the validator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// Send this transaction; report with
    /// [`TransactionValidator::handle_submitted`].
    Submit(Submission),
    /// Ask where this transaction stands; report with
    /// [`TransactionValidator::handle_receipt`].
    Poll {
        /// The transaction.
        tx_hash: TxHash,
        /// What it was (to find its anchoring event).
        submission: Submission,
    },
    /// Read the chain head's block number; report with
    /// [`TransactionValidator::handle_head`].
    ReadHead,
    /// Read the record hash the registry holds under this TI id
    /// (`recordHashOf`, [`Transport::record_hash_of`](crate::Transport::record_hash_of));
    /// report with [`TransactionValidator::handle_record`]. Asked while
    /// settling a single-record submission whose fate is unknown.
    ReadRecord {
        /// The TI id.
        ti_id: B256,
    },
    /// Read the batch the registry holds under this root
    /// ([`BatchReader::anchored_batch`](crate::BatchReader::anchored_batch));
    /// report with [`TransactionValidator::handle_batch`]. Asked while
    /// settling a batch submission whose fate is unknown.
    ReadBatch {
        /// The Merkle root.
        root: B256,
    },
}

/// Where a validator stands, for hosts that show progress or persist it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ValidatorState {
    /// The transaction is to be sent (first time, or again after a drop).
    Generated,
    /// Sent; not in a block yet.
    Submitted {
        /// The transaction.
        tx_hash: TxHash,
    },
    /// In a block, waiting for confirmations.
    Included {
        /// The transaction.
        tx_hash: TxHash,
        /// Its block.
        block_number: u64,
    },
    /// Enough confirmations; a last poll checks it is still in that block.
    Confirmed {
        /// The transaction.
        tx_hash: TxHash,
        /// Its block.
        block_number: u64,
    },
    /// The fate of the submission is unknown (the validator is about to give
    /// up or to send again): it reads what the registry holds under the TI id
    /// (or root) and, when something is there, reads again once the head has
    /// advanced by the confirmations.
    Settling {
        /// The head when something was first read under the TI id (root);
        /// `None` while nothing has been read yet.
        seen_at_head: Option<u64>,
    },
    /// The ACKs are out (or waiting in `poll_ack`).
    Finished,
}

/// One template violation, as stored with an invalid ACK.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationNote {
    /// The field at fault, if any.
    pub field: Option<String>,
    /// What is wrong, for people.
    pub message: String,
}

/// Why a TI was not anchored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum InvalidReason {
    /// The Transaction Generator refused the TI: it breaks its template.
    TemplateViolations {
        /// Every violation.
        violations: Vec<ViolationNote>,
    },
    /// The TC could not be made (key store or sealing failure).
    Generation {
        /// The generator's message.
        message: String,
    },
    /// The registry refused the call with one of its custom errors.
    ContractRevert {
        /// The decoded error.
        revert: DecodedRevert,
    },
    /// The TI id (or root) is already anchored, with another record hash.
    AnchoredWithOtherHash {
        /// The record hash stored on chain.
        stored_record_hash: B256,
    },
    /// The transaction failed (receipt status 0) without a registry error.
    StatusZero {
        /// The revert data, decoded as far as possible.
        revert: DecodedRevert,
    },
    /// The transaction succeeded but did not emit the anchoring event (it
    /// called something else than the registry's anchor function).
    MissingAnchorEvent,
    /// The transport kept failing with retryable errors.
    TransportFailed {
        /// Attempts made for the last action.
        attempts: u32,
        /// The last error.
        last_error: TransportError,
    },
    /// The transport failed with a permanent error.
    TransportRejected {
        /// The error.
        error: TransportError,
    },
    /// The transaction kept being dropped or timing out.
    Dropped {
        /// Times it was sent again.
        resubmissions: u32,
    },
    /// The transaction kept being reorged out of the chain.
    ReorgedOut {
        /// Times it was sent again or re-included.
        resubmissions: u32,
    },
    /// The root is anchored, but with another leaf count or batch id than
    /// this batch's (read while settling).
    RootAnchoredWithOtherBatch {
        /// The leaf count stored beside the root.
        stored_leaf_count: u32,
        /// The batch id of the anchoring event, when the transport reads it.
        stored_batch_id: Option<B256>,
    },
    /// The validator gave up for `cause`, then read the chain: nothing was
    /// anchored under the TI id (or root) at that moment. The record is not
    /// anchored; a transaction sent earlier that some node still holds could
    /// in principle land later, so the host may run the same TC again later:
    /// that is idempotent (a record anchored meanwhile comes back as a valid
    /// replay, never as a second anchoring). See
    /// [`InvalidReason::may_rerun`].
    NotAnchored {
        /// Why the validator gave up.
        cause: Box<InvalidReason>,
        /// The chain head around the read that found nothing.
        read_at_head: Option<u64>,
    },
}

impl InvalidReason {
    /// Whether the record might still be anchored by a transaction sent before
    /// the validator gave up (transport failures, drops, reorgs after at least
    /// one submission). The host should keep such a record for audit and may
    /// submit the same TI again later: a matching anchored hash then comes back
    /// as a valid replay.
    ///
    /// Since the validator settles before giving up (it reads the chain, see
    /// the [module docs](self)), an ACK carries one of these reasons only when
    /// the chain could not be read either (or the node is on another chain,
    /// whose state says nothing about this one). A validator that could read
    /// the chain ends valid, [`InvalidReason::AnchoredWithOtherHash`] or
    /// [`InvalidReason::NotAnchored`] instead.
    #[must_use]
    pub fn is_inconclusive(&self) -> bool {
        matches!(
            self,
            Self::TransportFailed { .. }
                | Self::TransportRejected { .. }
                | Self::Dropped { .. }
                | Self::ReorgedOut { .. }
        )
    }

    /// Whether the host may run the same TC again later (same TI id, same
    /// record): the ACK is inconclusive, or the chain held nothing when the
    /// validator gave up ([`InvalidReason::NotAnchored`]). Running it again is
    /// idempotent: the registry refuses a second anchoring and the validator
    /// turns a matching stored hash into a valid ACK.
    #[must_use]
    pub fn may_rerun(&self) -> bool {
        self.is_inconclusive() || matches!(self, Self::NotAnchored { .. })
    }
}

impl std::fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TemplateViolations { violations } => {
                write!(f, "the TI breaks its template: ")?;
                for (i, v) in violations.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    f.write_str(&v.message)?;
                }
                Ok(())
            }
            Self::Generation { message } => {
                write!(f, "the transaction could not be made: {message}")
            }
            Self::ContractRevert { revert } => {
                write!(f, "the registry refused the record: {}", revert.detail)
            }
            Self::AnchoredWithOtherHash { stored_record_hash } => write!(
                f,
                "the TI id is already anchored with another record hash ({stored_record_hash}); use a fresh TI id for a new entry"
            ),
            Self::StatusZero { revert } => write!(f, "the transaction failed: {}", revert.detail),
            Self::MissingAnchorEvent => f.write_str(
                "the transaction succeeded but anchored nothing; check the registry address",
            ),
            Self::TransportFailed {
                attempts,
                last_error,
            } => {
                write!(f, "gave up after {attempts} attempts: {last_error}")
            }
            Self::TransportRejected { error } => write!(f, "{error}"),
            Self::Dropped { resubmissions } => write!(
                f,
                "the transaction was dropped or not mined in time, {resubmissions} resubmissions did not help; check the node's mempool and gas price"
            ),
            Self::ReorgedOut { resubmissions } => write!(
                f,
                "the transaction was reorged out of the chain {resubmissions} times; raise the confirmations or check the node"
            ),
            Self::RootAnchoredWithOtherBatch {
                stored_leaf_count,
                stored_batch_id,
            } => {
                write!(
                    f,
                    "the root is already anchored for another batch ({stored_leaf_count} records"
                )?;
                if let Some(id) = stored_batch_id {
                    write!(f, ", batch id {id}")?;
                }
                f.write_str(")")
            }
            Self::NotAnchored { cause, .. } => write!(
                f,
                "not anchored: the chain holds nothing under this TI id after the validator gave up ({cause}); the same TC may be run again later"
            ),
        }
    }
}

/// Where and how a record was anchored.
///
/// Most anchors come from a confirmed receipt: `tx_hash`, `block_number`,
/// `block_hash` and `gas_used` are set and `recovered` is `None`. An anchor
/// the validator *recovered* by reading the registry while settling (see the
/// [module docs](self)) has no receipt: those four are `None`, and
/// [`Anchor::recovered`] says what was read and how the host finds the
/// anchoring transaction (the `RecordAnchored` event by TI id, or
/// `BatchAnchored` by root).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// The transaction whose receipt gave the verdict. For a replay, this is
    /// the transaction the registry refused as a duplicate, not the earlier
    /// one that anchored the record. `None` when recovered: the anchoring
    /// transaction is unknown.
    pub tx_hash: Option<TxHash>,
    /// Its block (`None` when recovered).
    pub block_number: Option<u64>,
    /// That block's hash (`None` when recovered).
    pub block_hash: Option<B256>,
    /// The block-wide log index of the `RecordAnchored` or `BatchAnchored`
    /// event (`None` for a replay or when recovered).
    pub log_index: Option<u64>,
    /// Gas used by the transaction (`None` when recovered).
    pub gas_used: Option<u64>,
    /// `true` when the registry already held this record (a retried or
    /// duplicated submission): the record is anchored exactly once.
    pub replay: bool,
    /// Set when the verdict comes from reading the registry, not from a
    /// receipt: the record is anchored, by a transaction the validator did not
    /// see mined.
    pub recovered: Option<Box<Recovered>>,
    /// For a batched record: the batch root and the record's inclusion proof.
    pub batch: Option<InclusionProof>,
}

impl Anchor {
    /// Whether the anchor was recovered by reading the registry (no receipt).
    #[must_use]
    pub fn is_recovered(&self) -> bool {
        self.recovered.is_some()
    }
}

/// How a valid verdict was reached without a receipt: the registry held this
/// record's hash (or this batch) at two reads, the second once the head had
/// advanced by at least the configured confirmations minus one.
///
/// The anchoring transaction is unknown to the validator. To find it, ask the
/// node for the registry's logs (`eth_getLogs`) with `address` =
/// [`Recovered::registry`], `topics` = `[`[`Recovered::event_topic`]`,
/// `[`Recovered::key`]`]` (the `RecordAnchored` event by its indexed `tiId`,
/// or `BatchAnchored` by its indexed `root`) and `toBlock` =
/// [`Recovered::confirmed_at_head`]; the log's transaction hash and block are
/// the anchor's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovered {
    /// The chain head just after the first read that found the record.
    pub seen_at_head: u64,
    /// The chain head before the confirming read.
    pub confirmed_at_head: u64,
    /// The registry that emitted the anchoring event.
    pub registry: Address,
    /// The anchoring event's signature, `RecordAnchored(...)` or
    /// `BatchAnchored(...)`.
    pub event: String,
    /// Its topic 0 (keccak256 of the signature).
    pub event_topic: B256,
    /// Its topic 1: the TI id, or the batch root.
    pub key: B256,
    /// For people: the same, in one sentence.
    pub note: String,
}

/// The verdict on one TI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AckStatus {
    /// Anchored and confirmed: store the record.
    Valid(Anchor),
    /// Not anchored: keep the record for audit.
    Invalid {
        /// Why.
        reason: InvalidReason,
        /// Every transaction sent for it, oldest first.
        tx_hashes: Vec<TxHash>,
    },
}

/// The acknowledgement of one TI: what the host's database stores.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The TI id.
    pub ti_id: B256,
    /// The template the TI follows.
    pub template_id: B256,
    /// The record hash (`None` when no record was sealed).
    pub record_hash: Option<B256>,
    /// The sealed envelope bytes (`None` when no record was sealed).
    pub envelope: Option<Bytes>,
    /// The verdict.
    pub status: AckStatus,
}

impl Ack {
    /// Whether the record is anchored.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        matches!(self.status, AckStatus::Valid(_))
    }

    /// The anchor of a valid ACK.
    #[must_use]
    pub fn anchor(&self) -> Option<&Anchor> {
        match &self.status {
            AckStatus::Valid(anchor) => Some(anchor),
            AckStatus::Invalid { .. } => None,
        }
    }

    /// The reason of an invalid ACK.
    #[must_use]
    pub fn reason(&self) -> Option<&InvalidReason> {
        match &self.status {
            AckStatus::Valid(_) => None,
            AckStatus::Invalid { reason, .. } => Some(reason),
        }
    }
}

/// Something that happened to a submission, for the host's audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AuditEvent {
    /// The transaction was sent.
    Submitted {
        /// Its hash.
        tx_hash: TxHash,
    },
    /// A transport call failed.
    TransportError {
        /// The error.
        error: TransportError,
        /// Failures in a row so far.
        attempt: u32,
    },
    /// The transaction is in a block.
    Included {
        /// Its hash.
        tx_hash: TxHash,
        /// The block.
        block_number: u64,
        /// The block's hash.
        block_hash: B256,
    },
    /// The transaction left the block it was in (reorg).
    Reorged {
        /// Its hash.
        tx_hash: TxHash,
        /// The block it was in.
        block_number: u64,
    },
    /// The node dropped the transaction, or it was not mined in time.
    Dropped {
        /// Its hash.
        tx_hash: TxHash,
    },
    /// Enough blocks hold the transaction.
    Confirmed {
        /// Its hash.
        tx_hash: TxHash,
        /// The block.
        block_number: u64,
    },
    /// The registry was read while settling.
    ChainRead {
        /// What it held under the TI id (or root).
        held: ChainHolds,
    },
    /// The verdict.
    Finished {
        /// Whether the records are anchored.
        valid: bool,
    },
}

/// What a read of the registry found, compared with this submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "holds", rename_all = "snake_case")]
pub enum ChainHolds {
    /// This record's hash (or this batch).
    Ours,
    /// Another record hash under the TI id.
    OtherHash {
        /// The stored record hash.
        record_hash: B256,
    },
    /// The root, for another batch.
    OtherBatch {
        /// The stored leaf count.
        leaf_count: u32,
        /// The batch id, when the transport reads it.
        batch_id: Option<B256>,
    },
    /// Nothing.
    Nothing,
}

/// One audit log line: when (host clock, Unix ms) and what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Host time, Unix milliseconds.
    pub at: u64,
    /// What happened.
    pub event: AuditEvent,
}

/// Why the validator refused an input or could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidatorError {
    /// The verdict is already reached; inputs are ignored.
    #[error("this TI already has its ACK; the input was ignored")]
    Finished,
    /// The input answers no action the validator handed out.
    #[error(
        "the validator did not ask for {0}; pass each result to the handle_* method of the action that asked for it"
    )]
    Unexpected(&'static str),
    /// A receipt for another transaction than the one polled.
    #[error("a receipt for transaction {got} was passed while {expected} was polled")]
    WrongReceipt {
        /// The transaction polled.
        expected: TxHash,
        /// The receipt's transaction.
        got: TxHash,
    },
    /// The TCs given for a batch do not match the batch's records.
    #[error(
        "TC {index} does not match record {index} of the batch; pass the TCs in the order their hashes were pushed"
    )]
    BatchMismatch {
        /// The first mismatching position.
        index: usize,
    },
}

/// What an ACK says about one record.
#[derive(Clone, Debug)]
struct RecordInfo {
    ti_id: B256,
    template_id: B256,
    record_hash: Option<B256>,
    envelope: Option<Bytes>,
    proof: Option<InclusionProof>,
}

impl RecordInfo {
    fn of(tc: &ChainTransaction) -> Self {
        Self {
            ti_id: tc.ti_id,
            template_id: tc.template_id,
            record_hash: Some(tc.record_hash),
            envelope: Some(Bytes::copy_from_slice(tc.envelope.as_bytes())),
            proof: None,
        }
    }
}

#[derive(Clone, Debug)]
enum Phase {
    /// The transaction must be sent (again).
    Submit,
    /// Sent at `since`, not in a block yet.
    Pending { tx_hash: TxHash, since: u64 },
    /// In a block; waiting for confirmations.
    Included(TxReceipt),
    /// Confirmed by the head; one more poll checks it is still in that block.
    Verify(TxReceipt),
    /// Reading the registry to settle a submission whose fate is unknown.
    Settle(Box<Settle>),
    /// The ACKs are out.
    Done,
}

/// A settlement in progress.
#[derive(Clone, Debug)]
struct Settle {
    /// What to do when the registry holds nothing, or cannot be read.
    fallback: Fallback,
    stage: SettleStage,
}

#[derive(Clone, Debug)]
enum Fallback {
    /// Send again (the resubmission is already counted).
    Resubmit,
    /// Give up: with this reason when the chain cannot be read, with
    /// [`InvalidReason::NotAnchored`] around it when it holds nothing.
    GiveUp(InvalidReason),
}

#[derive(Clone, Copy, Debug)]
enum SettleStage {
    /// First read of the registry.
    Read,
    /// Something was read; the head is read to know when to read again.
    Wait {
        held: ChainHolds,
        seen_at_head: Option<u64>,
    },
    /// The head has advanced: the confirming read.
    Reread {
        held: ChainHolds,
        seen_at_head: u64,
        head: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Asked {
    Submit,
    Poll,
    Head,
    Read,
}

/// The Transaction Validator for one submission: a TC, or a batch
/// transaction anchoring many TCs. See the [module docs](self).
#[derive(Debug)]
pub struct TransactionValidator {
    config: ValidatorConfig,
    submission: Option<Submission>,
    records: Vec<RecordInfo>,
    phase: Phase,
    asked: Option<Asked>,
    next_at: u64,
    failures: u32,
    resubmissions: u32,
    /// When the last submission was handed out (sent or not, answered or not).
    last_submit_at: Option<u64>,
    tx_hashes: Vec<TxHash>,
    acks: VecDeque<Ack>,
    history: Vec<AuditEntry>,
}

impl TransactionValidator {
    /// A validator anchoring one TC (`anchorRecord`).
    #[must_use]
    pub fn new(tc: &ChainTransaction, config: ValidatorConfig) -> Self {
        Self::with(Submission::from(tc), vec![RecordInfo::of(tc)], config)
    }

    /// A validator anchoring the records of `batch` with one `anchorBatch`
    /// transaction; `tcs` are the TCs whose record hashes were pushed, in the
    /// same order. Each record's ACK carries the root and its inclusion proof.
    ///
    /// # Errors
    /// [`ValidatorError::BatchMismatch`] when `tcs` are not the batch's records.
    pub fn for_batch(
        batch: &Batch,
        tcs: &[ChainTransaction],
        registry: Address,
        chain_id: u64,
        config: ValidatorConfig,
    ) -> Result<Self, ValidatorError> {
        let hashes = batch.record_hashes();
        if tcs.len() != hashes.len() {
            return Err(ValidatorError::BatchMismatch {
                index: tcs.len().min(hashes.len()),
            });
        }
        let mut records = Vec::with_capacity(tcs.len());
        for (index, (tc, hash)) in tcs.iter().zip(hashes).enumerate() {
            let proof = u32::try_from(index).ok().and_then(|i| batch.proof(i).ok());
            if tc.record_hash != *hash || proof.is_none() {
                return Err(ValidatorError::BatchMismatch { index });
            }
            records.push(RecordInfo {
                proof,
                ..RecordInfo::of(tc)
            });
        }
        let tx = batch.anchor_transaction(registry, chain_id);
        Ok(Self::with(Submission::from(&tx), records, config))
    }

    /// A finished validator for a TI the generator refused: its one ACK is
    /// invalid with the template violations. No record was sealed.
    #[must_use]
    pub fn rejected(ti: &InitialTransaction, violations: &Violations) -> Self {
        let notes = violations
            .0
            .iter()
            .map(|v| ViolationNote {
                field: v.field.clone(),
                message: v.to_string(),
            })
            .collect();
        Self::failed(ti, InvalidReason::TemplateViolations { violations: notes })
    }

    /// A finished validator for a TI that could not be turned into a TC for
    /// `reason`: its one ACK is invalid.
    #[must_use]
    pub fn failed(ti: &InitialTransaction, reason: InvalidReason) -> Self {
        let record = RecordInfo {
            ti_id: ti.ti_id,
            template_id: ti.template_id,
            record_hash: None,
            envelope: None,
            proof: None,
        };
        let mut v = Self::with_parts(None, vec![record], ValidatorConfig::default());
        v.finish_invalid(0, reason);
        v
    }

    fn with(submission: Submission, records: Vec<RecordInfo>, config: ValidatorConfig) -> Self {
        Self::with_parts(Some(submission), records, config)
    }

    fn with_parts(
        submission: Option<Submission>,
        records: Vec<RecordInfo>,
        config: ValidatorConfig,
    ) -> Self {
        Self {
            config,
            submission,
            records,
            phase: Phase::Submit,
            asked: None,
            next_at: 0,
            failures: 0,
            resubmissions: 0,
            last_submit_at: None,
            tx_hashes: Vec::new(),
            acks: VecDeque::new(),
            history: Vec::new(),
        }
    }

    /// The submission this validator anchors (`None` for a refused TI).
    #[must_use]
    pub fn submission(&self) -> Option<&Submission> {
        self.submission.as_ref()
    }

    /// The TI ids this validator acknowledges.
    pub fn ti_ids(&self) -> impl Iterator<Item = B256> + '_ {
        self.records.iter().map(|r| r.ti_id)
    }

    /// Where the validator stands.
    #[must_use]
    pub fn state(&self) -> ValidatorState {
        match &self.phase {
            Phase::Submit => ValidatorState::Generated,
            Phase::Pending { tx_hash, .. } => ValidatorState::Submitted { tx_hash: *tx_hash },
            Phase::Included(r) => ValidatorState::Included {
                tx_hash: r.tx_hash,
                block_number: r.block_number,
            },
            Phase::Verify(r) => ValidatorState::Confirmed {
                tx_hash: r.tx_hash,
                block_number: r.block_number,
            },
            Phase::Settle(settle) => ValidatorState::Settling {
                seen_at_head: match settle.stage {
                    SettleStage::Read => None,
                    SettleStage::Wait { seen_at_head, .. } => seen_at_head,
                    SettleStage::Reread { seen_at_head, .. } => Some(seen_at_head),
                },
            },
            Phase::Done => ValidatorState::Finished,
        }
    }

    /// Whether the verdict is reached (the ACKs may still wait in
    /// [`TransactionValidator::poll_ack`]).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// Every transaction sent so far, oldest first.
    #[must_use]
    pub fn tx_hashes(&self) -> &[TxHash] {
        &self.tx_hashes
    }

    /// What happened so far, for the host's audit log.
    #[must_use]
    pub fn history(&self) -> &[AuditEntry] {
        &self.history
    }

    /// The next action for the host at `now`, or `None` when there is nothing
    /// to do yet (see [`TransactionValidator::poll_timeout`]), an action is
    /// awaiting its result, or the verdict is reached.
    pub fn poll_transmit(&mut self, now: u64) -> Option<Transmit> {
        if self.asked.is_some() || now < self.next_at {
            return None;
        }
        let submission = self.submission.as_ref()?;
        let (asked, transmit) = match &self.phase {
            Phase::Submit => {
                self.last_submit_at = Some(now);
                (Asked::Submit, Transmit::Submit(submission.clone()))
            }
            Phase::Pending { tx_hash, .. } => (
                Asked::Poll,
                Transmit::Poll {
                    tx_hash: *tx_hash,
                    submission: submission.clone(),
                },
            ),
            Phase::Verify(receipt) => (
                Asked::Poll,
                Transmit::Poll {
                    tx_hash: receipt.tx_hash,
                    submission: submission.clone(),
                },
            ),
            Phase::Included(_) => (Asked::Head, Transmit::ReadHead),
            Phase::Settle(settle) => match settle.stage {
                SettleStage::Wait { .. } => (Asked::Head, Transmit::ReadHead),
                SettleStage::Read | SettleStage::Reread { .. } => (
                    Asked::Read,
                    match submission.anchoring {
                        Anchoring::Record { ti_id, .. } => Transmit::ReadRecord { ti_id },
                        Anchoring::Batch { root, .. } => Transmit::ReadBatch { root },
                    },
                ),
            },
            Phase::Done => return None,
        };
        self.asked = Some(asked);
        Some(transmit)
    }

    /// When the validator next wants [`TransactionValidator::handle_timeout`]
    /// and [`TransactionValidator::poll_transmit`] called (Unix ms), or `None`
    /// when it waits for an action's result or is finished.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.asked.is_some() {
            return None;
        }
        match &self.phase {
            Phase::Done => None,
            Phase::Pending { since, .. } => Some(
                self.next_at
                    .min(since.saturating_add(self.config.inclusion_timeout_ms)),
            ),
            _ => Some(self.next_at),
        }
    }

    /// Advances the validator's timers: a transaction pending past
    /// [`ValidatorConfig::inclusion_timeout_ms`] is treated as dropped and sent
    /// again (the registry refuses a second anchoring if the first one lands).
    pub fn handle_timeout(&mut self, now: u64) {
        if self.asked.is_some() {
            return;
        }
        if let Phase::Pending { tx_hash, since } = self.phase
            && now >= since.saturating_add(self.config.inclusion_timeout_ms)
        {
            self.audit(now, AuditEvent::Dropped { tx_hash });
            self.resubmit(now, false);
        }
    }

    /// The result of a [`Transmit::Submit`].
    ///
    /// # Errors
    /// [`ValidatorError::Finished`] after the verdict;
    /// [`ValidatorError::Unexpected`] when no submission was asked for.
    pub fn handle_submitted(
        &mut self,
        now: u64,
        result: Result<TxHash, TransportError>,
    ) -> Result<(), ValidatorError> {
        self.take_asked(Asked::Submit, "a submission result")?;
        match result {
            Ok(tx_hash) => {
                self.failures = 0;
                self.tx_hashes.push(tx_hash);
                self.audit(now, AuditEvent::Submitted { tx_hash });
                self.phase = Phase::Pending {
                    tx_hash,
                    since: now,
                };
                self.next_at = now.saturating_add(self.config.poll_interval_ms);
            }
            Err(error) => self.transport_failed(now, error),
        }
        Ok(())
    }

    /// The result of a [`Transmit::Poll`].
    ///
    /// # Errors
    /// [`ValidatorError::Finished`] after the verdict;
    /// [`ValidatorError::Unexpected`] when no poll was asked for;
    /// [`ValidatorError::WrongReceipt`] for another transaction's receipt.
    pub fn handle_receipt(
        &mut self,
        now: u64,
        result: Result<SubmissionStatus, TransportError>,
    ) -> Result<(), ValidatorError> {
        let expected = match &self.phase {
            Phase::Pending { tx_hash, .. } => *tx_hash,
            Phase::Verify(r) => r.tx_hash,
            _ => return Err(self.refusal("a receipt")),
        };
        if let Ok(SubmissionStatus::Included(r)) = &result
            && r.tx_hash != expected
        {
            return Err(ValidatorError::WrongReceipt {
                expected,
                got: r.tx_hash,
            });
        }
        self.take_asked(Asked::Poll, "a receipt")?;
        let status = match result {
            Ok(status) => status,
            Err(error) => {
                self.transport_failed(now, error);
                return Ok(());
            }
        };
        self.failures = 0;
        let verifying = match std::mem::replace(&mut self.phase, Phase::Submit) {
            Phase::Verify(r) => Some(r),
            other => {
                self.phase = other;
                None
            }
        };
        match (status, verifying) {
            (SubmissionStatus::Pending, None) => {
                self.next_at = now.saturating_add(self.config.poll_interval_ms);
            }
            (SubmissionStatus::Pending, Some(old)) => {
                // Reorged out of its block but back in the mempool.
                self.audit(now, reorged(&old));
                self.count_reorg(
                    now,
                    Phase::Pending {
                        tx_hash: expected,
                        since: now,
                    },
                );
            }
            (SubmissionStatus::Dropped, verifying) => {
                let reorg = verifying.is_some();
                if let Some(old) = verifying {
                    self.audit(now, reorged(&old));
                }
                self.audit(now, AuditEvent::Dropped { tx_hash: expected });
                self.resubmit(now, reorg);
            }
            (SubmissionStatus::Included(r), None) => {
                self.audit(now, included(&r));
                self.phase = Phase::Included(r);
                self.next_at = now;
            }
            (SubmissionStatus::Included(r), Some(old)) => {
                if r.block_hash == old.block_hash && r.block_number == old.block_number {
                    self.audit(
                        now,
                        AuditEvent::Confirmed {
                            tx_hash: r.tx_hash,
                            block_number: r.block_number,
                        },
                    );
                    self.finish(now, &r);
                } else {
                    self.audit(now, reorged(&old));
                    self.audit(now, included(&r));
                    self.count_reorg(now, Phase::Included(r));
                }
            }
        }
        Ok(())
    }

    /// The result of a [`Transmit::ReadHead`]: the chain head's block number.
    ///
    /// # Errors
    /// [`ValidatorError::Finished`] after the verdict;
    /// [`ValidatorError::Unexpected`] when no head was asked for.
    pub fn handle_head(
        &mut self,
        now: u64,
        result: Result<u64, TransportError>,
    ) -> Result<(), ValidatorError> {
        self.take_asked(Asked::Head, "the chain head")?;
        let head = match result {
            Ok(head) => head,
            Err(error) => {
                self.transport_failed(now, error);
                return Ok(());
            }
        };
        self.failures = 0;
        let depth = self.config.confirmations.max(1);
        match &mut self.phase {
            Phase::Included(r) => {
                let confirmations = head.saturating_add(1).saturating_sub(r.block_number);
                if confirmations >= depth {
                    self.phase = Phase::Verify(r.clone());
                    self.next_at = now;
                } else {
                    self.next_at = now.saturating_add(self.config.poll_interval_ms);
                }
            }
            Phase::Settle(settle) => {
                if let SettleStage::Wait { held, seen_at_head } = settle.stage {
                    // The read found `held` in a block at or below the first
                    // head read after it; read again once `depth` blocks hold
                    // that head.
                    let seen_at_head = seen_at_head.unwrap_or(head);
                    if head >= seen_at_head.saturating_add(depth - 1) {
                        settle.stage = SettleStage::Reread {
                            held,
                            seen_at_head,
                            head,
                        };
                        self.next_at = now;
                    } else {
                        settle.stage = SettleStage::Wait {
                            held,
                            seen_at_head: Some(seen_at_head),
                        };
                        self.next_at = now.saturating_add(self.config.poll_interval_ms);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The result of a [`Transmit::ReadRecord`]: the record hash the registry
    /// holds under the TI id, or `None`.
    ///
    /// # Errors
    /// [`ValidatorError::Finished`] after the verdict;
    /// [`ValidatorError::Unexpected`] when no record read was asked for.
    pub fn handle_record(
        &mut self,
        now: u64,
        result: Result<Option<B256>, TransportError>,
    ) -> Result<(), ValidatorError> {
        let ours = match self.submission.as_ref().map(|s| s.anchoring) {
            Some(Anchoring::Record { record_hash, .. }) => record_hash,
            _ => return Err(self.refusal("a record read")),
        };
        self.take_asked(Asked::Read, "a record read")?;
        match result {
            Err(error) => self.transport_failed(now, error),
            Ok(stored) => {
                let held = match stored {
                    None => ChainHolds::Nothing,
                    Some(hash) if hash == ours => ChainHolds::Ours,
                    Some(record_hash) => ChainHolds::OtherHash { record_hash },
                };
                self.settle_read(now, held);
            }
        }
        Ok(())
    }

    /// The result of a [`Transmit::ReadBatch`]: the batch the registry holds
    /// under the root, or `None`. A batch id of `None` (a reader that does not
    /// look at logs) is not compared.
    ///
    /// # Errors
    /// [`ValidatorError::Finished`] after the verdict;
    /// [`ValidatorError::Unexpected`] when no batch read was asked for.
    pub fn handle_batch(
        &mut self,
        now: u64,
        result: Result<Option<AnchoredBatch>, TransportError>,
    ) -> Result<(), ValidatorError> {
        let (batch_id, root, leaf_count) = match self.submission.as_ref().map(|s| s.anchoring) {
            Some(Anchoring::Batch {
                batch_id,
                root,
                leaf_count,
            }) => (batch_id, root, leaf_count),
            _ => return Err(self.refusal("a batch read")),
        };
        self.take_asked(Asked::Read, "a batch read")?;
        match result {
            Err(error) => self.transport_failed(now, error),
            Ok(stored) => {
                let held = match stored {
                    None => ChainHolds::Nothing,
                    Some(b)
                        if b.root == root
                            && b.leaf_count == leaf_count
                            && b.batch_id.is_none_or(|id| id == batch_id) =>
                    {
                        ChainHolds::Ours
                    }
                    Some(b) => ChainHolds::OtherBatch {
                        leaf_count: b.leaf_count,
                        batch_id: b.batch_id,
                    },
                };
                self.settle_read(now, held);
            }
        }
        Ok(())
    }

    /// The next ACK, once the verdict is reached: one per TI, each exactly once.
    pub fn poll_ack(&mut self) -> Option<Ack> {
        self.acks.pop_front()
    }

    fn refusal(&self, what: &'static str) -> ValidatorError {
        if self.is_finished() {
            ValidatorError::Finished
        } else {
            ValidatorError::Unexpected(what)
        }
    }

    fn take_asked(&mut self, asked: Asked, what: &'static str) -> Result<(), ValidatorError> {
        if self.asked == Some(asked) && !self.is_finished() {
            self.asked = None;
            Ok(())
        } else {
            Err(self.refusal(what))
        }
    }

    fn audit(&mut self, at: u64, event: AuditEvent) {
        self.history.push(AuditEntry { at, event });
    }

    fn backoff(&self) -> u64 {
        let shift = self.failures.saturating_sub(1).min(32);
        self.config
            .backoff_initial_ms
            .saturating_mul(1u64 << shift)
            .min(self.config.backoff_max_ms)
    }

    fn transport_failed(&mut self, now: u64, error: TransportError) {
        self.failures = self.failures.saturating_add(1);
        self.audit(
            now,
            AuditEvent::TransportError {
                error: error.clone(),
                attempt: self.failures,
            },
        );
        let settling = matches!(self.phase, Phase::Settle(_));
        if !error.is_retryable() {
            if settling {
                self.settle_unreadable(now);
            } else {
                self.give_up(now, InvalidReason::TransportRejected { error });
            }
        } else if self.failures > self.config.max_retries {
            if settling {
                self.settle_unreadable(now);
            } else {
                let attempts = self.failures;
                self.give_up(
                    now,
                    InvalidReason::TransportFailed {
                        attempts,
                        last_error: error,
                    },
                );
            }
        } else {
            self.next_at = now.saturating_add(self.backoff());
        }
    }

    fn resubmit(&mut self, now: u64, reorg: bool) {
        self.resubmissions = self.resubmissions.saturating_add(1);
        if self.resubmissions > self.config.max_resubmissions {
            let resubmissions = self.resubmissions - 1;
            let reason = if reorg {
                InvalidReason::ReorgedOut { resubmissions }
            } else {
                InvalidReason::Dropped { resubmissions }
            };
            self.give_up(now, reason);
        } else {
            // The fate of what was sent is unknown: read the registry before
            // paying for another transaction.
            self.start_settle(now, Fallback::Resubmit);
        }
    }

    fn count_reorg(&mut self, now: u64, next: Phase) {
        self.resubmissions = self.resubmissions.saturating_add(1);
        if self.resubmissions > self.config.max_resubmissions {
            let resubmissions = self.resubmissions - 1;
            self.give_up(now, InvalidReason::ReorgedOut { resubmissions });
        } else {
            self.phase = next;
            self.next_at = now;
        }
    }

    /// The validator would give up for `reason`: it settles first (reads the
    /// registry), except when the node is on another chain (its state says
    /// nothing about this one).
    fn give_up(&mut self, now: u64, reason: InvalidReason) {
        let wrong_chain = matches!(
            reason,
            InvalidReason::TransportRejected {
                error: TransportError::WrongChain { .. }
            }
        );
        if wrong_chain || self.submission.is_none() {
            self.finish_invalid(now, reason);
        } else {
            self.start_settle(now, Fallback::GiveUp(reason));
        }
    }

    fn start_settle(&mut self, now: u64, fallback: Fallback) {
        self.failures = 0;
        self.phase = Phase::Settle(Box::new(Settle {
            fallback,
            stage: SettleStage::Read,
        }));
        self.next_at = now;
    }

    /// A read of the registry while settling found `held`.
    fn settle_read(&mut self, now: u64, held: ChainHolds) {
        self.failures = 0;
        self.audit(now, AuditEvent::ChainRead { held });
        let Phase::Settle(settle) = &mut self.phase else {
            return;
        };
        match (settle.stage, held) {
            (SettleStage::Reread { head, .. }, ChainHolds::Nothing) => {
                self.settle_nothing(now, Some(head));
            }
            (_, ChainHolds::Nothing) => self.settle_nothing(now, None),
            (
                SettleStage::Reread {
                    held: before,
                    seen_at_head,
                    head,
                },
                _,
            ) if before == held => self.settle_final(now, held, seen_at_head, head),
            // Something new (first read, or it changed since): wait for the
            // confirmations, then read again.
            _ => {
                settle.stage = SettleStage::Wait {
                    held,
                    seen_at_head: None,
                };
                self.next_at = now;
            }
        }
    }

    /// The registry holds nothing: send again, or give up as not anchored
    /// once nothing sent can still be pending.
    fn settle_nothing(&mut self, now: u64, read_at_head: Option<u64>) {
        // A transaction sent (or whose submission answer was lost) may still
        // be pending; like a pending transaction, it counts as dropped once
        // `inclusion_timeout_ms` has passed. Until then, read again then.
        let quiet = self
            .last_submit_at
            .map(|at| at.saturating_add(self.config.inclusion_timeout_ms));
        if let (Phase::Settle(settle), Some(quiet)) = (&mut self.phase, quiet)
            && matches!(settle.fallback, Fallback::GiveUp(_))
            && now < quiet
        {
            settle.stage = SettleStage::Read;
            self.next_at = quiet;
            return;
        }
        let Phase::Settle(settle) = std::mem::replace(&mut self.phase, Phase::Submit) else {
            return;
        };
        match settle.fallback {
            Fallback::Resubmit => self.next_at = now,
            Fallback::GiveUp(cause) => self.finish_invalid(
                now,
                InvalidReason::NotAnchored {
                    cause: Box::new(cause),
                    read_at_head,
                },
            ),
        }
    }

    /// The registry cannot be read: send again anyway (the registry refuses
    /// a second anchoring), or give up inconclusive.
    fn settle_unreadable(&mut self, now: u64) {
        let Phase::Settle(settle) = std::mem::replace(&mut self.phase, Phase::Submit) else {
            return;
        };
        match settle.fallback {
            Fallback::Resubmit => {
                self.failures = 0;
                self.next_at = now;
            }
            Fallback::GiveUp(reason) => self.finish_invalid(now, reason),
        }
    }

    /// Two reads, `depth - 1` blocks apart, found the same thing.
    fn settle_final(&mut self, now: u64, held: ChainHolds, seen_at_head: u64, head: u64) {
        let Some(submission) = &self.submission else {
            return;
        };
        match held {
            ChainHolds::Ours => {
                let recovered = Recovered::of(submission, seen_at_head, head);
                self.finish_valid(
                    now,
                    &Anchor {
                        tx_hash: None,
                        block_number: None,
                        block_hash: None,
                        log_index: None,
                        gas_used: None,
                        replay: false,
                        recovered: Some(Box::new(recovered)),
                        batch: None,
                    },
                );
            }
            ChainHolds::OtherHash { record_hash } => self.finish_invalid(
                now,
                InvalidReason::AnchoredWithOtherHash {
                    stored_record_hash: record_hash,
                },
            ),
            ChainHolds::OtherBatch {
                leaf_count,
                batch_id,
            } => self.finish_invalid(
                now,
                InvalidReason::RootAnchoredWithOtherBatch {
                    stored_leaf_count: leaf_count,
                    stored_batch_id: batch_id,
                },
            ),
            ChainHolds::Nothing => self.settle_nothing(now, Some(head)),
        }
    }

    /// The verdict from a confirmed receipt.
    fn finish(&mut self, now: u64, receipt: &TxReceipt) {
        let Some(submission) = &self.submission else {
            return;
        };
        let anchor = |log_index, replay| Anchor {
            tx_hash: Some(receipt.tx_hash),
            block_number: Some(receipt.block_number),
            block_hash: Some(receipt.block_hash),
            log_index,
            gas_used: Some(receipt.gas_used),
            replay,
            recovered: None,
            batch: None,
        };
        if receipt.status {
            match receipt.anchor_log_index {
                Some(index) => self.finish_valid(now, &anchor(Some(index), false)),
                None => self.finish_invalid(now, InvalidReason::MissingAnchorEvent),
            }
            return;
        }
        let data = receipt.revert_data.clone().unwrap_or_default();
        let revert = DecodedRevert::from_data(&data);
        match (revert.registry_error(), submission.anchoring) {
            (
                Some(RegistryErrors::EhrRegistryTiAlreadyUsed(e)),
                Anchoring::Record { ti_id, record_hash },
            ) if e.tiId == ti_id => {
                if e.storedRecordHash == record_hash {
                    self.finish_valid(now, &anchor(None, true));
                } else {
                    self.finish_invalid(
                        now,
                        InvalidReason::AnchoredWithOtherHash {
                            stored_record_hash: e.storedRecordHash,
                        },
                    );
                }
            }
            (
                Some(RegistryErrors::EhrRegistryRootAlreadyAnchored(e)),
                Anchoring::Batch { root, .. },
            ) if e.root == root => self.finish_valid(now, &anchor(None, true)),
            (Some(_), _) => self.finish_invalid(now, InvalidReason::ContractRevert { revert }),
            (None, _) => self.finish_invalid(now, InvalidReason::StatusZero { revert }),
        }
    }

    fn finish_valid(&mut self, now: u64, anchor: &Anchor) {
        for record in &self.records {
            self.acks.push_back(Ack {
                ti_id: record.ti_id,
                template_id: record.template_id,
                record_hash: record.record_hash,
                envelope: record.envelope.clone(),
                status: AckStatus::Valid(Anchor {
                    batch: record.proof.clone(),
                    ..anchor.clone()
                }),
            });
        }
        self.audit(now, AuditEvent::Finished { valid: true });
        self.phase = Phase::Done;
        self.asked = None;
    }

    fn finish_invalid(&mut self, now: u64, reason: InvalidReason) {
        for record in &self.records {
            self.acks.push_back(Ack {
                ti_id: record.ti_id,
                template_id: record.template_id,
                record_hash: record.record_hash,
                envelope: record.envelope.clone(),
                status: AckStatus::Invalid {
                    reason: reason.clone(),
                    tx_hashes: self.tx_hashes.clone(),
                },
            });
        }
        self.audit(now, AuditEvent::Finished { valid: false });
        self.phase = Phase::Done;
        self.asked = None;
    }
}

impl Recovered {
    fn of(submission: &Submission, seen_at_head: u64, confirmed_at_head: u64) -> Self {
        let (event, event_topic, key, by) = match submission.anchoring {
            Anchoring::Record { ti_id, .. } => (
                IEhrRegistry::RecordAnchored::SIGNATURE,
                IEhrRegistry::RecordAnchored::SIGNATURE_HASH,
                ti_id,
                "tiId",
            ),
            Anchoring::Batch { root, .. } => (
                IEhrRegistry::BatchAnchored::SIGNATURE,
                IEhrRegistry::BatchAnchored::SIGNATURE_HASH,
                root,
                "root",
            ),
        };
        let name = event.split('(').next().unwrap_or(event);
        let registry = submission.to;
        Self {
            seen_at_head,
            confirmed_at_head,
            registry,
            event: event.to_owned(),
            event_topic,
            key,
            note: format!(
                "anchored by a transaction the validator did not see mined (tx unknown): find the {name} event by {by} with eth_getLogs (address {registry}, topics [{event_topic}, {key}], toBlock {confirmed_at_head})"
            ),
        }
    }
}

fn reorged(r: &TxReceipt) -> AuditEvent {
    AuditEvent::Reorged {
        tx_hash: r.tx_hash,
        block_number: r.block_number,
    }
}

fn included(r: &TxReceipt) -> AuditEvent {
    AuditEvent::Included {
        tx_hash: r.tx_hash,
        block_number: r.block_number,
        block_hash: r.block_hash,
    }
}

#[cfg(test)]
mod tests;
