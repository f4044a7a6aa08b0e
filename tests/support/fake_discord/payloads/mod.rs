//! JSON builders for what Discord sends a bot: the guild world (`world.rs`: users, members,
//! roles, channels, READY, GUILD_CREATE), messages and threads (`messages.rs`), interactions
//! (`interactions.rs`), and the REST answers the fake gives (here).
//!
//! Everything is plain `serde_json::Value` shaped like Discord's wire format (snowflakes as
//! strings, permissions as string bitfields). `tests/fake_discord_schema.rs` deserializes every
//! builder's output with serenity's own types, because a payload serenity cannot parse is dropped
//! silently (the note's CATCH 2) and the test would only see a timeout.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

mod interactions;
mod messages;
mod world;

pub use interactions::*;
pub use messages::*;
pub use world::*;

/// A fixed timestamp for things that happened "long ago" (joins, guild creation).
pub const LONG_AGO: &str = "2025-01-01T00:00:00.000000+00:00";

/// Ids of the default [`World`], fixed so a test can write them into the bot's config.
pub mod ids {
    /// The application, which is also the bot user (true of every modern Discord app).
    pub const APPLICATION: u64 = 1_300_000_000_000_000_001;
    pub const BOT_USER: u64 = APPLICATION;
    pub const GUILD: u64 = 1_300_000_000_000_000_100;
    /// `@everyone` has the guild's id, as on Discord.
    pub const EVERYONE_ROLE: u64 = GUILD;
    pub const SUPPORT_ROLE: u64 = 1_300_000_000_000_000_101;
    /// The bot's managed role (what Discord creates when the bot joins).
    pub const BOT_ROLE: u64 = 1_300_000_000_000_000_102;
    pub const CATEGORY: u64 = 1_300_000_000_000_000_200;
    /// Where customers ask for help (text channel).
    pub const HELP_CHANNEL: u64 = 1_300_000_000_000_000_201;
    /// Where tickets are handed to staff (text channel hidden from `@everyone`).
    pub const STAFF_CHANNEL: u64 = 1_300_000_000_000_000_202;
    /// A forum channel (type 15).
    pub const FORUM_CHANNEL: u64 = 1_300_000_000_000_000_203;
    pub const FORUM_TAG_OPEN: u64 = 1_300_000_000_000_000_204;
    pub const OWNER: u64 = 1_300_000_000_000_000_301;
    /// A customer with no roles.
    pub const ALICE: u64 = 1_300_000_000_000_000_302;
    /// Staff: holds the support role.
    pub const BOB: u64 = 1_300_000_000_000_000_303;
}

/// Permission bits used by the default world (Discord's values).
pub mod perms {
    pub const CREATE_INSTANT_INVITE: u64 = 1 << 0;
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const ADD_REACTIONS: u64 = 1 << 6;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const MANAGE_MESSAGES: u64 = 1 << 13;
    pub const EMBED_LINKS: u64 = 1 << 14;
    pub const ATTACH_FILES: u64 = 1 << 15;
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub const MENTION_EVERYONE: u64 = 1 << 17;
    pub const USE_APPLICATION_COMMANDS: u64 = 1 << 31;
    pub const MANAGE_THREADS: u64 = 1 << 34;
    pub const CREATE_PUBLIC_THREADS: u64 = 1 << 35;
    pub const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
    pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
    /// Every bit Discord currently defines (what an administrator or the owner has).
    pub const ALL: u64 = (1 << 51) - 1;
    /// What `@everyone` can do in a typical community server.
    pub const EVERYONE_DEFAULT: u64 = CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | CREATE_PRIVATE_THREADS
        | SEND_MESSAGES_IN_THREADS;
    /// What the support bot needs: post, open and manage ticket threads, ping the support role.
    pub const BOT_DEFAULT: u64 =
        EVERYONE_DEFAULT | MANAGE_MESSAGES | MANAGE_THREADS | MENTION_EVERYONE;
}

/// Channel types (Discord's values).
pub mod channel_type {
    pub const TEXT: u8 = 0;
    pub const CATEGORY: u8 = 4;
    pub const ANNOUNCEMENT_THREAD: u8 = 10;
    pub const PUBLIC_THREAD: u8 = 11;
    pub const PRIVATE_THREAD: u8 = 12;
    pub const FORUM: u8 = 15;
}

/// Interaction types (Discord's values).
pub mod interaction_type {
    pub const PING: u8 = 1;
    pub const APPLICATION_COMMAND: u8 = 2;
    pub const MESSAGE_COMPONENT: u8 = 3;
    pub const AUTOCOMPLETE: u8 = 4;
    pub const MODAL_SUBMIT: u8 = 5;
}

/// Gateway intents the fake looks at (Discord's values).
pub mod intents {
    pub const GUILDS: u64 = 1 << 0;
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    pub const DIRECT_MESSAGES: u64 = 1 << 12;
    pub const MESSAGE_CONTENT: u64 = 1 << 15;
}

/// Milliseconds since Discord's epoch (2015-01-01), the top bits of every snowflake.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// A fresh, unique, time-ordered snowflake (like Discord's: timestamp << 22 | counter).
pub fn next_id() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(DISCORD_EPOCH_MS);
    let candidate = (now.saturating_sub(DISCORD_EPOCH_MS)) << 22;
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let id = candidate.max(last + 1);
        match LAST.compare_exchange_weak(last, id, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return id,
            Err(seen) => last = seen,
        }
    }
}

/// The current time in Discord's timestamp format.
pub fn now_timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    // Discord sends microseconds and an explicit +00:00 offset.
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.microsecond()
    )
}

/// Snowflakes travel as strings.
pub fn sf(id: u64) -> Value {
    Value::String(id.to_string())
}

/// Reads a snowflake field (string or number) from a payload, e.g. `id_of(&ix, "id")`.
pub fn id_of(v: &Value, field: &str) -> u64 {
    match v.get(field) {
        Some(Value::String(s)) => s
            .parse()
            .unwrap_or_else(|_| panic!("{field} is not a snowflake: {s}")),
        Some(Value::Number(n)) => n
            .as_u64()
            .unwrap_or_else(|| panic!("{field} is not a snowflake: {n}")),
        other => panic!("payload has no snowflake `{field}` (found {other:?}) in {v}"),
    }
}

/// Message flag bits the fake uses.
pub const EPHEMERAL_FLAG: u64 = 1 << 6;
/// Set on the placeholder a deferred response (callback type 5) creates.
pub const LOADING_FLAG: u64 = 1 << 7;

// ---------------------------------------------------------------------------------------------
// REST answers.
// ---------------------------------------------------------------------------------------------

/// Discord's error body (`{"message": ..., "code": ...}`), for `override_route`.
pub fn error_body(code: u64, message: &str) -> Value {
    json!({"message": message, "code": code})
}

/// A 429 body as Discord sends it (use with status 429 in `override_route`).
pub fn rate_limited(retry_after_secs: f64, global: bool) -> Value {
    json!({"message": "You are being rate limited.", "retry_after": retry_after_secs, "global": global, "code": 0})
}

/// Discord's "Invalid Form Body" answer.
pub fn invalid_form_body(errors: Value) -> Value {
    json!({"code": 50035, "message": "Invalid Form Body", "errors": errors})
}

/// The registered form of a command from a PUT/POST body: Discord echoes it with ids and a
/// version. `id` is kept stable across re-registrations of the same name by the caller.
pub fn registered_command(world: &World, id: u64, guild_id: Option<u64>, body: &Value) -> Value {
    let mut cmd = json!({
        "id": sf(id),
        "application_id": sf(world.application_id),
        "version": sf(next_id()),
        "type": body.get("type").filter(|t| !t.is_null()).cloned().unwrap_or(json!(1)),
        "name": body["name"],
        "name_localizations": body.get("name_localizations").cloned().unwrap_or(Value::Null),
        "description": body.get("description").filter(|d| !d.is_null()).cloned().unwrap_or(json!("")),
        "description_localizations": body.get("description_localizations").cloned().unwrap_or(Value::Null),
        "options": body.get("options").filter(|o| o.is_array()).cloned().unwrap_or(json!([])),
        "default_member_permissions": body.get("default_member_permissions").map(|p| match p {
            Value::Number(n) => json!(n.to_string()),
            other => other.clone(),
        }).unwrap_or(Value::Null),
        "dm_permission": body.get("dm_permission").cloned().unwrap_or(json!(true)),
        "nsfw": body.get("nsfw").cloned().unwrap_or(json!(false)),
        "integration_types": body.get("integration_types").filter(|v| v.is_array()).cloned().unwrap_or(json!([0])),
        "contexts": body.get("contexts").cloned().unwrap_or(Value::Null),
    });
    if let Some(g) = guild_id {
        cmd["guild_id"] = sf(g);
    }
    cmd
}

/// GET /gateway/bot.
pub fn gateway_bot(url: &str, shards: u32) -> Value {
    json!({
        "url": url,
        "shards": shards,
        "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1},
    })
}
