//! The C ABI over a JSON-RPC node: an administrator deploys a registry,
//! registers a template and grants roles (`ehr_transport_rpc_deploy_registry`,
//! `ehr_transport_rpc_register_template`, `ehr_transport_rpc_grant_role`), then
//! a nurse's blood-pressure TI goes through `ehr_transport_new_rpc` to a valid
//! ACK whose record hash the registry holds, signed here as an EIP-1559
//! transaction (`ehr_transport_rpc_set_fees`). The consent contract's own
//! part goes through the C ABI over the same kind of transport
//! (`common/consent.rs`: `ehr_transport_deploy_consent`, the patient bound,
//! the recipient's key published, a grant signed by the patient's key and
//! relayed, one signed by another key refused). Needs a node (Ganache 7.9.2,
//! chain 1337, ten unlocked accounts) in `EHRCHAIN_RPC_URL`;
//! `scripts/ganache-e2e.sh` runs it after the contracts suite.
#![cfg(feature = "rpc")]
#![allow(
    missing_docs,
    unsafe_code,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[path = "common/consent.rs"]
mod consent;
#[path = "../../contracts/tests/common/funding.rs"]
mod funding;
#[path = "../../ehrchain-core/tests/common/test_keys.rs"]
mod test_keys;

use std::ptr::null_mut;
use std::sync::{Mutex, MutexGuard, PoisonError};

use alloy_primitives::{U256, keccak256};
use common::{ok, text, ti_new};
use ehrchain_contracts::{EhrRegistry, PrivateKeySigner, RpcConfig, RpcTransport};
use ehrchain_core::rpc::RpcRequest;
use ehrchain_core::{Address, B256, ErrorCode, TxHash};
use ehrchain_ffi::*;

/// The tests send from the same unlocked accounts: one at a time (two at
/// once had a deployment revert on Ganache).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A test's hold on the node (`ONE_AT_A_TIME`).
type Turn = MutexGuard<'static, ()>;

/// Waits for this test's turn on the node (one test at a time), then
/// connects: the turn (held to the end of the test), the node's URL
/// (`EHRCHAIN_RPC_URL`), its chain id (`EHRCHAIN_RPC_CHAIN_ID`, 1337 when
/// unset), a Rust client and the node's unlocked accounts.
fn node() -> (Turn, String, u64, RpcTransport, Vec<Address>) {
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let url = std::env::var("EHRCHAIN_RPC_URL").unwrap();
    let chain_id = std::env::var("EHRCHAIN_RPC_CHAIN_ID").map_or(1337, |id| id.parse().unwrap());
    let rpc = RpcTransport::connect(&url, RpcConfig::new(chain_id)).unwrap();
    let accounts = rpc.accounts().unwrap();
    (turn, url, chain_id, rpc, accounts)
}

/// A C JSON-RPC transport to `url` with no registry yet (the caller frees
/// it).
fn rpc_transport(url: &str, chain_id: u64) -> *mut ehr_transport {
    let mut t = null_mut();
    let (u, ul) = text(url);
    // SAFETY: the URL is its length; the registry 20 bytes; `t` writable.
    ok(unsafe { ehr_transport_new_rpc(u, ul, chain_id, [0u8; 20].as_ptr(), 30_000, &raw mut t) });
    t
}

/// `admin` deploys a registry over `t` through the C ABI; its address.
fn deploy_registry(t: *mut ehr_transport, admin: Address) -> [u8; 20] {
    let mut registry = [0u8; 20];
    // SAFETY: `t` is live; admin holds 20 bytes, registry 20 writable ones.
    ok(unsafe {
        ehr_transport_rpc_deploy_registry(
            t,
            admin.0.0.as_ptr(),
            std::ptr::null(),
            registry.as_mut_ptr(),
        )
    });
    registry
}

#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn a_nurse_reading_through_the_c_abi_over_json_rpc() {
    // The node's unlocked accounts 0 and 5 as administrator and handshaker;
    // the nurse an account the node does not unlock, whose key the C
    // transport signs with (Rust reads the accounts, funds the nurse and
    // reads the registry at the end).
    let (_turn, url, chain_id, mut rpc, accounts) = node();
    assert!(accounts.len() >= 6, "the node needs 6 unlocked accounts");
    let (admin, handshaker) = (accounts[0], accounts[5]);
    let nurse_secret = *keccak256(format!("ehrchain ffi rpc: nurse {}", std::process::id()));
    let nurse = PrivateKeySigner::from_bytes(&B256::from(nurse_secret))
        .unwrap()
        .address();
    assert!(!accounts.contains(&nurse));
    funding::fund(&mut rpc, admin, nurse);

    let registry;
    let (mut c_templates, mut keys, mut hs, mut ti, mut ack) =
        (null_mut(), null_mut(), null_mut(), null_mut(), null_mut());
    let mut summary = ehr_ack_summary::default();
    // SAFETY: every pointer is valid for its stated length; every handle is
    // freed once at the end.
    unsafe {
        // The administrator's part, through the C ABI: no registry yet.
        let t = rpc_transport(&url, chain_id);
        let mut added = [0u8; 20];
        assert_eq!(
            ehr_transport_rpc_add_local_key(t, [0u8; 32].as_ptr(), added.as_mut_ptr()),
            ErrorCode::SignerFailed
        );
        ok(ehr_transport_rpc_add_local_key(
            t,
            nurse_secret.as_ptr(),
            added.as_mut_ptr(),
        ));
        assert_eq!(Address::from(added), nurse);
        ok(ehr_templates_new_builtin(&raw mut c_templates));
        registry = deploy_registry(t, admin);
        let mut bp = [0u8; 32];
        let (name, name_len) = text("blood-pressure");
        ok(ehr_templates_latest(
            c_templates,
            name,
            name_len,
            bp.as_mut_ptr(),
        ));
        ok(ehr_transport_rpc_register_template(
            t,
            admin.0.0.as_ptr(),
            c_templates,
            bp.as_ptr(),
        ));
        // Twice is refused by the registry, with the decoded revert.
        assert_eq!(
            ehr_transport_rpc_register_template(t, admin.0.0.as_ptr(), c_templates, bp.as_ptr()),
            ErrorCode::TransportReverted
        );
        let mut last = vec![0u8; 1024];
        let mut n = 0;
        ok(ehr_last_error(
            last.as_mut_ptr().cast(),
            last.len(),
            &raw mut n,
        ));
        let last = String::from_utf8_lossy(&last[..n]);
        assert!(last.contains("EhrRegistryTemplateExists"), "{last}");
        for (role, account) in [("nurse", nurse), ("handshaker", handshaker)] {
            let (r, rl) = text(role);
            ok(ehr_transport_rpc_grant_role(
                t,
                admin.0.0.as_ptr(),
                r,
                rl,
                account.0.0.as_ptr(),
            ));
        }
        // Only an administrator grants roles.
        let (r, rl) = text("doctor");
        assert_eq!(
            ehr_transport_rpc_grant_role(t, nurse.0.0.as_ptr(), r, rl, nurse.0.0.as_ptr()),
            ErrorCode::TransportReverted
        );

        let (role, role_len) = text("nurse");
        ok(ehr_transport_set_sender(
            t,
            role,
            role_len,
            nurse.0.0.as_ptr(),
        ));
        ok(ehr_transport_rpc_set_default_sender(
            t,
            handshaker.0.0.as_ptr(),
        ));
        ok(ehr_transport_rpc_set_mine_on_head(t, true));
        // The nurse's transaction, signed here, as EIP-1559 (type 2).
        assert_eq!(
            ehr_transport_rpc_set_fees(t, 7, 30),
            ErrorCode::InvalidArgument
        );
        ok(ehr_transport_rpc_set_fees(
            t,
            ehr_fee_mode::EHR_FEES_EIP1559 as u32,
            30,
        ));

        ok(ehr_key_store_new(&raw mut keys));
        for (id, byte) in [("records-2026", 0x11u8), ("pseudonyms", 0x22)] {
            let (p, n) = text(id);
            ok(ehr_key_store_insert(keys, p, n, [byte; 32].as_ptr()));
        }
        let (mut chain, mut address) = (0u64, [0u8; 20]);
        ok(ehr_transport_chain(t, &raw mut chain, address.as_mut_ptr()));
        assert_eq!((chain, address), (chain_id, registry));
        let (mut validator_builder, mut validator) = (null_mut(), null_mut());
        ok(ehr_validator_config_builder_new(&raw mut validator_builder));
        ok(ehr_validator_config_builder_set_confirmations(
            validator_builder,
            2,
        ));
        ok(ehr_validator_config_builder_set_poll_interval_ms(
            validator_builder,
            50,
        ));
        ok(ehr_validator_config_builder_build(
            validator_builder,
            &raw mut validator,
        ));
        let (mut builder, mut config) = (null_mut(), null_mut());
        let (sealing, sealing_len) = text("records-2026");
        let (pseudonyms, pseudonyms_len) = text("pseudonyms");
        ok(ehr_handshaker_config_builder_new(
            chain,
            address.as_ptr(),
            sealing,
            sealing_len,
            pseudonyms,
            pseudonyms_len,
            &raw mut builder,
        ));
        ok(ehr_handshaker_config_builder_set_validator(
            builder, validator,
        ));
        ok(ehr_handshaker_config_builder_build(
            builder,
            &raw mut config,
        ));
        ok(ehr_handshaker_new(c_templates, keys, config, &raw mut hs));
        ehr_handshaker_config_free(config);
        ehr_handshaker_config_builder_free(builder);
        ehr_validator_config_free(validator);
        ehr_validator_config_builder_free(validator_builder);

        let mut ti_id = [0u8; 32];
        ok(ehr_random_id(ti_id.as_mut_ptr()));
        // A TI's timestamp is in Unix seconds; the clock in milliseconds.
        let timestamp = ehr_clock_now_ms() / 1000;
        ok(ti_new(
            &ti_id,
            &bp,
            "nurse-0815",
            "nurse",
            "MRN-000123",
            timestamp,
            &mut ti,
        ));
        for (field, value) in [("systolic", "126"), ("diastolic", "82")] {
            let (f, fl) = text(field);
            let (v, vl) = text(value);
            ok(ehr_ti_set_field(ti, f, fl, v, vl));
        }
        ok(ehr_handshaker_submit(
            hs,
            ti,
            t,
            0,
            std::ptr::null(),
            &raw mut ack,
        ));
        ok(ehr_ack_to_summary(ack, &raw mut summary));
        if !summary.valid {
            let mut buf = vec![0u8; 4096];
            let mut n = 0;
            ehr_ack_reason(ack, buf.as_mut_ptr().cast(), buf.len(), &raw mut n);
            panic!("invalid ACK: {}", String::from_utf8_lossy(&buf[..n]));
        }
        ehr_ack_free(ack);
        ehr_ti_free(ti);
        ehr_handshaker_free(hs);
        ehr_key_store_free(keys);
        ehr_templates_free(c_templates);
        ehr_transport_free(t);
    }
    assert!(summary.has_tx_hash && !summary.replay);
    rpc.set_registry(Address::from(registry));
    let stored = rpc
        .view(&EhrRegistry::recordHashOfCall {
            tiId: B256::from(summary.ti_id),
        })
        .unwrap();
    assert_eq!(stored, B256::from(summary.record_hash));
    let sent = rpc
        .request(&RpcRequest::transaction(&TxHash(B256::from(
            summary.tx_hash,
        ))))
        .unwrap();
    assert_eq!(sent["type"], "0x2", "{sent}");
    assert_eq!(
        sent["from"].as_str().map(str::to_lowercase),
        Some(format!("{nurse:#x}"))
    );
}

#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn the_consent_contract_s_own_part_through_the_c_abi_over_json_rpc() {
    let (_turn, url, chain_id, _, accounts) = node();
    assert!(accounts.len() >= 4, "the node needs 4 unlocked accounts");
    let parties = consent::Parties {
        admin: accounts[0],
        custodian: accounts[1],
        recipient: accounts[2],
        relayer: accounts[3],
    };
    let t = rpc_transport(&url, chain_id);
    let registry = deploy_registry(t, parties.admin);
    let now = ehr_clock_now_ms() / 1000;
    let admin = parties.admin;
    let grant_role = |role: &str, account: Address| {
        let (r, rl) = text(role);
        // SAFETY: role is its length; the accounts 20 bytes.
        ok(unsafe {
            ehr_transport_rpc_grant_role(t, admin.0.0.as_ptr(), r, rl, account.0.0.as_ptr())
        });
    };
    let consented = consent::consent_flow_for_a_record(t, &parties, grant_role, now);
    assert_eq!(consented.context.registry, registry);
    // SAFETY: freed once.
    unsafe { ehr_transport_free(t) };
}

/// `len`-bounded bytes from a C byte-output function (asked once for the
/// length, then written).
fn c_bytes(f: impl Fn(*mut u8, usize, *mut usize) -> ehr_result) -> Vec<u8> {
    let mut n = 0;
    assert_eq!(
        f(null_mut(), 0, &raw mut n),
        ErrorCode::BufferTooSmall,
        "an empty buffer"
    );
    let mut buf = vec![0u8; n];
    ok(f(buf.as_mut_ptr(), buf.len(), &raw mut n));
    buf.truncate(n);
    buf
}

/// A host that sends its own transactions (its signer, its node client)
/// sets a registry up with the calldata the C ABI builds: the creation
/// code, a template's registration and a role's grant, each sent by the
/// administrator here; the registry then holds the template for the role and
/// the role for the account.
#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn a_registry_set_up_with_the_calldata_the_c_abi_builds() {
    let (_turn, _, _, mut rpc, accounts) = node();
    let (admin, nurse) = (accounts[0], accounts[3]);
    let mut templates = null_mut();
    let mut bp = [0u8; 32];
    // SAFETY: every pointer is valid for its stated length; the templates
    // are freed once.
    let (code, register, grant) = unsafe {
        ok(ehr_templates_new_builtin(&raw mut templates));
        let (name, name_len) = text("blood-pressure");
        ok(ehr_templates_latest(
            templates,
            name,
            name_len,
            bp.as_mut_ptr(),
        ));
        let code = c_bytes(|b, l, n| ehr_registry_creation_code(b, l, n));
        let register =
            c_bytes(|b, l, n| ehr_templates_register_call(templates, bp.as_ptr(), b, l, n));
        let (role, role_len) = text("nurse");
        let grant =
            c_bytes(|b, l, n| ehr_role_grant_call(role, role_len, nurse.0.0.as_ptr(), b, l, n));
        let (bad, bad_len) = text("Nurse!");
        let mut n = 0;
        assert_eq!(
            ehr_role_grant_call(bad, bad_len, nurse.0.0.as_ptr(), null_mut(), 0, &raw mut n),
            ErrorCode::RoleInvalid
        );
        assert_eq!(
            ehr_templates_register_call(templates, [0u8; 32].as_ptr(), null_mut(), 0, &raw mut n),
            ErrorCode::TemplateUnknown
        );
        ehr_templates_free(templates);
        (code, register, grant)
    };
    let deployed = rpc.send_from(admin, None, code.into(), U256::ZERO).unwrap();
    rpc.wait_for_receipt(&deployed).unwrap();
    let registry = rpc.contract_address(&deployed).unwrap();
    for calldata in [register, grant] {
        let sent = rpc
            .send_from(admin, Some(registry), calldata.into(), U256::ZERO)
            .unwrap();
        assert!(rpc.wait_for_receipt(&sent).unwrap().status);
    }
    rpc.set_registry(registry);
    let role = ehrchain_core::Role::new("nurse").unwrap().id();
    let allowed = rpc
        .view(&EhrRegistry::isRoleAllowedCall {
            templateId: B256::from(bp),
            role,
        })
        .unwrap();
    let holds = rpc
        .view(&EhrRegistry::hasRoleCall {
            role,
            account: nurse,
        })
        .unwrap();
    assert!(allowed && holds);
}
