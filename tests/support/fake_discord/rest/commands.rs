//! Application commands, global and per guild: bulk overwrite (re-registering keeps a command's
//! id), create, list. Deletion is answered in the routing table.

use serde_json::Value;

use super::super::payloads;
use super::super::state::{Shared, State};
use super::reply::Reply;
use super::request::Incoming;

fn command_id_for(st: &State, guild: Option<u64>, cmd: &Value) -> u64 {
    let kind = |c: &Value| c.get("type").and_then(Value::as_u64).unwrap_or(1);
    st.commands
        .iter()
        .find(|(g, c)| *g == guild && c["name"] == cmd["name"] && kind(c) == kind(cmd))
        .and_then(|(_, c)| c["id"].as_str()?.parse().ok())
        .unwrap_or_else(payloads::next_id)
}

pub(super) fn put_commands(
    shared: &Shared,
    st: &mut State,
    req: &Incoming,
    guild: Option<u64>,
) -> Reply {
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

pub(super) fn post_command(
    shared: &Shared,
    st: &mut State,
    req: &Incoming,
    guild: Option<u64>,
) -> Reply {
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

pub(super) fn list_commands(st: &State, guild: Option<u64>) -> Reply {
    Reply::ok(
        st.commands
            .iter()
            .filter(|(g, _)| *g == guild)
            .map(|(_, c)| c.clone())
            .collect::<Vec<_>>()
            .into(),
    )
}
