//! Result codes, the detailed last error, and the panic boundary every
//! exported function body runs in.

use std::cell::RefCell;
use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};

use ehrchain_core::{Error as CoreError, ErrorCode};

use crate::ptr;

/// The result of every fallible ehrchain function: `EHR_OK` (0) or the number
/// of an [`ErrorCode`] of the core.
///
/// The header names every code (`EHR_TEMPLATE_UNKNOWN`, …): the constants are
/// generated from [`ErrorCode::ALL`], the one table of codes that JavaScript
/// uses too (`docs/errors.md`). Codes are stable: a code keeps its number and
/// meaning in every release and a retired code is never reused. Callbacks
/// return an `ehr_result` as well. `ehr_result_message` names a code;
/// `ehr_last_error` gives the detailed message of the last failure on the
/// calling thread.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ehr_result(pub u32);

impl ehr_result {
    /// Success: `EHR_OK` (C has it from the generated constants).
    /// cbindgen:ignore
    pub const OK: Self = Self(0);

    /// The code's error, if this is not `EHR_OK` and names a known code.
    #[must_use]
    pub fn error_code(self) -> Option<ErrorCode> {
        ErrorCode::from_number(self.0)
    }

    /// The code's name and number (`EHR_KEY_UNKNOWN (400)`), for messages.
    #[must_use]
    pub fn name(self) -> String {
        match self.error_code() {
            _ if self == Self::OK => "EHR_OK (0)".to_owned(),
            Some(c) => format!("{} ({})", c.name(), self.0),
            None => format!("the unknown code {}", self.0),
        }
    }

    /// `EHR_OK: success`, or the code's name and one-line meaning.
    #[must_use]
    pub fn message(self) -> String {
        match self.error_code() {
            _ if self == Self::OK => "EHR_OK: success".to_owned(),
            Some(c) => format!("{}: {}", c.name(), c.summary()),
            None => format!("unknown ehrchain result code {}", self.0),
        }
    }
}

impl From<ErrorCode> for ehr_result {
    fn from(code: ErrorCode) -> Self {
        Self(code.number())
    }
}

impl PartialEq<ErrorCode> for ehr_result {
    fn eq(&self, code: &ErrorCode) -> bool {
        self.0 == code.number()
    }
}

/// A failure: its code and the detailed message for people.
#[derive(Debug)]
pub(crate) struct Error {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
    /// The violations of a rejected TI, as a JSON array.
    pub(crate) violations: Option<String>,
    /// The finer cause, where the formats' test vectors name it.
    pub(crate) reason: Option<&'static str>,
}

impl Error {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            violations: None,
            reason: None,
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

/// Every core error keeps its code and message.
impl<E: Into<CoreError>> From<E> for Error {
    fn from(e: E) -> Self {
        let e = e.into();
        Self {
            code: e.code(),
            message: e.to_string(),
            violations: e.violations().and_then(|v| serde_json::to_string(v).ok()),
            reason: e.reason(),
        }
    }
}

/// The last failure on this thread.
struct LastError {
    message: String,
    violations: Option<String>,
    reason: Option<&'static str>,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

fn set_last_error(e: Error) {
    LAST_ERROR.with(|last| {
        *last.borrow_mut() = Some(LastError {
            message: e.message,
            violations: e.violations,
            reason: e.reason,
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
        Ok(Ok(())) => return ehr_result::OK,
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
                ErrorCode::Panic,
                format!("internal error (panic) in ehrchain, please report it: {what}"),
            )
        }
    };
    let code = ehr_result::from(error.code);
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
    let text = ehr_result(code).message();
    guard_quiet(|| ptr::write_text(buf, len, out_len, &text))
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
    write_last_error(buf, len, out_len, |l| l.map_or("", |l| l.message.as_str()))
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
    write_last_error(buf, len, out_len, |l| {
        l.and_then(|l| l.violations.as_deref()).unwrap_or("[]")
    })
}

/// Writes the finer cause of the last failure on the calling thread, where
/// the formats' test vectors name one (`truncated`, `wrong_key`,
/// `root_mismatch`, …: docs/errors.md; JavaScript's `error.reason`), as
/// NUL-terminated text into `buf` (text-output rules of
/// `ehr_result_message`); an empty text when it has none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_last_error_reason(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    write_last_error(buf, len, out_len, |l| {
        l.and_then(|l| l.reason).unwrap_or("")
    })
}

/// Writes the kind of `code` (`argument`, `template`, `ti`, `envelope`,
/// `batch`, `chain`, `fhir`, `authorship`, `internal`: its hundreds;
/// JavaScript's `error.kind`) as NUL-terminated text into `buf` (text-output
/// rules of `ehr_result_message`); `unknown` for `EHR_OK` or a number that
/// names no code. Does not change the last error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_result_kind(
    code: u32,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    let kind = ehr_result(code)
        .error_code()
        .map_or("unknown", |c| c.kind().name());
    guard_quiet(|| ptr::write_text(buf, len, out_len, kind))
}

/// Whether the failure `code` may pass if the same call is made again later
/// (a key store or node that did not answer, a node that rate-limits;
/// JavaScript's `error.retryable`); false for `EHR_OK` and numbers that
/// name no code.
#[unsafe(no_mangle)]
pub extern "C" fn ehr_result_is_retryable(code: u32) -> bool {
    ehr_result(code)
        .error_code()
        .is_some_and(ErrorCode::is_retryable)
}

/// Writes the text `pick` takes from the calling thread's last failure (text-
/// output rules of `ehr_result_message`), leaving the last error as it is.
fn write_last_error(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    pick: impl FnOnce(Option<&LastError>) -> &str,
) -> ehr_result {
    guard_quiet(|| {
        LAST_ERROR.with(|last| ptr::write_text(buf, len, out_len, pick(last.borrow().as_ref())))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic, clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_panic_becomes_the_panic_code_and_the_last_error() {
        let code = guard(|| panic!("boom in a body"));
        assert_eq!(code, ErrorCode::Panic);
        let mut buf = [0u8; 256];
        let mut n = 0usize;
        // SAFETY: buf is 256 writable bytes and n a valid usize.
        let r = unsafe { ehr_last_error(buf.as_mut_ptr().cast(), buf.len(), &raw mut n) };
        assert_eq!(r, ehr_result::OK);
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(text.contains("boom in a body"), "{text}");
    }

    #[test]
    fn errors_set_the_last_error() {
        let code = guard(|| Err(Error::new(ErrorCode::BatchEmpty, "detail")));
        assert_eq!(code, ErrorCode::BatchEmpty);
        assert_eq!(guard(|| Ok(())), ehr_result::OK);
    }

    #[test]
    fn every_code_has_a_message_naming_it() {
        assert_eq!(ehr_result::OK.message(), "EHR_OK: success");
        for code in ErrorCode::ALL {
            let message = ehr_result::from(*code).message();
            assert_eq!(message, format!("{}: {}", code.name(), code.summary()));
        }
        assert_eq!(ehr_result(7).message(), "unknown ehrchain result code 7");
    }
}
