//! The patient's records found from their account, for C: the core's
//! `PatientRecordsQuery` (its two `eth_getLogs` requests and the records in
//! their answers), over pointers and JSON text.

use std::ffi::c_char;

use ehrchain_core::Address;
use ehrchain_core::rpc::BlockTag;
use ehrchain_core::sharing::{ChainLog, PatientRecordsQuery};
use serde_json::Value;

use crate::ptr;
use crate::result::{Result, ehr_result, guard};
use crate::shapes::{from_json, write_json};

/// The query of `registry` and the 20-byte `consent` and `patient` (the
/// patient's account) addresses.
fn query(registry: Address, consent: *const u8, patient: *const u8) -> Result<PatientRecordsQuery> {
    Ok(PatientRecordsQuery {
        registry,
        consent: ptr::address(consent, "consent")?,
        patient: ptr::address(patient, "patient")?,
    })
}

/// The logs of the `eth_getLogs` result in `json` (`len` bytes), named
/// `name` in errors.
fn logs(json: *const c_char, len: usize, name: &str) -> Result<Vec<ChainLog>> {
    let result: Value = from_json(ptr::text(json, len, name)?, |e| {
        format!("{name} is not the result of eth_getLogs: {e}")
    })?;
    Ok(ChainLog::from_rpc(&result)?)
}

/// Writes the `eth_getLogs` request of the bindings (`PatientBound`,
/// `PatientUnbound`) of the account `patient` (20 bytes) on the `consent`
/// contract (20 bytes), from block `from_block` to the latest, as one
/// JSON-RPC request object with id `id` into `buf` (text-output rules:
/// `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_patient_bindings_request(
    consent: *const u8,
    patient: *const u8,
    from_block: u64,
    id: u64,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        // The bindings live on EhrConsent alone: no registry is read.
        let query = query(Address::ZERO, consent, patient)?;
        let request = query.pseudonyms_request(BlockTag::Number(from_block), BlockTag::Latest);
        ptr::write_text(buf, len, out_len, &request.body(id))
    })
}

/// Writes the `eth_getLogs` request of the records (`RecordAnchored` on the
/// `registry`, 20 bytes) of the pseudonyms the account `patient` is bound
/// to on `consent` after `bound_json` (`bound_json_len` bytes: the result of
/// `ehr_patient_bindings_request`, an array of logs), from block
/// `from_block` to the latest, as one JSON-RPC request object with id `id`
/// into `buf` (text-output rules: `ehr_result_message`); `null` when the
/// account is bound to no pseudonym (send nothing then).
/// `EHR_TRANSPORT_MALFORMED` for a result that is no array of logs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_patient_records_request(
    registry: *const u8,
    consent: *const u8,
    patient: *const u8,
    bound_json: *const c_char,
    bound_json_len: usize,
    from_block: u64,
    id: u64,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let query = query(ptr::address(registry, "registry")?, consent, patient)?;
        let bound = logs(bound_json, bound_json_len, "bound_json")?;
        let request = query.records_request(&bound, BlockTag::Number(from_block), BlockTag::Latest);
        let text = request.map_or_else(|| "null".to_owned(), |r| r.body(id));
        ptr::write_text(buf, len, out_len, &text)
    })
}

/// Writes the records of the account `patient` as JSON (`{"pseudonyms":
/// [...], "records": [{"tiId", "templateId", "subject", "recordHash",
/// "role", "roleName", "author", "timestamp", "blockNumber",
/// "transactionHash"}]}`, oldest first, `timestamp` in Unix milliseconds)
/// into `buf` (text-output rules: `ehr_result_message`), from `bound_json`
/// and `anchored_json` (the results of `ehr_patient_bindings_request` and
/// `ehr_patient_records_request`, each an array of logs; `[]` for the
/// second when it was `null`). Records anchored inside a Merkle batch are
/// not found: the chain does not link them to their pseudonym.
/// `EHR_TRANSPORT_MALFORMED` for a result that is no array of logs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_patient_records(
    registry: *const u8,
    consent: *const u8,
    patient: *const u8,
    bound_json: *const c_char,
    bound_json_len: usize,
    anchored_json: *const c_char,
    anchored_json_len: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let query = query(ptr::address(registry, "registry")?, consent, patient)?;
        let bound = logs(bound_json, bound_json_len, "bound_json")?;
        let anchored = logs(anchored_json, anchored_json_len, "anchored_json")?;
        write_json(buf, len, out_len, &query.records(&bound, &anchored))
    })
}
