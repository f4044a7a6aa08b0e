//! The in-RAM tantivy index over entries: one boosted field per kind of
//! entry text, holding terms the `Lexicon` already analyzed, scored term at
//! a time over tantivy's postings and field norms with tantivy's BM25.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use tantivy::postings::Postings;
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STRING,
};
use tantivy::tokenizer::{TextAnalyzer, WhitespaceTokenizer};
use tantivy::{DocSet, Index, IndexReader, ReloadPolicy, TantivyDocument, Term, TERMINATED};

/// Tantivy's name for the tokenizer of the pre-analyzed term fields.
const TERMS_TOKENIZER: &str = "triage_terms";

/// The index fields, as returned by the schema builder.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    pub title: Field,
    pub symptoms: Field,
    pub errors: Field,
    /// Words that point at one check ("corporate proxy", "CSP").
    pub signals: Field,
    /// A check's cause, verification and fix prose.
    pub checks: Field,
    pub aliases: Field,
    /// The entry's product id, untokenized, for channel restriction.
    pub product: Field,
    /// The entry's position in the knowledge base.
    pub ord: Field,
}

/// How much a term found in each field counts. Symptoms are what customers
/// write, so they weigh most; checks hold causes and fixes, which customers
/// mention less often and which share words across entries.
#[derive(Clone, Copy, Debug)]
pub struct Boosts {
    pub title: f32,
    pub symptoms: f32,
    pub errors: f32,
    pub signals: f32,
    pub checks: f32,
    pub aliases: f32,
}

pub const BOOSTS: Boosts = Boosts {
    title: 1.5,
    symptoms: 2.0,
    errors: 1.5,
    signals: 1.2,
    checks: 0.6,
    aliases: 0.5,
};

/// One entry's analyzed text, ready to index (terms joined by spaces).
#[derive(Clone, Debug, Default)]
pub struct IndexDoc {
    pub product: String,
    pub title: String,
    pub symptoms: Vec<String>,
    pub errors: Vec<String>,
    pub signals: Vec<String>,
    pub checks: Vec<String>,
    pub aliases: String,
}

/// The in-RAM tantivy index over entries. One reader for its whole life;
/// each search takes a fresh searcher.
pub struct SearchIndex {
    fields: Fields,
    reader: IndexReader,
    /// How many entries hold each term, per field (in `boosted_fields`
    /// order); 0 = the field never has it, so it is not looked up.
    doc_freq: HashMap<String, [u32; 6]>,
    /// Average length in terms of each field (BM25's length norm).
    avg_len: [f32; 6],
    num_docs: usize,
}

/// BM25 constants, as tantivy's own scorer uses them.
const BM25_K1: f32 = 1.2;
const BM25_B: f32 = 0.75;

/// BM25's inverse document frequency of something `df` of `n` documents
/// hold: the index's scorer and the matcher's term and word-pair weights
/// all use this one.
pub fn bm25_idf(df: f32, n: f32) -> f32 {
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("fields", &self.fields)
            .finish()
    }
}

impl SearchIndex {
    /// Indexes `docs`; a document's position is its ordinal in results.
    pub fn build(docs: &[IndexDoc]) -> tantivy::Result<Self> {
        let mut sb = Schema::builder();
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TERMS_TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let fields = Fields {
            title: sb.add_text_field("title", text.clone()),
            symptoms: sb.add_text_field("symptoms", text.clone()),
            errors: sb.add_text_field("errors", text.clone()),
            signals: sb.add_text_field("signals", text.clone()),
            checks: sb.add_text_field("checks", text.clone()),
            aliases: sb.add_text_field("aliases", text),
            product: sb.add_text_field("product", STRING),
            ord: sb.add_u64_field("ord", FAST),
        };
        let index = Index::create_in_ram(sb.build());
        // Terms arrive analyzed by the Lexicon (stemmed, synonyms resolved),
        // so the index only splits on whitespace.
        index.tokenizers().register(
            TERMS_TOKENIZER,
            TextAnalyzer::builder(WhitespaceTokenizer::default()).build(),
        );
        let mut doc_freq: HashMap<String, [u32; 6]> = HashMap::default();
        let mut tokens = [0u64; 6];
        for d in docs {
            let texts: [(u8, Vec<&String>); 6] = [
                (0, vec![&d.title]),
                (1, d.symptoms.iter().collect()),
                (2, d.errors.iter().collect()),
                (3, d.signals.iter().collect()),
                (4, d.checks.iter().collect()),
                (5, vec![&d.aliases]),
            ];
            let mut seen: HashSet<(&str, u8)> = HashSet::default();
            for (i, list) in texts {
                for t in list.into_iter().flat_map(|s| s.split_whitespace()) {
                    tokens[usize::from(i)] += 1;
                    if seen.insert((t, i)) {
                        doc_freq.entry(t.to_owned()).or_default()[usize::from(i)] += 1;
                    }
                }
            }
        }
        let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 64_000_000)?;
        for (ord, d) in docs.iter().enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_u64(fields.ord, ord as u64);
            doc.add_text(fields.product, &d.product);
            doc.add_text(fields.title, &d.title);
            for s in &d.symptoms {
                doc.add_text(fields.symptoms, s);
            }
            for s in &d.errors {
                doc.add_text(fields.errors, s);
            }
            for s in &d.signals {
                doc.add_text(fields.signals, s);
            }
            for s in &d.checks {
                doc.add_text(fields.checks, s);
            }
            doc.add_text(fields.aliases, &d.aliases);
            writer.add_document(doc)?;
        }
        writer.commit()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let n = docs.len().max(1) as f32;
        Ok(SearchIndex {
            fields,
            reader,
            doc_freq,
            avg_len: tokens.map(|t| t as f32 / n),
            num_docs: docs.len(),
        })
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The text fields with their boosts, in the order `doc_freq` and
    /// `avg_len` use.
    fn boosted_fields(&self) -> [(Field, f32); 6] {
        let f = &self.fields;
        [
            (f.title, BOOSTS.title),
            (f.symptoms, BOOSTS.symptoms),
            (f.errors, BOOSTS.errors),
            (f.signals, BOOSTS.signals),
            (f.checks, BOOSTS.checks),
            (f.aliases, BOOSTS.aliases),
        ]
    }

    /// BM25 over the weighted `terms` (each term's weight multiplies the
    /// field boosts), restricted to `product` when given. Returns
    /// `(ordinal, score)` best first, at most `limit`. User text never
    /// reaches a query parser: the terms are looked up one by one in each
    /// field's term dictionary.
    ///
    /// Scoring is term at a time over tantivy's postings and field norms,
    /// with the same BM25 as tantivy's `TermQuery`, into one accumulator per
    /// entry. A question makes up to a hundred (term, field) clauses over a
    /// few dozen to a few thousand entries: building a boxed query, weight
    /// and scorer per clause and merging them document at a time (block-max
    /// WAND) cost several times more than reading the postings themselves
    /// (measured with callgrind; see BENCHMARKS.md).
    pub fn search(
        &self,
        terms: &[(String, f32)],
        product: Option<&str>,
        limit: usize,
    ) -> tantivy::Result<Vec<(usize, f32)>> {
        if terms.is_empty() || limit == 0 || self.num_docs == 0 {
            return Ok(Vec::new());
        }
        let f = &self.fields;
        let per_field = self.boosted_fields();
        let n = self.num_docs as f32;
        let mut scores = vec![0.0f32; self.num_docs];
        let mut allowed = product.map(|_| vec![false; self.num_docs]);
        let searcher = self.reader.searcher();
        for segment in searcher.segment_readers() {
            let ords = segment.fast_fields().u64("ord")?;
            if let (Some(p), Some(allowed)) = (product, allowed.as_mut()) {
                let inv = segment.inverted_index(f.product)?;
                let term = Term::from_field_text(f.product, p);
                if let Some(mut postings) = inv.read_postings(&term, IndexRecordOption::Basic)? {
                    let mut doc = postings.doc();
                    while doc != TERMINATED {
                        if let Some(o) = ords.first(doc) {
                            allowed[o as usize] = true;
                        }
                        doc = postings.advance();
                    }
                }
            }
            for (i, (field, boost)) in per_field.into_iter().enumerate() {
                let avg = self.avg_len[i];
                let held: Vec<(&str, f32, u32)> = terms
                    .iter()
                    .filter_map(|(t, w)| {
                        let df = self.doc_freq.get(t.as_str())?[i];
                        (df > 0).then_some((t.as_str(), *w, df))
                    })
                    .collect();
                if held.is_empty() || avg <= 0.0 {
                    continue;
                }
                let inv = segment.inverted_index(field)?;
                let norms = segment.get_fieldnorms_reader(field)?;
                for (t, w, df) in held {
                    let term = Term::from_field_text(field, t);
                    let Some(info) = inv.get_term_info(&term)? else {
                        continue;
                    };
                    let weight = boost * w * bm25_idf(df as f32, n) * (1.0 + BM25_K1);
                    let mut postings =
                        inv.read_postings_from_terminfo(&info, IndexRecordOption::WithFreqs)?;
                    let mut doc = postings.doc();
                    while doc != TERMINATED {
                        if let Some(o) = ords.first(doc) {
                            let tf = postings.term_freq() as f32;
                            let len = norms.fieldnorm(doc) as f32;
                            let norm = BM25_K1 * (1.0 - BM25_B + BM25_B * len / avg);
                            scores[o as usize] += weight * tf / (tf + norm);
                        }
                        doc = postings.advance();
                    }
                }
            }
        }
        let mut out: Vec<(usize, f32)> = scores
            .into_iter()
            .enumerate()
            .filter(|&(o, s)| s > 0.0 && allowed.as_ref().is_none_or(|a| a[o]))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(limit);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The term-at-a-time scorer gives the scores tantivy's own BM25 gives
    /// the same boosted term queries.
    #[test]
    fn scores_are_tantivys_bm25() {
        use tantivy::collector::TopDocs;
        use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};

        let doc = |product: &str, title: &str, symptoms: &[&str], checks: &[&str]| IndexDoc {
            product: product.into(),
            title: title.into(),
            symptoms: symptoms.iter().map(|s| (*s).to_owned()).collect(),
            errors: Vec::new(),
            signals: vec!["proxi".into()],
            checks: checks.iter().map(|s| (*s).to_owned()).collect(),
            aliases: product.into(),
        };
        let docs = [
            doc(
                "a",
                "widget not_show",
                &["bubbl not_show", "widget blank"],
                &["script block csp"],
            ),
            doc(
                "a",
                "messag not arriv",
                &["messag lost", "inbox empti"],
                &["websocket block proxi"],
            ),
            doc(
                "b",
                "no audio",
                &["silenc call", "agent not hear"],
                &["microphon mute"],
            ),
            doc(
                "b",
                "call drop",
                &["call drop drop", "call cut"],
                &["network proxi firewal"],
            ),
        ];
        let index = SearchIndex::build(&docs).unwrap();
        let terms: Vec<(String, f32)> = [
            ("call", 1.0),
            ("drop", 0.85),
            ("proxi", 0.5),
            ("not_show", 1.0),
        ]
        .iter()
        .map(|&(t, w)| (t.to_owned(), w))
        .collect();
        let ours = index.search(&terms, None, 10).unwrap();

        let per_field = index.boosted_fields();
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (t, w) in &terms {
            for (field, boost) in per_field {
                let q = TermQuery::new(
                    Term::from_field_text(field, t),
                    IndexRecordOption::WithFreqs,
                );
                should.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(q), boost * w)),
                ));
            }
        }
        let searcher = index.reader.searcher();
        let top = searcher
            .search(&BooleanQuery::new(should), &TopDocs::with_limit(10))
            .unwrap();
        let theirs: Vec<(usize, f32)> = top
            .into_iter()
            .map(|(score, addr)| {
                let col = searcher
                    .segment_reader(addr.segment_ord)
                    .fast_fields()
                    .u64("ord")
                    .unwrap();
                (col.first(addr.doc_id).unwrap() as usize, score)
            })
            .collect();
        assert_eq!(ours.len(), theirs.len(), "{ours:?} vs {theirs:?}");
        for ((o1, s1), (o2, s2)) in ours.iter().zip(&theirs) {
            assert_eq!(o1, o2, "{ours:?} vs {theirs:?}");
            assert!(
                (s1 - s2).abs() < 1e-4 * s2.max(1.0),
                "{ours:?} vs {theirs:?}"
            );
        }
        // The product filter keeps only that product's entries.
        let only_b = index.search(&terms, Some("b"), 10).unwrap();
        assert!(
            !only_b.is_empty() && only_b.iter().all(|&(o, _)| o >= 2),
            "{only_b:?}"
        );
    }
}
