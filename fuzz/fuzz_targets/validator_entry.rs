//! A write-ahead outbox entry read back from the host's storage, which may be
//! damaged or tampered with.
//!
//! `TransactionValidator::from_json` must never panic; an entry it accepts
//! writes back to an entry it accepts again, and the resumed validator can be
//! polled without panicking.
#![no_main]

use ehrchain_core::{TransactionValidator, UnixMillis};
use ehrchain_fuzz::read_text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((_, mut validator)) = read_text(data, TransactionValidator::from_json) else {
        return;
    };
    let again = validator.to_json();
    if let Err(e) = TransactionValidator::from_json(&again) {
        panic!("an accepted entry does not read back: {e}");
    }
    validator.handle_timeout(UnixMillis(u64::MAX / 2));
    let _ = validator.poll_transmit(UnixMillis(u64::MAX / 2));
    let _ = validator.poll_timeout();
    let _ = validator.state();
});
