//! The blocking driver of a [`Pipeline`].

use crate::driver::{StopCause, Until, perform};
use crate::outbox::{Outbox, OutboxError};
use crate::time::{CancelToken, Clock, UnixMillis};
use crate::transport::Transport;
use crate::validator::Transmit;

use super::run::{PipelineRun, PipelineStep, refuse_stray_persist};
use super::{Pipeline, PipelineError, PipelineTransmit};

/// What [`drain_durably`] did. The ACKs it stored wait in the pipeline
/// ([`Pipeline::take_acks`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drained {
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

/// Runs `pipeline` until every TI it holds has its ACK (or `until`): steps
/// it ([`step_durably`]: each step's rounds of outbox entries and verdicts
/// stored with one [`Outbox::save_and_finish`], every action performed on
/// `transport`) and waits on `clock` in between. Actions the host's own
/// loop handed out and never answered are asked again first
/// ([`Pipeline::ask_again`]).
///
/// # Errors
/// [`OutboxError`] when the outbox fails: nothing more is sent; what was
/// stored is resumed later. The ACKs of the steps before were stored with
/// their verdicts ([`Outbox::save_and_finish`]) and wait in the pipeline
/// ([`Pipeline::take_acks`]), as on success.
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
    let mut run = PipelineRun::new(until.deadline, outbox.keeps_entries());
    let (stopped, pending) = loop {
        match until_wait(&mut run, pipeline, outbox, transport, clock, &until.cancel)? {
            PipelineStep::Wait { until: wake } => clock.wait_until(wake, &until.cancel),
            PipelineStep::Drained { stopped, pending } => break (stopped, pending),
            // Not reachable: every action is answered at once (Awaiting),
            // and until_wait performs the others.
            _ => break (None, pipeline.pending()),
        }
    };
    Ok(Drained { stopped, pending })
}

/// Performs every action `pipeline` has due now, and stores what the step
/// needs stored in one [`Outbox::save_and_finish`]: the entries of the
/// rounds it asks for (before their submissions are sent) and every
/// verdict reached (ACKs stored, entries removed; they then wait in the
/// pipeline: [`Pipeline::take_acks`]); never waits. The rounds' submissions are sent in the same step, once
/// stored. For a host that pushes TIs while the pipeline runs: push, step,
/// wait until the next TI or [`Pipeline::poll_timeout`], step again.
/// [`drain_durably`] is this in a loop.
///
/// # Errors
/// [`OutboxError`] when the outbox fails: nothing more is sent; the
/// verdicts of the step not stored ([`PartlyStored`]) stay in their
/// entries (resumed, they give the same ACKs), and those of TIs refused
/// before anything was stored stay in the pipeline, for the next step.
/// ACKs stored before the failure wait in the pipeline, as on success.
///
/// [`PartlyStored`]: crate::outbox::PartlyStored
pub fn step_durably<O, T, C>(
    pipeline: &mut Pipeline,
    outbox: &mut O,
    transport: &mut T,
    clock: &mut C,
) -> Result<(), OutboxError>
where
    O: Outbox + ?Sized,
    T: Transport + ?Sized,
    C: Clock + ?Sized,
{
    let mut run = PipelineRun::continuing(outbox.keeps_entries());
    // Waiting or drained: the step is over either way.
    let _ = until_wait(
        &mut run,
        pipeline,
        outbox,
        transport,
        clock,
        &CancelToken::new(),
    )?;
    Ok(())
}

/// Steps `run` (performing on `transport`, storing in `outbox`; the stored
/// verdicts' ACKs wait in the pipeline) until it waits or ends; that step.
fn until_wait<O, T, C>(
    run: &mut PipelineRun,
    pipeline: &mut Pipeline,
    outbox: &mut O,
    transport: &mut T,
    clock: &mut C,
    cancel: &CancelToken,
) -> Result<PipelineStep, OutboxError>
where
    O: Outbox + ?Sized,
    T: Transport + ?Sized,
    C: Clock + ?Sized,
{
    loop {
        let now = clock.now();
        match run.poll(pipeline, now, cancel.is_cancelled()) {
            PipelineStep::Perform { transmit } => {
                perform_action(pipeline, transport, now, transmit)
            }
            PipelineStep::Store { entries, verdicts } => {
                let stored = outbox.save_and_finish(&entries, &verdicts);
                run.handle_stored(pipeline, clock.now(), stored)?;
            }
            step => return Ok(step),
        }
    }
}

/// Performs a chain action of `pipeline` on `transport` and hands the
/// result back: the head for every submission waiting, or one submission's
/// action. A persist is the host's outbox write, no chain action.
pub fn perform_action<T: Transport + ?Sized>(
    pipeline: &mut Pipeline,
    transport: &mut T,
    now: UnixMillis,
    transmit: PipelineTransmit,
) {
    match transmit {
        PipelineTransmit::ReadHead => pipeline.handle_head(now, transport.head()),
        PipelineTransmit::Flight {
            flight,
            transmit: Transmit::Persist,
        } => refuse_stray_persist(pipeline, flight, now),
        PipelineTransmit::Flight { flight, transmit } => {
            if let Some(validator) = pipeline.flight_mut(flight) {
                perform(validator, transport, now, transmit);
            }
        }
        PipelineTransmit::Persist { .. } => {}
    }
}

/// Performs every action `pipeline` has due now but storing: sends the
/// submissions of rounds already stored and performs the reads on
/// `transport`; returns the rounds that ask to be stored
/// ([`PipelineTransmit::Persist`]). Never waits. The caller hands the time
/// in first ([`Pipeline::handle_timeout`]), then stores each round
/// ([`Pipeline::round_entries`]) and reports it
/// ([`Pipeline::handle_persisted`]), and stores each verdict of
/// [`Pipeline::poll_finished`] (its ACKs kept, its entry removed) before
/// handing its ACKs on, when it likes. [`step_durably`] stores both at
/// once; a host that commits in another thread hands them over and goes on
/// pushing and stepping, so that its disk's syncs overlap the sealing and
/// the chain's answers (the examples' `gateway`).
pub fn perform_due<T, C>(pipeline: &mut Pipeline, transport: &mut T, clock: &mut C) -> Vec<u64>
where
    T: Transport + ?Sized,
    C: Clock + ?Sized,
{
    let mut rounds = Vec::new();
    let mut now = clock.now();
    while let Some(transmit) = pipeline.poll_transmit(now) {
        match transmit {
            PipelineTransmit::Persist { round } => rounds.push(round),
            action => perform_action(pipeline, transport, now, action),
        }
        now = clock.now();
    }
    rounds
}
