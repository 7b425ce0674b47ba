-- 0002: what the admin command changes. Disabled accounts have no sessions,
-- archived rooms take no new messages, and every revocation of a user's
-- sessions is a row that running nodes poll, so that they close the
-- WebSockets of those sessions within a second (server/revocations.go).
-- Columns with defaults only: a node of the previous release keeps working
-- on this schema.

ALTER TABLE users ADD COLUMN disabled boolean NOT NULL DEFAULT false;

ALTER TABLE rooms ADD COLUMN archived boolean NOT NULL DEFAULT false;

-- Writers take an EXCLUSIVE lock on the table before inserting (see
-- RevokeSessions), so ids commit in increasing order and a poller's cursor
-- never passes one that is still to commit.
CREATE TABLE revocations (
	id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id text        NOT NULL,
	at      timestamptz NOT NULL
);
