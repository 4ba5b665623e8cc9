//! Template violations: everything wrong with a TI, reported all at once.

use std::fmt;

use alloy_primitives::B256;
use serde::Serialize;

/// One thing wrong with a TI. `field` is set when a field is at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The field at fault, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong.
    #[serde(flatten)]
    pub kind: ViolationKind,
}

/// What is wrong with a TI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(
    tag = "violation",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum ViolationKind {
    /// The TI names a template the registry does not hold.
    #[error("template {template_id} is not loaded; load it or pick one from forms_for(role)")]
    UnknownTemplate {
        /// The id the TI names.
        template_id: B256,
    },
    /// The template was deactivated by an administrator.
    #[error("template {name} version {version} is deactivated; use its current version")]
    TemplateInactive {
        /// Template name.
        name: String,
        /// Template version.
        version: u32,
    },
    /// The author's role may not submit this template.
    #[error("role {role:?} may not submit this template; allowed roles: {}", allowed.join(", "))]
    RoleNotAllowed {
        /// The author's role.
        role: String,
        /// The roles the template allows.
        allowed: Vec<String>,
    },
    /// An identifier (author or patient) is empty, too long or has control characters.
    #[error("{what} must be 1 to 128 bytes without control characters")]
    BadIdentifier {
        /// `author_id` or `patient_id`.
        what: &'static str,
    },
    /// The template's subject is a patient but the TI names none.
    #[error("this template records data about a patient: set patientId")]
    MissingPatient,
    /// The template's subject is `none` but the TI names a patient.
    #[error("this template records no patient data: leave patientId out")]
    UnexpectedPatient,
    /// The TI's timestamp is later than the host's clock allows.
    #[error(
        "timestamp {timestamp} (Unix seconds) is {ahead_ms} ms ahead of the clock (tolerance {tolerance_ms} ms); check the device clock"
    )]
    TimestampInFuture {
        /// The TI's timestamp, Unix seconds.
        timestamp: u64,
        /// Milliseconds ahead of `now`.
        ahead_ms: u64,
        /// The tolerance the host set
        /// ([`GeneratorConfig::max_clock_skew_ms`](crate::GeneratorConfig::max_clock_skew_ms)),
        /// milliseconds.
        tolerance_ms: u64,
    },
    /// A required field is absent (or null).
    #[error("required value is missing")]
    MissingField,
    /// The TI carries a field the template does not declare.
    #[error("the template has no such field")]
    UnknownField,
    /// The TI sets a field the handshaker fills itself.
    #[error("is filled by the system and must not be set in the TI")]
    SystemField,
    /// The value has the wrong JSON type or syntax.
    #[error("expected {expected}")]
    WrongType {
        /// What the field takes.
        expected: String,
    },
    /// The value is outside the template's bounds.
    #[error("{value} is outside the allowed range {min} to {max}")]
    OutOfRange {
        /// The value given.
        value: String,
        /// Smallest allowed value.
        min: String,
        /// Largest allowed value.
        max: String,
    },
    /// The value has more decimal places than the template's scale.
    #[error("has more than {scale} digits after the decimal point")]
    TooPrecise {
        /// Digits allowed after the point.
        scale: u8,
    },
    /// The value is not one of the enum's values.
    #[error("{value:?} is not one of: {}", allowed.join(", "))]
    UnknownEnumValue {
        /// The value given.
        value: String,
        /// The allowed values.
        allowed: Vec<String>,
    },
    /// The text or code is longer than allowed.
    #[error("is {length} characters long; at most {max} are allowed")]
    TooLong {
        /// Characters given.
        length: usize,
        /// Characters allowed.
        max: u32,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field {field:?}: {}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

/// Every violation of one TI; never empty. Violations of the TI as a whole
/// come first, then unknown fields (by name), then the template's fields in
/// template order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(transparent)]
pub struct Violations(pub Vec<Violation>);

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the TI breaks its template in {} way(s): ", self.0.len())?;
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}
