-- 0001: the initial schema, the PostgreSQL twin of sqlite's.
--
-- Times are timestamptz written at millisecond precision (the store
-- truncates before writing), so what a write returns equals what a read
-- returns. Names and keys that the store sorts or compares byte-wise use
-- COLLATE "C", whatever the database's default collation is.

CREATE TABLE users (
	id            text        NOT NULL PRIMARY KEY,
	username      text        NOT NULL,
	username_key  text        COLLATE "C" NOT NULL UNIQUE, -- lower-cased username: uniqueness ignores case
	password_hash text        NOT NULL,
	created_at    timestamptz NOT NULL
);

CREATE TABLE sessions (
	token_hash bytea       NOT NULL PRIMARY KEY, -- SHA-256 of the token; the token is never stored
	user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);

CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE rooms (
	name       text        COLLATE "C" NOT NULL PRIMARY KEY,
	private    boolean     NOT NULL DEFAULT false,
	owner      text        REFERENCES users (id), -- NULL for general and DMs
	last_seq   bigint      NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL
);

CREATE TABLE memberships (
	room          text        COLLATE "C" NOT NULL REFERENCES rooms (name),
	user_id       text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	last_read_seq bigint      NOT NULL DEFAULT 0,
	joined_at     timestamptz NOT NULL,
	PRIMARY KEY (room, user_id)
);

-- Rooms lists a user's rooms.
CREATE INDEX memberships_user_id ON memberships (user_id, room);

CREATE TABLE messages (
	room          text        COLLATE "C" NOT NULL REFERENCES rooms (name),
	seq           bigint      NOT NULL,
	id            text        NOT NULL UNIQUE,
	user_id       text        NOT NULL REFERENCES users (id),
	text          text        NOT NULL,
	client_msg_id text,
	sent_at       timestamptz NOT NULL,
	edited_at     timestamptz,
	deleted       boolean     NOT NULL DEFAULT false,
	deleted_at    timestamptz,
	PRIMARY KEY (room, seq)
);

-- Append's idempotency: one message per (room, sender, client_msg_id).
CREATE UNIQUE INDEX messages_client_msg_id ON messages (room, user_id, client_msg_id)
	WHERE client_msg_id IS NOT NULL;

INSERT INTO rooms (name, private, owner, last_seq, created_at)
VALUES ('general', false, NULL, 0, date_trunc('milliseconds', now()));
