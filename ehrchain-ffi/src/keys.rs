//! `ehr_key_store`: master keys held in memory or behind the host's callbacks,
//! and sealing and opening record envelopes with them.

use std::collections::BTreeMap;
use std::ffi::{c_char, c_void};

use ehrchain_core::capsule::{CapsuleError, CapsuleSuite, RecipientPrivateKey};
use ehrchain_core::envelope::EnvelopeBinding;
use ehrchain_core::envelope::NONCE_LEN;
use ehrchain_core::keys::KeyStoreError;
use ehrchain_core::{B256, Envelope, ErrorCode, InMemoryKeyStore, KeyId, KeyStore, MasterKey};
use rand_core::{OsRng, RngCore};
use zeroize::{Zeroize, Zeroizing};

use crate::callbacks;
use crate::capsule::capsule_suite;
use crate::ptr::{self, Out, OutArray};
use crate::result::{Error, ehr_result, guard};
use crate::shapes::{free, guard_on, guard_on_mut, write_json};

/// The host's key store as C callbacks. `userdata` is passed back unchanged
/// as the first argument of every callback; it must stay valid as long as any
/// key store or handshaker made from these callbacks lives.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ehr_key_store_callbacks {
    /// `sizeof(ehr_key_store_callbacks)` as the host's header declares it
    /// (`EHR_KEY_STORE_CALLBACKS_INIT` sets it): which of the fields below
    /// the host's struct has (README, "Extensible structs").
    pub struct_size: usize,
    /// Passed to every callback.
    pub userdata: *mut c_void,
    /// Writes the 32-byte master key named `key_id` (`key_id_len` bytes of
    /// printable ASCII, not NUL-terminated) to `key_out` and returns `EHR_OK`;
    /// returns `EHR_KEY_UNKNOWN` when there is no such key, or any other code
    /// (such as `EHR_KEY_STORE_UNAVAILABLE`) when the store cannot answer.
    /// Called from the thread that called into ehrchain. Required.
    pub master_key: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            key_id: *const c_char,
            key_id_len: usize,
            key_out: *mut u8,
        ) -> ehr_result,
    >,
    /// Writes the 32-byte private key of the recipient key named `key_id`
    /// (32 bytes: the key id a key capsule names, `ehr_capsule_to_summary`)
    /// of the suite `suite` (an `ehr_capsule_suite`) to `key_out` and returns
    /// `EHR_OK`; returns `EHR_KEY_UNKNOWN` when there is no such key (the
    /// capsule then fails with `EHR_CAPSULE_WRONG_KEY`), or any other code
    /// when the store cannot answer (`EHR_KEY_STORE_UNAVAILABLE`). Called by
    /// `ehr_capsule_open` and `ehr_capsule_open_envelope` on the calling
    /// thread; ehrchain zeroizes its copy of the key when the call returns.
    /// May be NULL for a store that opens no key capsules.
    pub recipient_key: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            key_id: *const u8,
            suite: u32,
            key_out: *mut u8,
        ) -> ehr_result,
    >,
}

/// Master keys by key id: in memory (`ehr_key_store_new`) or the host's own
/// (`ehr_key_store_new_callbacks`).
///
/// Thread safety: a handle may be used from any thread, but not from two
/// threads at once when one of them changes it (`ehr_key_store_insert`). A
/// callback key store calls its callbacks on the calling thread. Handshakers
/// copy the key store they are given (a callback store's copy shares the
/// same callbacks and userdata).
pub struct ehr_key_store {
    pub(crate) keys: FfiKeyStore,
}

/// The key store behind a handle: an in-memory one holds master keys and
/// recipients' private keys (by key id).
#[derive(Clone, Debug)]
pub(crate) enum FfiKeyStore {
    Memory(InMemoryKeyStore, BTreeMap<B256, RecipientPrivateKey>),
    Callbacks(ehr_key_store_callbacks),
}

impl FfiKeyStore {
    /// The recipient private key named `key_id`, of `suite`.
    pub(crate) fn recipient_key(
        &self,
        key_id: &B256,
        suite: CapsuleSuite,
    ) -> crate::result::Result<RecipientPrivateKey> {
        let unknown = || {
            Error::from(CapsuleError::KeyNotHeld {
                suite,
                key_id: *key_id,
            })
        };
        let cb = match self {
            Self::Memory(_, recipients) => {
                return recipients.get(key_id).cloned().ok_or_else(unknown);
            }
            Self::Callbacks(cb) => cb,
        };
        if cb.recipient_key.is_none() {
            return Err(Error::new(
                ErrorCode::NullArgument,
                "the key store's callback `recipient_key` is NULL; give one to open key capsules",
            ));
        }
        let mut key = Zeroizing::new([0u8; 32]);
        match callbacks::recipient_key(cb, &key_id.0, suite.id().into(), &mut key) {
            ehr_result::OK => Ok(RecipientPrivateKey::from_bytes(suite, key.as_slice())?),
            c if c == ErrorCode::KeyUnknown => Err(unknown()),
            c => Err(Error::new(
                ErrorCode::KeyStoreUnavailable,
                format!(
                    "the host's recipient_key callback returned {} for key id {key_id}",
                    c.name()
                ),
            )),
        }
    }
}

impl KeyStore for FfiKeyStore {
    fn master_key(&self, id: &KeyId) -> Result<MasterKey, KeyStoreError> {
        match self {
            Self::Memory(keys, _) => keys.master_key(id),
            Self::Callbacks(cb) => {
                let mut key = [0u8; 32];
                let code = callbacks::master_key(cb, id.as_str(), &mut key);
                let result = match code {
                    ehr_result::OK => Ok(MasterKey::new(key)),
                    c if c == ErrorCode::KeyUnknown => Err(KeyStoreError::UnknownKey(id.clone())),
                    c => Err(KeyStoreError::Unavailable(format!(
                        "the host's master_key callback returned {} for key \"{id}\"",
                        c.name()
                    ))),
                };
                key.zeroize();
                result
            }
        }
    }
}

/// Makes an empty in-memory key store (fill it with `ehr_key_store_insert`).
/// Free it with `ehr_key_store_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_key_store_new(keys_out: *mut *mut ehr_key_store) -> ehr_result {
    guard(|| {
        Out::new(keys_out, "keys_out")?.give(ehr_key_store {
            keys: FfiKeyStore::Memory(InMemoryKeyStore::new(), BTreeMap::new()),
        });
        Ok(())
    })
}

/// Makes a key store over the host's callbacks (copied; `callbacks` itself
/// need not outlive the call). Free it with `ehr_key_store_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_key_store_new_callbacks(
    callbacks: *const ehr_key_store_callbacks,
    keys_out: *mut *mut ehr_key_store,
) -> ehr_result {
    guard(|| {
        let cb = ptr::extensible(callbacks, "callbacks")?;
        ptr::required(cb.master_key, "callbacks->master_key")?;
        Out::new(keys_out, "keys_out")?.give(ehr_key_store {
            keys: FfiKeyStore::Callbacks(cb),
        });
        Ok(())
    })
}

/// Stores the 32-byte master `key` under `key_id` (1 to 64 printable ASCII
/// characters) in an in-memory key store, replacing any key there. The bytes
/// are copied; ehrchain zeroizes its copy when the store is freed.
/// `EHR_INVALID_ARGUMENT` for a callback key store.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_key_store_insert(
    keys: *mut ehr_key_store,
    key_id: *const c_char,
    key_id_len: usize,
    key: *const u8,
) -> ehr_result {
    guard_on_mut(keys, "keys", |keys| {
        let id = ehrchain_core::KeyId::new(ptr::text(key_id, key_id_len, "key_id")?)?;
        let master = MasterKey::new(*ptr::secret32(key, "key")?);
        match &mut keys.keys {
            FfiKeyStore::Memory(store, _) => {
                store.insert(id, master);
                Ok(())
            }
            FfiKeyStore::Callbacks(_) => Err(Error::new(
                ErrorCode::InvalidArgument,
                "keys cannot be inserted into a callback key store; the host's store holds them",
            )),
        }
    })
}

/// Stores a recipient's 32-byte `private_key` of the suite `suite` (an
/// `ehr_capsule_suite`) in an in-memory key store, under its key id
/// (`ehr_recipient_key_id` of its public key), for `ehr_capsule_open`. The
/// bytes are copied; ehrchain zeroizes its copy when the store is freed.
/// `EHR_INVALID_ARGUMENT` for a callback key store (its `recipient_key`
/// callback answers instead).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_key_store_insert_recipient_key(
    keys: *mut ehr_key_store,
    suite: u32,
    private_key: *const u8,
) -> ehr_result {
    guard_on_mut(keys, "keys", |keys| {
        let private = ptr::secret32(private_key, "private_key")?;
        let key = RecipientPrivateKey::from_bytes(capsule_suite(suite)?, private.as_slice())?;
        match &mut keys.keys {
            FfiKeyStore::Memory(_, recipients) => {
                recipients.insert(key.public_key().key_id(), key);
                Ok(())
            }
            FfiKeyStore::Callbacks(_) => Err(Error::new(
                ErrorCode::InvalidArgument,
                "recipient keys cannot be inserted into a callback key store; its recipient_key callback answers",
            )),
        }
    })
}

/// Frees a key store (zeroizing in-memory keys); NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_key_store_free(keys: *mut ehr_key_store) {
    free(keys);
}

/// Opens a sealed record envelope (`envelope`, `envelope_len` bytes) with the
/// master key its header names, fetched from `keys`, and writes the
/// plaintext record (UTF-8 JSON) into `buf` (byte-output rules: on success
/// `*out_len` is the length written; if `len` is too small nothing is written
/// to `buf`, `*out_len` is the length needed and the result is
/// `EHR_BUFFER_TOO_SMALL`). The plaintext is clinical data: clear it when done.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_envelope_open(
    keys: *const ehr_key_store,
    envelope: *const u8,
    envelope_len: usize,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard_on(keys, "keys", |keys| {
        let envelope = read_envelope(envelope, envelope_len)?;
        let plaintext = envelope.open(&keys.keys)?;
        ptr::write_bytes(buf, len, out_len, &plaintext)
    })
}

/// The envelope argument `envelope` (`envelope_len` bytes; empty is a
/// truncated envelope, as in every binding).
pub(crate) fn read_envelope(
    envelope: *const u8,
    envelope_len: usize,
) -> crate::result::Result<Envelope> {
    let bytes = ptr::bytes_or_empty(envelope, envelope_len, "envelope")?;
    Ok(Envelope::from_bytes(bytes.to_vec())?)
}

/// Seals `plaintext` into a new envelope under a record key derived from the
/// master key `key_id` of `keys`, bound to the 32-byte `patient` pseudonym
/// (zeros for none), `template_id` and `ti_id`, with a fresh random nonce, and
/// writes the envelope into `buf` (byte-output rules: `ehr_envelope_open`).
/// `ehr_handshaker_generate` seals records itself; this is for hosts that
/// seal other documents the same way.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_envelope_seal(
    keys: *const ehr_key_store,
    key_id: *const c_char,
    key_id_len: usize,
    patient: *const u8,
    template_id: *const u8,
    ti_id: *const u8,
    plaintext: *const u8,
    plaintext_len: usize,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard_on(keys, "keys", |keys| {
        let key_id = ehrchain_core::KeyId::new(ptr::text(key_id, key_id_len, "key_id")?)?;
        let binding = EnvelopeBinding {
            key_id: key_id.clone(),
            patient: ptr::b256(patient, "patient")?,
            template_id: ptr::b256(template_id, "template_id")?,
            ti_id: ptr::b256(ti_id, "ti_id")?,
        };
        let plaintext = ptr::bytes_or_empty(plaintext, plaintext_len, "plaintext")?;
        let master = keys.keys.master_key(&key_id)?;
        let nonce = os_random::<NONCE_LEN>()?;
        let envelope = Envelope::seal(&binding, &master, nonce, plaintext)?;
        ptr::write_bytes(buf, len, out_len, envelope.as_bytes())
    })
}

/// `N` bytes from the operating system's random generator.
pub(crate) fn os_random<const N: usize>() -> crate::result::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    OsRng.try_fill_bytes(&mut bytes).map_err(|e| {
        Error::new(
            ErrorCode::Internal,
            format!("the operating system's random generator failed: {e}"),
        )
    })?;
    Ok(bytes)
}

/// Writes what an envelope (`envelope_len` bytes) says without being opened,
/// as NUL-terminated JSON (`{"keyId", "patient", "templateId", "tiId",
/// "recordHash", "cid"}`: its clear header, record hash and IPFS CID, as
/// JavaScript's `envelopeInfo`) into `buf` (text-output rules:
/// `ehr_result_message`). `EHR_ENVELOPE_MALFORMED` for bytes that are not
/// an envelope.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_envelope_info(
    envelope: *const u8,
    envelope_len: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let info = read_envelope(envelope, envelope_len)?.info();
        write_json(buf, len, out_len, &info)
    })
}

/// Writes the record hash of an envelope (SHA-256 of its bytes, the value
/// anchored on chain) to `record_hash_out` (32 bytes), after checking that
/// the bytes are a well-formed envelope.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_envelope_record_hash(
    envelope: *const u8,
    envelope_len: usize,
    record_hash_out: *mut u8,
) -> ehr_result {
    guard(|| {
        let bytes = ptr::bytes(envelope, envelope_len, "envelope")?;
        let out = OutArray::<32>::new(record_hash_out, "record_hash_out")?;
        let envelope = Envelope::from_bytes(bytes.to_vec())?;
        out.set(&envelope.record_hash().0);
        Ok(())
    })
}
