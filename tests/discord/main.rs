//! The Discord bot at the wire: the real serenity/poise client, pointed at
//! the fake Discord on 127.0.0.1, played by test users. Asserts on the REST
//! bodies the bot sends and on the fake's OpenAPI check. No sleeps: every
//! wait is for a condition.
//!
//! This file holds what the tests share: the fixture knowledge base and
//! config, the scripted matcher, the in-process `Harness` and the body
//! helpers. The tests are in the topic modules declared below.

#[path = "../support/fake_discord/mod.rs"]
mod fake_discord;

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
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use triage::config::Config;
use triage::discord::{self, Connection, Core, RunError, Settings, Token};
use triage::engine::{Matching, SystemClock};
use triage::kb::KnowledgeBase;
use triage::matcher::{Candidate, Decision, Match, Query};
use triage::tickets::{SqliteStore, Store, TicketStatus};

/// How long any one condition may take. Generous: a loaded CI machine.
const T: Duration = Duration::from_secs(15);

const CONFIG: &str = "
guild_id: {GUILD}
support_role_id: {ROLE}
staff_channel_id: {STAFF}
help_channels:
  {HELP}: convot
  {FORUM}: c2c
";

/// A small knowledge base of our own, so these tests do not move when the
/// shipped one is edited. Written to a temporary directory a test may break.
const CONVOT: &str = r#"
product:
  id: convot
  name: Convot chat widget
  ticket_fields:
    - id: app_key
      label: App key
      question: "What is your app key?"
      example: "app_12ab"
      validate:
        prefix: "app_"
        min_len: 5
        reason: "an app key starts with `app_`"
    - id: page_url
      label: Page URL
      question: "On which page should the widget appear?"
      example: "https://example.com/pricing"
      validate:
        format: url
        reason: "a full URL including https://"
    - id: console_output
      label: Browser console
      question: "What does the browser console show?"
      example: "no errors at all"
      validate:
        min_len: 10
        reason: "at least 10 characters, please"
entries:
  - id: convot/widget-not-appearing
    title: The chat widget doesn't show up on the site
    symptoms: [chat bubble not showing on my website]
    checks:
      - id: console-errors
        cause: "The snippet fails with a JavaScript error."
        verify: "Look in the browser console for errors mentioning convot."
        fix: "Fix what the error points at."
      - id: ad-blockers
        cause: "An ad blocker hides the widget."
        verify: "Open the page in a private window without extensions."
        fix: "Allow the site in the blocker."
      - id: csp
        cause: "The Content Security Policy blocks app.convot.com."
        verify: "Look for CSP messages in the console."
        fix: "Add app.convot.com to script-src and connect-src."
    guide:
      title: Installing the widget
      url: https://example.com/install
  - id: convot/mobile-widget-missing
    title: The widget shows on desktop but not on mobile
    symptoms: [no chat on phones]
    checks:
      - id: mobile-template
        cause: "The mobile template lacks the snippet."
        verify: "View the page source on a phone."
        fix: "Add the snippet to the mobile template."
  - id: convot/realtime-delayed
    title: Messages arrive late
    symptoms: [messages are slow]
    checks:
      - id: websocket
        cause: "A proxy blocks WebSockets."
        verify: "Check the network tab for a failed wss:// connection."
        fix: "Allow WebSockets to app.convot.com."
"#;

const C2C: &str = r#"
product:
  id: c2c
  name: c2c click-to-call
  ticket_fields:
    - id: app_id
      label: App ID
      question: "What is your App ID?"
      example: "abc123"
entries:
  - id: c2c/no-audio
    title: No audio on the call
    symptoms: [cannot hear the caller]
    checks:
      - id: mic
        cause: "The microphone permission was denied."
        verify: "Check the browser's site settings."
        fix: "Allow the microphone."
"#;

fn write_kb(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::write(to.join("convot.yaml"), CONVOT).unwrap();
    std::fs::write(to.join("c2c.yaml"), C2C).unwrap();
}

fn config_text() -> String {
    CONFIG
        .replace("{GUILD}", &ids::GUILD.to_string())
        .replace("{ROLE}", &ids::SUPPORT_ROLE.to_string())
        .replace("{STAFF}", &ids::STAFF_CHANNEL.to_string())
        .replace("{HELP}", &ids::HELP_CHANNEL.to_string())
        .replace("{FORUM}", &ids::FORUM_CHANNEL.to_string())
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
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), RunError>>>,
    store: Arc<SqliteStore>,
    kb_dir: PathBuf,
    _dir: tempfile::TempDir,
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
        // RUST_LOG=serenity=debug shows why an event went unanswered.
        if std::env::var_os("RUST_LOG").is_some() {
            triage::telemetry::init("warn");
        }
        let fake = FakeDiscord::start(opts).await;
        let dir = tempfile::tempdir().unwrap();
        let kb_dir = dir.path().join("knowledge");
        write_kb(&kb_dir);
        let kb = Arc::new(triage::kb::load_dir(&kb_dir).unwrap());
        let config = Config::parse_str(&config_text()).unwrap();
        config.validate(&kb).unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("triage.db")).unwrap());
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
                api_base: Some(fake.base_url()),
                rest: discord::rest::Policy::default(),
            },
            kb_dir: kb_dir.clone(),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(discord::run(settings, core, async {
            let _ = stopped.await;
        }));
        Harness {
            fake,
            stop: Some(stop),
            task: Some(task),
            store,
            kb_dir,
            _dir: dir,
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

    /// Dispatches a slash command and returns it with the bot's callback.
    async fn slash(
        &self,
        user: u64,
        channel: u64,
        name: &str,
        options: Vec<Value>,
    ) -> (Value, Recorded) {
        let id = self.fake.command_id(name);
        let ix = payloads::slash_command(self.world(), user, channel, id, name, options);
        self.fake.dispatch("INTERACTION_CREATE", ix.clone());
        let cb = self.fake.wait_callback(&ix, T).await;
        (ix, cb)
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
        self.fake.dispatch("INTERACTION_CREATE", ix.clone());
        let cb = self.fake.wait_callback(&ix, T).await;
        (ix, cb)
    }

    /// Clicks a button of `message` and returns the interaction with the callback.
    async fn click(&self, user: u64, message: &Value, custom_id: &str) -> (Value, Recorded) {
        let ix = payloads::button_click(self.world(), user, message, custom_id);
        self.fake.dispatch("INTERACTION_CREATE", ix.clone());
        let cb = self.fake.wait_callback(&ix, T).await;
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

    /// Stops the bot the way SIGTERM does and returns what `run` returned.
    async fn stop(mut self) -> Result<(), RunError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let task = self.task.take().unwrap();
        let result = tokio::time::timeout(T, task)
            .await
            .expect("the bot stops in time")
            .unwrap();
        self.fake.assert_no_violations();
        result
    }
}

fn custom_id_starting(message: &Value, prefix: &str) -> String {
    payloads::custom_ids(message)
        .into_iter()
        .map(|(id, _)| id)
        .find(|id| id.starts_with(prefix))
        .unwrap_or_else(|| panic!("no component `{prefix}…` in {message}"))
}

fn no_pings(body: &Value) {
    let am = &body["allowed_mentions"];
    assert_eq!(am["parse"], json!([]), "mentions not disabled: {body}");
    assert_eq!(am["roles"], json!([]), "roles may be pinged: {body}");
}

fn content(body: &Value) -> &str {
    body["content"].as_str().unwrap_or("")
}

fn is_ephemeral(data: &Value) -> bool {
    data["flags"].as_u64().unwrap_or(0) & payloads::EPHEMERAL_FLAG != 0
}
