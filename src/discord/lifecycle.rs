//! The ticket lifecycle in Discord: lifecycle notes as messages with
//! buttons (`tl:<verb>:<ticket>[:arg]` custom ids, stateless like `route`),
//! support-hours times as Discord timestamps (`<t:UNIX:F>`, shown in each
//! reader's own zone), and the customer's clicks and survey comment modal.

use poise::serenity_prelude as serenity;
use serenity::{ButtonStyle, CreateActionRow, CreateButton};

use super::render::Message;
use crate::engine::{TicketAction, TicketId, TicketNote};

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
