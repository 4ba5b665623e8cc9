//! The pipeline in the host's own event loop: the core `Pipeline`'s actions
//! handed out (`ehr_pipeline_poll_transmit`) and their results handed in,
//! each by the submission's flight id (as JavaScript's `handleFlight`), for
//! a host with its own I/O or a storage thread of its own.

use ehrchain_core::TransactionValidator;
use ehrchain_core::outbox::Outbox;
use ehrchain_core::pipeline::{Finished, FlightId, Pipeline, PipelineTransmit};
use ehrchain_core::{B256, UnixMillis};

use super::{ehr_pipeline, with_outbox};
use crate::outbox::{HostOutbox, ehr_outbox_callbacks, stored};
use crate::ptr::{self, Out, OutExtensible};
use crate::reads::{self, Read, Target};
use crate::result::{Result, ehr_result, guard};
use crate::shapes::{guard_on, guard_on_mut};
use crate::transport::ehr_receipt;
use crate::validator::{ehr_transmit, write_deadline};

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
    /// Read the chain head's block number once for every submission
    /// waiting; hand it to `ehr_pipeline_handle_head`.
    EHR_PIPELINE_TRANSMIT_READ_HEAD = 2,
    /// One action of the submission `flight`, written to the `ehr_transmit`
    /// beside (`EHR_TRANSMIT_SUBMIT`, `_POLL`, `_READ_RECORD`, `_READ_BATCH`
    /// or `_READ_BLOCK`): perform it and hand its result to the
    /// `ehr_pipeline_handle_*` function of that kind, with `flight`.
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
    /// `EHR_PIPELINE_TRANSMIT_FLIGHT`: the submission whose action it is.
    pub flight: u64,
}

/// The C view of `transmit`: the pipeline's part, and a flight's action
/// (`EHR_TRANSMIT_NONE` for the others; its calldata points into the
/// flight's submission, which lives until its verdict is taken).
pub(crate) fn transmit_of(
    pipeline: &mut Pipeline,
    transmit: Option<PipelineTransmit>,
) -> (ehr_pipeline_transmit, ehr_transmit) {
    use ehr_pipeline_transmit_kind as Kind;
    let mut t = ehr_pipeline_transmit {
        struct_size: size_of::<ehr_pipeline_transmit>(),
        kind: Kind::EHR_PIPELINE_TRANSMIT_NONE as u32,
        round: 0,
        flight: 0,
    };
    let mut action = ehr_transmit::of(None, None);
    match transmit {
        None => {}
        Some(PipelineTransmit::Persist { round }) => {
            t.kind = Kind::EHR_PIPELINE_TRANSMIT_PERSIST as u32;
            t.round = round;
        }
        Some(PipelineTransmit::ReadHead) => t.kind = Kind::EHR_PIPELINE_TRANSMIT_READ_HEAD as u32,
        Some(PipelineTransmit::Flight { flight, transmit }) => {
            t.kind = Kind::EHR_PIPELINE_TRANSMIT_FLIGHT as u32;
            t.flight = flight.0;
            let submission = pipeline.flight_mut(flight).and_then(|v| v.submission());
            action = ehr_transmit::of(Some(transmit), submission);
        }
    }
    (t, action)
}

/// Writes the next action for the host at `now_ms` (Unix milliseconds) to
/// `transmit_out`, and a flight's action to `action_out`
/// (`EHR_TRANSMIT_NONE` for the other kinds; its submission's calldata
/// stays valid until that flight's verdict is taken, by
/// `ehr_pipeline_poll_finished`, `ehr_pipeline_step` or `ehr_pipeline_drain`,
/// or the pipeline is freed): the pipeline without a transport, for a
/// host with its own I/O (`ehr_pipeline_step` performs the actions
/// itself). `EHR_PIPELINE_TRANSMIT_NONE` when nothing is due now. Flushes
/// the open batch when its wait is over.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_poll_transmit(
    pipeline: *mut ehr_pipeline,
    now_ms: u64,
    transmit_out: *mut ehr_pipeline_transmit,
    action_out: *mut ehr_transmit,
) -> ehr_result {
    guard_on_mut(pipeline, "pipeline", |pipeline| {
        let out = OutExtensible::new(transmit_out, "transmit_out")?;
        let action_out = OutExtensible::new(action_out, "action_out")?;
        let transmit = pipeline.pipeline.poll_transmit(UnixMillis(now_ms));
        let (transmit, action) = transmit_of(&mut pipeline.pipeline, transmit);
        out.set(transmit);
        action_out.set(action);
        Ok(())
    })
}

/// Hands every outbox entry of `round` (an `EHR_PIPELINE_TRANSMIT_PERSIST`)
/// to `outbox->save`, which may store it at once or copy it for the host's
/// storage thread (only `save` is called); report with
/// `ehr_pipeline_handle_persisted` once they are durable. Nothing for a
/// round already reported. `EHR_OUTBOX_UNAVAILABLE` when `save` failed
/// (then report the round failed). `save` must not call back into
/// `pipeline`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_round_entries(
    pipeline: *const ehr_pipeline,
    round: u64,
    outbox: *const ehr_outbox_callbacks,
) -> ehr_result {
    guard_on(pipeline, "pipeline", |pipeline| {
        let mut outbox = HostOutbox::new(outbox)?;
        save_entries(&mut outbox, &pipeline.pipeline.round_entries(round))
    })
}

/// `entries` to the host's `save`, one by one.
fn save_entries(outbox: &mut HostOutbox, entries: &[(B256, String)]) -> Result<()> {
    use ehrchain_core::outbox::Outbox as _;
    Ok(outbox.save_all(entries)?)
}

/// Reports the write of `round` at `now_ms`: `EHR_OK` once every entry is
/// stored durably (its submissions follow), or the storage's failure code
/// (nothing of the round is sent; the write is asked for again after the
/// backoff, as a new round). A round not asked for, or reported before,
/// changes nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_handle_persisted(
    pipeline: *mut ehr_pipeline,
    round: u64,
    now_ms: u64,
    result: ehr_result,
) -> ehr_result {
    guard_on_mut(pipeline, "pipeline", |pipeline| {
        let now = UnixMillis(now_ms);
        pipeline
            .pipeline
            .handle_persisted(round, now, stored(result));
        Ok(())
    })
}

/// Hands in the result of `EHR_PIPELINE_TRANSMIT_READ_HEAD` at `now_ms`:
/// `result` `EHR_OK` with the head's `block_number`, or the transport code
/// of why it could not be read. A head no submission waits for changes
/// nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_handle_head(
    pipeline: *mut ehr_pipeline,
    now_ms: u64,
    result: ehr_result,
    block_number: u64,
) -> ehr_result {
    guard_on_mut(pipeline, "pipeline", |pipeline| {
        let chain_id = pipeline.pipeline.chain_id();
        let head = reads::reported(chain_id, result, "head read", || Ok(block_number))?;
        pipeline.pipeline.handle_head(UnixMillis(now_ms), head);
        Ok(())
    })
}

/// A pipeline's submission in flight, as the target of its action's result.
/// A flight no longer held (its verdict taken) takes nothing: the result
/// changes nothing, as in JavaScript's `handleFlight`.
struct Flight(*mut ehr_pipeline, u64);

impl Target for Flight {
    type Machine = TransactionValidator;
    fn on(self, hand: impl FnOnce(&mut TransactionValidator) -> Result<()>) -> ehr_result {
        on_flight(self.0, self.1, hand)
    }
}

/// Runs `hand` with the validator of `pipeline`'s submission `flight`, if
/// the pipeline still holds it, inside the panic boundary.
fn on_flight(
    pipeline: *mut ehr_pipeline,
    flight: u64,
    hand: impl FnOnce(&mut TransactionValidator) -> Result<()>,
) -> ehr_result {
    guard_on_mut(pipeline, "pipeline", |pipeline| {
        pipeline
            .pipeline
            .flight_mut(FlightId(flight))
            .map_or(Ok(()), hand)
    })
}

/// Hands in the result of a flight's `EHR_TRANSMIT_SUBMIT`, as
/// `ehr_validator_handle_submitted` does for a validator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_handle_submitted(
    pipeline: *mut ehr_pipeline,
    flight: u64,
    now_ms: u64,
    result: ehr_result,
    tx_hash: *const u8,
) -> ehr_result {
    reads::submitted(Flight(pipeline, flight), now_ms, result, tx_hash)
}

/// Hands in the result of a flight's `EHR_TRANSMIT_POLL`, as
/// `ehr_validator_handle_receipt` does for a validator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_handle_receipt(
    pipeline: *mut ehr_pipeline,
    flight: u64,
    now_ms: u64,
    result: ehr_result,
    status: u32,
    receipt: *const ehr_receipt,
) -> ehr_result {
    let read = Read::Receipt(status, receipt);
    reads::hand_in(Flight(pipeline, flight), now_ms, result, read)
}

/// Hands in the result of a flight's `EHR_TRANSMIT_READ_RECORD`, as
/// `ehr_validator_handle_record` does for a validator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_handle_record(
    pipeline: *mut ehr_pipeline,
    flight: u64,
    now_ms: u64,
    result: ehr_result,
    found: bool,
    record_hash: *const u8,
) -> ehr_result {
    let record_hash = found.then_some(record_hash);
    let read = Read::Record(record_hash);
    reads::hand_in(Flight(pipeline, flight), now_ms, result, read)
}

/// Hands in the result of a flight's `EHR_TRANSMIT_READ_BATCH`, as
/// `ehr_validator_handle_batch` does for a validator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_handle_batch(
    pipeline: *mut ehr_pipeline,
    flight: u64,
    now_ms: u64,
    result: ehr_result,
    found: bool,
    leaf_count: u32,
    has_batch_id: bool,
    batch_id: *const u8,
) -> ehr_result {
    let batch_id = has_batch_id.then_some(batch_id);
    let read = Read::Batch(found, leaf_count, batch_id);
    reads::hand_in(Flight(pipeline, flight), now_ms, result, read)
}

/// Hands in the result of a flight's `EHR_TRANSMIT_READ_BLOCK`, as
/// `ehr_validator_handle_block` does for a validator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_handle_block(
    pipeline: *mut ehr_pipeline,
    flight: u64,
    now_ms: u64,
    result: ehr_result,
    found: bool,
    block_number: u64,
    block_hash: *const u8,
) -> ehr_result {
    let block_hash = found.then_some(block_hash);
    let read = Read::Block(block_number, block_hash);
    reads::hand_in(Flight(pipeline, flight), now_ms, result, read)
}

/// Writes when the pipeline next wants `ehr_pipeline_handle_timeout` and
/// `ehr_pipeline_poll_transmit` called (Unix milliseconds) to
/// `deadline_ms_out` and true to `has_deadline_out`; false (and nothing to
/// `deadline_ms_out`) when nothing waits for a time: only for a result, a
/// push or a verdict to take.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_poll_timeout(
    pipeline: *const ehr_pipeline,
    has_deadline_out: *mut bool,
    deadline_ms_out: *mut u64,
) -> ehr_result {
    guard(|| {
        let next = ptr::handle(pipeline, "pipeline")?.pipeline.poll_timeout();
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
    guard_on_mut(pipeline, "pipeline", |pipeline| {
        pipeline.pipeline.handle_timeout(UnixMillis(now_ms));
        Ok(())
    })
}

/// Hands every verdict reached to the host's outbox, which stores its ACKs
/// and removes its entry: all in one `outbox->finish_all` call when it is
/// set (one transaction), else an `outbox->finish` each. Writes how many
/// were stored to `verdicts_out`, also when a callback failed (the one
/// output written on a failure besides `EHR_BUFFER_TOO_SMALL`'s); their
/// ACKs then wait for `ehr_pipeline_poll_ack`. `EHR_OUTBOX_UNAVAILABLE`
/// when a callback failed: the verdicts not stored stay in the pipeline
/// (their TIs still pending) and are offered again first by the next call;
/// none is stored twice. The callbacks must not call back into `pipeline`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_pipeline_poll_finished(
    pipeline: *mut ehr_pipeline,
    outbox: *const ehr_outbox_callbacks,
    verdicts_out: *mut usize,
) -> ehr_result {
    with_outbox(pipeline, outbox, |pipeline, outbox| {
        let out = Out::new(verdicts_out, "verdicts_out")?;
        let reached: Vec<Finished> =
            std::iter::from_fn(|| pipeline.pipeline.poll_finished()).collect();
        let written = if reached.is_empty() {
            Ok(())
        } else {
            outbox.finish_all(&reached)
        };
        let (stored, result) = match written {
            Ok(()) => (reached.len(), Ok(())),
            Err(partly) => (partly.stored, Err(partly.error)),
        };
        let mut reached = reached.into_iter();
        pipeline
            .pipeline
            .handle_stored_verdicts(reached.by_ref().take(stored));
        pipeline.pipeline.restore_finished(reached);
        out.set(stored);
        Ok(result?)
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
        save_entries(outbox, &pipeline.pipeline.entries())
    })
}
