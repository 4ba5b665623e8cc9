//! Calls to the `EhrRegistry` contract for hosts that talk to the chain
//! themselves (the EIP-1193 transport, administration scripts): calldata
//! encoders, return-data decoders, revert decoding and role ids.

use alloy_primitives::{B256, Bytes, LogData};
use alloy_sol_types::SolCall;
use ehrchain_core::batch::ProofError;
use ehrchain_core::registry_abi::{DecodedRevert, IEhrRegistry, RegistryErrors};
use ehrchain_core::{AnchoredBatch, Role, Submission};
use wasm_bindgen::prelude::*;

use crate::convert::{self, hex};
use crate::error::Failure;

use ehrchain_contracts::EhrRegistry;

fn role(name: &JsValue) -> Result<Role, Failure> {
    Ok(Role::new(convert::string(name, "role")?)?)
}

/// The registry's `bytes32` id of a role name: `keccak256(upper(name) + "_ROLE")`.
///
/// # Errors
/// `EHR_ROLE_INVALID` for a name that breaks the role naming rule.
#[wasm_bindgen(js_name = roleId, unchecked_return_type = "Hex")]
pub fn role_id(
    #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
) -> Result<String, JsValue> {
    Ok(hex(role(&name)?.id().as_slice()))
}

/// Calldata of `grantRole(roleId(role), account)` (an administrator's call).
///
/// # Errors
/// `EHR_ROLE_INVALID`, `EHR_INVALID_ARGUMENT`.
#[wasm_bindgen(js_name = grantRoleCall, unchecked_return_type = "Hex")]
pub fn grant_role_call(
    #[wasm_bindgen(js_name = roleName, unchecked_param_type = "string")] role_name: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] account: JsValue,
) -> Result<String, JsValue> {
    let call = EhrRegistry::grantRoleCall {
        role: role(&role_name)?.id(),
        account: convert::address(&account, "account")?,
    };
    Ok(hex(&call.abi_encode()))
}

/// The registry's creation bytecode (from the committed build artifact), to
/// deploy it with `eth_sendTransaction({from, data})`.
#[wasm_bindgen(js_name = registryBytecode, unchecked_return_type = "Hex")]
#[must_use]
pub fn registry_bytecode() -> String {
    hex(&EhrRegistry::BYTECODE)
}

/// Calldata of the view `recordHashOf(tiId)`.
///
/// # Errors
/// `EHR_INVALID_ARGUMENT`.
#[wasm_bindgen(js_name = recordHashOfCall, unchecked_return_type = "Hex")]
pub fn record_hash_of_call(
    #[wasm_bindgen(js_name = tiId, unchecked_param_type = "string")] ti_id: JsValue,
) -> Result<String, JsValue> {
    let call = EhrRegistry::recordHashOfCall {
        tiId: convert::b256(&ti_id, "tiId")?,
    };
    Ok(hex(&call.abi_encode()))
}

/// Decodes what `recordHashOf` returned: the record hash, or `null` when none
/// is anchored.
///
/// # Errors
/// `EHR_INVALID_ARGUMENT`, also for data that does not decode.
#[wasm_bindgen(js_name = decodeRecordHashOf, unchecked_return_type = "Hex | null")]
pub fn decode_record_hash_of(
    #[wasm_bindgen(unchecked_param_type = "string")] data: JsValue,
) -> Result<JsValue, JsValue> {
    let data = convert::bytes(&data, "data")?;
    let stored = EhrRegistry::recordHashOfCall::abi_decode_returns(&data)
        .map_err(|e| Failure::bad_input(format!("recordHashOf returned undecodable data: {e}")))?;
    Ok(if stored.is_zero() {
        JsValue::NULL
    } else {
        JsValue::from_str(&hex(stored.as_slice()))
    })
}

/// Calldata of the view `batchOf(root)`.
///
/// # Errors
/// `EHR_INVALID_ARGUMENT`.
#[wasm_bindgen(js_name = batchOfCall, unchecked_return_type = "Hex")]
pub fn batch_of_call(
    #[wasm_bindgen(unchecked_param_type = "string")] root: JsValue,
) -> Result<String, JsValue> {
    let call = EhrRegistry::batchOfCall {
        root: convert::b256(&root, "root")?,
    };
    Ok(hex(&call.abi_encode()))
}

/// Decodes what `batchOf(root)` returned: the anchored batch (without its
/// batch id, which only the event holds), or `null` when none is anchored.
///
/// # Errors
/// `EHR_INVALID_ARGUMENT`, also for data that does not decode.
#[wasm_bindgen(js_name = decodeBatchOf, unchecked_return_type = "AnchoredBatch | null")]
pub fn decode_batch_of(
    #[wasm_bindgen(unchecked_param_type = "string")] root: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] data: JsValue,
) -> Result<JsValue, JsValue> {
    let root = convert::b256(&root, "root")?;
    let data = convert::bytes(&data, "data")?;
    let batch = EhrRegistry::batchOfCall::abi_decode_returns(&data)
        .map_err(|e| Failure::bad_input(format!("batchOf returned undecodable data: {e}")))?;
    if batch.leafCount == 0 {
        return Ok(JsValue::NULL);
    }
    Ok(convert::to_js(&AnchoredBatch {
        root,
        leaf_count: batch.leafCount,
        batch_id: None,
    })?)
}

/// Calldata of the view `verifyRecord(root, recordHash, proof)`: OpenZeppelin's
/// `MerkleProof.verify` in the EVM over an inclusion proof.
///
/// # Errors
/// As [`crate::InclusionProof::parse`].
#[wasm_bindgen(js_name = verifyRecordCall, unchecked_return_type = "Hex")]
pub fn verify_record_call(
    #[wasm_bindgen(unchecked_param_type = "ProofInput")] proof: JsValue,
) -> Result<String, JsValue> {
    let proof = crate::batch::proof_of(&proof)?;
    let call = EhrRegistry::verifyRecordCall {
        root: proof.root,
        recordHash: proof.record_hash,
        proof: proof.siblings,
    };
    Ok(hex(&call.abi_encode()))
}

/// What the registry's `verifyRecord` answered for `proof`, as
/// `Eip1193Transport.verifyOnChainDetailed` resolves it: from `returned` (the
/// call's return data) or `revert` (its revert data), `{verified, error,
/// revert}`, where `error` is the error ehrchain would throw for the proof
/// (`EHR_PROOF_NOT_ANCHORED`, `EHR_PROOF_INVALID`); `undefined` for a revert
/// that says nothing about the proof (the caller reports the call's failure).
///
/// # Errors
/// As [`crate::InclusionProof::parse`]; `EHR_INVALID_ARGUMENT` for return
/// data that is not an ABI-encoded `bool`.
#[wasm_bindgen(js_name = verifyRecordOutcome, unchecked_return_type = "OnChainVerification | undefined")]
pub fn verify_record_outcome(
    #[wasm_bindgen(unchecked_param_type = "ProofInput")] proof: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] returned: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] revert: JsValue,
) -> Result<JsValue, JsValue> {
    let proof = crate::batch::proof_of(&proof)?;
    let (error, revert) = if revert.is_undefined() {
        let data = convert::bytes(&returned, "returned")?;
        let verified = EhrRegistry::verifyRecordCall::abi_decode_returns(&data)
            .map_err(|e| Failure::bad_input(format!("not an ABI-encoded bool: {e}")))?;
        let error = (!verified).then(|| {
            proof.verify().err().unwrap_or(ProofError::RootMismatch {
                expected: proof.root,
                computed: proof.computed_root(),
            })
        });
        (error, None)
    } else {
        let decoded = DecodedRevert::from_data(&Bytes::from(convert::bytes(&revert, "revert")?));
        match decoded.registry_error() {
            Some(RegistryErrors::EhrRegistryRootNotAnchored(e)) => {
                (Some(ProofError::NotAnchored(e.root)), Some(decoded))
            }
            _ => return Ok(JsValue::UNDEFINED),
        }
    };
    let outcome = js_sys::Object::new();
    let set = |key: &str, value: &JsValue| {
        // Setting a property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&outcome, &JsValue::from_str(key), value);
    };
    set("verified", &JsValue::from_bool(error.is_none()));
    set(
        "error",
        &error.map_or(JsValue::NULL, |e| Failure::from(e).into()),
    );
    set(
        "revert",
        &match revert {
            Some(revert) => convert::to_js(&revert)?,
            None => JsValue::NULL,
        },
    );
    Ok(outcome.into())
}

/// Decodes revert data into the registry's custom error when it is one.
///
/// # Errors
/// `EHR_INVALID_ARGUMENT`.
#[wasm_bindgen(js_name = decodeRevert, unchecked_return_type = "DecodedRevert")]
pub fn decode_revert(
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] data: JsValue,
) -> Result<JsValue, JsValue> {
    let data = Bytes::from(convert::bytes(&data, "data")?);
    Ok(convert::to_js(&DecodedRevert::from_data(&data))?)
}

/// The role id an `anchorRecord` call is made for (the sender must hold that
/// role on chain), or `undefined` for other calls.
#[wasm_bindgen(js_name = anchorRoleOf, unchecked_return_type = "Hex | undefined")]
#[must_use]
pub fn anchor_role_of(
    #[wasm_bindgen(unchecked_param_type = "string")] calldata: JsValue,
) -> JsValue {
    convert::bytes(&calldata, "calldata")
        .ok()
        .and_then(|data| IEhrRegistry::anchorRecordCall::abi_decode(&data).ok())
        .map_or(JsValue::UNDEFINED, |call| {
            JsValue::from_str(&hex(call.role.as_slice()))
        })
}

/// The block-wide log index of the event that `submission`'s success emits
/// (`RecordAnchored` / `BatchAnchored`) among a receipt's `logs` (as
/// `eth_getTransactionReceipt` returns them), or `undefined`.
///
/// # Errors
/// `EHR_INVALID_ARGUMENT` for a malformed submission or log.
#[wasm_bindgen(js_name = anchorLogIndex, unchecked_return_type = "number | undefined")]
pub fn anchor_log_index(
    #[wasm_bindgen(unchecked_param_type = "Submission")] submission: JsValue,
    #[wasm_bindgen(unchecked_param_type = "RpcLog[]")] logs: JsValue,
) -> Result<JsValue, JsValue> {
    let submission: Submission = convert::value(&submission, "submission")?;
    let logs: Vec<RpcLog> = convert::value(&logs, "logs")?;
    for log in logs {
        let topics = log
            .topics
            .iter()
            .map(|t| convert::hex_fixed::<32>(t, "log topic").map(B256::from))
            .collect::<Result<Vec<_>, _>>()?;
        let data = Bytes::from(convert::hex_bytes(&log.data, "log data")?);
        let address = convert::hex_fixed::<20>(&log.address, "log address")?.into();
        let Some(data) = LogData::new(topics, data) else {
            continue;
        };
        if submission.is_anchoring_event(address, &data) {
            return Ok(match log.log_index {
                Some(index) => convert::number(quantity(&index)?),
                None => JsValue::UNDEFINED,
            });
        }
    }
    Ok(JsValue::UNDEFINED)
}

/// A log as JSON-RPC nodes return it.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcLog {
    address: String,
    topics: Vec<String>,
    data: String,
    log_index: Option<String>,
}

/// A JSON-RPC quantity (`0x`-prefixed hex number).
fn quantity(text: &str) -> Result<u64, Failure> {
    text.strip_prefix("0x")
        .and_then(|digits| u64::from_str_radix(digits, 16).ok())
        .ok_or_else(|| {
            Failure::new(
                ehrchain_core::ErrorCode::InvalidArgument,
                format!("not a JSON-RPC quantity: {text:?}"),
            )
        })
}
