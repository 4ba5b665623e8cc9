//! A template's fields: where each value goes ([`Placement`], [`SystemSource`]),
//! its type and constraints ([`FieldKind`]), which ABI types it fits, and how
//! a field document is checked.

use alloy_dyn_abi::DynSolType;

use super::decimal::{self, Decimal};
use super::{DEFAULT_CODE_LEN, FieldDoc, MAX_CODE_LEN, MAX_TEXT_LEN, TemplateError};

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

    pub(super) fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, v)| *v)
    }

    /// The value type the source produces.
    pub(super) fn kind(self) -> FieldKind {
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
    pub(super) fn fits_abi(&self, ty: &DynSolType) -> bool {
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

fn check_field_name(name: &str) -> Result<(), TemplateError> {
    if crate::role::is_lower_name(name, 64, b'_') {
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
        ("maxLength", doc.max_length.is_some()),
        ("values", doc.values.is_some()),
        ("codeSystem", doc.code_system.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
}

/// Attributes every user-facing (non-system) field may carry.
const COMMON_ATTRIBUTES: [&str; 4] = ["type", "label", "hint", "concept"];

pub(super) fn parse_field(doc: &mut FieldDoc) -> Result<Field, TemplateError> {
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
            let max_length = doc.max_length.ok_or_else(|| missing("maxLength"))?;
            if max_length == 0 || max_length > MAX_TEXT_LEN {
                return Err(invalid("maxLength", format!("must be 1 to {MAX_TEXT_LEN}")));
            }
            (FieldKind::Text { max_length }, &["maxLength"])
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
                return Err(invalid("maxLength", format!("must be 1 to {MAX_CODE_LEN}")));
            }
            doc.max_length = Some(max_length);
            let system = doc.code_system.clone();
            (
                FieldKind::Code { system, max_length },
                &["maxLength", "codeSystem"],
            )
        }
        "bytes32" => (FieldKind::Bytes32, &[]),
        "address" => (FieldKind::Address, &[]),
        _ => return Err(TemplateError::UnknownType { field, type_name }),
    })
}
