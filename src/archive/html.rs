//! A ticket's transcript as one standalone HTML file: inline styles, no
//! scripts, no external resources, so it opens offline in any browser.
//! Every piece of user text goes through maud's escaping, and a
//! Content-Security-Policy forbids scripts even if something slipped by.

use maud::{html, Markup, PreEscaped, DOCTYPE};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Attachment, EventRecord, Role, TranscriptMessage};
use crate::tickets::Ticket;

/// The stylesheet shared by the file and the dashboard's transcript.
pub const STYLE: &str = "
.transcript{list-style:none;padding:0;margin:0}
.msg{border-left:4px solid #999;padding:.4em .8em;margin:.5em 0;background:#fafafa}
.msg.customer{border-color:#1f6feb}.msg.staff{border-color:#2b8a3e}.msg.bot{border-color:#888}
.msg.deleted{opacity:.6}
.msg .who{font-weight:600}.msg .role{font-size:.8em;color:#555;margin-left:.4em}
.msg time{font-size:.8em;color:#555;margin-left:.4em}
.msg .body{white-space:pre-wrap;word-wrap:break-word;margin:.3em 0}
.msg .edits{font-size:.85em;color:#555}.msg .edits .body{margin:.1em 0}
";

/// Formats a time for people: RFC 3339 in UTC.
pub fn when(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Only web links become links; anything else (a `javascript:` URL in a
/// forged attachment) is shown as text.
pub fn is_web_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// One attachment: a link when its URL is a web URL.
pub fn attachment(a: &Attachment) -> Markup {
    html! {
        @if is_web_url(&a.url) {
            a href=(a.url) rel="noopener noreferrer" { (a.name) }
        } @else {
            span { (a.name) " (" (a.url) ")" }
        }
    }
}

/// The transcript's messages as a list (used by the file and the dashboard).
pub fn messages(msgs: &[TranscriptMessage]) -> Markup {
    html! {
        @if msgs.is_empty() {
            p { "No messages were recorded for this ticket." }
        }
        ol.transcript {
            @for m in msgs {
                li.msg.(m.role.as_str()).deleted[m.deleted_at.is_some()] id=(format!("m{}", m.id)) {
                    span.who { (m.author_name) }
                    span.role { (role_label(m.role)) }
                    time datetime=(when(m.at)) { (when(m.at)) }
                    @if let Some(d) = m.deleted_at {
                        span.role { "deleted " (when(d)) }
                    }
                    @if !m.edits.is_empty() {
                        span.role { "edited" }
                    }
                    div.body { (m.content) }
                    @if !m.attachments.is_empty() {
                        ul.attachments {
                            @for a in &m.attachments { li { (attachment(a)) } }
                        }
                    }
                    @if !m.edits.is_empty() {
                        details.edits {
                            summary { "Earlier versions (" (m.edits.len()) ")" }
                            @for e in &m.edits {
                                div { "before " (when(e.at)) ":" }
                                div.body { (e.previous) }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub fn role_label(r: Role) -> &'static str {
    match r {
        Role::Customer => "customer",
        Role::Staff => "staff",
        Role::Bot => "bot",
    }
}

/// The whole file: the ticket's fields, its transcript and its timeline.
pub fn document(
    ticket: &Ticket,
    product_name: &str,
    entry_title: Option<&str>,
    msgs: &[TranscriptMessage],
    events: &[EventRecord],
) -> String {
    let title = format!("Ticket {} transcript", ticket.id);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'none'";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) "body{font-family:system-ui,sans-serif;max-width:50em;margin:1em auto;padding:0 1em}dt{font-weight:600}" }
            }
            body {
                h1 { (title) }
                dl {
                    dt { "Product" } dd { (product_name) }
                    dt { "Status" } dd { (ticket.status) }
                    @if let Some(e) = &ticket.entry {
                        dt { "Matched entry" } dd { (entry_title.unwrap_or(e.as_str())) " (" (e) ")" }
                    }
                    @if let Some(q) = &ticket.question {
                        dt { "Question" } dd { (q) }
                    }
                    dt { "Customer" } dd { (ticket.customer) }
                    @if let Some(c) = &ticket.claimed_by {
                        dt { "Claimed by" } dd { (c) }
                    }
                    @if let Some(r) = &ticket.close_reason {
                        dt { "Close reason" } dd { (r) }
                    }
                    dt { "Opened" } dd { (when(ticket.created_at)) }
                    @for f in &ticket.fields {
                        dt { (f.label) } dd { (f.value) }
                    }
                }
                h2 { "Transcript" }
                (messages(msgs))
                h2 { "Timeline" }
                ul {
                    @for e in events {
                        li { (when(e.at)) " · " (e.kind) " · " (e.author) }
                    }
                }
            }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::{Place, TicketId, TicketStatus, UserId};

    fn ticket() -> Ticket {
        Ticket {
            id: TicketId(7),
            product: "convot".into(),
            entry: None,
            status: TicketStatus::Closed,
            question: Some("<script>alert(1)</script>".into()),
            tried: vec![],
            fields: vec![],
            place: Place::new("1"),
            customer: UserId::new("2"),
            opened_by: UserId::new("2"),
            claimed_by: None,
            close_reason: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn user_text_and_urls_are_escaped() {
        let m = TranscriptMessage {
            id: "9".into(),
            place: Place::new("1"),
            author: UserId::new("2"),
            author_name: "<b>eve</b>".into(),
            role: Role::Customer,
            at: OffsetDateTime::UNIX_EPOCH,
            content: "<img src=x onerror=alert(1)> [x](javascript:alert(1))".into(),
            attachments: vec![Attachment {
                name: "a\"><script>".into(),
                url: "javascript:alert(1)".into(),
            }],
            edits: vec![],
            deleted_at: None,
        };
        let doc = document(&ticket(), "Convot", None, &[m], &[]);
        assert!(!doc.contains("<script>alert"), "{doc}");
        assert!(!doc.contains("<img src=x"), "{doc}");
        assert!(!doc.contains("<b>eve"), "{doc}");
        assert!(!doc.contains("href=\"javascript"), "{doc}");
        assert!(doc.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(doc.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(doc.contains("default-src 'none'"));
    }
}
