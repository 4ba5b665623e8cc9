//! C ABI of the ehrchain handshaker: opaque handles with `_new`/`_free`
//! pairs, stable `ehr_result` codes, caller-owned output buffers, and one
//! panic boundary around every function body. The C header
//! `include/ehrchain.h` is generated from this crate by cbindgen; the
//! crate's README is the C developer's guide (building, linking, ownership,
//! thread safety, result codes).
//!
//! # Safety
//!
//! Every exported function is `unsafe`: its pointer arguments come from C.
//! NULL pointers, zero lengths, invalid UTF-8 and short buffers are detected
//! and reported as result codes; what cannot be detected is the caller's
//! contract (README, "Pointer rules"): a non-NULL pointer points to at least
//! the stated number of valid bytes or to a live handle of the stated type,
//! and a handle is not used by two threads at once unless its documentation
//! says so.
// Exported functions are `unsafe extern "C"` with `#[unsafe(no_mangle)]`,
// which the workspace's `unsafe_code` lint denies. The `unsafe` blocks live
// in two small modules: `ptr` (pointers and buffers) and `callbacks`.
#![allow(unsafe_code)]
// The crate-level "Safety" section above covers every exported function.
#![allow(clippy::missing_safety_doc)]
// C names: `ehr_handshaker`, `EHR_OK`.
#![allow(non_camel_case_types)]

mod batch;
mod callbacks;
mod handshaker;
mod keys;
mod ptr;
mod result;
mod templates;
mod ti;
mod transport;

use std::ffi::c_char;

pub use batch::*;
pub use handshaker::*;
pub use keys::*;
pub use result::{ehr_last_error, ehr_last_violations, ehr_result, ehr_result_message};
pub use templates::*;
pub use ti::*;
pub use transport::*;

use ehrchain_core::{KeyId, Role};

use crate::result::{Error, guard};

/// A role from its name, or `EHR_INVALID_ARGUMENT`.
pub(crate) fn role(name: &str) -> result::Result<Role> {
    Role::new(name).map_err(|e| Error::new(ehr_result::EHR_INVALID_ARGUMENT, e.to_string()))
}

/// A key id, or `EHR_KEY_ID_INVALID`.
pub(crate) fn key_id(id: &str) -> result::Result<KeyId> {
    KeyId::new(id).map_err(|e| Error::new(ehr_result::EHR_KEY_ID_INVALID, e.to_string()))
}

/// A result code's name and number, for messages.
pub(crate) fn code_name(code: u32) -> String {
    match ehr_result::from_u32(code) {
        Some(c) => format!("{c:?} ({code})"),
        None => format!("the unknown code {code}"),
    }
}

/// Writes the library version (such as `0.1.0`) as NUL-terminated text into
/// `buf` (text-output rules: `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_version(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| ptr::write_text(buf, len, out_len, env!("CARGO_PKG_VERSION")))
}
