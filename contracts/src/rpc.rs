//! [`RpcTransport`]: ehrchain-core's `Transport` over a JSON-RPC node
//! (Ganache, Hardhat, Anvil, Geth, Besu, any EVM chain) with alloy's provider,
//! and [`deploy_registry`], [`grant_role`] and [`register_template`], which
//! set a registry up on such a node.
//!
//! The `Transport` trait is blocking; the transport owns a small
//! current-thread tokio runtime and blocks on each call, with a timeout.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_provider::network::eip2718::Encodable2718;
use alloy_provider::network::{
    Ethereum, EthereumWallet, NetworkTransactionBuilder, ReceiptResponse, TransactionBuilder,
    TransactionResponse,
};
use alloy_provider::transport::{RpcError, TransportErrorKind};
use alloy_provider::{Provider, RootProvider};
use alloy_rpc_types_eth::{BlockId, TransactionRequest, TransactionTrait};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolCall;
use ehrchain_core::registry_abi::IEhrRegistry;
use ehrchain_core::{
    AnchoredBatch, BatchReader, Role, Submission, SubmissionStatus, Template, TemplateRegistry,
    Transport, TransportError, TxHash, TxReceipt,
};

use crate::EhrRegistry;

type NodeError = RpcError<TransportErrorKind>;

/// How [`RpcTransport`] prices the transactions it signs itself (accounts
/// added with [`RpcTransport::add_local_key`]). Unlocked accounts are priced
/// by the node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FeeMode {
    /// Legacy (type 0) transactions at the node's `eth_gasPrice`.
    #[default]
    Legacy,
    /// EIP-1559 (type 2) transactions with fees from `eth_feeHistory`.
    Eip1559,
}

/// Settings of an [`RpcTransport`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcConfig {
    /// The chain the node must be on: [`RpcTransport::connect`] refuses a
    /// node on another chain.
    pub chain_id: u64,
    /// The `EhrRegistry` contract read by `record_hash_of` and
    /// `anchored_batch` (zero until one is deployed, see
    /// [`RpcTransport::set_registry`]).
    pub registry: Address,
    /// The longest a single JSON-RPC exchange may take before it counts as
    /// [`TransportError::Unavailable`] (retryable).
    pub timeout: Duration,
    /// How locally signed transactions are priced.
    pub fees: FeeMode,
    /// Percentage added to the node's gas estimate.
    pub gas_margin_percent: u64,
    /// The gas limit of a transaction whose gas estimate reverts: it is sent
    /// anyway, so that the chain records the refusal and the validator reads
    /// the decoded revert from its receipt (and a "TI id already used" revert
    /// becomes a replay, not a lost record).
    pub gas_limit_on_revert: u64,
}

impl RpcConfig {
    /// Defaults for a node on `chain_id`: a 30 s timeout, legacy fees, a 20 %
    /// gas margin and 500,000 gas for transactions the estimate says revert.
    #[must_use]
    pub fn new(chain_id: u64) -> Self {
        Self {
            chain_id,
            registry: Address::ZERO,
            timeout: Duration::from_secs(30),
            fees: FeeMode::Legacy,
            gas_margin_percent: 20,
            gas_limit_on_revert: 500_000,
        }
    }
}

/// A `Transport` over a JSON-RPC node.
///
/// - **Senders**: the sender of an `anchorRecord` is the account registered
///   for the call's role ([`RpcTransport::set_sender`]); every other
///   transaction (batches, deployment, administration) comes from the default
///   sender ([`RpcTransport::set_default_sender`]).
/// - **Signing**: an account whose key was added with
///   [`RpcTransport::add_local_key`] signs raw transactions locally
///   (`eth_sendRawTransaction`, nonces tracked here and re-read from the node
///   after any failed send); any other account must be unlocked on the node
///   (`eth_sendTransaction`, as Ganache's and Hardhat's accounts are).
/// - **Gas**: every transaction is estimated (`eth_estimateGas`) plus a
///   margin; one the estimate says reverts is sent with
///   [`RpcConfig::gas_limit_on_revert`] so that its refusal is on chain.
/// - **Receipts**: block number and hash, the anchoring event's block-wide log
///   index, gas used and status; for a reverted transaction, the revert data
///   the node gave when it was sent (Ganache) or else from re-running it with
///   `eth_call` at its block.
/// - **Errors**: network failures and timeouts are
///   [`TransportError::Unavailable`], HTTP 429 and JSON-RPC rate limits
///   [`TransportError::RateLimited`] (both retryable); JSON-RPC errors are
///   [`TransportError::Rejected`] and unreadable answers
///   [`TransportError::Malformed`] (permanent).
pub struct RpcTransport {
    runtime: tokio::runtime::Runtime,
    provider: RootProvider,
    config: RpcConfig,
    senders: HashMap<B256, Address>,
    default_sender: Option<Address>,
    keys: HashMap<Address, PrivateKeySigner>,
    nonces: HashMap<Address, u64>,
    known_reverts: HashMap<TxHash, Bytes>,
    mine_on_head: bool,
}

impl std::fmt::Debug for RpcTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys stay out of logs: only their addresses.
        f.debug_struct("RpcTransport")
            .field("config", &self.config)
            .field("senders", &self.senders)
            .field("default_sender", &self.default_sender)
            .field("local_keys", &self.keys.keys().collect::<Vec<_>>())
            .field("nonces", &self.nonces)
            .field("mine_on_head", &self.mine_on_head)
            .finish_non_exhaustive()
    }
}

impl RpcTransport {
    /// Connects to the node at `url` (`http://` or `https://`) and checks
    /// that it is on `config.chain_id`.
    ///
    /// # Errors
    /// [`TransportError::WrongChain`] for a node on another chain;
    /// [`TransportError::Unavailable`] when the node does not answer;
    /// [`TransportError::Rejected`] for a URL that cannot be used.
    pub fn connect(url: &str, config: RpcConfig) -> Result<Self, TransportError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| {
                TransportError::Unavailable(format!("cannot start an I/O runtime: {e}"))
            })?;
        let timeout = config.timeout;
        let provider = runtime
            .block_on(async { tokio::time::timeout(timeout, RootProvider::connect(url)).await })
            .map_err(|_| timed_out(timeout))?
            .map_err(|e| match e {
                RpcError::Transport(kind) => {
                    TransportError::Rejected(format!("cannot use the node URL {url:?}: {kind}"))
                }
                other => node_error(&other),
            })?;
        let transport = Self {
            runtime,
            provider,
            config,
            senders: HashMap::new(),
            default_sender: None,
            keys: HashMap::new(),
            nonces: HashMap::new(),
            known_reverts: HashMap::new(),
            mine_on_head: false,
        };
        let actual = transport.block_on(transport.provider.get_chain_id().into_future())?;
        if actual != transport.config.chain_id {
            return Err(TransportError::WrongChain {
                expected: transport.config.chain_id,
                actual: Some(actual),
            });
        }
        Ok(transport)
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &RpcConfig {
        &self.config
    }

    /// The node's chain id (checked at construction).
    #[must_use]
    pub fn chain_id(&self) -> u64 {
        self.config.chain_id
    }

    /// The registry the transport reads.
    #[must_use]
    pub fn registry(&self) -> Address {
        self.config.registry
    }

    /// Reads `registry` from now on.
    pub fn set_registry(&mut self, registry: Address) {
        self.config.registry = registry;
    }

    /// Sends `anchorRecord` calls for `role` from `account`.
    pub fn set_sender(&mut self, role: &Role, account: Address) {
        self.senders.insert(role.id(), account);
    }

    /// Sends batches, administration calls and the calls of roles without a
    /// sender of their own from `account`.
    pub fn set_default_sender(&mut self, account: Address) {
        self.default_sender = Some(account);
    }

    /// Signs the transactions of the key's account locally from now on;
    /// returns that account.
    pub fn add_local_key(&mut self, key: PrivateKeySigner) -> Address {
        let address = key.address();
        self.nonces.remove(&address);
        self.keys.insert(address, key);
        address
    }

    /// Whether reading the head first asks the node to mine a block
    /// (`evm_mine`, a development-node method of Ganache, Hardhat and Anvil),
    /// so that confirmations grow on an instamining node. Default `false`.
    pub fn set_mine_on_head(&mut self, mine: bool) {
        self.mine_on_head = mine;
    }

    /// The node's unlocked accounts (`eth_accounts`).
    ///
    /// # Errors
    /// [`TransportError`] when the node could not be asked.
    pub fn accounts(&self) -> Result<Vec<Address>, TransportError> {
        self.block_on(self.provider.get_accounts().into_future())
    }

    /// The balance of `account` at the latest block.
    ///
    /// # Errors
    /// [`TransportError`] when the node could not be asked.
    pub fn balance(&self, account: Address) -> Result<U256, TransportError> {
        self.block_on(self.provider.get_balance(account).into_future())
    }

    /// The timestamp of the latest block, Unix seconds.
    ///
    /// # Errors
    /// [`TransportError`] when the node could not be asked or has no latest
    /// block.
    pub fn latest_timestamp(&self) -> Result<u64, TransportError> {
        let block = self.block_on(async {
            self.provider
                .get_block_by_number(alloy_rpc_types_eth::BlockNumberOrTag::Latest)
                .await
        })?;
        block
            .map(|b| b.header.timestamp)
            .ok_or_else(|| TransportError::Malformed("the node has no latest block".to_owned()))
    }

    /// Sends a transaction from `from` (to `to`, or creating a contract when
    /// `to` is `None`) with the transport's gas and signing rules; returns its
    /// hash.
    ///
    /// # Errors
    /// As [`Transport::submit`].
    pub fn send_from(
        &mut self,
        from: Address,
        to: Option<Address>,
        input: Bytes,
        value: U256,
    ) -> Result<TxHash, TransportError> {
        let mut request = TransactionRequest::default()
            .with_from(from)
            .with_value(value);
        request = match to {
            Some(to) => request.with_to(to).with_input(input),
            None => request.with_deploy_code(input),
        };
        let gas = match self.block_on_raw(self.provider.estimate_gas(request.clone()).into_future())
        {
            Ok(gas) => gas.saturating_add(gas.saturating_mul(self.config.gas_margin_percent) / 100),
            Err(e) if revert_of(&e).is_some() => self.config.gas_limit_on_revert,
            Err(e) => return Err(node_error(&e)),
        };
        let request = request.with_gas_limit(gas);
        match self.keys.get(&from).cloned() {
            Some(key) => self.send_signed(key, request),
            None => {
                let sent = self.block_on_raw(async {
                    self.provider
                        .send_transaction(request)
                        .await
                        .map(|pending| *pending.tx_hash())
                });
                self.sent(sent)
            }
        }
    }

    fn send_signed(
        &mut self,
        key: PrivateKeySigner,
        request: TransactionRequest,
    ) -> Result<TxHash, TransportError> {
        let from = key.address();
        let nonce = match self.nonces.get(&from) {
            Some(nonce) => *nonce,
            None => self.block_on(
                self.provider
                    .get_transaction_count(from)
                    .pending()
                    .into_future(),
            )?,
        };
        let request = request
            .with_nonce(nonce)
            .with_chain_id(self.config.chain_id);
        let request = match self.config.fees {
            FeeMode::Legacy => {
                let price = self.block_on(self.provider.get_gas_price().into_future())?;
                request.with_gas_price(price)
            }
            FeeMode::Eip1559 => {
                let fees = self.block_on(self.provider.estimate_eip1559_fees())?;
                request
                    .with_max_fee_per_gas(fees.max_fee_per_gas)
                    .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas)
            }
        };
        let wallet = EthereumWallet::new(key);
        let envelope = self
            .runtime
            .block_on(<TransactionRequest as NetworkTransactionBuilder<
                Ethereum,
            >>::build(request, &wallet))
            .map_err(|e| TransportError::Rejected(format!("cannot sign the transaction: {e}")))?;
        let raw = envelope.encoded_2718();
        let sent = self.block_on_raw(async {
            self.provider
                .send_raw_transaction(&raw)
                .await
                .map(|pending| *pending.tx_hash())
        });
        match self.sent(sent) {
            Ok(hash) => {
                self.nonces.insert(from, nonce.saturating_add(1));
                Ok(hash)
            }
            Err(e) => {
                // The node may or may not have taken it: ask it next time.
                self.nonces.remove(&from);
                Err(e)
            }
        }
    }

    /// The hash of a send, or the hash Ganache names in the error of a
    /// transaction it mined and that reverted (with `vmErrorsOnRPCResponse`).
    fn sent(&mut self, sent: Result<B256, NodeError>) -> Result<TxHash, TransportError> {
        match sent {
            Ok(hash) => Ok(TxHash(hash)),
            Err(e) => match revert_of(&e) {
                Some(Revert {
                    hash: Some(hash),
                    data,
                }) => {
                    self.known_reverts.insert(TxHash(hash), data);
                    Ok(TxHash(hash))
                }
                _ => Err(node_error(&e)),
            },
        }
    }

    /// Sends `call` to `to` from `from` and waits (up to the timeout) for its
    /// receipt.
    ///
    /// # Errors
    /// [`TransportError`] when it could not be sent or its receipt not read.
    pub fn send_call<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        call: &C,
    ) -> Result<TxReceipt, TransportError> {
        let hash = self.send_from(from, Some(to), call.abi_encode().into(), U256::ZERO)?;
        self.wait_for_receipt(&hash)
    }

    /// Waits (polling every 50 ms, up to the timeout) for the receipt of
    /// `tx_hash`. The receipt's revert data is read as in `poll`; its
    /// `anchor_log_index` is `None`.
    ///
    /// # Errors
    /// [`TransportError::Unavailable`] when no receipt came in time.
    pub fn wait_for_receipt(&mut self, tx_hash: &TxHash) -> Result<TxReceipt, TransportError> {
        let deadline = std::time::Instant::now() + self.config.timeout;
        loop {
            if let Some(receipt) = self.receipt(tx_hash, None)? {
                return Ok(receipt);
            }
            if std::time::Instant::now() >= deadline {
                return Err(TransportError::Unavailable(format!(
                    "no receipt for {tx_hash} after {:?}",
                    self.config.timeout
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The address of the contract a mined creation transaction deployed.
    ///
    /// # Errors
    /// [`TransportError::Malformed`] when the receipt names none.
    pub fn contract_address(&self, tx_hash: &TxHash) -> Result<Address, TransportError> {
        let receipt = self.block_on(
            self.provider
                .get_transaction_receipt(tx_hash.0)
                .into_future(),
        )?;
        receipt
            .and_then(|r| r.contract_address)
            .ok_or_else(|| TransportError::Malformed(format!("{tx_hash} created no contract")))
    }

    /// Calls the view `call` on the registry at the latest block.
    ///
    /// # Errors
    /// [`TransportError`] when the node could not be asked or the call
    /// reverts; [`TransportError::Malformed`] for an answer that does not
    /// decode.
    pub fn view<C: SolCall>(&self, call: &C) -> Result<C::Return, TransportError> {
        let request = TransactionRequest::default()
            .with_to(self.config.registry)
            .with_input(call.abi_encode());
        let out = self.block_on(self.provider.call(request).into_future())?;
        C::abi_decode_returns(&out).map_err(|e| {
            TransportError::Malformed(format!(
                "{} returned data that does not decode: {e}",
                C::SIGNATURE
            ))
        })
    }

    fn sender_of(&self, submission: &Submission) -> Result<Address, TransportError> {
        IEhrRegistry::anchorRecordCall::abi_decode(&submission.calldata)
            .ok()
            .and_then(|call| self.senders.get(&call.role).copied())
            .or(self.default_sender)
            .ok_or_else(|| {
                TransportError::Rejected(
                    "no sending account is configured for this transaction's role".to_owned(),
                )
            })
    }

    /// The receipt of `tx_hash`, or `None` while it is not mined.
    fn receipt(
        &mut self,
        tx_hash: &TxHash,
        submission: Option<&Submission>,
    ) -> Result<Option<TxReceipt>, TransportError> {
        let Some(receipt) = self.block_on(
            self.provider
                .get_transaction_receipt(tx_hash.0)
                .into_future(),
        )?
        else {
            return Ok(None);
        };
        let (Some(block_number), Some(block_hash)) = (receipt.block_number(), receipt.block_hash())
        else {
            return Ok(None);
        };
        let anchor_log_index = submission.and_then(|submission| {
            receipt
                .inner
                .logs()
                .iter()
                .find(|log| submission.is_anchoring_event(log.address(), log.data()))
                .and_then(|log| log.log_index)
        });
        let status = receipt.status();
        let revert_data = if status {
            None
        } else {
            Some(self.revert_data(tx_hash, block_number)?)
        };
        Ok(Some(TxReceipt {
            tx_hash: *tx_hash,
            status,
            block_number,
            block_hash,
            anchor_log_index,
            gas_used: receipt.gas_used(),
            revert_data,
        }))
    }

    /// The revert data of a reverted transaction: what the node said when it
    /// was sent, or what re-running it with `eth_call` at its block returns
    /// (empty when that does not revert, as after running out of gas).
    fn revert_data(&mut self, tx_hash: &TxHash, block: u64) -> Result<Bytes, TransportError> {
        if let Some(data) = self.known_reverts.get(tx_hash) {
            return Ok(data.clone());
        }
        let Some(tx) = self.block_on(
            self.provider
                .get_transaction_by_hash(tx_hash.0)
                .into_future(),
        )?
        else {
            return Ok(Bytes::new());
        };
        let mut request = TransactionRequest::default()
            .with_from(tx.from())
            .with_input(tx.input().clone())
            .with_value(tx.value())
            .with_gas_limit(tx.gas_limit());
        if let Some(to) = tx.to() {
            request = request.with_to(to);
        }
        let rerun = self.block_on_raw(
            self.provider
                .call(request)
                .block(BlockId::number(block))
                .into_future(),
        );
        let data = match rerun {
            Ok(_) => Bytes::new(),
            Err(e) => match revert_of(&e) {
                Some(revert) => revert.data,
                None if matches!(e, RpcError::ErrorResp(_)) => Bytes::new(),
                None => return Err(node_error(&e)),
            },
        };
        self.known_reverts.insert(*tx_hash, data.clone());
        Ok(data)
    }

    fn block_on<T, E, F>(&self, call: F) -> Result<T, TransportError>
    where
        F: Future<Output = Result<T, E>>,
        E: Into<NodeError>,
    {
        self.block_on_raw(call).map_err(|e| node_error(&e))
    }

    /// Runs `call` with the timeout; a timeout becomes a transport error.
    fn block_on_raw<T, E, F>(&self, call: F) -> Result<T, NodeError>
    where
        F: Future<Output = Result<T, E>>,
        E: Into<NodeError>,
    {
        let timeout = self.config.timeout;
        self.runtime
            .block_on(async { tokio::time::timeout(timeout, call).await })
            .map_err(|_| {
                RpcError::Transport(TransportErrorKind::Custom(
                    format!("timed out after {timeout:?}").into(),
                ))
            })?
            .map_err(Into::into)
    }
}

fn timed_out(timeout: Duration) -> TransportError {
    TransportError::Unavailable(format!("timed out after {timeout:?}"))
}

/// A revert the node reported in a JSON-RPC error.
struct Revert {
    /// The mined transaction, when the node names it (Ganache).
    hash: Option<B256>,
    /// The revert data (empty when the node gives none).
    data: Bytes,
}

/// The revert in `error`, if it reports one: Ganache's
/// `{"hash": …, "result": "0x…"}` data object, a geth-style hex string, or a
/// message that says "revert" with no data.
fn revert_of(error: &NodeError) -> Option<Revert> {
    let payload = error.as_error_resp()?;
    let data: Option<serde_json::Value> = payload
        .data
        .as_ref()
        .and_then(|raw| serde_json::from_str(raw.get()).ok());
    let hex = |v: Option<&serde_json::Value>| -> Option<Bytes> {
        v.and_then(serde_json::Value::as_str)
            .and_then(|s| s.parse::<Bytes>().ok())
    };
    let says_revert = payload.message.to_ascii_lowercase().contains("revert");
    match &data {
        Some(serde_json::Value::Object(object)) => {
            let result = hex(object.get("result")).or_else(|| hex(object.get("data")));
            let hash = object
                .get("hash")
                .and_then(serde_json::Value::as_str)
                .and_then(|s| s.parse::<B256>().ok());
            (says_revert || result.is_some()).then(|| Revert {
                hash,
                data: result.unwrap_or_default(),
            })
        }
        Some(value @ serde_json::Value::String(_)) => {
            let data = hex(Some(value));
            (says_revert || data.is_some()).then(|| Revert {
                hash: None,
                data: data.unwrap_or_default(),
            })
        }
        _ => says_revert.then(|| Revert {
            hash: None,
            data: Bytes::new(),
        }),
    }
}

/// Maps an alloy error onto the validator's retryable / permanent split.
fn node_error(error: &NodeError) -> TransportError {
    match error {
        RpcError::ErrorResp(payload) => {
            let text = format!("JSON-RPC error {}: {}", payload.code, payload.message);
            // 429 (used by some providers) and -32005 (EIP-1474 "limit exceeded").
            if payload.code == 429 || payload.code == -32005 {
                TransportError::RateLimited(text)
            } else {
                TransportError::Rejected(text)
            }
        }
        RpcError::Transport(TransportErrorKind::HttpError(http)) => {
            let text = format!("HTTP {}: {}", http.status, http.body);
            match http.status {
                429 => TransportError::RateLimited(text),
                400..=499 => TransportError::Rejected(text),
                _ => TransportError::Unavailable(text),
            }
        }
        RpcError::Transport(TransportErrorKind::NonRetryable(e)) => {
            TransportError::Rejected(e.to_string())
        }
        RpcError::Transport(kind) => TransportError::Unavailable(kind.to_string()),
        RpcError::NullResp => TransportError::Malformed("the node answered null".to_owned()),
        RpcError::DeserError { err, .. } => TransportError::Malformed(err.to_string()),
        other => TransportError::Rejected(other.to_string()),
    }
}

impl BatchReader for RpcTransport {
    type Error = TransportError;

    fn anchored_batch(&mut self, root: &B256) -> Result<Option<AnchoredBatch>, TransportError> {
        let batch = self.view(&EhrRegistry::batchOfCall { root: *root })?;
        // The registry refuses a zero leaf count, so zero means "not anchored".
        Ok((batch.leafCount > 0).then_some(AnchoredBatch {
            root: *root,
            leaf_count: batch.leafCount,
            batch_id: None,
        }))
    }
}

impl Transport for RpcTransport {
    fn chain_id(&self) -> u64 {
        Self::chain_id(self)
    }
    fn registry(&self) -> Address {
        Self::registry(self)
    }
    fn submit(&mut self, submission: &Submission) -> Result<TxHash, TransportError> {
        if submission.chain_id != self.config.chain_id {
            return Err(TransportError::WrongChain {
                expected: submission.chain_id,
                actual: Some(self.config.chain_id),
            });
        }
        let from = self.sender_of(submission)?;
        self.send_from(
            from,
            Some(submission.to),
            submission.calldata.clone(),
            U256::ZERO,
        )
    }

    fn poll(
        &mut self,
        tx_hash: &TxHash,
        submission: &Submission,
    ) -> Result<SubmissionStatus, TransportError> {
        if let Some(receipt) = self.receipt(tx_hash, Some(submission))? {
            return Ok(SubmissionStatus::Included(receipt));
        }
        let known = self.block_on(
            self.provider
                .get_transaction_by_hash(tx_hash.0)
                .into_future(),
        )?;
        Ok(if known.is_some() {
            SubmissionStatus::Pending
        } else {
            SubmissionStatus::Dropped
        })
    }

    fn head(&mut self) -> Result<u64, TransportError> {
        if self.mine_on_head {
            let _: serde_json::Value =
                self.block_on(self.provider.raw_request("evm_mine".into(), ()))?;
        }
        self.block_on(self.provider.get_block_number().into_future())
    }

    fn record_hash_of(&mut self, ti_id: &B256) -> Result<Option<B256>, TransportError> {
        let stored = self.view(&EhrRegistry::recordHashOfCall { tiId: *ti_id })?;
        Ok((!stored.is_zero()).then_some(stored))
    }
}

/// Who gets which role in [`deploy_registry`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deployment {
    /// The deployer, which holds `DEFAULT_ADMIN_ROLE` and `ADMIN_ROLE`.
    pub admin: Address,
    /// Role names (`doctor`, `handshaker`, …) and the accounts granted them.
    pub grants: Vec<(String, Address)>,
}

/// Deploys `EhrRegistry` from the committed bytecode with `deployment.admin`,
/// grants the roles, registers every template of `templates` and points `transport` at the new
/// registry; returns its address. The same end-to-end suite then runs on any
/// node.
///
/// # Errors
/// [`TransportError`] when a transaction cannot be sent or does not succeed
/// (as [`TransportError::Rejected`], with the decoded revert), or for an
/// invalid role name.
pub fn deploy_registry(
    transport: &mut RpcTransport,
    deployment: &Deployment,
    templates: &TemplateRegistry,
) -> Result<Address, TransportError> {
    let admin = deployment.admin;
    let hash = transport.send_from(admin, None, EhrRegistry::BYTECODE.clone(), U256::ZERO)?;
    let receipt = transport.wait_for_receipt(&hash)?;
    ensure_success("deploying EhrRegistry", &receipt)?;
    let registry = transport.contract_address(&hash)?;
    transport.set_registry(registry);
    for (name, account) in &deployment.grants {
        let role = Role::new(name).map_err(|e| TransportError::Rejected(e.to_string()))?;
        grant_role(transport, admin, &role, *account)?;
    }
    for template in templates.iter() {
        register_template(transport, admin, template)?;
    }
    Ok(registry)
}

/// The transport's registry, or an error saying there is none yet.
fn registry_of(transport: &RpcTransport) -> Result<Address, TransportError> {
    let registry = transport.registry();
    if registry.is_zero() {
        return Err(TransportError::Rejected(
            "the transport has no EhrRegistry: deploy one (deploy_registry) or connect with its address".to_owned(),
        ));
    }
    Ok(registry)
}

/// Grants `role` to `account` on the transport's registry with a
/// transaction from `admin` (an account holding the registry's `ADMIN_ROLE`,
/// such as its deployer), and waits for its receipt.
///
/// # Errors
/// [`TransportError`] when the transaction cannot be sent or does not
/// succeed (as [`TransportError::Rejected`], with the decoded revert: an
/// `admin` without `ADMIN_ROLE`, say), or when the transport has no registry.
pub fn grant_role(
    transport: &mut RpcTransport,
    admin: Address,
    role: &Role,
    account: Address,
) -> Result<(), TransportError> {
    let registry = registry_of(transport)?;
    let call = EhrRegistry::grantRoleCall {
        role: role.id(),
        account,
    };
    let receipt = transport.send_call(admin, registry, &call)?;
    ensure_success("grantRole", &receipt)
}

/// Registers `template` (its id and the roles allowed to use it) on the
/// transport's registry with a transaction from `admin`, and waits for its
/// receipt.
///
/// # Errors
/// As [`grant_role`]; a template registered already reverts.
pub fn register_template(
    transport: &mut RpcTransport,
    admin: Address,
    template: &Template,
) -> Result<(), TransportError> {
    let registry = registry_of(transport)?;
    let call = crate::register_template_call(template);
    let receipt = transport.send_call(admin, registry, &call)?;
    ensure_success("registerTemplate", &receipt)
}

fn ensure_success(what: &str, receipt: &TxReceipt) -> Result<(), TransportError> {
    if receipt.status {
        return Ok(());
    }
    let revert = ehrchain_core::registry_abi::DecodedRevert::from_data(
        &receipt.revert_data.clone().unwrap_or_default(),
    );
    Err(TransportError::Rejected(format!(
        "{what} reverted in {}: {}",
        receipt.tx_hash, revert.detail
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    /// A JSON-RPC error response as the node would send it.
    fn error_resp(json: &str) -> NodeError {
        RpcError::ErrorResp(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn ganache_send_errors_name_the_mined_hash_and_the_revert_data() {
        // eth_sendTransaction with --chain.vmErrorsOnRPCResponse: the hash
        // sorts before the result, so a "first hex string" search would
        // mistake it for the revert data.
        let e = error_resp(
            r#"{"code":-32000,"message":"VM Exception while processing transaction: revert",
            "data":{"hash":"0x1111111111111111111111111111111111111111111111111111111111111111",
            "programCounter":42,"result":"0xe2517d3f","reason":null,"message":"revert"}}"#,
        );
        let revert = revert_of(&e).unwrap();
        assert_eq!(revert.hash, Some(B256::repeat_byte(0x11)));
        assert_eq!(revert.data, Bytes::from_static(&[0xe2, 0x51, 0x7d, 0x3f]));
    }

    #[test]
    fn estimate_and_call_reverts_are_read_in_both_shapes() {
        // Ganache's estimateGas: an object without a hash.
        let e = error_resp(
            r#"{"code":-32000,"message":"VM Exception while processing transaction: revert",
            "data":{"result":"0x01","message":"revert"}}"#,
        );
        let revert = revert_of(&e).unwrap();
        assert_eq!((revert.hash, revert.data.as_ref()), (None, &[1u8][..]));
        // Geth-style: the data is the hex string.
        let e = error_resp(r#"{"code":3,"message":"execution reverted","data":"0x0102"}"#);
        assert_eq!(revert_of(&e).unwrap().data.as_ref(), &[1u8, 2]);
        // A revert without data.
        let e = error_resp(r#"{"code":-32000,"message":"execution reverted"}"#);
        assert!(revert_of(&e).unwrap().data.is_empty());
        // Not a revert.
        let e = error_resp(r#"{"code":-32000,"message":"insufficient funds for gas"}"#);
        assert!(revert_of(&e).is_none());
    }

    #[test]
    fn network_errors_are_retryable_and_node_refusals_permanent() {
        let refused = node_error(&error_resp(
            r#"{"code":-32000,"message":"insufficient funds for gas"}"#,
        ));
        assert!(matches!(refused, TransportError::Rejected(_)));
        let limited = node_error(&error_resp(r#"{"code":-32005,"message":"limit exceeded"}"#));
        assert!(matches!(limited, TransportError::RateLimited(_)));
        let http = |status| {
            node_error(&RpcError::Transport(TransportErrorKind::HttpError(
                alloy_provider::transport::HttpError {
                    status,
                    body: String::new(),
                },
            )))
        };
        assert!(matches!(http(429), TransportError::RateLimited(_)));
        assert!(http(502).is_retryable());
        assert!(!http(401).is_retryable());
        assert!(node_error(&RpcError::Transport(TransportErrorKind::BackendGone)).is_retryable());
        assert!(matches!(
            node_error(&RpcError::NullResp),
            TransportError::Malformed(_)
        ));
    }
}
