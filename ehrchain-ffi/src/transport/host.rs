//! A transport over the host's own C callbacks: the C views of a submission
//! and a receipt, the callbacks, and the conversion of what they report.

use std::ffi::c_void;

use alloy_primitives::{Address, B256, Bytes, LogData};
use ehrchain_core::transport::Anchoring;
use ehrchain_core::{
    AnchoredBatch, BatchReader, ErrorCode, Submission, SubmissionStatus, Transport, TransportError,
    TxHash, TxReceipt,
};
use ehrchain_core::{BlockRef, FinalityTag};

use super::{FfiTransport, ehr_transport};
use crate::callbacks;
use crate::config::ehr_finality;
use crate::ptr::{self, Out};
use crate::result::{Error, ehr_result, guard};
use crate::shapes::guard_on;

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
/// until its validator is freed). Copy what you keep. Written by ehrchain
/// only, and embedded in `ehr_transmit`, it has no `struct_size` and never
/// grows (README, "Extensible structs").
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
/// zeroed with its `struct_size` set: fill in the fields, or copy in a whole
/// receipt made from `EHR_RECEIPT_INIT`). ehrchain reads its booleans as
/// bytes: 0 is false, any other value true.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ehr_receipt {
    /// `sizeof(ehr_receipt)` as the host's header declares it
    /// (`EHR_RECEIPT_INIT` sets it): which of the fields below
    /// the host's struct has (README, "Extensible structs").
    pub struct_size: usize,
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
    /// `sizeof(ehr_transport_callbacks)` as the host's header declares it
    /// (`EHR_TRANSPORT_CALLBACKS_INIT` sets it): which of the fields below
    /// the host's struct has (README, "Extensible structs").
    pub struct_size: usize,
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
    /// Reads the node's block under `tag` (an `ehr_finality`:
    /// `EHR_FINALITY_SAFE` or `EHR_FINALITY_FINALIZED`;
    /// `eth_getBlockByNumber`): writes true to `found_out`, its number to
    /// `block_number_out` and its 32-byte hash to `block_hash_out`, or false
    /// to `found_out` when the node names no such block yet. Optional
    /// (NULL): needed for finality by tag only (the validator's
    /// `ehr_validator_config_builder_set_finality`, the watcher's
    /// `"finality"`).
    pub block_at: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            tag: u32,
            found_out: *mut bool,
            block_number_out: *mut u64,
            block_hash_out: *mut u8,
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
    /// Calls the host's callback `name` through `call`, which hands it the
    /// callbacks and places of ours for its outputs (`T`, zeroed first), and
    /// turns its code into the transport's result: the outputs on `EHR_OK`.
    fn ask<T: Default>(
        &self,
        name: &str,
        call: impl FnOnce(&ehr_transport_callbacks, &mut T) -> ehr_result,
    ) -> Result<T, TransportError> {
        let mut out = T::default();
        let code = call(&self.cb, &mut out);
        host_result(code, self.chain_id, &format!("the host's {name} callback"))?;
        Ok(out)
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
        let (found, leaf_count, has_id, id) = self.ask("anchored_batch", |cb, out| {
            let (found, leaf_count, has_id, id) = out;
            callbacks::anchored_batch(cb, &root.0, found, leaf_count, has_id, id)
        })?;
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
        let sub = ehr_submission::of(submission);
        let hash = self.ask("submit", |cb, hash| callbacks::submit(cb, &sub, hash))?;
        Ok(TxHash(B256::from(hash)))
    }

    fn poll(
        &mut self,
        tx_hash: &TxHash,
        submission: &Submission,
    ) -> Result<SubmissionStatus, TransportError> {
        let sub = ehr_submission::of(submission);
        let (status, receipt) = self.ask("poll", |cb, (status, receipt)| {
            *status = u32::MAX;
            callbacks::poll(cb, &tx_hash.0.0, &sub, status, receipt)
        })?;
        submission_status(status, receipt.as_ref(), "the host's poll callback")
    }

    fn head(&mut self) -> Result<u64, TransportError> {
        self.ask("head", callbacks::head)
    }

    fn record_hash_of(&mut self, ti_id: &B256) -> Result<Option<B256>, TransportError> {
        let (found, hash) = self.ask("record_hash_of", |cb, (found, hash)| {
            callbacks::record_hash_of(cb, &ti_id.0, found, hash)
        })?;
        Ok(found.then_some(B256::from(hash)))
    }

    fn block_at(&mut self, tag: FinalityTag) -> Result<Option<BlockRef>, TransportError> {
        if self.cb.block_at.is_none() {
            return Err(TransportError::Rejected(format!(
                "the host's transport has no block_at callback to read the node's {} block; add one or configure depth finality",
                tag.name()
            )));
        }
        let (found, number, hash) = self.ask("block_at", |cb, (found, number, hash)| {
            callbacks::block_at(cb, ehr_finality::of_tag(tag), found, number, hash)
        })?;
        Ok(found.then(|| BlockRef {
            number,
            hash: B256::from(hash),
        }))
    }
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
        let cb = ptr::extensible(callbacks, "callbacks")?;
        let registry = ptr::address(registry, "registry")?;
        let out = Out::new(transport_out, "transport_out")?;
        ptr::required(cb.submit, "callbacks->submit")?;
        ptr::required(cb.poll, "callbacks->poll")?;
        ptr::required(cb.head, "callbacks->head")?;
        ptr::required(cb.record_hash_of, "callbacks->record_hash_of")?;
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
    guard_on(submission, "submission", |s| {
        let emitter = ptr::address(emitter, "emitter")?;
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
