//! `Archive` on the embedded SQLite store: the tables of migration 0007 in
//! the same file as the tickets, behind the same connection lock.

use rusqlite::{params, Connection, OptionalExtension};
use time::OffsetDateTime;

use super::{
    like_pattern, Archive, Attachment, Edit, EventRecord, NewMessage, Principal, Redeemed, Role,
    Session, TicketFilter, TicketPage, TranscriptMessage,
};
use crate::kb::ProductId;
use crate::tickets::{Place, SqliteStore, Store, StoreError, Ticket, TicketId, UserId};

impl Archive for SqliteStore {
    fn record_message(&self, m: &NewMessage) -> Result<bool, StoreError> {
        let conn = self.lock()?;
        if let Some(g) = &m.guild {
            note_guild(&conn, &m.place, g)?;
        }
        let n = conn.execute(
            "INSERT OR IGNORE INTO transcript_messages
                (id, place, guild, conv_user, author, author_name, role, at, content, attachments)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                m.id,
                m.place.as_str(),
                m.guild,
                m.conv_user.as_ref().map(UserId::as_str),
                m.author.as_str(),
                m.author_name,
                m.role.as_str(),
                m.at.unix_timestamp(),
                m.content,
                serde_json::to_string(&m.attachments)?,
            ],
        )?;
        Ok(n == 1)
    }

    fn record_edit(
        &self,
        id: &str,
        at: OffsetDateTime,
        content: &str,
        attachments: Option<&[Attachment]>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let old: Option<String> = tx
            .query_row(
                "SELECT content FROM transcript_messages WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        let changed = match old {
            Some(old) if old != content => {
                tx.execute(
                    "INSERT INTO transcript_edits (message_id, at, previous) VALUES (?1, ?2, ?3)",
                    params![id, at.unix_timestamp(), old],
                )?;
                tx.execute(
                    "UPDATE transcript_messages SET content = ?2, edited_at = ?3 WHERE id = ?1",
                    params![id, content, at.unix_timestamp()],
                )?;
                true
            }
            _ => false,
        };
        if let Some(a) = attachments {
            tx.execute(
                "UPDATE transcript_messages SET attachments = ?2 WHERE id = ?1",
                params![id, serde_json::to_string(a)?],
            )?;
        }
        tx.commit()?;
        Ok(changed)
    }

    fn record_delete(&self, id: &str, at: OffsetDateTime) -> Result<bool, StoreError> {
        let conn = self.lock()?;
        let n = conn.execute(
            "UPDATE transcript_messages SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            params![id, at.unix_timestamp()],
        )?;
        Ok(n == 1)
    }

    fn note_place_guild(&self, place: &Place, guild: &str) -> Result<(), StoreError> {
        let conn = self.lock()?;
        note_guild(&conn, place, guild)
    }

    fn ticket_guild(&self, ticket: &Ticket) -> Result<Option<String>, StoreError> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT guild FROM place_guilds
                 WHERE place = ?2 OR place IN (SELECT place FROM ticket_places WHERE ticket_id = ?1)
                 LIMIT 1",
                params![ticket.id.0, ticket.place.as_str()],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn place_guild(&self, place: &Place) -> Result<Option<String>, StoreError> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT guild FROM place_guilds WHERE place = ?1",
                [place.as_str()],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn guild_places(&self, guild: &str) -> Result<Vec<Place>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare("SELECT place FROM place_guilds WHERE guild = ?1")?;
        let rows = stmt.query_map([guild], |r| r.get::<_, String>(0))?;
        rows.map(|r| r.map(Place::new).map_err(StoreError::from))
            .collect()
    }

    fn transcript(&self, ticket: &Ticket) -> Result<Vec<TranscriptMessage>, StoreError> {
        let conn = self.lock()?;
        // Gateway events are recorded in the order they are handled, not
        // always the order they were sent; within a second, Discord's
        // message ids (snowflakes, which grow with time) say which came
        // first. Terminal lines are recorded in order.
        let mut stmt = conn.prepare(
            "SELECT id, place, author, author_name, role, at, content, attachments, deleted_at
             FROM transcript_messages
             WHERE place IN (SELECT place FROM ticket_places WHERE ticket_id = ?1)
                OR (place = ?2 AND (conv_user IS NULL OR conv_user = ?3))
             ORDER BY at, CASE WHEN id GLOB '[0-9]*' THEN CAST(id AS INTEGER) ELSE rowid END",
        )?;
        let rows = stmt
            .query_map(
                params![ticket.id.0, ticket.place.as_str(), ticket.customer.as_str()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, String>(7)?,
                        r.get::<_, Option<i64>>(8)?,
                    ))
                },
            )?
            .collect::<Result<Vec<_>, _>>()?;
        let mut edits = conn.prepare(
            "SELECT at, previous FROM transcript_edits WHERE message_id = ?1 ORDER BY at, rowid",
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, place, author, author_name, role, at, content, attachments, deleted) in rows {
            let history = edits
                .query_map([&id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .map(|(at, previous)| {
                    Ok(Edit {
                        at: unix(at)?,
                        previous,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            out.push(TranscriptMessage {
                role: Role::parse(&role).ok_or_else(|| corrupt("transcript.role", &role))?,
                attachments: serde_json::from_str(&attachments)
                    .map_err(|e| corrupt("transcript.attachments", e))?,
                id,
                place: Place::new(place),
                author: UserId::new(author),
                author_name,
                at: unix(at)?,
                content,
                edits: history,
                deleted_at: deleted.map(unix).transpose()?,
            });
        }
        Ok(out)
    }

    fn ticket_events(&self, id: TicketId) -> Result<Vec<EventRecord>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            "SELECT at, author, kind, detail FROM events WHERE ticket_id = ?1 ORDER BY at, id",
        )?;
        let rows = stmt
            .query_map([id.0], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(at, author, kind, detail)| {
                Ok(EventRecord {
                    at: unix(at)?,
                    author: UserId::new(author),
                    kind,
                    detail: serde_json::from_str(&detail)
                        .map_err(|e| corrupt("events.detail", e))?,
                })
            })
            .collect()
    }

    fn find_tickets(&self, f: &TicketFilter) -> Result<TicketPage, StoreError> {
        let (total, ids) = {
            let conn = self.lock()?;
            let pattern = f.text.as_deref().map(like_pattern);
            let args = params![
                f.status.map(|s| s.as_str()),
                f.product.as_ref().map(ProductId::as_str),
                f.guild,
                f.claimed_by.as_ref().map(UserId::as_str),
                pattern,
            ];
            let total: i64 = conn.query_row(
                &format!("SELECT COUNT(*) FROM tickets t {FILTER}"),
                args,
                |r| r.get(0),
            )?;
            let mut stmt = conn.prepare(&format!(
                "SELECT t.id FROM tickets t {FILTER} ORDER BY t.id DESC LIMIT ?6 OFFSET ?7"
            ))?;
            let ids: Vec<i64> = stmt
                .query_map(
                    params![
                        f.status.map(|s| s.as_str()),
                        f.product.as_ref().map(ProductId::as_str),
                        f.guild,
                        f.claimed_by.as_ref().map(UserId::as_str),
                        f.text.as_deref().map(like_pattern),
                        f.limit as i64,
                        f.offset as i64,
                    ],
                    |r| r.get(0),
                )?
                .collect::<Result<_, _>>()?;
            (total.max(0) as usize, ids)
        };
        let mut tickets = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(t) = self.ticket(TicketId(id))? {
                tickets.push(t);
            }
        }
        Ok(TicketPage { total, tickets })
    }

    fn create_login(
        &self,
        token_hash: &str,
        who: &Principal,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO dashboard_logins (token_hash, user, guild, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                token_hash,
                who.user.as_str(),
                who.guild,
                at.unix_timestamp(),
                expires_at.unix_timestamp()
            ],
        )?;
        Ok(())
    }

    fn redeem_login(&self, token_hash: &str, now: OffsetDateTime) -> Result<Redeemed, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let row: Option<(String, Option<String>, i64, Option<i64>)> = tx
            .query_row(
                "SELECT user, guild, expires_at, used_at FROM dashboard_logins WHERE token_hash = ?1",
                [token_hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let outcome = match row {
            None => Redeemed::Unknown,
            Some((_, _, _, Some(_))) => Redeemed::Used,
            Some((_, _, exp, None)) if now.unix_timestamp() >= exp => Redeemed::Expired,
            Some((user, guild, _, None)) => {
                tx.execute(
                    "UPDATE dashboard_logins SET used_at = ?2 WHERE token_hash = ?1",
                    params![token_hash, now.unix_timestamp()],
                )?;
                Redeemed::Ok(Principal {
                    user: UserId::new(user),
                    guild,
                })
            }
        };
        tx.commit()?;
        Ok(outcome)
    }

    fn create_session(
        &self,
        id_hash: &str,
        s: &Session,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO dashboard_sessions (id_hash, user, guild, csrf, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id_hash,
                s.principal.user.as_str(),
                s.principal.guild,
                s.csrf,
                at.unix_timestamp(),
                s.expires_at.unix_timestamp()
            ],
        )?;
        Ok(())
    }

    fn session(&self, id_hash: &str, now: OffsetDateTime) -> Result<Option<Session>, StoreError> {
        let conn = self.lock()?;
        let row: Option<(String, Option<String>, String, i64)> = conn
            .query_row(
                "SELECT user, guild, csrf, expires_at FROM dashboard_sessions WHERE id_hash = ?1",
                [id_hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        match row {
            Some((user, guild, csrf, exp)) if now.unix_timestamp() < exp => Ok(Some(Session {
                principal: Principal {
                    user: UserId::new(user),
                    guild,
                },
                csrf,
                expires_at: unix(exp)?,
            })),
            _ => Ok(None),
        }
    }
    fn end_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.execute(
            "DELETE FROM dashboard_sessions WHERE id_hash = ?1",
            [id_hash],
        )?;
        Ok(())
    }

    fn places_of(&self, id: TicketId) -> Result<Vec<Place>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            "SELECT place FROM ticket_places WHERE ticket_id = ?1
             UNION SELECT place FROM tickets WHERE id = ?1",
        )?;
        let rows = stmt
            .query_map([id.0], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows.into_iter().map(Place::new).collect())
    }

    fn ranking_of(&self, id: TicketId) -> Result<Vec<crate::tickets::LoggedResult>, StoreError> {
        let conn = self.lock()?;
        let json: Option<String> = conn
            .query_row(
                "SELECT q.results FROM tickets t JOIN queries q ON q.id = t.query_id WHERE t.id = ?1",
                [id.0],
                |r| r.get(0),
            )
            .optional()?;
        match json {
            Some(j) => serde_json::from_str(&j).map_err(|e| corrupt("queries.results", e)),
            None => Ok(Vec::new()),
        }
    }
}

/// The WHERE clause of a ticket search; parameters 1-5 are status,
/// product, guild, claimed-by and the LIKE pattern, each NULL for "any".
const FILTER: &str = "WHERE (?1 IS NULL OR t.status = ?1)
    AND (?2 IS NULL OR t.product = ?2)
    AND (?3 IS NULL OR EXISTS (
        SELECT 1 FROM place_guilds g WHERE g.guild = ?3 AND (g.place = t.place
            OR g.place IN (SELECT place FROM ticket_places p WHERE p.ticket_id = t.id))))
    AND (?4 IS NULL OR t.claimed_by = ?4)
    AND (?5 IS NULL
        OR t.question LIKE ?5 ESCAPE '\\'
        OR t.close_reason LIKE ?5 ESCAPE '\\'
        OR EXISTS (SELECT 1 FROM ticket_fields f WHERE f.ticket_id = t.id AND f.value LIKE ?5 ESCAPE '\\')
        OR EXISTS (SELECT 1 FROM transcript_messages m
            WHERE (m.place IN (SELECT place FROM ticket_places p WHERE p.ticket_id = t.id)
                   OR (m.place = t.place AND (m.conv_user IS NULL OR m.conv_user = t.customer)))
              AND m.content LIKE ?5 ESCAPE '\\'))";

fn note_guild(conn: &Connection, place: &Place, guild: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO place_guilds (place, guild) VALUES (?1, ?2)
         ON CONFLICT (place) DO NOTHING",
        params![place.as_str(), guild],
    )?;
    Ok(())
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
