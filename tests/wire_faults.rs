//! Reliability at the wire: one end-to-end test per REST and gateway fault,
//! the real serenity client against the fake Discord, which injects it.
//! Each test asserts that every expected message appears exactly once, in
//! order, and that nothing private was posted in public. Each prints the
//! attempts the faulted call took and the latency the fault added, from
//! the fake's own records (`FIGURE …` lines; `cargo test --test wire_faults
//! -- --nocapture | grep FIGURE`). Nothing here asserts wall-clock time.

#[path = "support/fake_discord/mod.rs"]
mod fake_discord;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_discord::payloads::{self, ids, opt_string};
use fake_discord::{FakeDiscord, FakeOptions, Fault, Recorded};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use triage::config::Config;
use triage::discord::{self, rest::Policy, Connection, Core, RunError, Settings, Token};
use triage::engine::{Clock, Matching};
use triage::kb::KnowledgeBase;
use triage::matcher::{Candidate, Decision, Match, Query};
use triage::tickets::{SqliteStore, Store};

/// How long any one condition may take: generous, for a loaded machine.
const T: Duration = Duration::from_secs(20);

/// One product, three ticket fields, one entry (shared with the other
/// process-level tests).
const CONVOT: &str = include_str!("fixtures/escalation-kb/convot.yaml");

/// Every question about the widget is answered with the one entry.
struct Widget {
    kb: Arc<KnowledgeBase>,
}

impl Matching for Widget {
    fn kb(&self) -> &KnowledgeBase {
        &self.kb
    }

    fn find(&self, q: &Query<'_>) -> Match {
        let id = "convot/widget-not-appearing";
        if !q.text.to_lowercase().contains("widget") {
            return Match {
                decision: Decision::None,
                product: None,
                results: Vec::new(),
                check: None,
            };
        }
        Match {
            decision: Decision::Answer,
            product: Some("convot".into()),
            results: vec![Candidate {
                id: id.into(),
                title: self.kb.entry(id).unwrap().title.clone(),
                score: 0.9,
            }],
            check: None,
        }
    }
}

/// The real clock, moved forward by a test.
#[derive(Default)]
struct MovableClock {
    ahead: Mutex<time::Duration>,
}

impl Clock for MovableClock {
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc() + *self.ahead.lock().unwrap()
    }
}

fn config_text(dir: &Path) -> String {
    format!(
        "guild_id: {}\nsupport_role_id: {}\nstaff_channel_id: {}\nhelp_channels:\n  {}: convot\nkb: {}\n",
        ids::GUILD,
        ids::SUPPORT_ROLE,
        ids::STAFF_CHANNEL,
        ids::HELP_CHANNEL,
        dir.join("knowledge").display()
    )
}

/// One bot run in-process; `restart` starts the next on the same store,
/// clock and fake Discord.
struct Harness {
    fake: FakeDiscord,
    store: Arc<SqliteStore>,
    clock: Arc<MovableClock>,
    policy: Policy,
    dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), RunError>>>,
}

impl Harness {
    async fn ready(policy: Policy) -> Harness {
        if std::env::var_os("RUST_LOG").is_some() {
            triage::telemetry::init("warn");
        }
        let fake = FakeDiscord::start(FakeOptions::default()).await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("knowledge")).unwrap();
        std::fs::write(dir.path().join("knowledge/convot.yaml"), CONVOT).unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("triage.db")).unwrap());
        let mut h = Harness {
            fake,
            store,
            clock: Arc::default(),
            policy,
            dir,
            stop: None,
            task: None,
        };
        h.start().await;
        h
    }

    async fn start(&mut self) {
        let kb_dir = self.dir.path().join("knowledge");
        let kb = Arc::new(triage::kb::load_dir(&kb_dir).unwrap());
        let config = Config::parse_str(&config_text(self.dir.path())).unwrap();
        let core = Core {
            matcher: Arc::new(Widget { kb }),
            store: self.store.clone(),
            clock: self.clock.clone(),
        };
        let settings = Settings {
            config,
            connection: Connection {
                token: Token::new(self.fake.token()).unwrap(),
                api_base: Some(self.fake.base_url()),
                rest: self.policy.clone(),
            },
            kb_dir,
        };
        let mark = self.fake.mark();
        let (stop, stopped) = oneshot::channel::<()>();
        self.stop = Some(stop);
        self.task = Some(tokio::spawn(discord::run(settings, core, async {
            let _ = stopped.await;
        })));
        self.fake
            .wait_request_after(mark, T, |r| {
                r.is("PUT", "/applications/*/guilds/*/commands")
            })
            .await;
    }

    /// Stops the bot the way SIGTERM does.
    async fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(T, task)
                .await
                .expect("the bot stops in time")
                .unwrap()
                .unwrap();
        }
    }

    async fn restart(&mut self) {
        self.stop().await;
        self.start().await;
    }

    async fn slash(&self, name: &str, options: Vec<Value>) -> Value {
        let id = self.fake.command_id(name);
        let ix = payloads::slash_command(
            self.fake.world(),
            ids::ALICE,
            ids::HELP_CHANNEL,
            id,
            name,
            options,
        );
        self.fake.dispatch("INTERACTION_CREATE", ix.clone());
        ix
    }

    fn say(&self, channel: u64, text: &str) -> Value {
        let m = payloads::message_create(self.fake.world(), ids::ALICE, channel, text);
        self.fake.dispatch("MESSAGE_CREATE", m.clone());
        m
    }

    /// Waits for the bot's post in `channel` containing `needle`, accepted.
    async fn posted(&self, channel: u64, needle: &str) -> Recorded {
        let path = format!("/channels/{channel}/messages");
        let needle = needle.to_owned();
        self.fake
            .wait_request(T, move |r| {
                r.is("POST", &path) && r.status == 200 && content(&r.body).contains(&needle)
            })
            .await
    }

    /// The ticket thread the bot opened (waits for it).
    async fn thread(&self) -> u64 {
        let created = self
            .fake
            .wait_request(T, |r| {
                r.is("POST", &format!("/channels/{}/threads", ids::HELP_CHANNEL)) && r.status == 201
            })
            .await;
        payloads::id_of(&created.response, "id")
    }

    /// Answers the three ticket questions in `thread`, one at a time.
    async fn answer_fields(&self, thread: u64) {
        for (answer, next) in [("app_12345", "2/3"), ("https://example.com/pricing", "3/3")] {
            self.say(thread, answer);
            self.posted(thread, next).await;
        }
        self.say(thread, "nothing in the console at all");
    }

    /// The texts of the messages in `channel`, as the fake holds them.
    fn texts(&self, channel: u64) -> Vec<String> {
        self.fake
            .messages_in(channel)
            .iter()
            .map(|m| format!("{} {}", content(m), m["embeds"]))
            .collect()
    }

    /// The same, of the messages everyone in the channel sees (not ephemeral).
    fn public_texts(&self, channel: u64) -> Vec<String> {
        self.fake
            .messages_in(channel)
            .iter()
            .filter(|m| m["flags"].as_u64().unwrap_or(0) & payloads::EPHEMERAL_FLAG == 0)
            .map(|m| format!("{} {}", content(m), m["embeds"]))
            .collect()
    }

    /// Requests to `method pattern` whose body contains `needle`, in order.
    fn attempts(&self, method: &str, pattern: &str, needle: &str) -> Vec<Recorded> {
        self.fake
            .requests()
            .into_iter()
            .filter(|r| r.is(method, pattern) && r.body.to_string().contains(needle))
            .collect()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

fn content(body: &Value) -> &str {
    body["content"].as_str().unwrap_or("")
}

/// Exactly one of `texts` contains each needle, and in this order.
fn once_in_order(texts: &[String], needles: &[&str]) {
    let mut last = None;
    for n in needles {
        let hits: Vec<usize> = texts
            .iter()
            .enumerate()
            .filter(|(_, t)| t.contains(n))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            hits.len(),
            1,
            "`{n}` should appear exactly once in {texts:#?}"
        );
        assert!(last < Some(hits[0]), "`{n}` is out of order in {texts:#?}");
        last = Some(hits[0]);
    }
}

/// Prints how many attempts a faulted call took and the latency the fault
/// added (first attempt to the accepted one, by the fake's clock).
fn figure(fault: &str, attempts: &[Recorded]) {
    let ok = attempts
        .iter()
        .position(|r| (200..300).contains(&r.status))
        .unwrap_or(attempts.len().saturating_sub(1));
    let added = attempts
        .get(ok)
        .zip(attempts.first())
        .map_or(Duration::ZERO, |(b, a)| b.at.duration_since(a.at));
    eprintln!(
        "FIGURE {fault}: {} attempts, added latency {} ms",
        ok + 1,
        added.as_millis()
    );
}

const GREETING: &str = "this thread is where the support team";
const PING: &str = "is ready for the support team";

/// A 500, then success, on each part of an escalation: the thread greeting,
/// the first question, the summary with the support role's ping, and the
/// staff channel's summary. Each is retried by the REST layer and appears
/// exactly once; the ticket is delivered whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_on_each_part_of_an_escalation_is_retried_and_posted_once() {
    let h = Harness::ready(Policy::default()).await;
    let e500 = payloads::error_body(0, "500: Internal Server Error");
    for needle in [GREETING, "1/3", PING] {
        h.fake.inject(
            "POST",
            "/channels/*/messages",
            Some(needle),
            Fault::Answer,
            500,
            e500.clone(),
            1,
        );
    }
    let staff = format!("/channels/{}/messages", ids::STAFF_CHANNEL);
    h.fake
        .inject("POST", &staff, None, Fault::Answer, 500, e500, 1);

    let ix = h.slash("escalate", vec![]).await;
    let tid = h.thread().await;
    h.posted(tid, "1/3").await;
    h.answer_fields(tid).await;
    h.posted(ids::STAFF_CHANNEL, "Ticket").await;
    h.posted(tid, PING).await;

    once_in_order(&h.texts(tid), &[GREETING, "1/3", "2/3", "3/3", PING]);
    once_in_order(&h.texts(ids::STAFF_CHANNEL), &["Ticket"]);
    let thread_path = format!("/channels/{tid}/messages");
    for (fault, needle, path) in [
        ("500 on the thread greeting", GREETING, thread_path.as_str()),
        ("500 on the first question", "1/3", thread_path.as_str()),
        (
            "500 on the summary with the ping",
            PING,
            thread_path.as_str(),
        ),
        ("500 on the staff summary", "Ticket", staff.as_str()),
    ] {
        let tries = h.attempts("POST", path, needle);
        assert_eq!(tries.len(), 2, "{fault}: one failure, one success");
        assert_eq!((tries[0].status, tries[1].status), (500, 200));
        assert_eq!(
            tries[0].body["nonce"], tries[1].body["nonce"],
            "the retry is the same message"
        );
        assert_eq!(tries[1].body["enforce_nonce"], true);
        figure(fault, &tries);
    }
    // The private /escalate answer was the pointer, edited into the deferral.
    let pointer = h.fake.original_message(&ix).unwrap();
    assert!(content(&pointer).contains(&format!("<#{tid}>")));
    assert!(
        !h.public_texts(ids::HELP_CHANNEL)
            .iter()
            .any(|t| t.contains(&format!("<#{tid}>"))),
        "nothing private in public"
    );
    let mut h = h;
    h.stop().await;
    // Stopped: every handler finished its writes.
    assert!(h
        .store
        .undelivered(time::OffsetDateTime::UNIX_EPOCH)
        .unwrap()
        .is_empty());
    h.fake.assert_no_violations();
}

/// 429s behind a rate-limit proxy (bodies without `code`, with the
/// `Retry-After` and `X-RateLimit-*` headers): a per-route one on a field
/// question and a global one on the staff summary. Both are waited out and
/// sent once; during the global pause nothing at all is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_from_a_proxy_are_waited_out_and_global_ones_pause_every_send() {
    let mut h = Harness::ready(Policy::default()).await;
    // As twilight-http-proxy and nirn-proxy answer: no `code`.
    let limited = |global: bool| json!({"message": "You are being rate limited.", "retry_after": 0.3, "global": global});
    h.fake.inject(
        "POST",
        "/channels/*/messages",
        Some("1/3"),
        Fault::Answer,
        429,
        limited(false),
        1,
    );
    let staff = format!("/channels/{}/messages", ids::STAFF_CHANNEL);
    h.fake
        .inject("POST", &staff, None, Fault::Answer, 429, limited(true), 1);

    h.slash("escalate", vec![]).await;
    let tid = h.thread().await;
    h.posted(tid, "1/3").await;
    h.answer_fields(tid).await;
    h.posted(ids::STAFF_CHANNEL, "Ticket").await;
    h.posted(tid, PING).await;

    once_in_order(&h.texts(tid), &[GREETING, "1/3", "2/3", "3/3", PING]);
    once_in_order(&h.texts(ids::STAFF_CHANNEL), &["Ticket"]);
    let question = h.attempts("POST", &format!("/channels/{tid}/messages"), "1/3");
    assert_eq!(
        question.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200]
    );
    assert!(
        question[0].response.get("code").is_none(),
        "the proxy's body had no code"
    );
    figure("429 per route (proxy body, retry_after 0.3 s)", &question);
    let summary = h.attempts("POST", &staff, "Ticket");
    assert_eq!(
        summary.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200]
    );
    figure("429 global (retry_after 0.3 s)", &summary);
    // The global pause: no request of any kind reached Discord between the
    // 429 and the end of its retry_after (the fake's clock, not a timing).
    let limited_at = summary[0].at;
    let during: Vec<String> = h
        .fake
        .requests()
        .iter()
        .filter(|r| r.at > limited_at && r.at < limited_at + Duration::from_millis(300))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        during.is_empty(),
        "sent during a global rate limit: {during:?}"
    );
    h.stop().await;
    h.fake.assert_no_violations();
}

/// The connection breaks on an interaction callback: once after Discord
/// took it (the retry is refused as already acknowledged, which counts as
/// done) and once before (the retry is the answer). Each command is
/// answered exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_error_on_the_callback_is_retried_and_answered_once() {
    let mut h = Harness::ready(Policy::default()).await;
    for applied in [true, false] {
        h.fake.inject(
            "POST",
            "/interactions/*/*/callback",
            None,
            Fault::Reset { applied },
            200,
            Value::Null,
            1,
        );
        let ix = h
            .slash(
                "diagnose",
                vec![opt_string("symptom", "the widget is missing")],
            )
            .await;
        let path = format!(
            "/interactions/{}/{}/callback",
            payloads::id_of(&ix, "id"),
            ix["token"].as_str().unwrap()
        );
        h.fake
            .wait_request(T, |r| r.is("POST", &path) && r.status != 0)
            .await;
        // Then a sentinel from the same user, handled after it.
        let sentinel = h
            .slash(
                "diagnose",
                vec![opt_string("symptom", "nothing to do with it")],
            )
            .await;
        h.fake.wait_callback(&sentinel, T).await;
        let tries: Vec<Recorded> = h
            .fake
            .requests()
            .into_iter()
            .filter(|r| r.is("POST", &path))
            .collect();
        assert_eq!(tries.len(), 2, "one broken attempt, one retry");
        let answer = h.fake.original_message(&ix).expect("answered");
        assert!(answer["embeds"][0]["title"]
            .as_str()
            .unwrap()
            .contains("widget"));
        assert_ne!(
            answer["flags"].as_u64().unwrap_or(0) & payloads::EPHEMERAL_FLAG,
            0,
            "still private"
        );
        assert!(
            !h.public_texts(ids::HELP_CHANNEL)
                .iter()
                .any(|t| t.contains("widget")),
            "nothing private in public"
        );
        let what = if applied {
            "network error after the callback landed (40060 on retry)"
        } else {
            "network error before the callback landed"
        };
        assert_eq!(tries[1].status, if applied { 400 } else { 204 }, "{what}");
        figure(what, &tries);
    }
    h.stop().await;
    h.fake.assert_no_violations();
}

/// A reply cut off halfway (Discord refused the first question: the bot
/// lacked a permission) resumes after a restart from the first part not
/// out: in the same thread, no second thread, nothing posted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_delivered_reply_resumes_after_a_restart_without_a_second_thread() {
    let mut h = Harness::ready(Policy::default()).await;
    h.fake.inject(
        "POST",
        "/channels/*/messages",
        Some("1/3"),
        Fault::Answer,
        403,
        payloads::error_body(50013, "Missing Permissions"),
        1,
    );
    h.slash("escalate", vec![]).await;
    let tid = h.thread().await;
    h.fake
        .wait_request(T, |r| r.status == 403 && content(&r.body).contains("1/3"))
        .await;
    assert_eq!(
        h.store
            .undelivered(time::OffsetDateTime::UNIX_EPOCH)
            .unwrap()
            .len(),
        1,
        "not delivered"
    );
    h.restart().await;
    h.posted(tid, "1/3").await;
    h.answer_fields(tid).await;
    h.posted(tid, PING).await;
    let threads = h.attempts(
        "POST",
        &format!("/channels/{}/threads", ids::HELP_CHANNEL),
        "",
    );
    assert_eq!(threads.len(), 1, "one thread for the conversation");
    once_in_order(&h.texts(tid), &[GREETING, "1/3", "2/3", "3/3", PING]);
    figure(
        "restart with a half-delivered reply",
        &h.attempts("POST", &format!("/channels/{tid}/messages"), "1/3"),
    );
    h.stop().await;
    h.fake.assert_no_violations();
}

/// The private answer to `/escalate` (the pointer to the thread) could not
/// be edited into the deferral; after a restart within the token's 15
/// minutes it goes out as a private follow-up, and the questions follow in
/// the same thread. Nothing of it is posted in the channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_reply_is_reposted_privately_after_a_restart() {
    let quick = Policy {
        budget: Duration::from_millis(600),
        ..Policy::default()
    };
    let mut h = Harness::ready(quick).await;
    h.fake.inject(
        "PATCH",
        "/webhooks/*/*/messages/@original",
        None,
        Fault::Answer,
        500,
        payloads::error_body(0, "500: Internal Server Error"),
        1000,
    );
    let ix = h.slash("escalate", vec![]).await;
    let tid = h.thread().await;
    // The bot gave up on the edit within its budget and told the user.
    h.fake
        .wait_request(T, |r| {
            r.is("POST", "/webhooks/*/*") && content(&r.body).contains("went wrong")
        })
        .await;
    h.fake.clear_overrides();
    h.restart().await;
    let token = ix["token"].as_str().unwrap().to_owned();
    let follow = h
        .fake
        .wait_request(T, |r| {
            r.is("POST", &format!("/webhooks/*/{token}"))
                && content(&r.body).contains(&format!("<#{tid}>"))
        })
        .await;
    assert_ne!(
        follow.body["flags"].as_u64().unwrap_or(0) & payloads::EPHEMERAL_FLAG,
        0,
        "private"
    );
    h.posted(tid, "1/3").await;
    assert!(
        !h.public_texts(ids::HELP_CHANNEL)
            .iter()
            .any(|t| t.contains(&format!("<#{tid}>"))),
        "never public"
    );
    once_in_order(&h.texts(tid), &[GREETING, "1/3"]);
    let edits = h.attempts(
        "PATCH",
        "/webhooks/*/*/messages/@original",
        &format!("<#{tid}>"),
    );
    figure(
        "500 on a private edit until the budget (0.6 s) is spent",
        &edits,
    );
    h.stop().await;
    h.fake.assert_no_violations();
}

/// The same, when the restart comes after the token expired (the clock is
/// moved 16 minutes on): the private part is dropped, never posted in the
/// channel; the thread's questions still go out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_reply_is_dropped_once_its_token_expired() {
    let quick = Policy {
        budget: Duration::from_millis(600),
        ..Policy::default()
    };
    let mut h = Harness::ready(quick).await;
    h.fake.inject(
        "PATCH",
        "/webhooks/*/*/messages/@original",
        None,
        Fault::Answer,
        500,
        payloads::error_body(0, "500: Internal Server Error"),
        1000,
    );
    let ix = h.slash("escalate", vec![]).await;
    let tid = h.thread().await;
    h.fake
        .wait_request(T, |r| {
            r.is("POST", "/webhooks/*/*") && content(&r.body).contains("went wrong")
        })
        .await;
    h.fake.clear_overrides();
    *h.clock.ahead.lock().unwrap() = time::Duration::minutes(16);
    h.restart().await;
    h.posted(tid, "1/3").await;
    let token = ix["token"].as_str().unwrap().to_owned();
    let pointer = format!("<#{tid}>");
    assert!(
        h.attempts("POST", &format!("/webhooks/*/{token}"), &pointer)
            .is_empty(),
        "dropped"
    );
    assert!(
        !h.public_texts(ids::HELP_CHANNEL)
            .iter()
            .any(|t| t.contains(&pointer)),
        "never public"
    );
    h.stop().await;
    assert!(h
        .store
        .undelivered(time::OffsetDateTime::UNIX_EPOCH)
        .unwrap()
        .is_empty());
    h.fake.assert_no_violations();
}

/// A click whose work fails (the ticket thread cannot be opened) ends with
/// an edit of the deferred response saying what happened, never a spinner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_whose_work_fails_ends_with_an_edit_saying_so() {
    let mut h = Harness::ready(Policy::default()).await;
    let ix = h
        .slash(
            "diagnose",
            vec![opt_string("symptom", "the widget is missing")],
        )
        .await;
    h.fake.wait_callback(&ix, T).await;
    let msg = h.fake.original_message(&ix).unwrap();
    let broken = payloads::custom_ids(&msg)
        .into_iter()
        .map(|(id, _)| id)
        .find(|id| id.starts_with("t:esc:"))
        .unwrap();
    h.fake.inject(
        "POST",
        "/channels/*/threads",
        None,
        Fault::Answer,
        403,
        payloads::error_body(50013, "Missing Permissions"),
        1,
    );
    let click = payloads::button_click(h.fake.world(), ids::ALICE, &msg, &broken);
    h.fake.dispatch("INTERACTION_CREATE", click.clone());
    let cb = h.fake.wait_callback(&click, T).await;
    assert_eq!(cb.body["type"], 5, "deferred");
    let edit = h
        .fake
        .wait_request(T, |r| r.is("PATCH", "/webhooks/*/*/messages/@original"))
        .await;
    assert!(
        content(&edit.body).contains("could not open a ticket thread"),
        "{}",
        edit.body
    );
    h.stop().await;
    h.fake.assert_no_violations();
}

/// Kills the bot process if a test fails before it is done with it.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[cfg(unix)]
fn spawn_bot(fake: &FakeDiscord, config: &Path) -> KillOnDrop {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .env("TRIAGE_MODEL", "shipped")
        .args(["run", "--config"])
        .arg(config)
        .env("DISCORD_TOKEN", fake.token())
        .env("DISCORD_API_BASE", fake.base_url())
        .env("RUST_LOG", "warn")
        .env_remove("TRIAGE_DB")
        .env_remove("TRIAGE_KB")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    KillOnDrop(Some(child))
}

/// SIGKILL between a post and its record: the first question reached
/// Discord, which never answered before the process died. The next start
/// resumes the reply and sends that question again with the same nonce;
/// Discord (`enforce_nonce`) returns the first message instead of posting
/// it twice. One thread, one question, in order.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_a_post_and_its_record_posts_it_once() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("knowledge")).unwrap();
    std::fs::write(dir.path().join("knowledge/convot.yaml"), CONVOT).unwrap();
    let cfg = format!(
        "{}db: {}\n",
        config_text(dir.path()),
        dir.path().join("triage.db").display()
    );
    let config = dir.path().join("triage.yaml");
    std::fs::write(&config, cfg).unwrap();
    fake.inject(
        "POST",
        "/channels/*/messages",
        Some("1/3"),
        Fault::Stall,
        200,
        Value::Null,
        1,
    );

    let mut bot = spawn_bot(&fake, &config);
    fake.wait_request(T, |r| r.is("PUT", "/applications/*/guilds/*/commands"))
        .await;
    let ix = payloads::slash_command(
        fake.world(),
        ids::ALICE,
        ids::HELP_CHANNEL,
        fake.command_id("escalate"),
        "escalate",
        vec![],
    );
    fake.dispatch("INTERACTION_CREATE", ix);
    // The question is posted in Discord; its answer never reaches the bot.
    let stalled = fake
        .wait_request(T, |r| r.status == 0 && content(&r.body).contains("1/3"))
        .await;
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &bot.0.as_ref().unwrap().id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = bot.0.take().unwrap().wait();

    let mark = fake.mark();
    let _bot = spawn_bot(&fake, &config);
    let again = fake
        .wait_request_after(mark, T, |r| {
            r.is("POST", &stalled.path) && content(&r.body).contains("1/3")
        })
        .await;
    assert_eq!(
        again.body["nonce"], stalled.body["nonce"],
        "the same part, the same nonce"
    );
    assert_eq!(again.status, 200);
    let tid = payloads::id_of(&fake.threads()[0], "id");
    let texts: Vec<String> = fake
        .messages_in(tid)
        .iter()
        .map(|m| content(m).to_owned())
        .collect();
    once_in_order(&texts, &[GREETING, "1/3"]);
    assert_eq!(fake.threads().len(), 1, "no second thread");
    let tries: Vec<Recorded> = fake
        .requests()
        .into_iter()
        .filter(|r| r.is("POST", &stalled.path) && content(&r.body).contains("1/3"))
        .collect();
    figure("SIGKILL between a post and its record", &tries);
    // The customer carries on in the same thread.
    let mark = fake.mark();
    fake.dispatch(
        "MESSAGE_CREATE",
        payloads::message_create(fake.world(), ids::ALICE, tid, "app_12345"),
    );
    fake.wait_request_after(mark, T, |r| {
        r.is("POST", &stalled.path) && content(&r.body).contains("2/3")
    })
    .await;
    fake.assert_no_violations();
}

/// A refused RESUME: the session is gone while the customer answers the
/// first question. The bot re-identifies (about 5 s, serenity's wait),
/// reads the ticket thread since the last message it saw, and takes the
/// answer, once; the ticket is filed with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_typed_while_the_session_could_not_resume_still_counts_once() {
    let mut h = Harness::ready(Policy::default()).await;
    h.slash("escalate", vec![]).await;
    let tid = h.thread().await;
    let asked = h.posted(tid, "1/3").await;
    let identified = h.fake.connections();
    h.fake.invalidate_session();
    h.fake.drop_connection().await;
    // Typed during the gap: stored by Discord, never dispatched.
    h.fake.store_message(payloads::message_create(
        h.fake.world(),
        ids::ALICE,
        tid,
        "app_12345",
    ));
    h.fake.wait_gateway_op_count(2, 2, T).await;
    assert!(h.fake.connections() > identified);
    let taken = h.posted(tid, "2/3").await;
    eprintln!(
        "FIGURE refused RESUME: answer typed in the gap taken {} ms after the question (re-identify included)",
        taken.at.duration_since(asked.at).as_millis()
    );
    let history = h
        .fake
        .wait_request(T, |r| {
            r.is("GET", &format!("/channels/{tid}/messages")) && r.query.contains("after=")
        })
        .await;
    assert_eq!(history.status, 200);
    h.say(tid, "https://example.com/pricing");
    h.posted(tid, "3/3").await;
    h.say(tid, "nothing in the console at all");
    h.posted(tid, PING).await;
    once_in_order(&h.texts(tid), &[GREETING, "1/3", "2/3", "3/3", PING]);
    h.stop().await;
    let ticket = &h.store.tickets(None).unwrap()[0];
    assert_eq!(ticket.field("app_key"), Some("app_12345"));
    h.fake.assert_no_violations();
}

/// 30 questions from one member in 2 seconds: the first 5 (the default
/// `help_answers_per_minute`) are answered, the rest ignored; a minute later
/// (the injected clock moved on) the member is answered again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_flooding_a_help_channel_gets_at_most_n_answers_a_minute() {
    let mut h = Harness::ready(Policy::default()).await;
    let sent: Vec<Value> = (0..30)
        .map(|i| h.say(ids::HELP_CHANNEL, &format!("the widget is missing ({i})")))
        .collect();
    // Handled after all 30 (one line per member and channel), and not a
    // help-channel question: its answer says the 30 were dealt with.
    let sentinel = h
        .slash(
            "diagnose",
            vec![opt_string("symptom", "the widget is missing")],
        )
        .await;
    h.fake.wait_callback(&sentinel, T).await;
    *h.clock.ahead.lock().unwrap() = time::Duration::seconds(61);
    let last = h.say(ids::HELP_CHANNEL, "the widget is missing again");
    let path = format!("/channels/{}/messages", ids::HELP_CHANNEL);
    let last_id = last["id"].clone();
    h.fake
        .wait_request(T, |r| {
            r.is("POST", &path) && r.body["message_reference"]["message_id"] == last_id
        })
        .await;
    let answered: Vec<usize> = sent
        .iter()
        .enumerate()
        .filter(|(_, m)| {
            h.fake.requests().iter().any(|r| {
                r.is("POST", &path) && r.body["message_reference"]["message_id"] == m["id"]
            })
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(answered, [0, 1, 2, 3, 4], "the first five, once each");
    h.stop().await;
    h.fake.assert_no_violations();
}
