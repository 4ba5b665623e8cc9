//! Calls into the host's C callbacks. Besides `ptr`, the only module with
//! `unsafe` blocks: each call passes pointers to memory this crate owns for
//! the duration of the call.
#![allow(unsafe_code)]

use ehrchain_core::ErrorCode;
use std::ffi::c_void;

use crate::keys::ehr_key_store_callbacks;
use crate::result::ehr_result;
use crate::transport::{ehr_receipt, ehr_submission, ehr_transport_callbacks};

/// The code returned for a callback that is NULL.
const MISSING: ehr_result = ehr_result(ErrorCode::NullArgument.number());

/// `master_key(userdata, key_id, key_id_len, key_out)`.
pub(crate) fn master_key(
    cb: &ehr_key_store_callbacks,
    key_id: &str,
    key: &mut [u8; 32],
) -> ehr_result {
    let Some(f) = cb.master_key else {
        return MISSING;
    };
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
    let Some(f) = cb.submit else {
        return MISSING;
    };
    // SAFETY: as in `master_key`: `submission` (whose calldata pointer points
    // into a buffer alive for the call) and `tx_hash` (32 writable bytes) are
    // ours.
    unsafe { f(userdata(cb), submission, tx_hash.as_mut_ptr()) }
}

/// `poll(userdata, tx_hash, submission, status_out, receipt_out)`.
pub(crate) fn poll(
    cb: &ehr_transport_callbacks,
    tx_hash: &[u8; 32],
    submission: &ehr_submission,
    status: &mut u32,
    receipt: &mut ehr_receipt,
) -> ehr_result {
    let Some(f) = cb.poll else {
        return MISSING;
    };
    // SAFETY: as in `submit`; `status` and `receipt` are ours and writable.
    unsafe { f(userdata(cb), tx_hash.as_ptr(), submission, status, receipt) }
}

/// `head(userdata, block_number_out)`.
pub(crate) fn head(cb: &ehr_transport_callbacks, block: &mut u64) -> ehr_result {
    let Some(f) = cb.head else {
        return MISSING;
    };
    // SAFETY: as in `master_key`; `block` is ours and writable.
    unsafe { f(userdata(cb), block) }
}

/// `record_hash_of(userdata, ti_id, found_out, record_hash_out)`.
pub(crate) fn record_hash_of(
    cb: &ehr_transport_callbacks,
    ti_id: &[u8; 32],
    found: &mut u8,
    record_hash: &mut [u8; 32],
) -> ehr_result {
    let Some(f) = cb.record_hash_of else {
        return MISSING;
    };
    // SAFETY: as in `master_key`: 32 readable bytes, one writable byte and
    // 32 writable bytes, all ours.
    unsafe {
        f(
            userdata(cb),
            ti_id.as_ptr(),
            found,
            record_hash.as_mut_ptr(),
        )
    }
}

/// `anchored_batch(userdata, root, found_out, leaf_count_out,
/// has_batch_id_out, batch_id_out)`.
pub(crate) fn anchored_batch(
    cb: &ehr_transport_callbacks,
    root: &[u8; 32],
    found: &mut u8,
    leaf_count: &mut u32,
    has_batch_id: &mut u8,
    batch_id: &mut [u8; 32],
) -> ehr_result {
    let Some(f) = cb.anchored_batch else {
        return MISSING;
    };
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
}
