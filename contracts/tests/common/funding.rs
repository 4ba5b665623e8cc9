//! Funding an account on a JSON-RPC node, for the node tests of this crate
//! (`common/mod.rs`) and of the C ABI (`ehrchain-ffi/tests/rpc_ganache.rs`
//! includes this file with `#[path]`).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use alloy_primitives::{Address, Bytes, U256};
use ehrchain_contracts::RpcTransport;

/// `from` (an account the node unlocks) sends `to` 10 ether over `rpc`; the
/// transfer is mined and succeeded.
pub fn fund(rpc: &mut RpcTransport, from: Address, to: Address) {
    let ten_ether = U256::from(10u64).pow(U256::from(19u64));
    let hash = rpc
        .send_from(from, Some(to), Bytes::new(), ten_ether)
        .unwrap();
    assert!(rpc.wait_for_receipt(&hash).unwrap().status);
}
