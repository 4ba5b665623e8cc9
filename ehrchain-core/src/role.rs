//! Roles: who may author which template, and the `bytes32` id the contract uses.

use std::fmt;
use std::str::FromStr;

use alloy_primitives::{B256, keccak256};
use serde::{Deserialize, Serialize};

/// Longest role name accepted, in bytes.
pub const MAX_ROLE_NAME_LEN: usize = 32;

/// A role a user acts in (the paper's doctors, nurses, system administrators and
/// pathologists, plus patients and devices), extensible by name.
///
/// A role name is lower-case ASCII letters, digits and `_`, starting with a
/// letter, at most [`MAX_ROLE_NAME_LEN`] bytes. Its on-chain id is
/// `keccak256(upper(name) + "_ROLE")`, the OpenZeppelin `AccessControl` convention:
/// `doctor` is `keccak256("DOCTOR_ROLE")`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Role(String);

/// A role name that breaks the naming rule of [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid role name {0:?}: use 1 to 32 lower-case letters, digits or '_', starting with a letter (for example \"doctor\")"
)]
pub struct InvalidRoleName(pub String);

/// The naming rule of roles, templates and template fields: 1 to `max_len`
/// bytes of lower-case ASCII letters, digits and `separator`, starting with
/// a letter.
pub(crate) fn is_lower_name(name: &str, max_len: usize, separator: u8) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= max_len
        && bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == separator)
}

impl Role {
    /// A physician who records diagnoses and readings.
    pub const DOCTOR: &'static str = "doctor";
    /// A nurse who records readings and administrations.
    pub const NURSE: &'static str = "nurse";
    /// A pathologist who records laboratory results.
    pub const PATHOLOGIST: &'static str = "pathologist";
    /// A system administrator who manages templates and roles.
    pub const ADMIN: &'static str = "admin";
    /// The patient the record is about.
    pub const PATIENT: &'static str = "patient";
    /// A medical device that reports readings by itself.
    pub const DEVICE: &'static str = "device";
    /// The six roles every deployment knows.
    pub const BUILT_IN: [&'static str; 6] = [
        Self::DOCTOR,
        Self::NURSE,
        Self::PATHOLOGIST,
        Self::ADMIN,
        Self::PATIENT,
        Self::DEVICE,
    ];

    /// Validates a role name.
    ///
    /// # Errors
    /// [`InvalidRoleName`] if the name breaks the naming rule.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidRoleName> {
        let name = name.into();
        if is_lower_name(&name, MAX_ROLE_NAME_LEN, b'_') {
            Ok(Self(name))
        } else {
            Err(InvalidRoleName(name))
        }
    }

    /// The role's name, as written in templates and TIs.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.0
    }

    /// Whether this is one of the [`Role::BUILT_IN`] roles.
    #[must_use]
    pub fn is_built_in(&self) -> bool {
        Self::BUILT_IN.contains(&self.0.as_str())
    }

    /// The `bytes32` role id used by the `EhrRegistry` contract:
    /// `keccak256(upper(name) + "_ROLE")`.
    #[must_use]
    pub fn id(&self) -> B256 {
        let mut label = self.0.to_ascii_uppercase();
        label.push_str("_ROLE");
        keccak256(label.as_bytes())
    }
}

impl FromStr for Role {
    type Err = InvalidRoleName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for Role {
    type Error = InvalidRoleName;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<Role> for String {
    fn from(role: Role) -> Self {
        role.0
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_id_follows_access_control_convention() {
        let doctor = Role::new("doctor").unwrap();
        assert_eq!(doctor.id(), keccak256("DOCTOR_ROLE"));
        assert_ne!(doctor.id(), Role::new("nurse").unwrap().id());
    }

    #[test]
    fn built_in_and_custom_roles() {
        for name in Role::BUILT_IN {
            assert!(Role::new(name).unwrap().is_built_in());
        }
        let custom = Role::new("pharmacist").unwrap();
        assert!(!custom.is_built_in());
        assert_eq!(custom.id(), keccak256("PHARMACIST_ROLE"));
    }

    #[test]
    fn rejects_bad_names() {
        for bad in ["", "Doctor", "1nurse", "dr-who", "a b", &"x".repeat(33)] {
            assert!(Role::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(serde_json::from_str::<Role>("\"ADMIN\"").is_err());
    }
}
