//! The ACK vocabulary: the verdict on one TI ([`Ack`], [`AckStatus`]), where
//! and how a valid record was anchored ([`Anchor`], [`Recovered`]) and why an
//! invalid one was not ([`InvalidReason`], [`ViolationNote`]).

use alloy_primitives::{Address, B256, Bytes};
use serde::{Deserialize, Serialize};

use crate::authorship::{AuthorshipError, SignedStatement};
use crate::batch::InclusionProof;
use crate::finality::FinalBlock;
use crate::registry_abi::DecodedRevert;
use crate::transport::{TransportError, TxHash};

/// One template violation, as stored with an invalid ACK.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationNote {
    /// The field at fault, if any.
    pub field: Option<String>,
    /// What is wrong, for people.
    pub message: String,
}

crate::json::internally_tagged! {
    tag = "kind", rename_all = "snake_case", rename_all_fields = "camelCase";
    /// Why a TI was not anchored.
    ///
    /// JSON form: the variant under `kind`, its data beside it
    /// (`{"kind": "template_violations", "violations": […]}`), so an ACK reads
    /// `ack.reason.kind`.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
        /// The TC is signed, but its statement or signature does not verify
        /// here (another signer, a malformed signature, a statement of another
        /// record) or the signer made none: nothing was sent.
        Authorship {
            /// The error code's name (`EHR_SIGNATURE_WRONG_SIGNER`, …).
            code: String,
            /// What is wrong, for people.
            message: String,
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
        /// The transaction is in a block, but the chain head stood still short
        /// of the confirmations for [`ValidatorConfig::inclusion_timeout_ms`]: a
        /// development node that mines only when a
        /// transaction arrives, or a halted chain. The record is on chain unless
        /// that block is replaced; running the same TC again once the chain moves
        /// is idempotent (a valid replay).
        ///
        /// [`ValidatorConfig::inclusion_timeout_ms`]: crate::ValidatorConfig::inclusion_timeout_ms
        Unconfirmed {
            /// The transaction.
            tx_hash: TxHash,
            /// Its block.
            block_number: u64,
            /// The chain head, which did not advance.
            head: u64,
            /// The confirmations asked for.
            confirmations: u64,
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
}

impl InvalidReason {
    /// The reason of a signed TC refused before anything was sent: its
    /// statement or signature does not verify, or the signer made none.
    #[must_use]
    pub fn of_authorship(error: &AuthorshipError) -> Self {
        Self::Authorship {
            code: error.code().name().to_owned(),
            message: error.to_string(),
        }
    }

    /// Whether the record might still be anchored by a transaction sent before
    /// the validator gave up (a permanent transport error, drops, reorgs after
    /// at least one submission, a chain that stopped short of the
    /// confirmations). An outage is never among them: the validator waits it
    /// out ([`Outage`](super::Outage)). The host should keep such a record for audit and may
    /// submit the same TI again later: a matching anchored hash then comes back
    /// as a valid replay.
    ///
    /// Since the validator settles before giving up (it reads the chain, see
    /// the [module docs](super)), an ACK carries one of these reasons only when
    /// the chain could not be read either (or the node is on another chain,
    /// whose state says nothing about this one), or with
    /// [`InvalidReason::Unconfirmed`] when the chain stopped making blocks. A validator that could read
    /// the chain ends valid, [`InvalidReason::AnchoredWithOtherHash`] or
    /// [`InvalidReason::NotAnchored`] instead.
    #[must_use]
    pub fn is_inconclusive(&self) -> bool {
        matches!(
            self,
            Self::TransportRejected { .. }
                | Self::Dropped { .. }
                | Self::ReorgedOut { .. }
                | Self::Unconfirmed { .. }
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
            Self::Authorship { message, .. } => {
                write!(
                    f,
                    "the author's signature was refused, nothing was sent: {message}"
                )
            }
            Self::AnchoredWithOtherHash { stored_record_hash } => write!(
                f,
                "the TI id is already anchored with another record hash ({stored_record_hash}); use a fresh TI id for a new entry"
            ),
            Self::StatusZero { revert } => write!(f, "the transaction failed: {}", revert.detail),
            Self::MissingAnchorEvent => f.write_str(
                "the transaction succeeded but anchored nothing; check the registry address",
            ),
            Self::TransportRejected { error } => write!(f, "{error}"),
            Self::Dropped { resubmissions } => write!(
                f,
                "the transaction was dropped or not mined in time, {resubmissions} resubmissions did not help; check the node's mempool and gas price"
            ),
            Self::ReorgedOut { resubmissions } => write!(
                f,
                "the transaction was reorged out of the chain {resubmissions} times; raise the confirmations or check the node"
            ),
            Self::Unconfirmed {
                tx_hash,
                block_number,
                head,
                confirmations,
            } => write!(
                f,
                "transaction {tx_hash} is in block {block_number}, but the chain head stayed at {head}, short of the {confirmations} confirmations asked for: the chain is not making blocks (a development node that mines only when a transaction arrives needs its transport to mine on head reads, or 1 confirmation); the same TC may be run again later"
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
/// [module docs](super)) has no receipt: those four are `None`, and
/// [`Anchor::recovered`] says what was read and how the host finds the
/// anchoring transaction (the `RecordAnchored` event by TI id, or
/// `BatchAnchored` by root).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
    /// With finality by tag ([`ValidatorConfig::finality`](crate::ValidatorConfig::finality)):
    /// the node's `safe` or `finalized` block that was at or above the
    /// anchor's block when the verdict was given. Absent with depth finality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_block: Option<Box<FinalBlock>>,
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
#[serde(rename_all = "camelCase")]
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

crate::json::internally_tagged! {
    tag = "status", rename_all = "snake_case", rename_all_fields = "camelCase";
    /// The verdict on one TI.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
}

/// The acknowledgement of one TI: what the host's database stores.
///
/// JSON form: the TI's ids, record hash and envelope, and the verdict beside
/// them: `{"tiId": …, "status": "valid", "txHash": …, "blockNumber": …}`
/// or `{"tiId": …, "status": "invalid", "reason": {…}, "txHashes": […]}`;
/// a TI its author signed also has `"authorship": {"statement": {…,
/// "author": "0x…"}, "signature": "0x…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ack {
    /// The TI id.
    pub ti_id: B256,
    /// The template the TI follows.
    pub template_id: B256,
    /// The record hash (`None` when no record was sealed).
    pub record_hash: Option<B256>,
    /// The sealed envelope bytes (`None` when no record was sealed).
    pub envelope: Option<Bytes>,
    /// The author's signed statement, when the TC was signed (relayed,
    /// `anchorSignedRecord`), valid or not: who signed, in which role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorship: Option<SignedStatement>,
    /// The verdict (its fields sit beside the others in the JSON form).
    #[serde(flatten)]
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

    /// The account that signed the TI's statement, when it was signed.
    #[must_use]
    pub fn author(&self) -> Option<Address> {
        self.authorship.as_ref().map(SignedStatement::author)
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
