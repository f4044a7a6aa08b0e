//! What the tests that run the bot against the fake Discord share: the
//! fixture knowledge bases and the config template (tests/fixtures/discord-kb
//! and escalation-kb) and the edits that cut a product's ticket fields down
//! or add one, a scratch directory holding the knowledge base and the store,
//! a matcher that never matches, the bot run in-process on a task
//! (`BotTask`) or as the built binary (`triage_run`, `KillOnDrop`), and
//! readers of the bodies the bot sends. Each harness keeps its own timeouts,
//! matcher and helpers for what its tests do.
//!
//! Include it beside the fake Discord, which it uses as `crate::fake_discord`:
//! `#[path = "support/bot_fixture.rs"] mod fixture;`

#![allow(dead_code)] // each test or bench binary uses part of it

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::fake_discord::payloads::{self, ids};
use crate::fake_discord::FakeDiscord;
use triage::discord::{self, Connection, Core, RunError, Settings, Token};
use triage::kb::KnowledgeBase;
use triage::tickets::SqliteStore;

// ---------------------------------------------------------------------------------------------
// The fixtures.

/// The in-process Discord tests' product: three validated ticket fields and
/// three entries, so these tests do not move when the shipped knowledge base
/// is edited.
pub const CONVOT: &str = include_str!("../fixtures/discord-kb/convot.yaml");

/// A second product: one unvalidated ticket field, one entry.
pub const C2C: &str = include_str!("../fixtures/discord-kb/c2c.yaml");

/// One product, three validated ticket fields, one entry: what the
/// wire-fault and multi-process tests escalate through, and (with fewer or
/// more fields) the guild, dashboard and load ones.
pub const ESCALATION_CONVOT: &str = include_str!("../fixtures/escalation-kb/convot.yaml");

/// The single-guild config with `{GUILD}`, `{ROLE}`, `{STAFF}` and
/// `{HELP_CHANNELS}` to fill in.
const CONFIG: &str = include_str!("../fixtures/discord-kb/config.yaml");

/// The fake world's guild, support role and staff channel, with each of
/// `help_channels` answering for its product. Ends with a newline, so a test
/// appends what else it configures.
pub fn config_text(help_channels: &[(u64, &str)]) -> String {
    let channels: String = help_channels
        .iter()
        .map(|(id, product)| format!("  {id}: {product}\n"))
        .collect();
    CONFIG
        .replace("{GUILD}", &ids::GUILD.to_string())
        .replace("{ROLE}", &ids::SUPPORT_ROLE.to_string())
        .replace("{STAFF}", &ids::STAFF_CHANNEL.to_string())
        .replace("{HELP_CHANNELS}\n", &channels)
}

/// `product` (one knowledge-base file) asking only the ticket fields `keep`,
/// in the file's order.
pub fn only_fields(product: &str, keep: &[&str]) -> String {
    edit_fields(product, |fields| {
        fields.retain(|f| keep.contains(&f["id"].as_str().unwrap_or_default()));
        assert_eq!(
            fields.len(),
            keep.len(),
            "the product lacks one of {keep:?}"
        );
    })
}

/// `product` asking `field` (one ticket field, in YAML) after its own.
pub fn with_field(product: &str, field: &str) -> String {
    edit_fields(product, |fields| {
        fields.push(serde_yaml::from_str(field).expect("a ticket field"))
    })
}

fn edit_fields(product: &str, edit: impl FnOnce(&mut Vec<serde_yaml::Value>)) -> String {
    let mut doc: serde_yaml::Value = serde_yaml::from_str(product).expect("a knowledge-base file");
    let fields = doc["product"]["ticket_fields"]
        .as_sequence_mut()
        .expect("product.ticket_fields");
    edit(fields);
    serde_yaml::to_string(&doc).unwrap()
}

/// Writes `files` (name, YAML) into `kb_dir`, creating it.
pub fn write_kb(kb_dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(kb_dir).unwrap();
    for (name, yaml) in files {
        std::fs::write(kb_dir.join(name), yaml).unwrap();
    }
}

/// A temporary directory with the knowledge base in knowledge/ and the
/// store in triage.db; removed when dropped.
pub struct Workdir {
    pub dir: tempfile::TempDir,
    pub kb_dir: PathBuf,
}

impl Workdir {
    /// A fresh directory with `files` (name, YAML) in knowledge/.
    pub fn new(files: &[(&str, &str)]) -> Workdir {
        let dir = tempfile::tempdir().unwrap();
        let kb_dir = dir.path().join("knowledge");
        write_kb(&kb_dir, files);
        Workdir { dir, kb_dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The knowledge base as it is on disk now.
    pub fn load_kb(&self) -> Arc<KnowledgeBase> {
        Arc::new(triage::kb::load_dir(&self.kb_dir).unwrap())
    }

    /// The SQLite store, created by the first open.
    pub fn open_store(&self) -> Arc<SqliteStore> {
        Arc::new(SqliteStore::open(&self.path().join("triage.db")).unwrap())
    }
}

// ---------------------------------------------------------------------------------------------
// The bot.

#[path = "no_match.rs"]
mod no_match;
#[allow(unused_imports)] // not every binary uses it
pub use no_match::NoMatch;

/// With `RUST_LOG` set (e.g. `serenity=debug`, which shows why an event went
/// unanswered), the bot's log goes to stderr.
pub fn log_if_asked() {
    if std::env::var_os("RUST_LOG").is_some() {
        triage::telemetry::init("warn");
    }
}

/// How the in-process bot reaches `fake`: the token it accepts, its address
/// and the default REST policy.
pub fn connection(fake: &FakeDiscord) -> Connection {
    Connection {
        token: Token::new(fake.token()).unwrap(),
        api_base: Some(fake.base_url()),
        rest: discord::rest::Policy::default(),
    }
}

/// `discord::run` on a task of its own, stopped the way SIGTERM stops it.
/// Dropping it stops the bot too, without waiting.
pub struct BotTask {
    stop: Option<oneshot::Sender<()>>,
    /// What `run` returns; a test that waits for the bot to end on its own
    /// takes it.
    pub task: Option<JoinHandle<Result<(), RunError>>>,
}

impl BotTask {
    pub fn spawn(settings: Settings, core: Core) -> BotTask {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(discord::run(settings, core, async {
            let _ = stopped.await;
        }));
        BotTask {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Tells the bot to stop, without waiting for it.
    pub fn signal(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }

    /// Stops the bot and returns what `run` returned (`None` when it was
    /// stopped before); panics when it does not end within `within`.
    pub async fn stop(&mut self, within: Duration) -> Option<Result<(), RunError>> {
        self.signal();
        let task = self.task.take()?;
        Some(
            tokio::time::timeout(within, task)
                .await
                .expect("the bot stops in time")
                .unwrap(),
        )
    }

    /// Stops the bot and waits up to `within` for it, without checking how
    /// (or whether) it ended.
    pub async fn stop_unchecked(&mut self, within: Duration) {
        self.signal();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(within, task).await;
        }
    }
}

/// `triage run --config CONFIG`, the built binary, against `fake`: the
/// shipped model, warnings only, no output, and neither TRIAGE_DB nor
/// TRIAGE_KB from the environment. A test adds what else it sets.
pub fn triage_run(fake: &FakeDiscord, config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_triage"));
    c.env("TRIAGE_MODEL", "shipped")
        .args(["run", "--config"])
        .arg(config)
        .env("DISCORD_TOKEN", fake.token())
        .env("DISCORD_API_BASE", fake.base_url())
        .env("RUST_LOG", "warn")
        .env_remove("TRIAGE_DB")
        .env_remove("TRIAGE_KB")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// A bot process, killed if a test fails before it is done with it.
pub struct KillOnDrop(pub Option<Child>);

impl KillOnDrop {
    pub fn kill(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------------------------
// What the bot sent.

/// A message's (or a callback's data's) text; empty when it has none.
pub fn content(body: &Value) -> &str {
    body["content"].as_str().unwrap_or("")
}

/// The custom id of `message`'s component that starts with `prefix`.
pub fn custom_id_starting(message: &Value, prefix: &str) -> String {
    payloads::custom_ids(message)
        .into_iter()
        .map(|(id, _)| id)
        .find(|id| id.starts_with(prefix))
        .unwrap_or_else(|| panic!("no component `{prefix}…` in {message}"))
}

pub fn is_ephemeral(data: &Value) -> bool {
    data["flags"].as_u64().unwrap_or(0) & payloads::EPHEMERAL_FLAG != 0
}
