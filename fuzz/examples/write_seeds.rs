//! Rewrites the committed seed corpora in `fuzz/seeds/` from the current core:
//! every built-in template's JSON, a valid TI for each built-in template (plus
//! one with violations), the envelope each valid TI seals to under the fuzz
//! targets' fixed key, and small FHIR resources and Bundles written for the
//! FHIR mapping (a Bundle with a mapped blood pressure, a Patient and a
//! Practitioner; a MedicationAdministration with a contained Medication; a
//! Bundle with a reference that does not resolve and a reading in kPa), and
//! the signed statements of `docs/vectors/authorship.json`, and key capsules
//! sealed for the fixed recipient keys.
//!
//! Run it after a change to the built-in templates or the envelope format:
//! `cargo run --manifest-path fuzz/Cargo.toml --example write_seeds`

use std::error::Error;
use std::fs;
use std::path::Path;

use ehrchain_core::capsule::{Authority, CapsuleBinding, KeyCapsule};
use ehrchain_core::template::BUILT_IN_TEMPLATES;
use ehrchain_core::{Address, B256, BatchBuilder, Bytes, InitialTransaction, Role};
use ehrchain_fuzz::{NOW, capsule_keys, fixture, rng};
use serde_json::{Value, json};

/// A valid set of field values and the author role for each built-in template.
fn sample(name: &str) -> Option<(&'static str, Option<&'static str>, Value)> {
    Some(match name {
        "blood-pressure" => (
            "nurse",
            Some("MRN-000123"),
            json!({"systolic": 120, "diastolic": 80, "position": "sitting",
                   "measured_at": "2025-11-30T09:15:00Z", "note": "after rest"}),
        ),
        "lab-result" => (
            "pathologist",
            Some("MRN-000123"),
            json!({"test_code": "2345-7", "test_name": "Glucose", "value": "5.4",
                   "unit": "mmol/L", "interpretation": "normal", "specimen": "serum",
                   "collected_at": 1_764_490_000}),
        ),
        "medication-administration" => (
            "nurse",
            Some("MRN-000123"),
            json!({"medication_code": "197361", "medication_name": "Amlodipine 5 mg",
                   "dose": "5", "dose_unit": "mg", "route": "oral",
                   "administered_at": "2025-11-30T08:00:00+01:00"}),
        ),
        "diagnosis" => (
            "doctor",
            Some("MRN-000123"),
            json!({"condition_code": "I10", "description": "Essential hypertension",
                   "clinical_status": "active", "verification": "confirmed",
                   "onset": "2024-03-01T00:00:00Z"}),
        ),
        "device-vital-sign" => (
            "device",
            Some("MRN-000123"),
            json!({"device_serial": "MON-0042", "heart_rate": 72, "spo2": 98,
                   "respiratory_rate": 14, "temperature": "36.8",
                   "measured_at": 1_764_494_900}),
        ),
        "drug-shipment-custody" => (
            "distributor",
            None,
            json!({"lot": "LOT-2025-11-A", "gtin": "09506000134352", "event": "shipped",
                   "quantity": 240,
                   "counterparty": "0x52908400098527886E0F7030069857D2E4169EE7",
                   "expires_on": "2027-06-30T00:00:00Z"}),
        ),
        _ => return None,
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let fx = fixture();
    for (i, (name, json)) in BUILT_IN_TEMPLATES.iter().enumerate() {
        fs::write(
            seeds.join("template_json").join(format!("{name}.json")),
            json,
        )?;

        let template = fx
            .registry
            .latest(name)
            .ok_or_else(|| format!("built-in template {name} is not loaded"))?;
        let (role, patient, fields) =
            sample(name).ok_or_else(|| format!("no sample TI for built-in template {name}"))?;
        let ti = InitialTransaction {
            ti_id: B256::repeat_byte(u8::try_from(i + 1)?),
            template_id: template.id(),
            author_id: "dr-4711".into(),
            author_role: Role::new(role)?,
            patient_id: patient.map(Into::into),
            timestamp: NOW.as_secs() - 60,
            fields: serde_json::from_value(fields)?,
        };
        let tc = fx.generator.generate(&fx.registry, &ti, NOW, &mut rng())?;
        fs::write(
            seeds.join("ti_json").join(format!("{name}.json")),
            ti.to_json(),
        )?;
        fs::write(
            seeds.join("envelope_open").join(format!("{name}.bin")),
            tc.envelope.as_bytes(),
        )?;
    }

    // A TI with a violation of every kind, so the fuzzer starts on the
    // rejection paths too.
    let bp = fx
        .registry
        .latest("blood-pressure")
        .ok_or("blood-pressure is not loaded")?;
    let bad = InitialTransaction {
        ti_id: B256::repeat_byte(0xbb),
        template_id: bp.id(),
        author_id: "dr-4711".into(),
        author_role: Role::new("pathologist")?,
        patient_id: Some("MRN-000123".into()),
        timestamp: NOW.as_secs() + 3600,
        fields: serde_json::from_value(json!({
            "systolic": 400, "diastolic": "eighty", "position": "upside-down",
            "measured_at": "yesterday", "pulse": 70, "subject": "0x00"
        }))?,
    };
    if fx
        .generator
        .generate(&fx.registry, &bad, NOW, &mut rng())
        .is_ok()
    {
        return Err("the rejected TI seed was accepted".into());
    }
    fs::write(
        seeds.join("ti_json").join("blood-pressure-rejected.json"),
        bad.to_json(),
    )?;
    write_proof_seeds(&seeds)?;
    write_fhir_seeds(&seeds)?;
    write_statement_seeds(&seeds)?;
    write_capsule_seeds(&seeds)?;
    println!("seeds written to {}", seeds.display());
    Ok(())
}

/// Proofs of a 13-record batch in their three forms, and raw forgery inputs.
fn write_proof_seeds(seeds: &Path) -> Result<(), Box<dyn Error>> {
    let mut builder = BatchBuilder::new();
    for i in 0..13u8 {
        builder.push(B256::repeat_byte(i + 1))?;
    }
    let batch = builder.build(B256::repeat_byte(0xb1))?;
    for i in [0u32, 6, 12] {
        let proof = batch.proof(i)?;
        let dir = seeds.join("proof_decode");
        fs::write(dir.join(format!("leaf-{i}.bin")), proof.to_bytes())?;
        fs::write(dir.join(format!("leaf-{i}.txt")), proof.to_text())?;
        fs::write(dir.join(format!("leaf-{i}.json")), proof.to_json())?;
        // proof_verify reads structured input; any bytes do as a start.
        fs::write(
            seeds.join("proof_verify").join(format!("leaf-{i}.bin")),
            proof.to_bytes(),
        )?;
    }
    Ok(())
}

/// A capsule sealed for each fixed recipient key, under a grant and in an
/// emergency, so that the fuzzer starts inside HPKE's open.
fn write_capsule_seeds(seeds: &Path) -> Result<(), Box<dyn Error>> {
    let dir = seeds.join("capsule_open");
    fs::create_dir_all(&dir)?;
    for key in capsule_keys() {
        for (name, authority) in [
            ("grant", Authority::Grant(B256::repeat_byte(0x47))),
            ("emergency", Authority::Emergency),
        ] {
            let binding = CapsuleBinding {
                chain_id: 1337,
                registry: Address::repeat_byte(0xee),
                record_hash: B256::repeat_byte(0x5e),
                recipient: Address::repeat_byte(0xb0),
                authority,
            };
            let capsule = KeyCapsule::seal(&binding, key.public_key(), &[0x6b; 32], &mut rng())?;
            let suite = key.public_key().suite().id();
            fs::write(
                dir.join(format!("suite-{suite}-{name}.bin")),
                capsule.as_bytes(),
            )?;
        }
    }
    Ok(())
}

/// Every signed statement of `docs/vectors/authorship.json`, valid and
/// invalid, as `statement` reads it: the signature's bytes, then the
/// statement's JSON.
fn write_statement_seeds(seeds: &Path) -> Result<(), Box<dyn Error>> {
    let dir = seeds.join("statement");
    fs::create_dir_all(&dir)?;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/vectors/authorship.json");
    let vectors: Value = serde_json::from_str(&fs::read_to_string(path)?)?;
    let all =
        ["valid", "invalid"].map(|kind| vectors[kind].as_array().cloned().unwrap_or_default());
    for (i, vector) in all.iter().flatten().enumerate() {
        let hex = vector["signature"]
            .as_str()
            .ok_or("a vector without a signature")?;
        let mut seed = hex.parse::<Bytes>()?.to_vec();
        seed.extend_from_slice(&serde_json::to_vec(&vector["statement"])?);
        fs::write(dir.join(format!("vector-{i}.bin")), seed)?;
    }
    Ok(())
}

/// FHIR input for `fhir_json`, written for the fuzzer (the real FHIR data of
/// the tests stays in `../shared/fhir/`).
fn write_fhir_seeds(seeds: &Path) -> Result<(), Box<dyn Error>> {
    let dir = seeds.join("fhir_json");
    fs::create_dir_all(&dir)?;
    let mrn = "urn:oid:1.2.36.146.595.217.0.1";
    let patient = json!({"resourceType": "Patient", "id": "p1",
        "identifier": [{"system": mrn, "value": "MRN-000123"}]});
    let bp = |id: &str, systolic: Value, unit: &str, subject: &str| {
        json!({"resourceType": "Observation", "id": id, "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
            "subject": {"reference": subject},
            "performer": [{"reference": "urn:uuid:n1"}],
            "effectiveDateTime": "2025-11-30T09:28:00Z",
            "component": [
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                 "valueQuantity": {"value": systolic, "system": "http://unitsofmeasure.org", "code": unit}},
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                 "valueQuantity": {"value": 80, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]})
    };
    let entry = |url: &str, r: Value| json!({"fullUrl": url, "resource": r});
    let practitioner = json!({"resourceType": "Practitioner", "id": "n1"});
    let mapped = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        entry("urn:uuid:p1", patient.clone()),
        entry("urn:uuid:n1", practitioner.clone()),
        entry("urn:uuid:bp1", bp("bp1", json!(120), "mm[Hg]", "urn:uuid:p1"))]});
    let refused = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        entry("urn:uuid:n1", practitioner),
        entry("urn:uuid:bp2", bp("bp2", json!(16.5), "kPa", "urn:uuid:nobody")),
        {"fullUrl": "urn:uuid:empty"}]});
    let administration = json!({"resourceType": "MedicationAdministration", "id": "ma1",
        "status": "completed",
        "contained": [{"resourceType": "Medication", "id": "m1", "code": {"coding": [
            {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1594660",
             "display": "Alemtuzumab 10mg/ml"}]}}],
        "medicationReference": {"reference": "#m1"},
        "subject": {"identifier": {"system": mrn, "value": "MRN-000123"}},
        "performer": [{"actor": {"reference": "Practitioner/n1"}}],
        "effectivePeriod": {"start": "2025-11-30T09:00:00+01:00"},
        "dosage": {"route": {"coding": [{"system": "http://snomed.info/sct", "code": "47625008"}]},
                   "dose": {"value": 3, "system": "http://unitsofmeasure.org", "code": "mg"}}});
    for (name, value) in [
        ("bundle-mapped", mapped),
        ("bundle-refused", refused),
        ("medication-administration", administration),
    ] {
        fs::write(
            dir.join(format!("{name}.json")),
            serde_json::to_string_pretty(&value)?,
        )?;
    }
    Ok(())
}
