//! Delivering an engine reply: the first part answers where the user is
//! (command, click, message); from the first ticket-field prompt on, the
//! conversation moves to a ticket thread; a filed ticket is handed to staff.
//! A reply is marked delivered once posted; one that never was (a failed
//! post, a restart in between) is posted on redelivery or at startup.

use std::future::Future;
use std::time::Duration;

use poise::serenity_prelude as serenity;
use serenity::{ChannelId, ComponentInteraction, CreateInteractionResponse};
use tracing::{error, info, instrument, warn};

use super::render::{self, Message};
use super::route::Conv;
use super::{text, Context, Data, Error};
use crate::config::Escalation;
use crate::engine::{ConversationKey, Input, Output, Phase, Place, Reply, TicketCard, TicketId};

/// Past this, a handler acknowledges first (Discord's limit is 3 s).
const ACK_AFTER: Duration = Duration::from_millis(1500);

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
    /// interaction tokens expire after 15 minutes.
    Late {
        ctx: &'a serenity::Context,
        data: &'a Data,
        channel: ChannelId,
        in_thread: bool,
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

    fn channel(&self) -> ChannelId {
        match self {
            Here::Command { ctx, .. } | Here::OnMessage { ctx, .. } => ctx.channel_id(),
            Here::Click { click, .. } => click.channel_id,
            Here::Channel { msg, .. } => msg.channel_id,
            Here::Late { channel, .. } => *channel,
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

/// Runs `work`; if it is not done within `ACK_AFTER`, acknowledges the
/// interaction first so Discord does not time it out. Returns whether it
/// acknowledged.
async fn within_deadline<T>(
    here: &Here<'_>,
    work: impl Future<Output = T>,
) -> Result<(T, bool), Error> {
    tokio::pin!(work);
    match tokio::time::timeout(ACK_AFTER, &mut work).await {
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

/// Feeds `input` to the engine, delivers its reply and marks it delivered.
/// A redelivered input (same interaction or message id) whose reply was
/// delivered gets no response at all; one whose reply never was gets it now.
#[instrument(skip_all, fields(conv = %conv, input = %input.id))]
pub(crate) async fn deliver(here: Here<'_>, conv: Conv, mut input: Input) -> Result<(), Error> {
    let data = data_of(&here);
    let id = input.id.clone();
    let made_in = here.channel().get();
    if made_in != conv.place {
        input.origin = Some(Place::new(made_in.to_string()));
    }
    let (reply, acked) = within_deadline(&here, data.handle(input)).await?;
    let reply: Reply = reply?;
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
        if phase == Phase::NoMatch {
            info!("no match in a help channel; staying quiet");
            return data.delivered(id).await;
        }
    }
    render_reply(here, conv, reply.outputs, acked).await?;
    data.delivered(id).await
}

/// Posts a reply: the part for where the user is, the ticket thread (opened
/// if needed) and the hand-off of a filed ticket.
async fn render_reply(
    here: Here<'_>,
    conv: Conv,
    outputs: Vec<Output>,
    mut acked: bool,
) -> Result<(), Error> {
    let data = data_of(&here);
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
    if (needs_thread || matches!(here, Here::OnMessage { .. })) && !acked {
        here.acknowledge().await?;
        acked = true;
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
        let t = open_thread(ctx, data, here.channel(), conv, &product).await?;
        here_msgs.push(Message::text(format!(
            "I opened <#{t}> with the support team. Answer a few questions there and a person will take it from here."
        )));
        Some(t)
    } else if here.in_thread() {
        Some(here.channel())
    } else {
        None
    };
    send_here(&here, conv, here_msgs, acked).await?;
    if let Some(t) = thread {
        if needs_thread {
            post(ctx, t, render::outputs(&parts.thread, conv)).await?;
        }
        for card in &parts.filed {
            hand_off(ctx, data, t, conv, card, !held.contains(&card.id)).await;
        }
    }
    Ok(())
}

/// How far back the startup pass looks for replies never delivered.
const LATE_WITHIN: time::Duration = time::Duration::days(1);

/// Posts the replies committed but never delivered (Discord failed, or the
/// process stopped, between commit and post), oldest first, where each
/// input was made. Staff actions and conversations outside Discord (the
/// terminal) are left alone. Failures are logged and retried next start.
pub(crate) async fn redeliver(ctx: &serenity::Context, data: &Data) {
    let engine = data.engine();
    let pending = match super::blocking(move || engine.undelivered(LATE_WITHIN)).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            error!(
                error = format!("{e:#}"),
                "cannot read the undelivered replies"
            );
            return;
        }
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
        match late(ctx, data, conv, ChannelId::new(channel), p.outputs).await {
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
    outputs: Vec<Output>,
) -> Result<(), Error> {
    let in_thread = match ctx.http.get_channel(channel).await? {
        serenity::Channel::Guild(c) => super::commands::is_thread(c.kind),
        _ => false,
    };
    let here = Here::Late {
        ctx,
        data,
        channel,
        in_thread,
    };
    render_reply(here, conv, outputs, false).await
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

/// A reply split by destination.
#[derive(Debug, Default)]
struct Parts {
    /// Shown where the user is.
    here: Vec<Output>,
    /// From the first field prompt on: shown in the ticket thread.
    thread: Vec<Output>,
    /// Tickets filed: handed to staff.
    filed: Vec<TicketCard>,
}

fn split(outputs: Vec<Output>, in_thread: bool) -> Parts {
    let mut p = Parts::default();
    let (filed, outs): (Vec<Output>, Vec<Output>) = outputs
        .into_iter()
        .partition(|o| matches!(o, Output::TicketFiled(_)));
    p.filed = filed
        .into_iter()
        .filter_map(|o| match o {
            Output::TicketFiled(c) => Some(c),
            _ => None,
        })
        .collect();
    let first_prompt = outs
        .iter()
        .position(|o| matches!(o, Output::FieldPrompt(_)));
    match first_prompt {
        Some(mut i) if !in_thread => {
            // The words introducing the questions go with them.
            while i > 0 && matches!(outs[i - 1], Output::Text { .. } | Output::Notice { .. }) {
                i -= 1;
            }
            let mut outs = outs;
            p.thread = outs.split_off(i);
            p.here = outs;
        }
        _ => p.here = outs,
    }
    p
}

/// Sends the messages for where the user is.
async fn send_here(
    here: &Here<'_>,
    conv: Conv,
    mut msgs: Vec<Message>,
    acked: bool,
) -> Result<(), Error> {
    match here {
        Here::Command { ctx, ephemeral, .. } => {
            // Staff diagnosing for a customer: the customer is told, once.
            if !*ephemeral && ctx.author().id.get() != conv.user {
                mention_first(&mut msgs, conv.user, "");
            }
            for (i, m) in msgs.iter().enumerate() {
                respond(*ctx, m, *ephemeral, acked && i == 0).await?;
            }
        }
        Here::OnMessage { ctx, target, .. } => {
            let mut first: Option<serenity::Message> = None;
            for (i, m) in msgs.iter().enumerate() {
                let mut out = m.channel();
                if i == 0 {
                    out = out
                        .reference_message(*target)
                        .allowed_mentions(m.allowed_mentions().replied_user(true));
                }
                let sent = target.channel_id.send_message(ctx, out).await?;
                first.get_or_insert(sent);
            }
            let pointer = match first {
                Some(sent) => format!("Answered {} in the channel.", sent.link()),
                None => "Nothing to answer.".to_owned(),
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
            let mut msgs = msgs.into_iter();
            let Some(first) = msgs.next() else {
                if !acked {
                    click
                        .create_response(ctx, CreateInteractionResponse::Acknowledge)
                        .await?;
                }
                return Ok(());
            };
            if acked {
                click.edit_response(ctx, first.edit()).await?;
            } else if *update && !first.embeds.is_empty() {
                // A re-rendered checklist replaces the clicked one.
                click
                    .create_response(
                        ctx,
                        CreateInteractionResponse::UpdateMessage(first.interaction(*ephemeral)),
                    )
                    .await?;
            } else {
                click
                    .create_response(
                        ctx,
                        CreateInteractionResponse::Message(first.interaction(*ephemeral)),
                    )
                    .await?;
            }
            for m in msgs {
                click.create_followup(ctx, m.followup(*ephemeral)).await?;
            }
        }
        Here::Channel { ctx, msg, .. } => {
            for (i, m) in msgs.iter().enumerate() {
                let mut out = m.channel();
                if i == 0 {
                    out = out.reference_message(*msg);
                }
                msg.channel_id.send_message(ctx, out).await?;
            }
        }
        Here::Late { ctx, channel, .. } => {
            // Not a reply to anything the customer can see: say whose it is.
            if !msgs.is_empty() {
                mention_first(
                    &mut msgs,
                    conv.user,
                    "here is my answer from earlier, sorry for the delay.\n",
                );
            }
            post(ctx, *channel, msgs).await?;
        }
    }
    Ok(())
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

/// Posts messages in a channel, in order.
pub(crate) async fn post(
    ctx: &serenity::Context,
    channel: ChannelId,
    msgs: Vec<Message>,
) -> Result<(), Error> {
    for m in msgs {
        channel.send_message(ctx, m.channel()).await?;
    }
    Ok(())
}

/// Opens the ticket thread under `parent` (private by default), adds the
/// customer and greets them with the one ping they get.
#[instrument(skip(ctx, data))]
async fn open_thread(
    ctx: &serenity::Context,
    data: &Data,
    parent: ChannelId,
    conv: Conv,
    product: &str,
) -> Result<ChannelId, Error> {
    let customer = serenity::UserId::new(conv.user);
    let name = text::truncate(
        &format!("{product} · {}", customer_name(ctx, customer)),
        text::THREAD_NAME_MAX,
    );
    let kind = match data.config().escalation {
        Escalation::PrivateThread => serenity::ChannelType::PrivateThread,
        Escalation::PublicThread => serenity::ChannelType::PublicThread,
    };
    let thread = parent
        .create_thread(
            ctx,
            serenity::CreateThread::new(name)
                .kind(kind)
                .invitable(false)
                .auto_archive_duration(serenity::AutoArchiveDuration::OneWeek),
        )
        .await
        .map_err(|e| {
            warn!(error = %e, "cannot open a ticket thread");
            Error::user(
                "I could not open a ticket thread here (the bot may lack the Create Private Threads permission in this channel). Please tell the support team.",
            )
        })?;
    thread.id.add_thread_member(ctx, customer).await?;
    let mut hello = Message::text(format!(
        "<@{customer}>, this thread is where the support team will help you. I'll ask a few questions first so they have everything they need."
    ));
    hello.ping_users = vec![customer.get()];
    thread.id.send_message(ctx, hello.channel()).await?;
    info!(thread = %thread.id, "ticket thread opened");
    Ok(thread.id)
}

/// A display name for thread titles: from the cache when it knows the user.
fn customer_name(ctx: &serenity::Context, id: serenity::UserId) -> String {
    ctx.cache
        .user(id)
        .map(|u| u.global_name.clone().unwrap_or_else(|| u.name.clone()))
        .unwrap_or_else(|| "customer".to_owned())
}

/// The hand-off: the summary in the thread with the one ping of the support
/// role, the same summary (no ping) in the staff channel, and the thread
/// renamed to start with the ticket number. Failures are logged: the ticket
/// is already stored and listed by `triage tickets`.
#[instrument(skip(ctx, data, card), fields(ticket = %card.id))]
async fn hand_off(
    ctx: &serenity::Context,
    data: &Data,
    thread: ChannelId,
    conv: Conv,
    card: &TicketCard,
    ping: bool,
) {
    // First, so that `/ticket` works in the thread as soon as staff see it.
    let engine = data.engine();
    let (id, place) = (card.id, Place::new(thread.to_string()));
    match super::blocking(move || engine.store().attach_place(id, &place)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => error!(error = %e, "recording the ticket's thread failed"),
        Err(e) => error!(error = %e, "recording the ticket's thread failed"),
    }
    let role = data.config().support_role_id.get();
    let summary = render::ticket_summary(card, conv.user);
    let mut in_thread = Message::text(format!(
        "<@&{role}> **Ticket {}** is ready for the support team. Claim it here with `/ticket claim`.",
        card.id
    ));
    in_thread.embeds.push(summary.clone());
    in_thread.ping_roles = vec![role];
    if !ping {
        // Outside support hours: the lifecycle poller pings at opening.
        in_thread.content = format!(
            "**Ticket {}** is ready for the support team. Claim it here with `/ticket claim`.",
            card.id
        );
        in_thread.ping_roles.clear();
    }
    if let Err(e) = thread.send_message(ctx, in_thread.channel()).await {
        error!(error = %e, "posting the ticket summary in its thread failed");
    }
    let mut for_staff = Message::text(format!(
        "**Ticket {}** from <@{}> · <#{thread}>",
        card.id, conv.user
    ));
    for_staff.embeds.push(summary);
    let staff = ChannelId::new(data.config().staff_channel_id.get());
    if let Err(e) = staff.send_message(ctx, for_staff.channel()).await {
        error!(error = %e, "posting the ticket summary in the staff channel failed");
    }
    // Threads the bot opened carry the ticket number in their name, for
    // people; `/ticket` finds the ticket by the thread's id. A forum post
    // keeps its title.
    if conv.place != thread.get() {
        let name = text::truncate(
            &format!(
                "{} · {} · {}",
                card.id,
                card.product,
                customer_name(ctx, serenity::UserId::new(conv.user))
            ),
            text::THREAD_NAME_MAX,
        );
        if let Err(e) = thread
            .edit_thread(ctx, serenity::EditThread::new().name(name))
            .await
        {
            warn!(error = %e, "renaming the ticket thread failed");
        }
    }
    info!("ticket handed to staff");
}

/// The ticket a channel belongs to: the one handed off in this thread, or
/// whose conversation happened here (a forum post), by the channel's id;
/// for a thread opened before tickets recorded their thread, the number its
/// name starts with (`#12 · …`).
pub(crate) async fn ticket_of_channel(
    data: &Data,
    channel: ChannelId,
    name: Option<&str>,
) -> Result<Option<TicketId>, Error> {
    let engine = data.engine();
    let place = Place::new(channel.to_string());
    let found = super::blocking(move || engine.store().ticket_at(&place)).await??;
    Ok(found.or_else(|| name.and_then(ticket_number)))
}

fn ticket_number(name: &str) -> Option<TicketId> {
    let digits: String = name
        .strip_prefix('#')?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().map(TicketId)
}

/// Tells the channel (the ticket thread, where the customer is) what a staff
/// action did; public, so the customer sees it.
pub(crate) async fn announce_staff(
    ctx: Context<'_>,
    outputs: &[Output],
    acked: bool,
) -> Result<(), Error> {
    let outs = outputs.to_vec();
    let conv = Conv {
        place: ctx.channel_id().get(),
        user: ctx.author().id.get(),
    };
    for (i, m) in render::outputs(&outs, conv).iter().enumerate() {
        respond(ctx, m, false, acked && i == 0).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{FieldPrompt, TicketStatus};

    fn prompt() -> Output {
        Output::FieldPrompt(FieldPrompt {
            k: 1,
            n: 2,
            product: "c2c".into(),
            field: "app_id".into(),
            label: "App ID".into(),
            question: "?".into(),
            example: "x".into(),
            problem: None,
            previous: None,
        })
    }

    #[test]
    fn field_prompts_move_to_the_thread_unless_already_in_one() {
        let checklist_like = Output::Choices(crate::engine::Choices {
            prompt: "pick".into(),
            options: Vec::new(),
        });
        let outs = vec![
            checklist_like,
            Output::Text {
                text: "Let's get this to support".into(),
            },
            prompt(),
            Output::Text {
                text: "after".into(),
            },
        ];
        let p = split(outs.clone(), false);
        assert_eq!(p.here.len(), 1);
        assert_eq!(p.thread.len(), 3);
        let p = split(outs, true);
        assert_eq!(p.here.len(), 4);
        assert!(p.thread.is_empty());
    }

    #[test]
    fn ticket_numbers_are_read_from_thread_names() {
        assert_eq!(ticket_number("#12 · c2c · alice"), Some(TicketId(12)));
        assert_eq!(ticket_number("c2c · alice"), None);
        assert_eq!(ticket_number("#x"), None);
        let _ = TicketStatus::Open;
    }
}
