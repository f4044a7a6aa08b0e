//! What the store keeps of a ticket's lifecycle: durable timers (one row
//! per deadline, with its state), the per-ticket lifecycle row (hold, last
//! customer message, first staff reply, resolution, a pending close
//! request) and satisfaction surveys. Types here; the SQL for SQLite is the
//! free functions below, which `SqliteStore` and its transaction call.
//!
//! # Claiming timers on a shared database
//! A timer fires inside the transaction that applies its action: the
//! poller runs `claim_timer` (`UPDATE timers SET state = 'done', claim_token
//! = ? WHERE id = ? AND state = 'pending' AND due_at <= ?`) and only acts if
//! that changed one row. On SQLite the transaction is `BEGIN IMMEDIATE`, so
//! writers serialize. On a server database (PostgreSQL, READ COMMITTED) the
//! UPDATE takes the row lock; a second poller's UPDATE waits, re-reads the
//! row, finds it no longer pending and changes nothing, so it does nothing.
//! Pollers may also pre-select with `FOR UPDATE SKIP LOCKED` to avoid
//! waiting. The firing's input id (`timer:<id>`) is the primary key of the
//! `inputs` table as a second guard.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{StoreError, TicketId, UserId};
use crate::kb::ProductId;

/// A timer row's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimerId(pub i64);

/// What a timer does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// The customer has been quiet for `stale_after`: ping them once.
    StalePing,
    /// Quiet for `auto_close_after` more: close with "no reply".
    AutoClose,
    /// A close request went unanswered: close.
    CloseRequest,
    /// The ticket was filed outside support hours: ping staff at opening.
    StaffPing,
}

impl TimerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::StalePing => "stale_ping",
            TimerKind::AutoClose => "auto_close",
            TimerKind::CloseRequest => "close_request",
            TimerKind::StaffPing => "staff_ping",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "stale_ping" => TimerKind::StalePing,
            "auto_close" => TimerKind::AutoClose,
            "close_request" => TimerKind::CloseRequest,
            "staff_ping" => TimerKind::StaffPing,
            _ => return None,
        })
    }
}

/// Where a timer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerState {
    /// Waiting for its due time.
    Pending,
    /// Fired: its action is committed.
    Done,
    /// Made moot (the customer wrote, the ticket closed, hold).
    Cancelled,
}

impl TimerState {
    pub fn as_str(self) -> &'static str {
        match self {
            TimerState::Pending => "pending",
            TimerState::Done => "done",
            TimerState::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => TimerState::Pending,
            "done" => TimerState::Done,
            "cancelled" => TimerState::Cancelled,
            _ => return None,
        })
    }
}

/// One timer row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Timer {
    pub id: TimerId,
    pub ticket: TicketId,
    pub kind: TimerKind,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    pub state: TimerState,
    /// The poller that fired it.
    pub claim_token: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub fired_at: Option<OffsetDateTime>,
}

/// A close request waiting for the customer's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseRequest {
    pub by: UserId,
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A ticket's lifecycle row; a ticket without one has the default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    pub ticket: TicketId,
    /// Staff turned stale pings and auto-close off for this ticket.
    pub hold: bool,
    pub last_customer_at: Option<OffsetDateTime>,
    /// The first message from staff in the ticket, for response times.
    pub first_staff_reply_at: Option<OffsetDateTime>,
    pub first_staff_by: Option<UserId>,
    /// When it was (last) closed.
    pub resolved_at: Option<OffsetDateTime>,
    pub close_request: Option<CloseRequest>,
}

impl Lifecycle {
    pub fn new(ticket: TicketId) -> Self {
        Self {
            ticket,
            hold: false,
            last_customer_at: None,
            first_staff_reply_at: None,
            first_staff_by: None,
            resolved_at: None,
            close_request: None,
        }
    }
}

/// A satisfaction survey, asked when a ticket closes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Survey {
    pub ticket: TicketId,
    pub product: ProductId,
    /// Who handled the ticket.
    pub staff: Option<UserId>,
    #[serde(with = "time::serde::rfc3339")]
    pub asked_at: OffsetDateTime,
    /// 1-5, once answered.
    pub rating: Option<u8>,
    pub comment: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
}

pub(super) const TIMER_COLS: &str = "id, ticket_id, kind, due_at, state, claim_token, fired_at";

pub(super) type RawTimer = (i64, i64, String, i64, String, Option<String>, Option<i64>);

pub(super) fn decode_timer(raw: RawTimer) -> Result<Timer, StoreError> {
    let (id, ticket, kind, due, state, token, fired) = raw;
    Ok(Timer {
        id: TimerId(id),
        ticket: TicketId(ticket),
        kind: TimerKind::parse(&kind).ok_or_else(|| corrupt("timers.kind", &kind))?,
        due_at: unix(due)?,
        state: TimerState::parse(&state).ok_or_else(|| corrupt("timers.state", &state))?,
        claim_token: token,
        fired_at: fired.map(unix).transpose()?,
    })
}

pub(super) fn add_timer(
    c: &Connection,
    ticket: TicketId,
    kind: TimerKind,
    due_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<TimerId, StoreError> {
    c.execute(
        "INSERT INTO timers (ticket_id, kind, due_at, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            ticket.0,
            kind.as_str(),
            due_at.unix_timestamp(),
            now.unix_timestamp()
        ],
    )?;
    Ok(TimerId(c.last_insert_rowid()))
}

pub(super) fn cancel_timers(
    c: &Connection,
    ticket: TicketId,
    kinds: &[TimerKind],
) -> Result<usize, StoreError> {
    let mut n = 0;
    for k in kinds {
        n += c.execute(
            "UPDATE timers SET state = 'cancelled'
             WHERE ticket_id = ?1 AND kind = ?2 AND state = 'pending'",
            params![ticket.0, k.as_str()],
        )?;
    }
    Ok(n)
}

/// Moves a due, pending timer to `done` with the claimer's token; `None`
/// when it is not pending or not due (another poller took it, or it was
/// cancelled).
pub(super) fn claim_timer(
    c: &Connection,
    id: TimerId,
    token: &str,
    now: OffsetDateTime,
) -> Result<Option<Timer>, StoreError> {
    let changed = c.execute(
        "UPDATE timers SET state = 'done', claim_token = ?2, fired_at = ?3
         WHERE id = ?1 AND state = 'pending' AND due_at <= ?3",
        params![id.0, token, now.unix_timestamp()],
    )?;
    if changed != 1 {
        return Ok(None);
    }
    let raw = c.query_row(
        &format!("SELECT {TIMER_COLS} FROM timers WHERE id = ?1"),
        [id.0],
        |r| RawTimer::try_from(r),
    )?;
    decode_timer(raw).map(Some)
}

pub(super) fn due_timers(
    c: &Connection,
    now: OffsetDateTime,
    limit: usize,
) -> Result<Vec<Timer>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {TIMER_COLS} FROM timers WHERE state = 'pending' AND due_at <= ?1
         ORDER BY due_at, id LIMIT ?2"
    ))?;
    let raw = stmt
        .query_map(params![now.unix_timestamp(), limit as i64], |r| {
            RawTimer::try_from(r)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter().map(decode_timer).collect()
}

pub(super) fn timers(c: &Connection, ticket: Option<TicketId>) -> Result<Vec<Timer>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {TIMER_COLS} FROM timers WHERE ?1 IS NULL OR ticket_id = ?1 ORDER BY id"
    ))?;
    let raw = stmt
        .query_map([ticket.map(|t| t.0)], |r| RawTimer::try_from(r))?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter().map(decode_timer).collect()
}

pub(super) const LIFE_COLS: &str =
    "ticket_id, hold, last_customer_at, first_staff_reply_at, first_staff_by,
                         resolved_at, close_request";

pub(super) type RawLife = (
    i64,
    bool,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

pub(super) fn decode_life(raw: RawLife) -> Result<Lifecycle, StoreError> {
    let (id, hold, last, first, by, resolved, request) = raw;
    Ok(Lifecycle {
        ticket: TicketId(id),
        hold,
        last_customer_at: last.map(unix).transpose()?,
        first_staff_reply_at: first.map(unix).transpose()?,
        first_staff_by: by.map(UserId::new),
        resolved_at: resolved.map(unix).transpose()?,
        close_request: request
            .map(|j| {
                serde_json::from_str(&j).map_err(|e| corrupt("ticket_lifecycle.close_request", e))
            })
            .transpose()?,
    })
}

pub(super) fn lifecycle(c: &Connection, ticket: TicketId) -> Result<Lifecycle, StoreError> {
    let raw = c
        .query_row(
            &format!("SELECT {LIFE_COLS} FROM ticket_lifecycle WHERE ticket_id = ?1"),
            [ticket.0],
            |r| RawLife::try_from(r),
        )
        .optional()?;
    match raw {
        Some(r) => decode_life(r),
        None => Ok(Lifecycle::new(ticket)),
    }
}

pub(super) fn lifecycles(c: &Connection) -> Result<Vec<Lifecycle>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {LIFE_COLS} FROM ticket_lifecycle ORDER BY ticket_id"
    ))?;
    let raw = stmt
        .query_map([], |r| RawLife::try_from(r))?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter().map(decode_life).collect()
}

pub(super) fn save_lifecycle(c: &Connection, l: &Lifecycle) -> Result<(), StoreError> {
    let request = l
        .close_request
        .as_ref()
        .map(serde_json::to_string)
        .transpose()?;
    c.execute(
        "INSERT INTO ticket_lifecycle (ticket_id, hold, last_customer_at, first_staff_reply_at,
                                       first_staff_by, resolved_at, close_request)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (ticket_id) DO UPDATE SET hold = excluded.hold,
            last_customer_at = excluded.last_customer_at,
            first_staff_reply_at = excluded.first_staff_reply_at,
            first_staff_by = excluded.first_staff_by, resolved_at = excluded.resolved_at,
            close_request = excluded.close_request",
        params![
            l.ticket.0,
            l.hold,
            l.last_customer_at.map(|t| t.unix_timestamp()),
            l.first_staff_reply_at.map(|t| t.unix_timestamp()),
            l.first_staff_by.as_ref().map(UserId::as_str),
            l.resolved_at.map(|t| t.unix_timestamp()),
            request,
        ],
    )?;
    Ok(())
}

pub(super) const SURVEY_COLS: &str =
    "ticket_id, product, staff, asked_at, rating, comment, answered_at";

pub(super) type RawSurvey = (
    i64,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

pub(super) fn decode_survey(raw: RawSurvey) -> Result<Survey, StoreError> {
    let (id, product, staff, asked, rating, comment, answered) = raw;
    Ok(Survey {
        ticket: TicketId(id),
        product: ProductId::new(product),
        staff: staff.map(UserId::new),
        asked_at: unix(asked)?,
        rating: rating
            .map(|r| u8::try_from(r).map_err(|e| corrupt("surveys.rating", e)))
            .transpose()?,
        comment,
        answered_at: answered.map(unix).transpose()?,
    })
}

pub(super) fn survey(c: &Connection, ticket: TicketId) -> Result<Option<Survey>, StoreError> {
    c.query_row(
        &format!("SELECT {SURVEY_COLS} FROM surveys WHERE ticket_id = ?1"),
        [ticket.0],
        |r| RawSurvey::try_from(r),
    )
    .optional()?
    .map(decode_survey)
    .transpose()
}

pub(super) fn surveys(c: &Connection) -> Result<Vec<Survey>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {SURVEY_COLS} FROM surveys ORDER BY ticket_id"
    ))?;
    let raw = stmt
        .query_map([], |r| RawSurvey::try_from(r))?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter().map(decode_survey).collect()
}

pub(super) fn save_survey(c: &Connection, s: &Survey) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO surveys (ticket_id, product, staff, asked_at, rating, comment, answered_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (ticket_id) DO UPDATE SET product = excluded.product,
            staff = excluded.staff, asked_at = excluded.asked_at, rating = excluded.rating,
            comment = excluded.comment, answered_at = excluded.answered_at",
        params![
            s.ticket.0,
            s.product.as_str(),
            s.staff.as_ref().map(UserId::as_str),
            s.asked_at.unix_timestamp(),
            s.rating.map(i64::from),
            s.comment,
            s.answered_at.map(|t| t.unix_timestamp()),
        ],
    )?;
    Ok(())
}

/// The place a ticket is handled at: the thread attached last, else where
/// its conversation happened.
pub(super) fn place_of(c: &Connection, ticket: TicketId) -> Result<Option<String>, StoreError> {
    let attached: Option<String> = c
        .query_row(
            "SELECT place FROM ticket_places WHERE ticket_id = ?1 ORDER BY rowid DESC LIMIT 1",
            [ticket.0],
            |r| r.get(0),
        )
        .optional()?;
    if attached.is_some() {
        return Ok(attached);
    }
    Ok(
        c.query_row("SELECT place FROM tickets WHERE id = ?1", [ticket.0], |r| {
            r.get(0)
        })
        .optional()?,
    )
}

fn unix(secs: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| corrupt("timestamp", e))
}

fn corrupt(what: &'static str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: detail.to_string(),
    }
}
