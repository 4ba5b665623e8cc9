//! `ehr_handshaker`: the Transaction Generator (TG) and Validator (TV) behind
//! one handle; `ehr_tc` (a generated transaction) and `ehr_ack` (a verdict).

use std::ffi::c_char;

use ehrchain_core::{
    Ack, AckStatus, ChainTransaction, Clock, ErrorCode, Handshaker, SystemClock,
    TransactionGenerator, UnixMillis,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, OsRng, RngCore, SeedableRng};

use crate::batch::ehr_proof;
use crate::cancel::{blocking, ehr_cancel};
use crate::config::ehr_handshaker_config;
use crate::keys::{FfiKeyStore, ehr_key_store};
use crate::ptr::{self, Out, OutArray, OutExtensible};
use crate::result::{Error, ehr_result, guard};
use crate::shapes::{
    bytes_of, free, from_json, guard_on, guard_on_mut, handle_of, json_text, parsed, text_of,
    word_of,
};
use crate::templates::ehr_templates;
use crate::ti::ehr_ti;
use crate::transport::ehr_transport;

/// The randomness of envelope nonces.
#[derive(Debug)]
pub(crate) enum Rng {
    Os(OsRng),
    Seeded(Box<ChaCha20Rng>),
}

impl RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        match self {
            Self::Os(r) => r.next_u32(),
            Self::Seeded(r) => r.next_u32(),
        }
    }
    fn next_u64(&mut self) -> u64 {
        match self {
            Self::Os(r) => r.next_u64(),
            Self::Seeded(r) => r.next_u64(),
        }
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        match self {
            Self::Os(r) => r.fill_bytes(dest),
            Self::Seeded(r) => r.fill_bytes(dest),
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        match self {
            Self::Os(r) => r.try_fill_bytes(dest),
            Self::Seeded(r) => r.try_fill_bytes(dest),
        }
    }
}

impl CryptoRng for Rng {}

/// The system clock in Unix milliseconds, the unit of every `now_ms` this API
/// takes (a TI's own `timestamp` is in Unix seconds: divide by 1000). 0 if
/// the system clock is set before 1970.
#[unsafe(no_mangle)]
pub extern "C" fn ehr_clock_now_ms() -> u64 {
    SystemClock.now().as_millis()
}

/// The blockchain handshaker: checks TIs against their templates, seals
/// their records, builds their transactions (TCs) and runs them through a
/// transport to their ACKs.
///
/// Thread safety: a handle may be moved to another thread, but not used from
/// two threads at once (it holds a random generator); use one per thread or
/// lock around it. The key store callbacks run on the calling thread.
pub struct ehr_handshaker {
    pub(crate) hs: Handshaker<FfiKeyStore>,
    pub(crate) rng: Rng,
}

/// Makes a handshaker over copies of `templates` and `keys` with `config`
/// (`ehr_handshaker_config_builder`). Fails with `EHR_KEY_UNKNOWN` when the
/// sealing or the pseudonym key is not in `keys` (a callback key store is
/// asked for both now). Envelope nonces come from the operating system's
/// generator (see `ehr_handshaker_set_seed`). Free it with
/// `ehr_handshaker_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_new(
    templates: *const ehr_templates,
    keys: *const ehr_key_store,
    config: *const ehr_handshaker_config,
    handshaker_out: *mut *mut ehr_handshaker,
) -> ehr_result {
    guard_on(templates, "templates", |templates| {
        let keys = ptr::handle(keys, "keys")?;
        let config = ptr::handle(config, "config")?;
        let out = Out::new(handshaker_out, "handshaker_out")?;
        let tg = TransactionGenerator::new(config.generator.clone(), keys.keys.clone())?;
        out.give(ehr_handshaker {
            hs: Handshaker::new(templates.registry.clone(), tg, config.validator),
            rng: Rng::Os(OsRng),
        });
        Ok(())
    })
}

/// Replaces the handshaker's templates with a copy of `templates`: a
/// template loaded, activated or deactivated since it was made
/// (`ehr_templates_add_json`, `ehr_templates_deactivate`) takes effect for
/// the TIs generated from now on, as Rust's `Handshaker::templates_mut`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_set_templates(
    handshaker: *mut ehr_handshaker,
    templates: *const ehr_templates,
) -> ehr_result {
    guard_on_mut(handshaker, "handshaker", |hs| {
        let templates = ptr::handle(templates, "templates")?;
        *hs.hs.templates_mut() = templates.registry.clone();
        Ok(())
    })
}

/// Draws envelope nonces from a ChaCha20 generator seeded with the 32 bytes
/// at `seed` from now on: for reproducible tests and benchmarks only (a
/// repeated nonce under the same key breaks AES-GCM).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_set_seed(
    handshaker: *mut ehr_handshaker,
    seed: *const u8,
) -> ehr_result {
    guard_on_mut(handshaker, "handshaker", |hs| {
        let seed = ptr::array::<32>(seed, "seed")?;
        hs.rng = Rng::Seeded(Box::new(ChaCha20Rng::from_seed(seed)));
        Ok(())
    })
}

/// The Transaction Generator: checks `ti` against its template, seals its
/// record and builds its transaction (TC). `now_ms` is the host's clock in
/// Unix milliseconds (`ehr_clock_now_ms`); the TI's timestamp (Unix seconds)
/// may lie at most the configured `max_clock_skew_ms` ahead of it.
/// `EHR_TI_REJECTED` when the TI breaks its template
/// (`ehr_last_violations` lists every violation). Free the TC with
/// `ehr_tc_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_generate(
    handshaker: *mut ehr_handshaker,
    ti: *const ehr_ti,
    now_ms: u64,
    tc_out: *mut *mut ehr_tc,
) -> ehr_result {
    guard_on_mut(handshaker, "handshaker", |hs| {
        let ti = ptr::handle(ti, "ti")?;
        let out = Out::new(tc_out, "tc_out")?;
        let tc = hs.hs.generator().generate(
            hs.hs.templates(),
            &ti.ti,
            UnixMillis(now_ms),
            &mut hs.rng,
        )?;
        out.give(ehr_tc { tc });
        Ok(())
    })
}

/// Submits `ti` and blocks until its ACK: generates the TC, sends it through
/// `transport`, waits for the configured confirmations (sleeping on the
/// system clock between polls) and writes the ACK to `ack_out`. Succeeds
/// whenever an ACK was made, valid (store the record) or invalid (keep it for
/// audit: a TI that breaks its template, a revert, a permanent transport
/// error). An outage is waited out, up to `deadline_ms` (Unix milliseconds;
/// 0 for none) or until `cancel` (NULL for none) is signalled: then
/// `EHR_STILL_PENDING` and no ACK. Without an outbox nothing can resume that
/// TI (its transaction may still be mined): a host that sets a deadline
/// uses `ehr_handshaker_submit_durably`. A key store that does not answer
/// is no verdict on the TI: `EHR_KEY_STORE_UNAVAILABLE` (retryable) and no
/// ACK, nothing sent. Free the ACK with `ehr_ack_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_submit(
    handshaker: *mut ehr_handshaker,
    ti: *const ehr_ti,
    transport: *mut ehr_transport,
    deadline_ms: u64,
    cancel: *const ehr_cancel,
    ack_out: *mut *mut ehr_ack,
) -> ehr_result {
    guard(|| {
        let hs = ptr::handle_mut(handshaker, "handshaker")?;
        let ti = ptr::handle(ti, "ti")?;
        let (transport, until) = blocking(transport, deadline_ms, cancel)?;
        let out = Out::new(ack_out, "ack_out")?;
        let ack = hs
            .hs
            .submit(&ti.ti, transport, &mut SystemClock, &mut hs.rng, &until)?
            .acked()?;
        out.give(ehr_ack { ack });
        Ok(())
    })
}

/// Writes the 32-byte on-chain pseudonym of the hospital's patient
/// identifier `patient_id` to `pseudonym_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_pseudonym(
    handshaker: *const ehr_handshaker,
    patient_id: *const c_char,
    patient_id_len: usize,
    pseudonym_out: *mut u8,
) -> ehr_result {
    guard_on(handshaker, "handshaker", |hs| {
        let patient_id = ptr::text(patient_id, patient_id_len, "patient_id")?;
        let out = OutArray::<32>::new(pseudonym_out, "pseudonym_out")?;
        out.set(&hs.hs.generator().pseudonym(patient_id).0);
        Ok(())
    })
}

/// Frees a handshaker; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_free(handshaker: *mut ehr_handshaker) {
    free(handshaker);
}

/// A blockchain transaction (TC) ready for a transport, with the sealed
/// record it anchors.
///
/// Thread safety: immutable; may be used from several threads at once.
pub struct ehr_tc {
    pub(crate) tc: ChainTransaction,
}

/// Writes the TC's 32-byte TI id to `out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_tc_ti_id(tc: *const ehr_tc, out: *mut u8) -> ehr_result {
    word_of(tc, out, "tc", "out", |tc| tc.tc.ti_id.0)
}

/// Writes the TC's 32-byte record hash (SHA-256 of the sealed envelope, the
/// value anchored on chain) to `out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_tc_record_hash(tc: *const ehr_tc, out: *mut u8) -> ehr_result {
    word_of(tc, out, "tc", "out", |tc| tc.tc.record_hash.0)
}

/// Writes the 32-byte patient pseudonym the TC carries (zeros for templates
/// without a patient) to `out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_tc_patient(tc: *const ehr_tc, out: *mut u8) -> ehr_result {
    word_of(tc, out, "tc", "out", |tc| tc.tc.patient.0)
}

/// Writes the 20-byte address of the contract the TC calls to `out` and its
/// chain id to `chain_id_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_tc_destination(
    tc: *const ehr_tc,
    out: *mut u8,
    chain_id_out: *mut u64,
) -> ehr_result {
    guard_on(tc, "tc", |tc| {
        let to = OutArray::<20>::new(out, "out")?;
        let chain_id = Out::new(chain_id_out, "chain_id_out")?;
        to.set(&tc.tc.to.0.0);
        chain_id.set(tc.tc.chain_id);
        Ok(())
    })
}

/// Writes the TC's ABI-encoded calldata into `buf` (byte-output rules:
/// `ehr_envelope_open`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_tc_calldata(
    tc: *const ehr_tc,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    bytes_of(tc, buf, len, out_len, "tc", |tc| {
        Ok(tc.tc.calldata[..].into())
    })
}

/// Writes the TC's sealed record envelope into `buf` (byte-output rules:
/// `ehr_envelope_open`): what the host's database or blob store keeps.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_tc_envelope(
    tc: *const ehr_tc,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    bytes_of(tc, buf, len, out_len, "tc", |tc| {
        Ok(tc.tc.envelope.as_bytes().into())
    })
}

/// Frees a TC; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_tc_free(tc: *mut ehr_tc) {
    free(tc);
}

/// The acknowledgement of one TI: what the host's database stores.
///
/// Thread safety: immutable; may be used from several threads at once.
pub struct ehr_ack {
    pub(crate) ack: Ack,
}

/// An ACK's main facts as a plain struct (`ehr_ack_to_summary`; `ehr_ack_to_json` has
/// all of them).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ehr_ack_summary {
    /// `sizeof(ehr_ack_summary)` as the host's header declares it
    /// (`EHR_ACK_SUMMARY_INIT` sets it): which of the fields below
    /// the host's struct has (README, "Extensible structs").
    pub struct_size: usize,
    /// Anchored and confirmed: store the record. Otherwise keep it for audit.
    pub valid: bool,
    /// Valid because the registry already held this record (a retried or
    /// duplicated submission): anchored exactly once.
    pub replay: bool,
    /// Valid from reading the registry rather than from a receipt.
    pub recovered: bool,
    /// Invalid, and the host may run the same TC again later (idempotent).
    pub may_rerun: bool,
    /// The TI id.
    pub ti_id: [u8; 32],
    /// The template the TI follows.
    pub template_id: [u8; 32],
    /// Whether `record_hash` is set (a record was sealed).
    pub has_record_hash: bool,
    /// The record hash.
    pub record_hash: [u8; 32],
    /// Whether `tx_hash` and `block_number` are set (a valid ACK from a
    /// receipt).
    pub has_tx_hash: bool,
    /// The transaction whose receipt gave the verdict.
    pub tx_hash: [u8; 32],
    /// Its block.
    pub block_number: u64,
    /// Whether the record was anchored in a batch (`ehr_ack_proof` gives its
    /// inclusion proof).
    pub has_proof: bool,
    /// Whether the TI was signed by its author (`author` is set;
    /// `ehr_ack_signature` gives the signature).
    pub has_author: bool,
    /// The 20-byte account that signed the TI's statement.
    pub author: [u8; 20],
}

/// Writes the ACK's main facts, as a plain struct, to `summary_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_ack_to_summary(
    ack: *const ehr_ack,
    summary_out: *mut ehr_ack_summary,
) -> ehr_result {
    guard(|| {
        let ack = &ptr::handle(ack, "ack")?.ack;
        let out = OutExtensible::new(summary_out, "summary_out")?;
        let mut s = ehr_ack_summary {
            valid: ack.is_valid(),
            ti_id: ack.ti_id.0,
            template_id: ack.template_id.0,
            has_record_hash: ack.record_hash.is_some(),
            record_hash: ack.record_hash.unwrap_or_default().0,
            has_author: ack.authorship.is_some(),
            author: ack.author().unwrap_or_default().0.0,
            ..ehr_ack_summary::default()
        };
        match &ack.status {
            AckStatus::Valid(anchor) => {
                s.replay = anchor.replay;
                s.recovered = anchor.is_recovered();
                s.has_proof = anchor.batch.is_some();
                if let (Some(tx), Some(block)) = (anchor.tx_hash, anchor.block_number) {
                    s.has_tx_hash = true;
                    s.tx_hash = tx.0.0;
                    s.block_number = block;
                }
            }
            AckStatus::Invalid { reason, .. } => s.may_rerun = reason.may_rerun(),
        }
        out.set(s);
        Ok(())
    })
}

/// Writes the ACK as NUL-terminated JSON (the form to store; read it back
/// with `ehr_ack_from_json`) into `buf` (text-output rules:
/// `ehr_result_message`). The JSON includes the sealed envelope as hex.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_ack_to_json(
    ack: *const ehr_ack,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(ack, buf, len, out_len, "ack", |ack| json_text(&ack.ack))
}

/// Reads an ACK stored as JSON by `ehr_ack_to_json`. Free it with
/// `ehr_ack_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_ack_from_json(
    json: *const c_char,
    json_len: usize,
    ack_out: *mut *mut ehr_ack,
) -> ehr_result {
    parsed(json, json_len, ack_out, "json", "ack_out", |json| {
        let ack = from_json(json, |e| format!("the ACK JSON is malformed: {e}"))?;
        Ok(ehr_ack { ack })
    })
}

/// Writes why an invalid ACK's TI was not anchored, for people, as
/// NUL-terminated text into `buf` (text-output rules: `ehr_result_message`);
/// `EHR_NOT_PRESENT` for a valid ACK.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_ack_reason(
    ack: *const ehr_ack,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(ack, buf, len, out_len, "ack", |ack| {
        match ack.ack.reason() {
            Some(reason) => Ok(reason.to_string()),
            None => Err(not_present("the ACK is valid: it has no reason")),
        }
    })
}

/// Writes the ACK's sealed record envelope into `buf` (byte-output rules:
/// `ehr_envelope_open`); `EHR_NOT_PRESENT` when no record was sealed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_ack_envelope(
    ack: *const ehr_ack,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    ack_part(
        ack,
        (buf, len, out_len),
        "no record was sealed for this ACK's TI",
        |ack| ack.envelope.as_ref().map(|envelope| &envelope[..]),
    )
}

/// Writes the bytes `part` picks from the ACK into the byte output `out`
/// (byte-output rules: `ehr_envelope_open`); `EHR_NOT_PRESENT` with the
/// message `missing` when the ACK has no such part.
pub(crate) fn ack_part(
    ack: *const ehr_ack,
    (buf, len, out_len): (*mut u8, usize, *mut usize),
    missing: &str,
    part: impl FnOnce(&Ack) -> Option<&[u8]>,
) -> ehr_result {
    bytes_of(ack, buf, len, out_len, "ack", |ack| {
        part(&ack.ack)
            .map(Into::into)
            .ok_or_else(|| not_present(missing))
    })
}

/// Writes the inclusion proof of a batched record's valid ACK to `proof_out`
/// (free it with `ehr_proof_free`); `EHR_NOT_PRESENT` when the ACK is invalid
/// or its record was anchored alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_ack_proof(
    ack: *const ehr_ack,
    proof_out: *mut *mut ehr_proof,
) -> ehr_result {
    handle_of(ack, proof_out, "ack", "proof_out", |ack| {
        let proof = (ack.ack.anchor().and_then(|a| a.batch.clone())).ok_or_else(|| {
            not_present("the ACK carries no inclusion proof (invalid, or anchored alone)")
        })?;
        Ok(ehr_proof::new(proof))
    })
}

/// `EHR_NOT_PRESENT`: the ACK has no such part.
pub(crate) fn not_present(message: &str) -> Error {
    Error::new(ErrorCode::NotPresent, message)
}

/// Frees an ACK; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_ack_free(ack: *mut ehr_ack) {
    free(ack);
}
