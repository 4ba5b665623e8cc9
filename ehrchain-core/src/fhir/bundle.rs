//! FHIR Bundles: every entry mapped to a TI or reported, references resolved
//! inside the Bundle.

use std::collections::HashMap;

use super::json::Json;
use serde::Serialize;

use super::error::FhirError;
use super::path::Resolve;
use super::{FhirOptions, MAX_BUNDLE_ENTRIES, MappedTi, map_value};
use crate::TemplateRegistry;

/// The Bundle types whose entries are records to anchor.
const BUNDLE_TYPES: [&str; 4] = ["collection", "transaction", "batch", "searchset"];

/// An entry that gave no TI, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    /// The entry's position in `Bundle.entry`, from 0.
    pub index: usize,
    /// The entry's `fullUrl`, if it has one.
    pub full_url: Option<String>,
    /// The entry's resource type, if it has one.
    pub resource_type: Option<String>,
    /// Why no TI was made.
    pub reason: FhirError,
}

/// A Bundle's entries: the TIs made and the entries that gave none. Every
/// entry is in exactly one of the two lists.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleMapping {
    /// One TI per mappable entry, in entry order.
    pub mapped: Vec<MappedTi>,
    /// Every other entry, in entry order.
    pub unmapped: Vec<Unmapped>,
}

/// The JSON form of [`Unmapped`] (`reason` as its message, `code` its
/// [`ErrorCode`](crate::ErrorCode) name, `problems` when the entry was
/// rejected).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnmappedJson<'a> {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_type: Option<&'a str>,
    code: &'static str,
    reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    problems: Option<&'a [super::FhirProblem]>,
}

impl Serialize for Unmapped {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        UnmappedJson {
            index: self.index,
            full_url: self.full_url.as_deref(),
            resource_type: self.resource_type.as_deref(),
            code: self.reason.code().name(),
            reason: self.reason.to_string(),
            problems: match &self.reason {
                FhirError::Rejected { problems, .. } => Some(problems),
                _ => None,
            },
        }
        .serialize(serializer)
    }
}

impl Serialize for BundleMapping {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a> {
            mapped: &'a [MappedTi],
            unmapped: &'a [Unmapped],
        }
        Json {
            mapped: &self.mapped,
            unmapped: &self.unmapped,
        }
        .serialize(serializer)
    }
}

/// The resources of a Bundle by `fullUrl` and by `Type/id`.
pub(crate) struct BundleIndex<'a> {
    by_full_url: HashMap<&'a str, Json<'a>>,
    by_type_id: HashMap<String, Json<'a>>,
}

impl<'a> BundleIndex<'a> {
    fn new(entries: &[Json<'a>]) -> Result<Self, FhirError> {
        let mut index = Self {
            by_full_url: HashMap::with_capacity(entries.len()),
            by_type_id: HashMap::with_capacity(entries.len()),
        };
        for (i, entry) in entries.iter().enumerate() {
            let Some(resource) = entry.get("resource") else {
                continue;
            };
            if let Some(url) = entry.get("fullUrl").and_then(Json::as_str)
                && index.by_full_url.insert(url, resource).is_some()
            {
                return Err(FhirError::MalformedBundle(format!(
                    "entry {i}: fullUrl {url:?} is used by two entries"
                )));
            }
            if let Some(key) = type_id(resource) {
                index.by_type_id.entry(key).or_insert(resource);
            }
        }
        Ok(index)
    }
}

/// `Type/id` of a resource.
pub(crate) fn type_id(resource: Json<'_>) -> Option<String> {
    let t = resource.get("resourceType")?.as_str()?;
    let id = resource.get("id")?.as_str()?;
    let mut key = String::with_capacity(t.len() + 1 + id.len());
    key.push_str(t);
    key.push('/');
    key.push_str(id);
    Some(key)
}

/// Resolves references from one resource: `#id` among its contained
/// resources, otherwise in the Bundle (`fullUrl`, then `Type/id`, also the
/// last two segments of an absolute URL).
pub(crate) struct Resolver<'a> {
    pub(crate) resource: Json<'a>,
    pub(crate) bundle: Option<&'a BundleIndex<'a>>,
}

impl<'a> Resolve<'a> for Resolver<'a> {
    fn resolve(&self, reference: &str) -> Option<Json<'a>> {
        if let Some(id) = reference.strip_prefix('#') {
            return self
                .resource
                .get("contained")?
                .items()
                .find(|c| c.get("id").and_then(Json::as_str) == Some(id));
        }
        let bundle = self.bundle?;
        if let Some(found) = bundle.by_full_url.get(reference) {
            return Some(*found);
        }
        let mut segments = reference.rsplit('/');
        let (id, t) = (segments.next()?, segments.next()?);
        bundle.by_type_id.get(&format!("{t}/{id}")).copied()
    }
}

/// Maps every entry of a parsed Bundle.
pub(crate) fn map_bundle_value(
    registry: &TemplateRegistry,
    bundle: Json<'_>,
    options: &FhirOptions,
) -> Result<BundleMapping, FhirError> {
    let found = bundle
        .get("resourceType")
        .and_then(Json::as_str)
        .ok_or_else(|| FhirError::Json("the document has no resourceType".into()))?;
    if found != "Bundle" {
        return Err(FhirError::NotABundle {
            found: found.to_owned(),
        });
    }
    let kind = bundle.get("type").and_then(Json::as_str).unwrap_or("");
    if !BUNDLE_TYPES.contains(&kind) {
        return Err(FhirError::MalformedBundle(format!(
            "Bundle.type {kind:?} is not one of {}",
            BUNDLE_TYPES.join(", ")
        )));
    }
    let entries: Vec<Json<'_>> = match bundle.get("entry") {
        None => Vec::new(),
        Some(entries) if entries.is_array() => entries.items().collect(),
        Some(_) => {
            return Err(FhirError::MalformedBundle(
                "Bundle.entry is not an array".into(),
            ));
        }
    };
    if entries.len() > MAX_BUNDLE_ENTRIES {
        return Err(FhirError::TooManyEntries {
            count: entries.len(),
            max: MAX_BUNDLE_ENTRIES,
        });
    }
    let index = BundleIndex::new(&entries)?;
    let mut mapping = BundleMapping {
        mapped: Vec::new(),
        unmapped: Vec::new(),
    };
    for (i, &entry) in entries.iter().enumerate() {
        let full_url = entry.get("fullUrl").and_then(Json::as_str);
        let resource = entry.get("resource");
        let resource_type = resource
            .and_then(|r| r.get("resourceType"))
            .and_then(Json::as_str);
        let result = match resource {
            Some(resource) if resource.is_object() => {
                let source = full_url.map(str::to_owned).or_else(|| type_id(resource));
                let resolver = Resolver {
                    resource,
                    bundle: Some(&index),
                };
                map_value(
                    registry,
                    &resolver,
                    source.as_deref().unwrap_or_default(),
                    options,
                )
            }
            _ => Err(FhirError::MalformedBundle(format!(
                "entry {i} has no resource"
            ))),
        };
        match result {
            Ok(ti) => mapping.mapped.push(ti),
            Err(reason) => mapping.unmapped.push(Unmapped {
                index: i,
                full_url: full_url.map(str::to_owned),
                resource_type: resource_type.map(str::to_owned),
                reason,
            }),
        }
    }
    Ok(mapping)
}
