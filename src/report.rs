//! What the query log says about the knowledge base: answer rate,
//! self-service resolution, escalations, the questions nobody could answer
//! (grouped), a funnel per entry and the checks most often already tried.
//! Pure: `compute` takes the log; `triage report` and `/stats` render it.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use time::OffsetDateTime;

use crate::kb::{CheckId, EntryId, KnowledgeBase};
use crate::matcher::Decision;
use crate::tickets::{Feedback, QueryRecord};

/// How many unanswered groups, funnel rows and tried checks are listed.
pub const TOP: usize = 10;

/// The figures for one period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// Questions asked.
    pub questions: usize,
    /// The matcher's first decision on each.
    pub decisions: Decisions,
    /// Questions that got a checklist (a direct answer, or an entry picked
    /// from suggestions or after naming the product).
    pub answered: usize,
    /// Answered questions the customer marked solved.
    pub solved: usize,
    /// Questions that ended in a ticket.
    pub escalated: usize,
    /// answered / questions.
    pub answer_rate: f64,
    /// solved / answered: self-service resolution.
    pub self_service_rate: f64,
    /// escalated / questions.
    pub escalation_rate: f64,
    /// Questions that got no checklist, similar ones grouped, biggest first.
    pub unanswered: Vec<UnansweredGroup>,
    /// Per entry shown: how often, and what came of it. Most shown first.
    pub funnel: Vec<EntryFunnel>,
    /// Checks customers said they had already tried, most often first.
    pub tried: Vec<TriedCount>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Decisions {
    pub answer: usize,
    pub suggest: usize,
    pub none: usize,
}

/// Similar unanswered questions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnansweredGroup {
    pub count: usize,
    /// The most common wording.
    pub example: String,
    /// Up to three other wordings.
    pub variants: Vec<String>,
}

/// answered → solved / escalated, for one entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EntryFunnel {
    pub entry: EntryId,
    pub title: String,
    pub answered: usize,
    pub solved: usize,
    pub escalated: usize,
    /// Answered, then asked for other matches and did not come back.
    pub more: usize,
    /// Answered and never heard of again.
    pub silent: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TriedCount {
    pub entry: EntryId,
    pub check: CheckId,
    /// The check's cause, as the knowledge base words it now.
    pub cause: String,
    pub count: usize,
}

/// Computes the report over `records` (already limited to the period).
pub fn compute(
    records: &[QueryRecord],
    kb: &KnowledgeBase,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Report {
    let mut decisions = Decisions::default();
    let (mut answered, mut solved, mut escalated) = (0, 0, 0);
    let mut funnel: BTreeMap<EntryId, EntryFunnel> = BTreeMap::new();
    let mut tried: HashMap<(EntryId, CheckId), usize> = HashMap::new();
    let mut unanswered: Vec<&str> = Vec::new();

    for q in records {
        match q.decision {
            Decision::Answer => decisions.answer += 1,
            Decision::Suggest => decisions.suggest += 1,
            Decision::None => decisions.none += 1,
        }
        if q.ticket.is_some() {
            escalated += 1;
        }
        let Some(entry) = &q.entry else {
            unanswered.push(&q.text);
            continue;
        };
        answered += 1;
        let row = funnel.entry(entry.clone()).or_insert_with(|| EntryFunnel {
            entry: entry.clone(),
            title: kb
                .entry(entry.as_str())
                .map_or_else(|| entry.to_string(), |e| e.title.clone()),
            answered: 0,
            solved: 0,
            escalated: 0,
            more: 0,
            silent: 0,
        });
        row.answered += 1;
        if q.ticket.is_some() {
            row.escalated += 1;
        } else {
            match q.feedback {
                Some(Feedback::Solved) => {
                    row.solved += 1;
                    solved += 1;
                }
                Some(Feedback::More) => row.more += 1,
                Some(Feedback::StillBroken) | None => row.silent += 1,
            }
        }
        for c in &q.tried {
            *tried.entry((entry.clone(), c.clone())).or_default() += 1;
        }
    }

    let mut funnel: Vec<EntryFunnel> = funnel.into_values().collect();
    funnel.sort_by(|a, b| {
        b.answered
            .cmp(&a.answered)
            .then_with(|| a.entry.cmp(&b.entry))
    });
    funnel.truncate(TOP);

    let mut tried: Vec<TriedCount> = tried
        .into_iter()
        .map(|((entry, check), count)| TriedCount {
            cause: kb
                .entry(entry.as_str())
                .and_then(|e| e.checks.iter().find(|c| c.id == check))
                .map_or_else(|| check.to_string(), |c| c.cause.clone()),
            entry,
            check,
            count,
        })
        .collect();
    tried.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.entry.cmp(&b.entry))
            .then_with(|| a.check.cmp(&b.check))
    });
    tried.truncate(TOP);

    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Report {
        since,
        until,
        questions: records.len(),
        decisions,
        answered,
        solved,
        escalated,
        answer_rate: ratio(answered, records.len()),
        self_service_rate: ratio(solved, answered),
        escalation_rate: ratio(escalated, records.len()),
        unanswered: group(&unanswered),
        funnel,
        tried,
    }
}

/// Words that carry no meaning for grouping.
const STOP: &[&str] = &[
    "a", "an", "the", "is", "are", "was", "were", "be", "it", "its", "my", "our", "on", "in", "at",
    "to", "of", "for", "and", "or", "but", "with", "i", "we", "you", "me", "this", "that", "there",
    "does", "do", "not", "dont", "doesnt", "no", "any", "why", "how", "what", "when", "can",
    "cant", "help", "please", "hi", "hello", "just", "so", "have", "has", "get", "got",
];

/// Lowercase words without punctuation or stop words, plurals folded.
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace(['\'', '’'], "")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !STOP.contains(w))
        .map(|w| {
            if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") {
                w[..w.len() - 1].to_owned()
            } else {
                w.to_owned()
            }
        })
        .collect()
}

/// Groups similar texts: same normalized words, or word sets that overlap
/// by at least 60% (Jaccard). Greedy, most frequent wording first.
fn group(texts: &[&str]) -> Vec<UnansweredGroup> {
    // Identical normalized texts first, counting each wording.
    let mut by_norm: Vec<(String, HashSet<String>, BTreeMap<String, usize>)> = Vec::new();
    for t in texts {
        let w = words(t);
        let norm = w.join(" ");
        let shown = t.trim().to_owned();
        match by_norm.iter_mut().find(|(n, _, _)| *n == norm) {
            Some((_, _, wordings)) => *wordings.entry(shown).or_default() += 1,
            None => by_norm.push((norm, w.into_iter().collect(), BTreeMap::from([(shown, 1)]))),
        }
    }
    by_norm.sort_by_key(|(_, _, w)| std::cmp::Reverse(w.values().sum::<usize>()));

    let mut groups: Vec<(HashSet<String>, BTreeMap<String, usize>)> = Vec::new();
    for (_, set, wordings) in by_norm {
        let home = groups.iter_mut().find(|(g, _)| jaccard(g, &set) >= 0.6);
        match home {
            Some((_, w)) => {
                for (k, v) in wordings {
                    *w.entry(k).or_default() += v;
                }
            }
            None => groups.push((set, wordings)),
        }
    }
    let mut out: Vec<UnansweredGroup> = groups
        .into_iter()
        .map(|(_, wordings)| {
            let count = wordings.values().sum();
            let mut ranked: Vec<(String, usize)> = wordings.into_iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let mut it = ranked.into_iter().map(|(w, _)| w);
            UnansweredGroup {
                count,
                example: it.next().unwrap_or_default(),
                variants: it.take(3).collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.example.cmp(&b.example))
    });
    out.truncate(TOP);
    out
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let inter = a.intersection(b).count();
    let union = a.union(b).count();
    inter as f64 / union as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_questions_group_together() {
        let g = group(&[
            "Widget won't load on Safari",
            "the widget wont load on safari!",
            "widget won't load on Safari iOS",
            "invoice is wrong",
        ]);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].count, 3);
        assert_eq!(g[1].example, "invoice is wrong");
    }
}
