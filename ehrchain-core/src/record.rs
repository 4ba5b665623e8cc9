//! The sealed record's plaintext, format `ehrchain.record/1` (`docs/envelope.md`),
//! written as JSON straight into the envelope being sealed.
//!
//! The bytes are exactly those `serde_json` writes for the record: compact,
//! members in the documented order, `fields` sorted by name, strings escaped as
//! `serde_json` escapes them. The tests check this against `serde_json` itself.

use alloy_primitives::B256;

use crate::envelope::PlaintextBuf;
use crate::generator::RECORD_FORMAT;
use crate::template::{CheckedValue, Template};
use crate::ti::InitialTransaction;

/// Record bytes besides the TI's identifiers and the field values: member
/// names, ids, numbers and punctuation (about 300 bytes), rounded up.
const RECORD_OVERHEAD: usize = 384;
/// Room for a field's name, punctuation and any value other than text.
const FIELD_OVERHEAD: usize = 128;

/// Writes the record of `ti` with its checked `values` (one slot per template
/// field, as [`Template::check_values`] returns them).
pub(crate) fn write_record(
    out: &mut PlaintextBuf<'_>,
    template: &Template,
    ti: &InitialTransaction,
    values: &[Option<CheckedValue<'_>>],
) {
    out.extend_from_slice(b"{\"format\":");
    write_str(out, RECORD_FORMAT);
    out.extend_from_slice(b",\"templateId\":");
    write_b256(out, &template.id());
    out.extend_from_slice(b",\"template\":");
    write_str(out, template.name());
    out.extend_from_slice(b",\"templateVersion\":");
    write_int(out, template.version());
    out.extend_from_slice(b",\"tiId\":");
    write_b256(out, &ti.ti_id);
    out.extend_from_slice(b",\"authorId\":");
    write_str(out, &ti.author_id);
    out.extend_from_slice(b",\"authorRole\":");
    write_str(out, ti.author_role.name());
    if let Some(patient_id) = &ti.patient_id {
        out.extend_from_slice(b",\"patientId\":");
        write_str(out, patient_id);
    }
    out.extend_from_slice(b",\"timestamp\":");
    write_int(out, ti.timestamp);
    out.extend_from_slice(b",\"fields\":{");
    write_fields(out, template, values);
    out.extend_from_slice(b"}}");
}

/// The `fields` members: every field with a value, sorted by name (`system`
/// fields never have one).
fn write_fields(
    out: &mut PlaintextBuf<'_>,
    template: &Template,
    values: &[Option<CheckedValue<'_>>],
) {
    let mut separator: &[u8] = b"";
    for &index in template.fields_by_name() {
        let (Some(field), Some(Some(value))) = (template.fields().get(index), values.get(index))
        else {
            continue;
        };
        out.extend_from_slice(separator);
        separator = b",";
        write_str(out, &field.name);
        out.push(b':');
        value.write_record_json(&field.kind, out);
    }
}

/// About how many bytes [`write_record`] writes, so that the envelope's
/// buffer is allocated once.
pub(crate) fn record_len_hint(
    ti: &InitialTransaction,
    values: &[Option<CheckedValue<'_>>],
) -> usize {
    let ids = ti.author_id.len() + ti.patient_id.as_ref().map_or(0, String::len);
    values
        .iter()
        .flatten()
        .map(|value| FIELD_OVERHEAD + value.text().map_or(0, str::len))
        .fold(RECORD_OVERHEAD + ids, usize::saturating_add)
}

/// Writes `s` as a JSON string, escaped exactly as `serde_json` escapes it:
/// `"` and `\` with a backslash; U+0008, U+0009, U+000A, U+000C and U+000D as
/// `\b \t \n \f \r`; the other characters below U+0020 as `\u00xx` (lower-case
/// hex); everything else (including `/`, U+007F and non-ASCII) unchanged.
pub(crate) fn write_str(out: &mut PlaintextBuf<'_>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    if is_plain(s.as_bytes()) {
        out.extend_from_slice(s.as_bytes());
    } else {
        write_escaped(out, s.as_bytes());
    }
    out.push(b'"');
}

/// Whether no byte of `bytes` needs escaping in a JSON string. Tests eight
/// bytes per step in a `u64` ([`escapes`]), four words without a branch,
/// which keeps it fast in WebAssembly (no vector instructions there) and
/// lets the compiler vectorise it elsewhere.
fn is_plain(bytes: &[u8]) -> bool {
    let (words, rest) = bytes.as_chunks::<8>();
    words.chunks(4).all(|group| {
        group
            .iter()
            .fold(0, |found, word| found | escapes(u64::from_ne_bytes(*word)))
            == 0
    }) && rest.iter().all(|&b| !needs_escape(b))
}

/// Non-zero when a byte of `word` [`needs_escape`]: the "has a byte less
/// than n" and "has a zero byte" word tests of *Bit Twiddling Hacks* (exact
/// for whether such a byte exists, which is all this asks).
fn escapes(word: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH_BITS: u64 = ONES * 0x80;
    let has_zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH_BITS;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH_BITS;
    below_space
        | has_zero_byte(word ^ (ONES * u64::from(b'"')))
        | has_zero_byte(word ^ (ONES * u64::from(b'\\')))
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Writes `bytes` (UTF-8) with the escapes of [`write_str`]. Every byte that
/// needs escaping is ASCII, so no multi-byte character is ever split.
fn write_escaped(out: &mut PlaintextBuf<'_>, bytes: &[u8]) {
    let mut unescaped_from = 0;
    for (at, &b) in bytes.iter().enumerate() {
        if needs_escape(b) {
            out.extend_from_slice(bytes.get(unescaped_from..at).unwrap_or_default());
            write_escape(out, b);
            unescaped_from = at + 1;
        }
    }
    out.extend_from_slice(bytes.get(unescaped_from..).unwrap_or_default());
}

/// Writes the escape sequence of a byte that [`needs_escape`].
fn write_escape(out: &mut PlaintextBuf<'_>, b: u8) {
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x09 => b't',
        0x0a => b'n',
        0x0c => b'f',
        0x0d => b'r',
        _ => {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex(b >> 4), hex(b & 0xf)]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

/// The lower-case hex digit of a nibble.
fn hex(nibble: u8) -> u8 {
    if nibble < 10 {
        b'0' + nibble
    } else {
        b'a' + nibble - 10
    }
}

/// Writes an integer in plain decimal.
pub(crate) fn write_int(out: &mut PlaintextBuf<'_>, value: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Writes 32 bytes as a JSON string of `"0x"` and 64 lower-case hex digits.
pub(crate) fn write_b256(out: &mut PlaintextBuf<'_>, value: &B256) {
    out.push(b'"');
    let mut hex = alloy_primitives::hex::Buffer::<32, true>::new();
    out.extend_from_slice(hex.format(&value.0).as_bytes());
    out.push(b'"');
}

#[cfg(test)]
mod tests;
