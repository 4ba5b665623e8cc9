//! The handshaker end to end on the in-process devnet (no server needed):
//! built-in templates, a nurse's forms, TIs from several roles turned into
//! Ethereum transactions (TCs) and anchored by the `EhrRegistry` contract, a
//! replayed TI refused by the chain, a batch of device readings anchored under
//! one Merkle root with a QR-ready proof checked in Rust and in the EVM, and
//! every violation of a deliberately bad TI.
//!
//! Run with `cargo run --example quickstart`. The Transaction Validator, which
//! will turn these receipts into ACKs for the host's database, is not built yet.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::time::{SystemTime, UNIX_EPOCH};

use ehrchain_contracts::{Devnet, EhrRegistry, Receipt, abi};
use ehrchain_core::{
    B256, BatchBuilder, ChainTransaction, GenerateError, GeneratorConfig, InMemoryKeyStore,
    InclusionProof, InitialTransaction, KeyId, MasterKey, Role, TemplateRegistry,
    TransactionGenerator,
};
use rand_core::{OsRng, RngCore};
use serde_json::{Value, json};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> Result<()> {
    // The host owns time, randomness and keys; the core does no I/O.
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut rng = OsRng;

    // The chain: an in-process EVM with EhrRegistry deployed; templates are
    // checked against its ABI, then registered on chain with their roles.
    let mut net = Devnet::new()?;
    net.set_time(now)?;
    let registry = TemplateRegistry::with_built_ins(Some(abi()))?;
    println!(
        "Built-in templates, registered on chain {}:",
        net.chain_id()
    );
    let mut templates: Vec<_> = registry.iter().collect();
    templates.sort_by_key(|t| t.name().to_owned());
    for template in templates {
        net.register_template(template)?;
        let roles: Vec<_> = template.roles().iter().map(Role::name).collect();
        println!(
            "  {:<26} {}  roles: {}",
            template.name(),
            short(&template.id()),
            roles.join(", ")
        );
    }
    let distributor = Devnet::account("wholesale-7");
    net.grant_role("distributor", distributor)?;

    let nurse = Role::new(Role::NURSE)?;
    println!("\nForms a nurse may fill in:");
    for form in registry.forms_for(&nurse) {
        let fields: Vec<_> = form.fields.iter().map(|f| f.name.as_str()).collect();
        println!("  {} ({}): {}", form.title, form.name, fields.join(", "));
    }

    let tg = TransactionGenerator::new(
        GeneratorConfig {
            chain_id: net.chain_id(),
            registry: net.registry(),
            sealing_key: KeyId::new("records-2026")?,
            pseudonym_key: KeyId::new("pseudonyms")?,
            max_clock_skew: 300,
        },
        demo_key_store(&mut rng)?,
    )?;
    let entries = [
        (
            "blood-pressure",
            Role::DOCTOR,
            Devnet::doctor(),
            Some("MRN-000123"),
            json!({"systolic": 128, "diastolic": 84, "position": "sitting"}),
        ),
        (
            "blood-pressure",
            Role::NURSE,
            Devnet::nurse(),
            Some("MRN-000123"),
            json!({"systolic": 131, "diastolic": 86}),
        ),
        (
            "lab-result",
            Role::PATHOLOGIST,
            Devnet::pathologist(),
            Some("MRN-000456"),
            json!({"test_code": "2345-7", "test_name": "Glucose", "value": "5.4", "unit": "mmol/L", "interpretation": "normal", "specimen": "serum", "collected_at": "2026-11-30T07:45:00Z"}),
        ),
        (
            "drug-shipment-custody",
            "distributor",
            distributor,
            None,
            json!({"lot": "B2026-117", "gtin": "04012345678901", "event": "shipped", "quantity": 240}),
        ),
    ];

    println!("\nTIs turned into TCs and anchored one by one:");
    let mut first = None;
    for (name, role, sender, patient, fields) in entries {
        let ti = initial_transaction(&registry, name, role, patient, fields, now, &mut rng)?;
        let tc = tg.generate(&registry, &ti, now, &mut rng)?;
        let receipt = net.execute_tc(&tc, sender)?;
        net.mine();
        print_anchored(name, role, &tc, &receipt);
        first.get_or_insert((ti, tc, sender));
    }

    if let Some((ti, tc, sender)) = first {
        let record = tc.envelope.open(tg.key_store())?;
        println!("\nThe first sealed record (stays off chain), opened with the key store:");
        println!("  {}", String::from_utf8_lossy(&record));
        println!("\nThe same TI sent again:");
        let replay = tg.generate(&registry, &ti, now, &mut rng)?;
        let receipt = net.execute_tc(&replay, sender)?;
        match receipt.registry_error() {
            Some(EhrRegistry::EhrRegistryErrors::EhrRegistryTiAlreadyUsed(e)) => println!(
                "  refused by the chain: TI {} already anchored with record hash {} ({})",
                short(&e.tiId),
                short(&e.storedRecordHash),
                if e.storedRecordHash == tc.record_hash {
                    "the first TC's"
                } else {
                    "another record's"
                }
            ),
            other => {
                return Err(format!("the replay was not refused as expected: {other:?}").into());
            }
        }
    }

    batch_of_device_readings(&registry, &tg, &mut net, now, &mut rng)?;

    println!("\nA deliberately bad TI (a pathologist's blood pressure, out of range, misspelt):");
    let bad = initial_transaction(
        &registry,
        "blood-pressure",
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
    println!(
        "\nNext: the Transaction Validator turns receipts into ACKs for the EHR database (not built yet)."
    );
    Ok(())
}

/// Twelve device readings go into one batch, anchored with one transaction;
/// one record's proof travels as QR text and is checked against the chain.
fn batch_of_device_readings(
    registry: &TemplateRegistry,
    tg: &TransactionGenerator<InMemoryKeyStore>,
    net: &mut Devnet,
    now: u64,
    rng: &mut OsRng,
) -> Result<()> {
    let mut builder = BatchBuilder::new();
    for minute in 0..12u64 {
        let fields = json!({"device_serial": "PM-88213", "heart_rate": 70 + minute, "spo2": 97, "measured_at": now - 60 * (12 - minute)});
        let ti = initial_transaction(
            registry,
            "device-vital-sign",
            Role::DEVICE,
            Some("MRN-000123"),
            fields,
            now,
            rng,
        )?;
        builder.push(tg.generate(registry, &ti, now, rng)?.record_hash)?;
    }
    let mut batch_id = B256::ZERO;
    rng.fill_bytes(batch_id.as_mut_slice());
    let batch = builder.build(batch_id)?;
    let tx = batch.anchor_transaction(net.registry(), net.chain_id());
    let receipt = net.execute(Devnet::handshaker(), tx.to, tx.calldata)?;
    net.mine();
    println!(
        "\nA batch of {} device readings, anchored with one transaction:",
        batch.leaf_count()
    );
    println!("  root {}  {}", short(&batch.root()), outcome(&receipt));

    let qr_text = batch.proof(5).ok_or("no such leaf")?.to_text();
    println!(
        "  proof of reading 6 as QR text ({} characters): {}…",
        qr_text.len(),
        &qr_text[..48.min(qr_text.len())]
    );
    let proof = InclusionProof::from_text(&qr_text)?;
    let anchored = proof.verify_on_chain(net)?;
    let in_evm = net.view(&EhrRegistry::verifyRecordCall {
        root: proof.root,
        recordHash: proof.record_hash,
        proof: proof.siblings.clone(),
    })?;
    println!(
        "  verified in Rust against the anchored leaf count ({}) and by OpenZeppelin's MerkleProof in the EVM: {in_evm}",
        anchored.leaf_count
    );
    Ok(())
}

/// A key store with fresh random keys: one to seal records, one for pseudonyms.
fn demo_key_store(rng: &mut OsRng) -> Result<InMemoryKeyStore> {
    let mut keys = InMemoryKeyStore::new();
    for id in ["records-2026", "pseudonyms"] {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        keys.insert(KeyId::new(id)?, MasterKey::new(key));
    }
    Ok(keys)
}

fn initial_transaction(
    registry: &TemplateRegistry,
    template: &str,
    role: &str,
    patient: Option<&str>,
    fields: Value,
    timestamp: u64,
    rng: &mut OsRng,
) -> Result<InitialTransaction> {
    let template = registry.latest(template).ok_or("template not loaded")?;
    let mut ti_id = B256::ZERO;
    rng.fill_bytes(ti_id.as_mut_slice());
    Ok(InitialTransaction {
        ti_id,
        template_id: template.id(),
        author_id: format!("{role}-0815"),
        author_role: Role::new(role)?,
        patient_id: patient.map(Into::into),
        timestamp,
        fields: serde_json::from_value(fields)?,
    })
}

fn print_anchored(template: &str, role: &str, tc: &ChainTransaction, receipt: &Receipt) {
    println!("  {template} by a {role}: {}", outcome(receipt));
    println!("    record hash {}  CID {}", tc.record_hash, tc.cid());
    println!(
        "    calldata    {} bytes to {} (selector {})",
        tc.calldata.len(),
        tc.to,
        &tc.calldata.to_string()[..10]
    );
}

fn outcome(receipt: &Receipt) -> String {
    match &receipt.failure {
        None => format!(
            "anchored in block {} (tx {}, {} gas)",
            receipt.block_number,
            short(&receipt.tx_hash),
            receipt.gas_used
        ),
        Some(failure) => format!("refused by the chain: {failure}"),
    }
}

fn short(hash: &B256) -> String {
    let hex = hash.to_string();
    format!("{}…{}", &hex[..10], &hex[hex.len() - 4..])
}
