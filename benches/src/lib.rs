//! Shared fixtures of the ehrchain benchmarks: a registry loaded from the
//! built-in blood-pressure template's JSON (its note widened to hold large
//! records), a generator over an in-memory key store, and a TI whose sealed
//! record is a chosen number of bytes.
//!
//! The benches themselves live in `benches/`; see `README.md`.

use std::cell::Cell;
use std::error::Error;
use std::path::Path;
use std::time::{Duration, Instant};

use ehrchain_core::envelope::EnvelopeBinding;
use ehrchain_core::fhir::{FhirOptions, map_bundle};
use ehrchain_core::template::BUILT_IN_TEMPLATES;
use ehrchain_core::{
    Address, B256, GeneratorConfig, InMemoryKeyStore, InitialTransaction, KeyId, MasterKey, Role,
    TemplateRegistry, TransactionGenerator, UnixMillis,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};

/// Errors of fixture setup.
pub type SetupError = Box<dyn Error + Send + Sync>;

/// The host clock TIs are generated against (a TI's own timestamp is in
/// seconds: `NOW.as_secs()`).
pub const NOW: UnixMillis = UnixMillis::from_secs(1_764_495_000);
/// The name of the template the TC benchmark uses.
pub const TEMPLATE: &str = "blood-pressure";
/// The sealed record size the TC benchmark aims at: 1 KiB.
pub const RECORD_BYTES: usize = 1024;
/// The sealed record sizes the TC benchmarks run: 1 KiB, 16 KiB, 256 KiB.
pub const RECORD_SIZES: [usize; 3] = [1 << 10, 16 << 10, 256 << 10];
/// The key id records are sealed under.
pub const SEALING_KEY_ID: &str = "records-2026";
/// The sealing master key's bytes.
pub const SEALING_KEY: [u8; 32] = [0x11; 32];
/// The key id patient pseudonyms are derived from.
pub const PSEUDONYM_KEY_ID: &str = "pseudonyms";
/// The pseudonym master key's bytes.
pub const PSEUDONYM_KEY: [u8; 32] = [0x22; 32];
/// The chain id of the benchmark's TCs.
pub const CHAIN_ID: u64 = 1337;
/// The registry address of the benchmark's TCs.
pub const REGISTRY: Address = Address::repeat_byte(0xee);

/// Everything `TransactionGenerator::generate` needs, built once.
#[derive(Debug)]
pub struct Fixture {
    /// A registry holding only the blood-pressure template, loaded from JSON.
    pub registry: TemplateRegistry,
    /// A generator over an in-memory key store.
    pub generator: TransactionGenerator<InMemoryKeyStore>,
}

impl Fixture {
    /// Loads the blood-pressure template from [`template_json`] and builds the
    /// generator.
    ///
    /// # Errors
    /// If the built-in template is missing or invalid, or the keys do not load.
    pub fn new() -> Result<Self, SetupError> {
        let mut registry = TemplateRegistry::new();
        registry.add_json(&template_json()?)?;

        let mut keys = InMemoryKeyStore::new();
        keys.insert(KeyId::new(SEALING_KEY_ID)?, sealing_key());
        keys.insert(KeyId::new(PSEUDONYM_KEY_ID)?, MasterKey::new(PSEUDONYM_KEY));
        let config = GeneratorConfig {
            chain_id: CHAIN_ID,
            registry: REGISTRY,
            sealing_key: KeyId::new(SEALING_KEY_ID)?,
            pseudonym_key: KeyId::new(PSEUDONYM_KEY_ID)?,
            max_clock_skew_ms: 300_000,
        };
        Ok(Self {
            registry,
            generator: TransactionGenerator::new(config, keys)?,
        })
    }

    /// A blood-pressure TI (systolic, diastolic, position and a free-text
    /// `note`) whose sealed record plaintext is exactly `record_bytes` long; the
    /// note is sized to fit.
    ///
    /// # Errors
    /// If the template is not loaded, a TI does not generate, or
    /// `record_bytes` is too small or too large for the template's note.
    pub fn ti_with_record_size(
        &self,
        record_bytes: usize,
    ) -> Result<InitialTransaction, SetupError> {
        let empty = self.ti_with_note(String::new())?;
        let base = self.record_len(&empty)?;
        let note_len = record_bytes
            .checked_sub(base)
            .ok_or_else(|| format!("a record without note is already {base} bytes"))?;
        let ti = self.ti_with_note(note_text(note_len))?;
        let got = self.record_len(&ti)?;
        if got != record_bytes {
            return Err(format!("sized the record to {got} bytes, not {record_bytes}").into());
        }
        Ok(ti)
    }

    /// A blood-pressure TI with the given note.
    ///
    /// # Errors
    /// If the blood-pressure template is not loaded.
    pub fn ti_with_note(&self, note: String) -> Result<InitialTransaction, SetupError> {
        let template = self
            .registry
            .latest(TEMPLATE)
            .ok_or("the blood-pressure template is not loaded")?;
        let fields = json!({
            "systolic": 128,
            "diastolic": 84,
            "position": "sitting",
            "note": note,
        });
        Ok(InitialTransaction {
            ti_id: B256::repeat_byte(0x01),
            template_id: template.id(),
            author_id: "dr-4711".into(),
            author_role: Role::new(Role::NURSE)?,
            patient_id: Some("MRN-000123".into()),
            timestamp: NOW.as_secs() - 60,
            fields: serde_json::from_value(fields)?,
        })
    }

    /// The plaintext length of the record `ti` seals to.
    ///
    /// # Errors
    /// If `ti` does not generate or its envelope does not open.
    pub fn record_len(&self, ti: &InitialTransaction) -> Result<usize, SetupError> {
        let tc = self
            .generator
            .generate(&self.registry, ti, NOW, &mut rng())?;
        Ok(tc.envelope.open(self.generator.key_store())?.len())
    }
}

/// The built-in blood-pressure template's JSON with its free-text `note`
/// allowed up to the format's limit (1 MiB) instead of 2,000 characters, so
/// that 16 KiB and 256 KiB records fit. Everything else, and so the work per
/// TI, is the built-in template's.
///
/// # Errors
/// If the built-in template is missing or has no `note` field.
pub fn template_json() -> Result<String, SetupError> {
    let json = BUILT_IN_TEMPLATES
        .iter()
        .find(|(name, _)| *name == TEMPLATE)
        .map(|(_, json)| *json)
        .ok_or("the blood-pressure template is not built in")?;
    let mut doc: serde_json::Value = serde_json::from_str(json)?;
    let note = doc
        .get_mut("fields")
        .and_then(serde_json::Value::as_array_mut)
        .and_then(|fields| {
            fields
                .iter_mut()
                .find(|f| f.get("name") == Some(&json!("note")))
        })
        .and_then(serde_json::Value::as_object_mut)
        .ok_or("the blood-pressure template has no note")?;
    note.insert(
        "maxLength".to_owned(),
        json!(ehrchain_core::template::MAX_TEXT_LEN),
    );
    Ok(serde_json::to_string_pretty(&doc)?)
}

/// Clinical-looking ASCII prose of exactly `len` bytes (no JSON escapes).
#[must_use]
pub fn note_text(len: usize) -> String {
    const PROSE: &str = "Patient seated five minutes before the reading, left arm, \
        adult cuff; reports mild headache since morning, no chest pain, no dyspnoea. ";
    PROSE.chars().cycle().take(len).collect()
}

/// The sealing master key.
#[must_use]
pub fn sealing_key() -> MasterKey {
    MasterKey::new(SEALING_KEY)
}

/// A seeded RNG for envelope nonces.
#[must_use]
pub fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(7)
}

/// An envelope binding like the generator's for a blood-pressure TI.
///
/// # Errors
/// Never for the fixed key id; typed for the constructor's sake.
pub fn binding() -> Result<EnvelopeBinding, SetupError> {
    Ok(EnvelopeBinding {
        key_id: KeyId::new(SEALING_KEY_ID)?,
        patient: B256::repeat_byte(0x0a),
        template_id: B256::repeat_byte(0x0b),
        ti_id: B256::repeat_byte(0x0c),
    })
}

/// A built batch of `n` distinct, deterministic record hashes.
///
/// # Errors
/// [`ehrchain_core::batch::BatchError::Empty`] for `n == 0`.
pub fn batch_of(n: u32) -> Result<ehrchain_core::Batch, ehrchain_core::batch::BatchError> {
    let mut builder = ehrchain_core::BatchBuilder::with_capacity(n as usize);
    for i in 0..n {
        let mut hash = [0x5a; 32];
        hash[..4].copy_from_slice(&i.to_be_bytes());
        builder.push(B256::from(hash))?;
    }
    builder.build(B256::repeat_byte(0xba))
}

/// The FHIR benchmarks' patient identifier system (the hospital's MRNs).
pub const FHIR_MRN_SYSTEM: &str = "urn:oid:1.2.36.146.595.217.0.1";
/// Entries of the FHIR benchmarks' large Bundle.
pub const FHIR_BUNDLE_ENTRIES: usize = 10_000;

/// A blood pressure of the FHIR R4 vital-signs profile, 120/80 `mm[Hg]`, by
/// `performer` for `subject` (about 900 bytes of JSON).
#[must_use]
pub fn fhir_blood_pressure(id: usize, subject: Value, performer: &str) -> Value {
    let loinc = |code: &str| json!({"coding": [{"system": "http://loinc.org", "code": code}]});
    let mmhg =
        |v: u32| json!({"value": v, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"});
    json!({"resourceType": "Observation", "id": format!("bp-{id}"), "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs"}]}],
        "code": loinc("85354-9"), "subject": subject, "performer": [{"reference": performer}],
        "effectiveDateTime": "2025-11-30T09:28:00Z",
        "component": [{"code": loinc("8480-6"), "valueQuantity": mmhg(120)},
                      {"code": loinc("8462-4"), "valueQuantity": mmhg(80)}]})
}

/// The JSON text of a Synthea-style collection Bundle of `entries` entries:
/// a Patient, a Practitioner, and blood pressures referring to both by
/// `urn:uuid`. Written entry by entry, so that no JSON tree of the whole
/// Bundle counts in the peak memory of mapping it.
#[must_use]
pub fn fhir_bundle(entries: usize) -> String {
    let mut entry = vec![
        json!({"fullUrl": "urn:uuid:patient", "resource": {"resourceType": "Patient", "id": "p",
            "identifier": [{"system": FHIR_MRN_SYSTEM, "value": "MRN-000123"}]}})
        .to_string(),
        json!({"fullUrl": "urn:uuid:nurse", "resource": {"resourceType": "Practitioner", "id": "n"}})
            .to_string(),
    ];
    for i in 2..entries {
        let bp = fhir_blood_pressure(
            i,
            json!({"reference": "urn:uuid:patient"}),
            "urn:uuid:nurse",
        );
        entry.push(json!({"fullUrl": format!("urn:uuid:bp-{i}"), "resource": bp}).to_string());
    }
    format!(
        r#"{{"resourceType":"Bundle","type":"collection","entry":[{}]}}"#,
        entry.join(",")
    )
}

/// A Bundle's JSON text → its TIs (`fhir::map_bundle`) → a TC for each →
/// their record hashes in one Merkle batch; the work the `fhir_bundle`
/// bench times and `examples/fhir_bundle.rs` measures the memory of.
///
/// # Errors
/// If the Bundle does not map, an entry is left unmapped beyond the Patient
/// and the Practitioner, a TI does not generate, or the batch does not build.
pub fn fhir_bundle_to_batch(
    fx: &Fixture,
    bundle_json: &str,
    rng: &mut ChaCha20Rng,
) -> Result<ehrchain_core::Batch, SetupError> {
    let options = FhirOptions::new(FHIR_MRN_SYSTEM);
    let mapping = map_bundle(&fx.registry, bundle_json, &options)?;
    if mapping.unmapped.len() != 2 {
        return Err(format!("{} entries unmapped, not 2", mapping.unmapped.len()).into());
    }
    let mut batch = ehrchain_core::BatchBuilder::with_capacity(mapping.mapped.len());
    for mapped in &mapping.mapped {
        let tc = fx.generator.generate(&fx.registry, &mapped.ti, NOW, rng)?;
        batch.push(tc.record_hash)?;
    }
    Ok(batch.build(B256::repeat_byte(0x07))?)
}

/// Runs `first` then `second`, `iters` times, timing each call apart; adds
/// both times to `totals` and returns the time of the `second` calls (for
/// criterion's `iter_custom`). This machine's speed drifts by tens of percent
/// within minutes, and two benches run one after the other have measured the
/// same code 30 % apart; alternated, both calls see the same machine.
pub fn alternate(
    iters: u64,
    mut first: impl FnMut(),
    mut second: impl FnMut(),
    totals: &Cell<(Duration, Duration)>,
) -> Duration {
    let mut second_total = Duration::ZERO;
    for _ in 0..iters {
        let started = Instant::now();
        first();
        let first_time = started.elapsed();
        let started = Instant::now();
        second();
        let second_time = started.elapsed();
        let (a, b) = totals.get();
        totals.set((a + first_time, b + second_time));
        second_total += second_time;
    }
    second_total
}

/// Prints the overhead of the `second` calls over the `first` in the
/// alternated `totals` and, when `EHRCHAIN_BENCH_OUT` names a directory
/// (`make bench`), writes it there as `<name>.json` for the report:
/// `{"<first>_s": …, "<second>_s": …, "overhead": …}`. Does nothing when
/// the alternating bench was filtered out.
///
/// # Errors
/// If the file cannot be written.
pub fn report_overhead(
    name: &str,
    (first, second): (&str, &str),
    (a, b): (Duration, Duration),
) -> std::io::Result<()> {
    if a.is_zero() {
        return Ok(());
    }
    let overhead = b.as_secs_f64() / a.as_secs_f64() - 1.0;
    eprintln!(
        "{name}: {second} {:+.2} % over {first}, alternated",
        overhead * 100.0
    );
    match std::env::var_os("EHRCHAIN_BENCH_OUT") {
        Some(dir) => std::fs::write(
            Path::new(&dir).join(format!("{name}.json")),
            format!(
                "{{\"{first}_s\": {}, \"{second}_s\": {}, \"overhead\": {overhead}}}\n",
                a.as_secs_f64(),
                b.as_secs_f64()
            ),
        ),
        None => Ok(()),
    }
}
