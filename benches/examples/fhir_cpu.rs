//! Runs one path of the `fhir_observation` bench N times, for its CPU time on
//! a machine whose cores other work shares (where wall-clock benches are
//! noisy): `ti` (`generate` on the blood-pressure TI given as a struct),
//! `ti-json` (the same TI given as JSON text, as C's `ehr_ti_from_json` and
//! a host reading TIs from a queue receive it: `InitialTransaction::from_json`,
//! then `generate`), `fhir` (`map_resource` on the Observation, then
//! `generate`) or `map` (`map_resource` alone).
//!
//! ```sh
//! cargo build --release -p ehrchain-benches --example fhir_cpu
//! perf stat -e task-clock target/release/examples/fhir_cpu fhir 100000
//! perf stat -e task-clock target/release/examples/fhir_cpu fhir 0   # the set-up alone
//! ```
//!
//! (task-clock of N runs − task-clock of 0) / N is one call's CPU time.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::hint::black_box;

use ehrchain_benches::{FHIR_MRN_SYSTEM, Fixture, NOW, fhir_blood_pressure, rng};
use ehrchain_core::InitialTransaction;
use ehrchain_core::fhir::{FhirOptions, map_resource};
use serde_json::json;

fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let mut args = std::env::args().skip(1);
    let (path, runs) = match (args.next(), args.next()) {
        (Some(path), Some(runs)) => (path, runs.parse::<u64>()?),
        _ => return Err("usage: fhir_cpu {ti|ti-json|fhir|map} RUNS".into()),
    };
    let fx = Fixture::new()?;
    let options = FhirOptions::new(FHIR_MRN_SYSTEM);
    let subject = json!({"identifier": {"system": FHIR_MRN_SYSTEM, "value": "MRN-000123"}});
    let text = fhir_blood_pressure(1, subject, "Practitioner/n").to_string();
    let ti = map_resource(&fx.registry, &text, &options)?.ti;
    let ti_json = ti.to_json();
    let mut rng = rng();
    for _ in 0..runs {
        match path.as_str() {
            "ti" => drop(black_box(fx.generator.generate(
                &fx.registry,
                black_box(&ti),
                NOW,
                &mut rng,
            )?)),
            "ti-json" => {
                let ti = InitialTransaction::from_json(black_box(&ti_json))?;
                drop(black_box(fx.generator.generate(
                    &fx.registry,
                    &ti,
                    NOW,
                    &mut rng,
                )?));
            }
            "fhir" => {
                let mapped = map_resource(&fx.registry, black_box(&text), &options)?;
                drop(black_box(fx.generator.generate(
                    &fx.registry,
                    &mapped.ti,
                    NOW,
                    &mut rng,
                )?));
            }
            "map" => drop(black_box(map_resource(
                &fx.registry,
                black_box(&text),
                &options,
            )?)),
            other => {
                return Err(format!("unknown path {other:?}: ti, ti-json, fhir or map").into());
            }
        }
    }
    println!("{runs} runs of {path}");
    Ok(())
}
