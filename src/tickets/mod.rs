//! Tickets and everything the engine persists: conversations, tickets and
//! their fields and places, the event log, the query log, and the inputs
//! already seen with their replies and whether those were delivered.
//! `Store` is the interface; `SqliteStore` is the embedded implementation.

mod sqlite;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::kb::{string_id, CheckId, EntryId, FieldId, ProductId};
use crate::matcher::Decision;

pub use sqlite::SqliteStore;

string_id!(
    /// Where a conversation happens: a Discord channel or thread id, or
    /// `terminal` for `triage chat`.
    Place
);
string_id!(
    /// Who is speaking: a Discord user id, or the `--user` name in a terminal.
    UserId
);
string_id!(
    /// The id of one delivery of an input (a Discord message or interaction
    /// id). An input id seen before is a redelivery and changes nothing.
    InputId
);

/// One conversation: the customer it belongs to, and where it happens.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConversationKey {
    pub place: Place,
    /// The customer, even when staff type on their behalf.
    pub user: UserId,
}

impl ConversationKey {
    pub fn new(place: impl Into<String>, user: impl Into<String>) -> Self {
        Self {
            place: Place::new(place),
            user: UserId::new(user),
        }
    }
}

impl fmt::Display for ConversationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.place, self.user)
    }
}

/// A ticket number, assigned by the store, shown as `#12`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(pub i64);

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A row of the query log, assigned by the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QueryId(pub i64);

/// Where a ticket stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    /// Filed, waiting for staff.
    Open,
    /// A staff member has taken it.
    Claimed,
    /// Done; can be reopened.
    Closed,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::Claimed => "claimed",
            TicketStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(TicketStatus::Open),
            "claimed" => Some(TicketStatus::Claimed),
            "closed" => Some(TicketStatus::Closed),
            _ => None,
        }
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One answered ticket field, stored whole (already redacted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldValue {
    pub id: FieldId,
    /// The label at the time of filing, so a ticket reads the same after
    /// the knowledge base changes.
    pub label: String,
    pub value: String,
}

/// A ticket as filed, with its current status.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ticket {
    pub id: TicketId,
    pub product: ProductId,
    /// The entry whose checklist did not help; `None` for a direct escalation.
    pub entry: Option<EntryId>,
    pub status: TicketStatus,
    /// The customer's original question (redacted), if there was one.
    pub question: Option<String>,
    /// The checks the customer says they already tried, in checklist order.
    pub tried: Vec<CheckId>,
    /// Serialized as an object keyed by field id, in the product's order.
    #[serde(serialize_with = "fields_as_object")]
    pub fields: Vec<FieldValue>,
    /// Where the conversation happened.
    pub place: Place,
    /// The customer the ticket belongs to.
    pub customer: UserId,
    /// Who escalated: the customer, or staff acting for them.
    pub opened_by: UserId,
    /// The staff member who claimed it last.
    pub claimed_by: Option<UserId>,
    /// Why it was closed, while it is closed and staff said why.
    pub close_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Ticket {
    pub fn field(&self, id: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.id.as_str() == id)
            .map(|f| f.value.as_str())
    }
}

fn fields_as_object<S: serde::Serializer>(fields: &[FieldValue], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(fields.iter().map(|f| (f.id.as_str(), f.value.as_str())))
}

/// A ticket to file.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTicket {
    pub product: ProductId,
    pub entry: Option<EntryId>,
    pub question: Option<String>,
    pub tried: Vec<CheckId>,
    pub fields: Vec<FieldValue>,
    pub key: ConversationKey,
    pub opened_by: UserId,
    /// The query-log row this ticket escalates, if any.
    pub query: Option<QueryId>,
}

/// What a customer said about an answer, the last thing they said counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    /// The checklist solved it.
    Solved,
    /// Still broken (escalation follows).
    StillBroken,
    /// Asked for the other matches.
    More,
}

impl Feedback {
    pub fn as_str(self) -> &'static str {
        match self {
            Feedback::Solved => "solved",
            Feedback::StillBroken => "still_broken",
            Feedback::More => "more",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "solved" => Some(Feedback::Solved),
            "still_broken" => Some(Feedback::StillBroken),
            "more" => Some(Feedback::More),
            _ => None,
        }
    }
}

/// One ranked result as logged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedResult {
    pub id: EntryId,
    pub score: f32,
}

/// A question as it enters the query log.
#[derive(Clone, Debug, PartialEq)]
pub struct NewQuery {
    pub at: OffsetDateTime,
    pub key: ConversationKey,
    /// Who typed it: the customer, or staff diagnosing for them.
    pub asked_by: UserId,
    pub product: Option<ProductId>,
    /// The question, redacted.
    pub text: String,
    pub decision: Decision,
    pub results: Vec<LoggedResult>,
    /// The check the words point at.
    pub check: Option<CheckId>,
    /// The entry whose checklist was shown, if one was.
    pub entry: Option<EntryId>,
}

/// A change to a logged question; `None` fields are left alone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryUpdate {
    pub product: Option<ProductId>,
    pub entry: Option<EntryId>,
    pub feedback: Option<Feedback>,
    pub tried: Option<Vec<CheckId>>,
    pub escalated: Option<TicketId>,
}

/// A row of the query log, as `report` reads it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueryRecord {
    pub id: QueryId,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub key: ConversationKey,
    pub asked_by: UserId,
    pub product: Option<ProductId>,
    pub text: String,
    pub decision: Decision,
    pub results: Vec<LoggedResult>,
    pub check: Option<CheckId>,
    pub entry: Option<EntryId>,
    pub feedback: Option<Feedback>,
    pub tried: Vec<CheckId>,
    /// The ticket this question ended in, if it was escalated.
    pub ticket: Option<TicketId>,
}

/// A line of the event log: what happened, to whom, caused by which input.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub at: OffsetDateTime,
    pub key: Option<ConversationKey>,
    pub author: UserId,
    pub ticket: Option<TicketId>,
    /// A short stable name: `asked`, `answered`, `field_answered`, `ticket_filed`, ...
    pub kind: String,
    /// Free-form JSON with the details.
    pub detail: serde_json::Value,
}

/// A conversation as stored: the engine's state, opaque to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredConversation {
    /// The engine's serialized state.
    pub state: String,
    /// A short name of the state (`idle`, `collecting`, ...), for queries.
    pub phase: String,
    /// How many inputs the conversation has taken; front ends without
    /// their own message ids derive input ids from it.
    pub inputs_seen: u64,
}

/// The delivery being applied.
#[derive(Clone, Debug)]
pub struct InputMeta<'a> {
    pub id: &'a InputId,
    pub key: Option<&'a ConversationKey>,
    pub author: &'a UserId,
    pub at: OffsetDateTime,
    /// Where the input was made, if the front end says (a thread inside
    /// the conversation's channel): where a late reply goes.
    pub origin: Option<&'a Place>,
}

/// What `Store::apply` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The input was new; its transition is committed. Holds the reply.
    Fresh(String),
    /// The input was seen before; nothing changed. Holds the first reply
    /// and whether the front end has marked it delivered.
    Duplicate { reply: String, delivered: bool },
}

/// A reply committed but not (yet) marked delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UndeliveredReply {
    pub id: InputId,
    /// The conversation; `None` for staff actions.
    pub key: Option<ConversationKey>,
    /// Where the input was made, when the front end said.
    pub origin: Option<Place>,
    pub at: OffsetDateTime,
    /// The reply as `apply`'s step returned it.
    pub reply: String,
}

/// Why the store failed. These are internal errors, never the user's fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create the directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the database is at schema version {found}, newer than this triage ({known}); upgrade triage")]
    TooNew { found: i64, known: i64 },
    #[error("corrupt stored value in {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("encoding a stored value: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the store's lock was poisoned by a panic in another thread")]
    Poisoned,
}

/// The operations available inside one transaction of `Store::apply`.
pub trait Tx {
    fn conversation(
        &mut self,
        key: &ConversationKey,
    ) -> Result<Option<StoredConversation>, StoreError>;
    /// Writes the conversation's state and counts one more input.
    fn save_conversation(
        &mut self,
        key: &ConversationKey,
        state: &str,
        phase: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    fn insert_ticket(&mut self, t: &NewTicket, at: OffsetDateTime) -> Result<Ticket, StoreError>;
    fn ticket(&mut self, id: TicketId) -> Result<Option<Ticket>, StoreError>;
    /// Sets the status; `claimed_by` is written when `Some`; `close_reason`
    /// is written as given (`None` clears it).
    fn set_ticket_status(
        &mut self,
        id: TicketId,
        status: TicketStatus,
        claimed_by: Option<&UserId>,
        close_reason: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    fn insert_query(&mut self, q: &NewQuery) -> Result<QueryId, StoreError>;
    fn update_query(&mut self, id: QueryId, u: &QueryUpdate) -> Result<(), StoreError>;
    fn log_event(&mut self, e: &NewEvent) -> Result<(), StoreError>;
}

/// Persistence for the engine. Implementations must be `Send + Sync`: the
/// Discord adapter shares one store between handlers. Calls block (they do
/// I/O); never hold anything locked across an await around them.
pub trait Store: Send + Sync {
    /// Applies one input atomically. If `input.id` was seen before, nothing
    /// runs and the first reply is returned as `Duplicate`. Otherwise `step`
    /// runs inside one transaction and returns the reply to remember; the
    /// transaction (step's writes, the input id, the reply) is committed
    /// before `apply` returns, or nothing is.
    fn apply(
        &self,
        input: &InputMeta<'_>,
        step: &mut dyn FnMut(&mut dyn Tx) -> Result<String, StoreError>,
    ) -> Result<Applied, StoreError>;

    /// Records that the reply to input `id` was delivered (posted); a
    /// redelivery of it then needs nothing. Unknown ids are ignored.
    fn mark_delivered(&self, id: &InputId, at: OffsetDateTime) -> Result<(), StoreError>;
    /// Replies of inputs applied from `since` on that are not marked
    /// delivered, oldest first.
    fn undelivered(&self, since: OffsetDateTime) -> Result<Vec<UndeliveredReply>, StoreError>;

    fn conversation(&self, key: &ConversationKey)
        -> Result<Option<StoredConversation>, StoreError>;
    fn ticket(&self, id: TicketId) -> Result<Option<Ticket>, StoreError>;
    /// Records that `ticket` is handled at `place` (the thread a front end
    /// opened for it). A place holds one ticket: the last attached.
    fn attach_place(&self, ticket: TicketId, place: &Place) -> Result<(), StoreError>;
    /// The ticket handled at `place`: the one attached there, else the
    /// newest whose conversation happened there (a forum post).
    fn ticket_at(&self, place: &Place) -> Result<Option<TicketId>, StoreError>;
    /// Tickets, newest first, optionally of one status.
    fn tickets(&self, status: Option<TicketStatus>) -> Result<Vec<Ticket>, StoreError>;
    /// The query log from `since` on, oldest first.
    fn queries_since(&self, since: OffsetDateTime) -> Result<Vec<QueryRecord>, StoreError>;
    /// Transcripts, search and dashboard logins, when this store keeps
    /// them (the embedded store does).
    fn archive(&self) -> Option<&dyn crate::archive::Archive> {
        None
    }
}

/// Where the database lives when `--db`/`TRIAGE_DB` is not given:
/// `./triage.db` inside a container (`/.dockerenv` exists), otherwise the
/// user's data directory (`~/.local/share/triage/triage.db` on Linux).
pub fn default_db_path() -> PathBuf {
    if std::path::Path::new("/.dockerenv").exists() {
        return PathBuf::from("triage.db");
    }
    directories::ProjectDirs::from("", "", "triage")
        .map(|d| d.data_dir().join("triage.db"))
        .unwrap_or_else(|| PathBuf::from("triage.db"))
}
