//! Helpers shared by the integration tests: the built-in templates on a
//! devnet, role ids, and an OpenZeppelin-compatible Merkle tree (sorted-pair
//! keccak256, lone node promoted) to check `verifyRecord` against.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod consent;
#[cfg(feature = "rpc")]
pub mod funding;
pub mod suite;
#[path = "../../../ehrchain-core/tests/common/test_keys.rs"]
mod test_keys;

use alloy_primitives::{Address, B256, keccak256};
use ehrchain_contracts::{Devnet, EhrRegistry, Receipt};
use ehrchain_core::{InMemoryKeyStore, Role, Template, TemplateRegistry, TransactionGenerator};

/// The registry's custom error a receipt reverted with; the test fails when
/// the transaction succeeded or reverted with anything else.
pub fn registry_error(receipt: &Receipt) -> &EhrRegistry::EhrRegistryErrors {
    assert!(!receipt.status(), "expected a revert, got success");
    receipt
        .registry_error()
        .unwrap_or_else(|| panic!("not a registry error: {:?}", receipt.failure))
}

/// The role id of a role name.
pub fn role(name: &str) -> B256 {
    Role::new(name).unwrap().id()
}

/// A generator over the test keys ("records", "pseudonyms") making TCs for
/// `registry` on `chain_id`.
pub fn generator(chain_id: u64, registry: Address) -> TransactionGenerator<InMemoryKeyStore> {
    test_keys::test_generator("records", chain_id, registry)
}

/// The built-in templates, checked against the registry's ABI.
pub fn built_ins() -> TemplateRegistry {
    TemplateRegistry::with_built_ins(Some(ehrchain_contracts::abi())).unwrap()
}

/// The latest version of a built-in template.
pub fn template(templates: &TemplateRegistry, name: &str) -> Template {
    Template::clone(templates.latest(name).unwrap())
}

/// A fresh devnet with every built-in template registered.
pub fn devnet_with_built_ins() -> (Devnet, TemplateRegistry) {
    let templates = built_ins();
    let mut devnet = Devnet::new().unwrap();
    for template in templates.iter() {
        devnet.register_template(template).unwrap();
    }
    (devnet, templates)
}

/// An `anchorRecord` call with a fixed timestamp.
pub fn anchor(
    subject: B256,
    template_id: B256,
    ti: B256,
    record_hash: B256,
    role: B256,
) -> EhrRegistry::anchorRecordCall {
    EhrRegistry::anchorRecordCall {
        subject,
        templateId: template_id,
        tiId: ti,
        recordHash: record_hash,
        timestamp: 1_767_225_000,
        role,
    }
}

/// The `anchorSignedRecord` call relaying `statement` with `signature`.
pub fn signed_anchor(
    statement: &ehrchain_core::authorship::RecordStatement,
    signature: Vec<u8>,
) -> EhrRegistry::anchorSignedRecordCall {
    EhrRegistry::anchorSignedRecordCall {
        statement: contract_statement(statement),
        signature: signature.into(),
    }
}

/// The core's statement as the registry binding's struct.
pub fn contract_statement(
    statement: &ehrchain_core::authorship::RecordStatement,
) -> EhrRegistry::RecordStatement {
    EhrRegistry::RecordStatement {
        tiId: statement.tiId,
        templateId: statement.templateId,
        recordHash: statement.recordHash,
        subject: statement.subject,
        role: statement.role,
        author: statement.author,
        timestamp: statement.timestamp,
    }
}

alloy_sol_types::sol!(SmartAccountAuthor, "artifacts/SmartAccountAuthor.json");

/// Deploys an ERC-1271 test account whose signatures are `owner`'s.
pub fn deploy_smart_account(net: &mut Devnet, owner: Address) -> Address {
    let mut code = SmartAccountAuthor::BYTECODE.to_vec();
    code.extend_from_slice(&alloy_sol_types::SolValue::abi_encode(&owner));
    net.deploy(Devnet::admin(), "SmartAccountAuthor", code.into())
        .unwrap()
}

/// A distinct non-zero test hash.
pub fn h(n: u64) -> B256 {
    keccak256(n.to_be_bytes())
}

/// The leaf of a record: `keccak256(bytes.concat(keccak256(abi.encode(recordHash))))`.
pub fn leaf(record_hash: B256) -> B256 {
    keccak256(keccak256(record_hash))
}

/// OpenZeppelin's commutative pair hash.
pub fn hash_pair(a: B256, b: B256) -> B256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    keccak256([lo.as_slice(), hi.as_slice()].concat())
}

/// The layers of a Merkle tree over the leaves of `record_hashes`, leaves
/// first, root last; a lone node at the end of a layer is promoted unchanged.
/// Deliberately independent of ehrchain-core's batch code: the registry tests
/// check the contract against this plain reference, and the end-to-end test
/// checks core's batches against the contract.
pub fn layers(record_hashes: &[B256]) -> Vec<Vec<B256>> {
    let mut layers = vec![record_hashes.iter().copied().map(leaf).collect::<Vec<_>>()];
    while layers.last().unwrap().len() > 1 {
        let next = layers
            .last()
            .unwrap()
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => hash_pair(*a, *b),
                [a] => *a,
                _ => unreachable!(),
            })
            .collect();
        layers.push(next);
    }
    layers
}

/// The root of `layers`.
pub fn root(layers: &[Vec<B256>]) -> B256 {
    layers.last().unwrap()[0]
}

/// The inclusion proof of leaf `index`: its siblings, leaf to root.
pub fn proof(layers: &[Vec<B256>], mut index: usize) -> Vec<B256> {
    let mut proof = Vec::new();
    for layer in &layers[..layers.len() - 1] {
        if let Some(sibling) = layer.get(index ^ 1) {
            proof.push(*sibling);
        }
        index /= 2;
    }
    proof
}
