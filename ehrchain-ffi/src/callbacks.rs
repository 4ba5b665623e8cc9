//! Calls into the host's C callbacks. Besides `ptr`, the only module with
//! `unsafe` blocks: each call passes pointers to memory this crate owns for
//! the duration of the call.
//!
//! Booleans the host writes are read as bytes (0 false, anything else true):
//! a C `bool` holding another value would be undefined behaviour in Rust, so
//! every `bool *` a callback receives points to a byte of ours, and the
//! receipt a `poll` callback fills in is read field by field
//! ([`ptr::receipt`]).
#![allow(unsafe_code)]

use ehrchain_core::ErrorCode;
use std::ffi::{c_char, c_void};
use std::mem::MaybeUninit;

use crate::handshaker::ehr_ack;
use crate::keys::ehr_key_store_callbacks;
use crate::outbox::{ehr_outbox_callbacks, ehr_verdict};
use crate::ptr;
use crate::result::ehr_result;
use crate::signer::ehr_signer_callbacks;
use crate::transport::{ehr_receipt, ehr_submission, ehr_transport_callbacks};

/// The code returned for a callback that is NULL.
const MISSING: ehr_result = ehr_result(ErrorCode::NullArgument.number());

/// `master_key(userdata, key_id, key_id_len, key_out)`.
pub(crate) fn master_key(
    cb: &ehr_key_store_callbacks,
    key_id: &str,
    key: &mut [u8; 32],
) -> ehr_result {
    call(cb.master_key, |f| {
        // SAFETY: `f` is the host's callback, documented to take these arguments;
        // `key_id` points to `key_id.len()` readable bytes and `key` to 32
        // writable bytes, both ours and alive for the whole call.
        unsafe {
            f(
                cb.userdata,
                key_id.as_ptr().cast(),
                key_id.len(),
                key.as_mut_ptr(),
            )
        }
    })
}

/// `recipient_key(userdata, key_id, suite, key_out)`.
pub(crate) fn recipient_key(
    cb: &ehr_key_store_callbacks,
    key_id: &[u8; 32],
    suite: u32,
    key: &mut [u8; 32],
) -> ehr_result {
    call(cb.recipient_key, |f| {
        // SAFETY: as in `master_key`: `key_id` (32 readable bytes) and `key`
        // (32 writable bytes) are ours and alive for the whole call.
        unsafe { f(cb.userdata, key_id.as_ptr(), suite, key.as_mut_ptr()) }
    })
}

/// `sign(userdata, digest, typed_data, typed_data_len, signature_out)`.
pub(crate) fn sign(
    cb: &ehr_signer_callbacks,
    digest: &[u8; 32],
    typed_data: &str,
    signature: &mut [u8; 65],
) -> ehr_result {
    call(cb.sign, |f| {
        // SAFETY: as in `master_key`: `digest` (32 bytes) and `typed_data`
        // (`typed_data.len()` bytes) are readable, `signature` (65 bytes)
        // writable, all ours and alive for the whole call.
        unsafe {
            f(
                cb.userdata,
                digest.as_ptr(),
                typed_data.as_ptr().cast(),
                typed_data.len(),
                signature.as_mut_ptr(),
            )
        }
    })
}

/// Runs `run` with the host's callback `f`; `MISSING` when it is NULL.
fn call<F>(f: Option<F>, run: impl FnOnce(F) -> ehr_result) -> ehr_result {
    f.map_or(MISSING, run)
}

fn userdata(cb: &ehr_transport_callbacks) -> *mut c_void {
    cb.userdata
}

/// `submit(userdata, submission, tx_hash_out)`.
pub(crate) fn submit(
    cb: &ehr_transport_callbacks,
    submission: &ehr_submission,
    tx_hash: &mut [u8; 32],
) -> ehr_result {
    call(cb.submit, |f| {
        // SAFETY: as in `master_key`: `submission` (whose calldata pointer points
        // into a buffer alive for the call) and `tx_hash` (32 writable bytes) are
        // ours.
        unsafe { f(userdata(cb), submission, tx_hash.as_mut_ptr()) }
    })
}

/// `poll(userdata, tx_hash, submission, status_out, receipt_out)`; the
/// receipt (zeroed before the call) is read back into `receipt`.
pub(crate) fn poll(
    cb: &ehr_transport_callbacks,
    tx_hash: &[u8; 32],
    submission: &ehr_submission,
    status: &mut u32,
    receipt: &mut Option<ehr_receipt>,
) -> ehr_result {
    call(cb.poll, |f| {
        // Zeroed (false, 0, empty), with its `struct_size`; never read as
        // an `ehr_receipt` after the call (its booleans may be any byte).
        let mut raw = MaybeUninit::new(ehr_receipt::default());
        // SAFETY: as in `submit`; `status` and `raw` are ours and writable.
        let code = unsafe {
            f(
                userdata(cb),
                tx_hash.as_ptr(),
                submission,
                status,
                raw.as_mut_ptr(),
            )
        };
        *receipt = ptr::receipt(raw.as_ptr(), "receipt_out").ok();
        code
    })
}

/// Calls `f` with a pointer to a byte of ours as a `bool *` and reads that
/// byte back as a boolean.
fn host_bool<R>(value: &mut bool, f: impl FnOnce(*mut bool) -> R) -> R {
    let mut byte = u8::from(*value);
    let r = f((&raw mut byte).cast::<bool>());
    *value = byte != 0;
    r
}

/// `head(userdata, block_number_out)`.
pub(crate) fn head(cb: &ehr_transport_callbacks, block: &mut u64) -> ehr_result {
    call(cb.head, |f| {
        // SAFETY: as in `master_key`; `block` is ours and writable.
        unsafe { f(userdata(cb), block) }
    })
}

/// `block_at(userdata, tag, found_out, block_number_out, block_hash_out)`.
pub(crate) fn block_at(
    cb: &ehr_transport_callbacks,
    tag: u32,
    found: &mut bool,
    number: &mut u64,
    hash: &mut [u8; 32],
) -> ehr_result {
    call(cb.block_at, |f| {
        host_bool(found, |found| {
            // SAFETY: as in `master_key`: one writable byte, a writable u64
            // and 32 writable bytes, all ours.
            unsafe { f(userdata(cb), tag, found, number, hash.as_mut_ptr()) }
        })
    })
}

/// `record_hash_of(userdata, ti_id, found_out, record_hash_out)`.
pub(crate) fn record_hash_of(
    cb: &ehr_transport_callbacks,
    ti_id: &[u8; 32],
    found: &mut bool,
    record_hash: &mut [u8; 32],
) -> ehr_result {
    call(cb.record_hash_of, |f| {
        host_bool(found, |found| {
            // SAFETY: as in `master_key`: 32 readable bytes, one writable byte
            // and 32 writable bytes, all ours.
            unsafe {
                f(
                    userdata(cb),
                    ti_id.as_ptr(),
                    found,
                    record_hash.as_mut_ptr(),
                )
            }
        })
    })
}

/// `anchored_batch(userdata, root, found_out, leaf_count_out,
/// has_batch_id_out, batch_id_out)`.
pub(crate) fn anchored_batch(
    cb: &ehr_transport_callbacks,
    root: &[u8; 32],
    found: &mut bool,
    leaf_count: &mut u32,
    has_batch_id: &mut bool,
    batch_id: &mut [u8; 32],
) -> ehr_result {
    call(cb.anchored_batch, |f| {
        host_bool(found, |found| {
            host_bool(has_batch_id, |has_batch_id| {
                // SAFETY: as in `record_hash_of`.
                unsafe {
                    f(
                        userdata(cb),
                        root.as_ptr(),
                        found,
                        leaf_count,
                        has_batch_id,
                        batch_id.as_mut_ptr(),
                    )
                }
            })
        })
    })
}

/// `save(userdata, key, entry, entry_len)`.
pub(crate) fn outbox_save(cb: &ehr_outbox_callbacks, key: &[u8; 32], entry: &str) -> ehr_result {
    call(cb.save, |f| {
        // SAFETY: as in `master_key`: 32 readable bytes and `entry.len()`
        // readable bytes, ours for the whole call.
        unsafe {
            f(
                cb.userdata,
                key.as_ptr(),
                entry.as_ptr().cast(),
                entry.len(),
            )
        }
    })
}

/// `load(userdata, key, found_out, entry_out, entry_len_out)`: the entry,
/// copied at once from the host's memory.
pub(crate) fn outbox_load(
    cb: &ehr_outbox_callbacks,
    key: &[u8; 32],
) -> Result<Option<String>, ehr_result> {
    let Some(f) = cb.load else {
        return Err(MISSING);
    };
    let (mut found, mut entry, mut len) = (false, std::ptr::null::<c_char>(), 0usize);
    let code = host_bool(&mut found, |found| {
        // SAFETY: as in `record_hash_of`: 32 readable bytes and three
        // writable places, all ours.
        unsafe {
            f(
                cb.userdata,
                key.as_ptr(),
                found,
                &raw mut entry,
                &raw mut len,
            )
        }
    });
    if code != ehr_result::OK {
        return Err(code);
    }
    if !found {
        return Ok(None);
    }
    // The host's entry is valid until its next outbox callback; copy it now.
    ptr::text(entry, len, "entry_out")
        .map(|text| Some(text.to_owned()))
        .map_err(|_| ehr_result(ErrorCode::OutboxEntryInvalid.number()))
}

/// `keys(userdata, keys_out, capacity, count_out)`, asked again with room
/// for every key when the first buffer was too small.
pub(crate) fn outbox_keys(cb: &ehr_outbox_callbacks) -> Result<Vec<[u8; 32]>, ehr_result> {
    let Some(f) = cb.keys else {
        return Err(MISSING);
    };
    let mut keys: Vec<[u8; 32]> = vec![[0; 32]; 16];
    loop {
        let mut count = 0usize;
        // SAFETY: `keys` holds `keys.len()` writable 32-byte keys and
        // `count` is ours.
        let code = unsafe {
            f(
                cb.userdata,
                keys.as_mut_ptr().cast(),
                keys.len(),
                &raw mut count,
            )
        };
        if code != ehr_result::OK {
            return Err(code);
        }
        if count <= keys.len() {
            keys.truncate(count);
            return Ok(keys);
        }
        keys = vec![[0; 32]; count];
    }
}

/// `finish(userdata, key, acks, acks_len)`; `key` NULL for none.
pub(crate) fn outbox_finish(
    cb: &ehr_outbox_callbacks,
    key: Option<&[u8; 32]>,
    acks: &[*const ehr_ack],
) -> ehr_result {
    call(cb.finish, |f| {
        let key = key.map_or(std::ptr::null(), |k| k.as_ptr());
        // SAFETY: `key` is NULL or 32 readable bytes; `acks` holds `acks.len()`
        // pointers to ACKs alive for the whole call; all ours.
        unsafe { f(cb.userdata, key, acks.as_ptr(), acks.len()) }
    })
}

/// `finish_all(userdata, verdicts, verdicts_len)`.
pub(crate) fn outbox_finish_all(cb: &ehr_outbox_callbacks, verdicts: &[ehr_verdict]) -> ehr_result {
    call(cb.finish_all, |f| {
        // SAFETY: `verdicts` holds `verdicts.len()` verdicts whose keys and
        // ACKs stay alive for the whole call; all ours.
        unsafe { f(cb.userdata, verdicts.as_ptr(), verdicts.len()) }
    })
}
