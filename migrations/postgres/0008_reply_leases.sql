-- Leases on undelivered replies (port of ../0008_reply_leases.sql): taken
-- with FOR UPDATE SKIP LOCKED so two processes never lease the same reply.
ALTER TABLE inputs ADD COLUMN lease_owner TEXT;
ALTER TABLE inputs ADD COLUMN lease_until BIGINT;
