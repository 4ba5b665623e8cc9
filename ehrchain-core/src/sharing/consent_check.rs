//! The consent half of both sides: whether a recipient may receive a
//! record at a mined block, and under which authority, from `mayReceive`
//! and the expected grant's state.

use alloy_primitives::{Address, B256, Bytes};

use super::{ChainRead, MinedBlock, SharingError, decode, may_receive};
use crate::capsule::Authority;
use crate::consent_abi::IEhrConsent;
use crate::time::UnixMillis;

/// A recipient, a record's pseudonym and template, and the authority
/// expected (the grant the holder means, or the capsule names).
#[derive(Clone, Copy, Debug)]
pub(super) struct ConsentQuery {
    pub(super) recipient: Address,
    pub(super) subject: B256,
    pub(super) template_id: B256,
    pub(super) expected: Authority,
}

/// How many reads [`ConsentQuery::reads`] asks.
pub(super) const CONSENT_READS: usize = 2;

impl ConsentQuery {
    /// `mayReceive` of the record, then `grantOf` the expected grant (of
    /// grant id zero for an emergency, which reads as no grant).
    pub(super) fn reads(&self, consent: Address) -> [ChainRead; CONSENT_READS] {
        let grant_id = match self.expected {
            Authority::Grant(id) => id,
            Authority::Emergency => B256::ZERO,
        };
        [
            ChainRead::of(
                consent,
                &may_receive(self.recipient, self.subject, self.template_id),
            ),
            ChainRead::of(consent, &IEhrConsent::grantOfCall { grantId: grant_id }),
        ]
    }

    /// The authority the chain names for the record at `block`, given the
    /// answers to [`ConsentQuery::reads`]: the expected grant when it holds;
    /// for an expected emergency, the chain's authority (a grant that holds
    /// is named rather than the emergency, as `EhrConsent` does).
    pub(super) fn judge(
        &self,
        block: &MinedBlock,
        answers: &[Bytes],
    ) -> Result<Authority, SharingError> {
        let may = decode::<IEhrConsent::mayReceiveCall>(answers.first())?;
        let named = match (may.allowed, may.grantId) {
            (false, _) => None,
            (true, id) if id.is_zero() => Some(Authority::Emergency),
            (true, id) => Some(Authority::Grant(id)),
        };
        let Authority::Grant(expected) = self.expected else {
            return named.ok_or(SharingError::NoEmergencyRole(self.recipient));
        };
        if named == Some(self.expected) {
            return Ok(self.expected);
        }
        let grant = decode::<IEhrConsent::grantOfCall>(answers.get(1))?;
        if grant.recipient != self.recipient || grant.subject != self.subject {
            return Err(SharingError::NoGrant {
                recipient: self.recipient,
                subject: self.subject,
                template_id: self.template_id,
            });
        }
        if grant.revoked {
            return Err(SharingError::GrantRevoked(expected));
        }
        let expires_at = UnixMillis::from_secs(grant.expiresAt);
        if block.time >= expires_at {
            return Err(SharingError::GrantExpired {
                grant_id: expected,
                expires_at,
            });
        }
        Err(match named {
            Some(Authority::Grant(current)) => SharingError::GrantReplaced { expected, current },
            _ => SharingError::WrongTemplate {
                grant_id: expected,
                template_id: self.template_id,
            },
        })
    }
}
