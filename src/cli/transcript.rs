//! Transcripts in the terminal: `triage chat` records each line and each
//! reply (as the terminal showed it, without colours), and `triage tickets
//! show --transcript` prints a ticket's messages.

use std::io::Write;

use anyhow::Context;

use super::kb::Style;
use crate::archive::{html::when, NewMessage, Role, TranscriptMessage};
use crate::engine::{ConversationKey, Engine, InputId, Output};
use crate::tickets::{Store, Ticket, UserId};

/// Records a chat line (redacted, as stored) and the reply to it. A
/// failure is reported on stderr; the conversation goes on.
pub(crate) fn record_chat(
    engine: &Engine,
    key: &ConversationKey,
    id: &InputId,
    text: &str,
    outputs: &[Output],
) {
    let Some(archive) = engine.store().archive() else {
        return;
    };
    let mut reply = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = super::chat::render(&mut reply, &Style::plain(), outputs);
    let now = time::OffsetDateTime::now_utc();
    let line = NewMessage {
        id: id.to_string(),
        place: key.place.clone(),
        guild: None,
        conv_user: Some(key.user.clone()),
        author: key.user.clone(),
        author_name: key.user.to_string(),
        role: Role::Customer,
        at: now,
        content: crate::engine::redact::redact(text).text,
        attachments: Vec::new(),
    };
    let answer = NewMessage {
        id: format!("{id}:reply"),
        author: UserId::new("triage"),
        author_name: "triage".into(),
        role: Role::Bot,
        content: String::from_utf8_lossy(&reply).trim_end().to_owned(),
        ..line.clone()
    };
    for m in [line, answer] {
        if m.content.is_empty() {
            continue;
        }
        if let Err(e) = archive.record_message(&m) {
            eprintln!("warning: the transcript could not be saved: {e}");
            return;
        }
    }
}

/// A ticket's transcript from the store.
pub(crate) fn read(store: &dyn Store, t: &Ticket) -> anyhow::Result<Vec<TranscriptMessage>> {
    let archive = store
        .archive()
        .context("this ticket store keeps no transcripts")?;
    archive.transcript(t).context("reading the transcript")
}

/// Prints a transcript for reading.
pub(crate) fn print(
    out: &mut impl Write,
    st: &Style,
    msgs: &[TranscriptMessage],
) -> std::io::Result<()> {
    writeln!(out, "\n{}", st.bold("Transcript"))?;
    if msgs.is_empty() {
        writeln!(out, "  (no messages recorded)")?;
    }
    for m in msgs {
        let mut head = format!("{} {} ({})", when(m.at), m.author_name, m.role.as_str());
        if !m.edits.is_empty() {
            head.push_str(" · edited");
        }
        if let Some(d) = m.deleted_at {
            head.push_str(&format!(" · deleted {}", when(d)));
        }
        writeln!(out, "\n{}", st.dim(&head))?;
        for line in m.content.lines() {
            writeln!(out, "  {line}")?;
        }
        for a in &m.attachments {
            writeln!(out, "  [attachment] {} <{}>", a.name, a.url)?;
        }
        for e in &m.edits {
            writeln!(
                out,
                "  {}",
                st.dim(&format!("before {}: {}", when(e.at), e.previous))
            )?;
        }
    }
    Ok(())
}
