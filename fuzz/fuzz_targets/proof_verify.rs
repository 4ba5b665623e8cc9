//! Verification of forged proofs against a real batch.
//!
//! A fixed batch of 37 records is built once. The fuzzer picks a leaf, then
//! alters the proof (record hash, index, leaf count, siblings). Nothing may
//! panic, a proof that verifies against the anchored batch must be one of its
//! records, and `verify_many` must give the altered proof, among untouched
//! ones, the result `verify` gives it.
#![no_main]

use std::sync::OnceLock;

use ehrchain_core::{AnchoredBatch, B256, Batch, BatchBuilder, InclusionProof};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

const RECORDS: u32 = 37;

fn batch() -> &'static Batch {
    static BATCH: OnceLock<Batch> = OnceLock::new();
    BATCH.get_or_init(|| {
        let mut builder = BatchBuilder::new();
        for i in 0..RECORDS {
            let mut hash = [0u8; 32];
            hash[..4].copy_from_slice(&i.to_be_bytes());
            hash[31] = 0x5a;
            if builder.push(B256::from(hash)).is_err() {
                unreachable!("a non-zero hash fits an empty batch");
            }
        }
        match builder.build(B256::repeat_byte(0xb1)) {
            Ok(batch) => batch,
            Err(_) => unreachable!("a batch of 37 records builds"),
        }
    })
}

#[derive(Arbitrary, Debug)]
struct Forgery {
    leaf: u32,
    /// How many untouched proofs go with the altered one to `verify_many`.
    company: u8,
    record_hash: Option<[u8; 32]>,
    index: Option<u32>,
    leaf_count: Option<u32>,
    siblings: Option<Vec<[u8; 32]>>,
}

fuzz_target!(|f: Forgery| {
    let batch = batch();
    let anchored = AnchoredBatch {
        root: batch.root(),
        leaf_count: batch.leaf_count(),
        batch_id: Some(batch.batch_id()),
    };
    let Ok(mut proof): Result<InclusionProof, _> = batch.proof(f.leaf % RECORDS) else {
        return;
    };
    if let Some(h) = f.record_hash {
        proof.record_hash = B256::from(h);
    }
    if let Some(i) = f.index {
        proof.index = i;
    }
    if let Some(n) = f.leaf_count {
        proof.leaf_count = n;
    }
    if let Some(s) = f.siblings {
        proof.siblings = s.into_iter().map(B256::from).collect();
    }
    let mut many: Vec<InclusionProof> = (0..f.company % 16)
        .filter_map(|i| batch.proof(u32::from(i) * 5 % RECORDS).ok())
        .collect();
    let at = usize::from(f.company) % (many.len() + 1);
    many.insert(at, proof.clone());
    let results = InclusionProof::verify_many(&many);
    assert_eq!(
        results.get(at),
        Some(&proof.verify()),
        "verify_many differs"
    );
    assert_eq!(
        results.iter().filter(|r| r.is_err()).count(),
        usize::from(proof.verify().is_err())
    );
    if proof.verify_anchored(&anchored).is_ok() {
        assert!(
            batch.record_hashes().contains(&proof.record_hash),
            "a record outside the batch verified"
        );
    }
});
