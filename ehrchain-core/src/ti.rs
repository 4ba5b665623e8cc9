//! Initial transactions (TI): what the user application hands the handshaker.

use std::collections::BTreeMap;

use alloy_primitives::B256;
use serde::{Deserialize, Deserializer, Serialize};

use crate::Role;

/// Largest TI JSON document accepted, in bytes.
pub const MAX_TI_JSON_LEN: usize = 4 << 20;
/// Longest author or patient identifier, in bytes.
pub const MAX_IDENTIFIER_LEN: usize = 128;

/// An initial transaction: a user's entry plus the system data around it.
///
/// JSON form (see `docs/templates.md`):
/// `{"tiId": "0x…", "templateId": "0x…", "authorId": "dr-4711",
///   "authorRole": "doctor", "patientId": "MRN-000123",
///   "timestamp": 1764495000, "fields": {"systolic": 120}}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InitialTransaction {
    /// The host's idempotency key for this entry (32 bytes, for example a
    /// random value or a UUID left-aligned). Goes on chain; must not encode
    /// clinical or identifying data.
    #[serde(deserialize_with = "bytes32")]
    pub ti_id: B256,
    /// The template the entry follows.
    #[serde(deserialize_with = "bytes32")]
    pub template_id: B256,
    /// The host's identifier of the author (kept in the sealed record only).
    pub author_id: String,
    /// The role the author acts in.
    pub author_role: Role,
    /// The hospital's patient identifier; on chain only as a keyed pseudonym.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<String>,
    /// When the entry was made, in Unix *seconds*, from the host's clock.
    /// This is the TI's data format (its JSON, the sealed record and the
    /// on-chain `uint64 timestamp` argument all hold seconds); every time
    /// *parameter* of the API is a [`UnixMillis`](crate::UnixMillis):
    /// convert with [`UnixMillis::as_secs`](crate::UnixMillis::as_secs).
    pub timestamp: u64,
    /// The field values by field name.
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// Why a TI JSON document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TiFormatError {
    /// The document exceeds [`MAX_TI_JSON_LEN`].
    #[error("the TI is {0} bytes; at most 4 MiB are accepted")]
    TooLarge(usize),
    /// The document is not a well-formed TI.
    #[error("the TI JSON is malformed: {0}")]
    Json(String),
}

impl From<serde_json::Error> for TiFormatError {
    fn from(e: serde_json::Error) -> Self {
        Self::Json(e.to_string())
    }
}

/// A TI's `bytes32` (`ti_id`, `template_id`): `0x` and 64 hex digits. Serde's
/// own `B256` also takes the digits without `0x`, which the TI format does not.
fn bytes32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<B256, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.strip_prefix("0x")
        .filter(|digits| digits.len() == 64)
        .and_then(|digits| digits.parse().ok())
        .ok_or_else(|| {
            let shown: String = text.chars().take(80).collect();
            serde::de::Error::custom(format!(
                "expected \"0x\" and 64 hex digits, not {shown:?}{}",
                if shown.len() < text.len() { "…" } else { "" }
            ))
        })
}

impl InitialTransaction {
    /// Parses a TI from JSON.
    ///
    /// # Errors
    /// [`TiFormatError`] for oversized or malformed documents. Values are
    /// checked against their template by the
    /// [`TransactionGenerator`](crate::TransactionGenerator).
    pub fn from_json(json: &str) -> Result<Self, TiFormatError> {
        if json.len() > MAX_TI_JSON_LEN {
            return Err(TiFormatError::TooLarge(json.len()));
        }
        crate::json::from_text(json).map_err(TiFormatError::from)
    }

    /// Reads a TI from a JSON document already parsed, with the rules of
    /// [`InitialTransaction::from_json`] but two: the caller bounds its size
    /// (there is no text to measure), and a key repeated in the text is no
    /// longer seen (the parsed document kept the last value, where
    /// `from_json` refuses the text). The npm package parses the short part
    /// of a TI object and adds its long texts, which JavaScript copies
    /// several times faster than it writes them as JSON.
    ///
    /// # Errors
    /// [`TiFormatError::Json`] for a document that is not a well-formed TI.
    pub fn from_json_value(document: serde_json::Value) -> Result<Self, TiFormatError> {
        serde_json::from_value(document).map_err(TiFormatError::from)
    }

    /// The TI as JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        // A map of JSON values and plain fields always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let json = r#"{"tiId":"0x0101010101010101010101010101010101010101010101010101010101010101","templateId":"0x0202020202020202020202020202020202020202020202020202020202020202","authorId":"dr-4711","authorRole":"doctor","patientId":"MRN-000123","timestamp":1764495000,"fields":{"systolic":120}}"#;
        let ti = InitialTransaction::from_json(json).unwrap();
        assert_eq!(ti.author_role.name(), "doctor");
        assert_eq!(ti.to_json(), json);
        let document = serde_json::from_str(json).unwrap();
        assert_eq!(InitialTransaction::from_json_value(document).unwrap(), ti);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "{}",
            r#"{"tiId":"0x01","templateId":"0x02","authorId":"a","authorRole":"doctor","timestamp":1,"fields":{}}"#,
            r#"{"tiId":"0x0101010101010101010101010101010101010101010101010101010101010101","templateId":"0x0202020202020202020202020202020202020202020202020202020202020202","authorId":"a","authorRole":"Doctor","timestamp":1,"fields":{}}"#,
            r#"{"tiId":"0x0101010101010101010101010101010101010101010101010101010101010101","templateId":"0x0202020202020202020202020202020202020202020202020202020202020202","authorId":"a","authorRole":"doctor","timestamp":-1,"fields":{}}"#,
            r#"{"tiId":"0x0101010101010101010101010101010101010101010101010101010101010101","templateId":"0x0202020202020202020202020202020202020202020202020202020202020202","authorId":"a","authorRole":"doctor","timestamp":1,"fields":{},"extra":1}"#,
        ] {
            assert!(InitialTransaction::from_json(bad).is_err(), "{bad}");
            if let Ok(document) = serde_json::from_str(bad) {
                let parsed = InitialTransaction::from_json_value(document);
                assert!(matches!(parsed, Err(TiFormatError::Json(_))), "{bad}");
            }
        }
        let huge = " ".repeat(MAX_TI_JSON_LEN + 1);
        assert_eq!(
            InitialTransaction::from_json(&huge),
            Err(TiFormatError::TooLarge(MAX_TI_JSON_LEN + 1))
        );
    }

    #[test]
    fn ids_need_0x_and_64_hex_digits() {
        let ti = |ti_id: &str, template_id: &str| {
            format!(
                r#"{{"tiId":"{ti_id}","templateId":"{template_id}","authorId":"a","authorRole":"doctor","timestamp":1,"fields":{{}}}}"#
            )
        };
        let (one, two) = ("01".repeat(32), "02".repeat(32));
        let good =
            InitialTransaction::from_json(&ti(&format!("0x{one}"), &format!("0x{two}"))).unwrap();
        assert_eq!(good.ti_id, B256::repeat_byte(1));
        assert_eq!(good.template_id, B256::repeat_byte(2));
        for (ti_id, template_id) in [
            (one.clone(), format!("0x{two}")),
            (format!("0x{one}"), two.clone()),
            (format!("0X{one}"), format!("0x{two}")),
            (format!("0x0x{}", &one[4..]), format!("0x{two}")),
            (format!("0x{one}00"), format!("0x{two}")),
            (format!("0x{}zz", &one[2..]), format!("0x{two}")),
        ] {
            let json = ti(&ti_id, &template_id);
            let Err(TiFormatError::Json(message)) = InitialTransaction::from_json(&json) else {
                panic!("accepted {json}");
            };
            assert!(
                message.contains("expected \"0x\" and 64 hex digits"),
                "{message}"
            );
            let document = serde_json::from_str(&json).unwrap();
            assert!(matches!(
                InitialTransaction::from_json_value(document),
                Err(TiFormatError::Json(_))
            ));
        }
    }
}
