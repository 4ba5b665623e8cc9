//! The Transaction Generator (TG): TI + template → Ethereum transaction (TC).

pub use crate::tc_json::TcError;
use std::sync::Arc;

use alloy_dyn_abi::{DynSolType, DynSolValue};
use alloy_primitives::{Address, B256, Bytes, Selector};
use rand_core::CryptoRngCore;

use crate::envelope::{Envelope, EnvelopeBinding, EnvelopeError, NONCE_LEN, UnsealedEnvelope};
use crate::keys::{KeyId, KeyStore, KeyStoreError, Pseudonymizer};
use crate::record;
use crate::template::{
    CheckedValue, Field, Placement, Subject, SystemSource, Template, TemplateRegistry,
};
use crate::ti::{InitialTransaction, MAX_IDENTIFIER_LEN};
use crate::time::UnixMillis;
use crate::violation::{Violation, ViolationKind, Violations};

/// The `format` value of sealed record plaintexts.
pub const RECORD_FORMAT: &str = "ehrchain.record/1";

/// How a [`TransactionGenerator`] builds transactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// The chain id the TCs are for (EIP-155).
    pub chain_id: u64,
    /// The `EhrRegistry` contract the TCs call.
    pub registry: Address,
    /// The master key records are sealed under.
    pub sealing_key: KeyId,
    /// The master key patient pseudonyms are derived from. Keep it stable.
    pub pseudonym_key: KeyId,
    /// How far a TI's timestamp may lie ahead of `now`, in milliseconds
    /// (clock skew between the host's devices; 300 000 is five minutes).
    pub max_clock_skew_ms: u64,
}

impl GeneratorConfig {
    /// The configuration for the registry at `registry` on chain `chain_id`,
    /// sealing records under `sealing_key` and deriving pseudonyms from
    /// `pseudonym_key`, with a clock skew of 300 000 ms (five minutes).
    ///
    /// # Errors
    /// [`GenerateError::NoChainId`] for chain id 0: there is no default chain.
    pub fn new(
        chain_id: u64,
        registry: Address,
        sealing_key: KeyId,
        pseudonym_key: KeyId,
    ) -> Result<Self, GenerateError> {
        let config = Self {
            chain_id,
            registry,
            sealing_key,
            pseudonym_key,
            max_clock_skew_ms: 300_000,
        };
        config.check()?;
        Ok(config)
    }

    /// The rules every configuration follows: a chain id is given.
    fn check(&self) -> Result<(), GenerateError> {
        if self.chain_id == 0 {
            return Err(GenerateError::NoChainId);
        }
        Ok(())
    }
}

/// A blockchain transaction (TC) ready for the transport, with the sealed
/// record it anchors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainTransaction {
    /// The contract called.
    pub to: Address,
    /// The chain the transaction is for.
    pub chain_id: u64,
    /// ABI-encoded call: selector and arguments.
    pub calldata: Bytes,
    /// The TI this transaction anchors.
    pub ti_id: B256,
    /// The template the TI follows.
    pub template_id: B256,
    /// The patient pseudonym (zero for templates without a patient subject).
    pub patient: B256,
    /// SHA-256 of the sealed envelope, the value anchored on chain.
    pub record_hash: B256,
    /// The sealed record, for the host's database or blob store.
    pub envelope: Envelope,
}

impl ChainTransaction {
    /// The sealed envelope's IPFS CIDv1 (raw codec), whose digest is the record hash.
    #[must_use]
    pub fn cid(&self) -> String {
        crate::envelope::cid_of_record_hash(&self.record_hash)
    }
}

/// A TI validated, its record written and its call encoded, waiting to be
/// encrypted and hashed: what [`TransactionGenerator::prepare`] returns.
/// [`PreparedTransaction::seal`] finishes it with this crate's AES-256-GCM and
/// SHA-256; [`PreparedTransaction::into_sealed`] with another implementation's
/// output (the npm package hands WebAssembly's slow software AES to WebCrypto
/// this way). Either way, given a correct cipher output and hash, the TC is
/// byte for byte the one [`TransactionGenerator::generate`] makes. Record key and plaintext are
/// zeroized when it is dropped.
#[derive(Debug)]
pub struct PreparedTransaction {
    to: Address,
    chain_id: u64,
    ti_id: B256,
    template_id: B256,
    patient: B256,
    /// The calldata with a zero word where the record hash goes.
    calldata: Vec<u8>,
    /// The byte offsets of those words.
    record_hash_at: Arc<[usize]>,
    envelope: UnsealedEnvelope,
}

impl PreparedTransaction {
    /// The envelope to encrypt: header (the associated data), plaintext,
    /// nonce and record key.
    #[must_use]
    pub fn envelope(&self) -> &UnsealedEnvelope {
        &self.envelope
    }

    /// Encrypts the record with this crate's AES-256-GCM, hashes the envelope
    /// and completes the call.
    ///
    /// # Errors
    /// [`GenerateError::Seal`] should the cipher refuse the record.
    pub fn seal(self) -> Result<ChainTransaction, GenerateError> {
        self.complete(UnsealedEnvelope::seal)
    }

    /// Completes the TC with another implementation's AES-256-GCM output (see
    /// [`UnsealedEnvelope::into_sealed`]). The record hash is computed here,
    /// from the envelope itself, never taken from the caller: a TC cannot
    /// anchor a hash its envelope does not have.
    ///
    /// # Errors
    /// [`GenerateError::Seal`] with [`EnvelopeError::SealedLength`] when
    /// `ciphertext_and_tag` is not the plaintext length plus 16 bytes.
    pub fn into_sealed(self, ciphertext_and_tag: &[u8]) -> Result<ChainTransaction, GenerateError> {
        self.complete(|unsealed| unsealed.into_sealed(ciphertext_and_tag))
    }

    /// The TC, once `seal` has turned the envelope into its sealed form.
    fn complete(
        self,
        seal: impl FnOnce(UnsealedEnvelope) -> Result<Envelope, EnvelopeError>,
    ) -> Result<ChainTransaction, GenerateError> {
        let envelope = seal(self.envelope)?;
        let record_hash = envelope.record_hash();
        Ok(ChainTransaction {
            calldata: with_record_hash(self.calldata, &self.record_hash_at, record_hash),
            to: self.to,
            chain_id: self.chain_id,
            ti_id: self.ti_id,
            template_id: self.template_id,
            patient: self.patient,
            record_hash,
            envelope,
        })
    }
}

/// `calldata` with `record_hash` written at each of `offsets`.
fn with_record_hash(mut calldata: Vec<u8>, offsets: &[usize], record_hash: B256) -> Bytes {
    for &at in offsets {
        let word = calldata.get_mut(at..at + 32);
        debug_assert!(
            word.as_deref().is_some_and(|w| w == [0; 32]),
            "record hash offset {at} is not a zero word of the calldata"
        );
        if let Some(word) = word {
            word.copy_from_slice(record_hash.as_slice());
        }
    }
    calldata.into()
}

/// Why the generator made no transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// The TI breaks its template; every violation is listed.
    #[error(transparent)]
    Rejected(#[from] Violations),
    /// The key store could not hand out a key.
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
    /// The record could not be sealed.
    #[error(transparent)]
    Seal(#[from] EnvelopeError),
    /// The configuration names no chain (chain id 0).
    #[error(
        "no chain id: give the EIP-155 id of the chain the EhrRegistry is deployed on (ehrchain has no default chain; 0 is not a chain id)"
    )]
    NoChainId,
}

/// Turns TIs into TCs: validates against the template, seals the record,
/// hashes it and encodes the contract call. Deterministic given the same
/// inputs, keys and RNG output.
#[derive(Debug)]
pub struct TransactionGenerator<K> {
    config: GeneratorConfig,
    keys: K,
    pseudonymizer: Pseudonymizer,
}

impl<K: KeyStore> TransactionGenerator<K> {
    /// Prepares a generator; checks that the sealing key is in the key store
    /// and derives the pseudonym key once. Every binding makes its generator
    /// here, so a misnamed key fails now rather than on every TI.
    ///
    /// # Errors
    /// [`GenerateError::NoChainId`] for chain id 0;
    /// [`GenerateError::KeyStore`] when the sealing or the pseudonym key is
    /// unknown or unavailable.
    pub fn new(config: GeneratorConfig, keys: K) -> Result<Self, GenerateError> {
        config.check()?;
        keys.master_key(&config.sealing_key)?;
        let pseudonymizer = Pseudonymizer::new(&keys.master_key(&config.pseudonym_key)?);
        Ok(Self {
            config,
            keys,
            pseudonymizer,
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &GeneratorConfig {
        &self.config
    }

    /// The key store (to open envelopes with the same keys).
    #[must_use]
    pub fn key_store(&self) -> &K {
        &self.keys
    }

    /// The on-chain pseudonym of a patient identifier.
    #[must_use]
    pub fn pseudonym(&self, patient_id: &str) -> B256 {
        self.pseudonymizer.pseudonym(patient_id)
    }

    /// Validates `ti` against its template in `templates` and builds its TC.
    /// `now` is the host's clock (milliseconds, like every time in the API;
    /// the TI's own `timestamp` is in seconds and may lie at most
    /// [`GeneratorConfig::max_clock_skew_ms`] ahead of it); `rng` supplies the
    /// nonce.
    /// Same as [`TransactionGenerator::prepare`], then
    /// [`PreparedTransaction::seal`].
    ///
    /// # Errors
    /// [`GenerateError::Rejected`] with every violation of the TI;
    /// [`GenerateError::KeyStore`] or [`GenerateError::Seal`] when sealing fails.
    pub fn generate<R: CryptoRngCore + ?Sized>(
        &self,
        templates: &TemplateRegistry,
        ti: &InitialTransaction,
        now: UnixMillis,
        rng: &mut R,
    ) -> Result<ChainTransaction, GenerateError> {
        self.prepare(templates, ti, now, rng)?.seal()
    }

    /// The first half of [`TransactionGenerator::generate`]: validates `ti`,
    /// derives the record key, writes the envelope header and the record, and
    /// encodes the call, all but the encryption and the record hash. For hosts
    /// that encrypt and hash with another implementation
    /// ([`PreparedTransaction::into_sealed`]); others call
    /// [`PreparedTransaction::seal`].
    ///
    /// # Errors
    /// As [`TransactionGenerator::generate`].
    pub fn prepare<R: CryptoRngCore + ?Sized>(
        &self,
        templates: &TemplateRegistry,
        ti: &InitialTransaction,
        now: UnixMillis,
        rng: &mut R,
    ) -> Result<PreparedTransaction, GenerateError> {
        let template = templates.get(&ti.template_id).ok_or_else(|| {
            Violations(vec![Violation {
                field: None,
                kind: ViolationKind::UnknownTemplate {
                    template_id: ti.template_id,
                },
            }])
        })?;
        let mut violations = Vec::new();
        if !templates.is_active(&ti.template_id) {
            violations.push(general(ViolationKind::TemplateInactive {
                name: template.name().to_owned(),
                version: template.version(),
            }));
        }
        self.check_envelope_data(template, ti, now, &mut violations);
        let values = template.check_values(&ti.fields, &mut violations);
        if !violations.is_empty() {
            return Err(Violations(violations).into());
        }

        let patient = ti
            .patient_id
            .as_deref()
            .map_or(B256::ZERO, |p| self.pseudonym(p));
        let binding = EnvelopeBinding {
            key_id: self.config.sealing_key.clone(),
            patient,
            template_id: template.id(),
            ti_id: ti.ti_id,
        };
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let master = self.keys.master_key(&self.config.sealing_key)?;
        let len_hint = record::record_len_hint(ti, &values);
        let envelope = UnsealedEnvelope::new(binding, &master, nonce, len_hint, |out| {
            record::write_record(out, template, ti, &values);
        })?;
        let system = SystemValues {
            ti,
            patient,
            template_id: template.id(),
            role_id: template.role_id(&ti.author_role),
        };
        Ok(PreparedTransaction {
            to: self.config.registry,
            chain_id: self.config.chain_id,
            calldata: encode_call(template, &values, &system),
            record_hash_at: Arc::clone(&template.call().record_hash_at),
            ti_id: ti.ti_id,
            template_id: template.id(),
            patient,
            envelope,
        })
    }

    /// Checks what the TI says outside its fields: role, identifiers, time.
    fn check_envelope_data(
        &self,
        template: &Template,
        ti: &InitialTransaction,
        now: UnixMillis,
        violations: &mut Vec<Violation>,
    ) {
        if !template.allows(&ti.author_role) {
            violations.push(general(ViolationKind::RoleNotAllowed {
                role: ti.author_role.to_string(),
                allowed: template.roles().iter().map(ToString::to_string).collect(),
            }));
        }
        if !valid_identifier(&ti.author_id) {
            violations.push(general(ViolationKind::BadIdentifier { what: "authorId" }));
        }
        match (template.subject(), ti.patient_id.as_deref()) {
            (Subject::Patient, None) => violations.push(general(ViolationKind::MissingPatient)),
            (Subject::None, Some(_)) => violations.push(general(ViolationKind::UnexpectedPatient)),
            (_, Some(p)) if !valid_identifier(p) => {
                violations.push(general(ViolationKind::BadIdentifier { what: "patientId" }));
            }
            _ => {}
        }
        // The TI's timestamp is in whole seconds (its data format), `now` in
        // milliseconds: compare as milliseconds.
        let ahead_ms = UnixMillis::from_secs(ti.timestamp).saturating_ms_since(now);
        if ahead_ms > self.config.max_clock_skew_ms {
            violations.push(general(ViolationKind::TimestampInFuture {
                timestamp: ti.timestamp,
                ahead_ms,
                tolerance_ms: self.config.max_clock_skew_ms,
            }));
        }
    }
}

fn general(kind: ViolationKind) -> Violation {
    Violation { field: None, kind }
}

fn valid_identifier(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_IDENTIFIER_LEN && !id.chars().any(char::is_control)
}

/// The values the handshaker supplies to `system` fields.
struct SystemValues<'a> {
    ti: &'a InitialTransaction,
    patient: B256,
    template_id: B256,
    role_id: B256,
}

impl SystemValues<'_> {
    fn get(&self, source: SystemSource) -> CheckedValue<'static> {
        match source {
            SystemSource::PatientPseudonym => CheckedValue::Bytes32(self.patient),
            SystemSource::TemplateId => CheckedValue::Bytes32(self.template_id),
            SystemSource::TiId => CheckedValue::Bytes32(self.ti.ti_id),
            // Not known before sealing: [`PreparedTransaction`] writes it
            // over this zero word (`Call::record_hash_at`).
            SystemSource::RecordHash => CheckedValue::Bytes32(B256::ZERO),
            SystemSource::AuthorRole => CheckedValue::Bytes32(self.role_id),
            SystemSource::Timestamp => {
                CheckedValue::Time(i64::try_from(self.ti.timestamp).unwrap_or(i64::MAX))
            }
        }
    }
}

/// The calldata of the template's call: its selector, then the ABI-encoded
/// arguments. Calls whose parameters are all static 32-byte words (those of
/// every built-in template) are written word by word; others go through
/// dyn-abi's tuple encoding.
fn encode_call(
    template: &Template,
    values: &[Option<CheckedValue<'_>>],
    system: &SystemValues<'_>,
) -> Vec<u8> {
    let call = template.call();
    let args = call_arguments(template, values, system);
    if call.types.iter().all(is_word) {
        encode_words(call.selector, call.types.len(), args)
    } else {
        encode_dyn(call.selector, args)
    }
}

/// The call's arguments with their parameter types, in parameter order.
fn call_arguments<'a>(
    template: &'a Template,
    values: &'a [Option<CheckedValue<'a>>],
    system: &'a SystemValues<'_>,
) -> impl Iterator<Item = (CheckedValue<'a>, &'a DynSolType)> + 'a {
    let call = template.call();
    call.arguments
        .iter()
        .zip(&call.types)
        .map(move |(&index, ty)| match template.fields().get(index) {
            Some(Field {
                placement: Placement::System(source),
                ..
            }) => (system.get(*source), ty),
            // Chain fields are required (checked at load), so a value is
            // present; were it not, zero is encoded.
            _ => (
                values
                    .get(index)
                    .cloned()
                    .flatten()
                    .unwrap_or(CheckedValue::Int(0)),
                ty,
            ),
        })
}

/// Whether values of `ty` are encoded as one static 32-byte word.
fn is_word(ty: &DynSolType) -> bool {
    matches!(
        ty,
        DynSolType::Bool
            | DynSolType::Int(_)
            | DynSolType::Uint(_)
            | DynSolType::Address
            | DynSolType::FixedBytes(_)
    )
}

/// Selector and one word per argument: the ABI encoding of a call whose
/// parameters are all [`is_word`] types.
fn encode_words<'a>(
    selector: Selector,
    count: usize,
    args: impl Iterator<Item = (CheckedValue<'a>, &'a DynSolType)>,
) -> Vec<u8> {
    let mut calldata = Vec::with_capacity(4 + 32 * count);
    calldata.extend_from_slice(selector.as_slice());
    for (value, _) in args {
        calldata.extend_from_slice(value.to_abi_word().as_slice());
    }
    calldata
}

/// Selector and dyn-abi's encoding of the arguments as a tuple: any call.
fn encode_dyn<'a>(
    selector: Selector,
    args: impl Iterator<Item = (CheckedValue<'a>, &'a DynSolType)>,
) -> Vec<u8> {
    let args = args.map(|(value, ty)| value.to_abi(ty)).collect();
    let encoded = DynSolValue::Tuple(args).abi_encode_params();
    let mut calldata = Vec::with_capacity(4 + encoded.len());
    calldata.extend_from_slice(selector.as_slice());
    calldata.extend_from_slice(&encoded);
    calldata
}

#[cfg(test)]
mod tests;
