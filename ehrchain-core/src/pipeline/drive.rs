//! The blocking driver of a [`Pipeline`].

use crate::driver::{StopCause, Until, perform};
use crate::outbox::{Outbox, OutboxError, save_kept};
use crate::time::Clock;
use crate::transport::Transport;
use crate::validator::{Ack, Transmit};

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

/// Runs `pipeline` until every TI it holds has its ACK (or `until`): steps
/// it ([`step_durably`]: each step's rounds of outbox entries and verdicts
/// stored with one [`Outbox::save_and_finish`], every action performed on
/// `transport`) and waits on `clock` in between. Actions the host's own
/// loop handed out and never answered are asked again first
/// ([`Pipeline::ask_again`]).
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
    pipeline.ask_again();
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

/// Performs every action `pipeline` has due now, and stores what the step
/// needs stored in one [`Outbox::save_and_finish`]: the entries of the
/// rounds it asks for (before their submissions are sent) and every
/// verdict reached (ACKs stored, entries removed); returns those ACKs;
/// never waits. The rounds' submissions are sent in the same step, once
/// stored. For a host that pushes TIs while the pipeline runs: push, step,
/// wait until the next TI or [`Pipeline::poll_timeout`], step again.
/// [`drain_durably`] is this in a loop.
///
/// # Errors
/// [`OutboxError`] when the outbox fails: nothing more is sent; the
/// verdicts of the step stay in their entries (resumed, they give the same
/// ACKs), and those of TIs refused before anything was stored stay in the
/// pipeline, for the next step.
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
    pipeline.handle_timeout(clock.now());
    let mut acks = Vec::new();
    loop {
        let rounds = perform_due(pipeline, transport, clock);
        let finished: Vec<Finished> = std::iter::from_fn(|| pipeline.poll_finished()).collect();
        if rounds.is_empty() && finished.is_empty() {
            return Ok(acks);
        }
        acks.extend(store(pipeline, outbox, &rounds, finished, clock)?);
        // Next: the stored rounds' submissions.
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
            PipelineTransmit::ReadHead => pipeline.handle_head(now, transport.head()),
            PipelineTransmit::Flight { flight, transmit } => {
                let Some(validator) = pipeline.flight_mut(flight) else {
                    continue;
                };
                if transmit == Transmit::Persist {
                    // Never handed out: the pipeline gathers every persist
                    // into a round. Refused, not dropped, so that nothing
                    // is sent before it is stored.
                    let refused = OutboxError("a persist outside a round of the pipeline".into());
                    let _ = validator.handle_persisted(now, Err(refused));
                } else {
                    perform(validator, transport, now, transmit);
                }
            }
        }
        now = clock.now();
    }
    rounds
}

/// Stores `rounds`' entries and the verdicts `finished` in one
/// [`Outbox::save_and_finish`], hands the rounds the result, and returns
/// the verdicts' ACKs.
fn store<O, C>(
    pipeline: &mut Pipeline,
    outbox: &mut O,
    rounds: &[u64],
    finished: Vec<Finished>,
    clock: &mut C,
) -> Result<Vec<Ack>, OutboxError>
where
    O: Outbox + ?Sized,
    C: Clock + ?Sized,
{
    let entries = if outbox.keeps_entries() {
        rounds
            .iter()
            .flat_map(|&round| pipeline.round_entries(round))
            .collect()
    } else {
        Vec::new()
    };
    let stored = outbox.save_and_finish(&entries, &finished);
    let now = clock.now();
    for &round in rounds {
        pipeline.handle_persisted(round, now, stored.clone());
    }
    if let Err(e) = stored {
        // A stored submission's verdict comes back when its entry is
        // resumed; a TI refused before anything was stored has no entry, so
        // its verdict is given back to the pipeline rather than lost.
        pipeline.restore_finished(finished.into_iter().filter(|f| f.outbox_key.is_none()));
        return Err(e);
    }
    Ok(finished.into_iter().flat_map(|f| f.acks).collect())
}
