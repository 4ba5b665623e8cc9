//! The host process of the crash test (`examples/tests/crash.rs`): a gateway
//! that takes TIs from its inbox table to their ACKs through a JSON-RPC node,
//! keeping its write-ahead outbox in its SQLite database. The test kills it
//! with SIGKILL at seeded moments and starts it again; every start first
//! resumes what the outbox holds, then submits the TIs of the inbox that have
//! no ACK yet.
//!
//! With `pipeline` (`examples/tests/crash.rs`'s pipeline test), the TIs go
//! through the anchoring pipeline instead, in Merkle batches and a few
//! urgent single anchors, its rounds stored with one outbox write each; a
//! start resumes the outbox's entries into the pipeline
//! ([`Pipeline::resume`]) before pushing the TIs without an ACK.
//!
//! Usage: `crash_host <rpc-url> <database> <number of TIs> [pipeline]`. The first start
//! deploys the registry (Ganache's deterministic unlocked accounts: admin,
//! handshaker, doctor) and fills the inbox; later starts reuse both. The host
//! prints one line per step of the flow (`save`, `submit`, `poll`, `head`,
//! `read`, `finish`) once the step is done, so that the test can kill it at
//! a chosen step; in pipeline mode also `pushed` once every TI is pushed.
#![allow(clippy::print_stdout)]

use std::collections::HashSet;
use std::error::Error;
use std::path::Path;

use ehrchain_contracts::{Deployment, RpcConfig, RpcTransport, abi, deploy_registry};
use ehrchain_core::outbox::{Outbox, OutboxError, PartlyStored};
use ehrchain_core::pipeline::{
    Finished, Pipeline, PipelineConfig, PipelineError, Priority, drain_durably, step_durably,
};
use ehrchain_core::{
    Ack, Address, AnchoredBatch, B256, BatchReader, Clock, Handshaker, InMemoryKeyStore,
    InitialTransaction, Role, Submission, SubmissionStatus, SystemClock, TemplateRegistry,
    Transport, TransportError, TxHash, Until, ValidatorConfig,
};
use rand_core::{OsRng, RngCore};
use rusqlite::{OptionalExtension, params};
use serde_json::json;

// The examples' SQLite database; reading the ACKs back is the crash test's.
#[allow(dead_code)]
#[path = "../../common/store.rs"]
mod store;

// The handshaker only; the gateways' deployment and readings are theirs.
#[allow(dead_code)]
#[path = "../../common/host.rs"]
mod host;

use host::CHAIN_ID;
use store::Database;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (url, path, count, pipeline) = match &args[..] {
        [_, url, path, count] => (url, path, count, false),
        [_, url, path, count, mode] if mode == "pipeline" => (url, path, count, true),
        _ => {
            return Err("usage: crash_host <rpc-url> <database> <number of TIs> [pipeline]".into());
        }
    };
    let count: u32 = count.parse()?;
    let mut db = Database::open(Path::new(path))?;
    db.conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS host (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS inbox (ti_id TEXT PRIMARY KEY, ti TEXT NOT NULL);",
    )?;
    let templates = TemplateRegistry::with_built_ins(Some(abi()))?;
    let mut transport = Traced(connect(&db, url, &templates)?);
    let mut clock = SystemClock;
    let hs = handshaker(templates, transport.registry())?;
    fill_inbox(&mut db, &hs, count, &mut clock)?;
    let mut db = Traced(db);
    if pipeline {
        return through_the_pipeline(&hs, &mut db, &mut transport, &mut clock);
    }

    // After a restart: first whatever the outbox holds, the same TCs.
    let resumed = hs.resume(&mut db, &mut transport, &mut clock, &Until::verdict())?;
    let mut submitted = 0;
    for ti in waiting(&db.0)? {
        hs.submit_durably(
            &ti,
            &mut db,
            &mut transport,
            &mut clock,
            &mut OsRng,
            &Until::verdict(),
        )?
        .acked()?;
        submitted += 1;
    }
    println!(
        "crash_host: resumed {}, submitted {submitted}",
        resumed.acks.len()
    );
    Ok(())
}

/// TIs pushed into the pipeline between two of its rounds.
const PUSH_CHUNK: usize = 200;

/// The pipeline mode: the outbox's entries resumed ([`Pipeline::resume`]),
/// then every inbox TI without an ACK pushed, [`PUSH_CHUNK`] at a time
/// with a round in between (so batches are open while others are in
/// flight), about one in twenty urgent; a TI the resumed entries hold is
/// refused as a duplicate and skipped, and so is one ACKed since the inbox
/// was read. Then drained to the last ACK.
fn through_the_pipeline(
    hs: &Handshaker<InMemoryKeyStore>,
    db: &mut Traced<Database>,
    transport: &mut Traced<RpcTransport>,
    clock: &mut SystemClock,
) -> Result<()> {
    let config = PipelineConfig {
        batch_max_records: 256,
        batch_max_wait_ms: 200,
        validator: *hs.validator_config(),
        ..PipelineConfig::default()
    };
    let mut pipeline = Pipeline::new(CHAIN_ID, transport.registry(), config);
    let mut entries = Vec::new();
    for key in db.keys()? {
        entries.extend(db.load(&key)?);
    }
    pipeline.resume(entries.iter().map(String::as_str))?;
    let resumed = pipeline.pending();
    let mut pushed = 0;
    // The TIs ACKed since `waiting` was read: a resumed submission may
    // finish while the others are pushed, and a TI pushed after its ACK
    // would be anchored again (in another batch) or ACKed twice.
    let mut acked = HashSet::new();
    for chunk in waiting(&db.0)?.chunks(PUSH_CHUNK) {
        for ti in chunk.iter().filter(|ti| !acked.contains(&ti.ti_id)) {
            // A fixed share of the TI ids, the same at every start.
            let priority = if ti.ti_id.0.first().is_some_and(|b| *b < 13) {
                Priority::Urgent
            } else {
                Priority::Bulk
            };
            match hs.push(&mut pipeline, ti, priority, clock.now(), &mut OsRng) {
                Ok(()) => pushed += 1,
                Err(ehrchain_core::Error::Pipeline(PipelineError::Duplicate(_))) => {}
                Err(e) => return Err(e.into()),
            }
        }
        step_durably(&mut pipeline, db, transport, clock)?;
        acked.extend(pipeline.take_acks().iter().map(|ack| ack.ti_id));
    }
    // Until here a batch was open (a chunk is smaller than a batch).
    println!("pushed");
    drain_durably(&mut pipeline, db, transport, clock, &Until::verdict())?.finished()?;
    println!("crash_host: resumed {resumed} TIs, pushed {pushed}");
    Ok(())
}

/// The transport or outbox of the host, printing each step once it is done.
struct Traced<T>(T);

impl<T> Traced<T> {
    fn step<R>(&self, name: &str, result: R) -> R {
        println!("{name}");
        result
    }
}

impl<T: Transport> BatchReader for Traced<T> {
    type Error = TransportError;

    fn anchored_batch(
        &mut self,
        root: &B256,
    ) -> std::result::Result<Option<AnchoredBatch>, TransportError> {
        let result = self.0.anchored_batch(root);
        self.step("read", result)
    }
}

impl<T: Transport> Transport for Traced<T> {
    fn chain_id(&self) -> u64 {
        self.0.chain_id()
    }

    fn registry(&self) -> Address {
        self.0.registry()
    }

    fn submit(&mut self, submission: &Submission) -> std::result::Result<TxHash, TransportError> {
        let result = self.0.submit(submission);
        self.step("submit", result)
    }

    fn poll(
        &mut self,
        tx_hash: &TxHash,
        submission: &Submission,
    ) -> std::result::Result<SubmissionStatus, TransportError> {
        let result = self.0.poll(tx_hash, submission);
        self.step("poll", result)
    }

    fn head(&mut self) -> std::result::Result<u64, TransportError> {
        let result = self.0.head();
        self.step("head", result)
    }

    fn record_hash_of(
        &mut self,
        ti_id: &B256,
    ) -> std::result::Result<Option<B256>, TransportError> {
        let result = self.0.record_hash_of(ti_id);
        self.step("read", result)
    }
}

impl Outbox for Traced<Database> {
    fn save(&mut self, key: &B256, entry: &str) -> std::result::Result<(), OutboxError> {
        let result = self.0.save(key, entry);
        self.step("save", result)
    }

    fn save_all(&mut self, entries: &[(B256, String)]) -> std::result::Result<(), OutboxError> {
        let result = self.0.save_all(entries);
        self.step("save", result)
    }

    fn load(&mut self, key: &B256) -> std::result::Result<Option<String>, OutboxError> {
        self.0.load(key)
    }

    fn keys(&mut self) -> std::result::Result<Vec<B256>, OutboxError> {
        self.0.keys()
    }

    fn finish(&mut self, key: Option<&B256>, acks: &[Ack]) -> std::result::Result<(), OutboxError> {
        let result = self.0.finish(key, acks);
        self.step("finish", result)
    }

    fn finish_all(&mut self, finished: &[Finished]) -> std::result::Result<(), PartlyStored> {
        let result = self.0.finish_all(finished);
        self.step("finish", result)
    }

    /// Traced as a save when it stores entries (with the step's verdicts,
    /// if any), else as a finish.
    fn save_and_finish(
        &mut self,
        entries: &[(B256, String)],
        finished: &[Finished],
    ) -> std::result::Result<(), PartlyStored> {
        let result = self.0.save_and_finish(entries, finished);
        self.step(if entries.is_empty() { "finish" } else { "save" }, result)
    }
}

/// The node, with the registry of the first start (deployed then).
fn connect(db: &Database, url: &str, templates: &TemplateRegistry) -> Result<RpcTransport> {
    let stored: Option<String> = db
        .conn
        .query_row("SELECT value FROM host WHERE key = 'registry'", [], |r| {
            r.get(0)
        })
        .optional()?;
    let mut config = RpcConfig::new(CHAIN_ID);
    if let Some(registry) = &stored {
        config.registry = registry.parse()?;
    }
    let mut transport = RpcTransport::connect(url, config)?;
    let accounts = transport.accounts()?;
    let [admin, handshaker, doctor, ..] = accounts[..] else {
        return Err("the node needs 3 unlocked accounts".into());
    };
    if stored.is_none() {
        let deployment = Deployment {
            admin,
            grants: vec![
                ("handshaker".to_owned(), handshaker),
                (Role::DOCTOR.to_owned(), doctor),
            ],
        };
        let registry = deploy_registry(&mut transport, &deployment, templates)?;
        db.conn.execute(
            "INSERT INTO host VALUES ('registry', ?1)",
            [registry.to_string()],
        )?;
    }
    transport.set_sender(&Role::new(Role::DOCTOR)?, doctor);
    transport.set_default_sender(handshaker);
    transport.set_mine_on_head(true);
    Ok(transport)
}

/// The host's handshaker (fixed keys, the same at every start); polls
/// every 20 ms.
fn handshaker(
    templates: TemplateRegistry,
    registry: Address,
) -> Result<Handshaker<InMemoryKeyStore>> {
    let validator = ValidatorConfig {
        confirmations: 2,
        poll_interval_ms: 20,
        backoff_initial_ms: 20,
        ..ValidatorConfig::default()
    };
    host::handshaker(templates, registry, validator)
}

/// The first start's inbox: `count` doctor's readings, in one transaction.
fn fill_inbox(
    db: &mut Database,
    hs: &Handshaker<InMemoryKeyStore>,
    count: u32,
    clock: &mut SystemClock,
) -> Result<()> {
    if db.count("inbox")? > 0 {
        return Ok(());
    }
    let template = hs
        .templates()
        .latest("blood-pressure")
        .ok_or("no template")?;
    let tx = db.conn.transaction()?;
    for n in 0..count {
        let mut ti_id = B256::ZERO;
        OsRng.fill_bytes(ti_id.as_mut_slice());
        let ti = InitialTransaction {
            ti_id,
            template_id: template.id(),
            author_id: "dr-crash".into(),
            author_role: Role::new(Role::DOCTOR)?,
            patient_id: Some(format!("MRN-{n:06}")),
            timestamp: clock.now().as_secs(),
            fields: serde_json::from_value(json!({"systolic": 110 + n % 100, "diastolic": 70}))?,
        };
        tx.execute(
            "INSERT INTO inbox VALUES (?1, ?2)",
            params![ti_id.to_string(), ti.to_json()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The TIs of the inbox with no ACK delivered yet.
fn waiting(db: &Database) -> Result<Vec<InitialTransaction>> {
    let mut query = db.conn.prepare(
        "SELECT ti FROM inbox WHERE ti_id NOT IN (SELECT ti_id FROM deliveries) ORDER BY rowid",
    )?;
    let tis = query.query_map([], |r| r.get::<_, String>(0))?;
    tis.map(|t| Ok(InitialTransaction::from_json(&t?)?))
        .collect()
}
