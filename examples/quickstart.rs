//! The handshaker end to end on the in-process devnet (no server needed):
//! TI → TC → chain → ACK. Built-in templates registered on chain, a nurse's
//! forms, TIs from several roles turned into Ethereum transactions (TCs),
//! anchored by the `EhrRegistry` contract and answered with ACKs by the
//! Transaction Validator: valid (store the record) or invalid (keep it for
//! audit) — a role the chain refuses, a replayed TC anchored only once, a
//! monitor's readings through the anchoring pipeline (bulk readings under one
//! Merkle root with a QR-ready proof checked in Rust and in the EVM, an alarm
//! reading anchored alone), every violation of a deliberately bad TI, and a
//! FHIR R4 Bundle (a patient's vital signs, a lab result and a medication)
//! turned into TIs by the templates' FHIR mappings, whose ACKs come back as
//! FHIR Provenance; last, a patient shares one template's records with a
//! second hospital (an EIP-712 grant a relayer sends), which opens a record
//! and checks it against the chain; the patient reads the disclosure in the
//! accounting, revokes, and no further key capsule can be made.
//! The host's EHR database is an embedded SQLite file: valid ACKs go to its
//! `records` table with their sealed envelopes, invalid ones to `audit`, and
//! its `outbox` table is the write-ahead outbox: every TC is stored there
//! before it is sent, and leaves it in the transaction that stores its ACK.
//! A host that crashes after sending resumes the same TC from it.
//!
//! Run with `cargo run --example quickstart`; add `-- --rpc-url
//! http://127.0.0.1:8545` to run the same flow against a node such as Ganache
//! (started with `--chain.hardfork shanghai --chain.chainId 1337
//! --wallet.deterministic`): the registry is deployed there from the committed
//! artifact, and its first eight unlocked accounts play admin, handshaker,
//! doctor, nurse, pathologist, device, distributor and pharmacy, and the
//! ninth the second hospital that records are shared with.
#![allow(clippy::print_stdout)]

use std::error::Error;

use alloy_sol_types::SolCall;
use ehrchain_contracts::{
    Deployment, Devnet, DevnetTransport, EhrConsent, EhrRegistry, RpcConfig, RpcTransport, abi,
    deploy_consent, deploy_registry, grant_role,
};
use ehrchain_core::authorship::{LocalSigner, Signer};
use ehrchain_core::capsule::{Authority, CapsuleSuite, KeyCapsule, RecipientPrivateKey};
use ehrchain_core::consent_abi::{ConsentDomain, ConsentGrant, ConsentRevocation, IEhrConsent};
use ehrchain_core::outbox::Outbox;
use ehrchain_core::pipeline::{Pipeline, PipelineConfig, Priority, drain_durably};
use ehrchain_core::rpc::BlockTag;
use ehrchain_core::sharing::{
    AccountingQuery, ChainLog, ChainReader, ReceiveCheck, ShareCheck, SharingContext,
    disclosure_transaction, read_blocking,
};
use ehrchain_core::watcher::{AnchorWatcher, WatcherConfig};
use ehrchain_core::{
    Ack, AckStatus, Address, B256, Bytes, Clock, GeneratorConfig, Handshaker, InMemoryKeyStore,
    InclusionProof, InitialTransaction, KeyId, MasterKey, Role, Run, SystemClock, TemplateRegistry,
    TransactionGenerator, TransactionValidator, Transmit, Transport, UnixMillis, Until,
    ValidatorConfig, run_durably,
};
use rand_core::{OsRng, RngCore};
use serde_json::{Value, json};

// The examples' SQLite database; reading the ACKs back is the crash test's.
#[allow(dead_code)]
#[path = "common/store.rs"]
mod store;
#[path = "common/watch.rs"]
mod watch;

use store::Database;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// What the host holds: the handshaker, its chain, its clock, its EHR
/// database (with the outbox) and its randomness.
struct Host<C> {
    hs: Handshaker<InMemoryKeyStore>,
    transport: C,
    clock: SystemClock,
    db: Database,
    rng: OsRng,
}

/// What the example needs from a chain beyond the validator's `Transport`
/// and sharing's reads at a mined block.
trait Chain: Transport + ChainReader {
    /// `verifyRecord` in the EVM: OpenZeppelin's MerkleProof over the proof.
    fn verify_in_evm(&mut self, proof: &InclusionProof) -> Result<bool>;

    /// Deploys `EhrConsent` and names who shares: the first hospital's
    /// custodian (which also relays the patient's statements) and the
    /// second hospital.
    fn consent_parties(&mut self) -> Result<Parties>;

    /// Sends `calldata` to `to` from `from` and waits until it is mined:
    /// its logs when the chain hands them back with the receipt (the
    /// devnet), or the revert data when it reverted.
    fn send_to(&mut self, from: Address, to: Address, calldata: Bytes) -> Result<Sent>;

    /// The logs of the patient's accounting: those the devnet handed back
    /// (`sent`), or a node's `eth_getLogs` answers.
    fn accounting_logs(
        &mut self,
        query: &AccountingQuery,
        sent: &[ChainLog],
    ) -> Result<Vec<ChainLog>>;
}

/// Who takes part in sharing.
struct Parties {
    consent: Address,
    custodian: Address,
    second_hospital: Address,
}

/// A mined transaction's logs (if the chain gave them), or its revert data.
type Sent = std::result::Result<Vec<ChainLog>, Bytes>;

fn verify_call(proof: &InclusionProof) -> EhrRegistry::verifyRecordCall {
    EhrRegistry::verifyRecordCall {
        root: proof.root,
        recordHash: proof.record_hash,
        proof: proof.siblings.clone(),
    }
}

impl Chain for DevnetTransport {
    fn verify_in_evm(&mut self, proof: &InclusionProof) -> Result<bool> {
        Ok(self.devnet_mut().view(&verify_call(proof))?)
    }

    fn consent_parties(&mut self) -> Result<Parties> {
        let net = self.devnet_mut();
        let consent = net.deploy_consent()?;
        net.grant_role("custodian", Devnet::handshaker())?;
        Ok(Parties {
            consent,
            custodian: Devnet::handshaker(),
            second_hospital: Devnet::account("hospital-b"),
        })
    }

    fn send_to(&mut self, from: Address, to: Address, calldata: Bytes) -> Result<Sent> {
        let net = self.devnet_mut();
        let receipt = net.execute(from, to, calldata)?;
        net.mine();
        Ok(if receipt.status() {
            Ok(receipt.chain_logs())
        } else {
            Err(receipt.output)
        })
    }

    fn accounting_logs(&mut self, _: &AccountingQuery, sent: &[ChainLog]) -> Result<Vec<ChainLog>> {
        Ok(sent.to_vec())
    }
}

impl Chain for RpcTransport {
    fn verify_in_evm(&mut self, proof: &InclusionProof) -> Result<bool> {
        Ok(self.view(&verify_call(proof))?)
    }

    fn consent_parties(&mut self) -> Result<Parties> {
        let accounts = self.accounts()?;
        let (Some(&admin), Some(&custodian), Some(&second_hospital)) =
            (accounts.first(), accounts.get(1), accounts.get(8))
        else {
            return Err("the node has fewer than 9 unlocked accounts".into());
        };
        let consent = deploy_consent(self, admin)?;
        grant_role(self, admin, &Role::new("custodian")?, custodian)?;
        Ok(Parties {
            consent,
            custodian,
            second_hospital,
        })
    }

    fn send_to(&mut self, from: Address, to: Address, calldata: Bytes) -> Result<Sent> {
        let hash = match self.send_from(from, Some(to), calldata, Default::default()) {
            Ok(hash) => hash,
            Err(ehrchain_core::TransportError::Reverted(revert)) => return Ok(Err(revert.data)),
            Err(e) => return Err(e.into()),
        };
        let receipt = self.wait_for_receipt(&hash)?;
        Ok(if receipt.status {
            Ok(Vec::new())
        } else {
            Err(receipt.revert_data.unwrap_or_default())
        })
    }

    fn accounting_logs(
        &mut self,
        query: &AccountingQuery,
        _: &[ChainLog],
    ) -> Result<Vec<ChainLog>> {
        let mut logs = Vec::new();
        for request in query.requests(BlockTag::Number(0), BlockTag::Latest) {
            logs.extend(ChainLog::from_rpc(&self.request(&request)?)?);
        }
        Ok(logs)
    }
}

/// The in-process devnet with the registry deployed and the templates
/// registered; a distributor holds its role on chain, a pharmacy does not.
fn devnet(templates: &TemplateRegistry, now: u64) -> Result<DevnetTransport> {
    let mut net = Devnet::new()?;
    net.set_time(now)?;
    for template in templates.iter() {
        net.register_template(template)?;
    }
    let (distributor, pharmacy) = (
        Devnet::account("wholesale-7"),
        Devnet::account("pharmacy-3"),
    );
    net.grant_role("distributor", distributor)?;
    let mut transport = DevnetTransport::new(net);
    transport.set_sender(&Role::new("distributor")?, distributor);
    transport.set_sender(&Role::new("pharmacist")?, pharmacy);
    Ok(transport)
}

/// A node at `url` (chain 1337) with unlocked accounts: deploys the registry,
/// grants the roles and registers the templates.
fn node(url: &str, templates: &TemplateRegistry) -> Result<RpcTransport> {
    let mut transport = RpcTransport::connect(url, RpcConfig::new(1337))?;
    let accounts = transport.accounts()?;
    let [
        admin,
        handshaker,
        doctor,
        nurse,
        pathologist,
        device,
        distributor,
        pharmacy,
        ..,
    ] = accounts[..]
    else {
        return Err(format!("the node at {url} has fewer than 8 unlocked accounts").into());
    };
    let granted = [
        ("handshaker", handshaker),
        (Role::DOCTOR, doctor),
        (Role::NURSE, nurse),
        (Role::PATHOLOGIST, pathologist),
        (Role::DEVICE, device),
        ("distributor", distributor),
    ];
    let deployment = Deployment {
        admin,
        grants: granted
            .iter()
            .map(|(role, account)| ((*role).to_owned(), *account))
            .collect(),
    };
    deploy_registry(&mut transport, &deployment, templates)?;
    for (role, account) in granted.into_iter().chain([("pharmacist", pharmacy)]) {
        transport.set_sender(&Role::new(role)?, account);
    }
    transport.set_default_sender(handshaker);
    // Development nodes mine only when a transaction arrives; mine on each
    // head read so that confirmations grow while the validator waits.
    transport.set_mine_on_head(true);
    Ok(transport)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args
        .iter()
        .position(|a| a == "--rpc-url")
        .map(|i| args.get(i + 1))
    {
        None => run(devnet),
        Some(Some(url)) => run(|templates, _| node(url, templates)),
        Some(None) => Err("--rpc-url needs a URL, such as http://127.0.0.1:8545".into()),
    }
}

fn run<C: Chain>(connect: impl FnOnce(&TemplateRegistry, u64) -> Result<C>) -> Result<()> {
    // The host owns time, randomness and keys; the core does no I/O. Every
    // time in the API is Unix milliseconds; ehrchain-core's `std-clock`
    // feature gives native hosts the system clock.
    let mut clock = SystemClock;
    let mut rng = OsRng;

    // Templates are checked against the registry's ABI, then registered on
    // chain with their roles.
    let registry = TemplateRegistry::with_built_ins(Some(abi()))?;
    // Block timestamps are Unix seconds (as the EVM keeps them).
    let transport = connect(&registry, clock.now().as_secs())?;
    println!(
        "Built-in templates, registered on chain {}:",
        transport.chain_id()
    );
    let mut templates: Vec<_> = registry.iter().collect();
    templates.sort_by_key(|t| t.name().to_owned());
    for template in templates {
        let roles: Vec<_> = template.roles().iter().map(Role::name).collect();
        println!(
            "  {:<26} {}  roles: {}",
            template.name(),
            short(&template.id()),
            roles.join(", ")
        );
    }

    let nurse = Role::new(Role::NURSE)?;
    println!("\nForms a nurse may fill in:");
    for form in registry.forms_for(&nurse) {
        let fields: Vec<_> = form.fields.iter().map(|f| f.name.as_str()).collect();
        println!("  {} ({}): {}", form.title, form.name, fields.join(", "));
    }

    let tg = TransactionGenerator::new(
        GeneratorConfig {
            chain_id: transport.chain_id(),
            registry: transport.registry(),
            sealing_key: KeyId::new("records-2026")?,
            pseudonym_key: KeyId::new("pseudonyms")?,
            max_clock_skew_ms: 300_000,
        },
        demo_key_store(&mut rng)?,
    )?;
    let config = ValidatorConfig {
        confirmations: 2,
        // The devnet (and Ganache) mine at once: poll often. A node with
        // real block times wants the default second or more.
        poll_interval_ms: 100,
        ..ValidatorConfig::default()
    };
    // A fresh database for every run of the example (and no journal a
    // run before left beside it).
    let db_path = std::env::temp_dir().join("ehrchain-quickstart.sqlite");
    for stale in [db_path.clone(), db_path.with_extension("sqlite-journal")] {
        if stale.exists() {
            std::fs::remove_file(&stale)?;
        }
    }
    let mut host = Host {
        hs: Handshaker::new(registry, tg, config),
        transport,
        clock,
        db: Database::open(&db_path)?,
        rng,
    };

    let entries = [
        (
            "blood-pressure",
            Role::DOCTOR,
            Some("MRN-000123"),
            json!({"systolic": 128, "diastolic": 84, "position": "sitting"}),
        ),
        (
            "blood-pressure",
            Role::NURSE,
            Some("MRN-000123"),
            json!({"systolic": 131, "diastolic": 86}),
        ),
        (
            "lab-result",
            Role::PATHOLOGIST,
            Some("MRN-000456"),
            json!({"test_code": "2345-7", "test_name": "Glucose", "value": "5.4", "unit": "mmol/L", "interpretation": "normal", "specimen": "serum", "collected_at": "2026-11-30T07:45:00Z"}),
        ),
        (
            "drug-shipment-custody",
            "distributor",
            None,
            json!({"lot": "B2026-117", "gtin": "04012345678901", "event": "shipped", "quantity": 240}),
        ),
        (
            "drug-shipment-custody",
            "pharmacist",
            None,
            json!({"lot": "B2026-117", "gtin": "04012345678901", "event": "received", "quantity": 240}),
        ),
        (
            "blood-pressure",
            Role::PATHOLOGIST,
            Some("MRN-000123"),
            json!({"systolic": 420, "diastolic": "80", "position": "upside down", "pulse": 70}),
        ),
    ];
    println!("\nTIs through the handshaker, one ACK each:");
    let mut first = None;
    // After the ACK, the valid ones are watched until their anchors are final.
    let mut watcher = AnchorWatcher::new(WatcherConfig {
        depth: 6,
        poll_interval_ms: 100,
        ..WatcherConfig::default()
    });
    for (name, role, patient, fields) in entries {
        let now = host.clock.now();
        let ti = host.ti(now, name, role, patient, fields)?;
        // Stored in the outbox before it is sent; the ACK and the outbox
        // entry's removal are one database transaction. A node outage is
        // waited out for up to two minutes; then the TI stays pending in the
        // outbox (no ACK: it is not invalid) and the next run resumes it.
        let deadline = Until::deadline(host.clock.now().saturating_add_ms(120_000));
        let ack = match host.submit_watched(&ti, &mut watcher, &deadline)? {
            Run::Acked(ack) => ack,
            Run::Pending(stopped) => {
                println!("  {name} by a {role}: {stopped}");
                continue;
            }
        };
        print_ack(&format!("{name} by a {role}"), &ack);
        if ack.is_valid() {
            first.get_or_insert(ack);
        }
    }

    if let Some(ack) = first {
        let envelope =
            ehrchain_core::Envelope::from_bytes(ack.envelope.clone().unwrap_or_default().to_vec())?;
        let record = envelope.open(host.hs.generator().key_store())?;
        println!(
            "\nWhat the EHR database stores for the first valid ACK (the record stays off chain):"
        );
        println!(
            "  ACK (envelope bytes left out) {}",
            serde_json::to_string(&Ack {
                envelope: None,
                ..ack
            })?
        );
        println!("  record {}", String::from_utf8_lossy(&record));
    }

    host.watch_until_final(&mut watcher)?;
    host.replayed_tc()?;
    host.crash_after_sending()?;
    host.pipeline_of_device_readings()?;
    host.fhir_bundle()?;
    host.share_with_consent()?;
    println!(
        "\nThe EHR database {} holds {} records and {} audit entries.",
        db_path.display(),
        host.db.record_count()?,
        host.db.count("audit")?
    );
    assert_eq!(host.db.count("outbox")?, 0, "every TI has its ACK");
    Ok(())
}

impl<C: Chain> Host<C> {
    /// A TI from `role` on the newest version of `template` at `now`, with a
    /// fresh random TI id.
    fn ti(
        &mut self,
        now: UnixMillis,
        template: &str,
        role: &str,
        patient: Option<&str>,
        fields: Value,
    ) -> Result<InitialTransaction> {
        let template = (self.hs.templates().latest(template)).ok_or("template not loaded")?;
        let mut ti_id = B256::ZERO;
        self.rng.fill_bytes(ti_id.as_mut_slice());
        Ok(InitialTransaction {
            ti_id,
            template_id: template.id(),
            author_id: format!("{role}-0815"),
            author_role: Role::new(role)?,
            patient_id: patient.map(Into::into),
            timestamp: now.as_secs(), // a TI's timestamp is in Unix seconds
            fields: serde_json::from_value(fields)?,
        })
    }

    /// Submits `ti` through the outbox until its ACK or `until` and, when
    /// the ACK is valid, hands it to `watcher`.
    fn submit_watched(
        &mut self,
        ti: &InitialTransaction,
        watcher: &mut AnchorWatcher,
        until: &Until,
    ) -> Result<Run<Ack>> {
        Ok(self.hs.submit_watched(
            ti,
            &mut self.db,
            &mut self.transport,
            &mut self.clock,
            &mut self.rng,
            watcher,
            until,
        )?)
    }

    /// Watches the valid ACKs handed to `watcher` until their anchors are
    /// final (a minute at most).
    fn watch_until_final(&mut self, watcher: &mut AnchorWatcher) -> Result<()> {
        watch::watch_until_final(
            watcher,
            &mut self.db,
            &mut self.transport,
            &mut self.clock,
            60_000,
        )
    }

    /// Submits `ti` through the outbox and blocks until its ACK.
    fn submit_durably(&mut self, ti: &InitialTransaction) -> Result<Ack> {
        let (db, transport) = (&mut self.db, &mut self.transport);
        let until = Until::verdict();
        let run =
            (self.hs).submit_durably(ti, db, transport, &mut self.clock, &mut self.rng, &until)?;
        Ok(run.acked()?)
    }

    /// Runs `validator` through the outbox to its ACKs.
    fn run(&mut self, validator: &mut TransactionValidator) -> Result<Vec<Ack>> {
        let (db, transport) = (&mut self.db, &mut self.transport);
        Ok(run_durably(validator, db, transport, &mut self.clock, &Until::verdict())?.acked()?)
    }

    /// The host crashes right after sending a TC; restarted, it resumes what
    /// its outbox holds: the same TC, anchored once, with one ACK.
    fn crash_after_sending(&mut self) -> Result<()> {
        let now = self.clock.now();
        let fields = json!({"systolic": 118, "diastolic": 76});
        let ti = self.ti(
            now,
            "blood-pressure",
            Role::NURSE,
            Some("MRN-000789"),
            fields,
        )?;
        let mut validator = self.hs.validator_for(&ti, now, &mut self.rng)?;
        // The validator asks for its outbox entry first, then sends.
        while let Some(transmit) = validator.poll_transmit(self.clock.now()) {
            match transmit {
                Transmit::Persist => {
                    let key = validator.outbox_key().ok_or("a TC has an outbox key")?;
                    self.db.save(&key, &validator.to_json())?;
                    validator.handle_persisted(self.clock.now(), Ok(()))?;
                }
                Transmit::Submit { submission } => {
                    self.transport.submit(&submission)?;
                    break; // the host crashes before it hears back
                }
                _ => return Err("unexpected action before the submission".into()),
            }
        }
        drop(validator);
        println!(
            "
The host crashes right after sending a TC; restarted, it resumes its outbox:"
        );
        let (db, transport) = (&mut self.db, &mut self.transport);
        for ack in self
            .hs
            .resume(db, transport, &mut self.clock, &Until::verdict())?
            .acks
        {
            print_ack("resumed", &ack);
        }
        Ok(())
    }

    /// The same TC submitted twice (a host retry after a crash, say): the
    /// chain holds it once and the second ACK says so.
    fn replayed_tc(&mut self) -> Result<()> {
        let now = self.clock.now();
        let fields = json!({"condition_code": "I10", "clinical_status": "active", "verification": "confirmed"});
        let ti = self.ti(now, "diagnosis", Role::DOCTOR, Some("MRN-000123"), fields)?;
        let tc = (self.hs.generator()).generate(self.hs.templates(), &ti, now, &mut self.rng)?;
        println!("\nOne diagnosis TC submitted twice:");
        for attempt in ["first", "again"] {
            let mut validator = TransactionValidator::new(&tc, *self.hs.validator_config());
            for ack in self.run(&mut validator)? {
                print_ack(attempt, &ack);
            }
        }
        Ok(())
    }

    /// A bedside monitor's readings through the pipeline: the bulk readings
    /// wait in the open Merkle batch (flushed when full or after 500 ms) and
    /// go out in one transaction; an urgent reading goes alone at once. Each
    /// round of outbox entries is one database transaction.
    fn pipeline_of_device_readings(&mut self) -> Result<()> {
        let now = self.clock.now();
        let config = PipelineConfig {
            batch_max_records: 256,
            batch_max_wait_ms: 500,
            validator: *self.hs.validator_config(),
            ..PipelineConfig::default()
        };
        let mut pipeline =
            Pipeline::new(self.transport.chain_id(), self.transport.registry(), config);
        // Two hours of readings a minute apart go into the open batch; the
        // last one, an alarm, is anchored alone at once.
        let mut alarm_id = B256::ZERO;
        for minute in 0..=120u64 {
            let alarm = minute == 120;
            let fields = if alarm {
                json!({"device_serial": "PM-88213", "heart_rate": 148, "spo2": 86, "measured_at": now.as_secs()})
            } else {
                json!({"device_serial": "PM-88213", "heart_rate": 60 + minute % 40, "spo2": 97, "measured_at": now.as_secs() - 60 * (120 - minute)})
            };
            let ti = self.ti(
                now,
                "device-vital-sign",
                Role::DEVICE,
                Some("MRN-000123"),
                fields,
            )?;
            let priority = if alarm {
                alarm_id = ti.ti_id;
                Priority::Urgent
            } else {
                Priority::Bulk
            };
            self.hs
                .push(&mut pipeline, &ti, priority, now, &mut self.rng)?;
        }
        let (db, transport) = (&mut self.db, &mut self.transport);
        drain_durably(
            &mut pipeline,
            db,
            transport,
            &mut self.clock,
            &Until::verdict(),
        )?
        .finished()?;
        let acks = pipeline.take_acks();
        let batched = acks
            .iter()
            .filter(|a| a.anchor().is_some_and(|x| x.batch.is_some()));
        println!(
            "\n121 monitor readings through the pipeline: {} valid ACKs, {} of them from one Merkle batch, the alarm reading alone",
            acks.iter().filter(|a| a.is_valid()).count(),
            batched.count()
        );
        if let Some(ack) = acks.iter().find(|a| a.ti_id == alarm_id) {
            print_ack("the alarm reading", ack);
        }

        let qr_text = acks
            .iter()
            .filter_map(Ack::anchor)
            .find_map(|anchor| anchor.batch.as_ref())
            .ok_or("no reading has a batch proof")?
            .to_text();
        println!(
            "  proof of a reading as QR text ({} characters): {}…",
            qr_text.len(),
            &qr_text[..48.min(qr_text.len())]
        );
        let proof = InclusionProof::from_text(&qr_text)?;
        let anchored = proof.verify_on_chain(&mut self.transport)?;
        let in_evm = self.transport.verify_in_evm(&proof)?;
        println!(
            "  verified in Rust against the anchored leaf count ({}) and by OpenZeppelin's MerkleProof in the EVM: {in_evm}",
            anchored.leaf_count
        );
        Ok(())
    }

    /// An EHR's FHIR R4 Bundle, with no ehrchain-specific code: the
    /// templates' FHIR mappings turn its entries into TIs (the Patient, the
    /// Practitioners, the Specimen and a Procedure are reported, not
    /// anchored), and each valid ACK comes back as a FHIR Provenance for the
    /// EHR to store.
    fn fhir_bundle(&mut self) -> Result<()> {
        use ehrchain_core::fhir::{self, AnchorContext, FhirOptions};
        const MRN: &str = "urn:oid:1.2.36.146.595.217.0.1";
        let loinc = |code: &str| json!({"coding": [{"system": "http://loinc.org", "code": code}]});
        let ucum = |value: Value, code: &str| json!({"value": value, "system": "http://unitsofmeasure.org", "code": code});
        let entry = |url: &str, resource: Value| json!({"fullUrl": url, "resource": resource});
        let patient = json!({"reference": "urn:uuid:patient"});
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            entry("urn:uuid:patient", json!({"resourceType": "Patient", "id": "p-123",
                "identifier": [{"system": MRN, "value": "MRN-000123"}]})),
            entry("urn:uuid:nurse", json!({"resourceType": "Practitioner", "id": "rn-0815"})),
            entry("urn:uuid:pathologist", json!({"resourceType": "Practitioner", "id": "pa-4711"})),
            entry("urn:uuid:specimen", json!({"resourceType": "Specimen", "id": "s-1",
                "type": {"coding": [{"system": "http://snomed.info/sct", "code": "119364003"}]}})),
            entry("urn:uuid:bp", json!({"resourceType": "Observation", "id": "bp-1", "status": "final",
                "code": loinc("85354-9"), "subject": patient, "performer": [{"reference": "urn:uuid:nurse"}],
                "effectiveDateTime": "2025-11-30T09:28:00Z",
                "component": [
                    {"code": loinc("8480-6"), "valueQuantity": ucum(json!(128), "mm[Hg]")},
                    {"code": loinc("8462-4"), "valueQuantity": ucum(json!(84), "mm[Hg]")}]})),
            entry("urn:uuid:glucose", json!({"resourceType": "Observation", "id": "glu-1", "status": "final",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                          "code": "laboratory"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}], "text": "Glucose"},
                "subject": patient, "performer": [{"reference": "urn:uuid:pathologist"}],
                "specimen": {"reference": "urn:uuid:specimen"},
                "effectiveDateTime": "2025-11-30T07:45:00Z", "issued": "2025-11-30T10:02:00Z",
                "valueQuantity": ucum(json!(5.4), "mmol/L")})),
            entry("urn:uuid:dose", json!({"resourceType": "MedicationAdministration", "id": "ma-1",
                "status": "completed",
                "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "197361", "display": "Amlodipine 5 MG Oral Tablet"}]},
                "subject": patient, "performer": [{"actor": {"reference": "urn:uuid:nurse"}}],
                "effectiveDateTime": "2025-11-30T10:15:00Z",
                "dosage": {"route": {"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}]},
                           "dose": ucum(json!(5), "mg")}})),
            entry("urn:uuid:procedure", json!({"resourceType": "Procedure", "id": "pr-1", "status": "completed"})),
        ]});
        let mut options = FhirOptions::new(MRN);
        // A host secret: the same resource always gets the same TI id (anchored
        // once), and the TI id on chain does not reveal the FHIR resource id.
        self.rng.fill_bytes(options.ti_id_salt.as_mut_slice());
        let mapping = fhir::map_bundle(self.hs.templates(), &bundle.to_string(), &options)?;
        println!(
            "\nA FHIR Bundle of {} entries: {} TIs, {} entries reported:",
            mapping.mapped.len() + mapping.unmapped.len(),
            mapping.mapped.len(),
            mapping.unmapped.len()
        );
        for unmapped in &mapping.unmapped {
            println!(
                "  {}: {}",
                unmapped.full_url.as_deref().unwrap_or("(no fullUrl)"),
                unmapped.reason
            );
        }
        let context = AnchorContext {
            chain_id: self.transport.chain_id(),
            registry: self.transport.registry(),
        };
        let mut provenance = None;
        for mapped in &mapping.mapped {
            let ack = self.submit_durably(&mapped.ti)?;
            print_ack(&mapped.source.reference, &ack);
            let resource = fhir::ack_to_fhir(&ack, mapped, &context, self.clock.now());
            provenance.get_or_insert(resource);
        }
        if let Some(provenance) = provenance {
            println!(
                "\nThe FHIR resource the EHR stores beside the blood pressure:\n{}",
                serde_json::to_string_pretty(&provenance)?
            );
        }
        Ok(())
    }
}

impl<C: Chain> Host<C> {
    /// A patient grants a second hospital the blood-pressure records (an
    /// EIP-712 statement signed in their wallet, sent by a relayer); the
    /// first hospital seals a record's key for it only once consent and the
    /// hospital's published key hold at a mined block, and records the
    /// disclosure; the second hospital opens the record and checks it
    /// against the chain; the patient reads the accounting and revokes,
    /// after which no capsule can be made.
    fn share_with_consent(&mut self) -> Result<()> {
        println!("\nSharing with consent:");
        let parties = self.transport.consent_parties()?;
        let (consent, custodian, b) = (parties.consent, parties.custodian, parties.second_hospital);
        let context = SharingContext {
            chain_id: self.transport.chain_id(),
            registry: self.transport.registry(),
            consent,
        };
        let mut sent = Vec::new();

        // A record of the first hospital; its patient binds a wallet.
        let now = self.clock.now();
        let fields = json!({"systolic": 122, "diastolic": 79});
        let ti = self.ti(
            now,
            "blood-pressure",
            Role::DOCTOR,
            Some("MRN-000321"),
            fields,
        )?;
        let ack = self.submit_durably(&ti)?;
        let sealed = ack.envelope.clone().filter(|_| ack.is_valid());
        let envelope = ehrchain_core::Envelope::from_bytes(
            sealed
                .ok_or("the record to share was not anchored")?
                .to_vec(),
        )?;
        let subject = envelope.binding().patient;
        let mut secret = [0u8; 32];
        self.rng.fill_bytes(&mut secret);
        let patient = LocalSigner::from_bytes(&secret)?;
        let bind = EhrConsent::bindPatientCall {
            subject,
            account: patient.address(),
        };
        sent.extend(self.send_consent(custodian, consent, bind.abi_encode())?);
        println!(
            "  1. the first hospital anchored a blood-pressure record ({}) and bound the patient's wallet to pseudonym {}",
            short(&envelope.record_hash()),
            short(&subject)
        );

        // The second hospital publishes its X-Wing key (the hash on chain).
        let b_key = RecipientPrivateKey::generate(CapsuleSuite::XWing, &mut self.rng);
        let publish = EhrConsent::publishRecipientKeyCall {
            keyId: b_key.public_key().key_id(),
            kem: CapsuleSuite::XWing.kem_id(),
            keyHash: b_key.public_key().key_hash(),
        };
        sent.extend(self.send_consent(b, consent, publish.abi_encode())?);

        // The patient signs a grant of one template; the custodian relays it.
        let block = self.transport.mined_block()?;
        let grant = ConsentGrant {
            subject,
            patient: patient.address(),
            recipient: b,
            templateIds: vec![ti.template_id],
            expiresAt: block.time.as_secs() + 86_400,
            nonce: 1,
            deadline: block.time.as_secs() + 3_600,
        };
        let domain = ConsentDomain {
            chain_id: context.chain_id,
            consent,
        };
        let grant_id = grant.grant_id(&domain);
        let signature = patient.sign_digest(&grant_id.0)?;
        let relay = IEhrConsent::grantSignedCall {
            grant,
            signature: signature.to_vec().into(),
        };
        sent.extend(self.send_consent(custodian, consent, relay.abi_encode())?);
        println!(
            "  2. the patient signed grant {} (blood-pressure records, one day) and a relayer sent it",
            short(&grant_id)
        );

        // The first hospital checks consent and the key at one mined block,
        // seals the record key for the second hospital, records the disclosure.
        let check = ShareCheck::new(&context, &envelope, b, Authority::Grant(grant_id));
        let answers = read_blocking(&mut self.transport, &check.reads())?;
        let share = check.seal(
            &answers,
            b_key.public_key(),
            self.hs.generator().key_store(),
            &mut self.rng,
        )?;
        let disclosure = disclosure_transaction(&context, std::slice::from_ref(&share.disclosure))?;
        sent.extend(self.send_consent(custodian, disclosure.to, disclosure.calldata.to_vec())?);
        println!(
            "  3. the first hospital checked consent at block {} and sealed a {}-byte {} key capsule for the second hospital; disclosure recorded",
            share.checked_at.number,
            share.capsule.as_bytes().len(),
            share.capsule.suite()
        );

        // The second hospital opens the record and checks it against the chain.
        let capsule = KeyCapsule::from_bytes(share.capsule.as_bytes())?;
        let delivered = ehrchain_core::Envelope::from_bytes(envelope.as_bytes().to_vec())?;
        let received = ReceiveCheck::new(&context, b, capsule, delivered);
        let answers = read_blocking(&mut self.transport, &received.reads())?;
        let opened = received.open(&answers, &b_key)?;
        println!(
            "  4. the second hospital opened the record ({}) and checked at block {}: anchored under TI {}, grant {} holds",
            serde_json::from_slice::<Value>(&opened.record)?
                .get("fields")
                .cloned()
                .unwrap_or_default(),
            opened.evidence.checked_at.number,
            short(&opened.evidence.ti_id),
            short(&grant_id)
        );

        // The patient's accounting of disclosures, then the revocation.
        let query = AccountingQuery { consent, subject };
        let logs = self.transport.accounting_logs(&query, &sent)?;
        for d in query.accounting(&logs).disclosures {
            println!(
                "  5. the patient's accounting: record {} to {} in block {} under {}, capsule {}",
                short(&d.record_hash),
                d.recipient,
                d.block_number,
                match d.authority {
                    Authority::Grant(id) => format!("grant {}", short(&id)),
                    Authority::Emergency => "an emergency".to_owned(),
                },
                short(&d.capsule_digest)
            );
        }
        let revocation = ConsentRevocation {
            grantId: grant_id,
            patient: patient.address(),
            deadline: block.time.as_secs() + 3_600,
        };
        let signature = patient.sign_digest(&revocation.signing_hash(&domain).0)?;
        let revoke = IEhrConsent::revokeSignedCall {
            revocation,
            signature: signature.to_vec().into(),
        };
        self.send_consent(custodian, consent, revoke.abi_encode())?;
        let check = ShareCheck::new(&context, &envelope, b, Authority::Grant(grant_id));
        let answers = read_blocking(&mut self.transport, &check.reads())?;
        match check.seal(
            &answers,
            b_key.public_key(),
            self.hs.generator().key_store(),
            &mut self.rng,
        ) {
            Err(refused) => println!(
                "  6. the patient revoked; a new capsule is refused: {}",
                ehrchain_core::Error::from(refused).code()
            ),
            Ok(_) => return Err("a capsule was made after the revocation".into()),
        }
        let late = disclosure_transaction(&context, &[share.disclosure])?;
        match self.transport.send_to(custodian, late.to, late.calldata)? {
            Err(revert) => println!(
                "     and EhrConsent refuses to record one: {}",
                ehrchain_core::sharing::SharingError::from_revert(&revert)
                    .map_or_else(|| format!("reverted {revert}"), |e| e.code().to_string())
            ),
            Ok(_) => return Err("a disclosure was recorded after the revocation".into()),
        }
        Ok(())
    }

    /// Sends `calldata` to `to` from `from`; its logs, or an error when it
    /// reverted.
    fn send_consent(
        &mut self,
        from: Address,
        to: Address,
        calldata: Vec<u8>,
    ) -> Result<Vec<ChainLog>> {
        self.transport
            .send_to(from, to, calldata.into())?
            .map_err(|revert| format!("EhrConsent refused a transaction: {revert}").into())
    }
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

fn print_ack(what: &str, ack: &Ack) {
    match &ack.status {
        AckStatus::Valid(anchor) => {
            match (&anchor.recovered, anchor.tx_hash, anchor.block_number) {
                (None, Some(tx_hash), Some(block)) => println!(
                    "  {what}: VALID{} in block {block} (tx {}, {} gas), record hash {}",
                    if anchor.replay {
                        " (already anchored: kept once)"
                    } else {
                        ""
                    },
                    short(&tx_hash.0),
                    anchor.gas_used.unwrap_or_default(),
                    ack.record_hash.map(|h| short(&h)).unwrap_or_default(),
                ),
                (recovered, _, _) => println!(
                    "  {what}: VALID, recovered from the registry: {}",
                    recovered
                        .as_ref()
                        .map(|r| r.note.as_str())
                        .unwrap_or_default()
                ),
            }
        }
        AckStatus::Invalid { reason, .. } => {
            println!("  {what}: INVALID, kept for audit: {reason}")
        }
    }
}

fn short(hash: &B256) -> String {
    let hex = hash.to_string();
    format!("{}…{}", &hex[..10], &hex[hex.len() - 4..])
}
