//! A fake Discord for end-to-end tests: the REST API under `/api/v10` and the gateway websocket,
//! in-process on 127.0.0.1:0, so the real serenity client (pointed at it with
//! `HttpBuilder::new(token).proxy(fake.base_url()).ratelimiter_disabled(true)`) runs unmodified.
//! See `shared/notes/discord-at-the-wire.md` for why it looks the way it does.
//!
//! Include it from an integration test with
//! `#[path = "support/fake_discord/mod.rs"] mod fake_discord;`
//! (a path module, so no shared `tests/support/mod.rs` is needed).
//!
//! It records every REST request and gateway frame, checks every request body against Discord's
//! OpenAPI description (a body Discord would refuse gets Discord's 400 and is a violation: end a
//! test with `fake.assert_no_violations()`), enforces the interaction rules (3 s, single ack),
//! and injects faults. Waits are condition-based with a timeout; nothing sleeps.
//!
//! ```text
//! let fake = FakeDiscord::start(FakeOptions::default()).await;
//! // start the bot with token fake.token() and API base fake.base_url(), then:
//! fake.wait_request(T, |r| r.is("PUT", "/applications/*/guilds/*/commands")).await; // ready
//! let id = fake.command_id("diagnose");
//! let ix = payloads::slash_command(fake.world(), ids::ALICE, ids::HELP_CHANNEL, id, "diagnose",
//!     vec![payloads::opt_string("symptom", "widget not showing")]);
//! fake.dispatch("INTERACTION_CREATE", ix.clone());
//! let answer = fake.wait_callback(&ix, T).await;            // answer.body = {"type": 4, ...}
//! let msg = fake.original_message(&ix).unwrap();            // the message with its buttons
//! fake.dispatch("INTERACTION_CREATE", payloads::button_click(fake.world(), ids::ALICE, &msg, "diag:escalate"));
//! fake.assert_no_violations();
//! ```
//!
//! Like Discord, the fake echoes the bot's own messages as MESSAGE_CREATE (the bot must ignore
//! them) and blanks the content of users' guild messages unless the bot asked for the
//! MESSAGE_CONTENT intent (or is mentioned).
//!
//! Files: `state.rs` (shared state), `rest/` (REST), `gateway.rs` (websocket), `openapi.rs`
//! (body checks), `payloads/` (JSON builders), `record.rs` (what is recorded), `client.rs`
//! (raw HTTP and a bare gateway client, for what serenity will not send).

// Each test binary that includes this module uses a different part of it; the rest (and the
// re-exports below) would be reported as unused in that binary.
#![allow(dead_code, unused_imports)]

mod client;
mod gateway;
pub mod openapi;
pub mod payloads;
mod record;
mod rest;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use serde_json::Value;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

pub use client::{GatewayClient, RawResponse, WsEvent};
pub use gateway::AUTHENTICATION_FAILED;
pub use payloads::World;
pub use record::{path_matches, Direction, Frame, Recorded, Violation};

pub use state::Fault;
use state::{Outbound, Override, Settings, Shared, State};

/// How the fake behaves; `Default` is Discord's behaviour.
#[derive(Clone, Debug)]
pub struct FakeOptions {
    /// The only bot token accepted (REST and IDENTIFY).
    pub token: String,
    /// HELLO's heartbeat interval. serenity's loop polls every ~500 ms, so less acts like 500 ms.
    pub heartbeat_interval: Duration,
    /// Answer every IDENTIFY with close code 4004 (authentication failed).
    pub reject_identify: bool,
    /// Send gateway frames as per-message zlib binary frames (what `compress: true` asks for).
    pub zlib: bool,
    /// How long an interaction can wait for its callback (Discord: 3 s). Shorten it to test
    /// "too late" without waiting 3 s.
    pub interaction_deadline: Duration,
    /// Echo the bot's own non-ephemeral messages as MESSAGE_CREATE/UPDATE, as Discord does (a
    /// bot must ignore its own messages).
    pub echo_bot_messages: bool,
    /// The guild, its roles, channels and members.
    pub world: World,
    /// The shard count GET /gateway/bot recommends (Discord: one per ~1,000 guilds).
    pub shards: u32,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            token: "fake-token".into(),
            heartbeat_interval: Duration::from_millis(41_250),
            reject_identify: false,
            zlib: false,
            interaction_deadline: Duration::from_secs(3),
            echo_bot_messages: true,
            world: World::default(),
            shards: 1,
        }
    }
}

/// A running fake Discord. Dropping it stops the server.
pub struct FakeDiscord {
    /// State shared with the server tasks.
    shared: Arc<Shared>,
    /// The accept loop; aborted on drop.
    server: JoinHandle<()>,
}

impl FakeDiscord {
    /// Binds 127.0.0.1:0 and serves. Panics if Discord's OpenAPI spec cannot be loaded.
    pub async fn start(opts: FakeOptions) -> FakeDiscord {
        openapi::spec();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let state = State {
            reject_identify: opts.reject_identify,
            ack_heartbeats: true,
            ..State::default()
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            changed: watch::channel(0).0,
            world: opts.world,
            settings: Settings {
                token: opts.token,
                heartbeat_interval_ms: opts.heartbeat_interval.as_millis() as u64,
                zlib: opts.zlib,
                interaction_deadline: opts.interaction_deadline,
                echo_bot_messages: opts.echo_bot_messages,
                shards: opts.shards.max(1),
            },
            addr,
        });
        let app = Router::new()
            .route("/ws", get(gateway::upgrade))
            .fallback(rest::handle)
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeDiscord { shared, server }
    }

    /// Time from each INTERACTION_CREATE to its accepted callback, by interaction id.
    pub fn callback_latencies(&self) -> Vec<(u64, Duration)> {
        self.shared
            .read(|st| st.callback_latency.iter().map(|(k, v)| (*k, *v)).collect())
    }

    /// The gateway connections that identified as a shard of several: `(shard, connection)`.
    pub fn shard_connections(&self) -> Vec<(u32, usize)> {
        let mut v: Vec<(u32, usize)> = self.shared.read(|st| {
            st.shard_links
                .iter()
                .map(|(s, l)| (*s, l.connection))
                .collect()
        });
        v.sort_unstable();
        v
    }

    /// `http://127.0.0.1:PORT`: give it to serenity's `HttpBuilder::proxy` (or `DISCORD_API_BASE`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// `ws://127.0.0.1:PORT/ws`, what GET /gateway answers.
    pub fn gateway_url(&self) -> String {
        self.shared.gateway_url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The token the fake accepts.
    pub fn token(&self) -> &str {
        &self.shared.settings.token
    }

    /// The guild the fake serves (ids in [`payloads::ids`] for the default one).
    pub fn world(&self) -> &World {
        &self.shared.world
    }

    // -----------------------------------------------------------------------------------------
    // Gateway.
    // -----------------------------------------------------------------------------------------

    /// Sends a dispatch (`op 0`) with the session's next sequence number and returns it. While
    /// the bot is disconnected the dispatch is buffered and replayed on RESUME, as Discord does.
    /// Returns `None` when the bot's intents mean Discord would not send it (a guild
    /// MESSAGE_CREATE without GUILD_MESSAGES). Panics when no session exists yet: wait for
    /// [`Self::wait_ready`] (or the command registration) first.
    ///
    /// An INTERACTION_CREATE starts the interaction's 3-second clock; a MESSAGE_CREATE or
    /// THREAD_CREATE makes the message or thread known to REST.
    pub fn dispatch(&self, t: &str, d: Value) -> Option<u64> {
        let outcome = self.shared.with(|st| {
            // With several shards, a shard that is down just gets nothing (None).
            if !Shared::has_session(st) && self.shared.settings.shards < 2 {
                return Err(());
            }
            Ok(self.shared.dispatch_locked(st, t, d))
        });
        outcome.unwrap_or_else(|()| {
            panic!("fake_discord: dispatch({t}) before the bot identified: wait_ready first")
        })
    }

    /// Sends any JSON frame as is on the current connection (op 7 RECONNECT, op 9
    /// INVALID_SESSION, a malformed dispatch...). Panics when the bot is not connected.
    pub fn send_raw(&self, frame: Value) {
        let sent = self.shared.read(|st| {
            st.connection
                .as_ref()
                .map(|c| c.tx.send(Outbound::Frame(frame)).is_ok())
        });
        assert!(
            sent == Some(true),
            "fake_discord: send_raw with no gateway connection"
        );
    }

    /// Closes the current gateway connection with `code` (e.g. 4000 unknown error, 4004 bad
    /// token, 4009 session timed out) and returns once the socket is gone.
    pub async fn close_gateway(&self, code: u16) {
        let (done, closed) = oneshot::channel();
        if self.send_outbound(Outbound::Close(code, Some(done))) {
            let _ = closed.await;
        }
    }

    /// Drops the gateway TCP connection without a close frame (a network failure); the
    /// session stays resumable. Returns once the socket is gone.
    pub async fn drop_connection(&self) {
        let (done, dropped) = oneshot::channel();
        if self.send_outbound(Outbound::Drop(done)) {
            let _ = dropped.await;
        }
    }

    fn send_outbound(&self, out: Outbound) -> bool {
        self.shared.read(|st| {
            st.connection
                .as_ref()
                .is_some_and(|c| c.tx.send(out).is_ok())
        })
    }

    /// Forgets the gateway session, as Discord does after a long outage: the bot's next RESUME
    /// is refused (op 9, `false`) and nothing dispatched before is replayed.
    pub fn invalidate_session(&self) {
        self.shared.with(|st| st.session = None);
    }

    /// From now on, answer IDENTIFY with close 4004 (or stop doing so).
    pub fn set_reject_identify(&self, reject: bool) {
        self.shared.with(|st| st.reject_identify = reject);
    }

    /// Stop (or resume) acknowledging heartbeats, to simulate a zombied connection.
    pub fn set_heartbeat_ack(&self, ack: bool) {
        self.shared.with(|st| st.ack_heartbeats = ack);
    }

    /// Every gateway frame so far, both directions.
    pub fn gateway_frames(&self) -> Vec<Frame> {
        self.shared.read(|st| st.frames.clone())
    }

    /// How many websocket connections the bot has opened.
    pub fn connections(&self) -> usize {
        self.shared.read(|st| st.connections_opened)
    }

    /// Waits for a gateway frame (either direction, any time so far) matching `pred`.
    pub async fn wait_gateway(&self, timeout: Duration, pred: impl Fn(&Frame) -> bool) -> Frame {
        self.shared
            .wait_for(timeout, |st| st.frames.iter().find(|f| pred(f)).cloned())
            .await
            .unwrap_or_else(|()| {
                panic!(
                    "fake_discord: no matching gateway frame within {timeout:?}\n{}",
                    self.describe()
                )
            })
    }

    /// Waits for a frame with opcode `op` sent by the bot (1 heartbeat, 2 IDENTIFY, 6 RESUME...).
    pub async fn wait_gateway_op(&self, op: u64, timeout: Duration) -> Frame {
        self.wait_gateway(timeout, |f| {
            f.direction == Direction::Received && f.op() == Some(op)
        })
        .await
    }

    /// Waits for the `n`-th (1-based) frame with opcode `op` sent by the bot.
    pub async fn wait_gateway_op_count(&self, op: u64, n: usize, timeout: Duration) -> Frame {
        self.shared
            .wait_for(timeout, |st| {
                st.frames
                    .iter()
                    .filter(|f| f.direction == Direction::Received && f.op() == Some(op))
                    .nth(n - 1)
                    .cloned()
            })
            .await
            .unwrap_or_else(|()| {
                panic!(
                    "fake_discord: no {n}th op {op} within {timeout:?}\n{}",
                    self.describe()
                )
            })
    }

    /// Waits until a dispatch named `t` has been written to the bot (READY, RESUMED...).
    pub async fn wait_dispatch_sent(&self, t: &str, timeout: Duration) -> Frame {
        self.wait_gateway(timeout, |f| {
            f.direction == Direction::Sent && f.t() == Some(t)
        })
        .await
    }

    /// Waits until READY has been written to the bot (its session exists; dispatching is possible).
    pub async fn wait_ready(&self, timeout: Duration) -> Frame {
        self.wait_dispatch_sent("READY", timeout).await
    }

    // -----------------------------------------------------------------------------------------
    // REST recordings and faults.
    // -----------------------------------------------------------------------------------------

    /// Every REST request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.read(|st| st.requests.clone())
    }

    /// The requests recorded from index `from` on (cheap polling for load tests).
    pub fn requests_from(&self, from: usize) -> Vec<Recorded> {
        self.shared.read(|st| {
            st.requests
                .get(from..)
                .map(<[Recorded]>::to_vec)
                .unwrap_or_default()
        })
    }

    /// The number of requests so far: pass it to [`Self::wait_request_after`] to wait for a
    /// request that comes after this point.
    pub fn mark(&self) -> usize {
        self.shared.read(|st| st.requests.len())
    }

    /// Waits for a request (any so far, or a later one) matching `pred`; panics with the list
    /// of requests seen when `timeout` passes.
    pub async fn wait_request(
        &self,
        timeout: Duration,
        pred: impl Fn(&Recorded) -> bool,
    ) -> Recorded {
        self.wait_request_after(0, timeout, pred).await
    }

    /// Like [`Self::wait_request`], among requests with `index >= mark` only.
    pub async fn wait_request_after(
        &self,
        mark: usize,
        timeout: Duration,
        pred: impl Fn(&Recorded) -> bool,
    ) -> Recorded {
        self.try_wait_request_after(mark, timeout, pred)
            .await
            .unwrap_or_else(|| {
                panic!(
                    "fake_discord: no matching request within {timeout:?}\n{}",
                    self.describe()
                )
            })
    }

    /// Like [`Self::wait_request_after`] but `None` on timeout.
    pub async fn try_wait_request_after(
        &self,
        mark: usize,
        timeout: Duration,
        pred: impl Fn(&Recorded) -> bool,
    ) -> Option<Recorded> {
        self.shared
            .wait_for(timeout, |st| {
                st.requests.iter().skip(mark).find(|r| pred(r)).cloned()
            })
            .await
            .ok()
    }

    /// Waits for the bot's callback to `interaction` (the payload you dispatched). The body is
    /// the interaction response (`{"type": 4, "data": {...}}`); `status` says whether the fake
    /// accepted it (204) or refused it like Discord (404 10062, 400 40060, 400 50035).
    pub async fn wait_callback(&self, interaction: &Value, timeout: Duration) -> Recorded {
        let path = format!(
            "/interactions/{}/{}/callback",
            payloads::id_of(interaction, "id"),
            interaction["token"]
                .as_str()
                .expect("an interaction has a token")
        );
        self.wait_request(timeout, |r| r.method == "POST" && r.path == path)
            .await
    }

    /// Makes requests matching `method` and `pattern` (path below `/api/v10`; `*` or `{name}`
    /// matches one segment, a final `**` the rest) answer `status` with `body` until
    /// [`Self::clear_overrides`]. The request is recorded but has no effect. Use
    /// [`payloads::error_body`] / [`payloads::rate_limited`] for Discord's error shapes.
    pub fn override_route(&self, method: &str, pattern: &str, status: u16, body: Value) {
        self.push_override(method, pattern, status, body, None);
    }

    /// Like [`Self::override_route`] for the next `times` matching requests only (e.g. one 500,
    /// then normal service).
    pub fn override_route_times(
        &self,
        method: &str,
        pattern: &str,
        status: u16,
        body: Value,
        times: usize,
    ) {
        self.push_override(method, pattern, status, body, Some(times));
    }

    fn push_override(
        &self,
        method: &str,
        pattern: &str,
        status: u16,
        body: Value,
        remaining: Option<usize>,
    ) {
        let o = Override {
            method: method.to_string(),
            pattern: pattern.to_string(),
            status,
            body,
            remaining,
            body_contains: None,
            fault: Fault::Answer,
        };
        self.shared.with(|st| st.overrides.push(o));
    }

    /// The most general override: the next `times` requests matching `method`, `pattern` and,
    /// when given, whose JSON body contains `body_contains` (e.g. a message's words) get
    /// `fault`: `status` and `body` ([`Fault::Answer`]), a broken connection
    /// ([`Fault::Reset`]) or no answer at all ([`Fault::Stall`]).
    #[allow(clippy::too_many_arguments)]
    pub fn inject(
        &self,
        method: &str,
        pattern: &str,
        body_contains: Option<&str>,
        fault: Fault,
        status: u16,
        body: Value,
        times: usize,
    ) {
        let o = Override {
            method: method.to_string(),
            pattern: pattern.to_string(),
            status,
            body,
            remaining: Some(times),
            body_contains: body_contains.map(str::to_string),
            fault,
        };
        self.shared.with(|st| st.overrides.push(o));
    }

    /// Stores a user's message in a channel without dispatching it: what was posted while the
    /// bot's session was gone and will not be replayed (a refused RESUME). Returns it.
    pub fn store_message(&self, message: Value) -> Value {
        let id = payloads::id_of(&message, "id");
        self.shared.with(|st| {
            st.messages.insert(id, message.clone());
            st.message_order.push(id);
        });
        message
    }

    pub fn clear_overrides(&self) {
        self.shared.with(|st| st.overrides.clear());
    }

    /// Requests Discord would have refused (schema or rule), in order.
    pub fn violations(&self) -> Vec<Violation> {
        self.shared.read(|st| st.violations.clone())
    }

    /// Panics listing every violation, if there is any. End each end-to-end test with this.
    pub fn assert_no_violations(&self) {
        let violations = self.violations();
        if !violations.is_empty() {
            let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
            panic!(
                "fake_discord: {} request(s) Discord would refuse:\n{}",
                violations.len(),
                list.join("\n")
            );
        }
    }

    // -----------------------------------------------------------------------------------------
    // Discord objects the bot created.
    // -----------------------------------------------------------------------------------------

    /// The id the fake gave a registered command (guild commands first), to put in
    /// [`payloads::slash_command`]. Panics when the bot has not registered it.
    pub fn command_id(&self, name: &str) -> u64 {
        self.shared
            .read(|st| {
                let mut found: Vec<&(Option<u64>, Value)> = st
                    .commands
                    .iter()
                    .filter(|(_, c)| c["name"] == name)
                    .collect();
                found.sort_by_key(|(g, _)| g.is_none());
                found.first().map(|(_, c)| payloads::id_of(c, "id"))
            })
            .unwrap_or_else(|| panic!("fake_discord: the bot registered no command `{name}`"))
    }

    /// Registered commands as echoed to the bot, `(guild id or None for global, command)`.
    pub fn commands(&self) -> Vec<(Option<u64>, Value)> {
        self.shared.read(|st| st.commands.clone())
    }

    /// A message the fake knows (the bot's, or one a test dispatched).
    pub fn message(&self, id: u64) -> Option<Value> {
        self.shared.read(|st| st.messages.get(&id).cloned())
    }

    /// Messages in a channel or thread, oldest first.
    pub fn messages_in(&self, channel_id: u64) -> Vec<Value> {
        let channel = channel_id.to_string();
        self.shared.read(|st| {
            st.message_order
                .iter()
                .filter_map(|id| st.messages.get(id))
                .filter(|m| m["channel_id"].as_str() == Some(channel.as_str()))
                .cloned()
                .collect()
        })
    }

    /// The message `@original` refers to for this interaction (the bot's response, or the
    /// clicked message after an update), as the fake currently holds it: feed it to
    /// [`payloads::button_click`].
    pub fn original_message(&self, interaction: &Value) -> Option<Value> {
        let id = payloads::id_of(interaction, "id");
        self.shared.read(|st| {
            st.interactions
                .get(&id)
                .and_then(|ix| ix.original)
                .and_then(|m| st.messages.get(&m).cloned())
        })
    }

    /// Threads the fake knows (created by the bot or dispatched by tests).
    pub fn threads(&self) -> Vec<Value> {
        self.shared
            .read(|st| st.threads.values().cloned().collect())
    }

    pub fn thread(&self, id: u64) -> Option<Value> {
        self.shared.read(|st| st.threads.get(&id).cloned())
    }

    /// User ids that are members of a thread.
    pub fn thread_members(&self, thread_id: u64) -> Vec<u64> {
        self.shared.read(|st| {
            st.thread_members
                .get(&thread_id)
                .cloned()
                .unwrap_or_default()
        })
    }

    // -----------------------------------------------------------------------------------------
    // Raw HTTP.
    // -----------------------------------------------------------------------------------------

    /// Sends a request with the bot's `Authorization` header; `path` is below `/api/v10`.
    pub async fn raw_request(&self, method: &str, path: &str, body: Option<&Value>) -> RawResponse {
        let auth = format!("Bot {}", self.token());
        self.raw_request_with(method, path, &[("Authorization", auth.as_str())], body)
            .await
    }

    /// Sends a request with exactly these headers; `path` is below `/api/v10`.
    pub async fn raw_request_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> RawResponse {
        client::request(
            self.addr(),
            method,
            &format!("/api/v10{path}"),
            headers,
            body,
        )
        .await
        .unwrap_or_else(|e| panic!("fake_discord: raw {method} {path}: {e}"))
    }

    /// A summary of what happened, for timeout messages.
    fn describe(&self) -> String {
        self.shared.read(|st| {
            let mut out = String::from("requests:\n");
            for r in &st.requests {
                out.push_str(&format!(
                    "  #{} {} {} -> {}\n",
                    r.index, r.method, r.path, r.status
                ));
            }
            out.push_str("gateway frames:\n");
            for f in &st.frames {
                let what = match (f.is_close, f.t()) {
                    (true, _) => format!("close {:?}", f.close),
                    (false, Some(t)) => format!("op 0 {t} s={:?}", f.seq()),
                    (false, None) => format!("op {:?}", f.op()),
                };
                out.push_str(&format!(
                    "  #{} conn {} {:?} {what}\n",
                    f.index, f.connection, f.direction
                ));
            }
            for v in &st.violations {
                out.push_str(&format!("violation: {v}\n"));
            }
            out
        })
    }
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.server.abort();
        let (done, _) = oneshot::channel();
        self.send_outbound(Outbound::Drop(done));
    }
}
