//! The host's EHR database of the examples: an embedded SQLite file holding
//! the records of valid ACKs (`records`, append-only: a TI resent after its
//! anchor vanished gets a new ACK in a row of its own, and a TI's latest row
//! is its record), the anchors they share (`anchors`: a batch's records
//! stored together share one row), invalid ACKs kept for
//! audit (`audit`), every ACK handed over (`deliveries`, append-only: the
//! history), and the write-ahead outbox (`outbox`): every TC is stored there
//! before it is sent, and leaves it in the transaction that stores its ACK.
//! A record keeps its ids, sealed envelope and inclusion proof in their
//! binary forms and its anchor by reference ([`Database::record_acks`] puts
//! the ACKs back together).

use std::error::Error;
use std::path::Path;

use ehrchain_core::outbox::{Outbox, OutboxError, PartlyStored};
use ehrchain_core::pipeline::Finished;
use ehrchain_core::validator::Anchor;
use ehrchain_core::{Ack, AckStatus, B256, Bytes, InclusionProof};
use rusqlite::{Connection, params};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// SQLite's page cache, KiB.
const CACHE_KIB: i64 = 64 * 1024;

/// The host's database.
pub(crate) struct Database {
    /// The connection, for the host's own tables.
    pub(crate) conn: Connection,
}

impl Database {
    /// Opens the database at `path`, creating its tables where missing; the
    /// records of a database made before the `anchors` table are moved into
    /// today's layout, in one transaction.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        // A round's transaction (4,096 ACKs a batch, about 10 MiB, and the
        // outbox entries it removes) stays in the page cache until its
        // commit: spilled to the file before (SQLite's default once its 2 MiB
        // cache is full), every spill syncs the journal once more.
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        conn.pragma_update(None, "cache_spill", false)?;
        // The journal's file is kept between transactions (its header
        // zeroed at each commit), not created and deleted with each.
        conn.pragma_update(None, "journal_mode", "PERSIST")?;
        let layout_0 = has_column(&conn, "records", "ack")?;
        conn.execute_batch(
            "BEGIN;
             CREATE TABLE IF NOT EXISTS anchors (id INTEGER PRIMARY KEY, anchor TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS audit (ti_id TEXT NOT NULL,
                 template_id TEXT NOT NULL, record_hash TEXT, envelope BLOB,
                 reason TEXT NOT NULL, ack TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS deliveries (ti_id TEXT NOT NULL, valid INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS outbox (key TEXT PRIMARY KEY, entry TEXT NOT NULL);",
        )?;
        if layout_0 {
            conn.execute_batch("ALTER TABLE records RENAME TO records_layout_0;")?;
        }
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS records (ti_id BLOB NOT NULL,
                 template_id BLOB NOT NULL, record_hash BLOB NOT NULL,
                 envelope BLOB NOT NULL, proof BLOB, authorship TEXT,
                 anchor INTEGER NOT NULL REFERENCES anchors (id));",
        )?;
        if layout_0 {
            migrate_layout_0(&conn)?;
        }
        conn.execute_batch("COMMIT;")?;
        Ok(Self { conn })
    }

    /// Stores a valid ACK's record, or keeps an invalid one for audit: the
    /// paper's "ACK to the EHR database". A valid ACK of a TI stored before
    /// (the same record, resent after a reorg took its anchor) gets a row of
    /// its own after the first: the latest names the anchor that holds.
    /// Rows are appended in rowid order, with no index over the TI ids, so a
    /// round's commit writes the table's last pages rather than a few
    /// thousand scattered index pages. The record names the `anchors` row
    /// `last` names when its anchor is the same (the records of a batch
    /// stored in one transaction share one row), else a new one.
    fn store(conn: &Connection, ack: &Ack, last: &mut Option<(Anchor, i64)>) -> Result<()> {
        let ti = ack.ti_id.to_string();
        match &ack.status {
            AckStatus::Valid(anchor) => insert_record(conn, ack, anchor, last)?,
            AckStatus::Invalid { reason, .. } => conn
                .prepare_cached("INSERT INTO audit VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
                .execute(params![
                    ti,
                    ack.template_id.to_string(),
                    ack.record_hash.map(|h| h.to_string()),
                    ack.envelope.as_ref().map(|e| e.to_vec()),
                    reason.to_string(),
                    serde_json::to_string(&Ack {
                        envelope: None,
                        ..ack.clone()
                    })?
                ])?,
        };
        conn.prepare_cached("INSERT INTO deliveries VALUES (?1, ?2)")?
            .execute(params![ti, ack.is_valid()])?;
        Ok(())
    }

    /// The ACK of every stored record (a TI's latest), as it was handed
    /// over.
    pub(crate) fn record_acks(&self) -> Result<Vec<Ack>> {
        let mut query = self.conn.prepare_cached(
            "SELECT r.ti_id, r.template_id, r.record_hash, r.envelope, r.proof,
                    r.authorship, a.anchor
             FROM records r JOIN anchors a ON a.id = r.anchor
             WHERE r.rowid IN (SELECT max(rowid) FROM records GROUP BY ti_id)
             ORDER BY r.rowid",
        )?;
        let mut rows = query.query([])?;
        let mut acks = Vec::new();
        while let Some(row) = rows.next()? {
            let word = |i| -> Result<B256> { Ok(B256::try_from(row.get_ref(i)?.as_blob()?)?) };
            let mut anchor: Anchor = serde_json::from_str(row.get_ref(6)?.as_str()?)?;
            anchor.batch = row
                .get::<_, Option<Vec<u8>>>(4)?
                .map(|p| InclusionProof::from_bytes(&p))
                .transpose()?;
            let authorship = row.get::<_, Option<String>>(5)?;
            acks.push(Ack {
                ti_id: word(0)?,
                template_id: word(1)?,
                record_hash: Some(word(2)?),
                envelope: Some(Bytes::from(row.get::<_, Vec<u8>>(3)?)),
                authorship: authorship.map(|a| serde_json::from_str(&a)).transpose()?,
                status: AckStatus::Valid(anchor),
            });
        }
        Ok(acks)
    }

    /// Stores `entries` (each replacing the one before) and the verdicts
    /// `finished` (their ACKs stored, their entries removed), all in one
    /// transaction: one durable write. The entries the verdicts remove go
    /// last: pages they free are reused by the next transaction, not by
    /// this one's rows, which would have to journal them first.
    pub(crate) fn commit(
        &mut self,
        entries: &[(B256, String)],
        finished: &[Finished],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        for (key, entry) in entries {
            put(&tx, key, entry)?;
        }
        let mut last = None;
        for ack in finished.iter().flat_map(|f| &f.acks) {
            Self::store(&tx, ack, &mut last)?;
        }
        for key in finished.iter().filter_map(|f| f.outbox_key.as_ref()) {
            tx.prepare_cached("DELETE FROM outbox WHERE key = ?1")?
                .execute([key.to_string()])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The number of stored records (TIs with a valid ACK).
    pub(crate) fn record_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(DISTINCT ti_id) FROM records", [], |row| {
                row.get(0)
            })?)
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

/// The `anchors` row of `anchor` (its inclusion proof aside): `last`'s when
/// it is the same anchor, else a new one, which becomes `last`.
fn anchor_row(conn: &Connection, anchor: &Anchor, last: &mut Option<(Anchor, i64)>) -> Result<i64> {
    let shared = Anchor {
        batch: None,
        ..anchor.clone()
    };
    if let Some((same, row)) = last
        && *same == shared
    {
        return Ok(*row);
    }
    conn.prepare_cached("INSERT INTO anchors (anchor) VALUES (?1)")?
        .execute([serde_json::to_string(&shared)?])?;
    let row = conn.last_insert_rowid();
    *last = Some((shared, row));
    Ok(row)
}

/// Appends `ack`'s row to `records` (its anchor `anchor`, its row from
/// [`anchor_row`]).
fn insert_record(
    conn: &Connection,
    ack: &Ack,
    anchor: &Anchor,
    last: &mut Option<(Anchor, i64)>,
) -> Result<usize> {
    let authorship = ack
        .authorship
        .as_ref()
        .map(serde_json::to_string)
        .transpose()?;
    Ok(conn
        .prepare_cached("INSERT INTO records VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
        .execute(params![
            ack.ti_id.as_slice(),
            ack.template_id.as_slice(),
            ack.record_hash.as_ref().map(B256::as_slice),
            ack.envelope.as_ref().map(|e| e.as_ref()),
            anchor.batch.as_ref().map(InclusionProof::to_bytes),
            authorship,
            anchor_row(conn, anchor, last)?
        ])?)
}

/// Whether `table` exists and has `column`.
fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool> {
    let mut query = conn.prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?;
    Ok(query.exists(params![table, column])?)
}

/// Moves the records of a database made before the `anchors` table (each
/// record's whole ACK as JSON, its envelope and proof beside it) into
/// today's layout, in their order.
fn migrate_layout_0(conn: &Connection) -> Result<()> {
    let mut query =
        conn.prepare("SELECT ack, envelope, proof FROM records_layout_0 ORDER BY rowid")?;
    let mut rows = query.query([])?;
    let mut last = None;
    while let Some(row) = rows.next()? {
        let ack = Ack {
            envelope: Some(Bytes::from(row.get::<_, Vec<u8>>(1)?)),
            ..serde_json::from_str(row.get_ref(0)?.as_str()?)?
        };
        if let AckStatus::Valid(anchor) = &ack.status {
            let anchor = Anchor {
                batch: row
                    .get::<_, Option<Vec<u8>>>(2)?
                    .map(|p| InclusionProof::from_bytes(&p))
                    .transpose()?,
                ..anchor.clone()
            };
            insert_record(conn, &ack, &anchor, &mut last)?;
        }
    }
    drop(rows);
    drop(query);
    conn.execute_batch("DROP TABLE records_layout_0;")?;
    Ok(())
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

/// The outbox table, in SQLite's rollback journal (kept, `PERSIST`) with
/// `synchronous = FULL`, the default: a statement that returns is on disk.
/// (Write-ahead logging, as durable with `synchronous = FULL`, was slower
/// here: a pipeline's transactions are megabytes, each page written twice,
/// to the log and again at the checkpoint.)
impl Outbox for Database {
    fn save(&mut self, key: &B256, entry: &str) -> std::result::Result<(), OutboxError> {
        put(&self.conn, key, entry).map_err(outbox_error)
    }

    /// A pipeline's round of entries: one transaction, one durable write.
    fn save_all(&mut self, entries: &[(B256, String)]) -> std::result::Result<(), OutboxError> {
        self.commit(entries, &[]).map_err(outbox_error)
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
        let finished = Finished {
            outbox_key: key.copied(),
            acks: acks.to_vec(),
        };
        self.commit(&[], std::slice::from_ref(&finished))
            .map_err(outbox_error)
    }

    /// A pipeline's round of verdicts: one transaction, one durable write
    /// (on a failure none is stored).
    fn finish_all(&mut self, finished: &[Finished]) -> std::result::Result<(), PartlyStored> {
        Ok(self.commit(&[], finished).map_err(outbox_error)?)
    }

    /// A pipeline step's rounds of entries and verdicts: one transaction.
    fn save_and_finish(
        &mut self,
        entries: &[(B256, String)],
        finished: &[Finished],
    ) -> std::result::Result<(), PartlyStored> {
        Ok(self.commit(entries, finished).map_err(outbox_error)?)
    }
}

#[cfg(test)]
mod tests {
    use ehrchain_core::validator::Anchor;
    use ehrchain_core::{BatchBuilder, TxHash};

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
        assert_eq!(db.record_acks().unwrap(), vec![valid(0xa2, 9)]);
        assert_eq!(db.record_count().unwrap(), 1);
        assert_eq!(db.count("records").unwrap(), 2);
        assert_eq!(db.count("deliveries").unwrap(), 2);
    }

    #[test]
    fn a_step_stores_new_entries_and_its_verdicts_in_one_write() {
        let mut db = Database::open(Path::new(":memory:")).unwrap();
        let (done, next) = (B256::repeat_byte(1), B256::repeat_byte(5));
        db.save_all(&[(done, "{}".to_owned())]).unwrap();
        let verdict = Finished {
            outbox_key: Some(done),
            acks: vec![valid(0xa1, 5)],
        };
        db.save_and_finish(&[(next, "{\"n\":1}".to_owned())], &[verdict])
            .unwrap();
        assert_eq!(db.keys().unwrap(), vec![next]);
        assert_eq!(db.load(&next).unwrap().as_deref(), Some("{\"n\":1}"));
        assert_eq!(db.record_acks().unwrap(), vec![valid(0xa1, 5)]);
    }

    #[test]
    fn a_database_of_the_layout_before_anchors_is_moved_into_it() {
        let path = std::env::temp_dir().join(format!("store-{}.sqlite", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let before = Connection::open(&path).unwrap();
        before
            .execute_batch(
                "CREATE TABLE records (ti_id TEXT PRIMARY KEY, template_id TEXT NOT NULL,
                     record_hash TEXT NOT NULL, envelope BLOB NOT NULL, proof BLOB,
                     ack TEXT NOT NULL);",
            )
            .unwrap();
        // Rows as that layout kept them: the ACK's JSON without its
        // envelope and proof, which stand beside it.
        let old = valid(0xa1, 5);
        let mut builder = BatchBuilder::new();
        builder.push(B256::repeat_byte(3)).unwrap();
        builder.push(B256::repeat_byte(6)).unwrap();
        let proof = builder.build(B256::ZERO).unwrap().proof(0).unwrap();
        let mut batched = valid(0xb1, 6);
        batched.ti_id = B256::repeat_byte(0x0b);
        for (ack, proof) in [(&old, None), (&batched, Some(proof.clone()))] {
            let json = serde_json::to_string(&Ack {
                envelope: None,
                ..ack.clone()
            })
            .unwrap();
            before
                .execute(
                    "INSERT INTO records VALUES (?1, '0x02', '0x03', ?2, ?3, ?4)",
                    params![
                        ack.ti_id.to_string(),
                        vec![4u8],
                        proof.map(|p| p.to_bytes()),
                        json
                    ],
                )
                .unwrap();
        }
        drop(before);
        let db = Database::open(&path).unwrap();
        if let AckStatus::Valid(anchor) = &mut batched.status {
            anchor.batch = Some(proof);
        }
        assert_eq!(db.record_acks().unwrap(), vec![old, batched]);
        // Moved once: opening again finds today's layout.
        drop(db);
        let mut db = Database::open(&path).unwrap();
        let key = B256::repeat_byte(1);
        db.finish(Some(&key), &[valid(0xa2, 9)]).unwrap();
        let acks = db.record_acks().unwrap();
        assert_eq!(acks.len(), 2);
        assert_eq!(acks[1], valid(0xa2, 9));
        assert_eq!(db.count("records").unwrap(), 3);
        drop(db);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_batchs_acks_share_one_anchor_row_and_keep_their_proofs() {
        let mut builder = BatchBuilder::new();
        for byte in [3, 5, 7] {
            builder.push(B256::repeat_byte(byte)).unwrap();
        }
        let batch = builder.build(B256::repeat_byte(9)).unwrap();
        let acks: Vec<Ack> = (0..3u8)
            .map(|i| {
                let mut ack = valid(0xa1, 5);
                ack.ti_id = B256::repeat_byte(0x10 + i);
                if let AckStatus::Valid(anchor) = &mut ack.status {
                    anchor.batch = Some(batch.proof(u32::from(i)).unwrap());
                }
                ack
            })
            .collect();
        let mut db = Database::open(Path::new(":memory:")).unwrap();
        db.finish(Some(&batch.root()), &acks).unwrap();
        assert_eq!(db.count("anchors").unwrap(), 1);
        let proof: Vec<u8> = db
            .conn
            .query_row("SELECT proof FROM records WHERE rowid = 2", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(proof, batch.proof(1).unwrap().to_bytes());
        assert_eq!(db.record_acks().unwrap(), acks);
        // Another anchor gets a row of its own.
        let mut other = valid(0xa2, 9);
        other.ti_id = B256::repeat_byte(0x20);
        let mut again = other.clone();
        again.ti_id = B256::repeat_byte(0x21);
        db.finish(None, &[other.clone(), again.clone()]).unwrap();
        assert_eq!(db.count("anchors").unwrap(), 2);
        assert_eq!(db.record_acks().unwrap()[3..], [other, again]);
    }

    #[test]
    fn a_round_of_verdicts_is_stored_and_its_entries_removed_together() {
        let mut db = Database::open(Path::new(":memory:")).unwrap();
        let (first, second) = (B256::repeat_byte(1), B256::repeat_byte(5));
        db.save_all(&[(first, "{}".to_owned()), (second, "{}".to_owned())])
            .unwrap();
        let mut other = valid(0xa2, 9);
        other.ti_id = second;
        let round = [
            Finished {
                outbox_key: Some(first),
                acks: vec![valid(0xa1, 5)],
            },
            Finished {
                outbox_key: Some(second),
                acks: vec![other.clone()],
            },
        ];
        db.finish_all(&round).unwrap();
        assert_eq!(db.record_acks().unwrap(), vec![valid(0xa1, 5), other]);
        assert_eq!(db.keys().unwrap(), Vec::<B256>::new());
        assert_eq!(db.count("deliveries").unwrap(), 2);
    }
}
