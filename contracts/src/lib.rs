//! EhrRegistry contracts, typed bindings and the in-process devnet of ehrchain.
//!
//! **Not implemented yet.** This crate is a placeholder in the fixed workspace
//! layout; it exports nothing. The Solidity registry, its bindings and the revm devnet are the subject of the contracts issue.
