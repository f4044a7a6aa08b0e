-- triage's shared store, version 1: the PostgreSQL port of ../0001_init.sql
-- (same tables, same meaning). Times are unix seconds (BIGINT) as in
-- SQLite, so rows decode the same way. `user` is a reserved word here and
-- is always quoted. `seq` columns stand in for SQLite's rowid order.

CREATE TABLE conversations (
    place       TEXT NOT NULL,
    "user"      TEXT NOT NULL,
    state       TEXT NOT NULL,
    phase       TEXT NOT NULL,
    inputs_seen BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (place, "user")
);

CREATE TABLE inputs (
    id      TEXT PRIMARY KEY,
    seq     BIGSERIAL NOT NULL,
    place   TEXT,
    "user"  TEXT,
    author  TEXT NOT NULL,
    at      BIGINT NOT NULL,
    reply   TEXT NOT NULL
);

CREATE TABLE queries (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    place       TEXT NOT NULL,
    "user"      TEXT NOT NULL,
    asked_by    TEXT NOT NULL,
    product     TEXT,
    text        TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('answer', 'suggest', 'none')),
    results     TEXT NOT NULL DEFAULT '[]',
    check_id    TEXT,
    entry       TEXT,
    feedback    TEXT,
    tried       TEXT NOT NULL DEFAULT '[]',
    ticket_id   BIGINT
);
CREATE INDEX queries_at ON queries(at);

-- Ticket numbers come from this table's sequence: unique across processes.
CREATE TABLE tickets (
    id          BIGSERIAL PRIMARY KEY,
    product     TEXT NOT NULL,
    entry       TEXT,
    status      TEXT NOT NULL CHECK (status IN ('open', 'claimed', 'closed')),
    question    TEXT,
    tried       TEXT NOT NULL DEFAULT '[]',
    place       TEXT NOT NULL,
    customer    TEXT NOT NULL,
    opened_by   TEXT NOT NULL,
    claimed_by  TEXT,
    query_id    BIGINT REFERENCES queries(id),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX tickets_status ON tickets(status);

CREATE TABLE ticket_fields (
    ticket_id   BIGINT NOT NULL REFERENCES tickets(id),
    position    BIGINT NOT NULL,
    field_id    TEXT NOT NULL,
    label       TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (ticket_id, field_id)
);

CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    place       TEXT,
    "user"      TEXT,
    author      TEXT NOT NULL,
    ticket_id   BIGINT,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_ticket ON events(ticket_id);
