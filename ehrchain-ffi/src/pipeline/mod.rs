//! `ehr_pipeline`: many TIs in flight over one transport (the core's
//! `Pipeline`): urgent records anchored alone, bulk records gathered into
//! Merkle batches, a bounded queue that answers `EHR_PIPELINE_BUSY`. Pushing
//! and taking ACKs never block; `ehr_pipeline_step` performs what is due and
//! says when to call it again (for an event-loop host), and
//! `ehr_pipeline_drain` drives every submission to its ACK, waiting in
//! between; `event_loop` hands the actions out for a host with its own I/O.
//! This module only converts.

use ehrchain_core::outbox::{NoOutbox, Outbox};
use ehrchain_core::pipeline::{Pipeline, PipelineConfig, Priority, drain_durably, step_durably};
use ehrchain_core::{ErrorCode, SystemClock, UnixMillis};

use crate::cancel::{blocking, ehr_cancel};
use crate::config::{ehr_validator_config, validator_config};
use crate::handshaker::{ehr_ack, ehr_handshaker, ehr_tc};
use crate::outbox::{HostOutbox, ehr_outbox_callbacks};
use crate::ptr::{self, Out};
use crate::result::{Error, Result, ehr_result, guard};
use crate::shapes::{free, guard_on_mut, value_of};
use crate::ti::ehr_ti;
use crate::transport::ehr_transport;
use crate::validator::ehr_validator;

mod event_loop;
pub use event_loop::*;

/// How a record is anchored (`ehr_pipeline_push`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ehr_priority {
    /// Alone, at once: one `anchorRecord` transaction.
    EHR_PRIORITY_URGENT = 0,
    /// In the open Merkle batch: flushed when full or after its wait.
    EHR_PRIORITY_BULK = 1,
}

fn priority(value: u32) -> Result<Priority> {
    const URGENT: u32 = ehr_priority::EHR_PRIORITY_URGENT as u32;
    const BULK: u32 = ehr_priority::EHR_PRIORITY_BULK as u32;
    match value {
        URGENT => Ok(Priority::Urgent),
        BULK => Ok(Priority::Bulk),
        other => Err(Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "the argument `priority` is {other}; use EHR_PRIORITY_URGENT or EHR_PRIORITY_BULK"
            ),
        )),
    }
}

/// The anchoring pipeline.
///
/// Thread safety: a handle may be moved to another thread, but not used from
/// two threads at once.
pub struct ehr_pipeline {
    pub(crate) pipeline: Pipeline,
}

/// Makes a pipeline anchoring into the 20-byte `registry` on `chain_id`:
/// at most `max_pending` TIs held, batches flushed at `batch_max_records`
/// records or `batch_max_wait_ms` after their first (0 for each default:
/// 100,000, 4,096 and 1,000 ms), each submission validated with `validator`
/// (NULL for the defaults). Free it with `ehr_pipeline_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_new(
    chain_id: u64,
    registry: *const u8,
    max_pending: usize,
    batch_max_records: usize,
    batch_max_wait_ms: u64,
    validator: *const ehr_validator_config,
    pipeline_out: *mut *mut ehr_pipeline,
) -> ehr_result {
    guard(|| {
        let registry = ptr::address(registry, "registry")?;
        let defaults = PipelineConfig::default();
        let or = |value: usize, default: usize| if value == 0 { default } else { value };
        let config = PipelineConfig {
            max_pending: or(max_pending, defaults.max_pending),
            batch_max_records: or(batch_max_records, defaults.batch_max_records),
            batch_max_wait_ms: if batch_max_wait_ms == 0 {
                defaults.batch_max_wait_ms
            } else {
                batch_max_wait_ms
            },
            validator: validator_config(validator)?,
        };
        let out = Out::new(pipeline_out, "pipeline_out")?;
        out.give(ehr_pipeline {
            pipeline: Pipeline::new(chain_id, registry, config),
        });
        Ok(())
    })
}

/// Pushes a copy of `tc` with `priority` (an `ehr_priority`) at `now_ms`
/// (Unix milliseconds). Never blocks. A TC its author signed
/// (`ehr_tc_attach_signature`) is anchored alone whatever its priority, so
/// its signature reaches the chain (a smart account's signature is checked
/// only on chain: admit its `ehr_tc_validator_signed` validator instead). `EHR_PIPELINE_BUSY` when the pipeline
/// holds its limit, `EHR_PIPELINE_DUPLICATE` when it holds this TI,
/// `EHR_PIPELINE_WRONG_REGISTRY` for a TC of another chain or registry:
/// nothing is kept then.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_push(
    pipeline: *mut ehr_pipeline,
    tc: *const ehr_tc,
    priority: u32,
    now_ms: u64,
) -> ehr_result {
    guard_on_mut(pipeline, "pipeline", |pipeline| {
        let tc = ptr::handle(tc, "tc")?;
        let priority = self::priority(priority)?;
        pipeline
            .pipeline
            .push(tc.tc.clone(), priority, UnixMillis(now_ms))?;
        Ok(())
    })
}

/// Hands the validator at `*validator` to `pipeline`, for what
/// `ehr_pipeline_push` cannot build: a TI its author signed
/// (`ehr_handshaker_validator_for` with a signer) or a signature made
/// later (`ehr_tc_validator_signed`, smart accounts too); it is sent as it
/// is, anchored alone, and its ACK comes out of the pipeline like every
/// other. Never blocks. On `EHR_OK` the pipeline owns it: the handle is
/// freed and `*validator` set to NULL. On `EHR_PIPELINE_BUSY`,
/// `EHR_PIPELINE_DUPLICATE` or `EHR_PIPELINE_WRONG_REGISTRY` nothing is kept
/// and `*validator` is unchanged,
/// still yours (admit it again later: no signature is asked for twice).
/// `EHR_INVALID_ARGUMENT` for a validator holding ACKs `ehr_validator_run`
/// took out: poll them first.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_admit(
    pipeline: *mut ehr_pipeline,
    validator: *mut *mut ehr_validator,
) -> ehr_result {
    guard_on_mut(pipeline, "pipeline", |pipeline| {
        ptr::hand_over(validator, "validator", |v| {
            if v.holds_acks() {
                let error = Error::new(
                    ErrorCode::InvalidArgument,
                    "the validator holds ACKs ehr_validator_run took out: poll them with ehr_validator_poll_ack before admitting it",
                );
                return Err((Box::new(v), error));
            }
            pipeline
                .pipeline
                .admit(v.v)
                .map_err(|u| (Box::new(ehr_validator::new(*u.validator)), u.error.into()))
        })
    })
}

/// Turns `ti` into its TC with `handshaker` and pushes it into `pipeline`,
/// as `ehr_pipeline_push`; a TI its template refuses is held too, and its
/// invalid ACK comes out of `ehr_pipeline_poll_ack` like every other.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_push(
    handshaker: *mut ehr_handshaker,
    pipeline: *mut ehr_pipeline,
    ti: *const ehr_ti,
    priority: u32,
    now_ms: u64,
) -> ehr_result {
    guard(|| {
        let hs = ptr::handle_mut(handshaker, "handshaker")?;
        let pipeline = ptr::handle_mut(pipeline, "pipeline")?;
        let ti = ptr::handle(ti, "ti")?;
        let priority = self::priority(priority)?;
        hs.hs.push(
            &mut pipeline.pipeline,
            &ti.ti,
            priority,
            UnixMillis(now_ms),
            &mut hs.rng,
        )?;
        Ok(())
    })
}

/// Sends the open batch now, whatever its size (before a shutdown, say).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_flush(pipeline: *mut ehr_pipeline) -> ehr_result {
    guard(|| {
        ptr::handle_mut(pipeline, "pipeline")?.pipeline.flush();
        Ok(())
    })
}

/// Writes how many TIs the pipeline holds (pushed, without an ACK yet) to
/// `pending_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_pending(
    pipeline: *const ehr_pipeline,
    pending_out: *mut usize,
) -> ehr_result {
    value_of(pipeline, pending_out, "pipeline", "pending_out", |p| {
        p.pipeline.pending()
    })
}

/// Writes whether the pipeline holds nothing and no verdict waits to be
/// taken (`ehr_pipeline_poll_finished`, or a step's) to `idle_out`. ACKs
/// waiting for `ehr_pipeline_poll_ack` do not count: their verdicts are
/// stored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_is_idle(
    pipeline: *const ehr_pipeline,
    idle_out: *mut bool,
) -> ehr_result {
    value_of(pipeline, idle_out, "pipeline", "idle_out", |p| {
        p.pipeline.is_idle()
    })
}

/// Drives every submission through `transport` until each TI held has its
/// ACK, storing each round of outbox entries with `outbox->save` first and
/// each round's verdicts with one `outbox->finish_all` (when set; else
/// `outbox->finish` for each) (`outbox` NULL: nothing is stored, and
/// a crash loses the TIs in flight). Take the ACKs with
/// `ehr_pipeline_poll_ack`. At `deadline_ms` (Unix milliseconds; 0 for none)
/// or when `cancel` (NULL for none) is signalled: `EHR_STILL_PENDING`, with
/// every submission's entry stored as it stands; call it again, or resume
/// the entries in a new pipeline (`ehr_pipeline_resume`). The ACKs made
/// before are kept for `ehr_pipeline_poll_ack`. When the outbox fails
/// (`EHR_OUTBOX_UNAVAILABLE`), nothing more is sent; the ACKs of the
/// rounds stored before wait for `ehr_pipeline_poll_ack` too. Actions
/// `ehr_pipeline_poll_transmit` handed out and never answered are asked
/// again first (a submission that may have gone out is settled first).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_drain(
    pipeline: *mut ehr_pipeline,
    transport: *mut ehr_transport,
    outbox: *const ehr_outbox_callbacks,
    deadline_ms: u64,
    cancel: *const ehr_cancel,
) -> ehr_result {
    guard_on_mut(pipeline, "pipeline", |pipeline| {
        let (transport, until) = blocking(transport, deadline_ms, cancel)?;
        let drained = drain_durably(
            &mut pipeline.pipeline,
            host_outbox(outbox)?.as_mut(),
            transport,
            &mut SystemClock,
            &until,
        )?;
        Ok(drained.finished()?)
    })
}

/// Performs every action due now through `transport` (storing each round of
/// outbox entries with `outbox->save` first and the verdicts reached with one
/// `outbox->finish_all`, or `outbox->finish` each when it is NULL; `outbox`
/// NULL: nothing is stored) and never waits: for
/// a host with its own event loop. The ACKs of the verdicts reached wait
/// for `ehr_pipeline_poll_ack`. Writes to `wake_ms_out` when to call it
/// again, in Unix milliseconds (a time already passed: at once), or 0 when
/// the pipeline holds nothing (call it again after the next push).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_step(
    pipeline: *mut ehr_pipeline,
    transport: *mut ehr_transport,
    outbox: *const ehr_outbox_callbacks,
    wake_ms_out: *mut u64,
) -> ehr_result {
    guard_on_mut(pipeline, "pipeline", |pipeline| {
        let transport = ptr::handle_mut(transport, "transport")?;
        let wake = Out::new(wake_ms_out, "wake_ms_out")?;
        step_durably(
            &mut pipeline.pipeline,
            host_outbox(outbox)?.as_mut(),
            &mut transport.inner,
            &mut SystemClock,
        )?;
        let next = pipeline.pipeline.poll_timeout();
        wake.set(next.map_or(0, UnixMillis::as_millis));
        Ok(())
    })
}

/// The host's outbox callbacks, or an outbox that keeps nothing for NULL.
fn host_outbox(outbox: *const ehr_outbox_callbacks) -> Result<Box<dyn Outbox>> {
    if outbox.is_null() {
        return Ok(Box::new(NoOutbox));
    }
    Ok(Box::new(HostOutbox::new(outbox)?))
}

/// Takes back every submission whose entry the host's `outbox` holds (after
/// a restart) into `pipeline`; `ehr_pipeline_drain` then runs them to their
/// ACKs. `EHR_OUTBOX_UNAVAILABLE` when a callback failed,
/// `EHR_OUTBOX_ENTRY_INVALID` for a damaged entry (the entries before it
/// are taken).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_resume(
    pipeline: *mut ehr_pipeline,
    outbox: *const ehr_outbox_callbacks,
) -> ehr_result {
    with_outbox(pipeline, outbox, |pipeline, outbox| {
        let entries = outbox.entries()?;
        pipeline
            .pipeline
            .resume(entries.iter().map(String::as_str))?;
        Ok(())
    })
}

/// Runs `f` with the pipeline handle and the host's outbox callbacks.
pub(crate) fn with_outbox(
    pipeline: *mut ehr_pipeline,
    outbox: *const ehr_outbox_callbacks,
    f: impl FnOnce(&mut ehr_pipeline, &mut HostOutbox) -> Result<()>,
) -> ehr_result {
    guard_on_mut(pipeline, "pipeline", |pipeline| {
        f(pipeline, &mut HostOutbox::new(outbox)?)
    })
}

/// Writes the next ACK to `ack_out` (free it with `ehr_ack_free`), or NULL
/// when none waits. Never blocks.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_poll_ack(
    pipeline: *mut ehr_pipeline,
    ack_out: *mut *mut ehr_ack,
) -> ehr_result {
    guard_on_mut(pipeline, "pipeline", |pipeline| {
        let out = Out::new(ack_out, "ack_out")?;
        out.give_or_null(pipeline.pipeline.poll_ack().map(|ack| ehr_ack { ack }));
        Ok(())
    })
}

/// Frees a pipeline; NULL is ignored. TIs it still holds are lost unless
/// their entries were stored (`ehr_pipeline_drain` with an outbox).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_free(pipeline: *mut ehr_pipeline) {
    free(pipeline);
}
