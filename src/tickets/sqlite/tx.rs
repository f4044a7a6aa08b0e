//! `SqlTx`: the SQLite side of one input's transaction, lent to the
//! engine's step (`Tx`): conversations, tickets and their fields, places,
//! events, the query log and the lifecycle rows, all inside the
//! transaction `SqliteStore::apply` opened.

use super::*;

/// A transaction in progress, lent to the engine's step.
pub(super) struct SqlTx<'a> {
    pub(super) tx: &'a rusqlite::Transaction<'a>,
}

impl Tx for SqlTx<'_> {
    fn conversation(
        &mut self,
        key: &ConversationKey,
    ) -> Result<Option<StoredConversation>, StoreError> {
        read_conversation(self.tx, key)
    }

    fn save_conversation(
        &mut self,
        key: &ConversationKey,
        state: &str,
        phase: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO conversations (place, user, state, phase, inputs_seen, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)
             ON CONFLICT (place, user) DO UPDATE SET
                state = excluded.state, phase = excluded.phase,
                inputs_seen = inputs_seen + 1, updated_at = excluded.updated_at",
            params![key.place.as_str(), key.user.as_str(), state, phase, at.unix_timestamp()],
        )?;
        Ok(())
    }

    fn insert_ticket(&mut self, t: &NewTicket, at: OffsetDateTime) -> Result<Ticket, StoreError> {
        let now = at.unix_timestamp();
        self.tx.execute(
            "INSERT INTO tickets (product, entry, status, question, tried, place, customer, opened_by,
                                  query_id, created_at, updated_at)
             VALUES (?1, ?2, 'open', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            params![
                t.product.as_str(),
                t.entry.as_ref().map(EntryId::as_str),
                t.question,
                serde_json::to_string(&t.tried)?,
                t.key.place.as_str(),
                t.key.user.as_str(),
                t.opened_by.as_str(),
                t.query.map(|q| q.0),
                now,
            ],
        )?;
        let id = TicketId(self.tx.last_insert_rowid());
        for (pos, f) in t.fields.iter().enumerate() {
            self.tx.execute(
                "INSERT INTO ticket_fields (ticket_id, position, field_id, label, value)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id.0, pos as i64, f.id.as_str(), f.label, f.value],
            )?;
        }
        read_ticket(self.tx, id)?.ok_or_else(|| corrupt("tickets", "inserted ticket not found"))
    }

    fn ticket(&mut self, id: TicketId) -> Result<Option<Ticket>, StoreError> {
        read_ticket(self.tx, id)
    }

    fn set_ticket_status(
        &mut self,
        id: TicketId,
        status: TicketStatus,
        claimed_by: Option<&UserId>,
        close_reason: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE tickets SET status = ?2, claimed_by = COALESCE(?3, claimed_by), updated_at = ?4,
                                close_reason = ?5
             WHERE id = ?1",
            params![
                id.0,
                status.as_str(),
                claimed_by.map(UserId::as_str),
                at.unix_timestamp(),
                close_reason,
            ],
        )?;
        Ok(())
    }

    fn insert_query(&mut self, q: &NewQuery) -> Result<QueryId, StoreError> {
        self.tx.execute(
            "INSERT INTO queries (at, place, user, asked_by, product, text, decision, results, check_id, entry)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                q.at.unix_timestamp(),
                q.key.place.as_str(),
                q.key.user.as_str(),
                q.asked_by.as_str(),
                q.product.as_ref().map(ProductId::as_str),
                q.text,
                decision_str(q.decision),
                serde_json::to_string(&q.results)?,
                q.check.as_ref().map(CheckId::as_str),
                q.entry.as_ref().map(EntryId::as_str),
            ],
        )?;
        Ok(QueryId(self.tx.last_insert_rowid()))
    }

    fn update_query(&mut self, id: QueryId, u: &QueryUpdate) -> Result<(), StoreError> {
        let tried = u.tried.as_ref().map(serde_json::to_string).transpose()?;
        self.tx.execute(
            "UPDATE queries SET
                product = COALESCE(?2, product),
                entry = COALESCE(?3, entry),
                feedback = COALESCE(?4, feedback),
                tried = COALESCE(?5, tried),
                ticket_id = COALESCE(?6, ticket_id)
             WHERE id = ?1",
            params![
                id.0,
                u.product.as_ref().map(ProductId::as_str),
                u.entry.as_ref().map(EntryId::as_str),
                u.feedback.map(Feedback::as_str),
                tried,
                u.escalated.map(|t| t.0),
            ],
        )?;
        Ok(())
    }

    fn log_event(&mut self, e: &NewEvent) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO events (at, place, user, author, ticket_id, kind, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                e.at.unix_timestamp(),
                e.key.as_ref().map(|k| k.place.as_str()),
                e.key.as_ref().map(|k| k.user.as_str()),
                e.author.as_str(),
                e.ticket.map(|t| t.0),
                e.kind,
                e.detail.to_string(),
            ],
        )?;
        Ok(())
    }

    fn add_timer(
        &mut self,
        ticket: TicketId,
        kind: TimerKind,
        due_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<TimerId, StoreError> {
        life::add_timer(self.tx, ticket, kind, due_at, now)
    }

    fn cancel_timers(
        &mut self,
        ticket: TicketId,
        kinds: &[TimerKind],
    ) -> Result<usize, StoreError> {
        life::cancel_timers(self.tx, ticket, kinds)
    }

    fn claim_timer(
        &mut self,
        id: TimerId,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Timer>, StoreError> {
        life::claim_timer(self.tx, id, token, now)
    }

    fn lifecycle(&mut self, ticket: TicketId) -> Result<Lifecycle, StoreError> {
        life::lifecycle(self.tx, ticket)
    }

    fn save_lifecycle(&mut self, l: &Lifecycle) -> Result<(), StoreError> {
        life::save_lifecycle(self.tx, l)
    }

    fn survey(&mut self, ticket: TicketId) -> Result<Option<Survey>, StoreError> {
        life::survey(self.tx, ticket)
    }

    fn save_survey(&mut self, s: &Survey) -> Result<(), StoreError> {
        life::save_survey(self.tx, s)
    }

    fn place_of(&mut self, ticket: TicketId) -> Result<Option<Place>, StoreError> {
        Ok(life::place_of(self.tx, ticket)?.map(Place::new))
    }
}
