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
//! Then, on the node itself, what happens after the ACK and to pending
//! transactions:
//! - **reorg after the ACK**: `evm_snapshot` before the anchors, `evm_revert`
//!   after their valid ACKs (a reorg deeper than the confirmations); the
//!   anchor watcher reports every anchor vanished, resends the same TC
//!   (`watch_durably`) and watches it to final: each TI ends valid with the
//!   same record hash in a new block (the same signed transaction when the
//!   node gives the sender the same nonce again), the registry holds it,
//!   none anchored twice.
//! - **a pending transaction dropped**: on Hardhat, automine off
//!   (`evm_setAutomine`), the TC sent and left pending, then
//!   `hardhat_dropTransaction`; on Ganache, which has no way to drop one,
//!   the miner stopped (`miner_stop`) and the pending transaction replaced
//!   by another with its nonce (a 0-value transfer at a higher gas price),
//!   which is how a mempool drops one. The validator finds it dropped, reads
//!   the registry (nothing) and resends the same TC: one valid ACK with
//!   another transaction, the record anchored once.
//!
//! - **a node restart**: on a node the test starts itself, the process is
//!   killed (SIGKILL) and started again on the same port while a TC is in
//!   flight. Ganache keeps its chain (`--database.dbPath`): every TI ends
//!   valid, anchored once. Hardhat loses its chain, the registry with it:
//!   there the test shows that no TI is ACKed valid without an anchor.
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
//!
//! Each scenario writes its row for `make test`'s fault table
//! (scripts/fault-report/): `proxy-<fault>` on `ganache` or `hardhat`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod common;
#[path = "../../scripts/fault-report/row.rs"]
mod fault_report;
#[path = "../../scripts/fault-proxy/proxy.rs"]
mod proxy;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256};
use common::{built_ins, generator};
use ehrchain_contracts::{Deployment, PrivateKeySigner, RpcConfig, RpcTransport, deploy_registry};
use ehrchain_core::outbox::MemoryOutbox;
use ehrchain_core::outbox::Outbox;
use ehrchain_core::rpc::RpcRequest;
use ehrchain_core::validator::ValidatorState;
use ehrchain_core::watcher::{AnchorWatcher, WatchEvent, WatcherConfig};
use ehrchain_core::{
    Ack, CancelToken, ChainTransaction, Clock, Handshaker, InMemoryKeyStore, InitialTransaction,
    Role, Run, RunStep, SystemClock, TransactionValidator, Transport, TxHash, UnixMillis, Until,
    ValidatorConfig, ValidatorRun, run_durably, watch_durably,
};
use proxy::Proxy;
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
    let proxy = Proxy::start(&url(), fault, 0.25, seed, 0);
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

/// Prints `row` and writes it to the fault table.
fn report(scenario: &str, node: &str, row: &Row, at: Instant) {
    eprintln!(
        "{scenario:<24} {:>3}  {:>5}  {:>7}  {:>6}  {:>10}  {:>7.1}",
        row.tis,
        row.valid,
        row.invalid,
        row.reruns,
        row.violations.len(),
        at.elapsed().as_secs_f64()
    );
    fault_report::write_row(scenario, node, row.tis as u64, row.violations.len() as u64);
}

/// A scenario on the node itself (`node`: its `web3_clientVersion`): its row.
type Scenario = fn(&Handshaker<InMemoryKeyStore>, &mut RpcTransport, &mut ChaCha20Rng, &str) -> Row;

/// Runs `validator` durably on `chain` until its first submission is sent.
fn up_to_the_first_submission<T: Transport + ?Sized>(
    validator: &mut TransactionValidator,
    outbox: &mut MemoryOutbox,
    chain: &mut T,
) {
    let mut run = ValidatorRun::new(None, true);
    while validator.tx_hashes().is_empty() {
        let now = SystemClock.now();
        match run
            .perform_due(validator, outbox, chain, now, false)
            .unwrap()
        {
            RunStep::Wait { until } if validator.tx_hashes().is_empty() => {
                SystemClock.wait_until(until, &CancelToken::new());
            }
            RunStep::Wait { .. } => {}
            other => panic!("ended before its first submission: {other:?}"),
        }
    }
}

/// A fresh TC of a doctor's reading.
fn fresh_tc(
    hs: &Handshaker<InMemoryKeyStore>,
    rng: &mut ChaCha20Rng,
    n: usize,
) -> ChainTransaction {
    let ti = ti(hs, rng, n);
    hs.generate(&ti, SystemClock.now(), rng).unwrap()
}

/// Whether the registry holds `tc`'s record (read straight from the node).
fn anchored(direct: &mut RpcTransport, tc: &ChainTransaction) -> bool {
    (0..5).find_map(|_| direct.record_hash_of(&tc.ti_id).ok()) == Some(Some(tc.record_hash))
}

/// Valid ACKs for fresh TCs, then `evm_revert` to before them: the watcher
/// reports each vanished and `watch_durably` resends the same TC until final.
fn reorg_after_the_ack(
    hs: &Handshaker<InMemoryKeyStore>,
    direct: &mut RpcTransport,
    rng: &mut ChaCha20Rng,
    _node: &str,
) -> Row {
    let mut row = Row::default();
    let mut watcher = AnchorWatcher::new(WatcherConfig {
        depth: 4,
        poll_interval_ms: 20,
        backoff_initial_ms: 50,
        backoff_max_ms: 400,
        ..WatcherConfig::default()
    });
    let snapshot = direct.request(&RpcRequest::snapshot()).unwrap();
    // Each TC and the block of its first anchor.
    let mut first: Vec<(ChainTransaction, B256)> = Vec::new();
    for n in 0..3 {
        row.tis += 1;
        let tc = fresh_tc(hs, rng, n);
        let mut validator = TransactionValidator::new(&tc, *hs.validator_config());
        let acks = run(&mut validator, direct).unwrap_or_default();
        match &acks[..] {
            [ack] if ack.is_valid() => {
                watcher.watch(&validator, ack).unwrap();
                first.push((tc, ack.anchor().and_then(|a| a.block_hash).unwrap()));
            }
            _ => row
                .violations
                .push(format!("no valid ACK before the reorg: {acks:?}")),
        }
    }
    let reverted = direct.request(&RpcRequest::revert_to(&snapshot)).unwrap();
    assert_eq!(reverted, json!(true), "evm_revert");
    let deadline = SystemClock.now().saturating_add_ms(120_000);
    let mut outbox = MemoryOutbox::default();
    let report = watch_durably(
        &mut watcher,
        &mut outbox,
        direct,
        &mut SystemClock,
        &Until::deadline(deadline),
    )
    .unwrap();
    if !watcher.is_empty() {
        row.violations
            .push(format!("{} anchors never final", watcher.len()));
    }
    for (tc, old_block) in &first {
        let vanished = report
            .events
            .iter()
            .any(|e| matches!(e, WatchEvent::Vanished { key, .. } if *key == tc.ti_id));
        let resent: Vec<&Ack> = report
            .resent
            .iter()
            .filter(|a| a.ti_id == tc.ti_id)
            .collect();
        let final_tx = report.events.iter().find_map(|e| match e {
            WatchEvent::Final { key, anchor, .. } if *key == tc.ti_id => anchor.map(|a| a.tx_hash),
            _ => None,
        });
        row.reruns += usize::from(vanished);
        match &resent[..] {
            [ack]
                if ack.is_valid()
                    && ack.record_hash == Some(tc.record_hash)
                    && ack.anchor().and_then(|a| a.block_hash) != Some(*old_block)
                    && final_tx == ack.anchor().and_then(|a| a.tx_hash) =>
            {
                row.valid += 1;
            }
            _ => row.violations.push(format!(
                "TI {}: vanished {vanished}, resent {resent:?}, final in {final_tx:?}",
                tc.ti_id
            )),
        }
        if !anchored(direct, tc) {
            row.violations
                .push(format!("TI {}: not anchored after the resend", tc.ti_id));
        }
    }
    row
}

/// A TC sent and left pending, then dropped by the node (Hardhat:
/// `hardhat_dropTransaction`; Ganache: replaced by another transaction with
/// its nonce): the validator resends the same TC and ends valid.
fn dropped_pending(
    hs: &Handshaker<InMemoryKeyStore>,
    direct: &mut RpcTransport,
    rng: &mut ChaCha20Rng,
    node: &str,
) -> Row {
    let mut row = Row::default();
    let hardhat = node.to_ascii_lowercase().contains("hardhat");
    let (stop, start) = if hardhat {
        (
            RpcRequest::set_automine(false),
            RpcRequest::set_automine(true),
        )
    } else {
        (RpcRequest::miner(false), RpcRequest::miner(true))
    };
    for n in 0..2 {
        row.tis += 1;
        let tc = fresh_tc(hs, rng, n);
        let mut validator = TransactionValidator::new(&tc, *hs.validator_config());
        let mut outbox = MemoryOutbox::default();
        direct.request(&stop).unwrap();
        // Up to the first submission: the TC is pending.
        up_to_the_first_submission(&mut validator, &mut outbox, direct);
        let mut clock = SystemClock;
        let pending = validator.tx_hashes()[0];
        let dropped = if hardhat {
            direct.request(&RpcRequest::drop_transaction(&pending))
        } else {
            replace(direct, &pending)
        };
        direct.request(&start).unwrap();
        if let Err(e) = dropped {
            row.violations
                .push(format!("the node did not drop {pending}: {e}"));
            continue;
        }
        // Bounded: a run left pending is a violation below, not a hang.
        let until = Until::deadline(clock.now().saturating_add_ms(PER_TI_MS));
        let acks = run_durably(&mut validator, &mut outbox, direct, &mut clock, &until)
            .unwrap()
            .acked()
            .unwrap_or_default();
        // Sent again (the same signed transaction when the node gives the
        // sender the dropped one's nonce again), then valid.
        let resent = validator.tx_hashes().len() >= 2;
        match &acks[..] {
            [ack] if ack.is_valid() && resent && anchored(direct, &tc) => {
                row.valid += 1;
                row.reruns += validator.tx_hashes().len() - 1;
            }
            _ => row.violations.push(format!(
                "TI {}: {acks:?} (sent {:?})",
                tc.ti_id,
                validator.tx_hashes()
            )),
        }
    }
    row
}

/// Replaces the pending transaction `tx` by a 0-value transfer from its
/// sender to itself with its nonce and twice its fees: the mempool drops
/// `tx`.
fn replace(
    direct: &mut RpcTransport,
    tx: &TxHash,
) -> Result<serde_json::Value, ehrchain_core::TransportError> {
    let pending = direct.request(&RpcRequest::transaction(tx))?;
    let from = pending["from"].clone();
    let mut replacement = json!({
        "from": from, "to": from, "value": "0x0", "gas": "0x5208", "nonce": pending["nonce"],
    });
    for fee in ["maxFeePerGas", "maxPriorityFeePerGas", "gasPrice"] {
        let Some(value) = pending[fee].as_str() else {
            continue;
        };
        let doubled = u128::from_str_radix(value.trim_start_matches("0x"), 16).unwrap_or(0) * 2;
        replacement[fee] = json!(format!("{:#x}", doubled.max(2_000_000_000)));
    }
    if replacement.get("maxFeePerGas").is_some() {
        // An EIP-1559 replacement: the legacy price would conflict.
        replacement.as_object_mut().map(|r| r.remove("gasPrice"));
    }
    direct.request(&RpcRequest::other("eth_sendTransaction", vec![replacement]))
}

#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn every_fault_keeps_one_ack_per_ti_and_nothing_lost() {
    let mut admin_transport = RpcTransport::connect(&url(), RpcConfig::new(1337)).unwrap();
    let senders = accounts(&admin_transport);
    let version = admin_transport
        .request(&RpcRequest::client_version())
        .unwrap();
    let node = version.as_str().unwrap_or_default();
    let [admin, relayer, doctor] = senders;
    let deployment = Deployment {
        admin,
        grants: vec![
            ("handshaker".to_owned(), relayer),
            (Role::DOCTOR.to_owned(), doctor),
        ],
    };
    let signer = admin_transport.add_local_key(burst_key());
    common::funding::fund(&mut admin_transport, admin, signer);
    let mut deployment = deployment;
    deployment.grants.push((Role::NURSE.to_owned(), signer));
    let registry = deploy_registry(&mut admin_transport, &deployment, &built_ins()).unwrap();
    let started = Instant::now();
    eprintln!("fault (on {node})         TIs  valid  invalid  reruns  violations  seconds");
    let mut all = Vec::new();
    for (i, fault) in FAULTS.iter().enumerate() {
        let at = Instant::now();
        let row = check_fault(fault, 0xfa17 + i as u64, registry, senders);
        report(&format!("proxy-{fault}"), node, &row, at);
        all.extend(row.violations.into_iter().map(|v| format!("{fault}: {v}")));
    }
    let hs = handshaker(registry);
    let mut direct = through(&url(), registry, senders, Duration::from_secs(30));
    let mut rng = ChaCha20Rng::seed_from_u64(0xacc0);
    let scenarios: [(&str, Scenario); 2] = [
        ("reorg-after-the-ack", reorg_after_the_ack),
        ("dropped-pending", dropped_pending),
    ];
    for (name, scenario) in scenarios {
        let at = Instant::now();
        let row = scenario(&hs, &mut direct, &mut rng, node);
        report(&format!("proxy-{name}"), node, &row, at);
        all.extend(row.violations.into_iter().map(|v| format!("{name}: {v}")));
    }
    eprintln!("faults: {:.1} s", started.elapsed().as_secs_f64());
    for (seed, fault) in [(0xb0057, "drop-answer"), (0xb0058, "refuse")] {
        let at = Instant::now();
        let row = burst_from_a_local_key(fault, seed, registry, senders);
        report(&format!("proxy-burst-{fault}"), node, &row, at);
        all.extend(
            row.violations
                .into_iter()
                .map(|v| format!("burst {fault}: {v}")),
        );
    }
    assert!(all.is_empty(), "{all:#?}");
    black_holed_node_costs_at_most_the_deadline_and_resume_ends_valid(registry, senders, node);
}

/// The key that signs the nurses' TIs of the burst itself.
fn burst_key() -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&alloy_primitives::keccak256("ehrchain faults: burst nurse"))
        .unwrap()
}

/// TIs in one burst from one locally signing account.
const BURST: usize = 8;

/// `BURST` nurse TIs (fresh TI ids from `seed`), all in flight at once
/// (interleaved: each validator's due actions in turn, each with its outbox),
/// through a proxy that spoils a third of the requests with `fault`, from the locally signing
/// [`burst_key`]: every TI valid within [`PER_TI_MS`], its record held.
fn burst_from_a_local_key(fault: &str, seed: u64, registry: Address, senders: [Address; 3]) -> Row {
    let proxy = Proxy::start(&url(), fault, 0.3, seed, 1);
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
                hs.validator_for(&ti, SystemClock.now(), &mut rng).unwrap(),
                MemoryOutbox::default(),
            )
        })
        .collect();
    let give_up = SystemClock.now().saturating_add_ms(PER_TI_MS);
    let mut acks: Vec<Vec<Ack>> = vec![Vec::new(); BURST];
    let mut runs = vec![ValidatorRun::new(None, true); BURST];
    // Until every run handed its verdict out (stored first).
    let mut acked = [false; BURST];
    while SystemClock.now() < give_up && acked.contains(&false) {
        let now = SystemClock.now();
        let each = validators.iter_mut().zip(&mut runs).zip(&mut acks);
        for ((((v, outbox), run), acks), acked) in each.zip(&mut acked) {
            match run.perform_due(v, outbox, &mut faulty, now, false).unwrap() {
                RunStep::Acked { acks: verdict } => {
                    *acked = true;
                    acks.extend(verdict);
                }
                RunStep::Pending { stopped } => panic!("stopped without a limit: {stopped}"),
                _ => {}
            }
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
/// sends from the node's accounts). Its row (`proxy-blackhole-deadline`) is
/// written once every check passed: a failed check leaves no row, which the
/// fault table reports.
fn black_holed_node_costs_at_most_the_deadline_and_resume_ends_valid(
    registry: Address,
    senders: [Address; 3],
    node: &str,
) {
    let at = Instant::now();
    // Every request after the transport's connection check is read and
    // never answered.
    let proxy = Proxy::start(&url(), "blackhole", 1.0, 7, 1);
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
    let row = Row {
        tis: 1,
        valid: 1,
        ..Row::default()
    };
    report("proxy-blackhole-deadline", node, &row, at);
}

/// A development node this test starts itself on `port`: Ganache keeping
/// its chain in `db` (`--database.dbPath`), or Hardhat (which keeps none).
struct OwnNode {
    child: Child,
}

impl OwnNode {
    fn start(hardhat: bool, port: u16, db: &std::path::Path) -> Self {
        let scripts = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts");
        let port = port.to_string();
        let mut command = Command::new("node");
        if hardhat {
            command
                .current_dir(format!("{scripts}/hardhat"))
                .env("HARDHAT_INTERVAL_MS", "0")
                .args(["node_modules/hardhat/internal/cli/cli.js", "node"])
                .args(["--hostname", "127.0.0.1", "--port", &port]);
        } else {
            command
                .arg(format!(
                    "{scripts}/ganache/node_modules/ganache/dist/node/cli.js"
                ))
                .args(["--server.host", "127.0.0.1", "--server.port", &port])
                .args(["--chain.chainId", "1337", "--chain.hardfork", "shanghai"])
                .args(["--wallet.deterministic", "--logging.quiet"])
                .args(["--miner.blockGasLimit", "30000000"])
                .args(["--miner.defaultTransactionGasLimit", "5000000"])
                .arg("--database.dbPath")
                .arg(db);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts the development node");
        Self { child }
    }

    /// A transport to the node once it answers (60 s at most).
    fn connect(url: &str) -> RpcTransport {
        let at = Instant::now();
        loop {
            if let Ok(t) = RpcTransport::connect(url, RpcConfig::new(1337))
                && t.accounts().is_ok()
            {
                return t;
            }
            assert!(
                at.elapsed() < Duration::from_secs(60),
                "{url} never answered"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for OwnNode {
    fn drop(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

/// The node process killed (SIGKILL) and started again on the same port
/// while TCs are in flight (sent, not yet confirmed), on a node this test
/// starts itself (`EHRCHAIN_RESTART_NODE`: `ganache` or `hardhat`).
/// Ganache keeps its chain (`--database.dbPath`): every TI ends in exactly
/// one valid ACK whose record the registry holds, anchored once. Hardhat
/// loses its chain and the registry with it: what the test shows there is
/// that no TI is ACKed valid without an anchor (each ends in one invalid
/// ACK, kept for audit, and may be rerun once the registry is deployed
/// again).
#[test]
#[ignore = "starts its own node: EHRCHAIN_RESTART_NODE=ganache|hardhat (scripts/ganache-e2e.sh, scripts/hardhat-e2e.sh)"]
fn a_node_restart_keeps_one_ack_per_ti_and_no_valid_ack_without_an_anchor() {
    let kind = std::env::var("EHRCHAIN_RESTART_NODE").expect("EHRCHAIN_RESTART_NODE");
    let hardhat = kind == "hardhat";
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let db = std::env::temp_dir().join(format!("ehrchain-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&db);
    let mut node = OwnNode::start(hardhat, port, &db);
    let mut admin = OwnNode::connect(&url);
    let senders = accounts(&admin);
    let deployment = Deployment {
        admin: senders[0],
        grants: vec![
            ("handshaker".to_owned(), senders[1]),
            (Role::DOCTOR.to_owned(), senders[2]),
        ],
    };
    let registry = deploy_registry(&mut admin, &deployment, &built_ins()).unwrap();
    let hs = handshaker(registry);
    let mut rng = ChaCha20Rng::seed_from_u64(0x5e57);
    let mut row = Row::default();
    let at = Instant::now();
    for n in 0..3 {
        row.tis += 1;
        let tc = fresh_tc(&hs, &mut rng, n);
        let mut validator = TransactionValidator::new(&tc, *hs.validator_config());
        let mut outbox = MemoryOutbox::default();
        let mut chain = through(&url, registry, senders, Duration::from_secs(5));
        up_to_the_first_submission(&mut validator, &mut outbox, &mut chain);
        let mut clock = SystemClock;
        // Killed and started again while the TC is in flight.
        drop(node);
        node = OwnNode::start(hardhat, port, &db);
        let _ = OwnNode::connect(&url);
        // Bounded: a run left pending is a violation below, not a hang.
        let until = Until::deadline(clock.now().saturating_add_ms(PER_TI_MS));
        let acks = run_durably(&mut validator, &mut outbox, &mut chain, &mut clock, &until)
            .unwrap()
            .acked()
            .unwrap_or_default();
        let held = (0..5)
            .find_map(|_| chain.record_hash_of(&tc.ti_id).ok())
            .flatten();
        match &acks[..] {
            [ack] if ack.is_valid() && held == Some(tc.record_hash) => row.valid += 1,
            [ack] if !ack.is_valid() && hardhat && held.is_none() => row.invalid += 1,
            _ => row.violations.push(format!(
                "TI {}: {acks:?}, registry holds {held:?}",
                tc.ti_id
            )),
        }
    }
    drop(node);
    let _ = std::fs::remove_dir_all(&db);
    report("proxy-node-restart", &kind, &row, at);
    assert!(row.violations.is_empty(), "{:#?}", row.violations);
}
