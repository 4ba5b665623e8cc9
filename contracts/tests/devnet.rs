//! The devnet itself: the caller's block clock, deterministic receipts, calls
//! that commit nothing, and each kind of failure.

mod common;

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::SolCall;
use common::{anchor, devnet_with_built_ins, h, role, template};
use ehrchain_contracts::{Devnet, DevnetConfig, DevnetError, EhrRegistry, Failure};

#[test]
fn the_clock_is_the_callers() {
    let config = DevnetConfig::default();
    let mut net = Devnet::new().unwrap();
    assert_eq!(net.block_number(), 1);
    assert_eq!(net.block_timestamp(), config.genesis_time);
    assert_eq!(net.mine(), 2);
    assert_eq!(
        net.block_timestamp(),
        config.genesis_time + config.block_time
    );
    net.set_time(2_000_000_000).unwrap();
    assert_eq!(
        net.set_time(1_999_999_999),
        Err(DevnetError::TimeWentBackwards {
            now: 2_000_000_000,
            requested: 1_999_999_999
        })
    );
    let call = EhrRegistry::anchorBatchCall {
        root: h(1),
        leafCount: 1,
        batchId: h(2),
    };
    let receipt = net.send(Devnet::handshaker(), &call).unwrap();
    assert_eq!(
        (receipt.block_number, receipt.block_timestamp),
        (2, 2_000_000_000)
    );
    let batch = net.view(&EhrRegistry::batchOfCall { root: h(1) }).unwrap();
    assert_eq!(batch.anchoredAt, 2_000_000_000);
}

#[test]
fn receipts_are_deterministic() {
    let run = || {
        let (mut net, templates) = devnet_with_built_ins();
        let id = template(&templates, "blood-pressure").id();
        let call = anchor(h(1), id, h(2), h(3), role("doctor"));
        let first = net.send(Devnet::doctor(), &call).unwrap();
        let second = net.send(Devnet::doctor(), &call).unwrap();
        (net.registry(), first, second)
    };
    let (registry, first, second) = run();
    assert_eq!(run(), (registry, first.clone(), second.clone()));
    // A reverted transaction still uses its nonce, so its hash is new.
    assert!(!second.status());
    assert_ne!(first.tx_hash, second.tx_hash);
    assert_eq!(first.from, Devnet::doctor());
    assert_eq!(first.to, Some(registry));
}

#[test]
fn calls_commit_nothing_and_transactions_use_nonces() {
    let (mut net, templates) = devnet_with_built_ins();
    let id = template(&templates, "blood-pressure").id();
    let call = anchor(h(1), id, h(2), h(3), role("doctor"));
    let nonce = net.nonce(Devnet::doctor());
    let simulated = net
        .call(Devnet::doctor(), net.registry(), call.abi_encode().into())
        .unwrap();
    assert!(simulated.status());
    assert_eq!(net.nonce(Devnet::doctor()), nonce);
    assert_eq!(
        net.view(&EhrRegistry::recordHashOfCall { tiId: h(2) })
            .unwrap(),
        alloy_primitives::B256::ZERO
    );
    let sent = net.send(Devnet::doctor(), &call).unwrap();
    assert_eq!(sent.gas_used, simulated.gas_used);
    assert_eq!(net.nonce(Devnet::doctor()), nonce + 1);
}

#[test]
fn accounts_are_named_and_funded() {
    let net = Devnet::new().unwrap();
    assert_eq!(Devnet::account("doctor"), Devnet::doctor());
    assert_ne!(Devnet::doctor(), Devnet::nurse());
    let ether = U256::from(10u64).pow(U256::from(18u64));
    assert_eq!(net.balance(Devnet::nurse()), U256::from(10_000u64) * ether);
    let mut net = net;
    let stranger = Devnet::account("stranger");
    assert_eq!(net.balance(stranger), U256::ZERO);
    net.fund(stranger, ether);
    assert_eq!(net.balance(stranger), ether);
    // Fees are zero: an unfunded account can send too.
    let call = EhrRegistry::grantRoleCall {
        role: role("doctor"),
        account: stranger,
    };
    assert!(
        net.send(Devnet::account("penniless"), &call)
            .unwrap()
            .registry_error()
            .is_some()
    );
}

#[test]
fn undecodable_reverts_and_halts_are_reported() {
    let mut net = Devnet::new().unwrap();
    // No function has this selector and the registry has no fallback.
    let receipt = net
        .execute(
            Devnet::doctor(),
            net.registry(),
            Bytes::from_static(&[1, 2, 3, 4]),
        )
        .unwrap();
    assert_eq!(receipt.failure, Some(Failure::RevertedRaw(Bytes::new())));

    // Too little gas to deploy the registry: the deployment halts.
    let config = DevnetConfig {
        gas_limit: 200_000,
        ..DevnetConfig::default()
    };
    match Devnet::with_config(config) {
        Err(DevnetError::Failed { what, receipt }) => {
            assert_eq!(what, "deploying EhrRegistry");
            assert!(matches!(receipt.failure, Some(Failure::Halted(_))));
            assert_eq!(receipt.gas_used, 200_000);
        }
        other => panic!("expected a failed deployment, got {other:?}"),
    }
    // Less gas than the intrinsic cost (21,000 plus the creation code): the EVM
    // rejects the transaction.
    let config = DevnetConfig {
        gas_limit: 100_000,
        ..DevnetConfig::default()
    };
    assert!(matches!(
        Devnet::with_config(config),
        Err(DevnetError::Rejected(_))
    ));
}

#[test]
fn a_transfer_to_an_account_without_code_succeeds() {
    let mut net = Devnet::new().unwrap();
    let receipt = net
        .execute(Devnet::admin(), Address::repeat_byte(7), Bytes::new())
        .unwrap();
    assert!(receipt.status());
    assert_eq!(receipt.gas_used, 21_000);
    assert_eq!(receipt.intrinsic_gas, 21_000);
    assert_eq!(receipt.execution_gas(), 0);
}
