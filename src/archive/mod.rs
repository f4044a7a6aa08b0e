//! The ticket archive: what staff read after the fact. Transcripts (every
//! message in a ticket's thread or terminal conversation, with edits and
//! deletions, idempotent by message id), the guild each place belongs to,
//! ticket search over fields and transcript text, a ticket's event
//! timeline, and the dashboard's one-time logins and sessions. `Archive`
//! is the interface; both stores implement it (SQLite here in `sqlite.rs`,
//! PostgreSQL in `tickets/postgres/archive.rs`), and `html` renders a
//! standalone transcript file.

pub mod html;
mod sqlite;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::kb::ProductId;
use crate::tickets::{Place, StoreError, Ticket, TicketId, TicketStatus, UserId};

/// Who wrote a transcript message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Staff,
    Bot,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Staff => "staff",
            Role::Bot => "bot",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(Role::Customer),
            "staff" => Some(Role::Staff),
            "bot" => Some(Role::Bot),
            _ => None,
        }
    }
}

/// A file attached to a message: its name and where Discord keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    pub url: String,
}

/// A message as it arrives (a gateway MESSAGE_CREATE, a terminal line).
#[derive(Clone, Debug, PartialEq)]
pub struct NewMessage {
    /// The message id: a redelivery with the same id changes nothing.
    pub id: String,
    pub place: Place,
    /// The guild, for Discord places; also teaches the archive the place's
    /// guild.
    pub guild: Option<String>,
    /// The conversation's customer, where the place alone does not say
    /// whose conversation it is (the shared `terminal` place).
    pub conv_user: Option<UserId>,
    pub author: UserId,
    pub author_name: String,
    pub role: Role,
    pub at: OffsetDateTime,
    pub content: String,
    pub attachments: Vec<Attachment>,
}

/// One earlier version of an edited message.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Edit {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The text before this edit.
    pub previous: String,
}

/// A transcript message as stored, with its history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TranscriptMessage {
    pub id: String,
    pub place: Place,
    pub author: UserId,
    pub author_name: String,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The current text (the last edit's).
    pub content: String,
    pub attachments: Vec<Attachment>,
    /// Earlier versions, oldest first.
    pub edits: Vec<Edit>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
}

/// A line of a ticket's event log, for its timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventRecord {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub author: UserId,
    pub kind: String,
    pub detail: serde_json::Value,
}

/// Which tickets to list. Empty fields do not filter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    pub product: Option<ProductId>,
    /// Only tickets whose places belong to this guild. Set from the
    /// session for a guild's staff; tickets whose guild is unknown are
    /// then never listed.
    pub guild: Option<String>,
    pub claimed_by: Option<UserId>,
    /// Words searched (as a substring, case-insensitively for ASCII) in the
    /// question, the fields, the close reason and the transcript.
    pub text: Option<String>,
    /// Page size and offset.
    pub limit: usize,
    pub offset: usize,
}

/// A page of tickets.
#[derive(Clone, Debug, PartialEq)]
pub struct TicketPage {
    /// All tickets matching the filter (not just this page).
    pub total: usize,
    /// This page's tickets, newest first.
    pub tickets: Vec<Ticket>,
}

/// Who a login link or session is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user: UserId,
    /// The guild whose tickets they may see; `None` is every guild (the
    /// local user of `triage dashboard`).
    pub guild: Option<String>,
}

/// What redeeming a login link found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redeemed {
    /// Valid: it is now used up.
    Ok(Principal),
    /// Used before.
    Used,
    /// Past its expiry.
    Expired,
    /// Never issued (or mistyped).
    Unknown,
}

/// A live dashboard session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub principal: Principal,
    /// The token every state-changing request must carry.
    pub csrf: String,
    pub expires_at: OffsetDateTime,
}

/// The archive's operations. Calls block (database I/O); from async code
/// run them on the blocking pool.
pub trait Archive: Send + Sync {
    /// Records a message. Returns false (and changes nothing) when the id
    /// was recorded before.
    fn record_message(&self, m: &NewMessage) -> Result<bool, StoreError>;
    /// Records an edit: the previous text goes to the history. Returns
    /// false when the message is unknown or the text is unchanged (a
    /// redelivered edit).
    fn record_edit(
        &self,
        id: &str,
        at: OffsetDateTime,
        content: &str,
        attachments: Option<&[Attachment]>,
    ) -> Result<bool, StoreError>;
    /// Marks a message deleted (its text is kept for staff). Returns false
    /// when unknown or already deleted.
    fn record_delete(&self, id: &str, at: OffsetDateTime) -> Result<bool, StoreError>;
    /// Remembers which guild a place belongs to.
    fn note_place_guild(&self, place: &Place, guild: &str) -> Result<(), StoreError>;
    /// The guild a ticket's places belong to, when known.
    fn ticket_guild(&self, ticket: &Ticket) -> Result<Option<String>, StoreError>;
    /// The guild a place was recorded in, when known.
    fn place_guild(&self, place: &Place) -> Result<Option<String>, StoreError>;
    /// Every place recorded in a guild (for scoping stats to it).
    fn guild_places(&self, guild: &str) -> Result<Vec<Place>, StoreError>;
    /// The ticket's transcript, oldest first: the messages in the places
    /// it is handled in (its thread, its forum post, its terminal
    /// conversation).
    fn transcript(&self, ticket: &Ticket) -> Result<Vec<TranscriptMessage>, StoreError>;
    /// The ticket's event log, oldest first.
    fn ticket_events(&self, id: TicketId) -> Result<Vec<EventRecord>, StoreError>;
    /// Tickets matching a filter, newest first.
    fn find_tickets(&self, f: &TicketFilter) -> Result<TicketPage, StoreError>;

    /// Stores a login link's token hash.
    fn create_login(
        &self,
        token_hash: &str,
        who: &Principal,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Uses up a login link, if it is valid now.
    fn redeem_login(&self, token_hash: &str, now: OffsetDateTime) -> Result<Redeemed, StoreError>;
    fn create_session(
        &self,
        id_hash: &str,
        s: &Session,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The session, if it exists and has not expired at `now`.
    fn session(&self, id_hash: &str, now: OffsetDateTime) -> Result<Option<Session>, StoreError>;
    /// Ends a session (signing out), so its cookie no longer works.
    fn end_session(&self, id_hash: &str) -> Result<(), StoreError>;

    /// The places a ticket is handled in: its threads and its conversation's place.
    fn places_of(&self, id: TicketId) -> Result<Vec<Place>, StoreError>;
    /// The logged ranking of the question the ticket escalated: (entry id,
    /// score) best first, empty for a direct escalation.
    fn ranking_of(&self, id: TicketId) -> Result<Vec<crate::tickets::LoggedResult>, StoreError>;
}

/// `%text%` with LIKE's own wildcards escaped by a backslash, so a search
/// is literal; both backends search with it.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.trim().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// What the reports read (questions, tickets, their lifecycles and
/// surveys), loaded from a store, optionally kept to one guild's.
#[derive(Debug, Default)]
pub struct ReportData {
    pub records: Vec<crate::tickets::QueryRecord>,
    pub tickets: Vec<Ticket>,
    pub lifecycles: Vec<crate::tickets::Lifecycle>,
    pub surveys: Vec<crate::tickets::Survey>,
}

impl ReportData {
    /// Everything from `since` on; with `guild`, only what happened in
    /// places recorded in that guild (needs the store's archive, which
    /// records each place's guild).
    pub fn load(
        store: &dyn crate::tickets::Store,
        since: OffsetDateTime,
        guild: Option<&str>,
    ) -> Result<Self, StoreError> {
        let mut d = Self {
            records: store.queries_since(since)?,
            tickets: store.tickets(None)?,
            lifecycles: store.lifecycles()?,
            surveys: store.surveys()?,
        };
        if let Some(g) = guild {
            let places: std::collections::HashSet<String> = match store.archive() {
                Some(a) => a.guild_places(g)?,
                None => Vec::new(),
            }
            .into_iter()
            .map(|p| p.as_str().to_owned())
            .collect();
            d.records.retain(|r| places.contains(r.key.place.as_str()));
            d.tickets.retain(|t| places.contains(t.place.as_str()));
            let ids: std::collections::HashSet<TicketId> = d.tickets.iter().map(|t| t.id).collect();
            d.lifecycles.retain(|l| ids.contains(&l.ticket));
            d.surveys.retain(|s| ids.contains(&s.ticket));
        }
        Ok(d)
    }
}

/// The transcript file's name for a ticket.
pub fn transcript_file_name(id: TicketId) -> String {
    format!("ticket-{}-transcript.html", id.0)
}

/// A ticket's standalone HTML transcript, read from the store: the file's
/// name and contents; `None` for an unknown ticket or a store without an
/// archive.
pub fn transcript_document(
    store: &dyn crate::tickets::Store,
    kb: &crate::kb::KnowledgeBase,
    id: TicketId,
) -> Result<Option<(String, String)>, StoreError> {
    let (Some(archive), Some(t)) = (store.archive(), store.ticket(id)?) else {
        return Ok(None);
    };
    let card = crate::engine::ticket_card(kb, &t);
    let doc = html::document(
        &t,
        &card.product_name,
        card.entry_title.as_deref(),
        &archive.transcript(&t)?,
        &archive.ticket_events(id)?,
    );
    Ok(Some((transcript_file_name(id), doc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_searched_literally() {
        assert_eq!(like_pattern(" 100%_a\\ "), "%100\\%\\_a\\\\%");
    }
}
