#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::{U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolValue;

use super::*;
use crate::ErrorCode;

/// secp256k1's group order n.
const ORDER: U256 = U256::from_be_slice(&[
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);

fn author() -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).unwrap()
}

fn domain() -> SigningDomain {
    SigningDomain {
        chain_id: 1337,
        registry: Address::repeat_byte(0x42),
    }
}

fn statement(author: Address) -> RecordStatement {
    RecordStatement {
        tiId: B256::repeat_byte(1),
        templateId: B256::repeat_byte(2),
        recordHash: B256::repeat_byte(3),
        subject: B256::repeat_byte(4),
        role: crate::Role::new(crate::Role::DOCTOR).unwrap().id(),
        author,
        timestamp: 1_764_000_000,
    }
}

fn sign(
    signer: &PrivateKeySigner,
    statement: &RecordStatement,
    domain: &SigningDomain,
) -> RecordSignature {
    let signature = signer
        .sign_hash_sync(&statement.signing_hash(domain))
        .unwrap();
    RecordSignature::from_slice(&signature.as_bytes()).unwrap()
}

#[test]
fn the_type_string_is_the_documented_one() {
    assert_eq!(
        RecordStatement::eip712_encode_type(),
        "RecordStatement(bytes32 tiId,bytes32 templateId,bytes32 recordHash,bytes32 subject,bytes32 role,address author,uint64 timestamp)"
    );
}

#[test]
fn the_signing_hash_follows_eip712_written_out() {
    let statement = statement(Address::repeat_byte(6));
    let domain = domain();
    let domain_type = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
    );
    let separator = keccak256(
        (
            domain_type,
            keccak256(DOMAIN_NAME),
            keccak256(DOMAIN_VERSION),
            U256::from(domain.chain_id),
            domain.registry,
        )
            .abi_encode(),
    );
    let struct_hash = keccak256(
        (
            keccak256(RecordStatement::eip712_encode_type().as_bytes()),
            statement.tiId,
            statement.templateId,
            statement.recordHash,
            statement.subject,
            statement.role,
            statement.author,
            statement.timestamp,
        )
            .abi_encode(),
    );
    let mut digest = vec![0x19, 0x01];
    digest.extend_from_slice(separator.as_slice());
    digest.extend_from_slice(struct_hash.as_slice());
    assert_eq!(statement.signing_hash(&domain), keccak256(digest));
}

#[test]
fn the_author_s_signature_verifies_and_names_the_author() {
    let key = author();
    let statement = statement(key.address());
    let signature = sign(&key, &statement, &domain());
    assert_eq!(statement.signer(&domain(), &signature), Ok(key.address()));
    assert_eq!(statement.verify(&domain(), &signature), Ok(()));
}

#[test]
fn another_chain_registry_record_or_key_is_a_wrong_signer() {
    let key = author();
    let statement_ = statement(key.address());
    let signature = sign(&key, &statement_, &domain());
    let other_chain = SigningDomain {
        chain_id: 1,
        ..domain()
    };
    let other_registry = SigningDomain {
        registry: Address::repeat_byte(0x43),
        ..domain()
    };
    let other_record = RecordStatement {
        recordHash: B256::repeat_byte(9),
        ..statement_.clone()
    };
    for (statement, domain) in [
        (&statement_, other_chain),
        (&statement_, other_registry),
        (&other_record, domain()),
    ] {
        let error = statement.verify(&domain, &signature).unwrap_err();
        assert!(
            matches!(error, AuthorshipError::WrongSigner { author, signer } if author == key.address() && signer != key.address()),
            "{error:?}"
        );
        assert_eq!(error.code(), ErrorCode::SignatureWrongSigner);
    }
    let stranger = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x22)).unwrap();
    let forged = sign(&stranger, &statement_, &domain());
    assert_eq!(
        statement_.verify(&domain(), &forged),
        Err(AuthorshipError::WrongSigner {
            author: key.address(),
            signer: stranger.address()
        })
    );
}

#[test]
fn malformed_signatures_are_refused_before_recovery() {
    let key = author();
    let statement = statement(key.address());
    let good = *sign(&key, &statement, &domain()).as_bytes();

    assert_eq!(
        RecordSignature::from_slice(&good[..64]),
        Err(AuthorshipError::SignatureLength { len: 64 })
    );
    let mut long = good.to_vec();
    long.push(0);
    assert_eq!(
        RecordSignature::from_slice(&long),
        Err(AuthorshipError::SignatureLength { len: 66 })
    );
    for v in [0u8, 1, 29, 37] {
        let mut bad = good;
        bad[64] = v;
        assert_eq!(
            RecordSignature::from_slice(&bad),
            Err(AuthorshipError::SignatureParity { v })
        );
    }

    // The same signature with s replaced by n - s (and v flipped) recovers
    // the same key: the malleable twin, refused.
    let s = U256::from_be_slice(&good[32..64]);
    let mut twin = good;
    twin[32..64].copy_from_slice(&(ORDER - s).to_be_bytes::<32>());
    twin[64] = if good[64] == 27 { 28 } else { 27 };
    let error = RecordSignature::from_slice(&twin).unwrap_err();
    assert_eq!(error, AuthorshipError::HighS);
    assert_eq!(error.code(), ErrorCode::SignatureMalformed);

    let mut zero_r = good;
    zero_r[..32].fill(0);
    assert_eq!(
        RecordSignature::from_slice(&zero_r),
        Err(AuthorshipError::Unrecoverable)
    );

    // An r that is no point's x coordinate recovers no key.
    let off_curve = (1u8..=32)
        .map(|x| {
            let mut bad = good;
            bad[..32].copy_from_slice(&B256::with_last_byte(x).0);
            bad
        })
        .filter_map(|bad| RecordSignature::from_slice(&bad).ok())
        .find(|bad| statement.signer(&domain(), bad).is_err());
    let off_curve = off_curve.expect("some small r is not on the curve");
    assert_eq!(
        statement.signer(&domain(), &off_curve),
        Err(AuthorshipError::Unrecoverable)
    );
}

/// The members of a typed-data type, as an EIP-712 type string.
fn encoded(document: &serde_json::Value, name: &str) -> String {
    let members: Vec<String> = document["types"][name]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{} {}",
                m["type"].as_str().unwrap(),
                m["name"].as_str().unwrap()
            )
        })
        .collect();
    format!("{name}({})", members.join(","))
}

/// Expects `document`, a typed-data document of a `T`, to name `T` as its
/// primary type, to carry `domain`, and to declare `T`'s EIP-712 type.
pub(crate) fn assert_typed_data<T: SolStruct>(
    document: &serde_json::Value,
    domain: serde_json::Value,
) {
    assert_eq!(document["primaryType"], T::NAME);
    assert_eq!(document["domain"], domain);
    assert_eq!(encoded(document, T::NAME), T::eip712_encode_type());
}

#[test]
fn the_typed_data_document_is_what_a_wallet_signs() {
    let statement = statement(Address::repeat_byte(6));
    let document = statement.typed_data(&domain());
    assert_typed_data::<RecordStatement>(
        &document,
        json!({
            "name": "ehrchain",
            "version": "1",
            "chainId": 1337,
            "verifyingContract": "0x4242424242424242424242424242424242424242",
        }),
    );
    assert_eq!(document["message"]["timestamp"], 1_764_000_000);
    assert_eq!(
        document["message"]["author"],
        "0x0606060606060606060606060606060606060606"
    );
    let back: RecordStatement = serde_json::from_value(document["message"].clone()).unwrap();
    assert_eq!(back, statement);
}

#[test]
fn a_statement_from_json_refuses_unknown_members() {
    let mut message = serde_json::to_value(statement(Address::ZERO)).unwrap();
    message["extra"] = json!(1);
    assert!(serde_json::from_value::<RecordStatement>(message).is_err());
}
