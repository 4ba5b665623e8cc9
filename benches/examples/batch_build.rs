//! Builds one batch of N records (default 1,000,000) and prints the time, for
//! peak-memory measurement: `/usr/bin/time -v target/release/examples/batch_build`.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::time::Instant;

fn main() -> Result<(), Box<dyn Error>> {
    let n: u32 = std::env::args()
        .nth(1)
        .map_or(Ok(1_000_000), |s| s.parse())?;
    let started = Instant::now();
    let batch = ehrchain_benches::batch_of(n)?;
    println!(
        "built a batch of {} records in {:?}: root {}",
        batch.leaf_count(),
        started.elapsed(),
        batch.root()
    );
    Ok(())
}
