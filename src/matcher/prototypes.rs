//! How customers word each entry, learned from labelled questions. The
//! knowledge base's phrasings are written from the pages; the labelled
//! questions carry the words real reports use for the same trouble. Two
//! features read them: an entry's prototype (the mean embedding of its
//! questions) and its nearest question. They are fitted data, written by
//! `triage fit` into `matcher.json` beside the weights, never knowledge
//! text: only each question's embedding is kept, not its words.
//!
//! Embeddings are stored raw (before the knowledge base's mean phrasing
//! is taken out, so they stay valid when the phrasings change), quantized
//! to one signed byte per dimension with their own scale, in base64.

use std::collections::BTreeMap;

use base64::Engine as _;

use super::semantic;
use crate::kb::KnowledgeBase;
use serde::{Deserialize, Serialize};

/// The key of the out-of-scope prototype.
pub const OUT_OF_SCOPE: &str = "(out of scope)";

/// The keys what is learned from labelled questions is stored under, in
/// order: the knowledge base's entry ids, then [`OUT_OF_SCOPE`].
pub fn keys(kb: &KnowledgeBase) -> Vec<&str> {
    kb.entries()
        .iter()
        .map(|e| e.id.as_str())
        .chain(std::iter::once(OUT_OF_SCOPE))
        .collect()
}

/// Every labelled question's embedding, by the entry it is labelled with
/// (or [`OUT_OF_SCOPE`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prototypes {
    /// The embedding's length; vectors of another model are ignored.
    pub dim: usize,
    /// Per key, its questions' embeddings: each the scale of one
    /// quantization step (4 bytes, little-endian f32) then one signed
    /// byte per dimension, in base64.
    pub entries: BTreeMap<String, Vec<String>>,
}

impl Prototypes {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The embeddings learned for `key`, when they were learned for an
    /// embedding of length `dim` (unreadable ones are skipped).
    pub fn examples(&self, key: &str, dim: usize) -> Vec<Vec<f32>> {
        if self.dim != dim {
            return Vec::new();
        }
        let Some(list) = self.entries.get(key) else {
            return Vec::new();
        };
        list.iter().filter_map(|s| decode(s, dim)).collect()
    }

    /// Prototypes from each key's raw embeddings.
    pub fn from_examples(dim: usize, by_key: &BTreeMap<String, Vec<Vec<f32>>>) -> Self {
        let entries = by_key
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.iter().map(|x| encode(x)).collect()))
            .collect();
        Self { dim, entries }
    }
}

/// The mean of equally long vectors (empty for none).
pub fn mean(vs: &[Vec<f32>]) -> Vec<f32> {
    let Some(first) = vs.first() else {
        return Vec::new();
    };
    let mut m = vec![0.0f32; first.len()];
    for v in vs {
        m.iter_mut().zip(v).for_each(|(a, x)| *a += x);
    }
    let n = vs.len() as f32;
    m.iter_mut().for_each(|a| *a /= n);
    m
}

/// `v` as stored: its int8 step (`semantic::quantize`), then each value
/// as an int8, in base64.
pub(super) fn encode(v: &[f32]) -> String {
    let (q, scale) = semantic::quantize(v);
    let scale = if scale > 0.0 { scale } else { 1.0 };
    let mut bytes = scale.to_le_bytes().to_vec();
    bytes.extend(q.iter().map(|&x| x as u8));
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `v` as it reads back after `encode`, without the text in between:
/// each value rounded to its row's int8 step.
pub(super) fn as_shipped(v: &[f32]) -> Vec<f32> {
    let (q, scale) = semantic::quantize(v);
    q.iter().map(|&x| f32::from(x) * scale).collect()
}

pub(super) fn decode(s: &str, dim: usize) -> Option<Vec<f32>> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    if bytes.len() != dim + 4 {
        return None;
    }
    let scale = f32::from_le_bytes(bytes[..4].try_into().ok()?);
    scale.is_finite().then(|| {
        bytes[4..]
            .iter()
            .map(|&b| f32::from(b as i8) * scale)
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_example_survives_quantization_closely() {
        let a: Vec<f32> = (0..64).map(|i| ((i as f32) * 0.37).sin() * 0.2).collect();
        let b: Vec<f32> = (0..64).map(|i| ((i as f32) * 0.11).cos() * 0.1).collect();
        let by_key = BTreeMap::from([("x/one".to_owned(), vec![a.clone(), b.clone()])]);
        let p = Prototypes::from_examples(64, &by_key);
        let json = serde_json::to_string(&p).expect("serializes");
        let back: Prototypes = serde_json::from_str(&json).expect("parses");
        let got = back.examples("x/one", 64);
        assert_eq!(got.len(), 2);
        for (g, w) in got.iter().zip([&a, &b]) {
            for i in 0..64 {
                assert!((g[i] - w[i]).abs() < 0.002, "{i}: {} vs {}", g[i], w[i]);
            }
        }
        let m = mean(&got);
        assert!((m[3] - (a[3] + b[3]) / 2.0).abs() < 0.002);
    }

    #[test]
    fn another_models_or_damaged_vectors_are_ignored() {
        let by_key = BTreeMap::from([("x/one".to_owned(), vec![vec![0.5; 8]])]);
        let mut p = Prototypes::from_examples(8, &by_key);
        assert_eq!(p.examples("x/one", 8).len(), 1);
        assert!(p.examples("x/one", 16).is_empty());
        assert!(p.examples("x/two", 8).is_empty());
        p.entries
            .get_mut("x/one")
            .expect("present")
            .push("not base64!".into());
        assert_eq!(p.examples("x/one", 8).len(), 1);
    }
}
