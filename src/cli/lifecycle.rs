//! The ticket lifecycle in a terminal: lifecycle notes rendered as text with
//! their buttons as words (`close`, `keep open`, `rate 4`, `comment ...`),
//! reading those words back as `TicketAction`s, and running due timers.

use std::io::Write;

use super::kb::Style;
use crate::engine::{Engine, Fired, Output, TicketAction, TicketNote};

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
        return n.trim().parse().ok().map(|stars| TicketAction::Rate { stars });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_read_as_the_buttons() {
        assert_eq!(customer_words("Close"), Some(TicketAction::AcceptClose));
        assert_eq!(customer_words("keep open"), Some(TicketAction::KeepOpen));
        assert_eq!(customer_words("rate 4"), Some(TicketAction::Rate { stars: 4 }));
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
