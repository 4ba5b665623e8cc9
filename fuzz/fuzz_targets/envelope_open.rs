//! Envelope bytes from storage or the network (untrusted), then `open_with`.
//!
//! `Envelope::from_bytes` and `open_with` (with a fixed master key) must never
//! panic. An envelope that parses keeps exactly the bytes it was given, which
//! its header and ciphertext-and-tag parts add up to; one that opens re-seals,
//! from its binding, nonce and plaintext, to the same bytes.
#![no_main]

use ehrchain_core::Envelope;
use ehrchain_fuzz::{accepted, key_store, sealing_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(envelope) = accepted(Envelope::from_bytes(data.to_vec())) else {
        return;
    };
    assert_eq!(envelope.as_bytes(), data, "from_bytes changed the bytes");
    assert_eq!(
        [envelope.header(), envelope.ciphertext_and_tag()].concat(),
        data,
        "header and ciphertext_and_tag do not add up to the envelope"
    );
    let _ = envelope.record_hash();
    let _ = envelope.cid();
    // Through the key store too: the header's key id may name no key.
    if let Err(e) = envelope.open(&key_store()) {
        let _ = e.to_string();
    }

    let key = sealing_key();
    let Some(plaintext) = accepted(envelope.open_with(&key)) else {
        return;
    };
    match Envelope::seal(envelope.binding(), &key, envelope.nonce(), &plaintext) {
        Ok(resealed) => assert_eq!(
            resealed.as_bytes(),
            data,
            "an opened envelope does not re-seal to the same bytes"
        ),
        Err(e) => panic!("an opened plaintext does not re-seal: {e}"),
    }
});
