//! Sealed records: the versioned binary envelope (specified in `docs/envelope.md`).
//!
//! AES-256-GCM under a per-record key from HKDF-SHA256 over a master key. The
//! HKDF salt is the template id and the info binds the patient pseudonym and the
//! TI id, so every record has its own key; the whole header is the AEAD's
//! associated data; a 16-byte key commitment in the header tells a wrong key
//! apart from a tampered ciphertext.

use std::fmt;

use aes::Aes256Enc;
use aes_gcm::aead::AeadInOut;
use aes_gcm::aead::consts::U12;
use aes_gcm::{AesGcm, KeyInit, Nonce, Tag};
use alloy_primitives::B256;
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::keys::{KeyId, KeyStore, KeyStoreError, MasterKey};

/// The four bytes every envelope starts with: `EHRE`.
pub const MAGIC: [u8; 4] = *b"EHRE";
/// The envelope format version this library writes.
pub const VERSION: u8 = 1;
/// Cipher suite 1: HKDF-SHA256 key derivation, AES-256-GCM, 16-byte commitment.
pub const SUITE_HKDF_SHA256_AES256GCM: u8 = 1;
/// Length of the AES-GCM nonce in bytes.
pub const NONCE_LEN: usize = 12;
/// Length of the AES-GCM tag in bytes.
pub const TAG_LEN: usize = 16;
/// Length of the key commitment in bytes.
pub const COMMITMENT_LEN: usize = 16;

/// Length of the HKDF output of suite 1: the record key, then the commitment.
const OKM_LEN: usize = 32 + COMMITMENT_LEN;
/// HKDF info prefix of suite 1.
const HKDF_INFO_LABEL: &[u8] = b"ehrchain/v1/record";
/// Header bytes before the key id: magic, version, suite, key id length.
const PREFIX_LEN: usize = 7;
/// Header bytes after the key id: pseudonym, template id, TI id, nonce,
/// commitment, ciphertext length.
const FIXED_TAIL_LEN: usize = 32 * 3 + NONCE_LEN + COMMITMENT_LEN + 4;
/// Where the nonce starts, counted back from the end of the header: before it
/// only the commitment and the ciphertext length follow.
const NONCE_FROM_HEADER_END: usize = NONCE_LEN + COMMITMENT_LEN + 4;

/// What an envelope is bound to; all of it is in the clear header and
/// authenticated as associated data. JSON form: `{"keyId", "patient",
/// "templateId", "tiId"}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvelopeBinding {
    /// The master key the record key was derived from.
    pub key_id: KeyId,
    /// The patient's pseudonym (zero when the template has no patient subject).
    pub patient: B256,
    /// The template the record was made from.
    pub template_id: B256,
    /// The TI the record belongs to.
    pub ti_id: B256,
}

/// What an envelope says without being opened ([`Envelope::info`]). JSON
/// form: `{"keyId", "patient", "templateId", "tiId", "recordHash", "cid"}`
/// (JavaScript's `envelopeInfo`, C's `ehr_envelope_info`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvelopeInfo {
    /// Its clear header: key id, patient pseudonym, template id, TI id.
    #[serde(flatten)]
    pub binding: EnvelopeBinding,
    /// SHA-256 of the whole envelope, the hash anchored on chain.
    pub record_hash: B256,
    /// Its IPFS CIDv1, whose digest is the record hash.
    pub cid: String,
}

/// Why an envelope could not be read or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Fewer bytes than the header or its length field announce.
    #[error(
        "the envelope is truncated: {needed} bytes needed, {got} present; fetch the complete record again"
    )]
    Truncated {
        /// Bytes the envelope needs.
        needed: usize,
        /// Bytes that were given.
        got: usize,
    },
    /// Bytes follow the ciphertext.
    #[error(
        "the envelope has {0} unexpected bytes after its ciphertext; it was altered or two records were joined"
    )]
    TrailingBytes(usize),
    /// The bytes do not start with `EHRE`.
    #[error("these bytes are not an ehrchain envelope (no EHRE magic)")]
    NotAnEnvelope,
    /// A format version this library does not know.
    #[error(
        "envelope format version {0} is not supported by this ehrchain version; upgrade ehrchain"
    )]
    UnsupportedVersion(u8),
    /// A cipher suite this library does not know.
    #[error(
        "envelope cipher suite {0} is not supported by this ehrchain version; upgrade ehrchain"
    )]
    UnsupportedSuite(u8),
    /// The key id in the header is malformed.
    #[error("the envelope header carries a malformed key id; the envelope is corrupt")]
    MalformedKeyId,
    /// The ciphertext is shorter than the authentication tag.
    #[error(
        "the envelope's ciphertext length {0} is shorter than its 16-byte tag; the envelope is corrupt"
    )]
    CiphertextTooShort(u32),
    /// The key commitment does not match: wrong master key, or header altered.
    #[error(
        "the key does not fit this envelope: master key \"{key_id}\" is not the one it was sealed with, or its header (patient, template, TI) was altered"
    )]
    WrongKey {
        /// The key id named in the header.
        key_id: KeyId,
    },
    /// The key fits but the ciphertext does not authenticate.
    #[error(
        "the envelope was tampered with: its ciphertext, tag, nonce or key id does not authenticate; keep it for audit and restore the record from a trusted copy"
    )]
    Tampered,
    /// The output of an external AES-256-GCM has the wrong length.
    #[error(
        "the AES-256-GCM output is {got} bytes where {expected} (the record plus its 16-byte tag) were expected; the cipher did not seal this record"
    )]
    SealedLength {
        /// Plaintext length plus the tag.
        expected: usize,
        /// Bytes that were given.
        got: usize,
    },
    /// The plaintext is too large for the 32-bit length field.
    #[error("the record is {0} bytes; an envelope holds at most 4 GiB minus 17 bytes")]
    TooLarge(usize),
    /// The key store could not hand out the key.
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
}

impl EnvelopeError {
    /// The error's name: for what opening reports, the name in
    /// `docs/envelope.md` and the test vectors (`truncated`, `wrong_key`, …);
    /// for the errors of sealing and of the key store (`too_large`,
    /// `sealed_length`, `key_store`), a name in the same style. JavaScript
    /// reports it as the error's `kind`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Truncated { .. } => "truncated",
            Self::TrailingBytes(_) => "trailing_bytes",
            Self::NotAnEnvelope => "not_an_envelope",
            Self::UnsupportedVersion(_) => "unsupported_version",
            Self::UnsupportedSuite(_) => "unsupported_suite",
            Self::MalformedKeyId => "malformed_key_id",
            Self::CiphertextTooShort(_) => "ciphertext_too_short",
            Self::WrongKey { .. } => "wrong_key",
            Self::Tampered => "tampered",
            Self::TooLarge(_) => "too_large",
            Self::SealedLength { .. } => "sealed_length",
            Self::KeyStore(_) => "key_store",
        }
    }
}

/// Append-only access to the plaintext of an envelope being sealed by
/// [`UnsealedEnvelope::new`]. The bytes written stay in the envelope's buffer and
/// are encrypted in place; when the buffer has to grow, the old one is zeroized.
pub struct PlaintextBuf<'a> {
    bytes: &'a mut Vec<u8>,
}

impl PlaintextBuf<'_> {
    /// Appends `data` to the plaintext.
    #[inline]
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        self.reserve(data.len());
        self.bytes.extend_from_slice(data);
    }

    /// Appends one byte to the plaintext.
    #[inline]
    pub fn push(&mut self, byte: u8) {
        self.reserve(1);
        self.bytes.push(byte);
    }

    /// Makes room for at least `additional` more bytes. Growing moves the
    /// plaintext written so far to a larger buffer and zeroizes the old one.
    #[inline]
    pub fn reserve(&mut self, additional: usize) {
        if self.bytes.capacity() - self.bytes.len() < additional {
            self.grow(additional);
        }
    }

    #[cold]
    fn grow(&mut self, additional: usize) {
        let needed = self.bytes.len().saturating_add(additional);
        let mut grown = Vec::with_capacity(needed.max(self.bytes.capacity().saturating_mul(2)));
        grown.extend_from_slice(self.bytes);
        self.bytes.zeroize();
        *self.bytes = grown;
    }
}

impl fmt::Debug for PlaintextBuf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlaintextBuf(<redacted>)")
    }
}

/// An envelope whose header and plaintext are written but not yet encrypted:
/// the record key is derived and the header (the AEAD's associated data) is
/// final. [`UnsealedEnvelope::seal`] encrypts it with this crate's AES-256-GCM;
/// [`UnsealedEnvelope::into_sealed`] takes the output of another AES-256-GCM
/// implementation instead (WebCrypto in the browser, which has AES
/// instructions that WebAssembly lacks). The plaintext and the key are
/// zeroized when the value is dropped.
pub struct UnsealedEnvelope {
    /// The header, then the plaintext.
    bytes: Zeroizing<Vec<u8>>,
    header_len: usize,
    binding: EnvelopeBinding,
    nonce: [u8; NONCE_LEN],
    okm: Zeroizing<[u8; OKM_LEN]>,
}

impl UnsealedEnvelope {
    /// Derives the record key from `master` for `binding`, writes the header
    /// with the caller's fresh random `nonce`, then the plaintext that
    /// `write_plaintext` appends to the buffer it is handed: in place, after
    /// the header, where [`UnsealedEnvelope::seal`] encrypts it, so no
    /// separate plaintext buffer is needed. `plaintext_len_hint` is the
    /// expected plaintext length; the buffer grows if more is written (and
    /// zeroizes what it leaves behind).
    ///
    /// # Errors
    /// [`EnvelopeError::TooLarge`] for plaintexts of 4 GiB or more.
    pub fn new(
        binding: EnvelopeBinding,
        master: &MasterKey,
        nonce: [u8; NONCE_LEN],
        plaintext_len_hint: usize,
        write_plaintext: impl FnOnce(&mut PlaintextBuf<'_>),
    ) -> Result<Self, EnvelopeError> {
        let mut okm = Zeroizing::new([0u8; OKM_LEN]);
        derive(master, &binding, &mut okm);
        let header_len = PREFIX_LEN + binding.key_id.as_str().len() + FIXED_TAIL_LEN;
        let capacity = header_len
            .saturating_add(plaintext_len_hint)
            .saturating_add(TAG_LEN);
        let mut bytes = Vec::with_capacity(capacity);
        write_header(&mut bytes, &binding, &nonce, split_okm(&okm).1);
        write_plaintext(&mut PlaintextBuf { bytes: &mut bytes });
        let plaintext_len = bytes.len() - header_len;
        let Ok(ct_len) = u32::try_from(plaintext_len + TAG_LEN) else {
            bytes.zeroize();
            return Err(EnvelopeError::TooLarge(plaintext_len));
        };
        if let Some(len_field) = bytes.get_mut(..header_len).and_then(<[u8]>::last_chunk_mut) {
            *len_field = ct_len.to_be_bytes();
        }
        Ok(Self {
            bytes: Zeroizing::new(bytes),
            header_len,
            binding,
            nonce,
            okm,
        })
    }

    /// The envelope header, complete: the associated data of AES-256-GCM.
    #[must_use]
    pub fn header(&self) -> &[u8] {
        self.bytes.get(..self.header_len).unwrap_or_default()
    }

    /// The plaintext to encrypt.
    #[must_use]
    pub fn plaintext(&self) -> &[u8] {
        self.bytes.get(self.header_len..).unwrap_or_default()
    }

    /// The AES-256-GCM nonce (also in the header).
    #[must_use]
    pub fn nonce(&self) -> [u8; NONCE_LEN] {
        self.nonce
    }

    /// The AES-256-GCM record key. Secret: hand it only to the cipher, and
    /// zeroize every copy.
    #[must_use]
    pub fn record_key(&self) -> &[u8; 32] {
        split_okm(&self.okm).0
    }

    /// What the envelope is bound to.
    #[must_use]
    pub fn binding(&self) -> &EnvelopeBinding {
        &self.binding
    }

    /// Encrypts the plaintext in place with this crate's AES-256-GCM.
    ///
    /// # Errors
    /// [`EnvelopeError::TooLarge`] should the cipher refuse the length (it
    /// accepts everything [`UnsealedEnvelope::new`] does).
    pub fn seal(mut self) -> Result<Envelope, EnvelopeError> {
        let cipher = RecordCipher::new(split_okm(&self.okm).0.into());
        let plaintext_len = self.bytes.len() - self.header_len;
        let (header, body) = self.bytes.split_at_mut(self.header_len);
        let tag = cipher
            .encrypt_inout_detached(&Nonce::from(self.nonce), header, body.into())
            .map_err(|_| EnvelopeError::TooLarge(plaintext_len))?;
        self.bytes.extend_from_slice(&tag);
        Ok(self.into_envelope())
    }

    /// Completes the envelope with the output of another AES-256-GCM
    /// implementation: `ciphertext_and_tag` must be the encryption of
    /// [`UnsealedEnvelope::plaintext`] under [`UnsealedEnvelope::record_key`]
    /// and [`UnsealedEnvelope::nonce`], with [`UnsealedEnvelope::header`] as
    /// associated data and a 16-byte tag appended (WebCrypto's `encrypt`
    /// output). Only its length can be checked here; opening the envelope
    /// checks the rest.
    ///
    /// # Errors
    /// [`EnvelopeError::SealedLength`] when it is not exactly the plaintext
    /// length plus 16 bytes.
    pub fn into_sealed(mut self, ciphertext_and_tag: &[u8]) -> Result<Envelope, EnvelopeError> {
        let expected = self.bytes.len() - self.header_len + TAG_LEN;
        if ciphertext_and_tag.len() != expected {
            return Err(EnvelopeError::SealedLength {
                expected,
                got: ciphertext_and_tag.len(),
            });
        }
        // The ciphertext overwrites the plaintext byte for byte.
        let (ciphertext, tag) = ciphertext_and_tag.split_at(expected - TAG_LEN);
        if let Some(plaintext) = self.bytes.get_mut(self.header_len..) {
            plaintext.copy_from_slice(ciphertext);
        }
        self.bytes.extend_from_slice(tag);
        Ok(self.into_envelope())
    }

    /// The sealed bytes as an [`Envelope`] (the plaintext is gone: it was
    /// encrypted in place or overwritten with the ciphertext).
    fn into_envelope(self) -> Envelope {
        let Self {
            mut bytes, binding, ..
        } = self;
        Envelope {
            bytes: std::mem::take(&mut *bytes),
            binding,
        }
    }
}

impl fmt::Debug for UnsealedEnvelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnsealedEnvelope")
            .field("binding", &self.binding)
            .field("plaintext", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A sealed record in its binary form, whose header has been checked.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    bytes: Vec<u8>,
    binding: EnvelopeBinding,
}

impl Envelope {
    /// Seals `plaintext` under a record key derived from `master` for `binding`,
    /// with the caller's fresh random `nonce`.
    ///
    /// # Errors
    /// [`EnvelopeError::TooLarge`] for plaintexts of 4 GiB or more.
    pub fn seal(
        binding: &EnvelopeBinding,
        master: &MasterKey,
        nonce: [u8; NONCE_LEN],
        plaintext: &[u8],
    ) -> Result<Self, EnvelopeError> {
        UnsealedEnvelope::new(binding.clone(), master, nonce, plaintext.len(), |buf| {
            buf.extend_from_slice(plaintext);
        })?
        .seal()
    }

    /// Checks the structure of an envelope read from storage or the network:
    /// magic, version, suite, key id, lengths. Does not decrypt.
    ///
    /// # Errors
    /// Every structural defect has its own [`EnvelopeError`].
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, EnvelopeError> {
        let got = bytes.len();
        let prefix = bytes.get(..PREFIX_LEN).ok_or(EnvelopeError::Truncated {
            needed: PREFIX_LEN,
            got,
        })?;
        if prefix.get(..4) != Some(MAGIC.as_slice()) {
            return Err(EnvelopeError::NotAnEnvelope);
        }
        let [_, _, _, _, version, suite, key_id_len] = *prefix else {
            return Err(EnvelopeError::NotAnEnvelope);
        };
        if version != VERSION {
            return Err(EnvelopeError::UnsupportedVersion(version));
        }
        if suite != SUITE_HKDF_SHA256_AES256GCM {
            return Err(EnvelopeError::UnsupportedSuite(suite));
        }
        let key_id_len = usize::from(key_id_len);
        let header_len = PREFIX_LEN + key_id_len + FIXED_TAIL_LEN;
        let header = bytes.get(..header_len).ok_or(EnvelopeError::Truncated {
            needed: header_len,
            got,
        })?;
        let key_id = header
            .get(PREFIX_LEN..PREFIX_LEN + key_id_len)
            .and_then(|raw| std::str::from_utf8(raw).ok())
            .and_then(|s| KeyId::new(s).ok())
            .ok_or(EnvelopeError::MalformedKeyId)?;
        let at = PREFIX_LEN + key_id_len;
        let binding = EnvelopeBinding {
            key_id,
            patient: B256::from(array_at::<32>(header, at)),
            template_id: B256::from(array_at::<32>(header, at + 32)),
            ti_id: B256::from(array_at::<32>(header, at + 64)),
        };
        let ct_len = u32::from_be_bytes(array_at(header, header_len - 4));
        if (ct_len as usize) < TAG_LEN {
            return Err(EnvelopeError::CiphertextTooShort(ct_len));
        }
        // Checked: on 32-bit targets a huge length field would overflow.
        let needed = header_len
            .checked_add(ct_len as usize)
            .ok_or(EnvelopeError::Truncated {
                needed: usize::MAX,
                got,
            })?;
        match got.cmp(&needed) {
            std::cmp::Ordering::Less => Err(EnvelopeError::Truncated { needed, got }),
            std::cmp::Ordering::Greater => Err(EnvelopeError::TrailingBytes(got - needed)),
            std::cmp::Ordering::Equal => Ok(Self { bytes, binding }),
        }
    }

    /// What the envelope is bound to, read from its header.
    #[must_use]
    pub fn binding(&self) -> &EnvelopeBinding {
        &self.binding
    }

    /// Opens the envelope with the master key its header names, fetched from
    /// `keys`.
    ///
    /// # Errors
    /// [`EnvelopeError::KeyStore`] when the key is unavailable, then as
    /// [`Envelope::open_with`].
    pub fn open(&self, keys: &dyn KeyStore) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let master = keys.master_key(&self.binding.key_id)?;
        self.open_with(&master)
    }

    /// Opens the envelope with `master`.
    ///
    /// # Errors
    /// [`EnvelopeError::WrongKey`] when the key commitment does not match,
    /// [`EnvelopeError::Tampered`] when the ciphertext does not authenticate.
    pub fn open_with(&self, master: &MasterKey) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        self.open_with_record_key(&*self.record_key(master)?)
    }

    /// Opens the envelope with its record key itself, as a recipient does who
    /// was handed the key in a key capsule (`crate::capsule`) and holds no
    /// master key. Without the master key the key commitment cannot be
    /// checked, so a wrong record key is reported as tampering.
    ///
    /// # Errors
    /// [`EnvelopeError::Tampered`] when the ciphertext does not authenticate
    /// under `record_key`.
    pub fn open_with_record_key(
        &self,
        record_key: &[u8; 32],
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let cipher = RecordCipher::new(record_key.into());
        let sealed = self.ciphertext_and_tag();
        let (ciphertext, tag) = sealed.split_at(sealed.len().saturating_sub(TAG_LEN));
        let tag = <&Tag>::try_from(tag).map_err(|_| EnvelopeError::Tampered)?;
        let mut plaintext = Zeroizing::new(ciphertext.to_vec());
        cipher
            .decrypt_inout_detached(
                &Nonce::from(self.nonce()),
                self.header(),
                plaintext.as_mut_slice().into(),
                tag,
            )
            .map_err(|_| EnvelopeError::Tampered)?;
        Ok(plaintext)
    }

    /// Step 10 of opening (`docs/envelope.md`): derives the record key from
    /// `master` and checks it against the key commitment, for a host that
    /// decrypts with another AES-256-GCM implementation (WebCrypto's
    /// `decrypt` over [`Envelope::ciphertext_and_tag`], with
    /// [`Envelope::nonce`] and [`Envelope::header`] as associated data).
    ///
    /// # Errors
    /// [`EnvelopeError::WrongKey`] when the key commitment does not match.
    pub fn record_key(&self, master: &MasterKey) -> Result<Zeroizing<[u8; 32]>, EnvelopeError> {
        let at = self.nonce_at() + NONCE_LEN;
        let stored_commitment = array_at::<COMMITMENT_LEN>(&self.bytes, at);
        let mut okm = Zeroizing::new([0u8; OKM_LEN]);
        derive(master, &self.binding, &mut okm);
        let (key, commitment) = split_okm(&okm);
        if !bool::from(commitment.ct_eq(&stored_commitment)) {
            return Err(EnvelopeError::WrongKey {
                key_id: self.binding.key_id.clone(),
            });
        }
        // Copied into its zeroizing home directly, not through a temporary.
        let mut record_key = Zeroizing::new([0u8; 32]);
        record_key.copy_from_slice(key);
        Ok(record_key)
    }

    /// The header: AES-256-GCM's associated data.
    #[must_use]
    pub fn header(&self) -> &[u8] {
        self.bytes.get(..self.header_len()).unwrap_or_default()
    }

    /// The AES-GCM nonce from the header.
    #[must_use]
    pub fn nonce(&self) -> [u8; NONCE_LEN] {
        array_at(&self.bytes, self.nonce_at())
    }

    /// The ciphertext followed by its 16-byte tag.
    #[must_use]
    pub fn ciphertext_and_tag(&self) -> &[u8] {
        self.bytes.get(self.header_len()..).unwrap_or_default()
    }

    /// The record hash anchored on chain: SHA-256 of the whole envelope.
    #[must_use]
    pub fn record_hash(&self) -> B256 {
        B256::from(<[u8; 32]>::from(Sha256::digest(&self.bytes)))
    }

    /// The envelope's IPFS CIDv1 (raw codec, sha2-256 multihash, base32 lower
    /// multibase), whose digest is the record hash.
    #[must_use]
    pub fn cid(&self) -> String {
        cid_of_record_hash(&self.record_hash())
    }

    /// What can be read without opening it: its clear header, record hash
    /// and CID.
    #[must_use]
    pub fn info(&self) -> EnvelopeInfo {
        EnvelopeInfo {
            binding: self.binding.clone(),
            record_hash: self.record_hash(),
            cid: self.cid(),
        }
    }

    /// The envelope's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The envelope's bytes, by value.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn header_len(&self) -> usize {
        PREFIX_LEN + self.binding.key_id.as_str().len() + FIXED_TAIL_LEN
    }

    fn nonce_at(&self) -> usize {
        self.header_len() - NONCE_FROM_HEADER_END
    }
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("binding", &self.binding)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// The CIDv1 (raw codec `0x55`, sha2-256 multihash) of an envelope whose SHA-256
/// is `record_hash`, in base32 lower-case multibase (`b...`).
#[must_use]
pub fn cid_of_record_hash(record_hash: &B256) -> String {
    let mut raw = [0u8; 36];
    raw[..4].copy_from_slice(&[0x01, 0x55, 0x12, 0x20]);
    raw[4..].copy_from_slice(record_hash.as_slice());
    let mut cid = String::with_capacity(59);
    cid.push('b');
    push_base32_lower(&mut cid, &raw);
    cid
}

/// Appends RFC 4648 base32 of `bytes`, lower case and without padding.
fn push_base32_lower(out: &mut String, bytes: &[u8]) {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    // `index & 31` is below 32: the lookup always succeeds.
    let digit = |index: u32| {
        ALPHABET
            .get((index & 31) as usize)
            .map_or('a', |&d| char::from(d))
    };
    // Bits not yet written, the oldest first; at most 4 + 8 of them.
    let (mut pending, mut count) = (0u32, 0u32);
    for &byte in bytes {
        pending = (pending << 8 | u32::from(byte)) & 0xfff;
        count += 8;
        while count >= 5 {
            count -= 5;
            out.push(digit(pending >> count));
        }
    }
    if count > 0 {
        out.push(digit(pending << (5 - count)));
    }
}

/// Appends the envelope header (`docs/envelope.md`) with a zero ciphertext
/// length, which [`UnsealedEnvelope::new`] fills in once the plaintext is written.
fn write_header(
    bytes: &mut Vec<u8>,
    binding: &EnvelopeBinding,
    nonce: &[u8; NONCE_LEN],
    commitment: &[u8],
) {
    let key_id = binding.key_id.as_str().as_bytes();
    bytes.extend_from_slice(&MAGIC);
    bytes.push(VERSION);
    bytes.push(SUITE_HKDF_SHA256_AES256GCM);
    // KeyId guarantees 1..=64 bytes.
    bytes.push(u8::try_from(key_id.len()).unwrap_or(u8::MAX));
    bytes.extend_from_slice(key_id);
    bytes.extend_from_slice(binding.patient.as_slice());
    bytes.extend_from_slice(binding.template_id.as_slice());
    bytes.extend_from_slice(binding.ti_id.as_slice());
    bytes.extend_from_slice(nonce);
    bytes.extend_from_slice(commitment);
    bytes.extend_from_slice(&[0; 4]);
}

/// AES-256-GCM over the encrypt-only AES-256 key schedule: GCM only ever
/// encrypts blocks (the CTR keystream and the GHASH key), also when opening,
/// so the decryption round keys that `Aes256Gcm` expands as well would never
/// be used. Same output; the round keys are zeroized on drop all the same.
type RecordCipher = AesGcm<Aes256Enc, U12>;

/// Derives one record's HKDF output into `okm`: the AES-256 record key in
/// bytes 0..32, the key commitment in 32..48 (`docs/envelope.md`). The caller
/// keeps it in a zeroizing buffer.
fn derive(master: &MasterKey, binding: &EnvelopeBinding, okm: &mut [u8; OKM_LEN]) {
    let hk = Hkdf::<Sha256>::new(Some(binding.template_id.as_slice()), master.expose());
    let info: [&[u8]; 3] = [
        HKDF_INFO_LABEL,
        binding.patient.as_slice(),
        binding.ti_id.as_slice(),
    ];
    // 48 bytes is far below HKDF's 255 * 32 limit.
    hk.expand_multi_info(&info, okm)
        .unwrap_or_else(|_| unreachable!("48-byte HKDF output is always valid"));
}

/// Splits one record's HKDF output into the AES-256 record key and the key
/// commitment.
fn split_okm(okm: &[u8; OKM_LEN]) -> (&[u8; 32], &[u8; COMMITMENT_LEN]) {
    let (key, commitment) = okm.split_at(32);
    // OKM_LEN is 32 + COMMITMENT_LEN: both conversions always succeed.
    let key = <&[u8; 32]>::try_from(key).unwrap_or_else(|_| unreachable!("OKM_LEN = 32 + 16"));
    let commitment = <&[u8; COMMITMENT_LEN]>::try_from(commitment)
        .unwrap_or_else(|_| unreachable!("OKM_LEN = 32 + 16"));
    (key, commitment)
}

/// Copies `N` bytes at `at`; callers only pass offsets inside a checked header.
pub(crate) fn array_at<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = bytes.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

#[cfg(test)]
impl EnvelopeBinding {
    /// The binding the unit tests seal under: master key `key_id`, and the
    /// pseudonym, template id and TI id `0x0101…`, `0x0202…` and `0x0303…`.
    #[allow(clippy::unwrap_used, reason = "the tests' key ids are valid")]
    pub(crate) fn for_tests(key_id: &str) -> Self {
        Self {
            key_id: KeyId::new(key_id).unwrap(),
            patient: B256::repeat_byte(1),
            template_id: B256::repeat_byte(2),
            ti_id: B256::repeat_byte(3),
        }
    }
}

#[cfg(test)]
mod cid_tests {
    #![allow(clippy::unwrap_used)]

    use super::{cid_of_record_hash, push_base32_lower};
    use alloy_primitives::b256;

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        // RFC 4648, section 10, lower case and without padding.
        let vectors = [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ];
        for (input, expected) in vectors {
            let mut out = String::new();
            push_base32_lower(&mut out, input.as_bytes());
            assert_eq!(out, expected, "{input:?}");
        }
    }

    #[test]
    fn info_is_the_clear_header_record_hash_and_cid_in_camel_case() {
        use super::{Envelope, EnvelopeBinding};
        use crate::keys::MasterKey;
        let binding = EnvelopeBinding::for_tests("records");
        let envelope = Envelope::seal(&binding, &MasterKey::new([7; 32]), [9; 12], b"{}").unwrap();
        let info = serde_json::to_value(envelope.info()).unwrap();
        assert_eq!(
            info,
            serde_json::json!({
                "keyId": "records",
                "patient": binding.patient,
                "templateId": binding.template_id,
                "tiId": binding.ti_id,
                "recordHash": envelope.record_hash(),
                "cid": envelope.cid(),
            })
        );
    }

    #[test]
    fn cid_of_the_empty_record_is_the_well_known_one() {
        // SHA-256 of no bytes; its CIDv1 (raw, sha2-256) is IPFS's CID of an
        // empty file.
        let empty = b256!("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(
            cid_of_record_hash(&empty),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        );
    }
}
