//! The minimal interface of `EhrRegistry` that the core needs: the two anchor
//! functions, their events and every custom error an anchoring call can revert
//! with. Written here so the core does not depend on the contracts crate; the
//! contracts crate pins these selectors and topics to the compiled ABI
//! (`contracts/tests/core_interface.rs`), so they cannot drift.

use alloy_primitives::Bytes;
use alloy_sol_types::{SolInterface, sol};
use serde::{Deserialize, Serialize};

sol! {
    /// The part of `EhrRegistry` the validator talks to.
    #[derive(Debug, PartialEq, Eq)]
    interface IEhrRegistry {
        /// The template id is not registered.
        error EhrRegistryUnknownTemplate(bytes32 templateId);
        /// The template is registered but deactivated.
        error EhrRegistryTemplateInactive(bytes32 templateId);
        /// The template does not allow records by this role.
        error EhrRegistryRoleNotAllowed(bytes32 templateId, bytes32 role);
        /// The TI id already anchored a record, with `storedRecordHash`.
        error EhrRegistryTiAlreadyUsed(bytes32 tiId, bytes32 storedRecordHash);
        /// A hash or id that must not be zero is zero.
        error EhrRegistryZeroHash();
        /// The Merkle root is already anchored.
        error EhrRegistryRootAlreadyAnchored(bytes32 root);
        /// A batch must contain at least one record.
        error EhrRegistryZeroLeafCount();
        /// OpenZeppelin `AccessControl`: the sender does not hold `neededRole`.
        error AccessControlUnauthorizedAccount(address account, bytes32 neededRole);

        /// A record was anchored.
        event RecordAnchored(
            bytes32 indexed tiId,
            bytes32 indexed templateId,
            bytes32 indexed subject,
            bytes32 recordHash,
            bytes32 role,
            address author,
            uint64 timestamp
        );
        /// A batch root was anchored.
        event BatchAnchored(bytes32 indexed root, bytes32 indexed batchId, uint32 leafCount);

        /// Anchors one record.
        function anchorRecord(
            bytes32 subject,
            bytes32 templateId,
            bytes32 tiId,
            bytes32 recordHash,
            uint64 timestamp,
            bytes32 role
        ) external;
        /// Anchors a batch root with its leaf count.
        function anchorBatch(bytes32 root, uint32 leafCount, bytes32 batchId) external;
    }
}

pub use IEhrRegistry::IEhrRegistryErrors as RegistryErrors;

/// A contract revert as the validator understood it: plain data for an ACK or
/// an audit table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodedRevert {
    /// The custom error's name (`EhrRegistryRoleNotAllowed`), or `None` when
    /// the revert data is not one of the registry's errors.
    pub error: Option<String>,
    /// The error with its arguments, for people (`EhrRegistryRoleNotAllowed {
    /// templateId: 0x…, role: 0x… }`), or a description of undecodable data.
    pub detail: String,
    /// The raw revert data.
    pub data: Bytes,
}

impl DecodedRevert {
    /// Decodes `data` into one of the registry's custom errors when it is one.
    #[must_use]
    pub fn from_data(data: &Bytes) -> Self {
        match RegistryErrors::abi_decode(data) {
            Ok(error) => Self {
                error: Some(registry_error_name(&error).to_owned()),
                detail: format!("{error:?}"),
                data: data.clone(),
            },
            Err(_) if data.is_empty() => Self {
                error: None,
                detail: "reverted without data (out of gas, or a call the registry did not expect)"
                    .to_owned(),
                data: data.clone(),
            },
            Err(_) => Self {
                error: None,
                detail: format!("reverted with data the registry's ABI does not decode: {data}"),
                data: data.clone(),
            },
        }
    }

    /// The registry's custom error, decoded again from [`DecodedRevert::data`].
    #[must_use]
    pub fn registry_error(&self) -> Option<RegistryErrors> {
        RegistryErrors::abi_decode(&self.data).ok()
    }
}

/// The Solidity name of a registry error.
#[must_use]
pub fn registry_error_name(error: &RegistryErrors) -> &'static str {
    match error {
        RegistryErrors::EhrRegistryUnknownTemplate(_) => "EhrRegistryUnknownTemplate",
        RegistryErrors::EhrRegistryTemplateInactive(_) => "EhrRegistryTemplateInactive",
        RegistryErrors::EhrRegistryRoleNotAllowed(_) => "EhrRegistryRoleNotAllowed",
        RegistryErrors::EhrRegistryTiAlreadyUsed(_) => "EhrRegistryTiAlreadyUsed",
        RegistryErrors::EhrRegistryZeroHash(_) => "EhrRegistryZeroHash",
        RegistryErrors::EhrRegistryRootAlreadyAnchored(_) => "EhrRegistryRootAlreadyAnchored",
        RegistryErrors::EhrRegistryZeroLeafCount(_) => "EhrRegistryZeroLeafCount",
        RegistryErrors::AccessControlUnauthorizedAccount(_) => "AccessControlUnauthorizedAccount",
    }
}
