//! The generator half of the handshaker, end to end: load the built-in
//! templates, draw a role's form, turn TIs from several roles into Ethereum
//! transactions (TCs), open a sealed record again, and show every violation of
//! a deliberately bad TI.
//!
//! Run with `cargo run --example quickstart`. Sending the TCs to a chain and
//! turning the results into ACKs is the validator's job (not built yet).
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::time::{SystemTime, UNIX_EPOCH};

use ehrchain_core::{
    Address, B256, ChainTransaction, GenerateError, GeneratorConfig, InMemoryKeyStore,
    InitialTransaction, KeyId, MasterKey, Role, TemplateRegistry, TransactionGenerator,
};
use rand_core::{OsRng, RngCore};
use serde_json::json;

fn main() -> Result<(), Box<dyn Error>> {
    // The host owns time, randomness and keys; the core does no I/O.
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut rng = OsRng;
    let keys = demo_key_store(&mut rng)?;

    let registry = TemplateRegistry::with_built_ins(None)?;
    println!("Built-in templates:");
    for template in registry.iter() {
        let roles: Vec<_> = template.roles().iter().map(Role::name).collect();
        println!(
            "  {:<28} v{}  {}  roles: {}",
            template.name(),
            template.version(),
            template.id(),
            roles.join(", ")
        );
    }

    let nurse = Role::new(Role::NURSE)?;
    println!("\nForms a nurse may fill in:");
    for form in registry.forms_for(&nurse) {
        let fields: Vec<_> = form.fields.iter().map(|f| f.name.as_str()).collect();
        println!("  {} ({}): {}", form.title, form.name, fields.join(", "));
    }

    let config = GeneratorConfig {
        chain_id: 1337,
        registry: Address::repeat_byte(0xee),
        sealing_key: KeyId::new("records-2026")?,
        pseudonym_key: KeyId::new("pseudonyms")?,
        max_clock_skew: 300,
    };
    let tg = TransactionGenerator::new(config, keys)?;
    let entries = [
        (
            "blood-pressure",
            "dr-4711",
            Role::DOCTOR,
            Some("MRN-000123"),
            json!({"systolic": 128, "diastolic": 84, "position": "sitting"}),
        ),
        (
            "blood-pressure",
            "rn-0815",
            Role::NURSE,
            Some("MRN-000123"),
            json!({"systolic": 131, "diastolic": 86}),
        ),
        (
            "lab-result",
            "path-12",
            Role::PATHOLOGIST,
            Some("MRN-000456"),
            json!({"test_code": "2345-7", "test_name": "Glucose", "value": "5.4", "unit": "mmol/L", "interpretation": "normal", "specimen": "serum", "collected_at": "2026-11-30T07:45:00Z"}),
        ),
        (
            "device-vital-sign",
            "monitor-3b",
            Role::DEVICE,
            Some("MRN-000123"),
            json!({"device_serial": "PM-88213", "heart_rate": 72, "spo2": 97, "temperature": "36.8", "measured_at": now}),
        ),
        (
            "drug-shipment-custody",
            "wholesale-7",
            "distributor",
            None,
            json!({"lot": "B2026-117", "gtin": "04012345678901", "event": "shipped", "quantity": 240}),
        ),
    ];

    println!("\nTIs turned into TCs:");
    let mut first = None;
    for (name, author, role, patient, fields) in entries {
        let ti = initial_transaction(
            &registry, name, author, role, patient, fields, now, &mut rng,
        )?;
        let tc = tg.generate(&registry, &ti, now, &mut rng)?;
        print_tc(name, role, &tc);
        first.get_or_insert(tc);
    }

    if let Some(tc) = first {
        let record = tc.envelope.open(tg.key_store())?;
        println!("\nThe first sealed record, opened again with the key store:");
        println!("  {}", String::from_utf8_lossy(&record));
    }

    println!("\nA deliberately bad TI (a pathologist's blood pressure, out of range, misspelt):");
    let bad = initial_transaction(
        &registry,
        "blood-pressure",
        "path-12",
        Role::PATHOLOGIST,
        Some("MRN-000123"),
        json!({"systolic": 420, "diastolic": "80", "position": "upside down", "pulse": 70}),
        now + 3_600,
        &mut rng,
    )?;
    match tg.generate(&registry, &bad, now, &mut rng) {
        Err(GenerateError::Rejected(violations)) => {
            for violation in &violations.0 {
                println!("  - {violation}");
            }
        }
        Ok(_) => return Err("the bad TI was accepted".into()),
        Err(other) => return Err(other.into()),
    }
    println!("\nNext: the validator sends TCs to the chain and answers with ACKs (not built yet).");
    Ok(())
}

/// A key store with fresh random keys: one to seal records, one for pseudonyms.
fn demo_key_store(rng: &mut OsRng) -> Result<InMemoryKeyStore, Box<dyn Error>> {
    let mut keys = InMemoryKeyStore::new();
    for id in ["records-2026", "pseudonyms"] {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        keys.insert(KeyId::new(id)?, MasterKey::new(key));
    }
    Ok(keys)
}

#[allow(clippy::too_many_arguments)]
fn initial_transaction(
    registry: &TemplateRegistry,
    template: &str,
    author: &str,
    role: &str,
    patient: Option<&str>,
    fields: serde_json::Value,
    timestamp: u64,
    rng: &mut OsRng,
) -> Result<InitialTransaction, Box<dyn Error>> {
    let template = registry.latest(template).ok_or("template not loaded")?;
    let mut ti_id = B256::ZERO;
    rng.fill_bytes(ti_id.as_mut_slice());
    Ok(InitialTransaction {
        ti_id,
        template_id: template.id(),
        author_id: author.into(),
        author_role: Role::new(role)?,
        patient_id: patient.map(Into::into),
        timestamp,
        fields: serde_json::from_value(fields)?,
    })
}

fn print_tc(template: &str, role: &str, tc: &ChainTransaction) {
    println!("  {template} by a {role}:");
    println!("    to {} on chain {}", tc.to, tc.chain_id);
    println!("    calldata    {}", tc.calldata);
    println!("    record hash {}", tc.record_hash);
    println!("    CID         {}", tc.cid());
    println!(
        "    envelope    {} bytes, sealed under {}",
        tc.envelope.as_bytes().len(),
        tc.envelope.binding().key_id
    );
}
