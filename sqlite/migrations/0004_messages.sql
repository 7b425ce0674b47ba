-- 0003: replies, mentions, reactions and full-text search (issue 8), all
-- in one file so that renumbering it is trivial. Every change is
-- additive: a node of the previous version keeps working on this schema
-- (it leaves the new columns at their defaults, and the triggers keep the
-- search index true whoever writes).

-- A reply names its thread's first message, in the same room.
ALTER TABLE messages ADD COLUMN reply_to INTEGER;
-- The members a message mentions by name, as ' id1 id2 ' (so that
-- instr(mentions, ' ' || id || ' ') finds one), NULL for none; and
-- whether its @room counted.
ALTER TABLE messages ADD COLUMN mentions TEXT;
ALTER TABLE messages ADD COLUMN mention_room INTEGER NOT NULL DEFAULT 0 CHECK (mention_room IN (0, 1));

-- Thread pages and reply summaries.
CREATE INDEX messages_reply_to ON messages (room, reply_to, seq) WHERE reply_to IS NOT NULL;
-- Unread mention counts look only at messages that mention someone.
CREATE INDEX messages_mentions ON messages (room, seq) WHERE mentions IS NOT NULL OR mention_room = 1;

CREATE TABLE reactions (
	room       TEXT    NOT NULL,
	seq        INTEGER NOT NULL,
	emoji      TEXT    NOT NULL,
	user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (room, seq, emoji, user_id), -- one per user per emoji
	FOREIGN KEY (room, seq) REFERENCES messages (room, seq)
) STRICT;

-- Search: an external-content FTS5 index of messages.text, keyed by the
-- messages' rowid and kept true by triggers on insert, edit and delete
-- (a deleted message's text is '', so it matches nothing). A VACUUM may
-- renumber the rowids of messages; run
-- INSERT INTO messages_fts(messages_fts) VALUES ('rebuild') after one.
CREATE VIRTUAL TABLE messages_fts USING fts5 (text, content = 'messages', content_rowid = 'rowid', tokenize = 'unicode61');
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
BEGIN
	INSERT INTO messages_fts (rowid, text) VALUES (NEW.rowid, NEW.text);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', OLD.rowid, OLD.text);
	INSERT INTO messages_fts (rowid, text) VALUES (NEW.rowid, NEW.text);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', OLD.rowid, OLD.text);
END;
