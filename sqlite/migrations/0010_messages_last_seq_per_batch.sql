-- 0010: the writer moves each room's last_seq once per group commit, to
-- the seq of the room's last message in the batch, instead of a trigger
-- doing it for every message: the trigger's UPDATE of rooms (a program of
-- its own, a seek and a row rewritten) ran once per Append. The appender
-- (sqlite/appender.go) is the only code that inserts messages; a batch
-- numbers a room's later messages from its earlier ones, so seqs stay
-- last_seq + 1, + 2, ... with no gap, and last_seq moves in the same
-- transaction as the messages.

DROP TRIGGER messages_set_last_seq;
