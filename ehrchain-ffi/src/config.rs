//! `ehr_validator_config` and `ehr_handshaker_config`: opaque, immutable
//! settings made by builders, so that settings can be added without breaking
//! the ABI. The defaults are the core's (`ValidatorConfig::default`,
//! `GeneratorConfig::new`); the builders only change what the host sets.

use std::ffi::c_char;

use ehrchain_core::{ErrorCode, Finality, FinalityTag, GeneratorConfig, ValidatorConfig};

use crate::ptr::{self, Out};
use crate::result::{Error, Result, ehr_result, guard};
use crate::shapes::{free, guard_on_mut, handle_of, made};

/// How patient the Transaction Validator is: made by
/// `ehr_validator_config_builder_build`.
///
/// Thread safety: immutable; may be used from several threads at once.
pub struct ehr_validator_config {
    pub(crate) config: ValidatorConfig,
}

/// Collects validator settings. Starts from the defaults: 3 confirmations,
/// 5 retries backing off from 0.5 s to 30 s, a poll every second, 2 minutes
/// to be mined, 3 resubmissions.
///
/// Thread safety: may be used from any thread, not from two at once.
pub struct ehr_validator_config_builder {
    config: ValidatorConfig,
}

/// Makes a validator configuration builder holding the defaults. Free it
/// with `ehr_validator_config_builder_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_config_builder_new(
    builder_out: *mut *mut ehr_validator_config_builder,
) -> ehr_result {
    made(builder_out, "builder_out", || {
        ehr_validator_config_builder {
            config: ValidatorConfig::default(),
        }
    })
}

/// Changes one setting of a validator configuration builder.
fn set_validator(
    builder: *mut ehr_validator_config_builder,
    change: impl FnOnce(&mut ValidatorConfig),
) -> ehr_result {
    guard(|| {
        change(&mut ptr::handle_mut(builder, "builder")?.config);
        Ok(())
    })
}

/// Sets how many blocks must hold the transaction (its own included) before
/// the verdict is final; 0 counts as 1.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_config_builder_set_confirmations(
    builder: *mut ehr_validator_config_builder,
    confirmations: u64,
) -> ehr_result {
    set_validator(builder, |c| c.confirmations = confirmations)
}

/// How a verdict becomes final (`ehr_validator_config_builder_set_finality`;
/// the watcher's JSON configuration says `"finality": "finalized"`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ehr_finality {
    /// The configured confirmations deep (the default).
    EHR_FINALITY_DEPTH = 0,
    /// At or below the node's `safe` block.
    EHR_FINALITY_SAFE = 1,
    /// At or below the node's `finalized` block.
    EHR_FINALITY_FINALIZED = 2,
}

impl ehr_finality {
    /// The C value of the tag `tag` (`EHR_FINALITY_SAFE`,
    /// `EHR_FINALITY_FINALIZED`).
    pub(crate) fn of_tag(tag: FinalityTag) -> u32 {
        (match tag {
            FinalityTag::Safe => Self::EHR_FINALITY_SAFE,
            FinalityTag::Finalized => Self::EHR_FINALITY_FINALIZED,
        }) as u32
    }

    /// The core's finality for the C value `finality`.
    pub(crate) fn parse(finality: u32) -> Result<Finality> {
        match finality {
            f if f == Self::EHR_FINALITY_DEPTH as u32 => Ok(Finality::Depth),
            f if f == Self::EHR_FINALITY_SAFE as u32 => Ok(Finality::Safe),
            f if f == Self::EHR_FINALITY_FINALIZED as u32 => Ok(Finality::Finalized),
            other => Err(Error::new(
                ErrorCode::InvalidArgument,
                format!(
                    "finality {other} is not an ehr_finality (EHR_FINALITY_DEPTH, EHR_FINALITY_SAFE or EHR_FINALITY_FINALIZED)"
                ),
            )),
        }
    }
}

/// Sets how the verdict becomes final (an `ehr_finality`): the
/// confirmations deep (`EHR_FINALITY_DEPTH`, the default), or at or below
/// the node's `safe` or `finalized` block (read by tag with
/// `EHR_TRANSMIT_READ_BLOCK`; a callback transport needs its `block_at`).
/// By tag, the validator waits for the node's block as long as the host
/// lets it. `EHR_INVALID_ARGUMENT` for another value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_config_builder_set_finality(
    builder: *mut ehr_validator_config_builder,
    finality: u32,
) -> ehr_result {
    guard(|| {
        let finality = ehr_finality::parse(finality)?;
        ptr::handle_mut(builder, "builder")?.config.finality = finality;
        Ok(())
    })
}

/// Sets the wait after the first retryable transport failure
/// (milliseconds); it doubles after each further one, up to the longest wait
/// (`ehr_validator_config_builder_set_backoff_max_ms`). Such failures are
/// retried for as long as the outage lasts (an outage is not a verdict); a
/// blocking call's deadline or cancel token bounds how long the host waits.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_config_builder_set_backoff_initial_ms(
    builder: *mut ehr_validator_config_builder,
    backoff_initial_ms: u64,
) -> ehr_result {
    set_validator(builder, |c| c.backoff_initial_ms = backoff_initial_ms)
}

/// Sets the longest wait between retries (milliseconds).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_config_builder_set_backoff_max_ms(
    builder: *mut ehr_validator_config_builder,
    backoff_max_ms: u64,
) -> ehr_result {
    set_validator(builder, |c| c.backoff_max_ms = backoff_max_ms)
}

/// Sets the wait between two polls of a pending transaction or of the chain
/// head (milliseconds).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_config_builder_set_poll_interval_ms(
    builder: *mut ehr_validator_config_builder,
    poll_interval_ms: u64,
) -> ehr_result {
    set_validator(builder, |c| c.poll_interval_ms = poll_interval_ms)
}

/// Sets how long a submitted transaction may stay pending before it is
/// treated as dropped and sent again (milliseconds).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_config_builder_set_inclusion_timeout_ms(
    builder: *mut ehr_validator_config_builder,
    inclusion_timeout_ms: u64,
) -> ehr_result {
    set_validator(builder, |c| c.inclusion_timeout_ms = inclusion_timeout_ms)
}

/// Sets how many times a dropped, timed-out or reorged-out transaction is
/// sent again before the TI is given up as invalid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_config_builder_set_max_resubmissions(
    builder: *mut ehr_validator_config_builder,
    max_resubmissions: u32,
) -> ehr_result {
    set_validator(builder, |c| c.max_resubmissions = max_resubmissions)
}

/// Makes a validator configuration from the builder's settings. The builder
/// is unchanged and may be built again or freed. Free the configuration with
/// `ehr_validator_config_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_config_builder_build(
    builder: *const ehr_validator_config_builder,
    config_out: *mut *mut ehr_validator_config,
) -> ehr_result {
    handle_of(builder, config_out, "builder", "config_out", |builder| {
        Ok(ehr_validator_config {
            config: builder.config,
        })
    })
}

/// Frees a validator configuration builder; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_config_builder_free(
    builder: *mut ehr_validator_config_builder,
) {
    free(builder);
}

/// Frees a validator configuration; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_config_free(config: *mut ehr_validator_config) {
    free(config);
}

/// The validator configuration at `config`, or the default for NULL.
pub(crate) fn validator_config(config: *const ehr_validator_config) -> Result<ValidatorConfig> {
    if config.is_null() {
        return Ok(ValidatorConfig::default());
    }
    Ok(ptr::handle(config, "config")?.config)
}

/// How a handshaker builds and validates transactions: made by
/// `ehr_handshaker_config_builder_build`.
///
/// Thread safety: immutable; may be used from several threads at once (to
/// make one handshaker per thread, for instance).
pub struct ehr_handshaker_config {
    pub(crate) generator: GeneratorConfig,
    pub(crate) validator: ValidatorConfig,
}

/// Collects handshaker settings.
///
/// Thread safety: may be used from any thread, not from two at once.
pub struct ehr_handshaker_config_builder {
    config: ehr_handshaker_config,
}

/// Makes a handshaker configuration builder for the `EhrRegistry` at the
/// 20-byte `registry` on chain `chain_id` (EIP-155; `ehr_transport_chain`
/// tells a transport's), sealing records under the master key
/// `sealing_key_id` and deriving patient pseudonyms from the master key
/// `pseudonym_key_id` (keep that one stable). The other settings start at
/// their defaults: a clock skew of 300 seconds and the validator defaults
/// (see `ehr_validator_config_builder`). There is no default chain: chain id
/// 0 gives `EHR_INVALID_ARGUMENT`; a malformed key id `EHR_KEY_ID_INVALID`.
/// Free it with `ehr_handshaker_config_builder_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_config_builder_new(
    chain_id: u64,
    registry: *const u8,
    sealing_key_id: *const c_char,
    sealing_key_id_len: usize,
    pseudonym_key_id: *const c_char,
    pseudonym_key_id_len: usize,
    builder_out: *mut *mut ehr_handshaker_config_builder,
) -> ehr_result {
    guard(|| {
        let registry = ptr::address(registry, "registry")?;
        let sealing_key = ehrchain_core::KeyId::new(ptr::text(
            sealing_key_id,
            sealing_key_id_len,
            "sealing_key_id",
        )?)?;
        let pseudonym_key = ehrchain_core::KeyId::new(ptr::text(
            pseudonym_key_id,
            pseudonym_key_id_len,
            "pseudonym_key_id",
        )?)?;
        let out = Out::new(builder_out, "builder_out")?;
        let generator = GeneratorConfig::new(chain_id, registry, sealing_key, pseudonym_key)?;
        out.give(ehr_handshaker_config_builder {
            config: ehr_handshaker_config {
                generator,
                validator: ValidatorConfig::default(),
            },
        });
        Ok(())
    })
}

/// Sets how far a TI's timestamp may lie ahead of the clock, in
/// milliseconds (default 300 000: five minutes).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_config_builder_set_max_clock_skew_ms(
    builder: *mut ehr_handshaker_config_builder,
    max_clock_skew_ms: u64,
) -> ehr_result {
    guard(|| {
        ptr::handle_mut(builder, "builder")?
            .config
            .generator
            .max_clock_skew_ms = max_clock_skew_ms;
        Ok(())
    })
}

/// Sets the validator settings (copied from `validator`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_config_builder_set_validator(
    builder: *mut ehr_handshaker_config_builder,
    validator: *const ehr_validator_config,
) -> ehr_result {
    guard_on_mut(builder, "builder", |builder| {
        builder.config.validator = ptr::handle(validator, "validator")?.config;
        Ok(())
    })
}

/// Makes a handshaker configuration from the builder's settings. The builder
/// is unchanged and may be built again or freed. Free the configuration with
/// `ehr_handshaker_config_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_config_builder_build(
    builder: *const ehr_handshaker_config_builder,
    config_out: *mut *mut ehr_handshaker_config,
) -> ehr_result {
    handle_of(builder, config_out, "builder", "config_out", |builder| {
        Ok(ehr_handshaker_config {
            generator: builder.config.generator.clone(),
            validator: builder.config.validator,
        })
    })
}

/// Frees a handshaker configuration builder; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_config_builder_free(
    builder: *mut ehr_handshaker_config_builder,
) {
    free(builder);
}

/// Frees a handshaker configuration; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_config_free(config: *mut ehr_handshaker_config) {
    free(config);
}
