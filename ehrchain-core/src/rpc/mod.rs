//! The one JSON-RPC policy: how every ehrchain transport (the Rust
//! `RpcTransport`, the JavaScript EIP-1193 transport, a C host's own HTTP
//! client) shapes its requests to an Ethereum node and reads the answers.
//! Sans-I/O: this module builds request bodies and classifies answers; the
//! transports only move bytes.
//!
//! ```text
//!   transport (Rust / JS / C)              ehrchain_core::rpc
//!   ─────────────────────────              ──────────────────
//!   wants the head, a receipt, … ───────▶  RpcRequest::block_number(), ::receipt(h), …
//!   POSTs RpcRequest::body(id)             (params always an array, reads pinned
//!                                           to a mined block or tag, never `pending`)
//!   HTTP status + body ─────────────────▶  classify_http(status, body, chain)
//!     or an EIP-1193 error object ──────▶  classify_error(error, chain)
//!                            ◀─────────── Ok(result) or Err(TransportError):
//!                                           Reverted(Revert) │ Unavailable │ RateLimited
//!                                           │ WrongChain │ Rejected │ Malformed
//!   decodes the result ─────────────────▶  quantity, tx_hash, data, receipt, …
//! ```
//!
//! [`Nonces`] is the policy for the nonces of transactions a transport signs
//! itself: no gap after a send refused mid-burst, no nonce reused for
//! another TC after a send whose outcome is unknown.
//!
//! [`Exchange`] carries out a whole validator action (submit, poll, read the
//! head or the registry) as the requests it takes, so that a host only
//! posts bodies and hands back answers.
//!
//! Invariants:
//! - **Params are arrays.** Every request carries `"params": [...]`, never
//!   `null` (Hardhat's node refuses `null` with -32600).
//! - **Mined state only.** Every read that a verdict rests on names a block:
//!   [`BlockTag::Latest`] (the newest *mined* block), `safe`, `finalized` or a
//!   number; [`BlockTag`] has no `pending`. The only request that names
//!   `pending` is [`RpcRequest::next_nonce`], which must count the node's
//!   queued transactions and decides no verdict.
//! - **Reverts are found wherever a node puts them**, and carry the
//!   transaction hash of a mined revert when the node names it: the revert
//!   data as the error's `data` hex string (Geth, Anvil, Besu, Ganache's
//!   `eth_call`), `data.data` (Hardhat/EDR, MetaMask's wrapping), `data.result`
//!   (Ganache's `eth_estimateGas` and sends), `data[txHash].return` (Ganache
//!   v6), a message that says it reverted with no data; the mined
//!   transaction as `data.txHash` (Hardhat), `data.hash` (Ganache) or the key
//!   of `data[txHash]` (Ganache v6); Besu's `revertReason` in receipts.
//! - **Retryable vs permanent vs another chain**: a node that cannot be
//!   reached, times out or answers 5xx is [`TransportError::Unavailable`](crate::transport::TransportError::Unavailable);
//!   HTTP 429, JSON-RPC -32005 and "rate limit" messages are
//!   [`TransportError::RateLimited`](crate::transport::TransportError::RateLimited) (both retryable); "invalid chain id"
//!   refusals and EIP-1193's 4901/4902 are [`TransportError::WrongChain`](crate::transport::TransportError::WrongChain);
//!   a revert is [`TransportError::Reverted`](crate::transport::TransportError::Reverted); other refusals are
//!   [`TransportError::Rejected`](crate::transport::TransportError::Rejected) and unreadable answers
//!   [`TransportError::Malformed`](crate::transport::TransportError::Malformed) (all permanent).
//!
//! Test vectors with answers captured from Ganache 7.9.2 and Hardhat 2.29
//! (EDR), and shapes documented for Geth, Anvil and Besu, are in
//! `docs/vectors/rpc.json`.

mod answer;
mod decode;
mod exchange;
mod nonce;
mod request;

pub use answer::{Revert, classify_error, classify_http, classify_response};
pub use decode::{
    MinedTransaction, block, check_chain_id, data, quantity, receipt, replay_outcome, transaction,
    tx_hash,
};
pub use exchange::{DEFAULT_GAS_MARGIN_PERCENT, Exchange, ExchangeConfig, Outcome, gas_limit};
pub use nonce::Nonces;
pub use request::{BlockTag, RpcRequest, TxFields};
