//! Unit tests of template loading, canonical ids, value checks and the registry.

use std::collections::{BTreeMap, BTreeSet};

use alloy_json_abi::JsonAbi;
use serde_json::{Value, json};

use super::*;
use crate::{Role, Violation, ViolationKind};

const ANCHOR: &str = "anchorRecord(bytes32 subject, bytes32 templateId, bytes32 tiId, bytes32 recordHash, uint64 timestamp)";
const ANCHOR_TYPES: &str = "anchorRecord(bytes32,bytes32,bytes32,bytes32,uint64)";
/// The built-in templates also pass the author's role, for the contract's check.
const BUILT_IN_ANCHOR_TYPES: &str = "anchorRecord(bytes32,bytes32,bytes32,bytes32,uint64,bytes32)";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn system_fields() -> Vec<Value> {
    vec![
        json!({"name": "subject", "placement": "system", "source": "patient_pseudonym"}),
        json!({"name": "template", "placement": "system", "source": "template_id"}),
        json!({"name": "ti", "placement": "system", "source": "ti_id"}),
        json!({"name": "record_hash", "placement": "system", "source": "record_hash"}),
        json!({"name": "recorded_at", "placement": "system", "source": "timestamp"}),
    ]
}

/// A valid template calling `anchorRecord` whose user fields are `sealed`.
fn doc_with(sealed: Vec<Value>) -> Value {
    let mut fields = sealed;
    fields.extend(system_fields());
    json!({
        "format": "ehrchain.template/1",
        "name": "test-form",
        "version": 1,
        "title": "Test form",
        "roles": ["doctor", "nurse"],
        "call": {
            "function": ANCHOR,
            "arguments": ["subject", "template", "ti", "record_hash", "recorded_at"],
        },
        "fields": fields,
    })
}

/// A valid template with one sealed integer field `systolic`.
fn base() -> Value {
    doc_with(vec![json!({
        "name": "systolic", "placement": "sealed", "type": "integer",
        "min": 40, "max": 300, "required": true,
    })])
}

/// A template whose only field `x` is placed on chain and feeds `f(<abi_type> x)`.
fn chain_doc(abi_type: &str, mut field: Value) -> Value {
    field["name"] = json!("x");
    field["placement"] = json!("chain");
    json!({
        "format": TEMPLATE_FORMAT,
        "name": "chain-test",
        "version": 1,
        "title": "Chain test",
        "roles": ["doctor"],
        "call": {"function": format!("f({abi_type} x)"), "arguments": ["x"]},
        "fields": [field],
    })
}

/// A template whose only field `x` is a system field feeding `f(<abi_type> x)`.
fn system_doc(abi_type: &str, source: &str) -> Value {
    json!({
        "format": TEMPLATE_FORMAT,
        "name": "system-test",
        "version": 1,
        "title": "System test",
        "roles": ["device"],
        "call": {"function": format!("f({abi_type} x)"), "arguments": ["x"]},
        "fields": [{"name": "x", "placement": "system", "source": source}],
    })
}

fn load(doc: &Value) -> Result<Template, TemplateError> {
    Template::from_json(&doc.to_string())
}

fn ok(doc: &Value) -> Template {
    match load(doc) {
        Ok(t) => t,
        Err(e) => panic!("template rejected: {e}\n{doc:#}"),
    }
}

fn reject(doc: &Value) -> TemplateError {
    match load(doc) {
        Ok(_) => panic!("template accepted:\n{doc:#}"),
        Err(e) => e,
    }
}

/// `base()` with the first field (`systolic`) replaced by `field`.
fn with_field(field: Value) -> Value {
    let mut doc = base();
    doc["fields"][0] = field;
    doc
}

fn sealed(field: Value) -> Value {
    let mut field = field;
    field["name"] = json!("v");
    field["placement"] = json!("sealed");
    with_field(field)
}

fn builtin(name: &str) -> Template {
    let (_, json) = BUILT_IN_TEMPLATES.iter().find(|(n, _)| *n == name).unwrap();
    Template::from_json(json).unwrap()
}

fn builtin_doc(name: &str) -> Value {
    let (_, json) = BUILT_IN_TEMPLATES.iter().find(|(n, _)| *n == name).unwrap();
    serde_json::from_str(json).unwrap()
}

fn role(name: &str) -> Role {
    Role::new(name).unwrap()
}

// ---------------------------------------------------------------------------
// One test per rejection
// ---------------------------------------------------------------------------

#[test]
fn base_template_is_valid() {
    let t = ok(&base());
    assert_eq!(t.name(), "test-form");
    assert_eq!(t.version(), 1);
    assert_eq!(t.title(), "Test form");
    assert_eq!(t.roles(), &[role("doctor"), role("nurse")]);
    assert_eq!(t.subject(), Subject::Patient);
    assert_eq!(t.fields().len(), 6);
    assert_eq!(t.call().arguments, vec![1, 2, 3, 4, 5]);
    assert_eq!(
        t.call().selector,
        Selector::from_slice(&keccak256(ANCHOR_TYPES)[..4])
    );
}

#[test]
fn rejects_malformed_json() {
    assert!(matches!(
        Template::from_json("{"),
        Err(TemplateError::Json(_))
    ));
    assert!(matches!(
        Template::from_json("[]"),
        Err(TemplateError::Json(_))
    ));
    assert!(matches!(
        Template::from_json(""),
        Err(TemplateError::Json(_))
    ));
    let huge = " ".repeat(MAX_TEMPLATE_JSON_LEN + 1);
    assert_eq!(
        Template::from_json(&huge),
        Err(TemplateError::TooLarge(MAX_TEMPLATE_JSON_LEN + 1))
    );
}

#[test]
fn rejects_missing_top_level_key() {
    for key in [
        "format", "name", "version", "title", "roles", "call", "fields",
    ] {
        let mut doc = base();
        doc.as_object_mut().unwrap().remove(key);
        assert!(
            matches!(reject(&doc), TemplateError::Json(ref m) if m.contains(key)),
            "{key}"
        );
    }
}

#[test]
fn rejects_unknown_keys_at_every_level() {
    let mut top = base();
    top["titel"] = json!("typo");
    let mut call = base();
    call["call"]["args"] = json!([]);
    let mut field = base();
    field["fields"][0]["lable"] = json!("typo");
    let mut concept = base();
    concept["concept"] = json!({"system": "http://loinc.org", "code": "1", "name": "x"});
    for doc in [top, call, field, concept] {
        assert!(matches!(reject(&doc), TemplateError::Json(_)), "{doc}");
    }
}

#[test]
fn rejects_wrong_json_types() {
    let mut version = base();
    version["version"] = json!("1");
    let mut negative = base();
    negative["version"] = json!(-1);
    let mut required = base();
    required["fields"][0]["required"] = json!("yes");
    let scale = sealed(json!({"type": "decimal", "scale": 256, "min": "0", "max": "1"}));
    let mut roles = base();
    roles["roles"] = json!("doctor");
    for doc in [version, negative, required, scale, roles] {
        assert!(matches!(reject(&doc), TemplateError::Json(_)), "{doc}");
    }
}

#[test]
fn rejects_duplicate_json_key() {
    let json = base().to_string().replacen(
        "\"name\":\"test-form\"",
        "\"name\":\"test-form\",\"name\":\"other\"",
        1,
    );
    assert!(matches!(
        Template::from_json(&json),
        Err(TemplateError::Json(_))
    ));
}

#[test]
fn rejects_unsupported_format() {
    let mut doc = base();
    doc["format"] = json!("ehrchain.template/2");
    assert_eq!(
        reject(&doc),
        TemplateError::UnsupportedFormat("ehrchain.template/2".into())
    );
}

#[test]
fn rejects_invalid_name() {
    let long = "a".repeat(MAX_NAME_LEN + 1);
    for bad in [
        "",
        "Blood-pressure",
        "1bp",
        "bp_1",
        "-bp",
        "bp pressure",
        &long,
    ] {
        let mut doc = base();
        doc["name"] = json!(bad);
        assert_eq!(reject(&doc), TemplateError::InvalidName(bad.into()));
    }
    for good in ["a", "bp-2", "x-", &"a".repeat(MAX_NAME_LEN)] {
        let mut doc = base();
        doc["name"] = json!(good);
        assert_eq!(ok(&doc).name(), good);
    }
}

#[test]
fn rejects_zero_version() {
    let mut doc = base();
    doc["version"] = json!(0);
    assert_eq!(reject(&doc), TemplateError::ZeroVersion);
}

#[test]
fn rejects_missing_title() {
    for title in ["", "  \t "] {
        let mut doc = base();
        doc["title"] = json!(title);
        assert_eq!(reject(&doc), TemplateError::MissingTitle);
    }
}

#[test]
fn rejects_no_roles() {
    let mut doc = base();
    doc["roles"] = json!([]);
    assert_eq!(reject(&doc), TemplateError::NoRoles);
}

#[test]
fn rejects_invalid_role() {
    let mut doc = base();
    doc["roles"] = json!(["doctor", "Nurse"]);
    assert_eq!(
        reject(&doc),
        TemplateError::InvalidRole(crate::InvalidRoleName("Nurse".into()))
    );
}

#[test]
fn rejects_duplicate_role() {
    let mut doc = base();
    doc["roles"] = json!(["nurse", "doctor", "nurse"]);
    assert_eq!(reject(&doc), TemplateError::DuplicateRole("nurse".into()));
}

#[test]
fn rejects_unknown_subject() {
    let mut doc = base();
    doc["subject"] = json!("patients");
    assert_eq!(
        reject(&doc),
        TemplateError::UnknownSubject("patients".into())
    );
}

#[test]
fn rejects_invalid_field_name() {
    let long = "a".repeat(65);
    for bad in ["", "Systolic", "sys-tolic", "1x", "_x", "x y", &long] {
        let mut doc = base();
        doc["fields"][0]["name"] = json!(bad);
        assert_eq!(reject(&doc), TemplateError::InvalidFieldName(bad.into()));
    }
}

#[test]
fn rejects_duplicate_field() {
    let field = json!({"name": "systolic", "placement": "sealed", "type": "bool"});
    let mut doc = base();
    doc["fields"].as_array_mut().unwrap().insert(1, field);
    assert_eq!(
        reject(&doc),
        TemplateError::DuplicateField("systolic".into())
    );
    // A user field may not share a name with a system field either.
    let mut doc = base();
    doc["fields"][0]["name"] = json!("ti");
    assert_eq!(reject(&doc), TemplateError::DuplicateField("ti".into()));
}

#[test]
fn rejects_unknown_placement() {
    let mut doc = base();
    doc["fields"][0]["placement"] = json!("public");
    assert_eq!(
        reject(&doc),
        TemplateError::UnknownPlacement {
            field: "systolic".into(),
            placement: "public".into(),
        }
    );
}

#[test]
fn rejects_unknown_type() {
    for bad in ["float", "Integer", "datetime", "string", "uint256"] {
        let doc = sealed(json!({"type": bad}));
        assert_eq!(
            reject(&doc),
            TemplateError::UnknownType {
                field: "v".into(),
                type_name: bad.into(),
            }
        );
    }
}

#[test]
fn rejects_unknown_source() {
    let mut doc = base();
    doc["fields"][2]["source"] = json!("author_id");
    assert_eq!(
        reject(&doc),
        TemplateError::UnknownSource {
            field: "template".into(),
            given: "author_id".into(),
        }
    );
}

#[test]
fn rejects_missing_attribute() {
    let cases = [
        (json!({}), "type"),
        (json!({"type": "integer", "max": 1}), "min"),
        (json!({"type": "integer", "min": 1}), "max"),
        (json!({"type": "decimal", "min": "1", "max": "2"}), "scale"),
        (json!({"type": "decimal", "scale": 1, "max": "2"}), "min"),
        (json!({"type": "decimal", "scale": 1, "min": "1"}), "max"),
        (json!({"type": "text"}), "max_length"),
        (json!({"type": "enum"}), "values"),
        (json!({"type": "integer", "min": null, "max": 1}), "min"),
    ];
    for (field, attribute) in cases {
        assert_eq!(
            reject(&sealed(field.clone())),
            TemplateError::MissingAttribute {
                field: "v".into(),
                attribute,
            },
            "{field}"
        );
    }
    let mut doc = base();
    doc["fields"][2].as_object_mut().unwrap().remove("source");
    assert_eq!(
        reject(&doc),
        TemplateError::MissingAttribute {
            field: "template".into(),
            attribute: "source",
        }
    );
}

#[test]
fn rejects_attribute_not_allowed_for_type() {
    let cases = [
        (
            json!({"type": "integer", "min": 0, "max": 1, "values": ["a"]}),
            "values",
            "integer",
        ),
        (
            json!({"type": "integer", "min": 0, "max": 1, "scale": 1}),
            "scale",
            "integer",
        ),
        (
            json!({"type": "integer", "min": 0, "max": 1, "max_length": 3}),
            "max_length",
            "integer",
        ),
        (
            json!({"type": "decimal", "scale": 1, "min": "0", "max": "1", "code_system": "x"}),
            "code_system",
            "decimal",
        ),
        (json!({"type": "bool", "unit": "1"}), "unit", "bool"),
        (json!({"type": "bool", "min": 0}), "min", "bool"),
        (
            json!({"type": "text", "max_length": 5, "unit": "1"}),
            "unit",
            "text",
        ),
        (
            json!({"type": "text", "max_length": 5, "values": ["a"]}),
            "values",
            "text",
        ),
        (
            json!({"type": "enum", "values": ["a"], "max_length": 3}),
            "max_length",
            "enum",
        ),
        (
            json!({"type": "enum", "values": ["a"], "unit": "1"}),
            "unit",
            "enum",
        ),
        (json!({"type": "date-time", "min": 0}), "min", "date-time"),
        (
            json!({"type": "date-time", "unit": "s"}),
            "unit",
            "date-time",
        ),
        (json!({"type": "code", "unit": "1"}), "unit", "code"),
        (json!({"type": "code", "values": ["a"]}), "values", "code"),
        (
            json!({"type": "bytes32", "code_system": "x"}),
            "code_system",
            "bytes32",
        ),
        (
            json!({"type": "bytes32", "max_length": 32}),
            "max_length",
            "bytes32",
        ),
        (json!({"type": "address", "scale": 1}), "scale", "address"),
        (
            json!({"type": "integer", "min": 0, "max": 1, "source": "ti_id"}),
            "source",
            "integer",
        ),
    ];
    for (field, attribute, kind) in cases {
        assert_eq!(
            reject(&sealed(field.clone())),
            TemplateError::AttributeNotAllowed {
                field: "v".into(),
                attribute,
                kind,
            },
            "{field}"
        );
    }
}

#[test]
fn rejects_attribute_not_allowed_on_system_field() {
    let cases = [
        (json!({"type": "bytes32"}), "type"),
        (json!({"concept": {"system": "s", "code": "c"}}), "concept"),
        (json!({"unit": "s"}), "unit"),
        (json!({"min": 0}), "min"),
        (json!({"max_length": 32}), "max_length"),
        (json!({"required": true}), "required"),
        (json!({"required": false}), "required"),
        (json!({"identifying": false}), "identifying"),
    ];
    for (extra, attribute) in cases {
        let mut doc = base();
        for (k, v) in extra.as_object().unwrap() {
            doc["fields"][2][k] = v.clone();
        }
        assert_eq!(
            reject(&doc),
            TemplateError::AttributeNotAllowed {
                field: "template".into(),
                attribute,
                kind: "system",
            },
            "{extra}"
        );
    }
    // label and hint are fine on system fields.
    let mut doc = base();
    doc["fields"][2]["label"] = json!("Template");
    doc["fields"][2]["hint"] = json!("filled in");
    ok(&doc);
}

#[test]
fn common_attributes_apply_to_every_type() {
    let common = json!({
        "label": "L", "hint": "H",
        "concept": {"system": "http://loinc.org", "code": "1-8", "display": "D"},
        "required": true, "identifying": true,
    });
    let types = [
        json!({"type": "integer", "min": 0, "max": 1, "unit": "1"}),
        json!({"type": "decimal", "scale": 1, "min": "0", "max": "1", "unit": "1"}),
        json!({"type": "bool"}),
        json!({"type": "text", "max_length": 10}),
        json!({"type": "enum", "values": ["a", "b"]}),
        json!({"type": "date-time"}),
        json!({"type": "code", "max_length": 10, "code_system": "http://loinc.org"}),
        json!({"type": "bytes32"}),
        json!({"type": "address"}),
    ];
    for mut field in types {
        for (k, v) in common.as_object().unwrap() {
            field[k] = v.clone();
        }
        let t = ok(&sealed(field));
        assert!(t.fields()[0].required);
    }
}

#[test]
fn rejects_invalid_attribute() {
    let cases = [
        (json!({"type": "integer", "min": "40", "max": 300}), "min"),
        (json!({"type": "integer", "min": 40.5, "max": 300}), "min"),
        (json!({"type": "integer", "min": 40.0, "max": 300}), "min"),
        (
            json!({"type": "integer", "min": 0, "max": 10_000_000_000_000_000_000u64}),
            "max",
        ),
        (json!({"type": "integer", "min": 5, "max": 4}), "min"),
        (
            json!({"type": "decimal", "scale": 19, "min": "0", "max": "1"}),
            "scale",
        ),
        (
            json!({"type": "decimal", "scale": 1, "min": 25, "max": "45"}),
            "min",
        ),
        (
            json!({"type": "decimal", "scale": 1, "min": "25", "max": 45.5}),
            "max",
        ),
        (
            json!({"type": "decimal", "scale": 2, "min": "1.234", "max": "2"}),
            "min",
        ),
        (
            json!({"type": "decimal", "scale": 2, "min": "abc", "max": "2"}),
            "min",
        ),
        (
            json!({"type": "decimal", "scale": 2, "min": "1e3", "max": "2"}),
            "min",
        ),
        (
            json!({"type": "decimal", "scale": 0, "min": "0", "max": "9".repeat(40)}),
            "max",
        ),
        (
            json!({"type": "decimal", "scale": 1, "min": "2", "max": "1.9"}),
            "min",
        ),
        (json!({"type": "text", "max_length": 0}), "max_length"),
        (
            json!({"type": "text", "max_length": MAX_TEXT_LEN + 1}),
            "max_length",
        ),
        (json!({"type": "enum", "values": []}), "values"),
        (json!({"type": "enum", "values": ["a", ""]}), "values"),
        (json!({"type": "enum", "values": ["a", "b", "a"]}), "values"),
        (json!({"type": "code", "max_length": 0}), "max_length"),
        (
            json!({"type": "code", "max_length": MAX_CODE_LEN + 1}),
            "max_length",
        ),
    ];
    for (field, attribute) in cases {
        match reject(&sealed(field.clone())) {
            TemplateError::InvalidAttribute {
                field: name,
                attribute: a,
                reason,
            } => {
                assert_eq!((name.as_str(), a), ("v", attribute), "{field}");
                assert!(!reason.is_empty());
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    // The limits themselves are accepted.
    for field in [
        json!({"type": "text", "max_length": MAX_TEXT_LEN}),
        json!({"type": "code", "max_length": MAX_CODE_LEN}),
        json!({"type": "decimal", "scale": 18, "min": "0", "max": "1"}),
        json!({"type": "integer", "min": i64::MIN, "max": i64::MAX}),
        json!({"type": "integer", "min": 7, "max": 7}),
    ] {
        ok(&sealed(field));
    }
}

#[test]
fn rejects_identifying_field_on_chain() {
    let doc = chain_doc(
        "bytes32",
        json!({"type": "code", "required": true, "identifying": true}),
    );
    assert_eq!(reject(&doc), TemplateError::IdentifyingOnChain("x".into()));
    // The same field sealed is fine (it then needs no call argument).
    let mut doc = base();
    doc["fields"][0]["identifying"] = json!(true);
    ok(&doc);
}

#[test]
fn rejects_free_text_on_chain() {
    let doc = chain_doc(
        "string",
        json!({"type": "text", "max_length": 10, "required": true}),
    );
    assert_eq!(reject(&doc), TemplateError::FreeTextOnChain("x".into()));
}

#[test]
fn rejects_optional_chain_field() {
    for required in [None, Some(false)] {
        let mut field = json!({"type": "code"});
        if let Some(r) = required {
            field["required"] = json!(r);
        }
        let doc = chain_doc("bytes32", field);
        assert_eq!(reject(&doc), TemplateError::OptionalChainField("x".into()));
    }
}

#[test]
fn rejects_pseudonym_without_patient() {
    let mut doc = base();
    doc["subject"] = json!("none");
    assert_eq!(
        reject(&doc),
        TemplateError::PseudonymWithoutPatient("subject".into())
    );
}

#[test]
fn rejects_invalid_function() {
    for bad in [
        "anchorRecord(bytes32 subject",
        "not a function",
        "",
        "f(bytes33 x)",
        "event f(bytes32 x)",
    ] {
        let mut doc = chain_doc("bytes32", json!({"type": "bytes32", "required": true}));
        doc["call"]["function"] = json!(bad);
        match reject(&doc) {
            TemplateError::InvalidFunction { signature, reason } => {
                assert_eq!(signature, bad);
                assert!(!reason.is_empty());
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn rejects_argument_count() {
    let mut doc = base();
    doc["call"]["arguments"].as_array_mut().unwrap().pop();
    assert_eq!(
        reject(&doc),
        TemplateError::ArgumentCount {
            function: ANCHOR_TYPES.into(),
            parameters: 5,
            arguments: 4,
        }
    );
}

#[test]
fn rejects_unknown_argument() {
    let mut doc = base();
    doc["call"]["arguments"][2] = json!("tx");
    assert_eq!(reject(&doc), TemplateError::UnknownArgument("tx".into()));
}

#[test]
fn rejects_sealed_argument() {
    let mut doc = base();
    doc["call"]["arguments"][4] = json!("systolic");
    assert_eq!(
        reject(&doc),
        TemplateError::SealedArgument("systolic".into())
    );
}

#[test]
fn rejects_unused_chain_or_system_field() {
    let mut doc = base();
    doc["fields"].as_array_mut().unwrap().push(json!({
        "name": "lot", "placement": "chain", "type": "code", "required": true,
    }));
    assert_eq!(reject(&doc), TemplateError::UnusedChainField("lot".into()));

    let mut doc = base();
    doc["call"]["function"] = json!(
        "anchorRecord(bytes32 subject, bytes32 templateId, bytes32 tiId, bytes32 recordHash)"
    );
    doc["call"]["arguments"].as_array_mut().unwrap().pop();
    assert_eq!(
        reject(&doc),
        TemplateError::UnusedChainField("recorded_at".into())
    );
}

#[test]
fn rejects_id_mismatch() {
    let t = ok(&base());
    let mut doc = base();
    doc["id"] = json!(B256::repeat_byte(0xab).to_string());
    assert_eq!(
        reject(&doc),
        TemplateError::IdMismatch {
            declared: B256::repeat_byte(0xab).to_string(),
            computed: t.id(),
        }
    );
    // Not even a 32-byte value.
    doc["id"] = json!("blood-pressure-v1");
    assert_eq!(
        reject(&doc),
        TemplateError::IdMismatch {
            declared: "blood-pressure-v1".into(),
            computed: t.id(),
        }
    );
    // The id of a previous edit: the title changed after the id was taken.
    let mut doc = base();
    doc["id"] = json!(t.id().to_string());
    doc["title"] = json!("Edited");
    assert!(matches!(
        reject(&doc),
        TemplateError::IdMismatch { computed, .. } if computed != t.id()
    ));
}

#[test]
fn declared_id_is_compared_as_a_value() {
    let t = ok(&base());
    let mut doc = base();
    doc["id"] = json!(t.id().to_string());
    assert_eq!(ok(&doc), t);
    let upper = format!("0x{}", alloy_primitives::hex::encode_upper(t.id()));
    doc["id"] = json!(upper);
    assert_eq!(ok(&doc), t);
    doc["id"] = json!(alloy_primitives::hex::encode(t.id()));
    assert_eq!(ok(&doc), t, "the 0x prefix is optional");
    doc["id"] = Value::Null;
    assert_eq!(ok(&doc), t);
    doc["id"] = json!(1);
    assert!(matches!(reject(&doc), TemplateError::Json(_)));
}

// ---------------------------------------------------------------------------
// Which field types fit which ABI types
// ---------------------------------------------------------------------------

#[test]
fn field_types_fit_abi_types() {
    let n = |count: usize| (0..count).map(|i| format!("v{i}")).collect::<Vec<_>>();
    let cases: Vec<(Value, &str, bool)> = vec![
        (
            json!({"type": "integer", "min": 0, "max": 255}),
            "uint8",
            true,
        ),
        (
            json!({"type": "integer", "min": 0, "max": 256}),
            "uint8",
            false,
        ),
        (
            json!({"type": "integer", "min": -1, "max": 10}),
            "uint256",
            false,
        ),
        (
            json!({"type": "integer", "min": -128, "max": 127}),
            "int8",
            true,
        ),
        (
            json!({"type": "integer", "min": -129, "max": 0}),
            "int8",
            false,
        ),
        (
            json!({"type": "integer", "min": 0, "max": 128}),
            "int8",
            false,
        ),
        (
            json!({"type": "integer", "min": i64::MIN, "max": i64::MAX}),
            "int64",
            true,
        ),
        (
            json!({"type": "integer", "min": i64::MIN, "max": i64::MAX}),
            "int256",
            true,
        ),
        (
            json!({"type": "integer", "min": 0, "max": i64::MAX}),
            "uint64",
            true,
        ),
        (
            json!({"type": "integer", "min": 0, "max": i64::MAX}),
            "uint56",
            false,
        ),
        (
            json!({"type": "integer", "min": 0, "max": 1}),
            "bool",
            false,
        ),
        (
            json!({"type": "integer", "min": 0, "max": 1}),
            "bytes32",
            false,
        ),
        (
            json!({"type": "integer", "min": 0, "max": 1}),
            "string",
            false,
        ),
        (
            json!({"type": "decimal", "scale": 2, "min": "0", "max": "2.55"}),
            "uint8",
            true,
        ),
        (
            json!({"type": "decimal", "scale": 2, "min": "0", "max": "2.56"}),
            "uint8",
            false,
        ),
        (
            json!({"type": "decimal", "scale": 2, "min": "-1.28", "max": "1.27"}),
            "int8",
            true,
        ),
        (
            json!({"type": "decimal", "scale": 2, "min": "-1", "max": "1"}),
            "uint256",
            false,
        ),
        (
            json!({"type": "decimal", "scale": 18, "min": "-1000000", "max": "1000000"}),
            "int128",
            true,
        ),
        (
            json!({"type": "decimal", "scale": 1, "min": "0", "max": "1"}),
            "bytes32",
            false,
        ),
        (json!({"type": "bool"}), "bool", true),
        (json!({"type": "bool"}), "uint8", false),
        (json!({"type": "enum", "values": n(256)}), "uint8", true),
        (json!({"type": "enum", "values": n(257)}), "uint8", false),
        (json!({"type": "enum", "values": n(3)}), "uint256", true),
        (json!({"type": "enum", "values": n(3)}), "int8", false),
        (json!({"type": "enum", "values": n(3)}), "string", false),
        (json!({"type": "date-time"}), "uint64", true),
        (json!({"type": "date-time"}), "uint256", true),
        (json!({"type": "date-time"}), "uint32", false),
        (json!({"type": "date-time"}), "int64", false),
        (json!({"type": "date-time"}), "int256", false),
        (json!({"type": "code"}), "bytes32", true),
        (json!({"type": "code", "max_length": 32}), "bytes32", true),
        (json!({"type": "code", "max_length": 33}), "bytes32", false),
        (json!({"type": "code", "max_length": 256}), "string", true),
        (json!({"type": "code", "max_length": 8}), "bytes16", false),
        (json!({"type": "code", "max_length": 8}), "bytes", false),
        (json!({"type": "bytes32"}), "bytes32", true),
        (json!({"type": "bytes32"}), "bytes", false),
        (json!({"type": "bytes32"}), "uint256", false),
        (json!({"type": "bytes32"}), "bytes31", false),
        (json!({"type": "address"}), "address", true),
        (json!({"type": "address"}), "bytes20", false),
        (json!({"type": "address"}), "uint160", false),
    ];
    for (mut field, abi_type, fits) in cases {
        field["required"] = json!(true);
        let type_name = field["type"].as_str().unwrap().to_owned();
        let result = load(&chain_doc(abi_type, field.clone()));
        match result {
            Ok(_) => assert!(fits, "{field} accepted as {abi_type}"),
            Err(TemplateError::ArgumentType {
                field: name,
                kind,
                abi_type: given,
            }) => {
                assert!(!fits, "{field} rejected as {abi_type}");
                assert_eq!(
                    (name.as_str(), kind, given.as_str()),
                    ("x", &*type_name, abi_type)
                );
            }
            Err(other) => panic!("{field} as {abi_type}: {other:?}"),
        }
    }
}

#[test]
fn system_sources_fit_abi_types() {
    let bytes32_sources = [
        "patient_pseudonym",
        "template_id",
        "ti_id",
        "record_hash",
        "author_role",
    ];
    for source in bytes32_sources {
        let t = ok(&system_doc("bytes32", source));
        assert_eq!(t.fields()[0].kind, FieldKind::Bytes32);
        assert!(t.fields()[0].required);
        for other in ["uint256", "bytes", "string", "address"] {
            assert_eq!(
                reject(&system_doc(other, source)),
                TemplateError::ArgumentType {
                    field: "x".into(),
                    kind: "bytes32",
                    abi_type: other.into(),
                },
                "{source} as {other}"
            );
        }
    }
    for fits in ["uint64", "uint128", "uint256"] {
        let t = ok(&system_doc(fits, "timestamp"));
        assert_eq!(t.fields()[0].kind, FieldKind::DateTime);
        assert_eq!(
            t.fields()[0].placement,
            Placement::System(SystemSource::Timestamp)
        );
    }
    for other in ["uint32", "int64", "bytes32"] {
        assert_eq!(
            reject(&system_doc(other, "timestamp")),
            TemplateError::ArgumentType {
                field: "x".into(),
                kind: "date-time",
                abi_type: other.into(),
            }
        );
    }
}

#[test]
fn call_resolves_arguments_types_and_selector() {
    let t = builtin("drug-shipment-custody");
    let call = t.call();
    let names: Vec<&str> = call
        .arguments
        .iter()
        .map(|&i| t.fields()[i].name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "lot",
            "template",
            "ti",
            "record_hash",
            "recorded_at",
            "role"
        ]
    );
    assert_eq!(
        call.types,
        [
            DynSolType::FixedBytes(32),
            DynSolType::FixedBytes(32),
            DynSolType::FixedBytes(32),
            DynSolType::FixedBytes(32),
            DynSolType::Uint(64),
            DynSolType::FixedBytes(32),
        ]
    );
    assert_eq!(call.function.signature(), BUILT_IN_ANCHOR_TYPES);
    assert_eq!(call.selector, call.function.selector());
}

#[test]
fn uint_alias_gets_canonical_selector() {
    let t = ok(&chain_doc(
        "uint",
        json!({"type": "integer", "min": 0, "max": 10, "required": true}),
    ));
    assert_eq!(t.call().types, [DynSolType::Uint(256)]);
    assert_eq!(
        t.call().selector,
        Selector::from_slice(&keccak256("f(uint256)")[..4])
    );
    assert_eq!(t.doc().call.function, "function f(uint256 x)");
    let same = ok(&chain_doc(
        "uint256",
        json!({"type": "integer", "min": 0, "max": 10, "required": true}),
    ));
    assert_eq!(same.id(), t.id());
}

// ---------------------------------------------------------------------------
// Canonical form, round trips and ids
// ---------------------------------------------------------------------------

#[test]
fn built_in_templates_round_trip() {
    for (name, json) in BUILT_IN_TEMPLATES {
        let t = Template::from_json(json).unwrap();
        assert_eq!(t.name(), name);
        assert_eq!(t.version(), 1);
        // With its id.
        let with_id = t.to_json();
        assert!(with_id.contains(&format!("\"id\":\"{}\"", t.id())));
        assert_eq!(Template::from_json(&with_id).unwrap(), t, "{name}");
        // Without it.
        let canonical = t.canonical_json();
        assert!(!canonical.contains("\"id\":"));
        assert_eq!(keccak256(canonical.as_bytes()), t.id());
        let again = Template::from_json(&canonical).unwrap();
        assert_eq!(again, t, "{name}");
        assert_eq!(again.canonical_json(), canonical);
        // Through the document structs.
        assert_eq!(Template::from_doc(t.doc().clone()).unwrap(), t);
        // Key order and whitespace of the input do not matter.
        let resorted = serde_json::from_str::<Value>(json).unwrap().to_string();
        assert_eq!(Template::from_json(&resorted).unwrap().id(), t.id());
    }
}

#[test]
fn canonical_form_fills_defaults_and_normalises() {
    let doc = doc_with(vec![
        json!({"name": "code", "placement": "sealed", "type": "code"}),
        json!({"name": "temp", "placement": "sealed", "type": "decimal", "scale": 2,
               "min": "-5", "max": "0042.5"}),
    ]);
    let mut doc = doc;
    doc["roles"] = json!(["nurse", "doctor"]);
    doc["call"]["function"] = json!(
        "function anchorRecord(bytes32 subject,bytes32 templateId,bytes32 tiId,bytes32 recordHash,uint64 timestamp) external"
    );
    let t = ok(&doc);
    let d = t.doc();
    assert_eq!(d.id, None);
    assert_eq!(d.roles, ["doctor", "nurse"]);
    assert_eq!(d.subject.as_deref(), Some("patient"));
    assert_eq!(d.call.function, format!("function {ANCHOR}"));
    let code = &d.fields[0];
    assert_eq!(code.required, Some(false));
    assert_eq!(code.identifying, Some(false));
    assert_eq!(code.max_length, Some(DEFAULT_CODE_LEN));
    let temp = &d.fields[1];
    assert_eq!(temp.min, Some(json!("-5.00")));
    assert_eq!(temp.max, Some(json!("42.50")));
    // System fields get no required/identifying.
    assert_eq!(d.fields[2].required, None);
    assert_eq!(d.fields[2].identifying, None);
    // The canonical JSON is the compact serialisation in declaration order.
    let canonical = t.canonical_json();
    assert!(canonical.starts_with(
        "{\"format\":\"ehrchain.template/1\",\"name\":\"test-form\",\"version\":1,\"title\":\"Test form\",\"roles\":[\"doctor\",\"nurse\"],\"subject\":\"patient\",\"call\":{\"function\":\"function anchorRecord(bytes32 subject, bytes32 templateId, bytes32 tiId, bytes32 recordHash, uint64 timestamp)\",\"arguments\":[\"subject\",\"template\",\"ti\",\"record_hash\",\"recorded_at\"]},\"fields\":[{\"name\":\"code\",\"placement\":\"sealed\",\"type\":\"code\",\"required\":false,\"identifying\":false,\"max_length\":32},{\"name\":\"temp\",\"placement\":\"sealed\",\"type\":\"decimal\",\"required\":false,\"identifying\":false,\"min\":\"-5.00\",\"max\":\"42.50\",\"scale\":2}"
    ), "{canonical}");
    assert!(canonical.ends_with(
        "{\"name\":\"recorded_at\",\"placement\":\"system\",\"source\":\"timestamp\"}]}"
    ));
}

#[test]
fn canonical_form_is_stable_under_explicit_defaults_and_reordering() {
    let terse = r#"{"format":"ehrchain.template/1","name":"temp","version":3,
        "title":"Temperature","roles":["nurse","doctor"],
        "call":{"function":"anchorRecord(bytes32 subject,bytes32 templateId,bytes32 tiId,bytes32 recordHash,uint64 timestamp)",
                "arguments":["subject","template","ti","record_hash","recorded_at"]},
        "fields":[
          {"name":"t","placement":"sealed","type":"decimal","scale":1,"min":"25","max":"45"},
          {"name":"site","placement":"sealed","type":"code"},
          {"name":"subject","placement":"system","source":"patient_pseudonym"},
          {"name":"template","placement":"system","source":"template_id"},
          {"name":"ti","placement":"system","source":"ti_id"},
          {"name":"record_hash","placement":"system","source":"record_hash"},
          {"name":"recorded_at","placement":"system","source":"timestamp"}]}"#;
    let explicit = r#"{
        "fields":[
          {"max":"45.0","min":"25.0","scale":1,"identifying":false,"required":false,"type":"decimal","placement":"sealed","name":"t","hint":null},
          {"max_length":32,"type":"code","name":"site","placement":"sealed","required":false,"identifying":false},
          {"source":"patient_pseudonym","placement":"system","name":"subject"},
          {"name":"template","source":"template_id","placement":"system"},
          {"name":"ti","placement":"system","source":"ti_id"},
          {"name":"record_hash","placement":"system","source":"record_hash"},
          {"placement":"system","name":"recorded_at","source":"timestamp"}],
        "call":{"arguments":["subject","template","ti","record_hash","recorded_at"],
                "function":"function anchorRecord(bytes32 subject, bytes32 templateId, bytes32 tiId, bytes32 recordHash, uint64 timestamp) external"},
        "subject":"patient",
        "roles":["doctor","nurse"],
        "title":"Temperature","version":3,"name":"temp","id":null,
        "format":"ehrchain.template/1"}"#;
    let a = Template::from_json(terse).unwrap();
    let b = Template::from_json(explicit).unwrap();
    assert_eq!(a.canonical_json(), b.canonical_json());
    assert_eq!(a.id(), b.id());
    assert_eq!(a, b);
}

#[test]
fn id_changes_when_anything_meaningful_changes() {
    type Edit = fn(&mut Value);
    let edits: &[(&str, Edit)] = &[
        ("name", |d| d["name"] = json!("test-form-b")),
        ("version", |d| d["version"] = json!(2)),
        ("title", |d| d["title"] = json!("Test form!")),
        ("description", |d| d["description"] = json!("More")),
        ("concept", |d| {
            d["concept"] = json!({"system": "http://loinc.org", "code": "85354-9"});
        }),
        ("role added", |d| {
            d["roles"] = json!(["doctor", "nurse", "admin"])
        }),
        ("role removed", |d| d["roles"] = json!(["doctor"])),
        ("parameter name", |d| {
            d["call"]["function"] = json!(ANCHOR.replace("tiId", "id"));
        }),
        ("mutability", |d| {
            d["call"]["function"] = json!(format!("{ANCHOR} payable"));
        }),
        ("outputs", |d| {
            d["call"]["function"] = json!(format!("{ANCHOR} returns (bool)"));
        }),
        ("label", |d| d["fields"][0]["label"] = json!("Systolic")),
        ("hint", |d| d["fields"][0]["hint"] = json!("mm Hg")),
        ("unit", |d| d["fields"][0]["unit"] = json!("mm[Hg]")),
        ("field concept", |d| {
            d["fields"][0]["concept"] = json!({"system": "http://loinc.org", "code": "8480-6"});
        }),
        ("min", |d| d["fields"][0]["min"] = json!(41)),
        ("max", |d| d["fields"][0]["max"] = json!(299)),
        ("required", |d| d["fields"][0]["required"] = json!(false)),
        ("identifying", |d| {
            d["fields"][0]["identifying"] = json!(true)
        }),
        ("field name", |d| d["fields"][0]["name"] = json!("sys")),
        ("system label", |d| {
            d["fields"][2]["label"] = json!("Template")
        }),
        ("field order", |d| {
            let fields = d["fields"].as_array_mut().unwrap();
            fields.swap(1, 2);
        }),
        ("field added", |d| {
            d["fields"].as_array_mut().unwrap().push(
                json!({"name": "note", "placement": "sealed", "type": "text", "max_length": 9}),
            );
        }),
    ];
    let base_id = ok(&base()).id();
    let mut seen = BTreeSet::from([base_id]);
    for (what, edit) in edits {
        let mut doc = base();
        edit(&mut doc);
        let id = ok(&doc).id();
        assert!(seen.insert(id), "editing the {what} did not give a new id");
    }
    // Enum value order is meaningful (the on-chain value is the index).
    let a = ok(&sealed(json!({"type": "enum", "values": ["a", "b"]})));
    let b = ok(&sealed(json!({"type": "enum", "values": ["b", "a"]})));
    assert_ne!(a.id(), b.id());
}

#[test]
fn to_json_round_trips_hand_written_templates() {
    let docs = [
        base(),
        chain_doc(
            "int64",
            json!({"type": "decimal", "scale": 3, "min": "-1", "max": "1", "required": true}),
        ),
        system_doc("uint256", "timestamp"),
        {
            let mut d = sealed(json!({"type": "address", "label": "Ünïcödé \"quoted\"\n"}));
            d["description"] = json!("tab\there, slash / and backslash \\ and \u{1f}");
            d
        },
    ];
    for doc in docs {
        let t = ok(&doc);
        assert_eq!(Template::from_json(&t.to_json()).unwrap(), t);
        assert_eq!(
            Template::from_json(&t.canonical_json()).unwrap().id(),
            t.id()
        );
    }
}

#[test]
fn worked_example_id() {
    // The example of docs/templates.md ("Worked example").
    let json = r#"{
      "format": "ehrchain.template/1",
      "name": "pulse",
      "version": 1,
      "title": "Pulse",
      "roles": ["nurse"],
      "call": {"function": "anchorRecord(bytes32 subject, bytes32 templateId, bytes32 tiId, bytes32 recordHash, uint64 timestamp)",
               "arguments": ["subject", "template", "ti", "record_hash", "recorded_at"]},
      "fields": [
        {"name": "rate", "placement": "sealed", "type": "integer", "min": 20, "max": 300, "unit": "/min", "required": true},
        {"name": "subject", "placement": "system", "source": "patient_pseudonym"},
        {"name": "template", "placement": "system", "source": "template_id"},
        {"name": "ti", "placement": "system", "source": "ti_id"},
        {"name": "record_hash", "placement": "system", "source": "record_hash"},
        {"name": "recorded_at", "placement": "system", "source": "timestamp"}
      ]
    }"#;
    let t = Template::from_json(json).unwrap();
    assert_eq!(
        t.canonical_json(),
        r#"{"format":"ehrchain.template/1","name":"pulse","version":1,"title":"Pulse","roles":["nurse"],"subject":"patient","call":{"function":"function anchorRecord(bytes32 subject, bytes32 templateId, bytes32 tiId, bytes32 recordHash, uint64 timestamp)","arguments":["subject","template","ti","record_hash","recorded_at"]},"fields":[{"name":"rate","placement":"sealed","type":"integer","required":true,"identifying":false,"unit":"/min","min":20,"max":300},{"name":"subject","placement":"system","source":"patient_pseudonym"},{"name":"template","placement":"system","source":"template_id"},{"name":"ti","placement":"system","source":"ti_id"},{"name":"record_hash","placement":"system","source":"record_hash"},{"name":"recorded_at","placement":"system","source":"timestamp"}]}"#
    );
    assert_eq!(t.id(), keccak256(t.canonical_json()));
    assert_eq!(t.id().to_string(), WORKED_EXAMPLE_ID);
}

/// The id quoted in docs/templates.md for the worked example.
const WORKED_EXAMPLE_ID: &str =
    "0x3e98e974453df76562ba08695a14f9a3bad76a3f326d651526f523602317121c";

// ---------------------------------------------------------------------------
// Built-in templates
// ---------------------------------------------------------------------------

#[test]
fn built_in_templates_load_with_expected_roles() {
    let expected: [(&str, &[&str], Subject); 6] = [
        ("blood-pressure", &["doctor", "nurse"], Subject::Patient),
        ("lab-result", &["pathologist"], Subject::Patient),
        ("medication-administration", &["nurse"], Subject::Patient),
        ("diagnosis", &["doctor"], Subject::Patient),
        ("device-vital-sign", &["device"], Subject::Patient),
        (
            "drug-shipment-custody",
            &["distributor", "manufacturer", "pharmacist"],
            Subject::None,
        ),
    ];
    for (name, roles, subject) in expected {
        let t = builtin(name);
        let names: Vec<&str> = t.roles().iter().map(Role::name).collect();
        assert_eq!(names, roles, "{name}");
        assert_eq!(t.subject(), subject, "{name}");
        assert_eq!(
            t.call().function.signature(),
            BUILT_IN_ANCHOR_TYPES,
            "{name}"
        );
        // No clinical value ever goes on chain in the built-ins except the lot.
        for f in t.fields() {
            if f.placement == Placement::Chain {
                assert_eq!((name, f.name.as_str()), ("drug-shipment-custody", "lot"));
            }
        }
    }
}

#[test]
fn blood_pressure_template_matches_its_specification() {
    let t = builtin("blood-pressure");
    let kinds: Vec<(&str, &FieldKind, Placement, bool)> = t
        .fields()
        .iter()
        .map(|f| (f.name.as_str(), &f.kind, f.placement, f.required))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "systolic",
                &FieldKind::Integer { min: 40, max: 300 },
                Placement::Sealed,
                true
            ),
            (
                "diastolic",
                &FieldKind::Integer { min: 20, max: 200 },
                Placement::Sealed,
                true
            ),
            (
                "position",
                &FieldKind::Enum {
                    values: vec!["sitting".into(), "standing".into(), "lying".into()]
                },
                Placement::Sealed,
                false
            ),
            (
                "measured_at",
                &FieldKind::DateTime,
                Placement::Sealed,
                false
            ),
            (
                "note",
                &FieldKind::Text { max_length: 2000 },
                Placement::Sealed,
                false
            ),
            (
                "subject",
                &FieldKind::Bytes32,
                Placement::System(SystemSource::PatientPseudonym),
                true
            ),
            (
                "template",
                &FieldKind::Bytes32,
                Placement::System(SystemSource::TemplateId),
                true
            ),
            (
                "ti",
                &FieldKind::Bytes32,
                Placement::System(SystemSource::TiId),
                true
            ),
            (
                "record_hash",
                &FieldKind::Bytes32,
                Placement::System(SystemSource::RecordHash),
                true
            ),
            (
                "recorded_at",
                &FieldKind::DateTime,
                Placement::System(SystemSource::Timestamp),
                true
            ),
            (
                "role",
                &FieldKind::Bytes32,
                Placement::System(SystemSource::AuthorRole),
                true
            ),
        ]
    );
    let concept = t.doc().concept.as_ref().unwrap();
    assert_eq!(
        (concept.system.as_str(), concept.code.as_str()),
        ("http://loinc.org", "85354-9")
    );
    let codes: Vec<&str> = t.doc().fields[..2]
        .iter()
        .map(|f| f.concept.as_ref().unwrap().code.as_str())
        .collect();
    assert_eq!(codes, ["8480-6", "8462-4"]);
}

#[test]
fn built_in_forms_have_no_system_fields() {
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    for t in registry.iter() {
        for r in t.roles() {
            let forms = registry.forms_for(r);
            let form = forms.iter().find(|f| f.template_id == t.id()).unwrap();
            let user_fields = t
                .fields()
                .iter()
                .filter(|f| !matches!(f.placement, Placement::System(_)))
                .count();
            assert_eq!(form.fields.len(), user_fields, "{}", t.name());
            assert!(form.fields.iter().all(|f| f.placement != "system"));
            assert!(form.fields.iter().all(|f| f.source.is_none()));
        }
    }
}

// ---------------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------------

fn versioned(version: u32, title: &str) -> Template {
    let mut doc = base();
    doc["version"] = json!(version);
    doc["title"] = json!(title);
    ok(&doc)
}

#[test]
fn registry_versions_must_increase() {
    let mut registry = TemplateRegistry::new();
    let v1 = registry.add(versioned(1, "One")).unwrap();
    let v2 = registry.add(versioned(2, "Two")).unwrap();
    assert_ne!(v1, v2);
    assert_eq!(
        registry.add(versioned(1, "Another one")),
        Err(RegistryError::VersionNotNewer {
            name: "test-form".into(),
            latest: 2,
            given: 1,
        })
    );
    assert_eq!(
        registry.add(versioned(2, "Another two")),
        Err(RegistryError::VersionNotNewer {
            name: "test-form".into(),
            latest: 2,
            given: 2,
        })
    );
    // A deactivated version still counts.
    registry.deactivate(&v2).unwrap();
    assert!(matches!(
        registry.add(versioned(2, "Two again")),
        Err(RegistryError::VersionNotNewer { latest: 2, .. })
    ));
    // Gaps are fine.
    let v5 = registry.add(versioned(5, "Five")).unwrap();
    let versions: Vec<B256> = registry.versions("test-form").map(|t| t.id()).collect();
    assert_eq!(versions, [v1, v2, v5]);
    assert_eq!(registry.iter().count(), 3);
    assert_eq!(registry.versions("other").count(), 0);
}

#[test]
fn registry_refuses_a_template_loaded_twice() {
    let mut registry = TemplateRegistry::new();
    let id = registry.add_json(&base().to_string()).unwrap();
    assert_eq!(
        registry.add_json(&base().to_string()),
        Err(RegistryError::AlreadyLoaded(id))
    );
    // Same content written differently is the same template.
    let t = registry.get(&id).unwrap().to_json();
    assert_eq!(registry.add_json(&t), Err(RegistryError::AlreadyLoaded(id)));
    // Invalid documents are reported as such.
    assert!(matches!(
        registry.add_json("{"),
        Err(RegistryError::Template(TemplateError::Json(_)))
    ));
}

#[test]
fn registry_deactivates_and_activates() {
    let mut registry = TemplateRegistry::new();
    let v1 = registry.add(versioned(1, "One")).unwrap();
    let v2 = registry.add(versioned(2, "Two")).unwrap();
    assert!(registry.is_active(&v1) && registry.is_active(&v2));
    assert_eq!(registry.latest("test-form").unwrap().id(), v2);

    registry.deactivate(&v2).unwrap();
    assert!(!registry.is_active(&v2));
    assert!(
        registry.get(&v2).is_some(),
        "deactivated templates stay loaded"
    );
    assert_eq!(registry.latest("test-form").unwrap().id(), v1);
    let forms = registry.forms_for(&role("nurse"));
    assert_eq!(forms.len(), 1);
    assert_eq!((forms[0].template_id, forms[0].version), (v1, 1));

    registry.deactivate(&v1).unwrap();
    assert!(registry.latest("test-form").is_none());
    assert!(registry.forms_for(&role("nurse")).is_empty());

    registry.activate(&v2).unwrap();
    assert_eq!(registry.latest("test-form").unwrap().id(), v2);
    // Deactivating twice is harmless.
    registry.deactivate(&v1).unwrap();
    assert!(!registry.is_active(&v1));

    let unknown = B256::repeat_byte(7);
    assert_eq!(
        registry.deactivate(&unknown),
        Err(RegistryError::UnknownTemplate(unknown))
    );
    assert_eq!(
        registry.activate(&unknown),
        Err(RegistryError::UnknownTemplate(unknown))
    );
    assert!(!registry.is_active(&unknown));
    assert!(registry.get(&unknown).is_none());
    assert!(registry.latest("nothing").is_none());
}

#[test]
fn forms_for_each_role() {
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    let expected: [(&str, &[&str]); 8] = [
        ("doctor", &["blood-pressure", "diagnosis"]),
        ("nurse", &["blood-pressure", "medication-administration"]),
        ("pathologist", &["lab-result"]),
        ("device", &["device-vital-sign"]),
        ("admin", &[]),
        ("patient", &[]),
        ("pharmacist", &["drug-shipment-custody"]),
        ("distributor", &["drug-shipment-custody"]),
    ];
    for (r, names) in expected {
        let forms = registry.forms_for(&role(r));
        let got: Vec<&str> = forms.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(got, names, "{r}");
        for form in &forms {
            assert!(registry.is_active(&form.template_id));
        }
    }
}

#[test]
fn forms_for_offers_only_the_newest_active_version() {
    let mut registry = TemplateRegistry::with_built_ins(None).unwrap();
    let v1 = registry.latest("blood-pressure").unwrap().id();
    let mut doc = builtin_doc("blood-pressure");
    doc["version"] = json!(2);
    doc["title"] = json!("Blood pressure (v2)");
    let v2 = registry.add_json(&doc.to_string()).unwrap();
    let forms = registry.forms_for(&role("doctor"));
    let bp: Vec<(B256, u32)> = forms
        .iter()
        .filter(|f| f.name == "blood-pressure")
        .map(|f| (f.template_id, f.version))
        .collect();
    assert_eq!(bp, [(v2, 2)]);
    registry.deactivate(&v2).unwrap();
    let forms = registry.forms_for(&role("doctor"));
    assert!(forms.iter().any(|f| f.template_id == v1));
    assert!(forms.iter().all(|f| f.template_id != v2));
}

#[test]
fn form_json_shape() {
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    let forms = registry.forms_for(&role("pharmacist"));
    let form = serde_json::to_value(&forms[0]).unwrap();
    let t = registry.latest("drug-shipment-custody").unwrap();
    let keys: Vec<&str> = form
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "template_id",
            "name",
            "version",
            "title",
            "description",
            "patient",
            "fields"
        ])
    );
    assert_eq!(form["template_id"], json!(t.id().to_string()));
    assert_eq!(form["name"], json!("drug-shipment-custody"));
    assert_eq!(form["version"], json!(1));
    assert_eq!(form["patient"], json!(false));
    assert_eq!(
        form["fields"][0],
        json!({
            "name": "lot", "placement": "chain", "type": "code", "label": "Lot (batch) number",
            "hint": "As printed on the pack (GS1 AI 10)", "required": true, "identifying": false,
            "max_length": 32,
        })
    );
    // Without a description the key is left out.
    let mut r = TemplateRegistry::new();
    r.add(ok(&base())).unwrap();
    let form = serde_json::to_value(&r.forms_for(&role("doctor"))[0]).unwrap();
    assert!(form.get("description").is_none());
    assert_eq!(form["patient"], json!(true));
    assert_eq!(
        form["fields"],
        json!([{"name": "systolic", "placement": "sealed", "type": "integer", "required": true,
                "identifying": false, "min": 40, "max": 300}])
    );
}

const CONTRACT_ABI: &str = r#"[
  {"type": "function", "name": "anchorRecord", "stateMutability": "nonpayable", "outputs": [],
   "inputs": [{"name": "subject", "type": "bytes32"}, {"name": "templateId", "type": "bytes32"},
              {"name": "tiId", "type": "bytes32"}, {"name": "recordHash", "type": "bytes32"},
              {"name": "timestamp", "type": "uint64"}]},
  {"type": "function", "name": "anchorRecord", "stateMutability": "nonpayable", "outputs": [],
   "inputs": [{"name": "subject", "type": "bytes32"}, {"name": "templateId", "type": "bytes32"},
              {"name": "tiId", "type": "bytes32"}, {"name": "recordHash", "type": "bytes32"},
              {"name": "timestamp", "type": "uint64"}, {"name": "role", "type": "bytes32"}]},
  {"type": "function", "name": "anchorBatch", "stateMutability": "nonpayable", "outputs": [],
   "inputs": [{"name": "root", "type": "bytes32"}, {"name": "count", "type": "uint32"}]}
]"#;

#[test]
fn contract_abi_accepts_present_functions() {
    let abi: JsonAbi = serde_json::from_str(CONTRACT_ABI).unwrap();
    let registry = TemplateRegistry::with_built_ins(Some(abi.clone())).unwrap();
    assert_eq!(registry.iter().count(), BUILT_IN_TEMPLATES.len());
    let mut registry = TemplateRegistry::with_contract_abi(abi);
    // Parameter names and mutability do not matter, only the selector.
    let mut doc = base();
    doc["call"]["function"] =
        json!("anchorRecord(bytes32 a, bytes32 b, bytes32 c, bytes32 d, uint64 e) payable");
    registry.add_json(&doc.to_string()).unwrap();
}

#[test]
fn contract_abi_rejects_absent_functions() {
    let abi: JsonAbi = serde_json::from_str(CONTRACT_ABI).unwrap();
    let mut registry = TemplateRegistry::with_contract_abi(abi);
    // Same name, other parameter types.
    let mut doc = base();
    doc["call"]["function"] = json!(ANCHOR.replace("uint64", "uint256"));
    assert_eq!(
        registry.add_json(&doc.to_string()),
        Err(RegistryError::NotInContract {
            name: "test-form".into(),
            signature: "anchorRecord(bytes32,bytes32,bytes32,bytes32,uint256)".into(),
        })
    );
    // No function of that name.
    let mut doc = base();
    doc["call"]["function"] = json!(ANCHOR.replace("anchorRecord", "storeRecord"));
    assert_eq!(
        registry.add_json(&doc.to_string()),
        Err(RegistryError::NotInContract {
            name: "test-form".into(),
            signature: "storeRecord(bytes32,bytes32,bytes32,bytes32,uint64)".into(),
        })
    );
    assert_eq!(registry.iter().count(), 0);
    // A built-in registry against that contract fails as a whole.
    let abi: JsonAbi = serde_json::from_str(
        r#"[{"type": "function", "name": "anchorBatch", "stateMutability": "nonpayable",
             "outputs": [], "inputs": [{"name": "root", "type": "bytes32"}]}]"#,
    )
    .unwrap();
    assert!(matches!(
        TemplateRegistry::with_built_ins(Some(abi)),
        Err(RegistryError::NotInContract { .. })
    ));
}

// ---------------------------------------------------------------------------
// Value checks
// ---------------------------------------------------------------------------

/// A template with one optional sealed field of each type, a required
/// integer `req` and a chain date-time `when`.
fn values_template() -> Template {
    ok(&json!({
        "format": TEMPLATE_FORMAT,
        "name": "values",
        "version": 1,
        "title": "Values",
        "roles": ["doctor"],
        "call": {"function": "f(bytes32 t, uint64 when)", "arguments": ["template", "when"]},
        "fields": [
            {"name": "int", "placement": "sealed", "type": "integer", "min": -10, "max": 300},
            {"name": "dec", "placement": "sealed", "type": "decimal", "scale": 1, "min": "-5", "max": "45"},
            {"name": "flag", "placement": "sealed", "type": "bool"},
            {"name": "note", "placement": "sealed", "type": "text", "max_length": 5},
            {"name": "pos", "placement": "sealed", "type": "enum", "values": ["sitting", "standing"]},
            {"name": "at", "placement": "sealed", "type": "date-time"},
            {"name": "code", "placement": "sealed", "type": "code", "max_length": 8},
            {"name": "hash", "placement": "sealed", "type": "bytes32"},
            {"name": "who", "placement": "sealed", "type": "address"},
            {"name": "fine", "placement": "sealed", "type": "decimal", "scale": 18, "min": "0", "max": "1"},
            {"name": "req", "placement": "sealed", "type": "integer", "min": 0, "max": 1, "required": true},
            {"name": "when", "placement": "chain", "type": "date-time", "required": true},
            {"name": "template", "placement": "system", "source": "template_id"},
        ],
    }))
}

/// Checks `values` plus valid `req` and `when` (unless `values` sets them).
fn check(values: Value) -> (Vec<Option<CheckedValue>>, Vec<Violation>) {
    let t = values_template();
    let mut map: BTreeMap<String, Value> = BTreeMap::from([
        ("req".to_owned(), json!(1)),
        ("when".to_owned(), json!(1_764_495_000)),
    ]);
    for (k, v) in values.as_object().unwrap() {
        map.insert(k.clone(), v.clone());
    }
    let mut violations = Vec::new();
    let slots = t.check_values(&map, &mut violations);
    assert_eq!(slots.len(), t.fields().len());
    (slots, violations)
}

fn slot(name: &str) -> usize {
    values_template()
        .fields()
        .iter()
        .position(|f| f.name == name)
        .unwrap()
}

/// The checked value of field `name` set to `value`, which must pass.
fn accepted(name: &str, value: Value) -> CheckedValue {
    let (slots, violations) = check(json!({ name: value.clone() }));
    assert!(violations.is_empty(), "{name} = {value}: {violations:?}");
    slots[slot(name)].clone().unwrap()
}

/// The single violation of field `name` set to `value`.
fn rejected(name: &str, value: Value) -> ViolationKind {
    let (slots, violations) = check(json!({ name: value.clone() }));
    assert_eq!(violations.len(), 1, "{name} = {value}: {violations:?}");
    assert_eq!(violations[0].field.as_deref(), Some(name));
    assert!(slots[slot(name)].is_none());
    violations[0].kind.clone()
}

fn wrong_type(expected: &str) -> ViolationKind {
    ViolationKind::WrongType {
        expected: expected.into(),
    }
}

#[test]
fn valid_values_pass() {
    let (slots, violations) = check(json!({}));
    assert!(violations.is_empty());
    assert_eq!(slots[slot("req")], Some(CheckedValue::Int(1)));
    assert_eq!(slots[slot("when")], Some(CheckedValue::Time(1_764_495_000)));
    assert_eq!(
        slots[slot("template")],
        None,
        "system fields have no slot value"
    );
    assert_eq!(slots[slot("int")], None);
}

#[test]
fn integer_values() {
    assert_eq!(accepted("int", json!(120)), CheckedValue::Int(120));
    assert_eq!(accepted("int", json!(-10)), CheckedValue::Int(-10));
    assert_eq!(accepted("int", json!(300)), CheckedValue::Int(300));
    assert_eq!(
        rejected("int", json!(301)),
        ViolationKind::OutOfRange {
            value: "301".into(),
            min: "-10".into(),
            max: "300".into(),
        }
    );
    assert_eq!(
        rejected("int", json!(-11)),
        ViolationKind::OutOfRange {
            value: "-11".into(),
            min: "-10".into(),
            max: "300".into(),
        }
    );
    for bad in [
        json!("120"),
        json!(120.0),
        json!(120.5),
        json!(true),
        json!([1]),
    ] {
        assert_eq!(rejected("int", bad), wrong_type("a whole number"));
    }
}

#[test]
fn integers_beyond_i64_are_out_of_range() {
    assert_eq!(
        rejected("int", json!(u64::MAX)),
        ViolationKind::OutOfRange {
            value: u64::MAX.to_string(),
            min: "-10".into(),
            max: "300".into(),
        }
    );
    // Beyond the 64-bit range a JSON number is a double: not a whole number.
    let raw: BTreeMap<String, Value> =
        serde_json::from_str(r#"{"int": 18446744073709551616, "req": 1, "when": 0}"#).unwrap();
    let mut violations = Vec::new();
    values_template().check_values(&raw, &mut violations);
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].kind, wrong_type("a whole number"));
}

#[test]
fn decimal_values() {
    assert_eq!(accepted("dec", json!("36.5")), CheckedValue::Int(365));
    assert_eq!(accepted("dec", json!(36.5)), CheckedValue::Int(365));
    assert_eq!(accepted("dec", json!(36)), CheckedValue::Int(360));
    assert_eq!(accepted("dec", json!("36")), CheckedValue::Int(360));
    assert_eq!(accepted("dec", json!("-5.0")), CheckedValue::Int(-50));
    assert_eq!(accepted("dec", json!("45.0")), CheckedValue::Int(450));
    assert_eq!(
        rejected("dec", json!("45.1")),
        ViolationKind::OutOfRange {
            value: "45.1".into(),
            min: "-5.0".into(),
            max: "45.0".into(),
        }
    );
    assert_eq!(
        rejected("dec", json!(-6)),
        ViolationKind::OutOfRange {
            value: "-6.0".into(),
            min: "-5.0".into(),
            max: "45.0".into(),
        }
    );
    assert_eq!(
        rejected("dec", json!("36.55")),
        ViolationKind::TooPrecise { scale: 1 }
    );
    assert_eq!(
        rejected("dec", json!(36.55)),
        ViolationKind::TooPrecise { scale: 1 }
    );
    // Trailing zeros count as digits.
    assert_eq!(
        rejected("dec", json!("36.50")),
        ViolationKind::TooPrecise { scale: 1 }
    );
    for bad in ["abc", "1e1", ".5", "5.", "+5", " 5", ""] {
        assert_eq!(
            rejected("dec", json!(bad)),
            wrong_type("a decimal number such as \"36.5\""),
            "{bad:?}"
        );
    }
    assert_eq!(rejected("dec", json!(true)), wrong_type("a decimal number"));
    assert_eq!(
        rejected("dec", json!(["1"])),
        wrong_type("a decimal number")
    );
    // Full precision through strings.
    assert_eq!(
        accepted("fine", json!("0.123456789012345678")),
        CheckedValue::Int(123_456_789_012_345_678)
    );
}

#[test]
fn decimal_json_numbers_are_exact_or_refused() {
    let check_raw = |json: &str| {
        let raw: BTreeMap<String, Value> = serde_json::from_str(json).unwrap();
        let mut violations = Vec::new();
        let slots = values_template().check_values(&raw, &mut violations);
        (slots[slot("fine")].clone(), violations)
    };
    // 15 significant digits survive the trip through a double.
    assert_eq!(
        check_raw(r#"{"fine": 0.123456789012345, "req": 1, "when": 0}"#),
        (Some(CheckedValue::Int(123_456_789_012_345_000)), vec![])
    );
    // More may not: refused, never silently altered.
    let (value, violations) = check_raw(r#"{"fine": 0.123456789012345678, "req": 1, "when": 0}"#);
    assert_eq!(value, None);
    assert_eq!(
        violations,
        [Violation {
            field: Some("fine".into()),
            kind: wrong_type("a decimal with more than 15 significant digits, given as a string"),
        }]
    );
    // As a string every digit is kept.
    assert_eq!(
        check_raw(r#"{"fine": "0.123456789012345678", "req": 1, "when": 0}"#),
        (Some(CheckedValue::Int(123_456_789_012_345_678)), vec![])
    );
    // Exponent forms are not decimal syntax.
    let (_, violations) = check_raw(r#"{"fine": 1e-7, "req": 1, "when": 0}"#);
    assert_eq!(
        violations[0].kind,
        wrong_type("a decimal number such as \"36.5\"")
    );
}

#[test]
fn bool_values() {
    assert_eq!(accepted("flag", json!(true)), CheckedValue::Bool(true));
    assert_eq!(accepted("flag", json!(false)), CheckedValue::Bool(false));
    for bad in [json!("true"), json!(1), json!(0)] {
        assert_eq!(rejected("flag", bad), wrong_type("true or false"));
    }
}

#[test]
fn text_values() {
    assert_eq!(
        accepted("note", json!("hello")),
        CheckedValue::Text("hello".into())
    );
    // Length counts characters, not bytes.
    assert_eq!(
        accepted("note", json!("héllö")),
        CheckedValue::Text("héllö".into())
    );
    assert_eq!(
        accepted("note", json!("")),
        CheckedValue::Text(String::new())
    );
    // Unicode scalar values: each emoji counts once (JavaScript's length says 2).
    assert_eq!(
        accepted("note", json!("🩺🩺🩺🩺🩺")),
        CheckedValue::Text("🩺🩺🩺🩺🩺".into())
    );
    assert_eq!(
        rejected("note", json!("hello!")),
        ViolationKind::TooLong { length: 6, max: 5 }
    );
    assert_eq!(
        rejected("note", json!("ééééééé")),
        ViolationKind::TooLong { length: 7, max: 5 }
    );
    assert_eq!(rejected("note", json!(5)), wrong_type("text"));
}

#[test]
fn enum_values() {
    assert_eq!(accepted("pos", json!("sitting")), CheckedValue::Enum(0));
    assert_eq!(accepted("pos", json!("standing")), CheckedValue::Enum(1));
    assert_eq!(
        rejected("pos", json!("Standing")),
        ViolationKind::UnknownEnumValue {
            value: "Standing".into(),
            allowed: vec!["sitting".into(), "standing".into()],
        }
    );
    assert_eq!(
        rejected("pos", json!(0)),
        wrong_type("one of the listed values, as text")
    );
}

#[test]
fn date_time_values() {
    let t = 1_796_030_100; // 2026-11-30T09:15:00Z
    assert_eq!(
        accepted("at", json!("2026-11-30T09:15:00Z")),
        CheckedValue::Time(t)
    );
    assert_eq!(
        accepted("at", json!("2026-11-30T10:15:00+01:00")),
        CheckedValue::Time(t)
    );
    assert_eq!(accepted("at", json!(t)), CheckedValue::Time(t));
    // Fractional seconds are dropped.
    assert_eq!(
        accepted("at", json!("2026-11-30T09:15:00.75Z")),
        CheckedValue::Time(t)
    );
    // Sealed date-times may precede 1970 (a birth date).
    assert_eq!(
        accepted("at", json!("1950-01-01T00:00:00Z")),
        CheckedValue::Time(-631_152_000)
    );
    assert_eq!(accepted("at", json!(-86_400)), CheckedValue::Time(-86_400));
    for bad in [
        "2026-11-30",
        "2026-11-30 09:15:00",
        "yesterday",
        "2026-11-30T09:15:00",
    ] {
        assert_eq!(
            rejected("at", json!(bad)),
            wrong_type("an RFC 3339 date-time such as \"2026-11-30T09:15:00Z\""),
            "{bad}"
        );
    }
    assert_eq!(rejected("at", json!(1.5)), wrong_type("Unix seconds"));
    assert_eq!(
        rejected("at", json!(true)),
        wrong_type("an RFC 3339 date-time or Unix seconds")
    );
    // Sealed date-times span the years 0000 to 9999 (RFC 3339).
    let (first, last) = (-62_167_219_200_i64, 253_402_300_799_i64);
    assert_eq!(
        accepted("at", json!("0000-01-01T00:00:00Z")),
        CheckedValue::Time(first)
    );
    assert_eq!(
        accepted("at", json!("9999-12-31T23:59:59Z")),
        CheckedValue::Time(last)
    );
    assert_eq!(accepted("at", json!(last)), CheckedValue::Time(last));
    for outside in [first - 1, last + 1, i64::MIN, i64::MAX] {
        assert_eq!(
            rejected("at", json!(outside)),
            ViolationKind::OutOfRange {
                value: outside.to_string(),
                min: first.to_string(),
                max: last.to_string(),
            }
        );
    }
    // On chain (uint64), no time before 1970.
    assert_eq!(accepted("when", json!(0)), CheckedValue::Time(0));
    assert_eq!(accepted("when", json!(last)), CheckedValue::Time(last));
    for outside in [-1, last + 1] {
        assert_eq!(
            rejected("when", json!(outside)),
            ViolationKind::OutOfRange {
                value: outside.to_string(),
                min: "0".into(),
                max: last.to_string(),
            }
        );
    }
    assert!(matches!(
        rejected("when", json!("1969-12-31T23:59:59Z")),
        ViolationKind::OutOfRange { .. }
    ));
}

#[test]
fn code_values() {
    assert_eq!(
        accepted("code", json!("I10")),
        CheckedValue::Text("I10".into())
    );
    assert_eq!(
        accepted("code", json!("8480-6")),
        CheckedValue::Text("8480-6".into())
    );
    assert_eq!(
        accepted("code", json!("12345678")),
        CheckedValue::Text("12345678".into())
    );
    for bad in ["I 10", "", "Ä10", "I10\n", "\t"] {
        assert_eq!(
            rejected("code", json!(bad)),
            wrong_type("a code of printable ASCII characters without spaces"),
            "{bad:?}"
        );
    }
    assert_eq!(
        rejected("code", json!("123456789")),
        ViolationKind::TooLong { length: 9, max: 8 }
    );
    assert_eq!(rejected("code", json!(10)), wrong_type("a code, as text"));
}

#[test]
fn bytes32_values() {
    let lower = format!("0x{}", "ab".repeat(32));
    assert_eq!(
        accepted("hash", json!(lower)),
        CheckedValue::Bytes32(B256::repeat_byte(0xab))
    );
    let upper = format!("0x{}", "AB".repeat(32));
    assert_eq!(
        accepted("hash", json!(upper)),
        CheckedValue::Bytes32(B256::repeat_byte(0xab))
    );
    let expected = wrong_type("32 bytes as \"0x\" and 64 hex digits");
    for bad in [
        json!("ab".repeat(32)),
        json!(format!("0X{}", "ab".repeat(32))),
        json!(format!("0x{}", "a".repeat(63))),
        json!(format!("0x{}", "a".repeat(66))),
        json!(format!("0x{}", "zz".repeat(32))),
        json!("0x"),
        json!(12),
    ] {
        assert_eq!(rejected("hash", bad.clone()), expected, "{bad}");
    }
}

#[test]
fn address_values() {
    // The EIP-55 example addresses.
    let checksummed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
    let address: alloy_primitives::Address = checksummed.parse().unwrap();
    assert_eq!(
        accepted("who", json!(checksummed)),
        CheckedValue::Address(address)
    );
    let lower = checksummed.to_ascii_lowercase();
    assert_eq!(
        accepted("who", json!(lower)),
        CheckedValue::Address(address)
    );
    let upper = format!("0x{}", checksummed[2..].to_ascii_uppercase());
    assert_eq!(
        accepted("who", json!(upper)),
        CheckedValue::Address(address)
    );
    let expected =
        wrong_type("an Ethereum address (\"0x\" and 40 hex digits, EIP-55 checksum if mixed case)");
    // One letter's case flipped: a bad checksum.
    let bad_checksum = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
    for bad in [
        json!(bad_checksum),
        json!(&lower[2..]),
        json!(&lower[..41]),
        json!(format!("{lower}00")),
        json!(format!("0x{}", "g".repeat(40))),
        json!(1),
    ] {
        assert_eq!(rejected("who", bad.clone()), expected, "{bad}");
    }
}

#[test]
fn null_is_treated_as_missing() {
    let (slots, violations) = check(json!({"int": null, "req": null, "template": null}));
    assert_eq!(slots[slot("int")], None);
    assert_eq!(
        violations,
        [Violation {
            field: Some("req".into()),
            kind: ViolationKind::MissingField,
        }]
    );
}

#[test]
fn missing_required_fields_are_reported() {
    let t = values_template();
    let mut violations = Vec::new();
    t.check_values(&BTreeMap::new(), &mut violations);
    assert_eq!(
        violations,
        [
            Violation {
                field: Some("req".into()),
                kind: ViolationKind::MissingField,
            },
            Violation {
                field: Some("when".into()),
                kind: ViolationKind::MissingField,
            },
        ]
    );
}

#[test]
fn system_field_set_by_ti_is_refused() {
    assert_eq!(
        rejected("template", json!(B256::ZERO.to_string())),
        ViolationKind::SystemField
    );
}

#[test]
fn unknown_field_is_refused() {
    let (_, violations) = check(json!({"systolic": 120}));
    assert_eq!(
        violations,
        [Violation {
            field: Some("systolic".into()),
            kind: ViolationKind::UnknownField,
        }]
    );
}

#[test]
fn every_violation_is_reported_at_once() {
    let (slots, violations) = check(json!({
        "zzz": 1, "aaa": 2, "int": 1000, "dec": "1.25", "pos": "lying", "req": null,
        "template": "0x00", "flag": true,
    }));
    let got: Vec<(String, String)> = violations
        .iter()
        .map(|v| {
            let kind = serde_json::to_value(&v.kind).unwrap()["violation"].clone();
            (v.field.clone().unwrap(), kind.as_str().unwrap().to_owned())
        })
        .collect();
    let got: Vec<(&str, &str)> = got.iter().map(|(f, k)| (f.as_str(), k.as_str())).collect();
    assert_eq!(
        got,
        [
            ("aaa", "unknown_field"),
            ("zzz", "unknown_field"),
            ("int", "out_of_range"),
            ("dec", "too_precise"),
            ("pos", "unknown_enum_value"),
            ("req", "missing_field"),
            ("template", "system_field"),
        ]
    );
    assert_eq!(slots[slot("flag")], Some(CheckedValue::Bool(true)));
}

#[test]
fn violation_json_shape() {
    let v = Violation {
        field: Some("systolic".into()),
        kind: ViolationKind::OutOfRange {
            value: "301".into(),
            min: "40".into(),
            max: "300".into(),
        },
    };
    assert_eq!(
        serde_json::to_value(&v).unwrap(),
        json!({"field": "systolic", "violation": "out_of_range", "value": "301", "min": "40", "max": "300"})
    );
    assert_eq!(
        v.to_string(),
        "field \"systolic\": 301 is outside the allowed range 40 to 300"
    );
    let general = Violation {
        field: None,
        kind: ViolationKind::MissingPatient,
    };
    assert_eq!(
        serde_json::to_value(&general).unwrap(),
        json!({"violation": "missing_patient"})
    );
    let role = Violation {
        field: None,
        kind: ViolationKind::RoleNotAllowed {
            role: "patient".into(),
            allowed: vec!["doctor".into(), "nurse".into()],
        },
    };
    assert_eq!(
        serde_json::to_value(&role).unwrap(),
        json!({"violation": "role_not_allowed", "role": "patient", "allowed": ["doctor", "nurse"]})
    );
}

#[test]
fn documented_blood_pressure_ti_is_valid() {
    // The nurse's TI of docs/templates.md, "Complete example: blood pressure".
    let json = r#"{"ti_id":"0x0101010101010101010101010101010101010101010101010101010101010101",
 "template_id":"0x72dcc3694c0abff20338fd00198c17e6ca7ec72de424f2ffe654de3c86285c27",
 "author_id":"rn-0815","author_role":"nurse","patient_id":"MRN-000123",
 "timestamp":1764495000,
 "fields":{"systolic":120,"diastolic":80,"position":"sitting","measured_at":"2025-11-30T09:28:00Z"}}"#;
    let ti = crate::InitialTransaction::from_json(json).unwrap();
    let t = builtin("blood-pressure");
    assert_eq!(ti.template_id, t.id());
    assert!(t.allows(&ti.author_role));
    let mut violations = Vec::new();
    let values = t.check_values(&ti.fields, &mut violations);
    assert!(violations.is_empty(), "{violations:?}");
    assert_eq!(values[2], Some(CheckedValue::Enum(0)));
}

#[test]
fn decimal_bounds_are_normalised_to_scale_digits() {
    for (scale, text, normalised) in [
        (1, "25", "25.0"),
        (1, "0042.5", "42.5"),
        (1, "-0", "0.0"),
        (1, "-0.0", "0.0"),
        (3, "1000.5", "1000.500"),
        (2, "-5", "-5.00"),
        (0, "007", "7"),
    ] {
        let t = ok(&sealed(
            json!({"type": "decimal", "scale": scale, "min": text, "max": "1000000"}),
        ));
        assert_eq!(t.doc().fields[0].min, Some(json!(normalised)), "{text}");
    }
}
