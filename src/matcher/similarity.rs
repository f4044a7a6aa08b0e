//! The knowledge base as embeddings, for the semantic features: every
//! entry's title and symptom phrasings, its checks, the out-of-scope
//! topics, and each entry's learned prototype (`prototypes`), all centred
//! on the knowledge base's mean phrasing. Only built when an embedding
//! model is loaded.

use std::collections::{HashMap, HashSet};

use crate::kb::KnowledgeBase;
use crate::search;

use super::classifier::{Bound, Classifier};
use super::prototypes::{self, Prototypes};
use super::semantic::{self, dot, Semantic};

/// Sentences of a question compared one by one, and the fewest words a
/// sentence needs to count.
const MAX_SENTENCES: usize = 4;
const MIN_SENTENCE_WORDS: usize = 3;

/// The best dot product of `q` with rows `span` (start, count) of `rows`.
fn best_row(rows: &[f32], (start, n): (usize, usize), dim: usize, q: &[f32]) -> f32 {
    (start..start + n)
        .map(|r| dot(&rows[r * dim..(r + 1) * dim], q))
        .fold(0.0f32, f32::max)
}

/// The knowledge base's phrasings as embeddings. Static embeddings share a
/// large common direction (every text is a mean of token vectors), so the
/// knowledge base's mean phrasing is taken out of every vector, the
/// question's too: similarity then reads what sets texts apart.
pub(super) struct SemanticIndex {
    model: Semantic,
    dim: usize,
    /// The mean of the knowledge base's phrasing embeddings.
    mean: Vec<f32>,
    /// Each entry's title and symptom phrasings, as (start, count) rows
    /// into `rows`.
    spans: Vec<(usize, usize)>,
    rows: Vec<f32>,
    /// Each entry's normalised mean phrasing, for recall.
    centroids: Vec<f32>,
    /// Each entry's checks (cause and signals), as (start, count) rows
    /// into `check_rows`: reports often describe the cause.
    check_spans: Vec<(usize, usize)>,
    check_rows: Vec<f32>,
    /// Every out-of-scope topic phrasing.
    topics: Vec<f32>,
    /// Every word of the texts embedded above (`search::words`), with its
    /// BM25 idf over those texts: which of a long question's sentences
    /// speak the knowledge base's language, a rare word of it counting
    /// for more than one every phrasing has.
    vocabulary: Vocabulary,
    /// The learned prototypes, centred, for the keys that have labelled
    /// questions (entries, then out of scope), and each key's row in it.
    /// An entry without one is represented by its phrasing centroid,
    /// out of scope without one by nothing (similarity 0).
    prototypes: Vec<f32>,
    prototype_row: Vec<Option<usize>>,
    /// The entries with a learned prototype.
    learned: Vec<usize>,
    /// Every labelled question's embedding, centred and quantized (rows
    /// of `dim`, each with its scale), and its key (entry index, or the
    /// entry count for out of scope).
    examples: Vec<i8>,
    example_scale: Vec<f32>,
    example_key: Vec<usize>,
    /// The learned embedding classifier; `None` when none was learned
    /// for this knowledge base.
    classifier: Option<Bound>,
    /// The labelled questions were labelled against some of this
    /// knowledge base's entries.
    related: bool,
}

impl SemanticIndex {
    /// The embedding model the index was built with.
    pub(super) fn model(&self) -> &Semantic {
        &self.model
    }

    pub(super) fn new(
        model: Semantic,
        kb: &KnowledgeBase,
        learned: &Prototypes,
        classes: &Classifier,
    ) -> Self {
        let dim = model.dim();
        let mut spans = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        // Entries, then out-of-scope topics, in the order of the profiles.
        let docs = kb
            .entries()
            .iter()
            .map(|e| (&e.title, &e.symptoms))
            .chain(kb.out_of_scope().iter().map(|t| (&t.title, &t.phrasings)));
        let mut texts: Vec<&str> = Vec::new();
        for (title, symptoms) in docs {
            spans.push((texts.len(), symptoms.len() + 1));
            texts.extend(std::iter::once(title).chain(symptoms).map(String::as_str));
        }
        rows.extend(model.embed_many(&texts));
        let mut check_spans = Vec::new();
        let mut checks: Vec<String> = Vec::new();
        for e in kb.entries() {
            check_spans.push((checks.len(), e.checks.len()));
            checks.extend(
                e.checks
                    .iter()
                    .map(|c| format!("{} {}", c.cause, c.signals.join(", "))),
            );
        }
        let checks: Vec<&str> = checks.iter().map(String::as_str).collect();
        let vocabulary = vocabulary(texts.iter().chain(&checks).copied());
        let mut check_rows: Vec<f32> = model.embed_many(&checks);
        check_spans.extend(
            kb.out_of_scope()
                .iter()
                .map(|_| (check_rows.len() / dim, 0)),
        );
        let topic_texts: Vec<&str> = kb
            .out_of_scope()
            .iter()
            .flat_map(|t| t.phrasings.iter().map(String::as_str))
            .collect();
        let mut topics: Vec<f32> = model.embed_many(&topic_texts);
        let mut mean = vec![0.0f32; dim];
        let n = (rows.len() / dim).max(1) as f32;
        for r in rows.chunks_exact(dim) {
            mean.iter_mut().zip(r).for_each(|(m, x)| *m += x / n);
        }
        let center = |v: &mut [f32]| {
            v.iter_mut().zip(&mean).for_each(|(x, m)| *x -= m);
            semantic::normalize(v);
        };
        rows.chunks_exact_mut(dim).for_each(&center);
        check_rows.chunks_exact_mut(dim).for_each(&center);
        topics.chunks_exact_mut(dim).for_each(&center);
        let mut centroids = Vec::with_capacity(spans.len() * dim);
        for &(start, count) in &spans {
            let mut c = vec![0.0f32; dim];
            for r in rows[start * dim..(start + count) * dim].chunks_exact(dim) {
                c.iter_mut().zip(r).for_each(|(m, x)| *m += x);
            }
            semantic::normalize(&mut c);
            centroids.extend(c);
        }
        let n_entries = kb.entries().len();
        let mut prototypes = Vec::new();
        let mut prototype_row = vec![None; n_entries + 1];
        let mut examples = Vec::new();
        let mut example_scale = Vec::new();
        let mut example_key = Vec::new();
        let keys = prototypes::keys(kb);
        // Out of scope means "none of the entries the questions were
        // labelled against": it says nothing about a knowledge base that
        // shares none of them (another product's, freshly imported).
        let related = kb
            .entries()
            .iter()
            .any(|e| learned.entries.contains_key(e.id.as_str()));
        for (key, &name) in keys.iter().enumerate() {
            if key == n_entries && !related {
                continue;
            }
            let learned = learned.examples(name, dim);
            if learned.is_empty() {
                continue;
            }
            prototype_row[key] = Some(prototypes.len() / dim);
            prototypes.extend(centred(&prototypes::mean(&learned), &mean));
            for v in &learned {
                let (q, scale) = semantic::quantize(&centred(v, &mean));
                examples.extend(q);
                example_scale.push(scale);
                example_key.push(key);
            }
        }
        let learned: Vec<usize> = (0..n_entries)
            .filter(|&e| prototype_row[e].is_some())
            .collect();
        let classifier = Bound::new(classes, &keys, Some(dim));
        Self {
            vocabulary,
            classifier,
            related,
            model,
            dim,
            mean,
            spans,
            rows,
            centroids,
            check_spans,
            check_rows,
            topics,
            prototypes,
            prototype_row,
            learned,
            examples,
            example_scale,
            example_key,
        }
    }

    pub(super) fn centroid(&self, e: usize, q: &[f32]) -> f32 {
        dot(&self.centroids[e * self.dim..(e + 1) * self.dim], q)
    }

    pub(super) fn best_phrasing(&self, e: usize, q: &[f32]) -> f32 {
        best_row(&self.rows, self.spans[e], self.dim, q)
    }

    /// Entry `e`'s best phrasing for the question `q`, and the best for
    /// any of its sentences (0 without any): each phrasing is read once
    /// for all of them.
    pub(super) fn best_phrasing_and_sentence(
        &self,
        e: usize,
        q: &[f32],
        sentences: &[Vec<f32>],
    ) -> (f32, f32) {
        let (start, n) = self.spans[e];
        let rows = self.rows[start * self.dim..(start + n) * self.dim].chunks_exact(self.dim);
        rows.fold((0.0f32, 0.0f32), |(best, sentence), r| {
            let s = sentences.iter().map(|v| dot(r, v)).fold(sentence, f32::max);
            (best.max(dot(r, q)), s)
        })
    }

    pub(super) fn best_check(&self, e: usize, q: &[f32]) -> f32 {
        best_row(&self.check_rows, self.check_spans[e], self.dim, q)
    }

    /// The question's raw embedding (not centred, as prototypes are
    /// learned from), and its sentences' (lines, or text between full
    /// stops), centred: a long report often states its symptom in one of
    /// them. All are embedded in one call (a transformer reads the
    /// question once and pools each sentence's tokens in it); a sentence
    /// that is the whole question (most short ones) reuses its embedding.
    pub(super) fn embed_question(&self, text: &str) -> (Vec<f32>, Vec<Vec<f32>>) {
        let sentences = sentences(text, &self.vocabulary);
        let parts = spans(text, &sentences);
        let (raw, embedded) = self.model.embed_with_parts(text, &parts);
        let mut embedded = embedded.into_iter();
        let sentences = sentences
            .iter()
            .map(|s| {
                if *s == text {
                    centred(&raw, &self.mean)
                } else {
                    centred(&embedded.next().unwrap_or_default(), &self.mean)
                }
            })
            .collect();
        (raw, sentences)
    }

    /// Embeds what `embed_question` will embed for each of `questions`,
    /// in batches, when the model remembers what it embedded (a
    /// transformer): for fitting over thousands of labelled questions.
    /// Like the knowledge base's texts, they are kept on disk.
    pub(super) fn prepare(&self, questions: &[&str]) {
        if !self.model.remembers() {
            return;
        }
        let parts: Vec<Vec<(usize, usize)>> = questions
            .iter()
            .map(|q| spans(q, &sentences(q, &self.vocabulary)))
            .collect();
        self.model.prepare_with_parts(questions, &parts);
    }

    pub(super) fn best_topic(&self, q: &[f32]) -> f32 {
        self.topics
            .chunks_exact(self.dim)
            .map(|t| dot(t, q))
            .fold(0.0f32, f32::max)
    }

    /// Whether what is learned from labelled questions applies: they were
    /// labelled against some of this knowledge base's entries.
    pub(super) fn learned_applies(&self) -> bool {
        self.related
    }

    /// The classifier's log-probability of each key (entries, then out of
    /// scope) for a raw embedding; `None` without a classifier.
    pub(super) fn classify(&self, raw: &[f32]) -> Option<Vec<f32>> {
        Some(self.classifier.as_ref()?.embedding(raw))
    }

    /// The raw embedding (not centred, as prototypes are learned from)
    /// of each of `texts`, embedded together.
    pub(super) fn embed_raw_all(&self, texts: &[&str]) -> Vec<Vec<f32>> {
        self.model
            .embed_many(texts)
            .chunks_exact(self.dim)
            .map(<[f32]>::to_vec)
            .collect()
    }

    /// A raw embedding centred like the knowledge base's.
    pub(super) fn centre(&self, raw: &[f32]) -> Vec<f32> {
        centred(raw, &self.mean)
    }

    pub(super) fn dim(&self) -> usize {
        self.dim
    }

    /// The question with entry `e`'s prototype (its phrasing centroid
    /// when none was learned).
    /// Out-of-scope topics (past the entries) have none: their phrasings
    /// stand in too.
    pub(super) fn prototype(&self, e: usize, q: &[f32]) -> f32 {
        let n_entries = self.prototype_row.len() - 1;
        match self.prototype_row[..n_entries].get(e).copied().flatten() {
            Some(r) => self.prototype_dot(r, q),
            None => self.centroid(e, q),
        }
    }

    fn prototype_dot(&self, r: usize, q: &[f32]) -> f32 {
        dot(&self.prototypes[r * self.dim..(r + 1) * self.dim], q)
    }

    /// The entries with a learned prototype: the others rank by
    /// prototype as by centroid.
    pub(super) fn learned(&self) -> &[usize] {
        &self.learned
    }

    /// The question with the out-of-scope prototype (0 when none was
    /// learned).
    pub(super) fn prototype_outside(&self, q: &[f32]) -> f32 {
        match self.prototype_row.last().copied().flatten() {
            Some(r) => self.prototype_dot(r, q),
            None => 0.0,
        }
    }

    /// The question's similarity with each key's nearest labelled
    /// question (entries, then out of scope); `None` for a key without
    /// labelled questions.
    pub(super) fn nearest(&self, q: &[f32]) -> Nearest {
        let mut near = Nearest::new(self.prototype_row.len());
        let (q, q_scale) = semantic::quantize(q);
        let rows = self.examples.chunks_exact(self.dim);
        for ((v, &scale), &k) in rows.zip(&self.example_scale).zip(&self.example_key) {
            near.see(k, semantic::dot_i8(v, &q) as f32 * scale * q_scale);
        }
        near.done()
    }

    /// A prototype from the raw embeddings' sum of `n` questions, centred
    /// like the shipped ones; entry `e`'s phrasing centroid when `n` is 0
    /// (`None` for the out-of-scope prototype: zeros). For fitting.
    pub(super) fn prototype_from(&self, sum: &[f32], n: usize, e: Option<usize>) -> Vec<f32> {
        if n == 0 {
            return match e {
                Some(e) => self.centroids[e * self.dim..(e + 1) * self.dim].to_vec(),
                None => vec![0.0; self.dim],
            };
        }
        let mean: Vec<f32> = sum.iter().map(|x| x / n as f32).collect();
        centred(&mean, &self.mean)
    }
}

/// A question's similarity with each key's nearest labelled question
/// (entries, then out of scope; `None`: no labelled question), the share
/// of its `NEIGHBOURS` nearest labelled questions that carry each key,
/// and the features read from them.
#[derive(Clone, Debug, Default)]
pub(super) struct Nearest {
    best: Vec<Option<f32>>,
    /// Every (similarity, key) seen, until `done` turns them into `votes`.
    seen: Vec<(f32, usize)>,
    votes: Vec<f32>,
}

/// How many nearest labelled questions vote in `Nearest::neighbours`.
const NEIGHBOURS: usize = 20;

impl Nearest {
    /// Nothing seen yet, for `keys` keys.
    pub(super) fn new(keys: usize) -> Self {
        Self {
            best: vec![None; keys],
            seen: Vec::new(),
            votes: vec![0.0; keys],
        }
    }

    /// A labelled question of `key` at similarity `x`.
    pub(super) fn see(&mut self, key: usize, x: f32) {
        let k = &mut self.best[key];
        *k = Some(k.map_or(x, |n| n.max(x)));
        self.seen.push((x, key));
    }

    /// Counts the nearest questions' votes; call once all are seen.
    pub(super) fn done(mut self) -> Self {
        let k = NEIGHBOURS.min(self.seen.len());
        if k > 0 {
            self.seen
                .select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
            for &(_, key) in &self.seen[..k] {
                self.votes[key] += 1.0 / NEIGHBOURS as f32;
            }
        }
        self.seen = Vec::new();
        self
    }

    /// The share of the nearest labelled questions that carry key `key`
    /// (an entry, or out of scope at the entry count); 0 past the keys
    /// (an out-of-scope topic).
    pub(super) fn neighbours(&self, key: usize) -> f32 {
        self.votes.get(key).copied().unwrap_or(0.0)
    }

    fn best(&self, keys: std::ops::Range<usize>) -> f32 {
        self.best[keys]
            .iter()
            .flatten()
            .copied()
            .reduce(f32::max)
            .unwrap_or(0.0)
    }

    /// Entry `e`'s nearest question, or its best phrasing without one
    /// (and for an out-of-scope topic, past the entries).
    pub(super) fn entry(&self, e: usize, phrasing: f32) -> f32 {
        let n_entries = self.best.len().saturating_sub(1);
        self.best[..n_entries]
            .get(e)
            .copied()
            .flatten()
            .unwrap_or(phrasing)
    }

    /// Entry `e`'s nearest question less the nearest question of all
    /// (0 when it is the nearest).
    pub(super) fn entry_gap(&self, e: usize, phrasing: f32) -> f32 {
        self.entry(e, phrasing) - self.best(0..self.best.len())
    }

    /// The nearest out-of-scope question (0 without any).
    pub(super) fn none(&self) -> f32 {
        self.best.last().copied().flatten().unwrap_or(0.0)
    }

    /// The nearest out-of-scope question less the nearest in-scope one.
    pub(super) fn none_gap(&self) -> f32 {
        self.none() - self.best(0..self.best.len().saturating_sub(1))
    }
}

/// `v` less the knowledge base's mean, at unit length.
fn centred(v: &[f32], mean: &[f32]) -> Vec<f32> {
    let mut c: Vec<f32> = v.iter().zip(mean).map(|(x, m)| x - m).collect();
    semantic::normalize(&mut c);
    c
}

/// A word of the knowledge base's texts and its idf over them.
type Vocabulary = HashMap<String, f32>;

/// Each distinct word of `texts` with its BM25 idf (`search::bm25_idf`,
/// the one the index scores with), counting each text once.
fn vocabulary<'a>(texts: impl Iterator<Item = &'a str>) -> Vocabulary {
    let mut df: HashMap<String, f32> = HashMap::new();
    let mut n = 0.0f32;
    for t in texts {
        n += 1.0;
        let words: HashSet<String> = search::words(t).into_iter().collect();
        words
            .into_iter()
            .for_each(|w| *df.entry(w).or_default() += 1.0);
    }
    df.into_iter()
        .map(|(w, d)| (w, search::bm25_idf(d, n)))
        .collect()
}

/// Where each of `sentences` (slices of `text`) lies in it, in bytes,
/// leaving out a sentence that is the whole text (its embedding is the
/// question's).
fn spans(text: &str, sentences: &[&str]) -> Vec<(usize, usize)> {
    sentences
        .iter()
        .filter(|s| **s != text)
        .map(|s| {
            let start = s.as_ptr() as usize - text.as_ptr() as usize;
            (start, start + s.len())
        })
        .collect()
}

/// The sentences of `text` read on their own: lines, or text between
/// full stops, of at least `MIN_SENTENCE_WORDS` words. Of a longer
/// question, the `MAX_SENTENCES` whose distinct words carry the most
/// idf in the knowledge base (`vocabulary`), the earlier first on a tie,
/// in the question's order: the one line of a log paste that names the
/// trouble, not its first lines, and not the lines made of the words
/// every phrasing has.
fn sentences<'a>(text: &'a str, vocabulary: &Vocabulary) -> Vec<&'a str> {
    let all: Vec<&str> = text
        .split(['\n', '.', '!', '?'])
        .map(str::trim)
        .filter(|s| s.split_whitespace().count() >= MIN_SENTENCE_WORDS)
        .collect();
    if all.len() <= MAX_SENTENCES {
        return all;
    }
    let known = |s: &str| {
        let mut w = search::words(s);
        w.sort_unstable();
        w.dedup();
        w.iter().filter_map(|w| vocabulary.get(w)).sum::<f32>()
    };
    let mut chosen: Vec<(usize, f32)> = all.iter().map(|s| known(s)).enumerate().collect();
    chosen.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    chosen.truncate(MAX_SENTENCES);
    chosen.sort_unstable_by_key(|c| c.0);
    chosen.into_iter().map(|(i, _)| all[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kb(texts: &[&str]) -> Vocabulary {
        vocabulary(texts.iter().copied())
    }

    #[test]
    fn a_short_question_keeps_every_sentence_in_order() {
        let v = kb(&["the widget does not load"]);
        let text = "Hi all. The widget does not load! Any idea what to check?";
        assert_eq!(
            sentences(text, &v),
            ["The widget does not load", "Any idea what to check"]
        );
    }

    #[test]
    fn a_long_paste_keeps_the_lines_in_the_knowledge_base_s_words() {
        let v = kb(&[
            "cannot join the queue while in a call",
            "assigned to an agent already",
        ]);
        let mut text = String::from("here is the whole console output\n");
        for i in 0..40 {
            text.push_str(&format!(
                "[{i}] GET https://cdn.example.com/chunk-{i}.js 200 OK\n"
            ));
        }
        text.push_str("Error: Cannot join queue while in call or assigned to agent\n");
        for i in 0..10 {
            text.push_str(&format!("[analytics] event {i} flushed\n"));
        }
        let chosen = sentences(&text, &v);
        assert_eq!(chosen.len(), MAX_SENTENCES);
        assert!(chosen.contains(&"Error: Cannot join queue while in call or assigned to agent"));
        // The rest are the earliest of the tied lines, in text order.
        let mut order: Vec<usize> = chosen
            .iter()
            .map(|c| text.find(c).expect("a sentence of the text"))
            .collect();
        let sorted = {
            let mut o = order.clone();
            o.sort_unstable();
            o
        };
        assert_eq!(order, sorted);
        order.dedup();
        assert_eq!(order.len(), MAX_SENTENCES);
    }

    #[test]
    fn a_rare_word_of_the_knowledge_base_outweighs_words_every_phrasing_has() {
        // Every phrasing has "the", "is" and "not"; one has "websocket".
        let v = kb(&[
            "the call is not working",
            "the page is not loading",
            "the agent is not available",
            "the websocket closed with an error",
        ]);
        let chatty = "it is not the same as it was";
        let text = format!(
            "{chatty}\n{chatty} last week\n{chatty} for the team\n{chatty} today\n{chatty} at all\nwebsocket closed again"
        );
        let chosen = sentences(&text, &v);
        assert_eq!(chosen.len(), MAX_SENTENCES);
        assert!(chosen.contains(&"websocket closed again"), "{chosen:?}");
    }
}
