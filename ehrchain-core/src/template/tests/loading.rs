//! Document-level loading: malformed JSON, keys, types, format, name,
//! version, title, roles, subject and the declared id.

use super::*;

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
    json_error("{", "EOF while parsing an object");
    json_error("[]", "invalid length 0, expected struct TemplateDoc");
    json_error("", "EOF while parsing a value");
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
        json_error(&doc.to_string(), &format!("missing field `{key}`"));
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
    for (doc, expected) in [
        (top, "unknown field `titel`, expected one of `format`"),
        (
            call,
            "unknown field `args`, expected `function` or `arguments`",
        ),
        (field, "unknown field `lable`, expected one of `name`"),
        (
            concept,
            "unknown field `name`, expected one of `system`, `code`, `display`",
        ),
    ] {
        json_error(&doc.to_string(), expected);
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
    for (doc, expected) in [
        (version, "invalid type: string \"1\", expected u32"),
        (negative, "invalid value: integer `-1`, expected u32"),
        (required, "invalid type: string \"yes\", expected a boolean"),
        (scale, "invalid value: integer `256`, expected u8"),
        (
            roles,
            "invalid type: string \"doctor\", expected a sequence",
        ),
    ] {
        json_error(&doc.to_string(), expected);
    }
}

#[test]
fn rejects_duplicate_json_key() {
    let json = base().to_string().replacen(
        "\"name\":\"test-form\"",
        "\"name\":\"test-form\",\"name\":\"other\"",
        1,
    );
    json_error(&json, "duplicate field `name`");
}

#[test]
fn rejects_unsupported_format() {
    let doc = base_with("format", json!("ehrchain.template/2"));
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
        let doc = base_with("name", json!(bad));
        assert_eq!(reject(&doc), TemplateError::InvalidName(bad.into()));
    }
    for good in ["a", "bp-2", "x-", &"a".repeat(MAX_NAME_LEN)] {
        let doc = base_with("name", json!(good));
        assert_eq!(ok(&doc).name(), good);
    }
}

#[test]
fn rejects_zero_version() {
    let doc = base_with("version", json!(0));
    assert_eq!(reject(&doc), TemplateError::ZeroVersion);
}

#[test]
fn rejects_missing_title() {
    for title in ["", "  \t "] {
        let doc = base_with("title", json!(title));
        assert_eq!(reject(&doc), TemplateError::MissingTitle);
    }
}

#[test]
fn rejects_no_roles() {
    let doc = base_with("roles", json!([]));
    assert_eq!(reject(&doc), TemplateError::NoRoles);
}

#[test]
fn rejects_invalid_role() {
    let doc = base_with("roles", json!(["doctor", "Nurse"]));
    assert_eq!(
        reject(&doc),
        TemplateError::InvalidRole(crate::role::InvalidRoleName("Nurse".into()))
    );
}

#[test]
fn rejects_duplicate_role() {
    let doc = base_with("roles", json!(["nurse", "doctor", "nurse"]));
    assert_eq!(reject(&doc), TemplateError::DuplicateRole("nurse".into()));
}

#[test]
fn rejects_unknown_subject() {
    let doc = base_with("subject", json!("patients"));
    assert_eq!(
        reject(&doc),
        TemplateError::UnknownSubject("patients".into())
    );
}

#[test]
fn rejects_id_mismatch() {
    let t = ok(&base());
    let mut doc = base_with("id", json!(B256::repeat_byte(0xab).to_string()));
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
    let mut doc = base_with("id", json!(t.id().to_string()));
    doc["title"] = json!("Edited");
    let edited = ok(&base_with("title", json!("Edited"))).id();
    assert_ne!(edited, t.id());
    assert_eq!(
        reject(&doc),
        TemplateError::IdMismatch {
            declared: t.id().to_string(),
            computed: edited,
        }
    );
}

#[test]
fn declared_id_is_compared_as_a_value() {
    let t = ok(&base());
    let mut doc = base_with("id", json!(t.id().to_string()));
    assert_eq!(ok(&doc), t);
    let upper = format!("0x{}", alloy_primitives::hex::encode_upper(t.id()));
    doc["id"] = json!(upper);
    assert_eq!(ok(&doc), t);
    doc["id"] = json!(alloy_primitives::hex::encode(t.id()));
    assert_eq!(ok(&doc), t, "the 0x prefix is optional");
    doc["id"] = Value::Null;
    assert_eq!(ok(&doc), t);
    doc["id"] = json!(1);
    json_error(
        &doc.to_string(),
        "invalid type: integer `1`, expected a string",
    );
}
