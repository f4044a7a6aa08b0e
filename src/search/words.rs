//! Words: how any text (entries, questions, synonyms, stop-word lists)
//! splits into folded, lowercase words before analysis: accents removed,
//! contractions and elisions, camelCase identifiers, British `-ise`.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Words longer than this are ids, hashes or base64, not vocabulary.
const MAX_WORD_CHARS: usize = 40;

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

fn lower(cs: &[char]) -> String {
    cs.iter().flat_map(|c| c.to_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
