//! `ffi_overhead`: TC generation through the C ABI (`ehr_handshaker_generate`
//! then `ehr_tc_free`) against `TransactionGenerator::generate` called
//! directly, on the same 1 KiB blood-pressure TI, keys, template, clock and
//! nonce stream. See `README.md`; the target is under 5 % overhead.
#![allow(missing_docs, unsafe_code, clippy::unwrap_used, clippy::expect_used)]

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::ptr::null_mut;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ehrchain_benches::{
    Fixture, NOW, PSEUDONYM_KEY, PSEUDONYM_KEY_ID, RECORD_BYTES, SEALING_KEY, SEALING_KEY_ID,
    alternate, report_overhead, rng, template_json,
};
use ehrchain_ffi::{
    ehr_handshaker, ehr_handshaker_config_builder_build, ehr_handshaker_config_builder_free,
    ehr_handshaker_config_builder_new, ehr_handshaker_config_builder_set_max_clock_skew_ms,
    ehr_handshaker_config_free, ehr_handshaker_free, ehr_handshaker_generate, ehr_handshaker_new,
    ehr_handshaker_set_seed, ehr_key_store_free, ehr_key_store_insert, ehr_key_store_new,
    ehr_result, ehr_tc_free, ehr_templates_add_json, ehr_templates_free, ehr_templates_new, ehr_ti,
    ehr_ti_free, ehr_ti_from_json,
};

/// The fixture's generator, built again through the C ABI.
struct Ffi {
    hs: *mut ehr_handshaker,
    ti: *mut ehr_ti,
}

impl Ffi {
    fn new(fx: &Fixture, ti_json: &str) -> Self {
        let json = template_json().expect("the benchmark template");
        let (mut templates, mut keys, mut hs, mut ti) =
            (null_mut(), null_mut(), null_mut(), null_mut());
        let (mut builder, mut config) = (null_mut(), null_mut());
        let mut id = [0u8; 32];
        // SAFETY: every pointer is valid for its stated length; the handles
        // are freed in `Drop` (the templates and keys right here: the
        // handshaker holds copies).
        unsafe {
            assert_eq!(ehr_templates_new(&raw mut templates), ehr_result::OK);
            let rc = ehr_templates_add_json(
                templates,
                json.as_ptr().cast(),
                json.len(),
                id.as_mut_ptr(),
            );
            assert_eq!(rc, ehr_result::OK);
            assert_eq!(ehr_key_store_new(&raw mut keys), ehr_result::OK);
            for (key_id, key) in [
                (SEALING_KEY_ID, SEALING_KEY),
                (PSEUDONYM_KEY_ID, PSEUDONYM_KEY),
            ] {
                let rc =
                    ehr_key_store_insert(keys, key_id.as_ptr().cast(), key_id.len(), key.as_ptr());
                assert_eq!(rc, ehr_result::OK);
            }
            let generator = fx.generator.config();
            let rc = ehr_handshaker_config_builder_new(
                generator.chain_id,
                generator.registry.0.0.as_ptr(),
                SEALING_KEY_ID.as_ptr().cast(),
                SEALING_KEY_ID.len(),
                PSEUDONYM_KEY_ID.as_ptr().cast(),
                PSEUDONYM_KEY_ID.len(),
                &raw mut builder,
            );
            assert_eq!(rc, ehr_result::OK);
            let rc = ehr_handshaker_config_builder_set_max_clock_skew_ms(
                builder,
                generator.max_clock_skew_ms,
            );
            assert_eq!(rc, ehr_result::OK);
            let rc = ehr_handshaker_config_builder_build(builder, &raw mut config);
            assert_eq!(rc, ehr_result::OK);
            assert_eq!(
                ehr_handshaker_new(templates, keys, config, &raw mut hs),
                ehr_result::OK
            );
            ehr_handshaker_config_free(config);
            ehr_handshaker_config_builder_free(builder);
            // The same nonce stream as the direct bench's `rng()`.
            let seed = rng().get_seed();
            assert_eq!(ehr_handshaker_set_seed(hs, seed.as_ptr()), ehr_result::OK);
            let rc = ehr_ti_from_json(ti_json.as_ptr().cast(), ti_json.len(), &raw mut ti);
            assert_eq!(rc, ehr_result::OK);
            ehr_key_store_free(keys);
            ehr_templates_free(templates);
        }
        Self { hs, ti }
    }

    fn generate(&self) {
        let mut tc = null_mut();
        // SAFETY: `hs` and `ti` are live handles; `tc` is a valid out slot,
        // freed at once.
        unsafe {
            let rc =
                ehr_handshaker_generate(self.hs, black_box(self.ti), NOW.as_millis(), &raw mut tc);
            assert_eq!(rc, ehr_result::OK);
            ehr_tc_free(black_box(tc));
        }
    }
}

impl Drop for Ffi {
    fn drop(&mut self) {
        // SAFETY: handles made in `new`, freed once.
        unsafe {
            ehr_ti_free(self.ti);
            ehr_handshaker_free(self.hs);
        }
    }
}

fn ffi_overhead(c: &mut Criterion) {
    let fx = Fixture::new().expect("fixture");
    let ti = fx.ti_with_record_size(RECORD_BYTES).expect("1 KiB TI");
    let ffi = Ffi::new(&fx, &ti.to_json());
    let direct_rng = RefCell::new(rng());
    let direct = || {
        let tc = fx
            .generator
            .generate(
                &fx.registry,
                black_box(&ti),
                NOW,
                &mut *direct_rng.borrow_mut(),
            )
            .expect("valid TI");
        drop(black_box(tc));
    };

    let mut group = c.benchmark_group("ffi_overhead");
    group.throughput(Throughput::Elements(1));
    group.bench_function("direct/1KiB", |b| b.iter(direct));
    group.bench_function("c_abi/1KiB", |b| b.iter(|| ffi.generate()));
    // The overhead: one direct call and one C ABI call per iteration, timed
    // apart (`alternate`).
    let totals = Cell::new((Duration::ZERO, Duration::ZERO));
    group.bench_function("alternating/1KiB", |b| {
        b.iter_custom(|iters| alternate(iters, direct, || ffi.generate(), &totals));
    });
    group.finish();
    report_overhead("ffi_overhead", ("direct", "c_abi"), totals.get())
        .expect("write ffi_overhead.json");
}

criterion_group!(benches, ffi_overhead);
criterion_main!(benches);
