//! Delivering an engine reply: the first part answers where the user is
//! (command, click, message), within Discord's 3 s for interactions; the
//! ticket thread and the hand-off are `escalation`'s. Every part goes out
//! once (`parts`), the reply is marked delivered when all have, and one cut
//! off (a failed post, a restart) resumes from the first part not out, on
//! redelivery or at startup, privately if it was private.

use std::future::Future;
use std::time::Duration;

use poise::serenity_prelude as serenity;
use serenity::{ChannelId, ComponentInteraction, CreateInteractionResponse};
use tracing::{error, info, instrument, warn};

use super::escalation::{hand_off, split, ticket_thread};
use super::parts::{self, Sent, Via};
use super::render::{self, Message};
use super::route::Conv;
use super::{text, Context, Data, Error};
use crate::engine::{ConversationKey, Input, Output, Phase, Place, Reply};
/// Past this age of an interaction (from its creation, as its snowflake
/// says), a handler acknowledges first (Discord's limit is 3 s). Counted
/// from creation, not from when the handler started, so time spent queued
/// behind a burst of other inputs counts too.
const ACK_AFTER: Duration = Duration::from_millis(1500);

/// The least a handler waits before acknowledging, however old the
/// interaction: a redelivered one that was answered already needs only a
/// lookup, and must not be acknowledged a second time.
const ACK_AT_LEAST: Duration = Duration::from_millis(250);

/// Where the user is, which decides how the first part of a reply is sent.
pub(crate) enum Here<'a> {
    /// A slash command: the interaction response, then follow-ups.
    Command {
        ctx: Context<'a>,
        ephemeral: bool,
        in_thread: bool,
    },
    /// Apps → Diagnose: replies to `target` in its channel; the invoker gets
    /// an ephemeral pointer.
    OnMessage {
        ctx: Context<'a>,
        target: &'a serenity::Message,
        in_thread: bool,
    },
    /// A button or menu: a new message, or an update of the clicked one.
    Click {
        ctx: &'a serenity::Context,
        data: &'a Data,
        click: &'a ComponentInteraction,
        ephemeral: bool,
        update: bool,
        in_thread: bool,
    },
    /// A message in a help channel or thread: channel messages, the first
    /// replying to `msg`.
    Channel {
        ctx: &'a serenity::Context,
        data: &'a Data,
        msg: &'a serenity::Message,
        in_thread: bool,
        /// Help channels with `help_channel_none: stay_quiet`.
        quiet_on_none: bool,
    },
    /// A reply posted late (at startup): plain channel messages, since
    /// interaction tokens expire after 15 minutes; a private answer goes
    /// as a private follow-up while its token is valid (`private`), and
    /// is never posted in the channel.
    Late {
        ctx: &'a serenity::Context,
        data: &'a Data,
        channel: ChannelId,
        in_thread: bool,
        /// The interaction token of a private answer still valid; `None`
        /// for a public one.
        private: Option<String>,
    },
}

impl Here<'_> {
    fn serenity(&self) -> &serenity::Context {
        match self {
            Here::Command { ctx, .. } | Here::OnMessage { ctx, .. } => ctx.serenity_context(),
            Here::Click { ctx, .. } | Here::Channel { ctx, .. } | Here::Late { ctx, .. } => ctx,
        }
    }

    fn in_thread(&self) -> bool {
        match self {
            Here::Command { in_thread, .. }
            | Here::OnMessage { in_thread, .. }
            | Here::Click { in_thread, .. }
            | Here::Channel { in_thread, .. }
            | Here::Late { in_thread, .. } => *in_thread,
        }
    }

    /// The guild the input came from (`None` for a late reply).
    fn guild(&self) -> Option<serenity::GuildId> {
        match self {
            Here::Command { ctx, .. } | Here::OnMessage { ctx, .. } => ctx.guild_id(),
            Here::Click { click, .. } => click.guild_id,
            Here::Channel { msg, .. } => msg.guild_id,
            Here::Late { .. } => None,
        }
    }

    /// How long ago Discord created the interaction (its snowflake's time;
    /// zero if our clock is behind Discord's); `None` for what is not an
    /// interaction.
    fn interaction_age(&self) -> Option<Duration> {
        let id = match self {
            Here::Command { ctx, .. } | Here::OnMessage { ctx, .. } => ctx.id(),
            Here::Click { click, .. } => click.id.get(),
            Here::Channel { .. } | Here::Late { .. } => return None,
        };
        let created = parts::snowflake_time(&id.to_string())?;
        let age = time::OffsetDateTime::now_utc() - created;
        Some(Duration::try_from(age).unwrap_or(Duration::ZERO))
    }

    fn channel(&self) -> ChannelId {
        match self {
            Here::Command { ctx, .. } | Here::OnMessage { ctx, .. } => ctx.channel_id(),
            Here::Click { click, .. } => click.channel_id,
            Here::Channel { msg, .. } => msg.channel_id,
            Here::Late { channel, .. } => *channel,
        }
    }

    /// How this input can be answered later, for an interaction.
    fn via(&self) -> Option<Via> {
        match self {
            Here::Command {
                ctx: poise::Context::Application(a),
                ephemeral,
                ..
            } => Some(Via {
                token: a.interaction.token.clone(),
                ephemeral: *ephemeral,
            }),
            Here::Click {
                click, ephemeral, ..
            } => Some(Via {
                token: click.token.clone(),
                ephemeral: *ephemeral,
            }),
            _ => None,
        }
    }

    /// Ends a click whose work failed with a message saying so, so the
    /// customer never watches a spinner or reads "The application did not
    /// respond". Commands are told by `on_error`; messages need nothing.
    async fn fail(&self, acked: bool, why: &Error) {
        let Here::Click {
            ctx, click, update, ..
        } = self
        else {
            return;
        };
        let m = Message::text(match why {
            Error::User(msg) => msg.as_str(),
            Error::Internal(_) => FAILED,
        });
        let told = if !acked {
            click
                .create_response(ctx, CreateInteractionResponse::Message(m.interaction(true)))
                .await
                .map(drop)
        } else if *update {
            // Acknowledged as an update of the clicked message: keep it.
            click.create_followup(ctx, m.followup(true)).await.map(drop)
        } else {
            click.edit_response(ctx, m.edit()).await.map(drop)
        };
        if let Err(e) = told {
            warn!(error = %e, "could not tell the customer that their click failed");
        }
    }

    /// Acknowledges an interaction that may take a while; no-op otherwise.
    async fn acknowledge(&self) -> Result<(), Error> {
        match self {
            Here::Command {
                ctx,
                ephemeral: true,
                ..
            }
            | Here::OnMessage { ctx, .. } => ctx.defer_ephemeral().await?,
            Here::Command { ctx, .. } => ctx.defer().await?,
            Here::Click {
                ctx,
                click,
                update: true,
                ..
            } => {
                click
                    .create_response(ctx, CreateInteractionResponse::Acknowledge)
                    .await?;
            }
            Here::Click {
                ctx,
                click,
                ephemeral,
                ..
            } => {
                let r = CreateInteractionResponse::Defer(
                    serenity::CreateInteractionResponseMessage::new().ephemeral(*ephemeral),
                );
                click.create_response(ctx, r).await?;
            }
            Here::Channel { .. } | Here::Late { .. } => {}
        }
        Ok(())
    }
}

/// Runs `work`; if it is not done by the time the interaction is
/// `ACK_AFTER` old, acknowledges the interaction first so Discord does not
/// time it out (after `ACK_AT_LEAST` when it is that old already). Returns
/// whether it acknowledged.
async fn within_deadline<T>(
    here: &Here<'_>,
    work: impl Future<Output = T>,
) -> Result<(T, bool), Error> {
    tokio::pin!(work);
    let budget = ACK_AFTER
        .saturating_sub(here.interaction_age().unwrap_or_default())
        .max(ACK_AT_LEAST);
    match tokio::time::timeout(budget, &mut work).await {
        Ok(v) => Ok((v, false)),
        Err(_) => {
            here.acknowledge().await?;
            Ok((work.await, true))
        }
    }
}

/// For commands that are not a conversation step (staff actions, stats):
/// runs `work`, acknowledging the interaction first if it takes long.
pub(crate) async fn command_in_time<T>(
    ctx: Context<'_>,
    ephemeral: bool,
    work: impl Future<Output = T>,
) -> Result<(T, bool), Error> {
    let here = Here::Command {
        ctx,
        ephemeral,
        in_thread: false,
    };
    within_deadline(&here, work).await
}

/// What a customer reads when their click's work failed on our side or
/// Discord's.
pub(crate) const FAILED: &str = "Sorry, I couldn't finish that: something failed on our side or Discord's while I was answering. Nothing you told me is lost. Please try again in a minute; if it keeps failing, tell the support team.";

/// Feeds `input` to the engine, delivers its reply and marks it delivered
/// once every part went out. A redelivered input (same interaction or
/// message id) whose reply was delivered gets no response at all; one whose
/// reply never was, or only partly, gets the parts not out yet.
#[instrument(skip_all, fields(conv = %conv, input = %input.id))]
pub(crate) async fn deliver(here: Here<'_>, conv: Conv, mut input: Input) -> Result<(), Error> {
    let data = data_of(&here);
    let id = input.id.clone();
    let made_in = here.channel().get();
    if made_in != conv.place {
        input.origin = Some(Place::new(made_in.to_string()));
    }
    // Before the input is applied: the place's guild, which scopes its
    // tickets, staff channel and role.
    if let Some(g) = here.guild() {
        // Only the products this guild offers are matched and offered.
        if input.offered.is_none() {
            input.offered = data.settings(Some(g)).and_then(|s| s.offered());
        }
        data.note_guild(conv.place, g).await?;
        if made_in != conv.place {
            data.note_guild(made_in, g).await?;
        }
    }
    // Before the input is applied: a reply that does not get out now is
    // then answered later through the same interaction, privately if need be.
    if let Some(via) = here.via() {
        parts::record_via(data, &id, &via).await?;
    }
    let (reply, mut acked) = within_deadline(&here, data.handle(input)).await?;
    let reply: Reply = match reply {
        Ok(r) => r,
        Err(e) => {
            here.fail(acked, &e).await;
            return Err(e);
        }
    };
    if !reply.undelivered {
        info!("redelivered input; already answered");
        return Ok(());
    }
    if reply.duplicate {
        info!("redelivered input whose reply was never delivered; answering now");
    }
    if let Here::Channel {
        quiet_on_none: true,
        ..
    } = here
    {
        let engine = data.engine();
        let key = conv.key();
        let phase = super::blocking(move || engine.resume(&key)).await??.phase;
        // In the channel itself, Idle after a reply of plain text only: it
        // was a bare greeting, which people there answer.
        let greeted = !here.in_thread()
            && phase == Phase::Idle
            && reply
                .outputs
                .iter()
                .all(|o| matches!(o, Output::Text { .. }));
        if phase == Phase::NoMatch || greeted {
            info!("no match in a help channel; staying quiet");
            return data.delivered(id).await;
        }
    }
    let mut sent = Sent::load(data, id.clone()).await?;
    if let Err(e) = render_reply(&here, conv, reply.outputs, &mut acked, &mut sent).await {
        here.fail(acked, &e).await;
        return Err(e);
    }
    data.delivered(id).await
}

/// Posts a reply: the part for where the user is, the ticket thread (the
/// conversation's, or opened now) and the hand-off of a filed ticket.
/// Parts already out (`sent`) are skipped; the first failure stops it.
async fn render_reply(
    here: &Here<'_>,
    conv: Conv,
    outputs: Vec<Output>,
    acked: &mut bool,
    sent: &mut Sent,
) -> Result<(), Error> {
    let data = data_of(here);
    let held: Vec<_> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::TicketFiled(c) if super::lifecycle::held(&outputs, c.id) => Some(c.id),
            _ => None,
        })
        .collect();
    let parts = split(outputs, here.in_thread());
    let needs_thread = !here.in_thread() && (!parts.thread.is_empty() || !parts.filed.is_empty());
    // Opening a thread is several calls: acknowledge first.
    if (needs_thread || matches!(here, Here::OnMessage { .. })) && !*acked {
        here.acknowledge().await?;
        *acked = true;
    }
    let ctx = here.serenity();
    let mut here_msgs = render::outputs(&parts.here, conv);
    let thread = if needs_thread {
        let product = parts
            .thread
            .iter()
            .find_map(|o| match o {
                Output::FieldPrompt(f) => Some(f.product.to_string()),
                _ => None,
            })
            .or_else(|| parts.filed.first().map(|c| c.product.to_string()))
            .unwrap_or_else(|| "support".into());
        let t = ticket_thread(ctx, data, here.channel(), conv, &product, sent).await?;
        here_msgs.push(Message::text(format!(
            "I opened <#{t}> with the support team. Answer a few questions there and a person will take it from here."
        )));
        Some(t)
    } else if here.in_thread() {
        Some(here.channel())
    } else {
        None
    };
    send_here(here, conv, here_msgs, *acked, sent).await?;
    if let Some(t) = thread {
        if needs_thread {
            for (i, m) in render::outputs(&parts.thread, conv).iter().enumerate() {
                sent.post(ctx, data, t, &format!("thread:{i}"), m, None)
                    .await?;
            }
        }
        for card in &parts.filed {
            hand_off(ctx, data, t, conv, card, sent, !held.contains(&card.id)).await?;
        }
    }
    Ok(())
}

/// How far back the startup pass looks for replies never delivered.
const LATE_WITHIN: time::Duration = time::Duration::days(1);

/// How long a process holds a reply it is re-posting before another
/// process may take it (the first one died mid-post).
const REPOST_LEASE: time::Duration = time::Duration::minutes(2);

/// Posts the replies committed but never (or only partly) delivered
/// (Discord failed, or the process stopped, between commit and post),
/// oldest first, where each input was made, from the first part not out.
/// A private answer goes as a private follow-up while its interaction token
/// is valid, and is dropped (with a log line) after: never posted in the
/// channel. Staff actions and conversations outside Discord (the terminal)
/// are left alone. Failures are logged and retried next start.
pub(crate) async fn redeliver(ctx: &serenity::Context, data: &Data) {
    let engine = data.engine();
    let pending = super::blocking(move || engine.undelivered(LATE_WITHIN))
        .await
        .and_then(|r| Ok(r?));
    let pending = match pending {
        Ok(p) => p,
        Err(e) => {
            error!(
                error = format!("{e:#}"),
                "cannot read the undelivered replies"
            );
            return;
        }
    };
    for p in pending {
        // Timer firings are the lifecycle poller's to post (with a nonce).
        if p.id.as_str().starts_with("timer:") {
            continue;
        }
        let Some(conv) = p.key.as_ref().and_then(discord_conv) else {
            continue;
        };
        let channel = p
            .origin
            .as_ref()
            .and_then(|o| o.as_str().parse().ok())
            .unwrap_or(conv.place);
        // Another process runs the shard of this guild: it posts the reply.
        if !super::shards::owns_place(ctx, data, conv.place, ChannelId::new(channel)).await {
            continue;
        }
        // Two processes running the same shard (a restart overlapping the
        // old process) still post each reply once: whoever leases it.
        let engine = data.engine();
        let id = p.id.clone();
        let owner = super::shards::process_id().to_owned();
        let leased = super::blocking(move || engine.claim_reply(&id, &owner, REPOST_LEASE))
            .await
            .and_then(|r| Ok(r?));
        match leased {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                warn!(input = %p.id, error = format!("{e:#}"), "cannot lease a reply to re-post; trying again next start");
                continue;
            }
        }
        match late(ctx, data, conv, ChannelId::new(channel), &p.id, p.outputs).await {
            Ok(()) => {
                info!(input = %p.id, %channel, "posted a reply that was never delivered");
                if let Err(e) = data.delivered(p.id.clone()).await {
                    error!(input = %p.id, error = %e, "marking a late reply delivered failed");
                }
            }
            Err(e) => {
                warn!(input = %p.id, error = %e, "posting a reply that was never delivered failed; trying again next start")
            }
        }
    }
}

async fn late(
    ctx: &serenity::Context,
    data: &Data,
    conv: Conv,
    channel: ChannelId,
    id: &crate::engine::InputId,
    outputs: Vec<Output>,
) -> Result<(), Error> {
    let mut sent = Sent::load(data, id.clone()).await?;
    let private = match sent.via() {
        Some(via) if via.ephemeral => {
            let made = parts::snowflake_time(id.as_str());
            let valid = made.is_some_and(|t| data.engine().now() - t < parts::TOKEN_LIFETIME);
            if !valid {
                info!(input = %id, "dropping the private part of a late reply: its interaction token expired, and it is never posted publicly");
                // Every part for where the user is counts as out.
                for i in 0..render::outputs(&outputs, conv).len() + 2 {
                    sent.record(data, &format!("here:{i}"), None).await?;
                }
            }
            Some(via.token)
        }
        _ => None,
    };
    let in_thread = match ctx.http.get_channel(channel).await? {
        serenity::Channel::Guild(c) => super::commands::is_thread(c.kind),
        _ => false,
    };
    let here = Here::Late {
        ctx,
        data,
        channel,
        in_thread,
        private,
    };
    let mut acked = true;
    render_reply(&here, conv, outputs, &mut acked, &mut sent).await
}

/// The Discord ids of a conversation key; `None` for other front ends'.
fn discord_conv(key: &ConversationKey) -> Option<Conv> {
    Some(Conv {
        place: key.place.as_str().parse().ok()?,
        user: key.user.as_str().parse().ok()?,
    })
}

fn data_of<'a>(here: &Here<'a>) -> &'a Data {
    match here {
        Here::Command { ctx, .. } | Here::OnMessage { ctx, .. } => ctx.data(),
        Here::Click { data, .. } | Here::Channel { data, .. } | Here::Late { data, .. } => data,
    }
}

/// Sends the messages for where the user is, as parts `here:0`, `here:1`…
/// (skipping those out already).
async fn send_here(
    here: &Here<'_>,
    conv: Conv,
    mut msgs: Vec<Message>,
    acked: bool,
    sent: &mut Sent,
) -> Result<(), Error> {
    let data = data_of(here);
    match here {
        Here::Command { ctx, ephemeral, .. } => {
            // Staff diagnosing for a customer: the customer is told, once.
            if !*ephemeral && ctx.author().id.get() != conv.user {
                mention_first(&mut msgs, conv.user, "");
            }
            for (i, m) in msgs.iter().enumerate() {
                let part = format!("here:{i}");
                if sent.is_done(&part) {
                    continue;
                }
                respond(*ctx, m, *ephemeral, acked && i == 0).await?;
                sent.record(data, &part, None).await?;
            }
        }
        Here::OnMessage { ctx, target, .. } => {
            let mut first: Option<serenity::Message> = None;
            for (i, m) in msgs.iter().enumerate() {
                // The customer is pinged by the reply itself, once.
                let reference = (i == 0).then_some((*target, true));
                let posted = sent
                    .post(
                        ctx.serenity_context(),
                        data,
                        target.channel_id,
                        &format!("here:{i}"),
                        m,
                        reference,
                    )
                    .await?;
                if first.is_none() {
                    first = posted;
                }
            }
            let pointer = match first {
                Some(sent) => format!("Answered {} in the channel.", sent.link()),
                None => "Answered in the channel.".to_owned(),
            };
            respond(*ctx, &Message::text(pointer), true, acked).await?;
        }
        Here::Click {
            ctx,
            click,
            ephemeral,
            update,
            ..
        } => {
            let mut answered = acked;
            for (i, m) in msgs.into_iter().enumerate() {
                let part = format!("here:{i}");
                if sent.is_done(&part) {
                    continue;
                }
                if i > 0 && answered {
                    click.create_followup(ctx, m.followup(*ephemeral)).await?;
                } else if acked {
                    click.edit_response(ctx, m.edit()).await?;
                } else if *update && !m.embeds.is_empty() {
                    // A re-rendered checklist replaces the clicked one.
                    click
                        .create_response(
                            ctx,
                            CreateInteractionResponse::UpdateMessage(m.interaction(*ephemeral)),
                        )
                        .await?;
                } else {
                    click
                        .create_response(
                            ctx,
                            CreateInteractionResponse::Message(m.interaction(*ephemeral)),
                        )
                        .await?;
                }
                answered = true;
                sent.record(data, &part, None).await?;
            }
            if !answered {
                click
                    .create_response(ctx, CreateInteractionResponse::Acknowledge)
                    .await?;
            }
        }
        Here::Channel { ctx, msg, .. } => {
            for (i, m) in msgs.iter().enumerate() {
                let reference = (i == 0).then_some((*msg, false));
                sent.post(
                    ctx,
                    data,
                    msg.channel_id,
                    &format!("here:{i}"),
                    m,
                    reference,
                )
                .await?;
            }
        }
        Here::Late {
            ctx,
            channel,
            private: Some(token),
            ..
        } => {
            // A private answer stays private: follow-ups on its interaction.
            for (i, m) in msgs.iter().enumerate() {
                let part = format!("here:{i}");
                if sent.is_done(&part) {
                    continue;
                }
                match serenity::Builder::execute(m.followup(true), ctx, (None, token.as_str()))
                    .await
                {
                    Ok(_) => sent.record(data, &part, None).await?,
                    // Never acknowledged, or gone: Discord will not take it,
                    // and it is never posted publicly instead.
                    Err(e) if is_not_found(&e) => {
                        info!(error = %e, "dropping the private part of a late reply: Discord no longer knows its interaction");
                        sent.record(data, &part, None).await?;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let _ = channel;
        }
        Here::Late {
            ctx,
            channel,
            private: None,
            ..
        } => {
            // Not a reply to anything the customer can see: say whose it is.
            // Parts keep their names when the mention needs a message of
            // its own (`here:lead`).
            let mut named: Vec<(String, Message)> = msgs
                .into_iter()
                .enumerate()
                .map(|(i, m)| (format!("here:{i}"), m))
                .filter(|(part, _)| !sent.is_done(part))
                .collect();
            if !named.is_empty() && !sent.is_done("here:lead") {
                let mut first = vec![named[0].1.clone()];
                mention_first(
                    &mut first,
                    conv.user,
                    "here is my answer from earlier, sorry for the delay.\n",
                );
                if first.len() == 2 {
                    named.insert(0, ("here:lead".to_owned(), first.remove(0)));
                } else {
                    named[0].1 = first.remove(0);
                }
            }
            for (part, m) in &named {
                sent.post(ctx, data, *channel, part, m, None).await?;
            }
        }
    }
    Ok(())
}

fn is_not_found(e: &serenity::Error) -> bool {
    matches!(e, serenity::Error::Http(h) if h.status_code() == Some(serenity::StatusCode::NOT_FOUND))
}

/// Starts the first message with a mention of `user` (and `lead`), the one
/// ping it carries; a message of its own if the first is too long for it.
fn mention_first(msgs: &mut Vec<Message>, user: u64, lead: &str) {
    let mention = format!("<@{user}> {lead}");
    match msgs.first_mut() {
        Some(first) if text::len(&first.content) + text::len(&mention) < text::CONTENT_MAX => {
            first.content = format!("{mention}{}", first.content);
            first.ping_users = vec![user];
        }
        _ => {
            let mut m = Message::text(mention.trim_end());
            m.ping_users = vec![user];
            msgs.insert(0, m);
        }
    }
}

/// Answers a command: the first message after a deferral edits the
/// deferred response ("thinking…"); anything else is a response or a
/// follow-up, as poise decides.
pub(crate) async fn respond(
    ctx: Context<'_>,
    m: &Message,
    ephemeral: bool,
    edit_deferred: bool,
) -> Result<(), Error> {
    match ctx {
        poise::Context::Application(a) if edit_deferred => {
            a.interaction.edit_response(ctx, m.edit()).await?;
        }
        _ => {
            ctx.send(m.reply(ephemeral)).await?;
        }
    }
    Ok(())
}
