// The WebCrypto half of Handshaker.generateAsync and Handshaker.openAsync
// (ehrchain-wasm/src/webcrypto.rs): WebAssembly has no AES instructions, the
// platform's WebCrypto has, so large records are encrypted and decrypted
// there. Everything else (checks, record, key derivation and commitment,
// the record hash, call) stays in the WebAssembly core.

/**
 * `failed` (the core's EHR_EXTERNAL_CIPHER error, made by the caller) saying
 * what went wrong; ehrchain's own errors pass through.
 */
function cipherError(failed, error) {
  if (error?.name === "EhrchainError") return error;
  failed.message = error?.missing ?? `WebCrypto failed: ${error?.message ?? error}`;
  if (error?.missing === undefined) failed.cause = error;
  return failed;
}

/** `crypto.subtle`, or a failure that `cipherError` reports. */
function subtle() {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    throw {
      missing:
        "WebCrypto (crypto.subtle) is not available: browsers offer it only to secure contexts (https:// or http://localhost); serve the page over https or use the synchronous call instead",
    };
  }
  return subtle;
}

/** Imports a raw AES-256-GCM record key (non-extractable) and zeroes `rawKey`. */
async function recordKey(rawKey, usage) {
  try {
    return await subtle().importKey("raw", rawKey, "AES-GCM", false, [usage]);
  } finally {
    rawKey.fill(0);
  }
}

/**
 * Encrypts `prepared` (a PreparedTransaction, which this consumes) with
 * AES-256-GCM; resolves to its ChainTransaction (the core hashes the
 * envelope). The copy of the plaintext is zeroed once encrypted.
 */
export async function sealWithWebCrypto(prepared, failed) {
  let sealed;
  try {
    const key = await recordKey(prepared.recordKey(), "encrypt");
    const header = prepared.header();
    const plaintext = prepared.plaintext();
    try {
      const params = { name: "AES-GCM", iv: prepared.nonce(), additionalData: header, tagLength: 128 };
      sealed = new Uint8Array(await subtle().encrypt(params, key, plaintext));
    } finally {
      plaintext.fill(0);
    }
  } catch (error) {
    prepared.free();
    throw cipherError(failed, error);
  }
  // The core hashes the envelope itself: a TC never anchors a hash given to it.
  return prepared.intoSealed(sealed);
}

/**
 * Decrypts an envelope's `sealed` bytes (ciphertext and tag) under `rawKey`
 * (the record key, checked against the envelope's key commitment by the
 * core; zeroed here), with `nonce` and `header` as associated data. Rejects
 * with `tampered` (the core's error) when the tag does not verify, with
 * `failed` when WebCrypto is missing or fails.
 */
export async function openWithWebCrypto(rawKey, nonce, header, sealed, tampered, failed) {
  try {
    const key = await recordKey(rawKey, "decrypt");
    const params = { name: "AES-GCM", iv: nonce, additionalData: header, tagLength: 128 };
    return new Uint8Array(await subtle().decrypt(params, key, sealed));
  } catch (error) {
    throw error?.name === "OperationError" ? tampered : cipherError(failed, error);
  }
}
