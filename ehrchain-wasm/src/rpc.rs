//! The core's JSON-RPC policy for JavaScript: `RpcExchange` carries out one
//! validator action over any EIP-1193 provider (the package's
//! `Eip1193Transport` posts its requests and hands back what the provider
//! resolved or threw), `rpcView` shapes a registry read and
//! `rpcClassifyError` reads a provider's error. The requests, the
//! classification of answers and their decoding are the core's
//! (`ehrchain_core::rpc`), the same as the Rust `RpcTransport` and the C
//! ABI's `ehr_rpc_exchange` use.

use ehrchain_core::rpc::{self, BlockTag, Exchange, ExchangeConfig, Outcome, RpcRequest, TxFields};
use ehrchain_core::{Address, ErrorCode, TransportError, TxHash, UnixMillis};
use serde::Deserialize;
use serde_json::json;
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::error::Failure;
use crate::validator::Validator;

/// The settings of an exchange (`RpcExchangeOptions` in TypeScript).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Options {
    chain_id: u64,
    registry: Address,
    #[serde(default)]
    from: Option<Address>,
    #[serde(default)]
    mine_on_head: bool,
    #[serde(default)]
    gas_margin_percent: Option<u64>,
}

fn config(options: &JsValue) -> Result<ExchangeConfig, Failure> {
    let o: Options = convert::value(options, "options")?;
    let defaults = ExchangeConfig::new(o.chain_id, o.registry);
    Ok(ExchangeConfig {
        from: o.from,
        mine_on_head: o.mine_on_head,
        gas_margin_percent: o.gas_margin_percent.unwrap_or(defaults.gas_margin_percent),
        ..defaults
    })
}

/// `{method, params}` as `provider.request` takes it.
pub(crate) fn request_js(request: &RpcRequest) -> Result<JsValue, Failure> {
    convert::to_js(&json!({ "method": request.method, "params": request.params }))
}

/// One validator action (or a plain send, or a receipt) carried out over an
/// EIP-1193 provider: post `request()` with `provider.request`, hand back
/// what it resolved (`handleResult`) or threw (`handleError`), until
/// `request()` is `undefined`; then `finish(validator, nowMs)` (or
/// `result()`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct RpcExchange {
    inner: Option<Exchange>,
}

impl RpcExchange {
    fn live(&mut self) -> Result<&mut Exchange, Failure> {
        self.inner.as_mut().ok_or_else(|| {
            Failure::new(
                ErrorCode::Validator,
                "the exchange was finished already; make a new one",
            )
        })
    }

    fn answer(&mut self, answer: Result<serde_json::Value, TransportError>) -> Result<(), Failure> {
        self.live()?.handle_answer(answer);
        Ok(())
    }

    fn outcome(&mut self) -> Result<Outcome, Failure> {
        if !self.live()?.is_done() {
            return Err(Failure::new(
                ErrorCode::NotPresent,
                "the exchange is not done: post its next request first",
            ));
        }
        self.inner
            .take()
            .and_then(Exchange::finish)
            .ok_or_else(|| Failure::new(ErrorCode::Internal, "a done exchange had no result"))
    }
}

#[wasm_bindgen]
impl RpcExchange {
    /// The exchange for `transmit` (what `Validator.pollTransmit` handed
    /// out) with `options` (`{chainId, registry, from?, mineOnHead?,
    /// gasMarginPercent?}`). A submission is sent from `from` (an account
    /// the provider signs for); one whose gas estimate reverts is never
    /// sent.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a malformed transmit or options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "Transmit")] transmit: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RpcExchangeOptions")] options: JsValue,
    ) -> Result<RpcExchange, JsValue> {
        let transmit = convert::value(&transmit, "transmit")?;
        Ok(Self {
            inner: Some(Exchange::new(&transmit, config(&options)?)),
        })
    }

    /// A plain send (`{from, to?, data, value?}`; no `to`: a contract
    /// creation): the gas estimate, then `eth_sendTransaction`. `result()`
    /// is the transaction hash.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a malformed transaction or options.
    #[wasm_bindgen(js_name = send)]
    pub fn send(
        #[wasm_bindgen(
            unchecked_param_type = "{ from: string; to?: string; data: string; value?: string }"
        )]
        tx: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RpcExchangeOptions")] options: JsValue,
    ) -> Result<RpcExchange, JsValue> {
        let tx: TxFields = convert::value(&tx, "transaction")?;
        Ok(Self {
            inner: Some(Exchange::send(tx, config(&options)?)),
        })
    }

    /// The receipt of `txHash` (without an anchoring event). `result()` is a
    /// `SubmissionStatus`.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a malformed hash or options.
    #[wasm_bindgen(js_name = receipt)]
    pub fn receipt(
        #[wasm_bindgen(js_name = txHash, unchecked_param_type = "string")] tx_hash: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RpcExchangeOptions")] options: JsValue,
    ) -> Result<RpcExchange, JsValue> {
        let tx_hash = TxHash(convert::b256(&tx_hash, "txHash")?);
        Ok(Self {
            inner: Some(Exchange::poll(tx_hash, None, config(&options)?)),
        })
    }

    /// The next request, `{method, params}`, or `undefined` once done.
    ///
    /// # Errors
    /// `EHR_VALIDATOR` once finished.
    #[wasm_bindgen(unchecked_return_type = "{ method: string; params: unknown[] } | undefined")]
    pub fn request(&mut self) -> Result<JsValue, JsValue> {
        match self.live()?.request() {
            Some(request) => Ok(request_js(request)?),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// What `provider.request` resolved with.
    ///
    /// # Errors
    /// `EHR_VALIDATOR` once finished.
    #[wasm_bindgen(js_name = handleResult)]
    pub fn handle_result(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "unknown")] result: JsValue,
    ) -> Result<(), JsValue> {
        // A result that is not JSON (a BigInt, say) reads as `null`, which
        // the core's decoders refuse as malformed where a value is needed.
        let value = if result.is_undefined() {
            serde_json::Value::Null
        } else {
            convert::value(&result, "result").unwrap_or(serde_json::Value::Null)
        };
        Ok(self.answer(Ok(value))?)
    }

    /// What `provider.request` threw, as a plain object: `{code, message,
    /// data}` and any nested `error` or `cause` (the package's transport
    /// makes it), classified by the core.
    ///
    /// # Errors
    /// `EHR_VALIDATOR` once finished.
    #[wasm_bindgen(js_name = handleError)]
    pub fn handle_error(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "unknown")] error: JsValue,
    ) -> Result<(), JsValue> {
        let chain = self.live()?.config().chain_id;
        let error = convert::value(&error, "error").unwrap_or(serde_json::Value::Null);
        Ok(self.answer(Err(rpc::classify_error(&error, chain)))?)
    }

    /// A request that got no answer (a timeout): the `TransportError` to
    /// record.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a malformed error; `EHR_VALIDATOR` once
    /// finished.
    #[wasm_bindgen(js_name = handleFailure)]
    pub fn handle_failure(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "TransportError")] error: JsValue,
    ) -> Result<(), JsValue> {
        let error: TransportError = convert::value(&error, "transport error")?;
        Ok(self.answer(Err(error))?)
    }

    /// Hands the result to `validator` at `nowMs`, as its matching `handle*`
    /// method would.
    ///
    /// # Errors
    /// `EHR_NOT_PRESENT` while requests remain; `EHR_VALIDATOR` when the
    /// validator did not ask for it or once finished.
    pub fn finish(
        &mut self,
        validator: &mut Validator,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<(), JsValue> {
        let now = UnixMillis(convert::uint(&now_ms, "nowMs")?);
        let outcome = self.outcome()?;
        Ok(validator.hand(outcome, now)?)
    }

    /// The result of a `send` or `receipt` exchange (or of an action, for
    /// hosts without a validator): `{ok: value}` or a `TransportError`.
    ///
    /// # Errors
    /// `EHR_NOT_PRESENT` while requests remain; `EHR_VALIDATOR` once
    /// finished.
    #[wasm_bindgen(unchecked_return_type = "{ ok: unknown } | TransportError")]
    pub fn result(&mut self) -> Result<JsValue, JsValue> {
        let value = match self.outcome()? {
            Outcome::Submitted(r) => r.map(|h| json!(h)),
            Outcome::Polled(r) => r.map(|s| json!(s)),
            Outcome::Head(r) => r.map(|h| json!(h)),
            Outcome::Record(r) => r.map(|h| json!(h)),
            Outcome::Batch(r) => r.map(|b| json!(b)),
            Outcome::Block(r) => r.map(|b| json!(b)),
            Outcome::Persist => Err(TransportError::Rejected(
                "a persist action is the host's outbox write, not a JSON-RPC exchange".to_owned(),
            )),
        };
        Ok(convert::to_js(&match value {
            Ok(ok) => json!({ "ok": ok }),
            Err(e) => json!(e),
        })?)
    }
}

/// The request (`{method, params}`) of a view call `data` on `registry` at
/// the latest mined block.
///
/// # Errors
/// `EHR_INVALID_ARGUMENT` for a malformed address or data.
#[wasm_bindgen(js_name = rpcView, unchecked_return_type = "{ method: string; params: unknown[] }")]
pub fn rpc_view(
    #[wasm_bindgen(unchecked_param_type = "string")] registry: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] data: JsValue,
) -> Result<JsValue, JsValue> {
    let registry = convert::address(&registry, "registry")?;
    let data = convert::bytes(&data, "data")?;
    Ok(request_js(&RpcRequest::view(
        registry,
        &data.into(),
        BlockTag::Latest,
    ))?)
}

/// The `TransportError` a provider's error (a plain `{code, message, data}`
/// object, nested `error` / `cause` followed) amounts to, for a transport on
/// `chainId`: `reverted` (with the revert data and a mined transaction's
/// hash), `unavailable`, `rate_limited`, `wrong_chain`, `rejected`.
///
/// # Errors
/// `EHR_INVALID_ARGUMENT` for a bad `chainId`.
#[wasm_bindgen(js_name = rpcClassifyError, unchecked_return_type = "TransportError")]
pub fn rpc_classify_error(
    #[wasm_bindgen(unchecked_param_type = "unknown")] error: JsValue,
    #[wasm_bindgen(js_name = chainId, unchecked_param_type = "number")] chain_id: JsValue,
) -> Result<JsValue, JsValue> {
    let chain = convert::uint(&chain_id, "chainId")?;
    let error = convert::value(&error, "error").unwrap_or(serde_json::Value::Null);
    Ok(convert::to_js(&rpc::classify_error(&error, chain))?)
}

/// `undefined` when `result` (what `eth_chainId` resolved with) is
/// `chainId`, else the `TransportError` (`wrong_chain`, or `malformed`).
///
/// # Errors
/// `EHR_INVALID_ARGUMENT` for a bad `chainId`.
#[wasm_bindgen(js_name = rpcCheckChainId, unchecked_return_type = "TransportError | undefined")]
pub fn rpc_check_chain_id(
    #[wasm_bindgen(unchecked_param_type = "unknown")] result: JsValue,
    #[wasm_bindgen(js_name = chainId, unchecked_param_type = "number")] chain_id: JsValue,
) -> Result<JsValue, JsValue> {
    let chain = convert::uint(&chain_id, "chainId")?;
    let result = convert::value(&result, "result").unwrap_or(serde_json::Value::Null);
    match rpc::check_chain_id(&result, chain) {
        Ok(()) => Ok(JsValue::UNDEFINED),
        Err(e) => Ok(convert::to_js(&e)?),
    }
}
