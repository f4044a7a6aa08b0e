//! Plain text pages, typically a troubleshooting page copied out of a
//! browser: the structure is gone, so it is read back from the shape of the
//! lines. A short line without closing punctuation is a heading; `-`, `*`,
//! `•` and `1.` start list items; a run of lines under a `Status…` header
//! whose lines start with an HTTP status is a table; lines that read as
//! code are code. Documentation sites print "Section titled “X”" under
//! each heading: when a page has those, only marked lines are headings, and
//! a second explanation under one heading is a section whose heading the
//! copy lost (its first sentence becomes the heading, marked `rebuilt`).

use std::sync::LazyLock;

use regex::Regex;

use super::doc::{collapse, Block, Inline};

static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^Section titled\s*[“"'‘]?(.*?)[”"'’]?\s*$"#).expect("static regex")
});
static NOISE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(skip to (main )?content|on this page|was this (article|page) helpful\??|thanks for your feedback!?|(last )?updated:? .*\d{4}|edit this page|previous|next)$",
    )
    .expect("static regex")
});
static BULLET: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\s*)([-*•–]|\d{1,2}[.)])\s+(\S.*)$").expect("static regex"));
static STATUS_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(http status|status code|status|error code|code)").expect("static regex")
});
static STATUS_ROW: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([1-5]\d\d)(\D.*)$").expect("static regex"));
/// A lower-case letter or closing bracket directly followed by a capital:
/// where a copied table glued its cells together ("not foundConfirm").
/// A new item that a copy joined onto the end of the last one
/// ("…directives. - Check ad blockers - …").
static JOINED_ITEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([.!?)])\s+-\s+").expect("static regex"));
static GLUED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[a-z)\]]([A-Z][a-z])").expect("static regex"));

/// Reads a plain-text page into blocks.
pub fn parse(src: &str) -> Vec<Block> {
    let lines: Vec<&str> = src.lines().map(|l| l.trim_end()).collect();
    let marked: Vec<String> = lines
        .iter()
        .filter_map(|l| MARKER.captures(l.trim()).map(|c| collapse(&c[1])))
        .collect();
    let marker_mode = !marked.is_empty();

    // Pass 1: logical lines (paragraphs, items, tables, code).
    let mut raw: Vec<Raw> = Vec::new();
    let mut open = false; // the last block may take a continuation line
    let mut next_is_item = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim();
        i += 1;
        if t.is_empty() {
            open = false;
            continue;
        }
        if MARKER.is_match(t) || NOISE.is_match(t) {
            open = false;
            continue;
        }
        if t == "-" || t == "•" {
            next_is_item = true;
            open = false;
            continue;
        }
        // A glued status table: "StatusMeaningFix" then "400Bad request…".
        if STATUS_HEADER.is_match(t) && lines.get(i).is_some_and(|n| STATUS_ROW.is_match(n.trim()))
        {
            let header = split_glued(t);
            let mut rows = Vec::new();
            while let Some(c) = lines.get(i).and_then(|n| STATUS_ROW.captures(n.trim())) {
                let mut row = vec![c[1].to_owned()];
                row.extend(split_cells(&c[2], header.len().saturating_sub(1)));
                rows.push(row);
                i += 1;
            }
            raw.push(Raw::Table(header, rows));
            open = false;
            continue;
        }
        let (t, ends_item) = match t.strip_suffix(" -") {
            Some(rest) => (rest.trim_end(), true),
            None => (t, false),
        };
        if looks_like_code(t) {
            match raw.last_mut() {
                Some(Raw::Code(c)) if open => {
                    c.push('\n');
                    c.push_str(t);
                }
                _ => raw.push(Raw::Code(t.to_owned())),
            }
            open = true;
        } else if let Some(c) = BULLET.captures(line) {
            let depth = (c[1].len() / 4).min(3) as u8;
            raw.push(Raw::Item(depth, c[3].trim().to_owned()));
            open = !ends_sentence(&c[3]);
        } else if next_is_item {
            raw.push(Raw::Item(0, t.to_owned()));
            open = !ends_sentence(t);
        } else if open && continues(&raw) {
            if let Some(Raw::Item(_, s) | Raw::Para(s)) = raw.last_mut() {
                s.push(' ');
                s.push_str(t);
                open = !ends_sentence(t);
            }
        } else {
            raw.push(Raw::Para(t.to_owned()));
            open = !ends_sentence(t) && !is_heading_shape(t);
        }
        next_is_item = ends_item;
        if ends_item {
            open = false;
        }
    }

    let raw: Vec<Raw> = raw
        .into_iter()
        .flat_map(|r| match r {
            Raw::Item(d, s) => split_joined(&s)
                .into_iter()
                .map(|p| Raw::Item(d, p))
                .collect::<Vec<_>>(),
            other => vec![other],
        })
        .collect();

    // Pass 2: which paragraphs are headings.
    let mut blocks = Vec::with_capacity(raw.len());
    let mut seen_heading = false;
    // In marker mode: paragraphs so far under the current marked heading.
    let mut paras_in_section: Option<usize> = None;
    for (n, r) in raw.into_iter().enumerate() {
        match r {
            Raw::Para(s) => {
                let s = collapse(&s);
                let heading = if marker_mode {
                    marked.contains(&s)
                } else {
                    is_heading_shape(&s)
                };
                if heading || (n == 0 && is_heading_shape(&s)) {
                    let level = if seen_heading { 2 } else { 1 };
                    seen_heading = true;
                    if marker_mode && marked.contains(&s) {
                        paras_in_section = Some(0);
                    }
                    blocks.push(Block::Heading {
                        level: if marker_mode && marked.contains(&s) {
                            2
                        } else {
                            level
                        },
                        text: inline(&s),
                        rebuilt: false,
                    });
                    continue;
                }
                if let Some(k) = paras_in_section.as_mut() {
                    if *k > 0 {
                        blocks.push(Block::Heading {
                            level: 2,
                            text: inline(first_sentence(&s).trim_end_matches('.')),
                            rebuilt: true,
                        });
                    }
                    *k += 1;
                }
                blocks.push(Block::Para(inline(&s)));
            }
            Raw::Item(d, s) => blocks.push(Block::Item {
                depth: d,
                text: inline(&s),
            }),
            Raw::Table(header, rows) => {
                // What follows a table is a new section's explanation.
                if let Some(k) = paras_in_section.as_mut() {
                    *k = 1;
                }
                blocks.push(Block::Table { header, rows })
            }
            Raw::Code(c) => blocks.push(Block::Code(c)),
        }
    }
    blocks
}

enum Raw {
    Para(String),
    Item(u8, String),
    Table(Vec<String>, Vec<Vec<String>>),
    Code(String),
}

fn split_joined(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    for c in JOINED_ITEM.captures_iter(s) {
        let (p, m) = (c.get(1).expect("group 1"), c.get(0).expect("match"));
        out.push(s[start..p.end()].trim().to_owned());
        start = m.end();
    }
    out.push(s[start..].trim().to_owned());
    out.retain(|p| !p.is_empty());
    out
}

fn continues(raw: &[Raw]) -> bool {
    matches!(raw.last(), Some(Raw::Item(..) | Raw::Para(_)))
}

/// Plain text keeps no formatting: quoted spans are found by `build`.
fn inline(s: &str) -> Inline {
    Inline::plain(s)
}

fn ends_sentence(s: &str) -> bool {
    let s = s.trim_end();
    s.ends_with(['.', '!', '?', ':', ';']) || s.ends_with(".)") || s.ends_with(").")
}

/// A short line with no closing punctuation that starts like a title.
pub fn is_heading_shape(s: &str) -> bool {
    let s = s.trim();
    let words = s.split_whitespace().count();
    let first = s.chars().next();
    (1..=14).contains(&words)
        && s.len() <= 110
        && !s.ends_with(['.', ',', ';', ':'])
        && !s.contains("://")
        && first.is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
}

fn first_sentence(s: &str) -> &str {
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if matches!(c, b'.' | b'!' | b'?')
            && b.get(i + 1).is_none_or(|n| *n == b' ')
            && i > 0
            && !b[i - 1].is_ascii_digit()
            && !s[..i].ends_with("e.g")
            && !s[..i].ends_with("i.e")
            // `init()`, `widget.destroy()`: a dot inside a code word
            && b.get(i + 1).is_some()
        {
            return &s[..=i];
        }
    }
    s
}

fn looks_like_code(t: &str) -> bool {
    t.ends_with(';')
        || t.ends_with('{')
        || t == "}"
        || t.starts_with("});")
        || t.starts_with("//")
        || t.contains(" => ")
        || t.starts_with("await ")
        || t.starts_with("const ")
        || t.starts_with("let ")
        || t.starts_with("import ")
        || t.starts_with("$ ")
}

/// "StatusMeaningFix" -> ["Status", "Meaning", "Fix"]; tab- or
/// `|`-separated headers split on those.
fn split_glued(s: &str) -> Vec<String> {
    if s.contains('\t') || s.contains('|') || s.contains("  ") {
        return split_cells(s, usize::MAX);
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if c.is_uppercase() && !cur.is_empty() && !cur.ends_with(' ') {
            out.push(cur.trim().to_owned());
            cur.clear();
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    out
}

/// Splits the rest of a table row into at most `want` cells: on tabs, `|`
/// or two spaces when the copy kept them, else where the cells were glued.
fn split_cells(s: &str, want: usize) -> Vec<String> {
    let s = s.trim();
    let sep: Option<&[char]> = if s.contains('\t') {
        Some(&['\t'])
    } else if s.contains('|') {
        Some(&['|'])
    } else {
        None
    };
    let mut cells: Vec<String> = match sep {
        Some(p) => s.split(p).map(collapse).filter(|c| !c.is_empty()).collect(),
        None if s.contains("  ") => s
            .split("  ")
            .map(collapse)
            .filter(|c| !c.is_empty())
            .collect(),
        None => {
            let mut cells = Vec::new();
            let mut start = 0;
            for m in GLUED.captures_iter(s) {
                if cells.len() + 2 > want {
                    break;
                }
                let at = m.get(1).map_or(0, |g| g.start());
                cells.push(collapse(&s[start..at]));
                start = at;
            }
            cells.push(collapse(&s[start..]));
            cells
        }
    };
    if cells.len() > want && want > 0 {
        let rest = cells.split_off(want - 1).join(" ");
        cells.push(rest);
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glued_status_rows_split_into_cells() {
        let b = parse("Errors\n\nStatusMeaningFix\n404Widget not foundConfirm the widgetKey matches\n429Rate limit exceededSee rate limiting below\n");
        let Some(Block::Table { header, rows }) =
            b.iter().find(|b| matches!(b, Block::Table { .. }))
        else {
            panic!("no table in {b:?}");
        };
        assert_eq!(header, &["Status", "Meaning", "Fix"]);
        assert_eq!(
            rows[0],
            ["404", "Widget not found", "Confirm the widgetKey matches"]
        );
        assert_eq!(rows[1][1], "Rate limit exceeded");
    }

    #[test]
    fn dash_items_and_continuations() {
        let b = parse("The widget is gone\n-\nCheck the snippet - open the console and look for\nerrors. -\nCheck ad blockers - test in incognito.\nNext problem here\n");
        let items: Vec<_> = b
            .iter()
            .filter(|b| matches!(b, Block::Item { .. }))
            .collect();
        assert_eq!(items.len(), 2, "{b:?}");
        assert!(matches!(&b[0], Block::Heading { .. }));
        assert!(matches!(b.last(), Some(Block::Heading { .. })), "{b:?}");
    }

    #[test]
    fn marked_pages_rebuild_lost_headings() {
        let b = parse("Troubleshooting\n\nFirst problem\n\nSection titled “First problem”\n\nIt breaks. Fix it.\n\nThe key was not passed. Pass it.\n");
        let rebuilt: Vec<_> = b
            .iter()
            .filter_map(|b| match b {
                Block::Heading {
                    text,
                    rebuilt: true,
                    ..
                } => Some(text.text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(rebuilt, ["The key was not passed"]);
    }
}
