-- 0002: a message's insert moves its room's last_seq, so that Append is one
-- statement (an INSERT ... SELECT that reads last_seq + 1 and checks
-- membership), which SQLite runs all or nothing: a failed Append inside a
-- group commit leaves nothing behind, without a savepoint around it.
-- Messages are inserted in seq order under the single writer, so NEW.seq is
-- always last_seq + 1.

CREATE TRIGGER messages_set_last_seq AFTER INSERT ON messages
BEGIN
	UPDATE rooms SET last_seq = NEW.seq WHERE name = NEW.room;
END;
