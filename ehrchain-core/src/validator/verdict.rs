//! The verdict: turning a confirmed receipt, or a settled read, into one ACK
//! per record.

use super::{
    Ack, AckStatus, Anchor, AuditEvent, InvalidReason, Phase, RecordInfo, TransactionValidator,
};
use crate::registry_abi::{DecodedRevert, RegistryErrors};
use crate::time::UnixMillis;
use crate::transport::{Anchoring, TxReceipt};

impl TransactionValidator {
    /// The verdict from a confirmed receipt.
    pub(super) fn finish(&mut self, now: UnixMillis, receipt: &TxReceipt) {
        let Some(submission) = &self.submission else {
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
        self.conclude(now, true, |record| {
            AckStatus::Valid(Anchor {
                batch: record.proof.clone(),
                ..anchor.clone()
            })
        });
    }

    pub(super) fn finish_invalid(&mut self, now: UnixMillis, reason: InvalidReason) {
        let tx_hashes = self.tx_hashes.clone();
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
        for record in &self.records {
            self.acks.push_back(Ack {
                ti_id: record.ti_id,
                template_id: record.template_id,
                record_hash: record.record_hash,
                envelope: record.envelope.clone(),
                status: status(record),
            });
        }
        self.audit(now, AuditEvent::Finished { valid });
        self.phase = Phase::Done;
        self.asked = None;
    }
}
