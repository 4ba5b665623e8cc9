//! The record writer against `serde_json`, the reference it must match byte
//! for byte.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};

use super::*;
use crate::envelope::{EnvelopeBinding, UnsealedEnvelope};
use crate::keys::MasterKey;
use crate::{B256, Role};

/// The record as the generator serialised it with `serde_json` before the
/// direct writer: the reference.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordContent<'a> {
    format: &'static str,
    template_id: B256,
    template: &'a str,
    template_version: u32,
    ti_id: B256,
    author_id: &'a str,
    author_role: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    patient_id: Option<&'a str>,
    timestamp: u64,
    fields: BTreeMap<&'a str, Value>,
}

fn reference_record(
    template: &Template,
    ti: &InitialTransaction,
    values: &[Option<CheckedValue<'_>>],
) -> Vec<u8> {
    let fields = template
        .fields()
        .iter()
        .zip(values)
        .filter_map(|(field, value)| {
            Some((
                field.name.as_str(),
                value.as_ref()?.to_record_json(&field.kind),
            ))
        })
        .collect();
    let content = RecordContent {
        format: RECORD_FORMAT,
        template_id: template.id(),
        template: template.name(),
        template_version: template.version(),
        ti_id: ti.ti_id,
        author_id: &ti.author_id,
        author_role: ti.author_role.name(),
        patient_id: ti.patient_id.as_deref(),
        timestamp: ti.timestamp,
        fields,
    };
    serde_json::to_vec(&content).unwrap()
}

/// What `write` puts into an envelope's plaintext, read back by opening it.
/// The length hint is 0, so the buffer grows while the plaintext is written.
fn written(write: impl FnOnce(&mut PlaintextBuf<'_>)) -> Vec<u8> {
    let key = MasterKey::new([7; 32]);
    let binding = EnvelopeBinding::for_tests("k");
    let envelope = UnsealedEnvelope::new(binding, &key, [9; 12], 0, write)
        .unwrap()
        .seal()
        .unwrap();
    envelope.open_with(&key).unwrap().to_vec()
}

fn written_str(s: &str) -> String {
    String::from_utf8(written(|out| write_str(out, s))).unwrap()
}

#[test]
fn strings_are_escaped_like_serde_json() {
    for c in (0u32..0x100).chain([0x2028, 0x2029, 0xfeff, 0x1f9fa]) {
        let s: String = char::from_u32(c).into_iter().collect();
        assert_eq!(
            written_str(&s),
            serde_json::to_string(&s).unwrap(),
            "{c:#x}"
        );
    }
    for s in [
        "",
        "plain text, with / and ~ and \u{7f}",
        "Patientin nüchtern seit 22:00.\n\"Fasting\" sample\\tube 2",
        &"x".repeat(31),
        &format!("{}\"", "y".repeat(32)),
        &format!("{}\u{1}{}", "z".repeat(64), "ä".repeat(40)),
    ] {
        assert_eq!(written_str(s), serde_json::to_string(s).unwrap(), "{s:?}");
    }
}

proptest! {
    #[test]
    fn any_string_is_escaped_like_serde_json(s in any::<String>(), ascii in "[ -~\t\n\"\\\\]{0,200}") {
        prop_assert_eq!(written_str(&s), serde_json::to_string(&s).unwrap());
        prop_assert_eq!(written_str(&ascii), serde_json::to_string(&ascii).unwrap());
    }
}

/// A template with one field of every type, names out of order and chosen to
/// test the sort (`a`, `a_b`, `ab`, `b1`, ...), and chain and system fields.
fn every_type() -> Template {
    Template::from_json(
        &json!({
            "format": "ehrchain.template/1",
            "name": "every-type",
            "version": 7,
            "title": "Every type",
            "roles": ["doctor"],
            "call": {
                "function": "f(bytes32 s, bytes32 t, uint64 at, bytes32 c, uint8 e, int64 n)",
                "arguments": ["subject", "tid", "when", "code_on_chain", "level", "n"]
            },
            "fields": [
                {"name": "zz", "placement": "sealed", "type": "text", "maxLength": 1000},
                {"name": "ab", "placement": "sealed", "type": "integer",
                 "min": i64::MIN, "max": i64::MAX},
                {"name": "a_b", "placement": "sealed", "type": "decimal", "scale": 18,
                 "min": "-1000", "max": "1000"},
                {"name": "a", "placement": "sealed", "type": "decimal", "scale": 0,
                 "min": "-5", "max": "5"},
                {"name": "b1", "placement": "sealed", "type": "bool"},
                {"name": "b", "placement": "sealed", "type": "enum", "values": ["x", "y \"q\""]},
                {"name": "at", "placement": "sealed", "type": "date-time"},
                {"name": "code", "placement": "sealed", "type": "code", "maxLength": 40},
                {"name": "hash", "placement": "sealed", "type": "bytes32"},
                {"name": "who", "placement": "sealed", "type": "address"},
                {"name": "n", "placement": "chain", "type": "integer", "min": -3, "max": 3,
                 "required": true},
                {"name": "level", "placement": "chain", "type": "enum", "values": ["lo", "hi"],
                 "required": true},
                {"name": "code_on_chain", "placement": "chain", "type": "code", "required": true},
                {"name": "when", "placement": "chain", "type": "date-time", "required": true},
                {"name": "subject", "placement": "system", "source": "patient_pseudonym"},
                {"name": "tid", "placement": "system", "source": "template_id"}
            ]
        })
        .to_string(),
    )
    .unwrap()
}

fn ti(template: &Template, fields: Value) -> InitialTransaction {
    let mut all = json!({"n": -3, "level": "hi", "code_on_chain": "8480-6", "when": 0});
    all.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    InitialTransaction {
        ti_id: B256::repeat_byte(0xab),
        template_id: template.id(),
        author_id: "dr \"House\" \\ 4711".into(),
        author_role: Role::new("doctor").unwrap(),
        patient_id: Some("MRN-000123".into()),
        timestamp: u64::MAX,
        fields: serde_json::from_value(all).unwrap(),
    }
}

/// The record written directly and by the reference, for `ti`'s fields.
fn both(template: &Template, ti: &InitialTransaction) -> (String, String) {
    let mut violations = Vec::new();
    let values = template.check_values(&ti.fields, &mut violations);
    assert!(violations.is_empty(), "{violations:?}");
    let direct = written(|out| write_record(out, template, ti, &values));
    let reference = reference_record(template, ti, &values);
    (
        String::from_utf8(direct).unwrap(),
        String::from_utf8(reference).unwrap(),
    )
}

#[test]
fn records_match_serde_json() {
    let template = every_type();
    let full = json!({
        "zz": "Line 1\nLine 2\t\"quoted\" \\ back\u{1}slash, ünïcödé 🩺, </script>",
        "ab": i64::MIN,
        "a_b": "-999.000000000000000001",
        "a": 5,
        "b1": false,
        "b": "y \"q\"",
        "at": "2025-11-30T10:02:30.75+01:00",
        "code": "I10/\\\"",
        "hash": format!("0x{}", "cd".repeat(32)),
        "who": "0x52908400098527886E0F7030069857D2E4169EE7",
    });
    let mut ti = ti(&template, full);
    let (direct, reference) = both(&template, &ti);
    assert_eq!(direct, reference);
    assert!(direct.contains(r#""fields":{"a":"5","a_b":"-999.000000000000000001","ab":"#));

    ti.patient_id = None;
    ti.fields
        .retain(|name, _| ["n", "level", "code_on_chain", "when"].contains(&name.as_str()));
    ti.fields.insert("ab".into(), json!(i64::MAX));
    ti.fields.insert("at".into(), json!(253_402_300_799_i64));
    ti.fields.insert("b1".into(), Value::Null);
    let (direct, reference) = both(&template, &ti);
    assert_eq!(direct, reference);

    ti.fields.insert("at".into(), json!(-62_167_219_200_i64));
    ti.fields.insert("zz".into(), json!(""));
    let (direct, reference) = both(&template, &ti);
    assert_eq!(direct, reference);
}

proptest! {
    #[test]
    fn any_values_match_serde_json(
        text in any::<String>(),
        int in any::<i64>(),
        small in -5i64..=5,
        flag in any::<bool>(),
        at in -62_167_219_200_i64..=253_402_300_799,
        author in "[^\u{0}-\u{1f}\u{7f}-\u{9f}]{1,40}",
        timestamp in any::<u64>(),
    ) {
        let template = every_type();
        let text: String = text.chars().take(1000).collect();
        let mut ti = ti(&template, json!({
            "zz": text, "ab": int, "a": small, "a_b": small, "b1": flag, "at": at
        }));
        ti.author_id = author;
        ti.timestamp = timestamp;
        let (direct, reference) = both(&template, &ti);
        prop_assert_eq!(direct, reference);
    }
}

#[test]
fn the_word_test_finds_every_byte_that_needs_escaping() {
    for b in 0..=u8::MAX {
        for len in [1, 8, 33, 40] {
            for at in 0..len {
                let mut bytes = vec![b'a'; len];
                bytes[at] = b;
                assert_eq!(
                    is_plain(&bytes),
                    !needs_escape(b),
                    "byte {b:#04x} at {at} of {len}"
                );
            }
        }
    }
    // Bytes next to the ones that need escaping, in every lane at once.
    for b in [0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xff] {
        assert_eq!(is_plain(&[b; 64]), !needs_escape(b), "{b:#04x}");
    }
}
