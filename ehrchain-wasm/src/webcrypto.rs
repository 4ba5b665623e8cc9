//! `Handshaker.generateAsync` and `Handshaker.openAsync`: large records
//! sealed and opened by WebCrypto (`src/webcrypto.js`), around the
//! core's two-phase generation (`TransactionGenerator::prepare`, then
//! `PreparedTransaction::into_sealed`) and its `Envelope::record_key`.

use ehrchain_core::envelope::EnvelopeError;
use ehrchain_core::envelope::TAG_LEN;
use ehrchain_core::generator::PreparedTransaction as CorePrepared;
use ehrchain_core::{Envelope, ErrorCode, KeyStore};
use js_sys::{Promise, Uint8Array};
use rand_core::OsRng;
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::error::Failure;
use crate::handshaker::{ChainTransaction, Handshaker, now_or_date};
use crate::ti::initial_transaction;

/// Records from this size on are sealed (and opened) by WebCrypto; smaller
/// ones in WebAssembly, where they are sealed before WebCrypto's
/// asynchronous calls (about 100 µs each in Node) would even return. The
/// crossover was near 12 KiB on the machine of `docs/performance.md`.
const WEBCRYPTO_FROM: usize = 12 * 1024;

#[wasm_bindgen(module = "/src/webcrypto.js")]
extern "C" {
    #[wasm_bindgen(js_name = sealWithWebCrypto)]
    fn seal_with_webcrypto(prepared: PreparedTransaction, failed: JsValue) -> Promise;

    #[wasm_bindgen(js_name = openWithWebCrypto)]
    fn open_with_webcrypto(
        key: Uint8Array,
        nonce: Uint8Array,
        header: Uint8Array,
        sealed: Uint8Array,
        tampered: JsValue,
        failed: JsValue,
    ) -> Promise;
}

#[wasm_bindgen]
impl Handshaker {
    /// As `generate`, but a record of 12 KiB or more is encrypted
    /// (AES-256-GCM) and its envelope hashed (SHA-256) by WebCrypto, which
    /// uses the CPU's AES and SHA instructions that WebAssembly lacks: several
    /// times faster than `generate` for large records (smaller ones are sealed
    /// in WebAssembly, which is faster for them). Resolves to the TC
    /// `generate` would make with the same nonce. Large records need
    /// `crypto.subtle` (Node 20, or a browser page in a secure context).
    ///
    /// # Errors
    /// Rejects as `generate` throws, and with `EHR_EXTERNAL_CIPHER` when WebCrypto
    /// is missing or fails.
    #[wasm_bindgen(js_name = generateAsync, unchecked_return_type = "Promise<ChainTransaction>")]
    pub fn generate_async(
        &self,
        #[wasm_bindgen(unchecked_param_type = "InitialTransaction | string")] ti: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number")] now_ms: Option<
            JsValue,
        >,
    ) -> Promise {
        match self.prepare(ti, now_ms) {
            Ok(prepared) if prepared.inner.envelope().plaintext().len() >= WEBCRYPTO_FROM => {
                seal_with_webcrypto(prepared, cipher_failed())
            }
            Ok(prepared) => match prepared.inner.seal() {
                Ok(tc) => Promise::resolve(&JsValue::from(ChainTransaction { inner: tc })),
                Err(error) => Promise::reject(&JsValue::from(Failure::from(error))),
            },
            Err(error) => Promise::reject(&error),
        }
    }

    /// As `open`, but a record of 12 KiB or more is decrypted by WebCrypto
    /// (the key commitment is checked in WebAssembly first). Resolves to the
    /// plaintext bytes.
    ///
    /// # Errors
    /// Rejects as `open` throws (`EHR_ENVELOPE_WRONG_KEY`,
    /// `EHR_ENVELOPE_TAMPERED`, …; `EHR_KEY_UNKNOWN`), and with `EHR_EXTERNAL_CIPHER` when
    /// WebCrypto is missing or fails.
    #[wasm_bindgen(js_name = openAsync, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn open_async(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] envelope: JsValue,
    ) -> Promise {
        self.open_with_either(&envelope)
            .unwrap_or_else(|error| Promise::reject(&JsValue::from(error)))
    }

    /// The first half of `generate`: checks the TI, writes its record and
    /// encodes the call, leaving encryption and hashing to the caller. Most
    /// callers want `generateAsync`, which does the rest with WebCrypto.
    /// `nowMs` as for `generate`.
    ///
    /// # Errors
    /// As `generate`.
    pub fn prepare(
        &self,
        #[wasm_bindgen(unchecked_param_type = "InitialTransaction | string")] ti: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number")] now_ms: Option<
            JsValue,
        >,
    ) -> Result<PreparedTransaction, JsValue> {
        let ti = initial_transaction(&ti)?;
        let now = now_or_date(now_ms)?;
        let inner = self
            .inner
            .generator()
            .prepare(self.inner.templates(), &ti, now, &mut OsRng)
            .map_err(Failure::from)?;
        Ok(PreparedTransaction { inner })
    }
}

/// The error WebCrypto's failures reject with (`webcrypto.js` says what
/// failed in its message).
fn cipher_failed() -> JsValue {
    Failure::new(ErrorCode::ExternalCipher, "WebCrypto failed").into()
}

impl Handshaker {
    /// `openAsync`: WebCrypto for large records, WebAssembly for small ones.
    fn open_with_either(&self, envelope: &JsValue) -> Result<Promise, Failure> {
        let envelope = Envelope::from_bytes(convert::bytes(envelope, "envelope")?)?;
        let keys = self.inner.generator().key_store();
        if envelope.ciphertext_and_tag().len().saturating_sub(TAG_LEN) < WEBCRYPTO_FROM {
            let plaintext = envelope.open(keys)?;
            let plaintext = JsValue::from(Uint8Array::from(plaintext.as_slice()));
            return Ok(Promise::resolve(&plaintext));
        }
        let key = envelope.record_key(&keys.master_key(&envelope.binding().key_id)?)?;
        Ok(open_with_webcrypto(
            Uint8Array::from(key.as_slice()),
            Uint8Array::from(envelope.nonce().as_slice()),
            Uint8Array::from(envelope.header()),
            Uint8Array::from(envelope.ciphertext_and_tag()),
            Failure::from(EnvelopeError::Tampered).into(),
            cipher_failed(),
        ))
    }
}

/// A TI checked, its record written and its call encoded, waiting for
/// AES-256-GCM and SHA-256 (`Handshaker.prepare`). Each accessor returns a
/// fresh copy; zero the copies of `recordKey()` and `plaintext()` once used.
/// `intoSealed` consumes it; call `free()` to drop it otherwise (its own
/// key and plaintext are zeroed then).
#[wasm_bindgen]
#[derive(Debug)]
pub struct PreparedTransaction {
    pub(crate) inner: CorePrepared,
}

#[wasm_bindgen]
impl PreparedTransaction {
    /// The envelope header: the associated data of AES-256-GCM.
    #[must_use]
    pub fn header(&self) -> Uint8Array {
        Uint8Array::from(self.inner.envelope().header())
    }

    /// The record to encrypt (UTF-8 JSON). Secret.
    #[must_use]
    pub fn plaintext(&self) -> Uint8Array {
        Uint8Array::from(self.inner.envelope().plaintext())
    }

    /// The 12-byte AES-GCM nonce.
    #[must_use]
    pub fn nonce(&self) -> Uint8Array {
        Uint8Array::from(self.inner.envelope().nonce().as_slice())
    }

    /// The 32-byte AES-256-GCM record key. Secret.
    #[wasm_bindgen(js_name = recordKey)]
    #[must_use]
    pub fn record_key(&self) -> Uint8Array {
        Uint8Array::from(self.inner.envelope().record_key().as_slice())
    }

    /// The TC, from WebCrypto's `encrypt` output (ciphertext and 16-byte
    /// tag); the record hash is the SHA-256 of the envelope, computed here.
    /// Consumes the prepared transaction, also when it throws.
    ///
    /// # Errors
    /// `EHR_EXTERNAL_CIPHER` (`reason` `sealed_length`) when `sealed` is not
    /// the plaintext length plus 16 bytes; `EHR_INVALID_ARGUMENT`
    /// for arguments of the wrong type or length.
    #[wasm_bindgen(js_name = intoSealed)]
    pub fn into_sealed(
        self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] sealed: JsValue,
    ) -> Result<ChainTransaction, JsValue> {
        let sealed = convert::bytes(&sealed, "sealed")?;
        let inner = self.inner.into_sealed(&sealed).map_err(Failure::from)?;
        Ok(ChainTransaction { inner })
    }
}
