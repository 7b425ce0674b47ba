-- 0003: what the admin command changes. Disabled accounts have no sessions,
-- archived rooms take no new messages, and every revocation of a user's
-- sessions is a row that running nodes poll, so that they close the
-- WebSockets of those sessions within a second (server/revocations.go).
-- Columns with defaults only: a node of the previous release keeps working
-- on this schema.

ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));

ALTER TABLE rooms ADD COLUMN archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1));

-- AUTOINCREMENT: an id is never used twice, even after old rows are pruned,
-- so a poller's cursor never skips a new one.
CREATE TABLE revocations (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id TEXT    NOT NULL,
	at      INTEGER NOT NULL
) STRICT;
