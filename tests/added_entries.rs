//! Matching with entries the fitted parameters have never seen: an entry
//! added to the knowledge base since the last `triage fit` has no
//! labelled questions, prototypes or classifier row yet, and must still be
//! found by its own words, beside the entries the fit learned.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use triage::kb::{self, KnowledgeBase};
use triage::matcher::{Decision, Matcher, Query};

fn knowledge() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge")
}

/// A copy of the shipped knowledge base in `dir` (its fitted parameters
/// included) where every entry of `product` has a new id, so the fit
/// knows none of them. Returns the renamed entries' new ids and titles.
fn with_product_added_since_the_fit(dir: &Path, product: &str) -> Vec<(String, String)> {
    let shipped = kb::load_dir(&knowledge()).expect("shipped knowledge base loads");
    let renamed: Vec<(String, String, String)> = shipped
        .entries()
        .iter()
        .filter(|e| e.id.product() == product)
        .map(|e| {
            let id = e.id.to_string();
            (id.clone(), format!("{id}-added"), e.title.clone())
        })
        .collect();
    assert!(renamed.len() >= 3, "{product} has entries to rename");
    for file in fs::read_dir(knowledge()).expect("knowledge/ lists") {
        let path = file.expect("entry").path();
        let mut bytes = fs::read(&path).expect("reads");
        if path.extension().is_some_and(|x| x == "yaml") {
            let mut text = String::from_utf8(bytes).expect("YAML is UTF-8");
            for (old, new, _) in &renamed {
                text = text.replace(old.as_str(), new);
            }
            bytes = text.into_bytes();
        }
        fs::write(dir.join(path.file_name().expect("a file")), bytes).expect("writes");
    }
    renamed
        .into_iter()
        .map(|(_, new, title)| (new, title))
        .collect()
}

fn ask(m: &Matcher, text: &str) -> (Decision, Option<String>) {
    let r = m.find(&Query {
        text,
        product: None,
        among: None,
    });
    (r.decision, r.results.first().map(|c| c.id.to_string()))
}

#[test]
fn entries_added_since_the_fit_are_found_by_their_own_words() {
    let dir = tempfile::tempdir().unwrap();
    let added = with_product_added_since_the_fit(dir.path(), "convot");
    let kb: KnowledgeBase = kb::load_dir(dir.path()).expect("the edited copy loads");
    for (id, _) in &added {
        assert!(kb.entries().iter().any(|e| e.id.as_str() == id), "{id}");
    }
    let m = Matcher::new(Arc::new(kb)).expect("index builds");
    // Each added entry's own title finds it, as the title of an entry the
    // fit learned finds that one.
    for (id, title) in &added {
        let (decision, top) = ask(&m, title);
        assert_ne!(decision, Decision::None, "{title}: refused");
        assert_eq!(top.as_deref(), Some(id.as_str()), "{title}");
    }
    // The entries the fit learned keep their questions, and a question
    // about none of them is still refused.
    let (_, top) = ask(&m, "the agent can't hear me on the click to call widget");
    assert_eq!(top.as_deref(), Some("c2c/no-audio"));
    let (decision, _) = ask(&m, "how do I download last month's invoice?");
    assert_eq!(decision, Decision::None);
}

#[test]
fn kb_check_names_the_entries_added_since_the_fit() {
    let check = |dir: &Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
            .args(["kb", "check", "--kb"])
            .arg(dir)
            .output()
            .expect("triage runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let shipped = check(&knowledge());
    assert!(!shipped.contains("note:"), "{shipped}");
    let dir = tempfile::tempdir().unwrap();
    let added = with_product_added_since_the_fit(dir.path(), "convot");
    let edited = check(dir.path());
    let note = edited
        .lines()
        .find(|l| l.starts_with("note:"))
        .unwrap_or_else(|| panic!("no note in {edited}"));
    assert!(
        note.contains(&format!("{} entries added since the last", added.len())),
        "{note}"
    );
    for (id, _) in &added {
        assert!(note.contains(id.as_str()), "{id} missing from {note}");
    }
}
