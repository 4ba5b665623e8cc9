//! The audit trail: what happened to a submission ([`AuditEvent`]), when
//! ([`AuditEntry`]), and what a read of the registry found ([`ChainHolds`]).

use alloy_primitives::B256;
use serde::{Deserialize, Serialize};

use crate::time::UnixMillis;
use crate::transport::{TransportError, TxHash, TxReceipt};

/// Something that happened to a submission, for the host's audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "event",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
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
#[serde(
    tag = "holds",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
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
