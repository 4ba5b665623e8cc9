//! Why a FHIR resource or Bundle was not turned into TIs.

use std::fmt;

use serde::Serialize;

use crate::violation::ViolationKind;

/// Why a FHIR document, or one resource in it, gave no TI. Each message
/// names what to fix and, for a resource's content, the FHIRPath where the
/// problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FhirError {
    /// The JSON text exceeds [`MAX_FHIR_JSON_LEN`](super::MAX_FHIR_JSON_LEN).
    #[error("the FHIR JSON is {len} bytes; at most {max} are accepted: split the Bundle")]
    TooLarge {
        /// The text's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The Bundle has more entries than [`MAX_BUNDLE_ENTRIES`](super::MAX_BUNDLE_ENTRIES).
    #[error("the Bundle has {count} entries; at most {max} are accepted: split the Bundle")]
    TooManyEntries {
        /// The number of entries.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The text is not JSON, or not a FHIR resource (no `resourceType`).
    #[error("the FHIR JSON is malformed: {0}")]
    Json(String),
    /// A Bundle was expected.
    #[error("expected a FHIR Bundle, found {found}")]
    NotABundle {
        /// The resource type found.
        found: String,
    },
    /// The Bundle breaks the FHIR rules ehrchain relies on.
    #[error("the Bundle is malformed: {0}")]
    MalformedBundle(String),
    /// No loaded template's FHIR mapping selects the resource.
    #[error(
        "no loaded template maps this {resource_type}{}: load a template whose \"fhir\" mapping selects it",
        if codes.is_empty() { String::new() } else { format!(" (codes {})", codes.join(", ")) }
    )]
    NoTemplate {
        /// The resource type.
        resource_type: String,
        /// The resource's `code.coding` as `system|code`.
        codes: Vec<String>,
    },
    /// Several templates' mappings select the resource.
    #[error(
        "templates {} all map this {resource_type}: make their \"match\" conditions exclusive",
        templates.join(", ")
    )]
    AmbiguousTemplate {
        /// The resource type.
        resource_type: String,
        /// The names of the templates.
        templates: Vec<String>,
    },
    /// The resource does not fill the template; every problem is listed.
    #[error("{resource} does not fill template {template}: {}", Problems(problems))]
    Rejected {
        /// The resource (`fullUrl`, or `Type/id`).
        resource: String,
        /// The template name.
        template: String,
        /// Every problem, in mapping order.
        problems: Vec<FhirProblem>,
    },
}

struct Problems<'a>(&'a [FhirProblem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// One problem with a resource's content, at a FHIRPath.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FhirProblem {
    /// The path where the problem is (as written in the mapping).
    pub path: String,
    /// The template field being filled, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong.
    pub kind: FhirProblemKind,
}

impl fmt::Display for FhirProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}", self.path)?;
        if let Some(field) = &self.field {
            write!(f, " (field {field:?})")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// What is wrong at a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(
    tag = "problem",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum FhirProblemKind {
    /// The resource is of another type than the template maps.
    #[error("the template maps {expected}, not {found}")]
    WrongResourceType {
        /// The type the mapping names.
        expected: String,
        /// The type found.
        found: String,
    },
    /// None of the selecting codes is present.
    #[error("none of the codes {} is present", expected.join(", "))]
    MissingCode {
        /// The accepted codes as `system|code`.
        expected: Vec<String>,
    },
    /// A required value is absent.
    #[error("no value, and one is required")]
    Missing,
    /// The path yields several values where one is needed.
    #[error("{count} values where one is needed: narrow the path with where(…) or first()")]
    Ambiguous {
        /// How many values.
        count: usize,
    },
    /// The value has the wrong FHIR type.
    #[error("expected {expected}")]
    WrongShape {
        /// What was expected.
        expected: String,
    },
    /// A Quantity's unit is not the one expected, and no exact conversion
    /// leads to it.
    #[error(
        "unit {found:?} where {expected:?} (UCUM) is expected; ehrchain converts only the exact conversions listed in docs/fhir.md"
    )]
    WrongUnit {
        /// The expected UCUM code.
        expected: String,
        /// The unit found (its UCUM code, or `unit` text when there is no code).
        found: String,
    },
    /// A time without a time of day or time zone, where an instant is needed.
    #[error("{value:?} is not a date-time with time of day and time zone")]
    ImpreciseTime {
        /// The value found.
        value: String,
    },
    /// A reference names no resource in the Bundle (or among the contained).
    #[error("reference {reference:?} does not resolve in the Bundle")]
    UnresolvedReference {
        /// The reference text.
        reference: String,
    },
    /// The patient has no identifier in the hospital's identifier system.
    #[error("the patient has no identifier with system {system:?}")]
    NoPatientIdentifier {
        /// The system the host's options name.
        system: String,
    },
    /// The resource has neither a `fullUrl` nor an `id` to derive its TI id from.
    #[error("the resource has no id: give it an id or a fullUrl in the Bundle")]
    NoResourceId,
    /// The value breaks the template (a bound, a length, an allowed value).
    #[error("{0}")]
    Template(ViolationKind),
}
