//! Matching: turns a customer's text into a decision (`answer`, `suggest`,
//! `none`) over the knowledge base's entries, with the check the words
//! point at. Evidence becomes features (`features`: lexical and exact;
//! `semantic`: sentence similarity; `cues`: question type), a fitted model
//! (`model`, refitted by `fit`) turns them into probabilities, and the
//! decision is made on those. The engine and `triage match` rely on the
//! types here.

mod build;
pub mod classifier;
mod cues;
mod exact;
mod explain;
mod features;
pub mod fit;
pub mod model;
mod profile;
pub mod prototypes;
pub mod semantic;
mod similarity;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::kb::{CheckId, EntryId, KnowledgeBase, ProductId};

pub use build::{model_tag, starting_params};
pub use exact::statuses;
pub use explain::{Contribution, Explanation, Scored};
pub use features::{Lexical, TopicScore};

use classifier::{word_vector, Bound};
use cues::CueSet;
use features::Analysis;
use model::{Fitted, Weights, N_ENTRY, N_QUERY};
use profile::Prepared;
use semantic::Semantic;
use similarity::{Nearest, SemanticIndex};

/// A question to match.
#[derive(Clone, Debug, Default)]
pub struct Query<'a> {
    pub text: &'a str,
    /// The product of the channel the question came from; restricts the
    /// search to that product's entries.
    pub product: Option<&'a ProductId>,
    /// The products offered where the question was asked (a server that
    /// supports some of the knowledge base's products); without `product`,
    /// only their entries are candidates. `None`: every product.
    pub among: Option<&'a [ProductId]>,
}

/// What the bot should do with a question.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Confident: post the entry's checklist.
    Answer,
    /// Plausible but close or weak: offer the top few to choose from.
    Suggest,
    /// Out of scope or too little to go on.
    None,
}

/// One ranked entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    pub id: EntryId,
    pub title: String,
    /// Confidence in 0..=1; comparable within one result.
    pub score: f32,
}

/// The result of matching one question (the `match --json` contract).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Match {
    pub decision: Decision,
    /// The product the question is about, when known.
    pub product: Option<ProductId>,
    /// Best first, at most 5.
    pub results: Vec<Candidate>,
    /// The check of the top entry the user's words point at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckId>,
}

/// Longer input is cut here before analysis.
const MAX_INPUT_CHARS: usize = 20_000;
/// Results returned, best first.
const MAX_RESULTS: usize = 5;
/// Entries recalled by sentence similarity, beside tantivy's.
const SEMANTIC_RECALL: usize = 8;
/// One question turned into features: what the model scores and the
/// decision reads.
#[derive(Clone, Debug)]
pub struct Features {
    /// Candidates: entries (indexes into the knowledge base's entries),
    /// then out-of-scope topics (from `Prepared::n_entries` on).
    pub entries: Vec<usize>,
    /// Whether each candidate is an out-of-scope topic.
    pub topic: Vec<bool>,
    /// Each candidate's entry features, parallel to `entries`.
    pub x: Vec<[f32; N_ENTRY]>,
    /// The question's features (the none option's).
    pub z: [f32; N_QUERY],
    /// Each candidate's exact evidence (a pasted error or a status in
    /// context), parallel to `entries`.
    pub exact: Vec<bool>,
    /// Something says which product: the channel or the text.
    pub product_known: bool,
}

/// Matches questions against one knowledge base. Cheap to share (`Arc`).
pub struct Matcher {
    kb: Arc<KnowledgeBase>,
    prep: Prepared,
    cues: CueSet,
    semantic: Option<SemanticIndex>,
    /// The learned word classifier, when one was learned for this
    /// knowledge base.
    words: Option<Bound>,
    fitted: Fitted,
    /// The parameters in use: the semantic set when a model is loaded,
    /// the lexical one otherwise.
    weights: Weights,
    /// For each entry, the entries of other products that are the same
    /// symptom (the same name after the product, or `related` across
    /// products).
    twins: Vec<Vec<usize>>,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("entries", &self.prep.profiles.len())
            .field("terms", &self.prep.term_ids.len())
            .field("semantic", &self.semantic.is_some())
            .finish()
    }
}

impl Matcher {
    pub fn kb(&self) -> &Arc<KnowledgeBase> {
        &self.kb
    }

    /// The entries added since the last fit, which the fitted parameters
    /// know nothing about (`Fitted::entries_added_since`).
    pub fn entries_added_since_fit(&self) -> Vec<&str> {
        self.fitted.entries_added_since(&self.kb)
    }

    /// Whether sentence similarity is on (an embedding model is loaded).
    pub fn is_semantic(&self) -> bool {
        self.semantic.is_some()
    }

    /// The sentence transformer in use, by name; `None` with the shipped
    /// tables or none.
    pub fn transformer(&self) -> Option<&str> {
        self.semantic.as_ref().and_then(|s| s.model().name())
    }

    /// The fitted parameters in use.
    pub fn fitted(&self) -> &Fitted {
        &self.fitted
    }

    pub fn find(&self, q: &Query<'_>) -> Match {
        match self.features(q) {
            Some((a, f)) => self.decide(&self.weights, &a, &f, q.product),
            None => Match {
                decision: Decision::None,
                product: q.product.cloned(),
                results: Vec::new(),
                check: None,
            },
        }
    }

    /// Embeds `questions` ahead, in batches, when the embedding model
    /// remembers what it embedded (a transformer): `triage fit` reads
    /// thousands of labelled questions, several times. They are kept on
    /// disk like the knowledge base's texts, so never pass customers'
    /// questions here.
    pub fn prepare(&self, questions: &[&str]) {
        if let Some(s) = &self.semantic {
            let texts: Vec<Cow<'_, str>> = questions.iter().map(|q| question_text(q)).collect();
            let texts: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
            s.prepare(&texts);
        }
    }

    /// The question's features, or `None` when there is nothing to match
    /// (empty text, or a channel product the knowledge base lacks).
    fn features(&self, q: &Query<'_>) -> Option<(Analysis, Features)> {
        let restrict = match q.product {
            Some(p) => Some(self.prep.product_ids.iter().position(|x| x == p)?),
            None => None,
        };
        let text = question_text(q.text);
        let text = text.as_ref();
        if text.trim().is_empty() {
            return None;
        }
        // The words and the embedding are independent readings of the
        // text: a long paste's two halves of the work run side by side.
        let mut embedded = None;
        let (a, mut lex) = rayon::in_place_scope(|scope| {
            if let Some(s) = &self.semantic {
                scope.spawn(|_| {
                    let (raw, sentences) = s.embed_question(text);
                    let q = s.centre(&raw);
                    let nearest = s.nearest(&q);
                    embedded = Some((sentences, q, nearest, s.classify(&raw)));
                });
            }
            let a = self.prep.analyze(text, &self.cues);
            let lex = self.prep.lexical(&a, restrict, &[]);
            (a, lex)
        });
        let n_entries = self.prep.n_entries;
        let (sentences, q_emb, nearest, classes) = match embedded {
            Some((sentences, q, nearest, classes)) => (sentences, Some(q), nearest, classes),
            None => (Vec::new(), None, Nearest::default(), None),
        };
        // The classifier's log-probability per key (entries, then out of
        // scope); all zeros without one, which no option can tell apart.
        let classes = classes.unwrap_or_else(|| vec![0.0; n_entries + 1]);
        // Read with the semantic features only (the lexical set has no
        // weight for it).
        let word_classes = match (&self.semantic, &self.words) {
            (Some(_), Some(w)) => w.words(&word_vector(a.terms.iter().map(String::as_str))),
            _ => vec![0.0; n_entries + 1],
        };
        // Without one product, the offered ones (positions) bound the search.
        let offered: Option<Vec<usize>> = match (restrict, q.among) {
            (None, Some(ps)) => Some(
                ps.iter()
                    .filter_map(|p| self.prep.product_ids.iter().position(|x| x == p))
                    .collect(),
            ),
            _ => None,
        };
        let offers = |e: usize| {
            offered
                .as_ref()
                .is_none_or(|o| o.contains(&self.prep.profiles[e].product))
        };
        let in_scope =
            |e: usize| restrict.is_none_or(|p| self.prep.profiles[e].product == p) && offers(e);
        let mut extra = Vec::new();
        if let (Some(s), Some(v)) = (&self.semantic, &q_emb) {
            // The entries nearest by their phrasings and by their
            // customers' wording.
            let top_by = |among: &mut dyn Iterator<Item = usize>,
                          sim: &dyn Fn(usize) -> f32|
             -> Vec<usize> {
                let mut by_sim: Vec<(usize, f32)> = among
                    .filter(|&e| in_scope(e))
                    .map(|e| (e, sim(e)))
                    .collect();
                let k = SEMANTIC_RECALL.min(by_sim.len());
                if k == 0 {
                    return Vec::new();
                }
                by_sim.select_nth_unstable_by(k - 1, |x, y| y.1.total_cmp(&x.1));
                by_sim[..k].iter().map(|&(e, _)| e).collect()
            };
            extra.extend(top_by(&mut (0..n_entries), &|e| s.centroid(e, v)));
            // Entries without a learned prototype rank as by centroid.
            extra.extend(top_by(&mut s.learned().iter().copied(), &|e| {
                s.prototype(e, v)
            }));
            extra.sort_unstable();
            extra.dedup();
        }
        // The candidates only sentence similarity recalled join last.
        extra.retain(|e| !lex.iter().any(|l| l.entry == *e));
        lex.extend(self.prep.lexical_of(&a, restrict, &extra));
        // Out-of-scope topics (past the entries) stay whatever is offered.
        lex.retain(|l| l.entry >= n_entries || offers(l.entry));
        let sem: Vec<Semantics> = lex
            .iter()
            .map(|l| match (&self.semantic, &q_emb) {
                (Some(s), Some(v)) => {
                    let (phrasing, sentence) = s.best_phrasing_and_sentence(l.entry, v, &sentences);
                    let entry = l.entry < n_entries;
                    Semantics {
                        phrasing,
                        centroid: s.centroid(l.entry, v),
                        // Topics have no labelled questions, and an entry
                        // may have none yet: their phrasings stand in.
                        prototype: s.prototype(l.entry, v),
                        nearest: nearest.entry(l.entry, phrasing),
                        nearest_gap: if entry {
                            nearest.entry_gap(l.entry, phrasing)
                        } else {
                            0.0
                        },
                        check: s.best_check(l.entry, v),
                        // A topic is an out-of-scope key.
                        classifier: classes[l.entry.min(n_entries)],
                        word_classifier: word_classes[l.entry.min(n_entries)],
                        neighbours: nearest.neighbours(l.entry.min(n_entries)),
                        sentence,
                    }
                }
                _ => Semantics::default(),
            })
            .collect();
        let best_sem = sem
            .iter()
            .zip(&lex)
            .filter(|(_, l)| l.entry < n_entries)
            .map(|(s, _)| s.phrasing)
            .fold(0.0f32, f32::max);
        let content = a.content();
        let x: Vec<[f32; N_ENTRY]> = lex
            .iter()
            .zip(&sem)
            .map(|(l, s)| entry_features(l, s, best_sem, content))
            .collect();
        // The topic is compared with the entry that explains most of the
        // question's words.
        let lead = lex.iter().max_by(|a, b| a.coverage.total_cmp(&b.coverage));
        let topic = self.prep.topic(&a, lead);
        let topic_share = topic.map_or(0.0, |t| (t.share - t.entry_share).max(0.0));
        let topic_sem = match (&self.semantic, &q_emb) {
            (Some(s), Some(v)) => s.best_topic(v) - best_sem,
            _ => 0.0,
        };
        let outside = match (&self.semantic, &q_emb) {
            (Some(s), Some(v)) => (
                s.prototype_outside(v),
                nearest.none(),
                nearest.none_gap(),
                nearest.neighbours(n_entries),
            ),
            _ => (0.0, 0.0, 0.0, 0.0),
        };
        let z = query_features(
            &a,
            topic_share,
            topic_sem,
            outside,
            (classes[n_entries], word_classes[n_entries]),
        );
        let f = Features {
            entries: lex.iter().map(|l| l.entry).collect(),
            topic: lex.iter().map(|l| l.entry >= n_entries).collect(),
            exact: lex.iter().map(|l| l.error > 0.0 || l.status).collect(),
            x,
            z,
            product_known: restrict.is_some() || a.detected.is_some(),
        };
        Some((a, f))
    }

    /// The decision for features `f` under `w`.
    fn decide(
        &self,
        w: &Weights,
        a: &Analysis,
        f: &Features,
        channel: Option<&ProductId>,
    ) -> Match {
        let ranked = rank(w, f, &self.twins, |e| self.prep.profiles[e].product);
        let entries = self.kb.entries();
        let product = channel
            .cloned()
            .or_else(|| a.detected.map(|p| self.prep.product_ids[p].clone()))
            .or_else(|| {
                (ranked.decision == Decision::Answer).then(|| {
                    let top = ranked.order[0].0;
                    self.prep.product_ids[self.prep.profiles[top].product].clone()
                })
            });
        if ranked.decision == Decision::None {
            return Match {
                decision: Decision::None,
                product,
                results: Vec::new(),
                check: None,
            };
        }
        let results = ranked
            .order
            .iter()
            .take(MAX_RESULTS)
            .map(|&(e, p)| Candidate {
                id: entries[e].id.clone(),
                title: entries[e].title.clone(),
                score: (p * 1000.0).round() / 1000.0,
            })
            .collect();
        let check = self.prep.pinpoint(a, ranked.order[0].0);
        Match {
            decision: ranked.decision,
            product,
            results,
            check,
        }
    }
}

/// A ranking and its decision, from features alone (shared by `find` and
/// the fitting code, which replays decisions under other parameters).
#[derive(Clone, Debug)]
pub struct Ranked {
    pub decision: Decision,
    /// (entry index, probability), best first.
    pub order: Vec<(usize, f32)>,
    /// The none option's probability.
    pub none: f32,
}

/// Ranks the candidates of `f` under `w` and decides. `product_of` maps an
/// entry to its product.
pub fn rank(
    w: &Weights,
    f: &Features,
    twins: &[Vec<usize>],
    product_of: impl Fn(usize) -> usize,
) -> Ranked {
    let (order, none) = ranked_entries(w, f);
    let (decision, pair) = arrange(w, &order, f.product_known, twins, &product_of);
    Ranked {
        decision,
        order: shown(&order, pair).map(|(e, p, _)| (e, p)).collect(),
        none,
    }
}

/// The entry candidates by probability, best first, as (entry,
/// probability, exact evidence), and the probability of none of them: the
/// none option's plus every out-of-scope topic's.
pub(crate) fn ranked_entries(w: &Weights, f: &Features) -> (Vec<(usize, f32, bool)>, f32) {
    let (p, none) = w.probabilities(&f.x, &f.z);
    let mut none = none;
    let mut order: Vec<(usize, f32, bool)> = Vec::with_capacity(p.len());
    for (i, &e) in f.entries.iter().enumerate() {
        if f.topic[i] {
            none += p[i];
        } else {
            order.push((e, p[i], f.exact[i]));
        }
    }
    order.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
    (order, none)
}

/// The candidates in the order they are shown: the pair offered side by
/// side (positions in `order`, as `arrange` gives it) first, in their own
/// order, then the others by probability.
pub(crate) fn shown<T: Copy>(
    order: &[T],
    pair: Option<(usize, usize)>,
) -> impl Iterator<Item = T> + '_ {
    let (a, b) = pair.map_or((usize::MAX, usize::MAX), |(x, y)| (x.min(y), x.max(y)));
    let first = [a, b].into_iter().filter_map(|i| order.get(i).copied());
    let rest = order
        .iter()
        .enumerate()
        .filter(move |(i, _)| *i != a && *i != b)
        .map(|(_, o)| *o);
    first.chain(rest)
}

/// The decision, and the pair of candidates (lead, twin), as positions in
/// `order`, to offer side by side when they are the same symptom in two
/// products and nothing says which product. The candidates are ranked by
/// probability as (entry, probability, exact evidence).
pub(crate) fn arrange(
    w: &Weights,
    order: &[(usize, f32, bool)],
    product_known: bool,
    twins: &[Vec<usize>],
    product_of: &impl Fn(usize) -> usize,
) -> (Decision, Option<(usize, usize)>) {
    let (p1, exact) = order.first().map_or((0.0, false), |o| (o.1, o.2));
    let p2 = order.get(1).map_or(0.0, |o| o.1);
    let decision = if order.is_empty() || p1 < w.suggest_min {
        return (Decision::None, None);
    } else if p1 >= w.answer_min && (p1 - p2 >= w.answer_margin || exact) {
        Decision::Answer
    } else {
        Decision::Suggest
    };
    if product_known {
        return (decision, None);
    }
    // One of the two leaders has a twin (the same symptom in another
    // product) that is close behind, or that is its own product's best
    // candidate: the question fits that symptom in both products, so offer
    // both rather than answer for one product.
    let floor = w.twin_ratio * p1;
    let best_of_its_product = |i: usize| {
        let p = product_of(order[i].0);
        order[..i].iter().all(|o| product_of(o.0) != p)
    };
    // A leader is the first candidate, or the runner-up when it is as
    // close to the first as a twin must be.
    let leaders = order.iter().take(2).take_while(|o| o.1 >= floor).count();
    let pair = (0..leaders).find_map(|lead| {
        let e = order[lead].0;
        order
            .iter()
            .enumerate()
            .position(|(i, o)| twins[e].contains(&o.0) && (o.1 >= floor || best_of_its_product(i)))
            .map(|twin| (lead, twin))
    });
    if pair.is_some() {
        return (Decision::Suggest, pair);
    }
    // A close runner-up from another product: not sure which.
    if decision == Decision::Answer
        && order
            .get(1)
            .is_some_and(|s| product_of(s.0) != product_of(order[0].0) && s.1 >= floor)
    {
        return (Decision::Suggest, None);
    }
    (decision, None)
}

/// A candidate's sentence similarities.
#[derive(Clone, Copy, Debug, Default)]
struct Semantics {
    /// The question with the entry's best title or symptom phrasing.
    phrasing: f32,
    /// The question with the entry's mean phrasing.
    centroid: f32,
    /// The question with the entry's best check (cause and signals).
    check: f32,
    /// The question's best sentence with the entry's best phrasing.
    sentence: f32,
    /// The question with the entry's learned prototype.
    prototype: f32,
    /// The question with the entry's nearest labelled question.
    nearest: f32,
    /// That less the nearest labelled question of all.
    nearest_gap: f32,
    /// The share of the nearest labelled questions labelled with it.
    neighbours: f32,
    /// The classifiers' log-probability of the entry: from the
    /// embedding, from the words.
    classifier: f32,
    word_classifier: f32,
}

/// The entry features in `model::ENTRY_FEATURES` order.
fn entry_features(l: &Lexical, s: &Semantics, best_phrasing: f32, content: f32) -> [f32; N_ENTRY] {
    let b = |x: bool| if x { 1.0 } else { 0.0 };
    [
        l.coverage,
        l.absolute,
        l.symptom,
        l.bigram,
        l.focus,
        l.error,
        b(l.status),
        b(l.status_bare),
        b(l.product > 0),
        b(l.product < 0),
        l.bm25,
        s.phrasing,
        s.phrasing - best_phrasing,
        s.centroid,
        s.check,
        s.sentence,
        s.prototype,
        s.nearest,
        s.nearest_gap,
        // A status the entry lists that is most of what the question
        // says ("getting 423"): similarity has nothing else to go on.
        b(l.status || l.status_bare) * (1.0 - content),
        s.classifier,
        s.word_classifier,
        s.neighbours,
    ]
}

/// The question features in `model::QUERY_FEATURES` order.
fn query_features(
    a: &Analysis,
    topic: f32,
    topic_sem: f32,
    outside: (f32, f32, f32, f32),
    classifier_none: (f32, f32),
) -> [f32; N_QUERY] {
    let b = |x: bool| if x { 1.0 } else { 0.0 };
    let known = a.known_weight();
    [
        1.0,
        b(!a.trouble),
        b(a.failure),
        b(a.cues.request),
        b(a.cues.billing),
        b(a.cues.own_code),
        b(a.cues.greeting),
        b(a.cues.calm),
        topic,
        topic_sem,
        a.unknown / (a.unknown + known).max(1e-6),
        b(a.known.len() <= 1),
        // How much the question says: long reports carry more evidence,
        // and more noise.
        (a.known.len() as f32).ln_1p(),
        // A how-to or billing question that reports no failure, and a
        // greeting with next to nothing else, ask nothing of the entries.
        b(a.cues.request && !a.failure),
        b(a.cues.billing && !a.failure),
        b(a.cues.greeting && a.known.len() <= 1),
        // The question with the out-of-scope questions' prototype and
        // with the nearest of them.
        outside.0,
        outside.1,
        outside.2,
        classifier_none.0,
        classifier_none.1,
        // The share of the nearest labelled questions out of scope.
        outside.3,
    ]
}

/// What the matcher reads of a question, in matching and in fitting
/// alike: at most `MAX_INPUT_CHARS` characters, without chat decoration
/// (emoji shortcodes, @-mentions).
pub(crate) fn question_text(text: &str) -> Cow<'_, str> {
    crate::search::without_decoration(truncate_chars(text, MAX_INPUT_CHARS))
}

fn truncate_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::model::Weights;
    use super::*;

    /// Thresholds only: answer at 0.9 with any margin, suggest from 0.3,
    /// twins within a tenth of the first.
    fn thresholds() -> Weights {
        Weights::thresholds(0.9, 0.0, 0.3, 0.1)
    }

    /// Entries 0..5, each its own product, with 1 and 2 the same symptom
    /// in two products, and 0 and 3 too.
    fn twins() -> Vec<Vec<usize>> {
        vec![vec![3], vec![2], vec![1], vec![0], vec![]]
    }

    fn decide(order: &[(usize, f32)], product_known: bool) -> (Decision, Vec<usize>) {
        let order: Vec<(usize, f32, bool)> = order.iter().map(|&(e, p)| (e, p, false)).collect();
        let (d, pair) = arrange(&thresholds(), &order, product_known, &twins(), &|e| e);
        (d, shown(&order, pair).map(|o| o.0).collect())
    }

    #[test]
    fn a_runner_up_far_behind_does_not_bring_its_twin_forward() {
        // Whatever the leader, a runner-up under the twin share is not a
        // leader, even when its twin is its product's best candidate.
        for p1 in [0.91, 0.95, 0.999] {
            let rest = (1.0 - p1) / 2.0;
            let (d, shown) = decide(&[(4, p1), (1, rest), (2, rest * 0.9)], false);
            assert_eq!((d, shown), (Decision::Answer, vec![4, 1, 2]), "p1 {p1}");
        }
    }

    #[test]
    fn a_close_runner_up_is_offered_beside_its_twin() {
        let (d, shown) = decide(&[(4, 0.6), (1, 0.3), (0, 0.06), (2, 0.04)], false);
        assert_eq!((d, shown), (Decision::Suggest, vec![1, 2, 4, 0]));
    }

    #[test]
    fn the_leader_is_offered_beside_its_twin_when_nothing_names_the_product() {
        // The twin is far behind but its product's best candidate.
        let (d, shown) = decide(&[(0, 0.95), (4, 0.03), (3, 0.01)], false);
        assert_eq!((d, shown), (Decision::Suggest, vec![0, 3, 4]));
        // Named, the product decides.
        let (d, shown) = decide(&[(0, 0.95), (4, 0.03), (3, 0.01)], true);
        assert_eq!((d, shown), (Decision::Answer, vec![0, 4, 3]));
    }

    #[test]
    fn shown_puts_the_pair_first_in_its_own_order() {
        let order = [10, 11, 12, 13];
        let all = |pair| shown(&order, pair).collect::<Vec<_>>();
        assert_eq!(all(None), vec![10, 11, 12, 13]);
        assert_eq!(all(Some((2, 0))), vec![10, 12, 11, 13]);
        assert_eq!(all(Some((1, 3))), vec![11, 13, 10, 12]);
    }
}
