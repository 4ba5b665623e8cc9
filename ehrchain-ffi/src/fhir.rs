//! `ehr_fhir_…`: FHIR R4 resources and Bundles (JSON text) to TIs, and ACKs
//! back to FHIR Provenance or AuditEvent (`docs/fhir.md`). Every rule lives in
//! `ehrchain_core::fhir`; this module only converts pointers and text.

use std::ffi::c_char;

use ehrchain_core::fhir::{self, AnchorContext, BundleMapping, FhirOptions, MappedTi};
use ehrchain_core::{Ack, ErrorCode, UnixMillis};

use crate::handshaker::ehr_ack;
use crate::ptr::{self, Out};
use crate::result::{Error, Result, ehr_result};
use crate::shapes::{free, from_json, guard_on, handle_of, json_text, text_of};
use crate::templates::ehr_templates;
use crate::ti::ehr_ti;

/// The TIs made from a FHIR resource or Bundle, and the entries that gave
/// none with the reason (`ehr_fhir_mapping_to_json`).
///
/// Thread safety: immutable; may be used from several threads at once.
pub struct ehr_fhir_mapping {
    mapping: BundleMapping,
}

fn options(json: &str) -> Result<FhirOptions> {
    from_json(json, |e| {
        format!(
            "the FHIR options are not valid: {e}; give at least {{\"patientIdentifierSystem\": \"<your MRN system>\"}}"
        )
    })
}

/// Maps every entry of a FHIR Bundle (`bundle_json`, UTF-8 JSON text) with
/// the templates' FHIR mappings. `options_json` is the `FhirOptions` object
/// (`{"patientIdentifierSystem": …, "tiIdSalt": "0x…", …}`, `docs/fhir.md`).
/// Entries that give no TI are in the mapping with their `fullUrl` and
/// reason, never dropped. Free the mapping with `ehr_fhir_mapping_free`.
/// Errors `EHR_FHIR_*` for the Bundle as a whole.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_fhir_map_bundle(
    templates: *const ehr_templates,
    bundle_json: *const c_char,
    bundle_json_len: usize,
    options_json: *const c_char,
    options_json_len: usize,
    mapping_out: *mut *mut ehr_fhir_mapping,
) -> ehr_result {
    guard_on(templates, "templates", |templates| {
        let bundle = ptr::text(bundle_json, bundle_json_len, "bundle_json")?;
        mapped(options_json, options_json_len, mapping_out, |options| {
            fhir::map_bundle(&templates.registry, bundle, options)
        })
    })
}

/// Maps one FHIR resource (`resource_json`) with the template whose mapping
/// selects it; on success the mapping holds exactly one TI. A resource that
/// does not fill its template fails with `EHR_FHIR_REJECTED` and every
/// problem, with its path, in `ehr_last_error`. Free the mapping with
/// `ehr_fhir_mapping_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_fhir_map_resource(
    templates: *const ehr_templates,
    resource_json: *const c_char,
    resource_json_len: usize,
    options_json: *const c_char,
    options_json_len: usize,
    mapping_out: *mut *mut ehr_fhir_mapping,
) -> ehr_result {
    guard_on(templates, "templates", |templates| {
        let resource = ptr::text(resource_json, resource_json_len, "resource_json")?;
        mapped(options_json, options_json_len, mapping_out, |options| {
            fhir::map_resource(&templates.registry, resource, options).map(one)
        })
    })
}

/// Maps one FHIR resource (`resource_json`) to the template with the 32-byte
/// id `template_id`, as `ehr_fhir_map_resource` (for a template that is not
/// the one its mapping would select, or to pick one version):
/// `EHR_TEMPLATE_UNKNOWN` when no template has this id, `EHR_FHIR_UNMAPPED`
/// when it has no FHIR mapping, `EHR_FHIR_REJECTED` for a resource of
/// another type or one without its codes, with every problem.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_fhir_map_resource_to(
    templates: *const ehr_templates,
    template_id: *const u8,
    resource_json: *const c_char,
    resource_json_len: usize,
    options_json: *const c_char,
    options_json_len: usize,
    mapping_out: *mut *mut ehr_fhir_mapping,
) -> ehr_result {
    guard_on(templates, "templates", |templates| {
        let id = ptr::b256(template_id, "template_id")?;
        let template = templates.registry.template(&id)?;
        let resource = ptr::text(resource_json, resource_json_len, "resource_json")?;
        mapped(options_json, options_json_len, mapping_out, |options| {
            fhir::map_resource_to(template, resource, options).map(one)
        })
    })
}

/// The end of the `ehr_fhir_map_*` functions, once they read their FHIR
/// JSON text: reads the `FhirOptions` of `options_json` (`options_json_len`
/// bytes), checks `mapping_out`, then hands the mapping `map` makes under
/// those options to the caller through it.
fn mapped(
    options_json: *const c_char,
    options_json_len: usize,
    mapping_out: *mut *mut ehr_fhir_mapping,
    map: impl FnOnce(&FhirOptions) -> std::result::Result<BundleMapping, fhir::FhirError>,
) -> Result<()> {
    let options = options(ptr::text(options_json, options_json_len, "options_json")?)?;
    let out = Out::new(mapping_out, "mapping_out")?;
    out.give(ehr_fhir_mapping {
        mapping: map(&options)?,
    });
    Ok(())
}

/// The mapping of one resource: its one TI, and no entry that gave none.
fn one(ti: MappedTi) -> BundleMapping {
    BundleMapping {
        mapped: vec![ti],
        unmapped: Vec::new(),
    }
}

/// Writes how many TIs the mapping made (`*mapped_out`) and how many entries
/// gave none (`*unmapped_out`); together, every entry of the Bundle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_fhir_mapping_counts(
    mapping: *const ehr_fhir_mapping,
    mapped_out: *mut usize,
    unmapped_out: *mut usize,
) -> ehr_result {
    guard_on(mapping, "mapping", |mapping| {
        let mapped = Out::new(mapped_out, "mapped_out")?;
        let unmapped = Out::new(unmapped_out, "unmapped_out")?;
        mapped.set(mapping.mapping.mapped.len());
        unmapped.set(mapping.mapping.unmapped.len());
        Ok(())
    })
}

fn entry(mapping: &ehr_fhir_mapping, index: usize) -> Result<&MappedTi> {
    let mapped = &mapping.mapping.mapped;
    mapped.get(index).ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "index {index} is out of range: the mapping made {} TI(s)",
                mapped.len()
            ),
        )
    })
}

/// Makes a TI handle from the mapping's TI number `index` (from 0), for
/// `ehr_handshaker_generate` and the rest of the TI API. Free it with
/// `ehr_ti_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_fhir_mapping_ti(
    mapping: *const ehr_fhir_mapping,
    index: usize,
    ti_out: *mut *mut ehr_ti,
) -> ehr_result {
    handle_of(mapping, ti_out, "mapping", "ti_out", |mapping| {
        let ti = entry(mapping, index)?.ti.clone();
        Ok(ehr_ti { ti })
    })
}

/// Writes the JSON of the mapping's TI number `index` with its source
/// (`{"ti": {…}, "source": {"reference": …, "resourceType": …, "author":
/// …}}`): store it beside the TI, and give it back to `ehr_fhir_ack_to_fhir`
/// with the ACK (text-output rules: `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_fhir_mapping_entry_json(
    mapping: *const ehr_fhir_mapping,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(mapping, buf, len, out_len, "mapping", |m| {
        json_text(entry(m, index)?)
    })
}

/// Writes the whole mapping as JSON: `{"mapped": [{"ti": …, "source": …}],
/// "unmapped": [{"index", "fullUrl", "resourceType", "code", "reason",
/// "problems"}]}` (text-output rules: `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_fhir_mapping_to_json(
    mapping: *const ehr_fhir_mapping,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(mapping, buf, len, out_len, "mapping", |m| {
        json_text(&m.mapping)
    })
}

/// Frees a mapping; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_fhir_mapping_free(mapping: *mut ehr_fhir_mapping) {
    free(mapping);
}

/// Writes the FHIR R4 resource for `ack`: a Provenance when it is valid, an
/// AuditEvent when it is invalid. `entry_json` is what
/// `ehr_fhir_mapping_entry_json` wrote for the ACK's TI; `chain_id` and
/// `registry` (20 bytes) name where the record is anchored; `recorded_ms` is
/// the time to record, in Unix milliseconds (text-output rules:
/// `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_fhir_ack_to_fhir(
    ack: *const ehr_ack,
    entry_json: *const c_char,
    entry_json_len: usize,
    chain_id: u64,
    registry: *const u8,
    recorded_ms: u64,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    let anchor = (entry_json, entry_json_len, chain_id, registry, recorded_ms);
    resource_of(ack, anchor, (buf, len, out_len), fhir::ack_to_fhir)
}

/// Writes the FHIR R4 AuditEvent for `ack`, valid or invalid: the export of
/// the record to the registry, `outcome` 0 when it succeeded (4 or 8 when
/// not, as `ehr_fhir_ack_to_fhir` writes it), for an audit log that records
/// every ACK. Arguments as `ehr_fhir_ack_to_fhir`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_fhir_ack_to_audit_event(
    ack: *const ehr_ack,
    entry_json: *const c_char,
    entry_json_len: usize,
    chain_id: u64,
    registry: *const u8,
    recorded_ms: u64,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    let anchor = (entry_json, entry_json_len, chain_id, registry, recorded_ms);
    resource_of(ack, anchor, (buf, len, out_len), fhir::audit_event)
}

/// The C arguments naming an ACK's TI and anchor: `entry_json` and its
/// length, `chain_id`, `registry` (20 bytes), `recorded_ms`.
type AnchorArgs = (*const c_char, usize, u64, *const u8, u64);

/// Writes the resource `make` builds for `ack` from the C arguments.
fn resource_of(
    ack: *const ehr_ack,
    (entry_json, entry_json_len, chain_id, registry, recorded_ms): AnchorArgs,
    (buf, len, out_len): (*mut c_char, usize, *mut usize),
    make: fn(&Ack, &MappedTi, &AnchorContext, UnixMillis) -> serde_json::Value,
) -> ehr_result {
    guard_on(ack, "ack", |ack| {
        let entry: MappedTi =
            from_json(ptr::text(entry_json, entry_json_len, "entry_json")?, |e| {
                format!("entry_json is not what ehr_fhir_mapping_entry_json wrote: {e}")
            })?;
        let context = AnchorContext {
            chain_id,
            registry: ptr::address(registry, "registry")?,
        };
        let resource = make(&ack.ack, &entry, &context, UnixMillis(recorded_ms));
        ptr::write_text(buf, len, out_len, &resource.to_string())
    })
}
