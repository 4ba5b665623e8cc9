//! The TI → TG → Transaction Validator → chain → ACK suite, generic over the
//! chain: the devnet (`validator_end_to_end.rs`) and any JSON-RPC node
//! (`rpc_end_to_end.rs`) run the same bodies.

use std::ops::Range;

use alloy_primitives::B256;
use ehrchain_core::outbox::MemoryOutbox;
use ehrchain_core::pipeline::{Pipeline, PipelineConfig, Priority, drain_durably};
use ehrchain_core::{
    Ack, BatchBuilder, CancelToken, ChainTransaction, Clock, Handshaker, InMemoryKeyStore,
    InitialTransaction, InvalidReason, Role, TemplateRegistry, TransactionValidator, Transport,
    TransportError, UnixMillis, Until, ValidatorConfig, run_blocking,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::json;

/// What the suite needs from a chain beyond the `Transport`.
pub trait Chain: Transport {
    /// The latest block's timestamp, Unix seconds (as the EVM keeps it).
    fn now(&mut self) -> u64;
    /// The number of the latest block, without mining one.
    fn latest_block(&mut self) -> u64;
    /// Revokes `role` on chain from the account that sends that role's calls.
    fn revoke(&mut self, role: &str);
    /// Whether the chain makes blocks on its own, in real time (a node with
    /// interval mining): then waiting must take real time too.
    fn mines_in_real_time(&self) -> bool {
        false
    }
}

/// The suite's clock: waiting moves it forward at once, and also sleeps that
/// long when the second field is set (a chain that mines in real time).
pub struct SuiteClock(pub UnixMillis, pub bool);

impl Clock for SuiteClock {
    fn now(&mut self) -> UnixMillis {
        self.0
    }
    fn wait_until(&mut self, deadline: UnixMillis, _: &CancelToken) {
        if self.1 && deadline > self.0 {
            std::thread::sleep(std::time::Duration::from_millis(
                deadline.saturating_ms_since(self.0),
            ));
        }
        self.0 = self.0.max(deadline);
    }
}

/// A handshaker over a chain, with a virtual clock and a seeded RNG.
pub struct Flow<T> {
    pub hs: Handshaker<InMemoryKeyStore>,
    pub transport: T,
    pub clock: SuiteClock,
    pub rng: ChaCha20Rng,
    next_ti: u8,
}

impl<T: Chain> Flow<T> {
    /// A flow over `transport`, whose registry has `templates` registered.
    pub fn new(mut transport: T, templates: TemplateRegistry) -> Self {
        let validator = ValidatorConfig {
            confirmations: 2,
            ..ValidatorConfig::default()
        };
        let clock = SuiteClock(
            UnixMillis::from_secs(transport.now()),
            transport.mines_in_real_time(),
        );
        Self {
            hs: Handshaker::new(
                templates,
                super::generator(transport.chain_id(), transport.registry()),
                validator,
            ),
            transport,
            clock,
            rng: ChaCha20Rng::seed_from_u64(5),
            next_ti: 0,
        }
    }

    pub fn ti(
        &mut self,
        template: &str,
        role: &str,
        fields: serde_json::Value,
    ) -> InitialTransaction {
        self.next_ti += 1;
        InitialTransaction {
            ti_id: B256::repeat_byte(self.next_ti),
            template_id: self.hs.templates().latest(template).unwrap().id(),
            author_id: format!("{role}-1"),
            author_role: Role::new(role).unwrap(),
            patient_id: Some("MRN-000123".into()),
            timestamp: self.clock.0.as_secs() - 30,
            fields: serde_json::from_value(fields).unwrap(),
        }
    }

    pub fn submit(&mut self, ti: &InitialTransaction) -> Ack {
        self.hs
            .submit(
                ti,
                &mut self.transport,
                &mut self.clock,
                &mut self.rng,
                &Until::verdict(),
            )
            .unwrap()
            .acked()
            .unwrap()
    }

    /// Submits `ti` through the write-ahead `outbox` and blocks until its ACK.
    pub fn submit_durably(
        &mut self,
        ti: &InitialTransaction,
        outbox: &mut impl ehrchain_core::outbox::Outbox,
    ) -> Result<Ack, ehrchain_core::Error> {
        let run = (self.hs).submit_durably(
            ti,
            outbox,
            &mut self.transport,
            &mut self.clock,
            &mut self.rng,
            &Until::verdict(),
        )?;
        Ok(run.acked()?)
    }

    pub fn generate(&mut self, ti: &InitialTransaction) -> ChainTransaction {
        self.hs
            .generator()
            .generate(self.hs.templates(), ti, self.clock.0, &mut self.rng)
            .unwrap()
    }

    /// Nurse blood-pressure readings, one a systolic value (diastolic 70),
    /// each made into its TC, in order.
    pub fn nurse_readings(&mut self, systolic: Range<u32>) -> Vec<ChainTransaction> {
        systolic
            .map(|systolic| {
                let ti = self.ti(
                    "blood-pressure",
                    "nurse",
                    json!({"systolic": systolic, "diastolic": 70}),
                );
                self.generate(&ti)
            })
            .collect()
    }

    pub fn run(&mut self, validator: &mut TransactionValidator) -> Vec<Ack> {
        run_blocking(
            validator,
            &mut self.transport,
            &mut self.clock,
            &Until::verdict(),
        )
        .acked()
        .unwrap()
    }
}

pub fn bp() -> serde_json::Value {
    json!({"systolic": 128, "diastolic": 84, "position": "sitting"})
}

/// A doctor's and a nurse's readings get valid ACKs that match the chain;
/// returns the TIs and their ACKs for chain-specific checks.
pub fn doctor_and_nurse_readings_get_valid_acks<T: Chain>(
    flow: &mut Flow<T>,
) -> Vec<(InitialTransaction, Ack)> {
    let mut out = Vec::new();
    for role_name in ["doctor", "nurse"] {
        let ti = flow.ti("blood-pressure", role_name, bp());
        let ack = flow.submit(&ti);
        let anchor = ack.anchor().unwrap_or_else(|| panic!("{ack:?}")).clone();
        assert!(!anchor.replay);
        assert!(anchor.log_index.is_some());
        assert!(anchor.batch.is_none());
        assert!(ack.envelope.is_some());
        let hash = ack.record_hash.unwrap();
        assert_eq!(
            flow.transport.record_hash_of(&ti.ti_id).unwrap(),
            Some(hash)
        );
        // Confirmed: the head is at least one block past the record's block.
        assert!(flow.transport.latest_block() > anchor.block_number.unwrap());
        // ACKs are plain data: JSON round trip.
        let json = serde_json::to_string(&ack).unwrap();
        assert_eq!(serde_json::from_str::<Ack>(&json).unwrap(), ack);
        out.push((ti, ack));
    }
    out
}

/// The template allows nurses, but the chain revoked the nurse's role: an
/// invalid ACK with the decoded revert, the record kept for audit.
pub fn a_role_the_chain_refuses_gets_an_invalid_ack<T: Chain>(flow: &mut Flow<T>) {
    flow.transport.revoke("nurse");
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
    assert!(ack.envelope.is_some() && ack.record_hash.is_some());
    assert_eq!(flow.transport.record_hash_of(&ti.ti_id).unwrap(), None);
}

/// A replayed TC is a valid replay and is anchored once; the same TI sealed
/// anew (another record hash) is invalid.
pub fn a_replayed_ti_is_a_valid_replay_anchored_once<T: Chain>(flow: &mut Flow<T>) {
    let ti = flow.ti("blood-pressure", "doctor", bp());
    let tc = flow.generate(&ti);
    let config = *flow.hs.validator_config();
    let first = flow.run(&mut TransactionValidator::new(&tc, config));
    let anchor = first[0].anchor().unwrap_or_else(|| panic!("{first:?}"));
    assert!(!anchor.replay);
    // The host crashed before storing the ACK and runs the same TC again.
    let again = flow.run(&mut TransactionValidator::new(&tc, config));
    assert_eq!(again.len(), 1);
    let replay = again[0].anchor().unwrap_or_else(|| panic!("{again:?}"));
    assert!(replay.replay);
    assert_eq!(replay.log_index, None);
    assert_ne!(replay.tx_hash, anchor.tx_hash);
    assert_eq!(again[0].record_hash, Some(tc.record_hash));
    assert_eq!(
        flow.transport.record_hash_of(&ti.ti_id).unwrap(),
        Some(tc.record_hash)
    );
    let resealed = flow.generate(&ti);
    let acks = flow.run(&mut TransactionValidator::new(&resealed, config));
    assert_eq!(
        acks[0].reason(),
        Some(&InvalidReason::AnchoredWithOtherHash {
            stored_record_hash: tc.record_hash
        })
    );
}

/// A batch of five gets one valid ACK per record, each with a proof that
/// verifies against the chain through the transport.
pub fn a_batch_gets_one_ack_per_record_with_its_proof<T: Chain>(flow: &mut Flow<T>) {
    let tcs = flow.nurse_readings(110..115);
    let mut builder = BatchBuilder::new();
    for tc in &tcs {
        builder.push(tc.record_hash).unwrap();
    }
    let batch = builder.build(B256::repeat_byte(0xba)).unwrap();
    let (registry, chain_id) = (flow.transport.registry(), flow.transport.chain_id());
    let config = *flow.hs.validator_config();
    let mut validator =
        TransactionValidator::for_batch(&batch, &tcs, registry, chain_id, config).unwrap();
    let acks = flow.run(&mut validator);
    assert_eq!(acks.len(), 5);
    for (ack, tc) in acks.iter().zip(&tcs) {
        assert_eq!(ack.ti_id, tc.ti_id);
        let anchor = ack.anchor().unwrap_or_else(|| panic!("{ack:?}"));
        let proof = anchor.batch.as_ref().unwrap();
        assert_eq!(proof.root, batch.root());
        assert_eq!(proof.record_hash, tc.record_hash);
        proof.verify_on_chain(&mut flow.transport).unwrap();
    }
}

/// The pipeline: two urgent nurse readings go out alone, twenty bulk
/// readings in two batches (sixteen when full, four after the wait); every TI
/// gets one valid ACK, the urgent records are in the registry and every
/// batched record's proof verifies against the chain.
pub fn a_pipeline_anchors_urgent_records_alone_and_bulk_ones_batched<T: Chain>(flow: &mut Flow<T>) {
    let (registry, chain_id) = (flow.transport.registry(), flow.transport.chain_id());
    let config = PipelineConfig {
        batch_max_records: 16,
        batch_max_wait_ms: 500,
        validator: *flow.hs.validator_config(),
        ..PipelineConfig::default()
    };
    let mut pipeline = Pipeline::new(chain_id, registry, config);
    let tcs = flow.nurse_readings(100..122);
    for (i, tc) in tcs.iter().enumerate() {
        let priority = if i < 2 {
            Priority::Urgent
        } else {
            Priority::Bulk
        };
        pipeline.push(tc.clone(), priority, flow.clock.0).unwrap();
    }
    let drained = drain_durably(
        &mut pipeline,
        &mut MemoryOutbox::default(),
        &mut flow.transport,
        &mut flow.clock,
        &Until::verdict(),
    )
    .unwrap();
    assert_eq!(drained.stopped, None);
    let acks = pipeline.take_acks();
    assert_eq!(acks.len(), 22);
    let mut roots = std::collections::BTreeSet::new();
    for tc in &tcs {
        let ack = acks.iter().find(|a| a.ti_id == tc.ti_id).unwrap();
        assert_eq!(ack.record_hash, Some(tc.record_hash));
        let anchor = ack.anchor().unwrap_or_else(|| panic!("{ack:?}"));
        match &anchor.batch {
            Some(proof) => {
                assert_eq!(proof.record_hash, tc.record_hash);
                proof.verify_on_chain(&mut flow.transport).unwrap();
                roots.insert(proof.root);
            }
            None => assert_eq!(
                flow.transport.record_hash_of(&tc.ti_id).unwrap(),
                Some(tc.record_hash)
            ),
        }
    }
    assert_eq!(roots.len(), 2, "two batches");
    let alone = acks
        .iter()
        .filter(|a| a.anchor().is_some_and(|x| x.batch.is_none()));
    assert_eq!(alone.count(), 2);
}

/// A TI the template forbids never reaches the chain; a TC for another chain
/// is refused by the transport with `WrongChain`.
pub fn template_violations_and_wrong_chains_get_invalid_acks<T: Chain>(flow: &mut Flow<T>) {
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
    let acks = flow.run(&mut TransactionValidator::new(
        &tc,
        *flow.hs.validator_config(),
    ));
    assert_eq!(
        acks[0].reason(),
        Some(&InvalidReason::TransportRejected {
            error: TransportError::WrongChain {
                expected: 1,
                actual: Some(flow.transport.chain_id()),
            }
        })
    );
    assert!(acks[0].envelope.is_some());
}

/// The write-ahead outbox on a real chain: a TI submitted durably leaves its
/// ACK in the outbox and no entry behind; a host that crashes right after
/// sending resubmits the TI and gets the stored TC resumed (the same sealed
/// record, anchored once); an outbox that cannot store sends nothing.
pub fn the_outbox_resumes_the_same_tc_after_a_crash<T: Chain>(flow: &mut Flow<T>) {
    use ehrchain_core::outbox::{MemoryOutbox, Outbox, OutboxError};
    use ehrchain_core::{Error, Transmit};

    let mut outbox = MemoryOutbox::default();
    let ti = flow.ti("blood-pressure", "nurse", bp());
    let ack = flow.submit_durably(&ti, &mut outbox).unwrap();
    assert!(ack.is_valid(), "{ack:?}");
    assert!(outbox.entries.is_empty());
    assert_eq!(outbox.acks, vec![ack]);

    // Stored, sent, crashed before the answer.
    let ti = flow.ti("blood-pressure", "doctor", bp());
    let mut validator = flow
        .hs
        .validator_for(&ti, flow.clock.0, &mut flow.rng)
        .unwrap();
    assert_eq!(
        validator.poll_transmit(flow.clock.0),
        Some(Transmit::Persist)
    );
    outbox.save(&ti.ti_id, &validator.to_json()).unwrap();
    validator.handle_persisted(flow.clock.0, Ok(())).unwrap();
    let Some(Transmit::Submit { submission }) = validator.poll_transmit(flow.clock.0) else {
        panic!("the submission follows the outbox write");
    };
    flow.transport.submit(&submission).unwrap();
    let sent = validator.submission().unwrap().clone();
    drop(validator);
    // The host reruns the TI: the stored TC is resumed, not a new envelope.
    let ack = flow.submit_durably(&ti, &mut outbox).unwrap();
    assert!(ack.is_valid(), "{ack:?}");
    let ehrchain_core::transport::Anchoring::Record { record_hash, .. } = sent.anchoring else {
        panic!("a single record");
    };
    assert_eq!(ack.record_hash, Some(record_hash));
    assert_eq!(
        flow.transport.record_hash_of(&ti.ti_id).unwrap(),
        Some(record_hash)
    );
    assert!(outbox.entries.is_empty());

    /// The outbox above once its disk is full: it still reads, every write
    /// fails.
    struct Full(MemoryOutbox);
    impl Outbox for Full {
        fn save(&mut self, _: &B256, _: &str) -> Result<(), OutboxError> {
            Err(OutboxError("disk full".into()))
        }
        fn load(&mut self, key: &B256) -> Result<Option<String>, OutboxError> {
            self.0.load(key)
        }
        fn keys(&mut self) -> Result<Vec<B256>, OutboxError> {
            self.0.keys()
        }
        fn finish(&mut self, _: Option<&B256>, _: &[Ack]) -> Result<(), OutboxError> {
            Err(OutboxError("disk full".into()))
        }
    }
    let stored = outbox.acks.clone();
    let mut full = Full(outbox);
    let ti = flow.ti("blood-pressure", "nurse", bp());
    let err = flow.submit_durably(&ti, &mut full).unwrap_err();
    assert!(matches!(err, Error::Outbox(_)), "{err}");
    assert_eq!(err.code(), ehrchain_core::ErrorCode::OutboxUnavailable);
    assert_eq!(
        flow.transport.record_hash_of(&ti.ti_id).unwrap(),
        None,
        "nothing sent"
    );
    assert!(full.0.entries.is_empty(), "nothing stored");
    assert_eq!(full.0.acks, stored, "no ACK finished");
}

/// Finality by tag: a doctor's reading validated with `finality:
/// finalized` gets a valid ACK that names the node's finalized block, at or
/// above the anchor's; the watcher, final by tag too, says Final at a
/// finalized block that holds it. Ganache 7.9.2, Hardhat 2.29 (post-merge
/// hardforks) and the devnet name their latest block as finalized.
pub fn a_record_final_by_tag_names_the_finalized_block<T: Chain>(flow: &mut Flow<T>) {
    use ehrchain_core::watcher::{AnchorWatcher, WatchEvent, WatcherConfig};
    use ehrchain_core::{Finality, FinalityTag, watch_blocking};

    let ti = flow.ti("blood-pressure", "doctor", bp());
    let tc = flow.generate(&ti);
    let config = ValidatorConfig {
        finality: Finality::Finalized,
        ..*flow.hs.validator_config()
    };
    let mut validator = TransactionValidator::new(&tc, config);
    let acks = flow.run(&mut validator);
    let [ack] = acks.as_slice() else {
        panic!("one ACK expected: {acks:?}");
    };
    let anchor = ack.anchor().cloned().unwrap();
    let final_block = anchor.final_block.as_deref().copied().unwrap();
    let anchored_at = anchor.block_number.unwrap();
    assert_eq!(final_block.tag, FinalityTag::Finalized);
    assert!(
        final_block.block.number >= anchored_at,
        "final at {final_block:?}, anchored in {anchored_at}"
    );
    let mut watcher = AnchorWatcher::new(WatcherConfig {
        finality: Finality::Finalized,
        poll_interval_ms: 200,
        ..WatcherConfig::default()
    });
    watcher.watch(&validator, ack).unwrap();
    let deadline = flow.clock.now().saturating_add_ms(60_000);
    let events = watch_blocking(
        &mut watcher,
        &mut flow.transport,
        &mut flow.clock,
        &Until::deadline(deadline),
    );
    let [
        WatchEvent::Final {
            anchor: Some(seen),
            finalized: Some(finalized),
            ..
        },
    ] = events.as_slice()
    else {
        panic!("not final by tag: {events:?}");
    };
    assert_eq!(seen.block_number, anchored_at);
    assert!(finalized.block.number >= anchored_at);
}

/// The devnet as the suite's chain.
impl Chain for ehrchain_contracts::DevnetTransport {
    fn now(&mut self) -> u64 {
        self.devnet().block_timestamp()
    }
    fn latest_block(&mut self) -> u64 {
        // The devnet's current block is still open; the head is the last closed one.
        self.devnet().block_number() - 1
    }
    fn revoke(&mut self, name: &str) {
        let revoke = ehrchain_contracts::EhrRegistry::revokeRoleCall {
            role: super::role(name),
            account: ehrchain_contracts::Devnet::account(name),
        };
        let receipt = self
            .devnet_mut()
            .send(ehrchain_contracts::Devnet::admin(), &revoke)
            .unwrap();
        assert!(receipt.status());
    }
}
