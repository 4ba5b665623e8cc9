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
use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, Error as _, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde_json::{Map, Number, Value};

/// Reads `T` from JSON text by way of a [`Value`] (module docs).
///
/// # Errors
/// The text is not JSON, has an object with a key twice (``duplicate field
/// `name` ``), or is not a `T`.
pub fn from_text<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_str::<Strict>(text).and_then(|strict| serde_json::from_value(strict.0))
}

/// The JSON value `deserializer` holds, refused when an object in it has a
/// key twice (``duplicate field `name` ``, as serde's derived readers refuse
/// a duplicate field), for [`internally_tagged!`]'s readers.
///
/// # Errors
/// `deserializer`'s error, or a duplicate key.
pub(crate) fn value_of<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
    Strict::deserialize(deserializer).map(|strict| strict.0)
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

/// A tagged enum's JSON (`{"kind": "submit", …}`, `{"error": "…", "detail":
/// …}`) split into its tag and the rest, to be read as the enum's variant and
/// that variant's data ([`internally_tagged!`]). Reads what serde's derived
/// readers read: for an internally tagged enum an object with the tag among
/// its members, or an array whose first item is the tag; for an adjacently
/// tagged one an object with the tag and the content among its members (the
/// content left out for a unit variant), or the array `[tag, content]`.
pub(crate) struct TaggedParts {
    tag: Value,
    rest: VariantData,
}

impl TaggedParts {
    /// Takes the member `tag` out of `value`; `expecting` names the enum in
    /// the error for a value that is neither an object nor an array.
    ///
    /// # Errors
    /// ``missing field `tag` `` when there is no tag; an invalid type when
    /// `value` is neither an object nor an array.
    pub(crate) fn split(
        value: Value,
        tag: &'static str,
        content: Option<&'static str>,
        expecting: &'static str,
    ) -> serde_json::Result<Self> {
        match (value, content) {
            (Value::Object(mut members), _) => match members.remove(tag) {
                Some(found) => Ok(Self {
                    tag: found,
                    rest: match content {
                        None => VariantData::Beside(Value::Object(members)),
                        Some(content) => VariantData::Content(members.remove(content), content),
                    },
                }),
                None => Err(serde_json::Error::missing_field(tag)),
            },
            (Value::Array(items), None) => {
                let mut items = items.into_iter();
                match items.next() {
                    Some(found) => Ok(Self {
                        tag: found,
                        rest: VariantData::Beside(Value::Array(items.collect())),
                    }),
                    None => Err(serde_json::Error::missing_field(tag)),
                }
            }
            (Value::Array(items), Some(content)) => {
                let len = items.len();
                let mut items = items.into_iter();
                match (items.next(), items.next()) {
                    (None, _) => Err(serde_json::Error::invalid_length(0, &expecting)),
                    _ if len > 2 => Err(serde_json::Error::invalid_length(
                        len,
                        &"fewer elements in array",
                    )),
                    (Some(found), second) => Ok(Self {
                        tag: found,
                        rest: match second {
                            Some(item) => VariantData::Content(Some(item), content),
                            None => VariantData::Short(expecting),
                        },
                    }),
                }
            }
            (other, _) => Err(serde_json::Error::invalid_type(
                unexpected(&other),
                &expecting,
            )),
        }
    }
}

/// `value` as serde's errors name it.
fn unexpected(value: &Value) -> serde::de::Unexpected<'_> {
    use serde::de::Unexpected;
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => n.as_u64().map_or_else(
            || {
                n.as_i64().map_or_else(
                    || Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
                    Unexpected::Signed,
                )
            },
            Unexpected::Unsigned,
        ),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

impl<'de> Deserializer<'de> for TaggedParts {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> serde_json::Result<V::Value> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> EnumAccess<'de> for TaggedParts {
    type Error = serde_json::Error;
    type Variant = VariantData;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> serde_json::Result<(V::Value, VariantData)> {
        if let VariantData::Beside(_) = self.rest {
            let variant = seed.deserialize(self.tag)?;
            return Ok((variant, self.rest));
        }
        // An adjacently tagged enum's tag is read as serde's derived reader
        // reads it, as a unit enum: `"name"` or `{"name": null}`.
        match self.tag {
            Value::String(_) => Ok((seed.deserialize(self.tag)?, self.rest)),
            Value::Object(members) if members.len() == 1 => {
                let mut members = members.into_iter();
                let Some((name, data)) = members.next() else {
                    return Err(serde_json::Error::missing_field("variant"));
                };
                let variant = seed.deserialize(Value::String(name))?;
                if !data.is_null() {
                    return Err(serde_json::Error::invalid_type(unexpected(&data), &"unit"));
                }
                Ok((variant, self.rest))
            }
            Value::Object(_) => Err(serde_json::Error::invalid_value(
                serde::de::Unexpected::Map,
                &"map with a single key",
            )),
            other => Err(serde_json::Error::invalid_type(
                unexpected(&other),
                &"string or map",
            )),
        }
    }
}

/// The data of a tagged enum's variant.
pub(crate) enum VariantData {
    /// The members (or items) beside an internally tagged enum's tag.
    Beside(Value),
    /// An adjacently tagged enum's content, when given, and its key.
    Content(Option<Value>, &'static str),
    /// The array `[tag]` of an adjacently tagged enum (the enum's name for the
    /// error).
    Short(&'static str),
}

impl VariantData {
    /// The variant's data, for a variant that has some.
    fn data(self) -> serde_json::Result<Value> {
        match self {
            Self::Beside(value) | Self::Content(Some(value), _) => Ok(value),
            Self::Content(None, content) => Err(serde_json::Error::missing_field(content)),
            Self::Short(expecting) => Err(serde_json::Error::invalid_length(1, &expecting)),
        }
    }
}

impl<'de> VariantAccess<'de> for VariantData {
    type Error = serde_json::Error;

    /// The members beside a unit variant's tag are ignored, as serde's
    /// derived reader ignores them; items after the tag are refused, as it
    /// refuses them. An adjacently tagged unit variant's content, when given,
    /// is `null`.
    fn unit_variant(self) -> serde_json::Result<()> {
        match self {
            Self::Beside(Value::Array(items)) if !items.is_empty() => Err(
                serde_json::Error::invalid_length(items.len(), &"0 elements in sequence"),
            ),
            Self::Beside(_) | Self::Content(None | Some(Value::Null), _) => Ok(()),
            Self::Content(Some(other), _) => Err(serde_json::Error::invalid_type(
                unexpected(&other),
                &"unit variant",
            )),
            Self::Short(expecting) => Err(serde_json::Error::invalid_length(1, &expecting)),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> serde_json::Result<T::Value> {
        seed.deserialize(self.data()?)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        self.data()?.deserialize_any(visitor)
    }

    /// An adjacently tagged struct variant's content is an object (serde's
    /// derived reader refuses an array there).
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        match self {
            Self::Content(Some(value), _) => value.deserialize_map(visitor),
            other => other.data()?.deserialize_any(visitor),
        }
    }
}

/// Declares an internally tagged enum (`#[serde(tag = …)]`), or with
/// `[content = "…"]` an adjacently tagged one (`#[serde(tag = …, content =
/// …)]`), whose `Deserialize` reads a [`Value`] once, takes the tag out and
/// reads the rest (the content) as the variant's data, instead of serde's derived reader, which buffers
/// serde's `Content` and instantiates every variant's reader for it (about
/// 150 KB of the npm package's `.wasm` for a dozen enums). The JSON is the
/// same both ways: `Serialize` is the derived one, and the reader accepts
/// what the derived one accepts.
///
/// ```ignore
/// internally_tagged! {
///     tag = "kind", rename_all = "snake_case", rename_all_fields = "camelCase";
///     /// Docs.
///     #[derive(Clone, Debug, Serialize)]
///     pub enum Action { Persist, Submit { tx_hash: TxHash }, Valid(Anchor) }
/// }
/// ```
///
/// `[repr_derive(…)]` after the container's attributes adds derives to the
/// private copy of the enum the variants are read as, for variant attributes
/// that need them (thiserror's `#[error]`).
macro_rules! internally_tagged {
    (
        tag = $tag:literal $(, $key:ident = $val:literal)*
        $([content = $content:literal])?
        $([repr_derive($($rd:path),*)])? ;
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident
                $( ( $newty:ty ) )?
                $( { $( $(#[$fmeta:meta])* $field:ident : $fty:ty ),* $(,)? } )?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[serde(tag = $tag $(, content = $content)? $(, $key = $val)*)]
        $vis enum $name {
            $(
                $(#[$vmeta])*
                $variant
                $( ( $newty ) )?
                $( { $( $(#[$fmeta])* $field : $fty ),* } )?
            ),*
        }

        const _: () = {
            /// The same variants, externally tagged: read from
            /// [`TaggedParts`]($crate::json::TaggedParts).
            #[derive(::serde::Deserialize $($(, $rd)*)?)]
            #[serde($($key = $val),*)]
            enum Repr {
                $(
                    $(#[$vmeta])*
                    $variant
                    $( ( $newty ) )?
                    $( { $( $(#[$fmeta])* $field : $fty ),* } )?
                ),*
            }

            impl<'de> ::serde::Deserialize<'de> for $name {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    use ::serde::de::Error as _;
                    let value = $crate::json::value_of(deserializer)?;
                    let parts = $crate::json::TaggedParts::split(
                        value,
                        $tag,
                        $crate::json::internally_tagged!(@content $($content)?),
                        $crate::json::internally_tagged!(@expecting $name $($content)?),
                    )
                    .map_err(D::Error::custom)?;
                    let repr = <Repr as ::serde::Deserialize>::deserialize(parts).map_err(D::Error::custom)?;
                    Ok(match repr {
                        $(
                            $crate::json::internally_tagged!(@pat Repr $variant value $( ($newty) )? $( { $($field)* } )?)
                                => $crate::json::internally_tagged!(@expr $name $variant value $( ($newty) )? $( { $($field)* } )?),
                        )*
                    })
                }
            }
        };
    };
    (@content $content:literal) => { Some($content) };
    (@content) => { None };
    (@expecting $name:ident $content:literal) => { concat!("adjacently tagged enum ", stringify!($name)) };
    (@expecting $name:ident) => { concat!("internally tagged enum ", stringify!($name)) };
    (@pat $enum:ident $variant:ident $bind:ident ($newty:ty)) => { $enum::$variant($bind) };
    (@pat $enum:ident $variant:ident $bind:ident { $($field:ident)* }) => { $enum::$variant { $($field),* } };
    (@pat $enum:ident $variant:ident $bind:ident) => { $enum::$variant };
    (@expr $enum:ident $variant:ident $bind:ident ($newty:ty)) => { $enum::$variant($bind) };
    (@expr $enum:ident $variant:ident $bind:ident { $($field:ident)* }) => { $enum::$variant { $($field),* } };
    (@expr $enum:ident $variant:ident $bind:ident) => { $enum::$variant };
}
pub(crate) use internally_tagged;

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::from_text;

    #[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    struct Inner {
        a: u32,
        #[serde(default)]
        b: Option<String>,
    }

    /// Declares the enum `$name` once and makes it twice, with the same
    /// variants and serde options: in `$ours` through `internally_tagged!`
    /// (the reader under test) and in `$theirs` through serde's derive.
    macro_rules! both_readers {
        (
            $ours:ident, $theirs:ident: tag = $tag:literal $(, content = $content:literal)?;
            enum $name:ident $variants:tt
        ) => {
            mod $ours {
                use serde::Serialize;

                use super::Inner;

                super::super::internally_tagged! {
                    tag = $tag, rename_all = "snake_case", rename_all_fields = "camelCase"
                    $([content = $content])?;
                    #[derive(Debug, PartialEq, Eq, Serialize)]
                    pub(super) enum $name $variants
                }
            }

            mod $theirs {
                use serde::{Deserialize, Serialize};

                use super::Inner;

                #[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
                #[serde(
                    tag = $tag,
                    $(content = $content,)?
                    rename_all = "snake_case",
                    rename_all_fields = "camelCase"
                )]
                pub(super) enum $name $variants
            }
        };
    }

    both_readers! {
        by_value, derived: tag = "kind";
        enum Sample {
            Unit,
            Wrapped(Inner),
            Fields {
                tx_hash: String,
                #[serde(default, skip_serializing_if = "Option::is_none")]
                block_number: Option<u64>,
                nested: Option<Box<Sample>>,
            },
        }
    }

    both_readers! {
        adjacent_by_value, adjacent_derived: tag = "t", content = "c";
        enum Adjacent {
            Unit,
            Text(String),
            Wrapped(Inner),
            Fields {
                tx_hash: String,
                #[serde(default, skip_serializing_if = "Option::is_none")]
                block_number: Option<u64>,
            },
        }
    }

    /// The same for an adjacently tagged enum, but for the name of a unit
    /// variant given content other than `null` (serde names the variant).
    #[test]
    fn adjacently_tagged_reads_what_the_derived_reader_reads() {
        let docs = [
            r#"{"t": "unit"}"#,
            r#"{"t": "unit", "c": null}"#,
            r#"{"c": null, "t": "unit", "x": 1}"#,
            r#"{"t": "unit", "c": 1}"#,
            r#"{"t": "text", "c": "hello"}"#,
            r#"{"c": "hello", "t": "text"}"#,
            r#"{"t": "text"}"#,
            r#"{"t": "text", "c": 1}"#,
            r#"{"t": "wrapped", "c": {"a": 1}}"#,
            r#"{"t": "wrapped", "c": [1, "b"]}"#,
            r#"{"t": "wrapped", "c": {"b": "x"}}"#,
            r#"{"t": "fields", "c": {"txHash": "0x1", "blockNumber": 2}}"#,
            r#"{"t": "fields", "c": {"txHash": "0x1", "other": 2}}"#,
            r#"{"t": "fields", "c": ["0x1", 2]}"#,
            r#"{"t": "fields", "c": "x"}"#,
            r#"{"t": "fields"}"#,
            r#"{"c": {"txHash": "0x1"}}"#,
            r#"{"t": "nope", "c": 1}"#,
            r#"{"t": 7, "c": 1}"#,
            r#"{"t": 0, "c": 1}"#,
            r#"{"t": {"text": null}, "c": "hello"}"#,
            r#"{"t": {"text": 1}, "c": "hello"}"#,
            r#"{"t": {"nope": 1}, "c": "hello"}"#,
            r#"{"t": {}, "c": "hello"}"#,
            r#"{"t": {"text": null, "unit": null}, "c": "hello"}"#,
            r#"{"t": null, "c": "hello"}"#,
            r#"{}"#,
            r#"["text", "hello"]"#,
            r#"["unit", null]"#,
            r#"["unit"]"#,
            r#"["text"]"#,
            r#"["nope"]"#,
            r#"[]"#,
            r#"["text", "a", "b"]"#,
            r#""text""#,
            r#"null"#,
            r#"12"#,
        ];
        for doc in docs {
            let ours = from_text::<adjacent_by_value::Adjacent>(doc).map_err(|e| e.to_string());
            let theirs = from_text::<adjacent_derived::Adjacent>(doc).map_err(|e| e.to_string());
            match (&ours, &theirs) {
                (Ok(a), Ok(b)) => assert_eq!(
                    serde_json::to_value(a).unwrap(),
                    serde_json::to_value(b).unwrap(),
                    "{doc}"
                ),
                (Err(a), Err(b)) => {
                    let b = b.replace("unit variant Adjacent::Unit", "unit variant");
                    assert_eq!(a.replace("Repr::", "Adjacent::"), b, "{doc}");
                }
                _ => panic!("{doc}: {ours:?} but derived {theirs:?}"),
            }
        }
    }

    /// The same documents are read, or refused with the same message, by the
    /// `Value`-based reader and by serde's derived one, through
    /// [`from_text`] and through `serde_json::from_value`; what is read
    /// serializes to the same JSON.
    #[test]
    fn internally_tagged_reads_what_the_derived_reader_reads() {
        let docs = [
            r#"{"kind": "unit"}"#,
            r#"{"kind": "unit", "extra": [1, 2]}"#,
            r#"{"extra": 1, "kind": "unit"}"#,
            r#"["unit"]"#,
            r#"["unit", 1, 2]"#,
            r#"{"kind": "wrapped", "a": 7}"#,
            r#"{"a": 7, "b": "x", "kind": "wrapped", "c": true}"#,
            r#"{"kind": "wrapped", "a": "7"}"#,
            r#"{"kind": "wrapped"}"#,
            r#"["wrapped", 7, "x"]"#,
            r#"{"kind": "fields", "txHash": "0x1", "nested": null}"#,
            r#"{"kind": "fields", "txHash": "0x1", "blockNumber": 9, "nested": {"kind": "unit"}}"#,
            r#"{"kind": "fields", "txHash": "0x1", "nested": {"kind": "fields", "txHash": "0x2", "nested": {"kind": "nope"}}}"#,
            r#"{"kind": "fields", "txHash": "0x1", "nested": {"txHash": "0x2"}}"#,
            r#"{"kind": "fields", "tx_hash": "0x1", "nested": null}"#,
            r#"{"kind": "fields", "txHash": 1, "nested": null}"#,
            r#"{"kind": "fields", "txHash": "0x1"}"#,
            r#"["fields", "0x1", 3, null]"#,
            r#"["fields"]"#,
            r#"{"kind": "Unit"}"#,
            r#"{"kind": "other"}"#,
            r#"{"kind": 1}"#,
            r#"{"kind": null}"#,
            r#"{}"#,
            r#"[]"#,
            r#""unit""#,
            r#"3"#,
            r#"-3"#,
            r#"2.5"#,
            r#"null"#,
            r#"true"#,
            r#"{"kind": "unit", "kind": "unit"}"#,
            r#"{"kind": "wrapped", "a": 1, "a": 2}"#,
            r#"{"kind": "fields", "txHash": "0x1", "nested": {"kind": "unit", "x": 1, "x": 2}}"#,
        ];
        for doc in docs {
            let ours = from_text::<by_value::Sample>(doc);
            let theirs = from_text::<derived::Sample>(doc);
            match (&ours, &theirs) {
                (Ok(a), Ok(b)) => assert_eq!(
                    serde_json::to_value(a).unwrap(),
                    serde_json::to_value(b).unwrap(),
                    "{doc}"
                ),
                // One difference: serde names a struct variant by the Rust
                // type that derives the reader, here the private `Repr`,
                // in the message for an array of the wrong length.
                (Err(a), Err(b)) => assert_eq!(
                    a.to_string().replace("Repr::", "Sample::"),
                    b.to_string(),
                    "{doc}"
                ),
                _ => panic!("{doc}: {ours:?} but derived {theirs:?}"),
            }
            // Straight from the text: the same, but for the position the
            // derived reader gives errors in the tag or the document's type.
            let strip = |e: serde_json::Error| {
                let text = e.to_string().replace("Repr::", "Sample::");
                text.split(" at line ")
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            };
            // And stricter: a key twice is refused even where the derived
            // reader ignores it (an unknown member), as `from_text` refuses it.
            let ours = serde_json::from_str::<by_value::Sample>(doc).map_err(strip);
            let theirs = serde_json::from_str::<derived::Sample>(doc).map_err(strip);
            if let (Err(a), Ok(_)) = (&ours, &theirs) {
                assert_eq!(a, "duplicate field `x`", "{doc}");
                continue;
            }
            assert_eq!(ours.is_ok(), theirs.is_ok(), "{doc}");
            if let (Err(a), Err(b)) = (ours, theirs) {
                assert_eq!(a, b, "{doc}");
            }
            let value: Value = serde_json::from_str(doc).unwrap();
            let ours = serde_json::from_value::<by_value::Sample>(value.clone())
                .map_err(|e| e.to_string());
            let theirs =
                serde_json::from_value::<derived::Sample>(value).map_err(|e| e.to_string());
            assert_eq!(ours.is_ok(), theirs.is_ok(), "{doc}");
            if let (Err(a), Err(b)) = (ours, theirs) {
                assert_eq!(a.replace("Repr::", "Sample::"), b, "{doc}");
            }
        }
    }

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
