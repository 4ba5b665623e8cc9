//! The anchor watcher for JavaScript: after the ACK, the core's sans-I/O
//! `AnchorWatcher` over valid ACKs until their anchors are final, with JSON
//! in and out. The package's `runWatcher` drives it over an EIP-1193
//! provider (and resends what vanished); hosts with another transport drive
//! it themselves.

use ehrchain_core::watcher::{AnchorWatcher, WatcherConfig};
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::error::Failure;
use crate::reads::reader_methods;
use crate::validator::Validator;

/// The anchor watcher: hands out reads (`pollTransmit`: the validator's
/// `read_head`, `poll`, `read_record`, `read_batch` actions), takes their
/// results (`handle*`), and reports each watched anchor once: `final` (deep
/// enough) or `vanished` (a reorg took it away; `entry` resends the same
/// TC: `Validator.fromJSON(event.entry)`). Times are Unix milliseconds.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Watcher {
    pub(crate) inner: AnchorWatcher,
}

reader_methods!(Watcher, AnchorWatcher);

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
        Ok(convert::to_js_or_undefined(self.inner.last_error())?)
    }

    /// The next event (`WatchEvent`: `final` or `vanished`), or `undefined`.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(js_name = pollEvent, unchecked_return_type = "WatchEvent | undefined")]
    pub fn poll_event(&mut self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js_or_undefined(self.inner.poll_event())?)
    }

    /// The event `pollEvent` hands out next, left in place (`runWatcher`
    /// takes a vanished one only once its resend is stored).
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(js_name = peekEvent, unchecked_return_type = "WatchEvent | undefined")]
    pub fn peek_event(&self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js_or_undefined(self.inner.peek_event())?)
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
