//! Maps a Synthea-style FHIR Bundle of N entries (default 10,000; the
//! `fhir_bundle` bench's) to TIs, a TC for each and one Merkle batch, and
//! prints the time, for peak-memory measurement:
//! `/usr/bin/time -v target/release/examples/fhir_bundle` (`make bench`).
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::time::Instant;

use ehrchain_benches::{FHIR_BUNDLE_ENTRIES, Fixture, fhir_bundle, fhir_bundle_to_batch, rng};

fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let entries: usize = std::env::args()
        .nth(1)
        .map_or(Ok(FHIR_BUNDLE_ENTRIES), |s| s.parse())?;
    let fx = Fixture::new()?;
    let json = fhir_bundle(entries);
    let started = Instant::now();
    let batch = fhir_bundle_to_batch(&fx, &json, &mut rng())?;
    println!(
        "a Bundle of {entries} entries ({} bytes) to a batch of {} records in {:?}: root {}",
        json.len(),
        batch.leaf_count(),
        started.elapsed(),
        batch.root()
    );
    Ok(())
}
