//! Messages missed while the gateway was away. When a session cannot be
//! resumed (or the bot was down), Discord does not replay what was posted
//! meanwhile; on every READY the bot reads each open ticket thread from the
//! newest input it has seen (`GET /channels/{id}/messages?after=`) and
//! handles the customer's messages it finds, oldest first. Handling is by
//! message id, so an answer seen twice still counts once.

use poise::serenity_prelude as serenity;
use serenity::{ChannelId, MessageId};
use tracing::{info, instrument, warn};

use super::{blocking, help_channels, Data};

/// Discord's page size for message history.
const PAGE: u8 = 100;

#[instrument(skip_all)]
pub(super) async fn catch_up(ctx: &serenity::Context, data: &Data) {
    let engine = data.engine();
    let open = match blocking(move || engine.open_threads()).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return warn!(error = %e, "cannot list the open ticket threads"),
        Err(e) => return warn!(error = %e, "cannot list the open ticket threads"),
    };
    for t in open {
        let (Ok(thread), Ok(user)) = (
            t.thread.as_str().parse::<u64>(),
            t.key.user.as_str().parse::<u64>(),
        ) else {
            continue;
        };
        // Nothing in the thread is older than the thread itself.
        let after = t.last_input.unwrap_or(0).max(thread);
        if let Err(e) = thread_since(ctx, data, ChannelId::new(thread), user, after).await {
            warn!(%thread, error = %e, "reading a ticket thread's missed messages failed");
        }
    }
}

async fn thread_since(
    ctx: &serenity::Context,
    data: &Data,
    thread: ChannelId,
    user: u64,
    mut after: u64,
) -> Result<(), super::Error> {
    let guild = match ctx.http.get_channel(thread).await? {
        serenity::Channel::Guild(c) if super::commands::is_thread(c.kind) => c.guild_id,
        // A help channel itself: nothing to catch up on there.
        _ => return Ok(()),
    };
    // Each shard's READY catches up on that shard's guilds only: with
    // shards over several processes, the thread is another process's.
    if !super::shards::guild_on_shard(data.config().shards, ctx.shard_id.0, guild.get()) {
        return Ok(());
    }
    loop {
        let mut page = thread
            .messages(
                ctx,
                serenity::GetMessages::new()
                    .after(MessageId::new(after))
                    .limit(PAGE),
            )
            .await?;
        if page.is_empty() {
            return Ok(());
        }
        page.sort_by_key(|m| m.id);
        let full = page.len() == usize::from(PAGE);
        after = page.last().map_or(after, |m| m.id.get());
        for mut m in page {
            if m.author.bot || m.author.id.get() != user {
                continue;
            }
            // History has no guild id; live messages do.
            m.guild_id = Some(guild);
            info!(message = %m.id, %thread, "handling a message posted while the gateway was away");
            if let Err(e) = help_channels::on_message(ctx, data, &m).await {
                warn!(message = %m.id, error = %e, "handling a missed message failed");
            }
        }
        if !full {
            return Ok(());
        }
    }
}
