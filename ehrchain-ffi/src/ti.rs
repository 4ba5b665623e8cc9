//! `ehr_ti`: initial transactions (TIs), built field by field or read from JSON.

use std::collections::BTreeMap;
use std::ffi::c_char;

use ehrchain_core::InitialTransaction;

use crate::keys::os_random;
use crate::ptr::{self, Out, OutArray};
use crate::result::{ehr_result, guard};
use crate::shapes::{free, from_json, guard_on_mut, parsed, text_of, word_of};

/// An initial transaction (TI): a user's entry plus the system data around it.
///
/// Thread safety: a handle may be used from any thread, but not from two
/// threads at once when one of them changes it (`ehr_ti_set_field`).
pub struct ehr_ti {
    pub(crate) ti: InitialTransaction,
}

/// Reads a TI from its JSON form (`docs/templates.md`: `tiId`,
/// `templateId`, `authorId`, `authorRole`, `patientId`, `timestamp`,
/// `fields`). Free it with `ehr_ti_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_ti_from_json(
    json: *const c_char,
    json_len: usize,
    ti_out: *mut *mut ehr_ti,
) -> ehr_result {
    parsed(json, json_len, ti_out, "json", "ti_out", |json| {
        Ok(ehr_ti {
            ti: InitialTransaction::from_json(json)?,
        })
    })
}

/// Makes a TI without field values (add them with `ehr_ti_set_field`).
/// `ti_id` and `template_id` point to 32 bytes each; `author_id` and
/// `author_role` are UTF-8 text; `patient_id` may be NULL for templates
/// without a patient; `timestamp` is when the entry was made, in Unix
/// seconds (the TI's data format; `ehr_clock_now_ms() / 1000`, whereas every
/// `now_ms` of this API is in milliseconds). Free it with `ehr_ti_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_ti_new(
    ti_id: *const u8,
    template_id: *const u8,
    author_id: *const c_char,
    author_id_len: usize,
    author_role: *const c_char,
    author_role_len: usize,
    patient_id: *const c_char,
    patient_id_len: usize,
    timestamp: u64,
    ti_out: *mut *mut ehr_ti,
) -> ehr_result {
    guard(|| {
        let ti_id = ptr::b256(ti_id, "ti_id")?;
        let template_id = ptr::b256(template_id, "template_id")?;
        let author_id = ptr::text(author_id, author_id_len, "author_id")?;
        let role =
            ehrchain_core::Role::new(ptr::text(author_role, author_role_len, "author_role")?)?;
        let patient_id = ptr::opt_text(patient_id, patient_id_len, "patient_id")?;
        let out = Out::new(ti_out, "ti_out")?;
        out.give(ehr_ti {
            ti: InitialTransaction {
                ti_id,
                template_id,
                author_id: author_id.to_owned(),
                author_role: role,
                patient_id: patient_id.map(ToOwned::to_owned),
                timestamp,
                fields: BTreeMap::new(),
            },
        });
        Ok(())
    })
}

/// Sets the field `name` to the JSON value `value_json` (such as `128`,
/// `"sitting"` or `"5.4"`), replacing any value it had. Values are checked
/// against the template when the TC is generated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_ti_set_field(
    ti: *mut ehr_ti,
    name: *const c_char,
    name_len: usize,
    value_json: *const c_char,
    value_json_len: usize,
) -> ehr_result {
    guard_on_mut(ti, "ti", |ti| {
        let name = ptr::text(name, name_len, "name")?;
        let value_json = ptr::text(value_json, value_json_len, "value_json")?;
        let value = from_json(value_json, |e| {
            format!("the value of field {name:?} is not valid JSON: {e}")
        })?;
        ti.ti.fields.insert(name.to_owned(), value);
        Ok(())
    })
}

/// Writes the TI's JSON form as NUL-terminated text into `buf` (text-output
/// rules: `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_ti_to_json(
    ti: *const ehr_ti,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(ti, buf, len, out_len, "ti", |ti| Ok(ti.ti.to_json()))
}

/// Writes the TI's 32-byte id to `ti_id_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_ti_id(ti: *const ehr_ti, ti_id_out: *mut u8) -> ehr_result {
    word_of(ti, ti_id_out, "ti", "ti_id_out", |ti| ti.ti.ti_id.0)
}

/// Frees a TI; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_ti_free(ti: *mut ehr_ti) {
    free(ti);
}

/// Writes the 32-byte on-chain id of the role named `role` (such as `nurse`:
/// `keccak256("NURSE_ROLE")`, what the registry's `grantRole` and
/// `hasRole` take) to `id_out`. `EHR_ROLE_INVALID` for a name that breaks
/// the role naming rule.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_role_id(
    role: *const c_char,
    role_len: usize,
    id_out: *mut u8,
) -> ehr_result {
    guard(|| {
        let role = ehrchain_core::Role::new(ptr::text(role, role_len, "role")?)?;
        OutArray::<32>::new(id_out, "id_out")?.set(&role.id().0);
        Ok(())
    })
}

/// Writes the calldata of `grantRole(roleId, account)`, granting the role
/// named `role` to the 20-byte `account`, into `buf` (byte-output rules:
/// `ehr_envelope_open`): what an administrator (the registry's
/// `DEFAULT_ADMIN_ROLE`) sends to the registry, for a host that sends its
/// own transactions. `ehr_transport_rpc_grant_role` and
/// `ehr_transport_devnet_grant_role` send the same call. `EHR_ROLE_INVALID`
/// for a name that breaks the role naming rule.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_role_grant_call(
    role: *const c_char,
    role_len: usize,
    account: *const u8,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        let role = ehrchain_core::Role::new(ptr::text(role, role_len, "role")?)?;
        let call = ehrchain_contracts::EhrRegistry::grantRoleCall {
            role: role.id(),
            account: ptr::address(account, "account")?,
        };
        ptr::write_bytes(
            buf,
            len,
            out_len,
            &alloy_sol_types::SolCall::abi_encode(&call),
        )
    })
}

/// Writes the `EhrRegistry` creation bytecode (the committed build artifact)
/// into `buf` (byte-output rules: `ehr_envelope_open`): deploy the registry
/// with a transaction carrying it as data and no recipient; its sender
/// holds the administrator roles. `ehr_transport_rpc_deploy_registry` sends
/// the same.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_registry_creation_code(
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    guard(|| {
        ptr::write_bytes(
            buf,
            len,
            out_len,
            &ehrchain_contracts::EhrRegistry::BYTECODE,
        )
    })
}

/// Writes 32 random bytes from the operating system's generator to `id_out`:
/// a fresh TI id or batch id.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_random_id(id_out: *mut u8) -> ehr_result {
    guard(|| {
        let out = OutArray::<32>::new(id_out, "id_out")?;
        out.set(&os_random()?);
        Ok(())
    })
}
