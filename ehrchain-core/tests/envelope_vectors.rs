//! Test vectors of the sealed-record envelope (`docs/envelope.md`), kept in
//! `docs/vectors/envelope.json`.
//!
//! `EHRCHAIN_REGENERATE_VECTORS=1 cargo test -p ehrchain-core --test envelope_vectors`
//! rewrites the file; every other run reads it and checks each vector
//! byte for byte against this library, and the key derivation against an
//! independent HKDF computation that follows the specification.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;

use alloy_primitives::hex;
use ehrchain_core::envelope::{EnvelopeBinding, EnvelopeError};
use ehrchain_core::keys::Pseudonymizer;
use ehrchain_core::{
    Address, B256, Envelope, InMemoryKeyStore, InitialTransaction, KeyId, MasterKey, Role,
    TemplateRegistry, UnixMillis,
};
use hkdf::Hkdf;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/vectors/envelope.json");

/// Offset of the key id in the header.
const KEY_ID_AT: usize = 7;
/// Header bytes besides the key id.
const FIXED_HEADER: usize = 135;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct VectorFile {
    description: Vec<String>,
    spec: String,
    envelope_version: u8,
    suite: u8,
    valid: Vec<Valid>,
    invalid: Vec<Invalid>,
    pseudonyms: Vec<PseudonymVector>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Valid {
    name: String,
    comment: String,
    key: String,
    key_id: String,
    patient: String,
    template_id: String,
    ti_id: String,
    nonce: String,
    plaintext_utf8: Option<String>,
    plaintext_hex: String,
    record_key: String,
    key_commitment: String,
    header_len: usize,
    envelope: String,
    record_hash: String,
    cid: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Invalid {
    name: String,
    comment: String,
    key: String,
    envelope: String,
    error: String,
    /// The stable error code (docs/errors.md) every binding reports.
    code: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PseudonymVector {
    name: String,
    key: String,
    patient_id: String,
    pseudonym: String,
}

#[test]
fn envelope_vectors() {
    let file: VectorFile = common::read_vector_file(PATH, build);
    check(&file);
}

// ---------------------------------------------------------------- checking

fn check(file: &VectorFile) {
    assert_eq!(file.envelope_version, ehrchain_core::envelope::VERSION);
    assert_eq!(
        file.suite,
        ehrchain_core::envelope::SUITE_HKDF_SHA256_AES256GCM
    );
    assert!(file.valid.len() >= 5, "too few valid vectors");
    assert!(!file.invalid.is_empty(), "no invalid vectors");
    for v in &file.valid {
        check_valid(v);
    }
    common::check_invalid_vectors(&file.invalid, |v| &v.error, &ERROR_NAMES, check_invalid);
    for v in &file.pseudonyms {
        let p = Pseudonymizer::new(&master(&v.key)).pseudonym(&v.patient_id);
        assert_eq!(hex::encode(p), v.pseudonym, "pseudonym vector {}", v.name);
    }
    // The generator's lab record is bound to the pseudonym of its patient.
    let lab = file.valid.iter().find(|v| v.name == "record-lab-result");
    let pseudonym = file
        .pseudonyms
        .iter()
        .find(|v| v.name == "generator-patient");
    assert_eq!(
        lab.map(|v| &v.patient),
        pseudonym.map(|v| &v.pseudonym),
        "record-lab-result is not bound to the generator-patient pseudonym"
    );
}

fn check_valid(v: &Valid) {
    let name = &v.name;
    let key = master(&v.key);
    let binding = EnvelopeBinding {
        key_id: KeyId::new(v.key_id.clone()).unwrap(),
        patient: b256(&v.patient),
        template_id: b256(&v.template_id),
        ti_id: b256(&v.ti_id),
    };
    let nonce: [u8; 12] = hex::decode(&v.nonce).unwrap().try_into().unwrap();
    let plaintext = hex::decode(&v.plaintext_hex).unwrap();
    match &v.plaintext_utf8 {
        Some(text) => assert_eq!(text.as_bytes(), plaintext, "{name}: utf8 != hex"),
        None => assert!(
            std::str::from_utf8(&plaintext).is_err(),
            "{name}: plaintext_utf8 is null but the plaintext is UTF-8"
        ),
    }

    // Sealing gives exactly the vector's bytes.
    let sealed = Envelope::seal(&binding, &key, nonce, &plaintext).unwrap();
    assert_eq!(
        hex::encode(sealed.as_bytes()),
        v.envelope,
        "{name}: envelope"
    );
    assert_eq!(
        hex::encode(sealed.record_hash()),
        v.record_hash,
        "{name}: record hash"
    );
    assert_eq!(sealed.cid(), v.cid, "{name}: cid");
    assert_eq!(
        v.header_len,
        FIXED_HEADER + v.key_id.len(),
        "{name}: header_len"
    );
    assert_eq!(
        sealed.as_bytes().len(),
        v.header_len + plaintext.len() + 16,
        "{name}: length"
    );

    // The key schedule, computed independently from the specification.
    let okm = spec_okm(
        key.expose(),
        &binding.patient,
        &binding.template_id,
        &binding.ti_id,
    );
    assert_eq!(hex::encode(&okm[..32]), v.record_key, "{name}: record key");
    assert_eq!(
        hex::encode(&okm[32..]),
        v.key_commitment,
        "{name}: commitment"
    );
    let at = v.header_len - 20;
    assert_eq!(
        hex::encode(&sealed.as_bytes()[at..at + 16]),
        v.key_commitment,
        "{name}: commitment in header"
    );

    // Opening the stored bytes gives the plaintext back.
    let parsed = Envelope::from_bytes(hex::decode(&v.envelope).unwrap()).unwrap();
    assert_eq!(parsed.binding(), &binding, "{name}: binding");
    let opened = parsed.open_with(&key).unwrap();
    assert_eq!(opened.as_slice(), plaintext.as_slice(), "{name}: plaintext");
    let mut store = InMemoryKeyStore::new();
    store.insert(binding.key_id.clone(), key.clone());
    assert_eq!(
        parsed.open(&store).unwrap().as_slice(),
        plaintext.as_slice()
    );
    // The parts another AES-256-GCM opens it from (WebCrypto in the npm package).
    assert_eq!(
        hex::encode(*parsed.record_key(&key).unwrap()),
        v.record_key,
        "{name}: record_key()"
    );
    assert_eq!(parsed.nonce(), nonce, "{name}: nonce()");
    assert_eq!(parsed.header().len(), v.header_len, "{name}: header()");
    assert_eq!(
        [parsed.header(), parsed.ciphertext_and_tag()].concat(),
        parsed.as_bytes(),
        "{name}: header() and ciphertext_and_tag()"
    );
    let other = MasterKey::new([0x5a; 32]);
    assert!(
        matches!(
            parsed.record_key(&other),
            Err(EnvelopeError::WrongKey { .. })
        ),
        "{name}: record_key() with another key"
    );

    // Records from the generator follow `ehrchain.record/1` (docs/envelope.md).
    if name.starts_with("record-") {
        check_record_json(name, &plaintext, &binding);
    }
}

fn check_record_json(name: &str, plaintext: &[u8], binding: &EnvelopeBinding) {
    let record: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(plaintext).unwrap();
    let mut keys: Vec<&str> = record.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = vec![
        "format",
        "templateId",
        "template",
        "templateVersion",
        "tiId",
        "authorId",
        "authorRole",
        "patientId",
        "timestamp",
        "fields",
    ];
    if binding.patient == B256::ZERO {
        expected.retain(|k| *k != "patientId");
    }
    // Whether serde_json's map keeps insertion order depends on its features;
    // check the documented order on the bytes.
    let text = std::str::from_utf8(plaintext).unwrap();
    let positions: Vec<usize> = expected
        .iter()
        .map(|k| text.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "{name}: key order"
    );
    let mut sorted = expected.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted, "{name}: keys");
    assert_eq!(record["format"], "ehrchain.record/1");
    assert_eq!(record["templateId"], binding.template_id.to_string());
    assert_eq!(record["tiId"], binding.ti_id.to_string());
    assert_eq!(
        serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(plaintext).unwrap())
            .unwrap()
            .len(),
        plaintext.len(),
        "{name}: not compact JSON"
    );
}

const ERROR_NAMES: [&str; 9] = [
    "truncated",
    "trailing_bytes",
    "not_an_envelope",
    "unsupported_version",
    "unsupported_suite",
    "malformed_key_id",
    "ciphertext_too_short",
    "wrong_key",
    "tampered",
];

fn check_invalid(v: &Invalid) {
    common::assert_known_error(&ERROR_NAMES, &v.name, &v.error);
    match open_invalid(v) {
        Ok(_) => panic!("{}: opened, expected {}", v.name, v.error),
        Err(e) => {
            assert_eq!(e.name(), v.error, "{}: {e}", v.name);
            assert_eq!(e.code().name(), v.code, "{}: {e}", v.name);
        }
    }
}

// ---------------------------------------------------------------- helpers

fn master(hex_key: &str) -> MasterKey {
    MasterKey::new(hex::decode(hex_key).unwrap().try_into().unwrap())
}

fn b256(hex_value: &str) -> B256 {
    let bytes = hex::decode(hex_value).unwrap();
    assert_eq!(bytes.len(), 32, "{hex_value} is not 32 bytes");
    B256::from_slice(&bytes)
}

/// HKDF-SHA256 as `docs/envelope.md` specifies it: salt = template id,
/// IKM = master key, info = label || patient || TI id, 48 bytes.
fn spec_okm(master: &[u8; 32], patient: &B256, template_id: &B256, ti_id: &B256) -> [u8; 48] {
    let hk = Hkdf::<Sha256>::new(Some(template_id.as_slice()), master);
    let mut info = b"ehrchain/v1/record".to_vec();
    info.extend_from_slice(patient.as_slice());
    info.extend_from_slice(ti_id.as_slice());
    let mut okm = [0u8; 48];
    hk.expand(&info, &mut okm).unwrap();
    okm
}

// ---------------------------------------------------------------- building

struct Inputs {
    name: &'static str,
    comment: String,
    key: [u8; 32],
    binding: EnvelopeBinding,
    nonce: [u8; 12],
    plaintext: Vec<u8>,
}

fn build() -> VectorFile {
    let mut rng = ChaCha20Rng::seed_from_u64(0x6568_7263_6861_696e);
    let mut inputs = vec![
        simple(
            &mut rng,
            "empty-plaintext",
            "An empty record: the ciphertext is only the 16-byte tag.",
            "k",
            Vec::new(),
        ),
        simple(
            &mut rng,
            "short-text",
            "A short UTF-8 text.",
            "records-2026",
            "Blood pressure 120/80 mmHg, sitting.".into(),
        ),
    ];
    inputs.extend(generator_records(&mut rng));
    let long_id = "hospital.example/ward-7/records/2026-11~!#$%&'()*+,-.:;<=>?@[]^_";
    assert_eq!(long_id.len(), ehrchain_core::keys::MAX_KEY_ID_LEN);
    inputs.push(simple(
        &mut rng,
        "one-kib-text-64-byte-key-id",
        "1024 bytes of UTF-8 text (with multi-byte characters) under a key id of the maximum 64 bytes.",
        long_id,
        one_kib_text(),
    ));
    inputs.push(simple(
        &mut rng,
        "binary-plaintext",
        "256 bytes 0x00..0xff, not UTF-8 (plaintext_utf8 is null); key id of one byte, '~' (0x7e).",
        "~",
        (0..=255u8).collect(),
    ));
    inputs.push(Inputs {
        name: "all-zero-inputs",
        comment: "All-zero master key, pseudonym, template id, TI id and nonce (an edge case, never do this outside tests); key id '!' (0x21).".into(),
        key: [0; 32],
        binding: EnvelopeBinding {
            key_id: KeyId::new("!").unwrap(),
            patient: B256::ZERO,
            template_id: B256::ZERO,
            ti_id: B256::ZERO,
        },
        nonce: [0; 12],
        plaintext: b"{}".to_vec(),
    });

    let sealed: Vec<(Inputs, Envelope)> = inputs
        .into_iter()
        .map(|i| {
            let e =
                Envelope::seal(&i.binding, &MasterKey::new(i.key), i.nonce, &i.plaintext).unwrap();
            (i, e)
        })
        .collect();
    let mut invalid = build_invalid(&sealed, &mut rng);
    for v in &mut invalid {
        v.code = open_invalid(v)
            .err()
            .map_or_else(String::new, |e| e.code().name().to_owned());
    }
    let valid = sealed
        .iter()
        .map(|(i, e)| {
            let okm = spec_okm(
                &i.key,
                &i.binding.patient,
                &i.binding.template_id,
                &i.binding.ti_id,
            );
            Valid {
                name: i.name.into(),
                comment: i.comment.clone(),
                key: hex::encode(i.key),
                key_id: i.binding.key_id.as_str().into(),
                patient: hex::encode(i.binding.patient),
                template_id: hex::encode(i.binding.template_id),
                ti_id: hex::encode(i.binding.ti_id),
                nonce: hex::encode(i.nonce),
                plaintext_utf8: String::from_utf8(i.plaintext.clone()).ok(),
                plaintext_hex: hex::encode(&i.plaintext),
                record_key: hex::encode(&okm[..32]),
                key_commitment: hex::encode(&okm[32..]),
                header_len: FIXED_HEADER + i.binding.key_id.as_str().len(),
                envelope: hex::encode(e.as_bytes()),
                record_hash: hex::encode(e.record_hash()),
                cid: e.cid(),
            }
        })
        .collect();

    VectorFile {
        description: vec![
            "Test vectors of the ehrchain sealed-record envelope, format version 1, suite 1 (HKDF-SHA256, AES-256-GCM, 16-byte key commitment).".into(),
            "Specification: docs/envelope.md. Generated by ehrchain-core/tests/envelope_vectors.rs (EHRCHAIN_REGENERATE_VECTORS=1); checked by that test and by ehrchain-core/tests/interop/open_envelopes.mjs.".into(),
            "All byte strings are lower-case hex without a 0x prefix. record_key and key_commitment are the HKDF output (bytes 0..32 and 32..48), given to help debug an implementation; header_len is the length of the header (the AEAD associated data).".into(),
            "valid: sealing plaintext_hex with key (the 32-byte master key), key_id, patient, template_id, ti_id and nonce gives exactly envelope; its SHA-256 is record_hash and its CIDv1 is cid; opening envelope with key gives plaintext_hex.".into(),
            "invalid: opening envelope with key must fail with error (one of truncated, trailing_bytes, not_an_envelope, unsupported_version, unsupported_suite, malformed_key_id, ciphertext_too_short, wrong_key, tampered); code is the stable error code of docs/errors.md that the Rust, C and JavaScript APIs report for it.".into(),
            "pseudonyms: the patient pseudonym of patient_id (UTF-8) under the master key key.".into(),
        ],
        spec: "docs/envelope.md".into(),
        envelope_version: ehrchain_core::envelope::VERSION,
        suite: ehrchain_core::envelope::SUITE_HKDF_SHA256_AES256GCM,
        valid,
        invalid,
        pseudonyms: pseudonym_vectors(),
    }
}

fn random<const N: usize>(rng: &mut ChaCha20Rng) -> [u8; N] {
    let mut out = [0u8; N];
    rng.fill_bytes(&mut out);
    out
}

fn simple(
    rng: &mut ChaCha20Rng,
    name: &'static str,
    comment: &str,
    key_id: &str,
    plaintext: Vec<u8>,
) -> Inputs {
    Inputs {
        name,
        comment: comment.into(),
        key: random(rng),
        binding: EnvelopeBinding {
            key_id: KeyId::new(key_id).unwrap(),
            patient: B256::from(random::<32>(rng)),
            template_id: B256::from(random::<32>(rng)),
            ti_id: B256::from(random::<32>(rng)),
        },
        nonce: random(rng),
        plaintext,
    }
}

fn one_kib_text() -> Vec<u8> {
    let line = "Verlaufsnotiz: Patientin nüchtern, Glukose 5,4 mmol/L — stabil; 血压 120/80.\n";
    let mut text = String::new();
    while text.len() + line.len() <= 1024 {
        text.push_str(line);
    }
    while text.len() < 1024 {
        text.push('.');
    }
    assert_eq!(text.len(), 1024);
    text.into_bytes()
}

const SEALING_KEY: [u8; 32] = [
    0x5e, 0xa1, 0xed, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
    0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c,
];
const PSEUDONYM_KEY: [u8; 32] = [
    0x9a, 0x11, 0xe9, 0x7f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
    0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b,
];
const LAB_PATIENT: &str = "MRN-000123";

fn pseudonym_vectors() -> Vec<PseudonymVector> {
    [
        ("generator-patient", PSEUDONYM_KEY, LAB_PATIENT),
        ("other-patient", PSEUDONYM_KEY, "MRN-000124"),
        ("case-matters", PSEUDONYM_KEY, "mrn-000123"),
        (
            "utf8-identifier",
            PSEUDONYM_KEY,
            "Müller-Lüdenscheidt/1970-01-01",
        ),
        ("other-key", SEALING_KEY, LAB_PATIENT),
    ]
    .into_iter()
    .map(|(name, key, patient_id)| PseudonymVector {
        name: name.into(),
        key: hex::encode(key),
        patient_id: patient_id.into(),
        pseudonym: hex::encode(Pseudonymizer::new(&MasterKey::new(key)).pseudonym(patient_id)),
    })
    .collect()
}

/// Real records made by the transaction generator from built-in templates.
fn generator_records(rng: &mut ChaCha20Rng) -> Vec<Inputs> {
    /// The TIs' clock, Unix seconds (a TI's timestamp is in seconds).
    const NOW_S: u64 = 1_764_495_000;
    let tg = common::test_keys::keyed_generator(
        ("lab/2026", SEALING_KEY),
        PSEUDONYM_KEY,
        1337,
        Address::repeat_byte(0xee),
    );
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    let mut ti = |template: &str, role: &str, patient: Option<&str>, fields: serde_json::Value| {
        let fields: BTreeMap<String, serde_json::Value> = serde_json::from_value(fields).unwrap();
        InitialTransaction {
            ti_id: B256::from(random::<32>(rng)),
            template_id: registry.latest(template).unwrap().id(),
            author_id: "lab-tech-0815".into(),
            author_role: Role::new(role).unwrap(),
            patient_id: patient.map(Into::into),
            timestamp: NOW_S - 90,
            fields,
        }
    };
    let lab = ti(
        "lab-result",
        "pathologist",
        Some(LAB_PATIENT),
        json!({
            "test_code": "2345-7",
            "test_name": "Glucose [Mass/volume] in Serum or Plasma",
            "value": "5.4",
            "unit": "mmol/L",
            "interpretation": "normal",
            "specimen": "serum",
            "collected_at": "2025-11-30T10:02:30.75+01:00",
            "note": "Patientin nüchtern seit 22:00.\n\"Fasting\" sample\\tube 2",
        }),
    );
    let shipment = ti(
        "drug-shipment-custody",
        "pharmacist",
        None,
        json!({
            "lot": "LOT-2026-0042",
            "gtin": "09506000134352",
            "event": "received",
            "quantity": 120,
            "counterparty": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            "expires_on": 1_798_675_200,
        }),
    );
    [
        (
            "record-lab-result",
            "A real ehrchain.record/1 plaintext from the transaction generator (built-in lab-result template, TI timestamp 1764494910); the patient field is the pseudonym of pseudonyms[0]. Shows a decimal padded to its scale (\"5.4\" -> \"5.400\"), a date-time normalised to UTC whole seconds, and JSON escapes.",
            lab,
        ),
        (
            "record-drug-shipment",
            "A real ehrchain.record/1 plaintext from the transaction generator (built-in drug-shipment-custody template, no patient subject: patient is 32 zero bytes and patient_id is absent). Shows an EIP-55 address and Unix seconds turned into RFC 3339.",
            shipment,
        ),
    ]
    .into_iter()
    .map(|(name, comment, ti)| {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let tc = tg
            .generate(&registry, &ti, UnixMillis::from_secs(NOW_S), &mut ChaCha20Rng::from_seed(seed))
            .unwrap();
        let binding = tc.envelope.binding().clone();
        let at = FIXED_HEADER + binding.key_id.as_str().len() - 32;
        let nonce: [u8; 12] = tc.envelope.as_bytes()[at..at + 12].try_into().unwrap();
        let plaintext = tc.envelope.open(tg.key_store()).unwrap().to_vec();
        Inputs {
            name,
            comment: comment.into(),
            key: SEALING_KEY,
            binding,
            nonce,
            plaintext,
        }
    })
    .collect()
}

fn invalid(name: &str, comment: &str, key: &[u8; 32], bytes: &[u8], error: &str) -> Invalid {
    Invalid {
        name: name.into(),
        comment: comment.into(),
        key: hex::encode(key),
        envelope: hex::encode(bytes),
        error: error.into(),
        code: String::new(),
    }
}

/// Opens an invalid vector's envelope with its key.
fn open_invalid(v: &Invalid) -> Result<Vec<u8>, EnvelopeError> {
    let bytes = hex::decode(&v.envelope).unwrap();
    let key = master(&v.key);
    Envelope::from_bytes(bytes).and_then(|e| e.open_with(&key).map(|p| p.to_vec()))
}

/// Builds envelope bytes with the given fields, without any checks: for
/// single-defect negative vectors.
fn raw_envelope(key_id: &[u8], rest_of_header: &[u8], ct_len: u32, body: &[u8]) -> Vec<u8> {
    let mut out = b"EHRE\x01\x01".to_vec();
    out.push(u8::try_from(key_id.len()).unwrap());
    out.extend_from_slice(key_id);
    out.extend_from_slice(rest_of_header);
    out.extend_from_slice(&ct_len.to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn build_invalid(sealed: &[(Inputs, Envelope)], rng: &mut ChaCha20Rng) -> Vec<Invalid> {
    let find = |name: &str| sealed.iter().find(|(i, _)| i.name == name).unwrap();
    let (short, short_env) = find("short-text");
    let (empty, empty_env) = find("empty-plaintext");
    let (lab, lab_env) = find("record-lab-result");
    let key = &short.key;
    let env = short_env.as_bytes();
    let l = short.binding.key_id.as_str().len();
    let h = FIXED_HEADER + l;
    // Offsets inside the short-text envelope.
    let patient_at = KEY_ID_AT + l;
    let template_at = patient_at + 32;
    let ti_at = template_at + 32;
    let nonce_at = ti_at + 32;
    let commitment_at = nonce_at + 12;
    let ct_len_at = commitment_at + 16;
    let middle = &env[patient_at..ct_len_at]; // pseudonym .. commitment
    let ct_and_tag = &env[h..];
    let ct_len = u32::try_from(ct_and_tag.len()).unwrap();

    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = env.to_vec();
        f(&mut b);
        b
    };
    let flip = |at: usize, mask: u8| with(&|b| b[at] ^= mask);

    let mut out = vec![
        invalid("empty-input", "Zero bytes.", key, &[], "truncated"),
        invalid(
            "shorter-than-prefix",
            "Six bytes: shorter than the 7-byte prefix (magic, version, suite, key id length).",
            key,
            &env[..6],
            "truncated",
        ),
        invalid(
            "header-cut",
            "The header without its last byte.",
            key,
            &env[..h - 1],
            "truncated",
        ),
        invalid(
            "prefix-only",
            "The 7-byte prefix alone.",
            key,
            &env[..7],
            "truncated",
        ),
        invalid(
            "tag-cut",
            "The envelope without the last byte of its tag.",
            key,
            &env[..env.len() - 1],
            "truncated",
        ),
        invalid(
            "header-only",
            "The complete header with no ciphertext or tag.",
            key,
            &env[..h],
            "truncated",
        ),
        invalid(
            "huge-length-field",
            "The ciphertext length field says 0xffffffff; compute header length + ciphertext length without overflow.",
            key,
            &with(&|b| b[ct_len_at..ct_len_at + 4].copy_from_slice(&[0xff; 4])),
            "truncated",
        ),
        invalid(
            "one-trailing-byte",
            "A zero byte appended.",
            key,
            &with(&|b| b.push(0)),
            "trailing_bytes",
        ),
        invalid(
            "two-envelopes-joined",
            "Two complete envelopes back to back.",
            key,
            &[env, empty_env.as_bytes()].concat(),
            "trailing_bytes",
        ),
        invalid(
            "bad-magic",
            "Magic EHRF instead of EHRE.",
            key,
            &flip(3, 0x03),
            "not_an_envelope",
        ),
        invalid(
            "lower-case-magic",
            "Magic ehre: the magic is case-sensitive.",
            key,
            &with(&|b| b[..4].copy_from_slice(b"ehre")),
            "not_an_envelope",
        ),
        invalid(
            "json-text",
            "A record's JSON plaintext is not an envelope.",
            key,
            br#"{"format":"ehrchain.record/1"}"#,
            "not_an_envelope",
        ),
        invalid(
            "version-0",
            "Format version 0.",
            key,
            &with(&|b| b[4] = 0),
            "unsupported_version",
        ),
        invalid(
            "version-2",
            "Format version 2 (a future format).",
            key,
            &with(&|b| b[4] = 2),
            "unsupported_version",
        ),
        invalid(
            "suite-0",
            "Cipher suite 0.",
            key,
            &with(&|b| b[5] = 0),
            "unsupported_suite",
        ),
        invalid(
            "suite-2",
            "Cipher suite 2 (a future suite).",
            key,
            &with(&|b| b[5] = 2),
            "unsupported_suite",
        ),
        invalid(
            "key-id-empty",
            "Key id length 0, everything else consistent.",
            key,
            &raw_envelope(b"", middle, ct_len, ct_and_tag),
            "malformed_key_id",
        ),
        invalid(
            "key-id-with-space",
            "Key id 'records 2026': a space (0x20) is not allowed.",
            key,
            &with(&|b| b[KEY_ID_AT + 7] = b' '),
            "malformed_key_id",
        ),
        invalid(
            "key-id-with-del",
            "Key id with a 0x7f byte.",
            key,
            &with(&|b| b[KEY_ID_AT] = 0x7f),
            "malformed_key_id",
        ),
        invalid(
            "key-id-not-ascii",
            "Key id with the UTF-8 bytes of 'é' (0xc3 0xa9).",
            key,
            &raw_envelope("récords-2026".as_bytes(), middle, ct_len, ct_and_tag),
            "malformed_key_id",
        ),
        invalid(
            "key-id-65-bytes",
            "Key id of 65 printable bytes, one more than allowed, everything else consistent.",
            key,
            &raw_envelope(&[b'k'; 65], middle, ct_len, ct_and_tag),
            "malformed_key_id",
        ),
        invalid(
            "ciphertext-length-15",
            "Ciphertext length 15 with 15 bytes following: shorter than the tag.",
            key,
            &raw_envelope(b"records-2026", middle, 15, &ct_and_tag[..15]),
            "ciphertext_too_short",
        ),
        invalid(
            "ciphertext-length-0",
            "Ciphertext length 0 and nothing after the header.",
            key,
            &raw_envelope(b"records-2026", middle, 0, &[]),
            "ciphertext_too_short",
        ),
        invalid(
            "wrong-master-key",
            "An intact envelope opened with another master key.",
            &random::<32>(rng),
            env,
            "wrong_key",
        ),
        invalid(
            "wrong-key-for-generator-record",
            "The lab-result record opened with the pseudonym master key.",
            &PSEUDONYM_KEY,
            lab_env.as_bytes(),
            "wrong_key",
        ),
        invalid(
            "patient-altered",
            "One bit of the patient pseudonym flipped: it is a key derivation input, so the commitment no longer matches.",
            key,
            &flip(patient_at, 0x01),
            "wrong_key",
        ),
        invalid(
            "template-id-altered",
            "One bit of the template id (the HKDF salt) flipped.",
            key,
            &flip(template_at + 31, 0x80),
            "wrong_key",
        ),
        invalid(
            "ti-id-altered",
            "One bit of the TI id flipped.",
            key,
            &flip(ti_at + 5, 0x10),
            "wrong_key",
        ),
        invalid(
            "commitment-altered",
            "One bit of the key commitment flipped.",
            key,
            &flip(commitment_at + 15, 0x01),
            "wrong_key",
        ),
        invalid(
            "ciphertext-bit-flipped",
            "One bit of the ciphertext flipped.",
            key,
            &flip(h, 0x01),
            "tampered",
        ),
        invalid(
            "tag-bit-flipped",
            "One bit of the tag flipped.",
            key,
            &flip(env.len() - 1, 0x80),
            "tampered",
        ),
        invalid(
            "nonce-altered",
            "One bit of the nonce flipped.",
            key,
            &flip(nonce_at, 0x04),
            "tampered",
        ),
        invalid(
            "key-id-altered",
            "Key id 'records-2027' (still well-formed): not a key derivation input, but part of the associated data.",
            key,
            &with(&|b| b[KEY_ID_AT + 11] = b'7'),
            "tampered",
        ),
        invalid(
            "empty-plaintext-tag-flipped",
            "The empty-plaintext envelope with one bit of its tag flipped.",
            &empty.key,
            &{
                let mut b = empty_env.as_bytes().to_vec();
                let last = b.len() - 1;
                b[last] ^= 0x01;
                b
            },
            "tampered",
        ),
    ];
    // The lab record with a ciphertext byte swapped for its neighbour.
    let mut swapped = lab_env.as_bytes().to_vec();
    let lab_h = FIXED_HEADER + lab.binding.key_id.as_str().len();
    swapped.swap(lab_h + 10, lab_h + 11);
    assert_ne!(swapped, lab_env.as_bytes());
    out.push(invalid(
        "generator-record-bytes-swapped",
        "The lab-result record with two adjacent ciphertext bytes swapped.",
        &lab.key,
        &swapped,
        "tampered",
    ));
    assert_eq!(&env[KEY_ID_AT..KEY_ID_AT + l], b"records-2026");
    out
}
