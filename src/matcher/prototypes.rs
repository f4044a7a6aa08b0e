//! How customers word each entry, learned from labelled questions: an
//! entry's prototype is the mean embedding of the questions labelled with
//! it (and one more for the out-of-scope questions). The knowledge base's
//! phrasings are written from the pages; prototypes carry the words real
//! reports use for the same trouble. They are fitted data, written by
//! `triage fit` into `matcher.json` beside the weights, never knowledge
//! text: only vectors are kept, no question.
//!
//! A prototype is stored as the raw mean of the shipped models' unit
//! embeddings (before the knowledge base's mean is taken out), quantized
//! to one signed byte per dimension with its own scale and base64-encoded,
//! so it stays valid when the knowledge base's phrasings change.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The key of the out-of-scope prototype.
pub const OUT_OF_SCOPE: &str = "(out of scope)";

/// Every learned prototype, by entry id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prototypes {
    /// The embedding's length; prototypes of another model are ignored.
    pub dim: usize,
    pub entries: BTreeMap<String, Prototype>,
}

/// One entry's prototype.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prototype {
    /// How many labelled questions it is the mean of.
    pub questions: usize,
    /// The value of one quantization step.
    pub scale: f32,
    /// The quantized mean, one signed byte per dimension, in base64.
    pub vector: String,
}

impl Prototypes {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The mean vector of `key`, when it was learned for an embedding of
    /// length `dim`.
    pub fn get(&self, key: &str, dim: usize) -> Option<Vec<f32>> {
        if self.dim != dim {
            return None;
        }
        let p = self.entries.get(key)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&p.vector)
            .ok()?;
        (bytes.len() == dim).then(|| {
            bytes
                .iter()
                .map(|&b| f32::from(b as i8) * p.scale)
                .collect()
        })
    }

    /// Prototypes from per-key sums of raw embeddings and their counts.
    pub fn from_sums(dim: usize, sums: &Sums) -> Self {
        let entries = sums
            .by_key
            .iter()
            .filter(|(_, (_, n))| *n > 0)
            .map(|(k, (sum, n))| {
                let mean: Vec<f32> = sum.iter().map(|x| x / *n as f32).collect();
                (k.clone(), quantize(&mean, *n))
            })
            .collect();
        Self { dim, entries }
    }
}

/// Running sums of raw embeddings per key (an entry id or
/// [`OUT_OF_SCOPE`]), with how many questions each holds.
#[derive(Clone, Debug, Default)]
pub struct Sums {
    pub by_key: BTreeMap<String, (Vec<f32>, usize)>,
}

impl Sums {
    pub fn add(&mut self, key: &str, v: &[f32]) {
        let (sum, n) = self
            .by_key
            .entry(key.to_owned())
            .or_insert_with(|| (vec![0.0; v.len()], 0));
        sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
        *n += 1;
    }
}

fn quantize(mean: &[f32], questions: usize) -> Prototype {
    let max = mean.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    let bytes: Vec<u8> = mean
        .iter()
        .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8 as u8)
        .collect();
    Prototype {
        questions,
        scale,
        vector: base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prototype_survives_quantization_closely() {
        let mut sums = Sums::default();
        let a: Vec<f32> = (0..64).map(|i| ((i as f32) * 0.37).sin() * 0.2).collect();
        let b: Vec<f32> = (0..64).map(|i| ((i as f32) * 0.11).cos() * 0.1).collect();
        sums.add("x/one", &a);
        sums.add("x/one", &b);
        let p = Prototypes::from_sums(64, &sums);
        let json = serde_json::to_string(&p).expect("serializes");
        let back: Prototypes = serde_json::from_str(&json).expect("parses");
        let got = back.get("x/one", 64).expect("present");
        for i in 0..64 {
            let want = (a[i] + b[i]) / 2.0;
            assert!((got[i] - want).abs() < 0.002, "{i}: {} vs {want}", got[i]);
        }
        assert_eq!(back.entries["x/one"].questions, 2);
    }

    #[test]
    fn another_models_prototypes_are_ignored() {
        let mut sums = Sums::default();
        sums.add("x/one", &[0.5; 8]);
        let p = Prototypes::from_sums(8, &sums);
        assert!(p.get("x/one", 8).is_some());
        assert!(p.get("x/one", 16).is_none());
        assert!(p.get("x/two", 8).is_none());
    }
}
