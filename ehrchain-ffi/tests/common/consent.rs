//! The consent contract's own operations through the C ABI, on any devnet
//! or JSON-RPC transport: `EhrConsent` deployed, a custodian granted its
//! role, the patient bound, the recipient's key published, a grant signed
//! by the patient's key and relayed; then the holder's share check passes.
//! A grant signed by another key is refused (`EHR_DISCLOSURE_REFUSED`,
//! `EhrConsentBadSignature`), and a signed revocation makes the share check
//! refuse (`EHR_CONSENT_REVOKED`). Included with `#[path]` by
//! `tests/sharing.rs` (the devnet) and `tests/rpc_ganache.rs` (a node).
#![allow(dead_code, unreachable_pub)]

use std::ptr::null_mut;

use ehrchain_core::{
    Address, B256, ErrorCode, InitialTransaction, Role, TemplateRegistry, UnixMillis,
};
use ehrchain_ffi::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};

use super::common::{assert_fails, ok, text_out};
use super::test_keys;

/// Who takes part: `admin` deploys `EhrConsent` (and grants the role,
/// through the caller's `grant_role`); `custodian` binds; `relayer` relays.
pub struct Parties {
    pub admin: Address,
    pub custodian: Address,
    pub recipient: Address,
    pub relayer: Address,
}

/// What the flow sets up: the context, the grant id.
pub struct Consented {
    pub context: ehr_sharing_context,
    pub grant_id: B256,
}

/// Sends the consent transaction JSON `tx` from `from` over `t`.
fn send(t: *mut ehr_transport, from: Address, tx: &str) -> Result<B256, ehr_result> {
    let mut hash = [0u8; 32];
    // SAFETY: from holds 20 bytes, tx its length, hash 32 writable bytes.
    let rc = unsafe {
        ehr_transport_send_consent(
            t,
            from.0.0.as_ptr(),
            tx.as_ptr().cast(),
            tx.len(),
            hash.as_mut_ptr(),
        )
    };
    if rc == ehr_result::OK {
        Ok(B256::from(hash))
    } else {
        assert_eq!(hash, [0u8; 32], "no output on failure");
        Err(rc)
    }
}

/// `signer`'s signature of `statement` under `context`, relayed by the
/// relayer.
fn sign_and_relay(
    t: *mut ehr_transport,
    context: &ehr_sharing_context,
    signer: *const ehr_signer,
    statement: &str,
    relayer: Address,
) -> Result<B256, ehr_result> {
    let mut signature = [0u8; 65];
    // SAFETY: every pointer is valid for its stated length.
    unsafe {
        ok(ehr_signer_sign_consent(
            signer,
            context,
            statement.as_ptr().cast(),
            statement.len(),
            signature.as_mut_ptr(),
        ));
    }
    let tx = text_out(|b, l, n| {
        // SAFETY: as above.
        unsafe {
            ehr_consent_relay_transaction(
                context,
                statement.as_ptr().cast(),
                statement.len(),
                signature.as_ptr(),
                65,
                b,
                l,
                n,
            )
        }
    });
    send(t, relayer, &tx)
}

/// The holder's share check of `envelope` for `recipient` under
/// `grant_id`, its reads answered by `answer` (the reads JSON in, the
/// answers JSON out); the share, or the seal's error (and no share).
pub fn share_check(
    context: &ehr_sharing_context,
    envelope: &[u8],
    recipient: Address,
    grant_id: B256,
    public_key: &[u8],
    keys: *const ehr_key_store,
    answer: impl FnOnce(&str) -> String,
) -> Result<*mut ehr_share, ehr_result> {
    let (mut check, mut share) = (null_mut(), null_mut());
    // SAFETY: every pointer is valid for its stated length; the check is
    // freed here.
    unsafe {
        ok(ehr_share_check_new(
            context,
            envelope.as_ptr(),
            envelope.len(),
            recipient.0.0.as_ptr(),
            ehr_capsule_authority::EHR_AUTHORITY_GRANT as u32,
            grant_id.0.as_ptr(),
            &raw mut check,
        ));
        let reads = text_out(|b, l, n| ehr_share_check_reads(check, b, l, n));
        let answers = answer(&reads);
        let rc = ehr_share_check_seal(
            check,
            answers.as_ptr().cast(),
            answers.len(),
            ehr_capsule_suite::EHR_CAPSULE_SUITE_X_WING as u32,
            public_key.as_ptr(),
            public_key.len(),
            keys,
            &raw mut share,
        );
        ehr_share_check_free(check);
        if rc == ehr_result::OK {
            Ok(share)
        } else {
            assert!(share.is_null());
            Err(rc)
        }
    }
}

/// Runs [`consent_flow`] over `t` for a blood-pressure record of the
/// patient `MRN-000123` (TI id `0x71…`, a doctor's), generated at `now`
/// (Unix seconds) for the chain and registry of `t` and sealed under the
/// key `records` = `0x11…`.
pub fn consent_flow_for_a_record(
    t: *mut ehr_transport,
    parties: &Parties,
    grant_role: impl Fn(&str, Address),
    now: u64,
) -> Consented {
    let (mut chain_id, mut registry) = (0u64, [0u8; 20]);
    // SAFETY: t is live; the out pointers are writable.
    ok(unsafe { ehr_transport_chain(t, &raw mut chain_id, registry.as_mut_ptr()) });
    let templates = TemplateRegistry::with_built_ins(Some(ehrchain_contracts::abi())).unwrap();
    let template_id = templates.latest("blood-pressure").unwrap().id();
    let tg = test_keys::test_generator("records", chain_id, Address::from(registry));
    let ti = InitialTransaction {
        ti_id: B256::repeat_byte(0x71),
        template_id,
        author_id: "doctor-1".into(),
        author_role: Role::new(Role::DOCTOR).unwrap(),
        patient_id: Some("MRN-000123".into()),
        timestamp: now - 30,
        fields: serde_json::from_value(
            json!({"systolic": 128, "diastolic": 84, "position": "sitting"}),
        )
        .unwrap(),
    };
    let mut rng = ChaCha20Rng::seed_from_u64(17);
    let tc = tg
        .generate(&templates, &ti, UnixMillis::from_secs(now), &mut rng)
        .unwrap();
    consent_flow(
        t,
        parties,
        grant_role,
        tc.envelope.as_bytes(),
        tg.pseudonym("MRN-000123"),
        template_id,
        now,
    )
}

/// Runs the flow over `t`, for the record `envelope` of pseudonym `subject`
/// and template `template_id` sealed under the key `records` = `0x11…`, at
/// chain time `now` (Unix seconds).
pub fn consent_flow(
    t: *mut ehr_transport,
    parties: &Parties,
    grant_role: impl Fn(&str, Address),
    envelope: &[u8],
    subject: B256,
    template_id: B256,
    now: u64,
) -> Consented {
    let (mut chain_id, mut registry, mut consent) = (0u64, [0u8; 20], [0u8; 20]);
    let (mut patient_signer, mut other_signer, mut keys) = (null_mut(), null_mut(), null_mut());
    let mut patient = [0u8; 20];
    let suite = ehr_capsule_suite::EHR_CAPSULE_SUITE_X_WING as u32;
    let mut private = [0u8; 32];
    // SAFETY: every pointer is valid for its stated length; the handles are
    // freed at the end.
    unsafe {
        ok(ehr_transport_chain(
            t,
            &raw mut chain_id,
            registry.as_mut_ptr(),
        ));
        // (a) The registry's admin deploys EhrConsent and makes the hospital
        // a custodian.
        ok(ehr_transport_deploy_consent(
            t,
            parties.admin.0.0.as_ptr(),
            consent.as_mut_ptr(),
        ));
        assert_ne!(consent, [0u8; 20]);
        grant_role("custodian", parties.custodian);
        ok(ehr_signer_new_local(
            [0x5a; 32].as_ptr(),
            &raw mut patient_signer,
        ));
        ok(ehr_signer_new_local(
            [0x6b; 32].as_ptr(),
            &raw mut other_signer,
        ));
        ok(ehr_signer_address(patient_signer, patient.as_mut_ptr()));
        ok(ehr_recipient_key_generate(suite, private.as_mut_ptr()));
        ok(ehr_key_store_new(&raw mut keys));
        ok(ehr_key_store_insert(
            keys,
            "records".as_ptr().cast(),
            7,
            [0x11; 32].as_ptr(),
        ));
    }
    let patient = Address::from(patient);
    let context = ehr_sharing_context {
        struct_size: size_of::<ehr_sharing_context>(),
        chain_id,
        registry,
        consent,
    };
    let public_key = {
        let mut buf = vec![0u8; 4096];
        let mut n = 0;
        // SAFETY: private holds 32 bytes; buf 4096 writable bytes.
        ok(unsafe {
            ehr_recipient_public_key(
                suite,
                private.as_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                &raw mut n,
            )
        });
        buf.truncate(n);
        buf
    };

    // (b) The custodian binds the patient's account to the pseudonym; a
    // recipient that is no custodian may not.
    let bind = text_out(|b, l, n| {
        // SAFETY: subject holds 32 bytes, patient 20.
        unsafe {
            ehr_consent_bind_patient_transaction(
                &raw const context,
                subject.0.as_ptr(),
                patient.0.0.as_ptr(),
                b,
                l,
                n,
            )
        }
    });
    let parsed: Value = serde_json::from_str(&bind).unwrap();
    assert_eq!(
        (&parsed["chainId"], &parsed["to"]),
        (&json!(chain_id), &json!(Address::from(consent)))
    );
    assert_fails(
        send(t, parties.recipient, &bind).unwrap_err(),
        ErrorCode::DisclosureRefused,
        "AccessControlUnauthorizedAccount",
    );
    send(t, parties.custodian, &bind).unwrap();

    // (c) The recipient publishes its key.
    let publish = text_out(|b, l, n| {
        // SAFETY: public_key is its length.
        unsafe {
            ehr_consent_publish_key_transaction(
                &raw const context,
                suite,
                public_key.as_ptr(),
                public_key.len(),
                b,
                l,
                n,
            )
        }
    });
    send(t, parties.recipient, &publish).unwrap();

    // (d) The patient's grant: its typed data and grant id.
    let grant = json!({
        "subject": subject,
        "patient": patient,
        "recipient": parties.recipient,
        "templateIds": [template_id],
        "expiresAt": now + 86_400,
        "nonce": 1,
        "deadline": now + 3_600,
    })
    .to_string();
    let typed: Value = serde_json::from_str(&text_out(|b, l, n| {
        // SAFETY: grant is its length.
        unsafe {
            ehr_consent_typed_data(
                &raw const context,
                grant.as_ptr().cast(),
                grant.len(),
                b,
                l,
                n,
            )
        }
    }))
    .unwrap();
    assert_eq!(typed["primaryType"], "ConsentGrant");
    assert_eq!(
        typed["domain"]["verifyingContract"],
        json!(Address::from(consent))
    );
    let (rc, grant_id) = signing_digest(&context, &grant);
    ok(rc);
    // Not a statement: named.
    let (rc, _) = signing_digest(&context, "{}");
    assert_fails(rc, ErrorCode::InvalidJson, "a grant (it has no grantId)");

    // The holder's share check for the recipient under the grant, read
    // over `t`; the seal's result.
    let share_now = || {
        let read = |reads: &str| {
            text_out(|b, l, n| {
                // SAFETY: t is live; reads is its length.
                unsafe { ehr_transport_read(t, reads.as_ptr().cast(), reads.len(), b, l, n) }
            })
        };
        let sealed = share_check(
            &context,
            envelope,
            parties.recipient,
            grant_id,
            &public_key,
            keys,
            read,
        );
        sealed.map_or_else(
            |rc| rc,
            |share| {
                // SAFETY: freed once.
                unsafe { ehr_share_free(share) };
                ehr_result::OK
            },
        )
    };
    // No grant yet: no capsule.
    assert_eq!(share_now(), ErrorCode::ConsentNoGrant);

    // (e) A grant signed by another key is refused by the contract; the
    // patient's is relayed by anyone, and then the share check passes.
    let refused = sign_and_relay(t, &context, other_signer, &grant, parties.relayer);
    assert_fails(
        refused.unwrap_err(),
        ErrorCode::DisclosureRefused,
        "EhrConsentBadSignature",
    );
    sign_and_relay(t, &context, patient_signer, &grant, parties.relayer).unwrap();
    ok(share_now());
    // A replay is refused.
    let replayed = sign_and_relay(t, &context, patient_signer, &grant, parties.relayer);
    assert_fails(
        replayed.unwrap_err(),
        ErrorCode::DisclosureRefused,
        "EhrConsentGrantExists",
    );

    // A signed revocation, relayed the same way: no capsule follows.
    let revocation =
        json!({"grantId": grant_id, "patient": patient, "deadline": now + 3_600}).to_string();
    sign_and_relay(t, &context, patient_signer, &revocation, parties.relayer).unwrap();
    assert_eq!(share_now(), ErrorCode::ConsentRevoked);

    // A transaction of another chain is not sent.
    let mut other: Value = serde_json::from_str(&publish).unwrap();
    other["chainId"] = json!(chain_id + 1);
    assert_eq!(
        send(t, parties.recipient, &other.to_string()).unwrap_err(),
        ErrorCode::TransportWrongChain
    );

    // SAFETY: freed once.
    unsafe {
        ehr_signer_free(patient_signer);
        ehr_signer_free(other_signer);
        ehr_key_store_free(keys);
    }
    Consented { context, grant_id }
}

/// `ehr_consent_signing_digest` of a consent statement (`json`, its JSON
/// text) for `context`: what it returned, and the digest it wrote.
pub fn signing_digest(context: &ehr_sharing_context, json: &str) -> (ehr_result, B256) {
    let mut digest = [0u8; 32];
    // SAFETY: the context is live, the JSON its length, digest 32 writable
    // bytes.
    let rc = unsafe {
        ehr_consent_signing_digest(
            context,
            json.as_ptr().cast(),
            json.len(),
            digest.as_mut_ptr(),
        )
    };
    (rc, B256::from(digest))
}
