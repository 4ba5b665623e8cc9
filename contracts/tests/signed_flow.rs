//! A TI its author signs, end to end on the devnet: the handshaker seals it,
//! the doctor's key signs the statement (`Handshaker::submit_signed`), the
//! gateway account relays it (`anchorSignedRecord`), and the ACK, the audit
//! trail, the event and the registry all name the doctor. A doctor without
//! the role on chain, and a gateway without `RELAYER_ROLE`, get invalid ACKs
//! with the decoded revert. A smart-account author (ERC-1271) is checked by
//! the registry alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use alloy_primitives::{Address, keccak256};
use common::devnet_with_built_ins;
use common::suite::Flow;
use ehrchain_contracts::{Devnet, DevnetTransport, EhrRegistry};
use ehrchain_core::authorship::{LocalSigner, Signer};
use ehrchain_core::outbox::MemoryOutbox;
use ehrchain_core::registry_abi::RegistryErrors;
use ehrchain_core::validator::AuditEvent;
use ehrchain_core::{Ack, InvalidReason, Role, Transport, Until};
use serde_json::json;

/// The doctor's test key (never a real one).
const DOCTOR_KEY: [u8; 32] = [0x11; 32];

fn doctor() -> LocalSigner {
    LocalSigner::from_bytes(&DOCTOR_KEY).unwrap()
}

/// A devnet where the doctor's own account holds `DOCTOR_ROLE` when
/// `doctor_has_role`, and the gateway (the handshaker account, which the
/// devnet transport sends relayed records from) holds `RELAYER_ROLE` when
/// `relayer_has_role`.
fn flow(doctor_has_role: bool, relayer_has_role: bool) -> Flow<DevnetTransport> {
    let (mut net, templates) = devnet_with_built_ins();
    if doctor_has_role {
        net.grant_role("doctor", doctor().address()).unwrap();
    }
    if relayer_has_role {
        net.grant_role("relayer", Devnet::handshaker()).unwrap();
    }
    Flow::new(DevnetTransport::new(net), templates)
}

fn submit_signed(flow: &mut Flow<DevnetTransport>) -> Ack {
    submit_signed_by(flow, &doctor())
}

#[test]
fn a_relayed_doctor_signed_ti_is_anchored_and_its_ack_names_the_doctor() {
    let mut flow = flow(true, true);
    let ack = submit_signed(&mut flow);
    assert!(ack.is_valid(), "{ack:?}");
    assert_eq!(ack.author(), Some(doctor().address()));
    let signed = ack.authorship.clone().unwrap();
    assert_eq!(signed.statement.tiId, ack.ti_id);
    assert_eq!(Some(signed.statement.recordHash), ack.record_hash);
    assert_eq!(signed.statement.role, Role::new(Role::DOCTOR).unwrap().id());
    // The registry holds the record.
    let stored = flow.transport.record_hash_of(&ack.ti_id).unwrap();
    assert_eq!(stored, ack.record_hash);
    // The gateway sent it; the event names the doctor.
    let tx_hash = ack.anchor().unwrap().tx_hash.unwrap();
    let receipt = flow.transport.devnet_receipt(&tx_hash).unwrap();
    assert_eq!(receipt.from, Devnet::handshaker());
    let events = receipt.events::<EhrRegistry::RecordAnchored>();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].author, doctor().address());
    assert_eq!(Some(events[0].recordHash), ack.record_hash);
}

#[test]
fn a_doctor_without_the_role_on_chain_gets_an_invalid_ack_naming_them() {
    let mut flow = flow(false, true);
    let ack = submit_signed(&mut flow);
    assert_eq!(ack.author(), Some(doctor().address()));
    let Some(InvalidReason::ContractRevert { revert }) = ack.reason() else {
        panic!("{ack:?}")
    };
    assert_eq!(
        revert.error.as_deref(),
        Some("AccessControlUnauthorizedAccount")
    );
    assert_eq!(
        revert.detail,
        format!(
            "AccessControlUnauthorizedAccount: account {} does not hold role {} (DOCTOR_ROLE) on chain; an administrator must grant it (grantRole)",
            doctor().address(),
            Role::new(Role::DOCTOR).unwrap().id()
        )
    );
    assert_eq!(flow.transport.record_hash_of(&ack.ti_id).unwrap(), None);
}

#[test]
fn a_gateway_without_the_relayer_role_is_refused_by_the_registry() {
    let mut flow = flow(true, false);
    let ack = submit_signed(&mut flow);
    let Some(InvalidReason::ContractRevert { revert }) = ack.reason() else {
        panic!("{ack:?}")
    };
    let Some(RegistryErrors::AccessControlUnauthorizedAccount(e)) = revert.registry_error() else {
        panic!("{revert:?}")
    };
    assert_eq!(
        (e.account, e.neededRole),
        (Devnet::handshaker(), keccak256("RELAYER_ROLE"))
    );
}

#[test]
fn a_signer_for_another_author_is_refused_before_anything_is_sent() {
    /// Names the doctor but signs with another key: a misconfigured HSM slot.
    struct WrongSlot;
    impl Signer for WrongSlot {
        fn address(&self) -> Address {
            doctor().address()
        }
        fn sign(
            &self,
            request: &ehrchain_core::authorship::SigningRequest,
        ) -> Result<Vec<u8>, ehrchain_core::authorship::AuthorshipError> {
            LocalSigner::from_bytes(&[0x22; 32])?.sign(request)
        }
    }
    let mut flow = flow(true, true);
    let ti = flow.ti(
        "blood-pressure",
        "doctor",
        json!({"systolic": 128, "diastolic": 84}),
    );
    let block = flow.transport.devnet().block_number();
    let mut validator = flow
        .hs
        .validator_signed_by(&ti, &WrongSlot, flow.clock.0, &mut flow.rng)
        .unwrap();
    let ack = validator.poll_ack().unwrap();
    let Some(InvalidReason::Authorship { code, .. }) = ack.reason() else {
        panic!("{ack:?}")
    };
    assert_eq!(code, "EHR_SIGNATURE_WRONG_SIGNER");
    assert_eq!(ack.author(), Some(doctor().address()));
    assert_eq!(
        validator.history().last().map(|e| &e.event),
        Some(&AuditEvent::Finished {
            valid: false,
            author: Some(doctor().address()),
            signature: ack.authorship.as_ref().map(|a| a.signature.clone()),
        })
    );
    // Nothing reached the chain.
    assert_eq!(flow.transport.devnet().block_number(), block);
}

alloy_sol_types::sol!(SmartAccountAuthor, "artifacts/SmartAccountAuthor.json");

/// A smart-account author (the test ERC-1271 account: it accepts its owner
/// key's signatures) whose signatures come from `key`.
struct SmartAccount {
    account: Address,
    key: LocalSigner,
}

impl Signer for SmartAccount {
    fn address(&self) -> Address {
        self.account
    }
    fn sign(
        &self,
        request: &ehrchain_core::authorship::SigningRequest,
    ) -> Result<Vec<u8>, ehrchain_core::authorship::AuthorshipError> {
        self.key.sign(request)
    }
    fn is_smart_account(&self) -> bool {
        true
    }
}

/// A flow whose doctor is a smart account owned by the key `[0x44; 32]`,
/// signing with `key`.
fn smart_account_flow(key: [u8; 32]) -> (Flow<DevnetTransport>, SmartAccount) {
    let (mut net, templates) = devnet_with_built_ins();
    let owner = LocalSigner::from_bytes(&[0x44; 32]).unwrap();
    let mut code = SmartAccountAuthor::BYTECODE.to_vec();
    code.extend_from_slice(&alloy_sol_types::SolValue::abi_encode(&owner.address()));
    let account = net
        .deploy(Devnet::admin(), "SmartAccountAuthor", code.into())
        .unwrap();
    net.grant_role("doctor", account).unwrap();
    net.grant_role("relayer", Devnet::handshaker()).unwrap();
    let key = LocalSigner::from_bytes(&key).unwrap();
    (
        Flow::new(DevnetTransport::new(net), templates),
        SmartAccount { account, key },
    )
}

fn submit_signed_by(flow: &mut Flow<DevnetTransport>, signer: &dyn Signer) -> Ack {
    let ti = flow.ti(
        "blood-pressure",
        "doctor",
        json!({"systolic": 128, "diastolic": 84}),
    );
    flow.hs
        .submit_signed(
            &ti,
            signer,
            &mut MemoryOutbox::default(),
            &mut flow.transport,
            &mut flow.clock,
            &mut flow.rng,
            &Until::verdict(),
        )
        .unwrap()
        .acked()
        .unwrap()
}

#[test]
fn a_smart_account_author_is_checked_by_the_registry_alone() {
    // Its owner's signature: the registry's ERC-1271 call accepts it.
    let (mut flow, author) = smart_account_flow([0x44; 32]);
    let ack = submit_signed_by(&mut flow, &author);
    assert!(ack.is_valid(), "{ack:?}");
    assert_eq!(ack.author(), Some(author.account));
    let tx_hash = ack.anchor().unwrap().tx_hash.unwrap();
    let receipt = flow.transport.devnet_receipt(&tx_hash).unwrap();
    let events = receipt.events::<EhrRegistry::RecordAnchored>();
    assert_eq!(events[0].author, author.account);

    // Another key's: not refused here (only the account knows), refused on chain.
    let (mut flow, author) = smart_account_flow([0x55; 32]);
    let ack = submit_signed_by(&mut flow, &author);
    let Some(InvalidReason::ContractRevert { revert }) = ack.reason() else {
        panic!("{ack:?}")
    };
    assert_eq!(revert.error.as_deref(), Some("EhrRegistryBadSignature"));
    assert_eq!(
        revert.detail,
        format!(
            "EhrRegistryBadSignature: the statement's signature is not author {}'s for this chain and registry; have the author sign this record's statement again",
            author.account
        )
    );
    assert_eq!(ack.author(), Some(author.account));
}
