//! `triage kb apply`: the editor's accepted suggestions into the knowledge
//! files, by editing their text (new lines inserted after the last item of
//! a list, new entries appended), so comments, order and formatting stay as
//! the editors left them. Pure: files in, edited files out; the caller
//! validates the result before writing anything.

use std::path::{Path, PathBuf};

use super::{Proposal, Review};

/// What applying did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    /// The files with their new text (only files that changed).
    pub files: Vec<(PathBuf, String)>,
    /// One line per accepted item taken in.
    pub done: Vec<String>,
}

/// Why an accepted item could not be applied; nothing is written then.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApplyError {
    #[error("entry '{0}' is in no knowledge file")]
    NoEntry(String),
    #[error("entry '{0}' has no `symptoms:` list to add to")]
    NoSymptoms(String),
    #[error("out-of-scope topic '{0}' is not in out-of-scope.yaml")]
    NoTopic(String),
    #[error("gap \"{0}\": choose a product for the new entry (propose.product)")]
    NoProduct(String),
    #[error("no product file for '{0}'")]
    NoProductFile(String),
    #[error("new entry id '{0}' must be '{1}/slug'")]
    BadId(String, String),
}

/// Applies the accepted items of `review` to `files` (`(path, text)` of
/// every knowledge file).
pub fn apply(review: &Review, files: &[(PathBuf, String)]) -> Result<Applied, ApplyError> {
    let mut files: Vec<(PathBuf, String, bool)> = files
        .iter()
        .map(|(p, s)| (p.clone(), s.clone(), false))
        .collect();
    let mut done = Vec::new();
    for p in review.phrasings.iter().filter(|p| p.accept) {
        let id = p.entry.as_str();
        let f = files
            .iter_mut()
            .find(|(_, s, _)| entry_line(s, id).is_some())
            .ok_or_else(|| ApplyError::NoEntry(id.to_owned()))?;
        let start = entry_line(&f.1, id).expect("found above");
        f.1 = add_to_list(&f.1, start, "symptoms", &p.text)
            .ok_or_else(|| ApplyError::NoSymptoms(id.to_owned()))?;
        f.2 = true;
        done.push(format!("{id}: symptom \"{}\"", p.text));
    }
    for g in review.gaps.iter().filter(|g| g.accept) {
        match &g.propose {
            Proposal::OutOfScope { topic } => {
                let f = files
                    .iter_mut()
                    .find(|(p, _, _)| stem(p) == "out-of-scope")
                    .ok_or_else(|| ApplyError::NoTopic(topic.clone()))?;
                let start =
                    entry_line(&f.1, topic).ok_or_else(|| ApplyError::NoTopic(topic.clone()))?;
                for ex in &g.examples {
                    f.1 = add_to_list(&f.1, start, "phrasings", ex)
                        .ok_or_else(|| ApplyError::NoTopic(topic.clone()))?;
                }
                f.2 = true;
                done.push(format!(
                    "out-of-scope {topic}: {} phrasing(s)",
                    g.examples.len()
                ));
            }
            Proposal::NewEntry {
                product,
                id,
                title,
                symptoms,
            } => {
                let product = product
                    .as_ref()
                    .ok_or_else(|| ApplyError::NoProduct(title.clone()))?;
                if !id.starts_with(&format!("{product}/")) {
                    return Err(ApplyError::BadId(id.clone(), product.to_string()));
                }
                let f = files
                    .iter_mut()
                    .find(|(p, _, _)| stem(p) == product.as_str())
                    .ok_or_else(|| ApplyError::NoProductFile(product.to_string()))?;
                f.1 = append_entry(&f.1, id, title, symptoms, g.asked);
                f.2 = true;
                done.push(format!(
                    "{id}: new entry (escalate only until it has checks)"
                ));
            }
        }
    }
    Ok(Applied {
        files: files
            .into_iter()
            .filter(|(_, _, changed)| *changed)
            .map(|(p, s, _)| (p, s))
            .collect(),
        done,
    })
}

fn stem(p: &Path) -> &str {
    p.file_stem().and_then(|s| s.to_str()).unwrap_or("")
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The line index of `- id: ID` (quoted or not).
fn entry_line(src: &str, id: &str) -> Option<usize> {
    src.lines().position(|l| {
        let t = l.trim_start();
        let Some(rest) = t.strip_prefix("- id:") else {
            return false;
        };
        let v = rest.split(" #").next().unwrap_or("").trim();
        v.trim_matches(|c| c == '"' || c == '\'') == id
    })
}

/// Adds `text` as the last item of the `key:` list of the block starting at
/// line `start`. Handles a block list and an empty flow list (`key: []`).
fn add_to_list(src: &str, start: usize, key: &str, text: &str) -> Option<String> {
    let lines: Vec<&str> = src.lines().collect();
    let item_indent = indent(lines[start]);
    let field_indent = item_indent + 2;
    // The key line, inside this item's block.
    let mut k = None;
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        if !l.trim().is_empty() && !l.trim_start().starts_with('#') && indent(l) <= item_indent {
            break;
        }
        let t = l.trim_start();
        if indent(l) == field_indent && (t.starts_with(&format!("{key}:"))) {
            k = Some(i);
            break;
        }
    }
    let k = k?;
    let quoted = quote(text);
    let key_line = lines[k];
    let mut out: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    let after_key = key_line.trim_start()[key.len() + 1..].trim();
    if after_key.starts_with("[]") {
        out[k] = format!("{}{key}:", " ".repeat(field_indent));
        out.insert(k + 1, format!("{}- {quoted}", " ".repeat(field_indent + 2)));
    } else if after_key.is_empty() || after_key.starts_with('#') {
        // Last line that belongs to the list: items, their continuation
        // lines and comments between them, deeper than the key.
        let mut last = k;
        let mut item_col = None;
        for (i, l) in lines.iter().enumerate().skip(k + 1) {
            if l.trim().is_empty() {
                continue;
            }
            let t = l.trim_start();
            let ind = indent(l);
            if t.starts_with('#') && ind > field_indent - 1 {
                continue; // a comment inside the list stays where it is
            }
            if ind < field_indent || (ind == field_indent && !t.starts_with("- ")) {
                break;
            }
            if t.starts_with("- ") && item_col.is_none() {
                item_col = Some(ind);
            }
            last = i;
        }
        let col = item_col.unwrap_or(field_indent + 2);
        out.insert(last + 1, format!("{}- {quoted}", " ".repeat(col)));
    } else {
        // A non-empty flow list: `key: [a, b]`.
        let inner = after_key.strip_prefix('[')?.trim_end();
        let inner = inner.strip_suffix(']')?;
        out[k] = format!("{}{key}: [{inner}, {quoted}]", " ".repeat(field_indent));
    }
    let mut s = out.join("\n");
    if src.ends_with('\n') {
        s.push('\n');
    }
    Some(s)
}

fn append_entry(src: &str, id: &str, title: &str, symptoms: &[String], asked: usize) -> String {
    // Follow the file's own indentation of entries.
    let ind = src
        .lines()
        .skip_while(|l| !l.starts_with("entries:"))
        .find(|l| l.trim_start().starts_with("- id:"))
        .map_or(2, indent);
    let pad = " ".repeat(ind);
    let mut s = src.trim_end().to_owned();
    s.push_str("\n\n");
    s.push_str(&format!(
        "{pad}# Added by `triage kb apply`: {asked} question(s) nothing answered.\n\
         {pad}# TODO: write its checks; until then it goes straight to escalation.\n\
         {pad}- id: {id}\n\
         {pad}  title: {}\n\
         {pad}  symptoms:\n",
        quote(title)
    ));
    for sym in symptoms {
        s.push_str(&format!("{pad}    - {}\n", quote(sym)));
    }
    s.push_str(&format!(
        "{pad}  escalate_only: true\n\
         {pad}  note: \"There is no self-service check for this yet; support will look into it.\"\n"
    ));
    s
}

fn quote(s: &str) -> String {
    crate::kb::import::quote(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "\
product:
  id: p
entries:
  - id: p/a   # first
    title: A
    symptoms:
      - one
      # a comment the editor wrote
      - \"two, long
        and folded\"
    errors: []
  - id: p/b
    title: B
    symptoms: []
";

    #[test]
    fn items_go_after_the_last_one_and_comments_stay() {
        let s = add_to_list(
            SRC,
            entry_line(SRC, "p/a").unwrap(),
            "symptoms",
            "three \"x\"",
        )
        .unwrap();
        assert!(
            s.contains("        and folded\"\n      - \"three \\\"x\\\"\"\n    errors: []"),
            "{s}"
        );
        assert!(s.contains("# a comment the editor wrote"));
        let s = add_to_list(&s, entry_line(&s, "p/b").unwrap(), "symptoms", "four").unwrap();
        assert!(s.ends_with("    symptoms:\n      - \"four\"\n"), "{s}");
    }
}
