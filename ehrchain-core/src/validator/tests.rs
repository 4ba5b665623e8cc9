use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::SolError;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::registry_abi::IEhrRegistry;
use crate::{
    GeneratorConfig, InMemoryKeyStore, KeyId, MasterKey, Role, TemplateRegistry,
    TransactionGenerator,
};

const NOW_S: u64 = 1_764_495_000;

fn tc() -> ChainTransaction {
    let mut keys = InMemoryKeyStore::new();
    keys.insert(KeyId::new("records").unwrap(), MasterKey::new([0x11; 32]));
    keys.insert(
        KeyId::new("pseudonyms").unwrap(),
        MasterKey::new([0x22; 32]),
    );
    let tg = TransactionGenerator::new(
        GeneratorConfig {
            chain_id: 1337,
            registry: Address::repeat_byte(0xee),
            sealing_key: KeyId::new("records").unwrap(),
            pseudonym_key: KeyId::new("pseudonyms").unwrap(),
            max_clock_skew: 300,
        },
        keys,
    )
    .unwrap();
    let templates = TemplateRegistry::with_built_ins(None).unwrap();
    let ti = InitialTransaction {
        ti_id: B256::repeat_byte(1),
        template_id: templates.latest("blood-pressure").unwrap().id(),
        author_id: "dr-1".into(),
        author_role: Role::new(Role::DOCTOR).unwrap(),
        patient_id: Some("MRN-1".into()),
        timestamp: NOW_S - 10,
        fields: serde_json::from_str(r#"{"systolic": 120, "diastolic": 80}"#).unwrap(),
    };
    tg.generate(&templates, &ti, NOW_S, &mut ChaCha20Rng::seed_from_u64(1))
        .unwrap()
}

fn config() -> ValidatorConfig {
    ValidatorConfig {
        confirmations: 2,
        max_retries: 2,
        backoff_initial_ms: 100,
        backoff_max_ms: 300,
        poll_interval_ms: 1_000,
        inclusion_timeout_ms: 10_000,
        max_resubmissions: 1,
    }
}

fn tx(n: u8) -> TxHash {
    TxHash(B256::repeat_byte(n))
}

fn receipt(tx_hash: TxHash, block: u64, status: bool, revert: Option<Bytes>) -> TxReceipt {
    TxReceipt {
        tx_hash,
        status,
        block_number: block,
        block_hash: B256::with_last_byte(u8::try_from(block).unwrap()),
        anchor_log_index: status.then_some(3),
        gas_used: 60_000,
        revert_data: revert,
    }
}

/// Submits at `now` and answers with `tx_hash`.
fn submit(v: &mut TransactionValidator, now: u64, tx_hash: TxHash) {
    assert!(matches!(v.poll_transmit(now), Some(Transmit::Submit(_))));
    v.handle_submitted(now, Ok(tx_hash)).unwrap();
}

/// Polls at `now` and answers with `status`.
fn poll(v: &mut TransactionValidator, now: u64, status: SubmissionStatus) {
    assert!(matches!(v.poll_transmit(now), Some(Transmit::Poll { .. })));
    v.handle_receipt(now, Ok(status)).unwrap();
}

/// Reads the head at `now` and answers with `head`.
fn head(v: &mut TransactionValidator, now: u64, head: u64) {
    assert_eq!(v.poll_transmit(now), Some(Transmit::ReadHead));
    v.handle_head(now, Ok(head)).unwrap();
}

/// Takes a receipt through confirmation to the verdict.
fn conclude(v: &mut TransactionValidator, r: &TxReceipt) -> Ack {
    submit(v, 0, r.tx_hash);
    poll(v, 1_000, SubmissionStatus::Included(r.clone()));
    head(v, 1_000, r.block_number + 1);
    poll(v, 1_000, SubmissionStatus::Included(r.clone()));
    let ack = v.poll_ack().unwrap();
    assert!(v.poll_ack().is_none());
    ack
}

#[test]
fn generated_submitted_included_confirmed_valid() {
    let tc = tc();
    let mut v = TransactionValidator::new(&tc, config());
    assert_eq!(v.state(), ValidatorState::Generated);
    assert_eq!(v.poll_timeout(), Some(0));
    submit(&mut v, 0, tx(1));
    assert_eq!(v.state(), ValidatorState::Submitted { tx_hash: tx(1) });
    // Nothing before the poll interval.
    assert_eq!(v.poll_transmit(999), None);
    assert_eq!(v.poll_timeout(), Some(1_000));
    poll(&mut v, 1_000, SubmissionStatus::Pending);
    let r = receipt(tx(1), 10, true, None);
    poll(&mut v, 2_000, SubmissionStatus::Included(r.clone()));
    assert_eq!(
        v.state(),
        ValidatorState::Included {
            tx_hash: tx(1),
            block_number: 10
        }
    );
    // One confirmation is not enough.
    head(&mut v, 2_000, 10);
    assert_eq!(v.poll_timeout(), Some(3_000));
    head(&mut v, 3_000, 11);
    assert_eq!(
        v.state(),
        ValidatorState::Confirmed {
            tx_hash: tx(1),
            block_number: 10
        }
    );
    poll(&mut v, 3_000, SubmissionStatus::Included(r));
    assert!(v.is_finished());
    let ack = v.poll_ack().unwrap();
    assert_eq!(ack.ti_id, tc.ti_id);
    assert_eq!(ack.record_hash, Some(tc.record_hash));
    assert_eq!(
        ack.envelope.as_ref().map(|e| e.to_vec()),
        Some(tc.envelope.as_bytes().to_vec())
    );
    let anchor = ack.anchor().unwrap();
    assert_eq!(
        (
            anchor.tx_hash,
            anchor.block_number,
            anchor.log_index,
            anchor.replay
        ),
        (tx(1), 10, Some(3), false)
    );
    assert_eq!(v.poll_ack(), None);
    assert_eq!(v.poll_timeout(), None);
}

#[test]
fn retryable_failures_back_off_exponentially_then_give_up() {
    let mut v = TransactionValidator::new(&tc(), config());
    let down = || Err(TransportError::Unavailable("connection refused".into()));
    assert!(v.poll_transmit(0).is_some());
    v.handle_submitted(0, down()).unwrap();
    assert_eq!(v.poll_timeout(), Some(100));
    assert!(v.poll_transmit(100).is_some());
    v.handle_submitted(100, down()).unwrap();
    assert_eq!(v.poll_timeout(), Some(300));
    assert!(v.poll_transmit(300).is_some());
    v.handle_submitted(300, down()).unwrap();
    let ack = v.poll_ack().unwrap();
    assert_eq!(
        ack.reason(),
        Some(&InvalidReason::TransportFailed {
            attempts: 3,
            last_error: TransportError::Unavailable("connection refused".into()),
        })
    );
    assert!(ack.reason().unwrap().is_inconclusive());
}

#[test]
fn backoff_is_capped_and_reset_by_a_success() {
    let mut v = TransactionValidator::new(
        &tc(),
        ValidatorConfig {
            max_retries: 10,
            ..config()
        },
    );
    let mut now = 0;
    for expected in [100, 200, 300, 300] {
        assert!(v.poll_transmit(now).is_some());
        v.handle_submitted(now, Err(TransportError::RateLimited("429".into())))
            .unwrap();
        assert_eq!(v.poll_timeout(), Some(now + expected));
        now += expected;
    }
    submit(&mut v, now, tx(1));
    assert!(v.poll_transmit(now + 1_000).is_some());
    v.handle_receipt(now + 1_000, Err(TransportError::Unavailable("x".into())))
        .unwrap();
    assert_eq!(v.poll_timeout(), Some(now + 1_100));
}

#[test]
fn a_permanent_error_is_fatal_and_sticky() {
    let mut v = TransactionValidator::new(&tc(), config());
    assert!(v.poll_transmit(0).is_some());
    let error = TransportError::WrongChain {
        expected: 1337,
        actual: 1,
    };
    v.handle_submitted(0, Err(error.clone())).unwrap();
    assert!(v.is_finished());
    assert_eq!(v.state(), ValidatorState::Finished);
    // Nothing moves it any more.
    assert_eq!(v.poll_transmit(u64::MAX), None);
    assert_eq!(v.poll_timeout(), None);
    assert_eq!(
        v.handle_submitted(1, Ok(tx(1))),
        Err(ValidatorError::Finished)
    );
    assert_eq!(v.handle_head(1, Ok(5)), Err(ValidatorError::Finished));
    v.handle_timeout(u64::MAX);
    let ack = v.poll_ack().unwrap();
    assert_eq!(
        ack.reason(),
        Some(&InvalidReason::TransportRejected { error })
    );
    assert_eq!(v.poll_ack(), None);
}

#[test]
fn inputs_nobody_asked_for_are_refused() {
    let mut v = TransactionValidator::new(&tc(), config());
    assert_eq!(
        v.handle_head(0, Ok(1)),
        Err(ValidatorError::Unexpected("the chain head"))
    );
    submit(&mut v, 0, tx(1));
    assert_eq!(
        v.handle_submitted(0, Ok(tx(2))),
        Err(ValidatorError::Unexpected("a submission result"))
    );
    assert!(v.poll_transmit(1_000).is_some());
    // A receipt of another transaction does not answer the poll...
    let other = receipt(tx(9), 4, true, None);
    assert_eq!(
        v.handle_receipt(1_000, Ok(SubmissionStatus::Included(other))),
        Err(ValidatorError::WrongReceipt {
            expected: tx(1),
            got: tx(9)
        })
    );
    // ...which stays open for the right one.
    let r = receipt(tx(1), 4, true, None);
    v.handle_receipt(1_000, Ok(SubmissionStatus::Included(r)))
        .unwrap();
    assert!(matches!(v.state(), ValidatorState::Included { .. }));
}

#[test]
fn a_transaction_pending_too_long_is_sent_again_then_given_up() {
    let mut v = TransactionValidator::new(&tc(), config());
    submit(&mut v, 0, tx(1));
    poll(&mut v, 1_000, SubmissionStatus::Pending);
    v.handle_timeout(9_999);
    assert!(matches!(v.state(), ValidatorState::Submitted { .. }));
    v.handle_timeout(10_000);
    assert_eq!(v.state(), ValidatorState::Generated);
    submit(&mut v, 10_000, tx(2));
    poll(&mut v, 11_000, SubmissionStatus::Dropped);
    let ack = v.poll_ack().unwrap();
    assert_eq!(
        ack.reason(),
        Some(&InvalidReason::Dropped { resubmissions: 1 })
    );
    match &ack.status {
        AckStatus::Invalid { tx_hashes, .. } => assert_eq!(tx_hashes, &[tx(1), tx(2)]),
        AckStatus::Valid(_) => panic!("dropped twice but valid"),
    }
    assert!(ack.envelope.is_some());
}

#[test]
fn a_reorg_after_confirmation_is_noticed_before_the_ack() {
    let mut v = TransactionValidator::new(&tc(), config());
    submit(&mut v, 0, tx(1));
    poll(
        &mut v,
        1_000,
        SubmissionStatus::Included(receipt(tx(1), 10, true, None)),
    );
    head(&mut v, 1_000, 11);
    // The final check finds it in another block: it waits again...
    poll(
        &mut v,
        1_000,
        SubmissionStatus::Included(receipt(tx(1), 12, true, None)),
    );
    assert_eq!(
        v.state(),
        ValidatorState::Included {
            tx_hash: tx(1),
            block_number: 12
        }
    );
    assert!(v.poll_ack().is_none());
    head(&mut v, 1_000, 13);
    // ...and a second reorg, past the limit of 1, makes it invalid.
    poll(&mut v, 1_000, SubmissionStatus::Pending);
    assert_eq!(
        v.poll_ack().unwrap().reason(),
        Some(&InvalidReason::ReorgedOut { resubmissions: 1 })
    );
    let reorgs = v
        .history()
        .iter()
        .filter(|e| matches!(e.event, AuditEvent::Reorged { .. }))
        .count();
    assert_eq!(reorgs, 2);
}

#[test]
fn the_registry_refusing_a_used_ti_is_a_replay_when_the_hash_matches() {
    let tc = tc();
    let used = |stored| {
        Some(Bytes::from(
            IEhrRegistry::EhrRegistryTiAlreadyUsed {
                tiId: tc.ti_id,
                storedRecordHash: stored,
            }
            .abi_encode(),
        ))
    };
    let mut v = TransactionValidator::new(&tc, config());
    let ack = conclude(&mut v, &receipt(tx(1), 5, false, used(tc.record_hash)));
    let anchor = ack.anchor().unwrap();
    assert!(anchor.replay);
    assert_eq!(anchor.log_index, None);

    let other = B256::repeat_byte(0x77);
    let mut v = TransactionValidator::new(&tc, config());
    let ack = conclude(&mut v, &receipt(tx(1), 5, false, used(other)));
    assert_eq!(
        ack.reason(),
        Some(&InvalidReason::AnchoredWithOtherHash {
            stored_record_hash: other
        })
    );
    assert!(!ack.reason().unwrap().is_inconclusive());
}

#[test]
fn reverts_and_failures_are_decoded() {
    let tc = tc();
    let role_refused = IEhrRegistry::EhrRegistryRoleNotAllowed {
        templateId: tc.template_id,
        role: B256::repeat_byte(3),
    }
    .abi_encode();
    let mut v = TransactionValidator::new(&tc, config());
    let ack = conclude(&mut v, &receipt(tx(1), 5, false, Some(role_refused.into())));
    match ack.reason() {
        Some(InvalidReason::ContractRevert { revert }) => {
            assert_eq!(revert.error.as_deref(), Some("EhrRegistryRoleNotAllowed"));
        }
        other => panic!("{other:?}"),
    }
    let mut v = TransactionValidator::new(&tc, config());
    let ack = conclude(&mut v, &receipt(tx(1), 5, false, Some(Bytes::new())));
    assert!(matches!(
        ack.reason(),
        Some(InvalidReason::StatusZero { revert }) if revert.error.is_none()
    ));
    let mut v = TransactionValidator::new(&tc, config());
    let mut no_event = receipt(tx(1), 5, true, None);
    no_event.anchor_log_index = None;
    let ack = conclude(&mut v, &no_event);
    assert_eq!(ack.reason(), Some(&InvalidReason::MissingAnchorEvent));
}

#[test]
fn a_ti_the_template_refuses_is_invalid_at_once() {
    let templates = TemplateRegistry::with_built_ins(None).unwrap();
    let ti = InitialTransaction {
        ti_id: B256::repeat_byte(2),
        template_id: templates.latest("blood-pressure").unwrap().id(),
        author_id: "p-1".into(),
        author_role: Role::new(Role::PATHOLOGIST).unwrap(),
        patient_id: Some("MRN-1".into()),
        timestamp: NOW_S,
        fields: Default::default(),
    };
    let violations = crate::Violations(vec![crate::Violation {
        field: None,
        kind: crate::ViolationKind::MissingPatient,
    }]);
    let mut v = TransactionValidator::rejected(&ti, &violations);
    assert!(v.is_finished());
    assert_eq!(v.poll_transmit(0), None);
    let ack = v.poll_ack().unwrap();
    assert!(matches!(
        ack.reason(),
        Some(InvalidReason::TemplateViolations { violations }) if violations.len() == 1
    ));
    assert_eq!((ack.record_hash, ack.envelope.clone()), (None, None));
    // Plain data: JSON round trip.
    let json = serde_json::to_string(&ack).unwrap();
    assert!(json.contains("\"reason\":\"template_violations\""));
    assert_eq!(serde_json::from_str::<Ack>(&json).unwrap(), ack);
}
