-- 0006: the writer indexes each group commit's new messages for search in
-- one statement, instead of a trigger doing it for each message. Any
-- statement that starts inside a transaction while FTS5 holds pending
-- rows makes FTS5 write them out as a segment of their own (it flushes at
-- every statement savepoint), so the per-message trigger wrote a segment,
-- and set off merges, for every message of a batch: about a fifth of the
-- writer's time. The appender (sqlite/appender.go) is the only code that
-- inserts messages. Edits and deletions keep their triggers.

DROP TRIGGER messages_fts_insert;
