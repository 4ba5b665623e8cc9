//! Reading JSON documents: one way for every document type.
//!
//! Every document (TI, template, TC, proof, outbox entry, and the bindings'
//! arguments) is read as a [`serde_json::Value`] first and then as its type,
//! so each type's visitors are instantiated for one deserializer (the
//! `Value`'s) instead of the text parser's as well: the second copy cost the
//! npm package's `.wasm` about 12 KiB gzipped. Duplicate keys are refused at
//! every level, as serde's derived readers refuse a duplicate field.

use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Reads `T` from JSON text by way of a [`Value`] (module docs).
///
/// # Errors
/// The text is not JSON, has an object with a key twice (``duplicate field
/// `name` ``), or is not a `T`.
pub fn from_text<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_str::<Strict>(text).and_then(|strict| serde_json::from_value(strict.0))
}

/// A JSON value without duplicate keys.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Strict, E> {
        // JSON text has no NaN or infinity.
        Ok(Strict(
            Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Strict(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.contains_key(&key) {
                return Err(A::Error::custom(format_args!("duplicate field `{key}`")));
            }
            let Strict(value) = map.next_value()?;
            members.insert(key, value);
        }
        Ok(Strict(Value::Object(members)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::from_text;

    #[test]
    fn reads_what_serde_json_reads() {
        let text = r#"{"a": [1, -2, 2.5, "x", null, true], "b": {"c": {}}}"#;
        assert_eq!(
            from_text::<Value>(text).unwrap(),
            json!({"a": [1, -2, 2.5, "x", null, true], "b": {"c": {}}})
        );
    }

    #[test]
    fn refuses_a_duplicate_key_at_any_depth() {
        let err = from_text::<Value>(r#"{"a": {"b": 1, "b": 2}}"#).unwrap_err();
        assert_eq!(err.to_string(), "duplicate field `b` at line 1 column 18");
    }

    #[test]
    fn keeps_the_position_of_syntax_errors() {
        let err = from_text::<Value>("{\"a\": }").unwrap_err();
        assert_eq!(err.to_string(), "expected value at line 1 column 7");
    }
}
