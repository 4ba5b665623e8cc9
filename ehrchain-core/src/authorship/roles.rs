//! Role history: which roles a template allows, and when each account held
//! each role, so that a signed record can be checked against the roles its
//! author held when its batch was anchored.

use std::collections::{HashMap, HashSet};

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use super::RecordStatement;
use super::signed_proof::SignedProofError;
use crate::registry_abi::IEhrRegistry;
use crate::time::UnixMillis;

/// One period during which an account held a role, as the registry's
/// `roleTermsOf` returns it (block times): from `granted_at` (included) to
/// `revoked_at` (excluded), `None` while the account still holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoleTerm {
    /// When the role was granted.
    pub granted_at: UnixMillis,
    /// When it was revoked, if it was.
    pub revoked_at: Option<UnixMillis>,
}

impl RoleTerm {
    /// Whether the term covers `at`: `granted_at <= at` and (`revoked_at`
    /// absent or `at < revoked_at`). Within one block a grant counts as
    /// before the batch and a revocation too, as in the registry.
    #[must_use]
    pub fn covers(&self, at: UnixMillis) -> bool {
        self.granted_at <= at && self.revoked_at.is_none_or(|revoked| at < revoked)
    }
}

impl From<&IEhrRegistry::RoleTerm> for RoleTerm {
    /// A term as the registry's `roleTermsOf` returns it (seconds; a zero
    /// `revokedAt` for a term still open).
    fn from(term: &IEhrRegistry::RoleTerm) -> Self {
        Self {
            granted_at: UnixMillis::from_secs(term.grantedAt),
            revoked_at: (term.revokedAt != 0).then(|| UnixMillis::from_secs(term.revokedAt)),
        }
    }
}

/// What a verifier knows of the registry's roles: the roles each template
/// allows and every account's terms in every role (a cache filled from the
/// registry's `isRoleAllowed` and `roleTermsOf`, or by replaying its
/// `TemplateRegistered`, `RoleGranted` and `RoleRevoked` events in order).
///
/// JSON form: `{"allowed": [{"templateId", "role"}], "terms": [{"role",
/// "account", "grantedAt", "revokedAt"}]}`, times in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RoleHistoryJson", into = "RoleHistoryJson")]
pub struct RoleHistory {
    allowed: HashSet<(B256, B256)>,
    terms: HashMap<(B256, Address), Vec<RoleTerm>>,
}

impl RoleHistory {
    /// An empty history: no template allows any role, no one holds any.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `template_id` allows `role` (a template's roles never
    /// change: a new version is a new template id).
    pub fn allow(&mut self, template_id: B256, role: B256) {
        self.allowed.insert((template_id, role));
    }

    /// Sets `account`'s terms in `role`, oldest first (the registry's
    /// `roleTermsOf(role, account)`).
    pub fn set_terms(&mut self, role: B256, account: Address, terms: Vec<RoleTerm>) {
        self.terms.insert((role, account), terms);
    }

    /// Replays a `RoleGranted` event: opens a term at `at` unless one is open.
    pub fn grant(&mut self, role: B256, account: Address, at: UnixMillis) {
        let terms = self.terms.entry((role, account)).or_default();
        if terms.last().is_none_or(|t| t.revoked_at.is_some()) {
            terms.push(RoleTerm {
                granted_at: at,
                revoked_at: None,
            });
        }
    }

    /// Replays a `RoleRevoked` event: closes the open term at `at`, if any.
    pub fn revoke(&mut self, role: B256, account: Address, at: UnixMillis) {
        if let Some(open) = self
            .terms
            .get_mut(&(role, account))
            .and_then(|terms| terms.last_mut())
            .filter(|t| t.revoked_at.is_none())
        {
            open.revoked_at = Some(at);
        }
    }

    /// Whether `account` held `role` at `at` (the latest term begun by then
    /// decides, as the registry's `verifySignedRecord` does).
    #[must_use]
    pub fn held_at(&self, role: B256, account: Address, at: UnixMillis) -> bool {
        self.terms
            .get(&(role, account))
            .and_then(|terms| terms.iter().rev().find(|t| t.granted_at <= at))
            .is_some_and(|t| t.covers(at))
    }

    /// Checks the statement's role: its template allows it, and its author
    /// held it at `at` (when the batch was anchored).
    ///
    /// # Errors
    /// [`SignedProofError::RoleNotAllowed`] or [`SignedProofError::RoleNotHeld`].
    pub fn check(
        &self,
        statement: &RecordStatement,
        at: UnixMillis,
    ) -> Result<(), SignedProofError> {
        if !self
            .allowed
            .contains(&(statement.templateId, statement.role))
        {
            return Err(SignedProofError::RoleNotAllowed {
                template_id: statement.templateId,
                role: statement.role,
            });
        }
        if !self.held_at(statement.role, statement.author, at) {
            return Err(SignedProofError::RoleNotHeld {
                author: statement.author,
                role: statement.role,
                at,
            });
        }
        Ok(())
    }

    /// Decodes the JSON form.
    ///
    /// # Errors
    /// [`SignedProofError::Json`] for malformed JSON.
    pub fn from_json(json: &str) -> Result<Self, SignedProofError> {
        crate::json::from_text::<Self>(json).map_err(|e| SignedProofError::Json(e.to_string()))
    }
}

/// An allowed (template, role) pair of the JSON form.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AllowedJson {
    template_id: B256,
    role: B256,
}

/// One term of the JSON form.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TermJson {
    role: B256,
    account: Address,
    granted_at: UnixMillis,
    #[serde(default)]
    revoked_at: Option<UnixMillis>,
}

/// The JSON form of [`RoleHistory`] (sorted, so it is deterministic).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleHistoryJson {
    allowed: Vec<AllowedJson>,
    terms: Vec<TermJson>,
}

impl From<RoleHistory> for RoleHistoryJson {
    fn from(history: RoleHistory) -> Self {
        let mut allowed: Vec<_> = history.allowed.into_iter().collect();
        allowed.sort_unstable();
        let mut keyed: Vec<_> = history.terms.into_iter().collect();
        keyed.sort_unstable_by_key(|(key, _)| *key);
        let terms = keyed
            .into_iter()
            .flat_map(|((role, account), terms)| {
                terms.into_iter().map(move |t| TermJson {
                    role,
                    account,
                    granted_at: t.granted_at,
                    revoked_at: t.revoked_at,
                })
            })
            .collect();
        Self {
            allowed: allowed
                .into_iter()
                .map(|(template_id, role)| AllowedJson { template_id, role })
                .collect(),
            terms,
        }
    }
}

impl From<RoleHistoryJson> for RoleHistory {
    fn from(json: RoleHistoryJson) -> Self {
        let mut history = Self::new();
        for a in json.allowed {
            history.allow(a.template_id, a.role);
        }
        for t in json.terms {
            history
                .terms
                .entry((t.role, t.account))
                .or_default()
                .push(RoleTerm {
                    granted_at: t.granted_at,
                    revoked_at: t.revoked_at,
                });
        }
        history
    }
}
