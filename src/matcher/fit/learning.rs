//! What fitting learns from the labelled questions themselves: the
//! prototypes (`super::super::prototypes`) and the classifiers
//! (`super::super::classifier`) that ship in `matcher.json`, and their
//! features under cross-validation, where no question may see a
//! prototype or a classifier it helped make.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::super::classifier::{
    by_key, dense_scores, normalised, sparse_scores, word_vector, Classifier,
};
use super::super::model::{ENTRY_FEATURES, QUERY_FEATURES};
use super::super::prototypes::{self, Prototypes};
use super::super::semantic::dot;
use super::super::similarity::{Nearest, SemanticIndex};
use super::super::{question_text, Matcher};
use super::softmax::{self, Examples, Trained};
use super::{Labelled, Row, FOLDS};

/// The classifier's L2 penalties tried, strongest first (each training
/// starts from the previous one's solution); the one with the best
/// out-of-fold log-likelihood is kept.
const PENALTIES: [f64; 8] = [0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001, 0.00003, 0.00001];

/// The prototype features under cross-validation. A question must never
/// see a prototype it helped make, or the feature would look far better
/// in fitting than on new questions: a held-out question's prototypes
/// leave out its whole fold, and a training question's leave out its own
/// group (its source thread or repository) too.
pub(super) struct Learning<'a> {
    s: &'a SemanticIndex,
    n_entries: usize,
    /// Per row: its raw embedding, its fold, its group.
    raw: Vec<Vec<f32>>,
    fold: Vec<usize>,
    group: Vec<usize>,
    /// Raw embedding sums and counts per key (entry index, then the
    /// out-of-scope key): over all rows, per fold, per group.
    total: Vec<(Vec<f32>, usize)>,
    by_fold: Vec<Vec<(Vec<f32>, usize)>>,
    by_group: BTreeMap<(usize, usize), (Vec<f32>, usize)>,
    entry_col: usize,
    none_col: usize,
    near_col: usize,
    near_none_col: usize,
    neighbours_col: usize,
    neighbours_none_col: usize,
    /// Per row: its keys; the rows' centred embeddings' similarities.
    keys: Vec<Vec<usize>>,
    sims: Vec<Vec<f32>>,
    /// Each key's name in `matcher.json`: entry ids, then out of scope.
    names: Vec<String>,
    /// The embedding classifier and the word classifier, each with its
    /// entry and none feature columns.
    classifiers: [(Classes, usize, usize); 2],
}

impl<'a> Learning<'a> {
    pub(super) fn new(
        m: &Matcher,
        s: &'a SemanticIndex,
        items: &[Labelled],
        rows: &[Row],
        folds: &[usize],
    ) -> Self {
        let n_entries = m.prep.n_entries;
        let dim = s.dim();
        let index: BTreeMap<&str, usize> = m
            .kb()
            .entries()
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.as_str(), i))
            .collect();
        let mut groups: BTreeMap<&str, usize> = BTreeMap::new();
        let empty = || (vec![0.0f32; dim], 0usize);
        let mut total = vec![empty(); n_entries + 1];
        let mut by_fold = vec![vec![empty(); n_entries + 1]; FOLDS];
        let mut by_group: BTreeMap<(usize, usize), (Vec<f32>, usize)> = BTreeMap::new();
        let mut raw = Vec::with_capacity(rows.len());
        let mut group = Vec::with_capacity(rows.len());
        let mut keys_of: Vec<Vec<usize>> = Vec::new();
        let queries: Vec<Cow<'_, str>> = rows
            .iter()
            .map(|r| question_text(&items[r.item].query))
            .collect();
        let queries: Vec<&str> = queries.iter().map(|q| q.as_ref()).collect();
        let embedded = s.embed_raw_all(&queries);
        for ((r, &k), v) in rows.iter().zip(folds).zip(embedded) {
            let it = &items[r.item];
            let n = groups.len();
            let g = *groups.entry(it.group.as_str()).or_insert(n);
            let keys: Vec<usize> = if it.expect.is_empty() {
                vec![n_entries]
            } else {
                it.expect
                    .iter()
                    .filter_map(|id| index.get(id.as_str()).copied())
                    .collect()
            };
            let keys_copy = keys.clone();
            for key in keys {
                for (sum, n) in [
                    &mut total[key],
                    &mut by_fold[k][key],
                    by_group.entry((g, key)).or_insert_with(empty),
                ] {
                    sum.iter_mut().zip(&v).for_each(|(a, x)| *a += x);
                    *n += 1;
                }
            }
            raw.push(v);
            group.push(g);
            keys_of.push(keys_copy);
        }
        let col = |names: &[&str], name: &str| names.iter().position(|n| *n == name);
        let centred: Vec<Vec<f32>> = raw.iter().map(|v| s.centre(v)).collect();
        let sims: Vec<Vec<f32>> = centred
            .iter()
            .map(|a| centred.iter().map(|b| dot(a, b)).collect())
            .collect();
        let names: Vec<String> = prototypes::keys(m.kb())
            .into_iter()
            .map(str::to_owned)
            .collect();
        let embedded = Examples::Dense(raw.iter().map(Vec::as_slice).collect());
        let (word_rows, columns) = word_rows(m, items, rows);
        let words = Examples::Sparse(word_rows.iter().map(Vec::as_slice).collect(), columns.len());
        let train = |x: &Examples, columns: Vec<u32>| {
            Classes::train(x, &keys_of, folds, n_entries + 1, &names, columns)
        };
        let cols = |entry: &str, none: &str| {
            (
                col(&ENTRY_FEATURES, entry).expect("a classifier feature"),
                col(&QUERY_FEATURES, none).expect("a classifier's none feature"),
            )
        };
        let (e1, n1) = cols("classifier", "classifier_none");
        let (e2, n2) = cols("word_classifier", "word_classifier_none");
        let classifiers = [
            (train(&embedded, Vec::new()), e1, n1),
            (train(&words, columns), e2, n2),
        ];
        Self {
            classifiers,
            names,
            near_col: col(&ENTRY_FEATURES, "nearest").expect("a nearest feature"),
            near_none_col: col(&QUERY_FEATURES, "nearest_none").expect("a nearest_none feature"),
            neighbours_col: col(&ENTRY_FEATURES, "neighbours").expect("a neighbours feature"),
            neighbours_none_col: col(&QUERY_FEATURES, "neighbours_none")
                .expect("a neighbours_none feature"),
            keys: keys_of,
            sims,
            s,
            n_entries,
            raw,
            fold: folds.to_vec(),
            group,
            total,
            by_fold,
            by_group,
            entry_col: col(&ENTRY_FEATURES, "prototype").expect("a prototype feature"),
            none_col: col(&QUERY_FEATURES, "prototype_none").expect("a prototype_none feature"),
        }
    }

    /// The prototypes every labelled question teaches, to ship: each
    /// in-scope question's raw embedding counts toward each entry it
    /// expects, each out-of-scope one toward
    /// [`prototypes::OUT_OF_SCOPE`].
    pub(super) fn prototypes(&self) -> Prototypes {
        let mut by_key: BTreeMap<String, Vec<Vec<f32>>> = BTreeMap::new();
        for (raw, keys) in self.raw.iter().zip(&self.keys) {
            for &k in keys {
                by_key
                    .entry(self.names[k].clone())
                    .or_default()
                    .push(raw.clone());
            }
        }
        Prototypes::from_examples(self.s.dim(), &by_key)
    }

    /// The classifiers every labelled question teaches, to ship: over
    /// embeddings, and over words.
    pub(super) fn classifiers(&self) -> (Classifier, Classifier) {
        (
            self.classifiers[0].0.shipped.clone(),
            self.classifiers[1].0.shipped.clone(),
        )
    }

    /// `rows` with their prototype features as a question held out of
    /// fold `held_out` (or of nothing) would see them.
    pub(super) fn apply(&self, rows: &[Row], held_out: Option<usize>) -> Vec<Row> {
        let mut out = rows.to_vec();
        for (i, r) in out.iter_mut().enumerate() {
            let q = self.s.centre(&self.raw[i]);
            let own_group = held_out != Some(self.fold[i]);
            let feature = |key: usize| -> f32 {
                let mut sum = self.total[key].0.clone();
                let mut n = self.total[key].1;
                let mut less = |(v, c): &(Vec<f32>, usize)| {
                    sum.iter_mut().zip(v).for_each(|(a, x)| *a -= x);
                    n -= c;
                };
                if let Some(k) = held_out {
                    less(&self.by_fold[k][key]);
                }
                if own_group {
                    if let Some(g) = self.by_group.get(&(self.group[i], key)) {
                        less(g);
                    }
                }
                let entry = (key < self.n_entries).then_some(key);
                dot(&self.s.prototype_from(&sum, n, entry), &q)
            };
            // The nearest question of each key the row may see.
            let mut near = Nearest::new(self.n_entries + 1);
            for j in 0..self.raw.len() {
                let visible = j != i
                    && held_out.is_none_or(|k| self.fold[j] != k)
                    && (!own_group || self.group[j] != self.group[i]);
                if visible {
                    for &key in &self.keys[j] {
                        near.see(key, self.sims[i][j]);
                    }
                }
            }
            let near = near.done();
            for (x, &e) in r.f.x.iter_mut().zip(&r.f.entries) {
                // A topic is an out-of-scope key.
                x[self.neighbours_col] = near.neighbours(e.min(self.n_entries));
            }
            r.f.z[self.neighbours_none_col] = near.neighbours(self.n_entries);
            for (c, entry_col, none_col) in &self.classifiers {
                let lp = match held_out {
                    Some(k) if k != self.fold[i] => &c.out2[i][k],
                    _ => &c.out[i],
                };
                for (x, &e) in r.f.x.iter_mut().zip(&r.f.entries) {
                    // A topic is an out-of-scope key.
                    x[*entry_col] = lp[e.min(self.n_entries)];
                }
                r.f.z[*none_col] = lp[self.n_entries];
            }
            for (x, (&e, &topic)) in r.f.x.iter_mut().zip(r.f.entries.iter().zip(&r.f.topic)) {
                if !topic {
                    let phrasing = self.s.best_phrasing(e, &q);
                    x[self.entry_col] = feature(e);
                    x[self.near_col] = near.entry(e, phrasing);
                    x[self.near_col + 1] = near.entry_gap(e, phrasing);
                }
            }
            r.f.z[self.none_col] = feature(self.n_entries);
            r.f.z[self.near_none_col] = near.none();
            r.f.z[self.near_none_col + 1] = near.none_gap();
        }
        out
    }
}

/// The classifiers of one fit: trained without one fold and without two
/// (for cross-validation), and on everything (to ship).
struct Classes {
    out: Vec<Vec<f32>>,
    out2: Vec<Vec<Vec<f32>>>,
    shipped: Classifier,
}

impl Classes {
    /// Examples `x` with their `keys` (classes below `n_keys`, named
    /// `names`), rows in `folds`; a word classifier's `columns`.
    fn train(
        x: &Examples,
        keys: &[Vec<usize>],
        folds: &[usize],
        n_keys: usize,
        names: &[String],
        columns: Vec<u32>,
    ) -> Self {
        // The training rows leaving out the folds in `without`.
        let fit_without = |without: &[usize], l2: f64, from: Option<&Trained>| -> Trained {
            let keep: Vec<usize> = (0..keys.len())
                .filter(|&i| !keys[i].is_empty() && !without.contains(&folds[i]))
                .collect();
            let y: Vec<&[usize]> = keep.iter().map(|&i| keys[i].as_slice()).collect();
            softmax::train(&x.select(&keep), &y, n_keys, l2, from)
        };
        // The penalty: out-of-fold log-likelihood of the true keys.
        let singles = |l2: f64, from: Option<&Vec<Trained>>| -> Vec<Trained> {
            parallel((0..FOLDS).collect(), |&k| {
                fit_without(&[k], l2, from.map(|f| &f[k]))
            })
        };
        let mut best: Option<(f64, f64, Vec<Trained>)> = None;
        let mut previous: Option<Vec<Trained>> = None;
        for l2 in PENALTIES {
            let models = singles(l2, previous.as_ref());
            let ll: f64 = (0..keys.len())
                .filter(|&i| !keys[i].is_empty())
                .map(|i| {
                    let lp = predict(&models[folds[i]], x, i);
                    let k = &keys[i];
                    k.iter().map(|&c| f64::from(lp[c])).sum::<f64>() / k.len() as f64
                })
                .sum();
            if best.as_ref().is_none_or(|b| ll > b.0) {
                best = Some((ll, l2, models.clone()));
                previous = Some(models);
            } else {
                // Weaker penalties only fit the training folds closer.
                break;
            }
        }
        let (_, l2, singles) = best.expect("penalties to try");
        let pairs: Vec<Vec<usize>> = (0..FOLDS)
            .flat_map(|a| (a + 1..FOLDS).map(move |b| vec![a, b]))
            .collect();
        let mut jobs = pairs.clone();
        jobs.push(Vec::new());
        let mut trained = parallel(jobs, |w| fit_without(w, l2, None));
        let all = trained.pop().expect("the full classifier");
        let pair_of = |a: usize, b: usize| {
            let i = pairs
                .iter()
                .position(|p| *p == [a.min(b), a.max(b)])
                .expect("every pair is trained");
            &trained[i]
        };
        let out = (0..keys.len())
            .map(|i| predict(&singles[folds[i]], x, i))
            .collect();
        let out2 = (0..keys.len())
            .map(|i| {
                (0..FOLDS)
                    .map(|k| {
                        if k == folds[i] {
                            Vec::new()
                        } else {
                            predict(pair_of(folds[i], k), x, i)
                        }
                    })
                    .collect()
            })
            .collect();
        // Ship the classes that have labelled questions, as trained: an
        // embedding classifier on the standardised embedding.
        let (w_all, b_all) = all
            .standard
            .as_ref()
            .map_or((&all.w, &all.b), |s| (&s.w, &s.b));
        let dim = w_all.len() / n_keys.max(1);
        let taught: Vec<usize> = (0..n_keys)
            .filter(|&c| keys.iter().any(|k| k.contains(&c)))
            .collect();
        let w: Vec<f32> = taught
            .iter()
            .flat_map(|&c| w_all[c * dim..(c + 1) * dim].iter().copied())
            .collect();
        let mut shipped = Classifier::from_dense(
            dim,
            l2 as f32,
            taught.iter().map(|&c| names[c].clone()).collect(),
            &w,
            taught.iter().map(|&c| b_all[c]).collect(),
        );
        if let Some(s) = &all.standard {
            shipped.mean = s.mean.clone();
            shipped.scale = s.scale.clone();
        }
        shipped.columns = columns;
        Self { out, out2, shipped }
    }
}

/// Row `i` of `x`'s log-probability of each class under `t`.
/// A class the training rows had no example of counts as one the
/// classifier lacks, as a shipped classifier lacks an entry added after
/// the fit (`classifier::by_key`).
fn predict(t: &Trained, x: &Examples, i: usize) -> Vec<f32> {
    let scores = match x {
        Examples::Dense(rows) => dense_scores(&t.w, &t.b, rows[i]),
        Examples::Sparse(rows, d) => sparse_scores(&t.w, &t.b, *d, rows[i]),
    };
    let mut class_of = Vec::with_capacity(scores.len());
    let mut taught = Vec::new();
    for (c, s) in scores.iter().enumerate() {
        if t.taught.get(c).copied().unwrap_or(true) {
            class_of.push(Some(taught.len()));
            taught.push(*s);
        } else {
            class_of.push(None);
        }
    }
    by_key(&normalised(taught), &class_of)
}

/// Each row's analysed words as a sparse vector over the columns of every
/// word the rows use, and those columns' word hashes.
fn word_rows(m: &Matcher, items: &[Labelled], rows: &[Row]) -> (Vec<Vec<(usize, f32)>>, Vec<u32>) {
    let vectors: Vec<Vec<(u32, f32)>> = rows
        .iter()
        .map(|r| {
            let a = m
                .prep
                .analyze(&question_text(&items[r.item].query), &m.cues);
            word_vector(a.terms.iter().map(String::as_str))
        })
        .collect();
    let columns: Vec<u32> = vectors
        .iter()
        .flatten()
        .map(|&(h, _)| h)
        .collect::<std::collections::BTreeSet<u32>>()
        .into_iter()
        .collect();
    let col: BTreeMap<u32, usize> = columns.iter().enumerate().map(|(i, &h)| (h, i)).collect();
    let sparse = vectors
        .iter()
        .map(|v| v.iter().map(|&(h, x)| (col[&h], x)).collect())
        .collect();
    (sparse, columns)
}

/// `work` on each job, spread over the machine's cores; results in job
/// order.
fn parallel<J: Sync, T: Send>(jobs: Vec<J>, work: impl Fn(&J) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.min(jobs.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        mine.push((i, work(job)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a training thread"))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::super::super::prototypes::OUT_OF_SCOPE;
    use super::super::{fold_of, rows};
    use super::*;
    use crate::kb::EntryId;
    use crate::matcher::Query;

    fn shipped() -> Matcher {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
        let kb = crate::kb::load_dir(&dir).expect("the shipped knowledge loads");
        Matcher::new(std::sync::Arc::new(kb)).expect("the matcher builds")
    }

    fn labelled(query: &str, expect: &[EntryId], group: &str) -> Labelled {
        Labelled {
            query: query.into(),
            product: None,
            expect: expect.to_vec(),
            group: group.into(),
            set: "t".into(),
        }
    }

    /// The `nearest` feature of `items[0]` for its expected entry, as
    /// fitting sees it with nothing held out.
    fn nearest_seen(m: &Matcher, items: &[Labelled]) -> f32 {
        let s = m.semantic.as_ref().expect("the model loads");
        let rows = rows(m, items);
        let folds: Vec<usize> = rows.iter().map(|r| fold_of(&items[r.item].group)).collect();
        let learning = Learning::new(m, s, items, &rows, &folds);
        let rows = learning.apply(&rows, None);
        let e = m
            .kb()
            .entries()
            .iter()
            .position(|e| e.id == items[0].expect[0]);
        let i = rows[0]
            .f
            .entries
            .iter()
            .position(|&c| Some(c) == e)
            .expect("the entry is a candidate");
        rows[0].f.x[i][learning.near_col]
    }

    #[test]
    fn a_question_never_learns_from_its_own_source() {
        let m = shipped();
        let q = "the chat bubble vanished from our shop after the theme update";
        let (_, f) = m
            .features(&Query {
                text: q,
                product: None,
                among: None,
            })
            .expect("features");
        let e = f.entries[f.topic.iter().position(|t| !t).expect("an entry")];
        let id = [m.kb().entries()[e].id.clone()];
        let other = "customers hear an echo of their own voice on every call";
        // Its twin in the same source is left out; in another source, seen.
        let same = [
            labelled(q, &id, "a"),
            labelled(q, &id, "a"),
            labelled(other, &id, "b"),
        ];
        let apart = [
            labelled(q, &id, "a"),
            labelled(q, &id, "c"),
            labelled(other, &id, "b"),
        ];
        let hidden = nearest_seen(&m, &same);
        let seen = nearest_seen(&m, &apart);
        assert!(seen > 0.999, "an identical question elsewhere: {seen}");
        assert!(
            hidden < 0.9,
            "only the unrelated question may count: {hidden}"
        );
    }

    #[test]
    fn every_labelled_question_is_kept_under_its_entries_or_as_out_of_scope() {
        let m = shipped();
        let s = m.semantic.as_ref().expect("the model loads");
        let ids: Vec<EntryId> = m.kb().entries()[..2].iter().map(|e| e.id.clone()).collect();
        let items = [
            labelled("widget gone", &ids[..1], "a"),
            labelled("widget gone and calls drop", &ids, "b"),
            labelled("how much does the pro plan cost", &[], "c"),
        ];
        let rows = rows(&m, &items);
        let folds: Vec<usize> = rows.iter().map(|r| fold_of(&items[r.item].group)).collect();
        let p = Learning::new(&m, s, &items, &rows, &folds).prototypes();
        assert_eq!(p.examples(ids[0].as_str(), s.dim()).len(), 2);
        assert_eq!(p.examples(ids[1].as_str(), s.dim()).len(), 1);
        assert_eq!(p.examples(OUT_OF_SCOPE, s.dim()).len(), 1);
    }
}
