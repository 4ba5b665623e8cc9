// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

/// @title RecipientKeyProbe: the recipient-key designs EhrConsent did not take
/// @notice Publishing a whole public key (an X-Wing key is 1,216 bytes) in
/// storage, or in an event beside its stored hash, so that contracts/GAS.md
/// can set their gas beside `EhrConsent.publishRecipientKey`, which stores the
/// key's hash only. For the gas report only.
contract RecipientKeyProbe {
    mapping(address recipient => bytes key) private _keys;
    mapping(address recipient => bytes32 keyHash) private _keyHashes;

    /// @notice The key in an event, with its hash stored.
    event KeyLogged(address indexed recipient, bytes32 indexed keyId, bytes key);

    /// @notice Stores the whole key.
    /// @param key The public key.
    function storeKey(bytes32, bytes calldata key) external {
        _keys[msg.sender] = key;
    }

    /// @notice Stores the key's SHA-256 and logs the key.
    /// @param keyId The key's id.
    /// @param key The public key.
    function logKey(bytes32 keyId, bytes calldata key) external {
        _keyHashes[msg.sender] = sha256(key);
        emit KeyLogged(msg.sender, keyId, key);
    }
}
