//! Pure parsers of one knowledge file each (product, synonyms,
//! out-of-scope), and locating a value's `line:col` in the source text.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use regex::Regex;

use super::types::ProductFile;
use super::{Entry, Product};
use super::{OutOfScope, Problem, Span, Synonyms};

/// How many times `key` was counted before this call (0 the first time):
/// which of the lines holding the same value a problem is on.
pub(super) fn occurrence<'a>(counts: &mut HashMap<&'a str, usize>, key: &'a str) -> usize {
    let n = counts.entry(key).or_default();
    *n += 1;
    *n - 1
}

/// Parses `out-of-scope.yaml`: every topic needs an id, a title and at
/// least one non-empty phrasing; ids are unique within the file.
pub fn parse_out_of_scope(src: &str, origin: &Path) -> Result<OutOfScope, Vec<Problem>> {
    let o: OutOfScope = serde_yaml::from_str(src).map_err(|e| vec![yaml_problem(&e, origin)])?;
    let mut problems = Vec::new();
    // How many topics so far carry each id: the n-th of them is at the n-th
    // `id:` line with it, and any after the first is a duplicate.
    let mut count: HashMap<&str, usize> = HashMap::new();
    for t in &o.topics {
        let nth = occurrence(&mut count, &t.id);
        let span = || locate(src, origin, "id", &t.id, nth);
        if t.id.trim().is_empty() {
            problems.push(Problem {
                span: span(),
                message: "an out-of-scope topic has an empty id".into(),
            });
        } else if nth > 0 {
            problems.push(Problem {
                span: span(),
                message: format!("duplicate out-of-scope topic id '{}'", t.id),
            });
        }
        if t.title.trim().is_empty() {
            problems.push(Problem {
                span: span(),
                message: format!("out-of-scope topic '{}' has an empty title", t.id),
            });
        }
        if t.phrasings.is_empty() {
            problems.push(Problem {
                span: span(),
                message: format!("out-of-scope topic '{}' needs at least one phrasing", t.id),
            });
        }
        if t.phrasings.iter().any(|p| p.trim().is_empty()) {
            problems.push(Problem {
                span: span(),
                message: format!("out-of-scope topic '{}' has an empty phrasing", t.id),
            });
        }
    }
    if problems.is_empty() {
        Ok(o)
    } else {
        Err(problems)
    }
}

/// A parsed, individually validated product file.
#[derive(Debug)]
pub struct ParsedFile {
    pub product: Product,
    pub entries: Vec<Entry>,
}

/// Parses and validates one product file on its own (cross-file checks such
/// as related ids happen in [`KnowledgeBase::from_sources`]). `origin` is
/// only used in messages.
pub fn parse_str(src: &str, origin: &Path) -> Result<ParsedFile, Vec<Problem>> {
    let (file, problems) = parse_file(src, origin)?;
    if problems.is_empty() {
        Ok(file)
    } else {
        Err(problems)
    }
}

/// Parses a product file and returns it with its problems, so that the
/// caller can go on to report cross-file problems too.
pub(super) fn parse_file(
    src: &str,
    origin: &Path,
) -> Result<(ParsedFile, Vec<Problem>), Vec<Problem>> {
    let file: ProductFile =
        serde_yaml::from_str(src).map_err(|e| vec![yaml_problem(&e, origin)])?;
    let ProductFile {
        mut product,
        mut entries,
    } = file;
    let mut problems = Vec::new();
    let at = |key: &str, value: &str, nth: usize| locate(src, origin, key, value, nth);

    if let Some(stem) = origin.file_stem().and_then(|s| s.to_str()) {
        if stem != product.id.as_str() {
            problems.push(Problem {
                span: at("id", product.id.as_str(), 0),
                message: format!(
                    "product id '{}' does not match the file name '{stem}.yaml'",
                    product.id
                ),
            });
        }
    }
    if product.name.trim().is_empty() {
        problems.push(Problem {
            span: at("name", "", 0),
            message: format!("product '{}' has an empty name", product.id),
        });
    }
    if product.ticket_fields.is_empty() {
        problems.push(Problem {
            span: at("ticket_fields", "", 0),
            message: format!("product '{}' has no ticket fields", product.id),
        });
    }
    let mut field_ids = HashSet::new();
    for f in &mut product.ticket_fields {
        if !field_ids.insert(f.id.clone()) {
            problems.push(Problem {
                span: at("id", f.id.as_str(), 1),
                message: format!("duplicate ticket field id '{}'", f.id),
            });
        }
        if let Some(pat) = f.validate.as_ref().and_then(|v| v.pattern.as_ref()) {
            match Regex::new(pat) {
                Ok(re) => f.compiled = Some(re),
                Err(e) => problems.push(Problem {
                    span: locate_after(src, &at("id", f.id.as_str(), 0), "pattern:"),
                    message: format!(
                        "ticket field '{}' has a pattern that does not compile: {}",
                        f.id,
                        first_line(&e.to_string())
                    ),
                }),
            }
        }
    }

    let mut nth: BTreeMap<String, usize> = BTreeMap::new();
    for e in &mut entries {
        let n = nth.entry(e.id.as_str().to_owned()).or_default();
        e.span = at("id", e.id.as_str(), *n);
        *n += 1;
        if e.title.trim().is_empty() {
            problems.push(Problem {
                span: e.span.clone(),
                message: format!("entry '{}' has an empty title", e.id),
            });
        }
        // Whether the prefix names a known product is a cross-file check.
        if e.id.product().is_empty() {
            problems.push(Problem {
                span: e.span.clone(),
                message: format!("entry id '{}' must look like 'product/slug'", e.id),
            });
        }
        if e.checks.is_empty() && !e.escalate_only {
            problems.push(Problem {
                span: e.span.clone(),
                message: format!(
                    "entry '{}' has no checks; add checks or mark it `escalate_only: true`",
                    e.id
                ),
            });
        }
        if e.symptoms.is_empty() {
            problems.push(Problem {
                span: e.span.clone(),
                message: format!("entry '{}' has no symptoms", e.id),
            });
        }
        let mut check_ids = HashSet::new();
        for c in &e.checks {
            if !check_ids.insert(c.id.clone()) {
                problems.push(Problem {
                    span: locate_after(src, &e.span, c.id.as_str()),
                    message: format!("entry '{}' has a duplicate check id '{}'", e.id, c.id),
                });
            }
        }
    }
    Ok((ParsedFile { product, entries }, problems))
}

/// Parses `synonyms.yaml`.
pub fn parse_synonyms(src: &str, origin: &Path) -> Result<Synonyms, Vec<Problem>> {
    let syn: Synonyms = serde_yaml::from_str(src).map_err(|e| vec![yaml_problem(&e, origin)])?;
    let mut problems = Vec::new();
    // Words are compared case-insensitively, as the matcher sees them.
    let key = |w: &str| {
        w.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let mut group_of: HashMap<String, usize> = HashMap::new();
    // Groups that start with the same word: the n-th of them is the n-th
    // line that starts with it.
    let mut same_first: HashMap<&str, usize> = HashMap::new();
    for (i, g) in syn.groups.iter().enumerate() {
        let first = g.first().map(String::as_str).unwrap_or("");
        let nth = occurrence(&mut same_first, first);
        // Locating a line scans the file: only done for a group with a
        // problem, so loading a clean file stays linear.
        let span = || locate(src, origin, "", first, nth);
        if g.len() < 2 {
            problems.push(Problem {
                span: span(),
                message: format!("synonym group {} needs at least two words", i + 1),
            });
        }
        if g.iter().any(|w| w.trim().is_empty()) {
            problems.push(Problem {
                span: span(),
                message: format!("synonym group {} has an empty word", i + 1),
            });
        }
        for w in g.iter().filter(|w| !w.trim().is_empty()) {
            match group_of.get(&key(w)) {
                Some(&j) if j == i => problems.push(Problem {
                    span: locate_after(src, &span(), w),
                    message: format!("synonym group {} lists '{w}' twice", i + 1),
                }),
                Some(&j) => problems.push(Problem {
                    span: locate_after(src, &span(), w),
                    message: format!(
                        "'{w}' is in synonym groups {} and {}; a word can mean only one thing",
                        j + 1,
                        i + 1
                    ),
                }),
                None => {
                    group_of.insert(key(w), i);
                }
            }
        }
    }
    let stop_span = locate(src, origin, "stopwords", "", 0);
    for w in &syn.stopwords {
        if w.trim().is_empty() || w.split_whitespace().count() > 1 {
            problems.push(Problem {
                span: locate_after(src, &stop_span, w),
                message: format!("stopword '{w}' must be a single word"),
            });
        } else if let Some(&g) = group_of.get(&key(w)) {
            problems.push(Problem {
                span: locate_after(src, &stop_span, w),
                message: format!(
                    "'{w}' is a stopword and in synonym group {}; pick one",
                    g + 1
                ),
            });
        }
    }
    let protect_span = locate(src, origin, "protect", "", 0);
    for w in &syn.protect {
        if w.trim().is_empty() || w.split_whitespace().count() > 1 {
            problems.push(Problem {
                span: locate_after(src, &protect_span, w),
                message: format!("protected word '{w}' must be a single word"),
            });
        }
    }
    let stop_keys: HashSet<String> = syn.stopwords.iter().map(|s| key(s)).collect();
    let trouble_span = locate(src, origin, "trouble", "", 0);
    for w in &syn.trouble {
        if w.trim().is_empty() {
            problems.push(Problem {
                span: trouble_span.clone(),
                message: "a trouble word is empty".into(),
            });
        } else if stop_keys.contains(&key(w)) {
            problems.push(Problem {
                span: locate_after(src, &trouble_span, w),
                message: format!("'{w}' is both a stopword and a trouble word; pick one"),
            });
        }
    }
    let generic_span = locate(src, origin, "generic", "", 0);
    for w in &syn.generic {
        if w.trim().is_empty() || w.split_whitespace().count() > 1 {
            problems.push(Problem {
                span: locate_after(src, &generic_span, w),
                message: format!("generic word '{w}' must be a single word"),
            });
        } else if stop_keys.contains(&key(w)) {
            problems.push(Problem {
                span: locate_after(src, &generic_span, w),
                message: format!(
                    "'{w}' is both a stopword and a generic word; a stopword already counts for nothing"
                ),
            });
        }
    }
    if problems.is_empty() {
        Ok(syn)
    } else {
        Err(problems)
    }
}

pub(super) fn yaml_problem(e: &serde_yaml::Error, origin: &Path) -> Problem {
    let (line, col) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
    // serde_yaml appends " at line X column Y" to its message; we print the
    // location ourselves.
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
    Problem {
        span: Span {
            path: origin.to_owned(),
            line,
            col,
        },
        message: msg,
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_owned()
}

/// Finds the `nth` line that holds `key: value` (or `- value` when `key` is
/// empty) and returns its position, 1-based. serde_yaml does not expose
/// spans of deserialized values, so semantic errors are located by text.
pub(super) fn locate(src: &str, path: &Path, key: &str, value: &str, nth: usize) -> Span {
    let mut seen = 0;
    for (i, line) in src.lines().enumerate() {
        let t = line.trim_start().trim_start_matches("- ").trim_start();
        let rest = if key.is_empty() {
            Some(t.trim_start_matches('['))
        } else {
            t.strip_prefix(key).and_then(|r| r.strip_prefix(':'))
        };
        let Some(rest) = rest else { continue };
        let v = rest.trim().trim_matches(|c| c == '"' || c == '\'');
        if value.is_empty() || v == value || (key.is_empty() && v.starts_with(value)) {
            if seen == nth {
                let col = line
                    .find(if value.is_empty() { key } else { value })
                    .unwrap_or(0)
                    + 1;
                return Span {
                    path: path.to_owned(),
                    line: i + 1,
                    col,
                };
            }
            seen += 1;
        }
    }
    Span {
        path: path.to_owned(),
        line: 1,
        col: 1,
    }
}

/// Finds the first line at or after `from` that contains `needle`.
pub(super) fn locate_after(src: &str, from: &Span, needle: &str) -> Span {
    for (i, line) in src.lines().enumerate().skip(from.line.saturating_sub(1)) {
        if let Some(c) = line.find(needle) {
            return Span {
                path: from.path.clone(),
                line: i + 1,
                col: c + 1,
            };
        }
    }
    from.clone()
}
