//! Finds the knowledge base's question-type cues (`cues.yaml`) in a
//! message: each kind is one yes/no feature for the fitted model.

use crate::kb::Cues;
use crate::search;

/// One word of a cue phrase.
#[derive(Debug)]
enum Word {
    Exact(String),
    /// `ts*`: any word that begins with this.
    Prefix(String),
}

impl Word {
    fn matches(&self, w: &str) -> bool {
        match self {
            Word::Exact(x) => x == w,
            Word::Prefix(p) => w.starts_with(p.as_str()),
        }
    }
}

/// The cue kinds a message shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shown {
    pub request: bool,
    pub billing: bool,
    pub own_code: bool,
    pub greeting: bool,
    pub calm: bool,
}

/// Greetings count only among a message's first words.
const GREETING_WINDOW: usize = 3;

/// The cue phrases of one knowledge base, as word patterns.
#[derive(Debug, Default)]
pub(super) struct CueSet {
    /// Per kind (in `Cues::kinds` order), its phrases.
    kinds: Vec<Vec<Vec<Word>>>,
}

impl CueSet {
    pub fn new(cues: &Cues) -> Self {
        let kinds = cues
            .kinds()
            .iter()
            .map(|(_, phrases)| {
                phrases
                    .iter()
                    .map(|p| {
                        p.split_whitespace()
                            .flat_map(|w| {
                                let prefix = w.ends_with('*');
                                search::words(w).into_iter().map(move |x| {
                                    if prefix {
                                        Word::Prefix(x)
                                    } else {
                                        Word::Exact(x)
                                    }
                                })
                            })
                            .collect::<Vec<Word>>()
                    })
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .collect();
        Self { kinds }
    }

    /// Which kinds of cue `words` (the message's folded words) show.
    pub fn find(&self, words: &[String]) -> Shown {
        let any = |kind: usize, within: usize| {
            self.kinds.get(kind).is_some_and(|phrases| {
                phrases.iter().any(|p| {
                    let last = words
                        .len()
                        .saturating_sub(p.len())
                        .min(within.saturating_sub(1));
                    p.len() <= words.len()
                        && (0..=last).any(|i| p.iter().zip(&words[i..]).all(|(c, w)| c.matches(w)))
                })
            })
        };
        Shown {
            request: any(0, usize::MAX),
            billing: any(1, usize::MAX),
            own_code: any(2, usize::MAX),
            greeting: any(3, GREETING_WINDOW),
            calm: any(4, usize::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> CueSet {
        CueSet::new(&Cues {
            request: vec!["how do i".into(), "is there a way".into()],
            billing: vec!["invoice*".into()],
            own_code: vec!["error ts*".into()],
            greeting: vec!["hello".into()],
            calm: vec!["no errors".into()],
        })
    }

    fn shown(text: &str) -> Shown {
        set().find(&search::words(text))
    }

    #[test]
    fn phrases_match_whole_words_in_order() {
        assert!(shown("How do I change it?").request);
        assert!(!shown("I do how").request);
        assert!(!shown("show do it").request);
    }

    #[test]
    fn a_trailing_star_matches_word_beginnings() {
        assert!(shown("where are the invoices").billing);
        assert!(shown("error TS2307: cannot find").own_code);
    }

    #[test]
    fn greetings_count_only_at_the_start() {
        assert!(shown("hello, the widget is gone").greeting);
        assert!(!shown("the widget says hello then disappears").greeting);
    }
}
