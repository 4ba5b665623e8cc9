//! Proof bytes, text (a scanned QR code) or JSON from an untrusted holder:
//! version 1 (`InclusionProof`) and version 2 (`SignedRecordProof`, a signed
//! record's proof).
//!
//! `from_bytes`, `from_text` and `from_json` of both must never panic. A
//! proof that decodes re-encodes to the same bytes (binary form), decodes
//! back equal from its text and JSON forms, and `verify` never panics on it.
#![no_main]

use ehrchain_core::InclusionProof;
use ehrchain_core::authorship::SignedRecordProof;
use ehrchain_fuzz::accepted;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check(InclusionProof::from_bytes(data), Some(data));
    check_signed(SignedRecordProof::from_bytes(data), Some(data));
    if let Ok(text) = std::str::from_utf8(data) {
        check(InclusionProof::from_text(text), None);
        check(InclusionProof::from_json(text), None);
        check_signed(SignedRecordProof::from_text(text), None);
        check_signed(SignedRecordProof::from_json(text), None);
    }
});

fn check(decoded: Result<InclusionProof, ehrchain_core::batch::ProofError>, bytes: Option<&[u8]>) {
    let Some(proof) = accepted(decoded) else {
        return;
    };
    if let Some(bytes) = bytes {
        assert_eq!(proof.to_bytes(), bytes, "binary form does not round-trip");
    }
    assert_eq!(
        InclusionProof::from_text(&proof.to_text()).ok(),
        Some(proof.clone())
    );
    assert_eq!(
        InclusionProof::from_json(&proof.to_json()).ok(),
        Some(proof.clone())
    );
    if let Err(e) = proof.verify() {
        let _ = e.to_string();
    }
}

fn check_signed(
    decoded: Result<SignedRecordProof, ehrchain_core::authorship::SignedProofError>,
    bytes: Option<&[u8]>,
) {
    let proof = match decoded {
        Ok(proof) => proof,
        Err(e) => {
            let _ = (e.to_string(), e.code());
            return;
        }
    };
    if let Some(bytes) = bytes {
        assert_eq!(proof.to_bytes(), bytes, "binary form does not round-trip");
    }
    assert_eq!(
        SignedRecordProof::from_text(&proof.to_text()).ok(),
        Some(proof.clone())
    );
    assert_eq!(
        SignedRecordProof::from_json(&proof.to_json()).ok(),
        Some(proof.clone())
    );
    if let Err(e) = proof.verify() {
        let _ = e.to_string();
    }
}
