-- Why a ticket was closed (port of ../0003_close_reason.sql).
ALTER TABLE tickets ADD COLUMN close_reason TEXT;
