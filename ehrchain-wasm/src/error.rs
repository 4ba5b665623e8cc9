//! The one Rust → JavaScript error conversion: every failure becomes a real
//! `Error` with a stable `code` (see the README's table), a `kind` naming the
//! core error variant where there is one, and the core's message.

use std::fmt::Display;

use ehrchain_core::{
    BatchError, EnvelopeError, GenerateError, InvalidRoleName, KeyStoreError, ProofError,
    RegistryError, TemplateError, TiFormatError, ValidatorError, Violations,
};
use wasm_bindgen::JsValue;

/// A failure on its way to JavaScript.
#[derive(Debug)]
pub(crate) struct Failure {
    code: &'static str,
    kind: Option<&'static str>,
    message: String,
    extra: Option<(&'static str, serde_json::Value)>,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub(crate) fn new(code: &'static str, message: impl Display) -> Self {
        Self {
            code,
            kind: None,
            message: message.to_string(),
            extra: None,
        }
    }

    /// Names the core error variant (`truncated`, `wrong_key`, …).
    pub(crate) fn kind(mut self, kind: &'static str) -> Self {
        self.kind = Some(kind);
        self
    }

    /// A malformed argument from JavaScript.
    pub(crate) fn bad_input(message: impl Display) -> Self {
        Self::new(codes::BAD_INPUT, message)
    }

    /// The error's code (for tests).
    #[cfg(test)]
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }
}

/// The stable error codes (documented in the README).
pub(crate) mod codes {
    pub(crate) const BAD_INPUT: &str = "EHR_BAD_INPUT";
    pub(crate) const BAD_HEX: &str = "EHR_BAD_HEX";
    pub(crate) const ROLE_INVALID: &str = "EHR_ROLE_INVALID";
    pub(crate) const TEMPLATE_INVALID: &str = "EHR_TEMPLATE_INVALID";
    pub(crate) const TI_MALFORMED: &str = "EHR_TI_MALFORMED";
    pub(crate) const TI_REJECTED: &str = "EHR_TI_REJECTED";
    pub(crate) const KEY: &str = "EHR_KEY";
    pub(crate) const ENVELOPE_INVALID: &str = "EHR_ENVELOPE_INVALID";
    pub(crate) const BATCH_INVALID: &str = "EHR_BATCH_INVALID";
    pub(crate) const PROOF_INVALID: &str = "EHR_PROOF_INVALID";
    pub(crate) const VALIDATOR: &str = "EHR_VALIDATOR";
    pub(crate) const INTERNAL: &str = "EHR_INTERNAL";
}

impl From<Failure> for JsValue {
    fn from(f: Failure) -> Self {
        let error = js_sys::Error::new(&f.message);
        error.set_name("EhrchainError");
        let set = |key: &str, value: &JsValue| {
            // Setting a property on a fresh Error object cannot fail.
            let _ = js_sys::Reflect::set(&error, &JsValue::from_str(key), value);
        };
        set("code", &JsValue::from_str(f.code));
        if let Some(kind) = f.kind {
            set("kind", &JsValue::from_str(kind));
        }
        if let Some((key, value)) = f.extra {
            let value = serde_json::to_string(&value)
                .ok()
                .and_then(|json| js_sys::JSON::parse(&json).ok())
                .unwrap_or(JsValue::UNDEFINED);
            set(key, &value);
        }
        error.into()
    }
}

impl From<Violations> for Failure {
    fn from(v: Violations) -> Self {
        let list = serde_json::to_value(&v.0).unwrap_or_default();
        Self {
            code: codes::TI_REJECTED,
            kind: Some("rejected"),
            message: v.to_string(),
            extra: Some(("violations", list)),
        }
    }
}

impl From<GenerateError> for Failure {
    fn from(e: GenerateError) -> Self {
        match e {
            GenerateError::Rejected(v) => v.into(),
            GenerateError::KeyStore(e) => e.into(),
            GenerateError::Seal(e) => e.into(),
        }
    }
}

impl From<KeyStoreError> for Failure {
    fn from(e: KeyStoreError) -> Self {
        let kind = match e {
            KeyStoreError::UnknownKey(_) => "unknown_key",
            KeyStoreError::Unavailable(_) => "unavailable",
        };
        Self::new(codes::KEY, e).kind(kind)
    }
}

impl From<EnvelopeError> for Failure {
    fn from(e: EnvelopeError) -> Self {
        if let EnvelopeError::KeyStore(e) = &e {
            return e.clone().into();
        }
        let kind = e.name();
        Self::new(codes::ENVELOPE_INVALID, e).kind(kind)
    }
}

impl From<ProofError> for Failure {
    fn from(e: ProofError) -> Self {
        let kind = e.name();
        Self::new(codes::PROOF_INVALID, e).kind(kind)
    }
}

impl From<BatchError> for Failure {
    fn from(e: BatchError) -> Self {
        let kind = match e {
            BatchError::Empty => "empty",
            BatchError::Full => "full",
            BatchError::ZeroRecordHash => "zero_record_hash",
        };
        Self::new(codes::BATCH_INVALID, e).kind(kind)
    }
}

impl From<TemplateError> for Failure {
    fn from(e: TemplateError) -> Self {
        Self::new(codes::TEMPLATE_INVALID, e)
    }
}

impl From<RegistryError> for Failure {
    fn from(e: RegistryError) -> Self {
        Self::new(codes::TEMPLATE_INVALID, e)
    }
}

impl From<TiFormatError> for Failure {
    fn from(e: TiFormatError) -> Self {
        Self::new(codes::TI_MALFORMED, e)
    }
}

impl From<InvalidRoleName> for Failure {
    fn from(e: InvalidRoleName) -> Self {
        Self::new(codes::ROLE_INVALID, e)
    }
}

impl From<ValidatorError> for Failure {
    fn from(e: ValidatorError) -> Self {
        let kind = match e {
            ValidatorError::Finished => "finished",
            ValidatorError::Unexpected(_) => "unexpected",
            ValidatorError::WrongReceipt { .. } => "wrong_receipt",
            ValidatorError::BatchMismatch { .. } => "batch_mismatch",
        };
        Self::new(codes::VALIDATOR, e).kind(kind)
    }
}
