//! The results of the chain reads that the validator and the watcher hand
//! out (`EHR_TRANSMIT_POLL`, `_READ_HEAD`, `_READ_RECORD`, `_READ_BATCH`,
//! `_READ_BLOCK`) and of a submission (`EHR_TRANSMIT_SUBMIT`), as C hands
//! them in: one function for a read's result (`hand_in`, the read's
//! arguments a [`Read`]) and one for a submission's, the whole body of the
//! validator's, the watcher's and a pipeline flight's `_handle_*` functions
//! (through the core's `TakesReads`); and the action handed out, the body
//! of the validator's and the watcher's `_poll_transmit`.

use ehrchain_core::rpc::Outcome;
use ehrchain_core::transport::Anchoring;
use ehrchain_core::{
    AnchoredBatch, B256, BlockRef, Submission, SubmissionStatus, TakesReads, TransactionValidator,
    Transmit, TransportError, TxHash, UnixMillis,
};

use crate::ptr::{self, OutExtensible};
use crate::result::{Error, Result, ehr_result};
use crate::shapes::guard_on_mut;
use crate::transport::{ehr_poll_status, ehr_receipt, host_result, submission_status};
use crate::validator::ehr_transmit;
use ehrchain_core::ErrorCode;

/// The validator or the watcher: a state machine that takes the reads and
/// whose refusals are C codes.
pub(crate) trait Reader: TakesReads<Error: Into<Error>> {}

impl<M: TakesReads<Error: Into<Error>>> Reader for M {}

/// A handle holding a [`Reader`]: `ehr_validator` or `ehr_watcher`.
pub(crate) trait ReaderHandle {
    /// Its state machine.
    type Machine: Reader;
    /// The name of the handle's C parameter.
    const NAME: &'static str;
    /// The code of a result it did not ask for (`EHR_VALIDATOR`,
    /// `EHR_WATCHER`).
    const UNEXPECTED: ErrorCode;
    /// Its state machine, to hand a read's result to.
    fn machine(&mut self) -> &mut Self::Machine;
    /// Its state machine, to read.
    fn machine_ref(&self) -> &Self::Machine;
    /// Hands `machine` the result of a JSON-RPC exchange it asked for. By
    /// default a read's only: the validator takes a submission's too.
    fn take(machine: &mut Self::Machine, outcome: Outcome, now: UnixMillis) -> Result<()> {
        let taken = outcome.hand_read_to(machine, now).ok_or_else(|| {
            Error::new(
                Self::UNEXPECTED,
                format!("a {} sends nothing: this exchange is not its", Self::NAME),
            )
        })?;
        taken.map_err(Into::into)
    }
}

/// Where a result goes: the machine of a handle (`ehr_validator *`,
/// `ehr_watcher *`), or a pipeline's submission in flight.
pub(crate) trait Target {
    /// The state machine that takes the result.
    type Machine: Reader;
    /// Runs `hand` with the machine inside the panic boundary.
    fn on(self, hand: impl FnOnce(&mut Self::Machine) -> Result<()>) -> ehr_result;
}

impl<H: ReaderHandle> Target for *mut H {
    type Machine = H::Machine;
    fn on(self, hand: impl FnOnce(&mut H::Machine) -> Result<()>) -> ehr_result {
        guard_on_mut(self, H::NAME, |h| hand(h.machine()))
    }
}

/// Writes the next action of the handle `h`'s machine at `now_ms`, which
/// `poll` asks it for, to `transmit_out` (see
/// `ehr_validator_poll_transmit`, `ehr_watcher_poll_transmit`).
pub(crate) fn transmit<H: ReaderHandle>(
    h: *mut H,
    now_ms: u64,
    transmit_out: *mut ehr_transmit,
    poll: impl FnOnce(&mut H::Machine, UnixMillis) -> Option<Transmit>,
) -> ehr_result {
    guard_on_mut(h, H::NAME, |h| {
        let out = OutExtensible::new(transmit_out, "transmit_out")?;
        let machine = h.machine();
        let transmit = poll(machine, UnixMillis(now_ms));
        out.set(ehr_transmit::of(transmit, machine.read_submission()));
        Ok(())
    })
}

/// The chain `machine`'s read in flight is about (0 for none).
fn chain<M: Reader>(machine: &M) -> u64 {
    machine.read_submission().map_or(0, |s| s.chain_id)
}

/// `result` as the result of the host's `operation` on a transport for
/// `chain`, or the value `ok` makes (only called for `EHR_OK`).
pub(crate) fn reported<T>(
    chain: u64,
    result: ehr_result,
    operation: &str,
    ok: impl FnOnce() -> Result<T>,
) -> Result<std::result::Result<T, TransportError>> {
    match host_result(result, chain, &format!("the host's {operation}")) {
        Ok(()) => ok().map(Ok),
        Err(e) => Ok(Err(e)),
    }
}

/// A read's result as C hands it in, besides the handle, `now_ms` and
/// `result` (see the validator's `_handle_*` functions of a read).
pub(crate) enum Read {
    /// `EHR_TRANSMIT_READ_HEAD`: the head's block number.
    Head(u64),
    /// `EHR_TRANSMIT_POLL`: an `ehr_poll_status`, and the receipt's pointer
    /// (read for `EHR_POLL_INCLUDED` only).
    Receipt(u32, *const ehr_receipt),
    /// `EHR_TRANSMIT_READ_RECORD`: the record hash's pointer when found.
    Record(Option<*const u8>),
    /// `EHR_TRANSMIT_READ_BLOCK`: the block's number, and its hash's
    /// pointer when found.
    Block(u64, Option<*const u8>),
    /// `EHR_TRANSMIT_READ_BATCH`: whether found, the batch's leaf count,
    /// and the batch id's pointer when the host read it.
    Batch(bool, u32, Option<*const u8>),
}

/// Hands `h` the result of `read` (see `ehr_validator_handle_head`,
/// `_receipt`, `_record`, `_block` and `_batch`): the host's `result` of
/// that read as a transport result, or the value its arguments make.
pub(crate) fn hand_in(h: impl Target, now_ms: u64, result: ehr_result, read: Read) -> ehr_result {
    h.on(|machine| {
        let (chain_id, now) = (chain(machine), UnixMillis(now_ms));
        let taken = match read {
            Read::Head(block_number) => {
                let head = reported(chain_id, result, "head read", || Ok(block_number))?;
                machine.handle_head(now, head)
            }
            Read::Receipt(status, receipt) => {
                let polled = reported(chain_id, result, "poll", || poll_status(status, receipt))?;
                machine.handle_receipt(now, polled.and_then(|status| status))
            }
            Read::Record(record_hash) => {
                let record = reported(chain_id, result, "record read", || {
                    record_hash.map(|p| ptr::b256(p, "record_hash")).transpose()
                })?;
                machine.handle_record(now, record)
            }
            Read::Block(block_number, block_hash) => {
                let block = reported(chain_id, result, "block read", || {
                    block_ref(block_number, block_hash)
                })?;
                machine.handle_block(now, block)
            }
            Read::Batch(found, leaf_count, batch_id) => {
                let root = root_of(machine.read_submission());
                let batch = reported(chain_id, result, "batch read", || {
                    anchored_batch(root, found, leaf_count, batch_id)
                })?;
                machine.handle_batch(now, batch)
            }
        };
        taken.map_err(Into::into)
    })
}

/// The poll's `status` (an `ehr_poll_status`) and, for
/// `EHR_POLL_INCLUDED`, its `receipt`.
fn poll_status(
    status: u32,
    receipt: *const ehr_receipt,
) -> Result<std::result::Result<SubmissionStatus, TransportError>> {
    let receipt = if status == ehr_poll_status::EHR_POLL_INCLUDED as u32 {
        Some(ptr::receipt(receipt, "receipt")?)
    } else {
        None
    };
    Ok(submission_status(
        status,
        receipt.as_ref(),
        "the host's poll",
    ))
}

/// The block `block_number` with the hash at `block_hash`, when found.
fn block_ref(block_number: u64, block_hash: Option<*const u8>) -> Result<Option<BlockRef>> {
    block_hash
        .map(|p| {
            ptr::array::<32>(p, "block_hash").map(|hash| BlockRef {
                number: block_number,
                hash: B256::from(hash),
            })
        })
        .transpose()
}

/// The root a batch read of `submission` is about (zero when it anchors no
/// batch).
fn root_of(submission: Option<&Submission>) -> B256 {
    match submission.map(|s| &s.anchoring) {
        Some(Anchoring::Batch { root, .. }) => *root,
        Some(Anchoring::Record { .. }) | None => B256::ZERO,
    }
}

/// The batch under `root`, when `found`, with `leaf_count` leaves and the
/// batch id at `batch_id` when the host read it.
fn anchored_batch(
    root: B256,
    found: bool,
    leaf_count: u32,
    batch_id: Option<*const u8>,
) -> Result<Option<AnchoredBatch>> {
    if !found {
        return Ok(None);
    }
    let batch_id = batch_id.map(|p| ptr::b256(p, "batch_id")).transpose()?;
    Ok(Some(AnchoredBatch {
        root,
        leaf_count,
        batch_id,
    }))
}

/// Hands `v` the result of a submission (see
/// `ehr_validator_handle_submitted`): the transaction hash's pointer.
pub(crate) fn submitted(
    v: impl Target<Machine = TransactionValidator>,
    now_ms: u64,
    result: ehr_result,
    tx_hash: *const u8,
) -> ehr_result {
    v.on(|validator| {
        let result = reported(chain(validator), result, "submission", || {
            Ok(TxHash(ptr::b256(tx_hash, "tx_hash")?))
        })?;
        validator.handle_submitted(UnixMillis(now_ms), result)?;
        Ok(())
    })
}
