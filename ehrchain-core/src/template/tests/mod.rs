//! Unit tests of template loading, canonical ids, value checks and the registry,
//! by topic; the shared helpers are here.

mod builtins;
mod call;
mod canonical;
mod fields;
mod loading;
mod registry;
mod values;
mod violations;

use std::collections::{BTreeMap, BTreeSet};

use alloy_dyn_abi::DynSolType;
use alloy_json_abi::JsonAbi;
use alloy_primitives::Selector;
use serde_json::{Value, json};

use super::*;
use crate::Role;
use crate::violation::{Violation, ViolationKind};

#[path = "../../../tests/common/template_docs.rs"]
mod template_docs;
use template_docs::system_fields;

const ANCHOR: &str = "anchorRecord(bytes32 subject, bytes32 templateId, bytes32 tiId, bytes32 recordHash, uint64 timestamp)";
const ANCHOR_TYPES: &str = "anchorRecord(bytes32,bytes32,bytes32,bytes32,uint64)";
/// The built-in templates also pass the author's role, for the contract's check.
const BUILT_IN_ANCHOR_TYPES: &str = "anchorRecord(bytes32,bytes32,bytes32,bytes32,uint64,bytes32)";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

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

/// A template `name` (titled `title`, for `role`) whose only field is `x`
/// (`field`), feeding `f(<abi_type> x)`.
fn one_field_doc(name: &str, title: &str, role: &str, abi_type: &str, field: Value) -> Value {
    json!({
        "format": TEMPLATE_FORMAT,
        "name": name,
        "version": 1,
        "title": title,
        "roles": [role],
        "call": {"function": format!("f({abi_type} x)"), "arguments": ["x"]},
        "fields": [field],
    })
}

/// A template whose only field `x` is placed on chain and feeds `f(<abi_type> x)`.
fn chain_doc(abi_type: &str, mut field: Value) -> Value {
    field["name"] = json!("x");
    field["placement"] = json!("chain");
    one_field_doc("chain-test", "Chain test", "doctor", abi_type, field)
}

/// A template whose only field `x` is a system field feeding `f(<abi_type> x)`.
fn system_doc(abi_type: &str, source: &str) -> Value {
    let field = json!({"name": "x", "placement": "system", "source": source});
    one_field_doc("system-test", "System test", "device", abi_type, field)
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

/// The message of the JSON error `json` is rejected with, which must contain
/// `expected`.
fn json_error(json: &str, expected: &str) -> String {
    match Template::from_json(json) {
        Err(TemplateError::Json(message)) => {
            assert!(message.contains(expected), "{message:?} for {json}");
            message
        }
        other => panic!("{other:?} for {json}"),
    }
}

/// `base()` with its top-level `key` set to `value`.
fn base_with(key: &str, value: Value) -> Value {
    let mut doc = base();
    doc[key] = value;
    doc
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
// Value checks (values.rs, violations.rs)
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
            {"name": "note", "placement": "sealed", "type": "text", "maxLength": 5},
            {"name": "pos", "placement": "sealed", "type": "enum", "values": ["sitting", "standing"]},
            {"name": "at", "placement": "sealed", "type": "date-time"},
            {"name": "code", "placement": "sealed", "type": "code", "maxLength": 8},
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
/// (The map is leaked so that the checked values, which borrow from it, can be
/// returned.)
fn check(values: Value) -> (Vec<Option<CheckedValue<'static>>>, Vec<Violation>) {
    let t = values_template();
    let mut map: BTreeMap<String, Value> = BTreeMap::from([
        ("req".to_owned(), json!(1)),
        ("when".to_owned(), json!(1_764_495_000)),
    ]);
    for (k, v) in values.as_object().unwrap() {
        map.insert(k.clone(), v.clone());
    }
    let map: &'static BTreeMap<String, Value> = Box::leak(Box::new(map));
    let mut violations = Vec::new();
    let slots = t.check_values(map, &mut violations);
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
fn accepted(name: &str, value: Value) -> CheckedValue<'static> {
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
