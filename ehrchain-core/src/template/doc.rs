//! The template JSON document as written by administrators (`docs/templates.md`).
//!
//! These serde structs only describe the shape; [`super::Template::from_doc`]
//! checks the meaning. Unknown keys are rejected so that typos surface.

use serde::{Deserialize, Serialize};

/// The `format` value of template documents this version reads.
pub const TEMPLATE_FORMAT: &str = "ehrchain.template/1";

/// A template document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TemplateDoc {
    /// Always [`TEMPLATE_FORMAT`].
    pub format: String,
    /// The content-derived id (`0x` + 64 hex digits); optional on input, and
    /// checked when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Stable name shared by all versions, such as `blood-pressure`.
    pub name: String,
    /// Version number; each new version of a name must be higher.
    pub version: u32,
    /// Title shown to users.
    pub title: String,
    /// Longer description shown to users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Coded concept of the whole record (for example LOINC 85354-9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concept: Option<ConceptDoc>,
    /// Roles allowed to submit this template.
    pub roles: Vec<String>,
    /// `patient` (the default: every TI names a patient) or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The contract call a TC makes.
    pub call: CallDoc,
    /// The fields, in display order.
    pub fields: Vec<FieldDoc>,
    /// How a FHIR R4 resource fills the template (`docs/fhir.md`). Not part
    /// of the canonical form, so not of the template id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fhir: Option<crate::fhir::FhirMappingDoc>,
}

/// A coded concept from a terminology such as LOINC or SNOMED CT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConceptDoc {
    /// Terminology URI, such as `http://loinc.org`.
    pub system: String,
    /// The code within the terminology, such as `8480-6`.
    pub code: String,
    /// Human-readable name of the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// The target contract function and what feeds each of its arguments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CallDoc {
    /// Solidity signature, such as
    /// `anchorRecord(bytes32 subject, bytes32 templateId, bytes32 tiId, bytes32 recordHash, uint64 timestamp, bytes32 role)`.
    pub function: String,
    /// For each function parameter in order, the name of the `chain` or `system`
    /// field that supplies it.
    pub arguments: Vec<String>,
}

/// One field of a template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FieldDoc {
    /// Field name: lower-case letters, digits and `_`.
    pub name: String,
    /// `chain`, `sealed` or `system`.
    pub placement: String,
    /// Value type (not for `system` fields): `integer`, `decimal`, `bool`,
    /// `text`, `enum`, `date-time`, `code`, `bytes32` or `address`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// For `system` fields: what the handshaker fills in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Label shown in forms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Hint shown in forms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Whether a TI must carry the field (default `false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Whether the value identifies a person (default `false`); such fields may
    /// never be placed on chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifying: Option<bool>,
    /// Unit of measure (UCUM), such as `mm[Hg]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Coded concept of the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concept: Option<ConceptDoc>,
    /// Lower bound: a JSON integer for `integer`, a decimal string for `decimal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<serde_json::Value>,
    /// Upper bound: a JSON integer for `integer`, a decimal string for `decimal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<serde_json::Value>,
    /// Digits after the decimal point, for `decimal` (0 to 18).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u8>,
    /// Longest value in characters, for `text` and `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Allowed values, for `enum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// Terminology URI the values come from, for `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_system: Option<String>,
}
