//! The committed C header is what the pinned cbindgen generates from the
//! crate and `cbindgen.toml`. Set `EHRCHAIN_REGENERATE_HEADER=1` to rewrite it
//! (then review the diff).
#![allow(missing_docs, clippy::expect_used, clippy::panic)]

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

#[test]
fn committed_header_matches_a_fresh_generation() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml reads");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .with_after_include(result_codes())
        .generate()
        .expect("cbindgen generates the header");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    let fresh = String::from_utf8(fresh).expect("the header is UTF-8");

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
