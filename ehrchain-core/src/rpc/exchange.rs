//! [`Exchange`]: one validator action ([`Transmit`]) carried out as the
//! JSON-RPC requests it takes, sans-I/O. The host posts
//! [`Exchange::request`], hands the classified answer to
//! [`Exchange::handle_answer`], and repeats until the exchange is done;
//! [`Exchange::finish`] then hands the result to the validator.
//!
//! ```text
//! submit      eth_estimateGas ─▶ eth_sendTransaction          (a revert: never sent)
//! poll        eth_getTransactionReceipt ─┬▶ (null) eth_getTransactionByHash ─▶ pending / dropped
//!                                        └▶ (status 0) eth_getTransactionByHash ─▶ eth_call at its block
//! read_head   [evm_mine ─▶] eth_blockNumber
//! read_block  eth_getBlockByNumber(safe | finalized)       (null or "not found": none yet)
//! read_record eth_call recordHashOf(tiId) at latest
//! read_batch  eth_call batchOf(root) at latest
//! ```

use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::SolCall;
use serde_json::Value;

use super::{BlockTag, RpcRequest, TxFields};
use crate::batch::AnchoredBatch;
use crate::driver::TakesReads;
use crate::finality::{BlockRef, FinalityTag};
use crate::registry_abi::IEhrRegistry;
use crate::time::UnixMillis;
use crate::transport::{Submission, SubmissionStatus, TransportError, TxHash, TxReceipt};
use crate::validator::{TransactionValidator, Transmit, ValidatorError};

/// What an [`Exchange`] needs to know beyond the action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExchangeConfig {
    /// The chain the transport is for.
    pub chain_id: u64,
    /// The `EhrRegistry` read by `read_record` and `read_batch`.
    pub registry: Address,
    /// The unlocked account that sends a submission (`None`: a submission
    /// fails with [`TransportError::Rejected`]).
    pub from: Option<Address>,
    /// Percentage added to the node's gas estimate.
    pub gas_margin_percent: u64,
    /// Whether a head read first asks a development node to mine a block
    /// (`evm_mine`): manufactured confirmations, for hosts that ask for them.
    pub mine_on_head: bool,
}

/// The percentage added to a node's gas estimate unless the host says
/// otherwise.
pub const DEFAULT_GAS_MARGIN_PERCENT: u64 = 20;

impl ExchangeConfig {
    /// The defaults for a transport on `chain_id` reading `registry`: no
    /// sender, a [`DEFAULT_GAS_MARGIN_PERCENT`] gas margin, no mining.
    #[must_use]
    pub fn new(chain_id: u64, registry: Address) -> Self {
        Self {
            chain_id,
            registry,
            from: None,
            gas_margin_percent: DEFAULT_GAS_MARGIN_PERCENT,
            mine_on_head: false,
        }
    }
}

/// The result of an action, ready for the validator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Of `submit`.
    Submitted(Result<TxHash, TransportError>),
    /// Of `poll`.
    Polled(Result<SubmissionStatus, TransportError>),
    /// Of `read_head`.
    Head(Result<u64, TransportError>),
    /// Of `read_record`.
    Record(Result<Option<B256>, TransportError>),
    /// Of `read_batch`.
    Batch(Result<Option<AnchoredBatch>, TransportError>),
    /// Of `read_block`.
    Block(Result<Option<BlockRef>, TransportError>),
    /// Of `persist`, which is no JSON-RPC request: the host stores the
    /// outbox entry itself and calls `handle_persisted`.
    Persist,
}

impl Outcome {
    /// Hands the result to the validator that asked for the action.
    ///
    /// # Errors
    /// As the validator's `handle_*` methods.
    pub fn hand_to(
        self,
        validator: &mut TransactionValidator,
        now: UnixMillis,
    ) -> Result<(), ValidatorError> {
        match self {
            Self::Submitted(r) => validator.handle_submitted(now, r),
            Self::Persist => Err(ValidatorError::Unexpected(
                "a JSON-RPC result for a persist action (store the outbox entry, then call handle_persisted)",
            )),
            read => read.hand_read_to(validator, now).unwrap_or(Ok(())),
        }
    }

    /// Hands a read's result to the state machine that asked for the read
    /// (a validator, or an [`AnchorWatcher`](crate::AnchorWatcher)); `None`
    /// for the outcome of a submission or a persist, which only the
    /// validator that asked takes ([`hand_to`](Self::hand_to)).
    pub fn hand_read_to<M: TakesReads>(
        self,
        machine: &mut M,
        now: UnixMillis,
    ) -> Option<Result<(), M::Error>> {
        Some(match self {
            Self::Polled(r) => machine.handle_receipt(now, r),
            Self::Head(r) => machine.handle_head(now, r),
            Self::Record(r) => machine.handle_record(now, r),
            Self::Batch(r) => machine.handle_batch(now, r),
            Self::Block(r) => machine.handle_block(now, r),
            Self::Submitted(_) | Self::Persist => return None,
        })
    }
}

#[derive(Clone, Debug)]
enum Stage {
    Estimate(TxFields),
    Send,
    Receipt {
        tx_hash: TxHash,
        submission: Option<Submission>,
    },
    Known,
    Replay {
        receipt: TxReceipt,
        asked_tx: bool,
    },
    Mine,
    BlockNumber,
    Record,
    Batch(B256),
    Block(FinalityTag),
    Done(Outcome),
}

/// One action carried out over JSON-RPC (see the [module docs](crate::rpc)).
#[derive(Clone, Debug)]
pub struct Exchange {
    config: ExchangeConfig,
    stage: Stage,
    request: Option<RpcRequest>,
}

impl Exchange {
    /// The exchange for `transmit`.
    #[must_use]
    pub fn new(transmit: &Transmit, config: ExchangeConfig) -> Self {
        let view =
            |data: Vec<u8>| RpcRequest::view(config.registry, &data.into(), BlockTag::Latest);
        let (stage, request) = match transmit {
            Transmit::Submit { submission } => match config.from {
                _ if submission.chain_id != config.chain_id => (
                    Stage::Done(Outcome::Submitted(Err(TransportError::WrongChain {
                        expected: submission.chain_id,
                        actual: Some(config.chain_id),
                    }))),
                    None,
                ),
                None => (
                    Stage::Done(Outcome::Submitted(Err(TransportError::Rejected(
                        "no sending account is configured for this transaction's role".to_owned(),
                    )))),
                    None,
                ),
                Some(from) => {
                    return Self::send(
                        TxFields {
                            from,
                            to: Some(submission.to),
                            data: submission.calldata.clone(),
                            value: None,
                        },
                        config,
                    );
                }
            },
            Transmit::Poll {
                tx_hash,
                submission,
            } => return Self::poll(*tx_hash, Some(submission.clone()), config),
            Transmit::ReadHead if config.mine_on_head => (Stage::Mine, Some(RpcRequest::mine())),
            Transmit::ReadHead => (Stage::BlockNumber, Some(RpcRequest::block_number())),
            Transmit::ReadRecord { ti_id } => (
                Stage::Record,
                Some(view(
                    IEhrRegistry::recordHashOfCall { tiId: *ti_id }.abi_encode(),
                )),
            ),
            Transmit::ReadBatch { root } => (
                Stage::Batch(*root),
                Some(view(IEhrRegistry::batchOfCall { root: *root }.abi_encode())),
            ),
            Transmit::ReadBlock { tag } => {
                (Stage::Block(*tag), Some(RpcRequest::block(tag.block_tag())))
            }
            Transmit::Persist => (Stage::Done(Outcome::Persist), None),
        };
        Self {
            config,
            stage,
            request,
        }
    }

    /// Sends `tx` from an unlocked account: estimates its gas (a revert ends
    /// the exchange with [`TransportError::Reverted`]: nothing is sent), then
    /// `eth_sendTransaction` with the [`gas_limit`] of the estimate. Ends
    /// with [`Outcome::Submitted`].
    #[must_use]
    pub fn send(tx: TxFields, config: ExchangeConfig) -> Self {
        let request = RpcRequest::estimate_gas(&tx);
        Self {
            config,
            stage: Stage::Estimate(tx),
            request: Some(request),
        }
    }

    /// Where `tx_hash` stands: its receipt (with the revert data of a failed
    /// one), or pending / dropped. `submission` (what was sent) finds the
    /// anchoring event. Ends with [`Outcome::Polled`].
    #[must_use]
    pub fn poll(tx_hash: TxHash, submission: Option<Submission>, config: ExchangeConfig) -> Self {
        Self {
            config,
            stage: Stage::Receipt {
                tx_hash,
                submission,
            },
            request: Some(RpcRequest::receipt(&tx_hash)),
        }
    }

    /// The settings the exchange was made with.
    #[must_use]
    pub fn config(&self) -> &ExchangeConfig {
        &self.config
    }

    /// The request to post next, or `None` once the exchange is done.
    #[must_use]
    pub fn request(&self) -> Option<&RpcRequest> {
        self.request.as_ref()
    }

    /// Whether the exchange is done ([`Exchange::finish`] gives the result).
    #[must_use]
    pub fn is_done(&self) -> bool {
        matches!(self.stage, Stage::Done(_))
    }

    /// The answer to [`Exchange::request`], as the core's classifiers
    /// ([`classify_http`](super::classify_http),
    /// [`classify_error`](super::classify_error)) gave it, or the host's own
    /// transport error (no connection, a timeout). Ignored once done.
    pub fn handle_answer(&mut self, answer: Result<Value, TransportError>) {
        let stage = std::mem::replace(&mut self.stage, Stage::BlockNumber);
        let (stage, request) = self.advance(stage, answer);
        self.stage = stage;
        self.request = request;
    }

    /// The result, once done (`None` before).
    #[must_use]
    pub fn finish(self) -> Option<Outcome> {
        match self.stage {
            Stage::Done(outcome) => Some(outcome),
            _ => None,
        }
    }

    fn advance(
        &self,
        stage: Stage,
        answer: Result<Value, TransportError>,
    ) -> (Stage, Option<RpcRequest>) {
        let done = |outcome| (Stage::Done(outcome), None);
        match stage {
            Stage::Done(outcome) => done(outcome),
            Stage::Estimate(tx) => {
                match answer.and_then(|v| super::quantity(&v, "eth_estimateGas")) {
                    Ok(estimate) => {
                        let gas = gas_limit(estimate, self.config.gas_margin_percent);
                        let request = RpcRequest::send_transaction(&tx, gas);
                        (Stage::Send, Some(request))
                    }
                    // A revert is never sent: the validator ends the TI with it.
                    Err(e) => done(Outcome::Submitted(Err(e))),
                }
            }
            Stage::Send => done(Outcome::Submitted(answer.and_then(|v| super::tx_hash(&v)))),
            Stage::Receipt {
                tx_hash,
                submission,
            } => match answer.and_then(|v| super::receipt(&v, &tx_hash, submission.as_ref())) {
                Ok(None) => (Stage::Known, Some(RpcRequest::transaction(&tx_hash))),
                Ok(Some(receipt)) if receipt.revert_data.is_none() && !receipt.status => (
                    Stage::Replay {
                        receipt,
                        asked_tx: false,
                    },
                    Some(RpcRequest::transaction(&tx_hash)),
                ),
                Ok(Some(receipt)) => done(Outcome::Polled(Ok(SubmissionStatus::Included(receipt)))),
                Err(e) => done(Outcome::Polled(Err(e))),
            },
            Stage::Known => done(Outcome::Polled(
                answer.and_then(|v| super::transaction(&v)).map(|known| {
                    if known.is_some() {
                        SubmissionStatus::Pending
                    } else {
                        SubmissionStatus::Dropped
                    }
                }),
            )),
            Stage::Replay {
                receipt,
                asked_tx: false,
            } => match answer.and_then(|v| super::transaction(&v)) {
                Ok(Some(tx)) => {
                    let request = RpcRequest::replay(&tx, receipt.block_number);
                    (
                        Stage::Replay {
                            receipt,
                            asked_tx: true,
                        },
                        Some(request),
                    )
                }
                Ok(None) => done(included_with(receipt, Ok(Bytes::new()))),
                Err(e) => done(Outcome::Polled(Err(e))),
            },
            Stage::Replay {
                receipt,
                asked_tx: true,
            } => done(included_with(receipt, super::replay_outcome(answer))),
            Stage::Mine => match answer {
                Ok(_) => (Stage::BlockNumber, Some(RpcRequest::block_number())),
                Err(e) => done(Outcome::Head(Err(e))),
            },
            Stage::BlockNumber => done(Outcome::Head(
                answer.and_then(|v| super::quantity(&v, "eth_blockNumber")),
            )),
            Stage::Block(tag) => done(Outcome::Block(match answer {
                Ok(v) => super::block(&v),
                Err(TransportError::Rejected(text)) => tag_refused(tag, text),
                Err(e) => Err(e),
            })),
            Stage::Record => done(Outcome::Record(
                answer.and_then(|v| super::data(&v)).and_then(|data| {
                    let stored = IEhrRegistry::recordHashOfCall::abi_decode_returns(&data)
                        .map_err(undecodable)?;
                    Ok((!stored.is_zero()).then_some(stored))
                }),
            )),
            Stage::Batch(root) => done(Outcome::Batch(
                answer.and_then(|v| super::data(&v)).and_then(|data| {
                    let batch = IEhrRegistry::batchOfCall::abi_decode_returns(&data)
                        .map_err(undecodable)?;
                    Ok(AnchoredBatch::of_batch_of(root, &batch))
                }),
            )),
        }
    }
}

/// The gas limit for a node's estimate: the estimate plus `margin_percent`.
#[must_use]
pub fn gas_limit(estimate: u64, margin_percent: u64) -> u64 {
    estimate.saturating_add(estimate.saturating_mul(margin_percent) / 100)
}

fn included_with(mut receipt: TxReceipt, revert: Result<Bytes, TransportError>) -> Outcome {
    Outcome::Polled(revert.map(|data| {
        receipt.revert_data = Some(data);
        SubmissionStatus::Included(receipt)
    }))
}

/// A refused read of the block under `tag`: "not found" (Geth, Besu before
/// the first finalization) is no such block yet; anything else (Hardhat on a
/// pre-merge hardfork, an older node) is the node refusing the tag.
fn tag_refused(tag: FinalityTag, text: String) -> Result<Option<BlockRef>, TransportError> {
    let lower = text.to_ascii_lowercase();
    if lower.contains("not found") {
        return Ok(None);
    }
    Err(TransportError::Rejected(format!(
        "the node refuses the '{}' block tag ({text}); on a pre-merge chain or an older node, configure depth finality (confirmations)",
        tag.name()
    )))
}

fn undecodable(e: alloy_sol_types::Error) -> TransportError {
    TransportError::Malformed(format!("the registry's answer does not decode: {e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use serde_json::json;

    use super::*;
    use crate::rpc::classify_response;
    use crate::transport::Anchoring;

    const CHAIN: u64 = 1337;

    fn config(from: Option<Address>) -> ExchangeConfig {
        ExchangeConfig {
            chain_id: CHAIN,
            registry: Address::repeat_byte(0xee),
            from,
            gas_margin_percent: 20,
            mine_on_head: false,
        }
    }

    fn submission() -> Submission {
        Submission {
            to: Address::repeat_byte(0xee),
            chain_id: CHAIN,
            calldata: Bytes::from_static(&[1, 2]),
            anchoring: Anchoring::Record {
                ti_id: B256::repeat_byte(1),
                record_hash: B256::repeat_byte(2),
            },
        }
    }

    /// Answers each request of `exchange` in turn; returns the methods asked.
    fn run(exchange: &mut Exchange, answers: &[Value]) -> Vec<&'static str> {
        let mut methods = Vec::new();
        for answer in answers {
            let method = exchange.request().unwrap().method;
            methods.push(method);
            exchange.handle_answer(classify_response(answer, CHAIN));
        }
        assert!(exchange.request().is_none(), "asked more than {methods:?}");
        methods
    }

    #[test]
    fn an_estimate_that_reverts_is_never_sent() {
        let transmit = Transmit::Submit {
            submission: submission(),
        };
        let mut ex = Exchange::new(&transmit, config(Some(Address::repeat_byte(3))));
        let reverted = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": 3, "message": "execution reverted", "data": "0xe2517d3f"}});
        assert_eq!(run(&mut ex, &[reverted]), ["eth_estimateGas"]);
        let Some(Outcome::Submitted(Err(TransportError::Reverted(revert)))) = ex.finish() else {
            panic!("not a revert");
        };
        assert_eq!(revert.data, Bytes::from_static(&[0xe2, 0x51, 0x7d, 0x3f]));
    }

    #[test]
    fn a_send_carries_the_estimate_and_its_margin() {
        let transmit = Transmit::Submit {
            submission: submission(),
        };
        let mut ex = Exchange::new(&transmit, config(Some(Address::repeat_byte(3))));
        assert_eq!(ex.request().unwrap().method, "eth_estimateGas");
        ex.handle_answer(Ok(json!("0x64")));
        assert_eq!(ex.request().unwrap().params[0]["gas"], json!("0x78"));
        let hash = format!("0x{}", "ab".repeat(32));
        ex.handle_answer(Ok(json!(hash)));
        assert_eq!(
            ex.finish(),
            Some(Outcome::Submitted(Ok(TxHash(B256::repeat_byte(0xab)))))
        );
    }

    #[test]
    fn a_failed_receipt_is_replayed_at_its_block_for_its_revert_data() {
        let tx_hash = TxHash(B256::repeat_byte(0x11));
        let mut ex = Exchange::poll(tx_hash, Some(submission()), config(None));
        let receipt = json!({"result": {"transactionHash": tx_hash.0, "blockNumber": "0x5", "blockHash": B256::repeat_byte(2),
            "status": "0x0", "gasUsed": "0x6833", "logs": []}});
        let tx = json!({"result": {"from": Address::repeat_byte(3), "to": Address::repeat_byte(0xee), "input": "0x0102", "value": "0x0", "gas": "0x7a120"}});
        let revert = json!({"error": {"code": -32000, "message": "VM Exception while processing transaction: revert", "data": "0xe2517d3f"}});
        assert_eq!(
            run(&mut ex, &[receipt, tx, revert]),
            [
                "eth_getTransactionReceipt",
                "eth_getTransactionByHash",
                "eth_call"
            ]
        );
        let Some(Outcome::Polled(Ok(SubmissionStatus::Included(r)))) = ex.finish() else {
            panic!("not included");
        };
        assert_eq!((r.status, r.block_number), (false, 5));
        assert_eq!(
            r.revert_data,
            Some(Bytes::from_static(&[0xe2, 0x51, 0x7d, 0x3f]))
        );
    }

    /// The answers to `eth_getBlockByNumber("finalized", false)` seen from
    /// real nodes: Ganache 7.9.2 and Hardhat 2.29 on Shanghai answer their
    /// latest block; Geth before the first finalization "not found";
    /// Hardhat on a pre-merge hardfork refuses the tag.
    #[test]
    fn a_block_by_tag_is_read_and_refusals_are_told_apart() {
        let read = |answer: Value| {
            let mut ex = Exchange::new(
                &Transmit::ReadBlock {
                    tag: FinalityTag::Finalized,
                },
                config(None),
            );
            assert_eq!(
                ex.request().unwrap().params,
                vec![json!("finalized"), json!(false)]
            );
            run(&mut ex, &[answer]);
            match ex.finish() {
                Some(Outcome::Block(block)) => block,
                other => panic!("not a block: {other:?}"),
            }
        };
        let hash = B256::repeat_byte(0x5d);
        assert_eq!(
            read(json!({"result": {"number": "0x2", "hash": hash, "parentHash": B256::ZERO}})),
            Ok(Some(BlockRef { number: 2, hash }))
        );
        assert_eq!(read(json!({"result": null})), Ok(None));
        assert_eq!(
            read(json!({"error": {"code": -32000, "message": "finalized block not found"}})),
            Ok(None)
        );
        let pre_merge = read(json!({"error": {"code": -32602,
            "message": "The 'finalized' block tag is not allowed in pre-merge hardforks. You are using the 'LONDON' hardfork."}}));
        let Err(TransportError::Rejected(text)) = pre_merge else {
            panic!("not refused: {pre_merge:?}");
        };
        assert_eq!(
            text,
            "the node refuses the 'finalized' block tag (JSON-RPC error -32602: The 'finalized' block tag is not allowed in pre-merge hardforks. You are using the 'LONDON' hardfork.); on a pre-merge chain or an older node, configure depth finality (confirmations)"
        );
    }

    #[test]
    fn heads_mine_only_when_asked_and_unknown_transactions_are_dropped() {
        let mut ex = Exchange::new(
            &Transmit::ReadHead,
            ExchangeConfig {
                mine_on_head: true,
                ..config(None)
            },
        );
        assert_eq!(
            run(
                &mut ex,
                &[json!({"result": "0x0"}), json!({"result": "0x2a"})]
            ),
            ["evm_mine", "eth_blockNumber"]
        );
        assert_eq!(ex.finish(), Some(Outcome::Head(Ok(42))));
        let mut ex = Exchange::poll(TxHash(B256::repeat_byte(1)), None, config(None));
        run(&mut ex, &[json!({"result": null}), json!({"result": null})]);
        assert_eq!(
            ex.finish(),
            Some(Outcome::Polled(Ok(SubmissionStatus::Dropped)))
        );
        let transmit = Transmit::Submit {
            submission: submission(),
        };
        let ex = Exchange::new(&transmit, config(None));
        assert!(ex.request().is_none());
        assert!(matches!(
            ex.finish(),
            Some(Outcome::Submitted(Err(TransportError::Rejected(_))))
        ));
    }
}
