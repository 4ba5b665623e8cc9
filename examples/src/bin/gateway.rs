//! One gateway of a hospital network: a process with its own sending
//! account that anchors a stream of bedside-monitor readings into a shared
//! registry through the anchoring pipeline, without coordinating with the
//! other gateways. The several-gateways test (`tests/gateways.rs`) and the
//! anchoring benchmark (`scripts/bench-anchoring.sh`) run it.
//!
//! - `gateway deploy <rpc-url> <gateways>`: deploys the registry with the
//!   built-in templates (account 0 the admin) and grants accounts 1 to
//!   `<gateways>` the device and handshaker roles; prints the registry and,
//!   on a second line, the device template's id (for a peer's script).
//! - `gateway run <rpc-url> <registry> <account> <seconds> <TIs per second>
//!   <bulk|urgent> <outbox: a SQLite path, or none> [mine-on-head]
//!   [max-pending=N]`: offers
//!   that many readings a second for that long (a reading the pipeline
//!   refuses as busy is offered again later), then waits for every ACK and
//!   prints one JSON line: TIs offered, ACKs valid and invalid, refusals as
//!   busy, the throughput, ACK latency percentiles, peak memory and CPU time
//!   per TI. `max-pending=N` sets the pipeline's bound (default 100,000):
//!   one pipeline's throughput is at most its bound over the ACK latency.
//!
//! With a SQLite outbox, a storage thread owns the database: each round's
//! entries (made on the pipeline's thread) and each step's verdicts go to
//! it, and each of its transactions (one durable write) holds every round
//! waiting and the verdicts that came first, up to 8,192 ACKs, while the
//! pipeline goes on sealing, sending and polling ([`perform_due`]). A
//! submission is still sent only once its entry is committed, and an ACK
//! counted only once it is stored. On two cores this takes the commits
//! (SQLite's page writes and the disk's syncs, about half of the thread's
//! time when it stored them itself with [`step_durably`]) off the
//! pipeline's thread; the cap keeps a block's verdicts (fifteen batches
//! confirmed together at 60,000 TIs/s) from holding the next rounds back.
//! Verdicts waiting for the thread have left the pipeline and no longer
//! count against its bound: on a disk slower than the chain that queue
//! would grow (the report's peak memory shows it).
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::error::Error;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::time::Instant;

use ehrchain_contracts::{RpcConfig, RpcTransport, abi};
use ehrchain_core::outbox::{NoOutbox, OutboxError};
use ehrchain_core::pipeline::{
    Finished, Pipeline, PipelineConfig, PipelineError, Priority, perform_due, step_durably,
};
use ehrchain_core::{
    Ack, Address, B256, CancelToken, Clock, Handshaker, InMemoryKeyStore, InitialTransaction, Role,
    SystemClock, TemplateRegistry, ValidatorConfig,
};
use rand_core::OsRng;
use serde_json::json;

// The examples' SQLite database; this host uses its outbox, not its counts.
#[allow(dead_code)]
#[path = "../../common/store.rs"]
mod store;

#[path = "../../common/host.rs"]
mod host;

use host::{CHAIN_ID, reading};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["deploy", url, gateways] => deploy(url, gateways.parse()?),
        ["run", url, registry, account, seconds, rate, priority, outbox, ref rest @ ..] => {
            let run = Run {
                account: account.parse()?,
                seconds: seconds.parse()?,
                rate: rate.parse()?,
                priority: match priority {
                    "urgent" => Priority::Urgent,
                    _ => Priority::Bulk,
                },
                mine_on_head: rest.contains(&"mine-on-head"),
                max_pending: match rest.iter().find_map(|a| a.strip_prefix("max-pending=")) {
                    Some(n) => n.parse()?,
                    None => PipelineConfig::default().max_pending,
                },
            };
            let transport = connect(url, registry.parse()?, run.account, run.mine_on_head)?;
            match outbox {
                "none" => run.go(transport, None),
                path => run.go(
                    transport,
                    Some(Storage::start(store::Database::open(Path::new(path))?)),
                ),
            }
        }
        _ => Err("usage: gateway deploy <rpc-url> <gateways> | gateway run <rpc-url> <registry> <account> <seconds> <TIs/s> <bulk|urgent> <outbox path|none> [mine-on-head] [max-pending=N]".into()),
    }
}

/// Deploys the registry; accounts 1..=`gateways` get the device and
/// handshaker roles.
fn deploy(url: &str, gateways: usize) -> Result<()> {
    let mut transport = RpcTransport::connect(url, RpcConfig::new(CHAIN_ID))?;
    let senders = transport
        .accounts()?
        .get(1..=gateways)
        .ok_or("too few unlocked accounts")?
        .to_vec();
    let templates = TemplateRegistry::with_built_ins(Some(abi()))?;
    let registry = host::deploy_for_gateways(&mut transport, &senders, &templates)?;
    let device = templates
        .latest("device-vital-sign")
        .ok_or("no device template")?;
    println!("{registry}\n{}", device.id());
    Ok(())
}

/// A transport that sends every transaction from unlocked account `account`.
fn connect(
    url: &str,
    registry: Address,
    account: usize,
    mine_on_head: bool,
) -> Result<RpcTransport> {
    let mut config = RpcConfig::new(CHAIN_ID);
    config.registry = registry;
    let mut transport = RpcTransport::connect(url, config)?;
    let sender = *transport
        .accounts()?
        .get(account)
        .ok_or("no such account")?;
    transport.set_sender(&Role::new(Role::DEVICE)?, sender);
    transport.set_default_sender(sender);
    transport.set_mine_on_head(mine_on_head);
    Ok(transport)
}

/// One run of a gateway.
struct Run {
    account: usize,
    seconds: u64,
    rate: u64,
    priority: Priority,
    mine_on_head: bool,
    max_pending: usize,
}

impl Run {
    /// Runs the stream; `storage` keeps the outbox (`None`: no outbox).
    fn go(&self, mut transport: RpcTransport, mut storage: Option<Storage>) -> Result<()> {
        let hs = handshaker(transport.registry())?;
        let config = PipelineConfig {
            validator: *hs.validator_config(),
            max_pending: self.max_pending,
            ..PipelineConfig::default()
        };
        let mut pipeline = Pipeline::new(CHAIN_ID, transport.registry(), config);
        let mut clock = SystemClock;
        let never = CancelToken::new();
        let mut offered: HashMap<B256, Instant> = HashMap::new();
        let mut latencies_ms = Vec::new();
        let (mut valid, mut invalid, mut busy) = (0u64, 0u64, 0u64);
        let mut first_invalid = None;
        let mut waiting: Option<InitialTransaction> = None;
        let started = Instant::now();
        let total = self.seconds * self.rate;
        let mut tally = |acks: Vec<Ack>, offered: &mut HashMap<B256, Instant>| {
            for ack in acks {
                if let Some(at) = offered.remove(&ack.ti_id) {
                    latencies_ms.push(at.elapsed().as_secs_f64() * 1e3);
                }
                if ack.is_valid() {
                    valid += 1;
                } else {
                    invalid += 1;
                    first_invalid.get_or_insert_with(|| ack.reason().map(ToString::to_string));
                }
            }
        };
        let mut made = 0u64;
        let writing = |s: &Option<Storage>| s.as_ref().is_some_and(|s| s.outstanding > 0);
        while made < total || !pipeline.is_idle() || waiting.is_some() || writing(&storage) {
            // Offer what is due by now (the rate), one reading at a time.
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let due = elapsed_ms.saturating_mul(self.rate) / 1_000;
            while made < due.min(total) || waiting.is_some() {
                // A refused reading is offered again once an ACK made room,
                // not at every turn of the loop.
                if waiting.is_some() && pipeline.pending() >= self.max_pending {
                    break;
                }
                let ti = match waiting.take() {
                    Some(ti) => ti,
                    None => {
                        made += 1;
                        reading(&hs, self.account, made, clock.now().as_secs())?
                    }
                };
                let now = clock.now();
                match hs.push(&mut pipeline, &ti, self.priority, now, &mut OsRng) {
                    Ok(()) => {
                        offered.insert(ti.ti_id, Instant::now());
                    }
                    Err(ehrchain_core::Error::Pipeline(PipelineError::Busy { .. })) => {
                        busy += 1;
                        waiting = Some(ti);
                        break;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if made >= total && waiting.is_none() {
                pipeline.flush();
            }
            let acks = match &mut storage {
                Some(storage) => storage.step(&mut pipeline, &mut transport, &mut clock)?,
                None => {
                    step_durably(&mut pipeline, &mut NoOutbox, &mut transport, &mut clock)?;
                    pipeline.take_acks()
                }
            };
            tally(acks, &mut offered);
            // The next reading (or the storage thread's next answer), or the
            // pipeline's next time.
            let next_ti = clock.now().saturating_add_ms(1);
            let wake = pipeline.poll_timeout().map_or(next_ti, |t| t.min(next_ti));
            clock.wait_until(wake, &never);
        }
        let elapsed = started.elapsed().as_secs_f64();
        latencies_ms.sort_by(f64::total_cmp);
        let percentile = |percent: usize| {
            let index = latencies_ms.len().saturating_sub(1) * percent / 100;
            latencies_ms.get(index).copied().unwrap_or(0.0)
        };
        let cpu_ms = cpu_time_ms();
        println!(
            "{}",
            json!({
                "account": self.account,
                "tis": made,
                "valid": valid,
                "invalid": invalid,
                "busy": busy,
                "firstInvalid": first_invalid.flatten(),
                "seconds": elapsed,
                "tisPerSecond": (valid + invalid) as f64 / elapsed,
                "latencyP50Ms": percentile(50),
                "latencyP99Ms": percentile(99),
                "peakRssKiB": peak_rss_kib(),
                "cpuMsPerTi": cpu_ms / made.max(1) as f64,
            })
        );
        Ok(())
    }
}

/// A write for the storage thread.
enum Job {
    /// A pipeline round's entries, to commit before its submissions are sent.
    Save(u64, Vec<(B256, String)>),
    /// Verdicts: their ACKs stored, their entries removed.
    Finish(Vec<Finished>),
}

/// The storage thread's answer: what one transaction committed.
struct Committed {
    /// The rounds whose entries it stored.
    rounds: Vec<u64>,
    /// The verdicts it stored.
    finished: Vec<Finished>,
    /// Whether the transaction committed.
    result: std::result::Result<(), OutboxError>,
}

/// At most this many ACKs go into one of the storage thread's
/// transactions (whole verdicts, at least one): the verdicts of a block
/// come together (fifteen batches of 4,096 at 60,000 TIs/s, some 0.4 s to
/// commit at once), and rounds waiting behind them would hold back their
/// submissions past the next block.
const ACKS_PER_COMMIT: usize = 8_192;

/// The SQLite outbox in a thread of its own, so that its commits overlap
/// the pipeline's work (module docs).
struct Storage {
    jobs: Sender<Job>,
    answers: Receiver<Committed>,
    /// Rounds and verdicts sent and not answered yet.
    outstanding: usize,
}

impl Storage {
    /// Starts the thread that owns `db`. Each of its transactions holds
    /// every round waiting and verdicts up to [`ACKS_PER_COMMIT`] ACKs, in
    /// the order they came; it answers each transaction.
    fn start(mut db: store::Database) -> Self {
        let (jobs, waiting) = mpsc::channel::<Job>();
        let (answer, answers) = mpsc::channel();
        std::thread::spawn(move || {
            let (mut rounds, mut entries) = (Vec::new(), Vec::new());
            let mut verdicts = std::collections::VecDeque::new();
            loop {
                // Nothing left to commit: wait for the next job (none: the
                // pipeline's thread is gone).
                let first = if rounds.is_empty() && verdicts.is_empty() {
                    match waiting.recv() {
                        Ok(job) => Some(job),
                        Err(_) => return,
                    }
                } else {
                    None
                };
                for job in first.into_iter().chain(waiting.try_iter()) {
                    match job {
                        Job::Save(round, mut saved) => {
                            rounds.push(round);
                            entries.append(&mut saved);
                        }
                        Job::Finish(finished) => verdicts.extend(finished),
                    }
                }
                let mut finished = Vec::new();
                let mut acks = 0;
                while let Some(next) = verdicts.front() {
                    if !finished.is_empty() && acks + next.acks.len() > ACKS_PER_COMMIT {
                        break;
                    }
                    acks += next.acks.len();
                    finished.extend(verdicts.pop_front());
                }
                let result = db
                    .commit(&entries, &finished)
                    .map_err(|e| OutboxError(e.to_string()));
                entries.clear();
                let done = Committed {
                    rounds: std::mem::take(&mut rounds),
                    finished,
                    result,
                };
                if answer.send(done).is_err() {
                    return;
                }
            }
        });
        Self {
            jobs,
            answers,
            outstanding: 0,
        }
    }

    fn send(&mut self, job: Job) -> Result<()> {
        let items = match &job {
            Job::Save(..) => 1,
            Job::Finish(finished) => finished.len(),
        };
        self.jobs
            .send(job)
            .map_err(|_| "the storage thread stopped")?;
        self.outstanding += items;
        Ok(())
    }

    /// Takes the storage thread's answers: committed rounds go out, stored
    /// verdicts give their ACKs. A failed commit stops the run (nothing of
    /// it was sent).
    fn answered(&mut self, pipeline: &mut Pipeline, clock: &mut SystemClock) -> Result<Vec<Ack>> {
        let mut acks = Vec::new();
        loop {
            let done = match self.answers.try_recv() {
                Ok(done) => done,
                Err(TryRecvError::Empty) => break,
                // It holds its end while this one holds `jobs`: it panicked.
                Err(TryRecvError::Disconnected) => return Err("the storage thread stopped".into()),
            };
            self.outstanding -= done.rounds.len() + done.finished.len();
            let now = clock.now();
            for round in done.rounds {
                pipeline.handle_persisted(round, now, done.result.clone());
            }
            done.result?;
            acks.extend(done.finished.into_iter().flat_map(|f| f.acks));
        }
        Ok(acks)
    }

    /// Performs the pipeline's actions due now, hands the thread what is
    /// to store, and returns the ACKs whose verdicts it has stored.
    fn step(
        &mut self,
        pipeline: &mut Pipeline,
        transport: &mut RpcTransport,
        clock: &mut SystemClock,
    ) -> Result<Vec<Ack>> {
        let mut acks = self.answered(pipeline, clock)?;
        pipeline.handle_timeout(clock.now());
        for round in perform_due(pipeline, transport, clock) {
            self.send(Job::Save(round, pipeline.round_entries(round)))?;
        }
        let finished: Vec<Finished> = std::iter::from_fn(|| pipeline.poll_finished()).collect();
        if !finished.is_empty() {
            self.send(Job::Finish(finished))?;
        }
        acks.extend(self.answered(pipeline, clock)?);
        Ok(acks)
    }
}

/// The gateway's handshaker: fixed keys (a real gateway has its key
/// service), confirmations 2.
fn handshaker(registry: Address) -> Result<Handshaker<InMemoryKeyStore>> {
    let validator = ValidatorConfig {
        confirmations: 2,
        poll_interval_ms: 100,
        backoff_initial_ms: 100,
        ..ValidatorConfig::default()
    };
    host::handshaker(
        TemplateRegistry::with_built_ins(Some(abi()))?,
        registry,
        validator,
    )
}

/// The process's peak resident memory (VmHWM), KiB.
fn peak_rss_kib() -> u64 {
    status_field("/proc/self/status", "VmHWM:").unwrap_or(0)
}

fn status_field(path: &str, name: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with(name))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User and system CPU time of the process so far, milliseconds (from
/// `/proc/self/stat`, in clock ticks of 10 ms).
fn cpu_time_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces) start after ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after ')'.
    (ticks(11) + ticks(12)) * 10.0
}
