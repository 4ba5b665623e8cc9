#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::{SolCall, SolEvent, SolInterface};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::batch::ProofError;
use crate::capsule::{Authority, CapsuleSuite, KeyCapsule, RecipientPrivateKey};
use crate::consent_abi::{Disclosure, IEhrConsent};
use crate::envelope::{Envelope, EnvelopeBinding};
use crate::error::ErrorCode;
use crate::keys::{InMemoryKeyStore, KeyId, MasterKey};
use crate::registry_abi::IEhrRegistry;

const RECIPIENT: Address = Address::repeat_byte(0xb0);
const GRANT: B256 = B256::repeat_byte(0x47);
const SUBJECT: B256 = B256::repeat_byte(1);
const TEMPLATE: B256 = B256::repeat_byte(2);
const TI: B256 = B256::repeat_byte(3);
/// The grant's expiry, Unix seconds.
const EXPIRES: u64 = 2_000_000_000;

fn context() -> SharingContext {
    SharingContext {
        chain_id: 31337,
        registry: Address::repeat_byte(0xe5),
        consent: Address::repeat_byte(0xc0),
    }
}

fn keys() -> InMemoryKeyStore {
    let mut keys = InMemoryKeyStore::new();
    keys.insert(KeyId::new("ward-7").unwrap(), MasterKey::new([7; 32]));
    keys
}

fn envelope() -> Envelope {
    let binding = EnvelopeBinding {
        key_id: KeyId::new("ward-7").unwrap(),
        patient: SUBJECT,
        template_id: TEMPLATE,
        ti_id: TI,
    };
    Envelope::seal(&binding, &MasterKey::new([7; 32]), [9; 12], b"HbA1c 6.1 %").unwrap()
}

fn recipient_key(suite: CapsuleSuite) -> RecipientPrivateKey {
    RecipientPrivateKey::from_bytes(suite, &[0x5a; 32]).unwrap()
}

/// What the chain says at a block (time `now` seconds).
#[derive(Clone)]
struct Chain {
    now: u64,
    may: (bool, B256),
    grant: (B256, Address, u64, bool),
    key: (B256, B256),
    anchored: B256,
}

impl Chain {
    fn granted() -> Self {
        let key = recipient_key(CapsuleSuite::X25519);
        Self {
            now: EXPIRES - 60,
            may: (true, GRANT),
            grant: (SUBJECT, RECIPIENT, EXPIRES, false),
            key: (key.public_key().key_id(), key.public_key().key_hash()),
            anchored: envelope().record_hash(),
        }
    }

    fn block(&self) -> MinedBlock {
        MinedBlock {
            number: 42,
            time: UnixMillis::from_secs(self.now),
        }
    }

    /// The answers to a holder's reads.
    fn holder(&self) -> ReadAnswers {
        ReadAnswers {
            block: self.block(),
            answers: vec![
                IEhrConsent::mayReceiveCall::abi_encode_returns_tuple(&self.may).into(),
                IEhrConsent::grantOfCall::abi_encode_returns_tuple(&self.grant).into(),
                IEhrConsent::recipientKeyOfCall::abi_encode_returns_tuple(&self.key).into(),
            ],
        }
    }

    /// The answers to a recipient's reads.
    fn recipient(&self) -> ReadAnswers {
        let mut answers = self.holder();
        answers.answers[2] =
            IEhrRegistry::recordHashOfCall::abi_encode_returns_tuple(&(self.anchored,)).into();
        answers
    }
}

fn share(chain: &Chain, authority: Authority) -> Result<Share, SharingError> {
    let check = ShareCheck::new(&context(), &envelope(), RECIPIENT, authority);
    let key = recipient_key(CapsuleSuite::X25519);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    check.seal(&chain.holder(), key.public_key(), &keys(), &mut rng)
}

fn receive(chain: &Chain, capsule: &KeyCapsule) -> Result<Received, SharingError> {
    let check = ReceiveCheck::new(&context(), RECIPIENT, capsule.clone(), envelope());
    check.open(&chain.recipient(), &recipient_key(CapsuleSuite::X25519))
}

#[test]
fn the_holder_reads_consent_and_the_key_and_the_recipient_consent_and_the_anchor() {
    let holder = ShareCheck::new(&context(), &envelope(), RECIPIENT, Authority::Grant(GRANT));
    let may = IEhrConsent::mayReceiveCall {
        recipient: RECIPIENT,
        subject: SUBJECT,
        templateId: TEMPLATE,
    };
    let c = context().consent;
    assert_eq!(
        holder.reads(),
        vec![
            ChainRead::of(c, &may),
            ChainRead::of(c, &IEhrConsent::grantOfCall { grantId: GRANT }),
            ChainRead::of(
                c,
                &IEhrConsent::recipientKeyOfCall {
                    recipient: RECIPIENT
                }
            ),
        ]
    );
    let capsule = share(&Chain::granted(), Authority::Grant(GRANT))
        .unwrap()
        .capsule;
    let recipient = ReceiveCheck::new(&context(), RECIPIENT, capsule, envelope());
    let reads = recipient.reads();
    assert_eq!(reads[..2], holder.reads()[..2]);
    assert_eq!(
        reads[2],
        ChainRead::of(
            context().registry,
            &IEhrRegistry::recordHashOfCall { tiId: TI }
        )
    );
    // Each read is an eth_call pinned to the block the host chose.
    let body: serde_json::Value = serde_json::from_str(&reads[2].request(42).body(1)).unwrap();
    assert_eq!(
        body["params"],
        serde_json::json!([{"to": context().registry, "data": reads[2].calldata}, "0x2a"])
    );
}

#[test]
fn a_grant_that_holds_gives_a_capsule_and_its_disclosure_and_the_recipient_opens_it() {
    let chain = Chain::granted();
    let share = share(&chain, Authority::Grant(GRANT)).unwrap();
    assert_eq!(share.authority, Authority::Grant(GRANT));
    assert_eq!(share.checked_at, chain.block());
    assert_eq!(
        share.disclosure,
        Disclosure {
            capsuleDigest: share.capsule.digest(),
            recipient: RECIPIENT,
            subject: SUBJECT,
            templateId: TEMPLATE,
            recordHash: envelope().record_hash(),
        }
    );
    let json = serde_json::to_string(&share).unwrap();
    assert_eq!(serde_json::from_str::<Share>(&json).unwrap(), share);

    let received = receive(&chain, &share.capsule).unwrap();
    assert_eq!(received.record.as_slice(), b"HbA1c 6.1 %");
    assert_eq!(
        received.evidence,
        Evidence {
            chain_id: 31337,
            registry: context().registry,
            consent: context().consent,
            record_hash: envelope().record_hash(),
            ti_id: TI,
            subject: SUBJECT,
            template_id: TEMPLATE,
            authority: Authority::Grant(GRANT),
            capsule_digest: share.capsule.digest(),
            anchor: AnchorEvidence::Record,
            checked_at: chain.block(),
        }
    );
    let json = serde_json::to_value(&received.evidence).unwrap();
    assert_eq!(json["anchor"], serde_json::json!({"kind": "record"}));
}

#[test]
fn no_capsule_without_a_grant_that_holds_each_with_its_code() {
    let other = B256::repeat_byte(0x48);
    let granted = Chain::granted();
    let refused = [
        Chain {
            may: (false, B256::ZERO),
            grant: (B256::ZERO, Address::ZERO, 0, false),
            ..granted.clone()
        },
        Chain {
            may: (false, B256::ZERO),
            grant: (SUBJECT, RECIPIENT, EXPIRES, true),
            ..granted.clone()
        },
        Chain {
            now: EXPIRES,
            may: (false, B256::ZERO),
            ..granted.clone()
        },
        Chain {
            may: (false, B256::ZERO),
            ..granted.clone()
        },
        Chain {
            may: (true, other),
            ..granted.clone()
        },
        Chain {
            may: (false, B256::ZERO),
            grant: (B256::repeat_byte(9), RECIPIENT, EXPIRES, false),
            ..granted.clone()
        },
    ];
    let errors: Vec<_> = refused
        .iter()
        .map(|chain| share(chain, Authority::Grant(GRANT)).unwrap_err())
        .collect();
    let no_grant = SharingError::NoGrant {
        recipient: RECIPIENT,
        subject: SUBJECT,
        template_id: TEMPLATE,
    };
    assert_eq!(
        errors,
        [
            no_grant.clone(),
            SharingError::GrantRevoked(GRANT),
            SharingError::GrantExpired {
                grant_id: GRANT,
                expires_at: UnixMillis::from_secs(EXPIRES),
            },
            SharingError::WrongTemplate {
                grant_id: GRANT,
                template_id: TEMPLATE,
            },
            SharingError::GrantReplaced {
                expected: GRANT,
                current: other,
            },
            no_grant,
        ]
    );
    let codes: Vec<_> = errors.iter().map(|e| e.code().name()).collect();
    assert_eq!(
        codes,
        [
            "EHR_CONSENT_NO_GRANT",
            "EHR_CONSENT_REVOKED",
            "EHR_CONSENT_EXPIRED",
            "EHR_CONSENT_WRONG_TEMPLATE",
            "EHR_CONSENT_WRONG_TEMPLATE",
            "EHR_CONSENT_NO_GRANT",
        ]
    );
    assert_eq!(
        errors[1].to_string(),
        format!(
            "grant {GRANT} was revoked by the patient: no new capsule may be made under it (capsules delivered before stay delivered)"
        )
    );
}

#[test]
fn the_key_must_be_the_one_the_recipient_published() {
    let granted = Chain::granted();
    let unpublished = Chain {
        key: (B256::ZERO, B256::ZERO),
        ..granted.clone()
    };
    assert_eq!(
        share(&unpublished, Authority::Grant(GRANT)),
        Err(SharingError::KeyNotPublished(RECIPIENT))
    );
    // The recipient rotated its key: the one given is no longer published.
    let rotated = recipient_key(CapsuleSuite::XWing);
    let rotated = (
        rotated.public_key().key_id(),
        rotated.public_key().key_hash(),
    );
    let error = share(
        &Chain {
            key: rotated,
            ..granted.clone()
        },
        Authority::Grant(GRANT),
    )
    .unwrap_err();
    assert_eq!(
        error,
        SharingError::KeyMismatch {
            recipient: RECIPIENT,
            key_id: granted.key.0,
            published_id: rotated.0,
            published_hash: rotated.1,
        }
    );
    assert_eq!(error.code(), ErrorCode::RecipientKeyMismatch);
    // The right key id with another hash is refused too.
    let wrong_hash = Chain {
        key: (granted.key.0, B256::repeat_byte(1)),
        ..granted
    };
    assert_eq!(
        share(&wrong_hash, Authority::Grant(GRANT))
            .unwrap_err()
            .code(),
        ErrorCode::RecipientKeyMismatch
    );
}

#[test]
fn an_emergency_needs_the_role_and_a_grant_that_holds_is_named_instead() {
    let granted = Chain::granted();
    let role = Chain {
        may: (true, B256::ZERO),
        ..granted.clone()
    };
    let emergency = share(&role, Authority::Emergency).unwrap();
    assert_eq!(emergency.authority, Authority::Emergency);
    assert_eq!(emergency.capsule.binding().authority, Authority::Emergency);
    assert_eq!(
        receive(&role, &emergency.capsule)
            .unwrap()
            .evidence
            .authority,
        Authority::Emergency
    );
    let none = Chain {
        may: (false, B256::ZERO),
        ..granted.clone()
    };
    let error = share(&none, Authority::Emergency).unwrap_err();
    assert_eq!(error, SharingError::NoEmergencyRole(RECIPIENT));
    assert_eq!(error.code(), ErrorCode::ConsentNoEmergencyRole);
    // EhrConsent names a grant that holds rather than the emergency.
    let named = share(&granted, Authority::Emergency).unwrap();
    assert_eq!(named.authority, Authority::Grant(GRANT));
}

#[test]
fn the_recipient_refuses_what_the_chain_or_the_capsule_does_not_back() {
    let granted = Chain::granted();
    let capsule = share(&granted, Authority::Grant(GRANT)).unwrap().capsule;
    let refusal = |chain: &Chain| receive(chain, &capsule).unwrap_err();
    assert_eq!(
        refusal(&Chain {
            anchored: B256::ZERO,
            ..granted.clone()
        }),
        SharingError::NotAnchored {
            record_hash: envelope().record_hash(),
            ti_id: TI
        }
    );
    let mismatch = refusal(&Chain {
        anchored: B256::repeat_byte(0x99),
        ..granted.clone()
    });
    assert_eq!(mismatch.code(), ErrorCode::RecordAnchorMismatch);
    let revoked = refusal(&Chain {
        may: (false, B256::ZERO),
        grant: (SUBJECT, RECIPIENT, EXPIRES, true),
        ..granted.clone()
    });
    assert_eq!(revoked, SharingError::GrantRevoked(GRANT));
    let expired = refusal(&Chain {
        now: EXPIRES + 1,
        may: (false, B256::ZERO),
        ..granted.clone()
    });
    assert_eq!(expired.code(), ErrorCode::ConsentExpired);

    // The wrong private key, a tampered capsule, another record.
    let check = ReceiveCheck::new(&context(), RECIPIENT, capsule.clone(), envelope());
    let wrong = RecipientPrivateKey::from_bytes(CapsuleSuite::X25519, &[0x5b; 32]).unwrap();
    let error = check.open(&granted.recipient(), &wrong).unwrap_err();
    assert_eq!(error.code(), ErrorCode::CapsuleWrongKey);
    let mut bytes = capsule.as_bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let tampered = KeyCapsule::from_bytes(&bytes).unwrap();
    assert_eq!(
        receive(&granted, &tampered).unwrap_err(),
        SharingError::Capsule(crate::capsule::CapsuleError::Tampered)
    );
    let binding = EnvelopeBinding {
        key_id: KeyId::new("ward-7").unwrap(),
        patient: SUBJECT,
        template_id: TEMPLATE,
        ti_id: B256::repeat_byte(4),
    };
    let another = Envelope::seal(&binding, &MasterKey::new([7; 32]), [9; 12], b"other").unwrap();
    let check = ReceiveCheck::new(&context(), RECIPIENT, capsule, another);
    let error = check
        .open(&granted.recipient(), &recipient_key(CapsuleSuite::X25519))
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::CapsuleWrongBinding);
    assert_eq!(crate::Error::from(error).reason(), Some("wrong_record"));
    // Answers that do not fit.
    let short = ReadAnswers {
        block: granted.block(),
        answers: vec![Bytes::new()],
    };
    let error = ShareCheck::new(&context(), &envelope(), RECIPIENT, Authority::Grant(GRANT))
        .seal(
            &short,
            recipient_key(CapsuleSuite::X25519).public_key(),
            &keys(),
            &mut ChaCha20Rng::seed_from_u64(1),
        )
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::TransportMalformed);
}

#[test]
fn disclosures_go_out_as_one_call_or_one_batch_and_reverts_read_back() {
    let d = |n: u8| Disclosure {
        capsuleDigest: B256::repeat_byte(n),
        recipient: RECIPIENT,
        subject: SUBJECT,
        templateId: TEMPLATE,
        recordHash: B256::repeat_byte(n + 1),
    };
    let one = disclosure_transaction(&context(), &[d(1)]).unwrap();
    assert_eq!(
        one,
        ConsentTransaction {
            chain_id: 31337,
            to: context().consent,
            calldata: IEhrConsent::recordDisclosureCall { disclosure: d(1) }
                .abi_encode()
                .into(),
        }
    );
    let many = disclosure_transaction(&context(), &[d(1), d(3)]).unwrap();
    assert_eq!(
        many.calldata,
        Bytes::from(
            IEhrConsent::recordDisclosuresCall {
                disclosures: vec![d(1), d(3)]
            }
            .abi_encode()
        )
    );
    assert_eq!(
        disclosure_transaction(&context(), &[]),
        Err(SharingError::NoDisclosures)
    );
    let revert = IEhrConsent::IEhrConsentErrors::EhrConsentGrantRevoked(
        IEhrConsent::EhrConsentGrantRevoked { grantId: GRANT },
    )
    .abi_encode();
    assert_eq!(
        SharingError::from_revert(&revert),
        Some(SharingError::GrantRevoked(GRANT))
    );
    let expired = IEhrConsent::IEhrConsentErrors::EhrConsentGrantExpired(
        IEhrConsent::EhrConsentGrantExpired {
            grantId: GRANT,
            expiresAt: EXPIRES,
        },
    )
    .abi_encode();
    assert_eq!(
        SharingError::from_revert(&expired).map(|e| e.code()),
        Some(ErrorCode::ConsentExpired)
    );
    assert_eq!(SharingError::from_revert(&[1, 2, 3, 4]), None);
}

/// `event` as `address` emitted it at `index` in `block` (its transaction
/// hash is the block number's byte, repeated).
pub(super) fn log_at<E: SolEvent>(address: Address, event: &E, block: u64, index: u64) -> ChainLog {
    let data = event.encode_log_data();
    ChainLog {
        address,
        topics: data.topics().to_vec(),
        data: data.data,
        block_number: block,
        transaction_hash: Some(B256::repeat_byte(u8::try_from(block).unwrap())),
        log_index: Some(index),
        block_time: None,
    }
}

/// `event` as the sharing context's consent contract emitted it.
fn log<E: SolEvent>(event: &E, block: u64, index: u64) -> ChainLog {
    log_at(context().consent, event, block, index)
}

#[test]
fn the_accounting_lists_a_pseudonym_s_disclosures_and_grants_from_logs() {
    let query = AccountingQuery {
        consent: context().consent,
        subject: SUBJECT,
    };
    let granted = IEhrConsent::ConsentGranted {
        grantId: GRANT,
        subject: SUBJECT,
        recipient: RECIPIENT,
        patient: Address::repeat_byte(0x21),
        templateIds: vec![TEMPLATE],
        expiresAt: EXPIRES,
    };
    let disclosed = |subject: B256, grant: B256| IEhrConsent::Disclosed {
        subject,
        recipient: RECIPIENT,
        grantId: grant,
        templateId: TEMPLATE,
        recordHash: B256::repeat_byte(0x66),
        capsuleDigest: B256::repeat_byte(0x77),
        custodian: Address::repeat_byte(0x11),
    };
    let revoked = IEhrConsent::ConsentRevoked {
        grantId: GRANT,
        subject: SUBJECT,
        recipient: RECIPIENT,
        patient: Address::repeat_byte(0x21),
    };
    let mut elsewhere = log(&disclosed(SUBJECT, GRANT), 11, 0);
    elsewhere.address = Address::repeat_byte(0x01);
    // Given out of order, with another pseudonym's and another contract's.
    let logs = [
        log(&revoked, 12, 0),
        log(&disclosed(SUBJECT, GRANT), 11, 1),
        log(&disclosed(B256::repeat_byte(8), GRANT), 11, 2),
        elsewhere,
        log(&disclosed(SUBJECT, B256::ZERO), 13, 0),
        log(&granted, 10, 0),
    ];
    let accounting = query.accounting(&logs);
    let entry = |grant, block: u64| DisclosureEntry {
        recipient: RECIPIENT,
        record_hash: B256::repeat_byte(0x66),
        template_id: TEMPLATE,
        authority: grant,
        capsule_digest: B256::repeat_byte(0x77),
        custodian: Address::repeat_byte(0x11),
        block_number: block,
        transaction_hash: Some(B256::repeat_byte(u8::try_from(block).unwrap())),
        block_time: None,
    };
    assert_eq!(
        accounting,
        Accounting {
            disclosures: vec![
                entry(Authority::Grant(GRANT), 11),
                entry(Authority::Emergency, 13)
            ],
            grants: vec![GrantEntry {
                grant_id: GRANT,
                recipient: RECIPIENT,
                patient: Address::repeat_byte(0x21),
                template_ids: vec![TEMPLATE],
                expires_at: UnixMillis::from_secs(EXPIRES),
                granted_in: 10,
                revoked_in: Some(12),
            }],
        }
    );
    // The filters the host sends, and a node's answer read back.
    let [disclosures, grants] = query.requests(BlockTag::Number(0), BlockTag::Latest);
    let body: serde_json::Value = serde_json::from_str(&disclosures.body(7)).unwrap();
    assert_eq!(
        body["params"],
        serde_json::json!([{
            "address": context().consent, "fromBlock": "0x0", "toBlock": "latest",
            "topics": [IEhrConsent::Disclosed::SIGNATURE_HASH, SUBJECT]
        }])
    );
    assert_eq!(body["method"], "eth_getLogs");
    let body: serde_json::Value = serde_json::from_str(&grants.body(8)).unwrap();
    assert_eq!(
        body["params"][0]["topics"],
        serde_json::json!([
            [
                IEhrConsent::ConsentGranted::SIGNATURE_HASH,
                IEhrConsent::ConsentRevoked::SIGNATURE_HASH
            ],
            null,
            SUBJECT
        ])
    );
    let rpc = serde_json::json!([{
        "address": context().consent, "topics": logs[5].topics, "data": logs[5].data,
        "blockNumber": "0xa", "transactionHash": B256::repeat_byte(10), "logIndex": "0x0",
        "blockTimestamp": "0x3e8", "removed": false
    }, {
        "address": context().consent, "topics": logs[0].topics, "data": logs[0].data,
        "blockNumber": "0xc", "removed": true
    }]);
    let read = ChainLog::from_rpc(&rpc).unwrap();
    assert_eq!(
        read,
        vec![ChainLog {
            block_time: Some(UnixMillis(1_000_000)),
            ..logs[5].clone()
        }]
    );
    assert!(matches!(
        ChainLog::from_rpc(&serde_json::json!({"not": "logs"})),
        Err(TransportError::Malformed(_))
    ));
}

/// A batch of three records whose second is the envelope's; its root and
/// leaf count as `batchOf` answers them, anchored at `anchored_at` seconds.
fn batch() -> crate::batch::Batch {
    let mut builder = crate::BatchBuilder::new();
    for hash in [
        B256::repeat_byte(0x31),
        envelope().record_hash(),
        B256::repeat_byte(0x33),
    ] {
        builder.push(hash).unwrap();
    }
    builder.build(B256::repeat_byte(0xba)).unwrap()
}

const SUBMITTER: Address = Address::repeat_byte(0x5e);
const ANCHORED_AT: u64 = EXPIRES - 600;

/// The recipient's answers for a batched record: `batchOf` answers
/// `leaf_count` (zero: nothing anchored under the root).
fn batch_answers(chain: &Chain, leaf_count: u32) -> ReadAnswers {
    let mut answers = chain.holder();
    answers.answers[2] =
        IEhrRegistry::batchOfCall::abi_encode_returns_tuple(&(leaf_count, ANCHORED_AT, SUBMITTER))
            .into();
    answers
}

fn receive_batched(
    proof: crate::InclusionProof,
    answers: &ReadAnswers,
) -> Result<Received, SharingError> {
    ReceiveCheck::new(&context(), RECIPIENT, granted_capsule(), envelope())
        .with_proof(proof)?
        .open(answers, &recipient_key(CapsuleSuite::X25519))
}

#[test]
fn a_batched_record_is_received_with_its_proof_and_its_evidence_names_the_batch() {
    let batch = batch();
    let proof = batch.proof(1).unwrap();
    let chain = Chain {
        anchored: B256::ZERO,
        ..Chain::granted()
    };
    let capsule = share(&chain, Authority::Grant(GRANT)).unwrap().capsule;
    let check = ReceiveCheck::new(&context(), RECIPIENT, capsule, envelope())
        .with_proof(proof.clone())
        .unwrap();
    assert_eq!(
        check.reads()[2],
        ChainRead::of(
            context().registry,
            &IEhrRegistry::batchOfCall { root: batch.root() }
        )
    );
    let received = receive_batched(proof.clone(), &batch_answers(&chain, 3)).unwrap();
    assert_eq!(received.record.as_slice(), b"HbA1c 6.1 %");
    assert_eq!(received.evidence.authority, Authority::Grant(GRANT));
    assert_eq!(
        received.evidence.anchor,
        AnchorEvidence::Batch {
            root: batch.root(),
            leaf_count: 3,
            anchored_at: UnixMillis::from_secs(ANCHORED_AT),
            submitter: SUBMITTER,
            proof: proof.clone(),
        }
    );
    let json = serde_json::to_value(&received.evidence).unwrap();
    assert_eq!(
        json["anchor"],
        serde_json::json!({
            "kind": "batch",
            "root": batch.root(),
            "leafCount": 3,
            "anchoredAt": ANCHORED_AT * 1000,
            "submitter": SUBMITTER,
            "proof": serde_json::to_value(&proof).unwrap(),
        })
    );
    let back: Evidence = serde_json::from_value(json).unwrap();
    assert_eq!(back, received.evidence);
}

#[test]
fn a_wrong_proof_a_proof_of_another_record_and_a_root_not_anchored_are_refused() {
    let batch = batch();
    let chain = Chain::granted();
    let error = |proof, leaf_count| {
        let error = receive_batched(proof, &batch_answers(&chain, leaf_count)).unwrap_err();
        (error.code(), crate::Error::from(error).reason())
    };
    // Another record's proof.
    let other = batch.proof(0).unwrap();
    assert_eq!(
        receive_batched(other.clone(), &batch_answers(&chain, 3)).unwrap_err(),
        SharingError::ProofOfOtherRecord {
            record_hash: envelope().record_hash(),
            proven: B256::repeat_byte(0x31),
        }
    );
    // A proof whose siblings were altered.
    let mut altered = batch.proof(1).unwrap();
    altered.siblings[0] = B256::repeat_byte(0xee);
    assert_eq!(
        error(altered, 3),
        (ErrorCode::ProofInvalid, Some("root_mismatch"))
    );
    // No batch under the root; another leaf count under it.
    let proof = batch.proof(1).unwrap();
    assert_eq!(
        receive_batched(proof.clone(), &batch_answers(&chain, 0)).unwrap_err(),
        SharingError::Proof(ProofError::NotAnchored(batch.root()))
    );
    assert_eq!(
        error(proof.clone(), 0),
        (ErrorCode::ProofNotAnchored, Some("not_anchored"))
    );
    assert_eq!(
        error(proof.clone(), 4),
        (ErrorCode::ProofAnchorMismatch, Some("leaf_count_mismatch"))
    );
    // The batch holds but the grant does not: consent is still checked.
    let revoked = Chain {
        may: (false, B256::ZERO),
        grant: (SUBJECT, RECIPIENT, EXPIRES, true),
        ..chain.clone()
    };
    assert_eq!(
        receive_batched(proof, &batch_answers(&revoked, 3)).unwrap_err(),
        SharingError::GrantRevoked(GRANT)
    );
}

/// The capsule of the envelope's record under the grant.
fn granted_capsule() -> KeyCapsule {
    share(&Chain::granted(), Authority::Grant(GRANT))
        .unwrap()
        .capsule
}

/// A signed batch of two statements whose second is the envelope's record,
/// signed by the doctor `signer` for the sharing context's registry.
fn signed_batch(signer: &alloy_signer_local::PrivateKeySigner) -> crate::authorship::SignedBatch {
    use crate::authorship::{RecordSignature, RecordStatement, SignedBatchBuilder, SigningDomain};
    use alloy_signer::SignerSync;
    let domain = SigningDomain {
        chain_id: context().chain_id,
        registry: context().registry,
    };
    let statement = RecordStatement {
        tiId: TI,
        templateId: TEMPLATE,
        recordHash: envelope().record_hash(),
        subject: SUBJECT,
        role: crate::Role::new(crate::Role::DOCTOR).unwrap().id(),
        author: signer.address(),
        timestamp: ANCHORED_AT - 60,
    };
    let other = RecordStatement {
        tiId: B256::repeat_byte(0x32),
        recordHash: B256::repeat_byte(0x31),
        ..statement.clone()
    };
    let mut builder = SignedBatchBuilder::new(domain);
    for s in [other, statement] {
        let signed = signer.sign_hash_sync(&s.signing_hash(&domain)).unwrap();
        let signature = RecordSignature::from_slice(&signed.as_bytes()).unwrap();
        builder.push(s, signature).unwrap();
    }
    builder.build(B256::repeat_byte(0xba)).unwrap()
}

/// The recipient's answers for a signed batch's record: `batchOf` (two
/// leaves), `isRoleAllowed` says `allowed`, `roleTermsOf` says `terms`.
fn signed_answers(allowed: bool, terms: Vec<IEhrRegistry::RoleTerm>) -> ReadAnswers {
    let mut answers = batch_answers(&Chain::granted(), 2);
    answers
        .answers
        .push(IEhrRegistry::isRoleAllowedCall::abi_encode_returns_tuple(&(allowed,)).into());
    answers
        .answers
        .push(IEhrRegistry::roleTermsOfCall::abi_encode_returns_tuple(&(terms,)).into());
    answers
}

#[test]
fn a_record_of_a_signed_batch_is_received_with_its_signed_proof_and_its_author_checked() {
    let signer =
        alloy_signer_local::PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).unwrap();
    let batch = signed_batch(&signer);
    let proof = batch.proof(1).unwrap();
    let role = crate::Role::new(crate::Role::DOCTOR).unwrap().id();
    let check = ReceiveCheck::new(&context(), RECIPIENT, granted_capsule(), envelope())
        .with_signed_proof(proof.clone())
        .unwrap();
    let registry = context().registry;
    assert_eq!(
        check.reads()[2..],
        [
            ChainRead::of(registry, &IEhrRegistry::batchOfCall { root: batch.root() }),
            ChainRead::of(
                registry,
                &IEhrRegistry::isRoleAllowedCall {
                    templateId: TEMPLATE,
                    role
                }
            ),
            ChainRead::of(
                registry,
                &IEhrRegistry::roleTermsOfCall {
                    role,
                    account: signer.address()
                }
            ),
        ]
    );
    let key = recipient_key(CapsuleSuite::X25519);
    let held = vec![IEhrRegistry::RoleTerm {
        grantedAt: ANCHORED_AT - 3_600,
        revokedAt: 0,
    }];
    let received = check
        .open(&signed_answers(true, held.clone()), &key)
        .unwrap();
    assert_eq!(received.record.as_slice(), b"HbA1c 6.1 %");
    assert_eq!(
        received.evidence.anchor,
        AnchorEvidence::SignedBatch {
            root: batch.root(),
            leaf_count: 2,
            anchored_at: UnixMillis::from_secs(ANCHORED_AT),
            submitter: SUBMITTER,
            proof: Box::new(proof.clone()),
        }
    );
    let json = serde_json::to_value(&received.evidence).unwrap();
    assert_eq!(json["anchor"]["kind"], "signed_batch");
    assert_eq!(json["anchor"]["proof"]["version"], 2);

    // The role not allowed by the template; not held when anchored.
    let refused = |allowed, terms| {
        let error = check
            .open(&signed_answers(allowed, terms), &key)
            .unwrap_err();
        error.code()
    };
    assert_eq!(refused(false, held), ErrorCode::AuthorRoleNotAllowed);
    let revoked = vec![IEhrRegistry::RoleTerm {
        grantedAt: ANCHORED_AT - 3_600,
        revokedAt: ANCHORED_AT - 60,
    }];
    assert_eq!(refused(true, revoked), ErrorCode::AuthorRoleNotHeld);
    // Another record's signed proof.
    let other = ReceiveCheck::new(&context(), RECIPIENT, granted_capsule(), envelope())
        .with_signed_proof(batch.proof(0).unwrap())
        .unwrap_err();
    assert_eq!(
        other,
        SharingError::ProofOfOtherRecord {
            record_hash: envelope().record_hash(),
            proven: B256::repeat_byte(0x31),
        }
    );
}
