-- 0005: files people share (issue 9). A file is uploaded to a room by a
-- member and stored here, content and all, unattached (seq NULL); the
-- message that carries it sets seq (and pos, its place among the
-- message's files). Deleting the message deletes its rows.
--
-- The content is bytea in this table, not a large object: it commits,
-- and is deleted, with its row and with the message that carries it (a
-- large object outlives a deleted row unless something unlinks it), every
-- node reads it with the same query, and pg_dump and every replica carry
-- it with the rest. Files are at most --max-upload-bytes (25 MiB by
-- default), far below bytea's 1 GB; TOAST keeps them out of line, so that
-- reading the other columns never reads them. STORAGE EXTERNAL: most
-- uploads (images, archives) are compressed already.

CREATE TABLE files (
	id         text        PRIMARY KEY,
	room       text        COLLATE "C" NOT NULL REFERENCES rooms (name),
	uploader   text        NOT NULL REFERENCES users (id),
	seq        bigint,
	pos        integer     NOT NULL DEFAULT 0,
	name       text        NOT NULL,
	size       bigint      NOT NULL,
	type       text        NOT NULL,
	width      integer     NOT NULL DEFAULT 0,
	height     integer     NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL,
	has_thumb  boolean     NOT NULL DEFAULT false,
	content    bytea       NOT NULL,
	thumb      bytea
);
ALTER TABLE files ALTER COLUMN content SET STORAGE EXTERNAL;
ALTER TABLE files ALTER COLUMN thumb SET STORAGE EXTERNAL;

-- A message's files, for history pages.
CREATE INDEX files_message ON files (room, seq, pos) WHERE seq IS NOT NULL;
-- Uploads never sent, for the sweep that deletes them.
CREATE INDEX files_unattached ON files (created_at) WHERE seq IS NULL;
