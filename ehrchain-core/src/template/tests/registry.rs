//! The template registry: versions, activation, `forms_for` and the contract
//! ABI check.

use super::*;

fn versioned(version: u32, title: &str) -> Template {
    let mut doc = base_with("version", json!(version));
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
    assert_eq!(
        registry.add_json("{"),
        Err(RegistryError::Template(
            Template::from_json("{").unwrap_err()
        ))
    );
    json_error("{", "EOF while parsing an object");
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
    assert_eq!(
        registry.template(&unknown).map(|t| t.id()),
        Err(RegistryError::UnknownTemplate(unknown))
    );
    assert_eq!(registry.template(&v1).map(|t| t.id()), Ok(v1));
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
            "templateId",
            "name",
            "version",
            "title",
            "description",
            "patient",
            "fields"
        ])
    );
    assert_eq!(form["templateId"], json!(t.id().to_string()));
    assert_eq!(form["name"], json!("drug-shipment-custody"));
    assert_eq!(form["version"], json!(1));
    assert_eq!(form["patient"], json!(false));
    assert_eq!(
        form["fields"][0],
        json!({
            "name": "lot", "placement": "chain", "type": "code", "label": "Lot (batch) number",
            "hint": "As printed on the pack (GS1 AI 10)", "required": true, "identifying": false,
            "maxLength": 32,
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
    for (from, to, signature) in [
        // Same name, other parameter types.
        (
            "uint64",
            "uint256",
            "anchorRecord(bytes32,bytes32,bytes32,bytes32,uint256)",
        ),
        // No function of that name.
        (
            "anchorRecord",
            "storeRecord",
            "storeRecord(bytes32,bytes32,bytes32,bytes32,uint64)",
        ),
    ] {
        let mut doc = base();
        doc["call"]["function"] = json!(ANCHOR.replace(from, to));
        assert_eq!(
            registry.add_json(&doc.to_string()),
            Err(RegistryError::NotInContract {
                name: "test-form".into(),
                signature: signature.into(),
            })
        );
    }
    assert_eq!(registry.iter().count(), 0);
    // A built-in registry against that contract fails as a whole.
    let abi: JsonAbi = serde_json::from_str(
        r#"[{"type": "function", "name": "anchorBatch", "stateMutability": "nonpayable",
             "outputs": [], "inputs": [{"name": "root", "type": "bytes32"}]}]"#,
    )
    .unwrap();
    assert_eq!(
        TemplateRegistry::with_built_ins(Some(abi)).map(|r| r.iter().count()),
        Err(RegistryError::NotInContract {
            name: "blood-pressure".into(),
            signature: BUILT_IN_ANCHOR_TYPES.into(),
        })
    );
}

#[test]
fn summaries_list_every_version_with_whether_it_is_active() {
    let mut registry = TemplateRegistry::new();
    let v1 = registry.add(versioned(1, "One")).unwrap();
    let v2 = registry.add(versioned(2, "Two")).unwrap();
    registry.deactivate(&v1).unwrap();
    let mut summaries = registry.summaries();
    summaries.sort_by_key(|s| s.version);
    let listed: Vec<(B256, u32, &str, bool)> = summaries
        .iter()
        .map(|s| (s.id, s.version, s.title.as_str(), s.active))
        .collect();
    assert_eq!(listed, [(v1, 1, "One", false), (v2, 2, "Two", true)]);
    let json = serde_json::to_value(&summaries[1]).unwrap();
    assert_eq!(json["name"], "test-form");
    assert_eq!(json["id"], json!(v2));
    assert_eq!(
        json["roles"],
        json!(
            registry
                .get(&v2)
                .unwrap()
                .roles()
                .iter()
                .map(Role::name)
                .collect::<Vec<_>>()
        )
    );
}
