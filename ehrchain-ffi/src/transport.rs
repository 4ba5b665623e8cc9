//! `ehr_transport`: how the validator reaches the chain: the in-process
//! devnet, a JSON-RPC node, or the host's own C callbacks.

use std::ffi::{c_char, c_void};

use alloy_primitives::{Address, B256, Bytes, LogData};
#[cfg(feature = "devnet")]
use ehrchain_contracts::{Devnet, DevnetTransport};
#[cfg(feature = "rpc")]
use ehrchain_contracts::{RpcConfig, RpcTransport};
use ehrchain_core::transport::Anchoring;
use ehrchain_core::{
    AnchoredBatch, BatchReader, ErrorCode, Submission, SubmissionStatus, Transport, TransportError,
    TxHash, TxReceipt,
};

use crate::callbacks;
use crate::ptr::{self, Out, OutArray};
use crate::result::{Error, ehr_result, guard, guard_void};
use crate::templates::ehr_templates;

/// The most revert data bytes a callback transport reports in a receipt.
pub const EHR_MAX_REVERT_DATA: usize = 1024;

/// What a submission anchors.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ehr_anchoring_kind {
    /// One record (`anchorRecord`): `id` is the TI id, `hash` the record hash.
    EHR_ANCHOR_RECORD = 0,
    /// A batch (`anchorBatch`): `id` is the batch id, `hash` the root.
    EHR_ANCHOR_BATCH = 1,
}

/// Where a submitted transaction stands, as a `poll` callback reports it in
/// `status_out`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ehr_poll_status {
    /// Known to the node, not in a block yet.
    EHR_POLL_PENDING = 0,
    /// In a block of the canonical chain: the receipt is filled in.
    EHR_POLL_INCLUDED = 1,
    /// The node no longer knows it: it will not be mined unless sent again.
    EHR_POLL_DROPPED = 2,
}

/// A transaction to send: passed to a callback transport's `submit` and
/// `poll` (valid during the call) or handed out in an `ehr_transmit` (valid
/// until its validator is freed). Copy what you keep.
#[repr(C)]
#[derive(Debug)]
pub struct ehr_submission {
    /// The contract called.
    pub to: [u8; 20],
    /// The chain the transaction is for; a node on another chain must refuse
    /// it (`EHR_TRANSPORT_WRONG_CHAIN`).
    pub chain_id: u64,
    /// The ABI-encoded call.
    pub calldata: *const u8,
    /// Length of `calldata` in bytes.
    pub calldata_len: usize,
    /// What it anchors: an `ehr_anchoring_kind`.
    pub kind: u32,
    /// The TI id (record) or the batch id (batch).
    pub id: [u8; 32],
    /// The record hash (record) or the Merkle root (batch).
    pub hash: [u8; 32],
    /// The number of records under the root (batch; 0 for a record).
    pub leaf_count: u32,
}

impl ehr_submission {
    /// No submission: zeros and a NULL calldata pointer.
    pub(crate) const NONE: Self = Self {
        to: [0; 20],
        chain_id: 0,
        calldata: std::ptr::null(),
        calldata_len: 0,
        kind: 0,
        id: [0; 32],
        hash: [0; 32],
        leaf_count: 0,
    };

    /// The C view of `s`; its calldata pointer points into `s`.
    pub(crate) fn of(s: &Submission) -> Self {
        let (kind, id, hash, leaf_count) = match s.anchoring {
            Anchoring::Record { ti_id, record_hash } => (
                ehr_anchoring_kind::EHR_ANCHOR_RECORD as u32,
                ti_id,
                record_hash,
                0,
            ),
            Anchoring::Batch {
                batch_id,
                root,
                leaf_count,
            } => (
                ehr_anchoring_kind::EHR_ANCHOR_BATCH as u32,
                batch_id,
                root,
                leaf_count,
            ),
        };
        Self {
            to: s.to.0.0,
            chain_id: s.chain_id,
            calldata: s.calldata.as_ptr(),
            calldata_len: s.calldata.len(),
            kind,
            id: id.0,
            hash: hash.0,
            leaf_count,
        }
    }
}

/// A mined transaction's receipt, as a `poll` callback fills it in (it comes
/// zeroed). ehrchain reads its booleans as bytes: 0 is false, any other value
/// true.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ehr_receipt {
    /// The transaction.
    pub tx_hash: [u8; 32],
    /// True for receipt status 1 (success), false for a reverted transaction.
    pub success: bool,
    /// The block holding it.
    pub block_number: u64,
    /// That block's hash.
    pub block_hash: [u8; 32],
    /// Whether `anchor_log_index` is set: the transaction emitted the
    /// anchoring event (`ehr_submission_is_anchoring_event` tells which log
    /// that is).
    pub has_anchor_log_index: bool,
    /// The block-wide log index of the anchoring event.
    pub anchor_log_index: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Length of `revert_data` used (at most `EHR_MAX_REVERT_DATA`).
    pub revert_data_len: usize,
    /// The revert data of a failed transaction, when the node gives it.
    pub revert_data: [u8; EHR_MAX_REVERT_DATA],
}

/// A transport the host implements as C callbacks. `userdata` is passed back
/// unchanged as the first argument of every callback and must stay valid as
/// long as the transport. Each callback returns `EHR_OK`, or a transport code
/// (`EHR_TRANSPORT_UNAVAILABLE` and `EHR_TRANSPORT_RATE_LIMITED` are retried
/// with backoff; `EHR_TRANSPORT_REJECTED`, `EHR_TRANSPORT_WRONG_CHAIN`,
/// `EHR_TRANSPORT_MALFORMED` and any other code are permanent). Callbacks run
/// on the thread that called into ehrchain.
///
/// When a submission may or may not have reached the node, return a
/// retryable code: the validator sends again, and the registry refuses a
/// second anchoring of the same TI id (which the validator recognises).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ehr_transport_callbacks {
    /// Passed to every callback.
    pub userdata: *mut c_void,
    /// Sends the transaction; writes its 32-byte hash to `tx_hash_out`.
    /// Required.
    pub submit: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            submission: *const ehr_submission,
            tx_hash_out: *mut u8,
        ) -> ehr_result,
    >,
    /// Where the transaction `tx_hash` (32 bytes) sent for `submission`
    /// stands: writes an `ehr_poll_status` to `status_out` and, for
    /// `EHR_POLL_INCLUDED`, fills in `receipt_out`. Required.
    pub poll: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            tx_hash: *const u8,
            submission: *const ehr_submission,
            status_out: *mut u32,
            receipt_out: *mut ehr_receipt,
        ) -> ehr_result,
    >,
    /// Writes the number of the chain's latest block to `block_number_out`.
    /// Required.
    pub head: Option<
        unsafe extern "C" fn(userdata: *mut c_void, block_number_out: *mut u64) -> ehr_result,
    >,
    /// Reads the registry's `recordHashOf(tiId)` for the 32-byte `ti_id`:
    /// writes true to `found_out` and the hash to `record_hash_out` when it
    /// is not zero, else false to `found_out`. Required.
    pub record_hash_of: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            ti_id: *const u8,
            found_out: *mut bool,
            record_hash_out: *mut u8,
        ) -> ehr_result,
    >,
    /// Reads the batch anchored under the 32-byte `root`: writes true to
    /// `found_out` and its leaf count to `leaf_count_out` (and true to
    /// `has_batch_id_out` with the id in `batch_id_out` when the transport
    /// reads the `BatchAnchored` event), else false to `found_out`. Optional
    /// (NULL): needed for batches and on-chain proof checks only.
    pub anchored_batch: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            root: *const u8,
            found_out: *mut bool,
            leaf_count_out: *mut u32,
            has_batch_id_out: *mut bool,
            batch_id_out: *mut u8,
        ) -> ehr_result,
    >,
}

/// A transport over the host's callbacks.
#[derive(Debug)]
pub(crate) struct CallbackTransport {
    cb: ehr_transport_callbacks,
    chain_id: u64,
    registry: Address,
}

impl CallbackTransport {
    /// A callback's code as the transport's result.
    fn check(&self, code: ehr_result, callback: &str) -> Result<(), TransportError> {
        host_result(
            code,
            self.chain_id,
            &format!("the host's {callback} callback"),
        )
    }
}

/// A code the host returned or reported for a transport operation (`who`
/// says which, for the message), as the operation's result: `EHR_OK` is
/// success, a transport code keeps its meaning, any other code is an answer
/// ehrchain cannot read (the rule is core's `TransportError::from_code`).
/// `chain_id` is the chain the transaction is for.
pub(crate) fn host_result(
    code: ehr_result,
    chain_id: u64,
    who: &str,
) -> Result<(), TransportError> {
    if code == ehr_result::OK {
        return Ok(());
    }
    let detail = format!("{who} returned {}", code.name());
    Err(TransportError::from_code(
        code.error_code(),
        chain_id,
        detail,
    ))
}

/// Where a transaction stands, from the `status` (an `ehr_poll_status`) and,
/// for `EHR_POLL_INCLUDED`, the receipt the host reported (`who` names the
/// host's side in messages).
pub(crate) fn submission_status(
    status: u32,
    receipt: Option<&ehr_receipt>,
    who: &str,
) -> Result<SubmissionStatus, TransportError> {
    match status {
        0 => Ok(SubmissionStatus::Pending),
        2 => Ok(SubmissionStatus::Dropped),
        1 => {
            let r = receipt.ok_or_else(|| {
                TransportError::Malformed(format!(
                    "{who} reported EHR_POLL_INCLUDED without a receipt"
                ))
            })?;
            let revert = r.revert_data.get(..r.revert_data_len).ok_or_else(|| {
                TransportError::Malformed(format!(
                    "{who} reported {} bytes of revert data; at most {EHR_MAX_REVERT_DATA} fit",
                    r.revert_data_len
                ))
            })?;
            Ok(SubmissionStatus::Included(TxReceipt {
                tx_hash: TxHash(B256::from(r.tx_hash)),
                status: r.success,
                block_number: r.block_number,
                block_hash: B256::from(r.block_hash),
                anchor_log_index: r.has_anchor_log_index.then_some(r.anchor_log_index),
                gas_used: r.gas_used,
                revert_data: (!r.success).then(|| Bytes::copy_from_slice(revert)),
            }))
        }
        other => Err(TransportError::Malformed(format!(
            "{who} wrote status {other}; use EHR_POLL_PENDING, EHR_POLL_INCLUDED or EHR_POLL_DROPPED"
        ))),
    }
}

impl BatchReader for CallbackTransport {
    type Error = TransportError;

    fn anchored_batch(&mut self, root: &B256) -> Result<Option<AnchoredBatch>, TransportError> {
        if self.cb.anchored_batch.is_none() {
            return Err(TransportError::Rejected(
                "the host's transport has no anchored_batch callback; batches and on-chain proof checks need it".into(),
            ));
        }
        let (mut found, mut leaf_count, mut has_id, mut id) = (false, 0u32, false, [0u8; 32]);
        self.check(
            callbacks::anchored_batch(
                &self.cb,
                &root.0,
                &mut found,
                &mut leaf_count,
                &mut has_id,
                &mut id,
            ),
            "anchored_batch",
        )?;
        Ok(found.then(|| AnchoredBatch {
            root: *root,
            leaf_count,
            batch_id: has_id.then_some(B256::from(id)),
        }))
    }
}

impl Transport for CallbackTransport {
    fn chain_id(&self) -> u64 {
        self.chain_id
    }
    fn registry(&self) -> Address {
        self.registry
    }
    fn submit(&mut self, submission: &Submission) -> Result<TxHash, TransportError> {
        let mut hash = [0u8; 32];
        let sub = ehr_submission::of(submission);
        self.check(callbacks::submit(&self.cb, &sub, &mut hash), "submit")?;
        Ok(TxHash(B256::from(hash)))
    }

    fn poll(
        &mut self,
        tx_hash: &TxHash,
        submission: &Submission,
    ) -> Result<SubmissionStatus, TransportError> {
        let sub = ehr_submission::of(submission);
        let mut status = u32::MAX;
        let mut receipt = None;
        self.check(
            callbacks::poll(&self.cb, &tx_hash.0.0, &sub, &mut status, &mut receipt),
            "poll",
        )?;
        submission_status(status, receipt.as_ref(), "the host's poll callback")
    }

    fn head(&mut self) -> Result<u64, TransportError> {
        let mut block = 0u64;
        self.check(callbacks::head(&self.cb, &mut block), "head")?;
        Ok(block)
    }

    fn record_hash_of(&mut self, ti_id: &B256) -> Result<Option<B256>, TransportError> {
        let (mut found, mut hash) = (false, [0u8; 32]);
        self.check(
            callbacks::record_hash_of(&self.cb, &ti_id.0, &mut found, &mut hash),
            "record_hash_of",
        )?;
        Ok(found.then_some(B256::from(hash)))
    }
}

/// The transport behind a handle.
#[derive(Debug)]
pub(crate) enum FfiTransport {
    #[cfg(feature = "devnet")]
    Devnet(Box<DevnetTransport>),
    #[cfg(feature = "rpc")]
    Rpc(Box<RpcTransport>),
    Callbacks(CallbackTransport),
}

impl BatchReader for FfiTransport {
    type Error = TransportError;

    fn anchored_batch(&mut self, root: &B256) -> Result<Option<AnchoredBatch>, TransportError> {
        match self {
            #[cfg(feature = "devnet")]
            Self::Devnet(t) => t.anchored_batch(root),
            #[cfg(feature = "rpc")]
            Self::Rpc(t) => t.anchored_batch(root),
            Self::Callbacks(t) => t.anchored_batch(root),
        }
    }
}

impl Transport for FfiTransport {
    fn chain_id(&self) -> u64 {
        match self {
            #[cfg(feature = "devnet")]
            Self::Devnet(t) => t.chain_id(),
            #[cfg(feature = "rpc")]
            Self::Rpc(t) => t.chain_id(),
            Self::Callbacks(t) => t.chain_id(),
        }
    }
    fn registry(&self) -> Address {
        match self {
            #[cfg(feature = "devnet")]
            Self::Devnet(t) => t.registry(),
            #[cfg(feature = "rpc")]
            Self::Rpc(t) => t.registry(),
            Self::Callbacks(t) => t.registry(),
        }
    }
    fn submit(&mut self, submission: &Submission) -> Result<TxHash, TransportError> {
        match self {
            #[cfg(feature = "devnet")]
            Self::Devnet(t) => t.submit(submission),
            #[cfg(feature = "rpc")]
            Self::Rpc(t) => t.submit(submission),
            Self::Callbacks(t) => t.submit(submission),
        }
    }

    fn poll(
        &mut self,
        tx_hash: &TxHash,
        submission: &Submission,
    ) -> Result<SubmissionStatus, TransportError> {
        match self {
            #[cfg(feature = "devnet")]
            Self::Devnet(t) => t.poll(tx_hash, submission),
            #[cfg(feature = "rpc")]
            Self::Rpc(t) => t.poll(tx_hash, submission),
            Self::Callbacks(t) => t.poll(tx_hash, submission),
        }
    }

    fn head(&mut self) -> Result<u64, TransportError> {
        match self {
            #[cfg(feature = "devnet")]
            Self::Devnet(t) => t.head(),
            #[cfg(feature = "rpc")]
            Self::Rpc(t) => t.head(),
            Self::Callbacks(t) => t.head(),
        }
    }

    fn record_hash_of(&mut self, ti_id: &B256) -> Result<Option<B256>, TransportError> {
        match self {
            #[cfg(feature = "devnet")]
            Self::Devnet(t) => t.record_hash_of(ti_id),
            #[cfg(feature = "rpc")]
            Self::Rpc(t) => t.record_hash_of(ti_id),
            Self::Callbacks(t) => t.record_hash_of(ti_id),
        }
    }
}

/// How the Transaction Validator reaches the chain.
///
/// Thread safety: a handle may be moved to another thread, but not used from
/// two threads at once. A callback transport calls its callbacks on the
/// calling thread.
pub struct ehr_transport {
    pub(crate) inner: FfiTransport,
}

/// Makes an in-process Ethereum devnet (revm; no server) with the
/// `EhrRegistry` contract deployed, its clock at the system time, the named
/// devnet accounts holding their roles (doctor, nurse, pathologist, device,
/// handshaker) and every template of `templates` (may be NULL) registered on
/// chain. It mines at once and closes a block whenever the head is read.
/// Free it with `ehr_transport_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_new_devnet(
    templates: *const ehr_templates,
    transport_out: *mut *mut ehr_transport,
) -> ehr_result {
    guard(|| {
        let templates = if templates.is_null() {
            None
        } else {
            Some(ptr::handle(templates, "templates")?)
        };
        let out = Out::new(transport_out, "transport_out")?;
        out.give(ehr_transport {
            inner: devnet_transport(templates)?,
        });
        Ok(())
    })
}

#[cfg(feature = "devnet")]
fn devnet_transport(templates: Option<&ehr_templates>) -> crate::result::Result<FfiTransport> {
    use ehrchain_core::{Clock, SystemClock};
    let mut net = Devnet::new()?;
    // Block timestamps are Unix seconds (EVM).
    let now = SystemClock.now().as_secs();
    if now > net.block_timestamp() {
        net.set_time(now)?;
    }
    for template in templates.iter().flat_map(|t| t.registry.iter()) {
        net.register_template(template)?;
    }
    Ok(FfiTransport::Devnet(Box::new(DevnetTransport::new(net))))
}

#[cfg(not(feature = "devnet"))]
fn devnet_transport(_: Option<&ehr_templates>) -> crate::result::Result<FfiTransport> {
    Err(crate::disabled("devnet"))
}

/// Writes the 20-byte address of the devnet account named `name` (`admin`,
/// `handshaker`, `doctor`, `nurse`, `pathologist`, `device`, or any other
/// name) to `address_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_devnet_account(
    name: *const c_char,
    name_len: usize,
    address_out: *mut u8,
) -> ehr_result {
    guard(|| {
        let name = ptr::text(name, name_len, "name")?;
        let out = OutArray::<20>::new(address_out, "address_out")?;
        #[cfg(feature = "devnet")]
        {
            out.set(&Devnet::account(name).0.0);
            Ok(())
        }
        #[cfg(not(feature = "devnet"))]
        {
            let _ = (name, out);
            Err(crate::disabled("devnet"))
        }
    })
}

#[cfg(feature = "devnet")]
fn devnet(t: &mut ehr_transport) -> crate::result::Result<&mut DevnetTransport> {
    match &mut t.inner {
        FfiTransport::Devnet(d) => Ok(d),
        _ => Err(Error::new(
            ErrorCode::InvalidArgument,
            "this function needs a devnet transport (ehr_transport_new_devnet)",
        )),
    }
}

/// Grants the role `role` on the devnet's registry to the 20-byte `account`,
/// as the devnet's admin. `EHR_INVALID_ARGUMENT` for other transports.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_devnet_grant_role(
    transport: *mut ehr_transport,
    role: *const c_char,
    role_len: usize,
    account: *const u8,
) -> ehr_result {
    guard(|| {
        let t = ptr::handle_mut(transport, "transport")?;
        let role = ptr::text(role, role_len, "role")?;
        let account = Address::from(ptr::array::<20>(account, "account")?);
        #[cfg(feature = "devnet")]
        {
            devnet(t)?.devnet_mut().grant_role(role, account)?;
            Ok(())
        }
        #[cfg(not(feature = "devnet"))]
        {
            let _ = (t, role, account);
            Err(crate::disabled("devnet"))
        }
    })
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
    guard(|| {
        let t = ptr::handle_mut(transport, "transport")?;
        let role = ehrchain_core::Role::new(ptr::text(role, role_len, "role")?)?;
        let account = Address::from(ptr::array::<20>(account, "account")?);
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
    guard(|| {
        let t = ptr::handle(transport, "transport")?;
        let chain_id = Out::new(chain_id_out, "chain_id_out")?;
        let registry = OutArray::<20>::new(registry_out, "registry_out")?;
        chain_id.set(t.inner.chain_id());
        registry.set(&t.inner.registry().0.0);
        Ok(())
    })
}

/// Connects to the JSON-RPC node at `url` (`http://` or `https://`, UTF-8),
/// checks that it is on chain `chain_id`, and reads the `EhrRegistry` at the
/// 20-byte `registry` (all zeros when none is deployed yet:
/// `ehr_transport_rpc_deploy_registry` deploys one). `timeout_ms` bounds each JSON-RPC exchange (0 for 30
/// s). Transactions are sent from the node's unlocked accounts
/// (`ehr_transport_set_sender`, `ehr_transport_rpc_set_default_sender`).
/// Fails with `EHR_TRANSPORT_UNAVAILABLE` when the node does not answer,
/// `EHR_TRANSPORT_WRONG_CHAIN` or `EHR_TRANSPORT_REJECTED` for an unusable
/// URL. Free it with `ehr_transport_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_new_rpc(
    url: *const c_char,
    url_len: usize,
    chain_id: u64,
    registry: *const u8,
    timeout_ms: u64,
    transport_out: *mut *mut ehr_transport,
) -> ehr_result {
    guard(|| {
        let url = ptr::text(url, url_len, "url")?;
        let registry = Address::from(ptr::array::<20>(registry, "registry")?);
        let out = Out::new(transport_out, "transport_out")?;
        #[cfg(feature = "rpc")]
        {
            let mut config = RpcConfig::new(chain_id);
            config.registry = registry;
            if timeout_ms > 0 {
                config.timeout = std::time::Duration::from_millis(timeout_ms);
            }
            let transport = RpcTransport::connect(url, config)?;
            out.give(ehr_transport {
                inner: FfiTransport::Rpc(Box::new(transport)),
            });
            Ok(())
        }
        #[cfg(not(feature = "rpc"))]
        {
            let _ = (url, chain_id, registry, timeout_ms, out);
            Err(crate::disabled("rpc"))
        }
    })
}

#[cfg(feature = "rpc")]
fn rpc(t: &mut ehr_transport) -> crate::result::Result<&mut RpcTransport> {
    match &mut t.inner {
        FfiTransport::Rpc(r) => Ok(r),
        _ => Err(Error::new(
            ErrorCode::InvalidArgument,
            "this function needs a JSON-RPC transport (ehr_transport_new_rpc)",
        )),
    }
}

/// Sends batches and the transactions of roles without a sender of their own
/// from the 20-byte `account` (JSON-RPC transports only).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_rpc_set_default_sender(
    transport: *mut ehr_transport,
    account: *const u8,
) -> ehr_result {
    guard(|| {
        let t = ptr::handle_mut(transport, "transport")?;
        let account = Address::from(ptr::array::<20>(account, "account")?);
        #[cfg(feature = "rpc")]
        {
            rpc(t)?.set_default_sender(account);
            Ok(())
        }
        #[cfg(not(feature = "rpc"))]
        {
            let _ = (t, account);
            Err(crate::disabled("rpc"))
        }
    })
}

/// Whether reading the head first asks the node to mine a block (`evm_mine`,
/// development nodes such as Ganache only), so that confirmations grow on an
/// instamining node. JSON-RPC transports only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_rpc_set_mine_on_head(
    transport: *mut ehr_transport,
    mine: bool,
) -> ehr_result {
    guard(|| {
        let t = ptr::handle_mut(transport, "transport")?;
        #[cfg(feature = "rpc")]
        {
            rpc(t)?.set_mine_on_head(mine);
            Ok(())
        }
        #[cfg(not(feature = "rpc"))]
        {
            let _ = (t, mine);
            Err(crate::disabled("rpc"))
        }
    })
}

/// Deploys a new `EhrRegistry` from the committed bytecode on the node of a
/// JSON-RPC transport, sent from the 20-byte account `admin` (unlocked on the
/// node), which then holds the registry's administrator roles; registers
/// every template of `templates` (NULL for none) and points the transport at
/// the new registry, whose 20-byte address it writes to `registry_out`. An
/// administrator does this once per chain, then grants roles
/// (`ehr_transport_rpc_grant_role`). Blocks until each transaction is mined
/// (each within the transport's timeout). `EHR_TRANSPORT_REVERTED` when a
/// transaction reverts (the message decodes why); `EHR_INVALID_ARGUMENT` for
/// other transports.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_rpc_deploy_registry(
    transport: *mut ehr_transport,
    admin: *const u8,
    templates: *const ehr_templates,
    registry_out: *mut u8,
) -> ehr_result {
    guard(|| {
        let t = ptr::handle_mut(transport, "transport")?;
        let admin = Address::from(ptr::array::<20>(admin, "admin")?);
        let templates = if templates.is_null() {
            None
        } else {
            Some(ptr::handle(templates, "templates")?)
        };
        let out = OutArray::<20>::new(registry_out, "registry_out")?;
        #[cfg(feature = "rpc")]
        {
            let deployment = ehrchain_contracts::Deployment {
                admin,
                grants: Vec::new(),
            };
            let none = ehrchain_core::TemplateRegistry::new();
            let templates = templates.map_or(&none, |t| &t.registry);
            let registry = ehrchain_contracts::deploy_registry(rpc(t)?, &deployment, templates)?;
            out.set(&registry.0.0);
            Ok(())
        }
        #[cfg(not(feature = "rpc"))]
        {
            let _ = (t, admin, templates, out);
            Err(crate::disabled("rpc"))
        }
    })
}

/// Grants the role `role` (such as `nurse`) to the 20-byte `account` on the
/// registry of a JSON-RPC transport, with a transaction from the 20-byte
/// `admin` (an account holding the registry's `ADMIN_ROLE`, such as its
/// deployer), and blocks until it is mined. `EHR_ROLE_INVALID` for a
/// malformed role name; `EHR_TRANSPORT_REVERTED` when the grant reverts;
/// `EHR_INVALID_ARGUMENT` for other transports (a devnet:
/// `ehr_transport_devnet_grant_role`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_rpc_grant_role(
    transport: *mut ehr_transport,
    admin: *const u8,
    role: *const c_char,
    role_len: usize,
    account: *const u8,
) -> ehr_result {
    guard(|| {
        let t = ptr::handle_mut(transport, "transport")?;
        let admin = Address::from(ptr::array::<20>(admin, "admin")?);
        let role = ehrchain_core::Role::new(ptr::text(role, role_len, "role")?)?;
        let account = Address::from(ptr::array::<20>(account, "account")?);
        #[cfg(feature = "rpc")]
        {
            ehrchain_contracts::grant_role(rpc(t)?, admin, &role, account)?;
            Ok(())
        }
        #[cfg(not(feature = "rpc"))]
        {
            let _ = (t, admin, role, account);
            Err(crate::disabled("rpc"))
        }
    })
}

/// Registers the template of `templates` with the 32-byte id `template_id`
/// (its id and the roles allowed to use it) on the registry of a JSON-RPC
/// transport, with a transaction from the 20-byte `admin`, and blocks until
/// it is mined: TIs of a template load on chain only once it is registered.
/// `EHR_TEMPLATE_UNKNOWN` when `templates` has no such template;
/// `EHR_TRANSPORT_REVERTED` when the registration reverts (a template
/// registered already, an `admin` without `ADMIN_ROLE`);
/// `EHR_INVALID_ARGUMENT` for other transports.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_rpc_register_template(
    transport: *mut ehr_transport,
    admin: *const u8,
    templates: *const ehr_templates,
    template_id: *const u8,
) -> ehr_result {
    guard(|| {
        let t = ptr::handle_mut(transport, "transport")?;
        let admin = Address::from(ptr::array::<20>(admin, "admin")?);
        let templates = ptr::handle(templates, "templates")?;
        let id = B256::from(ptr::array::<32>(template_id, "template_id")?);
        let template = (templates.registry.get(&id))
            .ok_or(ehrchain_core::template::RegistryError::UnknownTemplate(id))?;
        #[cfg(feature = "rpc")]
        {
            ehrchain_contracts::register_template(rpc(t)?, admin, template)?;
            Ok(())
        }
        #[cfg(not(feature = "rpc"))]
        {
            let _ = (t, admin, template);
            Err(crate::disabled("rpc"))
        }
    })
}

/// Makes a transport over the host's callbacks (copied; `callbacks` itself
/// need not outlive the call) for chain `chain_id` and the `EhrRegistry` at
/// the 20-byte `registry`. `EHR_NULL_ARGUMENT` when a required callback is
/// NULL. Free it with `ehr_transport_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_new_callbacks(
    callbacks: *const ehr_transport_callbacks,
    chain_id: u64,
    registry: *const u8,
    transport_out: *mut *mut ehr_transport,
) -> ehr_result {
    guard(|| {
        let cb = *ptr::handle(callbacks, "callbacks")?;
        let registry = Address::from(ptr::array::<20>(registry, "registry")?);
        let out = Out::new(transport_out, "transport_out")?;
        for (name, missing) in [
            ("submit", cb.submit.is_none()),
            ("poll", cb.poll.is_none()),
            ("head", cb.head.is_none()),
            ("record_hash_of", cb.record_hash_of.is_none()),
        ] {
            if missing {
                return Err(Error::new(
                    ErrorCode::NullArgument,
                    format!("the callback `callbacks->{name}` is NULL; it is required"),
                ));
            }
        }
        out.give(ehr_transport {
            inner: FfiTransport::Callbacks(CallbackTransport {
                cb,
                chain_id,
                registry,
            }),
        });
        Ok(())
    })
}

/// Whether a log (emitted by the 20-byte `emitter`, with `topics_len` bytes
/// of 32-byte topics at `topics` and `data_len` bytes of data) is the event
/// the submission's success emits (`RecordAnchored` or `BatchAnchored`):
/// writes true or false to `is_anchoring_out`. For `poll` callbacks filling in
/// `ehr_receipt.anchor_log_index`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_submission_is_anchoring_event(
    submission: *const ehr_submission,
    emitter: *const u8,
    topics: *const u8,
    topics_len: usize,
    data: *const u8,
    data_len: usize,
    is_anchoring_out: *mut bool,
) -> ehr_result {
    guard(|| {
        let s = ptr::handle(submission, "submission")?;
        let emitter = Address::from(ptr::array::<20>(emitter, "emitter")?);
        let topics = ptr::bytes_or_empty(topics, topics_len, "topics")?;
        let data = ptr::bytes_or_empty(data, data_len, "data")?;
        let out = Out::new(is_anchoring_out, "is_anchoring_out")?;
        if topics.len() % 32 != 0 {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "topics_len must be a multiple of 32",
            ));
        }
        let calldata = ptr::bytes_or_empty(s.calldata, s.calldata_len, "submission->calldata")?;
        let (id, hash) = (B256::from(s.id), B256::from(s.hash));
        let anchoring = match s.kind {
            0 => Anchoring::Record {
                ti_id: id,
                record_hash: hash,
            },
            1 => Anchoring::Batch {
                batch_id: id,
                root: hash,
                leaf_count: s.leaf_count,
            },
            other => {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!("submission kind {other} is not an ehr_anchoring_kind"),
                ));
            }
        };
        let submission = Submission {
            to: Address::from(s.to),
            chain_id: s.chain_id,
            calldata: Bytes::copy_from_slice(calldata),
            anchoring,
        };
        let topics = topics.chunks_exact(32).map(B256::from_slice).collect();
        let log = LogData::new_unchecked(topics, Bytes::copy_from_slice(data));
        out.set(submission.is_anchoring_event(emitter, &log));
        Ok(())
    })
}

/// Frees a transport (a devnet and its chain with it); NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_free(transport: *mut ehr_transport) {
    guard_void(|| drop(ptr::take(transport)));
}
