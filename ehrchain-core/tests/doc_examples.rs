//! The JSON examples of the documents are checked against the code, so a doc
//! cannot drift from it: every ```` ```json ```` block of `docs/*.md` parses
//! (a block that starts with a member, `"call": {…}`, parses as an object's
//! content; a block of one document per line parses line by line), every
//! template in `docs/templates.md` loads into a registry checked against the
//! registry contract's ABI, its worked example's canonical form and id are
//! what the code computes, and its TIs, form and proof are read by the code.
//! The READMEs' Rust examples are doc tests, their JavaScript example runs in
//! `ehrchain-wasm/tests/readme.test.mjs`; every C block compiles in `make ffi`
//! (`scripts/doc-c-blocks.sh`), and the C example runs there. The Solidity
//! blocks are the registry's (its ABI's functions, its code), and the TOML
//! blocks name this workspace's crates, versions and features.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use alloy_json_abi::JsonAbi;
use ehrchain_core::template::BUILT_IN_TEMPLATES;
use ehrchain_core::{InclusionProof, InitialTransaction, Role, Template, TemplateRegistry};
use serde_json::Value;

/// A fenced block: its info string, the line it opens on, its text.
struct Block {
    info: String,
    line: usize,
    text: String,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        match (open.take(), line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_owned(),
                    line: i + 1,
                    text: String::new(),
                });
            }
            (Some(block), Some(_)) => blocks.push(block),
            (Some(mut block), None) => {
                block.text.push_str(line);
                block.text.push('\n');
                open = Some(block);
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code block");
    blocks
}

fn json_blocks(path: &str) -> Vec<Block> {
    blocks(&read(path))
        .into_iter()
        .filter(|b| b.info == "json")
        .collect()
}

/// The documents of a JSON block (see the module docs).
fn documents(path: &str, block: &Block) -> Vec<Value> {
    let text = block.text.trim();
    let parsed = if text.starts_with('"') {
        serde_json::from_str(&format!("{{{text}}}")).map(|v| vec![v])
    } else {
        serde_json::from_str(text).map(|v| vec![v]).or_else(|_| {
            text.lines()
                .map(serde_json::from_str)
                .collect::<Result<Vec<Value>, _>>()
        })
    };
    parsed.unwrap_or_else(|e| panic!("{path}:{}: not JSON: {e}", block.line))
}

fn contract_abi() -> JsonAbi {
    let artifact: Value =
        serde_json::from_str(&read("contracts/artifacts/EhrRegistry.json")).unwrap();
    serde_json::from_value(artifact["abi"].clone()).unwrap()
}

#[test]
fn every_json_example_in_the_docs_parses() {
    let mut count = 0;
    for path in [
        "docs/templates.md",
        "docs/envelope.md",
        "docs/proofs.md",
        "docs/fhir.md",
        "docs/pipeline.md",
    ] {
        for block in json_blocks(path) {
            count += documents(path, &block).len();
        }
    }
    assert_eq!(count, 14);
}

#[test]
fn every_template_in_templates_md_loads_against_the_registry_contract() {
    let mut loaded = Vec::new();
    for block in json_blocks("docs/templates.md") {
        let doc = &documents("docs/templates.md", &block)[0];
        if doc["format"] != "ehrchain.template/1" {
            continue;
        }
        let mut registry = TemplateRegistry::with_contract_abi(contract_abi());
        registry
            .add_json(&doc.to_string())
            .unwrap_or_else(|e| panic!("docs/templates.md:{}: {e}", block.line));
        loaded.push(doc["name"].as_str().unwrap().to_owned());
    }
    assert_eq!(loaded, ["pulse", "blood-pressure"]);
}

#[test]
fn the_complete_example_is_the_built_in_blood_pressure_template() {
    let block = &json_blocks("docs/templates.md")[2];
    let doc = Template::from_json(block.text.trim()).unwrap();
    let (_, built_in) = BUILT_IN_TEMPLATES
        .iter()
        .find(|(name, _)| *name == "blood-pressure")
        .unwrap();
    // The same id: the built-in differs only in its FHIR mapping, which is
    // not part of the id (docs/fhir.md).
    assert_eq!(doc.id(), Template::from_json(built_in).unwrap().id());
}

#[test]
fn the_worked_example_is_what_the_code_computes() {
    let all = blocks(&read("docs/templates.md"));
    let first = all.iter().find(|b| b.info == "json").unwrap();
    let template = Template::from_json(first.text.trim()).unwrap();
    let at = all
        .iter()
        .position(|b| b.info.is_empty() && b.text.starts_with("{\"format\""))
        .expect("the worked example's canonical form");
    assert_eq!(
        all[at].text.trim_end_matches('\n'),
        template.canonical_json()
    );
    assert_eq!(all[at + 1].text.trim(), template.id().to_string());
}

#[test]
fn the_tis_and_the_form_of_templates_md_are_read_by_the_code() {
    let registry = TemplateRegistry::with_built_ins(Some(contract_abi())).unwrap();
    let blood_pressure = registry.latest("blood-pressure").unwrap().id();
    let blocks = json_blocks("docs/templates.md");
    let ti = InitialTransaction::from_json(blocks[3].text.trim()).unwrap();
    assert_eq!(ti.template_id, blood_pressure);
    assert!(InitialTransaction::from_json(blocks[5].text.trim()).is_ok());
    let form = &documents("docs/templates.md", &blocks[4])[0];
    let nurse: Role = "nurse".parse().unwrap();
    assert_eq!(
        &serde_json::to_value(&registry.forms_for(&nurse)[0]).unwrap(),
        form
    );
}

#[test]
fn the_proof_of_proofs_md_verifies() {
    let block = &json_blocks("docs/proofs.md")[0];
    let proof = InclusionProof::from_json(block.text.trim()).unwrap();
    assert_eq!(proof.verify(), Ok(()));
}

/// Every Markdown file of the repository (not the dependencies').
fn markdown_files() -> Vec<String> {
    let mut files = vec!["README.md".to_owned()];
    for dir in [
        "docs",
        "benches",
        "contracts",
        "ehrchain-core",
        "ehrchain-ffi",
        "ehrchain-wasm",
        "examples/web",
        "fuzz",
    ] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".md") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    files
}

/// The shell examples name what exists: `make` targets of the Makefile,
/// scripts, and the packages, examples, benches and tests `cargo` is given.
#[test]
fn every_shell_example_names_what_exists() {
    let makefile = read("Makefile");
    let mut checked = 0;
    for path in markdown_files() {
        for block in blocks(&read(&path)).into_iter().filter(|b| b.info == "sh") {
            let words: Vec<&str> = block.text.split_whitespace().collect();
            for (i, word) in words.iter().enumerate() {
                let next = words.get(i + 1).copied().unwrap_or_default();
                let exists = match *word {
                    "make" if !next.contains('=') => {
                        makefile.lines().any(|l| l.starts_with(&format!("{next}:")))
                    }
                    "-p" => {
                        repo().join(next).join("Cargo.toml").exists() || package_dir(next).is_some()
                    }
                    "--example" | "--bench" | "--test"
                        if next.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                    {
                        target_exists(&words, word, next)
                    }
                    w if w.starts_with("scripts/") || w.starts_with("benches/tools/") => {
                        repo().join(w).exists()
                    }
                    _ => continue,
                };
                assert!(
                    exists,
                    "{path}:{}: `{word} {next}` names nothing",
                    block.line
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 39);
}

/// The folder of the workspace package `name`.
fn package_dir(name: &str) -> Option<PathBuf> {
    let name = name.split('/').next().unwrap_or(name);
    [
        "ehrchain-core",
        "ehrchain-ffi",
        "ehrchain-wasm",
        "contracts",
        "examples",
        "benches",
        "fuzz",
    ]
    .iter()
    .map(|dir| repo().join(dir))
    .find(|dir| {
        std::fs::read_to_string(dir.join("Cargo.toml"))
            .is_ok_and(|t| t.contains(&format!("name = \"{name}\"")))
    })
}

/// `cargo … -p <package> --example|--bench|--test <name>`: a file of that name.
fn target_exists(words: &[&str], flag: &str, name: &str) -> bool {
    let dir = words
        .windows(2)
        .find(|w| w[0] == "-p" || w[0] == "--manifest-path")
        .and_then(|w| {
            package_dir(w[1]).or_else(|| repo().join(w[1]).parent().map(Path::to_path_buf))
        })
        .unwrap_or_else(|| repo().join("examples"));
    let sub = match flag {
        "--example" => "examples",
        "--bench" => "benches",
        _ => "tests",
    };
    [
        dir.join(sub).join(format!("{name}.rs")),
        dir.join(format!("{name}.rs")),
    ]
    .iter()
    .any(|p| p.exists())
        || std::fs::read_to_string(dir.join("Cargo.toml"))
            .is_ok_and(|t| t.contains(&format!("name = \"{name}\"")))
}

/// The `.wasm` size the READMEs quote is the one of docs/performance.md's
/// "(now)" row, the one place it is measured.
#[test]
fn the_readmes_quote_the_wasm_size_of_performance_md() {
    let performance = read("docs/performance.md");
    let now = performance
        .lines()
        .find(|l| l.contains("(now) |"))
        .expect("the size table's (now) row");
    let kib = now.split('|').nth(4).unwrap().trim().to_owned();
    for path in ["README.md", "ehrchain-wasm/README.md"] {
        let text = read(path);
        let quoted: Vec<&str> = text
            .match_indices(" KiB")
            .filter(|(at, _)| text[..*at].ends_with(|c: char| c.is_ascii_digit()))
            .map(|(at, _)| text[..at].rsplit(['`', ' ', '(']).next().unwrap())
            .filter(|n| n.contains('.'))
            .collect();
        assert!(
            quoted.contains(&kib.as_str()),
            "{path} quotes {quoted:?}, not {kib}"
        );
    }
}

/// The fenced blocks of every Markdown file with this info string, with the
/// file they are in.
fn blocks_of(info: &str) -> Vec<(String, Block)> {
    markdown_files()
        .into_iter()
        .flat_map(|path| {
            blocks(&read(&path))
                .into_iter()
                .filter(|b| b.info == info)
                .map(move |b| (path.clone(), b))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn one_line(code: &str) -> String {
    code.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The Solidity of the docs is the registry's: a declared function is in its
/// ABI with those parameter types, and every other line (comments aside) is
/// code of `contracts/src/EhrRegistry.sol`.
#[test]
fn every_solidity_example_is_the_registrys() {
    let abi = contract_abi();
    let source = one_line(&read("contracts/src/EhrRegistry.sol"));
    let mut checked = 0;
    for (path, block) in blocks_of("solidity") {
        for code in block.text.lines().filter_map(|l| l.split("//").next()) {
            let code = code.trim();
            if code.is_empty() {
                continue;
            }
            checked += 1;
            let Some(declaration) = code.strip_prefix("function ") else {
                assert!(
                    source.contains(&one_line(code)),
                    "{path}:{}: `{code}` is not code of EhrRegistry.sol",
                    block.line
                );
                continue;
            };
            let (name, rest) = declaration.split_once('(').unwrap();
            let types: Vec<&str> = rest
                .split_once(')')
                .unwrap()
                .0
                .split(',')
                .filter_map(|p| p.split_whitespace().next())
                .collect();
            let declared = abi.functions.get(name).into_iter().flatten().any(|f| {
                f.inputs
                    .iter()
                    .map(|i| i.ty.as_str())
                    .eq(types.iter().copied())
            });
            assert!(
                declared,
                "{path}:{}: {name}({}) is not a function of the registry",
                block.line,
                types.join(",")
            );
        }
    }
    assert_eq!(checked, 3);
}

/// The TOML of the READMEs names this workspace's crates at their version,
/// with features they have: `name = { version = "…", features = […] }`.
#[test]
fn every_toml_dependency_is_a_crate_version_and_features_of_this_workspace() {
    let workspace = read("Cargo.toml");
    let version = workspace
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap();
    let quoted = |spec: &str, key: &str| -> Vec<String> {
        let Some((_, rest)) = spec.split_once(&format!("{key} = ")) else {
            return Vec::new();
        };
        let end = if rest.starts_with('[') {
            rest.find(']').unwrap()
        } else {
            rest[1..].find('"').unwrap() + 1
        };
        rest[..end]
            .split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let mut checked = 0;
    for (path, block) in blocks_of("toml") {
        for (name, spec) in block.text.lines().filter_map(|l| l.split_once(" = ")) {
            let dir = package_dir(name.trim())
                .unwrap_or_else(|| panic!("{path}:{}: no crate {name} here", block.line));
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
            for wanted in quoted(spec, "version") {
                assert!(
                    version.starts_with(&wanted),
                    "{path}:{}: {name} is at {version}, not {wanted}",
                    block.line
                );
            }
            for feature in quoted(spec, "features") {
                assert!(
                    manifest
                        .lines()
                        .any(|l| l.starts_with(&format!("{feature} = ["))),
                    "{path}:{}: {name} has no feature {feature}",
                    block.line
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 1);
}
