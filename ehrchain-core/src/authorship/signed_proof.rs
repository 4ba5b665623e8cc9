//! The proof of one signed record of a batch (proof format version 2): the
//! statement, its author's signature and the record's inclusion proof, so
//! that anyone can check who wrote the record, in which role, and that it is
//! in an anchored batch (`docs/proofs.md`, "Version 2").

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use super::{
    AuthorshipError, DomainSeparator, RecordSignature, RecordStatement, RoleHistory, SigningDomain,
};
use crate::batch::{
    AnchoredBatch, InclusionProof, PROOF_MAGIC, ProofError, Reader, TAIL_FIXED_LEN, bytes_of_text,
    text_of,
};
use crate::time::UnixMillis;

/// The proof format version of a signed record's proof.
pub const SIGNED_PROOF_VERSION: u8 = 2;
/// Bytes before the siblings in the binary form: magic, version, domain
/// (8 + 20), statement (5 × 32 + 20 + 8), signature (65), batch id, root,
/// leaf count, index, sibling count.
const FIXED_LEN: usize = 4 + 1 + 28 + 188 + 65 + TAIL_FIXED_LEN;

/// Why a signed record's proof was refused.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedProofError {
    /// The inclusion part is malformed, or does not lead to the anchored batch.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The signature is malformed or not the author's.
    #[error(transparent)]
    Signature(#[from] AuthorshipError),
    /// The proof was signed for another chain or registry than the one it is
    /// checked against.
    #[error(
        "the proof's statement was signed for chain {} registry {}, not for chain {} registry {} where it is checked: ask for the proof of this registry's batch",
        claimed.chain_id, claimed.registry, expected.chain_id, expected.registry
    )]
    OtherDomain {
        /// The domain the verifier trusts.
        expected: SigningDomain,
        /// The domain the proof names.
        claimed: SigningDomain,
    },
    /// The template does not allow the statement's role.
    #[error(
        "template {template_id} does not allow role {role}: no one may write its records in that role"
    )]
    RoleNotAllowed {
        /// The statement's template.
        template_id: B256,
        /// The statement's role.
        role: B256,
    },
    /// The author did not hold the role when the batch was anchored.
    #[error(
        "author {author} did not hold role {role} when the batch was anchored ({at}): the record's authorship is not backed by the registry's roles"
    )]
    RoleNotHeld {
        /// The statement's author.
        author: Address,
        /// The statement's role.
        role: B256,
        /// When the batch was anchored.
        at: UnixMillis,
    },
    /// A JSON argument (a proof, a role history) is malformed.
    #[error("the JSON is malformed: {0}")]
    Json(String),
}

/// What a verifier reads from the chain it trusts about a signed batch: the
/// registry (its domain), the batch anchored under the proof's root, and
/// when that batch was anchored (`batchOf`'s `anchoredAt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SignedBatchAnchor {
    /// The chain and registry the verifier trusts.
    pub domain: SigningDomain,
    /// The batch as anchored.
    pub batch: AnchoredBatch,
    /// The block time the batch was anchored at.
    pub anchored_at: UnixMillis,
}

/// The proof that one signed record is in a batch: its statement, its
/// author's signature, and the inclusion proof of the statement's digest.
///
/// The leaf is derived from the statement's EIP-712 digest as a plain
/// batch's leaf is from a record hash (`keccak256(keccak256(digest))`), so
/// it binds the domain (chain, registry) and every member of the statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SignedProofJson", into = "SignedProofJson")]
pub struct SignedRecordProof {
    /// The chain and registry the statement was signed for.
    pub domain: SigningDomain,
    /// The signed statement.
    pub statement: RecordStatement,
    /// The author's signature of it.
    pub signature: RecordSignature,
    /// The batch id.
    pub batch_id: B256,
    /// The batch root.
    pub root: B256,
    /// The number of records in the batch.
    pub leaf_count: u32,
    /// The record's leaf position.
    pub index: u32,
    /// Sibling hashes from the leaf up to the root.
    pub siblings: Vec<B256>,
}

impl SignedRecordProof {
    /// The statement's EIP-712 digest under the proof's domain (the item the
    /// leaf is derived from).
    #[must_use]
    pub fn digest(&self) -> B256 {
        self.statement.signing_hash(&self.domain)
    }

    /// The inclusion proof of the statement's digest (its `record_hash` is
    /// the digest): what `verifyRecord` would take.
    #[must_use]
    pub fn inclusion(&self) -> InclusionProof {
        self.inclusion_of(self.digest())
    }

    fn inclusion_of(&self, digest: B256) -> InclusionProof {
        InclusionProof {
            record_hash: digest,
            batch_id: self.batch_id,
            root: self.root,
            leaf_count: self.leaf_count,
            index: self.index,
            siblings: self.siblings.clone(),
        }
    }

    /// Checks the proof on its own: the statement's leaf leads to the
    /// proof's root, and the statement's author (an externally owned
    /// account) signed it under the proof's domain.
    ///
    /// # Errors
    /// The first failed check.
    pub fn verify(&self) -> Result<(), SignedProofError> {
        let separator = DomainSeparator::new(self.domain);
        let digest = separator.signing_hash(&self.statement);
        self.inclusion_of(digest).verify()?;
        separator.verify(&self.statement, &self.signature)?;
        Ok(())
    }

    /// Checks the proof against what the verifier read from the chain it
    /// trusts: the proof's domain is that chain's registry, the batch is
    /// anchored there with the proof's root, leaf count (and batch id, when
    /// known), the author signed the statement, the template allows its
    /// role and the author held that role when the batch was anchored.
    ///
    /// # Errors
    /// The first failed check.
    pub fn verify_anchored(
        &self,
        anchor: &SignedBatchAnchor,
        roles: &RoleHistory,
    ) -> Result<(), SignedProofError> {
        if anchor.domain != self.domain {
            return Err(SignedProofError::OtherDomain {
                expected: anchor.domain,
                claimed: self.domain,
            });
        }
        let separator = DomainSeparator::new(self.domain);
        self.inclusion_of(separator.signing_hash(&self.statement))
            .verify_anchored(&anchor.batch)?;
        separator.verify(&self.statement, &self.signature)?;
        roles.check(&self.statement, anchor.anchored_at)
    }

    /// The compact binary form (`docs/proofs.md`, version 2).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let s = &self.statement;
        let mut out = Vec::with_capacity(FIXED_LEN + 32 * self.siblings.len());
        out.extend_from_slice(&PROOF_MAGIC);
        out.push(SIGNED_PROOF_VERSION);
        out.extend_from_slice(&self.domain.chain_id.to_be_bytes());
        out.extend_from_slice(self.domain.registry.as_slice());
        for word in [s.tiId, s.templateId, s.recordHash, s.subject, s.role] {
            out.extend_from_slice(word.as_slice());
        }
        out.extend_from_slice(s.author.as_slice());
        out.extend_from_slice(&s.timestamp.to_be_bytes());
        out.extend_from_slice(self.signature.as_bytes());
        self.inclusion_of(B256::ZERO).write_tail(&mut out);
        out
    }

    /// Decodes the binary form and checks its shape and the signature's form
    /// (not the root or the signer: call [`SignedRecordProof::verify`]). A
    /// version 1 proof (a record hash, no statement) is refused with
    /// [`ProofError::UnsupportedVersion`]: decode it with
    /// [`InclusionProof::from_bytes`].
    ///
    /// # Errors
    /// A distinct [`ProofError`] for each defect of the encoding, or the
    /// signature's [`AuthorshipError`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignedProofError> {
        let got = bytes.len();
        let fixed = match bytes.get(..4) {
            Some(magic) if magic == PROOF_MAGIC => match bytes.get(4) {
                Some(&SIGNED_PROOF_VERSION) => bytes.get(..FIXED_LEN),
                Some(&other) => return Err(ProofError::UnsupportedVersion(other).into()),
                None => None,
            },
            None if PROOF_MAGIC.starts_with(bytes) => None,
            _ => return Err(ProofError::NotAProof.into()),
        }
        .ok_or(ProofError::Truncated {
            needed: FIXED_LEN,
            got,
        })?;
        let mut reader = Reader::new(fixed.get(5..).unwrap_or_default());
        let domain = SigningDomain {
            chain_id: reader.u64(),
            registry: Address::from(reader.take::<20>()),
        };
        let statement = RecordStatement {
            tiId: reader.b256(),
            templateId: reader.b256(),
            recordHash: reader.b256(),
            subject: reader.b256(),
            role: reader.b256(),
            author: Address::from(reader.take::<20>()),
            timestamp: reader.u64(),
        };
        let signature = RecordSignature::from_slice(&reader.take::<65>())?;
        // The rest is what a version 1 proof ends with; the record hash's
        // place is the statement's digest, computed when verifying.
        let inclusion = InclusionProof::read_tail(B256::ZERO, &mut reader, bytes, FIXED_LEN)?;
        Ok(Self {
            domain,
            statement,
            signature,
            batch_id: inclusion.batch_id,
            root: inclusion.root,
            leaf_count: inclusion.leaf_count,
            index: inclusion.index,
            siblings: inclusion.siblings,
        })
    }

    /// The text form for QR codes: `EHRP:` + base45 of the binary form.
    #[must_use]
    pub fn to_text(&self) -> String {
        text_of(&self.to_bytes())
    }

    /// Decodes the text form (surrounding whitespace is ignored).
    ///
    /// # Errors
    /// [`ProofError::NotAProof`], [`ProofError::BadText`], then as
    /// [`SignedRecordProof::from_bytes`].
    pub fn from_text(text: &str) -> Result<Self, SignedProofError> {
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
    pub fn from_json(json: &str) -> Result<Self, SignedProofError> {
        crate::json::from_text::<SignedProofJson>(json)
            .map_err(|e| ProofError::Json(e.to_string()).into())
            .and_then(Self::try_from)
    }
}

/// The JSON form, with an explicit version.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SignedProofJson {
    version: u8,
    domain: SigningDomain,
    statement: RecordStatement,
    signature: alloy_primitives::Bytes,
    batch_id: B256,
    root: B256,
    leaf_count: u32,
    index: u32,
    siblings: Vec<B256>,
}

impl From<SignedRecordProof> for SignedProofJson {
    fn from(p: SignedRecordProof) -> Self {
        Self {
            version: SIGNED_PROOF_VERSION,
            domain: p.domain,
            statement: p.statement,
            signature: p.signature.as_bytes().to_vec().into(),
            batch_id: p.batch_id,
            root: p.root,
            leaf_count: p.leaf_count,
            index: p.index,
            siblings: p.siblings,
        }
    }
}

impl TryFrom<SignedProofJson> for SignedRecordProof {
    type Error = SignedProofError;
    fn try_from(j: SignedProofJson) -> Result<Self, SignedProofError> {
        if j.version != SIGNED_PROOF_VERSION {
            return Err(ProofError::UnsupportedVersion(j.version).into());
        }
        let proof = Self {
            domain: j.domain,
            statement: j.statement,
            signature: RecordSignature::from_slice(&j.signature)?,
            batch_id: j.batch_id,
            root: j.root,
            leaf_count: j.leaf_count,
            index: j.index,
            siblings: j.siblings,
        };
        proof.inclusion_of(B256::ZERO).check_shape()?;
        Ok(proof)
    }
}
