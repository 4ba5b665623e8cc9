//! Transaction templates (the paper's Transaction Template Manager, TTM).
//!
//! An administrator writes a template as JSON ([`TemplateDoc`], specified in
//! `docs/templates.md`); [`Template::from_json`] checks everything once, resolves
//! the contract call's ABI types, and derives the template id from the canonical
//! form. The [`TemplateRegistry`] holds templates, their versions and whether
//! they are active, and answers `forms_for(role)`.

mod builtin;
mod decimal;
mod doc;
mod error;
mod registry;
mod value;

use std::sync::Arc;

use alloy_dyn_abi::{DynSolType, Specifier};
use alloy_json_abi::Function;
use alloy_primitives::{B256, Selector, keccak256};

pub use builtin::BUILT_IN_TEMPLATES;
pub use doc::{CallDoc, ConceptDoc, FieldDoc, TEMPLATE_FORMAT, TemplateDoc};
pub use error::TemplateError;
pub use registry::{Form, RegistryError, TemplateRegistry};
pub(crate) use value::CheckedValue;

use decimal::Decimal;

/// Largest template JSON document accepted, in bytes.
pub const MAX_TEMPLATE_JSON_LEN: usize = 1 << 20;
/// Longest template name, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Longest `text` field a template may declare, in characters.
pub const MAX_TEXT_LEN: u32 = 1 << 20;
/// Longest `code` a template may declare, in characters.
pub const MAX_CODE_LEN: u32 = 256;
/// Default longest `code` value, in characters, when `max_length` is absent.
pub const DEFAULT_CODE_LEN: u32 = 32;

/// Where a field's value goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// A public argument of the contract call (ids, codes, times; never
    /// identifying data).
    Chain,
    /// Inside the encrypted record envelope only.
    Sealed,
    /// Filled by the handshaker from the TI and the sealed record.
    System(SystemSource),
}

/// What the handshaker fills into a `system` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemSource {
    /// The patient's keyed pseudonym (`bytes32`).
    PatientPseudonym,
    /// The template id (`bytes32`).
    TemplateId,
    /// The TI id (`bytes32`).
    TiId,
    /// The record hash: SHA-256 of the sealed envelope (`bytes32`).
    RecordHash,
    /// The TI's timestamp in Unix seconds (`uint64` or wider).
    Timestamp,
    /// The author's role id (`bytes32`).
    AuthorRole,
}

impl SystemSource {
    const ALL: [(&'static str, Self); 6] = [
        ("patient_pseudonym", Self::PatientPseudonym),
        ("template_id", Self::TemplateId),
        ("ti_id", Self::TiId),
        ("record_hash", Self::RecordHash),
        ("timestamp", Self::Timestamp),
        ("author_role", Self::AuthorRole),
    ];

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, v)| *v)
    }

    /// The value type the source produces.
    fn kind(self) -> FieldKind {
        match self {
            Self::Timestamp => FieldKind::DateTime,
            _ => FieldKind::Bytes32,
        }
    }
}

/// A field's value type with its constraints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A whole number within `min..=max`.
    Integer {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A fixed-point number with `scale` digits after the point, within
    /// `min..=max` (both counted in units of `10^-scale`).
    Decimal {
        /// Digits after the decimal point.
        scale: u8,
        /// Smallest allowed value, scaled.
        min: i128,
        /// Largest allowed value, scaled.
        max: i128,
    },
    /// `true` or `false`.
    Bool,
    /// Free text of at most `max_length` characters (never on chain).
    Text {
        /// Longest value in characters.
        max_length: u32,
    },
    /// One of a fixed list of values; on chain, its index as an unsigned integer.
    Enum {
        /// The allowed values.
        values: Vec<String>,
    },
    /// A point in time: RFC 3339 text or Unix seconds; on chain, Unix seconds.
    DateTime,
    /// A terminology code such as a LOINC or ICD-10 code; on chain, `bytes32`
    /// (ASCII, left-aligned) or `string`.
    Code {
        /// Terminology URI, if the template names one.
        system: Option<String>,
        /// Longest code in characters.
        max_length: u32,
    },
    /// 32 bytes as `0x` + 64 hex digits.
    Bytes32,
    /// A 20-byte Ethereum address.
    Address,
}

impl FieldKind {
    /// The `type` name used in template JSON.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Integer { .. } => "integer",
            Self::Decimal { .. } => "decimal",
            Self::Bool => "bool",
            Self::Text { .. } => "text",
            Self::Enum { .. } => "enum",
            Self::DateTime => "date-time",
            Self::Code { .. } => "code",
            Self::Bytes32 => "bytes32",
            Self::Address => "address",
        }
    }

    /// Whether values of this kind can be encoded as the ABI type `ty`.
    fn fits_abi(&self, ty: &DynSolType) -> bool {
        match (self, ty) {
            (Self::Integer { min, max }, _) => {
                int_range_fits(i128::from(*min), i128::from(*max), ty)
            }
            (Self::Decimal { min, max, .. }, _) => int_range_fits(*min, *max, ty),
            (Self::Enum { values }, DynSolType::Uint(_)) => {
                let last = i128::try_from(values.len()).unwrap_or(i128::MAX) - 1;
                int_range_fits(0, last, ty)
            }
            (Self::DateTime, DynSolType::Uint(bits)) => *bits >= 64,
            (Self::Code { max_length, .. }, DynSolType::FixedBytes(32)) => *max_length <= 32,
            (Self::Code { .. }, DynSolType::String)
            | (Self::Bytes32, DynSolType::FixedBytes(32))
            | (Self::Bool, DynSolType::Bool)
            | (Self::Address, DynSolType::Address) => true,
            _ => false,
        }
    }
}

/// Whether every integer in `min..=max` fits the integer ABI type `ty`.
fn int_range_fits(min: i128, max: i128, ty: &DynSolType) -> bool {
    match *ty {
        DynSolType::Uint(bits) => min >= 0 && (bits >= 127 || max < (1i128 << bits)),
        DynSolType::Int(bits) => {
            bits >= 128 || (min >= -(1i128 << (bits - 1)) && max < (1i128 << (bits - 1)))
        }
        _ => false,
    }
}

/// One checked field of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Field name, the key in a TI's `fields`.
    pub name: String,
    /// Value type and constraints.
    pub kind: FieldKind,
    /// Where the value goes.
    pub placement: Placement,
    /// Whether a TI must carry the field.
    pub required: bool,
}

/// Whether each TI of a template names a patient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// Every TI names the patient the record is about.
    Patient,
    /// TIs name no patient (for example a drug shipment's custody step).
    None,
}

/// The resolved contract call of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The target function.
    pub function: Function,
    /// Its 4-byte selector.
    pub selector: Selector,
    /// For each parameter, the index in [`Template::fields`] that supplies it.
    pub arguments: Vec<usize>,
    /// Each parameter's resolved ABI type (parsed once, at load time).
    pub types: Vec<DynSolType>,
    /// The byte offset in the calldata of each argument filled from
    /// [`SystemSource::RecordHash`]: a one-word `bytes32` in the head of the
    /// arguments, written once the record is sealed.
    pub record_hash_at: Arc<[usize]>,
}

/// A checked template with its content-derived id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    id: B256,
    doc: TemplateDoc,
    roles: Vec<crate::Role>,
    /// The on-chain id of each of `roles`, computed once.
    role_ids: Vec<B256>,
    subject: Subject,
    fields: Vec<Field>,
    /// Indices of the fields sorted by name (byte order): the order of TI
    /// field maps and of the sealed record's `fields` members.
    fields_by_name: Vec<usize>,
    call: Call,
}

impl Template {
    /// Parses and checks a template document.
    ///
    /// # Errors
    /// [`TemplateError`] naming the first problem found.
    pub fn from_json(json: &str) -> Result<Self, TemplateError> {
        if json.len() > MAX_TEMPLATE_JSON_LEN {
            return Err(TemplateError::TooLarge(json.len()));
        }
        let doc: TemplateDoc =
            serde_json::from_str(json).map_err(|e| TemplateError::Json(e.to_string()))?;
        Self::from_doc(doc)
    }

    /// Checks a template document.
    ///
    /// # Errors
    /// [`TemplateError`] naming the first problem found.
    pub fn from_doc(mut doc: TemplateDoc) -> Result<Self, TemplateError> {
        if doc.format != TEMPLATE_FORMAT {
            return Err(TemplateError::UnsupportedFormat(doc.format));
        }
        check_name(&doc.name)?;
        if doc.version == 0 {
            return Err(TemplateError::ZeroVersion);
        }
        if doc.title.trim().is_empty() {
            return Err(TemplateError::MissingTitle);
        }
        let roles = parse_roles(&mut doc.roles)?;
        let subject = match doc.subject.as_deref() {
            None | Some("patient") => Subject::Patient,
            Some("none") => Subject::None,
            Some(other) => return Err(TemplateError::UnknownSubject(other.to_owned())),
        };
        doc.subject = Some(
            if subject == Subject::Patient {
                "patient"
            } else {
                "none"
            }
            .into(),
        );
        let mut fields = Vec::with_capacity(doc.fields.len());
        for field_doc in &mut doc.fields {
            let field = parse_field(field_doc)?;
            if fields.iter().any(|f: &Field| f.name == field.name) {
                return Err(TemplateError::DuplicateField(field.name));
            }
            if subject == Subject::None
                && field.placement == Placement::System(SystemSource::PatientPseudonym)
            {
                return Err(TemplateError::PseudonymWithoutPatient(field.name));
            }
            fields.push(field);
        }
        let call = resolve_call(&mut doc.call, &fields)?;
        let declared = doc.id.take();
        let id = keccak256(canonical_json(&doc));
        if let Some(declared) = declared
            && declared.parse::<B256>().ok() != Some(id)
        {
            return Err(TemplateError::IdMismatch {
                declared,
                computed: id,
            });
        }
        let fields_by_name = sorted_by_name(&fields);
        let role_ids = roles.iter().map(crate::Role::id).collect();
        Ok(Self {
            id,
            doc,
            roles,
            role_ids,
            subject,
            fields,
            fields_by_name,
            call,
        })
    }

    /// The template id: `keccak256` of the canonical JSON form (see
    /// `docs/templates.md`). Also the id registered on chain.
    #[must_use]
    pub fn id(&self) -> B256 {
        self.id
    }

    /// The stable name shared by all versions.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.doc.name
    }

    /// The version number.
    #[must_use]
    pub fn version(&self) -> u32 {
        self.doc.version
    }

    /// The title shown to users.
    #[must_use]
    pub fn title(&self) -> &str {
        &self.doc.title
    }

    /// Roles allowed to submit this template, sorted.
    #[must_use]
    pub fn roles(&self) -> &[crate::Role] {
        &self.roles
    }

    /// Whether `role` may submit this template.
    #[must_use]
    pub fn allows(&self, role: &crate::Role) -> bool {
        self.roles.contains(role)
    }

    /// The on-chain id of `role` ([`Role::id`](crate::Role::id)), looked up
    /// among the template's roles, where it was computed once.
    pub(crate) fn role_id(&self, role: &crate::Role) -> B256 {
        self.roles
            .iter()
            .position(|r| r == role)
            .and_then(|i| self.role_ids.get(i).copied())
            .unwrap_or_else(|| role.id())
    }

    /// Whether TIs name a patient.
    #[must_use]
    pub fn subject(&self) -> Subject {
        self.subject
    }

    /// The checked fields, in document order.
    #[must_use]
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Indices into [`Template::fields`], sorted by field name (byte order,
    /// the order of a `BTreeMap` of the names).
    pub(crate) fn fields_by_name(&self) -> &[usize] {
        &self.fields_by_name
    }

    /// The resolved contract call.
    #[must_use]
    pub fn call(&self) -> &Call {
        &self.call
    }

    /// The normalised document (defaults filled in, without `id`).
    #[must_use]
    pub fn doc(&self) -> &TemplateDoc {
        &self.doc
    }

    /// The canonical JSON form whose `keccak256` is the id.
    #[must_use]
    pub fn canonical_json(&self) -> String {
        canonical_json(&self.doc)
    }

    /// The template as JSON with its `id`, which [`Template::from_json`] reads
    /// back to an equal template.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut doc = self.doc.clone();
        doc.id = Some(self.id.to_string());
        canonical_json(&doc)
    }
}

/// The indices of `fields`, sorted by field name (byte order).
fn sorted_by_name(fields: &[Field]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..fields.len()).collect();
    order.sort_by_key(|&i| fields.get(i).map(|f| f.name.as_str()));
    order
}

fn canonical_json(doc: &TemplateDoc) -> String {
    // Serialising plain structs of strings, numbers and vectors cannot fail.
    serde_json::to_string(doc).unwrap_or_default()
}

fn check_name(name: &str) -> Result<(), TemplateError> {
    let b = name.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= MAX_NAME_LEN
        && b.first().is_some_and(u8::is_ascii_lowercase)
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if ok {
        Ok(())
    } else {
        Err(TemplateError::InvalidName(name.to_owned()))
    }
}

fn parse_roles(names: &mut Vec<String>) -> Result<Vec<crate::Role>, TemplateError> {
    if names.is_empty() {
        return Err(TemplateError::NoRoles);
    }
    let mut roles = names
        .iter()
        .map(|n| crate::Role::new(n.as_str()).map_err(TemplateError::InvalidRole))
        .collect::<Result<Vec<_>, _>>()?;
    roles.sort();
    if let Some(pair) = roles.windows(2).find(|w| w.first() == w.get(1)) {
        let dup = pair.first().map(ToString::to_string).unwrap_or_default();
        return Err(TemplateError::DuplicateRole(dup));
    }
    *names = roles.iter().map(ToString::to_string).collect();
    Ok(roles)
}

fn check_field_name(name: &str) -> Result<(), TemplateError> {
    let b = name.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 64
        && b.first().is_some_and(u8::is_ascii_lowercase)
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_');
    if ok {
        Ok(())
    } else {
        Err(TemplateError::InvalidFieldName(name.to_owned()))
    }
}

/// The attributes a field document sets, by JSON name.
fn present_attributes(doc: &FieldDoc) -> impl Iterator<Item = &'static str> + '_ {
    [
        ("type", doc.kind.is_some()),
        ("source", doc.source.is_some()),
        ("label", doc.label.is_some()),
        ("hint", doc.hint.is_some()),
        ("unit", doc.unit.is_some()),
        ("concept", doc.concept.is_some()),
        ("min", doc.min.is_some()),
        ("max", doc.max.is_some()),
        ("scale", doc.scale.is_some()),
        ("max_length", doc.max_length.is_some()),
        ("values", doc.values.is_some()),
        ("code_system", doc.code_system.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
}

/// Attributes every user-facing (non-system) field may carry.
const COMMON_ATTRIBUTES: [&str; 4] = ["type", "label", "hint", "concept"];

fn parse_field(doc: &mut FieldDoc) -> Result<Field, TemplateError> {
    check_field_name(&doc.name)?;
    let name = doc.name.clone();
    let placement = match doc.placement.as_str() {
        "chain" => Placement::Chain,
        "sealed" => Placement::Sealed,
        "system" => {
            let source = doc
                .source
                .as_deref()
                .ok_or_else(|| TemplateError::MissingAttribute {
                    field: name.clone(),
                    attribute: "source",
                })?;
            let source =
                SystemSource::parse(source).ok_or_else(|| TemplateError::UnknownSource {
                    field: name.clone(),
                    given: source.to_owned(),
                })?;
            Placement::System(source)
        }
        other => {
            return Err(TemplateError::UnknownPlacement {
                field: name,
                placement: other.to_owned(),
            });
        }
    };
    let (kind, allowed): (FieldKind, &[&str]) = match placement {
        Placement::System(source) => (source.kind(), &["source", "label", "hint"]),
        _ => parse_kind(doc)?,
    };
    let is_system = matches!(placement, Placement::System(_));
    if let Some(attribute) = present_attributes(doc)
        .find(|a| !allowed.contains(a) && (is_system || !COMMON_ATTRIBUTES.contains(a)))
    {
        return Err(TemplateError::AttributeNotAllowed {
            field: name,
            attribute,
            kind: if is_system {
                "system"
            } else {
                kind.type_name()
            },
        });
    }
    let identifying = doc.identifying.unwrap_or(false);
    if is_system && (doc.required.is_some() || doc.identifying.is_some()) {
        let attribute = if doc.required.is_some() {
            "required"
        } else {
            "identifying"
        };
        return Err(TemplateError::AttributeNotAllowed {
            field: name,
            attribute,
            kind: "system",
        });
    }
    if placement == Placement::Chain {
        if identifying {
            return Err(TemplateError::IdentifyingOnChain(name));
        }
        if matches!(kind, FieldKind::Text { .. }) {
            return Err(TemplateError::FreeTextOnChain(name));
        }
        if doc.required != Some(true) {
            return Err(TemplateError::OptionalChainField(name));
        }
    }
    if !is_system {
        doc.required = Some(doc.required.unwrap_or(false));
        doc.identifying = Some(identifying);
    }
    Ok(Field {
        name,
        kind,
        placement,
        required: is_system || doc.required.unwrap_or(false),
    })
}

/// Parses the `type` of a user field and its constraints; returns the kind and
/// the type-specific attributes it allows.
fn parse_kind(doc: &mut FieldDoc) -> Result<(FieldKind, &'static [&'static str]), TemplateError> {
    let field = doc.name.clone();
    let missing = |attribute| TemplateError::MissingAttribute {
        field: field.clone(),
        attribute,
    };
    let invalid = |attribute, reason: String| TemplateError::InvalidAttribute {
        field: field.clone(),
        attribute,
        reason,
    };
    let type_name = doc.kind.clone().ok_or_else(|| missing("type"))?;
    Ok(match type_name.as_str() {
        "integer" => {
            let bound = |v: &Option<serde_json::Value>, attribute| {
                v.as_ref()
                    .ok_or_else(|| missing(attribute))?
                    .as_i64()
                    .ok_or_else(|| invalid(attribute, "must be a JSON integer".into()))
            };
            let (min, max) = (bound(&doc.min, "min")?, bound(&doc.max, "max")?);
            if min > max {
                return Err(invalid("min", format!("{min} is greater than max {max}")));
            }
            (FieldKind::Integer { min, max }, &["min", "max", "unit"])
        }
        "decimal" => {
            let scale = doc.scale.ok_or_else(|| missing("scale"))?;
            if scale > decimal::MAX_SCALE {
                return Err(invalid(
                    "scale",
                    format!("{scale} is above {}", decimal::MAX_SCALE),
                ));
            }
            let bound = |v: &mut Option<serde_json::Value>, attribute| {
                let text = v
                    .as_ref()
                    .ok_or_else(|| missing(attribute))?
                    .as_str()
                    .ok_or_else(|| {
                        invalid(
                            attribute,
                            "must be a decimal string such as \"36.5\"".into(),
                        )
                    })?;
                let d =
                    Decimal::parse(text, scale).map_err(|e| invalid(attribute, e.to_string()))?;
                *v = Some(serde_json::Value::String(d.to_string()));
                Ok::<_, TemplateError>(d.scaled())
            };
            let min = bound(&mut doc.min, "min")?;
            let max = bound(&mut doc.max, "max")?;
            if min > max {
                return Err(invalid("min", "is greater than max".into()));
            }
            (
                FieldKind::Decimal { scale, min, max },
                &["scale", "min", "max", "unit"],
            )
        }
        "bool" => (FieldKind::Bool, &[]),
        "text" => {
            let max_length = doc.max_length.ok_or_else(|| missing("max_length"))?;
            if max_length == 0 || max_length > MAX_TEXT_LEN {
                return Err(invalid(
                    "max_length",
                    format!("must be 1 to {MAX_TEXT_LEN}"),
                ));
            }
            (FieldKind::Text { max_length }, &["max_length"])
        }
        "enum" => {
            let values = doc.values.clone().ok_or_else(|| missing("values"))?;
            if values.is_empty() || values.iter().any(|v| v.is_empty()) {
                return Err(invalid(
                    "values",
                    "must be a non-empty list of non-empty strings".into(),
                ));
            }
            if let Some(dup) = values
                .iter()
                .enumerate()
                .find(|(i, v)| values.get(..*i).is_some_and(|b| b.contains(v)))
            {
                return Err(invalid("values", format!("{:?} appears twice", dup.1)));
            }
            (FieldKind::Enum { values }, &["values"])
        }
        "date-time" => (FieldKind::DateTime, &[]),
        "code" => {
            let max_length = doc.max_length.unwrap_or(DEFAULT_CODE_LEN);
            if max_length == 0 || max_length > MAX_CODE_LEN {
                return Err(invalid(
                    "max_length",
                    format!("must be 1 to {MAX_CODE_LEN}"),
                ));
            }
            doc.max_length = Some(max_length);
            let system = doc.code_system.clone();
            (
                FieldKind::Code { system, max_length },
                &["max_length", "code_system"],
            )
        }
        "bytes32" => (FieldKind::Bytes32, &[]),
        "address" => (FieldKind::Address, &[]),
        _ => return Err(TemplateError::UnknownType { field, type_name }),
    })
}

fn resolve_call(doc: &mut CallDoc, fields: &[Field]) -> Result<Call, TemplateError> {
    let function = Function::parse(&doc.function).map_err(|e| TemplateError::InvalidFunction {
        signature: doc.function.clone(),
        reason: e.to_string(),
    })?;
    if function.inputs.len() != doc.arguments.len() {
        return Err(TemplateError::ArgumentCount {
            function: function.signature(),
            parameters: function.inputs.len(),
            arguments: doc.arguments.len(),
        });
    }
    let mut arguments = Vec::with_capacity(doc.arguments.len());
    let mut types = Vec::with_capacity(doc.arguments.len());
    for (param, arg) in function.inputs.iter().zip(&doc.arguments) {
        let index = fields
            .iter()
            .position(|f| f.name == *arg)
            .ok_or_else(|| TemplateError::UnknownArgument(arg.clone()))?;
        let field = fields
            .get(index)
            .ok_or_else(|| TemplateError::UnknownArgument(arg.clone()))?;
        if field.placement == Placement::Sealed {
            return Err(TemplateError::SealedArgument(arg.clone()));
        }
        let ty = param
            .resolve()
            .map_err(|e| TemplateError::InvalidFunction {
                signature: doc.function.clone(),
                reason: e.to_string(),
            })?;
        if !field.kind.fits_abi(&ty) {
            return Err(TemplateError::ArgumentType {
                field: arg.clone(),
                kind: field.kind.type_name(),
                abi_type: ty.sol_type_name().into_owned(),
            });
        }
        arguments.push(index);
        types.push(ty);
    }
    if let Some(unused) = fields
        .iter()
        .enumerate()
        .find(|(i, f)| f.placement != Placement::Sealed && !arguments.contains(i))
    {
        return Err(TemplateError::UnusedChainField(unused.1.name.clone()));
    }
    doc.function = function.full_signature();
    let selector = function.selector();
    let record_hash_at = record_hash_offsets(fields, &arguments, &types);
    Ok(Call {
        function,
        selector,
        arguments,
        types,
        record_hash_at,
    })
}

/// Where the record hash goes in the calldata: the byte offset of each
/// argument filled from [`SystemSource::RecordHash`], after the selector and
/// the head words of the arguments before it (one for a dynamic type, its
/// static size otherwise).
fn record_hash_offsets(
    fields: &[Field],
    arguments: &[usize],
    types: &[DynSolType],
) -> Arc<[usize]> {
    let mut offsets = Vec::new();
    let mut at = Selector::len_bytes();
    for (&index, ty) in arguments.iter().zip(types) {
        if fields.get(index).map(|f| f.placement)
            == Some(Placement::System(SystemSource::RecordHash))
        {
            offsets.push(at);
        }
        let head_words = if ty.is_dynamic() {
            1
        } else {
            ty.minimum_words()
        };
        at += 32 * head_words;
    }
    offsets.into()
}

#[cfg(test)]
mod tests;
