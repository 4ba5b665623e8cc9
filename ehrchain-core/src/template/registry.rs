//! The template registry: templates by id, their versions, activation, and the
//! forms each role may fill in.

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy_json_abi::JsonAbi;
use alloy_primitives::B256;
use serde::Serialize;

use super::{FieldDoc, Placement, Template, TemplateError};
use crate::Role;

/// Why the registry refused a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The template itself is invalid.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The same template (same id) is already loaded.
    #[error("template {0} is already loaded")]
    AlreadyLoaded(B256),
    /// A new version must be higher than every loaded version of its name.
    #[error(
        "template {name} version {given} is not newer than loaded version {latest}; raise \"version\""
    )]
    VersionNotNewer {
        /// Template name.
        name: String,
        /// Highest loaded version.
        latest: u32,
        /// Version given.
        given: u32,
    },
    /// No template has this id.
    #[error("template {0} is not loaded; load it, or pick one from forms_for(role)")]
    UnknownTemplate(B256),
    /// No template has this name.
    #[error("no template named \"{0}\" is loaded; load it, or pick one from forms_for(role)")]
    UnknownName(String),
    /// The contract ABI has no function with the template's signature.
    #[error(
        "template {name}: the contract has no function {signature}; check \"call.function\" against the deployed contract's ABI"
    )]
    NotInContract {
        /// Template name.
        name: String,
        /// The function signature (types only).
        signature: String,
    },
}

/// A loaded template and whether it may be used.
#[derive(Clone, Debug)]
struct Entry {
    template: Arc<Template>,
    active: bool,
}

/// The Transaction Template Manager: holds templates by id, keeps versions of
/// a name in order, and knows which are active.
///
/// ```
/// use ehrchain_core::{ErrorCode, Role, TemplateRegistry};
///
/// # fn main() -> Result<(), ehrchain_core::Error> {
/// let mut registry = TemplateRegistry::with_built_ins(None)?;
/// // The forms a nurse may fill in, with their field specs, for the UI.
/// let forms = registry.forms_for(&Role::new("nurse")?);
/// assert!(forms.iter().any(|f| f.name == "blood-pressure"));
///
/// let id = registry.latest("blood-pressure").map(|t| t.id()).unwrap_or_default();
/// registry.deactivate(&id)?; // TIs naming it are rejected from now on
/// assert!(registry.forms_for(&Role::new("nurse")?).iter().all(|f| f.template_id != id));
///
/// // A broken document is refused with a message the administrator can act on.
/// let error = registry.add_json("{\"format\": \"ehrchain.template/1\"}").unwrap_err();
/// assert_eq!(error.code(), ErrorCode::TemplateInvalid);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct TemplateRegistry {
    by_id: BTreeMap<B256, Entry>,
    /// Ids of each name's versions, oldest first.
    by_name: BTreeMap<String, Vec<B256>>,
    contract_abi: Option<JsonAbi>,
}

/// What a user application needs to draw a role-tailored form for one template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Form {
    /// The template id a TI must name.
    pub template_id: B256,
    /// Template name.
    pub name: String,
    /// Template version.
    pub version: u32,
    /// Form title.
    pub title: String,
    /// Longer description, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the form asks for a patient.
    pub patient: bool,
    /// The fields a user fills in, in display order (system fields left out).
    pub fields: Vec<FieldDoc>,
}

/// One loaded template in a listing ([`TemplateRegistry::summaries`]): the
/// JSON lines of JavaScript's `Templates.list()` and C's `ehr_templates_list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TemplateSummary {
    /// The template id a TI names.
    pub id: B256,
    /// Template name.
    pub name: String,
    /// Template version.
    pub version: u32,
    /// Form title.
    pub title: String,
    /// The roles that may use it, by name.
    pub roles: Vec<String>,
    /// Whether TIs may name it ([`TemplateRegistry::deactivate`]).
    pub active: bool,
}

impl TemplateRegistry {
    /// An empty registry that checks templates only against themselves.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty registry that also checks every template's call against the
    /// deployed contract's ABI.
    #[must_use]
    pub fn with_contract_abi(abi: JsonAbi) -> Self {
        Self {
            contract_abi: Some(abi),
            ..Self::default()
        }
    }

    /// A registry holding the built-in templates
    /// ([`BUILT_IN_TEMPLATES`](super::BUILT_IN_TEMPLATES)).
    ///
    /// # Errors
    /// Only if a built-in template does not fit the contract ABI given.
    pub fn with_built_ins(abi: Option<JsonAbi>) -> Result<Self, RegistryError> {
        let mut registry = Self {
            contract_abi: abi,
            ..Self::default()
        };
        for (_, json) in super::BUILT_IN_TEMPLATES {
            registry.add_json(json)?;
        }
        Ok(registry)
    }

    /// Parses, checks and adds a template; returns its id.
    ///
    /// # Errors
    /// As [`TemplateRegistry::add`], plus [`RegistryError::Template`] for an
    /// invalid document.
    pub fn add_json(&mut self, json: &str) -> Result<B256, RegistryError> {
        self.add(Template::from_json(json)?)
    }

    /// Adds a template, as the newest active version of its name; older
    /// versions stay active until deactivated.
    ///
    /// # Errors
    /// [`RegistryError::AlreadyLoaded`], [`RegistryError::VersionNotNewer`],
    /// [`RegistryError::NotInContract`].
    pub fn add(&mut self, template: Template) -> Result<B256, RegistryError> {
        let id = template.id();
        if self.by_id.contains_key(&id) {
            return Err(RegistryError::AlreadyLoaded(id));
        }
        if let Some(latest) = self.latest_version(template.name())
            && template.version() <= latest.version()
        {
            return Err(RegistryError::VersionNotNewer {
                name: template.name().to_owned(),
                latest: latest.version(),
                given: template.version(),
            });
        }
        if let Some(abi) = &self.contract_abi {
            let function = &template.call().function;
            let found = abi.function(&function.name).is_some_and(|overloads| {
                overloads
                    .iter()
                    .any(|f| f.selector() == template.call().selector)
            });
            if !found {
                return Err(RegistryError::NotInContract {
                    name: template.name().to_owned(),
                    signature: function.signature(),
                });
            }
        }
        self.by_name
            .entry(template.name().to_owned())
            .or_default()
            .push(id);
        self.by_id.insert(
            id,
            Entry {
                template: Arc::new(template),
                active: true,
            },
        );
        Ok(id)
    }

    /// Deactivates a template: TIs naming it are rejected from now on.
    ///
    /// # Errors
    /// [`RegistryError::UnknownTemplate`].
    pub fn deactivate(&mut self, id: &B256) -> Result<(), RegistryError> {
        self.set_active(id, false)
    }

    /// Reactivates a deactivated template.
    ///
    /// # Errors
    /// [`RegistryError::UnknownTemplate`].
    pub fn activate(&mut self, id: &B256) -> Result<(), RegistryError> {
        self.set_active(id, true)
    }

    fn set_active(&mut self, id: &B256, active: bool) -> Result<(), RegistryError> {
        let entry = self
            .by_id
            .get_mut(id)
            .ok_or(RegistryError::UnknownTemplate(*id))?;
        entry.active = active;
        Ok(())
    }

    /// The template with this id, active or not.
    #[must_use]
    pub fn get(&self, id: &B256) -> Option<&Arc<Template>> {
        self.by_id.get(id).map(|e| &e.template)
    }

    /// The template with this id, active or not, or why there is none.
    ///
    /// # Errors
    /// [`RegistryError::UnknownTemplate`] when no template has this id.
    pub fn template(&self, id: &B256) -> Result<&Arc<Template>, RegistryError> {
        self.get(id).ok_or(RegistryError::UnknownTemplate(*id))
    }

    /// Whether the template with this id is loaded and active.
    #[must_use]
    pub fn is_active(&self, id: &B256) -> bool {
        self.by_id.get(id).is_some_and(|e| e.active)
    }

    /// The newest active version of a name.
    #[must_use]
    pub fn latest(&self, name: &str) -> Option<&Arc<Template>> {
        self.versions(name)
            .filter(|t| self.is_active(&t.id()))
            .last()
    }

    fn latest_version(&self, name: &str) -> Option<&Arc<Template>> {
        self.versions(name).last()
    }

    /// Every loaded version of a name, oldest first.
    pub fn versions(&self, name: &str) -> impl Iterator<Item = &Arc<Template>> {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|id| self.get(id))
    }

    /// Every loaded template, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Template>> {
        self.by_id.values().map(|e| &e.template)
    }

    /// Every loaded template, active or not, by id: its name, version,
    /// title, roles and whether it is active.
    #[must_use]
    pub fn summaries(&self) -> Vec<TemplateSummary> {
        self.by_id
            .values()
            .map(|e| TemplateSummary {
                id: e.template.id(),
                name: e.template.name().to_owned(),
                version: e.template.version(),
                title: e.template.title().to_owned(),
                roles: e
                    .template
                    .roles()
                    .iter()
                    .map(|r| r.name().to_owned())
                    .collect(),
                active: e.active,
            })
            .collect()
    }

    /// The forms `role` may fill in: the newest active version of each template
    /// name that allows the role, sorted by name.
    #[must_use]
    pub fn forms_for(&self, role: &Role) -> Vec<Form> {
        self.by_name
            .keys()
            .filter_map(|name| self.latest(name))
            .filter(|t| t.allows(role))
            .map(|t| form_of(t))
            .collect()
    }
}

fn form_of(template: &Template) -> Form {
    let doc = template.doc();
    let fields = template
        .fields()
        .iter()
        .zip(&doc.fields)
        .filter(|(f, _)| !matches!(f.placement, Placement::System(_)))
        .map(|(_, d)| d.clone())
        .collect();
    Form {
        template_id: template.id(),
        name: doc.name.clone(),
        version: doc.version,
        title: doc.title.clone(),
        description: doc.description.clone(),
        patient: template.subject() == super::Subject::Patient,
        fields,
    }
}
