//! Several gateways on one chain: four `gateway` processes, each with its own
//! sending account and its own pipeline, anchor bedside-monitor readings
//! into one registry at once without coordinating; every reading of every
//! gateway ends in exactly one valid ACK. The first two keep a SQLite
//! outbox (committed by a storage thread beside the pipeline); afterwards
//! their databases hold every record and no outbox entry. The last one's
//! pipeline holds at most [`SMALL_BOUND`] TIs, fewer than its producer
//! offers over an ACK's latency: it is told busy, offers those TIs again,
//! and loses none.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

#[allow(dead_code)]
#[path = "../common/store.rs"]
mod store;

const GATEWAYS: usize = 4;
const SECONDS: u64 = 3;
const RATE: u64 = 100;
/// How many of the gateways keep a SQLite outbox.
const DURABLE: usize = 2;
/// The last gateway's pipeline bound: a producer faster than the chain.
const SMALL_BOUND: usize = 50;

fn gateway() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gateway"))
}

#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn four_gateways_anchor_into_one_registry_without_coordinating() {
    let url = std::env::var("EHRCHAIN_RPC_URL").expect("EHRCHAIN_RPC_URL");
    // A node that mines on its own (`EHRCHAIN_RPC_INTERVAL_MINING=1`) makes
    // the confirmations; an automining one is asked for a block at every
    // head read, as in contracts/tests/rpc_end_to_end.rs.
    let interval = std::env::var("EHRCHAIN_RPC_INTERVAL_MINING").is_ok_and(|v| v == "1");
    let deployed = gateway()
        .args(["deploy", &url, &GATEWAYS.to_string()])
        .output()
        .unwrap();
    assert!(deployed.status.success(), "{deployed:?}");
    // The registry on the first line (the device template's id follows).
    let printed = String::from_utf8(deployed.stdout).unwrap();
    let registry = printed.lines().next().unwrap().to_owned();
    let databases: Vec<Option<PathBuf>> = (1..=GATEWAYS)
        .map(|account| {
            (account <= DURABLE).then(|| {
                let name = format!("gateway-{}-{account}.sqlite", std::process::id());
                std::env::temp_dir().join(name)
            })
        })
        .collect();
    let children: Vec<_> = (1..=GATEWAYS)
        .zip(&databases)
        .map(|(account, db)| {
            let mut run = gateway();
            run.args(["run", &url, &registry, &account.to_string()]);
            run.args([SECONDS.to_string(), RATE.to_string()]);
            run.arg("bulk");
            match db {
                Some(path) => run.arg(path),
                None => run.arg("none"),
            };
            if !interval {
                run.arg("mine-on-head");
            }
            if account == GATEWAYS {
                run.arg(format!("max-pending={SMALL_BOUND}"));
            }
            run.stdout(Stdio::piped()).stderr(Stdio::piped());
            run.spawn().unwrap()
        })
        .collect();
    let mut total = 0;
    for (account, (child, db)) in (1..=GATEWAYS).zip(children.into_iter().zip(&databases)) {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        eprintln!("{report}");
        let tis = report["tis"].as_u64().unwrap();
        assert_eq!(tis, SECONDS * RATE, "{report}");
        assert_eq!(report["valid"].as_u64(), Some(tis), "{report}");
        assert_eq!(report["invalid"].as_u64(), Some(0), "{report}");
        if account == GATEWAYS {
            assert!(report["busy"].as_u64().unwrap() > 0, "{report}");
        }
        if let Some(path) = db {
            let stored = store::Database::open(path).unwrap();
            // Each TI stored once, and once handed over.
            let tis = i64::try_from(tis).unwrap();
            assert_eq!(stored.record_count().unwrap(), tis);
            assert_eq!(stored.count("records").unwrap(), tis);
            assert_eq!(stored.count("deliveries").unwrap(), tis);
            assert_eq!(stored.count("outbox").unwrap(), 0);
            drop(stored);
            std::fs::remove_file(path).unwrap();
        }
        total += tis;
    }
    assert_eq!(total, SECONDS * RATE * GATEWAYS as u64);
}
