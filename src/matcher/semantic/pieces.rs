//! A static table whose tokenizer is Llama's kind (WordLlama's): a "▁"
//! before the text, every space made a "▁", the text cut before each run
//! of "▁", and each piece read by BPE. Read here with the BPE model alone
//! instead of the `tokenizers` pipeline, which tracks every character's
//! alignment through each step and so cost half of a long question's
//! embedding time. A piece's tokens do not depend on its neighbours, so
//! the BPE model's own cache of pieces serves a question's sentences
//! after the whole question has been read.
//!
//! `PieceTable::recognise` takes a model only when its files say exactly
//! this pipeline and an unweighted table; any other model is read by
//! model2vec-rs. Its embeddings are the same numbers model2vec-rs gives
//! (a test compares them on any text).

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokenizers::models::bpe::BPE;
use tokenizers::Model;

/// The piece marker Llama's tokenizer writes for a space.
const SPACE: char = '▁';

/// What `recognise` reads of a tokenizer.json.
#[derive(Deserialize)]
struct Spec<'a> {
    normalizer: Value,
    pre_tokenizer: Value,
    added_tokens: Vec<Added>,
    #[serde(borrow)]
    model: &'a RawValue,
}

/// A special token of tokenizer.json.
#[derive(Deserialize)]
struct Added {
    id: u32,
    content: String,
    single_word: bool,
    lstrip: bool,
    rstrip: bool,
    normalized: bool,
}

/// A static table read with its BPE model directly.
pub(super) struct PieceTable {
    bpe: BPE,
    /// Tokens matched in the raw text before anything else (`<s>`, …).
    specials: Vec<(String, u32)>,
    unk: Option<u32>,
    /// Row-major int8 rows, `dim` per token id, as stored.
    table: &'static [u8],
    dim: usize,
    /// The vocabulary's median token length in bytes: the text is cut at
    /// `max_tokens` times this many characters before it is read, as
    /// model2vec-rs does.
    median_len: usize,
}

impl PieceTable {
    /// The table, if its files are this pipeline: the normaliser, the
    /// pre-tokeniser and the model exactly as above, special tokens
    /// matched verbatim, no per-token weights or row mapping, int8 rows,
    /// normalised output. `None`: read it with model2vec-rs.
    pub(super) fn recognise(
        tokenizer: &[u8],
        weights: &'static [u8],
        config: &[u8],
    ) -> Option<Self> {
        // One pass over tokenizer.json: the model (its vocabulary and
        // merges, most of the file) is only kept as text until the
        // pipeline is known to be this one.
        let spec: Spec = serde_json::from_slice(tokenizer).ok()?;
        let config: Value = serde_json::from_slice(config).ok()?;
        let pipeline = spec.normalizer
            == json!({"type": "Sequence", "normalizers": [
                {"type": "Prepend", "prepend": "▁"},
                {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]})
            && spec.pre_tokenizer
                == json!({"type": "Split", "pattern": {"Regex": "▁+[^▁]*"},
                    "behavior": "Isolated", "invert": false})
            && config["normalize"] != json!(false);
        let verbatim = spec.added_tokens.iter().all(|t| {
            !(t.normalized || t.lstrip || t.rstrip || t.single_word || t.content.is_empty())
        });
        if !(pipeline && verbatim) {
            return None;
        }
        let bpe: BPE = serde_json::from_str(spec.model.get()).ok()?;
        if bpe.dropout.is_some() {
            return None;
        }
        let unk = bpe.unk_token.as_deref().and_then(|u| bpe.token_to_id(u));
        let vocab = bpe.get_vocab();
        let median_len = {
            let mut lens: Vec<usize> = vocab.keys().map(String::len).collect();
            lens.sort_unstable();
            lens.get(lens.len() / 2).copied().unwrap_or(1)
        };
        let ids = vocab
            .values()
            .chain(spec.added_tokens.iter().map(|t| &t.id));
        let rows_needed = ids.max().map_or(0, |&id| id as usize + 1);
        let tensors = safetensors::SafeTensors::deserialize(weights).ok()?;
        if tensors.names().len() != 1 {
            return None;
        }
        let rows = tensors.tensor("embeddings").ok()?;
        let &[n, dim] = rows.shape() else {
            return None;
        };
        let fits = rows.dtype() == safetensors::Dtype::I8 && dim > 0 && n >= rows_needed;
        fits.then(|| Self {
            bpe,
            specials: spec
                .added_tokens
                .into_iter()
                .map(|t| (t.content, t.id))
                .collect(),
            unk,
            table: rows.data(),
            dim,
            median_len,
        })
    }

    pub(super) fn dim(&self) -> usize {
        self.dim
    }

    /// The unit-length mean of the rows of `text`'s first `max_tokens`
    /// tokens, leaving out the unknown token; all zeros without any.
    pub(super) fn embed(&self, text: &str, max_tokens: usize) -> Vec<f32> {
        let text = text
            .char_indices()
            .nth(max_tokens.saturating_mul(self.median_len))
            .map_or(text, |(at, _)| &text[..at]);
        let mut ids = Vec::new();
        self.ids(text, &mut ids);
        let mut sum = vec![0.0f32; self.dim];
        let mut count = 0usize;
        for &id in ids.iter().take(max_tokens) {
            if Some(id) == self.unk {
                continue;
            }
            let start = id as usize * self.dim;
            let Some(row) = self.table.get(start..start + self.dim) else {
                continue;
            };
            for (s, &b) in sum.iter_mut().zip(row) {
                *s += f32::from(b as i8);
            }
            count += 1;
        }
        // model2vec-rs's order of operations, so the numbers are its own.
        let denom = count.max(1) as f32;
        let mut sq = 0.0f32;
        for x in sum.iter_mut() {
            *x /= denom;
            sq += *x * *x;
        }
        let norm = sq.sqrt().max(1e-12);
        sum.iter_mut().for_each(|x| *x /= norm);
        sum
    }

    /// `text`'s token ids, as the tokenizer's `encode(text, false)` gives
    /// them: special tokens first, then each stretch between them
    /// normalised, cut into pieces and read by BPE.
    pub(super) fn ids(&self, text: &str, out: &mut Vec<u32>) {
        let mut rest = text;
        while !rest.is_empty() {
            // The leftmost special token, the longest of those there.
            let next = self
                .specials
                .iter()
                .filter_map(|(s, id)| Some((rest.find(s.as_str())?, s.len(), *id)))
                .min_by_key(|&(at, len, _)| (at, std::cmp::Reverse(len)));
            let (plain, special) = match next {
                Some((at, len, id)) => (&rest[..at], Some((len, id))),
                None => (rest, None),
            };
            self.plain_ids(plain, out);
            match special {
                Some((len, id)) => {
                    out.push(id);
                    rest = &rest[plain.len() + len..];
                }
                None => break,
            }
        }
    }

    fn plain_ids(&self, text: &str, out: &mut Vec<u32>) {
        if text.is_empty() {
            return;
        }
        let mut normal = String::with_capacity(text.len() + 3 * (text.len() / 4 + 1));
        normal.push(SPACE);
        normal.extend(text.chars().map(|c| if c == ' ' { SPACE } else { c }));
        let mut start = 0;
        let mut prev_space = true;
        for (at, c) in normal.char_indices() {
            let space = c == SPACE;
            if space && !prev_space {
                self.piece_ids(&normal[start..at], out);
                start = at;
            }
            prev_space = space;
        }
        self.piece_ids(&normal[start..], out);
    }

    fn piece_ids(&self, piece: &str, out: &mut Vec<u32>) {
        // BPE fails only on a byte it cannot place, which byte fallback
        // rules out; such a piece would count as unknown.
        if let Ok(tokens) = self.bpe.tokenize(piece) {
            out.extend(tokens.iter().map(|t| t.id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Shipped, MAX_TOKENS, SHIPPED};
    use super::*;
    use model2vec_rs::model::StaticModel;
    use std::sync::OnceLock;

    /// WordLlama's table read both ways.
    fn both() -> &'static (PieceTable, StaticModel, tokenizers::Tokenizer) {
        static BOTH: OnceLock<(PieceTable, StaticModel, tokenizers::Tokenizer)> = OnceLock::new();
        BOTH.get_or_init(|| {
            let m = &SHIPPED[1];
            let pieces = PieceTable::recognise(m.tokenizer, m.weights, m.config)
                .expect("WordLlama's files are the pipeline this module reads");
            let model = StaticModel::from_bytes(m.tokenizer, m.weights, m.config, Some(true))
                .expect("loads");
            let tokenizer = tokenizers::Tokenizer::from_bytes(m.tokenizer).expect("loads");
            (pieces, model, tokenizer)
        })
    }

    fn agree(text: &str) -> Result<(), String> {
        let (pieces, model, tokenizer) = both();
        let mut ids = Vec::new();
        pieces.ids(text, &mut ids);
        let want = tokenizer.encode_fast(text, false).expect("encodes");
        if ids != want.get_ids() {
            return Err(format!("ids of {text:?}: {ids:?} != {:?}", want.get_ids()));
        }
        let ours = pieces.embed(text, MAX_TOKENS);
        let theirs = model.encode_with_args(&[text.to_string()], Some(MAX_TOKENS), 1);
        if ours != theirs[0] {
            return Err(format!("embedding of {text:?} differs"));
        }
        Ok(())
    }

    #[test]
    fn only_a_llama_kind_tokenizer_is_read_by_pieces() {
        let recognised = |m: &Shipped| PieceTable::recognise(m.tokenizer, m.weights, m.config);
        assert!(recognised(&SHIPPED[1]).is_some(), "WordLlama");
        assert!(recognised(&SHIPPED[0]).is_none(), "MiniLM's WordPiece");
        let mut spec: Value = serde_json::from_slice(SHIPPED[1].tokenizer).expect("json");
        spec["pre_tokenizer"] = Value::Null;
        let other = spec.to_string();
        let m = &SHIPPED[1];
        assert!(PieceTable::recognise(other.as_bytes(), m.weights, m.config).is_none());
    }

    #[test]
    fn pieces_give_model2vec_rs_numbers_on_awkward_texts() {
        let long = "the call drops after a minute ".repeat(400);
        for text in [
            "",
            " ",
            "   ",
            "the widget doesnt load",
            "  two  spaces   and    more\tand a tab ",
            "Uncaught TypeError: Cannot read properties of null (reading 'appendChild')\n    at init (widget.js:1:2034)",
            "el micrófono no funciona — ¿qué hago? 🙏",
            "Der Anrufer hört mich nicht.\r\n\r\nGrüße",
            "a literal ▁ marker and ▁▁ two",
            "specials <s> in <unk> the </s> text<s></s>",
            "<s>",
            "日本語のテキスト mixed with English",
            &long,
        ] {
            agree(text).unwrap();
        }
    }

    proptest::proptest! {
        #[test]
        fn pieces_give_model2vec_rs_numbers_on_any_text(
            text in "([ a-zA-Z.,:;!?'\"()/_\\n\\t▁-]|<s>|</s>|<unk>){0,120}|\\PC{0,60}"
        ) {
            proptest::prop_assert_eq!(agree(&text), Ok(()));
        }
    }
}
