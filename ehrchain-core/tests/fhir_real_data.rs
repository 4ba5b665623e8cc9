//! The FHIR mapping on real FHIR R4 data nobody in this project wrote: the
//! official R4 4.0.1 examples and two Synthea patient Bundles, read from
//! `../shared/fhir/` beside the repository (its README names the sources).
//! Where that folder is absent the tests say so and pass without checking.
//!
//! Every entry of the Synthea Bundles is either mapped or reported with a
//! reason; the suite prints both counts and the reasons, and the numbers are
//! pinned, so a change in the mapping shows here. The resources ehrchain
//! writes back (Provenance, AuditEvent) are saved to `target/fhir-out/` for
//! the independent validator (`scripts/fhir-validate.sh`).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use ehrchain_core::authorship::{LocalSigner, SignedStatement, Signer, SigningRequest};
use ehrchain_core::fhir::{
    AnchorContext, BundleMapping, FhirError, FhirOptions, MappedTi, ack_to_fhir, map_bundle,
};
use ehrchain_core::validator::{Anchor, InvalidReason};
use ehrchain_core::{
    Ack, AckStatus, Address, B256, BatchBuilder, ChainTransaction, InMemoryKeyStore,
    TemplateRegistry, TransactionGenerator, TxHash, UnixMillis,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use serde_json::{Value, json};

/// Synthea's medical record numbers.
const SYNTHEA_MRN: &str = "http://hospital.smarthealthit.org";
/// The official examples' patient identifier system (Patient/example).
const EXAMPLE_MRN: &str = "urn:oid:1.2.36.146.595.217.0.1";
/// After every timestamp in the data.
const NOW: UnixMillis = UnixMillis::from_secs(1_800_000_000);

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fhir");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "SKIPPED: {} is absent (CI has it beside the clone); the real-data FHIR suite did not run",
            dir.display()
        );
        None
    }
}

fn read(dir: &std::path::Path, file: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(file)).expect(file);
    serde_json::from_str(&text).expect(file)
}

fn registry() -> TemplateRegistry {
    TemplateRegistry::with_built_ins(None).unwrap()
}

fn generator() -> TransactionGenerator<InMemoryKeyStore> {
    common::test_keys::keyed_generator(
        ("records", [1; 32]),
        [2; 32],
        1337,
        Address::repeat_byte(0xee),
    )
}

fn context() -> AnchorContext {
    AnchorContext {
        chain_id: 1337,
        registry: Address::repeat_byte(0xee),
    }
}

/// Counts of mapped entries by template and of unmapped ones by reason code.
fn summary(registry: &TemplateRegistry, mapping: &BundleMapping) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in &mapping.mapped {
        let name = registry.get(&m.ti.template_id).unwrap().name().to_owned();
        *counts.entry(format!("mapped {name}")).or_default() += 1;
    }
    for u in &mapping.unmapped {
        let what = format!(
            "unmapped {} {}",
            u.resource_type.as_deref().unwrap_or("?"),
            u.reason.code().name()
        );
        *counts.entry(what).or_default() += 1;
    }
    counts
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/fhir-out");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A valid ACK for a TC, as the validator would give after anchoring it.
fn valid_ack(mapped: &MappedTi, record_hash: B256, tx: u8) -> Ack {
    Ack {
        ti_id: mapped.ti.ti_id,
        template_id: mapped.ti.template_id,
        record_hash: Some(record_hash),
        envelope: None,
        authorship: None,
        status: AckStatus::Valid(Anchor {
            tx_hash: Some(TxHash(B256::repeat_byte(tx))),
            block_number: Some(7),
            block_hash: Some(B256::repeat_byte(7)),
            log_index: Some(0),
            gas_used: Some(60_000),
            replay: false,
            recovered: None,
            batch: None,
            final_block: None,
        }),
    }
}

/// `tc`'s statement signed by a test author (`None` for a TC that is not one
/// record's `anchorRecord`).
fn signed_by_author(tc: ChainTransaction) -> Option<SignedStatement> {
    let author = LocalSigner::from_bytes(&[0x11; 32]).unwrap();
    let request = SigningRequest::new(tc, author.address()).ok()?;
    let signature = author.sign(&request).unwrap();
    request.attach(&signature).unwrap().signed_statement()
}

#[test]
fn every_entry_of_the_synthea_bundles_is_mapped_or_reported() {
    let Some(dir) = data_dir() else { return };
    let registry = registry();
    let generator = generator();
    let mut options = FhirOptions::new(SYNTHEA_MRN);
    options.practitioner_identifier_system = Some("http://hl7.org/fhir/sid/us-npi".into());
    let expected: [(&str, &[(&str, usize)]); 2] = [
        (
            "synthea/pathling_Alfonzo975_Hickle134_cd3d3588-94fc-b980-9e94-0390d989d921.json",
            &[
                ("mapped blood-pressure", 4),
                ("unmapped CarePlan EHR_FHIR_UNMAPPED", 1),
                ("unmapped CareTeam EHR_FHIR_UNMAPPED", 1),
                ("unmapped Claim EHR_FHIR_UNMAPPED", 8),
                ("unmapped Condition EHR_FHIR_REJECTED", 13),
                ("unmapped DiagnosticReport EHR_FHIR_UNMAPPED", 11),
                ("unmapped Encounter EHR_FHIR_UNMAPPED", 8),
                ("unmapped ExplanationOfBenefit EHR_FHIR_UNMAPPED", 8),
                ("unmapped Immunization EHR_FHIR_UNMAPPED", 7),
                ("unmapped Observation EHR_FHIR_REJECTED", 31),
                ("unmapped Observation EHR_FHIR_UNMAPPED", 34),
                ("unmapped Organization EHR_FHIR_UNMAPPED", 2),
                ("unmapped Patient EHR_FHIR_UNMAPPED", 1),
                ("unmapped Practitioner EHR_FHIR_UNMAPPED", 2),
                ("unmapped Procedure EHR_FHIR_UNMAPPED", 23),
            ],
        ),
        (
            "synthea/pathling_Tuyet839_Boyle917_3fc4d5b0-9e46-4307-8c05-e4cef7602e7f.json",
            &[
                ("mapped blood-pressure", 11),
                ("unmapped CarePlan EHR_FHIR_UNMAPPED", 2),
                ("unmapped CareTeam EHR_FHIR_UNMAPPED", 2),
                ("unmapped Claim EHR_FHIR_UNMAPPED", 12),
                ("unmapped Condition EHR_FHIR_REJECTED", 8),
                ("unmapped DiagnosticReport EHR_FHIR_UNMAPPED", 3),
                ("unmapped Encounter EHR_FHIR_UNMAPPED", 12),
                ("unmapped ExplanationOfBenefit EHR_FHIR_UNMAPPED", 12),
                ("unmapped Immunization EHR_FHIR_UNMAPPED", 24),
                ("unmapped Observation EHR_FHIR_REJECTED", 45),
                ("unmapped Observation EHR_FHIR_UNMAPPED", 61),
                ("unmapped Organization EHR_FHIR_UNMAPPED", 2),
                ("unmapped Patient EHR_FHIR_UNMAPPED", 1),
                ("unmapped Practitioner EHR_FHIR_UNMAPPED", 2),
                ("unmapped Procedure EHR_FHIR_UNMAPPED", 3),
            ],
        ),
    ];
    let mut saved = Vec::new();
    for (file, counts) in expected {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let entries = serde_json::from_str::<Value>(&text).unwrap()["entry"]
            .as_array()
            .unwrap()
            .len();
        let mapping = map_bundle(&registry, &text, &options).unwrap();
        println!(
            "{file}: {entries} entries, {} mapped, {} reported with a reason",
            mapping.mapped.len(),
            mapping.unmapped.len()
        );
        assert_eq!(mapping.mapped.len() + mapping.unmapped.len(), entries);
        let summary = summary(&registry, &mapping);
        for (what, n) in &summary {
            println!("  {n:4} {what}");
        }
        let mut reasons = BTreeMap::<String, usize>::new();
        for u in &mapping.unmapped {
            assert!(u.full_url.is_some(), "entry {} has no fullUrl", u.index);
            match &u.reason {
                FhirError::Rejected {
                    template, problems, ..
                } => {
                    for p in problems {
                        *reasons.entry(format!("{template}: {p}")).or_default() += 1;
                    }
                }
                other => *reasons.entry(other.to_string()).or_default() += 1,
            }
        }
        println!("  reasons:");
        for (reason, n) in &reasons {
            println!("  {n:4} {reason}");
        }
        let got: Vec<(&str, usize)> = summary.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(got, counts, "{file}");

        // Every mapped TI makes a TC, and all of them go into one batch.
        let mut batch = BatchBuilder::new();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for (i, mapped) in mapping.mapped.iter().enumerate() {
            let tc = generator
                .generate(&registry, &mapped.ti, NOW, &mut rng)
                .unwrap_or_else(|e| panic!("{}: {e}", mapped.source.reference));
            batch.push(tc.record_hash).unwrap();
            if i == 0 {
                saved.push(ack_to_fhir(
                    &valid_ack(mapped, tc.record_hash, 0xcd),
                    mapped,
                    &context(),
                    NOW,
                ));
            }
        }
        let batch = batch.build(B256::repeat_byte(1)).unwrap();
        assert_eq!(batch.leaf_count() as usize, mapping.mapped.len());
    }
    write_out("synthea.json", &saved);
}

fn write_out(name: &str, resources: &[Value]) {
    let path = out_dir().join(name);
    std::fs::write(&path, serde_json::to_string_pretty(resources).unwrap()).unwrap();
    println!(
        "wrote {} FHIR resources to {}",
        resources.len(),
        path.display()
    );
}

/// Stand-ins for the patients and practitioners the official examples refer
/// to but the specification does not publish beside them (Patient/example is
/// real and used as it is).
fn stand_ins(resource: &Value, patient_example: &Value) -> Vec<Value> {
    let mut found = Vec::new();
    collect_references(resource, &mut found);
    found.sort();
    found.dedup();
    found
        .into_iter()
        .filter_map(|reference| {
            let (kind, id) = reference.split_once('/')?;
            match (kind, id) {
                ("Patient", "example") => Some(patient_example.clone()),
                ("Patient", _) => Some(json!({"resourceType": "Patient", "id": id,
                    "identifier": [{"system": EXAMPLE_MRN, "value": format!("stand-in-{id}")}]})),
                ("Practitioner", _) => Some(json!({"resourceType": "Practitioner", "id": id})),
                _ => None,
            }
        })
        .collect()
}

fn collect_references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("reference", Value::String(r)) => out.push(r.clone()),
                    _ => collect_references(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}

#[test]
fn the_official_r4_examples_are_mapped_or_refused_with_a_reason() {
    let Some(dir) = data_dir() else { return };
    let registry = registry();
    let generator = generator();
    let patient_example = read(&dir, "r4-examples/patient-example.json");
    let mut files: Vec<String> = std::fs::read_dir(dir.join("r4-examples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| {
            [
                "observation",
                "condition",
                "medicationadministration",
                "supplydelivery",
            ]
            .iter()
            .any(|p| f.starts_with(p))
        })
        .collect();
    files.sort();
    let mut outcomes = BTreeMap::new();
    let mut saved = Vec::new();
    for file in &files {
        let resource = read(&dir, &format!("r4-examples/{file}"));
        let mut entries = vec![json!({"fullUrl": format!("http://hl7.org/fhir/{}/{}",
            resource["resourceType"].as_str().unwrap(), resource["id"].as_str().unwrap()),
            "resource": resource})];
        for r in stand_ins(&entries[0]["resource"], &patient_example) {
            entries.push(json!({"resource": r}));
        }
        let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
        let mapping = map_bundle(
            &registry,
            &bundle.to_string(),
            &FhirOptions::new(EXAMPLE_MRN),
        )
        .unwrap();
        let outcome = match mapping.unmapped.iter().find(|u| u.index == 0) {
            None => {
                let mapped = &mapping.mapped[0];
                let tc = generator
                    .generate(
                        &registry,
                        &mapped.ti,
                        NOW,
                        &mut ChaCha20Rng::seed_from_u64(5),
                    )
                    .unwrap();
                // The official examples' Provenances carry the author's signature.
                let ack = Ack {
                    authorship: signed_by_author(tc.clone()),
                    ..valid_ack(mapped, tc.record_hash, 0xab)
                };
                assert!(ack.authorship.is_some(), "{file}: a single record signs");
                saved.push(ack_to_fhir(&ack, mapped, &context(), NOW));
                let name = registry.get(&mapped.ti.template_id).unwrap().name();
                println!("{file}: mapped to {name}");
                if file == "medicationadministration0304.json" {
                    // The medication comes from the contained Medication.
                    assert_eq!(
                        serde_json::to_value(&mapped.ti.fields).unwrap(),
                        json!({"administered_at": "2015-01-15T04:30:00+01:00", "dose": "3",
                               "dose_unit": "mg", "medication_code": "1594660",
                               "medication_name": "Alemtuzumab 10mg/ml (Lemtrada)",
                               "route": "intravenous"})
                    );
                    assert_eq!(mapped.ti.patient_id.as_deref(), Some("stand-in-pat1"));
                    assert_eq!(mapped.ti.author_id, "Practitioner/f007");
                    assert_eq!(mapped.ti.timestamp, 1_421_292_600);
                }
                format!("mapped to {name}")
            }
            Some(u) => {
                println!("{file}: {}", u.reason);
                if file == "observation-example-bloodpressure.json" {
                    // The official blood pressure gives its time as a date only.
                    assert_eq!(
                        u.reason.to_string(),
                        "http://hl7.org/fhir/Observation/blood-pressure does not fill template blood-pressure: \
                         at effective: \"2012-09-17\" is not a date-time with time of day and time zone; \
                         at effective (field \"measured_at\"): \"2012-09-17\" is not a date-time with time of day and time zone"
                    );
                }
                match &u.reason {
                    FhirError::Rejected {
                        template, problems, ..
                    } => format!("{template}: {} problem(s)", problems.len()),
                    other => other.code().name().to_owned(),
                }
            }
        };
        outcomes.insert(file.as_str(), outcome);
    }
    // An invalid ACK for the first mapped example, as an AuditEvent.
    write_out("r4-examples.json", &saved);
    let got: Vec<(&str, &str)> = outcomes.iter().map(|(f, o)| (*f, o.as_str())).collect();
    assert_eq!(got, EXPECTED_R4);
}

#[test]
fn invalid_acks_become_audit_events_the_validator_can_read() {
    let Some(dir) = data_dir() else { return };
    let registry = registry();
    let text = std::fs::read_to_string(
        dir.join("synthea/pathling_Tuyet839_Boyle917_3fc4d5b0-9e46-4307-8c05-e4cef7602e7f.json"),
    )
    .unwrap();
    let mapping = map_bundle(&registry, &text, &FhirOptions::new(SYNTHEA_MRN)).unwrap();
    let mapped = &mapping.mapped[0];
    // The TI's ids, no record hash, dropped.
    let ack = Ack {
        record_hash: None,
        status: AckStatus::Invalid {
            reason: InvalidReason::Dropped { resubmissions: 3 },
            tx_hashes: vec![TxHash(B256::repeat_byte(0x11))],
        },
        ..valid_ack(mapped, B256::ZERO, 0)
    };
    let event = ack_to_fhir(&ack, mapped, &context(), NOW);
    assert_eq!(event["resourceType"], "AuditEvent");
    assert_eq!(
        event["outcome"], "4",
        "a dropped transaction may be run again"
    );
    assert_eq!(
        event["entity"][0]["what"]["reference"],
        json!(mapped.source.reference)
    );
    write_out("audit-events.json", &[event]);
}

/// What becomes of each official example (the messages are printed).
const EXPECTED_R4: &[(&str, &str)] = &[
    (
        "condition-example-f001-heart.json",
        "diagnosis: 3 problem(s)",
    ),
    (
        "condition-example-f002-lung.json",
        "diagnosis: 3 problem(s)",
    ),
    (
        "condition-example-f003-abscess.json",
        "diagnosis: 3 problem(s)",
    ),
    (
        "condition-example-f201-fever.json",
        "diagnosis: 3 problem(s)",
    ),
    (
        "condition-example-f202-malignancy.json",
        "diagnosis: 4 problem(s)",
    ),
    (
        "condition-example-f203-sepsis.json",
        "diagnosis: 3 problem(s)",
    ),
    (
        "condition-example-f204-renal.json",
        "diagnosis: 3 problem(s)",
    ),
    (
        "condition-example-f205-infection.json",
        "diagnosis: 2 problem(s)",
    ),
    (
        "condition-example-family-history.json",
        "diagnosis: 4 problem(s)",
    ),
    ("condition-example-stroke.json", "diagnosis: 4 problem(s)"),
    ("condition-example.json", "diagnosis: 4 problem(s)"),
    ("condition-example2.json", "diagnosis: 4 problem(s)"),
    (
        "medicationadministration0301.json",
        "medication-administration: 1 problem(s)",
    ),
    (
        "medicationadministration0302.json",
        "medication-administration: 1 problem(s)",
    ),
    (
        "medicationadministration0303.json",
        "medication-administration: 1 problem(s)",
    ),
    (
        "medicationadministration0304.json",
        "mapped to medication-administration",
    ),
    (
        "medicationadministration0305.json",
        "mapped to medication-administration",
    ),
    (
        "medicationadministration0306.json",
        "medication-administration: 1 problem(s)",
    ),
    (
        "medicationadministration0307.json",
        "mapped to medication-administration",
    ),
    (
        "medicationadministration0308.json",
        "mapped to medication-administration",
    ),
    (
        "medicationadministration0309.json",
        "medication-administration: 1 problem(s)",
    ),
    (
        "medicationadministration0310.json",
        "mapped to medication-administration",
    ),
    (
        "medicationadministration0311.json",
        "medication-administration: 1 problem(s)",
    ),
    (
        "medicationadministration0312.json",
        "medication-administration: 2 problem(s)",
    ),
    (
        "medicationadministration0313.json",
        "medication-administration: 1 problem(s)",
    ),
    (
        "medicationadministrationexample3.json",
        "medication-administration: 5 problem(s)",
    ),
    (
        "observation-example-bloodpressure-cancel.json",
        "EHR_FHIR_UNMAPPED",
    ),
    (
        "observation-example-bloodpressure-dar.json",
        "blood-pressure: 3 problem(s)",
    ),
    (
        "observation-example-bloodpressure.json",
        "blood-pressure: 2 problem(s)",
    ),
    ("observation-example-bmi.json", "EHR_FHIR_UNMAPPED"),
    ("observation-example-body-height.json", "EHR_FHIR_UNMAPPED"),
    ("observation-example-body-length.json", "EHR_FHIR_UNMAPPED"),
    (
        "observation-example-body-temperature.json",
        "device-vital-sign: 4 problem(s)",
    ),
    ("observation-example-f001-glucose.json", "EHR_FHIR_UNMAPPED"),
    ("observation-example-f002-excess.json", "EHR_FHIR_UNMAPPED"),
    ("observation-example-f003-co2.json", "EHR_FHIR_UNMAPPED"),
    (
        "observation-example-f004-erythrocyte.json",
        "EHR_FHIR_UNMAPPED",
    ),
    (
        "observation-example-f005-hemoglobin.json",
        "EHR_FHIR_UNMAPPED",
    ),
    (
        "observation-example-f203-bicarbonate.json",
        "EHR_FHIR_UNMAPPED",
    ),
    (
        "observation-example-f204-creatinine.json",
        "EHR_FHIR_UNMAPPED",
    ),
    ("observation-example-f205-egfr.json", "EHR_FHIR_UNMAPPED"),
    (
        "observation-example-head-circumference.json",
        "EHR_FHIR_UNMAPPED",
    ),
    (
        "observation-example-heart-rate.json",
        "device-vital-sign: 4 problem(s)",
    ),
    ("observation-example-mbp.json", "EHR_FHIR_UNMAPPED"),
    (
        "observation-example-respiratory-rate.json",
        "device-vital-sign: 4 problem(s)",
    ),
    (
        "observation-example-satO2.json",
        "device-vital-sign: 2 problem(s)",
    ),
    ("observation-example-vitals-panel.json", "EHR_FHIR_UNMAPPED"),
    ("observation-example.json", "EHR_FHIR_UNMAPPED"),
    (
        "supplydelivery-example-pumpdelivery.json",
        "drug-shipment-custody: 5 problem(s)",
    ),
    (
        "supplydelivery-example.json",
        "drug-shipment-custody: 4 problem(s)",
    ),
];
