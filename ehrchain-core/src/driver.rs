//! The blocking drivers: run a [`TransactionValidator`] to its verdict over a
//! blocking [`Transport`], keeping its entry in the host's [`Outbox`], and an
//! [`AnchorWatcher`] over the valid ACKs until their anchors are final. Async
//! hosts drive both themselves.

use alloy_primitives::B256;

use crate::batch::AnchoredBatch;
use crate::outbox::{NoOutbox, Outbox, OutboxError};
use crate::time::{Clock, UnixMillis};
use crate::transport::{SubmissionStatus, Transport, TransportError};
use crate::validator::{Ack, TransactionValidator, Transmit, ValidatorError};
use crate::watcher::{AnchorWatcher, WatchEvent, WatcherError};

/// Runs `validator` until its verdict without an outbox ([`NoOutbox`]: a
/// crash loses the TIs in flight); returns the ACKs (one per TI). See
/// [`run_durably`].
pub fn run_blocking<T: Transport + ?Sized, C: Clock + ?Sized>(
    validator: &mut TransactionValidator,
    transport: &mut T,
    clock: &mut C,
) -> Vec<Ack> {
    // NoOutbox never fails.
    run_durably(validator, &mut NoOutbox, transport, clock).unwrap_or_default()
}

/// Runs `validator` until its verdict: stores its entry in `outbox` before
/// every submission, hands each action to `transport`, feeds the result
/// back, waits on `clock` in between; at the verdict stores the ACKs and
/// removes the entry ([`Outbox::finish`]) and returns the ACKs (one per TI).
/// A validator that is already finished returns its remaining ACKs.
///
/// # Errors
/// [`OutboxError`] when the outbox fails: nothing more is sent; the
/// validator (and its stored entry) can be run again once the host's
/// storage works.
pub fn run_durably<O, T, C>(
    validator: &mut TransactionValidator,
    outbox: &mut O,
    transport: &mut T,
    clock: &mut C,
) -> Result<Vec<Ack>, OutboxError>
where
    O: Outbox + ?Sized,
    T: Transport + ?Sized,
    C: Clock + ?Sized,
{
    loop {
        let now = clock.now();
        validator.handle_timeout(now);
        while let Some(transmit) = validator.poll_transmit(now) {
            step(validator, outbox, transport, now, transmit)?;
        }
        if validator.is_finished() {
            break;
        }
        match validator.poll_timeout() {
            Some(deadline) => clock.wait_until(deadline),
            // Not reachable: an unfinished validator always has a deadline
            // once its action is answered. Stop rather than spin.
            None => break,
        }
    }
    let acks: Vec<Ack> = std::iter::from_fn(|| validator.poll_ack()).collect();
    outbox.finish(validator.outbox_key().as_ref(), &acks)?;
    Ok(acks)
}

/// Performs one action and hands its result to the validator.
///
/// # Errors
/// [`OutboxError`] when `outbox` could not store the validator's entry (the
/// validator asks again later; nothing was sent).
pub fn step<O: Outbox + ?Sized, T: Transport + ?Sized>(
    validator: &mut TransactionValidator,
    outbox: &mut O,
    transport: &mut T,
    now: UnixMillis,
    transmit: Transmit,
) -> Result<(), OutboxError> {
    // Each result answers the action just handed out, so the validator
    // accepts it; an error here would be a bug in the validator.
    let _ = match transmit {
        Transmit::Persist => {
            let saved = match validator.outbox_key() {
                Some(key) => outbox.save(&key, &validator.to_json()),
                None => Ok(()),
            };
            let _ = validator.handle_persisted(now, saved.clone());
            return saved;
        }
        Transmit::Submit { submission } => {
            validator.handle_submitted(now, transport.submit(&submission))
        }
        read => perform_read(validator, transport, now, read),
    };
    Ok(())
}

/// A state machine that reads the chain through the validator's read
/// actions: the validator and the watcher take the same results.
trait TakesReads {
    type Error;
    fn handle_head(
        &mut self,
        now: UnixMillis,
        r: Result<u64, TransportError>,
    ) -> Result<(), Self::Error>;
    fn handle_receipt(
        &mut self,
        now: UnixMillis,
        r: Result<SubmissionStatus, TransportError>,
    ) -> Result<(), Self::Error>;
    fn handle_record(
        &mut self,
        now: UnixMillis,
        r: Result<Option<B256>, TransportError>,
    ) -> Result<(), Self::Error>;
    fn handle_batch(
        &mut self,
        now: UnixMillis,
        r: Result<Option<AnchoredBatch>, TransportError>,
    ) -> Result<(), Self::Error>;
}

macro_rules! takes_reads {
    ($machine:ty, $error:ty) => {
        impl TakesReads for $machine {
            type Error = $error;
            fn handle_head(
                &mut self,
                now: UnixMillis,
                r: Result<u64, TransportError>,
            ) -> Result<(), $error> {
                <$machine>::handle_head(self, now, r)
            }
            fn handle_receipt(
                &mut self,
                now: UnixMillis,
                r: Result<SubmissionStatus, TransportError>,
            ) -> Result<(), $error> {
                <$machine>::handle_receipt(self, now, r)
            }
            fn handle_record(
                &mut self,
                now: UnixMillis,
                r: Result<Option<B256>, TransportError>,
            ) -> Result<(), $error> {
                <$machine>::handle_record(self, now, r)
            }
            fn handle_batch(
                &mut self,
                now: UnixMillis,
                r: Result<Option<AnchoredBatch>, TransportError>,
            ) -> Result<(), $error> {
                <$machine>::handle_batch(self, now, r)
            }
        }
    };
}

takes_reads!(TransactionValidator, ValidatorError);
takes_reads!(AnchorWatcher, WatcherError);

/// Performs a read action and hands its result to `machine`; `Ok` for
/// actions that are no reads (nothing is done).
fn perform_read<M: TakesReads, T: Transport + ?Sized>(
    machine: &mut M,
    transport: &mut T,
    now: UnixMillis,
    transmit: Transmit,
) -> Result<(), M::Error> {
    match transmit {
        Transmit::Poll {
            tx_hash,
            submission,
        } => machine.handle_receipt(now, transport.poll(&tx_hash, &submission)),
        Transmit::ReadHead => machine.handle_head(now, transport.head()),
        Transmit::ReadRecord { ti_id } => {
            machine.handle_record(now, transport.record_hash_of(&ti_id))
        }
        Transmit::ReadBatch { root } => machine.handle_batch(now, transport.anchored_batch(&root)),
        Transmit::Persist | Transmit::Submit { .. } => Ok(()),
    }
}

/// Runs `watcher` until nothing is left to watch or the host's `deadline`
/// passes (`None`: no deadline); returns its events (final, vanished),
/// oldest first. A vanished anchor is the host's to resend (the event's
/// `entry`); [`watch_durably`] does it.
pub fn watch_blocking<T: Transport + ?Sized, C: Clock + ?Sized>(
    watcher: &mut AnchorWatcher,
    transport: &mut T,
    clock: &mut C,
    deadline: Option<UnixMillis>,
) -> Vec<WatchEvent> {
    watch_until(watcher, transport, clock, deadline);
    std::iter::from_fn(|| watcher.poll_event()).collect()
}

/// Runs `watcher` like [`watch_blocking`], leaving the events in the
/// watcher ([`AnchorWatcher::poll_event`]).
pub fn watch_until<T: Transport + ?Sized, C: Clock + ?Sized>(
    watcher: &mut AnchorWatcher,
    transport: &mut T,
    clock: &mut C,
    deadline: Option<UnixMillis>,
) {
    while watch_round(watcher, transport, clock, deadline) {}
}

/// What [`watch_durably`] saw: the watcher's events and the ACKs of the
/// TCs it resent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchReport {
    /// The watcher's events, oldest first.
    pub events: Vec<WatchEvent>,
    /// The ACKs of the resent TCs (stored by the outbox as well), oldest
    /// first.
    pub resent: Vec<Ack>,
}

/// Runs `watcher` like [`watch_blocking`]; when an anchor vanishes, moves
/// its TI back to pending (stores the event's entry in `outbox`), resends
/// the same TC ([`run_durably`]: the same record hash, a new transaction;
/// again while its ACK is invalid but may be rerun) and watches the new
/// valid ACK, until every anchor is final or the `deadline` passes.
///
/// # Errors
/// [`OutboxError`] when the outbox fails; the vanished TI's entry (if it was
/// stored) is resumed later by [`Handshaker::resume`](crate::Handshaker::resume).
pub fn watch_durably<O, T, C>(
    watcher: &mut AnchorWatcher,
    outbox: &mut O,
    transport: &mut T,
    clock: &mut C,
    deadline: Option<UnixMillis>,
) -> Result<WatchReport, OutboxError>
where
    O: Outbox + ?Sized,
    T: Transport + ?Sized,
    C: Clock + ?Sized,
{
    let mut watched = WatchReport::default();
    loop {
        watch_round(watcher, transport, clock, deadline);
        while let Some(event) = watcher.poll_event() {
            if let WatchEvent::Vanished { key, entry, .. } = &event {
                resend(watcher, outbox, transport, clock, (key, entry), deadline)
                    .map(|acks| watched.resent.extend(acks))?;
            }
            watched.events.push(event);
        }
        if watcher.is_empty() || deadline.is_some_and(|d| clock.now() >= d) {
            return Ok(watched);
        }
    }
}

/// Moves a vanished anchor's TI back to pending (its `entry` stored under
/// `key`) and runs the same TC to its ACK; runs it again while the ACK is
/// invalid but [`may_rerun`](crate::InvalidReason::may_rerun) (the chain
/// dropped it again, say) and the deadline is ahead; watches a valid ACK.
/// Returns the ACKs.
fn resend<O, T, C>(
    watcher: &mut AnchorWatcher,
    outbox: &mut O,
    transport: &mut T,
    clock: &mut C,
    (key, entry): (&B256, &str),
    deadline: Option<UnixMillis>,
) -> Result<Vec<Ack>, OutboxError>
where
    O: Outbox + ?Sized,
    T: Transport + ?Sized,
    C: Clock + ?Sized,
{
    let mut all = Vec::new();
    loop {
        outbox.save(key, entry)?;
        let mut validator =
            TransactionValidator::from_json(entry).map_err(|e| OutboxError(e.to_string()))?;
        let acks = run_durably(&mut validator, outbox, transport, clock)?;
        let rerun = acks
            .iter()
            .all(|a| a.reason().is_some_and(crate::InvalidReason::may_rerun));
        if let Some(ack) = acks.iter().find(|a| a.is_valid()) {
            // A valid ACK of this validator: accepted.
            let _ = watcher.watch(&validator, ack);
        }
        all.extend(acks);
        if !rerun || deadline.is_some_and(|d| clock.now() >= d) {
            return Ok(all);
        }
    }
}

/// Performs the watcher's reads due now, then waits for the next ones;
/// whether to go on (something is watched and the deadline is ahead).
fn watch_round<T: Transport + ?Sized, C: Clock + ?Sized>(
    watcher: &mut AnchorWatcher,
    transport: &mut T,
    clock: &mut C,
    deadline: Option<UnixMillis>,
) -> bool {
    let now = clock.now();
    while let Some(transmit) = watcher.poll_transmit(now) {
        // Each result answers the read just handed out: accepted.
        let _ = perform_read(watcher, transport, now, transmit);
    }
    match (watcher.poll_timeout(), deadline) {
        (None, _) => false,
        (Some(_), Some(deadline)) if now >= deadline => false,
        (Some(next), deadline) => {
            clock.wait_until(deadline.map_or(next, |d| next.min(d)));
            true
        }
    }
}
