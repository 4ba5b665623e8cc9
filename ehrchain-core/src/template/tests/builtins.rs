//! The built-in templates.

use super::*;

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
