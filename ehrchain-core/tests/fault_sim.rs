//! Deterministic fault simulation of the Transaction Validator: a seeded fake
//! chain (virtual clock, `Transport`) drops, delays, duplicates, reorders,
//! reverts and reorgs transactions, fails transport calls and takes the node
//! down for seconds to 15 minutes (outages are waited out: no verdict is
//! reached while the node is down, and none is caused by it), while validators
//! for single records, a batch and duplicated submissions run against it.
//! Invariants, for every seed: every TI gets exactly one final ACK; no record
//! or root is anchored twice; every valid ACK matches the chain (a recovered
//! one, settled by reading the registry, too); every invalid one carries its
//! sealed envelope for audit; and no invalid ACK names a record (or root) the
//! canonical chain holds at the end, unless the ACK is inconclusive because
//! the chain could not be read when the validator settled.
//!
//! After the ACKs, reorgs deeper than the confirmations happen for a while
//! and the anchor watcher runs over every valid ACK until final, resending
//! through an outbox the TCs whose anchors vanished: then every valid ACK is
//! on the canonical chain, every resent TC ends valid with the same record
//! hash, none is anchored twice.
//!
//! Rows for `make test`'s fault table: `validator-under-faults` and
//! `deep-reorgs-after-the-ack` (scripts/fault-report/). A seed that breaks
//! an invariant fails the test before its row is written.
//!
//! `EHRCHAIN_SIM_SEEDS` sets the number of seeds (default 2,000).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr,
    clippy::cast_possible_truncation
)]

mod common;
#[path = "../../scripts/fault-report/row.rs"]
mod fault_report;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Instant;

use alloy_primitives::{Address, B256, Bytes, LogData, keccak256};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use common::test_keys::test_generator;
use ehrchain_core::outbox::MemoryOutbox;
use ehrchain_core::registry_abi::IEhrRegistry;
use ehrchain_core::transport::Anchoring;
use ehrchain_core::validator::AuditEvent;
use ehrchain_core::watcher::{AnchorWatcher, WatchEvent, WatcherConfig};
use ehrchain_core::{
    Ack, AckStatus, AnchoredBatch, BatchBuilder, BatchReader, CancelToken, ChainTransaction, Clock,
    Envelope, Handshaker, InMemoryKeyStore, InitialTransaction, InvalidReason, Role, Run, RunStep,
    Submission, SubmissionStatus, TemplateRegistry, TransactionValidator, Transport,
    TransportError, TxHash, TxReceipt, UnixMillis, Until, ValidatorConfig, ValidatorRun,
    run_blocking, watch_durably,
};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::json;

const REGISTRY: Address = Address::repeat_byte(0xee);
const CHAIN_ID: u64 = 1337;
const START_MS: u64 = 1_767_225_600_000;
const BLOCK_MS: u64 = 2_000;
const CONFIRMATIONS: u64 = 3;
/// Reorgs are shallower than the confirmation depth, as on a chain the
/// validator is configured for...
const MAX_REORG_DEPTH: u64 = CONFIRMATIONS - 1;
/// ...until the ACKs are out: then, for a while, reorgs deeper than the
/// confirmations (up to this depth) happen, and the anchor watcher, which
/// waits for `WATCHER_DEPTH` blocks, must catch every anchor they remove.
const MAX_DEEP_REORG_DEPTH: u64 = CONFIRMATIONS + 3;
const WATCHER_DEPTH: u64 = MAX_DEEP_REORG_DEPTH + 3;
/// How long deep reorgs go on after the ACKs, and their rate per block.
const DEEP_REORG_WINDOW_MS: u64 = 40_000;
const DEEP_REORG_PERMILLE: u32 = 250;
/// An outage this long (2 minutes) or longer is a long one.
const LONG_OUTAGE_MS: u64 = 120_000;

/// Fault rates in permille, drawn per seed.
#[derive(Clone, Copy, Debug)]
struct Faults {
    transport_error: u32,
    ambiguous_submit: u32,
    permanent_error: u32,
    duplicate: u32,
    drop: u32,
    delay: u32,
    reorg: u32,
    /// A node outage: every transport call fails in `[start, end)` (ms).
    outage: Option<(u64, u64)>,
}

impl Faults {
    fn draw(rng: &mut ChaCha8Rng) -> Self {
        let mut r = |max: u32| rng.next_u32() % (max + 1);
        let (transport_error, ambiguous_submit, permanent_error) = (r(250), r(100), r(8));
        let (duplicate, drop, delay, reorg) = (r(200), r(150), r(400), r(150));
        // One seed in ten: the node is down for 5 to 60 s; one more in ten
        // for 2 to 15 minutes (every TI in flight waits it out, never ends
        // on it); both starting in the first minute.
        let outage = match r(9) {
            0 => Some(5_000 + u64::from(r(55_000))),
            1 => Some(LONG_OUTAGE_MS + u64::from(r(780_000))),
            _ => None,
        }
        .map(|length| {
            let start = START_MS + u64::from(r(60_000));
            (start, start + length)
        });
        Self {
            transport_error,
            ambiguous_submit,
            permanent_error,
            duplicate,
            drop,
            delay,
            reorg,
            outage,
        }
    }
}

#[derive(Clone, Debug)]
struct MinedTx {
    hash: B256,
    submission: Submission,
    status: bool,
    revert: Option<Bytes>,
    log: Option<LogData>,
}

#[derive(Clone, Debug)]
struct Block {
    hash: B256,
    txs: Vec<MinedTx>,
}

struct World {
    now: u64,
    rng: ChaCha8Rng,
    faults: Faults,
    blocks: Vec<Block>,
    mempool: Vec<(B256, Submission)>,
    /// tx hash → block number, for the canonical chain.
    index: HashMap<B256, u64>,
    last_block_at: u64,
    next_tx: u64,
    refused: HashSet<B256>,
    records: HashMap<B256, B256>,
    batches: HashMap<B256, u32>,
    reorgs: u64,
    /// The validator whose actions the transport is carrying out.
    sender: usize,
    /// tx hash → the validator that sent it.
    sent_by: HashMap<B256, usize>,
    /// Deep reorgs (past the confirmations) happen until then (ms).
    deep_reorgs_until: u64,
    deep_reorgs: u64,
}

impl World {
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let faults = Faults::draw(&mut rng);
        Self {
            now: START_MS,
            rng,
            faults,
            blocks: vec![Block {
                hash: keccak256(b"genesis"),
                txs: Vec::new(),
            }],
            mempool: Vec::new(),
            index: HashMap::new(),
            last_block_at: START_MS,
            next_tx: 0,
            refused: HashSet::new(),
            records: HashMap::new(),
            batches: HashMap::new(),
            reorgs: 0,
            sender: 0,
            sent_by: HashMap::new(),
            deep_reorgs_until: 0,
            deep_reorgs: 0,
        }
    }

    fn chance(&mut self, permille: u32) -> bool {
        self.rng.next_u32() % 1000 < permille
    }

    fn advance(&mut self) {
        while self.now >= self.last_block_at + BLOCK_MS {
            self.last_block_at += BLOCK_MS;
            let deep = self.now < self.deep_reorgs_until;
            if deep && self.blocks.len() > 2 && self.chance(DEEP_REORG_PERMILLE) {
                self.deep_reorgs += 1;
                // The competing fork leaves half the transactions out.
                self.reorg(MAX_DEEP_REORG_DEPTH, 500);
            } else if self.blocks.len() > 2 && self.chance(self.faults.reorg) {
                self.reorg(MAX_REORG_DEPTH, self.faults.drop);
            }
            self.mine();
        }
    }

    /// Replaces up to `max_depth` blocks; each of their transactions is
    /// dropped with `drop` permille, else back in the mempool.
    fn reorg(&mut self, max_depth: u64, drop: u32) {
        self.reorgs += 1;
        let max = max_depth.min(self.blocks.len() as u64 - 1);
        let depth = 1 + self.rng.next_u64() % max;
        for _ in 0..depth {
            let block = self.blocks.pop().unwrap();
            for tx in block.txs {
                self.index.remove(&tx.hash);
                if !self.chance(drop) {
                    self.mempool.push((tx.hash, tx.submission));
                }
            }
        }
        self.records.clear();
        self.batches.clear();
        let blocks = std::mem::take(&mut self.blocks);
        for block in &blocks {
            for tx in block.txs.iter().filter(|tx| tx.status) {
                self.apply(&tx.submission);
            }
        }
        self.blocks = blocks;
        // The competing fork overtakes: as many new blocks as were removed.
        for _ in 1..depth {
            self.mine();
        }
    }

    fn mine(&mut self) {
        let mut included = Vec::new();
        for (hash, submission) in std::mem::take(&mut self.mempool) {
            if self.chance(self.faults.drop) {
                continue;
            }
            if self.chance(self.faults.delay) {
                self.mempool.push((hash, submission));
            } else {
                included.push((hash, submission));
            }
        }
        // Reorder.
        for i in (1..included.len()).rev() {
            let j = (self.rng.next_u64() % (i as u64 + 1)) as usize;
            included.swap(i, j);
        }
        let number = self.blocks.len() as u64;
        let mut salt = [0u8; 8];
        self.rng.fill_bytes(&mut salt);
        let hash = keccak256([&number.to_be_bytes()[..], &salt].concat());
        let txs = included
            .into_iter()
            .map(|(hash, submission)| self.execute(hash, submission))
            .collect::<Vec<_>>();
        for tx in &txs {
            self.index.insert(tx.hash, number);
        }
        self.blocks.push(Block { hash, txs });
    }

    /// The registry's rules for the two anchor functions.
    fn execute(&mut self, hash: B256, submission: Submission) -> MinedTx {
        let mut tx = MinedTx {
            hash,
            submission,
            status: false,
            revert: None,
            log: None,
        };
        if let Ok(call) = IEhrRegistry::anchorRecordCall::abi_decode(&tx.submission.calldata) {
            if self.refused.contains(&call.tiId) {
                tx.revert = Some(
                    IEhrRegistry::EhrRegistryRoleNotAllowed {
                        templateId: call.templateId,
                        role: call.role,
                    }
                    .abi_encode()
                    .into(),
                );
            } else if let Some(stored) = self.records.get(&call.tiId) {
                tx.revert = Some(
                    IEhrRegistry::EhrRegistryTiAlreadyUsed {
                        tiId: call.tiId,
                        storedRecordHash: *stored,
                    }
                    .abi_encode()
                    .into(),
                );
            } else {
                tx.status = true;
                tx.log = Some(
                    IEhrRegistry::RecordAnchored {
                        tiId: call.tiId,
                        templateId: call.templateId,
                        subject: call.subject,
                        recordHash: call.recordHash,
                        role: call.role,
                        author: Address::ZERO,
                        timestamp: call.timestamp,
                    }
                    .encode_log_data(),
                );
            }
        } else if let Ok(call) = IEhrRegistry::anchorBatchCall::abi_decode(&tx.submission.calldata)
        {
            if self.batches.contains_key(&call.root) {
                tx.revert = Some(
                    IEhrRegistry::EhrRegistryRootAlreadyAnchored { root: call.root }
                        .abi_encode()
                        .into(),
                );
            } else {
                tx.status = true;
                tx.log = Some(
                    IEhrRegistry::BatchAnchored {
                        root: call.root,
                        batchId: call.batchId,
                        leafCount: call.leafCount,
                    }
                    .encode_log_data(),
                );
            }
        } else {
            tx.revert = Some(Bytes::new());
        }
        if tx.status {
            self.apply(&tx.submission);
        }
        tx
    }

    fn apply(&mut self, submission: &Submission) {
        if let Ok(call) = IEhrRegistry::anchorRecordCall::abi_decode(&submission.calldata) {
            self.records.insert(call.tiId, call.recordHash);
        } else if let Ok(call) = IEhrRegistry::anchorBatchCall::abi_decode(&submission.calldata) {
            self.batches.insert(call.root, call.leafCount);
        }
    }

    fn transport_fault(&mut self) -> Option<TransportError> {
        if let Some((start, end)) = self.faults.outage
            && (start..end).contains(&self.now)
        {
            return Some(TransportError::Unavailable("simulated outage".into()));
        }
        self.chance(self.faults.transport_error)
            .then(|| TransportError::Unavailable("simulated timeout".into()))
    }

    fn send(&mut self, submission: &Submission) -> B256 {
        self.next_tx += 1;
        let hash = keccak256(self.next_tx.to_be_bytes());
        self.mempool.push((hash, submission.clone()));
        self.sent_by.insert(hash, self.sender);
        hash
    }

    /// The validator whose transaction anchored `ti_id` (or `root`) on the
    /// canonical chain.
    fn anchored_by(&self, key: B256) -> Option<usize> {
        self.blocks
            .iter()
            .flat_map(|b| &b.txs)
            .filter(|tx| tx.status)
            .find(|tx| {
                let log = tx.log.as_ref().unwrap();
                IEhrRegistry::RecordAnchored::decode_log_data(log).is_ok_and(|e| e.tiId == key)
                    || IEhrRegistry::BatchAnchored::decode_log_data(log)
                        .is_ok_and(|e| e.root == key)
            })
            .map(|tx| self.sent_by[&tx.hash])
    }

    fn receipt(&self, hash: &B256, submission: &Submission) -> Option<TxReceipt> {
        let number = *self.index.get(hash)?;
        let block = &self.blocks[number as usize];
        let mut log_index = 0;
        for tx in &block.txs {
            if tx.hash == *hash {
                let anchor_log_index = tx
                    .log
                    .as_ref()
                    .filter(|log| submission.is_anchoring_event(REGISTRY, log))
                    .map(|_| log_index);
                return Some(TxReceipt {
                    tx_hash: TxHash(*hash),
                    status: tx.status,
                    block_number: number,
                    block_hash: block.hash,
                    anchor_log_index,
                    gas_used: 50_000,
                    revert_data: tx.revert.clone(),
                });
            }
            log_index += u64::from(tx.log.is_some());
        }
        None
    }
}

/// The transport and the clock share the world.
#[derive(Clone)]
struct Sim(Rc<RefCell<World>>);

impl BatchReader for Sim {
    type Error = TransportError;
    fn anchored_batch(&mut self, root: &B256) -> Result<Option<AnchoredBatch>, TransportError> {
        let mut w = self.0.borrow_mut();
        w.advance();
        if let Some(e) = w.transport_fault() {
            return Err(e);
        }
        Ok(w.batches.get(root).map(|&leaf_count| AnchoredBatch {
            root: *root,
            leaf_count,
            batch_id: None,
        }))
    }
}

impl Transport for Sim {
    fn chain_id(&self) -> u64 {
        CHAIN_ID
    }
    fn registry(&self) -> Address {
        REGISTRY
    }
    fn submit(&mut self, submission: &Submission) -> Result<TxHash, TransportError> {
        let mut w = self.0.borrow_mut();
        w.advance();
        let faults = w.faults;
        if w.chance(faults.permanent_error) {
            return Err(TransportError::Rejected(
                "simulated: insufficient funds".into(),
            ));
        }
        if let Some(e) = w.transport_fault() {
            return Err(e);
        }
        let hash = w.send(submission);
        if w.chance(faults.duplicate) {
            // Rebroadcast by another node: same call, another transaction.
            w.send(submission);
        }
        if w.chance(faults.ambiguous_submit) {
            // Sent, but the answer was lost.
            return Err(TransportError::Unavailable("simulated: answer lost".into()));
        }
        Ok(TxHash(hash))
    }

    fn poll(
        &mut self,
        tx_hash: &TxHash,
        submission: &Submission,
    ) -> Result<SubmissionStatus, TransportError> {
        let mut w = self.0.borrow_mut();
        w.advance();
        if let Some(e) = w.transport_fault() {
            return Err(e);
        }
        if let Some(receipt) = w.receipt(&tx_hash.0, submission) {
            return Ok(SubmissionStatus::Included(receipt));
        }
        if w.mempool.iter().any(|(h, _)| *h == tx_hash.0) {
            Ok(SubmissionStatus::Pending)
        } else {
            Ok(SubmissionStatus::Dropped)
        }
    }

    fn head(&mut self) -> Result<u64, TransportError> {
        let mut w = self.0.borrow_mut();
        w.advance();
        if let Some(e) = w.transport_fault() {
            return Err(e);
        }
        Ok(w.blocks.len() as u64 - 1)
    }

    fn record_hash_of(&mut self, ti_id: &B256) -> Result<Option<B256>, TransportError> {
        let mut w = self.0.borrow_mut();
        w.advance();
        if let Some(e) = w.transport_fault() {
            return Err(e);
        }
        Ok(w.records.get(ti_id).copied())
    }
}

impl Clock for Sim {
    fn now(&mut self) -> UnixMillis {
        UnixMillis(self.0.borrow().now)
    }
    fn wait_until(&mut self, deadline: UnixMillis, _: &CancelToken) {
        let mut w = self.0.borrow_mut();
        w.now = w.now.max(deadline.as_millis());
    }
}

fn handshaker() -> Handshaker<InMemoryKeyStore> {
    Handshaker::new(
        TemplateRegistry::with_built_ins(None).unwrap(),
        test_generator("records", CHAIN_ID, REGISTRY),
        ValidatorConfig {
            confirmations: CONFIRMATIONS,
            backoff_initial_ms: 100,
            backoff_max_ms: 2_000,
            poll_interval_ms: 500,
            inclusion_timeout_ms: 15_000,
            max_resubmissions: 4,
            ..ValidatorConfig::default()
        },
    )
}

fn ti(hs: &Handshaker<InMemoryKeyStore>, seed: u64, n: u8, role: &str) -> InitialTransaction {
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(&seed.to_be_bytes());
    id[31] = n;
    InitialTransaction {
        ti_id: B256::from(id),
        template_id: hs.templates().latest("blood-pressure").unwrap().id(),
        author_id: format!("{role}-{n}"),
        author_role: Role::new(role).unwrap(),
        patient_id: Some("MRN-000123".into()),
        timestamp: START_MS / 1000 - 60,
        fields: serde_json::from_value(
            json!({"systolic": 100 + u32::from(n), "diastolic": 70, "position": "sitting"}),
        )
        .unwrap(),
    }
}

#[derive(Default, Debug)]
struct Totals {
    acks: u64,
    valid: u64,
    replays: u64,
    invalid_revert: u64,
    invalid_inconclusive: u64,
    /// Inconclusive invalid ACKs whose record the chain does hold (anchored
    /// by a transaction sent before the validator gave up). Allowed only when
    /// the chain could not be read while settling.
    inconclusive_but_anchored: u64,
    /// Validators that settled (read the registry) at least once.
    settled: u64,
    /// Registry reads made while settling.
    chain_reads: u64,
    /// Valid ACKs recovered by reading the registry (no receipt).
    recovered_valid: u64,
    /// Invalid ACKs settled as not anchored (the chain held nothing).
    not_anchored: u64,
    /// Of those, records another run of the same TC anchored afterwards.
    not_anchored_then_rerun: u64,
    rejected_by_template: u64,
    reorgs: u64,
    reorged_receipts: u64,
    drops: u64,
    transport_errors: u64,
    batched_valid: u64,
    /// Host crashes: a validator replaced by the one its outbox entry
    /// resumes.
    crashes: u64,
    /// Reorgs deeper than the confirmations, after the ACKs.
    deep_reorgs: u64,
    /// Anchors the watcher reported vanished, and final.
    vanished: u64,
    final_events: u64,
    /// Runs of TCs resent after their anchor vanished (each TC ended valid
    /// with the same record hash), and of those, runs that ended invalid
    /// but may be rerun (then run again).
    resent: u64,
    resent_again: u64,
    /// Broken after-ACK invariants (must stay 0).
    watch_violations: u64,
    /// Seeds whose node was down for minutes ([`LONG_OUTAGE_MS`] or more).
    long_outages: u64,
    /// ACKs of TIs that were in flight during such an outage.
    acked_after_long_outage: u64,
}

/// What the test expects of a validator's TIs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Anchored,
    Refused,
    TemplateViolation,
}

fn run_seed(hs: &Handshaker<InMemoryKeyStore>, seed: u64, totals: &mut Totals) {
    let world = Rc::new(RefCell::new(World::new(seed)));
    let mut sim = Sim(world.clone());
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let config = *hs.validator_config();
    let mut validators: Vec<(TransactionValidator, Expect)> = Vec::new();

    // Single records: doctors and nurses; one the chain refuses (the role is
    // revoked on chain); one the template refuses (a pathologist).
    for n in 0..4u8 {
        let role = if n % 2 == 0 { "doctor" } else { "nurse" };
        let ti = ti(hs, seed, n, role);
        validators.push((
            hs.validator_for(&ti, UnixMillis(START_MS), &mut rng)
                .unwrap(),
            Expect::Anchored,
        ));
    }
    let refused = ti(hs, seed, 10, "nurse");
    world.borrow_mut().refused.insert(refused.ti_id);
    validators.push((
        hs.validator_for(&refused, UnixMillis(START_MS), &mut rng)
            .unwrap(),
        Expect::Refused,
    ));
    let wrong_role = ti(hs, seed, 11, "pathologist");
    validators.push((
        hs.validator_for(&wrong_role, UnixMillis(START_MS), &mut rng)
            .unwrap(),
        Expect::TemplateViolation,
    ));
    // The same TC through two validators (a host that re-runs a TI after a
    // crash): both must end valid, the record anchored once.
    let twice = ti(hs, seed, 20, "doctor");
    let tc = generate(hs, &twice, &mut rng);
    validators.push((TransactionValidator::new(&tc, config), Expect::Anchored));
    validators.push((TransactionValidator::new(&tc, config), Expect::Anchored));
    // A batch of three records in one anchorBatch.
    let tcs: Vec<ChainTransaction> = (30..33u8)
        .map(|n| generate(hs, &ti(hs, seed, n, "nurse"), &mut rng))
        .collect();
    let mut builder = BatchBuilder::new();
    for tc in &tcs {
        builder.push(tc.record_hash).unwrap();
    }
    let mut batch_id = [0u8; 32];
    batch_id[..8].copy_from_slice(&seed.to_be_bytes());
    let batch = builder.build(B256::from(batch_id)).unwrap();
    validators.push((
        TransactionValidator::for_batch(&batch, &tcs, REGISTRY, CHAIN_ID, config).unwrap(),
        Expect::Anchored,
    ));

    // Odd seeds: one validator after the other through the blocking driver;
    // even seeds: all interleaved through the sans-I/O interface, each with
    // its write-ahead outbox, and the host crashing now and then: a crashed
    // validator is replaced by the one its last stored entry resumes.
    let mut acks: Vec<Vec<Ack>> = vec![Vec::new(); validators.len()];
    let mut outboxes: Vec<MemoryOutbox> = vec![MemoryOutbox::default(); validators.len()];
    if seed % 2 == 1 {
        for (i, (v, _)) in validators.iter_mut().enumerate() {
            world.borrow_mut().sender = i;
            let mut clock = sim.clone();
            acks[i] = match run_blocking(v, &mut sim, &mut clock, &Until::verdict()) {
                Run::Acked(acks) => acks,
                Run::Pending(stopped) => panic!("seed {seed}: stopped without a limit: {stopped}"),
            };
        }
    } else {
        let mut rounds = 0u32;
        let mut runs = vec![ValidatorRun::new(None, true); validators.len()];
        loop {
            let now = UnixMillis(world.borrow().now);
            let each = validators.iter_mut().zip(&mut outboxes).zip(&mut runs);
            for (i, (((v, _), outbox), run)) in each.enumerate() {
                let stored = v.outbox_key().and_then(|k| outbox.entries.get(&k));
                if let Some(entry) = stored.filter(|_| !v.is_finished() && rng.next_u32() % 64 == 0)
                {
                    *v = TransactionValidator::from_json(entry).unwrap();
                    *run = ValidatorRun::new(None, true);
                    totals.crashes += 1;
                }
                world.borrow_mut().sender = i;
                match run.perform_due(v, outbox, &mut sim, now, false).unwrap() {
                    RunStep::Acked { acks: verdict } => acks[i].extend(verdict),
                    RunStep::Wait { .. } => {}
                    other => panic!("seed {seed}: {other:?}"),
                }
            }
            if validators.iter().all(|(v, _)| v.is_finished()) {
                break;
            }
            let next = validators
                .iter()
                .filter_map(|(v, _)| v.poll_timeout())
                .min()
                .unwrap_or_else(|| panic!("seed {seed}: unfinished validator without a deadline"));
            world.borrow_mut().now = next.max(now.saturating_add_ms(1)).as_millis();
            rounds += 1;
            assert!(rounds < 100_000, "seed {seed}: no progress");
        }
    }

    {
        let w = world.borrow();
        check_acks(&w, &mut validators, &acks, seed, totals);
    }
    watch_after_the_acks(&world, &validators, &acks, seed, totals);
    totals.reorgs += world.borrow().reorgs;
}

/// Every validator's ACKs, as the first phase left them.
fn check_acks(
    w: &World,
    validators: &mut [(TransactionValidator, Expect)],
    acks: &[Vec<Ack>],
    seed: u64,
    totals: &mut Totals,
) {
    check_chain(w, seed);
    let long_outage = w
        .faults
        .outage
        .filter(|(start, end)| end - start >= LONG_OUTAGE_MS);
    totals.long_outages += u64::from(long_outage.is_some());
    for (i, ((v, expect), acks)) in validators.iter_mut().zip(acks).enumerate() {
        // Exactly one final ACK per TI, and nothing after it.
        let tis: Vec<B256> = v.ti_ids().collect();
        assert_eq!(acks.len(), tis.len(), "seed {seed}");
        for (ack, ti) in acks.iter().zip(&tis) {
            assert_eq!(ack.ti_id, *ti, "seed {seed}");
        }
        assert!(v.poll_ack().is_none(), "seed {seed}");
        assert!(
            v.poll_transmit(UnixMillis(u64::MAX)).is_none(),
            "seed {seed}"
        );
        let mut reads = 0;
        for entry in v.history() {
            match entry.event {
                AuditEvent::Reorged { .. } => totals.reorged_receipts += 1,
                AuditEvent::Dropped { .. } => totals.drops += 1,
                AuditEvent::TransportError { .. } => totals.transport_errors += 1,
                AuditEvent::ChainRead { .. } => reads += 1,
                _ => {}
            }
        }
        totals.chain_reads += reads;
        totals.settled += u64::from(reads > 0);
        check_outage(v, w.faults.outage, seed);
        if let Some((start, _)) = long_outage
            && v.history()
                .first()
                .is_some_and(|e| e.at.as_millis() < start)
            && v.history().last().is_some_and(|e| e.at.as_millis() > start)
        {
            totals.acked_after_long_outage += acks.len() as u64;
        }
        // An inconclusive ACK only when the last read of the chain failed.
        if acks
            .iter()
            .any(|a| a.reason().is_some_and(InvalidReason::is_inconclusive))
        {
            let before_finish = v.history().iter().rev().nth(1).map(|e| &e.event);
            assert!(
                matches!(before_finish, Some(AuditEvent::TransportError { .. })),
                "seed {seed}: inconclusive although the chain was readable: {:?}",
                v.history()
            );
        }
        let root = match v.submission().map(|s| s.anchoring) {
            Some(Anchoring::Batch { root, .. }) => Some(root),
            _ => None,
        };
        for ack in acks {
            check_ack(w, ack, *expect, (i, root), seed, totals);
        }
    }
}

/// After the ACKs: deep reorgs for a while, and the anchor watcher over
/// every valid ACK until final, resending what vanishes through an outbox.
/// Violations: a valid ACK whose record the chain does not hold once the
/// watcher said final, a resent TC that did not end valid with the same
/// record hash, an anchor never final; a record anchored twice fails
/// `check_chain`.
fn watch_after_the_acks(
    world: &Rc<RefCell<World>>,
    validators: &[(TransactionValidator, Expect)],
    acks: &[Vec<Ack>],
    seed: u64,
    totals: &mut Totals,
) {
    let mut watcher = AnchorWatcher::new(WatcherConfig {
        depth: WATCHER_DEPTH,
        poll_interval_ms: 1_000,
        backoff_initial_ms: 100,
        backoff_max_ms: 2_000,
        ..WatcherConfig::default()
    });
    let mut valid: HashMap<B256, B256> = HashMap::new();
    for ((v, _), acks) in validators.iter().zip(acks) {
        for ack in acks.iter().filter(|a| a.is_valid()) {
            watcher.watch(v, ack).unwrap();
            valid.insert(ack.ti_id, ack.record_hash.unwrap());
        }
    }
    let start = {
        let mut w = world.borrow_mut();
        // The node is healthy enough to resend: no refusals, no outage.
        w.faults.permanent_error = 0;
        w.faults.outage = None;
        w.faults.transport_error = w.faults.transport_error.min(100);
        w.deep_reorgs_until = w.now + DEEP_REORG_WINDOW_MS;
        w.now
    };
    let (mut sim, mut clock) = (Sim(world.clone()), Sim(world.clone()));
    let mut outbox = MemoryOutbox::default();
    let deadline = UnixMillis(start + 3_600_000);
    let report = watch_durably(
        &mut watcher,
        &mut outbox,
        &mut sim,
        &mut clock,
        &Until::deadline(deadline),
    )
    .unwrap();
    let w = world.borrow();
    totals.deep_reorgs += w.deep_reorgs;
    check_chain(&w, seed);
    let mut violations = u64::from(!watcher.is_empty());
    for event in &report.events {
        match event {
            WatchEvent::Vanished { .. } => totals.vanished += 1,
            WatchEvent::Final { .. } => totals.final_events += 1,
        }
    }
    // Every resent TC ends valid with the record hash of its first ACK; a
    // run may end invalid before that only when it may be run again.
    let mut resent_valid = HashSet::new();
    for ack in &report.resent {
        totals.resent += 1;
        violations += u64::from(valid.get(&ack.ti_id) != ack.record_hash.as_ref());
        match ack.reason() {
            None => {
                resent_valid.insert(ack.ti_id);
            }
            Some(reason) => {
                totals.resent_again += 1;
                violations += u64::from(!reason.may_rerun());
            }
        }
    }
    let vanished: HashSet<B256> = report
        .events
        .iter()
        .filter(|e| matches!(e, WatchEvent::Vanished { .. }))
        .flat_map(|e| e.records().iter().map(|r| r.ti_id))
        .collect();
    violations += vanished.difference(&resent_valid).count() as u64;
    // Every valid ACK is on the canonical chain: its record hash under its
    // TI id, or its batch's root.
    for ((v, _), acks) in validators.iter().zip(acks) {
        for ack in acks.iter().filter(|a| a.is_valid()) {
            let held = match v.submission().map(|s| s.anchoring) {
                Some(Anchoring::Batch {
                    root, leaf_count, ..
                }) => w.batches.get(&root) == Some(&leaf_count),
                _ => w.records.get(&ack.ti_id) == ack.record_hash.as_ref(),
            };
            violations += u64::from(!held);
        }
    }
    assert!(
        outbox.entries.is_empty(),
        "seed {seed}: a resent TI without its ACK"
    );
    totals.watch_violations += violations;
    assert_eq!(violations, 0, "seed {seed}: {report:?}");
}

/// Outages are not verdicts: no validator that sends anything reaches its
/// verdict while the node is down (every answer is a failure then).
fn check_outage(v: &TransactionValidator, outage: Option<(u64, u64)>, seed: u64) {
    let finished_at = v.history().iter().find_map(|e| match e.event {
        AuditEvent::Finished { .. } => Some(e.at.as_millis()),
        _ => None,
    });
    if let (Some(at), Some((start, end)), Some(_)) = (finished_at, outage, v.submission()) {
        assert!(
            !(start..end).contains(&at),
            "seed {seed}: a verdict at {at} during the outage {start}..{end}: {:?}",
            v.history()
        );
    }
}

fn generate(
    hs: &Handshaker<InMemoryKeyStore>,
    ti: &InitialTransaction,
    rng: &mut ChaCha8Rng,
) -> ChainTransaction {
    hs.generator()
        .generate(hs.templates(), ti, UnixMillis(START_MS), rng)
        .unwrap()
}

/// No TI id and no root anchored twice on the canonical chain.
fn check_chain(w: &World, seed: u64) {
    let mut tis = HashSet::new();
    let mut roots = HashSet::new();
    for block in &w.blocks {
        for tx in block.txs.iter().filter(|tx| tx.status) {
            let log = tx.log.as_ref().unwrap();
            if let Ok(e) = IEhrRegistry::RecordAnchored::decode_log_data(log) {
                assert!(tis.insert(e.tiId), "seed {seed}: TI anchored twice");
            } else if let Ok(e) = IEhrRegistry::BatchAnchored::decode_log_data(log) {
                assert!(roots.insert(e.root), "seed {seed}: root anchored twice");
            }
        }
    }
}

fn check_ack(
    w: &World,
    ack: &Ack,
    expect: Expect,
    (validator, root): (usize, Option<B256>),
    seed: u64,
    totals: &mut Totals,
) {
    totals.acks += 1;
    // Every sealed record travels with its ACK, and it is the record hashed.
    if let (Some(envelope), Some(hash)) = (&ack.envelope, ack.record_hash) {
        let envelope = Envelope::from_bytes(envelope.to_vec()).unwrap();
        assert_eq!(envelope.record_hash(), hash, "seed {seed}");
    }
    match &ack.status {
        AckStatus::Valid(anchor) if anchor.is_recovered() => {
            totals.valid += 1;
            totals.recovered_valid += 1;
            assert_eq!(expect, Expect::Anchored, "seed {seed}: {ack:?}");
            let hash = ack.record_hash.unwrap();
            assert!(ack.envelope.is_some(), "seed {seed}");
            assert_eq!(
                (anchor.tx_hash, anchor.block_number, anchor.log_index),
                (None, None, None)
            );
            let recovered = anchor.recovered.as_ref().unwrap();
            assert_eq!(recovered.registry, REGISTRY);
            assert!(
                recovered.confirmed_at_head + 1 >= recovered.seen_at_head + CONFIRMATIONS,
                "seed {seed}: not confirmed"
            );
            match &anchor.batch {
                Some(proof) => {
                    totals.batched_valid += 1;
                    assert_eq!(recovered.key, proof.root, "seed {seed}");
                    assert!(w.batches.contains_key(&proof.root), "seed {seed}");
                }
                None => {
                    assert_eq!(recovered.key, ack.ti_id, "seed {seed}");
                    assert_eq!(w.records.get(&ack.ti_id), Some(&hash), "seed {seed}");
                }
            }
        }
        AckStatus::Valid(anchor) => {
            totals.valid += 1;
            assert_eq!(expect, Expect::Anchored, "seed {seed}: {ack:?}");
            let hash = ack.record_hash.unwrap();
            assert!(ack.envelope.is_some(), "seed {seed}");
            let block = &w.blocks[anchor.block_number.unwrap() as usize];
            assert_eq!(
                Some(block.hash),
                anchor.block_hash,
                "seed {seed}: stale block"
            );
            let tx = block
                .txs
                .iter()
                .find(|tx| Some(TxHash(tx.hash)) == anchor.tx_hash)
                .unwrap_or_else(|| panic!("seed {seed}: tx not in its block"));
            if anchor.replay {
                totals.replays += 1;
                assert!(!tx.status && anchor.log_index.is_none(), "seed {seed}");
            } else {
                assert!(tx.status && anchor.log_index.is_some(), "seed {seed}");
            }
            match &anchor.batch {
                Some(proof) => {
                    totals.batched_valid += 1;
                    assert_eq!(proof.record_hash, hash, "seed {seed}");
                    let leaf_count = *w.batches.get(&proof.root).unwrap();
                    proof
                        .verify_anchored(&AnchoredBatch {
                            root: proof.root,
                            leaf_count,
                            batch_id: None,
                        })
                        .unwrap();
                }
                None => assert_eq!(w.records.get(&ack.ti_id), Some(&hash), "seed {seed}"),
            }
        }
        AckStatus::Invalid { reason, .. } => match reason {
            InvalidReason::TemplateViolations { violations } => {
                totals.rejected_by_template += 1;
                assert_eq!(expect, Expect::TemplateViolation, "seed {seed}");
                assert!(!violations.is_empty());
                assert!(ack.envelope.is_none() && ack.record_hash.is_none());
            }
            reason if reason.is_inconclusive() => {
                totals.invalid_inconclusive += 1;
                assert!(ack.envelope.is_some(), "seed {seed}: no envelope to audit");
                // Possibly anchored by an earlier transaction, never with another hash.
                if let Some(stored) = w.records.get(&ack.ti_id) {
                    assert_eq!(Some(*stored), ack.record_hash, "seed {seed}");
                    totals.inconclusive_but_anchored += 1;
                }
            }
            InvalidReason::NotAnchored { cause, .. } => {
                totals.not_anchored += 1;
                assert!(cause.is_inconclusive(), "seed {seed}: {cause:?}");
                assert!(reason.may_rerun());
                assert!(ack.envelope.is_some(), "seed {seed}: no envelope to audit");
                // Nothing this validator sent anchors it. Another run of the
                // same TC may have, later (the idempotent re-run the ACK
                // allows): then that run's own ACK is valid.
                let key = root.unwrap_or(ack.ti_id);
                match w.anchored_by(key) {
                    None => {}
                    Some(by) => {
                        assert_ne!(
                            by, validator,
                            "seed {seed}: not anchored, but the chain holds it: {ack:?}"
                        );
                        assert_eq!(
                            w.records.get(&ack.ti_id),
                            ack.record_hash.as_ref(),
                            "seed {seed}"
                        );
                        totals.not_anchored_then_rerun += 1;
                    }
                }
            }
            InvalidReason::ContractRevert { revert } => {
                totals.invalid_revert += 1;
                assert_eq!(expect, Expect::Refused, "seed {seed}: {ack:?}");
                assert_eq!(revert.error.as_deref(), Some("EhrRegistryRoleNotAllowed"));
                assert!(ack.envelope.is_some(), "seed {seed}: no envelope to audit");
                assert_eq!(w.records.get(&ack.ti_id), None, "seed {seed}");
            }
            other => panic!("seed {seed}: unexpected invalid ACK {other:?}"),
        },
    }
}

#[test]
fn thousands_of_seeds_keep_the_invariants() {
    let seeds: u64 = std::env::var("EHRCHAIN_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    let hs = handshaker();
    let mut totals = Totals::default();
    let started = Instant::now();
    for seed in 0..seeds {
        run_seed(&hs, seed, &mut totals);
    }
    eprintln!(
        "fault_sim: {seeds} seeds in {:.1} s: {totals:?}",
        started.elapsed().as_secs_f64()
    );
    fault_report::write_row("validator-under-faults", "sim", seeds, 0);
    fault_report::write_row(
        "deep-reorgs-after-the-ack",
        "sim",
        seeds,
        totals.watch_violations,
    );
    // Every fault was exercised.
    assert!(totals.valid > 0 && totals.replays > 0 && totals.batched_valid > 0);
    assert!(totals.invalid_revert > 0 && totals.rejected_by_template > 0);
    if seeds >= 100 {
        assert!(totals.reorgs > 0 && totals.reorged_receipts > 0);
        assert!(totals.drops > 0 && totals.transport_errors > 0);
        assert!(totals.settled > 0 && totals.recovered_valid > 0 && totals.not_anchored > 0);
        // Outages no longer end TIs inconclusive (they are waited out); only
        // a permanent error while the chain cannot be read could.
        assert!(totals.crashes > 0);
        assert!(totals.deep_reorgs > 0 && totals.vanished > 0 && totals.resent > 0);
        assert!(totals.long_outages > 0 && totals.acked_after_long_outage > 0);
    }
}
