//! The one Rust → JavaScript error conversion: every failure becomes a real
//! `Error` named `EhrchainError` whose `code` is the name of the core's
//! [`ErrorCode`] (the same number and name in C; `docs/errors.md`), `kind`
//! its kind, `retryable` whether to try again, `reason` the finer cause where
//! the formats' vectors name one, and `violations` every violation of a
//! rejected TI.

use std::fmt::Display;

use ehrchain_core::{Error as CoreError, ErrorCode, TransportError};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

/// A failure on its way to JavaScript.
#[derive(Debug)]
pub(crate) struct Failure {
    code: ErrorCode,
    reason: Option<&'static str>,
    message: String,
    violations: Option<serde_json::Value>,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub(crate) fn new(code: ErrorCode, message: impl Display) -> Self {
        Self {
            code,
            reason: None,
            message: message.to_string(),
            violations: None,
        }
    }

    /// A malformed argument from JavaScript.
    pub(crate) fn bad_input(message: impl Display) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    /// The error's code.
    pub(crate) fn code(&self) -> ErrorCode {
        self.code
    }
}

/// Every core error keeps its code, reason, message and violations.
impl<E: Into<CoreError>> From<E> for Failure {
    fn from(e: E) -> Self {
        let e = e.into();
        Self {
            code: e.code(),
            reason: e.reason(),
            message: e.to_string(),
            violations: e.violations().and_then(|v| serde_json::to_value(&v.0).ok()),
        }
    }
}

impl From<Failure> for JsValue {
    fn from(f: Failure) -> Self {
        let error = js_sys::Error::new(&f.message);
        error.set_name("EhrchainError");
        let set = |key: &str, value: &JsValue| {
            // Setting a property on a fresh Error object cannot fail.
            let _ = js_sys::Reflect::set(&error, &JsValue::from_str(key), value);
        };
        set("code", &JsValue::from_str(f.code.name()));
        set("kind", &JsValue::from_str(f.code.kind().name()));
        set("retryable", &JsValue::from_bool(f.code.is_retryable()));
        if let Some(reason) = f.reason {
            set("reason", &JsValue::from_str(reason));
        }
        if let Some(violations) = f.violations {
            let value = serde_json::to_string(&violations)
                .ok()
                .and_then(|json| js_sys::JSON::parse(&json).ok())
                .unwrap_or(JsValue::UNDEFINED);
            set("violations", &value);
        }
        error.into()
    }
}

/// The package's error with the core's `code` (`EHR_…`) for a failure its
/// JavaScript half meets (a WebCrypto failure, a bad argument, an outbox that
/// cannot store). Internal to the package.
#[doc(hidden)]
#[wasm_bindgen(js_name = ehrchainError, unchecked_return_type = "EhrchainError")]
pub fn ehrchain_error(
    #[wasm_bindgen(unchecked_param_type = "ErrorCode")] code: JsValue,
    message: &str,
) -> JsValue {
    let code = code
        .as_string()
        .and_then(|name| ErrorCode::from_name(&name))
        .unwrap_or(ErrorCode::Internal);
    Failure::new(code, message).into()
}

/// The package's error for a provider's failure, as the validator's
/// `transportError` (`{error: "unavailable", detail}`): its `EHR_TRANSPORT_…`
/// code, with `message` (an empty one keeps the core's, a decoded revert
/// say). Internal to the package.
#[doc(hidden)]
#[wasm_bindgen(js_name = transportErrorOf, unchecked_return_type = "EhrchainError")]
pub fn transport_error_of(
    #[wasm_bindgen(js_name = transportError, unchecked_param_type = "TransportError")]
    transport_error: JsValue,
    message: &str,
) -> JsValue {
    match crate::convert::value::<TransportError>(&transport_error, "transportError") {
        Ok(e) if message.is_empty() => Failure::from(e).into(),
        Ok(e) => Failure {
            message: message.to_owned(),
            ..Failure::from(e)
        }
        .into(),
        Err(f) => f.into(),
    }
}
