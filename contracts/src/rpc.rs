//! [`RpcTransport`]: ehrchain-core's `Transport` over a JSON-RPC node
//! (Ganache, Hardhat, Anvil, Geth, Besu, any EVM chain), and
//! [`deploy_registry`], [`grant_role`] and [`register_template`], which set a
//! registry up on such a node.
//!
//! A thin shell over the core's JSON-RPC policy ([`ehrchain_core::rpc`]):
//! every request body comes from [`RpcRequest`], every answer (HTTP status
//! and body) is classified by [`rpc::classify_http`] and read by the core's
//! decoders, exactly as the JavaScript and C transports do. This file only
//! moves bytes (reqwest on a small current-thread tokio runtime, with a
//! timeout per exchange), signs local keys' transactions, and chooses
//! senders.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_provider::network::eip2718::Encodable2718;
use alloy_provider::network::{
    Ethereum, EthereumWallet, NetworkTransactionBuilder, TransactionBuilder,
};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolCall;
use ehrchain_core::registry_abi::IEhrRegistry;
use ehrchain_core::rpc::{self, BlockTag, Exchange, ExchangeConfig, Outcome, RpcRequest, TxFields};
use ehrchain_core::sharing::{ChainRead, ChainReader, MinedBlock};
use ehrchain_core::{
    AnchoredBatch, BatchReader, Role, Submission, SubmissionStatus, Template, TemplateRegistry,
    Transmit, Transport, TransportError, TxHash, TxReceipt,
};
use ehrchain_core::{BlockRef, FinalityTag, UnixMillis};
use serde_json::Value;

use crate::EhrRegistry;

/// How [`RpcTransport`] prices the transactions it signs itself (accounts
/// added with [`RpcTransport::add_local_key`]). Unlocked accounts are priced
/// by the node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FeeMode {
    /// Legacy (type 0) transactions at the node's `eth_gasPrice`.
    #[default]
    Legacy,
    /// EIP-1559 (type 2) transactions: the node's `eth_maxPriorityFeePerGas`
    /// tip, and a fee cap of twice the latest base fee plus the tip.
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
}

impl RpcConfig {
    /// Defaults for a node on `chain_id`: a 30 s timeout, legacy fees and a
    /// 20 % gas margin.
    #[must_use]
    pub fn new(chain_id: u64) -> Self {
        Self {
            chain_id,
            registry: Address::ZERO,
            timeout: Duration::from_secs(30),
            fees: FeeMode::Legacy,
            gas_margin_percent: rpc::DEFAULT_GAS_MARGIN_PERCENT,
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
///   (`eth_sendRawTransaction`; nonces as the core's policy
///   [`rpc::Nonces`] keeps them: counted here, kept after a refusal, re-read
///   from the node after a send whose outcome is unknown); any other account must be unlocked on the node
///   (`eth_sendTransaction`, as Ganache's and Hardhat's accounts are).
/// - **Gas**: every transaction is estimated (`eth_estimateGas` at the
///   latest mined block) plus a margin; one whose estimate reverts is never
///   sent: `submit` answers [`TransportError::Reverted`] with the revert
///   data, and the validator ends the TI with the decoded refusal.
/// - **Reads** (`record_hash_of`, `anchored_batch`, [`RpcTransport::view`])
///   are pinned to the latest mined block, never `pending`.
/// - **Receipts**: block number and hash, the anchoring event's block-wide log
///   index, gas used and status; for a reverted transaction, Besu's
///   `revertReason` or the revert data of re-running it at its block.
/// - **Errors**: as the core's policy classifies them
///   ([`ehrchain_core::rpc`]).
pub struct RpcTransport {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    url: reqwest::Url,
    next_id: AtomicU64,
    config: RpcConfig,
    senders: HashMap<B256, Address>,
    default_sender: Option<Address>,
    keys: HashMap<Address, PrivateKeySigner>,
    nonces: rpc::Nonces,
    mine_on_head: bool,
}

impl std::fmt::Debug for RpcTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys stay out of logs: only their addresses.
        f.debug_struct("RpcTransport")
            .field("url", &self.url.as_str())
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
        let unusable = |why: String| {
            TransportError::Rejected(format!(
                "cannot use the node URL {url:?}: {why}; give an http:// or https:// URL"
            ))
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| unusable(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(unusable(format!(
                "the scheme {:?} is not HTTP",
                parsed.scheme()
            )));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| {
                TransportError::Unavailable(format!("cannot start an I/O runtime: {e}"))
            })?;
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| unusable(e.to_string()))?;
        let transport = Self {
            runtime,
            http,
            url: parsed,
            next_id: AtomicU64::new(1),
            config,
            senders: HashMap::new(),
            default_sender: None,
            keys: HashMap::new(),
            nonces: rpc::Nonces::default(),
            mine_on_head: false,
        };
        rpc::check_chain_id(
            &transport.ask(&RpcRequest::chain_id())?,
            transport.config.chain_id,
        )?;
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
        self.nonces.forget(address);
        self.keys.insert(address, key);
        address
    }

    /// Prices locally signed transactions with `fees` and adds
    /// `gas_margin_percent` to the node's gas estimates from now on (set at
    /// construction by [`RpcConfig`]).
    pub fn set_fees(&mut self, fees: FeeMode, gas_margin_percent: u64) {
        self.config.fees = fees;
        self.config.gas_margin_percent = gas_margin_percent;
    }

    /// Whether reading the head first asks the node to mine a block
    /// (`evm_mine`, a development-node method of Ganache, Hardhat and Anvil).
    /// Default `false`. This *manufactures* confirmations on a node that
    /// mines only when a transaction arrives: only for development nodes,
    /// and only when the host asks for it; a node that mines on its own
    /// (interval mining, a real chain) needs none.
    pub fn set_mine_on_head(&mut self, mine: bool) {
        self.mine_on_head = mine;
    }

    /// One JSON-RPC exchange: the core's request out, the core's
    /// classification of the answer back.
    /// Posts `request` and returns the node's result, classified by the
    /// core's policy: for what the validator does not ask itself (a
    /// development node's `evm_snapshot` in a fault test, say).
    ///
    /// # Errors
    /// [`TransportError`] as the policy classifies the node's answer.
    pub fn request(&self, request: &RpcRequest) -> Result<Value, TransportError> {
        self.ask(request)
    }

    fn ask(&self, request: &RpcRequest) -> Result<Value, TransportError> {
        let body = request.body(self.next_id.fetch_add(1, Ordering::Relaxed));
        let exchange = async {
            let response = self
                .http
                .post(self.url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await?;
            let status = response.status().as_u16();
            Ok::<_, reqwest::Error>((status, response.bytes().await?))
        };
        let timeout = self.config.timeout;
        let (status, answer) = self
            .runtime
            .block_on(async { tokio::time::timeout(timeout, exchange).await })
            .map_err(|_| {
                TransportError::Unavailable(format!(
                    "{} timed out after {timeout:?}",
                    request.method
                ))
            })?
            .map_err(|e| TransportError::Unavailable(format!("{}: {e}", request.method)))?;
        rpc::classify_http(status, &answer, self.config.chain_id)
    }

    /// The node's unlocked accounts (`eth_accounts`).
    ///
    /// # Errors
    /// [`TransportError`] when the node could not be asked.
    pub fn accounts(&self) -> Result<Vec<Address>, TransportError> {
        let accounts = self.ask(&RpcRequest::accounts())?;
        serde_json::from_value(accounts)
            .map_err(|e| TransportError::Malformed(format!("eth_accounts: {e}")))
    }

    /// The timestamp of the latest block, Unix seconds.
    ///
    /// # Errors
    /// [`TransportError`] when the node could not be asked or has no latest
    /// block.
    pub fn latest_timestamp(&self) -> Result<u64, TransportError> {
        let block = self.ask(&RpcRequest::block(BlockTag::Latest))?;
        rpc::quantity(member(&block, "timestamp"), "the latest block's timestamp")
    }

    /// Sends a transaction from `from` (to `to`, or creating a contract when
    /// `to` is `None`) with the transport's gas and signing rules; returns its
    /// hash.
    ///
    /// # Errors
    /// As [`Transport::submit`]; [`TransportError::Reverted`] when the gas
    /// estimate reverts (nothing is sent) or the node mined it and reports
    /// the revert (with its hash).
    pub fn send_from(
        &mut self,
        from: Address,
        to: Option<Address>,
        input: Bytes,
        value: U256,
    ) -> Result<TxHash, TransportError> {
        let tx = TxFields {
            from,
            to,
            data: input,
            value: Some(value),
        };
        match self.keys.get(&from).cloned() {
            Some(key) => {
                let estimate = rpc::quantity(
                    &self.ask(&RpcRequest::estimate_gas(&tx))?,
                    "eth_estimateGas",
                )?;
                let gas = rpc::gas_limit(estimate, self.config.gas_margin_percent);
                self.send_signed(&key, tx, gas)
            }
            None => match self.carry_out(Exchange::send(tx, self.exchange_config(Some(from)))) {
                Outcome::Submitted(sent) => sent,
                other => Err(mismatch(&other)),
            },
        }
    }

    fn send_signed(
        &mut self,
        key: &PrivateKeySigner,
        tx: TxFields,
        gas: u64,
    ) -> Result<TxHash, TransportError> {
        let from = key.address();
        let nonce = match self.nonces.next(from) {
            Some(nonce) => nonce,
            None => {
                let count = rpc::quantity(&self.ask(&RpcRequest::next_nonce(from))?, "the nonce")?;
                self.nonces.learned(from, count);
                count
            }
        };
        let mut request = TransactionRequest::default()
            .with_from(from)
            .with_value(tx.value.unwrap_or_default())
            .with_gas_limit(gas)
            .with_nonce(nonce)
            .with_chain_id(self.config.chain_id);
        request = match tx.to {
            Some(to) => request.with_to(to).with_input(tx.data),
            None => request.with_deploy_code(tx.data),
        };
        request = match self.config.fees {
            FeeMode::Legacy => request.with_gas_price(u128::from(rpc::quantity(
                &self.ask(&RpcRequest::gas_price())?,
                "eth_gasPrice",
            )?)),
            FeeMode::Eip1559 => {
                let tip = u128::from(rpc::quantity(
                    &self.ask(&RpcRequest::max_priority_fee())?,
                    "eth_maxPriorityFeePerGas",
                )?);
                let block = self.ask(&RpcRequest::block(BlockTag::Latest))?;
                let base = u128::from(rpc::quantity(
                    member(&block, "baseFeePerGas"),
                    "the base fee",
                )?);
                request
                    .with_max_fee_per_gas(base.saturating_mul(2).saturating_add(tip))
                    .with_max_priority_fee_per_gas(tip)
            }
        };
        let wallet = EthereumWallet::new(key.clone());
        let envelope = self
            .runtime
            .block_on(<TransactionRequest as NetworkTransactionBuilder<
                Ethereum,
            >>::build(request, &wallet))
            .map_err(|e| TransportError::Rejected(format!("cannot sign the transaction: {e}")))?;
        let sent = self
            .ask(&RpcRequest::send_raw_transaction(&envelope.encoded_2718()))
            .and_then(|hash| rpc::tx_hash(&hash));
        // Taken, still free, or unknown (then the node is asked next time):
        // the core's nonce policy.
        self.nonces.sent(from, nonce, &sent);
        sent
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
            if let Some(receipt) = self.receipt(tx_hash)? {
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
        let receipt = self.ask(&RpcRequest::receipt(tx_hash))?;
        member(&receipt, "contractAddress")
            .as_str()
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| TransportError::Malformed(format!("{tx_hash} created no contract")))
    }

    /// Calls the view `call` on the registry at the latest mined block.
    ///
    /// # Errors
    /// [`TransportError`] when the node could not be asked;
    /// [`TransportError::Reverted`] when the call reverts;
    /// [`TransportError::Malformed`] for an answer that does not decode.
    pub fn view<C: SolCall>(&self, call: &C) -> Result<C::Return, TransportError> {
        self.view_on(self.config.registry, call)
    }

    /// Calls the view `call` on the contract `to` (`EhrConsent`, say) at the
    /// latest mined block.
    ///
    /// # Errors
    /// As [`RpcTransport::view`].
    pub fn view_on<C: SolCall>(&self, to: Address, call: &C) -> Result<C::Return, TransportError> {
        let request = RpcRequest::view(to, &call.abi_encode().into(), BlockTag::Latest);
        let out = rpc::data(&self.ask(&request)?)?;
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

    /// The receipt of `tx_hash` (without its anchoring event), or `None`
    /// while it is not mined.
    fn receipt(&self, tx_hash: &TxHash) -> Result<Option<TxReceipt>, TransportError> {
        match self.carry_out(Exchange::poll(*tx_hash, None, self.exchange_config(None))) {
            Outcome::Polled(Ok(SubmissionStatus::Included(receipt))) => Ok(Some(receipt)),
            Outcome::Polled(status) => status.map(|_| None),
            other => Err(mismatch(&other)),
        }
    }

    fn exchange_config(&self, from: Option<Address>) -> ExchangeConfig {
        ExchangeConfig {
            chain_id: self.config.chain_id,
            registry: self.config.registry,
            from,
            gas_margin_percent: self.config.gas_margin_percent,
            mine_on_head: self.mine_on_head,
        }
    }

    /// Carries out an exchange: posts its requests, hands back the answers.
    fn carry_out(&self, mut exchange: Exchange) -> Outcome {
        while let Some(request) = exchange.request() {
            let answer = self.ask(request);
            exchange.handle_answer(answer);
        }
        exchange.finish().unwrap_or_else(|| {
            Outcome::Head(Err(TransportError::Malformed(
                "an exchange ended without a result (a bug in ehrchain)".to_owned(),
            )))
        })
    }

    /// Carries out the validator's action `transmit`.
    fn perform(&self, transmit: &Transmit) -> Outcome {
        self.carry_out(Exchange::new(transmit, self.exchange_config(None)))
    }
}

/// The error for an exchange that ended with another action's result (a bug
/// in ehrchain).
fn mismatch(outcome: &Outcome) -> TransportError {
    TransportError::Malformed(format!(
        "an exchange ended with the wrong kind of result (a bug in ehrchain): {outcome:?}"
    ))
}

/// A member of a JSON object, `null` when absent.
fn member<'a>(object: &'a Value, key: &str) -> &'a Value {
    object.get(key).unwrap_or(&Value::Null)
}

/// Reads at the node's newest mined block (`eth_getBlockByNumber("latest")`),
/// each an `eth_call` pinned to its number: sharing's reads
/// ([`ehrchain_core::sharing`]).
impl ChainReader for RpcTransport {
    fn mined_block(&mut self) -> Result<MinedBlock, TransportError> {
        let block = self.ask(&RpcRequest::block(BlockTag::Latest))?;
        Ok(MinedBlock {
            number: rpc::quantity(member(&block, "number"), "the latest block's number")?,
            time: UnixMillis::from_secs(rpc::quantity(
                member(&block, "timestamp"),
                "the latest block's timestamp",
            )?),
        })
    }

    fn read_at(
        &mut self,
        block: &MinedBlock,
        reads: &[ChainRead],
    ) -> Result<Vec<Bytes>, TransportError> {
        reads
            .iter()
            .map(|read| rpc::data(&self.ask(&read.request(block.number))?))
            .collect()
    }
}

impl BatchReader for RpcTransport {
    type Error = TransportError;

    fn anchored_batch(&mut self, root: &B256) -> Result<Option<AnchoredBatch>, TransportError> {
        match self.perform(&Transmit::ReadBatch { root: *root }) {
            Outcome::Batch(batch) => batch,
            other => Err(mismatch(&other)),
        }
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
        let transmit = Transmit::Poll {
            tx_hash: *tx_hash,
            submission: submission.clone(),
        };
        match self.perform(&transmit) {
            Outcome::Polled(status) => status,
            other => Err(mismatch(&other)),
        }
    }

    fn head(&mut self) -> Result<u64, TransportError> {
        match self.perform(&Transmit::ReadHead) {
            Outcome::Head(head) => head,
            other => Err(mismatch(&other)),
        }
    }

    fn record_hash_of(&mut self, ti_id: &B256) -> Result<Option<B256>, TransportError> {
        match self.perform(&Transmit::ReadRecord { ti_id: *ti_id }) {
            Outcome::Record(stored) => stored,
            other => Err(mismatch(&other)),
        }
    }

    fn block_at(&mut self, tag: FinalityTag) -> Result<Option<BlockRef>, TransportError> {
        match self.perform(&Transmit::ReadBlock { tag }) {
            Outcome::Block(block) => block,
            other => Err(mismatch(&other)),
        }
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

/// Deploys `EhrConsent` over the transport's registry (whose roles it reads)
/// from `admin` and returns its address; the registry's admin then grants
/// `custodian` and `emergency` with [`grant_role`] (docs/consent.md).
///
/// # Errors
/// As [`deploy_registry`]; also when the transport has no registry.
pub fn deploy_consent(
    transport: &mut RpcTransport,
    admin: Address,
) -> Result<Address, TransportError> {
    let code = crate::consent_creation_code(registry_of(transport)?);
    let hash = transport.send_from(admin, None, code, U256::ZERO)?;
    let receipt = transport.wait_for_receipt(&hash)?;
    ensure_success("deploying EhrConsent", &receipt)?;
    transport.contract_address(&hash)
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
/// transaction from `admin` (an account holding the registry's
/// `DEFAULT_ADMIN_ROLE`, the admin of every role, such as its deployer), and
/// waits for its receipt.
///
/// # Errors
/// [`TransportError`] when the transaction cannot be sent or does not
/// succeed (as [`TransportError::Rejected`], with the decoded revert: an
/// `admin` without `DEFAULT_ADMIN_ROLE`, say), or when the transport has no
/// registry.
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
    Err(TransportError::Reverted(rpc::Revert {
        data: receipt.revert_data.clone().unwrap_or_default(),
        tx_hash: Some(receipt.tx_hash),
        message: format!("{what} reverted"),
    }))
}
