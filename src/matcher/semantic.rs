//! Sentence similarity from static embeddings (Model2Vec): each token has a
//! fixed vector, a text is the normalised mean of its tokens' vectors, so a
//! question is embedded in microseconds with no neural network at run time.
//! The shipped model (`models/wordllama-l2/`) is WordLlama's `l2_supercat`
//! table, exported by `scripts/export-model.py` and compiled into the
//! binary, so no download is ever needed.

use std::path::Path;

use model2vec_rs::model::StaticModel;

/// The shipped model's files, compiled in.
const TOKENIZER: &[u8] = include_bytes!("../../models/wordllama-l2/tokenizer.json");
const WEIGHTS: &[u8] = include_bytes!("../../models/wordllama-l2/model.safetensors");
const CONFIG: &[u8] = include_bytes!("../../models/wordllama-l2/config.json");

/// Tokens of a question that count; a 10,000-character paste is cut here.
const MAX_TOKENS: usize = 256;

/// A static embedding model.
pub struct Semantic {
    model: StaticModel,
}

impl std::fmt::Debug for Semantic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Semantic")
            .field("dim", &self.model.dim())
            .finish()
    }
}

impl Semantic {
    /// The model compiled into the binary.
    pub fn shipped() -> anyhow::Result<Self> {
        let model = StaticModel::from_bytes(TOKENIZER, WEIGHTS, CONFIG, Some(true))?;
        Ok(Self { model })
    }

    /// A Model2Vec model folder (`tokenizer.json`, `model.safetensors`,
    /// `config.json`) on disk.
    pub fn from_dir(dir: &Path) -> anyhow::Result<Self> {
        let model = StaticModel::from_pretrained(dir, None, Some(true), None)?;
        Ok(Self { model })
    }

    pub fn dim(&self) -> usize {
        self.model.dim()
    }

    /// The unit-length embedding of `text` (all zeros when no token of it
    /// is known). Numbers are left out: the model spells them digit by
    /// digit, so "403" would sit close to "400" and "2024"; statuses and
    /// versions are the exact evidence's business, not similarity's.
    pub fn embed(&self, text: &str) -> Vec<f32> {
        let mut v = self
            .model
            .encode_with_args(&[without_numbers(text)], Some(MAX_TOKENS), 1)
            .pop()
            .unwrap_or_default();
        v.resize(self.dim(), 0.0);
        normalize(&mut v);
        v
    }
}

/// `text` with every run of ASCII digits replaced by a space.
fn without_numbers(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_digit() { ' ' } else { c })
        .collect()
}

/// Scales `v` to unit length; a zero vector stays zero.
pub fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// Dot product of two equally long vectors (cosine for unit vectors).
/// Eight running sums, so the compiler can keep them in vector registers
/// (a single float sum must be added in order and is not vectorised);
/// this is most of the semantic features' cost.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn related_sentences_are_closer_than_unrelated_ones() {
        let s = Semantic::shipped().expect("the shipped model loads");
        let a = s.embed("nobody can hear me during the call");
        let b = s.embed("the other side gets no sound from my microphone");
        let c = s.embed("how do I download last month's invoice");
        assert!(dot(&a, &b) > dot(&a, &c));
        assert!((dot(&a, &a) - 1.0).abs() < 1e-4);
    }

    #[test]
    fn numbers_do_not_count_as_similarity() {
        let s = Semantic::shipped().expect("the shipped model loads");
        let a = s.embed("the request failed with 403");
        let b = s.embed("the request failed with 400");
        assert!((dot(&a, &b) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-4);
    }

    #[test]
    fn empty_and_huge_texts_embed_without_panicking() {
        let s = Semantic::shipped().expect("the shipped model loads");
        assert_eq!(s.embed("").len(), s.dim());
        let long = "widget ".repeat(10_000);
        assert_eq!(s.embed(&long).len(), s.dim());
    }
}
