//! The ticket lifecycle in Discord, at the wire: the real bot against the
//! fake Discord with a manual clock. Close-request buttons, the survey's
//! buttons and comment modal, the poller firing a timed-out request, the
//! staff ping held until opening time, and a crash between posting a
//! timer's message and marking it posted (the shipped binary, SIGKILL).

#[path = "support/fake_discord/mod.rs"]
mod fake_discord;
#[path = "support/bot_fixture.rs"]
mod fixture;

use std::sync::Arc;
use std::time::Duration;

use fake_discord::payloads::{self, ids, opt_string, opt_subcommand};
use fake_discord::{FakeDiscord, FakeOptions, Recorded, World};
use fixture::{
    content, custom_id_starting, is_ephemeral, BotTask, KillOnDrop, NoMatch, Workdir, C2C,
};
use serde_json::{json, Value};
use time::macros::datetime;
use time::OffsetDateTime;

use triage::config::Config;
use triage::discord::{Core, Settings};
use triage::engine::ManualClock;
use triage::tickets::{SqliteStore, Store, TicketStatus};

const T: Duration = Duration::from_secs(15);

/// The fake guild with one help channel, for c2c (one ticket field), and `extra`.
fn config_text(extra: &str) -> String {
    fixture::config_text(&[(ids::HELP_CHANNEL, "c2c")]) + extra
}

const LIFECYCLE: &str = "lifecycle:\n  close_request_timeout: 24h\n";

const HOURS: &str = "support_hours:
  timezone: Europe/Berlin
  weekly:
    mon: [\"09:00-17:00\"]
    tue: [\"09:00-17:00\"]
    wed: [\"09:00-17:00\"]
    thu: [\"09:00-17:00\"]
    fri: [\"09:00-17:00\"]
";

struct Harness {
    fake: FakeDiscord,
    clock: Arc<ManualClock>,
    store: Arc<SqliteStore>,
    bot: BotTask,
    _work: Workdir,
}

impl Harness {
    async fn ready(extra: &str, at: OffsetDateTime) -> Harness {
        let fake = FakeDiscord::start(FakeOptions::default()).await;
        let work = Workdir::new(&[("c2c.yaml", C2C)]);
        let kb = work.load_kb();
        let config = Config::parse_str(&config_text(extra)).unwrap();
        let store = work.open_store();
        let clock = Arc::new(ManualClock::new(at));
        let core = Core {
            matcher: Arc::new(NoMatch(kb)),
            store: store.clone(),
            clock: clock.clone(),
        };
        let settings = Settings {
            config,
            connection: fixture::connection(&fake),
            kb_dir: work.kb_dir.clone(),
        };
        let bot = BotTask::spawn(settings, core);
        fake.wait_request(T, |r| r.is("PUT", "/applications/*/guilds/*/commands"))
            .await;
        Harness {
            fake,
            clock,
            store,
            bot,
            _work: work,
        }
    }

    fn world(&self) -> &World {
        self.fake.world()
    }

    /// Alice escalates in the help channel and answers the one field:
    /// returns the ticket thread.
    async fn file_ticket(&self) -> u64 {
        file_ticket(&self.fake).await
    }

    async fn slash_in_thread(&self, user: u64, tid: u64, sub: Value) -> (Value, Recorded) {
        let thread = self.fake.thread(tid).unwrap();
        let id = self.fake.command_id("ticket");
        let ix =
            payloads::slash_command_in_thread(self.world(), user, &thread, id, "ticket", vec![sub]);
        let cb = interact(&self.fake, &ix).await;
        (ix, cb)
    }

    async fn click(&self, user: u64, message: &Value, custom_id: &str) -> (Value, Recorded) {
        let ix = payloads::button_click(self.world(), user, message, custom_id);
        let cb = interact(&self.fake, &ix).await;
        (ix, cb)
    }

    async fn stop(mut self) {
        let r = self.bot.stop(T).await.unwrap();
        assert!(r.is_ok(), "{r:?}");
        self.fake.assert_no_violations();
    }
}

/// Dispatches `ix` as an interaction and waits for the bot's callback.
async fn interact(fake: &FakeDiscord, ix: &Value) -> Recorded {
    fake.dispatch("INTERACTION_CREATE", ix.clone());
    fake.wait_callback(ix, T).await
}

/// The first post in `channel` after `mark` whose content holds `needle`.
async fn post_containing_after(
    fake: &FakeDiscord,
    mark: usize,
    channel: u64,
    needle: &str,
) -> Recorded {
    let path = format!("/channels/{channel}/messages");
    fake.wait_request_after(mark, T, |r| {
        r.is("POST", &path) && content(&r.body).contains(needle)
    })
    .await
}

async fn file_ticket(fake: &FakeDiscord) -> u64 {
    let world = fake.world();
    let mark = fake.mark();
    let ix = payloads::slash_command(
        world,
        ids::ALICE,
        ids::HELP_CHANNEL,
        fake.command_id("escalate"),
        "escalate",
        vec![],
    );
    fake.dispatch("INTERACTION_CREATE", ix);
    let created = fake
        .wait_request_after(mark, T, |r| {
            r.is("POST", &format!("/channels/{}/threads", ids::HELP_CHANNEL))
        })
        .await;
    let tid = payloads::id_of(&created.response, "id");
    post_containing_after(fake, mark, tid, "1/1").await;
    let mark = fake.mark();
    fake.dispatch(
        "MESSAGE_CREATE",
        payloads::message_create(world, ids::ALICE, tid, "c2c-app-4821"),
    );
    fake.wait_request_after(mark, T, |r| {
        r.is(
            "POST",
            &format!("/channels/{}/messages", ids::STAFF_CHANNEL),
        )
    })
    .await;
    tid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_request_buttons_close_and_the_survey_takes_a_rating_and_a_comment() {
    let h = Harness::ready(LIFECYCLE, datetime!(2026-03-02 10:00 UTC)).await;
    let tid = h.file_ticket().await;

    let (ix, cb) = h
        .slash_in_thread(
            ids::BOB,
            tid,
            opt_subcommand("close-request", vec![opt_string("reason", "fixed in 2.3")]),
        )
        .await;
    let data = &cb.body["data"];
    assert!(!is_ephemeral(data), "the customer sees it: {}", cb.body);
    assert!(
        content(data).contains(&format!("<@{}>", ids::ALICE)),
        "{data}"
    );
    assert!(content(data).contains("fixed in 2.3"));
    // The deadline as a Discord timestamp, shown in each reader's zone.
    let due = datetime!(2026-03-03 10:00 UTC).unix_timestamp();
    assert!(content(data).contains(&format!("<t:{due}:F>")), "{data}");
    assert_eq!(
        data["allowed_mentions"]["users"],
        json!([ids::ALICE.to_string()])
    );
    let request = h.fake.original_message(&ix).unwrap();
    let close = custom_id_starting(&request, "tl:close:");
    custom_id_starting(&request, "tl:keep:");

    // Bob (staff, not the customer) cannot answer for her.
    let (_, cb) = h.click(ids::BOB, &request, &close).await;
    assert!(is_ephemeral(&cb.body["data"]));
    assert_eq!(h.store.tickets(None).unwrap()[0].status, TicketStatus::Open);

    let mark = h.fake.mark();
    let (_, cb) = h.click(ids::ALICE, &request, &close).await;
    assert!(content(&cb.body["data"]).contains("closed"), "{}", cb.body);
    assert!(content(&cb.body["data"]).contains("fixed in 2.3"));
    let t = &h.store.tickets(None).unwrap()[0];
    assert_eq!(t.status, TicketStatus::Closed);
    assert_eq!(t.close_reason.as_deref(), Some("fixed in 2.3"));

    // The survey follows in the thread: 1-5 buttons.
    let survey = post_containing_after(&h.fake, mark, tid, "How did we do").await;
    let survey_msg = survey.response.clone();
    let four = custom_id_starting(&survey_msg, "tl:rate:1:4");
    let (ix, cb) = h.click(ids::ALICE, &survey_msg, &four).await;
    assert!(content(&cb.body["data"]).contains("4/5"), "{}", cb.body);
    let thanks = h.fake.original_message(&ix).unwrap();
    let comment = custom_id_starting(&thanks, "tl:comment:1");
    let (_, cb) = h.click(ids::ALICE, &thanks, &comment).await;
    assert_eq!(cb.body["type"], 9, "a modal: {}", cb.body);
    let modal = payloads::modal_submit(
        h.world(),
        ids::ALICE,
        tid,
        &cb.body["data"],
        &[("comment", "quick and kind")],
    );
    let cb = interact(&h.fake, &modal).await;
    assert!(
        content(&cb.body["data"]).contains("Thank you"),
        "{}",
        cb.body
    );

    // Answered once: a second rating is refused, privately.
    let one = custom_id_starting(&survey_msg, "tl:rate:1:1");
    let (_, cb) = h.click(ids::ALICE, &survey_msg, &one).await;
    assert!(is_ephemeral(&cb.body["data"]));
    assert!(content(&cb.body["data"]).contains("already rated"));
    let s = &h.store.surveys().unwrap()[0];
    assert_eq!(
        (s.rating, s.comment.as_deref()),
        (Some(4), Some("quick and kind"))
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_close_request_is_closed_by_the_poller_once() {
    let h = Harness::ready(LIFECYCLE, datetime!(2026-03-02 10:00 UTC)).await;
    let tid = h.file_ticket().await;
    h.slash_in_thread(ids::BOB, tid, opt_subcommand("close-request", vec![]))
        .await;
    let mark = h.fake.mark();
    h.clock.advance(time::Duration::hours(25));
    let closed = post_containing_after(&h.fake, mark, tid, "closed").await;
    assert!(
        content(&closed.body).contains("no answer to the close request"),
        "{}",
        closed.body
    );
    assert_eq!(closed.body["enforce_nonce"], true);
    assert!(closed.body["nonce"].as_str().unwrap().starts_with("timer:"));
    post_containing_after(&h.fake, mark, tid, "How did we do").await;
    assert_eq!(
        h.store.tickets(None).unwrap()[0].status,
        TicketStatus::Closed
    );
    // The request's timer is done and nothing else is pending.
    let timers = h.store.timers(None).unwrap();
    assert!(
        timers
            .iter()
            .all(|t| t.state != triage::tickets::TimerState::Pending),
        "{timers:?}"
    );
    assert_eq!(
        timers
            .iter()
            .filter(|t| t.state == triage::tickets::TimerState::Done)
            .count(),
        1
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_filed_on_friday_evening_holds_the_staff_ping_until_monday() {
    // Friday 4 Dec 2026, 19:30 in Berlin.
    let h = Harness::ready(HOURS, datetime!(2026-12-04 18:30 UTC)).await;
    let tid = h.file_ticket().await;
    let monday = datetime!(2026-12-07 08:00 UTC).unix_timestamp();
    let posts: Vec<Recorded> = h
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.is("POST", &format!("/channels/{tid}/messages")))
        .collect();
    assert!(
        posts
            .iter()
            .any(|r| content(&r.body).contains(&format!("<t:{monday}:F>"))),
        "the customer is told Monday's opening: {posts:?}"
    );
    let role_pings = |h: &Harness| {
        h.fake
            .requests()
            .into_iter()
            .filter(|r| {
                r.method == "POST"
                    && r.body["allowed_mentions"]["roles"]
                        .as_array()
                        .is_some_and(|a| !a.is_empty())
            })
            .count()
    };
    assert_eq!(role_pings(&h), 0, "no staff ping on Friday night");

    let mark = h.fake.mark();
    h.clock.set(datetime!(2026-12-07 08:00 UTC));
    let role = format!("<@&{}>", ids::SUPPORT_ROLE);
    let ping = post_containing_after(&h.fake, mark, tid, &role).await;
    assert_eq!(
        ping.body["allowed_mentions"]["roles"],
        json!([ids::SUPPORT_ROLE.to_string()])
    );
    assert_eq!(role_pings(&h), 1);
    h.stop().await;
}

/// The shipped binary, killed (SIGKILL, by its own fault switch) after
/// posting a timer's close message and before marking it posted: the
/// restart posts it again with the same nonce, Discord returns the first
/// message, and the thread holds one close message.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_posting_and_marking_leaves_one_close_message() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    fixture::write_kb(&dir.path().join("knowledge"), &[("c2c.yaml", C2C)]);
    std::fs::write(
        dir.path().join("triage.yaml"),
        format!("{}kb: knowledge\ndb: triage.db\n", config_text(LIFECYCLE)),
    )
    .unwrap();
    let start = |now: &str, fault: Option<&str>| {
        let mut c = fixture::triage_run(&fake, &dir.path().join("triage.yaml"));
        c.env("TRIAGE_NOW", now);
        if let Some(f) = fault {
            c.env("TRIAGE_FAULT", f);
        }
        KillOnDrop(Some(c.spawn().unwrap()))
    };
    // First run: the ticket and a close request.
    let mut first = start("2026-03-02T10:00:00Z", None);
    fake.wait_request(T, |r| r.is("PUT", "/applications/*/guilds/*/commands"))
        .await;
    let tid = file_ticket(&fake).await;
    let thread = fake.thread(tid).unwrap();
    let ix = payloads::slash_command_in_thread(
        fake.world(),
        ids::BOB,
        &thread,
        fake.command_id("ticket"),
        "ticket",
        vec![opt_subcommand("close-request", vec![])],
    );
    interact(&fake, &ix).await;
    first.kill();

    // Second run, a day later: fires the close, posts it, dies unmarked.
    let mark = fake.mark();
    let mut second = start("2026-03-03T11:00:00Z", Some("kill_after_timer_post"));
    let status = tokio::task::spawn_blocking(move || second.0.as_mut().unwrap().wait())
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success(), "killed by the fault switch");
    let closes = |fake: &FakeDiscord| {
        fake.messages_in(tid)
            .iter()
            .filter(|m| content(m).contains("no answer to the close request"))
            .count()
    };
    assert_eq!(closes(&fake), 1, "posted before the crash");
    let _ = mark;

    // Third run: the unmarked firing is posted again with the same nonce.
    let mark = fake.mark();
    let mut third = start("2026-03-03T11:00:00Z", None);
    let repost = post_containing_after(&fake, mark, tid, "no answer to the close request").await;
    assert_eq!(repost.body["enforce_nonce"], true);
    // Marked posted once the whole firing is out; nothing is listed after.
    let db = dir.path().join("triage.db");
    let deadline = std::time::Instant::now() + T;
    loop {
        let store = SqliteStore::open(&db).unwrap();
        if store
            .undelivered(OffsetDateTime::UNIX_EPOCH)
            .unwrap()
            .iter()
            .all(|u| !u.id.as_str().starts_with("timer:"))
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never marked posted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    third.kill();
    assert_eq!(closes(&fake), 1, "one close message in the thread");
    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(store.tickets(None).unwrap()[0].status, TicketStatus::Closed);
}

/// Polls the store until `cond` holds (the bot writes from its own tasks).
async fn until_stored(store: &SqliteStore, what: &str, cond: impl Fn(&SqliteStore) -> bool) {
    let deadline = std::time::Instant::now() + T;
    while !cond(store) {
        assert!(std::time::Instant::now() < deadline, "never stored: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_customer_is_pinged_once_and_their_reply_restarts_the_clock() {
    let extra = "lifecycle:\n  stale_after: 48h\n  auto_close_after: 24h\n";
    let h = Harness::ready(extra, datetime!(2026-03-02 10:00 UTC)).await;
    let tid = h.file_ticket().await;

    // Staff answer first: recorded as the first response, no reset.
    h.fake.dispatch(
        "MESSAGE_CREATE",
        payloads::message_create(h.world(), ids::BOB, tid, "looking into it"),
    );
    until_stored(&h.store, "first staff reply", |s| {
        s.lifecycles()
            .unwrap()
            .iter()
            .any(|l| l.first_staff_by.as_ref().map(|u| u.to_string()) == Some(ids::BOB.to_string()))
    })
    .await;

    let mark = h.fake.mark();
    h.clock.advance(time::Duration::hours(49));
    let ping = post_containing_after(&h.fake, mark, tid, "Are you still there?").await;
    assert!(content(&ping.body).starts_with(&format!("<@{}>", ids::ALICE)));
    assert_eq!(
        ping.body["allowed_mentions"]["users"],
        json!([ids::ALICE.to_string()])
    );

    // Alice answers in the thread: the auto-close is cancelled and a new
    // stale ping is due 48 h from her message.
    h.fake.dispatch(
        "MESSAGE_CREATE",
        payloads::message_create(
            h.world(),
            ids::ALICE,
            tid,
            "still broken, sorry for the delay",
        ),
    );
    let expect = datetime!(2026-03-04 11:00 UTC) + time::Duration::hours(48);
    until_stored(&h.store, "the stale clock restarted", |s| {
        let timers = s.timers(None).unwrap();
        let pending: Vec<_> = timers
            .iter()
            .filter(|t| t.state == triage::tickets::TimerState::Pending)
            .collect();
        pending.len() == 1
            && pending[0].kind == triage::tickets::TimerKind::StalePing
            && pending[0].due_at == expect
    })
    .await;
    assert_eq!(h.store.tickets(None).unwrap()[0].status, TicketStatus::Open);
    let pings = h
        .fake
        .messages_in(tid)
        .iter()
        .filter(|m| content(m).contains("Are you still there?"))
        .count();
    assert_eq!(pings, 1);
    h.stop().await;
}
