//! Resident memory of the running bot: starts the shipped `triage` binary
//! as its own process against the fake Discord, sends it 1,000 `/diagnose`
//! interactions over the shipped knowledge base, then reads the process's
//! peak (`VmHWM`) and current (`VmRSS`) resident set from `/proc`.
//!
//! `cargo bench --bench bot_memory` (Linux only; the design's target is
//! under 100 MB).

#[path = "../tests/support/fake_discord/mod.rs"]
mod fake_discord;

use std::path::Path;
use std::time::Duration;

use fake_discord::payloads::{self, ids, opt_string};
use fake_discord::{FakeDiscord, FakeOptions};

const INTERACTIONS: usize = 1000;
const T: Duration = Duration::from_secs(30);

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(bench());
}

/// Kills the bot if the bench panics half-way.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn status_kb(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{key} in /proc/{pid}/status"))
}

async fn bench() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let kb_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let kb = triage::kb::load_dir(&kb_dir).expect("the shipped knowledge base loads");
    let questions: Vec<String> = kb
        .entries()
        .iter()
        .flat_map(|e| e.symptoms.iter().take(3).cloned())
        .collect();
    std::fs::write(
        dir.path().join("triage.yaml"),
        format!(
            "guild_id: {}\nsupport_role_id: {}\nstaff_channel_id: {}\nhelp_channels:\n  {}: c2c\n",
            ids::GUILD,
            ids::SUPPORT_ROLE,
            ids::STAFF_CHANNEL,
            ids::HELP_CHANNEL
        ),
    )
    .expect("config written");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["run", "--config"])
        .arg(dir.path().join("triage.yaml"))
        .arg("--kb")
        .arg(&kb_dir)
        .arg("--db")
        .arg(dir.path().join("triage.db"))
        .env("DISCORD_TOKEN", fake.token())
        .env("DISCORD_API_BASE", fake.base_url())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the triage binary starts");
    let bot = KillOnDrop(child);
    let pid = bot.0.id();
    fake.wait_request(T, |r| r.is("PUT", "/applications/*/guilds/*/commands"))
        .await;
    let after_start = status_kb(pid, "VmRSS:");
    let command = fake.command_id("diagnose");
    for i in 0..INTERACTIONS {
        let ix = payloads::slash_command(
            fake.world(),
            ids::ALICE,
            ids::HELP_CHANNEL,
            command,
            "diagnose",
            vec![opt_string("symptom", &questions[i % questions.len()])],
        );
        fake.dispatch("INTERACTION_CREATE", ix.clone());
        let cb = fake.wait_callback(&ix, T).await;
        assert_eq!(cb.status, 204, "callback refused: {}", cb.response);
    }
    let rss = status_kb(pid, "VmRSS:");
    let hwm = status_kb(pid, "VmHWM:");
    fake.assert_no_violations();
    println!(
        "bot_memory: `triage run` as a process, shipped knowledge base, {INTERACTIONS} /diagnose"
    );
    println!(
        "  RSS after startup {:.1} MB   RSS after {INTERACTIONS} {:.1} MB   peak (VmHWM) {:.1} MB",
        after_start as f64 / 1024.0,
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
}
