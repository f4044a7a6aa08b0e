//! Per-guild settings: the support role, staff channel, help channels, the
//! products offered and the escalation mode of each server the bot serves,
//! written either as the single-guild top-level keys or under `guilds:`,
//! checked (against each other here, against the knowledge base in
//! `validate`) with errors that name the key path.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{DiscordId, Escalation, HelpChannelNone};
use crate::kb::{KnowledgeBase, ProductId};

/// One guild's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuildSettings {
    /// Members with this role are staff here: they may use staff commands
    /// on this guild's tickets, and the role is pinged once per ticket.
    pub support_role_id: DiscordId,
    /// Where this guild's ticket summaries are posted for staff.
    pub staff_channel_id: DiscordId,
    /// Channels (text or forum) the bot watches, with the product each one
    /// is about.
    pub help_channels: BTreeMap<DiscordId, ProductId>,
    /// The products this guild offers; `None`: every product of the
    /// knowledge base.
    pub products: Option<BTreeSet<ProductId>>,
    pub escalation: Escalation,
    pub help_channel_none: HelpChannelNone,
}

impl GuildSettings {
    /// The product a help channel is about, if it is one of this guild's.
    pub fn help_channel(&self, channel: u64) -> Option<&ProductId> {
        DiscordId::new(channel).and_then(|c| self.help_channels.get(&c))
    }

    /// The products this guild offers, as matching takes them (`None`:
    /// every product).
    pub fn offered(&self) -> Option<Vec<ProductId>> {
        self.products
            .as_ref()
            .map(|ps| ps.iter().cloned().collect())
    }

    /// Whether this guild offers `product`.
    pub fn offers(&self, product: &str) -> bool {
        self.products
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p.as_str() == product))
    }
}

/// The guilds the bot serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Guilds {
    /// The single-guild form (top-level keys): these settings apply to
    /// every guild the bot is in, as before `guilds:` existed; `id` is
    /// where commands are registered (`None`: globally).
    One {
        id: Option<DiscordId>,
        settings: GuildSettings,
    },
    /// The `guilds:` form: only these guilds are served; events from any
    /// other guild are ignored.
    Many(BTreeMap<DiscordId, GuildSettings>),
}

/// One entry under `guilds:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GuildFile {
    support_role_id: DiscordId,
    staff_channel_id: DiscordId,
    #[serde(default)]
    help_channels: BTreeMap<DiscordId, ProductId>,
    products: Option<Vec<ProductId>>,
    #[serde(default)]
    escalation: Escalation,
    #[serde(default)]
    help_channel_none: HelpChannelNone,
}

/// The top-level single-guild keys as written (all optional, so that
/// mixing them with `guilds:` can be told apart from leaving them out).
pub(super) struct TopLevel {
    pub(super) guild_id: Option<DiscordId>,
    pub(super) support_role_id: Option<DiscordId>,
    pub(super) staff_channel_id: Option<DiscordId>,
    pub(super) help_channels: Option<BTreeMap<DiscordId, ProductId>>,
    pub(super) products: Option<Vec<ProductId>>,
    pub(super) escalation: Option<Escalation>,
    pub(super) help_channel_none: Option<HelpChannelNone>,
}

impl TopLevel {
    fn keys_set(&self) -> Vec<&'static str> {
        [
            ("guild_id", self.guild_id.is_some()),
            ("support_role_id", self.support_role_id.is_some()),
            ("staff_channel_id", self.staff_channel_id.is_some()),
            ("help_channels", self.help_channels.is_some()),
            ("products", self.products.is_some()),
            ("escalation", self.escalation.is_some()),
            ("help_channel_none", self.help_channel_none.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }
}

/// The guilds from the file: the `guilds:` section, or the top-level keys;
/// mixing both, an empty `guilds:`, or a help channel in two guilds is an
/// error naming the key.
pub(super) fn build(
    top: TopLevel,
    guilds: Option<BTreeMap<DiscordId, GuildFile>>,
) -> Result<Guilds, String> {
    let Some(guilds) = guilds else {
        let settings = GuildSettings {
            support_role_id: top
                .support_role_id
                .ok_or("missing required key `support_role_id` (or a `guilds:` section)")?,
            staff_channel_id: top
                .staff_channel_id
                .ok_or("missing required key `staff_channel_id` (or a `guilds:` section)")?,
            help_channels: top.help_channels.unwrap_or_default(),
            products: top.products.map(|p| p.into_iter().collect()),
            escalation: top.escalation.unwrap_or_default(),
            help_channel_none: top.help_channel_none.unwrap_or_default(),
        };
        return Ok(Guilds::One {
            id: top.guild_id,
            settings,
        });
    };
    let mixed = top.keys_set();
    if !mixed.is_empty() {
        return Err(format!(
            "guilds: cannot be combined with the single-guild key(s) {}; move them under guilds.<guild id>",
            mixed.join(", ")
        ));
    }
    if guilds.is_empty() {
        return Err("guilds: lists no guild (give at least one guild id with its settings)".into());
    }
    let mut owner: BTreeMap<DiscordId, DiscordId> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (id, g) in guilds {
        for ch in g.help_channels.keys() {
            if let Some(other) = owner.insert(*ch, id) {
                return Err(format!(
                    "guilds.{id}.help_channels.{ch}: channel {ch} is a help channel of guild {other} too; a channel belongs to one guild"
                ));
            }
        }
        out.insert(
            id,
            GuildSettings {
                support_role_id: g.support_role_id,
                staff_channel_id: g.staff_channel_id,
                help_channels: g.help_channels,
                products: g.products.map(|p| p.into_iter().collect()),
                escalation: g.escalation,
                help_channel_none: g.help_channel_none,
            },
        );
    }
    Ok(Guilds::Many(out))
}

impl Guilds {
    /// The settings for events from `guild`: the single guild's for any
    /// guild, or the listed guild's; `None` for a guild not served.
    pub fn get(&self, guild: u64) -> Option<&GuildSettings> {
        match self {
            Guilds::One { settings, .. } => Some(settings),
            Guilds::Many(m) => DiscordId::new(guild).and_then(|g| m.get(&g)),
        }
    }

    /// Every guild's settings with the key-path prefix errors use.
    fn each(&self) -> Vec<(String, &GuildSettings)> {
        match self {
            Guilds::One { settings, .. } => vec![(String::new(), settings)],
            Guilds::Many(m) => m
                .iter()
                .map(|(id, s)| (format!("guilds.{id}."), s))
                .collect(),
        }
    }

    /// Checks the settings against the knowledge base: every product named
    /// exists, and each help channel's product is one its guild offers.
    pub fn validate(&self, kb: &KnowledgeBase) -> Result<(), String> {
        let mut bad = Vec::new();
        for (prefix, g) in self.each() {
            for p in g.products.iter().flatten() {
                if kb.product(p.as_str()).is_none() {
                    bad.push(format!("{prefix}products: unknown product '{p}'"));
                }
            }
            for (ch, p) in &g.help_channels {
                if kb.product(p.as_str()).is_none() {
                    bad.push(format!("{prefix}help_channels.{ch}: unknown product '{p}'"));
                } else if !g.offers(p.as_str()) {
                    bad.push(format!(
                        "{prefix}help_channels.{ch}: product '{p}' is not among {prefix}products"
                    ));
                }
            }
        }
        if bad.is_empty() {
            return Ok(());
        }
        let known: Vec<&str> = kb.products().iter().map(|p| p.id.as_str()).collect();
        Err(format!(
            "{} (known products: {})",
            bad.join("; "),
            known.join(", ")
        ))
    }
}
