//! Finality: when the validator's valid ACK and the watcher's `Final` may be
//! given. Either an anchor is N blocks deep (the validator's
//! `confirmations`, the watcher's `depth`: the default), or it is at or
//! below the block the node calls `finalized` (or `safe`), read by tag
//! ([`Transmit::ReadBlock`](crate::validator::Transmit::ReadBlock)).
//!
//! How nodes answer the tags (`eth_getBlockByNumber("finalized", false)`,
//! seen with real requests): a proof-of-stake client (Geth, Besu, Nethermind,
//! Reth) answers the block its consensus layer finalized, a few minutes
//! behind the head, and an error or `null` before the first finalization;
//! Ganache 7.9.2 answers its latest block for both tags, on any hardfork;
//! Hardhat 2.29 (EDR) answers its latest block on post-merge hardforks and
//! refuses pre-merge ones (-32602 "The 'finalized' block tag is not allowed
//! in pre-merge hardforks"). The policy ([`rpc::Exchange`](crate::rpc::Exchange))
//! reads "no such block yet" (`null`, "not found") as no finalized block
//! (the verdict waits) and a refused tag as a permanent error naming the
//! fix (depth finality). On development nodes the tags give no more
//! assurance than the head: use them on chains with a consensus layer.

use alloy_primitives::B256;
use serde::{Deserialize, Serialize};

use crate::rpc::BlockTag;

/// How the validator and the watcher decide that an anchor is final.
///
/// JSON form: `"depth"`, `"safe"` or `"finalized"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finality {
    /// N blocks deep: the validator's `confirmations`, the watcher's `depth`.
    #[default]
    Depth,
    /// At or below the node's `safe` block.
    Safe,
    /// At or below the node's `finalized` block.
    Finalized,
}

impl Finality {
    /// The tag to read, `None` for depth finality.
    #[must_use]
    pub fn tag(self) -> Option<FinalityTag> {
        match self {
            Self::Depth => None,
            Self::Safe => Some(FinalityTag::Safe),
            Self::Finalized => Some(FinalityTag::Finalized),
        }
    }

    /// Whether this is depth finality (the default).
    #[must_use]
    pub fn is_depth(&self) -> bool {
        *self == Self::Depth
    }
}

/// A block tag that says how final a block is.
///
/// JSON form: `"safe"` or `"finalized"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinalityTag {
    /// The newest block the consensus layer calls safe (unlikely to reorg).
    Safe,
    /// The newest finalized block (reorging it needs a third of the stake
    /// to be slashed).
    Finalized,
}

impl FinalityTag {
    /// The JSON-RPC block tag.
    #[must_use]
    pub fn block_tag(self) -> BlockTag {
        match self {
            Self::Safe => BlockTag::Safe,
            Self::Finalized => BlockTag::Finalized,
        }
    }

    /// `"safe"` or `"finalized"`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Safe => "safe",
            Self::Finalized => "finalized",
        }
    }
}

/// A block as a read by tag found it: its number and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockRef {
    /// The block number.
    pub number: u64,
    /// The block hash.
    pub hash: B256,
}

/// The block a verdict was final at: the node's `safe` or `finalized` block
/// as read, at or above the anchor's block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalBlock {
    /// The tag read.
    pub tag: FinalityTag,
    /// The block it named.
    pub block: BlockRef,
}
