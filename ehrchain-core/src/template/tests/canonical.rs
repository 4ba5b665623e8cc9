//! Canonical form, round trips and content-derived ids.

use super::*;

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
        // The canonical form leaves the FHIR mapping out: same id, no mapping.
        assert!(t.fhir().is_some(), "{name} has a built-in FHIR mapping");
        assert_eq!(again.fhir(), None, "{name}");
        assert_eq!(again.id(), t.id(), "{name}");
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
        "{\"format\":\"ehrchain.template/1\",\"name\":\"test-form\",\"version\":1,\"title\":\"Test form\",\"roles\":[\"doctor\",\"nurse\"],\"subject\":\"patient\",\"call\":{\"function\":\"function anchorRecord(bytes32 subject, bytes32 templateId, bytes32 tiId, bytes32 recordHash, uint64 timestamp)\",\"arguments\":[\"subject\",\"template\",\"ti\",\"record_hash\",\"recorded_at\"]},\"fields\":[{\"name\":\"code\",\"placement\":\"sealed\",\"type\":\"code\",\"required\":false,\"identifying\":false,\"maxLength\":32},{\"name\":\"temp\",\"placement\":\"sealed\",\"type\":\"decimal\",\"required\":false,\"identifying\":false,\"min\":\"-5.00\",\"max\":\"42.50\",\"scale\":2}"
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
          {"maxLength":32,"type":"code","name":"site","placement":"sealed","required":false,"identifying":false},
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
                json!({"name": "note", "placement": "sealed", "type": "text", "maxLength": 9}),
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
