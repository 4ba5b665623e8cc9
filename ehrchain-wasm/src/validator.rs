//! The Transaction Validator for JavaScript: the core's sans-I/O state
//! machine, with JSON in and out. The package's `runValidator` drives it over
//! an EIP-1193 provider; hosts with another transport drive it themselves.

use ehrchain_core::outbox::OutboxError;
use ehrchain_core::{Ack, InvalidReason};
use ehrchain_core::{ErrorCode, TransactionValidator, UnixMillis, ValidatorConfig};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::error::Failure;
use crate::reads::{hand_in, reader_methods, submitted_result};

/// The validator settings: the defaults with `overrides` (snake_case keys of
/// `ValidatorConfig`, the core's JSON form) applied; unknown keys are refused.
pub(crate) fn validator_config(
    overrides: Option<&serde_json::Value>,
) -> Result<ValidatorConfig, Failure> {
    overrides.map_or(Ok(ValidatorConfig::default()), |o| {
        ValidatorConfig::deserialize(o)
            .map_err(|e| Failure::new(ErrorCode::InvalidJson, format!("validator settings: {e}")))
    })
}

/// The Transaction Validator for one submission (a TC, or a batch): hands out
/// actions (`pollTransmit`), takes their results (`handle*`), and ends with
/// exactly one ACK per TI (`pollAck`). Times are Unix milliseconds.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Validator {
    pub(crate) inner: TransactionValidator,
}

impl From<TransactionValidator> for Validator {
    fn from(inner: TransactionValidator) -> Self {
        Self { inner }
    }
}

/// A required `nowMs` argument: Unix milliseconds.
pub(crate) fn now(value: &JsValue) -> Result<UnixMillis, Failure> {
    convert::uint(value, "nowMs").map(UnixMillis)
}

/// Hands a store's outcome at `nowMs` (see `stored`) to one of the core's
/// handlers; its refusal is the `Failure` it converts to.
pub(crate) fn hand_stored<E>(
    now_ms: &JsValue,
    error: Option<JsValue>,
    hand: impl FnOnce(UnixMillis, Result<(), OutboxError>) -> Result<(), E>,
) -> Result<(), JsValue>
where
    Failure: From<E>,
{
    let now = now(now_ms)?;
    Ok(hand(now, stored(error)).map_err(Failure::from)?)
}

/// The result of a `persist` action as a host passes it to
/// `handlePersisted`: stored (`undefined` or `null`), or the storage's
/// error.
pub(crate) fn stored(error: Option<JsValue>) -> Result<(), OutboxError> {
    match error.filter(|e| !e.is_undefined() && !e.is_null()) {
        None => Ok(()),
        Some(e) => Err(OutboxError(
            convert::get(&e, "message")
                .as_string()
                .or_else(|| e.as_string())
                .unwrap_or_else(|| "the outbox failed".to_owned()),
        )),
    }
}

impl Validator {
    /// Hands an exchange's result in (`RpcExchange.finish`).
    pub(crate) fn hand(
        &mut self,
        outcome: ehrchain_core::rpc::Outcome,
        now: UnixMillis,
    ) -> Result<(), Failure> {
        outcome.hand_to(&mut self.inner, now).map_err(Failure::from)
    }
}

reader_methods!(Validator, TransactionValidator);

#[wasm_bindgen]
impl Validator {
    /// Advances the timers to `now`.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a bad `now`.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<(), JsValue> {
        self.inner.handle_timeout(now(&now_ms)?);
        Ok(())
    }

    /// The result of a `submit` action: the transaction hash, or a
    /// `TransportError`.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for malformed results; `EHR_VALIDATOR`
    /// when no submission was asked for.
    #[wasm_bindgen(js_name = handleSubmitted)]
    pub fn handle_submitted(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | TransportError")] result: JsValue,
    ) -> Result<(), JsValue> {
        let result = submitted_result(&result);
        hand_in(
            &mut self.inner,
            &now_ms,
            result,
            TransactionValidator::handle_submitted,
        )
    }

    /// Asks again for an action `pollTransmit` handed out whose result will
    /// never be handed in (the host lost it): a submission that may have
    /// gone out is settled first, so nothing is anchored twice and no TI
    /// ends without its ACK. Nothing happens when no action awaits its
    /// result. Only for an answer that can no longer arrive (run one
    /// `runValidator` at a time on a validator). `runValidator` calls it
    /// first.
    #[wasm_bindgen(js_name = askAgain)]
    pub fn ask_again(&mut self) {
        self.inner.ask_again();
    }

    /// The ACKs `pollAck` has not handed out yet, left in place:
    /// `runValidator` stores them (`outbox.finish`) before it takes them
    /// out, so an outbox that fails loses none.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(getter, js_name = pendingAcks, unchecked_return_type = "Ack[]")]
    pub fn pending_acks(&self) -> Result<JsValue, JsValue> {
        let acks: Vec<_> = self.inner.pending_acks().collect();
        Ok(convert::to_js(&acks)?)
    }

    /// The next ACK, or `undefined`.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(js_name = pollAck, unchecked_return_type = "Ack | undefined")]
    pub fn poll_ack(&mut self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js_or_undefined(self.inner.poll_ack())?)
    }

    /// Whether the verdict is reached.
    #[wasm_bindgen(getter, js_name = isFinished)]
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// Where the validator stands (`{state: "submitted", tx_hash}`, …).
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(getter, unchecked_return_type = "ValidatorState")]
    pub fn state(&self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js(&self.inner.state())?)
    }

    /// What happened so far, for the host's audit log.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(getter, unchecked_return_type = "AuditEntry[]")]
    pub fn history(&self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js(self.inner.history())?)
    }

    /// The key of this validator's outbox entry (the TI id of a single
    /// record, the Merkle root of a batch), or `undefined` for a refused TI,
    /// which sends nothing and needs no entry.
    #[wasm_bindgen(getter, js_name = outboxKey, unchecked_return_type = "Hex | undefined")]
    #[must_use]
    pub fn outbox_key(&self) -> JsValue {
        self.inner
            .outbox_key()
            .map_or(JsValue::UNDEFINED, |k| JsValue::from_str(&k.to_string()))
    }

    /// The validator's outbox entry (format `ehrchain.validator/2`: its whole
    /// state, with the sealed records) as plain JSON data, for the host's
    /// storage (IndexedDB, a database row). Store it when a `persist` action
    /// asks, under `outboxKey`.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "ValidatorEntry")]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        let entry: serde_json::Value = serde_json::from_str(&self.inner.to_json())
            .map_err(|e| Failure::new(ErrorCode::Internal, e.to_string()))?;
        Ok(convert::to_js(&entry)?)
    }

    /// A validator resumed from its outbox entry (`toJSON`, as data or as
    /// JSON text) after a restart: an action handed out but not answered is
    /// asked again, and a submission that may have been sent is settled (the
    /// registry read) before anything is sent again.
    ///
    /// # Errors
    /// `EHR_OUTBOX_ENTRY_INVALID` for an entry that is malformed or whose
    /// records, envelopes and submission disagree.
    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(
        #[wasm_bindgen(unchecked_param_type = "ValidatorEntry | string")] entry: JsValue,
    ) -> Result<Validator, JsValue> {
        let text = convert::json_text(&entry, "outbox entry")?;
        Ok(TransactionValidator::from_json(&text)
            .map_err(Failure::from)?
            .into())
    }

    /// Whether `ack` is invalid for a reason that running the same TC again
    /// may settle (the core's `InvalidReason::may_rerun`: not anchored, or
    /// inconclusive); `false` for a valid ACK or a final refusal.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for something that is not an ACK.
    #[wasm_bindgen(js_name = mayRerun)]
    pub fn may_rerun(
        #[wasm_bindgen(unchecked_param_type = "Ack")] ack: JsValue,
    ) -> Result<bool, JsValue> {
        let ack: Ack = convert::value(&ack, "ACK")?;
        Ok(ack.reason().is_some_and(InvalidReason::may_rerun))
    }

    /// The result of a `persist` action: `undefined` once the entry is
    /// stored durably (the submission follows), or the storage's error
    /// (nothing is sent; the write is asked for again after the backoff).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a bad `now`; `EHR_VALIDATOR` when no write
    /// was asked for.
    #[wasm_bindgen(js_name = handlePersisted)]
    pub fn handle_persisted(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "unknown")] error: Option<JsValue>,
    ) -> Result<(), JsValue> {
        hand_stored(&now_ms, error, |now, stored| {
            self.inner.handle_persisted(now, stored)
        })
    }

    /// The submission this validator anchors (`undefined` for a refused TI).
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(getter, unchecked_return_type = "Submission | undefined")]
    pub fn submission(&self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js_or_undefined(self.inner.submission())?)
    }
}
