//! `capsule`: key capsules (issue 17), both suites, on one core.
//!
//! - `capsule/seal/<suite>`: what a holder does per disclosure once the
//!   record key is derived: the header, HPKE base-mode `SealBase` of the
//!   record key (the KEM's encapsulation with fresh randomness, the key
//!   schedule over the header as `info`, AES-256-GCM of 32 bytes).
//! - `capsule/open/<suite>`: what a recipient does per capsule: reading it
//!   (`KeyCapsule::from_bytes`), the key id and binding checks and HPKE
//!   `OpenBase`.
//!
//! The keys, bindings and record keys are those of the valid vectors of
//! `docs/vectors/capsule.json` (the grant ones); the randomness is a
//! ChaCha20 CSPRNG. `benches/peers/capsule.mjs` times `@hpke/core` (with
//! `@hpke/dhkem-x25519` and `@hpke/hybridkem-x-wing`) and the npm package on
//! the same inputs.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ehrchain_core::capsule::{
    CapsuleBinding, CapsuleSuite, KeyCapsule, RecipientPrivateKey, RecipientPublicKey,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// One suite's grant vector: the recipient's keys, the binding, the record
/// key and the capsule.
struct Fixture {
    suite: CapsuleSuite,
    private_key: RecipientPrivateKey,
    public_key: RecipientPublicKey,
    binding: CapsuleBinding,
    record_key: [u8; 32],
    capsule: Vec<u8>,
}

fn unhex(v: &serde_json::Value) -> Vec<u8> {
    let text = v.as_str().expect("hex");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn fixtures() -> Vec<Fixture> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/vectors/capsule.json");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vectors")).expect("JSON");
    file["valid"]
        .as_array()
        .expect("valid")
        .iter()
        .filter(|v| v["name"].as_str().expect("name").ends_with("-grant"))
        .map(|v| {
            let suite: CapsuleSuite = serde_json::from_value(v["suite"].clone()).expect("suite");
            let private_key =
                RecipientPrivateKey::from_bytes(suite, &unhex(&v["recipientPrivateKey"]))
                    .expect("private key");
            let public_key =
                RecipientPublicKey::from_bytes(suite, &unhex(&v["recipientPublicKey"]))
                    .expect("public key");
            Fixture {
                suite,
                private_key,
                public_key,
                binding: serde_json::from_value(v["binding"].clone()).expect("binding"),
                record_key: unhex(&v["recordKey"]).try_into().expect("32 bytes"),
                capsule: unhex(&v["capsule"]),
            }
        })
        .collect()
}

fn capsule(c: &mut Criterion) {
    let fixtures = fixtures();
    assert_eq!(fixtures.len(), 2);
    let mut rng = ChaCha20Rng::seed_from_u64(17);
    let mut group = c.benchmark_group("capsule");
    group.throughput(Throughput::Elements(1));
    for f in &fixtures {
        let name = serde_json::to_value(f.suite).expect("suite");
        let name = name.as_str().expect("name");
        // Checked before anything is timed: the vector opens to its key.
        let read = KeyCapsule::from_bytes(&f.capsule).expect("capsule");
        assert_eq!(
            *read.open(&f.binding, &f.private_key).expect("opens"),
            f.record_key
        );
        group.bench_function(BenchmarkId::new("seal", name), |b| {
            b.iter(|| {
                KeyCapsule::seal(
                    black_box(&f.binding),
                    &f.public_key,
                    black_box(&f.record_key),
                    &mut rng,
                )
                .expect("seal")
            });
        });
        group.bench_function(BenchmarkId::new("open", name), |b| {
            b.iter(|| {
                let capsule = KeyCapsule::from_bytes(black_box(&f.capsule)).expect("capsule");
                capsule.open(&f.binding, &f.private_key).expect("open")
            });
        });
    }
    group.finish();
}

criterion_group!(benches, capsule);
criterion_main!(benches);
