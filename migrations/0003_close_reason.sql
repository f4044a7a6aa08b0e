-- Why a ticket was closed (`/ticket close reason:`, `triage tickets close
-- --reason`), as staff gave it; cleared when the ticket is reopened. The
-- event log keeps every close with its reason.
ALTER TABLE tickets ADD COLUMN close_reason TEXT;
