//! The Transaction Validator (TV): a sans-I/O state machine that takes one
//! submission (a TC, or a batch transaction for many TCs) from generated to a
//! final verdict, and emits exactly one [`Ack`] per TI.
//!
//! ```text
//! Generated ─submit─▶ Submitted(tx) ─receipt─▶ Included(block) ─head─▶ Confirmed(n blocks) ─▶ Ack
//!     ▲                   │  dropped / timed out        │ reorged out
//!     └───────────────────┴─────────────────────────────┘ (resubmit, up to a limit)
//! ```
//!
//! The caller owns I/O and time: `now` is Unix milliseconds from the host's
//! clock. [`TransactionValidator::poll_transmit`] hands out the next
//! [`Transmit`] (submit, poll, read the head); its result goes back through the
//! matching `handle_*` method; [`TransactionValidator::poll_timeout`] says when
//! to call again; [`TransactionValidator::poll_ack`] hands out the ACKs.
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

use std::collections::VecDeque;

use alloy_primitives::{B256, Bytes};
use serde::{Deserialize, Serialize};

use crate::batch::{Batch, InclusionProof};
use crate::generator::ChainTransaction;
use crate::registry_abi::{DecodedRevert, RegistryErrors};
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
}

impl InvalidReason {
    /// Whether the record might still be anchored by a transaction sent before
    /// the validator gave up (transport failures, drops, reorgs after at least
    /// one submission). The host should keep such a record for audit and may
    /// submit the same TI again later: a matching anchored hash then comes back
    /// as a valid replay.
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
        }
    }
}

/// Where and how a record was anchored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// The transaction whose receipt gave the verdict. For a replay, this is
    /// the transaction the registry refused as a duplicate, not the earlier
    /// one that anchored the record.
    pub tx_hash: TxHash,
    /// Its block.
    pub block_number: u64,
    /// That block's hash.
    pub block_hash: B256,
    /// The block-wide log index of the `RecordAnchored` or `BatchAnchored`
    /// event (`None` for a replay).
    pub log_index: Option<u64>,
    /// Gas used by the transaction.
    pub gas_used: u64,
    /// `true` when the registry already held this record (a retried or
    /// duplicated submission): the record is anchored exactly once.
    pub replay: bool,
    /// For a batched record: the batch root and the record's inclusion proof.
    pub batch: Option<InclusionProof>,
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
    /// The verdict.
    Finished {
        /// Whether the records are anchored.
        valid: bool,
    },
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
    /// The ACKs are out.
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Asked {
    Submit,
    Poll,
    Head,
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
        registry: alloy_primitives::Address,
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
            let proof = u32::try_from(index).ok().and_then(|i| batch.proof(i));
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
            Phase::Submit => (Asked::Submit, Transmit::Submit(submission.clone())),
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
        if let Phase::Included(r) = &self.phase {
            let confirmations = head.saturating_add(1).saturating_sub(r.block_number);
            if confirmations >= self.config.confirmations.max(1) {
                self.phase = Phase::Verify(r.clone());
                self.next_at = now;
            } else {
                self.next_at = now.saturating_add(self.config.poll_interval_ms);
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
        if !error.is_retryable() {
            self.finish_invalid(now, InvalidReason::TransportRejected { error });
        } else if self.failures > self.config.max_retries {
            let attempts = self.failures;
            self.finish_invalid(
                now,
                InvalidReason::TransportFailed {
                    attempts,
                    last_error: error,
                },
            );
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
            self.finish_invalid(now, reason);
        } else {
            self.phase = Phase::Submit;
            self.next_at = now;
        }
    }

    fn count_reorg(&mut self, now: u64, next: Phase) {
        self.resubmissions = self.resubmissions.saturating_add(1);
        if self.resubmissions > self.config.max_resubmissions {
            let resubmissions = self.resubmissions - 1;
            self.finish_invalid(now, InvalidReason::ReorgedOut { resubmissions });
        } else {
            self.phase = next;
            self.next_at = now;
        }
    }

    /// The verdict from a confirmed receipt.
    fn finish(&mut self, now: u64, receipt: &TxReceipt) {
        let Some(submission) = &self.submission else {
            return;
        };
        let anchor = |log_index, replay| Anchor {
            tx_hash: receipt.tx_hash,
            block_number: receipt.block_number,
            block_hash: receipt.block_hash,
            log_index,
            gas_used: receipt.gas_used,
            replay,
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
