//! The host's write-ahead outbox: where the validators of TIs without an ACK
//! yet are kept, so that a host that crashes, restarts or loses its node
//! resumes the same TC (the same sealed record) and every TI still ends in
//! exactly one ACK.
//!
//! The validator asks for its entry to be stored before every submission
//! ([`Transmit::Persist`](crate::Transmit::Persist)); the entry is its
//! [`TransactionValidator::to_json`](crate::TransactionValidator::to_json) under its
//! [`TransactionValidator::outbox_key`](crate::TransactionValidator::outbox_key). When the verdict is reached, the
//! host stores the ACKs and removes the entry in one step
//! ([`Outbox::finish`]): between the two, a crash would lose the ACK or
//! anchor the record a second time.
//!
//! [`Handshaker::submit_durably`](crate::Handshaker::submit_durably) and
//! [`Handshaker::resume`](crate::Handshaker::resume) run TIs through an
//! outbox; hosts that drive validators themselves store the entry when asked
//! and call [`TransactionValidator::handle_persisted`](crate::TransactionValidator::handle_persisted).
//!
//! ```
//! use ehrchain_core::outbox::{MemoryOutbox, Outbox};
//! use ehrchain_core::B256;
//!
//! let mut outbox = MemoryOutbox::default();
//! outbox.save(&B256::repeat_byte(1), "{…}")?;
//! assert_eq!(outbox.keys()?, vec![B256::repeat_byte(1)]);
//! outbox.finish(Some(&B256::repeat_byte(1)), &[])?;
//! assert!(outbox.keys()?.is_empty());
//! # Ok::<(), ehrchain_core::outbox::OutboxError>(())
//! ```

use std::collections::BTreeMap;

use alloy_primitives::B256;

use crate::pipeline::Finished;
use crate::validator::Ack;

/// The host's outbox failed: nothing was sent after the failure, and the TI
/// stays pending (its entry, if stored, is resumed later).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the outbox could not store or read an entry ({0}); nothing was sent: fix the host's storage and resume the pending TIs"
)]
pub struct OutboxError(pub String);

/// A write of verdicts ([`Outbox::finish_all`], [`Outbox::save_and_finish`])
/// that failed part-way: the first `stored` verdicts were stored (their ACKs
/// kept, their entries removed) before `error`; the others were not. An
/// outbox that stores them all in one transaction stores none on a failure
/// (`stored` 0: what `From<OutboxError>` gives).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error} ({stored} verdicts were stored before it failed)")]
pub struct PartlyStored {
    /// How many verdicts, from the first, were stored.
    pub stored: usize,
    /// Why the write stopped.
    pub error: OutboxError,
}

impl From<OutboxError> for PartlyStored {
    fn from(error: OutboxError) -> Self {
        Self { stored: 0, error }
    }
}

/// Durable storage for validators in flight and their ACKs, implemented by
/// the host over its database (one table of entries beside the records and
/// audit tables, say).
pub trait Outbox {
    /// Stores `entry` under `key`, replacing the entry stored there before;
    /// returns only once the entry would survive a crash (committed, synced).
    ///
    /// # Errors
    /// [`OutboxError`] when it could not be stored; nothing is sent then.
    fn save(&mut self, key: &B256, entry: &str) -> Result<(), OutboxError>;

    /// Stores every entry (key, entry), as [`save`](Self::save) does each:
    /// the group commit of a [`Pipeline`](crate::pipeline::Pipeline) round.
    /// The default saves them one by one; a database host overrides it to
    /// store them all in one transaction (one durable write).
    ///
    /// # Errors
    /// [`OutboxError`] when they could not all be stored; nothing of the
    /// round is sent then.
    fn save_all(&mut self, entries: &[(B256, String)]) -> Result<(), OutboxError> {
        entries
            .iter()
            .try_for_each(|(key, entry)| self.save(key, entry))
    }

    /// Whether this outbox keeps the entries it is given: `false` only for
    /// [`NoOutbox`], so that drivers skip making them (a batch's entry holds
    /// every sealed record of the batch, costly to serialise).
    fn keeps_entries(&self) -> bool {
        true
    }

    /// The entry stored under `key`, if any.
    ///
    /// # Errors
    /// [`OutboxError`] when the storage cannot be read.
    fn load(&mut self, key: &B256) -> Result<Option<String>, OutboxError>;

    /// The keys of every stored entry: the work a restarted host resumes.
    ///
    /// # Errors
    /// [`OutboxError`] when the storage cannot be read.
    fn keys(&mut self) -> Result<Vec<B256>, OutboxError>;

    /// Every stored entry: what a restarted host resumes
    /// ([`Pipeline::resume`](crate::pipeline::Pipeline::resume)).
    ///
    /// # Errors
    /// [`OutboxError`] when the storage cannot be read.
    fn entries(&mut self) -> Result<Vec<String>, OutboxError> {
        let mut entries = Vec::new();
        for key in self.keys()? {
            entries.extend(self.load(&key)?);
        }
        Ok(entries)
    }

    /// The verdict: stores `acks` (valid: the records; invalid: for audit)
    /// and removes the entry under `key` (`None` for a TI refused before
    /// anything was stored), both in one transaction.
    ///
    /// # Errors
    /// [`OutboxError`] when they could not be stored; the entry stays, and
    /// resuming it gives the same ACKs again.
    fn finish(&mut self, key: Option<&B256>, acks: &[Ack]) -> Result<(), OutboxError>;

    /// Every verdict of a [`Pipeline`](crate::pipeline::Pipeline) round, as
    /// [`finish`](Self::finish) does each: the group commit of the ACKs. The
    /// default finishes them one by one; a database host overrides it to
    /// store them all in one transaction (one durable write).
    ///
    /// # Errors
    /// [`PartlyStored`] when they could not all be stored, with how many
    /// were; the entries not finished stay, and resuming them gives the
    /// same ACKs again.
    fn finish_all(&mut self, finished: &[Finished]) -> Result<(), PartlyStored> {
        finish_each(self, finished)
    }

    /// A [`Pipeline`](crate::pipeline::Pipeline) step's writes together:
    /// its rounds' entries stored (as [`save_all`](Self::save_all)) and the
    /// verdicts reached in the step (as [`finish_all`](Self::finish_all)).
    /// The default makes the two calls (each skipped when it has nothing);
    /// a database host overrides it to make both in one transaction: one
    /// durable write per step, where there were two.
    ///
    /// # Errors
    /// [`PartlyStored`] when they could not all be stored, with how many
    /// verdicts were; nothing of the rounds is sent then, and the entries
    /// not finished stay (resuming them gives the same ACKs again).
    fn save_and_finish(
        &mut self,
        entries: &[(B256, String)],
        finished: &[Finished],
    ) -> Result<(), PartlyStored> {
        if !entries.is_empty() {
            self.save_all(entries)?;
        }
        if !finished.is_empty() {
            self.finish_all(finished)?;
        }
        Ok(())
    }
}

/// Stores `finished` one [`Outbox::finish`] after the other, until one
/// fails: the default [`Outbox::finish_all`], for an outbox that overrides
/// it only sometimes (the C host's callbacks without `finish_all`).
///
/// # Errors
/// [`PartlyStored`]: how many were stored before the failing one.
pub fn finish_each<O: Outbox + ?Sized>(
    outbox: &mut O,
    finished: &[Finished],
) -> Result<(), PartlyStored> {
    for (stored, f) in finished.iter().enumerate() {
        outbox
            .finish(f.outbox_key.as_ref(), &f.acks)
            .map_err(|error| PartlyStored { stored, error })?;
    }
    Ok(())
}

/// An outbox that keeps nothing: for hosts that accept losing the TIs in
/// flight when they crash (tests, demonstrations against the devnet).
/// [`Handshaker::submit`](crate::Handshaker::submit) and
/// [`run_blocking`](crate::run_blocking) use it.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoOutbox;

impl Outbox for NoOutbox {
    fn keeps_entries(&self) -> bool {
        false
    }

    fn save(&mut self, _: &B256, _: &str) -> Result<(), OutboxError> {
        Ok(())
    }

    fn load(&mut self, _: &B256) -> Result<Option<String>, OutboxError> {
        Ok(None)
    }

    fn keys(&mut self) -> Result<Vec<B256>, OutboxError> {
        Ok(Vec::new())
    }

    fn finish(&mut self, _: Option<&B256>, _: &[Ack]) -> Result<(), OutboxError> {
        Ok(())
    }
}

/// An outbox in memory (entries and the ACKs of finished ones), for tests and
/// for hosts that copy it to durable storage themselves.
#[derive(Debug, Default, Clone)]
pub struct MemoryOutbox {
    /// The stored entries by key.
    pub entries: BTreeMap<B256, String>,
    /// The ACKs of finished entries, oldest first.
    pub acks: Vec<Ack>,
}

impl Outbox for MemoryOutbox {
    fn save(&mut self, key: &B256, entry: &str) -> Result<(), OutboxError> {
        self.entries.insert(*key, entry.to_owned());
        Ok(())
    }

    fn load(&mut self, key: &B256) -> Result<Option<String>, OutboxError> {
        Ok(self.entries.get(key).cloned())
    }

    fn keys(&mut self) -> Result<Vec<B256>, OutboxError> {
        Ok(self.entries.keys().copied().collect())
    }

    fn finish(&mut self, key: Option<&B256>, acks: &[Ack]) -> Result<(), OutboxError> {
        if let Some(key) = key {
            self.entries.remove(key);
        }
        self.acks.extend_from_slice(acks);
        Ok(())
    }
}
