//! The write-ahead outbox entry: a validator's whole state as JSON, stored by
//! the host before every submission ([`Transmit::Persist`](super::Transmit::Persist))
//! and read back after a restart, so that the same TC (the same sealed
//! record) is resumed, never a new one.
//!
//! ```json
//! {"format": "ehrchain.validator/2", "validator": {"config": {…},
//!  "submission": {…}, "records": [{"tiId": "0x…", "envelope": "0x…", …}],
//!  "phase": …, "txHashes": […], "history": […], …}}
//! ```
//!
//! Format 2 keeps a batch's records without their inclusion proofs: they
//! are rebuilt from the record hashes (in leaf order) when the ACKs are
//! made, and the rebuilt root and leaf count must be the submission's.
//! Entries of format 1 (every batched record with its proof) are still
//! read.
//!
//! The entry holds the sealed records: store it where the records may be
//! stored. Reading one back checks that its parts agree (each envelope's
//! SHA-256 is its record hash and it is bound to its TI and template; the
//! submission anchors exactly these records), so a damaged entry cannot
//! anchor a record hash its envelope does not have.

use alloy_primitives::B256;
use serde::{Deserialize, Deserializer, Serialize};

use super::settle::Fallback;
use super::{Asked, Parts, Phase, RecordInfo, TransactionValidator, ValidatorError};
use crate::authorship::anchored_record;
use crate::envelope::Envelope;
use crate::transport::{Anchoring, Submission};

/// The format name of an outbox entry.
pub const SNAPSHOT_FORMAT: &str = "ehrchain.validator/2";

/// The format before: batched records carry their proofs. Still read.
const SNAPSHOT_FORMAT_1: &str = "ehrchain.validator/1";

#[derive(Serialize)]
struct SnapshotRef<'a> {
    format: &'static str,
    validator: &'a TransactionValidator,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotOwned {
    format: String,
    validator: TransactionValidator,
}

impl TransactionValidator {
    /// The key of this validator's outbox entry: the TI id of a single
    /// record, the Merkle root of a batch (`None` for a refused TI, which
    /// sends nothing and needs no entry).
    #[must_use]
    pub fn outbox_key(&self) -> Option<B256> {
        self.parts.submission.as_ref().map(|s| match s.anchoring {
            Anchoring::Record { ti_id, .. } => ti_id,
            Anchoring::Batch { root, .. } => root,
        })
    }

    /// The key and entry to store in the outbox ([`outbox_key`](Self::outbox_key),
    /// [`to_json`](Self::to_json)); `None` for a refused TI.
    #[must_use]
    pub fn outbox_entry(&self) -> Option<(B256, String)> {
        self.outbox_key().map(|key| (key, self.to_json()))
    }

    /// The outbox entry: this validator's whole state as JSON (module docs).
    #[must_use]
    pub fn to_json(&self) -> String {
        let snapshot = SnapshotRef {
            format: SNAPSHOT_FORMAT,
            validator: self,
        };
        // Plain data (numbers, strings, byte strings): serialising cannot fail.
        serde_json::to_string(&snapshot).unwrap_or_default()
    }

    /// A validator resumed from its outbox entry after a restart. An action
    /// that was handed out but not answered is asked again; a submission that
    /// may have been sent before the restart is settled first (the registry
    /// is read before anything is sent again), so nothing is anchored twice
    /// and nothing is lost.
    ///
    /// # Errors
    /// [`ValidatorError::Snapshot`] for text that is not an entry of this
    /// format, or whose records, envelopes and submission disagree.
    pub fn from_json(text: &str) -> Result<Self, ValidatorError> {
        let snapshot: SnapshotOwned =
            crate::json::from_text(text).map_err(|e| ValidatorError::Snapshot(e.to_string()))?;
        if snapshot.format != SNAPSHOT_FORMAT && snapshot.format != SNAPSHOT_FORMAT_1 {
            return Err(ValidatorError::Snapshot(format!(
                "format {:?}, expected {SNAPSHOT_FORMAT:?} (or {SNAPSHOT_FORMAT_1:?})",
                snapshot.format
            )));
        }
        Ok(snapshot.validator)
    }

    /// Takes over a validator whose last action was handed out but will
    /// never be answered: the host's event loop handed it out, then gave the
    /// validator to a blocking driver ([`run_durably`](crate::run_durably)
    /// calls this first). The action is asked again, as after a restart: a
    /// submission that may have been sent is settled first (the registry is
    /// read before anything is sent again), so nothing is anchored twice and
    /// no TI ends without its ACK. Does nothing when no action awaits its
    /// result. Only for an answer that can no longer arrive: a late one is
    /// then refused, or taken as the answer to the action asked again
    /// (nothing is anchored twice either way).
    pub fn ask_again(&mut self) {
        if self.parts.asked.is_some() {
            self.resume();
        }
    }

    /// Drops the unanswered action; a submission whose fate the restart hid
    /// is settled before it is sent again.
    fn resume(&mut self) {
        let asked = self.parts.asked.take();
        let maybe_sent =
            matches!(asked, Some(Asked::Persist | Asked::Submit)) || self.parts.persisted;
        if matches!(self.parts.phase, Phase::Submit) && maybe_sent {
            self.parts.persisted = false;
            self.start_settle(self.parts.next_at, Fallback::Resubmit);
        }
    }

    /// Why the parts of a read-back validator disagree, if they do.
    fn check_parts(&self) -> Result<(), String> {
        let bad = |what: &str| Err(what.to_owned());
        if self.parts.records.is_empty() {
            return bad("no record");
        }
        for record in &self.parts.records {
            check_record(record)?;
        }
        let Some(submission) = &self.parts.submission else {
            return if self.is_finished() {
                Ok(())
            } else {
                bad("no submission, but no verdict either")
            };
        };
        check_submission(submission, &self.parts.records)?;
        match self.rebuilt_batch() {
            Some(Err(why)) => Err(why),
            _ => Ok(()),
        }
    }
}

/// A validator read back by any serde format is checked and resumed, so no
/// path restores one whose envelopes and submission disagree.
impl<'de> Deserialize<'de> for TransactionValidator {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut validator = Self {
            parts: Parts::deserialize(deserializer)?,
        };
        validator.check_parts().map_err(serde::de::Error::custom)?;
        validator.resume();
        Ok(validator)
    }
}

fn check_record(record: &RecordInfo) -> Result<(), String> {
    let bad = |what: &str| Err(what.to_owned());
    let (Some(envelope), Some(hash)) = (&record.envelope, record.record_hash) else {
        return Ok(());
    };
    let envelope = Envelope::from_bytes(envelope.to_vec())
        .map_err(|e| format!("an envelope is unreadable: {e}"))?;
    if envelope.record_hash() != hash {
        return bad("a record hash is not the SHA-256 of its envelope");
    }
    let binding = envelope.binding();
    if binding.ti_id != record.ti_id || binding.template_id != record.template_id {
        return bad("an envelope is bound to another TI or template");
    }
    if let Some(proof) = &record.proof
        && proof.record_hash != hash
    {
        return bad("a proof is for another record");
    }
    Ok(())
}

fn check_submission(submission: &Submission, records: &[RecordInfo]) -> Result<(), String> {
    let bad = |what: &str| Err(what.to_owned());
    match submission.anchoring {
        Anchoring::Record { ti_id, record_hash } => {
            let [record] = records else {
                return bad("a single-record submission with several records");
            };
            if record.ti_id != ti_id || record.record_hash != Some(record_hash) {
                return bad("the submission anchors another TI id or record hash");
            }
            if anchored_record(&submission.calldata)
                .is_some_and(|call| call != (ti_id, record_hash))
            {
                return bad("the calldata anchors another TI id or record hash");
            }
        }
        Anchoring::Batch {
            root, leaf_count, ..
        } => {
            if usize::try_from(leaf_count).ok() != Some(records.len()) {
                return bad("the batch's leaf count differs from its records");
            }
            if records.iter().any(|r| r.authorship.is_some()) {
                return bad(
                    "a batch record carries its author's signature, which the batch root does not anchor",
                );
            }
            // Format 2: no proofs (the batch is rebuilt and checked);
            // format 1: every record's proof is for this batch.
            let ours = |r: &RecordInfo| {
                r.proof
                    .as_ref()
                    .is_some_and(|p| p.root == root && p.leaf_count == leaf_count)
            };
            if !records.iter().all(|r| r.proof.is_none()) && !records.iter().all(ours) {
                return bad("a record's proof is for another batch");
            }
        }
    }
    Ok(())
}
