//! The C entry points with arbitrary bytes, as a C host would pass them: the
//! first byte picks the entry point and the output buffer size, the rest is
//! the input (not necessarily UTF-8). Template JSON, TI JSON then generation,
//! proof decoding (binary, QR text, JSON) then verification (also against
//! the input as an anchored batch's JSON) and re-encoding, envelope opening
//! and reading its clear header, revert data decoding, a consent
//! statement's digest, ACK JSON, sharing's reads JSON (as `eth_call`
//! requests) and `eth_getLogs` results (as an accounting).
//!
//! No call may panic across the boundary (`EHR_PANIC`) or crash; a failing
//! call leaves its outputs untouched; a text output that fits is
//! NUL-terminated at its reported length.
#![no_main]
#![allow(unsafe_code)]

use std::ffi::c_char;
use std::ptr::null_mut;

use ehrchain_core::ErrorCode;
use ehrchain_ffi::*;
use ehrchain_fuzz::{NOW, PSEUDONYM_KEY, PSEUDONYM_KEY_ID, SEALING_KEY, SEALING_KEY_ID};
use libfuzzer_sys::fuzz_target;

/// The handles every input runs against, made once per thread.
struct Host {
    templates: *mut ehr_templates,
    keys: *mut ehr_key_store,
    hs: *mut ehr_handshaker,
}

thread_local! {
    static HOST: Host = host();
}

fn ok(rc: ehr_result, what: &str) {
    assert_eq!(rc, ehr_result::OK, "{what}");
}

fn host() -> Host {
    let (mut templates, mut keys, mut hs) = (null_mut(), null_mut(), null_mut());
    // SAFETY: every pointer is valid for its stated length; the handles live
    // for the whole fuzzing run.
    unsafe {
        ok(ehr_templates_new_builtin(&raw mut templates), "templates");
        ok(ehr_key_store_new(&raw mut keys), "key store");
        for (id, key) in [
            (SEALING_KEY_ID, SEALING_KEY),
            (PSEUDONYM_KEY_ID, PSEUDONYM_KEY),
        ] {
            ok(
                ehr_key_store_insert(keys, id.as_ptr().cast(), id.len(), key.as_ptr()),
                "key",
            );
        }
        let (mut builder, mut config) = (null_mut(), null_mut());
        ok(
            ehr_handshaker_config_builder_new(
                1337,
                [0u8; 20].as_ptr(),
                SEALING_KEY_ID.as_ptr().cast(),
                SEALING_KEY_ID.len(),
                PSEUDONYM_KEY_ID.as_ptr().cast(),
                PSEUDONYM_KEY_ID.len(),
                &raw mut builder,
            ),
            "config builder",
        );
        ok(
            ehr_handshaker_config_builder_build(builder, &raw mut config),
            "config",
        );
        ok(
            ehr_handshaker_new(templates, keys, config, &raw mut hs),
            "handshaker",
        );
        ehr_handshaker_config_free(config);
        ehr_handshaker_config_builder_free(builder);
        ok(ehr_handshaker_set_seed(hs, [7u8; 32].as_ptr()), "seed");
    }
    Host {
        templates,
        keys,
        hs,
    }
}

/// Checks a call's result: never a panic; on success a text output is
/// NUL-terminated at its length; on failure the buffer is untouched.
fn check_text(rc: ehr_result, buf: &[u8], len: usize) {
    assert_ne!(rc, ErrorCode::Panic, "a panic crossed the C boundary");
    if rc == ehr_result::OK {
        assert_eq!(buf.get(len), Some(&0), "text output not NUL-terminated");
    } else {
        assert!(
            buf.iter().all(|&b| b == 0xA5),
            "a failing call wrote its buffer"
        );
    }
}

fn no_panic(rc: ehr_result) {
    assert_ne!(rc, ErrorCode::Panic, "a panic crossed the C boundary");
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    // 0, 16, 32, ..., 4080 bytes of output room: too small, exact and ample.
    let mut buf = vec![0xA5u8; usize::from(selector & 0xF8) * 16];
    let mut n = 0usize;
    let text: *const c_char = input.as_ptr().cast();
    HOST.with(|host| {
        // SAFETY: `input` and `buf` are valid for their lengths, the handles
        // are live, every out slot is a local.
        unsafe {
            match selector % 6 {
                0 => {
                    let mut id = [0xA5u8; 32];
                    let rc =
                        ehr_templates_add_json(host.templates, text, input.len(), id.as_mut_ptr());
                    no_panic(rc);
                    if rc != ehr_result::OK {
                        assert_eq!(id, [0xA5; 32], "a failing call wrote its output");
                    } else {
                        let rc = ehr_templates_json(
                            host.templates,
                            id.as_ptr(),
                            buf.as_mut_ptr().cast(),
                            buf.len(),
                            &raw mut n,
                        );
                        check_text(rc, &buf, n);
                    }
                }
                1 => {
                    let mut ti = null_mut();
                    let rc = ehr_ti_from_json(text, input.len(), &raw mut ti);
                    no_panic(rc);
                    if rc != ehr_result::OK {
                        assert!(ti.is_null());
                        return;
                    }
                    let mut tc = null_mut();
                    let rc = ehr_handshaker_generate(host.hs, ti, NOW.as_millis(), &raw mut tc);
                    no_panic(rc);
                    if rc == ehr_result::OK {
                        let rc = ehr_tc_envelope(tc, buf.as_mut_ptr(), buf.len(), &raw mut n);
                        no_panic(rc);
                        if rc == ehr_result::OK {
                            let mut plain = vec![0u8; 1 << 16];
                            let rc = ehr_envelope_open(
                                host.keys,
                                buf.as_ptr(),
                                n,
                                plain.as_mut_ptr(),
                                plain.len(),
                                &raw mut n,
                            );
                            assert_eq!(rc, ehr_result::OK, "a generated envelope does not open");
                        }
                        ehr_tc_free(tc);
                    } else {
                        assert!(tc.is_null());
                        let rc =
                            ehr_last_violations(buf.as_mut_ptr().cast(), buf.len(), &raw mut n);
                        no_panic(rc);
                    }
                    ehr_ti_free(ti);
                }
                2..=4 => {
                    let mut proof = null_mut();
                    let rc = match selector % 6 {
                        2 => ehr_proof_from_bytes(input.as_ptr(), input.len(), &raw mut proof),
                        3 => ehr_proof_from_text(text, input.len(), &raw mut proof),
                        _ => ehr_proof_from_json(text, input.len(), &raw mut proof),
                    };
                    no_panic(rc);
                    if rc != ehr_result::OK {
                        assert!(proof.is_null());
                        return;
                    }
                    let single = ehr_proof_verify(proof);
                    no_panic(single);
                    // The input again, as the batch a host read (JSON).
                    no_panic(ehr_proof_verify_anchored(proof, text, input.len()));
                    let pair = [proof.cast_const(), proof.cast_const()];
                    let mut codes = [ehr_result::from(ErrorCode::Internal); 2];
                    let rc = ehr_proof_verify_many(pair.as_ptr(), 2, codes.as_mut_ptr());
                    assert_eq!((rc, codes), (single, [single; 2]), "verify_many differs");
                    let rc =
                        ehr_proof_to_text(proof, buf.as_mut_ptr().cast(), buf.len(), &raw mut n);
                    check_text(rc, &buf, n);
                    let mut bytes = vec![0u8; 2048];
                    ok(
                        ehr_proof_to_bytes(proof, bytes.as_mut_ptr(), bytes.len(), &raw mut n),
                        "re-encode",
                    );
                    let mut again = null_mut();
                    ok(
                        ehr_proof_from_bytes(bytes.as_ptr(), n, &raw mut again),
                        "decode again",
                    );
                    ehr_proof_free(again);
                    ehr_proof_free(proof);
                }
                _ => {
                    // Bits 3 and 4 pick one of four, keeping the seeds'
                    // selectors: 0xF5 an envelope, 0xEF an ACK.
                    let rc = match (selector >> 3) & 3 {
                        0 => {
                            let rc = ehr_chain_reads_requests(
                                text,
                                input.len(),
                                10,
                                1,
                                buf.as_mut_ptr().cast(),
                                buf.len(),
                                &raw mut n,
                            );
                            check_text(rc, &buf, n);
                            rc
                        }
                        3 => {
                            let rc = ehr_accounting(
                                [0xC0; 20].as_ptr(),
                                [0x5A; 32].as_ptr(),
                                text,
                                input.len(),
                                buf.as_mut_ptr().cast(),
                                buf.len(),
                                &raw mut n,
                            );
                            check_text(rc, &buf, n);
                            rc
                        }
                        2 => {
                            let mut hash = [0xA5u8; 32];
                            no_panic(ehr_envelope_record_hash(
                                input.as_ptr(),
                                input.len(),
                                hash.as_mut_ptr(),
                            ));
                            let mut info = vec![0xA5u8; buf.len()];
                            let rc = ehr_envelope_info(
                                input.as_ptr(),
                                input.len(),
                                info.as_mut_ptr().cast(),
                                info.len(),
                                &raw mut n,
                            );
                            check_text(rc, &info, n);
                            let mut revert = vec![0xA5u8; buf.len()];
                            let rc = ehr_decode_revert(
                                input.as_ptr(),
                                input.len(),
                                revert.as_mut_ptr().cast(),
                                revert.len(),
                                &raw mut n,
                            );
                            check_text(rc, &revert, n);
                            // The input as a patient's consent statement.
                            let context = ehr_sharing_context {
                                chain_id: 1337,
                                registry: [0xEE; 20],
                                consent: [0xC0; 20],
                                ..ehr_sharing_context::default()
                            };
                            let mut digest = [0xA5u8; 32];
                            let rc = ehr_consent_signing_digest(
                                &raw const context,
                                text,
                                input.len(),
                                digest.as_mut_ptr(),
                            );
                            no_panic(rc);
                            if rc != ehr_result::OK {
                                assert_eq!(digest, [0xA5; 32], "a failing call wrote its output");
                            }
                            ehr_envelope_open(
                                host.keys,
                                input.as_ptr(),
                                input.len(),
                                buf.as_mut_ptr(),
                                buf.len(),
                                &raw mut n,
                            )
                        }
                        _ => {
                            let mut ack = null_mut();
                            let rc = ehr_ack_from_json(text, input.len(), &raw mut ack);
                            if rc == ehr_result::OK {
                                let rc = ehr_ack_to_json(
                                    ack,
                                    buf.as_mut_ptr().cast(),
                                    buf.len(),
                                    &raw mut n,
                                );
                                check_text(rc, &buf, n);
                                let mut summary = ehr_ack_summary::default();
                                ok(ehr_ack_to_summary(ack, &raw mut summary), "summary");
                                ehr_ack_free(ack);
                            }
                            rc
                        }
                    };
                    no_panic(rc);
                }
            }
        }
    });
});
