//! `Archive` on PostgreSQL: transcripts, place guilds, ticket search, event
//! timelines and the dashboard's logins and sessions, in the tables of
//! `migrations/postgres/0007` (plus 0009's `transcript_messages.seq`),
//! with the semantics of the SQLite archive (`src/archive/sqlite.rs`).
//!
//! What several processes on one database change: a message id is
//! recorded once (`ON CONFLICT DO NOTHING`), an edit locks its message row
//! (`FOR UPDATE`) so concurrent edits each keep the text they replaced, and
//! a login link is used up by one conditional `UPDATE … RETURNING`, so of
//! two concurrent redemptions exactly one wins. A ticket search reads its
//! count and its page in one read-only snapshot.

use time::OffsetDateTime;
use tokio_postgres::{GenericClient, IsolationLevel};

use super::tx::read_ticket;
use super::PgStore;
use crate::archive::{
    like_pattern, Archive, Attachment, Edit, EventRecord, NewMessage, Principal, Redeemed, Role,
    Session, TicketFilter, TicketPage, TranscriptMessage,
};
use crate::kb::ProductId;
use crate::tickets::sqlite::{corrupt, from_unix};
use crate::tickets::{LoggedResult, Place, StoreError, Ticket, TicketId, UserId};

impl Archive for PgStore {
    fn record_message(&self, m: &NewMessage) -> Result<bool, StoreError> {
        let client = self.client()?;
        let attachments = serde_json::to_string(&m.attachments)?;
        self.wait(async {
            if let Some(g) = &m.guild {
                note_guild(&**client, &m.place, g).await?;
            }
            let n = client
                .execute(
                    "INSERT INTO transcript_messages
                        (id, place, guild, conv_user, author, author_name, role, at, content,
                         attachments)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     ON CONFLICT (id) DO NOTHING",
                    &[
                        &m.id,
                        &m.place.as_str(),
                        &m.guild,
                        &m.conv_user.as_ref().map(UserId::as_str),
                        &m.author.as_str(),
                        &m.author_name,
                        &m.role.as_str(),
                        &m.at.unix_timestamp(),
                        &m.content,
                        &attachments,
                    ],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn record_edit(
        &self,
        id: &str,
        at: OffsetDateTime,
        content: &str,
        attachments: Option<&[Attachment]>,
    ) -> Result<bool, StoreError> {
        let attachments = attachments.map(serde_json::to_string).transpose()?;
        let mut client = self.client()?;
        self.wait(async {
            let tx = client.transaction().await?;
            let old: Option<String> = tx
                .query_opt(
                    "SELECT content FROM transcript_messages WHERE id = $1 FOR UPDATE",
                    &[&id],
                )
                .await?
                .map(|r| r.get(0));
            let changed = match old {
                Some(old) if old != content => {
                    tx.execute(
                        "INSERT INTO transcript_edits (message_id, at, previous)
                         VALUES ($1, $2, $3)",
                        &[&id, &at.unix_timestamp(), &old],
                    )
                    .await?;
                    tx.execute(
                        "UPDATE transcript_messages SET content = $2, edited_at = $3
                         WHERE id = $1",
                        &[&id, &content, &at.unix_timestamp()],
                    )
                    .await?;
                    true
                }
                _ => false,
            };
            if let Some(a) = &attachments {
                tx.execute(
                    "UPDATE transcript_messages SET attachments = $2 WHERE id = $1",
                    &[&id, a],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(changed)
        })
    }

    fn record_delete(&self, id: &str, at: OffsetDateTime) -> Result<bool, StoreError> {
        let n = self.wait(self.client()?.execute(
            "UPDATE transcript_messages SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
            &[&id, &at.unix_timestamp()],
        ))?;
        Ok(n == 1)
    }

    fn note_place_guild(&self, place: &Place, guild: &str) -> Result<(), StoreError> {
        let client = self.client()?;
        self.wait(note_guild(&**client, place, guild))
    }

    fn ticket_guild(&self, ticket: &Ticket) -> Result<Option<String>, StoreError> {
        let row = self.wait(self.client()?.query_opt(
            "SELECT guild FROM place_guilds
             WHERE place = $2
                OR place IN (SELECT place FROM ticket_places WHERE ticket_id = $1)
             LIMIT 1",
            &[&ticket.id.0, &ticket.place.as_str()],
        ))?;
        Ok(row.map(|r| r.get(0)))
    }

    fn place_guild(&self, place: &Place) -> Result<Option<String>, StoreError> {
        let row = self.wait(self.client()?.query_opt(
            "SELECT guild FROM place_guilds WHERE place = $1",
            &[&place.as_str()],
        ))?;
        Ok(row.map(|r| r.get(0)))
    }

    fn guild_places(&self, guild: &str) -> Result<Vec<Place>, StoreError> {
        let rows = self.wait(self.client()?.query(
            "SELECT place FROM place_guilds WHERE guild = $1 ORDER BY place",
            &[&guild],
        ))?;
        Ok(rows
            .into_iter()
            .map(|r| Place::new(r.get::<_, String>(0)))
            .collect())
    }

    fn transcript(&self, ticket: &Ticket) -> Result<Vec<TranscriptMessage>, StoreError> {
        let client = self.client()?;
        // As on SQLite: by time, then within a second by Discord's message
        // id (snowflakes grow with time), else in the order recorded (`seq`
        // stands in for SQLite's rowid).
        let (rows, edits) = self.wait(async {
            let rows = client
                .query(
                    "SELECT id, place, author, author_name, role, at, content, attachments,
                            deleted_at
                     FROM transcript_messages
                     WHERE place IN (SELECT place FROM ticket_places WHERE ticket_id = $1)
                        OR (place = $2 AND (conv_user IS NULL OR conv_user = $3))
                     ORDER BY at,
                        CASE WHEN id ~ '^[0-9]+$' THEN id::numeric ELSE seq::numeric END",
                    &[
                        &ticket.id.0,
                        &ticket.place.as_str(),
                        &ticket.customer.as_str(),
                    ],
                )
                .await?;
            let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            let edits = client
                .query(
                    "SELECT message_id, at, previous FROM transcript_edits
                     WHERE message_id = ANY($1) ORDER BY at, seq",
                    &[&ids],
                )
                .await?;
            Ok::<_, StoreError>((rows, edits))
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.get(0);
            let role: String = r.get(4);
            let attachments: String = r.get(7);
            let history = edits
                .iter()
                .filter(|e| e.get::<_, &str>(0) == id)
                .map(|e| {
                    Ok(Edit {
                        at: from_unix(e.get(1))?,
                        previous: e.get(2),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            out.push(TranscriptMessage {
                role: Role::parse(&role).ok_or_else(|| corrupt("transcript.role", &role))?,
                attachments: serde_json::from_str(&attachments)
                    .map_err(|e| corrupt("transcript.attachments", e))?,
                id,
                place: Place::new(r.get::<_, String>(1)),
                author: UserId::new(r.get::<_, String>(2)),
                author_name: r.get(3),
                at: from_unix(r.get(5))?,
                content: r.get(6),
                edits: history,
                deleted_at: r.get::<_, Option<i64>>(8).map(from_unix).transpose()?,
            });
        }
        Ok(out)
    }

    fn ticket_events(&self, id: TicketId) -> Result<Vec<EventRecord>, StoreError> {
        let rows = self.wait(self.client()?.query(
            "SELECT at, author, kind, detail FROM events WHERE ticket_id = $1 ORDER BY at, id",
            &[&id.0],
        ))?;
        rows.into_iter()
            .map(|r| {
                let detail: String = r.get(3);
                Ok(EventRecord {
                    at: from_unix(r.get(0))?,
                    author: UserId::new(r.get::<_, String>(1)),
                    kind: r.get(2),
                    detail: serde_json::from_str(&detail)
                        .map_err(|e| corrupt("events.detail", e))?,
                })
            })
            .collect()
    }

    fn find_tickets(&self, f: &TicketFilter) -> Result<TicketPage, StoreError> {
        let status = f.status.map(|s| s.as_str());
        let product = f.product.as_ref().map(ProductId::as_str);
        let claimed = f.claimed_by.as_ref().map(UserId::as_str);
        let pattern = f.text.as_deref().map(like_pattern);
        // SQLite reads a negative LIMIT as "no limit"; here the largest
        // page stands in for it.
        let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(f.offset).unwrap_or(i64::MAX);
        let mut client = self.client()?;
        self.wait(async {
            // One snapshot: the total and the page agree.
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let args: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
                [&status, &product, &f.guild, &claimed, &pattern];
            let total: i64 = tx
                .query_one(&format!("SELECT COUNT(*) FROM tickets t {FILTER}"), &args)
                .await?
                .get(0);
            let mut page_args = args.to_vec();
            page_args.extend([
                &limit as &(dyn tokio_postgres::types::ToSql + Sync),
                &offset,
            ]);
            let ids = tx
                .query(
                    &format!(
                        "SELECT t.id FROM tickets t {FILTER} ORDER BY t.id DESC LIMIT $6 OFFSET $7"
                    ),
                    &page_args,
                )
                .await?;
            let mut tickets = Vec::with_capacity(ids.len());
            for r in ids {
                if let Some(t) = read_ticket(&*tx, TicketId(r.get(0))).await? {
                    tickets.push(t);
                }
            }
            tx.commit().await?;
            Ok(TicketPage {
                total: total.max(0) as usize,
                tickets,
            })
        })
    }

    fn create_login(
        &self,
        token_hash: &str,
        who: &Principal,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.wait(self.client()?.execute(
            "INSERT INTO dashboard_logins (token_hash, \"user\", guild, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &token_hash,
                &who.user.as_str(),
                &who.guild,
                &at.unix_timestamp(),
                &expires_at.unix_timestamp(),
            ],
        ))?;
        Ok(())
    }

    /// The conditional `UPDATE` is the redemption: of concurrent ones on
    /// one token, the first to commit sets `used_at` and the others, which
    /// wait for its row lock and then re-check `used_at IS NULL`, update
    /// nothing. Only a failed redemption reads the row again (a fresh
    /// statement, so it sees the winner's commit) to say why.
    fn redeem_login(&self, token_hash: &str, now: OffsetDateTime) -> Result<Redeemed, StoreError> {
        let client = self.client()?;
        let now = now.unix_timestamp();
        self.wait(async {
            // A second round only if the row appeared between the two
            // statements (a concurrent `create_login` of the same hash).
            for _ in 0..2 {
                if let Some(r) = client
                    .query_opt(
                        "UPDATE dashboard_logins SET used_at = $2
                         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
                         RETURNING \"user\", guild",
                        &[&token_hash, &now],
                    )
                    .await?
                {
                    return Ok(Redeemed::Ok(Principal {
                        user: UserId::new(r.get::<_, String>(0)),
                        guild: r.get(1),
                    }));
                }
                let Some(r) = client
                    .query_opt(
                        "SELECT expires_at, used_at FROM dashboard_logins WHERE token_hash = $1",
                        &[&token_hash],
                    )
                    .await?
                else {
                    return Ok(Redeemed::Unknown);
                };
                let (expires_at, used_at): (i64, Option<i64>) = (r.get(0), r.get(1));
                if used_at.is_some() {
                    return Ok(Redeemed::Used);
                }
                if now >= expires_at {
                    return Ok(Redeemed::Expired);
                }
            }
            Ok(Redeemed::Unknown)
        })
    }

    fn create_session(
        &self,
        id_hash: &str,
        s: &Session,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.wait(self.client()?.execute(
            "INSERT INTO dashboard_sessions (id_hash, \"user\", guild, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &id_hash,
                &s.principal.user.as_str(),
                &s.principal.guild,
                &s.csrf,
                &at.unix_timestamp(),
                &s.expires_at.unix_timestamp(),
            ],
        ))?;
        Ok(())
    }

    fn session(&self, id_hash: &str, now: OffsetDateTime) -> Result<Option<Session>, StoreError> {
        let row = self.wait(self.client()?.query_opt(
            "SELECT \"user\", guild, csrf, expires_at FROM dashboard_sessions WHERE id_hash = $1",
            &[&id_hash],
        ))?;
        match row {
            Some(r) if now.unix_timestamp() < r.get::<_, i64>(3) => Ok(Some(Session {
                principal: Principal {
                    user: UserId::new(r.get::<_, String>(0)),
                    guild: r.get(1),
                },
                csrf: r.get(2),
                expires_at: from_unix(r.get(3))?,
            })),
            _ => Ok(None),
        }
    }

    fn end_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.wait(self.client()?.execute(
            "DELETE FROM dashboard_sessions WHERE id_hash = $1",
            &[&id_hash],
        ))?;
        Ok(())
    }

    fn places_of(&self, id: TicketId) -> Result<Vec<Place>, StoreError> {
        // SQLite's UNION comes back sorted; so does this one.
        let rows = self.wait(self.client()?.query(
            "SELECT place FROM ticket_places WHERE ticket_id = $1
             UNION SELECT place FROM tickets WHERE id = $1
             ORDER BY 1",
            &[&id.0],
        ))?;
        Ok(rows
            .into_iter()
            .map(|r| Place::new(r.get::<_, String>(0)))
            .collect())
    }

    fn ranking_of(&self, id: TicketId) -> Result<Vec<LoggedResult>, StoreError> {
        let row = self.wait(self.client()?.query_opt(
            "SELECT q.results FROM tickets t JOIN queries q ON q.id = t.query_id WHERE t.id = $1",
            &[&id.0],
        ))?;
        match row {
            Some(r) => {
                serde_json::from_str(r.get::<_, &str>(0)).map_err(|e| corrupt("queries.results", e))
            }
            None => Ok(Vec::new()),
        }
    }
}

/// The WHERE clause of a ticket search; parameters 1-5 are status,
/// product, guild, claimed-by and the LIKE pattern, each NULL for "any".
/// `ILIKE` is case-insensitive for ASCII like SQLite's `LIKE` (and, under
/// a Unicode ctype, beyond it).
const FILTER: &str = "WHERE ($1::text IS NULL OR t.status = $1)
    AND ($2::text IS NULL OR t.product = $2)
    AND ($3::text IS NULL OR EXISTS (
        SELECT 1 FROM place_guilds g WHERE g.guild = $3 AND (g.place = t.place
            OR g.place IN (SELECT place FROM ticket_places p WHERE p.ticket_id = t.id))))
    AND ($4::text IS NULL OR t.claimed_by = $4)
    AND ($5::text IS NULL
        OR t.question ILIKE $5 ESCAPE '\\'
        OR t.close_reason ILIKE $5 ESCAPE '\\'
        OR EXISTS (SELECT 1 FROM ticket_fields f
            WHERE f.ticket_id = t.id AND f.value ILIKE $5 ESCAPE '\\')
        OR EXISTS (SELECT 1 FROM transcript_messages m
            WHERE (m.place IN (SELECT place FROM ticket_places p WHERE p.ticket_id = t.id)
                   OR (m.place = t.place AND (m.conv_user IS NULL OR m.conv_user = t.customer)))
              AND m.content ILIKE $5 ESCAPE '\\'))";

async fn note_guild<C: GenericClient + Sync>(
    c: &C,
    place: &Place,
    guild: &str,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO place_guilds (place, guild) VALUES ($1, $2) ON CONFLICT (place) DO NOTHING",
        &[&place.as_str(), &guild],
    )
    .await?;
    Ok(())
}
