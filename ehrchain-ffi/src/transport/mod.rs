//! `ehr_transport`: how the validator reaches the chain: the in-process
//! devnet (`devnet`), a JSON-RPC node (`rpc`), or the host's own C callbacks
//! (`host`). A handle holds one of them; the validator sees one `Transport`.

mod consent;
mod devnet;
mod host;
mod rpc;

use alloy_primitives::{Address, B256};
#[cfg(feature = "devnet")]
use ehrchain_contracts::DevnetTransport;
#[cfg(feature = "rpc")]
use ehrchain_contracts::RpcTransport;
use ehrchain_core::registry_abi::DecodedRevert;
use ehrchain_core::sharing::ChainReader;
use ehrchain_core::{
    AnchoredBatch, BatchReader, BlockRef, ErrorCode, FinalityTag, Submission, SubmissionStatus,
    Transport, TransportError, TxHash,
};
use std::ffi::c_char;

pub use consent::*;
pub use devnet::*;
pub use host::*;
pub use rpc::*;

use crate::ptr::{self, Out, OutArray};
use crate::result::{Error, ehr_result};
use crate::shapes::{free, guard_on, guard_on_mut};

/// The transport behind a handle.
#[derive(Debug)]
pub(crate) enum FfiTransport {
    #[cfg(feature = "devnet")]
    Devnet(Box<DevnetTransport>),
    #[cfg(feature = "rpc")]
    Rpc(Box<RpcTransport>),
    Callbacks(CallbackTransport),
}

impl FfiTransport {
    /// The transport itself.
    fn get(&self) -> &dyn Transport {
        match self {
            #[cfg(feature = "devnet")]
            Self::Devnet(t) => t.as_ref(),
            #[cfg(feature = "rpc")]
            Self::Rpc(t) => t.as_ref(),
            Self::Callbacks(t) => t,
        }
    }

    /// The transport itself, to use.
    fn get_mut(&mut self) -> &mut dyn Transport {
        match self {
            #[cfg(feature = "devnet")]
            Self::Devnet(t) => t.as_mut(),
            #[cfg(feature = "rpc")]
            Self::Rpc(t) => t.as_mut(),
            Self::Callbacks(t) => t,
        }
    }
}

impl FfiTransport {
    /// The transport's reads at a mined block (sharing's `eth_call`s): the
    /// devnet's and the JSON-RPC transport's; a callback transport has no
    /// call to make them with.
    pub(crate) fn chain_reader(&mut self) -> Result<&mut dyn ChainReader, Error> {
        match self {
            #[cfg(feature = "devnet")]
            Self::Devnet(t) => Ok(t.as_mut()),
            #[cfg(feature = "rpc")]
            Self::Rpc(t) => Ok(t.as_mut()),
            Self::Callbacks(_) => Err(needs(
                "a devnet or JSON-RPC transport: a callback transport's callbacks make no eth_call at a block (make the reads with the host's client and give their answers as JSON)",
            )),
        }
    }
}

impl BatchReader for FfiTransport {
    type Error = TransportError;

    fn anchored_batch(&mut self, root: &B256) -> Result<Option<AnchoredBatch>, TransportError> {
        self.get_mut().anchored_batch(root)
    }
}

impl Transport for FfiTransport {
    fn chain_id(&self) -> u64 {
        self.get().chain_id()
    }
    fn registry(&self) -> Address {
        self.get().registry()
    }
    fn submit(&mut self, submission: &Submission) -> Result<TxHash, TransportError> {
        self.get_mut().submit(submission)
    }
    fn poll(
        &mut self,
        tx: &TxHash,
        submission: &Submission,
    ) -> Result<SubmissionStatus, TransportError> {
        self.get_mut().poll(tx, submission)
    }
    fn head(&mut self) -> Result<u64, TransportError> {
        self.get_mut().head()
    }
    fn record_hash_of(&mut self, ti_id: &B256) -> Result<Option<B256>, TransportError> {
        self.get_mut().record_hash_of(ti_id)
    }
    fn block_at(&mut self, tag: FinalityTag) -> Result<Option<BlockRef>, TransportError> {
        self.get_mut().block_at(tag)
    }
}

/// `EHR_INVALID_ARGUMENT`: the function works on `kind` of transport only.
pub(crate) fn needs(kind: &str) -> Error {
    Error::new(
        ErrorCode::InvalidArgument,
        format!("this function needs {kind}"),
    )
}

/// How the Transaction Validator reaches the chain.
///
/// Thread safety: a handle may be moved to another thread, but not used from
/// two threads at once. A callback transport calls its callbacks on the
/// calling thread.
pub struct ehr_transport {
    pub(crate) inner: FfiTransport,
}

/// Sends the `anchorRecord` transactions of TIs authored in role `role` from
/// the 20-byte `account` (devnet and JSON-RPC transports;
/// `EHR_INVALID_ARGUMENT` for a callback transport, which picks senders
/// itself).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_set_sender(
    transport: *mut ehr_transport,
    role: *const c_char,
    role_len: usize,
    account: *const u8,
) -> ehr_result {
    guard_on_mut(transport, "transport", |t| {
        let role = ehrchain_core::Role::new(ptr::text(role, role_len, "role")?)?;
        let account = ptr::address(account, "account")?;
        let _ = (&role, account);
        match &mut t.inner {
            #[cfg(feature = "devnet")]
            FfiTransport::Devnet(d) => {
                d.set_sender(&role, account);
                Ok(())
            }
            #[cfg(feature = "rpc")]
            FfiTransport::Rpc(r) => {
                r.set_sender(&role, account);
                Ok(())
            }
            FfiTransport::Callbacks(_) => Err(Error::new(
                ErrorCode::InvalidArgument,
                "a callback transport picks its senders itself",
            )),
        }
    })
}

/// Writes the transport's chain id to `chain_id_out` and the 20-byte address
/// of its `EhrRegistry` contract to `registry_out` (for
/// `ehr_handshaker_config`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_chain(
    transport: *const ehr_transport,
    chain_id_out: *mut u64,
    registry_out: *mut u8,
) -> ehr_result {
    guard_on(transport, "transport", |t| {
        let chain_id = Out::new(chain_id_out, "chain_id_out")?;
        let registry = OutArray::<20>::new(registry_out, "registry_out")?;
        chain_id.set(t.inner.chain_id());
        registry.set(&t.inner.registry().0.0);
        Ok(())
    })
}

/// Writes what the registry's revert data `data` (`data_len` bytes, from a
/// receipt or a failed call) means, as NUL-terminated JSON (`{"error",
/// "detail", "data"}`: the custom error's name or null, its explanation
/// for people, the data as hex; JavaScript's `decodeRevert`) into `buf`
/// (text-output rules: `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_decode_revert(
    data: *const u8,
    data_len: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    crate::result::guard(|| {
        let data = ptr::bytes_or_empty(data, data_len, "data")?;
        let revert = DecodedRevert::from_data(&data.to_vec().into());
        crate::shapes::write_json(buf, len, out_len, &revert)
    })
}

/// Frees a transport (a devnet and its chain with it); NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_free(transport: *mut ehr_transport) {
    free(transport);
}
