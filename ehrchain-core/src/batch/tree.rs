//! The nodes of a batch's Merkle tree, built by rs_merkle, on two cores for
//! large batches.
//!
//! In a tree that pairs neighbours level by level and promotes a lone last
//! node, the first `2^k` leaves (for the largest `2^k` below the leaf count)
//! form a complete subtree on their own, and the remaining leaves form another
//! whose nodes sit at the end of every level: it ends where the tree ends, so
//! its lone nodes are promoted exactly as in the whole tree. The whole tree is
//! therefore the two subtrees side by side under one more node,
//! `hash_pair(left root, right root)`, and each subtree can be built by
//! rs_merkle on its own thread. [`Tree::node`] addresses nodes by level and
//! position in the whole tree either way, so proofs do not depend on how the
//! tree was built.

use rs_merkle::PartialTree;

use super::{SortedPairKeccak, hash_pair};

/// Batches with fewer leaves are built on one thread: below this, spawning a
/// thread costs more than it saves.
const MIN_SPLIT_LEAVES: usize = 16 * 1024;

/// Whether trees may be built on two threads: core's `parallel` feature, and
/// never on `wasm32` (no threads).
const THREADS: bool = cfg!(all(feature = "parallel", not(target_family = "wasm")));

type Hash = [u8; 32];

/// A built tree: rs_merkle's layers (leaves first), of the whole tree or of
/// its two subtrees.
pub(super) struct Tree {
    /// The whole tree, or the subtree of the first `split` leaves.
    left: PartialTree<SortedPairKeccak>,
    /// The subtree of the leaves from `split` on, when built in two halves.
    right: Option<Split>,
    root: Hash,
}

/// The right subtree and where it starts.
struct Split {
    /// Leaves in the left subtree: a power of two.
    at: usize,
    tree: PartialTree<SortedPairKeccak>,
}

impl Tree {
    /// Builds the tree of `leaves`; `None` when there are none.
    pub(super) fn build(leaves: &[Hash]) -> Option<Self> {
        match split_point(leaves.len()) {
            Some(at) => Self::build_split(leaves, at),
            None => Self::whole(PartialTree::from_leaves(leaves).ok()?),
        }
    }

    fn whole(left: PartialTree<SortedPairKeccak>) -> Option<Self> {
        let root = *left.root()?;
        Some(Self {
            left,
            right: None,
            root,
        })
    }

    /// Builds the left subtree here and the right one on another thread.
    fn build_split(leaves: &[Hash], at: usize) -> Option<Self> {
        let (left_leaves, right_leaves) = leaves.split_at(at);
        let (left, right) = std::thread::scope(|scope| {
            let right = scope.spawn(|| PartialTree::from_leaves(right_leaves).ok());
            let left = PartialTree::from_leaves(left_leaves).ok();
            // A panic on the other thread would be a bug in rs_merkle; build
            // the right subtree here instead of passing it on.
            let right = right
                .join()
                .unwrap_or_else(|_| PartialTree::from_leaves(right_leaves).ok());
            (left, right)
        });
        let (left, right) = (left?, right?);
        let root = hash_pair(left.root()?, right.root()?);
        Some(Self {
            left,
            right: Some(Split { at, tree: right }),
            root,
        })
    }

    /// The root.
    pub(super) fn root(&self) -> Hash {
        self.root
    }

    /// The number of levels, leaves and root included.
    pub(super) fn levels(&self) -> usize {
        match &self.right {
            // The left subtree's root is at level log2(at), the root one above.
            Some(Split { at, .. }) => height(*at) + 2,
            None => height(leaf_count(&self.left)) + 1,
        }
    }

    /// The node at `position` (from the left, from 0) of `level` (leaves are
    /// level 0) of the whole tree, or `None` when the level has no such node.
    pub(super) fn node(&self, level: usize, position: usize) -> Option<Hash> {
        let Some(Split { at, tree: right }) = &self.right else {
            // rs_merkle may repeat the root in a layer above it.
            if level > height(leaf_count(&self.left)) {
                return None;
            }
            return layer_node(&self.left, level, position);
        };
        let top = height(*at) + 1;
        if level >= top {
            return (level == top && position == 0).then_some(self.root);
        }
        let left_width = at >> level;
        if position < left_width {
            return layer_node(&self.left, level, position);
        }
        let position = position - left_width;
        if level > height(leaf_count(right)) {
            // Above its own root, the right subtree's root is promoted.
            return (position == 0).then(|| right.root().copied()).flatten();
        }
        layer_node(right, level, position)
    }
}

fn leaf_count(tree: &PartialTree<SortedPairKeccak>) -> usize {
    tree.layers().first().map_or(0, Vec::len)
}

fn layer_node(tree: &PartialTree<SortedPairKeccak>, level: usize, position: usize) -> Option<Hash> {
    tree.layers()
        .get(level)
        .and_then(|layer| layer.get(position))
        .map(|&(_, hash)| hash)
}

/// The level of the root of a tree of `leaves` leaves: ceil(log2(leaves)).
fn height(leaves: usize) -> usize {
    (usize::BITS - leaves.saturating_sub(1).leading_zeros()) as usize
}

/// Where to split a tree of `leaves` leaves for two threads: the largest
/// power of two below the count, or `None` to build it whole.
fn split_point(leaves: usize) -> Option<usize> {
    if !THREADS || leaves < MIN_SPLIT_LEAVES {
        return None;
    }
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    (threads > 1).then(|| largest_power_of_two_below(leaves))
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn largest_power_of_two_below(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| {
                let mut leaf = [0x5a; 32];
                leaf[..8].copy_from_slice(&(i as u64).to_be_bytes());
                leaf
            })
            .collect()
    }

    /// A tree built in two halves at `at` (whatever the feature and the
    /// host's cores) addresses the same nodes as the tree built whole.
    fn assert_split_is_whole(n: usize, at: usize) {
        let leaves = leaves(n);
        let whole = Tree::whole(PartialTree::from_leaves(&leaves).unwrap()).unwrap();
        let (l, r) = leaves.split_at(at);
        let (left, right) = (
            PartialTree::from_leaves(l).unwrap(),
            PartialTree::from_leaves(r).unwrap(),
        );
        let root = hash_pair(left.root().unwrap(), right.root().unwrap());
        let split = Tree {
            left,
            right: Some(Split { at, tree: right }),
            root,
        };
        assert_eq!(
            split.root(),
            whole.root(),
            "root of {n} leaves split at {at}"
        );
        assert_eq!(split.levels(), whole.levels(), "levels of {n} leaves");
        let mut width = n;
        for level in 0..whole.levels() + 1 {
            for position in 0..width + 2 {
                assert_eq!(
                    split.node(level, position),
                    whole.node(level, position),
                    "{n} leaves split at {at}: level {level}, position {position}"
                );
            }
            width = width.div_ceil(2);
        }
    }

    #[test]
    fn split_trees_address_the_same_nodes_as_whole_ones() {
        for n in [
            2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 31, 33, 100, 513, 1000, 1024, 1025,
        ] {
            assert_split_is_whole(n, largest_power_of_two_below(n));
        }
    }

    #[test]
    fn largest_power_of_two_below_is_strict() {
        assert_eq!(largest_power_of_two_below(2), 1);
        assert_eq!(largest_power_of_two_below(3), 2);
        assert_eq!(largest_power_of_two_below(4), 2);
        assert_eq!(largest_power_of_two_below(5), 4);
        assert_eq!(largest_power_of_two_below(1_000_000), 524_288);
        assert_eq!(largest_power_of_two_below(1 << 20), 1 << 19);
    }

    #[test]
    fn build_matches_the_whole_tree_on_either_side_of_the_threshold() {
        let t = MIN_SPLIT_LEAVES;
        for n in [1, 2, t - 1, t, t + 1, 40_000] {
            let leaves = leaves(n);
            let built = Tree::build(&leaves).unwrap();
            let whole = Tree::whole(PartialTree::from_leaves(&leaves).unwrap()).unwrap();
            assert_eq!(built.root(), whole.root(), "{n} leaves");
            for index in [0, n / 2, n - 1] {
                for level in 0..whole.levels() {
                    let position = (index >> level) ^ 1;
                    assert_eq!(built.node(level, position), whole.node(level, position));
                }
            }
        }
        assert!(Tree::build(&[]).is_none());
    }
}
