//! The embedded store: one SQLite file in WAL mode, schema from
//! `migrations/*.sql` applied in order and tracked by `PRAGMA user_version`.
//! One connection behind a `Mutex`: every call locks, runs, and unlocks.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use time::OffsetDateTime;

use super::lifecycle as life;
use super::{
    Applied, ConversationKey, Feedback, FieldValue, InputId, InputMeta, LoggedResult, NewEvent,
    NewQuery, NewTicket, OpenThread, Place, QueryId, QueryRecord, QueryUpdate, Store, StoreError,
    StoredConversation, Ticket, TicketId, TicketStatus, Tx, UndeliveredReply, UserId,
};
use super::{Lifecycle, Survey, Timer, TimerId, TimerKind};
use crate::kb::{CheckId, EntryId, FieldId, ProductId};
use crate::matcher::Decision;

mod tx;
use tx::SqlTx;

/// The schema, oldest first; a database at `user_version` N has run the
/// first N. Append only: a shipped migration never changes.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/0001_init.sql"),
    include_str!("../../../migrations/0002_delivery.sql"),
    include_str!("../../../migrations/0003_close_reason.sql"),
    include_str!("../../../migrations/0004_ticket_places.sql"),
    include_str!("../../../migrations/0005_delivery_parts.sql"),
    include_str!("../../../migrations/0006_lifecycle.sql"),
    include_str!("../../../migrations/0007_transcripts_dashboard.sql"),
    include_str!("../../../migrations/0008_reply_leases.sql"),
    include_str!("../../../migrations/0009_transcript_order.sql"),
];

/// The file a `--db` value names: a path, or a `sqlite://` / `sqlite:`
/// URL of one. Any other URL (`postgres://…`) is refused rather than taken
/// as a path (which would create a directory named `postgres:`).
fn file_path(given: &Path) -> Result<&Path, StoreError> {
    let Some(text) = given.to_str() else {
        return Ok(given);
    };
    for prefix in ["sqlite://", "sqlite:"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            return Ok(Path::new(rest));
        }
    }
    match text.split_once("://") {
        Some((scheme, _))
            if !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            Err(StoreError::NotAFile {
                given: text.to_owned(),
                scheme: scheme.to_owned(),
            })
        }
        _ => Ok(given),
    }
}

/// The SQLite store. `Send + Sync`: the connection sits behind a `Mutex`,
/// held only for the duration of one call (never across an `.await`, since
/// no call is async). Writes serialize; that is the point of one process
/// owning one file.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let path = file_path(path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|error| StoreError::Dir {
                path: dir.to_owned(),
                error,
            })?;
        }
        let conn = Connection::open(path).map_err(|error| StoreError::Open {
            path: path.to_owned(),
            error,
        })?;
        Self::with_connection(conn)
    }

    /// An in-memory database, for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(mut conn: Connection) -> Result<Self, StoreError> {
        // WAL lets readers (`triage tickets list`) run beside the bot;
        // synchronous=FULL makes each commit durable before it is announced.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// The connection, for the other tables kept in the same file (the
    /// archive's).
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::debug!(version = i + 1, "applied migration");
    }
    Ok(())
}

impl Store for SqliteStore {
    fn apply(
        &self,
        input: &InputMeta<'_>,
        step: &mut dyn FnMut(&mut dyn Tx) -> Result<String, StoreError>,
    ) -> Result<Applied, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let seen: Option<(String, Option<i64>)> = tx
            .query_row(
                "SELECT reply, delivered_at FROM inputs WHERE id = ?1",
                [input.id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((reply, delivered_at)) = seen {
            return Ok(Applied::Duplicate {
                reply,
                delivered: delivered_at.is_some(),
            });
        }
        let reply = step(&mut SqlTx { tx: &tx })?;
        tx.execute(
            "INSERT INTO inputs (id, place, user, author, at, reply, origin)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                input.id.as_str(),
                input.key.map(|k| k.place.as_str()),
                input.key.map(|k| k.user.as_str()),
                input.author.as_str(),
                input.at.unix_timestamp(),
                reply,
                input.origin.map(Place::as_str),
            ],
        )?;
        tx.commit()?;
        Ok(Applied::Fresh(reply))
    }

    fn mark_delivered(&self, id: &InputId, at: OffsetDateTime) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE inputs SET delivered_at = ?2 WHERE id = ?1 AND delivered_at IS NULL",
            params![id.as_str(), at.unix_timestamp()],
        )?;
        // Delivered whole: its parts are no longer needed, and an
        // interaction token recorded with them is not kept.
        conn.execute(
            "DELETE FROM delivery_parts WHERE input_id = ?1",
            [id.as_str()],
        )?;
        Ok(())
    }

    fn undelivered(&self, since: OffsetDateTime) -> Result<Vec<UndeliveredReply>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            "SELECT id, place, user, origin, at, reply FROM inputs
             WHERE delivered_at IS NULL AND at >= ?1 ORDER BY at, rowid",
        )?;
        let rows = stmt
            .query_map([since.unix_timestamp()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, place, user, origin, at, reply)| {
                Ok(UndeliveredReply {
                    id: InputId::new(id),
                    key: place.zip(user).map(|(p, u)| ConversationKey::new(p, u)),
                    origin: origin.map(Place::new),
                    at: from_unix(at)?,
                    reply,
                })
            })
            .collect()
    }

    fn claim_reply(
        &self,
        id: &InputId,
        owner: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        // One UPDATE: SQLite's write lock makes the check and the lease
        // one step, whichever process runs it.
        let conn = self.lock()?;
        let n = conn.execute(
            "UPDATE inputs SET lease_owner = ?2, lease_until = ?4
             WHERE id = ?1 AND delivered_at IS NULL
               AND (lease_until IS NULL OR lease_until <= ?3 OR lease_owner = ?2)",
            params![
                id.as_str(),
                owner,
                now.unix_timestamp(),
                until.unix_timestamp()
            ],
        )?;
        Ok(n == 1)
    }

    fn conversation(
        &self,
        key: &ConversationKey,
    ) -> Result<Option<StoredConversation>, StoreError> {
        let conn = self.lock()?;
        read_conversation(&conn, key)
    }

    fn ticket(&self, id: TicketId) -> Result<Option<Ticket>, StoreError> {
        let conn = self.lock()?;
        read_ticket(&conn, id)
    }

    fn attach_place(&self, ticket: TicketId, place: &Place) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO ticket_places (place, ticket_id) VALUES (?1, ?2)
             ON CONFLICT (place) DO UPDATE SET ticket_id = excluded.ticket_id",
            params![place.as_str(), ticket.0],
        )?;
        Ok(())
    }

    fn mark_part(
        &self,
        id: &InputId,
        part: &str,
        detail: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO delivery_parts (input_id, part, detail, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (input_id, part) DO NOTHING",
            params![id.as_str(), part, detail, at.unix_timestamp()],
        )?;
        Ok(())
    }

    fn parts(&self, id: &InputId) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            "SELECT part, detail FROM delivery_parts WHERE input_id = ?1 ORDER BY rowid",
        )?;
        let rows = stmt
            .query_map([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn set_conversation_thread(
        &self,
        key: &ConversationKey,
        thread: &Place,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO conversation_threads (place, user, thread, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (place, user) DO UPDATE SET thread = excluded.thread, at = excluded.at",
            params![
                key.place.as_str(),
                key.user.as_str(),
                thread.as_str(),
                at.unix_timestamp()
            ],
        )?;
        Ok(())
    }

    fn conversation_thread(&self, key: &ConversationKey) -> Result<Option<Place>, StoreError> {
        let conn = self.lock()?;
        let thread: Option<String> = conn
            .query_row(
                "SELECT thread FROM conversation_threads WHERE place = ?1 AND user = ?2",
                params![key.place.as_str(), key.user.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(thread.map(Place::new))
    }

    fn open_threads(&self) -> Result<Vec<OpenThread>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            // A conversation without a thread of its own may be happening
            // in one (a help-forum post): its place is offered; the front
            // end knows which places are threads.
            "SELECT c.place, c.user, COALESCE(t.thread, c.place),
                    (SELECT MAX(CAST(i.id AS INTEGER)) FROM inputs i
                     WHERE i.place = c.place AND i.user = c.user AND i.id GLOB '[0-9]*')
             FROM conversations c
             LEFT JOIN conversation_threads t ON t.place = c.place AND t.user = c.user
             WHERE c.phase = 'collecting'
             ORDER BY c.updated_at",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(OpenThread {
                    key: ConversationKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                    thread: Place::new(r.get::<_, String>(2)?),
                    last_input: r
                        .get::<_, Option<i64>>(3)?
                        .and_then(|n| u64::try_from(n).ok()),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn ticket_at(&self, place: &Place) -> Result<Option<TicketId>, StoreError> {
        let conn = self.lock()?;
        let attached: Option<i64> = conn
            .query_row(
                "SELECT ticket_id FROM ticket_places WHERE place = ?1",
                [place.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        let id = match attached {
            Some(id) => Some(id),
            None => conn
                .query_row(
                    "SELECT id FROM tickets WHERE place = ?1 ORDER BY id DESC LIMIT 1",
                    [place.as_str()],
                    |r| r.get(0),
                )
                .optional()?,
        };
        Ok(id.map(TicketId))
    }

    fn tickets(&self, status: Option<TicketStatus>) -> Result<Vec<Ticket>, StoreError> {
        let conn = self.lock()?;
        let ids: Vec<i64> = {
            let mut stmt = conn.prepare(
                "SELECT id FROM tickets WHERE ?1 IS NULL OR status = ?1 ORDER BY id DESC",
            )?;
            let rows = stmt.query_map([status.map(TicketStatus::as_str)], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(t) = read_ticket(&conn, TicketId(id))? {
                out.push(t);
            }
        }
        Ok(out)
    }

    fn archive(&self) -> Option<&dyn crate::archive::Archive> {
        Some(self)
    }

    fn queries_since(&self, since: OffsetDateTime) -> Result<Vec<QueryRecord>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            "SELECT id, at, place, user, asked_by, product, text, decision, results, check_id, entry,
                    feedback, tried, ticket_id
             FROM queries WHERE at >= ?1 ORDER BY at, id",
        )?;
        let raw = stmt
            .query_map([since.unix_timestamp()], |r| {
                Ok(RawQuery {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    place: r.get(2)?,
                    user: r.get(3)?,
                    asked_by: r.get(4)?,
                    product: r.get(5)?,
                    text: r.get(6)?,
                    decision: r.get(7)?,
                    results: r.get(8)?,
                    check: r.get(9)?,
                    entry: r.get(10)?,
                    feedback: r.get(11)?,
                    tried: r.get(12)?,
                    ticket: r.get(13)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        raw.into_iter().map(RawQuery::decode).collect()
    }

    fn due_timers(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<Timer>, StoreError> {
        life::due_timers(&*self.lock()?, now, limit)
    }

    fn timers(&self, ticket: Option<TicketId>) -> Result<Vec<Timer>, StoreError> {
        life::timers(&*self.lock()?, ticket)
    }

    fn lifecycles(&self) -> Result<Vec<Lifecycle>, StoreError> {
        life::lifecycles(&*self.lock()?)
    }

    fn surveys(&self) -> Result<Vec<Survey>, StoreError> {
        life::surveys(&*self.lock()?)
    }

    fn place_of(&self, ticket: TicketId) -> Result<Option<Place>, StoreError> {
        Ok(life::place_of(&*self.lock()?, ticket)?.map(Place::new))
    }
}

pub(super) struct RawQuery {
    pub(super) id: i64,
    pub(super) at: i64,
    pub(super) place: String,
    pub(super) user: String,
    pub(super) asked_by: String,
    pub(super) product: Option<String>,
    pub(super) text: String,
    pub(super) decision: String,
    pub(super) results: String,
    pub(super) check: Option<String>,
    pub(super) entry: Option<String>,
    pub(super) feedback: Option<String>,
    pub(super) tried: String,
    pub(super) ticket: Option<i64>,
}

impl RawQuery {
    pub(super) fn decode(self) -> Result<QueryRecord, StoreError> {
        let decision = match self.decision.as_str() {
            "answer" => Decision::Answer,
            "suggest" => Decision::Suggest,
            "none" => Decision::None,
            other => return Err(corrupt("queries.decision", other)),
        };
        let feedback = match self.feedback.as_deref() {
            None => None,
            Some(f) => Some(Feedback::parse(f).ok_or_else(|| corrupt("queries.feedback", f))?),
        };
        let results: Vec<LoggedResult> =
            serde_json::from_str(&self.results).map_err(|e| corrupt("queries.results", e))?;
        Ok(QueryRecord {
            id: QueryId(self.id),
            at: from_unix(self.at)?,
            key: ConversationKey {
                place: Place::new(self.place),
                user: UserId::new(self.user),
            },
            asked_by: UserId::new(self.asked_by),
            product: self.product.map(ProductId::new),
            text: self.text,
            decision,
            results,
            check: self.check.map(CheckId::new),
            entry: self.entry.map(EntryId::new),
            feedback,
            tried: decode_ids(&self.tried, "queries.tried")?,
            ticket: self.ticket.map(TicketId),
        })
    }
}

fn read_conversation(
    conn: &Connection,
    key: &ConversationKey,
) -> Result<Option<StoredConversation>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT state, phase, inputs_seen FROM conversations WHERE place = ?1 AND user = ?2",
            [key.place.as_str(), key.user.as_str()],
            |r| {
                Ok(StoredConversation {
                    state: r.get(0)?,
                    phase: r.get(1)?,
                    inputs_seen: r.get::<_, i64>(2)?.max(0) as u64,
                })
            },
        )
        .optional()?)
}

fn read_ticket(conn: &Connection, id: TicketId) -> Result<Option<Ticket>, StoreError> {
    let row = conn
        .query_row(
            "SELECT product, entry, status, question, tried, place, customer, opened_by, claimed_by,
                    created_at, updated_at, close_reason
             FROM tickets WHERE id = ?1",
            [id.0],
            RawTicket::from_row,
        )
        .optional()?;
    let Some(raw) = row else { return Ok(None) };
    let mut stmt = conn.prepare(
        "SELECT field_id, label, value FROM ticket_fields WHERE ticket_id = ?1 ORDER BY position",
    )?;
    let fields = stmt
        .query_map([id.0], |r| {
            Ok(FieldValue {
                id: FieldId::new(r.get::<_, String>(0)?),
                label: r.get(1)?,
                value: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Ticket {
        id,
        product: ProductId::new(raw.product),
        entry: raw.entry.map(EntryId::new),
        status: TicketStatus::parse(&raw.status)
            .ok_or_else(|| corrupt("tickets.status", &raw.status))?,
        question: raw.question,
        tried: decode_ids(&raw.tried, "tickets.tried")?,
        fields,
        place: Place::new(raw.place),
        customer: UserId::new(raw.customer),
        opened_by: UserId::new(raw.opened_by),
        claimed_by: raw.claimed_by.map(UserId::new),
        close_reason: raw.close_reason,
        created_at: from_unix(raw.created_at)?,
        updated_at: from_unix(raw.updated_at)?,
    }))
}

struct RawTicket {
    product: String,
    entry: Option<String>,
    status: String,
    question: Option<String>,
    tried: String,
    place: String,
    customer: String,
    opened_by: String,
    claimed_by: Option<String>,
    created_at: i64,
    updated_at: i64,
    close_reason: Option<String>,
}

impl RawTicket {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            product: r.get(0)?,
            entry: r.get(1)?,
            status: r.get(2)?,
            question: r.get(3)?,
            tried: r.get(4)?,
            place: r.get(5)?,
            customer: r.get(6)?,
            opened_by: r.get(7)?,
            claimed_by: r.get(8)?,
            created_at: r.get(9)?,
            updated_at: r.get(10)?,
            close_reason: r.get(11)?,
        })
    }
}

pub(super) fn decision_str(d: Decision) -> &'static str {
    match d {
        Decision::Answer => "answer",
        Decision::Suggest => "suggest",
        Decision::None => "none",
    }
}

pub(super) fn decode_ids(json: &str, what: &'static str) -> Result<Vec<CheckId>, StoreError> {
    serde_json::from_str(json).map_err(|e| corrupt(what, e))
}

pub(super) fn from_unix(secs: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| corrupt("timestamp", e))
}

pub(super) fn corrupt(what: &'static str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_parts_keep_their_first_record_and_go_once_delivered() {
        let store = SqliteStore::in_memory().unwrap();
        let id = InputId::new("1310000000000000000");
        let at = OffsetDateTime::UNIX_EPOCH;
        store
            .mark_part(&id, "via", Some("{\"token\":\"t\"}"), at)
            .unwrap();
        store.mark_part(&id, "thread", Some("42"), at).unwrap();
        store.mark_part(&id, "thread", Some("43"), at).unwrap();
        let parts = store.parts(&id).unwrap();
        assert_eq!(parts[1], ("thread".to_owned(), Some("42".to_owned())));
        assert_eq!(parts.len(), 2);
        store.mark_delivered(&id, at).unwrap();
        assert!(store.parts(&id).unwrap().is_empty(), "no token kept");
        let key = ConversationKey::new("1", "2");
        assert_eq!(store.conversation_thread(&key).unwrap(), None);
        store
            .set_conversation_thread(&key, &Place::new("42"), at)
            .unwrap();
        store
            .set_conversation_thread(&key, &Place::new("44"), at)
            .unwrap();
        assert_eq!(
            store.conversation_thread(&key).unwrap(),
            Some(Place::new("44"))
        );
    }

    #[test]
    fn a_server_url_is_refused_and_sqlite_urls_are_files() {
        let refused = SqliteStore::open(Path::new("postgres://triage@db/triage"));
        let err = refused.err().expect("a URL is not a file").to_string();
        assert!(
            err.contains("postgres://") && err.contains("--db PATH"),
            "{err}"
        );
        assert!(
            !Path::new("postgres:").exists(),
            "no directory named `postgres:`"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.db");
        SqliteStore::open(Path::new(&format!("sqlite://{}", file.display()))).unwrap();
        assert!(file.exists());
    }

    #[test]
    fn migrations_run_once_and_reopen_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/triage.db");
        drop(SqliteStore::open(&path).unwrap());
        let store = SqliteStore::open(&path).unwrap();
        let conn = store.lock().unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn replies_stored_before_delivery_was_tracked_count_as_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("triage.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO inputs (id, place, user, author, at, reply)
                 VALUES ('m1', '1', '2', '2', 100, '[]')",
                [],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert!(store
            .undelivered(OffsetDateTime::UNIX_EPOCH)
            .unwrap()
            .is_empty());
    }
}
