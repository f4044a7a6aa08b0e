//! Threads: creating one (private, from a message, a forum post with its starter message) with
//! THREAD_CREATE, editing a channel (rename, archive, lock; THREAD_UPDATE), and thread members.

use serde_json::{json, Value};

use super::super::payloads::{self, channel_type, perms};
use super::super::state::{Shared, State};
use super::reply::Reply;
use super::request::Incoming;
use super::rules::refuse_locked;
use super::snowflake;

pub(super) fn is_thread(st: &State, channel_id: u64) -> bool {
    st.threads.contains_key(&channel_id)
}

/// POST /channels/{id}/threads and /channels/{id}/messages/{m}/threads. Answers 201 with the
/// thread and dispatches THREAD_CREATE, as Discord does. A forum post also creates its starter
/// message (whose id is the thread's id).
pub(super) fn create_thread(
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
pub(super) fn edit_channel(
    shared: &Shared,
    st: &mut State,
    req: &Incoming,
    channel_id: u64,
) -> Reply {
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
pub(super) fn thread_member(
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
