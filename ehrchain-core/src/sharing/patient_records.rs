//! The patient's records, found from their wallet: the pseudonyms the
//! account is bound to (`PatientBound` minus `PatientUnbound` on
//! `EhrConsent`), then the `RecordAnchored` events of those pseudonyms on
//! `EhrRegistry`, read by the host with `eth_getLogs` and decoded here.
//!
//! ```text
//!   PatientRecordsQuery::pseudonyms_request() ─ eth_getLogs ─▶ PatientBound,
//!                                                             PatientUnbound by account
//!   records_request(bound logs)               ─ eth_getLogs ─▶ RecordAnchored by pseudonym
//!   records(bound logs, record logs) ◀─
//! ```
//!
//! Only records anchored one by one are found: a record anchored inside a
//! Merkle batch leaves no event that names its pseudonym (`BatchAnchored`
//! carries a root, a batch id and a leaf count, on purpose: a batch's
//! members are not linkable on chain). The custodian that batched it holds
//! its proof.

use alloy_primitives::{Address, B256};
use alloy_sol_types::SolEvent;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::ChainLog;
use crate::consent_abi::IEhrConsent::{PatientBound, PatientUnbound};
use crate::registry_abi::IEhrRegistry::RecordAnchored;
use crate::role::Role;
use crate::rpc::{BlockTag, RpcRequest};
use crate::time::UnixMillis;

/// Which logs make up a patient's records: the bindings of one account on
/// one `EhrConsent`, and the records of its pseudonyms on one
/// `EhrRegistry`. JSON: `{"registry", "consent", "patient"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatientRecordsQuery {
    /// The `EhrRegistry` contract that anchors the records.
    pub registry: Address,
    /// The `EhrConsent` contract that binds patients to pseudonyms.
    pub consent: Address,
    /// The patient's (or guardian's) account.
    pub patient: Address,
}

/// One record anchored under one of the patient's pseudonyms, as its
/// `RecordAnchored` event names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatientRecord {
    /// The TI id it is anchored under.
    pub ti_id: B256,
    /// Its template.
    pub template_id: B256,
    /// The pseudonym it is anchored under.
    pub subject: B256,
    /// SHA-256 of its sealed envelope.
    pub record_hash: B256,
    /// The role id its author wrote it in.
    pub role: B256,
    /// The role's name when it is one of the built-in roles
    /// ([`Role::BUILT_IN`]), `None` for another role.
    pub role_name: Option<String>,
    /// The author's account: the one that anchored the record, or for a
    /// signed record the one that signed it (not its relayer).
    pub author: Address,
    /// When its author wrote it (the TI's time, anchored in seconds).
    pub timestamp: UnixMillis,
    /// The block that anchored it.
    pub block_number: u64,
    /// The transaction that anchored it, when known.
    pub transaction_hash: Option<B256>,
}

/// A patient's records: the pseudonyms the account is bound to now, and
/// the records anchored one by one under them, oldest first. Records
/// anchored inside a Merkle batch are not listed: the chain does not link
/// a batch's members to their pseudonym.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatientRecords {
    /// The pseudonyms the account is bound to, in the order they were bound.
    pub pseudonyms: Vec<B256>,
    /// The records anchored one by one under them, oldest first.
    pub records: Vec<PatientRecord>,
}

impl PatientRecordsQuery {
    /// The `eth_getLogs` request of the account's bindings from block
    /// `from` to `to`: `PatientBound` and `PatientUnbound` by account
    /// (topic 2).
    #[must_use]
    pub fn pseudonyms_request(&self, from: BlockTag, to: BlockTag) -> RpcRequest {
        ChainLog::request(
            self.consent,
            from,
            to,
            json!([
                [PatientBound::SIGNATURE_HASH, PatientUnbound::SIGNATURE_HASH],
                null,
                self.patient.into_word()
            ]),
        )
    }

    /// The pseudonyms the account is bound to after `logs` (the answer to
    /// [`PatientRecordsQuery::pseudonyms_request`]), in the order they were
    /// bound: each `PatientBound` adds one, a later `PatientUnbound`
    /// removes it. Logs of other contracts, accounts and events are left
    /// out.
    #[must_use]
    pub fn pseudonyms(&self, logs: &[ChainLog]) -> Vec<B256> {
        let mut pseudonyms: Vec<B256> = Vec::new();
        for log in ChainLog::in_order(logs, self.consent) {
            let data = log.log_data();
            if let Ok(e) = PatientBound::decode_log_data(&data) {
                if e.account == self.patient && !pseudonyms.contains(&e.subject) {
                    pseudonyms.push(e.subject);
                }
            } else if let Ok(e) = PatientUnbound::decode_log_data(&data)
                && e.account == self.patient
            {
                pseudonyms.retain(|s| *s != e.subject);
            }
        }
        pseudonyms
    }

    /// The `eth_getLogs` request of the records of the pseudonyms bound in
    /// `bound` (the answer to [`PatientRecordsQuery::pseudonyms_request`])
    /// from block `from` to `to`: `RecordAnchored` by pseudonym (topic 3).
    /// `None` when the account is bound to no pseudonym (an empty topic
    /// list would match every record on some nodes).
    #[must_use]
    pub fn records_request(
        &self,
        bound: &[ChainLog],
        from: BlockTag,
        to: BlockTag,
    ) -> Option<RpcRequest> {
        let pseudonyms = self.pseudonyms(bound);
        (!pseudonyms.is_empty()).then(|| {
            ChainLog::request(
                self.registry,
                from,
                to,
                json!([RecordAnchored::SIGNATURE_HASH, null, null, pseudonyms]),
            )
        })
    }

    /// The patient's records: the pseudonyms bound in `bound` and the
    /// records anchored under them in `anchored` (the answers to
    /// [`PatientRecordsQuery::pseudonyms_request`] and
    /// [`PatientRecordsQuery::records_request`]). Logs of other contracts,
    /// pseudonyms and events are left out.
    #[must_use]
    pub fn records(&self, bound: &[ChainLog], anchored: &[ChainLog]) -> PatientRecords {
        let pseudonyms = self.pseudonyms(bound);
        let records = ChainLog::in_order(anchored, self.registry)
            .into_iter()
            .filter_map(|log| record(log, &pseudonyms))
            .collect();
        PatientRecords {
            pseudonyms,
            records,
        }
    }
}

/// The record `log` anchors, if it is a `RecordAnchored` under one of
/// `pseudonyms`.
fn record(log: &ChainLog, pseudonyms: &[B256]) -> Option<PatientRecord> {
    let e = RecordAnchored::decode_log_data(&log.log_data()).ok()?;
    pseudonyms.contains(&e.subject).then(|| PatientRecord {
        ti_id: e.tiId,
        template_id: e.templateId,
        subject: e.subject,
        record_hash: e.recordHash,
        role: e.role,
        role_name: Role::BUILT_IN
            .into_iter()
            .find(|name| Role::new(*name).is_ok_and(|r| r.id() == e.role))
            .map(str::to_owned),
        author: e.author,
        timestamp: UnixMillis::from_secs(e.timestamp),
        block_number: log.block_number,
        transaction_hash: log.transaction_hash,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use alloy_primitives::keccak256;

    use super::*;
    use crate::sharing::tests::log_at;

    const REGISTRY: Address = Address::repeat_byte(0xe5);
    const CONSENT: Address = Address::repeat_byte(0xc0);
    const PATIENT: Address = Address::repeat_byte(0x21);
    const CUSTODIAN: Address = Address::repeat_byte(0x11);
    const DOCTOR: Address = Address::repeat_byte(0xd0);

    fn query() -> PatientRecordsQuery {
        PatientRecordsQuery {
            registry: REGISTRY,
            consent: CONSENT,
            patient: PATIENT,
        }
    }

    fn bound(subject: u8, account: Address, block: u64) -> ChainLog {
        let event = PatientBound {
            subject: B256::repeat_byte(subject),
            account,
            custodian: CUSTODIAN,
        };
        log_at(CONSENT, &event, block, 0)
    }

    fn unbound(subject: u8, block: u64) -> ChainLog {
        let event = PatientUnbound {
            subject: B256::repeat_byte(subject),
            account: PATIENT,
            custodian: CUSTODIAN,
        };
        log_at(CONSENT, &event, block, 0)
    }

    fn anchored(subject: u8, role: &str, block: u64, index: u64) -> RecordAnchored {
        RecordAnchored {
            tiId: B256::repeat_byte(u8::try_from(block * 10 + index).unwrap()),
            templateId: B256::repeat_byte(2),
            subject: B256::repeat_byte(subject),
            recordHash: B256::repeat_byte(0x66),
            role: keccak256(role),
            author: DOCTOR,
            timestamp: 1_764_500_000 + block,
        }
    }

    #[test]
    fn bound_minus_unbound_gives_the_pseudonyms_in_binding_order() {
        let mut elsewhere = bound(9, PATIENT, 1);
        elsewhere.address = REGISTRY;
        // Given out of order, with another account's and another contract's.
        let logs = [
            unbound(1, 5),
            bound(3, PATIENT, 4),
            bound(1, PATIENT, 2),
            bound(2, Address::repeat_byte(0x22), 3),
            bound(4, PATIENT, 3),
            unbound(4, 6),
            bound(4, PATIENT, 7),
            bound(3, PATIENT, 8),
            elsewhere,
        ];
        assert_eq!(
            query().pseudonyms(&logs),
            [B256::repeat_byte(3), B256::repeat_byte(4)]
        );
    }

    #[test]
    fn the_records_of_the_bound_pseudonyms_are_listed_oldest_first() {
        let bindings = [bound(1, PATIENT, 1), bound(3, PATIENT, 1)];
        let mut elsewhere = log_at(CONSENT, &anchored(1, "DOCTOR_ROLE", 9, 0), 9, 0);
        elsewhere.address = CONSENT;
        let logs = [
            log_at(REGISTRY, &anchored(3, "PHARMACIST_ROLE", 8, 1), 8, 1),
            log_at(REGISTRY, &anchored(2, "DOCTOR_ROLE", 8, 0), 8, 0),
            log_at(REGISTRY, &anchored(1, "DOCTOR_ROLE", 5, 3), 5, 3),
            elsewhere,
            bound(1, PATIENT, 2),
        ];
        let entry =
            |subject: u8, role: &str, name: Option<&str>, block: u64, index: u64| PatientRecord {
                ti_id: B256::repeat_byte(u8::try_from(block * 10 + index).unwrap()),
                template_id: B256::repeat_byte(2),
                subject: B256::repeat_byte(subject),
                record_hash: B256::repeat_byte(0x66),
                role: keccak256(role),
                role_name: name.map(str::to_owned),
                author: DOCTOR,
                timestamp: UnixMillis((1_764_500_000 + block) * 1000),
                block_number: block,
                transaction_hash: Some(B256::repeat_byte(u8::try_from(block).unwrap())),
            };
        assert_eq!(
            query().records(&bindings, &logs),
            PatientRecords {
                pseudonyms: vec![B256::repeat_byte(1), B256::repeat_byte(3)],
                records: vec![
                    entry(1, "DOCTOR_ROLE", Some("doctor"), 5, 3),
                    entry(3, "PHARMACIST_ROLE", None, 8, 1),
                ],
            }
        );
        assert_eq!(query().records(&[], &logs), PatientRecords::default());
    }

    #[test]
    fn the_filters_name_the_account_then_its_pseudonyms() {
        let body = |request: &RpcRequest| -> serde_json::Value {
            serde_json::from_str(&request.body(1)).unwrap()
        };
        let bindings = body(&query().pseudonyms_request(BlockTag::Number(3), BlockTag::Latest));
        assert_eq!(bindings["method"], "eth_getLogs");
        assert_eq!(
            bindings["params"],
            json!([{
                "address": CONSENT, "fromBlock": "0x3", "toBlock": "latest",
                "topics": [
                    [PatientBound::SIGNATURE_HASH, PatientUnbound::SIGNATURE_HASH],
                    null,
                    format!("0x000000000000000000000000{}", "21".repeat(20))
                ]
            }])
        );
        let records = query()
            .records_request(
                &[bound(1, PATIENT, 1), bound(3, PATIENT, 2)],
                BlockTag::Number(0),
                BlockTag::Latest,
            )
            .unwrap();
        assert_eq!(
            body(&records)["params"],
            json!([{
                "address": REGISTRY, "fromBlock": "0x0", "toBlock": "latest",
                "topics": [
                    RecordAnchored::SIGNATURE_HASH, null, null,
                    [B256::repeat_byte(1), B256::repeat_byte(3)]
                ]
            }])
        );
        assert_eq!(
            query().records_request(
                &[bound(1, PATIENT, 1), unbound(1, 2)],
                BlockTag::Number(0),
                BlockTag::Latest
            ),
            None
        );
    }
}
