//! The test keys the suites seal and pseudonymize with, and a generator
//! over them: one setup for the core's, the C ABI's and the contracts'
//! tests (the other crates include this file with `#[path]`).
#![allow(clippy::unwrap_used, dead_code)]

use ehrchain_core::{
    Address, GeneratorConfig, InMemoryKeyStore, KeyId, MasterKey, TransactionGenerator,
};

/// A generator for `registry` on `chain_id` that seals under the key id
/// `sealing_key` (key bytes `0x11…`) and pseudonymizes under `pseudonyms`
/// (`0x22…`), with the default clock skew (five minutes).
pub(crate) fn test_generator(
    sealing_key: &str,
    chain_id: u64,
    registry: Address,
) -> TransactionGenerator<InMemoryKeyStore> {
    keyed_generator((sealing_key, [0x11; 32]), [0x22; 32], chain_id, registry)
}

/// [`test_generator`] over other key bytes: the sealing key `sealing` (its
/// id and bytes) and the bytes of the `pseudonyms` key.
pub(crate) fn keyed_generator(
    sealing: (&str, [u8; 32]),
    pseudonyms: [u8; 32],
    chain_id: u64,
    registry: Address,
) -> TransactionGenerator<InMemoryKeyStore> {
    let sealing_key = KeyId::new(sealing.0).unwrap();
    let pseudonym_key = KeyId::new("pseudonyms").unwrap();
    let mut keys = InMemoryKeyStore::new();
    keys.insert(sealing_key.clone(), MasterKey::new(sealing.1));
    keys.insert(pseudonym_key.clone(), MasterKey::new(pseudonyms));
    let config = GeneratorConfig::new(chain_id, registry, sealing_key, pseudonym_key).unwrap();
    TransactionGenerator::new(config, keys).unwrap()
}
