-- Delivery of replies (port of ../0002_delivery.sql).
ALTER TABLE inputs ADD COLUMN delivered_at BIGINT;
ALTER TABLE inputs ADD COLUMN origin TEXT;
UPDATE inputs SET delivered_at = at;
CREATE INDEX inputs_undelivered ON inputs(at) WHERE delivered_at IS NULL;
