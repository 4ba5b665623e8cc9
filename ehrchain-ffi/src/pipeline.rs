//! `ehr_pipeline`: many TIs in flight over one transport (the core's
//! `Pipeline`): urgent records anchored alone, bulk records gathered into
//! Merkle batches, a bounded queue that answers `EHR_PIPELINE_BUSY`. Pushing
//! and taking ACKs never block; `ehr_pipeline_step` performs what is due and
//! says when to call it again (for an event-loop host), and
//! `ehr_pipeline_drain` drives every submission to its ACK, waiting in
//! between. This module only converts.

use std::collections::VecDeque;

use ehrchain_core::outbox::{NoOutbox, Outbox};
use ehrchain_core::pipeline::{
    Finished, FlightId, Pipeline, PipelineConfig, PipelineTransmit, Priority, drain_durably,
    step_durably,
};
use ehrchain_core::{Ack, Address, ErrorCode, SystemClock, UnixMillis};

use crate::cancel::{blocking, ehr_cancel};
use crate::config::{ehr_validator_config, validator_config};
use crate::handshaker::{ehr_ack, ehr_handshaker, ehr_tc};
use crate::outbox::{HostOutbox, ehr_outbox_callbacks, stored};
use crate::ptr::{self, Out, OutExtensible};
use crate::result::{Error, Result, ehr_result, guard};
use crate::shapes::{free, value_of};
use crate::ti::ehr_ti;
use crate::transport::ehr_transport;
use crate::validator::{ehr_transmit, ehr_validator, write_deadline};

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
    pipeline: Pipeline,
    /// ACKs stored and taken out, for `ehr_pipeline_poll_ack`.
    acks: VecDeque<Ack>,
    /// Verdicts `ehr_pipeline_poll_finished` could not store yet: offered
    /// again first, so none is lost.
    unstored: Vec<Finished>,
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
        let registry = Address::from(ptr::array::<20>(registry, "registry")?);
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
            acks: VecDeque::new(),
            unstored: Vec::new(),
        });
        Ok(())
    })
}

/// Pushes a copy of `tc` with `priority` (an `ehr_priority`) at `now_ms`
/// (Unix milliseconds). Never blocks. `EHR_PIPELINE_BUSY` when the pipeline
/// holds its limit, `EHR_PIPELINE_DUPLICATE` when it holds this TI: nothing
/// is kept then.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_push(
    pipeline: *mut ehr_pipeline,
    tc: *const ehr_tc,
    priority: u32,
    now_ms: u64,
) -> ehr_result {
    guard(|| {
        let pipeline = ptr::handle_mut(pipeline, "pipeline")?;
        let tc = ptr::handle(tc, "tc")?;
        let priority = self::priority(priority)?;
        pipeline
            .pipeline
            .push(tc.tc.clone(), priority, UnixMillis(now_ms))?;
        Ok(())
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

/// Drives every submission through `transport` until each TI held has its
/// ACK, storing each round of outbox entries with `outbox->save` first and
/// each round's verdicts with one `outbox->finish_all` (when set; else
/// `outbox->finish` for each) (`outbox` NULL: nothing is stored, and
/// a crash loses the TIs in flight). Take the ACKs with
/// `ehr_pipeline_poll_ack`. At `deadline_ms` (Unix milliseconds; 0 for none)
/// or when `cancel` (NULL for none) is signalled: `EHR_STILL_PENDING`, with
/// every submission's entry stored as it stands; call it again, or resume
/// the entries in a new pipeline (`ehr_pipeline_resume`). The ACKs made
/// before are kept for `ehr_pipeline_poll_ack`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_drain(
    pipeline: *mut ehr_pipeline,
    transport: *mut ehr_transport,
    outbox: *const ehr_outbox_callbacks,
    deadline_ms: u64,
    cancel: *const ehr_cancel,
) -> ehr_result {
    guard(|| {
        let pipeline = ptr::handle_mut(pipeline, "pipeline")?;
        let (transport, until) = blocking(transport, deadline_ms, cancel)?;
        let drained = drain_durably(
            &mut pipeline.pipeline,
            host_outbox(outbox)?.as_mut(),
            transport,
            &mut SystemClock,
            &until,
        )?;
        pipeline.acks.extend(drained.acks.iter().cloned());
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
    guard(|| {
        let pipeline = ptr::handle_mut(pipeline, "pipeline")?;
        let transport = ptr::handle_mut(transport, "transport")?;
        let wake = Out::new(wake_ms_out, "wake_ms_out")?;
        let acks = step_durably(
            &mut pipeline.pipeline,
            host_outbox(outbox)?.as_mut(),
            &mut transport.inner,
            &mut SystemClock,
        )?;
        pipeline.acks.extend(acks);
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
    Ok(Box::new(HostOutbox(ptr::extensible(outbox, "outbox")?)))
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
fn with_outbox(
    pipeline: *mut ehr_pipeline,
    outbox: *const ehr_outbox_callbacks,
    f: impl FnOnce(&mut ehr_pipeline, &mut HostOutbox) -> Result<()>,
) -> ehr_result {
    guard(|| {
        let pipeline = ptr::handle_mut(pipeline, "pipeline")?;
        f(
            pipeline,
            &mut HostOutbox(ptr::extensible(outbox, "outbox")?),
        )
    })
}

/// Writes the next ACK to `ack_out` (free it with `ehr_ack_free`), or NULL
/// when none waits. Never blocks.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_poll_ack(
    pipeline: *mut ehr_pipeline,
    ack_out: *mut *mut ehr_ack,
) -> ehr_result {
    guard(|| {
        let pipeline = ptr::handle_mut(pipeline, "pipeline")?;
        let out = Out::new(ack_out, "ack_out")?;
        out.give_or_null(pipeline.acks.pop_front().map(|ack| ehr_ack { ack }));
        Ok(())
    })
}

/// What an `ehr_pipeline_transmit` asks the host to do.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ehr_pipeline_transmit_kind {
    /// Nothing now: call `ehr_pipeline_handle_timeout` and
    /// `ehr_pipeline_poll_transmit` again at the deadline of
    /// `ehr_pipeline_poll_timeout`, or after handing in a result.
    EHR_PIPELINE_TRANSMIT_NONE = 0,
    /// Store every entry of `round` (`ehr_pipeline_round_entries`) durably,
    /// in one write if the storage allows, then report with
    /// `ehr_pipeline_handle_persisted`: nothing of the round is sent before.
    EHR_PIPELINE_TRANSMIT_PERSIST = 1,
    /// Read the chain head's block number; hand it to
    /// `ehr_pipeline_handle_head`.
    EHR_PIPELINE_TRANSMIT_READ_HEAD = 2,
    /// One action (`transmit`) of the submission `flight`: perform it and
    /// hand its result to the submission's validator
    /// (`ehr_pipeline_flight`) with the `ehr_validator_handle_*` function
    /// `transmit.kind` names.
    EHR_PIPELINE_TRANSMIT_FLIGHT = 3,
}

/// The next thing the host must do for a pipeline
/// (`ehr_pipeline_poll_transmit`). Only the fields its `kind` names are
/// set; the others are zero.
#[repr(C)]
#[derive(Debug)]
pub struct ehr_pipeline_transmit {
    /// `sizeof(ehr_pipeline_transmit)` as the host's header declares it
    /// (`EHR_PIPELINE_TRANSMIT_INIT` sets it): which of the fields below
    /// the host's struct has (README, "Extensible structs").
    pub struct_size: usize,
    /// What to do: an `ehr_pipeline_transmit_kind`.
    pub kind: u32,
    /// `EHR_PIPELINE_TRANSMIT_PERSIST`: the round to store.
    pub round: u64,
    /// `EHR_PIPELINE_TRANSMIT_FLIGHT`: the submission.
    pub flight: u64,
    /// `EHR_PIPELINE_TRANSMIT_FLIGHT`: its action, as
    /// `ehr_validator_poll_transmit` writes it (never
    /// `EHR_TRANSMIT_PERSIST` or `EHR_TRANSMIT_READ_HEAD`: the pipeline
    /// gathers those). The last field: it grows as `ehr_transmit` does.
    pub transmit: ehr_transmit,
}

impl ehr_pipeline_transmit {
    /// The C view of `transmit`; a flight's calldata points into its
    /// validator's submission.
    fn of(pipeline: &mut Pipeline, transmit: Option<PipelineTransmit>) -> Self {
        use ehr_pipeline_transmit_kind as Kind;
        let mut t = Self {
            struct_size: size_of::<Self>(),
            kind: Kind::EHR_PIPELINE_TRANSMIT_NONE as u32,
            round: 0,
            flight: 0,
            transmit: ehr_transmit::of(None, None),
        };
        match transmit {
            None => {}
            Some(PipelineTransmit::Persist { round }) => {
                t.kind = Kind::EHR_PIPELINE_TRANSMIT_PERSIST as u32;
                t.round = round;
            }
            Some(PipelineTransmit::ReadHead) => {
                t.kind = Kind::EHR_PIPELINE_TRANSMIT_READ_HEAD as u32;
            }
            Some(PipelineTransmit::Flight { flight, transmit }) => {
                t.kind = Kind::EHR_PIPELINE_TRANSMIT_FLIGHT as u32;
                t.flight = flight.0;
                let submission = pipeline.flight_mut(flight).and_then(|v| v.submission());
                t.transmit = ehr_transmit::of(Some(transmit), submission);
            }
        }
        t
    }
}

/// Writes the next action for the host at `now_ms` (Unix milliseconds) to
/// `transmit_out` (`EHR_PIPELINE_TRANSMIT_NONE` when nothing is due now):
/// the pipeline without a transport, for a host with its own event loop
/// and its own I/O (`ehr_pipeline_step` performs the actions itself).
/// Flushes the open batch when its wait is over.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_poll_transmit(
    pipeline: *mut ehr_pipeline,
    now_ms: u64,
    transmit_out: *mut ehr_pipeline_transmit,
) -> ehr_result {
    guard(|| {
        let pipeline = ptr::handle_mut(pipeline, "pipeline")?;
        let out = OutExtensible::new(transmit_out, "transmit_out")?;
        let transmit = pipeline.pipeline.poll_transmit(UnixMillis(now_ms));
        out.set(ehr_pipeline_transmit::of(&mut pipeline.pipeline, transmit));
        Ok(())
    })
}

/// Hands every outbox entry of `round` (an `EHR_PIPELINE_TRANSMIT_PERSIST`)
/// to `outbox->save`, which may store it at once or queue it for the host's
/// storage thread; then report with `ehr_pipeline_handle_persisted` once
/// they are durable. Nothing for a round already reported.
/// `EHR_OUTBOX_UNAVAILABLE` when `save` failed (report the round failed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_round_entries(
    pipeline: *const ehr_pipeline,
    round: u64,
    outbox: *const ehr_outbox_callbacks,
) -> ehr_result {
    guard(|| {
        let pipeline = ptr::handle(pipeline, "pipeline")?;
        let mut outbox = HostOutbox(ptr::extensible(outbox, "outbox")?);
        outbox.save_all(&pipeline.pipeline.round_entries(round))?;
        Ok(())
    })
}

/// Reports the write of `round` at `now_ms`: `EHR_OK` once every entry is
/// stored durably (its submissions follow), or the storage's failure code
/// (nothing of the round is sent; the write is asked for again).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_handle_persisted(
    pipeline: *mut ehr_pipeline,
    round: u64,
    now_ms: u64,
    result: ehr_result,
) -> ehr_result {
    guard(|| {
        ptr::handle_mut(pipeline, "pipeline")?
            .pipeline
            .handle_persisted(round, UnixMillis(now_ms), stored(result));
        Ok(())
    })
}

/// Hands in the result of `EHR_PIPELINE_TRANSMIT_READ_HEAD` at `now_ms`:
/// `result` `EHR_OK` with the head's `block_number`, or the transport code
/// of why it could not be read.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_handle_head(
    pipeline: *mut ehr_pipeline,
    now_ms: u64,
    result: ehr_result,
    block_number: u64,
) -> ehr_result {
    guard(|| {
        let pipeline = ptr::handle_mut(pipeline, "pipeline")?;
        let chain_id = pipeline.pipeline.chain_id();
        let head = crate::reads::reported(chain_id, result, "head", || Ok(block_number))?;
        pipeline.pipeline.handle_head(UnixMillis(now_ms), head);
        Ok(())
    })
}

/// Writes the validator of the submission `flight` to `validator_out`, to
/// hand it the result of its `EHR_PIPELINE_TRANSMIT_FLIGHT` action with
/// `ehr_validator_handle_*`; NULL when the submission is no longer in
/// flight. The validator is borrowed: it stays valid until the next call
/// on `pipeline`; never free it, and leave its ACKs to the pipeline.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_flight(
    pipeline: *mut ehr_pipeline,
    flight: u64,
    validator_out: *mut *mut ehr_validator,
) -> ehr_result {
    guard(|| {
        let pipeline = ptr::handle_mut(pipeline, "pipeline")?;
        let out = Out::new(validator_out, "validator_out")?;
        let validator = pipeline.pipeline.flight_mut(FlightId(flight));
        out.set(validator.map_or(std::ptr::null_mut(), ehr_validator::borrowed));
        Ok(())
    })
}

/// Writes when the pipeline next wants `ehr_pipeline_handle_timeout` and
/// `ehr_pipeline_poll_transmit` called (Unix milliseconds) to
/// `deadline_ms_out` and true to `has_deadline_out`; false (and nothing to
/// `deadline_ms_out`) when it has nothing to do until a result, a push or
/// a verdict taken.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_poll_timeout(
    pipeline: *const ehr_pipeline,
    has_deadline_out: *mut bool,
    deadline_ms_out: *mut u64,
) -> ehr_result {
    guard(|| {
        let pipeline = ptr::handle(pipeline, "pipeline")?;
        let next = pipeline.pipeline.poll_timeout();
        write_deadline(next, has_deadline_out, deadline_ms_out)
    })
}

/// Passes `now_ms` to every submission (a transaction pending past its
/// inclusion timeout is treated as dropped) and flushes a batch whose wait
/// is over. Call it at the deadline of `ehr_pipeline_poll_timeout`, before
/// `ehr_pipeline_poll_transmit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_handle_timeout(
    pipeline: *mut ehr_pipeline,
    now_ms: u64,
) -> ehr_result {
    guard(|| {
        ptr::handle_mut(pipeline, "pipeline")?
            .pipeline
            .handle_timeout(UnixMillis(now_ms));
        Ok(())
    })
}

/// Hands every verdict reached to `outbox->finish_all` in one call (when
/// set; else `outbox->finish` for each), which stores the ACKs and removes
/// the entries in one step, and writes how many there were to
/// `verdicts_out`; the ACKs then wait for `ehr_pipeline_poll_ack`.
/// `EHR_OUTBOX_UNAVAILABLE` when the callback failed: the verdicts are kept
/// and offered again first by the next call, none is lost.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_poll_finished(
    pipeline: *mut ehr_pipeline,
    outbox: *const ehr_outbox_callbacks,
    verdicts_out: *mut usize,
) -> ehr_result {
    with_outbox(pipeline, outbox, |pipeline, outbox| {
        let out = Out::new(verdicts_out, "verdicts_out")?;
        let reached = std::iter::from_fn(|| pipeline.pipeline.poll_finished());
        pipeline.unstored.extend(reached);
        if !pipeline.unstored.is_empty() {
            outbox.finish_all(&pipeline.unstored)?;
        }
        out.set(pipeline.unstored.len());
        let acks = pipeline.unstored.drain(..).flat_map(|f| f.acks);
        pipeline.acks.extend(acks);
        Ok(())
    })
}

/// Hands every submission's outbox entry as it stands to `outbox->save`
/// (the open batch flushed first, so no TC is left out): what a host that
/// stops stores, to take back with `ehr_pipeline_resume`.
/// `EHR_OUTBOX_UNAVAILABLE` when `save` failed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_entries(
    pipeline: *mut ehr_pipeline,
    outbox: *const ehr_outbox_callbacks,
) -> ehr_result {
    with_outbox(pipeline, outbox, |pipeline, outbox| {
        outbox.save_all(&pipeline.pipeline.entries())?;
        Ok(())
    })
}

/// Frees a pipeline; NULL is ignored. TIs it still holds are lost unless
/// their entries were stored (`ehr_pipeline_drain` with an outbox).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_free(pipeline: *mut ehr_pipeline) {
    free(pipeline);
}
