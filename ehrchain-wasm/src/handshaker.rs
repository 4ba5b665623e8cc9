//! The handshaker for JavaScript: keys, the Transaction Generator (TI → TC),
//! sealed envelopes, and validators for TIs.

use ehrchain_core::envelope::EnvelopeBinding;
use ehrchain_core::envelope::NONCE_LEN;
use ehrchain_core::{
    Address, ChainTransaction as CoreTc, Envelope, GeneratorConfig, KeyId, Submission,
    TransactionGenerator, TransactionValidator, UnixMillis,
};
use rand_core::{OsRng, RngCore};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::convert::{self, hex};
use crate::error::Failure;
use crate::keystore::{JsKeyStore, key_store, master_key_or_store};
use crate::templates::Templates;
use crate::ti::initial_transaction;
use crate::validator::{Validator, validator_config};
use ehrchain_core::ErrorCode;

/// The options of [`Handshaker::new`] (camelCase, as JavaScript writes them).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Options {
    chain_id: u64,
    registry: String,
    sealing_key_id: String,
    pseudonym_key_id: String,
    /// `None`: the core's default.
    #[serde(default)]
    max_clock_skew_ms: Option<u64>,
    #[serde(default)]
    validator: Option<serde_json::Value>,
}

/// The blockchain handshaker: templates (TTM), the Transaction Generator (TG)
/// with its key store, and the validator settings (TV).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Handshaker {
    pub(crate) inner: ehrchain_core::Handshaker<JsKeyStore>,
}

#[wasm_bindgen]
impl Handshaker {
    /// A handshaker with `options` (`chainId`, `registry`, `sealingKeyId`,
    /// `pseudonymKeyId`, optional `maxClockSkewMs` (milliseconds, 300 000) and
    /// `validator` settings), the host's master `keys` and `templates`
    /// (copied: later changes to `templates` do not reach the handshaker).
    /// `keys` is either the keys themselves by key id (`{keyId: key}`, copied
    /// into WebAssembly memory) or a `KeyStore` (`{masterKey(keyId)}`,
    /// synchronous callbacks over an HSM or a KMS, asked for a key each time
    /// one is needed: here for both keys, then for the sealing key on every
    /// record sealed and the envelope's key on every one opened).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for malformed options; `EHR_INVALID_ARGUMENT` for a bad
    /// registry address or key; `EHR_KEY_UNKNOWN` when a named key is missing, `EHR_KEY_INVALID` for a key that is not 32 bytes;
    /// `EHR_KEY_STORE_UNAVAILABLE` when a key store's callback throws or answers anything but 32 bytes or `null`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "HandshakerOptions")] options: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Record<string, Uint8Array | string> | KeyStore")]
        keys: JsValue,
        templates: &Templates,
    ) -> Result<Handshaker, JsValue> {
        let options: Options = convert::document(&options, "options")?;
        let registry: Address =
            convert::hex_fixed::<20>(&options.registry, "options.registry")?.into();
        let mut config = GeneratorConfig::new(
            options.chain_id,
            registry,
            KeyId::new(options.sealing_key_id).map_err(Failure::from)?,
            KeyId::new(options.pseudonym_key_id).map_err(Failure::from)?,
        )
        .map_err(Failure::from)?;
        if let Some(skew) = options.max_clock_skew_ms {
            config.max_clock_skew_ms = skew;
        }
        // The core checks that both keys are in the store.
        let generator =
            TransactionGenerator::new(config, key_store(&keys)?).map_err(Failure::from)?;
        let templates = templates.inner.clone();
        let config = validator_config(options.validator.as_ref())?;
        Ok(Self {
            inner: ehrchain_core::Handshaker::new(templates, generator, config),
        })
    }

    /// A copy of the handshaker's templates.
    #[must_use]
    pub fn templates(&self) -> Templates {
        Templates {
            inner: self.inner.templates().clone(),
        }
    }

    /// Replaces the handshaker's templates with a copy of `templates`: a
    /// template added, activated or deactivated since (`Templates.deactivate`)
    /// takes effect for the TIs generated from now on, as Rust's
    /// `Handshaker::templates_mut` and C's `ehr_handshaker_set_templates`.
    #[wasm_bindgen(js_name = setTemplates)]
    pub fn set_templates(&mut self, templates: &Templates) {
        *self.inner.templates_mut() = templates.inner.clone();
    }

    /// The forms a role may fill in (see `Templates.formsFor`).
    ///
    /// # Errors
    /// `EHR_ROLE_INVALID`.
    #[wasm_bindgen(js_name = formsFor, unchecked_return_type = "Form[]")]
    pub fn forms_for(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] role: JsValue,
    ) -> Result<JsValue, JsValue> {
        let role =
            ehrchain_core::Role::new(convert::string(&role, "role")?).map_err(Failure::from)?;
        Ok(convert::to_js(&self.inner.templates().forms_for(&role))?)
    }

    /// Turns a TI into its TC: checks it against its template, seals the
    /// record (fresh nonce from `crypto.getRandomValues`) and encodes the
    /// call. `nowMs` is the host's clock in Unix milliseconds, like every time
    /// in this API (default `Date.now()`); the TI's own `timestamp` is in Unix
    /// seconds and may lie at most `maxClockSkewMs` ahead of it.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` / `EHR_TI_MALFORMED` for a value that is not a TI;
    /// `EHR_TI_REJECTED` with a `violations` array listing everything wrong;
    /// `EHR_KEY_UNKNOWN` / `EHR_ENVELOPE_TOO_LARGE` when sealing fails.
    pub fn generate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "InitialTransaction | string")] ti: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number")] now_ms: Option<
            JsValue,
        >,
    ) -> Result<ChainTransaction, JsValue> {
        let prepared = self.prepare(ti, now_ms)?;
        let tc = prepared.inner.seal().map_err(Failure::from)?;
        Ok(ChainTransaction { inner: tc })
    }

    /// A validator for a TI (the handshaker's whole flow, for async hosts):
    /// for a TI the generator refuses, a finished validator whose one ACK is
    /// invalid with the reason (template violations listed). `nowMs` is Unix
    /// milliseconds (default `Date.now()`). Drive it with `runValidator`.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` / `EHR_TI_MALFORMED` for a value that is not a TI at
    /// all (no TI id to acknowledge); `EHR_KEY_STORE_UNAVAILABLE`
    /// (retryable) when the key store cannot answer, which is no verdict on
    /// the TI: nothing made, call again later.
    #[wasm_bindgen(js_name = validatorFor)]
    pub fn validator_for(
        &self,
        #[wasm_bindgen(unchecked_param_type = "InitialTransaction | string")] ti: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number")] now_ms: Option<
            JsValue,
        >,
    ) -> Result<Validator, JsValue> {
        let ti = initial_transaction(&ti)?;
        let validator = self
            .inner
            .validator_for(&ti, now_or_date(now_ms)?, &mut OsRng)
            .map_err(Failure::from)?;
        Ok(Validator::from(validator))
    }

    /// A validator for a TC this handshaker made (with `generateAsync`),
    /// with the handshaker's validator settings: what `validatorFor` does
    /// after generating.
    #[wasm_bindgen(js_name = validatorForTransaction)]
    #[must_use]
    pub fn validator_for_transaction(&self, tc: &ChainTransaction) -> Validator {
        Validator::from(TransactionValidator::new(
            &tc.inner,
            *self.inner.validator_config(),
        ))
    }

    /// The on-chain pseudonym of a patient identifier (HMAC-SHA256 under the
    /// pseudonym key).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a value that is not a string.
    #[wasm_bindgen(unchecked_return_type = "Hex")]
    pub fn pseudonym(
        &self,
        #[wasm_bindgen(js_name = patientId, unchecked_param_type = "string")] patient_id: JsValue,
    ) -> Result<String, JsValue> {
        let id = convert::string(&patient_id, "patientId")?;
        Ok(hex(self.inner.generator().pseudonym(&id).as_slice()))
    }

    /// Opens a sealed envelope with the handshaker's key store; returns the
    /// plaintext bytes (a record made by `generate` is UTF-8 JSON).
    ///
    /// # Errors
    /// `EHR_ENVELOPE_MALFORMED`, `EHR_ENVELOPE_WRONG_KEY`, `EHR_ENVELOPE_TAMPERED`, … (with `reason`: `truncated`, `wrong_key`,
    /// `tampered`, …); `EHR_KEY_UNKNOWN` when the key is not in the store.
    pub fn open(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] envelope: JsValue,
    ) -> Result<Vec<u8>, JsValue> {
        let envelope =
            Envelope::from_bytes(convert::bytes(&envelope, "envelope")?).map_err(Failure::from)?;
        let plaintext = envelope
            .open(self.inner.generator().key_store())
            .map_err(Failure::from)?;
        Ok(plaintext.to_vec())
    }

    /// Opens a record made by `generate` and parses its JSON.
    ///
    /// # Errors
    /// As [`Handshaker::open`]; `EHR_INVALID_ARGUMENT` when the plaintext is not JSON.
    #[wasm_bindgen(js_name = openRecord, unchecked_return_type = "SealedRecord")]
    pub fn open_record(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] envelope: JsValue,
    ) -> Result<JsValue, JsValue> {
        let plaintext = zeroize::Zeroizing::new(self.open(envelope)?);
        let text = std::str::from_utf8(&plaintext)
            .map_err(|_| Failure::bad_input("the record is not UTF-8 JSON"))?;
        Ok(js_sys::JSON::parse(text)
            .map_err(|_| Failure::bad_input("the record is not UTF-8 JSON"))?)
    }
}

/// The optional `nowMs` argument (Unix milliseconds), or `Date.now()`.
pub(crate) fn now_or_date(now_ms: Option<JsValue>) -> Result<UnixMillis, Failure> {
    Ok(UnixMillis(
        convert::opt_uint(&now_ms.unwrap_or(JsValue::UNDEFINED), "nowMs")?.unwrap_or_else(date_now),
    ))
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn date_now() -> u64 {
    // Date.now() is a whole, positive number of milliseconds.
    js_sys::Date::now().max(0.0) as u64
}

/// A blockchain transaction (TC) with the sealed record it anchors.
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct ChainTransaction {
    pub(crate) inner: CoreTc,
}

#[wasm_bindgen]
impl ChainTransaction {
    /// The `EhrRegistry` contract called.
    #[wasm_bindgen(getter, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn to(&self) -> String {
        hex(self.inner.to.as_slice())
    }

    /// The chain id the transaction is for.
    #[wasm_bindgen(getter, js_name = chainId, unchecked_return_type = "number")]
    #[must_use]
    pub fn chain_id(&self) -> JsValue {
        convert::number(self.inner.chain_id)
    }

    /// ABI-encoded `anchorRecord` call.
    #[wasm_bindgen(getter, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn calldata(&self) -> String {
        hex(&self.inner.calldata)
    }

    /// The TI id.
    #[wasm_bindgen(getter, js_name = tiId, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn ti_id(&self) -> String {
        hex(self.inner.ti_id.as_slice())
    }

    /// The template id.
    #[wasm_bindgen(getter, js_name = templateId, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn template_id(&self) -> String {
        hex(self.inner.template_id.as_slice())
    }

    /// The patient pseudonym (zero for templates without a patient).
    #[wasm_bindgen(getter, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn patient(&self) -> String {
        hex(self.inner.patient.as_slice())
    }

    /// SHA-256 of the sealed envelope: the value anchored on chain.
    #[wasm_bindgen(getter, js_name = recordHash, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn record_hash(&self) -> String {
        hex(self.inner.record_hash.as_slice())
    }

    /// The envelope's IPFS CIDv1 (raw codec).
    #[wasm_bindgen(getter)]
    #[must_use]
    pub fn cid(&self) -> String {
        self.inner.cid()
    }

    /// The sealed envelope bytes, for the host's database or blob store.
    #[wasm_bindgen(getter)]
    #[must_use]
    pub fn envelope(&self) -> Vec<u8> {
        self.inner.envelope.as_bytes().to_vec()
    }

    /// What the transport sends (without the envelope).
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(unchecked_return_type = "Submission")]
    pub fn submission(&self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js(&Submission::from(&self.inner))?)
    }

    /// A validator anchoring this TC; `config` overrides validator settings
    /// (snake_case keys of `ValidatorConfig`).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for unknown or malformed settings.
    pub fn validator(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "Partial<ValidatorConfig>")] config: Option<
            JsValue,
        >,
    ) -> Result<Validator, JsValue> {
        let config = match config {
            None => validator_config(None)?,
            Some(config) => validator_config(Some(&convert::document(&config, "config")?))?,
        };
        Ok(Validator::from(TransactionValidator::new(
            &self.inner,
            config,
        )))
    }

    /// A TC read back from its JSON form (`toJSON`), for a host that stored
    /// it and validates it later (after a page reload, in another process).
    /// The envelope must be well formed and bound to the TC's TI, template
    /// and patient, and hash to its record hash; an `anchorRecord` calldata
    /// must anchor that TI id and record hash.
    ///
    /// # Errors
    /// `EHR_TC_INVALID` for a malformed document or one whose parts disagree;
    /// `EHR_ENVELOPE_MALFORMED` (and its `reason`) for a malformed envelope.
    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(
        #[wasm_bindgen(unchecked_param_type = "ChainTransactionJson | string")] json: JsValue,
    ) -> Result<ChainTransaction, JsValue> {
        let json = convert::json_text(&json, "TC")?;
        let inner = CoreTc::from_json(&json).map_err(Failure::from)?;
        Ok(ChainTransaction { inner })
    }

    /// The TC as plain JSON data (hex strings; the envelope as hex).
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "ChainTransactionJson")]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js(&self.inner)?)
    }
}

/// Seals `plaintext` into an envelope (`docs/envelope.md`) under a record key
/// derived from the 32-byte master `key` for `binding` (or from the key
/// `binding.keyId` of a `KeyStore`). `nonce` (12 bytes) is
/// for test vectors only; by default a fresh one comes from
/// `crypto.getRandomValues`. Never reuse a nonce.
///
/// # Errors
/// `EHR_INVALID_ARGUMENT` for malformed arguments; `EHR_KEY_INVALID` for a
/// key that is not 32 bytes, `EHR_KEY_ID_INVALID` for a malformed key id;
/// a key store's `EHR_KEY_UNKNOWN`, `EHR_KEY_STORE_UNAVAILABLE`.
#[wasm_bindgen(js_name = sealEnvelope)]
pub fn seal_envelope(
    #[wasm_bindgen(unchecked_param_type = "EnvelopeBinding")] binding: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | string | KeyStore")] key: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] plaintext: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "Uint8Array | string")] nonce: Option<JsValue>,
) -> Result<Vec<u8>, JsValue> {
    let binding: EnvelopeBinding = convert::document(&binding, "binding")?;
    let master = master_key_or_store(&key, &binding.key_id)?;
    let plaintext = convert::bytes(&plaintext, "plaintext")?;
    let nonce = if let Some(nonce) = nonce {
        let bytes = convert::bytes(&nonce, "nonce")?;
        <[u8; NONCE_LEN]>::try_from(bytes.as_slice())
            .map_err(|_| Failure::bad_input("nonce must be 12 bytes"))?
    } else {
        let mut fresh = [0u8; NONCE_LEN];
        OsRng
            .try_fill_bytes(&mut fresh)
            .map_err(|e| Failure::new(ErrorCode::Internal, format!("no randomness: {e}")))?;
        fresh
    };
    let envelope = Envelope::seal(&binding, &master, nonce, &plaintext).map_err(Failure::from)?;
    Ok(envelope.into_bytes())
}

/// Opens an envelope with the 32-byte master `key` (or the key its header
/// names, from a `KeyStore`); returns the plaintext.
///
/// # Errors
/// `EHR_ENVELOPE_MALFORMED`, `EHR_ENVELOPE_WRONG_KEY`, `EHR_ENVELOPE_TAMPERED`, … with `reason` (`truncated`, `trailing_bytes`,
/// `not_an_envelope`, `unsupported_version`, `unsupported_suite`,
/// `malformed_key_id`, `ciphertext_too_short`, `wrong_key`, `tampered`);
/// `EHR_KEY_INVALID` for a key that is not 32 bytes; a key store's
/// `EHR_KEY_UNKNOWN`, `EHR_KEY_STORE_UNAVAILABLE`.
#[wasm_bindgen(js_name = openEnvelope)]
pub fn open_envelope(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] envelope: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | string | KeyStore")] key: JsValue,
) -> Result<Vec<u8>, JsValue> {
    let envelope =
        Envelope::from_bytes(convert::bytes(&envelope, "envelope")?).map_err(Failure::from)?;
    let master = master_key_or_store(&key, &envelope.binding().key_id)?;
    Ok(envelope.open_with(&master).map_err(Failure::from)?.to_vec())
}

/// The clear header of an envelope (key id, patient pseudonym, template id,
/// TI id), its record hash and CID, without opening it.
///
/// # Errors
/// `EHR_ENVELOPE_MALFORMED` for a malformed envelope.
#[wasm_bindgen(js_name = envelopeInfo, unchecked_return_type = "EnvelopeInfo")]
pub fn envelope_info(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] envelope: JsValue,
) -> Result<JsValue, JsValue> {
    let envelope =
        Envelope::from_bytes(convert::bytes(&envelope, "envelope")?).map_err(Failure::from)?;
    Ok(convert::to_js(&envelope.info())?)
}
