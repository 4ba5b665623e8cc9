//! The Transaction Validator (TV): a sans-I/O state machine that takes one
//! submission (a TC, or a batch transaction for many TCs) from generated to a
//! final verdict, and emits exactly one [`Ack`] per TI.
//!
//! ```text
//! Generated ─submit─▶ Submitted(tx) ─receipt─▶ Included(block) ─head─▶ Confirmed(n blocks, or under the finalized block) ─▶ Ack
//!     ▲                   │  dropped / timed out        │ reorged out   │ head still (timeout)
//!     │                   ▼                             ▼               └─▶ Ack::Invalid (Unconfirmed)
//!     └──── nothing ── Settling ◀── giving up (permanent transport error,
//!            (budget left)  │       drops, timeouts or reorgs past the limit)
//!                           │
//!                           ├─ ours, confirmed ──────▶ Ack::Valid (recovered)
//!                           ├─ another hash / batch ─▶ Ack::Invalid (AnchoredWithOtherHash, RootAnchoredWithOtherBatch)
//!                           ├─ nothing, giving up ───▶ Ack::Invalid (NotAnchored)
//!                           └─ chain unreadable ─────▶ resubmit, or Ack::Invalid (inconclusive)
//! ```
//!
//! The caller owns I/O and time: `now` is the host's clock as a
//! [`UnixMillis`]. [`TransactionValidator::poll_transmit`] hands out the next
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
//! **Prompt refusals.** A revert is final as soon as it is known: a
//! submission whose gas estimate reverts (the transport sends nothing and
//! answers [`TransportError::Reverted`]) or a mined receipt with status 0
//! ends in an invalid ACK at once, with the decoded registry error and the
//! reverted transaction's hash when one was mined; only the registry's
//! "already anchored" refusal of this very submission (a replay) waits for
//! confirmations or settles.
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
//! - **The chain cannot be read** (reads fail permanently, or a settling
//!   read cannot be confirmed): a resubmission goes ahead (the registry refuses a second
//!   anchoring), and giving up ends with the original reason, which
//!   [`InvalidReason::is_inconclusive`] flags. Only then, for a node on the
//!   wrong chain, or for a chain that stopped (below), is an ACK inconclusive.
//!
//! **Outages are not verdicts.** Every action that fails with a retryable
//! transport error (the node unreachable, timing out, rate-limiting) is asked
//! again after a backoff, doubling from
//! [`ValidatorConfig::backoff_initial_ms`] up to
//! [`ValidatorConfig::backoff_max_ms`], for as long as the outage lasts;
//! meanwhile [`TransactionValidator::state`] is [`ValidatorState::Outage`]
//! (since when, how many attempts, the last error, when it asks again), and
//! the first answer from the node ends the outage. An outage in any state
//! (sending, polling, confirming, settling) ends where the node's answers
//! lead, as if it had not happened; the time the node was away counts
//! neither as a chain that stopped making blocks nor as a give-up.
//!
//! **The host's deadline lives in the drivers, not here.** The validator has
//! no give-up instant: how long to wait is the host's decision about its own
//! call, not a fact about the chain. The blocking drivers
//! ([`run_durably`](crate::run_durably), [`Handshaker::submit_durably`](crate::Handshaker::submit_durably),
//! [`Handshaker::resume`](crate::Handshaker::resume)) take an
//! [`Until`](crate::Until) (a deadline and a cancel token) and, when it is
//! reached, return [`Run::Pending`](crate::Run::Pending) without an ACK: the
//! validator stays where it was and its outbox entry stays in place, to be
//! resumed later. A transaction sent before the stop may still be mined,
//! which is why no ACK is made then: an invalid ACK would say "not anchored"
//! of a record that may be, and a rerun must resend the same TC, which only
//! the outbox entry holds.
//!
//! **Finality by tag.** With [`ValidatorConfig::finality`] set to
//! [`Finality::Finalized`](crate::Finality::Finalized) (or `Safe`), the
//! validator reads the node's finalized (safe) block
//! ([`Transmit::ReadBlock`], answered through
//! [`TransactionValidator::handle_block`]) instead of counting
//! confirmations: an included transaction is confirmed once that block's
//! number reaches the transaction's block, and its receipt, polled once more
//! after that read, is still in the same block (a reorg before finality
//! moves it: it is watched again from its new block). A settling read is
//! confirmed once the finalized block reaches the head read after it. A node
//! that names no finalized block yet keeps the TI pending; the valid ACK
//! names the block ([`Anchor::final_block`]).
//!
//! **No endless wait on a live chain.** While the node answers, every wait
//! has a bound: a pending transaction
//! [`ValidatorConfig::inclusion_timeout_ms`], and confirmations a head that
//! advances: when head reads in a row find it still for
//! `inclusion_timeout_ms` (a development node that mines only when a
//! transaction arrives, or a halted chain), an included transaction ends in
//! [`InvalidReason::Unconfirmed`] (inconclusive), and a settling read that
//! cannot be confirmed counts as a chain that cannot be read. A node that
//! does not answer is an outage (above): the host's deadline bounds it.

mod ack;
mod audit;
mod config;
mod outage;
mod settle;
mod snapshot;
mod verdict;

use std::collections::{HashSet, VecDeque};

use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::SolCall;
use serde::{Deserialize, Serialize};

use crate::authorship::SignedStatement;
use crate::batch::{Batch, InclusionProof};
use crate::finality::{BlockRef, FinalBlock, FinalityTag};
use crate::generator::ChainTransaction;
use crate::outbox::OutboxError;
use crate::registry_abi::IEhrRegistry;
use crate::ti::InitialTransaction;
use crate::time::UnixMillis;
use crate::transport::{
    Anchoring, Submission, SubmissionStatus, TransportError, TxHash, TxReceipt,
};
use crate::violation::Violations;

pub use crate::driver::perform;
pub use ack::{Ack, AckStatus, Anchor, InvalidReason, Recovered, ViolationNote};
pub(crate) use audit::RegistryRead;
pub use audit::{AuditEntry, AuditEvent, ChainHolds};
pub use config::ValidatorConfig;
pub(crate) use config::backoff_ms;
pub use outage::Outage;
pub use snapshot::SNAPSHOT_FORMAT;

use audit::{included, reorged};
use settle::{Fallback, Settle, SettleStage};

crate::json::internally_tagged! {
    tag = "kind", rename_all = "snake_case", rename_all_fields = "camelCase";
    /// The next thing the host must do for the validator.
    ///
    /// JSON form (for hosts that hand actions to another process or language):
    /// the action under `kind`, its data beside it:
    /// `{"kind": "submit", "submission": {…}}`, `{"kind": "read_head"}`.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
    pub enum Transmit {
        /// Store this validator's snapshot ([`TransactionValidator::to_json`])
        /// durably in the host's write-ahead outbox, under
        /// [`TransactionValidator::outbox_key`], replacing the one stored before;
        /// report with [`TransactionValidator::handle_persisted`]. Handed out
        /// before every submission: nothing is sent that a restarted host would
        /// not know about, and a restarted host resumes the same TC (the same
        /// sealed record), never a new one.
        Persist,
        /// Send this transaction; report with
        /// [`TransactionValidator::handle_submitted`].
        Submit {
            /// The transaction.
            submission: Submission,
        },
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
        /// Read the node's block under `tag` (`eth_getBlockByNumber`); report
        /// with [`TransactionValidator::handle_block`]. Asked instead of the
        /// head while confirming, with finality by tag
        /// ([`ValidatorConfig::finality`]).
        ReadBlock {
            /// `safe` or `finalized`.
            tag: FinalityTag,
        },
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
}

crate::json::internally_tagged! {
    tag = "state", rename_all = "snake_case", rename_all_fields = "camelCase";
    /// Where a validator stands, for hosts that show progress or persist it.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
        /// Pending because of an outage: the node failed the last attempts with
        /// retryable errors, and the validator will ask again at
        /// [`Outage::retry_at`]. Not a verdict: it waits for as long as the
        /// outage lasts, unless the host stops waiting (the drivers' deadline).
        Outage {
            /// Since when, how many attempts, the last error.
            outage: Outage,
            /// Where the validator stands otherwise.
            during: Box<ValidatorState>,
        },
    }
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
    /// A stored snapshot ([`TransactionValidator::from_json`]) cannot be
    /// read, or its parts disagree.
    #[error(
        "the stored validator snapshot cannot be resumed: {0}; restore the outbox entry from a backup or keep the TI for audit"
    )]
    Snapshot(String),
    /// The TCs given for a batch do not match the batch's records.
    #[error(
        "TC {index} does not match record {index} of the batch; pass the TCs in the order their hashes were pushed"
    )]
    BatchMismatch {
        /// The first mismatching position.
        index: usize,
    },
    /// A TC given for a batch cannot be anchored under its root: its call is
    /// not `anchorRecord` of its own TI id and record hash (its author's
    /// `anchorSignedRecord`, say, whose signature a root would not carry),
    /// or it is for another registry or chain than the batch transaction.
    #[error("TC {index} cannot be anchored in this batch: {why}; anchor it alone")]
    NotBatchable {
        /// Its position among the TCs given.
        index: usize,
        /// Why.
        why: &'static str,
    },
    /// Two TCs given for a batch are for the same TI: anchored both, it
    /// would have two records and two ACKs.
    #[error(
        "TC {index} is for TI {ti_id}, which an earlier TC of this batch is for: a TI is anchored once and gets one ACK; leave the second out of the batch"
    )]
    DuplicateTi {
        /// The second TC's position among the TCs given.
        index: usize,
        /// The TI both are for.
        ti_id: B256,
    },
}

/// Why `tc` cannot go into a batch anchored by `registry` on `chain_id`,
/// if it cannot.
///
/// Only a TC whose call is `anchorRecord` of its own TI id and record hash
/// may: a batch root anchors the record hash alone, so any other call (an
/// author's `anchorSignedRecord`, say) would be dropped.
pub(crate) fn unbatchable(
    tc: &ChainTransaction,
    registry: Address,
    chain_id: u64,
) -> Option<&'static str> {
    if tc.chain_id != chain_id || tc.to != registry {
        return Some("it is for another registry or chain");
    }
    match IEhrRegistry::anchorRecordCall::abi_decode(&tc.calldata) {
        Ok(call) if call.tiId == tc.ti_id && call.recordHash == tc.record_hash => None,
        _ if tc.signed_statement().is_some() => {
            Some("its author signed it, and a batch root does not carry the signature")
        }
        _ => Some(
            "its call is not an anchorRecord of its own TI id and record hash, and a batch root would drop it",
        ),
    }
}

/// What an ACK says about one record.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordInfo {
    ti_id: B256,
    template_id: B256,
    record_hash: Option<B256>,
    envelope: Option<Bytes>,
    proof: Option<InclusionProof>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    authorship: Option<SignedStatement>,
}

impl RecordInfo {
    fn of(tc: &ChainTransaction) -> Self {
        Self {
            ti_id: tc.ti_id,
            template_id: tc.template_id,
            record_hash: Some(tc.record_hash),
            envelope: Some(Bytes::copy_from_slice(tc.envelope.as_bytes())),
            proof: None,
            authorship: tc.signed_statement(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", rename_all_fields = "camelCase")]
enum Phase {
    /// The transaction must be sent (again).
    Submit,
    /// Sent at `since`, not in a block yet.
    Pending { tx_hash: TxHash, since: UnixMillis },
    /// In a block; waiting for confirmations.
    Included(TxReceipt),
    /// Confirmed by the head; one more poll checks it is still in that block.
    Verify(TxReceipt),
    /// Reading the registry to settle a submission whose fate is unknown.
    Settle(Box<Settle>),
    /// The ACKs are out.
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Asked {
    /// The write-ahead outbox entry before a submission.
    Persist,
    Submit,
    Poll,
    Head,
    Read,
    /// The block under the finality tag.
    Block,
}

/// The Transaction Validator for one submission: a TC, or a batch
/// transaction anchoring many TCs. See the [module docs](self).
///
/// Its serde form is the `validator` member of an outbox entry
/// ([`to_json`](Self::to_json)); deserializing one, through
/// [`from_json`](Self::from_json) or any serde format, checks that its
/// records, envelopes and submission agree and resumes it as after a restart.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct TransactionValidator {
    parts: Parts,
}

/// The validator's state, read and written only through
/// [`TransactionValidator`], whose `Deserialize` checks it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Parts {
    config: ValidatorConfig,
    submission: Option<Submission>,
    records: Vec<RecordInfo>,
    phase: Phase,
    asked: Option<Asked>,
    next_at: UnixMillis,
    /// The outage being waited out, if any (see [`Outage`]).
    outage: Option<Outage>,
    resubmissions: u32,
    /// When the last submission was handed out (sent or not, answered or not).
    last_submit_at: Option<UnixMillis>,
    /// Whether the host has stored the snapshot that announces the next
    /// submission ([`Transmit::Persist`]); cleared once a submission is sent,
    /// kept while sending it fails and is retried.
    persisted: bool,
    /// While waiting for confirmations: the highest head read in a row and
    /// when it was first read (any other result clears it).
    head_mark: Option<(u64, UnixMillis)>,
    tx_hashes: Vec<TxHash>,
    acks: VecDeque<Ack>,
    history: Vec<AuditEntry>,
    /// With finality by tag: the block read that confirmed what the verdict
    /// rests on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    final_block: Option<FinalBlock>,
}

impl TransactionValidator {
    /// A validator anchoring one TC (`anchorRecord`, or `anchorSignedRecord`
    /// for a TC its author signed). A signed TC whose statement or
    /// signature does not verify here gives a finished validator whose ACK
    /// is invalid ([`InvalidReason::Authorship`]): nothing is sent.
    #[must_use]
    pub fn new(tc: &ChainTransaction, config: ValidatorConfig) -> Self {
        Self::checked(tc, tc.check_signature().map(drop), config)
    }

    /// A validator for `tc`, or, when `check` (what was checked of its
    /// author's signature here) failed, a refused one ([`Self::refused`]).
    pub(crate) fn checked(
        tc: &ChainTransaction,
        check: Result<(), crate::authorship::AuthorshipError>,
        config: ValidatorConfig,
    ) -> Self {
        match check {
            Ok(()) => Self::with(Submission::from(tc), vec![RecordInfo::of(tc)], config),
            Err(e) => Self::refused(tc, &e, config),
        }
    }

    /// A finished validator for `tc`, refused for its author's signature
    /// (`error`) before anything was sent: its ACK is invalid
    /// ([`InvalidReason::Authorship`]) and names the author when `tc` is signed.
    pub(crate) fn refused(
        tc: &ChainTransaction,
        error: &crate::authorship::AuthorshipError,
        config: ValidatorConfig,
    ) -> Self {
        let mut validator = Self::with(Submission::from(tc), vec![RecordInfo::of(tc)], config);
        validator.finish_invalid(UnixMillis::EPOCH, InvalidReason::of_authorship(error));
        validator
    }

    /// A validator anchoring the records of `batch` with one `anchorBatch`
    /// transaction; `tcs` are the TCs whose record hashes were pushed, in the
    /// same order. Each record's ACK carries the root and its inclusion proof.
    ///
    /// # Errors
    /// [`ValidatorError::BatchMismatch`] when `tcs` are not the batch's
    /// records; [`ValidatorError::NotBatchable`] for a TC its author signed
    /// (anchor it alone with [`Self::new`], so its signature reaches the
    /// chain), one with another call, or one for another `registry` or
    /// `chain_id`; [`ValidatorError::DuplicateTi`] for a second TC of a TI.
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
        // The proofs are made with the ACKs, from the record hashes
        // (`batch_proofs`): the outbox entry does not carry them.
        let mut records = Vec::with_capacity(tcs.len());
        let mut ti_ids = HashSet::with_capacity(tcs.len());
        for (index, (tc, hash)) in tcs.iter().zip(hashes).enumerate() {
            if tc.record_hash != *hash {
                return Err(ValidatorError::BatchMismatch { index });
            }
            if let Some(why) = unbatchable(tc, registry, chain_id) {
                return Err(ValidatorError::NotBatchable { index, why });
            }
            if !ti_ids.insert(tc.ti_id) {
                return Err(ValidatorError::DuplicateTi {
                    index,
                    ti_id: tc.ti_id,
                });
            }
            records.push(RecordInfo::of(tc));
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
            authorship: None,
        };
        let mut v = Self::with_parts(None, vec![record], ValidatorConfig::default());
        v.finish_invalid(UnixMillis::EPOCH, reason);
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
        let parts = Parts {
            config,
            submission,
            records,
            phase: Phase::Submit,
            asked: None,
            next_at: UnixMillis::EPOCH,
            outage: None,
            resubmissions: 0,
            last_submit_at: None,
            persisted: false,
            head_mark: None,
            tx_hashes: Vec::new(),
            acks: VecDeque::new(),
            history: Vec::new(),
            final_block: None,
        };
        Self { parts }
    }

    /// A fresh validator for the same submission and records (the same TC,
    /// the same sealed records, the same configuration), to be sent again:
    /// what a host resumes when the [`AnchorWatcher`](crate::watcher::AnchorWatcher)
    /// reports that the anchor of a valid ACK vanished. `None` for a refused
    /// TI (nothing to send).
    #[must_use]
    pub fn reopened(&self) -> Option<Self> {
        let submission = self.parts.submission.clone()?;
        Some(Self::with(
            submission,
            self.parts.records.clone(),
            self.parts.config,
        ))
    }

    /// The submission this validator anchors (`None` for a refused TI).
    #[must_use]
    pub fn submission(&self) -> Option<&Submission> {
        self.parts.submission.as_ref()
    }

    /// The TI ids and record hashes this validator acknowledges.
    pub(crate) fn record_hashes(&self) -> impl Iterator<Item = (B256, Option<B256>)> + '_ {
        self.parts.records.iter().map(|r| (r.ti_id, r.record_hash))
    }

    /// The batch of a batch submission whose records carry no proofs,
    /// rebuilt from their record hashes (in leaf order) and checked against
    /// the submission's root and leaf count; `None` otherwise.
    fn rebuilt_batch(&self) -> Option<Result<Batch, String>> {
        let Anchoring::Batch {
            batch_id,
            root,
            leaf_count,
        } = self.parts.submission.as_ref()?.anchoring
        else {
            return None;
        };
        if self.parts.records.iter().any(|r| r.proof.is_some()) {
            return None;
        }
        let mut builder = crate::BatchBuilder::with_capacity(self.parts.records.len());
        let built = self
            .parts
            .records
            .iter()
            .try_for_each(|r| builder.push(r.record_hash.unwrap_or(B256::ZERO)).map(drop))
            .and_then(|()| builder.build(batch_id))
            .map_err(|e| format!("the batch cannot be rebuilt from its records: {e}"));
        Some(built.and_then(|batch| {
            if batch.root() == root && batch.leaf_count() == leaf_count {
                Ok(batch)
            } else {
                Err("the records' hashes make another root than the submission's".to_owned())
            }
        }))
    }

    /// Gives each record of a batch its inclusion proof, rebuilt from the
    /// record hashes, when it has none: what a valid ACK carries.
    fn prove_records(&mut self) {
        let Some(Ok(batch)) = self.rebuilt_batch() else {
            return;
        };
        for (index, record) in (0..).zip(&mut self.parts.records) {
            record.proof = batch.proof(index).ok();
        }
    }

    /// The TI ids this validator acknowledges.
    pub fn ti_ids(&self) -> impl Iterator<Item = B256> + '_ {
        self.parts.records.iter().map(|r| r.ti_id)
    }

    /// Where the validator stands, and whether it is waiting out an outage
    /// ([`ValidatorState::Outage`]).
    #[must_use]
    pub fn state(&self) -> ValidatorState {
        let state = self.progress();
        match &self.parts.outage {
            Some(outage) if !self.is_finished() => ValidatorState::Outage {
                outage: outage.clone(),
                during: Box::new(state),
            },
            _ => state,
        }
    }

    /// Where the validator stands, outages aside.
    fn progress(&self) -> ValidatorState {
        match &self.parts.phase {
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
        matches!(self.parts.phase, Phase::Done)
    }

    /// Every transaction sent so far, oldest first.
    #[must_use]
    pub fn tx_hashes(&self) -> &[TxHash] {
        &self.parts.tx_hashes
    }

    /// What happened so far, for the host's audit log.
    #[must_use]
    pub fn history(&self) -> &[AuditEntry] {
        &self.parts.history
    }

    /// The next action for the host at `now`, or `None` when there is nothing
    /// to do yet (see [`TransactionValidator::poll_timeout`]), an action is
    /// awaiting its result, or the verdict is reached.
    pub fn poll_transmit(&mut self, now: UnixMillis) -> Option<Transmit> {
        if self.parts.asked.is_some() || now < self.parts.next_at {
            return None;
        }
        let submission = self.parts.submission.as_ref()?;
        let (asked, transmit) = match &self.parts.phase {
            Phase::Submit if !self.parts.persisted => (Asked::Persist, Transmit::Persist),
            Phase::Submit => {
                self.parts.last_submit_at = Some(now);
                (
                    Asked::Submit,
                    Transmit::Submit {
                        submission: submission.clone(),
                    },
                )
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
            Phase::Included(_) => self.confirming_read(),
            Phase::Settle(settle) => match settle.stage {
                // The head after the read first; then, by tag, the block
                // under the tag until it reaches that head.
                SettleStage::Wait {
                    seen_at_head: Some(_),
                    ..
                } => self.confirming_read(),
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
        self.parts.asked = Some(asked);
        Some(transmit)
    }

    /// When the validator next wants [`TransactionValidator::handle_timeout`]
    /// and [`TransactionValidator::poll_transmit`] called, or `None`
    /// when it waits for an action's result or is finished.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<UnixMillis> {
        if self.parts.asked.is_some() {
            return None;
        }
        match &self.parts.phase {
            Phase::Done => None,
            Phase::Pending { since, .. } => Some(
                self.parts
                    .next_at
                    .min(since.saturating_add_ms(self.parts.config.inclusion_timeout_ms)),
            ),
            _ => Some(self.parts.next_at),
        }
    }

    /// Advances the validator's timers: a transaction pending past
    /// [`ValidatorConfig::inclusion_timeout_ms`] is treated as dropped and sent
    /// again (the registry refuses a second anchoring if the first one lands).
    pub fn handle_timeout(&mut self, now: UnixMillis) {
        if self.parts.asked.is_some() {
            return;
        }
        if let Phase::Pending { tx_hash, since } = self.parts.phase
            && now >= since.saturating_add_ms(self.parts.config.inclusion_timeout_ms)
        {
            self.audit(now, AuditEvent::Dropped { tx_hash });
            self.resubmit(now, false);
        }
    }

    /// The result of a [`Transmit::Persist`]: `Ok` once the host has stored
    /// the snapshot durably, and the submission follows; an error leaves
    /// nothing sent, and the write is asked for again after
    /// [`ValidatorConfig::backoff_initial_ms`] (an outbox failure is the
    /// host's to fix; it is not a verdict).
    ///
    /// # Errors
    /// [`ValidatorError::Finished`] after the verdict;
    /// [`ValidatorError::Unexpected`] when no persist was asked for.
    pub fn handle_persisted(
        &mut self,
        now: UnixMillis,
        result: Result<(), OutboxError>,
    ) -> Result<(), ValidatorError> {
        self.take_asked(Asked::Persist, "an outbox write")?;
        match result {
            Ok(()) => {
                self.parts.persisted = true;
                self.parts.next_at = now;
            }
            Err(_) => {
                self.parts.next_at = now.saturating_add_ms(self.parts.config.backoff_initial_ms)
            }
        }
        Ok(())
    }

    /// The result of a [`Transmit::Submit`].
    ///
    /// # Errors
    /// [`ValidatorError::Finished`] after the verdict;
    /// [`ValidatorError::Unexpected`] when no submission was asked for.
    pub fn handle_submitted(
        &mut self,
        now: UnixMillis,
        result: Result<TxHash, TransportError>,
    ) -> Result<(), ValidatorError> {
        self.take_asked(Asked::Submit, "a submission result")?;
        match result {
            Ok(tx_hash) => {
                self.node_answered();
                // The next submission (after a drop or a reorg) is announced
                // in the outbox again.
                self.parts.persisted = false;
                self.parts.tx_hashes.push(tx_hash);
                self.audit(now, AuditEvent::Submitted { tx_hash });
                self.parts.phase = Phase::Pending {
                    tx_hash,
                    since: now,
                };
                self.parts.next_at = now.saturating_add_ms(self.parts.config.poll_interval_ms);
            }
            Err(TransportError::Reverted(revert)) => self.refused_at_submission(now, revert),
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
        now: UnixMillis,
        result: Result<SubmissionStatus, TransportError>,
    ) -> Result<(), ValidatorError> {
        let expected = match &self.parts.phase {
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
        self.node_answered();
        let verifying = match std::mem::replace(&mut self.parts.phase, Phase::Submit) {
            Phase::Verify(r) => Some(r),
            other => {
                self.parts.phase = other;
                None
            }
        };
        self.apply_status(now, expected, status, verifying);
        Ok(())
    }

    /// A poll of `expected` found `status`; `verifying` is the receipt checked
    /// once more after its confirmations, if that is where the validator was.
    fn apply_status(
        &mut self,
        now: UnixMillis,
        expected: TxHash,
        status: SubmissionStatus,
        verifying: Option<TxReceipt>,
    ) {
        match (status, verifying) {
            (SubmissionStatus::Pending, None) => {
                self.parts.next_at = now.saturating_add_ms(self.parts.config.poll_interval_ms);
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
                if r.status || self.is_replay(r.revert_data.as_ref()) {
                    self.parts.phase = Phase::Included(r);
                    self.parts.next_at = now;
                } else {
                    // A refusal is final as soon as it is mined: no
                    // confirmations to wait for, nothing to send again.
                    self.finish(now, &r);
                }
            }
            (SubmissionStatus::Included(r), Some(old)) => self.verify_receipt(now, r, &old),
        }
    }

    /// The last poll of a confirmed transaction found it as `r`: in the block
    /// of `old`, the verdict; in another block, a reorg.
    fn verify_receipt(&mut self, now: UnixMillis, r: TxReceipt, old: &TxReceipt) {
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
            self.audit(now, reorged(old));
            self.audit(now, included(&r));
            self.count_reorg(now, Phase::Included(r));
        }
    }

    /// The result of a [`Transmit::ReadHead`]: the chain head's block number.
    ///
    /// # Errors
    /// [`ValidatorError::Finished`] after the verdict;
    /// [`ValidatorError::Unexpected`] when no head was asked for.
    pub fn handle_head(
        &mut self,
        now: UnixMillis,
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
        self.node_answered();
        let depth = self.parts.config.confirmations.max(1);
        let stalled = self.head_stalled(now, head);
        match &mut self.parts.phase {
            Phase::Included(r) => {
                let confirmations = head.saturating_add(1).saturating_sub(r.block_number);
                if confirmations >= depth {
                    self.parts.phase = Phase::Verify(r.clone());
                    self.parts.next_at = now;
                } else if stalled {
                    let reason = InvalidReason::Unconfirmed {
                        tx_hash: r.tx_hash,
                        block_number: r.block_number,
                        head,
                        confirmations: depth,
                    };
                    self.finish_invalid(now, reason);
                } else {
                    self.parts.next_at = now.saturating_add_ms(self.parts.config.poll_interval_ms);
                }
            }
            Phase::Settle(_) => self.settle_head(now, head, depth, stalled),
            _ => {}
        }
        Ok(())
    }

    /// The read that confirms: the head (depth finality) or the block under
    /// the finality tag.
    fn confirming_read(&self) -> (Asked, Transmit) {
        match self.parts.config.finality.tag() {
            Some(tag) => (Asked::Block, Transmit::ReadBlock { tag }),
            None => (Asked::Head, Transmit::ReadHead),
        }
    }

    /// The result of a [`Transmit::ReadBlock`]: the block under the tag, or
    /// `None` when the node names none yet (nothing is final: the validator
    /// asks again after [`ValidatorConfig::poll_interval_ms`]).
    ///
    /// # Errors
    /// [`ValidatorError::Finished`] after the verdict;
    /// [`ValidatorError::Unexpected`] when no block was asked for.
    pub fn handle_block(
        &mut self,
        now: UnixMillis,
        result: Result<Option<BlockRef>, TransportError>,
    ) -> Result<(), ValidatorError> {
        self.take_asked(Asked::Block, "a block read by tag")?;
        let block = match result {
            Ok(block) => block,
            Err(error) => {
                self.transport_failed(now, error);
                return Ok(());
            }
        };
        self.node_answered();
        let Some(tag) = self.parts.config.finality.tag() else {
            return Err(ValidatorError::Unexpected("a block read by tag"));
        };
        let final_block = block.map(|block| FinalBlock { tag, block });
        let level = final_block.map(|f| f.block.number);
        match &mut self.parts.phase {
            Phase::Included(r) if level.is_some_and(|l| l >= r.block_number) => {
                self.parts.phase = Phase::Verify(r.clone());
                self.parts.final_block = final_block;
                self.parts.next_at = now;
            }
            Phase::Settle(_) => {
                if self.settle_final_level(now, level) {
                    self.parts.final_block = final_block;
                }
            }
            _ => self.parts.next_at = now.saturating_add_ms(self.parts.config.poll_interval_ms),
        }
        Ok(())
    }

    /// Records the head read at `now`; whether the head has not advanced for
    /// [`ValidatorConfig::inclusion_timeout_ms`] of head reads in a row.
    fn head_stalled(&mut self, now: UnixMillis, head: u64) -> bool {
        match self.parts.head_mark {
            Some((highest, since)) if head <= highest => {
                now.saturating_ms_since(since) >= self.parts.config.inclusion_timeout_ms
            }
            _ => {
                self.parts.head_mark = Some((head, now));
                false
            }
        }
    }

    /// The next ACK, once the verdict is reached: one per TI, each exactly once.
    pub fn poll_ack(&mut self) -> Option<Ack> {
        self.parts.acks.pop_front()
    }

    /// The ACKs [`TransactionValidator::poll_ack`] has not handed out yet,
    /// oldest first, left in place: a driver stores them
    /// ([`Outbox::finish`](crate::outbox::Outbox::finish)) before it takes
    /// them out, so an outbox that fails loses none.
    pub fn pending_acks(&self) -> impl ExactSizeIterator<Item = &Ack> {
        self.parts.acks.iter()
    }

    fn refusal(&self, what: &'static str) -> ValidatorError {
        if self.is_finished() {
            ValidatorError::Finished
        } else {
            ValidatorError::Unexpected(what)
        }
    }

    fn take_asked(&mut self, asked: Asked, what: &'static str) -> Result<(), ValidatorError> {
        if self.parts.asked == Some(asked) && !self.is_finished() {
            self.parts.asked = None;
            if asked != Asked::Head {
                self.parts.head_mark = None;
            }
            Ok(())
        } else {
            Err(self.refusal(what))
        }
    }

    fn audit(&mut self, at: UnixMillis, event: AuditEvent) {
        self.parts.history.push(AuditEntry { at, event });
    }

    fn resubmit(&mut self, now: UnixMillis, reorg: bool) {
        self.parts.resubmissions = self.parts.resubmissions.saturating_add(1);
        if self.parts.resubmissions > self.parts.config.max_resubmissions {
            let resubmissions = self.parts.resubmissions - 1;
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

    fn count_reorg(&mut self, now: UnixMillis, next: Phase) {
        self.parts.resubmissions = self.parts.resubmissions.saturating_add(1);
        if self.parts.resubmissions > self.parts.config.max_resubmissions {
            let resubmissions = self.parts.resubmissions - 1;
            self.give_up(now, InvalidReason::ReorgedOut { resubmissions });
        } else {
            self.parts.phase = next;
            self.parts.next_at = now;
        }
    }
}

#[cfg(test)]
mod finality_tests;
#[cfg(test)]
pub(crate) mod tests;
