//! One cause/fix item of a page into a check: cause, how to verify and fix,
//! by the labels the page uses (`Check:`, `Fix:`) or else by what each
//! sentence asks the reader to do.

use std::sync::LazyLock;

use regex::Regex;

use super::build::slug;
use super::DraftCheck;

static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(cause|why|reason|likely cause|check|verify|how to check|to check|diagnose|test|fix|solution|resolution|what to do|workaround|answer|a)\s*[:.]\s*").expect("static regex")
});

const VERIFY_VERBS: &[&str] = &[
    "check",
    "open",
    "look",
    "confirm",
    "verify",
    "test",
    "compare",
    "inspect",
    "hover",
    "find",
    "search",
    "make sure",
    "ensure",
    "see whether",
    "see if",
    "try",
    "reproduce",
    "ask the user to check",
    "double-check",
    "watch",
    "view",
    "review",
    "run",
];
const FIX_VERBS: &[&str] = &[
    "add",
    "move",
    "set",
    "call",
    "use",
    "remove",
    "fix",
    "guard",
    "wait",
    "re-activate",
    "reactivate",
    "activate",
    "enable",
    "disable",
    "allowlist",
    "whitelist",
    "update",
    "replace",
    "copy",
    "change",
    "create",
    "upgrade",
    "install",
    "listen",
    "require",
    "keep",
    "wrap",
    "restart",
    "reload",
    "retry",
    "rotate",
    "regenerate",
    "contact",
    "switch",
    "grant",
    "allow",
    "trigger",
    "always",
    "configure",
    "turn",
    "delegate",
    "put",
    "ask",
    "pass",
    "clear",
    "reinstall",
    "downgrade",
    "increase",
    "reduce",
    "lower",
    "raise",
    "shorten",
    "escalate",
    "register",
    "assign",
    "select",
    "save",
    "upload",
    "generate",
    "reset",
    "sign",
    "log",
    "include",
    "avoid",
    "don't",
    "do not",
    "never",
    "retrying",
    "compress",
    "resize",
    "split",
    "rename",
    "edit",
    "correct",
    "delete",
    "uninstall",
    "unblock",
    "re-enable",
    "rerun",
    "re-run",
    "refresh",
    "restore",
    "repair",
    "purge",
    "flush",
    "book",
    "report",
    "request",
    "stand",
    "go",
    "give",
    "send",
    "point",
    "drop",
    "free",
    "close",
    "quit",
    "exit",
    "reconnect",
];

/// Splits one cause/fix item into cause, verify and fix by labels where the
/// page gives them, else by what each sentence does.
pub(super) fn check_from(text: &str, children: &[&str]) -> DraftCheck {
    let mut cause = Vec::new();
    let mut verify = Vec::new();
    let mut fix = Vec::new();
    let mut lead: Option<String> = None;
    let mut text = text.trim().to_owned();
    // "Check the snippet - open the console…": a short lead label.
    for sep in [" - ", " — ", " – "] {
        if let Some((l, rest)) = text.split_once(sep) {
            let words = l.split_whitespace().count();
            if (1..=7).contains(&words) && !l.ends_with('.') && !LABEL.is_match(&format!("{l}:")) {
                lead = Some(l.trim().to_owned());
                text = rest.trim().to_owned();
                break;
            }
        }
    }
    let mut parts: Vec<String> = vec![text];
    parts.extend(children.iter().map(|c| c.to_string()));
    for part in &parts {
        let mut role: Option<u8> = None;
        let mut part = part.as_str();
        if let Some(m) = LABEL.find(part) {
            let l = m.as_str().to_lowercase();
            role = Some(
                if l.starts_with("fix")
                    || l.starts_with("sol")
                    || l.starts_with("res")
                    || l.starts_with("what")
                    || l.starts_with("work")
                {
                    2
                } else if l.starts_with("check")
                    || l.starts_with("ver")
                    || l.starts_with("how")
                    || l.starts_with("to ")
                    || l.starts_with("diag")
                    || l.starts_with("test")
                {
                    1
                } else if l.starts_with("answer") || l.starts_with("a") && l.len() <= 3 {
                    3
                } else {
                    0
                },
            );
            part = &part[m.end()..];
        }
        for s in sentences(part) {
            let r = match role {
                Some(3) | None => sentence_role(s),
                Some(r) => r,
            };
            match r {
                1 => verify.push(s.to_owned()),
                2 => fix.push(s.to_owned()),
                _ => cause.push(s.to_owned()),
            }
        }
    }
    let lead_cause = lead.as_deref().map(|l| {
        let l = strip_verb(l);
        let mut c = l.chars();
        c.next().map_or(String::new(), |f| {
            f.to_uppercase().collect::<String>() + c.as_str()
        })
    });
    let join = |v: Vec<String>| {
        let n = v.len();
        (n > 0).then(|| {
            v.iter()
                .map(|s| {
                    let s = capitalise(s);
                    if n > 1 && !s.ends_with(['.', '!', '?', ':']) {
                        format!("{s}.")
                    } else {
                        s
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
    };
    let cause = join(cause).or(lead_cause.clone());
    let slug_src = lead_cause
        .or_else(|| cause.clone())
        .or_else(|| fix.first().cloned())
        .or_else(|| verify.first().cloned())
        .unwrap_or_else(|| "check".into());
    DraftCheck {
        slug: slug(&slug_src, 4),
        cause,
        verify: join(verify),
        fix: join(fix),
    }
}

/// 0 cause (a statement), 1 verify, 2 fix: by the verb the sentence opens
/// with, after any "If …," condition.
fn sentence_role(s: &str) -> u8 {
    let mut t = s.trim().to_lowercase();
    for _ in 0..2 {
        if t.starts_with("if ")
            || t.starts_with("when ")
            || t.starts_with("on ")
            || t.starts_with("in ")
        {
            if let Some((_, rest)) = t.split_once(", ") {
                t = rest.to_owned();
            }
        }
        for filler in [
            "then ",
            "please ",
            "otherwise ",
            "also ",
            "first ",
            "finally ",
        ] {
            if let Some(r) = t.strip_prefix(filler) {
                t = r.to_owned();
            }
        }
    }
    let starts = |v: &&str| t.starts_with(&format!("{v} ")) || t.starts_with(&format!("{v},"));
    if VERIFY_VERBS.iter().any(starts) {
        return 1;
    }
    if FIX_VERBS.iter().any(starts) || t.contains("resolves it") || t.contains("fixes it") {
        return 2;
    }
    0
}

pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

fn strip_verb(l: &str) -> &str {
    let lower = l.to_lowercase();
    for v in [
        "check the ",
        "check that ",
        "check ",
        "verify the ",
        "verify ",
        "confirm the ",
        "confirm ",
    ] {
        if lower.starts_with(v) {
            return &l[v.len()..];
        }
    }
    l
}

/// Sentences of a text; a dot inside a word (`init()`, `app.convot.com`)
/// does not end one.
pub(super) fn sentences(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..b.len() {
        let end = matches!(b[i], b'.' | b'!' | b'?')
            && (i + 1 == b.len() || b[i + 1] == b' ')
            && !text[..i].ends_with("e.g")
            && !text[..i].ends_with("i.e")
            && !text[..i].ends_with("etc");
        if end || i + 1 == b.len() {
            let s = text[start..=i].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = i + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_splits_cause_verify_and_fix() {
        let c = check_from(
            "Your CSP blocks the iframe. Open the console and look for a refusal. Add the origin to script-src.",
            &[],
        );
        assert_eq!(c.cause.as_deref(), Some("Your CSP blocks the iframe."));
        assert_eq!(
            c.verify.as_deref(),
            Some("Open the console and look for a refusal.")
        );
        assert_eq!(c.fix.as_deref(), Some("Add the origin to script-src."));
        let c = check_from(
            "Stale cache",
            &["Check: reload with the cache off", "Fix: purge the CDN"],
        );
        assert_eq!(c.cause.as_deref(), Some("Stale cache"));
        assert_eq!(c.verify.as_deref(), Some("Reload with the cache off"));
        assert_eq!(c.fix.as_deref(), Some("Purge the CDN"));
    }
}
