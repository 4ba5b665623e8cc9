//! FHIR R4 in and out (`docs/fhir.md`).
//!
//! ```text
//!  FHIR resource ─┐   template's "fhir" mapping          TI ──▶ generator ──▶ TC ──▶ chain
//!  FHIR Bundle ───┼─▶ (resource type, match codes,  ──▶  TI                             │
//!                 │    paths, UCUM units, author,        …                              ▼
//!                 │    patient, time)                    unmapped entries       ACK (valid / invalid)
//!                 │                                      (fullUrl + reason)              │
//!                 └────────────────── FhirSource ───────────────────────────▶ Provenance / AuditEvent
//! ```
//!
//! - A template's `fhir` section ([`FhirMappingDoc`]) says, as data, how a
//!   resource fills it; it is checked when the template loads
//!   ([`FhirMapping`]) and is *not* part of the template id, so hospitals may
//!   map different FHIR profiles to the same registered template.
//! - [`map_resource`] picks the one loaded template whose mapping selects a
//!   resource (newest active version of each name) and makes its TI;
//!   [`map_resource_to`] maps to a template the caller names; [`map_bundle`]
//!   maps every entry of a Bundle, resolving references inside it, and
//!   reports every entry it could not map with its `fullUrl` and the reason.
//! - Every problem with a resource's content is reported at once, each with
//!   the FHIRPath where it is ([`FhirError::Rejected`]).
//! - A TI id is derived from the resource (its `fullUrl`, or `Type/id`), the
//!   template and a host secret ([`FhirOptions::ti_id_salt`]): the same
//!   resource sent twice anchors once, and the on-chain TI id does not reveal
//!   the FHIR resource id.
//! - [`provenance`] and [`audit_event`] turn ACKs back into FHIR.
//!
//! Invariants: no I/O; nothing read from FHIR reaches the chain except
//! through the template (its `chain` fields and the keyed patient
//! pseudonym); unmapped entries are never dropped
//! (`mapped.len() + unmapped.len()` is the number of entries).

mod bundle;
mod doc;
mod error;
mod json;
mod mapping;
mod out;
mod path;
pub mod units;

use alloy_primitives::B256;
use serde::{Deserialize, Serialize};

pub use bundle::{BundleMapping, Unmapped};
pub use doc::{AuthorDoc, CodeMatchDoc, CodingDoc, FhirMappingDoc, FieldMapDoc, OneOrMany};
pub use error::{FhirError, FhirProblem, FhirProblemKind};
pub use mapping::FhirMapping;
pub use out::{
    ACCOUNT_SYSTEM, AnchorContext, BATCH_ROOT_SYSTEM, RECORD_HASH_SYSTEM, REGISTRY_SYSTEM,
    ROLE_SYSTEM, SIGNATURE_FORMAT, TEMPLATE_SYSTEM, TI_ID_SYSTEM, TRANSACTION_SYSTEM, ack_to_fhir,
    audit_event, provenance,
};
pub use path::{FhirPath, MAX_PATH_LEN};

use crate::{InitialTransaction, Role, Template, TemplateRegistry};
use bundle::Resolver;
use json::{Doc, Json};

/// Largest FHIR JSON text accepted (a resource or a Bundle), in bytes.
pub const MAX_FHIR_JSON_LEN: usize = 64 << 20;
/// Most entries a Bundle may have.
pub const MAX_BUNDLE_ENTRIES: usize = 100_000;

/// What the host tells the mapping that a template cannot know.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FhirOptions {
    /// The hospital's patient identifier system (the `Identifier.system` of
    /// its medical record numbers, such as `urn:oid:1.2.36.146.595.217.0.1`):
    /// the TI's `patientId` is the patient's identifier in this system.
    pub patient_identifier_system: String,
    /// If set, an author resolved in the Bundle is named by their identifier
    /// in this system (such as `http://hl7.org/fhir/sid/us-npi`); otherwise
    /// by `Type/id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner_identifier_system: Option<String>,
    /// The author for resources that name none (the interface account that
    /// submits them); without it such resources are rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_author: Option<String>,
    /// The role authors act in, instead of the mapping's `author.role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_role: Option<Role>,
    /// A secret of the host mixed into every derived TI id; keep it, or the
    /// same resource gets a new TI id.
    #[serde(default)]
    pub ti_id_salt: B256,
}

impl FhirOptions {
    /// Options with the hospital's patient identifier system and defaults
    /// for the rest (a zero salt: set [`FhirOptions::ti_id_salt`] in
    /// production).
    #[must_use]
    pub fn new(patient_identifier_system: impl Into<String>) -> Self {
        Self {
            patient_identifier_system: patient_identifier_system.into(),
            practitioner_identifier_system: None,
            fallback_author: None,
            author_role: None,
            ti_id_salt: B256::ZERO,
        }
    }
}

/// Which FHIR resource a TI came from, kept by the host beside the TI to
/// write the [`provenance`] or [`audit_event`] of its ACK.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FhirSource {
    /// The resource: its Bundle `fullUrl`, or `Type/id`.
    pub reference: String,
    /// Its resource type.
    pub resource_type: String,
    /// The author's reference (`Type/id`), when the resource names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

/// A TI made from a FHIR resource, with where it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MappedTi {
    /// The TI, ready for the generator.
    pub ti: InitialTransaction,
    /// The resource it came from.
    pub source: FhirSource,
}

fn parse(json: &str) -> Result<Doc<'_>, FhirError> {
    if json.len() > MAX_FHIR_JSON_LEN {
        return Err(FhirError::TooLarge {
            len: json.len(),
            max: MAX_FHIR_JSON_LEN,
        });
    }
    let value = Doc::parse(json).map_err(|e| FhirError::Json(e.to_string()))?;
    if value
        .root()
        .get("resourceType")
        .and_then(Json::as_str)
        .is_none()
    {
        return Err(FhirError::Json(
            "the document is not a FHIR resource: it has no resourceType".into(),
        ));
    }
    Ok(value)
}

/// Maps one FHIR resource (JSON text) with the loaded template whose mapping
/// selects it. References resolve only to contained resources (`#id`); a
/// patient reference must carry an identifier in the hospital's system, or
/// send the resource in a Bundle with its Patient ([`map_bundle`]).
///
/// # Errors
/// [`FhirError`]: malformed or oversized JSON, no or several templates
/// selecting the resource, or every problem with its content.
pub fn map_resource(
    registry: &TemplateRegistry,
    json: &str,
    options: &FhirOptions,
) -> Result<MappedTi, FhirError> {
    standalone(json, |source, resolver| {
        map_value(registry, resolver, source, options)
    })
}

/// Maps one FHIR resource (JSON text) to `template`, which must have a
/// mapping: a resource of another type, or without the selecting codes, is
/// rejected with those problems.
///
/// # Errors
/// [`FhirError`] as for [`map_resource`]; `NoTemplate` when `template` has
/// no FHIR mapping.
pub fn map_resource_to(
    template: &Template,
    json: &str,
    options: &FhirOptions,
) -> Result<MappedTi, FhirError> {
    standalone(json, |source, resolver| {
        let Some(mapping) = template.fhir() else {
            return Err(no_template(resolver));
        };
        mapping.apply(template, resolver, source, options, true)
    })
}

/// Runs `map` on the resource of `json`, outside any Bundle: its
/// `type/id` source, references resolving to contained resources only.
fn standalone<T>(
    json: &str,
    map: impl FnOnce(&str, &Resolver<'_>) -> Result<T, FhirError>,
) -> Result<T, FhirError> {
    let doc = parse(json)?;
    let resource = doc.root();
    let resolver = Resolver {
        resource,
        bundle: None,
    };
    let source = bundle::type_id(resource).unwrap_or_default();
    map(&source, &resolver)
}

/// Maps every entry of a FHIR Bundle (`collection`, `transaction`, `batch`
/// or `searchset`; JSON text) to TIs, resolving `Patient` and
/// `Practitioner` references inside the Bundle. Entries that give no TI
/// (supporting resources such as the Patient, resources no template maps,
/// resources with problems) are in [`BundleMapping::unmapped`] with their
/// `fullUrl` and the reason. The TIs may go out one by one or as one Merkle
/// batch.
///
/// # Errors
/// [`FhirError`] for the Bundle as a whole: malformed or oversized JSON, not
/// a Bundle, another Bundle type, more than [`MAX_BUNDLE_ENTRIES`] entries,
/// a `fullUrl` used twice.
pub fn map_bundle(
    registry: &TemplateRegistry,
    json: &str,
    options: &FhirOptions,
) -> Result<BundleMapping, FhirError> {
    let bundle = parse(json)?;
    bundle::map_bundle_value(registry, bundle.root(), options)
}

/// Picks the template for the resolver's resource and maps it.
fn map_value(
    registry: &TemplateRegistry,
    resolver: &Resolver<'_>,
    source: &str,
    options: &FhirOptions,
) -> Result<MappedTi, FhirError> {
    let resource = resolver.resource;
    let found = resource
        .get("resourceType")
        .and_then(Json::as_str)
        .unwrap_or_default();
    // The newest active version of each name whose mapping takes this type
    // (asked of the registry only for templates that select the resource).
    let of_type = || {
        registry
            .iter()
            .map(AsRef::as_ref)
            .filter_map(|t: &Template| Some((t, t.fhir()?)))
            .filter(|(_, m)| m.resource_type() == found)
    };
    let latest = |t: &Template| registry.latest(t.name()).map(|l| l.id()) == Some(t.id());
    let mut chosen = of_type().filter(|(t, m)| m.selects(resource, resolver) && latest(t));
    match (chosen.next(), chosen.next()) {
        (Some((template, mapping)), None) => {
            mapping.apply(template, resolver, source, options, false)
        }
        (Some(first), Some(second)) => Err(FhirError::AmbiguousTemplate {
            resource_type: found.to_owned(),
            templates: [first, second]
                .into_iter()
                .chain(chosen)
                .map(|(t, _)| t.name().to_owned())
                .collect(),
        }),
        // With one template for the type, its `match` problems name the path.
        (None, _) => {
            let mut candidates = of_type().filter(|(t, _)| latest(t));
            match (candidates.next(), candidates.next()) {
                (Some((template, mapping)), None) => {
                    mapping.apply(template, resolver, source, options, true)
                }
                _ => Err(no_template(resolver)),
            }
        }
    }
}

fn resource_type(resource: Json<'_>) -> String {
    resource
        .get("resourceType")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn no_template(resolver: &Resolver<'_>) -> FhirError {
    let resource = resolver.resource;
    let codes = FhirPath::parse("code.coding")
        .map(|p| {
            p.eval(resource, resolver)
                .into_iter()
                .filter_map(|c| {
                    let system = c.get("system")?.as_str()?;
                    let code = c.get("code")?.as_str()?;
                    Some(format!("{system}|{code}"))
                })
                .take(8)
                .collect()
        })
        .unwrap_or_default();
    FhirError::NoTemplate {
        resource_type: resource_type(resource),
        codes,
    }
}

/// `docs/fhir.md`, whose worked example runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/fhir.md")]
pub struct FhirGuide;

#[cfg(test)]
mod tests;
