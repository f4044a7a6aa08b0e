//! `triage kb import`: drafts a product file from a vendor's troubleshooting
//! page (Markdown, HTML or plain text). Each front end reads its format into
//! the same blocks (`doc`); `build` turns blocks into a draft; `emit` writes
//! the draft as a product file in the shipped format, with a `# TODO`
//! wherever the page is silent, and a review report. Pure: the caller reads
//! the page and writes the file.

mod build;
mod check;
mod doc;
mod emit;
mod fields;
mod html;
mod markdown;
mod text;

use std::collections::HashMap;

pub use build::slug;
pub use doc::collapse as collapse_ws;
pub use emit::q as quote;

/// The largest page read. Documentation pages with inline scripts and
/// images run to a few MB; past this it is not a troubleshooting page.
pub const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;

/// What the page is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageFormat {
    Markdown,
    Html,
    Text,
}

impl PageFormat {
    /// From a file name's extension, else by looking at the text.
    pub fn detect(name: &str, src: &str) -> PageFormat {
        let lower = name.to_lowercase();
        if lower.ends_with(".md") || lower.ends_with(".markdown") {
            return PageFormat::Markdown;
        }
        if lower.ends_with(".html") || lower.ends_with(".htm") {
            return PageFormat::Html;
        }
        let head: String = src
            .trim_start()
            .chars()
            .take(512)
            .collect::<String>()
            .to_lowercase();
        if head.starts_with("<!doctype html") || head.starts_with("<html") || head.contains("<body")
        {
            PageFormat::Html
        } else if src.lines().any(|l| {
            let t = l.trim_start();
            t.starts_with("# ") || t.starts_with("## ") || t.starts_with("### ")
        }) {
            PageFormat::Markdown
        } else {
            PageFormat::Text
        }
    }
}

/// Why a page could not be imported.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("the page is empty")]
    Empty,
    #[error("the page is not text: {0}")]
    Binary(String),
    #[error("the page is {size} bytes; the importer reads pages up to {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error("found no problem sections: the importer makes one entry per heading, and this page has {0}")]
    NoSections(&'static str),
    #[error("'{0}' is not a usable product id: use lower-case letters, digits and '-'")]
    BadProduct(String),
}

/// What to import and how to name it.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub product: String,
    pub name: Option<String>,
    /// Where the page came from, written into the draft's header.
    pub source: String,
    pub format: PageFormat,
}

/// The draft before it is written out.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    pub page_title: Option<String>,
    pub fields: Vec<DraftField>,
    pub entries: Vec<DraftEntry>,
    pub report: Report,
}

/// One problem section of the page.
#[derive(Clone, Debug, Default)]
pub struct DraftEntry {
    /// The part of the id after `product/`.
    pub slug: String,
    pub title: String,
    pub symptoms: Vec<String>,
    pub errors: Vec<String>,
    pub statuses: Vec<u16>,
    pub checks: Vec<DraftCheck>,
    pub related: Vec<String>,
    /// The page lost this section's heading; the title is its first sentence.
    pub rebuilt: bool,
    /// "see X" references, resolved into `related` when X is another entry.
    see: Vec<String>,
}

/// One cause/fix item; `None` where the page does not say.
#[derive(Clone, Debug, Default)]
pub struct DraftCheck {
    pub slug: String,
    pub cause: Option<String>,
    pub verify: Option<String>,
    pub fix: Option<String>,
}

/// One thing the page says support needs.
#[derive(Clone, Debug)]
pub struct DraftField {
    pub id: String,
    pub label: String,
    /// The item as the page wrote it.
    pub source: String,
    pub rule: Option<FieldRule>,
}

/// The validation a field's wording asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldRule {
    /// "starts with app_"
    Prefix(String),
    Url,
    TimeZone,
    /// A description: at least a sentence.
    Prose,
}

/// What an editor should look at before shipping the draft.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Parts of the page that did not become an entry, check or field.
    pub unplaced: Vec<String>,
    /// Everything else worth a look (lost headings, placeholders).
    pub notes: Vec<String>,
}

/// The result: the product file's text and the review report's text.
#[derive(Clone, Debug)]
pub struct Imported {
    pub draft: Draft,
    pub yaml: String,
    pub report: String,
}

/// Checks that raw bytes are a page worth reading and returns its text.
pub fn page_text(bytes: &[u8]) -> Result<&str, ImportError> {
    if bytes.len() > MAX_PAGE_BYTES {
        return Err(ImportError::TooLarge {
            size: bytes.len(),
            max: MAX_PAGE_BYTES,
        });
    }
    if let Some(at) = bytes.iter().take(64 * 1024).position(|&b| b == 0) {
        return Err(ImportError::Binary(format!("a NUL byte at offset {at}")));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ImportError::Binary(format!(
            "not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(text)
}

/// Drafts a product file from a page. `existing` is the current file when
/// the page is imported again: entries and checks whose titles and causes
/// are unchanged keep the ids the editor has (they may have renamed them).
pub fn import(
    src: &str,
    opts: &ImportOptions,
    existing: Option<&str>,
) -> Result<Imported, ImportError> {
    let ok_id = !opts.product.is_empty()
        && opts
            .product
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok_id {
        return Err(ImportError::BadProduct(opts.product.clone()));
    }
    if src.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    let blocks = match opts.format {
        PageFormat::Markdown => markdown::parse(src),
        PageFormat::Html => html::parse(src),
        PageFormat::Text => text::parse(src),
    };
    let headings = blocks
        .iter()
        .filter(|b| matches!(b, doc::Block::Heading { .. }))
        .count();
    let mut draft = Draft::default();
    build::build(&blocks, &mut draft);
    if draft.entries.is_empty() {
        return Err(ImportError::NoSections(match (blocks.is_empty(), headings) {
            (true, _) => "no readable text",
            (false, 0) => "no headings",
            _ => "headings, but none over a problem (only an introduction, navigation or a contact section)",
        }));
    }
    if let Some(old) = existing {
        keep_ids(&mut draft, old);
    }
    let yaml = emit::yaml(&draft, opts);
    let report = emit::report(&draft, opts);
    Ok(Imported {
        draft,
        yaml,
        report,
    })
}

/// Re-import: ids from the current file for entries with the same title and
/// checks with the same cause.
fn keep_ids(draft: &mut Draft, old: &str) {
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(default)]
        entries: Vec<E>,
    }
    #[derive(serde::Deserialize)]
    struct E {
        id: String,
        #[serde(default)]
        title: String,
        #[serde(default)]
        checks: Vec<C>,
    }
    #[derive(serde::Deserialize)]
    struct C {
        id: String,
        #[serde(default)]
        cause: String,
    }
    let Ok(file) = serde_yaml::from_str::<File>(old) else {
        draft
            .report
            .notes
            .push("the current file does not parse, so ids could not be carried over".into());
        return;
    };
    let by_title: HashMap<String, &E> = file
        .entries
        .iter()
        .map(|e| (e.title.trim().to_lowercase(), e))
        .collect();
    let mut renamed: HashMap<String, String> = HashMap::new();
    for e in &mut draft.entries {
        let Some(old) = by_title.get(&e.title.trim().to_lowercase()) else {
            continue;
        };
        let slug = old.id.split_once('/').map_or(old.id.as_str(), |(_, s)| s);
        renamed.insert(e.slug.clone(), slug.to_owned());
        e.slug = slug.to_owned();
        let mut taken: Vec<String> = Vec::new();
        for c in &mut e.checks {
            let cause = c.cause.as_deref().unwrap_or("").trim().to_lowercase();
            let same = old.checks.iter().find(|oc| {
                !cause.is_empty()
                    && oc.cause.trim().to_lowercase() == cause
                    && !taken.contains(&oc.id)
            });
            if let Some(oc) = same {
                c.slug = oc.id.clone();
            }
            taken.push(c.slug.clone());
        }
        // A carried-over id may now clash with a new check's.
        let mut seen = std::collections::HashSet::new();
        for c in &mut e.checks {
            let base = c.slug.clone();
            let mut n = 2;
            while !seen.insert(c.slug.clone()) {
                c.slug = format!("{base}-{n}");
                n += 1;
            }
        }
    }
    for e in &mut draft.entries {
        for r in &mut e.related {
            if let Some(n) = renamed.get(r) {
                *r = n.clone();
            }
        }
    }
}
