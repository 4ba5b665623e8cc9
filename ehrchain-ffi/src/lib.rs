#![doc = include_str!("../README.md")]
// The crate docs are the C developer's guide. Every exported function is
// `unsafe`: its pointer arguments come from C, under the contract in the
// README's "Pointer rules" (that section is the "Safety" section of every
// function; hence `missing_safety_doc` is allowed below).
// Exported functions are `unsafe extern "C"` with `#[unsafe(no_mangle)]`,
// which the workspace's `unsafe_code` lint denies. The `unsafe` blocks live
// in two small modules: `ptr` (pointers and buffers) and `callbacks`.
#![allow(unsafe_code)]
#![allow(clippy::missing_safety_doc)]
// C names: `ehr_handshaker`, `EHR_OK`.
#![allow(non_camel_case_types)]

mod batch;
mod callbacks;
mod cancel;
mod capsule;
mod config;
mod consent;
mod fhir;
mod handshaker;
mod keys;
mod outbox;
mod patient_records;
mod pipeline;
mod ptr;
mod reads;
mod result;
mod rpc;
mod run;
mod shapes;
mod sharing;
mod signed_batch;
mod signed_proof;
mod signer;
mod tc;
mod templates;
mod ti;
mod transport;
mod validator;
mod watcher;

use std::ffi::c_char;

pub use batch::*;
pub use cancel::*;
pub use capsule::*;
pub use config::*;
pub use consent::*;
pub use fhir::*;
pub use handshaker::*;
pub use keys::*;
pub use outbox::*;
pub use patient_records::*;
pub use pipeline::*;
pub use result::{
    ehr_last_error, ehr_last_error_reason, ehr_last_violations, ehr_result,
    ehr_result_is_retryable, ehr_result_kind, ehr_result_message,
};
pub use rpc::*;
pub use run::*;
pub use sharing::*;
pub use signed_batch::*;
pub use signed_proof::*;
pub use signer::*;
pub use tc::*;
pub use templates::*;
pub use ti::*;
pub use transport::*;
pub use validator::*;
pub use watcher::*;

use ehrchain_core::ErrorCode;

use crate::result::{Error, guard};

/// The error of a function whose feature this build leaves out.
#[allow(dead_code)]
pub(crate) fn disabled(feature: &str) -> Error {
    Error::new(
        ErrorCode::FeatureDisabled,
        format!(
            "this build of ehrchain-ffi leaves out the `{feature}` feature; rebuild it with `--features {feature}`"
        ),
    )
}

/// The body of a function that needs the cargo feature `$feature`: `$body`
/// in a build with it; in a build without it, `EHR_FEATURE_DISABLED`
/// (`disabled`), the arguments `$unused` that only `$body` reads left unused.
macro_rules! with_feature {
    ($feature:literal, ($($unused:expr),*), $body:block) => {{
        #[cfg(feature = $feature)]
        {
            $body
        }
        #[cfg(not(feature = $feature))]
        {
            let _ = ($($unused),*);
            Err(crate::disabled($feature))
        }
    }};
}
pub(crate) use with_feature;

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
