//! The interface of `EhrConsent` the core needs (docs/consent.md): the
//! EIP-712 statements a patient signs ([`ConsentGrant`], [`ConsentRevocation`])
//! under their [`ConsentDomain`], the [`Disclosure`] a custodian records for
//! each capsule, and the calls, view, events and custom errors of
//! [`IEhrConsent`]. Written here so the core does not depend on the contracts
//! crate; `contracts/tests/core_interface.rs` pins these type hashes,
//! selectors and topics to the compiled contract, so they cannot drift.
//!
//! ```
//! use ehrchain_core::consent_abi::{ConsentDomain, ConsentGrant};
//! use ehrchain_core::{Address, B256};
//!
//! let domain = ConsentDomain { chain_id: 1337, consent: Address::repeat_byte(0xc0) };
//! let grant = ConsentGrant {
//!     subject: B256::repeat_byte(7),
//!     patient: Address::repeat_byte(1),
//!     recipient: Address::repeat_byte(2),
//!     templateIds: vec![], // every template
//!     expiresAt: 1_767_312_000,
//!     nonce: 1,
//!     deadline: 1_767_229_200,
//! };
//! // The grant id is what the patient's wallet signs; a wallet is shown
//! // the typed data (`eth_signTypedData_v4`).
//! assert_ne!(grant.grant_id(&domain), B256::ZERO);
//! let typed = grant.typed_data(&domain);
//! assert_eq!(typed["primaryType"], "ConsentGrant");
//! assert_eq!(typed["types"]["ConsentGrant"][3]["type"], "bytes32[]");
//! assert_eq!(typed["domain"]["name"], "ehrchain consent");
//! ```

use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::{Eip712Domain, SolCall, SolStruct, eip712_domain, sol};
use serde::de::Error as _;
use serde_json::Value;

use crate::authorship::typed_data_v4;
use crate::capsule::RecipientPublicKey;

/// The EIP-712 domain name of consent statements.
pub const CONSENT_DOMAIN_NAME: &str = "ehrchain consent";
/// The EIP-712 domain version of consent statements.
pub const CONSENT_DOMAIN_VERSION: &str = "1";

sol! {
    /// What a patient (or guardian) bound to `subject` signs to let
    /// `recipient` receive the pseudonym's records of `templateIds` (empty:
    /// all) until `expiresAt` (Unix seconds, excluded); `nonce` tells equal
    /// grants apart and `deadline` is the last block time it may be relayed at.
    /// Its EIP-712 digest is the grant id.
    #[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ConsentGrant {
        /// The patient's pseudonym.
        bytes32 subject;
        /// The bound account that grants and signs.
        address patient;
        /// Who may receive the records.
        address recipient;
        /// The templates covered; empty for all.
        bytes32[] templateIds;
        /// When the grant ends (Unix seconds, excluded).
        uint64 expiresAt;
        /// Any number that tells equal grants apart.
        uint64 nonce;
        /// The last block time at which the statement may be relayed.
        uint64 deadline;
    }

    /// What a bound account signs to revoke a grant of its pseudonym.
    #[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ConsentRevocation {
        /// The grant to revoke.
        bytes32 grantId;
        /// The bound account that revokes and signs.
        address patient;
        /// The last block time at which the statement may be relayed.
        uint64 deadline;
    }

    /// One key capsule handed out, as a custodian records it.
    #[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Disclosure {
        /// SHA-256 of the capsule.
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

    /// The part of `EhrConsent` the core talks to.
    #[derive(Debug, PartialEq, Eq)]
    interface IEhrConsent {
        /// A hash or id that must not be zero is zero.
        error EhrConsentZeroHash();
        /// An address that must not be zero is zero.
        error EhrConsentZeroAddress();
        /// `account` is not bound to `subject`.
        error EhrConsentNotBound(bytes32 subject, address account);
        /// A direct call's statement names another account than its sender.
        error EhrConsentNotSender(address patient, address sender);
        /// The signature is not `patient`'s.
        error EhrConsentBadSignature(address patient);
        /// The statement's relay deadline has passed.
        error EhrConsentDeadlinePassed(uint64 deadline);
        /// A grant must end after the block it is made in.
        error EhrConsentExpiryPassed(uint64 expiresAt);
        /// The grant id is already used (a replay).
        error EhrConsentGrantExists(bytes32 grantId);
        /// No grant has this id.
        error EhrConsentUnknownGrant(bytes32 grantId);
        /// The grant was revoked.
        error EhrConsentGrantRevoked(bytes32 grantId);
        /// The grant ended at `expiresAt`.
        error EhrConsentGrantExpired(bytes32 grantId, uint64 expiresAt);
        /// No grant holds and the recipient holds no emergency role.
        error EhrConsentNoGrant(address recipient, bytes32 subject, bytes32 templateId);
        /// A batch of disclosures must not be empty.
        error EhrConsentNoDisclosures();
        /// The key id is the recipient's current one.
        error EhrConsentKeyIdInUse(bytes32 keyId);
        /// OpenZeppelin `AccessControl`'s error: the sender lacks the
        /// registry role `neededRole` (`CUSTODIAN_ROLE`).
        error AccessControlUnauthorizedAccount(address account, bytes32 neededRole);

        /// A custodian bound `account` (the patient's or a guardian's) to
        /// the pseudonym `subject`.
        event PatientBound(bytes32 indexed subject, address indexed account, address custodian);
        /// A custodian unbound `account` from `subject`.
        event PatientUnbound(bytes32 indexed subject, address indexed account, address custodian);
        /// A grant was made; it replaces earlier grants to `recipient` for
        /// the same templates.
        event ConsentGranted(
            bytes32 indexed grantId,
            bytes32 indexed subject,
            address indexed recipient,
            address patient,
            bytes32[] templateIds,
            uint64 expiresAt
        );
        /// A grant was revoked.
        event ConsentRevoked(
            bytes32 indexed grantId,
            bytes32 indexed subject,
            address indexed recipient,
            address patient
        );
        /// A capsule was handed out, under `grantId` (zero: an emergency).
        event Disclosed(
            bytes32 indexed subject,
            address indexed recipient,
            bytes32 indexed grantId,
            bytes32 templateId,
            bytes32 recordHash,
            bytes32 capsuleDigest,
            address custodian
        );
        /// A recipient published (or rotated) its key.
        event RecipientKeyPublished(
            address indexed recipient,
            bytes32 indexed keyId,
            uint16 kem,
            bytes32 keyHash,
            bytes32 previousKeyId
        );

        /// Binds `account` (the patient's or a guardian's) to the pseudonym
        /// `subject` (a custodian).
        function bindPatient(bytes32 subject, address account) external;
        /// Publishes (or rotates to) the sender's key: its key id, HPKE KEM
        /// id and SHA-256 (a recipient).
        function publishRecipientKey(bytes32 keyId, uint16 kem, bytes32 keyHash) external;
        /// Records a grant its patient signed (anyone relays).
        function grantSigned(ConsentGrant grant, bytes signature) external returns (bytes32 grantId);
        /// Revokes a grant by a signed statement (anyone relays).
        function revokeSigned(ConsentRevocation revocation, bytes signature) external;
        /// Records one disclosure (a custodian).
        function recordDisclosure(Disclosure disclosure) external;
        /// Records many disclosures, all or none (a custodian).
        function recordDisclosures(Disclosure[] disclosures) external;
        /// Whether `recipient` may receive `subject`'s records of `templateId`
        /// now, and under which grant (zero: an emergency, or none).
        function mayReceive(address recipient, bytes32 subject, bytes32 templateId)
            external
            view
            returns (bool allowed, bytes32 grantId);
        /// A recipient's current key id and the SHA-256 of its key.
        function recipientKeyOf(address recipient) external view returns (bytes32 keyId, bytes32 keyHash);
        /// A grant's subject, recipient, expiry (Unix seconds) and whether it
        /// was revoked (all zero for an unknown id).
        function grantOf(bytes32 grantId)
            external
            view
            returns (bytes32 subject, address recipient, uint64 expiresAt, bool revoked);
    }
}

/// The chain and `EhrConsent` contract a consent statement is signed for:
/// the EIP-712 domain `{name: "ehrchain consent", version: "1", chainId,
/// verifyingContract}`, so a statement cannot be replayed on another chain
/// or deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConsentDomain {
    /// The EIP-155 chain id.
    pub chain_id: u64,
    /// The `EhrConsent` contract.
    pub consent: Address,
}

impl ConsentDomain {
    /// The EIP-712 domain these values name.
    #[must_use]
    pub fn eip712(&self) -> Eip712Domain {
        eip712_domain! {
            name: CONSENT_DOMAIN_NAME,
            version: CONSENT_DOMAIN_VERSION,
            chain_id: self.chain_id,
            verifying_contract: self.consent,
        }
    }
}

impl ConsentGrant {
    /// The grant id: the EIP-712 digest the patient signs, and the id
    /// `EhrConsent` stores the grant under (for a direct call too).
    #[must_use]
    pub fn grant_id(&self, domain: &ConsentDomain) -> B256 {
        self.eip712_signing_hash(&domain.eip712())
    }

    /// The `eth_signTypedData_v4` document of this grant under `domain`:
    /// what the patient's wallet is asked to sign and shows the patient.
    #[must_use]
    pub fn typed_data(&self, domain: &ConsentDomain) -> Value {
        typed_data_v4(&domain.eip712(), self)
    }
}

impl ConsentRevocation {
    /// The EIP-712 digest a bound account signs to revoke.
    #[must_use]
    pub fn signing_hash(&self, domain: &ConsentDomain) -> B256 {
        self.eip712_signing_hash(&domain.eip712())
    }

    /// The `eth_signTypedData_v4` document of this revocation under `domain`.
    #[must_use]
    pub fn typed_data(&self, domain: &ConsentDomain) -> Value {
        typed_data_v4(&domain.eip712(), self)
    }
}

impl IEhrConsent::publishRecipientKeyCall {
    /// The call by which a recipient publishes `key`: its key id (the one
    /// capsules name), its suite's HPKE KEM id and its SHA-256.
    #[must_use]
    pub fn of_key(key: &RecipientPublicKey) -> Self {
        Self {
            keyId: key.key_id(),
            kem: key.suite().kem_id(),
            keyHash: key.key_hash(),
        }
    }
}

/// A statement a bound account signs: a [`ConsentGrant`], or a
/// [`ConsentRevocation`]. In JSON it is the statement's own object; one with
/// a `grantId` is a revocation, any other a grant (the rule every binding
/// reads statements by).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum ConsentStatement {
    /// A grant.
    Grant(ConsentGrant),
    /// A revocation.
    Revocation(ConsentRevocation),
}

impl<'de> serde::Deserialize<'de> for ConsentStatement {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if value.get("grantId").is_some() {
            ConsentRevocation::deserialize(value)
                .map(Self::Revocation)
                .map_err(|e| D::Error::custom(format!("a revocation (it has a grantId): {e}")))
        } else {
            ConsentGrant::deserialize(value)
                .map(Self::Grant)
                .map_err(|e| D::Error::custom(format!("a grant (it has no grantId): {e}")))
        }
    }
}

impl ConsentStatement {
    /// The bound account that signs it.
    #[must_use]
    pub fn patient(&self) -> Address {
        match self {
            Self::Grant(g) => g.patient,
            Self::Revocation(r) => r.patient,
        }
    }

    /// The EIP-712 digest the patient signs (for a grant, its grant id).
    #[must_use]
    pub fn signing_hash(&self, domain: &ConsentDomain) -> B256 {
        match self {
            Self::Grant(g) => g.grant_id(domain),
            Self::Revocation(r) => r.signing_hash(domain),
        }
    }

    /// The `eth_signTypedData_v4` document of the statement under `domain`.
    #[must_use]
    pub fn typed_data(&self, domain: &ConsentDomain) -> Value {
        match self {
            Self::Grant(g) => g.typed_data(domain),
            Self::Revocation(r) => r.typed_data(domain),
        }
    }

    /// The calldata relaying the statement with its patient's `signature`
    /// (`grantSigned` for a grant, `revokeSigned` for a revocation): anyone
    /// may send it; the contract checks the signature.
    #[must_use]
    pub fn relay_call(&self, signature: Bytes) -> Bytes {
        match self {
            Self::Grant(grant) => IEhrConsent::grantSignedCall {
                grant: grant.clone(),
                signature,
            }
            .abi_encode(),
            Self::Revocation(revocation) => IEhrConsent::revokeSignedCall {
                revocation: revocation.clone(),
                signature,
            }
            .abi_encode(),
        }
        .into()
    }
}

#[cfg(test)]
mod tests;
