#![allow(dead_code)] // each test or bench binary uses part of the harness
//! Real `triage run` processes for multi-process tests: each started from
//! the built binary with its own config text (shard range, ops address)
//! against a fake Discord (`DISCORD_API_BASE`), all sharing one database
//! URL the test chooses (a SQLite file now; a PostgreSQL URL once that
//! store exists). SIGKILL and restart keep the same config.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// One bot process; killed (SIGKILL) when dropped.
pub struct Bot {
    child: Option<Child>,
    config: PathBuf,
    api_base: String,
    token: String,
    log: PathBuf,
}

impl Bot {
    /// Writes `config_text` to `dir/name.yaml` and starts `triage run` on it.
    pub fn start(dir: &Path, name: &str, config_text: &str, api_base: &str, token: &str) -> Bot {
        let config = dir.join(format!("{name}.yaml"));
        std::fs::write(&config, config_text).expect("write the bot's config");
        let mut bot = Bot {
            child: None,
            config,
            api_base: api_base.to_owned(),
            token: token.to_owned(),
            log: dir.join(format!("{name}.log")),
        };
        bot.spawn();
        bot
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open the bot's log");
        let child = Command::new(env!("CARGO_BIN_EXE_triage"))
            .env("TRIAGE_MODEL", "shipped")
            .args(["run", "--config"])
            .arg(&self.config)
            .env("DISCORD_TOKEN", &self.token)
            .env("DISCORD_API_BASE", &self.api_base)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("TRIAGE_DB")
            .env_remove("TRIAGE_KB")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start triage run");
        self.child = Some(child);
    }

    /// SIGKILL: no handler finishes, nothing is flushed.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let status = Command::new("kill")
                .args(["-KILL", &c.id().to_string()])
                .status()
                .expect("run kill");
            assert!(status.success(), "kill -KILL failed");
            let _ = c.wait();
        }
    }

    /// Starts the process again with the same config.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "kill the bot before restarting it");
        self.spawn();
    }

    /// What the process logged so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A free local port (bound, then released) for a bot's ops endpoint.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The database the processes share: `TRIAGE_TEST_DB_URL` when set (e.g. a
/// PostgreSQL URL), else a SQLite file in `dir` (WAL; several processes on
/// one file take turns through SQLite's locks).
pub fn shared_db(dir: &Path) -> String {
    std::env::var("TRIAGE_TEST_DB_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| dir.join("triage.db").display().to_string())
}

/// GET `http://addr{path}`: status and body.
pub async fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .ok()?
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.text().await.ok()?))
}
