//! Faults on the real JSON-RPC path: the handshaker talks to a node through
//! a fault-injecting proxy (`scripts/fault-proxy/proxy.mjs`, loopback only)
//! that resets connections, black-holes requests, answers late, throws the
//! node's answer away after the node acted, answers 500 or garbage. For each
//! fault: every TI ends in exactly one ACK; a valid ACK names the record the
//! registry holds (read straight from the node); an invalid ACK for a record
//! the registry holds is flagged inconclusive; and every TC whose ACK says it
//! may be rerun ends valid when rerun without faults, anchored once (nothing
//! lost). Prints one row per fault.
//!
//! Then a burst of TIs from one locally signing account (nonces counted by
//! the transport, as the core's `rpc::Nonces` says) while sends fail
//! mid-burst, the answer thrown away after the node acted or the connection
//! refused: every TI valid, anchored once, none stalled behind a nonce gap.
//!
//! Then a node that black-holes every request: an outage is not a verdict,
//! and it costs the host at most its deadline (plus the one request in
//! flight); once the node is back, resuming the TI from its outbox ends
//! valid with the same record hash.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy_primitives::Address;
use common::{built_ins, generator};
use ehrchain_contracts::{Deployment, PrivateKeySigner, RpcConfig, RpcTransport, deploy_registry};
use ehrchain_core::outbox::MemoryOutbox;
use ehrchain_core::outbox::Outbox;
use ehrchain_core::validator::{ValidatorState, step};
use ehrchain_core::{
    Ack, CancelToken, ChainTransaction, Clock, Handshaker, InMemoryKeyStore, InitialTransaction,
    Role, Run, SystemClock, TransactionValidator, Transport, UnixMillis, Until, ValidatorConfig,
    run_durably,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::json;

const TIS_PER_FAULT: usize = 4;
const FAULTS: [&str; 6] = [
    "refuse",
    "blackhole",
    "delay",
    "drop-answer",
    "http-500",
    "garbage",
];

fn url() -> String {
    std::env::var("EHRCHAIN_RPC_URL")
        .expect("set EHRCHAIN_RPC_URL to a node's URL (scripts/ganache-e2e.sh does)")
}

/// The proxy in front of the node, spoiling `share` of the requests.
struct Proxy {
    child: Child,
    url: String,
}

impl Proxy {
    fn start(upstream: &str, fault: &str, share: f64, seed: u64) -> Self {
        Self::start_passing(upstream, fault, share, seed, 0)
    }

    /// A proxy that lets the first `pass_first` requests through unspoiled.
    fn start_passing(upstream: &str, fault: &str, share: f64, seed: u64, pass_first: u32) -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/fault-proxy/proxy.mjs"
        );
        let mut child = Command::new("node")
            .args([
                script,
                upstream,
                fault,
                &share.to_string(),
                &seed.to_string(),
            ])
            .args(["--lifetime", "600", "--pass-first", &pass_first.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs the fault proxy");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().strip_prefix("listening ").expect(&line);
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The node's unlocked accounts: admin, handshaker, doctor.
fn accounts(node: &RpcTransport) -> [Address; 3] {
    let accounts = node.accounts().unwrap();
    [accounts[0], accounts[1], accounts[2]]
}

/// A transport through `url` (the proxy) to the registry, retrying the
/// connection itself, which the proxy may spoil too.
fn through(url: &str, registry: Address, senders: [Address; 3], timeout: Duration) -> RpcTransport {
    let mut config = RpcConfig::new(1337);
    config.registry = registry;
    config.timeout = timeout;
    let mut transport = (0..50)
        .find_map(|_| RpcTransport::connect(url, config.clone()).ok())
        .expect("the proxy let a connection through");
    transport.set_sender(&Role::new(Role::DOCTOR).unwrap(), senders[2]);
    transport.set_default_sender(senders[1]);
    transport.set_mine_on_head(true);
    transport
}

fn handshaker(registry: Address) -> Handshaker<InMemoryKeyStore> {
    let config = ValidatorConfig {
        confirmations: 2,
        poll_interval_ms: 20,
        backoff_initial_ms: 50,
        backoff_max_ms: 400,
        // Ganache mines at once: what is not mined in 5 s was not sent.
        inclusion_timeout_ms: 5_000,
        ..ValidatorConfig::default()
    };
    Handshaker::new(built_ins(), generator(1337, registry), config)
}

fn ti(hs: &Handshaker<InMemoryKeyStore>, rng: &mut ChaCha20Rng, n: usize) -> InitialTransaction {
    let mut ti_id = [0u8; 32];
    rng.fill_bytes(&mut ti_id);
    InitialTransaction {
        ti_id: ti_id.into(),
        template_id: hs.templates().latest("blood-pressure").unwrap().id(),
        author_id: "dr-faults".into(),
        author_role: Role::new(Role::DOCTOR).unwrap(),
        patient_id: Some(format!("MRN-{n:06}")),
        timestamp: SystemClock.now().as_secs(),
        fields: serde_json::from_value(json!({"systolic": 120, "diastolic": 80})).unwrap(),
    }
}

/// One fault's row: TIs, valid and invalid ACKs, reruns, violations.
#[derive(Debug, Default)]
struct Row {
    tis: usize,
    valid: usize,
    invalid: usize,
    reruns: usize,
    violations: Vec<String>,
}

/// How long one TI may take through a spoiling proxy before the test counts
/// it as stuck (an outage is waited out, so only a deadline ends it).
const PER_TI_MS: u64 = 120_000;

/// Runs `validator` to its verdict on the system clock (the node's time-outs
/// are real), with its outbox; `None` when it is still pending after
/// [`PER_TI_MS`].
fn run(validator: &mut TransactionValidator, transport: &mut RpcTransport) -> Option<Vec<Ack>> {
    let until = Until::deadline(SystemClock.now().saturating_add_ms(PER_TI_MS));
    run_durably(
        validator,
        &mut MemoryOutbox::default(),
        transport,
        &mut SystemClock,
        &until,
    )
    .unwrap()
    .acked()
    .ok()
}

fn check_fault(fault: &str, seed: u64, registry: Address, senders: [Address; 3]) -> Row {
    let proxy = Proxy::start(&url(), fault, 0.25, seed);
    let mut faulty = through(&proxy.url, registry, senders, Duration::from_secs(1));
    let mut direct = through(&url(), registry, senders, Duration::from_secs(30));
    let hs = handshaker(registry);
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut row = Row::default();
    let tcs: Vec<ChainTransaction> = (0..TIS_PER_FAULT)
        .map(|n| {
            let ti = ti(&hs, &mut rng, n);
            hs.generate(&ti, SystemClock.now(), &mut rng).unwrap()
        })
        .collect();
    for tc in &tcs {
        row.tis += 1;
        let mut validator = TransactionValidator::new(tc, *hs.validator_config());
        let Some(acks) = run(&mut validator, &mut faulty) else {
            row.violations.push(format!("no ACK within {PER_TI_MS} ms"));
            continue;
        };
        let [ack] = &acks[..] else {
            row.violations
                .push(format!("{} ACKs for one TI", acks.len()));
            continue;
        };
        // Straight from the node (retried: a busy node may drop a connection).
        let held = (0..5)
            .find_map(|_| direct.record_hash_of(&tc.ti_id).ok())
            .expect("the node answers without the proxy");
        if ack.is_valid() {
            row.valid += 1;
            if held != Some(tc.record_hash) {
                row.violations
                    .push(format!("a valid ACK, but the registry holds {held:?}"));
            }
            continue;
        }
        row.invalid += 1;
        let reason = ack.reason().unwrap();
        if held == Some(tc.record_hash) && !reason.is_inconclusive() {
            row.violations.push(format!(
                "a conclusive invalid ACK for an anchored record: {reason}"
            ));
        }
        if reason.may_rerun() {
            // Nothing lost: the same TC, without faults, ends valid.
            row.reruns += 1;
            let mut again = TransactionValidator::new(tc, *hs.validator_config());
            let acks = run(&mut again, &mut direct).unwrap_or_default();
            if acks.is_empty() || !acks.iter().all(Ack::is_valid) {
                row.violations
                    .push(format!("a rerun of a TC that may be rerun: {acks:?}"));
            }
        }
    }
    drop(proxy);
    row
}

#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn every_fault_keeps_one_ack_per_ti_and_nothing_lost() {
    let mut node = RpcTransport::connect(&url(), RpcConfig::new(1337)).unwrap();
    let senders = accounts(&node);
    let [admin, handshaker, doctor] = senders;
    let deployment = Deployment {
        admin,
        grants: vec![
            ("handshaker".to_owned(), handshaker),
            (Role::DOCTOR.to_owned(), doctor),
        ],
    };
    let signer = node.add_local_key(burst_key());
    let funded = node
        .send_from(
            admin,
            Some(signer),
            alloy_primitives::Bytes::new(),
            alloy_primitives::U256::from(10u64).pow(alloy_primitives::U256::from(19u64)),
        )
        .unwrap();
    assert!(node.wait_for_receipt(&funded).unwrap().status);
    let mut deployment = deployment;
    deployment.grants.push((Role::NURSE.to_owned(), signer));
    let registry = deploy_registry(&mut node, &deployment, &built_ins()).unwrap();
    let started = Instant::now();
    eprintln!("fault          TIs  valid  invalid  reruns  violations  seconds");
    let mut all = Vec::new();
    for (i, fault) in FAULTS.iter().enumerate() {
        let at = Instant::now();
        let row = check_fault(fault, 0xfa17 + i as u64, registry, senders);
        eprintln!(
            "{fault:<14} {:>3}  {:>5}  {:>7}  {:>6}  {:>10}  {:>7.1}",
            row.tis,
            row.valid,
            row.invalid,
            row.reruns,
            row.violations.len(),
            at.elapsed().as_secs_f64()
        );
        all.extend(row.violations.into_iter().map(|v| format!("{fault}: {v}")));
    }
    eprintln!("faults: {:.1} s", started.elapsed().as_secs_f64());
    for (seed, fault) in [(0xb0057, "drop-answer"), (0xb0058, "refuse")] {
        let row = burst_from_a_local_key(fault, seed, registry, senders);
        eprintln!(
            "burst {fault:<8} {:>3}  {:>5}  {:>7}  {:>6}  {:>10}",
            row.tis,
            row.valid,
            row.invalid,
            row.reruns,
            row.violations.len(),
        );
        all.extend(
            row.violations
                .into_iter()
                .map(|v| format!("burst {fault}: {v}")),
        );
    }
    assert!(all.is_empty(), "{all:#?}");
    black_holed_node_costs_at_most_the_deadline_and_resume_ends_valid(registry, senders);
}

/// The key that signs the nurses' TIs of the burst itself.
fn burst_key() -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&alloy_primitives::keccak256("ehrchain faults: burst nurse"))
        .unwrap()
}

/// TIs in one burst from one locally signing account.
const BURST: usize = 8;

/// `BURST` nurse TIs (fresh TI ids from `seed`), all in flight at once
/// (interleaved, one action at a time, each validator with its outbox),
/// through a proxy that spoils a third of the requests with `fault`, from the locally signing
/// [`burst_key`]: every TI valid within [`PER_TI_MS`], its record held.
fn burst_from_a_local_key(fault: &str, seed: u64, registry: Address, senders: [Address; 3]) -> Row {
    let proxy = Proxy::start_passing(&url(), fault, 0.3, seed, 1);
    let mut faulty = through(&proxy.url, registry, senders, Duration::from_secs(1));
    let signer = faulty.add_local_key(burst_key());
    faulty.set_sender(&Role::new(Role::NURSE).unwrap(), signer);
    let mut direct = through(&url(), registry, senders, Duration::from_secs(30));
    let hs = handshaker(registry);
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut validators: Vec<(TransactionValidator, MemoryOutbox)> = (0..BURST)
        .map(|n| {
            let ti = InitialTransaction {
                author_role: Role::new(Role::NURSE).unwrap(),
                ..ti(&hs, &mut rng, n)
            };
            (
                hs.validator_for(&ti, SystemClock.now(), &mut rng),
                MemoryOutbox::default(),
            )
        })
        .collect();
    let give_up = SystemClock.now().saturating_add_ms(PER_TI_MS);
    let mut acks: Vec<Vec<Ack>> = vec![Vec::new(); BURST];
    while SystemClock.now() < give_up && validators.iter().any(|(v, _)| !v.is_finished()) {
        let now = SystemClock.now();
        for ((v, outbox), acks) in validators.iter_mut().zip(&mut acks) {
            v.handle_timeout(now);
            if let Some(transmit) = v.poll_transmit(now) {
                step(v, outbox, &mut faulty, now, transmit).unwrap();
            }
            acks.extend(std::iter::from_fn(|| v.poll_ack()));
        }
        if let Some(next) = validators
            .iter()
            .filter_map(|(v, _)| v.poll_timeout())
            .min()
        {
            SystemClock.wait_until(next.min(give_up), &CancelToken::new());
        }
    }
    drop(proxy);
    let mut row = Row::default();
    for ((v, _), acks) in validators.iter().zip(&acks) {
        row.tis += 1;
        let ti_id = v.ti_ids().next().unwrap();
        let [ack] = &acks[..] else {
            row.violations.push(format!(
                "{} ACKs for TI {ti_id} ({:?})",
                acks.len(),
                v.state()
            ));
            continue;
        };
        let held = (0..5)
            .find_map(|_| direct.record_hash_of(&ti_id).ok())
            .unwrap();
        if ack.is_valid() && held == ack.record_hash {
            row.valid += 1;
        } else {
            row.invalid += 1;
            row.violations
                .push(format!("{ack:?}, the registry holds {held:?}"));
        }
    }
    row
}

/// The host's deadline in the black-hole test, and the transport's time-out
/// per request: a black-holed node may cost at most their sum.
const DEADLINE_MS: u64 = 3_000;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// A black-holed node costs at most the deadline, and resume ends valid
/// (run after the fault table, on the same registry: one test at a time
/// sends from the node's accounts).
fn black_holed_node_costs_at_most_the_deadline_and_resume_ends_valid(
    registry: Address,
    senders: [Address; 3],
) {
    // Every request after the transport's connection check is read and
    // never answered.
    let proxy = Proxy::start_passing(&url(), "blackhole", 1.0, 7, 1);
    let mut dark = through(&proxy.url, registry, senders, REQUEST_TIMEOUT);
    let hs = handshaker(registry);
    let mut rng = ChaCha20Rng::seed_from_u64(0xb1ac);
    let ti = ti(&hs, &mut rng, 0);
    let mut outbox = MemoryOutbox::default();
    let started = Instant::now();
    let deadline = UnixMillis(SystemClock.now().as_millis() + DEADLINE_MS);
    let run = hs
        .submit_durably(
            &ti,
            &mut outbox,
            &mut dark,
            &mut SystemClock,
            &mut rng,
            &Until::deadline(deadline),
        )
        .unwrap();
    let took = started.elapsed();
    drop(proxy);
    eprintln!(
        "blackhole-all: deadline {DEADLINE_MS} ms, request time-out {REQUEST_TIMEOUT:?}: returned after {took:?}"
    );
    // No ACK (an outage is not a verdict), and no later than the deadline
    // plus the request in flight (with 1 s of margin for a busy machine).
    let Run::Pending(stopped) = run else {
        panic!("an ACK from a black-holed node: {run:?}");
    };
    let bound = Duration::from_millis(DEADLINE_MS) + REQUEST_TIMEOUT + Duration::from_secs(1);
    assert!(
        took >= Duration::from_millis(DEADLINE_MS - 100) && took <= bound,
        "took {took:?}, bound {bound:?}"
    );
    let ValidatorState::Outage { outage, .. } = &*stopped.state else {
        panic!("stopped while {:?}", stopped.state);
    };
    assert!(outage.attempts >= 2, "{outage:?}");
    assert_eq!(outage.last_error.name(), "unavailable");
    // The TI is pending in the outbox, with its sealed record.
    assert_eq!(outbox.keys().unwrap(), vec![ti.ti_id]);
    let entry = TransactionValidator::from_json(&outbox.load(&ti.ti_id).unwrap().unwrap()).unwrap();
    let ehrchain_core::transport::Anchoring::Record { record_hash, .. } =
        entry.submission().unwrap().anchoring
    else {
        panic!("a single record");
    };

    // The node is back (no proxy): resuming ends valid, with the same
    // record hash, anchored once.
    let mut direct = through(&url(), registry, senders, Duration::from_secs(30));
    let resumed = hs
        .resume(
            &mut outbox,
            &mut direct,
            &mut SystemClock,
            &Until::verdict(),
        )
        .unwrap();
    assert_eq!(resumed.stopped, None);
    let [ack] = &resumed.acks[..] else {
        panic!("{:?}", resumed.acks);
    };
    assert!(ack.is_valid(), "{ack:?}");
    assert_eq!(ack.record_hash, Some(record_hash));
    assert_eq!(direct.record_hash_of(&ti.ti_id).unwrap(), Some(record_hash));
    assert!(outbox.keys().unwrap().is_empty());
}
