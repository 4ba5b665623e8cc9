//! Inclusion proofs: verification and the binary, text (QR) and JSON forms.

use std::borrow::Borrow;

use alloy_primitives::B256;
use serde::{Deserialize, Serialize};

use crate::registry_abi::IEhrRegistry;

use super::{ProofError, hash_pair, keccak256_many, leaf_of, leaves_into, sorted_pair};

/// The four bytes every binary proof starts with: `EHRP`.
pub const PROOF_MAGIC: [u8; 4] = *b"EHRP";
/// The proof format version this library writes.
pub const PROOF_VERSION: u8 = 1;
/// The prefix of the text form: `EHRP:` then base45 (RFC 9285) of the binary form.
pub const PROOF_TEXT_PREFIX: &str = "EHRP:";
/// Bytes before the siblings in the binary form.
const FIXED_LEN: usize = 4 + 1 + 32 * 3 + 4 + 4 + 1;
/// Most siblings a proof can have (a batch holds fewer than 2^32 leaves).
const MAX_SIBLINGS: usize = 32;
/// Bytes of the binary form from the batch id to the sibling count: what
/// every proof version ends with before its siblings.
pub(crate) const TAIL_FIXED_LEN: usize = 32 + 32 + 4 + 4 + 1;
/// How many proofs [`InclusionProof::verify_many`] folds level by level
/// together (a 16 KiB buffer of pairs).
pub(super) const VERIFY_BLOCK: usize = 256;

/// A batch as anchored on chain, as the host read it through its transport.
///
/// The registry stores the leaf count beside the root; the batch id is only in
/// the `BatchAnchored` event, so a reader that does not look at logs leaves it
/// `None` and the batch id is then not checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnchoredBatch {
    /// The anchored root.
    pub root: B256,
    /// The leaf count anchored beside the root.
    pub leaf_count: u32,
    /// The batch id of the `BatchAnchored` event, when the reader has it.
    pub batch_id: Option<B256>,
}

impl AnchoredBatch {
    /// The batch the registry's `batchOf(root)` answer names, or `None` when
    /// no batch is anchored under `root` (the registry refuses a zero leaf
    /// count, so zero means "not anchored"). The batch id is only in the
    /// `BatchAnchored` event, so it is `None`.
    #[must_use]
    pub fn of_batch_of(root: B256, answer: &IEhrRegistry::batchOfReturn) -> Option<Self> {
        (answer.leafCount > 0).then_some(Self {
            root,
            leaf_count: answer.leafCount,
            batch_id: None,
        })
    }
}

/// Read access to the batches anchored on chain: the part of a transport that
/// checking a proof needs. Hosts with a blocking transport implement it (the
/// devnet does); async hosts read the batch themselves and call
/// [`InclusionProof::verify_anchored`].
pub trait BatchReader {
    /// Why the chain could not be read (a transport failure).
    type Error: std::error::Error;

    /// The batch anchored under `root`, or `None` when there is none.
    ///
    /// # Errors
    /// When the chain cannot be read.
    fn anchored_batch(&mut self, root: &B256) -> Result<Option<AnchoredBatch>, Self::Error>;
}

/// Why a proof did not check out against the chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainCheckError<E: std::error::Error> {
    /// The proof is malformed, not anchored, or does not match the anchored batch.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The chain could not be read; the proof is neither confirmed nor refuted.
    #[error("could not read the chain to check the proof: {0}")]
    Chain(E),
}

/// The proof that one record is in an anchored batch: what a patient, an
/// auditor or a pharmacist scanning a pack holds.
///
/// ```
/// use ehrchain_core::{AnchoredBatch, B256, BatchBuilder, ErrorCode, InclusionProof};
///
/// # fn main() -> Result<(), ehrchain_core::Error> {
/// let mut builder = BatchBuilder::new();
/// for i in 1..=3u8 {
///     builder.push(B256::repeat_byte(i))?; // record hashes of three TCs
/// }
/// let batch = builder.build(B256::repeat_byte(0xba))?;
///
/// // The QR text printed on a report, read back and checked offline...
/// let text = batch.proof(1)?.to_text();
/// let proof = InclusionProof::from_text(&text)?;
/// proof.verify()?;
/// // ...and against what the chain holds for its root.
/// let anchored = AnchoredBatch { root: batch.root(), leaf_count: 3, batch_id: None };
/// proof.verify_anchored(&anchored)?;
///
/// // A proof for another record fails with a stable code.
/// let mut forged = proof.clone();
/// forged.record_hash = B256::repeat_byte(9);
/// assert_eq!(forged.verify().unwrap_err().code(), ErrorCode::ProofInvalid);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ProofJson", into = "ProofJson")]
pub struct InclusionProof {
    /// The record hash (SHA-256 of the sealed envelope).
    pub record_hash: B256,
    /// The batch id.
    pub batch_id: B256,
    /// The batch root.
    pub root: B256,
    /// The number of records in the batch.
    pub leaf_count: u32,
    /// The record's leaf position. Sorted-pair hashing carries no position, so
    /// the index only locates the leaf (and fixes how many siblings the proof
    /// must have); it is not proven by the hashes.
    pub index: u32,
    /// Sibling hashes from the leaf up to the root.
    pub siblings: Vec<B256>,
}

/// The JSON form, with an explicit version.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProofJson {
    version: u8,
    record_hash: B256,
    batch_id: B256,
    root: B256,
    leaf_count: u32,
    index: u32,
    siblings: Vec<B256>,
}

impl From<InclusionProof> for ProofJson {
    fn from(p: InclusionProof) -> Self {
        Self {
            version: PROOF_VERSION,
            record_hash: p.record_hash,
            batch_id: p.batch_id,
            root: p.root,
            leaf_count: p.leaf_count,
            index: p.index,
            siblings: p.siblings,
        }
    }
}

impl TryFrom<ProofJson> for InclusionProof {
    type Error = ProofError;
    fn try_from(j: ProofJson) -> Result<Self, ProofError> {
        if j.version != PROOF_VERSION {
            return Err(ProofError::UnsupportedVersion(j.version));
        }
        let proof = Self {
            record_hash: j.record_hash,
            batch_id: j.batch_id,
            root: j.root,
            leaf_count: j.leaf_count,
            index: j.index,
            siblings: j.siblings,
        };
        proof.check_shape()?;
        Ok(proof)
    }
}

/// The number of siblings a proof of leaf `index` has in a tree of
/// `leaf_count` leaves where a lone node is promoted without a sibling.
fn expected_siblings(index: u32, leaf_count: u32) -> usize {
    let (mut i, mut n, mut count) = (u64::from(index), u64::from(leaf_count), 0);
    while n > 1 {
        if (i ^ 1) < n {
            count += 1;
        }
        i /= 2;
        n = n.div_ceil(2);
    }
    count
}

impl InclusionProof {
    /// The Merkle leaf of the record.
    #[must_use]
    pub fn leaf(&self) -> B256 {
        leaf_of(&self.record_hash)
    }

    /// The root the siblings lead to (OpenZeppelin's `processProof`).
    #[must_use]
    pub fn computed_root(&self) -> B256 {
        let mut node = self.leaf().0;
        for sibling in &self.siblings {
            node = hash_pair(&node, &sibling.0);
        }
        B256::from(node)
    }

    /// Checks that index, leaf count and sibling count fit together.
    pub(crate) fn check_shape(&self) -> Result<(), ProofError> {
        if self.leaf_count == 0 {
            return Err(ProofError::ZeroLeafCount);
        }
        if self.index >= self.leaf_count {
            return Err(ProofError::IndexOutOfRange {
                index: self.index,
                leaf_count: self.leaf_count,
            });
        }
        let expected = expected_siblings(self.index, self.leaf_count);
        if self.siblings.len() != expected {
            return Err(ProofError::WrongHashCount {
                expected,
                got: self.siblings.len(),
            });
        }
        Ok(())
    }

    /// Verifies the proof against its own root: the shape fits the claimed
    /// position and batch size, and the siblings lead to `root`.
    ///
    /// # Errors
    /// The first failed check.
    pub fn verify(&self) -> Result<(), ProofError> {
        self.check_shape()?;
        let computed = self.computed_root();
        if computed != self.root {
            return Err(ProofError::RootMismatch {
                expected: self.root,
                computed,
            });
        }
        Ok(())
    }

    /// Verifies many proofs, with the same checks and the same result for each
    /// as [`InclusionProof::verify`], in the same order.
    ///
    /// One proof is a chain of hashes, each needing the one before; many
    /// proofs have independent chains, hashed here level by level. With the
    /// `simd-keccak` feature a level's Keccak-256 run side by side in SIMD
    /// lanes: with AVX-512 eight cost about what one does, so an auditor or a
    /// pharmacy back office checking proofs in bulk verifies several times
    /// more per second than with `verify` in a loop. Without the feature, on
    /// CPUs without such SIMD and on wasm it is about as fast as that loop.
    ///
    /// Takes proofs or references to them (`&[InclusionProof]`,
    /// `&[&InclusionProof]`), so proofs held apart need not be copied.
    #[must_use]
    pub fn verify_many<P: Borrow<Self>>(proofs: &[P]) -> Vec<Result<(), ProofError>> {
        let mut results = Vec::with_capacity(proofs.len());
        let mut folds = Folds::default();
        for block in proofs.chunks(VERIFY_BLOCK) {
            folds.verify(block, &mut results);
        }
        results
    }

    /// Verifies the proof against a batch as anchored on chain: first as
    /// [`InclusionProof::verify`], then root, leaf count and batch id must all
    /// match the anchored ones.
    ///
    /// # Errors
    /// The first failed check.
    pub fn verify_anchored(&self, anchored: &AnchoredBatch) -> Result<(), ProofError> {
        self.verify()?;
        if anchored.root != self.root {
            return Err(ProofError::RootMismatch {
                expected: anchored.root,
                computed: self.root,
            });
        }
        if anchored.leaf_count != self.leaf_count {
            return Err(ProofError::LeafCountMismatch {
                anchored: anchored.leaf_count,
                claimed: self.leaf_count,
            });
        }
        if let Some(anchored_id) = anchored.batch_id
            && anchored_id != self.batch_id
        {
            return Err(ProofError::BatchIdMismatch {
                anchored: anchored_id,
                claimed: self.batch_id,
            });
        }
        Ok(())
    }

    /// [`verify_anchored`](Self::verify_anchored) against what a read of the
    /// registry under the proof's root gave: `None` (no batch there) is
    /// [`ProofError::NotAnchored`]. Returns the anchored batch.
    ///
    /// # Errors
    /// The first failed check.
    pub fn verify_read(
        &self,
        anchored: Option<&AnchoredBatch>,
    ) -> Result<AnchoredBatch, ProofError> {
        let Some(anchored) = anchored else {
            // The proof on its own first, as on chain: a tampered proof is
            // invalid, whatever the chain holds.
            self.verify()?;
            return Err(ProofError::NotAnchored(self.root));
        };
        self.verify_anchored(anchored)?;
        Ok(*anchored)
    }

    /// Verifies the proof, then reads the batch anchored under its root through
    /// `chain` and checks leaf count (and batch id, when the reader knows it).
    /// Returns the anchored batch.
    ///
    /// # Errors
    /// [`ChainCheckError::Proof`] with [`ProofError::NotAnchored`] when no batch
    /// has the root, or another check's error; [`ChainCheckError::Chain`] when
    /// the chain cannot be read.
    pub fn verify_on_chain<R: BatchReader + ?Sized>(
        &self,
        chain: &mut R,
    ) -> Result<AnchoredBatch, ChainCheckError<R::Error>> {
        self.verify()?;
        let anchored = chain
            .anchored_batch(&self.root)
            .map_err(ChainCheckError::Chain)?;
        Ok(self.verify_read(anchored.as_ref())?)
    }

    /// The compact binary form (`docs/proofs.md`).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED_LEN + 32 * self.siblings.len());
        out.extend_from_slice(&PROOF_MAGIC);
        out.push(PROOF_VERSION);
        out.extend_from_slice(self.record_hash.as_slice());
        self.write_tail(&mut out);
        out
    }

    /// Appends what every proof version ends with: batch id, root, leaf
    /// count, index, sibling count and siblings.
    pub(crate) fn write_tail(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.batch_id.as_slice());
        out.extend_from_slice(self.root.as_slice());
        out.extend_from_slice(&self.leaf_count.to_be_bytes());
        out.extend_from_slice(&self.index.to_be_bytes());
        // A proof has at most 32 siblings (checked on decoding, built by Batch).
        out.push(u8::try_from(self.siblings.len()).unwrap_or(u8::MAX));
        for sibling in &self.siblings {
            out.extend_from_slice(sibling.as_slice());
        }
    }

    /// Reads what [`InclusionProof::write_tail`] wrote, with `record_hash`,
    /// from `reader` (the fixed part, length checked) and the siblings from
    /// `bytes` (the whole encoding, whose fixed part is `fixed_len` bytes),
    /// then checks the shape.
    pub(crate) fn read_tail(
        record_hash: B256,
        reader: &mut Reader<'_>,
        bytes: &[u8],
        fixed_len: usize,
    ) -> Result<Self, ProofError> {
        let got = bytes.len();
        let batch_id = reader.b256();
        let root = reader.b256();
        let leaf_count = reader.u32();
        let index = reader.u32();
        let sibling_count = usize::from(reader.u8());
        if sibling_count > MAX_SIBLINGS {
            return Err(ProofError::TooManySiblings(sibling_count));
        }
        let needed = fixed_len + 32 * sibling_count;
        if got < needed {
            return Err(ProofError::Truncated { needed, got });
        }
        if got > needed {
            return Err(ProofError::TrailingBytes(got - needed));
        }
        let siblings = bytes
            .get(fixed_len..)
            .unwrap_or_default()
            .chunks_exact(32)
            .map(B256::from_slice)
            .collect();
        let proof = Self {
            record_hash,
            batch_id,
            root,
            leaf_count,
            index,
            siblings,
        };
        proof.check_shape()?;
        Ok(proof)
    }

    /// Decodes the binary form and checks its shape (not the root: call
    /// [`InclusionProof::verify`]).
    ///
    /// # Errors
    /// A distinct [`ProofError`] for each defect.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofError> {
        let got = bytes.len();
        match bytes.get(..4) {
            Some(magic) if magic == PROOF_MAGIC => {}
            Some(_) => return Err(ProofError::NotAProof),
            None if PROOF_MAGIC.starts_with(bytes) => {
                return Err(ProofError::Truncated {
                    needed: FIXED_LEN,
                    got,
                });
            }
            None => return Err(ProofError::NotAProof),
        }
        let fixed = bytes.get(..FIXED_LEN).ok_or(ProofError::Truncated {
            needed: FIXED_LEN,
            got,
        })?;
        let mut reader = Reader(fixed.get(4..).unwrap_or_default());
        let version = reader.u8();
        if version != PROOF_VERSION {
            return Err(ProofError::UnsupportedVersion(version));
        }
        let record_hash = reader.b256();
        Self::read_tail(record_hash, &mut reader, bytes, FIXED_LEN)
    }

    /// The text form for QR codes: `EHRP:` + base45 (RFC 9285) of the binary
    /// form. Every character is in the QR alphanumeric set, which packs 2
    /// characters into 11 bits, the densest text mode a QR code offers.
    #[must_use]
    pub fn to_text(&self) -> String {
        text_of(&self.to_bytes())
    }

    /// Decodes the text form (surrounding whitespace is ignored).
    ///
    /// # Errors
    /// [`ProofError::NotAProof`], [`ProofError::BadText`], then as
    /// [`InclusionProof::from_bytes`].
    pub fn from_text(text: &str) -> Result<Self, ProofError> {
        Self::from_bytes(&bytes_of_text(text)?)
    }

    /// The JSON form for humans.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Hex strings and integers always serialise.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Decodes the JSON form and checks its shape.
    ///
    /// # Errors
    /// [`ProofError::Json`] for malformed JSON, or a shape error.
    pub fn from_json(json: &str) -> Result<Self, ProofError> {
        crate::json::from_text::<ProofJson>(json)
            .map_err(|e| ProofError::Json(e.to_string()))
            .and_then(Self::try_from)
    }
}

/// The working buffers of [`InclusionProof::verify_many`], reused from one
/// block of proofs to the next.
#[derive(Default)]
struct Folds {
    /// The record hashes of the block.
    records: Vec<B256>,
    /// The node each proof of the block has reached.
    nodes: Vec<[u8; 32]>,
    /// The sorted pairs hashed at the current level ...
    pairs: Vec<[u8; 64]>,
    /// ... the proof each pair belongs to ...
    owners: Vec<usize>,
    /// ... and their hashes.
    digests: Vec<[u8; 32]>,
}

impl Folds {
    /// Verifies one block of proofs, appending one result per proof to
    /// `results`.
    fn verify<P: Borrow<InclusionProof>>(
        &mut self,
        proofs: &[P],
        results: &mut Vec<Result<(), ProofError>>,
    ) {
        let proofs = || proofs.iter().map(Borrow::borrow);
        let start = results.len();
        results.extend(proofs().map(InclusionProof::check_shape));
        // The siblings to fold: none for a proof already refused.
        let chains: Vec<&[B256]> = proofs()
            .zip(results.iter().skip(start))
            .map(|(proof, shape)| match shape {
                Ok(()) => proof.siblings.as_slice(),
                Err(_) => &[],
            })
            .collect();
        self.records.clear();
        self.records.extend(proofs().map(|p| p.record_hash));
        self.nodes.clear();
        self.nodes.resize(self.records.len(), [0; 32]);
        leaves_into(&self.records, &mut self.nodes);
        // Well-shaped proofs have at most MAX_SIBLINGS siblings.
        for level in 0..MAX_SIBLINGS {
            self.pairs.clear();
            self.owners.clear();
            for (i, (chain, node)) in chains.iter().zip(&self.nodes).enumerate() {
                if let Some(sibling) = chain.get(level) {
                    self.pairs.push(sorted_pair(node, &sibling.0));
                    self.owners.push(i);
                }
            }
            if self.pairs.is_empty() {
                break;
            }
            self.digests.clear();
            self.digests.resize(self.pairs.len(), [0; 32]);
            keccak256_many(&self.pairs, &mut self.digests);
            for (&i, digest) in self.owners.iter().zip(&self.digests) {
                if let Some(node) = self.nodes.get_mut(i) {
                    *node = *digest;
                }
            }
        }
        let outcomes = proofs()
            .zip(&self.nodes)
            .zip(results.iter_mut().skip(start));
        for ((proof, node), result) in outcomes.filter(|(_, result)| result.is_ok()) {
            let computed = B256::from(*node);
            if computed != proof.root {
                *result = Err(ProofError::RootMismatch {
                    expected: proof.root,
                    computed,
                });
            }
        }
    }
}

/// The text form of a proof's binary form (any version): `EHRP:` + base45.
pub(crate) fn text_of(bytes: &[u8]) -> String {
    let mut text = String::from(PROOF_TEXT_PREFIX);
    text.push_str(&base45::encode(bytes));
    text
}

/// The binary form inside a text form (surrounding whitespace ignored).
pub(crate) fn bytes_of_text(text: &str) -> Result<Vec<u8>, ProofError> {
    let body = text
        .trim()
        .strip_prefix(PROOF_TEXT_PREFIX)
        .ok_or(ProofError::NotAProof)?;
    base45::decode(body).map_err(|_| ProofError::BadText)
}

/// Reads fixed-size fields from a slice whose length was checked.
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// A reader of `bytes`.
    pub(crate) const fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }
    pub(crate) fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some((head, rest)) = self.0.split_at_checked(N) {
            out.copy_from_slice(head);
            self.0 = rest;
        }
        out
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.take())
    }
    pub(crate) fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.take())
    }
    pub(crate) fn b256(&mut self) -> B256 {
        B256::from(self.take::<32>())
    }
}
