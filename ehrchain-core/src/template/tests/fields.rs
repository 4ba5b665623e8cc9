//! One test per field rejection: names, placements, types, sources,
//! attributes and what may go on chain.

use super::*;

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
        (json!({"type": "text"}), "maxLength"),
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
            json!({"type": "integer", "min": 0, "max": 1, "maxLength": 3}),
            "maxLength",
            "integer",
        ),
        (
            json!({"type": "decimal", "scale": 1, "min": "0", "max": "1", "codeSystem": "x"}),
            "codeSystem",
            "decimal",
        ),
        (json!({"type": "bool", "unit": "1"}), "unit", "bool"),
        (json!({"type": "bool", "min": 0}), "min", "bool"),
        (
            json!({"type": "text", "maxLength": 5, "unit": "1"}),
            "unit",
            "text",
        ),
        (
            json!({"type": "text", "maxLength": 5, "values": ["a"]}),
            "values",
            "text",
        ),
        (
            json!({"type": "enum", "values": ["a"], "maxLength": 3}),
            "maxLength",
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
            json!({"type": "bytes32", "codeSystem": "x"}),
            "codeSystem",
            "bytes32",
        ),
        (
            json!({"type": "bytes32", "maxLength": 32}),
            "maxLength",
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
        (json!({"maxLength": 32}), "maxLength"),
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
        json!({"type": "text", "maxLength": 10}),
        json!({"type": "enum", "values": ["a", "b"]}),
        json!({"type": "date-time"}),
        json!({"type": "code", "maxLength": 10, "codeSystem": "http://loinc.org"}),
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
    use super::decimal::DecimalError;
    let integer = "must be a JSON integer".to_owned();
    let decimal_string = "must be a decimal string such as \"36.5\"".to_owned();
    let enum_values = "must be a non-empty list of non-empty strings".to_owned();
    let cases = [
        (
            json!({"type": "integer", "min": "40", "max": 300}),
            "min",
            integer.clone(),
        ),
        (
            json!({"type": "integer", "min": 40.5, "max": 300}),
            "min",
            integer.clone(),
        ),
        (
            json!({"type": "integer", "min": 40.0, "max": 300}),
            "min",
            integer.clone(),
        ),
        (
            json!({"type": "integer", "min": 0, "max": 10_000_000_000_000_000_000u64}),
            "max",
            integer,
        ),
        (
            json!({"type": "integer", "min": 5, "max": 4}),
            "min",
            "5 is greater than max 4".into(),
        ),
        (
            json!({"type": "decimal", "scale": 19, "min": "0", "max": "1"}),
            "scale",
            "19 is above 18".into(),
        ),
        (
            json!({"type": "decimal", "scale": 1, "min": 25, "max": "45"}),
            "min",
            decimal_string.clone(),
        ),
        (
            json!({"type": "decimal", "scale": 1, "min": "25", "max": 45.5}),
            "max",
            decimal_string,
        ),
        (
            json!({"type": "decimal", "scale": 2, "min": "1.234", "max": "2"}),
            "min",
            DecimalError::TooPrecise(2).to_string(),
        ),
        (
            json!({"type": "decimal", "scale": 2, "min": "abc", "max": "2"}),
            "min",
            DecimalError::Syntax.to_string(),
        ),
        (
            json!({"type": "decimal", "scale": 2, "min": "1e3", "max": "2"}),
            "min",
            DecimalError::Syntax.to_string(),
        ),
        (
            json!({"type": "decimal", "scale": 0, "min": "0", "max": "9".repeat(40)}),
            "max",
            DecimalError::Overflow.to_string(),
        ),
        (
            json!({"type": "decimal", "scale": 1, "min": "2", "max": "1.9"}),
            "min",
            "is greater than max".into(),
        ),
        (
            json!({"type": "text", "maxLength": 0}),
            "maxLength",
            format!("must be 1 to {MAX_TEXT_LEN}"),
        ),
        (
            json!({"type": "text", "maxLength": MAX_TEXT_LEN + 1}),
            "maxLength",
            format!("must be 1 to {MAX_TEXT_LEN}"),
        ),
        (
            json!({"type": "enum", "values": []}),
            "values",
            enum_values.clone(),
        ),
        (
            json!({"type": "enum", "values": ["a", ""]}),
            "values",
            enum_values,
        ),
        (
            json!({"type": "enum", "values": ["a", "b", "a"]}),
            "values",
            "\"a\" appears twice".into(),
        ),
        (
            json!({"type": "code", "maxLength": 0}),
            "maxLength",
            format!("must be 1 to {MAX_CODE_LEN}"),
        ),
        (
            json!({"type": "code", "maxLength": MAX_CODE_LEN + 1}),
            "maxLength",
            format!("must be 1 to {MAX_CODE_LEN}"),
        ),
    ];
    for (field, attribute, reason) in cases {
        assert_eq!(
            reject(&sealed(field.clone())),
            TemplateError::InvalidAttribute {
                field: "v".into(),
                attribute,
                reason,
            },
            "{field}"
        );
    }
    // The limits themselves are accepted.
    for field in [
        json!({"type": "text", "maxLength": MAX_TEXT_LEN}),
        json!({"type": "code", "maxLength": MAX_CODE_LEN}),
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
        json!({"type": "text", "maxLength": 10, "required": true}),
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
    let doc = base_with("subject", json!("none"));
    assert_eq!(
        reject(&doc),
        TemplateError::PseudonymWithoutPatient("subject".into())
    );
}
