//! The `extern "C"` functions called directly from Rust: stable codes,
//! argument checks, the same TC as the core for the same inputs, the devnet
//! flow, and clean errors from an unreachable JSON-RPC node.
#![allow(
    missing_docs,
    unsafe_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[path = "../../ehrchain-core/tests/common/test_keys.rs"]
mod test_keys;

use std::ptr::{null, null_mut};

use common::{last_error, ok, text, text_out};
use ehrchain_core::template::BUILT_IN_TEMPLATES;
use ehrchain_core::{
    Address, B256, ErrorCode, InMemoryKeyStore, InitialTransaction, Role, Template,
    TemplateRegistry, TransactionGenerator, UnixMillis,
};
use ehrchain_ffi::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use test_keys::test_generator;

/// The TIs' timestamps, Unix seconds (their data format).
const NOW_S: u64 = 1_764_495_000;
/// The clock, Unix milliseconds (every `now` of the API).
const NOW: UnixMillis = UnixMillis::from_secs(NOW_S);

#[test]
fn messages_follow_the_buffer_rules() {
    let mut buf = [0xAAu8; 8];
    let mut n = 0usize;
    // SAFETY: buf holds 8 writable bytes.
    let rc = unsafe { ehr_result_message(102, buf.as_mut_ptr().cast(), buf.len(), &raw mut n) };
    assert_eq!(rc, ErrorCode::BufferTooSmall);
    assert_eq!(
        n,
        ehr_result::from(ErrorCode::BufferTooSmall).message().len() + 1
    );
    assert_eq!(buf, [0xAA; 8], "a too-small buffer is left untouched");
    let mut big = vec![0u8; n];
    // SAFETY: big holds n writable bytes.
    let rc = unsafe { ehr_result_message(102, big.as_mut_ptr().cast(), big.len(), &raw mut n) };
    ok(rc);
    assert_eq!(
        &big[..n],
        ehr_result::from(ErrorCode::BufferTooSmall)
            .message()
            .as_bytes()
    );
    assert_eq!(big[n], 0, "NUL-terminated");
    // SAFETY: NULL out_len is detected.
    let rc = unsafe { ehr_result_message(0, big.as_mut_ptr().cast(), big.len(), null_mut()) };
    assert_eq!(rc, ErrorCode::NullArgument);
}

#[test]
fn null_zero_length_and_invalid_utf8_arguments_are_codes() {
    let mut templates = null_mut();
    // SAFETY: a valid out pointer.
    ok(unsafe { ehr_templates_new_builtin(&raw mut templates) });
    let mut id = [0u8; 32];
    let (name, len) = text("blood-pressure");
    // SAFETY (all calls below): NULL pointers and bad lengths are what is
    // tested; every non-NULL pointer is valid for its length.
    unsafe {
        assert_eq!(
            ehr_templates_latest(null(), name, len, id.as_mut_ptr()),
            ErrorCode::NullArgument
        );
        assert_eq!(
            last_error(),
            "the argument `templates` is NULL; it is required"
        );
        assert_eq!(
            ehr_templates_latest(templates, null(), len, id.as_mut_ptr()),
            ErrorCode::NullArgument
        );
        assert!(last_error().contains("`name` is NULL"));
        assert_eq!(
            ehr_templates_latest(templates, name, 0, id.as_mut_ptr()),
            ErrorCode::ZeroLength
        );
        assert!(last_error().contains("`name` has length 0"));
        assert_eq!(
            ehr_templates_latest(templates, name, len, null_mut()),
            ErrorCode::NullArgument
        );
        assert!(last_error().contains("`id_out` is NULL"));
        let bad = [0x62u8, 0xff, 0xfe];
        assert_eq!(
            ehr_templates_latest(templates, bad.as_ptr().cast(), 3, id.as_mut_ptr()),
            ErrorCode::InvalidUtf8
        );
        assert!(last_error().contains("`name` is not valid UTF-8"));
        let proofs = [null::<ehr_proof>(); 2];
        let mut codes = [ehr_result::OK; 2];
        assert_eq!(
            ehr_proof_verify_many(proofs.as_ptr(), 2, codes.as_mut_ptr()),
            ErrorCode::NullArgument
        );
        assert!(last_error().contains("`proofs[0]` is NULL"));
        assert_eq!(id, [0; 32], "outputs are written only on success");
        ok(ehr_templates_latest(templates, name, len, id.as_mut_ptr()));
        assert_eq!(B256::from(id), core_template_id("blood-pressure"));
        let mut ti = null_mut();
        let (json, json_len) = text("{\"tiId\":");
        assert_eq!(
            ehr_ti_from_json(json, json_len, &raw mut ti),
            ErrorCode::TiMalformed
        );
        assert!(ti.is_null());
        assert!(last_error().contains("TI JSON is malformed"));
        ehr_templates_free(templates);
    }
}

/// The id of the newest built-in template `name`, from the core.
fn core_template_id(name: &str) -> B256 {
    let registry = TemplateRegistry::with_built_ins(None).unwrap();
    registry.latest(name).unwrap().id()
}

/// Core's generator for the blood-pressure template, as the benches set it up.
fn core_generator() -> (TemplateRegistry, TransactionGenerator<InMemoryKeyStore>) {
    core_generator_on(1337, Address::repeat_byte(0xee))
}

/// [`core_generator`] for the registry `registry` on chain `chain_id`.
fn core_generator_on(
    chain_id: u64,
    registry: Address,
) -> (TemplateRegistry, TransactionGenerator<InMemoryKeyStore>) {
    let templates = TemplateRegistry::with_built_ins(None).unwrap();
    let generator = test_generator("records-2026", chain_id, registry);
    (templates, generator)
}

/// A validator configuration through the builder: `confirmations`, a poll
/// every millisecond.
fn quick_validator(confirmations: u64) -> *mut ehr_validator_config {
    let (mut builder, mut config) = (null_mut(), null_mut());
    // SAFETY: valid out pointers; the builder is freed once.
    unsafe {
        ok(ehr_validator_config_builder_new(&raw mut builder));
        ok(ehr_validator_config_builder_set_confirmations(
            builder,
            confirmations,
        ));
        ok(ehr_validator_config_builder_set_poll_interval_ms(
            builder, 1,
        ));
        ok(ehr_validator_config_builder_build(builder, &raw mut config));
        ehr_validator_config_builder_free(builder);
    }
    config
}

/// A handshaker configuration through the builder: the registry `registry`
/// on chain `chain_id`, the key ids of [`core_generator`], and `validator`
/// (NULL for the defaults).
fn handshaker_config(
    chain_id: u64,
    registry: [u8; 20],
    validator: *const ehr_validator_config,
) -> *mut ehr_handshaker_config {
    let (mut builder, mut config) = (null_mut(), null_mut());
    let (sealing, sealing_len) = text("records-2026");
    let (pseudonyms, pseudonyms_len) = text("pseudonyms");
    // SAFETY: every pointer is valid for its stated length; the builder is
    // freed once.
    unsafe {
        ok(ehr_handshaker_config_builder_new(
            chain_id,
            registry.as_ptr(),
            sealing,
            sealing_len,
            pseudonyms,
            pseudonyms_len,
            &raw mut builder,
        ));
        if !validator.is_null() {
            ok(ehr_handshaker_config_builder_set_validator(
                builder, validator,
            ));
        }
        ok(ehr_handshaker_config_builder_build(
            builder,
            &raw mut config,
        ));
        ehr_handshaker_config_builder_free(builder);
    }
    config
}

/// The same configuration through the C ABI.
fn ffi_handshaker() -> (*mut ehr_templates, *mut ehr_key_store, *mut ehr_handshaker) {
    let (mut templates, mut keys, mut hs) = (null_mut(), null_mut(), null_mut());
    // SAFETY: every pointer is valid for its stated length.
    unsafe {
        ok(ehr_templates_new_builtin(&raw mut templates));
        ok(ehr_key_store_new(&raw mut keys));
        for (id, byte) in [("records-2026", 0x11u8), ("pseudonyms", 0x22)] {
            let (p, n) = text(id);
            ok(ehr_key_store_insert(keys, p, n, [byte; 32].as_ptr()));
        }
        let config = handshaker_config(1337, [0xee; 20], null());
        ok(ehr_handshaker_new(templates, keys, config, &raw mut hs));
        ehr_handshaker_config_free(config);
    }
    (templates, keys, hs)
}

fn bp_ti(registry: &TemplateRegistry, systolic: i64) -> InitialTransaction {
    let template = registry.latest("blood-pressure").unwrap();
    InitialTransaction {
        ti_id: B256::repeat_byte(0x01),
        template_id: template.id(),
        author_id: "nurse-0815".into(),
        author_role: Role::new(Role::NURSE).unwrap(),
        patient_id: Some("MRN-000123".into()),
        timestamp: NOW_S - 60,
        fields: serde_json::from_value(serde_json::json!({
            "systolic": systolic, "diastolic": 84, "position": "sitting",
            "note": "x".repeat(700),
        }))
        .unwrap(),
    }
}

/// The C TI `ehr_ti_from_json` makes of `ti_json` and the TC `hs` generates
/// for it at `NOW`; the caller frees both.
///
/// # Safety
/// `hs` is a live handshaker.
unsafe fn generate_from_json(hs: *mut ehr_handshaker, ti_json: &str) -> (*mut ehr_ti, *mut ehr_tc) {
    let (json, json_len) = text(ti_json);
    let (mut ti, mut tc) = (null_mut(), null_mut());
    // SAFETY: the text is valid for its length; `hs` is live by the contract.
    unsafe {
        ok(ehr_ti_from_json(json, json_len, &raw mut ti));
        ok(ehr_handshaker_generate(
            hs,
            ti,
            NOW.as_millis(),
            &raw mut tc,
        ));
    }
    (ti, tc)
}

/// Runs a validator of `tc` with `config` through `chain` to its verdict
/// and returns its first ACK; the caller frees it.
///
/// # Safety
/// `tc`, `config` and `chain` are live handles.
unsafe fn run_to_ack(
    tc: *const ehr_tc,
    config: *const ehr_validator_config,
    chain: *mut ehr_transport,
) -> *mut ehr_ack {
    let (mut validator, mut ack) = (null_mut(), null_mut());
    // SAFETY: the handles are live by the contract; the validator is freed
    // once.
    unsafe {
        ok(ehr_validator_new(tc, config, &raw mut validator));
        ok(ehr_validator_run(validator, chain, 0, std::ptr::null()));
        ok(ehr_validator_poll_ack(validator, &raw mut ack));
        ehr_validator_free(validator);
    }
    ack
}

#[test]
fn generate_through_c_equals_the_core_for_the_same_inputs() {
    let (registry, generator) = core_generator();
    let ti = bp_ti(&registry, 128);
    let seed = [7u8; 32];
    let direct = generator
        .generate(&registry, &ti, NOW, &mut ChaCha20Rng::from_seed(seed))
        .unwrap();

    let (templates, keys, hs) = ffi_handshaker();
    let mut envelope = vec![0u8; 4096];
    let mut n = 0;
    let mut record_hash = [0u8; 32];
    let mut tc_ti_id = [0u8; 32];
    // SAFETY: every pointer is valid for its stated length.
    let (c_ti, tc) = unsafe {
        ok(ehr_handshaker_set_seed(hs, seed.as_ptr()));
        generate_from_json(hs, &ti.to_json())
    };
    // SAFETY: as above.
    unsafe {
        ok(ehr_tc_envelope(
            tc,
            envelope.as_mut_ptr(),
            envelope.len(),
            &raw mut n,
        ));
        ok(ehr_tc_record_hash(tc, record_hash.as_mut_ptr()));
        ok(ehr_tc_ti_id(tc, tc_ti_id.as_mut_ptr()));
        ehr_tc_free(tc);
    }
    assert_eq!(&envelope[..n], direct.envelope.as_bytes());
    assert_eq!(record_hash, direct.record_hash.0);
    assert_eq!(tc_ti_id, ti.ti_id.0);

    // A TI breaking its template: the code, the violations as JSON.
    let bad = bp_ti(&registry, 999);
    let bad_json = bad.to_json();
    let (bad_json, bad_len) = text(&bad_json);
    let mut bad_ti = null_mut();
    let mut violations = vec![0u8; 4096];
    // SAFETY: as above.
    unsafe {
        ok(ehr_ti_from_json(bad_json, bad_len, &raw mut bad_ti));
        let mut out = null_mut();
        assert_eq!(
            ehr_handshaker_generate(hs, bad_ti, NOW.as_millis(), &raw mut out),
            ErrorCode::TiRejected
        );
        assert!(out.is_null());
        ok(ehr_last_violations(
            violations.as_mut_ptr().cast(),
            violations.len(),
            &raw mut n,
        ));
        ehr_ti_free(bad_ti);
        ehr_ti_free(c_ti);
        ehr_handshaker_free(hs);
        ehr_key_store_free(keys);
        ehr_templates_free(templates);
    }
    let v: serde_json::Value = serde_json::from_slice(&violations[..n]).unwrap();
    assert_eq!(v[0]["field"], "systolic");
}

#[cfg(feature = "devnet")]
#[test]
fn the_devnet_flow_through_c_gives_a_valid_ack() {
    let (templates, keys, _) = ffi_handshaker();
    let (mut chain, mut hs, mut ti, mut ack) = (null_mut(), null_mut(), null_mut(), null_mut());
    let mut summary = ehr_ack_summary::default();
    let seed = [9u8; 32];
    let (mut template_id, mut ti_id, mut c_ti_id) = ([0u8; 32], [0u8; 32], [0u8; 32]);
    let (mut ti_json, mut envelope) = (vec![0u8; 4096], vec![0u8; 4096]);
    let (mut ti_json_len, mut envelope_len) = (0, 0);
    let (mut chain_id, mut registry_address) = (0u64, [0u8; 20]);
    // SAFETY: every pointer is valid for its stated length.
    unsafe {
        ok(ehr_transport_new_devnet(templates, &raw mut chain));
        ok(ehr_transport_chain(
            chain,
            &raw mut chain_id,
            registry_address.as_mut_ptr(),
        ));
        let validator = quick_validator(3);
        let config = handshaker_config(chain_id, registry_address, validator);
        ok(ehr_handshaker_new(templates, keys, config, &raw mut hs));
        ehr_handshaker_config_free(config);
        ehr_validator_config_free(validator);
        ok(ehr_handshaker_set_seed(hs, seed.as_ptr()));
        let (name, len) = text("blood-pressure");
        ok(ehr_templates_latest(
            templates,
            name,
            len,
            template_id.as_mut_ptr(),
        ));
        ok(ehr_random_id(ti_id.as_mut_ptr()));
        // A TI's timestamp is in Unix seconds; the clock in milliseconds.
        let timestamp = ehr_clock_now_ms() / 1000;
        let rc = common::ti_new(
            &ti_id,
            &template_id,
            "dr-4711",
            "doctor",
            "MRN-000123",
            timestamp,
            &mut ti,
        );
        ok(rc);
        for (field, value) in [("systolic", "128"), ("diastolic", "84")] {
            let (f, fl) = text(field);
            let (v, vl) = text(value);
            ok(ehr_ti_set_field(ti, f, fl, v, vl));
        }
        ok(ehr_ti_id(ti, c_ti_id.as_mut_ptr()));
        ok(ehr_ti_to_json(
            ti,
            ti_json.as_mut_ptr().cast(),
            ti_json.len(),
            &raw mut ti_json_len,
        ));
        ok(ehr_handshaker_submit(
            hs,
            ti,
            chain,
            0,
            std::ptr::null(),
            &raw mut ack,
        ));
        ok(ehr_ack_to_summary(ack, &raw mut summary));
        ok(ehr_ack_envelope(
            ack,
            envelope.as_mut_ptr(),
            envelope.len(),
            &raw mut envelope_len,
        ));
        ehr_ack_free(ack);
        ehr_ti_free(ti);
        ehr_handshaker_free(hs);
        ehr_transport_free(chain);
        ehr_key_store_free(keys);
        ehr_templates_free(templates);
    }
    assert!(summary.valid && summary.has_tx_hash && !summary.replay);
    // The ACK is about this TI: its id, its template, and the record of the
    // TC the core makes from it with the same keys, chain and nonces.
    let core_ti =
        InitialTransaction::from_json(std::str::from_utf8(&ti_json[..ti_json_len]).unwrap())
            .unwrap();
    assert_eq!(core_ti.ti_id.0, ti_id);
    assert_eq!(c_ti_id, ti_id);
    assert_eq!(summary.ti_id, ti_id);
    assert_eq!(B256::from(template_id), core_template_id("blood-pressure"));
    assert_eq!(summary.template_id, template_id);
    let (registry, generator) = core_generator_on(chain_id, Address::from(registry_address));
    let tc = generator
        .generate(
            &registry,
            &core_ti,
            UnixMillis::from_secs(core_ti.timestamp),
            &mut ChaCha20Rng::from_seed(seed),
        )
        .unwrap();
    assert_eq!(tc.ti_id.0, ti_id);
    assert!(summary.has_record_hash);
    assert_eq!(summary.record_hash, tc.record_hash.0);
    assert_eq!(&envelope[..envelope_len], tc.envelope.as_bytes());
}

#[cfg(feature = "rpc")]
#[test]
fn an_unreachable_json_rpc_node_is_a_clean_transport_error() {
    /// Opens a transport to `url` (chain 1337, registry zero, 2 s timeout).
    fn new_rpc(url: &str, transport: &mut *mut ehr_transport) -> ehr_result {
        let (url, len) = text(url);
        // SAFETY: every pointer is valid for its stated length.
        unsafe { ehr_transport_new_rpc(url, len, 1337, [0u8; 20].as_ptr(), 2_000, transport) }
    }

    let mut transport = null_mut();
    let rc = new_rpc("http://127.0.0.1:1", &mut transport);
    assert_eq!(rc, ErrorCode::TransportUnavailable);
    assert!(transport.is_null());
    assert!(last_error().contains("unreachable"), "{}", last_error());

    let rc = new_rpc("not a url", &mut transport);
    assert_eq!(rc, ErrorCode::TransportRejected, "{}", last_error());
    assert!(transport.is_null());
}

#[test]
fn built_in_templates_are_the_cores() {
    let mut templates = null_mut();
    let mut id = [0u8; 32];
    // SAFETY: every pointer is valid for its stated length.
    unsafe {
        ehr_templates_new_builtin(&raw mut templates);
        for (name, json) in BUILT_IN_TEMPLATES {
            let (p, n) = text(name);
            ok(ehr_templates_latest(templates, p, n, id.as_mut_ptr()));
            assert_eq!(
                B256::from(id),
                Template::from_json(json).unwrap().id(),
                "{name}"
            );
        }
        ehr_templates_free(templates);
    }
}

#[cfg(not(feature = "devnet"))]
#[test]
fn left_out_features_are_a_code() {
    let mut transport = null_mut();
    // SAFETY: a valid out pointer; NULL templates are allowed.
    let rc = unsafe { ehr_transport_new_devnet(null(), &raw mut transport) };
    assert_eq!(rc, ErrorCode::FeatureDisabled);
    assert!(transport.is_null());
}

/// Without `rpc` (the core alone, or the core and the devnet) the JSON-RPC
/// transport is left out: its functions are declared and give a code.
#[cfg(not(feature = "rpc"))]
#[test]
fn a_build_without_json_rpc_says_so() {
    let mut transport = null_mut();
    let (url, len) = text("http://127.0.0.1:8545");
    // SAFETY: every pointer is valid for its stated length.
    let rc =
        unsafe { ehr_transport_new_rpc(url, len, 1337, [0u8; 20].as_ptr(), 0, &raw mut transport) };
    assert_eq!(rc, ErrorCode::FeatureDisabled);
    assert!(transport.is_null());
    assert_eq!(
        last_error(),
        "this build of ehrchain-ffi leaves out the `rpc` feature; rebuild it with `--features rpc`"
    );
}

/// A chain in Rust callbacks that writes its booleans as bytes other than 0
/// and 1, as a host without a C `bool` might: every non-zero byte is true.
mod odd_bools {
    use std::ffi::c_void;

    use ehrchain_ffi::{ehr_receipt, ehr_result, ehr_submission, ehr_transport_callbacks};

    pub(super) const TX: [u8; 32] = [0xAB; 32];

    /// This host's callbacks, without a batch read or a read by tag.
    pub(super) fn callbacks() -> ehr_transport_callbacks {
        ehr_transport_callbacks {
            struct_size: size_of::<ehr_transport_callbacks>(),
            userdata: std::ptr::null_mut(),
            submit: Some(submit),
            poll: Some(poll),
            head: Some(head),
            record_hash_of: Some(record_hash_of),
            anchored_batch: None,
            block_at: None,
        }
    }

    pub(super) unsafe extern "C" fn submit(
        _: *mut c_void,
        _: *const ehr_submission,
        tx_hash_out: *mut u8,
    ) -> ehr_result {
        // SAFETY: ehrchain passes 32 writable bytes.
        unsafe { tx_hash_out.copy_from_nonoverlapping(TX.as_ptr(), 32) };
        ehr_result::OK
    }

    pub(super) unsafe extern "C" fn poll(
        _: *mut c_void,
        _: *const u8,
        _: *const ehr_submission,
        status_out: *mut u32,
        receipt_out: *mut ehr_receipt,
    ) -> ehr_result {
        // SAFETY: ehrchain passes a writable status and a zeroed receipt;
        // the booleans are written as the bytes 7 and 9.
        unsafe {
            status_out.write(1);
            (&raw mut (*receipt_out).tx_hash).write(TX);
            (&raw mut (*receipt_out).success).cast::<u8>().write(7);
            (&raw mut (*receipt_out).block_number).write(1);
            (&raw mut (*receipt_out).has_anchor_log_index)
                .cast::<u8>()
                .write(9);
        }
        ehr_result::OK
    }

    pub(super) unsafe extern "C" fn head(_: *mut c_void, block_number_out: *mut u64) -> ehr_result {
        // SAFETY: ehrchain passes a writable u64.
        unsafe { block_number_out.write(5) };
        ehr_result::OK
    }

    pub(super) unsafe extern "C" fn record_hash_of(
        _: *mut c_void,
        _: *const u8,
        found_out: *mut bool,
        _: *mut u8,
    ) -> ehr_result {
        // SAFETY: ehrchain passes one writable byte.
        unsafe { found_out.cast::<u8>().write(0) };
        ehr_result::OK
    }

    /// The batch id `anchored_batch` reports.
    pub(super) static BATCH_ID: [u8; 32] = [0x42; 32];

    pub(super) unsafe extern "C" fn anchored_batch(
        _: *mut c_void,
        _: *const u8,
        found_out: *mut bool,
        leaf_count_out: *mut u32,
        has_batch_id_out: *mut bool,
        batch_id_out: *mut u8,
    ) -> ehr_result {
        // SAFETY: ehrchain passes writable outputs of these sizes.
        unsafe {
            found_out.cast::<u8>().write(2);
            leaf_count_out.write(1);
            has_batch_id_out.cast::<u8>().write(0xFF);
            batch_id_out.copy_from_nonoverlapping(BATCH_ID.as_ptr(), 32);
        }
        ehr_result::OK
    }
}

#[test]
fn booleans_the_host_writes_are_read_as_bytes() {
    let callbacks = ehr_transport_callbacks {
        anchored_batch: Some(odd_bools::anchored_batch),
        ..odd_bools::callbacks()
    };
    let (templates, keys, hs) = ffi_handshaker();
    let (registry, _) = core_generator();
    let mut chain = null_mut();
    let (mut builder, mut batch, mut proof) = (null_mut(), null_mut(), null_mut());
    let mut summary = ehr_ack_summary::default();
    let mut record_hash = [0u8; 32];
    let mut index = 0u32;
    // SAFETY: every pointer is valid for its stated length; every handle is
    // freed once.
    unsafe {
        let rc = ehr_transport_new_callbacks(
            &raw const callbacks,
            1337,
            [0xee; 20].as_ptr(),
            &raw mut chain,
        );
        ok(rc);
        let (ti, tc) = generate_from_json(hs, &bp_ti(&registry, 128).to_json());
        // A receipt whose `success` byte is 7: a success.
        let config = quick_validator(1);
        let ack = run_to_ack(tc, config, chain);
        ehr_validator_config_free(config);
        ok(ehr_ack_to_summary(ack, &raw mut summary));
        // A batch whose `found` and `has_batch_id` bytes are 2 and 0xFF.
        ok(ehr_tc_record_hash(tc, record_hash.as_mut_ptr()));
        ok(ehr_batch_builder_new(&raw mut builder));
        ok(ehr_batch_builder_push(
            builder,
            record_hash.as_ptr(),
            &raw mut index,
        ));
        ok(ehr_batch_builder_build(
            builder,
            odd_bools::BATCH_ID.as_ptr(),
            &raw mut batch,
        ));
        ok(ehr_batch_proof(batch, 0, &raw mut proof));
        ok(ehr_proof_verify_on_chain(proof, chain));
        ehr_proof_free(proof);
        ehr_batch_free(batch);
        ehr_batch_builder_free(builder);
        ehr_ack_free(ack);
        ehr_tc_free(tc);
        ehr_ti_free(ti);
        ehr_transport_free(chain);
        ehr_handshaker_free(hs);
        ehr_key_store_free(keys);
        ehr_templates_free(templates);
    }
    assert!(summary.valid && summary.has_tx_hash);
    assert_eq!(summary.tx_hash, odd_bools::TX);
}

/// The `block_at` callback: the finalized block is block 1 (the odd
/// receipt's), its `found` byte 3.
unsafe extern "C" fn finalized_block_1(
    _: *mut std::ffi::c_void,
    tag: u32,
    found_out: *mut bool,
    block_number_out: *mut u64,
    block_hash_out: *mut u8,
) -> ehr_result {
    assert_eq!(tag, ehr_finality::EHR_FINALITY_FINALIZED as u32);
    // SAFETY: ehrchain passes writable outputs of these sizes.
    unsafe {
        found_out.cast::<u8>().write(3);
        block_number_out.write(1);
        block_hash_out.copy_from_nonoverlapping([0xB1; 32].as_ptr(), 32);
    }
    ehr_result::OK
}

#[test]
fn a_validator_final_by_tag_reads_the_block_through_block_at() {
    let callbacks = ehr_transport_callbacks {
        block_at: Some(finalized_block_1),
        ..odd_bools::callbacks()
    };
    let (templates, keys, hs) = ffi_handshaker();
    let (registry, _) = core_generator();
    let (mut chain, mut builder, mut config) = (null_mut(), null_mut(), null_mut());
    let mut buf = vec![0u8; 8192];
    let mut len = 0usize;
    // SAFETY: every pointer is valid for its stated length; every handle is
    // freed once.
    unsafe {
        ok(ehr_validator_config_builder_new(&raw mut builder));
        assert_eq!(
            ehr_validator_config_builder_set_finality(builder, 9),
            ErrorCode::InvalidArgument
        );
        ok(ehr_validator_config_builder_set_finality(
            builder,
            ehr_finality::EHR_FINALITY_FINALIZED as u32,
        ));
        ok(ehr_validator_config_builder_build(builder, &raw mut config));
        ehr_validator_config_builder_free(builder);
        let (ti, tc) = generate_from_json(hs, &bp_ti(&registry, 128).to_json());
        ok(ehr_transport_new_callbacks(
            &raw const callbacks,
            1337,
            [0xee; 20].as_ptr(),
            &raw mut chain,
        ));
        let ack = run_to_ack(tc, config, chain);
        ok(ehr_ack_to_json(
            ack,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &raw mut len,
        ));
        ehr_ack_free(ack);
        ehr_transport_free(chain);
        let json = String::from_utf8(buf[..len].to_vec()).unwrap();
        let ack: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            (&ack["status"], &ack["finalBlock"]),
            (
                &serde_json::json!("valid"),
                &serde_json::json!({"tag": "finalized", "block": {"number": 1, "hash": format!("0x{}", "b1".repeat(32))}})
            )
        );
        ehr_validator_config_free(config);
        ehr_tc_free(tc);
        ehr_ti_free(ti);
        ehr_handshaker_free(hs);
        ehr_key_store_free(keys);
        ehr_templates_free(templates);
    }
}

#[test]
fn a_batch_validator_driven_by_the_host_settles_from_a_batch_read() {
    let (templates, keys, hs) = ffi_handshaker();
    let (registry, _) = core_generator();
    let batch_id = [0x5B; 32];
    let config = quick_validator(2);
    let (mut builder, mut batch, mut validator) = (null_mut(), null_mut(), null_mut());
    let mut tcs = Vec::new();
    let mut transmit = std::mem::MaybeUninit::new(ehr_transmit::default());
    let (mut actions, mut now_ms, mut acks) = (Vec::new(), NOW.as_millis(), Vec::new());
    let mut head = 10u64;
    // SAFETY: every pointer is valid for its stated length; every handle is
    // freed once.
    unsafe {
        ok(ehr_batch_builder_new(&raw mut builder));
        for systolic in [120, 121] {
            let mut ti = bp_ti(&registry, systolic);
            ti.ti_id = B256::repeat_byte(u8::try_from(systolic).unwrap());
            let json = ti.to_json();
            let (j, jl) = text(&json);
            let (mut c_ti, mut tc) = (null_mut(), null_mut());
            ok(ehr_ti_from_json(j, jl, &raw mut c_ti));
            ok(ehr_handshaker_generate(
                hs,
                c_ti,
                NOW.as_millis(),
                &raw mut tc,
            ));
            let (mut hash, mut index) = ([0u8; 32], 0u32);
            ok(ehr_tc_record_hash(tc, hash.as_mut_ptr()));
            ok(ehr_batch_builder_push(
                builder,
                hash.as_ptr(),
                &raw mut index,
            ));
            ehr_ti_free(c_ti);
            tcs.push(tc.cast_const());
        }
        ok(ehr_batch_builder_build(
            builder,
            batch_id.as_ptr(),
            &raw mut batch,
        ));
        let (mut root, mut leaves) = ([0u8; 32], 0u32);
        ok(ehr_batch_root(batch, root.as_mut_ptr(), &raw mut leaves));
        assert_eq!(
            ehr_validator_new_batch(batch, tcs.as_ptr(), 1, config, &raw mut validator),
            ErrorCode::BatchMismatch
        );
        ok(ehr_validator_new_batch(
            batch,
            tcs.as_ptr(),
            2,
            config,
            &raw mut validator,
        ));
        // The host's loop: the node refuses the submission (as it would a
        // second anchoring), the registry holds this very batch, and a block
        // is mined between two reads of the head.
        for _ in 0..100 {
            let mut finished = false;
            ehr_validator_is_finished(validator, &raw mut finished);
            if finished {
                break;
            }
            ehr_validator_handle_timeout(validator, now_ms);
            ok(ehr_validator_poll_transmit(
                validator,
                now_ms,
                transmit.as_mut_ptr(),
            ));
            let t = transmit.assume_init_ref();
            let rc = match t.kind {
                0 => {
                    let (mut has, mut at) = (false, 0u64);
                    ehr_validator_poll_timeout(validator, &raw mut has, &raw mut at);
                    assert!(has);
                    now_ms = at.max(now_ms + 1);
                    continue;
                }
                1 => {
                    assert_eq!(t.submission.kind, 1, "anchorBatch");
                    assert_eq!(t.submission.hash, root);
                    assert_eq!(t.submission.leaf_count, 2);
                    let rejected = ehr_result::from(ErrorCode::TransportRejected);
                    ehr_validator_handle_submitted(validator, now_ms, rejected, null())
                }
                3 => {
                    head += 1;
                    ehr_validator_handle_head(validator, now_ms, ehr_result::OK, head)
                }
                6 => {
                    // The batch's outbox entry, stored before the send.
                    let entry =
                        text_out(|buf, len, n| ehr_validator_to_json(validator, buf, len, n));
                    assert!(
                        entry.starts_with(r#"{"format":"ehrchain.validator/2""#),
                        "{entry}"
                    );
                    let (mut has_key, mut key) = (false, [0u8; 32]);
                    ehr_validator_outbox_key(validator, &raw mut has_key, key.as_mut_ptr());
                    assert!(
                        has_key && key == root,
                        "a batch's entry is keyed by its root"
                    );
                    ehr_validator_handle_persisted(validator, now_ms, ehr_result::OK)
                }
                5 => {
                    assert_eq!(t.root, root);
                    ehr_validator_handle_batch(
                        validator,
                        now_ms,
                        ehr_result::OK,
                        true,
                        2,
                        true,
                        batch_id.as_ptr(),
                    )
                }
                other => panic!("unexpected action {other}"),
            };
            ok(rc);
            actions.push(t.kind);
        }
        loop {
            let mut ack = null_mut();
            ok(ehr_validator_poll_ack(validator, &raw mut ack));
            if ack.is_null() {
                break;
            }
            let mut summary = ehr_ack_summary::default();
            ok(ehr_ack_to_summary(ack, &raw mut summary));
            acks.push(summary);
            ehr_ack_free(ack);
        }
        ehr_validator_free(validator);
        ehr_validator_config_free(config);
        for tc in tcs {
            ehr_tc_free(tc.cast_mut());
        }
        ehr_batch_free(batch);
        ehr_batch_builder_free(builder);
        ehr_handshaker_free(hs);
        ehr_key_store_free(keys);
        ehr_templates_free(templates);
    }
    assert_eq!(
        actions.get(..2),
        Some(&[6, 1][..]),
        "persist, then submit: {actions:?}"
    );
    assert!(actions.contains(&5), "{actions:?}");
    assert_eq!(acks.len(), 2, "{actions:?}");
    assert!(
        acks.iter().all(|a| a.valid && a.recovered && a.has_proof),
        "{acks:?}"
    );
}

/// A handshaker made through C, a blood-pressure TI generated through it,
/// and a validator configuration waiting for one confirmation; freed when
/// dropped.
struct OneTc {
    templates: *mut ehr_templates,
    keys: *mut ehr_key_store,
    hs: *mut ehr_handshaker,
    ti: *mut ehr_ti,
    tc: *mut ehr_tc,
    config: *mut ehr_validator_config,
}

impl OneTc {
    fn new() -> Self {
        let (templates, keys, hs) = ffi_handshaker();
        let (registry, _) = core_generator();
        // SAFETY: `hs` is live.
        let (ti, tc) = unsafe { generate_from_json(hs, &bp_ti(&registry, 128).to_json()) };
        let config = quick_validator(1);
        Self {
            templates,
            keys,
            hs,
            ti,
            tc,
            config,
        }
    }

    /// A new validator for the TC (the caller frees it).
    fn validator(&self) -> *mut ehr_validator {
        let mut validator = null_mut();
        // SAFETY: the TC and configuration are live; `validator` is a slot.
        let rc = unsafe { ehr_validator_new(self.tc, self.config, &raw mut validator) };
        ok(rc);
        validator
    }
}

impl Drop for OneTc {
    fn drop(&mut self) {
        // SAFETY: each handle was made by `new` and is freed once, here.
        unsafe {
            ehr_validator_config_free(self.config);
            ehr_tc_free(self.tc);
            ehr_ti_free(self.ti);
            ehr_handshaker_free(self.hs);
            ehr_key_store_free(self.keys);
            ehr_templates_free(self.templates);
        }
    }
}

/// Carries out `validator`'s next action through `ehr_rpc_exchange_*`,
/// answering each request with the next of `answers` (HTTP status, body);
/// returns the request bodies.
///
/// # Safety
/// `validator` is live.
unsafe fn exchange_with(
    validator: *mut ehr_validator,
    from: Option<[u8; 20]>,
    answers: &[(u16, &str)],
) -> Vec<String> {
    let mut transmit = std::mem::MaybeUninit::new(ehr_transmit::default());
    let (mut exchange, mut bodies) = (null_mut(), Vec::new());
    // SAFETY: valid pointers; the exchange is freed once.
    unsafe {
        ok(ehr_validator_poll_transmit(
            validator,
            NOW.as_millis(),
            transmit.as_mut_ptr(),
        ));
        if transmit.assume_init_ref().kind == ehr_transmit_kind::EHR_TRANSMIT_PERSIST as u32 {
            // The outbox write comes first; this host keeps its entry in memory.
            let rc = ehr_validator_handle_persisted(validator, NOW.as_millis(), ehr_result::OK);
            ok(rc);
            let rc = ehr_validator_poll_transmit(validator, NOW.as_millis(), transmit.as_mut_ptr());
            ok(rc);
        }
        let transmit = transmit.assume_init();
        let from = from.as_ref().map_or(null(), |f| f.as_ptr());
        let rc = ehr_rpc_exchange_new(
            validator,
            &raw const transmit,
            [0xee; 20].as_ptr(),
            from,
            false,
            &raw mut exchange,
        );
        ok(rc);
        for (status, body) in answers {
            bodies.push(text_out(|buf, len, n| {
                ehr_rpc_exchange_request(exchange, 7, buf, len, n)
            }));
            ok(ehr_rpc_exchange_handle_answer(
                exchange,
                *status,
                body.as_ptr(),
                body.len(),
            ));
        }
        let mut n = 0;
        let rc = ehr_rpc_exchange_request(exchange, 8, null_mut(), 0, &raw mut n);
        assert_eq!(
            rc,
            ehr_result::from(ErrorCode::NotPresent),
            "more requests than answers: {bodies:?}"
        );
        ok(ehr_rpc_exchange_finish(
            exchange,
            validator,
            NOW.as_millis(),
        ));
        ehr_rpc_exchange_free(exchange);
    }
    bodies
}

#[test]
fn a_c_host_with_its_own_http_client_gets_a_prompt_refusal_through_the_core_policy() {
    let one = OneTc::new();
    let mut ack = null_mut();
    let mut summary = ehr_ack_summary::default();
    // Hardhat 2.29's answer to an estimate that reverts
    // (docs/vectors/rpc.json): AccessControlUnauthorizedAccount.
    let reverted = r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"Error: VM Exception while processing transaction: reverted with an unrecognized custom error","data":{"message":"reverted","data":"0xe2517d3f00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c80000000000000000000000000000000000000000000000000000000000000000"}}}"#;
    // SAFETY: every pointer is valid for its stated length; every handle is
    // freed once.
    unsafe {
        let validator = one.validator();
        let bodies = exchange_with(validator, Some([0x70; 20]), &[(200, reverted)]);
        // The estimate was asked for at the latest mined block; nothing was sent.
        assert!(
            bodies[0].contains(r#""method":"eth_estimateGas""#)
                && bodies[0].ends_with(r#""latest"]}"#),
            "{bodies:?}"
        );
        ok(ehr_validator_poll_ack(validator, &raw mut ack));
        ok(ehr_ack_to_summary(ack, &raw mut summary));
        ehr_ack_free(ack);
        ehr_validator_free(validator);
    }
    assert!(!summary.valid && !summary.may_rerun && !summary.has_tx_hash);
}

/// Whether `validator` reached its verdict.
///
/// # Safety
/// `validator` is live.
unsafe fn finished(validator: *mut ehr_validator) -> bool {
    let mut done = false;
    // SAFETY: live by the contract; `done` is a valid bool.
    ok(unsafe { ehr_validator_is_finished(validator, &raw mut done) });
    done
}

#[test]
fn a_c_host_without_a_sender_or_an_answer_gets_the_core_policy() {
    let one = OneTc::new();
    // SAFETY: as above.
    unsafe {
        let validator = one.validator();
        // No sender: the submission fails without a request, as a refusal:
        // the validator settles, reading the registry at the latest block.
        assert!(exchange_with(validator, None, &[]).is_empty());
        let read = r#"{"jsonrpc":"2.0","id":7,"result":"0x0000000000000000000000000000000000000000000000000000000000000000"}"#;
        let bodies = exchange_with(validator, None, &[(200, read)]);
        assert!(
            bodies[0].contains(r#""method":"eth_call""#) && bodies[0].ends_with(r#""latest"]}"#),
            "{bodies:?}"
        );
        assert!(!finished(validator));
        ehr_validator_free(validator);
        // A host whose HTTP client got no answer (status 0): an outage, so
        // the validator asks again later instead of ending.
        let validator = one.validator();
        let bodies = exchange_with(validator, Some([0x70; 20]), &[(0, "connection refused")]);
        assert_eq!(bodies.len(), 1);
        assert!(!finished(validator));
        ehr_validator_free(validator);
    }
}

#[test]
fn a_c_host_reads_the_finalized_block_through_the_core_policy() {
    let one = OneTc::new();
    let mut exchange = null_mut();
    // SAFETY: every pointer is valid for its stated length; every handle is
    // freed once.
    unsafe {
        let validator = one.validator();
        let mut transmit = ehr_transmit {
            kind: ehr_transmit_kind::EHR_TRANSMIT_READ_BLOCK as u32,
            ..ehr_transmit::default()
        };
        let new = |transmit: &ehr_transmit, exchange: &mut *mut ehr_rpc_exchange| {
            ehr_rpc_exchange_new(
                validator,
                transmit,
                [0xee; 20].as_ptr(),
                null(),
                false,
                exchange,
            )
        };
        // EHR_FINALITY_DEPTH is no tag to read.
        assert_eq!(
            new(&transmit, &mut exchange),
            ehr_result::from(ErrorCode::InvalidArgument)
        );
        transmit.tag = ehr_finality::EHR_FINALITY_FINALIZED as u32;
        ok(new(&transmit, &mut exchange));
        let body = text_out(|buf, len, n| ehr_rpc_exchange_request(exchange, 3, buf, len, n));
        assert_eq!(
            body,
            r#"{"id":3,"jsonrpc":"2.0","method":"eth_getBlockByNumber","params":["finalized",false]}"#
        );
        ehr_rpc_exchange_free(exchange);
        ehr_validator_free(validator);
    }
}

#[test]
fn role_ids_and_reverts_are_the_cores() {
    // A role's on-chain id: keccak256 of its upper-case name and `_ROLE`.
    let mut id = [0u8; 32];
    let (nurse, nurse_len) = text("nurse");
    // SAFETY: `id` holds 32 writable bytes; the name is ours.
    ok(unsafe { ehr_role_id(nurse, nurse_len, id.as_mut_ptr()) });
    assert_eq!(B256::from(id), alloy_primitives::keccak256("NURSE_ROLE"));
    assert_eq!(B256::from(id), Role::new(Role::NURSE).unwrap().id());
    let (bad, bad_len) = text("Not A Role");
    // SAFETY: as above.
    let rc = unsafe { ehr_role_id(bad, bad_len, id.as_mut_ptr()) };
    assert_eq!(rc, ErrorCode::RoleInvalid);

    // Revert data decoded as JavaScript's decodeRevert decodes it.
    let data = alloy_sol_types::SolError::abi_encode(
        &ehrchain_core::registry_abi::IEhrRegistry::EhrRegistryTiAlreadyUsed {
            tiId: B256::repeat_byte(1),
            storedRecordHash: B256::repeat_byte(2),
        },
    );
    let json = text_out(|buf, len, n| {
        // SAFETY: `data` is ours; the buffer is text_out's.
        unsafe { ehr_decode_revert(data.as_ptr(), data.len(), buf, len, n) }
    });
    let expected = ehrchain_core::registry_abi::DecodedRevert::from_data(&data.clone().into());
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).unwrap(),
        serde_json::to_value(&expected).unwrap()
    );
    assert_eq!(expected.error.as_deref(), Some("EhrRegistryTiAlreadyUsed"));
    let empty = text_out(|buf, len, n| {
        // SAFETY: no data (NULL with length 0); the buffer is text_out's.
        unsafe { ehr_decode_revert(null(), 0, buf, len, n) }
    });
    assert!(empty.contains("\"error\":null"), "{empty}");
}

#[test]
fn a_batch_anchor_transaction_is_the_cores() {
    let hashes: Vec<B256> = (1..=3u8).map(B256::repeat_byte).collect();
    let registry = Address::repeat_byte(0xEE);
    let (mut builder, mut batch) = (null_mut(), null_mut());
    let mut index = 0u32;
    // SAFETY: every pointer is valid for its stated length; the handles are
    // freed once at the end.
    let json = unsafe {
        ok(ehr_batch_builder_new(&raw mut builder));
        for hash in &hashes {
            ok(ehr_batch_builder_push(
                builder,
                hash.as_ptr(),
                &raw mut index,
            ));
        }
        ok(ehr_batch_builder_build(
            builder,
            [9u8; 32].as_ptr(),
            &raw mut batch,
        ));
        let json = text_out(|b, l, n| {
            ehr_batch_anchor_transaction(batch, 1337, registry.0.0.as_ptr(), b, l, n)
        });
        ehr_batch_free(batch);
        ehr_batch_builder_free(builder);
        json
    };
    let mut core = ehrchain_core::BatchBuilder::new();
    for hash in hashes {
        core.push(hash).unwrap();
    }
    let tx = core
        .build(B256::repeat_byte(9))
        .unwrap()
        .anchor_transaction(registry, 1337);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).unwrap(),
        serde_json::to_value(ehrchain_core::Submission::from(&tx)).unwrap()
    );
}
