//! A node's answers to sharing's reads and to `eth_getLogs` (untrusted).
//!
//! The input is read twice: as the JSON of an `eth_getLogs` answer, which
//! `ChainLog::from_rpc`, the accounting and the patient's records must
//! take without panicking (listing no more entries than logs, and no record
//! of a pseudonym the account is not bound to); and, cut in three, as the return
//! data of a holder's and a recipient's reads, which `ShareCheck::seal` and
//! `ReceiveCheck::open` must judge without panicking. A capsule sealed from
//! such answers names its own digest in its disclosure and opens for the
//! recipient's key; and as the record of a batch, with its inclusion proof.
#![no_main]

use ehrchain_core::capsule::Authority;
use ehrchain_core::envelope::EnvelopeBinding;
use ehrchain_core::sharing::{
    AccountingQuery, ChainLog, MinedBlock, PatientRecordsQuery, ReadAnswers, ReceiveCheck,
    ShareCheck, SharingContext,
};
use ehrchain_core::rpc::BlockTag;
use ehrchain_core::{Address, B256, BatchBuilder, Bytes, Envelope, InclusionProof, KeyId};
use ehrchain_fuzz::{NOW, SEALING_KEY_ID, capsule_keys, config, key_store, rng, sealing_key};
use libfuzzer_sys::fuzz_target;

/// The inclusion proof of `envelope`'s record as the second of two.
fn batch_proof(envelope: &Envelope) -> Option<InclusionProof> {
    let mut builder = BatchBuilder::new();
    builder.push(B256::repeat_byte(0x31)).ok()?;
    builder.push(envelope.record_hash()).ok()?;
    builder.build(B256::repeat_byte(0xba)).ok()?.proof(1).ok()
}

fuzz_target!(|data: &[u8]| {
    let context = SharingContext {
        chain_id: config().chain_id,
        registry: config().registry,
        consent: Address::repeat_byte(0xc0),
    };
    if let Ok(value) = serde_json::from_slice(data) {
        if let Ok(logs) = ChainLog::from_rpc(&value) {
            let query = AccountingQuery {
                consent: context.consent,
                subject: B256::repeat_byte(1),
            };
            let accounting = query.accounting(&logs);
            assert!(
                accounting.disclosures.len() + accounting.grants.len() <= logs.len(),
                "the accounting lists more than the logs hold"
            );
            let patient = PatientRecordsQuery {
                registry: context.registry,
                consent: context.consent,
                patient: Address::repeat_byte(0x21),
            };
            let _ = patient.records_request(&logs, BlockTag::Number(0), BlockTag::Latest);
            let found = patient.records(&logs, &logs);
            assert!(
                found.pseudonyms.len() + found.records.len() <= logs.len(),
                "the patient's records list more than the logs hold"
            );
            assert!(
                found.records.iter().all(|r| found.pseudonyms.contains(&r.subject)),
                "a record of a pseudonym the account is not bound to"
            );
        }
    }
    let Ok(key_id) = KeyId::new(SEALING_KEY_ID) else {
        return;
    };
    let binding = EnvelopeBinding {
        key_id,
        patient: B256::repeat_byte(1),
        template_id: B256::repeat_byte(2),
        ti_id: B256::repeat_byte(3),
    };
    let Ok(envelope) = Envelope::seal(&binding, &sealing_key(), [9; 12], b"HbA1c 6.1 %") else {
        return;
    };
    let (first, rest) = data.split_at(data.len() / 3);
    let (second, third) = rest.split_at(rest.len() / 2);
    let answers = ReadAnswers {
        block: MinedBlock {
            number: 1,
            time: NOW,
        },
        answers: [first, second, third]
            .into_iter()
            .map(Bytes::copy_from_slice)
            .collect(),
    };
    let recipient = Address::repeat_byte(0xb0);
    let keys = capsule_keys();
    let Some(key) = keys.last() else {
        return;
    };
    for authority in [
        Authority::Grant(B256::repeat_byte(0x47)),
        Authority::Emergency,
    ] {
        let check = ShareCheck::new(&context, &envelope, recipient, authority);
        match check.seal(&answers, key.public_key(), &key_store(), &mut rng()) {
            Ok(share) => {
                assert_eq!(share.disclosure.capsuleDigest, share.capsule.digest());
                let received =
                    ReceiveCheck::new(&context, recipient, share.capsule, envelope.clone());
                // The same record as a leaf of a batch: the third answer is
                // then `batchOf`'s.
                let batched =
                    batch_proof(&envelope).map(|proof| received.clone().with_proof(proof));
                for check in [Some(Ok(received)), batched].into_iter().flatten() {
                    if let Err(e) = check.and_then(|c| c.open(&answers, key)) {
                        let _ = (e.to_string(), e.code());
                    }
                }
            }
            Err(e) => {
                let _ = (e.to_string(), e.code());
            }
        }
    }
});
