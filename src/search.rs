//! Search: the analyzer that turns entry text and user text into the same
//! terms (accent folding, chat slang, typo correction against the knowledge
//! base's own vocabulary, English stemming, synonyms) and the in-RAM tantivy
//! index over entries that the matcher queries with those terms.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use tantivy::postings::Postings;
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STRING,
};
use tantivy::tokenizer::{Language, LowerCaser, Stemmer, TextAnalyzer, WhitespaceTokenizer};
use tantivy::{DocSet, Index, IndexReader, ReloadPolicy, TantivyDocument, Term, TERMINATED};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::kb::Synonyms;

/// Words longer than this are ids, hashes or base64, not vocabulary.
const MAX_WORD_CHARS: usize = 40;

/// Tantivy's name for the tokenizer of the pre-analyzed term fields.
const TERMS_TOKENIZER: &str = "triage_terms";

/// One analyzed term of a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnalyzedTerm {
    /// The final term: a stem, or a synonym group's canonical term.
    pub text: String,
    /// True when the user's word was not in the vocabulary and was replaced
    /// by its nearest vocabulary word.
    pub corrected: bool,
}

/// A vocabulary word the typo corrector can propose.
#[derive(Clone, Debug)]
struct VocabWord {
    /// Its stem, so a correction does not need to be stemmed again.
    stem: String,
    /// How often the knowledge base uses it; breaks ties between candidates.
    freq: u32,
}

/// One synonym phrase, as a stem sequence, and what it stands for.
#[derive(Clone, Debug)]
struct Phrase {
    stems: Vec<String>,
    canonical: String,
}

/// The text analyzer shared by the index and the queries. Built once from
/// the knowledge base (its vocabulary is the typo corrector's dictionary).
#[derive(Clone)]
pub struct Lexicon {
    /// tantivy's English stemmer over whitespace-separated, lowercase words.
    stemmer: TextAnalyzer,
    /// One-word synonyms and slang (`mic`, `doesnt`, `ppl`), stem to the
    /// group's one-word canonical term; applied before phrases.
    single: HashMap<String, String>,
    /// Foreign one-word synonyms matched as written (and with a plural
    /// s), because their stem is an English word's: word to term.
    surface: HashMap<String, String>,
    /// Multi-word synonyms (and words whose group's canonical is a phrase),
    /// keyed by their first term after `single`, longest first.
    phrases: HashMap<String, Vec<Phrase>>,
    /// Words the stemmer must leave whole because their stem collides with
    /// another word's ("customer" and "custom" both stem to "custom").
    protect: HashSet<String>,
    /// Stems that carry no meaning for matching (function words in the
    /// languages customers write in).
    stop: HashSet<String>,
    /// Surface words of the knowledge base and the synonyms file.
    vocab: HashMap<String, VocabWord>,
    /// Vocabulary words bucketed by (first char, length in chars) so typo
    /// correction scans a handful of words, not the whole vocabulary.
    buckets: HashMap<(char, usize), Vec<(String, Letters)>>,
    /// Every stem the knowledge base or the synonyms use; a user word whose
    /// stem is here is not a typo.
    known_stems: HashSet<String>,
    /// Terms (after one-word synonyms) of the knowledge base's own text;
    /// the words of a matched phrase are kept only when they are here.
    kb_terms: HashSet<String>,
}

impl std::fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexicon")
            .field("phrases", &self.phrases.len())
            .field("stopwords", &self.stop.len())
            .field("vocab", &self.vocab.len())
            .finish()
    }
}

fn english_stemmer() -> TextAnalyzer {
    TextAnalyzer::builder(WhitespaceTokenizer::default())
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// Splits text into folded, lowercase words: accents removed (micrófono ->
/// microfono), apostrophes inside words dropped (doesn't -> doesnt), and
/// camelCase identifiers emitted whole and in parts (joinQueue -> joinqueue
/// join queue), so `joinQueue()` and "join the queue" share terms.
pub fn words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.nfkd().filter(|c| !is_combining_mark(*c)).collect();
    let mut out = Vec::new();
    let mut word: Vec<char> = Vec::new();
    let mut skip_s = false;
    for (i, &c) in chars.iter().enumerate() {
        if std::mem::take(&mut skip_s) {
            continue;
        }
        if c.is_alphanumeric() {
            word.push(c);
            continue;
        }
        // English contractions stay one word (doesn't -> doesnt, we're ->
        // were); French/Italian elisions split (n'apparaît -> n apparait).
        let apostrophe = matches!(c, '\'' | '\u{2019}') && !word.is_empty() && {
            let run = chars[i + 1..]
                .iter()
                .take_while(|n| n.is_alphabetic())
                .count();
            (1..=2).contains(&run)
        };
        if apostrophe
            && chars.get(i + 1).is_some_and(|n| matches!(n, 's' | 'S'))
            && !chars.get(i + 2).is_some_and(|n| n.is_alphabetic())
        {
            // Possessive or "it's": the word without its 's.
            flush_word(&mut word, &mut out);
            skip_s = true;
            continue;
        }
        if !apostrophe {
            flush_word(&mut word, &mut out);
        }
    }
    flush_word(&mut word, &mut out);
    out
}

fn flush_word(word: &mut Vec<char>, out: &mut Vec<String>) {
    if word.is_empty() {
        return;
    }
    if word.len() <= MAX_WORD_CHARS {
        let mut parts: Vec<String> = Vec::new();
        let mut camel = false;
        let mut start = 0;
        for i in 1..word.len() {
            let (a, b) = (word[i - 1], word[i]);
            let case_break = a.is_lowercase() && b.is_uppercase();
            // `429s`, `404ing`: a status with a suffix.
            let digit_break = a.is_ascii_digit() && b.is_alphabetic() && i >= 3;
            if case_break || digit_break {
                camel |= case_break;
                parts.push(lower(&word[start..i]));
                start = i;
            }
        }
        if parts.is_empty() {
            out.push(american(lower(word)));
        } else {
            parts.push(lower(&word[start..]));
            if camel {
                out.push(american(lower(word)));
            }
            out.extend(parts.into_iter().map(american));
        }
    }
    word.clear();
}

/// British `-ise` spellings as American `-ize` (initialised -> initialized,
/// authorisation -> authorization), so the knowledge base and customers
/// who spell either way share terms. Every word goes through here, so a
/// word that only looks British ("promise" -> "promize") changes the same
/// way everywhere and still matches itself. Words of five letters or fewer
/// ("raise", "noise", "wise") are left alone.
fn american(w: String) -> String {
    const SUFFIXES: [(&str, &str); 8] = [
        ("isations", "izations"),
        ("isation", "ization"),
        ("ising", "izing"),
        ("isers", "izers"),
        ("ised", "ized"),
        ("ises", "izes"),
        ("iser", "izer"),
        ("ise", "ize"),
    ];
    if w.len() <= 5 {
        return w;
    }
    for (from, to) in SUFFIXES {
        if let Some(stem) = w.strip_suffix(from) {
            return format!("{stem}{to}");
        }
    }
    w
}

/// How many times each letter occurs in a word (a-z; every other
/// character shares the last slot), to rule out most typo candidates
/// before computing an edit distance.
#[derive(Clone, Copy, Debug)]
struct Letters([u8; 27]);

impl Letters {
    fn of(word: &str) -> Self {
        let mut counts = [0u8; 27];
        for c in word.chars() {
            let slot = if c.is_ascii_lowercase() {
                (c as u8 - b'a') as usize
            } else {
                26
            };
            counts[slot] = counts[slot].saturating_add(1);
        }
        Letters(counts)
    }

    /// A lower bound on the edit distance (insertions, deletions,
    /// substitutions, adjacent swaps) between the two words: a swap
    /// changes no count, an insertion or deletion one, a substitution two.
    fn distance_bound(&self, other: &Letters) -> usize {
        let diff: usize = self
            .0
            .iter()
            .zip(&other.0)
            .map(|(&a, &b)| usize::from(a.abs_diff(b)))
            .sum();
        diff.div_ceil(2)
    }
}

/// True when `b` is `a` with two adjacent letters swapped.
fn is_transposition(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len() != b.len() {
        return false;
    }
    let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    matches!(diff.as_slice(), [i, j] if *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i])
}

/// Porter undoubles a final consonant after removing a suffix ("added" ->
/// "add" -> "ad"), which on very short stems lands on another word ("ad",
/// as in ad blocker). A stem of two letters or fewer keeps the doubled
/// letter the word had.
fn undouble(word: &str, stem: &str) -> String {
    let n = stem.chars().count();
    if n == 0 || n > 2 || word.chars().count() <= n + 1 {
        return stem.to_owned();
    }
    let last = stem.chars().last();
    if word.starts_with(stem) && word[stem.len()..].chars().next() == last {
        let mut s = stem.to_owned();
        s.extend(last);
        return s;
    }
    stem.to_owned()
}

fn lower(cs: &[char]) -> String {
    cs.iter().flat_map(|c| c.to_lowercase()).collect()
}

impl Lexicon {
    /// Builds the analyzer from the synonyms file and the knowledge base's
    /// text (every string an entry or product holds).
    pub fn new<'a>(synonyms: &Synonyms, kb_text: impl IntoIterator<Item = &'a str>) -> Self {
        let mut lex = Lexicon {
            stemmer: english_stemmer(),
            single: HashMap::default(),
            surface: HashMap::default(),
            phrases: HashMap::default(),
            stop: HashSet::default(),
            protect: synonyms.protect.iter().flat_map(|w| words(w)).collect(),
            vocab: HashMap::default(),
            buckets: HashMap::default(),
            known_stems: HashSet::default(),
            kb_terms: HashSet::default(),
        };
        let mut freq: HashMap<String, u32> = HashMap::default();
        for text in kb_text {
            for w in words(text) {
                *freq.entry(w).or_default() += 1;
            }
        }
        let kb_words: Vec<String> = freq.keys().cloned().collect();
        for group in &synonyms.groups {
            for item in group {
                for w in words(item) {
                    freq.entry(w).or_default();
                }
            }
        }
        for w in synonyms.stopwords.iter().flat_map(|s| words(s)) {
            let stem = lex.stem_words(std::slice::from_ref(&w)).pop().unwrap_or(w);
            lex.stop.insert(stem);
        }
        let all: Vec<String> = freq.keys().cloned().collect();
        let stems = lex.stem_words(&all);
        for (w, stem) in all.into_iter().zip(stems) {
            lex.known_stems.insert(stem.clone());
            let f = freq.get(&w).copied().unwrap_or(0);
            let n = w.chars().count();
            if let Some(first) = w.chars().next() {
                if n >= 4 && !w.chars().any(|c| c.is_ascii_digit()) {
                    lex.buckets
                        .entry((first, n))
                        .or_default()
                        .push((w.clone(), Letters::of(&w)));
                }
            }
            lex.vocab.insert(w, VocabWord { stem, freq: f });
        }
        // A one-word item whose stem is not itself and is shared by knowledge
        // base words outside its group is a foreign form that stems like
        // English ("connecte" and "connected" both stem to "connect"): it is
        // matched as written, so it cannot capture the English words.
        let kb_stems = lex.stem_words(&kb_words);
        let mut stem_users: HashMap<&str, Vec<&str>> = HashMap::default();
        for (w, s) in kb_words.iter().zip(&kb_stems) {
            stem_users.entry(s.as_str()).or_default().push(w.as_str());
        }
        let kb_word_set: HashSet<&str> = kb_words.iter().map(String::as_str).collect();
        let mut surface_only: Vec<HashSet<String>> = Vec::new();
        for group in &synonyms.groups {
            let members: HashSet<String> = group.iter().flat_map(|i| words(i)).collect();
            let mut only = HashSet::default();
            for item in group {
                let ws = words(item);
                let [w] = ws.as_slice() else { continue };
                let w = w.clone();
                let s = lex
                    .stem_words(std::slice::from_ref(&w))
                    .pop()
                    .unwrap_or_default();
                let captures = stem_users.get(s.as_str()).is_some_and(|users| {
                    users
                        .iter()
                        .any(|u| !members.contains(*u) && *u != format!("{w}s"))
                });
                if s != w && !kb_word_set.contains(w.as_str()) && captures {
                    only.insert(w);
                }
            }
            surface_only.push(only);
        }
        // Pass 1: one-word items of groups whose canonical is one word.
        let mut canonicals: Vec<(Vec<String>, String)> = Vec::new();
        for (group, only) in synonyms.groups.iter().zip(&surface_only) {
            let Some(first) = group.first() else { continue };
            let canon = lex.stem_words(&words(first));
            if let [c] = canon.as_slice() {
                for item in group {
                    if only.contains(&words(item).concat()) {
                        continue;
                    }
                    if let [s] = lex.stem_words(&words(item)).as_slice() {
                        if s != c {
                            lex.single.entry(s.clone()).or_insert_with(|| c.clone());
                        }
                    }
                }
            }
            canonicals.push((canon, String::new()));
        }
        // Pass 2: phrases, normalized by pass 1 so "doesn't appear" and
        // "does not appear" are one phrase.
        for ((group, (canon, _)), only) in
            synonyms.groups.iter().zip(&canonicals).zip(&surface_only)
        {
            let canonical = lex.normalize_single(canon.clone()).join("_");
            for w in only {
                lex.surface.insert(format!("{w}s"), canonical.clone());
                lex.surface.insert(w.clone(), canonical.clone());
            }
            for item in group {
                if only.contains(&words(item).concat()) {
                    continue;
                }
                let stems = lex.normalize_single(lex.stem_words(&words(item)));
                if stems.len() < 2 && canon.len() < 2 {
                    continue; // handled by pass 1
                }
                let stems = lex.trim_stop(stems);
                let Some(head) = stems.first().cloned() else {
                    continue;
                };
                if stems.len() == 1 && stems[0] == canonical {
                    continue;
                }
                let list = lex.phrases.entry(head).or_default();
                if list.iter().any(|p| p.stems == stems) {
                    continue; // the first group that claims a phrase wins
                }
                list.push(Phrase {
                    stems,
                    canonical: canonical.clone(),
                });
            }
        }
        lex.kb_terms = lex.normalize_single(kb_stems).into_iter().collect();
        for list in lex.phrases.values_mut() {
            list.sort_by_key(|p| std::cmp::Reverse(p.stems.len()));
        }
        lex
    }

    /// Drops leading and trailing stopwords of a phrase ("does not appear"
    /// -> "not appear") unless that would leave a lone word ("isn't there"
    /// must not become "not").
    fn trim_stop(&self, stems: Vec<String>) -> Vec<String> {
        let start = stems.iter().position(|s| !self.stop.contains(s));
        let end = stems.iter().rposition(|s| !self.stop.contains(s));
        match (start, end) {
            (Some(a), Some(b)) if b > a || stems.len() == 1 => stems[a..=b].to_vec(),
            _ => stems,
        }
    }

    fn normalize_single(&self, stems: Vec<String>) -> Vec<String> {
        stems
            .into_iter()
            .map(|s| self.single.get(&s).cloned().unwrap_or(s))
            .collect()
    }

    /// Stems lowercase words one-to-one with tantivy's English stemmer.
    fn stem_words(&self, words: &[String]) -> Vec<String> {
        let joined = words.join(" ");
        let mut analyzer = self.stemmer.clone();
        let mut stream = analyzer.token_stream(&joined);
        let mut out = Vec::with_capacity(words.len());
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        if out.len() == words.len() {
            for (w, stem) in words.iter().zip(out.iter_mut()) {
                *stem = undouble(w, stem);
            }
        }
        if !self.protect.is_empty() && out.len() == words.len() {
            for (w, stem) in words.iter().zip(out.iter_mut()) {
                let singular = w.strip_suffix('s').unwrap_or(w);
                if self.protect.contains(w) {
                    stem.clone_from(w);
                } else if self.protect.contains(singular) {
                    *stem = singular.to_owned();
                }
            }
        }
        out
    }

    /// `stem_words`, taking the stems of vocabulary words from the
    /// vocabulary (computed by `stem_words` at build) and running the
    /// stemmer only over the rest.
    fn stems_of(&self, words: &[String]) -> Vec<String> {
        let mut out: Vec<Option<String>> = words
            .iter()
            .map(|w| self.vocab.get(w).map(|v| v.stem.clone()))
            .collect();
        let rest: Vec<String> = words
            .iter()
            .zip(&out)
            .filter(|(_, s)| s.is_none())
            .map(|(w, _)| w.clone())
            .collect();
        if rest.is_empty() {
            return out.into_iter().flatten().collect();
        }
        let stems = self.stem_words(&rest);
        if stems.len() != rest.len() {
            return self.stem_words(words);
        }
        let mut stems = stems.into_iter();
        for slot in &mut out {
            if slot.is_none() {
                *slot = stems.next();
            }
        }
        out.into_iter().flatten().collect()
    }

    /// True when `term` (an analyzed term) is a stopword.
    pub fn is_stop(&self, term: &str) -> bool {
        self.stop.contains(term)
    }

    /// The typo corrector: the nearest vocabulary word within a
    /// length-aware edit distance, or `None` for words too short to correct
    /// safely. Thresholds: no correction under 5 characters (`mic`, `conf`
    /// and `cant` are abbreviations, not typos), one edit up to 8
    /// characters (`widgt`; two would turn `explorer` into `explodes`),
    /// two from 9 (`micraphne`) unless the word is
    /// inflected (`-ing`, `-ed`: one, `recomended`); the
    /// first letter must agree, as it nearly always does in real typos.
    fn correct(&self, word: &str) -> Option<&str> {
        let n = word.chars().count();
        if n < 5 || word.chars().any(|c| !c.is_alphabetic()) {
            return None;
        }
        // An inflected word ("printing") is usually a real word, and two
        // edits reach another real word ("pricing"); a misspelt inflected
        // word gets one edit ("recomended").
        let inflected = word.ends_with("ing") || word.ends_with("ed");
        let max = if n >= 9 && !inflected { 2 } else { 1 };
        let first = word.chars().next()?;
        let letters = Letters::of(word);
        let mut best: Option<(usize, u32, &str)> = None;
        for len in n.saturating_sub(max).max(4)..=n + max {
            let Some(bucket) = self.buckets.get(&(first, len)) else {
                continue;
            };
            for (cand, cand_letters) in bucket {
                if letters.distance_bound(cand_letters) > max {
                    continue;
                }
                let d = strsim::osa_distance(word, cand);
                if d == 0 || d > max || (n <= 7 && len == n && !is_transposition(word, cand)) {
                    // Same-length single edits of short words are as often
                    // another real word ("stick"/"stuck", "charged"/"changed")
                    // as a typo; only a swapped pair of letters is trusted.
                    continue;
                }
                let f = self.vocab.get(cand).map_or(0, |v| v.freq);
                let better = match best {
                    None => true,
                    Some((bd, bf, bw)) => {
                        (d, std::cmp::Reverse(f), cand.as_str()) < (bd, std::cmp::Reverse(bf), bw)
                    }
                };
                if better {
                    best = Some((d, f, cand));
                }
            }
        }
        best.map(|(_, _, w)| w)
    }

    /// Analyzes knowledge-base text: no typo correction (the knowledge base
    /// is the vocabulary).
    pub fn analyze_kb(&self, text: &str) -> Vec<String> {
        self.analyze_inner(text, false, true)
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    /// Knowledge-base text as a question would read it: phrases give their
    /// canonical term only, so word pairs are the ones a question makes
    /// ("widget doesn't appear" -> widget not_show).
    /// `analyze_kb` of a text, and the text as a question would read it
    /// (phrases give their canonical term only, so word pairs are the ones
    /// a question makes: "widget doesn't appear" -> widget not_show),
    /// stemming it once.
    pub fn analyze_kb_both(&self, text: &str) -> (Vec<String>, Vec<String>) {
        let seq = self.prepare(text, false);
        let texts = |v: Vec<AnalyzedTerm>| v.into_iter().map(|t| t.text).collect();
        (
            texts(self.phrase_and_stop(seq.clone(), true)),
            texts(self.phrase_and_stop(seq, false)),
        )
    }

    /// Analyzes user text, correcting typos against the vocabulary.
    pub fn analyze(&self, text: &str) -> Vec<AnalyzedTerm> {
        self.analyze_inner(text, true, false)
    }

    fn analyze_inner(&self, text: &str, correct: bool, expand: bool) -> Vec<AnalyzedTerm> {
        let seq = self.prepare(text, correct);
        self.phrase_and_stop(seq, expand)
    }

    /// Words to terms before phrases and stopwords: stems, foreign forms,
    /// typo corrections (when `correct`) and one-word synonyms, each with
    /// whether it was corrected.
    fn prepare(&self, text: &str, correct: bool) -> Vec<(String, bool)> {
        let ws = words(text);
        let stems = self.stems_of(&ws);
        if stems.len() != ws.len() {
            // The stemmer maps whitespace-free words one-to-one; if that
            // ever changes, fall back to the stems without corrections.
            return stems.into_iter().map(|s| (s, false)).collect();
        }
        let mut memo: HashMap<&str, Option<String>> = HashMap::default();
        let mut seq: Vec<(String, bool)> = Vec::with_capacity(ws.len());
        for (w, stem) in ws.iter().zip(stems) {
            if let Some(t) = self.surface.get(w) {
                seq.push((t.clone(), false));
                continue;
            }
            if !correct || self.is_known(w, &stem) {
                seq.push((stem, false));
                continue;
            }
            let fixed = memo
                .entry(w.as_str())
                .or_insert_with(|| self.repair(w))
                .clone();
            match fixed {
                Some(s) => seq.push((s, true)),
                None => seq.push((stem, false)),
            }
        }
        seq.into_iter()
            .map(|(s, c)| (self.single.get(&s).cloned().unwrap_or(s), c))
            .collect()
    }

    fn is_known(&self, word: &str, stem: &str) -> bool {
        self.vocab.contains_key(word) || self.known_stems.contains(stem) || self.stop.contains(stem)
    }

    /// The stem of the vocabulary word a misspelt or clipped word stands for.
    fn repair(&self, word: &str) -> Option<String> {
        // Dropped g: showin, gettin, nothin.
        if let Some(base) = word.strip_suffix("in") {
            let full = format!("{base}ing");
            if let Some(v) = self.vocab.get(&full) {
                return Some(v.stem.clone());
            }
            let stem = self.stem_words(&[full]).pop()?;
            if self.known_stems.contains(&stem) {
                return Some(stem);
            }
        }
        let w = self.correct(word)?;
        self.vocab.get(w).map(|v| v.stem.clone())
    }

    /// The term a word or phrase stands for: for a synonym phrase, its
    /// group's canonical term; otherwise its (last) stem.
    pub fn key_term(&self, text: &str) -> Option<String> {
        self.analyze_kb(text).pop()
    }

    /// Rewrites synonym phrases to their canonical term, then drops
    /// stopwords. Phrases may skip up to two stopwords between their words
    /// ("doesn't even show up" still reads as "not show").
    fn phrase_and_stop(&self, seq: Vec<(String, bool)>, expand: bool) -> Vec<AnalyzedTerm> {
        let mut out = Vec::with_capacity(seq.len());
        let mut i = 0;
        while i < seq.len() {
            let mut matched = None;
            if let Some(list) = self.phrases.get(&seq[i].0) {
                for p in list {
                    if let Some(end) = self.match_phrase(&seq, i, &p.stems) {
                        matched = Some((end, p));
                        break;
                    }
                }
            }
            match matched {
                Some((end, p)) => {
                    // In knowledge-base text a phrase also keeps its own words
                    // (index-time expansion), so a question that splits the
                    // phrase ("hört uns der Agent nicht") still shares "hear"
                    // with the entry; questions get the canonical term only.
                    for (text, corrected) in seq[i..end].iter().filter(|_| expand) {
                        if self.kb_terms.contains(text)
                            && !self.stop.contains(text)
                            && *text != p.canonical
                        {
                            out.push(AnalyzedTerm {
                                text: text.clone(),
                                corrected: *corrected,
                            });
                        }
                    }
                    let corrected = seq[i..end].iter().any(|(_, c)| *c);
                    out.push(AnalyzedTerm {
                        text: p.canonical.clone(),
                        corrected,
                    });
                    i = end;
                }
                None => {
                    let (text, corrected) = seq[i].clone();
                    if !self.stop.contains(&text) {
                        out.push(AnalyzedTerm { text, corrected });
                    }
                    i += 1;
                }
            }
        }
        out
    }

    /// Where phrase `p` ends if it starts at `start`, or `None`.
    fn match_phrase(&self, seq: &[(String, bool)], start: usize, p: &[String]) -> Option<usize> {
        let mut i = start;
        for (k, want) in p.iter().enumerate() {
            if k > 0 {
                let mut skipped = 0;
                while i < seq.len()
                    && seq[i].0 != *want
                    && self.stop.contains(&seq[i].0)
                    && skipped < 2
                {
                    i += 1;
                    skipped += 1;
                }
            }
            if i >= seq.len() || seq[i].0 != *want {
                return None;
            }
            i += 1;
        }
        Some(i)
    }
}

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
    use proptest::prelude::*;

    proptest! {
        /// The letter-count filter may only skip words that really are
        /// further away than the corrector's limit.
        #[test]
        fn letter_bound_never_exceeds_the_edit_distance(a in "[a-z\u{e9}]{0,12}", b in "[a-z\u{e9}]{0,12}") {
            let bound = Letters::of(&a).distance_bound(&Letters::of(&b));
            prop_assert!(bound <= strsim::osa_distance(&a, &b));
        }
    }

    fn lexicon() -> Lexicon {
        let syn = Synonyms {
            groups: vec![
                vec!["microphone".into(), "mic".into(), "micrófono".into()],
                vec![
                    "not showing".into(),
                    "doesn't appear".into(),
                    "missing".into(),
                    "invisible".into(),
                ],
                vec!["not".into(), "doesnt".into(), "aint".into(), "cant".into()],
            ],
            stopwords: vec![
                "the".into(),
                "a".into(),
                "on".into(),
                "my".into(),
                "up".into(),
                "even".into(),
            ],
            trouble: Vec::new(),
            protect: Vec::new(),
            generic: Vec::new(),
        };
        Lexicon::new(
            &syn,
            [
                "The widget does not appear",
                "microphone permission fails",
                "joinQueue() throws",
            ],
        )
    }

    #[test]
    fn words_fold_accents_and_split_identifiers() {
        assert_eq!(
            words("Micrófono doesn't work"),
            ["microfono", "doesnt", "work"]
        );
        assert_eq!(words("joinQueue()"), ["joinqueue", "join", "queue"]);
        assert_eq!(words("429s"), ["429", "s"]);
        assert_eq!(words("the SDK's key, it's"), ["the", "sdk", "key", "it"]);
    }

    #[test]
    fn british_ise_spellings_read_as_ize() {
        assert_eq!(
            words("Initialised, unauthorised, raise"),
            ["initialized", "unauthorized", "raise"]
        );
        let lex = lexicon();
        assert_eq!(lex.analyze_kb("initialise"), lex.analyze_kb("initialize"));
    }

    #[test]
    fn typos_are_corrected_but_short_words_are_not() {
        let lex = lexicon();
        assert_eq!(
            lex.analyze_kb("microphone")[0],
            lex.analyze("micraphone")[0].text
        );
        assert!(lex.analyze("micraphone")[0].corrected);
        assert_eq!(lex.analyze("widgt")[0].text, "widget");
        assert_eq!(lex.analyze("wid")[0].text, "wid");
    }

    #[test]
    fn foreign_synonyms_that_stem_like_english_do_not_capture_it() {
        let syn = Synonyms {
            groups: vec![vec![
                "logged in".into(),
                "signed in".into(),
                "connecte".into(),
            ]],
            stopwords: vec!["the".into(), "is".into()],
            trouble: Vec::new(),
            protect: Vec::new(),
            generic: Vec::new(),
        };
        let lex = Lexicon::new(
            &syn,
            ["the call is connected", "user is logged in", "ad blocker"],
        );
        assert_eq!(lex.analyze_kb("connecte"), ["log_in"]);
        assert_eq!(lex.analyze_kb("connected"), ["connect"]);
        // Short stems keep their doubled letter: "added" is not "ad".
        assert_eq!(lex.analyze_kb("added"), lex.analyze_kb("add"));
        assert_ne!(lex.analyze_kb("added"), lex.analyze_kb("ad"));
    }

    #[test]
    fn inflected_real_words_are_not_corrected_two_edits_away() {
        let lex = Lexicon::new(&Synonyms::default(), ["pricing plans", "recommended setup"]);
        assert_ne!(lex.analyze("printing")[0].text, "price");
        assert!(lex.analyze("recomended")[0].corrected);
    }

    #[test]
    fn synonyms_map_phrases_and_foreign_words_to_one_term() {
        let lex = lexicon();
        let a = lex.analyze_kb("the widget doesn't appear");
        let b = lex.analyze_kb("widget missing");
        assert!(a.contains(&"not_show".to_owned()), "{a:?}");
        assert_eq!(b, ["widget", "not_show"]);
        assert_eq!(lex.analyze_kb("el micrófono"), lex.analyze_kb("el mic"));
    }

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
