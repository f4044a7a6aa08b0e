//! Reliability at the wire: one end-to-end test per REST and gateway fault,
//! the real serenity client against the fake Discord, which injects it.
//! Each test asserts that every expected message appears exactly once, in
//! order, and that nothing private was posted in public. Each prints the
//! attempts the faulted call took and the latency the fault added, from
//! the fake's own records (`FIGURE …` lines; `cargo test --test wire_faults
//! -- --nocapture | grep FIGURE`). Nothing here asserts wall-clock time.
//!
//! This file holds what the tests share: the config, the matcher and the
//! movable clock, the in-process `Harness`, and the helpers that check
//! order and print the figures (the fixture knowledge base and the bot's
//! task come from the shared support module). The tests are in the topic
//! modules declared below.

#[path = "../support/fake_discord/mod.rs"]
mod fake_discord;
#[path = "../support/bot_fixture.rs"]
mod fixture;

mod gateway;
mod restarts;
mod retries;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_discord::payloads::{self, ids, opt_string};
use fake_discord::{FakeDiscord, FakeOptions, Fault, Recorded};
use fixture::{content, BotTask, KillOnDrop, Workdir, ESCALATION_CONVOT};
use serde_json::{json, Value};

use triage::config::Config;
use triage::discord::{rest::Policy, Connection, Core, Settings};
use triage::engine::{Clock, Matching};
use triage::kb::KnowledgeBase;
use triage::matcher::{Candidate, Decision, Match, Query};
use triage::tickets::{SqliteStore, Store};

/// How long any one condition may take: generous, for a loaded machine.
const T: Duration = Duration::from_secs(20);

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

/// The fake guild with one help channel, for Convot, and the knowledge
/// base in `dir`/knowledge.
fn config_text(dir: &Path) -> String {
    format!(
        "{}kb: {}\n",
        fixture::config_text(&[(ids::HELP_CHANNEL, "convot")]),
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
    work: Workdir,
    bot: Option<BotTask>,
}

impl Harness {
    async fn ready(policy: Policy) -> Harness {
        fixture::log_if_asked();
        let fake = FakeDiscord::start(FakeOptions::default()).await;
        let work = Workdir::new(&[("convot.yaml", ESCALATION_CONVOT)]);
        let store = work.open_store();
        let mut h = Harness {
            fake,
            store,
            clock: Arc::default(),
            policy,
            work,
            bot: None,
        };
        h.start().await;
        h
    }

    async fn start(&mut self) {
        let kb = self.work.load_kb();
        let config = Config::parse_str(&config_text(self.work.path())).unwrap();
        let core = Core {
            matcher: Arc::new(Widget { kb }),
            store: self.store.clone(),
            clock: self.clock.clone(),
        };
        let settings = Settings {
            config,
            connection: Connection {
                rest: self.policy.clone(),
                ..fixture::connection(&self.fake)
            },
            kb_dir: self.work.kb_dir.clone(),
        };
        let mark = self.fake.mark();
        self.bot = Some(BotTask::spawn(settings, core));
        self.fake
            .wait_request_after(mark, T, |r| {
                r.is("PUT", "/applications/*/guilds/*/commands")
            })
            .await;
    }

    /// Stops the bot the way SIGTERM does.
    async fn stop(&mut self) {
        if let Some(bot) = &mut self.bot {
            if let Some(r) = bot.stop(T).await {
                r.unwrap();
            }
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
        if let Some(bot) = &mut self.bot {
            bot.signal();
        }
    }
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
