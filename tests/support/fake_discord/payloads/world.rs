//! The guild the bot lives in: users, roles, members, channels with permission overwrites, and
//! the READY / GUILD_CREATE / application-info payloads built from them.

use serde_json::{json, Value};

use super::{channel_type, ids, perms, sf, LONG_AGO};

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
    /// Further guilds the bot is in (multi-guild tests): the fake serves them with this
    /// guild's roles and channels, and accepts their guild commands; tests set `guild_id` in
    /// the payloads they dispatch for them.
    pub other_guilds: Vec<u64>,
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
            other_guilds: Vec::new(),
        }
    }
}

impl World {
    /// Whether `guild` (a snowflake as in a path) is this guild or one of `other_guilds`.
    pub fn serves_guild(&self, guild: &str) -> bool {
        guild == self.guild_id.to_string()
            || self.other_guilds.iter().any(|g| g.to_string() == guild)
    }

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
    pub(super) fn partial_channel(
        &self,
        channel_id: u64,
        thread: Option<&Value>,
        member: &Member,
    ) -> Value {
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
    pub fn interaction_member(&self, member: &Member, channel_id: u64) -> Value {
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
