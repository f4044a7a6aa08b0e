-- Exactly-once delivery. A reply is several posts (the answer, the ticket
-- thread and its greeting, each field question, the summary in the thread
-- with its ping, the summary in the staff channel); each part is recorded
-- here once it went out, with what it made (the thread's id), so a reply
-- that failed or was cut off halfway resumes from the first part not out.
-- Written before the input is applied too: how an interaction can still be
-- answered ('via': its token and whether it was ephemeral). A reply's rows
-- are deleted once it is delivered.
CREATE TABLE delivery_parts (
    input_id    TEXT NOT NULL,
    part        TEXT NOT NULL,
    detail      TEXT,
    at          INTEGER NOT NULL,
    PRIMARY KEY (input_id, part)
);
-- The ticket thread a front end opened for a conversation: looked up before
-- opening another, so a retried or resumed reply never opens a second one.
CREATE TABLE conversation_threads (
    place       TEXT NOT NULL,
    user        TEXT NOT NULL,
    thread      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (place, user)
);
