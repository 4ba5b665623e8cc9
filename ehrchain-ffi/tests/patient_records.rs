//! A patient's records found from their account through the C ABI on the
//! devnet: the hospital anchors two readings of one patient, one of
//! another patient and a batch root; it binds the patient's account to the
//! first pseudonym, and to the second then unbinds it. The three C
//! functions (`ehr_patient_bindings_request`, `ehr_patient_records_request`,
//! `ehr_patient_records`) name the `eth_getLogs` requests and read the
//! logs: the first patient's two readings, oldest first; nothing of the
//! other patient, nor of the batch (which names no pseudonym).
#![cfg(feature = "devnet")]
#![allow(
    missing_docs,
    unsafe_code,
    clippy::unwrap_used,
    clippy::indexing_slicing
)]

#[path = "../../ehrchain-core/tests/common/test_keys.rs"]
mod test_keys;

use std::ffi::c_char;

use alloy_sol_types::{SolCall, SolEvent};
use ehrchain_contracts::EhrConsent;
use ehrchain_contracts::EhrRegistry::{self, RecordAnchored};
use ehrchain_contracts::{Devnet, Receipt};
use ehrchain_core::sharing::ChainLog;
use ehrchain_core::{
    Address, B256, ChainTransaction, InitialTransaction, Role, TemplateRegistry, UnixMillis,
};
use ehrchain_ffi::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};

/// The text a text-output function writes (without its NUL), or its
/// result code with the last error.
fn text_out(f: impl FnOnce(*mut c_char, usize, *mut usize) -> ehr_result) -> String {
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0;
    let rc = f(buf.as_mut_ptr().cast(), buf.len(), &raw mut n);
    let last_error = || {
        let mut error = vec![0u8; 4096];
        let mut m = 0;
        // SAFETY: error holds 4096 writable bytes.
        unsafe { ehr_last_error(error.as_mut_ptr().cast(), error.len(), &raw mut m) };
        String::from_utf8_lossy(&error[..m]).into_owned()
    };
    assert_eq!(rc, ehr_result::OK, "{}", last_error());
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// The logs of `receipt` as `eth_getLogs` lists them.
fn rpc_logs(receipt: &Receipt) -> Vec<Value> {
    receipt
        .chain_logs()
        .iter()
        .map(|log: &ChainLog| {
            json!({
                "address": log.address, "topics": log.topics, "data": log.data,
                "blockNumber": format!("{:#x}", log.block_number), "transactionHash": log.transaction_hash,
                "removed": false,
            })
        })
        .collect()
}

struct World {
    net: Devnet,
    consent: Address,
    templates: TemplateRegistry,
    tg: ehrchain_core::TransactionGenerator<ehrchain_core::InMemoryKeyStore>,
    /// `eth_getLogs` of the consent contract's and the registry's logs.
    bound: Vec<Value>,
    anchored: Vec<Value>,
}

impl World {
    fn new() -> Self {
        let mut net = Devnet::new().unwrap();
        let consent = net.deploy_consent().unwrap();
        net.grant_role("custodian", Devnet::handshaker()).unwrap();
        let templates = TemplateRegistry::with_built_ins(Some(ehrchain_contracts::abi())).unwrap();
        for template in templates.iter() {
            net.register_template(template).unwrap();
        }
        let tg = test_keys::test_generator("records", net.chain_id(), net.registry());
        Self {
            net,
            consent,
            templates,
            tg,
            bound: Vec::new(),
            anchored: Vec::new(),
        }
    }

    /// A doctor's blood-pressure reading of `patient`, anchored on its own.
    /// Its TC, with the block that anchored it and its time (seconds).
    fn reading(&mut self, ti_id: u8, patient: &str) -> (ChainTransaction, u64, u64) {
        let timestamp = self.net.block_timestamp() - 30;
        let ti = InitialTransaction {
            ti_id: B256::repeat_byte(ti_id),
            template_id: self.templates.latest("blood-pressure").unwrap().id(),
            author_id: "doctor-1".into(),
            author_role: Role::new(Role::DOCTOR).unwrap(),
            patient_id: Some(patient.into()),
            timestamp,
            fields: serde_json::from_value(
                json!({"systolic": 128, "diastolic": 84, "position": "sitting"}),
            )
            .unwrap(),
        };
        let now = UnixMillis::from_secs(self.net.block_timestamp());
        let mut rng = ChaCha20Rng::seed_from_u64(u64::from(ti_id));
        let tc = self
            .tg
            .generate(&self.templates, &ti, now, &mut rng)
            .unwrap();
        let receipt = self.net.execute_tc(&tc, Devnet::doctor()).unwrap();
        assert!(receipt.status());
        self.anchored.extend(rpc_logs(&receipt));
        self.net.mine();
        (tc, receipt.block_number, timestamp)
    }

    /// Sends `call` to `EhrConsent` from the custodian and keeps its logs.
    fn consent_call<C: SolCall>(&mut self, call: &C) {
        let receipt = self
            .net
            .execute(Devnet::handshaker(), self.consent, call.abi_encode().into())
            .unwrap();
        assert!(receipt.status(), "{:?}", receipt.consent_error());
        self.bound.extend(rpc_logs(&receipt));
        self.net.mine();
    }
}

#[test]
fn the_records_of_the_pseudonyms_an_account_is_bound_to_through_c() {
    let mut w = World::new();
    let patient = Devnet::account("patient");
    let registry = w.net.registry();
    let first = w.reading(0x71, "MRN-000123");
    w.reading(0x72, "MRN-000456");
    let root = B256::repeat_byte(0xaa);
    let batch = EhrRegistry::anchorBatchCall {
        root,
        leafCount: 2,
        batchId: B256::repeat_byte(0xbb),
    };
    let receipt = w.net.send(Devnet::handshaker(), &batch).unwrap();
    assert!(receipt.status());
    w.anchored.extend(rpc_logs(&receipt));
    w.net.mine();
    let second = w.reading(0x73, "MRN-000123");
    let subject = w.tg.pseudonym("MRN-000123");
    let other = w.tg.pseudonym("MRN-000456");
    w.consent_call(&EhrConsent::bindPatientCall {
        subject,
        account: patient,
    });
    w.consent_call(&EhrConsent::bindPatientCall {
        subject: other,
        account: patient,
    });
    w.consent_call(&EhrConsent::unbindPatientCall {
        subject: other,
        account: patient,
    });

    // The first request: the account's bindings on EhrConsent.
    let request: Value = serde_json::from_str(&text_out(|b, l, n| {
        // SAFETY: consent and patient hold 20 bytes.
        unsafe {
            ehr_patient_bindings_request(
                w.consent.0.0.as_ptr(),
                patient.0.0.as_ptr(),
                0,
                4,
                b,
                l,
                n,
            )
        }
    }))
    .unwrap();
    assert_eq!(
        request,
        json!({"jsonrpc": "2.0", "id": 4, "method": "eth_getLogs", "params": [{
            "address": w.consent, "fromBlock": "0x0", "toBlock": "latest",
            "topics": [
                [EhrConsent::PatientBound::SIGNATURE_HASH, EhrConsent::PatientUnbound::SIGNATURE_HASH],
                null, patient.into_word()
            ]
        }]})
    );

    // The second: the records of the one pseudonym still bound.
    let bound = Value::from(w.bound.clone()).to_string();
    let request: Value = serde_json::from_str(&text_out(|b, l, n| {
        // SAFETY: the addresses hold 20 bytes, bound its length.
        unsafe {
            ehr_patient_records_request(
                registry.0.0.as_ptr(),
                w.consent.0.0.as_ptr(),
                patient.0.0.as_ptr(),
                bound.as_ptr().cast(),
                bound.len(),
                2,
                5,
                b,
                l,
                n,
            )
        }
    }))
    .unwrap();
    assert_eq!(
        request["params"],
        json!([{
            "address": registry, "fromBlock": "0x2", "toBlock": "latest",
            "topics": [RecordAnchored::SIGNATURE_HASH, null, null, [subject]]
        }])
    );

    // The records, from both answers.
    let anchored = Value::from(w.anchored.clone()).to_string();
    let records: Value = serde_json::from_str(&text_out(|b, l, n| {
        // SAFETY: the addresses hold 20 bytes, the JSON texts their lengths.
        unsafe {
            ehr_patient_records(
                registry.0.0.as_ptr(),
                w.consent.0.0.as_ptr(),
                patient.0.0.as_ptr(),
                bound.as_ptr().cast(),
                bound.len(),
                anchored.as_ptr().cast(),
                anchored.len(),
                b,
                l,
                n,
            )
        }
    }))
    .unwrap();
    let entry = |(tc, block, timestamp): &(ChainTransaction, u64, u64)| {
        let log = w
            .anchored
            .iter()
            .find(|l| l["topics"][1] == json!(tc.ti_id))
            .unwrap();
        json!({
            "tiId": tc.ti_id, "templateId": tc.template_id, "subject": subject, "recordHash": tc.record_hash,
            "role": Role::new(Role::DOCTOR).unwrap().id(), "roleName": "doctor", "author": Devnet::doctor(),
            "timestamp": timestamp * 1000, "blockNumber": block, "transactionHash": log["transactionHash"],
        })
    };
    assert_eq!(
        records,
        json!({"pseudonyms": [subject], "records": [entry(&first), entry(&second)]})
    );
}
