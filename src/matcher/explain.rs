//! `triage match --explain`: why a question matched what it did, for
//! knowledge editors: the analyzed words, the cues, the closest
//! out-of-scope topic, and for each candidate and for the none option
//! every feature's value and its contribution (weight x value) to the
//! fitted score.

use serde::Serialize;

use crate::kb::{EntryId, ProductId};

use super::model::{ENTRY_FEATURES, QUERY_FEATURES};
use super::{rank, Decision, Matcher, Query, TopicScore};

/// One feature's part in a score.
#[derive(Clone, Debug, Serialize)]
pub struct Contribution {
    pub feature: &'static str,
    pub value: f32,
    /// weight x value, added to the score.
    pub contribution: f32,
}

/// One scored option: a candidate entry, an out-of-scope topic, or none.
#[derive(Clone, Debug, Serialize)]
pub struct Scored {
    /// The entry, when the option is one.
    pub id: Option<EntryId>,
    /// The out-of-scope topic, when the option is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    pub probability: f32,
    /// The fitted score (the softmax's input): the sum of contributions.
    pub score: f32,
    /// Features that contribute, largest first.
    pub features: Vec<Contribution>,
    /// The query words the entry has, with their weight.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<(String, f32)>,
}

/// Why a question matched what it did (`triage match --explain`).
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// The analyzed terms of the question (`~` marks a typo-corrected word).
    pub terms: Vec<String>,
    pub statuses: Vec<u16>,
    /// The product detected from the text.
    pub detected: Option<ProductId>,
    /// Whether sentence similarity is on.
    pub semantic: bool,
    /// The question-type cues found (`cues.yaml`).
    pub cues: Vec<&'static str>,
    /// The out-of-scope topic closest to the question, if any shares words.
    pub topic: Option<TopicScore>,
    pub decision: Decision,
    /// The none option, every candidate entry and every out-of-scope
    /// topic that competed, most probable first. A topic's probability
    /// counts for none.
    pub options: Vec<Scored>,
}

impl Matcher {
    /// The evidence behind `find`'s decision, for people editing the
    /// knowledge base.
    pub fn explain(&self, q: &Query<'_>) -> Option<Explanation> {
        let (a, f) = self.features(q)?;
        let w = &self.weights;
        let ranked = rank(w, &f, &self.twins, |e| self.prep.profiles[e].product);
        let text = super::question_text(q.text);
        let text = text.as_ref();
        let contributions = |names: &[&'static str], ws: &[f32], xs: &[f32]| {
            let mut v: Vec<Contribution> = names
                .iter()
                .zip(ws.iter().zip(xs))
                .filter(|(_, (w, x))| **x != 0.0 && **w != 0.0)
                .map(|(n, (w, x))| Contribution {
                    feature: n,
                    value: *x,
                    contribution: w * x,
                })
                .collect();
            v.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
            v
        };
        let (p, p_none) = w.probabilities(&f.x, &f.z);
        let mut options: Vec<Scored> = Vec::with_capacity(f.entries.len() + 1);
        let none_features = contributions(&QUERY_FEATURES, &w.none, &f.z);
        options.push(Scored {
            id: None,
            topic: None,
            probability: p_none,
            score: none_features.iter().map(|c| c.contribution).sum(),
            features: none_features,
            matched: Vec::new(),
        });
        let lex = self.prep.lexical(&a, None, &f.entries);
        for (i, &e) in f.entries.iter().enumerate() {
            let features = contributions(&ENTRY_FEATURES, &w.entry, &f.x[i]);
            let matched = lex
                .iter()
                .find(|l| l.entry == e)
                .map(|l| {
                    l.matched_ids
                        .iter()
                        .map(|&(t, w)| (self.prep.term_names[t as usize].clone(), w))
                        .collect()
                })
                .unwrap_or_default();
            let (id, topic) = if f.topic[i] {
                let t = &self.kb.out_of_scope()[e - self.prep.n_entries];
                (None, Some(t.id.clone()))
            } else {
                (Some(self.kb.entries()[e].id.clone()), None)
            };
            options.push(Scored {
                id,
                topic,
                probability: p[i],
                score: features.iter().map(|c| c.contribution).sum(),
                features,
                matched,
            });
        }
        options.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        let shown = a.cues;
        let cues = [
            ("request", shown.request),
            ("billing", shown.billing),
            ("own_code", shown.own_code),
            ("greeting", shown.greeting),
            ("calm", shown.calm),
        ]
        .into_iter()
        .filter_map(|(n, on)| on.then_some(n))
        .collect();
        let lead = lex.iter().max_by(|a, b| a.coverage.total_cmp(&b.coverage));
        Some(Explanation {
            terms: self
                .prep
                .lex
                .analyze(text)
                .into_iter()
                .map(|t| {
                    if t.corrected {
                        format!("{}~", t.text)
                    } else {
                        t.text
                    }
                })
                .collect(),
            statuses: a.statuses.clone(),
            detected: a.detected.map(|p| self.prep.product_ids[p].clone()),
            semantic: self.semantic.is_some(),
            cues,
            topic: self.prep.topic(&a, lead),
            decision: ranked.decision,
            options,
        })
    }
}
