//! The ticket lifecycle through the engine's public API, with a manual
//! clock and a real SQLite store: stale reminders and auto-close, close
//! requests, hold, the survey, support hours, and timers that survive a
//! restart and fire once even with two pollers on one database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use triage::engine::hours::{HoursFile, SupportHours};
use triage::engine::{
    Action, ConversationKey, Engine, Fired, Input, ManualClock, Matching, NoteKind, Output, Policy,
    Reply, StaffAction, StaffInput, TicketAction, TicketId, TicketInput, TicketNote, TicketStatus,
    UserId,
};
use triage::kb::{KnowledgeBase, ProductId};
use triage::matcher::{Decision, Match, Query};
use triage::tickets::{SqliteStore, Store, TimerKind, TimerState};

const KB: &str = r#"
product:
  id: demo
  name: Demo Widget
  ticket_fields:
    - id: details
      label: Details
      question: "Tell us more"
      example: "it broke"
entries:
  - id: demo/broken
    title: It is broken
    symptoms: [broken]
    checks:
      - id: restart
        cause: Needs a restart
        verify: Restart
        fix: Restart it
"#;

/// Matches nothing: tickets come from direct escalation.
struct Nothing(KnowledgeBase);

impl Matching for Nothing {
    fn kb(&self) -> &KnowledgeBase {
        &self.0
    }
    fn find(&self, _: &Query<'_>) -> Match {
        Match {
            decision: Decision::None,
            product: None,
            results: Vec::new(),
            check: None,
        }
    }
}

fn policy() -> Policy {
    Policy {
        stale_after: Some(Duration::hours(48)),
        auto_close_after: Some(Duration::hours(24)),
        close_request_timeout: Duration::hours(24),
        hours: None,
    }
}

struct H {
    engine: Engine,
    clock: Arc<ManualClock>,
    store: Arc<SqliteStore>,
    next: u32,
}

const START: OffsetDateTime = datetime!(2026-03-02 10:00 UTC);

impl H {
    fn new(policy: Policy) -> Self {
        Self::with(Arc::new(SqliteStore::in_memory().unwrap()), policy, START)
    }

    fn with(store: Arc<SqliteStore>, policy: Policy, at: OffsetDateTime) -> Self {
        let clock = Arc::new(ManualClock::new(at));
        let kb =
            KnowledgeBase::from_sources(&[(PathBuf::from("demo.yaml"), KB.to_owned())]).unwrap();
        let engine =
            Engine::new(Arc::new(Nothing(kb)), store.clone(), clock.clone()).with_policy(policy);
        Self {
            engine,
            clock,
            store,
            next: 0,
        }
    }

    fn id(&mut self) -> String {
        self.next += 1;
        format!("in-{}", self.next)
    }

    /// Alice escalates in the demo channel and files a ticket.
    fn file(&mut self) -> (TicketId, Reply) {
        let key = ConversationKey::new("chan-1", "alice");
        let id = self.id();
        self.engine
            .handle(
                &Input::act(id, key.clone(), Action::Escalate)
                    .in_product(Some(ProductId::new("demo"))),
            )
            .unwrap();
        let id = self.id();
        let r = self
            .engine
            .handle(&Input::say(id, key, "it broke when I clicked call"))
            .unwrap();
        let t = r
            .outputs
            .iter()
            .find_map(|o| match o {
                Output::TicketFiled(c) => Some(c.id),
                _ => None,
            })
            .expect("a ticket is filed");
        (t, r)
    }

    fn input(&mut self, ticket: TicketId, who: &str, staff: bool, action: TicketAction) -> Reply {
        let id = self.id();
        self.engine
            .ticket_input(&TicketInput {
                id: id.as_str().into(),
                ticket,
                author: UserId::new(who),
                staff,
                action,
                reason: None,
            })
            .unwrap()
    }

    fn customer(&mut self, t: TicketId, a: TicketAction) -> Reply {
        self.input(t, "alice", false, a)
    }

    fn staff(&mut self, t: TicketId, a: TicketAction) -> Reply {
        self.input(t, "sam", true, a)
    }

    /// Moves the clock and fires what is due, marking it posted.
    fn advance(&mut self, by: Duration) -> Vec<Fired> {
        self.clock.advance(by);
        let fired = self.engine.fire_due("test", 100).unwrap();
        for f in &fired {
            self.engine.mark_delivered(&f.id).unwrap();
        }
        fired
    }

    fn status(&self, t: TicketId) -> TicketStatus {
        self.store.ticket(t).unwrap().unwrap().status
    }
}

fn notes(outs: &[Output]) -> Vec<&TicketNote> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Ticket(n) => Some(n),
            _ => None,
        })
        .collect()
}

fn kinds(fired: &[Fired]) -> Vec<NoteKind> {
    fired
        .iter()
        .flat_map(|f| notes(&f.outputs))
        .map(|n| n.kind)
        .collect()
}

fn closed_reason(fired: &[Fired]) -> Option<String> {
    fired.iter().flat_map(|f| &f.outputs).find_map(|o| match o {
        Output::TicketUpdated(u) if u.status == TicketStatus::Closed => u.reason.clone(),
        _ => None,
    })
}

fn notice(r: &Reply) -> String {
    r.outputs
        .iter()
        .filter_map(|o| match o {
            Output::Notice { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn stale_ticket_is_pinged_once_reset_by_the_customer_then_closed_for_no_reply() {
    let mut h = H::new(policy());
    let (t, _) = h.file();
    assert!(h.advance(Duration::hours(47)).is_empty(), "not stale yet");
    let fired = h.advance(Duration::hours(2));
    assert_eq!(kinds(&fired), vec![NoteKind::StalePing]);
    let ping = notes(&fired[0].outputs)[0];
    assert!(ping.ping_customer);
    assert_eq!(ping.when, Some(START + Duration::hours(49 + 24)));
    assert!(h.advance(Duration::hours(1)).is_empty(), "pinged once only");

    // The customer answers: both clocks start again.
    h.customer(t, TicketAction::Message);
    assert!(
        h.advance(Duration::hours(30)).is_empty(),
        "the auto-close was cancelled"
    );
    assert!(h.advance(Duration::hours(17)).is_empty());
    let fired = h.advance(Duration::hours(2));
    assert_eq!(kinds(&fired), vec![NoteKind::StalePing]);
    assert_eq!(h.status(t), TicketStatus::Open);

    let fired = h.advance(Duration::hours(24));
    assert_eq!(closed_reason(&fired).as_deref(), Some("no reply"));
    assert_eq!(h.status(t), TicketStatus::Closed);
    assert_eq!(
        h.store.ticket(t).unwrap().unwrap().close_reason.as_deref(),
        Some("no reply")
    );
    // Closing asks the survey.
    assert!(kinds(&fired).contains(&NoteKind::Survey));
    assert!(
        h.advance(Duration::days(30)).is_empty(),
        "nothing left to fire"
    );
}

#[test]
fn staff_messages_do_not_reset_the_stale_clock_and_hold_stops_it() {
    let mut h = H::new(policy());
    let (t, _) = h.file();
    h.clock.advance(Duration::hours(1));
    h.staff(t, TicketAction::Message);
    assert_eq!(
        kinds(&h.advance(Duration::hours(48))),
        vec![NoteKind::StalePing]
    );

    let (t2, _) = {
        let mut h2 = H::new(policy());
        let r = h2.file();
        let hold = h2.staff(r.0, TicketAction::Hold { on: true });
        assert_eq!(notes(&hold.outputs)[0].kind, NoteKind::Hold);
        assert!(
            h2.advance(Duration::days(10)).is_empty(),
            "held: no ping, no close"
        );
        assert_eq!(h2.status(r.0), TicketStatus::Open);
        h2.staff(r.0, TicketAction::Hold { on: false });
        assert_eq!(
            kinds(&h2.advance(Duration::hours(48))),
            vec![NoteKind::StalePing]
        );
        r
    };
    let _ = t2;
    // Customers cannot put their own ticket on hold.
    let r = h.customer(t, TicketAction::Hold { on: true });
    assert!(notice(&r).contains("Only the support team"));
}

#[test]
fn close_request_accepted_closes_with_the_reason() {
    let mut h = H::new(policy());
    let (t, _) = h.file();
    let id = h.id();
    let r = h
        .engine
        .ticket_input(&TicketInput {
            id: id.as_str().into(),
            ticket: t,
            author: UserId::new("sam"),
            staff: true,
            action: TicketAction::RequestClose,
            reason: Some("fixed in 2.3".into()),
        })
        .unwrap();
    let n = notes(&r.outputs)[0].clone();
    assert_eq!(n.kind, NoteKind::CloseRequest);
    assert_eq!(
        n.options
            .iter()
            .map(|o| o.action.clone())
            .collect::<Vec<_>>(),
        vec![TicketAction::AcceptClose, TicketAction::KeepOpen]
    );
    assert_eq!(n.when, Some(START + Duration::hours(24)));
    // Someone else's click is refused.
    let r = h.input(t, "mallory", false, TicketAction::AcceptClose);
    assert!(notice(&r).contains("Only the customer"));
    assert_eq!(h.status(t), TicketStatus::Open);

    let r = h.customer(t, TicketAction::AcceptClose);
    assert_eq!(h.status(t), TicketStatus::Closed);
    assert!(r.outputs.iter().any(|o| matches!(o,
        Output::TicketUpdated(u) if u.reason.as_deref() == Some("fixed in 2.3"))));
    assert!(notes(&r.outputs).iter().any(|n| n.kind == NoteKind::Survey));
    assert!(
        h.advance(Duration::days(3)).is_empty(),
        "the request's timer is gone"
    );
}

#[test]
fn close_request_refused_keeps_the_ticket_open() {
    let mut h = H::new(policy());
    let (t, _) = h.file();
    h.staff(t, TicketAction::RequestClose);
    let r = h.customer(t, TicketAction::KeepOpen);
    assert_eq!(notes(&r.outputs)[0].kind, NoteKind::CloseRequestAnswered);
    assert!(
        h.advance(Duration::hours(25)).is_empty(),
        "no timeout close"
    );
    assert_eq!(h.status(t), TicketStatus::Open);
    // A second answer finds no request.
    let r = h.customer(t, TicketAction::AcceptClose);
    assert!(notice(&r).contains("no close request"));
    assert_eq!(h.status(t), TicketStatus::Open);
}

#[test]
fn close_request_unanswered_closes_at_the_timeout() {
    let mut h = H::new(Policy {
        stale_after: None,
        ..policy()
    });
    let (t, _) = h.file();
    h.staff(t, TicketAction::RequestClose);
    assert!(h.advance(Duration::hours(23)).is_empty());
    let fired = h.advance(Duration::hours(2));
    assert_eq!(
        closed_reason(&fired).as_deref(),
        Some("no answer to the close request")
    );
    assert_eq!(h.status(t), TicketStatus::Closed);
}

#[test]
fn survey_is_answered_once_and_a_second_answer_is_refused() {
    let mut h = H::new(policy());
    let (t, _) = h.file();
    let r = h.customer(t, TicketAction::Rate { stars: 5 });
    assert!(notice(&r).contains("no survey"), "not closed yet");
    let id = h.id();
    let closed = h
        .engine
        .staff(&StaffInput {
            id: id.as_str().into(),
            staff: UserId::new("sam"),
            ticket: t,
            action: StaffAction::Close,
            reason: None,
        })
        .unwrap();
    let survey = notes(&closed.outputs)
        .into_iter()
        .find(|n| n.kind == NoteKind::Survey)
        .expect("closing asks the survey")
        .clone();
    assert_eq!(survey.options.len(), 5);

    assert!(
        notice(&h.input(t, "mallory", false, TicketAction::Rate { stars: 1 }))
            .contains("Only the customer")
    );
    assert!(notice(&h.customer(t, TicketAction::Rate { stars: 9 })).contains("1 to 5"));
    let r = h.customer(t, TicketAction::Rate { stars: 4 });
    assert_eq!(notes(&r.outputs)[0].kind, NoteKind::SurveyAnswered);
    let r = h.customer(t, TicketAction::Rate { stars: 1 });
    assert!(notice(&r).contains("already rated"));
    let r = h.customer(
        t,
        TicketAction::Comment {
            text: "quick and kind".into(),
        },
    );
    assert!(notice(&r).is_empty());
    let r = h.customer(
        t,
        TicketAction::Comment {
            text: "again".into(),
        },
    );
    assert!(notice(&r).contains("already commented"));

    let s = &h.store.surveys().unwrap()[0];
    assert_eq!(
        (s.rating, s.comment.as_deref()),
        (Some(4), Some("quick and kind"))
    );
    // Reopened and closed again: not asked twice.
    for action in [StaffAction::Reopen, StaffAction::Close] {
        let id = h.id();
        let r = h
            .engine
            .staff(&StaffInput {
                id: id.as_str().into(),
                staff: UserId::new("sam"),
                ticket: t,
                action,
                reason: None,
            })
            .unwrap();
        assert!(notes(&r.outputs).is_empty());
    }
}

fn berlin_hours() -> SupportHours {
    let mut f = HoursFile {
        timezone: "Europe/Berlin".into(),
        hold_staff_ping: true,
        ..Default::default()
    };
    for d in ["mon", "tue", "wed", "thu", "fri"] {
        f.weekly.insert(d.into(), vec!["09:00-17:00".into()]);
    }
    SupportHours::parse(&f).unwrap()
}

#[test]
fn a_friday_evening_ticket_is_told_mondays_opening_and_staff_are_pinged_then() {
    let hours = Policy {
        hours: Some(berlin_hours()),
        ..policy()
    };
    // Friday 4 Dec 2026, 19:30 in Berlin.
    let mut h = H::with(
        Arc::new(SqliteStore::in_memory().unwrap()),
        hours,
        datetime!(2026-12-04 18:30 UTC),
    );
    let (t, r) = h.file();
    let ns = notes(&r.outputs);
    let told = ns
        .iter()
        .find(|n| n.kind == NoteKind::OutsideHours)
        .unwrap();
    // Monday 09:00 Berlin = 08:00 UTC; the front end shows it in the
    // reader's zone (Discord <t:UNIX:F>).
    assert_eq!(told.when, Some(datetime!(2026-12-07 08:00 UTC)));
    assert!(told
        .when_text
        .as_deref()
        .unwrap()
        .starts_with("Mon 7 Dec 2026 09:00"));
    assert!(ns.iter().any(|n| n.kind == NoteKind::StaffPingHeld));

    assert!(!kinds(&h.advance(Duration::hours(61))).contains(&NoteKind::StaffPing));
    let fired = h.advance(Duration::hours(1) + Duration::minutes(30));
    assert_eq!(kinds(&fired), vec![NoteKind::StaffPing]);
    assert!(notes(&fired[0].outputs)[0].ping_staff);
    let _ = t;
}

#[test]
fn the_opening_time_follows_daylight_saving() {
    let hours = Policy {
        hours: Some(berlin_hours()),
        ..policy()
    };
    // Friday 27 Mar 2026 evening; clocks go forward on Sunday.
    let mut h = H::with(
        Arc::new(SqliteStore::in_memory().unwrap()),
        hours,
        datetime!(2026-03-27 19:00 UTC),
    );
    let (_, r) = h.file();
    let told = notes(&r.outputs)
        .into_iter()
        .find(|n| n.kind == NoteKind::OutsideHours)
        .unwrap()
        .clone();
    assert_eq!(told.when, Some(datetime!(2026-03-30 07:00 UTC)));
}

#[test]
fn a_ticket_filed_in_hours_pings_staff_at_once() {
    let mut h = H::with(
        Arc::new(SqliteStore::in_memory().unwrap()),
        Policy {
            hours: Some(berlin_hours()),
            ..policy()
        },
        datetime!(2026-12-07 10:00 UTC),
    );
    let (_, r) = h.file();
    assert!(notes(&r.outputs).is_empty());
}

fn db(dir: &Path) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(&dir.join("triage.db")).unwrap())
}

#[test]
fn a_timer_due_while_the_process_was_down_fires_once_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let t = {
        let mut h = H::with(db(dir.path()), policy(), START);
        h.file().0
    }; // the process is gone; nothing ran at +48 h
    let h = H::with(db(dir.path()), policy(), START + Duration::hours(60));
    let fired = h.engine.fire_due("after-restart", 100).unwrap();
    assert_eq!(kinds(&fired), vec![NoteKind::StalePing]);
    assert!(!fired[0].repeat);
    // Dies before marking it posted: the next start finds it to post
    // (as a repeat, for the front end's idempotent post), and fires
    // nothing new.
    drop(h);
    let h = H::with(db(dir.path()), policy(), START + Duration::hours(61));
    assert!(h.engine.fire_due("third", 100).unwrap().is_empty());
    let again = h.engine.unposted(Duration::days(1)).unwrap();
    assert_eq!(again.len(), 1);
    assert!(again[0].repeat);
    assert_eq!(again[0].id, fired[0].id);
    h.engine.mark_delivered(&again[0].id).unwrap();
    assert!(h.engine.unposted(Duration::days(1)).unwrap().is_empty());
    let timers = h.store.timers(Some(t)).unwrap();
    let stale: Vec<_> = timers
        .iter()
        .filter(|x| x.kind == TimerKind::StalePing)
        .collect();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].state, TimerState::Done);
    assert_eq!(stale[0].claim_token.as_deref(), Some("after-restart"));
}

#[test]
fn an_auto_close_half_done_is_not_closed_twice() {
    let dir = tempfile::tempdir().unwrap();
    let t = {
        let mut h = H::with(db(dir.path()), policy(), START);
        let t = h.file().0;
        h.advance(Duration::hours(48));
        t
    };
    // Fires the auto-close, then "dies" before marking it posted.
    let h = H::with(db(dir.path()), policy(), START + Duration::hours(80));
    let fired = h.engine.fire_due("a", 100).unwrap();
    assert_eq!(closed_reason(&fired).as_deref(), Some("no reply"));
    drop(h);
    let h = H::with(db(dir.path()), policy(), START + Duration::hours(81));
    assert!(h.engine.fire_due("b", 100).unwrap().is_empty());
    let again = h.engine.unposted(Duration::days(1)).unwrap();
    assert_eq!(again.len(), 1, "the same close, to post with the same key");
    assert_eq!(again[0].id, fired[0].id);
    assert_eq!(h.status(t), TicketStatus::Closed);
}

#[test]
fn two_pollers_on_one_database_fire_each_timer_once() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut h = H::with(db(dir.path()), policy(), START);
        for _ in 0..3 {
            h.file();
            h.next += 10;
        }
    }
    let at = START + Duration::hours(49);
    let a = H::with(db(dir.path()), policy(), at);
    let b = H::with(db(dir.path()), policy(), at);
    let (fa, fb) = std::thread::scope(|s| {
        let ja = s.spawn(|| a.engine.fire_due("a", 100).unwrap());
        let jb = s.spawn(|| b.engine.fire_due("b", 100).unwrap());
        (ja.join().unwrap(), jb.join().unwrap())
    });
    let mut ids: Vec<String> = fa.iter().chain(&fb).map(|f| f.id.to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(fa.len() + fb.len(), ids.len(), "no timer fired by both");
    // One conversation key per customer: the three escalations belong to
    // alice in one channel, so tickets may share it; count the timers.
    let done = a
        .store
        .timers(None)
        .unwrap()
        .into_iter()
        .filter(|t| t.kind == TimerKind::StalePing && t.state == TimerState::Done)
        .count();
    assert_eq!(done, fa.len() + fb.len());
}

// ---- The real binary: `triage chat` and `triage run` with TRIAGE_NOW ----

const BOT_CONFIG: &str = "\
support_role_id: 222
staff_channel_id: 333
lifecycle:
  stale_after: 48h
  auto_close_after: 24h
";

fn triage_at(dir: &Path, now: OffsetDateTime) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_triage"));
    c.env("TRIAGE_MODEL", "shipped");
    c.arg("--kb")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge"))
        .arg("--db")
        .arg(dir.join("triage.db"))
        .env_remove("TRIAGE_DB")
        .env_remove("TRIAGE_KB")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn")
        .env(
            "TRIAGE_NOW",
            now.format(&time::format_description::well_known::Rfc3339)
                .unwrap(),
        );
    c
}

fn chat_at(dir: &Path, now: OffsetDateTime, lines: &[&str]) -> String {
    use std::io::Write;
    let mut child = triage_at(dir, now)
        .args(["chat", "--product", "c2c", "--user", "ann", "--config"])
        .arg(dir.join("triage.yaml"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for l in lines {
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
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

#[test]
fn response_times_and_ratings_are_reported_per_product_and_staff_member() {
    let mut h = H::new(policy());
    let (t, _) = h.file();
    h.clock.advance(Duration::hours(2));
    h.staff(t, TicketAction::Message);
    h.clock.advance(Duration::hours(1));
    h.staff(t, TicketAction::Message); // not the first reply
    h.clock.advance(Duration::hours(2));
    let id = h.id();
    h.engine
        .staff(&StaffInput {
            id: id.as_str().into(),
            staff: UserId::new("sam"),
            ticket: t,
            action: StaffAction::Close,
            reason: None,
        })
        .unwrap();
    h.customer(t, TicketAction::Rate { stars: 4 });

    let all = |hours: Option<&SupportHours>| {
        triage::service::compute(
            &h.store.tickets(None).unwrap(),
            &h.store.lifecycles().unwrap(),
            &h.store.surveys().unwrap(),
            hours,
            START - Duration::days(1),
            START + Duration::days(1),
        )
    };
    let r = all(None);
    assert!(!r.business_hours);
    let g = &r.by_product["demo"];
    assert_eq!(g.first_response.median_secs, Some(2 * 3600));
    assert_eq!(g.resolution.p90_secs, Some(5 * 3600));
    assert_eq!((g.rated, g.mean_rating), (1, Some(4.0)));
    assert_eq!(r.by_staff["sam"].first_response.median_secs, Some(2 * 3600));

    // Monday 2 Mar 2026 10:00 UTC is 11:00 in Berlin: all within hours.
    let b = all(Some(&berlin_hours()));
    assert!(b.business_hours);
    assert_eq!(b.overall.resolution.median_secs, Some(5 * 3600));
    // Filed at 16:00 Berlin, answered 09:30 the next morning: 1.5 h of
    // business time, not 17.5 h.
    let mut h = H::new(policy());
    h.clock.set(datetime!(2026-03-02 15:00 UTC));
    let (t, _) = h.file();
    h.clock.set(datetime!(2026-03-03 08:30 UTC));
    h.staff(t, TicketAction::Message);
    let r = triage::service::compute(
        &h.store.tickets(None).unwrap(),
        &h.store.lifecycles().unwrap(),
        &h.store.surveys().unwrap(),
        Some(&berlin_hours()),
        START - Duration::days(1),
        START + Duration::days(3),
    );
    assert_eq!(r.overall.first_response.median_secs, Some(90 * 60));
}
