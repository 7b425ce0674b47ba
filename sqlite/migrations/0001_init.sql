-- 0001: the initial schema. Times are INTEGER milliseconds since the Unix
-- epoch (UTC), so every driver reads back exactly what was written.

CREATE TABLE users (
	id            TEXT    NOT NULL PRIMARY KEY,
	username      TEXT    NOT NULL,
	username_key  TEXT    NOT NULL UNIQUE, -- lower-cased username: uniqueness ignores case
	password_hash TEXT    NOT NULL,
	created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
	token_hash BLOB    NOT NULL PRIMARY KEY, -- SHA-256 of the token; the token is never stored
	user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE rooms (
	name       TEXT    NOT NULL PRIMARY KEY,
	private    INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1)),
	owner      TEXT    REFERENCES users (id), -- NULL for general and DMs
	last_seq   INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
	room          TEXT    NOT NULL REFERENCES rooms (name),
	user_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	last_read_seq INTEGER NOT NULL DEFAULT 0,
	joined_at     INTEGER NOT NULL,
	PRIMARY KEY (room, user_id)
) STRICT, WITHOUT ROWID;

-- Rooms lists a user's rooms.
CREATE INDEX memberships_user_id ON memberships (user_id, room);

CREATE TABLE messages (
	room          TEXT    NOT NULL REFERENCES rooms (name),
	seq           INTEGER NOT NULL,
	id            TEXT    NOT NULL UNIQUE,
	user_id       TEXT    NOT NULL REFERENCES users (id),
	text          TEXT    NOT NULL,
	client_msg_id TEXT,
	sent_at       INTEGER NOT NULL,
	edited_at     INTEGER,
	deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
	deleted_at    INTEGER,
	PRIMARY KEY (room, seq)
) STRICT;

-- Append's idempotency: one message per (room, sender, client_msg_id).
CREATE UNIQUE INDEX messages_client_msg_id ON messages (room, user_id, client_msg_id)
	WHERE client_msg_id IS NOT NULL;

INSERT INTO rooms (name, private, owner, last_seq, created_at)
VALUES ('general', 0, NULL, 0, CAST(unixepoch('subsec') * 1000 AS INTEGER));
