#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

// The unit tests share the integration tests' helpers, which name the crate.
#[cfg(test)]
extern crate self as ehrchain_core;

pub mod authorship;
pub mod batch;
pub mod capsule;
pub mod consent_abi;
mod driver;
pub mod envelope;
mod error;
pub mod fhir;
pub mod finality;
pub mod generator;
mod handshaker;
pub mod json;
pub mod keys;
pub mod outbox;
pub mod pipeline;
mod record;
pub mod registry_abi;
pub mod role;
pub mod rpc;
pub mod sharing;
mod tc_json;
pub mod template;
pub mod ti;
mod time;
pub mod transport;
pub mod validator;
pub mod violation;
pub mod watcher;

// The types of the common flow (templates → TI → TC → chain → ACK, records,
// proofs, errors) are at the root; everything else is in its module.
pub use batch::{AnchoredBatch, Batch, BatchBuilder, BatchReader, InclusionProof};
pub use driver::{
    Run, RunStep, StopCause, Stopped, TakesReads, Until, ValidatorRun, WatchReport, WatchRun,
    WatchStep, WatchStopped, run_blocking, run_durably, watch_blocking, watch_durably, watch_until,
};
pub use envelope::Envelope;
pub use error::{Error, ErrorCode, ErrorKind};
pub use finality::{BlockRef, FinalBlock, Finality, FinalityTag};
pub use generator::{ChainTransaction, GeneratorConfig, TransactionGenerator};
pub use handshaker::{Handshaker, Resumed};
pub use keys::{InMemoryKeyStore, KeyId, KeyStore, MasterKey};
pub use role::Role;
pub use template::{Template, TemplateRegistry};
pub use ti::InitialTransaction;
#[cfg(feature = "std-clock")]
pub use time::SystemClock;
pub use time::{CancelToken, Clock, UnixMillis, VirtualClock};
pub use transport::{Submission, SubmissionStatus, Transport, TransportError, TxHash, TxReceipt};
pub use validator::{
    Ack, AckStatus, InvalidReason, TransactionValidator, Transmit, ValidatorConfig,
};
pub use watcher::{AnchorWatcher, WatchEvent, WatcherConfig};

/// Re-exported primitive types used in the public API.
pub use alloy_primitives::{Address, B256, Bytes};
/// The randomness traits of the public API (`CryptoRngCore` for nonces):
/// use this re-export so the version always matches ehrchain's.
pub use rand_core;
