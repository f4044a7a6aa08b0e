-- Ticket lifecycle (issue 15): durable timers, per-ticket lifecycle state,
-- satisfaction surveys. Every deadline is a row; a poller claims a due row
-- by moving it out of 'pending' in the same transaction as its action.

CREATE TABLE timers (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    -- stale_ping | auto_close | close_request | staff_ping
    kind        TEXT NOT NULL,
    due_at      INTEGER NOT NULL,
    -- pending | done | cancelled
    state       TEXT NOT NULL DEFAULT 'pending',
    -- Who fired it (poller id), for tracing a shared database's pollers.
    claim_token TEXT,
    fired_at    INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX timers_due ON timers (state, due_at);
CREATE INDEX timers_ticket ON timers (ticket_id, state);

CREATE TABLE ticket_lifecycle (
    ticket_id            INTEGER PRIMARY KEY REFERENCES tickets(id),
    -- Staff said /ticket hold: no stale ping, no auto-close.
    hold                 INTEGER NOT NULL DEFAULT 0,
    last_customer_at     INTEGER,
    first_staff_reply_at INTEGER,
    first_staff_by       TEXT,
    resolved_at          INTEGER,
    -- JSON {by, reason, at} while a close request waits for the customer.
    close_request        TEXT
);

CREATE TABLE surveys (
    ticket_id   INTEGER PRIMARY KEY REFERENCES tickets(id),
    product     TEXT NOT NULL,
    -- The staff member who handled the ticket (claimed it, or closed it).
    staff       TEXT,
    asked_at    INTEGER NOT NULL,
    rating      INTEGER CHECK (rating BETWEEN 1 AND 5),
    comment     TEXT,
    answered_at INTEGER
);
