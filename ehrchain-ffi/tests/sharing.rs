//! Sharing through the C ABI on the devnet (issue 17's "done when"): a
//! patient grants a second hospital access to one template's records; the
//! first hospital seals a record's key for it through `ehr_share_check_*`
//! and records the disclosure (`ehr_disclosure_transaction`); the second
//! opens the record with its private key from a callback key store
//! (`ehr_receive_check_*`); the patient reads the accounting
//! (`ehr_accounting`), revokes, and no further capsule is made
//! (`EHR_CONSENT_REVOKED`). Those tests send the grants, revocations and
//! keys on a Rust devnet and make the reads the C functions name there;
//! the last one does the consent contract's own part through the C ABI on
//! a C devnet transport (`common/consent.rs`: deploying `EhrConsent`,
//! binding the patient, publishing the key, a grant signed by the patient's
//! key and relayed, one signed by another key refused).
#![cfg(feature = "devnet")]
#![allow(
    missing_docs,
    unsafe_code,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[path = "common/consent.rs"]
mod consent;
#[path = "../../ehrchain-core/tests/common/test_keys.rs"]
mod test_keys;

use std::ffi::{c_char, c_void};
use std::ptr::{null, null_mut};

use alloy_sol_types::SolCall;
use common::{assert_fails, ok, text_out};
use ehrchain_contracts::EhrConsent::{self, ConsentGrant};
use ehrchain_contracts::{Devnet, Receipt};
use ehrchain_core::authorship::{
    LocalSigner, RecordSignature, RecordStatement, SignedBatchBuilder, Signer, SigningDomain,
};
use ehrchain_core::capsule::{CapsuleSuite, RecipientPublicKey};
use ehrchain_core::sharing::{ChainRead, read_blocking};
use ehrchain_core::{
    Address, B256, Batch, BatchBuilder, Bytes, ChainTransaction, ErrorCode, InMemoryKeyStore,
    InitialTransaction, Role, TemplateRegistry, TransactionGenerator, UnixMillis,
};
use ehrchain_ffi::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};

/// The bytes a byte-output function writes.
fn bytes_out(f: impl FnOnce(*mut u8, usize, *mut usize) -> ehr_result) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0;
    ok(f(buf.as_mut_ptr(), buf.len(), &raw mut n));
    buf.truncate(n);
    buf
}

/// The recipient's private key behind a callback key store: the 32 bytes at
/// `userdata`.
unsafe extern "C" fn recipient_key(
    userdata: *mut c_void,
    _key_id: *const u8,
    _suite: u32,
    key_out: *mut u8,
) -> ehr_result {
    // SAFETY: userdata is the test's 32-byte key; key_out has 32 bytes.
    unsafe { std::ptr::copy_nonoverlapping(userdata.cast::<u8>(), key_out, 32) };
    ehr_result::OK
}

/// A store that holds no master key.
unsafe extern "C" fn no_master_key(
    _: *mut c_void,
    _: *const c_char,
    _: usize,
    _: *mut u8,
) -> ehr_result {
    ErrorCode::KeyUnknown.into()
}

/// A batched record's proof, in its binary form.
enum Proof<'a> {
    /// A plain batch's inclusion proof (`ehr_proof`).
    Plain(&'a [u8]),
    /// A signed batch's proof (`ehr_signed_proof`).
    Signed(&'a [u8]),
}

/// Reads a proof from its binary form with `read` (it must be well formed),
/// passes it to `check` and frees it with `free`; returns what `check` did.
///
/// # Safety
/// `read` and `free` are a C proof type's reader and its free.
unsafe fn with_proof<P>(
    bytes: &[u8],
    read: unsafe extern "C" fn(*const u8, usize, *mut *mut P) -> ehr_result,
    free: unsafe extern "C" fn(*mut P),
    check: impl FnOnce(*mut P) -> ehr_result,
) -> ehr_result {
    let mut p = null_mut();
    // SAFETY: bytes is valid for its length; p is freed once, below.
    unsafe {
        ok(read(bytes.as_ptr(), bytes.len(), &raw mut p));
        let rc = check(p);
        free(p);
        rc
    }
}

/// The capsule of `share` in its binary form; frees the share.
fn capsule_of(share: *mut ehr_share) -> Vec<u8> {
    let mut capsule = null_mut();
    // SAFETY: share is live; capsule is freed below.
    ok(unsafe { ehr_share_capsule(share, &raw mut capsule) });
    let bytes = bytes_out(|b, l, n| {
        // SAFETY: capsule is live.
        unsafe { ehr_capsule_to_bytes(capsule, b, l, n) }
    });
    // SAFETY: freed once.
    unsafe {
        ehr_capsule_free(capsule);
        ehr_share_free(share);
    }
    bytes
}

/// The evidence's `anchor` of a record anchored in a batch of `kind`
/// (`batch`, `signed_batch`) by `submitter` at `anchored_at` (Unix
/// seconds), with its `proof`.
fn batch_anchor(
    kind: &str,
    root: B256,
    leaf_count: usize,
    anchored_at: u64,
    submitter: Address,
    proof: &impl serde::Serialize,
) -> Value {
    json!({
        "kind": kind,
        "root": root,
        "leafCount": leaf_count,
        "anchoredAt": anchored_at * 1000,
        "submitter": submitter,
        "proof": serde_json::to_value(proof).unwrap(),
    })
}

/// B's published key pair and the two hospitals' key stores (freed on
/// drop).
struct Keys {
    /// B's private key, the userdata of B's callback store.
    _b_private: Box<[u8; 32]>,
    b_public: Vec<u8>,
    /// A's store: the records' master key.
    a: *mut ehr_key_store,
    /// B's callback store over its private key.
    b: *mut ehr_key_store,
}

impl Drop for Keys {
    fn drop(&mut self) {
        // SAFETY: each store is freed once, here.
        unsafe {
            ehr_key_store_free(self.a);
            ehr_key_store_free(self.b);
        }
    }
}

/// Two hospitals on one devnet with `EhrConsent`: A (the custodian) anchors
/// a record and holds its key; B receives; the patient is bound to the
/// record's pseudonym.
struct World {
    net: Devnet,
    consent: Address,
    hospital: Address,
    patient: Address,
    recipient: Address,
    subject: B256,
    templates: TemplateRegistry,
    tg: TransactionGenerator<InMemoryKeyStore>,
    context: ehr_sharing_context,
    /// The `eth_getLogs` form of every consent log, for the accounting.
    logs: Vec<Value>,
}

impl World {
    fn new() -> Self {
        let mut net = Devnet::new().unwrap();
        let consent = net.deploy_consent().unwrap();
        let hospital = Devnet::account("hospital");
        net.grant_role("custodian", hospital).unwrap();
        let templates = TemplateRegistry::with_built_ins(Some(ehrchain_contracts::abi())).unwrap();
        for template in templates.iter() {
            net.register_template(template).unwrap();
        }
        let tg = test_keys::test_generator("records", net.chain_id(), net.registry());
        let context = ehr_sharing_context {
            struct_size: size_of::<ehr_sharing_context>(),
            chain_id: net.chain_id(),
            registry: net.registry().0.0,
            consent: consent.0.0,
        };
        let mut world = Self {
            subject: tg.pseudonym("MRN-000123"),
            net,
            consent,
            hospital,
            patient: Devnet::account("patient"),
            recipient: Devnet::account("clinic-b"),
            templates,
            tg,
            context,
            logs: Vec::new(),
        };
        let bind = EhrConsent::bindPatientCall {
            subject: world.subject,
            account: world.patient,
        };
        world.send(hospital, &bind);
        world
    }

    /// Sends `call` to `EhrConsent` from `from`, keeps its logs and mines.
    fn send<C: SolCall>(&mut self, from: Address, call: &C) -> Receipt {
        self.send_raw(from, call.abi_encode())
    }

    fn send_raw(&mut self, from: Address, calldata: Vec<u8>) -> Receipt {
        let receipt = self
            .net
            .execute(from, self.consent, calldata.into())
            .unwrap();
        assert!(receipt.status(), "{:?}", receipt.consent_error());
        for log in receipt.chain_logs() {
            self.logs.push(json!({
                "address": log.address,
                "topics": log.topics,
                "data": log.data,
                "blockNumber": format!("{:#x}", log.block_number),
                "transactionHash": log.transaction_hash,
                "blockTimestamp": format!("{:#x}", receipt.block_timestamp),
            }));
        }
        self.net.mine();
        receipt
    }

    fn template(&self, name: &str) -> B256 {
        self.templates.latest(name).unwrap().id()
    }

    /// A blood-pressure record of the patient, anchored by a doctor of A.
    fn anchored_record(&mut self) -> ChainTransaction {
        let tc = self.record(0x71);
        assert!(self.net.execute_tc(&tc, Devnet::doctor()).unwrap().status());
        self.net.mine();
        tc
    }

    /// Blood-pressure records of the patient (TI ids `0x81…` on), anchored
    /// by A's handshaker as one Merkle batch; with the anchoring block's
    /// time (Unix seconds).
    fn batched_records(&mut self, n: u8) -> (Vec<ChainTransaction>, Batch, u64) {
        let tcs: Vec<_> = (0..n).map(|i| self.record(0x81 + i)).collect();
        let mut builder = BatchBuilder::new();
        for tc in &tcs {
            builder.push(tc.record_hash).unwrap();
        }
        let batch = builder.build(B256::repeat_byte(0xba)).unwrap();
        let tx = batch.anchor_transaction(self.net.registry(), self.net.chain_id());
        let receipt = self
            .net
            .execute(Devnet::handshaker(), tx.to, tx.calldata)
            .unwrap();
        assert!(receipt.status(), "{:?}", receipt.failure);
        self.net.mine();
        (tcs, batch, receipt.block_timestamp)
    }

    /// A blood-pressure record of the patient under TI id `ti_id` repeated,
    /// generated for a doctor of A (not anchored).
    fn record(&mut self, ti_id: u8) -> ChainTransaction {
        let ti = InitialTransaction {
            ti_id: B256::repeat_byte(ti_id),
            template_id: self.template("blood-pressure"),
            author_id: "doctor-1".into(),
            author_role: Role::new(Role::DOCTOR).unwrap(),
            patient_id: Some("MRN-000123".into()),
            timestamp: self.net.block_timestamp() - 30,
            fields: serde_json::from_value(
                json!({"systolic": 128, "diastolic": 84, "position": "sitting"}),
            )
            .unwrap(),
        };
        let now = UnixMillis::from_secs(self.net.block_timestamp());
        let mut rng = ChaCha20Rng::seed_from_u64(17);
        self.tg
            .generate(&self.templates, &ti, now, &mut rng)
            .unwrap()
    }

    /// B's key pair, made through C; B publishes its id, KEM and hash.
    /// With A's key store (the record's master key) and B's callback store.
    fn keys(&mut self) -> Keys {
        let suite = ehr_capsule_suite::EHR_CAPSULE_SUITE_X_WING as u32;
        let mut b_private = Box::new([0u8; 32]);
        // SAFETY: b_private holds 32 writable bytes.
        ok(unsafe { ehr_recipient_key_generate(suite, b_private.as_mut_ptr()) });
        let b_public = bytes_out(|b, l, n| {
            // SAFETY: b_private holds 32 bytes; b, l, n describe a buffer.
            unsafe { ehr_recipient_public_key(suite, b_private.as_ptr(), b, l, n) }
        });
        let published = RecipientPublicKey::from_bytes(CapsuleSuite::XWing, &b_public).unwrap();
        let publish = EhrConsent::publishRecipientKeyCall {
            keyId: published.key_id(),
            kem: published.suite().kem_id(),
            keyHash: published.key_hash(),
        };
        let recipient = self.recipient;
        self.send(recipient, &publish);
        let (mut a, mut b) = (null_mut(), null_mut());
        let b_callbacks = ehr_key_store_callbacks {
            struct_size: size_of::<ehr_key_store_callbacks>(),
            userdata: b_private.as_mut_ptr().cast(),
            master_key: Some(no_master_key),
            recipient_key: Some(recipient_key),
        };
        // SAFETY: the key id is its stated length; the key 32 bytes; the
        // callbacks' userdata (boxed in `Keys`) outlives the store.
        unsafe {
            ok(ehr_key_store_new(&raw mut a));
            ok(ehr_key_store_insert(
                a,
                "records".as_ptr().cast(),
                7,
                [0x11; 32].as_ptr(),
            ));
            ok(ehr_key_store_new_callbacks(
                &raw const b_callbacks,
                &raw mut b,
            ));
        }
        Keys {
            _b_private: b_private,
            b_public,
            a,
            b,
        }
    }

    /// B's keys, the patient's grant to B ([`World::grant`]) and the
    /// capsule A seals of `envelope` for B under it.
    fn granted_capsule(&mut self, envelope: &[u8]) -> (Keys, B256, Vec<u8>) {
        let keys = self.keys();
        let grant_id = self.grant();
        let share = self
            .share(envelope, grant_id, &keys.b_public, keys.a)
            .unwrap();
        (keys, grant_id, capsule_of(share))
    }

    /// The patient grants B the blood-pressure records for a day; the
    /// grant id.
    fn grant(&mut self) -> B256 {
        let now = self.net.block_timestamp();
        let grant = ConsentGrant {
            subject: self.subject,
            patient: self.patient,
            recipient: self.recipient,
            templateIds: vec![self.template("blood-pressure")],
            expiresAt: now + 86_400,
            nonce: 1,
            deadline: now + 3_600,
        };
        let patient = self.patient;
        let granted = self.send(patient, &EhrConsent::grantConsentCall { grant });
        granted.events::<EhrConsent::ConsentGranted>()[0].grantId
    }

    /// Makes the reads a C check names (its reads JSON) at the devnet's
    /// current block, and returns the answers JSON.
    fn answers(&mut self, reads_json: &str) -> String {
        let reads: Vec<ChainRead> = serde_json::from_str(reads_json).unwrap();
        serde_json::to_string(&read_blocking(&mut self.net, &reads).unwrap()).unwrap()
    }

    /// A checks consent and B's key through C and seals the record's key.
    fn share(
        &mut self,
        envelope: &[u8],
        grant_id: B256,
        public_key: &[u8],
        keys: *const ehr_key_store,
    ) -> Result<*mut ehr_share, ehr_result> {
        let (context, recipient) = (self.context, self.recipient);
        consent::share_check(
            &context,
            envelope,
            recipient,
            grant_id,
            public_key,
            keys,
            |reads| self.answers(reads),
        )
    }

    /// The evidence JSON of what [`World::receive`] received.
    fn evidence(
        &mut self,
        capsule: &[u8],
        proof: Option<Proof<'_>>,
        envelope: &[u8],
        keys: *const ehr_key_store,
    ) -> Result<Value, ehr_result> {
        let received = self.receive(capsule, proof, envelope, keys)?;
        let evidence = text_out(|b, l, n| {
            // SAFETY: received is live.
            unsafe { ehr_received_evidence(received, b, l, n) }
        });
        // SAFETY: freed once.
        unsafe { ehr_received_free(received) };
        Ok(serde_json::from_str(&evidence).unwrap())
    }

    /// B's evidence for a record of a batch opened with its `proof`; its
    /// `anchor` must be `anchor` (see `batch_anchor`).
    fn batch_evidence(
        &mut self,
        capsule: &[u8],
        proof: Proof<'_>,
        envelope: &[u8],
        keys: *const ehr_key_store,
        anchor: &Value,
    ) -> Value {
        let evidence = self.evidence(capsule, Some(proof), envelope, keys).unwrap();
        assert_eq!(evidence["anchor"], *anchor);
        evidence
    }

    /// B reads the capsule from its bytes and opens the record through C:
    /// a record anchored alone, or with its inclusion `proof` (binary form)
    /// one of a batch.
    fn receive(
        &mut self,
        capsule: &[u8],
        proof: Option<Proof<'_>>,
        envelope: &[u8],
        keys: *const ehr_key_store,
    ) -> Result<*mut ehr_received, ehr_result> {
        let (mut c, mut check, mut received) = (null_mut(), null_mut(), null_mut());
        // SAFETY: every pointer is valid for its stated length; the capsule,
        // the proof and the check are freed here.
        unsafe {
            ok(ehr_capsule_from_bytes(
                capsule.as_ptr(),
                capsule.len(),
                &raw mut c,
            ));
            let (context, recipient) = (&raw const self.context, self.recipient.0.0.as_ptr());
            let rc = match proof {
                None => ehr_receive_check_new(
                    context,
                    recipient,
                    c,
                    envelope.as_ptr(),
                    envelope.len(),
                    &raw mut check,
                ),
                Some(Proof::Plain(bytes)) => {
                    with_proof(bytes, ehr_proof_from_bytes, ehr_proof_free, |p| {
                        ehr_receive_check_new_batched(
                            context,
                            recipient,
                            c,
                            p,
                            envelope.as_ptr(),
                            envelope.len(),
                            &raw mut check,
                        )
                    })
                }
                Some(Proof::Signed(bytes)) => with_proof(
                    bytes,
                    ehr_signed_proof_from_bytes,
                    ehr_signed_proof_free,
                    |p| {
                        ehr_receive_check_new_signed(
                            context,
                            recipient,
                            c,
                            p,
                            envelope.as_ptr(),
                            envelope.len(),
                            &raw mut check,
                        )
                    },
                ),
            };
            if rc != ehr_result::OK {
                assert!(check.is_null());
                ehr_capsule_free(c);
                return Err(rc);
            }
            let reads = text_out(|b, l, n| ehr_receive_check_reads(check, b, l, n));
            let answers = self.answers(&reads);
            let rc = ehr_receive_check_open(
                check,
                answers.as_ptr().cast(),
                answers.len(),
                keys,
                &raw mut received,
            );
            ehr_receive_check_free(check);
            ehr_capsule_free(c);
            if rc == ehr_result::OK {
                Ok(received)
            } else {
                Err(rc)
            }
        }
    }
}

#[test]
fn a_patient_grants_b_opens_a_record_of_a_through_c_sees_it_revokes_and_no_capsule_follows() {
    let mut w = World::new();
    let record = w.anchored_record();
    let envelope = record.envelope.as_bytes().to_vec();

    let keys = w.keys();
    let (b_public, a_keys, b_keys) = (&keys.b_public, keys.a, keys.b);

    // No grant yet: no capsule.
    let refused = w.share(&envelope, B256::repeat_byte(1), b_public, a_keys);
    assert_fails(
        refused.unwrap_err(),
        ErrorCode::ConsentNoGrant,
        "the patient must grant access first",
    );

    // The patient grants B the blood-pressure records for a day.
    let grant_id = w.grant();

    // A seals the record's key for B and records the disclosure.
    let share = w.share(&envelope, grant_id, b_public, a_keys).unwrap();
    let share_json: Value =
        // SAFETY: share is a live share.
        serde_json::from_str(&text_out(|b, l, n| unsafe { ehr_share_to_json(share, b, l, n) }))
            .unwrap();
    assert_eq!(share_json["authority"], json!({"grant": grant_id}));
    assert_eq!(share_json["disclosure"]["recipient"], json!(w.recipient));
    assert_eq!(
        share_json["disclosure"]["recordHash"],
        json!(record.record_hash)
    );
    assert_eq!(
        share_json["checkedAt"]["number"],
        json!(w.net.block_number())
    );
    let shares = [share.cast_const()];
    let tx: Value = serde_json::from_str(&text_out(|b, l, n| {
        // SAFETY: context and the one share are live.
        unsafe { ehr_disclosure_transaction(&raw const w.context, shares.as_ptr(), 1, b, l, n) }
    }))
    .unwrap();
    assert_eq!(
        (&tx["chainId"], &tx["to"]),
        (&json!(w.net.chain_id()), &json!(w.consent))
    );
    let calldata: Bytes = serde_json::from_value(tx["calldata"].clone()).unwrap();
    let hospital = w.hospital;
    let disclosed = w.send_raw(hospital, calldata.to_vec());
    let capsule_bytes = capsule_of(share);

    // B opens the record with its key from the callback store and checks it
    // against the chain.
    let received = w.receive(&capsule_bytes, None, &envelope, b_keys).unwrap();
    let plaintext = bytes_out(|b, l, n| {
        // SAFETY: received is live.
        unsafe { ehr_received_record(received, b, l, n) }
    });
    assert_eq!(
        plaintext,
        record
            .envelope
            .open(w.tg.key_store())
            .unwrap()
            .as_slice()
            .to_vec()
    );
    let evidence: Value = serde_json::from_str(&text_out(|b, l, n| {
        // SAFETY: received is live.
        unsafe { ehr_received_evidence(received, b, l, n) }
    }))
    .unwrap();
    assert_eq!(
        evidence,
        json!({
            "chainId": w.net.chain_id(),
            "registry": w.net.registry(),
            "consent": w.consent,
            "recordHash": record.record_hash,
            "tiId": record.ti_id,
            "subject": w.subject,
            "templateId": w.template("blood-pressure"),
            "authority": {"grant": grant_id},
            "capsuleDigest": share_json["disclosure"]["capsuleDigest"],
            "anchor": {"kind": "record"},
            "checkedAt": {"number": w.net.block_number(), "time": w.net.block_timestamp() * 1000},
        })
    );
    // SAFETY: freed once.
    unsafe { ehr_received_free(received) };

    // The patient's accounting: the requests, then the logs they return.
    let requests: Value = serde_json::from_str(&text_out(|b, l, n| {
        // SAFETY: consent holds 20 bytes, subject 32.
        unsafe {
            ehr_accounting_requests(w.consent.0.0.as_ptr(), w.subject.0.as_ptr(), 0, 5, b, l, n)
        }
    }))
    .unwrap();
    assert_eq!(requests[0]["method"], "eth_getLogs");
    assert_eq!(requests[1]["id"], 6);
    assert_eq!(requests[0]["params"][0]["address"], json!(w.consent));
    let logs = json!([w.logs]).to_string();
    let accounting: Value = serde_json::from_str(&text_out(|b, l, n| {
        // SAFETY: consent holds 20 bytes, subject 32, logs its length.
        unsafe {
            ehr_accounting(
                w.consent.0.0.as_ptr(),
                w.subject.0.as_ptr(),
                logs.as_ptr().cast(),
                logs.len(),
                b,
                l,
                n,
            )
        }
    }))
    .unwrap();
    assert_eq!(
        accounting["disclosures"],
        json!([{
            "recipient": w.recipient,
            "recordHash": record.record_hash,
            "templateId": w.template("blood-pressure"),
            "authority": {"grant": grant_id},
            "capsuleDigest": share_json["disclosure"]["capsuleDigest"],
            "custodian": w.hospital,
            "blockNumber": disclosed.block_number,
            "transactionHash": disclosed.tx_hash,
            "blockTime": disclosed.block_timestamp * 1000,
        }])
    );
    assert_eq!(accounting["grants"][0]["grantId"], json!(grant_id));
    assert_eq!(accounting["grants"][0]["revokedIn"], Value::Null);

    // The patient revokes; once mined, no capsule is made and B's check of
    // the capsule it has fails on the grant.
    let patient = w.patient;
    w.send(
        patient,
        &EhrConsent::revokeConsentCall { grantId: grant_id },
    );
    let refused = w.share(&envelope, grant_id, b_public, a_keys);
    assert_fails(
        refused.unwrap_err(),
        ErrorCode::ConsentRevoked,
        "was revoked by the patient",
    );
    let refused = w.receive(&capsule_bytes, None, &envelope, b_keys);
    assert_eq!(refused.unwrap_err(), ErrorCode::ConsentRevoked);
}

#[test]
fn b_receives_a_record_of_a_batch_through_c_with_its_proof_and_the_evidence_names_the_batch() {
    let mut w = World::new();
    let (tcs, batch, anchored_at) = w.batched_records(3);
    let (record, proof) = (&tcs[1], batch.proof(1).unwrap());
    let envelope = record.envelope.as_bytes().to_vec();
    let (keys, grant_id, capsule) = w.granted_capsule(&envelope);

    // Anchored alone it is not: without its proof B's check refuses it.
    let refused = w.receive(&capsule, None, &envelope, keys.b);
    assert_eq!(refused.unwrap_err(), ErrorCode::RecordNotAnchored);

    let anchor = batch_anchor(
        "batch",
        batch.root(),
        3,
        anchored_at,
        Devnet::handshaker(),
        &proof,
    );
    let bytes = proof.to_bytes();
    let evidence = w.batch_evidence(&capsule, Proof::Plain(&bytes), &envelope, keys.b, &anchor);
    assert_eq!(evidence["recordHash"], json!(record.record_hash));
    assert_eq!(evidence["authority"], json!({"grant": grant_id}));

    // Another record's proof; a batch never anchored.
    let other = batch.proof(0).unwrap().to_bytes();
    let refused = w.receive(&capsule, Some(Proof::Plain(&other)), &envelope, keys.b);
    assert_fails(
        refused.unwrap_err(),
        ErrorCode::ProofInvalid,
        "ask the holder for this record's proof",
    );
    let mut builder = BatchBuilder::new();
    builder.push(record.record_hash).unwrap();
    let alone = builder.build(B256::repeat_byte(0xbb)).unwrap();
    let refused = w.receive(
        &capsule,
        Some(Proof::Plain(&alone.proof(0).unwrap().to_bytes())),
        &envelope,
        keys.b,
    );
    assert_eq!(refused.unwrap_err(), ErrorCode::ProofNotAnchored);
}

#[test]
fn b_receives_a_record_of_a_signed_batch_through_c_with_its_signed_proof() {
    let mut w = World::new();
    // A doctor with a key of their own signs two records; a gateway relays
    // them as one signed batch.
    let doctor = LocalSigner::from_bytes(&[0x21; 32]).unwrap();
    w.net.grant_role("doctor", doctor.address()).unwrap();
    let gateway = Devnet::account("gateway");
    w.net.grant_role("relayer", gateway).unwrap();
    let domain = SigningDomain {
        chain_id: w.net.chain_id(),
        registry: w.net.registry(),
    };
    let tcs = [w.record(0x91), w.record(0x92)];
    let mut builder = SignedBatchBuilder::new(domain);
    for tc in &tcs {
        let statement = RecordStatement {
            tiId: tc.ti_id,
            templateId: w.template("blood-pressure"),
            recordHash: tc.record_hash,
            subject: w.subject,
            role: Role::new(Role::DOCTOR).unwrap().id(),
            author: doctor.address(),
            timestamp: w.net.block_timestamp() - 30,
        };
        let digest = statement.signing_hash(&domain);
        let signature = RecordSignature::from_slice(&doctor.sign_digest(&digest.0).unwrap());
        builder.push(statement, signature.unwrap()).unwrap();
    }
    let batch = builder.build(B256::repeat_byte(0xbd)).unwrap();
    let tx = batch.anchor_transaction();
    let anchored = w.net.execute(gateway, tx.to, tx.calldata).unwrap();
    assert!(anchored.status(), "{:?}", anchored.failure);
    w.net.mine();

    let envelope = tcs[1].envelope.as_bytes().to_vec();
    let (keys, _, capsule) = w.granted_capsule(&envelope);
    let proof = batch.proof(1).unwrap();
    let at = anchored.block_timestamp;
    let anchor = batch_anchor("signed_batch", batch.root(), 2, at, gateway, &proof);
    let bytes = proof.to_bytes();
    w.batch_evidence(&capsule, Proof::Signed(&bytes), &envelope, keys.b, &anchor);
    // Another record's signed proof.
    let other = batch.proof(0).unwrap().to_bytes();
    let refused = w.receive(&capsule, Some(Proof::Signed(&other)), &envelope, keys.b);
    assert_eq!(refused.unwrap_err(), ErrorCode::ProofInvalid);
}

#[test]
fn a_devnet_transport_answers_reads_at_its_newest_block_and_requests_pin_the_block() {
    let (mut transport, mut chain_id, mut registry) = (null_mut(), 0, [0u8; 20]);
    // SAFETY: the out pointers are writable; the transport is freed below.
    unsafe {
        ok(ehr_transport_new_devnet(null(), &raw mut transport));
        ok(ehr_transport_chain(
            transport,
            &raw mut chain_id,
            registry.as_mut_ptr(),
        ));
    }
    let call = ehrchain_contracts::EhrRegistry::recordHashOfCall {
        tiId: B256::repeat_byte(9),
    };
    let reads =
        json!([{"to": Address::from(registry), "calldata": Bytes::from(call.abi_encode())}])
            .to_string();
    let answers: Value = serde_json::from_str(&text_out(|b, l, n| {
        // SAFETY: transport is live; reads its length.
        unsafe { ehr_transport_read(transport, reads.as_ptr().cast(), reads.len(), b, l, n) }
    }))
    .unwrap();
    assert_eq!(answers["answers"], json!([B256::ZERO]));
    let requests: Value = serde_json::from_str(&text_out(|b, l, n| {
        // SAFETY: reads its length.
        unsafe { ehr_chain_reads_requests(reads.as_ptr().cast(), reads.len(), 42, 1, b, l, n) }
    }))
    .unwrap();
    assert_eq!(
        requests,
        json!([{"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [
            {"to": Address::from(registry), "data": Bytes::from(call.abi_encode())},
            "0x2a"
        ]}])
    );
    // Not JSON of reads: EHR_INVALID_JSON.
    let mut n = 0;
    let mut buf = [0u8; 16];
    // SAFETY: the text is its length; buf holds 16 bytes.
    let rc = unsafe {
        ehr_transport_read(
            transport,
            "{}".as_ptr().cast(),
            2,
            buf.as_mut_ptr().cast(),
            16,
            &raw mut n,
        )
    };
    assert_eq!(rc, ErrorCode::InvalidJson);
    // SAFETY: freed once.
    unsafe { ehr_transport_free(transport) };
}

#[test]
fn the_consent_contract_is_deployed_a_patient_bound_a_key_published_and_a_grant_relayed_through_c()
{
    let mut t = null_mut();
    let (mut chain_id, mut registry) = (0u64, [0u8; 20]);
    // SAFETY: the out pointers are writable; the transport is freed below.
    unsafe {
        ok(ehr_transport_new_devnet(null(), &raw mut t));
        ok(ehr_transport_chain(
            t,
            &raw mut chain_id,
            registry.as_mut_ptr(),
        ));
    }
    let account = |name: &str| {
        let mut address = [0u8; 20];
        // SAFETY: name is its length; address 20 writable bytes.
        ok(unsafe { ehr_devnet_account(name.as_ptr().cast(), name.len(), address.as_mut_ptr()) });
        Address::from(address)
    };
    let parties = consent::Parties {
        admin: account("admin"),
        custodian: account("hospital"),
        recipient: account("clinic-b"),
        relayer: account("relayer"),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let grant_role = |role: &str, account: Address| {
        // SAFETY: role is its length; account 20 bytes.
        ok(unsafe {
            ehr_transport_devnet_grant_role(
                t,
                role.as_ptr().cast(),
                role.len(),
                account.0.0.as_ptr(),
            )
        });
    };
    // A record of the patient's, sealed under the key `records` (0x11…).
    let consented = consent::consent_flow_for_a_record(t, &parties, grant_role, now);
    assert_eq!(consented.context.chain_id, chain_id);
    assert_ne!(consented.grant_id, B256::ZERO);
    // SAFETY: freed once.
    unsafe { ehr_transport_free(t) };
}

/// The consent statement the core pins (consent_abi's test
/// `a_fixed_statement_s_encodings_as_the_bindings_pin_them`, which the npm
/// tests check too): C gives the same grant id and revocation digest.
#[test]
fn a_fixed_consent_statement_has_the_cores_pinned_digests_in_c() {
    let context = ehr_sharing_context {
        chain_id: 1337,
        registry: [0xEE; 20],
        consent: [0x43; 20],
        ..ehr_sharing_context::default()
    };
    let digest = |statement: &Value| {
        let (rc, digest) = consent::signing_digest(&context, &statement.to_string());
        ok(rc);
        digest
    };
    let grant_id = digest(&json!({
        "subject": B256::repeat_byte(7), "patient": Address::repeat_byte(1),
        "recipient": Address::repeat_byte(2), "templateIds": [B256::repeat_byte(3)],
        "expiresAt": 1_767_312_000, "nonce": 1, "deadline": 1_767_229_200,
    }));
    assert_eq!(
        grant_id.to_string(),
        "0x2574be0bee562adcc401bed0c4568997655e9d71b98afcd71689dceeb61beb2e"
    );
    let revocation = digest(&json!({
        "grantId": grant_id, "patient": Address::repeat_byte(1), "deadline": 1_767_229_200,
    }));
    assert_eq!(
        revocation.to_string(),
        "0x2bba36f9548e1896cd8067d005c0ce7ed22b947d5a5cfd5e82d38968453ed8a1"
    );
}
