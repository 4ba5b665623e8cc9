//! The word-by-word calldata encoding against dyn-abi's.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use alloy_dyn_abi::DynSolType;

use super::*;
use crate::Role;
use crate::template::{BUILT_IN_TEMPLATES, FieldKind};

/// A code that fills a `bytes32`.
const LONGEST_CODE: &str = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";

/// A value of `kind` at the low or the high end of what it allows.
fn sample(kind: &FieldKind, high: bool) -> CheckedValue<'static> {
    match kind {
        FieldKind::Integer { min, max } => {
            CheckedValue::Int(i128::from(if high { *max } else { *min }))
        }
        FieldKind::Decimal { min, max, .. } => CheckedValue::Int(if high { *max } else { *min }),
        FieldKind::Bool => CheckedValue::Bool(high),
        FieldKind::Text { .. } => CheckedValue::Text("never on chain"),
        FieldKind::Enum { values } => CheckedValue::Enum(if high { values.len() - 1 } else { 0 }),
        FieldKind::DateTime => CheckedValue::Time(if high { 253_402_300_799 } else { 0 }),
        FieldKind::Code { max_length, .. } => {
            let len = if high { (*max_length).min(32) } else { 1 };
            CheckedValue::Text(&LONGEST_CODE[..len as usize])
        }
        FieldKind::Bytes32 => CheckedValue::Bytes32(B256::repeat_byte(if high { 0xff } else { 0 })),
        FieldKind::Address => {
            CheckedValue::Address(Address::repeat_byte(if high { 0xff } else { 0x01 }))
        }
    }
}

fn ti(high: bool) -> InitialTransaction {
    InitialTransaction {
        ti_id: B256::repeat_byte(0x7e),
        template_id: B256::ZERO,
        author_id: "a".into(),
        author_role: Role::new("doctor").unwrap(),
        patient_id: None,
        timestamp: if high { u64::MAX } else { 0 },
        fields: BTreeMap::new(),
    }
}

/// The calldata of `template`'s call by [`encode_call`], by [`encode_words`]
/// (only for calls of words) and by [`encode_dyn`], with sample values.
fn encodings(template: &Template, high: bool) -> (Vec<u8>, Option<Vec<u8>>, Vec<u8>) {
    let values: Vec<Option<CheckedValue<'_>>> = template
        .fields()
        .iter()
        .map(|f| (f.placement == Placement::Chain).then(|| sample(&f.kind, high)))
        .collect();
    let ti = ti(high);
    let byte = if high { 0xf0 } else { 0x0f };
    let system = SystemValues {
        ti: &ti,
        patient: B256::repeat_byte(byte),
        template_id: template.id(),
        role_id: Role::new("doctor").unwrap().id(),
    };
    let call = template.call();
    let args = || call_arguments(template, &values, &system);
    let words = call
        .types
        .iter()
        .all(is_word)
        .then(|| encode_words(call.selector, call.types.len(), args()));
    (
        encode_call(template, &values, &system),
        words,
        encode_dyn(call.selector, args()),
    )
}

/// Every built-in template, plus one calling a function with every kind of
/// word parameter (negative and narrow integers, bool, address, bytes32).
fn word_templates() -> Vec<Template> {
    let mut templates: Vec<Template> = BUILT_IN_TEMPLATES
        .iter()
        .map(|(_, json)| Template::from_json(json).unwrap())
        .collect();
    templates.push(typed_call("bytes32 code"));
    templates
}

/// A template whose call takes every chain type; `code` is the declaration
/// of the `code` parameter (`bytes32 code` or `string code`).
fn typed_call(code: &str) -> Template {
    let json = r#"{
      "format": "ehrchain.template/1", "name": "typed-call", "version": 1, "title": "Typed call",
      "roles": ["device"], "subject": "none",
      "call": {"function": "record(int16 delta, uint32 reading, uint8 level, uint64 at, bool flag, CODE, address who, bytes32 tag, int256 big, bytes32 role, bytes32 hash, uint64 now)",
               "arguments": ["delta", "reading", "level", "at", "flag", "code", "who", "tag", "big", "role", "hash", "now"]},
      "fields": [
        {"name": "delta", "placement": "chain", "type": "integer", "min": -300, "max": 300, "required": true},
        {"name": "reading", "placement": "chain", "type": "decimal", "scale": 2, "min": "0", "max": "1000", "required": true},
        {"name": "level", "placement": "chain", "type": "enum", "values": ["low", "high"], "required": true},
        {"name": "at", "placement": "chain", "type": "date-time", "required": true},
        {"name": "flag", "placement": "chain", "type": "bool", "required": true},
        {"name": "code", "placement": "chain", "type": "code", "required": true},
        {"name": "who", "placement": "chain", "type": "address", "required": true},
        {"name": "tag", "placement": "chain", "type": "bytes32", "required": true},
        {"name": "big", "placement": "chain", "type": "decimal", "scale": 18, "min": "-1000000000000000000", "max": "1000000000000000000", "required": true},
        {"name": "note", "placement": "sealed", "type": "text", "maxLength": 100},
        {"name": "role", "placement": "system", "source": "author_role"},
        {"name": "hash", "placement": "system", "source": "record_hash"},
        {"name": "now", "placement": "system", "source": "timestamp"}
      ]
    }"#;
    Template::from_json(&json.replace("CODE", code)).unwrap()
}

#[test]
fn word_encoding_matches_dyn_abi() {
    for template in word_templates() {
        for high in [false, true] {
            let (call, words, dyn_abi) = encodings(&template, high);
            let name = template.name();
            let words = words.unwrap_or_else(|| panic!("{name}: a call of words"));
            assert_eq!(words, dyn_abi, "{name}, high = {high}");
            assert_eq!(call, words, "{name}, high = {high}");
        }
    }
}

#[test]
fn calls_with_dynamic_parameters_use_dyn_abi() {
    let template = typed_call("string code");
    for high in [false, true] {
        let (call, words, dyn_abi) = encodings(&template, high);
        assert_eq!(words, None);
        assert_eq!(call, dyn_abi);
        let params: Vec<DynSolType> = template.call().types.clone();
        let decoded = DynSolType::Tuple(params)
            .abi_decode_params(&call[4..])
            .unwrap();
        let DynSolValue::Tuple(args) = decoded else {
            panic!("not a tuple")
        };
        let code = if high { "C".repeat(32) } else { "C".into() };
        assert_eq!(args[5], DynSolValue::String(code));
    }
}

#[test]
fn record_hash_words_are_found_behind_dynamic_arguments() {
    let hash = B256::repeat_byte(0x5e);
    for template in [typed_call("bytes32 code"), typed_call("string code")] {
        let (call, _, _) = encodings(&template, true);
        let offsets = template.call().record_hash_at.clone();
        assert_eq!(offsets.len(), 1);
        assert_eq!(call[offsets[0]..offsets[0] + 32], [0; 32]);
        let patched = with_record_hash(call, &offsets, hash);
        let decoded = DynSolType::Tuple(template.call().types.clone())
            .abi_decode_params(&patched[4..])
            .unwrap();
        let DynSolValue::Tuple(args) = decoded else {
            panic!("not a tuple")
        };
        // `hash` is the 11th of the 12 arguments.
        assert_eq!(args[10], DynSolValue::FixedBytes(hash, 32));
    }
}

proptest::proptest! {
    #[test]
    fn integer_words_match_dyn_abi(v in proptest::prelude::any::<i128>()) {
        let value = CheckedValue::Int(v);
        let mut types = vec![DynSolType::Int(128), DynSolType::Int(256)];
        if v >= 0 {
            types.extend([DynSolType::Uint(128), DynSolType::Uint(256)]);
        }
        for ty in types {
            proptest::prop_assert_eq!(Some(value.to_abi_word()), value.to_abi(&ty).as_word());
        }
    }
}
