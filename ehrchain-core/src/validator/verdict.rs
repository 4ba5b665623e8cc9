//! The verdict: turning a confirmed receipt, or a settled read, into one ACK
//! per record.

use super::{
    Ack, AckStatus, Anchor, AuditEvent, InvalidReason, Phase, RecordInfo, TransactionValidator,
};
use alloy_primitives::Bytes;
use alloy_sol_types::SolInterface;

use super::settle::Fallback;
use crate::authorship::SignedStatement;
use crate::registry_abi::{DecodedRevert, RegistryErrors};
use crate::rpc::Revert;
use crate::time::UnixMillis;
use crate::transport::TransportError;
use crate::transport::{Anchoring, TxReceipt};

impl TransactionValidator {
    /// Whether revert data is the registry's "already anchored" refusal of
    /// this very submission (same TI id and record hash, or same root): a
    /// replay, valid once confirmed like any receipt.
    pub(super) fn is_replay(&self, data: Option<&Bytes>) -> bool {
        let (Some(submission), Some(data)) = (&self.parts.submission, data) else {
            return false;
        };
        match (RegistryErrors::abi_decode(data), submission.anchoring) {
            (
                Ok(RegistryErrors::EhrRegistryTiAlreadyUsed(e)),
                Anchoring::Record { ti_id, record_hash },
            ) => e.tiId == ti_id && e.storedRecordHash == record_hash,
            (
                Ok(RegistryErrors::EhrRegistryRootAlreadyAnchored(e)),
                Anchoring::Batch { root, .. },
            ) => e.root == root,
            _ => false,
        }
    }

    /// A revert reported by the submission itself: its gas estimate reverted
    /// (nothing was sent) or the node mined it and named it. A replay of
    /// this submission settles (the chain is read at a mined block and the
    /// anchor confirmed); any other refusal is the verdict now.
    pub(super) fn refused_at_submission(&mut self, now: UnixMillis, revert: Revert) {
        self.audit(
            now,
            AuditEvent::TransportError {
                error: TransportError::Reverted(revert.clone()),
                attempt: self
                    .parts
                    .outage
                    .as_ref()
                    .map_or(1, |o| o.attempts.saturating_add(1)),
            },
        );
        self.node_answered();
        if let Some(tx_hash) = revert.tx_hash {
            self.parts.tx_hashes.push(tx_hash);
        }
        if self.is_replay(Some(&revert.data)) {
            self.start_settle(now, Fallback::Replay);
            return;
        }
        let decoded = revert.decoded();
        let reason = match (
            decoded.registry_error(),
            self.parts.submission.as_ref().map(|s| s.anchoring),
        ) {
            (
                Some(RegistryErrors::EhrRegistryTiAlreadyUsed(e)),
                Some(Anchoring::Record { ti_id, .. }),
            ) if e.tiId == ti_id => InvalidReason::AnchoredWithOtherHash {
                stored_record_hash: e.storedRecordHash,
            },
            (Some(_), _) => InvalidReason::ContractRevert { revert: decoded },
            (None, _) => InvalidReason::StatusZero { revert: decoded },
        };
        self.finish_invalid(now, reason);
    }

    /// The verdict from a confirmed receipt.
    pub(super) fn finish(&mut self, now: UnixMillis, receipt: &TxReceipt) {
        let Some(submission) = &self.parts.submission else {
            return;
        };
        let anchor = |log_index, replay| Anchor {
            tx_hash: Some(receipt.tx_hash),
            block_number: Some(receipt.block_number),
            block_hash: Some(receipt.block_hash),
            log_index,
            gas_used: Some(receipt.gas_used),
            replay,
            recovered: None,
            batch: None,
            final_block: self.parts.final_block.map(Box::new),
        };
        if receipt.status {
            match receipt.anchor_log_index {
                Some(index) => self.finish_valid(now, &anchor(Some(index), false)),
                None => self.finish_invalid(now, InvalidReason::MissingAnchorEvent),
            }
            return;
        }
        let data = receipt.revert_data.clone().unwrap_or_default();
        let revert = DecodedRevert::from_data(&data);
        match (revert.registry_error(), submission.anchoring) {
            (
                Some(RegistryErrors::EhrRegistryTiAlreadyUsed(e)),
                Anchoring::Record { ti_id, record_hash },
            ) if e.tiId == ti_id => {
                if e.storedRecordHash == record_hash {
                    self.finish_valid(now, &anchor(None, true));
                } else {
                    self.finish_invalid(
                        now,
                        InvalidReason::AnchoredWithOtherHash {
                            stored_record_hash: e.storedRecordHash,
                        },
                    );
                }
            }
            (
                Some(RegistryErrors::EhrRegistryRootAlreadyAnchored(e)),
                Anchoring::Batch { root, .. },
            ) if e.root == root => self.finish_valid(now, &anchor(None, true)),
            (Some(_), _) => self.finish_invalid(now, InvalidReason::ContractRevert { revert }),
            (None, _) => self.finish_invalid(now, InvalidReason::StatusZero { revert }),
        }
    }

    pub(super) fn finish_valid(&mut self, now: UnixMillis, anchor: &Anchor) {
        self.prove_records();
        self.conclude(now, true, |record| {
            AckStatus::Valid(Anchor {
                batch: record.proof.clone(),
                ..anchor.clone()
            })
        });
    }

    pub(super) fn finish_invalid(&mut self, now: UnixMillis, reason: InvalidReason) {
        let tx_hashes = self.parts.tx_hashes.clone();
        self.conclude(now, false, |_| AckStatus::Invalid {
            reason: reason.clone(),
            tx_hashes: tx_hashes.clone(),
        });
    }

    /// Queues one ACK a record, with the status `status` gives it, and ends
    /// the run.
    fn conclude(
        &mut self,
        now: UnixMillis,
        valid: bool,
        status: impl Fn(&RecordInfo) -> AckStatus,
    ) {
        for record in &self.parts.records {
            self.parts.acks.push_back(Ack {
                ti_id: record.ti_id,
                template_id: record.template_id,
                record_hash: record.record_hash,
                envelope: record.envelope.clone(),
                authorship: record.authorship.clone(),
                status: status(record),
            });
        }
        let signed = self
            .parts
            .records
            .first()
            .and_then(|r| r.authorship.as_ref());
        let event = AuditEvent::Finished {
            valid,
            author: signed.map(SignedStatement::author),
            signature: signed.map(|s| s.signature.clone()),
        };
        self.audit(now, event);
        self.parts.phase = Phase::Done;
        self.parts.asked = None;
    }
}
