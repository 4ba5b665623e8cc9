//! Sharing a record with consent on the devnet (issue 17's "done when"): a
//! patient grants a second hospital access to one template's records by a
//! signed statement a relayer sends; the first hospital seals a record's key
//! for it only after reading consent and its published key at a mined block,
//! and records the disclosure; the second hospital opens the record and
//! checks it against the chain; the patient sees the disclosure in the
//! accounting, revokes, and no further capsule can be made.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use alloy_primitives::{Address, B256, Bytes};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use common::consent::{Setup, setup};
use common::{built_ins, generator};
use ehrchain_contracts::EhrConsent::{self, ConsentGrant, ConsentRevocation};
use ehrchain_contracts::{Devnet, Receipt};
use ehrchain_core::authorship::{
    RecordSignature, RecordStatement, SignedBatchBuilder, SignedRecordProof, SigningDomain,
};
use ehrchain_core::batch::ProofError;
use ehrchain_core::capsule::{Authority, CapsuleSuite, KeyCapsule, RecipientPrivateKey};
use ehrchain_core::sharing::{
    AccountingQuery, AnchorEvidence, ChainLog, DisclosureEntry, ReceiveCheck, Received, Share,
    ShareCheck, SharingContext, SharingError, disclosure_transaction, read_blocking,
};
use ehrchain_core::{
    BatchBuilder, ChainTransaction, Envelope, ErrorCode, InMemoryKeyStore, InclusionProof,
    InitialTransaction, Role, TemplateRegistry, TransactionGenerator, UnixMillis,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::json;

/// Two hospitals on one devnet: A anchors records and holds them (the
/// custodian), B receives; the patient is bound to the pseudonym of their
/// records at A.
struct Sharing {
    s: Setup,
    templates: TemplateRegistry,
    tg: TransactionGenerator<InMemoryKeyStore>,
    rng: ChaCha20Rng,
    context: SharingContext,
    /// B's private key, whose public key B published.
    b_key: RecipientPrivateKey,
    /// The logs the patient's accounting is read from.
    logs: Vec<ChainLog>,
}

impl Sharing {
    fn new() -> Self {
        let mut s = setup();
        let templates = built_ins();
        for template in templates.iter() {
            s.net.register_template(template).unwrap();
        }
        let tg = generator(s.net.chain_id(), s.net.registry());
        // The patient of MRN-000123 is bound to its pseudonym by A.
        s.subject = tg.pseudonym("MRN-000123");
        let bind = EhrConsent::bindPatientCall {
            subject: s.subject,
            account: s.patient.address(),
        };
        assert!(s.send(s.hospital, &bind).status());
        let mut rng = ChaCha20Rng::seed_from_u64(17);
        let b_key = RecipientPrivateKey::generate(CapsuleSuite::XWing, &mut rng);
        let context = SharingContext {
            chain_id: s.net.chain_id(),
            registry: s.net.registry(),
            consent: s.consent,
        };
        let mut sharing = Self {
            s,
            templates,
            tg,
            rng,
            context,
            b_key,
            logs: Vec::new(),
        };
        let public = sharing.b_key.public_key().clone();
        sharing.publish_key(&public);
        sharing
    }

    /// B publishes `key` (its id, KEM and SHA-256).
    fn publish_key(&mut self, key: &ehrchain_core::capsule::RecipientPublicKey) {
        let call = EhrConsent::publishRecipientKeyCall {
            keyId: key.key_id(),
            kem: key.suite().kem_id(),
            keyHash: key.key_hash(),
        };
        let recipient = self.s.recipient;
        assert!(self.s.send(recipient, &call).status());
        self.s.net.mine();
    }

    /// A record of `template` for the patient, anchored by A's `role`.
    fn anchored(
        &mut self,
        template: &str,
        role: &str,
        fields: serde_json::Value,
    ) -> ChainTransaction {
        let tc = self.generated(template, role, fields);
        let from = if role == Role::DOCTOR {
            Devnet::doctor()
        } else {
            Devnet::pathologist()
        };
        assert!(self.s.net.execute_tc(&tc, from).unwrap().status());
        self.s.net.mine();
        tc
    }

    /// A record of `template` for the patient, not anchored.
    fn generated(
        &mut self,
        template: &str,
        role: &str,
        fields: serde_json::Value,
    ) -> ChainTransaction {
        let mut ti_id = B256::ZERO;
        rand_core::RngCore::fill_bytes(&mut self.rng, ti_id.as_mut_slice());
        let ti = InitialTransaction {
            ti_id,
            template_id: self.template(template),
            author_id: format!("{role}-1"),
            author_role: Role::new(role).unwrap(),
            patient_id: Some("MRN-000123".into()),
            timestamp: self.s.net.block_timestamp() - 30,
            fields: serde_json::from_value(fields).unwrap(),
        };
        let now = UnixMillis::from_secs(self.s.net.block_timestamp());
        self.tg
            .generate(&self.templates, &ti, now, &mut self.rng)
            .unwrap()
    }

    fn template(&self, name: &str) -> B256 {
        self.templates.latest(name).unwrap().id()
    }

    /// The patient signs a grant of `template`'s records to B for a day and
    /// a relayer sends it; once mined, returns its id.
    fn grant(&mut self, template: &str, nonce: u64) -> B256 {
        let grant = ConsentGrant {
            templateIds: vec![self.template(template)],
            ..self.s.grant(&[], nonce)
        };
        let signature = self.s.sign(&self.s.patient, &grant);
        let receipt = self.s.relay_grant(&grant, signature);
        assert!(receipt.status(), "{:?}", receipt.consent_error());
        self.keep(&receipt);
        self.s.net.mine();
        receipt.events::<EhrConsent::ConsentGranted>()[0].grantId
    }

    /// `from` anchors a batch by the transaction to `to` with `calldata`,
    /// mined.
    fn anchor(&mut self, from: Address, to: Address, calldata: Bytes) -> Receipt {
        let anchored = self.s.net.execute(from, to, calldata).unwrap();
        assert!(anchored.status(), "{:?}", anchored.failure);
        self.s.net.mine();
        anchored
    }

    /// The patient signs the revocation of `grant_id` and a relayer sends it.
    fn revoke(&mut self, grant_id: B256) {
        let revocation = ConsentRevocation {
            grantId: grant_id,
            patient: self.s.patient.address(),
            deadline: self.s.net.block_timestamp() + 600,
        };
        let call = EhrConsent::revokeSignedCall {
            revocation: revocation.clone(),
            signature: self.s.sign(&self.s.patient, &revocation).into(),
        };
        let relayer = self.s.relayer;
        let receipt = self.s.send(relayer, &call);
        assert!(receipt.status(), "{:?}", receipt.consent_error());
        self.keep(&receipt);
        self.s.net.mine();
    }

    fn keep(&mut self, receipt: &Receipt) {
        self.logs.extend(receipt.chain_logs());
    }

    /// A checks consent and B's key at the newest mined block and seals the
    /// record's key for B.
    fn share(
        &mut self,
        tc: &ChainTransaction,
        authority: Authority,
    ) -> Result<Share, SharingError> {
        let check = ShareCheck::new(&self.context, &tc.envelope, self.s.recipient, authority);
        let answers = read_blocking(&mut self.s.net, &check.reads()).unwrap();
        check.seal(
            &answers,
            self.b_key.public_key(),
            self.tg.key_store(),
            &mut self.rng,
        )
    }

    /// A records the disclosures of `shares` in one transaction.
    fn disclose(&mut self, shares: &[&Share]) -> Receipt {
        let disclosures: Vec<_> = shares.iter().map(|s| s.disclosure.clone()).collect();
        let tx = disclosure_transaction(&self.context, &disclosures).unwrap();
        assert_eq!(
            (tx.chain_id, tx.to),
            (self.s.net.chain_id(), self.s.consent)
        );
        let receipt = self
            .s
            .net
            .execute(self.s.hospital, tx.to, tx.calldata)
            .unwrap();
        self.keep(&receipt);
        self.s.net.mine();
        receipt
    }

    /// B reads the capsule and the envelope it received (as bytes) and opens
    /// the record, checked against the chain at the newest mined block.
    fn receive(&mut self, capsule: &[u8], envelope: &Envelope) -> Result<Received, SharingError> {
        self.receive_with(capsule, envelope, None)
    }

    /// B receives `tc`'s record ([`Sharing::receive_with`]) and opens the
    /// same record A sealed.
    fn received(&mut self, capsule: &[u8], tc: &ChainTransaction, proof: Option<&str>) -> Received {
        let received = self.receive_with(capsule, &tc.envelope, proof).unwrap();
        assert_eq!(
            received.record.as_slice(),
            tc.envelope.open(self.tg.key_store()).unwrap().as_slice()
        );
        received
    }

    /// As [`Sharing::receive`], with the record's inclusion proof (the
    /// text form a holder hands over) when it was anchored in a batch.
    fn receive_with(
        &mut self,
        capsule: &[u8],
        envelope: &Envelope,
        proof: Option<&str>,
    ) -> Result<Received, SharingError> {
        let capsule = KeyCapsule::from_bytes(capsule).unwrap();
        let envelope = Envelope::from_bytes(envelope.as_bytes().to_vec()).unwrap();
        let check = ReceiveCheck::new(&self.context, self.s.recipient, capsule, envelope);
        let check = match proof {
            Some(text) => check.with_proof(InclusionProof::from_text(text).unwrap())?,
            None => check,
        };
        let answers = read_blocking(&mut self.s.net, &check.reads()).unwrap();
        check.open(&answers, &self.b_key)
    }
}

fn bp() -> serde_json::Value {
    json!({"systolic": 128, "diastolic": 84, "position": "sitting"})
}

fn glucose() -> serde_json::Value {
    json!({"test_code": "2345-7", "test_name": "Glucose", "value": "5.4", "unit": "mmol/L", "interpretation": "normal", "specimen": "serum", "collected_at": "2026-01-01T07:45:00Z"})
}

#[test]
fn a_patient_grants_one_template_b_opens_a_record_of_a_the_patient_sees_it_revokes_and_no_capsule_follows()
 {
    let mut x = Sharing::new();
    let record = x.anchored("blood-pressure", Role::DOCTOR, bp());
    let lab = x.anchored("lab-result", Role::PATHOLOGIST, glucose());

    // No grant yet: no capsule.
    let error = x
        .share(&record, Authority::Grant(B256::repeat_byte(1)))
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::ConsentNoGrant);

    // The patient grants B the blood-pressure records (signed, relayed).
    let grant_id = x.grant("blood-pressure", 1);
    let share = x.share(&record, Authority::Grant(grant_id)).unwrap();
    let checked_at = share.checked_at;
    assert_eq!(checked_at.number, x.s.net.block_number());
    assert_eq!(share.authority, Authority::Grant(grant_id));
    assert_eq!(share.capsule.suite(), CapsuleSuite::XWing);
    // The lab result is another template: not covered.
    assert_eq!(
        x.share(&lab, Authority::Grant(grant_id)),
        Err(SharingError::WrongTemplate {
            grant_id,
            template_id: x.template("lab-result")
        })
    );
    let receipt = x.disclose(&[&share]);
    assert!(receipt.status(), "{:?}", receipt.consent_error());
    let disclosure_block = receipt.block_number;

    // B opens the record sealed by A and checks it against the chain.
    let received = x.received(share.capsule.as_bytes(), &record, None);
    let evidence = &received.evidence;
    assert_eq!(
        (
            evidence.chain_id,
            evidence.registry,
            evidence.consent,
            evidence.record_hash,
            evidence.ti_id,
            evidence.subject,
            evidence.template_id,
            evidence.authority,
            evidence.capsule_digest,
            evidence.checked_at.number,
        ),
        (
            x.s.net.chain_id(),
            x.s.net.registry(),
            x.s.consent,
            record.record_hash,
            record.ti_id,
            x.s.subject,
            x.template("blood-pressure"),
            Authority::Grant(grant_id),
            share.capsule.digest(),
            x.s.net.block_number(),
        )
    );
    assert_eq!(evidence.anchor, AnchorEvidence::Record);

    // The patient sees the disclosure in the accounting.
    let query = AccountingQuery {
        consent: x.s.consent,
        subject: x.s.subject,
    };
    let accounting = query.accounting(&x.logs);
    assert_eq!(
        accounting.disclosures,
        vec![DisclosureEntry {
            recipient: x.s.recipient,
            record_hash: record.record_hash,
            template_id: x.template("blood-pressure"),
            authority: Authority::Grant(grant_id),
            capsule_digest: share.capsule.digest(),
            custodian: x.s.hospital,
            block_number: disclosure_block,
            transaction_hash: Some(receipt.tx_hash),
            block_time: Some(UnixMillis::from_secs(receipt.block_timestamp)),
        }]
    );
    assert_eq!(accounting.grants.len(), 1);
    assert_eq!(accounting.grants[0].grant_id, grant_id);
    assert_eq!(accounting.grants[0].revoked_in, None);

    // The patient revokes; once mined, no further capsule can be made.
    x.revoke(grant_id);
    assert_eq!(
        x.share(&record, Authority::Grant(grant_id)),
        Err(SharingError::GrantRevoked(grant_id))
    );
    // Nor can a custodian that skips the check record one: the contract
    // refuses, and its revert reads as the same error.
    let late = x.disclose(&[&share]);
    assert_eq!(
        SharingError::from_revert(&late.output),
        Some(SharingError::GrantRevoked(grant_id))
    );
    // What B received before cannot be recalled; checked now, the grant no
    // longer holds and B is told so.
    assert_eq!(
        x.receive(share.capsule.as_bytes(), &record.envelope)
            .unwrap_err(),
        SharingError::GrantRevoked(grant_id)
    );
    let accounting = query.accounting(&x.logs);
    assert_eq!(accounting.disclosures.len(), 1);
    assert!(accounting.grants[0].revoked_in.is_some());
}

#[test]
fn a_record_of_a_batch_is_shared_and_b_receives_it_with_its_proof_and_evidence_naming_the_batch() {
    let mut x = Sharing::new();
    // A's pipeline anchors four records as one Merkle batch.
    let tcs: Vec<_> = (0..4)
        .map(|_| x.generated("blood-pressure", Role::DOCTOR, bp()))
        .collect();
    let mut builder = BatchBuilder::new();
    for tc in &tcs {
        builder.push(tc.record_hash).unwrap();
    }
    let batch = builder.build(B256::repeat_byte(0xba)).unwrap();
    let tx = batch.anchor_transaction(x.s.net.registry(), x.s.net.chain_id());
    let anchored = x.anchor(Devnet::handshaker(), tx.to, tx.calldata);

    // The patient grants B the blood-pressure records; A shares the third.
    let grant_id = x.grant("blood-pressure", 1);
    let record = &tcs[2];
    let share = x.share(record, Authority::Grant(grant_id)).unwrap();
    assert!(x.disclose(&[&share]).status());
    let capsule = share.capsule.as_bytes();

    // No record is anchored under its TI id: without its proof, refused.
    assert_eq!(
        x.receive(capsule, &record.envelope).unwrap_err(),
        SharingError::NotAnchored {
            record_hash: record.record_hash,
            ti_id: record.ti_id
        }
    );
    // With its proof (the QR text A hands over), B receives it, and the
    // evidence names the batch as the registry holds it.
    let proof = batch.proof(2).unwrap();
    let received = x.received(capsule, record, Some(&proof.to_text()));
    let evidence = &received.evidence;
    assert_eq!(
        (
            evidence.record_hash,
            evidence.authority,
            evidence.checked_at.number
        ),
        (
            record.record_hash,
            Authority::Grant(grant_id),
            x.s.net.block_number()
        )
    );
    assert_eq!(
        evidence.anchor,
        AnchorEvidence::Batch {
            root: batch.root(),
            leaf_count: 4,
            anchored_at: UnixMillis::from_secs(anchored.block_timestamp),
            submitter: Devnet::handshaker(),
            proof: proof.clone(),
        }
    );

    // Another record's proof, and a batch never anchored, are refused.
    let other = batch.proof(0).unwrap().to_text();
    assert_eq!(
        x.receive_with(capsule, &record.envelope, Some(&other))
            .unwrap_err()
            .code(),
        ErrorCode::ProofInvalid
    );
    let mut builder = BatchBuilder::new();
    builder.push(record.record_hash).unwrap();
    let alone = builder.build(B256::repeat_byte(0xbb)).unwrap();
    let text = alone.proof(0).unwrap().to_text();
    assert_eq!(
        x.receive_with(capsule, &record.envelope, Some(&text))
            .unwrap_err(),
        SharingError::Proof(ProofError::NotAnchored(alone.root()))
    );
}

#[test]
fn a_record_of_a_signed_batch_is_received_with_its_signed_proof_and_evidence_naming_the_batch() {
    let mut x = Sharing::new();
    // A doctor with a key of their own signs two records; a gateway relays
    // them as one signed batch.
    let doctor = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x21)).unwrap();
    x.s.net.grant_role("doctor", doctor.address()).unwrap();
    let gateway = Devnet::account("gateway");
    x.s.net.grant_role("relayer", gateway).unwrap();
    let domain = SigningDomain {
        chain_id: x.s.net.chain_id(),
        registry: x.s.net.registry(),
    };
    let tcs: Vec<_> = (0..2)
        .map(|_| x.generated("blood-pressure", Role::DOCTOR, bp()))
        .collect();
    let mut builder = SignedBatchBuilder::new(domain);
    for tc in &tcs {
        let statement = RecordStatement {
            tiId: tc.ti_id,
            templateId: x.template("blood-pressure"),
            recordHash: tc.record_hash,
            subject: x.s.subject,
            role: Role::new(Role::DOCTOR).unwrap().id(),
            author: doctor.address(),
            timestamp: x.s.net.block_timestamp() - 30,
        };
        let digest = statement.signing_hash(&domain);
        let signed = doctor.sign_hash_sync(&digest).unwrap();
        let signature = RecordSignature::from_slice(&signed.as_bytes()).unwrap();
        builder.push(statement, signature).unwrap();
    }
    let batch = builder.build(B256::repeat_byte(0xbd)).unwrap();
    let tx = batch.anchor_transaction();
    let anchored = x.anchor(gateway, tx.to, tx.calldata);

    let grant_id = x.grant("blood-pressure", 1);
    let record = &tcs[1];
    let share = x.share(record, Authority::Grant(grant_id)).unwrap();
    let capsule = KeyCapsule::from_bytes(share.capsule.as_bytes()).unwrap();
    let proof = batch.proof(1).unwrap();
    let check = ReceiveCheck::new(&x.context, x.s.recipient, capsule, record.envelope.clone())
        .with_signed_proof(SignedRecordProof::from_text(&proof.to_text()).unwrap())
        .unwrap();
    let answers = read_blocking(&mut x.s.net, &check.reads()).unwrap();
    let received = check.open(&answers, &x.b_key).unwrap();
    assert_eq!(
        received.evidence.anchor,
        AnchorEvidence::SignedBatch {
            root: batch.root(),
            leaf_count: 2,
            anchored_at: UnixMillis::from_secs(anchored.block_timestamp),
            submitter: gateway,
            proof: Box::new(proof),
        }
    );
    assert_eq!(received.evidence.authority, Authority::Grant(grant_id));
}

#[test]
fn sharing_refuses_a_key_b_did_not_publish_and_b_refuses_an_unanchored_or_swapped_record() {
    let mut x = Sharing::new();
    let record = x.anchored("blood-pressure", Role::DOCTOR, bp());
    let grant_id = x.grant("blood-pressure", 1);

    // B rotates its key: the old public key is refused, the new one used.
    let old = x.b_key.clone();
    let rotated = RecipientPrivateKey::generate(CapsuleSuite::X25519, &mut x.rng);
    x.publish_key(&rotated.public_key().clone());
    let error = x.share(&record, Authority::Grant(grant_id)).unwrap_err();
    assert_eq!(
        error,
        SharingError::KeyMismatch {
            recipient: x.s.recipient,
            key_id: old.public_key().key_id(),
            published_id: rotated.public_key().key_id(),
            published_hash: rotated.public_key().key_hash(),
        }
    );
    x.b_key = rotated;
    let share = x.share(&record, Authority::Grant(grant_id)).unwrap();
    assert_eq!(share.capsule.suite(), CapsuleSuite::X25519);

    // A capsule replayed for another (unanchored) record, and a record that
    // was never anchored.
    let unanchored = x.generated("blood-pressure", Role::DOCTOR, bp());
    let error = x
        .receive(share.capsule.as_bytes(), &unanchored.envelope)
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::CapsuleWrongBinding);
    let own = x.share(&unanchored, Authority::Grant(grant_id)).unwrap();
    assert_eq!(
        x.receive(own.capsule.as_bytes(), &unanchored.envelope)
            .unwrap_err(),
        SharingError::NotAnchored {
            record_hash: unanchored.record_hash,
            ti_id: unanchored.ti_id
        }
    );
    // The old key does not open the new capsule.
    x.b_key = old;
    assert_eq!(
        x.receive(share.capsule.as_bytes(), &record.envelope)
            .unwrap_err()
            .code(),
        ErrorCode::CapsuleWrongKey
    );
}

#[test]
fn an_emergency_disclosure_needs_the_role_and_is_listed_as_one() {
    let mut x = Sharing::new();
    let record = x.anchored("blood-pressure", Role::DOCTOR, bp());
    let lab = x.anchored("lab-result", Role::PATHOLOGIST, glucose());
    assert_eq!(
        x.share(&record, Authority::Emergency),
        Err(SharingError::NoEmergencyRole(x.s.recipient))
    );
    let recipient = x.s.recipient;
    x.s.net.grant_role("emergency", recipient).unwrap();
    x.s.net.mine();
    let first = x.share(&record, Authority::Emergency).unwrap();
    let second = x.share(&lab, Authority::Emergency).unwrap();
    // Both disclosures in one batch, all or none.
    let receipt = x.disclose(&[&first, &second]);
    assert!(receipt.status(), "{:?}", receipt.consent_error());
    let received = x.receive(second.capsule.as_bytes(), &lab.envelope).unwrap();
    assert_eq!(received.evidence.authority, Authority::Emergency);
    let accounting = AccountingQuery {
        consent: x.s.consent,
        subject: x.s.subject,
    }
    .accounting(&x.logs);
    let listed: Vec<_> = accounting
        .disclosures
        .iter()
        .map(|d| (d.record_hash, d.authority, d.recipient))
        .collect();
    assert_eq!(
        listed,
        vec![
            (record.record_hash, Authority::Emergency, recipient),
            (lab.record_hash, Authority::Emergency, recipient),
        ]
    );
}
