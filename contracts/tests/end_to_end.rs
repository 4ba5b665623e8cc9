//! The whole flow on the devnet: ehrchain-core's `TransactionGenerator` turns
//! TIs for the built-in templates into TCs, the devnet executes them, and the
//! registry enforces its rules; then the record hashes go into a core
//! `BatchBuilder` batch whose proofs Rust checks against the anchored leaf count
//! and OpenZeppelin's `MerkleProof` verifies in the EVM.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use alloy_primitives::{Address, B256};
use alloy_sol_types::SolCall;
use common::{devnet_with_built_ins, generator, role};
use ehrchain_contracts::EhrRegistry::{self, EhrRegistryErrors as E};
use ehrchain_contracts::{Devnet, DevnetError};
use ehrchain_core::batch::{ChainCheckError, ProofError};
use ehrchain_core::generator::GenerateError;
use ehrchain_core::violation::ViolationKind;
use ehrchain_core::{
    BatchBuilder, ChainTransaction, InMemoryKeyStore, InitialTransaction, Role, TemplateRegistry,
    TransactionGenerator, UnixMillis,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::json;

struct Flow {
    net: Devnet,
    templates: TemplateRegistry,
    tg: TransactionGenerator<InMemoryKeyStore>,
    rng: ChaCha20Rng,
    next_ti: u8,
}

impl Flow {
    fn new() -> Self {
        let (net, templates) = devnet_with_built_ins();
        Self {
            tg: generator(net.chain_id(), net.registry()),
            net,
            templates,
            rng: ChaCha20Rng::seed_from_u64(4),
            next_ti: 0,
        }
    }

    fn ti(
        &mut self,
        template: &str,
        role: &str,
        patient: Option<&str>,
        fields: serde_json::Value,
    ) -> InitialTransaction {
        self.next_ti += 1;
        InitialTransaction {
            ti_id: B256::repeat_byte(self.next_ti),
            template_id: self.templates.latest(template).unwrap().id(),
            author_id: format!("{role}-1"),
            author_role: Role::new(role).unwrap(),
            patient_id: patient.map(Into::into),
            timestamp: self.net.block_timestamp() - 30,
            fields: serde_json::from_value(fields).unwrap(),
        }
    }

    fn generate(&mut self, ti: &InitialTransaction) -> Result<ChainTransaction, GenerateError> {
        // Block timestamps are Unix seconds; the generator's clock milliseconds.
        let now = UnixMillis::from_secs(self.net.block_timestamp());
        self.tg.generate(&self.templates, ti, now, &mut self.rng)
    }

    /// Generates the TC, sends it from `from`, and checks the anchored record
    /// against the TC.
    fn anchor(&mut self, ti: &InitialTransaction, from: Address) -> ChainTransaction {
        let tc = self.generate(ti).unwrap();
        let receipt = self.net.execute_tc(&tc, from).unwrap();
        assert!(receipt.status(), "{:?}", receipt.failure);
        let call = EhrRegistry::anchorRecordCall::abi_decode(&tc.calldata).unwrap();
        assert_eq!(
            receipt.events::<EhrRegistry::RecordAnchored>(),
            [EhrRegistry::RecordAnchored {
                tiId: ti.ti_id,
                templateId: tc.template_id,
                subject: call.subject,
                recordHash: tc.record_hash,
                role: ti.author_role.id(),
                author: from,
                timestamp: ti.timestamp,
            }]
        );
        let stored = self
            .net
            .view(&EhrRegistry::recordHashOfCall { tiId: ti.ti_id })
            .unwrap();
        assert_eq!(stored, tc.record_hash);
        tc
    }
}

fn bp() -> serde_json::Value {
    json!({"systolic": 128, "diastolic": 84, "position": "sitting"})
}

#[test]
fn doctor_and_nurse_blood_pressure_are_anchored() {
    let mut flow = Flow::new();
    let ti = flow.ti("blood-pressure", "doctor", Some("MRN-000123"), bp());
    let tc = flow.anchor(&ti, Devnet::doctor());
    assert_eq!(tc.patient, flow.tg.pseudonym("MRN-000123"));
    flow.net.mine();
    let ti = flow.ti("blood-pressure", "nurse", Some("MRN-000123"), bp());
    flow.anchor(&ti, Devnet::nurse());
}

#[test]
fn every_built_in_template_anchors_from_its_role() {
    let mut flow = Flow::new();
    let pharmacist = Devnet::account("pharmacist");
    flow.net.grant_role("pharmacist", pharmacist).unwrap();
    let now = flow.net.block_timestamp();
    let entries = [
        (
            "lab-result",
            "pathologist",
            Devnet::pathologist(),
            Some("MRN-000456"),
            json!({"test_code": "2345-7", "test_name": "Glucose", "value": "5.4", "unit": "mmol/L", "interpretation": "normal", "specimen": "serum", "collected_at": "2026-01-01T07:45:00Z"}),
        ),
        (
            "device-vital-sign",
            "device",
            Devnet::device(),
            Some("MRN-000123"),
            json!({"device_serial": "PM-88213", "heart_rate": 72, "spo2": 97, "temperature": "36.8", "measured_at": now}),
        ),
        (
            "drug-shipment-custody",
            "pharmacist",
            pharmacist,
            None,
            json!({"lot": "B2026-117", "gtin": "04012345678901", "event": "dispensed", "quantity": 2}),
        ),
    ];
    for (template, role, from, patient, fields) in entries {
        let ti = flow.ti(template, role, patient, fields);
        let tc = flow.anchor(&ti, from);
        if patient.is_none() {
            // The drug shipment's subject is its lot number, not a patient.
            assert_eq!(tc.patient, B256::ZERO);
            let call = EhrRegistry::anchorRecordCall::abi_decode(&tc.calldata).unwrap();
            assert_ne!(call.subject, B256::ZERO);
        }
    }
}

#[test]
fn a_pathologists_blood_pressure_is_refused_by_core_and_by_the_contract() {
    let mut flow = Flow::new();
    let ti = flow.ti("blood-pressure", "pathologist", Some("MRN-000123"), bp());
    // The core refuses the TI before any transaction exists...
    match flow.generate(&ti) {
        Err(GenerateError::Rejected(violations)) => assert!(
            violations
                .0
                .iter()
                .any(|v| matches!(v.kind, ViolationKind::RoleNotAllowed { .. }))
        ),
        other => panic!("expected a rejection, got {other:?}"),
    }
    // ...and the contract refuses the same call crafted by hand, from an
    // account that does hold the pathologist role.
    let template_id = ti.template_id;
    let call = EhrRegistry::anchorRecordCall {
        subject: flow.tg.pseudonym("MRN-000123"),
        templateId: template_id,
        tiId: ti.ti_id,
        recordHash: B256::repeat_byte(0xab),
        timestamp: ti.timestamp,
        role: role("pathologist"),
    };
    let receipt = flow.net.send(Devnet::pathologist(), &call).unwrap();
    assert!(!receipt.status());
    assert_eq!(
        receipt.registry_error(),
        Some(&E::EhrRegistryRoleNotAllowed(
            EhrRegistry::EhrRegistryRoleNotAllowed {
                templateId: template_id,
                role: role("pathologist"),
            }
        ))
    );
}

#[test]
fn a_replayed_ti_reverts_with_the_stored_hash() {
    let mut flow = Flow::new();
    let ti = flow.ti("blood-pressure", "doctor", Some("MRN-000123"), bp());
    let tc = flow.anchor(&ti, Devnet::doctor());
    flow.net.mine();
    // The same TC again (a retried submission)...
    let again = flow.net.execute_tc(&tc, Devnet::doctor()).unwrap();
    let used = E::EhrRegistryTiAlreadyUsed(EhrRegistry::EhrRegistryTiAlreadyUsed {
        tiId: ti.ti_id,
        storedRecordHash: tc.record_hash,
    });
    assert_eq!(again.registry_error(), Some(&used));
    // ...and the same TI sealed anew (another nonce, so another record hash):
    // the stored hash tells the validator which one is on chain.
    let resealed = flow.generate(&ti).unwrap();
    assert_ne!(resealed.record_hash, tc.record_hash);
    let receipt = flow.net.execute_tc(&resealed, Devnet::doctor()).unwrap();
    assert_eq!(receipt.registry_error(), Some(&used));
}

#[test]
fn a_tc_for_another_chain_is_not_executed() {
    let mut flow = Flow::new();
    let ti = flow.ti("blood-pressure", "doctor", Some("MRN-000123"), bp());
    let mut tc = flow.generate(&ti).unwrap();
    tc.chain_id = 1;
    assert_eq!(
        flow.net.execute_tc(&tc, Devnet::doctor()),
        Err(DevnetError::WrongChain {
            tx: 1,
            devnet: 1337
        })
    );
}

#[test]
fn generated_records_batch_and_verify_on_chain() {
    let mut flow = Flow::new();
    let mut builder = BatchBuilder::new();
    for i in 0..7 {
        let fields = json!({"systolic": 110 + i, "diastolic": 70 + i});
        let ti = flow.ti("blood-pressure", "nurse", Some("MRN-000789"), fields);
        builder
            .push(flow.generate(&ti).unwrap().record_hash)
            .unwrap();
    }
    let batch = builder.build(B256::repeat_byte(0xba)).unwrap();

    // Not anchored yet: the proof is well-formed but the chain does not know it.
    let proof = batch.proof(3).unwrap();
    assert!(matches!(
        proof.verify_on_chain(&mut flow.net),
        Err(ChainCheckError::Proof(ProofError::NotAnchored(_)))
    ));

    let tx = batch.anchor_transaction(flow.net.registry(), flow.net.chain_id());
    let receipt = flow
        .net
        .execute(Devnet::handshaker(), tx.to, tx.calldata)
        .unwrap();
    assert!(receipt.status(), "{:?}", receipt.failure);

    for i in 0..batch.leaf_count() {
        let proof = batch.proof(i).unwrap();
        // Rust, against the leaf count the registry stored beside the root...
        let anchored = proof.verify_on_chain(&mut flow.net).unwrap();
        assert_eq!((anchored.root, anchored.leaf_count), (batch.root(), 7));
        // ...and OpenZeppelin's MerkleProof in the EVM, deriving the leaf itself.
        let verify = EhrRegistry::verifyRecordCall {
            root: batch.root(),
            recordHash: proof.record_hash,
            proof: proof.siblings.clone(),
        };
        assert!(flow.net.view(&verify).unwrap(), "record {i}");
    }
    // A proof claiming another batch size fails against the stored leaf count.
    let mut wrong_count = batch.proof(2).unwrap();
    wrong_count.leaf_count = 8;
    assert!(matches!(
        wrong_count.verify_on_chain(&mut flow.net),
        Err(ChainCheckError::Proof(ProofError::LeafCountMismatch {
            anchored: 7,
            claimed: 8
        }))
    ));
}
