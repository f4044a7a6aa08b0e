//! The fake's shared state: the recordings, the gateway session, and the Discord objects the bot
//! created (messages, threads, commands, interaction acks). REST handlers, the websocket task and
//! the test-facing API all go through [`Shared`]; the lock is never held across an `.await`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};

use super::payloads::{self, intents, World};
use super::record::{Direction, Frame, Recorded, Violation};

/// Settings fixed when the fake starts.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// The bot token the fake accepts (REST `Authorization: Bot <token>` and IDENTIFY).
    pub token: String,
    /// Sent in HELLO; serenity heartbeats at this interval (at least ~500 ms in practice).
    pub heartbeat_interval_ms: u64,
    /// Send every gateway frame as its own zlib-compressed binary message.
    pub zlib: bool,
    /// How long after dispatch an interaction may still be acknowledged (Discord: 3 s).
    pub interaction_deadline: Duration,
    /// Dispatch MESSAGE_CREATE/UPDATE for the bot's own messages, as Discord does.
    pub echo_bot_messages: bool,
    /// The shard count GET /gateway/bot recommends.
    pub shards: u32,
}

/// Commands for a websocket connection task.
pub(crate) enum Outbound {
    /// Write this JSON frame.
    Frame(Value),
    /// Send a close frame with this code, then end the connection.
    Close(u16, Option<oneshot::Sender<()>>),
    /// End the TCP connection without a close frame (a network drop).
    Drop(oneshot::Sender<()>),
}

/// A live websocket connection.
pub(crate) struct Connection {
    /// 1-based connection number, as in [`Frame::connection`].
    pub id: usize,
    /// Queue of frames and commands for the connection task.
    pub tx: mpsc::UnboundedSender<Outbound>,
}

/// The gateway session created by the last successful IDENTIFY.
pub(crate) struct Session {
    /// Sent in READY; RESUME must name it.
    pub id: String,
    /// The last sequence number used.
    pub seq: u64,
    /// Every dispatch frame of the session, so a RESUME can replay what the bot missed.
    pub sent: Vec<Value>,
    /// The connection currently receiving the session's dispatches (None while disconnected:
    /// dispatches are then only buffered, like Discord does for a resumable session).
    pub attached: Option<usize>,
}

/// A gateway connection that identified as one shard of several (`shard: [id, total]` with
/// total > 1). Each has its own session and sequence; a guild's events go only to the
/// connection of shard `(guild_id >> 22) % total`, as Discord routes them. Such sessions are
/// not resumable here: a RESUME is answered with an invalid session, and the bot identifies
/// again (events sent while a shard is away are not replayed).
pub(crate) struct ShardLink {
    pub connection: usize,
    pub total: u32,
    pub session_id: String,
    pub seq: u64,
    pub tx: mpsc::UnboundedSender<Outbound>,
}

/// The shard Discord routes a guild's events to.
pub(crate) fn shard_of(guild_id: u64, total: u32) -> u32 {
    ((guild_id >> 22) % u64::from(total.max(1))) as u32
}

/// What the fake remembers about an interaction it dispatched.
pub(crate) struct InteractionState {
    pub token: String,
    /// Interaction type (2 command, 3 component, 4 autocomplete, 5 modal submit).
    pub kind: u64,
    pub channel_id: u64,
    /// When it was dispatched; callbacks later than the deadline get 10062.
    pub dispatched_at: Instant,
    /// The first (and only allowed) callback body.
    pub callback: Option<Value>,
    /// The message `@original` refers to (the response, or the clicked message for updates).
    pub original: Option<u64>,
    /// For component interactions: the message the component is on.
    pub source_message: Option<u64>,
}

/// A fault injected by a test.
pub(crate) struct Override {
    pub method: String,
    pub pattern: String,
    pub status: u16,
    pub body: Value,
    /// How many more requests it answers (None = until cleared).
    pub remaining: Option<usize>,
    /// Only requests whose JSON body, as text, contains this.
    pub body_contains: Option<String>,
    /// What happens instead of a plain answer.
    pub fault: Fault,
}

/// A fault an override injects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    /// Answer `status` and `body` without applying the request.
    #[default]
    Answer,
    /// Apply the request (or not), then break the connection instead of answering: the
    /// client sees a network error and cannot know whether the request took effect.
    Reset { applied: bool },
    /// Apply the request, then never answer (the connection hangs until the client gives up
    /// or dies): for killing the bot between a post and what it does after.
    Stall,
}

/// Everything mutable, behind one lock.
#[derive(Default)]
pub(crate) struct State {
    pub requests: Vec<Recorded>,
    pub frames: Vec<Frame>,
    pub violations: Vec<Violation>,
    pub overrides: Vec<Override>,
    /// Close IDENTIFY with 4004 (set by options or at run time).
    pub reject_identify: bool,
    /// Answer heartbeats with op 11 (turn off to simulate a zombie connection).
    pub ack_heartbeats: bool,
    pub session: Option<Session>,
    /// The newest websocket connection.
    pub connection: Option<Connection>,
    pub connections_opened: usize,
    /// Connections that identified as a shard of several, by shard id.
    pub shard_links: HashMap<u32, ShardLink>,
    /// Time from INTERACTION_CREATE to the accepted callback, by interaction id.
    pub callback_latency: HashMap<u64, Duration>,
    /// The intents of the last IDENTIFY; the fake withholds what Discord would withhold.
    pub intents: Option<u64>,
    pub interactions: HashMap<u64, InteractionState>,
    /// Every message the fake knows, by id (the bot's and the ones tests dispatched).
    pub messages: HashMap<u64, Value>,
    /// Nonces of the bot's messages sent with `enforce_nonce`, and the message each made.
    pub nonces: HashMap<String, u64>,
    /// Message ids in creation order (for GET /channels/{id}/messages).
    pub message_order: Vec<u64>,
    /// Threads by id (created by the bot, or dispatched by tests as THREAD_CREATE).
    pub threads: HashMap<u64, Value>,
    /// Members of each thread (user ids).
    pub thread_members: HashMap<u64, Vec<u64>>,
    /// Registered commands: (guild id for guild commands, the echoed command).
    pub commands: Vec<(Option<u64>, Value)>,
}

/// The state plus what never changes, shared by the server tasks and the test.
pub(crate) struct Shared {
    pub state: Mutex<State>,
    /// Bumped after every change; waiters re-check their condition when it moves.
    pub changed: watch::Sender<u64>,
    pub world: World,
    pub settings: Settings,
    pub addr: SocketAddr,
}

impl Shared {
    /// Runs `f` under the lock, then wakes waiters.
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let out = {
            // A panicking test must not take the fake down with it: ignore poisoning.
            let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut st)
        };
        self.changed.send_modify(|v| *v += 1);
        out
    }

    /// Reads under the lock without waking anyone.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn gateway_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Waits until `check` returns `Some`, re-checking after every change, or fails at `timeout`.
    pub async fn wait_for<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&State) -> Option<T>,
    ) -> Result<T, ()> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.changed.subscribe();
        loop {
            if let Some(found) = self.read(&mut check) {
                return Ok(found);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => return self.read(&mut check).ok_or(()),
            }
        }
    }

    pub fn record_frame(
        &self,
        connection: usize,
        direction: Direction,
        payload: Value,
        close: Option<u16>,
        is_close: bool,
    ) {
        self.with(|st| {
            let index = st.frames.len();
            st.frames.push(Frame {
                index,
                direction,
                connection,
                payload,
                close,
                is_close,
            });
        });
    }

    /// Sends a dispatch on the session: next `s`, buffered for RESUME, written to the attached
    /// connection if any. Also keeps the fake's objects in step (an INTERACTION_CREATE starts
    /// the 3-second clock, a MESSAGE_CREATE makes the message fetchable, a THREAD_CREATE makes
    /// the thread known). Returns the sequence number, or None when the bot's intents mean
    /// Discord would not send this event.
    pub fn dispatch_locked(&self, st: &mut State, t: &str, d: Value) -> Option<u64> {
        self.track(st, t, &d);
        let d = self.apply_intents(st, t, d)?;
        if !st.shard_links.is_empty() {
            return Self::dispatch_sharded(st, t, d);
        }
        let session = st.session.as_mut()?;
        session.seq += 1;
        let frame = json!({"op": 0, "s": session.seq, "t": t, "d": d});
        session.sent.push(frame.clone());
        let seq = session.seq;
        if let (Some(attached), Some(conn)) = (session.attached, st.connection.as_ref()) {
            if conn.id == attached {
                let _ = conn.tx.send(Outbound::Frame(frame));
            }
        }
        Some(seq)
    }

    /// Whether the bot has a gateway session (sharded or not) to dispatch on.
    pub fn has_session(st: &State) -> bool {
        st.session.is_some() || !st.shard_links.is_empty()
    }

    /// Sends a dispatch to the shard its guild is on (shard 0 for events with no guild, as
    /// Discord sends DMs there). Returns that shard's sequence number, or None when no
    /// connection runs the shard (the event is lost, as for a shard that is down).
    fn dispatch_sharded(st: &mut State, t: &str, d: Value) -> Option<u64> {
        let total = st.shard_links.values().next()?.total;
        let guild = d
            .get("guild_id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<u64>().ok());
        let shard = guild.map_or(0, |g| shard_of(g, total));
        let link = st.shard_links.get_mut(&shard)?;
        link.seq += 1;
        let frame = json!({"op": 0, "s": link.seq, "t": t, "d": d});
        let _ = link.tx.send(Outbound::Frame(frame));
        Some(link.seq)
    }

    /// Updates the fake's objects from a dispatch it is about to send.
    fn track(&self, st: &mut State, t: &str, d: &Value) {
        let id = |field: &str| {
            d.get(field)
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<u64>().ok())
        };
        match t {
            "INTERACTION_CREATE" => {
                if let (Some(ix_id), Some(token)) =
                    (id("id"), d.get("token").and_then(Value::as_str))
                {
                    let source_message = d
                        .get("message")
                        .and_then(|m| m.get("id"))
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse().ok());
                    if let (Some(mid), Some(msg)) = (source_message, d.get("message")) {
                        st.messages.entry(mid).or_insert_with(|| msg.clone());
                    }
                    st.interactions.entry(ix_id).or_insert(InteractionState {
                        token: token.to_string(),
                        kind: d.get("type").and_then(Value::as_u64).unwrap_or(0),
                        channel_id: id("channel_id").unwrap_or(0),
                        dispatched_at: Instant::now(),
                        callback: None,
                        original: None,
                        source_message,
                    });
                }
            }
            "MESSAGE_CREATE" | "MESSAGE_UPDATE" => {
                if let Some(mid) = id("id") {
                    if st.messages.insert(mid, d.clone()).is_none() {
                        st.message_order.push(mid);
                    }
                }
            }
            "THREAD_CREATE" | "THREAD_UPDATE" => {
                if let Some(tid) = id("id") {
                    let mut thread = d.clone();
                    if let Some(obj) = thread.as_object_mut() {
                        obj.remove("newly_created");
                    }
                    st.threads.insert(tid, thread);
                }
            }
            _ => {}
        }
    }

    /// What Discord does with message events given the bot's intents: none without
    /// GUILD_MESSAGES (DIRECT_MESSAGES for DMs); empty content, embeds, attachments and
    /// components without MESSAGE_CONTENT, unless the bot wrote the message or is mentioned.
    fn apply_intents(&self, st: &State, t: &str, mut d: Value) -> Option<Value> {
        if !matches!(t, "MESSAGE_CREATE" | "MESSAGE_UPDATE") {
            return Some(d);
        }
        let Some(bits) = st.intents else {
            return Some(d);
        };
        let in_guild = d.get("guild_id").is_some_and(|g| !g.is_null());
        let needed = if in_guild {
            intents::GUILD_MESSAGES
        } else {
            intents::DIRECT_MESSAGES
        };
        if bits & needed == 0 {
            return None;
        }
        let bot = self.world.application_id.to_string();
        let by_bot = d.pointer("/author/id").and_then(Value::as_str) == Some(bot.as_str());
        let mentions_bot = d
            .get("mentions")
            .and_then(Value::as_array)
            .is_some_and(|m| {
                m.iter()
                    .any(|u| u.get("id").and_then(Value::as_str) == Some(bot.as_str()))
            });
        if in_guild && bits & intents::MESSAGE_CONTENT == 0 && !by_bot && !mentions_bot {
            d["content"] = json!("");
            for field in ["embeds", "attachments", "components"] {
                if d.get(field).is_some() {
                    d[field] = json!([]);
                }
            }
        }
        Some(d)
    }

    /// Stores a message the bot created and echoes it on the gateway (unless ephemeral).
    pub fn create_bot_message(
        &self,
        st: &mut State,
        channel_id: u64,
        body: &Value,
        kind: u8,
    ) -> Value {
        self.create_bot_message_with_id(st, payloads::next_id(), channel_id, body, kind)
    }

    pub fn create_bot_message_with_id(
        &self,
        st: &mut State,
        id: u64,
        channel_id: u64,
        body: &Value,
        kind: u8,
    ) -> Value {
        let msg = payloads::bot_message(&self.world, id, channel_id, body, kind);
        st.messages.insert(id, msg.clone());
        st.message_order.push(id);
        self.echo(st, "MESSAGE_CREATE", &msg);
        msg
    }

    /// Applies an edit to a stored message and echoes MESSAGE_UPDATE (unless ephemeral).
    pub fn edit_message(&self, st: &mut State, id: u64, body: &Value) -> Option<Value> {
        let msg = st.messages.get_mut(&id)?;
        payloads::apply_edit(msg, body);
        let msg = msg.clone();
        self.echo(st, "MESSAGE_UPDATE", &msg);
        Some(msg)
    }

    fn echo(&self, st: &mut State, t: &str, msg: &Value) {
        let ephemeral = msg["flags"].as_u64().unwrap_or(0) & payloads::EPHEMERAL_FLAG != 0;
        if self.settings.echo_bot_messages && !ephemeral && Self::has_session(st) {
            self.dispatch_locked(st, t, msg.clone());
        }
    }

    /// A channel the fake knows: a world channel or a thread.
    pub fn channel_json(&self, st: &State, id: u64) -> Option<Value> {
        if let Some(t) = st.threads.get(&id) {
            return Some(t.clone());
        }
        self.world.channel(id).map(|c| self.world.channel_json(c))
    }

    /// The bot's permissions in a channel or thread (threads use their parent's).
    pub fn bot_permissions(&self, st: &State, channel_id: u64) -> u64 {
        let channel = st
            .threads
            .get(&channel_id)
            .and_then(|t| t["parent_id"].as_str())
            .and_then(|p| p.parse().ok())
            .unwrap_or(channel_id);
        self.world.permissions_in(self.world.bot(), channel)
    }
}
