//! Matching: turns a customer's text into a decision (`answer`, `suggest`,
//! `none`) over the knowledge base's entries, with the check the words point
//! at. This is the contract the engine and `triage match` rely on.
//!
//! PLACEHOLDER: the scoring below is a naive word overlap so that other
//! modules can be built against the types; issue 3 replaces it.

use std::sync::Arc;

use serde::Serialize;

use crate::kb::{CheckId, EntryId, KnowledgeBase, ProductId};

/// A question to match.
#[derive(Clone, Debug, Default)]
pub struct Query<'a> {
    pub text: &'a str,
    /// The product of the channel the question came from; restricts the
    /// search to that product's entries.
    pub product: Option<&'a ProductId>,
}

/// What the bot should do with a question.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Confident: post the entry's checklist.
    Answer,
    /// Plausible but close or weak: offer the top few to choose from.
    Suggest,
    /// Out of scope or too little to go on.
    None,
}

/// One ranked entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    pub id: EntryId,
    pub title: String,
    /// Confidence in 0..=1; comparable within one result.
    pub score: f32,
}

/// The result of matching one question (the `match --json` contract).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Match {
    pub decision: Decision,
    /// The product the question is about, when known.
    pub product: Option<ProductId>,
    /// Best first, at most 5.
    pub results: Vec<Candidate>,
    /// The check of the top entry the user's words point at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckId>,
}

/// Matches questions against one knowledge base. Cheap to share (`Arc`).
pub struct Matcher {
    kb: Arc<KnowledgeBase>,
}

impl Matcher {
    pub fn new(kb: Arc<KnowledgeBase>) -> anyhow::Result<Self> {
        Ok(Self { kb })
    }

    pub fn kb(&self) -> &Arc<KnowledgeBase> {
        &self.kb
    }

    pub fn find(&self, q: &Query<'_>) -> Match {
        let words: Vec<String> = q
            .text
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 2)
            .map(str::to_owned)
            .collect();
        let mut scored: Vec<Candidate> = self
            .kb
            .entries()
            .iter()
            .filter(|e| q.product.is_none_or(|p| e.id.product() == p.as_str()))
            .map(|e| {
                let hay = format!("{} {}", e.title, e.symptoms.join(" ")).to_lowercase();
                let hits = words.iter().filter(|w| hay.contains(w.as_str())).count();
                Candidate {
                    id: e.id.clone(),
                    title: e.title.clone(),
                    score: hits as f32 / (words.len().max(1) as f32),
                }
            })
            .filter(|c| c.score > 0.0)
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score));
        scored.truncate(5);
        let decision = match scored.first() {
            Some(c) if c.score > 0.5 => Decision::Answer,
            Some(_) => Decision::Suggest,
            None => Decision::None,
        };
        Match {
            decision,
            product: q.product.cloned(),
            results: scored,
            check: None,
        }
    }
}
