//! The REST API under `/api/v10`. Every request goes through the same steps: parse (JSON or
//! multipart `payload_json`), authenticate, check the body against Discord's OpenAPI description,
//! apply a test's fault override, route, record. Endpoints answer with Discord's statuses and
//! error codes, and send the gateway events Discord sends as a side effect (THREAD_CREATE, and
//! MESSAGE_CREATE/UPDATE for the bot's own messages).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::openapi::{self, Invalid};
use super::payloads::{self, channel_type, perms, LOADING_FLAG};
use super::record::{path_matches, Recorded, Violation};
use super::state::{Fault, Shared, State};

/// A parsed request.
struct Incoming {
    method: String,
    /// Below `/api/v10`; `None` when the request was outside it.
    path: Option<String>,
    full_path: String,
    query: String,
    headers: Vec<(String, String)>,
    /// JSON body (`payload_json` of a multipart body); Null when none.
    body: Value,
    files: Vec<String>,
    /// The body was not empty.
    had_body: bool,
    /// The body claimed to be JSON and was not.
    bad_json: bool,
}

impl Incoming {
    fn parse(method: &Method, uri: &Uri, headers: &HeaderMap, raw: &Bytes) -> Self {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let content_type = headers
            .iter()
            .find(|(n, _)| n == "content-type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let (mut body, mut files, mut bad_json) = (Value::Null, Vec::new(), false);
        if content_type.starts_with("multipart/form-data") {
            let (payload, names) = parse_multipart(&content_type, raw);
            bad_json = payload.as_ref().is_some_and(Result::is_err);
            body = payload.and_then(Result::ok).unwrap_or(Value::Null);
            files = names;
        } else if !raw.is_empty() {
            match serde_json::from_slice(raw) {
                Ok(v) => body = v,
                Err(_) => bad_json = true,
            }
        }
        Incoming {
            method: method.as_str().to_ascii_uppercase(),
            path: uri.path().strip_prefix("/api/v10").map(|p| {
                if p.is_empty() {
                    "/".into()
                } else {
                    p.to_string()
                }
            }),
            full_path: uri.path().to_string(),
            query: uri.query().unwrap_or("").to_string(),
            headers,
            body,
            files,
            had_body: !raw.is_empty(),
            bad_json,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn path(&self) -> &str {
        self.path.as_deref().unwrap_or(&self.full_path)
    }

    fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }
}

/// The fake's answer.
pub(crate) struct Reply {
    status: u16,
    /// Null means no body (204).
    body: Value,
    /// Break the connection, or never answer, instead of sending this.
    fault: Fault,
}

impl Reply {
    fn new(status: u16, body: Value) -> Self {
        Reply {
            status,
            body,
            fault: Fault::Answer,
        }
    }

    fn ok(body: Value) -> Self {
        Reply::new(200, body)
    }

    fn created(body: Value) -> Self {
        Reply::new(201, body)
    }

    fn no_content() -> Self {
        Reply::new(204, Value::Null)
    }

    fn error(status: u16, code: u64, message: &str) -> Self {
        Reply::new(status, payloads::error_body(code, message))
    }

    fn not_found() -> Self {
        Reply::error(404, 0, "404: Not Found")
    }

    fn unknown_channel() -> Self {
        Reply::error(404, 10003, "Unknown Channel")
    }

    fn unknown_message() -> Self {
        Reply::error(404, 10008, "Unknown Message")
    }

    fn unknown_webhook() -> Self {
        Reply::error(404, 10015, "Unknown Webhook")
    }

    fn unknown_interaction() -> Self {
        Reply::error(404, 10062, "Unknown interaction")
    }

    fn missing_permissions() -> Self {
        Reply::error(403, 50013, "Missing Permissions")
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        if matches!(self.fault, Fault::Reset { .. }) {
            // Headers, then a body that fails: the client's read errors out, as when a
            // connection drops mid-answer.
            let broken = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "fake_discord: connection reset",
                ))
            });
            return (StatusCode::OK, axum::body::Body::from_stream(broken)).into_response();
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if self.body.is_null() {
            return status.into_response();
        }
        let mut response = (status, axum::Json(self.body.clone())).into_response();
        if self.status == 429 {
            let retry = self.body["retry_after"].as_f64().unwrap_or(1.0);
            let global = self.body["global"].as_bool().unwrap_or(false);
            let headers = response.headers_mut();
            for (name, value) in [
                ("retry-after", format!("{}", retry.ceil() as u64)),
                ("x-ratelimit-retry-after", retry.to_string()),
                ("x-ratelimit-global", global.to_string()),
                (
                    "x-ratelimit-scope",
                    if global { "global" } else { "user" }.to_string(),
                ),
            ] {
                headers.insert(
                    name,
                    HeaderValue::from_str(&value).expect("ASCII header value"),
                );
            }
        }
        response
    }
}

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

/// Records a refused body as a violation and builds the 400 Discord would send.
fn refuse(
    shared: &Shared,
    req: &Incoming,
    rule: &str,
    status: u16,
    body: Value,
    messages: Vec<String>,
) -> Reply {
    shared.with(|st| refuse_locked(st, req, rule, status, body, messages))
}

fn refuse_locked(
    st: &mut State,
    req: &Incoming,
    rule: &str,
    status: u16,
    body: Value,
    messages: Vec<String>,
) -> Reply {
    st.violations.push(Violation {
        method: req.method.clone(),
        path: req.path().to_string(),
        operation: rule.to_string(),
        body: req.body.clone(),
        errors: body.get("errors").cloned().unwrap_or_else(|| body.clone()),
        messages,
    });
    Reply::new(status, body)
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

// ---------------------------------------------------------------------------------------------
// Discord's rules that the OpenAPI description does not state.
// ---------------------------------------------------------------------------------------------

/// Checks a message body (create, edit, interaction response, follow-up) for what Discord
/// refuses beyond the schema: an empty message (50006) and duplicate component custom_ids.
fn message_rules(st: &mut State, req: &Incoming, body: &Value, creating: bool) -> Option<Reply> {
    let has = |field: &str| match body.get(field) {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    };
    let empty = ![
        "content",
        "embeds",
        "components",
        "sticker_ids",
        "attachments",
        "poll",
    ]
    .iter()
    .any(|f| has(f))
        && req.files.is_empty();
    if creating && empty {
        return Some(refuse_locked(
            st,
            req,
            "empty message",
            400,
            payloads::error_body(50006, "Cannot send an empty message"),
            vec!["message has no content, embeds, components, stickers, files or poll".into()],
        ));
    }
    let ids = payloads::custom_ids(body);
    let mut seen = std::collections::HashSet::new();
    if let Some((dup, _)) = ids.iter().find(|(id, _)| !seen.insert(id.clone())) {
        let errors = json!({"components": {"_errors": [{"code": "COMPONENT_CUSTOM_ID_DUPLICATED", "message": "Component custom id cannot be duplicated"}]}});
        return Some(refuse_locked(
            st,
            req,
            "duplicate custom_id",
            400,
            payloads::invalid_form_body(errors),
            vec![format!("custom_id `{dup}` appears more than once")],
        ));
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Commands.
// ---------------------------------------------------------------------------------------------

fn command_id_for(st: &State, guild: Option<u64>, cmd: &Value) -> u64 {
    let kind = |c: &Value| c.get("type").and_then(Value::as_u64).unwrap_or(1);
    st.commands
        .iter()
        .find(|(g, c)| *g == guild && c["name"] == cmd["name"] && kind(c) == kind(cmd))
        .and_then(|(_, c)| c["id"].as_str()?.parse().ok())
        .unwrap_or_else(payloads::next_id)
}

fn put_commands(shared: &Shared, st: &mut State, req: &Incoming, guild: Option<u64>) -> Reply {
    let list = req.body.as_array().cloned().unwrap_or_default();
    let registered: Vec<Value> = list
        .iter()
        .map(|cmd| {
            payloads::registered_command(&shared.world, command_id_for(st, guild, cmd), guild, cmd)
        })
        .collect();
    st.commands.retain(|(g, _)| *g != guild);
    st.commands
        .extend(registered.iter().map(|c| (guild, c.clone())));
    Reply::ok(Value::Array(registered))
}

fn post_command(shared: &Shared, st: &mut State, req: &Incoming, guild: Option<u64>) -> Reply {
    let id = command_id_for(st, guild, &req.body);
    let cmd = payloads::registered_command(&shared.world, id, guild, &req.body);
    let existed = st
        .commands
        .iter()
        .any(|(g, c)| *g == guild && c["id"] == cmd["id"]);
    st.commands
        .retain(|(g, c)| !(*g == guild && c["id"] == cmd["id"]));
    st.commands.push((guild, cmd.clone()));
    if existed {
        Reply::ok(cmd)
    } else {
        Reply::created(cmd)
    }
}

fn list_commands(st: &State, guild: Option<u64>) -> Reply {
    Reply::ok(
        st.commands
            .iter()
            .filter(|(g, _)| *g == guild)
            .map(|(_, c)| c.clone())
            .collect::<Vec<_>>()
            .into(),
    )
}

// ---------------------------------------------------------------------------------------------
// Interactions.
// ---------------------------------------------------------------------------------------------

/// POST /interactions/{id}/{token}/callback: Discord's 3-second and single-acknowledgement rules,
/// the response types each interaction type allows, and the message the response creates.
fn callback(shared: &Shared, st: &mut State, req: &Incoming, id: u64, token: &str) -> Reply {
    let Some(ix) = st.interactions.get(&id).filter(|ix| ix.token == token) else {
        return Reply::unknown_interaction();
    };
    if ix.callback.is_some() {
        return Reply::error(400, 40060, "Interaction has already been acknowledged.");
    }
    if ix.dispatched_at.elapsed() > shared.settings.interaction_deadline {
        return Reply::unknown_interaction();
    }
    let (ix_kind, channel_id, source) = (ix.kind, ix.channel_id, ix.source_message);
    let waited = ix.dispatched_at.elapsed();
    let response_type = req.body["type"].as_u64().unwrap_or(0);
    let allowed: &[u64] = match ix_kind {
        2 => &[4, 5, 9, 12],
        3 => &[4, 5, 6, 7, 9, 12],
        4 => &[8],
        5 => &[4, 5, 6, 7],
        _ => &[1],
    };
    if !allowed.contains(&response_type) {
        let message = format!("Interaction response type {response_type} is not valid for interaction type {ix_kind} (allowed: {allowed:?})");
        let errors = json!({"type": {"_errors": [{"code": "INTERACTION_RESPONSE_TYPE_INVALID", "message": message}]}});
        return refuse_locked(
            st,
            req,
            "interaction response type",
            400,
            payloads::invalid_form_body(errors),
            vec![message],
        );
    }
    st.callback_latency.insert(id, waited);
    let data = req.body.get("data").cloned().unwrap_or(Value::Null);
    if matches!(response_type, 4 | 7 | 9) {
        if let Some(refused) = message_rules(st, req, &data, response_type == 4) {
            return refused;
        }
    }
    let original = match response_type {
        4 => {
            let kind = if ix_kind == 2 { 20 } else { 0 };
            Some(payloads::id_of(
                &shared.create_bot_message(st, channel_id, &data, kind),
                "id",
            ))
        }
        5 => {
            let flags = data.get("flags").and_then(Value::as_u64).unwrap_or(0) | LOADING_FLAG;
            let placeholder = json!({"content": "", "flags": flags});
            let kind = if ix_kind == 2 { 20 } else { 0 };
            Some(payloads::id_of(
                &shared.create_bot_message(st, channel_id, &placeholder, kind),
                "id",
            ))
        }
        6 => source,
        7 => {
            if let Some(mid) = source {
                shared.edit_message(st, mid, &data);
            }
            source
        }
        _ => None,
    };
    let ix = st.interactions.get_mut(&id).expect("checked above");
    ix.callback = Some(req.body.clone());
    ix.original = original;
    Reply::no_content()
}

/// The interaction a webhook token belongs to, if the app id was right.
fn interaction_by_token(st: &State, app_ok: bool, token: &str) -> Option<u64> {
    if !app_ok {
        return None;
    }
    st.interactions
        .iter()
        .find(|(_, ix)| ix.token == token)
        .map(|(id, _)| *id)
}

/// POST /webhooks/{app}/{token}: a follow-up message. Discord creates the interaction's webhook
/// when the interaction is acknowledged, so a follow-up before the callback is Unknown Webhook.
fn followup(shared: &Shared, st: &mut State, req: &Incoming, app_ok: bool, token: &str) -> Reply {
    let Some(id) = interaction_by_token(st, app_ok, token) else {
        return Reply::unknown_webhook();
    };
    let ix = &st.interactions[&id];
    if ix.callback.is_none() {
        return Reply::unknown_webhook();
    }
    let channel_id = ix.channel_id;
    if let Some(refused) = message_rules(st, req, &req.body, true) {
        return refused;
    }
    Reply::ok(shared.create_bot_message(st, channel_id, &req.body, 0))
}

/// GET/PATCH/DELETE /webhooks/{app}/{token}/messages/{id | @original}.
#[allow(clippy::too_many_arguments)]
fn webhook_message(
    shared: &Shared,
    st: &mut State,
    req: &Incoming,
    method: &str,
    app_ok: bool,
    token: &str,
    message: &str,
) -> Reply {
    let Some(id) = interaction_by_token(st, app_ok, token) else {
        return Reply::unknown_webhook();
    };
    let ix = &st.interactions[&id];
    let target = if message == "@original" {
        ix.original
    } else {
        snowflake(message).filter(|m| {
            st.messages
                .get(m)
                .is_some_and(|msg| msg["channel_id"] == json!(ix.channel_id.to_string()))
        })
    };
    let Some(mid) = target.filter(|m| st.messages.contains_key(m)) else {
        return Reply::unknown_message();
    };
    match method {
        "GET" => Reply::ok(st.messages[&mid].clone()),
        "PATCH" => {
            if let Some(refused) = message_rules(st, req, &req.body, false) {
                return refused;
            }
            Reply::ok(
                shared
                    .edit_message(st, mid, &req.body)
                    .expect("message exists"),
            )
        }
        _ => {
            st.messages.remove(&mid);
            Reply::no_content()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Channels and messages.
// ---------------------------------------------------------------------------------------------

fn is_thread(st: &State, channel_id: u64) -> bool {
    st.threads.contains_key(&channel_id)
}

fn post_message(shared: &Shared, st: &mut State, req: &Incoming, channel_id: u64) -> Reply {
    if shared.channel_json(st, channel_id).is_none() {
        return Reply::unknown_channel();
    }
    let bits = shared.bot_permissions(st, channel_id);
    let send = if is_thread(st, channel_id) {
        perms::SEND_MESSAGES_IN_THREADS
    } else {
        perms::SEND_MESSAGES
    };
    if bits & perms::VIEW_CHANNEL == 0 {
        return Reply::error(403, 50001, "Missing Access");
    }
    if bits & send == 0 {
        return Reply::missing_permissions();
    }
    if let Some(refused) = message_rules(st, req, &req.body, true) {
        return refused;
    }
    // enforce_nonce: a second message with the same nonce from the same author is not
    // created; Discord answers with the first one.
    let nonce = req.body.get("nonce").and_then(|n| match n {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let enforced = req.body.get("enforce_nonce").and_then(Value::as_bool) == Some(true);
    if let (Some(n), true) = (&nonce, enforced) {
        if let Some(first) = st.nonces.get(n).and_then(|id| st.messages.get(id)) {
            return Reply::ok(first.clone());
        }
    }
    let kind = if req
        .body
        .get("message_reference")
        .is_some_and(Value::is_object)
    {
        19
    } else {
        0
    };
    let msg = shared.create_bot_message(st, channel_id, &req.body, kind);
    if let (Some(n), true) = (nonce, enforced) {
        st.nonces.insert(n, payloads::id_of(&msg, "id"));
    }
    Reply::ok(msg)
}

fn list_messages(shared: &Shared, st: &State, req: &Incoming, channel_id: u64) -> Reply {
    if shared.channel_json(st, channel_id).is_none() {
        return Reply::unknown_channel();
    }
    let limit = req
        .query_value("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(50usize)
        .min(100);
    let channel = channel_id.to_string();
    let in_channel = |m: &&Value| m["channel_id"].as_str() == Some(channel.as_str());
    // `after`: the oldest `limit` messages after that id; newest first, like the rest.
    if let Some(after) = req.query_value("after").and_then(|a| a.parse::<u64>().ok()) {
        let mut page: Vec<Value> = st
            .message_order
            .iter()
            .filter(|id| **id > after)
            .filter_map(|id| st.messages.get(id))
            .filter(in_channel)
            .take(limit)
            .cloned()
            .collect();
        page.reverse();
        return Reply::ok(Value::Array(page));
    }
    let newest_first: Vec<Value> = st
        .message_order
        .iter()
        .rev()
        .filter_map(|id| st.messages.get(id))
        .filter(in_channel)
        .take(limit)
        .cloned()
        .collect();
    Reply::ok(Value::Array(newest_first))
}

fn channel_message(
    shared: &Shared,
    st: &mut State,
    req: &Incoming,
    method: &str,
    channel_id: u64,
    message_id: u64,
) -> Reply {
    let channel = channel_id.to_string();
    let Some(msg) = st
        .messages
        .get(&message_id)
        .filter(|m| m["channel_id"].as_str() == Some(channel.as_str()))
    else {
        return Reply::unknown_message();
    };
    let by_bot = msg.pointer("/author/id").and_then(Value::as_str)
        == Some(&shared.world.application_id.to_string());
    match method {
        "GET" => Reply::ok(msg.clone()),
        "PATCH" if !by_bot => {
            Reply::error(403, 50005, "Cannot edit a message authored by another user")
        }
        "PATCH" => {
            if let Some(refused) = message_rules(st, req, &req.body, false) {
                return refused;
            }
            Reply::ok(
                shared
                    .edit_message(st, message_id, &req.body)
                    .expect("message exists"),
            )
        }
        _ => {
            if !by_bot && shared.bot_permissions(st, channel_id) & perms::MANAGE_MESSAGES == 0 {
                return Reply::missing_permissions();
            }
            st.messages.remove(&message_id);
            Reply::no_content()
        }
    }
}

/// POST /channels/{id}/threads and /channels/{id}/messages/{m}/threads. Answers 201 with the
/// thread and dispatches THREAD_CREATE, as Discord does. A forum post also creates its starter
/// message (whose id is the thread's id).
fn create_thread(
    shared: &Shared,
    st: &mut State,
    req: &Incoming,
    parent_id: u64,
    from_message: Option<u64>,
) -> Reply {
    let world = &shared.world;
    if is_thread(st, parent_id) {
        return Reply::error(400, 50024, "Cannot execute action on this channel type");
    }
    let Some(parent) = world.channel(parent_id) else {
        return Reply::unknown_channel();
    };
    let bits = shared.bot_permissions(st, parent_id);
    if bits & perms::VIEW_CHANNEL == 0 {
        return Reply::error(403, 50001, "Missing Access");
    }
    let name = req.body["name"].as_str().unwrap_or("thread").to_string();
    let bot = world.application_id;
    match (parent.kind, from_message) {
        (channel_type::FORUM, None) => {
            let Some(starter) = req.body.get("message").filter(|m| m.is_object()).cloned() else {
                let errors = json!({"message": {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]}});
                return refuse_locked(
                    st,
                    req,
                    "forum post needs a message",
                    400,
                    payloads::invalid_form_body(errors),
                    vec!["forum posts need `message`".into()],
                );
            };
            if bits & perms::SEND_MESSAGES == 0 {
                return Reply::missing_permissions();
            }
            let id = payloads::next_id();
            let mut thread = payloads::thread(
                world,
                id,
                parent_id,
                bot,
                &name,
                channel_type::PUBLIC_THREAD,
            );
            if let Some(tags) = req.body.get("applied_tags").filter(|t| t.is_array()) {
                thread["applied_tags"] = tags.clone();
            }
            finish_thread(shared, st, id, thread.clone());
            let message = shared.create_bot_message_with_id(st, id, id, &starter, 0);
            thread["message"] = message;
            Reply::created(thread)
        }
        (channel_type::TEXT | 5, _) => {
            let kind = match from_message {
                Some(_) if parent.kind == 5 => channel_type::ANNOUNCEMENT_THREAD,
                Some(_) => channel_type::PUBLIC_THREAD,
                None => req.body["type"]
                    .as_u64()
                    .map_or(channel_type::PRIVATE_THREAD, |t| t as u8),
            };
            let needed = if kind == channel_type::PRIVATE_THREAD {
                perms::CREATE_PRIVATE_THREADS
            } else {
                perms::CREATE_PUBLIC_THREADS
            };
            if bits & needed == 0 {
                return Reply::missing_permissions();
            }
            let id = match from_message {
                Some(mid) => {
                    let in_parent = st
                        .messages
                        .get(&mid)
                        .is_some_and(|m| m["channel_id"] == json!(parent_id.to_string()));
                    if !in_parent {
                        return Reply::unknown_message();
                    }
                    if st.threads.contains_key(&mid) {
                        return Reply::error(
                            400,
                            160004,
                            "A thread has already been created for this message",
                        );
                    }
                    mid
                }
                None => payloads::next_id(),
            };
            let mut thread = payloads::thread(world, id, parent_id, bot, &name, kind);
            if let Some(minutes) = req.body.get("auto_archive_duration").filter(|v| v.is_u64()) {
                thread["thread_metadata"]["auto_archive_duration"] = minutes.clone();
            }
            if let Some(invitable) = req.body.get("invitable").filter(|v| v.is_boolean()) {
                if kind == channel_type::PRIVATE_THREAD {
                    thread["thread_metadata"]["invitable"] = invitable.clone();
                }
            }
            finish_thread(shared, st, id, thread.clone());
            Reply::created(thread)
        }
        _ => Reply::error(400, 50024, "Cannot execute action on this channel type"),
    }
}

/// Stores a new thread with the bot as its member and announces it on the gateway.
fn finish_thread(shared: &Shared, st: &mut State, id: u64, thread: Value) {
    st.threads.insert(id, thread.clone());
    st.thread_members
        .insert(id, vec![shared.world.application_id]);
    if Shared::has_session(st) {
        shared.dispatch_locked(st, "THREAD_CREATE", payloads::thread_create(&thread));
    }
}

/// PATCH /channels/{id}: renaming, archiving or locking a thread (dispatches THREAD_UPDATE).
fn edit_channel(shared: &Shared, st: &mut State, req: &Incoming, channel_id: u64) -> Reply {
    let Some(thread) = st.threads.get_mut(&channel_id) else {
        return match shared.channel_json(st, channel_id) {
            Some(ch) => Reply::ok(ch),
            None => Reply::unknown_channel(),
        };
    };
    if let Some(name) = req.body.get("name").filter(|n| n.is_string()) {
        thread["name"] = name.clone();
    }
    for field in ["archived", "locked", "auto_archive_duration", "invitable"] {
        if let Some(v) = req.body.get(field).filter(|v| !v.is_null()) {
            thread["thread_metadata"][field] = v.clone();
            if field == "archived" {
                thread["thread_metadata"]["archive_timestamp"] = json!(payloads::now_timestamp());
            }
        }
    }
    let thread = thread.clone();
    if Shared::has_session(st) {
        shared.dispatch_locked(st, "THREAD_UPDATE", thread.clone());
    }
    Reply::ok(thread)
}

/// PUT/DELETE /channels/{thread}/thread-members/{user | @me}.
fn thread_member(
    shared: &Shared,
    st: &mut State,
    method: &str,
    thread_id: u64,
    user: &str,
) -> Reply {
    if !is_thread(st, thread_id) {
        return match shared.channel_json(st, thread_id) {
            Some(_) => Reply::error(400, 50024, "Cannot execute action on this channel type"),
            None => Reply::unknown_channel(),
        };
    }
    let user_id = if user == "@me" {
        Some(shared.world.application_id)
    } else {
        snowflake(user)
    };
    let Some(user_id) = user_id.filter(|u| shared.world.members.iter().any(|m| m.user.id == *u))
    else {
        return Reply::error(404, 10013, "Unknown User");
    };
    let members = st.thread_members.entry(thread_id).or_default();
    if method == "PUT" {
        if !members.contains(&user_id) {
            members.push(user_id);
        }
    } else {
        members.retain(|u| *u != user_id);
    }
    Reply::no_content()
}

// ---------------------------------------------------------------------------------------------
// Multipart.
// ---------------------------------------------------------------------------------------------

/// Extracts `payload_json` (parsed) and the file names from a multipart body. Minimal: enough
/// for what reqwest sends for serenity's attachments.
fn parse_multipart(content_type: &str, body: &[u8]) -> (Option<Result<Value, ()>>, Vec<String>) {
    let Some(boundary) = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
    else {
        return (Some(Err(())), Vec::new());
    };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let mut payload = None;
    let mut files = Vec::new();
    for part in split_bytes(body, delimiter.as_bytes()).into_iter().skip(1) {
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(split) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        let content = &part[split + 4..];
        let content = content.strip_suffix(b"\r\n").unwrap_or(content);
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .unwrap_or("");
        let param = |key: &str| {
            disposition.split(';').find_map(|p| {
                p.trim()
                    .strip_prefix(&format!("{key}="))
                    .map(|v| v.trim_matches('"').to_string())
            })
        };
        if let Some(filename) = param("filename") {
            files.push(filename);
        } else if param("name").as_deref() == Some("payload_json") {
            payload = Some(serde_json::from_slice(content).map_err(|_| ()));
        }
    }
    (payload, files)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn split_bytes<'a>(mut hay: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    while let Some(i) = find(hay, delimiter) {
        parts.push(&hay[..i]);
        hay = &hay[i + delimiter.len()..];
    }
    parts.push(hay);
    parts
}
