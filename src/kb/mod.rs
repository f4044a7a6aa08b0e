//! The knowledge base: products, troubleshooting entries and synonyms as the
//! editors write them in `knowledge/*.yaml`, and the loader that validates
//! them. Every problem is reported (not just the first) as `file:line:col: message`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::{Deserialize, Serialize};

mod cues;
pub use cues::{parse_cues, Cues};

/// Declares a string newtype id that serializes as a bare string. Every id
/// that crosses a module boundary (`EntryId`, `tickets::Place`, ...) is one.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

pub(crate) use string_id;

string_id!(
    /// A troubleshooting entry id, `product/slug`, fixed by `eval/entries.yaml`.
    EntryId
);
string_id!(
    /// A product id such as `c2c`; also the name of its YAML file.
    ProductId
);
string_id!(
    /// A check id, unique within its entry.
    CheckId
);
string_id!(
    /// A ticket field id, unique within its product.
    FieldId
);

impl EntryId {
    /// The product part of `product/slug`.
    pub fn product(&self) -> &str {
        self.0.split_once('/').map_or("", |(p, _)| p)
    }
}

/// Where something was written, for error messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub path: PathBuf,
    pub line: usize,
    pub col: usize,
}

/// One problem found while loading, printed as `path:line:col: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub span: Span,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.span.path.display(),
            self.span.line,
            self.span.col,
            self.message
        )
    }
}

/// Why a knowledge directory could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    /// `error` is not a `source`: the message shows it, once.
    #[error("cannot read knowledge directory {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{} problem(s) in the knowledge base:\n{}", .0.len(), Problems(.0))]
    Invalid(Vec<Problem>),
}

struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// One product file: the product and its entries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductFile {
    product: Product,
    #[serde(default)]
    entries: Vec<Entry>,
}

/// A product the knowledge base covers.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub id: ProductId,
    /// The name shown to customers and staff.
    pub name: String,
    /// Words customers use for the product, including its domains and SDK
    /// names; the matcher detects the product from these.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Where the vendor's own troubleshooting page lives, if known.
    #[serde(default)]
    pub docs: Option<String>,
    /// What support needs in a ticket, asked one at a time on escalation.
    pub ticket_fields: Vec<FieldSpec>,
    /// Where the ticket fields come from, e.g. that triage chose them because
    /// the vendor's page names none.
    #[serde(default)]
    pub ticket_fields_note: Option<String>,
}

/// One ticket field of a product.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub id: FieldId,
    /// Short label used in ticket summaries.
    pub label: String,
    /// The question the bot asks.
    pub question: String,
    /// An example answer, shown with the question.
    pub example: String,
    /// Rules an answer must pass; absent means any non-empty text.
    #[serde(default)]
    pub validate: Option<Validation>,
    #[serde(skip)]
    compiled: Option<Regex>,
}

/// Validation rules of a ticket field. Every rule given must hold.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Validation {
    /// The answer must start with this (after trimming).
    #[serde(default)]
    pub prefix: Option<String>,
    /// A regular expression the answer must match somewhere.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Minimum length in characters.
    #[serde(default)]
    pub min_len: Option<usize>,
    /// A built-in format.
    #[serde(default)]
    pub format: Option<Format>,
    /// The reason shown to the user when the answer fails, e.g.
    /// "an app key starts with `app_`".
    pub reason: String,
}

/// Built-in answer formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// An http(s) URL with a host.
    Url,
    /// A time of day with a timezone (`14:05 CET`, `2026-11-20T14:05Z`, `3pm PST`).
    TimestampTz,
}

impl FieldSpec {
    /// Checks an answer against the field's rules; the error is the reason
    /// to show the user.
    pub fn check(&self, answer: &str) -> Result<(), String> {
        let answer = answer.trim();
        if answer.is_empty() {
            return Err("the answer is empty".into());
        }
        let Some(v) = &self.validate else {
            return Ok(());
        };
        let ok = v
            .prefix
            .as_ref()
            .is_none_or(|p| answer.starts_with(p.as_str()))
            && self.compiled.as_ref().is_none_or(|re| re.is_match(answer))
            && v.min_len.is_none_or(|n| answer.chars().count() >= n)
            && v.format.is_none_or(|f| f.accepts(answer));
        if ok {
            Ok(())
        } else {
            Err(v.reason.clone())
        }
    }
}

impl Format {
    pub fn accepts(self, s: &str) -> bool {
        use std::sync::LazyLock;
        static URL: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"(?i)^https?://[a-z0-9]([a-z0-9.\-]*[a-z0-9])?(:\d+)?(/\S*)?$")
                .expect("static regex")
        });
        static TIME: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"(?i)\b\d{1,2}(:\d{2}(:\d{2})?\s*(am|pm)?|\s*(am|pm))")
                .expect("static regex")
        });
        static ZONE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(
                r"(?x)
                \d(Z)\b                                   # 14:05Z
                | [+\-]\d{2}:?\d{2}\b                     # +02:00 / -0500
                | \b(UTC|GMT|UT)([+\-]\d{1,2}(:?\d{2})?)?\b  # UTC, GMT+2
                | \b[A-Z]{2,4}T\b                         # CET, PST, AEST, BST...
                | \b(CEST|AEDT|AEST|ACST|NZDT|NZST|IST|MSK|WIB)\b
                | \b[A-Z][a-z]+/[A-Z][A-Za-z_]+\b         # Europe/Paris
                ",
            )
            .expect("static regex")
        });
        match self {
            Format::Url => URL.is_match(s.trim()),
            Format::TimestampTz => TIME.is_match(s) && ZONE.is_match(s),
        }
    }
}

/// A troubleshooting entry: one symptom and its ordered checklist.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: EntryId,
    pub title: String,
    /// How customers describe what they see, in their own words.
    pub symptoms: Vec<String>,
    /// Exact error strings the vendor's page ties to this entry.
    #[serde(default)]
    pub errors: Vec<String>,
    /// HTTP statuses the vendor's page ties to this entry.
    #[serde(default)]
    pub statuses: Vec<u16>,
    /// True when the page gives no self-service check: the entry goes
    /// straight to escalation.
    #[serde(default)]
    pub escalate_only: bool,
    /// A short note shown with the entry, e.g. why there is no checklist.
    #[serde(default)]
    pub note: Option<String>,
    /// The checklist, most likely cause first.
    #[serde(default)]
    pub checks: Vec<Check>,
    #[serde(default)]
    pub related: Vec<EntryId>,
    /// The vendor guide the page points to for the full context.
    #[serde(default)]
    pub guide: Option<Guide>,
    #[serde(skip)]
    pub span: Span,
}

/// One step of a checklist.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub id: CheckId,
    /// The likely cause this check rules out.
    pub cause: String,
    /// How to verify it.
    pub verify: String,
    /// What to do when it is the cause.
    pub fix: String,
    /// Words a user might write that point at this check in particular
    /// ("corporate proxy", "CSP").
    #[serde(default)]
    pub signals: Vec<String>,
}

/// A vendor guide an entry points to.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Guide {
    pub title: String,
    #[serde(default)]
    pub url: Option<String>,
}

/// `knowledge/synonyms.yaml`: words that mean the same to a customer.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Synonyms {
    /// Each group lists words or phrases that mean the same thing; the first
    /// is the canonical form.
    #[serde(default)]
    pub groups: Vec<Vec<String>>,
    /// Words that carry no meaning for matching ("the", "hey", "und",
    /// "le"): function words and chat filler in every language customers
    /// write in. A word may not be both a stopword and in a group.
    #[serde(default)]
    pub stopwords: Vec<String>,
    /// Words that say something is wrong ("error", "never", "stuck"). A
    /// question with none of them is more often a how-to or a feature
    /// request, so the matcher asks for stronger evidence before answering.
    #[serde(default)]
    pub trouble: Vec<String>,
    /// Words the stemmer must keep whole because their stem would collide
    /// with another word's ("customer" vs "custom", "business" vs "busy").
    #[serde(default)]
    pub protect: Vec<String>,
    /// Words that say little about which problem it is: narrative ("this
    /// morning", "again", "suddenly") and bare verdicts ("broken", "bug",
    /// "weird"). They still count, at a fraction of their weight, so a
    /// rare one cannot outweigh the words that describe the symptom.
    #[serde(default)]
    pub generic: Vec<String>,
}

/// `knowledge/out-of-scope.yaml`: what customers ask that this knowledge
/// base deliberately does not answer (logging in, billing, styling the
/// widget, the site's own code...). A question that one of these topics
/// explains better than any entry gets `none`, so it goes to a human
/// instead of getting a wrong checklist.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutOfScope {
    #[serde(default)]
    pub topics: Vec<Topic>,
}

/// One out-of-scope topic and the ways customers ask about it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    pub id: String,
    pub title: String,
    pub phrasings: Vec<String>,
}

/// A validated knowledge base.
#[derive(Clone, Debug, Default)]
pub struct KnowledgeBase {
    products: Vec<Product>,
    entries: Vec<Entry>,
    synonyms: Synonyms,
    out_of_scope: Vec<Topic>,
    cues: Cues,
    /// The matcher's fitted parameters (`matcher.json` beside the YAML
    /// files), when the directory has its own.
    fitted: Option<String>,
    by_id: HashMap<EntryId, usize>,
}

impl KnowledgeBase {
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// The question-type cues (`cues.yaml`).
    pub fn cues(&self) -> &Cues {
        &self.cues
    }

    /// The matcher's fitted parameters as JSON, when the knowledge
    /// directory has its own `matcher.json`.
    pub fn fitted(&self) -> Option<&str> {
        self.fitted.as_deref()
    }

    /// Replaces the fitted parameters (for `triage fit` and tests).
    pub fn set_fitted(&mut self, json: Option<String>) {
        self.fitted = json;
    }

    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id.as_str() == id)
    }

    /// All entries, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.by_id.get(id).map(|&i| &self.entries[i])
    }

    pub fn synonyms(&self) -> &Synonyms {
        &self.synonyms
    }

    /// The topics this knowledge base does not answer.
    pub fn out_of_scope(&self) -> &[Topic] {
        &self.out_of_scope
    }

    /// Validates a whole knowledge base given as `(path, source)` pairs.
    /// Pure: `load_dir` does the I/O. Files named `synonyms.yaml` hold
    /// synonyms, files named `out-of-scope.yaml` hold out-of-scope topics;
    /// every other file holds one product.
    pub fn from_sources(files: &[(PathBuf, String)]) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut kb = KnowledgeBase::default();
        let mut product_spans: HashMap<ProductId, Span> = HashMap::new();
        let mut first_seen: HashMap<EntryId, Span> = HashMap::new();
        let mut wrong_file: Vec<(EntryId, ProductId)> = Vec::new();

        for (path, src) in files {
            if is_synonyms_file(path) {
                match parse_synonyms(src, path) {
                    Ok(s) => {
                        kb.synonyms.groups.extend(s.groups);
                        kb.synonyms.stopwords.extend(s.stopwords);
                        kb.synonyms.trouble.extend(s.trouble);
                        kb.synonyms.protect.extend(s.protect);
                        kb.synonyms.generic.extend(s.generic);
                    }
                    Err(mut p) => problems.append(&mut p),
                }
                continue;
            }
            if cues::is_cues_file(path) {
                match parse_cues(src, path) {
                    Ok(c) => cues::merge(&mut kb.cues, c),
                    Err(mut p) => problems.append(&mut p),
                }
                continue;
            }
            if is_out_of_scope_file(path) {
                match parse_out_of_scope(src, path) {
                    Ok(o) => {
                        for t in o.topics {
                            if kb.out_of_scope.iter().any(|x| x.id == t.id) {
                                problems.push(Problem {
                                    span: locate(src, path, "id", &t.id, 0),
                                    message: format!("duplicate out-of-scope topic id '{}'", t.id),
                                });
                            } else {
                                kb.out_of_scope.push(t);
                            }
                        }
                    }
                    Err(mut p) => problems.append(&mut p),
                }
                continue;
            }
            let file = match parse_file(src, path) {
                Ok((f, mut p)) => {
                    problems.append(&mut p);
                    f
                }
                Err(mut p) => {
                    problems.append(&mut p);
                    continue;
                }
            };
            let pspan = locate(src, path, "id", file.product.id.as_str(), 0);
            if let Some(prev) = product_spans.get(&file.product.id) {
                problems.push(Problem {
                    span: pspan.clone(),
                    message: format!(
                        "duplicate product id '{}' (first defined at {}:{})",
                        file.product.id,
                        prev.path.display(),
                        prev.line
                    ),
                });
            }
            product_spans.insert(file.product.id.clone(), pspan);
            for entry in &file.entries {
                if entry.id.product() != file.product.id.as_str() && !entry.id.product().is_empty()
                {
                    wrong_file.push((entry.id.clone(), file.product.id.clone()));
                }
            }
            kb.products.push(file.product);
            for entry in file.entries {
                if let Some(prev) = first_seen.get(&entry.id) {
                    problems.push(Problem {
                        span: entry.span.clone(),
                        message: format!(
                            "duplicate entry id '{}' (first defined at {}:{})",
                            entry.id,
                            prev.path.display(),
                            prev.line
                        ),
                    });
                    continue;
                }
                first_seen.insert(entry.id.clone(), entry.span.clone());
                kb.entries.push(entry);
            }
        }

        // Cross-file checks: entry products and related ids.
        let known: HashSet<&str> = kb.products.iter().map(|p| p.id.as_str()).collect();
        for e in &kb.entries {
            let prod = e.id.product();
            if !prod.is_empty() && !known.contains(prod) {
                problems.push(Problem {
                    span: e.span.clone(),
                    message: format!("entry '{}' names unknown product '{prod}'", e.id),
                });
            } else if let Some((_, file_product)) = wrong_file.iter().find(|(id, _)| *id == e.id) {
                problems.push(Problem {
                    span: e.span.clone(),
                    message: format!(
                        "entry '{}' belongs to product '{prod}' but is in the file of '{file_product}'",
                        e.id
                    ),
                });
            }
            for r in &e.related {
                if !first_seen.contains_key(r) {
                    let src = files
                        .iter()
                        .find(|(p, _)| *p == e.span.path)
                        .map(|(_, s)| s.as_str())
                        .unwrap_or("");
                    let span = locate_after(src, &e.span, r.as_str());
                    problems.push(Problem {
                        span,
                        message: format!(
                            "entry '{}' is related to '{r}', which does not exist",
                            e.id
                        ),
                    });
                }
            }
        }

        if problems.is_empty() {
            kb.by_id = kb
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.id.clone(), i))
                .collect();
            Ok(kb)
        } else {
            problems.sort_by(|a, b| {
                (&a.span.path, a.span.line, a.span.col).cmp(&(
                    &b.span.path,
                    b.span.line,
                    b.span.col,
                ))
            });
            Err(problems)
        }
    }
}

fn is_synonyms_file(path: &Path) -> bool {
    path.file_stem().and_then(|s| s.to_str()) == Some("synonyms")
}

/// How many times `key` was counted before this call (0 the first time):
/// which of the lines holding the same value a problem is on.
fn occurrence<'a>(counts: &mut HashMap<&'a str, usize>, key: &'a str) -> usize {
    let n = counts.entry(key).or_default();
    *n += 1;
    *n - 1
}

fn is_out_of_scope_file(path: &Path) -> bool {
    path.file_stem().and_then(|s| s.to_str()) == Some("out-of-scope")
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
fn parse_file(src: &str, origin: &Path) -> Result<(ParsedFile, Vec<Problem>), Vec<Problem>> {
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

/// Reads every `*.yaml`/`*.yml` file of `dir` (sorted by name) and validates
/// them together.
pub fn load_dir(dir: &Path) -> Result<KnowledgeBase, KbError> {
    let io = |error| KbError::Io {
        path: dir.to_owned(),
        error,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for p in paths {
        let src = std::fs::read_to_string(&p).map_err(|error| KbError::Io {
            path: p.clone(),
            error,
        })?;
        files.push((p, src));
    }
    if files.is_empty() {
        return Err(KbError::Invalid(vec![Problem {
            span: Span {
                path: dir.to_owned(),
                line: 1,
                col: 1,
            },
            message: "no knowledge files (*.yaml) in this directory".into(),
        }]));
    }
    let mut kb = KnowledgeBase::from_sources(&files).map_err(KbError::Invalid)?;
    let fitted = dir.join(FITTED_FILE);
    if fitted.exists() {
        let json = std::fs::read_to_string(&fitted).map_err(|error| KbError::Io {
            path: fitted.clone(),
            error,
        })?;
        kb.fitted = Some(json);
    }
    Ok(kb)
}

/// The matcher's fitted parameters in a knowledge directory, written by
/// `triage fit`.
pub const FITTED_FILE: &str = "matcher.json";

fn yaml_problem(e: &serde_yaml::Error, origin: &Path) -> Problem {
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
fn locate(src: &str, path: &Path, key: &str, value: &str, nth: usize) -> Span {
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
fn locate_after(src: &str, from: &Span, needle: &str) -> Span {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn field(validate: Validation) -> FieldSpec {
        let compiled = validate.pattern.as_deref().map(|p| Regex::new(p).unwrap());
        FieldSpec {
            id: "f".into(),
            label: "F".into(),
            question: "?".into(),
            example: "x".into(),
            validate: Some(validate),
            compiled,
        }
    }

    #[test]
    fn timestamp_needs_a_zone() {
        let f = field(Validation {
            format: Some(Format::TimestampTz),
            reason: "please include a timezone, e.g. 14:05 CET".into(),
            ..Default::default()
        });
        assert!(f.check("2026-11-20 14:05 CET").is_ok());
        assert!(f.check("yesterday 3pm PST").is_ok());
        assert!(f.check("2026-11-20T14:05:00Z").is_ok());
        assert!(f.check("14:05 UTC+2").is_ok());
        assert!(f.check("at 09:30 Europe/Paris").is_ok());
        assert!(f.check("14:05 +01:00").is_ok());
        assert!(f.check("yesterday afternoon").is_err());
        assert!(f.check("14:05").is_err());
        assert!(f.check("around 2pm").is_err());
    }

    #[test]
    fn prefix_and_url_rules() {
        let key = field(Validation {
            prefix: Some("app_".into()),
            min_len: Some(6),
            reason: "an app key starts with `app_`".into(),
            ..Default::default()
        });
        assert!(key.check("app_12ab34").is_ok());
        assert_eq!(
            key.check("12ab34").unwrap_err(),
            "an app key starts with `app_`"
        );
        assert!(key.check("   ").is_err());
        let url = field(Validation {
            format: Some(Format::Url),
            reason: "a full URL, e.g. https://example.com/pricing".into(),
            ..Default::default()
        });
        assert!(url.check("https://example.com/pricing?x=1").is_ok());
        assert!(url.check("example.com").is_err());
    }
}
