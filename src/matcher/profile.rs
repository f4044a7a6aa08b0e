//! The knowledge base prepared for scoring, built once per knowledge base:
//! each entry's analyzed terms with the field they came from, its word
//! pairs and phrasings, idf and within-product specificity of every term,
//! product aliases, error strings, statuses, and out-of-scope topics.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::kb::{CheckId, Entry, EntryId, KnowledgeBase, ProductId};
use crate::search::{self, IndexDoc, Lexicon, SearchIndex};

use super::exact::ErrorIndex;

/// How much a query term counts when the entry has it only in this field
/// (the best field wins): a word of the symptom or title says more about
/// the entry than one found only in a check's prose or the product's name.
pub(super) const FIELD_SYMPTOM: f32 = 1.0;
pub(super) const FIELD_SIGNAL: f32 = 0.8;
pub(super) const FIELD_CHECK: f32 = 0.45;
pub(super) const FIELD_ALIAS: f32 = 0.3;
/// A one-word product alias that this share of some entry's title and
/// symptom phrasings use is also that entry's word, not only the
/// product's name.
const ALIAS_CENTRAL: f32 = 0.25;

/// An entry's analyzed text, for scoring candidates.
#[derive(Debug)]
pub(super) struct Profile {
    /// Index into `Prepared::product_ids`.
    pub product: usize,
    /// (term id, field factor of the best field holding it), sorted by id.
    pub terms: Vec<(u32, f32)>,
    /// Ordered pairs of terms adjacent in a title, symptom, error or
    /// signal phrase, as `first << 32 | second`, sorted.
    pub bigrams: Vec<u64>,
    /// The title and each symptom phrasing, as sorted distinct term ids.
    pub phrasings: Vec<Vec<u32>>,
    /// Each phrasing's terms' (idf x specificity) weights, parallel to
    /// `phrasings`.
    pub phrasing_weights: Vec<Vec<f32>>,
    /// Each phrasing's total (idf x specificity) weight.
    pub phrasing_mass: Vec<f32>,
    /// (term id, share of the title and symptom phrasings that use it),
    /// sorted by id: how central a word is to the entry, not just present.
    pub share: Vec<(u32, f32)>,
    /// Each check's signals, as term id sequences.
    pub checks: Vec<(CheckId, Vec<Vec<u32>>)>,
}

impl Profile {
    pub fn factor(&self, t: u32) -> Option<f32> {
        self.terms
            .binary_search_by_key(&t, |&(id, _)| id)
            .ok()
            .map(|i| self.terms[i].1)
    }

    pub fn has_bigram(&self, a: u32, b: u32) -> bool {
        self.bigrams.binary_search(&pair(a, b)).is_ok()
    }
}

/// An ordered pair of terms: "widget missing" is not "missing in the widget".
pub(super) fn pair(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

/// Everything lexical the scorer looks up, built once.
pub(super) struct Prepared {
    pub lex: Lexicon,
    pub index: SearchIndex,
    /// Interned analyzed terms.
    pub term_ids: HashMap<String, u32>,
    /// Each term id's text.
    pub term_names: Vec<String>,
    /// Inverse document frequency of each term id over entries.
    pub idf: Vec<f32>,
    /// The entries' profiles, then the out-of-scope topics' (from
    /// `n_entries` on).
    pub profiles: Vec<Profile>,
    /// How many of `profiles` are entries.
    pub n_entries: usize,
    /// Inverse document frequency of each ordered term pair over entries.
    pub bigram_idf: HashMap<u64, f32>,
    /// Per product: how specific each of its terms is to one entry, 0..1
    /// (1 = one entry uses it; 0 = every entry does). Absent = 1.
    pub spec: Vec<HashMap<u32, f32>>,
    pub errors: ErrorIndex,
    /// Entries by the HTTP statuses they list.
    pub by_status: HashMap<u16, Vec<usize>>,
    /// Every status some entry lists.
    pub listed_statuses: HashSet<u16>,
    /// Terms that say something is wrong (`trouble` in synonyms.yaml).
    pub trouble: HashSet<String>,
    /// Words that say little about which problem it is (`generic`).
    pub generic: HashSet<String>,
    pub product_ids: Vec<ProductId>,
    /// Each product's aliases as term id sequences.
    pub aliases: Vec<Vec<Vec<u32>>>,
    /// One-word aliases ("c2c", "convot"): they say which product, and
    /// only that; an entry that happens to mention its product's name
    /// (`c2c:call-started`) must not win on it.
    pub alias_terms: HashSet<u32>,
    /// Out-of-scope topics, each as the set of its phrasings' terms.
    pub topics: Vec<(String, HashSet<String>)>,
}

impl Prepared {
    pub fn new(kb: &KnowledgeBase) -> anyhow::Result<Self> {
        let kb_text = kb_strings(kb);
        let lex = Lexicon::new(kb.synonyms(), kb_text.iter().copied());
        let product_ids: Vec<ProductId> = kb.products().iter().map(|p| p.id.clone()).collect();
        let mut term_ids: HashMap<String, u32> = HashMap::default();
        let mut intern = |t: &str| -> u32 {
            if let Some(&id) = term_ids.get(t) {
                return id;
            }
            let next = term_ids.len() as u32;
            term_ids.insert(t.to_owned(), next);
            next
        };

        // Out-of-scope topics are scored like entries, under a product of
        // their own after the real ones: they compete with the entries, and
        // a topic that wins counts for "none of them".
        let topic_docs = topic_entries(kb);
        let all: Vec<&Entry> = kb.entries().iter().chain(&topic_docs).collect();
        let topic_product = product_ids.len();
        let mut docs = Vec::with_capacity(all.len());
        let mut profiles = Vec::with_capacity(all.len());
        let mut error_src: Vec<(usize, &str)> = Vec::new();
        let mut by_status: HashMap<u16, Vec<usize>> = HashMap::default();
        let alias_text: Vec<String> = kb
            .products()
            .iter()
            .map(|p| {
                let mut v = lex.analyze_kb(&p.name);
                for a in &p.aliases {
                    v.extend(lex.analyze_kb(a));
                }
                v.join(" ")
            })
            .collect();
        let mut aliases: Vec<Vec<Vec<u32>>> = Vec::with_capacity(product_ids.len());
        for p in kb.products() {
            let list = p
                .aliases
                .iter()
                .chain(std::iter::once(&p.name))
                .map(|a| {
                    lex.analyze(a)
                        .into_iter()
                        .map(|t| intern(&t.text))
                        .collect::<Vec<_>>()
                })
                .filter(|v| !v.is_empty())
                .collect();
            aliases.push(list);
        }

        let mut alias_text = alias_text;
        alias_text.push(String::new());
        for (i, &e) in all.iter().enumerate() {
            let product = product_ids
                .iter()
                .position(|p| p.as_str() == e.id.product())
                .unwrap_or(topic_product);
            // Each phrase-bearing text analyzed both ways in one pass: with
            // a phrase's own words (for the index and the profile) and as a
            // question reads it (for word pairs).
            let mut canonical: Vec<Vec<String>> = Vec::new();
            let mut both = |t: &str| {
                let (kb_terms, question_terms) = lex.analyze_kb_both(t);
                canonical.push(question_terms);
                kb_terms
            };
            let title = both(&e.title);
            let symptoms: Vec<Vec<String>> = e.symptoms.iter().map(|s| both(s)).collect();
            let errs: Vec<Vec<String>> = e.errors.iter().map(|s| both(s)).collect();
            let signals: Vec<Vec<Vec<String>>> = e
                .checks
                .iter()
                .map(|ch| ch.signals.iter().map(|s| both(s)).collect())
                .collect();
            let check_text: Vec<Vec<String>> = e
                .checks
                .iter()
                .map(|ch| lex.analyze_kb(&format!("{} {} {}", ch.cause, ch.verify, ch.fix)))
                .collect();
            let note = e
                .note
                .as_deref()
                .map(|n| lex.analyze_kb(n))
                .unwrap_or_default();

            let mut best: HashMap<u32, f32> = HashMap::default();
            let put = |best: &mut HashMap<u32, f32>,
                       terms: &[String],
                       f: f32,
                       intern: &mut dyn FnMut(&str) -> u32| {
                terms
                    .iter()
                    .map(|t| {
                        let id = intern(t);
                        let slot = best.entry(id).or_insert(0.0);
                        *slot = slot.max(f);
                        id
                    })
                    .collect::<Vec<u32>>()
            };
            let mut phrasings = Vec::new();
            let mut bigram_src: Vec<Vec<u32>> = Vec::new();
            let t_ids = put(&mut best, &title, FIELD_SYMPTOM, &mut intern);
            phrasings.push(t_ids.clone());
            bigram_src.push(t_ids);
            for s in &symptoms {
                let ids = put(&mut best, s, FIELD_SYMPTOM, &mut intern);
                phrasings.push(ids.clone());
                bigram_src.push(ids);
            }
            for s in &errs {
                bigram_src.push(put(&mut best, s, FIELD_SYMPTOM, &mut intern));
            }
            let mut checks = Vec::with_capacity(e.checks.len());
            for (ch, sigs) in e.checks.iter().zip(&signals) {
                let mut seqs = Vec::with_capacity(sigs.len());
                for s in sigs {
                    let ids = put(&mut best, s, FIELD_SIGNAL, &mut intern);
                    bigram_src.push(ids.clone());
                    seqs.push(ids);
                }
                checks.push((ch.id.clone(), seqs));
            }
            for s in check_text.iter().chain(std::iter::once(&note)) {
                put(&mut best, s, FIELD_CHECK, &mut intern);
            }
            for t in alias_text[product].split_whitespace() {
                put(&mut best, &[t.to_owned()], FIELD_ALIAS, &mut intern);
            }
            // Pairs as a question makes them: a phrase's canonical term next
            // to its neighbours, not the phrase's own words.
            for terms in &canonical {
                bigram_src.push(terms.iter().map(|t| intern(t)).collect());
            }
            let mut terms: Vec<(u32, f32)> = best.into_iter().collect();
            terms.sort_by_key(|&(id, _)| id);
            let mut bigrams: Vec<u64> = bigram_src
                .iter()
                .flat_map(|s| s.windows(2).map(|w| pair(w[0], w[1])).collect::<Vec<_>>())
                .collect();
            bigrams.sort_unstable();
            bigrams.dedup();
            profiles.push(Profile {
                product,
                terms,
                bigrams,
                phrasings,
                phrasing_weights: Vec::new(),
                phrasing_mass: Vec::new(),
                share: Vec::new(),
                checks,
            });

            error_src.extend(e.errors.iter().map(|err| (i, err.as_str())));
            for s in &e.statuses {
                by_status.entry(*s).or_default().push(i);
            }
            let checks_joined: Vec<String> = check_text.iter().map(|v| v.join(" ")).collect();
            docs.push(IndexDoc {
                product: e.id.product().to_owned(),
                title: title.join(" "),
                symptoms: symptoms.iter().map(|v| v.join(" ")).collect(),
                errors: errs.iter().map(|v| v.join(" ")).collect(),
                signals: signals.iter().flatten().map(|v| v.join(" ")).collect(),
                checks: checks_joined,
                aliases: alias_text[product].clone(),
            });
        }

        let n = profiles.len() as f32;
        let mut df = vec![0u32; term_ids.len()];
        for p in &profiles {
            for &(t, f) in &p.terms {
                // Product aliases are on every entry of a product; they say
                // which product, not which entry, so they do not count.
                if f > FIELD_ALIAS {
                    df[t as usize] += 1;
                }
            }
        }
        let idf_v: Vec<f32> = df.iter().map(|&d| search::bm25_idf(d as f32, n)).collect();
        // Within-product specificity: a word every entry of a product uses
        // ("convot", "widget") says which product, not which entry.
        let mut spec: Vec<HashMap<u32, f32>> = vec![HashMap::default(); product_ids.len() + 1];
        let mut sizes = vec![0usize; product_ids.len() + 1];
        for p in &profiles {
            sizes[p.product] += 1;
            for &(t, f) in &p.terms {
                if f > FIELD_ALIAS {
                    *spec[p.product].entry(t).or_insert(0.0) += 1.0;
                }
            }
        }
        for (p, map) in spec.iter_mut().enumerate() {
            let n = sizes[p] as f32;
            for v in map.values_mut() {
                *v = if n <= 1.0 {
                    1.0
                } else {
                    (n / *v).ln() / n.ln()
                };
            }
        }
        // A one-word alias that other products' entries also use ("widget"
        // from `widget.on`) does not say which product.
        let mut users: HashMap<u32, HashSet<usize>> = HashMap::default();
        for p in &profiles {
            for &(t, f) in &p.terms {
                if f > FIELD_ALIAS {
                    users.entry(t).or_default().insert(p.product);
                }
            }
        }
        for (pi, list) in aliases.iter_mut().enumerate() {
            list.retain(|seq| match seq.as_slice() {
                [t] => users.get(t).is_none_or(|ps| ps.iter().all(|&q| q == pi)),
                _ => true,
            });
        }
        let trouble = kb
            .synonyms()
            .trouble
            .iter()
            .filter_map(|w| lex.key_term(w))
            .collect();
        let generic = kb
            .synonyms()
            .generic
            .iter()
            .filter_map(|w| lex.key_term(w))
            .collect();
        let mut bigram_df: HashMap<u64, u32> = HashMap::default();
        for p in &profiles {
            for &b in &p.bigrams {
                *bigram_df.entry(b).or_default() += 1;
            }
        }
        let bigram_idf = bigram_df
            .into_iter()
            .map(|(b, d)| (b, search::bm25_idf(d as f32, n)))
            .collect();
        let mut term_names = vec![String::new(); term_ids.len()];
        for (t, &id) in &term_ids {
            term_names[id as usize].clone_from(t);
        }
        // Each phrasing's distinct terms and total weight, for the symptom
        // feature (fixed per entry, so computed once).
        for p in &mut profiles {
            let mut count: HashMap<u32, f32> = HashMap::default();
            for ph in &p.phrasings {
                let mut seen = ph.clone();
                seen.sort_unstable();
                seen.dedup();
                for t in seen {
                    *count.entry(t).or_default() += 1.0;
                }
            }
            let n = p.phrasings.len().max(1) as f32;
            p.share = count.into_iter().map(|(t, k)| (t, k / n)).collect();
            p.share.sort_by_key(|&(t, _)| t);
            let spec_p = &spec[p.product];
            p.phrasing_weights = p
                .phrasings
                .iter_mut()
                .map(|ph| {
                    ph.sort_unstable();
                    ph.dedup();
                    ph.iter()
                        .map(|&t| idf_v[t as usize] * spec_p.get(&t).copied().unwrap_or(1.0))
                        .collect()
                })
                .collect();
            p.phrasing_mass = p
                .phrasing_weights
                .iter()
                .map(|w: &Vec<f32>| w.iter().sum())
                .collect();
        }
        let idf = idf_v;
        // A one-word alias is a product-only word (it says which product,
        // not which entry) unless some entry of that product is about it:
        // "cobrowse" and "queue" name WidgetClient and are also the main
        // words of its cobrowse and queue entries.
        let alias_terms = aliases
            .iter()
            .enumerate()
            .flat_map(|(pi, list)| list.iter().map(move |seq| (pi, seq)))
            .filter_map(|(pi, seq)| match seq.as_slice() {
                [t] => Some((pi, *t)),
                _ => None,
            })
            .filter(|&(pi, t)| {
                let central = profiles
                    .iter()
                    .filter(|p| p.product == pi)
                    .map(|p| {
                        p.share
                            .binary_search_by_key(&t, |&(id, _)| id)
                            .map_or(0.0, |i| p.share[i].1)
                    })
                    .fold(0.0f32, f32::max);
                central < ALIAS_CENTRAL
            })
            .map(|(_, t)| t)
            .collect();
        let errors = ErrorIndex::new(error_src);
        let listed_statuses = by_status.keys().copied().collect();
        let topics = kb
            .out_of_scope()
            .iter()
            .map(|t| {
                let terms = t
                    .phrasings
                    .iter()
                    .chain(std::iter::once(&t.title))
                    .flat_map(|ph| lex.analyze(ph))
                    .map(|t| t.text)
                    .collect();
                (t.id.clone(), terms)
            })
            .collect();
        let index = SearchIndex::build(&docs)?;
        // Compile the status regexes here rather than in the first
        // customer's question.
        let _ = super::exact::statuses("got 404 from init, then a 404");
        Ok(Self {
            n_entries: kb.entries().len(),
            topics,
            listed_statuses,
            generic,
            term_names,
            bigram_idf,
            trouble,
            spec,
            lex,
            index,
            term_ids,
            idf,
            profiles,
            errors,
            by_status,
            product_ids,
            aliases,
            alias_terms,
        })
    }
}
/// The product name topics are indexed under.
pub(super) const TOPIC_PRODUCT: &str = "out-of-scope";

/// Each out-of-scope topic as an entry-shaped document: its title and its
/// phrasings as symptoms.
fn topic_entries(kb: &KnowledgeBase) -> Vec<Entry> {
    kb.out_of_scope()
        .iter()
        .map(|t| Entry {
            id: EntryId::new(format!("{TOPIC_PRODUCT}/{}", t.id)),
            title: t.title.clone(),
            symptoms: t.phrasings.clone(),
            errors: Vec::new(),
            statuses: Vec::new(),
            escalate_only: false,
            note: None,
            checks: Vec::new(),
            related: Vec::new(),
            guide: None,
            span: Default::default(),
        })
        .collect()
}

/// Every piece of text the knowledge base holds, for the typo vocabulary.
fn kb_strings(kb: &KnowledgeBase) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for p in kb.products() {
        out.push(&p.name);
        out.extend(p.aliases.iter().map(String::as_str));
    }
    for t in kb.out_of_scope() {
        out.push(&t.title);
        out.extend(t.phrasings.iter().map(String::as_str));
    }
    for e in kb.entries() {
        out.push(&e.title);
        out.extend(e.symptoms.iter().map(String::as_str));
        out.extend(e.errors.iter().map(String::as_str));
        if let Some(n) = &e.note {
            out.push(n);
        }
        for c in &e.checks {
            out.push(&c.cause);
            out.push(&c.verify);
            out.push(&c.fix);
            out.extend(c.signals.iter().map(String::as_str));
        }
    }
    out
}
