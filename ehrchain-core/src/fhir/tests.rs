//! Unit tests of the FHIR mapping on small resources written for them.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, keccak256};
use serde_json::{Value, json};

use super::*;
use crate::validator::{Anchor, InvalidReason, ViolationNote};
use crate::{Ack, AckStatus, UnixMillis};

const UCUM: &str = "http://unitsofmeasure.org";
const LOINC: &str = "http://loinc.org";
const MRN: &str = "urn:oid:1.2.36.146.595.217.0.1";

fn registry() -> TemplateRegistry {
    TemplateRegistry::with_built_ins(None).unwrap()
}

fn options() -> FhirOptions {
    FhirOptions::new(MRN)
}

fn template<'r>(registry: &'r TemplateRegistry, name: &str) -> &'r Template {
    registry.latest(name).unwrap()
}

fn quantity(value: Value, code: &str) -> Value {
    json!({"value": value, "system": UCUM, "code": code})
}

fn blood_pressure(systolic: Value) -> Value {
    json!({
        "resourceType": "Observation", "id": "bp-1", "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
        "subject": {"reference": "Patient/p1"},
        "performer": [{"reference": "Practitioner/n1"}],
        "effectiveDateTime": "2025-11-30T09:28:00Z",
        "component": [
            {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}, "valueQuantity": systolic},
            {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
             "valueQuantity": quantity(json!(80), "mm[Hg]")}
        ]
    })
}

fn patient() -> Value {
    json!({"resourceType": "Patient", "id": "p1",
           "identifier": [{"system": "urn:other", "value": "X"}, {"system": MRN, "value": "MRN-000123"}]})
}

fn nurse() -> Value {
    json!({"resourceType": "Practitioner", "id": "n1",
           "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "9999963099"}]})
}

fn bundle(entries: &[(&str, Value)]) -> String {
    let entries: Vec<Value> = entries
        .iter()
        .map(|(url, r)| json!({"fullUrl": url, "resource": r}))
        .collect();
    json!({"resourceType": "Bundle", "type": "collection", "entry": entries}).to_string()
}

fn bp_bundle(systolic: Value) -> String {
    bundle(&[
        ("urn:uuid:p1", patient()),
        ("urn:uuid:n1", nurse()),
        ("urn:uuid:bp-1", blood_pressure(systolic)),
    ])
}

/// The problems of a rejected mapping.
fn problems(result: Result<MappedTi, FhirError>) -> Vec<FhirProblem> {
    match result {
        Err(FhirError::Rejected { problems, .. }) => problems,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn the_one_rejection(mapping: &BundleMapping) -> Vec<FhirProblem> {
    let rejected: Vec<_> = mapping
        .unmapped
        .iter()
        .filter_map(|u| match &u.reason {
            FhirError::Rejected { problems, .. } => Some(problems.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(rejected.len(), 1, "{mapping:?}");
    rejected.into_iter().next().unwrap()
}

// ---- paths ----

struct NoBundle;
impl<'a> path::Resolve<'a> for NoBundle {
    fn resolve(&self, _: &str) -> Option<Json<'a>> {
        None
    }
}

fn eval(path: &str, root: &Value) -> Vec<Value> {
    let text = root.to_string();
    let doc = Doc::parse(&text).unwrap();
    FhirPath::parse(path)
        .unwrap()
        .eval(doc.root(), &NoBundle)
        .into_iter()
        .map(Json::to_value)
        .collect()
}

#[test]
fn paths_walk_arrays_choices_where_exists_and_first() {
    let bp = blood_pressure(quantity(json!(120), "mm[Hg]"));
    assert_eq!(eval("code.coding.code", &bp), vec![json!("85354-9")]);
    assert_eq!(
        eval("component.code.coding.code", &bp),
        vec![json!("8480-6"), json!("8462-4")]
    );
    assert_eq!(eval("effective", &bp), vec![json!("2025-11-30T09:28:00Z")]);
    assert_eq!(
        eval(
            "component.where(code.coding.exists(system = 'http://loinc.org' and code = '8462-4')).value.value",
            &bp
        ),
        vec![json!(80)]
    );
    assert_eq!(eval("component.first().value.value", &bp), vec![json!(120)]);
    assert_eq!(
        eval("where(code.coding.exists(code = '85354-9')).id", &bp),
        vec![json!("bp-1")]
    );
    assert_eq!(
        eval("where(code.coding.exists(code = '8867-4')).id", &bp),
        Vec::<Value>::new()
    );
    assert_eq!(
        eval("component.where(code.coding.code = 'nope')", &bp),
        Vec::<Value>::new()
    );
    // `=` needs exactly one value on its left: two component codes are not "one equal".
    assert_eq!(
        eval("where(component.code.coding.code = '8480-6')", &bp),
        Vec::<Value>::new()
    );
}

#[test]
fn resolve_follows_contained_references() {
    let admin = json!({"resourceType": "MedicationAdministration",
        "contained": [{"resourceType": "Medication", "id": "m1", "code": {"text": "Vancomycin"}}],
        "medicationReference": {"reference": "#m1"}})
    .to_string();
    let doc = Doc::parse(&admin).unwrap();
    let admin = doc.root();
    let resolver = bundle::Resolver {
        resource: admin,
        bundle: None,
    };
    let path = FhirPath::parse("medication.resolve().code.text").unwrap();
    let found: Vec<_> = path
        .eval(admin, &resolver)
        .into_iter()
        .map(Json::as_str)
        .collect();
    assert_eq!(found, vec![Some("Vancomycin")]);
}

#[test]
fn paths_outside_the_subset_are_refused_with_the_position() {
    for (path, message) in [
        (
            "code.coding.count()",
            "function count() is not in ehrchain's FHIRPath subset (first, resolve, where, exists) at byte 18 of \"code.coding.count()\"",
        ),
        (
            "code.where(system = 'x)",
            "the quoted text is not closed at byte 20 of \"code.where(system = 'x)\"",
        ),
        (
            "code.exists(code = 'x')",
            "exists(…) may only end a condition inside where(…)",
        ),
        (
            "code..coding",
            "expected an element name at byte 5 of \"code..coding\"",
        ),
        (
            "code.where(system)",
            "expected '=' and a quoted text, or a path ending in exists(…) at byte 17 of \"code.where(system)\"",
        ),
    ] {
        assert_eq!(FhirPath::parse(path).unwrap_err(), message, "{path}");
    }
    let deep = "a.where(b.where(c.where(d.where(e.where(f = 'x') = 'x') = 'x') = 'x') = 'x')";
    assert!(
        FhirPath::parse(deep)
            .unwrap_err()
            .starts_with("where(…) and exists(…) nest too deep")
    );
}

// ---- one resource, a Bundle ----

#[test]
fn a_blood_pressure_bundle_becomes_one_ti_and_three_reports() {
    let registry = registry();
    let procedure = json!({"resourceType": "Procedure", "id": "pr1",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "261352009"}]}});
    let json = bundle(&[
        ("urn:uuid:p1", patient()),
        ("urn:uuid:n1", nurse()),
        (
            "urn:uuid:bp-1",
            blood_pressure(quantity(json!(120), "mm[Hg]")),
        ),
        ("urn:uuid:pr1", procedure),
    ]);
    let mapping = map_bundle(&registry, &json, &options()).unwrap();
    let bp = template(&registry, "blood-pressure");
    let expected_id = keccak256(
        [
            b"ehrchain.fhir.ti-id/1".as_slice(),
            B256::ZERO.as_slice(),
            bp.id().as_slice(),
            b"urn:uuid:bp-1",
        ]
        .concat(),
    );
    assert_eq!(
        mapping.mapped,
        vec![MappedTi {
            ti: InitialTransaction {
                ti_id: expected_id,
                template_id: bp.id(),
                author_id: "Practitioner/n1".into(),
                author_role: Role::new("nurse").unwrap(),
                patient_id: Some("MRN-000123".into()),
                timestamp: 1_764_494_880,
                fields: BTreeMap::from([
                    ("diastolic".to_owned(), json!(80)),
                    ("measured_at".to_owned(), json!("2025-11-30T09:28:00Z")),
                    ("systolic".to_owned(), json!(120)),
                ]),
            },
            source: FhirSource {
                reference: "urn:uuid:bp-1".into(),
                resource_type: "Observation".into(),
                author: Some("Practitioner/n1".into()),
            },
        }]
    );
    let reported: Vec<(usize, Option<&str>, ErrorCodeName)> = mapping
        .unmapped
        .iter()
        .map(|u| (u.index, u.full_url.as_deref(), u.reason.code().name()))
        .collect();
    assert_eq!(
        reported,
        vec![
            (0, Some("urn:uuid:p1"), "EHR_FHIR_UNMAPPED"),
            (1, Some("urn:uuid:n1"), "EHR_FHIR_UNMAPPED"),
            (3, Some("urn:uuid:pr1"), "EHR_FHIR_UNMAPPED"),
        ]
    );
    assert_eq!(
        mapping.unmapped[2].reason.to_string(),
        "no loaded template maps this Procedure (codes http://snomed.info/sct|261352009): load a template whose \"fhir\" mapping selects it"
    );
}

type ErrorCodeName = &'static str;

#[test]
fn the_practitioner_identifier_system_names_the_author_and_the_salt_changes_the_ti_id() {
    let registry = registry();
    let json = bp_bundle(quantity(json!(120), "mm[Hg]"));
    let plain = map_bundle(&registry, &json, &options()).unwrap();
    let mut opts = options();
    opts.practitioner_identifier_system = Some("http://hl7.org/fhir/sid/us-npi".into());
    opts.ti_id_salt = B256::repeat_byte(7);
    let salted = map_bundle(&registry, &json, &opts).unwrap();
    assert_eq!(salted.mapped[0].ti.author_id, "9999963099");
    assert_eq!(
        salted.mapped[0].source.author.as_deref(),
        Some("Practitioner/n1")
    );
    assert_ne!(salted.mapped[0].ti.ti_id, plain.mapped[0].ti.ti_id);
    // The same input and salt: the same TI id (a Bundle sent twice anchors once).
    assert_eq!(map_bundle(&registry, &json, &opts).unwrap(), salted);
}

#[test]
fn the_mapped_ti_passes_the_generator() {
    use crate::{GeneratorConfig, InMemoryKeyStore, KeyId, MasterKey, TransactionGenerator};
    use rand_chacha::ChaCha20Rng;
    use rand_chacha::rand_core::SeedableRng;
    let registry = registry();
    let mapped = mapped_bp();
    let mut keys = InMemoryKeyStore::new();
    keys.insert(KeyId::new("records").unwrap(), MasterKey::new([1; 32]));
    keys.insert(KeyId::new("pseudonyms").unwrap(), MasterKey::new([2; 32]));
    let config = GeneratorConfig::new(
        1337,
        Address::repeat_byte(0xee),
        KeyId::new("records").unwrap(),
        KeyId::new("pseudonyms").unwrap(),
    )
    .unwrap();
    let generator = TransactionGenerator::new(config, keys).unwrap();
    let tc = generator
        .generate(
            &registry,
            &mapped.ti,
            UnixMillis::from_secs(1_764_495_000),
            &mut ChaCha20Rng::seed_from_u64(1),
        )
        .unwrap();
    assert_eq!(tc.ti_id, mapped.ti.ti_id);
}

#[test]
fn a_wrong_unit_is_refused_and_exact_conversions_are_made() {
    let registry = registry();
    let mapping = map_bundle(
        &registry,
        &bp_bundle(quantity(json!(16), "kPa")),
        &options(),
    )
    .unwrap();
    let path = "component.where(code.coding.exists(system = 'http://loinc.org' and code = '8480-6')).value";
    assert_eq!(
        the_one_rejection(&mapping),
        vec![FhirProblem {
            path: path.into(),
            field: Some("systolic".into()),
            kind: FhirProblemKind::WrongUnit {
                expected: "mm[Hg]".into(),
                found: "kPa".into()
            },
        }]
    );
    assert_eq!(
        mapping.unmapped[2].reason.to_string(),
        format!(
            "urn:uuid:bp-1 does not fill template blood-pressure: at {path} (field \"systolic\"): unit \"kPa\" where \"mm[Hg]\" (UCUM) is expected; ehrchain converts only the exact conversions listed in docs/fhir.md"
        )
    );
    // Kelvin converts exactly to the device template's degrees Celsius.
    let temperature = json!({"resourceType": "Observation", "id": "t1", "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "8310-5"}]},
        "subject": {"identifier": {"system": MRN, "value": "MRN-000123"}},
        "device": {"identifier": {"value": "SN-42"}},
        "effectiveDateTime": "2025-11-30T09:28:00+01:00",
        "valueQuantity": quantity(json!(310.15), "K")});
    let mapped = map_resource(&registry, &temperature.to_string(), &options()).unwrap();
    assert_eq!(mapped.ti.fields["temperature"], json!("37"));
    assert_eq!(mapped.ti.fields["device_serial"], json!("SN-42"));
    assert_eq!(mapped.ti.author_id, "SN-42");
    assert_eq!(mapped.ti.timestamp, 1_764_491_280);
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let registry = registry();
    let mut bp = blood_pressure(quantity(json!(301), "mm[Hg]"));
    bp["effectiveDateTime"] = json!("2025-11-30");
    bp["subject"] = json!({"reference": "Patient/nobody"});
    let json = bundle(&[("urn:uuid:n1", nurse()), ("urn:uuid:bp-1", bp)]);
    let mapping = map_bundle(&registry, &json, &options()).unwrap();
    let problems = the_one_rejection(&mapping);
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        vec![
            "at subject: reference \"Patient/nobody\" does not resolve in the Bundle",
            "at effective: \"2025-11-30\" is not a date-time with time of day and time zone",
            "at effective (field \"measured_at\"): \"2025-11-30\" is not a date-time with time of day and time zone",
            "at component.where(code.coding.exists(system = 'http://loinc.org' and code = '8480-6')).value (field \"systolic\"): 301 is outside the allowed range 40 to 300",
        ]
    );
}

#[test]
fn wrong_type_and_missing_codes_are_refused_when_the_template_is_named() {
    let registry = registry();
    let bp = template(&registry, "blood-pressure");
    let condition = json!({"resourceType": "Condition", "id": "c1"}).to_string();
    assert_eq!(
        problems(map_resource_to(bp, &condition, &options())),
        vec![FhirProblem {
            path: "resourceType".into(),
            field: None,
            kind: FhirProblemKind::WrongResourceType {
                expected: "Observation".into(),
                found: "Condition".into()
            },
        }]
    );
    let mut heart_rate = blood_pressure(quantity(json!(120), "mm[Hg]"));
    heart_rate["code"] = json!({"coding": [{"system": LOINC, "code": "8867-4"}]});
    heart_rate["subject"] = json!({"identifier": {"system": MRN, "value": "MRN-1"}});
    let found = problems(map_resource_to(bp, &heart_rate.to_string(), &options()));
    assert_eq!(
        found,
        vec![FhirProblem {
            path: "code.coding".into(),
            field: None,
            kind: FhirProblemKind::MissingCode {
                expected: vec!["http://loinc.org|85354-9".into()]
            },
        }]
    );
}

#[test]
fn malformed_and_oversized_input_is_refused() {
    let registry = registry();
    let cases: Vec<(String, &str, &str)> = vec![
        ("{".into(), "EHR_FHIR_MALFORMED", "the FHIR JSON is malformed: EOF while parsing an object at line 1 column 1"),
        ("{}".into(), "EHR_FHIR_MALFORMED", "the FHIR JSON is malformed: the document is not a FHIR resource: it has no resourceType"),
        (json!({"resourceType": "Patient"}).to_string(), "EHR_FHIR_MALFORMED", "expected a FHIR Bundle, found Patient"),
        (json!({"resourceType": "Bundle", "type": "document"}).to_string(), "EHR_FHIR_MALFORMED",
         "the Bundle is malformed: Bundle.type \"document\" is not one of collection, transaction, batch, searchset"),
        (json!({"resourceType": "Bundle", "type": "batch", "entry": {}}).to_string(), "EHR_FHIR_MALFORMED",
         "the Bundle is malformed: Bundle.entry is not an array"),
        (bundle(&[("urn:uuid:p1", patient()), ("urn:uuid:p1", patient())]), "EHR_FHIR_MALFORMED",
         "the Bundle is malformed: entry 1: fullUrl \"urn:uuid:p1\" is used by two entries"),
        (json!({"resourceType": "Bundle", "type": "collection", "entry": vec![json!({}); MAX_BUNDLE_ENTRIES + 1]}).to_string(),
         "EHR_FHIR_TOO_LARGE", "the Bundle has 100001 entries; at most 100000 are accepted: split the Bundle"),
        (" ".repeat(MAX_FHIR_JSON_LEN + 1), "EHR_FHIR_TOO_LARGE",
         "the FHIR JSON is 67108865 bytes; at most 67108864 are accepted: split the Bundle"),
    ];
    for (json, code, message) in cases {
        let e = map_bundle(&registry, &json, &options()).unwrap_err();
        assert_eq!((e.code().name(), e.to_string().as_str()), (code, message));
    }
    // An entry without a resource is reported, not dropped.
    let json = json!({"resourceType": "Bundle", "type": "searchset", "entry": [{"fullUrl": "urn:uuid:x"}]});
    let mapping = map_bundle(&registry, &json.to_string(), &options()).unwrap();
    assert_eq!(mapping.mapped, vec![]);
    assert_eq!(mapping.unmapped[0].full_url.as_deref(), Some("urn:uuid:x"));
    assert_eq!(
        mapping.unmapped[0].reason,
        FhirError::MalformedBundle("entry 0 has no resource".into())
    );
}

// ---- mappings in templates ----

fn bp_with_mapping(
    edit: impl FnOnce(&mut Value),
) -> Result<Template, crate::template::TemplateError> {
    let (_, json) = crate::template::BUILT_IN_TEMPLATES[0];
    let mut doc: Value = serde_json::from_str(json).unwrap();
    edit(&mut doc["fhir"]);
    Template::from_json(&doc.to_string())
}

#[test]
fn the_mapping_is_checked_when_the_template_loads() {
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|m| m["fields"]["pulse"] = json!({"path": "value"})),
            "field \"pulse\" is not a field of the template",
        ),
        (
            Box::new(|m| m["fields"]["subject"] = json!({"path": "subject"})),
            "field \"subject\" is filled by the system, not from the resource",
        ),
        (
            Box::new(|m| {
                m["fields"].as_object_mut().unwrap().remove("systolic");
            }),
            "required field \"systolic\" has no path: map it under \"fields\"",
        ),
        (
            Box::new(|m| m["author"]["role"] = json!("pathologist")),
            "author role pathologist may not submit the template; use one of its roles",
        ),
        (
            Box::new(|m| m["fields"]["note"]["unit"] = json!("mm[Hg]")),
            "field \"note\": a unit needs an integer or decimal field",
        ),
        (
            Box::new(|m| {
                m["fields"]["position"] =
                    json!({"path": "bodySite", "valueMap": {"x": "upside-down"}})
            }),
            "field \"position\": valueMap gives \"upside-down\", which is not one of the field's values",
        ),
        (
            Box::new(|m| m["time"] = json!("effective.last()")),
            "time: function last() is not in ehrchain's FHIRPath subset (first, resolve, where, exists) at byte 15 of \"effective.last()\"",
        ),
        (
            Box::new(|m| {
                m.as_object_mut().unwrap().remove("patient");
            }),
            "the template records a patient: say where in \"patient\"",
        ),
        (
            Box::new(|m| m["resourceType"] = json!("observation")),
            "resourceType \"observation\" is not a FHIR resource type name",
        ),
    ];
    for (edit, message) in cases {
        assert_eq!(
            bp_with_mapping(edit).unwrap_err().to_string(),
            format!("template fhir mapping: {message}")
        );
    }
}

#[test]
fn the_mapping_is_not_part_of_the_template_id() {
    let with = bp_with_mapping(|_| {}).unwrap();
    let other = bp_with_mapping(|m| m["author"]["role"] = json!("doctor")).unwrap();
    let without = bp_with_mapping(|m| *m = Value::Null).unwrap();
    assert_eq!(with.id(), other.id());
    assert_eq!(with.id(), without.id());
    assert_eq!(without.fhir(), None);
    // `to_json` keeps the mapping; reading it back gives the same template.
    assert_eq!(Template::from_json(&with.to_json()).unwrap(), with);
}

// ---- back to FHIR ----

/// The TI of a Bundle with one blood pressure (systolic 120 mm[Hg]).
fn mapped_bp() -> MappedTi {
    map_bundle(
        &registry(),
        &bp_bundle(quantity(json!(120), "mm[Hg]")),
        &options(),
    )
    .unwrap()
    .mapped
    .remove(0)
}

fn context() -> AnchorContext {
    AnchorContext {
        chain_id: 1337,
        registry: Address::repeat_byte(0xee),
    }
}

/// A valid ACK of `mapped`, anchored by transaction 0xcd…, with `authorship`.
fn valid_ack(mapped: &MappedTi, authorship: Option<crate::authorship::SignedStatement>) -> Ack {
    Ack {
        ti_id: mapped.ti.ti_id,
        template_id: mapped.ti.template_id,
        record_hash: Some(B256::repeat_byte(0xab)),
        envelope: None,
        authorship,
        status: AckStatus::Valid(Anchor {
            tx_hash: Some(crate::TxHash(B256::repeat_byte(0xcd))),
            block_number: Some(5),
            block_hash: Some(B256::repeat_byte(5)),
            log_index: Some(0),
            gas_used: Some(50_000),
            replay: false,
            recovered: None,
            batch: None,
            final_block: None,
        }),
    }
}

#[test]
fn a_valid_ack_becomes_a_provenance() {
    let mapped = mapped_bp();
    let ack = valid_ack(&mapped, None);
    let registry = format!("{}", Address::repeat_byte(0xee));
    let expected = json!({
        "resourceType": "Provenance",
        "target": [{"reference": "urn:uuid:bp-1"}],
        "recorded": "2025-11-30T09:30:00.123Z",
        "policy": [format!("urn:ehrchain:registry:eip155:1337:{registry}")],
        "agent": [{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                 "code": "author", "display": "Author"}]},
            "role": [{"coding": [{"system": "urn:ehrchain:role", "code": "nurse"}]}],
            "who": {"reference": "Practitioner/n1"},
        }],
        "entity": [
            {"role": "source", "what": {"identifier": {"system": "urn:ehrchain:record-hash",
                "value": B256::repeat_byte(0xab).to_string()}, "display": "sealed record (SHA-256 of its envelope)"}},
            {"role": "source", "what": {"identifier": {"system": "urn:ehrchain:template",
                "value": mapped.ti.template_id.to_string()}, "display": "ehrchain template"}},
            {"role": "source", "what": {"identifier": {"system": "urn:ehrchain:ti-id",
                "value": mapped.ti.ti_id.to_string()}, "display": "ehrchain TI id"}},
            {"role": "source", "what": {"identifier": {"system": "urn:ehrchain:transaction",
                "value": format!("eip155:1337:{}", B256::repeat_byte(0xcd))}, "display": "anchoring transaction"}},
        ],
    });
    let at = UnixMillis(1_764_495_000_123);
    assert_eq!(ack_to_fhir(&ack, &mapped, &context(), at), expected);
    assert_eq!(provenance(&ack, &mapped, &context(), at), Some(expected));
}

#[test]
fn an_invalid_ack_becomes_an_audit_event_with_the_reason() {
    let mapped = mapped_bp();
    // The TI's ids, no record hash, refused.
    let ack = Ack {
        record_hash: None,
        status: AckStatus::Invalid {
            reason: InvalidReason::TemplateViolations {
                violations: vec![ViolationNote {
                    field: None,
                    message: "role \"patient\" may not submit this template".into(),
                }],
            },
            tx_hashes: vec![],
        },
        ..valid_ack(&mapped, None)
    };
    let at = UnixMillis(1_764_495_000_000);
    assert_eq!(provenance(&ack, &mapped, &context(), at), None);
    let event = ack_to_fhir(&ack, &mapped, &context(), at);
    assert_eq!(event, audit_event(&ack, &mapped, &context(), at));
    assert_eq!(event["resourceType"], "AuditEvent");
    assert_eq!(event["recorded"], "2025-11-30T09:30:00Z");
    assert_eq!(event["outcome"], "8");
    assert_eq!(
        event["outcomeDesc"],
        "the TI breaks its template: role \"patient\" may not submit this template"
    );
    assert_eq!(event["agent"][0]["requestor"], true);
    assert_eq!(
        event["agent"][0]["who"],
        json!({"reference": "Practitioner/n1"})
    );
    assert_eq!(
        event["entity"][0],
        json!({
            "what": {"reference": "urn:uuid:bp-1"},
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                     "code": "2", "display": "System Object"},
            "detail": [
                {"type": "tiId", "valueString": mapped.ti.ti_id.to_string()},
                {"type": "templateId", "valueString": mapped.ti.template_id.to_string()},
            ],
        })
    );
}

#[test]
fn a_missing_required_value_is_reported_once() {
    let mut bp = blood_pressure(quantity(json!(120), "mm[Hg]"));
    bp["component"].as_array_mut().unwrap().pop();
    let json = bundle(&[
        ("urn:uuid:p1", patient()),
        ("urn:uuid:n1", nurse()),
        ("urn:uuid:bp-1", bp),
    ]);
    let mapping = map_bundle(&registry(), &json, &options()).unwrap();
    assert_eq!(
        the_one_rejection(&mapping),
        vec![FhirProblem {
            path: "component.where(code.coding.exists(system = 'http://loinc.org' and code = '8462-4')).value".into(),
            field: Some("diastolic".into()),
            kind: FhirProblemKind::Missing,
        }]
    );
}

#[test]
fn a_signed_acks_provenance_carries_the_authors_signature() {
    use crate::authorship::{RecordStatement, SignedStatement};
    let mapped = mapped_bp();
    let author = Address::repeat_byte(0x19);
    let signed = SignedStatement {
        statement: RecordStatement {
            tiId: mapped.ti.ti_id,
            templateId: mapped.ti.template_id,
            recordHash: B256::repeat_byte(0xab),
            subject: B256::repeat_byte(7),
            role: mapped.ti.author_role.id(),
            author,
            timestamp: 1_764_495_000,
        },
        signature: [[0x11; 32].as_slice(), &[0x22; 32], &[27]].concat().into(),
    };
    let ack = valid_ack(&mapped, Some(signed));
    let provenance = provenance(&ack, &mapped, &context(), UnixMillis(1_764_495_000_123)).unwrap();
    assert_eq!(
        provenance["signature"],
        json!([{
            "type": [{"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1",
                      "display": "Author's Signature"}],
            "when": "2025-11-30T09:30:00Z",
            "who": {"identifier": {"system": "urn:ehrchain:account",
                                   "value": format!("eip155:1337:{author}")}},
            "sigFormat": "application/vnd.ehrchain.record-statement.eip712",
            "data": "EREREREREREREREREREREREREREREREREREREREREREiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIhs=",
        }])
    );
}
