//! From blocks to a draft: which sections are problems, which items are
//! checks, and what in them is a cause, a way to verify, a fix, an error
//! string, a status or a ticket field. Only the page's own words are used;
//! what the page does not say stays empty for `emit` to mark `# TODO`.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::check::{check_from, sentences};
use super::doc::{Block, Inline};
use super::fields::fields;
use super::{Draft, DraftCheck, DraftEntry};

/// Headings of page furniture, not problems.
static FURNITURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(documentation index|on this page|table of contents|contents|overview|introduction|before you start|prerequisites|troubleshooting( and faq| guide)?|faq|frequently asked questions|feedback|related( articles| pages)?)$")
        .expect("static regex")
});
/// Headings after which the rest of the page is navigation.
static TAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(what[’']?s next|next steps|see also|further reading|related (articles|pages|guides)|learn more)\b")
        .expect("static regex")
});
static CONTACT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(contact|support ticket|getting support|get support|still stuck|open a ticket|reach (out to )?(us|support)|email us)\b")
        .expect("static regex")
});
static INTRO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(this (page|article|guide|section) (covers|lists|explains|describes)|organi[sz]ed by)\b")
        .expect("static regex")
});
static SYMPTOM_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(not|no|never|nothing|doesn[’']?t|don[’']?t|isn[’']?t|aren[’']?t|won[’']?t|can[’']?t|cannot|fails?|failing|missing|broken|stops?|error)\b")
        .expect("static regex")
});
/// Quoted text: “…”, "…", ‘…’.
static QUOTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"[“"‘]([^“”"‘’]{3,120})[”"’]\s*(\w+)?"#).expect("static regex"));
/// Words after a quoted span that say it is something the product shows.
const SHOWN: &[&str] = &[
    "message",
    "error",
    "errors",
    "tooltip",
    "banner",
    "warning",
    "text",
    "notice",
    "alert",
    "prompt",
    "screen",
    "toast",
    "dialog",
    "exception",
    "popup",
    "status",
];
/// Words that make a heading read as a message the product prints.
static MESSAGE_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\bcannot\b|\bcan only be\b|\bnot found\b|\bnot initiali[sz]ed\b|\bnot allowed\b|\bdenied\b|\brefused\b|\binvalid\b|\bexpired\b|\bunable to\b|^error\b|exception\b)").expect("static regex")
});
static NARRATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(i|my|we|our|why|how|what|when|doesn[’']?t|does not|isn[’']?t|aren[’']?t|don[’']?t|nothing happens|but)\b")
        .expect("static regex")
});
static STATUS_LEAD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:HTTP\s*)?([1-5]\d\d)\b").expect("static regex"));
static SEE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bsee\s+(?:the\s+)?[“\x22]?([^.;“”\x22]{3,80}?)[”\x22]?\s*(?:below|above)?\s*[.;]?$",
    )
    .expect("static regex")
});

/// Turns the page's blocks into a draft.
pub fn build(blocks: &[Block], draft: &mut Draft) {
    let sections = split(blocks);
    let mut tail = false;
    for (i, s) in sections.iter().enumerate() {
        let Some(h) = &s.heading else {
            note_unplaced(draft, "text before the first heading", &s.body);
            continue;
        };
        let title = clean_title(h);
        if tail || TAIL.is_match(&title) {
            tail = true;
            draft
                .report
                .unplaced
                .push(format!("navigation: \"{title}\""));
            continue;
        }
        if s.level == 1 && draft.page_title.is_none() {
            draft.page_title = Some(title.clone());
            note_unplaced(draft, &format!("the page title \"{title}\""), &s.body);
            continue;
        }
        if FURNITURE.is_match(&title) || is_intro(s) {
            note_unplaced(draft, &format!("introduction \"{title}\""), &s.body);
            continue;
        }
        let items: Vec<&Inline> = s
            .body
            .iter()
            .filter_map(|b| match b {
                Block::Item { depth: 0, text } => Some(text),
                _ => None,
            })
            .collect();
        let body_text = s.body.iter().any(|b| match b {
            Block::Para(t) => CONTACT.is_match(&t.text),
            _ => false,
        });
        if (CONTACT.is_match(&title) || body_text) && !items.is_empty() {
            fields(draft, &items);
            continue;
        }
        // A heading with nothing under it, followed by a deeper heading, only
        // groups what follows.
        if s.body.is_empty()
            && sections
                .get(i + 1)
                .is_some_and(|n| n.heading.is_some() && n.level > s.level)
        {
            continue;
        }
        entry(draft, s, &title, s.rebuilt);
    }
    link_related(draft);
    if draft.fields.is_empty() {
        draft
            .report
            .notes
            .push("no \"contact support with…\" section: ticket_fields holds one placeholder field to replace".into());
    }
}

struct Section<'a> {
    heading: Option<&'a Inline>,
    level: u8,
    rebuilt: bool,
    body: Vec<&'a Block>,
}

fn split(blocks: &[Block]) -> Vec<Section<'_>> {
    let mut out = vec![Section {
        heading: None,
        level: 0,
        rebuilt: false,
        body: Vec::new(),
    }];
    for b in blocks {
        match b {
            Block::Heading {
                level,
                text,
                rebuilt,
            } => out.push(Section {
                heading: Some(text),
                level: *level,
                rebuilt: *rebuilt,
                body: Vec::new(),
            }),
            other => out.last_mut().expect("starts non-empty").body.push(other),
        }
    }
    out.retain(|s| s.heading.is_some() || !s.body.is_empty());
    out
}

fn is_intro(s: &Section) -> bool {
    !s.body
        .iter()
        .any(|b| matches!(b, Block::Item { .. } | Block::Table { .. }))
        && s.body
            .iter()
            .any(|b| matches!(b, Block::Para(t) if INTRO.is_match(&t.text)))
}

fn note_unplaced(draft: &mut Draft, what: &str, body: &[&Block]) {
    let n = body.len();
    if n > 0 {
        draft.report.unplaced.push(format!("{what} ({n} block(s))"));
    }
}

fn clean_title(t: &Inline) -> String {
    let s = t.text.trim();
    let s = s
        .strip_prefix("Q:")
        .or_else(|| s.strip_prefix("Q."))
        .unwrap_or(s);
    s.trim().trim_end_matches(['#', ':']).trim().to_owned()
}

fn entry(draft: &mut Draft, s: &Section, title: &str, rebuilt: bool) {
    let text = s.heading.expect("sections with entries have a heading");
    let mut e = DraftEntry {
        slug: slug(title, 6),
        title: title.to_owned(),
        symptoms: vec![symptom_of(title)],
        rebuilt,
        ..Default::default()
    };
    if rebuilt {
        draft.report.notes.push(format!(
            "\"{title}\": the page lost this heading; the title is the paragraph's first sentence"
        ));
    }
    if is_message(title) {
        e.errors.push(title.to_owned());
    }
    if let Some(c) = STATUS_LEAD.captures(title) {
        if let Ok(code) = c[1].parse() {
            e.statuses.push(code);
        }
    }
    errors_in(text, &mut e.errors);

    let has_items = s.body.iter().any(|b| matches!(b, Block::Item { .. }));
    let mut k = 0;
    while k < s.body.len() {
        match s.body[k] {
            Block::Para(t) => {
                errors_in(t, &mut e.errors);
                let leads_in = t.text.trim_end().ends_with(':')
                    && matches!(
                        s.body.get(k + 1),
                        Some(Block::Item { .. } | Block::Table { .. } | Block::Code(_))
                    );
                if has_items || (leads_in && !matches!(s.body.get(k + 1), Some(Block::Code(_)))) {
                    // An opening paragraph: its first sentence may say what
                    // the customer sees.
                    for sentence in sentences(&t.text) {
                        if SYMPTOM_CUE.is_match(sentence)
                            && !sentence.to_lowercase().starts_with("see ")
                            && !e.symptoms.iter().any(|x| x == sentence)
                        {
                            e.symptoms.push(symptom_of(sentence));
                            break;
                        }
                    }
                } else if t.text.trim_start().to_lowercase().starts_with("see ")
                    && sentences(&t.text).len() == 1
                {
                    e.see.push(t.text.clone());
                } else {
                    e.checks.push(check_from(&t.text, &[]));
                }
            }
            Block::Item { depth: 0, text } => {
                errors_in(text, &mut e.errors);
                let mut children: Vec<&str> = Vec::new();
                while let Some(Block::Item { depth, text: c }) = s.body.get(k + 1) {
                    if *depth == 0 {
                        break;
                    }
                    errors_in(c, &mut e.errors);
                    children.push(&c.text);
                    k += 1;
                }
                e.checks.push(check_from(&text.text, &children));
            }
            Block::Item { text, .. } => {
                errors_in(text, &mut e.errors);
                e.checks.push(check_from(&text.text, &[]));
            }
            Block::Table { header, rows } => table(draft, header, rows, &mut e),
            Block::Code(c) => {
                let one = c.lines().count() == 1;
                if one && looks_like_error_line(c) {
                    e.errors.push(c.trim().to_owned());
                } else {
                    draft.report.unplaced.push(format!(
                        "a code sample under \"{title}\" ({} line(s))",
                        c.lines().count()
                    ));
                }
            }
            Block::Heading { .. } => {}
        }
        k += 1;
    }
    let mut seen = HashSet::new();
    e.errors.retain(|x| seen.insert(x.to_lowercase()));
    for c in &e.checks {
        for l in [&c.cause, &c.verify, &c.fix].into_iter().flatten() {
            if let Some(m) = SEE.captures(l) {
                e.see.push(m[1].trim().to_owned());
            }
        }
    }
    // An entry that is only a status table leaves its rows as entries.
    if e.checks.is_empty()
        && s.body.iter().all(|b| matches!(b, Block::Table { .. }))
        && !s.body.is_empty()
    {
        return;
    }
    push_entry(draft, e);
}

fn push_entry(draft: &mut Draft, mut e: DraftEntry) {
    let base = e.slug.clone();
    let mut n = 2;
    while draft.entries.iter().any(|x| x.slug == e.slug) {
        e.slug = format!("{base}-{n}");
        n += 1;
    }
    let mut ids: HashSet<String> = HashSet::new();
    for c in &mut e.checks {
        let base = c.slug.clone();
        let mut n = 2;
        while !ids.insert(c.slug.clone()) {
            c.slug = format!("{base}-{n}");
            n += 1;
        }
    }
    draft.entries.push(e);
}

/// A status table becomes one entry per row; any other table with cause /
/// check / fix columns becomes checks of the entry.
fn table(draft: &mut Draft, header: &[String], rows: &[Vec<String>], e: &mut DraftEntry) {
    let col = |pat: &str| {
        let re = Regex::new(pat).expect("static pattern");
        header.iter().position(|h| re.is_match(h))
    };
    let status_col = col(r"(?i)^(http )?(status|code)");
    let is_status = status_col == Some(0)
        && !rows.is_empty()
        && rows
            .iter()
            .all(|r| r.first().is_some_and(|c| STATUS_LEAD.is_match(c.trim())));
    let meaning = col(r"(?i)meaning|description|reason|cause|means|problem|error");
    let verify = col(r"(?i)check|verify|diagnos|how to (tell|check)|test");
    let fix = col(r"(?i)fix|solution|resolution|what to do|action|remedy");
    let cell = |r: &Vec<String>, i: Option<usize>| {
        i.and_then(|i| r.get(i))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    if is_status {
        for r in rows {
            let code: u16 = STATUS_LEAD
                .captures(r[0].trim())
                .and_then(|c| c[1].parse().ok())
                .unwrap_or(0);
            let m = cell(r, meaning.or(Some(1))).unwrap_or_default();
            let title = if m.is_empty() {
                code.to_string()
            } else {
                format!("{code} {m}")
            };
            let mut s = DraftEntry {
                slug: slug(&title, 6),
                title: title.clone(),
                symptoms: vec![symptom_of(&title)],
                statuses: vec![code],
                ..Default::default()
            };
            let f = cell(r, fix);
            if !m.is_empty() || f.is_some() {
                s.checks.push(DraftCheck {
                    slug: slug(f.as_deref().unwrap_or(&m), 4),
                    cause: Some(m.clone()).filter(|m| !m.is_empty()),
                    verify: cell(r, verify),
                    fix: f,
                });
            }
            for c in &s.checks {
                if let Some(m) = c.fix.as_deref().and_then(|f| SEE.captures(f)) {
                    s.see.push(m[1].trim().to_owned());
                }
            }
            push_entry(draft, s);
        }
        return;
    }
    if meaning.is_some() || fix.is_some() || verify.is_some() {
        for r in rows {
            let cause = cell(r, meaning.or(if fix == Some(0) { None } else { Some(0) }));
            let c = DraftCheck {
                slug: slug(
                    cause
                        .as_deref()
                        .or(r.first().map(String::as_str))
                        .unwrap_or("check"),
                    4,
                ),
                cause,
                verify: cell(r, verify),
                fix: cell(r, fix),
            };
            e.checks.push(c);
        }
    } else {
        draft.report.unplaced.push(format!(
            "a table under \"{}\" with columns {:?}",
            e.title, header
        ));
    }
}

fn symptom_of(s: &str) -> String {
    let s = s.trim();
    let s = s.strip_prefix("If ").map_or(s, |r| r);
    s.trim_end_matches([':', '.']).trim().to_owned()
}

fn is_message(title: &str) -> bool {
    MESSAGE_HEADING.is_match(title) && !NARRATIVE.is_match(title)
}

fn looks_like_error_line(c: &str) -> bool {
    let c = c.trim();
    let lower = c.to_lowercase();
    (lower.starts_with("uncaught")
        || lower.contains("error:")
        || lower.starts_with("error")
        || lower.starts_with("refused"))
        && c.len() < 200
}

/// Quoted spans the page says are shown (a “…” message, tooltip, banner),
/// and code spans that read as messages (three words or more).
fn errors_in(t: &Inline, errors: &mut Vec<String>) {
    for c in QUOTED.captures_iter(&t.text) {
        let q = c[1].trim();
        let next = c.get(2).map(|m| m.as_str().to_lowercase());
        let shown = next.as_deref().is_some_and(|n| SHOWN.contains(&n));
        let before = t.text[..c.get(0).map_or(0, |m| m.start())].to_lowercase();
        let said = ["says ", "reads ", "error ", "message "]
            .iter()
            .any(|w| before.trim_end().ends_with(w.trim_end()));
        if q.split_whitespace().count() >= 2 && (shown || said) {
            errors.push(q.to_owned());
        }
    }
    for c in &t.code {
        let words = c.split_whitespace().count();
        if words >= 3 && !c.contains(['(', '{', '=', ';']) || looks_like_error_line(c) && words >= 2
        {
            errors.push(c.clone());
        }
    }
}

/// "see X" naming another entry's title becomes `related`.
fn link_related(draft: &mut Draft) {
    let titles: Vec<(String, String)> = draft
        .entries
        .iter()
        .map(|e| (e.title.to_lowercase(), e.slug.clone()))
        .collect();
    for e in &mut draft.entries {
        for see in std::mem::take(&mut e.see) {
            let s = see.to_lowercase();
            let s = s.trim_start_matches("see ").trim_end_matches(['.', ' ']);
            if let Some((_, id)) = titles.iter().find(|(t, id)| t == s && *id != e.slug) {
                if !e.related.contains(id) {
                    e.related.push(id.clone());
                }
            }
        }
    }
}

/// An id from a title: ASCII, lower case, words joined by `-`, at most
/// `max` words, leading articles dropped. The same title gives the same id.
pub fn slug(title: &str, max: usize) -> String {
    use unicode_normalization::UnicodeNormalization;
    let folded: String = title
        .nfkd()
        .filter(|c| c.is_ascii())
        .collect::<String>()
        .to_lowercase()
        .replace(['\'', '’'], "");
    let skip = [
        "the", "a", "an", "my", "your", "our", "its", "is", "are", "of",
    ];
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut out: Vec<&str> = Vec::new();
    for w in &words {
        if out.len() >= max {
            break;
        }
        if skip.contains(w) && (out.is_empty() || words.len() > max) {
            continue;
        }
        out.push(w);
    }
    if out.is_empty() {
        "section".into()
    } else {
        out.join("-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_stable_ascii() {
        assert_eq!(
            slug("The widget doesn’t appear on my site", 6),
            "widget-doesnt-appear-on-site"
        );
        assert_eq!(slug("Café ¿qué?", 6), "cafe-que");
        assert_eq!(slug("", 6), "section");
    }
}
