//! Relaying a record its author signed, in two steps and without I/O:
//!
//! 1. [`SigningRequest::new`] takes a sealed TC (one `anchorRecord` call) and
//!    the author's account and says what to sign: the [`RecordStatement`],
//!    its `eth_signTypedData_v4` document and its EIP-712 digest, under the
//!    domain of the TC's own chain and registry.
//! 2. [`SigningRequest::attach`] takes the 65 bytes the author's key, HSM,
//!    card or wallet returned, checks them here (a malformed signature is
//!    `EHR_SIGNATURE_MALFORMED`, another signer `EHR_SIGNATURE_WRONG_SIGNER`)
//!    and returns the TC a relayer sends: the same record, envelope and
//!    hashes, its calldata now `anchorSignedRecord(statement, signature)`.
//!
//! A signed TC carries its [`SignedStatement`] in its calldata and nowhere
//! else ([`ChainTransaction::signed_statement`]), so its JSON form is the
//! unsigned one's; [`ChainTransaction::check_signature`] is the one check
//! every path (the two steps, a TC read back from an outbox, the validator
//! before sending) applies.
//!
//! ```
//! use std::collections::BTreeMap;
//!
//! use ehrchain_core::authorship::{LocalSigner, Signer, SigningRequest};
//! use ehrchain_core::rand_core::SeedableRng;
//! use ehrchain_core::{
//!     Address, B256, ErrorCode, GeneratorConfig, Handshaker, InMemoryKeyStore,
//!     InitialTransaction, KeyId, MasterKey, Role, TemplateRegistry, TransactionGenerator,
//!     UnixMillis, ValidatorConfig,
//! };
//!
//! # fn main() -> Result<(), ehrchain_core::Error> {
//! let mut keys = InMemoryKeyStore::new();
//! keys.insert(KeyId::new("records")?, MasterKey::new([7; 32]));
//! keys.insert(KeyId::new("pseudonyms")?, MasterKey::new([8; 32]));
//! let config = GeneratorConfig::new(
//!     1337,
//!     Address::repeat_byte(0xee),
//!     KeyId::new("records")?,
//!     KeyId::new("pseudonyms")?,
//! )?;
//! let templates = TemplateRegistry::with_built_ins(None)?;
//! let bp = templates.latest("blood-pressure").map(|t| t.id()).unwrap_or_default();
//! let hs = Handshaker::new(templates, TransactionGenerator::new(config, keys)?, ValidatorConfig::default());
//! let now = UnixMillis::from_secs(1_764_495_000);
//! let ti = InitialTransaction {
//!     ti_id: B256::repeat_byte(1),
//!     template_id: bp,
//!     author_id: "dr-7".into(),
//!     author_role: Role::new("doctor")?,
//!     patient_id: Some("MRN-000123".into()),
//!     timestamp: now.as_secs(),
//!     fields: BTreeMap::from([("systolic".into(), 128.into()), ("diastolic".into(), 84.into())]),
//! };
//! let tc = hs.generate(&ti, now, &mut rand_chacha::ChaCha20Rng::seed_from_u64(1))?;
//!
//! // Step one: what the doctor signs (an HSM takes `digest()`, a wallet `typed_data()`).
//! let doctor = LocalSigner::from_bytes(&[0x11; 32])?;
//! let request = SigningRequest::new(tc, doctor.address())?;
//! assert_eq!(request.typed_data()["primaryType"], "RecordStatement");
//! // Step two: the signature, checked, gives the TC the relayer sends.
//! let signature = doctor.sign(&request)?;
//! let relayed = request.clone().attach(&signature)?;
//! assert_eq!(relayed.signed_statement().map(|s| s.author()), Some(doctor.address()));
//! // Another key's signature is refused, with the code C and JavaScript use too.
//! let nurse = LocalSigner::from_bytes(&[0x22; 32])?;
//! let refused = request.clone().attach(&nurse.sign(&request)?).map_err(ehrchain_core::Error::from);
//! assert_eq!(refused.map_err(|e| e.code()).err(), Some(ErrorCode::SignatureWrongSigner));
//! # Ok(())
//! # }
//! ```

use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::SolCall;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    AuthorshipError, RecordSignature, RecordStatement, SigningDomain, anchorSignedRecordCall,
};
use crate::generator::ChainTransaction;
use crate::registry_abi::IEhrRegistry;
use crate::validator::{TransactionValidator, ValidatorConfig};

/// A statement with its author's signature, as a signed TC's calldata holds
/// it and as ACKs carry it. The signature is kept as given (65 bytes when
/// well formed): [`SignedStatement::verify`] checks it.
///
/// JSON form: `{"statement": {…}, "signature": "0x…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SignedStatement {
    /// What the author signed.
    pub statement: RecordStatement,
    /// The author's signature (`r ‖ s ‖ v`).
    pub signature: Bytes,
}

impl SignedStatement {
    /// The account the statement names as its author.
    #[must_use]
    pub fn author(&self) -> Address {
        self.statement.author
    }

    /// Checks the signature's form and that the author made it under `domain`.
    ///
    /// # Errors
    /// As [`RecordSignature::from_slice`] and [`RecordStatement::verify`].
    pub fn verify(&self, domain: &SigningDomain) -> Result<(), AuthorshipError> {
        let signature = RecordSignature::from_slice(&self.signature)?;
        self.statement.verify(domain, &signature)
    }
}

impl SigningDomain {
    /// The domain a TC's statement is signed under: the TC's chain and the
    /// registry it calls.
    #[must_use]
    pub fn of(tc: &ChainTransaction) -> Self {
        Self {
            chain_id: tc.chain_id,
            registry: tc.to,
        }
    }
}

/// Step one of relaying: what `author` is asked to sign for a sealed TC.
/// See the [module docs](crate::authorship).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningRequest {
    tc: ChainTransaction,
    statement: RecordStatement,
    /// The author is a smart account: its signature is checked on chain only.
    smart_account: bool,
}

impl SigningRequest {
    /// The request for `tc` (a sealed, unsigned TC) signed by `author`.
    ///
    /// # Errors
    /// [`AuthorshipError::NotAnchorRecord`] for a TC that is not one
    /// `anchorRecord` call (a batch, or a TC already signed);
    /// [`AuthorshipError::StatementMismatch`] for a call that disagrees with
    /// its TC.
    pub fn new(tc: ChainTransaction, author: Address) -> Result<Self, AuthorshipError> {
        let statement = RecordStatement::of_transaction(&tc, author)?;
        Ok(Self {
            tc,
            statement,
            smart_account: false,
        })
    }

    /// The same request for an author that is a smart account (a hospital's
    /// multisig or passkey wallet): its signature is whatever its ERC-1271
    /// `isValidSignature` accepts, which only the registry can ask, on
    /// chain. Here only the statement is checked against the TC (attaching
    /// and the validator then refuse no signature as another signer's); the
    /// registry refuses a bad one (`EhrRegistryBadSignature`, an invalid ACK
    /// with the decoded revert).
    #[must_use]
    pub fn for_smart_account(self) -> Self {
        Self {
            smart_account: true,
            ..self
        }
    }

    /// The statement to sign.
    #[must_use]
    pub fn statement(&self) -> &RecordStatement {
        &self.statement
    }

    /// The domain it is signed under: the TC's chain and registry.
    #[must_use]
    pub fn domain(&self) -> SigningDomain {
        SigningDomain::of(&self.tc)
    }

    /// The EIP-712 digest a key or an HSM signs (32 bytes).
    #[must_use]
    pub fn digest(&self) -> B256 {
        self.statement.signing_hash(&self.domain())
    }

    /// The `eth_signTypedData_v4` document a wallet signs and shows.
    #[must_use]
    pub fn typed_data(&self) -> Value {
        self.statement.typed_data(&self.domain())
    }

    /// Step two: the TC a relayer sends, once `signature` is checked to be
    /// the author's.
    ///
    /// # Errors
    /// [`AuthorshipError`] (`EHR_SIGNATURE_MALFORMED`,
    /// `EHR_SIGNATURE_WRONG_SIGNER`) when it is not.
    pub fn attach(self, signature: &[u8]) -> Result<ChainTransaction, AuthorshipError> {
        let (tc, check) = self.into_checked(signature);
        check?;
        Ok(tc)
    }

    /// Step two for hosts that hand every outcome to the validator: the
    /// validator of the TC signed with `signature`, or, when the signer made
    /// none (`Err`), a finished validator whose ACK is invalid with that
    /// error. A signature that does not verify gives an invalid ACK naming
    /// the author too ([`TransactionValidator::new`]); nothing is sent then.
    #[must_use]
    pub fn validator(
        self,
        signature: Result<Vec<u8>, AuthorshipError>,
        config: ValidatorConfig,
    ) -> TransactionValidator {
        match signature {
            Ok(signature) => {
                let (tc, check) = self.into_checked(&signature);
                TransactionValidator::checked(&tc, check, config)
            }
            Err(e) => TransactionValidator::refused(&self.tc, &e, config),
        }
    }

    /// The signed TC and what the local check of it says: the statement and
    /// signature for an externally owned account, the statement alone for a
    /// smart account.
    fn into_checked(self, signature: &[u8]) -> (ChainTransaction, Result<(), AuthorshipError>) {
        let smart_account = self.smart_account;
        let tc = self.into_signed(signature);
        let check = if smart_account {
            tc.check_statement()
        } else {
            tc.check_signature()
        };
        (tc, check.map(drop))
    }

    /// The signed TC, its signature not checked yet (the validator checks it
    /// before sending).
    fn into_signed(self, signature: &[u8]) -> ChainTransaction {
        let call = anchorSignedRecordCall {
            statement: self.statement,
            signature: Bytes::copy_from_slice(signature),
        };
        ChainTransaction {
            calldata: call.abi_encode().into(),
            ..self.tc
        }
    }
}

impl ChainTransaction {
    /// The author's signed statement, when this TC is a relayed one
    /// (`anchorSignedRecord`); `None` for an `anchorRecord` TC.
    #[must_use]
    pub fn signed_statement(&self) -> Option<SignedStatement> {
        anchorSignedRecordCall::abi_decode(&self.calldata)
            .ok()
            .map(|call| SignedStatement {
                statement: call.statement,
                signature: call.signature,
            })
    }

    /// For a signed TC, checks that its statement is this record's (TI id,
    /// template, record hash) and that its author signed it under the TC's
    /// own chain and registry; returns the statement. `Ok(None)` for an
    /// unsigned TC.
    ///
    /// # Errors
    /// [`AuthorshipError::StatementMismatch`], or the signature's
    /// [`AuthorshipError`].
    pub fn check_signature(&self) -> Result<Option<SignedStatement>, AuthorshipError> {
        let signed = self.check_statement()?;
        if let Some(signed) = &signed {
            signed.verify(&SigningDomain::of(self))?;
        }
        Ok(signed)
    }

    /// For a signed TC, checks that its statement is this record's (TI id,
    /// template, record hash), not its signature: what can be checked here of
    /// a smart account's ([`SigningRequest::for_smart_account`]).
    ///
    /// # Errors
    /// [`AuthorshipError::StatementMismatch`].
    pub fn check_statement(&self) -> Result<Option<SignedStatement>, AuthorshipError> {
        let Some(signed) = self.signed_statement() else {
            return Ok(None);
        };
        let s = &signed.statement;
        for (field, ours, theirs) in [
            ("tiId", self.ti_id, s.tiId),
            ("templateId", self.template_id, s.templateId),
            ("recordHash", self.record_hash, s.recordHash),
        ] {
            if ours != theirs {
                return Err(AuthorshipError::StatementMismatch { field });
            }
        }
        Ok(Some(signed))
    }
}

/// The TI id and record hash a single-record call anchors (`anchorRecord` or
/// `anchorSignedRecord`), or `None` for any other calldata.
pub(crate) fn anchored_record(calldata: &[u8]) -> Option<(B256, B256)> {
    if let Ok(call) = IEhrRegistry::anchorRecordCall::abi_decode(calldata) {
        return Some((call.tiId, call.recordHash));
    }
    anchorSignedRecordCall::abi_decode(calldata)
        .ok()
        .map(|call| (call.statement.tiId, call.statement.recordHash))
}

#[cfg(test)]
mod tests;
