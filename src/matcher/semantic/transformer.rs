//! A sentence transformer of the BERT family (all-MiniLM-L6-v2 and its
//! kin) run with candle on the CPU, loaded from a local directory in the
//! Hugging Face / sentence-transformers layout: `config.json`,
//! `model.safetensors`, `tokenizer.json`, and optionally
//! `sentence_bert_config.json` (the longest input) and
//! `1_Pooling/config.json` (which must say mean pooling). A text's
//! embedding is the mean of its tokens' last hidden states, normalised:
//! what sentence-transformers computes for these models. Nothing is
//! downloaded; `scripts/fetch-transformer` puts a model in place.

use std::path::Path;

use anyhow::{bail, Context};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationParams};

use super::cache::{DiskCache, KEPT_ROWS};
use crate::fnv::fnv1a64;

/// Texts run through the network at once by `embed_many`: long enough to
/// keep the matrix products busy, short enough that sorting by length
/// leaves little padding.
pub(super) const BATCH: usize = 32;

pub(super) struct Transformer {
    /// Texts already embedded, by hash: a knowledge base's phrasings
    /// across reloads, and `triage fit`'s questions, read several times.
    memo: std::sync::Mutex<std::collections::HashMap<u64, Vec<f32>>>,
    /// Where batches' embeddings are kept for the next process.
    disk: Option<DiskCache>,
    model: BertModel,
    tokenizer: Tokenizer,
    dim: usize,
    /// The directory's name: which fitted parameters go with it
    /// (`matcher.<name>.json`).
    name: String,
    /// Tells this model's files from another's of the same name.
    fingerprint: String,
}

impl Transformer {
    /// Loads the model in `dir`, with what is wrong in the error.
    pub(super) fn load(dir: &Path) -> anyhow::Result<Self> {
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
        };
        let config_bytes = read("config.json")?;
        let config: Config = serde_json::from_slice(&config_bytes)
            .with_context(|| format!("{}/config.json is not a BERT config", dir.display()))?;
        if let Ok(pooling) = read("1_Pooling/config.json") {
            let pooling: serde_json::Value = serde_json::from_slice(&pooling)
                .with_context(|| format!("{}/1_Pooling/config.json", dir.display()))?;
            if pooling["pooling_mode_mean_tokens"] != serde_json::Value::Bool(true) {
                bail!(
                    "{}: only mean pooling is supported (1_Pooling/config.json)",
                    dir.display()
                );
            }
        }
        let max_tokens = read("sentence_bert_config.json")
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["max_seq_length"].as_u64())
            .map_or(super::MAX_TOKENS, |n| n as usize)
            .min(config.max_position_embeddings);
        let weights = read("model.safetensors")?;
        let fingerprint = format!(
            "{:016x}-{}",
            fnv1a64(config_bytes.iter().copied()),
            weights.len()
        );
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .with_context(|| format!("{}/model.safetensors", dir.display()))?;
        let model = BertModel::load(vb, &config)
            .with_context(|| format!("{}: the weights do not fit config.json", dir.display()))?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| anyhow::anyhow!("{}/tokenizer.json: {e}", dir.display()))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| anyhow::anyhow!("{}/tokenizer.json: {e}", dir.display()))?;
        let name = name_of(dir);
        let disk = DiskCache::for_model(&name, &fingerprint, config.hidden_size);
        let t = Self {
            memo: Default::default(),
            disk,
            model,
            tokenizer,
            dim: config.hidden_size,
            name,
            fingerprint,
        };
        t.recall();
        Ok(t)
    }

    /// Keeps batches' embeddings in `disk` instead of the user's cache
    /// directory, and reads what it holds.
    #[cfg(test)]
    fn with_disk(mut self, disk: DiskCache) -> Self {
        self.disk = Some(disk);
        self.forget();
        self.recall();
        self
    }

    /// Remembers what the disk cache holds.
    fn recall(&self) {
        let Some(disk) = &self.disk else { return };
        let rows = disk.read();
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        memo.extend(rows.into_iter().take(KEPT_ROWS));
    }

    pub(super) fn dim(&self) -> usize {
        self.dim
    }

    /// Forgets every text embedded so far.
    pub(super) fn forget(&self) {
        self.memo.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    pub(super) fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The unit-length embedding of each of `texts`, run as one batch
    /// (padded to the longest); a text with nothing but spaces is all
    /// zeros, as the static tables give a text of no known token. With
    /// `keep`, the new embeddings are also kept on disk for the next
    /// process (never for a customer's question).
    pub(super) fn embed(&self, texts: &[&str], keep: bool) -> anyhow::Result<Vec<Vec<f32>>> {
        let mut out = vec![vec![0.0; self.dim]; texts.len()];
        let keys: Vec<u64> = texts.iter().map(|t| fnv1a64(t.bytes())).collect();
        let live: Vec<usize> = {
            let memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
            (0..texts.len())
                .filter(|&i| !texts[i].trim().is_empty())
                .filter(|&i| match memo.get(&keys[i]) {
                    Some(v) => {
                        out[i].clone_from(v);
                        false
                    }
                    None => true,
                })
                .collect()
        };
        if live.is_empty() {
            return Ok(out);
        }
        let inputs: Vec<&str> = live.iter().map(|&i| texts[i]).collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?;
        let len = encodings
            .iter()
            .map(|e| e.get_ids().len())
            .max()
            .unwrap_or(0)
            .max(1);
        let n = encodings.len();
        let mut ids = vec![0u32; n * len];
        let mut mask = vec![0u32; n * len];
        for (row, e) in encodings.iter().enumerate() {
            for (col, (&id, &m)) in e.get_ids().iter().zip(e.get_attention_mask()).enumerate() {
                ids[row * len + col] = id;
                mask[row * len + col] = m;
            }
        }
        let device = Device::Cpu;
        let ids = Tensor::from_vec(ids, (n, len), &device)?;
        let mask = Tensor::from_vec(mask, (n, len), &device)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        let weights = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&weights)?.sum(1)?;
        let counts = weights.sum(1)?.clamp(1e-9f32, f32::MAX)?;
        let rows: Vec<Vec<f32>> = summed.broadcast_div(&counts)?.to_vec2()?;
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() + live.len() > KEPT_ROWS {
            memo.clear();
        }
        for (&i, mut row) in live.iter().zip(rows) {
            super::normalize(&mut row);
            memo.insert(keys[i], row.clone());
            out[i] = row;
        }
        drop(memo);
        if let (true, Some(disk)) = (keep, &self.disk) {
            let new: Vec<(u64, &[f32])> =
                live.iter().map(|&i| (keys[i], out[i].as_slice())).collect();
            disk.append(&new);
        }
        Ok(out)
    }
}

/// The model's name: its directory's, lower-cased, with anything but
/// letters, digits, `-` and `_` made `-`.
fn name_of(dir: &Path) -> String {
    let base = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "model".to_owned());
    base.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Needs the model (`TRIAGE_TEST_MODEL`, as tests/transformer.rs).
    #[test]
    fn embeddings_kept_on_disk_come_back_for_the_next_process() {
        let Some(dir) = std::env::var_os("TRIAGE_TEST_MODEL") else {
            eprintln!("skipped: set TRIAGE_TEST_MODEL=DIR");
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let disk = || DiskCache::at(tmp.path().join("m.bin"), 384);
        let load = || {
            Transformer::load(Path::new(&dir))
                .expect("the test model loads")
                .with_disk(disk())
        };
        let texts = ["the chat bubble never shows up", "no sound on calls"];
        let first = load();
        let fresh = first.embed(&texts, true).expect("embeds");
        first
            .embed(&["a customer's own question"], false)
            .expect("embeds");
        let kept: Vec<u64> = disk().read().into_iter().map(|(k, _)| k).collect();
        assert_eq!(kept.len(), 2, "only the batch kept with `keep` is on disk");
        let second = load();
        assert_eq!(second.memo.lock().expect("memo").len(), 2);
        assert_eq!(second.embed(&texts, false).expect("embeds"), fresh);
    }

    #[test]
    fn a_name_is_safe_in_a_file_name() {
        assert_eq!(
            name_of(Path::new("/no/such/All MiniLM.v2")),
            "all-minilm-v2"
        );
    }

    #[test]
    fn a_directory_without_a_model_says_which_file_is_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Transformer::load(dir.path()).err().expect("no model there");
        assert!(format!("{err:#}").contains("config.json"), "{err:#}");
        std::fs::write(dir.path().join("config.json"), "{\"not\": \"bert\"}").expect("write");
        let err = Transformer::load(dir.path())
            .err()
            .expect("not a BERT config");
        assert!(format!("{err:#}").contains("not a BERT config"), "{err:#}");
    }
}
