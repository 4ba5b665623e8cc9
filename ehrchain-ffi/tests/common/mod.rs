//! Helpers shared by the Rust tests of the C ABI.
#![allow(dead_code, unreachable_pub)]

use std::ffi::c_char;

use ehrchain_core::ErrorCode;
use ehrchain_ffi::{ehr_last_error, ehr_result, ehr_ti, ehr_ti_new};

/// A Rust string as the pointer and length the C ABI takes.
pub fn text(s: &str) -> (*const c_char, usize) {
    (s.as_ptr().cast(), s.len())
}

/// The detailed last error of this thread.
pub fn last_error() -> String {
    let mut buf = vec![0u8; 4096];
    let mut n = 0;
    // SAFETY: buf holds 4096 writable bytes, n is a valid usize.
    let rc = unsafe { ehr_last_error(buf.as_mut_ptr().cast(), buf.len(), &raw mut n) };
    assert_eq!(rc, ehr_result::OK);
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// Asserts that a C call returned `EHR_OK`, with the thread's last error
/// in the message when it did not.
#[track_caller]
pub fn ok(rc: ehr_result) {
    assert_eq!(rc, ehr_result::OK, "{}", last_error());
}

/// Asserts that a C call failed with `code` and that the thread's last
/// error says `reason`.
#[track_caller]
pub fn assert_fails(rc: ehr_result, code: ErrorCode, reason: &str) {
    assert_eq!(rc, code, "{}", last_error());
    let last = last_error();
    assert!(last.contains(reason), "{last}");
}

/// The text a successful call writes through its text-output arguments
/// (`write` gets the buffer, its length and the place for the text length).
pub fn text_out(write: impl FnOnce(*mut c_char, usize, *mut usize) -> ehr_result) -> String {
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0usize;
    let rc = write(buf.as_mut_ptr().cast(), buf.len(), &raw mut n);
    ok(rc);
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// `ehr_ti_new` with the author, role and patient ids as Rust strings.
pub fn ti_new(
    ti_id: &[u8; 32],
    template_id: &[u8; 32],
    author: &str,
    role: &str,
    patient: &str,
    timestamp: u64,
    ti_out: &mut *mut ehr_ti,
) -> ehr_result {
    let (author, author_len) = text(author);
    let (role, role_len) = text(role);
    let (patient, patient_len) = text(patient);
    // SAFETY: the ids hold 32 bytes, each text its stated length, and
    // `ti_out` is writable.
    unsafe {
        ehr_ti_new(
            ti_id.as_ptr(),
            template_id.as_ptr(),
            author,
            author_len,
            role,
            role_len,
            patient,
            patient_len,
            timestamp,
            ti_out,
        )
    }
}
