-- 0011: the search index without its per-message size table. FTS5 keeps,
-- by default, a row of column sizes for every document it indexes
-- (messages_fts_docsize), which only its bm25 ranking reads; chatd's
-- search orders by time and never ranks, yet every stored message paid
-- for that row: a B-tree insert of its own inside the writer's batch
-- indexing (about a third of the search index's cost per message). The
-- index is rebuilt from messages with columnsize=0, which drops the
-- table; its content, tokenizer and triggers are as before, so search
-- finds what it found. (bm25 would still work, reading the sizes from the
-- content.)

DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;
DROP TABLE messages_fts;

CREATE VIRTUAL TABLE messages_fts USING fts5 (text, content = 'messages', content_rowid = 'rowid', tokenize = 'unicode61', columnsize = 0);
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', OLD.rowid, OLD.text);
	INSERT INTO messages_fts (rowid, text) VALUES (NEW.rowid, NEW.text);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', OLD.rowid, OLD.text);
END;
