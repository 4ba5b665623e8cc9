//! The watcher's state as JSON, for hosts that restart it:
//! `{"format": "ehrchain.watcher/1", "watcher": {"config": {…}, "watched": […], "events": […], …}}`.
//! It holds each watched anchor's outbox entry (its sealed records): store
//! it where the records may be stored.

use serde::{Deserialize, Serialize};

use super::{AnchorWatcher, WatcherError};
use crate::validator::TransactionValidator;

/// The format name of a stored watcher state.
pub const WATCHER_FORMAT: &str = "ehrchain.watcher/1";

#[derive(Serialize)]
struct SnapshotRef<'a> {
    format: &'static str,
    watcher: &'a AnchorWatcher,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotOwned {
    format: String,
    watcher: AnchorWatcher,
}

impl AnchorWatcher {
    /// The watcher's whole state as JSON (format [`WATCHER_FORMAT`]).
    #[must_use]
    pub fn to_json(&self) -> String {
        let snapshot = SnapshotRef {
            format: WATCHER_FORMAT,
            watcher: self,
        };
        // Plain data (numbers, strings, byte strings): serialising cannot fail.
        serde_json::to_string(&snapshot).unwrap_or_default()
    }

    /// A watcher resumed from its stored state: a read that was asked but
    /// not answered is asked again.
    ///
    /// # Errors
    /// [`WatcherError::Snapshot`] for text that is not a state of this
    /// format, or whose outbox entries cannot be resumed or are stored under
    /// another key.
    pub fn from_json(text: &str) -> Result<Self, WatcherError> {
        let snapshot: SnapshotOwned =
            crate::json::from_text(text).map_err(|e| WatcherError::Snapshot(e.to_string()))?;
        if snapshot.format != WATCHER_FORMAT {
            return Err(WatcherError::Snapshot(format!(
                "format {:?}, expected {WATCHER_FORMAT:?}",
                snapshot.format
            )));
        }
        let mut watcher = snapshot.watcher;
        for w in &watcher.watched {
            let validator = TransactionValidator::from_json(&w.entry)
                .map_err(|e| WatcherError::Snapshot(e.to_string()))?;
            if validator.outbox_key() != Some(w.key) {
                return Err(WatcherError::Snapshot(
                    "an outbox entry is stored under another key".to_owned(),
                ));
            }
        }
        watcher.asked = None;
        watcher.cursor = watcher.cursor.min(watcher.watched.len());
        if watcher.cursor == watcher.watched.len() {
            watcher.head = None;
            watcher.cursor = 0;
        }
        Ok(watcher)
    }
}
