//! A "contact support with…" list into ticket fields, with the validation
//! the page's wording asks for (a prefix, a URL, a time with its timezone,
//! a description).

use std::sync::LazyLock;

use regex::Regex;

use super::build::slug;
use super::doc::Inline;
use super::{Draft, DraftField, FieldRule};

/// Ticket fields from the items of a "contact support with…" section.
pub(super) fn fields(draft: &mut Draft, items: &[&Inline]) {
    static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"(?i)\b(?:starts?|begins?) with\s+[`'"“]?([A-Za-z0-9_\-]+?)[`'"”]?(?:[).,;\s]|$)"#,
        )
        .expect("static regex")
    });
    static URL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(url|address|link|web ?page)\b").expect("static regex")
    });
    static TIME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(time ?stamp|time|date|when)\b").expect("static regex")
    });
    static ZONE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)\btime ?zone\b").expect("static regex"));
    static PROSE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(descri\w*|steps|reproduce|what you see|console|explain|details)\b")
            .expect("static regex")
    });
    for it in items {
        let text = it.text.trim().trim_end_matches('.').to_owned();
        let label = label_of(&text);
        if label.is_empty() {
            continue;
        }
        let mut id = slug(&label, 3).replace('-', "_");
        let base = id.clone();
        let mut n = 2;
        while draft.fields.iter().any(|f| f.id == id) {
            id = format!("{base}_{n}");
            n += 1;
        }
        let rule = if let Some(c) = PREFIX.captures(&text) {
            let p = c[1].to_owned();
            Some(FieldRule::Prefix(p))
        } else if URL.is_match(&text) {
            Some(FieldRule::Url)
        } else if TIME.is_match(&text) && ZONE.is_match(&text) {
            Some(FieldRule::TimeZone)
        } else if PROSE.is_match(&text) {
            Some(FieldRule::Prose)
        } else {
            None
        };
        draft.fields.push(DraftField {
            id,
            label,
            source: text,
            rule,
        });
    }
}

/// "Your app key (starts with app_)" -> "App key".
fn label_of(text: &str) -> String {
    let mut t = text.to_owned();
    while let (Some(a), Some(b)) = (t.find('('), t.find(')')) {
        if b < a {
            break;
        }
        t.replace_range(a..=b, "");
    }
    let t = super::doc::collapse(&t);
    let lower = t.to_lowercase();
    let t = ["your ", "the ", "a ", "an "]
        .iter()
        .find_map(|p| lower.starts_with(p).then(|| &t[p.len()..]))
        .unwrap_or(&t);
    let t = t.trim().trim_end_matches([',', ';', ':']);
    let mut c = t.chars();
    c.next().map_or(String::new(), |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}
