//! The REST API under `/api/v10`. Every request goes through the same steps: parse (JSON or
//! multipart `payload_json`), authenticate, check the body against Discord's OpenAPI description,
//! apply a test's fault override, route, record. Endpoints answer with Discord's statuses and
//! error codes, and send the gateway events Discord sends as a side effect (THREAD_CREATE, and
//! MESSAGE_CREATE/UPDATE for the bot's own messages).
//!
//! This module owns that pipeline and the routing table; the rest lives in the files below:
//! `request.rs` (parsing, multipart included), `reply.rs` (the answer and its HTTP response),
//! `rules.rs` (refusals and Discord's rules the OpenAPI description does not state),
//! `commands.rs`, `interactions.rs` (callbacks and their webhooks), `messages.rs` (channel
//! messages) and `threads.rs` (threads, their members and channel edits).

mod commands;
mod interactions;
mod messages;
mod reply;
mod request;
mod rules;
mod threads;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::openapi::{self, Invalid};
use super::payloads;
use super::record::{path_matches, Recorded};
use super::state::{Fault, Shared, State};

use commands::{list_commands, post_command, put_commands};
use interactions::{callback, followup, webhook_message};
use messages::{channel_message, list_messages, post_message};
pub(crate) use reply::Reply;
use request::Incoming;
use rules::refuse;
use threads::{create_thread, edit_channel, thread_member};

pub(crate) async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let arrived = std::time::Instant::now();
    let req = Incoming::parse(&method, &uri, &headers, &raw);
    let mut operation = None;
    let reply = answer(&shared, &req, &mut operation);
    shared.with(|st| {
        let index = st.requests.len();
        st.requests.push(Recorded {
            index,
            method: req.method.clone(),
            path: req.path().to_string(),
            query: req.query.clone(),
            headers: req.headers.clone(),
            body: req.body.clone(),
            files: req.files.clone(),
            operation,
            status: if matches!(reply.fault, Fault::Answer) {
                reply.status
            } else {
                0
            },
            response: reply.body.clone(),
            at: arrived,
        });
    });
    if reply.fault == Fault::Stall {
        // Held until the client goes away (the server drops the task then).
        std::future::pending::<()>().await;
    }
    reply.into_response()
}

fn answer(shared: &Shared, req: &Incoming, operation: &mut Option<String>) -> Reply {
    let Some(path) = req.path.as_deref() else {
        return Reply::not_found();
    };
    let op = openapi::spec().operation(&req.method, path);
    *operation = op.as_ref().map(|o| o.operation_id.clone());

    if needs_auth(path)
        && req.header("authorization") != Some(&format!("Bot {}", shared.settings.token))
    {
        return Reply::error(401, 0, "401: Unauthorized");
    }

    let mut refusal = None;
    if req.bad_json {
        refusal = Some(refuse(
            shared,
            req,
            "json",
            400,
            payloads::error_body(50109, "The request body contains invalid JSON."),
            vec!["body is not JSON".into()],
        ));
    } else if let Some(op) = &op {
        let sends_body = req.had_body || matches!(req.method.as_str(), "POST" | "PUT" | "PATCH");
        if sends_body {
            if let Err(Invalid { errors, messages }) = openapi::spec().validate(op, &req.body) {
                refusal = Some(refuse(
                    shared,
                    req,
                    &op.operation_id,
                    400,
                    payloads::invalid_form_body(errors),
                    messages,
                ));
            }
        }
    }

    if let Some(mut reply) = take_override(shared, req, path) {
        let applied = matches!(reply.fault, Fault::Stall | Fault::Reset { applied: true });
        if applied {
            let routed = shared.with(|st| route(shared, st, req, path));
            reply.status = routed.status;
            reply.body = routed.body;
        }
        return reply;
    }
    if let Some(reply) = refusal {
        return reply;
    }
    let reply = shared.with(|st| route(shared, st, req, path));
    if reply.status == 404 && reply.body["code"] == json!(0) {
        if let Some(op) = &op {
            eprintln!(
                "fake_discord: {} {path} ({}) is part of Discord's API but the fake does not serve it; answered 404",
                req.method, op.operation_id
            );
        }
    }
    reply
}

/// Interaction callbacks and webhook-token routes are authenticated by their token, not the bot's.
fn needs_auth(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    !matches!(
        segs.as_slice(),
        ["interactions", ..] | ["webhooks", _, _, ..]
    )
}

fn take_override(shared: &Shared, req: &Incoming, path: &str) -> Option<Reply> {
    shared.with(|st| {
        let body_text = req.body.to_string();
        let i = st.overrides.iter().position(|o| {
            o.method.eq_ignore_ascii_case(&req.method)
                && path_matches(&o.pattern, path)
                && o.body_contains
                    .as_deref()
                    .is_none_or(|c| body_text.contains(c))
        })?;
        let o = &mut st.overrides[i];
        let reply = Reply {
            status: o.status,
            body: o.body.clone(),
            fault: o.fault,
        };
        if let Some(left) = o.remaining.as_mut() {
            *left -= 1;
            if *left == 0 {
                st.overrides.remove(i);
            }
        }
        Some(reply)
    })
}

fn snowflake(s: &str) -> Option<u64> {
    s.parse().ok()
}

fn route(shared: &Shared, st: &mut State, req: &Incoming, path: &str) -> Reply {
    let world = &shared.world;
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let app_ok = |app: &str| app == world.application_id.to_string();
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["gateway"]) => Reply::ok(json!({"url": shared.gateway_url()})),
        ("GET", ["gateway", "bot"]) => {
            Reply::ok(payloads::gateway_bot(&shared.gateway_url(), shared.settings.shards))
        }
        ("GET", ["oauth2", "applications", "@me"] | ["applications", "@me"]) => Reply::ok(world.application_info()),
        ("GET", ["users", "@me"]) => Reply::ok(world.bot().user.json()),
        ("GET", ["users", user]) => match world.members.iter().find(|m| m.user.id.to_string() == *user) {
            Some(m) => Reply::ok(m.user.json()),
            None => Reply::error(404, 10013, "Unknown User"),
        },

        // Guild reads (serenity's cache usually answers these; the fake serves them anyway).
        ("GET", ["guilds", g, ..]) if !world.serves_guild(g) => Reply::error(403, 50001, "Missing Access"),
        ("GET", ["guilds", _]) => {
            let mut guild = world.guild_create();
            for field in ["members", "channels", "threads", "presences", "voice_states"] {
                guild.as_object_mut().expect("guild is an object").remove(field);
            }
            Reply::ok(guild)
        }
        ("GET", ["guilds", _, "channels"]) => {
            Reply::ok(world.channels.iter().map(|c| world.channel_json(c)).collect::<Vec<_>>().into())
        }
        ("GET", ["guilds", _, "roles"]) => Reply::ok(world.roles.iter().map(|r| r.json()).collect::<Vec<_>>().into()),
        ("GET", ["guilds", _, "members", user]) => match world.members.iter().find(|m| m.user.id.to_string() == *user) {
            Some(m) => Reply::ok(m.json()),
            None => Reply::error(404, 10007, "Unknown Member"),
        },
        ("GET", ["guilds", _, "threads", "active"]) => {
            Reply::ok(json!({"threads": st.threads.values().cloned().collect::<Vec<_>>(), "members": []}))
        }

        // Commands.
        (_, ["applications", app, ..]) if !app_ok(app) => Reply::error(404, 10002, "Unknown Application"),
        (_, ["applications", _, "guilds", g, ..]) if !world.serves_guild(g) => {
            Reply::error(403, 50001, "Missing Access")
        }
        ("PUT", ["applications", _, "commands"]) => put_commands(shared, st, req, None),
        ("PUT", ["applications", _, "guilds", g, "commands"]) => put_commands(shared, st, req, snowflake(g)),
        ("GET", ["applications", _, "commands"]) => list_commands(st, None),
        ("GET", ["applications", _, "guilds", g, "commands"]) => list_commands(st, snowflake(g)),
        ("POST", ["applications", _, "commands"]) => post_command(shared, st, req, None),
        ("POST", ["applications", _, "guilds", g, "commands"]) => post_command(shared, st, req, snowflake(g)),
        ("DELETE", ["applications", _, "commands", id]) | ("DELETE", ["applications", _, "guilds", _, "commands", id]) => {
            let before = st.commands.len();
            st.commands.retain(|(_, c)| c["id"].as_str() != Some(id));
            if st.commands.len() < before {
                Reply::no_content()
            } else {
                Reply::error(404, 10063, "Unknown application command")
            }
        }

        // Interactions and their webhooks.
        ("POST", ["interactions", id, token, "callback"]) => match snowflake(id) {
            Some(id) => callback(shared, st, req, id, token),
            None => Reply::unknown_interaction(),
        },
        ("POST", ["webhooks", app, token]) => followup(shared, st, req, app_ok(app), token),
        (method @ ("GET" | "PATCH" | "DELETE"), ["webhooks", app, token, "messages", message]) => {
            webhook_message(shared, st, req, method, app_ok(app), token, message)
        }

        // Channels, messages, threads.
        ("GET", ["channels", c]) => match snowflake(c).and_then(|c| shared.channel_json(st, c)) {
            Some(ch) => Reply::ok(ch),
            None => Reply::unknown_channel(),
        },
        ("PATCH", ["channels", c]) => edit_channel(shared, st, req, snowflake(c).unwrap_or(0)),
        ("GET", ["channels", c, "messages"]) => list_messages(shared, st, req, snowflake(c).unwrap_or(0)),
        ("POST", ["channels", c, "messages"]) => post_message(shared, st, req, snowflake(c).unwrap_or(0)),
        (method @ ("GET" | "PATCH" | "DELETE"), ["channels", c, "messages", m]) => {
            channel_message(shared, st, req, method, snowflake(c).unwrap_or(0), snowflake(m).unwrap_or(0))
        }
        ("POST", ["channels", c, "threads"]) => create_thread(shared, st, req, snowflake(c).unwrap_or(0), None),
        ("POST", ["channels", c, "messages", m, "threads"]) => {
            create_thread(shared, st, req, snowflake(c).unwrap_or(0), snowflake(m))
        }
        (method @ ("PUT" | "DELETE"), ["channels", c, "thread-members", user]) => {
            thread_member(shared, st, method, snowflake(c).unwrap_or(0), user)
        }
        ("GET", ["channels", c, "thread-members"]) => match snowflake(c).and_then(|c| st.thread_members.get(&c).map(|m| (c, m))) {
            Some((c, members)) => Reply::ok(
                members
                    .iter()
                    .map(|u| json!({"id": c.to_string(), "user_id": u.to_string(), "join_timestamp": payloads::LONG_AGO, "flags": 0}))
                    .collect::<Vec<_>>()
                    .into(),
            ),
            None => Reply::unknown_channel(),
        },
        ("POST", ["channels", c, "typing"]) => match snowflake(c).and_then(|c| shared.channel_json(st, c)) {
            Some(_) => Reply::no_content(),
            None => Reply::unknown_channel(),
        },
        ("PUT" | "DELETE", ["channels", c, "messages", m, "reactions", _, "@me"]) => {
            let exists = snowflake(m).and_then(|m| st.messages.get(&m)).is_some_and(|msg| msg["channel_id"].as_str() == Some(c));
            if exists {
                Reply::no_content()
            } else {
                Reply::unknown_message()
            }
        }
        _ => Reply::not_found(),
    }
}
