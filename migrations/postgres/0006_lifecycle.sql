-- Ticket lifecycle: timers, lifecycle rows, surveys (port of
-- ../0006_lifecycle.sql). Pollers claim due timers with
-- FOR UPDATE SKIP LOCKED.
CREATE TABLE timers (
    id          BIGSERIAL PRIMARY KEY,
    ticket_id   BIGINT NOT NULL REFERENCES tickets(id),
    kind        TEXT NOT NULL,
    due_at      BIGINT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    claim_token TEXT,
    fired_at    BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX timers_due ON timers (state, due_at);
CREATE INDEX timers_ticket ON timers (ticket_id, state);

CREATE TABLE ticket_lifecycle (
    ticket_id            BIGINT PRIMARY KEY REFERENCES tickets(id),
    hold                 BOOLEAN NOT NULL DEFAULT FALSE,
    last_customer_at     BIGINT,
    first_staff_reply_at BIGINT,
    first_staff_by       TEXT,
    resolved_at          BIGINT,
    close_request        TEXT
);

CREATE TABLE surveys (
    ticket_id   BIGINT PRIMARY KEY REFERENCES tickets(id),
    product     TEXT NOT NULL,
    staff       TEXT,
    asked_at    BIGINT NOT NULL,
    rating      BIGINT CHECK (rating BETWEEN 1 AND 5),
    comment     TEXT,
    answered_at BIGINT
);
