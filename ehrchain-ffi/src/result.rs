//! Result codes, the detailed last error, and the panic boundary every
//! exported function body runs in.

use std::cell::RefCell;
use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};

use ehrchain_core::template::TemplateError;
use ehrchain_core::{
    BatchError, EnvelopeError, GenerateError, KeyStoreError, ProofError, RegistryError,
    TiFormatError, TransportError, ValidatorError,
};

use crate::ptr;

/// The result of every fallible ehrchain function.
///
/// Codes are stable: a code keeps its number and meaning in every release and a
/// retired code is never reused. They are grouped by hundreds: 0 success, 1xx
/// arguments, 2xx templates, 3xx initial transactions, 4xx keys and envelopes,
/// 5xx batches and proofs, 6xx transports and the validator, 9xx internal.
/// `ehr_result_message` names a code; `ehr_last_error` gives the detailed
/// message of the last failure on the calling thread.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ehr_result {
    /// Success.
    EHR_OK = 0,
    /// A required pointer argument was NULL.
    EHR_NULL_ARGUMENT = 100,
    /// A text argument is not valid UTF-8.
    EHR_INVALID_UTF8 = 101,
    /// The output buffer is too small; the length needed was written to the
    /// `out_len` argument and nothing else was written.
    EHR_BUFFER_TOO_SMALL = 102,
    /// A JSON argument is not valid JSON.
    EHR_INVALID_JSON = 103,
    /// An input that must not be empty has length zero.
    EHR_ZERO_LENGTH = 104,
    /// An argument is out of range or malformed (a role name, a key id, an
    /// index, a flag).
    EHR_INVALID_ARGUMENT = 105,
    /// The value asked for is absent (an invalid ACK's anchor, a record
    /// without envelope).
    EHR_NOT_PRESENT = 106,
    /// The function needs a feature this build of the library left out
    /// (`devnet` or `rpc`).
    EHR_FEATURE_DISABLED = 107,
    /// A template document is invalid (its JSON, a field, its call).
    EHR_TEMPLATE_INVALID = 200,
    /// The same template is already loaded.
    EHR_TEMPLATE_ALREADY_LOADED = 201,
    /// A new template version is not newer than the loaded ones.
    EHR_TEMPLATE_VERSION_NOT_NEWER = 202,
    /// No template has this id or name.
    EHR_TEMPLATE_UNKNOWN = 203,
    /// The template's call is not a function of the registry contract.
    EHR_TEMPLATE_NOT_IN_CONTRACT = 204,
    /// A TI JSON document is malformed or too large.
    EHR_TI_MALFORMED = 300,
    /// The TI breaks its template; `ehr_last_violations` lists every violation.
    EHR_TI_REJECTED = 301,
    /// The key store has no key under the id asked for.
    EHR_KEY_UNKNOWN = 400,
    /// The key store could not answer.
    EHR_KEY_STORE_UNAVAILABLE = 401,
    /// A key id is not 1 to 64 printable ASCII characters.
    EHR_KEY_ID_INVALID = 402,
    /// The bytes are not a well-formed envelope (truncated, trailing bytes,
    /// no magic, corrupt header).
    EHR_ENVELOPE_MALFORMED = 403,
    /// The envelope's version or cipher suite is not supported.
    EHR_ENVELOPE_UNSUPPORTED = 404,
    /// The master key does not fit the envelope (or its header was altered).
    EHR_ENVELOPE_WRONG_KEY = 405,
    /// The envelope's ciphertext does not authenticate.
    EHR_ENVELOPE_TAMPERED = 406,
    /// The record is too large for an envelope.
    EHR_ENVELOPE_TOO_LARGE = 407,
    /// The batch has no record.
    EHR_BATCH_EMPTY = 500,
    /// The batch holds the maximum number of records.
    EHR_BATCH_FULL = 501,
    /// A record hash is all zeros.
    EHR_BATCH_ZERO_RECORD_HASH = 502,
    /// The TCs given do not match the batch's records.
    EHR_BATCH_MISMATCH = 503,
    /// The bytes, text or JSON are not a well-formed inclusion proof.
    EHR_PROOF_MALFORMED = 504,
    /// The proof's format version is not supported.
    EHR_PROOF_UNSUPPORTED = 505,
    /// The proof does not check out (shape, or it does not lead to its root).
    EHR_PROOF_INVALID = 506,
    /// No batch with the proof's root is anchored on chain.
    EHR_PROOF_NOT_ANCHORED = 507,
    /// The anchored batch differs from the proof's (leaf count, batch id).
    EHR_PROOF_ANCHOR_MISMATCH = 508,
    /// The Ethereum node is unreachable or timed out (retryable).
    EHR_TRANSPORT_UNAVAILABLE = 600,
    /// The Ethereum node is rate-limiting requests (retryable).
    EHR_TRANSPORT_RATE_LIMITED = 601,
    /// The Ethereum node refused the transaction, or the node URL cannot be used.
    EHR_TRANSPORT_REJECTED = 602,
    /// The Ethereum node is on another chain.
    EHR_TRANSPORT_WRONG_CHAIN = 603,
    /// The Ethereum node answered with data ehrchain cannot read.
    EHR_TRANSPORT_MALFORMED = 604,
    /// The in-process devnet refused an operation.
    EHR_DEVNET = 605,
    /// The validator refused an input.
    EHR_VALIDATOR = 606,
    /// A Rust panic was caught at the C boundary (a bug in ehrchain; please
    /// report it with the message of `ehr_last_error`).
    EHR_PANIC = 900,
    /// An internal error (a bug in ehrchain).
    EHR_INTERNAL = 901,
}

/// Every code, in numeric order (not in the C header).
const ALL_CODES: [ehr_result; 42] = [
    ehr_result::EHR_OK,
    ehr_result::EHR_NULL_ARGUMENT,
    ehr_result::EHR_INVALID_UTF8,
    ehr_result::EHR_BUFFER_TOO_SMALL,
    ehr_result::EHR_INVALID_JSON,
    ehr_result::EHR_ZERO_LENGTH,
    ehr_result::EHR_INVALID_ARGUMENT,
    ehr_result::EHR_NOT_PRESENT,
    ehr_result::EHR_FEATURE_DISABLED,
    ehr_result::EHR_TEMPLATE_INVALID,
    ehr_result::EHR_TEMPLATE_ALREADY_LOADED,
    ehr_result::EHR_TEMPLATE_VERSION_NOT_NEWER,
    ehr_result::EHR_TEMPLATE_UNKNOWN,
    ehr_result::EHR_TEMPLATE_NOT_IN_CONTRACT,
    ehr_result::EHR_TI_MALFORMED,
    ehr_result::EHR_TI_REJECTED,
    ehr_result::EHR_KEY_UNKNOWN,
    ehr_result::EHR_KEY_STORE_UNAVAILABLE,
    ehr_result::EHR_KEY_ID_INVALID,
    ehr_result::EHR_ENVELOPE_MALFORMED,
    ehr_result::EHR_ENVELOPE_UNSUPPORTED,
    ehr_result::EHR_ENVELOPE_WRONG_KEY,
    ehr_result::EHR_ENVELOPE_TAMPERED,
    ehr_result::EHR_ENVELOPE_TOO_LARGE,
    ehr_result::EHR_BATCH_EMPTY,
    ehr_result::EHR_BATCH_FULL,
    ehr_result::EHR_BATCH_ZERO_RECORD_HASH,
    ehr_result::EHR_BATCH_MISMATCH,
    ehr_result::EHR_PROOF_MALFORMED,
    ehr_result::EHR_PROOF_UNSUPPORTED,
    ehr_result::EHR_PROOF_INVALID,
    ehr_result::EHR_PROOF_NOT_ANCHORED,
    ehr_result::EHR_PROOF_ANCHOR_MISMATCH,
    ehr_result::EHR_TRANSPORT_UNAVAILABLE,
    ehr_result::EHR_TRANSPORT_RATE_LIMITED,
    ehr_result::EHR_TRANSPORT_REJECTED,
    ehr_result::EHR_TRANSPORT_WRONG_CHAIN,
    ehr_result::EHR_TRANSPORT_MALFORMED,
    ehr_result::EHR_DEVNET,
    ehr_result::EHR_VALIDATOR,
    ehr_result::EHR_PANIC,
    ehr_result::EHR_INTERNAL,
];

impl ehr_result {
    /// The code with this number, if there is one.
    #[must_use]
    pub fn from_u32(code: u32) -> Option<Self> {
        ALL_CODES.into_iter().find(|c| *c as u32 == code)
    }

    /// The code's name and a one-line meaning.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Self::EHR_OK => "EHR_OK: success",
            Self::EHR_NULL_ARGUMENT => "EHR_NULL_ARGUMENT: a required pointer argument was NULL",
            Self::EHR_INVALID_UTF8 => "EHR_INVALID_UTF8: a text argument is not valid UTF-8",
            Self::EHR_BUFFER_TOO_SMALL => {
                "EHR_BUFFER_TOO_SMALL: the output buffer is too small; the length needed was written to out_len"
            }
            Self::EHR_INVALID_JSON => "EHR_INVALID_JSON: a JSON argument is not valid JSON",
            Self::EHR_ZERO_LENGTH => "EHR_ZERO_LENGTH: an input that must not be empty is empty",
            Self::EHR_INVALID_ARGUMENT => {
                "EHR_INVALID_ARGUMENT: an argument is out of range or malformed"
            }
            Self::EHR_NOT_PRESENT => "EHR_NOT_PRESENT: the value asked for is absent",
            Self::EHR_FEATURE_DISABLED => {
                "EHR_FEATURE_DISABLED: this build of ehrchain leaves out the feature the function needs"
            }
            Self::EHR_TEMPLATE_INVALID => "EHR_TEMPLATE_INVALID: the template document is invalid",
            Self::EHR_TEMPLATE_ALREADY_LOADED => {
                "EHR_TEMPLATE_ALREADY_LOADED: the template is already loaded"
            }
            Self::EHR_TEMPLATE_VERSION_NOT_NEWER => {
                "EHR_TEMPLATE_VERSION_NOT_NEWER: the template version is not newer than the loaded one"
            }
            Self::EHR_TEMPLATE_UNKNOWN => "EHR_TEMPLATE_UNKNOWN: no such template is loaded",
            Self::EHR_TEMPLATE_NOT_IN_CONTRACT => {
                "EHR_TEMPLATE_NOT_IN_CONTRACT: the template's call is not a function of the registry contract"
            }
            Self::EHR_TI_MALFORMED => "EHR_TI_MALFORMED: the TI JSON is malformed or too large",
            Self::EHR_TI_REJECTED => {
                "EHR_TI_REJECTED: the TI breaks its template (see ehr_last_violations)"
            }
            Self::EHR_KEY_UNKNOWN => "EHR_KEY_UNKNOWN: the key store has no such master key",
            Self::EHR_KEY_STORE_UNAVAILABLE => "EHR_KEY_STORE_UNAVAILABLE: the key store failed",
            Self::EHR_KEY_ID_INVALID => {
                "EHR_KEY_ID_INVALID: a key id must be 1 to 64 printable ASCII characters"
            }
            Self::EHR_ENVELOPE_MALFORMED => {
                "EHR_ENVELOPE_MALFORMED: the bytes are not a well-formed envelope"
            }
            Self::EHR_ENVELOPE_UNSUPPORTED => {
                "EHR_ENVELOPE_UNSUPPORTED: the envelope's version or cipher suite is not supported"
            }
            Self::EHR_ENVELOPE_WRONG_KEY => {
                "EHR_ENVELOPE_WRONG_KEY: the master key does not fit the envelope"
            }
            Self::EHR_ENVELOPE_TAMPERED => {
                "EHR_ENVELOPE_TAMPERED: the envelope's ciphertext does not authenticate"
            }
            Self::EHR_ENVELOPE_TOO_LARGE => "EHR_ENVELOPE_TOO_LARGE: the record is too large",
            Self::EHR_BATCH_EMPTY => "EHR_BATCH_EMPTY: the batch has no record",
            Self::EHR_BATCH_FULL => "EHR_BATCH_FULL: the batch is full",
            Self::EHR_BATCH_ZERO_RECORD_HASH => "EHR_BATCH_ZERO_RECORD_HASH: a record hash is zero",
            Self::EHR_BATCH_MISMATCH => {
                "EHR_BATCH_MISMATCH: the TCs do not match the batch's records"
            }
            Self::EHR_PROOF_MALFORMED => {
                "EHR_PROOF_MALFORMED: not a well-formed ehrchain inclusion proof"
            }
            Self::EHR_PROOF_UNSUPPORTED => {
                "EHR_PROOF_UNSUPPORTED: the proof format version is not supported"
            }
            Self::EHR_PROOF_INVALID => "EHR_PROOF_INVALID: the proof does not check out",
            Self::EHR_PROOF_NOT_ANCHORED => {
                "EHR_PROOF_NOT_ANCHORED: no batch with the proof's root is anchored"
            }
            Self::EHR_PROOF_ANCHOR_MISMATCH => {
                "EHR_PROOF_ANCHOR_MISMATCH: the anchored batch differs from the proof's"
            }
            Self::EHR_TRANSPORT_UNAVAILABLE => {
                "EHR_TRANSPORT_UNAVAILABLE: the Ethereum node is unreachable or timed out"
            }
            Self::EHR_TRANSPORT_RATE_LIMITED => {
                "EHR_TRANSPORT_RATE_LIMITED: the Ethereum node is rate-limiting requests"
            }
            Self::EHR_TRANSPORT_REJECTED => {
                "EHR_TRANSPORT_REJECTED: the Ethereum node refused the request"
            }
            Self::EHR_TRANSPORT_WRONG_CHAIN => {
                "EHR_TRANSPORT_WRONG_CHAIN: the Ethereum node is on another chain"
            }
            Self::EHR_TRANSPORT_MALFORMED => {
                "EHR_TRANSPORT_MALFORMED: the Ethereum node's answer is unreadable"
            }
            Self::EHR_DEVNET => "EHR_DEVNET: the in-process devnet refused the operation",
            Self::EHR_VALIDATOR => "EHR_VALIDATOR: the validator refused the input",
            Self::EHR_PANIC => {
                "EHR_PANIC: a panic was caught at the C boundary (a bug in ehrchain)"
            }
            Self::EHR_INTERNAL => "EHR_INTERNAL: an internal error (a bug in ehrchain)",
        }
    }
}

/// A failure: its code and the detailed message for people.
#[derive(Debug)]
pub(crate) struct Error {
    pub(crate) code: ehr_result,
    pub(crate) message: String,
    /// The violations of a rejected TI, as a JSON array.
    pub(crate) violations: Option<String>,
}

impl Error {
    pub(crate) fn new(code: ehr_result, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            violations: None,
        }
    }

    /// An error whose message is the code's own.
    pub(crate) fn code(code: ehr_result) -> Self {
        Self::new(code, code.message())
    }
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

impl From<TemplateError> for Error {
    fn from(e: TemplateError) -> Self {
        Self::new(ehr_result::EHR_TEMPLATE_INVALID, e.to_string())
    }
}

impl From<RegistryError> for Error {
    fn from(e: RegistryError) -> Self {
        let code = match &e {
            RegistryError::Template(_) => ehr_result::EHR_TEMPLATE_INVALID,
            RegistryError::AlreadyLoaded(_) => ehr_result::EHR_TEMPLATE_ALREADY_LOADED,
            RegistryError::VersionNotNewer { .. } => ehr_result::EHR_TEMPLATE_VERSION_NOT_NEWER,
            RegistryError::UnknownTemplate(_) => ehr_result::EHR_TEMPLATE_UNKNOWN,
            RegistryError::NotInContract { .. } => ehr_result::EHR_TEMPLATE_NOT_IN_CONTRACT,
        };
        Self::new(code, e.to_string())
    }
}

impl From<TiFormatError> for Error {
    fn from(e: TiFormatError) -> Self {
        Self::new(ehr_result::EHR_TI_MALFORMED, e.to_string())
    }
}

impl From<KeyStoreError> for Error {
    fn from(e: KeyStoreError) -> Self {
        let code = match &e {
            KeyStoreError::UnknownKey(_) => ehr_result::EHR_KEY_UNKNOWN,
            KeyStoreError::Unavailable(_) => ehr_result::EHR_KEY_STORE_UNAVAILABLE,
        };
        Self::new(code, e.to_string())
    }
}

impl From<EnvelopeError> for Error {
    fn from(e: EnvelopeError) -> Self {
        let code = match &e {
            EnvelopeError::Truncated { .. }
            | EnvelopeError::TrailingBytes(_)
            | EnvelopeError::NotAnEnvelope
            | EnvelopeError::MalformedKeyId
            | EnvelopeError::CiphertextTooShort(_)
            | EnvelopeError::SealedLength { .. } => ehr_result::EHR_ENVELOPE_MALFORMED,
            EnvelopeError::UnsupportedVersion(_) | EnvelopeError::UnsupportedSuite(_) => {
                ehr_result::EHR_ENVELOPE_UNSUPPORTED
            }
            EnvelopeError::WrongKey { .. } => ehr_result::EHR_ENVELOPE_WRONG_KEY,
            EnvelopeError::Tampered => ehr_result::EHR_ENVELOPE_TAMPERED,
            EnvelopeError::TooLarge(_) => ehr_result::EHR_ENVELOPE_TOO_LARGE,
            EnvelopeError::KeyStore(k) => return Self::from(k.clone()),
        };
        Self::new(code, e.to_string())
    }
}

impl From<GenerateError> for Error {
    fn from(e: GenerateError) -> Self {
        match e {
            GenerateError::Rejected(violations) => Self {
                code: ehr_result::EHR_TI_REJECTED,
                message: violations.to_string(),
                violations: serde_json::to_string(&violations).ok(),
            },
            GenerateError::KeyStore(k) => k.into(),
            GenerateError::Seal(s) => s.into(),
        }
    }
}

impl From<BatchError> for Error {
    fn from(e: BatchError) -> Self {
        let code = match &e {
            BatchError::Empty => ehr_result::EHR_BATCH_EMPTY,
            BatchError::Full => ehr_result::EHR_BATCH_FULL,
            BatchError::ZeroRecordHash => ehr_result::EHR_BATCH_ZERO_RECORD_HASH,
        };
        Self::new(code, e.to_string())
    }
}

impl From<ProofError> for Error {
    fn from(e: ProofError) -> Self {
        let code = match &e {
            ProofError::Truncated { .. }
            | ProofError::TrailingBytes(_)
            | ProofError::NotAProof
            | ProofError::BadText
            | ProofError::Json(_)
            | ProofError::TooManySiblings(_) => ehr_result::EHR_PROOF_MALFORMED,
            ProofError::UnsupportedVersion(_) => ehr_result::EHR_PROOF_UNSUPPORTED,
            ProofError::ZeroLeafCount
            | ProofError::IndexOutOfRange { .. }
            | ProofError::NoIndices
            | ProofError::DuplicateIndex(_)
            | ProofError::WrongHashCount { .. }
            | ProofError::RecordCountMismatch { .. }
            | ProofError::RootMismatch { .. } => ehr_result::EHR_PROOF_INVALID,
            ProofError::NotAnchored(_) => ehr_result::EHR_PROOF_NOT_ANCHORED,
            ProofError::LeafCountMismatch { .. } | ProofError::BatchIdMismatch { .. } => {
                ehr_result::EHR_PROOF_ANCHOR_MISMATCH
            }
        };
        Self::new(code, e.to_string())
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        let code = match &e {
            TransportError::Unavailable(_) => ehr_result::EHR_TRANSPORT_UNAVAILABLE,
            TransportError::RateLimited(_) => ehr_result::EHR_TRANSPORT_RATE_LIMITED,
            TransportError::Rejected(_) => ehr_result::EHR_TRANSPORT_REJECTED,
            TransportError::WrongChain { .. } => ehr_result::EHR_TRANSPORT_WRONG_CHAIN,
            TransportError::Malformed(_) => ehr_result::EHR_TRANSPORT_MALFORMED,
        };
        Self::new(code, e.to_string())
    }
}

#[cfg(feature = "devnet")]
impl From<ehrchain_contracts::DevnetError> for Error {
    fn from(e: ehrchain_contracts::DevnetError) -> Self {
        Self::new(ehr_result::EHR_DEVNET, e.to_string())
    }
}

impl From<ValidatorError> for Error {
    fn from(e: ValidatorError) -> Self {
        let code = match &e {
            ValidatorError::BatchMismatch { .. } => ehr_result::EHR_BATCH_MISMATCH,
            _ => ehr_result::EHR_VALIDATOR,
        };
        Self::new(code, e.to_string())
    }
}

/// The last failure on this thread.
struct LastError {
    message: String,
    violations: Option<String>,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

fn set_last_error(e: Error) {
    LAST_ERROR.with(|last| {
        *last.borrow_mut() = Some(LastError {
            message: e.message,
            violations: e.violations,
        });
    });
}

/// Runs one exported function body: a panic becomes [`ehr_result::EHR_PANIC`],
/// an error its code, and either one is recorded as the thread's last error.
/// Every `extern "C"` function of this crate goes through here (or through
/// [`guard_quiet`], which is the same boundary without the recording).
pub(crate) fn guard(body: impl FnOnce() -> Result<()>) -> ehr_result {
    boundary(true, body)
}

/// [`guard`] for the functions that report errors: failures do not replace
/// the last error they report.
pub(crate) fn guard_quiet(body: impl FnOnce() -> Result<()>) -> ehr_result {
    boundary(false, body)
}

/// The panic boundary.
fn boundary(record: bool, body: impl FnOnce() -> Result<()>) -> ehr_result {
    let error = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return ehr_result::EHR_OK,
        Ok(Err(e)) => e,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without message".to_owned());
            // Dropping a panic payload could itself panic; leak it instead.
            std::mem::forget(payload);
            Error::new(
                ehr_result::EHR_PANIC,
                format!("internal error (panic) in ehrchain, please report it: {what}"),
            )
        }
    };
    let code = error.code;
    if record {
        set_last_error(error);
    }
    code
}

/// For functions that cannot fail (the `_free` functions): runs `body` inside
/// the panic boundary and drops the result.
pub(crate) fn guard_void(body: impl FnOnce()) {
    let _ = guard(|| {
        body();
        Ok(())
    });
}

/// Writes the name and meaning of `code` (any number; unknown numbers are
/// named as such) as NUL-terminated text into `buf`.
///
/// `buf`/`len`/`out_len` follow the text-output rules: on success `*out_len`
/// is the text length without the NUL; if `len` is too small nothing is
/// written to `buf`, `*out_len` is the buffer size needed (NUL included) and
/// the result is `EHR_BUFFER_TOO_SMALL`. Does not change the last error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_result_message(
    code: u32,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    let unknown;
    let text = match ehr_result::from_u32(code) {
        Some(c) => c.message(),
        None => {
            unknown = format!("unknown ehrchain result code {code}");
            unknown.as_str()
        }
    };
    guard_quiet(|| ptr::write_text(buf, len, out_len, text))
}

/// Writes the detailed message of the last failure on the calling thread (the
/// text hospital IT staff read: what went wrong and what to do) as
/// NUL-terminated text into `buf`, following the text-output rules of
/// `ehr_result_message`. Writes an empty text when nothing failed yet. Does
/// not change the last error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_last_error(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard_quiet(|| {
        LAST_ERROR.with(|last| {
            let last = last.borrow();
            let text = last.as_ref().map_or("", |l| l.message.as_str());
            ptr::write_text(buf, len, out_len, text)
        })
    })
}

/// Writes the violations of the last `EHR_TI_REJECTED` failure on the calling
/// thread as a NUL-terminated JSON array (`[{"field": "systolic",
/// "violation": "out_of_range", ...}]`), following the text-output rules of
/// `ehr_result_message`; `[]` when the last failure was not a rejected TI.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_last_violations(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard_quiet(|| {
        LAST_ERROR.with(|last| {
            let last = last.borrow();
            let text = last
                .as_ref()
                .and_then(|l| l.violations.as_deref())
                .unwrap_or("[]");
            ptr::write_text(buf, len, out_len, text)
        })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic, clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_panic_becomes_the_panic_code_and_the_last_error() {
        let code = guard(|| panic!("boom in a body"));
        assert_eq!(code, ehr_result::EHR_PANIC);
        let mut buf = [0u8; 256];
        let mut n = 0usize;
        // SAFETY: buf is 256 writable bytes and n a valid usize.
        let r = unsafe { ehr_last_error(buf.as_mut_ptr().cast(), buf.len(), &raw mut n) };
        assert_eq!(r, ehr_result::EHR_OK);
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(text.contains("boom in a body"), "{text}");
    }

    #[test]
    fn errors_set_the_last_error() {
        let code = guard(|| Err(Error::new(ehr_result::EHR_BATCH_EMPTY, "detail")));
        assert_eq!(code, ehr_result::EHR_BATCH_EMPTY);
        assert_eq!(guard(|| Ok(())), ehr_result::EHR_OK);
    }

    #[test]
    fn every_code_has_a_message_naming_it() {
        for code in ALL_CODES {
            assert!(code.message().starts_with(&format!("{code:?}: ")));
            assert_eq!(ehr_result::from_u32(code as u32), Some(code));
        }
    }
}
