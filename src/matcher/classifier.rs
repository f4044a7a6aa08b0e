//! A linear classifier over question embeddings, learned from the labelled
//! questions: one weight vector per entry and one for out of scope, and a
//! softmax over them. Prototypes (`prototypes`) compare a question with the
//! mean of each entry's questions; the classifier instead learns which
//! directions of the embedding tell the entries apart, and which tell
//! trouble we cover from trouble we don't. Its log-probabilities are two
//! fitted features (`classifier`, `classifier_none`).
//!
//! Fitted data, written by `triage fit` into `matcher.json`: each class's
//! weights act on the raw embedding (before the knowledge base's mean
//! phrasing is taken out), quantized like the prototypes, so they stay
//! valid when the knowledge base's phrasings change.

use serde::{Deserialize, Serialize};

use super::prototypes::{decode, encode};
use super::semantic::dot;

/// The classifier as it ships: classes (entry ids, then
/// [`super::prototypes::OUT_OF_SCOPE`]), one weight row and one bias each.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Classifier {
    /// The embedding's length; a classifier of another model is ignored.
    pub dim: usize,
    /// The L2 penalty it was trained with (chosen by cross-validation).
    pub l2: f32,
    pub classes: Vec<String>,
    /// Per class, its weights as the prototypes' vectors are stored.
    pub weights: Vec<String>,
    pub bias: Vec<f32>,
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
            weights: w.chunks_exact(dim).map(encode).collect(),
            classes,
            bias,
        }
    }

    /// The weights as dense rows, when they fit an embedding of length
    /// `dim` and none is damaged; `None` otherwise.
    pub fn dense(&self, dim: usize) -> Option<Vec<f32>> {
        if self.dim != dim || self.weights.len() != self.classes.len() {
            return None;
        }
        if self.bias.len() != self.classes.len() {
            return None;
        }
        let mut w = Vec::with_capacity(self.classes.len() * dim);
        for s in &self.weights {
            w.extend(decode(s, dim)?);
        }
        Some(w)
    }
}

/// Each class's log-probability for the raw embedding `x`, from dense
/// weights `w` (rows of `x.len()`) and biases `b`.
pub fn log_probs(w: &[f32], b: &[f32], x: &[f32]) -> Vec<f32> {
    let mut s: Vec<f32> = w
        .chunks_exact(x.len())
        .zip(b)
        .map(|(row, b)| dot(row, x) + b)
        .collect();
    let max = s.iter().copied().fold(f32::MIN, f32::max);
    let z = s.iter().map(|v| (v - max).exp()).sum::<f32>().ln() + max;
    s.iter_mut().for_each(|v| *v -= z);
    s
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

    #[test]
    fn a_classifier_round_trips_and_refuses_another_dimension() {
        let w: Vec<f32> = (0..12).map(|i| (i as f32 * 0.7).sin()).collect();
        let c = Classifier::from_dense(
            4,
            0.01,
            vec!["a/x".into(), "b/y".into(), "c/z".into()],
            &w,
            vec![0.1, 0.2, 0.3],
        );
        let json = serde_json::to_string(&c).expect("serializes");
        let back: Classifier = serde_json::from_str(&json).expect("parses");
        let dense = back.dense(4).expect("fits");
        for (a, b) in dense.iter().zip(&w) {
            assert!((a - b).abs() < 0.01, "{a} vs {b}");
        }
        assert!(back.dense(8).is_none());
        let mut damaged = back.clone();
        damaged.weights[1] = "not base64!".into();
        assert!(damaged.dense(4).is_none());
    }
}
