//! Errors about a C argument (`EHR_NULL_ARGUMENT`, `EHR_ZERO_LENGTH`,
//! `EHR_INVALID_UTF8`) name it: every name the source passes to the pointer
//! helpers of `src/ptr.rs` and `src/shapes.rs` is a parameter of the function
//! passing it (or a field of one, such as `submission->calldata`). A misspelt
//! or stale name would send hospital IT staff looking for an argument that
//! does not exist.
#![allow(missing_docs, clippy::expect_used, clippy::panic)]

use std::path::Path;

/// The calls whose string arguments name the C parameters they check.
const HELPERS: &[&str] = &[
    "ptr::handle(",
    "ptr::handle_mut(",
    "ptr::handles(",
    "ptr::text(",
    "ptr::opt_text(",
    "ptr::bytes(",
    "ptr::bytes_or_empty(",
    "ptr::array::<",
    "ptr::receipt(",
    "Out::new(",
    "OutArray::<",
    "OutSlots::new(",
    "guard_on(",
    "guard_on_mut(",
    "text_of(",
    "bytes_of(",
    "word_of(",
    "value_of(",
    "handle_of(",
    "made(",
    "parsed(",
];

/// The text inside the parentheses that open at `open` (the index of `(`).
fn inside(text: &str, open: usize) -> &str {
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses after byte {open}");
}

/// The top-level, comma-separated items of an argument or parameter list
/// (the `>` of a closure type's `->` closes nothing).
fn items(list: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in list.char_indices() {
        match c {
            '(' | '<' | '[' | '{' => depth += 1,
            '>' if list[..i].ends_with('-') => {}
            ')' | '>' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(list[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(list[start..].trim());
    out.retain(|s| !s.is_empty());
    out
}

/// Every function of `source`: its name, parameter names and body.
fn functions(source: &str) -> Vec<(&str, Vec<&str>, &str)> {
    let starts: Vec<usize> = source
        .match_indices("fn ")
        .map(|(i, _)| i)
        .filter(|&i| {
            let before = source[..i].chars().next_back();
            let after = source[i + 3..].chars().next();
            before.is_none_or(char::is_whitespace)
                && after.is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        })
        .collect();
    let mut out = Vec::new();
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(source.len());
        let open = start + source[start..].find('(').expect("a parameter list");
        let name = source[start + 3..open]
            .split('<')
            .next()
            .unwrap_or_default();
        // A tuple pattern (`(a, b): Args`) binds each of its names.
        let params = items(inside(source, open))
            .into_iter()
            .filter_map(|p| p.split(':').next())
            .flat_map(|p| {
                p.trim()
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .split(',')
            })
            .map(|p| p.trim().trim_start_matches("mut "))
            .collect();
        out.push((name.trim(), params, &source[open..end]));
    }
    out
}

/// The `.rs` files under `dir`, in its subfolders too.
fn sources(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[test]
fn argument_names_in_errors_are_parameters() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for path in sources(&src) {
        // The helpers themselves, and the calls into the host's callbacks
        // (which hand the helpers memory of ehrchain's own, never NULL).
        if path
            .file_name()
            .is_some_and(|f| f == "ptr.rs" || f == "shapes.rs" || f == "callbacks.rs")
        {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("a source file");
        for (function, params, body) in functions(&source) {
            for helper in HELPERS {
                for (at, _) in body.match_indices(helper) {
                    let open = at + body[at..].find('(').expect("a call");
                    let args = items(inside(body, open));
                    let names = args
                        .iter()
                        .filter_map(|a| a.strip_prefix('"').and_then(|a| a.strip_suffix('"')));
                    for name in names {
                        checked += 1;
                        let root = name.split(['-', '[', '.']).next().unwrap_or_default();
                        if !params.contains(&root) {
                            wrong.push(format!(
                                "{}: {function} names `{name}`, not one of its parameters {params:?}",
                                path.display()
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} named arguments were found");
    assert!(wrong.is_empty(), "{wrong:#?}");
}
