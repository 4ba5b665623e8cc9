//! The in-process devnet (revm): a chain for demos, tests and training.

use std::ffi::c_char;

#[cfg(feature = "devnet")]
use ehrchain_contracts::{Devnet, DevnetTransport};

use super::{FfiTransport, ehr_transport};
use crate::ptr::{self, Out, OutArray};
use crate::result::{ehr_result, guard};
use crate::shapes::guard_on_mut;
use crate::templates::ehr_templates;
use crate::with_feature;

/// Makes an in-process Ethereum devnet (revm; no server) with the
/// `EhrRegistry` contract deployed, its clock at the system time, the named
/// devnet accounts holding their roles (doctor, nurse, pathologist, device,
/// handshaker) and every template of `templates` (may be NULL) registered on
/// chain. It mines at once and closes a block whenever the head is read.
/// Free it with `ehr_transport_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_new_devnet(
    templates: *const ehr_templates,
    transport_out: *mut *mut ehr_transport,
) -> ehr_result {
    guard(|| {
        let out = Out::new(transport_out, "transport_out")?;
        out.give(ehr_transport {
            inner: devnet_transport(ptr::opt_handle(templates))?,
        });
        Ok(())
    })
}

#[cfg(feature = "devnet")]
fn devnet_transport(templates: Option<&ehr_templates>) -> crate::result::Result<FfiTransport> {
    use ehrchain_core::{Clock, SystemClock};
    let mut net = Devnet::new()?;
    // Block timestamps are Unix seconds (EVM).
    let now = SystemClock.now().as_secs();
    if now > net.block_timestamp() {
        net.set_time(now)?;
    }
    for template in templates.iter().flat_map(|t| t.registry.iter()) {
        net.register_template(template)?;
    }
    Ok(FfiTransport::Devnet(Box::new(DevnetTransport::new(net))))
}

#[cfg(not(feature = "devnet"))]
fn devnet_transport(_: Option<&ehr_templates>) -> crate::result::Result<FfiTransport> {
    Err(crate::disabled("devnet"))
}

/// Writes the 20-byte address of the devnet account named `name` (`admin`,
/// `handshaker`, `doctor`, `nurse`, `pathologist`, `device`, or any other
/// name) to `address_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_devnet_account(
    name: *const c_char,
    name_len: usize,
    address_out: *mut u8,
) -> ehr_result {
    guard(|| {
        let name = ptr::text(name, name_len, "name")?;
        let out = OutArray::<20>::new(address_out, "address_out")?;
        with_feature!("devnet", (name, out), {
            out.set(&Devnet::account(name).0.0);
            Ok(())
        })
    })
}

#[cfg(feature = "devnet")]
fn devnet(t: &mut ehr_transport) -> crate::result::Result<&mut DevnetTransport> {
    match &mut t.inner {
        FfiTransport::Devnet(d) => Ok(d),
        _ => Err(super::needs(
            "a devnet transport (ehr_transport_new_devnet)",
        )),
    }
}

/// Grants the role `role` on the devnet's registry to the 20-byte `account`,
/// as the devnet's admin. `EHR_INVALID_ARGUMENT` for other transports.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_devnet_grant_role(
    transport: *mut ehr_transport,
    role: *const c_char,
    role_len: usize,
    account: *const u8,
) -> ehr_result {
    guard_on_mut(transport, "transport", |t| {
        let role = ptr::text(role, role_len, "role")?;
        let account = ptr::address(account, "account")?;
        with_feature!("devnet", (t, role, account), {
            devnet(t)?.devnet_mut().grant_role(role, account)?;
            Ok(())
        })
    })
}

/// Registers the template of `templates` with the 32-byte id `template_id`
/// (its id and the roles allowed to use it) on the devnet's registry, as the
/// devnet's admin: a template added after the devnet was made
/// (`ehr_templates_add_json`) loads on chain once registered, without
/// making a new devnet (`ehr_transport_rpc_register_template` on a node).
/// `EHR_TEMPLATE_UNKNOWN` when `templates` has no such template;
/// `EHR_DEVNET` when the registration reverts (registered already: the
/// message names `EhrRegistryTemplateExists`); `EHR_INVALID_ARGUMENT` for
/// other transports.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_devnet_register_template(
    transport: *mut ehr_transport,
    templates: *const ehr_templates,
    template_id: *const u8,
) -> ehr_result {
    guard_on_mut(transport, "transport", |t| {
        let templates = ptr::handle(templates, "templates")?;
        let id = ptr::b256(template_id, "template_id")?;
        let template = templates.registry.template(&id)?;
        with_feature!("devnet", (t, template), {
            devnet(t)?.devnet_mut().register_template(template)?;
            Ok(())
        })
    })
}
