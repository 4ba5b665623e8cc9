//! C ABI of the ehrchain handshaker.
//!
//! **Not implemented yet.** This crate is a placeholder in the fixed workspace
//! layout; it exports nothing. The C ABI (cdylib, staticlib, cbindgen header, C tests) is the subject of the C ABI issue.
