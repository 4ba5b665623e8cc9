//! FHIR JSON from an EHR (untrusted text): a Bundle or a single resource,
//! mapped with the built-in templates' FHIR mappings, then the generator and
//! the FHIR resources written back.
//!
//! Mapping must return `Ok` or `Err`, never panic; a text that is not JSON
//! is refused with `serde_json`'s own error. For a Bundle, every entry is
//! either mapped or reported (the counts add up to `Bundle.entry`'s length,
//! and reports are in entry order). A mapped TI's field values already passed
//! its template's checks, so the generator may refuse it only for the TI as a
//! whole (an identifier, the timestamp), never for a field. The Provenance of
//! a valid ACK and the AuditEvent of an invalid one are written without panic
//! and name the source resource.
#![no_main]

use ehrchain_core::fhir::{self, AnchorContext, FhirError, FhirOptions, MappedTi};
use ehrchain_core::generator::GenerateError;
use ehrchain_core::validator::{Anchor, InvalidReason};
use ehrchain_core::{Ack, AckStatus, Address, B256};
use ehrchain_fuzz::{NOW, fixture, rng};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let fx = fixture();
    let mut options = FhirOptions::new("urn:oid:1.2.36.146.595.217.0.1");
    options.fallback_author = Some("interface-1".into());
    let mapped: Vec<MappedTi> = match fhir::map_bundle(&fx.registry, json, &options) {
        Ok(mapping) => {
            let entries = serde_json::from_str::<Value>(json)
                .ok()
                .and_then(|b| b.get("entry")?.as_array().map(Vec::len))
                .unwrap_or(0);
            assert_eq!(mapping.mapped.len() + mapping.unmapped.len(), entries);
            assert!(mapping.unmapped.windows(2).all(|w| w[0].index < w[1].index));
            for u in &mapping.unmapped {
                let _ = u.reason.to_string();
                let _ = serde_json::to_string(u);
            }
            mapping.mapped
        }
        Err(e) => {
            let _ = (e.to_string(), e.code());
            // The FHIR JSON reader refuses what serde_json refuses, with its error.
            if let (true, Err(json_error)) = (
                json.len() <= fhir::MAX_FHIR_JSON_LEN,
                serde_json::from_str::<Value>(json),
            ) {
                assert_eq!(e, FhirError::Json(json_error.to_string()));
            }
            match fhir::map_resource(&fx.registry, json, &options) {
                Ok(mapped) => vec![mapped],
                Err(e) => {
                    let _ = (e.to_string(), e.code());
                    return;
                }
            }
        }
    };
    let context = AnchorContext {
        chain_id: 1337,
        registry: Address::repeat_byte(0xee),
    };
    for m in &mapped {
        match fx.generator.generate(&fx.registry, &m.ti, NOW, &mut rng()) {
            Ok(_) => {}
            Err(GenerateError::Rejected(violations)) => {
                for v in &violations.0 {
                    assert!(v.field.is_none(), "a mapped field was refused: {v}");
                }
            }
            Err(e) => panic!("generating a mapped TI failed: {e}"),
        }
        for status in [
            AckStatus::Valid(Anchor {
                tx_hash: None,
                block_number: None,
                block_hash: None,
                log_index: None,
                gas_used: None,
                replay: false,
                recovered: None,
                batch: None,
                final_block: None,
            }),
            AckStatus::Invalid {
                reason: InvalidReason::MissingAnchorEvent,
                tx_hashes: vec![],
            },
        ] {
            let ack = Ack {
                ti_id: m.ti.ti_id,
                template_id: m.ti.template_id,
                record_hash: Some(B256::repeat_byte(1)),
                envelope: None,
                authorship: None,
                status,
            };
            let out = fhir::ack_to_fhir(&ack, m, &context, NOW);
            let target = out
                .get("target")
                .and_then(|t| t.get(0))
                .or_else(|| out.get("entity").and_then(|e| e.get(0)?.get("what")))
                .and_then(|r| r.get("reference"))
                .and_then(Value::as_str);
            assert_eq!(target, Some(m.source.reference.as_str()));
        }
    }
});
