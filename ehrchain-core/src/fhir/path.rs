//! The FHIRPath subset a template's FHIR mapping may use (`docs/fhir.md`,
//! "Paths").
//!
//! ```text
//! path      := step ("." step)*
//! step      := name | "first()" | "resolve()" | "where(" condition ")"
//!            | "exists(" condition ")"            (last step of a condition only)
//! condition := test ("and" test)*
//! test      := path "=" 'text'  |  path            (a path ending in exists(…))
//! name      := [A-Za-z_][A-Za-z0-9_]*
//! ```
//!
//! Evaluation follows FHIRPath on JSON: a step over a collection maps over
//! every item and flattens arrays; a name that is not a key also matches a
//! choice element (`effective` finds `effectiveDateTime` or
//! `effectivePeriod`); `=` holds when the left side is exactly one string equal
//! to the literal; `resolve()` follows a `Reference` inside the resource
//! (`#id`, contained) or the bundle (`fullUrl`, `Type/id`).

use std::fmt;
use std::ops::ControlFlow::{self, Break, Continue};

use super::json::Json;

/// Longest path text a mapping may hold, in bytes.
pub const MAX_PATH_LEN: usize = 512;
/// Deepest nesting of `where(…)` and `exists(…)`.
const MAX_DEPTH: usize = 4;

/// A parsed path of the FHIRPath subset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FhirPath {
    text: String,
    steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Child(String),
    First,
    Resolve,
    Where(Vec<Test>),
    Exists(Vec<Test>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Test {
    Equals(Vec<Step>, String),
    Exists(Vec<Step>),
}

/// Finds the resource a `Reference` points to.
pub(crate) trait Resolve<'a> {
    /// The resource `reference` (a Reference's `reference` text) names.
    fn resolve(&self, reference: &str) -> Option<Json<'a>>;
}

impl FhirPath {
    /// Parses `text`.
    ///
    /// # Errors
    /// A message naming the position of the first problem.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_PATH_LEN {
            return Err(format!(
                "path is {} bytes; at most {MAX_PATH_LEN} are accepted",
                text.len()
            ));
        }
        let mut parser = Parser {
            text,
            pos: 0,
            depth: 0,
        };
        let steps = parser.path()?;
        parser.skip_space();
        if parser.pos != text.len() {
            return Err(parser.error("expected '.' or the end of the path"));
        }
        if steps.iter().any(|s| matches!(s, Step::Exists(_))) {
            return Err("exists(…) may only end a condition inside where(…)".into());
        }
        Ok(Self {
            text: text.to_owned(),
            steps,
        })
    }

    /// The path as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Evaluates the path on `root` (a resource): every item, in order.
    pub(crate) fn eval<'a>(&self, root: Json<'a>, resolver: &dyn Resolve<'a>) -> Vec<Json<'a>> {
        let mut items = Vec::new();
        let _ = walk(&self.steps, root, resolver, &mut |item| {
            items.push(item);
            Continue(())
        });
        items
    }

    /// The first item the path yields on `root`, and how many it yields,
    /// without collecting them.
    pub(crate) fn first_and_count<'a>(
        &self,
        root: Json<'a>,
        resolver: &dyn Resolve<'a>,
    ) -> (Option<Json<'a>>, usize) {
        let (mut first, mut count) = (None, 0);
        let _ = walk(&self.steps, root, resolver, &mut |item| {
            first = first.or(Some(item));
            count += 1;
            Continue(())
        });
        (first, count)
    }

    /// Whether some item the path yields on `root` satisfies `test`
    /// (stopping at the first that does).
    pub(crate) fn any<'a>(
        &self,
        root: Json<'a>,
        resolver: &dyn Resolve<'a>,
        mut test: impl FnMut(Json<'a>) -> bool,
    ) -> bool {
        walk(&self.steps, root, resolver, &mut |item| {
            if test(item) { Break(()) } else { Continue(()) }
        })
        .is_break()
    }
}

impl fmt::Display for FhirPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Hands every item `steps` yield from `item` to `each`, depth first (the
/// order FHIRPath's step-by-step collections have), until `each` breaks.
/// Nothing is collected: a path is evaluated for every field of every
/// resource, and its `where(…)` tests for every component.
fn walk<'a>(
    steps: &[Step],
    item: Json<'a>,
    resolver: &dyn Resolve<'a>,
    each: &mut dyn FnMut(Json<'a>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Some((step, rest)) = steps.split_first() else {
        return each(item);
    };
    match step {
        Step::Child(name) => match item.child(name) {
            Some(items) if items.is_array() => {
                for child in items.items() {
                    walk(rest, child, resolver, each)?;
                }
                Continue(())
            }
            Some(child) if !child.is_null() => walk(rest, child, resolver, each),
            _ => Continue(()),
        },
        // The first item to get here is the collection's first: once the
        // rest of the path has taken it, nothing else may pass.
        Step::First => {
            walk(rest, item, resolver, each)?;
            Break(())
        }
        Step::Resolve => match item
            .get("reference")
            .and_then(Json::as_str)
            .and_then(|r| resolver.resolve(r))
        {
            Some(target) => walk(rest, target, resolver, each),
            None => Continue(()),
        },
        Step::Where(tests) | Step::Exists(tests) => {
            if tests.iter().all(|t| holds(t, item, resolver)) {
                walk(rest, item, resolver, each)
            } else {
                Continue(())
            }
        }
    }
}

fn holds<'a>(test: &Test, item: Json<'a>, resolver: &dyn Resolve<'a>) -> bool {
    match test {
        // Exactly one item, a string equal to the literal.
        Test::Equals(path, literal) => {
            let mut equal = None;
            let _ = walk(path, item, resolver, &mut |v| {
                let one = equal.is_none() && v.as_str() == Some(literal.as_str());
                equal = Some(one);
                if one { Continue(()) } else { Break(()) }
            });
            equal == Some(true)
        }
        Test::Exists(path) => walk(path, item, resolver, &mut |_| Break(())).is_break(),
    }
}

struct Parser<'t> {
    text: &'t str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!("{what} at byte {} of {:?}", self.pos, self.text)
    }

    fn rest(&self) -> &str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn name(&mut self) -> Result<String, String> {
        self.skip_space();
        let rest = self.rest();
        let len = rest
            .char_indices()
            .take_while(|&(i, c)| {
                c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
            })
            .count();
        if len == 0 {
            return Err(self.error("expected an element name"));
        }
        let name = rest.get(..len).unwrap_or("").to_owned();
        self.pos += len;
        Ok(name)
    }

    fn path(&mut self) -> Result<Vec<Step>, String> {
        let mut steps = vec![self.step()?];
        while self.eat(".") {
            if matches!(steps.last(), Some(Step::Exists(_))) {
                return Err(self.error("nothing may follow exists(…)"));
            }
            steps.push(self.step()?);
        }
        Ok(steps)
    }

    fn step(&mut self) -> Result<Step, String> {
        let name = self.name()?;
        if !self.eat("(") {
            return Ok(Step::Child(name));
        }
        match name.as_str() {
            "first" | "resolve" => {
                if !self.eat(")") {
                    return Err(self.error(&format!("{name}() takes no argument")));
                }
                Ok(if name == "first" {
                    Step::First
                } else {
                    Step::Resolve
                })
            }
            "where" | "exists" => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(self.error("where(…) and exists(…) nest too deep"));
                }
                let tests = self.condition()?;
                self.depth -= 1;
                if !self.eat(")") {
                    return Err(self.error("expected ')' or 'and'"));
                }
                Ok(if name == "where" {
                    Step::Where(tests)
                } else {
                    Step::Exists(tests)
                })
            }
            other => Err(self.error(&format!(
                "function {other}() is not in ehrchain's FHIRPath subset (first, resolve, where, exists)"
            ))),
        }
    }

    fn condition(&mut self) -> Result<Vec<Test>, String> {
        let mut tests = vec![self.test()?];
        while self.eat("and ") {
            tests.push(self.test()?);
        }
        Ok(tests)
    }

    fn test(&mut self) -> Result<Test, String> {
        let path = self.path()?;
        if matches!(path.last(), Some(Step::Exists(_))) {
            return Ok(Test::Exists(path));
        }
        if !self.eat("=") {
            return Err(self.error("expected '=' and a quoted text, or a path ending in exists(…)"));
        }
        self.skip_space();
        let Some(body) = self.rest().strip_prefix('\'') else {
            return Err(self.error("expected a text in single quotes"));
        };
        let Some(end) = body.find('\'') else {
            return Err(self.error("the quoted text is not closed"));
        };
        let literal = body.get(..end).unwrap_or("");
        if literal.contains('\\') {
            return Err(self.error("escapes are not supported in quoted text"));
        }
        let literal = literal.to_owned();
        self.pos += end + 2;
        Ok(Test::Equals(path, literal))
    }
}
