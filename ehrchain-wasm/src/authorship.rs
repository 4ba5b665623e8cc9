//! Authors' signatures for JavaScript: the two steps of relaying a record
//! its author signed (`tc.signingRequest(author)`, then `request.attach`, or
//! `handshaker.validatorForSigned` with whatever the signer answered). An
//! EIP-1193 wallet signs through `eth_signTypedData_v4` (`submitTi`'s
//! `signer` option, eip1193.js), a key held here through `localSigner`
//! (the core's local signer, RFC 6979). Every check is the core's.

use ehrchain_core::authorship::{
    AuthorshipError, LocalSigner as CoreLocalSigner, Signer as _, SigningRequest as CoreRequest,
};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use crate::convert::{self, hex};
use crate::error::Failure;
use crate::handshaker::{ChainTransaction, Handshaker};
use crate::validator::Validator;

/// What an author is asked to sign for one TC: its statement, the
/// `eth_signTypedData_v4` document and the EIP-712 digest, under the TC's
/// chain and registry.
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct SigningRequest {
    inner: CoreRequest,
}

#[wasm_bindgen]
impl ChainTransaction {
    /// What `author` (`0x` and 40 hex digits) signs for this TC.
    /// `smartAccount`: the author is a smart account (ERC-1271), whose
    /// signature only the registry can check (here only the statement is).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a malformed address; `EHR_STATEMENT_MISMATCH`
    /// for a TC that is not one `anchorRecord` call (a batch, or a TC already
    /// signed).
    #[wasm_bindgen(js_name = signingRequest)]
    pub fn signing_request(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] author: JsValue,
        #[wasm_bindgen(js_name = smartAccount)] smart_account: Option<bool>,
    ) -> Result<SigningRequest, JsValue> {
        let author = convert::address(&author, "author")?;
        let inner = CoreRequest::new(self.inner.clone(), author).map_err(Failure::from)?;
        let inner = if smart_account == Some(true) {
            inner.for_smart_account()
        } else {
            inner
        };
        Ok(SigningRequest { inner })
    }

    /// The author's signed statement of a relayed TC
    /// (`anchorSignedRecord`), or `undefined` for an unsigned one.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(getter, unchecked_return_type = "SignedStatement | undefined")]
    pub fn authorship(&self) -> Result<JsValue, JsValue> {
        Ok(match self.inner.signed_statement() {
            Some(signed) => convert::to_js(&signed)?,
            None => JsValue::UNDEFINED,
        })
    }
}

#[wasm_bindgen]
impl SigningRequest {
    /// The statement the author signs.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(getter, unchecked_return_type = "RecordStatement")]
    pub fn statement(&self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js(self.inner.statement())?)
    }

    /// The `eth_signTypedData_v4` document: pass `JSON.stringify` of it to
    /// the wallet.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(getter, js_name = typedData, unchecked_return_type = "TypedData")]
    pub fn typed_data(&self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js(&self.inner.typed_data())?)
    }

    /// The 32-byte EIP-712 digest (what a key or an HSM signs).
    #[wasm_bindgen(getter, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn digest(&self) -> String {
        hex(self.inner.digest().as_slice())
    }

    /// The author the statement names.
    #[wasm_bindgen(getter, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn author(&self) -> String {
        hex(self.inner.statement().author.as_slice())
    }

    /// The TC a relayer sends (`anchorSignedRecord`), once `signature`
    /// (65 bytes, hex or bytes) is checked to be the author's.
    ///
    /// # Errors
    /// `EHR_SIGNATURE_MALFORMED` (length, `v`, high `s`) or
    /// `EHR_SIGNATURE_WRONG_SIGNER`; `EHR_INVALID_ARGUMENT` for a value that is
    /// not bytes.
    pub fn attach(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] signature: JsValue,
    ) -> Result<ChainTransaction, JsValue> {
        let signature = convert::bytes(&signature, "signature")?;
        let inner = self
            .inner
            .clone()
            .attach(&signature)
            .map_err(Failure::from)?;
        Ok(ChainTransaction { inner })
    }
}

/// What the author's signer answered: a signature, or why it made none.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Outcome {
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[wasm_bindgen]
impl Handshaker {
    /// The validator of `request`'s TC signed as the signer answered:
    /// `{signature}` (hex), or `{error}` (the signer's message: a wallet the
    /// author closed, say). A signature that is not the author's, or an
    /// error, gives a finished validator whose one ACK is invalid
    /// (`reason.kind` `"authorship"`, `reason.code` `EHR_SIGNATURE_…` or
    /// `EHR_SIGNER_FAILED`): nothing is sent.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for an outcome with neither or both members.
    #[wasm_bindgen(js_name = validatorForSigned)]
    pub fn validator_for_signed(
        &self,
        request: &SigningRequest,
        #[wasm_bindgen(unchecked_param_type = "{ signature: string } | { error: string }")]
        outcome: JsValue,
    ) -> Result<Validator, JsValue> {
        let outcome: Outcome = convert::document(&outcome, "outcome")?;
        let signature = match (outcome.signature, outcome.error) {
            (Some(signature), None) => Ok(convert::hex_bytes(&signature, "outcome.signature")?),
            (None, Some(message)) => Err(AuthorshipError::SignerFailed { message }),
            _ => {
                return Err(Failure::bad_input(
                    "outcome must have exactly one of `signature` and `error`",
                )
                .into());
            }
        };
        let config = *self.inner.validator_config();
        Ok(Validator::from(
            request.inner.clone().validator(signature, config),
        ))
    }
}

/// An author's secp256k1 key held in WebAssembly memory, signing with the
/// core's local signer: RFC 6979 deterministic nonces and a low `s`, so the
/// same key and statement give the same signature as in Rust and C
/// (`ehr_signer_new_local`). A `Signer` for `submitTi`'s `signer` option;
/// a patient's key signs consent statements too (`signConsent`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct LocalSigner {
    inner: CoreLocalSigner,
}

/// The signer of the 32-byte secp256k1 `secret` (a `Uint8Array` or `0x`
/// hex; copied into WebAssembly memory, zeroized when the signer is freed:
/// call `free()` when done). For a key the host holds itself (a service
/// account, a test); keys in an HSM sign behind a `Signer` of the host's own.
///
/// # Errors
/// `EHR_SIGNER_FAILED` for bytes that are not a secret key (not 32 bytes,
/// zero, or not below the curve order); `EHR_INVALID_ARGUMENT` for a value
/// that is neither bytes nor hex.
#[wasm_bindgen(js_name = localSigner)]
pub fn local_signer(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] secret: JsValue,
) -> Result<LocalSigner, JsValue> {
    let bytes = convert::secret_bytes(&secret, "secret")?;
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != key.len() {
        return Err(Failure::from(AuthorshipError::SignerFailed {
            message: format!("a secret key is 32 bytes, not {}", bytes.len()),
        })
        .into());
    }
    key.copy_from_slice(&bytes);
    let inner = CoreLocalSigner::from_bytes(&key).map_err(Failure::from)?;
    Ok(LocalSigner { inner })
}

#[wasm_bindgen]
impl LocalSigner {
    /// The key's account: the author a statement it signs must name.
    #[wasm_bindgen(getter, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn address(&self) -> String {
        hex(self.inner.address().as_slice())
    }

    /// The 65-byte signature (`r ‖ s ‖ v`, hex) of `request`'s EIP-712
    /// digest. `submitTi` calls it; `request.attach` takes what it returns.
    ///
    /// # Errors
    /// `EHR_SIGNER_FAILED` should the key refuse to sign.
    #[wasm_bindgen(unchecked_return_type = "Hex")]
    pub fn sign(&self, request: &SigningRequest) -> Result<String, JsValue> {
        let signature = self.inner.sign(&request.inner).map_err(Failure::from)?;
        Ok(hex(&signature))
    }

    /// The 65-byte signature (hex) of a 32-byte `digest` (`0x` and 64 hex
    /// digits, such as `request.digest`), as C's `ehr_signer_sign_digest`.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a digest that is not `0x` and 64 hex digits.
    #[wasm_bindgen(js_name = signDigest, unchecked_return_type = "Hex")]
    pub fn sign_digest(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] digest: JsValue,
    ) -> Result<String, JsValue> {
        let digest = convert::b256(&digest, "digest")?;
        let signature = self.inner.sign_digest(&digest.0).map_err(Failure::from)?;
        Ok(hex(&signature))
    }

    /// The 65-byte signature (hex) of a consent `statement` (a
    /// `ConsentGrant`, or a `ConsentRevocation` when it has a `grantId`)
    /// under `domain` (`{chainId, consent}`): its EIP-712 digest
    /// (`consentSigningDigest`) signed with this key, for `relayConsent`, as
    /// C's `ehr_signer_sign_consent`. The key is the patient's (or
    /// guardian's) bound account; `EhrConsent` refuses a signature of
    /// another account when relayed.
    ///
    /// # Errors
    /// `EHR_INVALID_JSON` for a malformed domain or statement;
    /// `EHR_SIGNER_FAILED` should the key refuse to sign.
    #[wasm_bindgen(js_name = signConsent, unchecked_return_type = "Hex")]
    pub fn sign_consent(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ConsentDomain")] domain: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ConsentGrant | ConsentRevocation")]
        statement: JsValue,
    ) -> Result<String, JsValue> {
        let digest = crate::sharing::consent_digest(&domain, &statement)?;
        let signature = self.inner.sign_digest(&digest.0).map_err(Failure::from)?;
        Ok(hex(&signature))
    }
}
