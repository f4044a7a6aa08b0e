//! JSON builders for what Discord sends a bot: users, members, the guild, READY, interactions,
//! messages, threads, and the REST answers the fake gives.
//!
//! Everything is plain `serde_json::Value` shaped like Discord's wire format (snowflakes as
//! strings, permissions as string bitfields). `tests/fake_discord_schema.rs` deserializes every
//! builder's output with serenity's own types, because a payload serenity cannot parse is dropped
//! silently (the note's CATCH 2) and the test would only see a timeout.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

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

// ---------------------------------------------------------------------------------------------
// The world: one guild with its roles, channels and members.
// ---------------------------------------------------------------------------------------------

/// A Discord user.
#[derive(Clone, Debug)]
pub struct User {
    pub id: u64,
    pub username: String,
    /// The display name; `None` shows the username.
    pub global_name: Option<String>,
    /// Bots are told apart from people by this flag (the bot must ignore its own messages).
    pub bot: bool,
}

impl User {
    pub fn person(id: u64, username: &str) -> Self {
        User {
            id,
            username: username.into(),
            global_name: Some(capitalize(username)),
            bot: false,
        }
    }

    pub fn bot(id: u64, username: &str) -> Self {
        User {
            id,
            username: username.into(),
            global_name: None,
            bot: true,
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "id": sf(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": null,
            "bot": self.bot,
            "public_flags": 0,
        })
    }
}

/// A guild role.
#[derive(Clone, Debug)]
pub struct Role {
    pub id: u64,
    pub name: String,
    /// Permission bits granted guild-wide (see [`perms`]).
    pub permissions: u64,
    /// Roles are ordered; `@everyone` is 0.
    pub position: u16,
    /// Set for the role Discord manages for a bot: `tags.bot_id` names the bot.
    pub bot_id: Option<u64>,
}

impl Role {
    pub fn json(&self) -> Value {
        let mut role = json!({
            "id": sf(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
            "hoist": false,
            "icon": null,
            "unicode_emoji": null,
            "position": self.position,
            "permissions": self.permissions.to_string(),
            "managed": self.bot_id.is_some(),
            "mentionable": true,
            "flags": 0,
        });
        if let Some(bot) = self.bot_id {
            role["tags"] = json!({"bot_id": sf(bot)});
        }
        role
    }
}

/// A user's membership in the guild.
#[derive(Clone, Debug)]
pub struct Member {
    pub user: User,
    /// Role ids besides `@everyone`; they decide the member's permissions.
    pub roles: Vec<u64>,
    pub nick: Option<String>,
}

impl Member {
    pub fn new(user: User, roles: Vec<u64>) -> Self {
        Member {
            user,
            roles,
            nick: None,
        }
    }

    /// The member object as in GUILD_CREATE and MESSAGE_CREATE (`user` included).
    pub fn json(&self) -> Value {
        json!({
            "user": self.user.json(),
            "nick": self.nick,
            "avatar": null,
            "roles": self.roles.iter().map(|r| sf(*r)).collect::<Vec<_>>(),
            "joined_at": LONG_AGO,
            "premium_since": null,
            "deaf": false,
            "mute": false,
            "flags": 0,
            "pending": false,
            "communication_disabled_until": null,
        })
    }
}

/// A permission overwrite on a channel.
#[derive(Clone, Debug)]
pub struct Overwrite {
    /// A role id or a user id, as `kind` says.
    pub id: u64,
    /// 0 = role, 1 = member.
    pub kind: u8,
    pub allow: u64,
    pub deny: u64,
}

/// A guild channel (threads are created at run time by the fake and live in its state).
#[derive(Clone, Debug)]
pub struct Channel {
    pub id: u64,
    /// See [`channel_type`].
    pub kind: u8,
    pub name: String,
    pub parent_id: Option<u64>,
    pub position: u16,
    pub topic: Option<String>,
    /// Decides who sees the channel (the staff channel hides from `@everyone`).
    pub overwrites: Vec<Overwrite>,
}

/// Everything the fake knows about the guild the bot is in. `Default` is a support server:
/// `@everyone`, a support role and the bot's role; a help channel, a staff channel and a forum;
/// the owner, a customer (alice), a staff member (bob) and the bot.
#[derive(Clone, Debug)]
pub struct World {
    /// The bot's application id (= the bot user's id); interactions and webhooks carry it.
    pub application_id: u64,
    pub guild_id: u64,
    pub guild_name: String,
    pub owner_id: u64,
    /// All roles, `@everyone` (id = guild id) included.
    pub roles: Vec<Role>,
    pub channels: Vec<Channel>,
    /// All members, the bot included.
    pub members: Vec<Member>,
}

impl Default for World {
    fn default() -> Self {
        use ids::*;
        let staff_only = vec![
            Overwrite {
                id: EVERYONE_ROLE,
                kind: 0,
                allow: 0,
                deny: perms::VIEW_CHANNEL,
            },
            Overwrite {
                id: SUPPORT_ROLE,
                kind: 0,
                allow: perms::VIEW_CHANNEL,
                deny: 0,
            },
            Overwrite {
                id: BOT_ROLE,
                kind: 0,
                allow: perms::VIEW_CHANNEL,
                deny: 0,
            },
        ];
        World {
            application_id: APPLICATION,
            guild_id: GUILD,
            guild_name: "Triage Test Server".into(),
            owner_id: OWNER,
            roles: vec![
                Role {
                    id: EVERYONE_ROLE,
                    name: "@everyone".into(),
                    permissions: perms::EVERYONE_DEFAULT,
                    position: 0,
                    bot_id: None,
                },
                Role {
                    id: SUPPORT_ROLE,
                    name: "Support".into(),
                    permissions: perms::EVERYONE_DEFAULT
                        | perms::MANAGE_MESSAGES
                        | perms::MANAGE_THREADS,
                    position: 1,
                    bot_id: None,
                },
                Role {
                    id: BOT_ROLE,
                    name: "triage".into(),
                    permissions: perms::BOT_DEFAULT,
                    position: 2,
                    bot_id: Some(BOT_USER),
                },
            ],
            channels: vec![
                Channel {
                    id: CATEGORY,
                    kind: channel_type::CATEGORY,
                    name: "Support".into(),
                    parent_id: None,
                    position: 0,
                    topic: None,
                    overwrites: vec![],
                },
                Channel {
                    id: HELP_CHANNEL,
                    kind: channel_type::TEXT,
                    name: "help".into(),
                    parent_id: Some(CATEGORY),
                    position: 1,
                    topic: Some("Ask the support bot".into()),
                    overwrites: vec![],
                },
                Channel {
                    id: STAFF_CHANNEL,
                    kind: channel_type::TEXT,
                    name: "support-staff".into(),
                    parent_id: Some(CATEGORY),
                    position: 2,
                    topic: None,
                    overwrites: staff_only,
                },
                Channel {
                    id: FORUM_CHANNEL,
                    kind: channel_type::FORUM,
                    name: "help-forum".into(),
                    parent_id: Some(CATEGORY),
                    position: 3,
                    topic: None,
                    overwrites: vec![],
                },
            ],
            members: vec![
                Member::new(User::bot(BOT_USER, "triage"), vec![BOT_ROLE]),
                Member::new(User::person(OWNER, "owner"), vec![]),
                Member::new(User::person(ALICE, "alice"), vec![]),
                Member::new(User::person(BOB, "bob"), vec![SUPPORT_ROLE]),
            ],
        }
    }
}

impl World {
    pub fn bot(&self) -> &Member {
        self.member(self.application_id)
    }

    /// The member with this user id; panics (a test bug) when there is none.
    pub fn member(&self, user_id: u64) -> &Member {
        self.members
            .iter()
            .find(|m| m.user.id == user_id)
            .unwrap_or_else(|| panic!("world has no member {user_id}"))
    }

    /// The guild channel with this id, if any (threads live in the fake's state, not here).
    pub fn channel(&self, id: u64) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    pub fn role(&self, id: u64) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    /// The member's guild-wide permissions (`@everyone` plus their roles; admin and owner get all).
    pub fn base_permissions(&self, member: &Member) -> u64 {
        if member.user.id == self.owner_id {
            return perms::ALL;
        }
        let mut bits = self.role(self.guild_id).map_or(0, |r| r.permissions);
        for role in member.roles.iter().filter_map(|id| self.role(*id)) {
            bits |= role.permissions;
        }
        if bits & perms::ADMINISTRATOR != 0 {
            perms::ALL
        } else {
            bits
        }
    }

    /// The member's permissions in a channel, applying overwrites in Discord's order (`@everyone`,
    /// then roles together, then the member). A thread uses its parent's overwrites.
    pub fn permissions_in(&self, member: &Member, channel_id: u64) -> u64 {
        let base = self.base_permissions(member);
        if base == perms::ALL {
            return base;
        }
        let Some(channel) = self.channel(channel_id) else {
            return base;
        };
        let mut bits = base;
        let ow = &channel.overwrites;
        if let Some(o) = ow.iter().find(|o| o.kind == 0 && o.id == self.guild_id) {
            bits = (bits & !o.deny) | o.allow;
        }
        let (mut allow, mut deny) = (0, 0);
        for o in ow
            .iter()
            .filter(|o| o.kind == 0 && member.roles.contains(&o.id))
        {
            allow |= o.allow;
            deny |= o.deny;
        }
        bits = (bits & !deny) | allow;
        if let Some(o) = ow.iter().find(|o| o.kind == 1 && o.id == member.user.id) {
            bits = (bits & !o.deny) | o.allow;
        }
        bits
    }

    /// A guild channel object (as in GUILD_CREATE and GET /channels/{id}).
    pub fn channel_json(&self, c: &Channel) -> Value {
        let overwrites: Vec<Value> = c
            .overwrites
            .iter()
            .map(|o| {
                json!({"id": sf(o.id), "type": o.kind, "allow": o.allow.to_string(), "deny": o.deny.to_string()})
            })
            .collect();
        let mut ch = json!({
            "id": sf(c.id),
            "type": c.kind,
            "guild_id": sf(self.guild_id),
            "name": c.name,
            "position": c.position,
            "parent_id": c.parent_id.map(sf),
            "permission_overwrites": overwrites,
            "nsfw": false,
            "flags": 0,
        });
        if c.kind != channel_type::CATEGORY {
            ch["topic"] = json!(c.topic);
            ch["last_message_id"] = Value::Null;
            ch["rate_limit_per_user"] = json!(0);
            ch["default_auto_archive_duration"] = json!(4320);
        }
        if c.kind == channel_type::FORUM {
            ch["available_tags"] = json!([{
                "id": sf(ids::FORUM_TAG_OPEN), "name": "open", "moderated": false,
                "emoji_id": null, "emoji_name": null,
            }]);
            ch["default_reaction_emoji"] = Value::Null;
            ch["default_sort_order"] = Value::Null;
            ch["default_forum_layout"] = json!(0);
            ch["default_thread_rate_limit_per_user"] = json!(0);
        }
        ch
    }

    /// The partial channel carried by interactions (`channel` field).
    fn partial_channel(&self, channel_id: u64, thread: Option<&Value>, member: &Member) -> Value {
        if let Some(t) = thread {
            let mut t = t.clone();
            let parent = t["parent_id"]
                .as_str()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            t["permissions"] = json!(self.permissions_in(member, parent).to_string());
            return t;
        }
        match self.channel(channel_id) {
            Some(c) => {
                let mut ch = self.channel_json(c);
                ch["permissions"] = json!(self.permissions_in(member, channel_id).to_string());
                ch
            }
            None => json!({"id": sf(channel_id), "type": 0, "name": "unknown", "permissions": "0"}),
        }
    }

    /// READY's `d`.
    pub fn ready(&self, session_id: &str, resume_gateway_url: &str) -> Value {
        let mut user = self.bot().user.json();
        user["verified"] = json!(true);
        user["mfa_enabled"] = json!(false);
        user["flags"] = json!(0);
        json!({
            "v": 10,
            "user": user,
            "guilds": [{"id": sf(self.guild_id), "unavailable": true}],
            "session_id": session_id,
            "resume_gateway_url": resume_gateway_url,
            "shard": [0, 1],
            "application": {"id": sf(self.application_id), "flags": 0},
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "_trace": ["fake-discord"],
        })
    }

    /// GUILD_CREATE's `d`: the full guild with roles, channels, members (and no threads yet).
    pub fn guild_create(&self) -> Value {
        let guild = json!({
            "id": sf(self.guild_id),
            "name": self.guild_name,
            "icon": null,
            "icon_hash": null,
            "splash": null,
            "discovery_splash": null,
            "owner_id": sf(self.owner_id),
            "afk_channel_id": null,
            "afk_timeout": 300,
            "widget_enabled": false,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": self.roles.iter().map(Role::json).collect::<Vec<_>>(),
            "emojis": [],
            "features": ["COMMUNITY"],
            "mfa_level": 0,
            "application_id": null,
            "system_channel_id": null,
            "system_channel_flags": 0,
            "rules_channel_id": null,
            "max_presences": null,
            "max_members": 500000,
            "vanity_url_code": null,
            "description": null,
            "banner": null,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": null,
            "max_video_channel_users": 25,
            "approximate_member_count": null,
            "approximate_presence_count": null,
            "nsfw_level": 0,
            "stickers": [],
            "premium_progress_bar_enabled": false,
            "safety_alerts_channel_id": null,
        });
        // Split in two: one json! this size exceeds the macro recursion limit.
        let live = json!({
            "joined_at": LONG_AGO,
            "large": false,
            "unavailable": false,
            "member_count": self.members.len(),
            "voice_states": [],
            "members": self.members.iter().map(Member::json).collect::<Vec<_>>(),
            "channels": self.channels.iter().map(|c| self.channel_json(c)).collect::<Vec<_>>(),
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "lazy": true,
        });
        let mut guild = guild;
        for (k, v) in live.as_object().expect("an object literal").clone() {
            guild[k] = v;
        }
        guild
    }

    /// GET /oauth2/applications/@me.
    pub fn application_info(&self) -> Value {
        json!({
            "id": sf(self.application_id),
            "name": self.bot().user.username,
            "icon": null,
            "description": "",
            "bot_public": false,
            "bot_require_code_grant": false,
            "verify_key": "0".repeat(64),
            "owner": self.member(self.owner_id).user.json(),
            "team": null,
            "flags": 0,
            "bot": self.bot().user.json(),
            "summary": "",
            "tags": [],
        })
    }

    /// The member object inside an interaction: like [`Member::json`] plus `permissions` in the
    /// channel where the interaction happened.
    fn interaction_member(&self, member: &Member, channel_id: u64) -> Value {
        let mut m = member.json();
        m["permissions"] = json!(self.permissions_in(member, channel_id).to_string());
        m
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Messages and threads.
// ---------------------------------------------------------------------------------------------

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

/// Applies an edit body (PATCH message / webhook message) to a stored message.
pub fn apply_edit(message: &mut Value, body: &Value) {
    for field in ["content", "embeds", "components", "flags"] {
        if let Some(v) = body.get(field) {
            message[field] = if v.is_null() && field != "content" {
                json!([])
            } else {
                v.clone()
            };
            if field == "flags" && v.is_null() {
                message[field] = json!(0);
            }
            if field == "content" && v.is_null() {
                message[field] = json!("");
            }
        }
    }
    if body.get("attachments").is_some() {
        message["attachments"] = attachments_of(body);
    }
    // A deferred response stops "thinking" once edited.
    if let Some(flags) = message["flags"].as_u64() {
        message["flags"] = json!(flags & !LOADING_FLAG);
    }
    message["edited_timestamp"] = json!(now_timestamp());
}

/// Message flag bits the fake uses.
pub const EPHEMERAL_FLAG: u64 = 1 << 6;
/// Set on the placeholder a deferred response (callback type 5) creates.
pub const LOADING_FLAG: u64 = 1 << 7;

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

// ---------------------------------------------------------------------------------------------
// Interactions.
// ---------------------------------------------------------------------------------------------

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
pub fn gateway_bot(url: &str) -> Value {
    json!({
        "url": url,
        "shards": 1,
        "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1},
    })
}
