//! The TI → TG → Transaction Validator → devnet → ACK flow through
//! `DevnetTransport`: valid ACKs for a doctor and a nurse, an invalid ACK with
//! the decoded revert when the chain refuses a role, a replayed TI that comes
//! back as a valid replay, batches, template violations and a wrong chain, and
//! settling: a validator that loses every submission answer reads the registry
//! and ends valid (recovered), or not anchored when nothing was sent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use alloy_primitives::B256;
use common::{devnet_with_built_ins, role};
use ehrchain_contracts::{Devnet, DevnetTransport, EhrRegistry};
use ehrchain_core::{
    Ack, AnchoredBatch, BatchBuilder, BatchReader, ChainTransaction, Clock, GeneratorConfig,
    Handshaker, InMemoryKeyStore, InitialTransaction, InvalidReason, KeyId, MasterKey, Role,
    Submission, SubmissionStatus, TransactionGenerator, TransactionValidator, Transport,
    TransportError, TxHash, ValidatorConfig, run_blocking,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::json;

/// A virtual clock: waiting moves it forward at once.
struct VirtualClock(u64);

impl Clock for VirtualClock {
    fn now(&mut self) -> u64 {
        self.0
    }
    fn wait_until(&mut self, deadline: u64) {
        self.0 = self.0.max(deadline);
    }
}

struct Flow {
    hs: Handshaker<InMemoryKeyStore>,
    transport: DevnetTransport,
    clock: VirtualClock,
    rng: ChaCha20Rng,
    next_ti: u8,
}

impl Flow {
    fn new() -> Self {
        let (net, templates) = devnet_with_built_ins();
        let mut keys = InMemoryKeyStore::new();
        keys.insert(KeyId::new("records").unwrap(), MasterKey::new([0x11; 32]));
        keys.insert(
            KeyId::new("pseudonyms").unwrap(),
            MasterKey::new([0x22; 32]),
        );
        let config = GeneratorConfig {
            chain_id: net.chain_id(),
            registry: net.registry(),
            sealing_key: KeyId::new("records").unwrap(),
            pseudonym_key: KeyId::new("pseudonyms").unwrap(),
            max_clock_skew: 300,
        };
        let validator = ValidatorConfig {
            confirmations: 2,
            ..ValidatorConfig::default()
        };
        let clock = VirtualClock(net.block_timestamp() * 1000);
        Self {
            hs: Handshaker::new(
                templates,
                TransactionGenerator::new(config, keys).unwrap(),
                validator,
            ),
            transport: DevnetTransport::new(net),
            clock,
            rng: ChaCha20Rng::seed_from_u64(5),
            next_ti: 0,
        }
    }

    fn ti(&mut self, template: &str, role: &str, fields: serde_json::Value) -> InitialTransaction {
        self.next_ti += 1;
        InitialTransaction {
            ti_id: B256::repeat_byte(self.next_ti),
            template_id: self.hs.templates().latest(template).unwrap().id(),
            author_id: format!("{role}-1"),
            author_role: Role::new(role).unwrap(),
            patient_id: Some("MRN-000123".into()),
            timestamp: self.clock.0 / 1000 - 30,
            fields: serde_json::from_value(fields).unwrap(),
        }
    }

    fn submit(&mut self, ti: &InitialTransaction) -> Ack {
        self.hs
            .submit(ti, &mut self.transport, &mut self.clock, &mut self.rng)
    }

    fn generate(&mut self, ti: &InitialTransaction) -> ChainTransaction {
        self.hs
            .generator()
            .generate(self.hs.templates(), ti, self.clock.0 / 1000, &mut self.rng)
            .unwrap()
    }

    fn run(&mut self, mut validator: TransactionValidator) -> Vec<Ack> {
        run_blocking(&mut validator, &mut self.transport, &mut self.clock)
    }
}

fn bp() -> serde_json::Value {
    json!({"systolic": 128, "diastolic": 84, "position": "sitting"})
}

#[test]
fn doctor_and_nurse_readings_get_valid_acks_matching_the_chain() {
    let mut flow = Flow::new();
    for role_name in ["doctor", "nurse"] {
        let ti = flow.ti("blood-pressure", role_name, bp());
        let ack = flow.submit(&ti);
        let anchor = ack.anchor().unwrap_or_else(|| panic!("{ack:?}")).clone();
        assert!(!anchor.replay);
        assert_eq!(anchor.log_index, Some(0));
        assert!(anchor.batch.is_none());
        assert!(ack.envelope.is_some());
        let hash = ack.record_hash.unwrap();
        assert_eq!(
            flow.transport.record_hash_of(&ti.ti_id).unwrap(),
            Some(hash)
        );
        // The receipt the ACK names emitted RecordAnchored for this record.
        assert!(anchor.recovered.is_none());
        let receipt = flow
            .transport
            .devnet_receipt(&anchor.tx_hash.unwrap())
            .unwrap();
        assert_eq!(Some(receipt.block_number), anchor.block_number);
        let events = receipt.events::<EhrRegistry::RecordAnchored>();
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].tiId, events[0].recordHash, events[0].role),
            (ti.ti_id, hash, role(role_name))
        );
        // Confirmed: the head is at least one block past the record's block.
        assert!(flow.transport.devnet().block_number() - 1 > anchor.block_number.unwrap());
        // ACKs are plain data: JSON round trip.
        let json = serde_json::to_string(&ack).unwrap();
        assert_eq!(serde_json::from_str::<Ack>(&json).unwrap(), ack);
    }
}

#[test]
fn a_role_the_chain_refuses_gets_an_invalid_ack_with_the_decoded_revert() {
    let mut flow = Flow::new();
    // The template allows nurses, but this chain revoked the nurse's role.
    let revoke = EhrRegistry::revokeRoleCall {
        role: role("nurse"),
        account: Devnet::nurse(),
    };
    let receipt = flow
        .transport
        .devnet_mut()
        .send(Devnet::admin(), &revoke)
        .unwrap();
    assert!(receipt.status());
    let ti = flow.ti("blood-pressure", "nurse", bp());
    let ack = flow.submit(&ti);
    match ack.reason() {
        Some(InvalidReason::ContractRevert { revert }) => {
            assert_eq!(
                revert.error.as_deref(),
                Some("AccessControlUnauthorizedAccount")
            );
            assert!(revert.detail.contains("AccessControlUnauthorizedAccount"));
        }
        other => panic!("expected a decoded revert, got {other:?}"),
    }
    // The record is kept for audit, and nothing is anchored.
    assert!(ack.envelope.is_some() && ack.record_hash.is_some());
    assert_eq!(flow.transport.record_hash_of(&ti.ti_id).unwrap(), None);
}

#[test]
fn a_replayed_ti_is_a_valid_replay_and_is_anchored_once() {
    let mut flow = Flow::new();
    let ti = flow.ti("blood-pressure", "doctor", bp());
    let tc = flow.generate(&ti);
    let config = *flow.hs.validator_config();
    let first = flow.run(TransactionValidator::new(&tc, config));
    let anchor = first[0].anchor().unwrap();
    assert!(!anchor.replay);
    // The host crashed before storing the ACK and runs the same TC again.
    let again = flow.run(TransactionValidator::new(&tc, config));
    assert_eq!(again.len(), 1);
    let replay = again[0].anchor().unwrap();
    assert!(replay.replay);
    assert_eq!(replay.log_index, None);
    assert_ne!(replay.tx_hash, anchor.tx_hash);
    assert_eq!(again[0].record_hash, Some(tc.record_hash));
    assert_eq!(
        flow.transport.record_hash_of(&ti.ti_id).unwrap(),
        Some(tc.record_hash)
    );
    // The same TI sealed anew has another record hash: the chain holds the
    // first one, so this one is invalid.
    let resealed = flow.generate(&ti);
    let acks = flow.run(TransactionValidator::new(&resealed, config));
    assert_eq!(
        acks[0].reason(),
        Some(&InvalidReason::AnchoredWithOtherHash {
            stored_record_hash: tc.record_hash
        })
    );
}

#[test]
fn a_batch_gets_one_ack_per_record_with_its_proof() {
    let mut flow = Flow::new();
    let mut tcs = Vec::new();
    let mut builder = BatchBuilder::new();
    for i in 0..5 {
        let ti = flow.ti(
            "blood-pressure",
            "nurse",
            json!({"systolic": 110 + i, "diastolic": 70}),
        );
        let tc = flow.generate(&ti);
        builder.push(tc.record_hash).unwrap();
        tcs.push(tc);
    }
    let batch = builder.build(B256::repeat_byte(0xba)).unwrap();
    let (registry, chain_id) = (
        flow.transport.devnet().registry(),
        flow.transport.devnet().chain_id(),
    );
    let config = *flow.hs.validator_config();
    let validator =
        TransactionValidator::for_batch(&batch, &tcs, registry, chain_id, config).unwrap();
    let acks = flow.run(validator);
    assert_eq!(acks.len(), 5);
    for (ack, tc) in acks.iter().zip(&tcs) {
        assert_eq!(ack.ti_id, tc.ti_id);
        let anchor = ack.anchor().unwrap();
        let proof = anchor.batch.as_ref().unwrap();
        assert_eq!(proof.root, batch.root());
        assert_eq!(proof.record_hash, tc.record_hash);
        proof.verify_on_chain(&mut flow.transport).unwrap();
    }
}

#[test]
fn template_violations_and_wrong_chains_get_invalid_acks() {
    let mut flow = Flow::new();
    let ti = flow.ti("blood-pressure", "pathologist", bp());
    let ack = flow.submit(&ti);
    assert!(matches!(
        ack.reason(),
        Some(InvalidReason::TemplateViolations { .. })
    ));
    assert!(ack.envelope.is_none());

    let ti = flow.ti("blood-pressure", "doctor", bp());
    let mut tc = flow.generate(&ti);
    tc.chain_id = 1;
    let acks = flow.run(TransactionValidator::new(&tc, *flow.hs.validator_config()));
    assert_eq!(
        acks[0].reason(),
        Some(&InvalidReason::TransportRejected {
            error: TransportError::WrongChain {
                expected: 1,
                actual: 1337
            }
        })
    );
    assert!(acks[0].envelope.is_some());
}

/// The devnet, but every submission's answer is lost: sent (and mined) when
/// `send` is set, never sent otherwise.
struct LostAnswers<'a> {
    inner: &'a mut DevnetTransport,
    send: bool,
}

impl BatchReader for LostAnswers<'_> {
    type Error = TransportError;
    fn anchored_batch(&mut self, root: &B256) -> Result<Option<AnchoredBatch>, TransportError> {
        self.inner.anchored_batch(root)
    }
}

impl Transport for LostAnswers<'_> {
    fn submit(&mut self, submission: &Submission) -> Result<TxHash, TransportError> {
        if self.send {
            self.inner.submit(submission)?;
        }
        Err(TransportError::Unavailable("simulated: answer lost".into()))
    }
    fn poll(
        &mut self,
        tx_hash: &TxHash,
        submission: &Submission,
    ) -> Result<SubmissionStatus, TransportError> {
        self.inner.poll(tx_hash, submission)
    }
    fn head(&mut self) -> Result<u64, TransportError> {
        self.inner.head()
    }
    fn record_hash_of(&mut self, ti_id: &B256) -> Result<Option<B256>, TransportError> {
        self.inner.record_hash_of(ti_id)
    }
}

#[test]
fn a_validator_that_loses_every_answer_settles_by_reading_the_registry() {
    let mut flow = Flow::new();
    let config = *flow.hs.validator_config();
    // Sent and anchored, but the validator never learns a tx hash: it reads
    // the registry, confirms after 2 blocks, and ends valid, recovered.
    let ti = flow.ti("blood-pressure", "doctor", bp());
    let tc = flow.generate(&ti);
    let mut v = TransactionValidator::new(&tc, config);
    let mut lossy = LostAnswers {
        inner: &mut flow.transport,
        send: true,
    };
    let acks = run_blocking(&mut v, &mut lossy, &mut flow.clock);
    let anchor = acks[0].anchor().unwrap();
    assert_eq!(anchor.tx_hash, None);
    let recovered = anchor.recovered.as_deref().unwrap();
    assert_eq!(recovered.key, ti.ti_id);
    assert_eq!(recovered.registry, flow.transport.devnet().registry());
    assert!(recovered.confirmed_at_head > recovered.seen_at_head);
    assert_eq!(
        flow.transport.record_hash_of(&ti.ti_id).unwrap(),
        Some(tc.record_hash)
    );

    // Never sent: the registry holds nothing, the ACK says not anchored and
    // the same TC may run again, which anchors it.
    let ti = flow.ti("blood-pressure", "nurse", bp());
    let tc = flow.generate(&ti);
    let mut v = TransactionValidator::new(&tc, config);
    let mut down = LostAnswers {
        inner: &mut flow.transport,
        send: false,
    };
    let acks = run_blocking(&mut v, &mut down, &mut flow.clock);
    let reason = acks[0].reason().unwrap();
    assert!(matches!(reason, InvalidReason::NotAnchored { .. }));
    assert!(!reason.is_inconclusive() && reason.may_rerun());
    let again = flow.run(TransactionValidator::new(&tc, config));
    assert!(again[0].is_valid());
}
