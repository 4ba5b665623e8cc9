//! Signers: what signs a [`SigningRequest`] for its author, in-line, for hosts
//! that can (a local key, an HSM or a smart card behind the C callback).
//! Hosts whose signer answers later (a browser wallet) use the two steps of
//! [`SigningRequest`] instead.
//!
//! [`LocalSigner`] signs with a secp256k1 key held in memory, with k256's
//! deterministic RFC 6979 nonces: no RNG, so it builds for
//! `wasm32-unknown-unknown` like the rest of the core, and the same key and
//! statement always give the same signature (viem's and ethers' too).

use alloy_primitives::Address;
use k256::ecdsa::SigningKey;

use super::{AuthorshipError, SigningRequest};

/// Signs statements for one author.
pub trait Signer {
    /// The author's account: what the statement names as `author`.
    fn address(&self) -> Address;

    /// The 65-byte signature (`r ‖ s ‖ v`, `v` 27 or 28) of the request:
    /// of [`SigningRequest::digest`], or of [`SigningRequest::typed_data`]
    /// for a signer that hashes the typed data itself. What it returns is
    /// checked before anything is sent.
    ///
    /// # Errors
    /// [`AuthorshipError::SignerFailed`] when it makes no signature (a
    /// device missing, the author declining).
    fn sign(&self, request: &SigningRequest) -> Result<Vec<u8>, AuthorshipError>;

    /// Whether the author is a smart account (ERC-1271), whose signature
    /// only the registry checks ([`SigningRequest::for_smart_account`]);
    /// `false`, the default, for an externally owned account, whose
    /// signature is checked before anything is sent.
    fn is_smart_account(&self) -> bool {
        false
    }
}

/// A secp256k1 private key held in memory (zeroized on drop), signing with
/// RFC 6979 deterministic nonces and a low `s`, as the registry accepts.
#[derive(Clone)]
pub struct LocalSigner {
    key: SigningKey,
    address: Address,
}

impl LocalSigner {
    /// The signer of a 32-byte secret key.
    ///
    /// # Errors
    /// [`AuthorshipError::SignerFailed`] when the bytes are not a secret key
    /// (zero, or not below the curve order).
    pub fn from_bytes(secret: &[u8; 32]) -> Result<Self, AuthorshipError> {
        let key = SigningKey::from_bytes(secret.into()).map_err(|_| AuthorshipError::SignerFailed {
            message: "the 32 bytes are not a secp256k1 secret key (zero, or not below the curve order)"
                .to_owned(),
        })?;
        let point = key.verifying_key().to_encoded_point(false);
        // An uncompressed point is 0x04 ‖ x ‖ y; the address hashes x ‖ y.
        let address = Address::from_raw_public_key(point.as_bytes().get(1..).unwrap_or_default());
        Ok(Self { key, address })
    }

    /// The 65-byte signature of a 32-byte digest.
    ///
    /// # Errors
    /// [`AuthorshipError::SignerFailed`] should k256 refuse to sign.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<[u8; 65], AuthorshipError> {
        let (signature, recovery) = self.key.sign_prehash_recoverable(digest).map_err(|e| {
            AuthorshipError::SignerFailed {
                message: e.to_string(),
            }
        })?;
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&signature.to_bytes());
        out[64] = 27 + u8::from(recovery.is_y_odd());
        Ok(out)
    }
}

impl std::fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSigner")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Signer for LocalSigner {
    fn address(&self) -> Address {
        self.address
    }

    fn sign(&self, request: &SigningRequest) -> Result<Vec<u8>, AuthorshipError> {
        Ok(self.sign_digest(&request.digest().0)?.to_vec())
    }
}
