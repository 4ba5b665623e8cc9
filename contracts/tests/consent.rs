//! `EhrConsent`: a custodian binds a patient to their pseudonym, the patient
//! grants and revokes (directly or by a relayed EIP-712 statement), recipients
//! publish and rotate keys, and every capsule handed out is recorded as a
//! disclosure only while a grant (or the emergency role) holds
//! (docs/consent.md).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use alloy_primitives::{B256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolStruct;
use common::consent::{BLOOD_PRESSURE, LAB_RESULT, setup};
use common::{deploy_smart_account, h, role};
use ehrchain_contracts::EhrConsent::{
    self, ConsentGrant, ConsentRevocation, Disclosure, EhrConsentErrors as E,
};
use ehrchain_contracts::EhrRegistry::{self, EhrRegistryErrors};
use ehrchain_contracts::{Devnet, Receipt};
use ehrchain_core::consent_abi::{ConsentDomain, ConsentGrant as CoreGrant};

fn error(receipt: &Receipt) -> E {
    assert!(!receipt.status(), "expected a revert, got success");
    receipt
        .consent_error()
        .unwrap_or_else(|| panic!("not a consent error: {:?}", receipt.failure))
}

#[test]
fn the_domain_and_type_hashes_are_the_ones_wallets_sign_for() {
    let mut s = setup();
    let separator = s.view(&EhrConsent::domainSeparatorCall {});
    assert_eq!(separator, s.domain().separator());
    let grant = s.view(&EhrConsent::CONSENT_GRANT_TYPEHASHCall {});
    assert_eq!(
        grant,
        keccak256(
            "ConsentGrant(bytes32 subject,address patient,address recipient,bytes32[] templateIds,uint64 expiresAt,uint64 nonce,uint64 deadline)"
        )
    );
    assert_eq!(
        grant,
        keccak256(ConsentGrant::eip712_encode_type().as_bytes())
    );
    let revocation = s.view(&EhrConsent::CONSENT_REVOCATION_TYPEHASHCall {});
    assert_eq!(
        revocation,
        keccak256(ConsentRevocation::eip712_encode_type().as_bytes())
    );
    let statement = s.grant(&[BLOOD_PRESSURE, LAB_RESULT], 1);
    let id = s.view(&EhrConsent::grantIdOfCall {
        grant: statement.clone(),
    });
    assert_eq!(id, statement.eip712_signing_hash(&s.domain()));
    // ehrchain-core computes the same id, under the same domain.
    let domain = ConsentDomain {
        chain_id: s.net.chain_id(),
        consent: s.consent,
    };
    assert_eq!(domain.eip712().separator(), separator);
    let core = CoreGrant {
        subject: statement.subject,
        patient: statement.patient,
        recipient: statement.recipient,
        templateIds: statement.templateIds,
        expiresAt: statement.expiresAt,
        nonce: statement.nonce,
        deadline: statement.deadline,
    };
    assert_eq!(core.grant_id(&domain), id);
}

#[test]
fn only_a_custodian_binds_and_each_change_is_an_event() {
    let mut s = setup();
    let guardian = Devnet::account("guardian");
    let bind = EhrConsent::bindPatientCall {
        subject: s.subject,
        account: guardian,
    };
    let refused = s.send(guardian, &bind);
    match refused.registry_error() {
        Some(EhrRegistryErrors::AccessControlUnauthorizedAccount(e)) => {
            assert_eq!(e.account, guardian);
            assert_eq!(e.neededRole, role("custodian"));
        }
        other => panic!("unexpected: {other:?}"),
    }
    let bound = s.send(s.hospital, &bind);
    let event = &bound.events::<EhrConsent::PatientBound>()[0];
    assert_eq!(
        (event.subject, event.account, event.custodian),
        (s.subject, guardian, s.hospital)
    );
    assert!(s.view(&EhrConsent::isBoundCall {
        subject: s.subject,
        account: guardian
    }));
    // Binding again changes nothing and says nothing.
    let again = s.send(s.hospital, &bind);
    assert!(again.status() && again.logs.is_empty());
    let unbind = EhrConsent::unbindPatientCall {
        subject: s.subject,
        account: guardian,
    };
    let unbound = s.send(s.hospital, &unbind);
    assert_eq!(unbound.events::<EhrConsent::PatientUnbound>().len(), 1);
    assert!(!s.view(&EhrConsent::isBoundCall {
        subject: s.subject,
        account: guardian
    }));
    let zero = EhrConsent::bindPatientCall {
        subject: B256::ZERO,
        account: guardian,
    };
    assert!(matches!(
        error(&s.send(s.hospital, &zero)),
        E::EhrConsentZeroHash(_)
    ));
}

#[test]
fn a_direct_grant_of_one_template_lets_the_recipient_receive_that_template_only() {
    let mut s = setup();
    assert_eq!(s.may_receive(BLOOD_PRESSURE), (false, B256::ZERO));
    let grant = s.grant(&[BLOOD_PRESSURE], 1);
    let call = EhrConsent::grantConsentCall {
        grant: grant.clone(),
    };
    let receipt = s.send(s.patient.address(), &call);
    assert!(receipt.status(), "{:?}", receipt.consent_error());
    let event = &receipt.events::<EhrConsent::ConsentGranted>()[0];
    let id = grant.eip712_signing_hash(&s.domain());
    assert_eq!(event.grantId, id);
    assert_eq!(event.subject, s.subject);
    assert_eq!(event.recipient, s.recipient);
    assert_eq!(event.patient, s.patient.address());
    assert_eq!(event.templateIds, vec![h(BLOOD_PRESSURE)]);
    assert_eq!(event.expiresAt, grant.expiresAt);
    assert_eq!(s.may_receive(BLOOD_PRESSURE), (true, id));
    assert_eq!(s.may_receive(LAB_RESULT), (false, B256::ZERO));
    let stored = s.view(&EhrConsent::grantOfCall { grantId: id });
    assert_eq!(
        (
            stored.subject,
            stored.recipient,
            stored.expiresAt,
            stored.revoked
        ),
        (s.subject, s.recipient, grant.expiresAt, false)
    );

    // Someone else cannot send the patient's grant as their own.
    let other = s.send(s.relayer, &call);
    assert_eq!(
        error(&other),
        E::EhrConsentNotSender(EhrConsent::EhrConsentNotSender {
            patient: s.patient.address(),
            sender: s.relayer
        })
    );
}

#[test]
fn a_relayed_signed_grant_holds_and_its_replay_is_refused() {
    let mut s = setup();
    let grant = s.grant(&[], 1);
    let id = s.granted(&grant);
    assert_eq!(s.may_receive(BLOOD_PRESSURE), (true, id));
    assert_eq!(s.may_receive(LAB_RESULT), (true, id));
    s.net.mine();
    let signature = s.sign(&s.patient, &grant);
    let replay = s.relay_grant(&grant, signature);
    assert_eq!(
        error(&replay),
        E::EhrConsentGrantExists(EhrConsent::EhrConsentGrantExists { grantId: id })
    );
}

#[test]
fn a_grant_signed_by_anyone_but_a_bound_patient_is_refused() {
    let mut s = setup();
    let grant = s.grant(&[BLOOD_PRESSURE], 1);
    // Signed by another key than the statement's patient.
    let stranger = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x31)).unwrap();
    let signature = s.sign(&stranger, &grant);
    let forged = s.relay_grant(&grant, signature);
    assert_eq!(
        error(&forged),
        E::EhrConsentBadSignature(EhrConsent::EhrConsentBadSignature {
            patient: s.patient.address()
        })
    );
    // Signed by its patient, who is not bound to the pseudonym.
    let unbound = ConsentGrant {
        patient: stranger.address(),
        ..grant.clone()
    };
    let signature = s.sign(&stranger, &unbound);
    assert_eq!(
        error(&s.relay_grant(&unbound, signature)),
        E::EhrConsentNotBound(EhrConsent::EhrConsentNotBound {
            subject: s.subject,
            account: stranger.address()
        })
    );
    // Signed for another chain's consent contract.
    let mut elsewhere = s.domain();
    elsewhere.chain_id = Some(alloy_primitives::U256::from(1));
    let signature = s
        .patient
        .sign_hash_sync(&grant.eip712_signing_hash(&elsewhere))
        .unwrap()
        .as_bytes()
        .to_vec();
    assert!(matches!(
        error(&s.relay_grant(&grant, signature)),
        E::EhrConsentBadSignature(_)
    ));
    assert_eq!(s.may_receive(BLOOD_PRESSURE), (false, B256::ZERO));
}

#[test]
fn a_smart_account_patient_grants_by_erc1271() {
    let mut s = setup();
    let account = deploy_smart_account(&mut s.net, s.patient.address());
    let bind = EhrConsent::bindPatientCall {
        subject: s.subject,
        account,
    };
    assert!(s.send(s.hospital, &bind).status());
    let grant = ConsentGrant {
        patient: account,
        ..s.grant(&[BLOOD_PRESSURE], 1)
    };
    let id = s.granted(&grant);
    assert_eq!(s.may_receive(BLOOD_PRESSURE), (true, id));
}

#[test]
fn late_statements_and_past_expiries_are_refused() {
    let mut s = setup();
    let grant = s.grant(&[BLOOD_PRESSURE], 1);
    let signature = s.sign(&s.patient, &grant);
    s.net.set_time(grant.deadline + 1).unwrap();
    assert_eq!(
        error(&s.relay_grant(&grant, signature)),
        E::EhrConsentDeadlinePassed(EhrConsent::EhrConsentDeadlinePassed {
            deadline: grant.deadline
        })
    );
    let now = s.net.block_timestamp();
    let expired = ConsentGrant {
        expiresAt: now,
        deadline: now,
        ..grant
    };
    let signature = s.sign(&s.patient, &expired);
    assert_eq!(
        error(&s.relay_grant(&expired, signature)),
        E::EhrConsentExpiryPassed(EhrConsent::EhrConsentExpiryPassed { expiresAt: now })
    );
}

#[test]
fn an_expired_grant_no_longer_holds_and_its_disclosure_is_refused() {
    let mut s = setup();
    let grant = s.grant(&[BLOOD_PRESSURE], 1);
    let id = s.granted(&grant);
    s.net.set_time(grant.expiresAt - 1).unwrap();
    assert!(s.disclose(s.disclosure(BLOOD_PRESSURE, 1)).status());
    s.net.set_time(grant.expiresAt).unwrap();
    assert_eq!(s.may_receive(BLOOD_PRESSURE), (false, B256::ZERO));
    assert_eq!(
        error(&s.disclose(s.disclosure(BLOOD_PRESSURE, 2))),
        E::EhrConsentGrantExpired(EhrConsent::EhrConsentGrantExpired {
            grantId: id,
            expiresAt: grant.expiresAt
        })
    );
}

#[test]
fn a_revoked_grant_no_longer_holds_directly_or_by_a_relayed_revocation() {
    let mut s = setup();
    let direct = s.granted(&s.grant(&[BLOOD_PRESSURE], 1));
    let call = EhrConsent::revokeConsentCall { grantId: direct };
    // Only an account bound to the grant's pseudonym revokes.
    assert_eq!(
        error(&s.send(s.relayer, &call)),
        E::EhrConsentNotBound(EhrConsent::EhrConsentNotBound {
            subject: s.subject,
            account: s.relayer
        })
    );
    let receipt = s.send(s.patient.address(), &call);
    let event = &receipt.events::<EhrConsent::ConsentRevoked>()[0];
    assert_eq!(
        (event.grantId, event.subject, event.recipient, event.patient),
        (direct, s.subject, s.recipient, s.patient.address())
    );
    assert_eq!(s.may_receive(BLOOD_PRESSURE), (false, B256::ZERO));
    assert_eq!(
        error(&s.disclose(s.disclosure(BLOOD_PRESSURE, 1))),
        E::EhrConsentGrantRevoked(EhrConsent::EhrConsentGrantRevoked { grantId: direct })
    );
    assert_eq!(
        error(&s.send(s.patient.address(), &call)),
        E::EhrConsentGrantRevoked(EhrConsent::EhrConsentGrantRevoked { grantId: direct })
    );

    // A new grant, revoked by a statement a relayer sends.
    let relayed = s.granted(&s.grant(&[BLOOD_PRESSURE], 2));
    assert_eq!(s.may_receive(BLOOD_PRESSURE), (true, relayed));
    let revocation = ConsentRevocation {
        grantId: relayed,
        patient: s.patient.address(),
        deadline: s.net.block_timestamp() + 60,
    };
    let stranger = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x31)).unwrap();
    let call = |signature: Vec<u8>| EhrConsent::revokeSignedCall {
        revocation: revocation.clone(),
        signature: signature.into(),
    };
    let forged = call(s.sign(&stranger, &revocation));
    assert!(matches!(
        error(&s.send(s.relayer, &forged)),
        E::EhrConsentBadSignature(_)
    ));
    let signed = call(s.sign(&s.patient, &revocation));
    assert!(s.send(s.relayer, &signed).status());
    assert_eq!(s.may_receive(BLOOD_PRESSURE), (false, B256::ZERO));
    let unknown = EhrConsent::revokeConsentCall { grantId: h(9) };
    assert_eq!(
        error(&s.send(s.patient.address(), &unknown)),
        E::EhrConsentUnknownGrant(EhrConsent::EhrConsentUnknownGrant { grantId: h(9) })
    );
}

#[test]
fn the_emergency_role_receives_without_a_grant_as_an_emergency_disclosure() {
    let mut s = setup();
    assert_eq!(
        error(&s.disclose(s.disclosure(LAB_RESULT, 1))),
        E::EhrConsentNoGrant(EhrConsent::EhrConsentNoGrant {
            recipient: s.recipient,
            subject: s.subject,
            templateId: h(LAB_RESULT)
        })
    );
    s.net.grant_role("emergency", s.recipient).unwrap();
    assert_eq!(s.may_receive(LAB_RESULT), (true, B256::ZERO));
    let receipt = s.disclose(s.disclosure(LAB_RESULT, 1));
    let event = &receipt.events::<EhrConsent::Disclosed>()[0];
    assert_eq!(event.grantId, B256::ZERO);
    assert_eq!(event.recipient, s.recipient);
    // A grant that holds is named rather than the emergency.
    let id = s.granted(&s.grant(&[LAB_RESULT], 1));
    let receipt = s.disclose(s.disclosure(LAB_RESULT, 2));
    assert_eq!(receipt.events::<EhrConsent::Disclosed>()[0].grantId, id);
}

#[test]
fn only_a_custodian_records_disclosures_and_each_is_an_event_by_pseudonym() {
    let mut s = setup();
    let id = s.granted(&s.grant(&[], 1));
    let d = s.disclosure(BLOOD_PRESSURE, 1);
    let call = EhrConsent::recordDisclosureCall {
        disclosure: d.clone(),
    };
    let refused = s.send(s.recipient, &call);
    assert!(matches!(
        refused.registry_error(),
        Some(EhrRegistryErrors::AccessControlUnauthorizedAccount(_))
    ));
    let receipt = s.disclose(d.clone());
    let event = &receipt.events::<EhrConsent::Disclosed>()[0];
    assert_eq!(
        (
            event.subject,
            event.recipient,
            event.grantId,
            event.templateId,
            event.recordHash,
            event.capsuleDigest,
            event.custodian
        ),
        (
            s.subject,
            s.recipient,
            id,
            d.templateId,
            d.recordHash,
            d.capsuleDigest,
            s.hospital
        )
    );
    // The pseudonym is the event's first indexed topic: a patient lists theirs by it.
    assert_eq!(receipt.logs[0].topics()[1], s.subject);
    let zero = Disclosure {
        capsuleDigest: B256::ZERO,
        ..d
    };
    assert!(matches!(error(&s.disclose(zero)), E::EhrConsentZeroHash(_)));
}

#[test]
fn a_batch_of_disclosures_is_recorded_all_or_none() {
    let mut s = setup();
    let id = s.granted(&s.grant(&[BLOOD_PRESSURE], 1));
    let batch: Vec<Disclosure> = (0..3).map(|n| s.disclosure(BLOOD_PRESSURE, n)).collect();
    let receipt = s.send(
        s.hospital,
        &EhrConsent::recordDisclosuresCall {
            disclosures: batch.clone(),
        },
    );
    let events = receipt.events::<EhrConsent::Disclosed>();
    assert_eq!(events.len(), 3);
    for (event, d) in events.iter().zip(&batch) {
        assert_eq!((event.grantId, event.recordHash), (id, d.recordHash));
    }
    // One record of a template the grant does not cover refuses the batch.
    let mut mixed = batch;
    mixed.push(s.disclosure(LAB_RESULT, 9));
    let refused = s.send(
        s.hospital,
        &EhrConsent::recordDisclosuresCall { disclosures: mixed },
    );
    assert!(matches!(error(&refused), E::EhrConsentNoGrant(_)));
    assert!(refused.logs.is_empty());
    let empty = EhrConsent::recordDisclosuresCall {
        disclosures: Vec::new(),
    };
    assert!(matches!(
        error(&s.send(s.hospital, &empty)),
        E::EhrConsentNoDisclosures(_)
    ));
}

#[test]
fn a_recipient_publishes_and_rotates_its_key() {
    let mut s = setup();
    let key = |id: u64, hash: u64| EhrConsent::publishRecipientKeyCall {
        keyId: h(id),
        kem: 0x647a,
        keyHash: h(hash),
    };
    let first = s.send(s.recipient, &key(1, 11));
    let event = &first.events::<EhrConsent::RecipientKeyPublished>()[0];
    assert_eq!(
        (
            event.recipient,
            event.keyId,
            event.kem,
            event.keyHash,
            event.previousKeyId
        ),
        (s.recipient, h(1), 0x647a, h(11), B256::ZERO)
    );
    let rotated = s.send(s.recipient, &key(2, 12));
    let event = &rotated.events::<EhrConsent::RecipientKeyPublished>()[0];
    assert_eq!((event.keyId, event.previousKeyId), (h(2), h(1)));
    let current = s.view(&EhrConsent::recipientKeyOfCall {
        recipient: s.recipient,
    });
    assert_eq!((current.keyId, current.keyHash), (h(2), h(12)));
    assert_eq!(
        error(&s.send(s.recipient, &key(2, 13))),
        E::EhrConsentKeyIdInUse(EhrConsent::EhrConsentKeyIdInUse { keyId: h(2) })
    );
    // Another recipient's key is its own.
    let other = s.view(&EhrConsent::recipientKeyOfCall {
        recipient: s.relayer,
    });
    assert_eq!((other.keyId, other.keyHash), (B256::ZERO, B256::ZERO));
}

#[test]
fn consent_reads_the_registry_s_roles() {
    let mut s = setup();
    let registry = s.view(&EhrConsent::registryCall {});
    assert_eq!(registry, s.net.registry());
    // Revoking the custodian role in the registry stops its disclosures.
    s.granted(&s.grant(&[], 1));
    let revoke = EhrRegistry::revokeRoleCall {
        role: role("custodian"),
        account: s.hospital,
    };
    assert!(s.net.send(Devnet::admin(), &revoke).unwrap().status());
    assert!(!s.disclose(s.disclosure(BLOOD_PRESSURE, 1)).status());
}
