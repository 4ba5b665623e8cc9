//! `ehr_validator`: the Transaction Validator (TV) as a handle, driven either
//! by ehrchain through a transport (`ehr_validator_run`, blocking) or by the
//! host's own event loop: actions out (`ehr_validator_poll_transmit`),
//! results in (`ehr_validator_handle_*`), the time of the next step out
//! (`ehr_validator_poll_timeout`), ACKs out (`ehr_validator_poll_ack`). The
//! state machine is the core's `TransactionValidator`; this module only
//! converts.

use std::collections::VecDeque;
use std::ffi::c_char;

use ehrchain_core::{
    Ack, ErrorCode, Submission, SystemClock, TransactionValidator, Transmit, UnixMillis,
    run_blocking,
};

use crate::batch::ehr_batch;
use crate::cancel::{blocking, ehr_cancel};
use crate::config::{ehr_finality, ehr_validator_config, validator_config};
use crate::handshaker::{ehr_ack, ehr_handshaker, ehr_tc};
use crate::ptr::{self, Out, OutExtensible};
use crate::reads::{self, Read, ReaderHandle};
use crate::result::{Error, Result, ehr_result, guard};
use crate::shapes::{free, guard_on, guard_on_mut, json_text, text_of, value_of};
use crate::signer::ehr_signer;
use crate::ti::ehr_ti;
use crate::transport::{ehr_receipt, ehr_submission, ehr_transport};
use ehrchain_core::rpc::Outcome;

/// The Transaction Validator for one submission (a TC, or a batch
/// transaction for many TCs): takes it from generated to a final verdict and
/// ends with exactly one ACK per TI.
///
/// Thread safety: a handle may be moved to another thread, but not used from
/// two threads at once.
pub struct ehr_validator {
    pub(crate) v: TransactionValidator,
    /// ACKs `ehr_validator_run` took out of `v`, for `ehr_validator_poll_ack`.
    acks: VecDeque<Ack>,
}

impl ehr_validator {
    pub(crate) fn new(v: TransactionValidator) -> Self {
        Self {
            v,
            acks: VecDeque::new(),
        }
    }

    /// Keeps the ACKs a blocking run took out of `v`, for
    /// `ehr_validator_poll_ack`.
    pub(crate) fn take_acks(&mut self, acks: Vec<Ack>) {
        self.acks.extend(acks);
    }

    /// Whether `ehr_validator_run` took ACKs out that were not polled yet.
    pub(crate) fn holds_acks(&self) -> bool {
        !self.acks.is_empty()
    }
}

impl ReaderHandle for ehr_validator {
    type Machine = TransactionValidator;
    const NAME: &'static str = "validator";
    const UNEXPECTED: ErrorCode = ErrorCode::Validator;
    fn machine(&mut self) -> &mut TransactionValidator {
        &mut self.v
    }
    fn machine_ref(&self) -> &TransactionValidator {
        &self.v
    }
    fn take(machine: &mut TransactionValidator, outcome: Outcome, now: UnixMillis) -> Result<()> {
        Ok(outcome.hand_to(machine, now)?)
    }
}

/// Makes a validator anchoring one TC, with `config` (NULL for the
/// defaults). Free it with `ehr_validator_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_new(
    tc: *const ehr_tc,
    config: *const ehr_validator_config,
    validator_out: *mut *mut ehr_validator,
) -> ehr_result {
    guard_on(tc, "tc", |tc| {
        let config = validator_config(config)?;
        let out = Out::new(validator_out, "validator_out")?;
        out.give(ehr_validator::new(TransactionValidator::new(
            &tc.tc, config,
        )));
        Ok(())
    })
}

/// Turns `ti` into its validator with `handshaker` at `now_ms` (Unix
/// milliseconds), for a host that drives validators itself (then
/// `ehr_validator_poll_transmit`): a TI that cannot be turned into its
/// TC gives a finished validator whose one ACK is invalid, for the host's
/// audit: its template refuses it (with the violations, where
/// `ehr_handshaker_generate` returns `EHR_TI_REJECTED` and no ACK), or its
/// record could not be sealed. A key store that does not answer is no
/// verdict on the TI: `EHR_KEY_STORE_UNAVAILABLE` (retryable), no
/// validator, nothing made; call again later. With `signer` (NULL for none) the
/// TC is signed by its author and relayed (`anchorSignedRecord`); a signer
/// that makes no signature, or a wrong one, gives a finished validator with
/// an invalid ACK as well, and nothing is sent. Free it with
/// `ehr_validator_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_validator_for(
    handshaker: *mut ehr_handshaker,
    ti: *const ehr_ti,
    signer: *const ehr_signer,
    now_ms: u64,
    validator_out: *mut *mut ehr_validator,
) -> ehr_result {
    guard(|| {
        let hs = ptr::handle_mut(handshaker, "handshaker")?;
        let ti = ptr::handle(ti, "ti")?;
        let signer = (!signer.is_null())
            .then(|| ptr::handle(signer, "signer"))
            .transpose()?;
        let out = Out::new(validator_out, "validator_out")?;
        let now = UnixMillis(now_ms);
        let validator = match signer {
            None => hs.hs.validator_for(&ti.ti, now, &mut hs.rng),
            Some(s) => hs
                .hs
                .validator_signed_by(&ti.ti, &s.signer, now, &mut hs.rng),
        }?;
        out.give(ehr_validator::new(validator));
        Ok(())
    })
}

/// Makes a validator anchoring `batch` with one transaction: `tcs` are the
/// `tcs_len` TCs whose record hashes were pushed, in the same order (the
/// registry and chain are those of the first); `config` may be NULL for the
/// defaults. Each valid ACK carries its record's inclusion proof.
/// `EHR_BATCH_MISMATCH` when the TCs are not the batch's records, or one of
/// them is for another registry or chain than the first or was signed by
/// its author (anchor a signed TC alone, so its signature reaches the
/// chain); `EHR_BATCH_DUPLICATE_TI` when two TCs are for one TI (it would
/// get two ACKs). Free it with `ehr_validator_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_new_batch(
    batch: *const ehr_batch,
    tcs: *const *const ehr_tc,
    tcs_len: usize,
    config: *const ehr_validator_config,
    validator_out: *mut *mut ehr_validator,
) -> ehr_result {
    guard_on(batch, "batch", |batch| {
        let tcs = ptr::handles(tcs, tcs_len, "tcs")?;
        let config = validator_config(config)?;
        let out = Out::new(validator_out, "validator_out")?;
        out.give(ehr_validator::new(batch_validator(batch, &tcs, config)?));
        Ok(())
    })
}

/// The validator of `batch` for `tcs` (at least one).
pub(crate) fn batch_validator(
    batch: &ehr_batch,
    tcs: &[&ehr_tc],
    config: ehrchain_core::ValidatorConfig,
) -> Result<TransactionValidator> {
    let first = tcs.first().ok_or_else(|| {
        Error::new(
            ErrorCode::ZeroLength,
            "the argument `tcs` is empty; a batch anchors at least one TC",
        )
    })?;
    let (registry, chain_id) = (first.tc.to, first.tc.chain_id);
    let tcs: Vec<_> = tcs.iter().map(|t| t.tc.clone()).collect();
    Ok(TransactionValidator::for_batch(
        &batch.batch,
        &tcs,
        registry,
        chain_id,
        config,
    )?)
}

/// Runs the validator through `transport` until its verdict, blocking:
/// reads the system clock and sleeps between polls (the validator
/// configuration sets how long). Then take the ACKs with
/// `ehr_validator_poll_ack`. An action `ehr_validator_poll_transmit` handed
/// out whose result was never handed in is asked again (a submission that
/// may have gone out is settled first, so nothing is anchored twice).
/// Running a new validator for the same TC again is idempotent: the record
/// is anchored once and the second ACK is a valid replay. An outage is
/// waited out, up to `deadline_ms` (Unix milliseconds; 0 for none) or until
/// `cancel` (NULL for none) is signalled: then `EHR_STILL_PENDING`, no ACK,
/// and the validator as it stood (`ehr_validator_outage` says why it
/// waited); run it again later.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_run(
    validator: *mut ehr_validator,
    transport: *mut ehr_transport,
    deadline_ms: u64,
    cancel: *const ehr_cancel,
) -> ehr_result {
    guard_on_mut(validator, "validator", |validator| {
        let (transport, until) = blocking(transport, deadline_ms, cancel)?;
        let run = run_blocking(&mut validator.v, transport, &mut SystemClock, &until);
        validator.take_acks(run.acked()?);
        Ok(())
    })
}

/// What an `ehr_transmit` asks the host to do.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ehr_transmit_kind {
    /// Nothing now: call `ehr_validator_poll_transmit` again at the deadline
    /// of `ehr_validator_poll_timeout`, or after handing in the result of
    /// the action already handed out.
    EHR_TRANSMIT_NONE = 0,
    /// Send `submission`; hand the result to `ehr_validator_handle_submitted`.
    EHR_TRANSMIT_SUBMIT = 1,
    /// Ask where the transaction `tx_hash` (sent for `submission`) stands;
    /// hand the result to `ehr_validator_handle_receipt`.
    EHR_TRANSMIT_POLL = 2,
    /// Read the chain head's block number; hand it to
    /// `ehr_validator_handle_head`.
    EHR_TRANSMIT_READ_HEAD = 3,
    /// Read the registry's `recordHashOf(ti_id)`; hand it to
    /// `ehr_validator_handle_record`.
    EHR_TRANSMIT_READ_RECORD = 4,
    /// Read the batch the registry holds under `root`; hand it to
    /// `ehr_validator_handle_batch`.
    EHR_TRANSMIT_READ_BATCH = 5,
    /// Store the validator's outbox entry (`ehr_validator_to_json`) durably
    /// under its key (`ehr_validator_outbox_key`), replacing the entry stored
    /// before; hand the result to `ehr_validator_handle_persisted`. Comes
    /// before every submission: after a restart, `ehr_validator_from_json`
    /// resumes the same TC, never a new one.
    EHR_TRANSMIT_PERSIST = 6,
    /// Read the node's block under `tag` (an `ehr_finality`:
    /// `EHR_FINALITY_SAFE` or `EHR_FINALITY_FINALIZED`); hand its number and
    /// hash to `ehr_validator_handle_block`. Asked instead of the head with
    /// finality by tag.
    EHR_TRANSMIT_READ_BLOCK = 7,
}

/// The next thing the host must do for a validator
/// (`ehr_validator_poll_transmit`). Only the fields its `kind` names are
/// set; the others are zero.
#[repr(C)]
#[derive(Debug)]
pub struct ehr_transmit {
    /// `sizeof(ehr_transmit)` as the host's header declares it
    /// (`EHR_TRANSMIT_INIT` sets it): which of the fields below
    /// the host's struct has (README, "Extensible structs").
    pub struct_size: usize,
    /// What to do: an `ehr_transmit_kind`.
    pub kind: u32,
    /// `EHR_TRANSMIT_SUBMIT` and `EHR_TRANSMIT_POLL`: the transaction. Its
    /// calldata stays valid until the validator is freed.
    pub submission: ehr_submission,
    /// `EHR_TRANSMIT_POLL`: the transaction to ask about.
    pub tx_hash: [u8; 32],
    /// `EHR_TRANSMIT_READ_RECORD`: the TI id whose record hash to read.
    pub ti_id: [u8; 32],
    /// `EHR_TRANSMIT_READ_BATCH`: the Merkle root whose batch to read.
    pub root: [u8; 32],
    /// `EHR_TRANSMIT_READ_BLOCK`: the block tag, an `ehr_finality`.
    pub tag: u32,
}

impl ehr_transmit {
    /// The C view of `transmit`; its submission's calldata points into
    /// `submission`, the validator's own.
    pub(crate) fn of(transmit: Option<Transmit>, submission: Option<&Submission>) -> Self {
        let mut t = Self {
            struct_size: size_of::<Self>(),
            kind: ehr_transmit_kind::EHR_TRANSMIT_NONE as u32,
            submission: ehr_submission::NONE,
            tx_hash: [0; 32],
            ti_id: [0; 32],
            root: [0; 32],
            tag: 0,
        };
        let sub = || submission.map_or(ehr_submission::NONE, ehr_submission::of);
        match transmit {
            None => {}
            Some(Transmit::Persist) => t.kind = ehr_transmit_kind::EHR_TRANSMIT_PERSIST as u32,
            Some(Transmit::Submit { .. }) => {
                t.kind = ehr_transmit_kind::EHR_TRANSMIT_SUBMIT as u32;
                t.submission = sub();
            }
            Some(Transmit::Poll { tx_hash, .. }) => {
                t.kind = ehr_transmit_kind::EHR_TRANSMIT_POLL as u32;
                t.submission = sub();
                t.tx_hash = tx_hash.0.0;
            }
            Some(Transmit::ReadHead) => t.kind = ehr_transmit_kind::EHR_TRANSMIT_READ_HEAD as u32,
            Some(Transmit::ReadRecord { ti_id }) => {
                t.kind = ehr_transmit_kind::EHR_TRANSMIT_READ_RECORD as u32;
                t.ti_id = ti_id.0;
            }
            Some(Transmit::ReadBatch { root }) => {
                t.kind = ehr_transmit_kind::EHR_TRANSMIT_READ_BATCH as u32;
                t.root = root.0;
            }
            Some(Transmit::ReadBlock { tag }) => {
                t.kind = ehr_transmit_kind::EHR_TRANSMIT_READ_BLOCK as u32;
                t.tag = ehr_finality::of_tag(tag);
            }
        }
        t
    }
}

/// Writes the next action for the host at `now_ms` (Unix milliseconds) to
/// `transmit_out`: `EHR_TRANSMIT_NONE` when there is nothing to do now (see
/// `ehr_transmit_kind`), when the result of the last action is awaited, or
/// once the verdict is reached. Hand each action's result to the matching
/// `ehr_validator_handle_*` function before asking for the next.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_poll_transmit(
    validator: *mut ehr_validator,
    now_ms: u64,
    transmit_out: *mut ehr_transmit,
) -> ehr_result {
    reads::transmit(
        validator,
        now_ms,
        transmit_out,
        TransactionValidator::poll_transmit,
    )
}

/// Writes when the validator next wants `ehr_validator_handle_timeout` and
/// `ehr_validator_poll_transmit` called (Unix milliseconds) to
/// `deadline_ms_out` and true to `has_deadline_out`; false (and nothing to
/// `deadline_ms_out`) while it awaits an action's result or once it is
/// finished.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_poll_timeout(
    validator: *const ehr_validator,
    has_deadline_out: *mut bool,
    deadline_ms_out: *mut u64,
) -> ehr_result {
    guard_on(validator, "validator", |v| {
        write_deadline(v.v.poll_timeout(), has_deadline_out, deadline_ms_out)
    })
}

/// Writes `next` (Unix milliseconds) to `deadline_ms_out` and whether there
/// is one to `has_deadline_out` (nothing to `deadline_ms_out` when not).
pub(crate) fn write_deadline(
    next: Option<UnixMillis>,
    has_deadline_out: *mut bool,
    deadline_ms_out: *mut u64,
) -> Result<()> {
    let has_deadline = Out::new(has_deadline_out, "has_deadline_out")?;
    let deadline = Out::new(deadline_ms_out, "deadline_ms_out")?;
    if let Some(at) = next {
        deadline.set(at.as_millis());
    }
    has_deadline.set(next.is_some());
    Ok(())
}

/// Advances the validator's timers to `now_ms`: a transaction pending past
/// the inclusion timeout is treated as dropped (and sent again after the
/// registry is read). Call it at the deadline of `ehr_validator_poll_timeout`,
/// before `ehr_validator_poll_transmit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_handle_timeout(
    validator: *mut ehr_validator,
    now_ms: u64,
) -> ehr_result {
    guard(|| {
        ptr::handle_mut(validator, "validator")?
            .v
            .handle_timeout(UnixMillis(now_ms));
        Ok(())
    })
}

/// Hands in the result of `EHR_TRANSMIT_READ_BLOCK` at `now_ms`: `result`
/// `EHR_OK` with `found` true, the block's number and its 32-byte hash, or
/// `found` false when the node names no such block yet (then `block_hash` is
/// not read and may be NULL); or the transport code of why it could not be
/// read. `EHR_VALIDATOR` when no block was asked for.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_handle_block(
    validator: *mut ehr_validator,
    now_ms: u64,
    result: ehr_result,
    found: bool,
    block_number: u64,
    block_hash: *const u8,
) -> ehr_result {
    let block_hash = found.then_some(block_hash);
    let read = Read::Block(block_number, block_hash);
    reads::hand_in(validator, now_ms, result, read)
}

/// Hands in the result of `EHR_TRANSMIT_SUBMIT` at `now_ms`: `result`
/// `EHR_OK` with the 32-byte `tx_hash` of the sent transaction, or the
/// transport code of why it could not be sent (then `tx_hash` is not read
/// and may be NULL; the codes mean what they mean for a callback transport's
/// `submit`). `EHR_VALIDATOR` when no submission was asked for.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_handle_submitted(
    validator: *mut ehr_validator,
    now_ms: u64,
    result: ehr_result,
    tx_hash: *const u8,
) -> ehr_result {
    reads::submitted(validator, now_ms, result, tx_hash)
}

/// Hands in the result of `EHR_TRANSMIT_POLL` at `now_ms`: `result` `EHR_OK`
/// with `status` (an `ehr_poll_status`) and, for `EHR_POLL_INCLUDED`, the
/// transaction's `receipt` (else not read and may be NULL); or the transport
/// code of why the node could not be asked. `EHR_VALIDATOR` when no poll was
/// asked for or the receipt is another transaction's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_handle_receipt(
    validator: *mut ehr_validator,
    now_ms: u64,
    result: ehr_result,
    status: u32,
    receipt: *const ehr_receipt,
) -> ehr_result {
    reads::hand_in(validator, now_ms, result, Read::Receipt(status, receipt))
}

/// Hands in the result of `EHR_TRANSMIT_READ_HEAD` at `now_ms`: `result`
/// `EHR_OK` with the head's `block_number`, or the transport code of why it
/// could not be read. `EHR_VALIDATOR` when no head was asked for.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_handle_head(
    validator: *mut ehr_validator,
    now_ms: u64,
    result: ehr_result,
    block_number: u64,
) -> ehr_result {
    reads::hand_in(validator, now_ms, result, Read::Head(block_number))
}

/// Hands in the result of `EHR_TRANSMIT_READ_RECORD` at `now_ms`: `result`
/// `EHR_OK` with `found` and, when found, the 32-byte `record_hash` the
/// registry holds (else not read and may be NULL); or the transport code of
/// why the registry could not be read. `EHR_VALIDATOR` when no record read
/// was asked for.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_handle_record(
    validator: *mut ehr_validator,
    now_ms: u64,
    result: ehr_result,
    found: bool,
    record_hash: *const u8,
) -> ehr_result {
    let record_hash = found.then_some(record_hash);
    reads::hand_in(validator, now_ms, result, Read::Record(record_hash))
}

/// Hands in the result of `EHR_TRANSMIT_READ_BATCH` at `now_ms`: `result`
/// `EHR_OK` with `found` and, when found, the batch's `leaf_count` and, when
/// the host reads the `BatchAnchored` event (`has_batch_id`), its 32-byte
/// `batch_id` (else not read and may be NULL); or the transport code of why
/// the registry could not be read. `EHR_VALIDATOR` when no batch read was
/// asked for.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_handle_batch(
    validator: *mut ehr_validator,
    now_ms: u64,
    result: ehr_result,
    found: bool,
    leaf_count: u32,
    has_batch_id: bool,
    batch_id: *const u8,
) -> ehr_result {
    let batch_id = has_batch_id.then_some(batch_id);
    let read = Read::Batch(found, leaf_count, batch_id);
    reads::hand_in(validator, now_ms, result, read)
}

/// Writes the next ACK to `ack_out` (free it with `ehr_ack_free`), or NULL
/// when none waits: once the verdict is reached there is one ACK per TI,
/// each handed out once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_poll_ack(
    validator: *mut ehr_validator,
    ack_out: *mut *mut ehr_ack,
) -> ehr_result {
    guard_on_mut(validator, "validator", |validator| {
        let out = Out::new(ack_out, "ack_out")?;
        let ack = validator
            .acks
            .pop_front()
            .or_else(|| validator.v.poll_ack());
        out.give_or_null(ack.map(|ack| ehr_ack { ack }));
        Ok(())
    })
}

/// Writes whether the verdict is reached to `finished_out` (its ACKs may
/// still wait in `ehr_validator_poll_ack`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_is_finished(
    validator: *const ehr_validator,
    finished_out: *mut bool,
) -> ehr_result {
    value_of(validator, finished_out, "validator", "finished_out", |v| {
        v.v.is_finished()
    })
}

/// The outage a validator is waiting out (`ehr_validator_outage`): the node
/// failed every attempt since `since_ms` with a retryable error. Not a
/// verdict: the validator asks again at `retry_at_ms`, for as long as it
/// takes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ehr_outage {
    /// `sizeof(ehr_outage)` as the host's header declares it
    /// (`EHR_OUTAGE_INIT` sets it): which of the fields below
    /// the host's struct has (README, "Extensible structs").
    pub struct_size: usize,
    /// When the first failed attempt of this run was answered (Unix ms).
    pub since_ms: u64,
    /// When the validator asks again (Unix ms).
    pub retry_at_ms: u64,
    /// Failed attempts in a row (at least 1).
    pub attempts: u32,
    /// The last failure's code (`EHR_TRANSPORT_UNAVAILABLE`,
    /// `EHR_TRANSPORT_RATE_LIMITED`); its message is in
    /// `ehr_validator_state_json`.
    pub last_error: ehr_result,
}

/// Writes whether the validator is waiting out an outage to
/// `in_outage_out`, and if so, since when and how often it failed to
/// `outage_out` (not written otherwise): what a UI shows beside a pending
/// TI ("node unreachable since …").
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_outage(
    validator: *const ehr_validator,
    in_outage_out: *mut bool,
    outage_out: *mut ehr_outage,
) -> ehr_result {
    guard_on(validator, "validator", |validator| {
        let in_outage = Out::new(in_outage_out, "in_outage_out")?;
        let out = OutExtensible::new(outage_out, "outage_out")?;
        let outage = validator.v.outage();
        if let Some(o) = outage {
            out.set(ehr_outage {
                struct_size: size_of::<ehr_outage>(),
                since_ms: o.since.as_millis(),
                retry_at_ms: o.retry_at.as_millis(),
                attempts: o.attempts,
                last_error: o.last_error.code().into(),
            });
        }
        in_outage.set(outage.is_some());
        Ok(())
    })
}

/// Writes where the validator stands as NUL-terminated JSON into `buf`
/// (text-output rules: `ehr_result_message`): `{"state": "submitted",
/// "txHash": …}`, or during an outage `{"state": "outage", "outage":
/// {"since": …, "attempts": …, "retryAt": …, "lastError": {…}}, "during":
/// {…}}` (the JSON form of the core's `ValidatorState`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_state_json(
    validator: *const ehr_validator,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(validator, buf, len, out_len, "validator", |v| {
        json_text(&v.v.state())
    })
}

/// Frees a validator (and the ACKs it still holds); NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_free(validator: *mut ehr_validator) {
    free(validator);
}
