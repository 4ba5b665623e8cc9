//! The host's EHR database of the examples: an embedded SQLite file holding
//! the records of valid ACKs with the latest valid ACK of each (`records`: a
//! TI resent after its anchor vanished gets a new ACK, which replaces the
//! first), invalid ACKs kept for audit (`audit`), every ACK handed over
//! (`deliveries`, append-only: the history), and the
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

    /// Stores a valid ACK's record, replacing the row of an earlier valid
    /// ACK of the same TI (the same record, resent after a reorg took its
    /// anchor: the latest ACK names the anchor that holds), or keeps an
    /// invalid one for audit: the paper's "ACK to the EHR database".
    fn store(conn: &Connection, ack: &Ack) -> Result<()> {
        let json = serde_json::to_string(ack)?;
        let hash = ack.record_hash.map(|h| h.to_string());
        let envelope = ack.envelope.as_ref().map(|e| e.to_vec());
        let (ti, template) = (ack.ti_id.to_string(), ack.template_id.to_string());
        match &ack.status {
            AckStatus::Valid(_) => conn
                .prepare_cached(
                    "INSERT INTO records VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (ti_id) DO UPDATE
                     SET template_id = excluded.template_id, record_hash = excluded.record_hash,
                         envelope = excluded.envelope, ack = excluded.ack",
                )?
                .execute(params![ti, template, hash, envelope, json])?,
            AckStatus::Invalid { reason, .. } => conn
                .prepare_cached("INSERT INTO audit VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
                .execute(params![
                    ti,
                    template,
                    hash,
                    envelope,
                    reason.to_string(),
                    json
                ])?,
        };
        conn.prepare_cached("INSERT INTO deliveries VALUES (?1, ?2)")?
            .execute(params![ti, ack.is_valid()])?;
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
    conn.prepare_cached("INSERT OR REPLACE INTO outbox VALUES (?1, ?2)")?
        .execute(params![key.to_string(), entry])
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

#[cfg(test)]
mod tests {
    use ehrchain_core::validator::Anchor;
    use ehrchain_core::{Bytes, TxHash};

    use super::*;

    /// A valid ACK of TI 1 anchored by transaction `tx` in block `block`.
    fn valid(tx: u8, block: u64) -> Ack {
        Ack {
            ti_id: B256::repeat_byte(1),
            template_id: B256::repeat_byte(2),
            record_hash: Some(B256::repeat_byte(3)),
            envelope: Some(Bytes::from_static(&[4])),
            authorship: None,
            status: AckStatus::Valid(Anchor {
                tx_hash: Some(TxHash(B256::repeat_byte(tx))),
                block_number: Some(block),
                block_hash: Some(B256::repeat_byte(tx)),
                log_index: Some(0),
                gas_used: Some(60_000),
                replay: false,
                recovered: None,
                batch: None,
                final_block: None,
            }),
        }
    }

    #[test]
    fn a_resent_ti_keeps_its_latest_ack_and_every_delivery() {
        let mut db = Database::open(Path::new(":memory:")).unwrap();
        let key = B256::repeat_byte(1);
        db.finish(Some(&key), &[valid(0xa1, 5)]).unwrap();
        // Its anchor vanished; the same TC, resent, is anchored again.
        db.finish(Some(&key), &[valid(0xa2, 9)]).unwrap();
        let stored: String = db
            .conn
            .query_row(
                "SELECT ack FROM records WHERE ti_id = ?1",
                [key.to_string()],
                |row| row.get(0),
            )
            .unwrap();
        let stored: Ack = serde_json::from_str(&stored).unwrap();
        assert_eq!(stored, valid(0xa2, 9));
        assert_eq!(db.count("records").unwrap(), 1);
        assert_eq!(db.count("deliveries").unwrap(), 2);
    }
}
