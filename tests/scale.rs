//! Several `triage run` processes, each running its own Discord shards,
//! against one fake Discord (which routes each guild's events to the
//! connection of shard `(guild_id >> 22) % total`) and one shared database
//! (`support/processes.rs`: a SQLite file, or `TRIAGE_TEST_DB_URL`).
//! A customer escalates; one process is killed with SIGKILL in the middle
//! and restarted; the ticket is filed once, complete, by the process that
//! owns the guild's shard.

#![cfg(unix)]

#[path = "support/fake_discord/mod.rs"]
mod fake_discord;
#[path = "support/processes.rs"]
mod processes;

use std::path::Path;
use std::time::Duration;

use fake_discord::payloads::{self, ids};
use fake_discord::{Direction, FakeDiscord, FakeOptions};
use processes::Bot;
use serde_json::Value;
use triage::engine::Store;

const T: Duration = Duration::from_secs(20);

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
entries:
  - id: convot/widget-not-appearing
    title: The chat widget doesn't show up on the site
    symptoms: [chat bubble not showing on my website]
    checks:
      - id: console-errors
        cause: "The snippet fails with a JavaScript error."
        verify: "Look in the browser console for errors mentioning convot."
        fix: "Fix what the error points at."
"#;

/// One process's config: the fake's guild, its shard range of `total`,
/// the shared database and its own ops address. The integrator switches
/// this to the multi-guild `guilds:` form.
fn config_text(dir: &Path, db: &str, first: u32, last: u32, total: u32, ops: &str) -> String {
    format!(
        "guild_id: {}\nsupport_role_id: {}\nstaff_channel_id: {}\nhelp_channels:\n  {}: convot\nkb: {}\ndb: {db}\nshards:\n  total: {total}\n  range: [{first}, {last}]\nops:\n  listen: {ops}\n",
        ids::GUILD,
        ids::SUPPORT_ROLE,
        ids::STAFF_CHANNEL,
        ids::HELP_CHANNEL,
        dir.join("knowledge").display()
    )
}

fn content(m: &Value) -> &str {
    m["content"].as_str().unwrap_or("")
}

/// Waits until the bot posted a message containing `needle` in `channel`.
async fn posted(fake: &FakeDiscord, channel: u64, needle: &str, bots: &[&Bot]) {
    let deadline = tokio::time::Instant::now() + T;
    while tokio::time::Instant::now() < deadline {
        if fake
            .messages_in(channel)
            .iter()
            .any(|m| content(m).contains(needle))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let logs: Vec<String> = bots.iter().map(|b| b.log()).collect();
    panic!(
        "no message with {needle:?} in {channel}; logs:\n{}",
        logs.join("\n-----\n")
    );
}

async fn wait_shards(fake: &FakeDiscord, want: &[u32], bots: &[&Bot]) {
    let deadline = tokio::time::Instant::now() + T;
    while tokio::time::Instant::now() < deadline {
        let got: Vec<u32> = fake.shard_connections().iter().map(|(s, _)| *s).collect();
        if got == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let logs: Vec<String> = bots.iter().map(|b| b.log()).collect();
    panic!(
        "shards connected: {:?}, wanted {want:?}; logs:\n{}",
        fake.shard_connections(),
        logs.join("\n-----\n")
    );
}

async fn healthy(ops: &str) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let got = processes::get(ops, "/healthz").await;
        match got {
            Some((200, body)) => return (200, body),
            other if tokio::time::Instant::now() > deadline => {
                return other.unwrap_or((0, "unreachable".into()))
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_two_shards_file_one_ticket_through_a_sigkill() {
    let fake = FakeDiscord::start(FakeOptions {
        shards: 2,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("knowledge")).unwrap();
    std::fs::write(dir.path().join("knowledge/convot.yaml"), CONVOT).unwrap();
    let db = processes::shared_db(dir.path());
    // The fake's guild is on shard 0 of 2: process `a` owns it.
    assert_eq!((ids::GUILD >> 22) % 2, 0);
    let (ops_a, ops_b) = (
        format!("127.0.0.1:{}", processes::free_port()),
        format!("127.0.0.1:{}", processes::free_port()),
    );
    let base = fake.base_url();
    let mut a = Bot::start(
        dir.path(),
        "a",
        &config_text(dir.path(), &db, 0, 0, 2, &ops_a),
        &base,
        fake.token(),
    );
    // One at a time: the first start creates the database's schema.
    wait_shards(&fake, &[0], &[&a]).await;
    let b = Bot::start(
        dir.path(),
        "b",
        &config_text(dir.path(), &db, 1, 1, 2, &ops_b),
        &base,
        fake.token(),
    );
    wait_shards(&fake, &[0, 1], &[&a, &b]).await;
    fake.wait_request(T, |r| r.is("PUT", "/applications/*/guilds/*/commands"))
        .await;
    for ops in [&ops_a, &ops_b] {
        let (status, body) = healthy(ops).await;
        assert_eq!(status, 200, "{ops}: {body}");
    }

    // The customer escalates and answers the first field.
    fake.dispatch(
        "INTERACTION_CREATE",
        payloads::slash_command(
            fake.world(),
            ids::ALICE,
            ids::HELP_CHANNEL,
            fake.command_id("escalate"),
            "escalate",
            vec![],
        ),
    )
    .expect("shard 0 is connected");
    let deadline = tokio::time::Instant::now() + T;
    let tid = loop {
        if let Some(t) = fake.threads().first() {
            break payloads::id_of(t, "id");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no thread; {}",
            a.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    posted(&fake, tid, "1/3", &[&a, &b]).await;
    fake.dispatch(
        "MESSAGE_CREATE",
        payloads::message_create(fake.world(), ids::ALICE, tid, "app_12345"),
    );
    posted(&fake, tid, "2/3", &[&a, &b]).await;

    // SIGKILL the process owning the guild mid-escalation; restart it.
    a.kill9();
    wait_shards(&fake, &[1], &[&b]).await;
    let (status, _) = processes::get(&ops_b, "/healthz").await.unwrap();
    assert_eq!(status, 200, "the other process stays healthy");
    a.restart();
    wait_shards(&fake, &[0, 1], &[&a, &b]).await;
    let (status, body) = healthy(&ops_a).await;
    assert_eq!(status, 200, "restarted: {body}");

    fake.dispatch(
        "MESSAGE_CREATE",
        payloads::message_create(fake.world(), ids::ALICE, tid, "https://example.com/pricing"),
    );
    posted(&fake, tid, "3/3", &[&a, &b]).await;
    fake.dispatch(
        "MESSAGE_CREATE",
        payloads::message_create(fake.world(), ids::ALICE, tid, "no errors at all"),
    );
    posted(&fake, ids::STAFF_CHANNEL, "", &[&a, &b]).await;
    // Let any duplicate show up before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // One thread, one staff summary, one complete ticket.
    assert_eq!(fake.threads().len(), 1, "no second thread");
    let summaries: Vec<Value> = fake
        .messages_in(ids::STAFF_CHANNEL)
        .into_iter()
        .filter(|m| m.to_string().contains("app_12345"))
        .collect();
    assert_eq!(summaries.len(), 1, "one staff summary: {summaries:#?}");
    if !db.contains("://") {
        let store = triage::tickets::SqliteStore::open(Path::new(&db)).unwrap();
        let tickets = store.tickets(None).unwrap();
        assert_eq!(tickets.len(), 1, "exactly one ticket");
        let values: Vec<String> = tickets[0].fields.iter().map(|f| f.value.clone()).collect();
        assert_eq!(
            values,
            [
                "app_12345",
                "https://example.com/pricing",
                "no errors at all"
            ]
        );
    }
    // Every event of the guild went to shard 0's connections only.
    let shard1: Vec<usize> = fake
        .shard_connections()
        .into_iter()
        .filter(|(s, _)| *s == 1)
        .map(|(_, c)| c)
        .collect();
    let leaked: Vec<Value> = fake
        .gateway_frames()
        .into_iter()
        .filter(|f| f.direction == Direction::Sent && shard1.contains(&f.connection))
        .filter(|f| {
            matches!(
                f.payload["t"].as_str(),
                Some("INTERACTION_CREATE" | "MESSAGE_CREATE" | "GUILD_CREATE")
            )
        })
        .map(|f| f.payload)
        .collect();
    assert!(
        leaked.is_empty(),
        "shard 1 got the guild's events: {leaked:#?}"
    );
    // The owner's metrics counted the inputs it handled after the restart.
    let (_, metrics) = processes::get(&ops_a, "/metrics").await.unwrap();
    assert!(
        metrics.contains("triage_inputs_total{kind=\"say\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("triage_escalations_total{product=\"convot\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("triage_shard_connected{shard=\"0\"} 1"),
        "{metrics}"
    );
    fake.assert_no_violations();
}
