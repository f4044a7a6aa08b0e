//! The dashboard tests' harness: the bot on the fake Discord with the
//! dashboard beside it (`Harness`), its knowledge base (`kb`), headless
//! Chromium through chromedriver (`browser`, skipped with one line when
//! either is missing), the page steps the tests repeat (`visit`, `click`,
//! `wait_for`), screenshots, and raw HTTP requests for what a forged form
//! sends. It builds on the shared support module (`crate::fixture`).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::fake_discord::payloads::{self, ids};
use crate::fake_discord::{FakeDiscord, FakeOptions, Recorded, World};
use crate::fixture::{BotTask, NoMatch, Workdir, ESCALATION_CONVOT};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use triage::archive::Archive;
use triage::config::Config;
use triage::dashboard::{self, Dashboard};
use triage::discord::dashboard::DiscordNotifier;
use triage::discord::{self, Core, Settings};
use triage::engine::{Matching, SystemClock};
use triage::tickets::{SqliteStore, Store, Ticket, TicketId};

/// How long any one condition may take.
pub(crate) const T: Duration = Duration::from_secs(20);

/// Asks `probe` every 20 ms until it gives a value; fails with `what` once
/// `T` has passed.
pub(crate) async fn poll<V>(what: &str, mut probe: impl FnMut() -> Option<V>) -> V {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The knowledge base (convot.yaml): the escalation fixture's Convot asking
/// two ticket fields, the app key and the browser console (`1/2`, `2/2`).
pub(crate) fn kb() -> String {
    crate::fixture::only_fields(ESCALATION_CONVOT, &["app_key", "console_output"])
}

// ---------------------------------------------------------------------------------------------
// The browser.

/// chromedriver with a headless Chromium session; killed on drop.
pub(crate) struct Browser {
    pub(crate) client: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

/// chromedriver runs in a process group of its own, with the Chromium it
/// starts; the whole group is killed, so a failed test leaves no browser
/// behind.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // Only the group this child leads: `kill -- -PGID`, and never when
        // the id could name another group (0 or 1 would reach this test's
        // own group or every process).
        let pgid = self.0.id();
        if pgid > 1 {
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{pgid}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// The browser, or `None` (with one line on stderr) when Chromium or
/// chromedriver is not installed.
pub(crate) async fn browser(test: &str) -> Option<Browser> {
    // TRIAGE_CHROMIUM / TRIAGE_CHROMEDRIVER name other binaries; a name
    // that is not a file counts as missing.
    let chromium = match std::env::var_os("TRIAGE_CHROMIUM") {
        Some(p) => Some(PathBuf::from(p)).filter(|p| p.is_file()),
        None => which("chromium").or_else(|| which("chromium-browser")),
    };
    let driver = match std::env::var_os("TRIAGE_CHROMEDRIVER") {
        Some(p) => Some(PathBuf::from(p)).filter(|p| p.is_file()),
        None => which("chromedriver"),
    };
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        // Straight to the process's stderr, past the test harness's output
        // capture, so a plain `cargo test` shows it.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: chromium and chromedriver not found; install them (apt-get install chromium chromium-driver) and run `cargo test --test dashboard`"
        );
        return None;
    };
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Driver(
        Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver starts"),
    );
    let profile = tempfile::tempdir().unwrap();
    let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }
    }))
    .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + T;
    let client = loop {
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => break c,
            Err(e) if tokio::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot start a Chromium session: {e}"),
        }
    };
    Some(Browser {
        client,
        _driver: child,
        _profile: profile,
    })
}

/// Saves a screenshot of the current page as target/dashboard-screenshots/NAME.png.
pub(crate) async fn screenshot(c: &Client, name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

pub(crate) async fn body_text(c: &Client) -> String {
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Opens `url`; the page's text.
pub(crate) async fn visit(c: &Client, url: &str) -> String {
    c.goto(url).await.unwrap();
    body_text(c).await
}

/// Clicks the element `at` finds.
pub(crate) async fn click(c: &Client, at: Locator<'_>) {
    c.find(at).await.unwrap().click().await.unwrap();
}

/// Waits until the page has an element `at` finds.
pub(crate) async fn wait_for(c: &Client, at: Locator<'_>) {
    c.wait().for_element(at).await.unwrap();
}

/// The browser's dashboard session (the `triage_session` cookie's value).
pub(crate) async fn session_cookie(c: &Client) -> String {
    c.get_named_cookie("triage_session")
        .await
        .unwrap()
        .value()
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// The bot and the dashboard.

pub(crate) struct Harness {
    pub(crate) fake: FakeDiscord,
    pub(crate) store: Arc<SqliteStore>,
    /// The dashboard's address, e.g. http://127.0.0.1:PORT.
    pub(crate) url: String,
    bot: BotTask,
    web: JoinHandle<()>,
    _work: Workdir,
}

/// The browser and a started harness, or `None` (skipped, see [`browser`])
/// without a browser.
pub(crate) async fn browser_and_harness(test: &str) -> Option<(Browser, Harness)> {
    let b = browser(test).await?;
    Some((b, Harness::start().await))
}

/// Ends a browser test: closes the session, then stops the harness.
pub(crate) async fn finish(b: Browser, h: Harness) {
    b.client.clone().close().await.unwrap();
    h.stop().await;
}

/// Waits until the bot has registered its slash commands with `fake`.
pub(crate) async fn commands_registered(fake: &FakeDiscord) {
    fake.wait_request(T, |r| r.is("PUT", "/applications/*/guilds/*/commands"))
        .await;
}

/// `/dashboard` as `user` in the staff channel of `fake`; the ephemeral
/// reply's body.
pub(crate) async fn dashboard_command(fake: &FakeDiscord, user: u64) -> Value {
    let id = fake.command_id("dashboard");
    let ix = payloads::slash_command(
        fake.world(),
        user,
        ids::STAFF_CHANNEL,
        id,
        "dashboard",
        vec![],
    );
    fake.dispatch("INTERACTION_CREATE", ix.clone());
    fake.wait_callback(&ix, T).await.body
}

impl Harness {
    pub(crate) async fn start() -> Harness {
        let fake = FakeDiscord::start(FakeOptions::default()).await;
        let work = Workdir::new(&[("convot.yaml", &kb())]);
        let kb_dir = work.kb_dir.clone();
        let kb = work.load_kb();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let url = format!("http://{addr}");
        let config = Config::parse_str(&format!(
            "{}dashboard:\n  listen: {addr}\n  public_url: {url}\n",
            crate::fixture::config_text(&[(ids::HELP_CHANNEL, "convot")])
        ))
        .unwrap();
        let store = work.open_store();
        let matcher: Arc<dyn Matching> = Arc::new(NoMatch(kb));
        let core = Core {
            matcher: matcher.clone(),
            store: store.clone(),
            clock: Arc::new(SystemClock),
        };
        let connection = crate::fixture::connection(&fake);
        let (http, rest) = discord::build_http(&connection).await.unwrap();
        let notifier = DiscordNotifier {
            http: Arc::new(http),
            config: config.clone(),
            store: store.clone(),
            matcher: matcher.clone(),
        };
        let dash = Arc::new(Dashboard {
            store: store.clone(),
            matcher,
            clock: Arc::new(SystemClock),
            notifier: Arc::new(notifier),
            public_url: url.clone(),
            kb_dir: Some(kb_dir.clone()),
            kb_loaded_at: time::OffsetDateTime::now_utc(),
        });
        let web = tokio::spawn(async move {
            let _rest = rest;
            dashboard::serve(listener, dash, std::future::pending())
                .await
                .unwrap();
        });
        let settings = Settings {
            config,
            connection,
            kb_dir,
        };
        let bot = BotTask::spawn(settings, core);
        commands_registered(&fake).await;
        Harness {
            fake,
            store,
            url,
            bot,
            web,
            _work: work,
        }
    }

    pub(crate) fn world(&self) -> &World {
        self.fake.world()
    }

    /// The dashboard's address for `path` (which starts with `/`).
    pub(crate) fn page(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Ticket `#id` as the store has it now.
    pub(crate) fn ticket(&self, id: i64) -> Ticket {
        self.store.ticket(TicketId(id)).unwrap().unwrap()
    }

    pub(crate) fn say(&self, user: u64, channel: u64, text: &str) -> Value {
        let m = payloads::message_create(self.world(), user, channel, text);
        self.fake.dispatch("MESSAGE_CREATE", m.clone());
        m
    }

    /// Edits `message` (as `say` returned it) to read `text`.
    pub(crate) fn edit(&self, message: &Value, text: &str) {
        self.fake
            .dispatch("MESSAGE_UPDATE", payloads::message_update(message, text));
    }

    /// `/escalate` by Alice, both fields answered; returns the thread id
    /// once the hand-off reached the staff channel.
    pub(crate) async fn ticket_from_alice(&self, app_key: &str, console: &str) -> u64 {
        let mark = self.fake.mark();
        let id = self.fake.command_id("escalate");
        let ix = payloads::slash_command(
            self.world(),
            ids::ALICE,
            ids::HELP_CHANNEL,
            id,
            "escalate",
            vec![],
        );
        self.fake.dispatch("INTERACTION_CREATE", ix.clone());
        let created = self
            .fake
            .wait_request_after(mark, T, |r| {
                r.is("POST", &format!("/channels/{}/threads", ids::HELP_CHANNEL))
            })
            .await;
        let tid = payloads::id_of(&created.response, "id");
        for (k, answer) in [("1/2", app_key), ("2/2", console)] {
            self.fake
                .wait_request_after(mark, T, |r| {
                    r.is("POST", &format!("/channels/{tid}/messages"))
                        && r.body["content"].as_str().unwrap_or("").contains(k)
                })
                .await;
            self.say(ids::ALICE, tid, answer);
        }
        self.fake
            .wait_request_after(mark, T, |r| {
                r.is(
                    "POST",
                    &format!("/channels/{}/messages", ids::STAFF_CHANNEL),
                )
            })
            .await;
        tid
    }

    /// `ticket_from_alice` with an ordinary app key and console output.
    pub(crate) async fn plain_ticket(&self) -> u64 {
        self.ticket_from_alice("app_12345", "nothing in the console at all")
            .await
    }

    /// Waits for a post with a file in the staff channel (the closed
    /// ticket's summary and transcript) among requests after `mark`.
    pub(crate) async fn staff_file_after(&self, mark: usize) -> Recorded {
        self.fake
            .wait_request_after(mark, T, |r| {
                r.is(
                    "POST",
                    &format!("/channels/{}/messages", ids::STAFF_CHANNEL),
                ) && !r.files.is_empty()
            })
            .await
    }

    /// Waits until the archive holds a message containing `needle`.
    pub(crate) async fn recorded(&self, ticket: i64, needle: &str) {
        poll(&format!("'{needle}' never recorded"), || {
            let t = self.ticket(ticket);
            Archive::transcript(self.store.as_ref(), &t)
                .unwrap()
                .iter()
                .any(|m| m.content.contains(needle))
                .then_some(())
        })
        .await
    }

    /// `/dashboard` as `user`; the ephemeral reply's text.
    pub(crate) async fn dashboard_command(&self, user: u64) -> Value {
        dashboard_command(&self.fake, user).await
    }

    /// A fresh login link for Bob (support role).
    pub(crate) async fn login_link(&self) -> String {
        let body = self.dashboard_command(ids::BOB).await;
        assert_eq!(
            body["data"]["flags"].as_u64().unwrap_or(0) & payloads::EPHEMERAL_FLAG,
            payloads::EPHEMERAL_FLAG,
            "the link is ephemeral: {body}"
        );
        let text = body["data"]["content"].as_str().unwrap();
        let start = text
            .find(&self.url)
            .unwrap_or_else(|| panic!("no link in {text}"));
        // In angle brackets, so Discord shows no preview (which would spend it).
        assert_eq!(&text[start - 1..start], "<", "{text}");
        let link = text[start..].split('>').next().unwrap();
        link.to_owned()
    }

    pub(crate) async fn stop(mut self) {
        self.bot.stop_unchecked(T).await;
        self.web.abort();
        self.fake.assert_no_violations();
    }
}

/// A raw GET of `url` with the session `cookie`, if any: its status and body.
pub(crate) async fn get(url: &str, cookie: Option<&str>) -> (u16, String) {
    raw(reqwest::Method::GET, url, cookie, &[]).await
}

/// A raw request to the dashboard (what a forged form or an old link sends).
pub(crate) async fn raw(
    method: reqwest::Method,
    url: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, String) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client.request(method, url);
    if let Some(c) = cookie {
        req = req.header("cookie", format!("triage_session={c}"));
    }
    if !form.is_empty() {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", v.replace(' ', "+")))
            .collect();
        req = req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}
