//! The `fhir` section of a template document, as written by administrators
//! (`docs/fhir.md`, "The mapping"). These serde structs only describe the
//! shape; [`FhirMapping::from_doc`](super::FhirMapping::from_doc) checks the
//! meaning against the template's fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How a FHIR R4 resource fills a template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FhirMappingDoc {
    /// The resource type mapped, such as `Observation`.
    pub resource_type: String,
    /// Conditions that select the resource, all of which must hold (the
    /// codes of a blood-pressure panel, an Observation's category).
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<CodeMatchDoc>,
    /// The path of the patient `Reference` (such as `subject`); required
    /// when the template's subject is `patient`, forbidden otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    /// Where the author is read, and the role the author acts in.
    pub author: AuthorDoc,
    /// Paths of the TI's time (an instant, a date-time with time zone, or a
    /// Period's start), tried in order; the first that yields a value wins.
    pub time: OneOrMany,
    /// For each template field filled from the resource: where its value is.
    pub fields: BTreeMap<String, FieldMapDoc>,
}

/// A condition on codes: some `Coding` at `path` (or plain code, for
/// entries without `system`) is one of `anyOf`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CodeMatchDoc {
    /// Path to `Coding`s, such as `code.coding`.
    pub path: String,
    /// The accepted codes; one is enough.
    pub any_of: Vec<CodingDoc>,
}

/// A code in a code system, or a plain FHIR `code` value (such as a
/// `status`) when `system` is left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CodingDoc {
    /// Code system URI, such as `http://loinc.org`; left out to match a
    /// plain `code` element (`status`) rather than a `Coding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The code, such as `85354-9`.
    pub code: String,
}

/// Where the author is read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthorDoc {
    /// Paths of the author's `Reference` (such as `performer.actor`), tried
    /// in order.
    pub path: OneOrMany,
    /// The role the author acts in (one of the template's roles), unless
    /// the host's options name another.
    pub role: String,
}

/// Where one field's value is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FieldMapDoc {
    /// Paths of the value, tried in order; the first that yields a value wins.
    pub path: OneOrMany,
    /// The UCUM unit a Quantity must have (defaults to the field's `unit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// For `enum` fields: FHIR codes and the template values they stand for;
    /// a code not listed must be a template value itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_map: Option<BTreeMap<String, String>>,
}

/// One path, or several tried in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One path.
    One(String),
    /// Paths tried in order.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The paths, in order.
    #[must_use]
    pub fn paths(&self) -> &[String] {
        match self {
            Self::One(p) => std::slice::from_ref(p),
            Self::Many(ps) => ps,
        }
    }
}
