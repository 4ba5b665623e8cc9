//! What the examples' host processes share (`crash_host`, `gateway` and the
//! pipeline tests): the development nodes' chain id, the handshaker with
//! fixed keys, a bedside monitor's reading, and the registry deployed for
//! gateways.

use std::error::Error;

use ehrchain_contracts::{Deployment, RpcTransport, deploy_registry};
use ehrchain_core::{
    Address, B256, GeneratorConfig, Handshaker, InMemoryKeyStore, InitialTransaction, KeyId,
    MasterKey, Role, TemplateRegistry, TransactionGenerator, ValidatorConfig,
};
use rand_core::{OsRng, RngCore};
use serde_json::json;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The chain id of the development nodes (Ganache and Hardhat, as the e2e
/// scripts start them).
pub(crate) const CHAIN_ID: u64 = 1337;

/// A handshaker with fixed keys, the same at every start (a real host has
/// its key service), anchoring into `registry` with `validator`.
pub(crate) fn handshaker(
    templates: TemplateRegistry,
    registry: Address,
    validator: ValidatorConfig,
) -> Result<Handshaker<InMemoryKeyStore>> {
    let mut keys = InMemoryKeyStore::new();
    keys.insert(KeyId::new("records")?, MasterKey::new([0x11; 32]));
    keys.insert(KeyId::new("pseudonyms")?, MasterKey::new([0x22; 32]));
    let config = GeneratorConfig::new(
        CHAIN_ID,
        registry,
        KeyId::new("records")?,
        KeyId::new("pseudonyms")?,
    )?;
    Ok(Handshaker::new(
        templates,
        TransactionGenerator::new(config, keys)?,
        validator,
    ))
}

/// Deploys the registry with the built-in `templates` (the node's account 0
/// the admin) and grants each of `gateways` the device and handshaker
/// roles.
pub(crate) fn deploy_for_gateways(
    transport: &mut RpcTransport,
    gateways: &[Address],
    templates: &TemplateRegistry,
) -> Result<Address> {
    let admin = *transport
        .accounts()?
        .first()
        .ok_or("the node has no unlocked account")?;
    let grants = gateways
        .iter()
        .flat_map(|a| [("handshaker".to_owned(), *a), (Role::DEVICE.to_owned(), *a)])
        .collect();
    Ok(deploy_registry(
        transport,
        &Deployment { admin, grants },
        templates,
    )?)
}

/// Reading `n` of the bedside monitor of gateway `account`, with a fresh
/// random TI id.
pub(crate) fn reading(
    hs: &Handshaker<InMemoryKeyStore>,
    account: usize,
    n: u64,
    now_secs: u64,
) -> Result<InitialTransaction> {
    let template = hs
        .templates()
        .latest("device-vital-sign")
        .ok_or("no template")?;
    let mut ti_id = B256::ZERO;
    OsRng.fill_bytes(ti_id.as_mut_slice());
    Ok(InitialTransaction {
        ti_id,
        template_id: template.id(),
        author_id: format!("monitor-{account}"),
        author_role: Role::new(Role::DEVICE)?,
        patient_id: Some(format!("MRN-{account}-{:04}", n % 1000)),
        timestamp: now_secs,
        fields: serde_json::from_value(json!({
            "device_serial": format!("PM-{account}"),
            "heart_rate": 60 + n % 40,
            "spo2": 97,
            "measured_at": now_secs,
        }))?,
    })
}
