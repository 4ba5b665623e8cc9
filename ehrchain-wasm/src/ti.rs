//! A TI argument (`InitialTransaction | string`) read into the core's
//! [`InitialTransaction`]: JSON text as it is; an object as JSON text from
//! `JSON.stringify`, except long texts in its `fields`, which cross as
//! strings (`src/ti.js` says why).

use ehrchain_core::{InitialTransaction, MAX_TI_JSON_LEN, TiFormatError};
use js_sys::{Array, JsString};
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::error::Failure;

#[wasm_bindgen(module = "/src/ti.js")]
extern "C" {
    /// A TI object without its long texts, or `undefined`.
    #[wasm_bindgen(js_name = splitLongTexts)]
    fn split_long_texts(ti: &JsValue) -> Option<SplitTi>;

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
/// exactly what `InitialTransaction::from_json(JSON.stringify(ti))` would.
pub(crate) fn initial_transaction(value: &JsValue) -> Result<InitialTransaction, Failure> {
    let Some(split) = split_long_texts(value) else {
        let json = convert::json_text(value, "TI")?;
        return Ok(InitialTransaction::from_json(&json)?);
    };
    let json = convert::string(&split.json(), "TI")?;
    // Every UTF-16 unit is at least one UTF-8 byte: `size` never exceeds
    // the length of the TI's whole JSON text.
    let mut size = json.len();
    let too_large = |size| size > MAX_TI_JSON_LEN;
    if too_large(size) {
        return Err(TiFormatError::TooLarge(size).into());
    }
    let mut document: serde_json::Value =
        serde_json::from_str(&json).map_err(TiFormatError::from)?;
    if let Some(fields) = document
        .get_mut("fields")
        .and_then(serde_json::Value::as_object_mut)
    {
        for (name, text) in split.names().iter().zip(split.texts().iter()) {
            size = size.saturating_add(text.unchecked_ref::<JsString>().length() as usize);
            if too_large(size) {
                return Err(TiFormatError::TooLarge(size).into());
            }
            let text = convert::string(&text, "a TI field")?;
            fields.insert(convert::string(&name, "a TI field name")?, text.into());
        }
    }
    Ok(InitialTransaction::from_json_value(document)?)
}
