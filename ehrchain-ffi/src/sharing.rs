//! Sharing a record with consent (`docs/consent.md`): the holder's share
//! check, the recipient's receive check and the patient's accounting, as
//! thin adapters over `ehrchain_core::sharing`. The core names the reads
//! (`eth_call`s at one mined block) and judges their answers; the host
//! makes the reads with its own client (`ehr_chain_reads_requests`) or over
//! a devnet or JSON-RPC transport (`ehr_transport_read`), and hands the
//! answers in as JSON.
//!
//! JSON shapes: reads `[{"to", "calldata"}]`; answers `{"block": {"number",
//! "time"}, "answers": ["0x…"]}` (time in Unix milliseconds, one answer per
//! read, in order).

use std::ffi::c_char;

use ehrchain_core::Address;
use ehrchain_core::rpc::BlockTag;
use ehrchain_core::rpc::RpcRequest;
use ehrchain_core::sharing::{
    AccountingQuery, ChainLog, ChainRead, ReadAnswers, ReceiveCheck, Received, Share, ShareCheck,
    SharingContext, SharingError, disclosure_transaction, read_blocking,
};
use rand_core::OsRng;
use serde_json::Value;

use crate::batch::ehr_proof;
use crate::capsule::{self, ehr_capsule};
use crate::keys::{ehr_key_store, read_envelope};
use crate::ptr::{self, Out};
use crate::result::{Result, ehr_result, guard};
use crate::shapes::{bytes_of, free, from_json, guard_on, json_text, text_of, write_json};
use crate::signed_proof::ehr_signed_proof;
use crate::transport::ehr_transport;

/// Where consent lives: the chain, the registry that anchors records (and
/// holds the roles), and the `EhrConsent` contract.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ehr_sharing_context {
    /// `sizeof(ehr_sharing_context)` as the host's header declares it
    /// (`EHR_SHARING_CONTEXT_INIT` sets it): which of the fields below
    /// the host's struct has (README, "Extensible structs").
    pub struct_size: usize,
    /// The EIP-155 chain id.
    pub chain_id: u64,
    /// The `EhrRegistry` contract's 20-byte address.
    pub registry: [u8; 20],
    /// The `EhrConsent` contract's 20-byte address.
    pub consent: [u8; 20],
}

/// The core's context for the C `context`.
pub(crate) fn sharing_context(context: *const ehr_sharing_context) -> Result<SharingContext> {
    let c = ptr::extensible(context, "context")?;
    Ok(SharingContext {
        chain_id: c.chain_id,
        registry: Address::from(c.registry),
        consent: Address::from(c.consent),
    })
}

/// The answers at `answers_json` (`answers_json_len` bytes of UTF-8).
fn answers(answers_json: *const c_char, answers_json_len: usize) -> Result<ReadAnswers> {
    from_json(
        ptr::text(answers_json, answers_json_len, "answers_json")?,
        |e| {
            format!(
                "answers_json is not {{\"block\": {{\"number\", \"time\"}}, \"answers\": [\"0x…\"]}}: {e}"
            )
        },
    )
}

/// The holder's check before sharing one record with one recipient
/// (`ehr_share_check_new`).
///
/// Thread safety: immutable; may be used from several threads at once.
pub struct ehr_share_check {
    check: ShareCheck,
}

/// Makes the holder's check of sharing `envelope` (`envelope_len` bytes;
/// its record hash, pseudonym and template come from it) with the 20-byte
/// `recipient` under `authority` (an `ehr_capsule_authority`) and
/// `grant_id` (32 bytes; all zeros for an emergency). Its reads
/// (`ehr_share_check_reads`) are `mayReceive`, `grantOf` and
/// `recipientKeyOf` on `EhrConsent`. Free it with `ehr_share_check_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_share_check_new(
    context: *const ehr_sharing_context,
    envelope: *const u8,
    envelope_len: usize,
    recipient: *const u8,
    authority: u32,
    grant_id: *const u8,
    check_out: *mut *mut ehr_share_check,
) -> ehr_result {
    guard(|| {
        let context = sharing_context(context)?;
        let envelope = read_envelope(envelope, envelope_len)?;
        let recipient = ptr::address(recipient, "recipient")?;
        let grant_id = ptr::array::<32>(grant_id, "grant_id")?;
        let authority = capsule::authority(authority, grant_id, "authority")?;
        let out = Out::new(check_out, "check_out")?;
        out.give(ehr_share_check {
            check: ShareCheck::new(&context, &envelope, recipient, authority),
        });
        Ok(())
    })
}

/// Writes the check's reads as JSON (`[{"to", "calldata"}]`, in order) into
/// `buf` (text-output rules: `ehr_result_message`): make them at one mined
/// block (`ehr_chain_reads_requests` or `ehr_transport_read`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_share_check_reads(
    check: *const ehr_share_check,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(check, buf, len, out_len, "check", |c| {
        json_text(&c.check.reads())
    })
}

/// A capsule made: the capsule, its disclosure and the block consent was
/// read at (`ehr_share_check_seal`).
///
/// Thread safety: immutable; may be used from several threads at once.
pub struct ehr_share {
    share: Share,
}

/// Seals the record's key for the recipient once `answers_json` (the answers
/// to `ehr_share_check_reads`, at one mined block) say that it may receive
/// the record and that `public_key` (`public_key_len` bytes, of `suite`, an
/// `ehr_capsule_suite`) is the key it published. The record key is derived
/// from the master key the envelope names, fetched from `keys`. Free the
/// share with `ehr_share_free`. `EHR_CONSENT_NO_GRANT`,
/// `EHR_CONSENT_REVOKED`, `EHR_CONSENT_EXPIRED`, `EHR_CONSENT_WRONG_TEMPLATE`
/// or `EHR_CONSENT_NO_EMERGENCY_ROLE` when the recipient may not receive the
/// record at that block; `EHR_RECIPIENT_KEY_NOT_PUBLISHED` or
/// `EHR_RECIPIENT_KEY_MISMATCH` for the key; `EHR_INVALID_JSON` for answers
/// that are not JSON of that shape.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_share_check_seal(
    check: *const ehr_share_check,
    answers_json: *const c_char,
    answers_json_len: usize,
    suite: u32,
    public_key: *const u8,
    public_key_len: usize,
    keys: *const ehr_key_store,
    share_out: *mut *mut ehr_share,
) -> ehr_result {
    guard_on(check, "check", |c| {
        let answers = answers(answers_json, answers_json_len)?;
        let recipient = capsule::public_key(suite, public_key, public_key_len)?;
        let keys = ptr::handle(keys, "keys")?;
        let out = Out::new(share_out, "share_out")?;
        let share = c.check.seal(&answers, &recipient, &keys.keys, &mut OsRng)?;
        out.give(ehr_share { share });
        Ok(())
    })
}

/// Frees a share check; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_share_check_free(check: *mut ehr_share_check) {
    free(check);
}

/// Hands out the share's key capsule as a new `ehr_capsule` (its bytes:
/// `ehr_capsule_to_bytes`), for the recipient. Free it with
/// `ehr_capsule_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_share_capsule(
    share: *const ehr_share,
    capsule_out: *mut *mut ehr_capsule,
) -> ehr_result {
    guard_on(share, "share", |s| {
        Out::new(capsule_out, "capsule_out")?.give(ehr_capsule {
            capsule: s.share.capsule.clone(),
        });
        Ok(())
    })
}

/// Writes the share as JSON (`{"capsule", "disclosure": {"capsuleDigest",
/// "recipient", "subject", "templateId", "recordHash"}, "authority",
/// "checkedAt": {"number", "time"}}`) into `buf` (text-output rules:
/// `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_share_to_json(
    share: *const ehr_share,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(share, buf, len, out_len, "share", |s| json_text(&s.share))
}

/// Frees a share; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_share_free(share: *mut ehr_share) {
    free(share);
}

/// Writes the transaction that records the disclosures of the `count`
/// shares at `shares` (`recordDisclosure` for one, `recordDisclosures`, all
/// or none, for several) as JSON (`{"chainId", "to", "calldata"}`) into
/// `buf` (text-output rules: `ehr_result_message`). Send it to `to` from a
/// custodian's account.
/// `EHR_ZERO_LENGTH` for no share.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_disclosure_transaction(
    context: *const ehr_sharing_context,
    shares: *const *const ehr_share,
    count: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let context = sharing_context(context)?;
        let disclosures: Vec<_> = ptr::handles(shares, count, "shares")?
            .iter()
            .map(|s| s.share.disclosure.clone())
            .collect();
        let tx = disclosure_transaction(&context, &disclosures)?;
        write_json(buf, len, out_len, &tx)
    })
}

/// The recipient's check of a shared record (`ehr_receive_check_new`).
///
/// Thread safety: immutable; may be used from several threads at once.
pub struct ehr_receive_check {
    check: ReceiveCheck,
    /// The capsule checked, whose recipient key the key store is asked for.
    capsule: ehrchain_core::capsule::KeyCapsule,
}

/// Makes the recipient's check of `capsule`, received by the 20-byte
/// `recipient`, for `envelope` (`envelope_len` bytes) of a record anchored
/// alone. Its reads (`ehr_receive_check_reads`) are `mayReceive` and
/// `grantOf` on `EhrConsent` and `recordHashOf` on the registry. Free it
/// with `ehr_receive_check_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_receive_check_new(
    context: *const ehr_sharing_context,
    recipient: *const u8,
    capsule: *const ehr_capsule,
    envelope: *const u8,
    envelope_len: usize,
    check_out: *mut *mut ehr_receive_check,
) -> ehr_result {
    guard(|| {
        let args = (context, recipient, capsule, envelope, envelope_len);
        receive_check(args, Ok, check_out)
    })
}

/// Makes the recipient's check of a record anchored in a Merkle batch, as
/// `ehr_receive_check_new` with the record's inclusion `proof`: its last
/// read is the registry's `batchOf` of the proof's root (instead of
/// `recordHashOf`), and the evidence names the batch. `EHR_PROOF_INVALID`
/// when the proof is of another record or does not lead to its root.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_receive_check_new_batched(
    context: *const ehr_sharing_context,
    recipient: *const u8,
    capsule: *const ehr_capsule,
    proof: *const ehr_proof,
    envelope: *const u8,
    envelope_len: usize,
    check_out: *mut *mut ehr_receive_check,
) -> ehr_result {
    guard(|| {
        let proof = ptr::handle(proof, "proof")?.proof.clone();
        let args = (context, recipient, capsule, envelope, envelope_len);
        receive_check(args, |check| check.with_proof(proof), check_out)
    })
}

/// Makes the recipient's check of a record anchored in a signed batch, as
/// `ehr_receive_check_new_batched` with the record's signed `proof`
/// (version 2): its reads add the registry's `isRoleAllowed` and
/// `roleTermsOf` of the statement's role and author, and the evidence
/// (`"kind": "signed_batch"`) names the batch. `EHR_PROOF_INVALID` when the
/// statement is of another record or the proof does not lead to its root;
/// `EHR_SIGNATURE_*` when its author did not sign it; at
/// `ehr_receive_check_open` also `EHR_AUTHOR_ROLE_NOT_ALLOWED` and
/// `EHR_AUTHOR_ROLE_NOT_HELD`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_receive_check_new_signed(
    context: *const ehr_sharing_context,
    recipient: *const u8,
    capsule: *const ehr_capsule,
    proof: *const ehr_signed_proof,
    envelope: *const u8,
    envelope_len: usize,
    check_out: *mut *mut ehr_receive_check,
) -> ehr_result {
    guard(|| {
        let proof = ptr::handle(proof, "proof")?.proof.clone();
        let args = (context, recipient, capsule, envelope, envelope_len);
        receive_check(args, |check| check.with_signed_proof(proof), check_out)
    })
}

/// The common arguments of the `ehr_receive_check_new*` functions:
/// context, recipient, capsule, envelope and its length.
type ReceiveArgs = (
    *const ehr_sharing_context,
    *const u8,
    *const ehr_capsule,
    *const u8,
    usize,
);

/// The body of the `ehr_receive_check_new*` functions: the check of
/// `args`, given its proof by `with`.
fn receive_check(
    (context, recipient, capsule, envelope, envelope_len): ReceiveArgs,
    with: impl FnOnce(ReceiveCheck) -> std::result::Result<ReceiveCheck, SharingError>,
    check_out: *mut *mut ehr_receive_check,
) -> Result<()> {
    let context = sharing_context(context)?;
    let recipient = ptr::address(recipient, "recipient")?;
    let capsule = ptr::handle(capsule, "capsule")?.capsule.clone();
    let envelope = read_envelope(envelope, envelope_len)?;
    let out = Out::new(check_out, "check_out")?;
    let check = with(ReceiveCheck::new(
        &context,
        recipient,
        capsule.clone(),
        envelope,
    ))?;
    out.give(ehr_receive_check { check, capsule });
    Ok(())
}

/// Writes the check's reads as JSON (`[{"to", "calldata"}]`, in order) into
/// `buf` (text-output rules: `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_receive_check_reads(
    check: *const ehr_receive_check,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(check, buf, len, out_len, "check", |c| {
        json_text(&c.check.reads())
    })
}

/// A shared record opened and checked, with its evidence
/// (`ehr_receive_check_open`).
///
/// Thread safety: immutable; may be used from several threads at once.
pub struct ehr_received {
    received: Received,
}

/// Opens the capsule with the recipient's private key, fetched from `keys`
/// by the key id the capsule names (an in-memory store's
/// `ehr_key_store_insert_recipient_key`, or the `recipient_key` callback,
/// so that it can live in an HSM), opens the envelope, and checks against
/// `answers_json` (the answers to `ehr_receive_check_reads`, at one mined
/// block) that the registry anchors the record and that the grant held.
/// Free the result with `ehr_received_free`. The capsule codes of
/// `ehr_capsule_open_envelope`; `EHR_RECORD_NOT_ANCHORED`,
/// `EHR_RECORD_ANCHOR_MISMATCH`; for a batched record
/// `EHR_PROOF_NOT_ANCHORED` (no batch under the proof's root) and
/// `EHR_PROOF_ANCHOR_MISMATCH` (another leaf count); `EHR_CONSENT_REVOKED` and the other consent
/// codes of `ehr_share_check_seal`; `EHR_INVALID_JSON`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_receive_check_open(
    check: *const ehr_receive_check,
    answers_json: *const c_char,
    answers_json_len: usize,
    keys: *const ehr_key_store,
    received_out: *mut *mut ehr_received,
) -> ehr_result {
    guard_on(check, "check", |c| {
        let answers = answers(answers_json, answers_json_len)?;
        let out = Out::new(received_out, "received_out")?;
        let key = capsule::recipient_key(&c.capsule, keys)?;
        let received = c.check.open(&answers, &key)?;
        out.give(ehr_received { received });
        Ok(())
    })
}

/// Frees a receive check; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_receive_check_free(check: *mut ehr_receive_check) {
    free(check);
}

/// Writes the record's plaintext into `buf` (byte-output rules:
/// `ehr_envelope_open`). Clinical data: clear it when done.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_received_record(
    received: *const ehr_received,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    bytes_of(received, buf, len, out_len, "received", |r| {
        Ok(r.received.record.as_slice().into())
    })
}

/// Writes the evidence as JSON (`{"chainId", "registry", "consent",
/// "recordHash", "tiId", "subject", "templateId", "authority",
/// "capsuleDigest", "anchor", "checkedAt"}`; `anchor` is `{"kind":
/// "record"}`, or `{"kind": "batch" or "signed_batch", "root", "leafCount",
/// "anchoredAt", "submitter", "proof"}`, docs/consent.md) into `buf`
/// (text-output rules:
/// `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_received_evidence(
    received: *const ehr_received,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(received, buf, len, out_len, "received", |r| {
        json_text(&r.received.evidence)
    })
}

/// Frees a received record (its plaintext is zeroized); NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_received_free(received: *mut ehr_received) {
    free(received);
}

/// Writes the `eth_call` requests of the reads in `reads_json`
/// (`reads_json_len` bytes: `ehr_share_check_reads` or
/// `ehr_receive_check_reads`), pinned to the mined block `block_number`, as
/// a JSON-RPC batch (an array of request objects with ids from `first_id`)
/// into `buf` (text-output rules: `ehr_result_message`). Their results, in
/// order, with that block's number and time, are the answers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_chain_reads_requests(
    reads_json: *const c_char,
    reads_json_len: usize,
    block_number: u64,
    first_id: u64,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let reads = self::reads(reads_json, reads_json_len)?;
        let requests = reads.iter().map(|r| r.request(block_number));
        let body = RpcRequest::batch_body(requests, first_id);
        ptr::write_text(buf, len, out_len, &body)
    })
}

/// The reads at `reads_json` (`reads_json_len` bytes of UTF-8).
fn reads(reads_json: *const c_char, reads_json_len: usize) -> Result<Vec<ChainRead>> {
    from_json(ptr::text(reads_json, reads_json_len, "reads_json")?, |e| {
        format!("reads_json is not [{{\"to\", \"calldata\"}}]: {e}")
    })
}

/// Makes the reads in `reads_json` (`reads_json_len` bytes) at the newest
/// mined block of `transport` (blocking) and writes the answers as JSON
/// (`{"block": {"number", "time"}, "answers"}`) into `buf` (text-output
/// rules: `ehr_result_message`), for `ehr_share_check_seal` or
/// `ehr_receive_check_open`. Devnet and JSON-RPC transports;
/// `EHR_INVALID_ARGUMENT` for a callback transport, whose callbacks make no
/// `eth_call` (make the reads with the host's client:
/// `ehr_chain_reads_requests`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_read(
    transport: *mut ehr_transport,
    reads_json: *const c_char,
    reads_json_len: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let reads = self::reads(reads_json, reads_json_len)?;
        let transport = ptr::handle_mut(transport, "transport")?;
        let answers = read_blocking(transport.inner.chain_reader()?, &reads)?;
        write_json(buf, len, out_len, &answers)
    })
}

/// The accounting query of the 20-byte `consent` contract and the 32-byte
/// pseudonym `subject`.
fn accounting_query(consent: *const u8, subject: *const u8) -> Result<AccountingQuery> {
    Ok(AccountingQuery {
        consent: ptr::address(consent, "consent")?,
        subject: ptr::b256(subject, "subject")?,
    })
}

/// Writes the two `eth_getLogs` requests of the accounting of pseudonym
/// `subject` (32 bytes) on the `consent` contract (20 bytes), from block
/// `from_block` to the latest, as a JSON-RPC batch (ids `first_id` and
/// `first_id + 1`) into `buf` (text-output rules: `ehr_result_message`):
/// the disclosures, then the grants and revocations.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_accounting_requests(
    consent: *const u8,
    subject: *const u8,
    from_block: u64,
    first_id: u64,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let query = accounting_query(consent, subject)?;
        let requests = query.requests(BlockTag::Number(from_block), BlockTag::Latest);
        let body = RpcRequest::batch_body(requests, first_id);
        ptr::write_text(buf, len, out_len, &body)
    })
}

/// Writes the accounting of pseudonym `subject` (32 bytes) on the `consent`
/// contract (20 bytes) as JSON (`{"disclosures": [{"recipient",
/// "recordHash", "templateId", "authority", "capsuleDigest", "custodian",
/// "blockNumber", "transactionHash", "blockTime"}], "grants": [{"grantId",
/// "recipient", "patient", "templateIds", "expiresAt", "grantedIn",
/// "revokedIn"}]}`) into `buf` (text-output rules: `ehr_result_message`),
/// from `logs_json` (`logs_json_len` bytes): a JSON array of `eth_getLogs`
/// results (each an array of logs, as the node returned it), such as the
/// results of `ehr_accounting_requests`. Logs of other contracts,
/// pseudonyms or events are left out. `EHR_TRANSPORT_MALFORMED` for a result
/// that is no array of logs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_accounting(
    consent: *const u8,
    subject: *const u8,
    logs_json: *const c_char,
    logs_json_len: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let query = accounting_query(consent, subject)?;
        let results: Vec<Value> =
            from_json(ptr::text(logs_json, logs_json_len, "logs_json")?, |e| {
                format!("logs_json is not an array of eth_getLogs results: {e}")
            })?;
        let mut logs = Vec::new();
        for result in &results {
            logs.extend(ChainLog::from_rpc(result)?);
        }
        write_json(buf, len, out_len, &query.accounting(&logs))
    })
}
