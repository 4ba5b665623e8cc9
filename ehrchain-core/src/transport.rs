//! The `Transport` trait: how a host with a blocking connection to the chain
//! lets the [`TransactionValidator`](crate::TransactionValidator) reach it, and
//! the plain data that crosses it. Async hosts do not implement it: they feed
//! the same data into the validator's `handle_*` methods themselves.

use alloy_primitives::{Address, B256, Bytes, LogData};
use alloy_sol_types::SolEvent;
use serde::{Deserialize, Serialize};

use crate::batch::{BatchReader, BatchTransaction};
use crate::error::ErrorCode;
use crate::finality::{BlockRef, FinalityTag};
use crate::generator::ChainTransaction;
use crate::registry_abi::IEhrRegistry;

/// A transaction hash as the chain (or the transport) names a submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TxHash(pub B256);

impl std::fmt::Display for TxHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

crate::json::internally_tagged! {
    tag = "kind", rename_all = "snake_case", rename_all_fields = "camelCase";
    /// What a submission anchors.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
    pub enum Anchoring {
        /// One record (`anchorRecord`).
        Record {
            /// The TI id.
            ti_id: B256,
            /// The record hash.
            record_hash: B256,
        },
        /// A batch root (`anchorBatch`).
        Batch {
            /// The batch id.
            batch_id: B256,
            /// The Merkle root.
            root: B256,
            /// The number of records under the root.
            leaf_count: u32,
        },
    }
}

/// A transaction for the transport to send: a TC or a batch transaction,
/// without the sealed record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Submission {
    /// The `EhrRegistry` contract called.
    pub to: Address,
    /// The chain the transaction is for; a transport on another chain must
    /// refuse it with [`TransportError::WrongChain`].
    pub chain_id: u64,
    /// ABI-encoded call.
    pub calldata: Bytes,
    /// What it anchors.
    pub anchoring: Anchoring,
}

impl From<&ChainTransaction> for Submission {
    fn from(tc: &ChainTransaction) -> Self {
        Self {
            to: tc.to,
            chain_id: tc.chain_id,
            calldata: tc.calldata.clone(),
            anchoring: Anchoring::Record {
                ti_id: tc.ti_id,
                record_hash: tc.record_hash,
            },
        }
    }
}

impl From<&BatchTransaction> for Submission {
    fn from(tx: &BatchTransaction) -> Self {
        Self {
            to: tx.to,
            chain_id: tx.chain_id,
            calldata: tx.calldata.clone(),
            anchoring: Anchoring::Batch {
                batch_id: tx.batch_id,
                root: tx.root,
                leaf_count: tx.leaf_count,
            },
        }
    }
}

impl Submission {
    /// Whether a log emitted by `emitter` is the event this submission's
    /// success emits (`RecordAnchored` for its TI id and record hash, or
    /// `BatchAnchored` for its root). Transports use it to fill
    /// [`TxReceipt::anchor_log_index`].
    #[must_use]
    pub fn is_anchoring_event(&self, emitter: Address, log: &LogData) -> bool {
        if emitter != self.to {
            return false;
        }
        match self.anchoring {
            Anchoring::Record { ti_id, record_hash } => {
                IEhrRegistry::RecordAnchored::decode_log_data(log)
                    .is_ok_and(|e| e.tiId == ti_id && e.recordHash == record_hash)
            }
            Anchoring::Batch {
                root, leaf_count, ..
            } => IEhrRegistry::BatchAnchored::decode_log_data(log)
                .is_ok_and(|e| e.root == root && e.leafCount == leaf_count),
        }
    }
}

/// A receipt: what a mined transaction did, reduced to what the validator and
/// the host's database need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxReceipt {
    /// The transaction.
    pub tx_hash: TxHash,
    /// `true` for receipt status 1 (success), `false` for 0 (reverted or halted).
    pub status: bool,
    /// The block that holds the transaction.
    pub block_number: u64,
    /// That block's hash (a different hash at the same height means a reorg).
    pub block_hash: B256,
    /// The block-wide log index of the anchoring event
    /// ([`Submission::is_anchoring_event`]), when the transaction emitted it.
    pub anchor_log_index: Option<u64>,
    /// Gas used by the transaction.
    pub gas_used: u64,
    /// The revert data of a failed transaction (empty when the node gives none).
    pub revert_data: Option<Bytes>,
}

crate::json::internally_tagged! {
    tag = "status", rename_all = "snake_case" [content = "receipt"];
    /// Where a submitted transaction stands.
    ///
    /// JSON form: `{"status": "pending"}`, `{"status": "dropped"}`, or
    /// `{"status": "included", "receipt": {…}}` (the receipt has a `status` of its
    /// own, so it cannot share the object).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
    pub enum SubmissionStatus {
        /// Known to the node, not in a block yet.
        Pending,
        /// In a block of the canonical chain.
        Included(TxReceipt),
        /// The node no longer knows it (evicted, replaced, or reorged out and not
        /// re-added): it will not be mined unless sent again.
        Dropped,
    }
}

crate::json::internally_tagged! {
    tag = "error", rename_all = "snake_case", rename_all_fields = "camelCase" [content = "detail"]
    [repr_derive(Debug, thiserror::Error)];
    /// Why a transport call failed. [`TransportError::is_retryable`] tells the
    /// validator whether to try again (with backoff) or give up at once.
    ///
    /// JSON form (in ACKs and audit entries): the kind under `error`, its data
    /// under `detail`: `{"error": "unavailable", "detail": "connection refused"}`,
    /// `{"error": "wrong_chain", "detail": {"expected": 1337, "actual": 1}}`,
    /// `{"error": "reverted", "detail": {"data": "0x…", "txHash": "0x…", "message": "…"}}`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
    #[non_exhaustive]
    pub enum TransportError {
        /// The node could not be reached or did not answer in time. Retryable.
        #[error(
            "the Ethereum node is unreachable or timed out ({0}); check the node URL, that the node is running and the network between them"
        )]
        Unavailable(String),
        /// The node asked the client to slow down. Retryable.
        #[error(
            "the Ethereum node is rate-limiting requests ({0}); lower the request rate or raise the node's limit"
        )]
        RateLimited(String),
        /// The node refused the transaction for a reason that sending it again
        /// will not fix (no funds for gas, a gas limit below the need, a locked
        /// account, malformed data). Permanent.
        #[error(
            "the Ethereum node refused the transaction: {0}; fix the sending account or node configuration"
        )]
        Rejected(String),
        /// The node is on another chain than the transaction. Permanent.
        #[error(
            "the transaction is for chain {expected} but the node is on {}; point the handshaker at the right node",
            actual.map_or_else(|| "another chain".to_owned(), |a| format!("chain {a}"))
        )]
        WrongChain {
            /// The chain id of the transaction.
            expected: u64,
            /// The node's chain id, when the transport read it.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            actual: Option<u64>,
        },
        /// The node answered with something the transport could not read. Permanent.
        #[error("the Ethereum node answered with data ehrchain cannot read: {0}")]
        Malformed(String),
        /// The call, its gas estimate or the mined transaction reverted; the
        /// revert data is decoded against the registry's errors in the message.
        /// Permanent: the same transaction reverts again.
        #[error("{0}")]
        Reverted(crate::rpc::Revert),
    }
}

impl TransportError {
    /// The error a host reports with a code of its own (a C callback's
    /// `ehr_result`, say): the transport codes keep their meaning, anything
    /// else is an answer ehrchain cannot read. `expected_chain` is the chain
    /// the transport is for (a host's `EHR_TRANSPORT_WRONG_CHAIN` names no
    /// other chain).
    #[must_use]
    pub fn from_code(code: Option<ErrorCode>, expected_chain: u64, detail: String) -> Self {
        match code {
            Some(ErrorCode::TransportUnavailable) => Self::Unavailable(detail),
            Some(ErrorCode::TransportRateLimited) => Self::RateLimited(detail),
            Some(ErrorCode::TransportRejected) => Self::Rejected(detail),
            Some(ErrorCode::TransportWrongChain) => Self::WrongChain {
                expected: expected_chain,
                actual: None,
            },
            Some(ErrorCode::TransportReverted) => Self::Reverted(crate::rpc::Revert {
                data: alloy_primitives::Bytes::new(),
                tx_hash: None,
                message: detail,
            }),
            _ => Self::Malformed(detail),
        }
    }

    /// Whether the same call may succeed when tried again later.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::RateLimited(_))
    }

    /// The variant's name, as in the JSON form's `error` (`unavailable`,
    /// `wrong_chain`, …).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "unavailable",
            Self::RateLimited(_) => "rate_limited",
            Self::Rejected(_) => "rejected",
            Self::WrongChain { .. } => "wrong_chain",
            Self::Malformed(_) => "malformed",
            Self::Reverted(_) => "reverted",
        }
    }
}

/// A blocking connection to the chain, as [`run_blocking`](crate::run_blocking)
/// uses it. It extends [`BatchReader`] (the read side proofs need).
///
/// Implementations must be honest about ambiguity: when a submission may or
/// may not have reached the node, return a retryable error; the validator
/// sends again and the registry refuses a second anchoring of the same TI id
/// or root, which the validator recognises as "already anchored".
///
/// A transport that wraps another one (to count, log or throttle what is
/// sent) implements both traits by delegation:
///
/// ```
/// use ehrchain_core::{
///     Address, AnchoredBatch, B256, BatchReader, Submission, SubmissionStatus, Transport,
///     TransportError, TxHash,
/// };
///
/// /// Counts the transactions sent through `inner`.
/// struct Counting<T> {
///     inner: T,
///     sent: u32,
/// }
///
/// impl<T: Transport> BatchReader for Counting<T> {
///     type Error = TransportError;
///     fn anchored_batch(&mut self, root: &B256) -> Result<Option<AnchoredBatch>, TransportError> {
///         self.inner.anchored_batch(root)
///     }
/// }
///
/// impl<T: Transport> Transport for Counting<T> {
///     fn chain_id(&self) -> u64 {
///         self.inner.chain_id()
///     }
///     fn registry(&self) -> Address {
///         self.inner.registry()
///     }
///     fn submit(&mut self, submission: &Submission) -> Result<TxHash, TransportError> {
///         self.sent += 1;
///         self.inner.submit(submission)
///     }
///     fn poll(&mut self, tx: &TxHash, s: &Submission) -> Result<SubmissionStatus, TransportError> {
///         self.inner.poll(tx, s)
///     }
///     fn head(&mut self) -> Result<u64, TransportError> {
///         self.inner.head()
///     }
///     fn record_hash_of(&mut self, ti_id: &B256) -> Result<Option<B256>, TransportError> {
///         self.inner.record_hash_of(ti_id)
///     }
/// }
/// ```
///
/// The contracts crate has the two real ones: the in-process devnet and a
/// JSON-RPC transport for any EVM node.
pub trait Transport: BatchReader<Error = TransportError> {
    /// The chain this transport reaches (its EIP-155 chain id).
    fn chain_id(&self) -> u64;

    /// The `EhrRegistry` contract this transport reads and sends to.
    fn registry(&self) -> Address;

    /// Sends a transaction; returns its hash.
    ///
    /// # Errors
    /// [`TransportError`]: retryable when the node could not be reached,
    /// permanent when it refused the transaction.
    fn submit(&mut self, submission: &Submission) -> Result<TxHash, TransportError>;

    /// Where a submitted transaction stands. `submission` is what was sent
    /// (to find the anchoring event in the receipt's logs).
    ///
    /// # Errors
    /// [`TransportError`] when the node could not be asked.
    fn poll(
        &mut self,
        tx_hash: &TxHash,
        submission: &Submission,
    ) -> Result<SubmissionStatus, TransportError>;

    /// The number of the chain's latest block.
    ///
    /// # Errors
    /// [`TransportError`] when the node could not be asked.
    fn head(&mut self) -> Result<u64, TransportError>;

    /// The record hash anchored under a TI id (`recordHashOf`), or `None`.
    ///
    /// # Errors
    /// [`TransportError`] when the node could not be asked.
    fn record_hash_of(&mut self, ti_id: &B256) -> Result<Option<B256>, TransportError>;

    /// The node's block under `tag` (`safe`, `finalized`), or `None` while
    /// it names none: what finality by tag reads
    /// ([`Transmit::ReadBlock`](crate::validator::Transmit::ReadBlock)).
    /// The default refuses: a transport without it serves depth finality
    /// only.
    ///
    /// # Errors
    /// [`TransportError`] when the node could not be asked or refuses the
    /// tag.
    fn block_at(&mut self, tag: FinalityTag) -> Result<Option<BlockRef>, TransportError> {
        Err(TransportError::Rejected(format!(
            "this transport cannot read the node's {} block; configure depth finality (confirmations)",
            tag.name()
        )))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn transport_errors_round_trip_through_json() {
        // Every variant serialises (an internally tagged enum cannot hold the
        // string variants), so ACKs and audit entries that carry one do too.
        for (error, json) in [
            (
                TransportError::Unavailable("connection refused".into()),
                r#"{"error":"unavailable","detail":"connection refused"}"#,
            ),
            (
                TransportError::RateLimited("429".into()),
                r#"{"error":"rate_limited","detail":"429"}"#,
            ),
            (
                TransportError::Rejected("user rejected".into()),
                r#"{"error":"rejected","detail":"user rejected"}"#,
            ),
            (
                TransportError::WrongChain {
                    expected: 1337,
                    actual: Some(1),
                },
                r#"{"error":"wrong_chain","detail":{"expected":1337,"actual":1}}"#,
            ),
            (
                TransportError::Malformed("bad hex".into()),
                r#"{"error":"malformed","detail":"bad hex"}"#,
            ),
            (
                TransportError::Reverted(crate::rpc::Revert {
                    data: Bytes::from_static(&[0xe2, 0x51]),
                    tx_hash: Some(TxHash(B256::repeat_byte(0xab))),
                    message: "execution reverted".into(),
                }),
                r#"{"error":"reverted","detail":{"data":"0xe251","txHash":"0xabababababababababababababababababababababababababababababababab","message":"execution reverted"}}"#,
            ),
        ] {
            assert_eq!(serde_json::to_string(&error).unwrap(), json);
            assert_eq!(serde_json::from_str::<TransportError>(json).unwrap(), error);
        }
    }

    #[test]
    fn submission_statuses_round_trip_through_json() {
        let receipt = TxReceipt {
            tx_hash: TxHash(B256::repeat_byte(1)),
            status: false,
            block_number: 7,
            block_hash: B256::repeat_byte(2),
            anchor_log_index: None,
            gas_used: 21_000,
            revert_data: Some(Bytes::from_static(&[0xe2, 0x51])),
        };
        for (status, json) in [
            (
                SubmissionStatus::Pending,
                r#"{"status":"pending"}"#.to_owned(),
            ),
            (
                SubmissionStatus::Dropped,
                r#"{"status":"dropped"}"#.to_owned(),
            ),
            (
                SubmissionStatus::Included(receipt.clone()),
                format!(
                    r#"{{"status":"included","receipt":{}}}"#,
                    serde_json::to_string(&receipt).unwrap()
                ),
            ),
        ] {
            assert_eq!(serde_json::to_string(&status).unwrap(), json);
            assert_eq!(
                serde_json::from_str::<SubmissionStatus>(&json).unwrap(),
                status
            );
        }
    }
}
