//! Key stores for JavaScript: master keys by key id held in memory
//! (`{keyId: key}`), or behind the host's synchronous callbacks
//! (`{masterKey(keyId), recipientKey?(keyId, suite)}`: an HSM, a KMS, a
//! vault), as C's `ehr_key_store_new_callbacks`. Both are the core's
//! `KeyStore`; a callback's failure is the core's `KeyStoreError`.

use ehrchain_core::capsule::{CapsuleError, CapsuleSuite, RecipientPrivateKey};
use ehrchain_core::keys::KeyStoreError;
use ehrchain_core::{B256, ErrorCode, InMemoryKeyStore, KeyId, KeyStore, MasterKey};
use js_sys::{Function, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use zeroize::Zeroizing;

use crate::convert::{self, hex};
use crate::error::Failure;

/// A key store argument: keys in WebAssembly memory, or the host's callbacks.
#[derive(Debug)]
pub(crate) enum JsKeyStore {
    Memory(InMemoryKeyStore),
    Callbacks(Callbacks),
}

/// The host's key store object and its functions (called with the object as
/// `this`).
#[derive(Debug)]
pub(crate) struct Callbacks {
    store: JsValue,
    master_key: Function,
}

impl KeyStore for JsKeyStore {
    fn master_key(&self, id: &KeyId) -> Result<MasterKey, KeyStoreError> {
        match self {
            Self::Memory(keys) => keys.master_key(id),
            Self::Callbacks(cb) => {
                let what = format!("the key store's masterKey callback for key \"{id}\"");
                match call(
                    &cb.master_key,
                    &cb.store,
                    &JsValue::from_str(id.as_str()),
                    None,
                    &what,
                )? {
                    None => Err(KeyStoreError::UnknownKey(id.clone())),
                    Some(key) => Ok(MasterKey::new(*key)),
                }
            }
        }
    }
}

/// `f` of the store's function `name`, when the store has one.
fn function(store: &JsValue, name: &str) -> Option<Function> {
    convert::get(store, name).dyn_into::<Function>().ok()
}

/// Calls a key store callback: `Some` key (32 bytes, copied into memory
/// that is zeroized on drop), `None` when it answered `null` or `undefined`
/// (no such key); a throw or any other answer (another length, a `Promise`)
/// is `Unavailable`, the message naming `what`.
fn call(
    f: &Function,
    store: &JsValue,
    key_id: &JsValue,
    suite: Option<&JsValue>,
    what: &str,
) -> Result<Option<Zeroizing<[u8; 32]>>, KeyStoreError> {
    let answer = match suite {
        None => f.call1(store, key_id),
        Some(suite) => f.call2(store, key_id, suite),
    }
    .map_err(|thrown| {
        let message = convert::get(&thrown, "message")
            .as_string()
            .or_else(|| thrown.as_string())
            .unwrap_or_default();
        KeyStoreError::Unavailable(format!("{what} threw: {message}"))
    })?;
    if answer.is_undefined() || answer.is_null() {
        return Ok(None);
    }
    let wrong = |found: String| {
        KeyStoreError::Unavailable(format!(
            "{what} returned {found}, not a 32-byte Uint8Array (key store callbacks are synchronous)"
        ))
    };
    let array = answer.dyn_into::<Uint8Array>().map_err(|other| {
        wrong(format!(
            "a value of type {}",
            other.js_typeof().as_string().unwrap_or_default()
        ))
    })?;
    if array.length() != 32 {
        return Err(wrong(format!("{} bytes", array.length())));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    array.copy_to(key.as_mut_slice());
    Ok(Some(key))
}

/// The callbacks of a key store object with a `masterKey` function, or
/// `None` for any other value.
fn callbacks(value: &JsValue) -> Option<Callbacks> {
    Some(Callbacks {
        master_key: function(value, "masterKey")?,
        store: value.clone(),
    })
}

/// Reads a key store argument: an object with a `masterKey` function (the
/// host's callbacks), or `{keyId: Uint8Array(32) | Hex}` (keys copied into
/// WebAssembly memory).
pub(crate) fn key_store(keys: &JsValue) -> Result<JsKeyStore, Failure> {
    if let Some(cb) = callbacks(keys) {
        return Ok(JsKeyStore::Callbacks(cb));
    }
    if !keys.is_object() {
        return Err(Failure::bad_input(
            "keys must be an object mapping key ids to 32-byte master keys, or a key store with a masterKey function",
        ));
    }
    let mut store = InMemoryKeyStore::new();
    for entry in js_sys::Object::entries(&js_sys::Object::from(keys.clone())).iter() {
        let pair = js_sys::Array::from(&entry);
        let id = convert::string(&pair.get(0), "key id")?;
        let key = master_key(&pair.get(1), &format!("master key {id:?}"))?;
        let id = KeyId::new(id).map_err(Failure::from)?;
        store.insert(id, key);
    }
    Ok(JsKeyStore::Memory(store))
}

/// A 32-byte master key argument (`Uint8Array` or hex).
pub(crate) fn master_key(value: &JsValue, what: &str) -> Result<MasterKey, Failure> {
    // The copy of the key in WebAssembly memory is cleared once wrapped.
    let bytes = convert::secret_bytes(value, what)?;
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(Failure::new(
            ErrorCode::KeyInvalid,
            format!("{what} must be 32 bytes, not {}", bytes.len()),
        ));
    }
    key.copy_from_slice(&bytes);
    Ok(MasterKey::new(*key))
}

/// A master key argument that may also be a key store: the 32-byte key
/// itself, or the key `id` from a key store with a `masterKey` function.
pub(crate) fn master_key_or_store(value: &JsValue, id: &KeyId) -> Result<MasterKey, Failure> {
    match callbacks(value) {
        Some(cb) => Ok(JsKeyStore::Callbacks(cb).master_key(id)?),
        None => master_key(value, "key"),
    }
}

/// The recipient private key that opens a capsule of `suite` sealed for the
/// recipient key `key_id`: the `privateKey` argument itself (32 bytes), or
/// the answer of a key store's `recipientKey(keyId, suite)`.
/// A key the store does not hold is `EHR_CAPSULE_WRONG_KEY` (the capsule was
/// sealed for a key held elsewhere), a failing callback
/// `EHR_KEY_STORE_UNAVAILABLE`, as in C.
pub(crate) fn recipient_key(
    value: &JsValue,
    suite: CapsuleSuite,
    key_id: &B256,
) -> Result<RecipientPrivateKey, Failure> {
    if !value.is_object() || value.is_instance_of::<Uint8Array>() {
        return crate::capsule::private_key(suite, value);
    }
    let Some(f) = function(value, "recipientKey") else {
        return Err(Failure::bad_input(
            "privateKey must be a 32-byte Uint8Array or a key store with a recipientKey function",
        ));
    };
    let key_hex = hex(key_id.as_slice());
    let what = format!("the key store's recipientKey callback for {suite} key {key_hex}");
    match call(
        &f,
        value,
        &JsValue::from_str(&key_hex),
        Some(&convert::to_js(&suite)?),
        &what,
    )? {
        Some(key) => Ok(RecipientPrivateKey::from_bytes(suite, key.as_slice())?),
        None => Err(Failure::from(CapsuleError::KeyNotHeld {
            suite,
            key_id: *key_id,
        })),
    }
}
