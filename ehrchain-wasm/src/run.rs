//! The core's runs for JavaScript: `ValidatorRun` (run_durably's rules as
//! steps), which the package's `runValidator` awaits, and `WatchRun`
//! (watch_durably's), which `runWatcher` awaits. This module only converts.

use ehrchain_core::{
    Ack, B256, RunStep, ValidatorRun as CoreRun, WatchRun as CoreWatchRun, WatchStep,
};
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::error::Failure;
use crate::reads::hand_result;
use crate::validator::{Validator, hand_stored, now, stored};
use crate::watcher::Watcher;

/// One run of a `Validator` to its verdict, step by step, with the core's
/// rules: an action never answered is asked again first, the entry is
/// stored before anything is sent, a deadline or cancel stops the run only
/// once the entry is stored, and the ACKs leave the validator only once
/// stored. `poll` the next step, do it, hand its outcome in, poll again.
/// Internal to the package's `runValidator`.
#[doc(hidden)]
#[wasm_bindgen]
#[derive(Debug)]
pub struct ValidatorRun {
    inner: CoreRun,
}

#[wasm_bindgen]
impl ValidatorRun {
    /// A run that stops at `deadlineMs` (Unix milliseconds; `undefined`:
    /// only the verdict or a cancel end it), asked to store entries only
    /// when the host has an outbox (`keepsEntries`).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a bad deadline.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = deadlineMs, unchecked_param_type = "number | undefined")]
        deadline_ms: JsValue,
        #[wasm_bindgen(js_name = keepsEntries)] keeps_entries: bool,
    ) -> Result<ValidatorRun, JsValue> {
        let deadline = convert::deadline(&deadline_ms)?;
        Ok(Self {
            inner: CoreRun::new(deadline, keeps_entries),
        })
    }

    /// The next step at `nowMs` for `validator` (the same one every call):
    /// `{kind: "perform", transmit}`, `{kind: "save", key, entry}`,
    /// `{kind: "finish", key?, acks}`, `{kind: "wait", until}`, `{kind:
    /// "acked", acks}`, or `{kind: "pending", error}` (the run stopped before
    /// the verdict: `error` is the `EHR_STILL_PENDING` error, its `state`
    /// where the validator stood). `cancelled`: the host's signal aborted.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a bad time.
    #[wasm_bindgen(
        unchecked_return_type = "{ kind: \"perform\"; transmit: Transmit } | { kind: \"save\"; key: Hex; entry: ValidatorEntry } | { kind: \"finish\"; key?: Hex; acks: Ack[] } | { kind: \"wait\"; until: number } | { kind: \"awaiting\" } | { kind: \"acked\"; acks: Ack[] } | { kind: \"pending\"; error: EhrchainError }"
    )]
    pub fn poll(
        &mut self,
        validator: &mut Validator,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        cancelled: bool,
    ) -> Result<JsValue, JsValue> {
        let step = self
            .inner
            .poll(&mut validator.inner, now(&now_ms)?, cancelled);
        Ok(step_js(step)?.into())
    }

    /// The result of a `perform` step's action (`transmit.kind`, then what
    /// the transport gave: its value, or a `TransportError`).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a malformed result, kind or time;
    /// `EHR_VALIDATOR` when the validator did not ask for it.
    #[wasm_bindgen(js_name = handlePerformed)]
    pub fn handle_performed(
        &mut self,
        validator: &mut Validator,
        #[wasm_bindgen(unchecked_param_type = "Exclude<Transmit[\"kind\"], \"persist\">")]
        kind: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_param_type = "unknown")] result: JsValue,
    ) -> Result<(), JsValue> {
        let kind = convert::string(&kind, "kind")?;
        Ok(hand_result(
            &mut validator.inner,
            &kind,
            now(&now_ms)?,
            &result,
        )?)
    }

    /// The outcome of a `save` or `finish` step: `undefined` once stored
    /// durably, or the storage's error.
    ///
    /// # Errors
    /// `EHR_OUTBOX_UNAVAILABLE` when the storage failed: the run ends there
    /// (nothing more is sent) and the validator keeps what was not stored;
    /// `EHR_INVALID_ARGUMENT` for a bad time.
    #[wasm_bindgen(js_name = handleStored)]
    pub fn handle_stored(
        &mut self,
        validator: &mut Validator,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "unknown")] error: Option<JsValue>,
    ) -> Result<(), JsValue> {
        hand_stored(&now_ms, error, |now, stored| {
            self.inner.handle_stored(&mut validator.inner, now, stored)
        })
    }
}

/// One run of a `Watcher`, step by step, with the core's rules: its reads
/// performed until nothing is watched or the host's limits; with `resend`,
/// a vanished anchor's entry stored, then its TC run again (again while it
/// may be rerun), and its event handed out only once acted on. Internal to
/// the package's `runWatcher`.
#[doc(hidden)]
#[wasm_bindgen]
#[derive(Debug)]
pub struct WatchRun {
    inner: CoreWatchRun,
}

#[wasm_bindgen]
impl WatchRun {
    /// A run that stops at `deadlineMs` (`undefined`: only an empty watcher
    /// or a cancel end it), acting on vanished anchors when `resend`.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a bad deadline.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = deadlineMs, unchecked_param_type = "number | undefined")]
        deadline_ms: JsValue,
        resend: bool,
    ) -> Result<WatchRun, JsValue> {
        let deadline = convert::deadline(&deadline_ms)?;
        Ok(Self {
            inner: CoreWatchRun::new(deadline, resend),
        })
    }

    /// The next step at `nowMs` for `watcher` (the same one every call).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a bad time.
    #[wasm_bindgen(
        unchecked_return_type = "{ kind: \"perform\"; transmit: Transmit } | { kind: \"save\"; key: Hex; entry: ValidatorEntry } | { kind: \"resend\"; entry: string } | { kind: \"event\"; event: WatchEvent; resent: Ack[] } | { kind: \"wait\"; until: number } | { kind: \"awaiting\" } | { kind: \"done\" }"
    )]
    pub fn poll(
        &mut self,
        watcher: &mut Watcher,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        cancelled: bool,
    ) -> Result<JsValue, JsValue> {
        let step = self
            .inner
            .poll(&mut watcher.inner, now(&now_ms)?, cancelled);
        let object = js_sys::Object::new();
        let set = |key: &str, value: &JsValue| {
            // Setting a property on a fresh object cannot fail.
            let _ = js_sys::Reflect::set(&object, &key.into(), value);
        };
        let kind = match step {
            WatchStep::Perform { transmit } => {
                set("transmit", &convert::to_js(&transmit)?);
                "perform"
            }
            WatchStep::Save { key, entry } => {
                set("key", &hex(key));
                set("entry", &convert::parse(&entry)?);
                "save"
            }
            WatchStep::Resend { entry } => {
                set("entry", &entry.into());
                "resend"
            }
            WatchStep::Event { event, resent } => {
                set("event", &convert::to_js(&event)?);
                set("resent", &convert::to_js(&resent)?);
                "event"
            }
            WatchStep::Wait { until } => {
                set("until", &convert::number(until.as_millis()));
                "wait"
            }
            WatchStep::Awaiting => "awaiting",
            WatchStep::Done => "done",
        };
        set("kind", &kind.into());
        Ok(object.into())
    }

    /// The outcome of a `save` step: `undefined` once stored durably, or
    /// the storage's error.
    ///
    /// # Errors
    /// `EHR_OUTBOX_UNAVAILABLE` when the storage failed: the run ends there,
    /// and the event stays in the watcher for the next run.
    #[wasm_bindgen(js_name = handleStored)]
    pub fn handle_stored(
        &mut self,
        #[wasm_bindgen(unchecked_optional_param_type = "unknown")] error: Option<JsValue>,
    ) -> Result<(), JsValue> {
        Ok(self
            .inner
            .handle_stored(stored(error))
            .map_err(Failure::from)?)
    }

    /// The outcome of a `resend` step: the validator that ran the entry's TC
    /// and its ACKs, or `undefined` when its run stopped before the verdict
    /// (pending in the outbox).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for malformed ACKs.
    #[wasm_bindgen(js_name = handleResent)]
    pub fn handle_resent(
        &mut self,
        watcher: &mut Watcher,
        validator: &Validator,
        #[wasm_bindgen(unchecked_param_type = "Ack[] | undefined")] acks: JsValue,
    ) -> Result<(), JsValue> {
        let acks: Option<Vec<Ack>> = if acks.is_undefined() {
            None
        } else {
            Some(convert::value(&acks, "ACKs")?)
        };
        self.inner
            .handle_resent(&mut watcher.inner, &validator.inner, acks);
        Ok(())
    }
}

/// A step as JavaScript data: `kind` and its fields; a `pending` step's
/// `error` is the core's `EHR_STILL_PENDING` error, with `state`.
fn step_js(step: RunStep) -> Result<js_sys::Object, Failure> {
    let object = js_sys::Object::new();
    let set = |key: &str, value: &JsValue| {
        // Setting a property on a fresh object cannot fail.
        let _ = js_sys::Reflect::set(&object, &key.into(), value);
    };
    let kind = match step {
        RunStep::Perform { transmit } => {
            set("transmit", &convert::to_js(&transmit)?);
            "perform"
        }
        RunStep::Save { key, entry } => {
            set("key", &hex(key));
            set("entry", &convert::parse(&entry)?);
            "save"
        }
        RunStep::Finish { key, acks } => {
            set("key", &key.map_or(JsValue::UNDEFINED, hex));
            set("acks", &convert::to_js(&acks)?);
            "finish"
        }
        RunStep::Wait { until } => {
            set("until", &convert::number(until.as_millis()));
            "wait"
        }
        RunStep::Awaiting => "awaiting",
        RunStep::Acked { acks } => {
            set("acks", &convert::to_js(&acks)?);
            "acked"
        }
        RunStep::Pending { stopped } => {
            let state = convert::to_js(&stopped.state)?;
            let error: JsValue = Failure::from(stopped).into();
            let _ = js_sys::Reflect::set(&error, &"state".into(), &state);
            set("error", &error);
            "pending"
        }
    };
    set("kind", &kind.into());
    Ok(object)
}

/// A key as `0x` hex.
fn hex(key: B256) -> JsValue {
    JsValue::from_str(&key.to_string())
}
