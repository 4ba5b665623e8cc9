//! The FHIR input as a flat JSON tape over the text: one vector of 16-byte
//! nodes in document order (a container's node says where its subtree ends),
//! texts without escapes and member names read in place, numbers parsed
//! once.
//! Mapping reads a handful of elements of each resource; a tree of its own
//! (a `serde_json::Value`, or vectors per object and array) cost more to
//! build and to drop than the mapping itself.
//!
//! The tape accepts exactly what `serde_json` accepts (numbers and texts
//! with escapes are read by `serde_json` itself, nesting stops at its
//! recursion limit), and a text it refuses is refused with `serde_json`'s own
//! error, found by running `serde_json` on it. As in `serde_json::Value`, a
//! member name given twice keeps its last value ([`Json::get`]).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

/// `serde_json`'s recursion limit: it refuses the 128th nested array or
/// object.
const MAX_NESTING: usize = 127;

/// Longest run of digits read as a `u64` without `serde_json` (every
/// 19-digit number fits).
const MAX_PLAIN_DIGITS: usize = 19;

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Null,
    False,
    True,
    /// [`Node::start`] is its index in [`Doc::numbers`].
    Number,
    /// A text without escapes: the node's span.
    Text,
    /// A text with escapes: [`Node::start`] is its index in [`Doc::texts`].
    Escaped,
    Array,
    Object,
}

/// One value (or member name) of the text, in 16 bytes: positions and
/// indices fit in 32 bits, as texts are at most
/// [`MAX_FHIR_JSON_LEN`](super::MAX_FHIR_JSON_LEN) bytes.
#[derive(Clone, Copy, Debug)]
struct Node {
    kind: Kind,
    /// A text's span (inside its quotes), or, for a number or a text with
    /// escapes, its index in [`Doc::numbers`] or [`Doc::texts`].
    start: u32,
    end: u32,
    /// The node after this value's subtree.
    next: u32,
}

impl Node {
    fn start(&self) -> usize {
        widen(self.start)
    }

    fn end(&self) -> usize {
        widen(self.end)
    }

    fn next(&self) -> usize {
        widen(self.next)
    }
}

/// A position or index of the tape as a `usize` (lossless: `usize` has at
/// least 32 bits on every target ehrchain builds for).
fn widen(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A parsed JSON text: its nodes, an object's members as name and value
/// nodes in turn.
#[derive(Debug)]
pub(crate) struct Doc<'t> {
    text: &'t str,
    nodes: Vec<Node>,
    numbers: Vec<Number>,
    texts: Vec<String>,
}

impl<'t> Doc<'t> {
    /// Parses `text`.
    ///
    /// # Errors
    /// `serde_json`'s error for a text that is not JSON.
    pub(crate) fn parse(text: &'t str) -> Result<Self, serde_json::Error> {
        let mut scanner = Scanner {
            bytes: text.as_bytes(),
            pos: 0,
            doc: Doc {
                text,
                nodes: Vec::with_capacity(text.len() / 8 + 1),
                numbers: Vec::new(),
                texts: Vec::new(),
            },
        };
        match scanner.document() {
            Some(()) => Ok(scanner.doc),
            None => Err(serde_json_error(text)),
        }
    }

    /// The document's value.
    pub(crate) fn root(&self) -> Json<'_> {
        Json { doc: self, at: 0 }
    }

    /// Whether the member name `name` is `key`.
    fn name_is(&self, name: &Node, key: &str) -> bool {
        match name.kind {
            Kind::Text => {
                let (start, end) = (name.start(), name.end());
                end - start == key.len()
                    && self
                        .text
                        .as_bytes()
                        .get(start..end)
                        .is_some_and(|bytes| same_bytes(bytes, key.as_bytes()))
            }
            Kind::Escaped => self.texts.get(name.start()).is_some_and(|t| t == key),
            _ => false,
        }
    }

    /// Whether the member name `name` is a choice element of `key`: `key`
    /// followed by an upper-case letter (`valueQuantity` of `value`).
    fn is_choice(&self, name: &Node, key: &str) -> bool {
        let text = match name.kind {
            Kind::Text => self.text.as_bytes().get(name.start()..name.end()),
            Kind::Escaped => self.texts.get(name.start()).map(String::as_bytes),
            _ => None,
        };
        text.and_then(|t| t.split_at_checked(key.len()))
            .is_some_and(|(head, rest)| {
                rest.first().is_some_and(u8::is_ascii_uppercase) && same_bytes(head, key.as_bytes())
            })
    }
}

/// Whether `a` and `b` (member names, short) are the same bytes: compared
/// in place, the first byte first (most names of the same length differ
/// there), without a call to `memcmp`.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.first() == b.first() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// A value of a [`Doc`].
#[derive(Clone, Copy)]
pub(crate) struct Json<'a> {
    doc: &'a Doc<'a>,
    at: usize,
}

impl<'a> Json<'a> {
    fn node(self) -> Node {
        self.doc.nodes.get(self.at).copied().unwrap_or(Node {
            kind: Kind::Null,
            start: 0,
            end: 0,
            next: u32::MAX,
        })
    }

    fn at(self, at: usize) -> Json<'a> {
        Json { doc: self.doc, at }
    }

    /// The values right inside a container of `kind` (an object's names and
    /// values in turn), following each one's end.
    fn children(self, kind: Kind) -> impl Iterator<Item = Json<'a>> + use<'a> {
        let node = self.node();
        let mut at = self.at + 1;
        std::iter::from_fn(move || {
            if node.kind != kind || at >= node.next() {
                return None;
            }
            let child = self.at(at);
            at = child.node().next();
            Some(child)
        })
    }

    /// The members of an object, in document order.
    pub(crate) fn members(self) -> impl Iterator<Item = (&'a str, Json<'a>)> + use<'a> {
        let mut children = self.children(Kind::Object);
        std::iter::from_fn(move || {
            let name = children.next()?;
            Some((name.as_str().unwrap_or_default(), children.next()?))
        })
    }

    /// The items of an array (nothing for other values).
    pub(crate) fn items(self) -> impl Iterator<Item = Json<'a>> + use<'a> {
        self.children(Kind::Array)
    }

    /// The member `key` of an object (its last value when given twice).
    pub(crate) fn get(self, key: &str) -> Option<Json<'a>> {
        self.lookup(key, false)
    }

    /// The member `name` of an object or, when it has none, its first choice
    /// element `name[x]` (`value` finds `valueQuantity`).
    pub(crate) fn child(self, name: &str) -> Option<Json<'a>> {
        self.lookup(name, true)
    }

    /// One pass over an object's members for [`Json::get`] and, with
    /// `choice`, [`Json::child`]: the last member named `key`, else the
    /// first choice element `key[x]`.
    fn lookup(self, key: &str, choice: bool) -> Option<Json<'a>> {
        let node = self.node();
        if node.kind != Kind::Object {
            return None;
        }
        let (nodes, mut at) = (&self.doc.nodes, self.at + 1);
        let (mut found, mut first_choice) = (None, None);
        while let (Some(name), Some(value)) = (nodes.get(at), nodes.get(at + 1)) {
            if at >= node.next() {
                break;
            }
            if self.doc.name_is(name, key) {
                found = Some(at + 1);
            } else if choice && first_choice.is_none() && self.doc.is_choice(name, key) {
                first_choice = Some(at + 1);
            }
            at = value.next();
        }
        found.or(first_choice).map(|at| self.at(at))
    }

    /// The text of a string.
    pub(crate) fn as_str(self) -> Option<&'a str> {
        let node = self.node();
        match node.kind {
            Kind::Text => self.doc.text.get(node.start()..node.end()),
            Kind::Escaped => self.doc.texts.get(node.start()).map(String::as_str),
            _ => None,
        }
    }

    /// A number.
    pub(crate) fn as_number(self) -> Option<&'a Number> {
        let node = self.node();
        match node.kind {
            Kind::Number => self.doc.numbers.get(node.start()),
            _ => None,
        }
    }

    /// A boolean.
    pub(crate) fn as_bool(self) -> Option<bool> {
        match self.node().kind {
            Kind::False => Some(false),
            Kind::True => Some(true),
            _ => None,
        }
    }

    /// Whether this is an object.
    pub(crate) fn is_object(self) -> bool {
        self.node().kind == Kind::Object
    }

    /// Whether this is an array.
    pub(crate) fn is_array(self) -> bool {
        self.node().kind == Kind::Array
    }

    /// Whether this is `null`.
    pub(crate) fn is_null(self) -> bool {
        self.node().kind == Kind::Null
    }

    /// The same value as a `serde_json::Value` (owned).
    pub(crate) fn to_value(self) -> Value {
        match self.node().kind {
            Kind::Null => Value::Null,
            Kind::False => Value::Bool(false),
            Kind::True => Value::Bool(true),
            Kind::Number => self.as_number().cloned().map_or(Value::Null, Value::Number),
            Kind::Text | Kind::Escaped => {
                Value::String(self.as_str().unwrap_or_default().to_owned())
            }
            Kind::Array => Value::Array(self.items().map(Json::to_value).collect()),
            Kind::Object => Value::Object(
                self.members()
                    .map(|(k, v)| (k.to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

impl fmt::Debug for Json<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

/// Reads a text into a [`Doc`]; `None` where `serde_json` would refuse it.
struct Scanner<'t> {
    bytes: &'t [u8],
    pos: usize,
    doc: Doc<'t>,
}

impl Scanner<'_> {
    fn document(&mut self) -> Option<()> {
        self.skip_space();
        self.value(0)?;
        self.skip_space();
        (self.pos == self.bytes.len()).then_some(())
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Appends a node without a subtree; `None` past 32-bit positions.
    fn push(&mut self, kind: Kind, start: usize, end: usize) -> Option<usize> {
        let at = self.doc.nodes.len();
        self.doc.nodes.push(Node {
            kind,
            start: u32::try_from(start).ok()?,
            end: u32::try_from(end).ok()?,
            next: u32::try_from(at + 1).ok()?,
        });
        Some(at)
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'n' => self.literal(b"null", Kind::Null),
            b't' => self.literal(b"true", Kind::True),
            b'f' => self.literal(b"false", Kind::False),
            b'"' => self.text(),
            b'-' | b'0'..=b'9' => self.number(),
            b'[' => self.container(depth, Kind::Array, b']'),
            b'{' => self.container(depth, Kind::Object, b'}'),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8], kind: Kind) -> Option<()> {
        let end = self.pos + word.len();
        (self.bytes.get(self.pos..end)? == word).then_some(())?;
        self.push(kind, 0, 0)?;
        self.pos = end;
        Some(())
    }

    /// A string: in place when it has no escapes, else read by `serde_json`.
    fn text(&mut self) -> Option<()> {
        let start = self.pos + 1;
        let mut end = start;
        let mut escaped = false;
        loop {
            end += plain_run(self.bytes.get(end..)?);
            match *self.bytes.get(end)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    end += 2;
                }
                _ => return None,
            }
        }
        self.pos = end + 1;
        if escaped {
            let quoted = std::str::from_utf8(self.bytes.get(start - 1..=end)?).ok()?;
            self.doc.texts.push(serde_json::from_str(quoted).ok()?);
            self.push(Kind::Escaped, self.doc.texts.len() - 1, 0)?;
        } else {
            self.push(Kind::Text, start, end)?;
        }
        Some(())
    }

    /// A number: JSON's grammar here, its value from `serde_json` unless it
    /// is a plain run of digits.
    fn number(&mut self) -> Option<()> {
        let start = self.pos;
        let digits = |s: &mut Self| {
            let from = s.pos;
            while matches!(s.peek(), Some(b'0'..=b'9')) {
                s.pos += 1;
            }
            s.pos - from
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let first = self.peek();
        let whole = digits(self);
        if whole == 0 || (first == Some(b'0') && whole > 1) {
            return None;
        }
        let mut plain = start + whole == self.pos && whole <= MAX_PLAIN_DIGITS;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            (digits(self) > 0).then_some(())?;
            plain = false;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            (digits(self) > 0).then_some(())?;
            plain = false;
        }
        let text = std::str::from_utf8(self.bytes.get(start..self.pos)?).ok()?;
        let number = if plain {
            Number::from(text.parse::<u64>().ok()?)
        } else {
            serde_json::from_str(text).ok()?
        };
        self.doc.numbers.push(number);
        self.push(Kind::Number, self.doc.numbers.len() - 1, 0)?;
        Some(())
    }

    /// An array or an object (`close` its closing bracket).
    fn container(&mut self, depth: usize, kind: Kind, close: u8) -> Option<()> {
        let depth = depth + 1;
        if depth > MAX_NESTING {
            return None;
        }
        let at = self.push(kind, 0, 0)?;
        self.pos += 1;
        self.skip_space();
        if self.peek() == Some(close) {
            self.pos += 1;
        } else {
            loop {
                if kind == Kind::Object {
                    (self.peek() == Some(b'"')).then_some(())?;
                    self.text()?;
                    self.skip_space();
                    (self.peek() == Some(b':')).then_some(())?;
                    self.pos += 1;
                    self.skip_space();
                }
                self.value(depth)?;
                self.skip_space();
                match self.peek()? {
                    b',' => {
                        self.pos += 1;
                        self.skip_space();
                    }
                    c if c == close => {
                        self.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let next = u32::try_from(self.doc.nodes.len()).ok()?;
        self.doc.nodes.get_mut(at)?.next = next;
        Some(())
    }
}

/// How many bytes `bytes` starts with that a string holds as they are: not
/// a quote, a backslash or a control character. Eight at a time.
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut run = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        // A byte below 0x20, a quote or a backslash sets its high bit here.
        let special = (x.wrapping_sub(ONES * 0x20) & !x & HIGH)
            | zero_in(x ^ (ONES * u64::from(b'"')))
            | zero_in(x ^ (ONES * u64::from(b'\\')));
        if special != 0 {
            return run + (special.trailing_zeros() / 8) as usize;
        }
        run += 8;
    }
    run + bytes
        .get(run..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&b| b >= 0x20 && b != b'"' && b != b'\\')
        .count()
}

/// `serde_json`'s error for a text the scanner refused, found by reading it
/// the way a JSON tree is read (every value with `deserialize_any`).
fn serde_json_error(text: &str) -> serde_json::Error {
    match serde_json::from_str::<Skip>(text) {
        Err(e) => e,
        Ok(Skip) => serde::de::Error::custom("the FHIR JSON could not be read"),
    }
}

/// Any JSON value, read and dropped.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SkipVisitor)
    }
}

/// A member name, read and dropped.
struct SkipName;

impl<'de> Deserialize<'de> for SkipName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_str(SkipVisitor)
            .map(|Skip| SkipName)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<SkipName, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn texts_are_read_in_place_or_decoded_and_the_last_duplicate_wins() {
        let text =
            r#"{"a": "plain", "b\u0020c": "esc\"aped", "a": [1, -2, 2.5, true, null, {}, []]}"#;
        let doc = Doc::parse(text).unwrap();
        let json = doc.root();
        let names: Vec<_> = json.members().map(|(k, _)| k).collect();
        assert_eq!(names, ["a", "b c", "a"]);
        assert_eq!(doc.texts, ["b c", "esc\"aped"]);
        assert_eq!(
            json.get("a").unwrap().to_value(),
            serde_json::json!([1, -2, 2.5, true, null, {}, []])
        );
        assert_eq!(
            json.to_value(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        assert_eq!(json.get("b c").and_then(Json::as_str), Some("esc\"aped"));
        assert_eq!(json.get("missing").map(Json::to_value), None);
        assert_eq!(json.get("a").unwrap().items().count(), 7);
    }

    /// What `serde_json` makes of `text`: the same value, or the same error.
    fn same_as_serde_json(text: &str) {
        match (Doc::parse(text), serde_json::from_str::<Value>(text)) {
            (Ok(doc), Ok(value)) => assert_eq!(doc.root().to_value(), value, "{text:?}"),
            (Err(ours), Err(theirs)) => {
                assert_eq!(ours.to_string(), theirs.to_string(), "{text:?}");
            }
            (ours, theirs) => panic!("{text:?}: {ours:?} but serde_json {theirs:?}"),
        }
    }

    #[test]
    fn accepts_and_refuses_what_serde_json_does_with_its_errors() {
        let cases = [
            "",
            " ",
            "{",
            "}",
            "[",
            "[1,]",
            "[1 2]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{a:1}",
            "{\"a\":1}x",
            "nul",
            "nulll",
            "true",
            "tru",
            "false ",
            "\"\"",
            "\"a",
            "\"a\nb\"",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud800\"",
            "\"\\ud83d\\ude00\"",
            "\"\\/\\b\\f\\n\\r\\t\"",
            "\"\\\"",
            "\u{7f}",
            "\"é\u{7f}\"",
            "0",
            "-0",
            "01",
            "-",
            "-a",
            "1.",
            "1.5",
            ".5",
            "1e",
            "1e+",
            "1E-7",
            "1e400",
            "-1e400",
            "1e-400",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "9999999999999999999",
            "123456789012345678901234567890",
            "[1e309]",
            "2.5e308",
            "1.7976931348623157e308",
            "[\t\r\n 1 ]",
            "[01]",
            "{\"a\":[{\"b\":\"c\"}]}",
            "[,]",
            "[]]",
            "{}}",
            "{\"a\":}",
            "{\"a\"}",
            "{,}",
            "\u{feff}{}",
            "[true,false,null]",
        ];
        for text in cases {
            same_as_serde_json(text);
        }
    }

    #[test]
    fn long_texts_are_scanned_eight_bytes_at_a_time_to_the_exact_byte() {
        for at in 0..20 {
            for special in [
                "\"", "\\\"", "\\n", "\n", "\u{1f}", "\u{7f}", "é", "\\u0041",
            ] {
                let body = format!("{}{special}{}", "a".repeat(at), "b".repeat(at % 11));
                same_as_serde_json(&format!("\"{body}\""));
                same_as_serde_json(&format!("{{\"{body}\": [\"{body}\", 1]}}"));
            }
        }
    }

    #[test]
    fn nesting_stops_where_serde_json_stops() {
        for depth in [126, 127, 128, 129, 400] {
            same_as_serde_json(&format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
            same_as_serde_json(&format!(
                "{}1{}",
                "{\"a\":".repeat(depth),
                "}".repeat(depth)
            ));
        }
    }
}
