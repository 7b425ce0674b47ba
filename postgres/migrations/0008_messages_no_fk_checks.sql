-- 0008: a message's room and sender are no longer checked by foreign keys
-- at every insert. Each key ran a query of its own (through SPI, with an
-- executor start-up and a KEY SHARE lock on the room's or the sender's
-- row) for every message stored: about a sixth of the backend's CPU per
-- Append. The appender checks both already, in the statement that inserts
-- (postgres/appender.go): it stores a message only for a sender who is a
-- member of the room, after locking the room's row, and a membership
-- exists only for a room and a user that exist (memberships keeps its
-- foreign keys). No other code inserts messages.
--
-- What the keys also did, refusing to delete a room or a user that
-- messages name (or to change its key), the triggers below still do, so
-- no message can lose its room or its sender. chatd deletes neither, and
-- renames neither. The checks run only when one is deleted or its key
-- changes.
--
-- Additive for the rolling-upgrade rule: the previous release's writes
-- pass the same checks in its own statements, and it never relied on the
-- keys to refuse anything.

ALTER TABLE messages DROP CONSTRAINT messages_room_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_user_id_fkey;

-- Each trigger first takes a SHARE lock on messages, which waits for the
-- transactions inserting messages to end and keeps new ones waiting until
-- it ends, and then looks with a snapshot that sees what they committed:
-- a message stored at the same moment is not missed. The lock is heavy;
-- these deletes do not happen in chatd's running.
CREATE FUNCTION rooms_keep_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	LOCK TABLE messages IN SHARE MODE;
	IF EXISTS (SELECT FROM messages WHERE room = OLD.name) THEN
		RAISE foreign_key_violation USING MESSAGE = format('room %s still has messages', OLD.name);
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER rooms_keep_messages_delete AFTER DELETE ON rooms
	FOR EACH ROW EXECUTE FUNCTION rooms_keep_messages();
CREATE TRIGGER rooms_keep_messages_rename AFTER UPDATE OF name ON rooms
	FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION rooms_keep_messages();

CREATE FUNCTION users_keep_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	LOCK TABLE messages IN SHARE MODE;
	IF EXISTS (SELECT FROM messages WHERE user_id = OLD.id) THEN
		RAISE foreign_key_violation USING MESSAGE = format('user %s still has messages', OLD.id);
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER users_keep_messages_delete AFTER DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION users_keep_messages();
CREATE TRIGGER users_keep_messages_rename AFTER UPDATE OF id ON users
	FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION users_keep_messages();
