-- Exactly-once delivery parts and conversation threads (port of
-- ../0005_delivery_parts.sql); `seq` is the order parts were recorded.
CREATE TABLE delivery_parts (
    input_id    TEXT NOT NULL,
    part        TEXT NOT NULL,
    detail      TEXT,
    at          BIGINT NOT NULL,
    seq         BIGSERIAL NOT NULL,
    PRIMARY KEY (input_id, part)
);
CREATE TABLE conversation_threads (
    place       TEXT NOT NULL,
    "user"      TEXT NOT NULL,
    thread      TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (place, "user")
);
