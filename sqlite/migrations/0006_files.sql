-- 0006: files people share (issue 9). A file is uploaded to a room by a
-- member and stored here, content and all, unattached (seq NULL); the
-- message that carries it sets seq (and pos, its place among the
-- message's files). Deleting the message deletes its rows.
--
-- The content lives in the database file, beside the messages, rather
-- than in files of its own: the upload, the attaching and the deleting
-- each commit with the rest of their transaction, a crash leaves no file
-- without a row (or a row without a file), and `chatd backup` (VACUUM
-- INTO) copies the files with everything else. The blobs come last in the
-- row, so that reading the other columns never reads them.

CREATE TABLE files (
	id         TEXT    PRIMARY KEY,
	room       TEXT    NOT NULL REFERENCES rooms (name),
	uploader   TEXT    NOT NULL REFERENCES users (id),
	seq        INTEGER,
	pos        INTEGER NOT NULL DEFAULT 0,
	name       TEXT    NOT NULL,
	size       INTEGER NOT NULL,
	type       TEXT    NOT NULL,
	width      INTEGER NOT NULL DEFAULT 0,
	height     INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	has_thumb  INTEGER NOT NULL DEFAULT 0 CHECK (has_thumb IN (0, 1)),
	content    BLOB    NOT NULL,
	thumb      BLOB
) STRICT;

-- A message's files, for history pages.
CREATE INDEX files_message ON files (room, seq, pos) WHERE seq IS NOT NULL;
-- Uploads never sent, for the sweep that deletes them.
CREATE INDEX files_unattached ON files (created_at) WHERE seq IS NULL;
