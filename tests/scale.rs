//! Several `triage run` processes, each running its own Discord shards,
//! against one fake Discord (which routes each guild's events to the
//! connection of shard `(guild_id >> 22) % total`) and one shared database:
//! a SQLite file, and PostgreSQL when `TRIAGE_TEST_POSTGRES` names a
//! server. Three guilds, each with its own settings under `guilds:`, are
//! spread over shards 0 and 1 of 2; a customer in every guild runs
//! `/diagnose`, presses Still broken and gives the ticket fields. The
//! process running shard 1 is killed with SIGKILL mid-escalation and
//! restarted; on PostgreSQL the database also refuses every connection for
//! a few seconds. Every escalation ends with exactly one complete ticket
//! and one staff summary, in its own guild.

#![cfg(unix)]

#[path = "support/fake_discord/mod.rs"]
mod fake_discord;
#[path = "support/bot_fixture.rs"]
mod fixture;
#[path = "support/postgres.rs"]
mod pg;
#[path = "support/processes.rs"]
mod processes;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use fake_discord::payloads::{self, ids, opt_string, Channel, Member, Role, User, World};
use fake_discord::{Direction, FakeDiscord, FakeOptions};
use fixture::ESCALATION_CONVOT;
use processes::Bot;
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(30);

/// One served guild: its id and its own role, channels and customer.
#[derive(Clone, Copy, Debug)]
struct Guild {
    id: u64,
    role: u64,
    help: u64,
    staff: u64,
    customer: u64,
}

impl Guild {
    fn shard(&self) -> u32 {
        ((self.id >> 22) % 2) as u32
    }

    /// The ticket field answers this guild's customer gives.
    fn answers(&self) -> [String; 3] {
        [
            format!("app_{}", self.customer % 100_000),
            format!("https://example.com/g{}", self.id % 1000),
            format!("nothing in the console for guild {}", self.id % 1000),
        ]
    }
}

/// The fake world's guild (shard 0) and two more on shard 1.
fn guilds() -> [Guild; 3] {
    let extra = |n: u64| Guild {
        id: ids::GUILD + (n << 22),
        role: 1_300_000_000_000_007_000 + n,
        help: 1_300_000_000_000_007_100 + n,
        staff: 1_300_000_000_000_007_200 + n,
        customer: 1_300_000_000_000_007_300 + n,
    };
    [
        Guild {
            id: ids::GUILD,
            role: ids::SUPPORT_ROLE,
            help: ids::HELP_CHANNEL,
            staff: ids::STAFF_CHANNEL,
            customer: ids::ALICE,
        },
        extra(1),
        extra(3),
    ]
}

fn world(guilds: &[Guild]) -> World {
    let mut w = World {
        other_guilds: guilds[1..].iter().map(|g| g.id).collect(),
        ..World::default()
    };
    for g in &guilds[1..] {
        w.roles.push(Role {
            id: g.role,
            name: format!("Support {}", g.id % 1000),
            permissions: w.role(ids::SUPPORT_ROLE).unwrap().permissions,
            position: 3,
            bot_id: None,
        });
        for (id, name, like) in [
            (g.help, "help", ids::HELP_CHANNEL),
            (g.staff, "staff", ids::STAFF_CHANNEL),
        ] {
            let mut c: Channel = w.channel(like).unwrap().clone();
            c.id = id;
            c.name = format!("{name}-{}", g.id % 1000);
            w.channels.push(c);
        }
        w.members.push(Member::new(
            User::person(g.customer, &format!("customer{}", g.id % 1000)),
            vec![],
        ));
    }
    w
}

/// One process's config: every guild's settings, the shared database,
/// shard `shard` of 2 and its own ops address.
fn config_text(dir: &Path, guilds: &[Guild], db: &str, shard: u32, ops: &str) -> String {
    let mut c = String::from("guilds:\n");
    for g in guilds {
        c += &format!(
            "  {}:\n    support_role_id: {}\n    staff_channel_id: {}\n    help_channels: {{{}: convot}}\n    products: [convot]\n",
            g.id, g.role, g.staff, g.help
        );
    }
    c += &format!(
        "kb: {}\ndb: {db}\nshards:\n  total: 2\n  range: [{shard}, {shard}]\nops:\n  listen: {ops}\n",
        dir.join("knowledge").display()
    );
    c
}

fn content(m: &Value) -> String {
    m.to_string()
}

struct Run {
    fake: FakeDiscord,
    bots: Vec<Bot>,
    ops: Vec<String>,
}

impl Run {
    fn logs(&self) -> String {
        let logs: Vec<String> = self.bots.iter().map(|b| b.log()).collect();
        logs.join("\n-----\n")
    }

    async fn until<V>(&self, what: &str, mut f: impl FnMut() -> Option<V>) -> V {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            if let Some(v) = f() {
                return v;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}; logs:\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn shards(&self, want: &[u32]) {
        self.until(&format!("shards {want:?}"), || {
            let got: Vec<u32> = self
                .fake
                .shard_connections()
                .iter()
                .map(|(s, _)| *s)
                .collect();
            (got == want).then_some(())
        })
        .await
    }

    async fn healthy(&self, i: usize) {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            match processes::get(&self.ops[i], "/healthz").await {
                Some((200, _)) => return,
                other if tokio::time::Instant::now() > deadline => {
                    panic!("process {i} unhealthy: {other:?}; logs:\n{}", self.logs())
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Waits for a bot message in `channel` containing `needle`.
    async fn posted(&self, channel: u64, needle: &str) {
        self.until(&format!("{needle:?} in {channel}"), || {
            self.fake
                .messages_in(channel)
                .iter()
                .any(|m| content(m).contains(needle))
                .then_some(())
        })
        .await
    }

    /// `/diagnose` in the guild's help channel, then Still broken on the
    /// checklist; returns the ticket thread.
    async fn diagnose_and_escalate(&self, g: &Guild) -> u64 {
        let mut ix = payloads::slash_command(
            self.fake.world(),
            g.customer,
            g.help,
            self.fake.command_id("diagnose"),
            "diagnose",
            vec![opt_string(
                "symptom",
                "chat bubble not showing on my website",
            )],
        );
        ix["guild_id"] = json!(g.id.to_string());
        self.fake.dispatch("INTERACTION_CREATE", ix.clone());
        let (msg, broken) = self
            .until("the checklist's Still broken button", || {
                let msg = self.fake.original_message(&ix)?;
                let (id, _) = payloads::custom_ids(&msg)
                    .into_iter()
                    .find(|(id, _)| id.starts_with("t:esc:"))?;
                Some((msg, id))
            })
            .await;
        let mut click = payloads::button_click(self.fake.world(), g.customer, &msg, &broken);
        click["guild_id"] = json!(g.id.to_string());
        self.fake.dispatch("INTERACTION_CREATE", click);
        let thread = self
            .until("the ticket thread", || {
                self.fake
                    .threads()
                    .iter()
                    .find(|t| payloads::id_of(t, "parent_id") == g.help)
                    .map(|t| payloads::id_of(t, "id"))
            })
            .await;
        self.posted(thread, "1/3").await;
        thread
    }

    fn say(&self, g: &Guild, thread: u64, text: &str) -> Option<u64> {
        let mut m = payloads::message_create(self.fake.world(), g.customer, thread, text);
        m["guild_id"] = json!(g.id.to_string());
        self.fake.dispatch("MESSAGE_CREATE", m)
    }

    /// The staff summaries in `channel` (bot posts naming a ticket field).
    fn summaries(&self, channel: u64, g: &Guild) -> Vec<Value> {
        self.fake
            .messages_in(channel)
            .into_iter()
            .filter(|m| content(m).contains(&g.answers()[0]))
            .collect()
    }
}

enum Db {
    Sqlite(String),
    Postgres(pg::TestDb),
}

impl Db {
    fn url(&self) -> String {
        match self {
            Db::Sqlite(p) => p.clone(),
            Db::Postgres(d) => d.url.clone(),
        }
    }
}

async fn three_guilds_two_processes(db: Db) {
    let guilds = guilds();
    assert_eq!(
        guilds.iter().map(Guild::shard).collect::<Vec<_>>(),
        [0, 1, 1],
        "one guild on shard 0, two on shard 1"
    );
    let fake = FakeDiscord::start(FakeOptions {
        shards: 2,
        world: world(&guilds),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    fixture::write_kb(
        &dir.path().join("knowledge"),
        &[("convot.yaml", ESCALATION_CONVOT)],
    );
    let url = db.url();
    let ops: Vec<String> = (0..2)
        .map(|_| format!("127.0.0.1:{}", processes::free_port()))
        .collect();
    let mut run = Run {
        fake,
        bots: Vec::new(),
        ops,
    };
    for shard in 0..2u32 {
        let text = config_text(dir.path(), &guilds, &url, shard, &run.ops[shard as usize]);
        let bot = Bot::start(
            dir.path(),
            &format!("shard{shard}"),
            &text,
            &run.fake.base_url(),
            run.fake.token(),
        );
        run.bots.push(bot);
        // One at a time: the first start creates the database's schema.
        let want: Vec<u32> = (0..=shard).collect();
        run.shards(&want).await;
    }
    for g in &guilds {
        let path = format!("/applications/*/guilds/{}/commands", g.id);
        run.fake.wait_request(T, |r| r.is("PUT", &path)).await;
    }
    run.healthy(0).await;
    run.healthy(1).await;

    // Every customer diagnoses, escalates and gives the first field.
    let mut threads = BTreeMap::new();
    for g in &guilds {
        let thread = run.diagnose_and_escalate(g).await;
        run.say(g, thread, &g.answers()[0])
            .expect("the guild's shard is connected");
        run.posted(thread, "2/3").await;
        threads.insert(g.id, thread);
    }

    // SIGKILL the process running shard 1 (two guilds) mid-escalation.
    run.bots[1].kill9();
    run.shards(&[0]).await;
    run.healthy(0).await;
    let first = guilds[0];
    run.say(&first, threads[&first.id], &first.answers()[1]);
    run.posted(threads[&first.id], "3/3").await;
    run.bots[1].restart();
    run.shards(&[0, 1]).await;
    run.healthy(1).await;

    // On PostgreSQL: the database refuses every connection for a few
    // seconds while a customer answers. The answer waits or fails with a
    // message; either way the customer can go on after, and nothing is
    // half-written.
    if let Db::Postgres(d) = &db {
        d.admin(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS false",
            d.name
        ));
        d.terminate_connections();
        let g = guilds[1];
        let before = run.fake.messages_in(threads[&g.id]).len();
        run.say(&g, threads[&g.id], &g.answers()[1]);
        tokio::time::sleep(Duration::from_secs(3)).await;
        d.admin(&format!("ALTER DATABASE {} ALLOW_CONNECTIONS true", d.name));
        // Either the answer was taken once the database came back (3/3),
        // or the bot said it could not be saved: then the customer says it again.
        let outcome = run
            .until("an answer or an error after the outage", || {
                let msgs = run.fake.messages_in(threads[&g.id]);
                let new: Vec<String> = msgs[before..].iter().map(content).collect();
                if new.iter().any(|m| m.contains("3/3")) {
                    Some(true)
                } else if !new.is_empty() {
                    Some(false)
                } else {
                    None
                }
            })
            .await;
        eprintln!(
            "during the outage the answer {}",
            if outcome {
                "waited and was taken"
            } else {
                "failed with a message and was given again"
            }
        );
        if !outcome {
            run.say(&g, threads[&g.id], &g.answers()[1]);
        }
        run.posted(threads[&g.id], "3/3").await;
    } else {
        let g = guilds[1];
        run.say(&g, threads[&g.id], &g.answers()[1]);
        run.posted(threads[&g.id], "3/3").await;
    }
    let g = guilds[2];
    run.say(&g, threads[&g.id], &g.answers()[1]);
    run.posted(threads[&g.id], "3/3").await;

    // Last fields; each staff summary lands in its own guild's staff channel.
    for g in &guilds {
        run.say(g, threads[&g.id], &g.answers()[2]);
    }
    for g in &guilds {
        run.until(&format!("the staff summary of guild {}", g.id), || {
            (!run.summaries(g.staff, g).is_empty()).then_some(())
        })
        .await;
    }
    // Let any duplicate show up before counting.
    tokio::time::sleep(Duration::from_millis(700)).await;

    for g in &guilds {
        assert_eq!(
            run.summaries(g.staff, g).len(),
            1,
            "one staff summary for guild {}",
            g.id
        );
        for other in guilds.iter().filter(|o| o.id != g.id) {
            assert!(
                run.summaries(other.staff, g).is_empty(),
                "guild {}'s ticket was summarised in guild {}'s staff channel",
                g.id,
                other.id
            );
        }
        let own: Vec<Value> = run
            .fake
            .threads()
            .into_iter()
            .filter(|t| payloads::id_of(t, "parent_id") == g.help)
            .collect();
        assert_eq!(own.len(), 1, "one thread in guild {}", g.id);
    }

    // The shared database holds one complete ticket per guild, each
    // recorded in the guild it came from.
    let store = triage::tickets::open(Path::new(&url)).expect("open the shared database");
    let tickets = store.tickets(None).unwrap();
    assert_eq!(tickets.len(), 3, "one ticket per guild: {tickets:#?}");
    let archive = store.archive().expect("the store keeps the archive");
    for g in &guilds {
        let t = tickets
            .iter()
            .find(|t| t.customer.as_str() == g.customer.to_string())
            .unwrap_or_else(|| panic!("no ticket for guild {}", g.id));
        let values: Vec<String> = t.fields.iter().map(|f| f.value.clone()).collect();
        assert_eq!(values, g.answers(), "guild {}'s ticket is complete", g.id);
        assert_eq!(
            archive.ticket_guild(t).unwrap(),
            Some(g.id.to_string()),
            "ticket {:?} belongs to guild {}",
            t.id,
            g.id
        );
    }

    // Each guild's events went only to its own shard's connections.
    let links = run.fake.shard_connections();
    for frame in run.fake.gateway_frames() {
        if frame.direction != Direction::Sent {
            continue;
        }
        let Some(guild) = frame.payload["d"]["guild_id"]
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        let Some(g) = guilds.iter().find(|g| g.id == guild) else {
            continue;
        };
        if let Some((shard, _)) = links.iter().find(|(_, c)| *c == frame.connection) {
            assert_eq!(
                *shard,
                g.shard(),
                "{} went to the wrong shard",
                frame.payload["t"]
            );
        }
    }
    // The restarted process counted the escalation it finished.
    let (_, metrics) = processes::get(&run.ops[1], "/metrics").await.unwrap();
    assert!(
        metrics.contains("triage_inputs_total{kind=\"say\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("triage_shard_connected{shard=\"1\"} 1"),
        "{metrics}"
    );
    run.fake.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_guilds_on_two_processes_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("triage.db").display().to_string();
    three_guilds_two_processes(Db::Sqlite(db)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_guilds_on_two_processes_postgres() {
    let Some(db) = pg::TestDb::new() else { return };
    three_guilds_two_processes(Db::Postgres(db)).await;
}
