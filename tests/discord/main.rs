//! The Discord bot at the wire: the real serenity/poise client, pointed at
//! the fake Discord on 127.0.0.1, played by test users. Asserts on the REST
//! bodies the bot sends and on the fake's OpenAPI check. No sleeps: every
//! wait is for a condition.
//!
//! This file holds what the tests share: the fixture knowledge base and
//! config (tests/fixtures/discord-kb, through the shared support module),
//! the scripted matcher, the in-process `Harness` and the body helpers. The
//! tests are in the topic modules declared below.

#[path = "../support/fake_discord/mod.rs"]
mod fake_discord;
#[path = "../support/bot_fixture.rs"]
mod fixture;

mod delivery;
mod diagnose;
mod escalation;
mod staff;
mod startup;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fake_discord::payloads::{self, ids, opt_focused, opt_string, opt_subcommand};
use fake_discord::{FakeDiscord, FakeOptions, Recorded, World};
use fixture::{
    content, custom_id_starting, is_ephemeral, BotTask, KillOnDrop, Workdir, C2C, CONVOT,
};
use serde_json::{json, Value};

use triage::config::Config;
use triage::discord::{Connection, Core, RunError, Settings, Token};
use triage::engine::{Matching, SystemClock};
use triage::kb::KnowledgeBase;
use triage::matcher::{Candidate, Decision, Match, Query};
use triage::tickets::{QueryRecord, SqliteStore, Store, TicketStatus};

/// How long any one condition may take. Generous: a loaded CI machine.
const T: Duration = Duration::from_secs(15);

/// The fixture knowledge base: both products (tests/fixtures/discord-kb).
const KB_FILES: [(&str, &str); 2] = [("convot.yaml", CONVOT), ("c2c.yaml", C2C)];

/// The fixture knowledge base written to `to`, a directory a test may break.
fn write_kb(to: &Path) {
    fixture::write_kb(to, &KB_FILES);
}

/// The fake guild with a help channel for Convot and a forum for c2c.
fn config_text() -> String {
    fixture::config_text(&[(ids::HELP_CHANNEL, "convot"), (ids::FORUM_CHANNEL, "c2c")])
}

/// A matcher with fixed answers, so these tests do not depend on the
/// scorer's tuning: "widget is missing" answers, "something odd" suggests,
/// anything else is `none`. "adblock" pinpoints the entry's second check.
struct Scripted {
    kb: Arc<KnowledgeBase>,
}

const ANSWERED: &str = "convot/widget-not-appearing";
const SUGGESTED: [&str; 3] = [
    "convot/widget-not-appearing",
    "convot/mobile-widget-missing",
    "convot/realtime-delayed",
];

impl Matching for Scripted {
    fn kb(&self) -> &KnowledgeBase {
        &self.kb
    }

    fn find(&self, q: &Query<'_>) -> Match {
        let t = q.text.to_lowercase();
        // A matcher (or a store) that takes its time.
        if t.contains("slowly") {
            std::thread::sleep(Duration::from_millis(700));
        }
        let (decision, ids): (Decision, &[&str]) = if t.contains("widget is missing") {
            (Decision::Answer, &SUGGESTED[..2])
        } else if t.contains("something odd") {
            (Decision::Suggest, &SUGGESTED)
        } else {
            (Decision::None, &[])
        };
        let results: Vec<Candidate> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Candidate {
                id: (*id).into(),
                title: self.kb.entry(id).unwrap().title.clone(),
                score: 0.9 - i as f32 * 0.1,
            })
            .collect();
        let check = (t.contains("adblock") && decision == Decision::Answer)
            .then(|| self.kb.entry(ANSWERED).unwrap().checks[1].id.clone());
        Match {
            decision,
            product: results.first().map(|c| c.id.product().into()),
            results,
            check,
        }
    }
}

/// The bot running in-process against a fake Discord.
struct Harness {
    fake: FakeDiscord,
    bot: BotTask,
    store: Arc<SqliteStore>,
    kb_dir: PathBuf,
    _work: Workdir,
}

impl Harness {
    async fn start() -> Harness {
        Harness::start_with(FakeOptions::default(), None).await
    }

    /// `token`: what the bot sends (default: the one the fake accepts).
    async fn start_with(opts: FakeOptions, token: Option<&str>) -> Harness {
        Harness::start_seeded(opts, token, |_| {}).await
    }

    /// Like `start_with`, with `seed` run on the core (its store) before
    /// the bot starts: what a previous run left behind.
    async fn start_seeded(
        opts: FakeOptions,
        token: Option<&str>,
        seed: impl FnOnce(&Core),
    ) -> Harness {
        fixture::log_if_asked();
        let fake = FakeDiscord::start(opts).await;
        let work = Workdir::new(&KB_FILES);
        let kb = work.load_kb();
        let config = Config::parse_str(&config_text()).unwrap();
        config.validate(&kb).unwrap();
        let store = work.open_store();
        let core = Core {
            matcher: Arc::new(Scripted { kb }),
            store: store.clone(),
            clock: Arc::new(SystemClock),
        };
        seed(&core);
        let settings = Settings {
            config,
            connection: Connection {
                token: Token::new(token.unwrap_or(fake.token())).unwrap(),
                ..fixture::connection(&fake)
            },
            kb_dir: work.kb_dir.clone(),
        };
        Harness {
            bot: BotTask::spawn(settings, core),
            fake,
            store,
            kb_dir: work.kb_dir.clone(),
            _work: work,
        }
    }

    /// Started and commands registered: the bot is ready for users.
    async fn ready() -> Harness {
        let h = Harness::start().await;
        h.fake
            .wait_request(T, |r| r.is("PUT", "/applications/*/guilds/*/commands"))
            .await;
        h
    }

    fn world(&self) -> &World {
        self.fake.world()
    }

    /// Dispatches `ix` as an interaction and waits for the bot's callback.
    async fn interact(&self, ix: &Value) -> Recorded {
        self.fake.dispatch("INTERACTION_CREATE", ix.clone());
        self.fake.wait_callback(ix, T).await
    }

    /// A slash command by `user` in `channel`, not yet dispatched.
    fn slash_ix(&self, user: u64, channel: u64, name: &str, options: Vec<Value>) -> Value {
        let id = self.fake.command_id(name);
        payloads::slash_command(self.world(), user, channel, id, name, options)
    }

    /// Dispatches a slash command and returns it with the bot's callback.
    async fn slash(
        &self,
        user: u64,
        channel: u64,
        name: &str,
        options: Vec<Value>,
    ) -> (Value, Recorded) {
        let ix = self.slash_ix(user, channel, name, options);
        let cb = self.interact(&ix).await;
        (ix, cb)
    }

    /// `/diagnose symptom` run by `user` in the help channel.
    async fn diagnose(&self, user: u64, symptom: &str) -> (Value, Recorded) {
        self.slash(
            user,
            ids::HELP_CHANNEL,
            "diagnose",
            vec![opt_string("symptom", symptom)],
        )
        .await
    }

    async fn slash_in_thread(
        &self,
        user: u64,
        thread: &Value,
        name: &str,
        options: Vec<Value>,
    ) -> (Value, Recorded) {
        let id = self.fake.command_id(name);
        let ix = payloads::slash_command_in_thread(self.world(), user, thread, id, name, options);
        let cb = self.interact(&ix).await;
        (ix, cb)
    }

    /// `/ticket sub` run by `user` in `thread`; returns the bot's callback.
    async fn ticket_in_thread(&self, user: u64, thread: &Value, sub: Value) -> Recorded {
        let (_, cb) = self
            .slash_in_thread(user, thread, "ticket", vec![sub])
            .await;
        cb
    }

    /// Clicks a button of `message` and returns the interaction with the callback.
    async fn click(&self, user: u64, message: &Value, custom_id: &str) -> (Value, Recorded) {
        let ix = payloads::button_click(self.world(), user, message, custom_id);
        let cb = self.interact(&ix).await;
        (ix, cb)
    }

    /// Posts a message as `user` and returns it.
    fn say(&self, user: u64, channel: u64, text: &str) -> Value {
        let m = payloads::message_create(self.world(), user, channel, text);
        self.fake.dispatch("MESSAGE_CREATE", m.clone());
        m
    }

    /// The next message the bot posts in `channel` after `mark`.
    async fn bot_post_after(&self, mark: usize, channel: u64) -> Recorded {
        let path = format!("/channels/{channel}/messages");
        self.fake
            .wait_request_after(mark, T, |r| {
                r.method == "POST" && r.path == path && r.status == 200
            })
            .await
    }

    /// The first post in `channel` after `mark` whose content holds `needle`
    /// (whatever the fake answered).
    async fn post_containing_after(&self, mark: usize, channel: u64, needle: &str) -> Recorded {
        let path = format!("/channels/{channel}/messages");
        self.fake
            .wait_request_after(mark, T, |r| {
                r.is("POST", &path) && content(&r.body).contains(needle)
            })
            .await
    }

    /// The bot's request after `mark` opening a thread in the help channel.
    async fn help_thread_after(&self, mark: usize) -> Recorded {
        let path = format!("/channels/{}/threads", ids::HELP_CHANNEL);
        self.fake
            .wait_request_after(mark, T, |r| r.is("POST", &path))
            .await
    }

    /// The bot's edit of an interaction's original response after `mark`
    /// (how a deferred interaction gets its answer).
    async fn original_edit_after(&self, mark: usize) -> Recorded {
        self.fake
            .wait_request_after(mark, T, |r| {
                r.is("PATCH", "/webhooks/*/*/messages/@original")
            })
            .await
    }

    /// A new post in the forum by `user`: the thread is created (dispatched)
    /// and its starter message returned, not yet dispatched, with the post's id.
    fn open_forum_post(&self, user: u64, title: &str, text: &str) -> (u64, Value) {
        let post_id = payloads::next_id();
        let thread = payloads::thread(
            self.world(),
            post_id,
            ids::FORUM_CHANNEL,
            user,
            title,
            payloads::channel_type::PUBLIC_THREAD,
        );
        self.fake
            .dispatch("THREAD_CREATE", payloads::thread_create(&thread));
        let mut starter = payloads::message_create(self.world(), user, post_id, text);
        starter["id"] = json!(post_id.to_string());
        (post_id, starter)
    }

    /// How many messages posted to any channel reply to the message `id`.
    fn replies_to(&self, id: &Value) -> usize {
        self.fake
            .requests()
            .iter()
            .filter(|r| {
                r.is("POST", "/channels/*/messages")
                    && r.body["message_reference"]["message_id"] == *id
            })
            .count()
    }

    /// The whole query log.
    fn queries(&self) -> Vec<QueryRecord> {
        self.store
            .queries_since(time::OffsetDateTime::UNIX_EPOCH)
            .unwrap()
    }

    /// Stops the bot the way SIGTERM does and returns what `run` returned.
    async fn stop(mut self) -> Result<(), RunError> {
        let result = self.bot.stop(T).await.unwrap();
        self.fake.assert_no_violations();
        result
    }
}

fn no_pings(body: &Value) {
    let am = &body["allowed_mentions"];
    assert_eq!(am["parse"], json!([]), "mentions not disabled: {body}");
    assert_eq!(am["roles"], json!([]), "roles may be pinged: {body}");
}
