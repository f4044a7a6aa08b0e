//! Writing a draft: the product file in the shipped format (every string
//! double-quoted, a `# TODO` wherever the page is silent) and the review
//! report an editor reads before shipping it.

use std::fmt::Write;

use super::{Draft, FieldRule, ImportOptions};

/// A YAML double-quoted scalar.
pub fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn yaml(d: &Draft, o: &ImportOptions) -> String {
    let mut y = String::new();
    let p = &o.product;
    let _ = writeln!(
        y,
        "# Draft imported by `triage kb import` from {}.",
        one_line(&o.source)
    );
    y.push_str("# Facts and wording are the page's own. Each `# TODO` marks something the\n");
    y.push_str("# page does not say: fill it in from what you know, or leave it out.\n");
    y.push_str("# Add the ways customers describe each problem under `symptoms`.\n\n");
    y.push_str("product:\n");
    let _ = writeln!(y, "  id: {p}");
    match &o.name {
        Some(n) => {
            let _ = writeln!(y, "  name: {}", q(n));
        }
        None => {
            let _ = writeln!(
                y,
                "  name: {}  # TODO: the product's name as customers know it (pass --name)",
                q(p)
            );
        }
    }
    y.push_str("  aliases: []  # TODO: words customers use for the product (domains, SDK names)\n");
    y.push_str("  docs: null\n");
    y.push_str("  ticket_fields:\n");
    if d.fields.is_empty() {
        y.push_str("    # TODO: the page names nothing support needs; replace this placeholder.\n");
        y.push_str("    - id: description\n      label: \"Description\"\n      question: \"What happens, and what did you expect?\"\n      example: \"\"\n      validate:\n        min_len: 10\n        reason: \"please describe it in a sentence (at least 10 characters)\"\n");
    }
    for f in &d.fields {
        let _ = writeln!(y, "    # The page: {}", one_line(&f.source));
        let _ = writeln!(y, "    - id: {}", f.id);
        let _ = writeln!(y, "      label: {}", q(&f.label));
        let _ = writeln!(
            y,
            "      question: {}",
            q(&format!("Please send: {}.", f.source))
        );
        let (example, validate) = match &f.rule {
            Some(FieldRule::Prefix(pre)) => (
                format!("{pre}..."),
                format!(
                    "      validate:\n        prefix: {}\n        min_len: {}\n        reason: {}\n",
                    q(pre),
                    pre.chars().count() + 1,
                    q(&format!("it starts with `{pre}`"))
                ),
            ),
            Some(FieldRule::Url) => (
                "https://example.com/page".into(),
                "      validate:\n        format: url\n        reason: \"a full URL including https://\"\n".into(),
            ),
            Some(FieldRule::TimeZone) => (
                "2026-11-20 14:05 CET".into(),
                "      validate:\n        format: timestamp_tz\n        reason: \"the time with its timezone, e.g. 14:05 CET\"\n".into(),
            ),
            Some(FieldRule::Prose) => (
                String::new(),
                "      validate:\n        min_len: 10\n        reason: \"describe it in a sentence (at least 10 characters)\"\n".into(),
            ),
            None => (String::new(), String::new()),
        };
        if example.is_empty() {
            y.push_str("      example: \"\"  # TODO: an example answer\n");
        } else {
            let _ = writeln!(y, "      example: {}", q(&example));
        }
        y.push_str(&validate);
    }
    y.push_str("\nentries:\n");
    for e in &d.entries {
        if e.rebuilt {
            y.push_str(
                "  # The page lost this heading; the title is the paragraph's first sentence.\n",
            );
        }
        let _ = writeln!(y, "  - id: {p}/{}", e.slug);
        let _ = writeln!(y, "    title: {}", q(&e.title));
        y.push_str("    symptoms:\n");
        for s in &e.symptoms {
            let _ = writeln!(y, "      - {}", q(s));
        }
        y.push_str("      # TODO: how customers describe this, in their own words\n");
        if e.errors.is_empty() {
            y.push_str("    errors: []\n");
        } else {
            y.push_str("    errors:\n");
            for x in &e.errors {
                let _ = writeln!(y, "      - {}", q(x));
            }
        }
        let statuses: Vec<String> = e.statuses.iter().map(u16::to_string).collect();
        let _ = writeln!(y, "    statuses: [{}]", statuses.join(", "));
        if e.checks.is_empty() {
            y.push_str("    # TODO: the page gives no checks for this problem: add them, or keep it going\n");
            y.push_str("    # straight to escalation.\n");
            y.push_str("    escalate_only: true\n");
            y.push_str("    note: \"There is no self-service check for this; support will look into it.\"\n");
            y.push_str("    checks: []\n");
        } else {
            y.push_str("    escalate_only: false\n");
            y.push_str("    note: null\n");
            y.push_str("    checks:\n");
            for c in &e.checks {
                let _ = writeln!(y, "      - id: {}", c.slug);
                for (key, v, todo) in [
                    ("cause", &c.cause, "the page does not name the cause"),
                    (
                        "verify",
                        &c.verify,
                        "the page does not say how to check this",
                    ),
                    ("fix", &c.fix, "the page does not say what fixes it"),
                ] {
                    match v {
                        Some(v) => {
                            let _ = writeln!(y, "        {key}: {}", q(v));
                        }
                        None => {
                            let _ = writeln!(y, "        {key}: \"\"  # TODO: {todo}");
                        }
                    }
                }
            }
        }
        if e.related.is_empty() {
            y.push_str("    related: []\n");
        } else {
            y.push_str("    related:\n");
            for r in &e.related {
                let _ = writeln!(y, "      - {p}/{r}");
            }
        }
        y.push('\n');
    }
    y
}

pub fn report(d: &Draft, o: &ImportOptions) -> String {
    let mut r = String::new();
    let checks: usize = d.entries.iter().map(|e| e.checks.len()).sum();
    let errors: usize = d.entries.iter().map(|e| e.errors.len()).sum();
    let statuses: usize = d.entries.iter().map(|e| e.statuses.len()).sum();
    let _ = writeln!(
        r,
        "Import of {} as product '{}'",
        one_line(&o.source),
        o.product
    );
    let _ = writeln!(
        r,
        "  {} entries, {checks} checks, {errors} error strings, {statuses} statuses, {} ticket fields",
        d.entries.len(),
        d.fields.len()
    );
    let bare: Vec<&str> = d
        .entries
        .iter()
        .filter(|e| e.checks.is_empty())
        .map(|e| e.slug.as_str())
        .collect();
    if !bare.is_empty() {
        let _ = writeln!(
            r,
            "\nEntries without checks (marked escalate_only; add checks if there are any):"
        );
        for b in bare {
            let _ = writeln!(r, "  - {}/{b}", o.product);
        }
    }
    let gaps: Vec<String> = d
        .entries
        .iter()
        .flat_map(|e| {
            e.checks
                .iter()
                .filter(|c| c.cause.is_none() || c.verify.is_none() || c.fix.is_none())
                .map(move |c| {
                    let missing: Vec<&str> =
                        [("cause", &c.cause), ("verify", &c.verify), ("fix", &c.fix)]
                            .into_iter()
                            .filter(|(_, v)| v.is_none())
                            .map(|(k, _)| k)
                            .collect();
                    format!(
                        "{}/{} check {}: no {}",
                        o.product,
                        e.slug,
                        c.slug,
                        missing.join(", ")
                    )
                })
        })
        .collect();
    if !gaps.is_empty() {
        let _ = writeln!(
            r,
            "\nChecks the page leaves incomplete ({}; each is a `# TODO`):",
            gaps.len()
        );
        for g in gaps {
            let _ = writeln!(r, "  - {g}");
        }
    }
    if !d.report.unplaced.is_empty() {
        let _ = writeln!(r, "\nNot placed:");
        for u in &d.report.unplaced {
            let _ = writeln!(r, "  - {u}");
        }
    }
    if !d.report.notes.is_empty() {
        let _ = writeln!(r, "\nNotes:");
        for n in &d.report.notes {
            let _ = writeln!(r, "  - {n}");
        }
    }
    let _ = writeln!(
        r,
        "\nAdd customer phrasings (each entry has only what the page's heading says):"
    );
    for e in &d.entries {
        let _ = writeln!(
            r,
            "  - {}/{} ({} symptom(s))",
            o.product,
            e.slug,
            e.symptoms.len()
        );
    }
    r
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}
