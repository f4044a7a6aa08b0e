-- The order transcript messages were recorded in (SQLite's rowid, which
-- ../0009_transcript_order.sql has without a column): within one second,
-- messages whose ids are not Discord snowflakes (terminal lines) are read
-- back in this order. Existing rows are numbered in table order.
ALTER TABLE transcript_messages ADD COLUMN seq BIGSERIAL NOT NULL;
