//! The patient's records found from their wallet, for JavaScript: the
//! core's `PatientRecordsQuery` (its two `eth_getLogs` requests and the
//! records in their answers). `js/patient_records.js` makes the requests.

use ehrchain_core::rpc::BlockTag;
use ehrchain_core::sharing::{ChainLog, PatientRecordsQuery};
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::error::Failure;
use crate::rpc::request_js;

/// Block `fromBlock` (default 0).
fn start(from_block: Option<JsValue>) -> Result<BlockTag, Failure> {
    let from = match from_block {
        Some(n) => convert::opt_uint(&n, "fromBlock")?,
        None => None,
    };
    Ok(BlockTag::Number(from.unwrap_or(0)))
}

/// The logs of an `eth_getLogs` answer (those a reorg removed left out).
fn logs(result: &JsValue, what: &str) -> Result<Vec<ChainLog>, Failure> {
    let result: Value = convert::value(result, what)?;
    Ok(ChainLog::from_rpc(&result)?)
}

/// The `eth_getLogs` request of the account's bindings (`PatientBound`,
/// `PatientUnbound`) on the `EhrConsent` of `query` (`{registry, consent,
/// patient}`), from block `fromBlock` (default 0) to the latest.
///
/// # Errors
/// `EHR_INVALID_JSON` for a malformed query; `EHR_INVALID_ARGUMENT` for a
/// bad block number.
#[wasm_bindgen(js_name = patientBindingsRequest, unchecked_return_type = "{ method: string; params: unknown[] }")]
pub fn patient_bindings_request(
    #[wasm_bindgen(unchecked_param_type = "PatientRecordsQuery")] query: JsValue,
    #[wasm_bindgen(js_name = fromBlock, unchecked_optional_param_type = "number")]
    from_block: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let query: PatientRecordsQuery = convert::document(&query, "query")?;
    let from = start(from_block)?;
    Ok(request_js(
        &query.pseudonyms_request(from, BlockTag::Latest),
    )?)
}

/// The `eth_getLogs` request of the records (`RecordAnchored`) of the
/// pseudonyms bound in `bound` (the node's answer to
/// `patientBindingsRequest`), from block `fromBlock` (default 0) to the
/// latest; `undefined` when the account is bound to no pseudonym.
///
/// # Errors
/// `EHR_INVALID_JSON` for a malformed query; `EHR_TRANSPORT_MALFORMED` for
/// an answer that is no list of logs; `EHR_INVALID_ARGUMENT` for a bad
/// block number.
#[wasm_bindgen(js_name = patientRecordsRequest, unchecked_return_type = "{ method: string; params: unknown[] } | undefined")]
pub fn patient_records_request(
    #[wasm_bindgen(unchecked_param_type = "PatientRecordsQuery")] query: JsValue,
    #[wasm_bindgen(unchecked_param_type = "unknown")] bound: JsValue,
    #[wasm_bindgen(js_name = fromBlock, unchecked_optional_param_type = "number")]
    from_block: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let query: PatientRecordsQuery = convert::document(&query, "query")?;
    let bound = logs(&bound, "bound")?;
    let from = start(from_block)?;
    match query.records_request(&bound, from, BlockTag::Latest) {
        Some(request) => Ok(request_js(&request)?),
        None => Ok(JsValue::UNDEFINED),
    }
}

/// The patient's records (`{pseudonyms, records}`) in `bound` and
/// `anchored`, the node's answers to `patientBindingsRequest` and
/// `patientRecordsRequest` (`[]` when there was none). Records anchored
/// inside a Merkle batch are not found: the chain does not link them to
/// their pseudonym.
///
/// # Errors
/// `EHR_INVALID_JSON` for a malformed query; `EHR_TRANSPORT_MALFORMED` for
/// an answer that is no list of logs.
#[wasm_bindgen(js_name = patientRecordsOf, unchecked_return_type = "PatientRecords")]
pub fn patient_records_of(
    #[wasm_bindgen(unchecked_param_type = "PatientRecordsQuery")] query: JsValue,
    #[wasm_bindgen(unchecked_param_type = "unknown")] bound: JsValue,
    #[wasm_bindgen(unchecked_param_type = "unknown")] anchored: JsValue,
) -> Result<JsValue, JsValue> {
    let query: PatientRecordsQuery = convert::document(&query, "query")?;
    let bound = logs(&bound, "bound")?;
    let anchored = logs(&anchored, "anchored")?;
    Ok(convert::to_js(&query.records(&bound, &anchored))?)
}
