-- Where staff handle a ticket (the Discord thread the front end opened for
-- it), recorded at hand-off, so `/ticket` run there finds the ticket
-- whatever the thread is called. A place holds its newest ticket.
CREATE TABLE ticket_places (
    place       TEXT PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id)
);
-- Tickets by the place of their conversation (a forum post is both).
CREATE INDEX tickets_place ON tickets(place);
