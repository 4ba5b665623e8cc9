//! Violations: missing, unknown and system fields, and every violation
//! reported at once.

use super::*;

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
fn names_sorting_next_to_field_names_are_unknown() {
    let (slots, violations) = check(json!({
        "": 0, "Int": 0, "a": 0, "in": 0, "int": 7, "int\u{0}": 0, "int_": 0, "inu": 0,
        "note": "hi", "notes": 0, "~": 0,
    }));
    let unknown: Vec<&str> = violations
        .iter()
        .inspect(|v| assert_eq!(v.kind, ViolationKind::UnknownField))
        .filter_map(|v| v.field.as_deref())
        .collect();
    assert_eq!(
        unknown,
        [
            "", "Int", "a", "in", "int\u{0}", "int_", "inu", "notes", "~"
        ]
    );
    assert_eq!(slots[slot("int")], Some(CheckedValue::Int(7)));
    assert_eq!(slots[slot("note")], Some(CheckedValue::Text("hi")));
    assert_eq!(slots[slot("req")], Some(CheckedValue::Int(1)));
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
    let json = r#"{"tiId":"0x0101010101010101010101010101010101010101010101010101010101010101",
 "templateId":"0x236a57f08a0710bf12410631c1d701f2e5f0057264b182fbf35b6b39036b2836",
 "authorId":"rn-0815","authorRole":"nurse","patientId":"MRN-000123",
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
