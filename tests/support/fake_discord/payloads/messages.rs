//! Messages (from users, other bots and the bot itself), edits, and threads.

use serde_json::{json, Value};

use super::{channel_type, next_id, now_timestamp, sf, World, LOADING_FLAG};

/// Users mentioned as `<@id>` / `<@!id>` in `content` that are members of the world.
fn mentions(world: &World, content: &str) -> Vec<Value> {
    let mut found = Vec::new();
    for part in content.split("<@").skip(1) {
        let digits: String = part
            .trim_start_matches('!')
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(id) = digits.parse::<u64>() {
            if let Some(m) = world.members.iter().find(|m| m.user.id == id) {
                found.push(m.user.json());
            }
        }
    }
    found
}

/// A full message object written by `author_id` in `channel_id` (a channel or a thread).
/// MESSAGE_CREATE's `d` is this object: it carries `guild_id` and the author's `member`.
pub fn message(world: &World, author_id: u64, channel_id: u64, content: &str) -> Value {
    let author = world.member(author_id);
    let mut member = author.json();
    member
        .as_object_mut()
        .expect("member is an object")
        .remove("user");
    json!({
        "id": sf(next_id()),
        "channel_id": sf(channel_id),
        "guild_id": sf(world.guild_id),
        "author": author.user.json(),
        "member": member,
        "content": content,
        "timestamp": now_timestamp(),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": content.contains("@everyone"),
        "mentions": mentions(world, content),
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "components": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
    })
}

/// MESSAGE_CREATE's `d` for a user (or another bot) posting in a channel or thread.
pub fn message_create(world: &World, author_id: u64, channel_id: u64, content: &str) -> Value {
    message(world, author_id, channel_id, content)
}

/// MESSAGE_UPDATE's `d`: the message with new content and an `edited_timestamp`.
pub fn message_update(message: &Value, new_content: &str) -> Value {
    let mut m = message.clone();
    m["content"] = json!(new_content);
    m["edited_timestamp"] = json!(now_timestamp());
    m
}

/// A message the bot made through REST or an interaction response, built from the JSON body it
/// sent (content, embeds, components, flags are copied as Discord echoes them).
pub fn bot_message(world: &World, id: u64, channel_id: u64, body: &Value, kind: u8) -> Value {
    let content = body.get("content").and_then(Value::as_str).unwrap_or("");
    let mut m = json!({
        "id": sf(id),
        "channel_id": sf(channel_id),
        "guild_id": sf(world.guild_id),
        "author": world.bot().user.json(),
        "content": content,
        "timestamp": now_timestamp(),
        "edited_timestamp": null,
        "tts": body.get("tts").and_then(Value::as_bool).unwrap_or(false),
        "mention_everyone": false,
        "mentions": mentions(world, content),
        "mention_roles": mention_roles(content),
        "attachments": attachments_of(body),
        "embeds": body.get("embeds").filter(|e| e.is_array()).cloned().unwrap_or(json!([])),
        "components": body.get("components").filter(|c| c.is_array()).cloned().unwrap_or(json!([])),
        "pinned": false,
        "type": kind,
        "flags": body.get("flags").and_then(Value::as_u64).unwrap_or(0),
    });
    if let Some(reference) = body.get("message_reference").filter(|r| r.is_object()) {
        m["message_reference"] = reference.clone();
    }
    m
}

/// Role mentions `<@&id>` in content (the ticket hand-off pings the support role).
fn mention_roles(content: &str) -> Vec<Value> {
    content
        .split("<@&")
        .skip(1)
        .filter_map(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse::<u64>()
                .ok()
        })
        .map(sf)
        .collect()
}

/// Attachment objects for the `attachments` a request declared (multipart uploads).
fn attachments_of(body: &Value) -> Value {
    let Some(list) = body.get("attachments").and_then(Value::as_array) else {
        return json!([]);
    };
    Value::Array(
        list.iter()
            .filter_map(|a| {
                let filename = a.get("filename")?.as_str()?;
                Some(json!({
                    "id": sf(next_id()),
                    "filename": filename,
                    "size": 0,
                    "url": format!("https://cdn.discordapp.com/attachments/0/0/{filename}"),
                    "proxy_url": format!("https://media.discordapp.net/attachments/0/0/{filename}"),
                }))
            })
            .collect(),
    )
}

/// Applies an edit body (PATCH message / webhook message) to a stored message: fields present
/// replace the old ones (`null` clears them), and a deferred response stops "thinking".
pub fn apply_edit(message: &mut Value, body: &Value) {
    for (field, cleared) in [
        ("content", json!("")),
        ("embeds", json!([])),
        ("components", json!([])),
        ("flags", json!(0)),
    ] {
        if let Some(v) = body.get(field) {
            message[field] = if v.is_null() { cleared } else { v.clone() };
        }
    }
    if body.get("attachments").is_some() {
        message["attachments"] = attachments_of(body);
    }
    if let Some(flags) = message["flags"].as_u64() {
        message["flags"] = json!(flags & !LOADING_FLAG);
    }
    message["edited_timestamp"] = json!(now_timestamp());
}

/// A thread channel object (reply to thread creation, THREAD_CREATE's `d` with `newly_created`).
pub fn thread(
    world: &World,
    id: u64,
    parent_id: u64,
    owner_id: u64,
    name: &str,
    kind: u8,
) -> Value {
    let mut metadata = json!({
        "archived": false,
        "auto_archive_duration": 4320,
        "archive_timestamp": now_timestamp(),
        "locked": false,
        "create_timestamp": now_timestamp(),
    });
    if kind == channel_type::PRIVATE_THREAD {
        metadata["invitable"] = json!(true);
    }
    json!({
        "id": sf(id),
        "guild_id": sf(world.guild_id),
        "parent_id": sf(parent_id),
        "owner_id": sf(owner_id),
        "type": kind,
        "name": name,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "thread_metadata": metadata,
        "flags": 0,
        "applied_tags": [],
    })
}

/// THREAD_CREATE's `d` for a thread someone made (the fake dispatches this itself when the bot
/// creates a thread through REST).
pub fn thread_create(thread: &Value) -> Value {
    let mut t = thread.clone();
    t["newly_created"] = json!(true);
    t
}

/// RESUMED's `d`.
pub fn resumed() -> Value {
    json!({"_trace": ["fake-discord"]})
}
