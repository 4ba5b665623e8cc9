//! `ehr_capsule`: a record's key wrapped for one recipient with HPKE
//! (`docs/capsule.md`); recipients' key pairs and key ids. The holder seals
//! with its master key from an `ehr_key_store`; the recipient opens with its
//! private key from an `ehr_key_store` (in memory, or the host's
//! `recipient_key` callback, so that it can live in an HSM).

use ehrchain_core::capsule::{
    Authority, CapsuleBinding, CapsuleSuite, KeyCapsule, RecipientPrivateKey, RecipientPublicKey,
};
use ehrchain_core::{Address, B256, ErrorCode, KeyStore};
use rand_core::OsRng;

use crate::keys::{ehr_key_store, read_envelope};
use crate::ptr::{self, Out, OutArray, OutExtensible};
use crate::result::{Error, Result, ehr_result, guard};
use crate::shapes::{bytes_of, free, guard_on, parsed_bytes};

/// The HPKE suites of key capsules, by their byte in the capsule header.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ehr_capsule_suite {
    /// The X-Wing hybrid post-quantum KEM (X25519 + ML-KEM-768), the
    /// default: public key 1,216 bytes, capsule 1,319 bytes.
    EHR_CAPSULE_SUITE_X_WING = 1,
    /// DHKEM(X25519), the classic suite: public key 32 bytes, capsule 231
    /// bytes.
    EHR_CAPSULE_SUITE_X25519 = 2,
}

/// Under what a record is disclosed (`ehr_capsule_binding.authority`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ehr_capsule_authority {
    /// A patient's grant, named by `grant_id`.
    EHR_AUTHORITY_GRANT = 0,
    /// Emergency access without a grant; `grant_id` is all zeros.
    EHR_AUTHORITY_EMERGENCY = 1,
}

/// What a key capsule is bound to: its clear header, all of it HPKE's
/// `info`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ehr_capsule_binding {
    /// `sizeof(ehr_capsule_binding)` as the host's header declares it
    /// (`EHR_CAPSULE_BINDING_INIT` sets it): which of the fields below
    /// the host's struct has (README, "Extensible structs").
    pub struct_size: usize,
    /// The chain the registry is on.
    pub chain_id: u64,
    /// The registry contract's address.
    pub registry: [u8; 20],
    /// The record hash (SHA-256 of the envelope) whose key the capsule holds.
    pub record_hash: [u8; 32],
    /// The recipient's account address.
    pub recipient: [u8; 20],
    /// `EHR_AUTHORITY_GRANT` or `EHR_AUTHORITY_EMERGENCY` (an
    /// `ehr_capsule_authority`).
    pub authority: u32,
    /// The grant's id; all zeros for an emergency.
    pub grant_id: [u8; 32],
}

/// The core's suite for the C value `suite` (an `ehr_capsule_suite`).
pub(crate) fn capsule_suite(suite: u32) -> Result<CapsuleSuite> {
    u8::try_from(suite)
        .ok()
        .and_then(CapsuleSuite::from_id)
        .ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidArgument,
                format!(
                    "suite {suite} is not an ehr_capsule_suite (EHR_CAPSULE_SUITE_X_WING or EHR_CAPSULE_SUITE_X25519)"
                ),
            )
        })
}

/// The core's binding for the C binding at `p` (the parameter `name`).
fn binding(p: *const ehr_capsule_binding, name: &str) -> Result<CapsuleBinding> {
    let b = ptr::extensible(p, name)?;
    Ok(CapsuleBinding {
        chain_id: b.chain_id,
        registry: Address::from(b.registry),
        record_hash: B256::from(b.record_hash),
        recipient: Address::from(b.recipient),
        authority: authority(b.authority, b.grant_id, &format!("{name}->authority"))?,
    })
}

/// The core's authority for the C `kind` (an `ehr_capsule_authority`, the
/// parameter `name`) and `grant_id`.
pub(crate) fn authority(kind: u32, grant_id: [u8; 32], name: &str) -> Result<Authority> {
    let grant = B256::from(grant_id);
    match kind {
        0 => Ok(Authority::Grant(grant)),
        1 if grant.is_zero() => Ok(Authority::Emergency),
        other => Err(Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "{name} is {other} with grant id {grant}: give EHR_AUTHORITY_GRANT (0) with the grant's id, or EHR_AUTHORITY_EMERGENCY (1) with a zero grant id"
            ),
        )),
    }
}

/// The C binding of the core's `binding`.
fn c_binding(binding: &CapsuleBinding) -> ehr_capsule_binding {
    let (authority, grant) = match binding.authority {
        Authority::Grant(id) => (ehr_capsule_authority::EHR_AUTHORITY_GRANT, id),
        Authority::Emergency => (ehr_capsule_authority::EHR_AUTHORITY_EMERGENCY, B256::ZERO),
    };
    ehr_capsule_binding {
        struct_size: size_of::<ehr_capsule_binding>(),
        chain_id: binding.chain_id,
        registry: binding.registry.0.0,
        record_hash: binding.record_hash.0,
        recipient: binding.recipient.0.0,
        authority: authority as u32,
        grant_id: grant.0,
    }
}

/// The recipient private key of `suite` at `private_key` (32 bytes).
fn private_key(suite: u32, private_key: *const u8) -> Result<RecipientPrivateKey> {
    let bytes = ptr::secret32(private_key, "private_key")?;
    Ok(RecipientPrivateKey::from_bytes(
        capsule_suite(suite)?,
        bytes.as_slice(),
    )?)
}

/// The recipient public key of `suite` at `public_key` (`public_key_len`
/// bytes).
pub(crate) fn public_key(
    suite: u32,
    public_key: *const u8,
    public_key_len: usize,
) -> Result<RecipientPublicKey> {
    let bytes = ptr::bytes(public_key, public_key_len, "public_key")?;
    Ok(RecipientPublicKey::from_bytes(
        capsule_suite(suite)?,
        bytes,
    )?)
}

/// Makes a new recipient private key of `suite` (an `ehr_capsule_suite`)
/// from the operating system's random generator and writes its 32 bytes (an
/// X-Wing seed, or an X25519 scalar) to `private_key_out`. Secret: keep it in
/// the host's key store or HSM, and publish its public key
/// (`ehr_recipient_public_key`) and key id.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_recipient_key_generate(
    suite: u32,
    private_key_out: *mut u8,
) -> ehr_result {
    guard(|| {
        let suite = capsule_suite(suite)?;
        let out = OutArray::<32>::new(private_key_out, "private_key_out")?;
        let key = RecipientPrivateKey::generate(suite, &mut OsRng);
        let bytes = key.to_bytes();
        let bytes = <&[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| Error::new(ErrorCode::Internal, "a private key is not 32 bytes"))?;
        out.set(bytes);
        Ok(())
    })
}

/// Writes the public key of the 32-byte recipient `private_key` of `suite`
/// into `buf` (byte-output rules: `ehr_envelope_open`; X-Wing 1,216 bytes,
/// X25519 32 bytes): what a recipient publishes for holders.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_recipient_public_key(
    suite: u32,
    private_key: *const u8,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let key = self::private_key(suite, private_key)?;
        ptr::write_bytes(buf, len, out_len, &key.public_key().to_bytes())
    })
}

/// Writes the key id of the recipient `public_key` (`public_key_len` bytes)
/// of `suite` to `key_id_out` (32 bytes): `keccak256(suite byte || public
/// key)`, what a capsule names and the registry publishes.
/// `EHR_RECIPIENT_KEY_INVALID` when the bytes are not a key of the suite.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_recipient_key_id(
    suite: u32,
    public_key: *const u8,
    public_key_len: usize,
    key_id_out: *mut u8,
) -> ehr_result {
    public_key_word(
        suite,
        public_key,
        public_key_len,
        key_id_out,
        "key_id_out",
        |key| key.key_id().0,
    )
}

/// Writes the SHA-256 hash of the recipient `public_key` (`public_key_len`
/// bytes) of `suite` to `key_hash_out` (32 bytes): with its key id and KEM,
/// what the recipient publishes in `EhrConsent` (`publishRecipientKey`) and
/// holders check before sealing. `EHR_RECIPIENT_KEY_INVALID` when the bytes
/// are not a key of the suite.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_recipient_key_hash(
    suite: u32,
    public_key: *const u8,
    public_key_len: usize,
    key_hash_out: *mut u8,
) -> ehr_result {
    public_key_word(
        suite,
        public_key,
        public_key_len,
        key_hash_out,
        "key_hash_out",
        |key| key.key_hash().0,
    )
}

/// Writes the 32 bytes `word` makes of the recipient `public_key` of `suite`
/// to `out` (the parameter `out_name`).
fn public_key_word(
    suite: u32,
    public_key: *const u8,
    public_key_len: usize,
    out: *mut u8,
    out_name: &str,
    word: impl FnOnce(&RecipientPublicKey) -> [u8; 32],
) -> ehr_result {
    guard(|| {
        let key = self::public_key(suite, public_key, public_key_len)?;
        OutArray::<32>::new(out, out_name)?.set(&word(&key));
        Ok(())
    })
}

/// A record key sealed for one recipient (`docs/capsule.md`), whose
/// structure has been checked.
///
/// Thread safety: immutable; may be used from several threads at once.
pub struct ehr_capsule {
    pub(crate) capsule: KeyCapsule,
}

/// The holder's side: derives the record key of `envelope` (`envelope_len`
/// bytes) from the master key its header names, fetched from `keys`, and
/// seals it for the recipient's `public_key` (`public_key_len` bytes) of
/// `suite` under `binding` (whose `record_hash` must be the envelope's), with
/// fresh randomness from the operating system's generator. Make a capsule
/// only while the grant (or the emergency role) holds at a mined block, and
/// anchor it as a disclosure. Free it with `ehr_capsule_free`.
/// `EHR_CAPSULE_WRONG_BINDING` when `binding->record_hash` is not the
/// envelope's, `EHR_ENVELOPE_WRONG_KEY` when the master key is not the
/// envelope's, `EHR_RECIPIENT_KEY_INVALID` for a public key that is not one
/// of `suite`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_capsule_seal(
    keys: *const ehr_key_store,
    envelope: *const u8,
    envelope_len: usize,
    binding: *const ehr_capsule_binding,
    suite: u32,
    public_key: *const u8,
    public_key_len: usize,
    capsule_out: *mut *mut ehr_capsule,
) -> ehr_result {
    guard_on(keys, "keys", |keys| {
        let envelope = read_envelope(envelope, envelope_len)?;
        let binding = self::binding(binding, "binding")?;
        let recipient = self::public_key(suite, public_key, public_key_len)?;
        let out = Out::new(capsule_out, "capsule_out")?;
        let master = keys.keys.master_key(&envelope.binding().key_id)?;
        let capsule =
            KeyCapsule::seal_envelope_key(&binding, &recipient, &envelope, &master, &mut OsRng)?;
        out.give(ehr_capsule { capsule });
        Ok(())
    })
}

/// Reads a key capsule from its bytes and checks its structure (magic,
/// version, suite, grant field, length); does not decrypt. Free it with
/// `ehr_capsule_free`. `EHR_CAPSULE_MALFORMED` or `EHR_CAPSULE_UNSUPPORTED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_capsule_from_bytes(
    bytes: *const u8,
    bytes_len: usize,
    capsule_out: *mut *mut ehr_capsule,
) -> ehr_result {
    // Empty input is a truncated capsule, as in every binding.
    parsed_bytes(bytes, bytes_len, capsule_out, "capsule_out", |bytes| {
        Ok(ehr_capsule {
            capsule: KeyCapsule::from_bytes(bytes)?,
        })
    })
}

/// Writes the capsule's bytes into `buf` (byte-output rules:
/// `ehr_envelope_open`; X-Wing 1,319 bytes, X25519 231 bytes).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_capsule_to_bytes(
    capsule: *const ehr_capsule,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    bytes_of(capsule, buf, len, out_len, "capsule", |c| {
        Ok(c.capsule.as_bytes().into())
    })
}

/// What a key capsule says in its clear header (`ehr_capsule_to_summary`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ehr_capsule_summary {
    /// `sizeof(ehr_capsule_summary)` as the host's header declares it
    /// (`EHR_CAPSULE_SUMMARY_INIT` sets it): which of the fields below
    /// the host's struct has (README, "Extensible structs").
    pub struct_size: usize,
    /// The suite (an `ehr_capsule_suite`).
    pub suite: u32,
    /// The key id of the recipient key the capsule was sealed for: the key
    /// the recipient's key store is asked for.
    pub recipient_key_id: [u8; 32],
    /// What the capsule is bound to.
    pub binding: ehr_capsule_binding,
}

/// Writes what the capsule says in its clear header (suite, recipient key
/// id, and chain, registry, record hash, recipient, grant or emergency) to
/// `summary_out`. Not authenticated until the capsule is opened.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_capsule_to_summary(
    capsule: *const ehr_capsule,
    summary_out: *mut ehr_capsule_summary,
) -> ehr_result {
    guard_on(capsule, "capsule", |c| {
        OutExtensible::new(summary_out, "summary_out")?.set(ehr_capsule_summary {
            struct_size: size_of::<ehr_capsule_summary>(),
            suite: c.capsule.suite().id().into(),
            recipient_key_id: c.capsule.recipient_key_id().0,
            binding: c_binding(c.capsule.binding()),
        });
        Ok(())
    })
}

/// The recipient's private key for `capsule`, fetched from `keys` by the key
/// id the capsule names.
pub(crate) fn recipient_key(
    capsule: &KeyCapsule,
    keys: *const ehr_key_store,
) -> Result<RecipientPrivateKey> {
    let keys = ptr::handle(keys, "keys")?;
    keys.keys
        .recipient_key(&capsule.recipient_key_id(), capsule.suite())
}

/// Opens the capsule with the recipient's private key, fetched from `keys`
/// by the key id the capsule names (an in-memory store's
/// `ehr_key_store_insert_recipient_key`, or the `recipient_key` callback),
/// after checking that it is bound to `expected` (the disclosure the
/// recipient asked for), and writes the 32-byte record key to
/// `record_key_out`. Secret: clear it when done. `EHR_CAPSULE_WRONG_KEY`
/// when the store holds no key of that id (or its callback answers with
/// another key), `EHR_KEY_STORE_UNAVAILABLE` when the callback fails,
/// `EHR_CAPSULE_WRONG_BINDING`, `EHR_CAPSULE_TAMPERED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_capsule_open(
    capsule: *const ehr_capsule,
    keys: *const ehr_key_store,
    expected: *const ehr_capsule_binding,
    record_key_out: *mut u8,
) -> ehr_result {
    guard_on(capsule, "capsule", |c| {
        let expected = binding(expected, "expected")?;
        let out = OutArray::<32>::new(record_key_out, "record_key_out")?;
        let key = recipient_key(&c.capsule, keys)?;
        let record_key = c.capsule.open(&expected, &key)?;
        out.set(&record_key);
        Ok(())
    })
}

/// The recipient's side in full: checks that `envelope` (`envelope_len`
/// bytes) is the record the capsule is for, opens the capsule as
/// `ehr_capsule_open` does and opens the envelope with the record key; writes
/// the plaintext record into `buf` (byte-output rules: `ehr_envelope_open`).
/// The plaintext is clinical data: clear it when done. Check the record hash
/// against its anchor and the grant against the chain as well.
/// `EHR_CAPSULE_WRONG_BINDING` for another envelope, then as
/// `ehr_capsule_open`, then `EHR_ENVELOPE_TAMPERED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_capsule_open_envelope(
    capsule: *const ehr_capsule,
    keys: *const ehr_key_store,
    expected: *const ehr_capsule_binding,
    envelope: *const u8,
    envelope_len: usize,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard_on(capsule, "capsule", |c| {
        let expected = binding(expected, "expected")?;
        let envelope = read_envelope(envelope, envelope_len)?;
        let key = recipient_key(&c.capsule, keys)?;
        let record = c.capsule.open_envelope(&expected, &key, &envelope)?;
        ptr::write_bytes(buf, len, out_len, &record)
    })
}

/// Frees a key capsule; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_capsule_free(capsule: *mut ehr_capsule) {
    free(capsule);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_c_suites_are_the_header_bytes() {
        for (c, core) in [
            (
                ehr_capsule_suite::EHR_CAPSULE_SUITE_X_WING,
                CapsuleSuite::XWing,
            ),
            (
                ehr_capsule_suite::EHR_CAPSULE_SUITE_X25519,
                CapsuleSuite::X25519,
            ),
        ] {
            assert_eq!(capsule_suite(c as u32).unwrap(), core);
        }
        for bad in [0, 3, 257] {
            assert_eq!(
                capsule_suite(bad).unwrap_err().code,
                ErrorCode::InvalidArgument
            );
        }
    }

    #[test]
    fn bindings_go_to_c_and_back() {
        for authority in [Authority::Grant(B256::repeat_byte(7)), Authority::Emergency] {
            let core = CapsuleBinding {
                chain_id: 31337,
                registry: Address::repeat_byte(1),
                record_hash: B256::repeat_byte(2),
                recipient: Address::repeat_byte(3),
                authority,
            };
            let c = c_binding(&core);
            assert_eq!(binding(&raw const c, "binding").unwrap(), core);
        }
        let emergency_with_grant = ehr_capsule_binding {
            authority: 1,
            grant_id: [9; 32],
            ..ehr_capsule_binding::default()
        };
        assert_eq!(
            binding(&raw const emergency_with_grant, "binding")
                .unwrap_err()
                .code,
            ErrorCode::InvalidArgument
        );
    }
}
