//! `Store` on PostgreSQL. `apply` runs one input in one transaction under
//! `pg_advisory_xact_lock(conversation)`, so two processes never apply
//! inputs of one conversation at once; the input id's primary key makes a
//! concurrent duplicate come back as `Duplicate`. The other calls are
//! single statements on a pooled connection.

use time::OffsetDateTime;
use tokio_postgres::error::SqlState;

use super::tx::{
    life_of, read_conversation, read_place_of, read_ticket, survey_of, timer_of, PgTx,
};
use super::{lock_key, PgStore};
use crate::tickets::lifecycle::{
    decode_life, decode_survey, decode_timer, LIFE_COLS, SURVEY_COLS, TIMER_COLS,
};
use crate::tickets::sqlite::{from_unix, RawQuery};
use crate::tickets::{
    Applied, ConversationKey, InputId, InputMeta, Lifecycle, OpenThread, Place, QueryRecord, Store,
    StoreError, StoredConversation, Survey, Ticket, TicketId, TicketStatus, Timer, Tx,
    UndeliveredReply,
};

/// How often `apply` starts over after a serialization failure, a deadlock
/// or a connection lost before commit (nothing of the attempt committed).
const ATTEMPTS: usize = 3;

enum Outcome {
    Done(Applied),
    /// Another process committed the same input id first.
    Raced,
}

impl PgStore {
    fn apply_once(
        &self,
        input: &InputMeta<'_>,
        step: &mut dyn FnMut(&mut dyn Tx) -> Result<String, StoreError>,
    ) -> Result<Outcome, StoreError> {
        let mut client = self.client()?;
        let tx = self.wait(client.transaction())?;
        let key = match input.key {
            Some(k) => lock_key(&["conversation", k.place.as_str(), k.user.as_str()]),
            None => lock_key(&["input", input.id.as_str()]),
        };
        self.wait(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key]))?;
        let seen = self.wait(tx.query_opt(
            "SELECT reply, delivered_at FROM inputs WHERE id = $1",
            &[&input.id.as_str()],
        ))?;
        if let Some(r) = seen {
            return Ok(Outcome::Done(Applied::Duplicate {
                reply: r.get(0),
                delivered: r.get::<_, Option<i64>>(1).is_some(),
            }));
        }
        let reply = step(&mut PgTx {
            store: self,
            tx: &tx,
        })?;
        // Waits for a concurrent insert of the same id to commit or roll
        // back; if it committed, this inserts nothing.
        let inserted = self.wait(tx.execute(
            "INSERT INTO inputs (id, place, \"user\", author, at, reply, origin)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            &[
                &input.id.as_str(),
                &input.key.map(|k| k.place.as_str()),
                &input.key.map(|k| k.user.as_str()),
                &input.author.as_str(),
                &input.at.unix_timestamp(),
                &reply,
                &input.origin.map(Place::as_str),
            ],
        ))?;
        if inserted == 0 {
            // Dropping `tx` rolls back this attempt's writes.
            return Ok(Outcome::Raced);
        }
        self.wait(tx.commit())?;
        Ok(Outcome::Done(Applied::Fresh(reply)))
    }
}

/// Worth another attempt: nothing was committed, and trying again can work.
fn retryable(e: &StoreError) -> bool {
    match e {
        StoreError::Postgres(e) => {
            e.is_closed()
                || matches!(
                    e.code(),
                    Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
                        || *c == SqlState::T_R_DEADLOCK_DETECTED
                        || *c == SqlState::ADMIN_SHUTDOWN
                )
        }
        _ => false,
    }
}

impl Store for PgStore {
    fn apply(
        &self,
        input: &InputMeta<'_>,
        step: &mut dyn FnMut(&mut dyn Tx) -> Result<String, StoreError>,
    ) -> Result<Applied, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.apply_once(input, step) {
                Ok(Outcome::Done(applied)) => return Ok(applied),
                Ok(Outcome::Raced) => {
                    let r = self.wait(self.client()?.query_one(
                        "SELECT reply, delivered_at FROM inputs WHERE id = $1",
                        &[&input.id.as_str()],
                    ))?;
                    return Ok(Applied::Duplicate {
                        reply: r.get(0),
                        delivered: r.get::<_, Option<i64>>(1).is_some(),
                    });
                }
                Err(e) if attempt < ATTEMPTS && retryable(&e) => {
                    tracing::warn!(error = %e, attempt, input = %input.id, "retrying an input on PostgreSQL");
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn mark_delivered(&self, id: &InputId, at: OffsetDateTime) -> Result<(), StoreError> {
        let mut client = self.client()?;
        self.wait(async {
            let tx = client.transaction().await?;
            tx.execute(
                "UPDATE inputs SET delivered_at = $2 WHERE id = $1 AND delivered_at IS NULL",
                &[&id.as_str(), &at.unix_timestamp()],
            )
            .await?;
            tx.execute(
                "DELETE FROM delivery_parts WHERE input_id = $1",
                &[&id.as_str()],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn undelivered(&self, since: OffsetDateTime) -> Result<Vec<UndeliveredReply>, StoreError> {
        let rows = self.wait(self.client()?.query(
            "SELECT id, place, \"user\", origin, at, reply FROM inputs
             WHERE delivered_at IS NULL AND at >= $1 ORDER BY at, seq",
            &[&since.unix_timestamp()],
        ))?;
        rows.into_iter()
            .map(|r| {
                let place: Option<String> = r.get(1);
                let user: Option<String> = r.get(2);
                Ok(UndeliveredReply {
                    id: InputId::new(r.get::<_, String>(0)),
                    key: place.zip(user).map(|(p, u)| ConversationKey::new(p, u)),
                    origin: r.get::<_, Option<String>>(3).map(Place::new),
                    at: from_unix(r.get(4))?,
                    reply: r.get(5),
                })
            })
            .collect()
    }

    /// `FOR UPDATE SKIP LOCKED`: a reply another process is leasing right
    /// now is not waited for but left to it; one whose lease is live is
    /// not selected at all.
    fn claim_reply(
        &self,
        id: &InputId,
        owner: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let n = self.wait(self.client()?.execute(
            "UPDATE inputs SET lease_owner = $2, lease_until = $4
             WHERE id IN (SELECT id FROM inputs
                          WHERE id = $1 AND delivered_at IS NULL
                            AND (lease_until IS NULL OR lease_until <= $3 OR lease_owner = $2)
                          FOR UPDATE SKIP LOCKED)",
            &[
                &id.as_str(),
                &owner,
                &now.unix_timestamp(),
                &until.unix_timestamp(),
            ],
        ))?;
        Ok(n == 1)
    }

    fn conversation(
        &self,
        key: &ConversationKey,
    ) -> Result<Option<StoredConversation>, StoreError> {
        let client = self.client()?;
        self.wait(read_conversation(&**client, key))
    }

    fn ticket(&self, id: TicketId) -> Result<Option<Ticket>, StoreError> {
        let client = self.client()?;
        self.wait(read_ticket(&**client, id))
    }

    fn attach_place(&self, ticket: TicketId, place: &Place) -> Result<(), StoreError> {
        // A re-attach moves the place to the end of the ticket's order.
        self.wait(self.client()?.execute(
            "INSERT INTO ticket_places (place, ticket_id) VALUES ($1, $2)
             ON CONFLICT (place) DO UPDATE SET ticket_id = excluded.ticket_id,
                seq = nextval(pg_get_serial_sequence('ticket_places', 'seq'))",
            &[&place.as_str(), &ticket.0],
        ))?;
        Ok(())
    }

    fn mark_part(
        &self,
        id: &InputId,
        part: &str,
        detail: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.wait(self.client()?.execute(
            "INSERT INTO delivery_parts (input_id, part, detail, at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (input_id, part) DO NOTHING",
            &[&id.as_str(), &part, &detail, &at.unix_timestamp()],
        ))?;
        Ok(())
    }

    fn parts(&self, id: &InputId) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let rows = self.wait(self.client()?.query(
            "SELECT part, detail FROM delivery_parts WHERE input_id = $1 ORDER BY seq",
            &[&id.as_str()],
        ))?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn set_conversation_thread(
        &self,
        key: &ConversationKey,
        thread: &Place,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.wait(self.client()?.execute(
            "INSERT INTO conversation_threads (place, \"user\", thread, at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (place, \"user\") DO UPDATE SET thread = excluded.thread, at = excluded.at",
            &[
                &key.place.as_str(),
                &key.user.as_str(),
                &thread.as_str(),
                &at.unix_timestamp(),
            ],
        ))?;
        Ok(())
    }

    fn conversation_thread(&self, key: &ConversationKey) -> Result<Option<Place>, StoreError> {
        let row = self.wait(self.client()?.query_opt(
            "SELECT thread FROM conversation_threads WHERE place = $1 AND \"user\" = $2",
            &[&key.place.as_str(), &key.user.as_str()],
        ))?;
        Ok(row.map(|r| Place::new(r.get::<_, String>(0))))
    }

    fn open_threads(&self) -> Result<Vec<OpenThread>, StoreError> {
        let rows = self.wait(self.client()?.query(
            "SELECT c.place, c.\"user\", COALESCE(t.thread, c.place),
                    (SELECT MAX(i.id::numeric)::text FROM inputs i
                     WHERE i.place = c.place AND i.\"user\" = c.\"user\" AND i.id ~ '^[0-9]+$')
             FROM conversations c
             LEFT JOIN conversation_threads t ON t.place = c.place AND t.\"user\" = c.\"user\"
             WHERE c.phase = 'collecting'
             ORDER BY c.updated_at",
            &[],
        ))?;
        Ok(rows
            .into_iter()
            .map(|r| OpenThread {
                key: ConversationKey::new(r.get::<_, String>(0), r.get::<_, String>(1)),
                thread: Place::new(r.get::<_, String>(2)),
                last_input: r
                    .get::<_, Option<String>>(3)
                    .and_then(|n| n.parse::<u64>().ok()),
            })
            .collect())
    }

    fn ticket_at(&self, place: &Place) -> Result<Option<TicketId>, StoreError> {
        let client = self.client()?;
        self.wait(async {
            if let Some(r) = client
                .query_opt(
                    "SELECT ticket_id FROM ticket_places WHERE place = $1",
                    &[&place.as_str()],
                )
                .await?
            {
                return Ok(Some(TicketId(r.get(0))));
            }
            let r = client
                .query_opt(
                    "SELECT id FROM tickets WHERE place = $1 ORDER BY id DESC LIMIT 1",
                    &[&place.as_str()],
                )
                .await?;
            Ok(r.map(|r| TicketId(r.get(0))))
        })
    }

    fn tickets(&self, status: Option<TicketStatus>) -> Result<Vec<Ticket>, StoreError> {
        let client = self.client()?;
        self.wait(async {
            let ids = client
                .query(
                    "SELECT id FROM tickets WHERE $1::text IS NULL OR status = $1 ORDER BY id DESC",
                    &[&status.map(TicketStatus::as_str)],
                )
                .await?;
            let mut out = Vec::with_capacity(ids.len());
            for r in ids {
                if let Some(t) = read_ticket(&**client, TicketId(r.get(0))).await? {
                    out.push(t);
                }
            }
            Ok(out)
        })
    }

    fn queries_since(&self, since: OffsetDateTime) -> Result<Vec<QueryRecord>, StoreError> {
        let rows = self.wait(self.client()?.query(
            "SELECT id, at, place, \"user\", asked_by, product, text, decision, results, check_id,
                    entry, feedback, tried, ticket_id
             FROM queries WHERE at >= $1 ORDER BY at, id",
            &[&since.unix_timestamp()],
        ))?;
        rows.into_iter()
            .map(|r| {
                RawQuery {
                    id: r.get(0),
                    at: r.get(1),
                    place: r.get(2),
                    user: r.get(3),
                    asked_by: r.get(4),
                    product: r.get(5),
                    text: r.get(6),
                    decision: r.get(7),
                    results: r.get(8),
                    check: r.get(9),
                    entry: r.get(10),
                    feedback: r.get(11),
                    tried: r.get(12),
                    ticket: r.get(13),
                }
                .decode()
            })
            .collect()
    }

    fn due_timers(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<Timer>, StoreError> {
        let rows = self.wait(self.client()?.query(
            &format!(
                "SELECT {TIMER_COLS} FROM timers WHERE state = 'pending' AND due_at <= $1
                 ORDER BY due_at, id LIMIT $2"
            ),
            &[&now.unix_timestamp(), &(limit as i64)],
        ))?;
        rows.iter().map(|r| decode_timer(timer_of(r))).collect()
    }

    fn timers(&self, ticket: Option<TicketId>) -> Result<Vec<Timer>, StoreError> {
        let rows = self.wait(self.client()?.query(
            &format!(
                "SELECT {TIMER_COLS} FROM timers WHERE $1::bigint IS NULL OR ticket_id = $1
                 ORDER BY id"
            ),
            &[&ticket.map(|t| t.0)],
        ))?;
        rows.iter().map(|r| decode_timer(timer_of(r))).collect()
    }

    fn lifecycles(&self) -> Result<Vec<Lifecycle>, StoreError> {
        let rows = self.wait(self.client()?.query(
            &format!("SELECT {LIFE_COLS} FROM ticket_lifecycle ORDER BY ticket_id"),
            &[],
        ))?;
        rows.iter().map(|r| decode_life(life_of(r))).collect()
    }

    fn surveys(&self) -> Result<Vec<Survey>, StoreError> {
        let rows = self.wait(self.client()?.query(
            &format!("SELECT {SURVEY_COLS} FROM surveys ORDER BY ticket_id"),
            &[],
        ))?;
        rows.iter().map(|r| decode_survey(survey_of(r))).collect()
    }

    fn place_of(&self, ticket: TicketId) -> Result<Option<Place>, StoreError> {
        let client = self.client()?;
        self.wait(read_place_of(&**client, ticket))
    }

    fn archive(&self) -> Option<&dyn crate::archive::Archive> {
        Some(self)
    }
}
