//! How fast the bot answers a slash command: from the moment an
//! INTERACTION_CREATE leaves the fake Discord to the moment the bot's
//! interaction callback reaches it, over 1,000 `/diagnose` interactions
//! against the shipped knowledge base, the real matcher and an SQLite store.
//!
//! `cargo bench --bench interaction_latency` (prints median, p90, p99, max).

#[path = "../tests/support/fake_discord/mod.rs"]
mod fake_discord;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_discord::payloads::{self, ids, opt_string};
use fake_discord::{FakeDiscord, FakeOptions};
use triage::config::Config;
use triage::discord::{self, Connection, Core, Settings, Token};
use triage::engine::SystemClock;
use triage::matcher::Matcher;
use triage::tickets::SqliteStore;

const INTERACTIONS: usize = 1000;
const WARMUP: usize = 50;
const T: Duration = Duration::from_secs(30);

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(bench());
}

async fn bench() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let kb_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let kb = Arc::new(triage::kb::load_dir(&kb_dir).expect("the shipped knowledge base loads"));
    let config = Config::parse_str(&format!(
        "guild_id: {}\nsupport_role_id: {}\nstaff_channel_id: {}\nhelp_channels:\n  {}: convot\n",
        ids::GUILD,
        ids::SUPPORT_ROLE,
        ids::STAFF_CHANNEL,
        ids::HELP_CHANNEL
    ))
    .expect("config");
    // Questions customers ask: the first wording of every entry.
    let questions: Vec<String> = kb
        .entries()
        .iter()
        .filter_map(|e| e.symptoms.first().cloned())
        .collect();
    let core = Core {
        matcher: Arc::new(Matcher::new(kb).expect("a matcher")),
        store: Arc::new(SqliteStore::open(&dir.path().join("triage.db")).expect("a store")),
        clock: Arc::new(SystemClock),
    };
    let settings = Settings {
        config,
        connection: Connection {
            token: Token::new(fake.token()).expect("token"),
            api_base: Some(fake.base_url()),
            rest: discord::rest::Policy::default(),
        },
        kb_dir,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = tokio::spawn(discord::run(settings, core, async {
        let _ = stopped.await;
    }));
    fake.wait_request(T, |r| r.is("PUT", "/applications/*/guilds/*/commands"))
        .await;
    let command = fake.command_id("diagnose");

    let mut latencies = Vec::with_capacity(INTERACTIONS);
    for i in 0..WARMUP + INTERACTIONS {
        let q = &questions[i % questions.len()];
        let ix = payloads::slash_command(
            fake.world(),
            ids::ALICE,
            ids::HELP_CHANNEL,
            command,
            "diagnose",
            vec![opt_string("symptom", q)],
        );
        let sent = Instant::now();
        fake.dispatch("INTERACTION_CREATE", ix.clone());
        let cb = fake.wait_callback(&ix, T).await;
        assert_eq!(cb.status, 204, "callback refused: {}", cb.response);
        if i >= WARMUP {
            latencies.push(cb.at.saturating_duration_since(sent));
        }
    }
    let _ = stop.send(());
    let _ = bot.await;
    fake.assert_no_violations();

    latencies.sort();
    let pct =
        |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).min(latencies.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "interaction_latency: {INTERACTIONS} /diagnose interactions (after {WARMUP} warm-up), INTERACTION_CREATE sent → callback received"
    );
    println!(
        "  median {:.2} ms   p90 {:.2} ms   p99 {:.2} ms   max {:.2} ms",
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(*latencies.last().expect("measured"))
    );
}
