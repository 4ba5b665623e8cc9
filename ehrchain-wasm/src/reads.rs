//! The results of the actions the validator and the watcher hand out, as
//! JavaScript hands them in: one reader per action, one `hand_in` that
//! gives a result to its state machine, and the methods the validator and
//! the watcher share, written once for both classes (`reader_methods!`).

use ehrchain_core::{
    AnchoredBatch, B256, BlockRef, ErrorCode, SubmissionStatus, TransactionValidator,
    TransportError, TxHash, UnixMillis,
};
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::error::Failure;
use crate::validator::now;

/// A result as JavaScript hands it in: a `TransportError` (an object with
/// an `error` key, its JSON form), or what `ok` reads from the value.
fn read_result<T>(
    result: &JsValue,
    ok: impl FnOnce(&JsValue) -> Result<T, Failure>,
) -> Result<Result<T, TransportError>, Failure> {
    if result.is_object() && !convert::get(result, "error").is_undefined() {
        return Ok(Err(convert::value(result, "transport error")?));
    }
    ok(result).map(Ok)
}

/// A read's result that may be `null` (nothing there): `None`, or what `ok`
/// reads from the value.
fn nullable_result<T>(
    result: &JsValue,
    ok: impl FnOnce(&JsValue) -> Result<T, Failure>,
) -> Result<Result<Option<T>, TransportError>, Failure> {
    read_result(result, |r| {
        if r.is_null() {
            Ok(None)
        } else {
            ok(r).map(Some)
        }
    })
}

/// The result of a `submit` action (see `handleSubmitted`).
pub(crate) fn submitted_result(
    result: &JsValue,
) -> Result<Result<TxHash, TransportError>, Failure> {
    read_result(result, |r| convert::b256(r, "transaction hash").map(TxHash))
}

/// The result of a `poll` action (see `handleReceipt`).
pub(crate) fn receipt_result(
    result: &JsValue,
) -> Result<Result<SubmissionStatus, TransportError>, Failure> {
    read_result(result, |r| convert::value(r, "submission status"))
}

/// The result of a `read_head` action (see `handleHead`).
pub(crate) fn head_result(result: &JsValue) -> Result<Result<u64, TransportError>, Failure> {
    read_result(result, |r| convert::uint(r, "head"))
}

/// The result of a `read_record` action (see `handleRecord`).
pub(crate) fn record_result(
    result: &JsValue,
) -> Result<Result<Option<B256>, TransportError>, Failure> {
    nullable_result(result, |r| convert::b256(r, "record hash"))
}

/// The result of a `read_batch` action (see `handleBatch`).
pub(crate) fn batch_result(
    result: &JsValue,
) -> Result<Result<Option<AnchoredBatch>, TransportError>, Failure> {
    nullable_result(result, |r| convert::document(r, "anchored batch"))
}

/// The result of a `read_block` action (see `handleBlock`): the block
/// `{number, hash}`, or `null` when the node names none yet.
pub(crate) fn block_result(
    result: &JsValue,
) -> Result<Result<Option<BlockRef>, TransportError>, Failure> {
    nullable_result(result, |r| convert::value(r, "block"))
}

/// Hands the result of a validator's chain action to it, by the action's
/// `kind` (`Transmit["kind"]`, but `persist`, the host's outbox write).
pub(crate) fn hand_result(
    validator: &mut TransactionValidator,
    kind: &str,
    now: UnixMillis,
    result: &JsValue,
) -> Result<(), Failure> {
    let handled = match kind {
        "submit" => validator.handle_submitted(now, submitted_result(result)?),
        "poll" => validator.handle_receipt(now, receipt_result(result)?),
        "read_head" => validator.handle_head(now, head_result(result)?),
        "read_record" => validator.handle_record(now, record_result(result)?),
        "read_batch" => validator.handle_batch(now, batch_result(result)?),
        "read_block" => validator.handle_block(now, block_result(result)?),
        other => {
            return Err(Failure::new(
                ErrorCode::InvalidArgument,
                format!(
                    "the argument `kind` is {other:?}; a validator's chain actions are submit, poll, read_head, read_record, read_batch and read_block"
                ),
            ));
        }
    };
    handled.map_err(Failure::from)
}

/// One of the core's `handle_*` methods of a state machine `M`, taking a
/// `T` and refusing with an `E`.
type Hand<M, T, E> = fn(&mut M, UnixMillis, Result<T, TransportError>) -> Result<(), E>;

/// The body of every `handle*` method: hands `result`, as one of the
/// readers above converted it, to `machine` at `now_ms` through `hand` (one
/// of the core's `handle_*` methods).
pub(crate) fn hand_in<M, T, E>(
    machine: &mut M,
    now_ms: &JsValue,
    result: Result<Result<T, TransportError>, Failure>,
    hand: Hand<M, T, E>,
) -> Result<(), JsValue>
where
    Failure: From<E>,
{
    let now = now(now_ms)?;
    Ok(hand(machine, now, result?).map_err(Failure::from)?)
}

/// The methods `$class` (`Validator`, `Watcher`) shares with the other
/// state machine that reads the chain: the next action (`pollTransmit`),
/// when to ask for it (`pollTimeout`), and the `handle*` methods of the
/// chain reads, each handing its result to the `inner` `$machine`
/// (`TransactionValidator`, `AnchorWatcher`: the core's `TakesReads`). A
/// `TransportError` in place of a read's result is no verdict for the
/// watcher: it asks again after a backoff.
#[rustfmt::skip] // rustfmt re-indents the long parameter attributes on every run
macro_rules! reader_methods {
    ($class:ident, $machine:ty) => {
        #[wasm_bindgen]
        impl $class {
            /// The next action at `nowMs` (`Transmit`: the watcher's are
            /// reads), or `undefined` when there is nothing to do yet (see
            /// `pollTimeout`), an action awaits its result, or nothing is
            /// left to do (the verdict is reached; nothing is watched).
            ///
            /// # Errors
            /// `EHR_INVALID_ARGUMENT` for a bad `nowMs`.
            #[wasm_bindgen(js_name = pollTransmit, unchecked_return_type = "Transmit | undefined")]
            pub fn poll_transmit(
                &mut self,
                #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
            ) -> Result<JsValue, JsValue> {
                let now = $crate::validator::now(&now_ms)?;
                Ok($crate::convert::to_js_or_undefined(self.inner.poll_transmit(now))?)
            }

            /// When to call `pollTransmit` next (Unix milliseconds; the
            /// validator's `handleTimeout` first), or `undefined` while an
            /// action awaits its result or nothing is left to do.
            #[wasm_bindgen(js_name = pollTimeout, unchecked_return_type = "number | undefined")]
            #[must_use]
            pub fn poll_timeout(&self) -> JsValue {
                $crate::convert::millis_or_undefined(self.inner.poll_timeout())
            }

            /// The result of a `read_head` action: the head's block number,
            /// or a `TransportError`.
            ///
            /// # Errors
            /// `EHR_INVALID_ARGUMENT` for a malformed result or time;
            /// `EHR_VALIDATOR` (the watcher: `EHR_WATCHER`) when no head was
            /// asked for.
            #[wasm_bindgen(js_name = handleHead)]
            pub fn handle_head(
                &mut self,
                #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
                #[wasm_bindgen(unchecked_param_type = "number | TransportError")] result: JsValue,
            ) -> Result<(), JsValue> {
                let result = $crate::reads::head_result(&result);
                let hand = <$machine>::handle_head;
                $crate::reads::hand_in(&mut self.inner, &now_ms, result, hand)
            }

            /// The result of a `read_block` action (finality by tag): the
            /// node's block under the tag (`{number, hash}`; `null` when it
            /// names none yet), or a `TransportError`.
            ///
            /// # Errors
            /// `EHR_INVALID_ARGUMENT` for a malformed result or time;
            /// `EHR_VALIDATOR` (the watcher: `EHR_WATCHER`) when no block
            /// was asked for.
            #[wasm_bindgen(js_name = handleBlock)]
            pub fn handle_block(
                &mut self,
                #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
                #[wasm_bindgen(unchecked_param_type = "BlockRef | null | TransportError")]
                result: JsValue,
            ) -> Result<(), JsValue> {
                let result = $crate::reads::block_result(&result);
                let hand = <$machine>::handle_block;
                $crate::reads::hand_in(&mut self.inner, &now_ms, result, hand)
            }

            /// The result of a `poll` action: a `SubmissionStatus`
            /// (`{status: "pending"}`, `{status: "dropped"}`,
            /// `{status: "included", receipt}`), or a `TransportError`.
            ///
            /// # Errors
            /// `EHR_INVALID_ARGUMENT` for a malformed result or time;
            /// `EHR_VALIDATOR` (the watcher: `EHR_WATCHER`) when no poll was
            /// asked for or the receipt is another transaction's.
            #[wasm_bindgen(js_name = handleReceipt)]
            pub fn handle_receipt(
                &mut self,
                #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
                #[wasm_bindgen(unchecked_param_type = "SubmissionStatus | TransportError")]
                result: JsValue,
            ) -> Result<(), JsValue> {
                let result = $crate::reads::receipt_result(&result);
                let hand = <$machine>::handle_receipt;
                $crate::reads::hand_in(&mut self.inner, &now_ms, result, hand)
            }

            /// The result of a `read_record` action: the record hash the
            /// registry holds under the TI id (`null` for none), or a
            /// `TransportError`.
            ///
            /// # Errors
            /// `EHR_INVALID_ARGUMENT` for a malformed result or time;
            /// `EHR_VALIDATOR` (the watcher: `EHR_WATCHER`) when no read was
            /// asked for.
            #[wasm_bindgen(js_name = handleRecord)]
            pub fn handle_record(
                &mut self,
                #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
                #[wasm_bindgen(unchecked_param_type = "string | null | TransportError")]
                result: JsValue,
            ) -> Result<(), JsValue> {
                let result = $crate::reads::record_result(&result);
                let hand = <$machine>::handle_record;
                $crate::reads::hand_in(&mut self.inner, &now_ms, result, hand)
            }

            /// The result of a `read_batch` action: the batch the registry
            /// holds under the root (`null` for none), or a `TransportError`.
            ///
            /// # Errors
            /// `EHR_INVALID_ARGUMENT` for a malformed result or time;
            /// `EHR_VALIDATOR` (the watcher: `EHR_WATCHER`) when no read was
            /// asked for.
            #[wasm_bindgen(js_name = handleBatch)]
            pub fn handle_batch(
                &mut self,
                #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
                #[wasm_bindgen(unchecked_param_type = "AnchoredBatch | null | TransportError")]
                result: JsValue,
            ) -> Result<(), JsValue> {
                let result = $crate::reads::batch_result(&result);
                let hand = <$machine>::handle_batch;
                $crate::reads::hand_in(&mut self.inner, &now_ms, result, hand)
            }
        }
    };
}

pub(crate) use reader_methods;
