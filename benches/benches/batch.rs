//! `batch`: Merkle batch building and inclusion-proof verification. See
//! `README.md` for the targets (1M leaves < 1 s on both cores, ≥ 150,000
//! depth-20 proofs/s on one core).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ehrchain_benches::batch_of;
use ehrchain_core::batch::InclusionProof;

/// Building a batch: leaf hashing (on every core, `parallel` feature) and the
/// rs_merkle tree, from record hashes already collected.
fn batch_build(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch_build");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    for leaves in [1_000u32, 100_000, 1_000_000] {
        group.throughput(Throughput::Elements(u64::from(leaves)));
        group.bench_with_input(BenchmarkId::from_parameter(leaves), &leaves, |b, &n| {
            b.iter(|| batch_of(black_box(n)).expect("batch"));
        });
    }
    group.finish();
}

/// Verifying depth-20 inclusion proofs (leaves of a 2^20-record batch)
/// against their root, on one core: one at a time (`verify`), and 1,024
/// different ones at once (`verify_many`; Keccak in SIMD lanes when built
/// with `--features ehrchain-core/simd-keccak`).
fn proof_verify(c: &mut Criterion) {
    const MANY: u32 = 1024;
    let batch = batch_of(1 << 20).expect("batch");
    let proof = batch.proof(777_777).expect("leaf in range");
    assert_eq!(proof.siblings.len(), 20);
    let proofs: Vec<InclusionProof> = (0..MANY)
        .map(|i| batch.proof(i * 1021).expect("leaf in range"))
        .collect();
    assert!(proofs.iter().all(|p| p.siblings.len() == 20));
    let mut group = c.benchmark_group("proof_verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("depth20", |b| {
        b.iter(|| black_box(&proof).verify().expect("valid proof"));
    });
    group.throughput(Throughput::Elements(u64::from(MANY)));
    group.bench_function("depth20_many", |b| {
        b.iter(|| {
            let results = InclusionProof::verify_many(black_box(&proofs));
            assert!(results.iter().all(Result::is_ok));
        });
    });
    group.finish();
}

criterion_group!(benches, batch_build, proof_verify);
criterion_main!(benches);
