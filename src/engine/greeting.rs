//! A message that is only a greeting ("hello", "hi there", "good morning
//! all"): it gets a greeting and a question back, not "I couldn't match
//! that". The greetings are the knowledge base's own (`cues.yaml`).

use crate::kb::KnowledgeBase;

/// Words that may stand beside a greeting without saying anything more.
const FILLER: [&str; 14] = [
    "there",
    "all",
    "everyone",
    "everybody",
    "guys",
    "team",
    "folks",
    "people",
    "yall",
    "again",
    "triage",
    "bot",
    "friends",
    "support",
];
/// Longer than this, a message says more than hello.
const MAX_WORDS: usize = 5;

/// Whether `text` is a greeting and nothing else.
pub(super) fn only_greeting(kb: &KnowledgeBase, text: &str) -> bool {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() || words.len() > MAX_WORDS {
        return false;
    }
    let said: Vec<&str> = words.into_iter().filter(|w| !FILLER.contains(w)).collect();
    let said = said.join(" ");
    !said.is_empty()
        && kb.cues().greeting.iter().any(|g| {
            let g = g.to_lowercase();
            match g.strip_suffix('*') {
                Some(stem) => said.starts_with(stem) && !said.contains(' ') || said == stem,
                None => said == g,
            }
        })
}

/// What a greeting gets back.
pub(super) const REPLY: &str = "Hello! What's going wrong? Tell me what you see and where, in a sentence or two: for example \"the chat bubble doesn't show on our pricing page\".";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings_alone_are_told_apart_from_questions_that_start_with_one() {
        let kb = crate::kb::load_dir(std::path::Path::new("knowledge")).unwrap();
        for g in [
            "hello",
            "Hi there!",
            "hey all",
            "good morning everyone",
            "hola",
            "Bonjour",
        ] {
            assert!(only_greeting(&kb, g), "{g}");
        }
        for q in [
            "hello, the widget is gone",
            "hi my calls have no audio",
            "the widget says hello",
            "",
            "thanks",
        ] {
            assert!(!only_greeting(&kb, q), "{q}");
        }
    }
}
