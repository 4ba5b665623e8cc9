//! `authorship`: authors' signed statements (issue 16), on one core.
//!
//! - `authorship/verify`: what a verifier does per signed record once the
//!   registry's roles are cached: the statement's EIP-712 digest under a
//!   domain whose separator was computed once (`DomainSeparator`), secp256k1
//!   recovery of the signer, the comparison with the author, and the role
//!   lookup (`RoleHistory::held_at`).
//! - `authorship/sign`: what a local key does per statement: the digest and
//!   an RFC 6979 secp256k1 signature (low s, `v` 27/28).
//!
//! The statements and keys are those of `docs/vectors/signed_proofs.json`;
//! `benches/peers/authorship.mjs` times viem's `recoverTypedDataAddress` and
//! `signTypedData` on the same statements.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ehrchain_core::authorship::{
    DomainSeparator, RecordSignature, RecordStatement, RoleHistory, SignedRecordProof,
};
use ehrchain_core::{B256, UnixMillis};
use k256::ecdsa::SigningKey;

/// The vector file's signed proofs, its keys and its role history.
fn fixtures() -> (Vec<SignedRecordProof>, Vec<SigningKey>, RoleHistory) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/vectors/signed_proofs.json"
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vectors")).expect("JSON");
    let proofs = file["valid"]
        .as_array()
        .expect("valid")
        .iter()
        .map(|v| SignedRecordProof::from_json(&v["json"].to_string()).expect("proof"))
        .collect();
    let keys = file["privateKeys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            let k: B256 = serde_json::from_value(k.clone()).expect("key");
            SigningKey::from_slice(k.as_slice()).expect("key")
        })
        .collect();
    let roles = RoleHistory::from_json(&file["roles"].to_string()).expect("roles");
    (proofs, keys, roles)
}

/// Signs `digest` as a wallet does: `r ‖ s ‖ v`, `v` 27 or 28.
fn sign(key: &SigningKey, digest: &B256) -> RecordSignature {
    let (signature, recovery) = key
        .sign_prehash_recoverable(digest.as_slice())
        .expect("sign");
    let mut bytes = [0u8; 65];
    bytes[..64].copy_from_slice(&signature.to_bytes());
    bytes[64] = 27 + recovery.to_byte();
    RecordSignature::from_slice(&bytes).expect("low s")
}

fn authorship(c: &mut Criterion) {
    let (proofs, keys, roles) = fixtures();
    let separator = DomainSeparator::new(proofs[0].domain);
    let statements: Vec<(RecordStatement, RecordSignature)> = proofs
        .iter()
        .map(|p| (p.statement.clone(), p.signature))
        .collect();
    let at = UnixMillis::from_secs(1_767_225_600);
    let mut group = c.benchmark_group("authorship");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("verify", |b| {
        b.iter(|| {
            let (statement, signature) = &statements[i % statements.len()];
            i += 1;
            separator
                .verify(black_box(statement), black_box(signature))
                .expect("signed");
            assert!(roles.held_at(statement.role, statement.author, at));
        });
    });
    let key = &keys[0];
    let mut n = 0;
    group.bench_function("sign", |b| {
        b.iter(|| {
            let (statement, _) = &statements[n % statements.len()];
            n += 1;
            black_box(sign(key, &separator.signing_hash(black_box(statement))))
        });
    });
    group.finish();
}

criterion_group!(benches, authorship);
criterion_main!(benches);
