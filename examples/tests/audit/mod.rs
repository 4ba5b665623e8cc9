//! The chain's side of "none anchored twice, none lost" for the pipeline
//! tests: every `RecordAnchored` and `BatchAnchored` event of a registry
//! (read with `eth_getLogs`) held against the ACKs the host got.

use std::collections::{HashMap, HashSet};

use alloy_primitives::{U256, keccak256};
use ehrchain_contracts::RpcTransport;
use ehrchain_core::rpc::RpcRequest;
use ehrchain_core::{Ack, Address, B256};
use serde_json::{Value, json};

/// What the registry's events say was anchored.
#[derive(Debug, Default)]
struct Anchored {
    /// Each single record's TI id and the record hashes anchored under it.
    singles: HashMap<B256, Vec<B256>>,
    /// Each batch root and the leaf counts anchored under it.
    batches: HashMap<B256, Vec<u32>>,
}

fn word(value: &Value) -> B256 {
    value.as_str().unwrap().parse().unwrap()
}

/// Every anchoring event of `registry` from block 0 (straight from the
/// node, retried: a busy node may drop a connection).
fn anchored(chain: &RpcTransport, registry: Address) -> Anchored {
    let record =
        keccak256("RecordAnchored(bytes32,bytes32,bytes32,bytes32,bytes32,address,uint64)");
    let batch = keccak256("BatchAnchored(bytes32,bytes32,uint32)");
    let filter = json!({"address": registry, "fromBlock": "0x0", "toBlock": "latest"});
    let logs = (0..5)
        .find_map(|_| {
            chain
                .request(&RpcRequest::other("eth_getLogs", vec![filter.clone()]))
                .ok()
        })
        .expect("the node answers eth_getLogs");
    let mut anchored = Anchored::default();
    for log in logs.as_array().unwrap() {
        if log["removed"].as_bool() == Some(true) {
            continue;
        }
        let topic = |i: usize| word(log["topics"].get(i).unwrap());
        let data = log["data"].as_str().unwrap().trim_start_matches("0x");
        let first_word: B256 = format!("0x{}", data.get(..64).unwrap_or_default())
            .parse()
            .unwrap_or_default();
        if topic(0) == record {
            anchored
                .singles
                .entry(topic(1))
                .or_default()
                .push(first_word);
        } else if topic(0) == batch {
            let leaf_count = u32::try_from(U256::from_be_bytes(first_word.0)).unwrap();
            anchored
                .batches
                .entry(topic(1))
                .or_default()
                .push(leaf_count);
        }
    }
    anchored
}

/// Holds `acks` (the host's, for the TIs `tis`) against what `registry`'s
/// events say: each TI exactly one ACK, valid; a single record's ACK names
/// the one `RecordAnchored` of its TI id with its record hash; a batched
/// record's ACK names a root anchored once, whose leaf count is the number
/// of ACKs naming it, and its TI id has no single anchor; and nothing is
/// anchored that no ACK names. Returns the violations, and how many records
/// were anchored alone and in how many batches.
pub(crate) fn violations(
    chain: &RpcTransport,
    registry: Address,
    tis: &HashSet<B256>,
    acks: &[Ack],
) -> (Vec<String>, usize, usize) {
    let chain = anchored(chain, registry);
    let mut violations = Vec::new();
    let mut per_ti: HashMap<B256, usize> = HashMap::new();
    let mut per_root: HashMap<B256, u32> = HashMap::new();
    let mut singles = 0;
    for ack in acks {
        *per_ti.entry(ack.ti_id).or_default() += 1;
        let Some(anchor) = ack.anchor() else {
            violations.push(format!("TI {}: invalid ACK {:?}", ack.ti_id, ack.reason()));
            continue;
        };
        let single = chain.singles.get(&ack.ti_id);
        match &anchor.batch {
            Some(proof) => {
                *per_root.entry(proof.root).or_default() += 1;
                if single.is_some() {
                    violations.push(format!("TI {}: batched and anchored alone", ack.ti_id));
                }
            }
            None => {
                singles += 1;
                if single.map(Vec::as_slice) != ack.record_hash.as_ref().map(std::slice::from_ref) {
                    violations.push(format!(
                        "TI {}: the ACK says {:?}, the chain holds {single:?}",
                        ack.ti_id, ack.record_hash
                    ));
                }
            }
        }
    }
    for ti in tis {
        match per_ti.get(ti) {
            Some(1) => {}
            n => violations.push(format!("TI {ti}: {} ACKs", n.unwrap_or(&0))),
        }
    }
    if let Some(stray) = per_ti.keys().find(|ti| !tis.contains(*ti)) {
        violations.push(format!("an ACK for TI {stray}, which no one pushed"));
    }
    for (root, counts) in &chain.batches {
        let acked = per_root.get(root).copied().unwrap_or(0);
        if counts[..] != [acked] {
            violations.push(format!(
                "batch {root}: anchored with leaf counts {counts:?}, {acked} ACKs name it"
            ));
        }
    }
    for root in per_root.keys().filter(|r| !chain.batches.contains_key(*r)) {
        violations.push(format!("batch {root}: ACKed, never anchored"));
    }
    for ti in chain.singles.keys().filter(|ti| !per_ti.contains_key(*ti)) {
        violations.push(format!("TI {ti}: anchored, no ACK"));
    }
    (violations, singles, chain.batches.len())
}
