//! `fhir`: a FHIR R4 Observation → TC beside the same record given as a TI
//! (the FHIR path's cost over the TI path), and a 10,000-entry Synthea-style
//! Bundle → TIs → TCs → one Merkle batch. See `README.md`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ehrchain_benches::{Fixture, NOW, rng};
use ehrchain_core::BatchBuilder;
use ehrchain_core::fhir::{FhirOptions, map_bundle, map_resource};
use serde_json::{Value, json};

const MRN: &str = "urn:oid:1.2.36.146.595.217.0.1";
/// Entries of the large Bundle: a Patient, a Practitioner and blood pressures.
const BUNDLE_ENTRIES: usize = 10_000;

/// A blood pressure of the vital-signs profile, 120/80 mm[Hg], by `performer`
/// for `subject`.
fn blood_pressure(id: usize, subject: Value, performer: &str) -> Value {
    let loinc = |code: &str| json!({"coding": [{"system": "http://loinc.org", "code": code}]});
    let mmhg =
        |v: u32| json!({"value": v, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"});
    json!({"resourceType": "Observation", "id": format!("bp-{id}"), "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs"}]}],
        "code": loinc("85354-9"), "subject": subject, "performer": [{"reference": performer}],
        "effectiveDateTime": "2025-11-30T09:28:00Z",
        "component": [{"code": loinc("8480-6"), "valueQuantity": mmhg(120)},
                      {"code": loinc("8462-4"), "valueQuantity": mmhg(80)}]})
}

fn bundle() -> String {
    let mut entry = vec![
        json!({"fullUrl": "urn:uuid:patient", "resource": {"resourceType": "Patient", "id": "p",
            "identifier": [{"system": MRN, "value": "MRN-000123"}]}}),
        json!({"fullUrl": "urn:uuid:nurse", "resource": {"resourceType": "Practitioner", "id": "n"}}),
    ];
    for i in 2..BUNDLE_ENTRIES {
        let bp = blood_pressure(
            i,
            json!({"reference": "urn:uuid:patient"}),
            "urn:uuid:nurse",
        );
        entry.push(json!({"fullUrl": format!("urn:uuid:bp-{i}"), "resource": bp}));
    }
    json!({"resourceType": "Bundle", "type": "collection", "entry": entry}).to_string()
}

fn observation_vs_ti(c: &mut Criterion) {
    let fx = Fixture::new().expect("fixture");
    let options = FhirOptions::new(MRN);
    let subject = json!({"identifier": {"system": MRN, "value": "MRN-000123"}});
    let json = blood_pressure(1, subject, "Practitioner/n").to_string();
    let ti = map_resource(&fx.registry, &json, &options)
        .expect("maps")
        .ti;
    let mut rng = rng();

    let mut group = c.benchmark_group("fhir_observation");
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("ti_to_tc", "blood-pressure"), |b| {
        b.iter(|| {
            fx.generator
                .generate(&fx.registry, black_box(&ti), NOW, &mut rng)
                .expect("valid TI")
        });
    });
    group.bench_function(
        BenchmarkId::new("observation_to_tc", "blood-pressure"),
        |b| {
            b.iter(|| {
                let mapped = map_resource(&fx.registry, black_box(&json), &options).expect("maps");
                fx.generator
                    .generate(&fx.registry, &mapped.ti, NOW, &mut rng)
                    .expect("valid TI")
            });
        },
    );
    group.finish();
}

fn bundle_to_batch(c: &mut Criterion) {
    let fx = Fixture::new().expect("fixture");
    let options = FhirOptions::new(MRN);
    let json = bundle();
    let mut rng = rng();

    let mut group = c.benchmark_group("fhir_bundle");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BUNDLE_ENTRIES as u64));
    group.bench_function(BenchmarkId::new("to_batch", BUNDLE_ENTRIES), |b| {
        b.iter(|| {
            let mapping = map_bundle(&fx.registry, black_box(&json), &options).expect("bundle");
            assert_eq!(mapping.mapped.len(), BUNDLE_ENTRIES - 2);
            let mut batch = BatchBuilder::with_capacity(mapping.mapped.len());
            for mapped in &mapping.mapped {
                let tc = fx
                    .generator
                    .generate(&fx.registry, &mapped.ti, NOW, &mut rng)
                    .expect("valid TI");
                batch.push(tc.record_hash).expect("room");
            }
            batch.build([7; 32].into()).expect("batch")
        });
    });
    group.finish();
}

criterion_group!(benches, observation_vs_ti, bundle_to_batch);
criterion_main!(benches);
