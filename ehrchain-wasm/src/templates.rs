//! The Transaction Template Manager for JavaScript: templates, role-tailored
//! forms, and the administrator's on-chain registration calls.

use alloy_sol_types::SolCall;
use ehrchain_core::{B256, Role, Template, TemplateRegistry};
use serde::Serialize;
use std::sync::Arc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::convert::{self, hex};
use crate::error::Failure;

/// A set of checked templates (the core's `TemplateRegistry`), each checked
/// against the `EhrRegistry` contract's ABI as well.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Templates {
    pub(crate) inner: TemplateRegistry,
}

/// One administrator call of [`Templates::register_calls`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegisterCall<'a> {
    template_id: B256,
    name: &'a str,
    version: u32,
    roles: Vec<&'a str>,
    calldata: String,
}

impl Default for Templates {
    fn default() -> Self {
        Self {
            inner: TemplateRegistry::with_contract_abi(ehrchain_contracts::abi()),
        }
    }
}

#[wasm_bindgen]
impl Templates {
    /// An empty set.
    #[wasm_bindgen(constructor)]
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in templates (blood pressure, lab result, diagnosis, …).
    ///
    /// # Errors
    /// `EHR_TEMPLATE_INVALID` (not expected: they are tested).
    #[wasm_bindgen(js_name = builtIn)]
    pub fn built_in() -> Result<Templates, JsValue> {
        Ok(Self {
            inner: TemplateRegistry::with_built_ins(Some(ehrchain_contracts::abi()))
                .map_err(Failure::from)?,
        })
    }

    /// Loads a template document (an object or its JSON text, see
    /// `docs/templates.md`); returns its content-derived id.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a value that is not a JSON document;
    /// `EHR_TEMPLATE_INVALID` for a template the core refuses.
    #[wasm_bindgen(unchecked_return_type = "Hex")]
    pub fn add(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "TemplateDoc | string")] template: JsValue,
    ) -> Result<String, JsValue> {
        let json = convert::json_text(&template, "template")?;
        let id = self.inner.add_json(&json).map_err(Failure::from)?;
        Ok(hex(id.as_slice()))
    }

    /// Every template: id, name, version, title, roles and whether it is active.
    ///
    /// # Errors
    /// `EHR_INTERNAL` only.
    #[wasm_bindgen(unchecked_return_type = "TemplateSummary[]")]
    pub fn list(&self) -> Result<JsValue, JsValue> {
        Ok(convert::to_js(&self.inner.summaries())?)
    }

    /// The template document with this id (with its `id`), or `undefined`.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT`.
    #[wasm_bindgen(unchecked_return_type = "(TemplateDoc & { id: Hex }) | undefined")]
    pub fn get(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<JsValue, JsValue> {
        let id = convert::b256(&id, "template id")?;
        Ok(document(self.inner.get(&id).map(std::ops::Deref::deref))?)
    }

    /// The latest version of the template called `name` (with its `id`), or
    /// `undefined`.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for a name that is not a string.
    #[wasm_bindgen(unchecked_return_type = "(TemplateDoc & { id: Hex }) | undefined")]
    pub fn latest(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
    ) -> Result<JsValue, JsValue> {
        let name = convert::string(&name, "name")?;
        Ok(document(
            self.inner.latest(&name).map(std::ops::Deref::deref),
        )?)
    }

    /// The forms a role may fill in: the active templates allowing it, with
    /// their user-facing fields, to draw a role-tailored form.
    ///
    /// # Errors
    /// `EHR_ROLE_INVALID` for a malformed role name.
    #[wasm_bindgen(js_name = formsFor, unchecked_return_type = "Form[]")]
    pub fn forms_for(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] role: JsValue,
    ) -> Result<JsValue, JsValue> {
        let role = Role::new(convert::string(&role, "role")?).map_err(Failure::from)?;
        Ok(convert::to_js(&self.inner.forms_for(&role))?)
    }

    /// Deactivates a template: TIs naming it are refused from now on.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT`; `EHR_TEMPLATE_UNKNOWN` for an unknown id.
    pub fn deactivate(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<(), JsValue> {
        let id = convert::b256(&id, "template id")?;
        Ok(self.inner.deactivate(&id).map_err(Failure::from)?)
    }

    /// Activates a deactivated template again.
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT`; `EHR_TEMPLATE_UNKNOWN` for an unknown id.
    pub fn activate(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<(), JsValue> {
        let id = convert::b256(&id, "template id")?;
        Ok(self.inner.activate(&id).map_err(Failure::from)?)
    }

    /// The administrator's `registerTemplate(templateId, roleIds)` calldata
    /// for every template, or for those `ids` names in its order, to
    /// register them on chain (the account sending them must hold the
    /// registry's `ADMIN_ROLE`).
    ///
    /// # Errors
    /// `EHR_INVALID_ARGUMENT` for `ids` that are not an array of template
    /// ids; `EHR_TEMPLATE_UNKNOWN` for an id no template has.
    #[wasm_bindgen(js_name = registerCalls, unchecked_return_type = "RegisterTemplateCall[]")]
    pub fn register_calls(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "string[]")] ids: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let chosen: Vec<&Arc<Template>> = match ids.filter(|ids| !ids.is_undefined()) {
            None => self.inner.iter().collect(),
            Some(ids) => {
                let ids = ids
                    .dyn_into::<js_sys::Array>()
                    .map_err(|_| Failure::bad_input("ids must be an array of template ids"))?;
                ids.iter()
                    .map(|id| {
                        let id = convert::b256(&id, "template id")?;
                        self.inner.template(&id).map_err(Failure::from)
                    })
                    .collect::<Result<_, Failure>>()?
            }
        };
        let calls: Vec<_> = chosen
            .into_iter()
            .map(|t| RegisterCall {
                template_id: t.id(),
                name: t.name(),
                version: t.version(),
                roles: t.roles().iter().map(Role::name).collect(),
                calldata: hex(&ehrchain_contracts::register_template_call(t).abi_encode()),
            })
            .collect();
        Ok(convert::to_js(&calls)?)
    }
}

/// A template's document with its `id` (the core's `Template::to_json`), or
/// `undefined`.
fn document(template: Option<&Template>) -> Result<JsValue, Failure> {
    template.map_or(Ok(JsValue::UNDEFINED), |t| convert::parse(&t.to_json()))
}
