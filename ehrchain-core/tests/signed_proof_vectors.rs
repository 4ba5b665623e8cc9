//! Test vectors of signed records' proofs (proof format version 2,
//! `docs/proofs.md`), kept in `docs/vectors/signed_proofs.json`.
//!
//! `EHRCHAIN_REGENERATE_VECTORS=1 cargo test -p ehrchain-core --test signed_proof_vectors`
//! rewrites the file; every other run rebuilds the vectors (signatures are
//! deterministic, RFC 6979), requires the file to equal them, and decodes
//! and checks every vector from the file: each valid proof round-trips and
//! verifies against its anchor and role history, each invalid one is refused
//! with its code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use alloy_primitives::{Address, B256, Bytes};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use ehrchain_core::authorship::{
    DomainSeparator, RecordSignature, RecordStatement, RoleHistory, SignedBatchAnchor,
    SignedBatchBuilder, SignedRecordProof, SigningDomain,
};
use ehrchain_core::batch::leaf_of;
use ehrchain_core::{AnchoredBatch, Role, UnixMillis};
use serde::{Deserialize, Serialize};

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../docs/vectors/signed_proofs.json"
);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct VectorFile {
    description: Vec<String>,
    spec: String,
    proof_version: u8,
    /// The test keys of the authors (never real ones).
    private_keys: Vec<B256>,
    anchor: SignedBatchAnchor,
    roles: RoleHistory,
    valid: Vec<Valid>,
    invalid: Vec<Invalid>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Valid {
    index: u32,
    digest: B256,
    leaf: B256,
    binary: Bytes,
    text: String,
    json: serde_json::Value,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Invalid {
    name: String,
    comment: String,
    binary: Bytes,
    code: String,
}

fn domain() -> SigningDomain {
    SigningDomain {
        chain_id: 1337,
        registry: Address::repeat_byte(0x42),
    }
}

fn doctor() -> B256 {
    Role::new("doctor").unwrap().id()
}

fn sign(key: &PrivateKeySigner, s: &RecordStatement) -> RecordSignature {
    let digest = DomainSeparator::new(domain()).signing_hash(s);
    RecordSignature::from_slice(&key.sign_hash_sync(&digest).unwrap().as_bytes()).unwrap()
}

fn build() -> VectorFile {
    let keys: Vec<B256> = [0x01u8, 0x02].map(B256::repeat_byte).to_vec();
    let signers: Vec<_> = keys
        .iter()
        .map(|k| PrivateKeySigner::from_bytes(k).unwrap())
        .collect();
    let template = B256::repeat_byte(0x7e);
    let statement = |n: u8, author: Address| RecordStatement {
        tiId: B256::repeat_byte(0x10 + n),
        templateId: template,
        recordHash: B256::repeat_byte(0x20 + n),
        subject: B256::repeat_byte(0x55),
        role: doctor(),
        author,
        timestamp: 1_767_225_000 + u64::from(n),
    };
    let mut builder = SignedBatchBuilder::new(domain());
    for n in 0..3u8 {
        let key = &signers[usize::from(n) % 2];
        let s = statement(n, key.address());
        builder.push(s.clone(), sign(key, &s)).unwrap();
    }
    let batch = builder.build(B256::repeat_byte(0xba)).unwrap();
    let anchored_at = UnixMillis::from_secs(1_767_225_600);
    let anchor = SignedBatchAnchor {
        domain: domain(),
        batch: AnchoredBatch {
            root: batch.root(),
            leaf_count: batch.leaf_count(),
            batch_id: Some(batch.batch_id()),
        },
        anchored_at,
    };
    let mut roles = RoleHistory::new();
    roles.allow(template, doctor());
    roles.grant(
        doctor(),
        signers[0].address(),
        UnixMillis::from_secs(1_767_000_000),
    );
    roles.grant(
        doctor(),
        signers[1].address(),
        UnixMillis::from_secs(1_767_000_000),
    );
    let valid = (0..3)
        .map(|index| {
            let proof = batch.proof(index).unwrap();
            Valid {
                index,
                digest: proof.digest(),
                leaf: leaf_of(&proof.digest()),
                binary: proof.to_bytes().into(),
                text: proof.to_text(),
                json: serde_json::from_str(&proof.to_json()).unwrap(),
            }
        })
        .collect();
    let invalid = invalid_vectors(&batch.proof(1).unwrap(), &signers, &anchor, &roles);
    VectorFile {
        description: vec![
            "Proofs of signed records (format version 2): a batch of three statements by two test keys, its anchor and the registry's role history, and proofs ehrchain refuses with the code it refuses them with.".to_owned(),
            "Regenerate: EHRCHAIN_REGENERATE_VECTORS=1 cargo test -p ehrchain-core --test signed_proof_vectors".to_owned(),
        ],
        spec: "docs/proofs.md".to_owned(),
        proof_version: 2,
        private_keys: keys,
        anchor,
        roles,
        valid,
        invalid,
    }
}

/// Proofs derived from `good` that fail, each with a different check.
fn invalid_vectors(
    good: &SignedRecordProof,
    signers: &[PrivateKeySigner],
    anchor: &SignedBatchAnchor,
    roles: &RoleHistory,
) -> Vec<Invalid> {
    let bytes = good.to_bytes();
    let mut cases: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "truncated",
            "The last byte of a valid proof is missing.",
            bytes[..bytes.len() - 1].to_vec(),
        ),
        (
            "trailing-byte",
            "A valid proof with one more byte.",
            [bytes.as_slice(), &[0]].concat(),
        ),
        ("unknown-version", "Version byte 3: no such version.", {
            let mut b = bytes.clone();
            b[4] = 3;
            b
        }),
        ("parity", "The signature's v is 29.", {
            let mut b = bytes.clone();
            b[5 + 28 + 188 + 64] = 29;
            b
        }),
    ];
    let mut forged = good.clone();
    forged.statement.recordHash = B256::repeat_byte(0x99);
    forged.signature = sign(&signers[1], &forged.statement);
    cases.push((
        "forged-statement",
        "Another record hash, signed by the author: not a leaf of the batch.",
        forged.to_bytes(),
    ));
    let mut other = good.clone();
    other.signature = sign(&signers[0], &other.statement);
    cases.push((
        "other-signer",
        "The statement signed by another test key than its author.",
        other.to_bytes(),
    ));
    let mut stranger = good.clone();
    stranger.statement.author = Address::repeat_byte(0x77);
    cases.push((
        "other-author",
        "Another author named, the signature kept: not a leaf of the batch.",
        stranger.to_bytes(),
    ));
    let mut elsewhere = good.clone();
    elsewhere.domain.registry = Address::repeat_byte(0x43);
    cases.push((
        "other-registry",
        "The same proof claiming another registry.",
        elsewhere.to_bytes(),
    ));
    let mut nurse = good.clone();
    nurse.statement.role = Role::new("nurse").unwrap().id();
    nurse.signature = sign(&signers[1], &nurse.statement);
    cases.push((
        "other-role",
        "The author signs as a nurse: not a leaf of the batch.",
        nurse.to_bytes(),
    ));
    cases
        .into_iter()
        .map(|(name, comment, binary)| Invalid {
            name: name.to_owned(),
            comment: comment.to_owned(),
            code: refusal(&binary, anchor, roles).to_owned(),
            binary: binary.into(),
        })
        .collect()
}

/// The code `binary` is refused with.
fn refusal(binary: &[u8], anchor: &SignedBatchAnchor, roles: &RoleHistory) -> &'static str {
    let e = SignedRecordProof::from_bytes(binary)
        .and_then(|p| p.verify_anchored(anchor, roles))
        .expect_err("an invalid vector must be refused");
    e.code().name()
}

#[test]
fn signed_proof_vectors_match_this_library() {
    let file = common::read_back_vector_file(PATH, build);
    for v in &file.valid {
        let proof = SignedRecordProof::from_bytes(&v.binary).unwrap();
        assert_eq!(SignedRecordProof::from_text(&v.text).unwrap(), proof);
        assert_eq!(
            SignedRecordProof::from_json(&v.json.to_string()).unwrap(),
            proof
        );
        assert_eq!((proof.index, proof.digest()), (v.index, v.digest));
        assert_eq!(leaf_of(&v.digest), v.leaf);
        proof.verify_anchored(&file.anchor, &file.roles).unwrap();
    }
    for v in &file.invalid {
        assert_eq!(
            refusal(&v.binary, &file.anchor, &file.roles),
            v.code,
            "{}",
            v.name
        );
    }
    assert_eq!(
        file.invalid
            .iter()
            .map(|v| v.code.as_str())
            .collect::<Vec<_>>(),
        [
            "EHR_PROOF_MALFORMED",
            "EHR_PROOF_MALFORMED",
            "EHR_PROOF_UNSUPPORTED",
            "EHR_SIGNATURE_MALFORMED",
            "EHR_PROOF_INVALID",
            "EHR_SIGNATURE_WRONG_SIGNER",
            "EHR_PROOF_INVALID",
            "EHR_SIGNATURE_WRONG_SIGNER",
            "EHR_PROOF_INVALID",
        ]
    );
}
