//! The off-chain key store: master keys by key id, and the patient pseudonym
//! derived from one of them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use alloy_primitives::B256;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Longest key id accepted, in bytes (it travels in every envelope header).
pub const MAX_KEY_ID_LEN: usize = 64;

/// Domain-separation label of the pseudonym key derived from a master key.
const PSEUDONYM_LABEL: &[u8] = b"ehrchain/v1/pseudonym";

/// The name of a master key in the host's key store, such as `"ward-7/2026"`.
///
/// 1 to [`MAX_KEY_ID_LEN`] bytes of printable ASCII (`0x21..=0x7e`). Shared
/// when cloned (every envelope carries its key id), so clones do not allocate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(Arc<str>);

/// A key id that breaks the rule of [`KeyId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid key id {0:?}: use 1 to 64 printable ASCII characters without spaces")]
pub struct InvalidKeyId(pub String);

impl KeyId {
    /// Validates a key id.
    ///
    /// # Errors
    /// [`InvalidKeyId`] if it is empty, too long or not printable ASCII.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidKeyId> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= MAX_KEY_ID_LEN
            && id.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if ok {
            Ok(Self(id.into()))
        } else {
            Err(InvalidKeyId(id))
        }
    }

    /// The key id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KeyId {
    type Error = InvalidKeyId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<KeyId> for String {
    fn from(id: KeyId) -> Self {
        id.0.as_ref().to_owned()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 256-bit master key. Zeroized on drop; its `Debug` output hides the bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// Wraps 32 secret bytes.
    #[must_use]
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The secret bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Why the key store could not hand out a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// The store has no key under this id.
    #[error(
        "the key store has no master key \"{0}\": check the key id configured for sealing and that the key store holds it"
    )]
    UnknownKey(KeyId),
    /// The host's key store failed (HSM offline, permission denied, ...).
    #[error("the key store failed: {0}")]
    Unavailable(String),
}

/// The host's off-chain key system ("third-party key system" in the paper).
///
/// Implement it over an HSM, a KMS or a vault. ehrchain never stores the keys it
/// is given beyond the call that uses them.
pub trait KeyStore {
    /// The master key stored under `id`.
    ///
    /// # Errors
    /// [`KeyStoreError::UnknownKey`] when there is no such key,
    /// [`KeyStoreError::Unavailable`] when the store cannot answer.
    fn master_key(&self, id: &KeyId) -> Result<MasterKey, KeyStoreError>;
}

/// A key store held in memory, for tests, examples and hosts that load keys
/// themselves.
#[derive(Default, Clone)]
pub struct InMemoryKeyStore {
    keys: BTreeMap<KeyId, MasterKey>,
}

impl InMemoryKeyStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `key` under `id`, replacing any key already there.
    pub fn insert(&mut self, id: KeyId, key: MasterKey) {
        self.keys.insert(id, key);
    }
}

impl fmt::Debug for InMemoryKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryKeyStore")
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeyStore for InMemoryKeyStore {
    fn master_key(&self, id: &KeyId) -> Result<MasterKey, KeyStoreError> {
        self.keys
            .get(id)
            .cloned()
            .ok_or_else(|| KeyStoreError::UnknownKey(id.clone()))
    }
}

/// Derives patient pseudonyms: `HMAC-SHA256(k, patient_id)` where
/// `k = HMAC-SHA256(master, "ehrchain/v1/pseudonym")`.
///
/// The pseudonym is the only form in which a patient appears on chain. A plain
/// hash of a medical record number could be brute-forced; the keyed form cannot
/// without the hospital's secret. Keep the pseudonym key stable: a new key gives
/// every patient a new pseudonym.
#[derive(Clone)]
pub struct Pseudonymizer {
    keyed: Hmac<Sha256>,
}

impl Pseudonymizer {
    /// Prepares the pseudonym key derived from `master`.
    #[must_use]
    pub fn new(master: &MasterKey) -> Self {
        let mut derive = new_hmac(master.expose());
        derive.update(PSEUDONYM_LABEL);
        let mut key: [u8; 32] = derive.finalize().into_bytes().into();
        let keyed = new_hmac(&key);
        key.zeroize();
        Self { keyed }
    }

    /// The on-chain pseudonym of the hospital's patient identifier.
    #[must_use]
    pub fn pseudonym(&self, patient_id: &str) -> B256 {
        let mut mac = self.keyed.clone();
        mac.update(patient_id.as_bytes());
        B256::from(<[u8; 32]>::from(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymizer(<redacted>)")
    }
}

fn new_hmac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; the error branch cannot be taken.
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_rules() {
        assert!(KeyId::new("ward-7/2026").is_ok());
        for bad in ["", "has space", "tab\t", &"k".repeat(65), "é"] {
            assert!(KeyId::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn in_memory_store_reports_unknown_keys() {
        let mut store = InMemoryKeyStore::new();
        let id = KeyId::new("k1").unwrap();
        store.insert(id.clone(), MasterKey::new([7; 32]));
        assert_eq!(store.master_key(&id).unwrap().expose(), &[7; 32]);
        let other = KeyId::new("k2").unwrap();
        assert_eq!(
            store.master_key(&other).unwrap_err(),
            KeyStoreError::UnknownKey(other)
        );
        assert!(!format!("{store:?}").contains('7'));
    }

    #[test]
    fn pseudonym_is_keyed_hmac() {
        let master = MasterKey::new([1; 32]);
        let p = Pseudonymizer::new(&master);
        // Recompute by the documented construction with a fresh HMAC.
        let mut k = new_hmac(&[1; 32]);
        k.update(PSEUDONYM_LABEL);
        let k = k.finalize().into_bytes();
        let mut m = new_hmac(&k);
        m.update(b"MRN-000123");
        let expected = B256::from(<[u8; 32]>::from(m.finalize().into_bytes()));
        assert_eq!(p.pseudonym("MRN-000123"), expected);
        assert_ne!(p.pseudonym("MRN-000124"), expected);
        let other = Pseudonymizer::new(&MasterKey::new([2; 32]));
        assert_ne!(other.pseudonym("MRN-000123"), expected);
        assert_ne!(expected, alloy_primitives::keccak256("MRN-000123"));
    }
}
