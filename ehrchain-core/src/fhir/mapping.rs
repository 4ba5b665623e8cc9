//! A template's checked FHIR mapping, and one resource turned into a TI.

use std::collections::BTreeMap;

use alloy_primitives::{B256, Keccak256};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::bundle::Resolver;
use super::doc::FhirMappingDoc;
use super::error::{FhirError, FhirProblem, FhirProblemKind};
use super::json::Json;
use super::path::{FhirPath, Resolve};
use super::units::{self, UCUM_SYSTEM, UnitError};
use super::{FhirOptions, FhirSource, MappedTi};
use crate::template::{FieldKind, Placement, Subject, Template};
use crate::{InitialTransaction, Role};

/// Domain separation of the TI ids derived from FHIR resources.
const TI_ID_DOMAIN: &[u8] = b"ehrchain.fhir.ti-id/1";

/// A `match` condition: a path and the accepted `(system, code)` pairs.
type CodeMatch = (FhirPath, Vec<(Option<String>, String)>);

/// A template's FHIR mapping, checked against the template's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FhirMapping {
    doc: FhirMappingDoc,
    matches: Vec<CodeMatch>,
    patient: Option<FhirPath>,
    author: Vec<FhirPath>,
    role: Role,
    time: Vec<FhirPath>,
    fields: Vec<FieldMap>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct FieldMap {
    /// Index of the template field.
    index: usize,
    name: String,
    paths: Vec<FhirPath>,
    unit: Option<String>,
    value_map: BTreeMap<String, String>,
}

fn parse_paths(what: &str, paths: &[String]) -> Result<Vec<FhirPath>, String> {
    if paths.is_empty() {
        return Err(format!("{what}: give at least one path"));
    }
    paths
        .iter()
        .map(|p| FhirPath::parse(p).map_err(|e| format!("{what}: {e}")))
        .collect()
}

impl FhirMapping {
    /// Checks `doc` against `template`: every path parses, every mapped
    /// field exists and is not a `system` field, every required field is
    /// mapped, the role is one of the template's, units go with numbers and
    /// value maps with enums and name allowed values.
    ///
    /// # Errors
    /// A message naming the first problem (the template loader wraps it in
    /// [`TemplateError::FhirMapping`](crate::template::TemplateError::FhirMapping)).
    pub fn from_doc(doc: FhirMappingDoc, template: &Template) -> Result<Self, String> {
        if !is_resource_type(&doc.resource_type) {
            return Err(format!(
                "resourceType {:?} is not a FHIR resource type name",
                doc.resource_type
            ));
        }
        let matches = doc
            .matches
            .iter()
            .map(|m| {
                if m.any_of.is_empty() {
                    return Err(format!("match {:?}: anyOf lists no code", m.path));
                }
                let codes = m
                    .any_of
                    .iter()
                    .map(|c| (c.system.clone(), c.code.clone()))
                    .collect();
                Ok((FhirPath::parse(&m.path)?, codes))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let patient = match (&doc.patient, template.subject()) {
            (Some(p), Subject::Patient) => Some(FhirPath::parse(p)?),
            (None, Subject::Patient) => {
                return Err("the template records a patient: say where in \"patient\"".into());
            }
            (Some(_), Subject::None) => {
                return Err("the template records no patient: leave \"patient\" out".into());
            }
            (None, Subject::None) => None,
        };
        let role = Role::new(doc.author.role.as_str()).map_err(|e| e.to_string())?;
        if !template.allows(&role) {
            return Err(format!(
                "author role {role} may not submit the template; use one of its roles"
            ));
        }
        let author = parse_paths("author", doc.author.path.paths())?;
        let time = parse_paths("time", doc.time.paths())?;
        let mut fields = Vec::with_capacity(doc.fields.len());
        for (name, map) in &doc.fields {
            let (index, field) = template
                .fields()
                .iter()
                .enumerate()
                .find(|(_, f)| &f.name == name)
                .ok_or_else(|| format!("field {name:?} is not a field of the template"))?;
            if matches!(field.placement, Placement::System(_)) {
                return Err(format!(
                    "field {name:?} is filled by the system, not from the resource"
                ));
            }
            let numeric = matches!(
                field.kind,
                FieldKind::Integer { .. } | FieldKind::Decimal { .. }
            );
            let unit = map.unit.clone().or_else(|| {
                template
                    .doc()
                    .fields
                    .get(index)
                    .and_then(|d| d.unit.clone())
            });
            if map.unit.is_some() && !numeric {
                return Err(format!(
                    "field {name:?}: a unit needs an integer or decimal field"
                ));
            }
            let value_map = map.value_map.clone().unwrap_or_default();
            if !value_map.is_empty() {
                let FieldKind::Enum { values } = &field.kind else {
                    return Err(format!("field {name:?}: a valueMap needs an enum field"));
                };
                if let Some(bad) = value_map.values().find(|v| !values.contains(v)) {
                    return Err(format!(
                        "field {name:?}: valueMap gives {bad:?}, which is not one of the field's values"
                    ));
                }
            }
            fields.push(FieldMap {
                index,
                name: name.clone(),
                paths: parse_paths(&format!("field {name:?}"), map.path.paths())?,
                unit: unit.filter(|_| numeric),
                value_map,
            });
        }
        if let Some(missing) = template.fields().iter().find(|f| {
            f.required
                && !matches!(f.placement, Placement::System(_))
                && !doc.fields.contains_key(&f.name)
        }) {
            return Err(format!(
                "required field {:?} has no path: map it under \"fields\"",
                missing.name
            ));
        }
        fields.sort_by_key(|f| f.index);
        Ok(Self {
            doc,
            matches,
            patient,
            author,
            role,
            time,
            fields,
        })
    }

    /// The mapping as written (with its paths as text).
    #[must_use]
    pub fn doc(&self) -> &FhirMappingDoc {
        &self.doc
    }

    /// The resource type mapped.
    #[must_use]
    pub fn resource_type(&self) -> &str {
        &self.doc.resource_type
    }

    /// Whether every `match` holds for `resource` (whose type the caller
    /// has found to be the mapped one).
    pub(crate) fn selects<'a>(&self, resource: Json<'a>, resolver: &dyn Resolve<'a>) -> bool {
        self.matches
            .iter()
            .all(|m| code_matches(m, resource, resolver))
    }

    /// Turns the resolver's resource into a TI for `template` (whose mapping
    /// this is). With `check_match`, a `match` that does not hold is a
    /// problem; without, the caller has found that they all hold
    /// ([`FhirMapping::selects`]).
    pub(crate) fn apply<'a>(
        &self,
        template: &Template,
        resolver: &Resolver<'a>,
        source: &str,
        options: &FhirOptions,
        check_match: bool,
    ) -> Result<MappedTi, FhirError> {
        let resource = resolver.resource;
        let mut problems = Vec::new();
        let reject = |problems| FhirError::Rejected {
            resource: source.to_owned(),
            template: template.name().to_owned(),
            problems,
        };
        let found = resource
            .get("resourceType")
            .and_then(Json::as_str)
            .unwrap_or_default();
        if found != self.resource_type() {
            problems.push(problem(
                "resourceType",
                None,
                FhirProblemKind::WrongResourceType {
                    expected: self.resource_type().to_owned(),
                    found: found.to_owned(),
                },
            ));
            return Err(reject(problems));
        }
        for m in self.matches.iter().filter(|_| check_match) {
            if !code_matches(m, resource, resolver) {
                let expected =
                    m.1.iter()
                        .map(|(s, c)| show_code(s.as_deref(), c))
                        .collect();
                problems.push(problem(
                    m.0.as_str(),
                    None,
                    FhirProblemKind::MissingCode { expected },
                ));
            }
        }
        let patient_id = self.patient.as_ref().and_then(|path| {
            read_patient(path, resource, resolver, options)
                .map_err(|p| problems.push(p))
                .ok()
        });
        let in_bundle = resolver.bundle.is_some();
        let author = read_author(&self.author, resource, resolver, in_bundle, options)
            .map_err(|p| problems.push(p))
            .ok();
        let timestamp = read_time(&self.time, resource, resolver)
            .map_err(|p| problems.push(p))
            .ok();
        let mut values = BTreeMap::new();
        // Fields already reported; the template's own check would repeat them.
        let mut reported = Vec::new();
        for map in &self.fields {
            let Some(field) = template.fields().get(map.index) else {
                continue;
            };
            match read_field(map, &field.kind, resource, resolver) {
                Ok(Some(v)) => {
                    values.insert(map.name.clone(), v);
                }
                Ok(None) if field.required => {
                    problems.push(field_problem(map, FhirProblemKind::Missing));
                    reported.push(&map.name);
                }
                Ok(None) => {}
                Err(kind) => {
                    problems.push(field_problem(map, kind));
                    reported.push(&map.name);
                }
            }
        }
        let mut violations = Vec::new();
        template.check_values(&values, &mut violations);
        violations.retain(|v| v.field.as_ref().is_none_or(|f| !reported.contains(&f)));
        for v in violations {
            let map = self
                .fields
                .iter()
                .find(|m| Some(&m.name) == v.field.as_ref());
            problems.push(match map {
                Some(map) => field_problem(map, FhirProblemKind::Template(v.kind)),
                None => problem("", v.field, FhirProblemKind::Template(v.kind)),
            });
        }
        let id_key = if source.is_empty() {
            problems.push(problem("id", None, FhirProblemKind::NoResourceId));
            None
        } else {
            Some(source)
        };
        let (Some(author), Some(timestamp), Some(id_key), true) =
            (author, timestamp, id_key, problems.is_empty())
        else {
            return Err(reject(problems));
        };
        let ti_id = derive_ti_id(options.ti_id_salt, template.id(), id_key);
        Ok(MappedTi {
            ti: InitialTransaction {
                ti_id,
                template_id: template.id(),
                author_id: author.id,
                author_role: options
                    .author_role
                    .clone()
                    .unwrap_or_else(|| self.role.clone()),
                patient_id,
                timestamp,
                fields: values,
            },
            source: FhirSource {
                reference: source.to_owned(),
                resource_type: found.to_owned(),
                author: author.reference,
            },
        })
    }
}

/// The TI id of a resource: `keccak256(domain ‖ salt ‖ template id ‖
/// resource key)`. The same resource and salt always give the same id, so a
/// Bundle sent twice anchors each record once.
fn derive_ti_id(salt: B256, template: B256, key: &str) -> B256 {
    let mut hasher = Keccak256::new();
    hasher.update(TI_ID_DOMAIN);
    hasher.update(salt);
    hasher.update(template);
    hasher.update(key);
    hasher.finalize()
}

/// A FHIR resource type name: an upper-case ASCII letter, then letters.
fn is_resource_type(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphabetic())
}

fn problem(path: &str, field: Option<String>, kind: FhirProblemKind) -> FhirProblem {
    FhirProblem {
        path: path.to_owned(),
        field,
        kind,
    }
}

fn field_problem(map: &FieldMap, kind: FhirProblemKind) -> FhirProblem {
    let path = map.paths.first().map(FhirPath::as_str).unwrap_or_default();
    problem(path, Some(map.name.clone()), kind)
}

/// `system|code`, or the code alone for a plain code.
fn show_code(system: Option<&str>, code: &str) -> String {
    system.map_or_else(|| code.to_owned(), |s| format!("{s}|{code}"))
}

fn code_matches<'a>(
    (path, codes): &CodeMatch,
    resource: Json<'a>,
    resolver: &dyn Resolve<'a>,
) -> bool {
    path.any(resource, resolver, |item| {
        let (system, code) = match item.as_str() {
            Some(code) => (None, Some(code)),
            None => (
                item.get("system").and_then(Json::as_str),
                item.get("code").and_then(Json::as_str),
            ),
        };
        codes
            .iter()
            .any(|(s, c)| system == s.as_deref() && code == Some(c.as_str()))
    })
}

/// The first of `paths` that yields something, with that path; exactly one
/// value is needed.
fn first_value<'a, 'p>(
    paths: &'p [FhirPath],
    resource: Json<'a>,
    resolver: &dyn Resolve<'a>,
) -> Result<Option<(&'p FhirPath, Json<'a>)>, (&'p FhirPath, FhirProblemKind)> {
    for path in paths {
        match path.first_and_count(resource, resolver) {
            (_, 0) | (None, _) => {}
            (Some(one), 1) => return Ok(Some((path, one))),
            (Some(_), count) => return Err((path, FhirProblemKind::Ambiguous { count })),
        }
    }
    Ok(None)
}

fn read_patient<'a>(
    path: &FhirPath,
    resource: Json<'a>,
    resolver: &dyn Resolve<'a>,
    options: &FhirOptions,
) -> Result<String, FhirProblem> {
    let at = |kind| problem(path.as_str(), None, kind);
    let reference = match first_value(std::slice::from_ref(path), resource, resolver) {
        Ok(Some((_, r))) => r,
        Ok(None) => return Err(at(FhirProblemKind::Missing)),
        Err((_, kind)) => return Err(at(kind)),
    };
    let system = options.patient_identifier_system.as_str();
    let identifier_in = |v: Json<'_>| {
        let ids = v.get("identifier")?;
        let one = (!ids.is_array()).then_some(ids);
        ids.items()
            .chain(one)
            .find(|i| i.get("system").and_then(Json::as_str) == Some(system))
            .and_then(|i| i.get("value")?.as_str())
            .map(str::to_owned)
    };
    if let Some(id) = identifier_in(reference) {
        return Ok(id);
    }
    let Some(text) = reference.get("reference").and_then(Json::as_str) else {
        return Err(at(FhirProblemKind::WrongShape {
            expected: "a Reference with a reference or an identifier".into(),
        }));
    };
    let patient = resolver.resolve(text).ok_or_else(|| {
        at(FhirProblemKind::UnresolvedReference {
            reference: text.to_owned(),
        })
    })?;
    identifier_in(patient).ok_or_else(|| {
        at(FhirProblemKind::NoPatientIdentifier {
            system: system.to_owned(),
        })
    })
}

struct Author {
    id: String,
    reference: Option<String>,
}

fn read_author<'a>(
    paths: &[FhirPath],
    resource: Json<'a>,
    resolver: &dyn Resolve<'a>,
    in_bundle: bool,
    options: &FhirOptions,
) -> Result<Author, FhirProblem> {
    let first = paths.first().map(FhirPath::as_str).unwrap_or_default();
    let reference = match first_value(paths, resource, resolver) {
        Ok(Some((_, r))) => r,
        Ok(None) => {
            return options
                .fallback_author
                .clone()
                .map(|id| Author {
                    id,
                    reference: None,
                })
                .ok_or_else(|| problem(first, None, FhirProblemKind::Missing));
        }
        Err((path, kind)) => return Err(problem(path.as_str(), None, kind)),
    };
    let Some(text) = reference.get("reference").and_then(Json::as_str) else {
        return reference
            .get("identifier")
            .and_then(|i| i.get("value")?.as_str())
            .map(|id| Author {
                id: id.to_owned(),
                reference: None,
            })
            .ok_or_else(|| {
                problem(
                    first,
                    None,
                    FhirProblemKind::WrongShape {
                        expected: "a Reference with a reference or an identifier".into(),
                    },
                )
            });
    };
    match resolver.resolve(text) {
        Some(target) => {
            let own = |key: &str| target.get(key).and_then(Json::as_str);
            let local = match (own("resourceType"), own("id")) {
                (Some(t), Some(id)) => format!("{t}/{id}"),
                _ => text.to_owned(),
            };
            let identifier = options
                .practitioner_identifier_system
                .as_deref()
                .and_then(|system| {
                    target
                        .get("identifier")?
                        .items()
                        .find(|i| i.get("system").and_then(Json::as_str) == Some(system))
                        .and_then(|i| i.get("value")?.as_str())
                });
            Ok(Author {
                id: identifier.map_or_else(|| local.clone(), str::to_owned),
                reference: Some(local),
            })
        }
        // Inside a Bundle every reference must resolve; a lone resource's
        // relative reference is the host's own name for the author.
        None if !in_bundle && !text.starts_with('#') => Ok(Author {
            id: text.to_owned(),
            reference: Some(text.to_owned()),
        }),
        None => Err(problem(
            first,
            None,
            FhirProblemKind::UnresolvedReference {
                reference: text.to_owned(),
            },
        )),
    }
}

fn read_time<'a>(
    paths: &[FhirPath],
    resource: Json<'a>,
    resolver: &dyn Resolve<'a>,
) -> Result<u64, FhirProblem> {
    let first = paths.first().map(FhirPath::as_str).unwrap_or_default();
    match first_value(paths, resource, resolver) {
        Ok(Some((path, value))) => instant(value)
            .and_then(|secs| {
                u64::try_from(secs).map_err(|_| FhirProblemKind::ImpreciseTime {
                    value: secs.to_string(),
                })
            })
            .map_err(|kind| problem(path.as_str(), None, kind)),
        Ok(None) => Err(problem(first, None, FhirProblemKind::Missing)),
        Err((path, kind)) => Err(problem(path.as_str(), None, kind)),
    }
}

/// A FHIR `instant` or `dateTime` with a time of day and zone, or a `Period`
/// (its `start`), in Unix seconds.
fn instant(value: Json<'_>) -> Result<i64, FhirProblemKind> {
    let text = match value.as_str() {
        Some(s) => s,
        None if value.is_object() => {
            value.get("start").and_then(Json::as_str).ok_or_else(|| {
                FhirProblemKind::WrongShape {
                    expected: "a dateTime, an instant or a Period with a start".into(),
                }
            })?
        }
        None => {
            return Err(FhirProblemKind::WrongShape {
                expected: "a dateTime, an instant or a Period with a start".into(),
            });
        }
    };
    OffsetDateTime::parse(text, &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|_| FhirProblemKind::ImpreciseTime {
            value: text.to_owned(),
        })
}

/// The TI value of one field, or `None` when the resource has none.
fn read_field<'a>(
    map: &FieldMap,
    kind: &FieldKind,
    resource: Json<'a>,
    resolver: &dyn Resolve<'a>,
) -> Result<Option<Value>, FhirProblemKind> {
    let Some((_, value)) = first_value(&map.paths, resource, resolver).map_err(|(_, k)| k)? else {
        return Ok(None);
    };
    let shape = |expected: &str| FhirProblemKind::WrongShape {
        expected: expected.to_owned(),
    };
    let converted = match kind {
        FieldKind::Integer { .. } | FieldKind::Decimal { .. } => {
            let text = number(value, map.unit.as_deref())?;
            match kind {
                FieldKind::Integer { .. } => text
                    .parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| shape("a whole number"))?,
                _ => Value::String(text),
            }
        }
        FieldKind::DateTime => {
            // Checked here for precision; the template checks the rest.
            instant(value)?;
            if value.is_object() {
                value.get("start").map(Json::to_value).unwrap_or_default()
            } else {
                value.to_value()
            }
        }
        FieldKind::Enum { .. } => {
            let code = code_of(value).ok_or_else(|| shape("a code or a Coding"))?;
            Value::String(
                map.value_map
                    .get(code)
                    .cloned()
                    .unwrap_or_else(|| code.to_owned()),
            )
        }
        FieldKind::Code { .. } => Value::String(
            code_of(value)
                .ok_or_else(|| shape("a code or a Coding"))?
                .to_owned(),
        ),
        FieldKind::Text { .. } | FieldKind::Bytes32 | FieldKind::Address => {
            Value::String(value.as_str().ok_or_else(|| shape("a string"))?.to_owned())
        }
        FieldKind::Bool => Value::Bool(value.as_bool().ok_or_else(|| shape("a boolean"))?),
    };
    Ok(Some(converted))
}

/// A number's decimal text, from a JSON number or a Quantity (whose UCUM unit
/// must be `unit`, or convert exactly to it).
fn number(value: Json<'_>, unit: Option<&str>) -> Result<String, FhirProblemKind> {
    let shape = || FhirProblemKind::WrongShape {
        expected: "a number or a Quantity".into(),
    };
    match value.as_number() {
        Some(n) => units::convert(n, "1", "1").map_err(|_| shape()),
        None if value.is_object() => {
            let q = value;
            let n = q.get("value").and_then(Json::as_number).ok_or_else(shape)?;
            let Some(expected) = unit else {
                return units::convert(n, "1", "1").map_err(|_| shape());
            };
            let system = q.get("system").and_then(Json::as_str);
            let code = q.get("code").and_then(Json::as_str);
            let found = match (system, code) {
                (Some(UCUM_SYSTEM), Some(code)) => code,
                // No unit at all is UCUM's unity, which `{pack}` also is.
                (None, None) if units::normalise(expected) == "1" => "1",
                _ => {
                    return Err(FhirProblemKind::WrongUnit {
                        expected: expected.to_owned(),
                        found: code
                            .or_else(|| q.get("unit").and_then(Json::as_str))
                            .unwrap_or("no UCUM code")
                            .to_owned(),
                    });
                }
            };
            units::convert(n, found, expected).map_err(|e| match e {
                UnitError::Incompatible => FhirProblemKind::WrongUnit {
                    expected: expected.to_owned(),
                    found: found.to_owned(),
                },
                UnitError::Number => shape(),
            })
        }
        _ => Err(shape()),
    }
}

/// A code, or a Coding's `code`.
fn code_of<'a>(value: Json<'a>) -> Option<&'a str> {
    match value.as_str() {
        Some(s) => Some(s),
        None => value.get("code")?.as_str(),
    }
}
