use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::{SolError, SolEvent};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::registry_abi::IEhrRegistry;
use crate::{AnchoredBatch, Role, TemplateRegistry};

/// The test keys every suite seals with, shared with the integration tests.
#[path = "../../tests/common/test_keys.rs"]
mod test_keys;

const NOW_S: u64 = 1_764_495_000;

pub(crate) fn tc() -> ChainTransaction {
    tc_for(1)
}

pub(crate) fn tc_for(ti: u8) -> ChainTransaction {
    let tg = test_keys::test_generator("records", 1337, Address::repeat_byte(0xee));
    let templates = TemplateRegistry::with_built_ins(None).unwrap();
    let ti = InitialTransaction {
        ti_id: B256::repeat_byte(ti),
        template_id: templates.latest("blood-pressure").unwrap().id(),
        author_id: "dr-1".into(),
        author_role: Role::new(Role::DOCTOR).unwrap(),
        patient_id: Some("MRN-1".into()),
        timestamp: NOW_S - 10,
        fields: serde_json::from_str(r#"{"systolic": 120, "diastolic": 80}"#).unwrap(),
    };
    tg.generate(
        &templates,
        &ti,
        UnixMillis::from_secs(NOW_S),
        &mut ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap()
}

pub(crate) fn config() -> ValidatorConfig {
    ValidatorConfig {
        confirmations: 2,
        backoff_initial_ms: 100,
        backoff_max_ms: 300,
        poll_interval_ms: 1_000,
        inclusion_timeout_ms: 10_000,
        max_resubmissions: 1,
        finality: crate::Finality::Depth,
    }
}

pub(crate) fn tx(n: u8) -> TxHash {
    TxHash(B256::repeat_byte(n))
}

pub(crate) fn receipt(
    tx_hash: TxHash,
    block: u64,
    status: bool,
    revert: Option<Bytes>,
) -> TxReceipt {
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

/// The action sending `tc`.
fn send(tc: &ChainTransaction) -> Transmit {
    Transmit::Submit {
        submission: Submission::from(tc),
    }
}

/// The action sending `v`'s submission (see
/// `generated_submitted_included_confirmed_valid` and
/// `a_batch_settles_by_reading_its_root` for what the submission holds).
pub(crate) fn submission_of(v: &TransactionValidator) -> Transmit {
    Transmit::Submit {
        submission: v.submission().unwrap().clone(),
    }
}

/// The action polling `tx_hash`, sent for `v`'s submission.
pub(crate) fn poll_of(v: &TransactionValidator, tx_hash: TxHash) -> Transmit {
    Transmit::Poll {
        tx_hash,
        submission: v.submission().unwrap().clone(),
    }
}

/// Stores `v`'s outbox entry at `now`, as every submission asks first.
pub(crate) fn persist(v: &mut TransactionValidator, now: u64) {
    assert_eq!(v.poll_transmit(UnixMillis(now)), Some(Transmit::Persist));
    v.handle_persisted(UnixMillis(now), Ok(())).unwrap();
}

/// A validator for `tc` that stored its outbox entry at 0 and was asked to
/// send `tc`.
fn asked_to_send(tc: &ChainTransaction) -> TransactionValidator {
    let mut v = TransactionValidator::new(tc, config());
    persist(&mut v, 0);
    assert_eq!(v.poll_transmit(UnixMillis(0)), Some(send(tc)));
    v
}

/// A node on chain 1 answering for a validator on chain 1337.
fn wrong_chain() -> TransportError {
    TransportError::WrongChain {
        expected: 1337,
        actual: Some(1),
    }
}

/// A validator for `tc` that sent it as `tx(1)` at 0 and heard `status` when
/// it polled at 1 000.
fn polled_once(tc: &ChainTransaction, status: SubmissionStatus) -> TransactionValidator {
    let mut v = TransactionValidator::new(tc, config());
    submit(&mut v, 0, tx(1));
    poll(&mut v, 1_000, tx(1), status);
    v
}

/// Expects `v` to read `tc`'s record at `now` and answers with `error`.
fn read_fails(
    v: &mut TransactionValidator,
    now: u64,
    tc: &ChainTransaction,
    error: TransportError,
) {
    assert_eq!(
        v.poll_transmit(UnixMillis(now)),
        Some(Transmit::ReadRecord { ti_id: tc.ti_id })
    );
    v.handle_record(UnixMillis(now), Err(error)).unwrap();
}

/// Stores the outbox entry, submits at `now` and answers with `tx_hash`.
pub(crate) fn submit(v: &mut TransactionValidator, now: u64, tx_hash: TxHash) {
    persist(v, now);
    assert_eq!(v.poll_transmit(UnixMillis(now)), Some(submission_of(v)));
    v.handle_submitted(UnixMillis(now), Ok(tx_hash)).unwrap();
}

/// Polls `tx_hash` at `now` and answers with `status`.
pub(crate) fn poll(
    v: &mut TransactionValidator,
    now: u64,
    tx_hash: TxHash,
    status: SubmissionStatus,
) {
    assert_eq!(v.poll_transmit(UnixMillis(now)), Some(poll_of(v, tx_hash)));
    v.handle_receipt(UnixMillis(now), Ok(status)).unwrap();
}

/// A confirming poll at `now` that finds `r` still in its block: the ACK
/// is valid.
fn poll_valid(v: &mut TransactionValidator, now: u64, r: &TxReceipt) {
    poll(v, now, r.tx_hash, SubmissionStatus::Included(r.clone()));
    assert!(v.poll_ack().unwrap().is_valid());
}

/// A validator whose transaction `tx(7)`, submitted at 0, was found
/// included in block 5 at 1 s; and that receipt.
fn included_in_block_5() -> (TransactionValidator, TxReceipt) {
    let mut v = TransactionValidator::new(&tc(), config());
    let r = receipt(tx(7), 5, true, None);
    submit(&mut v, 0, r.tx_hash);
    poll(
        &mut v,
        1_000,
        r.tx_hash,
        SubmissionStatus::Included(r.clone()),
    );
    (v, r)
}

/// A validator for `tc` whose first submission (at 0) failed with `error`.
fn first_send_fails(tc: &ChainTransaction, error: TransportError) -> TransactionValidator {
    let mut v = TransactionValidator::new(tc, config());
    persist(&mut v, 0);
    assert_eq!(v.poll_transmit(UnixMillis(0)), Some(send(tc)));
    v.handle_submitted(UnixMillis(0), Err(error)).unwrap();
    v
}

/// The node's last answer in [`all_answers_lost`]: a permanent refusal.
fn already_known() -> TransportError {
    TransportError::Rejected("already known".into())
}

/// A validator for `tc` whose first two submissions (at 0 and 100 ms) lost
/// their answers, and whose third (at 300 ms) the node refused as
/// [`already_known`]: the validator gives up, and settles first.
fn all_answers_lost(tc: &ChainTransaction) -> TransactionValidator {
    let mut v = TransactionValidator::new(tc, config());
    persist(&mut v, 0);
    for at in [0, 100] {
        assert_eq!(v.poll_transmit(UnixMillis(at)), Some(send(tc)));
        let lost = TransportError::Unavailable("answer lost".into());
        v.handle_submitted(UnixMillis(at), Err(lost)).unwrap();
    }
    assert_eq!(v.poll_transmit(UnixMillis(300)), Some(send(tc)));
    v.handle_submitted(UnixMillis(300), Err(already_known()))
        .unwrap();
    v
}

/// `all_answers_lost`, then the registry read at 300 finds `tc`'s record.
fn settling_on_ours(tc: &ChainTransaction) -> TransactionValidator {
    let mut v = all_answers_lost(tc);
    read(&mut v, 300, Some(tc.record_hash));
    v
}

/// Reads the head at `now` and answers with `head`.
pub(crate) fn head(v: &mut TransactionValidator, now: u64, head: u64) {
    assert_eq!(v.poll_transmit(UnixMillis(now)), Some(Transmit::ReadHead));
    v.handle_head(UnixMillis(now), Ok(head)).unwrap();
}

/// Reads the registry (a single record) at `now` and answers with `stored`.
fn read(v: &mut TransactionValidator, now: u64, stored: Option<B256>) {
    let ti_id = v.ti_ids().next().unwrap();
    assert_eq!(
        v.poll_transmit(UnixMillis(now)),
        Some(Transmit::ReadRecord { ti_id })
    );
    v.handle_record(UnixMillis(now), Ok(stored)).unwrap();
}

/// Takes a receipt through confirmation to the verdict.
pub(crate) fn conclude(v: &mut TransactionValidator, r: &TxReceipt) -> Ack {
    submit(v, 0, r.tx_hash);
    poll(v, 1_000, r.tx_hash, SubmissionStatus::Included(r.clone()));
    if let Some(ack) = v.poll_ack() {
        // A refusal is final when it is mined: no confirmations to wait for.
        assert!(!r.status, "a success waited for no confirmation");
        assert!(v.poll_ack().is_none());
        return ack;
    }
    head(v, 1_000, r.block_number + 1);
    poll(v, 1_000, r.tx_hash, SubmissionStatus::Included(r.clone()));
    let ack = v.poll_ack().unwrap();
    assert!(v.poll_ack().is_none());
    ack
}

#[test]
fn generated_submitted_included_confirmed_valid() {
    let tc = tc();
    let mut v = TransactionValidator::new(&tc, config());
    assert_eq!(v.state(), ValidatorState::Generated);
    assert_eq!(v.poll_timeout(), Some(UnixMillis(0)));
    // The TC's call, as it is, for the TC's TI id and record hash.
    let submission = Submission {
        to: Address::repeat_byte(0xee),
        chain_id: 1337,
        calldata: tc.calldata.clone(),
        anchoring: Anchoring::Record {
            ti_id: B256::repeat_byte(1),
            record_hash: tc.record_hash,
        },
    };
    assert_eq!(v.submission(), Some(&submission));
    assert_eq!(send(&tc), Transmit::Submit { submission });
    submit(&mut v, 0, tx(1));
    assert_eq!(v.state(), ValidatorState::Submitted { tx_hash: tx(1) });
    // Nothing before the poll interval.
    assert_eq!(v.poll_transmit(UnixMillis(999)), None);
    assert_eq!(v.poll_timeout(), Some(UnixMillis(1_000)));
    poll(&mut v, 1_000, tx(1), SubmissionStatus::Pending);
    let r = receipt(tx(1), 10, true, None);
    poll(&mut v, 2_000, tx(1), SubmissionStatus::Included(r.clone()));
    assert_eq!(
        v.state(),
        ValidatorState::Included {
            tx_hash: tx(1),
            block_number: 10
        }
    );
    // One confirmation is not enough.
    head(&mut v, 2_000, 10);
    assert_eq!(v.poll_timeout(), Some(UnixMillis(3_000)));
    head(&mut v, 3_000, 11);
    assert_eq!(
        v.state(),
        ValidatorState::Confirmed {
            tx_hash: tx(1),
            block_number: 10
        }
    );
    poll(&mut v, 3_000, tx(1), SubmissionStatus::Included(r));
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
        (Some(tx(1)), Some(10), Some(3), false)
    );
    assert_eq!(v.poll_ack(), None);
    assert_eq!(v.poll_timeout(), None);
}

/// Ten minutes, in milliseconds: a long outage.
const TEN_MINUTES: u64 = 600_000;

/// Fails every action handed out from `from` for `TEN_MINUTES` (each at the
/// validator's retry instant) with `down`; returns when the outage ends and
/// how many attempts failed. Checks the backoff (100, 200, then capped at
/// 300 ms) and the state the host sees all along.
fn ten_minutes_down(
    v: &mut TransactionValidator,
    from: u64,
    during: &ValidatorState,
) -> (u64, u32) {
    let down = TransportError::Unavailable("connection refused".into());
    let (mut at, mut attempts) = (from, 0u32);
    while at < from + TEN_MINUTES {
        let transmit = v.poll_transmit(UnixMillis(at)).unwrap();
        let failed = Err(down.clone());
        match transmit {
            Transmit::Submit { .. } => v.handle_submitted(UnixMillis(at), failed.map(|()| tx(0))),
            Transmit::Poll { .. } => {
                v.handle_receipt(UnixMillis(at), failed.map(|()| SubmissionStatus::Pending))
            }
            Transmit::ReadHead => v.handle_head(UnixMillis(at), failed.map(|()| 0)),
            Transmit::ReadRecord { .. } => v.handle_record(UnixMillis(at), failed.map(|()| None)),
            other => panic!("unexpected {other:?}"),
        }
        .unwrap();
        attempts += 1;
        let backoff = [100, 200]
            .get(attempts as usize - 1)
            .copied()
            .unwrap_or(300);
        assert_eq!(v.poll_timeout(), Some(UnixMillis(at + backoff)));
        assert_eq!(
            v.state(),
            ValidatorState::Outage {
                outage: Outage {
                    since: UnixMillis(from),
                    attempts,
                    retry_at: UnixMillis(at + backoff),
                    last_error: down.clone(),
                },
                during: Box::new(during.clone()),
            }
        );
        assert!(v.poll_ack().is_none());
        at += backoff;
    }
    (at, attempts)
}

#[test]
fn an_outage_of_ten_minutes_before_sending_ends_valid_once_the_node_returns() {
    let tc = tc();
    let mut v = TransactionValidator::new(&tc, config());
    persist(&mut v, 0);
    let (back, attempts) = ten_minutes_down(&mut v, 0, &ValidatorState::Generated);
    // 100 + 200 + 300 × 1_999 = 600_000: 2_001 attempts, never a verdict.
    assert_eq!((back, attempts), (TEN_MINUTES, 2_001));
    // The node is back: the same submission goes out (no new outbox entry
    // is needed, nothing was sent) and the TI ends valid.
    assert_eq!(v.poll_transmit(UnixMillis(back)), Some(send(&tc)));
    v.handle_submitted(UnixMillis(back), Ok(tx(1))).unwrap();
    assert_eq!(v.state(), ValidatorState::Submitted { tx_hash: tx(1) });
    assert_eq!(v.outage(), None);
    let r = receipt(tx(1), 10, true, None);
    poll(
        &mut v,
        back + 1_000,
        tx(1),
        SubmissionStatus::Included(r.clone()),
    );
    head(&mut v, back + 1_000, 11);
    poll(&mut v, back + 1_000, tx(1), SubmissionStatus::Included(r));
    let ack = v.poll_ack().unwrap();
    assert_eq!(ack.anchor().unwrap().tx_hash, Some(tx(1)));
    assert_eq!(v.tx_hashes(), &[tx(1)]);
}

#[test]
fn an_outage_while_confirming_is_not_a_chain_that_stopped() {
    // Included in block 5 at 1 s; the head read once (5), then the node is
    // away for ten minutes, far past the inclusion timeout (10 s).
    let (mut v, r) = included_in_block_5();
    head(&mut v, 1_000, 5);
    let during = ValidatorState::Included {
        tx_hash: r.tx_hash,
        block_number: 5,
    };
    let (back, _) = ten_minutes_down(&mut v, 2_000, &during);
    // Back at the same head: the stall is measured from here, not from
    // before the outage.
    head(&mut v, back, 5);
    assert_eq!(v.state(), during);
    head(&mut v, back + 1_000, 6);
    poll_valid(&mut v, back + 1_000, &r);
}

#[test]
fn an_outage_while_settling_is_waited_out_and_ends_recovered() {
    let tc = tc();
    let mut v = all_answers_lost(&tc);
    let settling = ValidatorState::Settling { seen_at_head: None };
    assert_eq!(v.state(), settling);
    let (back, _) = ten_minutes_down(&mut v, 300, &settling);
    read(&mut v, back, Some(tc.record_hash));
    head(&mut v, back, 20);
    head(&mut v, back + 1_000, 21);
    read(&mut v, back + 1_000, Some(tc.record_hash));
    let ack = v.poll_ack().unwrap();
    assert!(ack.anchor().unwrap().is_recovered(), "{ack:?}");
}

#[test]
fn the_outage_state_in_json_says_since_when_how_often_and_why() {
    let tc = tc();
    let v = first_send_fails(&tc, TransportError::RateLimited("429".into()));
    assert_eq!(
        serde_json::to_value(v.state()).unwrap(),
        serde_json::json!({
            "state": "outage",
            "outage": {
                "since": 0,
                "attempts": 1,
                "retryAt": 100,
                "lastError": {"error": "rate_limited", "detail": "429"},
            },
            "during": {"state": "generated"},
        })
    );
    // The outbox entry keeps it: a resumed validator still knows.
    let resumed = TransactionValidator::from_json(&v.to_json()).unwrap();
    assert_eq!(resumed.outage(), v.outage());
}

#[test]
fn giving_up_settles_to_valid_when_the_registry_holds_the_record() {
    let tc = tc();
    // Read: ours. Then the head, to know when to read again.
    let mut v = settling_on_ours(&tc);
    assert_eq!(v.state(), ValidatorState::Settling { seen_at_head: None });
    head(&mut v, 300, 20);
    // 2 confirmations: the head must reach 21 before the confirming read.
    assert_eq!(
        v.state(),
        ValidatorState::Settling {
            seen_at_head: Some(20)
        }
    );
    assert_eq!(v.poll_transmit(UnixMillis(1_299)), None);
    assert_eq!(v.poll_timeout(), Some(UnixMillis(1_300)));
    head(&mut v, 1_300, 21);
    read(&mut v, 1_300, Some(tc.record_hash));
    assert!(v.is_finished());
    let ack = v.poll_ack().unwrap();
    let anchor = ack.anchor().unwrap();
    assert!(anchor.is_recovered() && !anchor.replay);
    assert_eq!(
        (
            anchor.tx_hash,
            anchor.block_number,
            anchor.block_hash,
            anchor.log_index,
            anchor.gas_used
        ),
        (None, None, None, None, None)
    );
    let recovered = anchor.recovered.as_deref().unwrap();
    assert_eq!(
        (recovered.seen_at_head, recovered.confirmed_at_head),
        (20, 21)
    );
    assert_eq!(recovered.registry, tc.to);
    assert_eq!(recovered.key, tc.ti_id);
    assert_eq!(
        recovered.event_topic,
        IEhrRegistry::RecordAnchored::SIGNATURE_HASH
    );
    assert!(recovered.event.starts_with("RecordAnchored("));
    assert!(recovered.note.contains("tx unknown"));
    assert!(recovered.note.contains(&tc.ti_id.to_string()));
    let reads: Vec<_> = v
        .history()
        .iter()
        .filter_map(|e| match e.event {
            AuditEvent::ChainRead { held } => Some(held),
            _ => None,
        })
        .collect();
    assert_eq!(reads, [ChainHolds::Ours, ChainHolds::Ours]);
    // Plain data: JSON round trip.
    let json = serde_json::to_string(&ack).unwrap();
    assert_eq!(serde_json::from_str::<Ack>(&json).unwrap(), ack);
}

#[test]
fn giving_up_settles_to_another_hash_or_to_not_anchored() {
    let tc = tc();
    let other = B256::repeat_byte(0x77);
    let give_up = |v: &mut TransactionValidator| {
        persist(v, 0);
        assert_eq!(v.poll_transmit(UnixMillis(0)), Some(send(&tc)));
        v.handle_submitted(
            UnixMillis(0),
            Err(TransportError::Rejected("no funds".into())),
        )
        .unwrap();
    };
    // Another hash at both reads: invalid, not inconclusive.
    let mut v = TransactionValidator::new(&tc, config());
    give_up(&mut v);
    read(&mut v, 0, Some(other));
    head(&mut v, 0, 5);
    head(&mut v, 1_000, 6);
    read(&mut v, 1_000, Some(other));
    let reason = v.poll_ack().unwrap().reason().cloned().unwrap();
    assert_eq!(
        reason,
        InvalidReason::AnchoredWithOtherHash {
            stored_record_hash: other
        }
    );
    assert!(!reason.may_rerun());

    // Nothing, once nothing sent can still be pending (the inclusion timeout
    // after the last submission): not anchored.
    let mut v = TransactionValidator::new(&tc, config());
    give_up(&mut v);
    read(&mut v, 0, None);
    assert!(!v.is_finished());
    assert_eq!(v.poll_transmit(UnixMillis(9_999)), None);
    assert_eq!(v.poll_timeout(), Some(UnixMillis(10_000)));
    read(&mut v, 10_000, None);
    let reason = v.poll_ack().unwrap().reason().cloned().unwrap();
    assert_eq!(
        reason,
        InvalidReason::NotAnchored {
            cause: Box::new(InvalidReason::TransportRejected {
                error: TransportError::Rejected("no funds".into())
            }),
            read_at_head: None,
        }
    );
    assert!(!reason.is_inconclusive() && reason.may_rerun());
    assert!(reason.to_string().starts_with("not anchored"));

    // Ours at the first read, gone at the confirming one (reorged out), and
    // still nothing after the quiet time: not anchored, with the head known.
    let reorged_out = |start: u64| {
        let mut v = TransactionValidator::new(&tc, config());
        give_up(&mut v);
        read(&mut v, start, Some(tc.record_hash));
        head(&mut v, start, 7);
        head(&mut v, start + 1_000, 8);
        read(&mut v, start + 1_000, None);
        v
    };
    let mut v = reorged_out(0);
    read(&mut v, 10_000, None);
    assert!(matches!(
        v.poll_ack().unwrap().reason(),
        Some(InvalidReason::NotAnchored {
            read_at_head: None,
            ..
        })
    ));
    let mut v = reorged_out(10_000);
    assert!(matches!(
        v.poll_ack().unwrap().reason(),
        Some(InvalidReason::NotAnchored {
            read_at_head: Some(8),
            ..
        })
    ));
}

#[test]
fn a_read_that_changes_is_confirmed_again() {
    let tc = tc();
    let mut v = first_send_fails(&tc, TransportError::Rejected("no funds".into()));
    read(&mut v, 0, Some(B256::repeat_byte(0x77)));
    head(&mut v, 0, 5);
    head(&mut v, 1_000, 6);
    // Another hash at the first read, ours at the second (a reorg): wait for
    // the confirmations again from here.
    read(&mut v, 1_000, Some(tc.record_hash));
    assert_eq!(v.state(), ValidatorState::Settling { seen_at_head: None });
    head(&mut v, 1_000, 6);
    head(&mut v, 2_000, 7);
    read(&mut v, 2_000, Some(tc.record_hash));
    let ack = v.poll_ack().unwrap();
    assert_eq!(
        ack.anchor()
            .unwrap()
            .recovered
            .as_ref()
            .unwrap()
            .seen_at_head,
        6
    );
}

#[test]
fn an_unreadable_chain_while_settling_keeps_the_verdict_inconclusive() {
    let tc = tc();
    let rejected = TransportError::Rejected("no funds".into());
    let mut v = asked_to_send(&tc);
    v.handle_submitted(UnixMillis(0), Err(rejected.clone()))
        .unwrap();
    // A permanent error on the read: no retries.
    read_fails(&mut v, 0, &tc, TransportError::Malformed("garbage".into()));
    let reason = v.poll_ack().unwrap().reason().cloned().unwrap();
    assert_eq!(reason, InvalidReason::TransportRejected { error: rejected });
    assert!(reason.is_inconclusive());
}

#[test]
fn backoff_is_capped_and_reset_by_a_success() {
    let tc = tc();
    let mut v = TransactionValidator::new(&tc, config());
    let mut now = 0;
    persist(&mut v, now);
    for expected in [100, 200, 300, 300] {
        assert_eq!(v.poll_transmit(UnixMillis(now)), Some(send(&tc)));
        v.handle_submitted(
            UnixMillis(now),
            Err(TransportError::RateLimited("429".into())),
        )
        .unwrap();
        assert_eq!(v.poll_timeout(), Some(UnixMillis(now + expected)));
        now += expected;
    }
    // Retries of a failed send need no new outbox entry.
    assert_eq!(v.poll_transmit(UnixMillis(now)), Some(send(&tc)));
    v.handle_submitted(UnixMillis(now), Ok(tx(1))).unwrap();
    assert_eq!(
        v.poll_transmit(UnixMillis(now + 1_000)),
        Some(poll_of(&v, tx(1)))
    );
    v.handle_receipt(
        UnixMillis(now + 1_000),
        Err(TransportError::Unavailable("x".into())),
    )
    .unwrap();
    assert_eq!(v.poll_timeout(), Some(UnixMillis(now + 1_100)));
}

#[test]
fn a_permanent_error_is_fatal_and_sticky() {
    let tc = tc();
    let mut v = asked_to_send(&tc);
    let error = wrong_chain();
    v.handle_submitted(UnixMillis(0), Err(error.clone()))
        .unwrap();
    assert!(v.is_finished());
    assert_eq!(v.state(), ValidatorState::Finished);
    // Nothing moves it any more.
    assert_eq!(v.poll_transmit(UnixMillis(u64::MAX)), None);
    assert_eq!(v.poll_timeout(), None);
    assert_eq!(
        v.handle_submitted(UnixMillis(1), Ok(tx(1))),
        Err(ValidatorError::Finished)
    );
    assert_eq!(
        v.handle_head(UnixMillis(1), Ok(5)),
        Err(ValidatorError::Finished)
    );
    v.handle_timeout(UnixMillis(u64::MAX));
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
        v.handle_head(UnixMillis(0), Ok(1)),
        Err(ValidatorError::Unexpected("the chain head"))
    );
    assert_eq!(
        v.handle_record(UnixMillis(0), Ok(None)),
        Err(ValidatorError::Unexpected("a record read"))
    );
    assert_eq!(
        v.handle_batch(UnixMillis(0), Ok(None)),
        Err(ValidatorError::Unexpected("a batch read"))
    );
    submit(&mut v, 0, tx(1));
    assert_eq!(
        v.handle_submitted(UnixMillis(0), Ok(tx(2))),
        Err(ValidatorError::Unexpected("a submission result"))
    );
    assert_eq!(v.poll_transmit(UnixMillis(1_000)), Some(poll_of(&v, tx(1))));
    // A receipt of another transaction does not answer the poll...
    let other = receipt(tx(9), 4, true, None);
    assert_eq!(
        v.handle_receipt(UnixMillis(1_000), Ok(SubmissionStatus::Included(other))),
        Err(ValidatorError::WrongReceipt {
            expected: tx(1),
            got: tx(9)
        })
    );
    // ...which stays open for the right one.
    let r = receipt(tx(1), 4, true, None);
    v.handle_receipt(UnixMillis(1_000), Ok(SubmissionStatus::Included(r)))
        .unwrap();
    assert_eq!(
        v.state(),
        ValidatorState::Included {
            tx_hash: tx(1),
            block_number: 4
        }
    );
}

#[test]
fn a_transaction_pending_too_long_is_sent_again_then_given_up() {
    let tc = tc();
    let mut v = polled_once(&tc, SubmissionStatus::Pending);
    v.handle_timeout(UnixMillis(9_999));
    assert_eq!(v.state(), ValidatorState::Submitted { tx_hash: tx(1) });
    v.handle_timeout(UnixMillis(10_000));
    // Its fate is unknown: read the registry before paying for another one.
    assert_eq!(v.state(), ValidatorState::Settling { seen_at_head: None });
    read(&mut v, 10_000, None);
    assert_eq!(v.state(), ValidatorState::Generated);
    submit(&mut v, 10_000, tx(2));
    poll(&mut v, 11_000, tx(2), SubmissionStatus::Dropped);
    // Past the limit: settle, and wait until nothing sent can be pending.
    read(&mut v, 11_000, None);
    assert!(v.poll_ack().is_none());
    read(&mut v, 20_000, None);
    let ack = v.poll_ack().unwrap();
    assert_eq!(
        ack.reason(),
        Some(&InvalidReason::NotAnchored {
            cause: Box::new(InvalidReason::Dropped { resubmissions: 1 }),
            read_at_head: None,
        })
    );
    match &ack.status {
        AckStatus::Invalid { tx_hashes, .. } => assert_eq!(tx_hashes, &[tx(1), tx(2)]),
        AckStatus::Valid(_) => panic!("dropped twice but valid"),
    }
    // The record is kept for audit: the TC's sealed envelope and its hash.
    assert_eq!(
        (ack.ti_id, ack.template_id, ack.record_hash),
        (tc.ti_id, tc.template_id, Some(tc.record_hash))
    );
    assert_eq!(
        ack.envelope.as_ref().map(|e| e.to_vec()),
        Some(tc.envelope.as_bytes().to_vec())
    );
}

#[test]
fn a_reorg_after_confirmation_is_noticed_before_the_ack() {
    let mut v = TransactionValidator::new(&tc(), config());
    submit(&mut v, 0, tx(1));
    poll(
        &mut v,
        1_000,
        tx(1),
        SubmissionStatus::Included(receipt(tx(1), 10, true, None)),
    );
    head(&mut v, 1_000, 11);
    // The final check finds it in another block: it waits again...
    poll(
        &mut v,
        1_000,
        tx(1),
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
    // ...and a second reorg, past the limit of 1, makes it settle: the
    // registry holds the record (mined again meanwhile) at two reads, so it
    // is valid, recovered.
    poll(&mut v, 1_000, tx(1), SubmissionStatus::Pending);
    assert_eq!(v.state(), ValidatorState::Settling { seen_at_head: None });
    read(&mut v, 1_000, Some(tc().record_hash));
    head(&mut v, 1_000, 14);
    head(&mut v, 2_000, 15);
    read(&mut v, 2_000, Some(tc().record_hash));
    assert!(v.poll_ack().unwrap().anchor().unwrap().is_recovered());
    let reorgs: Vec<_> = v
        .history()
        .iter()
        .filter_map(|e| match e.event {
            AuditEvent::Reorged {
                tx_hash,
                block_number,
            } => Some((tx_hash, block_number)),
            _ => None,
        })
        .collect();
    assert_eq!(reorgs, [(tx(1), 10), (tx(1), 12)]);
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
fn refusals_end_when_they_are_known() {
    let tc = tc();
    let role_refused = Bytes::from(
        IEhrRegistry::EhrRegistryRoleNotAllowed {
            templateId: tc.template_id,
            role: Role::new(Role::NURSE).unwrap().id(),
        }
        .abi_encode(),
    );
    // A mined revert: the ACK comes with the first receipt, names the
    // transaction and the role, and says a rerun cannot help.
    let mut v = TransactionValidator::new(&tc, config());
    submit(&mut v, 0, tx(1));
    poll(
        &mut v,
        1_000,
        tx(1),
        SubmissionStatus::Included(receipt(tx(1), 5, false, Some(role_refused.clone()))),
    );
    let ack = v.poll_ack().unwrap();
    let Some(AckStatus::Invalid { reason, tx_hashes }) = Some(&ack.status) else {
        panic!("{ack:?}");
    };
    assert_eq!(tx_hashes, &vec![tx(1)]);
    assert!(!reason.may_rerun());
    assert!(reason.to_string().contains("(NURSE_ROLE)"), "{reason}");

    // A gas estimate that reverts: nothing is mined, the ACK comes at once.
    let mut v = asked_to_send(&tc);
    let revert = crate::rpc::Revert {
        data: role_refused.clone(),
        tx_hash: None,
        message: "execution reverted".into(),
    };
    v.handle_submitted(UnixMillis(0), Err(TransportError::Reverted(revert.clone())))
        .unwrap();
    let ack = v.poll_ack().unwrap();
    assert_eq!(
        ack.status,
        AckStatus::Invalid {
            reason: InvalidReason::ContractRevert {
                revert: revert.decoded()
            },
            tx_hashes: vec![],
        }
    );
    assert_eq!(v.poll_transmit(UnixMillis(1)), None);

    // A node that mined the reverted send and named it (Hardhat's
    // `data.txHash`, Ganache's `data.hash`): its hash is in the ACK.
    let mut v = asked_to_send(&tc);
    let mined = crate::rpc::Revert {
        tx_hash: Some(tx(9)),
        ..revert
    };
    v.handle_submitted(UnixMillis(0), Err(TransportError::Reverted(mined)))
        .unwrap();
    let ack = v.poll_ack().unwrap();
    assert!(
        matches!(&ack.status, AckStatus::Invalid { tx_hashes, .. } if tx_hashes == &vec![tx(9)])
    );
}

#[test]
fn an_estimate_refusing_the_same_anchoring_is_a_confirmed_replay() {
    let tc = tc();
    let mut v = asked_to_send(&tc);
    let used = IEhrRegistry::EhrRegistryTiAlreadyUsed {
        tiId: tc.ti_id,
        storedRecordHash: tc.record_hash,
    };
    let revert = crate::rpc::Revert {
        data: used.abi_encode().into(),
        tx_hash: None,
        message: "execution reverted".into(),
    };
    v.handle_submitted(UnixMillis(0), Err(TransportError::Reverted(revert)))
        .unwrap();
    // Nothing was mined: the chain is read and the anchor confirmed.
    let mut now = 0;
    let mut chain_head = 10;
    while !v.is_finished() {
        now += 1_000;
        v.handle_timeout(UnixMillis(now));
        match v.poll_transmit(UnixMillis(now)) {
            Some(Transmit::ReadRecord { .. }) => v
                .handle_record(UnixMillis(now), Ok(Some(tc.record_hash)))
                .unwrap(),
            Some(Transmit::ReadHead) => {
                chain_head += 1;
                v.handle_head(UnixMillis(now), Ok(chain_head)).unwrap();
            }
            None => {}
            other => panic!("{other:?}"),
        }
        assert!(now < 600_000, "no verdict");
    }
    let anchor = v.poll_ack().unwrap().anchor().unwrap().clone();
    assert!(anchor.replay);
    assert!(anchor.is_recovered());
    assert_eq!(anchor.tx_hash, None);
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
    let violations = crate::violation::Violations(vec![crate::violation::Violation {
        field: None,
        kind: crate::violation::ViolationKind::MissingPatient,
    }]);
    let mut v = TransactionValidator::rejected(&ti, &violations);
    assert!(v.is_finished());
    assert_eq!(v.poll_transmit(UnixMillis(0)), None);
    let ack = v.poll_ack().unwrap();
    assert_eq!(
        ack.reason(),
        Some(&InvalidReason::TemplateViolations {
            violations: vec![ViolationNote {
                field: None,
                message: crate::violation::ViolationKind::MissingPatient.to_string(),
            }]
        })
    );
    assert_eq!((ack.ti_id, ack.template_id), (ti.ti_id, ti.template_id));
    assert_eq!((ack.record_hash, ack.envelope.clone()), (None, None));
    // Plain data: JSON round trip.
    let json = serde_json::to_string(&ack).unwrap();
    assert!(
        json.contains("\"reason\":{\"kind\":\"template_violations\""),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<Ack>(&json).unwrap(), ack);
}

/// The batch of `tcs`' record hashes, in order, and its validator's
/// making (registry 0xee…, chain 1337).
fn batch_of(
    tcs: &[ChainTransaction],
) -> (crate::Batch, Result<TransactionValidator, ValidatorError>) {
    let mut builder = crate::BatchBuilder::new();
    for tc in tcs {
        builder.push(tc.record_hash).unwrap();
    }
    let batch = builder.build(B256::repeat_byte(0xba)).unwrap();
    let v =
        TransactionValidator::for_batch(&batch, tcs, Address::repeat_byte(0xee), 1337, config());
    (batch, v)
}

fn batch_validator() -> (TransactionValidator, crate::Batch, Vec<ChainTransaction>) {
    let tcs = vec![tc_for(1), tc_for(2), tc_for(3)];
    let (batch, v) = batch_of(&tcs);
    (v.unwrap(), batch, tcs)
}

#[test]
fn a_batch_takes_each_ti_once() {
    let tcs = [tc_for(1), tc_for(2), tc_for(1)];
    let refused = batch_of(&tcs).1.unwrap_err();
    assert_eq!(
        refused,
        ValidatorError::DuplicateTi {
            index: 2,
            ti_id: tcs[0].ti_id
        }
    );
    assert_eq!(refused.code(), crate::ErrorCode::BatchDuplicateTi);
}

#[test]
fn a_batch_takes_only_its_own_unsigned_tcs_in_order() {
    use crate::authorship::{LocalSigner, Signer, SigningRequest};
    let (_, batch, tcs) = batch_validator();
    let for_batch = |tcs: &[ChainTransaction], registry: u8, chain_id: u64| {
        TransactionValidator::for_batch(
            &batch,
            tcs,
            Address::repeat_byte(registry),
            chain_id,
            config(),
        )
        .map(drop)
    };
    let swapped = [tcs[1].clone(), tcs[0].clone(), tcs[2].clone()];
    assert_eq!(
        for_batch(&swapped, 0xee, 1337),
        Err(ValidatorError::BatchMismatch { index: 0 })
    );
    let elsewhere = for_batch(&tcs, 0xaa, 1337).unwrap_err();
    assert!(
        matches!(elsewhere, ValidatorError::NotBatchable { index: 0, .. }),
        "{elsewhere}"
    );
    assert!(matches!(
        for_batch(&tcs, 0xee, 1),
        Err(ValidatorError::NotBatchable { index: 0, .. })
    ));
    // A signed TC with the same record hash: the root would anchor the
    // record but not its author's signature.
    let doctor = LocalSigner::from_bytes(&[0x11; 32]).unwrap();
    let request = SigningRequest::new(tcs[2].clone(), doctor.address()).unwrap();
    let signature = doctor.sign(&request).unwrap();
    let signed = request.attach(&signature).unwrap();
    let with_signed = [tcs[0].clone(), tcs[1].clone(), signed];
    let refused = for_batch(&with_signed, 0xee, 1337).unwrap_err();
    assert!(
        matches!(refused, ValidatorError::NotBatchable { index: 2, .. }),
        "{refused}"
    );
    assert_eq!(refused.code(), crate::ErrorCode::BatchMismatch);
    assert!(refused.to_string().contains("signed"), "{refused}");
    // Any call but its own anchorRecord: a root would drop it.
    let other_call = ChainTransaction {
        calldata: alloy_primitives::Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]),
        ..tcs[1].clone()
    };
    let with_other = [tcs[0].clone(), other_call, tcs[2].clone()];
    let refused = for_batch(&with_other, 0xee, 1337).unwrap_err();
    assert!(
        matches!(refused, ValidatorError::NotBatchable { index: 1, .. }),
        "{refused}"
    );
    // A stored batch entry whose record claims an author's signature is
    // not resumed: its root does not anchor the signature.
    let (v, _, _) = batch_validator();
    let mut entry: serde_json::Value = serde_json::from_str(&v.to_json()).unwrap();
    let statement = serde_json::to_value(with_signed[2].signed_statement().unwrap()).unwrap();
    entry["validator"]["records"][0]["authorship"] = statement;
    let resumed = TransactionValidator::from_json(&entry.to_string()).unwrap_err();
    assert!(
        resumed.to_string().contains("author's signature"),
        "{resumed}"
    );
}

/// Hands `v` the batch read `ours` at 10 s, then heads 3 and 4 until it
/// reads the root again at 11 s.
fn read_batch_twice(v: &mut TransactionValidator, ours: AnchoredBatch) {
    v.handle_batch(UnixMillis(10_000), Ok(Some(ours))).unwrap();
    head(v, 10_000, 3);
    head(v, 11_000, 4);
    assert_eq!(
        v.poll_transmit(UnixMillis(11_000)),
        Some(Transmit::ReadBatch { root: ours.root })
    );
}

#[test]
fn a_batch_settles_by_reading_its_root() {
    let (mut v, batch, tcs) = batch_validator();
    let root = batch.root();
    let ours = AnchoredBatch {
        root,
        leaf_count: 3,
        batch_id: Some(B256::repeat_byte(0xba)),
    };
    // One anchorBatch call for the three records.
    let tx_batch = batch.anchor_transaction(Address::repeat_byte(0xee), 1337);
    assert_eq!(v.submission(), Some(&Submission::from(&tx_batch)));
    assert_eq!(
        v.submission().map(|s| s.anchoring),
        Some(Anchoring::Batch {
            batch_id: B256::repeat_byte(0xba),
            root,
            leaf_count: 3
        })
    );
    submit(&mut v, 0, tx(1));
    v.handle_timeout(UnixMillis(10_000));
    assert_eq!(
        v.poll_transmit(UnixMillis(10_000)),
        Some(Transmit::ReadBatch { root })
    );
    // A record read does not answer a batch read.
    assert_eq!(
        v.handle_record(UnixMillis(10_000), Ok(None)),
        Err(ValidatorError::Unexpected("a record read"))
    );
    read_batch_twice(&mut v, ours);
    // A reader without logs gives no batch id: not compared.
    v.handle_batch(
        UnixMillis(11_000),
        Ok(Some(AnchoredBatch {
            batch_id: None,
            ..ours
        })),
    )
    .unwrap();
    let acks: Vec<Ack> = std::iter::from_fn(|| v.poll_ack()).collect();
    assert_eq!(acks.len(), 3);
    for (ack, tc) in acks.iter().zip(&tcs) {
        let anchor = ack.anchor().unwrap();
        let recovered = anchor.recovered.as_deref().unwrap();
        assert_eq!(recovered.key, root);
        assert!(recovered.event.starts_with("BatchAnchored("));
        let proof = anchor.batch.as_ref().unwrap();
        assert_eq!(proof.record_hash, tc.record_hash);
        proof.verify_anchored(&ours).unwrap();
    }
}

/// Runs a batch validator resumed from its entry to its ACKs, its root
/// anchored as `batch` says.
fn settled_batch(mut v: TransactionValidator, batch: &crate::Batch) -> Vec<Ack> {
    let root = batch.root();
    let ours = AnchoredBatch {
        root,
        leaf_count: batch.leaf_count(),
        batch_id: Some(batch.batch_id()),
    };
    assert_eq!(
        v.poll_transmit(UnixMillis(10_000)),
        Some(Transmit::ReadBatch { root })
    );
    read_batch_twice(&mut v, ours);
    v.handle_batch(UnixMillis(11_000), Ok(Some(ours))).unwrap();
    std::iter::from_fn(|| v.poll_ack()).collect()
}

#[test]
fn a_batch_entry_keeps_no_proofs_and_entries_of_format_1_still_resume() {
    let (mut v, batch, _) = batch_validator();
    assert_eq!(v.poll_transmit(UnixMillis(0)), Some(Transmit::Persist));
    let entry = v.to_json();
    assert!(
        entry.starts_with(r#"{"format":"ehrchain.validator/2""#),
        "{entry}"
    );
    assert!(!entry.contains("siblings"), "{entry}");
    let proofs: Vec<InclusionProof> = (0..3).map(|i| batch.proof(i).unwrap()).collect();
    let proofs_of = |acks: Vec<Ack>| -> Vec<InclusionProof> {
        acks.iter()
            .map(|a| a.anchor().unwrap().batch.clone().unwrap())
            .collect()
    };
    // Format 2: the proofs are rebuilt from the record hashes.
    let resumed = TransactionValidator::from_json(&entry).unwrap();
    assert_eq!(proofs_of(settled_batch(resumed, &batch)), proofs);

    // Format 1, as stored before: every record with its proof.
    let mut old: serde_json::Value = serde_json::from_str(&entry).unwrap();
    old["format"] = "ehrchain.validator/1".into();
    let records = old["validator"]["records"].as_array_mut().unwrap();
    for (record, proof) in records.iter_mut().zip(&proofs) {
        record["proof"] = serde_json::to_value(proof).unwrap();
    }
    let resumed = TransactionValidator::from_json(&old.to_string()).unwrap();
    assert_eq!(proofs_of(settled_batch(resumed, &batch)), proofs);
    // A format-1 record whose proof is missing is refused.
    let refusal =
        |entry: &serde_json::Value| match TransactionValidator::from_json(&entry.to_string()) {
            Err(ValidatorError::Snapshot(why)) => why,
            other => panic!("resumed: {other:?}"),
        };
    old["validator"]["records"][1]["proof"] = serde_json::Value::Null;
    let why = refusal(&old);
    assert!(
        why.contains("a record's proof is for another batch"),
        "{why}"
    );

    // Records out of leaf order make another root: refused. (Swapping two
    // siblings would not: the tree hashes sorted pairs.)
    let mut swapped: serde_json::Value = serde_json::from_str(&entry).unwrap();
    swapped["validator"]["records"]
        .as_array_mut()
        .unwrap()
        .swap(0, 2);
    let why = refusal(&swapped);
    assert!(
        why.contains("the records' hashes make another root than the submission's"),
        "{why}"
    );
}

#[test]
fn a_root_anchored_for_another_batch_is_invalid() {
    let (mut v, batch, _) = batch_validator();
    let theirs = AnchoredBatch {
        root: batch.root(),
        leaf_count: 4,
        batch_id: None,
    };
    submit(&mut v, 0, tx(1));
    poll(&mut v, 1_000, tx(1), SubmissionStatus::Dropped);
    let read_root = Transmit::ReadBatch { root: batch.root() };
    assert_eq!(v.poll_transmit(UnixMillis(1_000)), Some(read_root.clone()));
    v.handle_batch(UnixMillis(1_000), Ok(Some(theirs))).unwrap();
    head(&mut v, 1_000, 3);
    head(&mut v, 2_000, 4);
    assert_eq!(v.poll_transmit(UnixMillis(2_000)), Some(read_root));
    v.handle_batch(UnixMillis(2_000), Ok(Some(theirs))).unwrap();
    let acks: Vec<Ack> = std::iter::from_fn(|| v.poll_ack()).collect();
    assert_eq!(acks.len(), 3);
    for ack in &acks {
        assert_eq!(
            ack.reason(),
            Some(&InvalidReason::RootAnchoredWithOtherBatch {
                stored_leaf_count: 4,
                stored_batch_id: None
            })
        );
    }
}

#[test]
fn a_resubmission_goes_ahead_when_the_chain_cannot_be_read() {
    let tc = tc();
    let mut v = polled_once(&tc, SubmissionStatus::Dropped);
    read_fails(&mut v, 1_000, &tc, TransportError::Malformed("x".into()));
    // The registry refuses a second anchoring, so sending again is safe.
    assert_eq!(v.state(), ValidatorState::Generated);
    persist(&mut v, 1_000);
    assert_eq!(v.poll_transmit(UnixMillis(1_000)), Some(send(&tc)));
    v.handle_submitted(UnixMillis(1_000), Ok(tx(2))).unwrap();
    assert_eq!(v.tx_hashes(), &[tx(1), tx(2)]);
}

#[test]
fn the_wrong_chain_is_not_read() {
    let mut v = TransactionValidator::new(&tc(), config());
    submit(&mut v, 0, tx(1));
    assert_eq!(v.poll_transmit(UnixMillis(1_000)), Some(poll_of(&v, tx(1))));
    let error = wrong_chain();
    v.handle_receipt(UnixMillis(1_000), Err(error.clone()))
        .unwrap();
    assert!(v.is_finished());
    assert_eq!(
        v.poll_ack().unwrap().reason(),
        Some(&InvalidReason::TransportRejected { error })
    );
}

#[test]
fn actions_have_a_json_form_that_reads_back() {
    let submission = Submission::from(&tc());
    let actions = [
        Transmit::Submit {
            submission: submission.clone(),
        },
        Transmit::Poll {
            tx_hash: tx(1),
            submission,
        },
        Transmit::ReadHead,
        Transmit::ReadRecord {
            ti_id: B256::repeat_byte(3),
        },
        Transmit::ReadBatch {
            root: B256::repeat_byte(4),
        },
    ];
    for action in actions {
        let json = serde_json::to_value(&action).unwrap();
        assert_eq!(
            serde_json::from_value::<Transmit>(json.clone()).unwrap(),
            action
        );
        assert!(json["kind"].is_string(), "{json}");
    }
    assert_eq!(
        serde_json::to_value(Transmit::ReadHead).unwrap(),
        serde_json::json!({"kind": "read_head"})
    );
}

#[test]
fn settings_in_json_take_defaults_for_what_they_leave_out() {
    let config: ValidatorConfig = serde_json::from_str(r#"{"confirmations": 1}"#).unwrap();
    assert_eq!(
        config,
        ValidatorConfig {
            confirmations: 1,
            ..ValidatorConfig::default()
        }
    );
    let unknown = serde_json::from_str::<ValidatorConfig>(r#"{"confirmation": 1}"#).unwrap_err();
    assert!(
        unknown.to_string().contains("unknown field `confirmation`"),
        "{unknown}"
    );
}

#[test]
fn a_head_that_stands_still_ends_the_wait_for_confirmations() {
    // An instamining development node: the transaction's block is the head,
    // and no further block comes.
    let (mut v, r) = included_in_block_5();
    // Still at 5 (1 of 2 confirmations) until 10 s after the first read...
    for at in (1_000..11_000).step_by(1_000) {
        head(&mut v, at, 5);
        assert_eq!(
            v.state(),
            ValidatorState::Included {
                tx_hash: r.tx_hash,
                block_number: 5
            },
            "{at}"
        );
    }
    // ...then inclusion_timeout_ms of a still head: unconfirmed, inconclusive.
    head(&mut v, 11_000, 5);
    assert!(v.is_finished());
    let ack = v.poll_ack().unwrap();
    let reason = ack.reason().unwrap();
    assert_eq!(
        reason,
        &InvalidReason::Unconfirmed {
            tx_hash: r.tx_hash,
            block_number: 5,
            head: 5,
            confirmations: 2,
        }
    );
    assert!(reason.is_inconclusive() && reason.may_rerun());
    assert!(reason.to_string().contains("stayed at 5"), "{reason}");
    assert_eq!(
        serde_json::to_value(reason).unwrap(),
        serde_json::json!({
            "kind": "unconfirmed",
            "txHash": r.tx_hash,
            "blockNumber": 5,
            "head": 5,
            "confirmations": 2,
        })
    );
}

#[test]
fn a_head_that_moves_within_the_bound_is_waited_for() {
    let (mut v, r) = included_in_block_5();
    for at in (1_000..10_000).step_by(1_000) {
        head(&mut v, at, 5);
    }
    // A node behind (or a reorg to a shorter chain) is no progress: the head
    // has stood at 5 or below since 1 s.
    head(&mut v, 10_000, 4);
    assert!(!v.is_finished());
    // The next block comes at the bound: confirmed, valid.
    head(&mut v, 11_000, 6);
    poll_valid(&mut v, 11_000, &r);
}

#[test]
fn settling_gives_up_when_the_head_stands_still() {
    // The submission answers are lost; the registry holds the record, but the
    // head never moves to confirm it: the original reason, inconclusive.
    let tc = tc();
    let mut v = settling_on_ours(&tc);
    let mut at = 300;
    while !v.is_finished() {
        head(&mut v, at, 20);
        at += 1_000;
        assert!(at <= 11_300, "still waiting at {at}");
    }
    let ack = v.poll_ack().unwrap();
    assert_eq!(
        ack.reason(),
        Some(&InvalidReason::TransportRejected {
            error: already_known()
        })
    );
    assert!(ack.reason().unwrap().is_inconclusive());
}

#[test]
fn an_ack_in_json_has_its_verdict_beside_its_ids() {
    let tc = tc();
    let mut v = TransactionValidator::new(&tc, config());
    submit(&mut v, 0, tx(1));
    let r = receipt(tx(1), 10, true, None);
    poll(&mut v, 1_000, tx(1), SubmissionStatus::Included(r.clone()));
    head(&mut v, 1_000, 11);
    poll(&mut v, 2_000, tx(1), SubmissionStatus::Included(r));
    let valid = v.poll_ack().unwrap();
    let json = serde_json::to_value(&valid).unwrap();
    assert_eq!(json["status"], "valid", "{json}");
    assert_eq!(json["blockNumber"], 10, "{json}");
    assert_eq!(json["tiId"], serde_json::to_value(tc.ti_id).unwrap());
    assert_eq!(serde_json::from_value::<Ack>(json).unwrap(), valid);

    let mut v = asked_to_send(&tc);
    let error = wrong_chain();
    v.handle_submitted(UnixMillis(0), Err(error)).unwrap();
    let invalid = v.poll_ack().unwrap();
    let json = serde_json::to_value(&invalid).unwrap();
    assert_eq!(json["status"], "invalid", "{json}");
    assert!(
        json["reason"].is_object() && json["txHashes"].is_array(),
        "{json}"
    );
    assert_eq!(serde_json::from_value::<Ack>(json).unwrap(), invalid);
}

#[test]
fn every_submission_is_announced_in_the_outbox_first() {
    let tc = tc();
    let mut v = TransactionValidator::new(&tc, config());
    assert_eq!(v.outbox_key(), Some(tc.ti_id));
    // Nothing is sent before the host has stored the entry.
    assert_eq!(v.poll_transmit(UnixMillis(0)), Some(Transmit::Persist));
    assert_eq!(v.poll_transmit(UnixMillis(0)), None);
    // A failed write sends nothing and is asked for again after the backoff.
    v.handle_persisted(UnixMillis(0), Err(OutboxError("disk full".into())))
        .unwrap();
    assert_eq!(v.poll_transmit(UnixMillis(50)), None);
    assert_eq!(v.poll_timeout(), Some(UnixMillis(100)));
    assert_eq!(v.poll_transmit(UnixMillis(100)), Some(Transmit::Persist));
    v.handle_persisted(UnixMillis(100), Ok(())).unwrap();
    assert_eq!(v.poll_transmit(UnixMillis(100)), Some(send(&tc)));
    v.handle_submitted(UnixMillis(100), Ok(tx(1))).unwrap();
    // Dropped: after settling, the resubmission is announced again.
    v.handle_timeout(UnixMillis(20_000));
    read(&mut v, 20_000, None);
    assert_eq!(v.poll_transmit(UnixMillis(20_000)), Some(Transmit::Persist));
    assert_eq!(
        v.handle_persisted(UnixMillis(20_000), Ok(())),
        Ok(()),
        "the write asked for"
    );
    assert_eq!(
        v.handle_persisted(UnixMillis(20_000), Ok(())),
        Err(ValidatorError::Unexpected("an outbox write"))
    );
}

#[test]
fn an_entry_resumes_the_same_tc_and_settles_before_sending_again() {
    let tc = tc();
    let mut v = TransactionValidator::new(&tc, config());
    // The host stores the entry when asked, then crashes after sending.
    assert_eq!(v.poll_transmit(UnixMillis(0)), Some(Transmit::Persist));
    let entry = v.to_json();
    v.handle_persisted(UnixMillis(0), Ok(())).unwrap();
    assert_eq!(v.poll_transmit(UnixMillis(0)), Some(send(&tc)));
    drop(v);

    let mut resumed = TransactionValidator::from_json(&entry).unwrap();
    assert_eq!(resumed.submission(), Some(&Submission::from(&tc)));
    // The send may have happened: the registry is read before anything else.
    assert_eq!(
        resumed.poll_transmit(UnixMillis(5)),
        Some(Transmit::ReadRecord { ti_id: tc.ti_id })
    );
    // Ours is there: confirmed like any settled read, a valid ACK whose
    // record is the stored TC's, never a new envelope.
    resumed
        .handle_record(UnixMillis(5), Ok(Some(tc.record_hash)))
        .unwrap();
    head(&mut resumed, 5, 10);
    head(&mut resumed, 1_005, 11);
    read(&mut resumed, 1_005, Some(tc.record_hash));
    let ack = resumed.poll_ack().unwrap();
    assert!(ack.is_valid());
    assert_eq!(ack.record_hash, Some(tc.record_hash));
    assert_eq!(
        ack.envelope.as_ref().map(|e| e.to_vec()),
        Some(tc.envelope.as_bytes().to_vec()),
        "the stored sealed record"
    );
}

#[test]
fn an_entry_whose_parts_disagree_is_refused() {
    let tc = tc();
    let mut v = TransactionValidator::new(&tc, config());
    assert_eq!(v.poll_transmit(UnixMillis(0)), Some(Transmit::Persist));
    let entry: serde_json::Value = serde_json::from_str(&v.to_json()).unwrap();
    let refused = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut e = entry.clone();
        edit(&mut e);
        match TransactionValidator::from_json(&e.to_string()) {
            Err(ValidatorError::Snapshot(why)) => why,
            other => panic!("accepted: {other:?}"),
        }
    };
    let other = format!("0x{}", "07".repeat(32));
    assert!(refused(&|e| e["format"] = "ehrchain.validator/3".into()).contains("format"));
    assert!(
        refused(&|e| e["validator"]["records"][0]["recordHash"] = other.clone().into())
            .contains("SHA-256")
    );
    assert!(
        refused(&|e| e["validator"]["records"][0]["tiId"] = other.clone().into())
            .contains("bound to another TI")
    );
    assert!(
        refused(&|e| e["validator"]["submission"]["anchoring"]["tiId"] = other.clone().into())
            .contains("another TI id")
    );
    assert!(refused(&|e| e["validator"]["records"] = serde_json::json!([])).contains("no record"));
    assert!(refused(&|e| e["validator"]["extra"] = 1.into()).contains("unknown field"));
    assert!(matches!(
        TransactionValidator::from_json("not json"),
        Err(ValidatorError::Snapshot(_))
    ));
}

#[test]
fn any_serde_path_checks_and_resumes_the_validator() {
    let tc = tc();
    let mut v = TransactionValidator::new(&tc, config());
    assert_eq!(v.poll_transmit(UnixMillis(0)), Some(Transmit::Persist));
    let mut state = serde_json::to_value(&v).unwrap();
    assert_eq!(
        state,
        serde_json::from_str::<serde_json::Value>(&v.to_json()).unwrap()["validator"],
        "the serde form is the outbox entry's validator member"
    );
    // Announced but not answered: read back, the registry is read before
    // anything is sent again, as after a restart.
    let mut resumed: TransactionValidator = serde_json::from_value(state.clone()).unwrap();
    assert_eq!(
        resumed.poll_transmit(UnixMillis(0)),
        Some(Transmit::ReadRecord { ti_id: tc.ti_id })
    );
    state["records"][0]["recordHash"] = format!("0x{}", "07".repeat(32)).into();
    let refused = serde_json::from_value::<TransactionValidator>(state).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "a record hash is not the SHA-256 of its envelope"
    );
}
