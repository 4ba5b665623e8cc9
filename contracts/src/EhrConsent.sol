// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {EhrSignatures} from "./EhrSignatures.sol";

/// @title EhrConsent: patients' consent to share their records, and the accounting of disclosures
/// @notice A custodian (a hospital holding records) binds a patient's or a
/// guardian's account to the patient's pseudonym; a bound account grants a
/// recipient access to the pseudonym's records (all templates or some) until
/// an expiry, and revokes it, by direct call or as an EIP-712 statement anyone
/// may relay (docs/consent.md). A custodian records every key capsule it
/// hands out as a disclosure, refused unless a grant holds now or the
/// recipient holds the emergency role ("break the glass"). Recipients publish
/// the hash of their HPKE public key, with a key id and rotation.
/// @dev Roles are the registry's (`EhrRegistry` is AccessControl): one place
/// grants and revokes them. This contract is separate from the registry to
/// leave the registry's anchoring paths (and their gas) untouched, and because
/// consent is a concern of its own; it stores no record, only grants, bindings
/// and key hashes. Nothing clinical is stored: pseudonyms, template ids, record
/// hashes and capsule digests only.
contract EhrConsent {
    /// @notice Registry role of a custodian: binds patients to pseudonyms and
    /// records disclosures.
    bytes32 public constant CUSTODIAN_ROLE = keccak256("CUSTODIAN_ROLE");
    /// @notice Registry role of a recipient who may receive records without a
    /// grant, each such disclosure recorded as an emergency one (grant id zero).
    bytes32 public constant EMERGENCY_ROLE = keccak256("EMERGENCY_ROLE");
    /// @notice The EIP-712 type hash of `ConsentGrant` (docs/consent.md).
    bytes32 public constant CONSENT_GRANT_TYPEHASH = keccak256(
        "ConsentGrant(bytes32 subject,address patient,address recipient,bytes32[] templateIds,uint64 expiresAt,uint64 nonce,uint64 deadline)"
    );
    /// @notice The EIP-712 type hash of `ConsentRevocation` (docs/consent.md).
    bytes32 public constant CONSENT_REVOCATION_TYPEHASH =
        keccak256("ConsentRevocation(bytes32 grantId,address patient,uint64 deadline)");

    /// @dev The EIP-712 domain's type hash, name hash and version hash.
    bytes32 private constant _DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant _NAME_HASH = keccak256("ehrchain consent");
    bytes32 private constant _VERSION_HASH = keccak256("1");
    /// @dev The template key of a grant of every template.
    bytes32 private constant _ALL_TEMPLATES = bytes32(0);

    /// @notice The registry whose roles this contract reads.
    IAccessControl public immutable registry;
    /// @dev The domain separator at deployment, valid while the chain id is the same.
    bytes32 private immutable _cachedDomainSeparator;
    uint256 private immutable _cachedChainId;

    /// @notice What a patient (or guardian) signs to let `recipient` receive
    /// the records of `subject` (EIP-712, domain `{name: "ehrchain consent",
    /// version: "1", chainId, verifyingContract: this}`). Its digest is the
    /// grant id.
    struct ConsentGrant {
        /// The patient's pseudonym.
        bytes32 subject;
        /// The account bound to `subject` that grants (and signs).
        address patient;
        /// Who may receive the records.
        address recipient;
        /// The templates whose records the grant covers; empty for all.
        bytes32[] templateIds;
        /// When the grant ends (Unix seconds, excluded).
        uint64 expiresAt;
        /// Any number the patient picks so that equal grants get distinct ids.
        uint64 nonce;
        /// The last block time at which the statement may be relayed.
        uint64 deadline;
    }

    /// @notice What a bound account signs to revoke a grant of its pseudonym.
    struct ConsentRevocation {
        /// The grant to revoke.
        bytes32 grantId;
        /// The account bound to the grant's subject that revokes (and signs).
        address patient;
        /// The last block time at which the statement may be relayed.
        uint64 deadline;
    }

    /// @notice One key capsule handed out: the record key of `recordHash` (of
    /// template `templateId`, about `subject`) wrapped for `recipient`.
    struct Disclosure {
        /// The capsule's digest (SHA-256 of the capsule).
        bytes32 capsuleDigest;
        /// Who the capsule is for.
        address recipient;
        /// The record's subject (pseudonym).
        bytes32 subject;
        /// The record's template.
        bytes32 templateId;
        /// The record hash (SHA-256 of the sealed envelope).
        bytes32 recordHash;
    }

    /// @dev A grant, in two slots: who may receive, until when, and whether it
    /// was revoked; and whose records.
    struct GrantState {
        address recipient;
        uint64 expiresAt;
        bool revoked;
        bytes32 subject;
    }

    /// @dev A recipient's current encryption key: its id and SHA-256 hash.
    struct RecipientKey {
        bytes32 keyId;
        bytes32 keyHash;
    }

    mapping(bytes32 grantId => GrantState) private _grants;
    mapping(bytes32 subject => mapping(address recipient => mapping(bytes32 templateId => bytes32 grantId))) private
        _latestGrant;
    mapping(bytes32 subject => mapping(address account => bool)) private _bound;
    mapping(address recipient => RecipientKey) private _keys;

    /// @notice A hash or id that must not be zero is zero.
    error EhrConsentZeroHash();
    /// @notice An address that must not be zero is zero.
    error EhrConsentZeroAddress();
    /// @notice `account` is not bound to `subject`.
    error EhrConsentNotBound(bytes32 subject, address account);
    /// @notice A direct call's statement names another account than its sender.
    error EhrConsentNotSender(address patient, address sender);
    /// @notice The signature is not `patient`'s over this statement for this
    /// chain and contract (an EOA's ECDSA signature, or an ERC-1271 account's).
    error EhrConsentBadSignature(address patient);
    /// @notice The statement's relay deadline has passed.
    error EhrConsentDeadlinePassed(uint64 deadline);
    /// @notice A grant must end after the block it is made in.
    error EhrConsentExpiryPassed(uint64 expiresAt);
    /// @notice This grant id is already used (a replayed grant).
    error EhrConsentGrantExists(bytes32 grantId);
    /// @notice No grant has this id.
    error EhrConsentUnknownGrant(bytes32 grantId);
    /// @notice The grant was revoked.
    error EhrConsentGrantRevoked(bytes32 grantId);
    /// @notice The grant ended at `expiresAt`.
    error EhrConsentGrantExpired(bytes32 grantId, uint64 expiresAt);
    /// @notice No grant of `subject`'s records of `templateId` to `recipient`
    /// holds, and `recipient` holds no emergency role.
    error EhrConsentNoGrant(address recipient, bytes32 subject, bytes32 templateId);
    /// @notice A batch of disclosures must not be empty.
    error EhrConsentNoDisclosures();
    /// @notice The key id is the recipient's current one.
    error EhrConsentKeyIdInUse(bytes32 keyId);

    /// @notice A custodian bound `account` (the patient's or a guardian's) to `subject`.
    event PatientBound(bytes32 indexed subject, address indexed account, address custodian);
    /// @notice A custodian unbound `account` from `subject`; its grants stay
    /// until they expire or another bound account revokes them.
    event PatientUnbound(bytes32 indexed subject, address indexed account, address custodian);
    /// @notice `patient` granted `recipient` the records of `subject` following
    /// `templateIds` (empty: all) until `expiresAt`. It replaces earlier grants
    /// to `recipient` for the same templates (the latest grant per template counts).
    event ConsentGranted(
        bytes32 indexed grantId,
        bytes32 indexed subject,
        address indexed recipient,
        address patient,
        bytes32[] templateIds,
        uint64 expiresAt
    );
    /// @notice `patient` revoked the grant `grantId`: no new disclosure under it.
    event ConsentRevoked(bytes32 indexed grantId, bytes32 indexed subject, address indexed recipient, address patient);
    /// @notice `custodian` handed `recipient` a capsule (`capsuleDigest`) of the
    /// record `recordHash` of `subject`, under `grantId`, or in an emergency
    /// when `grantId` is zero.
    event Disclosed(
        bytes32 indexed subject,
        address indexed recipient,
        bytes32 indexed grantId,
        bytes32 templateId,
        bytes32 recordHash,
        bytes32 capsuleDigest,
        address custodian
    );
    /// @notice `recipient` published the key `keyId` (HPKE KEM id `kem`) whose
    /// SHA-256 is `keyHash`, replacing `previousKeyId` (zero for a first key).
    event RecipientKeyPublished(
        address indexed recipient, bytes32 indexed keyId, uint16 kem, bytes32 keyHash, bytes32 previousKeyId
    );

    /// @notice Deploys consent over `registry_`, whose roles it reads.
    /// @param registry_ The `EhrRegistry`.
    constructor(IAccessControl registry_) {
        registry = registry_;
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _domainSeparator();
    }

    /// @dev Reverts unless the caller holds the registry's `CUSTODIAN_ROLE`.
    modifier onlyCustodian() {
        if (!registry.hasRole(CUSTODIAN_ROLE, msg.sender)) {
            revert IAccessControl.AccessControlUnauthorizedAccount(msg.sender, CUSTODIAN_ROLE);
        }
        _;
    }

    /// @notice Binds `account` (the patient's wallet or a guardian's) to the
    /// pseudonym `subject`: it may then grant and revoke access to the
    /// pseudonym's records. Binding a bound account changes nothing.
    /// @dev Requirements:
    /// - the caller holds `CUSTODIAN_ROLE` in the registry (`AccessControlUnauthorizedAccount`);
    /// - `subject` is not zero (`EhrConsentZeroHash`), `account` not zero (`EhrConsentZeroAddress`).
    /// Emits `PatientBound` when the account was not bound.
    /// @param subject The keyed pseudonym the records are anchored under.
    /// @param account The patient's or guardian's account.
    function bindPatient(bytes32 subject, address account) external onlyCustodian {
        if (subject == bytes32(0)) revert EhrConsentZeroHash();
        if (account == address(0)) revert EhrConsentZeroAddress();
        if (!_bound[subject][account]) {
            _bound[subject][account] = true;
            emit PatientBound(subject, account, msg.sender);
        }
    }

    /// @notice Unbinds `account` from `subject`: it may no longer grant or
    /// revoke. Its grants stay. Unbinding an unbound account changes nothing.
    /// @dev Requirements:
    /// - the caller holds `CUSTODIAN_ROLE` in the registry (`AccessControlUnauthorizedAccount`).
    /// Emits `PatientUnbound` when the account was bound.
    /// @param subject The pseudonym.
    /// @param account The account to unbind.
    function unbindPatient(bytes32 subject, address account) external onlyCustodian {
        if (_bound[subject][account]) {
            _bound[subject][account] = false;
            emit PatientUnbound(subject, account, msg.sender);
        }
    }

    /// @notice Grants from the sender's own account: `grant.patient` is the sender.
    /// @dev Requirements: those of `grantSigned`, with `msg.sender == grant.patient`
    /// (`EhrConsentNotSender`) instead of a signature.
    /// Emits `ConsentGranted`.
    /// @param grant The grant.
    /// @return grantId The grant's id (its EIP-712 digest).
    function grantConsent(ConsentGrant calldata grant) external returns (bytes32 grantId) {
        if (msg.sender != grant.patient) revert EhrConsentNotSender(grant.patient, msg.sender);
        grantId = _grantDigest(grant);
        _checkGrant(grant);
        _storeGrant(grant, grantId);
    }

    /// @notice Records a grant its patient signed; anyone may relay it and pay the gas.
    /// @dev Requirements, in this order:
    /// - `subject` is not zero and no template id is zero (`EhrConsentZeroHash`);
    ///   `recipient` is not zero (`EhrConsentZeroAddress`);
    /// - the block time is at most `deadline` (`EhrConsentDeadlinePassed`) and
    ///   before `expiresAt` (`EhrConsentExpiryPassed`);
    /// - `patient` is bound to `subject` (`EhrConsentNotBound`);
    /// - `signature` is `patient`'s over the statement (`EhrConsentBadSignature`);
    /// - the grant id is new (`EhrConsentGrantExists`: a replay).
    /// Emits `ConsentGranted`.
    /// @param grant The signed grant.
    /// @param signature The patient's EIP-712 signature of it.
    /// @return grantId The grant's id (its EIP-712 digest).
    function grantSigned(ConsentGrant calldata grant, bytes calldata signature) external returns (bytes32 grantId) {
        grantId = _grantDigest(grant);
        _checkGrant(grant);
        if (!EhrSignatures.isSignatureOf(grant.patient, grantId, signature)) {
            revert EhrConsentBadSignature(grant.patient);
        }
        _storeGrant(grant, grantId);
    }

    /// @notice Revokes a grant from an account bound to its subject.
    /// @dev Requirements: those of `revokeSigned`, with the sender as the patient
    /// and no signature or deadline.
    /// Emits `ConsentRevoked`.
    /// @param grantId The grant to revoke.
    function revokeConsent(bytes32 grantId) external {
        _revoke(grantId, msg.sender);
    }

    /// @notice Revokes a grant by a statement a bound account signed; anyone may relay it.
    /// @dev Requirements, in this order:
    /// - the block time is at most `deadline` (`EhrConsentDeadlinePassed`);
    /// - `signature` is `patient`'s over the statement (`EhrConsentBadSignature`);
    /// - the grant exists (`EhrConsentUnknownGrant`), `patient` is bound to its
    ///   subject (`EhrConsentNotBound`) and it is not revoked (`EhrConsentGrantRevoked`).
    /// Emits `ConsentRevoked`.
    /// @param revocation The signed revocation.
    /// @param signature The patient's EIP-712 signature of it.
    function revokeSigned(ConsentRevocation calldata revocation, bytes calldata signature) external {
        if (block.timestamp > revocation.deadline) revert EhrConsentDeadlinePassed(revocation.deadline);
        bytes32 structHash = keccak256(
            abi.encode(CONSENT_REVOCATION_TYPEHASH, revocation.grantId, revocation.patient, revocation.deadline)
        );
        if (!EhrSignatures.isSignatureOf(revocation.patient, _typedDigest(structHash), signature)) {
            revert EhrConsentBadSignature(revocation.patient);
        }
        _revoke(revocation.grantId, revocation.patient);
    }

    /// @notice Records one key capsule handed out, if the recipient may receive
    /// the record now.
    /// @dev Requirements:
    /// - the caller holds `CUSTODIAN_ROLE` in the registry (`AccessControlUnauthorizedAccount`);
    /// - those of each disclosure in `recordDisclosures`.
    /// Emits `Disclosed`.
    /// @param disclosure The disclosure.
    function recordDisclosure(Disclosure calldata disclosure) external onlyCustodian {
        _disclose(disclosure);
    }

    /// @notice Records many key capsules handed out, one event each, all or none.
    /// @dev Requirements:
    /// - the caller holds `CUSTODIAN_ROLE` in the registry (`AccessControlUnauthorizedAccount`);
    /// - `disclosures` is not empty (`EhrConsentNoDisclosures`);
    /// - in each, the capsule digest and record hash are not zero (`EhrConsentZeroHash`)
    ///   and the recipient may receive the record now (`mayReceive`), else the
    ///   reason: `EhrConsentGrantRevoked`, `EhrConsentGrantExpired` or `EhrConsentNoGrant`.
    /// Emits `Disclosed` for each.
    /// @param disclosures The disclosures.
    function recordDisclosures(Disclosure[] calldata disclosures) external onlyCustodian {
        if (disclosures.length == 0) revert EhrConsentNoDisclosures();
        for (uint256 i = 0; i < disclosures.length; ++i) {
            _disclose(disclosures[i]);
        }
    }

    /// @notice Publishes the sender's encryption public key: its id, its HPKE
    /// KEM id and the SHA-256 of its bytes (the key itself is delivered
    /// elsewhere and checked against this hash; contracts/GAS.md has why).
    /// A new key id rotates the key: capsules are then sealed to the new one.
    /// @dev Requirements:
    /// - `keyId` and `keyHash` are not zero (`EhrConsentZeroHash`);
    /// - `keyId` is not the current key's id (`EhrConsentKeyIdInUse`).
    /// Emits `RecipientKeyPublished`.
    /// @param keyId The recipient's id of the key.
    /// @param kem The HPKE KEM id (0x647a X-Wing, 0x0020 DHKEM(X25519)).
    /// @param keyHash SHA-256 of the serialized public key.
    function publishRecipientKey(bytes32 keyId, uint16 kem, bytes32 keyHash) external {
        if (keyId == bytes32(0) || keyHash == bytes32(0)) revert EhrConsentZeroHash();
        RecipientKey storage key = _keys[msg.sender];
        bytes32 previousKeyId = key.keyId;
        if (keyId == previousKeyId) revert EhrConsentKeyIdInUse(keyId);
        key.keyId = keyId;
        key.keyHash = keyHash;
        emit RecipientKeyPublished(msg.sender, keyId, kem, keyHash, previousKeyId);
    }

    /// @notice Whether `recipient` may receive the records of `subject`
    /// following `templateId` now, and under which grant: the latest grant of
    /// that template, else the latest grant of all templates, if it is neither
    /// revoked nor expired; else, for a holder of `EMERGENCY_ROLE`, true with
    /// grant id zero (an emergency disclosure).
    /// @dev Requirements: none. A record's subject and template are those of its
    /// anchor (`RecordAnchored`), which the recipient checks against the record.
    /// @param recipient Who would receive.
    /// @param subject The record's subject (pseudonym).
    /// @param templateId The record's template.
    /// @return allowed Whether a capsule may be handed out now.
    /// @return grantId The grant that allows it (zero: none, or an emergency).
    function mayReceive(address recipient, bytes32 subject, bytes32 templateId)
        public
        view
        returns (bool allowed, bytes32 grantId)
    {
        grantId = _latestGrant[subject][recipient][templateId];
        if (_holds(grantId)) return (true, grantId);
        grantId = _latestGrant[subject][recipient][_ALL_TEMPLATES];
        if (_holds(grantId)) return (true, grantId);
        return (registry.hasRole(EMERGENCY_ROLE, recipient), bytes32(0));
    }

    /// @notice A grant (all zero for an unknown id).
    /// @dev Requirements: none.
    /// @param grantId The grant id.
    /// @return subject Whose records.
    /// @return recipient Who may receive them.
    /// @return expiresAt When it ends (Unix seconds, excluded).
    /// @return revoked Whether it was revoked.
    function grantOf(bytes32 grantId)
        external
        view
        returns (bytes32 subject, address recipient, uint64 expiresAt, bool revoked)
    {
        GrantState storage g = _grants[grantId];
        return (g.subject, g.recipient, g.expiresAt, g.revoked);
    }

    /// @notice Whether `account` is bound to `subject`.
    /// @dev Requirements: none.
    /// @param subject The pseudonym.
    /// @param account The account.
    /// @return True when it may grant and revoke for `subject`.
    function isBound(bytes32 subject, address account) external view returns (bool) {
        return _bound[subject][account];
    }

    /// @notice A recipient's current key (all zero if none).
    /// @dev Requirements: none.
    /// @param recipient The recipient.
    /// @return keyId The key's id.
    /// @return keyHash SHA-256 of the public key.
    function recipientKeyOf(address recipient) external view returns (bytes32 keyId, bytes32 keyHash) {
        RecipientKey storage key = _keys[recipient];
        return (key.keyId, key.keyHash);
    }

    /// @notice The EIP-712 digest of `grant`: what the patient signs, and its id.
    /// @dev Requirements: none.
    /// @param grant The grant.
    /// @return The grant id.
    function grantIdOf(ConsentGrant calldata grant) external view returns (bytes32) {
        return _grantDigest(grant);
    }

    /// @notice The EIP-712 domain separator of `{name: "ehrchain consent",
    /// version: "1", chainId, verifyingContract: this}`, computed again only
    /// after a chain fork changed the chain id.
    /// @return The domain separator.
    function domainSeparator() public view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedDomainSeparator : _domainSeparator();
    }

    /// @dev The domain separator for the current chain id.
    function _domainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, block.chainid, address(this)));
    }

    /// @dev `keccak256("\x19\x01" ‖ domainSeparator() ‖ structHash)`.
    function _typedDigest(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    /// @dev The EIP-712 digest of a grant (the array member hashed as EIP-712
    /// says: keccak256 of its elements' words).
    function _grantDigest(ConsentGrant calldata grant) private view returns (bytes32) {
        return _typedDigest(
            keccak256(
                abi.encode(
                    CONSENT_GRANT_TYPEHASH,
                    grant.subject,
                    grant.patient,
                    grant.recipient,
                    keccak256(abi.encodePacked(grant.templateIds)),
                    grant.expiresAt,
                    grant.nonce,
                    grant.deadline
                )
            )
        );
    }

    /// @dev The checks of a grant before its signature (see `grantSigned`).
    function _checkGrant(ConsentGrant calldata grant) private view {
        if (grant.subject == bytes32(0)) revert EhrConsentZeroHash();
        if (grant.recipient == address(0)) revert EhrConsentZeroAddress();
        if (block.timestamp > grant.deadline) revert EhrConsentDeadlinePassed(grant.deadline);
        if (grant.expiresAt <= block.timestamp) revert EhrConsentExpiryPassed(grant.expiresAt);
        if (!_bound[grant.subject][grant.patient]) revert EhrConsentNotBound(grant.subject, grant.patient);
    }

    /// @dev Stores and indexes a checked grant; reverts on a replay.
    function _storeGrant(ConsentGrant calldata grant, bytes32 grantId) private {
        GrantState storage g = _grants[grantId];
        if (g.recipient != address(0)) revert EhrConsentGrantExists(grantId);
        g.recipient = grant.recipient;
        g.expiresAt = grant.expiresAt;
        g.subject = grant.subject;
        mapping(bytes32 templateId => bytes32 grantId) storage latest = _latestGrant[grant.subject][grant.recipient];
        bytes32[] calldata templateIds = grant.templateIds;
        if (templateIds.length == 0) latest[_ALL_TEMPLATES] = grantId;
        for (uint256 i = 0; i < templateIds.length; ++i) {
            if (templateIds[i] == _ALL_TEMPLATES) revert EhrConsentZeroHash();
            latest[templateIds[i]] = grantId;
        }
        emit ConsentGranted(grantId, grant.subject, grant.recipient, grant.patient, templateIds, grant.expiresAt);
    }

    /// @dev Revokes a grant for `patient`, whom the caller authenticated.
    function _revoke(bytes32 grantId, address patient) private {
        GrantState storage g = _grants[grantId];
        if (g.recipient == address(0)) revert EhrConsentUnknownGrant(grantId);
        bytes32 subject = g.subject;
        if (!_bound[subject][patient]) revert EhrConsentNotBound(subject, patient);
        if (g.revoked) revert EhrConsentGrantRevoked(grantId);
        g.revoked = true;
        emit ConsentRevoked(grantId, subject, g.recipient, patient);
    }

    /// @dev Whether a grant id names a grant that holds now.
    function _holds(bytes32 grantId) private view returns (bool) {
        GrantState storage g = _grants[grantId];
        return !g.revoked && block.timestamp < g.expiresAt;
    }

    /// @dev Checks and records one disclosure (see `recordDisclosures`).
    function _disclose(Disclosure calldata d) private {
        if (d.capsuleDigest == bytes32(0) || d.recordHash == bytes32(0)) revert EhrConsentZeroHash();
        (bool allowed, bytes32 grantId) = mayReceive(d.recipient, d.subject, d.templateId);
        if (!allowed) _refuse(d);
        emit Disclosed(d.subject, d.recipient, grantId, d.templateId, d.recordHash, d.capsuleDigest, msg.sender);
    }

    /// @dev Reverts with why `d` may not be disclosed: the latest grant of its
    /// template (else of all templates) was revoked or expired, or none exists.
    function _refuse(Disclosure calldata d) private view {
        mapping(bytes32 templateId => bytes32 grantId) storage latest = _latestGrant[d.subject][d.recipient];
        bytes32 grantId = latest[d.templateId];
        if (grantId == bytes32(0)) grantId = latest[_ALL_TEMPLATES];
        if (grantId == bytes32(0)) revert EhrConsentNoGrant(d.recipient, d.subject, d.templateId);
        GrantState storage g = _grants[grantId];
        if (g.revoked) revert EhrConsentGrantRevoked(grantId);
        revert EhrConsentGrantExpired(grantId, g.expiresAt);
    }
}
