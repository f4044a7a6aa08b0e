//! Question-type cues (`cues.yaml`): phrases that say what kind of message
//! a question is (a how-to, billing, trouble in the customer's own code, a
//! greeting, "no errors"), owned by the knowledge base's editors. The
//! matcher turns each kind into one feature whose weight is fitted, so no
//! phrasing is a branch in code.

use std::path::Path;

use serde::Deserialize;

use super::{locate, yaml_problem, Problem};

/// The cue phrases, by kind. A phrase is a few words matched in order
/// against the message's folded lowercase words; a word ending in `*`
/// matches any word it begins (`ts*` matches `ts2307`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cues {
    /// Asking for a capability or for information ("how do i", "is there
    /// a way"): a how-to or a feature request.
    #[serde(default)]
    pub request: Vec<String>,
    /// Billing, pricing and the subscription.
    #[serde(default)]
    pub billing: Vec<String>,
    /// Trouble that is the customer's own: generic runtime errors from
    /// their code, build and package-manager errors, their own backend.
    #[serde(default)]
    pub own_code: Vec<String>,
    /// Greetings; counted only at the start of a message.
    #[serde(default)]
    pub greeting: Vec<String>,
    /// Calm phrases whose words would otherwise read as trouble ("no
    /// errors", "works fine").
    #[serde(default)]
    pub calm: Vec<String>,
}

impl Cues {
    /// Every kind with its name, in a fixed order.
    pub fn kinds(&self) -> [(&'static str, &[String]); 5] {
        [
            ("request", &self.request),
            ("billing", &self.billing),
            ("own_code", &self.own_code),
            ("greeting", &self.greeting),
            ("calm", &self.calm),
        ]
    }

    fn extend(&mut self, other: Cues) {
        self.request.extend(other.request);
        self.billing.extend(other.billing);
        self.own_code.extend(other.own_code);
        self.greeting.extend(other.greeting);
        self.calm.extend(other.calm);
    }
}

pub(super) fn is_cues_file(path: &Path) -> bool {
    path.file_stem().and_then(|s| s.to_str()) == Some("cues")
}

/// Parses `cues.yaml`: every phrase has at least one word, and `*` stands
/// only at the end of a word.
pub fn parse_cues(src: &str, origin: &Path) -> Result<Cues, Vec<Problem>> {
    let cues: Cues = serde_yaml::from_str(src).map_err(|e| vec![yaml_problem(&e, origin)])?;
    let mut problems = Vec::new();
    for (kind, phrases) in cues.kinds() {
        for (i, p) in phrases.iter().enumerate() {
            let nth = phrases[..i].iter().filter(|q| *q == p).count();
            let bad = if crate::search::words(p).is_empty() {
                Some("has no words")
            } else if p
                .split_whitespace()
                .any(|w| w.trim_end_matches('*').contains('*'))
            {
                Some("has a `*` inside a word (only a trailing `*` is allowed)")
            } else {
                None
            };
            if let Some(why) = bad {
                problems.push(Problem {
                    span: locate(src, origin, "", p, nth),
                    message: format!("{kind} cue '{p}' {why}"),
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(cues)
    } else {
        Err(problems)
    }
}

pub(super) fn merge(into: &mut Cues, from: Cues) {
    into.extend(from);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cue_files_are_validated_with_positions() {
        let src = "request:\n  - how do i\n  - \"??\"\nbilling:\n  - in*voice\n";
        let problems = parse_cues(src, Path::new("cues.yaml")).expect_err("two problems");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].message.contains("no words"), "{problems:?}");
        assert!(
            problems[1].message.contains("inside a word"),
            "{problems:?}"
        );
        assert_eq!(problems[1].span.line, 5);
    }

    #[test]
    fn unknown_cue_kinds_are_refused() {
        let err = parse_cues("requests:\n  - how do i\n", Path::new("cues.yaml"))
            .expect_err("unknown key");
        assert!(err[0].message.contains("requests"), "{err:?}");
    }
}
