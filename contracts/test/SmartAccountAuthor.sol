// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @title SmartAccountAuthor: a test stand-in for a hospital's smart account
/// @notice An ERC-1271 account whose signatures are its owner key's: what a
/// multisig or passkey wallet looks like to the registry. For tests only.
contract SmartAccountAuthor is IERC1271 {
    /// @notice The key whose signatures this account accepts.
    address public immutable owner;

    /// @param owner_ The key whose signatures this account accepts.
    constructor(address owner_) {
        owner = owner_;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(hash, signature);
        return err == ECDSA.RecoverError.NoError && signer == owner ? IERC1271.isValidSignature.selector : bytes4(0);
    }
}
