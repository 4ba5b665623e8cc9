//! ACKs back to FHIR: a `Provenance` for a valid ACK, an `AuditEvent` for an
//! invalid one (`docs/fhir.md`, "Back to FHIR"). They go to the EHR's own
//! store beside the source resource; nothing here goes on chain.

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use base64::Engine;
use base64::prelude::BASE64_STANDARD;

use super::MappedTi;
use crate::authorship::SignedStatement;
use crate::{Ack, AckStatus, UnixMillis};

/// Identifier system of a record hash (SHA-256 of the sealed envelope).
pub const RECORD_HASH_SYSTEM: &str = "urn:ehrchain:record-hash";
/// Identifier system of a template id.
pub const TEMPLATE_SYSTEM: &str = "urn:ehrchain:template";
/// Identifier system of a TI id.
pub const TI_ID_SYSTEM: &str = "urn:ehrchain:ti-id";
/// Identifier system of an anchoring transaction (`eip155:<chain id>:<hash>`).
pub const TRANSACTION_SYSTEM: &str = "urn:ehrchain:transaction";
/// Identifier system of a Merkle batch root.
pub const BATCH_ROOT_SYSTEM: &str = "urn:ehrchain:batch-root";
/// Identifier system of a registry (`eip155:<chain id>:<address>`).
pub const REGISTRY_SYSTEM: &str = "urn:ehrchain:registry";
/// Code system of ehrchain's role names.
pub const ROLE_SYSTEM: &str = "urn:ehrchain:role";
/// Identifier system of an Ethereum account (`eip155:<chain id>:<address>`).
pub const ACCOUNT_SYSTEM: &str = "urn:ehrchain:account";
/// `Signature.sigFormat` of an author's signature: the 65-byte EIP-712
/// signature (`r ‖ s ‖ v`) of the record's statement (`docs/authorship.md`).
pub const SIGNATURE_FORMAT: &str = "application/vnd.ehrchain.record-statement.eip712";

/// The chain and registry an ACK's anchor lives on, which an ACK itself does
/// not carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnchorContext {
    /// The chain id (EIP-155).
    pub chain_id: u64,
    /// The `EhrRegistry` contract's address.
    pub registry: Address,
}

impl AnchorContext {
    fn registry_uri(&self) -> String {
        format!("eip155:{}:{}", self.chain_id, self.registry)
    }
}

/// The FHIR resource for `ack`: [`provenance`] when valid, [`audit_event`]
/// when invalid.
#[must_use]
pub fn ack_to_fhir(
    ack: &Ack,
    mapped: &MappedTi,
    context: &AnchorContext,
    recorded: UnixMillis,
) -> Value {
    provenance(ack, mapped, context, recorded)
        .unwrap_or_else(|| audit_event(ack, mapped, context, recorded))
}

/// A FHIR R4 `Provenance` for a valid ACK (`None` for an invalid one):
/// `target` the source resource, `recorded` the time given, the author as
/// agent with their ehrchain role, `policy` naming the registry, and one
/// `entity` per anchor identifier (record hash, template, TI id, transaction,
/// batch root). For a TI its author signed, `signature` holds it: type
/// "Author's Signature" (ASTM E1762), `when` the statement's time, `who` the
/// signing account ([`ACCOUNT_SYSTEM`]), `sigFormat` [`SIGNATURE_FORMAT`],
/// `data` the 65 bytes in base64.
#[must_use]
pub fn provenance(
    ack: &Ack,
    mapped: &MappedTi,
    context: &AnchorContext,
    recorded: UnixMillis,
) -> Option<Value> {
    let AckStatus::Valid(anchor) = &ack.status else {
        return None;
    };
    let mut entity = Vec::new();
    let mut push = |system: &str, value: String, display: &str| {
        entity.push(json!({
            "role": "source",
            "what": {"identifier": {"system": system, "value": value}, "display": display},
        }));
    };
    if let Some(hash) = ack.record_hash {
        push(
            RECORD_HASH_SYSTEM,
            hash.to_string(),
            "sealed record (SHA-256 of its envelope)",
        );
    }
    push(
        TEMPLATE_SYSTEM,
        ack.template_id.to_string(),
        "ehrchain template",
    );
    push(TI_ID_SYSTEM, ack.ti_id.to_string(), "ehrchain TI id");
    if let Some(tx) = anchor.tx_hash {
        push(
            TRANSACTION_SYSTEM,
            format!("eip155:{}:{tx}", context.chain_id),
            "anchoring transaction",
        );
    }
    if let Some(batch) = &anchor.batch {
        push(
            BATCH_ROOT_SYSTEM,
            batch.root.to_string(),
            "Merkle batch root",
        );
    }
    let mut provenance = json!({
        "resourceType": "Provenance",
        "target": [{"reference": mapped.source.reference}],
        "recorded": instant(recorded),
        "policy": [format!("{REGISTRY_SYSTEM}:{}", context.registry_uri())],
        "agent": [author_agent(mapped, false)],
        "entity": entity,
    });
    if let (Some(signed), Some(map)) = (&ack.authorship, provenance.as_object_mut()) {
        map.insert(
            "signature".into(),
            json!([author_signature(signed, context)]),
        );
    }
    Some(provenance)
}

/// A FHIR `Signature` of the author's signed statement.
fn author_signature(signed: &SignedStatement, context: &AnchorContext) -> Value {
    json!({
        "type": [{
            "system": "urn:iso-astm:E1762-95:2013",
            "code": "1.2.840.10065.1.12.1.1",
            "display": "Author's Signature",
        }],
        "when": instant(UnixMillis::from_secs(signed.statement.timestamp)),
        "who": {"identifier": {
            "system": ACCOUNT_SYSTEM,
            "value": format!("eip155:{}:{}", context.chain_id, signed.author()),
        }},
        "sigFormat": SIGNATURE_FORMAT,
        "data": BASE64_STANDARD.encode(&signed.signature),
    })
}

/// A FHIR R4 `AuditEvent` for an invalid ACK: an export (DICOM 110106) that
/// failed, `outcome` 4 (minor failure: the same TC may be run again, see
/// [`InvalidReason::may_rerun`](crate::InvalidReason::may_rerun)) or 8
/// (serious failure), `outcomeDesc` the reason, the author as requesting
/// agent, the registry as source, the source resource and the TI id and
/// transactions as entities. For a valid ACK, the export succeeded
/// (`outcome` 0).
#[must_use]
pub fn audit_event(
    ack: &Ack,
    mapped: &MappedTi,
    context: &AnchorContext,
    recorded: UnixMillis,
) -> Value {
    let (outcome, description, tx_hashes) = match &ack.status {
        AckStatus::Valid(anchor) => ("0", None, anchor.tx_hash.into_iter().collect()),
        AckStatus::Invalid { reason, tx_hashes } => (
            if reason.may_rerun() { "4" } else { "8" },
            Some(reason.to_string()),
            tx_hashes.clone(),
        ),
    };
    let mut detail = vec![json!({"type": "tiId", "valueString": ack.ti_id.to_string()})];
    detail.push(json!({"type": "templateId", "valueString": ack.template_id.to_string()}));
    for tx in tx_hashes {
        detail.push(json!({
            "type": "transaction",
            "valueString": format!("eip155:{}:{tx}", context.chain_id),
        }));
    }
    let mut event = json!({
        "resourceType": "AuditEvent",
        "type": {
            "system": "http://dicom.nema.org/resources/ontology/DCM",
            "code": "110106",
            "display": "Export",
        },
        "action": "C",
        "recorded": instant(recorded),
        "outcome": outcome,
        "agent": [author_agent(mapped, true)],
        "source": {
            "observer": {
                "identifier": {"system": REGISTRY_SYSTEM, "value": context.registry_uri()},
                "display": "ehrchain handshaker",
            },
            "type": [{
                "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                "code": "4",
                "display": "Application Server",
            }],
        },
        "entity": [{
            "what": {"reference": mapped.source.reference},
            "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                "code": "2",
                "display": "System Object",
            },
            "detail": detail,
        }],
    });
    if let (Some(description), Some(map)) = (description, event.as_object_mut()) {
        map.insert("outcomeDesc".into(), Value::String(description));
    }
    event
}

/// The author as a Provenance or AuditEvent agent.
fn author_agent(mapped: &MappedTi, requestor: bool) -> Value {
    let who = match &mapped.source.author {
        Some(reference) => json!({"reference": reference}),
        None => json!({"identifier": {"value": mapped.ti.author_id}}),
    };
    let mut agent = json!({
        "type": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
            "code": "author",
            "display": "Author",
        }]},
        "role": [{"coding": [{"system": ROLE_SYSTEM, "code": mapped.ti.author_role.to_string()}]}],
        "who": who,
    });
    if requestor && let Some(map) = agent.as_object_mut() {
        map.insert("requestor".into(), Value::Bool(true));
    }
    agent
}

/// `at` as a FHIR `instant` (UTC, milliseconds).
fn instant(at: UnixMillis) -> String {
    let nanos = i128::from(at.0) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "9999-12-31T23:59:59Z".into())
}
