//! The real binary: `triage chat` and `triage run` with `TRIAGE_NOW`. A
//! SIGKILL with a stale ping due during the downtime, a close request and
//! the survey answered in words, and bad support hours stopping startup.

use super::*;

const BOT_CONFIG: &str = "\
support_role_id: 222
staff_channel_id: 333
lifecycle:
  stale_after: 48h
  auto_close_after: 24h
";

fn triage_at(dir: &Path, now: OffsetDateTime) -> std::process::Command {
    let mut c = crate::cli::triage(&dir.join("triage.db"));
    c.env(
        "TRIAGE_NOW",
        now.format(&time::format_description::well_known::Rfc3339)
            .unwrap(),
    );
    c
}

fn chat_at(dir: &Path, now: OffsetDateTime, lines: &[&str]) -> String {
    let out = crate::cli::feed(
        triage_at(dir, now)
            .args(["chat", "--product", "c2c", "--user", "ann", "--config"])
            .arg(dir.join("triage.yaml")),
        lines,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const FILE_A_TICKET: &[&str] = &[
    "the microphone permission is blocked in the call widget, callers can't talk",
    "escalate",
    "c2c-app-4821",
    "Chrome 131 on Windows 11",
    "2026-03-01 14:05 CET",
    "Open the contact page, press call, allow the microphone: the agent hears nothing",
];

#[cfg(unix)]
#[test]
fn sigkill_with_a_stale_ping_due_during_the_downtime_pings_once_after_restart() {
    use std::io::{BufRead, Write};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("triage.yaml"), BOT_CONFIG).unwrap();
    let text = chat_at(dir.path(), START, FILE_A_TICKET);
    assert!(text.contains("Ticket #1"), "{text}");

    // A session an hour later: the customer writes (the stale clock
    // restarts: due at +49 h), then the process is killed with SIGKILL.
    let mut child = triage_at(dir.path(), START + Duration::hours(1))
        .args(["chat", "--product", "c2c", "--user", "ann", "--config"])
        .arg(dir.path().join("triage.yaml"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "any news on my ticket?").unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // The line is handled once its transcript echo and its answer are out.
    let mut seen = String::new();
    while let Some(Ok(l)) = lines.next() {
        seen.push_str(&l);
        seen.push('\n');
        if l.contains("any news on my ticket?") {
            break;
        }
    }
    for l in lines.by_ref().take(1) {
        seen.push_str(&l.unwrap());
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    drop(stdin);

    // Down until +60 h: the ping due at +49 h fires at the restart, once.
    let first = chat_at(dir.path(), START + Duration::hours(60), &[]);
    assert_eq!(first.matches("Are you still there?").count(), 1, "{first}");
    let second = chat_at(dir.path(), START + Duration::hours(60), &[]);
    assert!(!second.contains("Are you still there?"), "{second}");

    let store = SqliteStore::open(&dir.path().join("triage.db")).unwrap();
    let timers = store.timers(None).unwrap();
    let stale_done: Vec<_> = timers
        .iter()
        .filter(|t| t.kind == TimerKind::StalePing && t.state == TimerState::Done)
        .collect();
    assert_eq!(stale_done.len(), 1, "{timers:?}");
    assert_eq!(
        stale_done[0].due_at,
        START + Duration::hours(49),
        "the customer's message restarted the clock"
    );
    assert!(timers
        .iter()
        .any(|t| t.kind == TimerKind::AutoClose && t.state == TimerState::Pending));
}

#[test]
fn chat_answers_a_close_request_and_the_survey_with_words() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("triage.yaml"), BOT_CONFIG).unwrap();
    chat_at(dir.path(), START, FILE_A_TICKET);
    let out = triage_at(dir.path(), START + Duration::hours(2))
        .args([
            "tickets",
            "close-request",
            "1",
            "--by",
            "sam",
            "--reason",
            "fixed in 2.3",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("close · keep open"), "{said}");

    let text = chat_at(
        dir.path(),
        START + Duration::hours(3),
        &["close", "rate 5", "rate 2", "comment fast and friendly"],
    );
    assert!(text.contains("closed by ann: fixed in 2.3"), "{text}");
    assert!(text.contains("rate 1 · rate 2"), "{text}");
    assert!(
        text.contains("Thank you for rating ticket #1 5/5"),
        "{text}"
    );
    assert!(text.contains("already rated"), "{text}");
    assert!(text.contains("Thank you for the comment"), "{text}");
    let store = SqliteStore::open(&dir.path().join("triage.db")).unwrap();
    let s = &store.surveys().unwrap()[0];
    assert_eq!(s.rating, Some(5));
    assert_eq!(s.comment.as_deref(), Some("fast and friendly"));
    let out = triage_at(dir.path(), START + Duration::hours(3))
        .args(["report", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["service"]["by_product"]["c2c"]["rated"], 1, "{v}");
    assert_eq!(v["service"]["overall"]["ratings"][4], 1, "{v}");
}

#[test]
fn bad_support_hours_stop_startup_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (hours, key) in [
        (
            "  timezone: Mars/Olympus\n  weekly: {mon: [\"09:00-17:00\"]}\n",
            "support_hours.timezone",
        ),
        (
            "  timezone: Europe/Berlin\n  weekly: {mon: [\"09:00-12:00\", \"11:00-13:00\"]}\n",
            "support_hours.weekly.mon",
        ),
        (
            "  timezone: Europe/Berlin\n  weekly: {mon: [\"9-17\"]}\n",
            "support_hours.weekly.mon[0]",
        ),
    ] {
        let cfg = format!("support_role_id: 222\nstaff_channel_id: 333\nsupport_hours:\n{hours}");
        std::fs::write(dir.path().join("triage.yaml"), cfg).unwrap();
        let out = triage_at(dir.path(), START)
            .args(["run", "--config"])
            .arg(dir.path().join("triage.yaml"))
            .env("DISCORD_TOKEN", "not-used")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(err.contains(key), "{key}: {err}");
    }
}
