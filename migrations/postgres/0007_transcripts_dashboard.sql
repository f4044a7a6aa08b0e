-- Ticket transcripts and the dashboard's logins (port of
-- ../0007_transcripts_dashboard.sql); `seq` orders edits.
CREATE TABLE transcript_messages (
    id          TEXT PRIMARY KEY,
    place       TEXT NOT NULL,
    guild       TEXT,
    conv_user   TEXT,
    author      TEXT NOT NULL,
    author_name TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('customer', 'staff', 'bot')),
    at          BIGINT NOT NULL,
    content     TEXT NOT NULL,
    attachments TEXT NOT NULL DEFAULT '[]',
    edited_at   BIGINT,
    deleted_at  BIGINT
);
CREATE INDEX transcript_place ON transcript_messages(place, at);

CREATE TABLE transcript_edits (
    message_id  TEXT NOT NULL REFERENCES transcript_messages(id),
    at          BIGINT NOT NULL,
    previous    TEXT NOT NULL,
    seq         BIGSERIAL NOT NULL
);
CREATE INDEX transcript_edits_message ON transcript_edits(message_id);

CREATE INDEX ticket_places_ticket ON ticket_places(ticket_id);

CREATE TABLE place_guilds (
    place       TEXT PRIMARY KEY,
    guild       TEXT NOT NULL
);

CREATE TABLE dashboard_logins (
    token_hash  TEXT PRIMARY KEY,
    "user"      TEXT NOT NULL,
    guild       TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

CREATE TABLE dashboard_sessions (
    id_hash     TEXT PRIMARY KEY,
    "user"      TEXT NOT NULL,
    guild       TEXT,
    csrf        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
