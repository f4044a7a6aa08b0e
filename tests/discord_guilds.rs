//! One bot, several servers: each guild's role, staff channel, help
//! channels and products apply to its own events, its tickets and /stats
//! are its own, staff of one guild cannot touch another's tickets (by
//! number or by a button naming them), and a guild not in the config gets
//! nothing. Against the fake Discord, which serves the extra guilds with
//! the same channels; the payloads carry the guild the event is from.

#[path = "support/fake_discord/mod.rs"]
mod fake_discord;
#[path = "support/bot_fixture.rs"]
mod fixture;

use std::sync::Arc;
use std::time::Duration;

use fake_discord::payloads::{self, ids, opt_focused, opt_integer, opt_string, opt_subcommand};
use fake_discord::payloads::{Channel, Member, Role, User};
use fake_discord::{FakeDiscord, FakeOptions, Recorded, World};
use fixture::{content, BotTask, NoMatch, Workdir, C2C, ESCALATION_CONVOT};
use serde_json::{json, Value};

use triage::config::Config;
use triage::discord::{Core, Settings};
use triage::engine::SystemClock;
use triage::tickets::{SqliteStore, Store};

const T: Duration = Duration::from_secs(15);

/// Guild B: its own role, help and staff channels, a customer and a staff member.
const GUILD_B: u64 = 1_300_000_000_000_009_100;
const ROLE_B: u64 = 1_300_000_000_000_009_101;
const HELP_B: u64 = 1_300_000_000_000_009_201;
const STAFF_B: u64 = 1_300_000_000_000_009_202;
const CAROL: u64 = 1_300_000_000_000_009_302;
const DAVE: u64 = 1_300_000_000_000_009_303;
/// A guild the bot was invited to but is not configured for.
const GUILD_C: u64 = 1_300_000_000_000_008_100;

fn config_text() -> String {
    format!(
        "
guilds:
  {a}:
    support_role_id: {ra}
    staff_channel_id: {sa}
    help_channels: {{{ha}: convot}}
    products: [convot]
  {GUILD_B}:
    support_role_id: {ROLE_B}
    staff_channel_id: {STAFF_B}
    help_channels: {{{HELP_B}: c2c}}
    products: [c2c]
    escalation: public_thread
",
        a = ids::GUILD,
        ra = ids::SUPPORT_ROLE,
        sa = ids::STAFF_CHANNEL,
        ha = ids::HELP_CHANNEL,
    )
}

fn world() -> World {
    let mut w = World {
        other_guilds: vec![GUILD_B, GUILD_C],
        ..World::default()
    };
    w.roles.push(Role {
        id: ROLE_B,
        name: "Support B".into(),
        permissions: w.role(ids::SUPPORT_ROLE).unwrap().permissions,
        position: 3,
        bot_id: None,
    });
    for (id, name) in [(HELP_B, "help-b"), (STAFF_B, "staff-b")] {
        let mut c: Channel = w.channel(ids::HELP_CHANNEL).unwrap().clone();
        c.id = id;
        c.name = name.into();
        w.channels.push(c);
    }
    w.members
        .push(Member::new(User::person(CAROL, "carol"), vec![]));
    w.members
        .push(Member::new(User::person(DAVE, "dave"), vec![ROLE_B]));
    w
}

struct Harness {
    fake: FakeDiscord,
    bot: BotTask,
    store: Arc<SqliteStore>,
    _work: Workdir,
}

impl Harness {
    async fn ready() -> Harness {
        let fake = FakeDiscord::start(FakeOptions {
            world: world(),
            ..FakeOptions::default()
        })
        .await;
        // Each product asks one ticket field ("1/1"): c2c, and the
        // escalation fixture's Convot cut down to its app key.
        let convot = fixture::only_fields(ESCALATION_CONVOT, &["app_key"]);
        let work = Workdir::new(&[("convot.yaml", &convot), ("c2c.yaml", C2C)]);
        let kb = work.load_kb();
        let config = Config::parse_str(&config_text()).unwrap();
        config.validate(&kb).unwrap();
        let store = work.open_store();
        let core = Core {
            // Every question is a miss: these tests are about where things go.
            matcher: Arc::new(NoMatch(kb)),
            store: store.clone(),
            clock: Arc::new(SystemClock),
        };
        let settings = Settings {
            config,
            connection: fixture::connection(&fake),
            kb_dir: work.kb_dir.clone(),
        };
        let bot = BotTask::spawn(settings, core);
        // Commands are registered in each configured guild, and only there.
        for g in [ids::GUILD, GUILD_B] {
            let path = format!("/applications/*/guilds/{g}/commands");
            fake.wait_request(T, |r| r.is("PUT", &path)).await;
        }
        Harness {
            fake,
            bot,
            store,
            _work: work,
        }
    }

    fn world(&self) -> &World {
        self.fake.world()
    }

    /// A slash command as it arrives from `guild`.
    fn slash_ix(
        &self,
        guild: u64,
        user: u64,
        channel: u64,
        name: &str,
        options: Vec<Value>,
    ) -> Value {
        let id = self.fake.command_id(name);
        let ix = payloads::slash_command(self.world(), user, channel, id, name, options);
        in_guild(ix, guild)
    }

    async fn slash(
        &self,
        guild: u64,
        user: u64,
        channel: u64,
        name: &str,
        options: Vec<Value>,
    ) -> Recorded {
        let ix = self.slash_ix(guild, user, channel, name, options);
        self.interact(&ix).await
    }

    /// Dispatches `ix` as an interaction and waits for the bot's callback.
    async fn interact(&self, ix: &Value) -> Recorded {
        self.fake.dispatch("INTERACTION_CREATE", ix.clone());
        self.fake.wait_callback(ix, T).await
    }

    /// `/ticket sub ticket:n` by `user` in `channel` of `guild`.
    async fn ticket(&self, guild: u64, user: u64, channel: u64, sub: &str, n: i64) -> Recorded {
        let options = vec![opt_subcommand(sub, vec![opt_integer("ticket", n)])];
        self.slash(guild, user, channel, "ticket", options).await
    }

    async fn stop(mut self) {
        self.bot.stop(T).await.unwrap().unwrap();
        self.fake.assert_no_violations();
    }

    /// `/escalate` by `user` in a help channel of `guild`, then the one
    /// field answered in the thread; returns the thread and the ticket's
    /// summary as posted in `staff`.
    async fn escalate(
        &self,
        guild: u64,
        user: u64,
        help: u64,
        staff: u64,
        answer: &str,
    ) -> (u64, Recorded) {
        let mark = self.fake.mark();
        self.slash(guild, user, help, "escalate", vec![]).await;
        let created = self
            .fake
            .wait_request_after(mark, T, |r| {
                r.is("POST", &format!("/channels/{help}/threads"))
            })
            .await;
        let tid = payloads::id_of(&created.response, "id");
        self.fake
            .wait_request_after(mark, T, |r| {
                r.is("POST", &format!("/channels/{tid}/messages"))
                    && content(&r.body).contains("1/1")
            })
            .await;
        let m = in_guild(
            payloads::message_create(self.world(), user, tid, answer),
            guild,
        );
        self.fake.dispatch("MESSAGE_CREATE", m);
        let summary = self
            .fake
            .wait_request_after(mark, T, |r| {
                r.is("POST", &format!("/channels/{staff}/messages")) && r.status == 200
            })
            .await;
        (tid, summary)
    }

    /// Alice files a ticket in guild A, then Carol one in guild B: returns
    /// each one's thread and summary, A's first.
    async fn escalate_in_both(&self) -> [(u64, Recorded); 2] {
        let a = self
            .escalate(
                ids::GUILD,
                ids::ALICE,
                ids::HELP_CHANNEL,
                ids::STAFF_CHANNEL,
                "app_12345",
            )
            .await;
        let b = self
            .escalate(GUILD_B, CAROL, HELP_B, STAFF_B, "abc123")
            .await;
        [a, b]
    }
}

/// The payload as if it came from `guild`.
fn in_guild(mut v: Value, guild: u64) -> Value {
    v["guild_id"] = json!(guild.to_string());
    if v["data"].get("guild_id").is_some() {
        v["data"]["guild_id"] = json!(guild.to_string());
    }
    v
}

fn posts_in(h: &Harness, channel: u64) -> Vec<Value> {
    let path = format!("/channels/{channel}/messages");
    h.fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == path && r.status == 200)
        .map(|r| r.body)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_guild_files_tickets_with_its_own_staff_channel_role_and_products() {
    let h = Harness::ready().await;
    let [(thread_a, sum_a), (thread_b, sum_b)] = h.escalate_in_both().await;
    // Each guild's ticket thread pings its own role, once.
    let pings = |thread: u64| -> Vec<Value> {
        posts_in(&h, thread)
            .into_iter()
            .filter_map(|b| b["allowed_mentions"]["roles"].as_array().cloned())
            .flatten()
            .collect()
    };
    assert_eq!(pings(thread_a), vec![json!(ids::SUPPORT_ROLE.to_string())]);
    assert_eq!(pings(thread_b), vec![json!(ROLE_B.to_string())]);
    // Guild B escalates in public threads, A in private ones.
    let kind = |thread: u64| h.fake.thread(thread).unwrap()["type"].as_u64().unwrap();
    assert_eq!(kind(thread_a), 12);
    assert_eq!(kind(thread_b), 11);
    // Each summary went to its own staff channel only.
    assert!(
        content(&sum_a.body).contains(&ids::ALICE.to_string()),
        "{}",
        sum_a.body
    );
    assert!(
        content(&sum_b.body).contains(&CAROL.to_string()),
        "{}",
        sum_b.body
    );
    assert_eq!(posts_in(&h, ids::STAFF_CHANNEL).len(), 1);
    assert_eq!(posts_in(&h, STAFF_B).len(), 1);
    let tickets = h.store.tickets(None).unwrap();
    assert_eq!(tickets.len(), 2);
    let a = tickets
        .iter()
        .find(|t| t.product.as_str() == "convot")
        .unwrap();
    let b = tickets
        .iter()
        .find(|t| t.product.as_str() == "c2c")
        .unwrap();
    let archive = h.store.archive().unwrap();
    assert_eq!(
        archive.ticket_guild(a).unwrap(),
        Some(ids::GUILD.to_string())
    );
    assert_eq!(archive.ticket_guild(b).unwrap(), Some(GUILD_B.to_string()));

    // /diagnose offers each guild only its products.
    let choices = |guild: u64, channel: u64| {
        let h = &h;
        async move {
            let id = h.fake.command_id("diagnose");
            let ix = payloads::autocomplete(
                h.world(),
                ids::ALICE,
                channel,
                id,
                "diagnose",
                vec![opt_string("symptom", "x"), opt_focused("product", "")],
            );
            let cb = h.interact(&in_guild(ix, guild)).await;
            cb.body["data"]["choices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["value"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(choices(ids::GUILD, ids::HELP_CHANNEL).await, vec!["convot"]);
    assert_eq!(choices(GUILD_B, HELP_B).await, vec!["c2c"]);
    let cb = h
        .slash(
            ids::GUILD,
            ids::ALICE,
            ids::HELP_CHANNEL,
            "diagnose",
            vec![
                opt_string("symptom", "no audio"),
                opt_string("product", "c2c"),
            ],
        )
        .await;
    let refused = content(&cb.body["data"]);
    assert!(
        refused.contains("I don't know the product 'c2c'. Known products: convot."),
        "{refused}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_of_one_guild_cannot_touch_another_guilds_tickets() {
    let h = Harness::ready().await;
    h.escalate_in_both().await;
    let id_of = |product: &str| {
        h.store
            .tickets(None)
            .unwrap()
            .into_iter()
            .find(|t| t.product.as_str() == product)
            .unwrap()
    };
    let (a, b) = (id_of("convot").id.0, id_of("c2c").id.0);

    // A's staff, in A, names B's ticket: refused, nothing changes.
    for sub in ["claim", "close", "reopen", "close-request", "hold"] {
        let cb = h
            .ticket(ids::GUILD, ids::BOB, ids::STAFF_CHANNEL, sub, b)
            .await;
        assert_eq!(
            content(&cb.body["data"]),
            format!("There is no ticket #{b} in this server."),
            "/ticket {sub}"
        );
    }
    // B's staff in B, on A's ticket: the same.
    let cb = h.ticket(GUILD_B, DAVE, STAFF_B, "claim", a).await;
    assert_eq!(
        content(&cb.body["data"]),
        format!("There is no ticket #{a} in this server.")
    );
    // A's staff member is nobody in B: B's role is what counts there.
    let cb = h.ticket(GUILD_B, ids::BOB, STAFF_B, "claim", b).await;
    assert!(
        content(&cb.body["data"]).contains("Only the support team"),
        "{}",
        cb.body
    );
    let tb = id_of("c2c");
    assert_eq!(tb.claimed_by, None);
    assert_eq!(tb.status, triage::tickets::TicketStatus::Open);

    // A button whose custom_id names B's ticket, pressed in A by A's staff.
    let mut msg = h.fake.messages_in(ids::STAFF_CHANNEL).pop().unwrap();
    msg["components"] = json!([{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "Keep open", "custom_id": format!("tl:keep:{b}")}
    ]}]);
    let ix = payloads::button_click(h.world(), ids::BOB, &msg, &format!("tl:keep:{b}"));
    let ix = in_guild(ix, ids::GUILD);
    let mark = h.fake.mark();
    let cb = h.interact(&ix).await;
    assert_eq!(
        content(&cb.body["data"]),
        format!("There is no ticket #{b} in this server.")
    );
    assert!(
        h.fake.requests()[mark..]
            .iter()
            .all(|r| r.method != "POST" || !r.path.starts_with("/channels/")),
        "nothing was posted for the refused button"
    );
    assert_eq!(id_of("c2c"), tb);

    // B's staff claims B's ticket in B.
    let cb = h.ticket(GUILD_B, DAVE, STAFF_B, "claim", b).await;
    assert!(content(&cb.body["data"]).contains("claimed"), "{}", cb.body);
    assert_eq!(id_of("c2c").claimed_by.unwrap().as_str(), DAVE.to_string());
    assert_eq!(id_of("convot").claimed_by, None);

    // /stats counts only the guild's own questions and tickets: two
    // questions in A, one in B.
    for (guild, user, channel) in [
        (ids::GUILD, ids::ALICE, ids::HELP_CHANNEL),
        (ids::GUILD, ids::ALICE, ids::HELP_CHANNEL),
        (GUILD_B, CAROL, HELP_B),
    ] {
        h.slash(
            guild,
            user,
            channel,
            "diagnose",
            vec![opt_string("symptom", "it broke")],
        )
        .await;
    }
    for (guild, staff, channel, questions, mine, theirs) in [
        (ids::GUILD, ids::BOB, ids::STAFF_CHANNEL, 2, "convot", "c2c"),
        (GUILD_B, DAVE, STAFF_B, 1, "c2c", "convot"),
    ] {
        let cb = h.slash(guild, staff, channel, "stats", vec![]).await;
        let desc = cb.body["data"]["embeds"][0]["description"]
            .as_str()
            .unwrap_or("");
        assert!(
            desc.starts_with(&format!("**{questions}** questions")),
            "{guild}: {}",
            cb.body
        );
        let service = content(&cb.body["data"]);
        assert!(
            service.starts_with("Tickets: 1 tickets"),
            "{guild}: {service}"
        );
        assert!(
            service.contains(&format!("product {mine}")),
            "{guild}: {service}"
        );
        assert!(!service.contains(theirs), "{guild}: {service}");
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guild_not_in_the_config_gets_no_answer() {
    let h = Harness::ready().await;
    assert!(h
        .fake
        .commands()
        .iter()
        .all(|(g, _)| *g == Some(ids::GUILD) || *g == Some(GUILD_B)));
    // From guild C, then the same member in the same channel from A: events
    // of one member and channel are handled in order, so when A's is
    // answered, C's was handled (and dropped) already.
    let stranger = h.slash_ix(GUILD_C, ids::ALICE, ids::HELP_CHANNEL, "escalate", vec![]);
    h.fake.dispatch("INTERACTION_CREATE", stranger.clone());
    let m = in_guild(
        payloads::message_create(
            h.world(),
            ids::ALICE,
            ids::HELP_CHANNEL,
            "my widget is gone",
        ),
        GUILD_C,
    );
    h.fake.dispatch("MESSAGE_CREATE", m);
    let cb = h
        .slash(
            ids::GUILD,
            ids::ALICE,
            ids::HELP_CHANNEL,
            "diagnose",
            vec![opt_string("symptom", "something")],
        )
        .await;
    assert_eq!(cb.status, 204);
    let strangers_id = stranger["id"].as_str().unwrap();
    assert!(
        h.fake
            .requests()
            .iter()
            .all(|r| !r.path.contains(&format!("/interactions/{strangers_id}/"))),
        "the stranger guild's command was answered"
    );
    assert!(
        h.fake.threads().is_empty(),
        "no thread was opened for guild C"
    );
    assert!(
        posts_in(&h, ids::HELP_CHANNEL).is_empty(),
        "the message from guild C was answered"
    );
    let archive = h.store.archive().unwrap();
    assert!(archive
        .guild_places(&GUILD_C.to_string())
        .unwrap()
        .is_empty());
    h.stop().await;
}
