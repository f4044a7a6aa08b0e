//! Exact evidence: the knowledge base's error strings found in a paste
//! (verbatim or nearly, even inside logs), and HTTP statuses written in a
//! status-like context ("HTTP 403", "returns 429", "423 Locked") or bare.

use std::sync::LazyLock;

use regex::Regex;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::search;

/// An exact error string of an entry, as lowercase words.
#[derive(Debug)]
struct ErrorPattern {
    entry: usize,
    words: Vec<String>,
}

/// The knowledge base's error strings, ready to be found in pastes.
#[derive(Debug, Default)]
pub(super) struct ErrorIndex {
    errors: Vec<ErrorPattern>,
    /// Error patterns by their two rarest words: a paste that matches 80%
    /// of a pattern contains at least one of them, so only these patterns
    /// are compared with the text.
    anchors: HashMap<String, Vec<usize>>,
}

impl ErrorIndex {
    /// `errors`: (entry index, error string) for every entry's errors.
    pub(super) fn new<'a>(errors: impl IntoIterator<Item = (usize, &'a str)>) -> Self {
        let errors: Vec<ErrorPattern> = errors
            .into_iter()
            .map(|(entry, s)| ErrorPattern {
                entry,
                words: search::words(s),
            })
            .filter(|p| !p.words.is_empty())
            .collect();
        let mut word_freq: HashMap<&str, usize> = HashMap::default();
        for pat in &errors {
            for w in &pat.words {
                *word_freq.entry(w.as_str()).or_default() += 1;
            }
        }
        let mut anchors: HashMap<String, Vec<usize>> = HashMap::default();
        for (i, pat) in errors.iter().enumerate() {
            let mut ws: Vec<&str> = pat.words.iter().map(String::as_str).collect();
            ws.sort_by_key(|w| (word_freq.get(w).copied().unwrap_or(0), *w));
            ws.dedup();
            for w in ws.into_iter().take(2) {
                anchors.entry(w.to_owned()).or_default().push(i);
            }
        }
        Self { errors, anchors }
    }

    /// Entries whose exact error strings the text contains, with the share
    /// of the error's words found in order (1.0 = pasted verbatim). Short
    /// errors (two words or fewer) must appear contiguously.
    pub(super) fn hits(&self, words: &[String]) -> HashMap<usize, f32> {
        let mut out: HashMap<usize, f32> = HashMap::default();
        if words.is_empty() {
            return out;
        }
        let present: HashSet<&str> = words.iter().map(String::as_str).collect();
        let mut cands: Vec<usize> = present
            .iter()
            .filter_map(|w| self.anchors.get(*w))
            .flatten()
            .copied()
            .collect();
        cands.sort_unstable();
        cands.dedup();
        for pat in cands.into_iter().map(|i| &self.errors[i]) {
            let m = pat.words.len();
            let found = pat
                .words
                .iter()
                .filter(|w| present.contains(w.as_str()))
                .count();
            if (found as f32) < 0.8 * m as f32 {
                continue;
            }
            let strength = if m <= 3 {
                if words.windows(m).any(|w| w == pat.words.as_slice()) {
                    1.0
                } else {
                    0.0
                }
            } else {
                let l = lcs(&pat.words, words) as f32 / m as f32;
                if l >= 0.8 {
                    l
                } else {
                    0.0
                }
            };
            if strength > 0.0 {
                let slot = out.entry(pat.entry).or_insert(0.0);
                *slot = slot.max(strength);
            }
        }
        out
    }
}

/// Length of the longest common subsequence of `a` (short) in `b`.
fn lcs(a: &[String], b: &[String]) -> usize {
    let mut prev = vec![0usize; a.len() + 1];
    let mut cur = vec![0usize; a.len() + 1];
    for y in b {
        for (i, x) in a.iter().enumerate() {
            cur[i + 1] = if x == y {
                prev[i] + 1
            } else {
                cur[i].max(prev[i + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[a.len()]
}

/// Standard HTTP statuses a customer may paste.
const HTTP_STATUSES: &[u16] = &[
    400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418,
    421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 507, 508, 511,
];

/// HTTP statuses written in a status-like context: "429", "HTTP 403",
/// "status 404", "403 Forbidden", "(423)", "429s", "returns 400". Counts
/// ("10 requests", "500 users", "2 minutes") are not statuses.
pub fn statuses(text: &str) -> Vec<u16> {
    mentions(text)
        .into_iter()
        .filter_map(|(code, context)| context.then_some(code))
        .collect()
}

/// Every standard HTTP status in the text that is not a price, a version,
/// a count or a measure, and whether it stands in a status-like context.
fn mentions(text: &str) -> Vec<(u16, bool)> {
    static NUM: LazyLock<Regex> =
        // A literal pattern: compiling it cannot fail.
        LazyLock::new(|| Regex::new(r"\d+(?:[.,]\d+)*").expect("static regex"));
    static BEFORE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?ix)(?:\b(?:https?|status|code|codes|error|err|errors|erro|erreur|fehler|returns?|returned|returning|respond(?:s|ed)?|response|responses|answer(?:s|ed)?|got|get|gets|getting|gettin|gives?|giving|givin|throws?|threw|throwing|fails?|failed|failing|with|back|shows?|showing|showed|seeing|hits?|hitting|raises?|raised|answers?\s+with|a|an|un|una|um|uma|ein|eine|einen|une|recibo|receive[sd]?|receiving|bekomme|bekommen|reçois|recebo|recibimos|recebemos|erhalten|erhalte|retorna|retornando|retornou|devuelve|devolviendo|devolvi[oó]|regresa|responde|respondiendo|liefert|gibt|renvoie|renvoi|retourne|dá|dando)(?:\s+(?:constantly|always|still|again|sometimes|often|randomly|suddenly|st[äa]ndig|immer|oft|wieder|noch|pl[öo]tzlich|siempre|todav[ií]a|constantemente|toujours|encore|souvent|sempre|ainda|frequentemente))?\s*[:\#]?|->|=>|→|:|\()\s*$",
        )
        .expect("static regex")
    });
    static AFTER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?ix)^(?:s\b|\s*\)|\s*[:\-]?\s*\(?\s*(?:bad\s+req\w*|unauthori[sz]ed|forbidden|not\s+found|locked|too\s+many|conflict|gone|payload|unprocessable|internal|bad\s+gateway|service\s+unavailable|gateway|method\s+not|unsupported|request\s+timeout|precondition|error|errors|status|response|responses|code)\b|\s+(?:in|on|from|under)\s+(?:the\s+|my\s+|our\s+)?(?:network|devtools|dev\s+tools|console|browser\s+console)\b)",
        )
        .expect("static regex")
    });
    static UNIT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?ix)^\s*(?:%|\$|€|ms\b|px\b|kb\b|mb\b|gb\b|k\b|x\b|req(?:uest)?s?\b|min(?:ute)?s?\b|sec(?:ond)?s?\b|hours?\b|hrs?\b|days?\b|weeks?\b|months?\b|years?\b|users?\b|people\b|visitors?\b|customers?\b|agents?\b|calls?\b|messages?\b|times\b|words?\b|lines?\b|items?\b|rows?\b|entries\b|pages\b|euros?\b|dollars?\b|employees\b|sites\b|domains\b|tickets\b|seats\b)",
        )
        .expect("static regex")
    });
    let mut out = Vec::new();
    let trimmed = text.trim();
    for m in NUM.find_iter(text) {
        let s = m.as_str();
        if s.len() != 3 {
            continue;
        }
        let Ok(code) = s.parse::<u16>() else { continue };
        if !HTTP_STATUSES.contains(&code) {
            continue;
        }
        let before = &text[..m.start()];
        let after = &text[m.end()..];
        // "$429", "v1.423", "423/500", "423.5" are not statuses; a
        // sentence ending after one ("gets a 423.") is.
        let decimal =
            after.starts_with(['.', ',']) && after[1..].starts_with(|c: char| c.is_ascii_digit());
        if before.ends_with(['$', '€', '£', '#', '/', '.', '-', '+'])
            || after.starts_with('/')
            || decimal
        {
            continue;
        }
        if UNIT.is_match(after) {
            continue;
        }
        // A message that is, or opens with, the number ("423 on init??").
        let alone = trimmed.trim_matches(|c: char| !c.is_alphanumeric()) == s
            || before.trim_start().is_empty();
        let tail: String = before
            .chars()
            .rev()
            .take(24)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let context = alone || BEFORE.is_match(&tail) || AFTER.is_match(after);
        match out.iter_mut().find(|(c, _)| *c == code) {
            Some(seen) => seen.1 |= context,
            None => out.push((code, context)),
        }
    }
    out
}

/// Statuses an entry lists that stand alone in the text as a three-digit
/// number with no unit and no status-like context ("api says 423"):
/// weaker evidence than `statuses`, weighed by the fitted model.
pub fn bare_statuses(text: &str, listed: &HashSet<u16>) -> Vec<u16> {
    mentions(text)
        .into_iter()
        .filter_map(|(code, context)| (!context && listed.contains(&code)).then_some(code))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_need_a_status_like_context() {
        assert_eq!(statuses("429"), [429]);
        assert_eq!(statuses("getting HTTP 403 on init"), [403]);
        assert_eq!(statuses("status 404 from the api"), [404]);
        assert_eq!(statuses("403 Forbidden on our subdomain"), [403]);
        assert_eq!(statuses("POST .../init (423) again"), [423]);
        assert_eq!(statuses("429s all over devtools"), [429]);
        assert_eq!(statuses("sdk init -> 423 since this morning"), [423]);
        assert!(statuses("we have 500 users and 10 requests").is_empty());
        assert!(statuses("it took 2 minutes, about 404 seconds").is_empty());
        assert_eq!(statuses("init comes back as 400 Bad Request"), [400]);
        assert_eq!(
            statuses("the init request comes back 400 in the network tab"),
            [400]
        );
        assert_eq!(statuses("the widget call shows 403 now"), [403]);
        assert_eq!(statuses("we see 404 in the console"), [404]);
        assert_eq!(statuses("init responds with 401"), [401]);
        assert!(statuses("it came back 2 minutes later with 10 requests").is_empty());
        assert!(statuses("we got 500 users back from 404 visits").is_empty());
        assert!(statuses("version 4.403.1").is_empty());
        assert!(statuses("order #404 costs $429").is_empty());
        assert_eq!(statuses("our widget init gets a 423."), [423]);
        assert_eq!(
            statuses("failing with status 423. Nobody changed it"),
            [423]
        );
        assert_eq!(statuses("423 on init?? wut"), [423]);
        assert!(statuses("rated 403.5 out of 500.").is_empty());
        assert!(statuses("500 visitors a day and the bubble is gone").is_empty());
        // An adverb between the verb and the status.
        assert_eq!(
            statuses("wir bekommen ständig 429 vom Init-Endpunkt"),
            [429]
        );
        assert_eq!(statuses("the init request still returns again 404"), [404]);
        assert!(statuses("we get constantly 500 visitors an hour").is_empty());
    }

    #[test]
    fn bare_statuses_are_listed_numbers_without_a_context() {
        let listed: HashSet<u16> = [423, 429].into_iter().collect();
        assert_eq!(bare_statuses("api says 423", &listed), [423]);
        assert!(bare_statuses("api says 418", &listed).is_empty());
        // A status in a status-like context is not bare.
        assert!(bare_statuses("HTTP 429 on init", &listed).is_empty());
    }

    #[test]
    fn lcs_counts_in_order_words() {
        let a: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let b: Vec<String> = ["a", "x", "b", "y", "c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(lcs(&a, &b), 3);
    }
}
