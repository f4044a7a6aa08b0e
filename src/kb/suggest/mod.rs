//! `triage kb suggest`: what the query log says the knowledge base should
//! learn. Phrasings (questions answered and then solved, as new symptoms of
//! their entry), gaps (unanswered questions, grouped, each with a proposed
//! entry stub or out-of-scope topic) and weak checks (checks customers had
//! already tried before escalating). Pure: the caller turns its log into
//! [`Asked`] rows and writes the [`Review`] file; `apply` takes the
//! editor's accepted items back into the YAML.

mod apply;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

pub use apply::{apply, Applied, ApplyError};

use super::{CheckId, EntryId, KnowledgeBase, ProductId};

/// One logged question, as suggestions need it. The log is in the order
/// the questions were asked.
#[derive(Clone, Debug)]
pub struct Asked {
    /// Who asked where (the conversation), so that a question nothing
    /// answered can be tied to the entry that solved the same customer's
    /// next wording.
    pub conversation: String,
    pub text: String,
    /// The channel's or the detected product.
    pub product: Option<ProductId>,
    /// The entry whose checklist was shown, if one was.
    pub entry: Option<EntryId>,
    pub solved: bool,
    pub escalated: bool,
    /// Checks the customer said they had already tried.
    pub tried: Vec<CheckId>,
}

/// The review file: every item starts `accept: false`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    #[serde(default)]
    pub phrasings: Vec<PhrasingItem>,
    #[serde(default)]
    pub gaps: Vec<GapItem>,
    #[serde(default)]
    pub weak_checks: Vec<WeakCheck>,
}

/// A customer's wording that an entry solved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhrasingItem {
    pub entry: EntryId,
    /// Redacted: addresses, URLs, keys and long numbers replaced.
    pub text: String,
    /// How many solved questions had this wording.
    pub asked: usize,
    pub accept: bool,
}

/// Similar questions nothing answered, and what to do about them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GapItem {
    pub asked: usize,
    /// The wordings, most common first (redacted).
    pub examples: Vec<String>,
    pub propose: Proposal,
    pub accept: bool,
}

/// What an accepted gap becomes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Proposal {
    /// The questions are about a topic the knowledge base does not answer:
    /// add them to its phrasings.
    OutOfScope { topic: String },
    /// A new entry that goes straight to escalation until someone writes
    /// its checks. `product` is null when the questions named none.
    NewEntry {
        product: Option<ProductId>,
        id: String,
        title: String,
        symptoms: Vec<String>,
    },
}

/// A check customers had usually tried already before escalating: its
/// wording may not land, or it may belong further down the list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeakCheck {
    pub entry: EntryId,
    pub check: CheckId,
    pub cause: String,
    pub tried_before_escalating: usize,
    /// Escalations from this entry in all.
    pub escalations: usize,
}

/// The header written above the review file's YAML.
pub const REVIEW_HEADER: &str = "\
# Suggestions from the query log, written by `triage kb suggest`.
# Nothing here changes the knowledge files. Set `accept: true` on each
# phrasing and gap that should go in (edit the text first if you like),
# then run `triage kb apply THIS_FILE`. Weak checks are for reading: reword
# the check, or move it down the list, by hand.
";

/// Computes the suggestions.
pub fn suggest(log: &[Asked], kb: &KnowledgeBase) -> Review {
    let (phrasings, explained) = phrasings(log, kb);
    Review {
        phrasings,
        gaps: gaps(log, &explained, kb),
        weak_checks: weak_checks(log, kb),
    }
}

/// Which questions became phrasings: answered-then-solved questions, and
/// the unanswered wordings the same customer tried just before a question
/// that was then solved (they said the same thing in words the knowledge
/// base did not know yet). Returns the items and the indices of the
/// unanswered questions they explain.
fn phrasings(log: &[Asked], kb: &KnowledgeBase) -> (Vec<PhrasingItem>, HashSet<usize>) {
    let mut out: Vec<PhrasingItem> = Vec::new();
    let mut explained = HashSet::new();
    let mut pending: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, a) in log.iter().enumerate() {
        if a.entry.is_none() {
            pending.entry(&a.conversation).or_default().push(i);
            continue;
        }
        let before = pending.remove(a.conversation.as_str()).unwrap_or_default();
        if !a.solved || a.escalated {
            continue;
        }
        let Some(entry) = a.entry.as_ref().and_then(|id| kb.entry(id.as_str())) else {
            continue;
        };
        explained.extend(before.iter().copied());
        for text in before
            .iter()
            .map(|&j| log[j].text.as_str())
            .chain([a.text.as_str()])
        {
            let text = redact(text);
            let w = words(&text);
            if w.len() < 2 || text.chars().count() > 300 {
                continue;
            }
            if entry.symptoms.iter().any(|s| similar(&words(s), &w)) {
                continue;
            }
            match out
                .iter_mut()
                .find(|p| p.entry == entry.id && similar(&words(&p.text), &w))
            {
                Some(p) => p.asked += 1,
                None => out.push(PhrasingItem {
                    entry: entry.id.clone(),
                    text,
                    asked: 1,
                    accept: false,
                }),
            }
        }
    }
    out.sort_by(|a, b| b.asked.cmp(&a.asked).then_with(|| a.entry.cmp(&b.entry)));
    (out, explained)
}

fn gaps(log: &[Asked], explained: &HashSet<usize>, kb: &KnowledgeBase) -> Vec<GapItem> {
    // Groups of similar unanswered wordings: (word set, wordings, products).
    type Group = (HashSet<String>, BTreeMap<String, usize>, Vec<ProductId>);
    let mut groups: Vec<Group> = Vec::new();
    for (_, a) in log
        .iter()
        .enumerate()
        .filter(|(i, a)| a.entry.is_none() && !explained.contains(i))
    {
        let text = redact(&a.text);
        let w = words(&text);
        // "2", "hi": a reply out of turn, not a question.
        if w.len() < 2 {
            continue;
        }
        let home = groups.iter_mut().find(|(g, _, _)| jaccard(g, &w) >= 0.5);
        let (_, wordings, products) = match home {
            Some(g) => g,
            None => {
                groups.push((w, BTreeMap::new(), Vec::new()));
                groups.last_mut().expect("just pushed")
            }
        };
        *wordings.entry(text).or_default() += 1;
        products.extend(a.product.clone());
    }
    let topics: Vec<(&str, Vec<HashSet<String>>)> = kb
        .out_of_scope()
        .iter()
        .map(|t| {
            let mut sets: Vec<HashSet<String>> = t.phrasings.iter().map(|p| words(p)).collect();
            sets.push(words(&t.title));
            (t.id.as_str(), sets)
        })
        .collect();
    let mut out: Vec<GapItem> = groups
        .into_iter()
        .map(|(set, wordings, products)| {
            let asked = wordings.values().sum();
            let mut ranked: Vec<(String, usize)> = wordings.into_iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let examples: Vec<String> = ranked.into_iter().map(|(w, _)| w).take(5).collect();
            let topic = topics
                .iter()
                .map(|(id, sets)| {
                    let best = sets
                        .iter()
                        .map(|s| {
                            let shared = s.intersection(&set).count();
                            if shared >= 2 {
                                shared as f64 / s.len().min(set.len()).max(1) as f64
                            } else {
                                0.0
                            }
                        })
                        .fold(0.0, f64::max);
                    (*id, best)
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .filter(|(_, s)| *s >= 0.5);
            let propose = match topic {
                Some((id, _)) => Proposal::OutOfScope {
                    topic: id.to_owned(),
                },
                None => {
                    let product = most_common(&products);
                    let title = examples[0].clone();
                    let slug = super::import::slug(&title, 6);
                    Proposal::NewEntry {
                        id: match &product {
                            Some(p) => format!("{p}/{slug}"),
                            None => slug,
                        },
                        product,
                        title,
                        symptoms: examples.clone(),
                    }
                }
            };
            GapItem {
                asked,
                examples,
                propose,
                accept: false,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.asked
            .cmp(&a.asked)
            .then_with(|| a.examples.cmp(&b.examples))
    });
    out
}

fn weak_checks(log: &[Asked], kb: &KnowledgeBase) -> Vec<WeakCheck> {
    let mut escalations: HashMap<&EntryId, usize> = HashMap::new();
    let mut tried: HashMap<(&EntryId, &CheckId), usize> = HashMap::new();
    for a in log.iter().filter(|a| a.escalated) {
        let Some(e) = &a.entry else { continue };
        *escalations.entry(e).or_default() += 1;
        for c in &a.tried {
            *tried.entry((e, c)).or_default() += 1;
        }
    }
    let mut out: Vec<WeakCheck> = tried
        .into_iter()
        .filter_map(|((e, c), n)| {
            let entry = kb.entry(e.as_str())?;
            let check = entry.checks.iter().find(|x| x.id == *c)?;
            Some(WeakCheck {
                entry: e.clone(),
                check: c.clone(),
                cause: check.cause.clone(),
                tried_before_escalating: n,
                escalations: escalations.get(e).copied().unwrap_or(n),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.tried_before_escalating
            .cmp(&a.tried_before_escalating)
            .then_with(|| a.entry.cmp(&b.entry))
            .then_with(|| a.check.cmp(&b.check))
    });
    out
}

fn most_common(products: &[ProductId]) -> Option<ProductId> {
    let mut count: BTreeMap<&ProductId, usize> = BTreeMap::new();
    for p in products {
        *count.entry(p).or_default() += 1;
    }
    count
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(p, _)| p.clone())
}

/// Personal details out of a customer's wording before it becomes
/// knowledge: e-mail addresses, URLs, long numbers and key-like strings.
/// (Secrets were already redacted when the question was logged.)
pub fn redact(text: &str) -> String {
    static EMAIL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[\w.+-]+@[\w-]+(\.[\w-]+)+").expect("static regex"));
    static URL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)\bhttps?://\S+").expect("static regex"));
    static KEY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b([A-Za-z]{2,8}[_-])[A-Za-z0-9]{6,}\b").expect("static regex")
    });
    static NUMBER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b\d[\d -]{5,}\d\b").expect("static regex"));
    let t = EMAIL.replace_all(text, "[email]");
    let t = URL.replace_all(&t, "[url]");
    let t = KEY.replace_all(&t, |c: &regex::Captures| {
        let whole = &c[0];
        // A key has digits in it; `call-ended` and `widget_key` are words.
        if whole.chars().any(|ch| ch.is_ascii_digit()) {
            format!("{}[key]", &c[1])
        } else {
            whole.to_owned()
        }
    });
    let t = NUMBER.replace_all(&t, "[number]");
    super::import::collapse_ws(&t)
}

/// Lowercase words without punctuation; small words dropped.
fn words(text: &str) -> HashSet<String> {
    const STOP: &[&str] = &[
        "the", "a", "an", "is", "are", "was", "it", "my", "our", "on", "in", "at", "to", "of",
        "for", "and", "or", "i", "we", "you", "me", "this", "that", "hi", "hello", "please",
        "help", "just", "so", "any", "can", "there",
    ];
    text.to_lowercase()
        .replace(['\'', '’'], "")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !STOP.contains(w))
        .map(str::to_owned)
        .collect()
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// Near-duplicates: the same words, give or take one in five.
fn similar(a: &HashSet<String>, b: &HashSet<String>) -> bool {
    jaccard(a, b) >= 0.8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_words_and_drops_details() {
        assert_eq!(
            redact("mail me at jo.doe@shop.com, key app_9f8e7d6c on https://shop.com/x?y=1 order 1234 5678"),
            "mail me at [email], key app_[key] on [url] order [number]"
        );
        assert_eq!(
            redact("the call-ended webhook and widget_key"),
            "the call-ended webhook and widget_key"
        );
    }
}
