//! The holder's side: check consent and the recipient's key at one mined
//! block, seal the key capsule, and build the disclosure transaction.

use alloy_primitives::Address;
use alloy_sol_types::SolCall;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

use super::consent_check::{CONSENT_READS, ConsentQuery};
use super::{
    ChainRead, ConsentTransaction, MinedBlock, ReadAnswers, SharingContext, SharingError, decode,
};
use crate::capsule::{Authority, CapsuleError, KeyCapsule, RecipientPublicKey};
use crate::consent_abi::{Disclosure, IEhrConsent};
use crate::envelope::Envelope;
use crate::keys::KeyStore;

/// The holder's check before sharing one record with one recipient: the
/// reads it needs ([`ShareCheck::reads`]) and the capsule it seals once
/// their answers, read at one mined block, say the recipient may receive
/// the record and the key is the one it published ([`ShareCheck::seal`]).
///
/// ```
/// use ehrchain_core::capsule::Authority;
/// use ehrchain_core::envelope::EnvelopeBinding;
/// use ehrchain_core::sharing::{SharingContext, ShareCheck};
/// use ehrchain_core::{Address, B256, Envelope, KeyId, MasterKey};
///
/// # fn main() -> Result<(), ehrchain_core::Error> {
/// let envelope = Envelope::seal(
///     &EnvelopeBinding {
///         key_id: KeyId::new("ward-7/2026")?,
///         patient: B256::repeat_byte(1),
///         template_id: B256::repeat_byte(2),
///         ti_id: B256::repeat_byte(3),
///     },
///     &MasterKey::new([7; 32]),
///     [9; 12],
///     b"HbA1c 6.1 %",
/// )?;
/// let context = SharingContext {
///     chain_id: 31337,
///     registry: Address::repeat_byte(0xee),
///     consent: Address::repeat_byte(0xc0),
/// };
/// let check = ShareCheck::new(
///     &context,
///     &envelope,
///     Address::repeat_byte(0xaa),
///     Authority::Grant(B256::repeat_byte(0x42)),
/// );
/// // mayReceive, grantOf and recipientKeyOf, all on EhrConsent: the host
/// // makes them at one mined block and hands the answers to `seal`.
/// let reads = check.reads();
/// assert_eq!(reads.len(), 3);
/// assert!(reads.iter().all(|r| r.to == context.consent));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ShareCheck {
    context: SharingContext,
    envelope: Envelope,
    query: ConsentQuery,
}

/// One capsule made: the capsule for the recipient, the disclosure to
/// record on chain for it ([`disclosure_transaction`]) and the mined block
/// whose state allowed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    /// The key capsule, for the recipient.
    pub capsule: KeyCapsule,
    /// The disclosure to anchor (capsule digest, recipient, pseudonym,
    /// template, record hash).
    pub disclosure: Disclosure,
    /// Under what the record was shared: the grant the chain names, or an
    /// emergency.
    pub authority: Authority,
    /// The mined block consent and key were read at.
    pub checked_at: MinedBlock,
}

impl ShareCheck {
    /// The check of sharing `envelope` (its record hash, pseudonym and
    /// template come from it) with `recipient` under `authority`: a grant
    /// the holder expects to hold, or an emergency.
    #[must_use]
    pub fn new(
        context: &SharingContext,
        envelope: &Envelope,
        recipient: Address,
        authority: Authority,
    ) -> Self {
        let binding = envelope.binding();
        Self {
            context: *context,
            envelope: envelope.clone(),
            query: ConsentQuery {
                recipient,
                subject: binding.patient,
                template_id: binding.template_id,
                expected: authority,
            },
        }
    }

    /// The reads to make at one mined block, in this order:
    /// `mayReceive(recipient, pseudonym, template)`, `grantOf(grant)` and
    /// `recipientKeyOf(recipient)`, all on `EhrConsent`.
    #[must_use]
    pub fn reads(&self) -> Vec<ChainRead> {
        let consent = self.context.consent;
        let key = IEhrConsent::recipientKeyOfCall {
            recipient: self.query.recipient,
        };
        let mut reads = self.query.reads(consent).to_vec();
        reads.push(ChainRead::of(consent, &key));
        reads
    }

    /// Seals the record's key for the recipient, once `answers` (to
    /// [`ShareCheck::reads`], at one mined block) say that it may receive
    /// the record and that `recipient_key` is the key it published. The
    /// record key is derived from the master key the envelope names, taken
    /// from `keys`, and checked against the envelope.
    ///
    /// # Errors
    /// [`SharingError::NoGrant`], [`SharingError::GrantRevoked`],
    /// [`SharingError::GrantExpired`], [`SharingError::WrongTemplate`],
    /// [`SharingError::GrantReplaced`] or [`SharingError::NoEmergencyRole`]
    /// when the recipient may not receive the record at that block;
    /// [`SharingError::KeyNotPublished`] or [`SharingError::KeyMismatch`]
    /// for the key; [`SharingError::Unreadable`] for answers that do not fit
    /// the reads; [`SharingError::Capsule`] when the master key is missing
    /// or wrong, or the key cannot be used.
    pub fn seal<R: CryptoRngCore + ?Sized>(
        &self,
        answers: &ReadAnswers,
        recipient_key: &RecipientPublicKey,
        keys: &dyn KeyStore,
        rng: &mut R,
    ) -> Result<Share, SharingError> {
        let authority = self.query.judge(&answers.block, &answers.answers)?;
        self.check_key(&answers.answers, recipient_key)?;
        let master = keys
            .master_key(&self.envelope.binding().key_id)
            .map_err(|e| CapsuleError::Envelope(e.into()))?;
        let record_hash = self.envelope.record_hash();
        let binding = self
            .context
            .capsule_binding(record_hash, self.query.recipient, authority);
        let capsule =
            KeyCapsule::seal_envelope_key(&binding, recipient_key, &self.envelope, &master, rng)?;
        let disclosure = Disclosure {
            capsuleDigest: capsule.digest(),
            recipient: self.query.recipient,
            subject: self.query.subject,
            templateId: self.query.template_id,
            recordHash: record_hash,
        };
        Ok(Share {
            capsule,
            disclosure,
            authority,
            checked_at: answers.block,
        })
    }

    /// Checks `key` against the published key id and SHA-256 hash.
    fn check_key(
        &self,
        answers: &[alloy_primitives::Bytes],
        key: &RecipientPublicKey,
    ) -> Result<(), SharingError> {
        let recipient = self.query.recipient;
        let published = decode::<IEhrConsent::recipientKeyOfCall>(answers.get(CONSENT_READS))?;
        if published.keyId.is_zero() {
            return Err(SharingError::KeyNotPublished(recipient));
        }
        let key_id = key.key_id();
        let key_hash = key.key_hash();
        if key_id != published.keyId || key_hash != published.keyHash {
            return Err(SharingError::KeyMismatch {
                recipient,
                key_id,
                published_id: published.keyId,
                published_hash: published.keyHash,
            });
        }
        Ok(())
    }
}

/// The transaction that records `disclosures` on chain: `recordDisclosure`
/// for one, `recordDisclosures` (all or none) for several. The host sends
/// it from a custodian's account; a revert's data reads with
/// [`SharingError::from_revert`].
///
/// # Errors
/// [`SharingError::NoDisclosures`] when `disclosures` is empty.
pub fn disclosure_transaction(
    context: &SharingContext,
    disclosures: &[Disclosure],
) -> Result<ConsentTransaction, SharingError> {
    let calldata = match disclosures {
        [] => return Err(SharingError::NoDisclosures),
        [one] => IEhrConsent::recordDisclosureCall {
            disclosure: one.clone(),
        }
        .abi_encode(),
        many => IEhrConsent::recordDisclosuresCall {
            disclosures: many.to_vec(),
        }
        .abi_encode(),
    };
    Ok(ConsentTransaction {
        chain_id: context.chain_id,
        to: context.consent,
        calldata: calldata.into(),
    })
}

/// What `Share` looks like in JSON, for hosts that store it: the capsule as
/// hex, the disclosure, the authority and the block.
impl Serialize for Share {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Json<'a> {
            capsule: alloy_primitives::Bytes,
            disclosure: &'a Disclosure,
            authority: Authority,
            checked_at: MinedBlock,
        }
        Json {
            capsule: self.capsule.as_bytes().to_vec().into(),
            disclosure: &self.disclosure,
            authority: self.authority,
            checked_at: self.checked_at,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Share {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        struct Json {
            capsule: alloy_primitives::Bytes,
            disclosure: Disclosure,
            authority: Authority,
            checked_at: MinedBlock,
        }
        let json = Json::deserialize(deserializer)?;
        Ok(Self {
            capsule: KeyCapsule::from_bytes(&json.capsule).map_err(serde::de::Error::custom)?,
            disclosure: json.disclosure,
            authority: json.authority,
            checked_at: json.checked_at,
        })
    }
}
