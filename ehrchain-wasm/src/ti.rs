//! A TI argument (`InitialTransaction | string`) read into the core's
//! [`InitialTransaction`]: JSON text as it is; an object as JSON text from
//! `JSON.stringify`, except long texts in its `fields`, which cross as
//! strings (`src/ti.js` says why).

use ehrchain_core::InitialTransaction;
use ehrchain_core::ti::{MAX_TI_JSON_LEN, TiFormatError};
use js_sys::{Array, JsString};
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::error::Failure;

#[wasm_bindgen(module = "/src/ti.js")]
extern "C" {
    /// A plain TI object split from its long texts, `undefined` for other
    /// values; throws what `JSON.stringify` throws.
    #[wasm_bindgen(catch, js_name = splitLongTexts)]
    fn split_long_texts(ti: &JsValue) -> Result<Option<SplitTi>, JsValue>;

    /// `{ json, names, texts }` from `splitLongTexts`.
    type SplitTi;
    /// The TI as JSON text, each long text an empty string.
    #[wasm_bindgen(method, getter)]
    fn json(this: &SplitTi) -> JsString;
    /// The fields whose texts were taken out.
    #[wasm_bindgen(method, getter)]
    fn names(this: &SplitTi) -> Array;
    /// Those texts, in the same order.
    #[wasm_bindgen(method, getter)]
    fn texts(this: &SplitTi) -> Array;
}

/// The TI an argument holds, or why it holds none. Accepts and refuses
/// exactly what `InitialTransaction::from_json(JSON.stringify(ti))` would,
/// with the same error codes (the message of a malformed TI may lack the
/// position in the JSON text).
pub(crate) fn initial_transaction(value: &JsValue) -> Result<InitialTransaction, Failure> {
    let split = split_long_texts(value).map_err(|_| convert::not_json("TI"))?;
    let Some(split) = split else {
        let json = convert::json_text(value, "TI")?;
        return Ok(InitialTransaction::from_json(&json)?);
    };
    let json = convert::string(&split.json(), "TI")?;
    let texts = split
        .names()
        .iter()
        .zip(split.texts().iter())
        .map(|(name, text)| {
            let name = convert::string(&name, "a TI field name")?;
            Ok((name, convert::string(&text, "a TI field")?))
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    check_size(&json, &texts)?;
    let mut document: serde_json::Value =
        serde_json::from_str(&json).map_err(TiFormatError::from)?;
    if let Some(fields) = document
        .get_mut("fields")
        .and_then(serde_json::Value::as_object_mut)
    {
        for (name, text) in texts {
            fields.insert(name, text.into());
        }
    }
    Ok(InitialTransaction::from_json_value(document)?)
}

/// Refuses, as `from_json` would, a TI whose whole JSON text (`json` with
/// each text written back in) exceeds [`MAX_TI_JSON_LEN`].
fn check_size(json: &str, texts: &[(String, String)]) -> Result<(), TiFormatError> {
    // JSON.stringify writes a byte as at most six (`\u00XX`): below this
    // bound, no need to count escapes.
    let bound = texts.iter().fold(json.len(), |size, (_, text)| {
        size.saturating_add(text.len().saturating_mul(6))
    });
    if bound <= MAX_TI_JSON_LEN {
        return Ok(());
    }
    let size = texts.iter().fold(json.len(), |size, (_, text)| {
        size.saturating_add(stringified_len(text))
    });
    if size > MAX_TI_JSON_LEN {
        return Err(TiFormatError::TooLarge(size));
    }
    Ok(())
}

/// The UTF-8 length of a well-formed string as JSON.stringify writes it,
/// quotes aside: `"`, `\\` and `\b \f \n \r \t` take two bytes, other
/// control characters six, everything else its own UTF-8.
fn stringified_len(text: &str) -> usize {
    let escapes: usize = text
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | 0x08 | 0x0c | b'\n' | b'\r' | b'\t' => 1,
            0..=0x1f => 5,
            _ => 0,
        })
        .sum();
    text.len() + escapes
}
