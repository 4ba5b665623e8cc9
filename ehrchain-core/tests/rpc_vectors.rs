//! `docs/vectors/rpc.json`: every JSON-RPC answer there (captured from
//! Ganache 7.9.2 and Hardhat 2.29.1, or documented for Geth, Anvil, Besu and
//! MetaMask) is classified by `ehrchain_core::rpc` as the vector expects.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ehrchain_core::rpc::{self, Revert};
use ehrchain_core::{B256, Bytes, TransportError, TxHash};
use serde_json::Value;

fn vectors() -> Value {
    let text = include_str!("../../docs/vectors/rpc.json");
    serde_json::from_str(text).unwrap()
}

fn body(answer: &Value) -> Vec<u8> {
    match answer {
        Value::String(raw) => raw.as_bytes().to_vec(),
        other => other.to_string().into_bytes(),
    }
}

#[test]
fn every_answer_is_classified_as_the_vector_says() {
    let vectors = vectors();
    let chain = vectors["chainId"].as_u64().unwrap();
    let answers = vectors["answers"].as_array().unwrap();
    assert!(answers.len() >= 30, "{} vectors", answers.len());
    for v in answers {
        let name = format!("{} / {}", v["node"], v["name"]);
        let outcome = if v["providerError"] == true {
            Err(rpc::classify_error(&v["answer"], chain))
        } else {
            let status = u16::try_from(v["httpStatus"].as_u64().unwrap()).unwrap();
            rpc::classify_http(status, &body(&v["answer"]), chain)
        };
        let expect = &v["expect"];
        match (expect["kind"].as_str().unwrap(), &outcome) {
            ("result", Ok(result)) => {
                if let Some(want) = expect.get("result") {
                    assert_eq!(result, want, "{name}");
                }
                if let Some(want) = expect.get("receipt") {
                    let hash = TxHash(result["transactionHash"].as_str().unwrap().parse().unwrap());
                    let receipt = rpc::receipt(result, &hash, None).unwrap().unwrap();
                    assert_eq!(receipt.status, want["status"].as_bool().unwrap(), "{name}");
                    assert_eq!(
                        receipt.block_number,
                        want["blockNumber"].as_u64().unwrap(),
                        "{name}"
                    );
                    let data = want["revertData"]
                        .as_str()
                        .map(|d| d.parse::<Bytes>().unwrap());
                    assert_eq!(receipt.revert_data, data, "{name}");
                }
            }
            ("reverted", Err(TransportError::Reverted(Revert { data, tx_hash, .. }))) => {
                let want: Bytes = expect["data"].as_str().unwrap().parse().unwrap();
                assert_eq!(data, &want, "{name}");
                let want_hash = expect["txHash"]
                    .as_str()
                    .map(|h| TxHash(h.parse::<B256>().unwrap()));
                assert_eq!(tx_hash, &want_hash, "{name}");
            }
            (kind, Err(e)) if e.name() == kind => {
                if kind == "wrong_chain" {
                    assert_eq!(
                        e,
                        &TransportError::WrongChain {
                            expected: chain,
                            actual: None
                        }
                    );
                }
            }
            (kind, other) => panic!("{name}: expected {kind}, got {other:?}"),
        }
    }
}

#[test]
fn a_captured_registry_revert_decodes_to_the_named_error() {
    // Hardhat's answer to a mined `grantRole` from an account without the
    // admin role: the custom error, its account and role, and the mined hash.
    let vectors = vectors();
    let v = vectors["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["node"] == "hardhat 2.29.1" && v["name"] == "send mined revert")
        .unwrap();
    let Err(TransportError::Reverted(revert)) = rpc::classify_response(&v["answer"], 1337) else {
        panic!("not a revert");
    };
    assert_eq!(
        revert.to_string(),
        "transaction 0xaef1350e99862f98367ee47e164cdee6f4fd69dcccee8419f3052f5b5bfbf559 reverted: \
         AccessControlUnauthorizedAccount: account 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 does not hold role \
         0x0000000000000000000000000000000000000000000000000000000000000000 (DEFAULT_ADMIN_ROLE) on chain; an administrator must grant it (grantRole)"
    );
    assert_eq!(
        revert.decoded().error.as_deref(),
        Some("AccessControlUnauthorizedAccount")
    );
}

#[test]
fn chain_ids_and_replays_are_read_through_the_policy() {
    assert_eq!(rpc::check_chain_id(&Value::from("0x539"), 1337), Ok(()));
    assert_eq!(
        rpc::check_chain_id(&Value::from("0x7a69"), 1337),
        Err(TransportError::WrongChain {
            expected: 1337,
            actual: Some(31337)
        })
    );
    let down = TransportError::Unavailable("connection refused".into());
    assert_eq!(rpc::replay_outcome(Err(down.clone())), Err(down));
    assert_eq!(rpc::replay_outcome(Ok(Value::from("0x"))), Ok(Bytes::new()));
}
