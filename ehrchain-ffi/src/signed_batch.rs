//! `ehr_signed_batch_builder`, `ehr_signed_batch`: many authors' signed TCs
//! under one Merkle root, anchored by a relayer with `anchorSignedBatch`,
//! each record's authorship provable with its `ehr_signed_proof`
//! (`docs/authorship.md`, "Inside batches").

use std::ffi::c_char;

use ehrchain_core::authorship::{SignedBatch, SignedBatchBuilder, SigningDomain};

use crate::batch::write_root;
use crate::handshaker::ehr_tc;
use crate::ptr::{self, Out};
use crate::result::{ehr_result, guard};
use crate::shapes::{free, guard_on, guard_on_mut, handle_of, json_text, text_of, value_of};
use crate::signed_proof::ehr_signed_proof;

/// Collects author-signed TCs for one signed batch of a registry.
///
/// Thread safety: may be used from any thread, not from two at once.
pub struct ehr_signed_batch_builder {
    builder: SignedBatchBuilder,
}

/// Makes an empty signed-batch builder for the 20-byte `registry` on
/// `chain_id`: the domain its records' statements must be signed under.
/// Free it with `ehr_signed_batch_builder_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_batch_builder_new(
    chain_id: u64,
    registry: *const u8,
    builder_out: *mut *mut ehr_signed_batch_builder,
) -> ehr_result {
    guard(|| {
        let registry = ptr::address(registry, "registry")?;
        Out::new(builder_out, "builder_out")?.give(ehr_signed_batch_builder {
            builder: SignedBatchBuilder::new(SigningDomain { chain_id, registry }),
        });
        Ok(())
    })
}

/// Adds an author-signed TC (`ehr_tc_attach_signature`) and writes its leaf
/// index to `index_out`. Its statement must be the record's own and signed
/// by its author under the builder's registry and chain: else
/// `EHR_TC_NOT_SIGNED` (no signature), `EHR_STATEMENT_MISMATCH`,
/// `EHR_SIGNATURE_MALFORMED` or `EHR_SIGNATURE_WRONG_SIGNER` (another
/// signer, another registry or chain, or a smart account, whose signature
/// only the chain checks: anchor that TC alone), and nothing is added.
/// `EHR_BATCH_DUPLICATE_TI` for a TI already in the batch, `EHR_BATCH_FULL`
/// for a full batch. The TC's sealed record stays with it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_batch_builder_push(
    builder: *mut ehr_signed_batch_builder,
    tc: *const ehr_tc,
    index_out: *mut u32,
) -> ehr_result {
    guard_on_mut(builder, "builder", |builder| {
        let tc = ptr::handle(tc, "tc")?;
        let out = Out::new(index_out, "index_out")?;
        out.set(builder.builder.push_tc(&tc.tc)?);
        Ok(())
    })
}

/// Writes the number of records added so far to `len_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_batch_builder_len(
    builder: *const ehr_signed_batch_builder,
    len_out: *mut usize,
) -> ehr_result {
    value_of(builder, len_out, "builder", "len_out", |b| b.builder.len())
}

/// Builds the Merkle tree of the records added so far under the 32-byte
/// `batch_id` (the host's idempotency key for the batch). The builder is
/// unchanged and may be built again or freed. `EHR_BATCH_EMPTY` without
/// records. Free the batch with `ehr_signed_batch_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_batch_builder_build(
    builder: *const ehr_signed_batch_builder,
    batch_id: *const u8,
    batch_out: *mut *mut ehr_signed_batch,
) -> ehr_result {
    guard_on(builder, "builder", |builder| {
        let batch_id = ptr::b256(batch_id, "batch_id")?;
        let out = Out::new(batch_out, "batch_out")?;
        let batch = builder.builder.clone().build(batch_id)?;
        out.give(ehr_signed_batch { batch });
        Ok(())
    })
}

/// Frees a signed-batch builder; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_batch_builder_free(builder: *mut ehr_signed_batch_builder) {
    free(builder);
}

/// A built signed batch: its root, its anchoring transaction and each
/// record's signed proof.
///
/// Thread safety: immutable; may be used from several threads at once.
pub struct ehr_signed_batch {
    batch: SignedBatch,
}

/// Writes the batch's 32-byte Merkle root to `root_out` and its number of
/// records to `leaf_count_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_batch_root(
    batch: *const ehr_signed_batch,
    root_out: *mut u8,
    leaf_count_out: *mut u32,
) -> ehr_result {
    guard_on(batch, "batch", |batch| {
        write_root(batch.batch.batch(), root_out, leaf_count_out)
    })
}

/// Writes the batch's `anchorSignedBatch(root, leafCount, batchId)`
/// transaction to the builder's registry on its chain, sent by an account
/// holding the relayer role, as NUL-terminated JSON (`{"to", "chainId",
/// "calldata", "batchId", "root", "leafCount"}`, as JavaScript's
/// `signedBatch.anchorTransaction()`) into `buf` (text-output rules:
/// `ehr_result_message`). No validator gives a signed batch's ACKs yet:
/// the relayer sends it and checks its receipt itself.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_batch_anchor_transaction(
    batch: *const ehr_signed_batch,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(batch, buf, len, out_len, "batch", |batch| {
        json_text(&batch.batch.anchor_transaction())
    })
}

/// Writes the signed proof of the record at leaf `index` (its statement,
/// its author's signature and its inclusion proof) to `proof_out`; free it
/// with `ehr_signed_proof_free`. `EHR_BATCH_NO_SUCH_RECORD` past the end.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_batch_proof(
    batch: *const ehr_signed_batch,
    index: u32,
    proof_out: *mut *mut ehr_signed_proof,
) -> ehr_result {
    handle_of(batch, proof_out, "batch", "proof_out", |batch| {
        Ok(ehr_signed_proof::new(batch.batch.proof(index)?))
    })
}

/// Frees a signed batch; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signed_batch_free(batch: *mut ehr_signed_batch) {
    free(batch);
}
