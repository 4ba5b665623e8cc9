//! Reading results: quantities, hashes, data, receipts and transactions as
//! the node returned them, into core types. Anything unreadable is
//! [`TransportError::Malformed`].

use crate::finality::BlockRef;
use alloy_primitives::{Address, B256, Bytes, LogData, U256};
use serde_json::Value;

use crate::transport::{Submission, TransportError, TxHash, TxReceipt};

/// The error for `value` (named `what`), showing its first 120 bytes or
/// so (cut at a character's boundary: a node's answer may hold any text).
fn malformed(what: &str, value: &Value) -> TransportError {
    let mut shown = value.to_string();
    shown.truncate(shown.floor_char_boundary(120));
    TransportError::Malformed(format!("{what} is not what a node returns: {shown}"))
}

fn field<'a>(object: &'a Value, key: &str) -> &'a Value {
    object.get(key).unwrap_or(&Value::Null)
}

/// A JSON-RPC quantity (`"0x1a"`) as a number.
///
/// # Errors
/// [`TransportError::Malformed`] for anything else; `what` names the value.
pub fn quantity(value: &Value, what: &str) -> Result<u64, TransportError> {
    value
        .as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .filter(|digits| !digits.is_empty())
        .and_then(|digits| u64::from_str_radix(digits, 16).ok())
        .ok_or_else(|| malformed(what, value))
}

fn parsed<T: std::str::FromStr>(value: &Value, what: &str) -> Result<T, TransportError> {
    value
        .as_str()
        .filter(|s| s.starts_with("0x"))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| malformed(what, value))
}

/// A block header (the result of `eth_getBlockByNumber`): its number and
/// hash, or `None` for `null` (the node has no such block yet).
///
/// # Errors
/// [`TransportError::Malformed`] for anything else.
pub fn block(value: &Value) -> Result<Option<BlockRef>, TransportError> {
    if value.is_null() {
        return Ok(None);
    }
    Ok(Some(BlockRef {
        number: quantity(field(value, "number"), "the block's number")?,
        hash: parsed(field(value, "hash"), "the block's hash")?,
    }))
}

/// A transaction hash (the result of a send).
///
/// # Errors
/// [`TransportError::Malformed`] for anything but 32 bytes of hex.
pub fn tx_hash(value: &Value) -> Result<TxHash, TransportError> {
    parsed::<B256>(value, "the transaction hash").map(TxHash)
}

/// Hex data (the result of an `eth_call`).
///
/// # Errors
/// [`TransportError::Malformed`] for anything but `0x`-prefixed hex bytes.
pub fn data(value: &Value) -> Result<Bytes, TransportError> {
    parsed(value, "the call's return data")
}

/// Checks the result of `eth_chainId` against the chain the transport is for.
///
/// # Errors
/// [`TransportError::WrongChain`] naming both chains;
/// [`TransportError::Malformed`] for an unreadable answer.
pub fn check_chain_id(value: &Value, expected: u64) -> Result<(), TransportError> {
    let actual = quantity(value, "eth_chainId")?;
    if actual == expected {
        Ok(())
    } else {
        Err(TransportError::WrongChain {
            expected,
            actual: Some(actual),
        })
    }
}

/// The result of `eth_getTransactionReceipt` for `tx_hash`, or `None` while
/// it is not mined (`null`, or a receipt without a block). `submission`
/// (what was sent) finds the anchoring event's log index. A failed
/// receipt's `revert_data` is Besu's `revertReason` when present, else
/// `None`: read it with [`RpcRequest::replay`](super::RpcRequest::replay).
///
/// # Errors
/// [`TransportError::Malformed`] for a receipt that does not read, or one of
/// another transaction.
pub fn receipt(
    value: &Value,
    tx_hash: &TxHash,
    submission: Option<&Submission>,
) -> Result<Option<TxReceipt>, TransportError> {
    if value.is_null()
        || field(value, "blockNumber").is_null()
        || field(value, "blockHash").is_null()
    {
        return Ok(None);
    }
    if !value.is_object() {
        return Err(malformed("the receipt", value));
    }
    let named: B256 = parsed(
        field(value, "transactionHash"),
        "the receipt's transactionHash",
    )?;
    if named != tx_hash.0 {
        return Err(TransportError::Malformed(format!(
            "asked for the receipt of {tx_hash}, the node sent that of {named}"
        )));
    }
    let status = quantity(field(value, "status"), "the receipt's status")? == 1;
    let mut anchor_log_index = None;
    if let Some(submission) = submission {
        let logs = field(value, "logs")
            .as_array()
            .ok_or_else(|| malformed("the receipt's logs", value))?;
        for log in logs {
            let address: Address = parsed(field(log, "address"), "a log's address")?;
            let topics = field(log, "topics")
                .as_array()
                .ok_or_else(|| malformed("a log's topics", log))?
                .iter()
                .map(|t| parsed::<B256>(t, "a log topic"))
                .collect::<Result<Vec<_>, _>>()?;
            let data: Bytes = parsed(field(log, "data"), "a log's data")?;
            if submission.is_anchoring_event(address, &LogData::new_unchecked(topics, data)) {
                anchor_log_index = Some(quantity(field(log, "logIndex"), "a log's logIndex")?);
                break;
            }
        }
    }
    let revert_data = match field(value, "revertReason") {
        Value::Null => None,
        reason if !status => Some(parsed(reason, "the receipt's revertReason")?),
        _ => None,
    };
    Ok(Some(TxReceipt {
        tx_hash: *tx_hash,
        status,
        block_number: quantity(field(value, "blockNumber"), "the receipt's blockNumber")?,
        block_hash: parsed(field(value, "blockHash"), "the receipt's blockHash")?,
        anchor_log_index,
        gas_used: quantity(field(value, "gasUsed"), "the receipt's gasUsed")?,
        revert_data,
    }))
}

/// A transaction as `eth_getTransactionByHash` returns it: what
/// [`RpcRequest::replay`](super::RpcRequest::replay) needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinedTransaction {
    /// The sender.
    pub from: Address,
    /// The callee (`None` for a creation).
    pub to: Option<Address>,
    /// The calldata.
    pub input: Bytes,
    /// Wei sent.
    pub value: U256,
    /// The gas limit.
    pub gas: u64,
}

/// The result of `eth_getTransactionByHash`: `None` when the node does not
/// know the transaction (dropped, or never received).
///
/// # Errors
/// [`TransportError::Malformed`] for a transaction that does not read.
pub fn transaction(value: &Value) -> Result<Option<MinedTransaction>, TransportError> {
    if value.is_null() {
        return Ok(None);
    }
    let to = match field(value, "to") {
        Value::Null => None,
        to => Some(parsed(to, "the transaction's to")?),
    };
    let input = match field(value, "input") {
        Value::Null => field(value, "data"),
        input => input,
    };
    Ok(Some(MinedTransaction {
        from: parsed(field(value, "from"), "the transaction's from")?,
        to,
        input: parsed(input, "the transaction's input")?,
        value: parsed(field(value, "value"), "the transaction's value")?,
        gas: quantity(field(value, "gas"), "the transaction's gas")?,
    }))
}

/// The revert data of a failed transaction from the answer to its
/// [`RpcRequest::replay`](super::RpcRequest::replay): the revert's data, or
/// empty when the replay succeeds or fails without a revert (it ran out of
/// gas, say: the state it ran on is gone).
///
/// # Errors
/// A retryable [`TransportError`] (the replay must be asked again).
pub fn replay_outcome(answer: Result<Value, TransportError>) -> Result<Bytes, TransportError> {
    match answer {
        Ok(_) => Ok(Bytes::new()),
        Err(TransportError::Reverted(revert)) => Ok(revert.data),
        Err(e) if e.is_retryable() => Err(e),
        Err(_) => Ok(Bytes::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_answer_is_shown_cut_at_a_character_boundary() {
        // `"` then 118 ASCII bytes: byte 120 falls inside the first `é`.
        let text = format!("{}{}", "a".repeat(118), "é".repeat(10));
        let Err(TransportError::Malformed(message)) = quantity(&Value::String(text), "the head")
        else {
            panic!("not malformed");
        };
        assert!(
            message.ends_with(&format!("\"{}", "a".repeat(118))),
            "{message}"
        );
    }
}
