//! The proof of one signed record of a batch for JavaScript (proof format
//! version 2): read it in any form, check it offline, and read who wrote
//! the record in which role.

use ehrchain_core::authorship::{
    RoleHistory as CoreRoles, SignedBatchAnchor, SignedRecordProof as CoreSigned,
};
use wasm_bindgen::prelude::*;

use crate::batch::any_form;
use crate::convert::{self, hex};
use crate::error::Failure;

/// The proof of one signed record: its statement (author, role, template,
/// record hash), the author's signature and its inclusion proof.
#[wasm_bindgen]
#[derive(Debug)]
pub struct SignedRecordProof {
    pub(crate) inner: CoreSigned,
}

/// Reads a signed record's proof in any of its forms (see
/// `batch::any_form`).
pub(crate) fn signed_proof_of(value: &JsValue) -> Result<CoreSigned, Failure> {
    any_form(
        value,
        "a signed record's proof",
        CoreSigned::from_text,
        CoreSigned::from_json,
        CoreSigned::from_bytes,
    )
}

#[wasm_bindgen]
impl SignedRecordProof {
    /// Reads a signed record's proof in any form.
    ///
    /// # Errors
    /// `EHR_PROOF_MALFORMED` or `EHR_PROOF_UNSUPPORTED` (a version 1 proof: use `InclusionProof`),
    /// `EHR_PROOF_INVALID`, `EHR_SIGNATURE_MALFORMED`; `EHR_INVALID_ARGUMENT` for other types.
    pub fn parse(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string | object")] proof: JsValue,
    ) -> Result<SignedRecordProof, JsValue> {
        Ok(Self {
            inner: signed_proof_of(&proof)?,
        })
    }

    /// Checks the proof on its own: the statement's leaf leads to the root,
    /// and its author (an externally owned account) signed it.
    ///
    /// # Errors
    /// `EHR_PROOF_INVALID`, `EHR_SIGNATURE_WRONG_SIGNER`.
    pub fn verify(&self) -> Result<(), JsValue> {
        Ok(self.inner.verify().map_err(Failure::from)?)
    }

    /// Checks the proof against what was read from the chain it is trusted
    /// on: `anchor` (`{domain: {chainId, registry}, batch: {root, leafCount,
    /// batchId?}, anchoredAt}`, milliseconds, from `batchOf`) and `roles`
    /// (`{allowed: [{templateId, role}], terms: [{role, account, grantedAt,
    /// revokedAt?}]}`, from the registry's `roleTermsOf`).
    ///
    /// # Errors
    /// The first failed check: `EHR_SIGNATURE_WRONG_SIGNER` (another chain or registry, or another
    /// signer), `EHR_PROOF_INVALID`, `EHR_PROOF_ANCHOR_MISMATCH`, `EHR_AUTHOR_ROLE_NOT_ALLOWED`,
    /// `EHR_AUTHOR_ROLE_NOT_HELD`; `EHR_INVALID_JSON` or `EHR_INVALID_ARGUMENT` for malformed arguments.
    #[wasm_bindgen(js_name = verifyAnchored)]
    pub fn verify_anchored(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object")] anchor: JsValue,
        #[wasm_bindgen(unchecked_param_type = "object")] roles: JsValue,
    ) -> Result<(), JsValue> {
        let anchor: SignedBatchAnchor = convert::document(&anchor, "signed batch anchor")?;
        let roles = CoreRoles::from_json(&convert::json_text(&roles, "role history")?)
            .map_err(Failure::from)?;
        Ok(self
            .inner
            .verify_anchored(&anchor, &roles)
            .map_err(Failure::from)?)
    }

    /// The statement's author (the account that signed).
    #[wasm_bindgen(getter, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn author(&self) -> String {
        hex(self.inner.statement.author.as_slice())
    }

    /// The role id the author signed as.
    #[wasm_bindgen(getter, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn role(&self) -> String {
        hex(self.inner.statement.role.as_slice())
    }

    /// The record hash (SHA-256 of the sealed envelope).
    #[wasm_bindgen(getter, js_name = recordHash, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn record_hash(&self) -> String {
        hex(self.inner.statement.recordHash.as_slice())
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

    /// The JSON form (`version` 2, `domain`, `statement`, `signature`, …).
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "object")]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js(&self.inner)?)
    }
}
