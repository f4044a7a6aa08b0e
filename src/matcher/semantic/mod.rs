//! Sentence similarity from embeddings. By default, static embeddings
//! (Model2Vec): each token has a fixed vector, a text is the normalised
//! mean of its tokens' vectors, so a question is embedded in microseconds
//! with no neural network at run time. Two shipped models, compiled into
//! the binary so no download is ever needed, are used together:
//! `models/minilm-m2v/` (distilled from all-MiniLM-L6-v2 by
//! `scripts/distill-model.py`) and `models/wordllama-l2/` (WordLlama's
//! `l2_supercat` table, exported by `scripts/export-model.py`). A text's
//! embedding is both models' unit vectors side by side, scaled so the
//! whole is unit length: its cosine with another text is the mean of the
//! two models' cosines. They err differently (MiniLM's vocabulary is
//! English; WordLlama's, Llama 2's, also covers es/de/fr/pt), so the mean
//! is a steadier signal than either.
//!
//! An operator can instead point triage at a sentence transformer on disk
//! (`--model DIR`, `transformer`): slower and better, and better still
//! with the knowledge base's adapter for it (`adapter`). The process's
//! model is chosen once at startup (`choose`) and every matcher built
//! after uses it (`chosen`).

mod adapter;
mod cache;
mod mpnet;
mod pieces;
mod transformer;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use model2vec_rs::model::StaticModel;
use pieces::PieceTable;
use transformer::Transformer;

/// A shipped model's files, compiled in.
struct Shipped {
    tokenizer: &'static [u8],
    weights: &'static [u8],
    config: &'static [u8],
}

const SHIPPED: [Shipped; 2] = [
    Shipped {
        tokenizer: include_bytes!("../../../models/minilm-m2v/tokenizer.json"),
        weights: include_bytes!("../../../models/minilm-m2v/model.safetensors"),
        config: include_bytes!("../../../models/minilm-m2v/config.json"),
    },
    Shipped {
        tokenizer: include_bytes!("../../../models/wordllama-l2/tokenizer.json"),
        weights: include_bytes!("../../../models/wordllama-l2/model.safetensors"),
        config: include_bytes!("../../../models/wordllama-l2/config.json"),
    },
];

/// Tokens of a question that count; a 10,000-character paste is cut here.
/// Also a transformer's when its directory does not say.
const MAX_TOKENS: usize = 256;

/// Texts per thread's turn in `embed_many`.
const BATCH: usize = 64;

/// The embedding model a matcher reads questions with.
#[derive(Clone)]
pub struct Semantic {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    /// The shipped static tables, used together.
    Tables(Arc<Vec<Table>>),
    /// A sentence transformer from a local directory.
    Transformer(Arc<Transformer>),
}

impl std::fmt::Debug for Semantic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Semantic")
            .field("model", &self.name().unwrap_or("shipped"))
            .field("dim", &self.dim())
            .finish()
    }
}

/// One static table: read by `pieces` when its tokenizer is Llama's
/// kind, otherwise by model2vec-rs (whose own WordPiece reader is fast).
enum Table {
    Pieces(Box<PieceTable>),
    Model2Vec(StaticModel),
}

impl Table {
    fn load(m: &Shipped) -> anyhow::Result<Self> {
        Ok(
            match PieceTable::recognise(m.tokenizer, m.weights, m.config) {
                Some(t) => Self::Pieces(Box::new(t)),
                None => Self::Model2Vec(StaticModel::from_bytes(
                    m.tokenizer,
                    m.weights,
                    m.config,
                    Some(true),
                )?),
            },
        )
    }

    fn dim(&self) -> usize {
        match self {
            Self::Pieces(t) => t.dim(),
            Self::Model2Vec(m) => m.dim(),
        }
    }

    /// Each of `texts`' unit-length embedding (all zeros when none of its
    /// first `MAX_TOKENS` tokens is known).
    fn embed(&self, texts: &[String]) -> Vec<Vec<f32>> {
        match self {
            Self::Pieces(t) => texts.iter().map(|x| t.embed(x, MAX_TOKENS)).collect(),
            Self::Model2Vec(m) => m.encode_with_args(texts, Some(MAX_TOKENS), texts.len().max(1)),
        }
    }
}

/// The process's choice of a transformer: where it is, whether the
/// operator named it, and the knowledge base whose adapter for it
/// (`adapter`) is applied if it has one. None: the shipped tables.
struct Choice {
    dir: PathBuf,
    asked: bool,
    kb: Option<PathBuf>,
}

static CHOICE: OnceLock<Option<Choice>> = OnceLock::new();
/// The chosen transformer once loaded, so a knowledge-base reload does not
/// read its weights again.
static LOADED: OnceLock<Result<Semantic, String>> = OnceLock::new();

/// Chooses the process's embedding model: the sentence transformer in
/// `dir`, or the shipped tables (`None`). `asked`: the operator named it
/// (`--model`), so falling back to the tables is worth a warning rather
/// than a note. `kb`: the knowledge base the process serves, whose
/// adapter for the transformer (`adapter.<model>.safetensors`) is
/// applied. Front ends call this once at startup, before any matcher is
/// built; a later call changes nothing.
pub fn choose(dir: Option<PathBuf>, asked: bool, kb: Option<PathBuf>) {
    let _ = CHOICE.set(dir.map(|dir| Choice { dir, asked, kb }));
}

fn choice() -> Option<&'static Choice> {
    CHOICE.get().and_then(|c| c.as_ref())
}

/// Where the chosen transformer is, if one was chosen.
pub fn chosen_dir() -> Option<&'static std::path::Path> {
    choice().map(|c| c.dir.as_path())
}

/// Whether the operator named the chosen transformer (`choose`).
pub fn chosen_by_operator() -> bool {
    choice().is_some_and(|c| c.asked)
}

impl Semantic {
    /// The model chosen for this process (`choose`): the shipped tables
    /// unless a transformer was chosen. A transformer that does not load
    /// is an error, every time it is asked for.
    pub fn chosen() -> anyhow::Result<Self> {
        match choice() {
            None => Self::shipped(),
            Some(c) => LOADED
                .get_or_init(|| {
                    Self::transformer(&c.dir, c.kb.as_deref()).map_err(|e| format!("{e:#}"))
                })
                .clone()
                .map_err(|e| anyhow::anyhow!(e)),
        }
    }

    /// The sentence transformer in `dir` (the Hugging Face layout; see
    /// `transformer`), with the knowledge base `kb`'s adapter for it if
    /// it has one (`adapter`).
    pub fn transformer(
        dir: &std::path::Path,
        kb: Option<&std::path::Path>,
    ) -> anyhow::Result<Self> {
        tokenizers::utils::parallelism::set_parallelism(false);
        Ok(Self {
            backend: Backend::Transformer(Arc::new(Transformer::load(dir, kb)?)),
        })
    }

    /// The models compiled into the binary.
    pub fn shipped() -> anyhow::Result<Self> {
        // The models' tokenizers would spread every call over a thread
        // pool: one question's few texts cost more in hand-offs than they
        // gain. Large batches are spread here instead (`embed_many`).
        tokenizers::utils::parallelism::set_parallelism(false);
        let models = SHIPPED.iter().map(Table::load).collect::<Result<_, _>>()?;
        Ok(Self {
            backend: Backend::Tables(Arc::new(models)),
        })
    }

    /// A model from outside the binary: its name, which names its fitted
    /// parameters (`matcher.<name>.json`). `None` for the shipped tables.
    pub fn name(&self) -> Option<&str> {
        match &self.backend {
            Backend::Tables(_) => None,
            Backend::Transformer(t) => Some(t.name()),
        }
    }

    /// What tells this model's files from another's of the same name;
    /// `None` for the shipped tables.
    pub fn fingerprint(&self) -> Option<&str> {
        match &self.backend {
            Backend::Tables(_) => None,
            Backend::Transformer(t) => Some(t.fingerprint()),
        }
    }

    /// Whether the model remembers texts it embedded (a transformer), so
    /// embedding many ahead in batches saves time later.
    pub fn remembers(&self) -> bool {
        matches!(self.backend, Backend::Transformer(_))
    }

    /// Forgets the texts a transformer remembers having embedded, so the
    /// next ones are embedded afresh (for benchmarks).
    pub fn forget(&self) {
        if let Backend::Transformer(t) = &self.backend {
            t.forget();
        }
    }

    /// The length of an embedding: the models' dimensions added up.
    pub fn dim(&self) -> usize {
        match &self.backend {
            Backend::Tables(models) => models.iter().map(Table::dim).sum(),
            Backend::Transformer(t) => t.dim(),
        }
    }

    /// The unit-length embedding of `text` (all zeros when no token of it
    /// is known to any model). Numbers are left out: the models spell them
    /// digit by digit, so "403" would sit close to "400" and "2024";
    /// statuses and versions are the exact evidence's business, not
    /// similarity's.
    pub fn embed(&self, text: &str) -> Vec<f32> {
        self.embed_all(&[text]).pop().unwrap_or_default()
    }

    /// `embed` of each of `texts`, in order, on the machine's cores, as
    /// one row of `dim` numbers per text: for a knowledge base's phrasings
    /// or a training set. A text that comes again (a check shared by
    /// entries, a phrasing in two products) is embedded once.
    pub fn embed_many(&self, texts: &[&str]) -> Vec<f32> {
        use rayon::prelude::*;
        let mut first: std::collections::HashMap<&str, usize> = Default::default();
        let slots: Vec<usize> = texts
            .iter()
            .map(|&t| {
                let next = first.len();
                *first.entry(t).or_insert(next)
            })
            .collect();
        let mut distinct = vec![""; first.len()];
        for (t, i) in first {
            distinct[i] = t;
        }
        let dim = self.dim();
        let rows: Vec<f32> = match &self.backend {
            Backend::Tables(_) => distinct
                .par_chunks(BATCH)
                .flat_map_iter(|batch| self.embed_all(batch).into_iter().flatten())
                .collect(),
            // The network spreads each batch's matrix products over the
            // cores itself; texts of like length are batched together so
            // little of a batch is padding.
            Backend::Transformer(t) => {
                let plain: Vec<String> = distinct.iter().map(|d| without_numbers(d)).collect();
                let plain: Vec<&str> = plain.iter().map(String::as_str).collect();
                let unseen = t.unseen(&plain);
                if unseen > 0 {
                    tracing::info!(
                        model = t.name(),
                        texts = unseen,
                        "embedding texts with the sentence transformer; kept on disk, so the next start skips them"
                    );
                }
                let mut order: Vec<usize> = (0..distinct.len()).collect();
                order.sort_by_key(|&i| distinct[i].len());
                let mut rows = vec![0.0; distinct.len() * dim];
                for batch in order.chunks(transformer::BATCH) {
                    let texts: Vec<&str> = batch.iter().map(|&i| distinct[i]).collect();
                    for (&i, row) in batch.iter().zip(self.embed_texts(&texts, true)) {
                        rows[i * dim..(i + 1) * dim].copy_from_slice(&row);
                    }
                }
                rows
            }
        };
        let mut out = Vec::with_capacity(texts.len() * dim);
        for i in slots {
            out.extend_from_slice(&rows[i * dim..(i + 1) * dim]);
        }
        out
    }

    /// A question's embedding and its `parts`' (byte ranges of it: its
    /// sentences). The static tables embed each part on its own; a
    /// transformer reads the question once and pools each part's tokens
    /// there (`Transformer::embed_with_parts`).
    pub fn embed_with_parts(
        &self,
        text: &str,
        parts: &[(usize, usize)],
    ) -> (Vec<f32>, Vec<Vec<f32>>) {
        let Backend::Transformer(t) = &self.backend else {
            let texts: Vec<&str> = std::iter::once(text)
                .chain(parts.iter().map(|&(a, b)| &text[a..b]))
                .collect();
            let mut all = self.embed_all(&texts).into_iter();
            let whole = all.next().unwrap_or_default();
            return (whole, all.collect());
        };
        let clean = without_numbers(text);
        t.embed_with_parts(&[&clean], &[parts.to_vec()], false)
            .map(|mut v| v.pop().unwrap_or_default())
            .unwrap_or_else(|err| {
                tracing::error!(error = %format!("{err:#}"), "the sentence transformer failed; this question counts as unknown");
                (vec![0.0; t.dim()], vec![vec![0.0; t.dim()]; parts.len()])
            })
    }

    /// `embed_with_parts` of many questions ahead, in length-sorted
    /// batches, kept in memory and on disk, when the model remembers what
    /// it embedded (a transformer): for `triage fit`.
    pub fn prepare_with_parts(&self, texts: &[&str], parts: &[Vec<(usize, usize)>]) {
        let Backend::Transformer(t) = &self.backend else {
            return;
        };
        let clean: Vec<String> = texts.iter().map(|t| without_numbers(t)).collect();
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        for batch in order.chunks(transformer::BATCH) {
            let b_texts: Vec<&str> = batch.iter().map(|&i| clean[i].as_str()).collect();
            let b_parts: Vec<Vec<(usize, usize)>> =
                batch.iter().map(|&i| parts[i].clone()).collect();
            if let Err(err) = t.embed_with_parts(&b_texts, &b_parts, true) {
                tracing::error!(error = %format!("{err:#}"), "the sentence transformer failed on a batch");
            }
        }
    }

    /// `embed` of each of `texts`, in order, on this thread: for a
    /// question and its sentences.
    pub fn embed_all(&self, texts: &[&str]) -> Vec<Vec<f32>> {
        self.embed_texts(texts, false)
    }

    /// `embed_all`. `batch`: the texts are a batch of `embed_many`'s (a
    /// knowledge base's or the labelled questions), which a transformer
    /// runs together (they come sorted by length) and keeps on disk for
    /// the next process; otherwise they are a question and its sentences,
    /// which differ in length, so each is run alone rather than padded to
    /// the longest, and none is kept.
    fn embed_texts(&self, texts: &[&str], batch: bool) -> Vec<Vec<f32>> {
        let texts: Vec<String> = texts.iter().map(|t| without_numbers(t)).collect();
        let models = match &self.backend {
            Backend::Tables(models) => models,
            Backend::Transformer(t) if batch => {
                let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
                return transformer_rows(t, &texts, true);
            }
            Backend::Transformer(t) => {
                return texts
                    .iter()
                    .flat_map(|text| transformer_rows(t, &[text.as_str()], false))
                    .collect();
            }
        };
        let scale = 1.0 / (models.len() as f32).sqrt();
        let mut out: Vec<Vec<f32>> = texts
            .iter()
            .map(|_| Vec::with_capacity(self.dim()))
            .collect();
        for m in models.iter() {
            for (o, mut v) in out.iter_mut().zip(m.embed(&texts)) {
                v.resize(m.dim(), 0.0);
                normalize(&mut v);
                o.extend(v.iter().map(|x| x * scale));
            }
        }
        // Unit length unless a model knew no token; then the known half
        // is brought back to unit length.
        out.iter_mut().for_each(|v| normalize(v));
        out
    }
}

/// `t`'s embeddings of `texts` as one batch; all zeros, and the error
/// logged, if the network fails.
fn transformer_rows(t: &Transformer, texts: &[&str], keep: bool) -> Vec<Vec<f32>> {
    t.embed(texts, keep).unwrap_or_else(|err| {
        tracing::error!(error = %format!("{err:#}"), "the sentence transformer failed; these texts count as unknown");
        vec![vec![0.0; t.dim()]; texts.len()]
    })
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
/// Sixteen running sums, so the compiler can keep them in vector registers
/// (a single float sum must be added in order and is not vectorised);
/// compiled for AVX2 with FMA and AVX-512 too, the best one the CPU has
/// chosen at run time. This is most of the semantic features' cost.
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+fma", "x86_64+avx2+fma"))]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Running sums in `dot`.
const LANES: usize = 16;

/// `dot` of two quantized vectors (`quantize`), before their scales are
/// applied: a quarter of the memory to read and integer arithmetic, for
/// the thousands of labelled questions compared with every question.
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked above) and the slices are
        // equally long.
        return unsafe { dot_i8_avx2(a, b) };
    }
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

/// `dot_i8` sixteen pairs at a time: widened to 16 bits, multiplied, and
/// neighbouring products added into 32-bit sums in one instruction
/// (`vpmaddwd`), which the compiler does not find on its own.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
    use std::arch::x86_64::*;
    const STEP: usize = 16;
    let chunks = a.len() / STEP;
    let mut acc = _mm256_setzero_si256();
    for i in 0..chunks {
        // SAFETY: `i * STEP + STEP <= a.len() == b.len()`; unaligned loads.
        let (x, y) = unsafe {
            (
                _mm_loadu_si128(a.as_ptr().add(i * STEP).cast()),
                _mm_loadu_si128(b.as_ptr().add(i * STEP).cast()),
            )
        };
        let prod = _mm256_madd_epi16(_mm256_cvtepi8_epi16(x), _mm256_cvtepi8_epi16(y));
        acc = _mm256_add_epi32(acc, prod);
    }
    let mut lanes = [0i32; 8];
    // SAFETY: `lanes` holds exactly 256 bits.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), acc) };
    let tail: i32 = a[chunks * STEP..]
        .iter()
        .zip(&b[chunks * STEP..])
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    lanes.iter().sum::<i32>() + tail
}

/// `v` as 8-bit integers and the scale that brings them back
/// (`v[i] ≈ q[i] * scale`); all zeros with scale 0 for a zero vector.
pub fn quantize(v: &[f32]) -> (Vec<i8>, f32) {
    let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (vec![0; v.len()], 0.0);
    }
    let scale = max / 127.0;
    (v.iter().map(|x| (x / scale).round() as i8).collect(), scale)
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
    fn embed_many_gives_each_text_its_own_row_in_order() {
        let s = Semantic::shipped().expect("the shipped model loads");
        let texts = [
            "the chat bubble never shows up",
            "no sound on calls",
            "the chat bubble never shows up",
            "",
            "no sound on calls",
            "webhooks stopped arriving",
        ];
        let rows = s.embed_many(&texts);
        assert_eq!(rows.len(), texts.len() * s.dim());
        for (row, text) in rows.chunks_exact(s.dim()).zip(texts) {
            assert_eq!(row, s.embed(text).as_slice(), "{text:?}");
        }
    }

    #[test]
    fn the_tables_embed_a_question_and_its_parts_each_on_its_own() {
        let m = Semantic::shipped().expect("model loads");
        let text = "We moved the site. Now the chat bubble never shows up";
        let (whole, parts) = m.embed_with_parts(text, &[(0, 17), (19, text.len())]);
        let alone = m.embed_all(&[text, &text[..17], &text[19..]]);
        assert_eq!(whole, alone[0]);
        assert_eq!(parts, alone[1..].to_vec());
    }

    #[test]
    fn numbers_do_not_count_as_similarity() {
        let s = Semantic::shipped().expect("the shipped model loads");
        let a = s.embed("the request failed with 403");
        let b = s.embed("the request failed with 400");
        assert!((dot(&a, &b) - 1.0).abs() < 1e-5);
    }

    /// WordLlama's tokenizer (Llama 2's) reads the whole text as one
    /// word, so its merges cost O(n log n) in the text and nothing is
    /// cached. The shipped tokenizer.json splits it before each run of
    /// "▁" (space), which no vocabulary token has after another character:
    /// no merge can cross the cut, so the token ids must be the same.
    fn wordllama_tokenizers() -> &'static (tokenizers::Tokenizer, tokenizers::Tokenizer) {
        static BOTH: std::sync::OnceLock<(tokenizers::Tokenizer, tokenizers::Tokenizer)> =
            std::sync::OnceLock::new();
        BOTH.get_or_init(|| {
            let bytes = SHIPPED[1].tokenizer;
            let shipped = tokenizers::Tokenizer::from_bytes(bytes).expect("shipped tokenizer");
            let mut json: serde_json::Value = serde_json::from_slice(bytes).expect("json");
            json["pre_tokenizer"] = serde_json::Value::Null;
            let whole =
                tokenizers::Tokenizer::from_bytes(json.to_string().as_bytes()).expect("tokenizer");
            (shipped, whole)
        })
    }

    fn ids(t: &tokenizers::Tokenizer, text: &str) -> Vec<u32> {
        t.encode_fast(text, false)
            .expect("encodes")
            .get_ids()
            .to_vec()
    }

    #[test]
    fn split_wordllama_tokenizer_gives_the_whole_text_tokens() {
        let (shipped, whole) = wordllama_tokenizers();
        for text in [
            "",
            " ",
            "the widget doesnt load",
            "  two  spaces   and    more\tand a tab",
            "Uncaught TypeError: Cannot read properties of null (reading 'appendChild')\n    at init (widget.js:1:2034)",
            "el micrófono no funciona — ¿qué hago? 🙏",
            "Der Anrufer hört mich nicht.\r\n\r\nGrüße",
            "https://example.com/a?b=c&d=e#f 403 Forbidden",
            "日本語のテキスト mixed with English",
        ] {
            assert_eq!(ids(shipped, text), ids(whole, text), "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn split_wordllama_tokenizer_agrees_on_any_text(text in "[ a-zA-Z0-9.,:;!?'\"()/_\\n\\t-]{0,120}|\\PC{0,60}") {
            let (shipped, whole) = wordllama_tokenizers();
            proptest::prop_assert_eq!(ids(shipped, &text), ids(whole, &text));
        }
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-4);
    }

    proptest::proptest! {
        /// Any lengths (the pairwise path, its remainder) and the extremes
        /// of i8, whose product pairs must not overflow.
        #[test]
        fn quantized_dot_is_the_exact_integer_sum(
            pairs in proptest::collection::vec((proptest::num::i8::ANY, proptest::num::i8::ANY), 0..300)
        ) {
            let (a, b): (Vec<i8>, Vec<i8>) = pairs.into_iter().unzip();
            let plain: i32 = a.iter().zip(&b).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum();
            proptest::prop_assert_eq!(dot_i8(&a, &b), plain);
        }
    }

    #[test]
    fn quantized_dot_stays_close_to_the_float_one() {
        let s = Semantic::shipped().expect("the shipped model loads");
        let texts = [
            "nobody can hear me during the call",
            "the chat bubble never shows up",
            "webhooks stopped arriving yesterday",
        ];
        let vs: Vec<Vec<f32>> = texts.iter().map(|t| s.embed(t)).collect();
        for a in &vs {
            let (qa, sa) = quantize(a);
            for b in &vs {
                let (qb, sb) = quantize(b);
                let approx = dot_i8(&qa, &qb) as f32 * sa * sb;
                assert!((approx - dot(a, b)).abs() < 0.01);
            }
        }
        let (zero, scale) = quantize(&[0.0; 7]);
        assert_eq!((zero, scale), (vec![0; 7], 0.0));
    }

    #[test]
    fn empty_and_huge_texts_embed_without_panicking() {
        let s = Semantic::shipped().expect("the shipped model loads");
        assert_eq!(s.embed("").len(), s.dim());
        let long = "widget ".repeat(10_000);
        assert_eq!(s.embed(&long).len(), s.dim());
    }
}
