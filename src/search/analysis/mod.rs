//! Analysis: the `Lexicon` that turns entry text and questions into the
//! same terms. Entry text is English; a question is read in its own
//! language (`language`): stemmed with that language's stemmer, typos
//! corrected against the knowledge base's own vocabulary, function words
//! set aside, and synonym words and phrases (`synonyms.yaml`) of any
//! language mapped to one English term.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::language::{Detector, Language};
use super::words::words;
use crate::kb::Synonyms;

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
    /// Its English stem, so a correction does not need to be stemmed again.
    stem: String,
    /// How often the knowledge base uses it; breaks ties between candidates.
    /// 0 for a word only the synonyms file uses.
    freq: u32,
}

/// One synonym phrase and what it stands for.
#[derive(Clone, Debug)]
struct Phrase {
    /// Its words as terms, read like the question's words.
    terms: Vec<String>,
    /// Its group's canonical term ("not_show").
    canonical: String,
}

/// A word on its way to a term.
#[derive(Clone, Debug)]
struct Token {
    /// A stem or a synonym group's canonical term; a function word's
    /// English stem.
    term: String,
    /// The word was a typo, replaced by its nearest vocabulary word.
    corrected: bool,
    /// A function word: it may sit inside a phrase ("ist weg") or between
    /// a phrase's words, but is no term of its own.
    stop: bool,
}

impl Token {
    fn plain(term: String) -> Self {
        Token {
            term,
            corrected: false,
            stop: false,
        }
    }
}

/// What one language's stems mean.
#[derive(Clone, Debug, Default)]
struct Tables {
    /// One-word synonyms and slang (`mic`, `doesnt`, `ppl`): this
    /// language's stem of an item to its group's canonical term (English:
    /// only groups whose canonical is one word); applied before phrases.
    single: HashMap<String, String>,
    /// Multi-word synonyms (and words whose group's canonical is a
    /// phrase), keyed by their first term after `single`, longest first.
    phrases: HashMap<String, Vec<Phrase>>,
    /// Stems a question word may have without being a typo: English, every
    /// stem of the knowledge base and the synonyms; other languages, their
    /// stem of every synonym word.
    known: HashSet<String>,
    /// Function words. English: stems of NLTK's list and of the synonyms
    /// file's chat filler, less `keep` (checked in every language, since
    /// questions mix in English). Other languages: NLTK's words as listed,
    /// because their stems collide with content words (Portuguese "para"
    /// and "parado" both stem to "par").
    stop: HashSet<String>,
    /// Words of `stop` that stay terms: `Language::keep`, and every
    /// one-word synonym item, since the synonyms file says it means
    /// something ("again", German "hinter" for behind).
    keep: HashSet<String>,
}

/// The text analyzer shared by the index and the queries. Built once from
/// the knowledge base (its vocabulary is the typo corrector's dictionary).
#[derive(Clone)]
pub struct Lexicon {
    /// Which language a question is in.
    detector: Detector,
    /// Per language, in `Language::ALL` order (English first).
    tables: Vec<Tables>,
    /// Foreign one-word synonyms matched as written (and with a plural
    /// s), because their English stem is an English word's: word to term.
    surface: HashMap<String, String>,
    /// Words the English stemmer must leave whole because their stem
    /// collides with another word's ("customer" and "custom" both stem to
    /// "custom").
    protect: HashSet<String>,
    /// One-word synonym items as listed, to their group's canonical term:
    /// in a language other than English, a listed word needs no stemmer.
    items: HashMap<String, String>,
    /// Surface words of the knowledge base and the synonyms file.
    vocab: HashMap<String, VocabWord>,
    /// Vocabulary words bucketed by (first char, length in chars) so typo
    /// correction scans a handful of words, not the whole vocabulary.
    buckets: HashMap<(char, usize), Vec<(String, Letters)>>,
    /// Terms (after one-word synonyms) of the knowledge base's own text;
    /// the words of a matched phrase are kept only when they are here.
    kb_terms: HashSet<String>,
}

impl std::fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let en = &self.tables[Language::English.index()];
        f.debug_struct("Lexicon")
            .field("phrases", &en.phrases.len())
            .field("stopwords", &en.stop.len())
            .field("vocab", &self.vocab.len())
            .finish()
    }
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

impl Lexicon {
    /// Builds the analyzer from the synonyms file and the knowledge base's
    /// text (every string an entry or product holds).
    pub fn new<'a>(synonyms: &Synonyms, kb_text: impl IntoIterator<Item = &'a str>) -> Self {
        let one_word = |item: &String| match words(item).as_slice() {
            [w] => Some(w.clone()),
            _ => None,
        };
        let mut lex = Lexicon {
            detector: Detector::default(),
            tables: vec![Tables::default(); Language::ALL.len()],
            surface: HashMap::default(),
            items: HashMap::default(),
            protect: synonyms.protect.iter().flat_map(|w| words(w)).collect(),
            vocab: HashMap::default(),
            buckets: HashMap::default(),
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
        for lang in Language::ALL {
            let keep = lang.keep().map(str::to_owned);
            lex.tables[lang.index()].keep.extend(keep);
        }
        let items: Vec<String> = synonyms
            .groups
            .iter()
            .flatten()
            .filter_map(one_word)
            .collect();
        for tables in &mut lex.tables {
            tables.keep.extend(items.iter().cloned());
        }
        let english_stop: Vec<String> = Language::English
            .stopwords()
            .chain(synonyms.stopwords.iter().flat_map(|s| words(s)))
            .filter(|w| !lex.tables[0].keep.contains(w))
            .map(|w| lex.stem_en(&w))
            .collect();
        lex.tables[0].stop.extend(english_stop);
        for lang in &Language::ALL[1..] {
            let stop: Vec<String> = lang.stopwords().collect();
            lex.tables[lang.index()].stop.extend(stop);
        }
        for (w, f) in freq {
            let stem = lex.stem_en(&w);
            lex.tables[0].known.insert(stem.clone());
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
        let kb_stems: Vec<String> = kb_words.iter().map(|w| lex.stem_en(w)).collect();
        let mut stem_users: HashMap<&str, Vec<&str>> = HashMap::default();
        for (w, s) in kb_words.iter().zip(&kb_stems) {
            stem_users.entry(s.as_str()).or_default().push(w.as_str());
        }
        let kb_word_set: HashSet<&str> = kb_words.iter().map(String::as_str).collect();
        let mut surface_only: Vec<HashSet<String>> = Vec::new();
        for group in &synonyms.groups {
            let members: HashSet<String> = group.iter().flat_map(|i| words(i)).collect();
            let mut only = HashSet::default();
            for w in group.iter().filter_map(one_word) {
                let s = lex.stem_en(&w);
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
        let canons: Vec<Vec<String>> = synonyms
            .groups
            .iter()
            .map(|g| {
                g.first().map_or_else(Vec::new, |first| {
                    words(first).iter().map(|w| lex.stem_en(w)).collect()
                })
            })
            .collect();
        for ((group, canon), only) in synonyms.groups.iter().zip(&canons).zip(&surface_only) {
            let [c] = canon.as_slice() else { continue };
            for w in group.iter().filter_map(one_word) {
                if only.contains(&w) {
                    continue;
                }
                let s = lex.stem_en(&w);
                if s != *c {
                    lex.tables[0].single.entry(s).or_insert_with(|| c.clone());
                }
            }
        }
        let canonicals: Vec<String> = canons
            .iter()
            .map(|c| lex.normalize_single(c.clone()).join("_"))
            .collect();
        // Other languages read one-word items through `items` and their
        // own stems, not through phrases.
        for (group, canonical) in synonyms.groups.iter().zip(&canonicals) {
            for w in group.iter().filter_map(one_word) {
                lex.items.entry(w).or_insert_with(|| canonical.clone());
            }
        }
        for lang in &Language::ALL[1..] {
            let single = foreign_single(*lang, synonyms, &canonicals, &kb_word_set);
            lex.tables[lang.index()].single = single;
            let known = synonyms
                .groups
                .iter()
                .flatten()
                .flat_map(|i| words(i))
                .filter(|w| !kb_word_set.contains(w.as_str()))
                .map(|w| lang.stem(&w));
            lex.tables[lang.index()].known.extend(known);
        }
        for (only, canonical) in surface_only.iter().zip(&canonicals) {
            for w in only {
                lex.surface.insert(format!("{w}s"), canonical.clone());
                lex.surface.insert(w.clone(), canonical.clone());
            }
        }
        // Pass 2: phrases, read through pass 1 so "doesn't appear" and
        // "does not appear" are one phrase, in each language's reading.
        for lang in Language::ALL {
            let mut phrases: HashMap<String, Vec<Phrase>> = HashMap::default();
            let groups = synonyms.groups.iter().zip(&surface_only);
            for ((group, only), (canon, canonical)) in groups.zip(canons.iter().zip(&canonicals)) {
                for item in group {
                    let ws = words(item);
                    if only.contains(&ws.concat()) {
                        continue;
                    }
                    if ws.len() < 2 && (canon.len() < 2 || lang != Language::English) {
                        continue; // handled by pass 1
                    }
                    let tokens: Vec<Token> =
                        ws.iter().map(|w| lex.resolve(w, lang, false)).collect();
                    let terms: Vec<String> =
                        trim_stop(tokens).into_iter().map(|t| t.term).collect();
                    let Some(head) = terms.first().cloned() else {
                        continue;
                    };
                    if terms.len() == 1 && terms[0] == *canonical {
                        continue;
                    }
                    let list = phrases.entry(head).or_default();
                    if list.iter().any(|p| p.terms == terms) {
                        continue; // the first group that claims a phrase wins
                    }
                    list.push(Phrase {
                        terms,
                        canonical: canonical.clone(),
                    });
                }
            }
            for list in phrases.values_mut() {
                list.sort_by_key(|p| std::cmp::Reverse(p.terms.len()));
            }
            lex.tables[lang.index()].phrases = phrases;
        }
        lex.kb_terms = lex.normalize_single(kb_stems).into_iter().collect();
        lex
    }

    fn normalize_single(&self, stems: Vec<String>) -> Vec<String> {
        let single = &self.tables[Language::English.index()].single;
        stems
            .into_iter()
            .map(|s| single.get(&s).cloned().unwrap_or(s))
            .collect()
    }

    /// A word's English stem (tantivy's Snowball English), keeping the
    /// doubled letter of very short stems and protected words whole.
    fn stem_en(&self, w: &str) -> String {
        let singular = w.strip_suffix('s').unwrap_or(w);
        if self.protect.contains(w) {
            w.to_owned()
        } else if self.protect.contains(singular) {
            singular.to_owned()
        } else {
            undouble(w, &Language::English.stem(w))
        }
    }

    /// `stem_en`, taken from the vocabulary for its words.
    fn en_stem(&self, w: &str) -> String {
        match self.vocab.get(w) {
            Some(v) => v.stem.clone(),
            None => self.stem_en(w),
        }
    }

    /// True when `term` (an analyzed term) is an English stopword.
    pub fn is_stop(&self, term: &str) -> bool {
        self.tables[Language::English.index()].stop.contains(term)
    }

    /// A function word of `lang` (its own list decides for its words) or
    /// of English (questions mix in English), unless it is one to keep.
    fn is_function_word(&self, w: &str, en_stem: &str, lang: Language) -> bool {
        let own = &self.tables[lang.index()];
        if own.keep.contains(w) {
            return false;
        }
        if lang != Language::English && own.stop.contains(w) {
            return true;
        }
        let en = &self.tables[Language::English.index()];
        en.stop.contains(en_stem) && !en.keep.contains(w)
    }

    /// One word of a text in `lang` to its token: a foreign form matched
    /// as written, a function word, a knowledge-base word (English in any
    /// language), this language's stem of a synonym, an English inflection
    /// of a known word, or (when `correct`) the vocabulary word a typo
    /// stands for. Stems then go through one-word synonyms.
    fn resolve(&self, w: &str, lang: Language, correct: bool) -> Token {
        let en = &self.tables[Language::English.index()];
        if let Some(t) = self.surface.get(w) {
            return Token::plain(t.clone());
        }
        let e = self.en_stem(w);
        if self.is_function_word(w, &e, lang) {
            return Token {
                term: e,
                corrected: false,
                stop: true,
            };
        }
        let english = |s: String| en.single.get(&s).cloned().unwrap_or(s);
        let fallback = if lang == Language::English {
            if !correct || self.vocab.contains_key(w) || en.known.contains(&e) {
                return Token::plain(english(e));
            }
            e
        } else {
            if self.vocab.get(w).is_some_and(|v| v.freq > 0) {
                return Token::plain(english(e));
            }
            if let Some(c) = self.items.get(w) {
                return Token::plain(c.clone());
            }
            let tables = &self.tables[lang.index()];
            let l = lang.stem(w);
            if let Some(c) = tables.single.get(&l) {
                return Token::plain(c.clone());
            }
            if tables.known.contains(&l) {
                return Token::plain(l);
            }
            if en.known.contains(&e) {
                return Token::plain(english(e));
            }
            if !correct {
                return Token::plain(l);
            }
            l
        };
        match self.repair(w) {
            // Corrected to a function word ("thier" -> "their").
            Some(s) if en.stop.contains(&s) => Token {
                term: s,
                corrected: true,
                stop: true,
            },
            Some(s) => Token {
                term: english(s),
                corrected: true,
                stop: false,
            },
            None if lang == Language::English => Token::plain(english(fallback)),
            None => Token::plain(fallback),
        }
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

    /// Analyzes knowledge-base text: English, no typo correction (the
    /// knowledge base is the vocabulary).
    pub fn analyze_kb(&self, text: &str) -> Vec<String> {
        let seq = self.prepare(&words(text), Language::English, false);
        self.phrase_and_stop(seq, Language::English, true)
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    /// `analyze_kb` of a text, and the text as a question would read it
    /// (phrases give their canonical term only, so word pairs are the ones
    /// a question makes: "widget doesn't appear" -> widget not_show),
    /// stemming it once.
    pub fn analyze_kb_both(&self, text: &str) -> (Vec<String>, Vec<String>) {
        let en = Language::English;
        let seq = self.prepare(&words(text), en, false);
        let texts = |v: Vec<AnalyzedTerm>| v.into_iter().map(|t| t.text).collect();
        (
            texts(self.phrase_and_stop(seq.clone(), en, true)),
            texts(self.phrase_and_stop(seq, en, false)),
        )
    }

    /// Analyzes user text in its language, correcting typos against the
    /// vocabulary.
    pub fn analyze(&self, text: &str) -> Vec<AnalyzedTerm> {
        let ws = words(text);
        let lang = self.detector.detect(text, &ws);
        let seq = self.prepare(&ws, lang, true);
        self.phrase_and_stop(seq, lang, false)
    }

    /// Words to tokens before phrases and stopwords.
    fn prepare(&self, ws: &[String], lang: Language, correct: bool) -> Vec<Token> {
        let mut memo: HashMap<&str, Token> = HashMap::default();
        ws.iter()
            .map(|w| {
                memo.entry(w.as_str())
                    .or_insert_with(|| self.resolve(w, lang, correct))
                    .clone()
            })
            .collect()
    }

    /// The English stem of the vocabulary word a misspelt or clipped word
    /// stands for.
    fn repair(&self, word: &str) -> Option<String> {
        // Dropped g: showin, gettin, nothin.
        if let Some(base) = word.strip_suffix("in") {
            let full = format!("{base}ing");
            if let Some(v) = self.vocab.get(&full) {
                return Some(v.stem.clone());
            }
            let stem = self.stem_en(&full);
            if self.tables[Language::English.index()].known.contains(&stem) {
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
    fn phrase_and_stop(&self, seq: Vec<Token>, lang: Language, expand: bool) -> Vec<AnalyzedTerm> {
        let phrases = &self.tables[lang.index()].phrases;
        let mut out = Vec::with_capacity(seq.len());
        let mut i = 0;
        while i < seq.len() {
            let mut matched = None;
            if let Some(list) = phrases.get(&seq[i].term) {
                for p in list {
                    if let Some(end) = match_phrase(&seq, i, &p.terms) {
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
                    for t in seq[i..end].iter().filter(|_| expand) {
                        if self.kb_terms.contains(&t.term) && !t.stop && t.term != p.canonical {
                            out.push(AnalyzedTerm {
                                text: t.term.clone(),
                                corrected: t.corrected,
                            });
                        }
                    }
                    let corrected = seq[i..end].iter().any(|t| t.corrected);
                    out.push(AnalyzedTerm {
                        text: p.canonical.clone(),
                        corrected,
                    });
                    i = end;
                }
                None => {
                    let t = &seq[i];
                    if !t.stop {
                        out.push(AnalyzedTerm {
                            text: t.term.clone(),
                            corrected: t.corrected,
                        });
                    }
                    i += 1;
                }
            }
        }
        out
    }
}

/// Pass 1 in a language other than English: its stem of each one-word
/// item to the group's canonical term, so inflections nobody
/// listed ("llegan" for "llegar") find the group. Stems are less precise
/// than words, so an item only lends its stem when that stem is a real
/// part of the word: four letters or more ("vide" and "vida" are both
/// "vid" in Spanish) and at most three letters shorter than the item (a
/// longer suffix is derivational: "nuevamente", again, and "nuevo", new,
/// are both "nuev"). When items of two groups share a stem, the item the
/// stem changes least wins ("microfone", microphone, over "microfonia",
/// echo), then the earlier group. The knowledge base's own words are left
/// out: a question reads them as English in any language, and their stems
/// here would only collide with this language's words.
fn foreign_single(
    lang: Language,
    synonyms: &Synonyms,
    canonicals: &[String],
    kb_words: &HashSet<&str>,
) -> HashMap<String, String> {
    const MIN_STEM: usize = 4;
    const MAX_SUFFIX: usize = 3;
    let mut best: HashMap<String, (usize, &str)> = HashMap::default();
    for (group, c) in synonyms.groups.iter().zip(canonicals) {
        for item in group {
            let ws = words(item);
            let [w] = ws.as_slice() else { continue };
            if kb_words.contains(w.as_str()) {
                continue;
            }
            let s = lang.stem(w);
            let (n, m) = (w.chars().count(), s.chars().count());
            if s == *c || m < MIN_STEM || n - m > MAX_SUFFIX {
                continue;
            }
            let cut = n - m;
            match best.get(&s) {
                Some(&(b, _)) if b <= cut => {}
                _ => {
                    best.insert(s, (cut, c.as_str()));
                }
            }
        }
    }
    best.into_iter()
        .map(|(s, (_, c))| (s, c.to_owned()))
        .collect()
}

/// Drops leading and trailing stopwords of a phrase ("does not appear"
/// -> "not appear") unless that would leave a lone word ("isn't there"
/// must not become "not").
fn trim_stop(tokens: Vec<Token>) -> Vec<Token> {
    let start = tokens.iter().position(|t| !t.stop);
    let end = tokens.iter().rposition(|t| !t.stop);
    match (start, end) {
        (Some(a), Some(b)) if b > a || tokens.len() == 1 => tokens[a..=b].to_vec(),
        _ => tokens,
    }
}

/// Where phrase `p` ends if it starts at `start`, or `None`.
fn match_phrase(seq: &[Token], start: usize, p: &[String]) -> Option<usize> {
    let mut i = start;
    for (k, want) in p.iter().enumerate() {
        if k > 0 {
            let mut skipped = 0;
            while i < seq.len() && seq[i].term != *want && seq[i].stop && skipped < 2 {
                i += 1;
                skipped += 1;
            }
        }
        if i >= seq.len() || seq[i].term != *want {
            return None;
        }
        i += 1;
    }
    Some(i)
}

#[cfg(test)]
mod tests;
