-- fleetwright state (PostgreSQL), schema 9: a scan knows what it counted with, so the
-- next one skips a repository whose head and recipe are unchanged.
ALTER TABLE scans ADD COLUMN scan_key TEXT;     -- the recipe's fingerprint and the target's catalog facts, hashed; NULL: before schema 9
ALTER TABLE scans ADD COLUMN files BIGINT;     -- files the counted places are in
ALTER TABLE scans ADD COLUMN note TEXT;         -- what to know about the count (why the recipe does not apply, rejected files)
