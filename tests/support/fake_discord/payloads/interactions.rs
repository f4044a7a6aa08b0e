//! Interactions as Discord dispatches them: slash commands (with resolved users, channels and
//! roles), autocomplete, message context-menu commands, button clicks and selects on a message
//! the bot sent, and modal submits answering a modal the bot opened. Each call gets a fresh
//! interaction id and token.

use serde_json::{json, Map, Value};

use super::{id_of, interaction_type, next_id, sf, World};

/// A string option as a user typed it.
pub fn opt_string(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value})
}

/// An integer option.
pub fn opt_integer(name: &str, value: i64) -> Value {
    json!({"name": name, "type": 4, "value": value})
}

/// A boolean option.
pub fn opt_bool(name: &str, value: bool) -> Value {
    json!({"name": name, "type": 5, "value": value})
}

/// A user option; [`slash_command`] fills `resolved.users`/`resolved.members` from the world.
pub fn opt_user(name: &str, user_id: u64) -> Value {
    json!({"name": name, "type": 6, "value": user_id.to_string()})
}

/// A channel option; resolved like [`opt_user`].
pub fn opt_channel(name: &str, channel_id: u64) -> Value {
    json!({"name": name, "type": 7, "value": channel_id.to_string()})
}

/// A role option; resolved like [`opt_user`].
pub fn opt_role(name: &str, role_id: u64) -> Value {
    json!({"name": name, "type": 8, "value": role_id.to_string()})
}

/// The string option being typed in an autocomplete interaction.
pub fn opt_focused(name: &str, partial: &str) -> Value {
    json!({"name": name, "type": 3, "value": partial, "focused": true})
}

/// A subcommand with its own options.
pub fn opt_subcommand(name: &str, options: Vec<Value>) -> Value {
    json!({"name": name, "type": 1, "options": options})
}

/// Fields every interaction carries. `id` and `token` are fresh for each call.
fn interaction_base(
    world: &World,
    kind: u8,
    user_id: u64,
    channel_id: u64,
    thread: Option<&Value>,
) -> Value {
    let member = world.member(user_id);
    let id = next_id();
    json!({
        "id": sf(id),
        "application_id": sf(world.application_id),
        "type": kind,
        "token": format!("fake-interaction-token-{id}"),
        "version": 1,
        "guild_id": sf(world.guild_id),
        "channel_id": sf(channel_id),
        "channel": world.partial_channel(channel_id, thread, member),
        "member": world.interaction_member(member, thread_parent(thread).unwrap_or(channel_id)),
        "app_permissions": world.permissions_in(world.bot(), thread_parent(thread).unwrap_or(channel_id)).to_string(),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": sf(world.guild_id)},
        "context": 0,
        "attachment_size_limit": 10_485_760,
    })
}

fn thread_parent(thread: Option<&Value>) -> Option<u64> {
    thread
        .and_then(|t| t["parent_id"].as_str())
        .and_then(|p| p.parse().ok())
}

/// Fills `resolved` for user/channel/role options, walking into subcommands.
fn resolve_options(world: &World, options: &[Value], resolved: &mut Map<String, Value>) {
    for opt in options {
        let value = opt["value"].as_str().and_then(|v| v.parse::<u64>().ok());
        match (opt["type"].as_u64(), value) {
            (Some(1 | 2), _) => {
                if let Some(sub) = opt["options"].as_array() {
                    resolve_options(world, sub, resolved);
                }
            }
            (Some(6), Some(id)) => {
                let member = world.member(id);
                entry(resolved, "users").insert(id.to_string(), member.user.json());
                let mut m = world.interaction_member(member, 0);
                m.as_object_mut()
                    .expect("member is an object")
                    .remove("user");
                entry(resolved, "members").insert(id.to_string(), m);
            }
            (Some(7), Some(id)) => {
                let ch = world
                    .channel(id)
                    .unwrap_or_else(|| panic!("world has no channel {id}"));
                let partial =
                    json!({"id": sf(id), "type": ch.kind, "name": ch.name, "permissions": "0"});
                entry(resolved, "channels").insert(id.to_string(), partial);
            }
            (Some(8), Some(id)) => {
                let role = world
                    .role(id)
                    .unwrap_or_else(|| panic!("world has no role {id}"));
                entry(resolved, "roles").insert(id.to_string(), role.json());
            }
            _ => {}
        }
    }
}

fn entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    map.entry(key)
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("resolved entries are objects")
}

/// A slash command (interaction type 2, command type 1) invoked by `user_id` in `channel_id`.
/// `command_id` is the id the fake echoed when the bot registered it (see
/// `FakeDiscord::command_id`), or any snowflake.
pub fn slash_command(
    world: &World,
    user_id: u64,
    channel_id: u64,
    command_id: u64,
    name: &str,
    options: Vec<Value>,
) -> Value {
    let mut ix = interaction_base(
        world,
        interaction_type::APPLICATION_COMMAND,
        user_id,
        channel_id,
        None,
    );
    let mut resolved = Map::new();
    resolve_options(world, &options, &mut resolved);
    let mut data = json!({"id": sf(command_id), "name": name, "type": 1, "options": options, "guild_id": sf(world.guild_id)});
    if !resolved.is_empty() {
        data["resolved"] = Value::Object(resolved);
    }
    ix["data"] = data;
    ix
}

/// The same slash command invoked inside a thread (`thread` is the thread object the fake holds).
pub fn slash_command_in_thread(
    world: &World,
    user_id: u64,
    thread: &Value,
    command_id: u64,
    name: &str,
    options: Vec<Value>,
) -> Value {
    let thread_id = id_of(thread, "id");
    let mut ix = slash_command(world, user_id, thread_id, command_id, name, options);
    let base = interaction_base(
        world,
        interaction_type::APPLICATION_COMMAND,
        user_id,
        thread_id,
        Some(thread),
    );
    for key in ["channel", "member", "app_permissions"] {
        ix[key] = base[key].clone();
    }
    ix
}

/// An autocomplete request (interaction type 4): same `data` as the command, with the option
/// being typed marked `focused` (use [`opt_focused`]).
pub fn autocomplete(
    world: &World,
    user_id: u64,
    channel_id: u64,
    command_id: u64,
    name: &str,
    options: Vec<Value>,
) -> Value {
    assert!(
        options.iter().any(|o| o["focused"] == json!(true)),
        "an autocomplete interaction needs one option with focused: true (opt_focused)"
    );
    let mut ix = slash_command(world, user_id, channel_id, command_id, name, options);
    ix["type"] = json!(interaction_type::AUTOCOMPLETE);
    ix
}

/// A message context-menu command (type 2, data.type 3) on `target` (a full message object).
pub fn message_command(
    world: &World,
    user_id: u64,
    command_id: u64,
    name: &str,
    target: &Value,
) -> Value {
    let channel_id = id_of(target, "channel_id");
    let target_id = id_of(target, "id");
    let mut ix = interaction_base(
        world,
        interaction_type::APPLICATION_COMMAND,
        user_id,
        channel_id,
        None,
    );
    ix["data"] = json!({
        "id": sf(command_id),
        "name": name,
        "type": 3,
        "target_id": sf(target_id),
        "resolved": {"messages": {target_id.to_string(): target}},
        "guild_id": sf(world.guild_id),
    });
    ix
}

/// Every component `(custom_id, component_type)` in a message's or modal's component tree.
pub fn custom_ids(components_holder: &Value) -> Vec<(String, u64)> {
    fn walk(v: &Value, out: &mut Vec<(String, u64)>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => {
                if let (Some(id), Some(kind)) = (
                    map.get("custom_id").and_then(Value::as_str),
                    map.get("type").and_then(Value::as_u64),
                ) {
                    out.push((id.to_string(), kind));
                }
                for key in ["components", "component"] {
                    if let Some(child) = map.get(key) {
                        walk(child, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&components_holder["components"], &mut out);
    out
}

fn component_interaction(world: &World, user_id: u64, message: &Value, data: Value) -> Value {
    let channel_id = id_of(message, "channel_id");
    let mut ix = interaction_base(
        world,
        interaction_type::MESSAGE_COMPONENT,
        user_id,
        channel_id,
        None,
    );
    ix["data"] = data;
    ix["message"] = message.clone();
    ix
}

/// A button click (type 3, component_type 2) on a message the bot sent (take the message from
/// the fake, e.g. `fake.original_message(&ix)`). Panics when the message has no such button, so
/// a test can only click what the bot really rendered.
pub fn button_click(world: &World, user_id: u64, message: &Value, custom_id: &str) -> Value {
    let found = custom_ids(message);
    assert!(
        found.iter().any(|(id, kind)| id == custom_id && *kind == 2),
        "message has no button `{custom_id}`; it has {found:?}"
    );
    component_interaction(
        world,
        user_id,
        message,
        json!({"custom_id": custom_id, "component_type": 2}),
    )
}

/// A string select (type 3, component_type 3) choosing `values` on a message the bot sent.
/// Panics when the select or one of the values does not exist.
pub fn select_choice(
    world: &World,
    user_id: u64,
    message: &Value,
    custom_id: &str,
    values: &[&str],
) -> Value {
    let select = find_component(&message["components"], custom_id)
        .filter(|c| c["type"] == json!(3))
        .unwrap_or_else(|| {
            panic!(
                "message has no string select `{custom_id}`: {:?}",
                custom_ids(message)
            )
        });
    let offered: Vec<&str> = select["options"]
        .as_array()
        .map(|o| o.iter().filter_map(|o| o["value"].as_str()).collect())
        .unwrap_or_default();
    for v in values {
        assert!(
            offered.contains(v),
            "select `{custom_id}` offers {offered:?}, not `{v}`"
        );
    }
    component_interaction(
        world,
        user_id,
        message,
        json!({"custom_id": custom_id, "component_type": 3, "values": values}),
    )
}

fn find_component<'a>(v: &'a Value, custom_id: &str) -> Option<&'a Value> {
    match v {
        Value::Array(items) => items.iter().find_map(|i| find_component(i, custom_id)),
        Value::Object(map) => {
            if map.get("custom_id").and_then(Value::as_str) == Some(custom_id) {
                return Some(v);
            }
            ["components", "component"]
                .iter()
                .find_map(|k| map.get(*k).and_then(|c| find_component(c, custom_id)))
        }
        _ => None,
    }
}

/// A modal submit (type 5) answering `modal`: the `data` of the bot's type-9 callback (take it
/// from the recorded request). `fields` are `(custom_id, value)` of its text inputs; panics when
/// the modal has no such input. Add `ix["message"]` yourself when the modal came from a button.
pub fn modal_submit(
    world: &World,
    user_id: u64,
    channel_id: u64,
    modal: &Value,
    fields: &[(&str, &str)],
) -> Value {
    let inputs = custom_ids(modal);
    for (id, _) in fields {
        assert!(
            inputs.iter().any(|(i, kind)| i == id && *kind == 4),
            "modal has no text input `{id}`; it has {inputs:?}"
        );
    }
    let custom_id = modal["custom_id"]
        .as_str()
        .expect("modal data has a custom_id");
    let rows: Vec<Value> = fields
        .iter()
        .map(|(id, value)| json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]}))
        .collect();
    let mut ix = interaction_base(
        world,
        interaction_type::MODAL_SUBMIT,
        user_id,
        channel_id,
        None,
    );
    ix["data"] = json!({"custom_id": custom_id, "components": rows});
    ix
}
