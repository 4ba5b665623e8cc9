//! keccak256 of many messages of one size: the hashing of batch leaves and of
//! [`InclusionProof::verify_many`](super::InclusionProof::verify_many), with
//! two implementations of the same function.
//!
//! - By default, one message at a time with alloy's `keccak256` (keccak-asm
//!   on native targets, the portable sha3 crate on wasm).
//! - With the `simd-keccak` feature, on native targets, several at once in
//!   SIMD lanes with p3-keccak: eight messages per permutation with AVX-512,
//!   four with AVX2, two with SSE2, picked at run time.
//!
//! Both give the same digests; the feature's build tests one against the other.

/// keccak256 of each message into the digest beside it. Extra messages or
/// digests on either side are left alone.
pub(super) fn keccak256_many<const N: usize>(messages: &[[u8; N]], digests: &mut [[u8; 32]]) {
    let n = messages.len().min(digests.len());
    let messages = messages.get(..n).unwrap_or_default();
    let digests = digests.get_mut(..n).unwrap_or_default();
    #[cfg(all(feature = "simd-keccak", not(target_family = "wasm")))]
    in_lanes(messages, digests);
    #[cfg(not(all(feature = "simd-keccak", not(target_family = "wasm"))))]
    one_by_one(messages, digests);
}

/// keccak256 of `messages` (as many as `digests`) in p3-keccak's SIMD lanes.
#[cfg(all(feature = "simd-keccak", not(target_family = "wasm")))]
fn in_lanes<const N: usize>(messages: &[[u8; N]], digests: &mut [[u8; 32]]) {
    use p3_symmetric::CryptographicHasher;
    p3_keccak::Keccak256Hash.hash_many(messages.as_flattened(), digests);
}

/// keccak256 of `messages` one at a time: the default build's implementation,
/// and the reference the SIMD one is tested against.
#[cfg(any(test, not(all(feature = "simd-keccak", not(target_family = "wasm")))))]
fn one_by_one<const N: usize>(messages: &[[u8; N]], digests: &mut [[u8; 32]]) {
    for (digest, message) in digests.iter_mut().zip(messages) {
        *digest = alloy_primitives::keccak256(message).0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `count` distinct messages of `N` bytes (`N` at least 8).
    fn messages<const N: usize>(count: usize) -> Vec<[u8; N]> {
        (0..count)
            .map(|i| {
                let mut m = [0u8; N];
                for (j, byte) in m.iter_mut().enumerate() {
                    *byte = i.wrapping_mul(31).wrapping_add(j).to_le_bytes()[0];
                }
                let tag = i.to_le_bytes();
                m[..tag.len()].copy_from_slice(&tag);
                m
            })
            .collect()
    }

    /// The counts to try: empty, lone, both sides of every lane width (2, 4,
    /// 8), and many.
    const COUNTS: [usize; 14] = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 255, 1000];

    /// `keccak256_many` against alloy's `keccak256` of each message, for the
    /// two message sizes batches hash (a record hash, a sorted pair).
    fn agrees_with_keccak256<const N: usize>() {
        for count in COUNTS {
            let messages = messages::<N>(count);
            let mut digests = vec![[0u8; 32]; count];
            keccak256_many(&messages, &mut digests);
            for (i, (digest, message)) in digests.iter().zip(&messages).enumerate() {
                let expected = alloy_primitives::keccak256(message).0;
                assert_eq!(*digest, expected, "N={N} count={count} message {i}");
            }
        }
    }

    #[test]
    fn each_digest_is_the_keccak256_of_its_message() {
        agrees_with_keccak256::<32>();
        agrees_with_keccak256::<64>();
    }

    #[test]
    fn extra_messages_or_digests_are_left_alone() {
        let messages = messages::<32>(9);
        let mut digests = vec![[7u8; 32]; 5];
        keccak256_many(&messages, &mut digests);
        let mut reference = vec![[0u8; 32]; 5];
        one_by_one(&messages[..5], &mut reference);
        assert_eq!(digests, reference);

        let mut digests = vec![[7u8; 32]; 12];
        keccak256_many(&messages, &mut digests);
        assert_eq!(digests[9..], [[7u8; 32]; 3]);
    }

    /// The SIMD implementation against the one-at-a-time one, in the same
    /// build, for every count.
    #[cfg(all(feature = "simd-keccak", not(target_family = "wasm")))]
    fn lanes_agree<const N: usize>() {
        for count in COUNTS {
            let messages = messages::<N>(count);
            let mut simd = vec![[0u8; 32]; count];
            let mut scalar = vec![[1u8; 32]; count];
            in_lanes(&messages, &mut simd);
            one_by_one(&messages, &mut scalar);
            assert_eq!(simd, scalar, "N={N} count={count}");
        }
    }

    #[cfg(all(feature = "simd-keccak", not(target_family = "wasm")))]
    #[test]
    fn simd_lanes_give_the_one_by_one_digests() {
        lanes_agree::<32>();
        lanes_agree::<64>();
    }
}
