//! The C ABI reports the same error code as the Rust core (and the npm
//! package) for every invalid vector of docs/vectors: each envelope opened
//! through `ehr_envelope_open`, each proof read through `ehr_proof_from_*`
//! and checked with `ehr_proof_verify`, each key capsule read through
//! `ehr_capsule_from_bytes` and opened with `ehr_capsule_open` (the valid
//! ones also with `ehr_capsule_open_envelope`). The vectors' `code` is what the core
//! gives (`ehrchain-core/tests/*_vectors.rs` check that).
#![allow(
    missing_docs,
    unsafe_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::ffi::c_char;
use std::ptr::null_mut;

use common::{ok, text_out};

use ehrchain_core::Envelope;
use ehrchain_ffi::*;
use serde_json::Value;

fn vectors(name: &str) -> Value {
    let path = format!("{}/../docs/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    alloy_primitives::hex::decode(s).unwrap()
}

/// The finer cause of the calling thread's last failure.
fn last_reason() -> String {
    let mut buf = [0u8; 64];
    let mut n = 0usize;
    // SAFETY: `buf` and `n` are ours, for their sizes.
    let rc = unsafe { ehr_last_error_reason(buf.as_mut_ptr().cast(), buf.len(), &raw mut n) };
    assert_eq!(rc, ehr_result::OK);
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// A failure's code, kind and reason as C reports them, against a vector's
/// (JavaScript's `e.code`, `e.kind`, `e.reason`).
fn assert_failure(rc: ehr_result, v: &Value, kind: &str) {
    assert_eq!(name(rc), v["code"].as_str().unwrap(), "{}", v["name"]);
    assert_eq!(last_reason(), v["error"].as_str().unwrap(), "{}", v["name"]);
    let mut buf = [0u8; 32];
    let mut n = 0usize;
    // SAFETY: `buf` and `n` are ours, for their sizes.
    let ok = unsafe { ehr_result_kind(rc.0, buf.as_mut_ptr().cast(), buf.len(), &raw mut n) };
    assert_eq!(ok, ehr_result::OK);
    assert_eq!(&buf[..n], kind.as_bytes(), "{}", v["name"]);
    assert!(!ehr_result_is_retryable(rc.0), "{}", v["name"]);
}

/// The name of a code the C ABI returned.
fn name(rc: ehr_result) -> String {
    rc.error_code()
        .map_or_else(|| format!("{rc:?}"), |c| c.name().to_owned())
}

#[test]
fn every_invalid_envelope_gives_the_cores_code_in_c() {
    let file = vectors("envelope.json");
    let invalid = file["invalid"].as_array().unwrap();
    assert!(invalid.len() > 20);
    for v in invalid {
        let bytes = unhex(v["envelope"].as_str().unwrap());
        let key = unhex(v["key"].as_str().unwrap());
        let mut keys = null_mut();
        // SAFETY: valid out-pointer; the key is 32 readable bytes; the key id
        // is the envelope's own, when its header can be read at all.
        unsafe {
            assert_eq!(ehr_key_store_new(&raw mut keys), ehr_result::OK);
            if let Ok(envelope) = Envelope::from_bytes(bytes.clone()) {
                let id = envelope.binding().key_id.as_str().to_owned();
                let rc = ehr_key_store_insert(keys, id.as_ptr().cast(), id.len(), key.as_ptr());
                assert_eq!(rc, ehr_result::OK, "{}", v["name"]);
            }
        }
        let mut buf = vec![0u8; bytes.len() + 1];
        let mut n = 0usize;
        // SAFETY: `bytes` and `buf` are ours, `keys` is a live store.
        let rc = unsafe {
            ehr_envelope_open(
                keys,
                bytes.as_ptr(),
                bytes.len(),
                buf.as_mut_ptr(),
                buf.len(),
                &raw mut n,
            )
        };
        // SAFETY: `keys` is live and freed once.
        unsafe { ehr_key_store_free(keys) };
        assert_failure(rc, v, "envelope");
    }
}

#[test]
fn every_invalid_proof_gives_the_cores_code_in_c() {
    let file = vectors("proofs.json");
    let mut checked = 0;
    for v in file["invalid"].as_array().unwrap() {
        let mut proof = null_mut();
        // SAFETY: each input is our own buffer with its length; `proof` is a
        // valid out-pointer.
        let mut rc = unsafe {
            if let Some(binary) = v["binary"].as_str() {
                let bytes = unhex(binary);
                ehr_proof_from_bytes(bytes.as_ptr(), bytes.len(), &raw mut proof)
            } else if let Some(text) = v["text"].as_str() {
                ehr_proof_from_text(text.as_ptr().cast::<c_char>(), text.len(), &raw mut proof)
            } else {
                let json = v["json"].as_str().unwrap();
                ehr_proof_from_json(json.as_ptr().cast::<c_char>(), json.len(), &raw mut proof)
            }
        };
        if rc == ehr_result::OK {
            // Checked on its own, or against the batch a chain holds.
            let anchored = v.get("anchored").map(Value::to_string);
            // SAFETY: `proof` is live and freed once; the JSON is ours.
            rc = unsafe {
                match &anchored {
                    None => ehr_proof_verify(proof),
                    Some(json) => {
                        ehr_proof_verify_anchored(proof, json.as_ptr().cast(), json.len())
                    }
                }
            };
            unsafe { ehr_proof_free(proof) };
        }
        if v["error"] == "none" {
            assert_eq!(rc, ehr_result::OK, "{}", v["name"]);
        } else {
            assert_failure(rc, v, "batch");
        }
        checked += 1;
    }
    assert!(checked > 50, "{checked} proof vectors checked");
}

/// Every signed record's proof of docs/vectors/signed_proofs.json through
/// the C ABI: the valid ones verify against their anchor and role history
/// (as JSON, what a C host passes), the invalid ones give the core's code.
#[test]
fn every_signed_proof_vector_gives_the_cores_result_in_c() {
    let file = vectors("signed_proofs.json");
    let anchor = file["anchor"].to_string();
    let roles = file["roles"].to_string();
    let check = |bytes: &[u8], text: Option<&str>| -> ehr_result {
        let mut proof = null_mut();
        // SAFETY: each input is our own buffer with its length; `proof` is a
        // valid out-pointer, live until freed once.
        unsafe {
            let mut rc = match text {
                Some(t) => {
                    ehr_signed_proof_from_text(t.as_ptr().cast::<c_char>(), t.len(), &raw mut proof)
                }
                None => ehr_signed_proof_from_bytes(bytes.as_ptr(), bytes.len(), &raw mut proof),
            };
            if rc == ehr_result::OK {
                rc = ehr_signed_proof_verify_anchored(
                    proof,
                    anchor.as_ptr().cast::<c_char>(),
                    anchor.len(),
                    roles.as_ptr().cast::<c_char>(),
                    roles.len(),
                );
                ehr_signed_proof_free(proof);
            }
            rc
        }
    };
    for v in file["valid"].as_array().unwrap() {
        let binary = unhex(v["binary"].as_str().unwrap());
        assert_eq!(check(&binary, None), ehr_result::OK);
        assert_eq!(check(&[], v["text"].as_str()), ehr_result::OK);
        // Its three forms through C: bytes → JSON → proof → bytes and text
        // give the vector's own.
        let (mut proof, mut again) = (null_mut(), null_mut());
        // SAFETY: each input is our own buffer with its length; the proofs
        // are live until freed once.
        unsafe {
            ok(ehr_signed_proof_from_bytes(
                binary.as_ptr(),
                binary.len(),
                &raw mut proof,
            ));
            let json = text_out(|b, l, n| ehr_signed_proof_to_json(proof, b, l, n));
            ok(ehr_signed_proof_from_json(
                json.as_ptr().cast(),
                json.len(),
                &raw mut again,
            ));
            let mut bytes = vec![0u8; binary.len()];
            let mut n = 0usize;
            ok(ehr_signed_proof_to_bytes(
                again,
                bytes.as_mut_ptr(),
                bytes.len(),
                &raw mut n,
            ));
            assert_eq!(bytes.get(..n), Some(binary.as_slice()), "{}", v["name"]);
            let text = text_out(|b, l, n| ehr_signed_proof_to_text(again, b, l, n));
            assert_eq!(Some(text.as_str()), v["text"].as_str(), "{}", v["name"]);
            ehr_signed_proof_free(again);
            ehr_signed_proof_free(proof);
        }
    }
    let invalid = file["invalid"].as_array().unwrap();
    for v in invalid {
        let rc = check(&unhex(v["binary"].as_str().unwrap()), None);
        assert_eq!(name(rc), v["code"].as_str().unwrap(), "{}", v["name"]);
    }
    assert_eq!(invalid.len(), 9);
    // A role history that is not JSON is a code too.
    let text = file["valid"][0]["text"].as_str().unwrap();
    let mut proof = null_mut();
    // SAFETY: as above.
    unsafe {
        assert_eq!(
            ehr_signed_proof_from_text(text.as_ptr().cast::<c_char>(), text.len(), &raw mut proof),
            ehr_result::OK
        );
        assert_eq!(ehr_signed_proof_verify(proof), ehr_result::OK);
        let rc = ehr_signed_proof_verify_anchored(
            proof,
            anchor.as_ptr().cast::<c_char>(),
            anchor.len(),
            "{}".as_ptr().cast::<c_char>(),
            2,
        );
        assert_eq!(name(rc), "EHR_INVALID_JSON");
        ehr_signed_proof_free(proof);
    }
}

/// The C binding of a vector's binding (its JSON form).
fn capsule_binding(json: &Value) -> ehr_capsule_binding {
    let b: ehrchain_core::capsule::CapsuleBinding = serde_json::from_value(json.clone()).unwrap();
    let (authority, grant) = match b.authority {
        ehrchain_core::capsule::Authority::Grant(id) => (0, id.0),
        ehrchain_core::capsule::Authority::Emergency => (1, [0; 32]),
    };
    ehr_capsule_binding {
        struct_size: size_of::<ehr_capsule_binding>(),
        chain_id: b.chain_id,
        registry: b.registry.0.0,
        record_hash: b.record_hash.0,
        recipient: b.recipient.0.0,
        authority,
        grant_id: grant,
    }
}

/// The C suite of a vector's suite name.
fn capsule_suite(name: &str) -> u32 {
    match name {
        "x_wing" => ehr_capsule_suite::EHR_CAPSULE_SUITE_X_WING as u32,
        "x25519" => ehr_capsule_suite::EHR_CAPSULE_SUITE_X25519 as u32,
        other => panic!("unknown suite {other}"),
    }
}

/// Reads the vector capsule `capsule` with `ehr_capsule_from_bytes` and
/// runs `open` on it with the recipient's `private_key` of `suite` in an
/// in-memory store: `open`'s code, or the reading's.
fn with_capsule(
    suite: u32,
    private_key: &[u8],
    capsule: &[u8],
    open: impl FnOnce(*const ehr_capsule, *const ehr_key_store) -> ehr_result,
) -> ehr_result {
    let (mut keys, mut handle) = (null_mut(), null_mut());
    // SAFETY: every pointer is our own buffer with its length or a valid
    // out-pointer; the handles are freed once.
    unsafe {
        assert_eq!(ehr_key_store_new(&raw mut keys), ehr_result::OK);
        let rc = ehr_key_store_insert_recipient_key(keys, suite, private_key.as_ptr());
        assert_eq!(rc, ehr_result::OK);
        let mut rc = ehr_capsule_from_bytes(capsule.as_ptr(), capsule.len(), &raw mut handle);
        if rc == ehr_result::OK {
            rc = open(handle, keys);
        }
        ehr_capsule_free(handle);
        ehr_key_store_free(keys);
        rc
    }
}

/// Every key capsule of docs/vectors/capsule.json through the C ABI: the
/// recipient's public key and key id from its private key, the valid
/// capsules open to their records, the invalid ones give the core's code.
#[test]
fn every_capsule_vector_gives_the_cores_result_in_c() {
    let file = vectors("capsule.json");
    let valid = file["valid"].as_array().unwrap();
    for v in valid {
        let suite = capsule_suite(v["suite"].as_str().unwrap());
        let private_key = unhex(v["recipientPrivateKey"].as_str().unwrap());
        let public_key = unhex(v["recipientPublicKey"].as_str().unwrap());
        let (mut public, mut n, mut key_id) = (vec![0u8; 1216], 0usize, [0u8; 32]);
        // SAFETY: our own buffers with their lengths.
        unsafe {
            let rc = ehr_recipient_public_key(
                suite,
                private_key.as_ptr(),
                public.as_mut_ptr(),
                public.len(),
                &raw mut n,
            );
            assert_eq!(rc, ehr_result::OK);
            let rc = ehr_recipient_key_id(suite, public.as_ptr(), n, key_id.as_mut_ptr());
            assert_eq!(rc, ehr_result::OK);
        }
        assert_eq!(&public[..n], public_key.as_slice(), "{}", v["name"]);
        assert_eq!(
            key_id.to_vec(),
            unhex(v["recipientKeyId"].as_str().unwrap()),
            "{}",
            v["name"]
        );
        let binding = capsule_binding(&v["binding"]);
        let envelope = unhex(v["envelope"].as_str().unwrap());
        let (mut record_key, mut record, mut n) = ([0u8; 32], vec![0u8; envelope.len()], 0);
        let capsule = unhex(v["capsule"].as_str().unwrap());
        let rc = with_capsule(suite, &private_key, &capsule, |c, keys| {
            // SAFETY: live handles; our own buffers with their lengths.
            unsafe {
                let rc = ehr_capsule_open(c, keys, &raw const binding, record_key.as_mut_ptr());
                assert_eq!(rc, ehr_result::OK);
                ehr_capsule_open_envelope(
                    c,
                    keys,
                    &raw const binding,
                    envelope.as_ptr(),
                    envelope.len(),
                    record.as_mut_ptr(),
                    record.len(),
                    &raw mut n,
                )
            }
        });
        assert_eq!(rc, ehr_result::OK, "{}", v["name"]);
        assert_eq!(record_key.to_vec(), unhex(v["recordKey"].as_str().unwrap()));
        let plaintext = v["plaintextUtf8"].as_str().unwrap().as_bytes();
        assert_eq!(&record[..n], plaintext, "{}", v["name"]);
    }
    assert_eq!(valid.len(), 4);
    let invalid = file["invalid"].as_array().unwrap();
    for v in invalid {
        let expected = capsule_binding(&v["expectedBinding"]);
        let rc = with_capsule(
            capsule_suite(v["suite"].as_str().unwrap()),
            &unhex(v["recipientPrivateKey"].as_str().unwrap()),
            &unhex(v["capsule"].as_str().unwrap()),
            |c, keys| {
                let mut record_key = [0u8; 32];
                // SAFETY: live handles; our own buffers.
                unsafe { ehr_capsule_open(c, keys, &raw const expected, record_key.as_mut_ptr()) }
            },
        );
        assert_eq!(name(rc), v["code"].as_str().unwrap(), "{}", v["name"]);
    }
    assert_eq!(invalid.len(), 17);
}
