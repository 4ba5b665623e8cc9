//! One error scheme for Rust, C and JavaScript.
//!
//! Every error of the core has an [`ErrorCode`]: a stable number (what the C
//! ABI returns), a stable name (the `code` of a JavaScript `Error`) and an
//! [`ErrorKind`] (the area it comes from). The codes are defined here once;
//! the C header's `ehr_result` constants and the table in `docs/errors.md`
//! are generated from [`ErrorCode::ALL`], and tests fail when either is stale.
//!
//! [`Error`] is the umbrella over every core error, for hosts that handle
//! them in one place.

use std::fmt;

use crate::authorship::{AuthorshipError, SignedProofError};
use crate::batch::{BatchError, ProofError};
use crate::capsule::CapsuleError;
use crate::driver::{Stopped, WatchStopped};
use crate::envelope::EnvelopeError;
use crate::fhir::FhirError;
use crate::generator::GenerateError;
use crate::keys::{InvalidKeyId, KeyStoreError};
use crate::outbox::OutboxError;
use crate::pipeline::PipelineError;
use crate::role::InvalidRoleName;
use crate::sharing::SharingError;
use crate::tc_json::TcError;
use crate::template::{RegistryError, TemplateError};
use crate::ti::TiFormatError;
use crate::transport::TransportError;
use crate::validator::ValidatorError;
use crate::violation::Violations;
use crate::watcher::WatcherError;

/// The area an error comes from. Codes are numbered by area in hundreds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An argument of the call itself (1xx).
    Argument,
    /// A template or the template registry (2xx).
    Template,
    /// An initial transaction (3xx).
    Ti,
    /// Keys, the key store, sealed envelopes and key capsules (4xx).
    Envelope,
    /// Merkle batches and inclusion proofs (5xx).
    Batch,
    /// The transport to the chain, the devnet, the validator, and consent
    /// and sharing (6xx).
    Chain,
    /// FHIR resources and Bundles (7xx).
    Fhir,
    /// Authors' signed statements of records (8xx).
    Authorship,
    /// A bug in ehrchain (9xx).
    Internal,
}

impl ErrorKind {
    /// The kind's stable lower-case name (`argument`, `template`, …): the
    /// `kind` of a JavaScript error.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Argument => "argument",
            Self::Template => "template",
            Self::Ti => "ti",
            Self::Envelope => "envelope",
            Self::Batch => "batch",
            Self::Chain => "chain",
            Self::Fhir => "fhir",
            Self::Authorship => "authorship",
            Self::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Defines [`ErrorCode`] and its table from one list.
macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $number:literal, $name:literal, $kind:ident, $summary:literal; )*) => {
        /// What went wrong, as one stable number and name in every binding.
        ///
        /// A code keeps its number, name and meaning in every release; a
        /// retired code is never reused. The C ABI returns the number (with
        /// 0 for success), JavaScript throws an `Error` whose `code` is the
        /// name. `docs/errors.md` lists them all.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u32)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant = $number, )*
        }

        impl ErrorCode {
            /// Every code, in numeric order.
            pub const ALL: &'static [ErrorCode] = &[ $( Self::$variant, )* ];

            /// The stable name (`EHR_TEMPLATE_UNKNOWN`, …).
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self { $( Self::$variant => $name, )* }
            }

            /// The area the error comes from.
            #[must_use]
            pub const fn kind(self) -> ErrorKind {
                match self { $( Self::$variant => ErrorKind::$kind, )* }
            }

            /// One line saying what the code means (the detailed message of
            /// each failure says more).
            #[must_use]
            pub const fn summary(self) -> &'static str {
                match self { $( Self::$variant => $summary, )* }
            }
        }
    };
}

error_codes! {
    /// A required pointer argument was NULL (C).
    NullArgument = 100, "EHR_NULL_ARGUMENT", Argument, "a required pointer argument was NULL";
    /// A text argument is not valid UTF-8 (C).
    InvalidUtf8 = 101, "EHR_INVALID_UTF8", Argument, "a text argument is not valid UTF-8";
    /// The output buffer is too small; the length needed was reported (C).
    BufferTooSmall = 102, "EHR_BUFFER_TOO_SMALL", Argument, "the output buffer is too small; the length needed was written to out_len";
    /// A JSON argument is not valid JSON or not of the expected shape.
    InvalidJson = 103, "EHR_INVALID_JSON", Argument, "a JSON argument is not valid JSON or not of the expected shape";
    /// An input that must not be empty is empty.
    ZeroLength = 104, "EHR_ZERO_LENGTH", Argument, "an input that must not be empty is empty";
    /// An argument is of the wrong type, out of range or malformed.
    InvalidArgument = 105, "EHR_INVALID_ARGUMENT", Argument, "an argument is of the wrong type, out of range or malformed";
    /// The value asked for is absent (an invalid ACK's anchor, say).
    NotPresent = 106, "EHR_NOT_PRESENT", Argument, "the value asked for is absent";
    /// The call needs a feature this build of ehrchain leaves out.
    FeatureDisabled = 107, "EHR_FEATURE_DISABLED", Argument, "this build of ehrchain leaves out the feature the call needs";
    /// A role name breaks the naming rule.
    RoleInvalid = 108, "EHR_ROLE_INVALID", Argument, "a role name breaks the naming rule";
    /// A template document is invalid.
    TemplateInvalid = 200, "EHR_TEMPLATE_INVALID", Template, "the template document is invalid";
    /// The same template is already loaded.
    TemplateAlreadyLoaded = 201, "EHR_TEMPLATE_ALREADY_LOADED", Template, "the template is already loaded";
    /// A new version of a template is not newer than the loaded ones.
    TemplateVersionNotNewer = 202, "EHR_TEMPLATE_VERSION_NOT_NEWER", Template, "the template version is not newer than the loaded one";
    /// No template with this id is loaded.
    TemplateUnknown = 203, "EHR_TEMPLATE_UNKNOWN", Template, "no such template is loaded";
    /// The template's call is not a function of the registry contract.
    TemplateNotInContract = 204, "EHR_TEMPLATE_NOT_IN_CONTRACT", Template, "the template's call is not a function of the registry contract";
    /// A TI document is malformed or too large.
    TiMalformed = 300, "EHR_TI_MALFORMED", Ti, "the TI is malformed or too large";
    /// A TI breaks its template; the violations list every reason.
    TiRejected = 301, "EHR_TI_REJECTED", Ti, "the TI breaks its template (every violation is listed)";
    /// A stored TC is malformed or its parts disagree.
    TcInvalid = 302, "EHR_TC_INVALID", Ti, "the stored TC is malformed or its parts disagree";
    /// The key store has no key under the id asked for.
    KeyUnknown = 400, "EHR_KEY_UNKNOWN", Envelope, "the key store has no such master key";
    /// The key store could not answer (retryable).
    KeyStoreUnavailable = 401, "EHR_KEY_STORE_UNAVAILABLE", Envelope, "the key store could not answer";
    /// A key id breaks the key id rule.
    KeyIdInvalid = 402, "EHR_KEY_ID_INVALID", Envelope, "a key id must be 1 to 64 printable ASCII characters";
    /// The bytes are not a well-formed envelope.
    EnvelopeMalformed = 403, "EHR_ENVELOPE_MALFORMED", Envelope, "the bytes are not a well-formed envelope";
    /// The envelope's version or cipher suite is not supported.
    EnvelopeUnsupported = 404, "EHR_ENVELOPE_UNSUPPORTED", Envelope, "the envelope's version or cipher suite is not supported";
    /// The master key does not fit the envelope (or its header was altered).
    EnvelopeWrongKey = 405, "EHR_ENVELOPE_WRONG_KEY", Envelope, "the master key does not fit the envelope";
    /// The envelope's ciphertext does not authenticate.
    EnvelopeTampered = 406, "EHR_ENVELOPE_TAMPERED", Envelope, "the envelope's ciphertext does not authenticate";
    /// The record is too large for an envelope.
    EnvelopeTooLarge = 407, "EHR_ENVELOPE_TOO_LARGE", Envelope, "the record is too large for an envelope";
    /// A master key is not 32 bytes.
    KeyInvalid = 408, "EHR_KEY_INVALID", Envelope, "a master key must be 32 bytes";
    /// A cipher outside ehrchain (WebCrypto) is missing, failed, or gave output
    /// of the wrong length.
    ExternalCipher = 409, "EHR_EXTERNAL_CIPHER", Envelope, "the external AES-256-GCM (WebCrypto) is missing or failed";
    /// The bytes are not a well-formed key capsule.
    CapsuleMalformed = 420, "EHR_CAPSULE_MALFORMED", Envelope, "the bytes are not a well-formed key capsule";
    /// The key capsule's version or suite is not supported.
    CapsuleUnsupported = 421, "EHR_CAPSULE_UNSUPPORTED", Envelope, "the key capsule's version or suite is not supported";
    /// The key capsule was sealed for another recipient key.
    CapsuleWrongKey = 422, "EHR_CAPSULE_WRONG_KEY", Envelope, "the key capsule was sealed for another recipient key";
    /// The key capsule is bound to another chain, registry, record,
    /// recipient or grant, or the envelope is another record.
    CapsuleWrongBinding = 423, "EHR_CAPSULE_WRONG_BINDING", Envelope, "the key capsule is for another chain, registry, record, recipient or grant";
    /// The key capsule does not authenticate.
    CapsuleTampered = 424, "EHR_CAPSULE_TAMPERED", Envelope, "the key capsule does not authenticate under the recipient's key";
    /// A recipient's public or private key is not a valid key of its suite.
    RecipientKeyInvalid = 425, "EHR_RECIPIENT_KEY_INVALID", Envelope, "a recipient's public or private key is not valid for its suite";
    /// The batch has no record.
    BatchEmpty = 500, "EHR_BATCH_EMPTY", Batch, "the batch has no record";
    /// The batch holds the maximum number of records.
    BatchFull = 501, "EHR_BATCH_FULL", Batch, "the batch is full";
    /// A record hash is all zeros.
    BatchZeroRecordHash = 502, "EHR_BATCH_ZERO_RECORD_HASH", Batch, "a record hash is zero";
    /// The TCs given do not match the batch's records, or one of them cannot
    /// go under a batch root (signed by its author, another call, another
    /// registry or chain).
    BatchMismatch = 503, "EHR_BATCH_MISMATCH", Batch, "the TCs do not match the batch's records, or one cannot be anchored under a batch root";
    /// The bytes, text or JSON are not a well-formed inclusion proof.
    ProofMalformed = 504, "EHR_PROOF_MALFORMED", Batch, "not a well-formed ehrchain inclusion proof";
    /// The proof's format version is not supported.
    ProofUnsupported = 505, "EHR_PROOF_UNSUPPORTED", Batch, "the proof format version is not supported";
    /// The proof does not check out (its shape, or it does not lead to its root).
    ProofInvalid = 506, "EHR_PROOF_INVALID", Batch, "the proof does not check out";
    /// No batch with the proof's root is anchored on chain.
    ProofNotAnchored = 507, "EHR_PROOF_NOT_ANCHORED", Batch, "no batch with the proof's root is anchored";
    /// The anchored batch differs from the proof's (leaf count, batch id).
    ProofAnchorMismatch = 508, "EHR_PROOF_ANCHOR_MISMATCH", Batch, "the anchored batch differs from the proof's";
    /// The batch has no record at the index asked for.
    BatchNoSuchRecord = 509, "EHR_BATCH_NO_SUCH_RECORD", Batch, "the batch has no record at this index";
    /// A TI is given for the batch a second time: each TI is anchored once,
    /// with one ACK.
    BatchDuplicateTi = 510, "EHR_BATCH_DUPLICATE_TI", Batch, "a TI is in the batch already";
    /// The Ethereum node is unreachable or timed out (retryable).
    TransportUnavailable = 600, "EHR_TRANSPORT_UNAVAILABLE", Chain, "the Ethereum node is unreachable or timed out";
    /// The Ethereum node is rate-limiting requests (retryable).
    TransportRateLimited = 601, "EHR_TRANSPORT_RATE_LIMITED", Chain, "the Ethereum node is rate-limiting requests";
    /// The Ethereum node refused the request, or the node URL cannot be used.
    TransportRejected = 602, "EHR_TRANSPORT_REJECTED", Chain, "the Ethereum node refused the request";
    /// The Ethereum node is on another chain.
    TransportWrongChain = 603, "EHR_TRANSPORT_WRONG_CHAIN", Chain, "the Ethereum node is on another chain";
    /// The Ethereum node answered with data ehrchain cannot read.
    TransportMalformed = 604, "EHR_TRANSPORT_MALFORMED", Chain, "the Ethereum node's answer is unreadable";
    /// The in-process devnet refused an operation.
    Devnet = 605, "EHR_DEVNET", Chain, "the in-process devnet refused the operation";
    /// The validator refused an input (a result it did not ask for, or one
    /// after its ACK).
    Validator = 606, "EHR_VALIDATOR", Chain, "the validator refused the input";
    /// The transaction (or its gas estimate, or a call) reverted; the message
    /// names the registry's error.
    TransportReverted = 607, "EHR_TRANSPORT_REVERTED", Chain, "the transaction reverted (the registry refused it)";
    /// A stored outbox entry (a validator snapshot) is unreadable or its
    /// parts disagree.
    OutboxEntryInvalid = 610, "EHR_OUTBOX_ENTRY_INVALID", Chain, "the stored outbox entry is malformed or its parts disagree";
    /// The host's outbox could not store, read or remove an entry; nothing
    /// was sent.
    OutboxUnavailable = 611, "EHR_OUTBOX_UNAVAILABLE", Chain, "the host's outbox could not store or read an entry; nothing was sent";
    /// The anchor watcher refused an input (an invalid ACK, an ACK of
    /// another validator, a result it did not ask for).
    Watcher = 612, "EHR_WATCHER", Chain, "the anchor watcher refused the input";
    /// No ACK yet: the blocking call's deadline passed or the host
    /// cancelled it (during an outage, say). Not a verdict: the TI is
    /// pending and its outbox entry kept; resume it later.
    StillPending = 613, "EHR_STILL_PENDING", Chain, "no ACK yet: the deadline passed or the call was cancelled; the TI is pending, resume it later";
    /// The pipeline holds its limit of TIs; the TI was not kept (push it
    /// again once ACKs have come out).
    PipelineBusy = 620, "EHR_PIPELINE_BUSY", Chain, "the pipeline holds its limit of TIs; push the TI again once ACKs have come out";
    /// A TI with this id is already in the pipeline.
    PipelineDuplicate = 621, "EHR_PIPELINE_DUPLICATE", Chain, "a TI with this id is already in the pipeline";
    /// The TC is for another chain or registry than the pipeline's.
    PipelineWrongRegistry = 622, "EHR_PIPELINE_WRONG_REGISTRY", Chain, "the TC is for another chain or registry than the pipeline's";
    /// No grant lets the recipient receive the record (unknown, or of
    /// another patient or recipient).
    ConsentNoGrant = 630, "EHR_CONSENT_NO_GRANT", Chain, "no grant lets the recipient receive the record; the patient must grant access";
    /// The grant was revoked: no new capsule under it.
    ConsentRevoked = 631, "EHR_CONSENT_REVOKED", Chain, "the grant was revoked; no new capsule may be made under it";
    /// The grant had expired at the block read.
    ConsentExpired = 632, "EHR_CONSENT_EXPIRED", Chain, "the grant has expired";
    /// The grant does not cover the record's template, or another grant
    /// replaced it.
    ConsentWrongTemplate = 633, "EHR_CONSENT_WRONG_TEMPLATE", Chain, "the grant does not cover the record's template, or a newer grant replaced it";
    /// An emergency disclosure for a recipient without the emergency role.
    ConsentNoEmergencyRole = 634, "EHR_CONSENT_NO_EMERGENCY_ROLE", Chain, "the recipient holds neither a grant nor the emergency role";
    /// The recipient has published no encryption key.
    RecipientKeyNotPublished = 635, "EHR_RECIPIENT_KEY_NOT_PUBLISHED", Chain, "the recipient has published no encryption key";
    /// The recipient's public key given is not the one it published.
    RecipientKeyMismatch = 636, "EHR_RECIPIENT_KEY_MISMATCH", Chain, "the recipient's public key is not the one it published (key id or SHA-256)";
    /// The shared record is not anchored in the registry.
    RecordNotAnchored = 637, "EHR_RECORD_NOT_ANCHORED", Chain, "the shared record is not anchored in the registry";
    /// The registry anchors another record under the shared record's TI id.
    RecordAnchorMismatch = 638, "EHR_RECORD_ANCHOR_MISMATCH", Chain, "the registry anchors another record under the shared record's TI id";
    /// No disclosure was given to record, or the consent contract refused
    /// the disclosure for another reason (a sender without the custodian
    /// role, a zero hash).
    DisclosureRefused = 639, "EHR_DISCLOSURE_REFUSED", Chain, "the disclosure was not recorded (none given, or the consent contract refused it)";
    /// The FHIR JSON is malformed, not a resource, or not a Bundle of a
    /// supported type.
    FhirMalformed = 700, "EHR_FHIR_MALFORMED", Fhir, "the FHIR JSON is malformed, not a FHIR resource, or not a supported Bundle";
    /// The FHIR JSON or Bundle is beyond the documented limits.
    FhirTooLarge = 701, "EHR_FHIR_TOO_LARGE", Fhir, "the FHIR JSON or Bundle is beyond the documented limits";
    /// No loaded template maps the resource, or several do.
    FhirUnmapped = 702, "EHR_FHIR_UNMAPPED", Fhir, "no loaded template maps the FHIR resource, or several do";
    /// The resource does not fill its template; every problem is listed with its path.
    FhirRejected = 703, "EHR_FHIR_REJECTED", Fhir, "the FHIR resource does not fill its template (every problem is listed with its path)";
    /// An author's signature is malformed: not 65 bytes, `v` not 27 or 28,
    /// a high `s`, or not a signature of the statement.
    SignatureMalformed = 800, "EHR_SIGNATURE_MALFORMED", Authorship, "the author's signature is malformed (length, v, high s) or not a signature at all";
    /// The signature was made by another account than the statement's
    /// author, or for another chain, registry or record.
    SignatureWrongSigner = 801, "EHR_SIGNATURE_WRONG_SIGNER", Authorship, "the statement was not signed by its author for this chain, registry and record";
    /// The signed statement does not describe the sealed record it came with.
    StatementMismatch = 802, "EHR_STATEMENT_MISMATCH", Authorship, "the signed statement does not match the sealed record";
    /// The author's signer (a key, an HSM, a smart card, a wallet) made no
    /// signature: it failed or the author declined.
    SignerFailed = 803, "EHR_SIGNER_FAILED", Authorship, "the author's signer (key, HSM, smart card, wallet) made no signature";
    /// A TC without its author's signature was given where only a signed one
    /// is taken (a signed batch).
    TcNotSigned = 804, "EHR_TC_NOT_SIGNED", Authorship, "the TC carries no author's signature, and only an author-signed one is taken here";
    /// A signed record's template does not allow the role its statement names.
    AuthorRoleNotAllowed = 820, "EHR_AUTHOR_ROLE_NOT_ALLOWED", Authorship, "the record's template does not allow the role its author signed as";
    /// A signed record's author did not hold the role when its batch was anchored.
    AuthorRoleNotHeld = 821, "EHR_AUTHOR_ROLE_NOT_HELD", Authorship, "the author did not hold the signed role when the batch was anchored";
    /// A panic was caught at the C or JavaScript boundary (a bug in ehrchain).
    Panic = 900, "EHR_PANIC", Internal, "a panic was caught at the boundary (a bug in ehrchain)";
    /// An internal error (a bug in ehrchain).
    Internal = 901, "EHR_INTERNAL", Internal, "an internal error (a bug in ehrchain)";
}

impl ErrorCode {
    /// The stable number (what the C ABI returns).
    #[must_use]
    pub const fn number(self) -> u32 {
        self as u32
    }

    /// The code with this number, if there is one.
    #[must_use]
    pub fn from_number(number: u32) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.number() == number)
    }

    /// The code with this name, if there is one.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// Whether the same call may succeed when tried again later.
    #[must_use]
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::KeyStoreUnavailable | Self::TransportUnavailable | Self::TransportRateLimited
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every error of the core, for hosts that handle them in one place. Each
/// core error converts into it with `?`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A template document was refused.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The template registry refused a change or a lookup.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A TI document could not be read.
    #[error(transparent)]
    TiFormat(#[from] TiFormatError),
    /// A role name breaks the naming rule.
    #[error(transparent)]
    Role(#[from] InvalidRoleName),
    /// A key id breaks the key id rule.
    #[error(transparent)]
    KeyId(#[from] InvalidKeyId),
    /// The key store could not hand out a key.
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
    /// An envelope could not be sealed or opened.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// A key capsule could not be made, read or opened.
    #[error(transparent)]
    Capsule(#[from] CapsuleError),
    /// The generator made no TC.
    #[error(transparent)]
    Generate(#[from] GenerateError),
    /// A batch could not be built or read.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// An inclusion proof was refused.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The transport could not reach or read the chain.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The validator refused an input.
    #[error(transparent)]
    Validator(#[from] ValidatorError),
    /// A stored TC could not be read back.
    #[error(transparent)]
    Tc(#[from] TcError),
    /// The host's outbox could not store or read an entry.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// A blocking call stopped at the host's deadline or cancel: the TI is
    /// still pending.
    #[error(transparent)]
    Pending(#[from] Stopped),
    /// The in-process devnet (the `ehrchain-contracts` crate) refused an
    /// operation; its message.
    #[error("{0}")]
    Devnet(String),
    /// A FHIR resource or Bundle gave no TI.
    #[error(transparent)]
    Fhir(#[from] FhirError),
    /// An author's signed statement was refused.
    #[error(transparent)]
    Authorship(#[from] AuthorshipError),
    /// A signed record's proof was refused.
    #[error(transparent)]
    SignedProof(#[from] SignedProofError),
    /// The anchor watcher refused an input or a stored state.
    #[error(transparent)]
    Watcher(#[from] WatcherError),
    /// The pipeline refused a TC.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// A record was not shared, or a shared record not accepted.
    #[error(transparent)]
    Sharing(#[from] SharingError),
}

/// A durable watch stopped by its outbox is the outbox's error (its report
/// is for the caller that matches on [`WatchStopped`]).
impl From<WatchStopped> for Error {
    fn from(stopped: WatchStopped) -> Self {
        Self::Outbox(stopped.error)
    }
}

impl Error {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Template(e) => e.code(),
            Self::Registry(e) => e.code(),
            Self::TiFormat(e) => e.code(),
            Self::Role(_) => ErrorCode::RoleInvalid,
            Self::KeyId(_) => ErrorCode::KeyIdInvalid,
            Self::KeyStore(e) => e.code(),
            Self::Envelope(e) => e.code(),
            Self::Capsule(e) => e.code(),
            Self::Generate(e) => e.code(),
            Self::Batch(e) => e.code(),
            Self::Proof(e) => e.code(),
            Self::Transport(e) => e.code(),
            Self::Validator(e) => e.code(),
            Self::Tc(e) => e.code(),
            Self::Outbox(_) => ErrorCode::OutboxUnavailable,
            Self::Pending(_) => ErrorCode::StillPending,
            Self::Devnet(_) => ErrorCode::Devnet,
            Self::Fhir(e) => e.code(),
            Self::Authorship(e) => e.code(),
            Self::SignedProof(e) => e.code(),
            Self::Watcher(e) => e.code(),
            Self::Pipeline(e) => e.code(),
            Self::Sharing(e) => e.code(),
        }
    }

    /// The stable snake_case name of the error's variant where the formats'
    /// test vectors name it (`truncated`, `wrong_key`, `root_mismatch`, …);
    /// finer than [`code`](Self::code).
    #[must_use]
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Envelope(e)
            | Self::Capsule(CapsuleError::Envelope(e))
            | Self::Sharing(SharingError::Capsule(CapsuleError::Envelope(e))) => Some(e.name()),
            Self::Capsule(e) | Self::Sharing(SharingError::Capsule(e)) => Some(e.name()),
            Self::Proof(e)
            | Self::SignedProof(SignedProofError::Proof(e))
            | Self::Sharing(
                SharingError::Proof(e) | SharingError::SignedProof(SignedProofError::Proof(e)),
            ) => Some(e.name()),
            Self::Generate(GenerateError::Seal(e)) => Some(e.name()),
            Self::Transport(e) => Some(e.name()),
            Self::Tc(TcError::Envelope(e)) => Some(e.name()),
            _ => None,
        }
    }

    /// Every violation, when a TI was rejected by its template.
    #[must_use]
    pub fn violations(&self) -> Option<&Violations> {
        match self {
            Self::Generate(GenerateError::Rejected(v)) => Some(v),
            _ => None,
        }
    }
}

impl TcError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Json(_) | Self::Inconsistent(_) => ErrorCode::TcInvalid,
            Self::Envelope(e) => e.code(),
        }
    }
}

impl TemplateError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        ErrorCode::TemplateInvalid
    }
}

impl RegistryError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Template(_) => ErrorCode::TemplateInvalid,
            Self::AlreadyLoaded(_) => ErrorCode::TemplateAlreadyLoaded,
            Self::VersionNotNewer { .. } => ErrorCode::TemplateVersionNotNewer,
            Self::UnknownTemplate(_) | Self::UnknownName(_) => ErrorCode::TemplateUnknown,
            Self::NotInContract { .. } => ErrorCode::TemplateNotInContract,
        }
    }
}

impl FhirError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Json(_) | Self::NotABundle { .. } | Self::MalformedBundle(_) => {
                ErrorCode::FhirMalformed
            }
            Self::TooLarge { .. } | Self::TooManyEntries { .. } => ErrorCode::FhirTooLarge,
            Self::NoTemplate { .. } | Self::AmbiguousTemplate { .. } => ErrorCode::FhirUnmapped,
            Self::Rejected { .. } => ErrorCode::FhirRejected,
        }
    }
}

impl AuthorshipError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::SignatureLength { .. }
            | Self::SignatureParity { .. }
            | Self::HighS
            | Self::Unrecoverable => ErrorCode::SignatureMalformed,
            Self::WrongSigner { .. } => ErrorCode::SignatureWrongSigner,
            Self::StatementMismatch { .. } | Self::NotAnchorRecord => ErrorCode::StatementMismatch,
            Self::SignerFailed { .. } => ErrorCode::SignerFailed,
            Self::NotSigned => ErrorCode::TcNotSigned,
        }
    }
}

impl SignedProofError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Proof(e) => e.code(),
            Self::Signature(e) => e.code(),
            Self::OtherDomain { .. } => ErrorCode::SignatureWrongSigner,
            Self::RoleNotAllowed { .. } => ErrorCode::AuthorRoleNotAllowed,
            Self::RoleNotHeld { .. } => ErrorCode::AuthorRoleNotHeld,
            Self::Json(_) => ErrorCode::InvalidJson,
        }
    }
}

impl SharingError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NoGrant { .. } => ErrorCode::ConsentNoGrant,
            Self::GrantRevoked(_) => ErrorCode::ConsentRevoked,
            Self::GrantExpired { .. } => ErrorCode::ConsentExpired,
            Self::WrongTemplate { .. } | Self::GrantReplaced { .. } => {
                ErrorCode::ConsentWrongTemplate
            }
            Self::NoEmergencyRole(_) => ErrorCode::ConsentNoEmergencyRole,
            Self::KeyNotPublished(_) => ErrorCode::RecipientKeyNotPublished,
            Self::KeyMismatch { .. } => ErrorCode::RecipientKeyMismatch,
            Self::NotAnchored { .. } => ErrorCode::RecordNotAnchored,
            Self::AnchorMismatch { .. } => ErrorCode::RecordAnchorMismatch,
            Self::ProofOfOtherRecord { .. } => ErrorCode::ProofInvalid,
            Self::Proof(e) => e.code(),
            Self::SignedProof(e) => e.code(),
            Self::Unreadable { .. } => ErrorCode::TransportMalformed,
            Self::NoDisclosures | Self::Refused(_) => ErrorCode::DisclosureRefused,
            Self::Capsule(e) => e.code(),
        }
    }
}

impl CapsuleError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Truncated { .. }
            | Self::TrailingBytes(_)
            | Self::NotACapsule
            | Self::MalformedAuthority(_) => ErrorCode::CapsuleMalformed,
            Self::UnsupportedVersion(_) | Self::UnsupportedSuite(_) => {
                ErrorCode::CapsuleUnsupported
            }
            Self::InvalidPublicKey { .. } | Self::InvalidPrivateKey { .. } => {
                ErrorCode::RecipientKeyInvalid
            }
            Self::WrongKey { .. } | Self::KeyNotHeld { .. } => ErrorCode::CapsuleWrongKey,
            Self::WrongBinding(_) | Self::WrongRecord { .. } => ErrorCode::CapsuleWrongBinding,
            Self::Tampered => ErrorCode::CapsuleTampered,
            Self::Envelope(e) => e.code(),
        }
    }
}

impl TiFormatError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        ErrorCode::TiMalformed
    }
}

impl KeyStoreError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnknownKey(_) => ErrorCode::KeyUnknown,
            Self::Unavailable(_) => ErrorCode::KeyStoreUnavailable,
        }
    }
}

impl EnvelopeError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Truncated { .. }
            | Self::TrailingBytes(_)
            | Self::NotAnEnvelope
            | Self::MalformedKeyId
            | Self::CiphertextTooShort(_) => ErrorCode::EnvelopeMalformed,
            Self::UnsupportedVersion(_) | Self::UnsupportedSuite(_) => {
                ErrorCode::EnvelopeUnsupported
            }
            Self::WrongKey { .. } => ErrorCode::EnvelopeWrongKey,
            Self::Tampered => ErrorCode::EnvelopeTampered,
            Self::SealedLength { .. } => ErrorCode::ExternalCipher,
            Self::TooLarge(_) => ErrorCode::EnvelopeTooLarge,
            Self::KeyStore(k) => k.code(),
        }
    }
}

impl GenerateError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Rejected(_) => ErrorCode::TiRejected,
            Self::KeyStore(k) => k.code(),
            Self::Seal(s) => s.code(),
            Self::NoChainId => ErrorCode::InvalidArgument,
        }
    }
}

impl BatchError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Empty => ErrorCode::BatchEmpty,
            Self::Full => ErrorCode::BatchFull,
            Self::ZeroRecordHash => ErrorCode::BatchZeroRecordHash,
            Self::NoSuchRecord { .. } => ErrorCode::BatchNoSuchRecord,
            Self::DuplicateTi(_) => ErrorCode::BatchDuplicateTi,
        }
    }
}

impl ProofError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Truncated { .. }
            | Self::TrailingBytes(_)
            | Self::NotAProof
            | Self::BadText
            | Self::Json(_)
            | Self::TooManySiblings(_) => ErrorCode::ProofMalformed,
            Self::UnsupportedVersion(_) => ErrorCode::ProofUnsupported,
            Self::ZeroLeafCount
            | Self::IndexOutOfRange { .. }
            | Self::WrongHashCount { .. }
            | Self::RootMismatch { .. } => ErrorCode::ProofInvalid,
            Self::NotAnchored(_) => ErrorCode::ProofNotAnchored,
            Self::LeafCountMismatch { .. } | Self::BatchIdMismatch { .. } => {
                ErrorCode::ProofAnchorMismatch
            }
        }
    }
}

impl TransportError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unavailable(_) => ErrorCode::TransportUnavailable,
            Self::RateLimited(_) => ErrorCode::TransportRateLimited,
            Self::Rejected(_) => ErrorCode::TransportRejected,
            Self::WrongChain { .. } => ErrorCode::TransportWrongChain,
            Self::Malformed(_) => ErrorCode::TransportMalformed,
            Self::Reverted(_) => ErrorCode::TransportReverted,
        }
    }
}

impl PipelineError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Busy { .. } => ErrorCode::PipelineBusy,
            Self::Duplicate(_) => ErrorCode::PipelineDuplicate,
            Self::WrongRegistry { .. } => ErrorCode::PipelineWrongRegistry,
            Self::Stopped { .. } => ErrorCode::StillPending,
        }
    }
}

impl WatcherError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Snapshot(_) => ErrorCode::OutboxEntryInvalid,
            Self::NotValid | Self::NotItsValidator | Self::Unexpected(_) => ErrorCode::Watcher,
        }
    }
}

impl ValidatorError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BatchMismatch { .. } | Self::NotBatchable { .. } => ErrorCode::BatchMismatch,
            Self::DuplicateTi { .. } => ErrorCode::BatchDuplicateTi,
            Self::Snapshot(_) => ErrorCode::OutboxEntryInvalid,
            Self::Finished | Self::Unexpected(_) | Self::WrongReceipt { .. } => {
                ErrorCode::Validator
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_are_unique_and_grouped_by_kind() {
        let mut numbers: Vec<u32> = ErrorCode::ALL.iter().map(|c| c.number()).collect();
        numbers.dedup();
        assert_eq!(
            numbers.len(),
            ErrorCode::ALL.len(),
            "numbers ascend, no repeats"
        );
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_number(code.number()), Some(*code));
            assert_eq!(ErrorCode::from_name(code.name()), Some(*code));
            assert!(code.name().starts_with("EHR_"), "{code:?}");
            let hundreds = match code.kind() {
                ErrorKind::Argument => 1,
                ErrorKind::Template => 2,
                ErrorKind::Ti => 3,
                ErrorKind::Envelope => 4,
                ErrorKind::Batch => 5,
                ErrorKind::Chain => 6,
                ErrorKind::Fhir => 7,
                ErrorKind::Authorship => 8,
                ErrorKind::Internal => 9,
            };
            assert_eq!(code.number() / 100, hundreds, "{code:?}");
        }
        assert_eq!(
            ErrorCode::from_number(0),
            None,
            "0 is success, not an error"
        );
    }

    #[test]
    fn the_umbrella_keeps_the_code_and_message_of_what_it_wraps() {
        let e = ProofError::NotAnchored(alloy_primitives::B256::ZERO);
        let message = e.to_string();
        let umbrella = Error::from(e);
        assert_eq!(umbrella.code(), ErrorCode::ProofNotAnchored);
        assert_eq!(umbrella.reason(), Some("not_anchored"));
        assert_eq!(umbrella.to_string(), message);

        let e = Error::from(GenerateError::KeyStore(KeyStoreError::Unavailable(
            "HSM offline".into(),
        )));
        assert_eq!(e.code(), ErrorCode::KeyStoreUnavailable);
        assert!(e.code().is_retryable());
        assert_eq!(e.violations(), None);
    }
}
