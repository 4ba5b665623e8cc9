//! The JSON form of a [`ChainTransaction`]: what a host stores in its
//! write-ahead outbox and reads back to validate the same TC later (after a
//! crash, a reload, in another process). Reading one checks that its parts
//! agree, so a stored TC cannot anchor a record hash its envelope does not
//! have.
//!
//! ```json
//! {"to": "0x…", "chainId": 1337, "calldata": "0x…", "tiId": "0x…",
//!  "templateId": "0x…", "patient": "0x…", "recordHash": "0x…",
//!  "cid": "bafkrei…", "envelope": "0x…"}
//! ```
//!
//! `cid` is the envelope's CIDv1, written for hosts that store the envelope
//! in an IPFS-style blob store; when present on reading it must match.

use alloy_primitives::{Address, B256, Bytes};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::authorship::anchored_record;
use crate::envelope::{Envelope, EnvelopeError};
use crate::generator::ChainTransaction;

/// The fields of the JSON form.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TcJson {
    to: Address,
    chain_id: u64,
    calldata: Bytes,
    ti_id: B256,
    template_id: B256,
    patient: B256,
    record_hash: B256,
    #[serde(default)]
    cid: Option<String>,
    envelope: Bytes,
}

/// Why a stored TC could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TcError {
    /// The text is not the JSON form of a TC.
    #[error("the stored TC is not valid TC JSON: {0}")]
    Json(String),
    /// The envelope inside is malformed.
    #[error("the stored TC's envelope cannot be read: {0}")]
    Envelope(#[from] EnvelopeError),
    /// The parts of the TC disagree: it was altered, or pieced together from
    /// two TCs.
    #[error(
        "the stored TC's {0}; it was altered or pieced together, so do not send it: keep it for audit"
    )]
    Inconsistent(&'static str),
}

impl TryFrom<TcJson> for ChainTransaction {
    type Error = TcError;

    fn try_from(doc: TcJson) -> Result<Self, TcError> {
        let envelope = Envelope::from_bytes(doc.envelope.to_vec())?;
        let binding = envelope.binding();
        if envelope.record_hash() != doc.record_hash {
            return Err(TcError::Inconsistent(
                "recordHash is not the SHA-256 of its envelope",
            ));
        }
        if binding.ti_id != doc.ti_id
            || binding.template_id != doc.template_id
            || binding.patient != doc.patient
        {
            return Err(TcError::Inconsistent(
                "envelope is bound to another TI, template or patient",
            ));
        }
        if anchored_record(&doc.calldata).is_some_and(|(ti_id, record_hash)| {
            ti_id != doc.ti_id || record_hash != doc.record_hash
        }) {
            return Err(TcError::Inconsistent(
                "calldata anchors another TI id or record hash",
            ));
        }
        let tc = Self {
            to: doc.to,
            chain_id: doc.chain_id,
            calldata: doc.calldata,
            ti_id: doc.ti_id,
            template_id: doc.template_id,
            patient: doc.patient,
            record_hash: doc.record_hash,
            envelope,
        };
        if doc.cid.is_some_and(|cid| cid != tc.cid()) {
            return Err(TcError::Inconsistent("cid is not the CID of its envelope"));
        }
        Ok(tc)
    }
}

impl From<&ChainTransaction> for TcJson {
    fn from(tc: &ChainTransaction) -> Self {
        Self {
            to: tc.to,
            chain_id: tc.chain_id,
            calldata: tc.calldata.clone(),
            ti_id: tc.ti_id,
            template_id: tc.template_id,
            patient: tc.patient,
            record_hash: tc.record_hash,
            cid: Some(tc.cid()),
            envelope: Bytes::copy_from_slice(tc.envelope.as_bytes()),
        }
    }
}

impl Serialize for ChainTransaction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        TcJson::from(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ChainTransaction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let doc = TcJson::deserialize(deserializer)?;
        Self::try_from(doc).map_err(serde::de::Error::custom)
    }
}

impl ChainTransaction {
    /// The TC's JSON form (module docs of `tc_json`), to store before sending.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Hex strings and numbers only: serialising cannot fail.
        serde_json::to_string(&TcJson::from(self)).unwrap_or_default()
    }

    /// A TC read back from its JSON form.
    ///
    /// # Errors
    /// [`TcError::Json`] for text that is not a TC's JSON form,
    /// [`TcError::Envelope`] for a malformed envelope,
    /// [`TcError::Inconsistent`] when its parts disagree.
    pub fn from_json(json: &str) -> Result<Self, TcError> {
        let doc: TcJson = crate::json::from_text(json).map_err(|e| TcError::Json(e.to_string()))?;
        Self::try_from(doc)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use alloy_sol_types::SolCall;

    use super::*;
    use crate::envelope::EnvelopeBinding;
    use crate::keys::MasterKey;
    use crate::registry_abi::IEhrRegistry;

    fn tc() -> ChainTransaction {
        let binding = EnvelopeBinding::for_tests("k");
        let envelope = Envelope::seal(&binding, &MasterKey::new([9; 32]), [7; 12], b"{}").unwrap();
        let record_hash = envelope.record_hash();
        let calldata = IEhrRegistry::anchorRecordCall {
            subject: B256::repeat_byte(1),
            templateId: B256::repeat_byte(2),
            tiId: B256::repeat_byte(3),
            recordHash: record_hash,
            timestamp: 1,
            role: B256::ZERO,
        }
        .abi_encode();
        ChainTransaction {
            to: Address::repeat_byte(0xee),
            chain_id: 1337,
            calldata: calldata.into(),
            ti_id: B256::repeat_byte(3),
            template_id: B256::repeat_byte(2),
            patient: B256::repeat_byte(1),
            record_hash,
            envelope,
        }
    }

    fn edited(f: impl FnOnce(&mut serde_json::Value)) -> Result<ChainTransaction, TcError> {
        let mut doc: serde_json::Value = serde_json::from_str(&tc().to_json()).unwrap();
        f(&mut doc);
        ChainTransaction::from_json(&doc.to_string())
    }

    #[test]
    fn a_tc_reads_back_as_itself() {
        let tc = tc();
        assert_eq!(ChainTransaction::from_json(&tc.to_json()), Ok(tc.clone()));
        let via_serde: ChainTransaction =
            serde_json::from_value(serde_json::to_value(&tc).unwrap()).unwrap();
        assert_eq!(via_serde, tc);
        // Without the optional cid too.
        assert_eq!(
            edited(|d| drop(d.as_object_mut().unwrap().remove("cid"))),
            Ok(tc)
        );
    }

    #[test]
    fn parts_that_disagree_are_refused() {
        let inconsistent = |r: Result<ChainTransaction, TcError>| match r {
            Err(TcError::Inconsistent(what)) => what,
            other => panic!("{other:?}"),
        };
        let other = format!("0x{}", "07".repeat(32));
        assert!(inconsistent(edited(|d| d["tiId"] = other.clone().into())).contains("envelope"));
        assert!(
            inconsistent(edited(|d| d["recordHash"] = other.clone().into())).contains("recordHash")
        );
        assert!(inconsistent(edited(|d| d["cid"] = "bafy".into())).contains("cid"));
        let mut calldata = tc().calldata.to_vec();
        calldata[4 + 2 * 32 + 31] ^= 1; // the calldata's TI id
        let calldata = alloy_primitives::hex::encode_prefixed(calldata);
        assert!(inconsistent(edited(|d| d["calldata"] = calldata.into())).contains("calldata"));
        assert!(matches!(
            edited(|d| d["envelope"] = "0x4548".into()),
            Err(TcError::Envelope(EnvelopeError::Truncated { .. }))
        ));
        assert!(matches!(
            edited(|d| d["extra"] = 1.into()),
            Err(TcError::Json(_))
        ));
    }
}
