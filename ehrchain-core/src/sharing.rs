//! Sharing a record with consent: the holder's capsule maker, the
//! recipient's opener, the patient's accounting of disclosures and the
//! patient's records found from their wallet, over
//! `EhrConsent` (docs/consent.md) and key capsules (docs/capsule.md).
//!
//! ```text
//!   holder (custodian)                    chain (one mined block N)        recipient
//!   ──────────────────                    ────────────────────────         ─────────
//!   ShareCheck::new(record, recipient,
//!                   grant or emergency)
//!     .reads() ─────────── eth_call at N ─▶ mayReceive, grantOf,
//!                                           recipientKeyOf
//!     .seal(answers at N, public key,  ◀──
//!           record key, rng)
//!       refuses: no grant, revoked,
//!       expired, wrong template, key not
//!       published, key hash mismatch
//!     → Share {capsule, disclosure}
//!   disclosure_transaction([disclosures]) ─▶ recordDisclosure(s)
//!                                           (Disclosed events)
//!   capsule + envelope (+ inclusion proof) ──────────────────────────────▶ ReceiveCheck::new
//!                                                                          (.with_proof)
//!                                         mayReceive, grantOf,   ◀─ eth_call at M ─ .reads()
//!                                         recordHashOf(ti id) or
//!                                         batchOf(proof's root)
//!                                                                        .open(answers at M,
//!                                                                              private key)
//!                                                                        → Received {record,
//!                                                                              evidence}
//!   patient: AccountingQuery::requests() ─ eth_getLogs ─▶ Disclosed, ConsentGranted,
//!            Accounting::from_logs(logs) ◀─                ConsentRevoked by pseudonym
//!   patient: PatientRecordsQuery ──────── eth_getLogs ─▶ PatientBound/Unbound by account,
//!            .records(logs) ◀─                           then RecordAnchored by pseudonym
//! ```
//!
//! Sans-I/O: the core names the reads (each a [`ChainRead`], an `eth_call`
//! the host makes at **one** mined block it chose, [`MinedBlock`]) and
//! judges their answers; it builds the disclosure transaction the host
//! sends and decodes the logs the host fetched. Hosts with a blocking
//! connection implement [`ChainReader`] and call [`read_blocking`].
//!
//! Invariants:
//! - **One mined block.** Every answer a verdict rests on was read at the
//!   same mined block; the verdict names it ([`MinedBlock`]).
//! - **The chain names the authority.** A capsule is bound to the grant
//!   `mayReceive` names at that block (or to an emergency when it names
//!   none and the recipient holds the emergency role): the same authority
//!   the contract records in the `Disclosed` event.
//! - **The key is checked before sealing.** The recipient's public key
//!   must have the key id and SHA-256 hash the recipient published.
//! - **Revocation stops new capsules, not old ones.** After a revocation is
//!   mined, [`ShareCheck::seal`] refuses and the contract refuses the
//!   disclosure; a capsule already delivered cannot be recalled (its
//!   recipient knows the record key). To protect a record's future
//!   versions, re-key it: seal it again under a new TI (a new record key)
//!   and share that only under grants that hold.

mod accounting;
mod consent_check;
mod holder;
mod patient_records;
mod recipient;

use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::{SolCall, SolInterface};
use serde::{Deserialize, Serialize};

use crate::authorship::SignedProofError;
use crate::batch::ProofError;
use crate::capsule::{Authority, CapsuleBinding, CapsuleError};
use crate::consent_abi::IEhrConsent::{self, IEhrConsentErrors};
use crate::rpc::{BlockTag, RpcRequest};
use crate::time::UnixMillis;
use crate::transport::TransportError;

pub use accounting::{Accounting, AccountingQuery, ChainLog, DisclosureEntry, GrantEntry};
pub use holder::{Share, ShareCheck, disclosure_transaction};
pub use patient_records::{PatientRecord, PatientRecords, PatientRecordsQuery};
pub use recipient::{AnchorEvidence, Evidence, ReceiveCheck, Received};

/// Where consent lives: the chain, the registry that anchors records (and
/// holds the roles), and the `EhrConsent` contract. JSON: `{"chainId",
/// "registry", "consent"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SharingContext {
    /// The EIP-155 chain id.
    pub chain_id: u64,
    /// The `EhrRegistry` contract.
    pub registry: Address,
    /// The `EhrConsent` contract.
    pub consent: Address,
}

impl SharingContext {
    /// What a capsule of the record `record_hash` for `recipient` under
    /// `authority` is bound to in this context: the holder seals it so, the
    /// recipient opens it so.
    pub(crate) fn capsule_binding(
        &self,
        record_hash: B256,
        recipient: Address,
        authority: Authority,
    ) -> CapsuleBinding {
        CapsuleBinding {
            chain_id: self.chain_id,
            registry: self.registry,
            record_hash,
            recipient,
            authority,
        }
    }
}

/// The mined block a set of reads was made at: its number and its time.
/// JSON: `{"number", "time"}` (time in Unix milliseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MinedBlock {
    /// The block number.
    pub number: u64,
    /// The block's timestamp (the EVM's seconds, as milliseconds).
    pub time: UnixMillis,
}

/// One `eth_call` the flow needs: `calldata` on the contract `to`, made at
/// the mined block the host chose for all of a flow's reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChainRead {
    /// The contract called.
    pub to: Address,
    /// The ABI-encoded call.
    pub calldata: Bytes,
}

impl ChainRead {
    fn of<C: SolCall>(to: Address, call: &C) -> Self {
        Self {
            to,
            calldata: call.abi_encode().into(),
        }
    }

    /// The JSON-RPC request of this read at block `number` (`eth_call`
    /// pinned to that mined block).
    #[must_use]
    pub fn request(&self, number: u64) -> RpcRequest {
        RpcRequest::view(self.to, &self.calldata, BlockTag::Number(number))
    }
}

/// The answers to a flow's reads: what each `eth_call` returned, in the
/// order of the reads, all at `block`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReadAnswers {
    /// The mined block every read was made at.
    pub block: MinedBlock,
    /// The return data of each read, in order.
    pub answers: Vec<Bytes>,
}

/// A host's blocking connection for reads at a mined block (the contracts
/// crate implements it for its devnet and its JSON-RPC transport).
pub trait ChainReader {
    /// The newest mined block.
    ///
    /// # Errors
    /// [`TransportError`] when the node could not be asked.
    fn mined_block(&mut self) -> Result<MinedBlock, TransportError>;

    /// Makes each read at `block` and returns the return data, in order.
    ///
    /// # Errors
    /// [`TransportError`] when the node could not be asked or a call
    /// reverted.
    fn read_at(
        &mut self,
        block: &MinedBlock,
        reads: &[ChainRead],
    ) -> Result<Vec<Bytes>, TransportError>;
}

/// Makes `reads` at the newest mined block of `reader`: what
/// [`ShareCheck::seal`] and [`ReceiveCheck::open`] take.
///
/// # Errors
/// The reader's [`TransportError`].
pub fn read_blocking<R: ChainReader + ?Sized>(
    reader: &mut R,
    reads: &[ChainRead],
) -> Result<ReadAnswers, TransportError> {
    let block = reader.mined_block()?;
    let answers = reader.read_at(&block, reads)?;
    Ok(ReadAnswers { block, answers })
}

/// A transaction to `EhrConsent` the host sends (from a custodian's
/// account): the disclosures of capsules handed out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConsentTransaction {
    /// The chain it is for.
    pub chain_id: u64,
    /// The `EhrConsent` contract.
    pub to: Address,
    /// The ABI-encoded call.
    pub calldata: Bytes,
}

/// Why a record was not shared, or a shared record not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SharingError {
    /// No grant of the record to the recipient holds (the grant is unknown,
    /// or is of another patient or recipient).
    #[error(
        "no grant lets {recipient} receive this record (pseudonym {subject}, template {template_id}); the patient must grant access first"
    )]
    NoGrant {
        /// The recipient.
        recipient: Address,
        /// The record's pseudonym.
        subject: B256,
        /// The record's template.
        template_id: B256,
    },
    /// The grant was revoked.
    #[error(
        "grant {0} was revoked by the patient: no new capsule may be made under it (capsules delivered before stay delivered)"
    )]
    GrantRevoked(B256),
    /// The grant had expired at the block read.
    #[error("grant {grant_id} expired at {expires_at}; the patient must grant again")]
    GrantExpired {
        /// The grant.
        grant_id: B256,
        /// When it ended.
        expires_at: UnixMillis,
    },
    /// The grant holds but does not cover the record's template (or a later
    /// grant for that template replaced it).
    #[error("grant {grant_id} does not cover records of template {template_id}")]
    WrongTemplate {
        /// The grant.
        grant_id: B256,
        /// The record's template.
        template_id: B256,
    },
    /// Another grant than the one expected holds for this record now (the
    /// patient granted again).
    #[error(
        "grant {expected} is not the one that holds for this record now ({current}); use the current grant"
    )]
    GrantReplaced {
        /// The grant expected.
        expected: B256,
        /// The grant `mayReceive` names.
        current: B256,
    },
    /// An emergency disclosure was asked for a recipient without the
    /// emergency role (and no grant holds).
    #[error(
        "{0} holds no emergency role and no grant: it may not receive this record; the registry's admin grants EMERGENCY_ROLE"
    )]
    NoEmergencyRole(Address),
    /// The recipient has published no encryption key.
    #[error(
        "{0} has published no encryption key in EhrConsent; the recipient must publish one (publishRecipientKey) before records are shared with it"
    )]
    KeyNotPublished(Address),
    /// The recipient's public key given is not the one it published.
    #[error(
        "the public key given for {recipient} (key id {key_id}) is not the one it published (key id {published_id}, SHA-256 {published_hash}); fetch its current key again"
    )]
    KeyMismatch {
        /// The recipient.
        recipient: Address,
        /// The key id of the key given.
        key_id: B256,
        /// The published key id.
        published_id: B256,
        /// The published SHA-256 of the key.
        published_hash: B256,
    },
    /// The record is not anchored under its TI id.
    #[error(
        "record {record_hash} is not anchored in the registry (no record under TI id {ti_id}); do not trust it"
    )]
    NotAnchored {
        /// The record hash.
        record_hash: B256,
        /// The TI id it should be anchored under.
        ti_id: B256,
    },
    /// The registry anchors another record under the TI id.
    #[error(
        "the registry anchors {anchored} under TI id {ti_id}, not this record ({record_hash}); it was altered or replaced"
    )]
    AnchorMismatch {
        /// The record hash of the envelope.
        record_hash: B256,
        /// The TI id.
        ti_id: B256,
        /// The hash the registry holds.
        anchored: B256,
    },
    /// The inclusion proof given is of another record than the envelope.
    #[error(
        "the inclusion proof given proves record {proven}, not this record ({record_hash}); ask the holder for this record's proof"
    )]
    ProofOfOtherRecord {
        /// The record hash of the envelope.
        record_hash: B256,
        /// The record hash the proof's leaf is derived from.
        proven: B256,
    },
    /// The record's inclusion proof was refused: it does not lead to its
    /// root, or the registry holds no batch (or another leaf count) under
    /// that root.
    #[error("the record's inclusion proof was refused: {0}")]
    Proof(#[from] ProofError),
    /// The record's signed proof was refused: it does not lead to its root
    /// or the registry's batch, its author did not sign it, or did not hold
    /// the role when the batch was anchored.
    #[error("the record's signed proof was refused: {0}")]
    SignedProof(#[from] SignedProofError),
    /// The host gave answers that do not fit the reads asked.
    #[error("the answer to {call} cannot be read: {detail}")]
    Unreadable {
        /// The read (its Solidity signature).
        call: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A disclosure batch must not be empty.
    #[error("no disclosure to record: hand out at least one capsule")]
    NoDisclosures,
    /// The consent contract refused the transaction for another reason (the
    /// sender is no custodian, a zero hash); its decoded error.
    #[error("EhrConsent refused the disclosure: {0}")]
    Refused(String),
    /// The capsule could not be made or opened.
    #[error(transparent)]
    Capsule(#[from] CapsuleError),
}

impl SharingError {
    /// What a refused disclosure's revert data means: the contract's
    /// revoked, expired and missing grants as [`SharingError::GrantRevoked`],
    /// [`SharingError::GrantExpired`] and [`SharingError::NoGrant`]; any
    /// other error of `EhrConsent` as [`SharingError::Refused`]. `None` when
    /// the data is no error of `EhrConsent`.
    #[must_use]
    pub fn from_revert(data: &[u8]) -> Option<Self> {
        let error = IEhrConsentErrors::abi_decode(data).ok()?;
        Some(match error {
            IEhrConsentErrors::EhrConsentGrantRevoked(e) => Self::GrantRevoked(e.grantId),
            IEhrConsentErrors::EhrConsentGrantExpired(e) => Self::GrantExpired {
                grant_id: e.grantId,
                expires_at: UnixMillis::from_secs(e.expiresAt),
            },
            IEhrConsentErrors::EhrConsentNoGrant(e) => Self::NoGrant {
                recipient: e.recipient,
                subject: e.subject,
                template_id: e.templateId,
            },
            other => Self::Refused(format!("{other:?}")),
        })
    }
}

/// Decodes the return data of `call`'s read.
fn decode<C: SolCall>(answer: Option<&Bytes>) -> Result<C::Return, SharingError> {
    let unreadable = |detail: String| SharingError::Unreadable {
        call: C::SIGNATURE,
        detail,
    };
    let data = answer.ok_or_else(|| unreadable("no answer was given".to_owned()))?;
    C::abi_decode_returns(data).map_err(|e| unreadable(e.to_string()))
}

/// The `mayReceive` read of a record for a recipient.
fn may_receive(
    recipient: Address,
    subject: B256,
    template_id: B256,
) -> IEhrConsent::mayReceiveCall {
    IEhrConsent::mayReceiveCall {
        recipient,
        subject,
        templateId: template_id,
    }
}

#[cfg(test)]
mod tests;
