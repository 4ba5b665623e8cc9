//! The anchoring pipeline for JavaScript: the core's sans-I/O `Pipeline`
//! with JSON in and out. The package's `runPipeline` drives it over an
//! EIP-1193 provider; this module only converts.

use ehrchain_core::ErrorCode;
use ehrchain_core::outbox::PartlyStored;
use ehrchain_core::pipeline::{
    Finished, FlightId, Pipeline as CorePipeline, PipelineConfig, PipelineRun as CorePipelineRun,
    PipelineStep, PipelineTransmit, Priority,
};
use rand_core::OsRng;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::error::Failure;
use crate::handshaker::{ChainTransaction, Handshaker, now_or_date};
use crate::reads::{hand_result, head_result};
use crate::ti::initial_transaction;
use crate::validator::{Validator, now, stored};

/// Many TIs in flight over one transport: urgent records anchored alone,
/// bulk records gathered into Merkle batches (flushed when full or after
/// their wait), a bounded queue (`EHR_PIPELINE_BUSY`), one outbox write per
/// round of submissions. Drive it with `runPipeline`. Times are Unix
/// milliseconds.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Pipeline {
    inner: CorePipeline,
}

/// A priority as JavaScript writes it.
fn priority(value: &JsValue) -> Result<Priority, Failure> {
    convert::value(value, "priority")
}

#[wasm_bindgen]
impl Pipeline {
    /// A pipeline anchoring into `registry` on `chainId`, with `options`
    /// (`PipelineOptions`: the defaults for what is left out).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a bad chain id or registry,
    /// `EHR_INVALID_JSON` for unknown or malformed options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = chainId, unchecked_param_type = "number")] chain_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] registry: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Partial<PipelineOptions>")] options: Option<
            JsValue,
        >,
    ) -> Result<Pipeline, JsValue> {
        let chain_id = convert::uint(&chain_id, "chainId")?;
        let registry = convert::address(&registry, "registry")?;
        let config = match options.filter(|o| !o.is_undefined() && !o.is_null()) {
            None => PipelineConfig::default(),
            Some(o) => {
                let json: serde_json::Value = convert::document(&o, "pipeline options")?;
                PipelineConfig::deserialize(json).map_err(|e| {
                    Failure::new(ErrorCode::InvalidJson, format!("pipeline options: {e}"))
                })?
            }
        };
        Ok(Self {
            inner: CorePipeline::new(chain_id, registry, config),
        })
    }

    /// Pushes a TC with `priority` (`"urgent"` or `"bulk"`) at `nowMs`. A
    /// TC its author signed (`signingRequest(…).attach`) is anchored alone
    /// whatever its priority, so its signature reaches the chain (a smart
    /// account's signature is checked only on chain: admit its
    /// `handshaker.validatorForSigned` validator instead).
    ///
    /// # Errors
    /// `EHR_PIPELINE_BUSY` at the limit, `EHR_PIPELINE_DUPLICATE` for a TI
    /// already held, `EHR_PIPELINE_WRONG_REGISTRY` for a TC of another chain
    /// or registry (nothing kept); `EHR_INVALID_ARGUMENT` for a bad
    /// priority or time.
    pub fn push(
        &mut self,
        tc: &ChainTransaction,
        #[wasm_bindgen(unchecked_param_type = "Priority")] priority: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<(), JsValue> {
        let priority = self::priority(&priority)?;
        let now = now(&now_ms)?;
        Ok(self
            .inner
            .push(tc.inner.clone(), priority, now)
            .map_err(Failure::from)?)
    }

    /// Takes a validator the host built, for what `push` cannot build: a
    /// TI its author signed (`handshaker.validatorForSigned`, a smart
    /// account's included); it is sent as it is, anchored alone, and its ACK
    /// comes out of `pollFinished` like every other. The `validator` object
    /// is the pipeline's from then on.
    ///
    /// # Errors
    /// `EHR_PIPELINE_BUSY` at the limit, `EHR_PIPELINE_DUPLICATE` for a TI
    /// already held, `EHR_PIPELINE_WRONG_REGISTRY` for a validator of another
    /// chain or registry: nothing kept, and the error's `validator` is the
    /// validator given back (admit it again later: no signature is asked
    /// for twice).
    pub fn admit(&mut self, validator: Validator) -> Result<(), JsValue> {
        self.inner.admit(validator.inner).map_err(|refused| {
            let error = JsValue::from(Failure::from(refused.error));
            let given_back = JsValue::from(Validator::from(*refused.validator));
            // Setting a property on a fresh Error object cannot fail.
            let _ = js_sys::Reflect::set(&error, &"validator".into(), &given_back);
            error
        })
    }

    /// Sends the open batch now, whatever its size.
    pub fn flush(&mut self) {
        self.inner.flush();
    }

    /// How many TIs the pipeline holds (pushed, without an ACK yet).
    #[wasm_bindgen(getter)]
    #[must_use]
    pub fn pending(&self) -> usize {
        self.inner.pending()
    }

    /// Whether nothing is held and no verdict waits in `pollFinished`. ACKs
    /// waiting for `takeAcks()` do not count: their verdicts are stored.
    #[wasm_bindgen(getter, js_name = isIdle)]
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.inner.is_idle()
    }

    /// The next action at `nowMs`, or `undefined`: `persist` (store every
    /// entry in one write, then `handlePersisted(round, …)`), `read_head`
    /// (then `handleHead`), or `flight` (one submission's action, then
    /// `handleFlight` with its result).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a bad time.
    #[wasm_bindgen(js_name = pollTransmit, unchecked_return_type = "PipelineTransmit | undefined")]
    pub fn poll_transmit(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<JsValue, JsValue> {
        let now = now(&now_ms)?;
        Ok(match self.inner.poll_transmit(now) {
            None => JsValue::UNDEFINED,
            Some(transmit) => transmit_js(&self.inner, transmit)?,
        })
    }

    /// The result of a `persist` round: `undefined` once every entry is
    /// stored durably, or the storage's error (nothing of the round is sent).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a bad round or time.
    #[wasm_bindgen(js_name = handlePersisted)]
    pub fn handle_persisted(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] round: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "unknown")] error: Option<JsValue>,
    ) -> Result<(), JsValue> {
        let round = convert::uint(&round, "round")?;
        let now = now(&now_ms)?;
        self.inner.handle_persisted(round, now, stored(error));
        Ok(())
    }

    /// The result of a `read_head` action: the head's block number or a
    /// `TransportError`.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a bad result or time.
    #[wasm_bindgen(js_name = handleHead)]
    pub fn handle_head(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number | TransportError")] result: JsValue,
    ) -> Result<(), JsValue> {
        let now = now(&now_ms)?;
        self.inner.handle_head(now, head_result(&result)?);
        Ok(())
    }

    /// The result of a `flight` action, as `Validator`'s `handle*` method for
    /// `transmit.kind` takes it (`submit`: the transaction hash or a
    /// `TransportError`; `poll`: a `SubmissionStatus`; `read_record`: a
    /// record hash or `null`; `read_batch`: an `AnchoredBatch` or `null`;
    /// `read_block`: a `BlockRef` or `null`).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a bad result, kind or time; `EHR_VALIDATOR`
    /// when the submission did not ask for it.
    #[wasm_bindgen(js_name = handleFlight)]
    pub fn handle_flight(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] flight: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Transmit[\"kind\"]")] kind: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_param_type = "unknown")] result: JsValue,
    ) -> Result<(), JsValue> {
        let flight = FlightId(convert::uint(&flight, "flight")?);
        let kind = convert::string(&kind, "kind")?;
        let now = now(&now_ms)?;
        let Some(validator) = self.inner.flight_mut(flight) else {
            return Ok(());
        };
        Ok(hand_result(validator, &kind, now, &result)?)
    }

    /// When the pipeline next needs `handleTimeout` and `pollTransmit`
    /// (Unix milliseconds), or `undefined` with nothing to do.
    #[wasm_bindgen(js_name = pollTimeout, unchecked_return_type = "number | undefined")]
    #[must_use]
    pub fn poll_timeout(&self) -> JsValue {
        convert::millis_or_undefined(self.inner.poll_timeout())
    }

    /// Passes `nowMs` to every submission (and flushes a batch whose wait
    /// is over).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a bad time.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<(), JsValue> {
        self.inner.handle_timeout(now(&now_ms)?);
        Ok(())
    }

    /// The next submission that reached its verdict: its outbox key and its
    /// ACKs (store the ACKs and remove the entry in one step), or
    /// `undefined`.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(js_name = pollFinished, unchecked_return_type = "PipelineFinished | undefined")]
    pub fn poll_finished(&mut self) -> Result<JsValue, JsValue> {
        Ok(match self.inner.poll_finished() {
            Some(finished) => finished_js(&finished)?,
            None => JsValue::UNDEFINED,
        })
    }

    /// Every ACK whose verdict a run stored (`runPipeline`, a
    /// `PipelineRun`'s `handleStored`), in the order the verdicts came; they
    /// wait in the pipeline until taken, also when a later store failed.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(js_name = takeAcks, unchecked_return_type = "Ack[]")]
    pub fn take_acks(&mut self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js(&self.inner.take_acks())?)
    }

    /// Asks again for every action `pollTransmit` handed out whose result
    /// will never be handed in (the core's `Pipeline::ask_again`: a
    /// submission that may have gone out is settled from the registry
    /// first). `runPipeline` calls it first.
    #[wasm_bindgen(js_name = askAgain)]
    pub fn ask_again(&mut self) {
        self.inner.ask_again();
    }

    /// Gives back verdicts of `pollFinished` the host could not store
    /// (`PipelineFinished[]`, as it handed them out): offered again first,
    /// their TIs pending again meanwhile (the core's `restore_finished`).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for what is not such verdicts (nothing is
    /// given back then).
    #[wasm_bindgen(js_name = restoreFinished)]
    pub fn restore_finished(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "PipelineFinished[]")] verdicts: JsValue,
    ) -> Result<(), JsValue> {
        let restored = js_sys::Array::from(&verdicts)
            .iter()
            .map(|verdict| {
                let key = convert::get(&verdict, "outboxKey");
                Ok(Finished {
                    outbox_key: if key.is_undefined() || key.is_null() {
                        None
                    } else {
                        Some(convert::b256(&key, "outboxKey")?)
                    },
                    acks: convert::value(&convert::get(&verdict, "acks"), "acks")?,
                })
            })
            .collect::<Result<Vec<_>, Failure>>()?;
        self.inner.restore_finished(restored);
        Ok(())
    }

    /// Every submission's outbox entry as it stands, `[{key, entry}]` (the
    /// open batch flushed first): what a host that stops stores.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(unchecked_return_type = "PipelineEntry[]")]
    pub fn entries(&mut self) -> Result<JsValue, JsValue> {
        Ok(entries_js(self.inner.entries())?)
    }

    /// Takes back stored outbox entries (`ValidatorEntry` data or JSON text)
    /// after a restart.
    ///
    /// # Errors
    /// `EHR_OUTBOX_ENTRY_INVALID` for an entry that cannot be resumed (the
    /// ones before it are taken).
    pub fn resume(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "(ValidatorEntry | string)[]")] entries: JsValue,
    ) -> Result<(), JsValue> {
        let texts = js_sys::Array::from(&entries)
            .iter()
            .map(|entry| convert::json_text(&entry, "outbox entry"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self
            .inner
            .resume(texts.iter().map(String::as_str))
            .map_err(Failure::from)?)
    }
}

/// One drain of a `Pipeline`, step by step, with the core's rules (those
/// of the Rust `drain_durably`): actions never answered asked again first,
/// every round of entries stored before its submissions are sent, with the
/// verdicts reached in one write, the verdicts of TIs refused before
/// anything was stored given back when that write fails, and every entry
/// stored when the host's deadline or signal stops it. Internal to the
/// package's `runPipeline`.
#[doc(hidden)]
#[wasm_bindgen]
#[derive(Debug)]
pub struct PipelineRun {
    inner: CorePipelineRun,
}

#[wasm_bindgen]
impl PipelineRun {
    /// A drain that stops at `deadlineMs` (`undefined`: only every ACK or a
    /// cancel end it), asked to store entries only when the host has an
    /// outbox (`keepsEntries`).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a bad deadline.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = deadlineMs, unchecked_param_type = "number | undefined")]
        deadline_ms: JsValue,
        #[wasm_bindgen(js_name = keepsEntries)] keeps_entries: bool,
    ) -> Result<PipelineRun, JsValue> {
        let deadline = convert::deadline(&deadline_ms)?;
        Ok(Self {
            inner: CorePipelineRun::new(deadline, keeps_entries),
        })
    }

    /// The next step at `nowMs` for `pipeline` (the same one every call).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a bad time.
    #[wasm_bindgen(
        unchecked_return_type = "{ kind: \"perform\"; transmit: Exclude<PipelineTransmit, { kind: \"persist\" }> } | { kind: \"store\"; entries: PipelineEntry[]; verdicts: PipelineFinished[] } | { kind: \"wait\"; until: number } | { kind: \"awaiting\" } | { kind: \"drained\"; stopped?: \"deadline\" | \"cancelled\"; pending: number }"
    )]
    pub fn poll(
        &mut self,
        pipeline: &mut Pipeline,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        cancelled: bool,
    ) -> Result<JsValue, JsValue> {
        let step = self
            .inner
            .poll(&mut pipeline.inner, now(&now_ms)?, cancelled);
        let object = js_sys::Object::new();
        let kind = match step {
            PipelineStep::Perform { transmit } => {
                set(
                    &object,
                    "transmit",
                    &transmit_js(&pipeline.inner, transmit)?,
                );
                "perform"
            }
            PipelineStep::Store { entries, verdicts } => {
                set(&object, "entries", &entries_js(entries)?);
                let array = js_sys::Array::new();
                for verdict in &verdicts {
                    array.push(&finished_js(verdict)?);
                }
                set(&object, "verdicts", &array);
                "store"
            }
            PipelineStep::Wait { until } => {
                set(&object, "until", &convert::number(until.as_millis()));
                "wait"
            }
            PipelineStep::Awaiting => "awaiting",
            PipelineStep::Drained { stopped, pending } => {
                if let Some(cause) = stopped {
                    set(&object, "stopped", &convert::to_js(&cause)?);
                }
                set(&object, "pending", &convert::number(pending as u64));
                "drained"
            }
        };
        set(&object, "kind", &kind.into());
        Ok(object.into())
    }

    /// The outcome of a `store` step: `undefined` once stored durably, or
    /// the storage's error with `verdictsStored`, how many of the step's
    /// verdicts (from the first) were stored before it (default 0: they are
    /// stored in one transaction); how many ACKs the stored verdicts hold
    /// (they wait for `pipeline.takeAcks()`).
    ///
    /// # Errors
    /// `EHR_OUTBOX_UNAVAILABLE` when the storage failed: the run ends there
    /// (nothing more is sent; the ACKs of the verdicts stored before wait
    /// all the same; a refused TI's verdict not stored is given back to the
    /// pipeline); `EHR_INVALID_ARGUMENT` for a bad time. (Internal:
    /// `runPipeline` counts the verdicts it stored.)
    #[wasm_bindgen(js_name = handleStored)]
    pub fn handle_stored(
        &mut self,
        pipeline: &mut Pipeline,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "unknown")] error: Option<JsValue>,
        #[wasm_bindgen(js_name = verdictsStored, unchecked_optional_param_type = "number")]
        verdicts_stored: Option<usize>,
    ) -> Result<usize, JsValue> {
        let now = now(&now_ms)?;
        let outcome = stored(error).map_err(|error| PartlyStored {
            stored: verdicts_stored.unwrap_or(0),
            error,
        });
        Ok(self
            .inner
            .handle_stored(&mut pipeline.inner, now, outcome)
            .map_err(Failure::from)?)
    }
}

#[wasm_bindgen]
impl Handshaker {
    /// Turns `ti` into its TC and pushes it into `pipeline` with `priority`
    /// at `nowMs` (default `Date.now()`); a TI its template refuses is held
    /// too, and its invalid ACK comes out like every other.
    ///
    /// # Errors
    /// `EHR_PIPELINE_BUSY`, `EHR_PIPELINE_DUPLICATE`,
    /// `EHR_PIPELINE_WRONG_REGISTRY` (the handshaker's chain or registry is
    /// not the pipeline's), `EHR_KEY_STORE_UNAVAILABLE` (no verdict on the
    /// TI): nothing kept,
    /// push it again later; `EHR_TI_MALFORMED` for a value that is not a TI.
    #[wasm_bindgen(js_name = pushTo)]
    pub fn push_to(
        &self,
        pipeline: &mut Pipeline,
        #[wasm_bindgen(unchecked_param_type = "InitialTransaction | string")] ti: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Priority")] priority: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number")] now_ms: Option<
            JsValue,
        >,
    ) -> Result<(), JsValue> {
        let ti = initial_transaction(&ti)?;
        let priority = self::priority(&priority)?;
        Ok(self
            .inner
            .push(
                &mut pipeline.inner,
                &ti,
                priority,
                now_or_date(now_ms)?,
                &mut OsRng,
            )
            .map_err(Failure::from)?)
    }
}

/// A pipeline action as JavaScript data (`PipelineTransmit`).
fn transmit_js(pipeline: &CorePipeline, transmit: PipelineTransmit) -> Result<JsValue, Failure> {
    let object = js_sys::Object::new();
    match transmit {
        PipelineTransmit::Persist { round } => {
            set(&object, "kind", &"persist".into());
            set(&object, "round", &convert::number(round));
            set(
                &object,
                "entries",
                &entries_js(pipeline.round_entries(round))?,
            );
        }
        PipelineTransmit::ReadHead => set(&object, "kind", &"read_head".into()),
        PipelineTransmit::Flight { flight, transmit } => {
            set(&object, "kind", &"flight".into());
            set(&object, "flight", &convert::number(flight.0));
            set(&object, "transmit", &convert::to_js(&transmit)?);
        }
    }
    Ok(object.into())
}

/// A verdict as JavaScript data (`PipelineFinished`): its outbox key (if
/// any) and its ACKs.
fn finished_js(finished: &Finished) -> Result<JsValue, Failure> {
    let object = js_sys::Object::new();
    set(
        &object,
        "outboxKey",
        &finished
            .outbox_key
            .map_or(JsValue::UNDEFINED, |k| JsValue::from_str(&k.to_string())),
    );
    set(&object, "acks", &convert::to_js(&finished.acks)?);
    Ok(object.into())
}

/// Outbox entries as `[{key, entry}]`, each entry a `ValidatorEntry`.
fn entries_js(entries: Vec<(ehrchain_core::B256, String)>) -> Result<JsValue, Failure> {
    let array = js_sys::Array::new();
    for (key, entry) in entries {
        let object = js_sys::Object::new();
        set(&object, "key", &JsValue::from_str(&key.to_string()));
        set(&object, "entry", &convert::parse(&entry)?);
        array.push(&object);
    }
    Ok(array.into())
}

fn set(object: &js_sys::Object, key: &str, value: &JsValue) {
    // Setting a plain own property of a fresh object cannot fail.
    let _ = js_sys::Reflect::set(object, &JsValue::from_str(key), value);
}
