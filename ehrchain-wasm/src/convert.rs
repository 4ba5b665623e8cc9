//! Checked conversions between JavaScript values and Rust: every malformed
//! input becomes an [`Failure`] with a code, never a panic.

use alloy_primitives::{Address, B256};
use js_sys::{JSON, JsString, Uint8Array};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use zeroize::Zeroizing;

use crate::error::Failure;
use ehrchain_core::{ErrorCode, UnixMillis};

/// The largest integer a JavaScript number holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

#[wasm_bindgen]
extern "C" {
    /// The platform's `TextEncoder` (Node and browsers).
    type TextEncoder;
    #[wasm_bindgen(constructor)]
    fn new() -> TextEncoder;
    /// Writes `text` as UTF-8 into `into` (straight into WebAssembly
    /// memory), as far as it fits.
    #[wasm_bindgen(method, js_name = encodeInto)]
    fn encode_into(this: &TextEncoder, text: &JsString, into: &mut [u8]) -> EncodeIntoResult;

    /// What `encodeInto` did.
    type EncodeIntoResult;
    /// UTF-16 code units read.
    #[wasm_bindgen(method, getter)]
    fn read(this: &EncodeIntoResult) -> f64;
    /// Bytes written.
    #[wasm_bindgen(method, getter)]
    fn written(this: &EncodeIntoResult) -> f64;
}

thread_local! {
    static ENCODER: TextEncoder = TextEncoder::new();
}

/// A JavaScript string's UTF-8 bytes as a Rust string (lone surrogates
/// become U+FFFD), or `None` for other values. `JsValue::as_string` does the
/// same, but its glue copies ASCII one character at a time in JavaScript,
/// which costs milliseconds for a TI with a record of a few hundred KiB.
/// `TextEncoder.encodeInto` is native and writes into WebAssembly memory
/// directly (in Node 20 about twice as fast as `encode`, which allocates a
/// new buffer, on a freshly stringified 256 KiB TI).
fn text(value: &JsValue) -> Option<String> {
    let string = value.dyn_ref::<JsString>()?;
    let units = string.length() as usize;
    // One byte per UTF-16 unit holds ASCII; three per unit hold anything.
    let (bytes, complete) = encode_into(string, units);
    let bytes = if complete {
        bytes
    } else {
        drop(bytes);
        encode_into(string, units.saturating_mul(3)).0
    };
    String::from_utf8(bytes).ok()
}

/// The UTF-8 bytes of `string` that fit in `capacity` bytes, and whether
/// that was all of it.
fn encode_into(string: &JsString, capacity: usize) -> (Vec<u8>, bool) {
    let mut bytes = vec![0; capacity];
    let done = ENCODER.with(|encoder| encoder.encode_into(string, &mut bytes));
    // Both counts are whole numbers no larger than the string's length or
    // the buffer's, which fit in usize.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let (read, written) = (done.read() as usize, done.written() as usize);
    bytes.truncate(written);
    (bytes, read == string.length() as usize)
}

/// A JSON document argument: a JavaScript object (or array), or its JSON text;
/// `EHR_INVALID_JSON` when it is not JSON or not of the expected shape.
pub(crate) fn document<T: DeserializeOwned>(value: &JsValue, what: &str) -> Result<T, Failure> {
    let text = json_text(value, what)?;
    ehrchain_core::json::from_text(&text)
        .map_err(|e| Failure::new(ErrorCode::InvalidJson, format!("{what}: {e}")))
}

/// The JSON text of a document argument: the string itself, or an object
/// (or array) stringified.
pub(crate) fn json_text(value: &JsValue, what: &str) -> Result<String, Failure> {
    match text(value) {
        Some(text) => Ok(text),
        None if value.is_object() => stringify(value, what),
        None => Err(missing_or_wrong(value, what, "an object or its JSON text")),
    }
}

/// A JSON value argument of any JavaScript type (strings are values, not JSON
/// text).
pub(crate) fn value<T: DeserializeOwned>(value: &JsValue, what: &str) -> Result<T, Failure> {
    if value.is_undefined() {
        return Err(Failure::bad_input(format!("{what} is missing")));
    }
    let text = stringify(value, what)?;
    ehrchain_core::json::from_text(&text).map_err(|e| Failure::bad_input(format!("{what}: {e}")))
}

fn stringify(value: &JsValue, what: &str) -> Result<String, Failure> {
    JSON::stringify(value)
        .ok()
        .and_then(|s| text(&s))
        .ok_or_else(|| not_json(what))
}

/// `what` could not be written as JSON.
pub(crate) fn not_json(what: &str) -> Failure {
    Failure::bad_input(format!(
        "{what} cannot be read as JSON (a BigInt, a function or a cyclic object?)"
    ))
}

fn missing_or_wrong(value: &JsValue, what: &str, expected: &str) -> Failure {
    if value.is_undefined() || value.is_null() {
        Failure::bad_input(format!("{what} is missing; pass {expected}"))
    } else {
        Failure::bad_input(format!(
            "{what} must be {expected}, not a {}",
            js_type(value)
        ))
    }
}

fn js_type(value: &JsValue) -> String {
    value.js_typeof().as_string().unwrap_or_default()
}

/// A Rust value as a plain JavaScript value (through its JSON form).
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, Failure> {
    let json = serde_json::to_string(value).map_err(|e| {
        Failure::new(
            ErrorCode::Internal,
            format!("cannot serialise a result: {e}"),
        )
    })?;
    parse(&json)
}

/// [`to_js`] of what there is, or `undefined`. Inlined: a copy per type
/// costs the package's .wasm about 230 bytes gzipped.
#[inline(always)]
pub(crate) fn to_js_or_undefined<T: Serialize>(value: Option<T>) -> Result<JsValue, Failure> {
    match value {
        Some(v) => to_js(&v),
        None => Ok(JsValue::UNDEFINED),
    }
}

/// A result's JSON text (made by ehrchain) as a plain JavaScript value.
pub(crate) fn parse(json: &str) -> Result<JsValue, Failure> {
    JSON::parse(json)
        .map_err(|_| Failure::new(ErrorCode::Internal, "cannot parse a result as JSON"))
}

/// A string argument.
pub(crate) fn string(value: &JsValue, what: &str) -> Result<String, Failure> {
    text(value).ok_or_else(|| missing_or_wrong(value, what, "a string"))
}

/// A whole, non-negative number argument no larger than 2^53 - 1.
pub(crate) fn uint(value: &JsValue, what: &str) -> Result<u64, Failure> {
    let number = value
        .as_f64()
        .ok_or_else(|| missing_or_wrong(value, what, "a number"))?;
    to_u64(number).ok_or_else(|| {
        Failure::bad_input(format!(
            "{what} must be a whole number from 0 to 2^53 - 1, not {number}"
        ))
    })
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn to_u64(number: f64) -> Option<u64> {
    // Checked above: finite, whole, 0 ≤ n ≤ 2^53 - 1, so the cast is exact.
    ((0.0..=MAX_SAFE_INTEGER).contains(&number) && number.fract() == 0.0).then_some(number as u64)
}

/// A `u32` number argument.
pub(crate) fn uint32(value: &JsValue, what: &str) -> Result<u32, Failure> {
    let n = uint(value, what)?;
    u32::try_from(n).map_err(|_| Failure::bad_input(format!("{what} must be below 2^32, not {n}")))
}

/// An optional `u64` number (`undefined` or `null` for none).
pub(crate) fn opt_uint(value: &JsValue, what: &str) -> Result<Option<u64>, Failure> {
    if value.is_undefined() || value.is_null() {
        Ok(None)
    } else {
        uint(value, what).map(Some)
    }
}

/// A host's deadline (Unix milliseconds): `undefined`, `null` or
/// `Infinity` for none; a fraction is rounded down, and a time before 1970
/// (already past) is 0.
pub(crate) fn deadline(value: &JsValue) -> Result<Option<UnixMillis>, Failure> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let number = value
        .as_f64()
        .ok_or_else(|| missing_or_wrong(value, "deadline", "a number"))?;
    if number == f64::INFINITY {
        return Ok(None);
    }
    let whole = (number.is_finite()).then(|| number.max(0.0).floor().min(MAX_SAFE_INTEGER));
    whole
        .and_then(to_u64)
        .map(|ms| Some(UnixMillis(ms)))
        .ok_or_else(|| {
            Failure::bad_input(format!(
                "deadline must be a number of Unix milliseconds, not {number}"
            ))
        })
}

/// A `0x`-prefixed hex string of exactly `N` bytes.
pub(crate) fn hex_fixed<const N: usize>(text: &str, what: &str) -> Result<[u8; N], Failure> {
    let bytes = hex_bytes(text, what)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
        Failure::new(
            ErrorCode::InvalidArgument,
            format!(
                "{what} must be 0x and {} hex digits ({N} bytes), not {} bytes",
                N * 2,
                bytes.len()
            ),
        )
    })
}

/// A `0x`-prefixed hex string of any even length.
pub(crate) fn hex_bytes(text: &str, what: &str) -> Result<Vec<u8>, Failure> {
    let digits = text.strip_prefix("0x").ok_or_else(|| {
        Failure::new(
            ErrorCode::InvalidArgument,
            format!("{what} must start with 0x: {}", clip(text)),
        )
    })?;
    alloy_primitives::hex::decode(digits).map_err(|e| {
        Failure::new(
            ErrorCode::InvalidArgument,
            format!("{what} is not valid hex ({e}): {}", clip(text)),
        )
    })
}

/// At most 80 characters of `text`, for messages.
fn clip(text: &str) -> String {
    let mut clipped: String = text.chars().take(80).collect();
    if clipped.len() < text.len() {
        clipped.push('…');
    }
    format!("{clipped:?}")
}

/// A `bytes32` argument: `0x` and 64 hex digits.
pub(crate) fn b256(value: &JsValue, what: &str) -> Result<B256, Failure> {
    let text = string(value, what)?;
    hex_fixed::<32>(&text, what).map(B256::from)
}

/// An address argument: `0x` and 40 hex digits.
pub(crate) fn address(value: &JsValue, what: &str) -> Result<Address, Failure> {
    let text = string(value, what)?;
    hex_fixed::<20>(&text, what).map(Address::from)
}

/// A byte-string argument: a `Uint8Array`, or a `0x` hex string.
pub(crate) fn bytes(value: &JsValue, what: &str) -> Result<Vec<u8>, Failure> {
    if let Some(array) = value.dyn_ref::<Uint8Array>() {
        return Ok(array.to_vec());
    }
    match text(value) {
        Some(text) => hex_bytes(&text, what),
        None => Err(missing_or_wrong(
            value,
            what,
            "a Uint8Array or a 0x hex string",
        )),
    }
}

/// Secret bytes (a key): as [`bytes`], but no message repeats the input
/// and every copy made here is zeroized.
pub(crate) fn secret_bytes(value: &JsValue, what: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    if let Some(array) = value.dyn_ref::<Uint8Array>() {
        return Ok(Zeroizing::new(array.to_vec()));
    }
    let Some(text) = text(value).map(Zeroizing::new) else {
        return Err(missing_or_wrong(
            value,
            what,
            "a Uint8Array or a 0x hex string",
        ));
    };
    let digits = text.strip_prefix("0x").ok_or_else(|| {
        Failure::new(
            ErrorCode::InvalidArgument,
            format!("{what} must start with 0x (its value is a secret, not shown)"),
        )
    })?;
    alloy_primitives::hex::decode(digits)
        .map(Zeroizing::new)
        .map_err(|e| {
            Failure::new(
                ErrorCode::InvalidArgument,
                format!("{what} is not valid hex ({e}; its value is a secret, not shown)"),
            )
        })
}

/// `0x` and lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    alloy_primitives::hex::encode_prefixed(bytes)
}

/// Reads property `key` of an object argument (`undefined` when absent or when
/// `value` is not an object).
pub(crate) fn get(value: &JsValue, key: &str) -> JsValue {
    if value.is_object() {
        js_sys::Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// A JavaScript number from a `u64` that fits (block numbers, times, gas).
#[allow(clippy::cast_precision_loss)]
pub(crate) fn number(n: u64) -> JsValue {
    // Values handed out are chain data below 2^53 in practice; larger ones
    // lose precision rather than fail.
    JsValue::from_f64(n as f64)
}

/// A time (Unix milliseconds) as a JavaScript number, or `undefined`.
pub(crate) fn millis_or_undefined(at: Option<UnixMillis>) -> JsValue {
    at.map_or(JsValue::UNDEFINED, |at| number(at.as_millis()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn hex_is_checked() {
        assert!(hex_fixed::<2>("0x0a0B", "x").is_ok());
        for bad in ["0a0b", "0x0a0", "0x0a0g", "0x0a", "0x0a0b0c", "", "0X0a0b"] {
            let err = hex_fixed::<2>(bad, "x").unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn numbers_must_be_safe_whole_numbers() {
        assert_eq!(to_u64(0.0), Some(0));
        assert_eq!(to_u64(MAX_SAFE_INTEGER), Some(9_007_199_254_740_991));
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, MAX_SAFE_INTEGER + 2.0] {
            assert_eq!(to_u64(bad), None, "{bad}");
        }
    }
}
