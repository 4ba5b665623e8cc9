//! Merkle batches and inclusion proofs for JavaScript: build a batch, anchor
//! its root, hand out proofs in their binary, QR text (`EHRP:`) and JSON
//! forms, and verify them.

use ehrchain_core::batch::ProofError;
use ehrchain_core::{
    AnchoredBatch, Batch as CoreBatch, BatchBuilder as CoreBuilder, ChainTransaction as CoreTc,
    InclusionProof as CoreProof,
};
use wasm_bindgen::prelude::*;

use crate::convert::{self, hex};
use crate::error::Failure;
use crate::handshaker::ChainTransaction;
use crate::validator::{Validator, validator_config};

/// Collects record hashes (or whole TCs) for one batch.
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct BatchBuilder {
    inner: CoreBuilder,
    /// The TCs added with `add`, in order (all of them, or none).
    tcs: Vec<CoreTc>,
}

#[wasm_bindgen]
impl BatchBuilder {
    /// An empty builder.
    #[wasm_bindgen(constructor)]
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a record hash; returns its leaf index.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT`; `EHR_BATCH_ZERO_RECORD_HASH` for a zero hash, `EHR_BATCH_FULL` for a full batch.
    pub fn push(
        &mut self,
        #[wasm_bindgen(js_name = recordHash, unchecked_param_type = "string")] record_hash: JsValue,
    ) -> Result<u32, JsValue> {
        let hash = convert::b256(&record_hash, "recordHash")?;
        Ok(self.inner.push(hash).map_err(Failure::from)?)
    }

    /// Adds a TC's record; returns its leaf index. A batch built only from
    /// TCs can be anchored by a validator (`Batch.validator`) whose ACKs carry
    /// each record's proof.
    ///
    /// # Errors
    /// `EHR_BATCH_FULL` for a full batch.
    pub fn add(&mut self, tc: &ChainTransaction) -> Result<u32, JsValue> {
        let index = self
            .inner
            .push(tc.inner.record_hash)
            .map_err(Failure::from)?;
        self.tcs.push(tc.inner.clone());
        Ok(index)
    }

    /// The number of records added.
    #[wasm_bindgen(getter)]
    #[must_use]
    pub fn length(&self) -> u32 {
        u32::try_from(self.inner.len()).unwrap_or(u32::MAX)
    }

    /// Builds the tree under `batchId`; the builder is used up.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT`; `EHR_BATCH_EMPTY` without records.
    pub fn build(
        self,
        #[wasm_bindgen(js_name = batchId, unchecked_param_type = "string")] batch_id: JsValue,
    ) -> Result<Batch, JsValue> {
        let id = convert::b256(&batch_id, "batchId")?;
        let tcs = if self.tcs.len() == self.inner.len() {
            self.tcs
        } else {
            Vec::new()
        };
        Ok(Batch {
            inner: self.inner.build(id).map_err(Failure::from)?,
            tcs,
        })
    }
}

/// A built batch: its root, leaf count and proofs.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Batch {
    inner: CoreBatch,
    tcs: Vec<CoreTc>,
}

#[wasm_bindgen]
impl Batch {
    /// The Merkle root.
    #[wasm_bindgen(getter, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn root(&self) -> String {
        hex(self.inner.root().as_slice())
    }

    /// The batch id.
    #[wasm_bindgen(getter, js_name = batchId, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn batch_id(&self) -> String {
        hex(self.inner.batch_id().as_slice())
    }

    /// The number of records.
    #[wasm_bindgen(getter, js_name = leafCount)]
    #[must_use]
    pub fn leaf_count(&self) -> u32 {
        self.inner.leaf_count()
    }

    /// The inclusion proof of the record at `index`.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for an index that is not a number;
    /// `EHR_BATCH_NO_SUCH_RECORD` past the last record.
    pub fn proof(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] index: JsValue,
    ) -> Result<InclusionProof, JsValue> {
        let index = convert::uint32(&index, "index")?;
        let proof = self.inner.proof(index).map_err(Failure::from)?;
        Ok(InclusionProof { inner: proof })
    }

    /// The `anchorBatch(root, leafCount, batchId)` transaction for
    /// `registry` on `chainId` (sent by an account holding `HANDSHAKER_ROLE`).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT`.
    #[wasm_bindgen(js_name = anchorTransaction, unchecked_return_type = "Submission")]
    pub fn anchor_transaction(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] registry: JsValue,
        #[wasm_bindgen(js_name = chainId, unchecked_param_type = "number")] chain_id: JsValue,
    ) -> Result<JsValue, JsValue> {
        let registry = convert::address(&registry, "registry")?;
        let chain_id = convert::uint(&chain_id, "chainId")?;
        let tx = self.inner.anchor_transaction(registry, chain_id);
        Ok(convert::to_js(&ehrchain_core::Submission::from(&tx))?)
    }

    /// A validator anchoring this batch with one `anchorBatch` transaction;
    /// each record's ACK carries its proof. Only for batches built from TCs
    /// (`BatchBuilder.add`).
    ///
    /// # Errors
    /// `EHR_BATCH_MISMATCH` for a batch built from bare hashes, or with a
    /// TC of another registry or chain or one its author signed (anchor a
    /// signed TC alone, so its signature reaches the chain);
    /// `EHR_BATCH_DUPLICATE_TI` when two of its TCs are for one TI (it
    /// would get two ACKs); `EHR_INVALID_ARGUMENT` for malformed arguments.
    pub fn validator(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] registry: JsValue,
        #[wasm_bindgen(js_name = chainId, unchecked_param_type = "number")] chain_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Partial<ValidatorConfig>")] config: Option<
            JsValue,
        >,
    ) -> Result<Validator, JsValue> {
        let registry = convert::address(&registry, "registry")?;
        let chain_id = convert::uint(&chain_id, "chainId")?;
        let config = match config {
            None => validator_config(None)?,
            Some(config) => validator_config(Some(&convert::document(&config, "config")?))?,
        };
        let v = ehrchain_core::TransactionValidator::for_batch(
            &self.inner,
            &self.tcs,
            registry,
            chain_id,
            config,
        )
        .map_err(Failure::from)?;
        Ok(Validator::from(v))
    }
}

/// The proof that one record is in an anchored batch.
#[wasm_bindgen]
#[derive(Debug)]
pub struct InclusionProof {
    inner: CoreProof,
}

/// Reads an inclusion proof in any of its forms (see [`any_form`]).
pub(crate) fn proof_of(value: &JsValue) -> Result<CoreProof, Failure> {
    any_form(
        value,
        "a proof",
        CoreProof::from_text,
        CoreProof::from_json,
        CoreProof::from_bytes,
    )
}

/// Reads a proof (either version) in any of its forms: `Uint8Array`
/// (binary, read by `from_bytes`), a string starting `EHRP:` (QR text,
/// `from_text`), another string (JSON text, `from_json`) or an object (JSON
/// form); other types are refused with a message naming `what`.
pub(crate) fn any_form<P, E>(
    value: &JsValue,
    what: &str,
    from_text: fn(&str) -> Result<P, E>,
    from_json: fn(&str) -> Result<P, E>,
    from_bytes: fn(&[u8]) -> Result<P, E>,
) -> Result<P, Failure>
where
    Failure: From<E>,
{
    if let Some(array) = value.dyn_ref::<js_sys::Uint8Array>() {
        return Ok(from_bytes(&array.to_vec())?);
    }
    if let Some(text) = value.as_string() {
        let trimmed = text.trim();
        let read = if trimmed.starts_with('{') {
            from_json
        } else {
            from_text
        };
        return Ok(read(trimmed)?);
    }
    if value.is_object() {
        return Ok(from_json(&convert::json_text(value, "proof")?)?);
    }
    Err(Failure::bad_input(format!(
        "{what} must be a Uint8Array (binary), an \"EHRP:\" string (QR text) or its JSON form"
    )))
}

#[wasm_bindgen]
impl InclusionProof {
    /// Reads a proof in any form (see `verifyProof`).
    ///
    /// # Errors
    /// `EHR_PROOF_MALFORMED` or `EHR_PROOF_UNSUPPORTED` with `reason` (`truncated`, `not_a_proof`,
    /// `bad_text`, `json`, …), `EHR_PROOF_INVALID` (`wrong_hash_count`, …); `EHR_INVALID_ARGUMENT` for other
    /// types.
    pub fn parse(
        #[wasm_bindgen(unchecked_param_type = "ProofInput")] proof: JsValue,
    ) -> Result<InclusionProof, JsValue> {
        Ok(Self {
            inner: proof_of(&proof)?,
        })
    }

    /// Reads the binary form.
    ///
    /// # Errors
    /// `EHR_PROOF_MALFORMED` or `EHR_PROOF_INVALID` with `reason`; `EHR_INVALID_ARGUMENT` for a
    /// value that is neither a `Uint8Array` nor hex.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] bytes: JsValue,
    ) -> Result<InclusionProof, JsValue> {
        Self::read(CoreProof::from_bytes(&convert::bytes(&bytes, "proof")?))
    }

    /// Reads the QR text form (`EHRP:` and base45).
    ///
    /// # Errors
    /// `EHR_PROOF_MALFORMED` or `EHR_PROOF_INVALID` with `reason`; `EHR_INVALID_ARGUMENT` for a non-string.
    #[wasm_bindgen(js_name = fromText)]
    pub fn from_text(
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<InclusionProof, JsValue> {
        Self::read(CoreProof::from_text(
            convert::string(&text, "proof text")?.trim(),
        ))
    }

    /// Reads the JSON form (an object or its JSON text).
    ///
    /// # Errors
    /// `EHR_PROOF_MALFORMED` (`reason` `json` for malformed JSON); `EHR_INVALID_ARGUMENT`
    /// for other types.
    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(
        #[wasm_bindgen(unchecked_param_type = "ProofJson | string")] json: JsValue,
    ) -> Result<InclusionProof, JsValue> {
        Self::read(CoreProof::from_json(&convert::json_text(
            &json,
            "proof JSON",
        )?))
    }

    /// The proof a reader read, or its error.
    fn read(read: Result<CoreProof, ProofError>) -> Result<InclusionProof, JsValue> {
        Ok(Self {
            inner: read.map_err(Failure::from)?,
        })
    }

    /// Checks that the proof leads from its record to its root (not that the
    /// root is anchored: see `verifyAnchored`).
    ///
    /// # Errors
    /// `EHR_PROOF_INVALID` (`reason` `root_mismatch`, …).
    pub fn verify(&self) -> Result<(), JsValue> {
        Ok(self.inner.verify().map_err(Failure::from)?)
    }

    /// Checks the proof against the batch the chain holds under its root
    /// (root, leaf count and, when given, batch id), as read with `batchOf`.
    ///
    /// # Errors
    /// `EHR_PROOF_INVALID`, `EHR_PROOF_NOT_ANCHORED` or `EHR_PROOF_ANCHOR_MISMATCH` (reasons `root_mismatch`, `leaf_count_mismatch`,
    /// `batch_id_mismatch`, `not_anchored` for `null`, …).
    #[wasm_bindgen(js_name = verifyAnchored)]
    pub fn verify_anchored(
        &self,
        #[wasm_bindgen(unchecked_param_type = "AnchoredBatch | null")] anchored: JsValue,
    ) -> Result<(), JsValue> {
        let anchored: Option<AnchoredBatch> = if anchored.is_null() || anchored.is_undefined() {
            None
        } else {
            Some(convert::document(&anchored, "anchored batch")?)
        };
        self.inner
            .verify_read(anchored.as_ref())
            .map_err(Failure::from)?;
        Ok(())
    }

    /// The binary form.
    #[wasm_bindgen(js_name = toBytes)]
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes()
    }

    /// The QR text form: `EHRP:` and base45 of the binary form.
    #[wasm_bindgen(js_name = toText)]
    #[must_use]
    pub fn to_text(&self) -> String {
        self.inner.to_text()
    }

    /// The JSON form.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "ProofJson")]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js(&self.inner)?)
    }

    /// The record hash.
    #[wasm_bindgen(getter, js_name = recordHash, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn record_hash(&self) -> String {
        hex(self.inner.record_hash.as_slice())
    }

    /// The batch root.
    #[wasm_bindgen(getter, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn root(&self) -> String {
        hex(self.inner.root.as_slice())
    }

    /// The batch id.
    #[wasm_bindgen(getter, js_name = batchId, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn batch_id(&self) -> String {
        hex(self.inner.batch_id.as_slice())
    }

    /// The number of records in the batch.
    #[wasm_bindgen(getter, js_name = leafCount)]
    #[must_use]
    pub fn leaf_count(&self) -> u32 {
        self.inner.leaf_count
    }

    /// The record's leaf index.
    #[wasm_bindgen(getter)]
    #[must_use]
    pub fn index(&self) -> u32 {
        self.inner.index
    }
}

/// Verifies a proof given in any form (binary `Uint8Array`, `EHRP:` QR text,
/// JSON text or object): that it leads from its record to its root. Returns
/// the proof's JSON form.
///
/// # Errors
/// `EHR_PROOF_MALFORMED` or `EHR_PROOF_INVALID` with `reason`; `EHR_INVALID_ARGUMENT` for other types.
#[wasm_bindgen(js_name = verifyProof, unchecked_return_type = "ProofJson")]
pub fn verify_proof(
    #[wasm_bindgen(unchecked_param_type = "ProofInput")] proof: JsValue,
) -> Result<JsValue, JsValue> {
    let proof = InclusionProof::parse(proof)?;
    proof.verify()?;
    proof.to_json()
}

/// Verifies a proof given in any form against the batch the chain holds
/// under its root (as `batchOf` / `Eip1193Transport.anchoredBatch` read it;
/// `null` when nothing is anchored there). Returns the proof's JSON form.
///
/// # Errors
/// `EHR_PROOF_NOT_ANCHORED` for `null`, else as `verifyProof` (with `reason`:
/// `root_mismatch`, `leaf_count_mismatch`, `batch_id_mismatch`, …);
/// `EHR_INVALID_ARGUMENT` for other types.
#[wasm_bindgen(js_name = verifyProofAnchored, unchecked_return_type = "ProofJson")]
pub fn verify_proof_anchored(
    #[wasm_bindgen(unchecked_param_type = "ProofInput")] proof: JsValue,
    #[wasm_bindgen(unchecked_param_type = "AnchoredBatch | null")] anchored: JsValue,
) -> Result<JsValue, JsValue> {
    let proof = InclusionProof::parse(proof)?;
    proof.verify_anchored(anchored)?;
    proof.to_json()
}

/// Verifies many proofs, each given in any form (as `verifyProof`), each
/// against its own root: the core's bulk verification (`verify_many`, as
/// C's `ehr_proof_verify_many`), which folds the proofs level by level. For
/// an auditor or a pharmacy checking a pile of proofs at once. Returns one
/// entry per proof, in order: `null` when it verifies, else the `code`
/// `verifyProof` would throw for it (`EHR_PROOF_MALFORMED`,
/// `EHR_PROOF_UNSUPPORTED`, `EHR_PROOF_INVALID`; `EHR_INVALID_ARGUMENT` for
/// an entry of no proof type). Says nothing about the chain: see
/// `verifyProofAnchored`.
///
/// # Errors
/// `EHR_INVALID_ARGUMENT` when `proofs` is not an array.
#[wasm_bindgen(js_name = verifyProofs, unchecked_return_type = "(ErrorCode | null)[]")]
pub fn verify_proofs(
    #[wasm_bindgen(unchecked_param_type = "ProofInput[]")] proofs: JsValue,
) -> Result<js_sys::Array, JsValue> {
    if !js_sys::Array::is_array(&proofs) {
        return Err(Failure::bad_input("proofs must be an array of proofs").into());
    }
    let read: Vec<Result<CoreProof, Failure>> = js_sys::Array::from(&proofs)
        .iter()
        .map(|proof| proof_of(&proof))
        .collect();
    let parsed: Vec<&CoreProof> = read.iter().filter_map(|r| r.as_ref().ok()).collect();
    let mut verified = CoreProof::verify_many(&parsed).into_iter();
    let codes = js_sys::Array::new();
    for proof in &read {
        let code = match proof {
            Err(failure) => Some(failure.code()),
            Ok(_) => verified
                .next()
                .and_then(Result::err)
                .map(|e| ehrchain_core::Error::from(e).code()),
        };
        codes.push(&code.map_or(JsValue::NULL, |c| JsValue::from_str(c.name())));
    }
    Ok(codes)
}
