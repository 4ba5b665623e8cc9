//! `Devnet`: an in-process EVM (revm, Shanghai rules) with `EhrRegistry`
//! deployed. No server, no I/O, no threads, no clock: the caller owns time.

use std::fmt;

use alloy_primitives::{Address, B256, Bytes, Log, U256, keccak256};
use alloy_sol_types::{ContractError, SolCall, SolEvent, SolInterface};
use ehrchain_core::role::InvalidRoleName;
use ehrchain_core::rpc::Revert;
use ehrchain_core::sharing::{ChainLog, ChainRead, ChainReader, MinedBlock};
use ehrchain_core::{
    AnchoredBatch, BatchReader, ChainTransaction, Role, Template, TransportError, UnixMillis,
};
use revm::context::{BlockEnv, TxEnv};
use revm::context_interface::cfg::gas::calculate_initial_tx_gas_for_tx;
use revm::context_interface::result::{ExecutionResult, Output};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::TxKind;
use revm::primitives::hardfork::SpecId;
use revm::state::AccountInfo;
use revm::{
    Context, DatabaseRef, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext, MainnetEvm,
};

use crate::EhrConsent::EhrConsentErrors;
use crate::EhrRegistry::{self, EhrRegistryErrors};

type Db = CacheDB<EmptyDB>;
type Evm = MainnetEvm<revm::handler::MainnetContext<Db>>;

/// The hardfork the devnet runs: Ganache 7.9, the paper's local chain, knows
/// nothing newer, and the registry is compiled for it.
pub const SPEC: SpecId = SpecId::SHANGHAI;

/// How a [`Devnet`] starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevnetConfig {
    /// The chain id (EIP-155). Ganache's default is 1337.
    pub chain_id: u64,
    /// The timestamp of the first block (Unix seconds).
    pub genesis_time: u64,
    /// How many seconds [`Devnet::mine`] moves the clock forward.
    pub block_time: u64,
    /// The gas limit of every transaction and call.
    pub gas_limit: u64,
}

impl Default for DevnetConfig {
    /// Chain 1337, first block at 2026-01-01T00:00:00Z, 12 s blocks, 30M gas.
    fn default() -> Self {
        Self {
            chain_id: 1337,
            genesis_time: 1_767_225_600,
            block_time: 12,
            gas_limit: 30_000_000,
        }
    }
}

/// What a transaction did, as a node's receipt tells it, plus the decoded
/// reason of a failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The devnet's transaction hash: `keccak256(chain id ‖ from ‖ nonce ‖ to ‖
    /// calldata)`. Deterministic and unique per sender and nonce, but not the
    /// hash a signed transaction would have on a real chain (the devnet signs
    /// nothing).
    pub tx_hash: B256,
    /// The block the transaction is in.
    pub block_number: u64,
    /// That block's timestamp (Unix seconds).
    pub block_timestamp: u64,
    /// The sender.
    pub from: Address,
    /// The callee (`None` for a contract creation).
    pub to: Option<Address>,
    /// The created contract, for a successful creation.
    pub contract_address: Option<Address>,
    /// Gas used by the whole transaction, intrinsic gas included (the
    /// receipt's `gasUsed`).
    pub gas_used: u64,
    /// The intrinsic part of `gas_used`: 21,000 plus calldata (and creation) costs.
    pub intrinsic_gas: u64,
    /// The logs emitted (none when the transaction failed).
    pub logs: Vec<Log>,
    /// The return data, or the revert data of a revert.
    pub output: Bytes,
    /// Why the transaction failed; `None` when it succeeded.
    pub failure: Option<Failure>,
}

impl Receipt {
    /// The receipt status: `true` (1) on success, `false` (0) on failure.
    #[must_use]
    pub fn status(&self) -> bool {
        self.failure.is_none()
    }

    /// Gas used by execution alone: `gas_used - intrinsic_gas`.
    #[must_use]
    pub fn execution_gas(&self) -> u64 {
        self.gas_used.saturating_sub(self.intrinsic_gas)
    }

    /// The logs that are events `E` (matched by their first topic), decoded.
    #[must_use]
    pub fn events<E: SolEvent>(&self) -> Vec<E> {
        self.logs
            .iter()
            .filter(|log| log.topics().first() == Some(&E::SIGNATURE_HASH))
            .filter_map(|log| E::decode_log_data(&log.data).ok())
            .collect()
    }

    /// The registry's custom error (including OpenZeppelin's
    /// `AccessControlUnauthorizedAccount`) when the transaction reverted with one.
    #[must_use]
    pub fn registry_error(&self) -> Option<&EhrRegistryErrors> {
        match &self.failure {
            Some(Failure::Reverted(ContractError::CustomError(e))) => Some(e),
            _ => None,
        }
    }

    /// The receipt's logs as sharing's accounting reads them
    /// ([`ehrchain_core::sharing::AccountingQuery::accounting`]), with this
    /// transaction, its block and its time (no block-wide index: the devnet
    /// keeps none).
    #[must_use]
    pub fn chain_logs(&self) -> Vec<ChainLog> {
        self.logs
            .iter()
            .map(|log| ChainLog {
                address: log.address,
                topics: log.topics().to_vec(),
                data: log.data.data.clone(),
                block_number: self.block_number,
                transaction_hash: Some(self.tx_hash),
                log_index: None,
                block_time: Some(UnixMillis::from_secs(self.block_timestamp)),
            })
            .collect()
    }

    /// `EhrConsent`'s custom error when the transaction reverted with one
    /// (its role refusal, OpenZeppelin's `AccessControlUnauthorizedAccount`,
    /// is the registry's too, and decodes as [`Receipt::registry_error`]).
    #[must_use]
    pub fn consent_error(&self) -> Option<EhrConsentErrors> {
        if self.status() {
            return None;
        }
        EhrConsentErrors::abi_decode(&self.output).ok()
    }
}

/// Why a transaction failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// It reverted with data the registry's ABI decodes: one of its custom
    /// errors, an `Error(string)` or a `Panic(uint256)`.
    Reverted(ContractError<EhrRegistryErrors>),
    /// It reverted with data the registry's ABI does not decode (for example
    /// none, from a call to an account without code that checks nothing).
    RevertedRaw(Bytes),
    /// It halted: out of gas, invalid opcode, stack overflow, ...
    Halted(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reverted(ContractError::CustomError(e)) => write!(f, "reverted with {e:?}"),
            Self::Reverted(ContractError::Revert(r)) => write!(f, "reverted: {r}"),
            Self::Reverted(ContractError::Panic(p)) => write!(f, "reverted: {p}"),
            Self::RevertedRaw(data) => write!(f, "reverted with undecoded data {data}"),
            Self::Halted(reason) => write!(f, "halted: {reason}"),
        }
    }
}

impl From<DevnetError> for ehrchain_core::Error {
    fn from(e: DevnetError) -> Self {
        Self::Devnet(e.to_string())
    }
}

/// Why the devnet did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DevnetError {
    /// The EVM refused the transaction before executing it (it is in no block).
    #[error("transaction rejected by the EVM: {0}")]
    Rejected(String),
    /// A setup step or a view reverted or halted.
    #[error("{what} failed: {}", failure_text(.receipt))]
    Failed {
        /// What was attempted.
        what: String,
        /// The failed transaction's receipt.
        receipt: Box<Receipt>,
    },
    /// A TC for another chain.
    #[error("the transaction is for chain {tx}, the devnet is chain {devnet}")]
    WrongChain {
        /// The TC's chain id.
        tx: u64,
        /// The devnet's chain id.
        devnet: u64,
    },
    /// The clock may not go backwards.
    #[error("time cannot go back from {now} to {requested}")]
    TimeWentBackwards {
        /// The current block's timestamp.
        now: u64,
        /// The timestamp asked for.
        requested: u64,
    },
    /// A role name that is not a valid [`Role`].
    #[error(transparent)]
    Role(#[from] InvalidRoleName),
    /// A view's return data did not decode.
    #[error("undecodable return data: {0}")]
    Decode(String),
}

fn failure_text(receipt: &Receipt) -> String {
    receipt
        .failure
        .as_ref()
        .map_or_else(|| "no failure".to_owned(), ToString::to_string)
}

/// Reads anchored batches with the registry's `batchOf` view, so that
/// `InclusionProof::verify_on_chain` can check proofs against the devnet. The
/// batch id lives only in the `BatchAnchored` event and is not read.
impl BatchReader for Devnet {
    type Error = DevnetError;

    fn anchored_batch(&mut self, root: &B256) -> Result<Option<AnchoredBatch>, DevnetError> {
        let batch = self.view(&EhrRegistry::batchOfCall { root: *root })?;
        // The registry refuses a zero leaf count, so zero means "not anchored".
        Ok((batch.leafCount > 0).then_some(AnchoredBatch {
            root: *root,
            leaf_count: batch.leafCount,
            batch_id: None,
        }))
    }
}

/// Sharing's reads ([`ehrchain_core::sharing`]) on the current block: its
/// state holds every transaction executed so far, and it has no other.
impl ChainReader for Devnet {
    fn mined_block(&mut self) -> Result<MinedBlock, TransportError> {
        Ok(MinedBlock {
            number: self.block_number,
            time: UnixMillis::from_secs(self.block_timestamp),
        })
    }

    fn read_at(
        &mut self,
        block: &MinedBlock,
        reads: &[ChainRead],
    ) -> Result<Vec<Bytes>, TransportError> {
        if block.number != self.block_number {
            return Err(TransportError::Rejected(format!(
                "the devnet reads its current block {} only, not block {}",
                self.block_number, block.number
            )));
        }
        reads
            .iter()
            .map(|read| {
                let receipt = self
                    .call(Address::ZERO, read.to, read.calldata.clone())
                    .map_err(|e| TransportError::Rejected(e.to_string()))?;
                if receipt.status() {
                    Ok(receipt.output)
                } else {
                    Err(TransportError::Reverted(Revert {
                        message: failure_text(&receipt),
                        data: receipt.output,
                        tx_hash: None,
                    }))
                }
            })
            .collect()
    }
}

/// An in-process Ethereum chain with `EhrRegistry` deployed.
///
/// - **Accounts**: any address can send (fees are zero); [`Devnet::account`]
///   derives deterministic named addresses. The named helpers ([`Devnet::admin`],
///   [`Devnet::handshaker`], [`Devnet::doctor`], [`Devnet::nurse`],
///   [`Devnet::pathologist`], [`Devnet::device`]) are funded with 10,000 ETH and,
///   except the admin (the deployer, which holds `DEFAULT_ADMIN_ROLE` and
///   `ADMIN_ROLE`), hold the role of their name.
/// - **Blocks**: transactions go into the current block; [`Devnet::mine`] starts
///   the next one [`DevnetConfig::block_time`] seconds later and
///   [`Devnet::set_time`] moves the current block's time forward. There is no
///   other clock.
/// - **Rules**: Shanghai, with mainnet gas parameters: the gas schedule Ganache
///   7.9 applies with `--hardfork shanghai`.
pub struct Devnet {
    evm: Evm,
    config: DevnetConfig,
    registry: Address,
    block_number: u64,
    block_timestamp: u64,
}

impl fmt::Debug for Devnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Devnet")
            .field("config", &self.config)
            .field("registry", &self.registry)
            .field("block_number", &self.block_number)
            .field("block_timestamp", &self.block_timestamp)
            .finish_non_exhaustive()
    }
}

/// The named accounts funded at genesis besides the admin; each one gets the
/// role of its name.
const NAMED: [&str; 5] = [
    "handshaker",
    Role::DOCTOR,
    Role::NURSE,
    Role::PATHOLOGIST,
    Role::DEVICE,
];

/// 10,000 ether in wei.
const GENESIS_BALANCE: u128 = 10_000 * 1_000_000_000_000_000_000;

impl Devnet {
    /// A devnet with [`DevnetConfig::default`].
    ///
    /// # Errors
    /// None in practice: a [`DevnetError`] if deploying the registry or granting
    /// the named accounts' roles fails.
    pub fn new() -> Result<Self, DevnetError> {
        Self::with_config(DevnetConfig::default())
    }

    /// A devnet at block 1: named accounts funded, the registry deployed by the
    /// admin from the committed bytecode, and the named accounts' roles granted.
    ///
    /// # Errors
    /// None in practice: a [`DevnetError`] if deploying the registry or granting
    /// the named accounts' roles fails.
    pub fn with_config(config: DevnetConfig) -> Result<Self, DevnetError> {
        let mut db = Db::new(EmptyDB::new());
        for name in std::iter::once("admin").chain(NAMED) {
            db.insert_account_info(
                Self::account(name),
                AccountInfo {
                    balance: U256::from(GENESIS_BALANCE),
                    ..AccountInfo::default()
                },
            );
        }
        let chain_id = config.chain_id;
        let evm = Context::mainnet()
            .with_db(db)
            .modify_cfg_chained(|cfg| {
                // Assigning `cfg.spec` alone would keep newer gas parameters.
                cfg.set_spec_and_mainnet_gas_params(SPEC);
                cfg.chain_id = chain_id;
            })
            .build_mainnet();
        let mut devnet = Self {
            evm,
            block_number: 1,
            block_timestamp: config.genesis_time,
            config,
            registry: Address::ZERO,
        };
        devnet.registry =
            devnet.deploy(Self::admin(), "EhrRegistry", EhrRegistry::BYTECODE.clone())?;
        for name in NAMED {
            devnet.grant_role(name, Self::account(name))?;
        }
        Ok(devnet)
    }

    /// The deterministic address named `name`: the last 20 bytes of
    /// `keccak256("ehrchain devnet account: " + name)`.
    #[must_use]
    pub fn account(name: &str) -> Address {
        let digest = keccak256(format!("ehrchain devnet account: {name}"));
        Address::from_word(digest)
    }

    /// The deployer: holds `DEFAULT_ADMIN_ROLE` (grants roles) and `ADMIN_ROLE`
    /// (manages templates).
    #[must_use]
    pub fn admin() -> Address {
        Self::account("admin")
    }

    /// Holds `HANDSHAKER_ROLE` (anchors batches).
    #[must_use]
    pub fn handshaker() -> Address {
        Self::account("handshaker")
    }

    /// Holds `DOCTOR_ROLE`.
    #[must_use]
    pub fn doctor() -> Address {
        Self::account("doctor")
    }

    /// Holds `NURSE_ROLE`.
    #[must_use]
    pub fn nurse() -> Address {
        Self::account("nurse")
    }

    /// Holds `PATHOLOGIST_ROLE`.
    #[must_use]
    pub fn pathologist() -> Address {
        Self::account("pathologist")
    }

    /// Holds `DEVICE_ROLE`.
    #[must_use]
    pub fn device() -> Address {
        Self::account("device")
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &DevnetConfig {
        &self.config
    }

    /// The chain id.
    #[must_use]
    pub fn chain_id(&self) -> u64 {
        self.config.chain_id
    }

    /// The registry's address.
    #[must_use]
    pub fn registry(&self) -> Address {
        self.registry
    }

    /// The current block's number (transactions executed now go into it).
    #[must_use]
    pub fn block_number(&self) -> u64 {
        self.block_number
    }

    /// The current block's timestamp (Unix seconds).
    #[must_use]
    pub fn block_timestamp(&self) -> u64 {
        self.block_timestamp
    }

    /// Closes the current block and starts the next,
    /// [`DevnetConfig::block_time`] seconds later. Returns its number.
    pub fn mine(&mut self) -> u64 {
        self.block_number += 1;
        self.block_timestamp = self.block_timestamp.saturating_add(self.config.block_time);
        self.block_number
    }

    /// Sets the current block's timestamp.
    ///
    /// # Errors
    /// [`DevnetError::TimeWentBackwards`] if `timestamp` is before the current one.
    pub fn set_time(&mut self, timestamp: u64) -> Result<(), DevnetError> {
        if timestamp < self.block_timestamp {
            return Err(DevnetError::TimeWentBackwards {
                now: self.block_timestamp,
                requested: timestamp,
            });
        }
        self.block_timestamp = timestamp;
        Ok(())
    }

    /// An account's balance in wei.
    #[must_use]
    pub fn balance(&self, account: Address) -> U256 {
        self.account_info(account).balance
    }

    /// An account's nonce (transactions sent).
    #[must_use]
    pub fn nonce(&self, account: Address) -> u64 {
        self.account_info(account).nonce
    }

    /// Sets an account's balance in wei.
    pub fn fund(&mut self, account: Address, wei: U256) {
        let info = AccountInfo {
            balance: wei,
            ..self.account_info(account)
        };
        self.evm
            .ctx
            .journaled_state
            .database
            .insert_account_info(account, info);
    }

    fn account_info(&self, account: Address) -> AccountInfo {
        // The in-memory database over an empty one cannot fail.
        self.evm
            .ctx
            .journaled_state
            .database
            .basic_ref(account)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Executes a transaction from `from` to `to` with `calldata` in the
    /// current block and commits its effects. A revert is a receipt with
    /// status 0 and the decoded [`Failure`], not an error.
    ///
    /// # Errors
    /// [`DevnetError::Rejected`] if the EVM refuses the transaction outright.
    pub fn execute(
        &mut self,
        from: Address,
        to: Address,
        calldata: Bytes,
    ) -> Result<Receipt, DevnetError> {
        self.execute_kind(from, TxKind::Call(to), calldata, true)
    }

    /// Deploys the contract `name` from `from` with `creation_code` (the
    /// constructor and its ABI-encoded arguments) and returns its address:
    /// the registry, or another contract beside it, such as an author's
    /// smart account.
    ///
    /// # Errors
    /// [`DevnetError::Failed`] ("deploying `name`") when the constructor
    /// reverts or halts; [`DevnetError::Rejected`] as for [`Devnet::execute`].
    pub fn deploy(
        &mut self,
        from: Address,
        name: &str,
        creation_code: Bytes,
    ) -> Result<Address, DevnetError> {
        let receipt = self.execute_kind(from, TxKind::Create, creation_code, true)?;
        match (&receipt.failure, receipt.contract_address) {
            (None, Some(address)) => Ok(address),
            _ => Err(failed(&format!("deploying {name}"), receipt)),
        }
    }

    /// Deploys `EhrConsent` over this devnet's registry (whose roles it
    /// reads), from the admin, and returns its address.
    ///
    /// # Errors
    /// As [`Devnet::deploy`].
    pub fn deploy_consent(&mut self) -> Result<Address, DevnetError> {
        let code = crate::consent_creation_code(self.registry);
        self.deploy(Self::admin(), "EhrConsent", code)
    }

    /// Executes a TC made by `ehrchain_core`'s `TransactionGenerator`, sent by
    /// `from`.
    ///
    /// # Errors
    /// [`DevnetError::WrongChain`] if the TC is for another chain;
    /// [`DevnetError::Rejected`] as for [`Devnet::execute`].
    pub fn execute_tc(
        &mut self,
        tc: &ChainTransaction,
        from: Address,
    ) -> Result<Receipt, DevnetError> {
        if tc.chain_id != self.config.chain_id {
            return Err(DevnetError::WrongChain {
                tx: tc.chain_id,
                devnet: self.config.chain_id,
            });
        }
        self.execute(from, tc.to, tc.calldata.clone())
    }

    /// Calls the registry with a typed call from `from`, in the current block.
    ///
    /// # Errors
    /// [`DevnetError::Rejected`] as for [`Devnet::execute`].
    pub fn send<C: SolCall>(&mut self, from: Address, call: &C) -> Result<Receipt, DevnetError> {
        self.execute(from, self.registry, call.abi_encode().into())
    }

    /// Runs a call without committing anything (`eth_call`): the receipt it
    /// would have, including gas used and decoded failure.
    ///
    /// # Errors
    /// [`DevnetError::Rejected`] as for [`Devnet::execute`].
    pub fn call(
        &mut self,
        from: Address,
        to: Address,
        calldata: Bytes,
    ) -> Result<Receipt, DevnetError> {
        self.execute_kind(from, TxKind::Call(to), calldata, false)
    }

    /// Calls a registry view and decodes what it returns.
    ///
    /// # Errors
    /// [`DevnetError::Failed`] if the view reverts, [`DevnetError::Decode`] if
    /// its output does not decode.
    pub fn view<C: SolCall>(&mut self, call: &C) -> Result<C::Return, DevnetError> {
        let receipt = self.call(Address::ZERO, self.registry, call.abi_encode().into())?;
        if !receipt.status() {
            return Err(failed(C::SIGNATURE, receipt));
        }
        C::abi_decode_returns(&receipt.output).map_err(|e| DevnetError::Decode(e.to_string()))
    }

    /// Grants the role named `role` (its id is `keccak256(upper(role) +
    /// "_ROLE")`, as `ehrchain_core::Role::id`) to `account`, as the admin.
    ///
    /// # Errors
    /// [`DevnetError::Role`] for an invalid role name; [`DevnetError::Failed`]
    /// if the grant reverts.
    pub fn grant_role(&mut self, role: &str, account: Address) -> Result<Receipt, DevnetError> {
        let role = Role::new(role)?;
        self.grant_role_id(role.id(), account)
    }

    /// Grants the role with id `role` to `account`, as the admin.
    ///
    /// # Errors
    /// [`DevnetError::Failed`] if the grant reverts.
    pub fn grant_role_id(&mut self, role: B256, account: Address) -> Result<Receipt, DevnetError> {
        let receipt = self.send(Self::admin(), &EhrRegistry::grantRoleCall { role, account })?;
        ensure_success("grantRole", receipt)
    }

    /// Registers `template` on chain (its id and the ids of its roles), as the
    /// admin.
    ///
    /// # Errors
    /// [`DevnetError::Failed`] if the registration reverts (for example, the
    /// template is already registered).
    pub fn register_template(&mut self, template: &Template) -> Result<Receipt, DevnetError> {
        let call = crate::register_template_call(template);
        let receipt = self.send(Self::admin(), &call)?;
        ensure_success("registerTemplate", receipt)
    }

    fn execute_kind(
        &mut self,
        from: Address,
        kind: TxKind,
        calldata: Bytes,
        commit: bool,
    ) -> Result<Receipt, DevnetError> {
        let nonce = self.nonce(from);
        let tx = TxEnv::builder()
            .caller(from)
            .kind(kind)
            .data(calldata.clone())
            .nonce(nonce)
            .gas_limit(self.config.gas_limit)
            .gas_price(0)
            .chain_id(Some(self.config.chain_id))
            .build()
            .map_err(|e| DevnetError::Rejected(format!("{e:?}")))?;
        let intrinsic_gas = calculate_initial_tx_gas_for_tx(&tx, SPEC, None).initial_regular_gas;
        self.evm.set_block(BlockEnv {
            number: U256::from(self.block_number),
            timestamp: U256::from(self.block_timestamp),
            gas_limit: self.config.gas_limit,
            ..BlockEnv::default()
        });
        let result = if commit {
            self.evm.transact_commit(tx)
        } else {
            self.evm.transact(tx).map(|r| r.result)
        }
        .map_err(|e| DevnetError::Rejected(e.to_string()))?;

        let to = match kind {
            TxKind::Call(to) => Some(to),
            TxKind::Create => None,
        };
        let tx_hash = keccak256(
            [
                &self.config.chain_id.to_be_bytes()[..],
                from.as_slice(),
                &nonce.to_be_bytes(),
                to.unwrap_or_default().as_slice(),
                &calldata,
            ]
            .concat(),
        );
        let mut receipt = Receipt {
            tx_hash,
            block_number: self.block_number,
            block_timestamp: self.block_timestamp,
            from,
            to,
            contract_address: None,
            gas_used: 0,
            intrinsic_gas,
            logs: Vec::new(),
            output: Bytes::new(),
            failure: None,
        };
        match result {
            ExecutionResult::Success {
                gas, logs, output, ..
            } => {
                receipt.gas_used = gas.tx_gas_used();
                receipt.logs = logs;
                match output {
                    Output::Call(data) => receipt.output = data,
                    Output::Create(data, address) => {
                        receipt.output = data;
                        receipt.contract_address = address;
                    }
                }
            }
            ExecutionResult::Revert { gas, output, .. } => {
                receipt.gas_used = gas.tx_gas_used();
                receipt.failure = Some(
                    ContractError::<EhrRegistryErrors>::abi_decode(&output)
                        .map_or_else(|_| Failure::RevertedRaw(output.clone()), Failure::Reverted),
                );
                receipt.output = output;
            }
            ExecutionResult::Halt { reason, gas, .. } => {
                receipt.gas_used = gas.tx_gas_used();
                receipt.failure = Some(Failure::Halted(format!("{reason:?}")));
            }
        }
        Ok(receipt)
    }
}

fn failed(what: &str, receipt: Receipt) -> DevnetError {
    DevnetError::Failed {
        what: what.to_owned(),
        receipt: Box::new(receipt),
    }
}

fn ensure_success(what: &str, receipt: Receipt) -> Result<Receipt, DevnetError> {
    if receipt.status() {
        Ok(receipt)
    } else {
        Err(failed(what, receipt))
    }
}
