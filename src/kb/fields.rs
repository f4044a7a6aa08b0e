//! Ticket fields and the rules an answer must pass (`FieldSpec::check`).

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::FieldId;

/// One ticket field of a product.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub id: FieldId,
    /// Short label used in ticket summaries.
    pub label: String,
    /// The question the bot asks.
    pub question: String,
    /// An example answer, shown with the question.
    pub example: String,
    /// Rules an answer must pass; absent means any non-empty text.
    #[serde(default)]
    pub validate: Option<Validation>,
    #[serde(skip)]
    pub(super) compiled: Option<Regex>,
}

/// Validation rules of a ticket field. Every rule given must hold.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Validation {
    /// The answer must start with this (after trimming).
    #[serde(default)]
    pub prefix: Option<String>,
    /// A regular expression the answer must match somewhere.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Minimum length in characters.
    #[serde(default)]
    pub min_len: Option<usize>,
    /// A built-in format.
    #[serde(default)]
    pub format: Option<Format>,
    /// The reason shown to the user when the answer fails, e.g.
    /// "an app key starts with `app_`".
    pub reason: String,
}

/// Built-in answer formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// An http(s) URL with a host.
    Url,
    /// A time of day with a timezone (`14:05 CET`, `2026-11-20T14:05Z`, `3pm PST`).
    TimestampTz,
}

impl FieldSpec {
    /// Checks an answer against the field's rules; the error is the reason
    /// to show the user.
    pub fn check(&self, answer: &str) -> Result<(), String> {
        let answer = answer.trim();
        if answer.is_empty() {
            return Err("the answer is empty".into());
        }
        let Some(v) = &self.validate else {
            return Ok(());
        };
        let ok = v
            .prefix
            .as_ref()
            .is_none_or(|p| answer.starts_with(p.as_str()))
            && self.compiled.as_ref().is_none_or(|re| re.is_match(answer))
            && v.min_len.is_none_or(|n| answer.chars().count() >= n)
            && v.format.is_none_or(|f| f.accepts(answer));
        if ok {
            Ok(())
        } else {
            Err(v.reason.clone())
        }
    }
}

impl Format {
    pub fn accepts(self, s: &str) -> bool {
        use std::sync::LazyLock;
        static URL: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"(?i)^https?://[a-z0-9]([a-z0-9.\-]*[a-z0-9])?(:\d+)?(/\S*)?$")
                .expect("static regex")
        });
        static TIME: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"(?i)\b\d{1,2}(:\d{2}(:\d{2})?\s*(am|pm)?|\s*(am|pm))")
                .expect("static regex")
        });
        static ZONE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(
                r"(?x)
                \d(Z)\b                                   # 14:05Z
                | [+\-]\d{2}:?\d{2}\b                     # +02:00 / -0500
                | \b(UTC|GMT|UT)([+\-]\d{1,2}(:?\d{2})?)?\b  # UTC, GMT+2
                | \b[A-Z]{2,4}T\b                         # CET, PST, AEST, BST...
                | \b(CEST|AEDT|AEST|ACST|NZDT|NZST|IST|MSK|WIB)\b
                | \b[A-Z][a-z]+/[A-Z][A-Za-z_]+\b         # Europe/Paris
                ",
            )
            .expect("static regex")
        });
        match self {
            Format::Url => URL.is_match(s.trim()),
            Format::TimestampTz => TIME.is_match(s) && ZONE.is_match(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(validate: Validation) -> FieldSpec {
        let compiled = validate.pattern.as_deref().map(|p| Regex::new(p).unwrap());
        FieldSpec {
            id: "f".into(),
            label: "F".into(),
            question: "?".into(),
            example: "x".into(),
            validate: Some(validate),
            compiled,
        }
    }

    #[test]
    fn timestamp_needs_a_zone() {
        let f = field(Validation {
            format: Some(Format::TimestampTz),
            reason: "please include a timezone, e.g. 14:05 CET".into(),
            ..Default::default()
        });
        assert!(f.check("2026-11-20 14:05 CET").is_ok());
        assert!(f.check("yesterday 3pm PST").is_ok());
        assert!(f.check("2026-11-20T14:05:00Z").is_ok());
        assert!(f.check("14:05 UTC+2").is_ok());
        assert!(f.check("at 09:30 Europe/Paris").is_ok());
        assert!(f.check("14:05 +01:00").is_ok());
        assert!(f.check("yesterday afternoon").is_err());
        assert!(f.check("14:05").is_err());
        assert!(f.check("around 2pm").is_err());
    }

    #[test]
    fn prefix_and_url_rules() {
        let key = field(Validation {
            prefix: Some("app_".into()),
            min_len: Some(6),
            reason: "an app key starts with `app_`".into(),
            ..Default::default()
        });
        assert!(key.check("app_12ab34").is_ok());
        assert_eq!(
            key.check("12ab34").unwrap_err(),
            "an app key starts with `app_`"
        );
        assert!(key.check("   ").is_err());
        let url = field(Validation {
            format: Some(Format::Url),
            reason: "a full URL, e.g. https://example.com/pricing".into(),
            ..Default::default()
        });
        assert!(url.check("https://example.com/pricing?x=1").is_ok());
        assert!(url.check("example.com").is_err());
    }
}
