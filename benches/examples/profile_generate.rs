//! A profiling driver for `TransactionGenerator::generate`: sets up the same
//! 1 KiB blood-pressure TI as the `tc_generation` bench, then generates it N
//! times (first argument, default 200000) inside `run`, so a profiler can
//! restrict itself to that function:
//!
//! ```text
//! cargo build --profile bench -p ehrchain-benches --example profile_generate
//! valgrind --tool=callgrind --toggle-collect='*profile_generate::run*' \
//!     target/release/examples/profile_generate 20000
//! perf record -g target/release/examples/profile_generate 2000000
//! ```

use std::error::Error;
use std::hint::black_box;
use std::io::Write;

use ehrchain_benches::{Fixture, NOW, RECORD_BYTES, rng};
use ehrchain_core::InitialTransaction;

fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let n: u64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 200_000,
    };
    let fx = Fixture::new()?;
    let ti = fx.ti_with_record_size(RECORD_BYTES)?;
    let start = std::time::Instant::now();
    let bytes = run(&fx, &ti, n)?;
    let secs = start.elapsed().as_secs_f64();
    let per_second = if secs > 0.0 { n as f64 / secs } else { 0.0 };
    writeln!(
        std::io::stdout(),
        "{n} TCs ({bytes} envelope bytes) in {secs:.3} s: {per_second:.0} TIs/s"
    )?;
    Ok(())
}

/// The profiled loop.
#[inline(never)]
fn run(fx: &Fixture, ti: &InitialTransaction, n: u64) -> Result<u64, Box<dyn Error + Send + Sync>> {
    let mut rng = rng();
    let mut bytes = 0u64;
    for _ in 0..n {
        let tc = fx
            .generator
            .generate(&fx.registry, black_box(ti), NOW, &mut rng)?;
        bytes += tc.envelope.as_bytes().len() as u64;
    }
    Ok(bytes)
}
