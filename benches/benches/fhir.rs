//! `fhir`: a FHIR R4 Observation → TC beside the same record given as a TI
//! (the FHIR path's cost over the TI path), and a 10,000-entry Synthea-style
//! Bundle → TIs → TCs → one Merkle batch. See `README.md`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ehrchain_benches::{
    FHIR_BUNDLE_ENTRIES, FHIR_MRN_SYSTEM, Fixture, NOW, alternate, fhir_blood_pressure,
    fhir_bundle, fhir_bundle_to_batch, report_overhead, rng,
};
use ehrchain_core::InitialTransaction;
use ehrchain_core::fhir::{FhirOptions, map_resource};
use rand_chacha::ChaCha20Rng;
use serde_json::json;

fn observation_vs_ti(c: &mut Criterion) {
    let fx = Fixture::new().expect("fixture");
    let options = FhirOptions::new(FHIR_MRN_SYSTEM);
    let subject = json!({"identifier": {"system": FHIR_MRN_SYSTEM, "value": "MRN-000123"}});
    let json = fhir_blood_pressure(1, subject, "Practitioner/n").to_string();
    let ti = map_resource(&fx.registry, &json, &options)
        .expect("maps")
        .ti;
    let ti_json = ti.to_json();
    let mut rng = rng();

    let mut group = c.benchmark_group("fhir_observation");
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("ti_to_tc", "blood-pressure"), |b| {
        b.iter(|| ti_to_tc(&fx, &ti, &mut rng));
    });
    group.bench_function(
        BenchmarkId::new("observation_to_tc", "blood-pressure"),
        |b| b.iter(|| observation_to_tc(&fx, &json, &options, &mut rng)),
    );
    group.bench_function(BenchmarkId::new("ti_json_to_tc", "blood-pressure"), |b| {
        b.iter(|| ti_json_to_tc(&fx, &ti_json, &mut rng));
    });
    // The FHIR path's cost over the TI path: one of each per iteration,
    // timed apart (`alternate`; `fhir_overhead.json` and
    // `fhir_overhead_text.json` for the report). Once over the TI given as a
    // struct (nothing to read), once over the TI given as JSON text, as the
    // Observation is (what a C or JS host hands over).
    let fhir = |rng: &mut ChaCha20Rng| observation_to_tc(&fx, &json, &options, rng);
    let versus_struct = |rng: &mut ChaCha20Rng| ti_to_tc(&fx, &ti, rng);
    let versus_text = |rng: &mut ChaCha20Rng| ti_json_to_tc(&fx, &ti_json, rng);
    for (name, report, ti_path) in [
        (
            "alternating",
            "fhir_overhead",
            &versus_struct as &dyn Fn(&mut ChaCha20Rng),
        ),
        ("alternating_text", "fhir_overhead_text", &versus_text),
    ] {
        let totals = Cell::new((Duration::ZERO, Duration::ZERO));
        let ti_rng = RefCell::new(rng.clone());
        let fhir_rng = RefCell::new(rng.clone());
        group.bench_function(BenchmarkId::new(name, "blood-pressure"), |b| {
            b.iter_custom(|iters| {
                alternate(
                    iters,
                    || ti_path(&mut ti_rng.borrow_mut()),
                    || fhir(&mut fhir_rng.borrow_mut()),
                    &totals,
                )
            });
        });
        report_overhead(report, ("ti", "fhir"), totals.get()).expect("write the overhead report");
    }
    group.finish();
}

fn ti_to_tc(fx: &Fixture, ti: &InitialTransaction, rng: &mut ChaCha20Rng) {
    let tc = fx
        .generator
        .generate(&fx.registry, black_box(ti), NOW, rng)
        .expect("valid TI");
    drop(black_box(tc));
}

fn ti_json_to_tc(fx: &Fixture, json: &str, rng: &mut ChaCha20Rng) {
    let ti = InitialTransaction::from_json(black_box(json)).expect("TI JSON");
    ti_to_tc(fx, &ti, rng);
}

fn observation_to_tc(fx: &Fixture, json: &str, options: &FhirOptions, rng: &mut ChaCha20Rng) {
    let mapped = map_resource(&fx.registry, black_box(json), options).expect("maps");
    ti_to_tc(fx, &mapped.ti, rng);
}

fn bundle_to_batch(c: &mut Criterion) {
    let fx = Fixture::new().expect("fixture");
    let json = fhir_bundle(FHIR_BUNDLE_ENTRIES);
    let mut rng = rng();

    let mut group = c.benchmark_group("fhir_bundle");
    group.sample_size(10);
    group.throughput(Throughput::Elements(FHIR_BUNDLE_ENTRIES as u64));
    group.bench_function(BenchmarkId::new("to_batch", FHIR_BUNDLE_ENTRIES), |b| {
        b.iter(|| fhir_bundle_to_batch(&fx, black_box(&json), &mut rng).expect("batch"));
    });
    group.finish();
}

criterion_group!(benches, observation_vs_ti, bundle_to_batch);
criterion_main!(benches);
