//! `ehr_templates`: the Transaction Template Manager (TTM).

use std::ffi::c_char;

use alloy_sol_types::SolCall;

use ehrchain_core::template::RegistryError;
use ehrchain_core::{B256, TemplateRegistry};

use crate::ptr::{self, Out, OutArray};
use crate::result::{ehr_result, guard};
use crate::shapes::{bytes_of, free, guard_on, guard_on_mut, json_text, made, text_of};

/// A set of templates (the Transaction Template Manager): built-in ones and
/// those loaded from JSON, each checked against the `EhrRegistry` contract's
/// ABI when loaded.
///
/// Thread safety: a handle may be used from any thread, but not from two
/// threads at once when one of them changes it (`ehr_templates_add_json`,
/// `ehr_templates_deactivate`). Handshakers and devnets copy the templates
/// they are given; later changes do not reach them (give a handshaker the
/// templates again with `ehr_handshaker_set_templates`).
pub struct ehr_templates {
    pub(crate) registry: TemplateRegistry,
}

/// Makes an empty template set that checks every template's call against the
/// `EhrRegistry` ABI. Free it with `ehr_templates_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_templates_new(templates_out: *mut *mut ehr_templates) -> ehr_result {
    made(templates_out, "templates_out", || ehr_templates {
        registry: TemplateRegistry::with_contract_abi(ehrchain_contracts::abi()),
    })
}

/// Makes a template set holding the built-in templates (blood pressure, lab
/// result, medication administration, diagnosis, device vital sign, drug
/// shipment custody), checked against the `EhrRegistry` ABI. Free it with
/// `ehr_templates_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_templates_new_builtin(
    templates_out: *mut *mut ehr_templates,
) -> ehr_result {
    guard(|| {
        let out = Out::new(templates_out, "templates_out")?;
        let registry = TemplateRegistry::with_built_ins(Some(ehrchain_contracts::abi()))?;
        out.give(ehr_templates { registry });
        Ok(())
    })
}

/// Loads a template from its JSON document (`json`, `json_len` bytes of
/// UTF-8, `docs/templates.md`) and writes its 32-byte id to `id_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_templates_add_json(
    templates: *mut ehr_templates,
    json: *const c_char,
    json_len: usize,
    id_out: *mut u8,
) -> ehr_result {
    guard_on_mut(templates, "templates", |templates| {
        let json = ptr::text(json, json_len, "json")?;
        let out = OutArray::<32>::new(id_out, "id_out")?;
        let id = templates.registry.add_json(json)?;
        out.set(&id.0);
        Ok(())
    })
}

/// Writes the 32-byte id of the newest version of the template named `name`
/// (such as `blood-pressure`) to `id_out`; `EHR_TEMPLATE_UNKNOWN` when no
/// template has that name.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_templates_latest(
    templates: *const ehr_templates,
    name: *const c_char,
    name_len: usize,
    id_out: *mut u8,
) -> ehr_result {
    guard_on(templates, "templates", |templates| {
        let name = ptr::text(name, name_len, "name")?;
        let out = OutArray::<32>::new(id_out, "id_out")?;
        let template = (templates.registry.latest(name))
            .ok_or_else(|| RegistryError::UnknownName(name.to_owned()))?;
        out.set(&template.id().0);
        Ok(())
    })
}

/// Writes the canonical JSON document of the template with the 32-byte id
/// `id` as NUL-terminated text into `buf` (text-output rules:
/// `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_templates_json(
    templates: *const ehr_templates,
    id: *const u8,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(templates, buf, len, out_len, "templates", |templates| {
        let id = ptr::b256(id, "id")?;
        Ok(templates.registry.template(&id)?.to_json())
    })
}

/// Writes the calldata of `registerTemplate(templateId, roleIds)` for the
/// template with the 32-byte id `id` into `buf` (byte-output rules:
/// `ehr_envelope_open`): what an administrator (the registry's
/// `ADMIN_ROLE`) sends to the registry to register it, for a host that sends
/// its own transactions (a callback transport).
/// `ehr_transport_rpc_register_template` and
/// `ehr_transport_devnet_register_template` send the same call.
/// `EHR_TEMPLATE_UNKNOWN` when no template has that id.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_templates_register_call(
    templates: *const ehr_templates,
    id: *const u8,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    bytes_of(templates, buf, len, out_len, "templates", |templates| {
        let id = ptr::b256(id, "id")?;
        let template = templates.registry.template(&id)?;
        Ok(ehrchain_contracts::register_template_call(template)
            .abi_encode()
            .into())
    })
}

/// Deactivates the template with the 32-byte id `id`: TIs naming it are
/// rejected from now on.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_templates_deactivate(
    templates: *mut ehr_templates,
    id: *const u8,
) -> ehr_result {
    set_active(templates, id, TemplateRegistry::deactivate)
}

/// Activates the deactivated template with the 32-byte id `id` again.
/// `EHR_TEMPLATE_UNKNOWN` for an id not loaded.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_templates_activate(
    templates: *mut ehr_templates,
    id: *const u8,
) -> ehr_result {
    set_active(templates, id, TemplateRegistry::activate)
}

/// Applies `change` (activate or deactivate) to the template with the
/// 32-byte id `id`.
fn set_active(
    templates: *mut ehr_templates,
    id: *const u8,
    change: fn(&mut TemplateRegistry, &B256) -> Result<(), RegistryError>,
) -> ehr_result {
    guard_on_mut(templates, "templates", |templates| {
        let id = ptr::b256(id, "id")?;
        change(&mut templates.registry, &id)?;
        Ok(())
    })
}

/// Writes every loaded template, active or not, as a NUL-terminated JSON
/// array (`[{"id", "name", "version", "title", "roles", "active"}]`, as
/// JavaScript's `Templates.list()`) into `buf` (text-output rules:
/// `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_templates_list(
    templates: *const ehr_templates,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(templates, buf, len, out_len, "templates", |templates| {
        json_text(&templates.registry.summaries())
    })
}

/// Writes the forms the role `role` (such as `nurse`) may fill in, as a
/// NUL-terminated JSON array (template id, name, version, title, whether a
/// patient is asked for, and the fields with type, unit, bounds and label),
/// into `buf` (text-output rules: `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_templates_forms_for(
    templates: *const ehr_templates,
    role: *const c_char,
    role_len: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(templates, buf, len, out_len, "templates", |templates| {
        let role = ehrchain_core::Role::new(ptr::text(role, role_len, "role")?)?;
        json_text(&templates.registry.forms_for(&role))
    })
}

/// Frees a template set; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_templates_free(templates: *mut ehr_templates) {
    free(templates);
}
