//! A JSON-RPC node (Geth, Besu, Hardhat, Ganache) reached by ehrchain itself,
//! and the administration of its registry: deploying it, granting roles,
//! registering templates.

use std::ffi::c_char;

#[cfg(feature = "rpc")]
use ehrchain_contracts::{RpcConfig, RpcTransport};

#[cfg(feature = "rpc")]
use super::FfiTransport;
use super::ehr_transport;
use ehrchain_core::authorship::{LocalSigner, Signer as _};

use crate::ptr::{self, Out, OutArray};
use crate::result::{ehr_result, guard};
use crate::shapes::guard_on_mut;
use crate::templates::ehr_templates;
use crate::with_feature;

/// Connects to the JSON-RPC node at `url` (`http://` or `https://`, UTF-8),
/// checks that it is on chain `chain_id`, and reads the `EhrRegistry` at the
/// 20-byte `registry` (all zeros when none is deployed yet:
/// `ehr_transport_rpc_deploy_registry` deploys one). `timeout_ms` bounds each JSON-RPC exchange (0 for 30
/// s). Transactions are sent from the node's unlocked accounts, or signed
/// here for accounts whose keys were added (`ehr_transport_rpc_add_local_key`);
/// `ehr_transport_set_sender` and `ehr_transport_rpc_set_default_sender`
/// say which account sends for whom.
/// Fails with `EHR_TRANSPORT_UNAVAILABLE` when the node does not answer,
/// `EHR_TRANSPORT_WRONG_CHAIN` or `EHR_TRANSPORT_REJECTED` for an unusable
/// URL. Free it with `ehr_transport_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_new_rpc(
    url: *const c_char,
    url_len: usize,
    chain_id: u64,
    registry: *const u8,
    timeout_ms: u64,
    transport_out: *mut *mut ehr_transport,
) -> ehr_result {
    guard(|| {
        let url = ptr::text(url, url_len, "url")?;
        let registry = ptr::address(registry, "registry")?;
        let out = Out::new(transport_out, "transport_out")?;
        with_feature!("rpc", (url, chain_id, registry, timeout_ms, out), {
            let mut config = RpcConfig::new(chain_id);
            config.registry = registry;
            if timeout_ms > 0 {
                config.timeout = std::time::Duration::from_millis(timeout_ms);
            }
            let transport = RpcTransport::connect(url, config)?;
            out.give(ehr_transport {
                inner: FfiTransport::Rpc(Box::new(transport)),
            });
            Ok(())
        })
    })
}

#[cfg(feature = "rpc")]
fn rpc(t: &mut ehr_transport) -> crate::result::Result<&mut RpcTransport> {
    match &mut t.inner {
        FfiTransport::Rpc(r) => Ok(r),
        _ => Err(super::needs("a JSON-RPC transport (ehr_transport_new_rpc)")),
    }
}

/// Sends batches and the transactions of roles without a sender of their own
/// from the 20-byte `account` (JSON-RPC transports only).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_rpc_set_default_sender(
    transport: *mut ehr_transport,
    account: *const u8,
) -> ehr_result {
    guard_on_mut(transport, "transport", |t| {
        let account = ptr::address(account, "account")?;
        with_feature!("rpc", (t, account), {
            rpc(t)?.set_default_sender(account);
            Ok(())
        })
    })
}

/// Signs the transactions of the account of the 32-byte secp256k1 secret
/// key at `secret` locally from now on (raw transactions: for a node that
/// unlocks no account, such as a production Geth or Besu), and writes that
/// 20-byte account to `account_out`; then name it with
/// `ehr_transport_set_sender` or `ehr_transport_rpc_set_default_sender`.
/// The bytes are copied; ehrchain zeroizes its copies when the transport is
/// freed. `EHR_SIGNER_FAILED` when the bytes are not a secret key (zero, or
/// not below the curve order); `EHR_INVALID_ARGUMENT` for other transports.
/// JSON-RPC transports only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_rpc_add_local_key(
    transport: *mut ehr_transport,
    secret: *const u8,
    account_out: *mut u8,
) -> ehr_result {
    guard_on_mut(transport, "transport", |t| {
        let secret = ptr::secret32(secret, "secret")?;
        let out = OutArray::<20>::new(account_out, "account_out")?;
        // The core's rule for what a secret key is, and its error.
        let account = LocalSigner::from_bytes(&secret)?.address();
        with_feature!("rpc", (t, secret, out, account), {
            let key = ehrchain_contracts::PrivateKeySigner::from_slice(secret.as_slice()).map_err(
                |e| {
                    crate::result::Error::new(ehrchain_core::ErrorCode::SignerFailed, e.to_string())
                },
            )?;
            rpc(t)?.add_local_key(key);
            out.set(&account.0.0);
            Ok(())
        })
    })
}

/// Whether reading the head first asks the node to mine a block (`evm_mine`,
/// development nodes such as Ganache only), so that confirmations grow on an
/// instamining node. JSON-RPC transports only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_rpc_set_mine_on_head(
    transport: *mut ehr_transport,
    mine: bool,
) -> ehr_result {
    guard_on_mut(transport, "transport", |t| {
        with_feature!("rpc", (t, mine), {
            rpc(t)?.set_mine_on_head(mine);
            Ok(())
        })
    })
}

/// How a JSON-RPC transport prices the transactions it signs itself
/// (`ehr_transport_rpc_set_fees`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ehr_fee_mode {
    /// Legacy (type 0) transactions at the node's `eth_gasPrice` (the
    /// default): accepted by every EVM chain.
    EHR_FEES_LEGACY = 0,
    /// EIP-1559 (type 2) transactions: the node's
    /// `eth_maxPriorityFeePerGas` tip, and a fee cap of twice the latest base
    /// fee plus the tip (London and later chains).
    EHR_FEES_EIP1559 = 1,
}

/// Prices the transactions this JSON-RPC transport signs itself
/// (`ehr_transport_rpc_add_local_key`) with `fees` (an `ehr_fee_mode`), and
/// adds `gas_margin_percent` to the node's gas estimates of every
/// transaction it sends (the default is 20). `EHR_INVALID_ARGUMENT` for
/// another `fees` value or transport.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_rpc_set_fees(
    transport: *mut ehr_transport,
    fees: u32,
    gas_margin_percent: u64,
) -> ehr_result {
    guard_on_mut(transport, "transport", |t| {
        let eip1559 = match fees {
            f if f == ehr_fee_mode::EHR_FEES_LEGACY as u32 => false,
            f if f == ehr_fee_mode::EHR_FEES_EIP1559 as u32 => true,
            other => {
                return Err(crate::result::Error::new(
                    ehrchain_core::ErrorCode::InvalidArgument,
                    format!(
                        "the argument `fees` is {other}; use EHR_FEES_LEGACY or EHR_FEES_EIP1559"
                    ),
                ));
            }
        };
        with_feature!("rpc", (t, eip1559, gas_margin_percent), {
            let fees = if eip1559 {
                ehrchain_contracts::FeeMode::Eip1559
            } else {
                ehrchain_contracts::FeeMode::Legacy
            };
            rpc(t)?.set_fees(fees, gas_margin_percent);
            Ok(())
        })
    })
}

/// Deploys a new `EhrRegistry` from the committed bytecode on the node of a
/// JSON-RPC transport, sent from the 20-byte account `admin` (unlocked on the
/// node), which then holds the registry's administrator roles; registers
/// every template of `templates` (NULL for none) and points the transport at
/// the new registry, whose 20-byte address it writes to `registry_out`. An
/// administrator does this once per chain, then grants roles
/// (`ehr_transport_rpc_grant_role`). Blocks until each transaction is mined
/// (each within the transport's timeout). `EHR_TRANSPORT_REVERTED` when a
/// transaction reverts (the message decodes why); `EHR_INVALID_ARGUMENT` for
/// other transports.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_rpc_deploy_registry(
    transport: *mut ehr_transport,
    admin: *const u8,
    templates: *const ehr_templates,
    registry_out: *mut u8,
) -> ehr_result {
    guard_on_mut(transport, "transport", |t| {
        let admin = ptr::address(admin, "admin")?;
        let templates = ptr::opt_handle(templates);
        let out = OutArray::<20>::new(registry_out, "registry_out")?;
        with_feature!("rpc", (t, admin, templates, out), {
            let deployment = ehrchain_contracts::Deployment {
                admin,
                grants: Vec::new(),
            };
            let none = ehrchain_core::TemplateRegistry::new();
            let templates = templates.map_or(&none, |t| &t.registry);
            let registry = ehrchain_contracts::deploy_registry(rpc(t)?, &deployment, templates)?;
            out.set(&registry.0.0);
            Ok(())
        })
    })
}

/// Grants the role `role` (such as `nurse`) to the 20-byte `account` on the
/// registry of a JSON-RPC transport, with a transaction from the 20-byte
/// `admin` (an account holding the registry's `DEFAULT_ADMIN_ROLE`, the
/// admin of every role, such as its deployer), and blocks until it is
/// mined. `EHR_ROLE_INVALID` for a
/// malformed role name; `EHR_TRANSPORT_REVERTED` when the grant reverts;
/// `EHR_INVALID_ARGUMENT` for other transports (a devnet:
/// `ehr_transport_devnet_grant_role`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_rpc_grant_role(
    transport: *mut ehr_transport,
    admin: *const u8,
    role: *const c_char,
    role_len: usize,
    account: *const u8,
) -> ehr_result {
    guard_on_mut(transport, "transport", |t| {
        let admin = ptr::address(admin, "admin")?;
        let role = ehrchain_core::Role::new(ptr::text(role, role_len, "role")?)?;
        let account = ptr::address(account, "account")?;
        with_feature!("rpc", (t, admin, role, account), {
            ehrchain_contracts::grant_role(rpc(t)?, admin, &role, account)?;
            Ok(())
        })
    })
}

/// Registers the template of `templates` with the 32-byte id `template_id`
/// (its id and the roles allowed to use it) on the registry of a JSON-RPC
/// transport, with a transaction from the 20-byte `admin`, and blocks until
/// it is mined: TIs of a template load on chain only once it is registered.
/// `EHR_TEMPLATE_UNKNOWN` when `templates` has no such template;
/// `EHR_TRANSPORT_REVERTED` when the registration reverts (a template
/// registered already, an `admin` without `ADMIN_ROLE`);
/// `EHR_INVALID_ARGUMENT` for other transports.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_rpc_register_template(
    transport: *mut ehr_transport,
    admin: *const u8,
    templates: *const ehr_templates,
    template_id: *const u8,
) -> ehr_result {
    guard_on_mut(transport, "transport", |t| {
        let admin = ptr::address(admin, "admin")?;
        let templates = ptr::handle(templates, "templates")?;
        let id = ptr::b256(template_id, "template_id")?;
        let template = templates.registry.template(&id)?;
        with_feature!("rpc", (t, admin, template), {
            ehrchain_contracts::register_template(rpc(t)?, admin, template)?;
            Ok(())
        })
    })
}
