//! [`DevnetTransport`]: ehrchain-core's `Transport` over the in-process
//! [`Devnet`], so the Transaction Validator runs the whole TI → chain → ACK
//! flow with no server.

use std::collections::HashMap;

use alloy_primitives::{Address, B256, keccak256};
use alloy_sol_types::SolCall;
use ehrchain_core::registry_abi::IEhrRegistry;
use ehrchain_core::{
    AnchoredBatch, BatchReader, BlockRef, FinalityTag, Role, Submission, SubmissionStatus,
    Transport, TransportError, TxHash, TxReceipt,
};

use ehrchain_core::sharing::{ChainRead, ChainReader, MinedBlock};

use crate::EhrRegistry;
use crate::devnet::{Devnet, DevnetError};

/// A `Transport` over a [`Devnet`] that mines like Ganache's default
/// ("instamine"): every submission is executed and its block closed at once,
/// and every read of the head closes one more (empty) block, so confirmations
/// grow while the validator waits. Its `safe` and `finalized` blocks are its
/// head (finality by tag is immediate, as on Ganache and Hardhat).
///
/// The sender of an `anchorRecord` is the account registered for the call's
/// role ([`DevnetTransport::set_sender`]; by default the devnet's named
/// doctor, nurse, pathologist and device accounts); batches and relayed
/// records (`anchorSignedRecord`, which the author signed) are sent by the
/// handshaker account, which needs `RELAYER_ROLE` for the latter. Block hashes are synthetic (`keccak256(chain id ‖
/// number)`): the devnet does not hash blocks.
#[derive(Debug)]
pub struct DevnetTransport {
    devnet: Devnet,
    senders: HashMap<B256, Address>,
    batch_sender: Address,
    receipts: HashMap<TxHash, crate::Receipt>,
    mine_on_head: bool,
}

impl DevnetTransport {
    /// A transport over `devnet`, with the named accounts as senders.
    #[must_use]
    pub fn new(devnet: Devnet) -> Self {
        let mut senders = HashMap::new();
        for (name, account) in [
            (Role::DOCTOR, Devnet::doctor()),
            (Role::NURSE, Devnet::nurse()),
            (Role::PATHOLOGIST, Devnet::pathologist()),
            (Role::DEVICE, Devnet::device()),
        ] {
            if let Ok(role) = Role::new(name) {
                senders.insert(role.id(), account);
            }
        }
        Self {
            devnet,
            senders,
            batch_sender: Devnet::handshaker(),
            receipts: HashMap::new(),
            mine_on_head: true,
        }
    }

    /// Sends `anchorRecord` calls for `role` from `account`.
    pub fn set_sender(&mut self, role: &Role, account: Address) {
        self.senders.insert(role.id(), account);
    }

    /// Whether reading the head closes a block (default `true`).
    pub fn set_mine_on_head(&mut self, mine: bool) {
        self.mine_on_head = mine;
    }

    /// The devnet.
    #[must_use]
    pub fn devnet(&self) -> &Devnet {
        &self.devnet
    }

    /// The devnet, to mine, move time or grant roles.
    pub fn devnet_mut(&mut self) -> &mut Devnet {
        &mut self.devnet
    }

    /// The devnet's full receipt of a transaction sent through this transport.
    #[must_use]
    pub fn devnet_receipt(&self, tx_hash: &TxHash) -> Option<&crate::Receipt> {
        self.receipts.get(tx_hash)
    }

    /// The synthetic hash of block `number`.
    #[must_use]
    pub fn block_hash(&self, number: u64) -> B256 {
        keccak256(
            [
                &self.devnet.chain_id().to_be_bytes()[..],
                &number.to_be_bytes(),
            ]
            .concat(),
        )
    }

    fn sender_of(&self, submission: &Submission) -> Address {
        IEhrRegistry::anchorRecordCall::abi_decode(&submission.calldata)
            .ok()
            .and_then(|call| self.senders.get(&call.role).copied())
            .unwrap_or(self.batch_sender)
    }
}

fn read_error(e: &DevnetError) -> TransportError {
    TransportError::Malformed(e.to_string())
}

/// Sharing's reads on the devnet's current block ([`Devnet`]'s
/// `ChainReader`).
impl ChainReader for DevnetTransport {
    fn mined_block(&mut self) -> Result<MinedBlock, TransportError> {
        self.devnet.mined_block()
    }

    fn read_at(
        &mut self,
        block: &MinedBlock,
        reads: &[ChainRead],
    ) -> Result<Vec<alloy_primitives::Bytes>, TransportError> {
        self.devnet.read_at(block, reads)
    }
}

impl BatchReader for DevnetTransport {
    type Error = TransportError;

    fn anchored_batch(&mut self, root: &B256) -> Result<Option<AnchoredBatch>, TransportError> {
        self.devnet.anchored_batch(root).map_err(|e| read_error(&e))
    }
}

impl Transport for DevnetTransport {
    fn chain_id(&self) -> u64 {
        self.devnet.chain_id()
    }
    fn registry(&self) -> Address {
        self.devnet.registry()
    }
    fn submit(&mut self, submission: &Submission) -> Result<TxHash, TransportError> {
        if submission.chain_id != self.devnet.chain_id() {
            return Err(TransportError::WrongChain {
                expected: submission.chain_id,
                actual: Some(self.devnet.chain_id()),
            });
        }
        let from = self.sender_of(submission);
        let receipt = self
            .devnet
            .execute(from, submission.to, submission.calldata.clone())
            .map_err(|e| TransportError::Rejected(e.to_string()))?;
        self.devnet.mine();
        let tx_hash = TxHash(receipt.tx_hash);
        self.receipts.insert(tx_hash, receipt);
        Ok(tx_hash)
    }

    fn poll(
        &mut self,
        tx_hash: &TxHash,
        submission: &Submission,
    ) -> Result<SubmissionStatus, TransportError> {
        let Some(receipt) = self.receipts.get(tx_hash) else {
            return Ok(SubmissionStatus::Dropped);
        };
        let block = receipt.block_number;
        // The devnet's receipts carry no block-wide log index; the position in
        // the transaction's own logs is that index while each block holds one
        // transaction, which `submit` ensures by closing the block at once.
        let anchor_log_index = receipt
            .logs
            .iter()
            .position(|log| submission.is_anchoring_event(log.address, &log.data))
            .and_then(|i| u64::try_from(i).ok());
        Ok(SubmissionStatus::Included(TxReceipt {
            tx_hash: *tx_hash,
            status: receipt.status(),
            block_number: block,
            block_hash: self.block_hash(block),
            anchor_log_index,
            gas_used: receipt.gas_used,
            revert_data: (!receipt.status()).then(|| receipt.output.clone()),
        }))
    }

    fn head(&mut self) -> Result<u64, TransportError> {
        if self.mine_on_head {
            self.devnet.mine();
        }
        // The devnet's current block is still open; the head is the last closed one.
        Ok(self.devnet.block_number().saturating_sub(1))
    }

    /// The devnet's head, as Ganache and Hardhat answer: no consensus layer,
    /// nothing lags behind the last closed block (no block is mined for it).
    fn block_at(&mut self, _tag: FinalityTag) -> Result<Option<BlockRef>, TransportError> {
        let number = self.devnet.block_number().saturating_sub(1);
        Ok(Some(BlockRef {
            number,
            hash: self.block_hash(number),
        }))
    }

    fn record_hash_of(&mut self, ti_id: &B256) -> Result<Option<B256>, TransportError> {
        let stored = self
            .devnet
            .view(&EhrRegistry::recordHashOfCall { tiId: *ti_id })
            .map_err(|e| read_error(&e))?;
        Ok((!stored.is_zero()).then_some(stored))
    }
}
