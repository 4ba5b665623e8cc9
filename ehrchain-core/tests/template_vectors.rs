//! Template test vectors: canonical JSON and template id of every built-in template and of a few hand-written ones, kept in `docs/vectors/templates.json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// `cargo test` checks the checked-in file byte for byte against what the code
// computes now. After a deliberate change to the canonical form, rewrite it with
// `EHRCHAIN_REGENERATE_VECTORS=1 cargo test -p ehrchain-core --test template_vectors`
// and review the diff: every changed id is a template id that changes on chain.

mod common;

use common::template_docs::system_fields;

use alloy_primitives::keccak256;
use ehrchain_core::template::{BUILT_IN_TEMPLATES, Template};
use serde::Serialize;
use serde_json::{Value, json};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../docs/vectors/templates.json"
);

const ANCHOR: &str = "anchorRecord(bytes32 subject, bytes32 templateId, bytes32 tiId, bytes32 recordHash, uint64 timestamp, bytes32 role)";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VectorFile {
    description: &'static str,
    format: &'static str,
    vectors: Vec<Vector>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Vector {
    name: String,
    source: &'static str,
    note: String,
    /// The template document as written (key order is irrelevant).
    input: Value,
    /// The canonical JSON, exactly the bytes that are hashed.
    canonical: String,
    /// `keccak256(canonical)`.
    id: String,
    /// The 4-byte selector of `call.function`.
    selector: String,
}

/// The worked example of `docs/templates.md`.
fn pulse() -> Value {
    let mut fields = vec![json!({
        "name": "rate", "placement": "sealed", "type": "integer",
        "min": 20, "max": 300, "unit": "/min", "required": true,
    })];
    fields.extend(system_fields());
    fields.push(json!({"name": "role", "placement": "system", "source": "author_role"}));
    json!({
        "format": "ehrchain.template/1",
        "name": "pulse",
        "version": 1,
        "title": "Pulse",
        "roles": ["nurse"],
        "call": {
            "function": ANCHOR,
            "arguments": ["subject", "template", "ti", "record_hash", "recorded_at", "role"],
        },
        "fields": fields,
    })
}

/// `pulse` with every default written out, the id declared and the function
/// written differently: the same canonical form and id.
fn pulse_explicit(id: &str) -> Value {
    let mut doc = pulse();
    doc["id"] = json!(id);
    doc["subject"] = json!("patient");
    doc["fields"][0]["identifying"] = json!(false);
    doc["fields"][0]["hint"] = Value::Null;
    doc["call"]["function"] = json!(
        "function anchorRecord(bytes32 subject,bytes32 templateId,bytes32 tiId,bytes32 recordHash,uint64 timestamp,bytes32 role) external"
    );
    doc
}

/// A template with a chain field of every type that can go on chain.
fn chain_mapping() -> Value {
    json!({
        "format": "ehrchain.template/1",
        "name": "custody-step-detailed",
        "version": 7,
        "title": "Custody step (detailed)",
        "description": "Every chain-capable field type, each mapped to a call argument.",
        "roles": ["pharmacist", "distributor"],
        "subject": "none",
        "call": {
            "function": "logStep(bytes32 lot, string product, uint8 status, uint64 quantity, int16 temperature, uint64 shippedAt, bool urgent, address to, bytes32 reference, bytes32 role, bytes32 tiId, bytes32 recordHash)",
            "arguments": ["lot", "product", "status", "quantity", "temperature", "shipped_at",
                          "urgent", "to", "reference", "role", "ti", "record_hash"],
        },
        "fields": [
            {"name": "lot", "placement": "chain", "type": "code", "required": true},
            {"name": "product", "placement": "chain", "type": "code", "maxLength": 64,
             "codeSystem": "https://www.gs1.org/gtin", "required": true},
            {"name": "status", "placement": "chain", "type": "enum",
             "values": ["shipped", "received", "dispensed"], "required": true},
            {"name": "quantity", "placement": "chain", "type": "decimal", "scale": 3,
             "min": "0", "max": "1000.5", "unit": "kg", "required": true},
            {"name": "temperature", "placement": "chain", "type": "integer",
             "min": -100, "max": 100, "unit": "Cel", "required": true},
            {"name": "shipped_at", "placement": "chain", "type": "date-time", "required": true},
            {"name": "urgent", "placement": "chain", "type": "bool", "required": true},
            {"name": "to", "placement": "chain", "type": "address", "required": true},
            {"name": "reference", "placement": "chain", "type": "bytes32", "required": true},
            {"name": "note", "placement": "sealed", "type": "text", "maxLength": 500,
             "identifying": true},
            {"name": "role", "placement": "system", "source": "author_role"},
            {"name": "ti", "placement": "system", "source": "ti_id"},
            {"name": "record_hash", "placement": "system", "source": "record_hash"},
        ],
    })
}

/// Non-ASCII text and characters that need escaping in the canonical JSON.
fn escapes() -> Value {
    json!({
        "format": "ehrchain.template/1",
        "name": "escapes",
        "version": 1,
        "title": "Blutdruck – Messung (Ärztin)",
        "description": "Quote \" backslash \\ slash / tab \t newline \n unit separator \u{1f} emoji 🩺",
        "concept": {"system": "http://snomed.info/sct", "code": "75367002", "display": "Blood pressure (observable entity)"},
        "roles": ["doctor"],
        "call": {"function": "anchor(bytes32 templateId)", "arguments": ["template"]},
        "fields": [
            {"name": "befund", "placement": "sealed", "type": "text", "maxLength": 100,
             "label": "Befund", "hint": "Freitext – bleibt versiegelt"},
            {"name": "template", "placement": "system", "source": "template_id",
             "label": "Vorlage"},
        ],
    })
}

fn vector(name: &str, source: &'static str, note: &str, input: Value) -> Vector {
    let t = Template::from_json(&input.to_string())
        .unwrap_or_else(|e| panic!("vector {name} does not load: {e}"));
    let canonical = t.canonical_json();
    assert_eq!(keccak256(canonical.as_bytes()), t.id());
    Vector {
        name: name.to_owned(),
        source,
        note: note.to_owned(),
        input,
        canonical,
        id: t.id().to_string(),
        selector: t.call().selector.to_string(),
    }
}

fn vectors() -> VectorFile {
    let mut vectors = Vec::new();
    for (name, json) in BUILT_IN_TEMPLATES {
        let input: Value = serde_json::from_str(json).unwrap();
        vectors.push(vector(
            name,
            "built-in",
            &format!("ehrchain-core/src/template/builtin/{name}.json"),
            input,
        ));
    }
    let pulse = vector(
        "pulse",
        "hand-written",
        "The worked example of docs/templates.md.",
        pulse(),
    );
    let pulse_id = pulse.id.clone();
    vectors.push(pulse);
    let explicit = vector(
        "pulse-explicit",
        "hand-written",
        "The pulse template with every default written out, its id declared and the function written differently: same canonical form and id.",
        pulse_explicit(&pulse_id),
    );
    assert_eq!(explicit.id, pulse_id);
    vectors.push(explicit);
    vectors.push(vector(
        "custody-step-detailed",
        "hand-written",
        "A chain field of every type that may go on chain (code as bytes32 and as string, enum as uint8, decimal as uint64, integer as int16, date-time, bool, address, bytes32); roles sorted, decimal bounds and code max_length normalised.",
        chain_mapping(),
    ));
    vectors.push(vector(
        "escapes",
        "hand-written",
        "Non-ASCII text stays raw UTF-8; quote, backslash and control characters are escaped as serde_json does; '/' is not escaped.",
        escapes(),
    ));
    VectorFile {
        description: "Template test vectors for docs/templates.md: for each template document `input`, `canonical` is its canonical JSON (UTF-8, the exact bytes hashed), `id` is keccak256(canonical) and `selector` is the 4-byte selector of call.function. Generated by ehrchain-core/tests/template_vectors.rs.",
        format: "ehrchain.template/1",
        vectors,
    }
}

#[test]
fn template_vectors_match_docs() {
    common::checked_vector_file(VECTORS, vectors);
}

/// Reads the file as another implementation would: every input yields its
/// canonical form and id, and every id is the keccak256 of its canonical form.
#[test]
fn template_vectors_are_self_consistent() {
    // What the file holds (or, while regenerating, what it is being rewritten to).
    let text = common::render(&vectors());
    let file: Value = serde_json::from_str(&text).unwrap();
    let vectors = file["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), BUILT_IN_TEMPLATES.len() + 4);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let canonical = v["canonical"].as_str().unwrap();
        let id = v["id"].as_str().unwrap();
        assert_eq!(keccak256(canonical.as_bytes()).to_string(), id, "{name}");
        let t = Template::from_json(&v["input"].to_string()).unwrap();
        assert_eq!(t.canonical_json(), canonical, "{name}");
        assert_eq!(t.id().to_string(), id, "{name}");
        assert_eq!(
            t.call().selector.to_string(),
            v["selector"].as_str().unwrap(),
            "{name}"
        );
        // The canonical form is itself a template document with the same id.
        assert_eq!(Template::from_json(canonical).unwrap().id(), t.id());
    }
    for (name, _) in BUILT_IN_TEMPLATES {
        assert!(
            vectors.iter().any(|v| v["name"] == name),
            "built-in {name} has no vector"
        );
    }
}
