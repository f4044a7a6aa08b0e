//! Escalation in Discord: which outputs belong in the ticket thread, the
//! conversation's thread (found before another is opened, recorded before
//! anything is posted in it), the hand-off of a filed ticket to staff, and
//! finding the ticket a channel belongs to. Delivery itself is `deliver`'s.

use poise::serenity_prelude as serenity;
use serenity::ChannelId;
use tracing::{error, info, instrument, warn};

pub(crate) use super::deliver::{command_in_time, deliver, redeliver, respond, Here};
use super::parts::Sent;
use super::render::{self, Message};
use super::route::Conv;
use super::{text, Context, Data, Error};
use crate::config::Escalation;
use crate::engine::{Output, Place, TicketCard, TicketId};

/// A reply split by destination.
#[derive(Debug, Default)]
pub(super) struct Parts {
    /// Shown where the user is.
    pub(super) here: Vec<Output>,
    /// From the first field prompt on: shown in the ticket thread.
    pub(super) thread: Vec<Output>,
    /// Tickets filed: handed to staff.
    pub(super) filed: Vec<TicketCard>,
}

pub(super) fn split(outputs: Vec<Output>, in_thread: bool) -> Parts {
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

/// The conversation's ticket thread: the one this reply opened already (a
/// resumed reply), else the one opened for the conversation before if it
/// is still usable, else a new one under `parent` (private by default),
/// recorded before anything is posted in it. The customer is added, and
/// greeted once with the one ping they get.
#[instrument(skip(ctx, data, sent))]
pub(super) async fn ticket_thread(
    ctx: &serenity::Context,
    data: &Data,
    parent: ChannelId,
    conv: Conv,
    product: &str,
    sent: &mut Sent,
) -> Result<ChannelId, Error> {
    let customer = serenity::UserId::new(conv.user);
    let mine = sent.detail("thread").and_then(|t| t.parse().ok());
    let thread = match mine {
        Some(t) => ChannelId::new(t),
        None => match earlier_thread(ctx, data, parent, conv).await {
            Some(t) => {
                info!(thread = %t, "the conversation has a ticket thread already; using it");
                sent.record(data, "thread", Some(t.to_string())).await?;
                sent.record(data, "greeting", None).await?;
                t
            }
            None => {
                let t = create_thread(ctx, data, parent, customer, product).await?;
                let engine = data.engine();
                let (key, place) = (conv.key(), Place::new(t.to_string()));
                super::blocking(move || engine.set_conversation_thread(&key, &place)).await??;
                sent.record(data, "thread", Some(t.to_string())).await?;
                info!(thread = %t, "ticket thread opened");
                t
            }
        },
    };
    // Idempotent: adding a member twice changes nothing.
    thread.add_thread_member(ctx, customer).await?;
    let mut hello = Message::text(format!(
        "<@{customer}>, this thread is where the support team will help you. I'll ask a few questions first so they have everything they need."
    ));
    hello.ping_users = vec![customer.get()];
    sent.post(ctx, data, thread, "greeting", &hello, None)
        .await?;
    Ok(thread)
}

/// The thread opened for this conversation before, if it is still there
/// under `parent` and not locked.
async fn earlier_thread(
    ctx: &serenity::Context,
    data: &Data,
    parent: ChannelId,
    conv: Conv,
) -> Option<ChannelId> {
    let engine = data.engine();
    let key = conv.key();
    let known = super::blocking(move || engine.conversation_thread(&key))
        .await
        .ok()?
        .ok()??;
    let id = ChannelId::new(known.as_str().parse().ok()?);
    match ctx.http.get_channel(id).await {
        Ok(serenity::Channel::Guild(c))
            if c.parent_id == Some(parent) && !c.thread_metadata.is_some_and(|m| m.locked) =>
        {
            Some(id)
        }
        Ok(_) => None,
        Err(e) => {
            info!(thread = %id, error = %e, "the conversation's earlier thread is gone");
            None
        }
    }
}

async fn create_thread(
    ctx: &serenity::Context,
    data: &Data,
    parent: ChannelId,
    customer: serenity::UserId,
    product: &str,
) -> Result<ChannelId, Error> {
    let name = text::truncate(
        &format!("{product} · {}", customer_name(ctx, customer)),
        text::THREAD_NAME_MAX,
    );
    // The guild is recorded before the input is applied (`deliver`).
    let escalation = data
        .settings_at(parent.get())
        .await?
        .map(|g| g.escalation)
        .unwrap_or_default();
    let kind = match escalation {
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
/// renamed to start with the ticket number. Both summaries are parts of the
/// reply: a failed one leaves the reply undelivered, to be posted on the
/// next try (the ticket itself is stored already). A failed rename is only
/// logged.
#[instrument(skip(ctx, data, card, sent), fields(ticket = %card.id))]
pub(super) async fn hand_off(
    ctx: &serenity::Context,
    data: &Data,
    thread: ChannelId,
    conv: Conv,
    card: &TicketCard,
    sent: &mut Sent,
    ping: bool,
) -> Result<(), Error> {
    // First, so that `/ticket` works in the thread as soon as staff see it.
    let engine = data.engine();
    let (id, place) = (card.id, Place::new(thread.to_string()));
    super::blocking(move || engine.store().attach_place(id, &place)).await??;
    let Some(settings) = data.settings_at(conv.place).await? else {
        return Err(Error::Internal(anyhow::anyhow!(
            "the guild of place {} is not known or not served",
            conv.place
        )));
    };
    let role = settings.support_role_id.get();
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
    let in_thread = sent
        .post(
            ctx,
            data,
            thread,
            &format!("summary:{}", card.id.0),
            &in_thread,
            None,
        )
        .await;
    if let Err(e) = &in_thread {
        error!(error = %e, "posting the ticket summary in its thread failed");
    }
    let mut for_staff = Message::text(format!(
        "**Ticket {}** from <@{}> · <#{thread}>",
        card.id, conv.user
    ));
    for_staff.embeds.push(summary);
    let staff = ChannelId::new(settings.staff_channel_id.get());
    let for_staff = sent
        .post(
            ctx,
            data,
            staff,
            &format!("staff:{}", card.id.0),
            &for_staff,
            None,
        )
        .await;
    if let Err(e) = &for_staff {
        error!(error = %e, "posting the ticket summary in the staff channel failed");
    }
    in_thread?;
    for_staff?;
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
    Ok(())
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
