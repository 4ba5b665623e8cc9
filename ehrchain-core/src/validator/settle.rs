//! Settling: when the fate of a submission is unknown, the validator reads
//! what the registry holds under the TI id (or root) before sending again or
//! giving up, and confirms what it read (see the [module docs](super)).

use alloy_primitives::B256;
use alloy_sol_types::SolEvent;

use super::{
    Anchor, Asked, AuditEvent, ChainHolds, InvalidReason, Phase, Recovered, RegistryRead,
    TransactionValidator, ValidatorError,
};
use crate::batch::AnchoredBatch;
use crate::registry_abi::IEhrRegistry;
use crate::time::UnixMillis;
use crate::transport::{Anchoring, Submission, TransportError};

/// A settlement in progress.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Settle {
    /// What to do when the registry holds nothing, or cannot be read.
    pub(super) fallback: Fallback,
    pub(super) stage: SettleStage,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Fallback {
    /// Send again (the resubmission is already counted).
    Resubmit,
    /// Give up: with this reason when the chain cannot be read, with
    /// [`InvalidReason::NotAnchored`] around it when it holds nothing.
    GiveUp(InvalidReason),
    /// The registry refused this very submission as anchored already (at
    /// its gas estimate): confirm what it holds, a valid ACK marked
    /// [`Anchor::replay`]; send again if it holds nothing after all.
    Replay,
}

#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", rename_all_fields = "camelCase")]
pub(super) enum SettleStage {
    /// First read of the registry.
    Read,
    /// Something was read; the head is read to know when to read again.
    Wait {
        held: ChainHolds,
        seen_at_head: Option<u64>,
    },
    /// The head has advanced: the confirming read.
    Reread {
        held: ChainHolds,
        seen_at_head: u64,
        head: u64,
    },
}

impl TransactionValidator {
    /// The result of a [`Transmit::ReadRecord`](super::Transmit::ReadRecord):
    /// the record hash the registry holds under the TI id, or `None`.
    ///
    /// # Errors
    /// [`ValidatorError::Finished`] after the verdict;
    /// [`ValidatorError::Unexpected`] when no record read was asked for.
    pub fn handle_record(
        &mut self,
        now: UnixMillis,
        result: Result<Option<B256>, TransportError>,
    ) -> Result<(), ValidatorError> {
        self.read_answered(now, "a record read", result.map(RegistryRead::Record))
    }

    /// The result of a [`Transmit::ReadBatch`](super::Transmit::ReadBatch):
    /// the batch the registry holds under the root, or `None`. A batch id of
    /// `None` (a reader that does not look at logs) is not compared.
    ///
    /// # Errors
    /// [`ValidatorError::Finished`] after the verdict;
    /// [`ValidatorError::Unexpected`] when no batch read was asked for.
    pub fn handle_batch(
        &mut self,
        now: UnixMillis,
        result: Result<Option<AnchoredBatch>, TransportError>,
    ) -> Result<(), ValidatorError> {
        self.read_answered(now, "a batch read", result.map(RegistryRead::Batch))
    }

    /// Takes the answer to the read asked for (`what`, for the refusal): a
    /// transport failure, or what the chain holds.
    fn read_answered(
        &mut self,
        now: UnixMillis,
        what: &'static str,
        result: Result<RegistryRead, TransportError>,
    ) -> Result<(), ValidatorError> {
        let anchoring = self.parts.submission.as_ref().map(|s| &s.anchoring);
        let Some(judged) = ChainHolds::judge_answer(anchoring, result) else {
            return Err(self.refusal(what));
        };
        self.take_asked(Asked::Read, what)?;
        match judged {
            Err(error) => self.transport_failed(now, error),
            Ok(held) => self.settle_read(now, held),
        }
        Ok(())
    }

    /// The head read while settling: once `depth` blocks hold the first head
    /// read after something was read, read the registry again. A head that
    /// stood still for `inclusion_timeout_ms` before that (`stalled`) cannot
    /// confirm what was read: the chain is taken as unreadable.
    pub(super) fn settle_head(&mut self, now: UnixMillis, head: u64, depth: u64, stalled: bool) {
        let Phase::Settle(settle) = &mut self.parts.phase else {
            return;
        };
        if let SettleStage::Wait { held, seen_at_head } = settle.stage {
            // The read found `held` in a block at or below the first
            // head read after it; read again once `depth` blocks hold
            // that head.
            let seen_at_head = seen_at_head.unwrap_or(head);
            if self.parts.config.finality.tag().is_some() {
                // By tag: the block under the tag must reach this head.
                settle.stage = SettleStage::Wait {
                    held,
                    seen_at_head: Some(seen_at_head),
                };
                self.parts.next_at = now;
            } else if head >= seen_at_head.saturating_add(depth - 1) {
                settle.stage = SettleStage::Reread {
                    held,
                    seen_at_head,
                    head,
                };
                self.parts.next_at = now;
            } else if stalled {
                self.settle_unreadable(now);
            } else {
                settle.stage = SettleStage::Wait {
                    held,
                    seen_at_head: Some(seen_at_head),
                };
                self.parts.next_at = now.saturating_add_ms(self.parts.config.poll_interval_ms);
            }
        }
    }

    /// The block under the finality tag was read while settling, at `level`
    /// (`None`: the node names none yet): once it reaches the head read
    /// after what was read, read the registry again. Whether it did.
    pub(super) fn settle_final_level(&mut self, now: UnixMillis, level: Option<u64>) -> bool {
        let Phase::Settle(settle) = &mut self.parts.phase else {
            return false;
        };
        match (settle.stage, level) {
            (
                SettleStage::Wait {
                    held,
                    seen_at_head: Some(seen_at_head),
                },
                Some(level),
            ) if level >= seen_at_head => {
                settle.stage = SettleStage::Reread {
                    held,
                    seen_at_head,
                    head: level,
                };
                self.parts.next_at = now;
                true
            }
            _ => {
                self.parts.next_at = now.saturating_add_ms(self.parts.config.poll_interval_ms);
                false
            }
        }
    }

    /// The validator would give up for `reason`: it settles first (reads the
    /// registry), except when the node is on another chain (its state says
    /// nothing about this one).
    pub(super) fn give_up(&mut self, now: UnixMillis, reason: InvalidReason) {
        let wrong_chain = matches!(
            reason,
            InvalidReason::TransportRejected {
                error: TransportError::WrongChain { .. }
            }
        );
        if wrong_chain || self.parts.submission.is_none() {
            self.finish_invalid(now, reason);
        } else {
            self.start_settle(now, Fallback::GiveUp(reason));
        }
    }

    pub(super) fn start_settle(&mut self, now: UnixMillis, fallback: Fallback) {
        self.parts.phase = Phase::Settle(Box::new(Settle {
            fallback,
            stage: SettleStage::Read,
        }));
        self.parts.next_at = now;
    }

    /// A read of the registry while settling found `held`.
    fn settle_read(&mut self, now: UnixMillis, held: ChainHolds) {
        self.node_answered();
        self.audit(now, AuditEvent::ChainRead { held });
        let Phase::Settle(settle) = &mut self.parts.phase else {
            return;
        };
        match (settle.stage, held) {
            (SettleStage::Reread { head, .. }, ChainHolds::Nothing) => {
                self.settle_nothing(now, Some(head));
            }
            (_, ChainHolds::Nothing) => self.settle_nothing(now, None),
            (
                SettleStage::Reread {
                    held: before,
                    seen_at_head,
                    head,
                },
                _,
            ) if before == held => self.settle_final(now, held, seen_at_head, head),
            // Something new (first read, or it changed since): wait for the
            // confirmations, then read again.
            _ => {
                settle.stage = SettleStage::Wait {
                    held,
                    seen_at_head: None,
                };
                self.parts.next_at = now;
            }
        }
    }

    /// The registry holds nothing: send again, or give up as not anchored
    /// once nothing sent can still be pending.
    fn settle_nothing(&mut self, now: UnixMillis, read_at_head: Option<u64>) {
        // A transaction sent (or whose submission answer was lost) may still
        // be pending; like a pending transaction, it counts as dropped once
        // `inclusion_timeout_ms` has passed. Until then, read again then.
        let quiet = self
            .parts
            .last_submit_at
            .map(|at| at.saturating_add_ms(self.parts.config.inclusion_timeout_ms));
        if let (Phase::Settle(settle), Some(quiet)) = (&mut self.parts.phase, quiet)
            && matches!(settle.fallback, Fallback::GiveUp(_))
            && now < quiet
        {
            settle.stage = SettleStage::Read;
            self.parts.next_at = quiet;
            return;
        }
        let Phase::Settle(settle) = std::mem::replace(&mut self.parts.phase, Phase::Submit) else {
            return;
        };
        match settle.fallback {
            Fallback::Resubmit | Fallback::Replay => self.parts.next_at = now,
            Fallback::GiveUp(cause) => self.finish_invalid(
                now,
                InvalidReason::NotAnchored {
                    cause: Box::new(cause),
                    read_at_head,
                },
            ),
        }
    }

    /// The registry cannot be read: send again anyway (the registry refuses
    /// a second anchoring), or give up inconclusive.
    pub(super) fn settle_unreadable(&mut self, now: UnixMillis) {
        let Phase::Settle(settle) = std::mem::replace(&mut self.parts.phase, Phase::Submit) else {
            return;
        };
        match settle.fallback {
            Fallback::Resubmit | Fallback::Replay => self.parts.next_at = now,
            Fallback::GiveUp(reason) => self.finish_invalid(now, reason),
        }
    }

    /// Two reads, `depth - 1` blocks apart, found the same thing.
    fn settle_final(&mut self, now: UnixMillis, held: ChainHolds, seen_at_head: u64, head: u64) {
        let Some(submission) = &self.parts.submission else {
            return;
        };
        let replay =
            matches!(&self.parts.phase, Phase::Settle(s) if matches!(s.fallback, Fallback::Replay));
        match held {
            ChainHolds::Ours => {
                let recovered = Recovered::of(submission, seen_at_head, head);
                self.finish_valid(
                    now,
                    &Anchor {
                        tx_hash: None,
                        block_number: None,
                        block_hash: None,
                        log_index: None,
                        gas_used: None,
                        replay,
                        recovered: Some(Box::new(recovered)),
                        batch: None,
                        final_block: self.parts.final_block.map(Box::new),
                    },
                );
            }
            ChainHolds::OtherHash { record_hash } => self.finish_invalid(
                now,
                InvalidReason::AnchoredWithOtherHash {
                    stored_record_hash: record_hash,
                },
            ),
            ChainHolds::OtherBatch {
                leaf_count,
                batch_id,
            } => self.finish_invalid(
                now,
                InvalidReason::RootAnchoredWithOtherBatch {
                    stored_leaf_count: leaf_count,
                    stored_batch_id: batch_id,
                },
            ),
            ChainHolds::Nothing => self.settle_nothing(now, Some(head)),
        }
    }
}

impl Recovered {
    fn of(submission: &Submission, seen_at_head: u64, confirmed_at_head: u64) -> Self {
        let (event, event_topic, key, by) = match submission.anchoring {
            Anchoring::Record { ti_id, .. } => (
                IEhrRegistry::RecordAnchored::SIGNATURE,
                IEhrRegistry::RecordAnchored::SIGNATURE_HASH,
                ti_id,
                "tiId",
            ),
            Anchoring::Batch { root, .. } => (
                IEhrRegistry::BatchAnchored::SIGNATURE,
                IEhrRegistry::BatchAnchored::SIGNATURE_HASH,
                root,
                "root",
            ),
        };
        let name = event.split('(').next().unwrap_or(event);
        let registry = submission.to;
        Self {
            seen_at_head,
            confirmed_at_head,
            registry,
            event: event.to_owned(),
            event_topic,
            key,
            note: format!(
                "anchored by a transaction the validator did not see mined (tx unknown): find the {name} event by {by} with eth_getLogs (address {registry}, topics [{event_topic}, {key}], toBlock {confirmed_at_head})"
            ),
        }
    }
}
