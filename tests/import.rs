//! `kb import`: the three seed pages drafted and compared with the shipped
//! knowledge base (thresholds, so a regression fails CI), our own pages in
//! Markdown and HTML, re-import, and bad input.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use triage::kb::import::{self, ImportError, ImportOptions, Imported, PageFormat};
use triage::kb::{self, Entry, KnowledgeBase};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> KnowledgeBase {
    kb::load_dir(&root().join("knowledge")).expect("shipped knowledge loads")
}

fn import_file(path: &Path, product: &str) -> Imported {
    let bytes = std::fs::read(path).unwrap();
    let text = import::page_text(&bytes).unwrap();
    let opts = ImportOptions {
        product: product.into(),
        name: None,
        source: path.display().to_string(),
        format: PageFormat::detect(&path.to_string_lossy(), text),
    };
    import::import(text, &opts, None).unwrap()
}

/// Writes the draft alone into a scratch knowledge directory and loads it
/// the way `kb check` does.
fn check_draft(product: &str, yaml: &str) -> (tempfile::TempDir, KnowledgeBase) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(format!("{product}.yaml")), yaml).unwrap();
    let kb =
        kb::load_dir(dir.path()).unwrap_or_else(|e| panic!("draft fails kb check: {e}\n{yaml}"));
    (dir, kb)
}

/// Content words of a text, for pairing imported entries with shipped ones.
fn words(s: &str) -> HashSet<String> {
    const STOP: &[&str] = &[
        "the", "and", "for", "not", "but", "are", "was", "with", "that", "this", "you", "your",
        "can", "its", "has", "have", "from", "any", "all", "one", "does", "doesn", "don", "isn",
        "into", "when", "then", "than", "will", "only", "also", "there", "their", "our", "out",
    ];
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3 && !STOP.contains(w))
        .map(|w| w.trim_end_matches('s').to_owned())
        .collect()
}

fn overlap(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    a.intersection(b).count() as f64 / a.len().min(b.len()) as f64
}

fn entry_text(e: &Entry) -> String {
    let mut s = format!("{} {}", e.title, e.errors.join(" "));
    for c in &e.checks {
        s.push_str(&format!(" {} {} {}", c.cause, c.verify, c.fix));
    }
    s
}

/// What one import found of what the shipped product holds.
#[derive(Debug, Default)]
struct Found {
    entries: (usize, usize),
    checks: (usize, usize),
    errors: (usize, usize),
    statuses: (usize, usize),
    fields: (usize, usize),
    /// Imported entries paired with no shipped entry (duplicates, page furniture).
    extra: usize,
    pairs: Vec<(String, String, f64)>,
}

/// Pairs each shipped entry with at most one imported entry (greedy, best
/// pair first, same HTTP status counts as a pair) and counts what was found.
fn compare(shipped: &KnowledgeBase, product: &str, draft: &KnowledgeBase) -> Found {
    let want: Vec<&Entry> = shipped
        .entries()
        .iter()
        .filter(|e| e.id.product() == product)
        .collect();
    let got: Vec<&Entry> = draft.entries().iter().collect();
    let mut scores = Vec::new();
    for (i, w) in want.iter().enumerate() {
        let wt = words(&entry_text(w));
        for (j, g) in got.iter().enumerate() {
            let mut s = overlap(&wt, &words(&entry_text(g)));
            if !w.statuses.is_empty() && w.statuses.iter().any(|x| g.statuses.contains(x)) {
                s += 1.0;
            }
            scores.push((s, i, j));
        }
    }
    scores.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut used_w, mut used_g) = (HashSet::new(), HashSet::new());
    let mut f = Found::default();
    for (s, i, j) in scores {
        if s < 0.3 || used_w.contains(&i) || used_g.contains(&j) {
            continue;
        }
        used_w.insert(i);
        used_g.insert(j);
        f.pairs
            .push((want[i].id.to_string(), got[j].id.to_string(), s));
        // Checks: a shipped check is found when one imported check of the
        // paired entry shares most of its words.
        let mut taken = HashSet::new();
        for c in &want[i].checks {
            let cw = words(&format!("{} {} {}", c.cause, c.verify, c.fix));
            let best = got[j]
                .checks
                .iter()
                .enumerate()
                .filter(|(k, _)| !taken.contains(k))
                .map(|(k, g)| {
                    (
                        k,
                        overlap(&cw, &words(&format!("{} {} {}", g.cause, g.verify, g.fix))),
                    )
                })
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((k, s)) = best {
                if s >= 0.3 {
                    taken.insert(k);
                    f.checks.0 += 1;
                }
            }
        }
    }
    f.entries = (used_w.len(), want.len());
    f.extra = got.len() - used_g.len();
    f.checks.1 = want.iter().map(|e| e.checks.len()).sum();
    let got_errors: HashSet<String> = got
        .iter()
        .flat_map(|e| e.errors.iter().map(|x| x.to_lowercase()))
        .collect();
    let want_errors: Vec<String> = want
        .iter()
        .flat_map(|e| e.errors.iter().map(|x| x.to_lowercase()))
        .collect();
    f.errors = (
        want_errors
            .iter()
            .filter(|x| got_errors.contains(*x))
            .count(),
        want_errors.len(),
    );
    let got_st: HashSet<u16> = got
        .iter()
        .flat_map(|e| e.statuses.iter().copied())
        .collect();
    let want_st: Vec<u16> = want
        .iter()
        .flat_map(|e| e.statuses.iter().copied())
        .collect();
    f.statuses = (
        want_st.iter().filter(|x| got_st.contains(x)).count(),
        want_st.len(),
    );
    let p = shipped.product(product).unwrap();
    let d = draft.products().first().unwrap();
    let format = |f: &triage::kb::FieldSpec| f.validate.as_ref().and_then(|v| v.format);
    f.fields.1 = p.ticket_fields.len();
    f.fields.0 = p
        .ticket_fields
        .iter()
        .filter(|w| {
            let ww = words(&w.label);
            d.ticket_fields.iter().any(|g| {
                overlap(&ww, &words(&g.label)) >= 0.5
                    || (format(w).is_some() && format(w) == format(g))
            })
        })
        .count();
    f
}

struct Seed {
    product: &'static str,
    /// Minimum share of shipped entries found (the target: 0.9).
    entries: f64,
    checks: f64,
    errors: f64,
    statuses: f64,
    /// Ticket fields the page names that the draft must carry.
    fields: usize,
}

const SEEDS: &[Seed] = &[
    Seed {
        product: "convot",
        entries: 1.0,
        checks: 0.9,
        errors: 1.0,
        statuses: 1.0,
        fields: 3,
    },
    // The page gives one paragraph per problem where the shipped entries
    // split it into several checks, and names no ticket fields.
    Seed {
        product: "widget-sdk",
        entries: 0.9,
        checks: 0.6,
        errors: 0.75,
        statuses: 1.0,
        fields: 0,
    },
    Seed {
        product: "c2c",
        entries: 1.0,
        checks: 0.9,
        errors: 1.0,
        statuses: 1.0,
        fields: 4,
    },
];

fn ratio((a, b): (usize, usize)) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// The comparison behind BENCHMARKS.md ("Import of the seed pages"); run
/// with `cargo test --test import seed_pages -- --nocapture` for the table.
#[test]
fn seed_pages_import_close_to_the_shipped_knowledge() {
    let shipped = shipped();
    let mut failures = Vec::new();
    println!("| page | entries found / shipped | checks found / shipped | error strings | statuses | ticket fields | extra entries |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for s in SEEDS {
        let page = root().join(format!("tests/fixtures/import/seeds/{}.txt", s.product));
        let imported = import_file(&page, s.product);
        let (_dir, draft) = check_draft(s.product, &imported.yaml);
        let f = compare(&shipped, s.product, &draft);
        println!(
            "| {} | {}/{} | {}/{} | {}/{} | {}/{} | {}/{} | {} |",
            s.product,
            f.entries.0,
            f.entries.1,
            f.checks.0,
            f.checks.1,
            f.errors.0,
            f.errors.1,
            f.statuses.0,
            f.statuses.1,
            f.fields.0,
            f.fields.1,
            f.extra
        );
        for (w, g, sc) in &f.pairs {
            eprintln!("  {w} <- {g} ({sc:.2})");
        }
        for (what, got, min) in [
            ("entries", ratio(f.entries), s.entries),
            ("checks", ratio(f.checks), s.checks),
            ("errors", ratio(f.errors), s.errors),
            ("statuses", ratio(f.statuses), s.statuses),
        ] {
            if got < min {
                failures.push(format!("{}: {what} {got:.2} < {min}", s.product));
            }
        }
        if f.fields.0 < s.fields {
            failures.push(format!(
                "{}: ticket fields {} < {}",
                s.product, f.fields.0, s.fields
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Runs `triage --kb DIR match --jsonl` over questions; returns
/// (decision, top id) per question.
fn match_all(dir: &Path, questions: &[&str]) -> Vec<(String, String)> {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .env("TRIAGE_MODEL", "shipped")
        .arg("--kb")
        .arg(dir)
        .args(["match", "--jsonl"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for q in questions {
        input.push_str(&serde_json::json!({ "query": q, "product": null }).to_string());
        input.push('\n');
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let top = v["results"][0]["id"].as_str().unwrap_or("").to_owned();
            (v["decision"].as_str().unwrap().to_owned(), top)
        })
        .collect()
}

/// Our own pages (made-up products, two layouts each): the drafts pass
/// `kb check`, and `triage match` answers a question about every entry.
#[test]
fn own_pages_import_and_every_entry_answers_a_question() {
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (
            "parcelpoint",
            "parcelpoint.md",
            &[
                ("the locker door won't open", "locker-door-does-not-open"),
                ("the app shows Locker offline", "app-says-locker-offline-message"),
                ("I never get notifications from the app", "notifications-never-arrive"),
                ("the courier API returns 401", "401-courier-token-missing-or-expired"),
                ("got a 409 when booking a compartment", "409-locker-compartment-already-booked"),
                ("503 from the locker API", "503-the-locker-bank-is-offline"),
            ],
        ),
        (
            "beamline",
            "beamline.html",
            &[
                ("the viewer only sees a black screen", "why-does-viewer-only-see-black"),
                ("startShare fails with NotAllowedError: Permission denied", "why-does-startshare-fail-with-notallowederror"),
                ("the shared screen is blurry", "why-is-the-shared-screen-blurry"),
                ("the session never connects", "session-never-connects"),
                ("creating a session fails with 403, the project key is not allowed on this origin", "403-project-key-not-allowed-on"),
                ("410: the session has already ended", "410-the-session-has-already-ended"),
            ],
        ),
    ];
    for (product, page, questions) in cases {
        let imported = import_file(
            &root().join("tests/fixtures/import/pages").join(page),
            product,
        );
        let (dir, kb) = check_draft(product, &imported.yaml);
        let ids: HashSet<String> = kb.entries().iter().map(|e| e.id.to_string()).collect();
        let asked: HashSet<String> = questions
            .iter()
            .map(|(_, id)| format!("{product}/{id}"))
            .collect();
        assert_eq!(ids, asked, "every entry of {page} gets a question");
        assert!(
            kb.entries().iter().all(|e| !e.checks.is_empty()),
            "{}",
            imported.yaml
        );
        let qs: Vec<&str> = questions.iter().map(|(q, _)| *q).collect();
        for ((q, id), (decision, top)) in questions.iter().zip(match_all(dir.path(), &qs)) {
            assert_eq!(top, format!("{product}/{id}"), "{q}");
            assert_eq!(decision, "answer", "{q}");
        }
    }
}

#[test]
fn page_layouts_become_checks_errors_statuses_and_fields() {
    let md = import_file(
        &root().join("tests/fixtures/import/pages/parcelpoint.md"),
        "parcelpoint",
    );
    let (_d, kb) = check_draft("parcelpoint", &md.yaml);
    // Numbered causes with Check:/Fix: sub-items are split three ways.
    let door = kb.entry("parcelpoint/locker-door-does-not-open").unwrap();
    assert_eq!(door.checks.len(), 3);
    assert_eq!(
        door.checks[0].cause,
        "Bluetooth is switched off on the phone"
    );
    assert!(door.checks[0].verify.contains("quick settings"));
    assert!(
        door.checks[0].fix.contains("switch Bluetooth on")
            || door.checks[0].fix.contains("Switch Bluetooth on")
    );
    // A cause | how to check | fix table becomes checks.
    let offline = kb
        .entry("parcelpoint/app-says-locker-offline-message")
        .unwrap();
    assert_eq!(offline.errors, ["Locker offline"]);
    assert!(offline
        .checks
        .iter()
        .any(|c| c.verify == "The panel screen is dark"));
    // The status table gives one entry per status.
    let statuses: Vec<u16> = kb
        .entries()
        .iter()
        .flat_map(|e| e.statuses.clone())
        .collect();
    assert_eq!(statuses, [401, 409, 503]);
    // "starts with `PP-`" becomes a prefix rule; "including the timezone" a timestamp.
    let p = &kb.products()[0];
    assert!(p.ticket_fields[0].check("PP-1234").is_ok());
    assert!(p.ticket_fields[0].check("1234").is_err());
    assert!(p
        .ticket_fields
        .iter()
        .any(|f| f.check("yesterday").is_err() && f.check("14:05 CET").is_ok()));
    // Where the page is silent the draft says so instead of guessing.
    assert!(md
        .yaml
        .contains("# TODO: the page does not say how to check this"));
    assert!(md.report.contains("Add customer phrasings"));

    let html = import_file(
        &root().join("tests/fixtures/import/pages/beamline.html"),
        "beamline",
    );
    let (_d, kb) = check_draft("beamline", &html.yaml);
    let e = kb
        .entry("beamline/why-does-startshare-fail-with-notallowederror")
        .unwrap();
    assert_eq!(e.errors, ["NotAllowedError: Permission denied"]);
    let blurry = kb
        .entry("beamline/why-is-the-shared-screen-blurry")
        .unwrap();
    assert!(
        blurry.checks[0].verify.contains("quality"),
        "nested items: {:?}",
        blurry.checks[0]
    );
    assert!(kb.products()[0].ticket_fields[0]
        .check("bl_live_abc")
        .is_ok());
    for secret in [
        "SECRET_TRACKING_TOKEN",
        "analytics",
        "do not import",
        "tracker",
        "Home",
    ] {
        assert!(
            !html.yaml.contains(secret) && !html.report.contains(secret),
            "{secret} leaked"
        );
    }
}

#[test]
fn reimport_keeps_ids_the_editor_chose_and_only_shows_changes() {
    let page =
        std::fs::read_to_string(root().join("tests/fixtures/import/pages/parcelpoint.md")).unwrap();
    let opts = ImportOptions {
        product: "parcelpoint".into(),
        name: Some("Parcelpoint".into()),
        source: "parcelpoint.md".into(),
        format: PageFormat::Markdown,
    };
    let first = import::import(&page, &opts, None).unwrap();
    // Same page again: the same file, byte for byte.
    let again = import::import(&page, &opts, Some(&first.yaml)).unwrap();
    assert_eq!(first.yaml, again.yaml);
    // The editor renames an entry and a check; the page gains a section.
    let edited = first
        .yaml
        .replace(
            "parcelpoint/locker-door-does-not-open",
            "parcelpoint/door-stuck",
        )
        .replace("id: bluetooth-switched-off-on", "id: bluetooth");
    let changed = page.replace("## Still need help?", "## The screen stays blank\n\nThe app is out of date. Update it from the store.\n\n## Still need help?");
    let second = import::import(&changed, &opts, Some(&edited)).unwrap();
    assert!(second.yaml.contains("parcelpoint/door-stuck"));
    assert!(second.yaml.contains("id: bluetooth\n"));
    assert!(second.yaml.contains("parcelpoint/screen-stays-blank"));
    check_draft("parcelpoint", &second.yaml);

    // The command shows a diff and writes nothing when the file exists.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parcelpoint.yaml");
    std::fs::write(&out, &edited).unwrap();
    let page_path = dir.path().join("page.md");
    std::fs::write(&page_path, &changed).unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .env("TRIAGE_MODEL", "shipped")
        .args(["kb", "import"])
        .arg(&page_path)
        .args(["--product", "parcelpoint", "--name", "Parcelpoint", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("+  - id: parcelpoint/screen-stays-blank"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("-  - id: parcelpoint/door-stuck"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        edited,
        "nothing overwritten"
    );
}

fn opts(format: PageFormat) -> ImportOptions {
    ImportOptions {
        product: "acme".into(),
        name: None,
        source: "test".into(),
        format,
    }
}

#[test]
fn bad_pages_get_a_clear_error_or_a_draft_never_a_panic() {
    // Empty and whitespace-only.
    assert_eq!(import::page_text(b""), Err(ImportError::Empty));
    assert_eq!(import::page_text(b" \n\t\n"), Err(ImportError::Empty));
    // Binary: a PNG header, and bytes that are not UTF-8.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    assert!(matches!(
        import::page_text(png),
        Err(ImportError::Binary(_))
    ));
    assert!(matches!(
        import::page_text(&[0xff, 0xfe, 0x41, 0x42]),
        Err(ImportError::Binary(_))
    ));
    // No headings, in every format.
    for (f, src) in [
        (
            PageFormat::Markdown,
            "Just a paragraph of text.\n\nAnd another one.",
        ),
        (
            PageFormat::Html,
            "<html><body><p>Just text.</p><p>More text.</p></body></html>",
        ),
        (
            PageFormat::Text,
            "this page has only sentences.\nnothing else is here.\n",
        ),
    ] {
        let err = import::import(src, &opts(f), None).unwrap_err();
        assert!(matches!(err, ImportError::NoSections(_)), "{f:?}: {err}");
        assert!(err.to_string().contains("no headings"), "{err}");
    }
    // HTML that is only scripts.
    let err = import::import(
        "<html><head><script>alert(1)</script></head><body><script>x()</script></body></html>",
        &opts(PageFormat::Html),
        None,
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::NoSections(_)), "{err}");
    // A bad product id.
    assert!(matches!(
        import::import(
            "# A\n\n## B\n\nc.",
            &ImportOptions {
                product: "Bad Id".into(),
                ..opts(PageFormat::Markdown)
            },
            None
        ),
        Err(ImportError::BadProduct(_))
    ));
    // Over the limit.
    let big = vec![b'a'; import::MAX_PAGE_BYTES + 1];
    assert!(matches!(
        import::page_text(&big),
        Err(ImportError::TooLarge { .. })
    ));
}

/// A 5 MB page: mostly inline scripts and style, as documentation pages
/// with bundled JavaScript are, around a real problem section.
#[test]
fn a_five_megabyte_page_with_scripts_drafts_without_script_text() {
    let mut page =
        String::from("<html><head><style>body{color:red}</style></head><body><h1>Help</h1>");
    let script =
        "<script>var leaked_script_marker = 'x'.repeat(10); function f(){ return 1 }</script>\n";
    while page.len() < 5 * 1024 * 1024 {
        page.push_str(script);
        page.push_str("<p>Filler paragraph between scripts.</p>\n");
    }
    page.push_str("<h2>Uploads fail</h2><ul><li>The file is over 10 MB. Check the size in the file dialog. Compress it before uploading.</li></ul>");
    page.push_str("<h2>Contact support</h2><p>Contact us with:</p><ul><li>Your account id (starts with acc_)</li></ul></body></html>");
    let text = import::page_text(page.as_bytes()).unwrap();
    let imported = import::import(text, &opts(PageFormat::Html), None).unwrap();
    assert!(!imported.yaml.contains("leaked_script_marker"));
    assert!(!imported.report.contains("leaked_script_marker"));
    let (_d, kb) = check_draft("acme", &imported.yaml);
    let e = kb.entry("acme/uploads-fail").unwrap();
    assert_eq!(e.checks[0].fix, "Compress it before uploading.");
}
