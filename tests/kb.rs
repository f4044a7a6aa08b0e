//! The knowledge base as shipped, and the loader's error reports on broken
//! fixture directories (`tests/fixtures/kb/*`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use triage::kb::{self, KbError, KnowledgeBase};

fn shipped() -> KnowledgeBase {
    kb::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge"))
        .unwrap_or_else(|e| panic!("shipped knowledge base must load: {e}"))
}

/// The ids fixed by the design: the keys under each product in
/// `eval/entries.yaml`, kept as a copy so the test runs from a clean clone.
const FIXED_IDS: &str = include_str!("fixtures/entry-ids.txt");

#[test]
fn shipped_knowledge_has_exactly_the_fixed_ids() {
    let kb = shipped();
    let got: BTreeSet<&str> = kb.entries().iter().map(|e| e.id.as_str()).collect();
    let want: BTreeSet<&str> = FIXED_IDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(want.len(), 40);
    assert_eq!(got, want);
    assert_eq!(kb.entries().len(), 40, "no id twice");
}

#[test]
fn every_shipped_entry_has_checks_or_is_escalate_only() {
    let kb = shipped();
    for e in kb.entries() {
        assert!(
            !e.checks.is_empty() || e.escalate_only,
            "{} has no checks and is not escalate-only",
            e.id
        );
        assert!(
            e.symptoms.len() >= 3,
            "{} needs several symptom phrasings",
            e.id
        );
    }
    let silent = kb.entry("convot/bot-not-replying").expect("entry exists");
    assert!(silent.escalate_only && silent.checks.is_empty());
}

#[test]
fn every_shipped_product_has_ticket_fields() {
    let kb = shipped();
    let ids: BTreeSet<&str> = kb.products().iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, BTreeSet::from(["c2c", "convot", "widget-sdk"]));
    for p in kb.products() {
        assert!(
            p.ticket_fields.len() >= 3,
            "{} has too few ticket fields",
            p.id
        );
        for f in &p.ticket_fields {
            assert!(!f.question.trim().is_empty() && !f.example.trim().is_empty());
            assert!(
                f.check(&f.example).is_ok(),
                "{}/{}: the example must pass its own validation",
                p.id,
                f.id
            );
        }
    }
    let convot = kb.product("convot").unwrap();
    let key = convot
        .ticket_fields
        .iter()
        .find(|f| f.check("app_123abc").is_ok() && f.check("123abc").is_err());
    assert!(
        key.is_some(),
        "convot asks for an app key starting with app_"
    );
    let c2c = kb.product("c2c").unwrap();
    assert!(
        c2c.ticket_fields
            .iter()
            .any(|f| f.check("yesterday afternoon").is_err()
                && f.check("2026-11-20 14:05 CET").is_ok()),
        "c2c asks when it happened, with a timezone"
    );
}

fn problems(dir: &str) -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kb")
        .join(dir);
    match kb::load_dir(&path) {
        Ok(_) => panic!("{dir} must not load"),
        Err(KbError::Invalid(ps)) => ps
            .iter()
            .map(|p| {
                let file = p.span.path.file_name().unwrap().to_string_lossy();
                format!("{file}:{}:{}: {}", p.span.line, p.span.col, p.message)
            })
            .collect(),
        Err(e) => panic!("{dir}: unexpected error {e}"),
    }
}

#[test]
fn bad_yaml_names_file_and_line() {
    let ps = problems("bad-yaml");
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert!(ps[0].starts_with("acme.yaml:13:"), "{ps:?}");
}

#[test]
fn unknown_key_names_the_key_and_line() {
    let ps = problems("unknown-key");
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert!(ps[0].starts_with("acme.yaml:13:5:"), "{ps:?}");
    assert!(ps[0].contains("unknown field `symptons`"), "{ps:?}");
}

#[test]
fn duplicate_id_points_at_the_second_definition() {
    let ps = problems("duplicate-id");
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert!(ps[0].starts_with("acme.yaml:20:"), "{ps:?}");
    assert!(
        ps[0].contains("duplicate entry id 'acme/blank'") && ps[0].contains(":11"),
        "{ps:?}"
    );
}

#[test]
fn dangling_reference_points_at_the_related_line() {
    let ps = problems("dangling-ref");
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert!(ps[0].starts_with("acme.yaml:19:"), "{ps:?}");
    assert!(
        ps[0].contains("'acme/fast', which does not exist"),
        "{ps:?}"
    );
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let ps = problems("many-problems");
    let expect = [
        ("acme.yaml:10:", "pattern that does not compile"),
        ("acme.yaml:13:", "empty title"),
        ("acme.yaml:21:", "has no checks"),
        ("acme.yaml:24:", "'acme/gone', which does not exist"),
        ("other.yaml:10:", "unknown product 'ghost'"),
    ];
    assert_eq!(ps.len(), expect.len(), "{ps:#?}");
    for ((at, what), got) in expect.iter().zip(&ps) {
        assert!(
            got.starts_with(at) && got.contains(what),
            "expected {at} {what}, got {got}"
        );
    }
}

#[test]
fn kb_check_exits_1_with_one_problem_per_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_triage"))
        .env("TRIAGE_MODEL", "shipped")
        .args(["kb", "check", "--kb", "tests/fixtures/kb/many-problems"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let located: Vec<&str> = err.lines().filter(|l| l.contains(".yaml:")).collect();
    assert_eq!(located.len(), 5, "{err}");
    for l in located {
        let mut parts = l.splitn(4, ':');
        let (_, line, col) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        assert!(
            line.parse::<usize>().is_ok() && col.parse::<usize>().is_ok(),
            "not file:line:col: {l}"
        );
    }
}

#[test]
fn kb_list_json_gives_the_forty_ids_and_check_counts() {
    let out = Command::new(env!("CARGO_BIN_EXE_triage"))
        .env("TRIAGE_MODEL", "shipped")
        .args(["kb", "list", "--json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items.len(), 40);
    let kb = shipped();
    for it in &items {
        let id = it["id"].as_str().unwrap();
        let e = kb.entry(id).unwrap();
        assert_eq!(it["product"], e.id.product());
        assert_eq!(it["title"], e.title.as_str());
        assert_eq!(it["checks"], e.checks.len());
    }
}

#[test]
fn kb_show_renders_the_checklist_in_order() {
    let out = Command::new(env!("CARGO_BIN_EXE_triage"))
        .env("TRIAGE_MODEL", "shipped")
        .args(["kb", "show", "c2c/no-audio"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let kb = shipped();
    let e = kb.entry("c2c/no-audio").unwrap();
    assert!(text.starts_with(&e.title));
    let mut at = 0;
    for (i, c) in e.checks.iter().enumerate() {
        let pos = text[at..]
            .find(&format!("{}. {}", i + 1, c.cause))
            .expect("checks in order");
        at += pos;
    }
    let missing = Command::new(env!("CARGO_BIN_EXE_triage"))
        .env("TRIAGE_MODEL", "shipped")
        .args(["kb", "show", "c2c/nope"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no entry 'c2c/nope'"));
}

#[test]
fn parse_str_is_pure_and_reports_the_origin() {
    let err = kb::parse_str("product: [", Path::new("somewhere/x.yaml")).unwrap_err();
    assert_eq!(err.len(), 1);
    assert!(
        err[0].to_string().starts_with("somewhere/x.yaml:"),
        "{}",
        err[0]
    );
}

/// Each problem as "line: message".
fn line_messages(ps: &[kb::Problem]) -> Vec<String> {
    ps.iter()
        .map(|p| format!("{}: {}", p.span.line, p.message))
        .collect()
}

#[test]
fn out_of_scope_topics_are_validated_like_entries() {
    // An unknown key is a YAML error: it is reported alone, with its line.
    let ps = problems("bad-out-of-scope");
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert!(
        ps[0].starts_with("out-of-scope.yaml:16:") && ps[0].contains("unknown field `examples`"),
        "{ps:?}"
    );
    // Without it, every other problem is reported.
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/kb/bad-out-of-scope/out-of-scope.yaml"),
    )
    .unwrap();
    let src = src.replace("    examples: [a key the loader does not know]\n", "");
    let ps = kb::parse_out_of_scope(&src, Path::new("out-of-scope.yaml")).unwrap_err();
    let got = line_messages(&ps);
    assert_eq!(
        got,
        [
            "6: duplicate out-of-scope topic id 'billing'",
            "10: out-of-scope topic 'styling' has an empty title",
            "10: out-of-scope topic 'styling' needs at least one phrasing",
        ],
        "{got:?}"
    );
}

#[test]
fn shipped_out_of_scope_topics_load() {
    let kb = shipped();
    let ids: Vec<&str> = kb.out_of_scope().iter().map(|t| t.id.as_str()).collect();
    assert!(
        ids.contains(&"account-access") && ids.contains(&"billing"),
        "{ids:?}"
    );
    assert!(kb.out_of_scope().iter().all(|t| !t.phrasings.is_empty()));
}

#[test]
fn synonym_problems_point_at_their_lines() {
    let src = "groups:\n  - [mic, microphone]\n  - [audio, sound]\n  - [mic, micro]\n  - [lonely]\nstopwords: [the, sound]\ntrouble: [the]\n";
    let ps = kb::parse_synonyms(src, Path::new("synonyms.yaml")).unwrap_err();
    let got = line_messages(&ps);
    assert_eq!(
        got,
        [
            "4: 'mic' is in synonym groups 1 and 3; a word can mean only one thing",
            "5: synonym group 4 needs at least two words",
            "6: 'sound' is a stopword and in synonym group 2; pick one",
            "7: 'the' is both a stopword and a trouble word; pick one",
        ],
        "{got:?}"
    );
}
