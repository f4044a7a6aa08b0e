//! `triage chat` and `triage tickets` as a user runs them: the real binary,
//! the shipped knowledge base, piped stdin. Includes a SIGKILL in the middle
//! of an escalation and a session cut off by end of input.

#[path = "support/cli.rs"]
mod cli;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use cli::{feed, triage};

/// A scratch directory (removed when dropped) and the database path in it.
fn scratch_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("triage.db");
    (dir, db)
}

/// `triage chat` as `user` in the c2c product, not started yet.
fn chat_as(db: &Path, user: &str) -> Command {
    let mut c = triage(db);
    c.args(["chat", "--product", "c2c", "--user", user]);
    c
}

/// Runs `triage chat` with `lines` as stdin, to the end.
fn chat(db: &Path, user: &str, lines: &[&str]) -> Output {
    let out = feed(&mut chat_as(db, user), lines);
    assert!(
        out.status.success(),
        "chat failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `triage ARGS` on `db` to the end, whatever its exit.
fn run(db: &Path, args: &[&str]) -> Output {
    triage(db).args(args).output().unwrap()
}

/// Runs `triage ARGS` on `db`, which must succeed (else fails with its
/// stderr).
#[track_caller]
fn run_ok(db: &Path, args: &[&str]) -> Output {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `out`'s stdout, parsed as JSON.
fn stdout_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `triage tickets list --json`, which must succeed.
fn tickets_json(db: &Path) -> serde_json::Value {
    stdout_json(&run_ok(db, &["tickets", "list", "--json"]))
}

/// A chat process fed line by line, its stdout read as it comes.
struct Live {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    seen: String,
}

impl Live {
    fn start(db: &Path, user: &str) -> Self {
        let mut child = chat_as(db, user)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
            seen: String::new(),
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Waits until a line containing `marker` is printed (no sleeping: the
    /// output is the signal).
    fn wait_for(&mut self, marker: &str) {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                    if line.contains(marker) {
                        return;
                    }
                }
                Err(e) => panic!("no {marker:?} ({e}); output so far:\n{}", self.seen),
            }
        }
    }
}

const QUESTION: &str =
    "the microphone permission is blocked in the call widget, callers can't talk";

/// Eve's session: `escalate` straight away, then the four ticket fields.
const EVE_ESCALATES: &[&str] = &[
    "escalate",
    "c2c-app-1",
    "Edge 131 on Windows 10",
    "10:00 CET",
    "Press call, wait, nothing happens at all",
];

#[test]
fn a_piped_session_files_exactly_one_complete_ticket() {
    let (_dir, db) = scratch_db();
    let out = chat(
        &db,
        "ann",
        &[
            QUESTION,
            "escalate",
            "c2c-app-4821",
            "Chrome 131 on Windows 11",
            "yesterday around lunch",
            "2026-03-01 14:05 CET",
            "Open the contact page, press call, allow the microphone: the agent hears nothing",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Question 3 of 4"), "{text}");
    assert!(text.contains("please include a timezone"), "{text}");
    assert!(text.contains("Ticket #1"), "{text}");

    let tickets = tickets_json(&db);
    let list = tickets.as_array().unwrap();
    assert_eq!(list.len(), 1);
    let t = &list[0];
    assert_eq!(t["product"], "c2c");
    assert_eq!(t["status"], "open");
    assert_eq!(t["question"], QUESTION);
    assert_eq!(t["fields"]["app_id"], "c2c-app-4821");
    assert_eq!(t["fields"]["browser_os"], "Chrome 131 on Windows 11");
    assert_eq!(t["fields"]["when"], "2026-03-01 14:05 CET");
    assert_eq!(
        t["fields"]["steps"],
        "Open the contact page, press call, allow the microphone: the agent hears nothing"
    );
    assert!(t["tried"].is_array());
}

#[test]
fn a_session_cut_off_after_two_fields_resumes_at_the_third() {
    let (_dir, db) = scratch_db();
    let out = chat(
        &db,
        "bea",
        &[
            QUESTION,
            "escalate",
            "c2c-app-4821",
            "Safari 17.5 on iOS 17.5",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("saved at question 3 of 4"), "{text}");
    assert_eq!(tickets_json(&db), serde_json::json!([]));

    let out = chat(
        &db,
        "bea",
        &[
            "14:05 UTC+2",
            "Tap the call button on the iPhone, allow the mic, nothing is heard",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let resumed = text.find("at field 3 of 4").expect("says where it resumes");
    assert!(resumed < text.find("Question 3 of 4").unwrap(), "{text}");
    let tickets = tickets_json(&db);
    assert_eq!(tickets.as_array().unwrap().len(), 1);
    assert_eq!(
        tickets[0]["fields"]["browser_os"],
        "Safari 17.5 on iOS 17.5"
    );
    assert_eq!(tickets[0]["fields"]["when"], "14:05 UTC+2");

    // Another user starts from scratch.
    let out = chat(&db, "cy", &["solved"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Resuming"));
}

#[test]
fn sigkill_in_the_middle_of_an_escalation_loses_no_field() {
    let (_dir, db) = scratch_db();

    let mut live = Live::start(&db, "dan");
    live.send(QUESTION);
    live.send("escalate");
    live.wait_for("Question 1 of 4");
    live.send("c2c-app-4821");
    live.wait_for("Question 2 of 4");
    live.send("Firefox 133 on Ubuntu 24.04");
    live.wait_for("Question 3 of 4");
    live.child.kill().unwrap(); // SIGKILL
    live.child.wait().unwrap();

    let mut live = Live::start(&db, "dan");
    live.wait_for("at field 3 of 4");
    live.wait_for("Question 3 of 4");
    live.send("2026-03-01 09:12 Europe/Berlin");
    live.wait_for("Question 4 of 4");
    live.send("Click call on the pricing page, allow the microphone, the call never starts");
    live.wait_for("Ticket #1");
    drop(live.stdin);
    assert!(live.child.wait().unwrap().success());

    let tickets = tickets_json(&db);
    let list = tickets.as_array().unwrap();
    assert_eq!(list.len(), 1);
    let f = &list[0]["fields"];
    assert_eq!(f["app_id"], "c2c-app-4821");
    assert_eq!(f["browser_os"], "Firefox 133 on Ubuntu 24.04");
    assert_eq!(f["when"], "2026-03-01 09:12 Europe/Berlin");
    assert_eq!(
        f["steps"],
        "Click call on the pricing page, allow the microphone, the call never starts"
    );
}

#[test]
fn tickets_show_and_close_from_the_terminal() {
    let (_dir, db) = scratch_db();
    chat(&db, "eve", EVE_ESCALATES);
    let t = stdout_json(&run(&db, &["tickets", "show", "1", "--json"]));
    assert_eq!(
        (t["id"].as_i64(), &t["entry"], &t["question"]),
        (Some(1), &serde_json::Value::Null, &serde_json::Value::Null)
    );

    let close = run(&db, &["tickets", "close", "#1", "--by", "sam"]);
    assert!(close.status.success());
    let again = run(&db, &["tickets", "close", "1", "--by", "sam"]);
    assert_eq!(again.status.code(), Some(1), "closing twice does not apply");

    let closed = run(&db, &["tickets", "list", "--json", "--status", "closed"]);
    assert_eq!(stdout_json(&closed).as_array().unwrap().len(), 1);
    let open = run(&db, &["tickets", "list", "--json", "--status", "open"]);
    assert_eq!(stdout_json(&open), serde_json::json!([]));

    let missing = run(&db, &["tickets", "show", "9"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no ticket #9"));
}

#[test]
fn report_json_counts_the_session() {
    let (_dir, db) = scratch_db();
    chat(&db, "fay", &[QUESTION, "tried 1", "solved"]);
    let r = stdout_json(&run_ok(&db, &["report", "--since", "7", "--json"]));
    assert_eq!(r["questions"], 1);
    assert_eq!(r["escalated"], 0);
    let text = run(&db, &["report"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("1 question\n"));
}

#[test]
fn report_for_one_guild_counts_only_its_places() {
    let (_dir, db) = scratch_db();
    chat(&db, "fay", &[QUESTION, "tried 1", "solved"]);
    // The conversation's place belongs to server 111 (as the bot records
    // it when a guild's first input arrives).
    {
        use triage::tickets::{Place, SqliteStore, Store};
        let store = SqliteStore::open(&db).unwrap();
        store
            .archive()
            .unwrap()
            .note_place_guild(&Place::new("terminal"), "111")
            .unwrap();
    }
    let questions = |guild: &str| -> serde_json::Value {
        let r = stdout_json(&run_ok(&db, &["report", "--json", "--guild", guild]));
        r["questions"].clone()
    };
    assert_eq!(questions("111"), 1);
    assert_eq!(questions("222"), 0);
    let bad = run(&db, &["report", "--guild", "not-a-number"]);
    assert!(!bad.status.success());
}

#[test]
fn a_close_reason_from_the_terminal_is_stored_and_shown() {
    let (_dir, db) = scratch_db();
    chat(&db, "eve", EVE_ESCALATES);
    let close = run(
        &db,
        &[
            "tickets",
            "close",
            "1",
            "--by",
            "sam",
            "--reason",
            "duplicate of #4",
        ],
    );
    assert!(close.status.success());
    assert!(String::from_utf8_lossy(&close.stdout).contains("duplicate of #4"));
    let show = run(&db, &["tickets", "show", "1"]);
    assert!(
        String::from_utf8_lossy(&show.stdout).contains("duplicate of #4"),
        "{}",
        String::from_utf8_lossy(&show.stdout)
    );
    let t = stdout_json(&run(&db, &["tickets", "show", "1", "--json"]));
    assert_eq!(t["close_reason"], "duplicate of #4");
}

#[test]
fn a_chat_is_recorded_and_tickets_show_prints_its_transcript() {
    let (_dir, db) = scratch_db();
    chat(
        &db,
        "ann",
        &[
            QUESTION,
            "escalate",
            "c2c-app-4821",
            "Chrome 131 on Windows 11",
            "2026-03-01 14:05 CET",
            "Open the contact page, press call, allow the microphone: the agent hears nothing",
        ],
    );
    let out = run_ok(&db, &["tickets", "show", "1", "--transcript"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let transcript = &text[text.find("Transcript").expect("a transcript section")..];
    // Each line the customer typed and each reply, in order, with roles.
    let asked = transcript.find(QUESTION).expect("the question");
    let answered = transcript
        .find("Chrome 131 on Windows 11")
        .expect("a field answer");
    assert!(asked < answered, "{transcript}");
    assert!(transcript.contains("ann (customer)"), "{transcript}");
    assert!(transcript.contains("triage (bot)"), "{transcript}");
    assert!(transcript.contains("Ticket #1"), "{transcript}");

    let out = run(&db, &["tickets", "show", "1", "--transcript", "--json"]);
    let v = stdout_json(&out);
    let msgs = v["transcript"].as_array().unwrap();
    assert_eq!(msgs[0]["role"], "customer");
    assert_eq!(msgs[0]["content"], QUESTION);
    assert_eq!(msgs[1]["role"], "bot");
    // Another user's chat is not part of this ticket's transcript.
    chat(&db, "bea", &["hello, the call button is grey today"]);
    let out = run(&db, &["tickets", "show", "1", "--transcript"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("call button is grey"));
}

#[test]
fn triage_dashboard_prints_a_one_time_login_url_line() {
    let (_dir, db) = scratch_db();
    let mut child = triage(&db)
        .args(["dashboard", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/login/"),
        "{url}"
    );
    let get = |url: &str| -> (String, String) {
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut s = std::net::TcpStream::connect(host).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = String::new();
        std::io::Read::read_to_string(&mut s, &mut resp).unwrap();
        let status = resp.lines().next().unwrap_or("").to_owned();
        (status, resp)
    };
    let (status, resp) = get(&url);
    let _ = child.kill();
    let _ = child.wait();
    assert!(status.contains("303"), "{resp}");
    assert!(
        resp.to_lowercase().contains("set-cookie: triage_session="),
        "{resp}"
    );
    assert!(
        resp.contains("HttpOnly") && resp.contains("SameSite=Strict"),
        "{resp}"
    );
}
