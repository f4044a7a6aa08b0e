//! Evidence from the words: the question analyzed against the knowledge
//! base's vocabulary (known terms and their weight, unknown words, product
//! named, trouble words, cues), the candidates recalled for it, and each
//! candidate's lexical evidence (coverage, focus, best symptom phrasing,
//! word pairs, exact errors and statuses). How much each counts is fitted
//! (`model`), not set here.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::Serialize;

use crate::kb::CheckId;
use crate::search;

use super::cues::{CueSet, Shown};
use super::exact;
use super::profile::{pair, Prepared, FIELD_SIGNAL, TOPIC_PRODUCT};

/// How many candidates tantivy hands to the scorer.
const RECALL_LIMIT: usize = 40;
/// At most this many distinct query terms go into the tantivy query (the
/// rarest ones); a 10,000-character paste must not build a huge query.
const MAX_QUERY_TERMS: usize = 32;

// How a word's weight is read. These shape what the features measure; the
// model fits how much each feature counts.
/// A typo-corrected word counts this much of a correctly spelled one.
const CORRECTED_FACTOR: f32 = 0.85;
/// A bare number's share of its idf weight ("30 seconds" says little).
const NUMBER_FACTOR: f32 = 0.3;
/// A generic word's (`generic` in synonyms.yaml) share of its weight.
const GENERIC_FACTOR: f32 = 0.3;
/// Weight of a word the knowledge base has never seen, in coverage.
const UNKNOWN_WEIGHT: f32 = 1.2;
/// Unknown words count at most this many times the known words' weight,
/// so long posts full of context are not drowned.
const UNKNOWN_CAP: f32 = 1.0;
/// The coverage denominator is at least this much weight.
const COVERAGE_FLOOR: f32 = 1e-4;
/// Matched weight at which `absolute` is 1 - 1/e.
const ABSOLUTE_SCALE: f32 = 8.0;
/// A symptom phrasing needs this much idf weight to count fully.
const SYMPTOM_MASS: f32 = 6.0;
/// Weight of a word no entry knows when comparing a topic with an entry
/// ("password", "invoice"): about the idf of a word one entry uses.
const TOPIC_UNKNOWN_WEIGHT: f32 = 3.0;

/// Everything the scorer knows about one question's words.
pub(super) struct Analysis {
    /// Analyzed terms in order: (term id if the knowledge base has it, weight).
    pub seq: Vec<(Option<u32>, f32)>,
    /// Distinct known terms with their query weight (idf x correction).
    pub known: Vec<(u32, f32)>,
    /// Weight of the words the knowledge base has never seen.
    pub unknown: f32,
    /// The weight generic words lose, which still counts in coverage.
    pub vague: f32,
    /// Lowercase surface words, for exact error matching and cues.
    pub words: Vec<String>,
    /// Statuses in a status-like context.
    pub statuses: Vec<u16>,
    /// Statuses some entry lists, written bare ("api says 423").
    pub bare: Vec<u16>,
    /// Product index detected from the text, when one stands out.
    pub detected: Option<usize>,
    /// The text says something is wrong (a trouble word, or a status).
    pub trouble: bool,
    /// Something is wrong beyond a bare negation.
    pub failure: bool,
    /// The question-type cues the text shows.
    pub cues: Shown,
    /// Distinct content words no entry knows, for the out-of-scope
    /// comparison.
    pub unknown_terms: Vec<String>,
    /// Every analysed term, for the word classifier.
    pub terms: Vec<String>,
}

/// The entries a question's exact evidence points at: by error message
/// (with its strength), by status in context, and by a bare number.
struct ExactHits {
    error: HashMap<usize, f32>,
    status: HashSet<usize>,
    bare: HashSet<usize>,
}

/// One candidate's lexical evidence.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Lexical {
    #[serde(skip)]
    pub entry: usize,
    /// Share of the query's weight the entry explains.
    pub coverage: f32,
    /// Matched weight, saturating (long posts can match a lot).
    pub absolute: f32,
    /// Best share of one symptom phrasing found in the query.
    pub symptom: f32,
    /// Word pairs shared with the entry's phrasings, saturating.
    pub bigram: f32,
    /// Share of the query's weight carried by the entry's main symptom
    /// words.
    pub focus: f32,
    /// Strength of a pasted exact error string, 0 when none.
    pub error: f32,
    /// A status the entry lists was written in a status-like context.
    pub status: bool,
    /// A status the entry lists was written bare.
    pub status_bare: bool,
    /// -1 when the text names another product, 1 when it names this one.
    pub product: i8,
    /// tantivy's BM25 score over the best candidate's (0 when not recalled).
    pub bm25: f32,
    #[serde(skip)]
    pub matched_ids: Vec<(u32, f32)>,
}

/// The out-of-scope topic that best explains a question, against the best
/// entry (`match --explain`).
#[derive(Clone, Debug, Serialize)]
pub struct TopicScore {
    pub id: String,
    /// Share of the question's weight the topic's phrasings explain.
    pub share: f32,
    /// The same share for the best entry's title, symptoms, errors and
    /// signals.
    pub entry_share: f32,
}

impl Analysis {
    /// The weight of the words the knowledge base knows.
    pub fn known_weight(&self) -> f32 {
        self.known.iter().map(|&(_, w)| w).sum()
    }

    /// How much the question says, in 0..1: its known words' weight,
    /// saturating like `absolute`.
    pub fn content(&self) -> f32 {
        1.0 - (-self.known_weight() / ABSOLUTE_SCALE).exp()
    }
}

impl Prepared {
    pub fn analyze(&self, text: &str, cues: &CueSet) -> Analysis {
        let terms = self.lex.analyze(text);
        let mut seq = Vec::with_capacity(terms.len());
        let mut seen: HashSet<&str> = HashSet::default();
        let mut known: Vec<(u32, f32)> = Vec::new();
        let mut unknown = 0.0f32;
        let mut vague = 0.0f32;
        let mut unknown_terms = Vec::new();
        for t in &terms {
            let id = self.term_ids.get(&t.text).copied();
            let mut corr = if t.corrected { CORRECTED_FACTOR } else { 1.0 };
            // A bare number ("30 seconds", "2 tabs") is rare in the
            // knowledge base, so its idf is high, but it says little about
            // the symptom; statuses have their own evidence.
            if t.text.chars().all(|ch| ch.is_ascii_digit()) {
                corr *= NUMBER_FACTOR;
            }
            let generic = self.generic.contains(&t.text);
            let full = id.map_or(0.0, |id| self.idf[id as usize] * corr);
            let w = full * if generic { GENERIC_FACTOR } else { 1.0 };
            seq.push((id, w));
            if !seen.insert(&t.text) {
                continue;
            }
            // The weight a generic word loses still dilutes coverage: "its
            // broken again" says too little to answer.
            vague += full - w;
            match id {
                Some(id) if self.alias_terms.contains(&id) => {}
                Some(id) if w > 0.0 => known.push((id, w)),
                _ => {
                    // Numbers, one-letter leftovers and generic words say
                    // little either way.
                    if !generic
                        && t.text.chars().count() > 1
                        && !t.text.chars().all(|ch| ch.is_ascii_digit())
                    {
                        unknown += UNKNOWN_WEIGHT;
                        unknown_terms.push(t.text.clone());
                    }
                }
            }
        }
        let words = search::words(text);
        let statuses = exact::statuses(text);
        let detected = self.detect_product(&seq);
        let trouble_terms: Vec<&str> = terms
            .iter()
            .filter(|t| self.trouble.contains(&t.text))
            .map(|t| t.text.as_str())
            .collect();
        // A status some entry lists, even written bare, reports a failure.
        let bare = exact::bare_statuses(text, &self.listed_statuses);
        let trouble = !statuses.is_empty() || !bare.is_empty() || !trouble_terms.is_empty();
        // Something is wrong beyond a bare negation ("can't find the
        // invoices" is a how-to; "widget not showing" is not).
        let failure = !statuses.is_empty() || trouble_terms.iter().any(|t| *t != "not");
        let cues = cues.find(&words);
        Analysis {
            terms: terms.into_iter().map(|t| t.text).collect(),
            cues,
            bare,
            unknown_terms,
            trouble,
            failure,
            seq,
            known,
            unknown,
            vague,
            words,
            statuses,
            detected,
        }
    }

    /// The product whose aliases the text uses most, when one stands out.
    fn detect_product(&self, seq: &[(Option<u32>, f32)]) -> Option<usize> {
        let ids: Vec<Option<u32>> = seq.iter().map(|&(id, _)| id).collect();
        let mut hits = vec![0usize; self.aliases.len()];
        for (p, list) in self.aliases.iter().enumerate() {
            for alias in list {
                if contains_seq(&ids, alias) {
                    hits[p] += alias.len();
                }
            }
        }
        let best = hits.iter().copied().max().unwrap_or(0);
        if best == 0 {
            return None;
        }
        let top: Vec<usize> = (0..hits.len()).filter(|&p| hits[p] == best).collect();
        match top.as_slice() {
            [p] => Some(*p),
            _ => None,
        }
    }
    /// The candidates for `a` (tantivy's best, entries with exact
    /// evidence, and `extra`), each with its lexical evidence.
    pub fn lexical(&self, a: &Analysis, restrict: Option<usize>, extra: &[usize]) -> Vec<Lexical> {
        // The rarest terms go to tantivy; each carries its correction factor.
        let mut qterms: Vec<(u32, f32)> = a.known.clone();
        qterms.sort_by(|x, y| y.1.total_cmp(&x.1));
        qterms.truncate(MAX_QUERY_TERMS);
        let weighted: Vec<(String, f32)> = qterms
            .iter()
            .map(|&(id, w)| {
                let corr = w / self.idf[id as usize].max(f32::EPSILON);
                (self.term_names[id as usize].clone(), corr)
            })
            .collect();
        let restrict_name = restrict.map(|p| self.product_ids[p].as_str());
        let search = |product: Option<&str>, limit: usize| {
            self.index
                .search(&weighted, product, limit)
                .unwrap_or_else(|err| {
                    tracing::warn!(error = %err, "tantivy search failed; matching on exact signals only");
                    Vec::new()
                })
        };
        let mut recalled: Vec<(usize, f32)> = search(restrict_name, RECALL_LIMIT);
        // In a product's channel the out-of-scope topics still compete.
        if restrict_name.is_some() {
            recalled.extend(search(Some(TOPIC_PRODUCT), RECALL_LIMIT));
        }
        let mut cands: Vec<usize> = recalled.iter().map(|&(ord, _)| ord).collect();
        // Exact signals: their entries are candidates whatever BM25 says.
        let exact = self.exact_hits(a);
        for &e in exact
            .error
            .keys()
            .chain(exact.status.iter())
            .chain(exact.bare.iter())
            .chain(extra)
        {
            if !cands.contains(&e) {
                cands.push(e);
            }
        }
        if let Some(p) = restrict {
            cands.retain(|&e| self.profiles[e].product == p || e >= self.n_entries);
        }
        self.score(a, restrict, cands, &recalled, &exact)
    }

    /// `lexical`'s evidence for `entries` that its recall left out (so
    /// with no BM25 score), in order: the candidates that only sentence
    /// similarity finds, scored once the embedding is ready.
    pub fn lexical_of(
        &self,
        a: &Analysis,
        restrict: Option<usize>,
        entries: &[usize],
    ) -> Vec<Lexical> {
        self.score(a, restrict, entries.to_vec(), &[], &self.exact_hits(a))
    }

    /// The entries that `a`'s exact errors and statuses point at.
    fn exact_hits(&self, a: &Analysis) -> ExactHits {
        let hits_of = |codes: &[u16]| -> HashSet<usize> {
            codes
                .iter()
                .filter_map(|s| self.by_status.get(s))
                .flatten()
                .copied()
                .collect()
        };
        ExactHits {
            error: self.errors.hits(&a.words),
            status: hits_of(&a.statuses),
            bare: hits_of(&a.bare),
        }
    }

    /// Each of `cands`' lexical evidence; `recalled` holds tantivy's BM25
    /// scores.
    fn score(
        &self,
        a: &Analysis,
        restrict: Option<usize>,
        cands: Vec<usize>,
        recalled: &[(usize, f32)],
        exact: &ExactHits,
    ) -> Vec<Lexical> {
        let best_bm25 = recalled.iter().map(|&(_, s)| s).fold(0.0f32, f32::max);
        let bm25: HashMap<usize, f32> = recalled.iter().copied().collect();
        let (error_hits, status_hits, bare_hits) = (&exact.error, &exact.status, &exact.bare);
        let mut query_bigrams: Vec<(u32, u32)> = a
            .seq
            .windows(2)
            .filter_map(|w| match (w[0].0, w[1].0) {
                (Some(x), Some(y)) if x != y => Some((x, y)),
                _ => None,
            })
            .collect();
        query_bigrams.sort_unstable();
        query_bigrams.dedup();
        // The query's known terms as a bit set over term ids: the symptom
        // feature tests every term of every phrasing of every candidate.
        let mut known_bits = vec![0u64; self.term_names.len().div_ceil(64)];
        for &(t, _) in &a.known {
            known_bits[t as usize / 64] |= 1 << (t % 64);
        }
        let is_known = |t: u32| known_bits[t as usize / 64] & (1 << (t % 64)) != 0;

        cands
            .into_iter()
            .map(|e| {
                let p = &self.profiles[e];
                let spec = &self.spec[p.product];
                let sp = |t: u32| spec.get(&t).copied().unwrap_or(1.0);
                // Query weight, discounted by how little the word tells
                // this product's entries apart.
                let mut matched = 0.0f32;
                let mut total = 0.0f32;
                let mut matched_ids = Vec::new();
                let mut central = 0.0f32;
                for &(t, w) in &a.known {
                    let ws = w * sp(t);
                    total += ws;
                    if let Some(f) = p.factor(t) {
                        matched += f * ws;
                        matched_ids.push((t, f * ws));
                        if let Ok(i) = p.share.binary_search_by_key(&t, |&(id, _)| id) {
                            // Unlike coverage, a product-wide word still
                            // counts a little here (its idf, not its
                            // specificity), so "no audio" in a product
                            // channel prefers the entry about it.
                            central += w * p.share[i].1;
                        }
                    }
                }
                let known_w = a.known_weight();
                let focus = if known_w > 0.0 {
                    central / (known_w + a.unknown.min(UNKNOWN_CAP * known_w.max(1.0)))
                } else {
                    0.0
                };
                let total = total + a.vague + a.unknown.min(UNKNOWN_CAP * total.max(1.0));
                // A question made only of words every entry of a product
                // shares ("widget not showing") cannot be fully explained.
                let coverage = matched / total.max(COVERAGE_FLOOR);
                let absolute = 1.0 - (-matched / ABSOLUTE_SCALE).exp();
                let symptom = p
                    .phrasings
                    .iter()
                    .zip(&p.phrasing_weights)
                    .zip(&p.phrasing_mass)
                    .map(|((ph, ws), &all)| {
                        let hit: f32 = ph
                            .iter()
                            .zip(ws)
                            .filter(|&(&t, _)| is_known(t))
                            .map(|(_, &w)| w)
                            .sum();
                        if all > 0.0 {
                            // A short phrasing fully covered is weaker
                            // evidence than a long one.
                            (hit / all) * (all / SYMPTOM_MASS).min(1.0)
                        } else {
                            0.0
                        }
                    })
                    .fold(0.0f32, f32::max);
                // A pair's weight is its own rarity: "widget" and "missing"
                // are everywhere, "widget missing" is not.
                // The reversed pair counts half: Romance languages put the
                // noun first ("botao de ligar" is the call button).
                let bigram_w: f32 = query_bigrams
                    .iter()
                    .map(|&(x, y)| {
                        if p.has_bigram(x, y) {
                            self.bigram_idf.get(&pair(x, y)).copied().unwrap_or(0.0)
                        } else if p.has_bigram(y, x) {
                            0.5 * self.bigram_idf.get(&pair(y, x)).copied().unwrap_or(0.0)
                        } else {
                            0.0
                        }
                    })
                    .sum();
                let bigram = 1.0 - (-bigram_w / 4.0).exp();
                let error = error_hits.get(&e).copied().unwrap_or(0.0);
                let status = status_hits.contains(&e);
                let product = match (restrict, a.detected) {
                    _ if e >= self.n_entries => 0,
                    (None, Some(d)) if d == p.product => 1,
                    (None, Some(_)) => -1,
                    _ => 0,
                };
                let bm25 = if best_bm25 > 0.0 {
                    bm25.get(&e).copied().unwrap_or(0.0) / best_bm25
                } else {
                    0.0
                };
                Lexical {
                    entry: e,
                    coverage,
                    absolute,
                    symptom,
                    bigram,
                    focus,
                    error,
                    status,
                    status_bare: bare_hits.contains(&e) && !status,
                    product,
                    bm25,
                    matched_ids,
                }
            })
            .collect()
    }

    /// The out-of-scope topic that explains most of the question, compared
    /// with what the entry `e` explains of it in its title, symptoms,
    /// errors and signals.
    pub fn topic(&self, a: &Analysis, e: Option<&Lexical>) -> Option<TopicScore> {
        let unknown_w = TOPIC_UNKNOWN_WEIGHT;
        let total = a.known_weight() + unknown_w * a.unknown_terms.len() as f32;
        if total <= 0.0 || self.topics.is_empty() {
            return None;
        }
        let (id, hit) = self
            .topics
            .iter()
            .map(|(id, terms)| {
                let known: f32 = a
                    .known
                    .iter()
                    .filter(|&&(t, _)| terms.contains(&self.term_names[t as usize]))
                    .map(|&(_, w)| w)
                    .sum();
                let unknown = a
                    .unknown_terms
                    .iter()
                    .filter(|t| terms.contains(*t))
                    .count();
                (id, known + unknown_w * unknown as f32)
            })
            .max_by(|x, y| x.1.total_cmp(&y.1))?;
        if hit <= 0.0 {
            return None;
        }
        let entry_hit: f32 = e.map_or(0.0, |e| {
            let p = &self.profiles[e.entry];
            let words: f32 = a
                .known
                .iter()
                .filter(|&&(t, _)| p.factor(t).is_some_and(|f| f >= FIELD_SIGNAL))
                .map(|&(_, w)| w)
                .sum();
            // A status the entry lists counts like a rare word of its own.
            words + if e.status { unknown_w } else { 0.0 }
        });
        Some(TopicScore {
            id: id.clone(),
            share: hit / total,
            entry_share: entry_hit / total,
        })
    }
    /// The check whose signals the text uses, when exactly one stands out.
    pub fn pinpoint(&self, a: &Analysis, e: usize) -> Option<CheckId> {
        let ids: Vec<Option<u32>> = a.seq.iter().map(|&(id, _)| id).collect();
        let mut best: Option<(f32, &CheckId)> = None;
        let mut tie = false;
        for (id, signals) in &self.profiles[e].checks {
            let w: f32 = signals
                .iter()
                .filter(|s| !s.is_empty() && contains_seq(&ids, s))
                .map(|s| s.iter().map(|&t| self.idf[t as usize]).sum::<f32>())
                .sum();
            if w <= 0.0 {
                continue;
            }
            match best {
                Some((bw, _)) if w < bw => {}
                Some((bw, _)) if w == bw => tie = true,
                _ => {
                    best = Some((w, id));
                    tie = false;
                }
            }
        }
        match (best, tie) {
            (Some((_, id)), false) => Some(id.clone()),
            _ => None,
        }
    }
}

/// True when `needle` occurs contiguously in `hay` (all known terms).
fn contains_seq(hay: &[Option<u32>], needle: &[u32]) -> bool {
    if needle.is_empty() || needle.len() > hay.len() {
        return false;
    }
    hay.windows(needle.len())
        .any(|w| w.iter().zip(needle).all(|(h, n)| *h == Some(*n)))
}
