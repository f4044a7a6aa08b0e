-- Where staff handle a ticket (port of ../0004_ticket_places.sql). `seq`
-- orders attachments (SQLite's rowid): the last attached is the newest.
CREATE TABLE ticket_places (
    place       TEXT PRIMARY KEY,
    ticket_id   BIGINT NOT NULL REFERENCES tickets(id),
    seq         BIGSERIAL NOT NULL
);
CREATE INDEX tickets_place ON tickets(place);
