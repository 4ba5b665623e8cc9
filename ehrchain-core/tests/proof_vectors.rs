//! Test vectors of Merkle batches and inclusion proofs (`docs/proofs.md`), kept
//! in `docs/vectors/proofs.json`.
//!
//! `EHRCHAIN_REGENERATE_VECTORS=1 cargo test -p ehrchain-core --test proof_vectors`
//! rewrites the file; every other run reads it and checks each vector byte for
//! byte against this library, and against an independent implementation of the
//! specification written below (leaf, tree, proof, sibling count, binary form,
//! `anchorBatch` calldata). `ehrchain-core/tests/interop/verify_proofs.mjs`
//! checks the same file with OpenZeppelin's `@openzeppelin/merkle-tree`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use alloy_primitives::{Address, B256, hex, keccak256};
use alloy_sol_types::SolValue;
use ehrchain_core::batch::ProofError;
use ehrchain_core::batch::{PROOF_MAGIC, PROOF_TEXT_PREFIX, PROOF_VERSION};
use ehrchain_core::{AnchoredBatch, Batch, BatchBuilder, InclusionProof};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/vectors/proofs.json");

/// The batch sizes of the vectors: one leaf, powers of two, and sizes with lone
/// (promoted) nodes on one or more levels.
const SIZES: [u32; 7] = [1, 2, 3, 5, 8, 13, 33];

const ANCHOR_SIGNATURE: &str = "anchorBatch(bytes32,uint32,bytes32)";

/// Bytes of the binary form before the siblings.
const FIXED_LEN: usize = 110;
/// Offsets of the binary form's fields (docs/proofs.md, "Binary form").
const AT_VERSION: usize = 4;
const AT_RECORD_HASH: usize = 5;
const AT_BATCH_ID: usize = 37;
const AT_ROOT: usize = 69;
const AT_LEAF_COUNT: usize = 101;
const AT_INDEX: usize = 105;
const AT_SIBLING_COUNT: usize = 109;

const BASE45: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct VectorFile {
    description: Vec<String>,
    spec: String,
    proof_version: u8,
    text_prefix: String,
    anchor_batch: AnchorFunction,
    batches: Vec<BatchVector>,
    invalid: Vec<Invalid>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AnchorFunction {
    signature: String,
    selector: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BatchVector {
    name: String,
    leaf_count: u32,
    batch_id: String,
    root: String,
    anchor_calldata: String,
    record_hashes: Vec<String>,
    proofs: Vec<ProofVector>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProofVector {
    index: u32,
    leaf: String,
    fields: Value,
    binary: String,
    text: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Invalid {
    name: String,
    comment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    binary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    json: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    anchored: Option<AnchoredBatch>,
    error: String,
    /// The stable error code (docs/errors.md) every binding reports; empty
    /// for `none`.
    code: String,
}

#[test]
fn proof_vectors() {
    let file: VectorFile = common::read_vector_file(PATH, build);
    check(&file);
}

/// Every proof of every batch of 1 to 100 leaves matches the specification's
/// tree, sibling count and binary form, and verifies.
#[test]
fn every_size_up_to_100_matches_the_specification() {
    for n in 1..=100u32 {
        let hashes = record_hashes(n);
        let batch = build_batch(n);
        let levels = spec_levels(&hashes);
        assert_eq!(batch.root().0, spec_root(&levels), "root of {n}");
        for index in 0..n {
            let proof = batch.proof(index).unwrap();
            let siblings = spec_siblings(&levels, index);
            assert_eq!(
                siblings.len(),
                spec_sibling_count(index, n),
                "count {index}/{n}"
            );
            assert_eq!(
                proof.siblings.iter().map(|s| s.0).collect::<Vec<_>>(),
                siblings,
                "siblings {index}/{n}"
            );
            assert_eq!(proof.to_bytes(), spec_encode(&proof), "binary {index}/{n}");
            proof.verify().unwrap();
        }
        assert!(matches!(
            batch.proof(n),
            Err(ehrchain_core::batch::BatchError::NoSuchRecord { index, .. }) if index == n
        ));
    }
}

// ---------------------------------------------------------------- checking

fn check(file: &VectorFile) {
    assert_eq!(file.proof_version, PROOF_VERSION);
    assert_eq!(file.text_prefix, PROOF_TEXT_PREFIX);
    assert_eq!(file.anchor_batch.signature, ANCHOR_SIGNATURE);
    assert_eq!(
        file.anchor_batch.selector,
        hex::encode_prefixed(&keccak256(ANCHOR_SIGNATURE)[..4])
    );
    let sizes: Vec<u32> = file.batches.iter().map(|b| b.leaf_count).collect();
    assert_eq!(sizes, SIZES);
    for b in &file.batches {
        check_batch(b);
    }
    common::check_invalid_vectors(&file.invalid, |v| &v.error, &ERROR_NAMES, check_invalid);
}

fn check_batch(v: &BatchVector) {
    let n = v.leaf_count;
    let name = &v.name;
    let hashes: Vec<B256> = v.record_hashes.iter().map(|h| b256(h)).collect();
    assert_eq!(hashes, record_hashes(n), "{name}: record hashes");
    assert_eq!(v.proofs.len(), hashes.len(), "{name}: one proof per record");

    let batch = build_batch(n);
    assert_eq!(batch.batch_id(), b256(&v.batch_id), "{name}: batch id");
    assert_eq!(batch.root(), b256(&v.root), "{name}: root");
    assert_eq!(batch.leaf_count(), n);
    let levels = spec_levels(&hashes);
    assert_eq!(
        hex::encode_prefixed(spec_root(&levels)),
        v.root,
        "{name}: spec root"
    );

    let tx = batch.anchor_transaction(Address::repeat_byte(0x11), 1);
    assert_eq!(
        hex::encode_prefixed(&tx.calldata),
        v.anchor_calldata,
        "{name}: calldata"
    );
    assert_eq!(
        spec_calldata(&batch.root(), n, &batch.batch_id()),
        tx.calldata.to_vec(),
        "{name}: spec calldata"
    );
    assert_eq!(
        (tx.root, tx.leaf_count, tx.batch_id),
        (batch.root(), n, batch.batch_id())
    );
    let anchored = AnchoredBatch {
        root: batch.root(),
        leaf_count: n,
        batch_id: Some(batch.batch_id()),
    };

    for (i, pv) in v.proofs.iter().enumerate() {
        let index = u32::try_from(i).unwrap();
        let at = format!("{name} proof {index}");
        assert_eq!(pv.index, index, "{at}: index");
        let proof = batch.proof(index).unwrap();
        let record_hash = hashes[i];
        assert_eq!(proof.record_hash, record_hash, "{at}: record hash");

        // Leaf and siblings, from the specification.
        assert_eq!(
            pv.leaf,
            hex::encode_prefixed(spec_leaf(&record_hash)),
            "{at}"
        );
        assert_eq!(proof.leaf(), b256(&pv.leaf), "{at}: leaf");
        let siblings = spec_siblings(&levels, index);
        assert_eq!(siblings.len(), spec_sibling_count(index, n), "{at}");
        assert_eq!(
            proof.siblings.iter().map(|s| s.0).collect::<Vec<_>>(),
            siblings,
            "{at}: siblings"
        );

        // The JSON form is the vector's fields.
        let fields = json!({
            "version": PROOF_VERSION,
            "recordHash": record_hash,
            "batchId": batch.batch_id(),
            "root": batch.root(),
            "leafCount": n,
            "index": index,
            "siblings": siblings.iter().map(hex::encode_prefixed).collect::<Vec<_>>(),
        });
        assert_eq!(pv.fields, fields, "{at}: fields");
        assert_eq!(
            serde_json::to_value(&proof).unwrap(),
            pv.fields,
            "{at}: serde"
        );
        let from_json: Value = serde_json::from_str(&proof.to_json()).unwrap();
        assert_eq!(from_json, pv.fields, "{at}: to_json");
        assert_eq!(
            InclusionProof::from_json(&pv.fields.to_string()).unwrap(),
            proof,
            "{at}: from_json"
        );

        // Binary and text forms, both ways.
        assert_eq!(
            hex::encode_prefixed(proof.to_bytes()),
            pv.binary,
            "{at}: binary"
        );
        assert_eq!(spec_encode(&proof), proof.to_bytes(), "{at}: spec binary");
        assert_eq!(proof.to_bytes().len(), FIXED_LEN + 32 * siblings.len());
        assert_eq!(proof.to_text(), pv.text, "{at}: text");
        assert_eq!(
            pv.text,
            format!("{PROOF_TEXT_PREFIX}{}", spec_base45(&proof.to_bytes())),
            "{at}: spec text"
        );
        assert!(
            pv.text.bytes().all(|c| BASE45.contains(&c)),
            "{at}: text outside the QR alphanumeric set"
        );
        let bytes = hex::decode(&pv.binary).unwrap();
        assert_eq!(InclusionProof::from_bytes(&bytes).unwrap(), proof, "{at}");
        assert_eq!(InclusionProof::from_text(&pv.text).unwrap(), proof, "{at}");
        assert_eq!(
            InclusionProof::from_text(&format!(" \t{}\r\n", pv.text)).unwrap(),
            proof,
            "{at}: surrounding whitespace"
        );

        // Verification.
        proof.verify().unwrap();
        proof.verify_anchored(&anchored).unwrap();
        assert_eq!(proof.computed_root(), batch.root());
        if let Some(first) = siblings.first() {
            let mut tampered = proof.clone();
            tampered.siblings[0] = B256::from(*first) ^ B256::with_last_byte(1);
            assert!(matches!(
                tampered.verify(),
                Err(ProofError::RootMismatch { .. })
            ));
        }
    }
}

const ERROR_NAMES: [&str; 14] = [
    "truncated",
    "trailing_bytes",
    "not_a_proof",
    "unsupported_version",
    "bad_text",
    "json",
    "zero_leaf_count",
    "index_out_of_range",
    "wrong_hash_count",
    "too_many_siblings",
    "root_mismatch",
    "leaf_count_mismatch",
    "batch_id_mismatch",
    "none",
];

/// Decodes the vector's one input, then verifies it against its own root or,
/// when the vector names an anchored batch, against that batch.
fn run_invalid(v: &Invalid) -> Result<InclusionProof, ProofError> {
    let inputs = [v.binary.is_some(), v.text.is_some(), v.json.is_some()];
    assert_eq!(
        inputs.iter().filter(|&&x| x).count(),
        1,
        "{}: exactly one of binary, text, json",
        v.name
    );
    let proof = if let Some(binary) = &v.binary {
        InclusionProof::from_bytes(&hex::decode(binary).unwrap())?
    } else if let Some(text) = &v.text {
        InclusionProof::from_text(text)?
    } else {
        InclusionProof::from_json(v.json.as_deref().unwrap_or_default())?
    };
    match &v.anchored {
        Some(anchored) => proof.verify_anchored(anchored)?,
        None => proof.verify()?,
    }
    Ok(proof)
}

fn check_invalid(v: &Invalid) {
    common::assert_known_error(&ERROR_NAMES, &v.name, &v.error);
    match run_invalid(v) {
        Ok(proof) => {
            assert_eq!(
                v.error, "none",
                "{}: accepted, expected {}",
                v.name, v.error
            );
            // Only the anchored batch catches these: the proof itself verifies.
            assert!(v.anchored.is_none());
            proof.verify().unwrap();
        }
        Err(e) => {
            assert_eq!(e.name(), v.error, "{}: {e}", v.name);
            assert_eq!(e.code().name(), v.code, "{}: {e}", v.name);
        }
    }
    // A proof refused only for its leaf count or batch id verifies on its own.
    if matches!(
        v.error.as_str(),
        "leaf_count_mismatch" | "batch_id_mismatch"
    ) {
        let own = Invalid {
            anchored: None,
            name: v.name.clone(),
            comment: String::new(),
            binary: v.binary.clone(),
            text: v.text.clone(),
            json: v.json.clone(),
            error: String::new(),
            code: String::new(),
        };
        run_invalid(&own).unwrap();
    }
}

// ---------------------------------------------------------------- the specification

/// `keccak256(keccak256(abi.encode(recordHash)))`.
fn spec_leaf(record_hash: &B256) -> [u8; 32] {
    let encoded = record_hash.abi_encode();
    assert_eq!(encoded.len(), 32);
    keccak256(keccak256(&encoded)).0
}

/// `keccak256(min(a, b) || max(a, b))`.
fn spec_node(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut pair = Vec::with_capacity(64);
    pair.extend_from_slice(a.min(b));
    pair.extend_from_slice(a.max(b));
    keccak256(&pair).0
}

/// Every level of the tree, leaves first: pairs left to right, a lone last
/// node promoted unchanged.
fn spec_levels(record_hashes: &[B256]) -> Vec<Vec<[u8; 32]>> {
    let mut levels = vec![record_hashes.iter().map(spec_leaf).collect::<Vec<_>>()];
    while levels.last().unwrap().len() > 1 {
        let next = levels
            .last()
            .unwrap()
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => spec_node(a, b),
                [a] => *a,
                _ => unreachable!(),
            })
            .collect();
        levels.push(next);
    }
    levels
}

fn spec_root(levels: &[Vec<[u8; 32]>]) -> [u8; 32] {
    levels.last().unwrap()[0]
}

fn spec_siblings(levels: &[Vec<[u8; 32]>], index: u32) -> Vec<[u8; 32]> {
    let mut i = index as usize;
    let mut out = Vec::new();
    for level in &levels[..levels.len() - 1] {
        if let Some(sibling) = level.get(i ^ 1) {
            out.push(*sibling);
        }
        i /= 2;
    }
    out
}

fn spec_sibling_count(index: u32, leaf_count: u32) -> usize {
    let (mut i, mut n, mut count) = (u64::from(index), u64::from(leaf_count), 0);
    while n > 1 {
        if (i ^ 1) < n {
            count += 1;
        }
        i /= 2;
        n = n.div_ceil(2);
    }
    count
}

fn spec_encode(p: &InclusionProof) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"EHRP");
    out.push(1);
    out.extend_from_slice(p.record_hash.as_slice());
    out.extend_from_slice(p.batch_id.as_slice());
    out.extend_from_slice(p.root.as_slice());
    out.extend_from_slice(&p.leaf_count.to_be_bytes());
    out.extend_from_slice(&p.index.to_be_bytes());
    out.push(u8::try_from(p.siblings.len()).unwrap());
    for s in &p.siblings {
        out.extend_from_slice(s.as_slice());
    }
    assert_eq!(&out[..4], PROOF_MAGIC);
    out
}

/// RFC 9285: each 2 bytes `[a, b]` as `n = 256a + b = c + 45d + 45²e`, written
/// `c d e`; a last odd byte as two characters.
fn spec_base45(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(2) {
        let (n, digits) = match chunk {
            [a, b] => (u32::from(*a) * 256 + u32::from(*b), 3),
            [a] => (u32::from(*a), 2),
            _ => unreachable!(),
        };
        let mut rest = n;
        for _ in 0..digits {
            out.push(char::from(BASE45[(rest % 45) as usize]));
            rest /= 45;
        }
    }
    out
}

/// `selector || root || uint32 leafCount (left-padded to 32 bytes) || batchId`.
fn spec_calldata(root: &B256, leaf_count: u32, batch_id: &B256) -> Vec<u8> {
    let mut out = keccak256(ANCHOR_SIGNATURE)[..4].to_vec();
    out.extend_from_slice(root.as_slice());
    out.extend_from_slice(&[0; 28]);
    out.extend_from_slice(&leaf_count.to_be_bytes());
    out.extend_from_slice(batch_id.as_slice());
    out
}

// ---------------------------------------------------------------- building

fn sha256(text: &str) -> B256 {
    B256::from_slice(&Sha256::digest(text.as_bytes()))
}

/// The record hashes of the batch of `n`: SHA-256 of `record-<n>-<i>`.
fn record_hashes(n: u32) -> Vec<B256> {
    (0..n).map(|i| sha256(&format!("record-{n}-{i}"))).collect()
}

/// The batch id of the batch of `n`: SHA-256 of `batch-<n>`.
fn batch_id(n: u32) -> B256 {
    sha256(&format!("batch-{n}"))
}

fn build_batch(n: u32) -> Batch {
    let mut builder = BatchBuilder::with_capacity(n as usize);
    for (i, h) in record_hashes(n).into_iter().enumerate() {
        assert_eq!(builder.push(h).unwrap() as usize, i);
    }
    builder.build(batch_id(n)).unwrap()
}

fn b256(hex_value: &str) -> B256 {
    assert!(hex_value.starts_with("0x"), "{hex_value}: no 0x prefix");
    let bytes = hex::decode(hex_value).unwrap();
    assert_eq!(bytes.len(), 32, "{hex_value} is not 32 bytes");
    B256::from_slice(&bytes)
}

fn build() -> VectorFile {
    let batches = SIZES.iter().map(|&n| build_batch_vector(n)).collect();
    VectorFile {
        description: vec![
            "Test vectors of ehrchain Merkle batches and inclusion proofs, proof format version 1.".into(),
            "Specification: docs/proofs.md. Generated by ehrchain-core/tests/proof_vectors.rs (EHRCHAIN_REGENERATE_VECTORS=1); checked by that test and by ehrchain-core/tests/interop/verify_proofs.mjs (OpenZeppelin @openzeppelin/merkle-tree).".into(),
            "All byte strings are lower-case hex with a 0x prefix.".into(),
            "batches: the batch of leaf_count records has record_hashes[i] = SHA-256 of the ASCII text 'record-<leaf_count>-<i>' and batch_id = SHA-256 of 'batch-<leaf_count>'; root is its Merkle root, anchor_calldata the ABI-encoded anchorBatch(root, leaf_count, batch_id) call.".into(),
            "proofs: one per record, in leaf order; leaf = keccak256(keccak256(abi.encode(record_hash))); fields is the proof's JSON form; binary its binary form; text its text form (EHRP: + base45 of binary). Each verifies with OpenZeppelin MerkleProof.verify(siblings, root, leaf).".into(),
            "invalid: exactly one input (binary hex, text, or json text) that a decoder must refuse, or that must fail verification: against its own root, or against the batch in anchored when present. error is the expected failure (one of truncated, trailing_bytes, not_a_proof, unsupported_version, bad_text, json, zero_leaf_count, index_out_of_range, wrong_hash_count, too_many_siblings, root_mismatch, leaf_count_mismatch, batch_id_mismatch), or none for an input that is accepted although it looks wrong; code is the stable error code of docs/errors.md that the Rust, C and JavaScript APIs report for it (empty for none).".into(),
        ],
        spec: "docs/proofs.md".into(),
        proof_version: PROOF_VERSION,
        text_prefix: PROOF_TEXT_PREFIX.into(),
        anchor_batch: AnchorFunction {
            signature: ANCHOR_SIGNATURE.into(),
            selector: hex::encode_prefixed(&keccak256(ANCHOR_SIGNATURE)[..4]),
        },
        batches,
        invalid: invalid_vectors()
            .into_iter()
            .map(|v| Invalid {
                code: run_invalid(&v)
                    .err()
                    .map_or_else(String::new, |e| e.code().name().to_owned()),
                ..v
            })
            .collect(),
    }
}

fn build_batch_vector(n: u32) -> BatchVector {
    let batch = build_batch(n);
    let tx = batch.anchor_transaction(Address::repeat_byte(0x11), 1);
    let proofs = (0..n)
        .map(|index| {
            let proof = batch.proof(index).unwrap();
            ProofVector {
                index,
                leaf: proof.leaf().to_string(),
                fields: serde_json::to_value(&proof).unwrap(),
                binary: hex::encode_prefixed(proof.to_bytes()),
                text: proof.to_text(),
            }
        })
        .collect();
    BatchVector {
        name: format!("batch-{n}"),
        leaf_count: n,
        batch_id: batch.batch_id().to_string(),
        root: batch.root().to_string(),
        anchor_calldata: hex::encode_prefixed(&tx.calldata),
        record_hashes: batch
            .record_hashes()
            .iter()
            .map(ToString::to_string)
            .collect(),
        proofs,
    }
}

fn binary(name: &str, comment: &str, bytes: &[u8], error: &str) -> Invalid {
    Invalid {
        name: name.into(),
        comment: comment.into(),
        binary: Some(hex::encode_prefixed(bytes)),
        text: None,
        json: None,
        anchored: None,
        error: error.into(),
        code: String::new(),
    }
}

fn text(name: &str, comment: &str, text: String, error: &str) -> Invalid {
    Invalid {
        name: name.into(),
        comment: comment.into(),
        binary: None,
        text: Some(text),
        json: None,
        anchored: None,
        error: error.into(),
        code: String::new(),
    }
}

fn json_input(name: &str, comment: &str, json: &Value, error: &str) -> Invalid {
    json_text(name, comment, json.to_string(), error)
}

fn json_text(name: &str, comment: &str, json: String, error: &str) -> Invalid {
    Invalid {
        name: name.into(),
        comment: comment.into(),
        binary: None,
        text: None,
        json: Some(json),
        anchored: None,
        error: error.into(),
        code: String::new(),
    }
}

fn anchored_vector(
    name: &str,
    comment: &str,
    bytes: &[u8],
    anchored: AnchoredBatch,
    error: &str,
) -> Invalid {
    Invalid {
        anchored: Some(anchored),
        ..binary(name, comment, bytes, error)
    }
}

/// The bytes of `proof` with `f` applied.
fn edit(proof: &InclusionProof, f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = proof.to_bytes();
    f(&mut bytes);
    bytes
}

fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

fn b45(bytes: &[u8]) -> String {
    format!("{PROOF_TEXT_PREFIX}{}", spec_base45(bytes))
}

#[allow(clippy::too_many_lines)]
fn invalid_vectors() -> Vec<Invalid> {
    let batch13 = build_batch(13);
    let batch8 = build_batch(8);
    // A proof with four siblings: index 5 of 13.
    let p = batch13.proof(5).unwrap();
    assert_eq!(p.siblings.len(), 4);
    // A proof whose leaf is a lone node on two levels: index 12 of 13.
    let lone = batch13.proof(12).unwrap();
    assert_eq!(lone.siblings.len(), 2);
    let good = p.to_bytes();
    let n = good.len();
    let anchored13 = AnchoredBatch {
        root: batch13.root(),
        leaf_count: 13,
        batch_id: Some(batch13.batch_id()),
    };
    let fields = serde_json::to_value(&p).unwrap();
    let with = |key: &str, value: Value| {
        let mut f = fields.clone();
        f[key] = value;
        f
    };

    let mut v = vec![
        // ---- binary: structure
        binary("empty", "No bytes at all.", &[], "truncated"),
        binary(
            "magic-only-partly",
            "The first three bytes of the magic: a prefix of EHRP is reported as truncated.",
            b"EHR",
            "truncated",
        ),
        binary(
            "one-foreign-byte",
            "A single byte that does not start the magic.",
            &[0x00],
            "not_a_proof",
        ),
        binary(
            "envelope-magic",
            "A valid proof whose magic is EHRE (the sealed-record envelope's).",
            &edit(&p, |b| b[3] = b'E'),
            "not_a_proof",
        ),
        binary(
            "header-cut",
            "The 110-byte fixed part less its last byte (the sibling count).",
            &good[..FIXED_LEN - 1],
            "truncated",
        ),
        binary(
            "future-version-header-only",
            "Magic and version 2, nothing else: the length of the fixed part is checked before the version.",
            b"EHRP\x02",
            "truncated",
        ),
        binary(
            "version-0",
            "A valid proof with version byte 0.",
            &edit(&p, |b| b[AT_VERSION] = 0),
            "unsupported_version",
        ),
        binary(
            "version-2",
            "A valid proof with version byte 2.",
            &edit(&p, |b| b[AT_VERSION] = 2),
            "unsupported_version",
        ),
        binary(
            "last-sibling-cut",
            "A valid proof less its last byte.",
            &good[..n - 1],
            "truncated",
        ),
        binary(
            "trailing-zero-byte",
            "A valid proof followed by one zero byte.",
            &edit(&p, |b| b.push(0)),
            "trailing_bytes",
        ),
        binary(
            "trailing-hash",
            "A valid proof followed by an extra 32-byte hash that the sibling count does not announce (rs_merkle would ignore it).",
            &edit(&p, |b| b.extend_from_slice(batch13.root().as_slice())),
            "trailing_bytes",
        ),
        binary(
            "sibling-count-33",
            "Sibling count 33 with 33 hashes present: more than any batch of at most 2^32 - 1 records needs.",
            &edit(&p, |b| {
                b[AT_SIBLING_COUNT] = 33;
                b.truncate(FIXED_LEN);
                b.extend_from_slice(&[0x42; 33 * 32]);
            }),
            "too_many_siblings",
        ),
        binary(
            "sibling-count-255-nothing-after",
            "Sibling count 255 and no sibling: the count limit is checked before the length.",
            &edit(&p, |b| {
                b[AT_SIBLING_COUNT] = 255;
                b.truncate(FIXED_LEN);
            }),
            "too_many_siblings",
        ),
        // ---- binary: shape
        binary(
            "zero-leaf-count",
            "Leaf count 0, index 0, no sibling, root = leaf.",
            &spec_encode(&InclusionProof {
                leaf_count: 0,
                index: 0,
                siblings: Vec::new(),
                root: p.leaf(),
                ..p.clone()
            }),
            "zero_leaf_count",
        ),
        binary(
            "index-equals-leaf-count",
            "Index 13 in a batch of 13.",
            &edit(&p, |b| put_u32(b, AT_INDEX, 13)),
            "index_out_of_range",
        ),
        binary(
            "index-max",
            "Index 2^32 - 1 in a batch of 13.",
            &edit(&p, |b| put_u32(b, AT_INDEX, u32::MAX)),
            "index_out_of_range",
        ),
        binary(
            "sibling-missing",
            "The last sibling removed (and the count lowered to 3).",
            &spec_encode(&InclusionProof {
                siblings: p.siblings[..3].to_vec(),
                ..p.clone()
            }),
            "wrong_hash_count",
        ),
        binary(
            "sibling-extra",
            "An extra fifth sibling, announced by the count (rs_merkle ignores extra trailing hashes; OpenZeppelin would fold it in).",
            &spec_encode(&InclusionProof {
                siblings: [p.siblings.clone(), vec![B256::repeat_byte(0x42)]].concat(),
                ..p.clone()
            }),
            "wrong_hash_count",
        ),
        binary(
            "lone-node-given-a-sibling",
            "Index 12 of 13 is a lone node on the two lowest levels and has 2 siblings; this one claims 3.",
            &spec_encode(&InclusionProof {
                siblings: [vec![B256::repeat_byte(0x42)], lone.siblings.clone()].concat(),
                ..lone.clone()
            }),
            "wrong_hash_count",
        ),
        binary(
            "leaf-count-too-small-for-siblings",
            "Index 5 with its 4 siblings but leaf count 8, where index 5 has 3 siblings.",
            &edit(&p, |b| put_u32(b, AT_LEAF_COUNT, 8)),
            "wrong_hash_count",
        ),
        // ---- binary: verification against the proof's own root
        binary(
            "sibling-bit-flipped",
            "The lowest bit of the first sibling flipped.",
            &edit(&p, |b| b[FIXED_LEN + 31] ^= 1),
            "root_mismatch",
        ),
        binary(
            "record-hash-changed",
            "Another record hash (record 6's) with record 5's siblings.",
            &edit(&p, |b| {
                b[AT_RECORD_HASH..AT_RECORD_HASH + 32]
                    .copy_from_slice(batch13.record_hashes()[6].as_slice());
            }),
            "root_mismatch",
        ),
        binary(
            "root-changed",
            "The root field of another batch (batch-8).",
            &edit(&p, |b| {
                b[AT_ROOT..AT_ROOT + 32].copy_from_slice(batch8.root().as_slice());
            }),
            "root_mismatch",
        ),
        binary(
            "siblings-swapped",
            "The first two siblings swapped.",
            &spec_encode(&InclusionProof {
                siblings: [vec![p.siblings[1], p.siblings[0]], p.siblings[2..].to_vec()].concat(),
                ..p.clone()
            }),
            "root_mismatch",
        ),
        binary(
            "leaf-instead-of-record-hash",
            "The leaf given where the record hash belongs: the leaf is derived, never supplied.",
            &edit(&p, |b| {
                b[AT_RECORD_HASH..AT_RECORD_HASH + 32].copy_from_slice(p.leaf().as_slice());
            }),
            "root_mismatch",
        ),
        // ---- text
        text(
            "text-empty",
            "An empty string.",
            String::new(),
            "not_a_proof",
        ),
        text(
            "text-other-prefix",
            "An EU Digital COVID Certificate prefix.",
            format!("HC1:{}", &p.to_text()[PROOF_TEXT_PREFIX.len()..]),
            "not_a_proof",
        ),
        text(
            "text-lower-case-prefix",
            "The prefix must be upper case EHRP: (QR alphanumeric mode has no lower case).",
            format!("ehrp:{}", &p.to_text()[PROOF_TEXT_PREFIX.len()..]),
            "not_a_proof",
        ),
        text(
            "text-prefix-only",
            "EHRP: and nothing else (base45 of no bytes).",
            PROOF_TEXT_PREFIX.into(),
            "truncated",
        ),
        text(
            "text-lower-case-character",
            "A valid text whose last letter is in lower case (not in the base45 alphabet).",
            {
                let t = p.to_text();
                let at = t.rfind(|c: char| c.is_ascii_uppercase()).unwrap();
                format!("{}{}", &t[..at], t[at..].to_ascii_lowercase())
            },
            "bad_text",
        ),
        text(
            "text-foreign-character",
            "A '#' in the base45 part.",
            format!(
                "{PROOF_TEXT_PREFIX}#{}",
                &p.to_text()[PROOF_TEXT_PREFIX.len() + 1..]
            ),
            "bad_text",
        ),
        text(
            "text-one-extra-character",
            "A valid text plus one character: a base45 length of 1 modulo 3 is invalid.",
            format!("{}0", p.to_text()),
            "bad_text",
        ),
        text(
            "text-group-over-65535",
            "A valid text whose first group is ':::' (44 + 44*45 + 44*45^2 = 91124 > 65535).",
            format!(
                "{PROOF_TEXT_PREFIX}:::{}",
                &p.to_text()[PROOF_TEXT_PREFIX.len() + 3..]
            ),
            "bad_text",
        ),
        text(
            "text-of-envelope-magic",
            "Valid base45 of bytes that start with EHRE.",
            b45(&edit(&p, |b| b[3] = b'E')),
            "not_a_proof",
        ),
        text(
            "text-of-truncated-proof",
            "Valid base45 of a proof less its last byte.",
            b45(&good[..n - 1]),
            "truncated",
        ),
        text(
            "text-of-tampered-proof",
            "Valid base45 of a proof with one sibling bit flipped.",
            b45(&edit(&p, |b| b[FIXED_LEN + 31] ^= 1)),
            "root_mismatch",
        ),
        // ---- JSON
        json_text("json-not-json", "Not JSON.", "EHRP:".into(), "json"),
        json_input(
            "json-unknown-field",
            "A valid proof with an extra field.",
            &with("comment", json!("hello")),
            "json",
        ),
        json_input(
            "json-missing-field",
            "A valid proof without its batchId.",
            &{
                let mut f = fields.clone();
                f.as_object_mut().unwrap().remove("batchId");
                f
            },
            "json",
        ),
        json_input(
            "json-short-hash",
            "A 31-byte root.",
            &with("root", json!(format!("0x{}", "ab".repeat(31)))),
            "json",
        ),
        json_input(
            "json-negative-index",
            "Index -1.",
            &with("index", json!(-1)),
            "json",
        ),
        json_input(
            "json-version-2",
            "Version 2.",
            &with("version", json!(2)),
            "unsupported_version",
        ),
        json_input(
            "json-zero-leaf-count",
            "Leaf count 0.",
            &with("leafCount", json!(0)),
            "zero_leaf_count",
        ),
        json_input(
            "json-index-out-of-range",
            "Index 13 in a batch of 13.",
            &with("index", json!(13)),
            "index_out_of_range",
        ),
        json_input(
            "json-sibling-missing",
            "Three of the four siblings.",
            &with("siblings", json!(p.siblings[..3])),
            "wrong_hash_count",
        ),
        json_input(
            "json-sibling-flipped",
            "The lowest bit of the first sibling flipped.",
            &with(
                "siblings",
                json!([
                    p.siblings[0] ^ B256::with_last_byte(1),
                    p.siblings[1],
                    p.siblings[2],
                    p.siblings[3]
                ]),
            ),
            "root_mismatch",
        ),
    ];

    // ---- against the anchored batch
    v.push(anchored_vector(
        "anchored-other-batch",
        "A valid proof of batch-8 checked against batch-13 as anchored.",
        &batch8.proof(5).unwrap().to_bytes(),
        anchored13,
        "root_mismatch",
    ));
    v.push(anchored_vector(
        "anchored-leaf-count-lie",
        "Index 5 of 13 claiming a batch of 16: index 5 has 4 siblings in both, so the proof verifies against its own root; only the leaf count anchored beside the root catches it.",
        &edit(&p, |b| put_u32(b, AT_LEAF_COUNT, 16)),
        anchored13,
        "leaf_count_mismatch",
    ));
    v.push(anchored_vector(
        "anchored-batch-id-changed",
        "A valid proof with another batch id (batch-8's): the batch id is not part of the Merkle hash, so only the anchored batch catches it.",
        &edit(&p, |b| {
            b[AT_BATCH_ID..AT_BATCH_ID + 32].copy_from_slice(batch8.batch_id().as_slice());
        }),
        anchored13,
        "batch_id_mismatch",
    ));
    v.push(binary(
        "leaf-count-lie-alone",
        "The proof of anchored-leaf-count-lie on its own: it is accepted, which is why verifiers check it against the anchored batch.",
        &edit(&p, |b| put_u32(b, AT_LEAF_COUNT, 16)),
        "none",
    ));
    v.push(binary(
        "index-changed-alone",
        "The proof of index 5 of 13 claiming index 4, which also has 4 siblings: accepted, because the sorted-pair hash does not bind the position; the index only sets how many siblings are expected.",
        &edit(&p, |b| put_u32(b, AT_INDEX, 4)),
        "none",
    ));
    v
}
