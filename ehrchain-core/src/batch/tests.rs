use alloy_primitives::{Address, B256, keccak256};
use alloy_sol_types::SolCall;
use rs_merkle::MerkleProof;

use super::proof::VERIFY_BLOCK;
use super::*;

fn record(i: u32) -> B256 {
    keccak256(format!("record-{i}"))
}

/// What the registry holds for `batch`, anchored with `leaf_count` leaves.
fn registry_holds(batch: &Batch, leaf_count: u32) -> AnchoredBatch {
    AnchoredBatch {
        root: batch.root(),
        leaf_count,
        batch_id: Some(batch.batch_id()),
    }
}

fn batch_of(n: u32) -> Batch {
    let mut builder = BatchBuilder::with_capacity(n as usize);
    for i in 0..n {
        assert_eq!(builder.push(record(i)).unwrap(), i);
    }
    builder.build(B256::repeat_byte(0xba)).unwrap()
}

/// Reference root: pair left to right, sorted-pair keccak, lone node promoted.
fn reference_root(leaves: &[B256]) -> B256 {
    let mut level: Vec<[u8; 32]> = leaves.iter().map(|h| leaf_of(h).0).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => hash_pair(a, b),
                [a] => *a,
                _ => unreachable!(),
            })
            .collect();
    }
    B256::from(level[0])
}

#[test]
fn leaf_is_openzeppelin_standard_leaf() {
    // StandardMerkleTree leaf: keccak256(bytes.concat(keccak256(abi.encode(v)))).
    let v = B256::repeat_byte(0x42);
    assert_eq!(leaf_of(&v), keccak256(keccak256(v.as_slice())));
    assert_ne!(leaf_of(&v), keccak256(v));
}

#[test]
fn hash_pair_is_commutative() {
    let (a, b) = ([1u8; 32], [2u8; 32]);
    assert_eq!(hash_pair(&a, &b), hash_pair(&b, &a));
    let mut ab = [0u8; 64];
    ab[..32].copy_from_slice(&a);
    ab[32..].copy_from_slice(&b);
    assert_eq!(hash_pair(&b, &a), keccak256(ab).0);
}

#[test]
fn every_proof_of_every_small_batch_verifies() {
    for n in 1..=40 {
        let batch = batch_of(n);
        assert_eq!(batch.root(), reference_root(batch.record_hashes()), "n={n}");
        assert_eq!(batch.leaf_count(), n);
        for i in 0..n {
            let proof = batch.proof(i).unwrap();
            assert_eq!(proof.record_hash, record(i));
            proof
                .verify()
                .unwrap_or_else(|e| panic!("n={n} i={i}: {e}"));
            let anchored = registry_holds(&batch, n);
            proof.verify_anchored(&anchored).unwrap();
        }
        assert_eq!(
            batch.proof(n),
            Err(BatchError::NoSuchRecord {
                index: n,
                len: n as usize
            })
        );
    }
}

#[test]
fn leaves_into_gives_the_leaf_of_each_record() {
    // Full and partial groups of SIMD lanes of whichever backend p3-keccak
    // picks on this CPU (with `simd-keccak`; its own tests cover every
    // backend), and both sides of a LEAF_BLOCK.
    let hashes: Vec<B256> = (0..2 * 256 + 9).map(record).collect();
    assert_eq!(LEAF_BLOCK, 256);
    for n in (0..=17).chain([LEAF_BLOCK - 1, LEAF_BLOCK, LEAF_BLOCK + 1, hashes.len()]) {
        let mut leaves = vec![[0u8; 32]; n];
        leaves_into(&hashes[..n], &mut leaves);
        for (i, leaf) in leaves.iter().enumerate() {
            assert_eq!(*leaf, leaf_of(&hashes[i]).0, "{n} leaves, leaf {i}");
        }
    }
}

/// Proofs from batches of several sizes, and each of them spoilt in every way
/// `verify` tells apart.
fn good_and_spoilt_proofs() -> Vec<InclusionProof> {
    let mut proofs = Vec::new();
    for n in [1, 2, 3, 7, 8, 13, 100, 1000] {
        let batch = batch_of(n);
        for i in [0, 1, n / 2, n.saturating_sub(2), n - 1] {
            let Ok(good) = batch.proof(i) else { continue };
            let mut spoilt = vec![good.clone(); 7];
            spoilt[0].record_hash = record(9999);
            spoilt[1].root.0[31] ^= 1;
            spoilt[2].index = n;
            spoilt[3].leaf_count = 0;
            spoilt[4].siblings.push(B256::repeat_byte(7));
            spoilt[5].siblings = vec![B256::repeat_byte(7); 40];
            if let Some(sibling) = spoilt[6].siblings.last_mut() {
                sibling.0[0] ^= 0x80;
            }
            proofs.push(good);
            proofs.extend(spoilt);
        }
    }
    proofs
}

#[test]
fn verify_many_gives_each_proof_the_result_of_verify() {
    let proofs = good_and_spoilt_proofs();
    assert!(proofs.len() > VERIFY_BLOCK, "crosses a block boundary");
    let one_by_one: Vec<_> = proofs.iter().map(InclusionProof::verify).collect();
    assert_eq!(InclusionProof::verify_many(&proofs), one_by_one);
    let borrowed: Vec<&InclusionProof> = proofs.iter().collect();
    assert_eq!(InclusionProof::verify_many(&borrowed), one_by_one);
    assert!(one_by_one.iter().any(Result::is_ok));
    for kind in [
        "RootMismatch",
        "IndexOutOfRange",
        "ZeroLeafCount",
        "WrongHashCount",
    ] {
        assert!(
            one_by_one.iter().any(|r| format!("{r:?}").contains(kind)),
            "{kind} covered"
        );
    }
    assert!(InclusionProof::verify_many::<InclusionProof>(&[]).is_empty());
}

#[test]
fn verify_many_accepts_every_proof_of_a_batch() {
    let batch = batch_of(1000);
    let proofs: Vec<_> = (0..1000).map(|i| batch.proof(i).unwrap()).collect();
    assert!(
        InclusionProof::verify_many(&proofs)
            .iter()
            .all(Result::is_ok)
    );
}

#[test]
fn single_record_batch_root_is_its_leaf() {
    let batch = batch_of(1);
    assert_eq!(batch.root(), leaf_of(&record(0)));
    let proof = batch.proof(0).unwrap();
    assert!(proof.siblings.is_empty());
    proof.verify().unwrap();
}

#[test]
fn builder_rejects_empty_batches_and_zero_hashes() {
    assert_eq!(
        BatchBuilder::new().build(B256::ZERO).unwrap_err(),
        BatchError::Empty
    );
    assert_eq!(
        BatchBuilder::new().push(B256::ZERO).unwrap_err(),
        BatchError::ZeroRecordHash
    );
}

#[test]
fn anchor_transaction_encodes_anchor_batch() {
    let batch = batch_of(5);
    let tx = batch.anchor_transaction(Address::repeat_byte(0xee), 1337);
    assert_eq!(
        &tx.calldata[..4],
        &keccak256("anchorBatch(bytes32,uint32,bytes32)")[..4]
    );
    let call = anchorBatchCall::abi_decode(&tx.calldata).unwrap();
    assert_eq!(
        (call.root, call.leafCount, call.batchId),
        (batch.root(), 5, batch.batch_id())
    );
    assert_eq!(
        (tx.root, tx.leaf_count, tx.to, tx.chain_id),
        (batch.root(), 5, Address::repeat_byte(0xee), 1337)
    );
}

#[test]
fn altered_proofs_fail() {
    let batch = batch_of(13);
    let good = batch.proof(6).unwrap();

    let mut other_record = good.clone();
    other_record.record_hash = record(99);
    assert!(matches!(
        other_record.verify(),
        Err(ProofError::RootMismatch { .. })
    ));

    let mut flipped = good.clone();
    flipped.siblings[1].0[0] ^= 1;
    assert!(matches!(
        flipped.verify(),
        Err(ProofError::RootMismatch { .. })
    ));

    let mut moved = good.clone();
    moved.index = 13;
    assert_eq!(
        moved.verify(),
        Err(ProofError::IndexOutOfRange {
            index: 13,
            leaf_count: 13
        })
    );

    let anchored = registry_holds(&batch, 13);
    let mut other_batch = anchored;
    other_batch.batch_id = Some(B256::ZERO);
    assert!(matches!(
        good.verify_anchored(&other_batch),
        Err(ProofError::BatchIdMismatch { .. })
    ));
    let mut other_root = anchored;
    other_root.root = B256::repeat_byte(1);
    assert!(matches!(
        good.verify_anchored(&other_root),
        Err(ProofError::RootMismatch { .. })
    ));
}

// rs_merkle 1.5's multi-proof `verify` accepts duplicate and out-of-range
// indices. A single proof has one index, so it cannot repeat; it must be below
// the leaf count, in every form the proof arrives in.
#[test]
fn out_of_range_index_is_rejected() {
    let batch = batch_of(8);
    let anchored = registry_holds(&batch, 8);
    for index in [8, 9, u32::MAX] {
        let mut proof = batch.proof(2).unwrap();
        proof.index = index;
        let out_of_range = ProofError::IndexOutOfRange {
            index,
            leaf_count: 8,
        };
        assert_eq!(proof.verify(), Err(out_of_range.clone()));
        assert_eq!(proof.verify_anchored(&anchored), Err(out_of_range.clone()));
        assert_eq!(
            InclusionProof::verify_many(&[&proof]),
            [Err(out_of_range.clone())]
        );
        assert_eq!(
            InclusionProof::from_bytes(&proof.to_bytes()),
            Err(out_of_range.clone())
        );
        assert_eq!(
            InclusionProof::from_json(&proof.to_json()),
            Err(out_of_range)
        );
    }
    assert_eq!(
        batch.proof(8).unwrap_err(),
        BatchError::NoSuchRecord { index: 8, len: 8 }
    );
}

// rs_merkle 1.5 weakness: extra trailing hashes are ignored.
#[test]
fn trailing_hash_attack_is_rejected() {
    let batch = batch_of(8);
    let mut single = batch.proof(1).unwrap();
    single.verify().unwrap();
    single.siblings.push(B256::repeat_byte(0xff));
    // In a batch of 8 the siblings are rs_merkle's helper hashes for leaf 1.
    let raw = MerkleProof::<SortedPairKeccak>::new(single.siblings.iter().map(|h| h.0).collect());
    let leaf = [leaf_of(&record(1)).0];
    assert!(
        raw.verify(batch.root().0, &[1], &leaf, 8),
        "rs_merkle no longer ignores extra hashes"
    );
    assert_eq!(
        single.verify(),
        Err(ProofError::WrongHashCount {
            expected: 3,
            got: 4
        })
    );
}

// rs_merkle 1.5 weakness: the leaf count is not bound to the root.
#[test]
fn leaf_count_attack_is_rejected() {
    let batch = batch_of(8);
    let mut single = batch.proof(0).unwrap();
    let raw = MerkleProof::<SortedPairKeccak>::new(single.siblings.iter().map(|h| h.0).collect());
    let leaf = [leaf_of(&record(0)).0];
    assert!(
        raw.verify(batch.root().0, &[0], &leaf, 7),
        "rs_merkle now binds the leaf count"
    );
    // The leaf count is anchored beside the root; a proof claiming another fails.
    let anchored = registry_holds(&batch, 8);
    single.leaf_count = 7;
    assert_eq!(
        single.verify_anchored(&anchored),
        Err(ProofError::LeafCountMismatch {
            anchored: 8,
            claimed: 7
        })
    );
}

#[test]
fn proof_with_altered_root_field_names_its_own_root() {
    let batch = batch_of(5);
    let anchored = registry_holds(&batch, 5);
    let mut proof = batch.proof(2).unwrap();
    proof.root = B256::repeat_byte(9);
    assert_eq!(
        proof.verify_anchored(&anchored),
        Err(ProofError::RootMismatch {
            expected: B256::repeat_byte(9),
            computed: batch.root()
        })
    );
}

#[test]
fn encodings_round_trip() {
    let batch = batch_of(13);
    for i in 0..13 {
        let proof = batch.proof(i).unwrap();
        let bytes = proof.to_bytes();
        assert_eq!(bytes.len(), 110 + 32 * proof.siblings.len());
        assert_eq!(InclusionProof::from_bytes(&bytes).unwrap(), proof);
        let text = proof.to_text();
        assert!(text.starts_with("EHRP:"));
        assert!(
            text.bytes()
                .all(|b| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(&b))
        );
        assert_eq!(
            InclusionProof::from_text(&format!("  {text}\n")).unwrap(),
            proof
        );
        assert_eq!(InclusionProof::from_json(&proof.to_json()).unwrap(), proof);
    }
}

#[test]
fn malformed_encodings_are_rejected() {
    let proof = batch_of(5).proof(2).unwrap();
    let bytes = proof.to_bytes();
    let edited = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut edited = bytes.clone();
        edit(&mut edited);
        edited
    };
    let cases: [(Vec<u8>, ProofError); 8] = [
        (
            Vec::new(),
            ProofError::Truncated {
                needed: 110,
                got: 0,
            },
        ),
        (
            b"EHR".to_vec(),
            ProofError::Truncated {
                needed: 110,
                got: 3,
            },
        ),
        (b"XHRP".to_vec(), ProofError::NotAProof),
        (edited(&|b| b[4] = 2), ProofError::UnsupportedVersion(2)),
        (
            bytes[..bytes.len() - 1].to_vec(),
            ProofError::Truncated {
                needed: bytes.len(),
                got: bytes.len() - 1,
            },
        ),
        (edited(&|b| b.push(0)), ProofError::TrailingBytes(1)),
        (
            edited(&|b| b[101..105].copy_from_slice(&0u32.to_be_bytes())),
            ProofError::ZeroLeafCount,
        ),
        (edited(&|b| b[109] = 33), ProofError::TooManySiblings(33)),
    ];
    for (bytes, error) in cases {
        assert_eq!(InclusionProof::from_bytes(&bytes), Err(error));
    }
    assert_eq!(
        InclusionProof::from_text("HC1:ABC"),
        Err(ProofError::NotAProof)
    );
    assert_eq!(
        InclusionProof::from_text("EHRP:a"),
        Err(ProofError::BadText)
    );
    assert!(matches!(
        InclusionProof::from_json("{}"),
        Err(ProofError::Json(_))
    ));
    let json = proof.to_json().replace("\"version\": 1", "\"version\": 9");
    assert_eq!(
        InclusionProof::from_json(&json),
        Err(ProofError::UnsupportedVersion(9))
    );
}

#[test]
fn large_batch_matches_reference() {
    // Large enough for the `parallel` feature to split the leaf hashing.
    let n = 9_000;
    let batch = batch_of(n);
    assert_eq!(batch.root(), reference_root(batch.record_hashes()));
    for i in [0, 1, n / 2, n - 2, n - 1] {
        batch.proof(i).unwrap().verify().unwrap();
    }
}

/// A chain that knows some anchored batches, or fails to answer.
struct FakeChain {
    batches: Vec<AnchoredBatch>,
    down: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("node unreachable")]
struct Unreachable;

impl BatchReader for FakeChain {
    type Error = Unreachable;
    fn anchored_batch(&mut self, root: &B256) -> Result<Option<AnchoredBatch>, Unreachable> {
        if self.down {
            return Err(Unreachable);
        }
        Ok(self.batches.iter().find(|b| b.root == *root).copied())
    }
}

#[test]
fn proofs_verify_against_the_chain() {
    let batch = batch_of(9);
    let proof = batch.proof(4).unwrap();
    let anchored = AnchoredBatch {
        root: batch.root(),
        leaf_count: 9,
        batch_id: None,
    };
    let mut chain = FakeChain {
        batches: vec![anchored],
        down: false,
    };
    assert_eq!(proof.verify_on_chain(&mut chain).unwrap(), anchored);

    let mut empty = FakeChain {
        batches: vec![],
        down: false,
    };
    assert!(matches!(
        proof.verify_on_chain(&mut empty),
        Err(ChainCheckError::Proof(ProofError::NotAnchored(root))) if root == batch.root()
    ));
    let mut other_count = FakeChain {
        batches: vec![AnchoredBatch {
            leaf_count: 10,
            ..anchored
        }],
        down: false,
    };
    assert!(matches!(
        proof.verify_on_chain(&mut other_count),
        Err(ChainCheckError::Proof(ProofError::LeafCountMismatch {
            anchored: 10,
            claimed: 9
        }))
    ));
    let mut down = FakeChain {
        batches: vec![anchored],
        down: true,
    };
    assert!(matches!(
        proof.verify_on_chain(&mut down),
        Err(ChainCheckError::Chain(Unreachable))
    ));
}

#[test]
fn a_read_that_found_no_batch_is_not_anchored_and_one_that_did_is_checked() {
    let batch = batch_of(5);
    let proof = batch.proof(2).unwrap();
    assert_eq!(
        proof.verify_read(None),
        Err(ProofError::NotAnchored(batch.root()))
    );
    let held = registry_holds(&batch, 5);
    assert_eq!(proof.verify_read(Some(&held)), Ok(held));
    let lie = registry_holds(&batch, 6);
    assert!(matches!(
        proof.verify_read(Some(&lie)),
        Err(ProofError::LeafCountMismatch { .. })
    ));
    // A tampered proof is invalid whether or not a batch was found, as on
    // chain (verify_on_chain checks it before reading).
    let mut tampered = proof.clone();
    tampered.record_hash = B256::repeat_byte(0xFF);
    let invalid = tampered.verify().unwrap_err();
    assert_eq!(tampered.verify_read(None), Err(invalid.clone()));
    assert_eq!(tampered.verify_read(Some(&held)), Err(invalid));
}
