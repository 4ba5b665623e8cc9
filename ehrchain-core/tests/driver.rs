//! The blocking driver and the host's limits: an outage is waited out, never
//! turned into a verdict; the host's deadline or cancel ends a run without an
//! ACK, leaving the TI pending with its outbox entry, and resuming it later
//! ends valid with the same record.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy_primitives::{Address, B256};
use common::test_keys::test_generator;
use ehrchain_core::outbox::{MemoryOutbox, Outbox, OutboxError};
use ehrchain_core::transport::Anchoring;
use ehrchain_core::validator::{Outage, ValidatorState};
use ehrchain_core::watcher::{AnchorWatcher, WatchEvent, WatcherConfig};
use ehrchain_core::{
    AnchoredBatch, BatchReader, Handshaker, InMemoryKeyStore, InitialTransaction, Role, Run,
    StopCause, Submission, SubmissionStatus, TemplateRegistry, TransactionValidator, Transport,
    TransportError, TxHash, TxReceipt, UnixMillis, Until, ValidatorConfig, VirtualClock,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const START_MS: u64 = 1_767_225_600_000;
const TEN_MINUTES: u64 = 600_000;

/// A chain whose node refuses connections until `down_until` (on the shared
/// clock), then mines every transaction at once, one block a second.
struct Chain {
    clock: VirtualClock,
    down_until: u64,
    anchored: Option<(B256, u64)>,
    sent: u32,
}

impl Chain {
    /// A chain that has anchored nothing, down until `down_until` on `clock`.
    fn down_until(clock: &VirtualClock, down_until: u64) -> Self {
        Self {
            clock: clock.clone(),
            down_until,
            anchored: None,
            sent: 0,
        }
    }

    fn reach(&self) -> Result<u64, TransportError> {
        let now = self.clock.time().as_millis();
        if now < self.down_until {
            Err(TransportError::Unavailable("connection refused".into()))
        } else {
            Ok(now / 1_000)
        }
    }
}

impl BatchReader for Chain {
    type Error = TransportError;
    fn anchored_batch(&mut self, _: &B256) -> Result<Option<AnchoredBatch>, TransportError> {
        self.reach().map(|_| None)
    }
}

impl Transport for Chain {
    fn chain_id(&self) -> u64 {
        1337
    }
    fn registry(&self) -> Address {
        Address::repeat_byte(0xee)
    }
    fn submit(&mut self, submission: &Submission) -> Result<TxHash, TransportError> {
        let block = self.reach()?;
        let Anchoring::Record { record_hash, .. } = submission.anchoring else {
            panic!("a batch");
        };
        self.sent += 1;
        self.anchored.get_or_insert((record_hash, block));
        Ok(TxHash(B256::with_last_byte(1)))
    }
    fn poll(&mut self, tx: &TxHash, _: &Submission) -> Result<SubmissionStatus, TransportError> {
        self.reach()?;
        // Nothing anchored: the transaction was reorged away.
        let Some((_, block)) = self.anchored else {
            return Ok(SubmissionStatus::Dropped);
        };
        Ok(SubmissionStatus::Included(TxReceipt {
            tx_hash: *tx,
            status: true,
            block_number: block,
            block_hash: B256::from(alloy_primitives::U256::from(block)),
            anchor_log_index: Some(0),
            gas_used: 60_000,
            revert_data: None,
        }))
    }
    fn head(&mut self) -> Result<u64, TransportError> {
        self.reach()
    }
    fn record_hash_of(&mut self, _: &B256) -> Result<Option<B256>, TransportError> {
        self.reach().map(|_| self.anchored.map(|(hash, _)| hash))
    }
}

/// A clock at `START_MS` and a chain that is up from then on.
fn chain_up() -> (VirtualClock, Chain) {
    let clock = VirtualClock::starting_at(UnixMillis(START_MS));
    let chain = Chain::down_until(&clock, 0);
    (clock, chain)
}

fn handshaker(config: ValidatorConfig) -> Handshaker<InMemoryKeyStore> {
    Handshaker::new(
        TemplateRegistry::with_built_ins(None).unwrap(),
        test_generator("records", 1337, Address::repeat_byte(0xee)),
        config,
    )
}

fn ti(hs: &Handshaker<InMemoryKeyStore>) -> InitialTransaction {
    InitialTransaction {
        ti_id: B256::repeat_byte(7),
        template_id: hs.templates().latest("blood-pressure").unwrap().id(),
        author_id: "dr-1".into(),
        author_role: Role::new(Role::DOCTOR).unwrap(),
        patient_id: Some("MRN-1".into()),
        timestamp: START_MS / 1000 - 60,
        fields: serde_json::from_str(r#"{"systolic": 120, "diastolic": 80}"#).unwrap(),
    }
}

/// `ti`'s validator, made at `clock`'s time.
fn validator(
    hs: &Handshaker<InMemoryKeyStore>,
    ti: &InitialTransaction,
    clock: &VirtualClock,
) -> TransactionValidator {
    hs.validator_for(ti, clock.time(), &mut ChaCha20Rng::seed_from_u64(1))
        .unwrap()
}

/// [`ehrchain_core::run_durably`] until the verdict, on `clock`.
fn run_to_verdict<O: Outbox>(
    v: &mut TransactionValidator,
    outbox: &mut O,
    chain: &mut Chain,
    clock: &VirtualClock,
) -> Result<Run<Vec<ehrchain_core::Ack>>, OutboxError> {
    ehrchain_core::run_durably(v, outbox, chain, &mut clock.clone(), &Until::verdict())
}

fn config() -> ValidatorConfig {
    ValidatorConfig {
        confirmations: 2,
        ..ValidatorConfig::default()
    }
}

#[test]
fn a_deadline_leaves_the_ti_pending_and_resume_ends_it_valid_after_ten_minutes_down() {
    let hs = handshaker(config());
    let clock = VirtualClock::starting_at(UnixMillis(START_MS));
    let mut chain = Chain::down_until(&clock, START_MS + TEN_MINUTES);
    let mut outbox = MemoryOutbox::default();
    let ti = ti(&hs);
    let deadline = UnixMillis(START_MS + 60_000);
    let run = hs
        .submit_durably(
            &ti,
            &mut outbox,
            &mut chain,
            &mut clock.clone(),
            &mut ChaCha20Rng::seed_from_u64(1),
            &Until::deadline(deadline),
        )
        .unwrap();
    // The deadline, not the outage, ended the call: no ACK, the TI pending
    // with why it waits. Backoff 0.5, 1, 2, 4, 8, 16, 30 s: the 7th attempt
    // is at 31.5 s, the 8th would be at 61.5 s.
    let Run::Pending(stopped) = run else {
        panic!("an ACK during the outage: {run:?}");
    };
    assert_eq!((stopped.cause, stopped.at), (StopCause::Deadline, deadline));
    let outage = Outage {
        since: UnixMillis(START_MS),
        attempts: 7,
        retry_at: UnixMillis(START_MS + 61_500),
        last_error: TransportError::Unavailable("connection refused".into()),
    };
    assert_eq!(
        *stopped.state,
        ValidatorState::Outage {
            outage: outage.clone(),
            during: Box::new(ValidatorState::Generated),
        }
    );
    assert_eq!(
        ehrchain_core::Error::from(stopped).code(),
        ehrchain_core::ErrorCode::StillPending
    );
    // The entry is in the outbox, as it stood.
    assert_eq!(outbox.keys().unwrap(), vec![ti.ti_id]);
    let entry = outbox.load(&ti.ti_id).unwrap().unwrap();
    let stored = TransactionValidator::from_json(&entry).unwrap();
    assert_eq!(stored.outage(), Some(&outage));
    let record_hash = stored.submission().map(|s| s.anchoring);

    // The host resumes with no limit: the outage is waited out (ten minutes
    // in all), then the same TC is sent once and confirmed.
    let resumed = hs
        .resume(
            &mut outbox,
            &mut chain,
            &mut clock.clone(),
            &Until::verdict(),
        )
        .unwrap();
    assert_eq!(resumed.stopped, None);
    let [ack] = resumed.acks.as_slice() else {
        panic!("{:?}", resumed.acks);
    };
    assert!(ack.is_valid(), "{ack:?}");
    assert_eq!(
        Some(Anchoring::Record {
            ti_id: ack.ti_id,
            record_hash: ack.record_hash.unwrap()
        }),
        record_hash
    );
    assert_eq!(chain.sent, 1);
    assert!(clock.time().as_millis() >= START_MS + TEN_MINUTES);
    assert!(outbox.keys().unwrap().is_empty());
}

#[test]
fn a_deadline_already_passed_sends_nothing() {
    let hs = handshaker(config());
    let (clock, mut chain) = chain_up();
    let run = hs
        .submit(
            &ti(&hs),
            &mut chain,
            &mut clock.clone(),
            &mut ChaCha20Rng::seed_from_u64(1),
            &Until::deadline(UnixMillis(START_MS)),
        )
        .unwrap();
    let Run::Pending(stopped) = run else {
        panic!("{run:?}");
    };
    assert_eq!(*stopped.state, ValidatorState::Generated);
    assert_eq!(chain.sent, 0);
}

#[cfg(feature = "std-clock")]
#[test]
fn a_cancel_from_another_thread_ends_a_run_blocked_in_an_outage_promptly() {
    use std::time::{Duration, Instant};
    let hs = handshaker(ValidatorConfig {
        // The first wait after a failure is 10 s: only the cancel ends it.
        backoff_initial_ms: 10_000,
        ..config()
    });
    let mut chain = Chain::down_until(&VirtualClock::default(), u64::MAX);
    let cancel = ehrchain_core::CancelToken::new();
    let handle = cancel.clone();
    // Taken before the canceller starts its 200 ms, so `took` cannot be less.
    let started = Instant::now();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        handle.cancel();
    });
    let run = hs.submit_durably(
        &ti(&hs),
        &mut MemoryOutbox::default(),
        &mut chain,
        &mut ehrchain_core::SystemClock,
        &mut ChaCha20Rng::seed_from_u64(1),
        &Until::verdict().cancelled_by(&cancel),
    );
    let took = started.elapsed();
    assert!(canceller.join().is_ok());
    let Ok(Run::Pending(stopped)) = run else {
        panic!("{run:?}");
    };
    assert_eq!(stopped.cause, StopCause::Cancelled);
    assert!(matches!(*stopped.state, ValidatorState::Outage { .. }));
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(2),
        "took {took:?}"
    );
}

/// A host's event loop hands out an action, then gives the validator to the
/// blocking driver without its answer (it lost it): the driver asks again,
/// so the TI still ends with its one ACK and its entry is finished with it,
/// never with none; a submission that may have gone out is settled first,
/// so the TC is anchored once.
#[test]
fn a_validator_whose_action_was_never_answered_is_run_to_its_ack() {
    let hs = handshaker(config());
    for handed_out in ["persist", "submit"] {
        let (clock, mut chain) = chain_up();
        let mut outbox = MemoryOutbox::default();
        let ti = ti(&hs);
        let now = clock.time();
        let mut v = validator(&hs, &ti, &clock);
        assert!(matches!(
            v.poll_transmit(now),
            Some(ehrchain_core::Transmit::Persist)
        ));
        if handed_out == "submit" {
            let (key, entry) = v.outbox_entry().unwrap();
            outbox.save(&key, &entry).unwrap();
            v.handle_persisted(now, Ok(())).unwrap();
            let Some(ehrchain_core::Transmit::Submit { submission }) = v.poll_transmit(now) else {
                panic!("no submission");
            };
            // Sent, but the answer (the transaction hash) never handed in.
            chain.submit(&submission).unwrap();
        }
        let run = run_to_verdict(&mut v, &mut outbox, &mut chain, &clock).unwrap();
        let Run::Acked(acks) = run else {
            panic!("{handed_out}: {run:?}");
        };
        let [ack] = acks.as_slice() else {
            panic!("{handed_out}: {acks:?}");
        };
        assert!(ack.is_valid(), "{handed_out}: {ack:?}");
        assert_eq!(outbox.acks, acks, "{handed_out}");
        assert!(outbox.keys().unwrap().is_empty(), "{handed_out}");
        assert_eq!(chain.sent, 1, "{handed_out}: anchored once");
    }
}

/// An outbox over memory whose `save` fails while `full` (the disk is full)
/// and whose `finish` fails while `locked` (the database is locked).
struct Flaky {
    inner: MemoryOutbox,
    full: bool,
    locked: bool,
}

impl Flaky {
    fn new() -> Self {
        Self {
            inner: MemoryOutbox::default(),
            full: false,
            locked: false,
        }
    }
}

impl Outbox for Flaky {
    fn save(&mut self, key: &B256, entry: &str) -> Result<(), OutboxError> {
        if self.full {
            return Err(OutboxError("the disk is full".into()));
        }
        self.inner.save(key, entry)
    }
    fn load(&mut self, key: &B256) -> Result<Option<String>, OutboxError> {
        self.inner.load(key)
    }
    fn keys(&mut self) -> Result<Vec<B256>, OutboxError> {
        self.inner.keys()
    }
    fn finish(
        &mut self,
        key: Option<&B256>,
        acks: &[ehrchain_core::Ack],
    ) -> Result<(), OutboxError> {
        if self.locked {
            return Err(OutboxError("the database is locked".into()));
        }
        self.inner.finish(key, acks)
    }
}

/// A reorg takes a valid ACK's anchor away while the outbox cannot store:
/// the run fails, and the vanished anchor stays in the watcher instead of
/// being dropped with nothing stored; the next run resends the same TC.
#[test]
fn a_vanished_anchor_the_outbox_could_not_take_stays_in_the_watcher() {
    let hs = handshaker(config());
    let (clock, mut chain) = chain_up();
    let mut outbox = Flaky::new();
    let ti = ti(&hs);
    let mut v = validator(&hs, &ti, &clock);
    let run = run_to_verdict(&mut v, &mut outbox, &mut chain, &clock);
    let Ok(Run::Acked(acks)) = run else {
        panic!("{run:?}");
    };
    let mut watcher = AnchorWatcher::new(WatcherConfig {
        depth: 3,
        ..WatcherConfig::default()
    });
    watcher.watch(&v, &acks[0]).unwrap();
    chain.anchored = None; // the reorg
    outbox.full = true;
    let until = Until::deadline(UnixMillis(START_MS + 60_000));
    let watch = |watcher: &mut AnchorWatcher, outbox: &mut Flaky, chain: &mut Chain| {
        ehrchain_core::watch_durably(watcher, outbox, chain, &mut clock.clone(), &until)
    };
    let failed = watch(&mut watcher, &mut outbox, &mut chain);
    let Err(stopped) = failed else {
        panic!("{failed:?}");
    };
    assert_eq!(stopped.error, OutboxError("the disk is full".into()));
    assert_eq!(stopped.report, ehrchain_core::WatchReport::default());
    assert!(
        matches!(watcher.peek_event(), Some(WatchEvent::Vanished { key, .. }) if *key == ti.ti_id),
        "the vanished anchor was dropped: {:?}",
        watcher.peek_event()
    );
    assert_eq!(chain.sent, 1);

    outbox.full = false;
    let report = watch(&mut watcher, &mut outbox, &mut chain).unwrap();
    let kinds: Vec<&str> = report
        .events
        .iter()
        .map(|e| match e {
            WatchEvent::Vanished { .. } => "vanished",
            WatchEvent::Final { .. } => "final",
        })
        .collect();
    assert_eq!(kinds, ["vanished", "final"]);
    assert_eq!(watcher.poll_event(), None, "each event reported once");
    let [resent] = report.resent.as_slice() else {
        panic!("{:?}", report.resent);
    };
    assert!(resent.is_valid(), "{resent:?}");
    assert_eq!(resent.record_hash, acks[0].record_hash, "the same TC");
    assert_eq!(chain.sent, 2);
    assert!(watcher.is_empty() && outbox.inner.keys().unwrap().is_empty());
}

/// The outbox fails at the verdict (`finish`): the ACK stays in the
/// validator, and the next run stores it; the entry is never removed
/// without it.
#[test]
fn an_ack_the_outbox_could_not_store_is_stored_by_the_next_run() {
    let hs = handshaker(config());
    let (clock, mut chain) = chain_up();
    let mut outbox = Flaky::new();
    outbox.locked = true;
    let ti = ti(&hs);
    let mut v = validator(&hs, &ti, &clock);
    let mut run = |outbox: &mut Flaky| run_to_verdict(&mut v, outbox, &mut chain, &clock);
    assert!(run(&mut outbox).is_err());
    assert_eq!(
        outbox.inner.keys().unwrap(),
        vec![ti.ti_id],
        "the entry stays"
    );
    outbox.locked = false;
    let Ok(Run::Acked(acks)) = run(&mut outbox) else {
        panic!("no ACK the second time");
    };
    assert_eq!(acks.len(), 1);
    assert!(acks[0].is_valid());
    assert_eq!(outbox.inner.acks, acks);
    assert!(outbox.inner.keys().unwrap().is_empty());
    // Handed out: a third run has none, and finishes nothing.
    let Ok(Run::Acked(none)) = run(&mut outbox) else {
        panic!("a finished validator");
    };
    assert!(none.is_empty() && outbox.inner.acks.len() == 1);
}
