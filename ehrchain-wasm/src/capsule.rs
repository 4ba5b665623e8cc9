//! Key capsules for JavaScript (`docs/capsule.md`): a record's key wrapped
//! for one recipient with HPKE; recipients' key pairs and key ids. Keys and
//! capsules are `Uint8Array`s, ids `0x` hex; randomness comes from
//! `crypto.getRandomValues`.

use ehrchain_core::Envelope;
use ehrchain_core::capsule::{
    CapsuleBinding, CapsuleSuite, KeyCapsule as CoreCapsule, RecipientPrivateKey,
    RecipientPublicKey,
};
use rand_core::OsRng;
use wasm_bindgen::prelude::*;

use crate::convert::{self, hex};
use crate::error::Failure;
use crate::keystore::{master_key_or_store, recipient_key};

/// The suite argument: `"x_wing"` (the default when absent) or `"x25519"`.
pub(crate) fn suite(value: &JsValue) -> Result<CapsuleSuite, Failure> {
    if value.is_undefined() || value.is_null() {
        return Ok(CapsuleSuite::XWing);
    }
    convert::value(value, "suite")
}

/// A recipient's private key argument of `suite` (32 bytes).
pub(crate) fn private_key(
    suite: CapsuleSuite,
    value: &JsValue,
) -> Result<RecipientPrivateKey, Failure> {
    // The copy in WebAssembly memory is cleared once read.
    let bytes = convert::secret_bytes(value, "privateKey")?;
    Ok(RecipientPrivateKey::from_bytes(suite, &bytes)?)
}

/// A recipient's public key argument of `suite`.
pub(crate) fn public_key(
    suite: CapsuleSuite,
    value: &JsValue,
) -> Result<RecipientPublicKey, Failure> {
    Ok(RecipientPublicKey::from_bytes(
        suite,
        &convert::bytes(value, "publicKey")?,
    )?)
}

/// An envelope argument.
pub(crate) fn envelope(value: &JsValue) -> Result<Envelope, Failure> {
    Ok(Envelope::from_bytes(convert::bytes(value, "envelope")?)?)
}

/// Makes a new recipient private key of `suite` (`"x_wing"`, the default, or
/// `"x25519"`) from `crypto.getRandomValues`: 32 bytes (an X-Wing seed, or an
/// X25519 scalar). Secret: keep it in the recipient's key store, and publish
/// its public key (`recipientPublicKey`) and key id (`recipientKeyId`).
///
/// # Errors
/// `EHR_INVALID_ARGUMENT` for an unknown suite.
#[wasm_bindgen(js_name = generateRecipientKey)]
pub fn generate_recipient_key(
    #[wasm_bindgen(unchecked_optional_param_type = "CapsuleSuite")] suite: Option<JsValue>,
) -> Result<Vec<u8>, JsValue> {
    let suite = self::suite(&suite.unwrap_or(JsValue::UNDEFINED))?;
    Ok(RecipientPrivateKey::generate(suite, &mut OsRng)
        .to_bytes()
        .to_vec())
}

/// The public key of the 32-byte recipient `privateKey` of `suite` (X-Wing
/// 1,216 bytes, X25519 32 bytes): what a recipient publishes for holders.
///
/// # Errors
/// `EHR_RECIPIENT_KEY_INVALID` for a key that is not 32 bytes;
/// `EHR_INVALID_ARGUMENT` for an unknown suite or a wrong type.
#[wasm_bindgen(js_name = recipientPublicKey)]
pub fn recipient_public_key(
    #[wasm_bindgen(unchecked_param_type = "CapsuleSuite")] suite: JsValue,
    #[wasm_bindgen(js_name = privateKey, unchecked_param_type = "Uint8Array")] private_key: JsValue,
) -> Result<Vec<u8>, JsValue> {
    let key = self::private_key(self::suite(&suite)?, &private_key)?;
    Ok(key.public_key().to_bytes())
}

/// The key id of the recipient `publicKey` of `suite`: `keccak256(suite byte
/// || public key)`, what a capsule names and the registry publishes.
///
/// # Errors
/// `EHR_RECIPIENT_KEY_INVALID` when the bytes are not a key of the suite.
#[wasm_bindgen(js_name = recipientKeyId, unchecked_return_type = "Hex")]
pub fn recipient_key_id(
    #[wasm_bindgen(unchecked_param_type = "CapsuleSuite")] suite: JsValue,
    #[wasm_bindgen(js_name = publicKey, unchecked_param_type = "Uint8Array")] public_key: JsValue,
) -> Result<String, JsValue> {
    let key = self::public_key(self::suite(&suite)?, &public_key)?;
    Ok(hex(key.key_id().as_slice()))
}

/// The holder's side: derives the record key of `envelope` from the 32-byte
/// master `key` it was sealed with (or the key its header names, from a
/// `KeyStore`) and seals it for the recipient's
/// `publicKey` of `suite` under `binding` (whose `recordHash` must be the
/// envelope's), with randomness from `crypto.getRandomValues`. Returns the
/// capsule's bytes. Make a capsule only while the grant (or the emergency
/// role) holds at a mined block, and anchor it as a disclosure.
///
/// # Errors
/// `EHR_CAPSULE_WRONG_BINDING` (`reason` `wrong_record`) when
/// `binding.recordHash` is not the envelope's, `EHR_ENVELOPE_WRONG_KEY` for
/// another master key, `EHR_RECIPIENT_KEY_INVALID` for a public key that is
/// not one of `suite`, `EHR_ENVELOPE_MALFORMED`, `EHR_KEY_INVALID`;
/// `EHR_INVALID_JSON` for a malformed binding; a key store's
/// `EHR_KEY_UNKNOWN`, `EHR_KEY_STORE_UNAVAILABLE`.
#[wasm_bindgen(js_name = sealCapsule)]
pub fn seal_capsule(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] envelope: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | KeyStore")] key: JsValue,
    #[wasm_bindgen(unchecked_param_type = "CapsuleBinding")] binding: JsValue,
    #[wasm_bindgen(unchecked_param_type = "CapsuleSuite")] suite: JsValue,
    #[wasm_bindgen(js_name = publicKey, unchecked_param_type = "Uint8Array")] public_key: JsValue,
) -> Result<Vec<u8>, JsValue> {
    let envelope = self::envelope(&envelope)?;
    let master = master_key_or_store(&key, &envelope.binding().key_id)?;
    let binding: CapsuleBinding = convert::document(&binding, "binding")?;
    let recipient = self::public_key(self::suite(&suite)?, &public_key)?;
    let capsule =
        CoreCapsule::seal_envelope_key(&binding, &recipient, &envelope, &master, &mut OsRng)
            .map_err(Failure::from)?;
    Ok(capsule.as_bytes().to_vec())
}

/// A record key sealed for one recipient, read from its bytes and checked
/// for structure (not decrypted yet).
#[wasm_bindgen]
#[derive(Debug)]
pub struct KeyCapsule {
    inner: CoreCapsule,
}

#[wasm_bindgen]
impl KeyCapsule {
    /// Reads a capsule and checks its structure (magic, version, suite,
    /// grant field, length).
    ///
    /// # Errors
    /// `EHR_CAPSULE_MALFORMED` or `EHR_CAPSULE_UNSUPPORTED` with `reason`
    /// (`truncated`, `trailing_bytes`, `not_a_capsule`, `malformed_authority`,
    /// `unsupported_version`, `unsupported_suite`).
    pub fn parse(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
    ) -> Result<KeyCapsule, JsValue> {
        let bytes = convert::bytes(&bytes, "capsule")?;
        Ok(Self {
            inner: CoreCapsule::from_bytes(&bytes).map_err(Failure::from)?,
        })
    }

    /// The capsule's suite.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(getter, unchecked_return_type = "CapsuleSuite")]
    pub fn suite(&self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js(&self.inner.suite())?)
    }

    /// What the capsule is bound to, read from its clear header (not
    /// authenticated until opened).
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(getter, unchecked_return_type = "CapsuleBinding")]
    pub fn binding(&self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js(self.inner.binding())?)
    }

    /// The key id of the recipient key the capsule was sealed for.
    #[wasm_bindgen(getter, js_name = recipientKeyId, unchecked_return_type = "Hex")]
    #[must_use]
    pub fn recipient_key_id(&self) -> String {
        hex(self.inner.recipient_key_id().as_slice())
    }

    /// The capsule's bytes.
    #[wasm_bindgen(js_name = toBytes)]
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.as_bytes().to_vec()
    }

    /// Opens the capsule with the recipient's 32-byte `privateKey` (of the
    /// capsule's suite), or with the key a `RecipientKeyStore` answers for
    /// the capsule's `recipientKeyId` and suite, after checking that it is
    /// bound to `expected` (the disclosure asked for); returns the 32-byte
    /// record key. Secret: clear it when done.
    ///
    /// # Errors
    /// `EHR_CAPSULE_WRONG_KEY` (also for a key the store does not hold),
    /// `EHR_CAPSULE_WRONG_BINDING`, `EHR_CAPSULE_TAMPERED`,
    /// `EHR_RECIPIENT_KEY_INVALID`; `EHR_KEY_STORE_UNAVAILABLE` when the
    /// store's callback throws or answers anything but 32 bytes or `null`;
    /// `EHR_INVALID_JSON` for a malformed binding.
    pub fn open(
        &self,
        #[wasm_bindgen(unchecked_param_type = "CapsuleBinding")] expected: JsValue,
        #[wasm_bindgen(js_name = privateKey, unchecked_param_type = "Uint8Array | RecipientKeyStore")]
        private_key: JsValue,
    ) -> Result<Vec<u8>, JsValue> {
        let (expected, key) = self.opening(&expected, &private_key)?;
        let record_key = self.inner.open(&expected, &key).map_err(Failure::from)?;
        Ok(record_key.to_vec())
    }

    /// The recipient's side in full: checks that `envelope` is the record the
    /// capsule is for, opens the capsule as `open` does and the envelope with
    /// the record key; returns the plaintext record. Check the record hash
    /// against its anchor and the grant against the chain as well.
    ///
    /// # Errors
    /// `EHR_CAPSULE_WRONG_BINDING` (`reason` `wrong_record`) for another
    /// envelope, then as `open`, then `EHR_ENVELOPE_TAMPERED`.
    #[wasm_bindgen(js_name = openEnvelope)]
    pub fn open_envelope(
        &self,
        #[wasm_bindgen(unchecked_param_type = "CapsuleBinding")] expected: JsValue,
        #[wasm_bindgen(js_name = privateKey, unchecked_param_type = "Uint8Array | RecipientKeyStore")]
        private_key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] envelope: JsValue,
    ) -> Result<Vec<u8>, JsValue> {
        let (expected, key) = self.opening(&expected, &private_key)?;
        let envelope = self::envelope(&envelope)?;
        let record = self
            .inner
            .open_envelope(&expected, &key, &envelope)
            .map_err(Failure::from)?;
        Ok(record.to_vec())
    }
}

impl KeyCapsule {
    /// The expected binding and the private key (of the capsule's suite:
    /// given, or from a key store) of an opening.
    fn opening(
        &self,
        expected: &JsValue,
        private_key: &JsValue,
    ) -> Result<(CapsuleBinding, RecipientPrivateKey), Failure> {
        let expected = convert::document(expected, "expected")?;
        let key = recipient_key(
            private_key,
            self.inner.suite(),
            &self.inner.recipient_key_id(),
        )?;
        Ok((expected, key))
    }
}
