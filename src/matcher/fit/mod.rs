//! Fitting the model (`triage fit`): labelled questions become features,
//! a conditional logit with a none option is fitted by Newton's method
//! with an L2 penalty, the decision thresholds are chosen on out-of-fold
//! probabilities from grouped cross-validation, and every set's
//! cross-validated figures are reported. Pure: the caller reads the sets
//! and writes the result.

use std::collections::BTreeMap;

use crate::kb::{EntryId, ProductId};

mod learning;
mod softmax;
mod thresholds;

use learning::Learning;
use thresholds::choose_thresholds;

use super::classifier::Classifier;
use super::model::{Fitted, Weights, ENTRY_FEATURES, N_ENTRY, N_QUERY, QUERY_FEATURES};
use super::prototypes::Prototypes;
use super::{arrange, ranked_entries, shown, Decision, Features, Matcher, Query};

/// One labelled question.
#[derive(Clone, Debug)]
pub struct Labelled {
    pub query: String,
    pub product: Option<ProductId>,
    /// Entry ids that are right at rank 1; empty = out of scope.
    pub expect: Vec<EntryId>,
    /// Items of one group (one source thread or repository, one set's
    /// entry) are never split across folds.
    pub group: String,
    /// The set the item comes from, for the report.
    pub set: String,
}

/// The figures the hidden sets are judged by.
#[derive(Clone, Debug, Default)]
pub struct Scores {
    pub items: usize,
    pub negatives: usize,
    /// In-scope items whose first result is right (any decision but none).
    pub top1: usize,
    /// In-scope items answered outright with the right entry.
    pub answered_right: usize,
    /// Items answered outright with a wrong entry, or answered when out
    /// of scope.
    pub confidently_wrong: usize,
    /// Out-of-scope items that got `none`.
    pub abstained: usize,
    /// In-scope items that got `none`.
    pub false_none: usize,
    /// Threshold-free figures of the probabilities (cross-validation
    /// only; `triage eval` leaves them empty).
    pub ranking: Ranking,
}

/// How well the probabilities rank, whatever the thresholds: a variant
/// whose refit moves a threshold a grid step can move the decision
/// figures more than its ranking changed, so these are judged apart.
#[derive(Clone, Debug, Default)]
pub struct Ranking {
    pub items: usize,
    pub in_scope: usize,
    /// In-scope items whose most probable entry is right, whatever the
    /// decision.
    pub first_right: usize,
    /// The sum over items of the log of the probability given to the
    /// right outcome: the right entries' for an in-scope item, none's
    /// (with the out-of-scope topics') for the others; each at least
    /// `FLOOR`.
    pub log_likelihood: f64,
}

impl Ranking {
    /// The least probability counted for the right outcome, so one right
    /// entry missing from the candidates costs log(1e-6) rather than
    /// infinity.
    const FLOOR: f64 = 1e-6;

    /// One item: its most probable entry is right (`first_right`), and
    /// the right outcome got probability `p`.
    pub fn add(&mut self, in_scope: bool, first_right: bool, p: f64) {
        self.items += 1;
        if in_scope {
            self.in_scope += 1;
            self.first_right += usize::from(first_right);
        }
        self.log_likelihood += p.clamp(Self::FLOOR, 1.0).ln();
    }

    /// The mean log-likelihood per item (0 is perfect).
    pub fn mean_log_likelihood(&self) -> f64 {
        self.log_likelihood / self.items.max(1) as f64
    }

    /// The table's columns: the share ranked right first, and the mean
    /// log-likelihood.
    pub fn row(&self) -> String {
        if self.items == 0 {
            return format!("{:>5}  {:>7}", "-", "-");
        }
        let first = if self.in_scope == 0 {
            "    -".to_owned()
        } else {
            format!("{:.3}", self.first_right as f64 / self.in_scope as f64)
        };
        format!("{first}  {:>7.4}", self.mean_log_likelihood())
    }

    pub const HEADER: &'static str = "first  log-lik";
}

impl Scores {
    pub fn add(&mut self, expect: &[EntryId], decision: Decision, top: Option<&EntryId>) {
        self.items += 1;
        let right = top.is_some_and(|t| expect.contains(t));
        if expect.is_empty() {
            self.negatives += 1;
            match decision {
                Decision::None => self.abstained += 1,
                Decision::Answer => self.confidently_wrong += 1,
                Decision::Suggest => {}
            }
            return;
        }
        match decision {
            Decision::None => self.false_none += 1,
            Decision::Answer if right => {
                self.top1 += 1;
                self.answered_right += 1;
            }
            Decision::Answer => self.confidently_wrong += 1,
            Decision::Suggest if right => self.top1 += 1,
            Decision::Suggest => {}
        }
    }

    fn in_scope(&self) -> usize {
        self.items - self.negatives
    }

    /// One table row: top-1, answered right, confidently wrong (of all
    /// items), abstention, false abstention.
    pub fn row(&self) -> String {
        let r = |n: usize, d: usize| {
            if d == 0 {
                "    -".to_owned()
            } else {
                format!("{:.3}", n as f64 / d as f64)
            }
        };
        format!(
            "{:>5} {:>5}  {}  {}  {}  {}  {}",
            self.items,
            self.negatives,
            r(self.top1, self.in_scope()),
            r(self.answered_right, self.in_scope()),
            r(self.confidently_wrong, self.items),
            r(self.abstained, self.negatives),
            r(self.false_none, self.in_scope()),
        )
    }

    pub const HEADER: &'static str = "items   neg  top-1  ans-ok  conf-wrong  abstain  false-none";
}

/// One labelled item under cross-validation: what the matcher decided
/// for it and how it ranked the entries, fitted without the item's fold.
/// For an editor to see which questions the model gets wrong and why.
#[derive(Clone, Debug)]
pub struct OutOfFold {
    /// Index into the labelled items.
    pub item: usize,
    pub decision: Decision,
    /// The first few entries with their probabilities, best first.
    pub ranked: Vec<(EntryId, f32)>,
}

impl OutOfFold {
    /// Whether the item counts against the figures: an in-scope item not
    /// ranked right first or refused, an out-of-scope one not refused.
    pub fn missed(&self, expect: &[EntryId]) -> bool {
        let right = self.ranked.first().is_some_and(|(t, _)| expect.contains(t));
        match (expect.is_empty(), self.decision) {
            (true, d) => d != Decision::None,
            (false, Decision::None) => true,
            (false, _) => !right,
        }
    }
}

/// The L2 penalty on the weights: keeps rare features (a cue three
/// questions show) from taking extreme weights.
const L2: f64 = 0.05;
/// Folds of the grouped cross-validation.
pub const FOLDS: usize = 5;
/// Entries shown as choices with a suggestion: a right one among them
/// counts as a right suggestion.
const SHOWN: usize = 3;

/// One item's features under one matcher, with which candidates are right.
#[derive(Clone)]
struct Row {
    f: Features,
    right: Vec<bool>,
    item: usize,
    /// The item expects an entry (it is not out of scope).
    in_scope: bool,
}

/// What `fit` returns: the parameters and the cross-validated figures.
pub struct Report {
    pub fitted: Fitted,
    /// Every item's cross-validated outcome with the semantic features,
    /// in item order.
    pub out_of_fold: Vec<OutOfFold>,
    /// Per set (and "all"), cross-validated, with the semantic features.
    pub semantic: BTreeMap<String, Scores>,
    /// The same, lexical only.
    pub lexical: BTreeMap<String, Scores>,
    /// The mean utility per question of the chosen thresholds on the
    /// out-of-fold probabilities (semantic, lexical): the figure the
    /// thresholds maximise, to compare fits.
    pub utility: (f64, f64),
    /// The same for the semantic set without what is learned from the
    /// labelled questions.
    pub unlearned_utility: f64,
}

/// Fits both parameter sets on `items`: `semantic` must have an
/// embedding model, `lexical` must not. Features named in `without` keep
/// a weight of 0.
pub fn fit(
    semantic: &Matcher,
    lexical: &Matcher,
    items: &[Labelled],
    without: &[String],
    about: String,
) -> Report {
    let semantic_rows = rows(semantic, items);
    // For a knowledge base the labelled questions do not cover: the
    // semantic features with what is learned from them at its stand-ins
    // (prototypes and nearest questions at the entries' own phrasings,
    // the classifiers and the out-of-scope questions silent).
    let (wu, _, uu, _, _) = fit_one(semantic, items, semantic_rows.clone(), without, false);
    let (ws, cv_s, us, (prototypes, (classifier, word_classifier)), out_of_fold) =
        fit_one(semantic, items, semantic_rows, without, true);
    let (wl, cv_l, ul, _, _) = fit_one(lexical, items, rows(lexical, items), without, false);
    Report {
        out_of_fold,
        fitted: Fitted {
            model: None,
            about,
            semantic: ws.to_params(),
            lexical: wl.to_params(),
            unlearned: Some(wu.to_params()),
            prototypes,
            classifier,
            word_classifier,
        },
        semantic: cv_s,
        lexical: cv_l,
        utility: (us, ul),
        unlearned_utility: uu,
    }
}

/// Scores `items` with `m` as it is (no refitting): the figures per set.
pub fn evaluate(m: &Matcher, items: &[Labelled]) -> BTreeMap<String, Scores> {
    let mut out: BTreeMap<String, Scores> = BTreeMap::new();
    for it in items {
        let r = m.find(&Query {
            text: &it.query,
            product: it.product.as_ref(),
            among: None,
        });
        let top = r.results.first().map(|c| &c.id);
        for key in [it.set.clone(), "all".to_owned()] {
            out.entry(key).or_default().add(&it.expect, r.decision, top);
        }
    }
    out
}

fn rows(m: &Matcher, items: &[Labelled]) -> Vec<Row> {
    let queries: Vec<&str> = items.iter().map(|it| it.query.as_str()).collect();
    m.prepare(&queries);
    let entries = m.kb().entries();
    items
        .iter()
        .enumerate()
        .filter_map(|(i, it)| {
            let (_, f) = m.features(&Query {
                text: &it.query,
                product: it.product.as_ref(),
                among: None,
            })?;
            let right = f
                .entries
                .iter()
                .zip(&f.topic)
                .map(|(&e, &topic)| !topic && it.expect.contains(&entries[e].id))
                .collect();
            Some(Row {
                f,
                right,
                item: i,
                in_scope: !it.expect.is_empty(),
            })
        })
        .collect()
}

/// The fold of a group: a stable hash, so folds do not change between
/// runs or machines.
fn fold_of(group: &str) -> usize {
    let h = crate::fnv::fnv1a64(group.bytes());
    (h % FOLDS as u64) as usize
}

/// One parameter set fitted on `rows` (`items`' features under `m`), its
/// cross-validated figures and utility, and the prototypes and
/// classifiers learned (none without an embedding model, or without
/// `learn`).
fn fit_one(
    m: &Matcher,
    items: &[Labelled],
    rows: Vec<Row>,
    without: &[String],
    learn: bool,
) -> (
    Weights,
    BTreeMap<String, Scores>,
    f64,
    Learned,
    Vec<OutOfFold>,
) {
    let mask = Mask::new(without);
    let rows = mask.apply(rows);
    let folds: Vec<usize> = rows.iter().map(|r| fold_of(&items[r.item].group)).collect();
    let learning = match &m.semantic {
        Some(s) if learn => Some(Learning::new(m, s, items, &rows, &folds)),
        _ => None,
    };
    // Out-of-fold probabilities for every row.
    let mut oof: Vec<Option<Probs>> = vec![None; rows.len()];
    for k in 0..FOLDS {
        let fold_rows = match &learning {
            Some(l) => mask.apply(l.apply(&rows, Some(k))),
            None => rows.clone(),
        };
        let train: Vec<&Row> = fold_rows
            .iter()
            .zip(&folds)
            .filter(|(_, &f)| f != k)
            .map(|(r, _)| r)
            .collect();
        let (we, wn) = newton(&train);
        for (i, r) in fold_rows.iter().enumerate() {
            if folds[i] == k {
                oof[i] = Some(probs(&we, &wn, &r.f));
            }
        }
    }
    let learned = learning
        .as_ref()
        .map(|l| (l.prototypes(), l.classifiers()))
        .unwrap_or_default();
    let rows = match &learning {
        Some(l) => mask.apply(l.apply(&rows, None)),
        None => rows,
    };
    let oof: Vec<Probs> = oof.into_iter().map(|p| p.unwrap_or_default()).collect();
    let twins = &m.twins;
    let product_of = |e: usize| m.prep.profiles[e].product;
    let (thresholds, utility) = choose_thresholds(&rows, &oof, items, m, twins, &product_of);
    // Cross-validated figures with the chosen thresholds.
    let mut cv: BTreeMap<String, Scores> = BTreeMap::new();
    let entries = m.kb().entries();
    let mut seen = vec![false; items.len()];
    let mut outcomes: Vec<OutOfFold> = (0..items.len())
        .map(|item| OutOfFold {
            item,
            decision: Decision::None,
            ranked: Vec::new(),
        })
        .collect();
    for (r, p) in rows.iter().zip(&oof) {
        seen[r.item] = true;
        let (decision, pair) =
            arrange(&thresholds, &p.order, r.f.product_known, twins, &product_of);
        outcomes[r.item].decision = decision;
        outcomes[r.item].ranked = shown(&p.order, pair)
            .take(SHOWN)
            .map(|o| (entries[o.0].id.clone(), o.1))
            .collect();
        let top = outcomes[r.item].ranked.first().map(|(id, _)| id);
        let it = &items[r.item];
        let is_right = |e: usize| it.expect.contains(&entries[e].id);
        let first_right = p.order.first().is_some_and(|o| is_right(o.0));
        let in_entries: f64 = p.order.iter().map(|o| f64::from(o.1)).sum();
        let p_right = if it.expect.is_empty() {
            1.0 - in_entries
        } else {
            p.order
                .iter()
                .filter(|o| is_right(o.0))
                .map(|o| f64::from(o.1))
                .sum()
        };
        for key in [it.set.clone(), "all".to_owned()] {
            let s = cv.entry(key).or_default();
            s.add(&it.expect, decision, top);
            s.ranking.add(!it.expect.is_empty(), first_right, p_right);
        }
    }
    // Items with nothing to match are `none`, with certainty.
    for it in items
        .iter()
        .enumerate()
        .filter(|(i, _)| !seen[*i])
        .map(|(_, it)| it)
    {
        let in_scope = !it.expect.is_empty();
        for key in [it.set.clone(), "all".to_owned()] {
            let s = cv.entry(key).or_default();
            s.add(&it.expect, Decision::None, None);
            s.ranking
                .add(in_scope, false, if in_scope { 0.0 } else { 1.0 });
        }
    }
    let all: Vec<&Row> = rows.iter().collect();
    let (we, wn) = newton(&all);
    let mut w = thresholds;
    w.entry = we.map(|x| x as f32);
    w.none = wn.map(|x| x as f32);
    (w, cv, utility / rows.len().max(1) as f64, learned, outcomes)
}

/// The feature columns a fit leaves out (held at 0, so their weight is 0).
struct Mask {
    entry: Vec<usize>,
    query: Vec<usize>,
}

impl Mask {
    fn new(without: &[String]) -> Self {
        let cols = |names: &[&str]| -> Vec<usize> {
            names
                .iter()
                .enumerate()
                .filter(|(_, n)| without.iter().any(|w| w == *n))
                .map(|(i, _)| i)
                .collect()
        };
        Self {
            entry: cols(&ENTRY_FEATURES),
            query: cols(&QUERY_FEATURES),
        }
    }

    fn apply(&self, mut rows: Vec<Row>) -> Vec<Row> {
        for r in &mut rows {
            for x in &mut r.f.x {
                self.entry.iter().for_each(|&c| x[c] = 0.0);
            }
            self.query.iter().for_each(|&c| r.f.z[c] = 0.0);
        }
        rows
    }
}

/// What a fit learns from the labelled questions themselves: prototypes,
/// and the embedding and word classifiers.
type Learned = (Prototypes, (Classifier, Classifier));

/// A row's candidates ranked by probability: (entry, probability, exact).
#[derive(Clone, Debug, Default)]
struct Probs {
    order: Vec<(usize, f32, bool)>,
}

fn probs(we: &[f64; N_ENTRY], wn: &[f64; N_QUERY], f: &Features) -> Probs {
    let mut w = Weights::thresholds(0.0, 0.0, 0.0, 0.0);
    w.entry = we.map(|x| x as f32);
    w.none = wn.map(|x| x as f32);
    let (order, _) = ranked_entries(&w, f);
    Probs { order }
}

/// Newton's method on the conditional logit's penalised log-likelihood.
/// Each option's feature vector is its entry features (a candidate) or its
/// question features (none) in one joint space.
fn newton(rows: &[&Row]) -> ([f64; N_ENTRY], [f64; N_QUERY]) {
    const D: usize = N_ENTRY + N_QUERY;
    let mut theta = [0.0f64; D];
    let options = |r: &Row| -> Vec<[f64; D]> {
        let mut v: Vec<[f64; D]> =
            r.f.x
                .iter()
                .map(|x| {
                    let mut o = [0.0; D];
                    for (i, &xi) in x.iter().enumerate() {
                        o[i] = f64::from(xi);
                    }
                    o
                })
                .collect();
        let mut none = [0.0; D];
        for (i, &zi) in r.f.z.iter().enumerate() {
            none[N_ENTRY + i] = f64::from(zi);
        }
        v.push(none);
        v
    };
    // Which options are right: the right candidates, or none when there is
    // no right candidate for an out-of-scope question. An in-scope question
    // whose entry was not recalled teaches nothing and is left out.
    let data: Vec<(Vec<[f64; D]>, Vec<bool>)> = rows
        .iter()
        .filter_map(|r| {
            let mut right = r.right.clone();
            right.push(false);
            if !r.right.iter().any(|&x| x) {
                // An in-scope question whose entry was not recalled
                // teaches nothing and is left out.
                if r.in_scope {
                    return None;
                }
                // None of them, or any out-of-scope topic, is right.
                let last = right.len() - 1;
                right[last] = true;
                for (r, &topic) in right.iter_mut().zip(&r.f.topic) {
                    *r = topic;
                }
                right[last] = true;
            }
            Some((options(r), right))
        })
        .collect();
    let loglik = |theta: &[f64; D]| -> f64 {
        let mut ll = 0.0;
        for (opts, right) in &data {
            let s: Vec<f64> = opts.iter().map(|o| dotd(theta, o)).collect();
            let max = s.iter().copied().fold(f64::MIN, f64::max);
            let z: f64 = s.iter().map(|x| (x - max).exp()).sum();
            let zr: f64 = s
                .iter()
                .zip(right)
                .filter(|(_, r)| **r)
                .map(|(x, _)| (x - max).exp())
                .sum();
            ll += (zr / z).ln();
        }
        ll - 0.5 * L2 * theta.iter().map(|t| t * t).sum::<f64>()
    };
    let mut current = loglik(&theta);
    for _ in 0..50 {
        let mut grad = [0.0f64; D];
        let mut hess = vec![[0.0f64; D]; D];
        for (opts, right) in &data {
            let s: Vec<f64> = opts.iter().map(|o| dotd(&theta, o)).collect();
            let max = s.iter().copied().fold(f64::MIN, f64::max);
            let e: Vec<f64> = s.iter().map(|x| (x - max).exp()).collect();
            let z: f64 = e.iter().sum();
            let zr: f64 = e
                .iter()
                .zip(right)
                .filter(|(_, r)| **r)
                .map(|(x, _)| x)
                .sum();
            let mut mean = [0.0f64; D];
            for (o, ei) in opts.iter().zip(&e) {
                let p = ei / z;
                for d in 0..D {
                    mean[d] += p * o[d];
                }
            }
            for ((o, ei), r) in opts.iter().zip(&e).zip(right) {
                let p = ei / z;
                let q = if *r { ei / zr } else { 0.0 };
                for d in 0..D {
                    grad[d] += (q - p) * o[d];
                }
                for a in 0..D {
                    if o[a] == 0.0 {
                        continue;
                    }
                    for b in 0..D {
                        hess[a][b] += p * o[a] * o[b];
                    }
                }
            }
            for a in 0..D {
                for b in 0..D {
                    hess[a][b] -= mean[a] * mean[b];
                }
            }
        }
        for d in 0..D {
            grad[d] -= L2 * theta[d];
            hess[d][d] += L2;
        }
        let Some(step) = solve(hess, grad) else { break };
        let mut t = 1.0;
        let mut improved = false;
        while t > 1e-4 {
            let mut next = theta;
            for d in 0..D {
                next[d] += t * step[d];
            }
            let ll = loglik(&next);
            if ll > current {
                theta = next;
                improved = current - ll < -1e-9;
                current = ll;
                break;
            }
            t /= 2.0;
        }
        if !improved {
            break;
        }
    }
    let mut we = [0.0; N_ENTRY];
    let mut wn = [0.0; N_QUERY];
    we.copy_from_slice(&theta[..N_ENTRY]);
    wn.copy_from_slice(&theta[N_ENTRY..]);
    (we, wn)
}

fn dotd(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; `None`
/// when `a` is singular.
// Dense linear algebra reads clearest with indices.
#[allow(clippy::needless_range_loop)]
fn solve<const D: usize>(mut a: Vec<[f64; D]>, mut b: [f64; D]) -> Option<[f64; D]> {
    for col in 0..D {
        let pivot = (col..D).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..D {
            let f = a[row][col] / a[col][col];
            for k in col..D {
                a[row][k] -= f * a[col][k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0f64; D];
    for row in (0..D).rev() {
        let s: f64 = (row + 1..D).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solve_inverts_a_small_system() {
        let a = vec![[2.0, 1.0], [1.0, 3.0]];
        let x = solve(a, [3.0, 5.0]).expect("regular");
        assert!((x[0] - 0.8).abs() < 1e-9 && (x[1] - 1.4).abs() < 1e-9);
        assert!(solve(vec![[1.0, 2.0], [2.0, 4.0]], [1.0, 2.0]).is_none());
    }

    #[test]
    fn folds_are_stable_and_spread() {
        assert_eq!(fold_of("github.com/a/b"), fold_of("github.com/a/b"));
        let used: std::collections::HashSet<usize> =
            (0..100).map(|i| fold_of(&format!("group-{i}"))).collect();
        assert_eq!(used.len(), FOLDS);
    }

    #[test]
    fn ranking_counts_the_right_outcome_whatever_the_decision() {
        let mut r = Ranking::default();
        r.add(true, true, 0.5);
        r.add(true, false, 0.25);
        r.add(false, false, 1.0);
        assert_eq!((r.items, r.in_scope, r.first_right), (3, 2, 1));
        let expected = (0.5f64.ln() + 0.25f64.ln()) / 3.0;
        assert!((r.mean_log_likelihood() - expected).abs() < 1e-12);
        assert!(r.row().starts_with("0.500"));
    }

    #[test]
    fn a_right_outcome_given_nothing_costs_the_floor_not_infinity() {
        let mut r = Ranking::default();
        r.add(true, false, 0.0);
        r.add(false, false, -1e-9);
        let m = r.mean_log_likelihood();
        assert!(m.is_finite());
        assert!((m - Ranking::FLOOR.ln()).abs() < 1e-9);
        assert_eq!(Ranking::default().row().trim_start(), "-        -");
    }
}
