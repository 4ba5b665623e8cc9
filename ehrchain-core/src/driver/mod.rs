//! The blocking drivers: run a [`TransactionValidator`] to its verdict over a
//! blocking [`Transport`], keeping its entry in the host's [`Outbox`], for
//! as long as the host lets it ([`Until`]: a deadline, a cancel token), and
//! an [`AnchorWatcher`] over the valid ACKs until their anchors are final.
//! Both are loops over the sans-I/O runs ([`ValidatorRun`], [`WatchRun`]),
//! whose steps an async host performs itself (the npm package's
//! `runValidator` and `runWatcher` do), so every host follows one set of
//! rules.
//!
//! A driver that reaches the host's deadline, or is cancelled, returns
//! [`Run::Pending`] without an ACK: the TI is pending, not invalid (a
//! transaction sent before may still be mined). The validator stays where it
//! was, and its outbox entry is stored as it stands, so the host resumes it
//! later ([`Handshaker::resume`](crate::Handshaker::resume)) with the same
//! TC. A node that does not answer costs the host at most its deadline (plus
//! the one request in flight, which the transport's own timeout bounds).

mod run;
mod watch;

pub use run::{RunStep, ValidatorRun};
pub use watch::{WatchRun, WatchStep};

use alloy_primitives::B256;

use crate::batch::AnchoredBatch;
use crate::finality::BlockRef;
use crate::outbox::{NoOutbox, Outbox, OutboxError};
use crate::time::{CancelToken, Clock, UnixMillis};
use crate::transport::{Submission, SubmissionStatus, Transport, TransportError};
use crate::validator::{Ack, TransactionValidator, Transmit, ValidatorError, ValidatorState};
use crate::watcher::{AnchorWatcher, WatchEvent, WatcherError};

/// What every run's poll does first: asks again, once, what the host's own
/// loop handed out and never answered (the first poll), then hands out,
/// once, the step that ended the run.
#[derive(Clone, Debug)]
pub(crate) struct Opening<S> {
    asked_again: bool,
    ended: Option<S>,
}

impl<S> Opening<S> {
    /// An opening that asks again at the first poll, unless `asked_again`.
    pub(crate) fn new(asked_again: bool) -> Self {
        Self {
            asked_again,
            ended: None,
        }
    }

    /// Calls `ask_again` at the first poll; the step that ended the run, if
    /// one is waiting to be handed out.
    pub(crate) fn open(&mut self, ask_again: impl FnOnce()) -> Option<S> {
        if !self.asked_again {
            self.asked_again = true;
            ask_again();
        }
        self.ended.take()
    }

    /// The run ended with `step`: the next poll hands it out.
    pub(crate) fn end(&mut self, step: S) {
        self.ended = Some(step);
    }
}

/// How long a blocking driver may run: until the verdict, unless its
/// deadline passes or its cancel token is cancelled first.
///
/// ```
/// use ehrchain_core::{CancelToken, UnixMillis, Until};
///
/// let cancel = CancelToken::new();
/// let until = Until::deadline(UnixMillis(1_000)).cancelled_by(&cancel);
/// assert_eq!(until.reached(UnixMillis(999)), None);
/// cancel.cancel();
/// assert_eq!(until.reached(UnixMillis(999)), Some(ehrchain_core::StopCause::Cancelled));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Until {
    /// The host's deadline: at or after it the driver stops waiting.
    pub deadline: Option<UnixMillis>,
    /// Cancelled by the host (from any thread): the driver stops at once.
    pub cancel: CancelToken,
}

impl Until {
    /// No limit: run until the verdict (an outage is waited out, however
    /// long).
    #[must_use]
    pub fn verdict() -> Self {
        Self::default()
    }

    /// Stop waiting at `deadline` (Unix milliseconds on the driver's clock).
    #[must_use]
    pub fn deadline(deadline: UnixMillis) -> Self {
        Self {
            deadline: Some(deadline),
            cancel: CancelToken::new(),
        }
    }

    /// The same limit, also stopped by `cancel` (a clone is kept).
    #[must_use]
    pub fn cancelled_by(self, cancel: &CancelToken) -> Self {
        Self {
            cancel: cancel.clone(),
            ..self
        }
    }

    /// Why the driver must stop at `now`, if it must.
    #[must_use]
    pub fn reached(&self, now: UnixMillis) -> Option<StopCause> {
        StopCause::at(now, self.deadline, self.cancel.is_cancelled())
    }
}

/// Why a blocking driver stopped before the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopCause {
    /// The host's deadline passed.
    Deadline,
    /// The host cancelled.
    Cancelled,
}

impl StopCause {
    /// Why a run must stop at `now`, if it must: the host cancelled, or its
    /// `deadline` passed.
    #[must_use]
    pub fn at(now: UnixMillis, deadline: Option<UnixMillis>, cancelled: bool) -> Option<Self> {
        if cancelled {
            Some(Self::Cancelled)
        } else if deadline.is_some_and(|d| now >= d) {
            Some(Self::Deadline)
        } else {
            None
        }
    }
}

impl std::fmt::Display for StopCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Deadline => "the deadline passed",
            Self::Cancelled => "the host cancelled",
        })
    }
}

/// A blocking driver stopped before the verdict: the TI is still pending.
/// Its outbox entry (if the driver had an outbox) holds the validator as it
/// stood; resume it later. Not a verdict: no ACK was made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the TI is still pending: {cause} at {at} while it was {}; nothing is lost: its outbox entry is kept, resume it later",
    describe(state)
)]
pub struct Stopped {
    /// Deadline or cancel.
    pub cause: StopCause,
    /// When the driver stopped (its clock).
    pub at: UnixMillis,
    /// Where the validator stood, with the outage it was waiting out, if any
    /// ([`ValidatorState::Outage`]).
    pub state: Box<ValidatorState>,
}

/// A validator state in a few words, for [`Stopped`]'s message.
fn describe(state: &ValidatorState) -> String {
    match state {
        ValidatorState::Outage { outage, .. } => format!("waiting out an outage ({outage})"),
        ValidatorState::Generated => "about to send its transaction".to_owned(),
        ValidatorState::Submitted { tx_hash } => format!("waiting for transaction {tx_hash}"),
        ValidatorState::Included { tx_hash, .. } | ValidatorState::Confirmed { tx_hash, .. } => {
            format!("confirming transaction {tx_hash}")
        }
        ValidatorState::Settling { .. } => "reading what the chain holds".to_owned(),
        ValidatorState::Finished => "finished".to_owned(),
    }
}

/// How a blocking run ended: with the ACKs, or still pending.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Run<T> {
    /// The verdict: the ACKs (stored by the outbox, if any).
    Acked(T),
    /// Stopped by the host's deadline or cancel before the verdict.
    Pending(Stopped),
}

impl<T> Run<T> {
    /// The ACKs, or [`Stopped`] as an error (`?`-friendly; its
    /// [`ErrorCode`](crate::ErrorCode) is `EHR_STILL_PENDING`).
    ///
    /// # Errors
    /// [`Stopped`] when the run stopped before the verdict.
    pub fn acked(self) -> Result<T, Stopped> {
        match self {
            Self::Acked(acks) => Ok(acks),
            Self::Pending(stopped) => Err(stopped),
        }
    }

    /// The ACKs transformed by `f`; a pending run stays pending.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Run<U> {
        match self {
            Self::Acked(acks) => Run::Acked(f(acks)),
            Self::Pending(stopped) => Run::Pending(stopped),
        }
    }
}

/// Runs `validator` until its verdict (or `until`) without an outbox
/// ([`NoOutbox`]: a crash loses the TIs in flight; so does a stop, unless
/// the host keeps `validator` and runs it again). See [`run_durably`].
pub fn run_blocking<T: Transport + ?Sized, C: Clock + ?Sized>(
    validator: &mut TransactionValidator,
    transport: &mut T,
    clock: &mut C,
    until: &Until,
) -> Run<Vec<Ack>> {
    // NoOutbox never fails.
    run_durably(validator, &mut NoOutbox, transport, clock, until)
        .unwrap_or_else(|_| Run::Acked(Vec::new()))
}

/// Runs `validator` until its verdict: stores its entry in `outbox` before
/// every submission, hands each action to `transport`, feeds the result
/// back, waits on `clock` in between; at the verdict stores the ACKs and
/// removes the entry ([`Outbox::finish`]) and returns the ACKs (one per TI).
/// A validator that is already finished returns its remaining ACKs; one
/// whose last action was handed out and never answered (by the host's own
/// event loop) has it asked again first
/// ([`TransactionValidator::ask_again`]), so its entry is never finished
/// without its ACKs.
///
/// When `until` is reached first (checked before every action and wait; a
/// cancel wakes a wait at once), it stores the validator's entry as it
/// stands (nothing is awaiting an answer then) and returns
/// [`Run::Pending`]: resume it later from the outbox, or run `validator`
/// again.
///
/// # Errors
/// [`OutboxError`] when the outbox fails: nothing more is sent; the
/// validator (and its stored entry) can be run again once the host's
/// storage works, and a verdict's ACKs stay in it until `finish` stored
/// them.
pub fn run_durably<O, T, C>(
    validator: &mut TransactionValidator,
    outbox: &mut O,
    transport: &mut T,
    clock: &mut C,
    until: &Until,
) -> Result<Run<Vec<Ack>>, OutboxError>
where
    O: Outbox + ?Sized,
    T: Transport + ?Sized,
    C: Clock + ?Sized,
{
    let mut run = ValidatorRun::new(until.deadline, outbox.keeps_entries());
    loop {
        let (now, cancelled) = (clock.now(), until.cancel.is_cancelled());
        match run.perform_due(validator, outbox, transport, now, cancelled)? {
            RunStep::Wait { until: wake } => clock.wait_until(wake, &until.cancel),
            RunStep::Acked { acks } => return Ok(Run::Acked(acks)),
            RunStep::Pending { stopped } => return Ok(Run::Pending(stopped)),
            // Performed already (and answered): never handed back.
            RunStep::Perform { .. }
            | RunStep::Save { .. }
            | RunStep::Finish { .. }
            | RunStep::Awaiting => {}
        }
    }
}

/// Performs a chain action of `validator` (its submission, or a read) on
/// `transport` and hands the result back. [`Transmit::Persist`] is the
/// host's outbox write, no chain action: nothing is done
/// ([`ValidatorRun`] hands it out as [`RunStep::Save`]).
pub fn perform<T: Transport + ?Sized>(
    validator: &mut TransactionValidator,
    transport: &mut T,
    now: UnixMillis,
    transmit: Transmit,
) {
    // Each result answers the action just handed out, so the validator
    // accepts it; an error here would be a bug in the validator.
    let _ = match transmit {
        Transmit::Submit { submission } => {
            validator.handle_submitted(now, transport.submit(&submission))
        }
        read => perform_read(validator, transport, now, read),
    };
}

/// A state machine that reads the chain through the validator's read
/// actions: the validator and the watcher take the same results. The
/// drivers here and the C and JavaScript bindings hand reads in through it,
/// so that one piece of code serves both.
pub trait TakesReads {
    /// What a refused result is.
    type Error;
    /// The submission the read in flight is about (the validator's own; the
    /// watcher's current anchor), if any.
    fn read_submission(&self) -> Option<&Submission>;
    /// Takes the result of [`Transmit::ReadHead`].
    ///
    /// # Errors
    /// When no head read was asked for.
    fn handle_head(
        &mut self,
        now: UnixMillis,
        r: Result<u64, TransportError>,
    ) -> Result<(), Self::Error>;
    /// Takes the result of [`Transmit::Poll`].
    ///
    /// # Errors
    /// When no poll was asked for, or the receipt is another transaction's.
    fn handle_receipt(
        &mut self,
        now: UnixMillis,
        r: Result<SubmissionStatus, TransportError>,
    ) -> Result<(), Self::Error>;
    /// Takes the result of [`Transmit::ReadRecord`].
    ///
    /// # Errors
    /// When no record read was asked for.
    fn handle_record(
        &mut self,
        now: UnixMillis,
        r: Result<Option<B256>, TransportError>,
    ) -> Result<(), Self::Error>;
    /// Takes the result of [`Transmit::ReadBatch`].
    ///
    /// # Errors
    /// When no batch read was asked for.
    fn handle_batch(
        &mut self,
        now: UnixMillis,
        r: Result<Option<AnchoredBatch>, TransportError>,
    ) -> Result<(), Self::Error>;
    /// Takes the result of [`Transmit::ReadBlock`].
    ///
    /// # Errors
    /// When no block read was asked for.
    fn handle_block(
        &mut self,
        now: UnixMillis,
        r: Result<Option<BlockRef>, TransportError>,
    ) -> Result<(), Self::Error>;
}

macro_rules! takes_reads {
    ($machine:ty, $error:ty, $submission:ident) => {
        impl TakesReads for $machine {
            type Error = $error;
            fn read_submission(&self) -> Option<&Submission> {
                <$machine>::$submission(self)
            }
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
            fn handle_block(
                &mut self,
                now: UnixMillis,
                r: Result<Option<BlockRef>, TransportError>,
            ) -> Result<(), $error> {
                <$machine>::handle_block(self, now, r)
            }
        }
    };
}

takes_reads!(TransactionValidator, ValidatorError, submission);
takes_reads!(AnchorWatcher, WatcherError, current_submission);

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
        Transmit::ReadBlock { tag } => machine.handle_block(now, transport.block_at(tag)),
        Transmit::Persist | Transmit::Submit { .. } => Ok(()),
    }
}

/// Runs `watcher` until nothing is left to watch, or `until` is reached
/// (the host's deadline passes, or its cancel token is cancelled: a wait
/// ends at once, as in the validator's drivers); returns its events (final,
/// vanished), oldest first. A vanished anchor is the host's to resend (the
/// event's `entry`); [`watch_durably`] does it.
pub fn watch_blocking<T: Transport + ?Sized, C: Clock + ?Sized>(
    watcher: &mut AnchorWatcher,
    transport: &mut T,
    clock: &mut C,
    until: &Until,
) -> Vec<WatchEvent> {
    watch_until(watcher, transport, clock, until);
    std::iter::from_fn(|| watcher.poll_event()).collect()
}

/// Runs `watcher` like [`watch_blocking`], leaving the events in the
/// watcher ([`AnchorWatcher::poll_event`]).
pub fn watch_until<T: Transport + ?Sized, C: Clock + ?Sized>(
    watcher: &mut AnchorWatcher,
    transport: &mut T,
    clock: &mut C,
    until: &Until,
) {
    let mut run = WatchRun::new(until.deadline, false);
    loop {
        let now = clock.now();
        match run.poll(watcher, now, until.cancel.is_cancelled()) {
            WatchStep::Perform { transmit } => {
                // Each result answers the read just handed out: accepted.
                let _ = perform_read(watcher, transport, now, transmit);
            }
            WatchStep::Wait { until: wake } => clock.wait_until(wake, &until.cancel),
            // Without resending, the run neither stores nor hands out events.
            _ => return,
        }
    }
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

/// A durable watch stopped by its outbox ([`watch_durably`]): what the run
/// saw and did before, and the outbox's error. The vanished anchor being
/// acted on, and the events after it, are still in the watcher: run it
/// again once the storage works.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct WatchStopped {
    /// The events acted on and the ACKs made before the failure.
    pub report: WatchReport,
    /// Why the outbox failed.
    pub error: OutboxError,
}

/// Runs `watcher` like [`watch_blocking`]; when an anchor vanishes, moves
/// its TI back to pending (stores the event's entry in `outbox`), resends
/// the same TC ([`run_durably`]: the same record hash, a new transaction;
/// again while its ACK is invalid but may be rerun) and watches the new
/// valid ACK, until every anchor is final or `until` is reached (the
/// deadline, or the cancel token).
///
/// # Errors
/// [`WatchStopped`] when the outbox fails, with what was done before: the
/// vanished TI's entry (if it was stored) is resumed later by
/// [`Handshaker::resume`](crate::Handshaker::resume), and its event stays in
/// `watcher` ([`AnchorWatcher::poll_event`]) with those after it, so a later
/// run resends it; the events acted on before are in the error's report.
pub fn watch_durably<O, T, C>(
    watcher: &mut AnchorWatcher,
    outbox: &mut O,
    transport: &mut T,
    clock: &mut C,
    until: &Until,
) -> Result<WatchReport, WatchStopped>
where
    O: Outbox + ?Sized,
    T: Transport + ?Sized,
    C: Clock + ?Sized,
{
    let mut run = WatchRun::new(until.deadline, true);
    let mut watched = WatchReport::default();
    loop {
        let now = clock.now();
        let stored = match run.poll(watcher, now, until.cancel.is_cancelled()) {
            WatchStep::Perform { transmit } => {
                // Each result answers the read just handed out: accepted.
                let _ = perform_read(watcher, transport, now, transmit);
                Ok(())
            }
            WatchStep::Save { key, entry } => run.handle_stored(outbox.save(&key, &entry)),
            WatchStep::Resend { entry } => TransactionValidator::from_json(&entry)
                .map_err(|e| OutboxError(e.to_string()))
                .and_then(|mut validator| {
                    let ran = run_durably(&mut validator, outbox, transport, clock, until)?;
                    run.handle_resent(watcher, &validator, ran.acked().ok());
                    Ok(())
                }),
            WatchStep::Event { event, resent } => {
                watched.events.push(event);
                watched.resent.extend(resent);
                Ok(())
            }
            WatchStep::Wait { until: wake } => {
                clock.wait_until(wake, &until.cancel);
                Ok(())
            }
            // Awaiting is not reachable here: every read is answered at once.
            WatchStep::Done | WatchStep::Awaiting => return Ok(watched),
        };
        if let Err(error) = stored {
            return Err(WatchStopped {
                report: watched,
                error,
            });
        }
    }
}
