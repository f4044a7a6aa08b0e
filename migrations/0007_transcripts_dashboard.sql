-- Ticket transcripts and the staff dashboard's logins.
--
-- Every message seen in a ticket's thread (customer, staff, bot) and every
-- line of a `triage chat` conversation, keyed by its message id so a
-- redelivered gateway event changes nothing. Edits keep the earlier text
-- in transcript_edits; a deletion only marks the row.
CREATE TABLE transcript_messages (
    id          TEXT PRIMARY KEY,             -- Discord message id, or terminal:user:n
    place       TEXT NOT NULL,                -- channel or thread id; `terminal`
    guild       TEXT,                         -- Discord guild id; NULL in a terminal
    conv_user   TEXT,                         -- the conversation's customer (terminal)
    author      TEXT NOT NULL,                -- user id
    author_name TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('customer', 'staff', 'bot')),
    at          INTEGER NOT NULL,
    content     TEXT NOT NULL,
    attachments TEXT NOT NULL DEFAULT '[]',   -- [{name, url}]
    edited_at   INTEGER,
    deleted_at  INTEGER
);
CREATE INDEX transcript_place ON transcript_messages(place, at);

CREATE TABLE transcript_edits (
    message_id  TEXT NOT NULL REFERENCES transcript_messages(id),
    at          INTEGER NOT NULL,
    previous    TEXT NOT NULL                 -- the content before this edit
);
CREATE INDEX transcript_edits_message ON transcript_edits(message_id);

-- A ticket's places, by ticket (the dashboard's guild filter and
-- transcript search look them up per ticket).
CREATE INDEX ticket_places_ticket ON ticket_places(ticket_id);

-- Which guild a place (channel, thread) belongs to, learnt from the events
-- seen there: the dashboard shows a guild's staff only that guild's tickets.
CREATE TABLE place_guilds (
    place       TEXT PRIMARY KEY,
    guild       TEXT NOT NULL
);

-- One-time login links (`/dashboard`, `triage dashboard`). Only the SHA-256
-- of the token is stored; a link works once, within its expiry.
CREATE TABLE dashboard_logins (
    token_hash  TEXT PRIMARY KEY,
    user        TEXT NOT NULL,
    guild       TEXT,                         -- NULL: every guild (the local user)
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

-- Dashboard sessions, by the SHA-256 of the cookie's value.
CREATE TABLE dashboard_sessions (
    id_hash     TEXT PRIMARY KEY,
    user        TEXT NOT NULL,
    guild       TEXT,
    csrf        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
