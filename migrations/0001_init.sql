-- triage's embedded store, version 1. Times are unix seconds (UTC).
-- JSON columns hold arrays/objects written by the engine.

-- One row per conversation: the engine's state, opaque to SQL.
CREATE TABLE conversations (
    place       TEXT NOT NULL,
    user        TEXT NOT NULL,
    state       TEXT NOT NULL,           -- engine state (JSON)
    phase       TEXT NOT NULL,           -- idle | answered | collecting | ...
    inputs_seen INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (place, user)
);

-- Every input applied, so a redelivery is recognised and answered the same.
CREATE TABLE inputs (
    id      TEXT PRIMARY KEY,
    place   TEXT,
    user    TEXT,
    author  TEXT NOT NULL,
    at      INTEGER NOT NULL,
    reply   TEXT NOT NULL                -- the outputs returned (JSON)
);

CREATE TABLE tickets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    product     TEXT NOT NULL,
    entry       TEXT,
    status      TEXT NOT NULL CHECK (status IN ('open', 'claimed', 'closed')),
    question    TEXT,
    tried       TEXT NOT NULL DEFAULT '[]',   -- check ids (JSON array)
    place       TEXT NOT NULL,
    customer    TEXT NOT NULL,
    opened_by   TEXT NOT NULL,
    claimed_by  TEXT,
    query_id    INTEGER REFERENCES queries(id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX tickets_status ON tickets(status);

CREATE TABLE ticket_fields (
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    position    INTEGER NOT NULL,
    field_id    TEXT NOT NULL,
    label       TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (ticket_id, field_id)
);

-- Append-only history of what happened.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    place       TEXT,
    user        TEXT,
    author      TEXT NOT NULL,
    ticket_id   INTEGER,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_ticket ON events(ticket_id);

-- Every question asked, and what became of it; `triage report` reads this.
CREATE TABLE queries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    place       TEXT NOT NULL,
    user        TEXT NOT NULL,
    asked_by    TEXT NOT NULL,
    product     TEXT,
    text        TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('answer', 'suggest', 'none')),
    results     TEXT NOT NULL DEFAULT '[]',   -- [{id, score}] best first
    check_id    TEXT,
    entry       TEXT,                         -- the checklist shown, if any
    feedback    TEXT,                         -- solved | still_broken | more
    tried       TEXT NOT NULL DEFAULT '[]',
    ticket_id   INTEGER
);
CREATE INDEX queries_at ON queries(at);
