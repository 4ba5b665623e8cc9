#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use alloy_primitives::{Address, B256, keccak256};
use alloy_sol_types::SolStruct;
use serde_json::json;

use super::{ConsentDomain, ConsentGrant, ConsentRevocation};
use crate::authorship::tests::assert_typed_data;

fn domain() -> ConsentDomain {
    ConsentDomain {
        chain_id: 1337,
        consent: Address::repeat_byte(0x43),
    }
}

fn grant() -> ConsentGrant {
    ConsentGrant {
        subject: B256::repeat_byte(7),
        patient: Address::repeat_byte(1),
        recipient: Address::repeat_byte(2),
        templateIds: vec![B256::repeat_byte(3), B256::repeat_byte(4)],
        expiresAt: 1_767_312_000,
        nonce: 9,
        deadline: 1_767_229_200,
    }
}

#[test]
fn the_type_strings_are_the_contract_s() {
    assert_eq!(
        ConsentGrant::eip712_encode_type(),
        "ConsentGrant(bytes32 subject,address patient,address recipient,bytes32[] templateIds,uint64 expiresAt,uint64 nonce,uint64 deadline)"
    );
    assert_eq!(
        ConsentRevocation::eip712_encode_type(),
        "ConsentRevocation(bytes32 grantId,address patient,uint64 deadline)"
    );
}

#[test]
fn the_grant_id_follows_eip712_written_out() {
    let g = grant();
    let d = domain();
    let separator = keccak256(
        [
            keccak256(
                "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
            )
            .as_slice(),
            keccak256("ehrchain consent").as_slice(),
            keccak256("1").as_slice(),
            B256::left_padding_from(&1337u64.to_be_bytes()).as_slice(),
            B256::left_padding_from(d.consent.as_slice()).as_slice(),
        ]
        .concat(),
    );
    let templates = keccak256([g.templateIds[0].as_slice(), g.templateIds[1].as_slice()].concat());
    let word = |n: u64| B256::left_padding_from(&n.to_be_bytes());
    let struct_hash = keccak256(
        [
            keccak256(ConsentGrant::eip712_encode_type().as_bytes()).as_slice(),
            g.subject.as_slice(),
            B256::left_padding_from(g.patient.as_slice()).as_slice(),
            B256::left_padding_from(g.recipient.as_slice()).as_slice(),
            templates.as_slice(),
            word(g.expiresAt).as_slice(),
            word(g.nonce).as_slice(),
            word(g.deadline).as_slice(),
        ]
        .concat(),
    );
    let digest = keccak256(
        [
            &[0x19, 0x01][..],
            separator.as_slice(),
            struct_hash.as_slice(),
        ]
        .concat(),
    );
    assert_eq!(g.grant_id(&d), digest);
    // Another contract or chain gives another id.
    let elsewhere = ConsentDomain {
        chain_id: 1,
        ..domain()
    };
    assert_ne!(g.grant_id(&elsewhere), digest);
}

#[test]
fn the_typed_data_documents_are_what_a_wallet_signs() {
    let g = grant();
    let document = g.typed_data(&domain());
    let consent_domain = json!({
        "name": "ehrchain consent",
        "version": "1",
        "chainId": 1337,
        "verifyingContract": "0x4343434343434343434343434343434343434343",
    });
    assert_typed_data::<ConsentGrant>(&document, consent_domain.clone());
    assert_eq!(document["message"]["expiresAt"], 1_767_312_000);
    assert_eq!(
        document["message"]["templateIds"].as_array().unwrap().len(),
        2
    );
    let back: ConsentGrant = serde_json::from_value(document["message"].clone()).unwrap();
    assert_eq!(back, g);

    let revocation = ConsentRevocation {
        grantId: g.grant_id(&domain()),
        patient: g.patient,
        deadline: g.deadline,
    };
    let document = revocation.typed_data(&domain());
    assert_typed_data::<ConsentRevocation>(&document, consent_domain);
    assert_ne!(revocation.signing_hash(&domain()), revocation.grantId);
}

#[test]
fn a_statement_with_a_grant_id_is_a_revocation_any_other_a_grant() {
    use super::{ConsentStatement, IEhrConsent};
    use alloy_sol_types::SolCall;

    let g = grant();
    let statement: ConsentStatement =
        serde_json::from_value(serde_json::to_value(&g).unwrap()).unwrap();
    assert_eq!(statement, ConsentStatement::Grant(g.clone()));
    assert_eq!(statement.patient(), g.patient);
    assert_eq!(statement.signing_hash(&domain()), g.grant_id(&domain()));
    assert_eq!(statement.typed_data(&domain()), g.typed_data(&domain()));
    let call = statement.relay_call(vec![0xaa; 65].into());
    let decoded = IEhrConsent::grantSignedCall::abi_decode(&call).unwrap();
    assert_eq!((decoded.grant, decoded.signature.len()), (g.clone(), 65));

    let revocation = ConsentRevocation {
        grantId: g.grant_id(&domain()),
        patient: g.patient,
        deadline: g.deadline,
    };
    let statement: ConsentStatement = serde_json::from_value(json!({
        "grantId": revocation.grantId,
        "patient": revocation.patient,
        "deadline": revocation.deadline,
    }))
    .unwrap();
    assert_eq!(statement, ConsentStatement::Revocation(revocation.clone()));
    assert_eq!(
        statement.signing_hash(&domain()),
        revocation.signing_hash(&domain())
    );
    assert_eq!(
        serde_json::to_value(&statement).unwrap(),
        serde_json::to_value(&revocation).unwrap()
    );
    let call = statement.relay_call(vec![0xbb; 65].into());
    let decoded = IEhrConsent::revokeSignedCall::abi_decode(&call).unwrap();
    assert_eq!(decoded.revocation, revocation);

    // A revocation with a grant's members, a grant missing one: named.
    let mixed = json!({"grantId": B256::ZERO, "patient": g.patient, "deadline": 1, "nonce": 1});
    let e = serde_json::from_value::<ConsentStatement>(mixed).unwrap_err();
    assert!(
        e.to_string().contains("a revocation (it has a grantId)"),
        "{e}"
    );
    let e = serde_json::from_value::<ConsentStatement>(json!({"patient": g.patient})).unwrap_err();
    assert!(e.to_string().contains("a grant (it has no grantId)"), "{e}");
}

#[test]
fn a_recipient_publishes_its_key_id_kem_and_hash() {
    use super::IEhrConsent;
    use crate::capsule::{CapsuleSuite, RecipientPrivateKey};

    let private = RecipientPrivateKey::from_bytes(CapsuleSuite::X25519, &[0x42; 32]).unwrap();
    let key = private.public_key();
    let call = IEhrConsent::publishRecipientKeyCall::of_key(key);
    assert_eq!(call.keyId, key.key_id());
    assert_eq!(call.kem, 0x0020);
    assert_eq!(call.keyHash, key.key_hash());
}

/// A fixed statement's digest, typed data and calldata, pinned: the values
/// `ehrchain-wasm/tests/sharing.test.mjs` ("a fixed statement's encodings
/// are the core's") asserts JavaScript produces, so a binding that encoded
/// consent itself, or a change of the core's encodings, fails both.
#[test]
fn a_fixed_statement_s_encodings_as_the_bindings_pin_them() {
    use super::{ConsentStatement, IEhrConsent};
    use crate::capsule::{CapsuleSuite, RecipientPrivateKey};
    use alloy_primitives::{Bytes, hex};
    use alloy_sol_types::SolCall;

    let d = domain();
    let grant: ConsentStatement = serde_json::from_value(json!({
        "subject": B256::repeat_byte(7), "patient": Address::repeat_byte(1),
        "recipient": Address::repeat_byte(2), "templateIds": [B256::repeat_byte(3)],
        "expiresAt": 1_767_312_000, "nonce": 1, "deadline": 1_767_229_200,
    }))
    .unwrap();
    let grant_id = grant.signing_hash(&d);
    assert_eq!(
        grant_id.to_string(),
        "0x2574be0bee562adcc401bed0c4568997655e9d71b98afcd71689dceeb61beb2e"
    );
    let revocation: ConsentStatement = serde_json::from_value(json!({
        "grantId": grant_id, "patient": Address::repeat_byte(1), "deadline": 1_767_229_200,
    }))
    .unwrap();
    assert_eq!(
        revocation.signing_hash(&d).to_string(),
        "0x2bba36f9548e1896cd8067d005c0ce7ed22b947d5a5cfd5e82d38968453ed8a1"
    );
    let eip712_domain = json!([
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ]);
    assert_eq!(
        revocation.typed_data(&d),
        json!({
            "domain": {
                "name": "ehrchain consent", "version": "1", "chainId": 1337,
                "verifyingContract": "0x4343434343434343434343434343434343434343",
            },
            "message": {
                "grantId": grant_id,
                "patient": "0x0101010101010101010101010101010101010101",
                "deadline": 1_767_229_200,
            },
            "primaryType": "ConsentRevocation",
            "types": {
                "ConsentRevocation": [
                    {"name": "grantId", "type": "bytes32"},
                    {"name": "patient", "type": "address"},
                    {"name": "deadline", "type": "uint64"},
                ],
                "EIP712Domain": eip712_domain,
            },
        })
    );
    let signature = || Bytes::from(vec![0xaa; 65]);
    assert_eq!(
        keccak256(grant.relay_call(signature())).to_string(),
        "0x14312a1f75a4ac5fe0429ed5316d4a99f9afff1af0b7d7235dee5c82340b5f48"
    );
    assert_eq!(
        keccak256(revocation.relay_call(signature())).to_string(),
        "0x4f7b65390116de37776d56ecbbdc59e9f13b2428969b9cbb164b851dc489a255"
    );
    let bind = IEhrConsent::bindPatientCall {
        subject: B256::repeat_byte(7),
        account: Address::repeat_byte(1),
    };
    assert_eq!(
        hex::encode_prefixed(bind.abi_encode()),
        concat!(
            "0xacf2097e",
            "0707070707070707070707070707070707070707070707070707070707070707",
            "0000000000000000000000000101010101010101010101010101010101010101",
        )
    );
    let key = RecipientPrivateKey::from_bytes(CapsuleSuite::X25519, &[0x42; 32]).unwrap();
    let publish = IEhrConsent::publishRecipientKeyCall::of_key(key.public_key());
    assert_eq!(
        hex::encode_prefixed(publish.abi_encode()),
        concat!(
            "0x932cd3dd",
            "987afb34ed1445c2b54cdee2636a2988ec170c3308fbd0ad92030ccd42ce1806",
            "0000000000000000000000000000000000000000000000000000000000000020",
            "82dab32a9aedffb4925a762f879f6fdd05b8ba0aa825a6986a85b751ff3b21e4",
        )
    );
}
