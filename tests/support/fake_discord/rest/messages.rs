//! Channel messages: posting (permissions, `enforce_nonce`, replies), listing (newest first, or
//! the page `after` an id), and reading, editing and deleting one message.

use serde_json::Value;

use super::super::payloads::{self, perms};
use super::super::state::{Shared, State};
use super::reply::Reply;
use super::request::Incoming;
use super::rules::message_rules;
use super::threads::is_thread;

pub(super) fn post_message(
    shared: &Shared,
    st: &mut State,
    req: &Incoming,
    channel_id: u64,
) -> Reply {
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

pub(super) fn list_messages(shared: &Shared, st: &State, req: &Incoming, channel_id: u64) -> Reply {
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

pub(super) fn channel_message(
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
