//! `ehr_drain_run`: a drain of an `ehr_pipeline`, step by step, for a host
//! with its own event loop that performs each step itself: the core's
//! `PipelineRun`, the rules of `ehr_pipeline_drain` (actions never answered
//! asked again; each round of entries stored, with the verdicts reached,
//! in one write before its submissions are sent; the verdicts of TIs
//! refused before anything was stored given back, if not stored, when that
//! write fails;
//! every entry stored when the host's deadline or cancel stops it). This
//! module only converts.

use std::ffi::c_char;

use ehrchain_core::outbox::PartlyStored;
use ehrchain_core::pipeline::{PipelineRun, PipelineStep};
use ehrchain_core::{B256, UnixMillis};

use super::{deadline, item, stop_cause};
use crate::outbox::{Verdicts, ehr_verdict, stored};
use crate::pipeline::{ehr_pipeline, ehr_pipeline_transmit, transmit_of};
use crate::ptr::{self, Out, OutArray, OutExtensible};
use crate::result::ehr_result;
use crate::shapes::{free, guard_on, guard_on_mut, made};
use crate::validator::ehr_transmit;

/// One drain of an `ehr_pipeline`, step by step: poll a step
/// (`ehr_drain_run_poll`), do it, hand its outcome in, poll again, until
/// `EHR_DRAIN_DRAINED`. Pass the same pipeline on every call; TIs may be
/// pushed between steps. Free it with `ehr_drain_run_free`.
///
/// Thread safety: a handle may be moved to another thread, but not used from
/// two threads at once.
pub struct ehr_drain_run {
    run: PipelineRun,
    /// The entries of the last `EHR_DRAIN_STORE`.
    entries: Vec<(B256, String)>,
    /// The verdicts of the last `EHR_DRAIN_STORE`.
    verdicts: Verdicts,
}

/// What an `ehr_drain_step` asks of the host.
#[repr(u32)]
#[derive(Clone, Copy, Debug)]
pub enum ehr_drain_step_kind {
    /// Perform the action written to `transmit_out` and `action_out` (as
    /// `ehr_pipeline_poll_transmit` writes them: `EHR_PIPELINE_TRANSMIT_READ_HEAD`,
    /// or a flight's action; never `EHR_PIPELINE_TRANSMIT_PERSIST`, which
    /// the run asks for as `EHR_DRAIN_STORE`) and hand its result to
    /// `ehr_pipeline_handle_head` or the flight's `ehr_pipeline_handle_*`
    /// function, then poll.
    EHR_DRAIN_PERFORM = 1,
    /// Store the `entry_count` entries (`ehr_drain_run_entry`: the
    /// write-ahead entries of the submissions about to be sent) and the
    /// `verdict_count` verdicts (`ehr_drain_run_verdicts`: their ACKs
    /// stored, their entries removed) in one write, then hand the outcome
    /// to `ehr_drain_run_handle_stored`. Nothing of the entries is sent
    /// before.
    EHR_DRAIN_STORE = 2,
    /// Nothing to do before `until_ms`: wait (waking early when a TI is
    /// pushed or to cancel), then poll.
    EHR_DRAIN_WAIT = 3,
    /// The results of the actions performed are not handed in yet: nothing
    /// to do until they are (the host's loop woke up for something else).
    EHR_DRAIN_AWAITING = 4,
    /// The run is over: every TI held has its ACK (`stop_cause` 0), or the
    /// host's deadline or cancel came first (`stop_cause`) and every TI
    /// still held (`pending`) was stored as it stands when the host keeps
    /// entries (`ehr_pipeline_resume` takes them back; a run that keeps none
    /// stops at once).
    EHR_DRAIN_DRAINED = 5,
}

/// The next step of an `ehr_drain_run` (`ehr_drain_run_poll`). Only the
/// fields its `kind` names are set; the others are zero.
#[repr(C)]
#[derive(Debug)]
pub struct ehr_drain_step {
    /// `sizeof(ehr_drain_step)` as the host's header declares it
    /// (`EHR_DRAIN_STEP_INIT` sets it): which of the fields below the host's
    /// struct has (README, "Extensible structs").
    pub struct_size: usize,
    /// What to do: an `ehr_drain_step_kind`.
    pub kind: u32,
    /// `EHR_DRAIN_STORE`: how many entries to store (0 when the run keeps
    /// none: then a store is only asked for verdicts).
    pub entry_count: usize,
    /// `EHR_DRAIN_STORE`: how many verdicts to store.
    pub verdict_count: usize,
    /// `EHR_DRAIN_WAIT`: when to poll again (Unix milliseconds).
    pub until_ms: u64,
    /// `EHR_DRAIN_DRAINED`: why it stopped before every ACK, an
    /// `ehr_stop_cause`, or 0 when it did not.
    pub stop_cause: u32,
    /// `EHR_DRAIN_DRAINED`: how many TIs the pipeline still holds.
    pub pending: usize,
}

/// Makes a drain that stops at `deadline_ms` (Unix milliseconds; 0 for
/// none: only every ACK or a cancel end it), asking to store entries only
/// when the host keeps them (`keeps_entries`; its verdicts are asked to be
/// stored either way). Its first poll asks again every action
/// `ehr_pipeline_poll_transmit` handed out and never answered. Free it with
/// `ehr_drain_run_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_drain_run_new(
    deadline_ms: u64,
    keeps_entries: bool,
    run_out: *mut *mut ehr_drain_run,
) -> ehr_result {
    made(run_out, "run_out", || ehr_drain_run {
        run: PipelineRun::new(deadline(deadline_ms), keeps_entries),
        entries: Vec::new(),
        verdicts: Verdicts::default(),
    })
}

/// Writes the next step of `run` for `pipeline` at `now_ms` to `step_out`,
/// and its action to `transmit_out` and `action_out` (both
/// `_NONE` unless the step is `EHR_DRAIN_PERFORM`; a flight's calldata
/// stays valid as for `ehr_pipeline_poll_transmit`); `cancelled`: the host
/// cancelled. While a `EHR_DRAIN_STORE` awaits its outcome, it is handed
/// out again; while only the results of actions performed are left to hand
/// in, the step is `EHR_DRAIN_AWAITING`. The entries and verdicts of an
/// `EHR_DRAIN_STORE` stay as they are until its outcome is handed in
/// (`ehr_drain_run_handle_stored`); the next poll after that replaces them.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_drain_run_poll(
    run: *mut ehr_drain_run,
    pipeline: *mut ehr_pipeline,
    now_ms: u64,
    cancelled: bool,
    step_out: *mut ehr_drain_step,
    transmit_out: *mut ehr_pipeline_transmit,
    action_out: *mut ehr_transmit,
) -> ehr_result {
    guard_on_mut(run, "run", |run| {
        let pipeline = &mut ptr::handle_mut(pipeline, "pipeline")?.pipeline;
        let out = OutExtensible::new(step_out, "step_out")?;
        let transmit_out = OutExtensible::new(transmit_out, "transmit_out")?;
        let action_out = OutExtensible::new(action_out, "action_out")?;
        // A store handed out again while awaited is the same: what the host
        // holds of it (its verdicts' ACKs, maybe read by a write still
        // running) stays valid.
        let again = run.run.is_storing();
        let step = run.run.poll(pipeline, UnixMillis(now_ms), cancelled);
        if !again {
            run.entries = Vec::new();
            run.verdicts = Verdicts::default();
        }
        let mut c = ehr_drain_step::default();
        let mut perform = None;
        let kind = match step {
            PipelineStep::Perform { transmit } => {
                perform = Some(transmit);
                ehr_drain_step_kind::EHR_DRAIN_PERFORM
            }
            PipelineStep::Store { entries, verdicts } => {
                (c.entry_count, c.verdict_count) = (entries.len(), verdicts.len());
                if !again {
                    run.entries = entries;
                    run.verdicts = Verdicts::new(verdicts);
                }
                ehr_drain_step_kind::EHR_DRAIN_STORE
            }
            PipelineStep::Wait { until } => {
                c.until_ms = until.as_millis();
                ehr_drain_step_kind::EHR_DRAIN_WAIT
            }
            PipelineStep::Awaiting => ehr_drain_step_kind::EHR_DRAIN_AWAITING,
            PipelineStep::Drained { stopped, pending } => {
                c.stop_cause = stopped.map_or(0, stop_cause);
                c.pending = pending;
                ehr_drain_step_kind::EHR_DRAIN_DRAINED
            }
        };
        c.kind = kind as u32;
        let (transmit, action) = transmit_of(pipeline, perform);
        transmit_out.set(transmit);
        action_out.set(action);
        out.set(c);
        Ok(())
    })
}

/// Writes entry `index` of the last `EHR_DRAIN_STORE` (a submission's
/// outbox entry, format `ehrchain.validator/2`) as NUL-terminated text into
/// `buf` (text-output rules: `ehr_result_message`), and its 32-byte key (the
/// TI id, or the batch's root) to `key_out`; `EHR_INVALID_ARGUMENT` for an
/// index at or past its `entry_count`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_drain_run_entry(
    run: *const ehr_drain_run,
    index: usize,
    key_out: *mut u8,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard_on(run, "run", |run| {
        let key = OutArray::<32>::new(key_out, "key_out")?;
        let (k, entry) = item(&run.entries, index, "entries")?;
        ptr::write_text(buf, len, out_len, entry)?;
        key.set(&k.0);
        Ok(())
    })
}

/// Writes a pointer to the `verdict_count` verdicts of the last
/// `EHR_DRAIN_STORE` to `verdicts_out` (NULL when there are none), each as
/// the outbox's `finish_all` gets it: the key of the entry to remove (NULL
/// for a TI refused before anything was stored) and the ACKs to store
/// (read them with `ehr_ack_to_json`; do not free them). They are the run's
/// and stay valid, while the store is handed out again too, until the first
/// `ehr_drain_run_poll` after `ehr_drain_run_handle_stored`, or
/// `ehr_drain_run_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_drain_run_verdicts(
    run: *const ehr_drain_run,
    verdicts_out: *mut *const ehr_verdict,
) -> ehr_result {
    guard_on(run, "run", |run| {
        let out = Out::new(verdicts_out, "verdicts_out")?;
        let verdicts = run.verdicts.as_slice();
        out.set(if verdicts.is_empty() {
            std::ptr::null()
        } else {
            verdicts.as_ptr()
        });
        Ok(())
    })
}

/// Hands in the outcome of the last `EHR_DRAIN_STORE` at `now_ms`: `EHR_OK`
/// once stored durably, or the host's failure code with `verdicts_stored`,
/// how many of the step's verdicts (from the first) it stored before the
/// failure (0 when it stores them in one transaction; at most the step's
/// verdict count, a larger one counts as all; ignored on `EHR_OK`). Writes
/// how many ACKs the stored verdicts hold to `acks_out`; they wait for
/// `ehr_pipeline_poll_ack`, in the order the verdicts came.
/// Returns `EHR_OUTBOX_UNAVAILABLE` for a failure: the host ends the run
/// there (nothing more is sent), and `acks_out` is not written, but the
/// ACKs of the verdicts stored before it wait for `ehr_pipeline_poll_ack`
/// too; the rounds' submissions ask to be stored again after their
/// backoff, a submission's verdict not stored comes back when its entry is
/// resumed, and the verdict of a TI refused before anything was stored, if
/// not stored, is given back to the pipeline, so a later run stores it
/// (once).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_drain_run_handle_stored(
    run: *mut ehr_drain_run,
    pipeline: *mut ehr_pipeline,
    now_ms: u64,
    result: ehr_result,
    verdicts_stored: usize,
    acks_out: *mut usize,
) -> ehr_result {
    guard_on_mut(run, "run", |run| {
        let pipeline = ptr::handle_mut(pipeline, "pipeline")?;
        let out = Out::new(acks_out, "acks_out")?;
        let outcome = stored(result).map_err(|error| PartlyStored {
            stored: verdicts_stored,
            error,
        });
        let acks = run
            .run
            .handle_stored(&mut pipeline.pipeline, UnixMillis(now_ms), outcome)?;
        out.set(acks);
        Ok(())
    })
}

/// Frees a drain run; NULL is ignored. The pipeline keeps its TIs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_drain_run_free(run: *mut ehr_drain_run) {
    free(run);
}
