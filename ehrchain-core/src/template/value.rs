//! Checking a TI's field values against a template's fields.

use std::borrow::Cow;
use std::collections::BTreeMap;

use alloy_dyn_abi::{DynSolType, DynSolValue};
use alloy_primitives::{Address, B256, I256, U256};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::decimal::{Decimal, DecimalError};
use super::{Field, FieldKind, Placement, Template};
use crate::envelope::PlaintextBuf;
use crate::record::{write_b256, write_int, write_str};
use crate::violation::{Violation, ViolationKind};

/// 0000-01-01T00:00:00Z in Unix seconds: the earliest RFC 3339 date-time.
const MIN_RFC3339_SECS: i64 = -62_167_219_200;
/// 9999-12-31T23:59:59Z in Unix seconds: the latest RFC 3339 date-time.
const MAX_RFC3339_SECS: i64 = 253_402_300_799;

/// A field value that passed its checks, in its typed form; text is borrowed
/// from the TI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CheckedValue<'a> {
    /// `integer`, or `decimal` in units of `10^-scale`.
    Int(i128),
    /// `bool`.
    Bool(bool),
    /// `text` or `code`.
    Text(&'a str),
    /// `enum`, as the index of the value.
    Enum(usize),
    /// `date-time`, in Unix seconds.
    Time(i64),
    /// `bytes32`.
    Bytes32(B256),
    /// `address`.
    Address(Address),
}

impl Template {
    /// Checks every field of `values`, appending a violation for each problem.
    /// Returns one slot per template field (`None` for absent or invalid values
    /// and for system fields).
    pub(crate) fn check_values<'v>(
        &self,
        values: &'v BTreeMap<String, Value>,
        violations: &mut Vec<Violation>,
    ) -> Vec<Option<CheckedValue<'v>>> {
        let given = self.given_values(values, violations);
        self.fields
            .iter()
            .zip(given)
            .map(|(field, value)| match (value, field.placement) {
                (Some(_), Placement::System(_)) => {
                    violations.push(field_violation(&field.name, ViolationKind::SystemField));
                    None
                }
                (None, Placement::System(_)) => None,
                (None, _) => {
                    if field.required {
                        violations.push(field_violation(&field.name, ViolationKind::MissingField));
                    }
                    None
                }
                (Some(value), _) => match check_value(field, value) {
                    Ok(checked) => Some(checked),
                    Err(kind) => {
                        violations.push(field_violation(&field.name, kind));
                        None
                    }
                },
            })
            .collect()
    }

    /// The non-null value `values` gives each field, by field index. Walks the
    /// TI's names and the template's field names side by side (both sorted)
    /// and reports the names no field has, in name order.
    fn given_values<'v>(
        &self,
        values: &'v BTreeMap<String, Value>,
        violations: &mut Vec<Violation>,
    ) -> Vec<Option<&'v Value>> {
        // Not `vec![None; n]`: that asks for zeroed memory (calloc), which
        // glibc (2.36) serves bypassing its per-thread cache, so freeing such
        // buffers overflows the cache into fastbins and the next large
        // allocation (the envelope) pays a consolidation, once per TI.
        let mut given = Vec::with_capacity(self.fields.len());
        given.resize(self.fields.len(), None);
        let mut fields = self
            .fields_by_name()
            .iter()
            .filter_map(|&i| Some((i, self.fields.get(i)?.name.as_str())))
            .peekable();
        for (name, value) in values {
            while fields
                .next_if(|&(_, field)| field < name.as_str())
                .is_some()
            {}
            match fields.next_if(|&(_, field)| field == name) {
                Some((i, _)) => {
                    if let Some(slot) = given.get_mut(i) {
                        *slot = Some(value).filter(|v| !v.is_null());
                    }
                }
                None => violations.push(field_violation(name, ViolationKind::UnknownField)),
            }
        }
        given
    }
}

fn field_violation(field: &str, kind: ViolationKind) -> Violation {
    Violation {
        field: Some(field.to_owned()),
        kind,
    }
}

fn wrong_type(expected: impl Into<String>) -> ViolationKind {
    ViolationKind::WrongType {
        expected: expected.into(),
    }
}

fn check_value<'v>(field: &Field, value: &'v Value) -> Result<CheckedValue<'v>, ViolationKind> {
    match &field.kind {
        FieldKind::Integer { min, max } => {
            let v = match value {
                Value::Number(n) => n
                    .as_i64()
                    .map(i128::from)
                    .or_else(|| n.as_u64().map(i128::from)),
                _ => None,
            };
            let v = v.ok_or_else(|| wrong_type("a whole number"))?;
            in_range(v, i128::from(*min), i128::from(*max), |x| x.to_string())
        }
        FieldKind::Decimal { scale, min, max } => {
            let text = match value {
                Value::String(s) => Cow::Borrowed(s.as_str()),
                Value::Number(n) => Cow::Owned(exact_number_text(n)?),
                _ => return Err(wrong_type("a decimal number")),
            };
            let d = Decimal::parse(&text, *scale).map_err(|e| match e {
                DecimalError::TooPrecise(scale) => ViolationKind::TooPrecise { scale },
                DecimalError::Syntax | DecimalError::Overflow => {
                    wrong_type("a decimal number such as \"36.5\"")
                }
            })?;
            let show = |x: i128| Decimal::from_scaled(x, *scale).to_string();
            in_range(d.scaled(), *min, *max, show)
        }
        FieldKind::Bool => value
            .as_bool()
            .map(CheckedValue::Bool)
            .ok_or_else(|| wrong_type("true or false")),
        FieldKind::Text { max_length } => {
            let s = value.as_str().ok_or_else(|| wrong_type("text"))?;
            check_length(s, *max_length)?;
            Ok(CheckedValue::Text(s))
        }
        FieldKind::Enum { values } => {
            let s = value
                .as_str()
                .ok_or_else(|| wrong_type("one of the listed values, as text"))?;
            values
                .iter()
                .position(|v| v == s)
                .map(CheckedValue::Enum)
                .ok_or_else(|| ViolationKind::UnknownEnumValue {
                    value: s.to_owned(),
                    allowed: values.clone(),
                })
        }
        FieldKind::DateTime => {
            let secs = match value {
                Value::String(s) => OffsetDateTime::parse(s, &Rfc3339)
                    .map(OffsetDateTime::unix_timestamp)
                    .map_err(|_| {
                        wrong_type("an RFC 3339 date-time such as \"2026-11-30T09:15:00Z\"")
                    })?,
                Value::Number(n) => n.as_i64().ok_or_else(|| wrong_type("Unix seconds"))?,
                _ => return Err(wrong_type("an RFC 3339 date-time or Unix seconds")),
            };
            // On chain: Unix seconds in a uint; in the record: RFC 3339, years 0000-9999.
            let min = if field.placement == Placement::Chain {
                0
            } else {
                MIN_RFC3339_SECS
            };
            if !(min..=MAX_RFC3339_SECS).contains(&secs) {
                return Err(ViolationKind::OutOfRange {
                    value: secs.to_string(),
                    min: min.to_string(),
                    max: MAX_RFC3339_SECS.to_string(),
                });
            }
            Ok(CheckedValue::Time(secs))
        }
        FieldKind::Code { max_length, .. } => {
            let s = value
                .as_str()
                .ok_or_else(|| wrong_type("a code, as text"))?;
            if s.is_empty() || !s.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
                return Err(wrong_type(
                    "a code of printable ASCII characters without spaces",
                ));
            }
            check_length(s, *max_length)?;
            Ok(CheckedValue::Text(s))
        }
        FieldKind::Bytes32 => value
            .as_str()
            .and_then(|s| s.strip_prefix("0x"))
            .filter(|h| h.len() == 64)
            .and_then(|h| h.parse::<B256>().ok())
            .map(CheckedValue::Bytes32)
            .ok_or_else(|| wrong_type("32 bytes as \"0x\" and 64 hex digits")),
        FieldKind::Address => value
            .as_str()
            .and_then(|s| {
                Address::parse_checksummed(s, None)
                    .ok()
                    .or_else(|| lower_or_upper(s))
            })
            .map(CheckedValue::Address)
            .ok_or_else(|| {
                wrong_type(
                    "an Ethereum address (\"0x\" and 40 hex digits, EIP-55 checksum if mixed case)",
                )
            }),
    }
}

/// Significant digits an IEEE double keeps for sure.
const DOUBLE_EXACT_DIGITS: usize = 15;

/// The text of a JSON number given for a decimal field. JSON numbers arrive
/// as IEEE doubles; one whose shortest form has more than 15 significant
/// digits may already have lost digits, so it is refused rather than altered.
fn exact_number_text(n: &serde_json::Number) -> Result<String, ViolationKind> {
    let text = n.to_string();
    let significant = text
        .trim_start_matches(['-', '0', '.'])
        .bytes()
        .filter(u8::is_ascii_digit)
        .count();
    if n.is_f64() && significant > DOUBLE_EXACT_DIGITS {
        return Err(wrong_type(
            "a decimal with more than 15 significant digits, given as a string",
        ));
    }
    Ok(text)
}

/// An all-lower or all-upper case address (no checksum to verify).
fn lower_or_upper(s: &str) -> Option<Address> {
    let hex = s.strip_prefix("0x")?;
    let uniform = hex == hex.to_ascii_lowercase() || hex == hex.to_ascii_uppercase();
    (uniform && hex.len() == 40)
        .then(|| hex.parse().ok())
        .flatten()
}

fn in_range(
    v: i128,
    min: i128,
    max: i128,
    show: impl Fn(i128) -> String,
) -> Result<CheckedValue<'static>, ViolationKind> {
    if (min..=max).contains(&v) {
        Ok(CheckedValue::Int(v))
    } else {
        Err(ViolationKind::OutOfRange {
            value: show(v),
            min: show(min),
            max: show(max),
        })
    }
}

fn check_length(s: &str, max: u32) -> Result<(), ViolationKind> {
    // Byte length bounds the character count, so short strings skip counting.
    if s.len() <= max as usize {
        return Ok(());
    }
    let length = s.chars().count();
    if length > max as usize {
        Err(ViolationKind::TooLong { length, max })
    } else {
        Ok(())
    }
}

impl CheckedValue<'_> {
    /// Writes the value as it is stored in the sealed record
    /// (`docs/envelope.md`), as JSON.
    pub(crate) fn write_record_json(&self, kind: &FieldKind, out: &mut PlaintextBuf<'_>) {
        match (self, kind) {
            (Self::Int(v), FieldKind::Decimal { scale, .. }) => {
                write_str(out, &Decimal::from_scaled(*v, *scale).to_string());
            }
            (Self::Int(v), _) => match i64::try_from(*v) {
                Ok(v) => write_int(out, v),
                Err(_) => out.extend_from_slice(b"null"),
            },
            (Self::Bool(b), _) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            (Self::Text(s), _) => write_str(out, s),
            (Self::Enum(i), FieldKind::Enum { values }) => match values.get(*i) {
                Some(v) => write_str(out, v),
                None => out.extend_from_slice(b"null"),
            },
            (Self::Enum(_), _) => out.extend_from_slice(b"null"),
            (Self::Time(t), _) => match rfc3339(*t) {
                Some(text) => write_str(out, &text),
                None => write_int(out, *t),
            },
            (Self::Bytes32(b), _) => write_b256(out, b),
            (Self::Address(a), _) => write_str(out, a.to_checksum_buffer(None).as_str()),
        }
    }

    /// The text of a `text` or `code` value.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The value as `serde_json` stored it in the sealed record before
    /// [`CheckedValue::write_record_json`]; the tests' reference.
    #[cfg(test)]
    pub(crate) fn to_record_json(&self, kind: &FieldKind) -> Value {
        match (self, kind) {
            (Self::Int(v), FieldKind::Decimal { scale, .. }) => {
                Value::String(Decimal::from_scaled(*v, *scale).to_string())
            }
            (Self::Int(v), _) => i64::try_from(*v).map_or(Value::Null, Value::from),
            (Self::Bool(b), _) => Value::Bool(*b),
            (Self::Text(s), _) => Value::String((*s).to_owned()),
            (Self::Enum(i), FieldKind::Enum { values }) => values
                .get(*i)
                .map_or(Value::Null, |v| Value::String(v.clone())),
            (Self::Enum(_), _) => Value::Null,
            (Self::Time(t), _) => rfc3339(*t).map_or_else(|| Value::from(*t), Value::String),
            (Self::Bytes32(b), _) => Value::String(b.to_string()),
            (Self::Address(a), _) => Value::String(a.to_checksum(None)),
        }
    }

    /// The value as the call argument of ABI type `ty`. The template loader
    /// has checked that the field's kind fits `ty`, and the value checks that
    /// the value is within the kind's bounds, so every pairing here is valid.
    pub(crate) fn to_abi(&self, ty: &DynSolType) -> DynSolValue {
        let int = |v: i128| match *ty {
            DynSolType::Int(bits) => {
                DynSolValue::Int(I256::try_from(v).unwrap_or(I256::ZERO), bits)
            }
            DynSolType::Uint(bits) => {
                DynSolValue::Uint(U256::try_from(v).unwrap_or(U256::ZERO), bits)
            }
            _ => DynSolValue::Uint(U256::ZERO, 256),
        };
        match self {
            Self::Int(v) => int(*v),
            Self::Enum(i) => int(i128::try_from(*i).unwrap_or(0)),
            Self::Time(t) => int(i128::from(*t)),
            Self::Bool(b) => DynSolValue::Bool(*b),
            Self::Text(s) if *ty == DynSolType::String => DynSolValue::String((*s).to_owned()),
            Self::Text(s) => DynSolValue::FixedBytes(left_aligned(s.as_bytes()), 32),
            Self::Bytes32(b) => DynSolValue::FixedBytes(*b, 32),
            Self::Address(a) => DynSolValue::Address(*a),
        }
    }

    /// The value as one ABI word, for a parameter of a static 32-byte type
    /// (`intN`, `uintN`, `bool`, `address`, `bytes32`): what
    /// [`CheckedValue::to_abi`] encodes to for the parameter's type, since the
    /// loader has checked that kind and type fit (integers in range, codes as
    /// `bytes32`).
    pub(crate) fn to_abi_word(&self) -> B256 {
        match self {
            Self::Int(v) => int_word(*v),
            Self::Enum(i) => int_word(i128::try_from(*i).unwrap_or(0)),
            Self::Time(t) => int_word(i128::from(*t)),
            Self::Bool(b) => B256::with_last_byte(u8::from(*b)),
            Self::Text(s) => left_aligned(s.as_bytes()),
            Self::Bytes32(b) => *b,
            Self::Address(a) => a.into_word(),
        }
    }
}

/// Unix seconds as RFC 3339 in UTC with whole seconds, if the year is 0000-9999.
fn rfc3339(secs: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|dt| dt.format(&Rfc3339).ok())
}

/// `v` as a 256-bit two's complement big-endian word: the ABI encoding of
/// every `intN` and `uintN` value in range.
fn int_word(v: i128) -> B256 {
    let mut word = if v < 0 {
        B256::repeat_byte(0xff)
    } else {
        B256::ZERO
    };
    if let Some(low) = word.last_chunk_mut::<16>() {
        *low = v.to_be_bytes();
    }
    word
}

/// ASCII text left-aligned in a zero-padded `bytes32`, like Solidity's
/// `bytes32("8480-6")`.
pub(crate) fn left_aligned(bytes: &[u8]) -> B256 {
    let mut out = B256::ZERO;
    let n = bytes.len().min(32);
    if let (Some(dst), Some(src)) = (out.get_mut(..n), bytes.get(..n)) {
        dst.copy_from_slice(src);
    }
    out
}
