//! Tickets and everything the engine persists: conversations, tickets and
//! their fields and places, the event log, the query log, and the inputs
//! already seen with their replies and whether those were delivered.
//! `Store` is the interface; `SqliteStore` is the embedded implementation,
//! `PgStore` the shared PostgreSQL one, and `open` picks one from `--db`.

mod lifecycle;
mod open;
mod postgres;
mod sqlite;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::kb::{string_id, CheckId, EntryId, FieldId, ProductId};
use crate::matcher::Decision;

pub use lifecycle::{CloseRequest, Lifecycle, Survey, Timer, TimerId, TimerKind, TimerState};
pub use open::{open, redact_target, DbTarget};
pub use postgres::PgStore;
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

/// A ticket thread waiting for the customer's answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenThread {
    pub key: ConversationKey,
    pub thread: Place,
    /// The newest numeric input id of the conversation, if any.
    pub last_input: Option<u64>,
}

/// Why the store failed. These are internal errors, never the user's fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    // `error` is not a `source`: the message shows it, once.
    #[error("cannot open the database {path}: {error}")]
    Open {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error("cannot create the directory {path}: {error}")]
    Dir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("'{given}' is a {scheme}:// URL, and this store is an embedded SQLite file: pass a file path (--db PATH or TRIAGE_DB), e.g. triage.db")]
    NotAFile { given: String, scheme: String },
    #[error("the database is at schema version {found}, newer than this triage ({known}); upgrade triage")]
    TooNew { found: i64, known: i64 },
    #[error("corrupt stored value in {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("encoding a stored value: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the store's lock was poisoned by a panic in another thread")]
    Poisoned,
    #[error("PostgreSQL error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    // `target` is redacted: a password in the URL is never shown.
    #[error("cannot connect to PostgreSQL at {target}: {error}")]
    Connect { target: String, error: String },
    #[error("'{given}' is not a usable PostgreSQL URL: {reason}")]
    BadUrl { given: String, reason: String },
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

    // Ticket lifecycle (timers, hold, close requests, surveys).
    fn add_timer(
        &mut self,
        ticket: TicketId,
        kind: TimerKind,
        due_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<TimerId, StoreError>;
    /// Cancels the ticket's pending timers of these kinds; how many.
    fn cancel_timers(&mut self, ticket: TicketId, kinds: &[TimerKind])
        -> Result<usize, StoreError>;
    /// Claims a due, pending timer for the poller `token` (state `done`);
    /// `None` if it is not pending and due any more. See `lifecycle`'s
    /// module doc for why this is safe with several pollers.
    fn claim_timer(
        &mut self,
        id: TimerId,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Timer>, StoreError>;
    /// The ticket's lifecycle row (the default if it has none yet).
    fn lifecycle(&mut self, ticket: TicketId) -> Result<Lifecycle, StoreError>;
    fn save_lifecycle(&mut self, l: &Lifecycle) -> Result<(), StoreError>;
    fn survey(&mut self, ticket: TicketId) -> Result<Option<Survey>, StoreError>;
    fn save_survey(&mut self, s: &Survey) -> Result<(), StoreError>;
    /// Where the ticket is handled (its thread), as `Store::place_of`.
    fn place_of(&mut self, ticket: TicketId) -> Result<Option<Place>, StoreError>;
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
    /// redelivery of it then needs nothing, and its delivery parts are
    /// forgotten. Unknown ids are ignored.
    fn mark_delivered(&self, id: &InputId, at: OffsetDateTime) -> Result<(), StoreError>;
    /// Replies of inputs applied from `since` on that are not marked
    /// delivered, oldest first.
    fn undelivered(&self, since: OffsetDateTime) -> Result<Vec<UndeliveredReply>, StoreError>;

    /// Leases the undelivered reply to input `id` to `owner` until
    /// `until`, before the owner re-posts it: true when the lease is
    /// `owner`'s (taken now, or already its own). False when the reply was
    /// delivered meanwhile or another owner holds a live lease: two
    /// processes never re-post one reply at once, and a lease that ran out
    /// (its process died) can be taken again.
    fn claim_reply(
        &self,
        id: &InputId,
        owner: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    fn conversation(&self, key: &ConversationKey)
        -> Result<Option<StoredConversation>, StoreError>;
    fn ticket(&self, id: TicketId) -> Result<Option<Ticket>, StoreError>;
    /// Records that `ticket` is handled at `place` (the thread a front end
    /// opened for it). A place holds one ticket: the last attached.
    fn attach_place(&self, ticket: TicketId, place: &Place) -> Result<(), StoreError>;
    /// Records that part `part` of the reply to input `id` went out (or,
    /// for `via`, how to answer the input), with what it made, e.g. the
    /// thread it opened. The first record of a part stands.
    fn mark_part(
        &self,
        id: &InputId,
        part: &str,
        detail: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The parts recorded for input `id`, in the order they were recorded.
    fn parts(&self, id: &InputId) -> Result<Vec<(String, Option<String>)>, StoreError>;
    /// Records the ticket thread opened for a conversation (the last one).
    fn set_conversation_thread(
        &self,
        key: &ConversationKey,
        thread: &Place,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The ticket thread opened for a conversation, if any.
    fn conversation_thread(&self, key: &ConversationKey) -> Result<Option<Place>, StoreError>;
    /// Ticket threads whose conversation is waiting for the customer's
    /// answers (phase `collecting`), each with the newest input id of the
    /// conversation that is a number (a Discord snowflake): where messages
    /// missed while the front end was away are looked for. A conversation
    /// with no recorded thread is listed with its own place (a forum post
    /// is a thread); the front end skips places that are not threads.
    fn open_threads(&self) -> Result<Vec<OpenThread>, StoreError>;
    /// The ticket handled at `place`: the one attached there, else the
    /// newest whose conversation happened there (a forum post).
    fn ticket_at(&self, place: &Place) -> Result<Option<TicketId>, StoreError>;
    /// Tickets, newest first, optionally of one status.
    fn tickets(&self, status: Option<TicketStatus>) -> Result<Vec<Ticket>, StoreError>;
    /// The query log from `since` on, oldest first.
    fn queries_since(&self, since: OffsetDateTime) -> Result<Vec<QueryRecord>, StoreError>;

    /// Pending timers due at `now`, oldest first, at most `limit`. Reading
    /// claims nothing: firing claims (`Tx::claim_timer`).
    fn due_timers(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<Timer>, StoreError>;
    /// Every timer, or one ticket's, in creation order.
    fn timers(&self, ticket: Option<TicketId>) -> Result<Vec<Timer>, StoreError>;
    fn lifecycles(&self) -> Result<Vec<Lifecycle>, StoreError>;
    fn surveys(&self) -> Result<Vec<Survey>, StoreError>;
    /// Where a ticket is handled: the thread attached last, else where its
    /// conversation happened.
    fn place_of(&self, ticket: TicketId) -> Result<Option<Place>, StoreError>;
    /// Transcripts, search and dashboard logins, when this store keeps
    /// them (both the SQLite and the PostgreSQL store do).
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
