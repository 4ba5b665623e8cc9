//! Merkle batches: many record hashes anchored under one root, with an
//! inclusion proof per record that OpenZeppelin's `MerkleProof.verify`, Rust,
//! C and JavaScript all accept (`docs/proofs.md`).
//!
//! The tree is an rs_merkle tree whose hasher folds *sorted pairs* with
//! keccak256 and promotes a lone node unchanged, so that proofs verify with
//! OpenZeppelin's commutative hashing. The leaf of a record is derived, never
//! supplied: `keccak256(keccak256(abi.encode(recordHash)))`, which the contract
//! computes itself.

mod error;
mod keccak_many;
mod proof;
mod tree;

use alloy_primitives::{Address, B256, Bytes, keccak256};
use alloy_sol_types::SolCall;
use keccak_many::keccak256_many;
use rs_merkle::Hasher;
use tree::Tree;

pub use error::{BatchError, ProofError};
pub use proof::{
    AnchoredBatch, BatchReader, ChainCheckError, InclusionProof, PROOF_MAGIC, PROOF_TEXT_PREFIX,
    PROOF_VERSION,
};
pub(crate) use proof::{Reader, TAIL_FIXED_LEN, bytes_of_text, text_of};

// `EhrRegistry.anchorBatch`, from the registry interface the contracts
// crate pins to the compiled ABI.
use crate::registry_abi::IEhrRegistry::anchorBatchCall;

/// The most records one batch may hold (the leaf count is a `uint32`).
pub const MAX_BATCH_LEN: usize = u32::MAX as usize;

/// rs_merkle hasher compatible with OpenZeppelin's `MerkleProof`: keccak256
/// over the *sorted* pair of children; a node without a sibling is promoted
/// unchanged.
#[derive(Clone, Copy, Debug)]
pub struct SortedPairKeccak;

impl Hasher for SortedPairKeccak {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> Self::Hash {
        keccak256(data).0
    }

    fn concat_and_hash(left: &Self::Hash, right: Option<&Self::Hash>) -> Self::Hash {
        match right {
            Some(right) => hash_pair(left, right),
            None => *left,
        }
    }
}

/// keccak256 of the two nodes in ascending order (OpenZeppelin's
/// `Hashes.commutativeKeccak256`).
#[must_use]
pub fn hash_pair(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    keccak256(sorted_pair(a, b)).0
}

/// The two nodes in ascending order, side by side: what [`hash_pair`] hashes.
fn sorted_pair(a: &[u8; 32], b: &[u8; 32]) -> [u8; 64] {
    let mut buf = [0u8; 64];
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    buf[..32].copy_from_slice(lo);
    buf[32..].copy_from_slice(hi);
    buf
}

/// How many leaves [`leaves_into`] hashes per step (two 8 KiB buffers on
/// the stack).
const LEAF_BLOCK: usize = 256;

/// The leaves of `record_hashes` into `leaves` (as many as both hold), a
/// block at a time (in SIMD lanes with the `simd-keccak` feature): [`leaf_of`]
/// for many records.
fn leaves_into(record_hashes: &[B256], leaves: &mut [[u8; 32]]) {
    let mut encoded = [[0u8; 32]; LEAF_BLOCK];
    let mut inner = [[0u8; 32]; LEAF_BLOCK];
    for (hashes, out) in record_hashes
        .chunks(LEAF_BLOCK)
        .zip(leaves.chunks_mut(LEAF_BLOCK))
    {
        for (slot, hash) in encoded.iter_mut().zip(hashes) {
            *slot = hash.0;
        }
        let n = hashes.len();
        keccak256_many(encoded.get(..n).unwrap_or_default(), &mut inner);
        keccak256_many(inner.get(..n).unwrap_or_default(), out);
    }
}

/// The Merkle leaf of a record: `keccak256(keccak256(abi.encode(recordHash)))`
/// (OpenZeppelin's standard double-hashed leaf; `abi.encode` of a `bytes32` is
/// the 32 bytes themselves).
#[must_use]
pub fn leaf_of(record_hash: &B256) -> B256 {
    keccak256(keccak256(record_hash))
}

/// The leaves of `record_hashes`, hashed on every core the host has when the
/// `parallel` feature is on (never on `wasm32`, which has no threads).
fn leaves_of(record_hashes: &[B256]) -> Vec<[u8; 32]> {
    #[cfg(all(feature = "parallel", not(target_family = "wasm")))]
    {
        const MIN_PER_THREAD: usize = 4 * 1024;
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        if threads > 1 && record_hashes.len() >= 2 * MIN_PER_THREAD {
            let mut leaves = vec![[0u8; 32]; record_hashes.len()];
            let chunk = record_hashes.len().div_ceil(threads);
            std::thread::scope(|scope| {
                for (out, input) in leaves.chunks_mut(chunk).zip(record_hashes.chunks(chunk)) {
                    scope.spawn(move || leaves_into(input, out));
                }
            });
            return leaves;
        }
    }
    let mut leaves = vec![[0u8; 32]; record_hashes.len()];
    leaves_into(record_hashes, &mut leaves);
    leaves
}

/// Collects record hashes (from [`ChainTransaction`](crate::ChainTransaction)s)
/// for one batch.
#[derive(Clone, Debug, Default)]
pub struct BatchBuilder {
    record_hashes: Vec<B256>,
}

impl BatchBuilder {
    /// An empty builder.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty builder with room for `n` records.
    #[must_use]
    pub fn with_capacity(n: usize) -> Self {
        Self {
            record_hashes: Vec::with_capacity(n),
        }
    }

    /// Adds a record hash; returns its index (leaf position) in the batch.
    ///
    /// # Errors
    /// [`BatchError::ZeroRecordHash`] for an all-zero hash,
    /// [`BatchError::Full`] beyond [`MAX_BATCH_LEN`] records.
    pub fn push(&mut self, record_hash: B256) -> Result<u32, BatchError> {
        if record_hash.is_zero() {
            return Err(BatchError::ZeroRecordHash);
        }
        let index = u32::try_from(self.record_hashes.len()).map_err(|_| BatchError::Full)?;
        if index == u32::MAX {
            return Err(BatchError::Full);
        }
        self.record_hashes.push(record_hash);
        Ok(index)
    }

    /// How many records the batch holds so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.record_hashes.len()
    }

    /// Whether no record was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.record_hashes.is_empty()
    }

    /// Builds the tree. `batch_id` is the host's idempotency key for the batch
    /// (it goes on chain beside the root).
    ///
    /// # Errors
    /// [`BatchError::Empty`] when no record was added.
    pub fn build(self, batch_id: B256) -> Result<Batch, BatchError> {
        let leaf_count = u32::try_from(self.record_hashes.len()).map_err(|_| BatchError::Full)?;
        if leaf_count == 0 {
            return Err(BatchError::Empty);
        }
        let leaves = leaves_of(&self.record_hashes);
        // A full set of leaves always builds; `None` would mean no leaves.
        let tree = Tree::build(&leaves).ok_or(BatchError::Empty)?;
        drop(leaves);
        let root = B256::from(tree.root());
        Ok(Batch {
            batch_id,
            root,
            leaf_count,
            tree,
            record_hashes: self.record_hashes,
        })
    }
}

/// A built batch: its root, its records and their proofs.
pub struct Batch {
    batch_id: B256,
    root: B256,
    leaf_count: u32,
    /// rs_merkle's layers, leaves first (`PartialTree` rather than
    /// `MerkleTree`, which would keep a second copy as commit history).
    tree: Tree,
    record_hashes: Vec<B256>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("batch_id", &self.batch_id)
            .field("root", &self.root)
            .field("leaf_count", &self.leaf_count)
            .finish_non_exhaustive()
    }
}

/// The transaction that anchors a batch root (`anchorBatch(root, leafCount,
/// batchId)`, or `anchorSignedBatch` for a signed batch).
///
/// JSON form (camelCase): `{"to", "chainId", "calldata", "batchId", "root",
/// "leafCount"}`, what a host that sends it itself reads.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchTransaction {
    /// The `EhrRegistry` contract called.
    pub to: Address,
    /// The chain the transaction is for.
    pub chain_id: u64,
    /// ABI-encoded `anchorBatch` call.
    pub calldata: Bytes,
    /// The batch id.
    pub batch_id: B256,
    /// The root anchored.
    pub root: B256,
    /// The number of leaves anchored with the root.
    pub leaf_count: u32,
}

impl Batch {
    /// The batch id given to [`BatchBuilder::build`].
    #[must_use]
    pub fn batch_id(&self) -> B256 {
        self.batch_id
    }

    /// The Merkle root.
    #[must_use]
    pub fn root(&self) -> B256 {
        self.root
    }

    /// The number of records (leaves).
    #[must_use]
    pub fn leaf_count(&self) -> u32 {
        self.leaf_count
    }

    /// The record hashes, in leaf order.
    #[must_use]
    pub fn record_hashes(&self) -> &[B256] {
        &self.record_hashes
    }

    /// The inclusion proof of the record at `index`.
    ///
    /// # Errors
    /// [`BatchError::NoSuchRecord`] past the end of the batch.
    pub fn proof(&self, index: u32) -> Result<InclusionProof, BatchError> {
        let record_hash =
            *self
                .record_hashes
                .get(index as usize)
                .ok_or(BatchError::NoSuchRecord {
                    index,
                    len: self.record_hashes.len(),
                })?;
        let mut position = index as usize;
        let mut siblings = Vec::new();
        for level in 0..self.tree.levels() {
            if let Some(sibling) = self.tree.node(level, position ^ 1) {
                siblings.push(B256::from(sibling));
            }
            position /= 2;
        }
        Ok(InclusionProof {
            record_hash,
            batch_id: self.batch_id,
            root: self.root,
            leaf_count: self.leaf_count,
            index,
            siblings,
        })
    }

    /// The transaction anchoring this batch on `registry`.
    #[must_use]
    pub fn anchor_transaction(&self, registry: Address, chain_id: u64) -> BatchTransaction {
        let call = anchorBatchCall {
            root: self.root,
            leafCount: self.leaf_count,
            batchId: self.batch_id,
        };
        BatchTransaction {
            to: registry,
            chain_id,
            calldata: call.abi_encode().into(),
            batch_id: self.batch_id,
            root: self.root,
            leaf_count: self.leaf_count,
        }
    }
}

#[cfg(test)]
mod tests;
