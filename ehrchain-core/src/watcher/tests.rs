#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;
use crate::transport::TxReceipt;
use crate::validator::tests::{conclude, config, receipt, submit, tc, tc_for, tx};

const ROUND: u64 = 1_000;

fn watcher_config() -> WatcherConfig {
    WatcherConfig {
        depth: 4,
        poll_interval_ms: ROUND,
        backoff_initial_ms: 100,
        backoff_max_ms: 400,
        finality: Finality::Depth,
    }
}

/// A finished validator for TI 1 whose transaction `tx(7)` is in block 5,
/// its valid ACK, and the receipt.
fn valid() -> (TransactionValidator, Ack, TxReceipt) {
    let mut v = TransactionValidator::new(&tc(), config());
    let r = receipt(tx(7), 5, true, None);
    let ack = conclude(&mut v, &r);
    assert!(ack.is_valid());
    (v, ack, r)
}

fn watching() -> (AnchorWatcher, TransactionValidator, TxReceipt) {
    let (v, ack, r) = valid();
    let mut w = AnchorWatcher::new(watcher_config());
    w.watch(&v, &ack).unwrap();
    (w, v, r)
}

fn head(w: &mut AnchorWatcher, now: u64, head: u64) {
    assert_eq!(w.poll_transmit(UnixMillis(now)), Some(Transmit::ReadHead));
    w.handle_head(UnixMillis(now), Ok(head)).unwrap();
}

fn poll(
    w: &mut AnchorWatcher,
    now: u64,
    v: &TransactionValidator,
    r: &TxReceipt,
    status: SubmissionStatus,
) {
    let expected = Transmit::Poll {
        tx_hash: r.tx_hash,
        submission: v.submission().unwrap().clone(),
    };
    assert_eq!(w.poll_transmit(UnixMillis(now)), Some(expected));
    w.handle_receipt(UnixMillis(now), Ok(status)).unwrap();
}

/// A poll that finds `r` still in its block, and the anchor reported final
/// at head `at_head`.
fn poll_final(
    w: &mut AnchorWatcher,
    now: u64,
    v: &TransactionValidator,
    r: &TxReceipt,
    at_head: u64,
) {
    poll(w, now, v, r, SubmissionStatus::Included(r.clone()));
    assert!(matches!(
        w.poll_event(),
        Some(WatchEvent::Final { head, .. }) if head == at_head
    ));
}

fn read(w: &mut AnchorWatcher, now: u64, stored: Option<B256>) {
    let expected = Transmit::ReadRecord {
        ti_id: B256::repeat_byte(1),
    };
    assert_eq!(w.poll_transmit(UnixMillis(now)), Some(expected));
    w.handle_record(UnixMillis(now), Ok(stored)).unwrap();
}

fn records() -> Vec<WatchedRecord> {
    vec![WatchedRecord {
        ti_id: B256::repeat_byte(1),
        record_hash: tc().record_hash,
    }]
}

fn seen(r: &TxReceipt) -> AnchorSeen {
    AnchorSeen {
        tx_hash: r.tx_hash,
        block_number: r.block_number,
        block_hash: r.block_hash,
    }
}

#[test]
fn an_anchor_is_final_once_depth_blocks_hold_it() {
    let (mut w, v, r) = watching();
    let included = SubmissionStatus::Included(r.clone());
    // Head 7: three blocks hold block 5, four are asked for.
    head(&mut w, 0, 7);
    poll(&mut w, 0, &v, &r, included.clone());
    assert_eq!(w.poll_transmit(UnixMillis(0)), None);
    assert_eq!(w.poll_timeout(), Some(UnixMillis(ROUND)));
    assert_eq!(w.poll_event(), None);
    head(&mut w, ROUND, 8);
    poll(&mut w, ROUND, &v, &r, included);
    assert_eq!(
        w.poll_event(),
        Some(WatchEvent::Final {
            key: B256::repeat_byte(1),
            records: records(),
            anchor: Some(seen(&r)),
            head: 8,
            finalized: None,
        })
    );
    assert!(w.is_empty());
    assert_eq!(
        (w.poll_transmit(UnixMillis(2 * ROUND)), w.poll_timeout()),
        (None, None)
    );
}

#[test]
fn a_vanished_anchor_resends_the_same_tc_and_its_new_ack_is_watched() {
    let (mut w, v, r) = watching();
    // A reorg deeper than the validator's confirmations: the transaction is
    // gone and the registry holds nothing under the TI id.
    head(&mut w, 0, 9);
    poll(&mut w, 0, &v, &r, SubmissionStatus::Dropped);
    read(&mut w, 0, None);
    let Some(WatchEvent::Vanished {
        key,
        records: vanished,
        anchor,
        held,
        head: at,
        entry,
    }) = w.poll_event()
    else {
        panic!("not vanished");
    };
    assert_eq!(
        (key, vanished, anchor, held, at),
        (
            B256::repeat_byte(1),
            records(),
            Some(seen(&r)),
            ChainHolds::Nothing,
            9
        )
    );
    assert!(w.is_empty());
    // The entry resends the same submission: the same record hash.
    let mut again = TransactionValidator::from_json(&entry).unwrap();
    assert_eq!(again.submission(), v.submission());
    let r2 = receipt(tx(8), 12, true, None);
    let ack = conclude(&mut again, &r2);
    assert_eq!(ack.record_hash, Some(tc().record_hash));
    assert_eq!(ack.anchor().unwrap().tx_hash, Some(tx(8)));
    assert_eq!(w.watch(&v, &ack), Err(WatcherError::NotItsValidator));
    w.watch(&again, &ack).unwrap();
    head(&mut w, ROUND, 15);
    poll_final(&mut w, ROUND, &again, &r2, 15);
}

#[test]
fn a_gone_receipt_with_the_record_still_held_is_watched_through_the_registry() {
    let (mut w, v, r) = watching();
    // Reorged out, back in the mempool; yet the registry holds the record
    // (another transaction of the same TC anchored it): not vanished.
    head(&mut w, 0, 6);
    poll(&mut w, 0, &v, &r, SubmissionStatus::Pending);
    read(&mut w, 0, Some(tc().record_hash));
    assert_eq!(w.poll_event(), None);
    // From now on the registry's reads vouch for it: final once the head
    // is depth − 1 blocks past the first read.
    head(&mut w, ROUND, 8);
    read(&mut w, ROUND, Some(tc().record_hash));
    assert_eq!(w.poll_event(), None);
    head(&mut w, 2 * ROUND, 9);
    read(&mut w, 2 * ROUND, Some(tc().record_hash));
    assert_eq!(
        w.poll_event(),
        Some(WatchEvent::Final {
            key: B256::repeat_byte(1),
            records: records(),
            anchor: None,
            head: 9,
            finalized: None,
        })
    );
}

#[test]
fn a_moved_anchor_is_watched_from_its_new_block_and_another_hash_vanishes() {
    let (mut w, v, r) = watching();
    let moved = TxReceipt {
        block_number: 6,
        block_hash: B256::repeat_byte(0x66),
        ..r.clone()
    };
    head(&mut w, 0, 9);
    poll(&mut w, 0, &v, &r, SubmissionStatus::Included(moved.clone()));
    assert_eq!(w.poll_event(), None, "deep enough, but it moved: not yet");
    head(&mut w, ROUND, 9);
    // The moved receipt now fails without the event: the registry decides.
    let failed = TxReceipt {
        status: false,
        anchor_log_index: None,
        ..moved.clone()
    };
    poll(
        &mut w,
        ROUND,
        &v,
        &moved,
        SubmissionStatus::Included(failed),
    );
    read(&mut w, ROUND, Some(B256::repeat_byte(0xaa)));
    let Some(WatchEvent::Vanished { held, anchor, .. }) = w.poll_event() else {
        panic!("not vanished");
    };
    assert_eq!(
        (held, anchor),
        (
            ChainHolds::OtherHash {
                record_hash: B256::repeat_byte(0xaa)
            },
            Some(seen(&moved))
        )
    );
}

#[test]
fn outages_are_not_verdicts_and_back_off() {
    let (mut w, v, r) = watching();
    let down = TransportError::Unavailable("connection refused".into());
    assert_eq!(w.poll_transmit(UnixMillis(0)), Some(Transmit::ReadHead));
    w.handle_head(UnixMillis(0), Err(down.clone())).unwrap();
    assert_eq!(w.last_error(), Some(&down));
    assert_eq!(w.poll_timeout(), Some(UnixMillis(100)));
    assert_eq!(w.poll_transmit(UnixMillis(99)), None);
    head(&mut w, 100, 9);
    assert_eq!(w.last_error(), None);
    // A failed poll is asked again (backoff 100, 200, 400, 400 ms), never
    // turned into a verdict.
    let mut now = 100;
    for wait in [100, 200, 400, 400] {
        assert!(w.poll_transmit(UnixMillis(now)).is_some());
        w.handle_receipt(UnixMillis(now), Err(down.clone()))
            .unwrap();
        now += wait;
        assert_eq!(w.poll_timeout(), Some(UnixMillis(now)));
    }
    assert_eq!(w.poll_event(), None);
    poll_final(&mut w, now, &v, &r, 9);
}

#[test]
fn only_valid_acks_of_their_validator_are_watched_and_only_asked_reads_taken() {
    let (v, ack, r) = valid();
    let mut w = AnchorWatcher::new(watcher_config());
    let mut invalid = ack.clone();
    invalid.status = crate::AckStatus::Invalid {
        reason: crate::InvalidReason::MissingAnchorEvent,
        tx_hashes: vec![],
    };
    assert_eq!(w.watch(&v, &invalid), Err(WatcherError::NotValid));
    let mut other = TransactionValidator::new(&tc_for(2), config());
    assert_eq!(w.watch(&other, &ack), Err(WatcherError::NotItsValidator));
    submit(&mut other, 0, tx(9));
    assert_eq!(w.watch(&other, &ack), Err(WatcherError::NotItsValidator));
    w.watch(&v, &ack).unwrap();
    w.watch(&v, &ack).unwrap();
    assert_eq!(w.len(), 1, "watched once per key");
    assert_eq!(
        w.handle_receipt(UnixMillis(0), Ok(SubmissionStatus::Pending)),
        Err(WatcherError::Unexpected("a receipt"))
    );
    head(&mut w, 0, 6);
    let wrong = receipt(tx(9), 5, true, None);
    assert_eq!(
        w.poll_transmit(UnixMillis(0))
            .map(|t| matches!(t, Transmit::Poll { .. })),
        Some(true)
    );
    assert_eq!(
        w.handle_receipt(UnixMillis(0), Ok(SubmissionStatus::Included(wrong))),
        Err(WatcherError::Unexpected("another transaction's receipt"))
    );
    assert_eq!(
        w.poll_transmit(UnixMillis(0)),
        None,
        "the poll awaits its result"
    );
    // Watched again (after a resend, say): the read about it is asked again.
    w.watch(&v, &ack).unwrap();
    assert_eq!(
        w.poll_transmit(UnixMillis(0))
            .map(|t| matches!(t, Transmit::Poll { .. })),
        Some(true)
    );
    w.handle_receipt(UnixMillis(0), Ok(SubmissionStatus::Included(r)))
        .unwrap();
}

#[test]
fn the_state_resumes_from_json_and_asks_again() {
    let (mut w, v, r) = watching();
    head(&mut w, 0, 6);
    assert!(w.poll_transmit(UnixMillis(0)).is_some());
    let text = w.to_json();
    assert!(text.starts_with(r#"{"format":"ehrchain.watcher/1","watcher":{"config":{"depth":4,"#));
    let mut resumed = AnchorWatcher::from_json(&text).unwrap();
    assert_eq!(
        resumed.to_json().len(),
        text.len() - r#""poll""#.len() + "null".len()
    );
    // The poll asked before the restart is asked again.
    poll(
        &mut resumed,
        0,
        &v,
        &r,
        SubmissionStatus::Included(r.clone()),
    );
    head(&mut resumed, ROUND, 8);
    poll_final(&mut resumed, ROUND, &v, &r, 8);
    assert!(matches!(
        AnchorWatcher::from_json(&text.replace("ehrchain.watcher/1", "x")),
        Err(WatcherError::Snapshot(_))
    ));
    let damaged = text.replace(
        &format!(r#"\"format\":\"{}\""#, crate::validator::SNAPSHOT_FORMAT),
        r#"\"format\":\"v0\""#,
    );
    assert_ne!(damaged, text);
    assert!(matches!(
        AnchorWatcher::from_json(&damaged),
        Err(WatcherError::Snapshot(_))
    ));
    assert_eq!(
        serde_json::from_str::<WatcherConfig>(r#"{"depth": 64}"#).unwrap(),
        WatcherConfig {
            depth: 64,
            ..WatcherConfig::default()
        }
    );
}
