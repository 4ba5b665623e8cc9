//! The anchor watcher for JavaScript: after the ACK, the core's sans-I/O
//! `AnchorWatcher` over valid ACKs until their anchors are final, with JSON
//! in and out. The package's `runWatcher` drives it over an EIP-1193
//! provider (and resends what vanished); hosts with another transport drive
//! it themselves.

use ehrchain_core::watcher::{AnchorWatcher, WatcherConfig};
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::error::Failure;
use crate::validator::{
    Validator, batch_result, block_result, head_result, now, receipt_result, record_result,
};

/// The anchor watcher: hands out reads (`pollTransmit`: the validator's
/// `read_head`, `poll`, `read_record`, `read_batch` actions), takes their
/// results (`handle*`), and reports each watched anchor once: `final` (deep
/// enough) or `vanished` (a reorg took it away; `entry` resends the same
/// TC: `Validator.fromJSON(event.entry)`). Times are Unix milliseconds.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Watcher {
    inner: AnchorWatcher,
}

#[wasm_bindgen]
impl Watcher {
    /// A watcher with `config` (`WatcherConfig`, missing keys take the
    /// defaults: 12 blocks deep, a round every second).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for unknown or malformed settings.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "Partial<WatcherConfig>")] config: Option<JsValue>,
    ) -> Result<Watcher, JsValue> {
        let config = match config.filter(|c| !c.is_undefined() && !c.is_null()) {
            None => WatcherConfig::default(),
            Some(c) => convert::value(&c, "watcher settings")?,
        };
        Ok(Self {
            inner: AnchorWatcher::new(config),
        })
    }

    /// Watches the anchor of `ack`, a valid ACK that `validator` gave (for
    /// a batch, any of its ACKs); an anchor watched under the same key is
    /// replaced.
    ///
    /// # Errors
    /// `EHR_WATCHER` for an invalid ACK or another validator's;
    /// `EHR_INVALID_ARGUMENT` for a malformed ACK.
    pub fn watch(
        &mut self,
        validator: &Validator,
        #[wasm_bindgen(unchecked_param_type = "Ack")] ack: JsValue,
    ) -> Result<(), JsValue> {
        let ack = convert::value(&ack, "ack")?;
        Ok(self
            .inner
            .watch(&validator.inner, &ack)
            .map_err(Failure::from)?)
    }

    /// How many anchors are watched (not final, not vanished yet).
    #[wasm_bindgen(getter)]
    #[must_use]
    pub fn size(&self) -> usize {
        self.inner.len()
    }

    /// The last failed read while the watcher retries it, or `undefined`.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(getter, js_name = lastError, unchecked_return_type = "TransportError | undefined")]
    pub fn last_error(&self) -> Result<JsValue, JsValue> {
        match self.inner.last_error() {
            Some(e) => Ok(convert::to_js(e)?),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// The next read at `nowMs`, or `undefined` (see `pollTimeout`).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a bad `nowMs`.
    #[wasm_bindgen(js_name = pollTransmit, unchecked_return_type = "Transmit | undefined")]
    pub fn poll_transmit(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<JsValue, JsValue> {
        match self.inner.poll_transmit(now(&now_ms)?) {
            Some(t) => Ok(convert::to_js(&t)?),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// When to call `pollTransmit` next (Unix milliseconds), or `undefined`
    /// while a read awaits its result or nothing is watched.
    #[wasm_bindgen(js_name = pollTimeout, unchecked_return_type = "number | undefined")]
    #[must_use]
    pub fn poll_timeout(&self) -> JsValue {
        self.inner
            .poll_timeout()
            .map_or(JsValue::UNDEFINED, |at| convert::number(at.as_millis()))
    }

    /// The result of a `read_head` read: a block number or a `TransportError`
    /// (retried, never a verdict).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT`; `EHR_WATCHER` when no head was asked for.
    #[wasm_bindgen(js_name = handleHead)]
    pub fn handle_head(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number | TransportError")] result: JsValue,
    ) -> Result<(), JsValue> {
        let now = now(&now_ms)?;
        let result = head_result(&result)?;
        Ok(self.inner.handle_head(now, result).map_err(Failure::from)?)
    }

    /// The result of a `read_block` read (finality by tag): the node's block
    /// under the tag (`{number, hash}`; `null` when it names none yet), or a
    /// `TransportError` (retried, never a verdict).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT`; `EHR_WATCHER` when no block was asked for.
    #[wasm_bindgen(js_name = handleBlock)]
    pub fn handle_block(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_param_type = "BlockRef | null | TransportError")] result: JsValue,
    ) -> Result<(), JsValue> {
        let now = now(&now_ms)?;
        let result = block_result(&result)?;
        Ok(self
            .inner
            .handle_block(now, result)
            .map_err(Failure::from)?)
    }

    /// The result of a `poll` read: a `SubmissionStatus` or a `TransportError`.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT`; `EHR_WATCHER` when no poll was asked for or
    /// the receipt is another transaction's.
    #[wasm_bindgen(js_name = handleReceipt)]
    pub fn handle_receipt(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_param_type = "SubmissionStatus | TransportError")] result: JsValue,
    ) -> Result<(), JsValue> {
        let now = now(&now_ms)?;
        let result = receipt_result(&result)?;
        Ok(self
            .inner
            .handle_receipt(now, result)
            .map_err(Failure::from)?)
    }

    /// The result of a `read_record` read: the record hash (`null` for
    /// none) or a `TransportError`.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT`; `EHR_WATCHER` when no read was asked for.
    #[wasm_bindgen(js_name = handleRecord)]
    pub fn handle_record(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | null | TransportError")] result: JsValue,
    ) -> Result<(), JsValue> {
        let now = now(&now_ms)?;
        let result = record_result(&result)?;
        Ok(self
            .inner
            .handle_record(now, result)
            .map_err(Failure::from)?)
    }

    /// The result of a `read_batch` read: the anchored batch (`null` for
    /// none) or a `TransportError`.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT`; `EHR_WATCHER` when no read was asked for.
    #[wasm_bindgen(js_name = handleBatch)]
    pub fn handle_batch(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_param_type = "AnchoredBatch | null | TransportError")]
        result: JsValue,
    ) -> Result<(), JsValue> {
        let now = now(&now_ms)?;
        let result = batch_result(&result)?;
        Ok(self
            .inner
            .handle_batch(now, result)
            .map_err(Failure::from)?)
    }

    /// The next event (`WatchEvent`: `final` or `vanished`), or `undefined`.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(js_name = pollEvent, unchecked_return_type = "WatchEvent | undefined")]
    pub fn poll_event(&mut self) -> Result<JsValue, JsValue> {
        match self.inner.poll_event() {
            Some(event) => Ok(convert::to_js(&event)?),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// The watcher's whole state (format `ehrchain.watcher/1`, with the
    /// outbox entries of what it watches and the events not handed out
    /// yet) as plain JSON data, for the host's storage.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "WatcherState")]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        Ok(convert::parse(&self.inner.to_json())?)
    }

    /// A watcher resumed from its state (`toJSON`, as data or JSON text): a
    /// read handed out but not answered is asked again.
    ///
    /// # Errors
    /// `EHR_OUTBOX_ENTRY_INVALID` for a malformed state.
    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(
        #[wasm_bindgen(unchecked_param_type = "WatcherState | string")] state: JsValue,
    ) -> Result<Watcher, JsValue> {
        let text = convert::json_text(&state, "watcher state")?;
        Ok(Self {
            inner: AnchorWatcher::from_json(&text).map_err(Failure::from)?,
        })
    }
}
