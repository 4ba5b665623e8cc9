//! The write-ahead outbox (`ehrchain_core::outbox`): the validator's entry,
//! stored when `EHR_TRANSMIT_PERSIST` asks and read back after a restart to
//! resume the same TC; and the blocking handshaker and validator over the
//! host's outbox callbacks.

use std::ffi::{c_char, c_void};

use ehrchain_core::authorship::Signer;
use ehrchain_core::outbox::{Outbox, OutboxError, PartlyStored, finish_each};
use ehrchain_core::pipeline::Finished;
use ehrchain_core::{Ack, B256, SystemClock, TransactionValidator, UnixMillis, Until, run_durably};

use crate::callbacks;
use crate::cancel::{blocking, ehr_cancel, until};
use crate::handshaker::{ehr_ack, ehr_handshaker};
use crate::ptr::{self, Out, OutArray};
use crate::result::{ehr_result, guard};
use crate::shapes::{guard_on, guard_on_mut, parsed, text_of};
use crate::ti::ehr_ti;
use crate::transport::ehr_transport;
use crate::validator::ehr_validator;

/// Writes the key of the validator's outbox entry (the TI id of a single
/// record, the Merkle root of a batch; 32 bytes) to `key_out` and true to
/// `has_key_out`; false (and nothing to `key_out`) for a refused TI, which
/// sends nothing and needs no entry.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_outbox_key(
    validator: *const ehr_validator,
    has_key_out: *mut bool,
    key_out: *mut u8,
) -> ehr_result {
    guard_on(validator, "validator", |validator| {
        let has_key = Out::new(has_key_out, "has_key_out")?;
        let out = OutArray::<32>::new(key_out, "key_out")?;
        let key = validator.v.outbox_key();
        if let Some(key) = key {
            out.set(&key.0);
        }
        has_key.set(key.is_some());
        Ok(())
    })
}

/// Writes the validator's outbox entry (format `ehrchain.validator/2`: its
/// whole state, with the sealed records) as NUL-terminated text into `buf`
/// (text-output rules: `ehr_result_message`). Store it where the records may
/// be stored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_to_json(
    validator: *const ehr_validator,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(validator, buf, len, out_len, "validator", |v| {
        Ok(v.v.to_json())
    })
}

/// Resumes a validator from its outbox entry (`json`, `json_len` bytes of
/// UTF-8) after a restart: an action handed out but not answered is asked
/// again, and a submission that may have been sent is settled (the registry
/// read) before anything is sent again. `EHR_OUTBOX_ENTRY_INVALID` when the
/// entry is malformed or its records, envelopes and submission disagree.
/// Free it with `ehr_validator_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_from_json(
    json: *const c_char,
    json_len: usize,
    validator_out: *mut *mut ehr_validator,
) -> ehr_result {
    parsed(
        json,
        json_len,
        validator_out,
        "json",
        "validator_out",
        |json| Ok(ehr_validator::new(TransactionValidator::from_json(json)?)),
    )
}

/// Hands in the result of `EHR_TRANSMIT_PERSIST` at `now_ms`: `EHR_OK` once
/// the entry is stored durably (the submission follows), or any other code
/// when it could not be stored (nothing is sent; the write is asked for
/// again after the backoff). `EHR_VALIDATOR` when no write was asked for.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_handle_persisted(
    validator: *mut ehr_validator,
    now_ms: u64,
    result: ehr_result,
) -> ehr_result {
    guard_on_mut(validator, "validator", |validator| {
        validator
            .v
            .handle_persisted(UnixMillis(now_ms), stored(result))?;
        Ok(())
    })
}

/// What the host's report of a durable write (`EHR_OK` or its failure code)
/// means to the core.
pub(crate) fn stored(result: ehr_result) -> std::result::Result<(), OutboxError> {
    if result == ehr_result::OK {
        Ok(())
    } else {
        Err(OutboxError(format!(
            "the host's outbox returned {result:?}"
        )))
    }
}

/// The host's write-ahead outbox as C callbacks (its database table, say),
/// for `ehr_handshaker_submit_durably` and `ehr_handshaker_resume`. Each
/// returns `EHR_OK`, or any other code when the storage failed (nothing is
/// sent then; the failure comes back as `EHR_OUTBOX_UNAVAILABLE`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ehr_outbox_callbacks {
    /// `sizeof(ehr_outbox_callbacks)` as the host's header declares it
    /// (`EHR_OUTBOX_CALLBACKS_INIT` sets it): which of the fields below
    /// the host's struct has (README, "Extensible structs").
    pub struct_size: usize,
    /// Passed to every callback.
    pub userdata: *mut c_void,
    /// Stores `entry` (`entry_len` bytes of UTF-8 JSON, not NUL-terminated)
    /// under the 32-byte `key`, replacing the entry stored there before;
    /// returns once it would survive a crash (committed, synced).
    pub save: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            key: *const u8,
            entry: *const c_char,
            entry_len: usize,
        ) -> ehr_result,
    >,
    /// Looks up the entry under the 32-byte `key`: writes true to
    /// `found_out` and points `entry_out`/`entry_len_out` at the host's copy
    /// (read before the next outbox callback), or writes false.
    pub load: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            key: *const u8,
            found_out: *mut bool,
            entry_out: *mut *const c_char,
            entry_len_out: *mut usize,
        ) -> ehr_result,
    >,
    /// Writes the keys of the stored entries (32 bytes each) to `keys_out`,
    /// at most `capacity` of them, and their number to `count_out` (asked
    /// again with room for all when it exceeds `capacity`).
    pub keys: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            keys_out: *mut u8,
            capacity: usize,
            count_out: *mut usize,
        ) -> ehr_result,
    >,
    /// The verdict: stores the `acks_len` ACKs (`ehr_ack_to_json`; valid:
    /// the records, invalid: for audit; the ACKs are freed after the call)
    /// and removes the entry under the 32-byte `key` (NULL for a TI refused
    /// before anything was stored), in one transaction.
    pub finish: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            key: *const u8,
            acks: *const *const ehr_ack,
            acks_len: usize,
        ) -> ehr_result,
    >,
    /// Optional (NULL: `finish` is called for each verdict): every verdict
    /// of a pipeline round (`verdicts_len` of them), as `finish` does each,
    /// all in one transaction (one durable write). The verdicts and their
    /// ACKs are freed after the call.
    pub finish_all: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            verdicts: *const ehr_verdict,
            verdicts_len: usize,
        ) -> ehr_result,
    >,
}

/// One submission's verdict, for the outbox's `finish_all`: its ACKs to
/// store and the entry to remove. Written by ehrchain only, and an array's
/// element, it has no `struct_size` and never grows (README, "Extensible
/// structs").
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ehr_verdict {
    /// The 32-byte key of the entry to remove (NULL for a TI refused before
    /// anything was stored).
    pub key: *const u8,
    /// Its ACKs (`ehr_ack_to_json`; valid: the records, invalid: for audit).
    pub acks: *const *const ehr_ack,
    /// How many ACKs.
    pub acks_len: usize,
}

/// The core's `Outbox` over the host's callbacks.
pub(crate) struct HostOutbox(ehr_outbox_callbacks);

/// An error of the host's `operation` callback.
fn failed(operation: &str, code: ehr_result) -> OutboxError {
    OutboxError(format!("the host's outbox {operation} returned {code:?}"))
}

impl Outbox for HostOutbox {
    fn save(&mut self, key: &B256, entry: &str) -> Result<(), OutboxError> {
        match callbacks::outbox_save(&self.0, &key.0, entry) {
            ehr_result::OK => Ok(()),
            code => Err(failed("save", code)),
        }
    }

    fn load(&mut self, key: &B256) -> Result<Option<String>, OutboxError> {
        callbacks::outbox_load(&self.0, &key.0).map_err(|code| failed("load", code))
    }

    fn keys(&mut self) -> Result<Vec<B256>, OutboxError> {
        callbacks::outbox_keys(&self.0)
            .map(|keys| keys.into_iter().map(B256::from).collect())
            .map_err(|code| failed("keys", code))
    }

    fn finish(&mut self, key: Option<&B256>, acks: &[Ack]) -> Result<(), OutboxError> {
        let handles = ack_handles(acks);
        let pointers: Vec<*const ehr_ack> = handles.iter().map(std::ptr::from_ref).collect();
        match callbacks::outbox_finish(&self.0, key.map(|k| &k.0), &pointers) {
            ehr_result::OK => Ok(()),
            code => Err(failed("finish", code)),
        }
    }

    /// One `finish_all` call when the host has it (all stored or none),
    /// else a `finish` each until one fails.
    fn finish_all(&mut self, finished: &[Finished]) -> Result<(), PartlyStored> {
        if self.0.finish_all.is_none() {
            return finish_each(self, finished);
        }
        let verdicts = Verdicts::new(finished.to_vec());
        match callbacks::outbox_finish_all(&self.0, verdicts.as_slice()) {
            ehr_result::OK => Ok(()),
            code => Err(failed("finish_all", code).into()),
        }
    }
}

impl HostOutbox {
    /// The host's callbacks, read from the C parameter `outbox`.
    pub(crate) fn new(outbox: *const ehr_outbox_callbacks) -> crate::result::Result<Self> {
        Ok(Self(ptr::extensible(outbox, "outbox")?))
    }
}

/// Verdicts as the host reads them: an array of `ehr_verdict` whose keys
/// and ACK handles it owns (`finish_all`'s argument, a drain's
/// `EHR_DRAIN_STORE`). The pointers stay valid while it lives: moving it
/// moves none of the memory they point into.
#[derive(Default)]
pub(crate) struct Verdicts {
    /// The entries' keys (`None`: a TI refused before anything was
    /// stored), which `view` points to.
    _keys: Vec<Option<[u8; 32]>>,
    /// Each verdict's ACKs, as handles, which `_pointers` point to.
    _handles: Vec<Vec<ehr_ack>>,
    /// Each verdict's pointers to its handles, which `view` points to.
    _pointers: Vec<Vec<*const ehr_ack>>,
    /// The array the host reads.
    view: Vec<ehr_verdict>,
}

impl Verdicts {
    /// The C view of `finished`.
    pub(crate) fn new(finished: Vec<Finished>) -> Self {
        let keys: Vec<Option<[u8; 32]>> =
            finished.iter().map(|f| f.outbox_key.map(|k| k.0)).collect();
        let handles: Vec<Vec<ehr_ack>> = finished
            .into_iter()
            .map(|f| f.acks.into_iter().map(|ack| ehr_ack { ack }).collect())
            .collect();
        let pointers: Vec<Vec<*const ehr_ack>> = handles
            .iter()
            .map(|h| h.iter().map(std::ptr::from_ref).collect())
            .collect();
        let view = keys
            .iter()
            .zip(&pointers)
            .map(|(key, acks)| ehr_verdict {
                key: key.as_ref().map_or(std::ptr::null(), |k| k.as_ptr()),
                acks: acks.as_ptr(),
                acks_len: acks.len(),
            })
            .collect();
        Self {
            _keys: keys,
            _handles: handles,
            _pointers: pointers,
            view,
        }
    }

    /// The verdicts, for the host.
    pub(crate) fn as_slice(&self) -> &[ehr_verdict] {
        &self.view
    }
}

/// The ACKs as handles the host's callbacks read.
fn ack_handles(acks: &[Ack]) -> Vec<ehr_ack> {
    acks.iter()
        .map(|ack| ehr_ack { ack: ack.clone() })
        .collect()
}

/// Submits `ti` through the host's write-ahead `outbox` and blocks until its
/// ACK, like `ehr_handshaker_submit`: the TC is stored before it is sent,
/// and `outbox->finish` gets the ACK and removes the entry in one step; the
/// ACK is also written to `ack_out` (free it with `ehr_ack_free`). When the
/// outbox already holds an entry for this TI (the host restarted, or submits
/// the TI again before its ACK), that entry is resumed: the same TC and
/// sealed record, never a new one. `EHR_OUTBOX_UNAVAILABLE` when a callback
/// failed (nothing more was sent); `EHR_OUTBOX_ENTRY_INVALID` for a damaged
/// stored entry. An outage is waited out, up to `deadline_ms` (Unix
/// milliseconds; 0 for none) or until `cancel` (NULL for none) is signalled:
/// then `EHR_STILL_PENDING`, no ACK, and the TI's entry stored as it stands
/// (`outbox->save`): submit it again or `ehr_handshaker_resume` later.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_submit_durably(
    handshaker: *mut ehr_handshaker,
    ti: *const ehr_ti,
    transport: *mut ehr_transport,
    outbox: *const ehr_outbox_callbacks,
    deadline_ms: u64,
    cancel: *const ehr_cancel,
    ack_out: *mut *mut ehr_ack,
) -> ehr_result {
    guard(|| {
        let request = Durable::new(handshaker, ti, transport, outbox, deadline_ms, cancel)?;
        request.submit(None, ack_out)
    })
}

/// The arguments of a durable submit, checked.
pub(crate) struct Durable<'a> {
    hs: &'a mut ehr_handshaker,
    ti: &'a ehr_ti,
    transport: &'a mut ehr_transport,
    outbox: HostOutbox,
    until: Until,
}

impl<'a> Durable<'a> {
    /// Reads the C arguments (the parameter names are the C ones).
    pub(crate) fn new(
        handshaker: *mut ehr_handshaker,
        ti: *const ehr_ti,
        transport: *mut ehr_transport,
        outbox: *const ehr_outbox_callbacks,
        deadline_ms: u64,
        cancel: *const ehr_cancel,
    ) -> crate::result::Result<Self> {
        Ok(Self {
            hs: ptr::handle_mut(handshaker, "handshaker")?,
            ti: ptr::handle(ti, "ti")?,
            transport: ptr::handle_mut(transport, "transport")?,
            outbox: HostOutbox::new(outbox)?,
            until: until(deadline_ms, cancel)?,
        })
    }

    /// Submits the TI (signed through `signer` when given) and hands its ACK
    /// to `ack_out`.
    pub(crate) fn submit(
        mut self,
        signer: Option<&dyn Signer>,
        ack_out: *mut *mut ehr_ack,
    ) -> crate::result::Result<()> {
        let out = Out::new(ack_out, "ack_out")?;
        let (ti, clock) = (&self.ti.ti, &mut SystemClock);
        let (transport, rng, until) = (&mut self.transport.inner, &mut self.hs.rng, &self.until);
        let run = match signer {
            None => self
                .hs
                .hs
                .submit_durably(ti, &mut self.outbox, transport, clock, rng, until),
            Some(signer) => {
                self.hs
                    .hs
                    .submit_signed(ti, signer, &mut self.outbox, transport, clock, rng, until)
            }
        };
        out.give(ehr_ack { ack: run?.acked()? });
        Ok(())
    }
}

/// Runs `validator` through `transport` like `ehr_validator_run`, through
/// the host's write-ahead `outbox`: its entry is stored (`outbox->save`)
/// before anything is sent, and at the verdict `outbox->finish` gets its
/// ACKs and removes the entry in one step; the ACKs also wait in
/// `ehr_validator_poll_ack`. For a validator the host made itself
/// (`ehr_handshaker_validator_for`, `ehr_validator_new_batch`,
/// `ehr_tc_validator_signed`, `ehr_validator_from_event`): then
/// `ehr_watcher_watch` its valid ACK. `EHR_OUTBOX_UNAVAILABLE` when a
/// callback failed (nothing more was sent; run it again once the storage
/// works). An outage is waited out, up to `deadline_ms` (Unix milliseconds;
/// 0 for none) or until `cancel` (NULL for none) is signalled: then
/// `EHR_STILL_PENDING`, no ACK, and the entry stored as it stands: run the
/// validator again, or `ehr_handshaker_resume` after a restart.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_run_durably(
    validator: *mut ehr_validator,
    transport: *mut ehr_transport,
    outbox: *const ehr_outbox_callbacks,
    deadline_ms: u64,
    cancel: *const ehr_cancel,
) -> ehr_result {
    guard_on_mut(validator, "validator", |validator| {
        let mut outbox = HostOutbox::new(outbox)?;
        let (transport, until) = blocking(transport, deadline_ms, cancel)?;
        let run = run_durably(
            &mut validator.v,
            &mut outbox,
            transport,
            &mut SystemClock,
            &until,
        )?;
        validator.take_acks(run.acked()?);
        Ok(())
    })
}

/// Resumes every TI whose entry the host's `outbox` holds (after a restart)
/// and runs each to its ACK, which `outbox->finish` stores; writes how many
/// ACKs were made to `acks_out`. `EHR_OUTBOX_UNAVAILABLE` when a callback
/// failed; `EHR_OUTBOX_ENTRY_INVALID` for a damaged entry, which stays in
/// the outbox for the host to restore or move aside. At `deadline_ms` (Unix
/// milliseconds; 0 for none) or when `cancel` (NULL for none) is signalled,
/// `EHR_STILL_PENDING`: the TI in progress is stored as it stands and the
/// entries not reached stay; the ACKs made before are stored (`acks_out` is
/// written then too).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_resume(
    handshaker: *mut ehr_handshaker,
    transport: *mut ehr_transport,
    outbox: *const ehr_outbox_callbacks,
    deadline_ms: u64,
    cancel: *const ehr_cancel,
    acks_out: *mut usize,
) -> ehr_result {
    guard(|| {
        let hs = ptr::handle_mut(handshaker, "handshaker")?;
        let transport = ptr::handle_mut(transport, "transport")?;
        let mut outbox = HostOutbox::new(outbox)?;
        let until = until(deadline_ms, cancel)?;
        let out = Out::new(acks_out, "acks_out")?;
        let resumed = hs
            .hs
            .resume(&mut outbox, &mut transport.inner, &mut SystemClock, &until)?;
        out.set(resumed.acks.len());
        match resumed.stopped {
            Some(stopped) => Err(stopped.into()),
            None => Ok(()),
        }
    })
}
