//! A TC's JSON form, for the host's write-ahead outbox: store it before
//! sending, read it back to validate the same TC after a crash or restart.

use std::ffi::c_char;

use ehrchain_core::ChainTransaction;

use crate::handshaker::ehr_tc;
use crate::result::ehr_result;
use crate::shapes::{parsed, text_of};

/// Writes the TC's JSON form (`to`, `chainId`, `calldata`, `tiId`,
/// `templateId`, `patient`, `recordHash`, `cid`, `envelope`; hex strings)
/// as NUL-terminated text into `buf` (text-output rules:
/// `ehr_result_message`). It holds the sealed record: store it where the
/// record may be stored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_tc_to_json(
    tc: *const ehr_tc,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(tc, buf, len, out_len, "tc", |tc| Ok(tc.tc.to_json()))
}

/// Reads a TC back from its JSON form (`json`, `json_len` bytes of UTF-8) into
/// a new TC, checking that its parts agree: the envelope is well formed,
/// bound to the TC's TI, template and patient, hashes to its record hash, and
/// an `anchorRecord` call anchors that TI id and record hash.
/// `EHR_TC_INVALID` when they do not; `EHR_ENVELOPE_MALFORMED` for a
/// malformed envelope. Free the TC with `ehr_tc_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_tc_from_json(
    json: *const c_char,
    json_len: usize,
    tc_out: *mut *mut ehr_tc,
) -> ehr_result {
    parsed(json, json_len, tc_out, "json", "tc_out", |json| {
        Ok(ehr_tc {
            tc: ChainTransaction::from_json(json)?,
        })
    })
}
