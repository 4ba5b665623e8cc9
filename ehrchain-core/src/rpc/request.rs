//! The requests: JSON-RPC 2.0 bodies with array params and reads pinned to
//! a mined block or tag.

use alloy_primitives::{Address, Bytes, U256};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::MinedTransaction;
use crate::transport::TxHash;

/// A mined block a read is pinned to. There is deliberately no `pending`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BlockTag {
    /// The newest mined block.
    Latest,
    /// The newest block the consensus layer calls safe.
    Safe,
    /// The newest finalized block.
    Finalized,
    /// The block with this number.
    Number(u64),
}

impl BlockTag {
    /// The JSON-RPC form: `"latest"`, `"safe"`, `"finalized"` or a quantity.
    #[must_use]
    pub fn to_json(self) -> Value {
        match self {
            Self::Latest => json!("latest"),
            Self::Safe => json!("safe"),
            Self::Finalized => json!("finalized"),
            Self::Number(n) => json!(format!("{n:#x}")),
        }
    }
}

/// The fields of a transaction to estimate or send (`eth_estimateGas`,
/// `eth_sendTransaction` on an unlocked account).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxFields {
    /// The sending account.
    pub from: Address,
    /// The contract called, or `None` to create one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Address>,
    /// Calldata (or creation code).
    pub data: Bytes,
    /// Wei sent along, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<U256>,
}

impl TxFields {
    fn to_json(&self, gas: Option<u64>) -> Value {
        call_object(
            self.from,
            self.to,
            &self.data,
            self.value.unwrap_or_default(),
            gas,
        )
    }
}

/// A call or transaction object: `from`, `to` when there is one, `data`,
/// `value` when not zero, `gas` when given.
fn call_object(
    from: Address,
    to: Option<Address>,
    data: &Bytes,
    value: U256,
    gas: Option<u64>,
) -> Value {
    let mut tx = serde_json::Map::new();
    tx.insert("from".into(), json!(from));
    if let Some(to) = to {
        tx.insert("to".into(), json!(to));
    }
    tx.insert("data".into(), json!(data));
    if !value.is_zero() {
        tx.insert("value".into(), json!(value));
    }
    if let Some(gas) = gas {
        tx.insert("gas".into(), json!(format!("{gas:#x}")));
    }
    Value::Object(tx)
}

/// One JSON-RPC request: a method and its params, always an array.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcRequest {
    /// The method (`eth_call`, …).
    pub method: &'static str,
    /// The params, in order.
    pub params: Vec<Value>,
}

impl RpcRequest {
    fn new(method: &'static str, params: Vec<Value>) -> Self {
        Self { method, params }
    }

    /// The JSON-RPC 2.0 body to POST, with the caller's request id.
    #[must_use]
    pub fn body(&self, id: u64) -> String {
        self.object(id).to_string()
    }

    /// The JSON-RPC 2.0 batch body to POST: an array of `requests`' request
    /// objects, their ids counted up from `first_id` (the answers come back
    /// by id, in any order).
    #[must_use]
    pub fn batch_body(requests: impl IntoIterator<Item = Self>, first_id: u64) -> String {
        let objects: Vec<Value> = requests
            .into_iter()
            .zip(first_id..)
            .map(|(request, id)| request.object(id))
            .collect();
        Value::Array(objects).to_string()
    }

    /// The JSON-RPC 2.0 request object with the caller's request id.
    fn object(&self, id: u64) -> Value {
        json!({ "jsonrpc": "2.0", "id": id, "method": self.method, "params": self.params })
    }

    /// `eth_chainId`.
    #[must_use]
    pub fn chain_id() -> Self {
        Self::new("eth_chainId", vec![])
    }

    /// `eth_blockNumber`: the newest mined block.
    #[must_use]
    pub fn block_number() -> Self {
        Self::new("eth_blockNumber", vec![])
    }

    /// `eth_accounts`: the node's unlocked accounts.
    #[must_use]
    pub fn accounts() -> Self {
        Self::new("eth_accounts", vec![])
    }

    /// `evm_mine` (Ganache, Hardhat, Anvil): mine one block now. A
    /// development-node method for hosts that ask for it explicitly.
    #[must_use]
    pub fn mine() -> Self {
        Self::new("evm_mine", vec![])
    }

    /// `eth_call` of `data` on `to` at the mined block `at`.
    #[must_use]
    pub fn view(to: Address, data: &Bytes, at: BlockTag) -> Self {
        Self::new(
            "eth_call",
            vec![json!({ "to": to, "data": data }), at.to_json()],
        )
    }

    /// `eth_estimateGas` of `tx` against the latest mined block.
    #[must_use]
    pub fn estimate_gas(tx: &TxFields) -> Self {
        Self::new(
            "eth_estimateGas",
            vec![tx.to_json(None), BlockTag::Latest.to_json()],
        )
    }

    /// `eth_sendTransaction` of `tx` with a gas limit (an unlocked account).
    #[must_use]
    pub fn send_transaction(tx: &TxFields, gas: u64) -> Self {
        Self::new("eth_sendTransaction", vec![tx.to_json(Some(gas))])
    }

    /// `eth_sendRawTransaction` of a signed transaction.
    #[must_use]
    pub fn send_raw_transaction(raw: &[u8]) -> Self {
        Self::new(
            "eth_sendRawTransaction",
            vec![json!(Bytes::copy_from_slice(raw))],
        )
    }

    /// `eth_gasPrice`: the legacy gas price the node suggests.
    #[must_use]
    pub fn gas_price() -> Self {
        Self::new("eth_gasPrice", vec![])
    }

    /// `eth_maxPriorityFeePerGas`: the EIP-1559 tip the node suggests.
    #[must_use]
    pub fn max_priority_fee() -> Self {
        Self::new("eth_maxPriorityFeePerGas", vec![])
    }

    /// `eth_getTransactionCount` of `account` at `pending`: the next nonce
    /// for a locally signed transaction. The one request that names
    /// `pending`, because a nonce must count the transactions the node holds
    /// but has not mined; no verdict rests on it.
    #[must_use]
    pub fn next_nonce(account: Address) -> Self {
        Self::new(
            "eth_getTransactionCount",
            vec![json!(account), json!("pending")],
        )
    }

    /// `eth_getTransactionReceipt`.
    #[must_use]
    pub fn receipt(tx_hash: &TxHash) -> Self {
        Self::new("eth_getTransactionReceipt", vec![json!(tx_hash.0)])
    }

    /// `eth_getTransactionByHash`.
    #[must_use]
    pub fn transaction(tx_hash: &TxHash) -> Self {
        Self::new("eth_getTransactionByHash", vec![json!(tx_hash.0)])
    }

    /// `eth_call` of a mined transaction at its own block, to read the revert
    /// data of a failed receipt (see [`replay_outcome`](super::replay_outcome)).
    #[must_use]
    pub fn replay(tx: &MinedTransaction, block: u64) -> Self {
        let call = call_object(tx.from, tx.to, &tx.input, tx.value, Some(tx.gas));
        Self::new("eth_call", vec![call, BlockTag::Number(block).to_json()])
    }

    /// `web3_clientVersion`: the node's name and version (`Ganache/v7.9.2/…`,
    /// `HardhatNetwork/2.29.…`).
    #[must_use]
    pub fn client_version() -> Self {
        Self::new("web3_clientVersion", vec![])
    }

    /// `evm_snapshot` (Ganache, Hardhat, Anvil): remember the chain's state;
    /// answered with the snapshot's id. A development-node method for fault
    /// tests (a reorg after the ACK).
    #[must_use]
    pub fn snapshot() -> Self {
        Self::new("evm_snapshot", vec![])
    }

    /// `evm_revert` to the snapshot `id`: the blocks mined since are gone,
    /// as in a reorg. A development-node method for fault tests.
    #[must_use]
    pub fn revert_to(id: &Value) -> Self {
        Self::new("evm_revert", vec![id.clone()])
    }

    /// `evm_setAutomine` (Hardhat, Anvil): mine each transaction at once, or
    /// leave it pending. A development-node method for fault tests.
    #[must_use]
    pub fn set_automine(on: bool) -> Self {
        Self::new("evm_setAutomine", vec![json!(on)])
    }

    /// `miner_start` or `miner_stop` (Ganache, Geth): mine the pending
    /// transactions, or leave them pending. A development-node method for
    /// fault tests.
    #[must_use]
    pub fn miner(on: bool) -> Self {
        Self::new(if on { "miner_start" } else { "miner_stop" }, vec![])
    }

    /// Any other request, `method` with `params`: for what this policy does
    /// not shape (a fault test's raw transaction object, say).
    #[must_use]
    pub fn other(method: &'static str, params: Vec<Value>) -> Self {
        Self::new(method, params)
    }

    /// `hardhat_dropTransaction`: remove a pending transaction from the
    /// node's mempool. A development-node method for fault tests.
    #[must_use]
    pub fn drop_transaction(tx_hash: &TxHash) -> Self {
        Self::new("hardhat_dropTransaction", vec![json!(tx_hash.0)])
    }

    /// `eth_getBlockByNumber` (header only) of the block `at`.
    #[must_use]
    pub fn block(at: BlockTag) -> Self {
        Self::new("eth_getBlockByNumber", vec![at.to_json(), json!(false)])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_batch_body_numbers_its_ids_from_the_first() {
        let body = RpcRequest::batch_body([RpcRequest::block_number(), RpcRequest::mine()], 7);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!([
                {"jsonrpc": "2.0", "id": 7, "method": "eth_blockNumber", "params": []},
                {"jsonrpc": "2.0", "id": 8, "method": "evm_mine", "params": []},
            ])
        );
        assert_eq!(RpcRequest::batch_body([], 1), "[]");
    }

    #[test]
    fn params_are_arrays_and_reads_name_a_mined_block() {
        assert_eq!(
            RpcRequest::mine().body(7),
            r#"{"id":7,"jsonrpc":"2.0","method":"evm_mine","params":[]}"#
        );
        let view = RpcRequest::view(
            Address::repeat_byte(1),
            &Bytes::from_static(&[0xab]),
            BlockTag::Latest,
        );
        assert_eq!(
            view.params,
            vec![
                json!({"to": "0x0101010101010101010101010101010101010101", "data": "0xab"}),
                json!("latest")
            ]
        );
        assert_eq!(BlockTag::Number(255).to_json(), json!("0xff"));
        assert_eq!(BlockTag::Finalized.to_json(), json!("finalized"));
        let tx = TxFields {
            from: Address::repeat_byte(2),
            to: None,
            data: Bytes::from_static(&[1]),
            value: None,
        };
        assert_eq!(
            RpcRequest::send_transaction(&tx, 100_000).params,
            vec![
                json!({"from": "0x0202020202020202020202020202020202020202", "data": "0x01", "gas": "0x186a0"})
            ]
        );
        assert_eq!(RpcRequest::estimate_gas(&tx).params[1], json!("latest"));
    }
}
