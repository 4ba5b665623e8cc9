//! The TI → TG → Transaction Validator → devnet → ACK flow through
//! `DevnetTransport`: valid ACKs for a doctor and a nurse, an invalid ACK with
//! the decoded revert when the chain refuses a role, a replayed TI that comes
//! back as a valid replay, batches, template violations and a wrong chain.
//! The bodies live in `common/suite.rs`, shared with `rpc_end_to_end.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use alloy_primitives::Address;
use common::suite::{self, Chain, Flow};
use common::{devnet_with_built_ins, role};
use ehrchain_contracts::{Devnet, DevnetTransport, EhrRegistry};

impl Chain for DevnetTransport {
    fn chain_id(&self) -> u64 {
        self.devnet().chain_id()
    }
    fn registry(&self) -> Address {
        self.devnet().registry()
    }
    fn now(&mut self) -> u64 {
        self.devnet().block_timestamp()
    }
    fn latest_block(&mut self) -> u64 {
        // The devnet's current block is still open; the head is the last closed one.
        self.devnet().block_number() - 1
    }
    fn revoke(&mut self, name: &str) {
        let revoke = EhrRegistry::revokeRoleCall {
            role: role(name),
            account: Devnet::account(name),
        };
        let receipt = self.devnet_mut().send(Devnet::admin(), &revoke).unwrap();
        assert!(receipt.status());
    }
}

fn flow() -> Flow<DevnetTransport> {
    let (net, templates) = devnet_with_built_ins();
    Flow::new(DevnetTransport::new(net), templates)
}

#[test]
fn doctor_and_nurse_readings_get_valid_acks_matching_the_chain() {
    let mut flow = flow();
    for (ti, ack) in suite::doctor_and_nurse_readings_get_valid_acks(&mut flow) {
        let anchor = ack.anchor().unwrap();
        // One transaction per block: the event is the block's first log.
        assert_eq!(anchor.log_index, Some(0));
        // The receipt the ACK names emitted RecordAnchored for this record.
        let receipt = flow.transport.devnet_receipt(&anchor.tx_hash).unwrap();
        assert_eq!(receipt.block_number, anchor.block_number);
        let events = receipt.events::<EhrRegistry::RecordAnchored>();
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].tiId, events[0].recordHash, events[0].role),
            (ti.ti_id, ack.record_hash.unwrap(), ti.author_role.id())
        );
    }
}

#[test]
fn a_role_the_chain_refuses_gets_an_invalid_ack_with_the_decoded_revert() {
    suite::a_role_the_chain_refuses_gets_an_invalid_ack(&mut flow());
}

#[test]
fn a_replayed_ti_is_a_valid_replay_and_is_anchored_once() {
    suite::a_replayed_ti_is_a_valid_replay_anchored_once(&mut flow());
}

#[test]
fn a_batch_gets_one_ack_per_record_with_its_proof() {
    suite::a_batch_gets_one_ack_per_record_with_its_proof(&mut flow());
}

#[test]
fn template_violations_and_wrong_chains_get_invalid_acks() {
    suite::template_violations_and_wrong_chains_get_invalid_acks(&mut flow());
}
