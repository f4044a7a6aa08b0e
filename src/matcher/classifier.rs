//! Linear classifiers learned from the labelled questions: one weight
//! vector per entry and one for out of scope, and a softmax over them.
//! Prototypes (`prototypes`) compare a question with the mean of each
//! entry's questions; a classifier instead learns which directions tell
//! the entries apart, and which tell trouble we cover from trouble we
//! don't. Two read a question: one its embedding, one its analysed words
//! (each word hashed to a column, so no word is stored). Their
//! log-probabilities are fitted features (`classifier`, `word_classifier`
//! and their `_none` twins).
//!
//! Fitted data, written by `triage fit` into `matcher.json`: the embedding
//! classifier reads the raw embedding (before the knowledge base's mean
//! phrasing is taken out), so it stays valid when the knowledge base's
//! phrasings change. Its weights ship on the standardised embedding (each
//! dimension less the training questions' mean, over their spread), where
//! every dimension is on one scale and int8 rows lose little, with that
//! mean and spread; they are folded onto the raw embedding when bound.
//! Weights are quantized like the prototypes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::prototypes::{decode, encode};
use super::semantic::dot;

/// A classifier as it ships: classes (entry ids, then
/// [`super::prototypes::OUT_OF_SCOPE`]), one weight row and one bias each.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Classifier {
    /// The length of a weight row: the embedding's length (a classifier
    /// of another model is ignored), or the number of word columns.
    pub dim: usize,
    /// The L2 penalty it was trained with (chosen by cross-validation).
    pub l2: f32,
    pub classes: Vec<String>,
    /// Per class, its weights as the prototypes' vectors are stored.
    pub weights: Vec<String>,
    pub bias: Vec<f32>,
    /// A word classifier's columns: the hash of the word each reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<u32>,
    /// An embedding classifier's standardisation, when its weights and
    /// biases act on `(x - mean) * scale` rather than on `x`: the training
    /// questions' mean embedding, and one over each dimension's spread.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mean: Vec<f32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scale: Vec<f32>,
}

impl Classifier {
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// From dense weights (`classes` rows of `dim`) and biases.
    pub fn from_dense(
        dim: usize,
        l2: f32,
        classes: Vec<String>,
        w: &[f32],
        bias: Vec<f32>,
    ) -> Self {
        Self {
            dim,
            l2,
            weights: w.chunks_exact(dim.max(1)).map(encode).collect(),
            classes,
            bias,
            columns: Vec::new(),
            mean: Vec::new(),
            scale: Vec::new(),
        }
    }

    /// The weights as dense rows and the biases, both on the raw input,
    /// when none is damaged; `None` otherwise.
    pub fn dense(&self) -> Option<(Vec<f32>, Vec<f32>)> {
        let n = self.classes.len();
        if self.weights.len() != n || self.bias.len() != n {
            return None;
        }
        if !self.columns.is_empty() && self.columns.len() != self.dim {
            return None;
        }
        let mut w = Vec::with_capacity(n * self.dim);
        for s in &self.weights {
            w.extend(decode(s, self.dim)?);
        }
        if self.mean.is_empty() && self.scale.is_empty() {
            return Some((w, self.bias.clone()));
        }
        if self.mean.len() != self.dim || self.scale.len() != self.dim {
            return None;
        }
        Some(fold(&w, &self.bias, &self.mean, &self.scale))
    }
}

/// Weights and biases on the standardised input `(x - mean) * scale` as
/// weights and biases on `x`: `w' = w * scale`, `b' = b - w'·mean`.
pub(super) fn fold(w: &[f32], b: &[f32], mean: &[f32], scale: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let d = mean.len().max(1);
    let mut raw = Vec::with_capacity(w.len());
    let mut bias = Vec::with_capacity(b.len());
    for (row, &b) in w.chunks_exact(d).zip(b) {
        let folded: Vec<f32> = row.iter().zip(scale).map(|(w, s)| w * s).collect();
        let shift: f64 = folded
            .iter()
            .zip(mean)
            .map(|(&w, &m)| f64::from(w) * f64::from(m))
            .sum();
        bias.push((f64::from(b) - shift) as f32);
        raw.extend(folded);
    }
    (raw, bias)
}

/// A classifier bound to a knowledge base: its weights decoded, and each
/// key's class (entries in the knowledge base's order, then out of scope).
#[derive(Clone, Debug)]
pub(super) struct Bound {
    w: Vec<f32>,
    b: Vec<f32>,
    dim: usize,
    class_of: Vec<Option<usize>>,
    /// A word classifier's column of each word hash.
    columns: HashMap<u32, usize>,
}

impl Bound {
    /// `c` for a knowledge base with keys `keys` (entry ids, then the
    /// out-of-scope key); `None` when it is empty, damaged, of another
    /// length than `dim` (when given), or shares no entry with the
    /// knowledge base: out of scope means "none of the entries the
    /// questions were labelled against", which says nothing about another
    /// product's entries.
    pub(super) fn new(c: &Classifier, keys: &[&str], dim: Option<usize>) -> Option<Self> {
        if c.is_empty() || dim.is_some_and(|d| d != c.dim) {
            return None;
        }
        let class_of: Vec<Option<usize>> = keys
            .iter()
            .map(|k| c.classes.iter().position(|x| x == k))
            .collect();
        let n_entries = keys.len().saturating_sub(1);
        if !class_of[..n_entries].iter().any(Option::is_some) {
            return None;
        }
        let (w, b) = c.dense()?;
        Some(Self {
            w,
            b,
            dim: c.dim,
            class_of,
            columns: c.columns.iter().enumerate().map(|(i, &h)| (h, i)).collect(),
        })
    }

    /// Each key's log-probability for an embedding.
    pub(super) fn embedding(&self, x: &[f32]) -> Vec<f32> {
        by_key(&log_probs(&self.w, &self.b, x), &self.class_of)
    }

    /// Each key's log-probability for a word vector (`word_vector`).
    pub(super) fn words(&self, x: &[(u32, f32)]) -> Vec<f32> {
        let cols: Vec<(usize, f32)> = x
            .iter()
            .filter_map(|(h, v)| self.columns.get(h).map(|&c| (c, *v)))
            .collect();
        let s = sparse_scores(&self.w, &self.b, self.dim, &cols);
        by_key(&normalised(s), &self.class_of)
    }
}

/// A question's words as a classifier reads them: each distinct word's
/// hash (FNV-1a), at value 1/√n so every question has unit length.
pub fn word_vector<'a>(words: impl IntoIterator<Item = &'a str>) -> Vec<(u32, f32)> {
    let mut hashes: Vec<u32> = words
        .into_iter()
        .map(|w| {
            w.bytes().fold(0x811c_9dc5u32, |h, b| {
                (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
            })
        })
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    let v = 1.0 / (hashes.len().max(1) as f32).sqrt();
    hashes.into_iter().map(|h| (h, v)).collect()
}

/// Scores less their log-sum-exp: log-probabilities, none below
/// `LOG_PROB_FLOOR`. A linear classifier read far from its training
/// questions (a long paste of logs around one error line) extrapolates to
/// any certainty; below one chance in ten thousand, how unlikely a key is
/// says nothing more.
pub(super) fn normalised(mut s: Vec<f32>) -> Vec<f32> {
    let max = s.iter().copied().fold(f32::MIN, f32::max);
    let z = s.iter().map(|v| (v - max).exp()).sum::<f32>().ln() + max;
    s.iter_mut().for_each(|v| *v = (*v - z).max(LOG_PROB_FLOOR));
    s
}

/// ln(1e-4): the least log-probability a classifier gives.
const LOG_PROB_FLOOR: f32 = -9.21;

/// Each class's log-probability for the embedding `x`, from dense
/// weights `w` (rows of `x.len()`) and biases `b`.
pub(super) fn log_probs(w: &[f32], b: &[f32], x: &[f32]) -> Vec<f32> {
    normalised(dense_scores(w, b, x))
}

/// Each class's score before the softmax for the embedding `x`.
pub(super) fn dense_scores(w: &[f32], b: &[f32], x: &[f32]) -> Vec<f32> {
    w.chunks_exact(x.len())
        .zip(b)
        .map(|(row, b)| dot(row, x) + b)
        .collect()
}

/// Each class's score before the softmax for a sparse input of (column,
/// value) pairs, from weight rows of `dim` columns.
pub(super) fn sparse_scores(w: &[f32], b: &[f32], dim: usize, x: &[(usize, f32)]) -> Vec<f32> {
    w.chunks_exact(dim.max(1))
        .zip(b)
        .map(|(row, b)| x.iter().map(|&(c, v)| row[c] * v).sum::<f32>() + b)
        .collect()
}

/// Per key, its class's value in `lp` (by `class_of`). A key without a
/// class (an entry added since the last fit) gets the log of the mass the
/// classifier gives the entries as a whole, one less the out-of-scope
/// key's probability: the classifier cannot tell it from the entries it
/// knows, so it neither counts against it nor for it beside them, and it
/// still counts against it when the question is out of scope. (The
/// entries' median, used before, sits at the floor for any question that
/// is about one entry: an added entry was all but never found until the
/// next fit.) An out-of-scope key without a class (a classifier taught
/// no out-of-scope question) gets the floor: the classifier gave out of
/// scope nothing.
pub(super) fn by_key(lp: &[f32], class_of: &[Option<usize>]) -> Vec<f32> {
    let n_entries = class_of.len().saturating_sub(1);
    let out_of_scope = class_of.get(n_entries).copied().flatten().map(|c| lp[c]);
    let in_scope_mass = 1.0 - out_of_scope.map_or(0.0, f32::exp);
    let in_scope = in_scope_mass.max(0.0).ln().max(LOG_PROB_FLOOR);
    class_of
        .iter()
        .enumerate()
        .map(|(k, c)| match c {
            Some(c) => lp[*c],
            None if k < n_entries => in_scope,
            None => LOG_PROB_FLOOR,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_probabilities_normalise_and_follow_the_weights() {
        let w = [1.0, 0.0, 0.0, 1.0, -1.0, -1.0];
        let lp = log_probs(&w, &[0.0, 0.0, 0.0], &[2.0, 0.5]);
        let total: f32 = lp.iter().map(|x| x.exp()).sum();
        assert!((total - 1.0).abs() < 1e-5);
        assert!(lp[0] > lp[1] && lp[1] > lp[2]);
    }

    fn three() -> Classifier {
        let w: Vec<f32> = (0..12).map(|i| (i as f32 * 0.7).sin()).collect();
        Classifier::from_dense(
            4,
            0.01,
            vec!["a/x".into(), "b/y".into(), "(out of scope)".into()],
            &w,
            vec![0.1, 0.2, 0.3],
        )
    }

    #[test]
    fn a_classifier_round_trips_and_refuses_damage() {
        let c = three();
        let json = serde_json::to_string(&c).expect("serializes");
        let back: Classifier = serde_json::from_str(&json).expect("parses");
        let (dense, bias) = back.dense().expect("decodes");
        assert_eq!(bias, vec![0.1, 0.2, 0.3]);
        for (i, a) in dense.iter().enumerate() {
            let want = (i as f32 * 0.7).sin();
            assert!((a - want).abs() < 0.01, "{i}: {a} vs {want}");
        }
        let mut damaged = back.clone();
        damaged.weights[1] = "not base64!".into();
        assert!(damaged.dense().is_none());
        let mut short = back.clone();
        short.mean = vec![0.0; 3];
        short.scale = vec![1.0; 3];
        assert!(
            short.dense().is_none(),
            "a standardisation of another length"
        );
    }

    #[test]
    fn standardised_weights_score_the_raw_input_as_they_scored_the_standardised_one() {
        let mut c = three();
        c.mean = vec![3.0, -0.5, 0.25, 1.0];
        c.scale = vec![10.0, 0.5, 2.0, 0.0];
        let (w_std, b_std) = three().dense().expect("decodes");
        let (w, b) = c.dense().expect("folds");
        let x = [3.1f32, 0.5, -1.0, 7.0];
        let z: Vec<f32> = x
            .iter()
            .zip(&c.mean)
            .zip(&c.scale)
            .map(|((x, m), s)| (x - m) * s)
            .collect();
        let (raw, standard) = (log_probs(&w, &b, &x), log_probs(&w_std, &b_std, &z));
        for (p, q) in raw.iter().zip(&standard) {
            assert!((p - q).abs() < 1e-4, "{raw:?} vs {standard:?}");
        }
    }

    #[test]
    fn binding_needs_a_shared_entry_and_the_right_length() {
        let c = three();
        let keys = ["a/x", "c/new", "(out of scope)"];
        let b = Bound::new(&c, &keys, Some(4)).expect("binds");
        let lp = b.embedding(&[1.0, 0.0, 0.5, 0.2]);
        assert_eq!(lp.len(), 3);
        // The entry it never learned gets the entries' mass as a whole.
        let in_scope = (1.0 - lp[2].exp()).ln();
        assert!((lp[1] - in_scope).abs() < 1e-5, "{lp:?}");
        assert!(lp[1] >= lp[0]);
        assert!(Bound::new(&c, &keys, Some(8)).is_none());
        assert!(Bound::new(&c, &["p/one", "p/two", "(out of scope)"], Some(4)).is_none());
    }

    #[test]
    fn word_vectors_are_unit_length_and_ignore_repeats() {
        let v = word_vector(["widget", "gone", "widget"]);
        assert_eq!(v.len(), 2);
        let len: f32 = v.iter().map(|(_, x)| x * x).sum();
        assert!((len - 1.0).abs() < 1e-6);
        assert_ne!(v[0].0, v[1].0);
        assert!(word_vector(std::iter::empty()).is_empty());
    }
}
