//! A watch, step by step: the rules of [`watch_until`] and
//! [`watch_durably`] (perform the watcher's reads, wait, stop at the host's
//! deadline or cancel; act on a vanished anchor by storing its entry and
//! running the same TC again, again while its ACK may be rerun; an event
//! leaves the watcher only once acted on) as a sans-I/O machine, for hosts
//! that await their transport and storage (JavaScript, an event loop). The
//! blocking drivers are this machine over a blocking transport, outbox and
//! clock.
//!
//! [`watch_until`]: super::watch_until
//! [`watch_durably`]: super::watch_durably

use alloy_primitives::B256;

use crate::driver::{Opening, StopCause};
use crate::outbox::OutboxError;
use crate::time::UnixMillis;
use crate::validator::{Ack, InvalidReason, TransactionValidator, Transmit};
use crate::watcher::{AnchorWatcher, WatchEvent};

/// What a [`WatchRun`] asks its host to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum WatchStep {
    /// Perform the watcher's read `transmit` on the transport and hand its
    /// result to the watcher (its [`TakesReads`](crate::TakesReads)
    /// method), then poll again.
    Perform {
        /// The watcher's read.
        transmit: Transmit,
    },
    /// A vanished anchor's TI is pending again: store `entry` under `key`
    /// in the outbox ([`Outbox::save`](crate::outbox::Outbox::save)), then
    /// hand the outcome to [`WatchRun::handle_stored`].
    Save {
        /// The anchor's outbox key.
        key: B256,
        /// The entry that resends the same TC.
        entry: String,
    },
    /// Run the TC of `entry` (stored) to its ACKs, durably
    /// ([`TransactionValidator::from_json`], then
    /// [`run_durably`](crate::run_durably) or a [`ValidatorRun`](crate::ValidatorRun)),
    /// then hand the validator and its ACKs to [`WatchRun::handle_resent`].
    Resend {
        /// The stored entry.
        entry: String,
    },
    /// An event the run acted on (a final anchor; a vanished one, resent):
    /// it has left the watcher; `resent` holds the ACKs of its resent TC.
    Event {
        /// The watcher's event.
        event: WatchEvent,
        /// The ACKs of the TC resent for a vanished anchor, oldest first.
        resent: Vec<Ack>,
    },
    /// Nothing to do before `until` (Unix milliseconds): wait, waking early
    /// when the host cancels, then poll again.
    Wait {
        /// When to poll again.
        until: UnixMillis,
    },
    /// The result of the [`WatchStep::Perform`] handed out is not handed in
    /// yet: nothing to do until it is.
    Awaiting,
    /// The run is over: nothing is left to watch, or the host's deadline
    /// passed, or it cancelled.
    Done,
}

/// Where the run stands with the vanished anchor at the watcher's front.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Acting {
    /// Its entry is being stored.
    Saving,
    /// Its TC is being run.
    Resending,
    /// Its TC ran; run it again when its ACKs may be rerun.
    Resent { rerun: bool },
}

/// One run of an [`AnchorWatcher`], driven by a host that performs each
/// step itself and may await it: poll a [`WatchStep`], do it, hand its
/// outcome in, poll again, until [`WatchStep::Done`]. Pass the same watcher
/// on every call.
///
/// With `resend`, the run acts on the watcher's events and hands each out
/// as a [`WatchStep::Event`] once acted on: a vanished anchor's TI is moved
/// back to pending (its entry stored) and the same TC is run again, again
/// while its ACKs are invalid but may be rerun and the host's limits allow,
/// and its valid ACK is watched in turn. Without, the events stay in the
/// watcher for the host ([`AnchorWatcher::poll_event`]).
#[derive(Clone, Debug)]
pub struct WatchRun {
    deadline: Option<UnixMillis>,
    resend: bool,
    acting: Option<Acting>,
    resent: Vec<Ack>,
    opening: Opening<WatchStep>,
}

impl WatchRun {
    /// A run that stops at `deadline` (Unix milliseconds on the host's
    /// clock; `None`: only an empty watcher or a cancel end it), acting on
    /// vanished anchors when `resend`.
    #[must_use]
    pub fn new(deadline: Option<UnixMillis>, resend: bool) -> Self {
        Self {
            deadline,
            resend,
            acting: None,
            resent: Vec::new(),
            opening: Opening::new(false),
        }
    }

    /// The next step at `now`; `cancelled` says whether the host cancelled.
    /// While a [`WatchStep::Perform`]'s result is not handed in, the step is
    /// [`WatchStep::Awaiting`].
    pub fn poll(
        &mut self,
        watcher: &mut AnchorWatcher,
        now: UnixMillis,
        cancelled: bool,
    ) -> WatchStep {
        // A read the host's own loop handed out and never answered is asked
        // again at the first poll.
        if let Some(end) = self.opening.open(|| watcher.ask_again()) {
            return end;
        }
        let reached = StopCause::at(now, self.deadline, cancelled).is_some();
        if self.resend {
            match watcher.peek_event() {
                Some(WatchEvent::Vanished { key, entry, .. }) => {
                    let (key, entry) = (*key, entry.clone());
                    return self.act_on(watcher, key, entry, reached);
                }
                Some(WatchEvent::Final { .. }) => return self.hand_out(watcher),
                None => {}
            }
        }
        if reached {
            return WatchStep::Done;
        }
        if let Some(transmit) = watcher.poll_transmit(now) {
            return WatchStep::Perform { transmit };
        }
        match watcher.poll_timeout() {
            Some(next) => WatchStep::Wait {
                until: self.deadline.map_or(next, |d| d.min(next)),
            },
            // Something watched, nothing to wait for: a read is out.
            None if !watcher.is_empty() => WatchStep::Awaiting,
            None => WatchStep::Done,
        }
    }

    /// The next step for the vanished anchor at the watcher's front (`key`,
    /// `entry`): store its entry, run its TC, again while it may be rerun;
    /// then it leaves the watcher.
    fn act_on(
        &mut self,
        watcher: &mut AnchorWatcher,
        key: B256,
        entry: String,
        reached: bool,
    ) -> WatchStep {
        match self.acting {
            None | Some(Acting::Saving) => {}
            Some(Acting::Resending) => return WatchStep::Resend { entry },
            Some(Acting::Resent { rerun }) if rerun && !reached => {}
            Some(Acting::Resent { .. }) => return self.hand_out(watcher),
        }
        self.acting = Some(Acting::Saving);
        WatchStep::Save { key, entry }
    }

    /// The event at the front leaves the watcher, with its resent ACKs.
    fn hand_out(&mut self, watcher: &mut AnchorWatcher) -> WatchStep {
        self.acting = None;
        match watcher.poll_event() {
            Some(event) => WatchStep::Event {
                event,
                resent: std::mem::take(&mut self.resent),
            },
            None => WatchStep::Done,
        }
    }

    /// The outcome of the [`WatchStep::Save`] just performed (`Ok` once
    /// stored durably). With no save out, it is ignored (a report handed in
    /// twice cannot let a resend go without its save).
    ///
    /// # Errors
    /// The outbox's error, handed back: the host ends the run there, and
    /// the event stays in the watcher with those after it, so a later run
    /// acts on it.
    pub fn handle_stored(&mut self, result: Result<(), OutboxError>) -> Result<(), OutboxError> {
        if self.acting != Some(Acting::Saving) {
            return Ok(());
        }
        match result {
            Ok(()) => {
                self.acting = Some(Acting::Resending);
                Ok(())
            }
            Err(error) => {
                self.acting = None;
                Err(error)
            }
        }
    }

    /// The outcome of the [`WatchStep::Resend`] just performed: the
    /// validator that ran the TC and its ACKs, or `None` when that run
    /// stopped before its verdict (its entry stays pending in the outbox,
    /// for the host to resume). A valid ACK is watched; the TC is run again
    /// while every ACK is invalid but may be rerun
    /// ([`InvalidReason::may_rerun`]) and the host's limits allow. With no
    /// resend out, it is ignored (a stray report cannot hand the event out
    /// unsaved or unsent).
    pub fn handle_resent(
        &mut self,
        watcher: &mut AnchorWatcher,
        validator: &TransactionValidator,
        acks: Option<Vec<Ack>>,
    ) {
        if self.acting != Some(Acting::Resending) {
            return;
        }
        let Some(acks) = acks else {
            self.acting = Some(Acting::Resent { rerun: false });
            return;
        };
        let rerun = !acks.is_empty()
            && acks
                .iter()
                .all(|a| a.reason().is_some_and(InvalidReason::may_rerun));
        if let Some(ack) = acks.iter().find(|a| a.is_valid()) {
            // A valid ACK of this validator: accepted.
            let _ = watcher.watch(validator, ack);
        }
        self.resent.extend(acks);
        self.acting = Some(Acting::Resent { rerun });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::finality::Finality;
    use crate::transport::{SubmissionStatus, TransportError};
    use crate::validator::AckStatus;
    use crate::validator::tests::{conclude, config, receipt, tc, tx};
    use crate::watcher::WatcherConfig;

    /// A watcher over TI 1's valid ACK (`tx(7)` in block 5), and its
    /// validator.
    fn watching() -> (AnchorWatcher, TransactionValidator) {
        let mut v = TransactionValidator::new(&tc(), config());
        let ack = conclude(&mut v, &receipt(tx(7), 5, true, None));
        let mut w = AnchorWatcher::new(WatcherConfig {
            depth: 4,
            poll_interval_ms: 1_000,
            backoff_initial_ms: 100,
            backoff_max_ms: 400,
            finality: Finality::Depth,
        });
        w.watch(&v, &ack).unwrap();
        (w, v)
    }

    /// Steps `run` at 0 through a chain that reorged `tx(7)` out and holds
    /// nothing under the TI: the step after the reads.
    fn after_the_reorg(run: &mut WatchRun, w: &mut AnchorWatcher) -> WatchStep {
        loop {
            let now = UnixMillis(0);
            let WatchStep::Perform { transmit } = run.poll(w, now, false) else {
                return run.poll(w, now, false);
            };
            match transmit {
                Transmit::ReadHead => w.handle_head(now, Ok(9)),
                Transmit::Poll { .. } => w.handle_receipt(now, Ok(SubmissionStatus::Dropped)),
                Transmit::ReadRecord { .. } => w.handle_record(now, Ok(None)),
                other => panic!("not asked: {other:?}"),
            }
            .unwrap();
        }
    }

    /// A run over `w` (watching) that found its anchor gone, stored its
    /// entry and was asked to resend its TC.
    fn resending(w: &mut AnchorWatcher) -> WatchRun {
        let mut run = WatchRun::new(None, true);
        assert!(matches!(
            after_the_reorg(&mut run, w),
            WatchStep::Save { .. }
        ));
        run.handle_stored(Ok(())).unwrap();
        assert!(matches!(
            run.poll(w, UnixMillis(0), false),
            WatchStep::Resend { .. }
        ));
        run
    }

    /// An invalid ACK that running the TC again may settle.
    fn not_anchored() -> Ack {
        Ack {
            ti_id: tc().ti_id,
            template_id: tc().template_id,
            record_hash: Some(tc().record_hash),
            envelope: None,
            authorship: None,
            status: AckStatus::Invalid {
                reason: InvalidReason::NotAnchored {
                    cause: Box::new(InvalidReason::TransportRejected {
                        error: TransportError::Rejected("dropped again".into()),
                    }),
                    read_at_head: None,
                },
                tx_hashes: vec![tx(8)],
            },
        }
    }

    #[test]
    fn reports_nothing_asked_for_are_ignored() {
        let (mut w, v) = watching();
        let mut run = WatchRun::new(None, true);
        // Handed in before any save or resend was asked for.
        run.handle_stored(Ok(())).unwrap();
        run.handle_resent(&mut w, &v, None);
        let WatchStep::Save { key, .. } = after_the_reorg(&mut run, &mut w) else {
            panic!("the vanished TI is not stored first");
        };
        assert_eq!(key, tc().ti_id);
        // Saving: a stray resend report neither skips the save nor hands
        // the event out.
        run.handle_resent(&mut w, &v, None);
        assert!(matches!(
            run.poll(&mut w, UnixMillis(0), false),
            WatchStep::Save { .. }
        ));
        run.handle_stored(Ok(())).unwrap();
        // Resending: a second store report changes nothing.
        run.handle_stored(Err(OutboxError("late".into()))).unwrap();
        assert!(matches!(
            run.poll(&mut w, UnixMillis(0), false),
            WatchStep::Resend { .. }
        ));
        assert!(w.peek_event().is_some());
    }

    #[test]
    fn a_vanished_anchor_is_stored_then_resent_and_only_then_leaves_the_watcher() {
        let (mut w, _) = watching();
        let mut run = WatchRun::new(None, true);
        let WatchStep::Save { key, entry } = after_the_reorg(&mut run, &mut w) else {
            panic!("the vanished TI is not stored first");
        };
        assert_eq!(key, tc().ti_id);
        // A failed store ends the run; the event stays for the next.
        assert_eq!(
            run.handle_stored(Err(OutboxError("disk full".into()))),
            Err(OutboxError("disk full".into()))
        );
        assert!(matches!(w.peek_event(), Some(WatchEvent::Vanished { .. })));
        let mut run = WatchRun::new(None, true);
        let save = run.poll(&mut w, UnixMillis(0), false);
        assert_eq!(
            save,
            WatchStep::Save {
                key,
                entry: entry.clone()
            }
        );
        // Not stored yet: asked again.
        assert_eq!(run.poll(&mut w, UnixMillis(0), false), save);
        run.handle_stored(Ok(())).unwrap();
        assert_eq!(
            run.poll(&mut w, UnixMillis(0), false),
            WatchStep::Resend {
                entry: entry.clone()
            }
        );
        assert!(w.peek_event().is_some(), "left before it was resent");
        // Resent: a new transaction, valid; watched in turn.
        let mut again = TransactionValidator::new(&tc(), config());
        let ack = conclude(&mut again, &receipt(tx(8), 12, true, None));
        run.handle_resent(&mut w, &again, Some(vec![ack.clone()]));
        let WatchStep::Event { event, resent } = run.poll(&mut w, UnixMillis(0), false) else {
            panic!("the event is not handed out");
        };
        assert!(matches!(event, WatchEvent::Vanished { entry: e, .. } if e == entry));
        assert_eq!(resent, vec![ack]);
        assert!(w.peek_event().is_none());
        assert!(!w.is_empty(), "the new anchor is not watched");
    }

    #[test]
    fn a_resend_runs_again_while_it_may_be_rerun_and_the_host_allows() {
        for (deadline, reruns) in [(None, true), (Some(UnixMillis(0)), false)] {
            let (mut w, v) = watching();
            let mut run = resending(&mut w);
            run.handle_resent(&mut w, &v, Some(vec![not_anchored()]));
            // The host's deadline passed (its limits as the run knows them).
            run.deadline = deadline;
            let next = run.poll(&mut w, UnixMillis(0), false);
            assert_eq!(matches!(next, WatchStep::Save { .. }), reruns, "{next:?}");
            if reruns {
                // Stopped before its verdict this time: pending, handed out.
                run.handle_stored(Ok(())).unwrap();
                assert!(matches!(
                    run.poll(&mut w, UnixMillis(0), false),
                    WatchStep::Resend { .. }
                ));
                run.handle_resent(&mut w, &v, None);
                let WatchStep::Event { resent, .. } = run.poll(&mut w, UnixMillis(0), false) else {
                    panic!("not handed out");
                };
                assert_eq!(resent, vec![not_anchored()], "the first run's ACK");
            } else {
                assert!(matches!(next, WatchStep::Event { .. }));
            }
        }
    }

    #[test]
    fn a_poll_before_the_read_is_answered_awaits_it_and_never_ends_the_run() {
        let (mut w, _) = watching();
        let mut run = WatchRun::new(None, true);
        let read = run.poll(&mut w, UnixMillis(0), false);
        assert!(matches!(read, WatchStep::Perform { .. }), "{read:?}");
        assert_eq!(run.poll(&mut w, UnixMillis(0), false), WatchStep::Awaiting);
        // A new run asks it again.
        assert_eq!(
            WatchRun::new(None, true).poll(&mut w, UnixMillis(0), false),
            read
        );
    }

    #[test]
    fn a_resend_that_gave_no_ack_is_not_run_again() {
        let (mut w, v) = watching();
        let mut run = resending(&mut w);
        run.handle_resent(&mut w, &v, Some(Vec::new()));
        assert!(matches!(
            run.poll(&mut w, UnixMillis(0), false),
            WatchStep::Event { .. }
        ));
    }

    #[test]
    fn without_resending_the_events_stay_in_the_watcher() {
        let (mut w, _) = watching();
        let mut run = WatchRun::new(None, false);
        assert_eq!(after_the_reorg(&mut run, &mut w), WatchStep::Done);
        assert!(matches!(w.poll_event(), Some(WatchEvent::Vanished { .. })));
    }

    #[test]
    fn a_run_ends_at_the_deadline_or_a_cancel_or_with_nothing_watched() {
        let (mut w, _) = watching();
        let mut run = WatchRun::new(Some(UnixMillis(500)), true);
        assert!(matches!(
            run.poll(&mut w, UnixMillis(0), false),
            WatchStep::Perform { .. }
        ));
        w.handle_head(UnixMillis(0), Ok(6)).unwrap();
        assert!(matches!(
            run.poll(&mut w, UnixMillis(0), false),
            WatchStep::Perform { .. }
        ));
        let r = receipt(tx(7), 5, true, None);
        w.handle_receipt(UnixMillis(0), Ok(SubmissionStatus::Included(r)))
            .unwrap();
        // Not final yet: the next round is after the deadline.
        assert_eq!(
            run.poll(&mut w, UnixMillis(0), false),
            WatchStep::Wait {
                until: UnixMillis(500)
            }
        );
        assert_eq!(run.poll(&mut w, UnixMillis(500), false), WatchStep::Done);
        assert_eq!(
            WatchRun::new(None, true).poll(&mut w, UnixMillis(0), true),
            WatchStep::Done
        );
        assert_eq!(
            WatchRun::new(None, true).poll(
                &mut AnchorWatcher::new(WatcherConfig::default()),
                UnixMillis(0),
                false
            ),
            WatchStep::Done
        );
    }
}
