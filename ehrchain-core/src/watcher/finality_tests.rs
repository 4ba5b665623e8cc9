//! Finality by tag: the watcher's rounds read the node's finalized block.

use super::*;
use crate::transport::TxReceipt;
use crate::validator::tests::{conclude, config, receipt, tc, tx};
use crate::{FinalBlock, FinalityTag};

fn block(number: u64) -> BlockRef {
    BlockRef {
        number,
        hash: B256::with_last_byte(u8::try_from(number).unwrap_or(0xff)),
    }
}

/// A round at `now`: the head, the finalized block (`finalized`), then the
/// anchor's receipt, found as `r`.
fn round(
    w: &mut AnchorWatcher,
    now: u64,
    v: &TransactionValidator,
    r: &TxReceipt,
    finalized: Option<BlockRef>,
) {
    let now = UnixMillis(now);
    assert_eq!(w.poll_transmit(now), Some(Transmit::ReadHead));
    w.handle_head(now, Ok(20)).unwrap();
    assert_eq!(
        w.poll_transmit(now),
        Some(Transmit::ReadBlock {
            tag: FinalityTag::Finalized
        })
    );
    w.handle_block(now, Ok(finalized)).unwrap();
    let expected = Transmit::Poll {
        tx_hash: r.tx_hash,
        submission: v.submission().unwrap().clone(),
    };
    assert_eq!(w.poll_transmit(now), Some(expected));
    w.handle_receipt(now, Ok(SubmissionStatus::Included(r.clone())))
        .unwrap();
}

#[test]
fn an_anchor_is_final_once_the_finalized_block_passes_it() {
    let mut v = TransactionValidator::new(&tc(), config());
    let r = receipt(tx(7), 5, true, None);
    let ack = conclude(&mut v, &r);
    let mut w = AnchorWatcher::new(WatcherConfig {
        finality: Finality::Finalized,
        ..WatcherConfig::default()
    });
    w.watch(&v, &ack).unwrap();
    // Head 20, far past any depth: but no finalized block, then block 4.
    round(&mut w, 0, &v, &r, None);
    round(&mut w, 1_000, &v, &r, Some(block(4)));
    assert_eq!(w.poll_event(), None);
    round(&mut w, 2_000, &v, &r, Some(block(5)));
    let Some(WatchEvent::Final {
        head, finalized, ..
    }) = w.poll_event()
    else {
        panic!("not final");
    };
    assert_eq!(
        (head, finalized),
        (
            20,
            Some(FinalBlock {
                tag: FinalityTag::Finalized,
                block: block(5)
            })
        )
    );
    assert!(w.is_empty());
}
