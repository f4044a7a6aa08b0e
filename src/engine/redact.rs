//! Secret redaction: finds things that look like credentials in what users
//! type (Discord bot tokens, JWTs, live API keys, `password: ...`, long
//! random keys) and replaces them before anything is stored or shown.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// What kind of secret was removed; says why, in words a user understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    DiscordToken,
    Jwt,
    PrivateKey,
    /// A vendor key with a recognisable prefix (`sk_live_`, `ghp_`, `xoxb-`, `AKIA`...).
    ApiKey,
    /// `Authorization: Bearer ...`.
    BearerToken,
    /// A value introduced as a password, secret or token (`secret: ...`).
    NamedSecret,
    /// A long random-looking string.
    RandomKey,
}

impl SecretKind {
    pub fn describe(self) -> &'static str {
        match self {
            SecretKind::DiscordToken => "a Discord bot token",
            SecretKind::Jwt => "a signed token (JWT)",
            SecretKind::PrivateKey => "a private key",
            SecretKind::ApiKey => "a secret API key",
            SecretKind::BearerToken => "a bearer token",
            SecretKind::NamedSecret => "a password or secret",
            SecretKind::RandomKey => "a long random key",
        }
    }

    fn placeholder(self) -> String {
        format!("[redacted: {}]", self.describe())
    }
}

/// Text with its secrets replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    /// What was removed, each kind once, in order of discovery.
    pub found: Vec<SecretKind>,
}

impl Redacted {
    pub fn is_clean(&self) -> bool {
        self.found.is_empty()
    }
}

/// Patterns with a fixed shape, most specific first.
static SHAPED: LazyLock<Vec<(SecretKind, Regex)>> = LazyLock::new(|| {
    let re = |s: &str| Regex::new(s).expect("static regex");
    vec![
        (
            SecretKind::PrivateKey,
            re(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)"),
        ),
        (
            SecretKind::DiscordToken,
            re(r"\b[MNO][A-Za-z\d_-]{23,}\.[\w-]{6}\.[\w-]{27,}"),
        ),
        (
            SecretKind::Jwt,
            re(r"\beyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]{10,}"),
        ),
        (
            SecretKind::ApiKey,
            re(concat!(
                r"\b(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}",
                r"|whsec_[A-Za-z0-9]{16,}",
                r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}",
                r"|xox[abposr]-[A-Za-z0-9-]{10,}",
                r"|AKIA[0-9A-Z]{16}",
                r"|AIza[0-9A-Za-z_-]{35})"
            )),
        ),
        (
            SecretKind::BearerToken,
            re(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{16,}=*"),
        ),
    ]
});

/// `name: value`, `name=value`, `name is value`.
static NAMED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?ix)
        \b(?P<name>password|passwd|pwd|passphrase|passcode
            |(?:identity|client|app|api|shared|webhook|signing)?[\ _-]?secret
            |api[\ _-]?key|apikey|access[\ _-]?token|auth[\ _-]?token|bot[\ _-]?token|token)
        (?P<sep>\s*[:=]\s*|\s+is\s+)
        ["']?(?P<value>[^\s"'&,;]+)"#,
    )
    .expect("static regex")
});

/// Candidates for the long-random-key rule.
static LONG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9+/_=-]{32,}").expect("static regex"));

static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        .expect("static regex")
});

/// Prefixes of identifiers that are public by design (embedded in pages).
const PUBLIC_PREFIXES: &[&str] = &[
    "app_", "pk_live_", "pk_test_", "sha256-", "sha384-", "sha512-",
];

/// Replaces every secret-looking span of `text`.
pub fn redact(text: &str) -> Redacted {
    let mut out = text.to_owned();
    let mut found = Vec::new();
    let mut note = |k: SecretKind| {
        if !found.contains(&k) {
            found.push(k);
        }
    };

    for (kind, re) in SHAPED.iter() {
        if re.is_match(&out) {
            out = re
                .replace_all(&out, kind.placeholder().as_str())
                .into_owned();
            note(*kind);
        }
    }

    let mut named_hit = false;
    out = NAMED
        .replace_all(&out, |c: &regex::Captures<'_>| {
            let value = &c["value"];
            let explicit = c["sep"].contains([':', '=']);
            let name = c["name"].to_ascii_lowercase();
            let always = name.starts_with("pass") || name == "pwd" || name.ends_with("secret");
            let secret = !value.starts_with("[redacted")
                && if explicit && always {
                    true
                } else {
                    looks_like_credential(value)
                };
            if secret {
                named_hit = true;
                format!(
                    "{}{}{}",
                    &c["name"],
                    &c["sep"],
                    SecretKind::NamedSecret.placeholder()
                )
            } else {
                c[0].to_owned()
            }
        })
        .into_owned();
    if named_hit {
        note(SecretKind::NamedSecret);
    }

    let mut random_hit = false;
    out = replace_words(&out, |word| {
        if word.contains("://") || word.starts_with("www.") || word.contains("[redacted") {
            return None;
        }
        let mut changed = false;
        let replaced = LONG.replace_all(word, |c: &regex::Captures<'_>| {
            if is_random_key(&c[0]) {
                changed = true;
                SecretKind::RandomKey.placeholder()
            } else {
                c[0].to_owned()
            }
        });
        random_hit |= changed;
        changed.then(|| replaced.into_owned())
    });
    if random_hit {
        note(SecretKind::RandomKey);
    }

    Redacted { text: out, found }
}

/// Applies `f` to each whitespace-separated word, keeping the whitespace.
fn replace_words(text: &str, mut f: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word_start = None;
    for (i, ch) in text.char_indices() {
        if ch.is_whitespace() {
            if let Some(s) = word_start.take() {
                let w = &text[s..i];
                out.push_str(&f(w).unwrap_or_else(|| w.to_owned()));
            }
            out.push(ch);
        } else if word_start.is_none() {
            word_start = Some(i);
        }
    }
    if let Some(s) = word_start {
        let w = &text[s..];
        out.push_str(&f(w).unwrap_or_else(|| w.to_owned()));
    }
    out
}

/// A value after `token is` / `password is`: secret only if it does not
/// read like a word ("the token is expired" is not a secret).
fn looks_like_credential(v: &str) -> bool {
    let has_digit = v.chars().any(|c| c.is_ascii_digit());
    let has_upper = v.chars().any(|c| c.is_ascii_uppercase());
    let has_lower = v.chars().any(|c| c.is_ascii_lowercase());
    let has_symbol = v.chars().any(|c| !c.is_alphanumeric());
    v.chars().count() >= 6 && (has_digit || has_symbol || (has_upper && has_lower && v.len() >= 12))
}

/// A long string that is random rather than an identifier or a hash: mixes
/// letters and digits, high per-character entropy, not a UUID nor a public id.
fn is_random_key(s: &str) -> bool {
    let s = s.trim_end_matches('=');
    if s.chars().count() < 32 || UUID.is_match(s) {
        return false;
    }
    if PUBLIC_PREFIXES.iter().any(|p| s.starts_with(p)) {
        return false;
    }
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let upper = s.chars().filter(char::is_ascii_uppercase).count();
    let lower = s.chars().filter(char::is_ascii_lowercase).count();
    // Hex digests and ids (one letter case plus digits, low entropy) are
    // common in pasted logs and are not secrets by themselves.
    if digits == 0 || (upper == 0 || lower == 0) && s.chars().all(|c| c.is_ascii_hexdigit()) {
        return false;
    }
    if upper + lower == 0 {
        return false;
    }
    entropy(s) >= 4.0
}

/// Shannon entropy in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut n = 0usize;
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
        n += 1;
    }
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n as f64;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<SecretKind> {
        redact(s).found
    }

    #[test]
    fn discord_bot_token_is_removed() {
        let t =
            "my token MTA4NzY1NDMyMTA5ODc2NTQzMg.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456 pls help";
        let r = redact(t);
        assert_eq!(r.found, vec![SecretKind::DiscordToken]);
        assert!(!r.text.contains("MTA4"));
        assert!(r.text.ends_with("pls help"));
    }

    #[test]
    fn named_secrets_and_passwords_are_removed() {
        assert_eq!(
            kinds("identity secret: s3cr3tValue"),
            vec![SecretKind::NamedSecret]
        );
        assert_eq!(kinds("secret=abc"), vec![SecretKind::NamedSecret]);
        assert_eq!(kinds("password: hunter2"), vec![SecretKind::NamedSecret]);
        assert_eq!(
            kinds("my password is hunter2"),
            vec![SecretKind::NamedSecret]
        );
        assert!(redact("password: hunter2")
            .text
            .starts_with("password: [redacted"));
    }

    #[test]
    fn vendor_keys_and_jwts_are_removed() {
        assert_eq!(
            kinds("key sk_live_51HabcdefGHIJKL0123"),
            vec![SecretKind::ApiKey]
        );
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(kinds(jwt), vec![SecretKind::Jwt]);
    }

    #[test]
    fn long_random_key_is_removed() {
        assert_eq!(
            kinds("apikey: 9fK2xQ7mLp4Zt8RwVb3NcY6hJd1GsEa5"),
            vec![SecretKind::NamedSecret]
        );
        assert_eq!(
            kinds("here 9fK2xQ7mLp4Zt8RwVb3NcY6hJd1GsEa5 ok"),
            vec![SecretKind::RandomKey]
        );
    }

    #[test]
    fn ordinary_ids_urls_and_words_are_kept() {
        for s in [
            "app_abc123",
            "my app key is app_abc123",
            "app_9fK2xQ7mLp4Zt8RwVb3NcY6hJd1GsEa5",
            "https://shop.example.com/checkout?session=9fK2xQ7mLp4Zt8RwVb3NcY6hJd1GsEa5",
            "id 123e4567-e89b-12d3-a456-426614174000",
            "commit 4d56b4c3f1e2a9b8c7d6e5f4a3b2c1d0e9f8a7b6",
            "the session token is expired",
            "the password is wrong",
            "the token: expired after an hour",
            "Chrome 120 on macOS 14.2",
            "convot_widget_container_element_identifier",
            "<script integrity=\"sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC\">",
        ] {
            let r = redact(s);
            assert!(r.is_clean(), "{s:?} -> {:?}", r);
            assert_eq!(r.text, s);
        }
    }
}
