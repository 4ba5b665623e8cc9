//! Test vectors of key capsules (`docs/capsule.md`), kept in
//! `docs/vectors/capsule.json`.
//!
//! `EHRCHAIN_REGENERATE_VECTORS=1 cargo test -p ehrchain-core --test capsule_vectors`
//! rewrites the file; every other run reads it and checks each vector byte
//! for byte against this library, and opens every capsule a second way, with
//! the `hpke` crate called as the specification says (info, AAD, offsets),
//! independently of `ehrchain_core::capsule`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use alloy_primitives::hex;
use ehrchain_core::capsule::{
    Authority, CapsuleBinding, CapsuleError, CapsuleSuite, KeyCapsule, RecipientPrivateKey,
};
use ehrchain_core::envelope::EnvelopeBinding;
use ehrchain_core::{Address, B256, Envelope, Error, KeyId, MasterKey};
use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::{X25519HkdfSha256, XWing};
use hpke::{Deserializable, Kem, OpModeR};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/vectors/capsule.json");
const HEADER_LEN: usize = 151;
const INFO_LABEL: &[u8] = b"ehrchain/v1/capsule";
const ERROR_NAMES: [&str; 9] = [
    "truncated",
    "trailing_bytes",
    "not_a_capsule",
    "unsupported_version",
    "unsupported_suite",
    "malformed_authority",
    "wrong_key",
    "wrong_binding",
    "tampered",
];

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct VectorFile {
    description: Vec<String>,
    spec: String,
    capsule_version: u8,
    valid: Vec<Valid>,
    invalid: Vec<Invalid>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Valid {
    name: String,
    comment: String,
    suite: CapsuleSuite,
    recipient_private_key: String,
    recipient_public_key: String,
    recipient_key_id: String,
    binding: CapsuleBinding,
    record_key: String,
    encap_randomness: String,
    capsule: String,
    envelope: String,
    plaintext_utf8: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Invalid {
    name: String,
    comment: String,
    suite: CapsuleSuite,
    recipient_private_key: String,
    expected_binding: CapsuleBinding,
    capsule: String,
    error: String,
    /// The stable error code (docs/errors.md) every binding reports.
    code: String,
}

#[test]
fn capsule_vectors() {
    let file: VectorFile = common::read_vector_file(PATH, build);
    assert_eq!(file.capsule_version, ehrchain_core::capsule::VERSION);
    assert!(file.valid.len() >= 4, "too few valid vectors");
    for v in &file.valid {
        check_valid(v);
    }
    common::check_invalid_vectors(&file.invalid, |v| &v.error, &ERROR_NAMES, check_invalid);
}

// ---------------------------------------------------------------- checking

fn check_valid(v: &Valid) {
    let name = &v.name;
    let key = RecipientPrivateKey::from_bytes(v.suite, &unhex(&v.recipient_private_key)).unwrap();
    let public = key.public_key();
    assert_eq!(
        hex::encode(public.to_bytes()),
        v.recipient_public_key,
        "{name}: public key"
    );
    assert_eq!(
        hex::encode(public.key_id()),
        v.recipient_key_id,
        "{name}: key id"
    );
    let mut id_input = vec![v.suite.id()];
    id_input.extend_from_slice(&unhex(&v.recipient_public_key));
    assert_eq!(
        hex::encode(alloy_primitives::keccak256(id_input)),
        v.recipient_key_id,
        "{name}: key id = keccak256(suite || public key)"
    );
    let record_key: [u8; 32] = unhex(&v.record_key).try_into().unwrap();

    // Sealing with the vector's randomness gives exactly its bytes.
    let mut rng = FixedRng(unhex(&v.encap_randomness));
    let sealed = KeyCapsule::seal(&v.binding, public, &record_key, &mut rng).unwrap();
    assert!(rng.0.is_empty(), "{name}: randomness left over");
    assert_eq!(hex::encode(sealed.as_bytes()), v.capsule, "{name}: capsule");

    // Reading and opening it.
    let bytes = unhex(&v.capsule);
    let capsule = KeyCapsule::from_bytes(&bytes).unwrap();
    assert_eq!(capsule.binding(), &v.binding, "{name}: binding");
    assert_eq!(capsule.suite(), v.suite, "{name}: suite");
    assert_eq!(
        *capsule.open(&v.binding, &key).unwrap(),
        record_key,
        "{name}"
    );
    let envelope = Envelope::from_bytes(unhex(&v.envelope)).unwrap();
    assert_eq!(envelope.record_hash(), v.binding.record_hash, "{name}");
    let plaintext = capsule.open_envelope(&v.binding, &key, &envelope).unwrap();
    assert_eq!(plaintext.as_slice(), v.plaintext_utf8.as_bytes(), "{name}");

    // The specification, followed with the hpke crate directly.
    assert_eq!(
        spec_open(v.suite, &key.to_bytes(), &bytes),
        record_key,
        "{name}: spec"
    );
}

/// Opens a capsule as `docs/capsule.md` says, without `ehrchain_core::capsule`.
fn spec_open(suite: CapsuleSuite, private_key: &[u8], bytes: &[u8]) -> [u8; 32] {
    let info = [INFO_LABEL, &bytes[..HEADER_LEN]].concat();
    let (enc_len, open): (usize, HpkeOpen) = match suite {
        CapsuleSuite::XWing => (1120, hpke_open::<XWing>),
        CapsuleSuite::X25519 => (32, hpke_open::<X25519HkdfSha256>),
    };
    assert_eq!(bytes.len(), HEADER_LEN + enc_len + 48);
    let (enc, ciphertext) = bytes[HEADER_LEN..].split_at(enc_len);
    open(private_key, enc, &info, ciphertext)
        .try_into()
        .unwrap()
}

/// `hpke_open` of one KEM: private key, enc, info, ciphertext → plaintext.
type HpkeOpen = fn(&[u8], &[u8], &[u8], &[u8]) -> Vec<u8>;

fn hpke_open<K: Kem>(sk: &[u8], enc: &[u8], info: &[u8], ciphertext: &[u8]) -> Vec<u8> {
    let sk = K::PrivateKey::from_bytes(sk).unwrap();
    let enc = K::EncappedKey::from_bytes(enc).unwrap();
    hpke::single_shot_open::<AesGcm256, HkdfSha256, K>(
        &OpModeR::Base,
        &sk,
        &enc,
        info,
        ciphertext,
        b"",
    )
    .unwrap()
}

fn check_invalid(v: &Invalid) {
    let name = &v.name;
    common::assert_known_error(&ERROR_NAMES, name, &v.error);
    let key = RecipientPrivateKey::from_bytes(v.suite, &unhex(&v.recipient_private_key)).unwrap();
    let err = KeyCapsule::from_bytes(&unhex(&v.capsule))
        .and_then(|c| c.open(&v.expected_binding, &key).map(|_| ()))
        .expect_err(name);
    assert_eq!(err.name(), v.error, "{name}: {err}");
    assert_eq!(Error::from(err).code().name(), v.code, "{name}: code");
}

// ---------------------------------------------------------------- building

/// Hands out the bytes it holds, then panics; records what it handed out.
struct FixedRng(Vec<u8>);

impl RngCore for FixedRng {
    fn next_u32(&mut self) -> u32 {
        panic!("capsules only fill bytes")
    }
    fn next_u64(&mut self) -> u64 {
        panic!("capsules only fill bytes")
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.copy_from_slice(&self.0[..dest.len()]);
        self.0.drain(..dest.len());
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for FixedRng {}

fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

struct Sealed {
    envelope: Envelope,
    record_key: [u8; 32],
    plaintext: &'static str,
}

fn seal_record(ti: u8, plaintext: &'static str) -> Sealed {
    let master = MasterKey::new([0x5a; 32]);
    let binding = EnvelopeBinding {
        key_id: KeyId::new("hospital-a/2026").unwrap(),
        patient: B256::repeat_byte(0x11),
        template_id: B256::repeat_byte(0x22),
        ti_id: B256::repeat_byte(ti),
    };
    let envelope = Envelope::seal(&binding, &master, [ti; 12], plaintext.as_bytes()).unwrap();
    let record_key = *envelope.record_key(&master).unwrap();
    Sealed {
        envelope,
        record_key,
        plaintext,
    }
}

fn binding(record: &Sealed, authority: Authority) -> CapsuleBinding {
    CapsuleBinding {
        chain_id: 31337,
        registry: Address::repeat_byte(0xe5),
        record_hash: record.envelope.record_hash(),
        recipient: Address::repeat_byte(0xb0),
        authority,
    }
}

fn valid(
    rng: &mut ChaCha20Rng,
    name: &str,
    comment: &str,
    key: &RecipientPrivateKey,
    record: &Sealed,
    authority: Authority,
) -> Valid {
    let suite = key.public_key().suite();
    let mut randomness = vec![0u8; if suite == CapsuleSuite::XWing { 64 } else { 32 }];
    rng.fill_bytes(&mut randomness);
    let binding = binding(record, authority);
    let capsule = KeyCapsule::seal(
        &binding,
        key.public_key(),
        &record.record_key,
        &mut FixedRng(randomness.clone()),
    )
    .unwrap();
    Valid {
        name: name.into(),
        comment: comment.into(),
        suite,
        recipient_private_key: hex::encode(key.to_bytes()),
        recipient_public_key: hex::encode(key.public_key().to_bytes()),
        recipient_key_id: hex::encode(key.public_key().key_id()),
        binding,
        record_key: hex::encode(record.record_key),
        encap_randomness: hex::encode(randomness),
        capsule: hex::encode(capsule.as_bytes()),
        envelope: hex::encode(record.envelope.as_bytes()),
        plaintext_utf8: record.plaintext.into(),
    }
}

fn build() -> VectorFile {
    let mut rng = ChaCha20Rng::seed_from_u64(0x6361_7073_756c_6573);
    let xwing = RecipientPrivateKey::generate(CapsuleSuite::XWing, &mut rng);
    let x25519 = RecipientPrivateKey::generate(CapsuleSuite::X25519, &mut rng);
    let lab = seal_record(0x31, "Potassium 4.1 mmol/L");
    let note = seal_record(0x32, "Discharge note: stable, follow up in 2 weeks.");
    let grant = Authority::Grant(B256::repeat_byte(0x47));
    let valid = vec![
        valid(
            &mut rng,
            "x-wing-grant",
            "The default suite (X-Wing, HKDF-SHA256, AES-256-GCM) under a grant.",
            &xwing,
            &lab,
            grant,
        ),
        valid(
            &mut rng,
            "x-wing-emergency",
            "The default suite, emergency access: authority byte 1, grant id zero.",
            &xwing,
            &note,
            Authority::Emergency,
        ),
        valid(
            &mut rng,
            "x25519-grant",
            "The classic suite (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM) under a grant.",
            &x25519,
            &lab,
            grant,
        ),
        valid(
            &mut rng,
            "x25519-emergency",
            "The classic suite, emergency access.",
            &x25519,
            &note,
            Authority::Emergency,
        ),
    ];
    let invalid = build_invalid(&valid[2], &valid[0], &mut rng);
    VectorFile {
        description: vec![
            "Test vectors of ehrchain key capsules, format version 1: a record key sealed for one recipient with HPKE (RFC 9180) base mode.".into(),
            "Specification: docs/capsule.md. Generated by ehrchain-core/tests/capsule_vectors.rs (EHRCHAIN_REGENERATE_VECTORS=1); checked by that test.".into(),
            "All byte strings are lower-case hex without a 0x prefix, except in binding (JSON of ehrchain_core::capsule::CapsuleBinding: 0x-prefixed, chainId a number, authority {\"grant\": id} or \"emergency\").".into(),
            "valid: sealing record_key for recipient_public_key under binding, with encap_randomness as the sender's only randomness (X25519: the 32-byte ikmE of DeriveKeyPair; X-Wing: the 64-byte encapsulation seed), gives exactly capsule; opening capsule with recipient_private_key (X-Wing: the 32-byte seed) gives record_key, which opens envelope (docs/envelope.md; its SHA-256 is binding.recordHash) to plaintext_utf8.".into(),
            "invalid: reading capsule, then opening it with recipient_private_key for expected_binding, must fail with error (one of truncated, trailing_bytes, not_a_capsule, unsupported_version, unsupported_suite, malformed_authority, wrong_key, wrong_binding, tampered); code is the stable error code of docs/errors.md.".into(),
        ],
        spec: "docs/capsule.md".into(),
        capsule_version: ehrchain_core::capsule::VERSION,
        valid,
        invalid,
    }
}

/// An invalid vector's name, comment, capsule, key (`None`: the valid
/// vector's) and expected binding.
type Case<'a> = (
    &'a str,
    &'a str,
    Vec<u8>,
    Option<&'a RecipientPrivateKey>,
    CapsuleBinding,
);

fn build_invalid(classic: &Valid, default: &Valid, rng: &mut ChaCha20Rng) -> Vec<Invalid> {
    let good = unhex(&classic.capsule);
    let with = |at: usize, byte: u8| {
        let mut b = good.clone();
        b[at] = byte;
        b
    };
    let flipped = |bytes: &[u8], at: usize| {
        let mut b = bytes.to_vec();
        b[at] ^= 0x01;
        b
    };
    let other_key = RecipientPrivateKey::generate(CapsuleSuite::X25519, rng);
    let other_grant = CapsuleBinding {
        authority: Authority::Grant(B256::repeat_byte(0x48)),
        ..classic.binding
    };
    let other_record = CapsuleBinding {
        record_hash: B256::repeat_byte(0x99),
        ..classic.binding
    };
    let cases: Vec<Case<'_>> = vec![
        (
            "truncated-prefix",
            "Five bytes: shorter than magic, version and suite.",
            good[..5].to_vec(),
            None,
            classic.binding,
        ),
        (
            "truncated-header",
            "The header cut after 150 of its 151 bytes.",
            good[..HEADER_LEN - 1].to_vec(),
            None,
            classic.binding,
        ),
        (
            "truncated-body",
            "The last byte of the tag missing.",
            good[..good.len() - 1].to_vec(),
            None,
            classic.binding,
        ),
        (
            "trailing-byte",
            "One byte after the tag.",
            [good.as_slice(), &[0]].concat(),
            None,
            classic.binding,
        ),
        (
            "not-a-capsule",
            "An envelope's magic, EHRE.",
            with(3, b'E'),
            None,
            classic.binding,
        ),
        (
            "unsupported-version",
            "Format version 2.",
            with(4, 2),
            None,
            classic.binding,
        ),
        (
            "unsupported-suite",
            "Suite 3.",
            with(5, 3),
            None,
            classic.binding,
        ),
        (
            "suite-relabelled",
            "An X25519 capsule labelled X-Wing (suite 1): too short for X-Wing's 1,120-byte enc.",
            with(5, 1),
            None,
            classic.binding,
        ),
        (
            "malformed-authority",
            "Authority byte 2.",
            with(118, 2),
            None,
            classic.binding,
        ),
        (
            "emergency-with-grant-id",
            "Authority byte 1 (emergency) with a non-zero grant id.",
            with(118, 1),
            None,
            classic.binding,
        ),
        (
            "wrong-key",
            "Opened with another X25519 key than the one the capsule names.",
            good.clone(),
            Some(&other_key),
            classic.binding,
        ),
        (
            "wrong-grant",
            "Expected under another grant.",
            good.clone(),
            None,
            other_grant,
        ),
        (
            "wrong-record",
            "Expected for another record.",
            good.clone(),
            None,
            other_record,
        ),
        (
            "tampered-record-hash",
            "The record hash in the header rewritten, and expected so: HPKE's info differs.",
            flipped(&good, 40),
            None,
            CapsuleBinding {
                record_hash: B256::from_slice(&flipped(&good, 40)[34..66]),
                ..classic.binding
            },
        ),
        (
            "tampered-enc",
            "One bit of enc flipped.",
            flipped(&good, HEADER_LEN),
            None,
            classic.binding,
        ),
        (
            "tampered-tag",
            "One bit of the tag flipped.",
            flipped(&good, good.len() - 1),
            None,
            classic.binding,
        ),
    ];
    let classic_key = RecipientPrivateKey::from_bytes(
        CapsuleSuite::X25519,
        &unhex(&classic.recipient_private_key),
    )
    .unwrap();
    let mut out: Vec<Invalid> = cases
        .into_iter()
        .map(|(name, comment, capsule, key, expected)| {
            invalid(
                name,
                comment,
                &capsule,
                key.unwrap_or(&classic_key),
                expected,
            )
        })
        .collect();
    let default_bytes = unhex(&default.capsule);
    let default_key = RecipientPrivateKey::from_bytes(
        CapsuleSuite::XWing,
        &unhex(&default.recipient_private_key),
    )
    .unwrap();
    out.push(invalid(
        "x-wing-tampered-ml-kem",
        "X-Wing: one bit of the ML-KEM ciphertext in enc flipped.",
        &flipped(&default_bytes, HEADER_LEN + 7),
        &default_key,
        default.binding,
    ));
    out
}

fn invalid(
    name: &str,
    comment: &str,
    capsule: &[u8],
    key: &RecipientPrivateKey,
    expected: CapsuleBinding,
) -> Invalid {
    let err: CapsuleError = KeyCapsule::from_bytes(capsule)
        .and_then(|c| c.open(&expected, key).map(|_| ()))
        .expect_err(name);
    Invalid {
        name: name.into(),
        comment: comment.into(),
        suite: key.public_key().suite(),
        recipient_private_key: hex::encode(key.to_bytes()),
        expected_binding: expected,
        capsule: hex::encode(capsule),
        error: err.name().into(),
        code: Error::from(err).code().name().into(),
    }
}
