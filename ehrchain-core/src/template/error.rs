//! Why a template document was rejected.

use alloy_primitives::B256;

use crate::role::InvalidRoleName;

/// Why a template document was rejected when loaded. Each message names the
/// offending part so that the administrator can fix the JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The document exceeds [`MAX_TEMPLATE_JSON_LEN`](super::MAX_TEMPLATE_JSON_LEN).
    #[error("the template is {0} bytes; at most 1 MiB is accepted")]
    TooLarge(usize),
    /// The text is not valid template JSON (syntax, a missing or unknown key).
    #[error("template JSON is malformed: {0}")]
    Json(String),
    /// `format` is not `ehrchain.template/1`.
    #[error("template format {0:?} is not supported; use \"ehrchain.template/1\"")]
    UnsupportedFormat(String),
    /// The template name breaks the naming rule.
    #[error(
        "template name {0:?} is invalid: use 1 to 64 lower-case letters, digits or '-', starting with a letter"
    )]
    InvalidName(String),
    /// `version` is 0.
    #[error("template version must be 1 or higher")]
    ZeroVersion,
    /// `title` is empty.
    #[error("template title is empty: give the form a title users will recognise")]
    MissingTitle,
    /// `roles` is empty.
    #[error("template allows no roles: list at least one role in \"roles\"")]
    NoRoles,
    /// A role name is invalid.
    #[error("template roles: {0}")]
    InvalidRole(InvalidRoleName),
    /// A role is listed twice.
    #[error("template lists role {0:?} twice")]
    DuplicateRole(String),
    /// `subject` is neither `patient` nor `none`.
    #[error("template subject {0:?} is unknown: use \"patient\" or \"none\"")]
    UnknownSubject(String),
    /// A field name breaks the naming rule.
    #[error(
        "field name {0:?} is invalid: use 1 to 64 lower-case letters, digits or '_', starting with a letter"
    )]
    InvalidFieldName(String),
    /// Two fields share a name.
    #[error("field {0:?} is declared twice")]
    DuplicateField(String),
    /// `placement` is not `chain`, `sealed` or `system`.
    #[error(
        "field {field:?}: placement {placement:?} is unknown; use \"chain\", \"sealed\" or \"system\""
    )]
    UnknownPlacement {
        /// The field.
        field: String,
        /// The placement given.
        placement: String,
    },
    /// `type` names no known type.
    #[error(
        "field {field:?}: type {type_name:?} is unknown; use integer, decimal, bool, text, enum, date-time, code, bytes32 or address"
    )]
    UnknownType {
        /// The field.
        field: String,
        /// The type given.
        type_name: String,
    },
    /// A `system` field's `source` is unknown.
    #[error(
        "field {field:?}: system source {given:?} is unknown; use patient_pseudonym, template_id, ti_id, record_hash, timestamp or author_role"
    )]
    UnknownSource {
        /// The field.
        field: String,
        /// The source given.
        given: String,
    },
    /// An attribute the type needs is absent.
    #[error("field {field:?}: attribute {attribute:?} is required for this type")]
    MissingAttribute {
        /// The field.
        field: String,
        /// The missing attribute.
        attribute: &'static str,
    },
    /// An attribute does not apply to the field's type or placement.
    #[error("field {field:?}: attribute {attribute:?} does not apply to a {kind} field")]
    AttributeNotAllowed {
        /// The field.
        field: String,
        /// The attribute.
        attribute: &'static str,
        /// The field's type, or `system`.
        kind: &'static str,
    },
    /// An attribute's value is invalid.
    #[error("field {field:?}: attribute {attribute:?} {reason}")]
    InvalidAttribute {
        /// The field.
        field: String,
        /// The attribute.
        attribute: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A field marked identifying is placed on chain.
    #[error("field {0:?} identifies a person and cannot be placed on chain; place it \"sealed\"")]
    IdentifyingOnChain(String),
    /// A chain field is optional; a call argument always needs a value.
    #[error(
        "field {0:?} is placed on chain and feeds a call argument, so it must be \"required\": true"
    )]
    OptionalChainField(String),
    /// A free-text field is placed on chain.
    #[error(
        "field {0:?} is free text, which may carry identifying data, and cannot be placed on chain; place it \"sealed\" or use a code or enum"
    )]
    FreeTextOnChain(String),
    /// A patient pseudonym is used by a template whose subject is `none`.
    #[error("field {0:?} takes the patient pseudonym but the template's subject is \"none\"")]
    PseudonymWithoutPatient(String),
    /// The function signature does not parse.
    #[error("call function {signature:?} is not a valid Solidity signature: {reason}")]
    InvalidFunction {
        /// The signature given.
        signature: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The number of arguments differs from the function's parameters.
    #[error(
        "call function {function} has {parameters} parameters but {arguments} arguments are mapped"
    )]
    ArgumentCount {
        /// The function signature.
        function: String,
        /// Its parameter count.
        parameters: usize,
        /// The number of mapped arguments.
        arguments: usize,
    },
    /// A call argument names no field.
    #[error("call argument {0:?} names no field of the template")]
    UnknownArgument(String),
    /// A call argument names a sealed field.
    #[error(
        "call argument {0:?} is a sealed field; only chain and system fields can be call arguments"
    )]
    SealedArgument(String),
    /// A field cannot be encoded as its parameter's ABI type.
    #[error(
        "call argument {field:?} is a {kind} field and cannot be encoded as the parameter type {abi_type}"
    )]
    ArgumentType {
        /// The field.
        field: String,
        /// The field's type.
        kind: &'static str,
        /// The parameter's ABI type.
        abi_type: String,
    },
    /// A chain or system field feeds no call argument, so its value would be lost.
    #[error("field {0:?} is placed on chain or filled by the system but no call argument uses it")]
    UnusedChainField(String),
    /// The declared `id` differs from the content-derived one.
    #[error(
        "template id {declared} does not match its content (computed {computed}); the template was edited after its id was taken, so drop \"id\" or publish a new version"
    )]
    IdMismatch {
        /// The id in the document.
        declared: String,
        /// The id computed from the canonical form.
        computed: B256,
    },
    /// The `fhir` mapping is invalid (`docs/fhir.md`).
    #[error("template fhir mapping: {0}")]
    FhirMapping(String),
}
