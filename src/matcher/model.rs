//! The fitted model: how much each feature counts, and the decision
//! thresholds. A conditional logit over the candidates plus a "none of
//! them" option: each candidate scores `w · x` on its entry features, the
//! none option scores `v · z` on the question's features (cues, unknown
//! words, out-of-scope topics), and a softmax turns the scores into
//! probabilities. The parameters are data (`knowledge/matcher.json`),
//! written by `triage fit`.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::classifier::Classifier;
use super::prototypes::Prototypes;
use crate::kb::KnowledgeBase;

/// The entry features, in vector order.
pub const ENTRY_FEATURES: [&str; 23] = [
    "coverage",
    "absolute",
    "symptom",
    "bigram",
    "focus",
    "error",
    "status",
    "status_bare",
    "product_match",
    "product_other",
    "bm25",
    "semantic",
    "semantic_gap",
    "semantic_centroid",
    "semantic_check",
    "semantic_sentence",
    "prototype",
    "nearest",
    "nearest_gap",
    "status_alone",
    "classifier",
    "word_classifier",
    "neighbours",
];
pub const N_ENTRY: usize = ENTRY_FEATURES.len();

/// The question features of the "none of them" option, in vector order.
pub const QUERY_FEATURES: [&str; 22] = [
    "bias",
    "no_trouble",
    "failure",
    "request",
    "billing",
    "own_code",
    "greeting",
    "calm",
    "topic",
    "topic_semantic",
    "unknown",
    "few_terms",
    "length",
    "request_calm",
    "billing_calm",
    "greeting_short",
    "prototype_none",
    "nearest_none",
    "nearest_none_gap",
    "classifier_none",
    "word_classifier_none",
    "neighbours_none",
];
pub const N_QUERY: usize = QUERY_FEATURES.len();

/// One fitted parameter set.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Weight of each entry feature, by name.
    pub entry: BTreeMap<String, f32>,
    /// Weight of each question feature of the none option, by name.
    pub none: BTreeMap<String, f32>,
    /// The top candidate's probability at or above which the decision is
    /// `answer` (with `answer_margin` over the runner-up).
    pub answer_min: f32,
    pub answer_margin: f32,
    /// Below this probability the decision is `none`.
    pub suggest_min: f32,
    /// The same symptom in another product within this share of the top
    /// probability, with nothing saying which product: offer both.
    pub twin_ratio: f32,
}

/// Both parameter sets: with the semantic features, and lexical only for
/// when no embedding model is loaded.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fitted {
    /// How and on what the parameters were fitted, for people.
    pub about: String,
    /// The embedding model from outside the binary these were fitted
    /// with (`name fingerprint`); absent for the shipped tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub semantic: Params,
    pub lexical: Params,
    /// The semantic set for a knowledge base that shares no entry with
    /// the labelled questions (a freshly imported product): fitted with
    /// what is learned from them left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlearned: Option<Params>,
    /// How customers word each entry, for the semantic set's `prototype`
    /// features (learned by `triage fit`).
    #[serde(default, skip_serializing_if = "Prototypes::is_empty")]
    pub prototypes: Prototypes,
    /// Which entry a question's embedding points at, for the semantic
    /// set's `classifier` features (learned by `triage fit`).
    #[serde(default, skip_serializing_if = "Classifier::is_empty")]
    pub classifier: Classifier,
    /// Which entry a question's words point at, for the semantic set's
    /// `word_classifier` features (learned by `triage fit`).
    #[serde(default, skip_serializing_if = "Classifier::is_empty")]
    pub word_classifier: Classifier,
}

/// The parameters shipped with the binary (`knowledge/matcher.json`).
pub const SHIPPED: &str = include_str!("../../knowledge/matcher.json");

impl Fitted {
    /// The entries of `kb` these parameters learned nothing about (added
    /// since the last fit): the classifiers have no class for them. Empty
    /// when nothing was learned, or when no entry was (another knowledge
    /// base: the `unlearned` set applies).
    pub fn entries_added_since<'a>(&self, kb: &'a KnowledgeBase) -> Vec<&'a str> {
        let learned: HashSet<&str> = self.classifier.classes.iter().map(String::as_str).collect();
        let added: Vec<&str> = kb
            .entries()
            .iter()
            .map(|e| e.id.as_str())
            .filter(|id| !learned.contains(id))
            .collect();
        if added.len() == kb.entries().len() {
            Vec::new()
        } else {
            added
        }
    }

    pub fn parse(json: &str) -> anyhow::Result<Self> {
        let f: Fitted = serde_json::from_str(json)?;
        for p in [&f.semantic, &f.lexical].into_iter().chain(&f.unlearned) {
            for name in p.entry.keys() {
                anyhow::ensure!(
                    ENTRY_FEATURES.contains(&name.as_str()),
                    "unknown entry feature '{name}' in the fitted parameters"
                );
            }
            for name in p.none.keys() {
                anyhow::ensure!(
                    QUERY_FEATURES.contains(&name.as_str()),
                    "unknown question feature '{name}' in the fitted parameters"
                );
            }
        }
        Ok(f)
    }
}

/// A parameter set as dense weight vectors.
#[derive(Clone, Debug)]
pub struct Weights {
    pub entry: [f32; N_ENTRY],
    pub none: [f32; N_QUERY],
    pub answer_min: f32,
    pub answer_margin: f32,
    pub suggest_min: f32,
    pub twin_ratio: f32,
}

impl From<&Params> for Weights {
    fn from(p: &Params) -> Self {
        let mut entry = [0.0; N_ENTRY];
        for (i, n) in ENTRY_FEATURES.iter().enumerate() {
            entry[i] = p.entry.get(*n).copied().unwrap_or(0.0);
        }
        let mut none = [0.0; N_QUERY];
        for (i, n) in QUERY_FEATURES.iter().enumerate() {
            none[i] = p.none.get(*n).copied().unwrap_or(0.0);
        }
        Weights {
            entry,
            none,
            answer_min: p.answer_min,
            answer_margin: p.answer_margin,
            suggest_min: p.suggest_min,
            twin_ratio: p.twin_ratio,
        }
    }
}

impl Weights {
    /// Thresholds with every weight 0.
    pub fn thresholds(
        answer_min: f32,
        answer_margin: f32,
        suggest_min: f32,
        twin_ratio: f32,
    ) -> Self {
        Weights {
            entry: [0.0; N_ENTRY],
            none: [0.0; N_QUERY],
            answer_min,
            answer_margin,
            suggest_min,
            twin_ratio,
        }
    }

    /// Back to named parameters.
    pub fn to_params(&self) -> Params {
        Params {
            entry: ENTRY_FEATURES
                .iter()
                .zip(self.entry)
                .map(|(n, w)| ((*n).to_owned(), round(w)))
                .collect(),
            none: QUERY_FEATURES
                .iter()
                .zip(self.none)
                .map(|(n, w)| ((*n).to_owned(), round(w)))
                .collect(),
            answer_min: round(self.answer_min),
            answer_margin: round(self.answer_margin),
            suggest_min: round(self.suggest_min),
            twin_ratio: round(self.twin_ratio),
        }
    }

    /// Probabilities of each candidate and of none, from their scores.
    pub fn probabilities(
        &self,
        entries: &[[f32; N_ENTRY]],
        query: &[f32; N_QUERY],
    ) -> (Vec<f32>, f32) {
        softmax(
            entries.iter().map(|x| dot(&self.entry, x)),
            dot(&self.none, query),
        )
    }
}

fn round(x: f32) -> f32 {
    (x * 10_000.0).round() / 10_000.0
}

fn dot(w: &[f32], x: &[f32]) -> f32 {
    w.iter().zip(x).map(|(a, b)| a * b).sum()
}

/// Softmax over the candidates' scores and the none option's score.
pub fn softmax(scores: impl Iterator<Item = f32>, none: f32) -> (Vec<f32>, f32) {
    let scores: Vec<f32> = scores.collect();
    let max = scores.iter().copied().fold(none, f32::max);
    let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
    let none_exp = (none - max).exp();
    let z = exp.iter().sum::<f32>() + none_exp;
    (exp.into_iter().map(|e| e / z).collect(), none_exp / z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_parameters_parse_and_name_known_features() {
        let f = Fitted::parse(SHIPPED).expect("shipped parameters parse");
        assert!(f.semantic.answer_min > f.semantic.suggest_min);
        assert!(f.lexical.answer_min > f.lexical.suggest_min);
    }

    #[test]
    fn unknown_feature_names_are_refused() {
        let mut f = Fitted::parse(SHIPPED).expect("shipped parameters parse");
        f.semantic.entry.insert("colour".into(), 1.0);
        let json = serde_json::to_string(&f).expect("serializes");
        let err = Fitted::parse(&json).expect_err("refused");
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn softmax_sums_to_one_with_the_none_option() {
        let (p, none) = softmax([1.0, 2.0, 0.5].into_iter(), 0.0);
        let total: f32 = p.iter().sum::<f32>() + none;
        assert!((total - 1.0).abs() < 1e-5);
        assert!(p[1] > p[0] && p[0] > p[2]);
    }
}
