//! After the ACKs: the anchor watcher over the valid ACKs until their
//! anchors are final, resending through the host's outbox (the same TC)
//! any whose anchor a reorg took away; one line per record.

use ehrchain_core::outbox::Outbox;
use ehrchain_core::watcher::{AnchorWatcher, WatchEvent};
use ehrchain_core::{Clock, Transport, Until, watch_durably};

/// Runs `watcher` for at most `deadline_ms` milliseconds and prints what it
/// reports about each record.
pub(crate) fn watch_until_final<O: Outbox, T: Transport, C: Clock>(
    watcher: &mut AnchorWatcher,
    outbox: &mut O,
    transport: &mut T,
    clock: &mut C,
    deadline_ms: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let depth = watcher.config().depth;
    println!(
        "\nAfter the ACKs: the watcher rechecks {} anchors until they are {depth} blocks deep:",
        watcher.len()
    );
    let deadline = clock.now().saturating_add_ms(deadline_ms);
    let report = watch_durably(
        watcher,
        outbox,
        transport,
        clock,
        &Until::deadline(deadline),
    )?;
    for event in &report.events {
        for record in event.records() {
            let ti = record.ti_id.to_string();
            match event {
                WatchEvent::Final { head, anchor, .. } => println!(
                    "  TI {}…: FINAL at head {head} (block {})",
                    &ti[..10],
                    anchor.map_or_else(
                        || "read from the registry".to_owned(),
                        |a| a.block_number.to_string()
                    )
                ),
                WatchEvent::Vanished { .. } => println!(
                    "  TI {}…: VANISHED (reorged away): the same TC is sent again",
                    &ti[..10]
                ),
            }
        }
    }
    if !watcher.is_empty() {
        println!(
            "  {} anchors not final yet when the watcher stopped",
            watcher.len()
        );
    }
    Ok(())
}
