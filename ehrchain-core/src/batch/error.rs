//! Why a batch could not be built or a proof was refused.

use alloy_primitives::B256;

/// Why a batch could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// No record was added.
    #[error("the batch is empty: add at least one record hash")]
    Empty,
    /// The batch reached its maximum size.
    #[error("the batch is full (at most 4,294,967,295 records); start a new batch")]
    Full,
    /// A record hash was all zeros (the contract refuses it).
    #[error("a record hash is zero; pass the record hash of a generated transaction")]
    ZeroRecordHash,
    /// No record at the index asked for.
    #[error("the batch has no record {index}: it holds {len} records, numbered from 0")]
    NoSuchRecord {
        /// The index asked for.
        index: u32,
        /// The number of records in the batch.
        len: usize,
    },
    /// The TI's record is in the batch already: each TI is anchored once,
    /// with one ACK.
    #[error(
        "TI {0} is in this batch already: a TI is anchored once and gets one ACK; leave the second out"
    )]
    DuplicateTi(B256),
}

/// Why an inclusion proof was refused. Every malformed encoding and every
/// failed check has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// Fewer bytes than the encoding announces.
    #[error("the proof is truncated: {needed} bytes needed, {got} present")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// Bytes follow the last sibling.
    #[error("the proof has {0} unexpected bytes after its last sibling")]
    TrailingBytes(usize),
    /// The bytes or text are not an ehrchain proof.
    #[error("this is not an ehrchain inclusion proof (no EHRP magic or \"EHRP:\" prefix)")]
    NotAProof,
    /// A proof format version this library does not know.
    #[error("proof format version {0} is not supported by this ehrchain version; upgrade ehrchain")]
    UnsupportedVersion(u8),
    /// The text form is not valid base45.
    #[error(
        "the proof text is not valid base45 after \"EHRP:\"; rescan the QR code or paste the whole text"
    )]
    BadText,
    /// The JSON form is malformed.
    #[error("the proof JSON is malformed: {0}")]
    Json(String),
    /// The leaf count is zero.
    #[error("the proof claims a batch of zero records")]
    ZeroLeafCount,
    /// A leaf index is not below the leaf count.
    #[error("leaf index {index} is outside a batch of {leaf_count} records")]
    IndexOutOfRange {
        /// The index.
        index: u32,
        /// The batch's leaf count.
        leaf_count: u32,
    },
    /// The binary form announces more siblings than any batch can need.
    #[error("the proof announces {0} siblings; no batch needs more than 32")]
    TooManySiblings(usize),
    /// The number of proof hashes does not fit the leaf positions.
    #[error(
        "the proof carries {got} hashes but leaf position and batch size call for exactly {expected}"
    )]
    WrongHashCount {
        /// Hashes the tree shape calls for.
        expected: usize,
        /// Hashes present.
        got: usize,
    },
    /// The proof does not lead to the root.
    #[error(
        "the proof does not lead to root {expected} (it leads to {computed}): the record is not in this batch or the proof was altered"
    )]
    RootMismatch {
        /// The root the proof was checked against.
        expected: B256,
        /// The root the proof leads to.
        computed: B256,
    },
    /// The chain holds no batch with this root.
    #[error("no batch with root {0} is anchored on chain")]
    NotAnchored(B256),
    /// The anchored batch has a different leaf count than the proof claims.
    #[error("the anchored batch has {anchored} records but the proof claims {claimed}")]
    LeafCountMismatch {
        /// Leaf count anchored on chain.
        anchored: u32,
        /// Leaf count in the proof.
        claimed: u32,
    },
    /// The anchored batch has a different batch id than the proof claims.
    #[error("the anchored batch has id {anchored} but the proof claims {claimed}")]
    BatchIdMismatch {
        /// Batch id anchored on chain.
        anchored: B256,
        /// Batch id in the proof.
        claimed: B256,
    },
}

impl ProofError {
    /// The error's name in the test vectors of `docs/vectors/proofs.json`
    /// (`truncated`, `wrong_hash_count`, …); JavaScript reports it as the
    /// error's `kind`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Truncated { .. } => "truncated",
            Self::TrailingBytes(_) => "trailing_bytes",
            Self::NotAProof => "not_a_proof",
            Self::UnsupportedVersion(_) => "unsupported_version",
            Self::BadText => "bad_text",
            Self::Json(_) => "json",
            Self::ZeroLeafCount => "zero_leaf_count",
            Self::IndexOutOfRange { .. } => "index_out_of_range",
            Self::TooManySiblings(_) => "too_many_siblings",
            Self::WrongHashCount { .. } => "wrong_hash_count",
            Self::RootMismatch { .. } => "root_mismatch",
            Self::NotAnchored(_) => "not_anchored",
            Self::LeafCountMismatch { .. } => "leaf_count_mismatch",
            Self::BatchIdMismatch { .. } => "batch_id_mismatch",
        }
    }
}
