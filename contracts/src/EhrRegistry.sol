// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {EhrSignatures} from "./EhrSignatures.sol";

/// @title EhrRegistry: the on-chain half of the ehrchain blockchain handshaker
/// @notice Anchors sealed electronic health records (one record hash per initial
/// transaction, TI) and Merkle roots of record batches, and enforces the rules of
/// the administrator's templates: the template is registered and active, the
/// author's role is one the template allows and the author holds it, a TI id is
/// used once, and no hash is zero. Nothing clinical is stored: only hashes, ids,
/// role ids, times and patient pseudonyms (in events).
/// @dev Role ids follow the OpenZeppelin convention `keccak256(upper(name) + "_ROLE")`
/// (`DOCTOR_ROLE`, `NURSE_ROLE`, ...), the ids `ehrchain_core::Role::id` computes.
/// Roles are extensible by name: any role id can be granted with `grantRole`.
/// Each anchoring call writes exactly one new storage slot; everything that only
/// needs to be provable goes into its event.
contract EhrRegistry is AccessControl {
    /// @notice Role that registers, activates and deactivates templates.
    bytes32 public constant ADMIN_ROLE = keccak256("ADMIN_ROLE");
    /// @notice Role that anchors batch roots (a batch mixes templates and authors,
    /// so the per-record role checks are the handshaker's job there).
    bytes32 public constant HANDSHAKER_ROLE = keccak256("HANDSHAKER_ROLE");
    /// @notice Role that relays authors' signed statements (`anchorSignedRecord`)
    /// and pays their gas; the author's own role is what the registry checks.
    bytes32 public constant RELAYER_ROLE = keccak256("RELAYER_ROLE");
    /// @notice The EIP-712 type hash of `RecordStatement` (docs/authorship.md).
    bytes32 public constant RECORD_STATEMENT_TYPEHASH = keccak256(
        "RecordStatement(bytes32 tiId,bytes32 templateId,bytes32 recordHash,bytes32 subject,bytes32 role,address author,uint64 timestamp)"
    );

    /// @dev The EIP-712 domain's type hash, name hash and version hash.
    bytes32 private constant _DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant _NAME_HASH = keccak256("ehrchain");
    bytes32 private constant _VERSION_HASH = keccak256("1");
    /// @dev The domain separator at deployment, valid while the chain id is the same.
    bytes32 private immutable _cachedDomainSeparator;
    uint256 private immutable _cachedChainId;

    /// @notice What an author signs about one sealed record (EIP-712, domain
    /// `{name: "ehrchain", version: "1", chainId, verifyingContract: this}`).
    struct RecordStatement {
        bytes32 tiId;
        bytes32 templateId;
        bytes32 recordHash;
        bytes32 subject;
        bytes32 role;
        address author;
        uint64 timestamp;
    }

    /// @dev A registered template: whether records may follow it now, and the
    /// roles it allows (never empty once registered, so an empty list means
    /// an unknown id). The roles are kept so that (de)activation can update
    /// each role's `RoleUse`.
    struct TemplateState {
        bool active;
        bytes32[] roles;
    }

    /// @dev What a template allows a role, in one slot per (template, role), so
    /// that an anchor decides every template rule with one storage read:
    /// `None` for a role the template does not allow (or an unknown template),
    /// `Active` for an allowed role of an active template, `Inactive` for an
    /// allowed role of a deactivated one.
    enum RoleUse {
        None,
        Active,
        Inactive
    }

    /// @notice One period during which an account held a role, in block
    /// timestamps (Unix seconds): from `grantedAt` (included) to `revokedAt`
    /// (excluded), `revokedAt` zero while the account still holds it.
    struct RoleTerm {
        uint64 grantedAt;
        uint64 revokedAt;
    }

    /// @dev An anchored batch, packed into one storage slot (4 + 8 + 20 bytes).
    /// The batch id is not stored: it does not fit the slot, and it is in the
    /// `BatchAnchored` event.
    struct Batch {
        uint32 leafCount;
        uint64 anchoredAt;
        address submitter;
    }

    mapping(bytes32 templateId => TemplateState) private _templates;
    mapping(bytes32 templateId => mapping(bytes32 role => RoleUse)) private _roleUse;
    mapping(bytes32 role => mapping(address account => RoleTerm[])) private _roleTerms;
    mapping(bytes32 tiId => bytes32 recordHash) private _records;
    mapping(bytes32 root => Batch) private _batches;

    /// @notice The template id is not registered.
    error EhrRegistryUnknownTemplate(bytes32 templateId);
    /// @notice The template is registered but deactivated.
    error EhrRegistryTemplateInactive(bytes32 templateId);
    /// @notice The template does not allow records by this role.
    error EhrRegistryRoleNotAllowed(bytes32 templateId, bytes32 role);
    /// @notice The TI id already anchored a record; `storedRecordHash` is the hash
    /// anchored then (a replay with the same hash means "already anchored").
    error EhrRegistryTiAlreadyUsed(bytes32 tiId, bytes32 storedRecordHash);
    /// @notice A hash or id that must not be zero is zero.
    error EhrRegistryZeroHash();
    /// @notice The Merkle root is already anchored.
    error EhrRegistryRootAlreadyAnchored(bytes32 root);
    /// @notice The Merkle root is not anchored.
    error EhrRegistryRootNotAnchored(bytes32 root);
    /// @notice A batch must contain at least one record.
    error EhrRegistryZeroLeafCount();
    /// @notice The template id is already registered.
    error EhrRegistryTemplateExists(bytes32 templateId);
    /// @notice A template must allow at least one role.
    error EhrRegistryNoRoles(bytes32 templateId);
    /// @notice The signature is not `author`'s over this statement for this
    /// chain and registry (an EOA's ECDSA signature, or an ERC-1271 account's).
    error EhrRegistryBadSignature(address author);
    /// @notice The statement's digest is not a leaf of the batch `root` by this
    /// proof (a forged statement, or a leaf of another batch).
    error EhrRegistryNotInBatch(bytes32 root, bytes32 digest);
    /// @notice `author` did not hold `role` at `time` (when the batch was anchored).
    error EhrRegistryRoleNotHeld(address author, bytes32 role, uint64 time);

    /// @notice A template was registered, active, allowing `roles`.
    event TemplateRegistered(bytes32 indexed templateId, bytes32[] roles);
    /// @notice A deactivated template was activated again.
    event TemplateActivated(bytes32 indexed templateId);
    /// @notice An active template was deactivated.
    event TemplateDeactivated(bytes32 indexed templateId);
    /// @notice A record was anchored: `recordHash` (SHA-256 of the sealed envelope)
    /// under TI `tiId`, following `templateId`, about `subject` (a patient
    /// pseudonym, or another public subject such as a lot number), written by
    /// `author` acting as `role` at `timestamp` (the TI's time, Unix seconds).
    event RecordAnchored(
        bytes32 indexed tiId,
        bytes32 indexed templateId,
        bytes32 indexed subject,
        bytes32 recordHash,
        bytes32 role,
        address author,
        uint64 timestamp
    );
    /// @notice A batch of `leafCount` records with Merkle root `root` was anchored;
    /// `batchId` is the handshaker's id of the batch.
    /// @dev The submitter is the transaction's sender and is stored (`batchOf`), so
    /// it is not repeated here: `anchorBatch` has a budget of 50,000 gas.
    event BatchAnchored(bytes32 indexed root, bytes32 indexed batchId, uint32 leafCount);
    /// @notice A batch of `leafCount` signed records (each leaf an author's
    /// `RecordStatement` digest) with Merkle root `root` was anchored by a relayer.
    event SignedBatchAnchored(bytes32 indexed root, bytes32 indexed batchId, uint32 leafCount);

    /// @notice Deploys the registry; the deployer becomes the default admin (grants
    /// and revokes roles) and holds `ADMIN_ROLE` (manages templates).
    constructor() {
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _domainSeparator();
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
        _grantRole(ADMIN_ROLE, msg.sender);
    }

    /// @notice Registers a template, active at once, that records may follow when
    /// their author acts in one of `roles`.
    /// @dev A template id is a content hash (`ehrchain_core::Template::id`): a new
    /// version is a new id, so a registration is never changed afterwards.
    /// Requirements:
    /// - the caller holds `ADMIN_ROLE`;
    /// - `templateId` is not zero (`EhrRegistryZeroHash`) and not registered yet
    ///   (`EhrRegistryTemplateExists`);
    /// - `roles` is not empty (`EhrRegistryNoRoles`).
    /// Emits `TemplateRegistered`.
    /// @param templateId The template's content id.
    /// @param roles The role ids whose holders may anchor records of this template.
    function registerTemplate(bytes32 templateId, bytes32[] calldata roles) external onlyRole(ADMIN_ROLE) {
        if (templateId == bytes32(0)) revert EhrRegistryZeroHash();
        TemplateState storage t = _templates[templateId];
        if (t.roles.length != 0) revert EhrRegistryTemplateExists(templateId);
        if (roles.length == 0) revert EhrRegistryNoRoles(templateId);
        t.active = true;
        t.roles = roles;
        _setRoleUse(templateId, roles, RoleUse.Active);
        emit TemplateRegistered(templateId, roles);
    }

    /// @notice Activates a registered template again. Activating an active
    /// template changes nothing and emits nothing.
    /// @dev Requirements:
    /// - the caller holds `ADMIN_ROLE`;
    /// - the template is registered (`EhrRegistryUnknownTemplate`).
    /// Emits `TemplateActivated` when the template was inactive.
    /// @param templateId The template's content id.
    function activateTemplate(bytes32 templateId) external onlyRole(ADMIN_ROLE) {
        TemplateState storage t = _registered(templateId);
        if (!t.active) {
            t.active = true;
            _setRoleUse(templateId, t.roles, RoleUse.Active);
            emit TemplateActivated(templateId);
        }
    }

    /// @notice Deactivates a template: no new record may follow it. Records
    /// anchored before stay. Deactivating an inactive template changes nothing
    /// and emits nothing.
    /// @dev Requirements:
    /// - the caller holds `ADMIN_ROLE`;
    /// - the template is registered (`EhrRegistryUnknownTemplate`).
    /// Emits `TemplateDeactivated` when the template was active.
    /// @param templateId The template's content id.
    function deactivateTemplate(bytes32 templateId) external onlyRole(ADMIN_ROLE) {
        TemplateState storage t = _registered(templateId);
        if (t.active) {
            t.active = false;
            _setRoleUse(templateId, t.roles, RoleUse.Inactive);
            emit TemplateDeactivated(templateId);
        }
    }

    /// @notice Anchors one record: stores `tiId → recordHash` and emits the rest.
    /// @dev Requirements:
    /// - `recordHash` is not zero (`EhrRegistryZeroHash`);
    /// - the template is registered (`EhrRegistryUnknownTemplate`) and active
    ///   (`EhrRegistryTemplateInactive`);
    /// - the template allows `role` (`EhrRegistryRoleNotAllowed`);
    /// - the caller holds `role` (`AccessControlUnauthorizedAccount`);
    /// - `tiId` has anchored no record yet (`EhrRegistryTiAlreadyUsed`, with the
    ///   hash anchored then).
    /// Emits `RecordAnchored`.
    /// @param subject The patient pseudonym (or another public subject, such as a
    /// medicine lot number), as the template maps it.
    /// @param templateId The template the record follows.
    /// @param tiId The TI's id (idempotency key).
    /// @param recordHash SHA-256 of the sealed record envelope.
    /// @param timestamp When the author made the entry (Unix seconds, host clock).
    /// @param role The role id the author acts in.
    function anchorRecord(
        bytes32 subject,
        bytes32 templateId,
        bytes32 tiId,
        bytes32 recordHash,
        uint64 timestamp,
        bytes32 role
    ) external {
        _checkTemplate(templateId, role, recordHash);
        _checkRole(role);
        _store(tiId, recordHash);
        emit RecordAnchored(tiId, templateId, subject, recordHash, role, msg.sender, timestamp);
    }

    /// @notice Anchors one record its author signed (docs/authorship.md), sent
    /// and paid for by a relayer: the author needs no ether, and the event names
    /// the author, not the relayer.
    /// @dev Requirements:
    /// - the caller holds `RELAYER_ROLE`;
    /// - the checks of `anchorRecord`, with the *author's* role: `recordHash`
    ///   not zero, the template registered, active and allowing `role`, the
    ///   author holding `role` (`AccessControlUnauthorizedAccount` naming the
    ///   author), `tiId` unused;
    /// - `signature` is the author's over the statement under this registry's
    ///   EIP-712 domain (`EhrRegistryBadSignature`): 65-byte ECDSA with low s for
    ///   an account without code, ERC-1271 `isValidSignature` for a smart account.
    /// Emits `RecordAnchored` with `author` = the statement's author.
    /// @param statement The signed statement.
    /// @param signature The author's signature of it.
    function anchorSignedRecord(RecordStatement calldata statement, bytes calldata signature)
        external
        onlyRole(RELAYER_ROLE)
    {
        _checkTemplate(statement.templateId, statement.role, statement.recordHash);
        _checkRole(statement.role, statement.author);
        bytes32 digest = _statementDigest(statement);
        if (!EhrSignatures.isSignatureOf(statement.author, digest, signature)) {
            revert EhrRegistryBadSignature(statement.author);
        }
        _store(statement.tiId, statement.recordHash);
        emit RecordAnchored(
            statement.tiId,
            statement.templateId,
            statement.subject,
            statement.recordHash,
            statement.role,
            statement.author,
            statement.timestamp
        );
    }

    /// @notice Anchors the Merkle root of a batch of records. Whatever the batch
    /// size, this writes one storage slot: `root → (leafCount, anchoredAt,
    /// submitter)`. The batch id does not fit that slot and is only in the event.
    /// @dev Requirements:
    /// - the caller holds `HANDSHAKER_ROLE`;
    /// - `root` is not zero (`EhrRegistryZeroHash`) and not anchored yet
    ///   (`EhrRegistryRootAlreadyAnchored`);
    /// - `leafCount` is not zero (`EhrRegistryZeroLeafCount`).
    /// Emits `BatchAnchored`.
    /// @param root The batch's Merkle root (OpenZeppelin `MerkleProof` hashing).
    /// @param leafCount How many records the batch holds.
    /// @param batchId The handshaker's id of the batch.
    function anchorBatch(bytes32 root, uint32 leafCount, bytes32 batchId) external onlyRole(HANDSHAKER_ROLE) {
        _storeBatch(root, leafCount);
        emit BatchAnchored(root, batchId, leafCount);
    }

    /// @notice Anchors the Merkle root of a batch of *signed* records: each
    /// leaf is `keccak256(bytes.concat(keccak256(abi.encode(digest))))` of an
    /// author's `RecordStatement` digest (`statementDigest`), so every record's
    /// author stays provable (`verifySignedRecord`). Costs what `anchorBatch`
    /// costs: one packed slot, whatever the batch size. Nothing per record is
    /// checked here: the authors' signatures and roles are checked whenever a
    /// record is verified, against the roles held at this block's time.
    /// @dev Requirements:
    /// - the caller holds `RELAYER_ROLE`;
    /// - the requirements of `anchorBatch` on `root` and `leafCount`.
    /// Emits `SignedBatchAnchored`.
    /// @param root The batch's Merkle root.
    /// @param leafCount How many signed records the batch holds.
    /// @param batchId The handshaker's id of the batch.
    function anchorSignedBatch(bytes32 root, uint32 leafCount, bytes32 batchId) external onlyRole(RELAYER_ROLE) {
        _storeBatch(root, leafCount);
        emit SignedBatchAnchored(root, batchId, leafCount);
    }

    /// @notice Checks one signed record of an anchored batch: its statement's
    /// leaf is in the batch `root` by `proof`, `signature` is the author's
    /// (ECDSA, or ERC-1271 for a smart account), the template allows the
    /// statement's role, and the author held that role when the batch was
    /// anchored (`roleTermsOf`).
    /// @dev Requirements, checked in this order:
    /// - `root` is anchored (`EhrRegistryRootNotAnchored`);
    /// - the statement's leaf is in the batch (`EhrRegistryNotInBatch`);
    /// - `signature` is the author's (`EhrRegistryBadSignature`);
    /// - the template allows the role (`EhrRegistryRoleNotAllowed`; the
    ///   template's roles never change, so its current list is its list then);
    /// - the author held the role at the batch's `anchoredAt`
    ///   (`EhrRegistryRoleNotHeld`).
    /// @param statement The signed statement the proof carries.
    /// @param signature The author's signature of it.
    /// @param root The batch root the proof leads to.
    /// @param proof The sibling hashes, leaf to root.
    /// @return anchoredAt When the batch was anchored (Unix seconds).
    function verifySignedRecord(
        RecordStatement calldata statement,
        bytes calldata signature,
        bytes32 root,
        bytes32[] calldata proof
    ) external view returns (uint64 anchoredAt) {
        Batch memory batch = _batches[root];
        if (batch.leafCount == 0) revert EhrRegistryRootNotAnchored(root);
        anchoredAt = batch.anchoredAt;
        bytes32 digest = _statementDigest(statement);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(digest))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert EhrRegistryNotInBatch(root, digest);
        if (!EhrSignatures.isSignatureOf(statement.author, digest, signature)) {
            revert EhrRegistryBadSignature(statement.author);
        }
        if (_roleUse[statement.templateId][statement.role] == RoleUse.None) {
            revert EhrRegistryRoleNotAllowed(statement.templateId, statement.role);
        }
        if (!_heldRoleAt(statement.role, statement.author, anchoredAt)) {
            revert EhrRegistryRoleNotHeld(statement.author, statement.role, anchoredAt);
        }
    }

    /// @notice Whether `recordHash` is a record of the anchored batch `root`,
    /// given its inclusion `proof` (sibling hashes, leaf to root, folded with
    /// OpenZeppelin's sorted-pair keccak256).
    /// @dev The leaf is derived here, never supplied:
    /// `keccak256(bytes.concat(keccak256(abi.encode(recordHash))))`.
    /// Requirements:
    /// - `root` is anchored (`EhrRegistryRootNotAnchored`).
    /// @param root An anchored batch root.
    /// @param recordHash The record hash to look for.
    /// @param proof The inclusion proof.
    /// @return True when the proof leads from the record's leaf to `root`.
    function verifyRecord(bytes32 root, bytes32 recordHash, bytes32[] calldata proof) external view returns (bool) {
        if (_batches[root].leafCount == 0) revert EhrRegistryRootNotAnchored(root);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(recordHash))));
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @notice The record hash anchored under a TI id (zero if none).
    /// @dev Requirements: none.
    /// @param tiId The TI's id.
    /// @return The anchored record hash, or zero.
    function recordHashOf(bytes32 tiId) external view returns (bytes32) {
        return _records[tiId];
    }

    /// @notice An anchored batch (all zero if `root` is not anchored).
    /// @dev Requirements: none.
    /// @param root The batch's Merkle root.
    /// @return leafCount How many records the batch holds.
    /// @return anchoredAt The block time of anchoring (Unix seconds).
    /// @return submitter The account that anchored it.
    function batchOf(bytes32 root) external view returns (uint32 leafCount, uint64 anchoredAt, address submitter) {
        Batch memory batch = _batches[root];
        return (batch.leafCount, batch.anchoredAt, batch.submitter);
    }

    /// @notice Whether a template is registered, and whether it is active.
    /// @dev Requirements: none.
    /// @param templateId The template's content id.
    /// @return registered Whether the id is registered.
    /// @return active Whether records may follow it now.
    function templateOf(bytes32 templateId) external view returns (bool registered, bool active) {
        TemplateState storage t = _templates[templateId];
        return (t.roles.length != 0, t.active);
    }

    /// @notice Whether a template allows records by a role (whether or not the
    /// template is active).
    /// @dev Requirements: none.
    /// @param templateId The template's content id.
    /// @param role The role id.
    /// @return True when holders of `role` may anchor records of the template.
    function isRoleAllowed(bytes32 templateId, bytes32 role) external view returns (bool) {
        return _roleUse[templateId][role] != RoleUse.None;
    }

    /// @notice The periods during which `account` held `role`, oldest first
    /// (every grant opens one, every revocation closes the last): the role
    /// history an offline verifier of signed batches needs.
    /// @dev Requirements: none.
    /// @param role The role id.
    /// @param account The account.
    /// @return The account's terms in the role.
    function roleTermsOf(bytes32 role, address account) external view returns (RoleTerm[] memory) {
        return _roleTerms[role][account];
    }

    /// @notice Whether `account` held `role` at `time` (Unix seconds): some
    /// term has `grantedAt <= time` and (`revokedAt == 0` or `time < revokedAt`).
    /// Within one second, a grant counts as before and a revocation as before.
    /// @dev Requirements: none.
    /// @param role The role id.
    /// @param account The account.
    /// @param time A block timestamp.
    /// @return True when the account held the role then.
    function _heldRoleAt(bytes32 role, address account, uint64 time) private view returns (bool) {
        RoleTerm[] storage terms = _roleTerms[role][account];
        for (uint256 i = terms.length; i > 0; --i) {
            RoleTerm memory term = terms[i - 1];
            if (term.grantedAt <= time) return term.revokedAt == 0 || time < term.revokedAt;
        }
        return false;
    }

    /// @notice The EIP-712 digest of `statement` under this registry's domain
    /// (docs/authorship.md): what its author signs, and the value a signed
    /// batch's leaf is derived from.
    /// @dev Requirements: none.
    /// @param statement The statement.
    /// @return digest `keccak256("\x19\x01" ‖ domainSeparator() ‖ hashStruct(statement))`.
    function _statementDigest(RecordStatement calldata statement) private view returns (bytes32 digest) {
        bytes32 separator = domainSeparator();
        bytes32 typeHash = RECORD_STATEMENT_TYPEHASH;
        // hashStruct: the type hash then the seven members, each one ABI word,
        // copied straight from calldata (the members' ranges are checked where
        // they are read as values: a dirty word only makes a digest no key signed).
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 0x20), statement, 0xe0)
            let structHash := keccak256(m, 0x100)
            mstore(m, hex"1901")
            mstore(add(m, 0x02), separator)
            mstore(add(m, 0x22), structHash)
            digest := keccak256(m, 0x42)
        }
    }

    /// @dev Sets how a template treats each of its roles.
    function _setRoleUse(bytes32 templateId, bytes32[] memory roles, RoleUse use) private {
        mapping(bytes32 role => RoleUse) storage uses = _roleUse[templateId];
        for (uint256 i = 0; i < roles.length; ++i) {
            uses[roles[i]] = use;
        }
    }

    /// @dev The template checks of an anchor: a non-zero record hash, a
    /// registered and active template that allows `role`. One storage read
    /// when they pass (`RoleUse`); the template itself is read only to name
    /// the failure.
    function _checkTemplate(bytes32 templateId, bytes32 role, bytes32 recordHash) private view {
        if (recordHash == bytes32(0)) revert EhrRegistryZeroHash();
        if (_roleUse[templateId][role] == RoleUse.Active) return;
        TemplateState storage t = _registered(templateId);
        if (!t.active) revert EhrRegistryTemplateInactive(templateId);
        revert EhrRegistryRoleNotAllowed(templateId, role);
    }

    /// @dev Stores a batch root; reverts on a zero root or count, or a root
    /// anchored before.
    function _storeBatch(bytes32 root, uint32 leafCount) private {
        if (root == bytes32(0)) revert EhrRegistryZeroHash();
        if (leafCount == 0) revert EhrRegistryZeroLeafCount();
        if (_batches[root].leafCount != 0) revert EhrRegistryRootAlreadyAnchored(root);
        _batches[root] = Batch({leafCount: leafCount, anchoredAt: uint64(block.timestamp), submitter: msg.sender});
    }

    /// @dev Grants as `AccessControl` does, and opens a term in the role's history.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (granted) _roleTerms[role][account].push(RoleTerm({grantedAt: uint64(block.timestamp), revokedAt: 0}));
    }

    /// @dev Revokes as `AccessControl` does, and closes the account's last term
    /// (every holder has one: every grant opens one).
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked) {
            RoleTerm[] storage terms = _roleTerms[role][account];
            terms[terms.length - 1].revokedAt = uint64(block.timestamp);
        }
    }

    /// @dev Stores `tiId → recordHash`; reverts when the TI id anchored a record before.
    function _store(bytes32 tiId, bytes32 recordHash) private {
        bytes32 stored = _records[tiId];
        if (stored != bytes32(0)) revert EhrRegistryTiAlreadyUsed(tiId, stored);
        _records[tiId] = recordHash;
    }

    /// @notice The EIP-712 domain separator of `{name: "ehrchain", version: "1",
    /// chainId, verifyingContract: this}` (docs/authorship.md).
    /// @dev Written out rather than inherited from OpenZeppelin's `EIP712`: in
    /// OpenZeppelin 5.7 that imports `Strings` and `Bytes`, whose `mcopy` no
    /// Shanghai chain (Ganache 7.9) has. The same caching: computed once, and
    /// again only after a chain fork changed the chain id.
    /// @return The domain separator.
    function domainSeparator() public view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedDomainSeparator : _domainSeparator();
    }

    /// @dev The domain separator for the current chain id.
    function _domainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, block.chainid, address(this)));
    }

    /// @dev The state of a registered template; reverts for an unknown one.
    function _registered(bytes32 templateId) private view returns (TemplateState storage t) {
        t = _templates[templateId];
        if (t.roles.length == 0) revert EhrRegistryUnknownTemplate(templateId);
    }
}
