//! The minimal interface of `EhrRegistry` that the core needs: the two anchor
//! functions, their events, every custom error an anchoring call can revert
//! with, the one `verifyRecord` reverts with (a root not anchored) and the
//! two an administrator's `registerTemplate` adds (so that every binding's
//! administration explains them too). Written here so the core does not depend on the contracts crate; the
//! contracts crate pins these selectors and topics to the compiled ABI
//! (`contracts/tests/core_interface.rs`), so they cannot drift.

use alloy_primitives::{B256, Bytes};
use alloy_sol_types::{SolInterface, sol};
use serde::{Deserialize, Serialize};

use crate::role::Role;

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
        /// `verifyRecord`: no batch is anchored under the root.
        error EhrRegistryRootNotAnchored(bytes32 root);
        /// `anchorSignedRecord`: the signature is not the statement's author's.
        error EhrRegistryBadSignature(address author);
        /// `registerTemplate`: the template id is already registered.
        error EhrRegistryTemplateExists(bytes32 templateId);
        /// `registerTemplate`: a template must allow at least one role.
        error EhrRegistryNoRoles(bytes32 templateId);
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
        /// The record hash anchored under a TI id (zero when none).
        function recordHashOf(bytes32 tiId) external view returns (bytes32);
        /// The batch anchored under a root (all zero when none).
        function batchOf(bytes32 root) external view returns (uint32 leafCount, uint64 anchoredAt, address submitter);
        /// Whether a template allows records by a role.
        function isRoleAllowed(bytes32 templateId, bytes32 role) external view returns (bool);
        /// One period an account held a role (block times, seconds;
        /// `revokedAt` zero while it holds it).
        struct RoleTerm {
            uint64 grantedAt;
            uint64 revokedAt;
        }
        /// The periods `account` held `role`, oldest first.
        function roleTermsOf(bytes32 role, address account) external view returns (RoleTerm[] memory);
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
    /// The error named and explained for people, with its arguments
    /// (`EhrRegistryRoleNotAllowed: template 0x… does not allow role 0x…
    /// (NURSE_ROLE) on chain; …`), or a description of undecodable data.
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
                detail: describe(&error),
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

/// A registry error explained for the people who must act on it: its
/// Solidity name, its arguments, and what to do.
fn describe(error: &RegistryErrors) -> String {
    let name = registry_error_name(error);
    let what = match error {
        RegistryErrors::EhrRegistryUnknownTemplate(e) => format!(
            "template {} is not registered on chain; an administrator must register it (registerTemplate)",
            e.templateId
        ),
        RegistryErrors::EhrRegistryTemplateInactive(e) => format!(
            "template {} is deactivated on chain; use its current version or ask an administrator to activate it",
            e.templateId
        ),
        RegistryErrors::EhrRegistryRoleNotAllowed(e) => format!(
            "template {} does not allow role {} on chain; register the template with that role or use another one",
            e.templateId,
            role_label(&e.role)
        ),
        RegistryErrors::EhrRegistryTiAlreadyUsed(e) => format!(
            "TI id {} is already anchored, with record hash {}",
            e.tiId, e.storedRecordHash
        ),
        RegistryErrors::EhrRegistryZeroHash(_) => "the record hash is zero".to_owned(),
        RegistryErrors::EhrRegistryRootAlreadyAnchored(e) => {
            format!("batch root {} is already anchored", e.root)
        }
        RegistryErrors::EhrRegistryZeroLeafCount(_) => {
            "a batch must hold at least one record".to_owned()
        }
        RegistryErrors::EhrRegistryRootNotAnchored(e) => format!(
            "no batch is anchored under root {}; anchor the batch first, or check the proof's root",
            e.root
        ),
        RegistryErrors::EhrRegistryBadSignature(e) => format!(
            "the statement's signature is not author {}'s for this chain and registry; have the author sign this record's statement again",
            e.author
        ),
        RegistryErrors::EhrRegistryTemplateExists(e) => format!(
            "template {} is registered on chain already; nothing to do (a template id is its content: a changed template is a new version with a new id)",
            e.templateId
        ),
        RegistryErrors::EhrRegistryNoRoles(e) => format!(
            "template {} names no role; a template must allow at least one role",
            e.templateId
        ),
        RegistryErrors::AccessControlUnauthorizedAccount(e) => format!(
            "account {} does not hold role {} on chain; an administrator must grant it (grantRole)",
            e.account,
            role_label(&e.neededRole)
        ),
    };
    format!("{name}: {what}")
}

/// A role id, with its label when it is a known role's: `DEFAULT_ADMIN_ROLE`
/// (zero), a built-in role, the registry's `HANDSHAKER_ROLE`, or a role a
/// built-in template allows (`PHARMACIST_ROLE`, …).
fn role_label(id: &B256) -> String {
    if id.is_zero() {
        return format!("{id} (DEFAULT_ADMIN_ROLE)");
    }
    let templates = crate::TemplateRegistry::with_built_ins(None).ok();
    let template_roles = templates
        .iter()
        .flat_map(|registry| registry.iter())
        .flat_map(|template| template.roles().to_vec());
    Role::BUILT_IN
        .iter()
        .chain(["handshaker"].iter())
        .filter_map(|name| Role::new(*name).ok())
        .chain(template_roles)
        .find(|role| role.id() == *id)
        .map_or_else(
            || id.to_string(),
            |role| format!("{id} ({}_ROLE)", role.name().to_uppercase()),
        )
}

/// The Solidity name of a registry error.
#[must_use]
pub fn registry_error_name(error: &RegistryErrors) -> &'static str {
    // `sol!` lists every variant's selector and signature, so this always
    // finds the name (the signature up to its parenthesis).
    RegistryErrors::name_by_selector(error.selector()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use alloy_primitives::Address;
    use alloy_sol_types::SolError;

    use super::*;

    #[test]
    fn a_template_registered_twice_is_named_and_explained() {
        let data = IEhrRegistry::EhrRegistryTemplateExists {
            templateId: B256::repeat_byte(0x33),
        }
        .abi_encode();
        let revert = DecodedRevert::from_data(&data.into());
        assert_eq!(revert.error.as_deref(), Some("EhrRegistryTemplateExists"));
        assert!(
            revert.detail.starts_with(&format!(
                "EhrRegistryTemplateExists: template {} is registered on chain already",
                B256::repeat_byte(0x33)
            )),
            "{}",
            revert.detail
        );
    }

    #[test]
    fn a_missing_role_is_explained_with_the_role_name() {
        let nurse = Role::new(Role::NURSE).unwrap().id();
        let data = IEhrRegistry::AccessControlUnauthorizedAccount {
            account: Address::repeat_byte(0x22),
            neededRole: nurse,
        }
        .abi_encode();
        let revert = DecodedRevert::from_data(&data.into());
        assert_eq!(
            revert.error.as_deref(),
            Some("AccessControlUnauthorizedAccount")
        );
        assert_eq!(
            revert.detail,
            format!(
                "AccessControlUnauthorizedAccount: account {} does not hold role {nurse} (NURSE_ROLE) on chain; an administrator must grant it (grantRole)",
                Address::repeat_byte(0x22)
            )
        );
    }

    #[test]
    fn every_registry_error_is_named_as_in_its_solidity_signature() {
        for signature in RegistryErrors::SIGNATURES {
            let selector = &alloy_primitives::keccak256(signature)[..4];
            let error = RegistryErrors::abi_decode(&[selector, &[0; 64]].concat()).unwrap();
            let name = signature.split_once('(').unwrap().0;
            assert_eq!(registry_error_name(&error), name);
            assert!(describe(&error).starts_with(&format!("{name}: ")));
        }
    }

    #[test]
    fn template_roles_and_the_default_admin_are_named_too() {
        for (id, label) in [
            (Role::new("pharmacist").unwrap().id(), "PHARMACIST_ROLE"),
            (Role::new("handshaker").unwrap().id(), "HANDSHAKER_ROLE"),
            (B256::ZERO, "DEFAULT_ADMIN_ROLE"),
        ] {
            assert_eq!(role_label(&id), format!("{id} ({label})"));
        }
    }

    #[test]
    fn an_unknown_role_id_is_shown_as_is() {
        let role = B256::repeat_byte(0x77);
        let template = B256::repeat_byte(0x01);
        let data = IEhrRegistry::EhrRegistryRoleNotAllowed {
            templateId: template,
            role,
        }
        .abi_encode();
        let detail = DecodedRevert::from_data(&data.into()).detail;
        assert_eq!(
            detail,
            format!(
                "EhrRegistryRoleNotAllowed: template {template} does not allow role {role} on chain; register the template with that role or use another one"
            )
        );
    }

    #[test]
    fn verify_records_revert_is_decoded() {
        let root = B256::repeat_byte(0x05);
        let data = IEhrRegistry::EhrRegistryRootNotAnchored { root }.abi_encode();
        let revert = DecodedRevert::from_data(&data.into());
        assert_eq!(revert.error.as_deref(), Some("EhrRegistryRootNotAnchored"));
        assert_eq!(
            revert.detail,
            format!(
                "EhrRegistryRootNotAnchored: no batch is anchored under root {root}; anchor the batch first, or check the proof's root"
            )
        );
    }
}
