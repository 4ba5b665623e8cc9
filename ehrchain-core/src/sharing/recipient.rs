//! The recipient's side: open the capsule and the envelope, then check the
//! record against its anchor and the authority against consent, at one
//! mined block.
//!
//! A record is anchored either alone, under its TI id (`recordHashOf`), or
//! as a leaf of a Merkle batch (`batchOf(root)`): then the recipient holds
//! its [`InclusionProof`] ([`ReceiveCheck::with_proof`]), whose leaf must
//! be this envelope's record hash and whose root and leaf count the
//! registry must hold ([`InclusionProof::verify_anchored`], the rule every
//! proof is checked on chain with).

use alloy_primitives::{Address, B256, Bytes};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::consent_check::{CONSENT_READS, ConsentQuery};
use super::{ChainRead, MinedBlock, ReadAnswers, SharingContext, SharingError, decode};
use crate::authorship::{
    RoleHistory, RoleTerm, SignedBatchAnchor, SignedRecordProof, SigningDomain,
};
use crate::batch::{AnchoredBatch, InclusionProof, ProofError};
use crate::capsule::{Authority, KeyCapsule, RecipientPrivateKey};
use crate::envelope::Envelope;
use crate::registry_abi::IEhrRegistry;
use crate::time::UnixMillis;

/// The recipient's check of a shared record: a capsule and the envelope it
/// is for. [`ReceiveCheck::reads`] names what to read at one mined block,
/// [`ReceiveCheck::open`] opens the record and checks it against those
/// answers.
#[derive(Clone, Debug)]
pub struct ReceiveCheck {
    context: SharingContext,
    capsule: KeyCapsule,
    envelope: Envelope,
    query: ConsentQuery,
    proof: Option<BatchProof>,
}

/// The proof a record anchored in a batch comes with.
#[derive(Clone, Debug)]
enum BatchProof {
    /// A plain batch's proof (format version 1): its leaf is the record hash.
    Plain(InclusionProof),
    /// A signed batch's proof (version 2): its leaf is the author's
    /// statement of the record.
    Signed(Box<SignedRecordProof>),
}

impl BatchProof {
    /// The batch root.
    fn root(&self) -> B256 {
        match self {
            Self::Plain(p) => p.root,
            Self::Signed(p) => p.root,
        }
    }

    /// The record hash the proof is of.
    fn record_hash(&self) -> B256 {
        match self {
            Self::Plain(p) => p.record_hash,
            Self::Signed(p) => p.statement.recordHash,
        }
    }
}

/// A shared record opened and checked, with the evidence it rests on.
#[derive(Debug)]
pub struct Received {
    /// The record's plaintext (zeroized on drop).
    pub record: Zeroizing<Vec<u8>>,
    /// What was checked, and where.
    pub evidence: Evidence,
}

/// What a recipient checked about a shared record, and at which block: the
/// record is anchored, and the recipient may receive it. JSON:
/// `{"chainId", "registry", "consent", "recordHash", "tiId", "subject",
/// "templateId", "authority", "capsuleDigest", "anchor", "checkedAt"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Evidence {
    /// The chain.
    pub chain_id: u64,
    /// The registry that anchors the record.
    pub registry: Address,
    /// The consent contract that holds the grant.
    pub consent: Address,
    /// The record hash (SHA-256 of the envelope), anchored as `anchor`
    /// says.
    pub record_hash: B256,
    /// The record's TI id (from its envelope): the registry anchors a
    /// record anchored alone under it.
    pub ti_id: B256,
    /// The patient's pseudonym.
    pub subject: B256,
    /// The record's template.
    pub template_id: B256,
    /// The grant the record was shared under (it held at `checked_at`), or
    /// an emergency (the recipient held the emergency role).
    pub authority: Authority,
    /// SHA-256 of the capsule: the digest of its `Disclosed` event.
    pub capsule_digest: B256,
    /// Where the record is anchored, as the chain said at `checked_at`.
    pub anchor: AnchorEvidence,
    /// The mined block anchor and consent were read at.
    pub checked_at: MinedBlock,
}

crate::json::internally_tagged! {
    tag = "kind", rename_all = "snake_case", rename_all_fields = "camelCase";
    /// Where a received record is anchored, as far as the registry's views say
    /// at the block read. JSON: `{"kind": "record"}` for a record anchored
    /// alone under its TI id (`recordHashOf` names the record hash only), or
    /// `{"kind": "batch", "root", "leafCount", "anchoredAt", "submitter",
    /// "proof"}` for a leaf of a Merkle batch (`batchOf(root)`).
    ///
    /// Not included: the anchoring transaction and block number, and the
    /// batch id the registry keeps only in its `BatchAnchored` event (the
    /// proof's batch id is the holder's claim, not checked). A host that needs
    /// them asks `eth_getLogs` for `RecordAnchored` by TI id or
    /// `BatchAnchored` by root up to `checked_at` (the filter the validator's
    /// ACK names).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
    pub enum AnchorEvidence {
        /// Anchored alone: `recordHashOf(ti_id)` is the record hash.
        Record,
        /// A leaf of a batch the registry holds.
        Batch {
            /// The batch root anchored.
            root: B256,
            /// The leaf count anchored beside the root.
            leaf_count: u32,
            /// The time of the block that anchored the batch (`batchOf`'s
            /// `anchoredAt`).
            anchored_at: UnixMillis,
            /// The account that sent the anchoring transaction.
            submitter: Address,
            /// The record's inclusion proof, checked against `root` and
            /// `leaf_count`.
            proof: InclusionProof,
        },
        /// A leaf of a signed batch the registry holds: the record's author
        /// signed it, the template allows the author's role and the author
        /// held it when the batch was anchored.
        SignedBatch {
            /// The batch root anchored.
            root: B256,
            /// The leaf count anchored beside the root.
            leaf_count: u32,
            /// The time of the block that anchored the batch.
            anchored_at: UnixMillis,
            /// The account that sent the anchoring transaction (the relayer).
            submitter: Address,
            /// The record's signed proof (statement, signature, inclusion),
            /// checked against `root`, `leaf_count` and the registry's roles.
            proof: Box<SignedRecordProof>,
        },
    }
}

impl ReceiveCheck {
    /// The check of `capsule`, received by `recipient`, for `envelope`.
    #[must_use]
    pub fn new(
        context: &SharingContext,
        recipient: Address,
        capsule: KeyCapsule,
        envelope: Envelope,
    ) -> Self {
        let binding = envelope.binding();
        let query = ConsentQuery {
            recipient,
            subject: binding.patient,
            template_id: binding.template_id,
            expected: capsule.binding().authority,
        };
        Self {
            context: *context,
            capsule,
            envelope,
            query,
            proof: None,
        }
    }

    /// The check of a record anchored in a Merkle batch, with its
    /// inclusion `proof`: the record is then checked against the batch the
    /// registry holds under the proof's root, not under its TI id.
    ///
    /// # Errors
    /// [`SharingError::ProofOfOtherRecord`] when the proof's leaf is not
    /// this envelope's record hash; [`SharingError::Proof`] when the proof
    /// does not lead to its root or its shape does not fit its batch.
    pub fn with_proof(self, proof: InclusionProof) -> Result<Self, SharingError> {
        self.batched(BatchProof::Plain(proof))
    }

    /// The check of a record anchored in a signed batch, with its signed
    /// proof (format version 2): as [`ReceiveCheck::with_proof`], and the
    /// author's signature, the template's roles and the author's role terms
    /// are checked too (`isRoleAllowed` and `roleTermsOf` join the reads).
    ///
    /// # Errors
    /// [`SharingError::ProofOfOtherRecord`] when the statement is of another
    /// record; [`SharingError::SignedProof`] when the proof does not lead to
    /// its root or its author did not sign it.
    pub fn with_signed_proof(self, proof: SignedRecordProof) -> Result<Self, SharingError> {
        self.batched(BatchProof::Signed(Box::new(proof)))
    }

    /// Keeps `proof` once it is of this envelope's record and checks out on
    /// its own.
    fn batched(mut self, proof: BatchProof) -> Result<Self, SharingError> {
        let record_hash = self.envelope.record_hash();
        let proven = proof.record_hash();
        if proven != record_hash {
            return Err(SharingError::ProofOfOtherRecord {
                record_hash,
                proven,
            });
        }
        match &proof {
            BatchProof::Plain(p) => p.verify()?,
            BatchProof::Signed(p) => p.verify()?,
        }
        self.proof = Some(proof);
        Ok(self)
    }

    /// The reads to make at one mined block, in this order:
    /// `mayReceive(recipient, pseudonym, template)` and `grantOf(grant)` on
    /// `EhrConsent`, then on the registry `recordHashOf(TI id)`, or
    /// `batchOf(root)` for a record with an inclusion proof, followed for a
    /// signed proof by `isRoleAllowed(template, role)` and
    /// `roleTermsOf(role, author)` of its statement.
    #[must_use]
    pub fn reads(&self) -> Vec<ChainRead> {
        let mut reads = self.query.reads(self.context.consent).to_vec();
        let registry = self.context.registry;
        let Some(proof) = &self.proof else {
            let ti_id = self.envelope.binding().ti_id;
            reads.push(ChainRead::of(
                registry,
                &IEhrRegistry::recordHashOfCall { tiId: ti_id },
            ));
            return reads;
        };
        let root = proof.root();
        reads.push(ChainRead::of(registry, &IEhrRegistry::batchOfCall { root }));
        if let BatchProof::Signed(signed) = proof {
            let statement = &signed.statement;
            let allowed = IEhrRegistry::isRoleAllowedCall {
                templateId: statement.templateId,
                role: statement.role,
            };
            let terms = IEhrRegistry::roleTermsOfCall {
                role: statement.role,
                account: statement.author,
            };
            reads.push(ChainRead::of(registry, &allowed));
            reads.push(ChainRead::of(registry, &terms));
        }
        reads
    }

    /// Opens the capsule with `key` and the envelope with the record key,
    /// then checks, against `answers` (to [`ReceiveCheck::reads`], at one
    /// mined block), that the registry anchors this record and that the
    /// capsule's grant held (or, for an emergency, that the recipient may
    /// receive the record).
    ///
    /// # Errors
    /// [`SharingError::Capsule`] when the capsule is for another chain,
    /// registry, recipient or record, was sealed for another key, or does
    /// not authenticate, or the envelope does not open;
    /// [`SharingError::NotAnchored`] or [`SharingError::AnchorMismatch`]
    /// when the registry does not anchor this record; for a batched record,
    /// [`SharingError::Proof`] with [`ProofError::NotAnchored`] when no
    /// batch has the proof's root, [`ProofError::LeafCountMismatch`] when
    /// the batch anchored has another leaf count;
    /// [`SharingError::GrantRevoked`], [`SharingError::GrantExpired`] and
    /// the other consent errors of [`ShareCheck::seal`](super::ShareCheck::seal)
    /// when the grant no longer holds; [`SharingError::Unreadable`] for
    /// answers that do not fit the reads.
    pub fn open(
        &self,
        answers: &ReadAnswers,
        key: &RecipientPrivateKey,
    ) -> Result<Received, SharingError> {
        let record_hash = self.envelope.record_hash();
        let expected = self.context.capsule_binding(
            record_hash,
            self.query.recipient,
            self.capsule.binding().authority,
        );
        let record = self.capsule.open_envelope(&expected, key, &self.envelope)?;
        let anchor = self.check_anchor(answers.answers.get(CONSENT_READS..).unwrap_or_default())?;
        let authority = self.query.judge(&answers.block, &answers.answers)?;
        let binding = self.envelope.binding();
        Ok(Received {
            record,
            evidence: Evidence {
                chain_id: self.context.chain_id,
                registry: self.context.registry,
                consent: self.context.consent,
                record_hash,
                ti_id: binding.ti_id,
                subject: binding.patient,
                template_id: binding.template_id,
                authority,
                capsule_digest: self.capsule.digest(),
                anchor,
                checked_at: answers.block,
            },
        })
    }

    /// Checks the registry's answers (`recordHashOf`, or `batchOf` and for
    /// a signed proof the roles) against the record, and says where it is
    /// anchored.
    fn check_anchor(&self, answers: &[Bytes]) -> Result<AnchorEvidence, SharingError> {
        let Some(proof) = &self.proof else {
            self.check_record_anchor(answers.first())?;
            return Ok(AnchorEvidence::Record);
        };
        let root = proof.root();
        let batch = decode::<IEhrRegistry::batchOfCall>(answers.first())?;
        let anchored =
            AnchoredBatch::of_batch_of(root, &batch).ok_or(ProofError::NotAnchored(root))?;
        let (leaf_count, submitter) = (anchored.leaf_count, batch.submitter);
        let anchored_at = UnixMillis::from_secs(batch.anchoredAt);
        Ok(match proof {
            BatchProof::Plain(proof) => {
                proof.verify_anchored(&anchored)?;
                AnchorEvidence::Batch {
                    root,
                    leaf_count,
                    anchored_at,
                    submitter,
                    proof: proof.clone(),
                }
            }
            BatchProof::Signed(proof) => {
                let anchor = SignedBatchAnchor {
                    domain: SigningDomain {
                        chain_id: self.context.chain_id,
                        registry: self.context.registry,
                    },
                    batch: anchored,
                    anchored_at,
                };
                proof.verify_anchored(&anchor, &Self::roles(proof, answers)?)?;
                AnchorEvidence::SignedBatch {
                    root,
                    leaf_count,
                    anchored_at,
                    submitter,
                    proof: proof.clone(),
                }
            }
        })
    }

    /// The registry's roles for a signed proof's statement, from the
    /// answers to `isRoleAllowed` and `roleTermsOf` (after `batchOf`).
    fn roles(proof: &SignedRecordProof, answers: &[Bytes]) -> Result<RoleHistory, SharingError> {
        let statement = &proof.statement;
        let mut roles = RoleHistory::new();
        if decode::<IEhrRegistry::isRoleAllowedCall>(answers.get(1))? {
            roles.allow(statement.templateId, statement.role);
        }
        let terms = decode::<IEhrRegistry::roleTermsOfCall>(answers.get(2))?;
        roles.set_terms(
            statement.role,
            statement.author,
            terms.iter().map(RoleTerm::from).collect(),
        );
        Ok(roles)
    }

    /// Checks the registry's `recordHashOf(TI id)` answer against the record.
    fn check_record_anchor(&self, answer: Option<&Bytes>) -> Result<(), SharingError> {
        let anchored = decode::<IEhrRegistry::recordHashOfCall>(answer)?;
        let record_hash = self.envelope.record_hash();
        let ti_id = self.envelope.binding().ti_id;
        if anchored.is_zero() {
            return Err(SharingError::NotAnchored { record_hash, ti_id });
        }
        if anchored != record_hash {
            return Err(SharingError::AnchorMismatch {
                record_hash,
                ti_id,
                anchored,
            });
        }
        Ok(())
    }
}
