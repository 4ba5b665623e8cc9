//! The blocking driver: runs a [`TransactionValidator`] to its verdict over a
//! blocking [`Transport`], keeping its entry in the host's [`Outbox`], for
//! as long as the host lets it ([`Until`]: a deadline, a cancel token). Async
//! hosts drive the validator themselves.
//!
//! A driver that reaches the host's deadline, or is cancelled, returns
//! [`Run::Pending`] without an ACK: the TI is pending, not invalid (a
//! transaction sent before may still be mined). The validator stays where it
//! was, and its outbox entry is stored as it stands, so the host resumes it
//! later ([`Handshaker::resume`](crate::Handshaker::resume)) with the same
//! TC. A node that does not answer costs the host at most its deadline (plus
//! the one request in flight, which the transport's own timeout bounds).

use crate::outbox::{NoOutbox, Outbox, OutboxError};
use crate::time::{CancelToken, Clock, UnixMillis};
use crate::transport::Transport;
use crate::validator::{Ack, TransactionValidator, Transmit, ValidatorState};

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
        if self.cancel.is_cancelled() {
            Some(StopCause::Cancelled)
        } else if self.deadline.is_some_and(|d| now >= d) {
            Some(StopCause::Deadline)
        } else {
            None
        }
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

/// A blocking driver stopped before the verdict: the TI is still pending.
/// Its outbox entry (if the driver had an outbox) holds the validator as it
/// stood; resume it later. Not a verdict: no ACK was made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the TI is still pending: {} at {at} while it was {}; nothing is lost: its outbox entry is kept, resume it later",
    match cause { StopCause::Deadline => "the deadline passed", StopCause::Cancelled => "the host cancelled" },
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
/// A validator that is already finished returns its remaining ACKs.
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
/// storage works.
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
    loop {
        let mut now = clock.now();
        validator.handle_timeout(now);
        loop {
            if let Some(cause) = until.reached(now).filter(|_| !validator.is_finished()) {
                return stop(validator, outbox, cause, now);
            }
            let Some(transmit) = validator.poll_transmit(now) else {
                break;
            };
            step(validator, outbox, transport, now, transmit)?;
            now = clock.now();
        }
        if validator.is_finished() {
            break;
        }
        match validator.poll_timeout() {
            Some(next) => {
                let wake = until.deadline.map_or(next, |d| d.min(next));
                clock.wait_until(wake, &until.cancel);
            }
            // Not reachable: an unfinished validator always has a deadline
            // once its action is answered. Stop rather than spin.
            None => break,
        }
    }
    let acks: Vec<Ack> = std::iter::from_fn(|| validator.poll_ack()).collect();
    outbox.finish(validator.outbox_key().as_ref(), &acks)?;
    Ok(Run::Acked(acks))
}

/// Stops before the verdict: the entry as it stands goes to the outbox.
fn stop<O: Outbox + ?Sized>(
    validator: &TransactionValidator,
    outbox: &mut O,
    cause: StopCause,
    at: UnixMillis,
) -> Result<Run<Vec<Ack>>, OutboxError> {
    if let Some(key) = validator.outbox_key() {
        outbox.save(&key, &validator.to_json())?;
    }
    Ok(Run::Pending(Stopped {
        cause,
        at,
        state: Box::new(validator.state()),
    }))
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
        Transmit::Poll {
            tx_hash,
            submission,
        } => validator.handle_receipt(now, transport.poll(&tx_hash, &submission)),
        Transmit::ReadHead => validator.handle_head(now, transport.head()),
        Transmit::ReadRecord { ti_id } => {
            validator.handle_record(now, transport.record_hash_of(&ti_id))
        }
        Transmit::ReadBatch { root } => {
            validator.handle_batch(now, transport.anchored_batch(&root))
        }
    };
    Ok(())
}
