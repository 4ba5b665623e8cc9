//! The blocking driver: runs a [`TransactionValidator`] to its verdict over a
//! blocking [`Transport`]. Async hosts drive the validator themselves.

use crate::time::{Clock, UnixMillis};
use crate::transport::Transport;
use crate::validator::{Ack, TransactionValidator, Transmit};

/// Runs `validator` until its verdict: hands each action to `transport`,
/// feeds the result back, waits on `clock` in between; returns the ACKs (one
/// per TI). A validator that is already finished returns its remaining ACKs.
pub fn run_blocking<T: Transport + ?Sized, C: Clock + ?Sized>(
    validator: &mut TransactionValidator,
    transport: &mut T,
    clock: &mut C,
) -> Vec<Ack> {
    loop {
        let now = clock.now();
        validator.handle_timeout(now);
        while let Some(transmit) = validator.poll_transmit(now) {
            step(validator, transport, now, transmit);
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
    std::iter::from_fn(|| validator.poll_ack()).collect()
}

/// Performs one action and hands its result to the validator.
pub fn step<T: Transport + ?Sized>(
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
}
