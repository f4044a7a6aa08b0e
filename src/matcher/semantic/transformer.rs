//! A sentence transformer, BERT (all-MiniLM-L6-v2 and its kin, candle's
//! own) or MPNet (all-mpnet-base-v2, `super::mpnet`) by `config.json`'s
//! `model_type`, run with candle on the CPU, loaded from a local
//! directory in the Hugging Face / sentence-transformers layout:
//! `config.json`, `model.safetensors`, `tokenizer.json`, and optionally
//! `sentence_bert_config.json` (the longest input) and
//! `1_Pooling/config.json` (which must say mean pooling). A text's
//! embedding is the mean of its tokens' last hidden states, normalised:
//! what sentence-transformers computes for these models. Nothing is
//! downloaded; `scripts/fetch-transformer` puts a model in place. A
//! knowledge base's adapter for the model (`super::adapter`) is added to
//! the weights as the network is built.

use std::path::Path;

use anyhow::{bail, Context};
use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationParams};

use super::adapter::{Adapted, Adapter};
use super::cache::{DiskCache, KEPT_ROWS};
use super::mpnet::{self, MpNet};
use crate::fnv::fnv1a64;

/// Texts run through the network at once by `embed_many`: long enough to
/// keep the matrix products busy, short enough that sorting by length
/// leaves little padding.
pub(super) const BATCH: usize = 32;

/// One text's last hidden states, a row per token.
type States = Vec<Vec<f32>>;

/// A text's embedding and its parts'.
pub(super) type WithParts = (Vec<f32>, Vec<Vec<f32>>);

pub(super) struct Transformer {
    /// Texts already embedded, by hash: a knowledge base's phrasings
    /// across reloads, and `triage fit`'s questions, read several times.
    memo: std::sync::Mutex<std::collections::HashMap<u64, Vec<f32>>>,
    /// Where batches' embeddings are kept for the next process.
    disk: Option<DiskCache>,
    model: Network,
    tokenizer: Tokenizer,
    dim: usize,
    /// The directory's name: which fitted parameters go with it
    /// (`matcher.<name>.json`).
    name: String,
    /// Tells this model's files from another's of the same name.
    fingerprint: String,
}

impl Transformer {
    /// Loads the model in `dir`, with what is wrong in the error, and
    /// the adapter fitted for it in the knowledge base `kb`
    /// (`adapter.<name>.safetensors`) if there is one.
    pub(super) fn load(dir: &Path, kb: Option<&Path>) -> anyhow::Result<Self> {
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
        };
        let config_bytes = read("config.json")?;
        let config = Architecture::of(&config_bytes).with_context(|| {
            format!(
                "{}/config.json is not a BERT or MPNet config",
                dir.display()
            )
        })?;
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
            .min(config.max_positions());
        let weights_path = dir.join("model.safetensors");
        let weights_len = std::fs::metadata(&weights_path)
            .with_context(|| format!("reading {}", weights_path.display()))?
            .len();
        let name = name_of(dir);
        let adapter = kb
            .map(|kb| kb.join(format!("adapter.{name}.safetensors")))
            .filter(|p| p.is_file())
            .map(|p| Adapter::load(&p).map(|a| (p, a)))
            .transpose()?;
        let fingerprint = format!(
            "{:016x}-{}{}",
            fnv1a64(config_bytes.iter().copied()),
            weights_len,
            adapter
                .as_ref()
                .map_or(String::new(), |(_, a)| format!("-a{}", a.fingerprint))
        );
        // Mapped rather than read: each tensor is copied out of the map
        // as the network is built and the map is dropped after, so the
        // weights are never in memory twice (an MPNet's 440 MB would
        // otherwise peak at twice that while loading).
        // SAFETY: the file is only read, while this call runs; a model
        // directory is not rewritten under a running process.
        let mapped = unsafe { MmapedSafetensors::new(&weights_path) }
            .with_context(|| format!("{}", weights_path.display()))?;
        let vb = match adapter {
            None => VarBuilder::from_backend(Box::new(mapped), DType::F32, Device::Cpu),
            Some((path, adapter)) => {
                let changes = adapter.len();
                let adapted = Adapted {
                    base: mapped,
                    adapter,
                };
                adapted.check().with_context(|| {
                    format!("{} does not fit {}", path.display(), dir.display())
                })?;
                tracing::info!(adapter = %path.display(), changes, "the transformer is adapted to the knowledge base");
                VarBuilder::from_backend(Box::new(adapted), DType::F32, Device::Cpu)
            }
        };
        let model = config
            .load(vb)
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
        let dim = config.hidden_size();
        let disk = DiskCache::for_model(&name, &fingerprint, dim);
        let t = Self {
            memo: Default::default(),
            disk,
            model,
            tokenizer,
            dim,
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

    /// How many of `texts` are neither in memory nor on disk: what a
    /// batch would run through the network.
    pub(super) fn unseen(&self, texts: &[&str]) -> usize {
        let memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        texts
            .iter()
            .filter(|t| runs(t) && !memo.contains_key(&whole_key(t)))
            .count()
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

    /// For each of `texts`, its embedding and its `parts`' (byte ranges
    /// of it: a question's sentences), from one run of the network over
    /// the whole text: a part's embedding is the mean of its tokens' last
    /// hidden states there, read in the context of the whole text. A
    /// text that comes alone costs one run instead of one per sentence.
    /// A part the network did not reach (past the longest input) is
    /// embedded alone. The texts run as one batch (padded to the
    /// longest); with `keep`, the embeddings are kept on disk.
    pub(super) fn embed_with_parts(
        &self,
        texts: &[&str],
        parts: &[Vec<(usize, usize)>],
        keep: bool,
    ) -> anyhow::Result<Vec<WithParts>> {
        let part_key = |t: &str, (a, b): (usize, usize)| {
            fnv1a64(
                t.bytes()
                    .chain([0u8])
                    .chain((a as u64).to_le_bytes())
                    .chain((b as u64).to_le_bytes()),
            )
        };
        let mut out: Vec<WithParts> = parts
            .iter()
            .map(|p| (vec![0.0; self.dim], vec![vec![0.0; self.dim]; p.len()]))
            .collect();
        let live: Vec<usize> = {
            let memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
            (0..texts.len())
                .filter(|&i| runs(texts[i]))
                .filter(|&i| {
                    let whole = memo.get(&whole_key(texts[i]));
                    let each: Option<Vec<&Vec<f32>>> = parts[i]
                        .iter()
                        .map(|&r| memo.get(&part_key(texts[i], r)))
                        .collect();
                    match (whole, each) {
                        (Some(w), Some(each)) => {
                            out[i].0.clone_from(w);
                            for (o, v) in out[i].1.iter_mut().zip(each) {
                                o.clone_from(v);
                            }
                            false
                        }
                        _ => true,
                    }
                })
                .collect()
        };
        if live.is_empty() {
            return Ok(out);
        }
        let inputs: Vec<&str> = live.iter().map(|&i| texts[i]).collect();
        let (encodings, hidden) = self.states(inputs)?;
        let mut alone: Vec<(usize, usize)> = Vec::new();
        let mut new: Vec<(u64, Vec<f32>)> = Vec::new();
        for ((&i, e), states) in live.iter().zip(&encodings).zip(hidden) {
            let mask = e.get_attention_mask();
            let mut whole = mean_of(&states, |t| mask[t] == 1, self.dim);
            super::normalize(&mut whole);
            new.push((whole_key(texts[i]), whole.clone()));
            out[i].0 = whole;
            let special = e.get_special_tokens_mask();
            for (j, &(a, b)) in parts[i].iter().enumerate() {
                let inside = |t: usize| {
                    let (s, f) = e.get_offsets()[t];
                    mask[t] == 1 && special[t] == 0 && s >= a && f <= b && f > s
                };
                if !(0..states.len()).any(inside) {
                    alone.push((i, j));
                    continue;
                }
                let mut row = mean_of(&states, inside, self.dim);
                super::normalize(&mut row);
                new.push((part_key(texts[i], (a, b)), row.clone()));
                out[i].1[j] = row;
            }
        }
        if !alone.is_empty() {
            let rest: Vec<&str> = alone
                .iter()
                .map(|&(i, j)| &texts[i][parts[i][j].0..parts[i][j].1])
                .collect();
            for (&(i, j), row) in alone.iter().zip(self.embed(&rest, keep)?) {
                out[i].1[j] = row;
            }
        }
        self.remember(&new, keep);
        Ok(out)
    }

    /// Tokenizes `texts` and runs them through the network as one batch:
    /// their encodings and each one's last hidden states (padding left
    /// out).
    fn states(&self, texts: Vec<&str>) -> anyhow::Result<(Vec<tokenizers::Encoding>, Vec<States>)> {
        let encodings = self
            .tokenizer
            .encode_batch(texts, true)
            .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?;
        let hidden = self.run(&encodings)?;
        Ok((encodings, hidden))
    }

    /// Remembers new rows by key, and with `keep` also on disk.
    fn remember(&self, rows: &[(u64, Vec<f32>)], keep: bool) {
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() + rows.len() > KEPT_ROWS {
            memo.clear();
        }
        memo.extend(rows.iter().cloned());
        drop(memo);
        if let (true, Some(disk)) = (keep, &self.disk) {
            let rows: Vec<(u64, &[f32])> = rows.iter().map(|(k, v)| (*k, v.as_slice())).collect();
            disk.append(&rows);
        }
    }

    /// The last hidden states of each encoding (its tokens', padding
    /// left out), run as one batch padded to the longest.
    fn run(&self, encodings: &[tokenizers::Encoding]) -> anyhow::Result<Vec<States>> {
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
        let hidden: Vec<Vec<Vec<f32>>> = self.model.forward(&ids, &mask)?.to_vec3()?;
        Ok(hidden
            .into_iter()
            .zip(encodings)
            .map(|(mut states, e)| {
                states.truncate(e.get_ids().len());
                states
            })
            .collect())
    }

    /// The unit-length embedding of each of `texts`, run as one batch
    /// (padded to the longest); a text with nothing but spaces is all
    /// zeros, as the static tables give a text of no known token. With
    /// `keep`, the new embeddings are also kept on disk for the next
    /// process (never for a customer's question).
    pub(super) fn embed(&self, texts: &[&str], keep: bool) -> anyhow::Result<Vec<Vec<f32>>> {
        let none = vec![Vec::new(); texts.len()];
        Ok(self
            .embed_with_parts(texts, &none, keep)?
            .into_iter()
            .map(|(whole, _)| whole)
            .collect())
    }
}

/// Which network a model directory holds, by `config.json`'s
/// `model_type` (BERT when it names none).
enum Architecture {
    Bert(Config),
    MpNet(mpnet::Config),
}

impl Architecture {
    fn of(config: &[u8]) -> anyhow::Result<Self> {
        let value: serde_json::Value = serde_json::from_slice(config)?;
        Ok(match value["model_type"].as_str() {
            Some("mpnet") => Self::MpNet(serde_json::from_value(value)?),
            Some("bert") | None => Self::Bert(serde_json::from_value(value)?),
            Some(other) => bail!("model_type {other:?} is neither bert nor mpnet"),
        })
    }

    fn hidden_size(&self) -> usize {
        match self {
            Self::Bert(c) => c.hidden_size,
            Self::MpNet(c) => c.hidden_size,
        }
    }

    /// The longest input its position embeddings allow.
    fn max_positions(&self) -> usize {
        match self {
            Self::Bert(c) => c.max_position_embeddings,
            // Positions start after the padding id.
            Self::MpNet(c) => c.max_position_embeddings.saturating_sub(2),
        }
    }

    fn load(&self, vb: VarBuilder) -> candle_core::Result<Network> {
        Ok(match self {
            Self::Bert(c) => Network::Bert(BertModel::load(vb, c)?),
            Self::MpNet(c) => Network::MpNet(MpNet::load(vb, c)?),
        })
    }
}

/// The loaded network.
enum Network {
    Bert(BertModel),
    MpNet(MpNet),
}

impl Network {
    /// The last hidden states of `ids` with `mask` (1 on real tokens).
    fn forward(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Bert(m) => m.forward(ids, &ids.zeros_like()?, Some(mask)),
            Self::MpNet(m) => m.forward(ids, mask),
        }
    }
}

/// The key a whole text's embedding is remembered by, in memory and on
/// disk.
fn whole_key(text: &str) -> u64 {
    fnv1a64(text.bytes())
}

/// Whether a text goes through the network at all: one with nothing but
/// spaces embeds as zeros.
fn runs(text: &str) -> bool {
    !text.trim().is_empty()
}

/// The mean of the `states` whose index `keep` accepts (zeros if none).
fn mean_of(states: &[Vec<f32>], keep: impl Fn(usize) -> bool, dim: usize) -> Vec<f32> {
    let mut sum = vec![0.0f32; dim];
    let mut n = 0usize;
    for s in (0..states.len()).filter(|&t| keep(t)).map(|t| &states[t]) {
        sum.iter_mut().zip(s).for_each(|(a, b)| *a += b);
        n += 1;
    }
    if n > 0 {
        sum.iter_mut().for_each(|a| *a /= n as f32);
    }
    sum
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
        let disk = |dim| DiskCache::at(tmp.path().join("m.bin"), dim);
        let load = || {
            let t = Transformer::load(Path::new(&dir), None).expect("the test model loads");
            let dim = t.dim();
            t.with_disk(disk(dim))
        };
        let texts = ["the chat bubble never shows up", "no sound on calls"];
        let first = load();
        let fresh = first.embed(&texts, true).expect("embeds");
        first
            .embed(&["a customer's own question"], false)
            .expect("embeds");
        let kept: Vec<u64> = disk(first.dim())
            .read()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(kept.len(), 2, "only the batch kept with `keep` is on disk");
        let second = load();
        assert_eq!(second.memo.lock().expect("memo").len(), 2);
        assert_eq!(second.unseen(&texts), 0, "what is on disk is not run again");
        assert_eq!(
            second.unseen(&["a new text", "  "]),
            1,
            "blank text is never run"
        );
        assert_eq!(second.embed(&texts, false).expect("embeds"), fresh);
    }

    /// Needs the model (`TRIAGE_TEST_MODEL`).
    #[test]
    fn one_run_gives_the_text_and_its_parts_read_in_context() {
        let Some(dir) = std::env::var_os("TRIAGE_TEST_MODEL") else {
            eprintln!("skipped: set TRIAGE_TEST_MODEL=DIR");
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let t = Transformer::load(Path::new(&dir), None).expect("the test model loads");
        let dim = t.dim();
        let t = t.with_disk(DiskCache::at(tmp.path().join("m.bin"), dim));
        let text = "We moved the site last week. Now the chat bubble never shows up";
        let parts = vec![(0, 27), (29, text.len())];
        let got = t
            .embed_with_parts(&[text], std::slice::from_ref(&parts), false)
            .expect("embeds")
            .pop()
            .expect("one text");
        t.forget();
        let alone = t.embed(&[text, &text[29..]], false).expect("embeds");
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4);
        assert!(
            close(&got.0, &alone[0]),
            "the whole text is embedded as by itself"
        );
        for row in &got.1 {
            let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "a part's row has unit length");
        }
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        assert!(
            dot(&got.1[1], &alone[1]) > dot(&got.1[0], &alone[1]),
            "a part read in context is nearer the same sentence read alone than another part is"
        );
        // A part past the longest input is embedded by itself.
        let long = format!(
            "{} Calls drop after a minute",
            "filler words here ".repeat(200)
        );
        let start = long.len() - "Calls drop after a minute".len();
        let got = t
            .embed_with_parts(&[&long], &[vec![(start, long.len())]], false)
            .expect("embeds")
            .pop()
            .expect("one text");
        let alone = t.embed(&[&long[start..]], false).expect("embeds");
        assert!(close(&got.1[0], &alone[0]), "cut off, so embedded alone");
        // Asked again, the same rows come from memory.
        let again = t
            .embed_with_parts(&[&long], &[vec![(start, long.len())]], false)
            .expect("embeds")
            .pop()
            .expect("one text");
        assert_eq!(again, got);
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
        let err = Transformer::load(dir.path(), None)
            .err()
            .expect("no model there");
        assert!(format!("{err:#}").contains("config.json"), "{err:#}");
        std::fs::write(dir.path().join("config.json"), "{\"not\": \"bert\"}").expect("write");
        let err = Transformer::load(dir.path(), None)
            .err()
            .expect("not a BERT config");
        assert!(
            format!("{err:#}").contains("not a BERT or MPNet config"),
            "{err:#}"
        );
    }
}
