//! The audit trail: what happened to a submission ([`AuditEvent`]), when
//! ([`AuditEntry`]), and what a read of the registry found ([`ChainHolds`]).

use alloy_primitives::{Address, B256, Bytes};
use serde::{Deserialize, Serialize};

use crate::batch::AnchoredBatch;
use crate::time::UnixMillis;
use crate::transport::{Anchoring, TransportError, TxHash, TxReceipt};

crate::json::internally_tagged! {
    tag = "event", rename_all = "snake_case", rename_all_fields = "camelCase";
    /// Something that happened to a submission, for the host's audit log.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
            /// For a TC its author signed: the author.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            author: Option<Address>,
            /// For a TC its author signed: the signature (`r ‖ s ‖ v`).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            signature: Option<Bytes>,
        },
    }
}

crate::json::internally_tagged! {
    tag = "holds", rename_all = "snake_case", rename_all_fields = "camelCase";
    /// What a read of the registry found, compared with this submission.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
}

impl ChainHolds {
    /// What a read of the registry (`stored`: the answer to a
    /// [`Transmit::ReadRecord`](super::Transmit::ReadRecord) or
    /// [`Transmit::ReadBatch`](super::Transmit::ReadBatch)) says about what
    /// `anchoring` anchors; `None` when the read does not fit the anchoring
    /// (a batch for a record, say). A batch id of `None` (a reader that does
    /// not look at logs) is not compared.
    pub(crate) fn judge(anchoring: &Anchoring, stored: RegistryRead) -> Option<Self> {
        Some(match (*anchoring, stored) {
            (Anchoring::Record { .. }, RegistryRead::Record(None))
            | (Anchoring::Batch { .. }, RegistryRead::Batch(None)) => Self::Nothing,
            (Anchoring::Record { record_hash, .. }, RegistryRead::Record(Some(hash))) => {
                if hash == record_hash {
                    Self::Ours
                } else {
                    Self::OtherHash { record_hash: hash }
                }
            }
            (
                Anchoring::Batch {
                    batch_id,
                    root,
                    leaf_count,
                },
                RegistryRead::Batch(Some(b)),
            ) => {
                if b.root == root
                    && b.leaf_count == leaf_count
                    && b.batch_id.is_none_or(|id| id == batch_id)
                {
                    Self::Ours
                } else {
                    Self::OtherBatch {
                        leaf_count: b.leaf_count,
                        batch_id: b.batch_id,
                    }
                }
            }
            _ => return None,
        })
    }

    /// The answer to a read of the registry about what `anchoring` anchors
    /// (`None`: nothing is anchored, so no read was asked for): a transport
    /// failure as it came, or what the chain holds ([`ChainHolds::judge`]).
    /// `None` when the answer cannot be taken (no anchoring, or a read that
    /// does not fit it).
    pub(crate) fn judge_answer(
        anchoring: Option<&Anchoring>,
        answer: Result<RegistryRead, TransportError>,
    ) -> Option<Result<Self, TransportError>> {
        match (anchoring, answer) {
            (Some(anchoring), Ok(read)) => Self::judge(anchoring, read).map(Ok),
            (Some(_), Err(error)) => Some(Err(error)),
            (None, _) => None,
        }
    }
}

/// What a read of the registry returned: the record hash under a TI id, or
/// the batch under a root.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RegistryRead {
    /// `recordHashOf(tiId)`.
    Record(Option<B256>),
    /// `batchOf(root)`.
    Batch(Option<AnchoredBatch>),
}

/// One audit log line: when (host clock) and what. Serialised as
/// `{"at": <Unix milliseconds>, "event": …}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Host time.
    pub at: UnixMillis,
    /// What happened.
    pub event: AuditEvent,
}

/// The audit event of `r`'s transaction leaving its block.
pub(super) fn reorged(r: &TxReceipt) -> AuditEvent {
    AuditEvent::Reorged {
        tx_hash: r.tx_hash,
        block_number: r.block_number,
    }
}

/// The audit event of `r`'s transaction found in a block.
pub(super) fn included(r: &TxReceipt) -> AuditEvent {
    AuditEvent::Included {
        tx_hash: r.tx_hash,
        block_number: r.block_number,
        block_hash: r.block_hash,
    }
}
