//! The ticket lifecycle in a terminal: lifecycle notes rendered as text with
//! their buttons as words (`close`, `keep open`, `rate 4`, `comment ...`),
//! reading those words back as `TicketAction`s, and running due timers.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;

use super::kb::Style;
use crate::engine::{
    Clock, Engine, Fired, ManualClock, Output, SystemClock, TicketAction, TicketNote,
};

/// The clock: the system's, or the instant in `TRIAGE_NOW` (RFC 3339),
/// standing still, so tests and replays set the time a process sees (a
/// timer due during a downtime) instead of waiting for it.
pub(crate) fn clock() -> anyhow::Result<Arc<dyn Clock>> {
    match std::env::var("TRIAGE_NOW") {
        Ok(v) if !v.trim().is_empty() => {
            let at = time::OffsetDateTime::parse(
                v.trim(),
                &time::format_description::well_known::Rfc3339,
            )
            .with_context(|| format!("TRIAGE_NOW: '{v}' is not an RFC 3339 time"))?;
            Ok(Arc::new(ManualClock::new(at)))
        }
        _ => Ok(Arc::new(SystemClock)),
    }
}

/// Prints a lifecycle note; its buttons become the words to type.
pub(crate) fn note(out: &mut impl Write, st: &Style, n: &TicketNote) -> std::io::Result<()> {
    let text = n.render_when(|w| {
        n.when_text.clone().unwrap_or_else(|| {
            w.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        })
    });
    writeln!(out, "{}", st.bold(&text))?;
    if n.options.is_empty() {
        return Ok(());
    }
    let words: Vec<String> = n.options.iter().map(|o| word(&o.action)).collect();
    writeln!(out, "  type: {}", words.join(" · "))
}

/// The word a terminal user types for a button.
fn word(a: &TicketAction) -> String {
    match a {
        TicketAction::AcceptClose => "close".into(),
        TicketAction::KeepOpen => "keep open".into(),
        TicketAction::Rate { stars } => format!("rate {stars}"),
        TicketAction::Comment { .. } => "comment <your words>".into(),
        TicketAction::Hold { on: true } => "hold".into(),
        TicketAction::Hold { on: false } => "unhold".into(),
        TicketAction::RequestClose => "close-request".into(),
        TicketAction::Message => String::new(),
    }
}

/// Reads a typed line as a customer's answer to a lifecycle note: `close`,
/// `keep open`, `rate N`, `comment TEXT`. `None` for anything else.
pub(crate) fn customer_words(line: &str) -> Option<TicketAction> {
    let t = line.trim();
    let lower = t.to_lowercase();
    match lower.as_str() {
        "close" | "close it" => return Some(TicketAction::AcceptClose),
        "keep open" | "keep it open" | "keep" => return Some(TicketAction::KeepOpen),
        _ => {}
    }
    if let Some(n) = lower.strip_prefix("rate ") {
        return n
            .trim()
            .parse()
            .ok()
            .map(|stars| TicketAction::Rate { stars });
    }
    if lower.starts_with("comment ") {
        return Some(TicketAction::Comment {
            text: t["comment ".len()..].trim().to_owned(),
        });
    }
    None
}

/// Fires the due timers and prints what they say for `user`'s tickets
/// (everything, when `user` is `None`), marking each posted.
pub(crate) fn run_timers(
    engine: &Engine,
    out: &mut impl Write,
    st: &Style,
    user: Option<&str>,
) -> anyhow::Result<usize> {
    let poller = format!("terminal:{}", std::process::id());
    let mut fired: Vec<Fired> = engine.unposted(time::Duration::days(30))?;
    fired.extend(engine.fire_due(&poller, 100)?);
    let mut n = 0;
    for f in fired {
        if user.is_some_and(|u| u != f.key.user.as_str()) && !staff_only(&f.outputs) {
            // Another terminal user's ticket: theirs to see.
            continue;
        }
        super::chat::render(out, st, &f.outputs)?;
        engine.mark_delivered(&f.id)?;
        n += 1;
    }
    Ok(n)
}

fn staff_only(outs: &[Output]) -> bool {
    outs.iter()
        .all(|o| matches!(o, Output::Ticket(n) if n.ping_staff))
}

/// One typed line, seen from the user's newest ticket in the terminal: the
/// words of a pending close request or survey are answered here (`true`:
/// the line is used up); any other line counts as the customer's message on
/// their open ticket and goes on to the conversation (`false`).
pub(crate) fn customer_turn(
    engine: &Engine,
    out: &mut impl Write,
    st: &Style,
    user: &str,
    place: &str,
    text: &str,
) -> anyhow::Result<bool> {
    use crate::engine::{TicketInput, TicketStatus, UserId};
    let store = engine.store();
    let tickets = store.tickets(None)?;
    let Some(t) = tickets
        .iter()
        .find(|t| t.customer.as_str() == user && t.place.as_str() == place)
    else {
        return Ok(false);
    };
    let action = customer_words(text).filter(|a| match a {
        TicketAction::AcceptClose | TicketAction::KeepOpen => store
            .lifecycles()
            .map(|ls| {
                ls.iter()
                    .any(|l| l.ticket == t.id && l.close_request.is_some())
            })
            .unwrap_or(false),
        _ => store
            .surveys()
            .map(|ss| ss.iter().any(|s| s.ticket == t.id))
            .unwrap_or(false),
    });
    let (action, used) = match action {
        Some(a) => (a, true),
        None if t.status != TicketStatus::Closed => (TicketAction::Message, false),
        None => return Ok(false),
    };
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let input = TicketInput {
        id: format!("{place}:{user}:ticket:{}:{nonce}", std::process::id())
            .as_str()
            .into(),
        ticket: t.id,
        author: UserId::new(user),
        staff: false,
        action,
        reason: None,
    };
    let reply = engine.ticket_input(&input)?;
    super::chat::render(out, st, &reply.outputs)?;
    engine.mark_delivered(&input.id)?;
    Ok(used)
}

fn policy(config: Option<&std::path::Path>) -> anyhow::Result<crate::engine::Policy> {
    Ok(match config {
        Some(p) => crate::config::Config::load(p)?.policy,
        None => crate::engine::Policy::default(),
    })
}

/// `triage tickets close-request | hold | unhold`: a staff lifecycle action
/// from the terminal. Exit 1 when it changed nothing (a notice).
pub(crate) fn staff_ticket(
    out: &mut impl Write,
    st: &Style,
    store: Arc<dyn crate::tickets::Store>,
    config: Option<&std::path::Path>,
    (ticket, by): (crate::engine::TicketId, String),
    action: TicketAction,
    reason: Option<String>,
) -> anyhow::Result<std::process::ExitCode> {
    let clock = clock()?;
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let input = crate::engine::TicketInput {
        id: format!("cli:{}:{ticket}:{by}:{nonce}", std::process::id())
            .as_str()
            .into(),
        ticket,
        author: crate::engine::UserId::new(by),
        staff: true,
        action,
        reason,
    };
    let reply =
        crate::engine::ticket_action(store.as_ref(), clock.as_ref(), &policy(config)?, &input)?;
    super::chat::render(out, st, &reply.outputs)?;
    crate::tickets::Store::mark_delivered(store.as_ref(), &input.id, clock.now())?;
    let refused = reply
        .outputs
        .iter()
        .all(|o| matches!(o, Output::Notice { .. }));
    Ok(if refused {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    })
}

/// `triage tickets timers`: fires what is due and prints it.
pub(crate) fn timers(
    out: &mut impl Write,
    st: &Style,
    store: Arc<dyn crate::tickets::Store>,
    config: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let clock = clock()?;
    let poller = format!("cli:{}", std::process::id());
    let mut fired =
        crate::engine::unposted(store.as_ref(), clock.as_ref(), time::Duration::days(30))?;
    fired.extend(crate::engine::fire_due(
        store.as_ref(),
        clock.as_ref(),
        &policy(config)?,
        &poller,
        1000,
    )?);
    if fired.is_empty() {
        writeln!(out, "No timers due.")?;
    }
    for f in fired {
        writeln!(
            out,
            "{} ({})",
            st.dim(&format!("{} · {}", f.id, f.key)),
            f.place
        )?;
        super::chat::render(out, st, &f.outputs)?;
        crate::tickets::Store::mark_delivered(store.as_ref(), &f.id, clock.now())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_read_as_the_buttons() {
        assert_eq!(customer_words("Close"), Some(TicketAction::AcceptClose));
        assert_eq!(customer_words("keep open"), Some(TicketAction::KeepOpen));
        assert_eq!(
            customer_words("rate 4"),
            Some(TicketAction::Rate { stars: 4 })
        );
        assert_eq!(
            customer_words("comment Quick and Kind"),
            Some(TicketAction::Comment {
                text: "Quick and Kind".into()
            })
        );
        assert_eq!(customer_words("my widget is broken"), None);
        assert_eq!(customer_words("rate x"), None);
    }
}
