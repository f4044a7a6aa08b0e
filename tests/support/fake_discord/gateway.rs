//! The gateway websocket: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats and their ACKs,
//! RESUME with replay of missed dispatches, and the faults tests inject (close codes, drops).
//!
//! Each connection is one task that owns the socket. Everything it writes comes through its
//! queue (`Outbound`), so the order of frames is the order in which the fake decided to send
//! them; a frame is recorded once it has been written.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::payloads;
use super::record::Direction;
use super::state::{shard_of, Connection, Outbound, Session, ShardLink, Shared};

/// Discord's close code for a bad token.
pub const AUTHENTICATION_FAILED: u16 = 4004;

/// How long to wait for the bot's answer to our close frame before dropping the socket.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(1);

pub(crate) async fn upgrade(ws: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    ws.on_upgrade(move |socket| connection(shared, socket))
}

async fn connection(shared: Arc<Shared>, socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn = shared.with(|st| {
        st.connections_opened += 1;
        let id = st.connections_opened;
        st.connection = Some(Connection { id, tx: tx.clone() });
        id
    });
    let hello =
        json!({"op": 10, "d": {"heartbeat_interval": shared.settings.heartbeat_interval_ms}});
    let _ = tx.send(Outbound::Frame(hello));

    let (mut sink, mut stream) = socket.split();
    let mut dropped = None;
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Outbound::Frame(frame)) => {
                    if sink.send(encode(&frame, shared.settings.zlib)).await.is_err() {
                        shared.record_frame(conn, Direction::Received, Value::Null, None, true);
                        break;
                    }
                    shared.record_frame(conn, Direction::Sent, frame, None, false);
                }
                Some(Outbound::Close(code, done)) => {
                    let close = CloseFrame { code, reason: "fake_discord".into() };
                    let _ = sink.send(Message::Close(Some(close))).await;
                    shared.record_frame(conn, Direction::Sent, Value::Null, Some(code), true);
                    // Let the bot read the close frame and answer it before the socket goes.
                    let _ = tokio::time::timeout(CLOSE_HANDSHAKE, async {
                        while let Some(Ok(msg)) = stream.next().await {
                            if matches!(msg, Message::Close(_)) {
                                break;
                            }
                        }
                    })
                    .await;
                    dropped = done;
                    break;
                }
                Some(Outbound::Drop(done)) => {
                    shared.record_frame(conn, Direction::Sent, Value::Null, None, true);
                    dropped = Some(done);
                    break;
                }
                None => break,
            },
            inbound = stream.next() => match inbound {
                Some(Ok(Message::Text(text))) => on_text(&shared, conn, &tx, text.as_str()),
                Some(Ok(Message::Binary(bytes))) => on_text(&shared, conn, &tx, &String::from_utf8_lossy(&bytes)),
                Some(Ok(Message::Close(frame))) => {
                    shared.record_frame(conn, Direction::Received, Value::Null, frame.map(|f| f.code), true);
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    shared.record_frame(conn, Direction::Received, Value::Null, None, true);
                    break;
                }
            },
        }
    }
    drop(sink);
    drop(stream);
    shared.with(|st| {
        if st.connection.as_ref().is_some_and(|c| c.id == conn) {
            st.connection = None;
        }
        if let Some(session) = st.session.as_mut().filter(|s| s.attached == Some(conn)) {
            session.attached = None;
        }
        st.shard_links.retain(|_, l| l.connection != conn);
    });
    if let Some(done) = dropped {
        let _ = done.send(());
    }
}

/// A frame as serenity reads it: plain text, or (per-message compression) one zlib stream per
/// binary message, which `recv_json` inflates on its own.
fn encode(frame: &Value, zlib: bool) -> Message {
    let text = frame.to_string();
    if !zlib {
        return Message::Text(text.into());
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(text.as_bytes())
        .expect("writing to a Vec cannot fail");
    Message::Binary(
        encoder
            .finish()
            .expect("finishing a Vec-backed encoder cannot fail")
            .into(),
    )
}

/// Handles one frame from the bot; replies go through the connection's queue.
fn on_text(shared: &Arc<Shared>, conn: usize, tx: &mpsc::UnboundedSender<Outbound>, text: &str) {
    let frame: Value = serde_json::from_str(text).unwrap_or_else(|_| json!({"unparsable": text}));
    shared.record_frame(conn, Direction::Received, frame.clone(), None, false);
    let d = &frame["d"];
    match frame["op"].as_u64() {
        Some(1) if shared.read(|st| st.ack_heartbeats) => {
            let _ = tx.send(Outbound::Frame(json!({"op": 11})));
        }
        Some(2) => identify(shared, conn, tx, d),
        Some(6) => resume(shared, conn, tx, d),
        _ => {}
    }
}

fn token_ok(shared: &Shared, d: &Value) -> bool {
    let sent = d["token"].as_str().unwrap_or("");
    sent.strip_prefix("Bot ").unwrap_or(sent) == shared.settings.token
}

fn identify(shared: &Arc<Shared>, conn: usize, tx: &mpsc::UnboundedSender<Outbound>, d: &Value) {
    if shared.read(|st| st.reject_identify) || !token_ok(shared, d) {
        let _ = tx.send(Outbound::Close(AUTHENTICATION_FAILED, None));
        return;
    }
    let shard = d["shard"].as_array().and_then(|s| {
        let id = u32::try_from(s.first()?.as_u64()?).ok()?;
        let total = u32::try_from(s.get(1)?.as_u64()?).ok()?;
        (total > 1 && id < total).then_some((id, total))
    });
    if let Some((id, total)) = shard {
        return identify_shard(shared, conn, tx, d, id, total);
    }
    shared.with(|st| {
        let session_id = format!("fake-session-{}", payloads::next_id());
        st.intents = d["intents"].as_u64();
        st.session = Some(Session {
            id: session_id.clone(),
            seq: 0,
            sent: Vec::new(),
            attached: Some(conn),
        });
        let ready = shared.world.ready(&session_id, &shared.gateway_url());
        shared.dispatch_locked(st, "READY", ready);
        // Threads made in an earlier session are the guild's active threads, as on Discord.
        let mut guild = shared.world.guild_create();
        guild["threads"] = st.threads.values().cloned().collect();
        shared.dispatch_locked(st, "GUILD_CREATE", guild);
    });
}

/// IDENTIFY as shard `id` of `total`: READY lists only that shard's guilds, and GUILD_CREATE
/// follows when the world's guild is on it.
fn identify_shard(
    shared: &Arc<Shared>,
    conn: usize,
    tx: &mpsc::UnboundedSender<Outbound>,
    d: &Value,
    id: u32,
    total: u32,
) {
    shared.with(|st| {
        st.intents = d["intents"].as_u64();
        let session_id = format!("fake-session-{}", payloads::next_id());
        let mine = shard_of(shared.world.guild_id, total) == id;
        let mut ready = shared.world.ready(&session_id, &shared.gateway_url());
        ready["shard"] = json!([id, total]);
        if !mine {
            ready["guilds"] = json!([]);
        }
        let mut link = ShardLink {
            connection: conn,
            total,
            session_id,
            seq: 0,
            tx: tx.clone(),
        };
        let mut send = |t: &str, d: Value| {
            link.seq += 1;
            let _ = tx.send(Outbound::Frame(
                json!({"op": 0, "s": link.seq, "t": t, "d": d}),
            ));
        };
        send("READY", ready);
        if mine {
            let mut guild = shared.world.guild_create();
            guild["threads"] = st.threads.values().cloned().collect();
            send("GUILD_CREATE", guild);
        }
        st.shard_links.insert(id, link);
    });
}

fn resume(shared: &Arc<Shared>, conn: usize, tx: &mpsc::UnboundedSender<Outbound>, d: &Value) {
    let resumed = shared.with(|st| {
        let Some(session) = st.session.as_mut() else {
            return false;
        };
        if d["session_id"].as_str() != Some(session.id.as_str()) || !token_ok(shared, d) {
            return false;
        }
        let after = d["seq"].as_u64().unwrap_or(0);
        for frame in session
            .sent
            .iter()
            .filter(|f| f["s"].as_u64().unwrap_or(0) > after)
        {
            let _ = tx.send(Outbound::Frame(frame.clone()));
        }
        session.attached = Some(conn);
        shared.dispatch_locked(st, "RESUMED", payloads::resumed());
        true
    });
    if !resumed {
        let _ = tx.send(Outbound::Frame(json!({"op": 9, "d": false})));
    }
}
