//! A signed record statement as a verifier receives it (untrusted): the
//! statement's JSON and the author's signature bytes.
//!
//! Parsing must return a statement or an error, never panic; a signature is
//! checked for its form and then recovered under two domains: the result is
//! `Ok` only when the recovered signer is the statement's author, and every
//! error has a code and a message.
#![no_main]

use ehrchain_core::authorship::{RecordSignature, RecordStatement, SigningDomain};
use ehrchain_core::Address;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first 65 bytes (or fewer) are the signature, the rest the JSON.
    let (signature, json) = data.split_at(data.len().min(65));
    let statement = serde_json::from_slice::<RecordStatement>(json).ok();
    let signature = match RecordSignature::from_slice(signature) {
        Ok(signature) => signature,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            let _ = e.code();
            return;
        }
    };
    let statement = statement.unwrap_or(RecordStatement {
        tiId: Default::default(),
        templateId: Default::default(),
        recordHash: Default::default(),
        subject: Default::default(),
        role: Default::default(),
        author: Address::ZERO,
        timestamp: 0,
    });
    for domain in [
        SigningDomain { chain_id: 1337, registry: Address::repeat_byte(0x42) },
        SigningDomain { chain_id: u64::MAX, registry: Address::ZERO },
    ] {
        let _ = statement.typed_data(&domain);
        match statement.verify(&domain, &signature) {
            Ok(()) => assert_eq!(statement.signer(&domain, &signature), Ok(statement.author)),
            Err(e) => {
                assert!(!e.to_string().is_empty());
                let _ = e.code();
            }
        }
    }
});
