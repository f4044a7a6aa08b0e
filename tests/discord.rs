//! The Discord bot at the wire: the real serenity/poise client, pointed at
//! the fake Discord on 127.0.0.1, played by test users. Asserts on the REST
//! bodies the bot sends and on the fake's OpenAPI check. No sleeps: every
//! wait is for a condition.

#[path = "support/fake_discord/mod.rs"]
mod fake_discord;

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

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_checks_the_token_then_registers_commands_in_the_guild() {
    let h = Harness::start().await;
    let put = h
        .fake
        .wait_request(T, |r| r.is("PUT", "/applications/*/guilds/*/commands"))
        .await;
    assert_eq!(put.segment(3), Some(ids::GUILD.to_string().as_str()));
    let cmds = put.body.as_array().unwrap();
    let names: Vec<&str> = cmds.iter().map(|c| c["name"].as_str().unwrap()).collect();
    for n in ["diagnose", "Diagnose", "kb", "escalate", "ticket", "stats"] {
        assert!(names.contains(&n), "{n} not registered: {names:?}");
    }
    let by_name = |n: &str| cmds.iter().find(|c| c["name"] == n).unwrap();
    assert_eq!(
        by_name("Diagnose")["type"],
        3,
        "a message context-menu command"
    );
    // Staff commands are hidden from members without Manage Threads.
    for n in ["ticket", "stats"] {
        assert_eq!(
            by_name(n)["default_member_permissions"],
            json!((1u64 << 34).to_string())
        );
    }
    assert!(by_name("diagnose")["options"][0]["autocomplete"] == json!(true));
    // The token was checked before connecting, and every call carried it.
    let reqs = h.fake.requests();
    assert!(
        reqs[0].is("GET", "/users/@me"),
        "first request: {} {}",
        reqs[0].method,
        reqs[0].path
    );
    assert!(reqs
        .iter()
        .all(|r| r.header("authorization") == Some("Bot fake-token")));
    let identify = h.fake.wait_gateway_op(2, T).await;
    let intents = identify.d()["intents"].as_u64().unwrap();
    assert_eq!(
        intents,
        (1 << 0) | (1 << 9) | (1 << 15),
        "GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT"
    );
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnose_answers_with_the_checklist_pinpointed_check_first() {
    let h = Harness::ready().await;
    let (_, cb) = h
        .slash(
            ids::ALICE,
            ids::HELP_CHANNEL,
            "diagnose",
            vec![opt_string("symptom", "my widget is missing, adblock?")],
        )
        .await;
    assert_eq!(cb.status, 204);
    assert_eq!(cb.body["type"], 4);
    let data = &cb.body["data"];
    assert!(is_ephemeral(data), "a diagnosis for yourself is ephemeral");
    no_pings(data);
    let embed = &data["embeds"][0];
    let entry = triage::kb::load_dir(&h.kb_dir)
        .unwrap()
        .entry(ANSWERED)
        .unwrap()
        .clone();
    assert_eq!(embed["title"], entry.title.as_str());
    let desc = embed["description"].as_str().unwrap();
    assert!(
        desc.starts_with(&format!("**1. {}**", entry.checks[1].cause)),
        "pinpointed check first: {desc}"
    );
    assert!(desc.contains("this matches what you described"));
    let ids: Vec<String> = payloads::custom_ids(data)
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    for prefix in ["t:solved:", "t:esc:", "t:more:", "t:tried:"] {
        assert!(
            ids.iter().any(|i| i.starts_with(prefix)),
            "{prefix} missing in {ids:?}"
        );
    }
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnose_offers_choices_and_a_pick_shows_the_checklist() {
    let h = Harness::ready().await;
    let (ix, cb) = h
        .slash(
            ids::ALICE,
            ids::HELP_CHANNEL,
            "diagnose",
            vec![opt_string("symptom", "something odd with chat")],
        )
        .await;
    let buttons: Vec<String> = payloads::custom_ids(&cb.body["data"])
        .into_iter()
        .map(|(i, _)| i)
        .filter(|i| i.starts_with("t:pick:"))
        .collect();
    assert_eq!(buttons.len(), 3, "one button per suggestion");
    let msg = h.fake.original_message(&ix).unwrap();
    let pick = buttons.iter().find(|b| b.ends_with(SUGGESTED[1])).unwrap();
    let (_, cb) = h.click(ids::ALICE, &msg, pick).await;
    assert_eq!(cb.status, 204);
    let title = cb.body["data"]["embeds"][0]["title"].as_str().unwrap();
    let kb = triage::kb::load_dir(&h.kb_dir).unwrap();
    assert_eq!(title, kb.entry(SUGGESTED[1]).unwrap().title);
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnose_with_no_match_says_so_and_offers_escalation() {
    let h = Harness::ready().await;
    let (_, cb) = h
        .slash(
            ids::ALICE,
            ids::HELP_CHANNEL,
            "diagnose",
            vec![opt_string("symptom", "how do I bake bread")],
        )
        .await;
    let data = &cb.body["data"];
    assert!(content(data).contains("couldn't match"), "{data}");
    assert!(data["embeds"].as_array().is_none_or(|e| e.is_empty()));
    let ids = payloads::custom_ids(data);
    assert!(
        ids.iter()
            .any(|(i, kind)| i.starts_with("t:esc:") && *kind == 2),
        "{ids:?}"
    );
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_offers_entries_by_id() {
    let h = Harness::ready().await;
    let id = h.fake.command_id("diagnose");
    let ix = payloads::autocomplete(
        h.world(),
        ids::ALICE,
        ids::HELP_CHANNEL,
        id,
        "diagnose",
        vec![opt_focused("symptom", "my widget is missing")],
    );
    h.fake.dispatch("INTERACTION_CREATE", ix.clone());
    let cb = h.fake.wait_callback(&ix, T).await;
    assert_eq!(cb.body["type"], 8);
    let choices = cb.body["data"]["choices"].as_array().unwrap();
    assert_eq!(choices[0]["value"], ANSWERED);
    assert!(choices
        .iter()
        .all(|c| c["name"].as_str().unwrap().chars().count() <= 100));
    // Picking it runs /diagnose with the id: the entry is shown directly.
    let (_, cb) = h
        .slash(
            ids::ALICE,
            ids::HELP_CHANNEL,
            "diagnose",
            vec![opt_string("symptom", ANSWERED)],
        )
        .await;
    let kb = triage::kb::load_dir(&h.kb_dir).unwrap();
    assert_eq!(
        cb.body["data"]["embeds"][0]["title"],
        kb.entry(ANSWERED).unwrap().title.as_str()
    );
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solved_is_acknowledged_and_recorded() {
    let h = Harness::ready().await;
    let (ix, _) = h
        .slash(
            ids::ALICE,
            ids::HELP_CHANNEL,
            "diagnose",
            vec![opt_string("symptom", "widget is missing")],
        )
        .await;
    let msg = h.fake.original_message(&ix).unwrap();
    let solved = custom_id_starting(&msg, "t:solved:");
    let (_, cb) = h.click(ids::ALICE, &msg, &solved).await;
    assert_eq!(cb.status, 204);
    assert!(content(&cb.body["data"]).contains("Glad"), "{}", cb.body);
    let q = h
        .store
        .queries_since(time::OffsetDateTime::UNIX_EPOCH)
        .unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].feedback, Some(triage::tickets::Feedback::Solved));
    // Someone else's click is refused without touching the conversation.
    let (_, cb) = h.click(ids::OWNER, &msg, &solved).await;
    assert!(is_ephemeral(&cb.body["data"]));
    assert!(content(&cb.body["data"]).contains("belong to"));
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tried_checks_update_the_answer_in_place_and_other_matches_are_offered() {
    let h = Harness::ready().await;
    let (ix, _) = h
        .slash(
            ids::ALICE,
            ids::HELP_CHANNEL,
            "diagnose",
            vec![opt_string("symptom", "widget is missing")],
        )
        .await;
    let msg = h.fake.original_message(&ix).unwrap();
    let tried = custom_id_starting(&msg, "t:tried:");
    let sel = payloads::select_choice(h.world(), ids::ALICE, &msg, &tried, &["2"]);
    h.fake.dispatch("INTERACTION_CREATE", sel.clone());
    let cb = h.fake.wait_callback(&sel, T).await;
    assert_eq!(cb.body["type"], 7, "the answer is updated in place");
    let data = &cb.body["data"];
    assert!(content(data).contains("Noted"), "{data}");
    let desc = data["embeds"][0]["description"].as_str().unwrap();
    assert!(desc.contains("✓ _tried_"), "{desc}");
    let menu = &data["components"][0]["components"][0];
    assert_eq!(
        menu["options"][1]["default"], true,
        "the tried check stays selected: {menu}"
    );

    let msg = h.fake.original_message(&ix).unwrap();
    let more = custom_id_starting(&msg, "t:more:");
    let (_, cb) = h.click(ids::ALICE, &msg, &more).await;
    let picks: Vec<String> = payloads::custom_ids(&cb.body["data"])
        .into_iter()
        .map(|(i, _)| i)
        .filter(|i| i.starts_with("t:pick:"))
        .collect();
    assert_eq!(picks.len(), 1, "the other candidate: {picks:?}");
    assert!(picks[0].ends_with(SUGGESTED[1]));
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forum_post_is_answered_in_the_post_and_edits_are_ignored() {
    let h = Harness::ready().await;
    let post_id = payloads::next_id();
    let thread = payloads::thread(
        h.world(),
        post_id,
        ids::FORUM_CHANNEL,
        ids::ALICE,
        "Widget gone",
        payloads::channel_type::PUBLIC_THREAD,
    );
    h.fake
        .dispatch("THREAD_CREATE", payloads::thread_create(&thread));
    let mut starter = payloads::message_create(
        h.world(),
        ids::ALICE,
        post_id,
        "my widget is missing since friday",
    );
    starter["id"] = json!(post_id.to_string());
    let mark = h.fake.mark();
    h.fake.dispatch("MESSAGE_CREATE", starter.clone());
    let answer = h.bot_post_after(mark, post_id).await;
    assert_eq!(
        answer.body["message_reference"]["message_id"],
        starter["id"]
    );
    assert!(answer.body["embeds"][0]["title"].is_string());
    // Editing the post does not ask again; someone else in the post is not asked.
    h.fake.dispatch(
        "MESSAGE_UPDATE",
        payloads::message_update(&starter, "my widget is missing, still"),
    );
    h.say(ids::OWNER, post_id, "same here, widget is missing");
    // A later question in the help channel is answered, so the two above were handled.
    let mark = h.fake.mark();
    h.say(ids::ALICE, ids::HELP_CHANNEL, "widget is missing again");
    h.bot_post_after(mark, ids::HELP_CHANNEL).await;
    let posts_in_thread = h
        .fake
        .requests()
        .iter()
        .filter(|r| r.is("POST", &format!("/channels/{post_id}/messages")))
        .count();
    assert_eq!(posts_in_thread, 1);
    assert_eq!(
        h.store
            .queries_since(time::OffsetDateTime::UNIX_EPOCH)
            .unwrap()
            .len(),
        2
    );
    h.stop().await.unwrap();
}

/// In a forum post the post itself is the ticket thread: no new thread,
/// no rename, and `/ticket` run there finds the ticket by its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalating_in_a_forum_post_stays_in_the_post() {
    let h = Harness::ready().await;
    let post_id = payloads::next_id();
    let thread = payloads::thread(
        h.world(),
        post_id,
        ids::FORUM_CHANNEL,
        ids::ALICE,
        "Call widget",
        payloads::channel_type::PUBLIC_THREAD,
    );
    h.fake
        .dispatch("THREAD_CREATE", payloads::thread_create(&thread));
    let mut starter = payloads::message_create(h.world(), ids::ALICE, post_id, "widget is missing");
    starter["id"] = json!(post_id.to_string());
    let mark = h.fake.mark();
    h.fake.dispatch("MESSAGE_CREATE", starter);
    let answer = h.bot_post_after(mark, post_id).await;
    let answer_msg = answer.response.clone();
    let broken = custom_id_starting(&answer_msg, "t:esc:");
    let mark = h.fake.mark();
    let (_, cb) = h.click(ids::ALICE, &answer_msg, &broken).await;
    assert_eq!(cb.status, 204);
    // The questions come right there, as follow-ups to the click.
    let first = h
        .fake
        .wait_request_after(mark, T, |r| {
            r.is("POST", "/webhooks/*/*") && content(&r.body).contains("1/3")
        })
        .await;
    assert!(!is_ephemeral(&first.body), "the post is public");
    for (answer, next) in [("app_12345", "2/3"), ("https://example.com/x", "3/3")] {
        let m = h.fake.mark();
        h.say(ids::ALICE, post_id, answer);
        assert!(content(&h.bot_post_after(m, post_id).await.body).contains(next));
    }
    h.say(ids::ALICE, post_id, "nothing in the console at all");
    let staff = h.bot_post_after(mark, ids::STAFF_CHANNEL).await;
    assert!(staff.body["embeds"][0].to_string().contains("app_12345"));
    let reqs = h.fake.requests();
    assert!(
        !reqs.iter().any(|r| r.is("POST", "/channels/*/threads")),
        "no thread inside the post"
    );
    assert!(
        !reqs
            .iter()
            .any(|r| r.is("PATCH", &format!("/channels/{post_id}"))),
        "the post keeps its title"
    );
    let ping = reqs
        .iter()
        .find(|r| {
            r.body["allowed_mentions"]["roles"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        })
        .expect("the support role is pinged");
    assert_eq!(ping.path, format!("/channels/{post_id}/messages"));
    let post = h.fake.thread(post_id).unwrap();
    let (_, cb) = h
        .slash_in_thread(
            ids::BOB,
            &post,
            "ticket",
            vec![opt_subcommand("claim", vec![])],
        )
        .await;
    assert!(content(&cb.body["data"]).contains("claimed"), "{}", cb.body);
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_diagnose_for_a_customer_is_public_and_theirs() {
    let h = Harness::ready().await;
    let (ix, cb) = h
        .slash(
            ids::BOB,
            ids::HELP_CHANNEL,
            "diagnose",
            vec![
                opt_string("symptom", "widget is missing"),
                payloads::opt_user("for", ids::ALICE),
            ],
        )
        .await;
    let data = &cb.body["data"];
    assert!(!is_ephemeral(data), "the customer must see it");
    assert!(content(data).starts_with(&format!("<@{}>", ids::ALICE)));
    assert_eq!(
        data["allowed_mentions"]["users"],
        json!([ids::ALICE.to_string()])
    );
    assert_eq!(data["allowed_mentions"]["parse"], json!([]));
    // The buttons are the customer's.
    let msg = h.fake.original_message(&ix).unwrap();
    let solved = custom_id_starting(&msg, "t:solved:");
    let (_, cb) = h.click(ids::ALICE, &msg, &solved).await;
    assert!(content(&cb.body["data"]).contains("Glad"));
    // A customer cannot diagnose for someone else.
    let (_, cb) = h
        .slash(
            ids::ALICE,
            ids::HELP_CHANNEL,
            "diagnose",
            vec![
                opt_string("symptom", "widget is missing"),
                payloads::opt_user("for", ids::OWNER),
            ],
        )
        .await;
    assert!(is_ephemeral(&cb.body["data"]));
    assert!(content(&cb.body["data"]).contains("Only the support team"));
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_diagnose_on_a_customers_message_replies_to_it() {
    let h = Harness::ready().await;
    let question = h.say(
        ids::ALICE,
        ids::STAFF_CHANNEL,
        "hi, my widget is missing since yesterday",
    );
    let mark = h.fake.mark();
    let ix = payloads::message_command(
        h.world(),
        ids::BOB,
        h.fake.command_id("Diagnose"),
        "Diagnose",
        &question,
    );
    h.fake.dispatch("INTERACTION_CREATE", ix.clone());
    let cb = h.fake.wait_callback(&ix, T).await;
    assert_eq!(cb.body["type"], 5, "deferred");
    assert!(is_ephemeral(&cb.body["data"]));
    let post = h.bot_post_after(mark, ids::STAFF_CHANNEL).await;
    assert_eq!(post.body["message_reference"]["message_id"], question["id"]);
    assert!(post.body["embeds"][0]["title"].is_string());
    // The answer's buttons belong to the customer, not to staff.
    let ids_in: Vec<String> = payloads::custom_ids(&post.body)
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    let alice36 = radix36(ids::ALICE);
    assert!(
        ids_in.iter().all(|i| i.contains(&format!(".{alice36}"))),
        "{ids_in:?}"
    );
    let edit = h
        .fake
        .wait_request_after(mark, T, |r| {
            r.is("PATCH", "/webhooks/*/*/messages/@original")
        })
        .await;
    assert!(content(&edit.body).contains("Answered"));
    let q = h
        .store
        .queries_since(time::OffsetDateTime::UNIX_EPOCH)
        .unwrap();
    assert_eq!(q[0].key.user.as_str(), ids::ALICE.to_string());
    assert_eq!(q[0].asked_by.as_str(), ids::BOB.to_string());
    h.stop().await.unwrap();
}

/// Kills the bot process if a test fails before stopping it.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn radix36(mut n: u64) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    while n > 0 {
        out.push(digits[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

/// Still broken → a private thread with the customer; three fields, one
/// answered wrongly and re-asked; the summary in the thread (the one ping
/// of the support role) and in the staff channel; staff claim and close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn still_broken_escalates_in_a_thread_and_staff_claim_and_close_it() {
    let h = Harness::ready().await;
    let (ix, _) = h
        .slash(
            ids::ALICE,
            ids::HELP_CHANNEL,
            "diagnose",
            vec![opt_string("symptom", "widget is missing")],
        )
        .await;
    let msg = h.fake.original_message(&ix).unwrap();
    let broken = custom_id_starting(&msg, "t:esc:");
    let mark = h.fake.mark();
    let (click, cb) = h.click(ids::ALICE, &msg, &broken).await;
    assert_eq!(cb.body["type"], 5, "acknowledged before opening the thread");
    let created = h
        .fake
        .wait_request_after(mark, T, |r| {
            r.is("POST", &format!("/channels/{}/threads", ids::HELP_CHANNEL))
        })
        .await;
    assert_eq!(created.body["type"], 12, "private thread");
    assert_eq!(created.body["invitable"], false);
    let thread = created.response.clone();
    let tid = payloads::id_of(&thread, "id");
    h.fake
        .wait_request_after(mark, T, |r| {
            r.is(
                "PUT",
                &format!("/channels/{tid}/thread-members/{}", ids::ALICE),
            )
        })
        .await;
    let pointer = h
        .fake
        .wait_request_after(mark, T, |r| {
            r.is("PATCH", "/webhooks/*/*/messages/@original")
        })
        .await;
    assert!(
        content(&pointer.body).contains(&format!("<#{tid}>")),
        "{}",
        pointer.body
    );
    let _ = click;

    // The first question arrives in the thread.
    let first = h
        .fake
        .wait_request_after(mark, T, |r| {
            r.is("POST", &format!("/channels/{tid}/messages")) && content(&r.body).contains("1/3")
        })
        .await;
    assert!(content(&first.body).contains("App key"));
    no_pings(&first.body);

    // A wrong app key is refused with the reason and asked again.
    let mark = h.fake.mark();
    h.say(ids::ALICE, tid, "12345");
    let again = h.bot_post_after(mark, tid).await;
    assert!(
        content(&again.body).contains("starts with `app_`"),
        "{}",
        again.body
    );
    assert!(content(&again.body).contains("1/3"));

    let mark = h.fake.mark();
    h.say(ids::ALICE, tid, "app_12345");
    assert!(content(&h.bot_post_after(mark, tid).await.body).contains("2/3"));
    let mark = h.fake.mark();
    h.say(ids::ALICE, tid, "https://example.com/pricing");
    assert!(content(&h.bot_post_after(mark, tid).await.body).contains("3/3"));
    let mark = h.fake.mark();
    h.say(
        ids::ALICE,
        tid,
        "@everyone the console shows nothing at all",
    );

    // The hand-off: summary in the thread pinging the role, and in the staff channel.
    let staff_post = h.bot_post_after(mark, ids::STAFF_CHANNEL).await;
    no_pings(&staff_post.body);
    let summary = &staff_post.body["embeds"][0];
    let text = summary.to_string();
    for needle in [
        "Convot",
        "App key",
        "app_12345",
        "https://example.com/pricing",
        "@everyone the console",
        "widget is missing",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from the summary: {text}"
        );
    }
    assert!(content(&staff_post.body).contains(&format!("<#{tid}>")));
    let rename = h
        .fake
        .wait_request_after(mark, T, |r| r.is("PATCH", &format!("/channels/{tid}")))
        .await;
    assert!(
        rename.body["name"].as_str().unwrap().starts_with("#1 "),
        "{}",
        rename.body
    );
    let pings: Vec<Recorded> = h
        .fake
        .requests()
        .into_iter()
        .filter(|r| {
            r.method == "POST"
                && r.body["allowed_mentions"]["roles"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
        })
        .collect();
    assert_eq!(pings.len(), 1, "the support role is pinged exactly once");
    assert_eq!(pings[0].path, format!("/channels/{tid}/messages"));
    assert_eq!(
        pings[0].body["allowed_mentions"]["roles"],
        json!([ids::SUPPORT_ROLE.to_string()])
    );
    assert_eq!(
        pings[0].body["allowed_mentions"]["parse"],
        json!([]),
        "@everyone in a field pings nobody"
    );
    assert!(content(&pings[0].body).contains(&format!("<@&{}>", ids::SUPPORT_ROLE)));
    // Every message the bot sent anywhere had mentions restricted.
    for r in h
        .fake
        .requests()
        .iter()
        .filter(|r| r.is("POST", "/channels/*/messages"))
    {
        assert_eq!(r.body["allowed_mentions"]["parse"], json!([]), "{}", r.body);
    }

    // Staff claim and close in the thread; the customer sees it there.
    let thread = h.fake.thread(tid).unwrap();
    let (_, cb) = h
        .slash_in_thread(
            ids::BOB,
            &thread,
            "ticket",
            vec![opt_subcommand("claim", vec![])],
        )
        .await;
    assert_eq!(cb.status, 204);
    assert!(!is_ephemeral(&cb.body["data"]), "the customer is told");
    assert!(content(&cb.body["data"]).contains("claimed"), "{}", cb.body);
    let (_, cb) = h
        .slash_in_thread(
            ids::BOB,
            &thread,
            "ticket",
            vec![opt_subcommand(
                "close",
                vec![opt_string("reason", "fixed the CSP")],
            )],
        )
        .await;
    assert!(content(&cb.body["data"]).contains("closed"));
    assert!(content(&cb.body["data"]).contains("fixed the CSP"));
    let t = h.store.tickets(None).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].status, TicketStatus::Closed);
    assert_eq!(t[0].close_reason.as_deref(), Some("fixed the CSP"));
    assert_eq!(
        t[0].claimed_by.as_ref().map(|u| u.as_str().to_owned()),
        Some(ids::BOB.to_string())
    );
    // Reopened from the staff channel by number.
    let (_, cb) = h
        .slash(
            ids::BOB,
            ids::STAFF_CHANNEL,
            "ticket",
            vec![opt_subcommand(
                "reopen",
                vec![payloads::opt_integer("ticket", 1)],
            )],
        )
        .await;
    assert!(
        content(&cb.body["data"]).contains("reopened"),
        "{}",
        cb.body
    );
    assert_eq!(h.store.tickets(None).unwrap()[0].status, TicketStatus::Open);
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_without_the_support_role_is_refused_staff_commands() {
    let h = Harness::ready().await;
    let (_, cb) = h
        .slash(
            ids::ALICE,
            ids::HELP_CHANNEL,
            "ticket",
            vec![opt_subcommand(
                "claim",
                vec![payloads::opt_integer("ticket", 1)],
            )],
        )
        .await;
    assert!(is_ephemeral(&cb.body["data"]));
    assert!(content(&cb.body["data"]).contains("Only the support team"));
    let (_, cb) = h
        .slash(
            ids::ALICE,
            ids::HELP_CHANNEL,
            "kb",
            vec![opt_subcommand("reload", vec![])],
        )
        .await;
    assert!(content(&cb.body["data"]).contains("Only the support team"));
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_reports_the_query_log_to_staff() {
    let h = Harness::ready().await;
    for q in ["widget is missing", "something odd", "how do I bake bread"] {
        h.slash(
            ids::ALICE,
            ids::HELP_CHANNEL,
            "diagnose",
            vec![opt_string("symptom", q)],
        )
        .await;
    }
    let (_, cb) = h.slash(ids::BOB, ids::STAFF_CHANNEL, "stats", vec![]).await;
    let data = &cb.body["data"];
    assert!(is_ephemeral(data));
    let desc = data["embeds"][0]["description"].as_str().unwrap();
    assert!(desc.contains("**3** questions"), "{desc}");
    assert!(desc.contains("answer 1 · suggest 1 · none 1"), "{desc}");
    let (_, cb) = h
        .slash(ids::ALICE, ids::HELP_CHANNEL, "stats", vec![])
        .await;
    assert!(content(&cb.body["data"]).contains("Only the support team"));
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kb_reload_with_a_broken_knowledge_base_keeps_the_old_one() {
    let h = Harness::ready().await;
    let file = h.kb_dir.join("convot.yaml");
    let src = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, src.replacen("title:", "titel:", 1)).unwrap();
    let mark = h.fake.mark();
    let (ix, cb) = h
        .slash(
            ids::BOB,
            ids::STAFF_CHANNEL,
            "kb",
            vec![opt_subcommand("reload", vec![])],
        )
        .await;
    assert_eq!(cb.body["type"], 5);
    let _ = ix;
    let reply = h
        .fake
        .wait_request_after(mark, T, |r| {
            r.is("PATCH", "/webhooks/*/*/messages/@original")
        })
        .await;
    let text = content(&reply.body);
    assert!(text.contains("Kept the current knowledge base"), "{text}");
    assert!(
        text.contains("convot.yaml:"),
        "the problem is located: {text}"
    );
    // The old knowledge base still answers.
    let (_, cb) = h
        .slash(
            ids::ALICE,
            ids::HELP_CHANNEL,
            "kb",
            vec![opt_subcommand("show", vec![opt_string("entry", ANSWERED)])],
        )
        .await;
    assert!(cb.body["data"]["embeds"][0]["title"].is_string());
    // Fixed on disk, it reloads.
    std::fs::write(&file, src).unwrap();
    let mark = h.fake.mark();
    h.slash(
        ids::BOB,
        ids::STAFF_CHANNEL,
        "kb",
        vec![opt_subcommand("reload", vec![])],
    )
    .await;
    let reply = h
        .fake
        .wait_request_after(mark, T, |r| {
            r.is("PATCH", "/webhooks/*/*/messages/@original")
        })
        .await;
    assert!(content(&reply.body).contains("Reloaded"), "{}", reply.body);
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_help_channel_question_is_answered_and_bots_are_ignored() {
    let h = Harness::ready().await;
    let mark = h.fake.mark();
    let q = h.say(
        ids::ALICE,
        ids::HELP_CHANNEL,
        "the chat widget is missing on our shop",
    );
    let answer = h.bot_post_after(mark, ids::HELP_CHANNEL).await;
    assert_eq!(answer.body["message_reference"]["message_id"], q["id"]);
    assert!(answer.body["embeds"][0]["title"].is_string());
    no_pings(&answer.body);
    // The bot's own answer came back as MESSAGE_CREATE (the fake echoes it,
    // like Discord); another bot posting "widget is missing" is ignored too.
    let bot_msg = payloads::message_create(
        h.world(),
        ids::BOT_USER,
        ids::HELP_CHANNEL,
        "widget is missing",
    );
    h.fake.dispatch("MESSAGE_CREATE", bot_msg.clone());
    // A question nobody can answer: the channel stays quiet (humans answer).
    h.say(ids::ALICE, ids::HELP_CHANNEL, "how do I bake bread");
    // Staff answering in the channel are not asked anything.
    h.say(
        ids::BOB,
        ids::HELP_CHANNEL,
        "alice, the widget is missing because of the CSP",
    );
    // A later question is answered: everything before it has been handled.
    let mark2 = h.fake.mark();
    let q2 = h.say(ids::OWNER, ids::HELP_CHANNEL, "our widget is missing too");
    let a2 = h.bot_post_after(mark2, ids::HELP_CHANNEL).await;
    assert_eq!(a2.body["message_reference"]["message_id"], q2["id"]);
    // Different users' messages are handled concurrently: alice's quiet
    // question may still be in flight when the owner's answer is posted.
    // Wait (bounded) for the log to settle, then check what was logged.
    let mut queries = Vec::new();
    for _ in 0..100 {
        queries = h
            .store
            .queries_since(time::OffsetDateTime::UNIX_EPOCH)
            .unwrap();
        if queries.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let asked: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
    assert_eq!(
        asked.len(),
        3,
        "alice twice and the owner; not the bots, not staff: {asked:?}"
    );
    let replies_to = |id: &Value| {
        h.fake
            .requests()
            .iter()
            .filter(|r| {
                r.is("POST", "/channels/*/messages")
                    && r.body["message_reference"]["message_id"] == *id
            })
            .count()
    };
    assert_eq!(replies_to(&bot_msg["id"]), 0);
    assert_eq!(replies_to(&q["id"]), 1);
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_session_and_redelivered_events_answer_once() {
    let h = Harness::ready().await;
    h.fake.drop_connection().await;
    let resume = h.fake.wait_gateway_op(6, T).await;
    assert!(resume.d()["session_id"].is_string());
    h.fake.wait_dispatch_sent("RESUMED", T).await;

    // The same interaction delivered twice (Discord retrying after the
    // reconnect): one answer, and one conversation step in the store.
    let id = h.fake.command_id("diagnose");
    let ix = payloads::slash_command(
        h.world(),
        ids::ALICE,
        ids::HELP_CHANNEL,
        id,
        "diagnose",
        vec![opt_string("symptom", "widget is missing")],
    );
    h.fake.dispatch("INTERACTION_CREATE", ix.clone());
    h.fake.dispatch("INTERACTION_CREATE", ix.clone());
    // The same message delivered twice.
    let mark = h.fake.mark();
    let m = payloads::message_create(
        h.world(),
        ids::OWNER,
        ids::HELP_CHANNEL,
        "my widget is missing",
    );
    h.fake.dispatch("MESSAGE_CREATE", m.clone());
    h.fake.dispatch("MESSAGE_CREATE", m.clone());
    h.bot_post_after(mark, ids::HELP_CHANNEL).await;
    h.fake.wait_callback(&ix, T).await;
    // A sentinel after both: once it is answered, the duplicates have been handled.
    let mark = h.fake.mark();
    let s = h.say(ids::BOB, ids::STAFF_CHANNEL, "unrelated");
    let _ = s;
    let sentinel = payloads::slash_command(
        h.world(),
        ids::OWNER,
        ids::HELP_CHANNEL,
        id,
        "diagnose",
        vec![opt_string("symptom", "widget is missing")],
    );
    h.fake.dispatch("INTERACTION_CREATE", sentinel.clone());
    h.fake.wait_callback(&sentinel, T).await;
    let _ = mark;
    let callbacks = h
        .fake
        .requests()
        .iter()
        .filter(|r| {
            r.path
                .starts_with(&format!("/interactions/{}/", payloads::id_of(&ix, "id")))
        })
        .count();
    assert_eq!(callbacks, 1, "one response to a redelivered interaction");
    let replies = h
        .fake
        .requests()
        .iter()
        .filter(|r| {
            r.is("POST", "/channels/*/messages")
                && r.body["message_reference"]["message_id"] == m["id"]
        })
        .count();
    assert_eq!(replies, 1, "one reply to a redelivered message");
    let queries = h
        .store
        .queries_since(time::OffsetDateTime::UNIX_EPOCH)
        .unwrap();
    assert_eq!(
        queries.len(),
        3,
        "alice, the owner's message and the sentinel"
    );
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_stops_with_a_clear_error_instead_of_hanging() {
    // REST says 401: refused before connecting.
    let mut h = Harness::start_with(FakeOptions::default(), Some("not-the-token")).await;
    let result = tokio::time::timeout(T, h.task.take().unwrap())
        .await
        .expect("no hang")
        .unwrap();
    assert!(matches!(result, Err(RunError::InvalidToken)), "{result:?}");
    assert!(RunError::InvalidToken
        .to_string()
        .contains("rejected the bot token"));

    // The gateway closes with 4004 (a token revoked between the two).
    let opts = FakeOptions {
        reject_identify: true,
        ..FakeOptions::default()
    };
    let mut h = Harness::start_with(opts, None).await;
    let result = tokio::time::timeout(T, h.task.take().unwrap())
        .await
        .expect("no hang")
        .unwrap();
    assert!(matches!(result, Err(RunError::InvalidToken)), "{result:?}");
}

/// The shipped binary, as a separate process with `DISCORD_TOKEN` and
/// `DISCORD_API_BASE`, through a whole escalation; SIGTERM stops it cleanly.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_binary_escalates_end_to_end_and_stops_on_sigterm() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    write_kb(&dir.path().join("knowledge"));
    let cfg = format!("{}kb: knowledge\ndb: triage.db\n", config_text());
    std::fs::write(dir.path().join("triage.yaml"), cfg).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .env("TRIAGE_MODEL", "shipped")
        .args(["run", "--config"])
        .arg(dir.path().join("triage.yaml"))
        .env("DISCORD_TOKEN", fake.token())
        .env("DISCORD_API_BASE", fake.base_url())
        .env("RUST_LOG", "warn")
        .env_remove("TRIAGE_DB")
        .env_remove("TRIAGE_KB")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(Some(child));
    fake.wait_request(T, |r| r.is("PUT", "/applications/*/guilds/*/commands"))
        .await;
    let world = fake.world();

    let ix = payloads::slash_command(
        world,
        ids::ALICE,
        ids::HELP_CHANNEL,
        fake.command_id("escalate"),
        "escalate",
        vec![],
    );
    let mark = fake.mark();
    fake.dispatch("INTERACTION_CREATE", ix.clone());
    let created = fake
        .wait_request_after(mark, T, |r| {
            r.is("POST", &format!("/channels/{}/threads", ids::HELP_CHANNEL))
        })
        .await;
    let tid = payloads::id_of(&created.response, "id");
    let thread_path = format!("/channels/{tid}/messages");
    let asked = |needle: &'static str| {
        let thread_path = thread_path.clone();
        move |r: &Recorded| r.is("POST", &thread_path) && content(&r.body).contains(needle)
    };
    fake.wait_request_after(mark, T, asked("1/3")).await;
    for (answer, next) in [("app_98765", "2/3"), ("https://shop.example.com/", "3/3")] {
        let mark = fake.mark();
        fake.dispatch(
            "MESSAGE_CREATE",
            payloads::message_create(world, ids::ALICE, tid, answer),
        );
        fake.wait_request_after(mark, T, asked(next)).await;
    }
    let mark = fake.mark();
    fake.dispatch(
        "MESSAGE_CREATE",
        payloads::message_create(world, ids::ALICE, tid, "nothing in the console at all"),
    );
    let staff = fake
        .wait_request_after(mark, T, |r| {
            r.is(
                "POST",
                &format!("/channels/{}/messages", ids::STAFF_CHANNEL),
            )
        })
        .await;
    assert!(staff.body["embeds"][0].to_string().contains("app_98765"));

    let child = child.0.take().unwrap();
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = tokio::time::timeout(
        T,
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    .expect("exits after SIGTERM")
    .unwrap()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(
        !stderr.contains(fake.token()),
        "the token never appears in the logs"
    );
    // The ticket survived in the database the config names.
    let store = SqliteStore::open(&dir.path().join("triage.db")).unwrap();
    assert_eq!(store.tickets(None).unwrap().len(), 1);
    fake.assert_no_violations();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exits_with_code_3_on_a_rejected_token() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    write_kb(&dir.path().join("knowledge"));
    std::fs::write(
        dir.path().join("triage.yaml"),
        format!("{}kb: knowledge\ndb: triage.db\n", config_text()),
    )
    .unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_triage"));
    cmd.env("TRIAGE_MODEL", "shipped");
    cmd.args(["run", "--config"])
        .arg(dir.path().join("triage.yaml"))
        .env("DISCORD_TOKEN", "definitely-wrong")
        .env("DISCORD_API_BASE", fake.base_url());
    let out = tokio::time::timeout(T, tokio::task::spawn_blocking(move || cmd.output()))
        .await
        .expect("no hang")
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rejected the bot token"), "{stderr}");
    assert!(
        !stderr.contains("definitely-wrong"),
        "the token is never echoed"
    );
}

#[cfg(unix)]
#[test]
fn a_config_error_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("triage.yaml"),
        "support_role_id: 1\nstaff_channel: 2\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .env("TRIAGE_MODEL", "shipped")
        .args(["run", "--config"])
        .arg(dir.path().join("triage.yaml"))
        .env("DISCORD_TOKEN", "x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("staff_channel"), "{stderr}");
}

/// Opens a ticket thread with /escalate in the help channel and waits for
/// the first field prompt; returns the thread id.
async fn escalate_to_thread(h: &Harness) -> u64 {
    let mark = h.fake.mark();
    h.slash(ids::ALICE, ids::HELP_CHANNEL, "escalate", vec![])
        .await;
    let created = h
        .fake
        .wait_request_after(mark, T, |r| {
            r.is("POST", &format!("/channels/{}/threads", ids::HELP_CHANNEL))
        })
        .await;
    let tid = payloads::id_of(&created.response, "id");
    h.fake
        .wait_request_after(mark, T, |r| {
            r.is("POST", &format!("/channels/{tid}/messages")) && content(&r.body).contains("1/3")
        })
        .await;
    tid
}

/// The bot's posts in `channel` (accepted by the fake), in order.
fn posts_in(h: &Harness, channel: u64) -> Vec<String> {
    let path = format!("/channels/{channel}/messages");
    h.fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == path && r.status == 200)
        .map(|r| content(&r.body).to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_sent_in_a_burst_are_applied_in_order() {
    let h = Harness::ready().await;
    let tid = escalate_to_thread(&h).await;
    let mark = h.fake.mark();
    // Back to back, no wait between: Discord delivers them in this order.
    h.say(ids::ALICE, tid, "app_12345");
    h.say(ids::ALICE, tid, "https://example.com/pricing");
    h.fake
        .wait_request_after(mark, T, |r| {
            r.is("POST", &format!("/channels/{tid}/messages")) && content(&r.body).contains("3/3")
        })
        .await;
    let posts = posts_in(&h, tid);
    assert!(
        !posts.iter().any(|p| p.contains("starts with `app_`")),
        "an answer was applied to the wrong field: {posts:?}"
    );
    let two = posts.iter().position(|p| p.contains("2/3")).unwrap();
    let three = posts.iter().position(|p| p.contains("3/3")).unwrap();
    assert!(two < three, "{posts:?}");
    let mark = h.fake.mark();
    h.say(ids::ALICE, tid, "nothing in the console at all");
    h.bot_post_after(mark, ids::STAFF_CHANNEL).await;
    let t = &h.store.tickets(None).unwrap()[0];
    assert_eq!(t.field("app_key"), Some("app_12345"));
    assert_eq!(t.field("page_url"), Some("https://example.com/pricing"));
    h.stop().await.unwrap();
}

/// Discord fails the bot's answer (a 500 after the engine committed the
/// step); the redelivered message is answered then, exactly once, and a
/// further redelivery gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_that_failed_to_post_is_posted_on_redelivery_exactly_once() {
    let h = Harness::ready().await;
    let path = format!("/channels/{}/messages", ids::HELP_CHANNEL);
    h.fake.override_route_times(
        "POST",
        &path,
        500,
        payloads::error_body(0, "500: Internal Server Error"),
        1,
    );
    let mark = h.fake.mark();
    let m = h.say(ids::ALICE, ids::HELP_CHANNEL, "my widget is missing");
    h.fake
        .wait_request_after(mark, T, |r| r.is("POST", &path) && r.status == 500)
        .await;
    let answers = || {
        h.fake
            .requests()
            .iter()
            .filter(|r| {
                r.is("POST", &path)
                    && r.status == 200
                    && r.body["message_reference"]["message_id"] == m["id"]
            })
            .count()
    };
    assert_eq!(answers(), 0);
    // Discord redelivers the message (a resumed session replays it).
    let mark = h.fake.mark();
    h.fake.dispatch("MESSAGE_CREATE", m.clone());
    let answer = h.bot_post_after(mark, ids::HELP_CHANNEL).await;
    assert_eq!(answer.body["message_reference"]["message_id"], m["id"]);
    assert!(answer.body["embeds"][0]["title"].is_string());
    // Once more, then a sentinel from the same user in the same channel,
    // handled after it: the second redelivery posted nothing.
    h.fake.dispatch("MESSAGE_CREATE", m.clone());
    let mark = h.fake.mark();
    let sentinel = h.say(ids::ALICE, ids::HELP_CHANNEL, "widget is missing again");
    let s = h.bot_post_after(mark, ids::HELP_CHANNEL).await;
    assert_eq!(s.body["message_reference"]["message_id"], sentinel["id"]);
    assert_eq!(answers(), 1, "answered exactly once");
    assert_eq!(
        h.store
            .queries_since(time::OffsetDateTime::UNIX_EPOCH)
            .unwrap()
            .len(),
        2,
        "the redeliveries changed nothing"
    );
    // Marked delivered before the sentinel (next in line) was handled.
    let m_id = payloads::id_of(&m, "id").to_string();
    assert!(!h
        .store
        .undelivered(time::OffsetDateTime::UNIX_EPOCH)
        .unwrap()
        .iter()
        .any(|u| u.id.as_str() == m_id));
    h.stop().await.unwrap();
}

/// The process died between committing a step and posting its reply: the
/// next start posts it as a plain channel message (the interaction token
/// would be long gone), opening the ticket thread the reply needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_committed_before_a_restart_is_posted_at_startup() {
    let key =
        triage::engine::ConversationKey::new(ids::HELP_CHANNEL.to_string(), ids::ALICE.to_string());
    let h = Harness::start_seeded(FakeOptions::default(), None, |core| {
        let engine = triage::engine::Engine::new(
            core.matcher.clone(),
            core.store.clone(),
            core.clock.clone(),
        );
        let esc = triage::engine::Input::act("1", key.clone(), triage::engine::Action::Escalate)
            .in_product(Some("convot".into()));
        let r = engine.handle(&esc).unwrap();
        assert!(r.undelivered);
    })
    .await;
    let created = h
        .fake
        .wait_request(T, |r| {
            r.is("POST", &format!("/channels/{}/threads", ids::HELP_CHANNEL))
        })
        .await;
    let tid = payloads::id_of(&created.response, "id");
    h.fake
        .wait_request(T, |r| {
            r.is("POST", &format!("/channels/{tid}/messages")) && content(&r.body).contains("1/3")
        })
        .await;
    let pointer = h
        .fake
        .wait_request(T, |r| {
            r.is("POST", &format!("/channels/{}/messages", ids::HELP_CHANNEL))
                && content(&r.body).contains(&format!("<#{tid}>"))
        })
        .await;
    no_pings(&pointer.body);
    assert!(content(&pointer.body).starts_with(&format!("<@{}>", ids::ALICE)));
    assert_eq!(
        pointer.body["allowed_mentions"]["users"],
        json!([ids::ALICE.to_string()]),
        "the customer is told whose answer it is"
    );
    // The customer answers in the thread as usual.
    let mark = h.fake.mark();
    h.say(ids::ALICE, tid, "app_12345");
    assert!(content(&h.bot_post_after(mark, tid).await.body).contains("2/3"));
    let store = h.store.clone();
    h.stop().await.unwrap();
    assert!(store
        .undelivered(time::OffsetDateTime::UNIX_EPOCH)
        .unwrap()
        .is_empty());
}

/// `/ticket` in a ticket thread finds the ticket by the thread's id, so a
/// thread renamed by staff (no `#N` in its name) still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_works_in_a_renamed_ticket_thread() {
    let h = Harness::ready().await;
    let tid = escalate_to_thread(&h).await;
    for answer in [
        "app_12345",
        "https://example.com/pricing",
        "nothing in the console at all",
    ] {
        let mark = h.fake.mark();
        h.say(ids::ALICE, tid, answer);
        h.bot_post_after(mark, tid).await;
    }
    h.fake
        .wait_request(T, |r| {
            r.is(
                "POST",
                &format!("/channels/{}/messages", ids::STAFF_CHANNEL),
            )
        })
        .await;
    // Staff renamed the thread; Discord sends the new name with commands.
    let mut thread = h.fake.thread(tid).unwrap();
    thread["name"] = json!("alice: widget gone after the CSP change");
    h.fake.dispatch("THREAD_UPDATE", thread.clone());
    let (_, cb) = h
        .slash_in_thread(
            ids::BOB,
            &thread,
            "ticket",
            vec![opt_subcommand("claim", vec![])],
        )
        .await;
    assert!(content(&cb.body["data"]).contains("claimed"), "{}", cb.body);
    let t = &h.store.tickets(None).unwrap()[0];
    assert_eq!(t.status, TicketStatus::Claimed);
    h.stop().await.unwrap();
}

/// An interaction snowflake created `ago` before now (Discord's ids carry
/// their creation time).
fn snowflake_from(ago: Duration) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        - ago;
    let ms = now.as_millis() as u64 - 1_420_070_400_000;
    ((ms << 22) | (payloads::next_id() & 0x3f_ffff)).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interaction_that_waited_in_a_queue_is_acknowledged_by_its_age() {
    // The same slow answer (0.7 s): a fresh interaction gets it directly,
    // well inside the 1.5 s mark; one created 1.4 s before it reached the
    // bot (queued behind a burst) would pass that mark before the answer
    // is ready, so it is acknowledged first and its answer goes into the
    // deferred response.
    let h = Harness::ready().await;
    let diagnose = h.fake.command_id("diagnose");
    for (ago, deferred) in [(Duration::ZERO, false), (Duration::from_millis(1400), true)] {
        let mut ix = payloads::slash_command(
            h.world(),
            ids::ALICE,
            ids::HELP_CHANNEL,
            diagnose,
            "diagnose",
            vec![opt_string("symptom", "widget is missing, slowly")],
        );
        if !ago.is_zero() {
            ix["id"] = json!(snowflake_from(ago));
        }
        let mark = h.fake.mark();
        h.fake.dispatch("INTERACTION_CREATE", ix.clone());
        let cb = h.fake.wait_callback(&ix, T).await;
        if deferred {
            assert_eq!(cb.body["type"], 5, "acknowledged first: {}", cb.body);
            let answer = h
                .fake
                .wait_request_after(mark, T, |r| {
                    r.is("PATCH", "/webhooks/*/*/messages/@original")
                })
                .await;
            assert!(
                answer.body["embeds"][0]["title"].is_string(),
                "{}",
                answer.body
            );
        } else {
            assert_eq!(cb.body["type"], 4, "answered directly: {}", cb.body);
        }
    }
    h.fake.assert_no_violations();
    h.stop().await.unwrap();
}
