//! `tc_generation`: TI → TC throughput of the Transaction Generator, and the
//! record envelope's seal/open throughput by plaintext size. See `README.md`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ehrchain_benches::{Fixture, NOW, RECORD_SIZES, binding, rng, sealing_key};
use ehrchain_core::Envelope;
use ehrchain_core::envelope::NONCE_LEN;

/// One TI per iteration: validate against the template, build the record JSON,
/// derive the record key (HKDF), seal (AES-256-GCM), hash (SHA-256) and encode
/// the contract call (ABI), with a 1 KiB, 16 KiB and 256 KiB sealed record.
fn tc_generation(c: &mut Criterion) {
    let fx = Fixture::new().expect("fixture");
    let mut rng = rng();

    let mut group = c.benchmark_group("tc_generation");
    group.throughput(Throughput::Elements(1));
    for size in RECORD_SIZES {
        let ti = fx.ti_with_record_size(size).expect("sized TI");
        let label = format!("{}KiB", size >> 10);
        group.bench_with_input(BenchmarkId::new("generate", &label), &ti, |b, ti| {
            b.iter(|| {
                fx.generator
                    .generate(&fx.registry, black_box(ti), NOW, &mut rng)
                    .expect("valid TI")
            });
        });
    }
    group.finish();
}

/// `Envelope::seal` and `open_with` alone (HKDF + AES-256-GCM + framing) over
/// 1 KiB, 16 KiB and 256 KiB plaintexts.
fn seal(c: &mut Criterion) {
    let binding = binding().expect("binding");
    let key = sealing_key();
    let nonce = [0x42; NONCE_LEN];

    let mut group = c.benchmark_group("seal");
    for size in RECORD_SIZES {
        let plaintext = vec![0x5a; size];
        let label = format!("{}KiB", size >> 10);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("seal", &label), &plaintext, |b, p| {
            b.iter(|| Envelope::seal(&binding, &key, nonce, black_box(p)).expect("seal"));
        });
        let envelope = Envelope::seal(&binding, &key, nonce, &plaintext).expect("seal");
        group.bench_with_input(BenchmarkId::new("open", &label), &envelope, |b, e| {
            b.iter(|| black_box(e).open_with(&key).expect("open"));
        });
    }
    group.finish();
}

criterion_group!(benches, tc_generation, seal);
criterion_main!(benches);
