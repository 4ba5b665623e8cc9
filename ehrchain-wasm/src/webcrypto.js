// The WebCrypto half of Handshaker.generateAsync (ehrchain-wasm/src/prepared.rs):
// WebAssembly has no AES instructions, the platform's WebCrypto has, so large
// records are encrypted and hashed there. Everything else (checks, record,
// key derivation, call) stays in the WebAssembly core.

/** An `Error` with `code` EHR_WEBCRYPTO. */
function webCryptoError(message, cause) {
  const error = new Error(message, cause === undefined ? undefined : { cause });
  error.name = "EhrchainError";
  error.code = "EHR_WEBCRYPTO";
  return error;
}

/**
 * Encrypts `prepared` (a PreparedTransaction, which this consumes) with
 * AES-256-GCM and hashes its envelope with SHA-256, both from WebCrypto;
 * resolves to its ChainTransaction. Copies of the record key and the
 * plaintext are zeroed once used.
 */
export async function sealWithWebCrypto(prepared) {
  let sealed;
  let recordHash;
  try {
    const subtle = globalThis.crypto?.subtle;
    if (!subtle) {
      throw webCryptoError(
        "WebCrypto (crypto.subtle) is not available: browsers offer it only to secure contexts (https:// or http://localhost); serve the page over https or call generate() instead",
      );
    }
    const rawKey = prepared.recordKey();
    let key;
    try {
      key = await subtle.importKey("raw", rawKey, "AES-GCM", false, ["encrypt"]);
    } finally {
      rawKey.fill(0);
    }
    const header = prepared.header();
    const plaintext = prepared.plaintext();
    try {
      const params = { name: "AES-GCM", iv: prepared.nonce(), additionalData: header, tagLength: 128 };
      sealed = new Uint8Array(await subtle.encrypt(params, key, plaintext));
    } finally {
      plaintext.fill(0);
    }
    const envelope = new Uint8Array(header.length + sealed.length);
    envelope.set(header);
    envelope.set(sealed, header.length);
    recordHash = new Uint8Array(await subtle.digest("SHA-256", envelope));
  } catch (error) {
    prepared.free();
    throw error?.code === "EHR_WEBCRYPTO" ? error : webCryptoError(`WebCrypto failed: ${error?.message ?? error}`, error);
  }
  return prepared.intoSealed(sealed, recordHash);
}
