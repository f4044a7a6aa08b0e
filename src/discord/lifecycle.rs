//! The ticket lifecycle in Discord: lifecycle notes as messages with
//! buttons (`tl:<verb>:<ticket>[:arg]` custom ids, stateless like `route`),
//! support-hours times as Discord timestamps (`<t:UNIX:F>`, shown in each
//! reader's own zone), and the customer's clicks and survey comment modal.

use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude as serenity;
use serenity::{
    ButtonStyle, ChannelId, ComponentInteraction, CreateActionRow, CreateButton, CreateInputText,
    CreateInteractionResponse, CreateModal, InputTextStyle, ModalInteraction,
};
use tokio::sync::Semaphore;
use tracing::{error, info, instrument, warn};

use super::render::Message;
use super::route::Conv;
use super::{blocking, Context, Data, Error};
use crate::engine::{
    Fired, InputId, NoteKind, Output, Place, Reply, TicketAction, TicketId, TicketInput,
    TicketNote, UserId,
};

/// How often the poller looks for due timers.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// How far back the first pass looks for firings never posted.
const UNPOSTED_WITHIN: time::Duration = time::Duration::days(7);

/// Every lifecycle custom id starts with this.
const PREFIX: &str = "tl";

/// The custom id of a lifecycle button.
pub(crate) fn encode(ticket: TicketId, action: &TicketAction) -> Option<String> {
    let t = ticket.0;
    Some(match action {
        TicketAction::AcceptClose => format!("{PREFIX}:close:{t}"),
        TicketAction::KeepOpen => format!("{PREFIX}:keep:{t}"),
        TicketAction::Rate { stars } => format!("{PREFIX}:rate:{t}:{stars}"),
        TicketAction::Comment { .. } => format!("{PREFIX}:comment:{t}"),
        _ => return None,
    })
}

/// Reads a lifecycle custom id.
pub(crate) fn decode(id: &str) -> Option<(TicketId, TicketAction)> {
    let mut it = id.split(':');
    if it.next()? != PREFIX {
        return None;
    }
    let verb = it.next()?;
    let ticket = TicketId(it.next()?.parse().ok()?);
    let action = match verb {
        "close" => TicketAction::AcceptClose,
        "keep" => TicketAction::KeepOpen,
        "rate" => TicketAction::Rate {
            stars: it.next()?.parse().ok()?,
        },
        "comment" => TicketAction::Comment {
            text: String::new(),
        },
        _ => return None,
    };
    Some((ticket, action))
}

/// A lifecycle note as a message: the customer (and, when `role` is given,
/// the support role) mentioned when the note says so, times as Discord
/// timestamps, options as buttons.
pub(crate) fn note_message(n: &TicketNote, role: Option<u64>) -> Message {
    let mut text = n.render_when(|w| format!("<t:{}:F>", w.unix_timestamp()));
    let mut m = Message::default();
    if n.ping_staff {
        if let Some(r) = role {
            text = format!("<@&{r}> {text}");
            m.ping_roles = vec![r];
        }
    }
    if n.ping_customer {
        if let Ok(u) = n.key.user.as_str().parse::<u64>() {
            text = format!("<@{u}> {text}");
            m.ping_users = vec![u];
        }
    }
    m.content = text;
    let buttons: Vec<CreateButton> = n
        .options
        .iter()
        .filter_map(|o| {
            let id = encode(n.ticket, &o.action)?;
            let style = match o.action {
                TicketAction::AcceptClose => ButtonStyle::Danger,
                TicketAction::Rate { .. } | TicketAction::KeepOpen => ButtonStyle::Primary,
                _ => ButtonStyle::Secondary,
            };
            Some(CreateButton::new(id).label(o.label.clone()).style(style))
        })
        .collect();
    if !buttons.is_empty() {
        m.components.push(CreateActionRow::Buttons(buttons));
    }
    m
}

/// A button of a lifecycle note was clicked. `false`: not a lifecycle
/// button (the caller routes it).
#[instrument(skip_all, fields(interaction = %click.id, custom_id = %click.data.custom_id))]
pub(super) async fn on_click(
    ctx: &serenity::Context,
    data: &Data,
    click: &ComponentInteraction,
) -> Result<bool, Error> {
    let Some((ticket, action)) = decode(&click.data.custom_id) else {
        return Ok(false);
    };
    // custom_ids are stateless: a button naming another guild's ticket
    // changes nothing, whoever presses it.
    if !data.ticket_in_guild(ticket, click.guild_id).await? {
        let m = Message::text(super::commands::not_here(ticket).to_string());
        click
            .create_response(ctx, CreateInteractionResponse::Message(m.interaction(true)))
            .await?;
        return Ok(true);
    }
    if let TicketAction::Comment { .. } = action {
        let modal = CreateModal::new(
            format!("{PREFIX}:commentm:{}", ticket.0),
            format!("Comment on ticket {ticket}"),
        )
        .components(vec![CreateActionRow::InputText(
            CreateInputText::new(InputTextStyle::Paragraph, "Your comment", "comment")
                .max_length(crate::engine::lifecycle::COMMENT_LIMIT as u16)
                .required(true),
        )]);
        click
            .create_response(ctx, CreateInteractionResponse::Modal(modal))
            .await?;
        return Ok(true);
    }
    let input = TicketInput {
        id: InputId::new(format!("{PREFIX}:{}", click.id)),
        ticket,
        author: UserId::new(click.user.id.to_string()),
        staff: data.is_staff(click.guild_id, click.member.as_ref()),
        action,
        reason: None,
    };
    let reply = apply(data, input.clone()).await?;
    answer(ctx, data, Answer::Click(click), &reply, &input.id).await?;
    Ok(true)
}

/// The survey comment modal was submitted. `false`: not ours.
#[instrument(skip_all, fields(interaction = %modal.id, custom_id = %modal.data.custom_id))]
pub(super) async fn on_modal(
    ctx: &serenity::Context,
    data: &Data,
    modal: &ModalInteraction,
) -> Result<bool, Error> {
    let Some(ticket) = modal
        .data
        .custom_id
        .strip_prefix(&format!("{PREFIX}:commentm:"))
        .and_then(|t| t.parse().ok())
        .map(TicketId)
    else {
        return Ok(false);
    };
    if !data.ticket_in_guild(ticket, modal.guild_id).await? {
        let m = Message::text(super::commands::not_here(ticket).to_string());
        modal
            .create_response(ctx, CreateInteractionResponse::Message(m.interaction(true)))
            .await?;
        return Ok(true);
    }
    let text = modal
        .data
        .components
        .iter()
        .flat_map(|row| &row.components)
        .find_map(|c| match c {
            serenity::ActionRowComponent::InputText(t) if t.custom_id == "comment" => {
                t.value.clone()
            }
            _ => None,
        })
        .unwrap_or_default();
    let input = TicketInput {
        id: InputId::new(format!("{PREFIX}:{}", modal.id)),
        ticket,
        author: UserId::new(modal.user.id.to_string()),
        staff: data.is_staff(modal.guild_id, modal.member.as_ref()),
        action: TicketAction::Comment { text },
        reason: None,
    };
    let reply = apply(data, input.clone()).await?;
    answer(ctx, data, Answer::Modal(modal), &reply, &input.id).await?;
    Ok(true)
}

/// A message in a ticket's thread: the customer's restarts the stale
/// clock; the first from staff is the first response.
pub(super) async fn on_message(data: &Data, msg: &serenity::Message) -> Result<(), Error> {
    if msg.author.bot || msg.webhook_id.is_some() {
        return Ok(());
    }
    let engine = data.engine();
    let place = Place::new(msg.channel_id.to_string());
    let Some(ticket) = blocking(move || engine.store().ticket_at(&place)).await?? else {
        return Ok(());
    };
    let staff = msg
        .member
        .as_ref()
        .is_some_and(|m| data.has_support_role(msg.guild_id, &m.roles));
    let input = TicketInput {
        id: InputId::new(format!("act:{}", msg.id)),
        ticket,
        author: UserId::new(msg.author.id.to_string()),
        staff,
        action: TicketAction::Message,
        reason: None,
    };
    let id = input.id.clone();
    apply(data, input).await?;
    data.delivered(id).await
}

async fn apply(data: &Data, input: TicketInput) -> Result<Reply, Error> {
    let engine = data.engine();
    Ok(blocking(move || engine.ticket_input(&input)).await??)
}

enum Answer<'a> {
    Click(&'a ComponentInteraction),
    Modal(&'a ModalInteraction),
    Command(Context<'a>),
}

/// Answers an interaction with the engine's reply: a refusal (notices
/// only) privately, anything else in the channel for the customer to see.
async fn answer(
    ctx: &serenity::Context,
    data: &Data,
    to: Answer<'_>,
    reply: &Reply,
    id: &InputId,
) -> Result<(), Error> {
    let private = reply
        .outputs
        .iter()
        .all(|o| matches!(o, Output::Notice { .. } | Output::Text { .. }))
        || matches!(to, Answer::Modal(_));
    let conv = conv_of(&reply.outputs).unwrap_or(Conv { place: 0, user: 0 });
    let mut msgs = super::render::outputs(&reply.outputs, conv);
    if msgs.is_empty() {
        msgs.push(Message::text("Done."));
    }
    for (i, m) in msgs.iter().enumerate() {
        match &to {
            Answer::Click(c) if i == 0 => {
                c.create_response(
                    ctx,
                    CreateInteractionResponse::Message(m.interaction(private)),
                )
                .await?
            }
            Answer::Modal(c) if i == 0 => {
                c.create_response(
                    ctx,
                    CreateInteractionResponse::Message(m.interaction(private)),
                )
                .await?
            }
            Answer::Command(c) => super::escalation::respond(*c, m, private, false).await?,
            Answer::Click(c) => {
                c.channel_id.send_message(ctx, m.channel()).await?;
            }
            Answer::Modal(c) => {
                c.channel_id.send_message(ctx, m.channel()).await?;
            }
        }
    }
    data.delivered(id.clone()).await
}

fn conv_of(outs: &[Output]) -> Option<Conv> {
    outs.iter().find_map(|o| {
        let key = match o {
            Output::Ticket(n) => &n.key,
            Output::TicketUpdated(u) => &u.key,
            _ => return None,
        };
        Some(Conv {
            place: key.place.as_str().parse().ok()?,
            user: key.user.as_str().parse().ok()?,
        })
    })
}

/// `/ticket close-request` and `/ticket hold`: a staff lifecycle action in
/// the ticket's thread (or on the numbered ticket).
pub(super) async fn staff_command(
    ctx: Context<'_>,
    ticket: Option<i64>,
    action: TicketAction,
    reason: Option<String>,
) -> Result<(), Error> {
    let data = ctx.data();
    let channel_name = match ctx {
        poise::Context::Application(a) => {
            a.interaction.channel.as_ref().and_then(|c| c.name.clone())
        }
        poise::Context::Prefix(_) => None,
    };
    let ticket = match ticket {
        Some(n) => TicketId(n),
        None => super::escalation::ticket_of_channel(data, ctx.channel_id(), channel_name.as_deref())
            .await?
            .ok_or_else(|| {
                Error::user("This is not a ticket thread: run it in the ticket's thread, or give the ticket number.")
            })?,
    };
    if !data.ticket_in_guild(ticket, ctx.guild_id()).await? {
        return Err(super::commands::not_here(ticket));
    }
    let input = TicketInput {
        id: InputId::new(format!("{PREFIX}:{}", ctx.id())),
        ticket,
        author: UserId::new(ctx.author().id.to_string()),
        staff: true,
        action,
        reason,
    };
    let reply = apply(data, input.clone()).await?;
    answer(
        ctx.serenity_context(),
        data,
        Answer::Command(ctx),
        &reply,
        &input.id,
    )
    .await
}

/// Fires due timers every second until shutdown closes `in_flight`, and
/// posts what they say; first, the firings a previous run committed but
/// never marked posted. Each pass holds one in-flight permit, so shutdown
/// waits for a post in progress.
pub(super) async fn poll(ctx: serenity::Context, data: Arc<Data>, in_flight: Arc<Semaphore>) {
    let poller = format!(
        "discord:{}:{}",
        std::process::id(),
        ctx.cache.current_user().id
    );
    let mut first = true;
    loop {
        let Ok(permit) = in_flight.acquire().await else {
            return;
        };
        let engine = data.engine();
        let p = poller.clone();
        let catch_up = first;
        let fired = blocking(move || -> Result<Vec<Fired>, crate::engine::EngineError> {
            let mut f = if catch_up {
                engine.unposted(UNPOSTED_WITHIN)?
            } else {
                Vec::new()
            };
            f.extend(engine.fire_due(&p, 50)?);
            Ok(f)
        })
        .await;
        match fired {
            Ok(Ok(list)) => {
                first = false;
                for f in list {
                    post_fired(&ctx, &data, f).await;
                }
            }
            Ok(Err(e)) => error!(error = format!("{e:#}"), "firing timers failed"),
            Err(e) => error!(error = format!("{e:#}"), "firing timers failed"),
        }
        drop(permit);
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Posts one timer's messages in the ticket's thread, each with a nonce
/// derived from the firing (`timer:<id>:<n>`) and `enforce_nonce`: a
/// repost after a crash between posting and marking returns the message
/// Discord already has instead of a second one. Then marks it posted.
async fn post_fired(ctx: &serenity::Context, data: &Data, f: Fired) {
    let Ok(channel) = f.place.as_str().parse::<u64>().map(ChannelId::new) else {
        warn!(input = %f.id, place = %f.place, "a timer's ticket is not in Discord; left for its front end");
        return;
    };
    let conv = Conv {
        place: f.key.place.as_str().parse().unwrap_or(channel.get()),
        user: f.key.user.as_str().parse().unwrap_or(0),
    };
    // The support role of the ticket's own guild.
    let role = match data.settings_at(conv.place).await {
        Ok(g) => g.map(|g| g.support_role_id.get()),
        Err(e) => {
            warn!(input = %f.id, error = %e, "cannot read a timer's guild; trying again at the next start");
            return;
        }
    };
    let mut msgs = Vec::new();
    for o in &f.outputs {
        match o {
            Output::Ticket(n) => msgs.push(note_message(n, role)),
            other => msgs.extend(super::render::outputs(std::slice::from_ref(other), conv)),
        }
    }
    for (k, m) in msgs.iter().enumerate() {
        let nonce = format!("{}:{k}", f.id);
        let create = m
            .channel()
            .nonce(serenity::Nonce::String(nonce))
            .enforce_nonce(true);
        if let Err(e) = channel.send_message(ctx, create).await {
            warn!(input = %f.id, error = %e, "posting a timer's message failed; trying again at the next start");
            return;
        }
    }
    if std::env::var("TRIAGE_FAULT").as_deref() == Ok("kill_after_timer_post") {
        crash_now();
    }
    info!(input = %f.id, %channel, repeat = f.repeat, "timer posted");
    if let Err(e) = data.delivered(f.id.clone()).await {
        error!(input = %f.id, error = %e, "marking a timer posted failed");
    }
}

/// Fault injection for the restart tests: dies like `kill -9` would,
/// between posting and marking posted.
fn crash_now() {
    #[cfg(unix)]
    {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &std::process::id().to_string()])
            .status();
    }
    std::process::abort();
}

/// Whether a reply holds back the staff ping of `ticket` until opening.
pub(super) fn held(outs: &[Output], ticket: TicketId) -> bool {
    outs.iter().any(|o| {
        matches!(o, Output::Ticket(n) if n.kind == NoteKind::StaffPingHeld && n.ticket == ticket)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_round_trip() {
        for a in [
            TicketAction::AcceptClose,
            TicketAction::KeepOpen,
            TicketAction::Rate { stars: 4 },
        ] {
            let id = encode(TicketId(12), &a).unwrap();
            assert_eq!(decode(&id), Some((TicketId(12), a)));
        }
        assert_eq!(decode("t:solved:1.2"), None);
        assert_eq!(decode("tl:rate:x:4"), None);
    }
}
