//! The `Handshaker` facade: templates (TTM) + generator (TG) + validator (TV)
//! + key store, for the common case "submit a TI, get its ACK".

use rand_core::CryptoRngCore;

use crate::authorship::{Signer, SigningRequest};
use crate::driver::{Run, Stopped, Until, run_blocking, run_durably};
use crate::error::Error;
use crate::generator::{ChainTransaction, GenerateError, TransactionGenerator};
use crate::keys::KeyStore;
use crate::outbox::Outbox;
use crate::pipeline::{Pipeline, Priority};
use crate::template::TemplateRegistry;
use crate::ti::InitialTransaction;
use crate::time::{Clock, UnixMillis};
use crate::transport::Transport;
use crate::validator::{Ack, InvalidReason, TransactionValidator, ValidatorConfig};
use crate::watcher::AnchorWatcher;

/// The blockchain handshaker: checks a TI against its template, seals and
/// anchors it, and answers with its ACK.
///
/// ```
/// use std::collections::BTreeMap;
///
/// use ehrchain_core::rand_core::SeedableRng;
/// use ehrchain_core::{
///     Address, B256, ErrorCode, GeneratorConfig, Handshaker, InMemoryKeyStore,
///     InitialTransaction, KeyId, MasterKey, Role, TemplateRegistry, TransactionGenerator,
///     UnixMillis, ValidatorConfig,
/// };
///
/// # fn main() -> Result<(), ehrchain_core::Error> {
/// // The host's key store (an HSM or a KMS in production).
/// let mut keys = InMemoryKeyStore::new();
/// keys.insert(KeyId::new("records-2026")?, MasterKey::new([7; 32]));
/// keys.insert(KeyId::new("pseudonyms")?, MasterKey::new([8; 32]));
/// let config = GeneratorConfig::new(
///     1337,                     // the chain id
///     Address::repeat_byte(0xee), // the EhrRegistry contract
///     KeyId::new("records-2026")?,
///     KeyId::new("pseudonyms")?,
/// )?;
/// let templates = TemplateRegistry::with_built_ins(None)?;
/// let bp = templates.latest("blood-pressure").map(|t| t.id()).unwrap_or_default();
/// let hs = Handshaker::new(
///     templates,
///     TransactionGenerator::new(config, keys)?,
///     ValidatorConfig::default(),
/// );
///
/// // A nurse's reading: the TI.
/// let now = UnixMillis::from_secs(1_764_495_000);
/// let ti = InitialTransaction {
///     ti_id: B256::repeat_byte(1),
///     template_id: bp,
///     author_id: "nurse-17".into(),
///     author_role: Role::new("nurse")?,
///     patient_id: Some("MRN-000123".into()),
///     timestamp: now.as_secs(),
///     fields: BTreeMap::from([("systolic".into(), 128.into()), ("diastolic".into(), 84.into())]),
/// };
/// // Nonces come from the host's CSPRNG (`rand_core::OsRng` natively; a
/// // seeded one here, for a repeatable example).
/// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(42);
/// let tc = hs.generate(&ti, now, &mut rng)?;
/// // The record is sealed: only its hash, ids and a pseudonym go on chain.
/// let record = tc.envelope.open(hs.generator().key_store())?;
/// assert!(std::str::from_utf8(&record).is_ok_and(|r| r.contains("128")));
///
/// // A reading out of range is refused with every violation listed.
/// let mut wrong = ti.clone();
/// wrong.fields.insert("systolic".into(), 900.into());
/// let error = ehrchain_core::Error::from(hs.generate(&wrong, now, &mut rng).unwrap_err());
/// assert_eq!(error.code(), ErrorCode::TiRejected);
/// assert!(error.violations().is_some_and(|v| !v.0.is_empty()));
/// # Ok(())
/// # }
/// ```
///
/// Then `hs.submit(&ti, &mut transport, &mut clock, &mut rng, &Until::verdict())` sends it
/// through a [`Transport`] and answers with its [`Ack`]; hosts that drive the
/// validator themselves call [`Handshaker::validator_for`].
#[derive(Debug)]
pub struct Handshaker<K> {
    templates: TemplateRegistry,
    generator: TransactionGenerator<K>,
    config: ValidatorConfig,
}

impl<K: KeyStore> Handshaker<K> {
    /// A handshaker over these templates and this generator (which holds the
    /// key store), validating with `config`.
    #[must_use]
    pub fn new(
        templates: TemplateRegistry,
        generator: TransactionGenerator<K>,
        config: ValidatorConfig,
    ) -> Self {
        Self {
            templates,
            generator,
            config,
        }
    }

    /// The templates.
    #[must_use]
    pub fn templates(&self) -> &TemplateRegistry {
        &self.templates
    }

    /// The templates, to load or deactivate some.
    pub fn templates_mut(&mut self) -> &mut TemplateRegistry {
        &mut self.templates
    }

    /// The generator (its key store opens envelopes).
    #[must_use]
    pub fn generator(&self) -> &TransactionGenerator<K> {
        &self.generator
    }

    /// The validator configuration.
    #[must_use]
    pub fn validator_config(&self) -> &ValidatorConfig {
        &self.config
    }

    /// Turns a TI into its TC ([`TransactionGenerator::generate`] with these
    /// templates): checked against its template, its record sealed, its call
    /// encoded. Store the TC (its JSON form) before sending it.
    ///
    /// # Errors
    /// [`GenerateError`]: every violation of a TI that breaks its template,
    /// or a key store or sealing failure.
    pub fn generate<R: CryptoRngCore + ?Sized>(
        &self,
        ti: &InitialTransaction,
        now: UnixMillis,
        rng: &mut R,
    ) -> Result<ChainTransaction, GenerateError> {
        self.generator.generate(&self.templates, ti, now, rng)
    }

    /// Turns a TI into a validator, for hosts that drive validators
    /// themselves. A TI the generator refuses (it breaks its template, or
    /// its record cannot be sealed) gives a finished validator whose ACK is
    /// invalid. `now` is the host's clock, as for
    /// [`TransactionGenerator::generate`].
    ///
    /// # Errors
    /// [`GenerateError::KeyStore`] when the key store cannot hand out a key
    /// (an HSM offline, say): no verdict on the TI, nothing made; make its
    /// validator again later.
    pub fn validator_for<R: CryptoRngCore + ?Sized>(
        &self,
        ti: &InitialTransaction,
        now: UnixMillis,
        rng: &mut R,
    ) -> Result<TransactionValidator, GenerateError> {
        self.validator_signed(ti, None, now, rng)
    }

    /// [`Handshaker::validator_for`] for a TI its author signs through
    /// `signer`: the TC is relayed (`anchorSignedRecord`, sent by the
    /// transport's relayer account). A signer that makes no signature, or one
    /// that does not verify here, gives a finished validator whose ACK is
    /// invalid ([`InvalidReason::Authorship`]); nothing is sent.
    ///
    /// # Errors
    /// As [`Handshaker::validator_for`].
    pub fn validator_signed_by<R: CryptoRngCore + ?Sized>(
        &self,
        ti: &InitialTransaction,
        signer: &dyn Signer,
        now: UnixMillis,
        rng: &mut R,
    ) -> Result<TransactionValidator, GenerateError> {
        self.validator_signed(ti, Some(signer), now, rng)
    }

    /// The TI's validator, its TC signed through `signer` when one is given.
    fn validator_signed<R: CryptoRngCore + ?Sized>(
        &self,
        ti: &InitialTransaction,
        signer: Option<&dyn Signer>,
        now: UnixMillis,
        rng: &mut R,
    ) -> Result<TransactionValidator, GenerateError> {
        Ok(match self.generate(ti, now, rng) {
            Ok(tc) => match signer {
                None => TransactionValidator::new(&tc, self.config),
                Some(signer) => match SigningRequest::new(tc, signer.address()) {
                    Ok(request) => {
                        let request = if signer.is_smart_account() {
                            request.for_smart_account()
                        } else {
                            request
                        };
                        let signature = signer.sign(&request);
                        request.validator(signature, self.config)
                    }
                    Err(e) => TransactionValidator::failed(ti, InvalidReason::of_authorship(&e)),
                },
            },
            Err(e) => refused(ti, e)?,
        })
    }

    /// Turns a TI into its TC and pushes it into `pipeline` with `priority`;
    /// a TI the generator refuses is admitted as a finished validator, so
    /// its invalid ACK comes out of the pipeline like every other ACK.
    ///
    /// # Errors
    /// [`Error::Pipeline`] when the pipeline is busy, already holds the
    /// TI or anchors into another chain or registry than this handshaker's;
    /// [`Error::Generate`] ([`GenerateError::KeyStore`]) when the key
    /// store cannot hand out a key, which is no verdict on the TI. Nothing
    /// is kept: push it again later.
    pub fn push<R: CryptoRngCore + ?Sized>(
        &self,
        pipeline: &mut Pipeline,
        ti: &InitialTransaction,
        priority: Priority,
        now: UnixMillis,
        rng: &mut R,
    ) -> Result<(), Error> {
        let config = self.generator().config();
        pipeline.check_destination(ti.ti_id, config.chain_id, config.registry)?;
        match self.generate(ti, now, rng) {
            Ok(tc) => Ok(pipeline.push(tc, priority, now)?),
            Err(e) => Ok(pipeline.admit(refused(ti, e)?).map_err(|u| u.error)?),
        }
    }

    /// Submits a TI through the host's write-ahead [`Outbox`] and blocks
    /// until its ACK: valid (store the record) or invalid (keep it for
    /// audit); the outbox stores the ACK and drops the TI's entry in one step
    /// ([`Outbox::finish`]). When the outbox already holds an entry for this
    /// TI (the host restarted, or submits the TI again before its ACK), that
    /// entry is resumed: the same TC and sealed record, never a new one.
    ///
    /// `until` bounds the wait: at its deadline, or when its cancel token is
    /// cancelled, the call returns [`Run::Pending`] with the TI's entry
    /// stored as it stands (an outage is waited out until then, never turned
    /// into an invalid ACK); submit the TI again, or [`Handshaker::resume`],
    /// later.
    ///
    /// # Errors
    /// [`Error::Outbox`] when the outbox fails (nothing more is sent; submit
    /// again or [`Handshaker::resume`] once it works);
    /// [`Error::Validator`] ([`ValidatorError::Snapshot`](crate::validator::ValidatorError::Snapshot)) when the stored
    /// entry is damaged; [`Error::Generate`] when the key store cannot
    /// answer ([`Handshaker::validator_for`]: nothing stored or sent, submit
    /// again later).
    pub fn submit_durably<O, T, C, R>(
        &self,
        ti: &InitialTransaction,
        outbox: &mut O,
        transport: &mut T,
        clock: &mut C,
        rng: &mut R,
        until: &Until,
    ) -> Result<Run<Ack>, Error>
    where
        O: Outbox + ?Sized,
        T: Transport + ?Sized,
        C: Clock + ?Sized,
        R: CryptoRngCore + ?Sized,
    {
        self.run_durably(ti, None, outbox, transport, clock, rng, until)
            .map(|(_, run)| run)
    }

    /// [`Handshaker::submit_durably`] for a TI its author signs through
    /// `signer` ([`Handshaker::validator_signed_by`]): the transport's
    /// account relays it (it needs the registry's `RELAYER_ROLE`; the author
    /// needs the template's role) and the ACK carries the author's signed
    /// statement ([`Ack::authorship`]). A TI whose entry the outbox already
    /// holds is resumed as stored, without signing again.
    ///
    /// # Errors
    /// As [`Handshaker::submit_durably`].
    #[allow(
        clippy::too_many_arguments,
        reason = "submit_durably's separate borrows (outbox, transport, clock, randomness, limit) plus the signer"
    )]
    pub fn submit_signed<O, T, C, R>(
        &self,
        ti: &InitialTransaction,
        signer: &dyn Signer,
        outbox: &mut O,
        transport: &mut T,
        clock: &mut C,
        rng: &mut R,
        until: &Until,
    ) -> Result<Run<Ack>, Error>
    where
        O: Outbox + ?Sized,
        T: Transport + ?Sized,
        C: Clock + ?Sized,
        R: CryptoRngCore + ?Sized,
    {
        self.run_durably(ti, Some(signer), outbox, transport, clock, rng, until)
            .map(|(_, run)| run)
    }

    /// [`Handshaker::submit_durably`], then, when the ACK is valid, hands
    /// its anchor to `watcher` to be watched until final
    /// ([`watch_durably`](crate::watch_durably) runs it and resends what
    /// vanishes).
    ///
    /// # Errors
    /// As [`Handshaker::submit_durably`].
    #[allow(
        clippy::too_many_arguments,
        reason = "submit_durably's separate borrows (outbox, transport, clock, randomness, limit) plus the watcher"
    )]
    pub fn submit_watched<O, T, C, R>(
        &self,
        ti: &InitialTransaction,
        outbox: &mut O,
        transport: &mut T,
        clock: &mut C,
        rng: &mut R,
        watcher: &mut AnchorWatcher,
        until: &Until,
    ) -> Result<Run<Ack>, Error>
    where
        O: Outbox + ?Sized,
        T: Transport + ?Sized,
        C: Clock + ?Sized,
        R: CryptoRngCore + ?Sized,
    {
        let (validator, run) = self.run_durably(ti, None, outbox, transport, clock, rng, until)?;
        if let Run::Acked(ack) = &run
            && ack.is_valid()
        {
            watcher.watch(&validator, ack)?;
        }
        Ok(run)
    }

    /// The TI's validator (resumed from the outbox, or new and signed through
    /// `signer` when one is given), run to its ACK or until `until`.
    #[allow(
        clippy::too_many_arguments,
        reason = "submit_signed's borrows, passed through"
    )]
    fn run_durably<O, T, C, R>(
        &self,
        ti: &InitialTransaction,
        signer: Option<&dyn Signer>,
        outbox: &mut O,
        transport: &mut T,
        clock: &mut C,
        rng: &mut R,
        until: &Until,
    ) -> Result<(TransactionValidator, Run<Ack>), Error>
    where
        O: Outbox + ?Sized,
        T: Transport + ?Sized,
        C: Clock + ?Sized,
        R: CryptoRngCore + ?Sized,
    {
        let mut validator = match outbox.load(&ti.ti_id)? {
            Some(entry) => TransactionValidator::from_json(&entry)?,
            None => self.validator_signed(ti, signer, clock.now(), rng)?,
        };
        let run = run_durably(&mut validator, outbox, transport, clock, until)?;
        let run = run.map(|acks| single_ack(ti, &validator, acks));
        Ok((validator, run))
    }

    /// Resumes every TI whose entry the host's outbox holds (after a restart,
    /// or after a run stopped by its deadline) and runs each to its ACK,
    /// which the outbox stores; returns the ACKs. When `until` is reached,
    /// the TI in progress is stored as it stands and the entries after it are
    /// left for the next call ([`Resumed::stopped`]).
    ///
    /// # Errors
    /// [`Error::Outbox`] when the outbox fails; [`Error::Validator`]
    /// ([`ValidatorError::Snapshot`](crate::validator::ValidatorError::Snapshot)) for a damaged entry, which stays in the
    /// outbox for the host to restore or move aside (the entries after it are
    /// not resumed until then).
    pub fn resume<O, T, C>(
        &self,
        outbox: &mut O,
        transport: &mut T,
        clock: &mut C,
        until: &Until,
    ) -> Result<Resumed, Error>
    where
        O: Outbox + ?Sized,
        T: Transport + ?Sized,
        C: Clock + ?Sized,
    {
        let mut resumed = Resumed::default();
        for key in outbox.keys()? {
            let Some(entry) = outbox.load(&key)? else {
                continue;
            };
            let mut validator = TransactionValidator::from_json(&entry)?;
            match run_durably(&mut validator, outbox, transport, clock, until)? {
                Run::Acked(acks) => resumed.acks.extend(acks),
                Run::Pending(stopped) => {
                    resumed.stopped = Some(stopped);
                    break;
                }
            }
        }
        Ok(resumed)
    }

    /// Submits a TI and blocks until its ACK: valid (store the record) or
    /// invalid (keep it for audit), without an outbox ([`NoOutbox`](crate::outbox::NoOutbox): a crash
    /// loses the TI in flight; [`Handshaker::submit_durably`] does not).
    /// Every failure of the TI is an invalid ACK; only `until` (a deadline or
    /// a cancel) ends it without one, [`Run::Pending`]: without an outbox
    /// nothing can resume that TI, whose transaction may still be mined, so a
    /// host that sets a deadline should use [`Handshaker::submit_durably`]
    /// (with a [`MemoryOutbox`](crate::outbox::MemoryOutbox) at least).
    ///
    /// # Errors
    /// As [`Handshaker::validator_for`]: a key store that cannot answer,
    /// before anything is sent.
    pub fn submit<T, C, R>(
        &self,
        ti: &InitialTransaction,
        transport: &mut T,
        clock: &mut C,
        rng: &mut R,
        until: &Until,
    ) -> Result<Run<Ack>, GenerateError>
    where
        T: Transport + ?Sized,
        C: Clock + ?Sized,
        R: CryptoRngCore + ?Sized,
    {
        let mut validator = self.validator_for(ti, clock.now(), rng)?;
        Ok(run_blocking(&mut validator, transport, clock, until)
            .map(|acks| single_ack(ti, &validator, acks)))
    }
}

/// What [`Handshaker::resume`] did: the ACKs made (the outbox stored them
/// too), and whether it stopped at the host's deadline or cancel before
/// every entry was resumed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resumed {
    /// The ACKs of the TIs resumed to their verdict.
    pub acks: Vec<Ack>,
    /// Set when `until` was reached: the TI in progress and the entries not
    /// yet resumed stay in the outbox.
    pub stopped: Option<Stopped>,
}

/// The finished validator of a TI the generator refused: its one ACK is
/// invalid, with the template's violations or why its record could not be
/// sealed. A key store that cannot answer says nothing about the TI (an
/// outage is not a verdict): that error comes back instead, nothing made.
fn refused(
    ti: &InitialTransaction,
    error: GenerateError,
) -> Result<TransactionValidator, GenerateError> {
    match error {
        GenerateError::Rejected(violations) => Ok(TransactionValidator::rejected(ti, &violations)),
        e @ GenerateError::Seal(_) => Ok(TransactionValidator::failed(
            ti,
            InvalidReason::Generation {
                message: e.to_string(),
            },
        )),
        e @ (GenerateError::KeyStore(_) | GenerateError::NoChainId) => Err(e),
    }
}

/// The one ACK of a single-record validator.
fn single_ack(ti: &InitialTransaction, validator: &TransactionValidator, acks: Vec<Ack>) -> Ack {
    acks.into_iter().next().unwrap_or_else(|| Ack {
        ti_id: ti.ti_id,
        template_id: ti.template_id,
        record_hash: None,
        envelope: None,
        authorship: None,
        status: crate::validator::AckStatus::Invalid {
            reason: InvalidReason::Generation {
                message: "internal error: no ACK was produced".to_owned(),
            },
            tx_hashes: validator.tx_hashes().to_vec(),
        },
    })
}
