//! The bindings match what the core encodes and the artifact holds: selectors,
//! role ids and the built-in templates' calls.

use alloy_primitives::{hex, keccak256};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use ehrchain_contracts::{EhrRegistry, abi};
use ehrchain_core::{Role, TemplateRegistry};

#[test]
fn selectors_are_pinned() {
    // The 6-argument anchorRecord the built-in templates call.
    assert_eq!(EhrRegistry::anchorRecordCall::SELECTOR, hex!("614d2017"));
    assert_eq!(
        EhrRegistry::anchorRecordCall::SIGNATURE,
        "anchorRecord(bytes32,bytes32,bytes32,bytes32,uint64,bytes32)"
    );
    assert_eq!(
        EhrRegistry::anchorBatchCall::SELECTOR,
        keccak256("anchorBatch(bytes32,uint32,bytes32)")[..4]
    );
    assert_eq!(EhrRegistry::anchorBatchCall::SELECTOR, hex!("d4a6aa17"));
    assert_eq!(
        EhrRegistry::verifyRecordCall::SIGNATURE,
        "verifyRecord(bytes32,bytes32,bytes32[])"
    );
    assert_eq!(
        EhrRegistry::RecordAnchored::SIGNATURE,
        "RecordAnchored(bytes32,bytes32,bytes32,bytes32,bytes32,address,uint64)"
    );
    assert_eq!(
        EhrRegistry::EhrRegistryTiAlreadyUsed::SIGNATURE,
        "EhrRegistryTiAlreadyUsed(bytes32,bytes32)"
    );
}

#[test]
fn built_in_templates_encode_the_bound_selector() {
    // The core checks every built-in template against the registry's ABI...
    let registry = TemplateRegistry::with_built_ins(Some(abi())).unwrap();
    let mut anchoring = 0;
    for template in registry.iter() {
        // ...and each one calls the anchorRecord the bindings know.
        assert_eq!(
            template.call().selector,
            EhrRegistry::anchorRecordCall::SELECTOR,
            "{}",
            template.name()
        );
        anchoring += 1;
    }
    assert_eq!(anchoring, 6);
}

#[test]
fn role_ids_match_the_core() {
    for name in Role::BUILT_IN {
        let role = Role::new(name).unwrap();
        assert_eq!(
            role.id(),
            keccak256(format!("{}_ROLE", name.to_uppercase()))
        );
    }
    assert_eq!(
        Role::new("handshaker").unwrap().id(),
        keccak256("HANDSHAKER_ROLE")
    );
}

#[test]
fn artifact_is_built_for_shanghai() {
    let artifact: serde_json::Value =
        serde_json::from_str(ehrchain_contracts::ARTIFACT_JSON).unwrap();
    assert_eq!(artifact["compiler"]["settings"]["evmVersion"], "shanghai");
    assert_eq!(
        artifact["compiler"]["settings"]["optimizer"]["enabled"],
        true
    );
    assert_eq!(
        format!("0x{}", hex::encode(&EhrRegistry::BYTECODE)),
        artifact["bytecode"].as_str().unwrap()
    );
}
