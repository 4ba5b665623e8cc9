//! WebAssembly and JavaScript bindings of the ehrchain handshaker.
//!
//! **Not implemented yet.** This crate is a placeholder in the fixed workspace
//! layout; it exports nothing. The wasm-bindgen package and the EIP-1193 transport are the subject of the WASM issue.
