//! `ehr_signed_proof`: the proof of one signed record of a batch (proof
//! format version 2): its statement, its author's signature and its
//! inclusion proof, checked offline against the chain's batch and role
//! history (`docs/proofs.md`, "Version 2").

use std::ffi::c_char;

use ehrchain_core::authorship::{RoleHistory, SignedBatchAnchor, SignedRecordProof};

use crate::ptr;
use crate::result::ehr_result;
use crate::shapes::{
    bytes_of, free, from_json, guard_on, parsed, parsed_bytes, parsed_text, text_of,
};

/// The proof of one signed record: who wrote it, in which role, and that it
/// is in a batch.
///
/// Thread safety: immutable; may be used from several threads at once.
pub struct ehr_signed_proof {
    pub(crate) proof: SignedRecordProof,
}

impl ehr_signed_proof {
    /// The handle of `proof`.
    pub(crate) fn new(proof: SignedRecordProof) -> Self {
        Self { proof }
    }
}

/// Reads a signed record's proof from its compact binary form (`EHRP`,
/// version 2). Not verified yet: call `ehr_signed_proof_verify` or
/// `ehr_signed_proof_verify_anchored`. Free it with `ehr_signed_proof_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_proof_from_bytes(
    bytes: *const u8,
    bytes_len: usize,
    proof_out: *mut *mut ehr_signed_proof,
) -> ehr_result {
    // Empty input is a truncated proof, as in every binding.
    parsed_bytes(bytes, bytes_len, proof_out, "proof_out", |bytes| {
        Ok(ehr_signed_proof::new(SignedRecordProof::from_bytes(bytes)?))
    })
}

/// Reads a signed record's proof from its QR text form (`EHRP:` then
/// base45). Not verified yet. Free it with `ehr_signed_proof_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_proof_from_text(
    text: *const c_char,
    text_len: usize,
    proof_out: *mut *mut ehr_signed_proof,
) -> ehr_result {
    parsed_text(text, text_len, proof_out, "proof_out", |text| {
        Ok(ehr_signed_proof::new(SignedRecordProof::from_text(text)?))
    })
}

/// Reads a signed record's proof from its JSON form (`ehr_signed_proof_to_json`).
/// Not verified yet. Free it with `ehr_signed_proof_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_proof_from_json(
    json: *const c_char,
    json_len: usize,
    proof_out: *mut *mut ehr_signed_proof,
) -> ehr_result {
    parsed(json, json_len, proof_out, "json", "proof_out", |json| {
        Ok(ehr_signed_proof::new(SignedRecordProof::from_json(json)?))
    })
}

/// Writes the proof's compact binary form (`EHRP`, version 2) into `buf`
/// (byte-output rules: `ehr_envelope_open`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_proof_to_bytes(
    proof: *const ehr_signed_proof,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    bytes_of(proof, buf, len, out_len, "proof", |p| {
        Ok(p.proof.to_bytes().into())
    })
}

/// Writes the proof's QR text form (`EHRP:` then base45) as NUL-terminated
/// text into `buf` (text-output rules: `ehr_result_message`): small enough
/// for a QR code on a printed report.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_proof_to_text(
    proof: *const ehr_signed_proof,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(proof, buf, len, out_len, "proof", |p| Ok(p.proof.to_text()))
}

/// Writes the proof's JSON form (domain, statement with its author and
/// role, signature, batch, siblings) as NUL-terminated text into `buf`
/// (text-output rules: `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_proof_to_json(
    proof: *const ehr_signed_proof,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(proof, buf, len, out_len, "proof", |p| Ok(p.proof.to_json()))
}

/// Verifies the proof on its own: the statement's leaf leads to the proof's
/// root and its author (an externally owned account) signed it. `EHR_OK`,
/// `EHR_PROOF_INVALID` or `EHR_SIGNATURE_WRONG_SIGNER`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_proof_verify(proof: *const ehr_signed_proof) -> ehr_result {
    guard_on(proof, "proof", |p| Ok(p.proof.verify()?))
}

/// Verifies the proof against what the host read from the chain it trusts:
/// `anchor_json`, a `SignedBatchAnchor` (`{"domain": {"chainId",
/// "registry"}, "batch": {"root", "leafCount", "batchId"?}, "anchoredAt"}`,
/// milliseconds) and `roles_json`, a `RoleHistory` (`{"allowed":
/// [{"templateId", "role"}], "terms": [{"role", "account", "grantedAt",
/// "revokedAt"?}]}`, from the registry's `roleTermsOf`). `EHR_OK`, or the
/// first failed check's code (`EHR_PROOF_INVALID`,
/// `EHR_PROOF_ANCHOR_MISMATCH`, `EHR_SIGNATURE_WRONG_SIGNER`,
/// `EHR_AUTHOR_ROLE_NOT_ALLOWED`, `EHR_AUTHOR_ROLE_NOT_HELD`,
/// `EHR_INVALID_JSON`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_proof_verify_anchored(
    proof: *const ehr_signed_proof,
    anchor_json: *const c_char,
    anchor_json_len: usize,
    roles_json: *const c_char,
    roles_json_len: usize,
) -> ehr_result {
    guard_on(proof, "proof", |p| {
        let anchor: SignedBatchAnchor = from_json(
            ptr::text(anchor_json, anchor_json_len, "anchor_json")?,
            |e| format!("anchor_json is not a signed batch's anchor: {e}"),
        )?;
        let roles = RoleHistory::from_json(ptr::text(roles_json, roles_json_len, "roles_json")?)?;
        Ok(p.proof.verify_anchored(&anchor, &roles)?)
    })
}

/// Frees a signed record's proof; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_proof_free(proof: *mut ehr_signed_proof) {
    free(proof);
}
