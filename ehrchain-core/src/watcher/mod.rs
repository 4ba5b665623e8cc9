//! The anchor watcher: after the ACK, a sans-I/O state machine the host runs
//! over its valid ACKs until their anchors are final, reporting any anchor
//! that a reorg deeper than the validator's confirmations took away, so that
//! the host moves the TI back to pending and resends the same TC.
//!
//! ```text
//!  watch(validator, valid ACK)
//!        │
//!        ▼            every round: read the head h, then check each anchor
//!    Watching ─────────────────────────────────────────────────────────────┐
//!        │ tx known: poll its receipt                                      │
//!        ├─ status 1 with the anchoring event, in its block, h+1−block ≥ depth ─▶ Final
//!        ├─ in its block, shallower; or in another block (moved) ──▶ next round
//!        └─ pending / dropped / no event ──▶ read the registry ──┐         │
//!        │ tx unknown (recovered or replayed ACK): read the registry ◀─────┘
//!        ├─ ours: first seen at h₀; once h ≥ h₀ + depth − 1 ──────────────▶ Final
//!        └─ nothing, another hash or batch ──────────────────────────────▶ Vanished
//! ```
//!
//! The caller owns I/O and time, as with the validator:
//! [`AnchorWatcher::poll_transmit`] hands out the next read (a
//! [`Transmit::ReadHead`], [`Transmit::Poll`], [`Transmit::ReadRecord`] or
//! [`Transmit::ReadBatch`]: the validator's vocabulary, so every transport
//! and every JSON-RPC exchange that serves the validator serves the watcher);
//! the result goes back through the matching `handle_*` method;
//! [`AnchorWatcher::poll_timeout`] says when to call again;
//! [`AnchorWatcher::poll_event`] hands out the [`WatchEvent`]s.
//!
//! Invariants, in words:
//! - **Mined state only.** Final needs a mined receipt with status 1 and the
//!   `RecordAnchored`/`BatchAnchored` event in the block the watcher saw it
//!   in, at least [`WatcherConfig::depth`] blocks deep at a head read before
//!   that receipt was read; or, when the anchoring transaction is unknown
//!   (a recovered or replayed ACK, or a transaction whose receipt is gone
//!   while the registry still holds the record), the registry holding this
//!   record (batch) at reads `depth − 1` blocks apart. Registry reads are
//!   pinned to the latest mined block (never `pending`).
//! - **Vanished means the registry no longer holds it.** A receipt that is
//!   gone, or has no anchoring event, is not a verdict by itself: the
//!   registry is read, and only when it holds nothing (or another hash or
//!   batch) under the TI id (root) is the anchor reported vanished. A receipt
//!   in another block than before is a moved anchor, watched from its new
//!   block.
//! - **Outages are not verdicts.** A failed read is asked again after a
//!   backoff ([`WatcherConfig::backoff_initial_ms`], doubling up to
//!   [`WatcherConfig::backoff_max_ms`]) as long as the host runs the watcher;
//!   [`AnchorWatcher::last_error`] says why it is waiting.
//! - **The same TC is resent.** Each watched anchor keeps the outbox entry
//!   of its validator reopened ([`TransactionValidator::reopened`]: the same
//!   submission and sealed records, nothing sent yet);
//!   [`WatchEvent::Vanished`] hands it out. The host stores it in its outbox
//!   under the key (the TI is pending again) and resumes it
//!   ([`Handshaker::resume`](crate::Handshaker::resume),
//!   [`TransactionValidator::from_json`]): a new transaction with the same
//!   record hash, a new valid ACK, which the host watches again.
//!   [`watch_durably`](crate::watch_durably) does all of that.
//! - **Restartable.** [`AnchorWatcher::to_json`] is its whole state
//!   (camelCase JSON, format [`WATCHER_FORMAT`]), events not handed out yet
//!   included; [`AnchorWatcher::from_json`] resumes it (a read asked but not
//!   answered is asked again).
//!
//! **Finality by tag.** With [`WatcherConfig::finality`] set to
//! [`Finality::Finalized`] (or `Safe`), each round also reads the node's
//! finalized (safe) block ([`Transmit::ReadBlock`], answered through
//! [`AnchorWatcher::handle_block`]) after the head: an anchor is final once
//! that block's number reaches the anchor's block (or, for an anchor the
//! registry vouches for, the head of the round that first found it), and
//! [`WatchEvent::Final`] names the block read. A node that names no such
//! block yet finalizes nothing; vanished anchors are still reported.
//!
//! What the watcher cannot see: a reorg deeper than `depth` (or below the
//! node's finalized block) after it said Final. Choose `depth`, or finality
//! by tag, as the chain's finality asks.

mod snapshot;

use std::collections::VecDeque;

use alloy_primitives::B256;
use serde::{Deserialize, Serialize};

use crate::batch::AnchoredBatch;
use crate::finality::{BlockRef, FinalBlock, Finality};
use crate::time::UnixMillis;
use crate::transport::{Anchoring, Submission, SubmissionStatus, TransportError, TxHash};
use crate::validator::{Ack, ChainHolds, RegistryRead, TransactionValidator, Transmit, backoff_ms};

pub use snapshot::WATCHER_FORMAT;

/// How deep an anchor must be before the watcher calls it final, and how
/// often it looks. The `*_ms` fields are durations in milliseconds.
///
/// JSON form: the field names below; a missing field takes its default, an
/// unknown one is refused (`{"depth": 64}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct WatcherConfig {
    /// Blocks that must hold an anchor (its own included) before it is final;
    /// 0 counts as 1. Set it to the chain's finality depth (64 on Ethereum
    /// mainnet's two epochs, say), above the validator's confirmations.
    /// Used with [`Finality::Depth`].
    pub depth: u64,
    /// How an anchor becomes final: `depth` blocks deep (the default), or
    /// at or below the node's `safe` or `finalized` block. JSON:
    /// `"finality": "finalized"`; left out when `"depth"`.
    #[serde(skip_serializing_if = "Finality::is_depth")]
    pub finality: Finality,
    /// Wait between two rounds (a head read, then one read per anchor).
    pub poll_interval_ms: u64,
    /// Wait after the first failed read; doubled after each further one.
    pub backoff_initial_ms: u64,
    /// Longest wait between retries.
    pub backoff_max_ms: u64,
}

impl Default for WatcherConfig {
    /// 12 blocks deep, a round every second, backing off from 0.5 s to 30 s.
    fn default() -> Self {
        Self {
            depth: 12,
            finality: Finality::Depth,
            poll_interval_ms: 1_000,
            backoff_initial_ms: 500,
            backoff_max_ms: 30_000,
        }
    }
}

/// A record under a watched anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchedRecord {
    /// The TI id.
    pub ti_id: B256,
    /// The record hash.
    pub record_hash: B256,
}

/// Where the watcher last saw an anchoring transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnchorSeen {
    /// The transaction.
    pub tx_hash: TxHash,
    /// Its block.
    pub block_number: u64,
    /// That block's hash.
    pub block_hash: B256,
}

crate::json::internally_tagged! {
    tag = "event", rename_all = "snake_case", rename_all_fields = "camelCase";
    /// What the watcher reports about an anchor.
    ///
    /// JSON form: the event under `event`, its data beside it:
    /// `{"event": "final", "key": "0x…", "records": [{"tiId": …, "recordHash": …}], "anchor": {…}, "head": 41}`.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
    pub enum WatchEvent {
        /// The anchor is [`WatcherConfig::depth`] blocks deep: the watcher stops
        /// watching it.
        Final {
            /// The outbox key (the TI id of a single record, the batch root).
            key: B256,
            /// The records under it.
            records: Vec<WatchedRecord>,
            /// The anchoring transaction, when known (`None`: the registry's
            /// reads vouch for it).
            anchor: Option<AnchorSeen>,
            /// The head at which it was final.
            head: u64,
            /// With finality by tag: the node's block (`safe`, `finalized`)
            /// that was at or above the anchor.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            finalized: Option<FinalBlock>,
        },
        /// The registry no longer holds the record (batch): a reorg took the
        /// anchor away. Store `entry` in the outbox under `key` (the TI is
        /// pending again) and resume it: the same TC is sent again.
        Vanished {
            /// The outbox key (the TI id of a single record, the batch root).
            key: B256,
            /// The records under it.
            records: Vec<WatchedRecord>,
            /// Where the anchoring transaction was last seen, when known.
            anchor: Option<AnchorSeen>,
            /// What the registry held instead.
            held: ChainHolds,
            /// The head of the round that found it gone.
            head: u64,
            /// The outbox entry that resends the same TC
            /// ([`TransactionValidator::from_json`]).
            entry: String,
        },
    }
}

impl WatchEvent {
    /// The outbox key of the anchor.
    #[must_use]
    pub fn key(&self) -> B256 {
        match self {
            Self::Final { key, .. } | Self::Vanished { key, .. } => *key,
        }
    }

    /// The records under the anchor.
    #[must_use]
    pub fn records(&self) -> &[WatchedRecord] {
        match self {
            Self::Final { records, .. } | Self::Vanished { records, .. } => records,
        }
    }
}

/// Why the watcher refused an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WatcherError {
    /// Only valid ACKs have an anchor to watch.
    #[error("the ACK is invalid: only valid ACKs have an anchor to watch")]
    NotValid,
    /// The ACK is not one of the validator's, or the validator has no
    /// verdict yet.
    #[error(
        "the ACK is not one of this validator's, or the validator has no verdict yet; pass the validator that gave the ACK"
    )]
    NotItsValidator,
    /// The input answers no read the watcher handed out.
    #[error(
        "the watcher did not ask for {0}; pass each result to the handle_* method of the action that asked for it"
    )]
    Unexpected(&'static str),
    /// A stored watcher state ([`AnchorWatcher::from_json`]) cannot be read.
    #[error("the stored watcher state cannot be resumed: {0}")]
    Snapshot(String),
}

/// One anchor under watch.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Watched {
    key: B256,
    records: Vec<WatchedRecord>,
    submission: Submission,
    /// The anchoring transaction as last seen (`None` once only the
    /// registry vouches for the anchor).
    tx: Option<AnchorSeen>,
    /// The next check reads the registry (the receipt is gone).
    read_registry: bool,
    /// The head of the round whose registry read first found it.
    held_since: Option<u64>,
    /// The reopened validator's outbox entry.
    entry: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Asked {
    Head,
    Poll,
    Read,
    Block,
}

/// A round's read of the block under the finality tag.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TaggedRead {
    /// What the node named (`None`: no such block yet).
    block: Option<BlockRef>,
}

/// The anchor watcher (see the [module docs](self)).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnchorWatcher {
    config: WatcherConfig,
    watched: Vec<Watched>,
    /// The head read at the start of the round under way (`None`: the next
    /// round starts with a head read).
    head: Option<u64>,
    /// With finality by tag, the round's read of the block under the tag:
    /// `None` until read, then what the node named (`None` inside: none
    /// yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tagged: Option<TaggedRead>,
    /// The anchor the round checks next.
    cursor: usize,
    asked: Option<Asked>,
    next_at: UnixMillis,
    failures: u32,
    last_error: Option<TransportError>,
    events: VecDeque<WatchEvent>,
}

impl AnchorWatcher {
    /// A watcher with nothing to watch yet.
    #[must_use]
    pub fn new(config: WatcherConfig) -> Self {
        Self {
            config,
            watched: Vec::new(),
            head: None,
            tagged: None,
            cursor: 0,
            asked: None,
            next_at: UnixMillis::EPOCH,
            failures: 0,
            last_error: None,
            events: VecDeque::new(),
        }
    }

    /// The watcher's configuration.
    #[must_use]
    pub fn config(&self) -> &WatcherConfig {
        &self.config
    }

    /// Watches the anchor of `ack`, a valid ACK `validator` gave (for a
    /// batch, any one of its ACKs: the anchor is the batch's). An anchor
    /// already watched under the same key (the TI id, or the batch root) is
    /// replaced: after a resend, watch the new ACK.
    ///
    /// # Errors
    /// [`WatcherError::NotValid`] for an invalid ACK;
    /// [`WatcherError::NotItsValidator`] when `validator` did not give it.
    pub fn watch(
        &mut self,
        validator: &TransactionValidator,
        ack: &Ack,
    ) -> Result<(), WatcherError> {
        let anchor = ack.anchor().ok_or(WatcherError::NotValid)?;
        let mine = validator.is_finished()
            && validator.ti_ids().any(|id| id == ack.ti_id)
            && anchor
                .tx_hash
                .is_none_or(|tx| validator.tx_hashes().contains(&tx));
        let (Some(submission), Some(key), Some(reopened), true) = (
            validator.submission(),
            validator.outbox_key(),
            validator.reopened(),
            mine,
        ) else {
            return Err(WatcherError::NotItsValidator);
        };
        // A replay's transaction is the refused duplicate: the anchoring one
        // is unknown, as for a recovered ACK.
        let tx = match (anchor.tx_hash, anchor.block_number, anchor.block_hash) {
            (Some(tx_hash), Some(block_number), Some(block_hash)) if !anchor.replay => {
                Some(AnchorSeen {
                    tx_hash,
                    block_number,
                    block_hash,
                })
            }
            _ => None,
        };
        let watched = Watched {
            key,
            records: validator
                .record_hashes()
                .filter_map(|(ti_id, hash)| {
                    hash.map(|record_hash| WatchedRecord { ti_id, record_hash })
                })
                .collect(),
            submission: submission.clone(),
            tx,
            read_registry: false,
            held_since: None,
            entry: reopened.to_json(),
        };
        let at_cursor = self.head.is_some() && self.current().is_some_and(|w| w.key == key);
        match self.watched.iter_mut().find(|w| w.key == key) {
            Some(old) => *old = watched,
            None => self.watched.push(watched),
        }
        if at_cursor {
            // A read about the replaced anchor is asked again.
            self.asked = None;
        }
        Ok(())
    }

    /// How many anchors are watched (not final, not vanished yet).
    #[must_use]
    pub fn len(&self) -> usize {
        self.watched.len()
    }

    /// Whether nothing is watched.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.watched.is_empty()
    }

    /// The submission of the anchor that the read in flight (or the next
    /// one of this round) is about; `None` between rounds. C hosts point
    /// into it.
    #[must_use]
    pub fn current_submission(&self) -> Option<&Submission> {
        self.current().map(|w| &w.submission)
    }

    /// The last failed read, while the watcher retries it (`None` once a
    /// read succeeds).
    #[must_use]
    pub fn last_error(&self) -> Option<&TransportError> {
        self.last_error.as_ref()
    }

    /// The next read for the host at `now`, or `None` when there is nothing
    /// to do yet ([`AnchorWatcher::poll_timeout`]), a read awaits its result,
    /// or nothing is watched.
    pub fn poll_transmit(&mut self, now: UnixMillis) -> Option<Transmit> {
        if self.asked.is_some() || now < self.next_at {
            return None;
        }
        let tag_due = self.config.finality.tag().filter(|_| self.tagged.is_none());
        let (asked, transmit) = match (self.head, tag_due) {
            (None, _) if self.watched.is_empty() => return None,
            (None, _) => (Asked::Head, Transmit::ReadHead),
            (Some(_), Some(tag)) => (Asked::Block, Transmit::ReadBlock { tag }),
            (Some(_), None) => {
                let w = self.watched.get(self.cursor)?;
                match w.tx {
                    Some(seen) if !w.read_registry => (
                        Asked::Poll,
                        Transmit::Poll {
                            tx_hash: seen.tx_hash,
                            submission: w.submission.clone(),
                        },
                    ),
                    _ => (
                        Asked::Read,
                        match w.submission.anchoring {
                            Anchoring::Record { ti_id, .. } => Transmit::ReadRecord { ti_id },
                            Anchoring::Batch { root, .. } => Transmit::ReadBatch { root },
                        },
                    ),
                }
            }
        };
        self.asked = Some(asked);
        Some(transmit)
    }

    /// When the watcher next wants [`AnchorWatcher::poll_transmit`] called,
    /// or `None` while a read awaits its result or nothing is watched.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<UnixMillis> {
        (self.asked.is_none() && !self.watched.is_empty()).then_some(self.next_at)
    }

    /// Takes over a watcher whose last read was handed out but will never
    /// be answered (the host lost it): the read is asked again (a read
    /// changes nothing, so asking twice is harmless). Does nothing when no
    /// read awaits its result.
    pub fn ask_again(&mut self) {
        self.asked = None;
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<WatchEvent> {
        self.events.pop_front()
    }

    /// The event [`AnchorWatcher::poll_event`] hands out next, left in place.
    #[must_use]
    pub fn peek_event(&self) -> Option<&WatchEvent> {
        self.events.front()
    }

    /// The result of a [`Transmit::ReadHead`]: the chain head's block number.
    ///
    /// # Errors
    /// [`WatcherError::Unexpected`] when no head was asked for.
    pub fn handle_head(
        &mut self,
        now: UnixMillis,
        result: Result<u64, TransportError>,
    ) -> Result<(), WatcherError> {
        self.take_asked(Asked::Head, "the chain head")?;
        if let Some(head) = self.answered(now, result) {
            self.head = Some(head);
            self.cursor = 0;
            self.next_at = now;
        }
        Ok(())
    }

    /// The result of a [`Transmit::ReadBlock`]: the block under the
    /// finality tag, or `None` when the node names none yet.
    ///
    /// # Errors
    /// [`WatcherError::Unexpected`] when no block was asked for.
    pub fn handle_block(
        &mut self,
        now: UnixMillis,
        result: Result<Option<BlockRef>, TransportError>,
    ) -> Result<(), WatcherError> {
        self.take_asked(Asked::Block, "a block read by tag")?;
        if let Some(block) = self.answered(now, result) {
            self.tagged = Some(TaggedRead { block });
            self.next_at = now;
        }
        Ok(())
    }

    /// The result of a [`Transmit::Poll`] of a watched anchor's transaction.
    ///
    /// # Errors
    /// [`WatcherError::Unexpected`] when no poll was asked for, or for
    /// another transaction's receipt.
    pub fn handle_receipt(
        &mut self,
        now: UnixMillis,
        result: Result<SubmissionStatus, TransportError>,
    ) -> Result<(), WatcherError> {
        let expected = self.current().and_then(|w| w.tx).map(|seen| seen.tx_hash);
        if let Ok(SubmissionStatus::Included(r)) = &result
            && Some(r.tx_hash) != expected
        {
            return Err(WatcherError::Unexpected("another transaction's receipt"));
        }
        self.take_asked(Asked::Poll, "a receipt")?;
        let Some(status) = self.answered(now, result) else {
            return Ok(());
        };
        let level = self.final_level();
        let Some(w) = self.watched.get_mut(self.cursor) else {
            return Ok(());
        };
        match status {
            SubmissionStatus::Included(r) if r.status && r.anchor_log_index.is_some() => {
                let seen = AnchorSeen {
                    tx_hash: r.tx_hash,
                    block_number: r.block_number,
                    block_hash: r.block_hash,
                };
                let moved = w.tx != Some(seen);
                w.tx = Some(seen);
                if !moved && level.is_some_and(|l| r.block_number <= l) {
                    self.conclude(now, None);
                } else {
                    self.advance(now);
                }
            }
            // Gone from its block: what does the registry hold?
            _ => {
                w.read_registry = true;
                self.next_at = now;
            }
        }
        Ok(())
    }

    /// The result of a [`Transmit::ReadRecord`]: the record hash the registry
    /// holds under the TI id, or `None`.
    ///
    /// # Errors
    /// [`WatcherError::Unexpected`] when no record read was asked for.
    pub fn handle_record(
        &mut self,
        now: UnixMillis,
        result: Result<Option<B256>, TransportError>,
    ) -> Result<(), WatcherError> {
        self.read_answered(now, "a record read", result.map(RegistryRead::Record))
    }

    /// The result of a [`Transmit::ReadBatch`]: the batch the registry holds
    /// under the root, or `None`.
    ///
    /// # Errors
    /// [`WatcherError::Unexpected`] when no batch read was asked for.
    pub fn handle_batch(
        &mut self,
        now: UnixMillis,
        result: Result<Option<AnchoredBatch>, TransportError>,
    ) -> Result<(), WatcherError> {
        self.read_answered(now, "a batch read", result.map(RegistryRead::Batch))
    }

    fn read_answered(
        &mut self,
        now: UnixMillis,
        what: &'static str,
        result: Result<RegistryRead, TransportError>,
    ) -> Result<(), WatcherError> {
        let anchoring = self.current().map(|w| &w.submission.anchoring);
        let Some(judged) = ChainHolds::judge_answer(anchoring, result) else {
            return Err(WatcherError::Unexpected(what));
        };
        self.take_asked(Asked::Read, what)?;
        let Some(held) = self.answered(now, judged) else {
            return Ok(());
        };
        let (head, level) = (self.head.unwrap_or_default(), self.final_level());
        let Some(w) = self.watched.get_mut(self.cursor) else {
            return Ok(());
        };
        if held != ChainHolds::Ours {
            self.conclude(now, Some(held));
            return Ok(());
        }
        // Held, but by no transaction the watcher knows: the registry's
        // reads vouch for it from now on.
        w.tx = None;
        w.read_registry = false;
        let since = *w.held_since.get_or_insert(head);
        if level.is_some_and(|l| since <= l) {
            self.conclude(now, None);
        } else {
            self.advance(now);
        }
        Ok(())
    }

    /// The highest block whose anchors are final this round: `depth − 1`
    /// below the head, or the block under the finality tag; `None` when no
    /// block is final yet.
    fn final_level(&self) -> Option<u64> {
        match self.config.finality.tag() {
            None => self
                .head?
                .saturating_add(1)
                .checked_sub(self.config.depth.max(1)),
            Some(_) => self.final_block().map(|f| f.block.number),
        }
    }

    /// The round's block under the finality tag, as read.
    fn final_block(&self) -> Option<FinalBlock> {
        let tag = self.config.finality.tag()?;
        let block = self.tagged?.block?;
        Some(FinalBlock { tag, block })
    }

    fn current(&self) -> Option<&Watched> {
        self.head.and_then(|_| self.watched.get(self.cursor))
    }

    /// The anchor under the cursor is final (`held` is `None`) or vanished:
    /// reported and no longer watched.
    fn conclude(&mut self, now: UnixMillis, held: Option<ChainHolds>) {
        if self.cursor >= self.watched.len() {
            return;
        }
        let w = self.watched.remove(self.cursor);
        let head = self.head.unwrap_or_default();
        let finalized = self.final_block();
        self.events.push_back(match held {
            None => WatchEvent::Final {
                key: w.key,
                records: w.records,
                anchor: w.tx,
                head,
                finalized,
            },
            Some(held) => WatchEvent::Vanished {
                key: w.key,
                records: w.records,
                anchor: w.tx,
                held,
                head,
                entry: w.entry,
            },
        });
        self.next_in_round(now);
    }

    /// On to the next anchor of the round.
    fn advance(&mut self, now: UnixMillis) {
        self.cursor += 1;
        self.next_in_round(now);
    }

    fn next_in_round(&mut self, now: UnixMillis) {
        if self.cursor < self.watched.len() {
            self.next_at = now;
        } else {
            self.head = None;
            self.tagged = None;
            self.cursor = 0;
            self.next_at = now.saturating_add_ms(self.config.poll_interval_ms);
        }
    }

    fn take_asked(&mut self, asked: Asked, what: &'static str) -> Result<(), WatcherError> {
        if self.asked == Some(asked) {
            self.asked = None;
            Ok(())
        } else {
            Err(WatcherError::Unexpected(what))
        }
    }

    /// The value of a read that succeeded; `None` when it failed: then the
    /// same read is asked again after the backoff.
    fn answered<T>(&mut self, now: UnixMillis, result: Result<T, TransportError>) -> Option<T> {
        match result {
            Ok(value) => {
                self.failures = 0;
                self.last_error = None;
                Some(value)
            }
            Err(error) => {
                self.failed(now, error);
                None
            }
        }
    }

    fn failed(&mut self, now: UnixMillis, error: TransportError) {
        self.failures = self.failures.saturating_add(1);
        self.last_error = Some(error);
        let backoff = backoff_ms(
            self.config.backoff_initial_ms,
            self.config.backoff_max_ms,
            self.failures,
        );
        self.next_at = now.saturating_add_ms(backoff);
    }
}

#[cfg(test)]
mod finality_tests;
#[cfg(test)]
mod tests;
