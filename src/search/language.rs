//! Language: which of the languages customers write in a question is in,
//! and that language's stemmer and function words. The language data comes
//! from libraries (whatlang's trigram model, the Snowball stemmers of
//! rust-stemmers that tantivy uses, NLTK's stop-word lists), so
//! `synonyms.yaml` holds only domain vocabulary.

use rustc_hash::FxHashSet as HashSet;

use super::words::words;

/// A language customers write in. Knowledge-base text is English.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    English,
    Spanish,
    German,
    French,
    Portuguese,
    Italian,
    Dutch,
}

impl Language {
    /// Every language, English first (its index is 0).
    pub const ALL: [Language; 7] = [
        Language::English,
        Language::Spanish,
        Language::German,
        Language::French,
        Language::Portuguese,
        Language::Italian,
        Language::Dutch,
    ];

    /// Its position in `ALL`, for per-language tables.
    pub fn index(self) -> usize {
        self as usize
    }

    fn whatlang(self) -> whatlang::Lang {
        match self {
            Language::English => whatlang::Lang::Eng,
            Language::Spanish => whatlang::Lang::Spa,
            Language::German => whatlang::Lang::Deu,
            Language::French => whatlang::Lang::Fra,
            Language::Portuguese => whatlang::Lang::Por,
            Language::Italian => whatlang::Lang::Ita,
            Language::Dutch => whatlang::Lang::Nld,
        }
    }

    fn algorithm(self) -> rust_stemmers::Algorithm {
        use rust_stemmers::Algorithm;
        match self {
            Language::English => Algorithm::English,
            Language::Spanish => Algorithm::Spanish,
            Language::German => Algorithm::German,
            Language::French => Algorithm::French,
            Language::Portuguese => Algorithm::Portuguese,
            Language::Italian => Algorithm::Italian,
            Language::Dutch => Algorithm::Dutch,
        }
    }

    /// The language's Snowball stem of a folded, lowercase word. Words are
    /// stemmed after accent folding, so a customer who types "microfono"
    /// and one who types "micrófono" get the same stem.
    pub fn stem(self, word: &str) -> String {
        rust_stemmers::Stemmer::create(self.algorithm())
            .stem(word)
            .into_owned()
    }

    /// The language's function words (NLTK's list), folded like any text.
    /// NLTK's lists are short and hold only function words; the ISO lists
    /// also hold "call", "page", "open", "show" and "work".
    pub fn stopwords(self) -> impl Iterator<Item = String> {
        let code = match self {
            Language::English => "en",
            Language::Spanish => "es",
            Language::German => "de",
            Language::French => "fr",
            Language::Portuguese => "pt",
            Language::Italian => "it",
            Language::Dutch => "nl",
        };
        // Contractions are left out: folded, they are other words ("we'll"
        // -> "well", "she'd" -> "shed"); the negative ones are negations.
        stop_words::lookup(code)
            .unwrap_or_default()
            .iter()
            .filter(|w| !w.contains('\''))
            .flat_map(|w| words(w))
    }

    /// Words of this language's stop-word list that carry meaning and stay
    /// terms. The lists hold negations ("not", "nicht", "pas", "sem"), and
    /// a negation turns a symptom into its opposite ("calls do not drop");
    /// the matcher reads "not" itself (a bare negation is not a failure),
    /// and "error" and "never" are trouble words. The analyzer also keeps
    /// every one-word synonym item.
    pub fn keep(self) -> impl Iterator<Item = &'static str> {
        let list = match self {
            // NLTK's English list also holds words that place a problem in
            // time, space or amount ("after the update", "during a call",
            // "through a proxy", "more than one tab", "hear myself"); in a
            // problem report they tell entries apart.
            Language::English => {
                "not no nor never without none nothing error \
                 after before during while until once again through between against \
                 off under above below further more most few both each \
                 itself myself ourselves themselves yourself yourselves himself herself"
            }
            Language::Spanish => "no ni sin nada nunca",
            Language::German => "nicht kein keine keinem keinen keiner keines ohne nichts nie",
            Language::French => "pas sans jamais rien aucun aucune",
            Language::Portuguese => "nao nem sem nunca nada",
            Language::Italian => "non senza mai niente nessun nessuno",
            Language::Dutch => "niet geen niets zonder nooit",
        };
        list.split_whitespace()
    }
}

/// Tells which language a question is in.
#[derive(Clone, Debug)]
pub struct Detector {
    /// whatlang's trigram model, restricted to our languages.
    detector: whatlang::Detector,
    /// Per language (`Language::ALL` order), its function words of two
    /// letters or more that English does not list ("der", "los").
    distinct: Vec<HashSet<String>>,
    /// Per language, the English function words of two letters or more
    /// that it does not list ("the", "is"), to weigh against `distinct`.
    english: Vec<HashSet<String>>,
}

impl Default for Detector {
    fn default() -> Self {
        let all: Vec<HashSet<String>> = Language::ALL
            .iter()
            .map(|l| l.stopwords().filter(|w| w.chars().count() > 1).collect())
            .collect();
        let en = &all[Language::English.index()];
        Detector {
            detector: whatlang::Detector::with_allowlist(
                Language::ALL.iter().map(|l| l.whatlang()).collect(),
            ),
            distinct: all
                .iter()
                .map(|s| s.difference(en).cloned().collect())
                .collect(),
            english: all
                .iter()
                .map(|s| en.difference(s).cloned().collect())
                .collect(),
        }
    }
}

impl Detector {
    /// The language of `text` (whose folded words are `words`). whatlang
    /// proposes and function words dispose: its guess is taken when the
    /// text holds more of that language's own function words than English
    /// ones, since trigram models confidently call short technical English
    /// ("calls auto drop after 30 seconds, our SIP destination is a 3CX")
    /// French. Otherwise (whatlang says English, or its guess loses), the
    /// language whose function words outnumber English ones the most: a
    /// German question around a pasted English log is German. A text with
    /// no function words (most short ones) stays English.
    pub fn detect(&self, text: &str, words: &[String]) -> Language {
        let count = |set: &HashSet<String>| words.iter().filter(|w| set.contains(*w)).count();
        let margins: Vec<(Language, i64)> = Language::ALL[1..]
            .iter()
            .map(|&l| {
                let m = count(&self.distinct[l.index()]) as i64
                    - count(&self.english[l.index()]) as i64;
                (l, m)
            })
            .collect();
        // Only a language ahead on function words can win, whatever
        // whatlang says: most questions (English) never need its
        // trigram count, the slowest part of reading a long paste.
        if margins.iter().all(|&(_, m)| m <= 0) {
            return Language::English;
        }
        let margin = |lang: Language| {
            margins
                .iter()
                .find(|&&(l, _)| l == lang)
                .map_or(0, |&(_, m)| m)
        };
        let guess = self
            .detector
            .detect_lang(text)
            .and_then(|g| Language::ALL.iter().copied().find(|l| l.whatlang() == g));
        if let Some(lang) = guess.filter(|l| *l != Language::English) {
            if margin(lang) > 0 {
                return lang;
            }
        }
        let mut best = (0, Language::English);
        for &(lang, m) in &margins {
            if m > best.0 {
                best = (m, lang);
            }
        }
        best.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(text: &str) -> Language {
        Detector::default().detect(text, &words(text))
    }

    #[test]
    fn questions_are_read_in_their_language() {
        assert_eq!(
            detect("el widget no aparece en nuestra web desde ayer"),
            Language::Spanish
        );
        assert_eq!(
            detect("Der Anrufer hört mich, aber ich höre ihn gar nicht."),
            Language::German
        );
        assert_eq!(
            detect("le widget ne s'affiche pas sur mon site"),
            Language::French
        );
        assert_eq!(
            detect("o microfone não é detectado no celular"),
            Language::Portuguese
        );
    }

    #[test]
    fn short_or_technical_english_stays_english() {
        assert_eq!(detect("its broken again"), Language::English);
        assert_eq!(detect("init() -> 404"), Language::English);
        assert_eq!(
            detect("calls auto drop after 30 seconds, our SIP destination is a 3CX"),
            Language::English
        );
        assert_eq!(detect(""), Language::English);
    }

    #[test]
    fn a_question_around_a_pasted_english_log_keeps_its_language() {
        let text = "CORS-Fehler bei der Nutzung des Widgets. Ich habe mit eurer SDK angefangen, \
            aber in der Konsole bekomme ich diesen Fehler: Access to fetch at https://api.example.io \
            from origin http://shop.test has been blocked by CORS policy: No header is present \
            on the requested resource. Wenn ich den Link direkt öffne, steht da etwas anderes.";
        assert_eq!(detect(text), Language::German);
    }

    #[test]
    fn stopword_lists_are_folded_words() {
        let fr: HashSet<String> = Language::French.stopwords().collect();
        assert!(fr.contains("etait"), "accents are folded");
        let en: HashSet<String> = Language::English.stopwords().collect();
        assert!(en.contains("the"));
        assert!(!en.contains("well"), "contractions are left out (we'll)");
    }
}
