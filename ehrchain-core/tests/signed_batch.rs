//! Signed batches: every record's author stays provable inside a batch
//! (issue 16). Builds batches of authors' signed statements, checks their
//! proofs offline against a role history, and refuses a forged statement,
//! another author's signature, an author without the role, a role the
//! template does not allow, a leaf of another batch and another registry.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use alloy_primitives::{Address, B256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use ehrchain_core::authorship::{
    DomainSeparator, RecordSignature, RecordStatement, RoleHistory, RoleTerm, SignedBatch,
    SignedBatchAnchor, SignedBatchBuilder, SignedProofError, SignedRecordProof, SigningDomain,
};
use ehrchain_core::batch::ProofError;
use ehrchain_core::{AnchoredBatch, BatchBuilder, ErrorCode, InclusionProof, Role, UnixMillis};

const DOMAIN: SigningDomain = SigningDomain {
    chain_id: 1337,
    registry: Address::repeat_byte(0x42),
};
const TEMPLATE: B256 = B256::repeat_byte(0x7e);
/// When the test batches are anchored.
const ANCHORED_AT: UnixMillis = UnixMillis(1_767_225_600_000);

fn key(n: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(n)).unwrap()
}

fn doctor() -> B256 {
    Role::new("doctor").unwrap().id()
}

fn statement(n: u32, author: Address) -> RecordStatement {
    let mut ti = [0u8; 32];
    ti[28..].copy_from_slice(&n.to_be_bytes());
    let mut record = ti;
    record[0] = 0xee;
    RecordStatement {
        tiId: B256::from(ti),
        templateId: TEMPLATE,
        recordHash: B256::from(record),
        subject: B256::repeat_byte(0x55),
        role: doctor(),
        author,
        timestamp: 1_767_225_000 + u64::from(n),
    }
}

fn sign(
    separator: &DomainSeparator,
    signer: &PrivateKeySigner,
    s: &RecordStatement,
) -> RecordSignature {
    let signature = signer.sign_hash_sync(&separator.signing_hash(s)).unwrap();
    RecordSignature::from_slice(&signature.as_bytes()).unwrap()
}

/// `n` statements by `authors` in turn, each signed by its author (on every
/// core: signing dominates building a large batch).
fn signed_batch(n: u32, authors: &[PrivateKeySigner], batch_id: u8) -> SignedBatch {
    let separator = DomainSeparator::new(DOMAIN);
    let sign_range = |range: std::ops::Range<u32>| -> Vec<(RecordStatement, RecordSignature)> {
        range
            .map(|i| {
                let author = &authors[i as usize % authors.len()];
                let s = statement(i, author.address());
                let signature = sign(&separator, author, &s);
                (s, signature)
            })
            .collect()
    };
    let threads =
        std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(1));
    let chunk = n.div_ceil(threads).max(1);
    let signed: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk as usize)
            .map(|start| scope.spawn(move || sign_range(start..n.min(start + chunk))))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut builder = SignedBatchBuilder::new(DOMAIN);
    for (i, (s, signature)) in (0..).zip(signed) {
        assert_eq!(builder.push(s, signature).unwrap(), i);
    }
    builder.build(B256::repeat_byte(batch_id)).unwrap()
}

/// The registry's roles: the template allows doctors; `authors` were
/// doctors from a day before the batch, with no end.
fn roles(authors: &[Address]) -> RoleHistory {
    let mut history = RoleHistory::new();
    history.allow(TEMPLATE, doctor());
    for author in authors {
        history.grant(doctor(), *author, UnixMillis(ANCHORED_AT.0 - 86_400_000));
    }
    history
}

fn anchor(batch: &SignedBatch) -> SignedBatchAnchor {
    SignedBatchAnchor {
        domain: DOMAIN,
        batch: AnchoredBatch {
            root: batch.root(),
            leaf_count: batch.leaf_count(),
            batch_id: Some(batch.batch_id()),
        },
        anchored_at: ANCHORED_AT,
    }
}

fn code(e: &SignedProofError) -> ErrorCode {
    e.code()
}

#[test]
fn every_record_of_a_signed_batch_proves_its_author() {
    let authors = [key(1), key(2), key(3)];
    let batch = signed_batch(7, &authors, 0xb1);
    let history = roles(
        &authors
            .iter()
            .map(PrivateKeySigner::address)
            .collect::<Vec<_>>(),
    );
    for index in 0..7 {
        let proof = batch.proof(index).unwrap();
        assert_eq!(
            proof.statement.author,
            authors[index as usize % 3].address()
        );
        proof.verify().unwrap();
        proof.verify_anchored(&anchor(&batch), &history).unwrap();
        // The leaf is the plain batch's leaf of the statement's digest: the
        // same tree as a plain batch of the digests.
        assert_eq!(proof.inclusion().record_hash, proof.digest());
        // Every form round-trips.
        assert_eq!(
            SignedRecordProof::from_bytes(&proof.to_bytes()).unwrap(),
            proof
        );
        assert_eq!(
            SignedRecordProof::from_text(&proof.to_text()).unwrap(),
            proof
        );
        assert_eq!(
            SignedRecordProof::from_json(&proof.to_json()).unwrap(),
            proof
        );
    }
    let mut plain = BatchBuilder::new();
    for record in batch.records() {
        plain
            .push(DomainSeparator::new(DOMAIN).signing_hash(&record.statement))
            .unwrap();
    }
    assert_eq!(
        plain.build(B256::repeat_byte(0xb1)).unwrap().root(),
        batch.root()
    );
}

#[test]
fn the_separator_is_the_statement_digest() {
    let s = statement(9, key(1).address());
    let separator = DomainSeparator::new(DOMAIN);
    assert_eq!(separator.signing_hash(&s), s.signing_hash(&DOMAIN));
    assert_eq!(separator.separator(), DOMAIN.eip712().separator());
}

#[test]
fn versions_one_and_two_are_told_apart() {
    let batch = signed_batch(3, &[key(1)], 0xb2);
    let signed = batch.proof(1).unwrap();
    let plain = signed.inclusion();
    assert_eq!(
        SignedRecordProof::from_bytes(&plain.to_bytes()).unwrap_err(),
        SignedProofError::Proof(ProofError::UnsupportedVersion(1))
    );
    assert_eq!(
        InclusionProof::from_bytes(&signed.to_bytes()).unwrap_err(),
        ProofError::UnsupportedVersion(2)
    );
    // The version 1 proof of the digest still decodes and verifies.
    assert_eq!(InclusionProof::from_text(&plain.to_text()).unwrap(), plain);
    plain.verify().unwrap();
}

#[test]
fn malformed_signed_proofs_are_refused_with_their_defect() {
    let proof = signed_batch(3, &[key(1)], 0xb3).proof(0).unwrap();
    let bytes = proof.to_bytes();
    assert_eq!(bytes.len(), 359 + 2 * 32);
    let err = |b: &[u8]| SignedRecordProof::from_bytes(b).unwrap_err();
    assert_eq!(
        err(&bytes[..bytes.len() - 1]),
        SignedProofError::Proof(ProofError::Truncated {
            needed: 423,
            got: 422
        })
    );
    assert_eq!(
        err(&bytes[..100]),
        SignedProofError::Proof(ProofError::Truncated {
            needed: 359,
            got: 100
        })
    );
    assert_eq!(
        err(b"EH"),
        SignedProofError::Proof(ProofError::Truncated {
            needed: 359,
            got: 2
        })
    );
    assert_eq!(
        err(b"XXXXX"),
        SignedProofError::Proof(ProofError::NotAProof)
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        err(&longer),
        SignedProofError::Proof(ProofError::TrailingBytes(1))
    );
    // A high-s twin of the signature (s -> n - s, v flipped) is refused
    // before anything is recovered.
    let mut high_s = bytes.clone();
    let s_at = 5 + 28 + 188 + 32;
    let s = alloy_primitives::U256::from_be_slice(&high_s[s_at..s_at + 32]);
    let n = alloy_primitives::U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    high_s[s_at..s_at + 32].copy_from_slice(&(n - s).to_be_bytes::<32>());
    high_s[s_at + 32] ^= 0x1f ^ 0x1c;
    assert_eq!(code(&err(&high_s)), ErrorCode::SignatureMalformed);
}

#[test]
fn a_forged_statement_is_not_in_the_batch() {
    let authors = [key(1)];
    let batch = signed_batch(4, &authors, 0xb4);
    let history = roles(&[authors[0].address()]);
    let mut forged = batch.proof(2).unwrap();
    forged.statement.recordHash = B256::repeat_byte(0x99);
    // Even re-signed by its author, another record hash is another leaf.
    forged.signature = sign(
        &DomainSeparator::new(DOMAIN),
        &authors[0],
        &forged.statement,
    );
    let e = forged
        .verify_anchored(&anchor(&batch), &history)
        .unwrap_err();
    assert!(
        matches!(e, SignedProofError::Proof(ProofError::RootMismatch { .. })),
        "{e}"
    );
    assert_eq!(e.code(), ErrorCode::ProofInvalid);
}

#[test]
fn another_authors_signature_is_refused() {
    let (author, other) = (key(1), key(2));
    let separator = DomainSeparator::new(DOMAIN);
    let mut builder = SignedBatchBuilder::new(DOMAIN);
    let s = statement(0, author.address());
    // Signed by `other` though it names `author`: the batch takes it (the
    // relayer may not check), the proof does not.
    builder
        .push(s.clone(), sign(&separator, &other, &s))
        .unwrap();
    let batch = builder.build(B256::repeat_byte(0xb5)).unwrap();
    let proof = batch.proof(0).unwrap();
    let e = proof
        .verify_anchored(
            &anchor(&batch),
            &roles(&[author.address(), other.address()]),
        )
        .unwrap_err();
    assert_eq!(
        e,
        SignedProofError::Signature(ehrchain_core::authorship::AuthorshipError::WrongSigner {
            author: author.address(),
            signer: other.address(),
        })
    );
    assert_eq!(e.code(), ErrorCode::SignatureWrongSigner);
}

#[test]
fn an_author_without_the_role_when_anchored_is_refused() {
    let author = key(1);
    let batch = signed_batch(2, std::slice::from_ref(&author), 0xb6);
    let proof = batch.proof(1).unwrap();
    let a = author.address();
    let refused =
        |history: &RoleHistory| proof.verify_anchored(&anchor(&batch), history).unwrap_err();
    // Never a doctor.
    let mut history = roles(&[]);
    let never = refused(&history);
    assert_eq!(
        never,
        SignedProofError::RoleNotHeld {
            author: a,
            role: doctor(),
            at: ANCHORED_AT
        }
    );
    assert_eq!(never.code(), ErrorCode::AuthorRoleNotHeld);
    // Granted only after the batch was anchored.
    history.grant(doctor(), a, UnixMillis(ANCHORED_AT.0 + 1_000));
    assert_eq!(refused(&history).code(), ErrorCode::AuthorRoleNotHeld);
    // A doctor once, revoked the very second the batch was anchored.
    history.set_terms(
        doctor(),
        a,
        vec![RoleTerm {
            granted_at: UnixMillis(0),
            revoked_at: Some(ANCHORED_AT),
        }],
    );
    assert_eq!(refused(&history).code(), ErrorCode::AuthorRoleNotHeld);
    // Revoked, then granted again before the batch: held.
    history.grant(doctor(), a, UnixMillis(ANCHORED_AT.0 - 1_000));
    proof.verify_anchored(&anchor(&batch), &history).unwrap();
    // A role the template does not allow.
    let mut nurse_only = RoleHistory::new();
    nurse_only.allow(TEMPLATE, Role::new("nurse").unwrap().id());
    nurse_only.grant(doctor(), a, UnixMillis(0));
    let e = refused(&nurse_only);
    assert_eq!(
        e,
        SignedProofError::RoleNotAllowed {
            template_id: TEMPLATE,
            role: doctor()
        }
    );
    assert_eq!(e.code(), ErrorCode::AuthorRoleNotAllowed);
}

#[test]
fn a_leaf_of_another_batch_or_registry_is_refused() {
    let authors = [key(1)];
    let history = roles(&[authors[0].address(), key(2).address()]);
    let (a, b) = (
        signed_batch(4, &authors, 0xa0),
        signed_batch(4, &[key(2)], 0xb0),
    );
    // B's proof against A's anchored batch.
    let e = b
        .proof(0)
        .unwrap()
        .verify_anchored(&anchor(&a), &history)
        .unwrap_err();
    assert!(
        matches!(e, SignedProofError::Proof(ProofError::RootMismatch { .. })),
        "{e}"
    );
    // B's proof with A's root swapped in: the siblings do not lead there.
    let mut moved = b.proof(0).unwrap();
    moved.root = a.root();
    moved.leaf_count = a.leaf_count();
    moved.batch_id = a.batch_id();
    let e = moved.verify_anchored(&anchor(&a), &history).unwrap_err();
    assert!(
        matches!(e, SignedProofError::Proof(ProofError::RootMismatch { .. })),
        "{e}"
    );
    // A's proof checked against another registry.
    let mut elsewhere = anchor(&a);
    elsewhere.domain.registry = Address::repeat_byte(0x43);
    let e = a
        .proof(0)
        .unwrap()
        .verify_anchored(&elsewhere, &history)
        .unwrap_err();
    assert_eq!(
        e,
        SignedProofError::OtherDomain {
            expected: elsewhere.domain,
            claimed: DOMAIN
        }
    );
    assert_eq!(e.code(), ErrorCode::SignatureWrongSigner);
}

#[test]
fn role_history_json_round_trips() {
    let mut history = roles(&[key(1).address(), key(2).address()]);
    history.revoke(doctor(), key(2).address(), ANCHORED_AT);
    let json = serde_json::to_string(&history).unwrap();
    assert_eq!(RoleHistory::from_json(&json).unwrap(), history);
    assert!(history.held_at(doctor(), key(2).address(), UnixMillis(ANCHORED_AT.0 - 1)));
    assert!(!history.held_at(doctor(), key(2).address(), ANCHORED_AT));
    assert_eq!(
        RoleHistory::from_json("{\"allowed\": []}")
            .unwrap_err()
            .code(),
        ErrorCode::InvalidJson
    );
}

/// Issue 16's "done when": in a batch of 65,536 records (depth 16) every
/// record's author is provable. Builds the whole batch from 16 authors,
/// checks every 257th proof and the last one offline, and states the QR
/// text size of a depth-16 proof.
#[test]
fn a_65536_record_signed_batch_proves_every_sampled_author() {
    const N: u32 = 1 << 16;
    let authors: Vec<PrivateKeySigner> = (1..=16).map(key).collect();
    let batch = signed_batch(N, &authors, 0xbb);
    assert_eq!(batch.leaf_count(), N);
    let history = roles(
        &authors
            .iter()
            .map(PrivateKeySigner::address)
            .collect::<Vec<_>>(),
    );
    let anchor = anchor(&batch);
    for index in (0..N).step_by(257).chain([N - 1]) {
        let proof = batch.proof(index).unwrap();
        assert_eq!(proof.siblings.len(), 16);
        assert_eq!(
            proof.statement.author,
            authors[index as usize % 16].address()
        );
        let text = proof.to_text();
        // 359 + 16 × 32 = 871 bytes; base45: 435 pairs × 3 + 2 = 1,307
        // characters, plus "EHRP:".
        assert_eq!(text.len(), 1_312);
        SignedRecordProof::from_text(&text)
            .unwrap()
            .verify_anchored(&anchor, &history)
            .unwrap();
    }
}
