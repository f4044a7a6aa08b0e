//! Interactions and their webhooks: the callback (Discord's 3-second and single-acknowledgement
//! rules, the response types each interaction type allows, the message it creates), follow-ups,
//! and the `@original` and follow-up messages read, edited and deleted by token.

use serde_json::{json, Value};

use super::super::payloads::{self, LOADING_FLAG};
use super::super::state::{Shared, State};
use super::reply::Reply;
use super::request::Incoming;
use super::rules::{message_rules, refuse_locked};
use super::snowflake;

/// POST /interactions/{id}/{token}/callback: Discord's 3-second and single-acknowledgement rules,
/// the response types each interaction type allows, and the message the response creates.
pub(super) fn callback(
    shared: &Shared,
    st: &mut State,
    req: &Incoming,
    id: u64,
    token: &str,
) -> Reply {
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
pub(super) fn followup(
    shared: &Shared,
    st: &mut State,
    req: &Incoming,
    app_ok: bool,
    token: &str,
) -> Reply {
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
pub(super) fn webhook_message(
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
