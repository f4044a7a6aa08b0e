//! New messages: questions in configured help channels and help-forum posts
//! are answered; answers to ticket fields in escalation threads go to the
//! engine. Bots (the bot itself included), webhooks and edits are ignored.

use poise::serenity_prelude as serenity;
use serenity::{ChannelId, Message, MessageType};
use tracing::{debug, instrument};

use super::escalation::{self, Here};
use super::markup::message_text;
use super::render;
use super::route::Conv;
use super::{blocking, commands, Data, Error};
use crate::config::HelpChannelNone;
use crate::engine::{Input, Phase};

/// A thread the message was posted in.
pub(super) struct Thread {
    id: u64,
    parent: u64,
    owner: Option<u64>,
}

#[instrument(skip_all, fields(message = %msg.id, channel = %msg.channel_id))]
pub(super) async fn on_message(
    ctx: &serenity::Context,
    data: &Data,
    msg: &Message,
) -> Result<(), Error> {
    if msg.author.bot
        || msg.webhook_id.is_some()
        || !matches!(msg.kind, MessageType::Regular | MessageType::InlineReply)
        || msg.content.trim().is_empty()
    {
        return Ok(());
    }
    let Some(guild) = msg.guild_id else {
        return Ok(());
    };
    let Some(cfg) = data.settings(Some(guild)) else {
        return Ok(());
    };

    if let Some(product) = cfg.help_channel(msg.channel_id.get()) {
        // Staff answering, and people replying to each other, are humans
        // helping: not questions for the bot.
        let staff = msg
            .member
            .as_ref()
            .is_some_and(|m| data.has_support_role(Some(guild), &m.roles));
        let to_someone_else = msg
            .referenced_message
            .as_ref()
            .is_some_and(|r| !r.author.bot && r.author.id != msg.author.id);
        if staff || to_someone_else {
            debug!(staff, to_someone_else, "not a question for the bot");
            return Ok(());
        }
        let conv = Conv {
            place: msg.channel_id.get(),
            user: msg.author.id.get(),
        };
        // Ticket answers belong in the ticket thread: the thread is where
        // staff will look, and answering here would open a second one.
        if matches!(phase(data, conv).await?, Phase::Collecting { .. }) {
            let nudge = render::Message::text(
                "You have a ticket in progress: please answer its questions in the ticket thread.",
            );
            msg.channel_id
                .send_message(ctx, nudge.channel().reference_message(msg))
                .await?;
            return Ok(());
        }
        if !data.admit(conv.place, conv.user) {
            return Ok(());
        }
        let input = Input::say(msg.id.to_string(), conv.key(), message_text(msg))
            .in_product(Some(product.clone()));
        return ask(ctx, data, msg, conv, input, false).await;
    }

    let Some(thread) = thread_of(ctx, guild, msg.channel_id).await? else {
        return Ok(());
    };
    // A customer answering ticket fields, in the thread opened from the
    // channel they asked in, or in the forum post they asked in.
    for place in [thread.parent, thread.id] {
        let conv = Conv {
            place,
            user: msg.author.id.get(),
        };
        if matches!(phase(data, conv).await?, Phase::Collecting { .. }) {
            let input = Input::say(msg.id.to_string(), conv.key(), message_text(msg));
            return ask(ctx, data, msg, conv, input, true).await;
        }
    }
    // A post in a help forum (or a thread in a help channel): its author's
    // messages are questions about the channel's product.
    if let Some(product) = cfg.help_channel(thread.parent) {
        if thread.owner == Some(msg.author.id.get()) {
            let conv = Conv {
                place: thread.id,
                user: msg.author.id.get(),
            };
            if !data.admit(conv.place, conv.user) {
                return Ok(());
            }
            let input = Input::say(msg.id.to_string(), conv.key(), message_text(msg))
                .in_product(Some(product.clone()));
            return ask(ctx, data, msg, conv, input, true).await;
        }
    }
    Ok(())
}

async fn phase(data: &Data, conv: Conv) -> Result<Phase, Error> {
    let engine = data.engine();
    let key = conv.key();
    Ok(blocking(move || engine.resume(&key)).await??.phase)
}

async fn ask(
    ctx: &serenity::Context,
    data: &Data,
    msg: &Message,
    conv: Conv,
    input: Input,
    in_thread: bool,
) -> Result<(), Error> {
    let here = Here::Channel {
        ctx,
        data,
        msg,
        in_thread,
        quiet_on_none: data
            .settings(msg.guild_id)
            .is_none_or(|g| g.help_channel_none == HelpChannelNone::StayQuiet),
    };
    escalation::deliver(here, conv, input).await
}

/// The thread a channel is, if it is one: from the cache, else one REST
/// call. Channels the cache knows as guild channels are not threads.
pub(super) async fn thread_of(
    ctx: &serenity::Context,
    guild: serenity::GuildId,
    id: ChannelId,
) -> Result<Option<Thread>, Error> {
    // Some(None): a channel, not a thread. The guild's cache guard is
    // dropped before any await.
    let cached = ctx.cache.guild(guild).and_then(|g| {
        if g.channels.contains_key(&id) {
            return Some(None);
        }
        g.threads.iter().find(|t| t.id == id).map(thread_from)
    });
    if let Some(t) = cached {
        return Ok(t);
    }
    match ctx.http.get_channel(id).await? {
        serenity::Channel::Guild(c) => Ok(thread_from(&c)),
        _ => Ok(None),
    }
}

fn thread_from(c: &serenity::GuildChannel) -> Option<Thread> {
    if !commands::is_thread(c.kind) {
        return None;
    }
    Some(Thread {
        id: c.id.get(),
        parent: c.parent_id?.get(),
        owner: c.owner_id.map(|o| o.get()),
    })
}
