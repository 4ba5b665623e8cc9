//! Every rule of `EhrRegistry` on the devnet: each revert path with its decoded
//! custom error and values, and each event decoded with the bindings.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use alloy_primitives::{Address, B256};
use alloy_sol_types::SolCall;
use common::{
    anchor, devnet_with_built_ins, h, layers, proof, registry_error, role, root, template,
};
use ehrchain_contracts::EhrRegistry::{self, EhrRegistryErrors as E};
use ehrchain_contracts::{Devnet, DevnetError, Failure, Receipt};

fn error(receipt: &Receipt) -> &E {
    let error = registry_error(receipt);
    assert!(
        receipt.logs.is_empty(),
        "a reverted transaction has no logs"
    );
    error
}

fn unauthorized(account: Address, needed_role: B256) -> E {
    E::AccessControlUnauthorizedAccount(EhrRegistry::AccessControlUnauthorizedAccount {
        account,
        neededRole: needed_role,
    })
}

fn blood_pressure(devnet_templates: &ehrchain_core::TemplateRegistry) -> B256 {
    template(devnet_templates, "blood-pressure").id()
}

#[test]
fn deployment_grants_admin_roles_and_named_roles() {
    let mut net = Devnet::new().unwrap();
    let admin_role = net.view(&EhrRegistry::ADMIN_ROLECall {}).unwrap();
    let handshaker_role = net.view(&EhrRegistry::HANDSHAKER_ROLECall {}).unwrap();
    assert_eq!(admin_role, role("admin"));
    assert_eq!(handshaker_role, role("handshaker"));
    for (r, account) in [
        (B256::ZERO, Devnet::admin()),
        (admin_role, Devnet::admin()),
        (handshaker_role, Devnet::handshaker()),
        (role("doctor"), Devnet::doctor()),
        (role("nurse"), Devnet::nurse()),
        (role("pathologist"), Devnet::pathologist()),
        (role("device"), Devnet::device()),
    ] {
        assert!(
            net.view(&EhrRegistry::hasRoleCall { role: r, account })
                .unwrap()
        );
    }
    assert!(
        !net.view(&EhrRegistry::hasRoleCall {
            role: role("doctor"),
            account: Devnet::nurse()
        })
        .unwrap()
    );
}

#[test]
fn granting_a_role_emits_role_granted_and_needs_the_default_admin() {
    let mut net = Devnet::new().unwrap();
    let pharmacist = Devnet::account("pharmacist");
    let receipt = net.grant_role("pharmacist", pharmacist).unwrap();
    let granted = receipt.events::<EhrRegistry::RoleGranted>();
    assert_eq!(
        granted,
        [EhrRegistry::RoleGranted {
            role: role("pharmacist"),
            account: pharmacist,
            sender: Devnet::admin()
        }]
    );
    // Only the default admin grants roles.
    let call = EhrRegistry::grantRoleCall {
        role: role("doctor"),
        account: Devnet::nurse(),
    };
    let receipt = net.send(Devnet::doctor(), &call).unwrap();
    assert_eq!(error(&receipt), &unauthorized(Devnet::doctor(), B256::ZERO));
    assert!(matches!(
        net.grant_role("Not A Role", pharmacist),
        Err(DevnetError::Role(_))
    ));
}

#[test]
fn register_template_emits_and_records_allowed_roles() {
    let mut net = Devnet::new().unwrap();
    let templates = common::built_ins();
    let bp = template(&templates, "blood-pressure");
    assert_eq!(
        net.view(&EhrRegistry::templateOfCall {
            templateId: bp.id()
        })
        .unwrap(),
        EhrRegistry::templateOfReturn {
            registered: false,
            active: false
        }
    );
    let receipt = net.register_template(&bp).unwrap();
    assert_eq!(
        receipt.events::<EhrRegistry::TemplateRegistered>(),
        [EhrRegistry::TemplateRegistered {
            templateId: bp.id(),
            roles: vec![role("doctor"), role("nurse")],
        }]
    );
    let state = net
        .view(&EhrRegistry::templateOfCall {
            templateId: bp.id(),
        })
        .unwrap();
    assert!(state.registered && state.active);
    for (r, allowed) in [("doctor", true), ("nurse", true), ("pathologist", false)] {
        let call = EhrRegistry::isRoleAllowedCall {
            templateId: bp.id(),
            role: role(r),
        };
        assert_eq!(net.view(&call).unwrap(), allowed, "{r}");
    }
}

#[test]
fn register_template_reverts() {
    let mut net = Devnet::new().unwrap();
    let id = h(1);
    let register = |id, roles: Vec<B256>| EhrRegistry::registerTemplateCall {
        templateId: id,
        roles,
    };
    // Not an admin.
    let receipt = net
        .send(Devnet::doctor(), &register(id, vec![role("doctor")]))
        .unwrap();
    assert_eq!(
        error(&receipt),
        &unauthorized(Devnet::doctor(), role("admin"))
    );
    // No roles.
    let receipt = net.send(Devnet::admin(), &register(id, vec![])).unwrap();
    assert_eq!(
        error(&receipt),
        &E::EhrRegistryNoRoles(EhrRegistry::EhrRegistryNoRoles { templateId: id })
    );
    // Zero id.
    let receipt = net
        .send(Devnet::admin(), &register(B256::ZERO, vec![role("doctor")]))
        .unwrap();
    assert_eq!(
        error(&receipt),
        &E::EhrRegistryZeroHash(EhrRegistry::EhrRegistryZeroHash {})
    );
    // Twice.
    let receipt = net
        .send(Devnet::admin(), &register(id, vec![role("doctor")]))
        .unwrap();
    assert!(receipt.status());
    let receipt = net
        .send(Devnet::admin(), &register(id, vec![role("nurse")]))
        .unwrap();
    assert_eq!(
        error(&receipt),
        &E::EhrRegistryTemplateExists(EhrRegistry::EhrRegistryTemplateExists { templateId: id })
    );
    // The first registration stands.
    let call = EhrRegistry::isRoleAllowedCall {
        templateId: id,
        role: role("nurse"),
    };
    assert!(!net.view(&call).unwrap());
}

#[test]
fn deactivate_and_activate_emit_only_on_change() {
    let (mut net, templates) = devnet_with_built_ins();
    let id = blood_pressure(&templates);
    let deactivate = EhrRegistry::deactivateTemplateCall { templateId: id };
    let activate = EhrRegistry::activateTemplateCall { templateId: id };

    // Activating an active template: success, no event.
    let receipt = net.send(Devnet::admin(), &activate).unwrap();
    assert!(receipt.status() && receipt.logs.is_empty());

    let receipt = net.send(Devnet::admin(), &deactivate).unwrap();
    assert_eq!(
        receipt.events::<EhrRegistry::TemplateDeactivated>(),
        [EhrRegistry::TemplateDeactivated { templateId: id }]
    );
    let state = net
        .view(&EhrRegistry::templateOfCall { templateId: id })
        .unwrap();
    assert!(state.registered && !state.active);
    let receipt = net.send(Devnet::admin(), &deactivate).unwrap();
    assert!(receipt.status() && receipt.logs.is_empty());

    // No record may follow an inactive template.
    let call = anchor(h(1), id, h(2), h(3), role("doctor"));
    let receipt = net.send(Devnet::doctor(), &call).unwrap();
    assert_eq!(
        error(&receipt),
        &E::EhrRegistryTemplateInactive(EhrRegistry::EhrRegistryTemplateInactive {
            templateId: id
        })
    );

    let receipt = net.send(Devnet::admin(), &activate).unwrap();
    assert_eq!(
        receipt.events::<EhrRegistry::TemplateActivated>(),
        [EhrRegistry::TemplateActivated { templateId: id }]
    );
    assert!(net.send(Devnet::doctor(), &call).unwrap().status());
}

#[test]
fn activation_reverts() {
    let (mut net, templates) = devnet_with_built_ins();
    let unknown = h(99);
    for call in [
        EhrRegistry::activateTemplateCall {
            templateId: unknown,
        }
        .abi_encode(),
        EhrRegistry::deactivateTemplateCall {
            templateId: unknown,
        }
        .abi_encode(),
    ] {
        let receipt = net
            .execute(Devnet::admin(), net.registry(), call.into())
            .unwrap();
        assert_eq!(
            error(&receipt),
            &E::EhrRegistryUnknownTemplate(EhrRegistry::EhrRegistryUnknownTemplate {
                templateId: unknown
            })
        );
    }
    let id = blood_pressure(&templates);
    let receipt = net
        .send(
            Devnet::doctor(),
            &EhrRegistry::deactivateTemplateCall { templateId: id },
        )
        .unwrap();
    assert_eq!(
        error(&receipt),
        &unauthorized(Devnet::doctor(), role("admin"))
    );
}

#[test]
fn anchor_record_stores_the_hash_and_emits_the_rest() {
    let (mut net, templates) = devnet_with_built_ins();
    let id = blood_pressure(&templates);
    let (subject, ti, hash) = (h(1), h(2), h(3));
    assert_eq!(
        net.view(&EhrRegistry::recordHashOfCall { tiId: ti })
            .unwrap(),
        B256::ZERO
    );
    let receipt = net
        .send(
            Devnet::nurse(),
            &anchor(subject, id, ti, hash, role("nurse")),
        )
        .unwrap();
    assert!(receipt.status(), "{:?}", receipt.failure);
    assert_eq!(receipt.logs.len(), 1);
    assert_eq!(receipt.logs[0].address, net.registry());
    assert_eq!(
        receipt.events::<EhrRegistry::RecordAnchored>(),
        [EhrRegistry::RecordAnchored {
            tiId: ti,
            templateId: id,
            subject,
            recordHash: hash,
            role: role("nurse"),
            author: Devnet::nurse(),
            timestamp: 1_767_225_000,
        }]
    );
    assert_eq!(
        net.view(&EhrRegistry::recordHashOfCall { tiId: ti })
            .unwrap(),
        hash
    );
}

#[test]
fn anchor_record_reverts_with_the_offending_values() {
    let (mut net, templates) = devnet_with_built_ins();
    let id = blood_pressure(&templates);
    let doctor = role("doctor");

    // Zero record hash.
    let receipt = net
        .send(
            Devnet::doctor(),
            &anchor(h(1), id, h(2), B256::ZERO, doctor),
        )
        .unwrap();
    assert_eq!(
        error(&receipt),
        &E::EhrRegistryZeroHash(EhrRegistry::EhrRegistryZeroHash {})
    );

    // Unknown template.
    let receipt = net
        .send(Devnet::doctor(), &anchor(h(1), h(77), h(2), h(3), doctor))
        .unwrap();
    assert_eq!(
        error(&receipt),
        &E::EhrRegistryUnknownTemplate(EhrRegistry::EhrRegistryUnknownTemplate {
            templateId: h(77)
        })
    );

    // A role the template does not allow, even held by the caller.
    let pathologist = role("pathologist");
    let receipt = net
        .send(
            Devnet::pathologist(),
            &anchor(h(1), id, h(2), h(3), pathologist),
        )
        .unwrap();
    assert_eq!(
        error(&receipt),
        &E::EhrRegistryRoleNotAllowed(EhrRegistry::EhrRegistryRoleNotAllowed {
            templateId: id,
            role: pathologist
        })
    );

    // An allowed role the caller does not hold (a nurse claiming to be a doctor).
    let receipt = net
        .send(Devnet::nurse(), &anchor(h(1), id, h(2), h(3), doctor))
        .unwrap();
    assert_eq!(error(&receipt), &unauthorized(Devnet::nurse(), doctor));

    // Nothing was stored by the reverted calls.
    assert_eq!(
        net.view(&EhrRegistry::recordHashOfCall { tiId: h(2) })
            .unwrap(),
        B256::ZERO
    );

    // A used TI id: the error carries the hash stored the first time.
    let first = net
        .send(Devnet::doctor(), &anchor(h(1), id, h(2), h(3), doctor))
        .unwrap();
    assert!(first.status());
    for (sender, r, hash) in [
        (Devnet::doctor(), doctor, h(3)),
        (Devnet::doctor(), doctor, h(4)),
        (Devnet::nurse(), role("nurse"), h(5)),
    ] {
        let receipt = net.send(sender, &anchor(h(9), id, h(2), hash, r)).unwrap();
        assert_eq!(
            error(&receipt),
            &E::EhrRegistryTiAlreadyUsed(EhrRegistry::EhrRegistryTiAlreadyUsed {
                tiId: h(2),
                storedRecordHash: h(3)
            })
        );
    }
    assert_eq!(
        net.view(&EhrRegistry::recordHashOfCall { tiId: h(2) })
            .unwrap(),
        h(3)
    );
}

#[test]
fn revoked_role_can_no_longer_anchor() {
    let (mut net, templates) = devnet_with_built_ins();
    let id = blood_pressure(&templates);
    let doctor = role("doctor");
    let revoke = EhrRegistry::revokeRoleCall {
        role: doctor,
        account: Devnet::doctor(),
    };
    let receipt = net.send(Devnet::admin(), &revoke).unwrap();
    assert_eq!(
        receipt.events::<EhrRegistry::RoleRevoked>(),
        [EhrRegistry::RoleRevoked {
            role: doctor,
            account: Devnet::doctor(),
            sender: Devnet::admin()
        }]
    );
    let receipt = net
        .send(Devnet::doctor(), &anchor(h(1), id, h(2), h(3), doctor))
        .unwrap();
    assert_eq!(error(&receipt), &unauthorized(Devnet::doctor(), doctor));
}

#[test]
fn anchor_batch_stores_one_slot_and_emits_the_batch_id() {
    let mut net = Devnet::new().unwrap();
    net.set_time(1_800_000_000).unwrap();
    let call = EhrRegistry::anchorBatchCall {
        root: h(1),
        leafCount: 3,
        batchId: h(2),
    };
    let receipt = net.send(Devnet::handshaker(), &call).unwrap();
    assert!(receipt.status(), "{:?}", receipt.failure);
    assert_eq!(
        receipt.events::<EhrRegistry::BatchAnchored>(),
        [EhrRegistry::BatchAnchored {
            root: h(1),
            batchId: h(2),
            leafCount: 3
        }]
    );
    assert_eq!(
        net.view(&EhrRegistry::batchOfCall { root: h(1) }).unwrap(),
        EhrRegistry::batchOfReturn {
            leafCount: 3,
            anchoredAt: 1_800_000_000,
            submitter: Devnet::handshaker()
        }
    );
    assert_eq!(
        net.view(&EhrRegistry::batchOfCall { root: h(5) }).unwrap(),
        EhrRegistry::batchOfReturn {
            leafCount: 0,
            anchoredAt: 0,
            submitter: Address::ZERO
        }
    );
}

#[test]
fn anchor_batch_reverts() {
    let mut net = Devnet::new().unwrap();
    let batch = |root, leaf_count| EhrRegistry::anchorBatchCall {
        root,
        leafCount: leaf_count,
        batchId: h(2),
    };
    // Only handshakers anchor batches, whatever their other roles.
    for account in [Devnet::doctor(), Devnet::admin()] {
        let receipt = net.send(account, &batch(h(1), 3)).unwrap();
        assert_eq!(error(&receipt), &unauthorized(account, role("handshaker")));
    }
    let receipt = net.send(Devnet::handshaker(), &batch(h(1), 0)).unwrap();
    assert_eq!(
        error(&receipt),
        &E::EhrRegistryZeroLeafCount(EhrRegistry::EhrRegistryZeroLeafCount {})
    );
    let receipt = net
        .send(Devnet::handshaker(), &batch(B256::ZERO, 3))
        .unwrap();
    assert_eq!(
        error(&receipt),
        &E::EhrRegistryZeroHash(EhrRegistry::EhrRegistryZeroHash {})
    );
    assert!(
        net.send(Devnet::handshaker(), &batch(h(1), 3))
            .unwrap()
            .status()
    );
    let receipt = net.send(Devnet::handshaker(), &batch(h(1), 7)).unwrap();
    assert_eq!(
        error(&receipt),
        &E::EhrRegistryRootAlreadyAnchored(EhrRegistry::EhrRegistryRootAlreadyAnchored {
            root: h(1)
        })
    );
    assert_eq!(
        net.view(&EhrRegistry::batchOfCall { root: h(1) })
            .unwrap()
            .leafCount,
        3
    );
}

#[test]
fn verify_record_accepts_oz_proofs_and_rejects_wrong_ones() {
    let mut net = Devnet::new().unwrap();
    // Five records: an odd count, so a lone node is promoted on the way up.
    let records: Vec<B256> = (10..15).map(h).collect();
    let tree = layers(&records);
    let root = root(&tree);
    let count = u32::try_from(records.len()).unwrap();
    let call = EhrRegistry::anchorBatchCall {
        root,
        leafCount: count,
        batchId: h(1),
    };
    assert!(net.send(Devnet::handshaker(), &call).unwrap().status());

    let verify = |net: &mut Devnet, record_hash, proof| {
        net.view(&EhrRegistry::verifyRecordCall {
            root,
            recordHash: record_hash,
            proof,
        })
        .unwrap()
    };
    for (i, record) in records.iter().enumerate() {
        assert!(verify(&mut net, *record, proof(&tree, i)), "record {i}");
    }
    // Another record, a proof of another record, a tampered and a truncated proof.
    assert!(!verify(&mut net, h(99), proof(&tree, 0)));
    assert!(!verify(&mut net, records[0], proof(&tree, 1)));
    let mut tampered = proof(&tree, 2);
    tampered[0] = h(98);
    assert!(!verify(&mut net, records[2], tampered));
    let mut truncated = proof(&tree, 3);
    truncated.pop();
    assert!(!verify(&mut net, records[3], truncated));
    // The leaf is derived by the contract: passing the leaf as the record fails.
    assert!(!verify(&mut net, tree[0][0], proof(&tree, 0)));
}

#[test]
fn verify_record_needs_an_anchored_root() {
    let mut net = Devnet::new().unwrap();
    let call = EhrRegistry::verifyRecordCall {
        root: h(1),
        recordHash: h(2),
        proof: vec![],
    };
    let receipt = net
        .call(Address::ZERO, net.registry(), call.abi_encode().into())
        .unwrap();
    assert_eq!(
        error(&receipt),
        &E::EhrRegistryRootNotAnchored(EhrRegistry::EhrRegistryRootNotAnchored { root: h(1) })
    );
    match net.view(&call) {
        Err(DevnetError::Failed { receipt, .. }) => {
            assert!(matches!(receipt.failure, Some(Failure::Reverted(_))));
        }
        other => panic!("expected a failed view, got {other:?}"),
    }
}
