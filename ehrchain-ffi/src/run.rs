//! `ehr_durable_run`: a durable run of a validator, step by step, for a
//! host with its own event loop that performs each step itself (its own
//! HTTP client, its own asynchronous database): the core's `ValidatorRun`,
//! the rules of `ehr_validator_run_durably` (an action never answered asked
//! again, the entry stored before anything is sent, a deadline or cancel
//! stopping the run only once the entry is stored, the ACKs leaving the
//! validator only once stored). Beside it, the same for a watch
//! (`ehr_watch_run`, module `watch`) and a drain (`ehr_drain_run`, module
//! `drain`); the three share the helpers at the end of this module.

use std::ffi::c_char;

use ehrchain_core::{Ack, RunStep, StopCause, TakesReads, Transmit, UnixMillis, ValidatorRun};

use crate::handshaker::ehr_ack;
use crate::outbox::stored;
use crate::ptr::{self, Extensible, Out, OutExtensible};
use crate::result::{Error, Result, ehr_result};
use crate::shapes::{free, guard_on, guard_on_mut, made};
use crate::validator::{ehr_transmit, ehr_validator};
use ehrchain_core::ErrorCode;

mod drain;
mod watch;

pub use drain::*;
pub use watch::*;

/// One run of an `ehr_validator` to its verdict, step by step: poll a step
/// (`ehr_durable_run_poll`), do it, hand its outcome in, poll again, until
/// `EHR_DURABLE_ACKED` or `EHR_DURABLE_PENDING`. Pass the same validator
/// on every call. Free it with `ehr_durable_run_free`.
///
/// Thread safety: a handle may be moved to another thread, but not used from
/// two threads at once.
pub struct ehr_durable_run {
    run: ValidatorRun,
    /// The entry of the last `EHR_DURABLE_SAVE`.
    entry: String,
    /// The ACKs of the last `EHR_DURABLE_FINISH` or `EHR_DURABLE_ACKED`.
    acks: Vec<Ack>,
}

impl ehr_durable_run {
    /// The C view of `step` and the action to perform, if any; keeps what
    /// the step hands out for the host to read.
    fn hand_out(&mut self, step: RunStep) -> (ehr_durable_step, Option<Transmit>) {
        let mut c = ehr_durable_step::default();
        let mut action = None;
        let kind = match step {
            RunStep::Perform { transmit } => {
                action = Some(transmit);
                ehr_durable_step_kind::EHR_DURABLE_PERFORM
            }
            RunStep::Save { key, entry } => {
                (c.has_key, c.key) = (true, key.0);
                self.entry = entry;
                ehr_durable_step_kind::EHR_DURABLE_SAVE
            }
            RunStep::Finish { key, acks } => {
                (c.has_key, c.key) = key.map_or((false, [0; 32]), |k| (true, k.0));
                c.ack_count = acks.len();
                self.acks = acks;
                ehr_durable_step_kind::EHR_DURABLE_FINISH
            }
            RunStep::Wait { until } => {
                c.until_ms = until.as_millis();
                ehr_durable_step_kind::EHR_DURABLE_WAIT
            }
            RunStep::Awaiting => ehr_durable_step_kind::EHR_DURABLE_AWAITING,
            RunStep::Acked { acks } => {
                c.ack_count = acks.len();
                self.acks = acks;
                ehr_durable_step_kind::EHR_DURABLE_ACKED
            }
            RunStep::Pending { stopped } => {
                c.stop_cause = stop_cause(stopped.cause);
                ehr_durable_step_kind::EHR_DURABLE_PENDING
            }
        };
        c.kind = kind as u32;
        (c, action)
    }
}

/// What an `ehr_durable_step` asks of the host.
#[repr(u32)]
#[derive(Clone, Copy, Debug)]
pub enum ehr_durable_step_kind {
    /// Perform the action written to `transmit_out` (a submission or a
    /// chain read; never `EHR_TRANSMIT_PERSIST`, which the run asks for as
    /// `EHR_DURABLE_SAVE`) and hand its result to the matching
    /// `ehr_validator_handle_*` function, then poll.
    EHR_DURABLE_PERFORM = 1,
    /// Store the entry (`ehr_durable_run_entry`) under `key`, then hand
    /// the outcome to `ehr_durable_run_handle_stored`. Nothing is sent
    /// before.
    EHR_DURABLE_SAVE = 2,
    /// Store the verdict's `ack_count` ACKs (`ehr_durable_run_ack`) and
    /// remove the entry under `key` (none when `has_key` is false), in one
    /// transaction, then hand the outcome to `ehr_durable_run_handle_stored`.
    EHR_DURABLE_FINISH = 3,
    /// Nothing to do before `until_ms`: wait (waking early to cancel), then
    /// poll.
    EHR_DURABLE_WAIT = 4,
    /// The result of the action performed is not handed in yet: nothing to
    /// do until it is (the host's loop woke up for something else).
    EHR_DURABLE_AWAITING = 7,
    /// The verdict: `ack_count` ACKs (`ehr_durable_run_ack`), stored. The
    /// run is over.
    EHR_DURABLE_ACKED = 5,
    /// Stopped by the host's deadline or cancel (`stop_cause`), the entry
    /// stored as it stands: the TI is pending, not invalid. The run is over.
    EHR_DURABLE_PENDING = 6,
}

/// Why a run stopped before the verdict (`EHR_DURABLE_PENDING`).
#[repr(u32)]
#[derive(Clone, Copy, Debug)]
pub enum ehr_stop_cause {
    /// The host's deadline passed.
    EHR_STOP_DEADLINE = 1,
    /// The host cancelled.
    EHR_STOP_CANCELLED = 2,
}

/// The next step of an `ehr_durable_run` (`ehr_durable_run_poll`). Only
/// the fields its `kind` names are set; the others are zero.
#[repr(C)]
#[derive(Debug)]
pub struct ehr_durable_step {
    /// `sizeof(ehr_durable_step)` as the host's header declares it
    /// (`EHR_DURABLE_STEP_INIT` sets it): which of the fields below the host's
    /// struct has (README, "Extensible structs").
    pub struct_size: usize,
    /// What to do: an `ehr_durable_step_kind`.
    pub kind: u32,
    /// `EHR_DURABLE_SAVE` and `EHR_DURABLE_FINISH`: whether there is an
    /// entry key.
    pub has_key: bool,
    /// `EHR_DURABLE_SAVE` and `EHR_DURABLE_FINISH`: the entry's key.
    pub key: [u8; 32],
    /// `EHR_DURABLE_WAIT`: when to poll again (Unix milliseconds).
    pub until_ms: u64,
    /// `EHR_DURABLE_FINISH` and `EHR_DURABLE_ACKED`: how many ACKs.
    pub ack_count: usize,
    /// `EHR_DURABLE_PENDING`: an `ehr_stop_cause`.
    pub stop_cause: u32,
}

/// Makes a run that stops at `deadline_ms` (Unix milliseconds; 0 for none:
/// only the verdict or a cancel end it), asking to store entries only when
/// the host keeps them (`keeps_entries`; its verdicts are asked to be stored
/// either way). Free it with `ehr_durable_run_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_durable_run_new(
    deadline_ms: u64,
    keeps_entries: bool,
    run_out: *mut *mut ehr_durable_run,
) -> ehr_result {
    made(run_out, "run_out", || ehr_durable_run {
        run: ValidatorRun::new(deadline(deadline_ms), keeps_entries),
        entry: String::new(),
        acks: Vec::new(),
    })
}

/// Writes the next step of `run` for `validator` at `now_ms` to `step_out`,
/// and its action to `transmit_out` (`EHR_TRANSMIT_NONE` unless the step is
/// `EHR_DURABLE_PERFORM`); `cancelled`: the host cancelled. While the
/// result of the action performed is not handed in, the step is
/// `EHR_DURABLE_AWAITING`; while a `EHR_DURABLE_SAVE` or `_FINISH` awaits its
/// outcome, it is handed out again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_durable_run_poll(
    run: *mut ehr_durable_run,
    validator: *mut ehr_validator,
    now_ms: u64,
    cancelled: bool,
    step_out: *mut ehr_durable_step,
    transmit_out: *mut ehr_transmit,
) -> ehr_result {
    guard_on_mut(run, "run", |run| {
        let validator = ptr::handle_mut(validator, "validator")?;
        write_step(&mut validator.v, step_out, transmit_out, |v| {
            let step = run.run.poll(v, UnixMillis(now_ms), cancelled);
            run.hand_out(step)
        })
    })
}

/// Writes the entry of the last `EHR_DURABLE_SAVE` (the validator's outbox
/// entry, format `ehrchain.validator/2`) as NUL-terminated text into `buf`
/// (text-output rules: `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_durable_run_entry(
    run: *const ehr_durable_run,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard_on(run, "run", |run| {
        ptr::write_text(buf, len, out_len, &run.entry)
    })
}

/// Writes a copy of ACK `index` of the last `EHR_DURABLE_FINISH` or
/// `EHR_DURABLE_ACKED` to `ack_out` (free it with `ehr_ack_free`);
/// `EHR_INVALID_ARGUMENT` for an index at or past its `ack_count`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_durable_run_ack(
    run: *const ehr_durable_run,
    index: usize,
    ack_out: *mut *mut ehr_ack,
) -> ehr_result {
    guard_on(run, "run", |run| give_ack(&run.acks, index, ack_out))
}

/// Hands in the outcome of the last `EHR_DURABLE_SAVE` or
/// `EHR_DURABLE_FINISH` at `now_ms`: `EHR_OK` once stored durably, or the
/// host's failure code. Returns `EHR_OUTBOX_UNAVAILABLE` for a failure: the
/// host ends the run there (nothing more is sent), and the validator keeps
/// what was not stored (its entry is asked for again after the backoff; a
/// verdict's ACKs stay in it), so a later run stores it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_durable_run_handle_stored(
    run: *mut ehr_durable_run,
    validator: *mut ehr_validator,
    now_ms: u64,
    result: ehr_result,
) -> ehr_result {
    guard_on_mut(run, "run", |run| {
        let validator = ptr::handle_mut(validator, "validator")?;
        run.run
            .handle_stored(&mut validator.v, UnixMillis(now_ms), stored(result))?;
        Ok(())
    })
}

/// Frees a run; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_durable_run_free(run: *mut ehr_durable_run) {
    free(run);
}

/// A run's deadline: `deadline_ms` (Unix milliseconds), none for 0, as in
/// the blocking drivers.
fn deadline(deadline_ms: u64) -> Option<UnixMillis> {
    (deadline_ms != 0).then_some(UnixMillis(deadline_ms))
}

/// Why a run stopped, as an `ehr_stop_cause`.
fn stop_cause(cause: StopCause) -> u32 {
    (match cause {
        StopCause::Deadline => ehr_stop_cause::EHR_STOP_DEADLINE,
        StopCause::Cancelled => ehr_stop_cause::EHR_STOP_CANCELLED,
    }) as u32
}

/// Writes the step `poll` makes of `machine` (the C step and the action to
/// perform, if any) to `step_out`, and that action to `transmit_out`, its
/// submission the machine's own: the outputs of `ehr_durable_run_poll` and
/// `ehr_watch_run_poll`.
fn write_step<M: TakesReads, S: Extensible>(
    machine: &mut M,
    step_out: *mut S,
    transmit_out: *mut ehr_transmit,
    poll: impl FnOnce(&mut M) -> (S, Option<Transmit>),
) -> Result<()> {
    let out = OutExtensible::new(step_out, "step_out")?;
    let transmit_out = OutExtensible::new(transmit_out, "transmit_out")?;
    let (step, action) = poll(machine);
    transmit_out.set(ehr_transmit::of(action, machine.read_submission()));
    out.set(step);
    Ok(())
}

/// Item `index` of a step's `items` (`what`: their name, plural);
/// `EHR_INVALID_ARGUMENT` for an index at or past their count.
fn item<'a, T>(items: &'a [T], index: usize, what: &str) -> Result<&'a T> {
    items.get(index).ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "the argument `index` is {index}; the step has {} {what}",
                items.len()
            ),
        )
    })
}

/// Hands a copy of ACK `index` of a step's `acks` to `ack_out`.
fn give_ack(acks: &[Ack], index: usize, ack_out: *mut *mut ehr_ack) -> Result<()> {
    let out = Out::new(ack_out, "ack_out")?;
    out.give(ehr_ack {
        ack: item(acks, index, "ACKs")?.clone(),
    });
    Ok(())
}
