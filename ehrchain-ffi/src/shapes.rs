//! The shapes most exported functions share, each written once: a handle in
//! and text, bytes, 32 bytes, a value or a new handle out; text in and a new
//! handle out; a new handle made or freed; a value to or from JSON. Each runs
//! its function's whole body inside the panic boundary (`guard`) and names
//! the C parameters it checks.

use std::borrow::Cow;
use std::ffi::c_char;

use ehrchain_core::ErrorCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ptr::{self, Out, OutArray};
use crate::result::{Error, Result, ehr_result, guard, guard_void};

/// Runs `body` with the handle `h` (the parameter `name`, the function's
/// receiver) inside the panic boundary (`guard`).
pub(crate) fn guard_on<H>(
    h: *const H,
    name: &str,
    body: impl FnOnce(&H) -> Result<()>,
) -> ehr_result {
    guard(|| body(ptr::handle(h, name)?))
}

/// [`guard_on`] for a handle the function changes.
pub(crate) fn guard_on_mut<H>(
    h: *mut H,
    name: &str,
    body: impl FnOnce(&mut H) -> Result<()>,
) -> ehr_result {
    guard(|| body(ptr::handle_mut(h, name)?))
}

/// Writes the text `text` makes of the handle `h` (the parameter `name`) as
/// NUL-terminated text into `buf` (text-output rules: `ehr_result_message`).
pub(crate) fn text_of<H>(
    h: *const H,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    name: &str,
    text: impl FnOnce(&H) -> Result<String>,
) -> ehr_result {
    guard_on(h, name, |h| ptr::write_text(buf, len, out_len, &text(h)?))
}

/// Writes the bytes `bytes` picks from the handle `h` (the parameter `name`)
/// into `buf` (byte-output rules: `ehr_envelope_open`).
pub(crate) fn bytes_of<H>(
    h: *const H,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
    name: &str,
    bytes: impl FnOnce(&H) -> Result<Cow<'_, [u8]>>,
) -> ehr_result {
    guard_on(h, name, |h| ptr::write_bytes(buf, len, out_len, &bytes(h)?))
}

/// Writes the 32 bytes `word` picks from the handle `h` (the parameter
/// `name`) to `out` (the parameter `out_name`).
pub(crate) fn word_of<H>(
    h: *const H,
    out: *mut u8,
    name: &str,
    out_name: &str,
    word: impl FnOnce(&H) -> [u8; 32],
) -> ehr_result {
    guard_on(h, name, |h| {
        OutArray::<32>::new(out, out_name)?.set(&word(h));
        Ok(())
    })
}

/// Writes the value `value` makes of the handle `h` (the parameter `name`)
/// to `out` (the parameter `out_name`).
pub(crate) fn value_of<H, T>(
    h: *const H,
    out: *mut T,
    name: &str,
    out_name: &str,
    value: impl FnOnce(&H) -> T,
) -> ehr_result {
    guard_on(h, name, |h| {
        Out::new(out, out_name)?.set(value(h));
        Ok(())
    })
}

/// Hands the caller the new handle `make` makes of the handle `h` (the
/// parameter `name`) through `out` (the parameter `out_name`, checked before
/// `make` runs).
pub(crate) fn handle_of<H, N>(
    h: *const H,
    out: *mut *mut N,
    name: &str,
    out_name: &str,
    make: impl FnOnce(&H) -> Result<N>,
) -> ehr_result {
    guard_on(h, name, |h| {
        let out = Out::new(out, out_name)?;
        out.give(make(h)?);
        Ok(())
    })
}

/// Hands the caller the new handle `make` makes through `out` (the
/// parameter `out_name`).
pub(crate) fn made<N>(out: *mut *mut N, out_name: &str, make: impl FnOnce() -> N) -> ehr_result {
    guard(|| {
        Out::new(out, out_name)?.give(make());
        Ok(())
    })
}

/// Frees the handle `h`, which the caller gives back; NULL is ignored.
pub(crate) fn free<H>(h: *mut H) {
    guard_void(|| drop(ptr::take(h)));
}

/// Reads the text argument `text` (the parameter `name`: `len` bytes of
/// UTF-8) and hands the new handle `parse` makes of it to the caller through
/// `out` (the parameter `out_name`).
pub(crate) fn parsed<H>(
    text: *const c_char,
    len: usize,
    out: *mut *mut H,
    name: &str,
    out_name: &str,
    parse: impl FnOnce(&str) -> Result<H>,
) -> ehr_result {
    guard(|| {
        let text = ptr::text(text, len, name)?;
        Out::new(out, out_name)?.give(parse(text)?);
        Ok(())
    })
}

/// Reads the byte argument `bytes` (`len` bytes; empty is allowed, as a
/// truncated input) and hands the new handle `parse` makes of it to the
/// caller through `out` (the parameter `out_name`).
pub(crate) fn parsed_bytes<H>(
    bytes: *const u8,
    len: usize,
    out: *mut *mut H,
    out_name: &str,
    parse: impl FnOnce(&[u8]) -> Result<H>,
) -> ehr_result {
    guard(|| {
        let bytes = ptr::bytes_or_empty(bytes, len, "bytes")?;
        let out = Out::new(out, out_name)?;
        out.give(parse(bytes)?);
        Ok(())
    })
}

/// Reads the text argument `text` (`len` bytes of UTF-8; empty is allowed,
/// as a truncated input) and hands the new handle `parse` makes of it to the
/// caller through `out` (the parameter `out_name`).
pub(crate) fn parsed_text<H>(
    text: *const c_char,
    len: usize,
    out: *mut *mut H,
    out_name: &str,
    parse: impl FnOnce(&str) -> Result<H>,
) -> ehr_result {
    guard(|| {
        let text = ptr::text_or_empty(text, len, "text")?;
        Out::new(out, out_name)?.give(parse(text)?);
        Ok(())
    })
}

/// The JSON text of `value` (which always serializes; a failure is
/// `EHR_INTERNAL`).
pub(crate) fn json_text(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))
}

/// Writes the JSON text of `value` as NUL-terminated text into `buf`
/// (text-output rules: `ehr_result_message`).
pub(crate) fn write_json(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    value: &impl Serialize,
) -> Result<()> {
    ptr::write_text(buf, len, out_len, &json_text(value)?)
}

/// The value the JSON `text` holds; `EHR_INVALID_JSON` with the message
/// `explain` makes of the parser's error when it holds none.
pub(crate) fn from_json<T: DeserializeOwned>(
    text: &str,
    explain: impl FnOnce(serde_json::Error) -> String,
) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::new(ErrorCode::InvalidJson, explain(e)))
}
