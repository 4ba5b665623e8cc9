#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod batch;
mod driver;
pub mod envelope;
mod error;
mod generator;
mod handshaker;
pub mod keys;
mod record;
pub mod registry_abi;
mod role;
mod tc_json;
pub mod template;
mod ti;
mod time;
pub mod transport;
pub mod validator;
mod violation;

pub use batch::{
    AnchoredBatch, Batch, BatchBuilder, BatchError, BatchReader, BatchTransaction, ChainCheckError,
    InclusionProof, ProofError,
};
pub use driver::{run_blocking, step};
pub use envelope::{Envelope, EnvelopeBinding, EnvelopeError, PlaintextBuf, UnsealedEnvelope};
pub use error::{Error, ErrorCode, ErrorKind};
pub use generator::{
    ChainTransaction, GenerateError, GeneratorConfig, PreparedTransaction, RECORD_FORMAT,
    TransactionGenerator,
};
pub use handshaker::Handshaker;
pub use keys::{InMemoryKeyStore, KeyId, KeyStore, KeyStoreError, MasterKey};
pub use role::{InvalidRoleName, MAX_ROLE_NAME_LEN, Role};
pub use tc_json::TcError;
pub use template::{Form, RegistryError, Template, TemplateError, TemplateRegistry};
pub use ti::{InitialTransaction, MAX_IDENTIFIER_LEN, MAX_TI_JSON_LEN, TiFormatError};
#[cfg(feature = "std-clock")]
pub use time::SystemClock;
pub use time::{Clock, UnixMillis};
pub use transport::{
    Anchoring, Submission, SubmissionStatus, Transport, TransportError, TxHash, TxReceipt,
};
pub use validator::{
    Ack, AckStatus, Anchor, AuditEntry, AuditEvent, ChainHolds, InvalidReason, Recovered,
    TransactionValidator, Transmit, ValidatorConfig, ValidatorError, ValidatorState, ViolationNote,
};
pub use violation::{Violation, ViolationKind, Violations};

/// Re-exported primitive types used in the public API.
pub use alloy_primitives::{Address, B256, Bytes};
/// The randomness traits of the public API (`CryptoRngCore` for nonces):
/// use this re-export so the version always matches ehrchain's.
pub use rand_core;
