//! The bot's configuration file (`triage run --config FILE`): which guild,
//! role and channels the bot serves, parsed once into types with every key
//! checked and errors that name the key. The token never lives in the file.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use crate::engine::hours::{HoursFile, SupportHours};
use crate::engine::Policy;
use serde::{Deserialize, Deserializer};

use crate::kb::{KnowledgeBase, ProductId};

mod guilds;
pub use guilds::{GuildSettings, Guilds};

/// A Discord snowflake (guild, role, channel id) as written in the config:
/// a number or a quoted string of digits, never zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DiscordId(NonZeroU64);

impl DiscordId {
    pub fn new(id: u64) -> Option<Self> {
        NonZeroU64::new(id).map(Self)
    }

    pub fn get(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for DiscordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for DiscordId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse::<u64>()
            .ok()
            .and_then(DiscordId::new)
            .ok_or_else(|| {
                format!("'{s}' is not a Discord id (a positive number, e.g. 1234567890123456789)")
            })
    }
}

impl<'de> Deserialize<'de> for DiscordId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = DiscordId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Discord id (a positive number, e.g. 1234567890123456789)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<DiscordId, E> {
                DiscordId::new(v).ok_or_else(|| E::custom("a Discord id cannot be 0"))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DiscordId, E> {
                u64::try_from(v)
                    .ok()
                    .and_then(DiscordId::new)
                    .ok_or_else(|| {
                        E::custom(format!("{v} is not a Discord id (a positive number)"))
                    })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DiscordId, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Where an escalation thread is opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Escalation {
    /// Only the customer, the support role and moderators see it.
    #[default]
    PrivateThread,
    /// Everyone who sees the channel sees it.
    PublicThread,
}

/// What the bot does with a help-channel message it has no answer for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HelpChannelNone {
    /// Say nothing: people in the channel answer it.
    #[default]
    StayQuiet,
    /// Reply honestly that the bot does not know, with an escalate button.
    Reply,
}

/// The config file as written. Every key is documented in `triage.example.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    guild_id: Option<DiscordId>,
    support_role_id: Option<DiscordId>,
    staff_channel_id: Option<DiscordId>,
    help_channels: Option<BTreeMap<DiscordId, ProductId>>,
    products: Option<Vec<ProductId>>,
    escalation: Option<Escalation>,
    help_channel_none: Option<HelpChannelNone>,
    /// Several guilds, each with its own settings (instead of the keys above).
    guilds: Option<BTreeMap<DiscordId, guilds::GuildFile>>,
    #[serde(default = "default_answers_per_minute")]
    help_answers_per_minute: u32,
    kb: Option<PathBuf>,
    db: Option<PathBuf>,
    #[serde(default)]
    lifecycle: Option<LifecycleFile>,
    #[serde(default)]
    support_hours: Option<HoursFile>,
    dashboard: Option<DashboardConfig>,
    shards: Option<ShardsFile>,
    ops: Option<OpsConfig>,
}

/// The `shards` section as written: `{total: N, range: [first, last]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShardsFile {
    total: u32,
    range: Option<[u32; 2]>,
}

/// Which of the bot's Discord shards this process runs. Discord sends a
/// guild's events to shard `(guild_id >> 22) % total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shards {
    /// How many shards the bot has in all (every process says the same).
    pub total: u32,
    /// The first and last shard this process runs (inclusive).
    pub first: u32,
    pub last: u32,
}

impl Shards {
    /// The shard Discord routes a guild's events to.
    pub fn of_guild(total: u32, guild_id: u64) -> u32 {
        ((guild_id >> 22) % u64::from(total.max(1))) as u32
    }

    /// Whether this process runs the shard of `guild_id`.
    pub fn owns_guild(&self, guild_id: u64) -> bool {
        (self.first..=self.last).contains(&Self::of_guild(self.total, guild_id))
    }
}

/// The operations endpoint `triage run` serves (`/healthz`, `/metrics`;
/// omit the section to serve none).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsConfig {
    /// The address to listen on, e.g. `127.0.0.1:9100`.
    pub listen: std::net::SocketAddr,
}

/// The staff dashboard `triage run` serves (omit the section to serve none).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardConfig {
    /// The address to listen on, e.g. `127.0.0.1:8080`.
    pub listen: std::net::SocketAddr,
    /// The address people reach it at (behind a reverse proxy), used in
    /// login links; `https://` makes the session cookie Secure.
    pub public_url: String,
}

/// The `lifecycle` section as written: durations like `48h`, `30m`, `2d`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LifecycleFile {
    stale_after: Option<String>,
    auto_close_after: Option<String>,
    close_request_timeout: Option<String>,
}

/// The bot's settings after parsing and validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The guilds served and each one's support role, staff channel, help
    /// channels, products and escalation mode (`Config::guild`).
    pub guilds: Guilds,
    /// The most questions answered per member and help channel in a
    /// minute; the rest are ignored (1 to 60).
    pub help_answers_per_minute: u32,
    /// The knowledge directory, if the file sets one (relative paths are
    /// resolved against the config file's directory).
    pub kb: Option<PathBuf>,
    /// The ticket database, if the file sets one (resolved like `kb`).
    pub db: Option<PathBuf>,
    /// Stale reminders, close requests and support hours.
    pub policy: Policy,
    /// The staff dashboard, if the file sets one up.
    pub dashboard: Option<DashboardConfig>,
    /// The shards this process runs; `None` runs every shard in this
    /// process (one, as Discord recommends below 2,500 guilds).
    pub shards: Option<Shards>,
    /// `/healthz` and `/metrics`, if the file sets them up.
    pub ops: Option<OpsConfig>,
}

/// Why the config file cannot be used. Messages name the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Reads and parses a config file; relative `kb`/`db` paths become
    /// relative to the file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let src = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut cfg = Self::parse_str(&src).map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        for p in [&mut cfg.kb, &mut cfg.db].into_iter().flatten() {
            // A server URL (`db: postgres://…`) is not a path.
            if p.is_relative() && !p.to_string_lossy().contains("://") {
                *p = base.join(&*p);
            }
        }
        Ok(cfg)
    }

    /// Parses config text (pure). The error names the key and, for syntax
    /// and type errors, the line and column.
    pub fn parse_str(src: &str) -> Result<Self, String> {
        let f: File = serde_yaml::from_str(src).map_err(|e| describe_yaml_error(src, &e))?;
        if !(1..=60).contains(&f.help_answers_per_minute) {
            return Err(format!(
                "help_answers_per_minute: {} is out of range (1 to 60)",
                f.help_answers_per_minute
            ));
        }
        let top = guilds::TopLevel {
            guild_id: f.guild_id,
            support_role_id: f.support_role_id,
            staff_channel_id: f.staff_channel_id,
            help_channels: f.help_channels,
            products: f.products,
            escalation: f.escalation,
            help_channel_none: f.help_channel_none,
        };
        Ok(Config {
            guilds: guilds::build(top, f.guilds)?,
            help_answers_per_minute: f.help_answers_per_minute,
            kb: f.kb,
            db: f.db,
            policy: policy(f.lifecycle.unwrap_or_default(), f.support_hours)?,
            dashboard: match f.dashboard {
                Some(d)
                    if !(d.public_url.starts_with("http://")
                        || d.public_url.starts_with("https://")) =>
                {
                    return Err(format!(
                        "dashboard.public_url: '{}' is not an http:// or https:// URL",
                        d.public_url
                    ))
                }
                other => other,
            },
            shards: f.shards.map(shards).transpose()?,
            ops: f.ops,
        })
    }

    /// Checks the settings that depend on the knowledge base: every
    /// product named (help channels, `products`) must exist, and a help
    /// channel's product must be one its guild offers.
    pub fn validate(&self, kb: &KnowledgeBase) -> Result<(), String> {
        self.guilds.validate(kb)
    }

    /// The settings for events from `guild`; `None` when the bot does not
    /// serve it (only with `guilds:`).
    pub fn guild(&self, guild: u64) -> Option<&GuildSettings> {
        self.guilds.get(guild)
    }

    /// The guilds to register commands in; empty: register them globally.
    pub fn command_guilds(&self) -> Vec<DiscordId> {
        match &self.guilds {
            Guilds::One { id, .. } => id.iter().copied().collect(),
            Guilds::Many(m) => m.keys().copied().collect(),
        }
    }
}

/// Checks the `shards` section; errors name the key.
fn shards(f: ShardsFile) -> Result<Shards, String> {
    if f.total == 0 {
        return Err("shards.total: must be at least 1".into());
    }
    let [first, last] = f.range.unwrap_or([0, f.total - 1]);
    if first > last {
        return Err(format!(
            "shards.range: [{first}, {last}] starts after it ends (write [first, last])"
        ));
    }
    if last >= f.total {
        return Err(format!(
            "shards.range: shard {last} does not exist with shards.total {} (shards are 0 to {})",
            f.total,
            f.total - 1
        ));
    }
    Ok(Shards {
        total: f.total,
        first,
        last,
    })
}

fn default_answers_per_minute() -> u32 {
    5
}

/// The lifecycle settings from their sections; errors name the key.
fn policy(l: LifecycleFile, hours: Option<HoursFile>) -> Result<Policy, String> {
    let mut p = Policy::default();
    let d = |key: &str, v: &Option<String>| -> Result<Option<time::Duration>, String> {
        v.as_deref()
            .map(|s| {
                parse_duration(s).ok_or_else(|| {
                    format!("lifecycle.{key}: '{s}' is not a duration like 48h, 30m or 2d")
                })
            })
            .transpose()
    };
    p.stale_after = d("stale_after", &l.stale_after)?;
    p.auto_close_after = d("auto_close_after", &l.auto_close_after)?;
    if let Some(t) = d("close_request_timeout", &l.close_request_timeout)? {
        p.close_request_timeout = t;
    }
    if p.auto_close_after.is_some() && p.stale_after.is_none() {
        return Err("lifecycle.auto_close_after: needs lifecycle.stale_after (auto-close counts from the stale ping)".into());
    }
    p.hours = hours.as_ref().map(SupportHours::parse).transpose()?;
    Ok(p)
}

/// `90s`, `30m`, `48h`, `2d`, `1w`; at least one second.
pub fn parse_duration(s: &str) -> Option<time::Duration> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].trim().parse().ok()?;
    let d = match unit {
        's' => time::Duration::seconds(n),
        'm' => time::Duration::minutes(n),
        'h' => time::Duration::hours(n),
        'd' => time::Duration::days(n),
        'w' => time::Duration::weeks(n),
        _ => return None,
    };
    (n > 0).then_some(d)
}

/// serde_yaml names the key path for nested values ("help_channels.1:
/// invalid type") but not for top-level ones; name it from the line the
/// error points at, so every message says which key is wrong.
fn describe_yaml_error(src: &str, e: &serde_yaml::Error) -> String {
    let msg = e.to_string();
    if let Some(field) = msg
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        return format!("missing required key `{field}`");
    }
    let key = e
        .location()
        .and_then(|l| src.lines().nth(l.line().saturating_sub(1)))
        .and_then(|line| line.split_once(':'))
        .map(|(k, _)| k.trim().trim_matches(|c| c == '"' || c == '\''))
        .filter(|k| !k.is_empty() && !k.starts_with(['-', '#', ' ']) && !msg.contains(k));
    match key {
        Some(k) => format!("{k}: {msg}"),
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
guild_id: 111
support_role_id: "222"
staff_channel_id: 333
help_channels:
  444: convot
  "555": c2c
escalation: public_thread
help_channel_none: reply
kb: knowledge
db: triage.db
"#;

    #[test]
    fn full_file_parses_with_numbers_or_strings() {
        let c = Config::parse_str(FULL).unwrap();
        assert_eq!(c.command_guilds(), vec![DiscordId::new(111).unwrap()]);
        // The single-guild form applies to any guild, as it always did.
        let g = c.guild(999).unwrap();
        assert_eq!(g.support_role_id.get(), 222);
        assert_eq!(g.help_channel(555).unwrap().as_str(), "c2c");
        assert_eq!(g.escalation, Escalation::PublicThread);
        assert_eq!(g.help_channel_none, HelpChannelNone::Reply);
        assert!(g.offers("convot"));
    }

    #[test]
    fn defaults_are_private_threads_and_quiet() {
        let c = Config::parse_str("support_role_id: 1\nstaff_channel_id: 2\n").unwrap();
        assert!(c.command_guilds().is_empty());
        let g = c.guild(1).unwrap();
        assert_eq!(g.escalation, Escalation::PrivateThread);
        assert_eq!(g.help_channel_none, HelpChannelNone::StayQuiet);
        assert!(g.help_channels.is_empty());
        assert_eq!(g.products, None);
    }

    #[test]
    fn errors_name_the_key() {
        let e = Config::parse_str("support_role_id: 1\n").unwrap_err();
        assert!(e.contains("staff_channel_id"), "{e}");
        let e = Config::parse_str("support_role_id: 1\nstaff_channel_id: 2\nstaff_chanel: 3\n")
            .unwrap_err();
        assert!(e.contains("staff_chanel"), "{e}");
        let e = Config::parse_str("support_role_id: 1\nstaff_channel_id: 2\nescalation: dm\n")
            .unwrap_err();
        assert!(e.contains("escalation"), "{e}");
        let e = Config::parse_str("support_role_id: abc\nstaff_channel_id: 2\n").unwrap_err();
        assert!(e.contains("support_role_id"), "{e}");
        let e = Config::parse_str("support_role_id: 0\nstaff_channel_id: 2\n").unwrap_err();
        assert!(e.contains("support_role_id"), "{e}");
        let e = Config::parse_str(
            "support_role_id: 1\nstaff_channel_id: 2\nhelp_channels:\n  x1: c2c\n",
        )
        .unwrap_err();
        assert!(e.contains("help_channels"), "{e}");
    }

    #[test]
    fn the_shipped_example_parses() {
        let c = Config::parse_str(include_str!("../triage.example.yaml")).unwrap();
        let g = c.guild(123456789012345678).unwrap();
        assert_eq!(g.escalation, Escalation::PrivateThread);
        assert_eq!(g.help_channels.len(), 2);
    }

    #[test]
    fn the_dashboard_section_is_checked() {
        let base = "support_role_id: 1\nstaff_channel_id: 2\n";
        let c = Config::parse_str(&format!(
            "{base}dashboard:\n  listen: 127.0.0.1:8080\n  public_url: https://support.example.com\n"
        ))
        .unwrap();
        assert_eq!(c.dashboard.unwrap().listen.port(), 8080);
        let e = Config::parse_str(&format!(
            "{base}dashboard:\n  listen: 127.0.0.1:8080\n  public_url: support.example.com\n"
        ))
        .unwrap_err();
        assert!(e.contains("dashboard.public_url"), "{e}");
        let e = Config::parse_str(&format!(
            "{base}dashboard:\n  listen: everywhere\n  public_url: https://x\n"
        ))
        .unwrap_err();
        assert!(e.contains("dashboard"), "{e}");
    }

    #[test]
    fn shards_and_ops_are_checked_and_errors_name_the_key() {
        let base = "support_role_id: 1\nstaff_channel_id: 2\n";
        let c = Config::parse_str(base).unwrap();
        assert_eq!((c.shards, c.ops), (None, None));
        let c = Config::parse_str(&format!(
            "{base}shards: {{total: 4, range: [1, 2]}}\nops: {{listen: 127.0.0.1:9100}}\n"
        ))
        .unwrap();
        let s = c.shards.unwrap();
        assert_eq!((s.total, s.first, s.last), (4, 1, 2));
        assert_eq!(c.ops.unwrap().listen.port(), 9100);
        let all = Config::parse_str(&format!("{base}shards: {{total: 3}}\n"))
            .unwrap()
            .shards
            .unwrap();
        assert_eq!((all.first, all.last), (0, 2));
        let err = |extra: &str| Config::parse_str(&format!("{base}{extra}")).unwrap_err();
        assert!(err("shards: {total: 0}\n").starts_with("shards.total: must be at least 1"));
        assert!(err("shards: {total: 2, range: [1, 0]}\n").starts_with("shards.range:"));
        assert!(err("shards: {total: 2, range: [0, 2]}\n")
            .starts_with("shards.range: shard 2 does not exist"));
        assert!(err("shards: {total: 2, first: 0}\n").contains("first"));
        assert!(err("ops: {listen: nowhere}\n").contains("ops"));
    }

    #[test]
    fn a_guild_belongs_to_the_shard_discord_routes_it_to() {
        // Discord's formula: (guild_id >> 22) % total.
        assert_eq!(Shards::of_guild(2, 0), 0);
        assert_eq!(Shards::of_guild(2, 1 << 22), 1);
        assert_eq!(Shards::of_guild(2, 3 << 22 | 12345), 1);
        assert_eq!(Shards::of_guild(1, 81_384_788_765_712_384), 0);
        let s = Shards {
            total: 2,
            first: 1,
            last: 1,
        };
        assert!(s.owns_guild(1 << 22) && !s.owns_guild(2 << 22));
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("triage.yaml");
        std::fs::write(&path, FULL).unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(c.kb.unwrap(), dir.path().join("knowledge"));
        assert_eq!(c.db.unwrap(), dir.path().join("triage.db"));
    }

    #[test]
    fn lifecycle_and_support_hours_errors_name_the_key() {
        let base = "support_role_id: 1\nstaff_channel_id: 2\n";
        let err = |extra: &str| Config::parse_str(&format!("{base}{extra}")).unwrap_err();
        assert!(err("lifecycle:\n  stale_after: two days\n")
            .starts_with("lifecycle.stale_after: 'two days' is not a duration"));
        assert!(err("lifecycle:\n  auto_close_after: 24h\n")
            .starts_with("lifecycle.auto_close_after: needs lifecycle.stale_after"));
        assert!(err(
            "support_hours:\n  timezone: Nowhere/City\n  weekly: {mon: [\"09:00-17:00\"]}\n"
        )
        .starts_with("support_hours.timezone: unknown timezone 'Nowhere/City'"));
        assert!(err("support_hours:\n  timezone: UTC\n  weekly: {mon: [\"09:00-12:00\", \"11:00-13:00\"]}\n")
            .starts_with("support_hours.weekly.mon: 09:00-12:00 overlaps 11:00-13:00"));
        assert!(
            err("support_hours:\n  timezone: UTC\n  weekly: {mon: [\"9am-5pm\"]}\n")
                .starts_with("support_hours.weekly.mon[0]: '9am-5pm' is not a time range")
        );
        let ok = Config::parse_str(&format!(
            "{base}lifecycle:\n  stale_after: 48h\n  auto_close_after: 1d\n"
        ))
        .unwrap();
        assert_eq!(ok.policy.stale_after, Some(time::Duration::hours(48)));
        assert_eq!(ok.policy.auto_close_after, Some(time::Duration::days(1)));
        assert_eq!(ok.policy.close_request_timeout, time::Duration::hours(24));
    }

    #[test]
    fn a_database_url_is_not_resolved_against_the_config_dir() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("triage.yaml");
        std::fs::write(
            &path,
            FULL.replace("db: triage.db", "db: postgres://triage@db:5432/triage"),
        )
        .unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(
            c.db.unwrap(),
            std::path::PathBuf::from("postgres://triage@db:5432/triage")
        );
    }
}

#[cfg(test)]
mod guild_tests {
    use super::*;

    const MANY: &str = r#"
guilds:
  111:
    support_role_id: 11
    staff_channel_id: 12
    help_channels: {13: convot}
    products: [convot]
  "222":
    support_role_id: 21
    staff_channel_id: 22
    help_channels: {23: c2c}
    escalation: public_thread
    help_channel_none: reply
"#;

    fn kb() -> KnowledgeBase {
        crate::kb::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge")).unwrap()
    }

    #[test]
    fn each_guild_has_its_own_settings() {
        let c = Config::parse_str(MANY).unwrap();
        let ids: Vec<u64> = c.command_guilds().iter().map(|g| g.get()).collect();
        assert_eq!(ids, vec![111, 222]);
        let a = c.guild(111).unwrap();
        let b = c.guild(222).unwrap();
        assert_eq!(a.support_role_id.get(), 11);
        assert_eq!(b.staff_channel_id.get(), 22);
        assert_eq!(a.help_channel(13).unwrap().as_str(), "convot");
        assert_eq!(a.help_channel(23), None);
        assert_eq!(b.help_channel(23).unwrap().as_str(), "c2c");
        assert!(a.offers("convot") && !a.offers("c2c"));
        assert!(b.offers("c2c") && b.offers("convot"));
        assert_eq!(a.escalation, Escalation::PrivateThread);
        assert_eq!(b.escalation, Escalation::PublicThread);
        assert_eq!(b.help_channel_none, HelpChannelNone::Reply);
        // A guild not listed is not served.
        assert_eq!(c.guild(333), None);
        c.validate(&kb()).unwrap();
    }

    #[test]
    fn mixing_the_two_forms_is_an_error() {
        let e = Config::parse_str(&format!("support_role_id: 1\n{MANY}")).unwrap_err();
        assert!(e.starts_with("guilds: cannot be combined"), "{e}");
        assert!(e.contains("support_role_id"), "{e}");
        let e = Config::parse_str(&format!("guild_id: 5\nescalation: public_thread\n{MANY}"))
            .unwrap_err();
        assert!(e.contains("guild_id, escalation"), "{e}");
        let e = Config::parse_str("guilds: {}\n").unwrap_err();
        assert!(e.starts_with("guilds: lists no guild"), "{e}");
    }

    #[test]
    fn guild_errors_name_the_key_path() {
        let e =
            Config::parse_str(&MANY.replace("help_channel_none", "help_channel_nope")).unwrap_err();
        assert!(
            e.contains("guilds") && e.contains("help_channel_nope"),
            "{e}"
        );
        let e = Config::parse_str("guilds:\n  111:\n    support_role_id: 1\n").unwrap_err();
        assert!(
            e.contains("guilds.111") && e.contains("staff_channel_id"),
            "{e}"
        );
        let e =
            Config::parse_str("guilds:\n  abc:\n    support_role_id: 1\n    staff_channel_id: 2\n")
                .unwrap_err();
        assert!(e.contains("guilds"), "{e}");
        // One channel, two guilds.
        let e = Config::parse_str(&MANY.replace("{23: c2c}", "{13: c2c}")).unwrap_err();
        assert!(
            e.starts_with(
                "guilds.222.help_channels.13: channel 13 is a help channel of guild 111 too"
            ),
            "{e}"
        );
    }

    #[test]
    fn products_are_checked_against_the_knowledge_base() {
        let kb = kb();
        let e = Config::parse_str(&MANY.replace("[convot]", "[convot, nope]"))
            .unwrap()
            .validate(&kb)
            .unwrap_err();
        assert!(
            e.starts_with("guilds.111.products: unknown product 'nope'"),
            "{e}"
        );
        let e = Config::parse_str(&MANY.replace("{13: convot}", "{13: c2c}"))
            .unwrap()
            .validate(&kb)
            .unwrap_err();
        assert!(
            e.starts_with(
                "guilds.111.help_channels.13: product 'c2c' is not among guilds.111.products"
            ),
            "{e}"
        );
        let e = Config::parse_str(&MANY.replace("{23: c2c}", "{23: gizmo}"))
            .unwrap()
            .validate(&kb)
            .unwrap_err();
        assert!(
            e.starts_with("guilds.222.help_channels.23: unknown product 'gizmo'"),
            "{e}"
        );
        // The single-guild form keeps its key names.
        let e = Config::parse_str(
            "support_role_id: 1\nstaff_channel_id: 2\nhelp_channels: {3: gizmo}\n",
        )
        .unwrap()
        .validate(&kb)
        .unwrap_err();
        assert!(
            e.starts_with("help_channels.3: unknown product 'gizmo'"),
            "{e}"
        );
        // A single guild may limit its products too.
        let e = Config::parse_str(
            "support_role_id: 1\nstaff_channel_id: 2\nproducts: [convot]\nhelp_channels: {3: c2c}\n",
        )
        .unwrap()
        .validate(&kb)
        .unwrap_err();
        assert!(
            e.starts_with("help_channels.3: product 'c2c' is not among products"),
            "{e}"
        );
    }
}
