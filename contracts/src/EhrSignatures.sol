// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @title EhrSignatures: the EIP-712 signature check ehrchain's contracts share
/// @notice Whether a signature is an account's over an EIP-712 digest: an
/// externally owned account's ECDSA signature or a smart account's ERC-1271
/// answer. `EhrRegistry` checks authors' `RecordStatement`s with it and
/// `EhrConsent` patients' grants and revocations.
library EhrSignatures {
    /// @dev Whether `signature` is `signer`'s over `digest`: an ECDSA signature
    /// (65 bytes, low s, v 27/28, OpenZeppelin `ECDSA`) recovering `signer`, or
    /// else, for a smart account, its ERC-1271 `isValidSignature` returning the
    /// magic value. The semantics of OpenZeppelin's `SignatureChecker`, written
    /// with its parts: in OpenZeppelin 5.7 it copies memory with `mcopy`, which
    /// Shanghai chains (Ganache 7.9) lack. ECDSA is tried first, as
    /// `SignatureChecker` 4.x did, so a signer without code costs no
    /// `EXTCODESIZE` of a cold account (2,600 gas); no key's address has code.
    /// @param signer The account the signature must be of.
    /// @param digest The EIP-712 digest signed.
    /// @param signature The signature.
    /// @return True when the signature is `signer`'s.
    function isSignatureOf(address signer, bytes32 digest, bytes calldata signature) internal view returns (bool) {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        if (signer.code.length == 0) return false;
        try IERC1271(signer).isValidSignature(digest, signature) returns (bytes4 magic) {
            return magic == IERC1271.isValidSignature.selector;
        } catch {
            return false;
        }
    }
}
