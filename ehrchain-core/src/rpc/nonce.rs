//! Nonces of transactions a transport signs itself (a local key sending with
//! `eth_sendRawTransaction`): which nonce the next transaction of an account
//! takes, and what a failed send means for it. Sans-I/O: the transport asks
//! [`Nonces::next`], and when it says `None` asks the node
//! ([`RpcRequest::next_nonce`](super::RpcRequest::next_nonce), the
//! `pending` count) and hands the answer to [`Nonces::learned`]; after every
//! send it reports the result to [`Nonces::sent`].
//!
//! Many TIs in flight send one after the other from the same account; a send
//! that fails in the middle of such a burst must neither leave a gap (a
//! nonce no transaction will ever take stalls every later one) nor hand its
//! nonce to a different TC while the node may hold the first (two
//! transactions with one nonce: one of them is dropped). So:
//!
//! - **Taken** (the node answered with the transaction's hash, or named the
//!   mined transaction that reverted): the next nonce is one higher.
//! - **Refused before the node acted** (a permanent refusal, or a revert
//!   without a mined transaction, as an estimate's): the nonce is still free
//!   and the next transaction takes it: no gap. A refusal about the nonce
//!   itself (`nonce too low` or too high, `already known`) is not one of
//!   these: the account sent from elsewhere, or the transaction is in
//!   already; the node is asked.
//! - **Outcome unknown** (the answer was lost or unreadable: a time-out, a
//!   reset connection, an answer that is not JSON; also a rate limit, which
//!   a proxy may give after the node acted): nothing is assumed. The local
//!   count is dropped and the next send asks the node, whose `pending` count
//!   includes the transaction if it took it (then the nonce is never reused
//!   for another TC) and does not otherwise (then the next transaction takes
//!   it: no gap). A TC resent after such a failure is estimated again first,
//!   and the registry's "already anchored" refusal of a transaction that did
//!   land stops it before it is signed.
//!
//! This relies on one node answering for the account's pending
//! transactions, as a single node does; behind a load balancer that spreads
//! requests over nodes with different mempools, send locally signed
//! transactions through one node.

use std::collections::HashMap;

use alloy_primitives::Address;

use crate::transport::{TransportError, TxHash};

/// The next nonce of each locally signing account (see the [module
/// docs](crate::rpc)).
///
/// ```
/// use ehrchain_core::rpc::Nonces;
/// use ehrchain_core::{Address, TransportError, TxHash, B256};
///
/// let alice = Address::repeat_byte(0xa1);
/// let mut nonces = Nonces::default();
/// assert_eq!(nonces.next(alice), None); // ask the node
/// nonces.learned(alice, 7);
/// nonces.sent(alice, 7, &Ok(TxHash(B256::repeat_byte(1))));
/// assert_eq!(nonces.next(alice), Some(8));
/// // Refused before the node acted: 8 is still free.
/// nonces.sent(alice, 8, &Err(TransportError::Rejected("insufficient funds".into())));
/// assert_eq!(nonces.next(alice), Some(8));
/// // The answer was lost: the node decides.
/// nonces.sent(alice, 8, &Err(TransportError::Unavailable("reset".into())));
/// assert_eq!(nonces.next(alice), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nonces {
    next: HashMap<Address, u64>,
}

impl Nonces {
    /// The nonce `from`'s next transaction takes, or `None` when the node
    /// must be asked ([`Nonces::learned`]).
    #[must_use]
    pub fn next(&self, from: Address) -> Option<u64> {
        self.next.get(&from).copied()
    }

    /// The node's `pending` transaction count for `from`: the nonce its
    /// next transaction takes.
    pub fn learned(&mut self, from: Address, pending_count: u64) {
        self.next.insert(from, pending_count);
    }

    /// Forgets `from`'s count (a key added again, say): the next send asks
    /// the node.
    pub fn forget(&mut self, from: Address) {
        self.next.remove(&from);
    }

    /// A transaction from `from` with `nonce` was sent, with `result`.
    pub fn sent(&mut self, from: Address, nonce: u64, result: &Result<TxHash, TransportError>) {
        match result {
            Ok(_)
            | Err(TransportError::Reverted(crate::rpc::Revert {
                tx_hash: Some(_), ..
            })) => {
                self.next.insert(from, nonce.saturating_add(1));
            }
            Err(TransportError::Reverted(_) | TransportError::WrongChain { .. }) => {
                self.next.insert(from, nonce);
            }
            Err(TransportError::Rejected(message)) if !about_the_nonce(message) => {
                self.next.insert(from, nonce);
            }
            Err(_) => self.forget(from),
        }
    }
}

/// Whether a node's refusal is about the nonce: taken already or out of
/// order (Geth, Besu, Erigon: `nonce too low`, `nonce too high`, `already
/// known`, `replacement transaction underpriced`; Hardhat: `Nonce too low`;
/// Ganache: `the tx doesn't have the correct nonce`).
fn about_the_nonce(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        "nonce",
        "already known",
        "replacement transaction",
        "known transaction",
    ]
    .iter()
    .any(|m| message.contains(m))
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{B256, Bytes};

    use super::*;
    use crate::rpc::Revert;

    const A: Address = Address::repeat_byte(0xa1);

    fn at(nonce: u64) -> Nonces {
        let mut nonces = Nonces::default();
        nonces.learned(A, nonce);
        nonces
    }

    fn revert(tx_hash: Option<TxHash>) -> TransportError {
        TransportError::Reverted(Revert {
            data: Bytes::new(),
            message: "reverted".into(),
            tx_hash,
        })
    }

    #[test]
    fn a_burst_counts_up_locally() {
        let mut nonces = at(3);
        for n in 3..8 {
            assert_eq!(nonces.next(A), Some(n));
            nonces.sent(A, n, &Ok(TxHash(B256::with_last_byte(1))));
        }
        assert_eq!(nonces.next(A), Some(8));
        assert_eq!(nonces.next(Address::ZERO), None);
    }

    #[test]
    fn a_mined_revert_takes_its_nonce_an_estimate_revert_does_not() {
        let mut nonces = at(3);
        nonces.sent(A, 3, &Err(revert(Some(TxHash(B256::with_last_byte(9))))));
        assert_eq!(nonces.next(A), Some(4));
        nonces.sent(A, 4, &Err(revert(None)));
        assert_eq!(nonces.next(A), Some(4));
    }

    #[test]
    fn a_refusal_before_the_node_acted_leaves_no_gap() {
        let mut nonces = at(5);
        nonces.sent(
            A,
            5,
            &Err(TransportError::Rejected(
                "insufficient funds for gas".into(),
            )),
        );
        assert_eq!(nonces.next(A), Some(5));
        nonces.sent(
            A,
            5,
            &Err(TransportError::WrongChain {
                expected: 1,
                actual: Some(2),
            }),
        );
        assert_eq!(nonces.next(A), Some(5));
    }

    #[test]
    fn an_unknown_outcome_or_a_used_nonce_asks_the_node() {
        for error in [
            TransportError::Unavailable("connection closed before message completed".into()),
            TransportError::RateLimited("429".into()),
            TransportError::Malformed("<html>".into()),
            TransportError::Rejected("nonce too low".into()),
            TransportError::Rejected("Nonce too low. Expected nonce to be 6 but got 5.".into()),
            TransportError::Rejected("already known".into()),
            TransportError::Rejected("nonce too high".into()),
            TransportError::Rejected(
                "the tx doesn't have the correct nonce. account has nonce of: 6 tx has nonce of: 5"
                    .into(),
            ),
        ] {
            let mut nonces = at(5);
            nonces.sent(A, 5, &Err(error.clone()));
            assert_eq!(nonces.next(A), None, "{error:?}");
        }
    }
}
