//! `ehr_batch_builder`, `ehr_batch`: many records under one Merkle root;
//! `ehr_proof`: a record's inclusion proof in its binary, QR text and JSON
//! forms.

use std::ffi::c_char;

use ehrchain_core::batch::ChainCheckError;
use ehrchain_core::{
    AnchoredBatch, Batch, BatchBuilder, ErrorCode, InclusionProof, Submission, SystemClock,
    run_blocking,
};

use crate::cancel::{blocking, ehr_cancel};
use crate::config::{ehr_validator_config, validator_config};
use crate::handshaker::{ehr_ack, ehr_tc};
use crate::ptr::{self, Out, OutArray, OutExtensible, OutSlots};
use crate::result::{Error, ehr_result, guard};
use crate::shapes::{
    bytes_of, free, from_json, guard_on, guard_on_mut, handle_of, json_text, made, parsed,
    parsed_bytes, parsed_text, text_of,
};
use crate::transport::ehr_transport;
use crate::validator::batch_validator;

/// Collects record hashes for one batch.
///
/// Thread safety: may be used from any thread, not from two at once.
pub struct ehr_batch_builder {
    builder: BatchBuilder,
}

/// Makes an empty batch builder. Free it with `ehr_batch_builder_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_batch_builder_new(
    builder_out: *mut *mut ehr_batch_builder,
) -> ehr_result {
    made(builder_out, "builder_out", || ehr_batch_builder {
        builder: BatchBuilder::new(),
    })
}

/// Adds a 32-byte record hash (`ehr_tc_record_hash`) and writes its leaf
/// index to `index_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_batch_builder_push(
    builder: *mut ehr_batch_builder,
    record_hash: *const u8,
    index_out: *mut u32,
) -> ehr_result {
    guard_on_mut(builder, "builder", |builder| {
        let hash = ptr::b256(record_hash, "record_hash")?;
        let out = Out::new(index_out, "index_out")?;
        out.set(builder.builder.push(hash)?);
        Ok(())
    })
}

/// Builds the Merkle tree of the hashes added so far under the 32-byte
/// `batch_id` (the host's idempotency key for the batch). The builder is
/// unchanged and may be built again or freed. Free the batch with
/// `ehr_batch_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_batch_builder_build(
    builder: *const ehr_batch_builder,
    batch_id: *const u8,
    batch_out: *mut *mut ehr_batch,
) -> ehr_result {
    guard_on(builder, "builder", |builder| {
        let batch_id = ptr::b256(batch_id, "batch_id")?;
        let out = Out::new(batch_out, "batch_out")?;
        let batch = builder.builder.clone().build(batch_id)?;
        out.give(ehr_batch { batch });
        Ok(())
    })
}

/// Frees a batch builder; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_batch_builder_free(builder: *mut ehr_batch_builder) {
    free(builder);
}

/// A built batch: its root, its records and their proofs.
///
/// Thread safety: immutable; may be used from several threads at once.
pub struct ehr_batch {
    pub(crate) batch: Batch,
}

/// Writes the batch's 32-byte Merkle root to `root_out` and its number of
/// records to `leaf_count_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_batch_root(
    batch: *const ehr_batch,
    root_out: *mut u8,
    leaf_count_out: *mut u32,
) -> ehr_result {
    guard_on(batch, "batch", |batch| {
        write_root(&batch.batch, root_out, leaf_count_out)
    })
}

/// Writes `batch`'s 32-byte Merkle root to `root_out` and its number of
/// records to `leaf_count_out`.
pub(crate) fn write_root(
    batch: &Batch,
    root_out: *mut u8,
    leaf_count_out: *mut u32,
) -> Result<(), Error> {
    let root = OutArray::<32>::new(root_out, "root_out")?;
    let count = Out::new(leaf_count_out, "leaf_count_out")?;
    root.set(&batch.root().0);
    count.set(batch.leaf_count());
    Ok(())
}

/// Writes the `anchorBatch(root, leafCount, batchId)` transaction of the
/// batch for the 20-byte `registry` on `chain_id` (sent by an account
/// holding `HANDSHAKER_ROLE`) as NUL-terminated JSON (a `Submission`, as
/// JavaScript's `batch.anchorTransaction`) into `buf` (text-output rules:
/// `ehr_result_message`): for a host that sends it itself.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_batch_anchor_transaction(
    batch: *const ehr_batch,
    chain_id: u64,
    registry: *const u8,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(batch, buf, len, out_len, "batch", |batch| {
        let registry = ptr::address(registry, "registry")?;
        let tx = batch.batch.anchor_transaction(registry, chain_id);
        json_text(&Submission::from(&tx))
    })
}

/// Writes the inclusion proof of the record at leaf `index` to `proof_out`
/// (free it with `ehr_proof_free`); `EHR_BATCH_NO_SUCH_RECORD` past the end.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_batch_proof(
    batch: *const ehr_batch,
    index: u32,
    proof_out: *mut *mut ehr_proof,
) -> ehr_result {
    handle_of(batch, proof_out, "batch", "proof_out", |batch| {
        Ok(ehr_proof::new(batch.batch.proof(index)?))
    })
}

/// Anchors the batch with one transaction through `transport` and blocks
/// until the verdict. `tcs` are the `tcs_len` TCs whose record hashes were
/// pushed, in the same order (the registry and chain are those of the
/// first; `EHR_BATCH_MISMATCH` and `EHR_BATCH_DUPLICATE_TI` as for
/// `ehr_validator_new_batch`). Writes
/// one new ACK per TC into `acks_out` (an array of `acks_len`
/// = `tcs_len` slots; free each with `ehr_ack_free`); each valid ACK carries
/// its record's inclusion proof (`ehr_ack_proof`). `config` may be NULL for
/// the defaults. An outage is waited out, up to `deadline_ms` (Unix
/// milliseconds; 0 for none) or until `cancel` (NULL for none) is signalled:
/// then `EHR_STILL_PENDING` and no ACK, and nothing keeps the batch's
/// validator; a host that sets a deadline makes it with
/// `ehr_validator_new_batch` and runs it with `ehr_validator_run`, which it
/// can run again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_batch_submit(
    batch: *const ehr_batch,
    tcs: *const *const ehr_tc,
    tcs_len: usize,
    config: *const ehr_validator_config,
    transport: *mut ehr_transport,
    deadline_ms: u64,
    cancel: *const ehr_cancel,
    acks_out: *mut *mut ehr_ack,
    acks_len: usize,
) -> ehr_result {
    guard(|| {
        let batch = ptr::handle(batch, "batch")?;
        let tcs = ptr::handles(tcs, tcs_len, "tcs")?;
        let config = validator_config(config)?;
        let (transport, until) = blocking(transport, deadline_ms, cancel)?;
        let out = OutSlots::new(acks_out, acks_len, "acks_out")?;
        if out.len() != tcs.len() {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!(
                    "{} ACK slots were given for {} TCs; give one slot per TC",
                    out.len(),
                    tcs.len()
                ),
            ));
        }
        let mut validator = batch_validator(batch, &tcs, config)?;
        let acks = run_blocking(&mut validator, transport, &mut SystemClock, &until).acked()?;
        out.give_all(acks.into_iter().map(|ack| ehr_ack { ack }).collect())
    })
}

/// Frees a batch; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_batch_free(batch: *mut ehr_batch) {
    free(batch);
}

/// The proof that one record is in an anchored batch: what a patient, an
/// auditor or a pharmacist scanning a pack holds.
///
/// Thread safety: immutable; may be used from several threads at once
/// (except `ehr_proof_verify_on_chain`, whose transport is not).
pub struct ehr_proof {
    pub(crate) proof: InclusionProof,
}

impl ehr_proof {
    /// The handle of `proof`.
    pub(crate) fn new(proof: InclusionProof) -> Self {
        Self { proof }
    }
}

/// What an inclusion proof claims, as a plain struct (`ehr_proof_to_summary`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ehr_proof_summary {
    /// `sizeof(ehr_proof_summary)` as the host's header declares it
    /// (`EHR_PROOF_SUMMARY_INIT` sets it): which of the fields below
    /// the host's struct has (README, "Extensible structs").
    pub struct_size: usize,
    /// The record hash (SHA-256 of the sealed envelope).
    pub record_hash: [u8; 32],
    /// The batch id.
    pub batch_id: [u8; 32],
    /// The batch root.
    pub root: [u8; 32],
    /// The number of records in the batch.
    pub leaf_count: u32,
    /// The record's leaf position.
    pub index: u32,
}

/// Reads a proof from its compact binary form (starts with `EHRP`). The
/// proof is not verified yet: call `ehr_proof_verify`. Free it with
/// `ehr_proof_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_proof_from_bytes(
    bytes: *const u8,
    bytes_len: usize,
    proof_out: *mut *mut ehr_proof,
) -> ehr_result {
    // Empty input is a truncated proof, as in every binding.
    parsed_bytes(bytes, bytes_len, proof_out, "proof_out", |bytes| {
        Ok(ehr_proof::new(InclusionProof::from_bytes(bytes)?))
    })
}

/// Reads a proof from its QR text form (`EHRP:` then base45). The proof is
/// not verified yet. Free it with `ehr_proof_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_proof_from_text(
    text: *const c_char,
    text_len: usize,
    proof_out: *mut *mut ehr_proof,
) -> ehr_result {
    parsed_text(text, text_len, proof_out, "proof_out", |text| {
        Ok(ehr_proof::new(InclusionProof::from_text(text)?))
    })
}

/// Reads a proof from its JSON form. The proof is not verified yet. Free it
/// with `ehr_proof_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_proof_from_json(
    json: *const c_char,
    json_len: usize,
    proof_out: *mut *mut ehr_proof,
) -> ehr_result {
    parsed(json, json_len, proof_out, "json", "proof_out", |json| {
        Ok(ehr_proof::new(InclusionProof::from_json(json)?))
    })
}

/// Writes the proof's compact binary form into `buf` (byte-output rules:
/// `ehr_envelope_open`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_proof_to_bytes(
    proof: *const ehr_proof,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    bytes_of(proof, buf, len, out_len, "proof", |p| {
        Ok(p.proof.to_bytes().into())
    })
}

/// Writes the proof's QR text form (`EHRP:` then base45) as NUL-terminated
/// text into `buf` (text-output rules: `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_proof_to_text(
    proof: *const ehr_proof,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(proof, buf, len, out_len, "proof", |p| Ok(p.proof.to_text()))
}

/// Writes the proof's JSON form as NUL-terminated text into `buf`
/// (text-output rules: `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_proof_to_json(
    proof: *const ehr_proof,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(proof, buf, len, out_len, "proof", |p| Ok(p.proof.to_json()))
}

/// Writes what the proof claims, as a plain struct, to `summary_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_proof_to_summary(
    proof: *const ehr_proof,
    summary_out: *mut ehr_proof_summary,
) -> ehr_result {
    guard(|| {
        let p = &ptr::handle(proof, "proof")?.proof;
        OutExtensible::new(summary_out, "summary_out")?.set(ehr_proof_summary {
            struct_size: size_of::<ehr_proof_summary>(),
            record_hash: p.record_hash.0,
            batch_id: p.batch_id.0,
            root: p.root.0,
            leaf_count: p.leaf_count,
            index: p.index,
        });
        Ok(())
    })
}

/// Verifies the proof against its own root (shape, then the siblings lead to
/// the root): `EHR_OK` or `EHR_PROOF_INVALID`. Says nothing about the chain:
/// see `ehr_proof_verify_on_chain`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_proof_verify(proof: *const ehr_proof) -> ehr_result {
    guard_on(proof, "proof", |p| Ok(p.proof.verify()?))
}

/// Verifies `count` proofs against their own roots, each exactly as
/// `ehr_proof_verify` would, level by level across the proofs. In a library
/// built with the `simd-keccak` feature the Keccak-256 of several proofs run
/// side by side in SIMD lanes: on CPUs with AVX-512 or AVX2 several times
/// more proofs per second than one call each (for bulk checks by an auditor
/// or a pharmacy back office); without it, about as fast as one call each.
///
/// Writes each proof's code to `results[i]` (`EHR_OK` or
/// `EHR_PROOF_INVALID`; `results` has room for `count` codes). Returns
/// `EHR_OK` when every proof verifies, `EHR_PROOF_INVALID` when at least one
/// does not (`ehr_last_error` names the first), or an argument code, in which
/// case nothing is written.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_proof_verify_many(
    proofs: *const *const ehr_proof,
    count: usize,
    results: *mut ehr_result,
) -> ehr_result {
    guard(|| {
        let proofs = ptr::handles(proofs, count, "proofs")?;
        let out = OutSlots::new(results, count, "results")?;
        let proofs: Vec<&InclusionProof> = proofs.iter().map(|p| &p.proof).collect();
        let mut first_failure = None;
        let mut codes = Vec::with_capacity(count);
        for (i, outcome) in InclusionProof::verify_many(&proofs).into_iter().enumerate() {
            let Err(e) = outcome else {
                codes.push(ehr_result::OK);
                continue;
            };
            let e = Error::from(e);
            codes.push(ehr_result::from(e.code));
            first_failure.get_or_insert((i, e));
        }
        out.set_all(codes)?;
        match first_failure {
            None => Ok(()),
            Some((i, e)) => Err(Error::new(
                e.code,
                format!("proof {i} of {count} failed: {}", e.message),
            )),
        }
    })
}

/// Verifies the proof against what the host read from the chain it trusts:
/// `anchored_json`, the batch the registry holds under the proof's root as
/// an `AnchoredBatch` (`{"root", "leafCount", "batchId"?}`: `batchOf(root)`,
/// and the `BatchAnchored` event for the batch id), or `null` when none is
/// anchored there (JavaScript's `verifyProofAnchored`). `EHR_OK` when the
/// record is in that batch; `EHR_PROOF_NOT_ANCHORED`,
/// `EHR_PROOF_ANCHOR_MISMATCH` or `EHR_PROOF_INVALID` when it is not (the
/// finer cause in `ehr_last_error_reason`: `root_mismatch`,
/// `leaf_count_mismatch`, `batch_id_mismatch`, …); `EHR_INVALID_JSON`. For a
/// host with its own chain reads; `ehr_proof_verify_on_chain` reads
/// through a transport.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_proof_verify_anchored(
    proof: *const ehr_proof,
    anchored_json: *const c_char,
    anchored_json_len: usize,
) -> ehr_result {
    guard_on(proof, "proof", |p| {
        let text = ptr::text(anchored_json, anchored_json_len, "anchored_json")?;
        let anchored: Option<AnchoredBatch> = from_json(text, |e| {
            format!("anchored_json is not an anchored batch or null: {e}")
        })?;
        p.proof.verify_read(anchored.as_ref())?;
        Ok(())
    })
}

/// Verifies the proof, then reads the batch anchored under its root through
/// `transport` and checks its leaf count (and batch id when the transport
/// reads it). `EHR_OK` when the record is in an anchored batch;
/// `EHR_PROOF_NOT_ANCHORED`, `EHR_PROOF_ANCHOR_MISMATCH` or
/// `EHR_PROOF_INVALID` when it is not; a transport code when the chain
/// cannot be read.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_proof_verify_on_chain(
    proof: *const ehr_proof,
    transport: *mut ehr_transport,
) -> ehr_result {
    guard(|| {
        let proof = &ptr::handle(proof, "proof")?.proof;
        let transport = ptr::handle_mut(transport, "transport")?;
        match proof.verify_on_chain(&mut transport.inner) {
            Ok(_) => Ok(()),
            Err(ChainCheckError::Proof(e)) => Err(e.into()),
            Err(ChainCheckError::Chain(e)) => Err(e.into()),
        }
    })
}

/// Frees a proof; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_proof_free(proof: *mut ehr_proof) {
    free(proof);
}
