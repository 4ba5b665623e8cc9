//! End-to-end tests of the generator half: built-in templates, TIs, TCs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use alloy_dyn_abi::{DynSolType, DynSolValue};
use common::test_keys::test_generator;
use ehrchain_core::authorship::{AuthorshipError, RecordStatement};
use ehrchain_core::generator::GenerateError;
use ehrchain_core::violation::ViolationKind;
use ehrchain_core::{
    Address, B256, ChainTransaction, GeneratorConfig, InMemoryKeyStore, InitialTransaction, KeyId,
    MasterKey, Role, TemplateRegistry, TransactionGenerator, UnixMillis,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::json;

/// The TIs' timestamps are Unix seconds (their data format) ...
const NOW_S: u64 = 1_764_495_000;
/// ... and the generator's clock, like every time in the API, milliseconds.
const NOW: UnixMillis = UnixMillis::from_secs(NOW_S);

fn generator() -> TransactionGenerator<InMemoryKeyStore> {
    test_generator("records-2026", 1337, Address::repeat_byte(0xee))
}

/// A blood-pressure TI of 120/80 written by `role`.
fn bp_120_80(registry: &TemplateRegistry, role: &str) -> InitialTransaction {
    bp_ti(registry, role, json!({"systolic": 120, "diastolic": 80}))
}

fn bp_ti(registry: &TemplateRegistry, role: &str, fields: serde_json::Value) -> InitialTransaction {
    InitialTransaction {
        ti_id: B256::repeat_byte(0x01),
        template_id: registry.latest("blood-pressure").unwrap().id(),
        author_id: "dr-4711".into(),
        author_role: Role::new(role).unwrap(),
        patient_id: Some("MRN-000123".into()),
        timestamp: NOW_S - 60,
        fields: serde_json::from_value(fields).unwrap(),
    }
}

#[test]
fn blood_pressure_becomes_anchor_record_call() {
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    let tg = generator();
    let ti = bp_ti(
        &registry,
        "nurse",
        json!({"systolic": 120, "diastolic": 80, "position": "sitting"}),
    );
    let tc = tg
        .generate(&registry, &ti, NOW, &mut ChaCha20Rng::seed_from_u64(7))
        .unwrap();

    assert_eq!(tc.to, Address::repeat_byte(0xee));
    assert_eq!(tc.chain_id, 1337);
    assert_eq!(tc.record_hash, tc.envelope.record_hash());
    assert_eq!(tc.patient, tg.pseudonym("MRN-000123"));
    let selector =
        alloy_primitives::keccak256("anchorRecord(bytes32,bytes32,bytes32,bytes32,uint64,bytes32)");
    assert_eq!(tc.calldata[..4], selector[..4]);
    let ty: DynSolType = "(bytes32,bytes32,bytes32,bytes32,uint64,bytes32)"
        .parse()
        .unwrap();
    let decoded = ty.abi_decode_params(&tc.calldata[4..]).unwrap();
    let expected = DynSolValue::Tuple(vec![
        DynSolValue::FixedBytes(tc.patient, 32),
        DynSolValue::FixedBytes(ti.template_id, 32),
        DynSolValue::FixedBytes(ti.ti_id, 32),
        DynSolValue::FixedBytes(tc.record_hash, 32),
        DynSolValue::Uint(alloy_primitives::U256::from(ti.timestamp), 64),
        DynSolValue::FixedBytes(Role::new("nurse").unwrap().id(), 32),
    ]);
    assert_eq!(decoded, expected);

    let plaintext = tc.envelope.open(tg.key_store()).unwrap();
    let record: serde_json::Value = serde_json::from_slice(&plaintext).unwrap();
    assert_eq!(
        record["fields"],
        json!({"systolic": 120, "diastolic": 80, "position": "sitting"})
    );
    assert_eq!(record["patientId"], "MRN-000123");
    assert!(tc.cid().starts_with("bafkrei"));
}

/// The statement an author signs names exactly what the anchor call carries.
#[test]
fn the_signed_statement_of_a_tc_names_its_anchored_facts() {
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    let tg = generator();
    let ti = bp_120_80(&registry, "nurse");
    let tc = tg
        .generate(&registry, &ti, NOW, &mut ChaCha20Rng::seed_from_u64(7))
        .unwrap();
    let author = Address::repeat_byte(0xa1);
    let statement = RecordStatement::of_transaction(&tc, author).unwrap();
    let expected = RecordStatement {
        tiId: ti.ti_id,
        templateId: ti.template_id,
        recordHash: tc.envelope.record_hash(),
        subject: tg.pseudonym("MRN-000123"),
        role: Role::new("nurse").unwrap().id(),
        author,
        timestamp: NOW_S - 60,
    };
    assert_eq!(statement, expected);

    let other_ti = ChainTransaction {
        ti_id: B256::repeat_byte(0x02),
        ..tc.clone()
    };
    assert_eq!(
        RecordStatement::of_transaction(&other_ti, author),
        Err(AuthorshipError::StatementMismatch { field: "tiId" })
    );
    let other_hash = ChainTransaction {
        record_hash: B256::repeat_byte(0x03),
        ..tc.clone()
    };
    let error = RecordStatement::of_transaction(&other_hash, author).unwrap_err();
    assert_eq!(
        error,
        AuthorshipError::StatementMismatch {
            field: "recordHash"
        }
    );
    assert_eq!(error.code().name(), "EHR_STATEMENT_MISMATCH");
    let batch = ChainTransaction {
        calldata: tc.calldata.slice(..40),
        ..tc
    };
    assert_eq!(
        RecordStatement::of_transaction(&batch, author),
        Err(AuthorshipError::NotAnchorRecord)
    );
}

#[test]
fn same_inputs_same_transaction() {
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    let tg = generator();
    let ti = bp_120_80(&registry, "doctor");
    let generate = |seed| {
        tg.generate(&registry, &ti, NOW, &mut ChaCha20Rng::seed_from_u64(seed))
            .unwrap()
    };
    assert_eq!(generate(1), generate(1));
    assert_ne!(generate(1).record_hash, generate(2).record_hash);
}

/// What a host with its own AES-256-GCM and SHA-256 does with a prepared TC
/// (the npm package does it with WebCrypto).
fn seal_elsewhere(prepared: &ehrchain_core::envelope::UnsealedEnvelope) -> (Vec<u8>, B256) {
    use aes_gcm::aead::AeadInOut;
    use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
    use sha2::{Digest, Sha256};
    let cipher = Aes256Gcm::new(prepared.record_key().into());
    let mut sealed = prepared.plaintext().to_vec();
    let tag = cipher
        .encrypt_inout_detached(
            &Nonce::from(prepared.nonce()),
            prepared.header(),
            sealed.as_mut_slice().into(),
        )
        .unwrap();
    sealed.extend_from_slice(&tag);
    let hash = Sha256::new()
        .chain_update(prepared.header())
        .chain_update(&sealed)
        .finalize();
    (sealed, B256::from(<[u8; 32]>::from(hash)))
}

#[test]
fn prepared_transactions_sealed_elsewhere_are_the_generated_ones() {
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    let tg = generator();
    let note = "x".repeat(2000);
    let ti = bp_ti(
        &registry,
        "doctor",
        json!({"systolic": 120, "diastolic": 80, "note": note}),
    );
    let generated = tg
        .generate(&registry, &ti, NOW, &mut ChaCha20Rng::seed_from_u64(9))
        .unwrap();
    let prepared = tg
        .prepare(&registry, &ti, NOW, &mut ChaCha20Rng::seed_from_u64(9))
        .unwrap();
    let header = prepared.envelope().header();
    assert_eq!(header, &generated.envelope.as_bytes()[..header.len()]);
    let (sealed, hash) = seal_elsewhere(prepared.envelope());
    let tc = prepared.into_sealed(&sealed).unwrap();
    assert_eq!(
        tc.record_hash, hash,
        "the record hash is the envelope's own"
    );
    assert_eq!(tc, generated);

    let prepared = tg
        .prepare(&registry, &ti, NOW, &mut ChaCha20Rng::seed_from_u64(9))
        .unwrap();
    assert_eq!(prepared.seal().unwrap(), generated);
}

#[test]
fn a_sealed_record_of_the_wrong_length_is_refused() {
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    let tg = generator();
    let ti = bp_120_80(&registry, "doctor");
    let prepare = || {
        tg.prepare(&registry, &ti, NOW, &mut ChaCha20Rng::seed_from_u64(3))
            .unwrap()
    };
    let (sealed, _) = seal_elsewhere(prepare().envelope());
    for len in [0, sealed.len() - 16, sealed.len() - 1, sealed.len() + 1] {
        let mut wrong = sealed.clone();
        wrong.resize(len, 0);
        let err = prepare().into_sealed(&wrong).unwrap_err();
        assert_eq!(
            err,
            GenerateError::Seal(ehrchain_core::envelope::EnvelopeError::SealedLength {
                expected: sealed.len(),
                got: len
            })
        );
    }
}

#[test]
fn every_violation_is_reported() {
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    let mut ti = bp_ti(
        &registry,
        "pathologist",
        json!({"systolic": 400, "diastolic": "eighty", "position": "upside-down", "note": "x".repeat(2001), "pulse": 70}),
    );
    ti.timestamp = NOW_S + 3600;
    let Err(GenerateError::Rejected(v)) =
        generator().generate(&registry, &ti, NOW, &mut ChaCha20Rng::seed_from_u64(1))
    else {
        panic!("bad TI accepted");
    };
    let kinds: Vec<_> = v.0.iter().map(|x| (x.field.as_deref(), &x.kind)).collect();
    assert!(
        matches!(
            kinds[..],
            [
                (None, ViolationKind::RoleNotAllowed { .. }),
                (
                    None,
                    ViolationKind::TimestampInFuture {
                        ahead_ms: 3_600_000,
                        tolerance_ms: 300_000,
                        ..
                    }
                ),
                (Some("pulse"), ViolationKind::UnknownField),
                (Some("systolic"), ViolationKind::OutOfRange { .. }),
                (Some("diastolic"), ViolationKind::WrongType { .. }),
                (Some("position"), ViolationKind::UnknownEnumValue { .. }),
                (
                    Some("note"),
                    ViolationKind::TooLong {
                        length: 2001,
                        max: 2000
                    }
                ),
            ]
        ),
        "{kinds:#?}"
    );
}

/// The skew check compares the TI's timestamp (seconds) with `now`
/// (milliseconds) in one unit: with a tolerance of 300 s, a TI 299 s ahead
/// passes and one 301 s ahead is refused, whatever the milliseconds of `now`.
#[test]
fn clock_skew_compares_timestamp_seconds_with_now_in_milliseconds() {
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    let mut ti = bp_120_80(&registry, "nurse");
    let generate = |ti: &InitialTransaction, now: UnixMillis| {
        generator().generate(&registry, ti, now, &mut ChaCha20Rng::seed_from_u64(1))
    };
    ti.timestamp = NOW_S + 299;
    assert!(generate(&ti, NOW).is_ok());
    ti.timestamp = NOW_S + 300; // exactly the tolerance
    assert!(generate(&ti, NOW).is_ok());
    // 300.5 s ahead of a clock half a second short of NOW_S.
    assert!(generate(&ti, UnixMillis(NOW.as_millis() - 500)).is_err());
    ti.timestamp = NOW_S + 301;
    assert!(generate(&ti, NOW.saturating_add_ms(999)).is_err()); // 300.001 s ahead
    assert!(generate(&ti, NOW.saturating_add_ms(1_000)).is_ok()); // 300 s ahead
    let Err(GenerateError::Rejected(v)) = generate(&ti, NOW) else {
        panic!("a TI 301 s ahead was accepted");
    };
    assert_eq!(
        v.0.iter().map(|x| &x.kind).collect::<Vec<_>>(),
        [&ViolationKind::TimestampInFuture {
            timestamp: NOW_S + 301,
            ahead_ms: 301_000,
            tolerance_ms: 300_000,
        }]
    );
    assert!(
        v.to_string()
            .contains("is 301000 ms ahead of the clock (tolerance 300000 ms)"),
        "{v}"
    );
}

fn generate_err(registry: &TemplateRegistry, ti: &InitialTransaction) -> Vec<ViolationKind> {
    match generator().generate(registry, ti, NOW, &mut ChaCha20Rng::seed_from_u64(1)) {
        Err(GenerateError::Rejected(v)) => v.0.into_iter().map(|v| v.kind).collect(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn unknown_and_inactive_templates_are_rejected() {
    let mut registry = TemplateRegistry::with_built_ins(None).unwrap();
    let mut ti = bp_120_80(&registry, "nurse");
    let real = ti.template_id;
    ti.template_id = B256::repeat_byte(0x99);
    assert_eq!(
        generate_err(&registry, &ti),
        [ViolationKind::UnknownTemplate {
            template_id: ti.template_id
        }]
    );
    ti.template_id = real;
    registry.deactivate(&real).unwrap();
    assert!(matches!(
        generate_err(&registry, &ti)[..],
        [ViolationKind::TemplateInactive { version: 1, .. }]
    ));
}

#[test]
fn patient_rules_follow_the_template_subject() {
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    let mut ti = bp_120_80(&registry, "nurse");
    ti.patient_id = None;
    assert_eq!(
        generate_err(&registry, &ti),
        [ViolationKind::MissingPatient]
    );
    ti.patient_id = Some(String::new());
    ti.author_id = "a".repeat(129);
    assert_eq!(
        generate_err(&registry, &ti),
        [
            ViolationKind::BadIdentifier { what: "authorId" },
            ViolationKind::BadIdentifier { what: "patientId" }
        ]
    );

    let mut custody = custody_ti(&registry);
    custody.patient_id = Some("MRN-1".into());
    assert_eq!(
        generate_err(&registry, &custody),
        [ViolationKind::UnexpectedPatient]
    );
}

fn custody_ti(registry: &TemplateRegistry) -> InitialTransaction {
    InitialTransaction {
        ti_id: B256::repeat_byte(0x05),
        template_id: registry.latest("drug-shipment-custody").unwrap().id(),
        author_id: "wholesale-7".into(),
        author_role: Role::new("distributor").unwrap(),
        patient_id: None,
        timestamp: NOW_S,
        fields: serde_json::from_value(json!({
            "lot": "B2026-117", "gtin": "04012345678901", "event": "shipped", "quantity": 240
        }))
        .unwrap(),
    }
}

#[test]
fn chain_field_is_encoded_left_aligned() {
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    let ti = custody_ti(&registry);
    let tc = generator()
        .generate(&registry, &ti, NOW, &mut ChaCha20Rng::seed_from_u64(3))
        .unwrap();
    assert_eq!(tc.patient, B256::ZERO);
    let mut lot = [0u8; 32];
    lot[..9].copy_from_slice(b"B2026-117");
    assert_eq!(tc.calldata[4..36], lot);
    assert_eq!(tc.envelope.binding().patient, B256::ZERO);
}

#[test]
fn custom_template_encodes_every_chain_type() {
    let template = r#"{
      "format": "ehrchain.template/1", "name": "typed-call", "version": 1, "title": "Typed call",
      "roles": ["device"], "subject": "none",
      "call": {"function": "record(int16 delta, uint32 reading, uint8 level, uint64 at, bool flag, string code, address who, bytes32 tag, bytes32 role, bytes32 hash)",
               "arguments": ["delta", "reading", "level", "at", "flag", "code", "who", "tag", "role", "hash"]},
      "fields": [
        {"name": "delta", "placement": "chain", "type": "integer", "min": -100, "max": 100, "required": true},
        {"name": "reading", "placement": "chain", "type": "decimal", "scale": 2, "min": "0", "max": "1000", "required": true},
        {"name": "level", "placement": "chain", "type": "enum", "values": ["low", "mid", "high"], "required": true},
        {"name": "at", "placement": "chain", "type": "date-time", "required": true},
        {"name": "flag", "placement": "chain", "type": "bool", "required": true},
        {"name": "code", "placement": "chain", "type": "code", "maxLength": 64, "required": true},
        {"name": "who", "placement": "chain", "type": "address", "required": true},
        {"name": "tag", "placement": "chain", "type": "bytes32", "required": true},
        {"name": "role", "placement": "system", "source": "author_role"},
        {"name": "hash", "placement": "system", "source": "record_hash"}
      ]}"#;
    let mut registry = TemplateRegistry::new();
    let id = registry.add_json(template).unwrap();
    let ti = InitialTransaction {
        ti_id: B256::repeat_byte(0x07),
        template_id: id,
        author_id: "pump-1".into(),
        author_role: Role::new("device").unwrap(),
        patient_id: None,
        timestamp: NOW_S,
        fields: serde_json::from_value(json!({
            "delta": -7, "reading": 12.5, "level": "high", "at": "2026-11-30T09:00:00+01:00",
            "flag": true, "code": "LA6576-8", "who": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "tag": format!("{}", B256::repeat_byte(0xab))
        }))
        .unwrap(),
    };
    let tc = generator()
        .generate(&registry, &ti, NOW, &mut ChaCha20Rng::seed_from_u64(4))
        .unwrap();
    let ty: DynSolType = "(int16,uint32,uint8,uint64,bool,string,address,bytes32,bytes32,bytes32)"
        .parse()
        .unwrap();
    let DynSolValue::Tuple(args) = ty.abi_decode_params(&tc.calldata[4..]).unwrap() else {
        panic!("not a tuple")
    };
    use alloy_primitives::{I256, U256};
    assert_eq!(args[0], DynSolValue::Int(I256::try_from(-7).unwrap(), 16));
    assert_eq!(args[1], DynSolValue::Uint(U256::from(1250), 32));
    assert_eq!(args[2], DynSolValue::Uint(U256::from(2), 8));
    assert_eq!(args[3], DynSolValue::Uint(U256::from(1_796_025_600u64), 64));
    assert_eq!(args[4], DynSolValue::Bool(true));
    assert_eq!(args[5], DynSolValue::String("LA6576-8".into()));
    assert_eq!(
        args[6],
        DynSolValue::Address(
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
                .parse()
                .unwrap()
        )
    );
    assert_eq!(
        args[7],
        DynSolValue::FixedBytes(B256::repeat_byte(0xab), 32)
    );
    assert_eq!(
        args[8],
        DynSolValue::FixedBytes(Role::new("device").unwrap().id(), 32)
    );
    assert_eq!(args[9], DynSolValue::FixedBytes(tc.record_hash, 32));

    let record: serde_json::Value =
        serde_json::from_slice(&tc.envelope.open(generator().key_store()).unwrap()).unwrap();
    assert_eq!(record["fields"]["reading"], "12.50");
    assert_eq!(record["fields"]["at"], "2026-11-30T08:00:00Z");
    assert_eq!(record["fields"]["level"], "high");
}

#[test]
fn missing_keys_are_reported_when_the_generator_is_made() {
    let config = GeneratorConfig {
        chain_id: 1,
        registry: Address::ZERO,
        sealing_key: KeyId::new("absent").unwrap(),
        pseudonym_key: KeyId::new("pseudonyms").unwrap(),
        max_clock_skew_ms: 0,
    };
    let missing = TransactionGenerator::new(config.clone(), InMemoryKeyStore::new());
    assert!(matches!(missing, Err(GenerateError::KeyStore(_))));
    // Only the pseudonym key: the sealing key is checked too, at once,
    // rather than failing every TI later.
    let mut keys = InMemoryKeyStore::new();
    keys.insert(KeyId::new("pseudonyms").unwrap(), MasterKey::new([1; 32]));
    let err = TransactionGenerator::new(config, keys).unwrap_err();
    assert!(matches!(
        err,
        GenerateError::KeyStore(ehrchain_core::keys::KeyStoreError::UnknownKey(_))
    ));
    assert!(err.to_string().contains("\"absent\""), "{err}");
    assert_eq!(err.code(), ehrchain_core::ErrorCode::KeyUnknown);
}

#[test]
fn there_is_no_default_chain() {
    let key = |id: &str| KeyId::new(id).unwrap();
    let err =
        GeneratorConfig::new(0, Address::ZERO, key("records"), key("pseudonyms")).unwrap_err();
    assert_eq!(err, GenerateError::NoChainId);
    assert_eq!(err.code(), ehrchain_core::ErrorCode::InvalidArgument);
    assert!(err.to_string().contains("no default chain"), "{err}");
    let config = GeneratorConfig::new(1, Address::ZERO, key("records"), key("pseudonyms")).unwrap();
    assert_eq!((config.chain_id, config.max_clock_skew_ms), (1, 300_000));
    // A configuration written out in full is held to the same rule.
    let mut keys = InMemoryKeyStore::new();
    keys.insert(key("records"), MasterKey::new([1; 32]));
    keys.insert(key("pseudonyms"), MasterKey::new([2; 32]));
    let zero = GeneratorConfig {
        chain_id: 0,
        ..config
    };
    let err = TransactionGenerator::new(zero, keys).unwrap_err();
    assert_eq!(err, GenerateError::NoChainId);
}
