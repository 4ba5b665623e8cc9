//! Authorship: the EIP-712 statement an author signs over a sealed record.
//!
//! The chain alone knows only which *account* sent a transaction; a hospital
//! gateway sends for hundreds of clinicians. So after sealing, the author
//! signs a [`RecordStatement`]: the record's public facts (TI id, template,
//! record hash, patient pseudonym, role, time) and the author's address, as
//! EIP-712 typed data under a [`SigningDomain`] that names one chain and one
//! registry. The signature binds the sealed record to that chain, that
//! registry and that author; a wallet shows the statement readably
//! ([`RecordStatement::typed_data`] is the `eth_signTypedData_v4` document).
//!
//! [`RecordSignature`] holds the 65-byte signature and refuses what the
//! registry's OpenZeppelin `ECDSA` refuses (wrong length, `v` other than 27
//! or 28, a high `s`); [`RecordStatement::verify`] recovers the signer and
//! checks it is the statement's author. The format is specified in
//! `docs/authorship.md`, with vectors in `docs/vectors/authorship.json`.
//!
//! ```
//! use ehrchain_core::authorship::{RecordSignature, RecordStatement, SigningDomain};
//! use ehrchain_core::{Address, B256};
//!
//! let domain = SigningDomain { chain_id: 1337, registry: Address::repeat_byte(0x42) };
//! let statement = RecordStatement {
//!     tiId: B256::repeat_byte(1),
//!     templateId: B256::repeat_byte(2),
//!     recordHash: B256::repeat_byte(3),
//!     subject: B256::repeat_byte(4),
//!     role: B256::repeat_byte(5),
//!     author: Address::repeat_byte(6),
//!     timestamp: 1_764_000_000,
//! };
//! // What the author's wallet or key signs (EIP-712 `\x19\x01` digest):
//! let digest = statement.signing_hash(&domain);
//! assert_ne!(digest, B256::ZERO);
//! // A signature that is not 65 bytes is refused before any recovery.
//! assert!(RecordSignature::from_slice(&[0u8; 64]).is_err());
//! ```

use alloy_primitives::{Address, B256};
use alloy_sol_types::{Eip712Domain, SolCall, SolStruct, eip712_domain, sol};
use serde_json::{Value, json};

use crate::generator::ChainTransaction;
use crate::registry_abi::IEhrRegistry;

mod relay;
mod roles;
mod separator;
mod signed_batch;
mod signed_proof;
mod signer;

pub(crate) use relay::anchored_record;
pub use relay::{SignedStatement, SigningRequest};
pub use roles::{RoleHistory, RoleTerm};
pub use separator::DomainSeparator;
pub use signed_batch::{ISignedBatches, SignedBatch, SignedBatchBuilder, SignedRecord};
pub use signed_proof::{
    SIGNED_PROOF_VERSION, SignedBatchAnchor, SignedProofError, SignedRecordProof,
};
pub use signer::{LocalSigner, Signer};

/// The EIP-712 domain name of every ehrchain statement.
pub const DOMAIN_NAME: &str = "ehrchain";
/// The EIP-712 domain version of [`RecordStatement`]; a new version is a new
/// statement type that old signatures do not satisfy.
pub const DOMAIN_VERSION: &str = "1";

sol! {
    /// What an author signs about one sealed record (EIP-712 primary type
    /// `RecordStatement`). Only public facts: the chain already holds each of
    /// them for an anchored record; nothing clinical or identifying.
    ///
    /// JSON form: the member names below (`tiId`, `templateId`, `recordHash`,
    /// `subject`, `role`, `author`, `timestamp`), hashes and the address as
    /// `0x` hex, `timestamp` a number.
    #[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RecordStatement {
        /// The TI's id (the registry's idempotency key).
        bytes32 tiId;
        /// The template the record follows.
        bytes32 templateId;
        /// SHA-256 of the sealed envelope.
        bytes32 recordHash;
        /// The patient pseudonym (or another public subject; zero for none).
        bytes32 subject;
        /// The role id the author acts in (`Role::id`).
        bytes32 role;
        /// The author's account (an EOA, or an ERC-1271 smart account).
        address author;
        /// When the author made the entry (Unix seconds, the TI's timestamp).
        uint64 timestamp;
    }

    /// `EhrRegistry.anchorSignedRecord`: a relayer anchors a record its
    /// author signed ([`relay`]).
    function anchorSignedRecord(RecordStatement statement, bytes signature) external;
}

/// The chain and registry a statement is signed for: the EIP-712 domain
/// `{name: "ehrchain", version: "1", chainId, verifyingContract}`. A
/// signature made for one domain does not verify under another, so a
/// statement cannot be replayed on another chain or registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SigningDomain {
    /// The EIP-155 chain id.
    pub chain_id: u64,
    /// The `EhrRegistry` the record is anchored in.
    pub registry: Address,
}

impl SigningDomain {
    /// The EIP-712 domain these values name.
    #[must_use]
    pub fn eip712(&self) -> Eip712Domain {
        eip712_domain! {
            name: DOMAIN_NAME,
            version: DOMAIN_VERSION,
            chain_id: self.chain_id,
            verifying_contract: self.registry,
        }
    }
}

/// The `eth_signTypedData_v4` document of `message` under `domain` (`types`,
/// `primaryType`, `domain`, `message`): what a wallet is asked to sign and
/// shows its user. The members are read from the EIP-712 type string, so the
/// two cannot differ; `domain` has a name, version, chain id and contract.
pub(crate) fn typed_data_v4<S: SolStruct + serde::Serialize>(
    domain: &Eip712Domain,
    message: &S,
) -> Value {
    let root = S::eip712_root_type();
    let members: Vec<Value> = root
        .strip_prefix(S::NAME)
        .and_then(|rest| rest.strip_prefix('('))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_default()
        .split(',')
        .filter_map(|member| member.split_once(' '))
        .map(|(kind, name)| json!({"name": name, "type": kind}))
        .collect();
    let mut types = serde_json::Map::new();
    types.insert(
        "EIP712Domain".to_owned(),
        json!([
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"},
            {"name": "chainId", "type": "uint256"},
            {"name": "verifyingContract", "type": "address"},
        ]),
    );
    types.insert(S::NAME.to_owned(), Value::Array(members));
    json!({
        "types": types,
        "primaryType": S::NAME,
        "domain": {
            "name": domain.name,
            "version": domain.version,
            "chainId": domain.chain_id.map(|id| id.saturating_to::<u64>()),
            "verifyingContract": domain.verifying_contract,
        },
        "message": message,
    })
}

/// Why a statement or its signature was refused.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthorshipError {
    /// The signature is not 65 bytes.
    #[error(
        "the author's signature is {len} bytes; an EIP-712 signature is 65 bytes (r, s, v): check that the signer returned the whole signature"
    )]
    SignatureLength {
        /// The length received.
        len: usize,
    },
    /// `v` is not 27 or 28.
    #[error(
        "the author's signature ends in v = {v}; the registry accepts only 27 or 28: check the signer's output format"
    )]
    SignatureParity {
        /// The `v` byte received.
        v: u8,
    },
    /// `s` is in the upper half of the curve order (a malleable signature).
    #[error(
        "the author's signature has a high s value (malleable, refused as EIP-2 and OpenZeppelin ECDSA refuse it): sign again with a standard wallet or library"
    )]
    HighS,
    /// No public key recovers from the signature.
    #[error("the author's signature is not a valid secp256k1 signature of this statement")]
    Unrecoverable,
    /// The signature recovers to another account than the statement's author.
    #[error(
        "the statement names author {author} but was signed by {signer}: either another key signed it, or it was signed for another chain, registry or record"
    )]
    WrongSigner {
        /// The author the statement names.
        author: Address,
        /// The account the signature recovers to.
        signer: Address,
    },
    /// The TC does not call `anchorRecord`, so it has no single record's
    /// statement.
    #[error(
        "the transaction does not call anchorRecord: only a single record's transaction has a statement to sign"
    )]
    NotAnchorRecord,
    /// The statement does not describe the sealed record it is given with.
    #[error(
        "the statement does not match the sealed record: its {field} differs from the transaction's; sign the statement of this record"
    )]
    StatementMismatch {
        /// The member of the statement that differs (`tiId`, `recordHash`, …).
        field: &'static str,
    },
    /// The TC carries no author's signature (it calls `anchorRecord`), where
    /// only an author-signed one is taken (a signed batch).
    #[error(
        "the transaction carries no author's signature (it calls anchorRecord), and a signed batch holds only author-signed records: have the author sign it (SigningRequest), or anchor it alone or in an ordinary batch"
    )]
    NotSigned,
    /// The signer (a key, an HSM, a smart card, a wallet) made no signature.
    #[error(
        "the author's signer made no signature: {message}; check the signer (key, HSM, card or wallet) and submit the TI again"
    )]
    SignerFailed {
        /// The signer's own message.
        message: String,
    },
}

/// An author's 65-byte secp256k1 signature (`r ‖ s ‖ v`) of a
/// [`RecordStatement`], checked for the form the registry accepts: `v` is 27
/// or 28 and `s` is in the lower half of the curve order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordSignature([u8; 65]);

impl RecordSignature {
    /// Checks and wraps a signature.
    ///
    /// # Errors
    /// [`AuthorshipError::SignatureLength`], [`AuthorshipError::SignatureParity`],
    /// [`AuthorshipError::HighS`] or [`AuthorshipError::Unrecoverable`] (`r`
    /// or `s` zero or not below the curve order).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, AuthorshipError> {
        let raw: [u8; 65] = bytes
            .try_into()
            .map_err(|_| AuthorshipError::SignatureLength { len: bytes.len() })?;
        let v = raw[64];
        if v != 27 && v != 28 {
            return Err(AuthorshipError::SignatureParity { v });
        }
        let signature = Self(raw);
        if signature.ecdsa()?.normalize_s().is_some() {
            return Err(AuthorshipError::HighS);
        }
        Ok(signature)
    }

    /// The 65 bytes `r ‖ s ‖ v`, as the registry takes them.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 65] {
        &self.0
    }

    /// `r ‖ s` as a secp256k1 signature (refused when `r` or `s` is zero or
    /// not below the curve order).
    fn ecdsa(&self) -> Result<k256::ecdsa::Signature, AuthorshipError> {
        let [rs @ .., _] = &self.0;
        k256::ecdsa::Signature::from_slice(rs).map_err(|_| AuthorshipError::Unrecoverable)
    }

    /// The account whose key made this signature of `digest`.
    pub(crate) fn recover(&self, digest: &B256) -> Result<Address, AuthorshipError> {
        let recovery_id = k256::ecdsa::RecoveryId::new(self.0[64] == 28, false);
        let key = k256::ecdsa::VerifyingKey::recover_from_prehash(
            digest.as_slice(),
            &self.ecdsa()?,
            recovery_id,
        )
        .map_err(|_| AuthorshipError::Unrecoverable)?;
        let point = key.to_encoded_point(false);
        // An uncompressed point is 0x04 ‖ x ‖ y; the address hashes x ‖ y.
        let xy = point
            .as_bytes()
            .get(1..)
            .ok_or(AuthorshipError::Unrecoverable)?;
        Ok(Address::from_raw_public_key(xy))
    }
}

impl RecordStatement {
    /// The statement of the record `tc` anchors, signed by `author`: read
    /// from the `anchorRecord` call the template mapped (its subject, template,
    /// TI id, record hash, time and role are what the chain will hold).
    ///
    /// # Errors
    /// [`AuthorshipError::NotAnchorRecord`] when `tc` does not call
    /// `anchorRecord`; [`AuthorshipError::StatementMismatch`] when its call
    /// names another TI or record hash than the TC (a tampered TC).
    pub fn of_transaction(tc: &ChainTransaction, author: Address) -> Result<Self, AuthorshipError> {
        let call = IEhrRegistry::anchorRecordCall::abi_decode(&tc.calldata)
            .map_err(|_| AuthorshipError::NotAnchorRecord)?;
        if call.tiId != tc.ti_id {
            return Err(AuthorshipError::StatementMismatch { field: "tiId" });
        }
        if call.recordHash != tc.record_hash {
            return Err(AuthorshipError::StatementMismatch {
                field: "recordHash",
            });
        }
        Ok(Self {
            tiId: call.tiId,
            templateId: call.templateId,
            recordHash: call.recordHash,
            subject: call.subject,
            role: call.role,
            author,
            timestamp: call.timestamp,
        })
    }

    /// The EIP-712 digest the author signs: `keccak256("\x19\x01" ‖
    /// domainSeparator ‖ hashStruct(statement))`.
    #[must_use]
    pub fn signing_hash(&self, domain: &SigningDomain) -> B256 {
        self.eip712_signing_hash(&domain.eip712())
    }

    /// The `eth_signTypedData_v4` document of this statement under `domain`
    /// (`types`, `primaryType`, `domain`, `message`): what a wallet is asked
    /// to sign and shows the author.
    #[must_use]
    pub fn typed_data(&self, domain: &SigningDomain) -> Value {
        typed_data_v4(&domain.eip712(), self)
    }

    /// The account whose key made `signature` over this statement under
    /// `domain`.
    ///
    /// # Errors
    /// [`AuthorshipError::Unrecoverable`] when no key recovers.
    pub fn signer(
        &self,
        domain: &SigningDomain,
        signature: &RecordSignature,
    ) -> Result<Address, AuthorshipError> {
        DomainSeparator::new(*domain).signer(self, signature)
    }

    /// Checks that the statement's author (an externally owned account)
    /// signed it under `domain`. A smart-account author (ERC-1271) is checked
    /// by the registry on chain instead; this check then fails with
    /// [`AuthorshipError::WrongSigner`].
    ///
    /// # Errors
    /// [`AuthorshipError::Unrecoverable`] or [`AuthorshipError::WrongSigner`].
    pub fn verify(
        &self,
        domain: &SigningDomain,
        signature: &RecordSignature,
    ) -> Result<(), AuthorshipError> {
        DomainSeparator::new(*domain).verify(self, signature)
    }
}

#[cfg(test)]
pub(crate) mod tests;
