//! The `Handshaker` facade: templates (TTM) + generator (TG) + validator (TV)
//! + key store, for the common case "submit a TI, get its ACK".

use rand_core::CryptoRngCore;

use crate::driver::run_blocking;
use crate::generator::{GenerateError, TransactionGenerator};
use crate::keys::KeyStore;
use crate::template::TemplateRegistry;
use crate::ti::InitialTransaction;
use crate::time::{Clock, UnixMillis};
use crate::transport::Transport;
use crate::validator::{Ack, InvalidReason, TransactionValidator, ValidatorConfig};

/// The blockchain handshaker: checks a TI against its template, seals and
/// anchors it, and answers with its ACK.
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

    /// Turns a TI into a validator, for hosts that drive validators
    /// themselves. A TI the generator refuses gives a finished validator whose
    /// ACK is invalid. `now` is the host's clock, as for
    /// [`TransactionGenerator::generate`].
    pub fn validator_for<R: CryptoRngCore + ?Sized>(
        &self,
        ti: &InitialTransaction,
        now: UnixMillis,
        rng: &mut R,
    ) -> TransactionValidator {
        match self.generator.generate(&self.templates, ti, now, rng) {
            Ok(tc) => TransactionValidator::new(&tc, self.config),
            Err(GenerateError::Rejected(violations)) => {
                TransactionValidator::rejected(ti, &violations)
            }
            Err(e) => TransactionValidator::failed(
                ti,
                InvalidReason::Generation {
                    message: e.to_string(),
                },
            ),
        }
    }

    /// Submits a TI and blocks until its ACK: valid (store the record) or
    /// invalid (keep it for audit). Never fails: every failure is an invalid ACK.
    pub fn submit<T, C, R>(
        &self,
        ti: &InitialTransaction,
        transport: &mut T,
        clock: &mut C,
        rng: &mut R,
    ) -> Ack
    where
        T: Transport + ?Sized,
        C: Clock + ?Sized,
        R: CryptoRngCore + ?Sized,
    {
        let mut validator = self.validator_for(ti, clock.now(), rng);
        let acks = run_blocking(&mut validator, transport, clock);
        // A single-record validator yields exactly one ACK.
        acks.into_iter().next().unwrap_or_else(|| Ack {
            ti_id: ti.ti_id,
            template_id: ti.template_id,
            record_hash: None,
            envelope: None,
            status: crate::validator::AckStatus::Invalid {
                reason: InvalidReason::Generation {
                    message: "internal error: no ACK was produced".to_owned(),
                },
                tx_hashes: validator.tx_hashes().to_vec(),
            },
        })
    }
}
