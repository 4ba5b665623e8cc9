//! One row of the fault table `make test` prints (`make fault-report`,
//! scripts/fault-report/table.sh): the fault tests include this file
//! (`#[path = …] mod fault_report;`) and write each scenario's row to
//! `target/fault-report/<scenario>--<node>.tsv` as
//! `scenario<TAB>node<TAB>runs<TAB>violations`.

use std::path::PathBuf;

/// Writes the row of `scenario` on `node`: `sim` for the deterministic
/// simulation, or a node's `web3_clientVersion` (`Ganache/v7.9.2/…`,
/// `HardhatNetwork/2.29.…`: the row says `ganache`, `hardhat`); `runs`
/// runs, `violations` broken invariants.
pub(crate) fn write_row(scenario: &str, node: &str, runs: u64, violations: u64) {
    let lower = node.to_ascii_lowercase();
    let node = ["ganache", "hardhat", "sim"]
        .into_iter()
        .find(|name| lower.contains(name))
        .unwrap_or("node");
    let dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let dir = dir.join("fault-report");
    let file = dir.join(format!("{scenario}--{node}.tsv"));
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::write(&file, format!("{scenario}\t{node}\t{runs}\t{violations}\n"))
    });
    written
        .map_err(|e| format!("cannot write {}: {e}", file.display()))
        .unwrap();
}
