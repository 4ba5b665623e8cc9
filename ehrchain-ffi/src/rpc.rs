//! `ehr_rpc_exchange`: the core's JSON-RPC policy for a C host with its own
//! HTTP client. For each action of `ehr_validator_poll_transmit` (or each
//! read of `ehr_watcher_poll_transmit`), the host makes an exchange, POSTs
//! each request body it hands out to the node, hands back the HTTP status
//! and body, and when the exchange is done hands its result to the
//! validator (or the watcher). Requests, the classification of answers
//! (reverts, outages, rate limits, another chain) and their decoding are the
//! core's (`ehrchain_core::rpc`), the same as the Rust `RpcTransport` and
//! the JavaScript EIP-1193 transport use. A pipeline's actions go the same
//! way (`ehr_rpc_exchange_new_pipeline`, `ehr_rpc_exchange_finish_pipeline`).
//!
//! ```c
//! ehr_rpc_exchange *x;
//! ehr_rpc_exchange_new(validator, &transmit, registry, from, false, &x);
//! for (uint64_t id = 1; ehr_rpc_exchange_request(x, id, buf, sizeof buf, &n) == EHR_OK; id++) {
//!     status = http_post(url, buf, n, &body, &body_len);   /* the host's client; 0 when it failed */
//!     ehr_rpc_exchange_handle_answer(x, status, body, body_len);
//! }
//! ehr_rpc_exchange_finish(x, validator, now_ms);
//! ehr_rpc_exchange_free(x);
//! ```

use std::ffi::c_char;

use ehrchain_core::pipeline::FlightId;
use ehrchain_core::rpc::{self, Exchange, ExchangeConfig, Outcome};
use ehrchain_core::{
    Address, B256, ErrorCode, Submission, TakesReads as _, Transmit, TransportError, TxHash,
    UnixMillis,
};

use crate::config::ehr_finality;
use crate::pipeline::ehr_pipeline;
use crate::ptr::{self, Out};
use crate::reads::ReaderHandle;
use crate::result::{Error, Result, ehr_result, guard};
use crate::shapes::{free, guard_on, guard_on_mut};
use crate::validator::{ehr_transmit, ehr_transmit_kind, ehr_validator};
use crate::watcher::ehr_watcher;
use crate::{ehr_pipeline_transmit, ehr_pipeline_transmit_kind};

/// One validator action carried out over JSON-RPC by the host's HTTP client.
///
/// Thread safety: may be moved to another thread, not used from two at once.
pub struct ehr_rpc_exchange {
    exchange: Option<Exchange>,
    /// For a pipeline's action: whose result it is.
    pipeline: Option<PipelineTarget>,
}

/// Who in which pipeline (its handle's address) takes an exchange's result.
#[derive(Clone, Copy, Debug)]
enum PipelineTarget {
    /// The pipeline's own head read.
    Head(usize),
    /// A submission in flight.
    Flight(usize, FlightId),
}

/// The core's action for the C view `transmit` of a state machine's next
/// action, whose transaction (to send or poll) is `submission`.
fn transmit_of(submission: Option<&Submission>, transmit: &ehr_transmit) -> Result<Transmit> {
    let submission = || {
        submission.cloned().ok_or_else(|| {
            Error::new(
                ErrorCode::Validator,
                "there is no transaction to send or poll: this action was not handed out",
            )
        })
    };
    let kind = transmit.kind;
    Ok(match kind {
        k if k == ehr_transmit_kind::EHR_TRANSMIT_SUBMIT as u32 => Transmit::Submit {
            submission: submission()?,
        },
        k if k == ehr_transmit_kind::EHR_TRANSMIT_POLL as u32 => Transmit::Poll {
            tx_hash: TxHash(B256::from(transmit.tx_hash)),
            submission: submission()?,
        },
        k if k == ehr_transmit_kind::EHR_TRANSMIT_READ_HEAD as u32 => Transmit::ReadHead,
        k if k == ehr_transmit_kind::EHR_TRANSMIT_READ_RECORD as u32 => Transmit::ReadRecord {
            ti_id: B256::from(transmit.ti_id),
        },
        k if k == ehr_transmit_kind::EHR_TRANSMIT_READ_BATCH as u32 => Transmit::ReadBatch {
            root: B256::from(transmit.root),
        },
        k if k == ehr_transmit_kind::EHR_TRANSMIT_READ_BLOCK as u32 => {
            match ehr_finality::parse(transmit.tag)?.tag() {
                Some(tag) => Transmit::ReadBlock { tag },
                None => {
                    return Err(Error::new(
                        ErrorCode::InvalidArgument,
                        "transmit->tag of EHR_TRANSMIT_READ_BLOCK is EHR_FINALITY_SAFE or EHR_FINALITY_FINALIZED",
                    ));
                }
            }
        }
        other => {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!(
                    "transmit->kind {other} is not an action to carry out (EHR_TRANSMIT_SUBMIT to EHR_TRANSMIT_READ_BATCH, EHR_TRANSMIT_READ_BLOCK)"
                ),
            ));
        }
    })
}

/// Makes the exchange for `transmit`, the action `validator` handed out
/// (`ehr_validator_poll_transmit`), reading the 20-byte `registry` on the
/// validator's chain. `from` is the 20-byte unlocked account a submission is
/// sent from (`eth_sendTransaction`; NULL: a submission fails with
/// `EHR_TRANSPORT_REJECTED`); `mine_on_head` asks a development node to mine
/// a block before each head read (manufactured confirmations: only for
/// nodes that mine on demand, when the host wants that). A submission whose
/// gas estimate reverts is never sent. Free it with `ehr_rpc_exchange_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_rpc_exchange_new(
    validator: *const ehr_validator,
    transmit: *const ehr_transmit,
    registry: *const u8,
    from: *const u8,
    mine_on_head: bool,
    exchange_out: *mut *mut ehr_rpc_exchange,
) -> ehr_result {
    exchange_new(
        validator,
        transmit,
        registry,
        from,
        mine_on_head,
        exchange_out,
    )
}

/// Makes the exchange for `transmit`, the read `watcher` handed out
/// (`ehr_watcher_poll_transmit`), as `ehr_rpc_exchange_new` does for a
/// validator's (a watcher sends nothing). Hand its result to the watcher
/// with `ehr_rpc_exchange_finish_watcher`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_rpc_exchange_new_watcher(
    watcher: *const ehr_watcher,
    transmit: *const ehr_transmit,
    registry: *const u8,
    mine_on_head: bool,
    exchange_out: *mut *mut ehr_rpc_exchange,
) -> ehr_result {
    exchange_new(
        watcher,
        transmit,
        registry,
        std::ptr::null(),
        mine_on_head,
        exchange_out,
    )
}

/// The exchange for the action `transmit` of the handle `h`'s machine.
fn exchange_new<H: ReaderHandle>(
    h: *const H,
    transmit: *const ehr_transmit,
    registry: *const u8,
    from: *const u8,
    mine_on_head: bool,
    exchange_out: *mut *mut ehr_rpc_exchange,
) -> ehr_result {
    guard_on(h, H::NAME, |h| {
        let transmit = &ptr::extensible(transmit, "transmit")?;
        let submission = h.machine_ref().read_submission();
        let chain_id = submission.map_or(0, |s| s.chain_id);
        let registry = ptr::address(registry, "registry")?;
        let config = exchange_config(chain_id, registry, from, mine_on_head)?;
        let out = Out::new(exchange_out, "exchange_out")?;
        let exchange = Exchange::new(&transmit_of(submission, transmit)?, config);
        out.give(ehr_rpc_exchange {
            exchange: Some(exchange),
            pipeline: None,
        });
        Ok(())
    })
}

/// Makes the exchange for what `ehr_pipeline_poll_transmit` handed out:
/// `transmit`, `EHR_PIPELINE_TRANSMIT_READ_HEAD` or
/// `EHR_PIPELINE_TRANSMIT_FLIGHT` with that flight's `action` (NULL for a
/// head read), as `ehr_rpc_exchange_new` does for a validator's action
/// (`from` and `mine_on_head` the same; the registry is the pipeline's).
/// Hand its result to the same pipeline with
/// `ehr_rpc_exchange_finish_pipeline`. `EHR_INVALID_ARGUMENT`
/// for `EHR_PIPELINE_TRANSMIT_PERSIST` (the host's storage, not JSON-RPC)
/// or `_NONE`, and for a flight the pipeline no longer holds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_rpc_exchange_new_pipeline(
    pipeline: *mut ehr_pipeline,
    transmit: *const ehr_pipeline_transmit,
    action: *const ehr_transmit,
    from: *const u8,
    mine_on_head: bool,
    exchange_out: *mut *mut ehr_rpc_exchange,
) -> ehr_result {
    guard_on_mut(pipeline, "pipeline", |p| {
        let transmit = &ptr::extensible(transmit, "transmit")?;
        let (chain_id, registry) = (p.pipeline.chain_id(), p.pipeline.registry());
        let config = exchange_config(chain_id, registry, from, mine_on_head)?;
        let out = Out::new(exchange_out, "exchange_out")?;
        let (target, action) = match transmit.kind {
            k if k == ehr_pipeline_transmit_kind::EHR_PIPELINE_TRANSMIT_READ_HEAD as u32 => {
                (PipelineTarget::Head(pipeline as usize), Transmit::ReadHead)
            }
            k if k == ehr_pipeline_transmit_kind::EHR_PIPELINE_TRANSMIT_FLIGHT as u32 => {
                let flight = FlightId(transmit.flight);
                let action = &ptr::extensible(action, "action")?;
                let validator = p.pipeline.flight_mut(flight).ok_or_else(|| {
                    Error::new(
                        ErrorCode::InvalidArgument,
                        format!(
                            "the pipeline holds no flight {}: its verdict was taken",
                            flight.0
                        ),
                    )
                })?;
                let submission = validator.read_submission();
                (
                    PipelineTarget::Flight(pipeline as usize, flight),
                    transmit_of(submission, action)?,
                )
            }
            other => {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        "transmit->kind {other} is not a JSON-RPC action (EHR_PIPELINE_TRANSMIT_READ_HEAD or EHR_PIPELINE_TRANSMIT_FLIGHT)"
                    ),
                ));
            }
        };
        out.give(ehr_rpc_exchange {
            exchange: Some(Exchange::new(&action, config)),
            pipeline: Some(target),
        });
        Ok(())
    })
}

/// The exchange settings: `registry` on `chain_id`, the 20-byte sender
/// `from` (NULL for none), `mine_on_head`.
fn exchange_config(
    chain_id: u64,
    registry: Address,
    from: *const u8,
    mine_on_head: bool,
) -> Result<ExchangeConfig> {
    let from = (!from.is_null())
        .then(|| ptr::address(from, "from"))
        .transpose()?;
    Ok(ExchangeConfig {
        from,
        mine_on_head,
        ..ExchangeConfig::new(chain_id, registry)
    })
}

/// The exchange of the handle `exchange`, not finished yet.
fn live<'a>(exchange: *const ehr_rpc_exchange) -> Result<&'a Exchange> {
    let exchange = ptr::handle(exchange, "exchange")?;
    exchange.exchange.as_ref().ok_or_else(finished_already)
}

/// `EHR_VALIDATOR`: the exchange was finished (its result handed on).
fn finished_already() -> Error {
    Error::new(
        ErrorCode::Validator,
        "the exchange was finished already; make a new one",
    )
}

/// Writes the next JSON-RPC request body to POST (with request id `id`) as
/// NUL-terminated text into `buf`, following the text-output rules of
/// `ehr_result_message`. `EHR_NOT_PRESENT` once the exchange is done (then
/// call `ehr_rpc_exchange_finish`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_rpc_exchange_request(
    exchange: *const ehr_rpc_exchange,
    id: u64,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let request = live(exchange)?.request().ok_or_else(|| {
            Error::new(
                ErrorCode::NotPresent,
                "the exchange is done: hand its result to the validator (ehr_rpc_exchange_finish)",
            )
        })?;
        ptr::write_text(buf, len, out_len, &request.body(id))
    })
}

/// Hands in the node's answer to the last request: the HTTP status and the
/// `body_len` bytes of the body (`body` may be NULL when empty). A request
/// that never got an answer (no connection, a timeout) is status 0, with the
/// host's description of what happened as the body: an outage, retried by
/// the validator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_rpc_exchange_handle_answer(
    exchange: *mut ehr_rpc_exchange,
    http_status: u16,
    body: *const u8,
    body_len: usize,
) -> ehr_result {
    guard(|| {
        let body = ptr::bytes_or_empty(body, body_len, "body")?;
        let handle = ptr::handle_mut(exchange, "exchange")?;
        let exchange = handle.exchange.as_mut().ok_or_else(finished_already)?;
        let chain = exchange.config().chain_id;
        let answer = if http_status == 0 {
            Err(TransportError::Unavailable(format!(
                "the host's HTTP client got no answer: {}",
                String::from_utf8_lossy(body)
            )))
        } else {
            rpc::classify_http(http_status, body, chain)
        };
        exchange.handle_answer(answer);
        Ok(())
    })
}

/// Hands the result of a done exchange to `validator` at `now_ms` (the
/// validator that made it), as the matching `ehr_validator_handle_*` would.
/// `EHR_NOT_PRESENT` while requests remain; `EHR_VALIDATOR` when the
/// validator did not ask for this result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_rpc_exchange_finish(
    exchange: *mut ehr_rpc_exchange,
    validator: *mut ehr_validator,
    now_ms: u64,
) -> ehr_result {
    exchange_finish(exchange, validator, now_ms)
}

/// Hands the result of a done exchange to `watcher` at `now_ms` (the
/// watcher that made it), as the matching `ehr_watcher_handle_*` would.
/// `EHR_NOT_PRESENT` while requests remain; `EHR_WATCHER` when the
/// watcher did not ask for this result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_rpc_exchange_finish_watcher(
    exchange: *mut ehr_rpc_exchange,
    watcher: *mut ehr_watcher,
    now_ms: u64,
) -> ehr_result {
    exchange_finish(exchange, watcher, now_ms)
}

/// Hands the result of a done exchange to `pipeline` at `now_ms` (the
/// pipeline whose action it carried out): the head to the pipeline, a
/// flight's result to that flight, as the matching `ehr_pipeline_handle_*`
/// would (a flight whose verdict was taken meanwhile takes nothing).
/// `EHR_NOT_PRESENT` while requests remain; `EHR_INVALID_ARGUMENT` for an
/// exchange made for a validator or a watcher.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_rpc_exchange_finish_pipeline(
    exchange: *mut ehr_rpc_exchange,
    pipeline: *mut ehr_pipeline,
    now_ms: u64,
) -> ehr_result {
    guard_on_mut(exchange, "exchange", |handle| {
        let p = ptr::handle_mut(pipeline, "pipeline")?;
        let Some(target) = handle.pipeline else {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "the exchange is a validator's or a watcher's: finish it with ehr_rpc_exchange_finish or ehr_rpc_exchange_finish_watcher",
            ));
        };
        let (PipelineTarget::Head(made_by) | PipelineTarget::Flight(made_by, _)) = target;
        if made_by != pipeline as usize {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "the exchange is another pipeline's: finish it with the pipeline that made it",
            ));
        }
        let (Some(outcome), now) = (finished(handle)?, UnixMillis(now_ms)) else {
            return Ok(());
        };
        match (target, outcome) {
            (PipelineTarget::Head(_), Outcome::Head(head)) => {
                p.pipeline.handle_head(now, head);
                Ok(())
            }
            (PipelineTarget::Flight(_, flight), outcome) => p
                .pipeline
                .flight_mut(flight)
                .map_or(Ok(()), |v| Ok(outcome.hand_to(v, now)?)),
            // A head read's exchange ends with a head, always.
            (PipelineTarget::Head(_), other) => Err(Error::new(
                ErrorCode::Internal,
                format!("a head read ended with {other:?}"),
            )),
        }
    })
}

/// Hands the result of a done exchange to the machine of the handle `h`.
fn exchange_finish<H: ReaderHandle>(
    exchange: *mut ehr_rpc_exchange,
    h: *mut H,
    now_ms: u64,
) -> ehr_result {
    guard_on_mut(exchange, "exchange", |handle| {
        let h = ptr::handle_mut(h, H::NAME)?;
        if handle.pipeline.is_some() {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "the exchange is a pipeline's: finish it with ehr_rpc_exchange_finish_pipeline",
            ));
        }
        match finished(handle)? {
            Some(outcome) => H::take(h.machine(), outcome, UnixMillis(now_ms)),
            None => Ok(()),
        }
    })
}

/// The outcome of a done exchange (taken out: it finishes once).
fn finished(handle: &mut ehr_rpc_exchange) -> Result<Option<Outcome>> {
    let done = handle.exchange.as_ref().is_some_and(Exchange::is_done);
    if !done {
        return Err(Error::new(
            ErrorCode::NotPresent,
            "the exchange is not done: post its next request first (ehr_rpc_exchange_request)",
        ));
    }
    Ok(handle.exchange.take().and_then(Exchange::finish))
}

/// Frees an exchange (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_rpc_exchange_free(exchange: *mut ehr_rpc_exchange) {
    free(exchange);
}
