//! The host's EHR database of the examples: an embedded SQLite file holding
//! the records of valid ACKs (`records`), invalid ACKs kept for audit
//! (`audit`), every ACK handed over (`deliveries`, append-only), and the
//! write-ahead outbox (`outbox`): every TC is stored there before it is sent,
//! and leaves it in the transaction that stores its ACK.

use std::error::Error;
use std::path::Path;

use ehrchain_core::outbox::{Outbox, OutboxError};
use ehrchain_core::{Ack, AckStatus, B256};
use rusqlite::{Connection, params};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The host's database.
pub(crate) struct Database {
    /// The connection, for the host's own tables.
    pub(crate) conn: Connection,
}

impl Database {
    /// Opens the database at `path`, creating its tables where missing.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS records (ti_id TEXT PRIMARY KEY,
                 template_id TEXT NOT NULL, record_hash TEXT NOT NULL,
                 envelope BLOB NOT NULL, ack TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS audit (ti_id TEXT NOT NULL,
                 template_id TEXT NOT NULL, record_hash TEXT, envelope BLOB,
                 reason TEXT NOT NULL, ack TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS deliveries (ti_id TEXT NOT NULL, valid INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS outbox (key TEXT PRIMARY KEY, entry TEXT NOT NULL);",
        )?;
        Ok(Self { conn })
    }

    /// Stores a valid ACK's record (once: the ACK of a replayed TC names the
    /// record already stored), or keeps an invalid one for audit: the paper's
    /// "ACK to the EHR database".
    fn store(conn: &Connection, ack: &Ack) -> Result<()> {
        let json = serde_json::to_string(ack)?;
        let hash = ack.record_hash.map(|h| h.to_string());
        let envelope = ack.envelope.as_ref().map(|e| e.to_vec());
        let (ti, template) = (ack.ti_id.to_string(), ack.template_id.to_string());
        match &ack.status {
            AckStatus::Valid(_) => conn.execute(
                "INSERT OR IGNORE INTO records VALUES (?1, ?2, ?3, ?4, ?5)",
                params![ti, template, hash, envelope, json],
            )?,
            AckStatus::Invalid { reason, .. } => conn.execute(
                "INSERT INTO audit VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![ti, template, hash, envelope, reason.to_string(), json],
            )?,
        };
        conn.execute(
            "INSERT INTO deliveries VALUES (?1, ?2)",
            params![ti, ack.is_valid()],
        )?;
        Ok(())
    }

    /// The ACKs stored and the outbox entry removed, in one transaction.
    fn finish_acks(&mut self, key: Option<&B256>, acks: &[Ack]) -> Result<()> {
        let tx = self.conn.transaction()?;
        for ack in acks {
            Self::store(&tx, ack)?;
        }
        if let Some(key) = key {
            tx.execute("DELETE FROM outbox WHERE key = ?1", [key.to_string()])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The number of rows in `table`.
    pub(crate) fn count(&self, table: &str) -> Result<i64> {
        Ok(self
            .conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })?)
    }
}

/// Stores `entry` under `key` in the outbox table, replacing the one before.
fn put(conn: &Connection, key: &B256, entry: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO outbox VALUES (?1, ?2)",
        params![key.to_string(), entry],
    )
    .map(drop)
}

fn outbox_error(e: impl std::fmt::Display) -> OutboxError {
    OutboxError(e.to_string())
}

/// The outbox table, in SQLite's default rollback journal with
/// `synchronous = FULL`: a statement that returns is on disk.
impl Outbox for Database {
    fn save(&mut self, key: &B256, entry: &str) -> std::result::Result<(), OutboxError> {
        put(&self.conn, key, entry).map_err(outbox_error)
    }

    /// A pipeline's round of entries: one transaction, one durable write.
    fn save_all(&mut self, entries: &[(B256, String)]) -> std::result::Result<(), OutboxError> {
        let tx = self.conn.transaction().map_err(outbox_error)?;
        for (key, entry) in entries {
            put(&tx, key, entry).map_err(outbox_error)?;
        }
        tx.commit().map_err(outbox_error)
    }

    fn load(&mut self, key: &B256) -> std::result::Result<Option<String>, OutboxError> {
        let mut query = self
            .conn
            .prepare("SELECT entry FROM outbox WHERE key = ?1")
            .map_err(outbox_error)?;
        let mut rows = query
            .query_map([key.to_string()], |row| row.get(0))
            .map_err(outbox_error)?;
        rows.next().transpose().map_err(outbox_error)
    }

    fn keys(&mut self) -> std::result::Result<Vec<B256>, OutboxError> {
        let mut query = self
            .conn
            .prepare("SELECT key FROM outbox ORDER BY rowid")
            .map_err(outbox_error)?;
        let keys = query
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(outbox_error)?;
        keys.map(|k| {
            k.map_err(outbox_error)?
                .parse::<B256>()
                .map_err(outbox_error)
        })
        .collect()
    }

    fn finish(&mut self, key: Option<&B256>, acks: &[Ack]) -> std::result::Result<(), OutboxError> {
        self.finish_acks(key, acks).map_err(outbox_error)
    }
}
