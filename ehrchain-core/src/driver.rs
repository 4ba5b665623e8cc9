//! The blocking driver: runs a [`TransactionValidator`] to its verdict over a
//! blocking [`Transport`], keeping its entry in the host's [`Outbox`]. Async
//! hosts drive the validator themselves.

use crate::outbox::{NoOutbox, Outbox, OutboxError};
use crate::time::{Clock, UnixMillis};
use crate::transport::Transport;
use crate::validator::{Ack, TransactionValidator, Transmit};

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
