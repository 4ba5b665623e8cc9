//! The committed C header is what the pinned cbindgen generates from the
//! crate and `cbindgen.toml`. Set `EHRCHAIN_REGENERATE_HEADER=1` to rewrite it
//! (then review the diff). Every `ehr_*` and `EHR_*` name the header's
//! comments and the crate's README mention is declared in the header, and
//! every callback returns an `ehr_result`.
#![allow(missing_docs, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use ehrchain_core::ErrorCode;

/// The names of `ehr_result`'s values, generated from the core's one table
/// of error codes.
fn result_codes() -> String {
    let mut c = String::from(
        "\n/**\n * The values of `ehr_result`: `EHR_OK` and every error code of ehrchain-core's\n \
         * `ErrorCode` table (docs/errors.md), the same numbers and names JavaScript uses.\n \
         */\nenum ehr_result_code {\n    /** Success. */\n    EHR_OK = 0,\n",
    );
    for code in ErrorCode::ALL {
        let _ = write!(
            c,
            "    /** {} ({}). */\n    {} = {},\n",
            code.summary(),
            code.kind(),
            code.name(),
            code.number()
        );
    }
    c.push_str("};\n");
    c
}

/// The extensible structs of `header`: those whose first field is
/// `size_t struct_size` (README, "Extensible structs").
fn extensible_structs(header: &str) -> Vec<&str> {
    let (code, _) = code_and_comments(header);
    let mut names = Vec::new();
    let mut lines = code.lines().map(str::trim).filter(|l| !l.is_empty());
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("typedef struct ")
            .and_then(|l| l.strip_suffix(" {"))
        else {
            continue;
        };
        if lines.next() == Some("size_t struct_size;") {
            // `name` borrows `code`; find the same name in `header`.
            if let Some(at) = header.find(&format!("typedef struct {name} {{")) {
                let start = at + "typedef struct ".len();
                names.push(&header[start..start + name.len()]);
            }
        }
    }
    names
}

/// The name of the initialiser of the extensible struct `name`:
/// `EHR_KEY_STORE_CALLBACKS_INIT` for `ehr_key_store_callbacks`.
fn init_macro(name: &str) -> String {
    name.to_ascii_uppercase() + "_INIT"
}

/// One `EHR_*_INIT` initialiser per extensible struct of `header`.
fn init_macros(header: &str) -> String {
    let structs = extensible_structs(header);
    let mut c = String::from(
        "\n/*\n * The initialisers of the extensible structs (README, \"Extensible structs\"):\n \
         * `struct_size` set to the size of the struct as this header declares it and\n \
         * every other field zero (NULL: an optional callback left out), as in\n \
         * `ehr_outbox_callbacks outbox = EHR_OUTBOX_CALLBACKS_INIT;`. In C a designated\n \
         * initialiser, in C++ (11 or later) a value-initialised struct.\n */\n\
         #ifdef __cplusplus\n",
    );
    for name in &structs {
        let _ = writeln!(
            c,
            "#define {} ([] {{ {name} s_{{}}; s_.struct_size = sizeof s_; return s_; }}())",
            init_macro(name)
        );
    }
    c.push_str("#else\n");
    for name in &structs {
        let _ = writeln!(
            c,
            "#define {} {{ .struct_size = sizeof({name}) }}",
            init_macro(name)
        );
    }
    c.push_str("#endif\n");
    c
}

/// The header the pinned cbindgen generates from the crate now, with
/// `after_include` after the includes.
fn generate(after_include: String) -> String {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml reads");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .with_after_include(after_include)
        .generate()
        .expect("cbindgen generates the header");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    String::from_utf8(fresh).expect("the header is UTF-8")
}

/// The header the pinned cbindgen generates from the crate now, with the
/// result codes and the initialisers of the extensible structs it declares.
fn fresh_header() -> String {
    let structs = generate(String::new());
    generate(result_codes() + &init_macros(&structs))
}

#[test]
fn committed_header_matches_a_fresh_generation() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fresh = fresh_header();
    let path = crate_dir.join("include/ehrchain.h");
    if std::env::var_os("EHRCHAIN_REGENERATE_HEADER").is_some() {
        std::fs::write(&path, &fresh).expect("write include/ehrchain.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        panic!(
            "include/ehrchain.h is stale: regenerate it with \
             `EHRCHAIN_REGENERATE_HEADER=1 cargo test -p ehrchain-ffi --test header` and commit it"
        );
    }
}

/// The `ehr_*` and `EHR_*` identifiers of `text` (maximal runs of letters,
/// digits and `_`), without wildcards such as `ehr_*_new` or `EHR_TRANSPORT_*`
/// (whose run ends in `_`).
fn ehr_names(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| (w.starts_with("ehr_") || w.starts_with("EHR_")) && !w.ends_with('_'))
}

/// The header split into its code and its comments (`/* */` and `//`).
fn code_and_comments(header: &str) -> (String, String) {
    let (mut code, mut comments) = (String::new(), String::new());
    let mut rest = header;
    while !rest.is_empty() {
        let block = rest.find("/*");
        let line = rest.find("//");
        let (start, end_marker) = match (block, line) {
            (Some(b), Some(l)) if l < b => (l, "\n"),
            (Some(b), _) => (b, "*/"),
            (None, Some(l)) => (l, "\n"),
            (None, None) => (rest.len(), ""),
        };
        code.push_str(&rest[..start]);
        code.push('\n');
        rest = &rest[start..];
        if rest.is_empty() {
            break;
        }
        let end = rest
            .find(end_marker)
            .map_or(rest.len(), |e| e + end_marker.len());
        comments.push_str(&rest[..end]);
        comments.push('\n');
        rest = &rest[end..];
    }
    (code, comments)
}

#[test]
fn every_name_the_docs_mention_is_declared_in_the_header() {
    // The fresh header: the committed one is checked to equal it above.
    let header = fresh_header();
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(crate_dir.join("README.md")).expect("README");
    let (code, comments) = code_and_comments(&header);
    // The header compiles (make ffi), so every name its code uses is
    // declared in it: types, functions, enum values and constants.
    let declared: BTreeSet<&str> = ehr_names(&code).collect();
    assert!(declared.contains("ehr_handshaker_submit") && declared.contains("EHR_OK"));
    let mut unknown = BTreeSet::new();
    for (source, text) in [
        ("the header's comments", comments.as_str()),
        ("README.md", &readme),
    ] {
        for name in ehr_names(text) {
            if !declared.contains(name) {
                unknown.insert(format!("{name} (in {source})"));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "names mentioned but not declared in include/ehrchain.h: {unknown:#?}"
    );
}

#[test]
fn every_callback_returns_an_ehr_result() {
    let header = fresh_header();
    let (code, _) = code_and_comments(&header);
    let callbacks: Vec<&str> = code.lines().filter(|l| l.contains("(*")).collect();
    assert!(callbacks.len() >= 6, "{callbacks:#?}");
    for line in callbacks {
        let returns = line.split("(*").next().unwrap_or_default().trim();
        assert_eq!(
            returns, "ehr_result",
            "a callback must return an ehr_result: {line}"
        );
    }
}

#[test]
fn every_struct_the_host_allocates_is_extensible_and_has_an_initialiser() {
    let header = fresh_header();
    let structs = extensible_structs(&header);
    assert_eq!(
        structs,
        [
            "ehr_proof_summary",
            "ehr_capsule_binding",
            "ehr_capsule_summary",
            "ehr_sharing_context",
            "ehr_ack_summary",
            "ehr_key_store_callbacks",
            "ehr_outbox_callbacks",
            "ehr_pipeline_transmit",
            "ehr_transmit",
            "ehr_receipt",
            "ehr_durable_step",
            "ehr_drain_step",
            "ehr_watch_step",
            "ehr_signer_callbacks",
            "ehr_transport_callbacks",
            "ehr_outage",
        ]
    );
    for name in structs {
        let init = format!(
            "#define {} {{ .struct_size = sizeof({name}) }}",
            init_macro(name)
        );
        assert!(header.contains(&init), "{init} is missing");
    }
}
