//! One input's transaction on PostgreSQL: the `Tx` the engine's step
//! writes through, wrapping a `tokio_postgres::Transaction`, and the row
//! readers shared with the store's plain calls. Rows decode with the same
//! functions as SQLite's (the schema keeps unix-second integers and JSON
//! text).

use time::OffsetDateTime;
use tokio_postgres::{GenericClient, Row, Transaction};

use super::PgStore;
use crate::kb::{CheckId, EntryId, FieldId, ProductId};
use crate::tickets::lifecycle::{
    self as life, decode_life, decode_survey, decode_timer, LIFE_COLS, SURVEY_COLS, TIMER_COLS,
};
use crate::tickets::sqlite::{corrupt, decision_str, decode_ids, from_unix};
use crate::tickets::{
    ConversationKey, Feedback, FieldValue, Lifecycle, NewEvent, NewQuery, NewTicket, Place,
    QueryId, QueryUpdate, StoreError, StoredConversation, Survey, Ticket, TicketId, TicketStatus,
    Timer, TimerId, TimerKind, Tx, UserId,
};

/// The transaction lent to the engine's step.
pub(super) struct PgTx<'a> {
    pub(super) store: &'a PgStore,
    pub(super) tx: &'a Transaction<'a>,
}

impl Tx for PgTx<'_> {
    fn conversation(
        &mut self,
        key: &ConversationKey,
    ) -> Result<Option<StoredConversation>, StoreError> {
        self.store.wait(read_conversation(self.tx, key))
    }

    fn save_conversation(
        &mut self,
        key: &ConversationKey,
        state: &str,
        phase: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let at = at.unix_timestamp();
        self.store.wait(self.tx.execute(
            "INSERT INTO conversations (place, \"user\", state, phase, inputs_seen, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 1, $5, $5)
             ON CONFLICT (place, \"user\") DO UPDATE SET
                state = excluded.state, phase = excluded.phase,
                inputs_seen = conversations.inputs_seen + 1, updated_at = excluded.updated_at",
            &[&key.place.as_str(), &key.user.as_str(), &state, &phase, &at],
        ))?;
        Ok(())
    }

    fn insert_ticket(&mut self, t: &NewTicket, at: OffsetDateTime) -> Result<Ticket, StoreError> {
        let now = at.unix_timestamp();
        let tried = serde_json::to_string(&t.tried)?;
        let tx = self.tx;
        self.store.wait(async move {
            let row = tx
                .query_one(
                    "INSERT INTO tickets (product, entry, status, question, tried, place, customer,
                                          opened_by, query_id, created_at, updated_at)
                     VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
                    &[
                        &t.product.as_str(),
                        &t.entry.as_ref().map(EntryId::as_str),
                        &t.question,
                        &tried,
                        &t.key.place.as_str(),
                        &t.key.user.as_str(),
                        &t.opened_by.as_str(),
                        &t.query.map(|q| q.0),
                        &now,
                    ],
                )
                .await?;
            let id = TicketId(row.get(0));
            for (pos, f) in t.fields.iter().enumerate() {
                tx.execute(
                    "INSERT INTO ticket_fields (ticket_id, position, field_id, label, value)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[&id.0, &(pos as i64), &f.id.as_str(), &f.label, &f.value],
                )
                .await?;
            }
            read_ticket(tx, id)
                .await?
                .ok_or_else(|| corrupt("tickets", "inserted ticket not found"))
        })
    }

    fn ticket(&mut self, id: TicketId) -> Result<Option<Ticket>, StoreError> {
        self.store.wait(read_ticket(self.tx, id))
    }

    fn set_ticket_status(
        &mut self,
        id: TicketId,
        status: TicketStatus,
        claimed_by: Option<&UserId>,
        close_reason: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.store.wait(self.tx.execute(
            "UPDATE tickets SET status = $2, claimed_by = COALESCE($3, claimed_by),
                                updated_at = $4, close_reason = $5
             WHERE id = $1",
            &[
                &id.0,
                &status.as_str(),
                &claimed_by.map(UserId::as_str),
                &at.unix_timestamp(),
                &close_reason,
            ],
        ))?;
        Ok(())
    }

    fn insert_query(&mut self, q: &NewQuery) -> Result<QueryId, StoreError> {
        let results = serde_json::to_string(&q.results)?;
        let row = self.store.wait(self.tx.query_one(
            "INSERT INTO queries (at, place, \"user\", asked_by, product, text, decision, results,
                                  check_id, entry)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &[
                &q.at.unix_timestamp(),
                &q.key.place.as_str(),
                &q.key.user.as_str(),
                &q.asked_by.as_str(),
                &q.product.as_ref().map(ProductId::as_str),
                &q.text,
                &decision_str(q.decision),
                &results,
                &q.check.as_ref().map(CheckId::as_str),
                &q.entry.as_ref().map(EntryId::as_str),
            ],
        ))?;
        Ok(QueryId(row.get(0)))
    }

    fn update_query(&mut self, id: QueryId, u: &QueryUpdate) -> Result<(), StoreError> {
        let tried = u.tried.as_ref().map(serde_json::to_string).transpose()?;
        self.store.wait(self.tx.execute(
            "UPDATE queries SET
                product = COALESCE($2, product),
                entry = COALESCE($3, entry),
                feedback = COALESCE($4, feedback),
                tried = COALESCE($5, tried),
                ticket_id = COALESCE($6, ticket_id)
             WHERE id = $1",
            &[
                &id.0,
                &u.product.as_ref().map(ProductId::as_str),
                &u.entry.as_ref().map(EntryId::as_str),
                &u.feedback.map(Feedback::as_str),
                &tried,
                &u.escalated.map(|t| t.0),
            ],
        ))?;
        Ok(())
    }

    fn log_event(&mut self, e: &NewEvent) -> Result<(), StoreError> {
        let detail = e.detail.to_string();
        self.store.wait(self.tx.execute(
            "INSERT INTO events (at, place, \"user\", author, ticket_id, kind, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &e.at.unix_timestamp(),
                &e.key.as_ref().map(|k| k.place.as_str()),
                &e.key.as_ref().map(|k| k.user.as_str()),
                &e.author.as_str(),
                &e.ticket.map(|t| t.0),
                &e.kind,
                &detail,
            ],
        ))?;
        Ok(())
    }

    fn add_timer(
        &mut self,
        ticket: TicketId,
        kind: TimerKind,
        due_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<TimerId, StoreError> {
        let row = self.store.wait(self.tx.query_one(
            "INSERT INTO timers (ticket_id, kind, due_at, created_at) VALUES ($1, $2, $3, $4)
             RETURNING id",
            &[
                &ticket.0,
                &kind.as_str(),
                &due_at.unix_timestamp(),
                &now.unix_timestamp(),
            ],
        ))?;
        Ok(TimerId(row.get(0)))
    }

    fn cancel_timers(
        &mut self,
        ticket: TicketId,
        kinds: &[TimerKind],
    ) -> Result<usize, StoreError> {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let n = self.store.wait(self.tx.execute(
            "UPDATE timers SET state = 'cancelled'
             WHERE ticket_id = $1 AND kind = ANY($2) AND state = 'pending'",
            &[&ticket.0, &kinds],
        ))?;
        Ok(n as usize)
    }

    /// `FOR UPDATE SKIP LOCKED`: a timer another poller is firing right
    /// now is skipped, not waited for; once fired it is no longer pending.
    fn claim_timer(
        &mut self,
        id: TimerId,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Timer>, StoreError> {
        let row = self.store.wait(self.tx.query_opt(
            &format!(
                "UPDATE timers SET state = 'done', claim_token = $2, fired_at = $3
                 WHERE id = (SELECT id FROM timers
                             WHERE id = $1 AND state = 'pending' AND due_at <= $3
                             FOR UPDATE SKIP LOCKED)
                 RETURNING {TIMER_COLS}"
            ),
            &[&id.0, &token, &now.unix_timestamp()],
        ))?;
        row.map(|r| decode_timer(timer_of(&r))).transpose()
    }

    fn lifecycle(&mut self, ticket: TicketId) -> Result<Lifecycle, StoreError> {
        let row = self.store.wait(self.tx.query_opt(
            &format!("SELECT {LIFE_COLS} FROM ticket_lifecycle WHERE ticket_id = $1"),
            &[&ticket.0],
        ))?;
        match row {
            Some(r) => decode_life(life_of(&r)),
            None => Ok(Lifecycle::new(ticket)),
        }
    }

    fn save_lifecycle(&mut self, l: &Lifecycle) -> Result<(), StoreError> {
        let request = l
            .close_request
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?;
        self.store.wait(self.tx.execute(
            "INSERT INTO ticket_lifecycle (ticket_id, hold, last_customer_at, first_staff_reply_at,
                                           first_staff_by, resolved_at, close_request)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (ticket_id) DO UPDATE SET hold = excluded.hold,
                last_customer_at = excluded.last_customer_at,
                first_staff_reply_at = excluded.first_staff_reply_at,
                first_staff_by = excluded.first_staff_by, resolved_at = excluded.resolved_at,
                close_request = excluded.close_request",
            &[
                &l.ticket.0,
                &l.hold,
                &l.last_customer_at.map(|t| t.unix_timestamp()),
                &l.first_staff_reply_at.map(|t| t.unix_timestamp()),
                &l.first_staff_by.as_ref().map(UserId::as_str),
                &l.resolved_at.map(|t| t.unix_timestamp()),
                &request,
            ],
        ))?;
        Ok(())
    }

    fn survey(&mut self, ticket: TicketId) -> Result<Option<Survey>, StoreError> {
        let row = self.store.wait(self.tx.query_opt(
            &format!("SELECT {SURVEY_COLS} FROM surveys WHERE ticket_id = $1"),
            &[&ticket.0],
        ))?;
        row.map(|r| decode_survey(survey_of(&r))).transpose()
    }

    fn save_survey(&mut self, s: &Survey) -> Result<(), StoreError> {
        self.store.wait(self.tx.execute(
            "INSERT INTO surveys (ticket_id, product, staff, asked_at, rating, comment, answered_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (ticket_id) DO UPDATE SET product = excluded.product,
                staff = excluded.staff, asked_at = excluded.asked_at, rating = excluded.rating,
                comment = excluded.comment, answered_at = excluded.answered_at",
            &[
                &s.ticket.0,
                &s.product.as_str(),
                &s.staff.as_ref().map(UserId::as_str),
                &s.asked_at.unix_timestamp(),
                &s.rating.map(i64::from),
                &s.comment,
                &s.answered_at.map(|t| t.unix_timestamp()),
            ],
        ))?;
        Ok(())
    }

    fn place_of(&mut self, ticket: TicketId) -> Result<Option<Place>, StoreError> {
        self.store.wait(read_place_of(self.tx, ticket))
    }
}

pub(super) fn timer_of(r: &Row) -> life::RawTimer {
    (
        r.get(0),
        r.get(1),
        r.get(2),
        r.get(3),
        r.get(4),
        r.get(5),
        r.get(6),
    )
}

pub(super) fn life_of(r: &Row) -> life::RawLife {
    (
        r.get(0),
        r.get(1),
        r.get(2),
        r.get(3),
        r.get(4),
        r.get(5),
        r.get(6),
    )
}

pub(super) fn survey_of(r: &Row) -> life::RawSurvey {
    (
        r.get(0),
        r.get(1),
        r.get(2),
        r.get(3),
        r.get(4),
        r.get(5),
        r.get(6),
    )
}

pub(super) async fn read_conversation<C: GenericClient + Sync>(
    c: &C,
    key: &ConversationKey,
) -> Result<Option<StoredConversation>, StoreError> {
    let row = c
        .query_opt(
            "SELECT state, phase, inputs_seen FROM conversations WHERE place = $1 AND \"user\" = $2",
            &[&key.place.as_str(), &key.user.as_str()],
        )
        .await?;
    Ok(row.map(|r| StoredConversation {
        state: r.get(0),
        phase: r.get(1),
        inputs_seen: r.get::<_, i64>(2).max(0) as u64,
    }))
}

pub(super) async fn read_ticket<C: GenericClient + Sync>(
    c: &C,
    id: TicketId,
) -> Result<Option<Ticket>, StoreError> {
    let Some(r) = c
        .query_opt(
            "SELECT product, entry, status, question, tried, place, customer, opened_by,
                    claimed_by, created_at, updated_at, close_reason
             FROM tickets WHERE id = $1",
            &[&id.0],
        )
        .await?
    else {
        return Ok(None);
    };
    let fields = c
        .query(
            "SELECT field_id, label, value FROM ticket_fields WHERE ticket_id = $1
             ORDER BY position",
            &[&id.0],
        )
        .await?
        .into_iter()
        .map(|f| FieldValue {
            id: FieldId::new(f.get::<_, String>(0)),
            label: f.get(1),
            value: f.get(2),
        })
        .collect();
    let status: String = r.get(2);
    let tried: String = r.get(4);
    Ok(Some(Ticket {
        id,
        product: ProductId::new(r.get::<_, String>(0)),
        entry: r.get::<_, Option<String>>(1).map(EntryId::new),
        status: TicketStatus::parse(&status).ok_or_else(|| corrupt("tickets.status", &status))?,
        question: r.get(3),
        tried: decode_ids(&tried, "tickets.tried")?,
        fields,
        place: Place::new(r.get::<_, String>(5)),
        customer: UserId::new(r.get::<_, String>(6)),
        opened_by: UserId::new(r.get::<_, String>(7)),
        claimed_by: r.get::<_, Option<String>>(8).map(UserId::new),
        close_reason: r.get(11),
        created_at: from_unix(r.get(9))?,
        updated_at: from_unix(r.get(10))?,
    }))
}

pub(super) async fn read_place_of<C: GenericClient + Sync>(
    c: &C,
    ticket: TicketId,
) -> Result<Option<Place>, StoreError> {
    let attached = c
        .query_opt(
            "SELECT place FROM ticket_places WHERE ticket_id = $1 ORDER BY seq DESC LIMIT 1",
            &[&ticket.0],
        )
        .await?;
    if let Some(r) = attached {
        return Ok(Some(Place::new(r.get::<_, String>(0))));
    }
    let own = c
        .query_opt("SELECT place FROM tickets WHERE id = $1", &[&ticket.0])
        .await?;
    Ok(own.map(|r| Place::new(r.get::<_, String>(0))))
}
