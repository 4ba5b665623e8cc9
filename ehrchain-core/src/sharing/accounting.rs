//! The patient's accounting of disclosures: the `Disclosed`,
//! `ConsentGranted` and `ConsentRevoked` events of a pseudonym, read by the
//! host with `eth_getLogs` and decoded here.

use alloy_primitives::{Address, B256, Bytes, LogData, U64};
use alloy_sol_types::SolEvent;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::capsule::Authority;
use crate::consent_abi::IEhrConsent::{ConsentGranted, ConsentRevoked, Disclosed};
use crate::rpc::{BlockTag, RpcRequest};
use crate::time::UnixMillis;
use crate::transport::TransportError;

/// Which logs make up a pseudonym's accounting: those of one `EhrConsent`
/// contract about one pseudonym.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccountingQuery {
    /// The `EhrConsent` contract.
    pub consent: Address,
    /// The patient's pseudonym.
    pub subject: B256,
}

/// One log as a node reports it (an `eth_getLogs` entry, or a receipt's
/// log), reduced to what the accounting needs. JSON: `{"address",
/// "topics", "data", "blockNumber", "transactionHash", "logIndex",
/// "blockTime"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChainLog {
    /// The contract that emitted it.
    pub address: Address,
    /// Its topics (the event's signature hash first).
    pub topics: Vec<B256>,
    /// Its data.
    pub data: Bytes,
    /// The block that holds it.
    pub block_number: u64,
    /// The transaction that emitted it, when known.
    #[serde(default)]
    pub transaction_hash: Option<B256>,
    /// Its block-wide index, when known.
    #[serde(default)]
    pub log_index: Option<u64>,
    /// The block's time, when known (some nodes put `blockTimestamp` in
    /// their logs; a host may read it from the block).
    #[serde(default)]
    pub block_time: Option<UnixMillis>,
}

/// A log as JSON-RPC's `eth_getLogs` returns it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcLog {
    address: Address,
    topics: Vec<B256>,
    data: Bytes,
    block_number: U64,
    #[serde(default)]
    transaction_hash: Option<B256>,
    #[serde(default)]
    log_index: Option<U64>,
    #[serde(default)]
    block_timestamp: Option<U64>,
    #[serde(default)]
    removed: bool,
}

impl ChainLog {
    /// Reads the result of `eth_getLogs` (an array of logs). Logs a reorg
    /// removed (`"removed": true`) are left out.
    ///
    /// # Errors
    /// [`TransportError::Malformed`] when the answer is no array of logs.
    pub fn from_rpc(result: &Value) -> Result<Vec<Self>, TransportError> {
        let logs: Vec<RpcLog> = serde_json::from_value(result.clone()).map_err(|e| {
            TransportError::Malformed(format!("the answer to eth_getLogs is no list of logs: {e}"))
        })?;
        Ok(logs
            .into_iter()
            .filter(|log| !log.removed)
            .map(|log| Self {
                address: log.address,
                topics: log.topics,
                data: log.data,
                block_number: log.block_number.to(),
                transaction_hash: log.transaction_hash,
                log_index: log.log_index.map(|i| i.to()),
                block_time: log.block_timestamp.map(|t| UnixMillis::from_secs(t.to())),
            })
            .collect())
    }

    /// The `eth_getLogs` request of `contract`'s logs matching `topics`
    /// from block `from` to `to`.
    pub(super) fn request(
        contract: Address,
        from: BlockTag,
        to: BlockTag,
        topics: Value,
    ) -> RpcRequest {
        RpcRequest::other(
            "eth_getLogs",
            vec![json!({
                "address": contract,
                "fromBlock": from.to_json(),
                "toBlock": to.to_json(),
                "topics": topics,
            })],
        )
    }

    /// `contract`'s logs among `logs`, oldest first (by block, then by
    /// index in the block).
    pub(super) fn in_order(logs: &[Self], contract: Address) -> Vec<&Self> {
        let mut logs: Vec<&Self> = logs.iter().filter(|l| l.address == contract).collect();
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        logs
    }

    /// The log's topics and data, as alloy decodes events from them.
    pub(super) fn log_data(&self) -> LogData {
        LogData::new_unchecked(self.topics.clone(), self.data.clone())
    }
}

/// One capsule handed out, as the accounting lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DisclosureEntry {
    /// Who received the capsule.
    pub recipient: Address,
    /// The record whose key it holds.
    pub record_hash: B256,
    /// The record's template.
    pub template_id: B256,
    /// The grant it was handed out under, or an emergency.
    pub authority: Authority,
    /// SHA-256 of the capsule.
    pub capsule_digest: B256,
    /// The custodian that handed it out.
    pub custodian: Address,
    /// The block that recorded it.
    pub block_number: u64,
    /// The transaction that recorded it, when known.
    pub transaction_hash: Option<B256>,
    /// When (the block's time), when known.
    pub block_time: Option<UnixMillis>,
}

/// A grant of the pseudonym's records, with its revocation if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GrantEntry {
    /// The grant id.
    pub grant_id: B256,
    /// Who may receive.
    pub recipient: Address,
    /// The bound account that granted.
    pub patient: Address,
    /// The templates covered (empty: all).
    pub template_ids: Vec<B256>,
    /// When it ends.
    pub expires_at: UnixMillis,
    /// The block that recorded the grant.
    pub granted_in: u64,
    /// The block that recorded its revocation, if it was revoked.
    pub revoked_in: Option<u64>,
}

/// A pseudonym's accounting: every disclosure (oldest first) and every
/// grant with its revocation. What HIPAA §164.528 asks a covered entity to
/// give a patient, from the chain alone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Accounting {
    /// The capsules handed out, oldest first.
    pub disclosures: Vec<DisclosureEntry>,
    /// The grants, oldest first.
    pub grants: Vec<GrantEntry>,
}

impl AccountingQuery {
    /// The two `eth_getLogs` requests of the accounting from block `from`
    /// to `to`: the `Disclosed` events by pseudonym (topic 1), and the
    /// grants and revocations by pseudonym (topic 2).
    #[must_use]
    pub fn requests(&self, from: BlockTag, to: BlockTag) -> [RpcRequest; 2] {
        let filter = |topics| ChainLog::request(self.consent, from, to, topics);
        [
            filter(json!([Disclosed::SIGNATURE_HASH, self.subject])),
            filter(json!([
                [
                    ConsentGranted::SIGNATURE_HASH,
                    ConsentRevoked::SIGNATURE_HASH
                ],
                null,
                self.subject
            ])),
        ]
    }

    /// The accounting in `logs` (the answers to [`AccountingQuery::requests`],
    /// or receipts' logs): logs of other contracts or pseudonyms and other
    /// events are left out.
    #[must_use]
    pub fn accounting(&self, logs: &[ChainLog]) -> Accounting {
        let mut accounting = Accounting::default();
        for log in ChainLog::in_order(logs, self.consent) {
            self.add(&mut accounting, log);
        }
        accounting
    }

    /// Adds `log` to `accounting` if it is one of this pseudonym's events.
    fn add(&self, accounting: &mut Accounting, log: &ChainLog) {
        let data = log.log_data();
        if let Ok(e) = Disclosed::decode_log_data(&data) {
            if e.subject == self.subject {
                accounting.disclosures.push(DisclosureEntry {
                    recipient: e.recipient,
                    record_hash: e.recordHash,
                    template_id: e.templateId,
                    authority: if e.grantId.is_zero() {
                        Authority::Emergency
                    } else {
                        Authority::Grant(e.grantId)
                    },
                    capsule_digest: e.capsuleDigest,
                    custodian: e.custodian,
                    block_number: log.block_number,
                    transaction_hash: log.transaction_hash,
                    block_time: log.block_time,
                });
            }
        } else if let Ok(e) = ConsentGranted::decode_log_data(&data) {
            if e.subject == self.subject {
                accounting.grants.push(GrantEntry {
                    grant_id: e.grantId,
                    recipient: e.recipient,
                    patient: e.patient,
                    template_ids: e.templateIds,
                    expires_at: UnixMillis::from_secs(e.expiresAt),
                    granted_in: log.block_number,
                    revoked_in: None,
                });
            }
        } else if let Ok(e) = ConsentRevoked::decode_log_data(&data) {
            let revoked = accounting
                .grants
                .iter_mut()
                .find(|g| g.grant_id == e.grantId && e.subject == self.subject);
            if let Some(grant) = revoked {
                grant.revoked_in = Some(log.block_number);
            }
        }
    }
}
