//! Transaction templates (the paper's Transaction Template Manager, TTM).
//!
//! An administrator writes a template as JSON ([`TemplateDoc`], specified in
//! `docs/templates.md`); [`Template::from_json`] checks everything once, resolves
//! the contract call's ABI types, and derives the template id from the canonical
//! form. The [`TemplateRegistry`] holds templates, their versions and whether
//! they are active, and answers `forms_for(role)`.

mod builtin;
mod call;
mod decimal;
mod doc;
mod error;
mod field;
mod registry;
mod value;

use alloy_primitives::{B256, keccak256};

pub use builtin::BUILT_IN_TEMPLATES;
pub use call::Call;
pub use doc::{CallDoc, ConceptDoc, FieldDoc, TEMPLATE_FORMAT, TemplateDoc};
pub use error::TemplateError;
pub use field::{Field, FieldKind, Placement, SystemSource};
pub use registry::{Form, RegistryError, TemplateRegistry, TemplateSummary};
pub(crate) use value::CheckedValue;

use call::resolve_call;
use field::parse_field;

/// Largest template JSON document accepted, in bytes.
pub const MAX_TEMPLATE_JSON_LEN: usize = 1 << 20;
/// Longest template name, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Longest `text` field a template may declare, in characters.
pub const MAX_TEXT_LEN: u32 = 1 << 20;
/// Longest `code` a template may declare, in characters.
pub const MAX_CODE_LEN: u32 = 256;
/// Default longest `code` value, in characters, when `max_length` is absent.
pub const DEFAULT_CODE_LEN: u32 = 32;

/// Whether each TI of a template names a patient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// Every TI names the patient the record is about.
    Patient,
    /// TIs name no patient (for example a drug shipment's custody step).
    None,
}

/// A checked template with its content-derived id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    id: B256,
    doc: TemplateDoc,
    roles: Vec<crate::Role>,
    /// The on-chain id of each of `roles`, computed once.
    role_ids: Vec<B256>,
    subject: Subject,
    fields: Vec<Field>,
    /// Indices of the fields sorted by name (byte order): the order of TI
    /// field maps and of the sealed record's `fields` members.
    fields_by_name: Vec<usize>,
    call: Call,
    /// The checked FHIR mapping, if the document has one.
    fhir: Option<crate::fhir::FhirMapping>,
}

impl Template {
    /// Parses and checks a template document.
    ///
    /// # Errors
    /// [`TemplateError`] naming the first problem found.
    pub fn from_json(json: &str) -> Result<Self, TemplateError> {
        if json.len() > MAX_TEMPLATE_JSON_LEN {
            return Err(TemplateError::TooLarge(json.len()));
        }
        let doc: TemplateDoc =
            crate::json::from_text(json).map_err(|e| TemplateError::Json(e.to_string()))?;
        Self::from_doc(doc)
    }

    /// Checks a template document.
    ///
    /// # Errors
    /// [`TemplateError`] naming the first problem found.
    pub fn from_doc(mut doc: TemplateDoc) -> Result<Self, TemplateError> {
        if doc.format != TEMPLATE_FORMAT {
            return Err(TemplateError::UnsupportedFormat(doc.format));
        }
        check_name(&doc.name)?;
        if doc.version == 0 {
            return Err(TemplateError::ZeroVersion);
        }
        if doc.title.trim().is_empty() {
            return Err(TemplateError::MissingTitle);
        }
        let roles = parse_roles(&mut doc.roles)?;
        let subject = match doc.subject.as_deref() {
            None | Some("patient") => Subject::Patient,
            Some("none") => Subject::None,
            Some(other) => return Err(TemplateError::UnknownSubject(other.to_owned())),
        };
        doc.subject = Some(
            if subject == Subject::Patient {
                "patient"
            } else {
                "none"
            }
            .into(),
        );
        let mut fields = Vec::with_capacity(doc.fields.len());
        for field_doc in &mut doc.fields {
            let field = parse_field(field_doc)?;
            if fields.iter().any(|f: &Field| f.name == field.name) {
                return Err(TemplateError::DuplicateField(field.name));
            }
            if subject == Subject::None
                && field.placement == Placement::System(SystemSource::PatientPseudonym)
            {
                return Err(TemplateError::PseudonymWithoutPatient(field.name));
            }
            fields.push(field);
        }
        let call = resolve_call(&mut doc.call, &fields)?;
        let declared = doc.id.take();
        let id = keccak256(canonical_json(&doc));
        if let Some(declared) = declared
            && declared.parse::<B256>().ok() != Some(id)
        {
            return Err(TemplateError::IdMismatch {
                declared,
                computed: id,
            });
        }
        let fields_by_name = sorted_by_name(&fields);
        let role_ids = roles.iter().map(crate::Role::id).collect();
        let fhir_doc = doc.fhir.clone();
        let mut template = Self {
            id,
            doc,
            roles,
            role_ids,
            subject,
            fields,
            fields_by_name,
            call,
            fhir: None,
        };
        if let Some(fhir_doc) = fhir_doc {
            template.fhir = Some(
                crate::fhir::FhirMapping::from_doc(fhir_doc, &template)
                    .map_err(TemplateError::FhirMapping)?,
            );
        }
        Ok(template)
    }

    /// The checked FHIR mapping (`docs/fhir.md`), if the template has one.
    #[must_use]
    pub fn fhir(&self) -> Option<&crate::fhir::FhirMapping> {
        self.fhir.as_ref()
    }

    /// The template id: `keccak256` of the canonical JSON form (see
    /// `docs/templates.md`). Also the id registered on chain.
    #[must_use]
    pub fn id(&self) -> B256 {
        self.id
    }

    /// The stable name shared by all versions.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.doc.name
    }

    /// The version number.
    #[must_use]
    pub fn version(&self) -> u32 {
        self.doc.version
    }

    /// The title shown to users.
    #[must_use]
    pub fn title(&self) -> &str {
        &self.doc.title
    }

    /// Roles allowed to submit this template, sorted.
    #[must_use]
    pub fn roles(&self) -> &[crate::Role] {
        &self.roles
    }

    /// Whether `role` may submit this template.
    #[must_use]
    pub fn allows(&self, role: &crate::Role) -> bool {
        self.roles.contains(role)
    }

    /// The on-chain id of `role` ([`Role::id`](crate::Role::id)), looked up
    /// among the template's roles, where it was computed once.
    pub(crate) fn role_id(&self, role: &crate::Role) -> B256 {
        self.roles
            .iter()
            .position(|r| r == role)
            .and_then(|i| self.role_ids.get(i).copied())
            .unwrap_or_else(|| role.id())
    }

    /// Whether TIs name a patient.
    #[must_use]
    pub fn subject(&self) -> Subject {
        self.subject
    }

    /// The checked fields, in document order.
    #[must_use]
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Indices into [`Template::fields`], sorted by field name (byte order,
    /// the order of a `BTreeMap` of the names).
    pub(crate) fn fields_by_name(&self) -> &[usize] {
        &self.fields_by_name
    }

    /// The resolved contract call.
    #[must_use]
    pub fn call(&self) -> &Call {
        &self.call
    }

    /// The normalised document (defaults filled in, without `id`).
    #[must_use]
    pub fn doc(&self) -> &TemplateDoc {
        &self.doc
    }

    /// The canonical JSON form whose `keccak256` is the id (without the
    /// `fhir` mapping, which is not part of the id).
    #[must_use]
    pub fn canonical_json(&self) -> String {
        canonical_json(&self.doc)
    }

    /// The template as JSON with its `id` (and its `fhir` mapping, if any),
    /// which [`Template::from_json`] reads back to an equal template.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut doc = self.doc.clone();
        doc.id = Some(self.id.to_string());
        // Serialising plain structs of strings, numbers and vectors cannot fail.
        serde_json::to_string(&doc).unwrap_or_default()
    }
}

/// The indices of `fields`, sorted by field name (byte order).
fn sorted_by_name(fields: &[Field]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..fields.len()).collect();
    order.sort_by_key(|&i| fields.get(i).map(|f| f.name.as_str()));
    order
}

/// The canonical form: the document without its `fhir` mapping, which says
/// how FHIR resources fill the template, not what its records mean (see
/// `docs/fhir.md`, "The mapping and the template id").
fn canonical_json(doc: &TemplateDoc) -> String {
    let text = if doc.fhir.is_some() {
        let mut without = doc.clone();
        without.fhir = None;
        serde_json::to_string(&without)
    } else {
        serde_json::to_string(doc)
    };
    // Serialising plain structs of strings, numbers and vectors cannot fail.
    text.unwrap_or_default()
}

fn check_name(name: &str) -> Result<(), TemplateError> {
    if crate::role::is_lower_name(name, MAX_NAME_LEN, b'-') {
        Ok(())
    } else {
        Err(TemplateError::InvalidName(name.to_owned()))
    }
}

fn parse_roles(names: &mut Vec<String>) -> Result<Vec<crate::Role>, TemplateError> {
    if names.is_empty() {
        return Err(TemplateError::NoRoles);
    }
    let mut roles = names
        .iter()
        .map(|n| crate::Role::new(n.as_str()).map_err(TemplateError::InvalidRole))
        .collect::<Result<Vec<_>, _>>()?;
    roles.sort();
    if let Some(pair) = roles.windows(2).find(|w| w.first() == w.get(1)) {
        let dup = pair.first().map(ToString::to_string).unwrap_or_default();
        return Err(TemplateError::DuplicateRole(dup));
    }
    *names = roles.iter().map(ToString::to_string).collect();
    Ok(roles)
}

#[cfg(test)]
mod tests;
