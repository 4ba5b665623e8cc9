// The WebCrypto half of Handshaker.generateAsync and Handshaker.openAsync
// (ehrchain-wasm/src/webcrypto.rs): WebAssembly has no AES or SHA
// instructions, the platform's WebCrypto has, so large records are encrypted,
// hashed and decrypted there. Everything else (checks, record, key
// derivation and commitment, call) stays in the WebAssembly core.

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
 * AES-256-GCM and hashes its envelope with SHA-256; resolves to its
 * ChainTransaction. The copy of the plaintext is zeroed once encrypted.
 */
export async function sealWithWebCrypto(prepared, failed) {
  let sealed;
  let recordHash;
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
    const envelope = new Uint8Array(header.length + sealed.length);
    envelope.set(header);
    envelope.set(sealed, header.length);
    recordHash = new Uint8Array(await subtle().digest("SHA-256", envelope));
  } catch (error) {
    prepared.free();
    throw cipherError(failed, error);
  }
  return prepared.intoSealed(sealed, recordHash);
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
