//! A drain of a [`Pipeline`], step by step: [`drain_durably`]'s rules (ask
//! again what was never answered; perform every action due; store each
//! step's rounds of entries and its verdicts in one write, the rounds
//! before their submissions are sent; give back the verdicts of TIs refused
//! before anything was stored when that write fails; stop at the host's
//! deadline or cancel with every entry stored) as a sans-I/O machine, for
//! hosts that await their transport and storage (JavaScript, an event
//! loop). [`drain_durably`] and [`step_durably`] are this machine over a
//! blocking transport, outbox and clock.
//!
//! [`drain_durably`]: super::drain_durably
//! [`step_durably`]: super::step_durably

use alloy_primitives::B256;

use crate::driver::{Opening, StopCause};
use crate::outbox::{OutboxError, PartlyStored};
use crate::time::UnixMillis;
use crate::validator::Transmit;

use super::{Finished, FlightId, Pipeline, PipelineTransmit};

/// What a [`PipelineRun`] asks its host to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum PipelineStep {
    /// Perform a chain action ([`PipelineTransmit::ReadHead`], or a
    /// submission's [`PipelineTransmit::Flight`]) and hand its result to
    /// the pipeline ([`Pipeline::handle_head`], or the flight's validator:
    /// [`Pipeline::flight_mut`]), then poll again.
    Perform {
        /// The pipeline's action.
        transmit: PipelineTransmit,
    },
    /// Store `entries` (the write-ahead entries of the submissions about to
    /// be sent) and `verdicts` (their ACKs stored, their entries removed)
    /// in one write ([`Outbox::save_and_finish`]), then hand the outcome to
    /// [`PipelineRun::handle_stored`]. Nothing of `entries` is sent before.
    ///
    /// [`Outbox::save_and_finish`]: crate::outbox::Outbox::save_and_finish
    Store {
        /// The entries to store (none when the host keeps none: then a
        /// store is only ever asked for verdicts, and rounds without them
        /// are sent at once).
        entries: Vec<(B256, String)>,
        /// The verdicts to store.
        verdicts: Vec<Finished>,
    },
    /// Nothing to do before `until` (Unix milliseconds): wait, waking early
    /// when a TI is pushed or the host cancels, then poll again.
    Wait {
        /// When to poll again.
        until: UnixMillis,
    },
    /// The results of the [`PipelineStep::Perform`]s handed out are not
    /// handed in yet: nothing to do until they are.
    Awaiting,
    /// The run is over: every TI held has its ACK (`stopped: None`), or the
    /// host's deadline or cancel came first and every TI still held was
    /// stored as it stands when the host keeps entries ([`Pipeline::resume`]
    /// takes them back; a run that keeps none stops at once).
    Drained {
        /// Why it stopped before every ACK, if it did.
        stopped: Option<StopCause>,
        /// How many TIs the pipeline still holds.
        pending: usize,
    },
}

/// A submission's persist outside a round: never handed out (the pipeline
/// gathers every persist into a round), and refused, not dropped, so that
/// nothing is sent before it is stored.
pub(super) fn refuse_stray_persist(pipeline: &mut Pipeline, flight: FlightId, now: UnixMillis) {
    if let Some(validator) = pipeline.flight_mut(flight) {
        let refused = OutboxError("a persist outside a round of the pipeline".into());
        let _ = validator.handle_persisted(now, Err(refused));
    }
}

/// What the host is storing for the run.
#[derive(Clone, Debug)]
struct Storing {
    /// The rounds whose entries are stored.
    rounds: Vec<u64>,
    /// The verdicts stored.
    verdicts: Vec<Finished>,
    /// Stopping: every entry is stored, then the run ends.
    stop: Option<StopCause>,
}

/// One drain of a [`Pipeline`], driven by a host that performs each step
/// itself and may await it: poll a [`PipelineStep`], do it, hand its outcome
/// in, poll again, until [`PipelineStep::Drained`]. Pass the same pipeline
/// on every call. TIs may be pushed between steps.
#[derive(Clone, Debug)]
pub struct PipelineRun {
    deadline: Option<UnixMillis>,
    keeps_entries: bool,
    rounds: Vec<u64>,
    storing: Option<Storing>,
    opening: Opening<PipelineStep>,
}

impl PipelineRun {
    /// A drain that stops at `deadline` (Unix milliseconds on the host's
    /// clock; `None`: only every ACK or a cancel end it), storing entries
    /// only when the host's outbox keeps them (`keeps_entries`; verdicts
    /// are stored either way). Its first poll asks again every action the
    /// host's own loop handed out and never answered
    /// ([`Pipeline::ask_again`]).
    #[must_use]
    pub fn new(deadline: Option<UnixMillis>, keeps_entries: bool) -> Self {
        Self {
            deadline,
            keeps_entries,
            rounds: Vec::new(),
            storing: None,
            opening: Opening::new(false),
        }
    }

    /// A run over a pipeline whose host steps it in its own loop
    /// ([`step_durably`](super::step_durably)): nothing is asked again at
    /// its first poll.
    #[must_use]
    pub(crate) fn continuing(keeps_entries: bool) -> Self {
        Self {
            opening: Opening::new(true),
            ..Self::new(None, keeps_entries)
        }
    }

    /// The next step at `now`; `cancelled` says whether the host cancelled.
    /// While a [`PipelineStep::Store`] awaits its outcome, it is handed out
    /// again; while only [`PipelineStep::Perform`]s' results are left to
    /// hand in, the step is [`PipelineStep::Awaiting`].
    pub fn poll(
        &mut self,
        pipeline: &mut Pipeline,
        now: UnixMillis,
        cancelled: bool,
    ) -> PipelineStep {
        if let Some(end) = self.opening.open(|| pipeline.ask_again()) {
            return end;
        }
        if let Some(storing) = &self.storing {
            return self.store_step(pipeline, storing);
        }
        pipeline.handle_timeout(now);
        let verdicts = loop {
            while let Some(transmit) = pipeline.poll_transmit(now) {
                match transmit {
                    PipelineTransmit::Persist { round } => self.rounds.push(round),
                    PipelineTransmit::Flight {
                        flight,
                        transmit: Transmit::Persist,
                    } => refuse_stray_persist(pipeline, flight, now),
                    transmit => return PipelineStep::Perform { transmit },
                }
            }
            let verdicts: Vec<Finished> = std::iter::from_fn(|| pipeline.poll_finished()).collect();
            if self.keeps_entries || !verdicts.is_empty() || self.rounds.is_empty() {
                break verdicts;
            }
            // A host that keeps no entries has nothing of these rounds to
            // store: they go out at once, without an empty store step.
            for round in std::mem::take(&mut self.rounds) {
                pipeline.handle_persisted(round, now, Ok(()));
            }
        };
        if !self.rounds.is_empty() || !verdicts.is_empty() {
            let storing = Storing {
                rounds: std::mem::take(&mut self.rounds),
                verdicts,
                stop: None,
            };
            return self.store(pipeline, storing);
        }
        if pipeline.is_idle() {
            return self.drained(pipeline, None);
        }
        if let Some(cause) = StopCause::at(now, self.deadline, cancelled) {
            let storing = Storing {
                rounds: Vec::new(),
                verdicts: Vec::new(),
                stop: Some(cause),
            };
            // The open batch goes out with the rest: no TC is left out.
            pipeline.flush();
            return if self.keeps_entries {
                self.store(pipeline, storing)
            } else {
                self.drained(pipeline, Some(cause))
            };
        }
        match pipeline.poll_timeout() {
            Some(next) => PipelineStep::Wait {
                until: self.deadline.map_or(next, |d| d.min(next)),
            },
            // A pipeline holding TIs with nothing to wait for: its actions
            // handed out await their results.
            None => PipelineStep::Awaiting,
        }
    }

    /// Whether a [`PipelineStep::Store`] awaits its outcome: until it is
    /// handed in ([`PipelineRun::handle_stored`]), polling hands the same
    /// store out again.
    #[must_use]
    pub const fn is_storing(&self) -> bool {
        self.storing.is_some()
    }

    /// The outcome of the [`PipelineStep::Store`] just performed (`Ok` once
    /// stored durably; a failure says how many of its verdicts, from the
    /// first, were stored before it: [`PartlyStored`], 0 from an
    /// [`OutboxError`] with `.into()`) at the host's `now`; how many ACKs
    /// the stored verdicts hold. They wait in the pipeline for
    /// [`Pipeline::poll_ack`], in the order the verdicts came.
    ///
    /// # Errors
    /// The outbox's error, handed back: the host ends the run there
    /// (nothing more is sent). The ACKs of the verdicts stored before it
    /// wait in the pipeline all the same. The rounds' submissions ask to be
    /// stored again after their backoff; a submission's verdict not stored
    /// comes back when its entry is resumed; a TI refused before anything
    /// was stored has no entry, so its verdict, if not stored, is given
    /// back to the pipeline ([`Pipeline::restore_finished`]) rather than
    /// lost (and never stored twice).
    pub fn handle_stored(
        &mut self,
        pipeline: &mut Pipeline,
        now: UnixMillis,
        result: Result<(), PartlyStored>,
    ) -> Result<usize, OutboxError> {
        let Some(mut storing) = self.storing.take() else {
            return Ok(0);
        };
        let persisted = result.clone().map_err(|partly| partly.error);
        for &round in &storing.rounds {
            pipeline.handle_persisted(round, now, persisted.clone());
        }
        if let Err(partly) = result {
            let unstored = storing
                .verdicts
                .split_off(partly.stored.min(storing.verdicts.len()));
            pipeline.handle_stored_verdicts(storing.verdicts);
            pipeline.restore_finished(unstored.into_iter().filter(|f| f.outbox_key.is_none()));
            return Err(partly.error);
        }
        if storing.stop.is_some() {
            self.opening.end(self.drained(pipeline, storing.stop));
        }
        let acks = storing.verdicts.iter().map(|f| f.acks.len()).sum();
        pipeline.handle_stored_verdicts(storing.verdicts);
        Ok(acks)
    }

    fn store(&mut self, pipeline: &mut Pipeline, storing: Storing) -> PipelineStep {
        let step = self.store_step(pipeline, &storing);
        self.storing = Some(storing);
        step
    }

    /// The step that stores `storing`: its rounds' entries (every entry when
    /// stopping), made only when the host keeps entries, and its verdicts.
    fn store_step(&self, pipeline: &mut Pipeline, storing: &Storing) -> PipelineStep {
        let entries = match (self.keeps_entries, storing.stop) {
            (false, _) => Vec::new(),
            (true, Some(_)) => pipeline.entries(),
            (true, None) => storing
                .rounds
                .iter()
                .flat_map(|&round| pipeline.round_entries(round))
                .collect(),
        };
        PipelineStep::Store {
            entries,
            verdicts: storing.verdicts.clone(),
        }
    }

    fn drained(&self, pipeline: &Pipeline, stopped: Option<StopCause>) -> PipelineStep {
        PipelineStep::Drained {
            stopped,
            pending: pipeline.pending(),
        }
    }
}
