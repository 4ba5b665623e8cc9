//! Fixed inputs shared by the fuzz targets and the seed writer: one key store,
//! one clock, one generator configuration, one RNG seed, and the built-in
//! templates. Everything is deterministic so that a crash reproduces from its
//! input file alone.

use std::sync::OnceLock;

use ehrchain_core::capsule::{CapsuleSuite, RecipientPrivateKey};
use ehrchain_core::{
    Address, GeneratorConfig, InMemoryKeyStore, KeyId, MasterKey, TemplateRegistry,
    TransactionGenerator, UnixMillis,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// The host clock every TI is generated against (a TI's own timestamp is
/// `NOW.as_secs()`, in seconds).
pub const NOW: UnixMillis = UnixMillis::from_secs(1_764_495_000);
/// The key id records are sealed under.
pub const SEALING_KEY_ID: &str = "records-2026";
/// The key id patient pseudonyms are derived from.
pub const PSEUDONYM_KEY_ID: &str = "pseudonyms";
/// The sealing master key's bytes.
pub const SEALING_KEY: [u8; 32] = [0x11; 32];
/// The pseudonym master key's bytes.
pub const PSEUDONYM_KEY: [u8; 32] = [0x22; 32];
/// The private keys (X-Wing seed, X25519 scalar) capsules are opened with.
pub const CAPSULE_KEYS: [(CapsuleSuite, [u8; 32]); 2] = [
    (CapsuleSuite::XWing, [0x33; 32]),
    (CapsuleSuite::X25519, [0x44; 32]),
];
/// The seed of the RNG that supplies envelope nonces.
pub const RNG_SEED: u64 = 7;

/// The generator and registry every fuzz input is run against.
#[derive(Debug)]
pub struct Fixture {
    /// The built-in templates, loaded from their JSON.
    pub registry: TemplateRegistry,
    /// A generator over [`key_store`].
    pub generator: TransactionGenerator<InMemoryKeyStore>,
}

/// The shared fixture, built on first use.
///
/// # Panics
/// If the built-in templates or the fixed keys do not load: then every fuzz
/// input would fail, and the first one reports it.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let registry = match TemplateRegistry::with_built_ins(None) {
            Ok(registry) => registry,
            Err(e) => panic!("the built-in templates do not load: {e}"),
        };
        let generator = match TransactionGenerator::new(config(), key_store()) {
            Ok(generator) => generator,
            Err(e) => panic!("the fixed generator does not build: {e}"),
        };
        Fixture {
            registry,
            generator,
        }
    })
}

/// A key id from a constant that is known to be valid.
fn key_id(id: &str) -> KeyId {
    match KeyId::new(id) {
        Ok(id) => id,
        Err(e) => panic!("fixed key id rejected: {e}"),
    }
}

/// The generator configuration: chain 1337, registry `0xeeee…ee`, 300 s skew.
#[must_use]
pub fn config() -> GeneratorConfig {
    GeneratorConfig {
        chain_id: 1337,
        registry: Address::repeat_byte(0xee),
        sealing_key: key_id(SEALING_KEY_ID),
        pseudonym_key: key_id(PSEUDONYM_KEY_ID),
        max_clock_skew_ms: 300_000,
    }
}

/// The key store holding [`SEALING_KEY`] and [`PSEUDONYM_KEY`].
#[must_use]
pub fn key_store() -> InMemoryKeyStore {
    let mut keys = InMemoryKeyStore::new();
    keys.insert(key_id(SEALING_KEY_ID), MasterKey::new(SEALING_KEY));
    keys.insert(key_id(PSEUDONYM_KEY_ID), MasterKey::new(PSEUDONYM_KEY));
    keys
}

/// The master key envelopes are opened with.
#[must_use]
pub fn sealing_key() -> MasterKey {
    MasterKey::new(SEALING_KEY)
}

/// A fresh RNG with the fixed seed.
#[must_use]
pub fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(RNG_SEED)
}

/// The recipients' private keys of [`CAPSULE_KEYS`].
///
/// # Panics
/// If a fixed key does not load (then every input would fail).
#[must_use]
pub fn capsule_keys() -> Vec<RecipientPrivateKey> {
    CAPSULE_KEYS
        .iter()
        .map(
            |(suite, bytes)| match RecipientPrivateKey::from_bytes(*suite, bytes) {
                Ok(key) => key,
                Err(e) => panic!("fixed capsule key rejected: {e}"),
            },
        )
        .collect()
}

/// What a reader made of an input, or `None` when it refused it; the
/// refusal's message (shown to people) must format without panicking.
pub fn accepted<T, E: std::fmt::Display>(read: Result<T, E>) -> Option<T> {
    read.map_err(|e| e.to_string()).ok()
}

/// `data` as UTF-8 text, with what `read` makes of it; `None` for bytes that
/// are not text, or for text `read` refuses ([`accepted`]).
pub fn read_text<T, E: std::fmt::Display>(
    data: &[u8],
    read: impl FnOnce(&str) -> Result<T, E>,
) -> Option<(&str, T)> {
    let text = std::str::from_utf8(data).ok()?;
    Some((text, accepted(read(text))?))
}

/// A state read back from the host's storage (an outbox entry, a watcher's
/// state) by `from_json`: `None` for data it refuses ([`read_text`]); a
/// state it accepts must write back (`to_json`) to one it accepts again.
///
/// # Panics
/// When an accepted state does not read back: a broken invariant.
pub fn stored_state<T, E: std::fmt::Display>(
    data: &[u8],
    from_json: impl Fn(&str) -> Result<T, E>,
    to_json: impl Fn(&T) -> String,
) -> Option<T> {
    let (_, state) = read_text(data, &from_json)?;
    if let Err(e) = from_json(&to_json(&state)) {
        panic!("an accepted state does not read back: {e}");
    }
    Some(state)
}
