#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use alloy_primitives::{Address, B256, U256, keccak256};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::batch::{AnchoredBatch, BatchReader};
use crate::driver::{StopCause, Until};
use crate::generator::GenerateError;
use crate::keys::{InMemoryKeyStore, KeyId, KeyStore, KeyStoreError, MasterKey};
use crate::outbox::{MemoryOutbox, Outbox, PartlyStored};
use crate::role::Role;
use crate::template::TemplateRegistry;
use crate::ti::InitialTransaction;
use crate::time::VirtualClock;
use crate::transport::{Anchoring, Submission, SubmissionStatus, Transport, TxHash, TxReceipt};
use crate::{GeneratorConfig, Handshaker};

const START_MS: u64 = 1_767_225_600_000;
const CHAIN: u64 = 1337;

fn registry() -> Address {
    Address::repeat_byte(0xee)
}

/// What a drain did, with the ACKs it left in the pipeline.
struct DrainedAcks {
    acks: Vec<Ack>,
    stopped: Option<StopCause>,
}

/// A chain with one block a second: a transaction is mined in the block
/// after it was sent; the registry refuses a used TI id or root as the
/// contract does; it counts what was asked of it.
struct Chain {
    clock: VirtualClock,
    mined: HashMap<TxHash, (Submission, u64)>,
    records: HashMap<B256, B256>,
    batches: HashMap<B256, u32>,
    anchorings: u32,
    head_reads: u32,
}

impl Chain {
    /// A chain at `START_MS` on a clock of its own.
    fn new() -> Self {
        Self {
            clock: VirtualClock::starting_at(UnixMillis(START_MS)),
            mined: HashMap::new(),
            records: HashMap::new(),
            batches: HashMap::new(),
            anchorings: 0,
            head_reads: 0,
        }
    }

    /// Drains `pipeline` through this chain, on its clock, and takes the
    /// ACKs it stored.
    fn drain(
        &mut self,
        pipeline: &mut Pipeline,
        outbox: &mut impl Outbox,
        until: &Until,
    ) -> DrainedAcks {
        let mut clock = self.clock.clone();
        let drained = drain_durably(pipeline, outbox, self, &mut clock, until).unwrap();
        DrainedAcks {
            acks: pipeline.take_acks(),
            stopped: drained.stopped,
        }
    }

    /// Drains `pipeline` (no outbox) to its one ACK.
    fn drain_to_one_ack(&mut self, pipeline: &mut Pipeline) -> Ack {
        let drained = self.drain(pipeline, &mut MemoryOutbox::default(), &Until::verdict());
        let [ack] = drained.acks.as_slice() else {
            panic!("{:?}", drained.acks);
        };
        ack.clone()
    }

    fn block(&self) -> u64 {
        self.clock.time().as_millis() / 1_000
    }
}

impl BatchReader for Chain {
    type Error = TransportError;
    fn anchored_batch(&mut self, root: &B256) -> Result<Option<AnchoredBatch>, TransportError> {
        Ok(self.batches.get(root).map(|&leaf_count| AnchoredBatch {
            root: *root,
            leaf_count,
            batch_id: None,
        }))
    }
}

impl Transport for Chain {
    fn chain_id(&self) -> u64 {
        CHAIN
    }
    fn registry(&self) -> Address {
        registry()
    }
    fn submit(&mut self, submission: &Submission) -> Result<TxHash, TransportError> {
        let tx = TxHash(keccak256(&submission.calldata));
        let fresh = match submission.anchoring {
            Anchoring::Record {
                ti_id, record_hash, ..
            } => self.records.insert(ti_id, record_hash).is_none(),
            Anchoring::Batch {
                root, leaf_count, ..
            } => self.batches.insert(root, leaf_count).is_none(),
        };
        assert!(fresh, "anchored twice: {:?}", submission.anchoring);
        self.anchorings += 1;
        self.mined
            .insert(tx, (submission.clone(), self.block() + 1));
        Ok(tx)
    }
    fn poll(&mut self, tx: &TxHash, _: &Submission) -> Result<SubmissionStatus, TransportError> {
        let Some((_, block)) = self.mined.get(tx) else {
            return Ok(SubmissionStatus::Dropped);
        };
        if *block > self.block() {
            return Ok(SubmissionStatus::Pending);
        }
        Ok(SubmissionStatus::Included(TxReceipt {
            tx_hash: *tx,
            status: true,
            block_number: *block,
            block_hash: B256::from(U256::from(*block)),
            anchor_log_index: Some(0),
            gas_used: 60_000,
            revert_data: None,
        }))
    }
    fn head(&mut self) -> Result<u64, TransportError> {
        self.head_reads += 1;
        Ok(self.block())
    }
    fn record_hash_of(&mut self, ti_id: &B256) -> Result<Option<B256>, TransportError> {
        Ok(self.records.get(ti_id).copied())
    }
}

/// An outbox that counts its durable writes (one per `save`, one per
/// `save_all`), the entries it was given and its writes of verdicts (one per
/// `finish`, one per `finish_all`), and keeps what each step gave it
/// together (entries, verdicts); `discards` makes it say it keeps nothing,
/// as [`NoOutbox`](crate::outbox::NoOutbox) does.
#[derive(Default)]
struct CountingOutbox {
    inner: MemoryOutbox,
    writes: u32,
    entries_given: usize,
    verdict_writes: u32,
    steps: Vec<(usize, usize)>,
    discards: bool,
}

impl Outbox for CountingOutbox {
    fn keeps_entries(&self) -> bool {
        !self.discards
    }
    fn save(&mut self, key: &B256, entry: &str) -> Result<(), OutboxError> {
        self.writes += 1;
        self.entries_given += 1;
        self.inner.save(key, entry)
    }
    fn save_all(&mut self, entries: &[(B256, String)]) -> Result<(), OutboxError> {
        self.writes += 1;
        self.entries_given += entries.len();
        entries
            .iter()
            .try_for_each(|(key, entry)| self.inner.save(key, entry))
    }
    fn load(&mut self, key: &B256) -> Result<Option<String>, OutboxError> {
        self.inner.load(key)
    }
    fn keys(&mut self) -> Result<Vec<B256>, OutboxError> {
        self.inner.keys()
    }
    fn finish(&mut self, key: Option<&B256>, acks: &[Ack]) -> Result<(), OutboxError> {
        self.verdict_writes += 1;
        self.inner.finish(key, acks)
    }
    fn finish_all(&mut self, finished: &[Finished]) -> Result<(), PartlyStored> {
        self.verdict_writes += 1;
        self.inner.finish_all(finished)
    }
    /// Kept, then written as the default does (the counts above).
    fn save_and_finish(
        &mut self,
        entries: &[(B256, String)],
        finished: &[Finished],
    ) -> Result<(), PartlyStored> {
        self.steps.push((entries.len(), finished.len()));
        if !entries.is_empty() {
            self.save_all(entries)?;
        }
        if !finished.is_empty() {
            self.finish_all(finished)?;
        }
        Ok(())
    }
}

fn handshaker() -> Handshaker<InMemoryKeyStore> {
    let mut keys = InMemoryKeyStore::new();
    keys.insert(KeyId::new("records").unwrap(), MasterKey::new([0x11; 32]));
    keys.insert(
        KeyId::new("pseudonyms").unwrap(),
        MasterKey::new([0x22; 32]),
    );
    handshaker_with(keys)
}

fn handshaker_with<K: KeyStore>(keys: K) -> Handshaker<K> {
    let generator = GeneratorConfig {
        chain_id: CHAIN,
        registry: registry(),
        sealing_key: KeyId::new("records").unwrap(),
        pseudonym_key: KeyId::new("pseudonyms").unwrap(),
        max_clock_skew_ms: 300_000,
    };
    Handshaker::new(
        TemplateRegistry::with_built_ins(None).unwrap(),
        crate::TransactionGenerator::new(generator, keys).unwrap(),
        ValidatorConfig::default(),
    )
}

/// `n` TCs with TI ids 1..=n.
fn tcs(n: u64) -> Vec<ChainTransaction> {
    let hs = handshaker();
    let template_id = hs.templates().latest("blood-pressure").unwrap().id();
    let mut rng = ChaCha20Rng::seed_from_u64(n);
    (1..=n)
        .map(|i| {
            let ti = InitialTransaction {
                ti_id: B256::from(U256::from(i)),
                template_id,
                author_id: "dr-1".into(),
                author_role: Role::new(Role::DOCTOR).unwrap(),
                patient_id: Some(format!("MRN-{i}")),
                timestamp: START_MS / 1000,
                fields: serde_json::from_str(r#"{"systolic": 120, "diastolic": 80}"#).unwrap(),
            };
            hs.generate(&ti, UnixMillis(START_MS), &mut rng).unwrap()
        })
        .collect()
}

/// A pipeline that holds at most `max_pending` TIs.
fn holding_at_most(max_pending: usize) -> Pipeline {
    Pipeline::new(
        CHAIN,
        registry(),
        PipelineConfig {
            max_pending,
            ..config()
        },
    )
}

fn config() -> PipelineConfig {
    PipelineConfig {
        max_pending: 100_000,
        batch_max_records: 1_000,
        batch_max_wait_ms: 500,
        validator: ValidatorConfig {
            confirmations: 2,
            ..ValidatorConfig::default()
        },
    }
}

/// Every TI of `tcs` has exactly one ACK, valid, with the TC's record.
fn assert_one_valid_ack_each(tcs: &[ChainTransaction], acks: &[Ack]) {
    assert_eq!(acks.len(), tcs.len());
    let by_ti: HashMap<B256, &Ack> = acks.iter().map(|a| (a.ti_id, a)).collect();
    assert_eq!(by_ti.len(), tcs.len(), "a TI with two ACKs");
    for tc in tcs {
        let ack = by_ti[&tc.ti_id];
        assert!(ack.is_valid(), "{ack:?}");
        assert_eq!(ack.record_hash, Some(tc.record_hash));
    }
}

#[test]
fn bulk_records_go_out_in_batches_urgent_ones_alone_with_one_write_per_round() {
    let mut chain = Chain::new();
    let all = tcs(2_503);
    let (urgent, bulk) = all.split_at(3);
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let now = UnixMillis(START_MS);
    for tc in bulk {
        pipeline.push(tc.clone(), Priority::Bulk, now).unwrap();
    }
    for tc in urgent {
        pipeline.push(tc.clone(), Priority::Urgent, now).unwrap();
    }
    assert_eq!(pipeline.pending(), 2_503);
    let mut outbox = CountingOutbox::default();
    let drained = chain.drain(&mut pipeline, &mut outbox, &Until::verdict());
    assert_eq!(drained.stopped, None);
    assert_one_valid_ack_each(&all, &drained.acks);
    // Two full batches of 1,000 went out when full, the last 500 after the
    // wait; the three urgent records alone.
    assert_eq!(chain.batches.len(), 3);
    assert_eq!(chain.records.len(), 3);
    assert_eq!(chain.anchorings, 6);
    let mut sizes: Vec<u32> = chain.batches.values().copied().collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [500, 1_000, 1_000]);
    // Every batched record's ACK carries a proof of its record that checks
    // against the anchored batch.
    let proven = drained
        .acks
        .iter()
        .filter_map(|ack| ack.anchor()?.batch.clone())
        .inspect(|proof| {
            let anchored = AnchoredBatch {
                root: proof.root,
                leaf_count: chain.batches[&proof.root],
                batch_id: None,
            };
            proof.verify_anchored(&anchored).unwrap();
        })
        .count();
    assert_eq!(proven, 2_500);
    // Two rounds of entries (the first batches and urgent records, then the
    // batch flushed after the wait): two durable writes for 2,503 TIs.
    assert_eq!(outbox.writes, 2);
    assert_eq!(outbox.entries_given, 6, "one entry per submission");
    // The six verdicts, reached in two rounds (the batch flushed after the
    // wait is confirmed later), are stored in two writes.
    assert_eq!(outbox.verdict_writes, 2);
    assert_eq!(outbox.inner.acks.len(), 2_503);
    assert!(outbox.keys().unwrap().is_empty(), "entries left behind");
    assert!(pipeline.is_idle());
}

#[test]
fn a_step_stores_its_round_and_the_verdicts_it_reached_in_one_write() {
    let mut chain = Chain::new();
    let all = tcs(2_000);
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let mut outbox = CountingOutbox::default();
    let mut clock = chain.clock.clone();
    let time = chain.clock.clone();
    let mut step =
        |pipeline: &mut Pipeline, outbox: &mut CountingOutbox, tcs: &[ChainTransaction]| {
            for tc in tcs {
                pipeline
                    .push(tc.clone(), Priority::Bulk, clock.time())
                    .unwrap();
            }
            step_durably(pipeline, outbox, &mut chain, &mut clock).unwrap();
            pipeline.take_acks()
        };
    // The first batch (full: sent at once) is stored and sent.
    assert!(step(&mut pipeline, &mut outbox, &all[..1_000]).is_empty());
    assert_eq!(outbox.steps, [(1, 0)]);
    // Ten blocks later, it is confirmed in the step that stores the second.
    time.advance_ms(10_000);
    let acks = step(&mut pipeline, &mut outbox, &all[1_000..]);
    assert_one_valid_ack_each(&all[..1_000], &acks);
    assert_eq!(outbox.steps, [(1, 0), (1, 1)]);
    assert_eq!(
        outbox.inner.keys().unwrap().len(),
        1,
        "the second batch's entry"
    );
}

#[test]
fn an_outbox_that_keeps_nothing_is_given_no_entries() {
    let mut chain = Chain::new();
    let all = tcs(1_200);
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    for tc in &all {
        pipeline
            .push(tc.clone(), Priority::Bulk, UnixMillis(START_MS))
            .unwrap();
    }
    let mut outbox = CountingOutbox {
        discards: true,
        ..CountingOutbox::default()
    };
    let drained = chain.drain(&mut pipeline, &mut outbox, &Until::verdict());
    assert_one_valid_ack_each(&all, &drained.acks);
    assert_eq!(chain.batches.len(), 2);
    // No batch's entry was serialised for an outbox that keeps nothing.
    assert_eq!(outbox.writes, 0);
    assert_eq!(outbox.entries_given, 0);
    assert_eq!(pipeline.pending(), 0);
}

#[test]
fn head_reads_are_shared_by_every_submission_waiting() {
    let mut chain = Chain::new();
    let all = tcs(40);
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    for tc in &all {
        pipeline
            .push(tc.clone(), Priority::Urgent, UnixMillis(START_MS))
            .unwrap();
    }
    let drained = chain.drain(
        &mut pipeline,
        &mut MemoryOutbox::default(),
        &Until::verdict(),
    );
    assert_one_valid_ack_each(&all, &drained.acks);
    assert_eq!(chain.anchorings, 40);
    // Forty validators each read the head while confirming (two blocks,
    // 80 reads or more one by one); the pipeline asked the node twice.
    assert_eq!(chain.head_reads, 2);
}

/// The host's loop stored a round, sent one submission without handing in
/// its answer and took the other actions out unanswered, then drains the
/// pipeline: every TI still ends with its one ACK, each record anchored
/// once.
#[test]
fn a_drain_takes_over_actions_the_host_handed_out_and_never_answered() {
    let mut chain = Chain::new();
    let all = tcs(3);
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let now = UnixMillis(START_MS);
    for tc in &all {
        pipeline.push(tc.clone(), Priority::Urgent, now).unwrap();
    }
    let Some(PipelineTransmit::Persist { round }) = pipeline.poll_transmit(now) else {
        panic!("no round to store");
    };
    let mut outbox = MemoryOutbox::default();
    for (key, entry) in pipeline.round_entries(round) {
        outbox.save(&key, &entry).unwrap();
    }
    pipeline.handle_persisted(round, now, Ok(()));
    // The first submission is sent; its answer, and every other action,
    // is lost.
    let Some(PipelineTransmit::Flight {
        flight,
        transmit: Transmit::Submit { submission },
    }) = pipeline.poll_transmit(now)
    else {
        panic!("no submission");
    };
    chain.submit(&submission).unwrap();
    assert!(pipeline.flight_mut(flight).is_some());
    while pipeline.poll_transmit(now).is_some() {}
    let drained = chain.drain(&mut pipeline, &mut outbox, &Until::verdict());
    assert_eq!(drained.stopped, None);
    assert_one_valid_ack_each(&all, &drained.acks);
    assert_eq!(chain.records.len(), 3);
    assert_eq!(chain.anchorings, 3, "each record anchored once");
    assert!(pipeline.is_idle());
}

#[test]
fn a_full_pipeline_says_busy_and_keeps_nothing() {
    let mut chain = Chain::new();
    let all = tcs(4);
    let mut pipeline = holding_at_most(3);
    let now = UnixMillis(START_MS);
    for tc in &all[..3] {
        pipeline.push(tc.clone(), Priority::Bulk, now).unwrap();
    }
    assert_eq!(
        pipeline.push(all[3].clone(), Priority::Urgent, now),
        Err(PipelineError::Busy {
            pending: 3,
            limit: 3
        })
    );
    assert_eq!(
        pipeline.push(all[0].clone(), Priority::Bulk, now),
        Err(PipelineError::Busy {
            pending: 3,
            limit: 3
        })
    );
    let first = chain.drain(
        &mut pipeline,
        &mut MemoryOutbox::default(),
        &Until::verdict(),
    );
    assert_one_valid_ack_each(&all[..3], &first.acks);
    // Room again: the refused TI goes in now and ends valid too.
    pipeline
        .push(all[3].clone(), Priority::Urgent, chain.clock.time())
        .unwrap();
    let second = chain.drain(
        &mut pipeline,
        &mut MemoryOutbox::default(),
        &Until::verdict(),
    );
    assert_one_valid_ack_each(&all[3..], &second.acks);
}

#[test]
fn a_validator_the_pipeline_refuses_comes_back_and_is_admitted_later() {
    let mut chain = Chain::new();
    let all = tcs(3);
    let mut pipeline = holding_at_most(2);
    let now = UnixMillis(START_MS);
    pipeline.push(all[0].clone(), Priority::Bulk, now).unwrap();
    let held = TransactionValidator::new(&all[0], config().validator);
    let duplicate = pipeline.admit(held).unwrap_err();
    assert_eq!(duplicate.error, PipelineError::Duplicate(all[0].ti_id));
    pipeline.push(all[1].clone(), Priority::Bulk, now).unwrap();
    let given = TransactionValidator::new(&all[2], config().validator);
    let busy = pipeline.admit(given).unwrap_err();
    assert_eq!(
        busy.error,
        PipelineError::Busy {
            pending: 2,
            limit: 2
        }
    );
    assert_eq!(
        busy.validator.ti_ids().collect::<Vec<_>>(),
        [all[2].ti_id],
        "the same validator comes back"
    );
    let first = chain.drain(
        &mut pipeline,
        &mut MemoryOutbox::default(),
        &Until::verdict(),
    );
    assert_one_valid_ack_each(&all[..2], &first.acks);
    pipeline.admit(*busy.validator).unwrap();
    let second = chain.drain(
        &mut pipeline,
        &mut MemoryOutbox::default(),
        &Until::verdict(),
    );
    assert_one_valid_ack_each(&all[2..], &second.acks);
}

#[test]
fn a_ti_already_held_is_refused() {
    let all = tcs(1);
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let now = UnixMillis(START_MS);
    pipeline.push(all[0].clone(), Priority::Bulk, now).unwrap();
    assert_eq!(
        pipeline.push(all[0].clone(), Priority::Urgent, now),
        Err(PipelineError::Duplicate(all[0].ti_id))
    );
    assert_eq!(pipeline.pending(), 1);
}

#[test]
fn an_open_batch_waits_until_full_or_its_time() {
    let all = tcs(5);
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let t0 = UnixMillis(START_MS);
    for tc in &all {
        pipeline.push(tc.clone(), Priority::Bulk, t0).unwrap();
    }
    assert_eq!(pipeline.poll_transmit(t0), None);
    assert_eq!(pipeline.poll_timeout(), Some(t0.saturating_add_ms(500)));
    assert_eq!(pipeline.poll_transmit(t0.saturating_add_ms(499)), None);
    // At its time, one batch of five: one entry to store, keyed by its root.
    let Some(PipelineTransmit::Persist { round }) =
        pipeline.poll_transmit(t0.saturating_add_ms(500))
    else {
        panic!("no round of entries");
    };
    let entries = pipeline.round_entries(round);
    assert_eq!(pipeline.pending(), 5);
    assert_eq!(entries.len(), 1);
    let stored = TransactionValidator::from_json(&entries[0].1).unwrap();
    assert_eq!(stored.ti_ids().count(), 5);
    pipeline.handle_persisted(round, t0.saturating_add_ms(500), Ok(()));
    assert!(
        pipeline.round_entries(round).is_empty(),
        "a reported round has no entries"
    );
    assert!(matches!(
        pipeline.poll_transmit(t0.saturating_add_ms(500)),
        Some(PipelineTransmit::Flight {
            transmit: Transmit::Submit { .. },
            ..
        })
    ));
}

#[test]
fn a_host_that_stops_resumes_every_ti_from_its_outbox_without_anchoring_twice() {
    let mut chain = Chain::new();
    let all = tcs(1_200);
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let now = UnixMillis(START_MS);
    for (i, tc) in all.iter().enumerate() {
        let priority = if i % 100 == 0 {
            Priority::Urgent
        } else {
            Priority::Bulk
        };
        pipeline.push(tc.clone(), priority, now).unwrap();
    }
    let mut outbox = MemoryOutbox::default();
    // Stopped after 1.2 s: the first batch and the urgent records are sent,
    // not confirmed; the rest of the bulk records wait in the open batch.
    let first = chain.drain(
        &mut pipeline,
        &mut outbox,
        &Until::deadline(UnixMillis(START_MS + 1_200)),
    );
    assert_eq!(first.stopped, Some(StopCause::Deadline));
    drop(pipeline);
    // A new process: everything held comes back from the outbox.
    let entries: Vec<String> = outbox
        .keys()
        .unwrap()
        .iter()
        .map(|key| outbox.load(key).unwrap().unwrap())
        .collect();
    let mut resumed = Pipeline::new(CHAIN, registry(), config());
    resumed.resume(entries.iter().map(String::as_str)).unwrap();
    assert_eq!(resumed.pending() + first.acks.len(), 1_200);
    let second = chain.drain(&mut resumed, &mut outbox, &Until::verdict());
    let mut acks = first.acks;
    acks.extend(second.acks);
    assert_one_valid_ack_each(&all, &acks);
    // The chain refuses (and this test fails on) anything anchored twice.
    assert_eq!(chain.records.len() + chain.batches.len(), 12 + 2);
    assert!(outbox.keys().unwrap().is_empty());
}

/// A blood pressure TI with id `n`, which its template refuses (a
/// pathologist may not take blood pressure).
fn refused_ti(hs: &Handshaker<InMemoryKeyStore>, n: u8) -> InitialTransaction {
    InitialTransaction {
        ti_id: B256::repeat_byte(n),
        template_id: hs.templates().latest("blood-pressure").unwrap().id(),
        author_id: "path-1".into(),
        author_role: Role::new(Role::PATHOLOGIST).unwrap(),
        patient_id: Some(format!("MRN-{n}")),
        timestamp: START_MS / 1000,
        fields: serde_json::from_str(r#"{"systolic": 120, "diastolic": 80}"#).unwrap(),
    }
}

#[test]
fn a_ti_its_template_refuses_gets_its_invalid_ack_from_the_pipeline() {
    let mut chain = Chain::new();
    let hs = handshaker();
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let ti = refused_ti(&hs, 9);
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let now = UnixMillis(START_MS);
    hs.push(&mut pipeline, &ti, Priority::Bulk, now, &mut rng)
        .unwrap();
    assert!(matches!(
        hs.push(&mut pipeline, &ti, Priority::Bulk, now, &mut rng),
        Err(crate::Error::Pipeline(PipelineError::Duplicate(id))) if id == ti.ti_id
    ));
    let ack = chain.drain_to_one_ack(&mut pipeline);
    assert_eq!(ack.ti_id, ti.ti_id);
    assert!(matches!(
        ack.reason(),
        Some(crate::validator::InvalidReason::TemplateViolations { .. })
    ));
    assert_eq!(chain.anchorings, 0, "nothing reached the chain");
}

/// A key store whose HSM goes offline after the handshaker was made.
struct Hsm {
    keys: InMemoryKeyStore,
    offline: std::rc::Rc<std::cell::Cell<bool>>,
}

impl KeyStore for Hsm {
    fn master_key(&self, id: &KeyId) -> Result<MasterKey, KeyStoreError> {
        if self.offline.get() {
            return Err(KeyStoreError::Unavailable("the HSM is offline".into()));
        }
        self.keys.master_key(id)
    }
}

#[test]
fn a_key_store_outage_is_no_verdict_the_ti_is_refused_with_a_retryable_error() {
    let offline = std::rc::Rc::new(std::cell::Cell::new(false));
    let hs = handshaker_with(Hsm {
        keys: handshaker().generator().key_store().clone(),
        offline: offline.clone(),
    });
    let ti = InitialTransaction {
        author_id: "dr-1".into(),
        author_role: Role::new(Role::DOCTOR).unwrap(),
        ..refused_ti(&handshaker(), 5)
    };
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let now = UnixMillis(START_MS);
    offline.set(true);
    let pushed = hs.push(&mut pipeline, &ti, Priority::Urgent, now, &mut rng);
    let Err(error) = pushed else {
        panic!("an outage made a verdict: {pushed:?}")
    };
    assert_eq!(error.code(), crate::ErrorCode::KeyStoreUnavailable);
    assert!(error.code().is_retryable());
    assert_eq!(pipeline.pending(), 0, "nothing held");
    assert!(pipeline.poll_finished().is_none(), "no ACK");
    let made = hs.validator_for(&ti, now, &mut rng);
    assert!(
        matches!(
            made,
            Err(GenerateError::KeyStore(KeyStoreError::Unavailable(_)))
        ),
        "{made:?}"
    );

    // Back online: the same TI goes in and ends valid.
    offline.set(false);
    hs.push(&mut pipeline, &ti, Priority::Urgent, now, &mut rng)
        .unwrap();
    let mut chain = Chain::new();
    let ack = chain.drain_to_one_ack(&mut pipeline);
    assert!(ack.is_valid() && ack.ti_id == ti.ti_id, "{ack:?}");
}

#[test]
fn a_verdict_the_host_could_not_store_is_given_back_and_offered_again_first() {
    let hs = handshaker();
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let now = UnixMillis(START_MS);
    // Two TIs the template refuses: each is finished at once, with its
    // invalid ACK.
    let refused = |n: u8| refused_ti(&hs, n);
    for n in [1, 2] {
        hs.push(&mut pipeline, &refused(n), Priority::Urgent, now, &mut rng)
            .unwrap();
    }
    let taken: Vec<Finished> = std::iter::from_fn(|| pipeline.poll_finished()).collect();
    assert_eq!(taken.len(), 2);
    assert!(pipeline.is_idle());

    // The host's store failed: both go back, their TIs held again.
    pipeline.restore_finished(taken.clone());
    assert_eq!(pipeline.pending(), 2);
    assert!(!pipeline.is_idle());
    assert!(matches!(
        hs.push(&mut pipeline, &refused(1), Priority::Urgent, now, &mut rng),
        Err(crate::Error::Pipeline(PipelineError::Duplicate(id))) if id == B256::repeat_byte(1)
    ));
    let again: Vec<Finished> = std::iter::from_fn(|| pipeline.poll_finished()).collect();
    assert_eq!(again, taken, "the same verdicts, in the same order");
    assert!(pipeline.is_idle(), "taken again: nothing held");
    assert_eq!(pipeline.pending(), 0);

    // A TI pushed anew while its old verdict waits keeps its new hold when
    // the old verdict is taken.
    hs.push(&mut pipeline, &refused(1), Priority::Urgent, now, &mut rng)
        .unwrap();
    let old = pipeline.poll_finished().unwrap();
    hs.push(&mut pipeline, &refused(1), Priority::Urgent, now, &mut rng)
        .unwrap();
    pipeline.restore_finished([old]);
    assert_eq!(pipeline.pending(), 1, "held once, by the new push");
    assert!(pipeline.poll_finished().is_some());
    assert_eq!(pipeline.pending(), 1, "the new push is still held");
    assert!(matches!(
        hs.push(&mut pipeline, &refused(1), Priority::Urgent, now, &mut rng),
        Err(crate::Error::Pipeline(PipelineError::Duplicate(id))) if id == B256::repeat_byte(1)
    ));
}

/// An outbox whose verdict writes fail while `down` (a full disk), or
/// once `finishes_left` reaches zero (a disk that fills up).
#[derive(Default)]
struct DownOutbox {
    inner: MemoryOutbox,
    down: bool,
    finishes_left: Option<usize>,
}

impl Outbox for DownOutbox {
    fn save(&mut self, key: &B256, entry: &str) -> Result<(), OutboxError> {
        self.inner.save(key, entry)
    }
    fn load(&mut self, key: &B256) -> Result<Option<String>, OutboxError> {
        self.inner.load(key)
    }
    fn keys(&mut self) -> Result<Vec<B256>, OutboxError> {
        self.inner.keys()
    }
    fn finish(&mut self, key: Option<&B256>, acks: &[Ack]) -> Result<(), OutboxError> {
        if let Some(left) = &mut self.finishes_left {
            self.down |= *left == 0;
            *left = left.saturating_sub(1);
        }
        if self.down {
            return Err(OutboxError("the disk is full".into()));
        }
        self.inner.finish(key, acks)
    }
}

#[test]
fn a_failed_store_of_an_anchored_and_a_refused_verdict_keeps_each_where_it_belongs() {
    // Fails at the first verdict (none stored), then at the second (the
    // anchored TI's stored).
    for fail_at in [0, 1] {
        let mut chain = Chain::new();
        let hs = handshaker();
        let mut pipeline = Pipeline::new(CHAIN, registry(), config());
        let mut rng = ChaCha20Rng::seed_from_u64(13);
        let mut clock = chain.clock.clone();
        let time = chain.clock.clone();
        let mut outbox = DownOutbox::default();
        let anchored = tcs(1).remove(0);
        pipeline
            .push(anchored.clone(), Priority::Urgent, time.time())
            .unwrap();
        step_durably(&mut pipeline, &mut outbox, &mut chain, &mut clock).unwrap();
        // Confirmed by now; a TI its template refuses joins the same store.
        time.advance_ms(10_000);
        let refused = refused_ti(&hs, 31);
        hs.push(
            &mut pipeline,
            &refused,
            Priority::Urgent,
            time.time(),
            &mut rng,
        )
        .unwrap();
        outbox.finishes_left = Some(fail_at);
        assert!(step_durably(&mut pipeline, &mut outbox, &mut chain, &mut clock).is_err());
        let acks = pipeline.take_acks();
        let keys = outbox.inner.keys().unwrap();
        if fail_at == 0 {
            assert!(acks.is_empty(), "{acks:?}");
            assert_eq!(keys, [anchored.ti_id], "its entry stays, to be resumed");
        } else {
            let [ack] = acks.as_slice() else {
                panic!("{acks:?}");
            };
            assert!(ack.ti_id == anchored.ti_id && ack.is_valid());
            assert!(keys.is_empty(), "its entry is finished");
        }
        assert_eq!(pipeline.pending(), 1, "only the refused TI is given back");
        // The disk is back: the refused TI's verdict is stored once.
        outbox.down = false;
        outbox.finishes_left = None;
        step_durably(&mut pipeline, &mut outbox, &mut chain, &mut clock).unwrap();
        let acks = pipeline.take_acks();
        let [ack] = acks.as_slice() else {
            panic!("{acks:?}");
        };
        assert!(ack.ti_id == refused.ti_id && !ack.is_valid());
        assert!(pipeline.is_idle());
    }
}

#[test]
fn a_store_that_fails_part_way_keeps_what_it_stored_and_stores_nothing_twice() {
    let mut chain = Chain::new();
    let hs = handshaker();
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let now = UnixMillis(START_MS);
    let refused = [refused_ti(&hs, 21), refused_ti(&hs, 22)];
    for ti in &refused {
        hs.push(&mut pipeline, ti, Priority::Urgent, now, &mut rng)
            .unwrap();
    }
    // One store of both verdicts, one `finish` each: the first is stored,
    // then the disk is full.
    let mut outbox = DownOutbox {
        finishes_left: Some(1),
        ..DownOutbox::default()
    };
    let mut clock = chain.clock.clone();
    assert!(step_durably(&mut pipeline, &mut outbox, &mut chain, &mut clock).is_err());
    let first = pipeline.take_acks();
    assert_eq!(first.len(), 1, "the stored verdict's ACK is handed on");
    assert_eq!(outbox.inner.acks, first);
    assert_eq!(pipeline.pending(), 1, "only the other is given back");
    // The disk is back: the other is stored, the first not again.
    outbox.down = false;
    outbox.finishes_left = None;
    step_durably(&mut pipeline, &mut outbox, &mut chain, &mut clock).unwrap();
    let second = pipeline.take_acks();
    assert_eq!(second.len(), 1);
    let mut ids: Vec<B256> = outbox.inner.acks.iter().map(|ack| ack.ti_id).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [refused[0].ti_id, refused[1].ti_id],
        "each stored once"
    );
    assert!(pipeline.is_idle());
}

#[test]
fn acks_stored_before_a_failed_store_wait_in_the_pipeline() {
    let mut chain = Chain::new();
    let hs = handshaker();
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let now = UnixMillis(START_MS);
    // A refused TI's verdict is stored in the drain's first write; the
    // anchored TC's, later, is not: the disk is full by then.
    let refused = refused_ti(&hs, 7);
    hs.push(&mut pipeline, &refused, Priority::Urgent, now, &mut rng)
        .unwrap();
    let anchored = tcs(1).remove(0);
    pipeline
        .push(anchored.clone(), Priority::Urgent, now)
        .unwrap();
    let mut outbox = DownOutbox {
        finishes_left: Some(1),
        ..DownOutbox::default()
    };
    let mut clock = chain.clock.clone();
    let failed = drain_durably(
        &mut pipeline,
        &mut outbox,
        &mut chain,
        &mut clock,
        &Until::verdict(),
    );
    assert_eq!(failed, Err(OutboxError("the disk is full".into())));
    // The stored ACK was not lost with the error: it waits, once.
    let acks = pipeline.take_acks();
    let [ack] = acks.as_slice() else {
        panic!("{acks:?}");
    };
    assert_eq!(ack.ti_id, refused.ti_id);
    assert!(!ack.is_valid());
    assert_eq!(outbox.inner.acks, acks, "the outbox holds the same ACK");
    assert!(pipeline.poll_ack().is_none());
    // The anchored TC's verdict stays in its stored entry.
    assert_eq!(outbox.inner.keys().unwrap(), [anchored.ti_id]);
}

#[test]
fn a_refused_ti_s_verdict_survives_a_failed_store() {
    let mut chain = Chain::new();
    let hs = handshaker();
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let ti = refused_ti(&hs, 9);
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    hs.push(
        &mut pipeline,
        &ti,
        Priority::Bulk,
        UnixMillis(START_MS),
        &mut rng,
    )
    .unwrap();
    let mut outbox = DownOutbox {
        down: true,
        ..DownOutbox::default()
    };
    let mut clock = chain.clock.clone();
    assert!(step_durably(&mut pipeline, &mut outbox, &mut chain, &mut clock).is_err());
    // Not lost: still pending, and stored once the disk is back.
    assert_eq!(pipeline.pending(), 1);
    outbox.down = false;
    step_durably(&mut pipeline, &mut outbox, &mut chain, &mut clock).unwrap();
    let acks = pipeline.take_acks();
    let [ack] = acks.as_slice() else {
        panic!("{acks:?}");
    };
    assert_eq!(ack.ti_id, ti.ti_id);
    assert!(!ack.is_valid());
    assert!(pipeline.is_idle());
}

/// `tc` signed by its author, the doctor of the test key `0x11…`.
fn signed(tc: &ChainTransaction) -> ChainTransaction {
    use crate::authorship::{LocalSigner, Signer, SigningRequest};
    let doctor = LocalSigner::from_bytes(&[0x11; 32]).unwrap();
    let request = SigningRequest::new(tc.clone(), doctor.address()).unwrap();
    let signature = doctor.sign(&request).unwrap();
    request.attach(&signature).unwrap()
}

#[test]
fn a_signed_tc_pushed_as_bulk_is_anchored_alone_so_its_authorship_stays_on_chain() {
    let mut chain = Chain::new();
    let all = tcs(3);
    let signed = signed(&all[0]);
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let now = UnixMillis(START_MS);
    pipeline.push(signed.clone(), Priority::Bulk, now).unwrap();
    for tc in &all[1..] {
        pipeline.push(tc.clone(), Priority::Bulk, now).unwrap();
    }
    pipeline.flush();
    let drained = chain.drain(
        &mut pipeline,
        &mut MemoryOutbox::default(),
        &Until::verdict(),
    );
    assert_one_valid_ack_each(&all, &drained.acks);
    let signed_ack = drained
        .acks
        .iter()
        .find(|a| a.ti_id == signed.ti_id)
        .unwrap();
    assert_eq!(signed_ack.authorship, signed.signed_statement());
    assert_eq!(signed_ack.anchor().unwrap().batch, None, "not in a batch");
    let sent: Vec<&Submission> = chain.mined.values().map(|(s, _)| s).collect();
    assert_eq!(
        sent.len(),
        2,
        "the signed TC alone, the other two in one batch"
    );
    assert!(
        sent.iter().any(|s| s.calldata == signed.calldata),
        "the signed TC goes out as its author's anchorSignedRecord call"
    );
    assert!(
        sent.iter()
            .any(|s| matches!(s.anchoring, Anchoring::Batch { leaf_count: 2, .. }))
    );
}

#[test]
fn a_tc_or_validator_for_another_registry_or_chain_is_refused_and_nothing_kept() {
    let all = tcs(3);
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let now = UnixMillis(START_MS);
    let elsewhere = ChainTransaction {
        to: Address::repeat_byte(0xaa),
        ..all[0].clone()
    };
    let other_chain = ChainTransaction {
        chain_id: CHAIN + 1,
        ..all[1].clone()
    };
    for (tc, priority) in [
        (&elsewhere, Priority::Bulk),
        (&other_chain, Priority::Urgent),
    ] {
        let refused = pipeline.push(tc.clone(), priority, now).unwrap_err();
        assert_eq!(
            refused,
            PipelineError::WrongRegistry {
                ti_id: tc.ti_id,
                registry: tc.to,
                chain_id: tc.chain_id
            }
        );
        assert_eq!(refused.code(), crate::ErrorCode::PipelineWrongRegistry);
    }
    let given = TransactionValidator::new(&other_chain, config().validator);
    let unadmitted = pipeline.admit(given).unwrap_err();
    assert!(matches!(
        unadmitted.error,
        PipelineError::WrongRegistry { chain_id, .. } if chain_id == CHAIN + 1
    ));
    // Through a handshaker of another registry, a TI its template refuses
    // (whose finished validator sends nothing) is refused all the same.
    let hs = handshaker();
    let mut elsewhere = Pipeline::new(CHAIN, Address::repeat_byte(0xaa), config());
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let error = hs
        .push(
            &mut elsewhere,
            &refused_ti(&hs, 9),
            Priority::Bulk,
            now,
            &mut rng,
        )
        .unwrap_err();
    assert_eq!(error.code(), crate::ErrorCode::PipelineWrongRegistry);
    assert!(pipeline.is_idle() && elsewhere.is_idle(), "nothing kept");
    pipeline.push(all[0].clone(), Priority::Bulk, now).unwrap();
    assert_eq!(
        pipeline.pending(),
        1,
        "the right TC with the same id goes in"
    );
}

#[test]
fn a_run_stores_a_round_before_its_submission_and_asks_until_it_is_stored() {
    let tc = tcs(1).remove(0);
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let now = UnixMillis(START_MS);
    pipeline.push(tc.clone(), Priority::Urgent, now).unwrap();
    let mut run = PipelineRun::new(None, true);
    let store = run.poll(&mut pipeline, now, false);
    let PipelineStep::Store { entries, verdicts } = &store else {
        panic!("not stored first: {store:?}");
    };
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, tc.ti_id);
    assert!(verdicts.is_empty());
    // Not stored yet: asked again, nothing sent.
    assert_eq!(run.poll(&mut pipeline, now, false), store);
    assert_eq!(run.handle_stored(&mut pipeline, now, Ok(())), Ok(0));
    let step = run.poll(&mut pipeline, now, false);
    assert!(
        matches!(
            &step,
            PipelineStep::Perform {
                transmit: PipelineTransmit::Flight {
                    transmit: Transmit::Submit { .. },
                    ..
                }
            }
        ),
        "{step:?}"
    );
    // Polled again, the submission's answer not handed in: awaited, and
    // the run never says every TI has its ACK.
    assert_eq!(run.poll(&mut pipeline, now, false), PipelineStep::Awaiting);
}

#[test]
fn a_run_stopped_stores_every_entry_the_open_batch_too_then_drains() {
    let all = tcs(3);
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    let now = UnixMillis(START_MS);
    for tc in &all {
        pipeline.push(tc.clone(), Priority::Bulk, now).unwrap();
    }
    let deadline = now.saturating_add_ms(100);
    let mut run = PipelineRun::new(Some(deadline), true);
    // The open batch waits for more (500 ms); the deadline comes first.
    assert_eq!(
        run.poll(&mut pipeline, now, false),
        PipelineStep::Wait { until: deadline }
    );
    let PipelineStep::Store { entries, verdicts } = run.poll(&mut pipeline, deadline, false) else {
        panic!("the held TIs are not stored");
    };
    assert_eq!(entries.len(), 1, "the batch, flushed, in one entry");
    assert!(verdicts.is_empty());
    run.handle_stored(&mut pipeline, deadline, Ok(())).unwrap();
    assert_eq!(
        run.poll(&mut pipeline, deadline, false),
        PipelineStep::Drained {
            stopped: Some(StopCause::Deadline),
            pending: 3
        }
    );
    // A host without an outbox is given no entry to store.
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    pipeline.push(all[0].clone(), Priority::Bulk, now).unwrap();
    assert_eq!(
        PipelineRun::new(None, false).poll(&mut pipeline, now, true),
        PipelineStep::Drained {
            stopped: Some(StopCause::Cancelled),
            pending: 1
        }
    );
    // Nor an empty store before a submission: it goes out at once.
    let mut pipeline = Pipeline::new(CHAIN, registry(), config());
    pipeline
        .push(all[1].clone(), Priority::Urgent, now)
        .unwrap();
    let step = PipelineRun::new(None, false).poll(&mut pipeline, now, false);
    let PipelineStep::Perform {
        transmit:
            PipelineTransmit::Flight {
                transmit: Transmit::Submit { submission },
                ..
            },
    } = step
    else {
        panic!("not sent at once: {step:?}");
    };
    assert_eq!(submission, Submission::from(&all[1]));
}
