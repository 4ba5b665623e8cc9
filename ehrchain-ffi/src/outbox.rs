//! The validator's write-ahead outbox entry: store it when
//! `EHR_TRANSMIT_PERSIST` asks, read it back after a restart to resume the
//! same TC (`ehrchain_core::outbox`).

use std::ffi::c_char;

use ehrchain_core::outbox::OutboxError;
use ehrchain_core::{TransactionValidator, UnixMillis};

use crate::ptr::{self, Out, OutArray};
use crate::result::{ehr_result, guard};
use crate::validator::ehr_validator;

/// Writes the key of the validator's outbox entry (the TI id of a single
/// record, the Merkle root of a batch; 32 bytes) to `key_out` and true to
/// `has_key_out`; false (and nothing to `key_out`) for a refused TI, which
/// sends nothing and needs no entry.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_outbox_key(
    validator: *const ehr_validator,
    has_key_out: *mut bool,
    key_out: *mut u8,
) -> ehr_result {
    guard(|| {
        let validator = ptr::handle(validator, "validator")?;
        let has_key = Out::new(has_key_out, "has_key_out")?;
        let out = OutArray::<32>::new(key_out, "key_out")?;
        let key = validator.v.outbox_key();
        if let Some(key) = key {
            out.set(&key.0);
        }
        has_key.set(key.is_some());
        Ok(())
    })
}

/// Writes the validator's outbox entry (format `ehrchain.validator/1`: its
/// whole state, with the sealed records) as NUL-terminated text into `buf`
/// (text-output rules: `ehr_result_message`). Store it where the records may
/// be stored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_to_json(
    validator: *const ehr_validator,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let validator = ptr::handle(validator, "validator")?;
        ptr::write_text(buf, len, out_len, &validator.v.to_json())
    })
}

/// Resumes a validator from its outbox entry (`json`, `json_len` bytes of
/// UTF-8) after a restart: an action handed out but not answered is asked
/// again, and a submission that may have been sent is settled (the registry
/// read) before anything is sent again. `EHR_OUTBOX_ENTRY_INVALID` when the
/// entry is malformed or its records, envelopes and submission disagree.
/// Free it with `ehr_validator_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_from_json(
    json: *const c_char,
    json_len: usize,
    validator_out: *mut *mut ehr_validator,
) -> ehr_result {
    guard(|| {
        let json = ptr::text(json, json_len, "json")?;
        let out = Out::new(validator_out, "validator_out")?;
        out.give(ehr_validator::new(TransactionValidator::from_json(json)?));
        Ok(())
    })
}

/// Hands in the result of `EHR_TRANSMIT_PERSIST` at `now_ms`: `EHR_OK` once
/// the entry is stored durably (the submission follows), or any other code
/// when it could not be stored (nothing is sent; the write is asked for
/// again after the backoff). `EHR_VALIDATOR` when no write was asked for.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_validator_handle_persisted(
    validator: *mut ehr_validator,
    now_ms: u64,
    result: ehr_result,
) -> ehr_result {
    guard(|| {
        let validator = ptr::handle_mut(validator, "validator")?;
        let stored = if result == ehr_result::OK {
            Ok(())
        } else {
            Err(OutboxError(format!(
                "the host's outbox returned {result:?}"
            )))
        };
        validator.v.handle_persisted(UnixMillis(now_ms), stored)?;
        Ok(())
    })
}
