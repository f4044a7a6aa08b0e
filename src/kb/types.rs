//! The shapes editors write in a product file, `synonyms.yaml` and
//! `out-of-scope.yaml`, and the problems loading them reports.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{CheckId, EntryId, FieldSpec, ProductId};

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
pub(super) struct ProductFile {
    pub(super) product: Product,
    #[serde(default)]
    pub(super) entries: Vec<Entry>,
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
