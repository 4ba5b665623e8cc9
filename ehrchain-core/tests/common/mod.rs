//! Shared by the test-vector tests: the JSON files in `docs/vectors/` are
//! rewritten from the code with `EHRCHAIN_REGENERATE_VECTORS=1` (`make vectors`)
//! and otherwise must be exactly what the code writes today. Also the test
//! keys every suite seals with ([`test_keys`]) and pieces of hand-written
//! templates ([`template_docs`]).
#![allow(clippy::unwrap_used, clippy::panic, dead_code)]

pub(crate) mod template_docs;
pub(crate) mod test_keys;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Whether this run rewrites the vector files.
pub(crate) fn regenerating() -> bool {
    std::env::var("EHRCHAIN_REGENERATE_VECTORS").as_deref() == Ok("1")
}

/// `value` as the vector files are written: pretty JSON and a final newline.
pub(crate) fn render<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    text
}

/// The vector file at `path`, rewritten first from `build()` when
/// regenerating, and checked to be byte for byte what `build()` renders now.
pub(crate) fn checked_vector_file<T: Serialize>(path: &str, build: impl Fn() -> T) -> String {
    let expected = render(&build());
    if regenerating() {
        std::fs::write(path, &expected).unwrap();
    }
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("{path}: {e}; run with EHRCHAIN_REGENERATE_VECTORS=1 to create it")
    });
    assert!(
        text == expected,
        "{path} differs from what the library writes; if that is on purpose, regenerate with \
         EHRCHAIN_REGENERATE_VECTORS=1 (make vectors) and review the diff"
    );
    text
}

/// The vector file at `path`, checked as [`checked_vector_file`] checks it,
/// read back.
pub(crate) fn read_vector_file<F: DeserializeOwned, T: Serialize>(
    path: &str,
    build: impl Fn() -> T,
) -> F {
    serde_json::from_str(&checked_vector_file(path, build)).unwrap()
}

/// The vector file at `path`, checked as [`checked_vector_file`] checks it,
/// read back as the type it was written from, and equal to what `build()`
/// makes now (its readers lose nothing).
pub(crate) fn read_back_vector_file<T>(path: &str, build: impl Fn() -> T) -> T
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let stored: T = read_vector_file(path, &build);
    assert_eq!(stored, build(), "{path} does not read back as written");
    stored
}

/// Expects `error`, the error of the negative vector `name`, to be one of
/// `known`.
pub(crate) fn assert_known_error(known: &[&str], name: &str, error: &str) {
    assert!(known.contains(&error), "{name}: unknown error name {error}");
}

/// Checks the negative vectors: every name of `expected` is the error
/// (`error_of`) of at least one of them, and each is refused as it says
/// (`check`).
pub(crate) fn check_invalid_vectors<V>(
    invalid: &[V],
    error_of: impl Fn(&V) -> &str,
    expected: &[&str],
    check: impl Fn(&V),
) {
    let named: Vec<&str> = invalid.iter().map(error_of).collect();
    for name in expected {
        assert!(named.contains(name), "no invalid vector for error {name}");
    }
    invalid.iter().for_each(check);
}
