//! Key capsules: one record's key wrapped for one recipient with HPKE
//! (RFC 9180, base mode), specified in `docs/capsule.md`.
//!
//! The holder of a record (the hospital that sealed its envelope) derives the
//! record key from its master key ([`Envelope::record_key`]) and seals it for
//! a recipient's public key; the capsule's clear header binds it to the chain,
//! the registry, the record hash, the recipient (address and key id) and the
//! grant (or an emergency), and the whole header is HPKE's `info`, so a
//! capsule opens only for what it was made for. The recipient opens it with
//! its private key and gets the record key, which opens the envelope
//! ([`KeyCapsule::open_envelope`]).
//!
//! Two suites: the X-Wing hybrid post-quantum KEM (X25519 + ML-KEM-768, the
//! default) and DHKEM(X25519), both with HKDF-SHA256 and AES-256-GCM. The
//! randomness comes from the caller.
//!
//! ```
//! use ehrchain_core::capsule::{
//!     Authority, CapsuleBinding, CapsuleSuite, KeyCapsule, RecipientPrivateKey,
//! };
//! use ehrchain_core::envelope::EnvelopeBinding;
//! use ehrchain_core::{Address, B256, Envelope, KeyId, MasterKey};
//! use rand_chacha::ChaCha20Rng;
//! use rand_core::SeedableRng;
//!
//! # fn main() -> Result<(), ehrchain_core::Error> {
//! let mut rng = ChaCha20Rng::seed_from_u64(7); // use a CSPRNG such as OsRng
//! // The first hospital seals a record.
//! let master = MasterKey::new([7; 32]);
//! let sealed_for = EnvelopeBinding {
//!     key_id: KeyId::new("ward-7/2026")?,
//!     patient: B256::repeat_byte(1),
//!     template_id: B256::repeat_byte(2),
//!     ti_id: B256::repeat_byte(3),
//! };
//! let envelope = Envelope::seal(&sealed_for, &master, [9; 12], b"HbA1c 6.1 %")?;
//!
//! // The recipient made a key pair and published its public key.
//! let recipient_key = RecipientPrivateKey::generate(CapsuleSuite::XWing, &mut rng);
//! let published = recipient_key.public_key().to_bytes();
//!
//! // The holder wraps the record key for the recipient under a grant.
//! let binding = CapsuleBinding {
//!     chain_id: 31337,
//!     registry: Address::repeat_byte(0xee),
//!     record_hash: envelope.record_hash(),
//!     recipient: Address::repeat_byte(0xaa),
//!     authority: Authority::Grant(B256::repeat_byte(0x42)),
//! };
//! let public_key =
//!     ehrchain_core::capsule::RecipientPublicKey::from_bytes(CapsuleSuite::XWing, &published)?;
//! let record_key = envelope.record_key(&master)?;
//! let capsule = KeyCapsule::seal(&binding, &public_key, &record_key, &mut rng)?;
//!
//! // The recipient reads the capsule and opens the record with it.
//! let received = KeyCapsule::from_bytes(capsule.as_bytes())?;
//! let record = received.open_envelope(&binding, &recipient_key, &envelope)?;
//! assert_eq!(record.as_slice(), b"HbA1c 6.1 %");
//! # Ok(())
//! # }
//! ```

use std::fmt;

use alloy_primitives::{Address, B256, keccak256};
use hpke::aead::{AeadTag, AesGcm256};
use hpke::kdf::HkdfSha256;
use hpke::kem::{X25519HkdfSha256, XWing};
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::envelope::{Envelope, EnvelopeError, array_at};
use crate::keys::MasterKey;

/// The four bytes every capsule starts with: `EHRK`.
pub const MAGIC: [u8; 4] = *b"EHRK";
/// The capsule format version this library writes.
pub const VERSION: u8 = 1;
/// Length of the clear header: magic, version, suite, binding, key id.
pub const HEADER_LEN: usize = 151;
/// HPKE `info` prefix; the header follows it.
const INFO_LABEL: &[u8] = b"ehrchain/v1/capsule";
/// Length of a record key.
const RECORD_KEY_LEN: usize = 32;
/// Length of the AES-256-GCM tag.
const TAG_LEN: usize = 16;
/// The sealed record key: its AES-256-GCM ciphertext and tag.
const SEALED_KEY_LEN: usize = RECORD_KEY_LEN + TAG_LEN;
/// Where the authority byte is in the header.
const AUTHORITY_AT: usize = 118;

/// An HPKE cipher suite of key capsules, named by its KEM; both use
/// HKDF-SHA256 (KDF `0x0001`) and AES-256-GCM (AEAD `0x0002`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapsuleSuite {
    /// Suite 1, the default: the X-Wing hybrid KEM (X25519 + ML-KEM-768,
    /// KEM `0x647a`), safe against a future quantum computer as long as
    /// either part holds. Private key: a 32-byte seed; public key: 1,216
    /// bytes; encapsulated key: 1,120 bytes.
    XWing,
    /// Suite 2: DHKEM(X25519, HKDF-SHA256) (KEM `0x0020`), the classic
    /// suite of RFC 9180. Keys and encapsulated key: 32 bytes.
    X25519,
}

impl CapsuleSuite {
    /// The suite's byte in the capsule header.
    #[must_use]
    pub const fn id(self) -> u8 {
        match self {
            Self::XWing => 1,
            Self::X25519 => 2,
        }
    }

    /// The HPKE KEM identifier (RFC 9180 §7.1 and the HPKE PQ draft).
    #[must_use]
    pub const fn kem_id(self) -> u16 {
        match self {
            Self::XWing => XWing::KEM_ID,
            Self::X25519 => X25519HkdfSha256::KEM_ID,
        }
    }

    /// The suite whose header byte is `id`, if this library knows one.
    #[must_use]
    pub fn from_id(id: u8) -> Option<Self> {
        [Self::XWing, Self::X25519]
            .into_iter()
            .find(|s| s.id() == id)
    }

    /// Length of the encapsulated key (`enc`) in bytes.
    fn enc_len(self) -> usize {
        match self {
            Self::XWing => <XWing as Kem>::EncappedKey::size(),
            Self::X25519 => <X25519HkdfSha256 as Kem>::EncappedKey::size(),
        }
    }
}

impl fmt::Display for CapsuleSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::XWing => "X-Wing",
            Self::X25519 => "X25519",
        })
    }
}

/// Under what a record is disclosed: a patient's grant, or an emergency
/// ("break the glass") by a role the hospital names. JSON: `{"grant":
/// "0x…"}` or `"emergency"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authority {
    /// The grant, by its on-chain id.
    Grant(B256),
    /// Emergency access without a grant.
    Emergency,
}

/// What a capsule is bound to; all of it is in the clear header and in
/// HPKE's `info`. JSON form: `{"chainId", "registry", "recordHash",
/// "recipient", "authority"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CapsuleBinding {
    /// The chain the registry is on.
    pub chain_id: u64,
    /// The registry contract that anchors the record and holds the grant.
    pub registry: Address,
    /// The record hash (SHA-256 of the envelope) whose key the capsule holds.
    pub record_hash: B256,
    /// The recipient's account.
    pub recipient: Address,
    /// The grant, or an emergency.
    pub authority: Authority,
}

/// The part of a binding in which a capsule differs from what was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BindingPart {
    /// The chain id.
    ChainId,
    /// The registry address.
    Registry,
    /// The record hash.
    RecordHash,
    /// The recipient's address.
    Recipient,
    /// The grant or the emergency flag.
    Authority,
}

impl fmt::Display for BindingPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ChainId => "chain",
            Self::Registry => "registry",
            Self::RecordHash => "record",
            Self::Recipient => "recipient",
            Self::Authority => "grant",
        })
    }
}

/// Why a capsule could not be made, read or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CapsuleError {
    /// Fewer bytes than the header and the suite announce.
    #[error("the key capsule is truncated: {needed} bytes needed, {got} present; fetch it again")]
    Truncated {
        /// Bytes the capsule needs.
        needed: usize,
        /// Bytes that were given.
        got: usize,
    },
    /// Bytes follow the sealed record key.
    #[error("the key capsule has {0} unexpected bytes at its end; it was altered")]
    TrailingBytes(usize),
    /// The bytes do not start with `EHRK`.
    #[error("these bytes are not an ehrchain key capsule (no EHRK magic)")]
    NotACapsule,
    /// A format version this library does not know.
    #[error("key capsule format version {0} is not supported by this ehrchain version")]
    UnsupportedVersion(u8),
    /// A suite this library does not know.
    #[error("key capsule suite {0} is not supported by this ehrchain version")]
    UnsupportedSuite(u8),
    /// The authority byte is neither grant (0) nor emergency (1), or an
    /// emergency capsule carries a grant id.
    #[error(
        "the key capsule's grant field is malformed (authority byte {0}, or an emergency with a grant id)"
    )]
    MalformedAuthority(u8),
    /// A recipient's public key is not a valid key of its suite.
    #[error("the bytes are not a valid {suite} recipient public key ({len} bytes given)")]
    InvalidPublicKey {
        /// The suite the key was read for.
        suite: CapsuleSuite,
        /// Bytes that were given.
        len: usize,
    },
    /// A recipient's private key is not a valid key of its suite.
    #[error("the bytes are not a valid {suite} recipient private key ({len} bytes given)")]
    InvalidPrivateKey {
        /// The suite the key was read for.
        suite: CapsuleSuite,
        /// Bytes that were given.
        len: usize,
    },
    /// The capsule was sealed for another recipient key.
    #[error(
        "the key capsule was sealed for recipient key {capsule}, not for this key ({key}): use the private key of the key id the capsule names"
    )]
    WrongKey {
        /// The key id in the capsule.
        capsule: B256,
        /// The key id of the private key given.
        key: B256,
    },
    /// The capsule names a recipient key that the key store asked does not
    /// hold: it was sealed for a key held elsewhere (the C and JavaScript key
    /// stores' answer for an unknown key id).
    #[error(
        "the key capsule was sealed for {suite} recipient key {key_id}, which this key store does not hold: open it where that key is"
    )]
    KeyNotHeld {
        /// The capsule's suite.
        suite: CapsuleSuite,
        /// The key id the capsule names.
        key_id: B256,
    },
    /// The capsule is bound to another chain, registry, record, recipient or
    /// grant than the one expected.
    #[error(
        "the key capsule is bound to another {0} than the one expected; it was made for another disclosure"
    )]
    WrongBinding(BindingPart),
    /// The envelope is not the record whose key the capsule holds.
    #[error(
        "the envelope (record hash {envelope}) is not the record the key capsule is for ({capsule})"
    )]
    WrongRecord {
        /// The record hash in the capsule.
        capsule: B256,
        /// The record hash of the envelope given.
        envelope: B256,
    },
    /// The capsule does not authenticate: its encapsulated key, sealed record
    /// key or header was altered.
    #[error(
        "the key capsule was tampered with: it does not authenticate under the recipient's key; keep it for audit"
    )]
    Tampered,
    /// The envelope did not open with the capsule's record key.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
}

impl CapsuleError {
    /// The error's name in `docs/capsule.md` and the test vectors
    /// (`truncated`, `wrong_key`, …).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Truncated { .. } => "truncated",
            Self::TrailingBytes(_) => "trailing_bytes",
            Self::NotACapsule => "not_a_capsule",
            Self::UnsupportedVersion(_) => "unsupported_version",
            Self::UnsupportedSuite(_) => "unsupported_suite",
            Self::MalformedAuthority(_) => "malformed_authority",
            Self::InvalidPublicKey { .. } => "invalid_public_key",
            Self::InvalidPrivateKey { .. } => "invalid_private_key",
            Self::WrongKey { .. } | Self::KeyNotHeld { .. } => "wrong_key",
            Self::WrongBinding(_) => "wrong_binding",
            Self::WrongRecord { .. } => "wrong_record",
            Self::Tampered => "tampered",
            Self::Envelope(_) => "envelope",
        }
    }
}

/// A recipient's public key of one suite, as published for holders.
#[derive(Clone, PartialEq, Eq)]
pub struct RecipientPublicKey(PublicKey);

#[derive(Clone, PartialEq, Eq)]
enum PublicKey {
    XWing(Box<<XWing as Kem>::PublicKey>),
    X25519(<X25519HkdfSha256 as Kem>::PublicKey),
}

impl RecipientPublicKey {
    /// Reads a public key of `suite` (X-Wing: 1,216 bytes, checked; X25519:
    /// 32 bytes).
    ///
    /// # Errors
    /// [`CapsuleError::InvalidPublicKey`] when the bytes are not a key of
    /// the suite.
    pub fn from_bytes(suite: CapsuleSuite, bytes: &[u8]) -> Result<Self, CapsuleError> {
        let invalid = |_| CapsuleError::InvalidPublicKey {
            suite,
            len: bytes.len(),
        };
        Ok(Self(match suite {
            CapsuleSuite::XWing => PublicKey::XWing(Box::new(
                Deserializable::from_bytes(bytes).map_err(invalid)?,
            )),
            CapsuleSuite::X25519 => {
                PublicKey::X25519(Deserializable::from_bytes(bytes).map_err(invalid)?)
            }
        }))
    }

    /// The key's suite.
    #[must_use]
    pub fn suite(&self) -> CapsuleSuite {
        match self.0 {
            PublicKey::XWing(_) => CapsuleSuite::XWing,
            PublicKey::X25519(_) => CapsuleSuite::X25519,
        }
    }

    /// The key's bytes, as [`RecipientPublicKey::from_bytes`] reads them.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.0 {
            PublicKey::XWing(pk) => pk.to_bytes().to_vec(),
            PublicKey::X25519(pk) => pk.to_bytes().to_vec(),
        }
    }

    /// SHA-256 of the key's bytes: the `keyHash` a recipient publishes in
    /// `EhrConsent` beside its key id.
    #[must_use]
    pub fn key_hash(&self) -> B256 {
        B256::from(<[u8; 32]>::from(Sha256::digest(self.to_bytes())))
    }

    /// The key id: `keccak256(suite id || public key)`, what the capsule
    /// header names and what the registry publishes for the recipient.
    #[must_use]
    pub fn key_id(&self) -> B256 {
        let mut bytes = vec![self.suite().id()];
        bytes.extend_from_slice(&self.to_bytes());
        keccak256(bytes)
    }
}

impl fmt::Debug for RecipientPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientPublicKey")
            .field("suite", &self.suite())
            .field("key_id", &self.key_id())
            .finish()
    }
}

/// A recipient's private key and its public key. Zeroized on drop (by the
/// `hpke` crate); its `Debug` output hides the secret.
#[derive(Clone)]
pub struct RecipientPrivateKey {
    secret: PrivateKey,
    public: RecipientPublicKey,
}

#[derive(Clone)]
enum PrivateKey {
    XWing(Box<<XWing as Kem>::PrivateKey>),
    X25519(<X25519HkdfSha256 as Kem>::PrivateKey),
}

impl RecipientPrivateKey {
    /// Reads a private key of `suite`: X-Wing's 32-byte seed, or a 32-byte
    /// X25519 scalar (clamped as RFC 7748 says).
    ///
    /// # Errors
    /// [`CapsuleError::InvalidPrivateKey`] when the bytes are not 32 long.
    pub fn from_bytes(suite: CapsuleSuite, bytes: &[u8]) -> Result<Self, CapsuleError> {
        let invalid = |_| CapsuleError::InvalidPrivateKey {
            suite,
            len: bytes.len(),
        };
        let (secret, public) = match suite {
            CapsuleSuite::XWing => {
                let sk = Deserializable::from_bytes(bytes).map_err(invalid)?;
                let pk = PublicKey::XWing(Box::new(XWing::sk_to_pk(&sk)));
                (PrivateKey::XWing(Box::new(sk)), pk)
            }
            CapsuleSuite::X25519 => {
                let sk = Deserializable::from_bytes(bytes).map_err(invalid)?;
                let pk = PublicKey::X25519(X25519HkdfSha256::sk_to_pk(&sk));
                (PrivateKey::X25519(sk), pk)
            }
        };
        Ok(Self {
            secret,
            public: RecipientPublicKey(public),
        })
    }

    /// Makes a new private key of `suite` from 32 bytes of the caller's
    /// `rng`.
    #[must_use]
    pub fn generate<R: CryptoRngCore + ?Sized>(suite: CapsuleSuite, rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut_slice());
        // Both suites read any 32 bytes.
        Self::from_bytes(suite, seed.as_slice())
            .unwrap_or_else(|_| unreachable!("32-byte private keys are valid in both suites"))
    }

    /// The private key's bytes, as [`RecipientPrivateKey::from_bytes`] reads
    /// them (X25519: clamped). Secret: store it in a key store.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(match &self.secret {
            PrivateKey::XWing(sk) => sk.to_bytes().to_vec(),
            PrivateKey::X25519(sk) => sk.to_bytes().to_vec(),
        })
    }

    /// The matching public key.
    #[must_use]
    pub fn public_key(&self) -> &RecipientPublicKey {
        &self.public
    }
}

impl fmt::Debug for RecipientPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientPrivateKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// A record key sealed for one recipient, in its binary form
/// (`docs/capsule.md`), whose structure has been checked.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyCapsule {
    bytes: Vec<u8>,
    suite: CapsuleSuite,
    binding: CapsuleBinding,
}

impl KeyCapsule {
    /// Seals `record_key` (from [`Envelope::record_key`]) for `recipient`
    /// under `binding`, with HPKE base mode and the randomness of the
    /// caller's `rng`.
    ///
    /// # Errors
    /// [`CapsuleError::InvalidPublicKey`] when the key cannot be used (an
    /// X25519 key of small order).
    pub fn seal<R: CryptoRngCore + ?Sized>(
        binding: &CapsuleBinding,
        recipient: &RecipientPublicKey,
        record_key: &[u8; RECORD_KEY_LEN],
        rng: &mut R,
    ) -> Result<Self, CapsuleError> {
        let suite = recipient.suite();
        let mut bytes = Vec::with_capacity(HEADER_LEN + suite.enc_len() + SEALED_KEY_LEN);
        write_header(&mut bytes, suite, binding, &recipient.key_id());
        let info = info(&bytes);
        let mut sealed = Zeroizing::new([0u8; SEALED_KEY_LEN]);
        if let Some(key) = sealed.first_chunk_mut::<RECORD_KEY_LEN>() {
            *key = *record_key;
        }
        let rng = &mut HpkeRng(rng);
        let enc = match &recipient.0 {
            PublicKey::XWing(pk) => seal_with::<XWing>(pk, &info, &mut sealed, rng),
            PublicKey::X25519(pk) => seal_with::<X25519HkdfSha256>(pk, &info, &mut sealed, rng),
        }
        .map_err(|_| CapsuleError::InvalidPublicKey {
            suite,
            len: recipient.to_bytes().len(),
        })?;
        bytes.extend_from_slice(&enc);
        bytes.extend_from_slice(sealed.as_slice());
        Ok(Self {
            bytes,
            suite,
            binding: *binding,
        })
    }

    /// The holder's side in full: derives the record key of `envelope` from
    /// `master` (checking it against the envelope's key commitment) and
    /// seals it as [`KeyCapsule::seal`] does, after checking that `binding`
    /// names that envelope's record hash.
    ///
    /// # Errors
    /// [`CapsuleError::WrongRecord`] when `binding.record_hash` is not the
    /// envelope's, [`CapsuleError::Envelope`] when `master` is not the
    /// envelope's master key, then as [`KeyCapsule::seal`].
    pub fn seal_envelope_key<R: CryptoRngCore + ?Sized>(
        binding: &CapsuleBinding,
        recipient: &RecipientPublicKey,
        envelope: &Envelope,
        master: &MasterKey,
        rng: &mut R,
    ) -> Result<Self, CapsuleError> {
        let record_hash = envelope.record_hash();
        if record_hash != binding.record_hash {
            return Err(CapsuleError::WrongRecord {
                capsule: binding.record_hash,
                envelope: record_hash,
            });
        }
        let record_key = envelope.record_key(master)?;
        Self::seal(binding, recipient, &record_key, rng)
    }

    /// Checks the structure of a capsule read from storage or the network:
    /// magic, version, suite, authority, length. Does not decrypt.
    ///
    /// # Errors
    /// Every structural defect has its own [`CapsuleError`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CapsuleError> {
        let got = bytes.len();
        let truncated = |needed| CapsuleError::Truncated { needed, got };
        let [m0, m1, m2, m3, version, suite] = *bytes.first_chunk::<6>().ok_or(truncated(6))?;
        if [m0, m1, m2, m3] != MAGIC {
            return Err(CapsuleError::NotACapsule);
        }
        if version != VERSION {
            return Err(CapsuleError::UnsupportedVersion(version));
        }
        let suite = CapsuleSuite::from_id(suite).ok_or(CapsuleError::UnsupportedSuite(suite))?;
        let header = bytes
            .first_chunk::<HEADER_LEN>()
            .ok_or(truncated(HEADER_LEN))?;
        let binding = read_binding(header)?;
        let needed = HEADER_LEN + suite.enc_len() + SEALED_KEY_LEN;
        match got.cmp(&needed) {
            std::cmp::Ordering::Less => Err(truncated(needed)),
            std::cmp::Ordering::Greater => Err(CapsuleError::TrailingBytes(got - needed)),
            std::cmp::Ordering::Equal => Ok(Self {
                bytes: bytes.to_vec(),
                suite,
                binding,
            }),
        }
    }

    /// The capsule's suite.
    #[must_use]
    pub fn suite(&self) -> CapsuleSuite {
        self.suite
    }

    /// What the capsule is bound to, read from its header.
    #[must_use]
    pub fn binding(&self) -> &CapsuleBinding {
        &self.binding
    }

    /// The key id of the recipient key the capsule was sealed for.
    #[must_use]
    pub fn recipient_key_id(&self) -> B256 {
        B256::from(array_at::<32>(&self.bytes, AUTHORITY_AT - 32))
    }

    /// The capsule's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// SHA-256 of the capsule's bytes: the capsule digest a disclosure
    /// records on chain (`Disclosed.capsuleDigest`).
    #[must_use]
    pub fn digest(&self) -> B256 {
        B256::from(<[u8; 32]>::from(Sha256::digest(&self.bytes)))
    }

    /// Opens the capsule with the recipient's private key and returns the
    /// record key, after checking that the capsule is bound to `expected`
    /// (the disclosure the recipient asked for).
    ///
    /// # Errors
    /// [`CapsuleError::WrongKey`] when it was sealed for another key,
    /// [`CapsuleError::WrongBinding`] when it is bound to something else
    /// than `expected`, [`CapsuleError::Tampered`] when it does not
    /// authenticate.
    pub fn open(
        &self,
        expected: &CapsuleBinding,
        key: &RecipientPrivateKey,
    ) -> Result<Zeroizing<[u8; RECORD_KEY_LEN]>, CapsuleError> {
        let key_id = key.public_key().key_id();
        if key_id != self.recipient_key_id() {
            return Err(CapsuleError::WrongKey {
                capsule: self.recipient_key_id(),
                key: key_id,
            });
        }
        if let Some(part) = first_difference(&self.binding, expected) {
            return Err(CapsuleError::WrongBinding(part));
        }
        let (header, rest) = self.bytes.split_at(HEADER_LEN);
        let (enc, sealed) = rest.split_at(self.suite.enc_len());
        let info = info(header);
        let mut record_key = Zeroizing::new([0u8; RECORD_KEY_LEN]);
        match &key.secret {
            PrivateKey::XWing(sk) => open_with::<XWing>(sk, enc, &info, sealed, &mut record_key),
            PrivateKey::X25519(sk) => {
                open_with::<X25519HkdfSha256>(sk, enc, &info, sealed, &mut record_key)
            }
        }
        .map_err(|_| CapsuleError::Tampered)?;
        Ok(record_key)
    }

    /// The recipient's side in full: checks that `envelope` is the record the
    /// capsule is for, opens the capsule as [`KeyCapsule::open`] does, and
    /// opens the envelope with the record key.
    ///
    /// # Errors
    /// [`CapsuleError::WrongRecord`] when the envelope's hash is not the
    /// capsule's record hash, then as [`KeyCapsule::open`], then
    /// [`CapsuleError::Envelope`] when the envelope does not open.
    pub fn open_envelope(
        &self,
        expected: &CapsuleBinding,
        key: &RecipientPrivateKey,
        envelope: &Envelope,
    ) -> Result<Zeroizing<Vec<u8>>, CapsuleError> {
        let record_hash = envelope.record_hash();
        if record_hash != self.binding.record_hash {
            return Err(CapsuleError::WrongRecord {
                capsule: self.binding.record_hash,
                envelope: record_hash,
            });
        }
        let record_key = self.open(expected, key)?;
        Ok(envelope.open_with_record_key(&record_key)?)
    }
}

impl fmt::Debug for KeyCapsule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCapsule")
            .field("suite", &self.suite)
            .field("binding", &self.binding)
            .field("recipient_key_id", &self.recipient_key_id())
            .finish()
    }
}

/// Appends the capsule header (`docs/capsule.md`).
fn write_header(bytes: &mut Vec<u8>, suite: CapsuleSuite, binding: &CapsuleBinding, key_id: &B256) {
    bytes.extend_from_slice(&MAGIC);
    bytes.push(VERSION);
    bytes.push(suite.id());
    bytes.extend_from_slice(&binding.chain_id.to_be_bytes());
    bytes.extend_from_slice(binding.registry.as_slice());
    bytes.extend_from_slice(binding.record_hash.as_slice());
    bytes.extend_from_slice(binding.recipient.as_slice());
    bytes.extend_from_slice(key_id.as_slice());
    let (flag, grant) = match binding.authority {
        Authority::Grant(id) => (0, id),
        Authority::Emergency => (1, B256::ZERO),
    };
    bytes.push(flag);
    bytes.extend_from_slice(grant.as_slice());
}

/// Reads the binding from a header whose magic, version and suite are checked.
fn read_binding(header: &[u8; HEADER_LEN]) -> Result<CapsuleBinding, CapsuleError> {
    let flag = header[AUTHORITY_AT];
    let grant = B256::from(array_at::<32>(header, AUTHORITY_AT + 1));
    let authority = match flag {
        0 => Authority::Grant(grant),
        1 if grant.is_zero() => Authority::Emergency,
        _ => return Err(CapsuleError::MalformedAuthority(flag)),
    };
    Ok(CapsuleBinding {
        chain_id: u64::from_be_bytes(array_at(header, 6)),
        registry: Address::from(array_at::<20>(header, 14)),
        record_hash: B256::from(array_at::<32>(header, 34)),
        recipient: Address::from(array_at::<20>(header, 66)),
        authority,
    })
}

/// The first part in which `got` differs from `expected`.
fn first_difference(got: &CapsuleBinding, expected: &CapsuleBinding) -> Option<BindingPart> {
    [
        (got.chain_id == expected.chain_id, BindingPart::ChainId),
        (got.registry == expected.registry, BindingPart::Registry),
        (
            got.record_hash == expected.record_hash,
            BindingPart::RecordHash,
        ),
        (got.recipient == expected.recipient, BindingPart::Recipient),
        (got.authority == expected.authority, BindingPart::Authority),
    ]
    .into_iter()
    .find_map(|(same, part)| (!same).then_some(part))
}

/// HPKE's `info`: the label, then the whole header.
fn info(header: &[u8]) -> Vec<u8> {
    [INFO_LABEL, header].concat()
}

/// HPKE base-mode seal of the record key in `sealed[..32]`, in place; the tag
/// goes to `sealed[32..]`. Returns the encapsulated key. Base mode only: the
/// `hpke` crate panics when X-Wing is given a sender key pair.
fn seal_with<K: Kem>(
    pk: &K::PublicKey,
    info: &[u8],
    sealed: &mut [u8; SEALED_KEY_LEN],
    rng: &mut HpkeRng<'_, impl CryptoRngCore + ?Sized>,
) -> Result<Vec<u8>, hpke::HpkeError> {
    let (key, tag_out) = sealed.split_at_mut(RECORD_KEY_LEN);
    let (enc, tag) = hpke::single_shot_seal_inout_detached_with_rng::<AesGcm256, HkdfSha256, K>(
        &OpModeS::Base,
        pk,
        info,
        key.into(),
        &[],
        rng,
    )?;
    tag_out.copy_from_slice(&tag.to_bytes());
    Ok(enc.to_bytes().to_vec())
}

/// HPKE base-mode open of `sealed` (ciphertext and tag) into `record_key`.
fn open_with<K: Kem>(
    sk: &K::PrivateKey,
    enc: &[u8],
    info: &[u8],
    sealed: &[u8],
    record_key: &mut [u8; RECORD_KEY_LEN],
) -> Result<(), hpke::HpkeError> {
    let enc = K::EncappedKey::from_bytes(enc)?;
    let (ciphertext, tag) = sealed.split_at(RECORD_KEY_LEN);
    let tag = AeadTag::<AesGcm256>::from_bytes(tag)?;
    record_key.copy_from_slice(ciphertext);
    hpke::single_shot_open_inout_detached::<AesGcm256, HkdfSha256, K>(
        &OpModeR::Base,
        sk,
        &enc,
        info,
        record_key.as_mut_slice().into(),
        &[],
        &tag,
    )
}

/// The caller's RNG (`rand_core` 0.6, as in the rest of the API) as the
/// `rand_core` 0.10 RNG the `hpke` crate takes.
struct HpkeRng<'a, R: ?Sized>(&'a mut R);

impl<R: CryptoRngCore + ?Sized> hpke::rand_core::TryRng for HpkeRng<'_, R> {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.0.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

impl<R: CryptoRngCore + ?Sized> hpke::rand_core::TryCryptoRng for HpkeRng<'_, R> {}

#[cfg(test)]
mod tests;
