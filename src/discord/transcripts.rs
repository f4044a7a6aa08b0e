//! Transcripts from the gateway: every message in a thread (ticket threads
//! and forum posts) is recorded with its author, role, time, text (embeds
//! included, for the bot's own posts) and attachments; edits and deletions
//! as they arrive. Idempotent by message id. Also the close hand-off: the
//! staff channel gets the summary with the standalone HTML transcript.

use std::sync::Arc;

use poise::serenity_prelude as serenity;
use serenity::{ChannelId, Message};
use time::OffsetDateTime;
use tracing::{debug, error, info, warn};

use super::help_channels::thread_of;
use super::{blocking, render, Data};
use crate::archive::{Attachment, NewMessage, Role};
use crate::config::Config;
use crate::engine::{Matching, Output, TicketStatus, TicketUpdate};
use crate::tickets::{Place, Store, UserId};

/// Records a new message: the place's guild always, the message itself
/// when it was posted in a thread. Failures are logged, never fatal: the
/// conversation goes on.
pub(super) async fn on_message(ctx: &serenity::Context, data: &Data, msg: &Message) {
    let Some(guild) = msg.guild_id else { return };
    let in_thread = match thread_of(ctx, guild, msg.channel_id).await {
        Ok(t) => t.is_some(),
        Err(e) => {
            warn!(error = %e, channel = %msg.channel_id, "cannot tell whether a channel is a thread");
            false
        }
    };
    let store = data.slot().core.store;
    let place = Place::new(msg.channel_id.to_string());
    if !in_thread {
        let g = guild.to_string();
        let _ = blocking(move || {
            if let Some(a) = store.archive() {
                if let Err(e) = a.note_place_guild(&place, &g) {
                    error!(error = %e, "recording a channel's guild failed");
                }
            }
        })
        .await;
        return;
    }
    let staff = msg
        .member
        .as_ref()
        .is_some_and(|m| data.has_support_role(Some(guild), &m.roles));
    let role = if msg.author.bot {
        Role::Bot
    } else if staff {
        Role::Staff
    } else {
        Role::Customer
    };
    let m = NewMessage {
        id: msg.id.to_string(),
        place,
        guild: Some(guild.to_string()),
        conv_user: None,
        author: UserId::new(msg.author.id.to_string()),
        author_name: msg
            .author
            .global_name
            .clone()
            .unwrap_or_else(|| msg.author.name.clone()),
        role,
        at: at(msg.timestamp),
        content: text_of(&msg.content, &msg.embeds),
        attachments: attachments(&msg.attachments),
    };
    match blocking(move || store.archive().map(|a| a.record_message(&m))).await {
        Ok(Some(Ok(fresh))) => debug!(message = %msg.id, fresh, "transcript message recorded"),
        Ok(Some(Err(e))) => error!(error = %e, "recording a transcript message failed"),
        _ => {}
    }
}

/// Records an edit of a recorded message (unknown messages are ignored).
pub(super) async fn on_update(data: &Data, ev: &serenity::MessageUpdateEvent) {
    let Some(content) = ev.content.clone() else {
        return;
    };
    let content = text_of(&content, ev.embeds.as_deref().unwrap_or(&[]));
    let when = ev
        .edited_timestamp
        .map(at)
        .unwrap_or_else(OffsetDateTime::now_utc);
    let files = ev.attachments.as_deref().map(attachments);
    let (id, store) = (ev.id.to_string(), data.slot().core.store);
    let r = blocking(move || {
        store
            .archive()
            .map(|a| a.record_edit(&id, when, &content, files.as_deref()))
    })
    .await;
    if let Ok(Some(Err(e))) = r {
        error!(error = %e, "recording a message edit failed");
    }
}

/// Marks a recorded message deleted.
pub(super) async fn on_delete(data: &Data, id: serenity::MessageId) {
    let (id, store) = (id.to_string(), data.slot().core.store);
    let now = data.slot().core.clock.now();
    let r = blocking(move || store.archive().map(|a| a.record_delete(&id, now))).await;
    if let Ok(Some(Err(e))) = r {
        error!(error = %e, "recording a message deletion failed");
    }
}

fn at(t: serenity::Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.unix_timestamp()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The text of a message as a reader sees it: the content, then each
/// embed's title, description and fields.
fn text_of(content: &str, embeds: &[serenity::Embed]) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !content.trim().is_empty() {
        parts.push(content.to_owned());
    }
    for e in embeds {
        let mut lines = Vec::new();
        lines.extend(e.title.clone());
        lines.extend(e.description.clone());
        for f in &e.fields {
            lines.push(format!("{}: {}", f.name, f.value));
        }
        if !lines.is_empty() {
            parts.push(lines.join("\n"));
        }
    }
    parts.join("\n\n")
}

fn attachments(list: &[serenity::Attachment]) -> Vec<Attachment> {
    list.iter()
        .map(|a| Attachment {
            name: a.filename.clone(),
            url: a.url.clone(),
        })
        .collect()
}

/// After a staff action: a close sends the summary and the transcript file
/// to the staff channel.
pub(crate) async fn after_staff_action(
    http: &serenity::Http,
    config: &Config,
    store: Arc<dyn Store>,
    matcher: Arc<dyn Matching>,
    outputs: &[Output],
) {
    for o in outputs {
        if let Output::TicketUpdated(u) = o {
            if u.status == TicketStatus::Closed {
                if let Err(e) = close_summary(http, config, store.clone(), matcher.clone(), u).await
                {
                    error!(ticket = %u.id, error = format!("{e:#}"), "posting the close summary failed");
                }
            }
        }
    }
}

async fn close_summary(
    http: &serenity::Http,
    config: &Config,
    store: Arc<dyn Store>,
    matcher: Arc<dyn Matching>,
    u: &TicketUpdate,
) -> anyhow::Result<()> {
    let id = u.id;
    let read = blocking(move || -> anyhow::Result<_> {
        let t = store
            .ticket(id)?
            .ok_or_else(|| anyhow::anyhow!("ticket {id} vanished"))?;
        let card = crate::engine::ticket_card(matcher.kb(), &t);
        let doc = crate::archive::transcript_document(store.as_ref(), matcher.kb(), id)?;
        let thread = store
            .archive()
            .map(|a| a.places_of(id))
            .transpose()?
            .unwrap_or_default()
            .into_iter()
            .find(|p| p != &t.place && p.as_str().parse::<u64>().is_ok());
        let guild = match store.archive() {
            Some(a) => a.ticket_guild(&t)?,
            None => None,
        };
        Ok((t, card, doc, thread, guild))
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))??;
    let (t, card, doc, thread, guild) = read;
    // The staff channel of the ticket's own guild, never another's.
    let settings = match (&config.guilds, guild.and_then(|g| g.parse::<u64>().ok())) {
        (crate::config::Guilds::One { settings, .. }, _) => Some(settings),
        (_, Some(g)) => config.guild(g),
        (_, None) => None,
    };
    let Some(settings) = settings else {
        anyhow::bail!("ticket {} belongs to no guild served", t.id);
    };
    let customer = t.customer.as_str().parse::<u64>().unwrap_or(0);
    let by = if u.by.as_str().chars().all(|c| c.is_ascii_digit()) {
        format!("<@{}>", u.by)
    } else {
        u.by.to_string()
    };
    let mut text = format!("**Ticket {} closed** by {by}", t.id);
    if let Some(r) = &u.reason {
        text.push_str(&format!(": {r}"));
    }
    if let Some(th) = thread {
        text.push_str(&format!(" · <#{th}>"));
    }
    let mut m = render::Message::text(crate::discord::text::truncate(&text, 2000));
    m.embeds.push(render::ticket_summary(&card, customer));
    let mut create = m.channel();
    if let Some((name, html)) = doc {
        create = create.add_file(serenity::CreateAttachment::bytes(html.into_bytes(), name));
    }
    ChannelId::new(settings.staff_channel_id.get())
        .send_message(http, create)
        .await?;
    info!(ticket = %t.id, "close summary with transcript sent to staff");
    Ok(())
}
