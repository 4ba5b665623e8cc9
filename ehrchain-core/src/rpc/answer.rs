//! The answers: a JSON-RPC result, or the [`TransportError`] that says what
//! went wrong and whether to try again.

use alloy_primitives::{B256, Bytes};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::registry_abi::DecodedRevert;
use crate::transport::{TransportError, TxHash};

/// A revert a node reported: of a call, of a gas estimate, or of a mined
/// transaction (then [`Revert::tx_hash`] names it).
///
/// JSON form: `{"data": "0x…", "txHash": "0x…", "message": "…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revert {
    /// The revert data (empty when the node gave none).
    pub data: Bytes,
    /// The mined transaction that reverted, when the node names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<TxHash>,
    /// The node's own message (Besu's and Anvil's carry a decoded reason).
    pub message: String,
}

impl Revert {
    /// The revert data decoded against the registry's errors.
    #[must_use]
    pub fn decoded(&self) -> DecodedRevert {
        DecodedRevert::from_data(&self.data)
    }
}

impl std::fmt::Display for Revert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.tx_hash {
            Some(hash) => write!(f, "transaction {hash} reverted: ")?,
            None => f.write_str("the transaction would revert: ")?,
        }
        f.write_str(&self.decoded().detail)
    }
}

/// Classifies an HTTP answer to a JSON-RPC request: its status and body.
/// A JSON-RPC response is read whatever the status (some nodes answer errors
/// with 4xx or 5xx); otherwise 429 is rate limiting, 408 and 5xx an outage,
/// other statuses a refusal.
///
/// # Errors
/// The [`TransportError`] the answer amounts to (see the
/// [module docs](super)); `expected_chain` is the chain the transport is
/// for, named in [`TransportError::WrongChain`].
pub fn classify_http(
    status: u16,
    body: &[u8],
    expected_chain: u64,
) -> Result<Value, TransportError> {
    let parsed = serde_json::from_slice::<Value>(body)
        .ok()
        .filter(|v| v.get("result").is_some() || v.get("error").is_some());
    match (status, parsed) {
        (_, Some(response)) => classify_response(&response, expected_chain),
        (429, None) => Err(TransportError::RateLimited(http_text(status, body))),
        (408 | 500..=599, None) => Err(TransportError::Unavailable(http_text(status, body))),
        (200..=299, None) => Err(TransportError::Malformed(format!(
            "the answer is not a JSON-RPC response: {}",
            excerpt(body)
        ))),
        (_, None) => Err(TransportError::Rejected(http_text(status, body))),
    }
}

/// Classifies a parsed JSON-RPC response object (`{"result": …}` or
/// `{"error": …}`).
///
/// # Errors
/// As [`classify_http`].
pub fn classify_response(response: &Value, expected_chain: u64) -> Result<Value, TransportError> {
    if let Some(error) = response.get("error").filter(|e| !e.is_null()) {
        return Err(classify_error(error, expected_chain));
    }
    match response.get("result") {
        Some(result) => Ok(result.clone()),
        None => Err(TransportError::Malformed(format!(
            "the response has neither result nor error: {}",
            excerpt(response.to_string().as_bytes())
        ))),
    }
}

/// Classifies a JSON-RPC error object (`{"code", "message", "data"}`), or an
/// EIP-1193 provider's error as a plain object (MetaMask's
/// `data.originalError`, a library's `error` or `cause` are followed; an
/// error without a numeric `code` is the provider's own failure to reach the
/// node: [`TransportError::Unavailable`]).
#[must_use]
pub fn classify_error(error: &Value, expected_chain: u64) -> TransportError {
    if let Some(revert) = revert_in(error) {
        return TransportError::Reverted(revert);
    }
    let code = error.get("code").and_then(Value::as_i64);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let text = match code {
        Some(code) => format!("JSON-RPC error {code}: {message}"),
        None => message.to_owned(),
    };
    let lower = message.to_ascii_lowercase();
    let says = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    match code {
        Some(429 | -32005) => TransportError::RateLimited(text),
        Some(4901 | 4902) => TransportError::WrongChain {
            expected: expected_chain,
            actual: None,
        },
        Some(4900) => TransportError::Unavailable(text),
        Some(4001) => TransportError::Rejected(format!(
            "the user rejected the request in the wallet ({text})"
        )),
        // An EIP-1193 provider's error without a JSON-RPC code is its own
        // failure to reach the node (a `fetch` that failed).
        None => TransportError::Unavailable(text),
        _ if says(&["rate limit", "too many requests", "exceeds the rate"]) => {
            TransportError::RateLimited(text)
        }
        _ if says(&["eip-155", "chain id", "chainid"])
            && says(&[
                "invalid",
                "incompatible",
                "mismatch",
                "wrong",
                "unsupported",
                "another chain",
            ]) =>
        {
            TransportError::WrongChain {
                expected: expected_chain,
                actual: None,
            }
        }
        _ if says(&[
            "timeout",
            "timed out",
            "temporarily unavailable",
            "try again",
            "header not found",
            "upstream",
        ]) =>
        {
            TransportError::Unavailable(text)
        }
        _ => TransportError::Rejected(text),
    }
}

/// The revert in an error object or in the errors nested in it.
fn revert_in(error: &Value) -> Option<Revert> {
    let mut says_revert = false;
    let mut code3 = false;
    let mut message = String::new();
    let mut found: Option<(Bytes, Option<TxHash>)> = None;
    let mut next = Some(error);
    for _ in 0..4 {
        let Some(e) = next else { break };
        let text = e.get("message").and_then(Value::as_str).unwrap_or_default();
        if text.to_ascii_lowercase().contains("revert") {
            says_revert = true;
            if message.is_empty() {
                text.clone_into(&mut message);
            }
        }
        code3 |= e.get("code").and_then(Value::as_i64) == Some(3);
        if found.is_none() {
            found = revert_data(e.get("data"));
        }
        next = e
            .get("data")
            .and_then(|d| d.get("originalError"))
            .or_else(|| e.get("error"))
            .or_else(|| e.get("cause"));
    }
    match found {
        Some((data, tx_hash)) if says_revert || code3 || tx_hash.is_some() => Some(Revert {
            data,
            tx_hash,
            message,
        }),
        None if says_revert || code3 => Some(Revert {
            data: Bytes::new(),
            tx_hash: None,
            message,
        }),
        _ => None,
    }
}

/// Revert data and a mined transaction's hash in an error's `data` member.
fn revert_data(data: Option<&Value>) -> Option<(Bytes, Option<TxHash>)> {
    let data = data?;
    if let Some(bytes) = hex(data) {
        return Some((bytes, None));
    }
    let object = data.as_object()?;
    let hash = ["txHash", "hash"]
        .iter()
        .find_map(|k| {
            object
                .get(*k)
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<B256>().ok())
        })
        .map(TxHash);
    let bytes = ["data", "result"]
        .iter()
        .find_map(|k| object.get(*k).and_then(hex));
    if bytes.is_some() || hash.is_some() {
        return Some((bytes.unwrap_or_default(), hash));
    }
    // Ganache v6: {"0x<tx hash>": {"error": "revert", "return": "0x…"}, "stack": …}.
    object.iter().find_map(|(key, value)| {
        let hash = key.parse::<B256>().ok()?;
        Some((
            value.get("return").and_then(hex).unwrap_or_default(),
            Some(TxHash(hash)),
        ))
    })
}

fn hex(value: &Value) -> Option<Bytes> {
    value
        .as_str()
        .filter(|s| s.starts_with("0x"))
        .and_then(|s| s.parse().ok())
}

fn http_text(status: u16, body: &[u8]) -> String {
    format!("HTTP {status}: {}", excerpt(body))
}

/// The start of an answer, for messages (answers can be megabytes).
fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body.get(..MAX).unwrap_or(body));
    if body.len() > MAX {
        format!("{text}…")
    } else {
        text.into_owned()
    }
}
