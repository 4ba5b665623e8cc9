//! The consent contract's own operations from C (`docs/consent.md`, "From
//! C"): a patient's statements (a grant or a revocation, as JSON) made into
//! the EIP-712 typed data and digest a wallet or HSM signs, signed with an
//! `ehr_signer`, and relayed; a custodian binding a patient's account; a
//! recipient publishing its key. Each writes the transaction as JSON
//! `{"chainId", "to", "calldata"}` (the form of `ehr_disclosure_transaction`),
//! which the host sends with its own client or with
//! `ehr_transport_send_consent`. Statements, calls and the rule telling a
//! grant from a revocation are the core's (`ehrchain_core::consent_abi`).

use std::ffi::c_char;

use alloy_sol_types::SolCall;
use ehrchain_core::consent_abi::{ConsentDomain, ConsentStatement, IEhrConsent};
use ehrchain_core::sharing::ConsentTransaction;

use crate::capsule;
use crate::ptr::{self, OutArray};
use crate::result::{Result, ehr_result, guard};
use crate::shapes::{from_json, guard_on, json_text, write_json};
use crate::sharing::{ehr_sharing_context, sharing_context};
use crate::signer::ehr_signer;

/// The EIP-712 domain of `context`: its chain and `EhrConsent` contract.
fn domain(context: *const ehr_sharing_context) -> Result<ConsentDomain> {
    let c = sharing_context(context)?;
    Ok(ConsentDomain {
        chain_id: c.chain_id,
        consent: c.consent,
    })
}

/// The statement at `statement_json` (`statement_json_len` bytes of UTF-8).
fn statement(statement_json: *const c_char, statement_json_len: usize) -> Result<ConsentStatement> {
    let text = ptr::text(statement_json, statement_json_len, "statement_json")?;
    from_json(text, |e| {
        format!(
            "statement_json is not a consent statement: a grant {{\"subject\", \"patient\", \"recipient\", \"templateIds\", \"expiresAt\", \"nonce\", \"deadline\"}} or a revocation {{\"grantId\", \"patient\", \"deadline\"}} ({e})"
        )
    })
}

/// Writes the transaction calling `calldata` on the consent contract of
/// `context` as JSON into `buf` (text-output rules).
fn write_transaction(
    context: *const ehr_sharing_context,
    calldata: Vec<u8>,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> Result<()> {
    let c = sharing_context(context)?;
    let tx = ConsentTransaction {
        chain_id: c.chain_id,
        to: c.consent,
        calldata: calldata.into(),
    };
    write_json(buf, len, out_len, &tx)
}

/// Writes the `eth_signTypedData_v4` JSON of the consent statement in
/// `statement_json` (`statement_json_len` bytes: a grant `{"subject",
/// "patient", "recipient", "templateIds", "expiresAt", "nonce",
/// "deadline"}`, or a revocation `{"grantId", "patient", "deadline"}`;
/// hex for bytes and addresses, Unix seconds for times) under the chain and
/// `EhrConsent` of `context` into `buf` (text-output rules:
/// `ehr_result_message`): what the patient's wallet shows and signs.
/// `EHR_INVALID_JSON` for a malformed statement.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_consent_typed_data(
    context: *const ehr_sharing_context,
    statement_json: *const c_char,
    statement_json_len: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let domain = domain(context)?;
        let statement = statement(statement_json, statement_json_len)?;
        ptr::write_text(
            buf,
            len,
            out_len,
            &json_text(&statement.typed_data(&domain))?,
        )
    })
}

/// Writes the 32-byte EIP-712 digest of the consent statement in
/// `statement_json` (as `ehr_consent_typed_data`) under `context` to
/// `digest_out`: what the patient signs, and for a grant its grant id (the
/// id `EhrConsent` stores it under, which `ehr_share_check_new` takes).
/// `EHR_INVALID_JSON` for a malformed statement.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_consent_signing_digest(
    context: *const ehr_sharing_context,
    statement_json: *const c_char,
    statement_json_len: usize,
    digest_out: *mut u8,
) -> ehr_result {
    guard(|| {
        let domain = domain(context)?;
        let statement = statement(statement_json, statement_json_len)?;
        let out = OutArray::<32>::new(digest_out, "digest_out")?;
        out.set(&statement.signing_hash(&domain).0);
        Ok(())
    })
}

/// Signs the consent statement in `statement_json` (as
/// `ehr_consent_typed_data`) under `context` with `signer` (the patient's
/// or guardian's key: a local key, or the host's `sign` callback, which is
/// handed the digest and the typed data) and writes the 65-byte signature
/// (`r ‖ s ‖ v`) to `signature_out`, for `ehr_consent_relay_transaction`.
/// The contract checks it when relayed: a signature not of the statement's
/// `patient` is refused there. `EHR_SIGNER_FAILED` when the signer makes
/// none; `EHR_INVALID_JSON` for a malformed statement.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signer_sign_consent(
    signer: *const ehr_signer,
    context: *const ehr_sharing_context,
    statement_json: *const c_char,
    statement_json_len: usize,
    signature_out: *mut u8,
) -> ehr_result {
    guard_on(signer, "signer", |s| {
        let domain = domain(context)?;
        let statement = statement(statement_json, statement_json_len)?;
        let out = OutArray::<65>::new(signature_out, "signature_out")?;
        let digest = statement.signing_hash(&domain);
        out.set(
            &s.signer
                .sign_typed(&digest.0, &statement.typed_data(&domain))?,
        );
        Ok(())
    })
}

/// Writes the transaction relaying the consent statement in
/// `statement_json` (as `ehr_consent_typed_data`) with its patient's
/// `signature` (`signature_len` bytes; 65 for a key, more for a smart
/// account) as JSON `{"chainId", "to", "calldata"}` into `buf` (text-output
/// rules: `ehr_result_message`): `grantSigned` for a grant, `revokeSigned`
/// for a revocation. Anyone sends it (`ehr_transport_send_consent`): the
/// patient needs no ether. `EHR_INVALID_JSON` for a malformed statement.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_consent_relay_transaction(
    context: *const ehr_sharing_context,
    statement_json: *const c_char,
    statement_json_len: usize,
    signature: *const u8,
    signature_len: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let statement = statement(statement_json, statement_json_len)?;
        let signature = ptr::bytes(signature, signature_len, "signature")?;
        let calldata = statement.relay_call(signature.to_vec().into());
        write_transaction(context, calldata.to_vec(), buf, len, out_len)
    })
}

/// Writes the transaction binding the 20-byte `account` (the patient's, or
/// a guardian's) to the 32-byte pseudonym `subject` (`bindPatient`) as JSON
/// `{"chainId", "to", "calldata"}` into `buf` (text-output rules:
/// `ehr_result_message`), to send from a custodian's account (the
/// registry's `CUSTODIAN_ROLE`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_consent_bind_patient_transaction(
    context: *const ehr_sharing_context,
    subject: *const u8,
    account: *const u8,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let call = IEhrConsent::bindPatientCall {
            subject: ptr::b256(subject, "subject")?,
            account: ptr::address(account, "account")?,
        };
        write_transaction(context, call.abi_encode(), buf, len, out_len)
    })
}

/// Writes the transaction by which a recipient publishes (or rotates to)
/// its `public_key` (`public_key_len` bytes, of `suite`, an
/// `ehr_capsule_suite`): `publishRecipientKey(keyId, kem, keyHash)`, as JSON
/// `{"chainId", "to", "calldata"}` into `buf` (text-output rules:
/// `ehr_result_message`), to send from the recipient's account.
/// `EHR_RECIPIENT_KEY_INVALID` for a key that is not one of `suite`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_consent_publish_key_transaction(
    context: *const ehr_sharing_context,
    suite: u32,
    public_key: *const u8,
    public_key_len: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let key = capsule::public_key(suite, public_key, public_key_len)?;
        let call = IEhrConsent::publishRecipientKeyCall::of_key(&key);
        write_transaction(context, call.abi_encode(), buf, len, out_len)
    })
}
