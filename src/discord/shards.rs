//! Which guilds this process answers for when the bot's shards are spread
//! over several processes (config `shards`), and the shard status the
//! operations endpoint reports. Discord routes a guild's events to shard
//! `(guild_id >> 22) % total`; work that is not started by an event (late
//! replies at startup, catch-up after READY) is done only by the process
//! running that shard, so two processes never both do it.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use poise::serenity_prelude as serenity;
use tracing::warn;

use super::Data;
use crate::config::Shards;

/// How often the shard status metric is refreshed.
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// Whether this process owns the guild a channel is in. Without a `shards`
/// section it owns every guild. A channel whose guild cannot be found
/// (deleted, no access, a DM) belongs to the process running shard 0, as
/// Discord sends direct messages to shard 0.
pub(super) async fn owns_channel(
    ctx: &serenity::Context,
    plan: Option<Shards>,
    channel: serenity::ChannelId,
) -> bool {
    let Some(plan) = plan else {
        return true;
    };
    match ctx.http.get_channel(channel).await {
        Ok(serenity::Channel::Guild(c)) => plan.owns_guild(c.guild_id.get()),
        Ok(_) => plan.first == 0,
        Err(e) => {
            warn!(%channel, error = %e, "cannot tell which shard a channel is on; shard 0's process handles it");
            plan.first == 0
        }
    }
}

/// Whether this process owns the conversation place `place` (a channel or
/// thread), for a reply made in `channel`: by the guild recorded for the
/// place when its first input arrived, else by asking Discord which guild
/// the channel is in.
pub(super) async fn owns_place(
    ctx: &serenity::Context,
    data: &Data,
    place: u64,
    channel: serenity::ChannelId,
) -> bool {
    let Some(plan) = data.config().shards else {
        return true;
    };
    match data.guild_of_place(place).await {
        Ok(Some(guild)) => plan.owns_guild(guild),
        Ok(None) => owns_channel(ctx, Some(plan), channel).await,
        Err(e) => {
            warn!(place, error = %e, "cannot read the guild of a conversation; asking Discord");
            owns_channel(ctx, Some(plan), channel).await
        }
    }
}

/// This process's name in the leases it takes: host, process id and start
/// time, so a restarted process is a new owner.
pub(super) fn process_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        format!("{host}:{}:{started}", std::process::id())
    })
}

/// Whether `guild`'s events come to the shard `shard` (the shard whose
/// READY is being handled).
pub(super) fn guild_on_shard(plan: Option<Shards>, shard: u32, guild: u64) -> bool {
    let total = plan.map_or(1, |p| p.total);
    Shards::of_guild(total, guild) == shard
}

/// The shards this process runs.
pub(super) fn range(plan: Option<Shards>) -> std::ops::RangeInclusive<u32> {
    plan.map_or(0..=0, |p| p.first..=p.last)
}

/// Keeps `shard_connected` up to date for every shard this process runs.
pub(super) async fn watch(manager: Arc<serenity::ShardManager>, plan: Option<Shards>) {
    let metrics = crate::ops::metrics();
    let mut tick = tokio::time::interval(STATUS_EVERY);
    loop {
        tick.tick().await;
        let runners = manager.runners.lock().await;
        for shard in range(plan) {
            let up = runners
                .get(&serenity::ShardId(shard))
                .is_some_and(|r| r.stage == serenity::ConnectionStage::Connected);
            metrics
                .shard_connected
                .with_label_values(&[&shard.to_string()])
                .set(i64::from(up));
        }
    }
}
