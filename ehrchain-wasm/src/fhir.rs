//! FHIR R4 in and out for JavaScript: plain FHIR objects (or their JSON text)
//! in, TIs and FHIR Provenance / AuditEvent objects out (`docs/fhir.md`).
//! Every rule lives in `ehrchain_core::fhir`; this module converts values.

use ehrchain_core::fhir::{self, AnchorContext, FhirError, FhirOptions, MappedTi};
use ehrchain_core::{Ack, UnixMillis};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::error::Failure;
use crate::templates::Templates;

/// Maps every entry of a FHIR Bundle (an object or its JSON text) with the
/// templates' FHIR mappings: `{mapped: [{ti, source}], unmapped: [{index,
/// fullUrl, resourceType, code, reason, problems}]}`; every entry is in one of
/// the two lists. Each `ti` goes to `Handshaker.generate`; keep its entry to
/// turn the ACK into FHIR with `fhirFromAck`.
///
/// # Errors
/// `EHR_FHIR_MALFORMED`, `EHR_FHIR_TOO_LARGE` for the Bundle as a whole;
/// `EHR_INVALID_JSON` for options that are not `FhirOptions`.
#[wasm_bindgen(js_name = fhirMapBundle, unchecked_return_type = "FhirMapping")]
pub fn fhir_map_bundle(
    templates: &Templates,
    #[wasm_bindgen(unchecked_param_type = "FhirBundle | string")] bundle: JsValue,
    #[wasm_bindgen(unchecked_param_type = "FhirOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    mapped(&bundle, "bundle", &options, |json, options| {
        fhir::map_bundle(&templates.inner, json, options)
    })
}

/// Maps one FHIR resource (an object or its JSON text) with the template
/// whose mapping selects it, or with the template `templateId` when given
/// (to pick one version, or a template its mapping would not select):
/// `{ti, source}`.
///
/// # Errors
/// `EHR_FHIR_UNMAPPED` when no template (or several) maps it, or
/// `templateId`'s has no FHIR mapping; `EHR_TEMPLATE_UNKNOWN` for a
/// `templateId` no template has; `EHR_FHIR_REJECTED` with every problem and
/// its path in the message.
#[wasm_bindgen(js_name = fhirMapResource, unchecked_return_type = "FhirMappedTi")]
pub fn fhir_map_resource(
    templates: &Templates,
    #[wasm_bindgen(unchecked_param_type = "FhirResource | string")] resource: JsValue,
    #[wasm_bindgen(unchecked_param_type = "FhirOptions")] options: JsValue,
    #[wasm_bindgen(js_name = templateId, unchecked_optional_param_type = "Hex")]
    template_id: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let template = match template_id.filter(|id| !id.is_undefined()) {
        None => None,
        Some(id) => {
            let id = convert::b256(&id, "templateId")?;
            Some(templates.inner.template(&id).map_err(Failure::from)?)
        }
    };
    mapped(
        &resource,
        "resource",
        &options,
        |json, options| match template {
            None => fhir::map_resource(&templates.inner, json, options),
            Some(template) => fhir::map_resource_to(template, json, options),
        },
    )
}

/// What `map` makes of the FHIR JSON `input` (the argument `what`) with the
/// `FhirOptions` `options`, as a JS value.
fn mapped<T: Serialize>(
    input: &JsValue,
    what: &str,
    options: &JsValue,
    map: impl FnOnce(&str, &FhirOptions) -> Result<T, FhirError>,
) -> Result<JsValue, JsValue> {
    let json = convert::json_text(input, what)?;
    let options: FhirOptions = convert::document(options, "options")?;
    Ok(convert::to_js(
        &map(&json, &options).map_err(Failure::from)?,
    )?)
}

/// The FHIR R4 resource for an ACK: a `Provenance` when it is valid, an
/// `AuditEvent` when it is invalid. `entry` is the ACK's TI as
/// `fhirMapBundle` or `fhirMapResource` gave it; `context` names the chain
/// and registry; `recordedMs` is the time to record (Unix milliseconds).
///
/// # Errors
/// `EHR_INVALID_JSON` for an ACK, entry or context of the wrong shape;
/// `EHR_INVALID_ARGUMENT` for a time that is not a whole number.
#[wasm_bindgen(js_name = fhirFromAck, unchecked_return_type = "FhirAckResource")]
pub fn fhir_from_ack(
    #[wasm_bindgen(unchecked_param_type = "Ack")] ack: JsValue,
    #[wasm_bindgen(unchecked_param_type = "FhirMappedTi")] entry: JsValue,
    #[wasm_bindgen(unchecked_param_type = "FhirAnchorContext")] context: JsValue,
    #[wasm_bindgen(js_name = recordedMs, unchecked_param_type = "number")] recorded_ms: JsValue,
) -> Result<JsValue, JsValue> {
    let (ack, entry, context, recorded) = ack_parts(&ack, &entry, &context, &recorded_ms)?;
    Ok(convert::to_js(&fhir::ack_to_fhir(
        &ack, &entry, &context, recorded,
    ))?)
}

/// The FHIR R4 `AuditEvent` for any ACK, valid or invalid (for an audit log
/// that records every export): `outcome` `"0"` for a valid ACK, `"4"` (may
/// be run again) or `"8"` with `outcomeDesc` the reason for an invalid one.
/// Arguments as `fhirFromAck`; the core's `fhir::audit_event`.
///
/// # Errors
/// `EHR_INVALID_JSON` for an ACK, entry or context of the wrong shape;
/// `EHR_INVALID_ARGUMENT` for a time that is not a whole number.
#[wasm_bindgen(js_name = fhirAuditEvent, unchecked_return_type = "FhirAuditEvent")]
pub fn fhir_audit_event(
    #[wasm_bindgen(unchecked_param_type = "Ack")] ack: JsValue,
    #[wasm_bindgen(unchecked_param_type = "FhirMappedTi")] entry: JsValue,
    #[wasm_bindgen(unchecked_param_type = "FhirAnchorContext")] context: JsValue,
    #[wasm_bindgen(js_name = recordedMs, unchecked_param_type = "number")] recorded_ms: JsValue,
) -> Result<JsValue, JsValue> {
    let (ack, entry, context, recorded) = ack_parts(&ack, &entry, &context, &recorded_ms)?;
    Ok(convert::to_js(&fhir::audit_event(
        &ack, &entry, &context, recorded,
    ))?)
}

/// The FHIR R4 `Provenance` of a valid ACK, `undefined` for an invalid one
/// (which has no anchor to prove). Arguments as `fhirFromAck`; the core's
/// `fhir::provenance`.
///
/// # Errors
/// `EHR_INVALID_JSON` for an ACK, entry or context of the wrong shape;
/// `EHR_INVALID_ARGUMENT` for a time that is not a whole number.
#[wasm_bindgen(js_name = fhirProvenance, unchecked_return_type = "FhirProvenance | undefined")]
pub fn fhir_provenance(
    #[wasm_bindgen(unchecked_param_type = "Ack")] ack: JsValue,
    #[wasm_bindgen(unchecked_param_type = "FhirMappedTi")] entry: JsValue,
    #[wasm_bindgen(unchecked_param_type = "FhirAnchorContext")] context: JsValue,
    #[wasm_bindgen(js_name = recordedMs, unchecked_param_type = "number")] recorded_ms: JsValue,
) -> Result<JsValue, JsValue> {
    let (ack, entry, context, recorded) = ack_parts(&ack, &entry, &context, &recorded_ms)?;
    Ok(convert::to_js_or_undefined(fhir::provenance(
        &ack, &entry, &context, recorded,
    ))?)
}

/// The ACK, its mapped entry, the anchor context and the time to record,
/// read from the arguments of `fhirFromAck` and its two siblings.
fn ack_parts(
    ack: &JsValue,
    entry: &JsValue,
    context: &JsValue,
    recorded_ms: &JsValue,
) -> Result<(Ack, MappedTi, AnchorContext, UnixMillis), Failure> {
    Ok((
        convert::document(ack, "ack")?,
        convert::document(entry, "entry")?,
        convert::document(context, "context")?,
        UnixMillis(convert::uint(recorded_ms, "recordedMs")?),
    ))
}
