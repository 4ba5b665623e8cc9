//! The TI → TG → Transaction Validator → devnet → ACK flow through
//! `DevnetTransport`: valid ACKs for a doctor and a nurse, an invalid ACK with
//! the decoded revert when the chain refuses a role, a replayed TI that comes
//! back as a valid replay, batches, template violations and a wrong chain (the
//! bodies live in `common/suite.rs`, shared with `rpc_end_to_end.rs`), and
//! settling: a validator that loses every submission answer reads the registry
//! and ends valid (recovered), or not anchored when nothing was sent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use alloy_primitives::{Address, B256};
use common::devnet_with_built_ins;
use common::suite::{self, Flow};
use ehrchain_contracts::{DevnetTransport, EhrRegistry};
use ehrchain_core::validator::ValidatorState;
use ehrchain_core::{
    Ack, AnchoredBatch, BatchReader, ChainTransaction, InitialTransaction, Run, Submission,
    SubmissionStatus, TransactionValidator, Transport, TransportError, TxHash, Until, run_blocking,
};

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
        assert!(anchor.recovered.is_none());
        let receipt = flow
            .transport
            .devnet_receipt(&anchor.tx_hash.unwrap())
            .unwrap();
        assert_eq!(Some(receipt.block_number), anchor.block_number);
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
fn a_pipeline_anchors_urgent_records_alone_and_bulk_ones_batched() {
    suite::a_pipeline_anchors_urgent_records_alone_and_bulk_ones_batched(&mut flow());
}

#[test]
fn a_batch_gets_one_ack_per_record_with_its_proof() {
    suite::a_batch_gets_one_ack_per_record_with_its_proof(&mut flow());
}

#[test]
fn the_outbox_resumes_the_same_tc_after_a_crash() {
    suite::the_outbox_resumes_the_same_tc_after_a_crash(&mut flow());
}

#[test]
fn a_record_final_by_tag_names_the_finalized_block() {
    suite::a_record_final_by_tag_names_the_finalized_block(&mut flow());
}

#[test]
fn template_violations_and_wrong_chains_get_invalid_acks() {
    suite::template_violations_and_wrong_chains_get_invalid_acks(&mut flow());
}

/// The devnet, but every submission's answer is lost: sent (and mined) when
/// `send` is set, never sent otherwise.
struct LostAnswers<'a> {
    inner: &'a mut DevnetTransport,
    send: bool,
}

impl BatchReader for LostAnswers<'_> {
    type Error = TransportError;
    fn anchored_batch(&mut self, root: &B256) -> Result<Option<AnchoredBatch>, TransportError> {
        self.inner.anchored_batch(root)
    }
}

impl Transport for LostAnswers<'_> {
    fn chain_id(&self) -> u64 {
        self.inner.chain_id()
    }
    fn registry(&self) -> Address {
        self.inner.registry()
    }
    fn submit(&mut self, submission: &Submission) -> Result<TxHash, TransportError> {
        if self.send {
            self.inner.submit(submission)?;
        }
        Err(TransportError::Unavailable("simulated: answer lost".into()))
    }
    fn poll(
        &mut self,
        tx_hash: &TxHash,
        submission: &Submission,
    ) -> Result<SubmissionStatus, TransportError> {
        self.inner.poll(tx_hash, submission)
    }
    fn head(&mut self) -> Result<u64, TransportError> {
        self.inner.head()
    }
    fn record_hash_of(&mut self, ti_id: &B256) -> Result<Option<B256>, TransportError> {
        self.inner.record_hash_of(ti_id)
    }
}

/// How long the host lets a validator wait out lost answers (virtual time).
const DEADLINE_MS: u64 = 60_000;

/// A blood-pressure TI by `role` and its TC, run by a validator that loses
/// every answer (`send`: as for [`LostAnswers`]) until its host's deadline
/// ([`DEADLINE_MS`]), then by the same validator over the devnet (the node
/// back), and the ACKs of that second run.
fn run_losing_answers(
    flow: &mut Flow<DevnetTransport>,
    role: &str,
    send: bool,
) -> (InitialTransaction, ChainTransaction, Vec<Ack>) {
    let ti = flow.ti("blood-pressure", role, suite::bp());
    let tc = flow.generate(&ti);
    let mut v = TransactionValidator::new(&tc, *flow.hs.validator_config());
    let mut lossy = LostAnswers {
        inner: &mut flow.transport,
        send,
    };
    let deadline = Until::deadline(flow.clock.0.saturating_add_ms(DEADLINE_MS));
    let Run::Pending(stopped) = run_blocking(&mut v, &mut lossy, &mut flow.clock, &deadline) else {
        panic!("an ACK although every answer was lost");
    };
    // Not a verdict: an outage, with the lost answers counted (backoff 0.5,
    // 1, 2, 4, 8, 16, 30 s: the 7th attempt at 31.5 s, the 8th after the
    // deadline).
    let ValidatorState::Outage { outage, .. } = *stopped.state else {
        panic!("stopped while {:?}", stopped.state);
    };
    assert_eq!(outage.attempts, 7, "{outage:?}");
    assert_eq!(
        flow.transport.record_hash_of(&ti.ti_id).unwrap(),
        send.then_some(tc.record_hash)
    );
    let acks = flow.run(&mut v);
    (ti, tc, acks)
}

#[test]
fn a_validator_that_loses_every_answer_stays_pending_then_ends_valid_once() {
    let mut flow = flow();
    // Sent and anchored, but the answers were lost until the deadline: once
    // the node answers, the same TC is anchored once, valid (the registry
    // refuses a second anchoring of the same record: a replay).
    let (ti, tc, acks) = run_losing_answers(&mut flow, "doctor", true);
    let [ack] = &acks[..] else {
        panic!("{acks:?}");
    };
    assert!(ack.is_valid(), "{ack:?}");
    assert_eq!(ack.record_hash, Some(tc.record_hash));
    assert_eq!(
        flow.transport.record_hash_of(&ti.ti_id).unwrap(),
        Some(tc.record_hash)
    );

    // Never sent: nothing anchored while pending; once the node answers,
    // the same TC is anchored, valid, not a replay.
    let (ti, tc, acks) = run_losing_answers(&mut flow, "nurse", false);
    let anchor = acks[0].anchor().unwrap();
    assert!(!anchor.replay);
    assert_eq!(
        flow.transport.record_hash_of(&ti.ti_id).unwrap(),
        Some(tc.record_hash)
    );
}
