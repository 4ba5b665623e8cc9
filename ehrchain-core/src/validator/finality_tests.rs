//! Finality by tag: the validator confirms under the node's finalized block.

use super::tests::{config, poll, receipt, submit, tc, tx};
use super::*;
use crate::{BlockRef, Finality, FinalityTag};

fn by_tag() -> ValidatorConfig {
    ValidatorConfig {
        finality: Finality::Finalized,
        ..config()
    }
}

fn block(number: u64) -> BlockRef {
    BlockRef {
        number,
        hash: B256::with_last_byte(u8::try_from(number).unwrap_or(0xff)),
    }
}

/// Reads the finalized block at `now` and answers with `answer`.
fn finalized(v: &mut TransactionValidator, now: u64, answer: Option<BlockRef>) {
    assert_eq!(
        v.poll_transmit(UnixMillis(now)),
        Some(Transmit::ReadBlock {
            tag: FinalityTag::Finalized
        })
    );
    v.handle_block(UnixMillis(now), Ok(answer)).unwrap();
}

#[test]
fn a_record_not_yet_under_the_finalized_block_stays_pending_then_is_valid() {
    let mut v = TransactionValidator::new(&tc(), by_tag());
    let r = receipt(tx(1), 10, true, None);
    submit(&mut v, 0, tx(1));
    poll(&mut v, 1_000, tx(1), SubmissionStatus::Included(r.clone()));
    // No finalized block yet, then one below block 10: pending, for longer
    // than the inclusion timeout (10 s): finality that lags is no verdict.
    finalized(&mut v, 1_000, None);
    for now in (2_000..=30_000).step_by(1_000) {
        finalized(&mut v, now, Some(block(9)));
    }
    assert_eq!(
        v.state(),
        ValidatorState::Included {
            tx_hash: tx(1),
            block_number: 10
        }
    );
    assert_eq!(v.poll_ack(), None);
    // The finalized block passes block 10: a last poll, then valid.
    finalized(&mut v, 31_000, Some(block(12)));
    assert_eq!(
        v.state(),
        ValidatorState::Confirmed {
            tx_hash: tx(1),
            block_number: 10
        }
    );
    poll(&mut v, 31_000, tx(1), SubmissionStatus::Included(r));
    let ack = v.poll_ack().unwrap();
    let anchor = ack.anchor().unwrap();
    assert_eq!(
        (anchor.block_number, anchor.final_block.as_deref().copied()),
        (
            Some(10),
            Some(FinalBlock {
                tag: FinalityTag::Finalized,
                block: block(12)
            })
        )
    );
    let json = serde_json::to_value(anchor).unwrap();
    assert_eq!(
        json["finalBlock"],
        serde_json::json!({"tag": "finalized", "block": {"number": 12, "hash": block(12).hash}})
    );
}

#[test]
fn a_reorg_before_finality_is_followed_to_the_new_block() {
    let mut v = TransactionValidator::new(&tc(), by_tag());
    let first = receipt(tx(1), 10, true, None);
    submit(&mut v, 0, tx(1));
    poll(&mut v, 1_000, tx(1), SubmissionStatus::Included(first));
    finalized(&mut v, 1_000, Some(block(10)));
    // The last poll finds it in block 11: reorged, watched from there.
    let moved = receipt(tx(1), 11, true, None);
    poll(
        &mut v,
        1_000,
        tx(1),
        SubmissionStatus::Included(moved.clone()),
    );
    assert_eq!(
        v.state(),
        ValidatorState::Included {
            tx_hash: tx(1),
            block_number: 11
        }
    );
    finalized(&mut v, 1_000, Some(block(10)));
    assert_eq!(v.poll_ack(), None);
    finalized(&mut v, 2_000, Some(block(11)));
    poll(&mut v, 2_000, tx(1), SubmissionStatus::Included(moved));
    let anchor = v.poll_ack().unwrap().anchor().cloned().unwrap();
    assert_eq!(
        (anchor.block_number, anchor.final_block.map(|f| f.block)),
        (Some(11), Some(block(11)))
    );
}

#[test]
fn a_settling_read_is_final_once_the_finalized_block_reaches_its_head() {
    let tc = tc();
    let mut v = TransactionValidator::new(&tc, by_tag());
    submit(&mut v, 0, tx(1));
    // A permanent failure: settle before giving up.
    assert_eq!(
        v.poll_transmit(UnixMillis(1_000)),
        Some(tests::poll_of(&v, tx(1)))
    );
    v.handle_receipt(
        UnixMillis(1_000),
        Err(TransportError::Malformed("garbage".into())),
    )
    .unwrap();
    let read = |v: &mut TransactionValidator, now| {
        assert_eq!(
            v.poll_transmit(UnixMillis(now)),
            Some(Transmit::ReadRecord { ti_id: tc.ti_id })
        );
        v.handle_record(UnixMillis(now), Ok(Some(tc.record_hash)))
            .unwrap();
    };
    read(&mut v, 1_000);
    tests::head(&mut v, 1_000, 20);
    finalized(&mut v, 1_000, Some(block(19)));
    assert_eq!(
        v.state(),
        ValidatorState::Settling {
            seen_at_head: Some(20)
        }
    );
    finalized(&mut v, 2_000, Some(block(20)));
    read(&mut v, 2_000);
    let anchor = v.poll_ack().unwrap().anchor().cloned().unwrap();
    let recovered = anchor.recovered.unwrap();
    assert_eq!(
        (recovered.seen_at_head, recovered.confirmed_at_head),
        (20, 20)
    );
    assert_eq!(anchor.final_block.map(|f| f.block), Some(block(20)));
}

#[test]
fn finality_in_json_is_a_tag_and_depth_is_left_out() {
    let config: ValidatorConfig = serde_json::from_str(r#"{"finality": "safe"}"#).unwrap();
    assert_eq!(config.finality, Finality::Safe);
    let default = serde_json::to_value(ValidatorConfig::default()).unwrap();
    assert_eq!(default.get("finality"), None);
    assert_eq!(
        serde_json::to_value(Transmit::ReadBlock {
            tag: FinalityTag::Safe
        })
        .unwrap(),
        serde_json::json!({"kind": "read_block", "tag": "safe"})
    );
}
