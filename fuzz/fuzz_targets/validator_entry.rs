//! A write-ahead outbox entry read back from the host's storage, which may be
//! damaged or tampered with.
//!
//! `TransactionValidator::from_json` must never panic; an entry it accepts
//! writes back to an entry it accepts again, and the resumed validator can be
//! polled without panicking.
#![no_main]

use ehrchain_core::{TransactionValidator, UnixMillis};
use ehrchain_fuzz::stored_state;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(mut validator) = stored_state(
        data,
        TransactionValidator::from_json,
        TransactionValidator::to_json,
    ) else {
        return;
    };
    validator.handle_timeout(UnixMillis(u64::MAX / 2));
    let _ = validator.poll_transmit(UnixMillis(u64::MAX / 2));
    let _ = validator.poll_timeout();
    let _ = validator.state();
});
