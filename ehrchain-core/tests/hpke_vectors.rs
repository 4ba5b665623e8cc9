//! The published HPKE test vectors, run against the `hpke` crate that key
//! capsules (`ehrchain_core::capsule`, `docs/capsule.md`) are made with:
//!
//! - RFC 9180's vectors of DHKEM(X25519, HKDF-SHA256) + HKDF-SHA256 +
//!   AES-256-GCM, the classic capsule suite, all four modes;
//! - the X-Wing (KEM `0x647a`) vectors of the HPKE post-quantum draft. They
//!   use ChaCha20-Poly1305, so they check the KEM and the key schedule of the
//!   default capsule suite, not its AEAD.
//!
//! The files are not in this repository: they are read from `../shared/hpke/`
//! beside the workspace (where CI puts them; see its README for their
//! sources). Without them the test says it was skipped.
//!
//! Checked for each vector: the key pair `DeriveKeyPair(ikmR)` gives (the
//! `hpke` crate's X-Wing derivation follows the draft; `@hpke/hybridkem-x-wing`'s
//! differs, so capsules exchange seeds, never `ikm`), the public key of `skRm`,
//! `enc` from a sender whose randomness is `ikmE`, the shared secret of
//! decapsulating `enc`, every ciphertext sealed in order (which checks the
//! key and the nonce sequence of the key schedule), every ciphertext opened,
//! and every exported value.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use alloy_primitives::hex;
use hpke::aead::{Aead, AesGcm256, ChaCha20Poly1305};
use hpke::kdf::{HkdfSha256, Kdf, KdfShake256};
use hpke::kem::{X25519HkdfSha256, XWing};
use hpke::{Deserializable, Kem, OpModeR, OpModeS, PskBundle, Serializable};
use serde_json::Value;

fn shared_file(name: &str) -> Option<Vec<Value>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/hpke")
        .join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).unwrap()),
        Err(e) => {
            eprintln!(
                "SKIPPED: the HPKE vectors {} are absent ({e}); they are beside the clone in CI",
                path.display()
            );
            None
        }
    }
}

fn bytes(v: &Value, field: &str) -> Vec<u8> {
    let text = v[field]
        .as_str()
        .unwrap_or_else(|| panic!("field {field} missing"));
    hex::decode(text).unwrap()
}

fn number(v: &Value, field: &str) -> u64 {
    v[field].as_u64().unwrap()
}

/// Hands out exactly the bytes it was made with (`ikmE`), then panics: the
/// sender's only randomness.
struct FixedRng(Vec<u8>);

impl hpke::rand_core::TryRng for FixedRng {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        panic!("only fill_bytes")
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        panic!("only fill_bytes")
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        assert!(dst.len() <= self.0.len(), "the sender wants more than ikmE");
        dst.copy_from_slice(&self.0[..dst.len()]);
        self.0.drain(..dst.len());
        Ok(())
    }
}

impl hpke::rand_core::TryCryptoRng for FixedRng {}

/// Checks one vector with the suite `A`, `F`, `K`.
fn check<A: Aead, F: Kdf, K: Kem>(v: &Value) {
    let name = format!(
        "mode {} kem {:#06x} kdf {:#06x} aead {:#06x}",
        number(v, "mode"),
        number(v, "kem_id"),
        number(v, "kdf_id"),
        number(v, "aead_id")
    );
    assert_eq!(number(v, "kem_id"), u64::from(K::KEM_ID), "{name}");
    let sk = K::PrivateKey::from_bytes(&bytes(v, "skRm")).unwrap();
    let pk = K::sk_to_pk(&sk);
    assert_eq!(pk.to_bytes().as_slice(), bytes(v, "pkRm"), "{name}: pkRm");
    let (derived_sk, derived_pk) = K::derive_keypair(&bytes(v, "ikmR"));
    // The crate stores X25519 scalars clamped (RFC 7748), the vectors raw:
    // compare both after reading.
    assert_eq!(derived_sk.to_bytes(), sk.to_bytes(), "{name}: skRm");
    assert_eq!(derived_pk, pk, "{name}: DeriveKeyPair");
    let sender = v.get("skSm").map(|_| {
        let sk = K::PrivateKey::from_bytes(&bytes(v, "skSm")).unwrap();
        let pk = K::sk_to_pk(&sk);
        assert_eq!(pk.to_bytes().as_slice(), bytes(v, "pkSm"), "{name}: pkSm");
        (sk, pk)
    });
    let (psk, psk_id) = (
        v.get("psk").map(|_| bytes(v, "psk")),
        v.get("psk_id").map(|_| bytes(v, "psk_id")),
    );
    let bundle = psk
        .as_deref()
        .map(|psk| PskBundle::new(psk, psk_id.as_deref().unwrap()).unwrap());
    let (mode_s, mode_r) = match (number(v, "mode"), sender.clone(), bundle) {
        (0, None, None) => (OpModeS::Base, OpModeR::Base),
        (1, None, Some(b)) => (OpModeS::Psk(b), OpModeR::Psk(b)),
        (2, Some(kp), None) => (OpModeS::Auth(kp.clone()), OpModeR::Auth(kp.1)),
        (3, Some(kp), Some(b)) => (OpModeS::AuthPsk(kp.clone(), b), OpModeR::AuthPsk(kp.1, b)),
        _ => panic!("{name}: fields do not fit the mode"),
    };
    let info = bytes(v, "info");

    // The sender, with ikmE as its randomness.
    let mut rng = FixedRng(bytes(v, "ikmE"));
    let (enc, mut sender_ctx) =
        hpke::setup_sender_with_rng::<A, F, K>(&mode_s, &pk, &info, &mut rng).unwrap();
    assert!(rng.0.is_empty(), "{name}: the sender left ikmE unused");
    assert_eq!(enc.to_bytes().as_slice(), bytes(v, "enc"), "{name}: enc");

    // The KEM's shared secret (the crate's hidden but public `decap`).
    let shared = K::decap(&sk, sender.as_ref().map(|kp| &kp.1), &enc).unwrap();
    assert_eq!(
        shared.0.as_slice(),
        bytes(v, "shared_secret"),
        "{name}: shared_secret"
    );

    let mut receiver_ctx = hpke::setup_receiver::<A, F, K>(&mode_r, &sk, &enc, &info).unwrap();
    let encryptions = v["encryptions"].as_array().unwrap();
    assert!(!encryptions.is_empty(), "{name}: no encryptions");
    for (i, e) in encryptions.iter().enumerate() {
        let (aad, pt, ct) = (bytes(e, "aad"), bytes(e, "pt"), bytes(e, "ct"));
        assert_eq!(sender_ctx.seal(&pt, &aad).unwrap(), ct, "{name}: seal #{i}");
        assert_eq!(
            receiver_ctx.open(&ct, &aad).unwrap(),
            pt,
            "{name}: open #{i}"
        );
    }
    for (i, x) in v["exports"].as_array().unwrap().iter().enumerate() {
        let mut out = vec![0u8; usize::try_from(number(x, "L")).unwrap()];
        receiver_ctx
            .export(&bytes(x, "exporter_context"), &mut out)
            .unwrap();
        assert_eq!(out, bytes(x, "exported_value"), "{name}: export #{i}");
    }
}

#[test]
fn rfc_9180_x25519_hkdf_sha256_aes_256_gcm() {
    let Some(vectors) = shared_file("rfc9180-x25519-hkdfsha256-aes256gcm.json") else {
        return;
    };
    let mut modes = Vec::new();
    for v in &vectors {
        assert_eq!((number(v, "kdf_id"), number(v, "aead_id")), (1, 2));
        check::<AesGcm256, HkdfSha256, X25519HkdfSha256>(v);
        modes.push(number(v, "mode"));
    }
    assert_eq!(modes, [0, 1, 2, 3], "the four modes of RFC 9180");
}

#[test]
fn hpke_pq_draft_x_wing() {
    let Some(vectors) = shared_file("hpke-pq-xwing.json") else {
        return;
    };
    let mut kdfs = Vec::new();
    for v in &vectors {
        assert_eq!((number(v, "mode"), number(v, "aead_id")), (0, 3));
        match number(v, "kdf_id") {
            0x0001 => check::<ChaCha20Poly1305, HkdfSha256, XWing>(v),
            0x0011 => check::<ChaCha20Poly1305, KdfShake256, XWing>(v),
            other => panic!("unexpected KDF {other:#06x}"),
        }
        kdfs.push(number(v, "kdf_id"));
    }
    assert_eq!(kdfs, [0x0001, 0x0011], "HKDF-SHA256 and SHAKE256");
}
