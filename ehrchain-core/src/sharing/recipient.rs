//! The recipient's side: open the capsule and the envelope, then check the
//! record against its anchor and the authority against consent, at one
//! mined block.

use alloy_primitives::{Address, B256, Bytes};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::consent_check::{CONSENT_READS, ConsentQuery};
use super::{ChainRead, MinedBlock, ReadAnswers, SharingContext, SharingError, decode};
use crate::capsule::{Authority, CapsuleBinding, KeyCapsule, RecipientPrivateKey};
use crate::envelope::Envelope;
use crate::registry_abi::IEhrRegistry;

/// The recipient's check of a shared record: a capsule and the envelope it
/// is for. [`ReceiveCheck::reads`] names what to read at one mined block,
/// [`ReceiveCheck::open`] opens the record and checks it against those
/// answers.
#[derive(Clone, Debug)]
pub struct ReceiveCheck {
    context: SharingContext,
    capsule: KeyCapsule,
    envelope: Envelope,
    query: ConsentQuery,
}

/// A shared record opened and checked, with the evidence it rests on.
#[derive(Debug)]
pub struct Received {
    /// The record's plaintext (zeroized on drop).
    pub record: Zeroizing<Vec<u8>>,
    /// What was checked, and where.
    pub evidence: Evidence,
}

/// What a recipient checked about a shared record, and at which block: the
/// record is anchored, and the recipient may receive it. JSON:
/// `{"chainId", "registry", "consent", "recordHash", "tiId", "subject",
/// "templateId", "authority", "capsuleDigest", "checkedAt"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Evidence {
    /// The chain.
    pub chain_id: u64,
    /// The registry that anchors the record.
    pub registry: Address,
    /// The consent contract that holds the grant.
    pub consent: Address,
    /// The record hash (SHA-256 of the envelope), anchored under `ti_id`.
    pub record_hash: B256,
    /// The TI id the registry anchors the record under.
    pub ti_id: B256,
    /// The patient's pseudonym.
    pub subject: B256,
    /// The record's template.
    pub template_id: B256,
    /// The grant the record was shared under (it held at `checked_at`), or
    /// an emergency (the recipient held the emergency role).
    pub authority: Authority,
    /// SHA-256 of the capsule: the digest of its `Disclosed` event.
    pub capsule_digest: B256,
    /// The mined block anchor and consent were read at.
    pub checked_at: MinedBlock,
}

impl ReceiveCheck {
    /// The check of `capsule`, received by `recipient`, for `envelope`.
    #[must_use]
    pub fn new(
        context: &SharingContext,
        recipient: Address,
        capsule: KeyCapsule,
        envelope: Envelope,
    ) -> Self {
        let binding = envelope.binding();
        let query = ConsentQuery {
            recipient,
            subject: binding.patient,
            template_id: binding.template_id,
            expected: capsule.binding().authority,
        };
        Self {
            context: *context,
            capsule,
            envelope,
            query,
        }
    }

    /// The reads to make at one mined block, in this order:
    /// `mayReceive(recipient, pseudonym, template)` and `grantOf(grant)` on
    /// `EhrConsent`, and `recordHashOf(TI id)` on the registry.
    #[must_use]
    pub fn reads(&self) -> Vec<ChainRead> {
        let anchored = IEhrRegistry::recordHashOfCall {
            tiId: self.envelope.binding().ti_id,
        };
        let mut reads = self.query.reads(self.context.consent).to_vec();
        reads.push(ChainRead::of(self.context.registry, &anchored));
        reads
    }

    /// Opens the capsule with `key` and the envelope with the record key,
    /// then checks, against `answers` (to [`ReceiveCheck::reads`], at one
    /// mined block), that the registry anchors this record and that the
    /// capsule's grant held (or, for an emergency, that the recipient may
    /// receive the record).
    ///
    /// # Errors
    /// [`SharingError::Capsule`] when the capsule is for another chain,
    /// registry, recipient or record, was sealed for another key, or does
    /// not authenticate, or the envelope does not open;
    /// [`SharingError::NotAnchored`] or [`SharingError::AnchorMismatch`]
    /// when the registry does not anchor this record;
    /// [`SharingError::GrantRevoked`], [`SharingError::GrantExpired`] and
    /// the other consent errors of [`ShareCheck::seal`](super::ShareCheck::seal)
    /// when the grant no longer holds; [`SharingError::Unreadable`] for
    /// answers that do not fit the reads.
    pub fn open(
        &self,
        answers: &ReadAnswers,
        key: &RecipientPrivateKey,
    ) -> Result<Received, SharingError> {
        let record_hash = self.envelope.record_hash();
        let expected = CapsuleBinding {
            chain_id: self.context.chain_id,
            registry: self.context.registry,
            record_hash,
            recipient: self.query.recipient,
            authority: self.capsule.binding().authority,
        };
        let record = self.capsule.open_envelope(&expected, key, &self.envelope)?;
        self.check_anchor(answers.answers.get(CONSENT_READS))?;
        let authority = self.query.judge(&answers.block, &answers.answers)?;
        let binding = self.envelope.binding();
        Ok(Received {
            record,
            evidence: Evidence {
                chain_id: self.context.chain_id,
                registry: self.context.registry,
                consent: self.context.consent,
                record_hash,
                ti_id: binding.ti_id,
                subject: binding.patient,
                template_id: binding.template_id,
                authority,
                capsule_digest: self.capsule.digest(),
                checked_at: answers.block,
            },
        })
    }

    /// Checks the registry's `recordHashOf(TI id)` answer against the record.
    fn check_anchor(&self, answer: Option<&Bytes>) -> Result<(), SharingError> {
        let anchored = decode::<IEhrRegistry::recordHashOfCall>(answer)?;
        let record_hash = self.envelope.record_hash();
        let ti_id = self.envelope.binding().ti_id;
        if anchored.is_zero() {
            return Err(SharingError::NotAnchored { record_hash, ti_id });
        }
        if anchored != record_hash {
            return Err(SharingError::AnchorMismatch {
                record_hash,
                ti_id,
                anchored,
            });
        }
        Ok(())
    }
}
