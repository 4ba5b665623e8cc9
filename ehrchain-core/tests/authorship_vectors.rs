//! Test vectors of authors' signed record statements (`docs/authorship.md`),
//! kept in `docs/vectors/authorship.json`.
//!
//! `EHRCHAIN_REGENERATE_VECTORS=1 cargo test -p ehrchain-core --test authorship_vectors`
//! rewrites the file; every other run reads it and checks each vector against
//! this library: the typed-data document, the domain separator, the struct
//! hash, the digest, the (deterministic, RFC 6979) signature of the vector's
//! key and the recovered signer, and every invalid vector's error code.
//! `ehrchain-core/tests/interop/verify_statements.mjs` checks the same file
//! with viem and ethers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolStruct;
use ehrchain_core::Role;
use ehrchain_core::authorship::{RecordSignature, RecordStatement, SigningDomain};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../docs/vectors/authorship.json"
);

/// secp256k1's group order n, for the malleable twin of a signature.
const ORDER: U256 = U256::from_be_slice(&[
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct VectorFile {
    description: Vec<String>,
    spec: String,
    type_string: String,
    valid: Vec<Valid>,
    invalid: Vec<Invalid>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Valid {
    name: String,
    /// The test key (never a real one).
    private_key: B256,
    domain: SigningDomain,
    statement: RecordStatement,
    typed_data: Value,
    domain_separator: B256,
    struct_hash: B256,
    signing_hash: B256,
    signature: Bytes,
    signer: Address,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Invalid {
    name: String,
    domain: SigningDomain,
    statement: RecordStatement,
    signature: Bytes,
    /// The error code ehrchain answers with (`docs/errors.md`).
    code: String,
}

fn valid(name: &str, key: u8, domain: SigningDomain, role: &str, subject: B256) -> Valid {
    let private_key = B256::repeat_byte(key);
    let signer = PrivateKeySigner::from_bytes(&private_key).unwrap();
    let statement = RecordStatement {
        tiId: keccak256(format!("ti {key}")),
        templateId: keccak256(format!("template {key}")),
        recordHash: keccak256(format!("record {key}")),
        subject,
        role: Role::new(role).unwrap().id(),
        author: signer.address(),
        timestamp: 1_764_000_000 + u64::from(key),
    };
    let signing_hash = statement.signing_hash(&domain);
    let signature = signer.sign_hash_sync(&signing_hash).unwrap().as_bytes();
    Valid {
        name: name.into(),
        private_key,
        typed_data: statement.typed_data(&domain),
        domain_separator: domain.eip712().separator(),
        struct_hash: statement.eip712_hash_struct(),
        signing_hash,
        signature: Bytes::copy_from_slice(&signature),
        signer: signer.address(),
        domain,
        statement,
    }
}

fn invalid(
    name: &str,
    base: &Valid,
    domain: SigningDomain,
    signature: Vec<u8>,
    code: &str,
) -> Invalid {
    Invalid {
        name: name.into(),
        domain,
        statement: base.statement.clone(),
        signature: signature.into(),
        code: code.into(),
    }
}

fn generate() -> VectorFile {
    let hardhat = SigningDomain {
        chain_id: 1337,
        registry: Address::repeat_byte(0x42),
    };
    let sepolia = SigningDomain {
        chain_id: 11_155_111,
        registry: Address::repeat_byte(0x5e),
    };
    let valid = vec![
        valid(
            "doctor on a development chain",
            0x11,
            hardhat,
            Role::DOCTOR,
            B256::repeat_byte(0x77),
        ),
        valid(
            "nurse on a test network",
            0x22,
            sepolia,
            Role::NURSE,
            B256::repeat_byte(0x78),
        ),
        valid(
            "device record without a patient",
            0x33,
            hardhat,
            Role::DEVICE,
            B256::ZERO,
        ),
    ];
    let base = &valid[0];
    let good = base.signature.to_vec();
    let mut high_s = good.clone();
    let s = U256::from_be_slice(&good[32..64]);
    high_s[32..64].copy_from_slice(&(ORDER - s).to_be_bytes::<32>());
    high_s[64] = if good[64] == 27 { 28 } else { 27 };
    let mut v_zero = good.clone();
    v_zero[64] -= 27;
    let mut garbled = good.clone();
    garbled[..32].fill(0);
    let other_chain = SigningDomain {
        chain_id: 1,
        ..base.domain
    };
    let other_registry = SigningDomain {
        registry: Address::repeat_byte(0x43),
        ..base.domain
    };
    let invalid = vec![
        invalid(
            "truncated",
            base,
            base.domain,
            good[..64].to_vec(),
            "EHR_SIGNATURE_MALFORMED",
        ),
        invalid(
            "high s (the malleable twin)",
            base,
            base.domain,
            high_s,
            "EHR_SIGNATURE_MALFORMED",
        ),
        invalid(
            "v as 0 or 1",
            base,
            base.domain,
            v_zero,
            "EHR_SIGNATURE_MALFORMED",
        ),
        invalid(
            "r zero",
            base,
            base.domain,
            garbled,
            "EHR_SIGNATURE_MALFORMED",
        ),
        invalid(
            "replayed on another chain",
            base,
            other_chain,
            good.clone(),
            "EHR_SIGNATURE_WRONG_SIGNER",
        ),
        invalid(
            "replayed on another registry",
            base,
            other_registry,
            good.clone(),
            "EHR_SIGNATURE_WRONG_SIGNER",
        ),
        invalid(
            "signed by another key",
            base,
            base.domain,
            valid[1].signature.to_vec(),
            "EHR_SIGNATURE_WRONG_SIGNER",
        ),
    ];
    VectorFile {
        description: vec![
            "EIP-712 record statements signed by test keys (never real ones), for docs/authorship.md.".into(),
            "valid: the typed-data document a wallet signs, the domain separator, hashStruct, the digest, the RFC 6979 signature of the key and the signer.".into(),
            "invalid: a statement, a domain and a signature that ehrchain refuses with the code given.".into(),
        ],
        spec: "docs/authorship.md".into(),
        type_string: RecordStatement::eip712_encode_type().into_owned(),
        valid,
        invalid,
    }
}

fn code_of(
    domain: &SigningDomain,
    statement: &RecordStatement,
    signature: &[u8],
) -> Option<String> {
    let checked = RecordSignature::from_slice(signature).and_then(|s| statement.verify(domain, &s));
    checked.err().map(|e| e.code().name().to_owned())
}

#[test]
fn the_vectors_match_this_library() {
    let stored = common::read_back_vector_file(PATH, generate);
    for vector in &stored.valid {
        assert_eq!(
            code_of(&vector.domain, &vector.statement, &vector.signature),
            None,
            "{}",
            vector.name
        );
        let signature = RecordSignature::from_slice(&vector.signature).unwrap();
        assert_eq!(
            vector.statement.signer(&vector.domain, &signature),
            Ok(vector.signer)
        );
    }
    for vector in &stored.invalid {
        assert_eq!(
            code_of(&vector.domain, &vector.statement, &vector.signature).as_deref(),
            Some(vector.code.as_str()),
            "{}",
            vector.name
        );
    }
}

#[test]
fn the_spec_shows_the_first_vector_s_typed_data() {
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/authorship.md"
    ))
    .unwrap();
    let block = spec
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/authorship.md has a json block");
    let shown: Value = serde_json::from_str(block).unwrap();
    assert_eq!(shown, generate().valid[0].typed_data);
}
