//! `ehr_watch_run`: a watch of an `ehr_watcher`, step by step, for a host
//! with its own event loop that performs each step itself: the core's
//! `WatchRun`, the rules of `ehr_watcher_run_durably` (the watcher's reads
//! performed, a wait ending at the host's deadline or cancel; a vanished
//! anchor's entry stored before its TC is run again, again while its ACKs
//! may be rerun; an event leaving the watcher only once acted on). This
//! module only converts.

use std::ffi::c_char;

use ehrchain_core::watcher::WatchEvent;
use ehrchain_core::{Ack, ErrorCode, Transmit, WatchRun, WatchStep};

use super::{deadline, give_ack, write_step};
use crate::handshaker::ehr_ack;
use crate::outbox::stored;
use crate::ptr;
use crate::reads::ReaderHandle;
use crate::result::{Error, ehr_result};
use crate::shapes::{free, guard_on, guard_on_mut, json_text, made, text_of};
use crate::validator::{ehr_transmit, ehr_validator};
use crate::watcher::ehr_watcher;
use ehrchain_core::UnixMillis;

/// One watch of an `ehr_watcher`, step by step: poll a step
/// (`ehr_watch_run_poll`), do it, hand its outcome in, poll again, until
/// `EHR_WATCH_DONE`. Pass the same watcher on every call. Free it with
/// `ehr_watch_run_free`.
///
/// Thread safety: a handle may be moved to another thread, but not used from
/// two threads at once.
pub struct ehr_watch_run {
    run: WatchRun,
    /// The entry of the last `EHR_WATCH_SAVE` or `EHR_WATCH_RESEND`.
    entry: String,
    /// The event of the last `EHR_WATCH_EVENT`.
    event: Option<WatchEvent>,
    /// The ACKs its resends made.
    acks: Vec<Ack>,
}

impl ehr_watch_run {
    /// The C view of `step` and the action to perform, if any; keeps what
    /// the step hands out for the host to read.
    fn hand_out(&mut self, step: WatchStep) -> (ehr_watch_step, Option<Transmit>) {
        let mut c = ehr_watch_step::default();
        let mut read = None;
        let kind = match step {
            WatchStep::Perform { transmit } => {
                read = Some(transmit);
                ehr_watch_step_kind::EHR_WATCH_PERFORM
            }
            WatchStep::Save { key, entry } => {
                c.key = key.0;
                self.entry = entry;
                ehr_watch_step_kind::EHR_WATCH_SAVE
            }
            WatchStep::Resend { entry } => {
                self.entry = entry;
                ehr_watch_step_kind::EHR_WATCH_RESEND
            }
            WatchStep::Event { event, resent } => {
                c.ack_count = resent.len();
                (self.event, self.acks) = (Some(event), resent);
                ehr_watch_step_kind::EHR_WATCH_EVENT
            }
            WatchStep::Wait { until } => {
                c.until_ms = until.as_millis();
                ehr_watch_step_kind::EHR_WATCH_WAIT
            }
            WatchStep::Awaiting => ehr_watch_step_kind::EHR_WATCH_AWAITING,
            WatchStep::Done => ehr_watch_step_kind::EHR_WATCH_DONE,
        };
        c.kind = kind as u32;
        (c, read)
    }
}

/// What an `ehr_watch_step` asks of the host.
#[repr(u32)]
#[derive(Clone, Copy, Debug)]
pub enum ehr_watch_step_kind {
    /// Perform the watcher's read written to `transmit_out`
    /// (`EHR_TRANSMIT_READ_HEAD`, `_READ_BLOCK`, `_POLL`, `_READ_RECORD` or
    /// `_READ_BATCH`) and hand its result to the matching
    /// `ehr_watcher_handle_*` function, then poll.
    EHR_WATCH_PERFORM = 1,
    /// A vanished anchor's TI is pending again: store its entry
    /// (`ehr_watch_run_entry`) under `key` in the outbox, then hand the
    /// outcome to `ehr_watch_run_handle_stored`. Its TC is not run before.
    EHR_WATCH_SAVE = 2,
    /// Run the TC of the stored entry (`ehr_watch_run_entry`) to its ACKs,
    /// durably (`ehr_validator_from_json`, then an `ehr_durable_run` or
    /// `ehr_validator_run_durably`), then hand the validator and its ACKs
    /// to `ehr_watch_run_handle_resent`. If that run fails (the outbox, or
    /// an entry that does not read back), hand nothing in and end the run:
    /// the event stays in the watcher for a later run, as in Rust and
    /// JavaScript.
    EHR_WATCH_RESEND = 3,
    /// An event the run acted on (`ehr_watch_run_event`: a final anchor,
    /// or a vanished one resent), which has left the watcher, with the
    /// `ack_count` ACKs of its resent TC (`ehr_watch_run_ack`).
    EHR_WATCH_EVENT = 4,
    /// Nothing to do before `until_ms`: wait (waking early to cancel), then
    /// poll.
    EHR_WATCH_WAIT = 5,
    /// The result of the read performed is not handed in yet: nothing to
    /// do until it is (the host's loop woke up for something else).
    EHR_WATCH_AWAITING = 6,
    /// The run is over: nothing is left to watch, or the host's deadline
    /// passed, or it cancelled.
    EHR_WATCH_DONE = 7,
}

/// The next step of an `ehr_watch_run` (`ehr_watch_run_poll`). Only the
/// fields its `kind` names are set; the others are zero.
#[repr(C)]
#[derive(Debug)]
pub struct ehr_watch_step {
    /// `sizeof(ehr_watch_step)` as the host's header declares it
    /// (`EHR_WATCH_STEP_INIT` sets it): which of the fields below the host's
    /// struct has (README, "Extensible structs").
    pub struct_size: usize,
    /// What to do: an `ehr_watch_step_kind`.
    pub kind: u32,
    /// `EHR_WATCH_SAVE`: the entry's key (the TI id, or the batch's root).
    pub key: [u8; 32],
    /// `EHR_WATCH_WAIT`: when to poll again (Unix milliseconds).
    pub until_ms: u64,
    /// `EHR_WATCH_EVENT`: how many ACKs the event's resends made.
    pub ack_count: usize,
}

/// Makes a watch that stops at `deadline_ms` (Unix milliseconds; 0 for
/// none: only an empty watcher or a cancel end it), acting on vanished
/// anchors when `resend` (without, their events stay in the watcher for
/// `ehr_watcher_poll_event`). Free it with `ehr_watch_run_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watch_run_new(
    deadline_ms: u64,
    resend: bool,
    run_out: *mut *mut ehr_watch_run,
) -> ehr_result {
    made(run_out, "run_out", || ehr_watch_run {
        run: WatchRun::new(deadline(deadline_ms), resend),
        entry: String::new(),
        event: None,
        acks: Vec::new(),
    })
}

/// Writes the next step of `run` for `watcher` at `now_ms` to `step_out`,
/// and its read to `transmit_out` (`EHR_TRANSMIT_NONE` unless the step is
/// `EHR_WATCH_PERFORM`); `cancelled`: the host cancelled. A read handed out
/// before the run's first poll and never answered is asked again then;
/// while the result of the read performed is not handed in, the step is
/// `EHR_WATCH_AWAITING`; while a `EHR_WATCH_SAVE` or `EHR_WATCH_RESEND`
/// awaits its outcome, it is handed out again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watch_run_poll(
    run: *mut ehr_watch_run,
    watcher: *mut ehr_watcher,
    now_ms: u64,
    cancelled: bool,
    step_out: *mut ehr_watch_step,
    transmit_out: *mut ehr_transmit,
) -> ehr_result {
    guard_on_mut(run, "run", |run| {
        let watcher = ptr::handle_mut(watcher, "watcher")?.machine();
        write_step(watcher, step_out, transmit_out, |w| {
            let step = run.run.poll(w, UnixMillis(now_ms), cancelled);
            run.hand_out(step)
        })
    })
}

/// Writes the entry of the last `EHR_WATCH_SAVE` or `EHR_WATCH_RESEND` (the
/// vanished anchor's outbox entry, format `ehrchain.validator/2`, which
/// resends the same TC) as NUL-terminated text into `buf` (text-output
/// rules: `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watch_run_entry(
    run: *const ehr_watch_run,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard_on(run, "run", |run| {
        ptr::write_text(buf, len, out_len, &run.entry)
    })
}

/// Writes the event of the last `EHR_WATCH_EVENT` as NUL-terminated JSON
/// into `buf` (text-output rules: `ehr_result_message`), in the form of
/// `ehr_watcher_poll_event`. `EHR_NOT_PRESENT` before the first.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watch_run_event(
    run: *const ehr_watch_run,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(run, buf, len, out_len, "run", |run| {
        let event = run.event.as_ref().ok_or_else(|| {
            Error::new(
                ErrorCode::NotPresent,
                "the run has handed out no EHR_WATCH_EVENT step yet",
            )
        })?;
        json_text(event)
    })
}

/// Writes a copy of ACK `index` of the last `EHR_WATCH_EVENT` (the ACKs of
/// its resent TC, oldest first) to `ack_out` (free it with
/// `ehr_ack_free`); `EHR_INVALID_ARGUMENT` for an index at or past its
/// `ack_count`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watch_run_ack(
    run: *const ehr_watch_run,
    index: usize,
    ack_out: *mut *mut ehr_ack,
) -> ehr_result {
    guard_on(run, "run", |run| give_ack(&run.acks, index, ack_out))
}

/// Hands in the outcome of the last `EHR_WATCH_SAVE`: `EHR_OK` once stored
/// durably, or the host's failure code. Returns `EHR_OUTBOX_UNAVAILABLE`
/// for a failure: the host ends the run there, and the event stays in the
/// watcher with those after it, so a later run acts on it. With no
/// `EHR_WATCH_SAVE` out, the outcome is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watch_run_handle_stored(
    run: *mut ehr_watch_run,
    result: ehr_result,
) -> ehr_result {
    guard_on_mut(run, "run", |run| {
        run.run.handle_stored(stored(result))?;
        Ok(())
    })
}

/// Hands in the outcome of the last `EHR_WATCH_RESEND`: `validator`, which
/// ran the entry's TC, and, when `acked`, its `acks_len` ACKs (`acks`; may
/// be NULL when `acks_len` is 0). `acked` false: that run stopped before
/// its verdict (`EHR_DURABLE_PENDING`, `EHR_STILL_PENDING`), its entry
/// pending in the outbox for the host to resume; `acks` is not read. A
/// valid ACK is watched; the TC is run again while every ACK is invalid
/// but may be rerun and the host's limits allow. The ACKs are copied. With
/// no `EHR_WATCH_RESEND` out, the outcome is ignored; a resend that failed
/// is not handed in at all (`EHR_WATCH_RESEND`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watch_run_handle_resent(
    run: *mut ehr_watch_run,
    watcher: *mut ehr_watcher,
    validator: *const ehr_validator,
    acked: bool,
    acks: *const *const ehr_ack,
    acks_len: usize,
) -> ehr_result {
    guard_on_mut(run, "run", |run| {
        let watcher = ptr::handle_mut(watcher, "watcher")?.machine();
        let validator = ptr::handle(validator, "validator")?;
        let acks = match (acked, acks_len) {
            (false, _) => None,
            (true, 0) => Some(Vec::new()),
            (true, n) => Some(
                ptr::handles(acks, n, "acks")?
                    .into_iter()
                    .map(|a| a.ack.clone())
                    .collect(),
            ),
        };
        run.run.handle_resent(watcher, &validator.v, acks);
        Ok(())
    })
}

/// Frees a watch run; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watch_run_free(run: *mut ehr_watch_run) {
    free(run);
}
