//! The blocking driver of a [`Pipeline`].

use crate::driver::{StopCause, Until, step};
use crate::outbox::{Outbox, OutboxError, save_kept};
use crate::time::Clock;
use crate::transport::Transport;
use crate::validator::Ack;

use super::{Finished, Pipeline, PipelineError, PipelineTransmit};

/// What [`drain_durably`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drained {
    /// The ACKs of every submission that reached its verdict (the outbox
    /// stored them too), in the order their verdicts came.
    pub acks: Vec<Ack>,
    /// Set when `until` was reached first: the TIs still held were stored in
    /// the outbox as they stand; [`Pipeline::resume`] takes them back.
    pub stopped: Option<StopCause>,
    /// How many TIs the pipeline still held when the driver returned.
    pub pending: usize,
}

impl Drained {
    /// `Ok` when every TI held got its ACK;
    /// [`PipelineError::Stopped`] when `until` was reached first.
    ///
    /// # Errors
    /// [`PipelineError::Stopped`] as said.
    pub fn finished(&self) -> Result<(), PipelineError> {
        match self.stopped {
            Some(cause) => Err(PipelineError::Stopped {
                cause,
                pending: self.pending,
            }),
            None => Ok(()),
        }
    }
}

/// Runs `pipeline` until every TI it holds has its ACK (or `until`): stores
/// each round of outbox entries with one [`Outbox::save_all`], performs every
/// action on `transport`, waits on `clock` in between, and stores each
/// round's verdicts (ACKs stored, entries removed) with one
/// [`Outbox::finish_all`].
///
/// # Errors
/// [`OutboxError`] when the outbox fails: nothing more is sent; what was
/// stored is resumed later.
pub fn drain_durably<O, T, C>(
    pipeline: &mut Pipeline,
    outbox: &mut O,
    transport: &mut T,
    clock: &mut C,
    until: &Until,
) -> Result<Drained, OutboxError>
where
    O: Outbox + ?Sized,
    T: Transport + ?Sized,
    C: Clock + ?Sized,
{
    let mut drained = Drained::default();
    loop {
        drained
            .acks
            .extend(step_durably(pipeline, outbox, transport, clock)?);
        let now = clock.now();
        if pipeline.is_idle() {
            return Ok(drained);
        }
        if let Some(cause) = until.reached(now) {
            pipeline.flush();
            save_kept(outbox, || pipeline.entries())?;
            drained.stopped = Some(cause);
            drained.pending = pipeline.pending();
            return Ok(drained);
        }
        let Some(next) = pipeline.poll_timeout() else {
            // Not reachable: a pipeline holding TIs always has a submission
            // waiting for a time. Stop rather than spin.
            return Ok(drained);
        };
        let wake = until.deadline.map_or(next, |d| d.min(next));
        clock.wait_until(wake, &until.cancel);
    }
}

/// Performs every action `pipeline` has due now, then stores every verdict
/// reached (one [`Outbox::finish_all`]) and returns those ACKs; never waits. For a
/// host that pushes TIs while the pipeline runs: push, step, wait until the
/// next TI or [`Pipeline::poll_timeout`], step again. [`drain_durably`] is
/// this in a loop.
///
/// # Errors
/// [`OutboxError`] when the outbox fails: nothing more is sent.
pub fn step_durably<O, T, C>(
    pipeline: &mut Pipeline,
    outbox: &mut O,
    transport: &mut T,
    clock: &mut C,
) -> Result<Vec<Ack>, OutboxError>
where
    O: Outbox + ?Sized,
    T: Transport + ?Sized,
    C: Clock + ?Sized,
{
    let mut now = clock.now();
    pipeline.handle_timeout(now);
    while let Some(transmit) = pipeline.poll_transmit(now) {
        perform(pipeline, outbox, transport, transmit, now)?;
        now = clock.now();
    }
    let finished: Vec<Finished> = std::iter::from_fn(|| pipeline.poll_finished()).collect();
    if !finished.is_empty() {
        outbox.finish_all(&finished)?;
    }
    Ok(finished.into_iter().flat_map(|f| f.acks).collect())
}

/// Performs one pipeline action and hands its result back.
fn perform<O, T>(
    pipeline: &mut Pipeline,
    outbox: &mut O,
    transport: &mut T,
    transmit: PipelineTransmit,
    now: crate::UnixMillis,
) -> Result<(), OutboxError>
where
    O: Outbox + ?Sized,
    T: Transport + ?Sized,
{
    match transmit {
        PipelineTransmit::Persist { round } => {
            let saved = save_kept(outbox, || pipeline.round_entries(round));
            pipeline.handle_persisted(round, now, saved.clone());
            saved
        }
        PipelineTransmit::ReadHead => {
            pipeline.handle_head(now, transport.head());
            Ok(())
        }
        PipelineTransmit::Flight { flight, transmit } => match pipeline.flight_mut(flight) {
            Some(validator) => step(validator, outbox, transport, now, transmit),
            None => Ok(()),
        },
    }
}
