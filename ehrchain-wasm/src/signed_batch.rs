//! Signed batches for JavaScript: many authors' signed TCs under one Merkle
//! root, anchored by a relayer with `anchorSignedBatch`, each record's
//! authorship provable with its `SignedRecordProof` (docs/authorship.md).

use ehrchain_core::authorship::{
    SignedBatch as CoreBatch, SignedBatchBuilder as CoreBuilder, SigningDomain,
};
use wasm_bindgen::prelude::*;

use crate::convert::{self, hex};
use crate::error::Failure;
use crate::handshaker::ChainTransaction;
use crate::signed_proof::SignedRecordProof;

/// Collects author-signed TCs for one signed batch of a registry.
#[wasm_bindgen]
#[derive(Debug)]
pub struct SignedBatchBuilder {
    inner: CoreBuilder,
}

#[wasm_bindgen]
impl SignedBatchBuilder {
    /// An empty builder for the registry `registry` on `chainId`: the
    /// domain its records' statements must be signed under.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string")] registry: JsValue,
        #[wasm_bindgen(js_name = chainId, unchecked_param_type = "number")] chain_id: JsValue,
    ) -> Result<SignedBatchBuilder, JsValue> {
        Ok(Self {
            inner: CoreBuilder::new(SigningDomain {
                chain_id: convert::uint(&chain_id, "chainId")?,
                registry: convert::address(&registry, "registry")?,
            }),
        })
    }

    /// Adds an author-signed TC (`SigningRequest.attach`); returns its leaf
    /// index. Its statement must be the record's own and signed by its author
    /// under this registry and chain. The sealed record stays with the TC.
    ///
    /// # Errors
    /// `EHR_TC_NOT_SIGNED` for a TC without its author's signature,
    /// `EHR_STATEMENT_MISMATCH`, `EHR_SIGNATURE_MALFORMED`,
    /// `EHR_SIGNATURE_WRONG_SIGNER` (another signer, or signed for another
    /// registry or chain, or by a smart account: anchor that TC alone),
    /// `EHR_BATCH_DUPLICATE_TI` for a TI already in the batch,
    /// `EHR_BATCH_FULL`; nothing is added.
    pub fn push(&mut self, tc: &ChainTransaction) -> Result<u32, JsValue> {
        Ok(self.inner.push_tc(&tc.inner).map_err(Failure::from)?)
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
    ) -> Result<SignedBatch, JsValue> {
        let id = convert::b256(&batch_id, "batchId")?;
        Ok(SignedBatch {
            inner: self.inner.build(id).map_err(Failure::from)?,
        })
    }
}

/// A built signed batch: its root, leaf count, anchoring transaction and
/// each record's signed proof.
#[wasm_bindgen]
#[derive(Debug)]
pub struct SignedBatch {
    inner: CoreBatch,
}

#[wasm_bindgen]
impl SignedBatch {
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

    /// The signed proof of the record at `index`: its statement, its
    /// author's signature and its inclusion proof.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for an index that is not a number;
    /// `EHR_BATCH_NO_SUCH_RECORD` past the last record.
    pub fn proof(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] index: JsValue,
    ) -> Result<SignedRecordProof, JsValue> {
        let index = convert::uint32(&index, "index")?;
        Ok(SignedRecordProof {
            inner: self.inner.proof(index).map_err(Failure::from)?,
        })
    }

    /// The `anchorSignedBatch(root, leafCount, batchId)` transaction to the
    /// builder's registry on its chain, sent by an account holding the
    /// relayer role.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(js_name = anchorTransaction, unchecked_return_type = "BatchTransaction")]
    pub fn anchor_transaction(&self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js(&self.inner.anchor_transaction())?)
    }
}
