-- Leases on undelivered replies (issue 13): with several processes polling
-- one database, a process re-posting a reply first leases it (who, until
-- when), so no other process posts the same one while the lease holds.
ALTER TABLE inputs ADD COLUMN lease_owner TEXT;
ALTER TABLE inputs ADD COLUMN lease_until INTEGER;
