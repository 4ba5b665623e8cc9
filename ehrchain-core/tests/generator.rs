//! End-to-end tests of the generator half: built-in templates, TIs, TCs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use alloy_dyn_abi::{DynSolType, DynSolValue};
use ehrchain_core::{
    Address, B256, GenerateError, GeneratorConfig, InMemoryKeyStore, InitialTransaction, KeyId,
    MasterKey, Role, TemplateRegistry, TransactionGenerator, ViolationKind,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::json;

const NOW: u64 = 1_764_495_000;

fn generator() -> TransactionGenerator<InMemoryKeyStore> {
    let mut keys = InMemoryKeyStore::new();
    keys.insert(
        KeyId::new("records-2026").unwrap(),
        MasterKey::new([0x11; 32]),
    );
    keys.insert(
        KeyId::new("pseudonyms").unwrap(),
        MasterKey::new([0x22; 32]),
    );
    let config = GeneratorConfig {
        chain_id: 1337,
        registry: Address::repeat_byte(0xee),
        sealing_key: KeyId::new("records-2026").unwrap(),
        pseudonym_key: KeyId::new("pseudonyms").unwrap(),
        max_clock_skew: 300,
    };
    TransactionGenerator::new(config, keys).unwrap()
}

fn bp_ti(registry: &TemplateRegistry, role: &str, fields: serde_json::Value) -> InitialTransaction {
    InitialTransaction {
        ti_id: B256::repeat_byte(0x01),
        template_id: registry.latest("blood-pressure").unwrap().id(),
        author_id: "dr-4711".into(),
        author_role: Role::new(role).unwrap(),
        patient_id: Some("MRN-000123".into()),
        timestamp: NOW - 60,
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
        alloy_primitives::keccak256("anchorRecord(bytes32,bytes32,bytes32,bytes32,uint64)");
    assert_eq!(tc.calldata[..4], selector[..4]);
    let ty: DynSolType = "(bytes32,bytes32,bytes32,bytes32,uint64)".parse().unwrap();
    let decoded = ty.abi_decode_params(&tc.calldata[4..]).unwrap();
    let expected = DynSolValue::Tuple(vec![
        DynSolValue::FixedBytes(tc.patient, 32),
        DynSolValue::FixedBytes(ti.template_id, 32),
        DynSolValue::FixedBytes(ti.ti_id, 32),
        DynSolValue::FixedBytes(tc.record_hash, 32),
        DynSolValue::Uint(alloy_primitives::U256::from(ti.timestamp), 64),
    ]);
    assert_eq!(decoded, expected);

    let plaintext = tc.envelope.open(tg.key_store()).unwrap();
    let record: serde_json::Value = serde_json::from_slice(&plaintext).unwrap();
    assert_eq!(
        record["fields"],
        json!({"systolic": 120, "diastolic": 80, "position": "sitting"})
    );
    assert_eq!(record["patient_id"], "MRN-000123");
    assert!(tc.cid().starts_with("bafkrei"));
}

#[test]
fn same_inputs_same_transaction() {
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    let tg = generator();
    let ti = bp_ti(
        &registry,
        "doctor",
        json!({"systolic": 120, "diastolic": 80}),
    );
    let a = tg
        .generate(&registry, &ti, NOW, &mut ChaCha20Rng::seed_from_u64(1))
        .unwrap();
    let b = tg
        .generate(&registry, &ti, NOW, &mut ChaCha20Rng::seed_from_u64(1))
        .unwrap();
    let c = tg
        .generate(&registry, &ti, NOW, &mut ChaCha20Rng::seed_from_u64(2))
        .unwrap();
    assert_eq!(a, b);
    assert_ne!(a.record_hash, c.record_hash);
}

#[test]
fn every_violation_is_reported() {
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    let mut ti = bp_ti(
        &registry,
        "pathologist",
        json!({"systolic": 400, "diastolic": "eighty", "position": "upside-down", "note": "x".repeat(2001), "pulse": 70}),
    );
    ti.timestamp = NOW + 3600;
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
                        ahead: 3600,
                        tolerance: 300,
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
