//! Signed batches: many authors' signed statements under one Merkle root,
//! anchored by a relayer in one transaction, each record's authorship still
//! provable ([`SignedRecordProof`]).

use std::collections::HashSet;

use alloy_primitives::{Address, B256};
use alloy_sol_types::{SolCall, sol};

use super::{
    AuthorshipError, DomainSeparator, RecordSignature, RecordStatement, SignedRecordProof,
    SigningDomain,
};
use crate::Error;
use crate::batch::{Batch, BatchBuilder, BatchError, BatchTransaction};
use crate::generator::ChainTransaction;

sol! {
    /// `EhrRegistry.anchorSignedBatch` (pinned to the compiled ABI by the
    /// contracts crate's `signed_batch` test).
    #[derive(Debug, PartialEq, Eq)]
    interface ISignedBatches {
        /// Anchors the root of a batch of signed records (relayer role).
        function anchorSignedBatch(bytes32 root, uint32 leafCount, bytes32 batchId) external;
    }
}

/// One record of a signed batch: the author's statement and signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRecord {
    /// The signed statement.
    pub statement: RecordStatement,
    /// The author's signature of it.
    pub signature: RecordSignature,
}

/// Collects signed statements of one registry for one batch. Each leaf is
/// derived from the statement's EIP-712 digest, so it commits to the domain
/// and to every member of the statement.
///
/// Signatures are not checked here (a smart account's is checked only on
/// chain): check an externally owned author's with
/// [`DomainSeparator::verify`] before pushing, so a batch holds no record
/// whose authorship would fail.
#[derive(Clone, Debug)]
pub struct SignedBatchBuilder {
    separator: DomainSeparator,
    digests: BatchBuilder,
    records: Vec<SignedRecord>,
    ti_ids: HashSet<B256>,
}

impl SignedBatchBuilder {
    /// An empty builder for statements signed under `domain`.
    #[must_use]
    pub fn new(domain: SigningDomain) -> Self {
        Self {
            separator: DomainSeparator::new(domain),
            digests: BatchBuilder::new(),
            records: Vec::new(),
            ti_ids: HashSet::new(),
        }
    }

    /// Adds a signed statement; returns its index (leaf position).
    ///
    /// # Errors
    /// [`BatchError::DuplicateTi`] for a TI already in the batch,
    /// [`BatchError::Full`] beyond [`MAX_BATCH_LEN`](crate::batch::MAX_BATCH_LEN)
    /// records; nothing is added.
    pub fn push(
        &mut self,
        statement: RecordStatement,
        signature: RecordSignature,
    ) -> Result<u32, BatchError> {
        if self.ti_ids.contains(&statement.tiId) {
            return Err(BatchError::DuplicateTi(statement.tiId));
        }
        let index = self.digests.push(self.separator.signing_hash(&statement))?;
        self.ti_ids.insert(statement.tiId);
        self.records.push(SignedRecord {
            statement,
            signature,
        });
        Ok(index)
    }

    /// Adds an author-signed TC (from [`SigningRequest`](super::SigningRequest)
    /// and a [`Signer`](super::Signer)): its statement must be the record's
    /// own, and its author must have signed it under this builder's domain
    /// (the chain and registry the batch is anchored in). Returns the
    /// record's index (leaf position). The TC's sealed record stays with the
    /// host; the batch holds its statement and signature.
    ///
    /// A smart account's signature is checked only on chain (ERC-1271), so
    /// a TC a smart account signed is refused here: anchor it alone.
    ///
    /// # Errors
    /// [`AuthorshipError::NotSigned`] for an `anchorRecord` TC,
    /// [`AuthorshipError::StatementMismatch`], the signature's
    /// [`AuthorshipError`] (`WrongSigner` also when it was signed for another
    /// chain or registry), [`BatchError::DuplicateTi`], [`BatchError::Full`].
    pub fn push_tc(&mut self, tc: &ChainTransaction) -> Result<u32, Error> {
        let signed = tc.check_statement()?.ok_or(AuthorshipError::NotSigned)?;
        let signature = RecordSignature::from_slice(&signed.signature)?;
        self.separator.verify(&signed.statement, &signature)?;
        Ok(self.push(signed.statement, signature)?)
    }

    /// How many records the batch holds so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Builds the tree.
    ///
    /// # Errors
    /// [`BatchError::Empty`] when no record was added.
    pub fn build(self, batch_id: B256) -> Result<SignedBatch, BatchError> {
        Ok(SignedBatch {
            domain: self.separator.domain(),
            batch: self.digests.build(batch_id)?,
            records: self.records,
        })
    }
}

/// A built signed batch: its root, its signed records and their proofs.
#[derive(Debug)]
pub struct SignedBatch {
    domain: SigningDomain,
    /// The tree over the statements' digests.
    batch: Batch,
    records: Vec<SignedRecord>,
}

impl SignedBatch {
    /// The domain the statements were signed under.
    #[must_use]
    pub const fn domain(&self) -> SigningDomain {
        self.domain
    }

    /// The batch id.
    #[must_use]
    pub fn batch_id(&self) -> B256 {
        self.batch.batch_id()
    }

    /// The Merkle root.
    #[must_use]
    pub fn root(&self) -> B256 {
        self.batch.root()
    }

    /// The number of records.
    #[must_use]
    pub fn leaf_count(&self) -> u32 {
        self.batch.leaf_count()
    }

    /// The Merkle tree over the statements' digests (its root, leaf count,
    /// batch id and inclusion proofs).
    #[must_use]
    pub const fn batch(&self) -> &Batch {
        &self.batch
    }

    /// The signed records, in leaf order.
    #[must_use]
    pub fn records(&self) -> &[SignedRecord] {
        &self.records
    }

    /// The proof of the record at `index`: its statement, signature and
    /// inclusion proof.
    ///
    /// # Errors
    /// [`BatchError::NoSuchRecord`] past the end of the batch.
    pub fn proof(&self, index: u32) -> Result<SignedRecordProof, BatchError> {
        let inclusion = self.batch.proof(index)?;
        let record = self
            .records
            .get(index as usize)
            .ok_or(BatchError::NoSuchRecord {
                index,
                len: self.records.len(),
            })?;
        Ok(SignedRecordProof {
            domain: self.domain,
            statement: record.statement.clone(),
            signature: record.signature,
            batch_id: inclusion.batch_id,
            root: inclusion.root,
            leaf_count: inclusion.leaf_count,
            index,
            siblings: inclusion.siblings,
        })
    }

    /// The transaction anchoring this batch (`anchorSignedBatch(root,
    /// leafCount, batchId)`), sent by an account holding the relayer role to
    /// the domain's registry.
    #[must_use]
    pub fn anchor_transaction(&self) -> BatchTransaction {
        let call = ISignedBatches::anchorSignedBatchCall {
            root: self.root(),
            leafCount: self.leaf_count(),
            batchId: self.batch_id(),
        };
        BatchTransaction {
            to: self.domain.registry,
            chain_id: self.domain.chain_id,
            calldata: call.abi_encode().into(),
            batch_id: self.batch_id(),
            root: self.root(),
            leaf_count: self.leaf_count(),
        }
    }

    /// The registry the batch is for.
    #[must_use]
    pub const fn registry(&self) -> Address {
        self.domain.registry
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::ErrorCode;
    use crate::authorship::{LocalSigner, Signer, SigningRequest, anchorSignedRecordCall};
    use crate::validator::tests::tc_for;

    fn signer(n: u8) -> LocalSigner {
        LocalSigner::from_bytes(&[n; 32]).unwrap()
    }

    /// TC `ti` with `author`'s statement, signed by `key` (`attach` would
    /// refuse another key's signature, so the call is encoded here).
    fn signed(ti: u8, author: &LocalSigner, key: &LocalSigner) -> ChainTransaction {
        let tc = tc_for(ti);
        let request = SigningRequest::new(tc.clone(), author.address()).unwrap();
        let call = anchorSignedRecordCall {
            statement: request.statement().clone(),
            signature: key.sign(&request).unwrap().into(),
        };
        ChainTransaction {
            calldata: call.abi_encode().into(),
            ..tc
        }
    }

    fn builder() -> SignedBatchBuilder {
        SignedBatchBuilder::new(SigningDomain::of(&tc_for(1)))
    }

    fn refusal(tc: &ChainTransaction, builder: &mut SignedBatchBuilder) -> ErrorCode {
        let code = builder.push_tc(tc).unwrap_err().code();
        assert!(builder.is_empty(), "a refused TC adds no record");
        code
    }

    #[test]
    fn a_signed_tc_becomes_a_provable_record_of_the_batch() {
        let doctor = signer(0x11);
        let tcs = [signed(1, &doctor, &doctor), signed(2, &doctor, &doctor)];
        let mut builder = builder();
        for (i, tc) in tcs.iter().enumerate() {
            assert_eq!(builder.push_tc(tc).unwrap() as usize, i);
        }
        let batch = builder.build(B256::repeat_byte(0xba)).unwrap();
        for (i, tc) in tcs.iter().enumerate() {
            let proof = batch.proof(u32::try_from(i).unwrap()).unwrap();
            proof.verify().unwrap();
            assert_eq!(proof.statement, tc.signed_statement().unwrap().statement);
            assert_eq!(proof.statement.recordHash, tc.record_hash);
        }
    }

    #[test]
    fn an_unsigned_tc_is_refused() {
        assert_eq!(refusal(&tc_for(1), &mut builder()), ErrorCode::TcNotSigned);
    }

    #[test]
    fn another_keys_signature_is_refused() {
        let tc = signed(1, &signer(0x11), &signer(0x12));
        assert_eq!(
            refusal(&tc, &mut builder()),
            ErrorCode::SignatureWrongSigner
        );
    }

    #[test]
    fn a_tc_signed_for_another_registry_is_refused() {
        let doctor = signer(0x11);
        let mut elsewhere = SignedBatchBuilder::new(SigningDomain {
            registry: Address::repeat_byte(0x01),
            ..SigningDomain::of(&tc_for(1))
        });
        assert_eq!(
            refusal(&signed(1, &doctor, &doctor), &mut elsewhere),
            ErrorCode::SignatureWrongSigner
        );
    }

    #[test]
    fn a_statement_of_another_record_is_refused() {
        let doctor = signer(0x11);
        let tc = ChainTransaction {
            record_hash: B256::repeat_byte(0x99),
            ..signed(1, &doctor, &doctor)
        };
        assert_eq!(refusal(&tc, &mut builder()), ErrorCode::StatementMismatch);
    }

    #[test]
    fn a_ti_already_in_the_batch_is_refused() {
        let (doctor, nurse) = (signer(0x11), signer(0x12));
        let mut builder = builder();
        builder.push_tc(&signed(1, &doctor, &doctor)).unwrap();
        // The same TC again, or the same TI signed by another author.
        for again in [signed(1, &doctor, &doctor), signed(1, &nurse, &nurse)] {
            let error = builder.push_tc(&again).unwrap_err();
            assert_eq!(error.code(), ErrorCode::BatchDuplicateTi);
            assert!(error.to_string().contains(&tc_for(1).ti_id.to_string()));
            assert_eq!(builder.len(), 1, "nothing added");
        }
        assert_eq!(builder.push_tc(&signed(2, &nurse, &nurse)).unwrap(), 1);
    }
}
