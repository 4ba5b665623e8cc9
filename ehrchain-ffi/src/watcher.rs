//! `ehr_watcher`: the anchor watcher as a handle. After the ACK, it reads
//! the chain until each valid ACK's anchor is final (N blocks deep), and
//! reports an anchor a reorg took away (`vanished`) with the outbox entry
//! that resends the same TC (`ehr_validator_from_json`). Driven by ehrchain
//! through a transport (`ehr_watcher_run`, blocking, with a deadline and a
//! cancel token; `ehr_watcher_run_durably` resends a vanished anchor's TC
//! through the host's outbox) or by
//! the host's own event loop: reads out (`ehr_watcher_poll_transmit`, the
//! validator's `ehr_transmit`), results in (`ehr_watcher_handle_*`), events
//! out as JSON (`ehr_watcher_poll_event`). The state machine is the core's
//! `AnchorWatcher`; this module only converts.

use std::collections::VecDeque;
use std::ffi::c_char;

use ehrchain_core::watcher::{AnchorWatcher, WatchEvent, WatcherConfig};
use ehrchain_core::{
    ErrorCode, SystemClock, TransactionValidator, WatchStopped, watch_durably, watch_until,
};

use crate::cancel::{blocking, ehr_cancel};
use crate::handshaker::ehr_ack;
use crate::outbox::{HostOutbox, ehr_outbox_callbacks};
use crate::ptr::{self, Out};
use crate::reads::{self, Read, ReaderHandle};
use crate::result::{Error, ehr_result, guard};
use crate::shapes::{
    free, guard_on, guard_on_mut, json_text, parsed, text_of, value_of, write_json,
};
use crate::transport::{ehr_receipt, ehr_transport};
use crate::validator::{ehr_transmit, ehr_validator, write_deadline};

/// The anchor watcher over valid ACKs.
///
/// Thread safety: a handle may be moved to another thread, but not used from
/// two threads at once.
pub struct ehr_watcher {
    w: AnchorWatcher,
    /// Events `ehr_watcher_run_durably` acted on, for
    /// `ehr_watcher_poll_event` before the watcher's own: kept apart, so
    /// that no run acts on them again.
    acted_on: VecDeque<WatchEvent>,
}

impl ehr_watcher {
    fn new(w: AnchorWatcher) -> Self {
        Self {
            w,
            acted_on: VecDeque::new(),
        }
    }

    /// The event `ehr_watcher_poll_event` hands out next.
    fn next_event(&self) -> Option<&WatchEvent> {
        self.acted_on.front().or_else(|| self.w.peek_event())
    }

    /// Takes out the event `next_event` named.
    fn take_event(&mut self) {
        if self.acted_on.pop_front().is_none() {
            self.w.poll_event();
        }
    }
}

impl ReaderHandle for ehr_watcher {
    type Machine = AnchorWatcher;
    const NAME: &'static str = "watcher";
    const UNEXPECTED: ErrorCode = ErrorCode::Watcher;
    fn machine(&mut self) -> &mut AnchorWatcher {
        &mut self.w
    }
    fn machine_ref(&self) -> &AnchorWatcher {
        &self.w
    }
}

/// Makes a watcher with `config_json` (`config_len` bytes of UTF-8; the
/// core's JSON form, such as `{"depth": 64, "pollIntervalMs": 12000}`), or
/// NULL for the defaults (12 blocks deep, a round every second). Free it
/// with `ehr_watcher_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_new(
    config_json: *const c_char,
    config_len: usize,
    watcher_out: *mut *mut ehr_watcher,
) -> ehr_result {
    guard(|| {
        let config = match ptr::opt_text(config_json, config_len, "config_json")? {
            None => WatcherConfig::default(),
            Some(json) => serde_json::from_str(json).map_err(|e| {
                Error::new(
                    ErrorCode::InvalidArgument,
                    format!("the watcher configuration is not valid: {e}"),
                )
            })?,
        };
        Out::new(watcher_out, "watcher_out")?.give(ehr_watcher::new(AnchorWatcher::new(config)));
        Ok(())
    })
}

/// Watches the anchor of `ack`, a valid ACK that `validator` gave (for a
/// batch, any of its ACKs), until it is final; an anchor already watched
/// under the same key (TI id or root) is replaced. `EHR_WATCHER` for an
/// invalid ACK or another validator's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_watch(
    watcher: *mut ehr_watcher,
    validator: *const ehr_validator,
    ack: *const ehr_ack,
) -> ehr_result {
    guard_on_mut(watcher, "watcher", |watcher| {
        let validator = ptr::handle(validator, "validator")?;
        let ack = ptr::handle(ack, "ack")?;
        watcher.w.watch(&validator.v, &ack.ack)?;
        Ok(())
    })
}

/// Writes how many anchors are watched (not final, not vanished yet) to
/// `len_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_len(
    watcher: *const ehr_watcher,
    len_out: *mut usize,
) -> ehr_result {
    value_of(watcher, len_out, "watcher", "len_out", |w| w.w.len())
}

/// Runs the watcher through `transport`, blocking (system clock), until
/// nothing is watched, `deadline_ms` (Unix milliseconds; 0: no deadline)
/// passes or `cancel` (NULL for none) is signalled, which ends a wait at
/// once (as for `ehr_validator_run`); then take the events with
/// `ehr_watcher_poll_event`. A vanished
/// anchor is the host's to resend: store the event's `entry` in the outbox
/// and resume it (`ehr_validator_from_event`, `ehr_validator_run_durably`),
/// then watch the new ACK; or run `ehr_watcher_run_durably`, which does.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_run(
    watcher: *mut ehr_watcher,
    transport: *mut ehr_transport,
    deadline_ms: u64,
    cancel: *const ehr_cancel,
) -> ehr_result {
    guard_on_mut(watcher, "watcher", |watcher| {
        let (transport, until) = blocking(transport, deadline_ms, cancel)?;
        watch_until(&mut watcher.w, transport, &mut SystemClock, &until);
        Ok(())
    })
}

/// Runs the watcher like `ehr_watcher_run`, and resends through the host's
/// write-ahead `outbox`: when an anchor vanishes, its TI is moved back to
/// pending (the event's entry stored with `outbox->save`), the same TC is
/// sent again (`ehr_validator_run_durably`: the same record hash, a new
/// transaction; `outbox->finish` gets its ACKs) and its valid ACK is
/// watched, until every anchor is final, `deadline_ms` (Unix milliseconds;
/// 0 for none) passes or `cancel` (NULL for none) is signalled. Writes how
/// many ACKs the resends made to `resent_out`. The events it acted on
/// (`final`, `vanished`) wait for `ehr_watcher_poll_event`, and no later run
/// acts on them again; they are not part of `ehr_watcher_to_json` (what they
/// caused is in the outbox already). `EHR_OUTBOX_UNAVAILABLE` when a
/// callback failed: the events acted on before wait as well, and the
/// vanished anchor's event stays in the watcher (with those after it), so
/// running again resends it; an entry stored before the failure is resumed
/// by `ehr_handshaker_resume` too.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_run_durably(
    watcher: *mut ehr_watcher,
    transport: *mut ehr_transport,
    outbox: *const ehr_outbox_callbacks,
    deadline_ms: u64,
    cancel: *const ehr_cancel,
    resent_out: *mut usize,
) -> ehr_result {
    guard_on_mut(watcher, "watcher", |watcher| {
        let mut outbox = HostOutbox::new(outbox)?;
        let (transport, until) = blocking(transport, deadline_ms, cancel)?;
        let resent = Out::new(resent_out, "resent_out")?;
        let run = watch_durably(
            &mut watcher.w,
            &mut outbox,
            transport,
            &mut SystemClock,
            &until,
        );
        let (report, error) = match run {
            Ok(report) => (report, None),
            Err(WatchStopped { report, error }) => (report, Some(error)),
        };
        watcher.acted_on.extend(report.events);
        match error {
            Some(error) => Err(error.into()),
            None => {
                resent.set(report.resent.len());
                Ok(())
            }
        }
    })
}

/// Writes the next read for the host at `now_ms` to `transmit_out` (an
/// `ehr_transmit` as the validator's: `EHR_TRANSMIT_READ_HEAD`,
/// `EHR_TRANSMIT_READ_BLOCK` (finality by tag), `EHR_TRANSMIT_POLL`,
/// `EHR_TRANSMIT_READ_RECORD` or `EHR_TRANSMIT_READ_BATCH`; `EHR_TRANSMIT_NONE` when there is nothing to
/// do now). Its submission's calldata stays valid until the next call that
/// changes the watcher. Hand each result to the matching
/// `ehr_watcher_handle_*` function.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_poll_transmit(
    watcher: *mut ehr_watcher,
    now_ms: u64,
    transmit_out: *mut ehr_transmit,
) -> ehr_result {
    reads::transmit(watcher, now_ms, transmit_out, AnchorWatcher::poll_transmit)
}

/// Writes when the watcher next wants `ehr_watcher_poll_transmit` called
/// (Unix milliseconds) to `deadline_ms_out` and true to `has_deadline_out`;
/// false (and nothing to `deadline_ms_out`) while it awaits a read's result
/// or watches nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_poll_timeout(
    watcher: *const ehr_watcher,
    has_deadline_out: *mut bool,
    deadline_ms_out: *mut u64,
) -> ehr_result {
    guard_on(watcher, "watcher", |w| {
        write_deadline(w.w.poll_timeout(), has_deadline_out, deadline_ms_out)
    })
}

/// Hands in the result of `EHR_TRANSMIT_READ_HEAD`, as
/// `ehr_validator_handle_head`. A transport code is no verdict: the read is
/// asked again after a backoff. `EHR_WATCHER` when no head was asked for.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_handle_head(
    watcher: *mut ehr_watcher,
    now_ms: u64,
    result: ehr_result,
    block_number: u64,
) -> ehr_result {
    reads::hand_in(watcher, now_ms, result, Read::Head(block_number))
}

/// Hands in the result of `EHR_TRANSMIT_READ_BLOCK` (finality by tag:
/// `{"finality": "finalized"}` in the configuration), as
/// `ehr_validator_handle_block`. `EHR_WATCHER` when no block was asked for.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_handle_block(
    watcher: *mut ehr_watcher,
    now_ms: u64,
    result: ehr_result,
    found: bool,
    block_number: u64,
    block_hash: *const u8,
) -> ehr_result {
    let block_hash = found.then_some(block_hash);
    let read = Read::Block(block_number, block_hash);
    reads::hand_in(watcher, now_ms, result, read)
}

/// Hands in the result of `EHR_TRANSMIT_POLL`, as
/// `ehr_validator_handle_receipt`. `EHR_WATCHER` when no poll was asked for
/// or the receipt is another transaction's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_handle_receipt(
    watcher: *mut ehr_watcher,
    now_ms: u64,
    result: ehr_result,
    status: u32,
    receipt: *const ehr_receipt,
) -> ehr_result {
    reads::hand_in(watcher, now_ms, result, Read::Receipt(status, receipt))
}

/// Hands in the result of `EHR_TRANSMIT_READ_RECORD`, as
/// `ehr_validator_handle_record`. `EHR_WATCHER` when no record read was
/// asked for.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_handle_record(
    watcher: *mut ehr_watcher,
    now_ms: u64,
    result: ehr_result,
    found: bool,
    record_hash: *const u8,
) -> ehr_result {
    let record_hash = found.then_some(record_hash);
    reads::hand_in(watcher, now_ms, result, Read::Record(record_hash))
}

/// Hands in the result of `EHR_TRANSMIT_READ_BATCH`, as
/// `ehr_validator_handle_batch`. `EHR_WATCHER` when no batch read was asked
/// for.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_handle_batch(
    watcher: *mut ehr_watcher,
    now_ms: u64,
    result: ehr_result,
    found: bool,
    leaf_count: u32,
    has_batch_id: bool,
    batch_id: *const u8,
) -> ehr_result {
    let batch_id = has_batch_id.then_some(batch_id);
    let read = Read::Batch(found, leaf_count, batch_id);
    reads::hand_in(watcher, now_ms, result, read)
}

/// Writes the next event as NUL-terminated JSON into `buf` (text-output
/// rules: `ehr_result_message`) and true to `has_event_out`, or false (and
/// nothing to `buf`) when none waits. An event is handed out once, when it
/// was written whole (`EHR_BUFFER_TOO_SMALL` keeps it). Its form:
/// `{"event": "final", "key", "records": [{"tiId", "recordHash"}], "anchor", "head"}`
/// (and `"finalized"`, the block read, with finality by tag)
/// or `{"event": "vanished", …, "held", "entry"}` (the outbox entry that
/// resends the same TC).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_poll_event(
    watcher: *mut ehr_watcher,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    has_event_out: *mut bool,
) -> ehr_result {
    guard_on_mut(watcher, "watcher", |watcher| {
        let has_event = Out::new(has_event_out, "has_event_out")?;
        let Some(event) = watcher.next_event() else {
            has_event.set(false);
            return Ok(());
        };
        write_json(buf, len, out_len, event)?;
        watcher.take_event();
        has_event.set(true);
        Ok(())
    })
}

/// Writes the read the watcher is retrying because it failed, as
/// NUL-terminated JSON (a `TransportError`: `{"kind": "unavailable", …}`,
/// JavaScript's `watcher.lastError`), or `null` once a read succeeded, into
/// `buf` (text-output rules: `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_last_error(
    watcher: *const ehr_watcher,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(watcher, buf, len, out_len, "watcher", |w| {
        json_text(&w.w.last_error())
    })
}

/// Writes the watcher's whole state (format `ehrchain.watcher/1`, with the
/// outbox entries of the anchors it watches) as NUL-terminated text into
/// `buf` (text-output rules: `ehr_result_message`). Events not handed out
/// yet are part of it, except those `ehr_watcher_run_durably` acted on.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_to_json(
    watcher: *const ehr_watcher,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(watcher, buf, len, out_len, "watcher", |w| Ok(w.w.to_json()))
}

/// Resumes a watcher from its state (`json`, `json_len` bytes of UTF-8)
/// after a restart: a read handed out but not answered is asked again.
/// `EHR_OUTBOX_ENTRY_INVALID` for a state that is malformed or whose entries
/// cannot be resumed. Free it with `ehr_watcher_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_from_json(
    json: *const c_char,
    json_len: usize,
    watcher_out: *mut *mut ehr_watcher,
) -> ehr_result {
    parsed(json, json_len, watcher_out, "json", "watcher_out", |json| {
        Ok(ehr_watcher::new(AnchorWatcher::from_json(json)?))
    })
}

/// Makes the validator that resends the same TC from a `vanished` event
/// (`event_json`, `event_len` bytes of UTF-8, as `ehr_watcher_poll_event`
/// wrote it): store its outbox entry (`ehr_validator_to_json`) under its key
/// (the TI is pending again), then run it (`ehr_validator_run`) and watch
/// its new ACK. `EHR_INVALID_ARGUMENT` for an event that is not a vanished
/// one. Free it with `ehr_validator_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_from_event(
    event_json: *const c_char,
    event_len: usize,
    validator_out: *mut *mut ehr_validator,
) -> ehr_result {
    parsed(
        event_json,
        event_len,
        validator_out,
        "event_json",
        "validator_out",
        |json| {
            let not_vanished = |detail: String| {
                Error::new(
                    ErrorCode::InvalidArgument,
                    format!("`event_json` is not a vanished event of the watcher: {detail}"),
                )
            };
            match serde_json::from_str::<WatchEvent>(json) {
                Ok(WatchEvent::Vanished { entry, .. }) => {
                    Ok(ehr_validator::new(TransactionValidator::from_json(&entry)?))
                }
                Ok(WatchEvent::Final { .. }) => Err(not_vanished("it is final".to_owned())),
                Err(e) => Err(not_vanished(e.to_string())),
            }
        },
    )
}

/// Frees a watcher; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_watcher_free(watcher: *mut ehr_watcher) {
    free(watcher);
}
