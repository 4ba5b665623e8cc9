//! Key capsule bytes from storage or the network (untrusted), then `open`.
//!
//! `KeyCapsule::from_bytes` and `open` (with the fixed recipient keys of both
//! suites, expecting the capsule's own binding) must never panic. A capsule
//! that parses keeps exactly the bytes it was given and is as long as its
//! suite says; one that opens was sealed for the key that opened it.
#![no_main]

use ehrchain_core::capsule::{CapsuleError, KeyCapsule};
use ehrchain_fuzz::capsule_keys;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let capsule = match KeyCapsule::from_bytes(data) {
        Ok(capsule) => capsule,
        Err(e) => {
            let _ = (e.to_string(), e.code());
            return;
        }
    };
    assert_eq!(capsule.as_bytes(), data, "from_bytes changed the bytes");
    let again = KeyCapsule::from_bytes(capsule.as_bytes());
    assert_eq!(
        again.as_ref(),
        Ok(&capsule),
        "a parsed capsule does not parse again"
    );
    for key in capsule_keys() {
        match capsule.open(capsule.binding(), &key) {
            Ok(_) => assert_eq!(
                capsule.recipient_key_id(),
                key.public_key().key_id(),
                "a capsule opened with a key it does not name"
            ),
            Err(CapsuleError::WrongKey { .. } | CapsuleError::Tampered) => {}
            Err(e) => panic!("open with the capsule's own binding failed otherwise: {e}"),
        }
    }
});
