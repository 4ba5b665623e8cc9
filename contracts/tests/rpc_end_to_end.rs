//! The end-to-end suite of `validator_end_to_end.rs` (the same bodies, from
//! `common/suite.rs`) through `RpcTransport` against a JSON-RPC node:
//! `scripts/ganache-e2e.sh` starts Ganache 7.9.2 and runs these tests with
//! `EHRCHAIN_RPC_URL` set. Each test deploys its own registry with
//! `deploy_registry`. The doctor, pathologist and device send from the node's
//! unlocked accounts (`eth_sendTransaction`); the nurse and the handshaker
//! (batches) sign raw transactions with local keys funded by the admin.
//!
//! The node tests are `#[ignore]`d without a node; run them with
//! `EHRCHAIN_RPC_URL=http://127.0.0.1:8545 cargo test -p ehrchain-contracts
//! --test rpc_end_to_end -- --include-ignored` (chain id 1337 unless
//! `EHRCHAIN_RPC_CHAIN_ID` says otherwise).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use alloy_primitives::{Address, B256, keccak256};
use alloy_signer::SignerSync;
use common::suite::{self, Chain, Flow};
use common::{built_ins, funding};
use ehrchain_contracts::{
    Deployment, EhrConsent, EhrRegistry, FeeMode, PrivateKeySigner, RpcConfig, RpcTransport,
    deploy_consent, deploy_registry,
};
use ehrchain_core::consent_abi::{ConsentDomain, ConsentGrant};
use ehrchain_core::{
    AnchoredBatch, BatchReader, BlockRef, FinalityTag, Role, Submission, SubmissionStatus,
    Transport, TransportError, TxHash,
};

/// Ganache may drop one of two transactions sent at once from the same
/// unlocked account (it answers both with a hash, then mines one): the node
/// tests share unlocked accounts, so they take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// An `RpcTransport` with the accounts the suite needs.
struct Node {
    _turn: MutexGuard<'static, ()>,
    rpc: RpcTransport,
    admin: Address,
    accounts: HashMap<&'static str, Address>,
}

impl BatchReader for Node {
    type Error = TransportError;
    fn anchored_batch(&mut self, root: &B256) -> Result<Option<AnchoredBatch>, TransportError> {
        self.rpc.anchored_batch(root)
    }
}

impl Transport for Node {
    fn chain_id(&self) -> u64 {
        Transport::chain_id(&self.rpc)
    }
    fn registry(&self) -> Address {
        Transport::registry(&self.rpc)
    }
    fn submit(&mut self, submission: &Submission) -> Result<TxHash, TransportError> {
        self.rpc.submit(submission)
    }
    fn poll(
        &mut self,
        tx_hash: &TxHash,
        submission: &Submission,
    ) -> Result<SubmissionStatus, TransportError> {
        self.rpc.poll(tx_hash, submission)
    }
    fn head(&mut self) -> Result<u64, TransportError> {
        self.rpc.head()
    }
    fn record_hash_of(&mut self, ti_id: &B256) -> Result<Option<B256>, TransportError> {
        self.rpc.record_hash_of(ti_id)
    }
    fn block_at(&mut self, tag: FinalityTag) -> Result<Option<BlockRef>, TransportError> {
        self.rpc.block_at(tag)
    }
}

impl Chain for Node {
    fn now(&mut self) -> u64 {
        self.rpc.latest_timestamp().unwrap()
    }
    fn latest_block(&mut self) -> u64 {
        self.rpc.set_mine_on_head(false);
        let head = self.rpc.head().unwrap();
        self.rpc.set_mine_on_head(mine_on_head());
        head
    }
    fn revoke(&mut self, name: &str) {
        let call = EhrRegistry::revokeRoleCall {
            role: Role::new(name).unwrap().id(),
            account: self.accounts[name],
        };
        let registry = self.rpc.registry();
        let receipt = self.rpc.send_call(self.admin, registry, &call).unwrap();
        assert!(receipt.status, "{receipt:?}");
    }
    fn mines_in_real_time(&self) -> bool {
        !mine_on_head()
    }
}

fn url() -> String {
    std::env::var("EHRCHAIN_RPC_URL")
        .expect("set EHRCHAIN_RPC_URL to a node's URL (scripts/ganache-e2e.sh does)")
}

fn chain_id() -> u64 {
    std::env::var("EHRCHAIN_RPC_CHAIN_ID").map_or(1337, |id| id.parse().unwrap())
}

/// A key of its own for each test and account, so tests running at once
/// never share a nonce.
fn local_key(test: &str, name: &str) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&keccak256(format!("ehrchain rpc e2e: {test}/{name}"))).unwrap()
}

/// Whether the node mines only when a transaction arrives (Ganache, Hardhat
/// with automine): then the suite asks it to mine a block on every head read
/// so that confirmations grow. `EHRCHAIN_RPC_INTERVAL_MINING=1` says the node
/// mines blocks on its own (real confirmations, nothing manufactured).
fn mine_on_head() -> bool {
    std::env::var("EHRCHAIN_RPC_INTERVAL_MINING").map_or(true, |v| v != "1")
}

/// Connects, funds the local keys, deploys a registry with the built-in
/// templates and the suite's roles, and on an automining node mines a block
/// on every head read.
fn node(test: &str, fees: FeeMode) -> Flow<Node> {
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let mut config = RpcConfig::new(chain_id());
    config.fees = fees;
    let mut rpc = RpcTransport::connect(&url(), config).unwrap();
    let unlocked = rpc.accounts().unwrap();
    assert!(unlocked.len() >= 4, "the node needs 4 unlocked accounts");
    let admin = unlocked[0];
    let nurse = rpc.add_local_key(local_key(test, "nurse"));
    let handshaker = rpc.add_local_key(local_key(test, "handshaker"));
    for account in [nurse, handshaker] {
        funding::fund(&mut rpc, admin, account);
    }
    let accounts = HashMap::from([
        ("handshaker", handshaker),
        ("doctor", unlocked[1]),
        ("nurse", nurse),
        ("pathologist", unlocked[2]),
        ("device", unlocked[3]),
    ]);
    let templates = built_ins();
    let deployment = Deployment {
        admin,
        grants: accounts
            .iter()
            .map(|(name, account)| ((*name).to_owned(), *account))
            .collect(),
    };
    deploy_registry(&mut rpc, &deployment, &templates).unwrap();
    for (name, account) in &accounts {
        rpc.set_sender(&Role::new(*name).unwrap(), *account);
    }
    rpc.set_default_sender(handshaker);
    rpc.set_mine_on_head(mine_on_head());
    Flow::new(
        Node {
            _turn: turn,
            rpc,
            admin,
            accounts,
        },
        templates,
    )
}

#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn doctor_and_nurse_readings_get_valid_acks_matching_the_chain() {
    let mut flow = node("valid", FeeMode::Legacy);
    for (_, ack) in suite::doctor_and_nurse_readings_get_valid_acks(&mut flow) {
        let anchor = ack.anchor().unwrap();
        // Ganache mines one transaction per block: the event is its first log.
        assert_eq!(anchor.log_index, Some(0));
        assert!(anchor.gas_used.is_some_and(|gas| gas > 0));
    }
}

#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn a_role_the_chain_refuses_gets_an_invalid_ack_with_the_decoded_revert() {
    suite::a_role_the_chain_refuses_gets_an_invalid_ack(&mut node("refused", FeeMode::Legacy));
}

#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn a_replayed_ti_is_a_valid_replay_and_is_anchored_once() {
    suite::a_replayed_ti_is_a_valid_replay_anchored_once(&mut node("replay", FeeMode::Legacy));
}

#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn a_pipeline_anchors_urgent_records_alone_and_bulk_ones_batched() {
    // Many transactions in flight at once: the nurse's and the handshaker's
    // local keys, with local nonces.
    suite::a_pipeline_anchors_urgent_records_alone_and_bulk_ones_batched(&mut node(
        "pipeline",
        FeeMode::Eip1559,
    ));
}

#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn a_batch_gets_one_ack_per_record_with_its_proof() {
    // Batches come from the handshaker's local key, as EIP-1559 transactions.
    suite::a_batch_gets_one_ack_per_record_with_its_proof(&mut node("batch", FeeMode::Eip1559));
}

#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn the_outbox_resumes_the_same_tc_after_a_crash() {
    suite::the_outbox_resumes_the_same_tc_after_a_crash(&mut node("outbox", FeeMode::Legacy));
}

#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn a_record_final_by_tag_names_the_finalized_block() {
    suite::a_record_final_by_tag_names_the_finalized_block(&mut node("by-tag", FeeMode::Legacy));
}

#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn template_violations_and_wrong_chains_get_invalid_acks() {
    suite::template_violations_and_wrong_chains_get_invalid_acks(&mut node(
        "wrong-chain",
        FeeMode::Legacy,
    ));
}

#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn consent_beside_the_registry_holds_a_grant_the_patient_signed_and_a_relayer_sent() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let mut rpc = RpcTransport::connect(&url(), RpcConfig::new(chain_id())).unwrap();
    let unlocked = rpc.accounts().unwrap();
    let (admin, hospital, relayer, recipient) =
        (unlocked[0], unlocked[1], unlocked[2], unlocked[3]);
    let deployment = Deployment {
        admin,
        grants: vec![("custodian".to_owned(), hospital)],
    };
    deploy_registry(&mut rpc, &deployment, &built_ins()).unwrap();
    let consent = deploy_consent(&mut rpc, admin).unwrap();
    let registry = rpc.view_on(consent, &EhrConsent::registryCall {}).unwrap();
    assert_eq!(registry, rpc.registry());

    // The patient only signs: their key holds no ether.
    let patient = local_key("consent", "patient");
    let subject = keccak256("a pseudonym");
    let bind = EhrConsent::bindPatientCall {
        subject,
        account: patient.address(),
    };
    assert!(rpc.send_call(hospital, consent, &bind).unwrap().status);
    let now = rpc.latest_timestamp().unwrap();
    let grant = ConsentGrant {
        subject,
        patient: patient.address(),
        recipient,
        templateIds: vec![],
        expiresAt: now + 86_400,
        nonce: 1,
        deadline: now + 3_600,
    };
    let grant_id = grant.grant_id(&ConsentDomain {
        chain_id: chain_id(),
        consent,
    });
    let signature = patient.sign_hash_sync(&grant_id).unwrap();
    let relayed = EhrConsent::grantSignedCall {
        grant: EhrConsent::ConsentGrant {
            subject,
            patient: patient.address(),
            recipient,
            templateIds: vec![],
            expiresAt: grant.expiresAt,
            nonce: 1,
            deadline: grant.deadline,
        },
        signature: signature.as_bytes().to_vec().into(),
    };
    assert!(rpc.send_call(relayer, consent, &relayed).unwrap().status);
    let may = EhrConsent::mayReceiveCall {
        recipient,
        subject,
        templateId: keccak256("any template"),
    };
    let answer = rpc.view_on(consent, &may).unwrap();
    assert_eq!((answer.allowed, answer.grantId), (true, grant_id));
}

#[test]
#[ignore = "needs a JSON-RPC node in EHRCHAIN_RPC_URL: scripts/ganache-e2e.sh"]
fn a_node_on_another_chain_is_refused_at_construction() {
    let err = RpcTransport::connect(&url(), RpcConfig::new(chain_id() + 1)).unwrap_err();
    assert_eq!(
        err,
        TransportError::WrongChain {
            expected: chain_id() + 1,
            actual: Some(chain_id())
        }
    );
    assert!(!err.is_retryable());
}

#[test]
fn an_unreachable_node_is_a_retryable_error() {
    // A port nobody listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = RpcConfig::new(1337);
    config.timeout = Duration::from_secs(5);
    let err = RpcTransport::connect(&format!("http://127.0.0.1:{port}"), config).unwrap_err();
    assert!(matches!(err, TransportError::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable());
}
