//! A durable run of one validator, step by step: [`run_durably`]'s rules
//! (ask again what was never answered, store before sending, stop at the
//! host's deadline with the entry stored, store the ACKs before taking them
//! out) as a sans-I/O machine, for hosts that await their transport and
//! their storage (JavaScript, an event loop). [`run_durably`] is this
//! machine over a blocking transport, outbox and clock, so both kinds of
//! host follow one set of rules.
//!
//! [`run_durably`]: super::run_durably

use alloy_primitives::B256;

use crate::driver::{Opening, StopCause, Stopped, perform};
use crate::outbox::{Outbox, OutboxError};
use crate::time::UnixMillis;
use crate::transport::Transport;
use crate::validator::{Ack, TransactionValidator, Transmit};

/// What a [`ValidatorRun`] asks its host to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum RunStep {
    /// Perform `transmit` on the transport (a submission or a chain read)
    /// and hand its result to the validator (`handle_submitted`, or the
    /// read's [`TakesReads`](crate::TakesReads) method), then poll again.
    Perform {
        /// The validator's action.
        transmit: Transmit,
    },
    /// Store `entry` under `key` in the outbox ([`Outbox::save`]), then hand
    /// the outcome to [`ValidatorRun::handle_stored`]. Nothing is sent
    /// before it is stored.
    ///
    /// [`Outbox::save`]: crate::outbox::Outbox::save
    Save {
        /// The entry's key ([`TransactionValidator::outbox_key`]).
        key: B256,
        /// The validator's entry ([`TransactionValidator::to_json`]).
        entry: String,
    },
    /// The verdict is reached: store the ACKs and remove the entry
    /// ([`Outbox::finish`]), then hand the outcome to
    /// [`ValidatorRun::handle_stored`]. The ACKs stay in the validator until
    /// they are stored.
    ///
    /// [`Outbox::finish`]: crate::outbox::Outbox::finish
    Finish {
        /// The entry's key (`None` for a TI refused before anything was
        /// stored).
        key: Option<B256>,
        /// The verdict's ACKs, one per TI.
        acks: Vec<Ack>,
    },
    /// Nothing to do before `until` (Unix milliseconds): wait, waking early
    /// when the host cancels, then poll again.
    Wait {
        /// When to poll again.
        until: UnixMillis,
    },
    /// The result of the [`RunStep::Perform`] handed out is not handed in
    /// yet: nothing to do until it is (a host's event loop woke up for
    /// something else).
    Awaiting,
    /// The run is over with the verdict: the ACKs, stored and taken out of
    /// the validator.
    Acked {
        /// The ACKs, one per TI.
        acks: Vec<Ack>,
    },
    /// The run stopped before the verdict (the host's deadline or cancel),
    /// the entry stored as it stands: the TI is pending, not invalid.
    Pending {
        /// Why and where it stopped.
        stopped: Stopped,
    },
}

/// What the host is storing for the run.
#[derive(Clone, Debug)]
enum Storing {
    /// The entry a [`Transmit::Persist`] asked for.
    Persist,
    /// The entry as it stands, before stopping.
    Stop(Stopped),
    /// The verdict's ACKs.
    Finish,
}

/// One durable run of a [`TransactionValidator`] to its verdict, driven by
/// a host that performs each step itself and may await it: poll a
/// [`RunStep`], do it, hand its outcome in, poll again, until
/// [`RunStep::Acked`] or [`RunStep::Pending`]. Pass the same validator on
/// every call. A run is cheap: make one per call of the host's driver.
///
/// ```
/// use ehrchain_core::{RunStep, ValidatorRun};
/// # use ehrchain_core::{TransactionValidator, UnixMillis};
/// # fn drive(validator: &mut TransactionValidator) {
/// let mut run = ValidatorRun::new(Some(UnixMillis(60_000)), true);
/// let now = UnixMillis(1_000);
/// match run.poll(validator, now, false) {
///     RunStep::Save { key, entry } => {
///         // store `entry` under `key`, then:
///         let _ = run.handle_stored(validator, now, Ok(()));
///     }
///     RunStep::Acked { acks } => { /* the verdict */ }
///     _ => { /* perform, finish, wait, awaiting, pending */ }
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ValidatorRun {
    deadline: Option<UnixMillis>,
    keeps_entries: bool,
    storing: Option<Storing>,
    opening: Opening<RunStep>,
}

impl ValidatorRun {
    /// A run that stops at `deadline` (Unix milliseconds on the host's
    /// clock; `None`: only the verdict or a cancel end it), storing entries
    /// only when the host's outbox keeps them (`keeps_entries`: `false` for
    /// a host without one; its verdicts are still handed to `finish`).
    #[must_use]
    pub fn new(deadline: Option<UnixMillis>, keeps_entries: bool) -> Self {
        Self {
            deadline,
            keeps_entries,
            storing: None,
            opening: Opening::new(false),
        }
    }

    /// The next step at `now`; `cancelled` says whether the host cancelled
    /// (checked at every poll, as the deadline is). The first poll asks
    /// again an action that was handed out and never answered
    /// ([`TransactionValidator::ask_again`]). While a [`RunStep::Save`] or
    /// [`RunStep::Finish`] awaits its outcome, it is handed out again; while
    /// a [`RunStep::Perform`]'s result is not handed in, the step is
    /// [`RunStep::Awaiting`].
    pub fn poll(
        &mut self,
        validator: &mut TransactionValidator,
        now: UnixMillis,
        cancelled: bool,
    ) -> RunStep {
        if let Some(end) = self.opening.open(|| validator.ask_again()) {
            return end;
        }
        if let Some(storing) = &self.storing {
            // Not stored yet: the same step again (nothing changed since).
            match Self::storing_step(storing, validator, self.keeps_entries) {
                Some(step) => return step,
                None => self.storing = None,
            }
        }
        validator.handle_timeout(now);
        loop {
            if !validator.is_finished()
                && let Some(cause) = StopCause::at(now, self.deadline, cancelled)
            {
                return self.stop(validator, cause, now);
            }
            match validator.poll_transmit(now) {
                Some(Transmit::Persist) => match self.store(Storing::Persist, validator) {
                    Some(step) => return step,
                    // Nothing to store: stored.
                    None => {
                        let _ = validator.handle_persisted(now, Ok(()));
                    }
                },
                Some(transmit) => return RunStep::Perform { transmit },
                None if awaits_result(validator) => return RunStep::Awaiting,
                None => return self.wait_or_finish(validator),
            }
        }
    }

    /// Performs every step due at `now` that is an action (a chain action
    /// on `transport`, a store in `outbox`) and returns the first that is
    /// not: a [`RunStep::Wait`], [`RunStep::Acked`] or [`RunStep::Pending`].
    /// For a host with a blocking transport and outbox that waits its own
    /// way ([`run_durably`](crate::run_durably) waits on a clock).
    ///
    /// # Errors
    /// The outbox's error (see [`handle_stored`](Self::handle_stored)).
    pub fn perform_due<O: Outbox + ?Sized, T: Transport + ?Sized>(
        &mut self,
        validator: &mut TransactionValidator,
        outbox: &mut O,
        transport: &mut T,
        now: UnixMillis,
        cancelled: bool,
    ) -> Result<RunStep, OutboxError> {
        loop {
            match self.poll(validator, now, cancelled) {
                RunStep::Perform { transmit } => perform(validator, transport, now, transmit),
                RunStep::Save { key, entry } => {
                    let stored = outbox.save(&key, &entry);
                    self.handle_stored(validator, now, stored)?;
                }
                RunStep::Finish { key, acks } => {
                    let stored = outbox.finish(key.as_ref(), &acks);
                    self.handle_stored(validator, now, stored)?;
                }
                step => return Ok(step),
            }
        }
    }

    /// The outcome of the [`RunStep::Save`] or [`RunStep::Finish`] just
    /// performed (`Ok` once stored durably). The ACKs of a stored verdict
    /// leave the validator, and the next poll gives them.
    ///
    /// # Errors
    /// The outbox's error, handed back: the host ends the run there
    /// (nothing more is sent), and the validator keeps what was not stored
    /// (its entry is asked for again after the backoff; a verdict's ACKs
    /// stay in it), so it can be run again once the storage works.
    pub fn handle_stored(
        &mut self,
        validator: &mut TransactionValidator,
        now: UnixMillis,
        result: Result<(), OutboxError>,
    ) -> Result<(), OutboxError> {
        match self.storing.take() {
            Some(Storing::Persist) => {
                // The validator asked for this write: accepted.
                let _ = validator.handle_persisted(now, result.clone());
                result
            }
            Some(Storing::Stop(stopped)) => {
                result?;
                self.opening.end(RunStep::Pending { stopped });
                Ok(())
            }
            Some(Storing::Finish) => {
                result?;
                let acks = std::iter::from_fn(|| validator.poll_ack()).collect();
                self.opening.end(RunStep::Acked { acks });
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// The step that stores `storing`: the entry (when the host keeps
    /// entries and the validator has one), or the verdict's ACKs (when
    /// there are any).
    fn storing_step(
        storing: &Storing,
        validator: &TransactionValidator,
        keeps_entries: bool,
    ) -> Option<RunStep> {
        match storing {
            Storing::Persist | Storing::Stop(_) => keeps_entries
                .then(|| validator.outbox_entry())
                .flatten()
                .map(|(key, entry)| RunStep::Save { key, entry }),
            Storing::Finish => {
                let acks: Vec<Ack> = validator.pending_acks().cloned().collect();
                (!acks.is_empty()).then(|| RunStep::Finish {
                    key: validator.outbox_key(),
                    acks,
                })
            }
        }
    }

    /// Asks the host to store `storing`; `None` when there is nothing to
    /// store (stored, then).
    fn store(&mut self, storing: Storing, validator: &TransactionValidator) -> Option<RunStep> {
        let step = Self::storing_step(&storing, validator, self.keeps_entries)?;
        self.storing = Some(storing);
        Some(step)
    }

    /// Stops before the verdict: the entry as it stands is stored first.
    fn stop(
        &mut self,
        validator: &TransactionValidator,
        cause: StopCause,
        at: UnixMillis,
    ) -> RunStep {
        let stopped = Stopped {
            cause,
            at,
            state: Box::new(validator.state()),
        };
        // The same entry as a persist's.
        match Self::storing_step(&Storing::Persist, validator, self.keeps_entries) {
            Some(step) => {
                self.storing = Some(Storing::Stop(stopped));
                step
            }
            None => RunStep::Pending { stopped },
        }
    }

    /// Nothing to perform: wait for the validator's next time (or the
    /// deadline), or store the verdict. The ACKs are stored before they are
    /// taken out; none left (handed out before) finishes nothing.
    fn wait_or_finish(&mut self, validator: &TransactionValidator) -> RunStep {
        if !validator.is_finished()
            && let Some(next) = validator.poll_timeout()
        {
            let until = self.deadline.map_or(next, |d| d.min(next));
            return RunStep::Wait { until };
        }
        // Finished, or (not reachable) unfinished with nothing to wait for:
        // end rather than spin.
        self.store(Storing::Finish, validator)
            .unwrap_or(RunStep::Acked { acks: Vec::new() })
    }
}

/// Whether `validator` waits for the result of an action it handed out.
fn awaits_result(validator: &TransactionValidator) -> bool {
    !validator.is_finished() && validator.poll_timeout().is_none()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::transport::SubmissionStatus;
    use crate::validator::tests::{config, receipt, tc, tx};
    use crate::validator::{TransactionValidator, ValidatorState};

    /// The chain's answer to `transmit`: sent as `tx(7)`, mined in block 5,
    /// the head at block 9 (confirmed).
    fn answer(v: &mut TransactionValidator, now: UnixMillis, transmit: Transmit) {
        match transmit {
            Transmit::Submit { .. } => v.handle_submitted(now, Ok(tx(7))),
            Transmit::Poll { .. } => {
                let r = receipt(tx(7), 5, true, None);
                v.handle_receipt(now, Ok(SubmissionStatus::Included(r)))
            }
            Transmit::ReadHead => v.handle_head(now, Ok(9)),
            other => panic!("not asked in these tests: {other:?}"),
        }
        .unwrap();
    }

    /// Steps `run` until it asks to store or ends, answering every chain
    /// action and waiting as asked; that step.
    fn until_stored_or_ended(run: &mut ValidatorRun, v: &mut TransactionValidator) -> RunStep {
        let mut now = UnixMillis(0);
        loop {
            match run.poll(v, now, false) {
                RunStep::Perform { transmit } => answer(v, now, transmit),
                RunStep::Wait { until } => now = until,
                step => return step,
            }
        }
    }

    /// Stores the entry `run` asks for at 0 and returns the submission it
    /// hands out next.
    fn stored_then_sent(run: &mut ValidatorRun, v: &mut TransactionValidator) -> Transmit {
        assert!(matches!(
            run.poll(v, UnixMillis(0), false),
            RunStep::Save { .. }
        ));
        run.handle_stored(v, UnixMillis(0), Ok(())).unwrap();
        let RunStep::Perform { transmit } = run.poll(v, UnixMillis(0), false) else {
            panic!("nothing sent");
        };
        assert!(matches!(transmit, Transmit::Submit { .. }));
        transmit
    }

    fn refused() -> OutboxError {
        OutboxError("disk full".into())
    }

    #[test]
    fn the_entry_is_stored_before_the_submission_is_handed_out() {
        let mut v = TransactionValidator::new(&tc(), config());
        let mut run = ValidatorRun::new(None, true);
        let save = run.poll(&mut v, UnixMillis(0), false);
        assert_eq!(
            save,
            RunStep::Save {
                key: tc().ti_id,
                entry: v.to_json()
            }
        );
        // Not stored yet: asked again, nothing sent.
        assert_eq!(run.poll(&mut v, UnixMillis(0), false), save);
        run.handle_stored(&mut v, UnixMillis(0), Ok(())).unwrap();
        let RunStep::Perform { transmit } = run.poll(&mut v, UnixMillis(0), false) else {
            panic!("no submission after the entry was stored");
        };
        assert!(matches!(transmit, Transmit::Submit { .. }));
    }

    #[test]
    fn a_failed_write_ends_the_run_and_the_entry_is_asked_for_again() {
        let mut v = TransactionValidator::new(&tc(), config());
        let mut run = ValidatorRun::new(None, true);
        assert!(matches!(
            run.poll(&mut v, UnixMillis(0), false),
            RunStep::Save { .. }
        ));
        assert_eq!(
            run.handle_stored(&mut v, UnixMillis(0), Err(refused())),
            Err(refused())
        );
        // A later run sends nothing before the write succeeds.
        let mut again = ValidatorRun::new(None, true);
        let backoff = UnixMillis(config().backoff_initial_ms);
        assert_eq!(
            again.poll(&mut v, UnixMillis(0), false),
            RunStep::Wait { until: backoff }
        );
        assert!(matches!(
            again.poll(&mut v, backoff, false),
            RunStep::Save { .. }
        ));
    }

    #[test]
    fn the_acks_leave_the_validator_only_once_stored() {
        let mut v = TransactionValidator::new(&tc(), config());
        let mut run = ValidatorRun::new(None, true);
        assert!(matches!(
            until_stored_or_ended(&mut run, &mut v),
            RunStep::Save { .. }
        ));
        run.handle_stored(&mut v, UnixMillis(0), Ok(())).unwrap();
        let RunStep::Finish { key, acks } = until_stored_or_ended(&mut run, &mut v) else {
            panic!("no verdict to store");
        };
        assert_eq!(key, Some(tc().ti_id));
        assert_eq!(acks.len(), 1);
        assert!(acks[0].is_valid());
        assert_eq!(
            run.handle_stored(&mut v, UnixMillis(0), Err(refused())),
            Err(refused())
        );
        assert_eq!(v.pending_acks().count(), 1, "an ACK lost with its store");
        // The next run stores them again, then hands them out.
        let mut again = ValidatorRun::new(None, true);
        let finish = again.poll(&mut v, UnixMillis(0), false);
        assert_eq!(
            finish,
            RunStep::Finish {
                key,
                acks: acks.clone()
            }
        );
        again.handle_stored(&mut v, UnixMillis(0), Ok(())).unwrap();
        assert_eq!(v.pending_acks().count(), 0);
        assert_eq!(
            again.poll(&mut v, UnixMillis(0), false),
            RunStep::Acked { acks }
        );
        // Handed out once.
        assert_eq!(
            again.poll(&mut v, UnixMillis(0), false),
            RunStep::Acked { acks: Vec::new() }
        );
    }

    #[test]
    fn a_run_stops_at_the_deadline_or_a_cancel_only_once_the_entry_is_stored() {
        for (deadline, cancelled, cause) in [
            (Some(UnixMillis(500)), false, StopCause::Deadline),
            (None, true, StopCause::Cancelled),
        ] {
            let mut v = TransactionValidator::new(&tc(), config());
            let mut run = ValidatorRun::new(deadline, true);
            let transmit = stored_then_sent(&mut run, &mut v);
            answer(&mut v, UnixMillis(0), transmit);
            let at = UnixMillis(600);
            let save = run.poll(&mut v, at, cancelled);
            assert_eq!(
                save,
                RunStep::Save {
                    key: tc().ti_id,
                    entry: v.to_json()
                }
            );
            assert_eq!(run.poll(&mut v, at, cancelled), save);
            run.handle_stored(&mut v, at, Ok(())).unwrap();
            let stopped = Stopped {
                cause,
                at,
                state: Box::new(ValidatorState::Submitted { tx_hash: tx(7) }),
            };
            assert_eq!(
                run.poll(&mut v, at, cancelled),
                RunStep::Pending { stopped }
            );
        }
    }

    #[test]
    fn an_action_handed_out_and_never_answered_is_asked_again_first() {
        let mut v = TransactionValidator::new(&tc(), config());
        assert_eq!(v.poll_transmit(UnixMillis(0)), Some(Transmit::Persist));
        v.handle_persisted(UnixMillis(0), Ok(())).unwrap();
        // The host's own loop handed the submission out and lost its answer.
        assert!(matches!(
            v.poll_transmit(UnixMillis(0)),
            Some(Transmit::Submit { .. })
        ));
        // It may have gone out: the registry is read before anything is sent.
        assert_eq!(
            ValidatorRun::new(None, true).poll(&mut v, UnixMillis(0), false),
            RunStep::Perform {
                transmit: Transmit::ReadRecord { ti_id: tc().ti_id }
            }
        );
    }

    #[test]
    fn a_poll_before_the_result_is_handed_in_awaits_it_and_never_ends_the_run() {
        let mut v = TransactionValidator::new(&tc(), config());
        let mut run = ValidatorRun::new(None, true);
        let transmit = stored_then_sent(&mut run, &mut v);
        // Polled again (an event loop woke up), its answer not handed in.
        assert_eq!(run.poll(&mut v, UnixMillis(500), false), RunStep::Awaiting);
        assert_eq!(run.poll(&mut v, UnixMillis(900), false), RunStep::Awaiting);
        // The late answer is taken; the run goes on.
        answer(&mut v, UnixMillis(1_000), transmit);
        assert!(matches!(
            run.poll(&mut v, UnixMillis(1_000), false),
            RunStep::Wait { .. }
        ));
    }

    #[test]
    fn a_host_without_an_outbox_is_asked_to_store_nothing_but_the_verdict() {
        let mut v = TransactionValidator::new(&tc(), config());
        let mut run = ValidatorRun::new(None, false);
        let RunStep::Finish { acks, .. } = until_stored_or_ended(&mut run, &mut v) else {
            panic!("asked to store an entry without an outbox");
        };
        run.handle_stored(&mut v, UnixMillis(0), Ok(())).unwrap();
        assert_eq!(
            run.poll(&mut v, UnixMillis(0), false),
            RunStep::Acked { acks }
        );
    }
}
