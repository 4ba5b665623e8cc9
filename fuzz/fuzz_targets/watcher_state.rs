//! An anchor watcher's state read back from the host's storage, which may be
//! damaged or tampered with.
//!
//! `AnchorWatcher::from_json` must never panic; a state it accepts writes
//! back to a state it accepts again, and the resumed watcher can be polled
//! and fed results without panicking.
#![no_main]

use ehrchain_core::watcher::AnchorWatcher;
use ehrchain_core::{SubmissionStatus, TransportError, UnixMillis};
use ehrchain_fuzz::stored_state;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(mut watcher) = stored_state(data, AnchorWatcher::from_json, AnchorWatcher::to_json)
    else {
        return;
    };
    let now = UnixMillis(u64::MAX / 2);
    for _ in 0..4 {
        let _ = watcher.poll_transmit(now);
        let _ = watcher.handle_head(now, Ok(u64::MAX));
        let _ = watcher.handle_receipt(now, Ok(SubmissionStatus::Dropped));
        let _ = watcher.handle_record(now, Ok(None));
        let _ = watcher.handle_batch(now, Err(TransportError::Malformed(String::new())));
    }
    let _ = watcher.poll_timeout();
    while watcher.poll_event().is_some() {}
});
