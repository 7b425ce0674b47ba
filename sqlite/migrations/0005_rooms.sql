-- 0005: rooms people find and run (issue 9): a topic (archived comes from 0003), a
-- member count kept by triggers (so that room lists need no COUNT over a
-- big room's members, and a node that does not know the column still
-- keeps it right), roles, and DMs hidden by their member.
--
-- Additive only. memberships.role is NULL for rows written before it
-- existed (or by an older node): such a member is an owner if rooms.owner
-- names them, as before. rooms.owner stays one of the owners (NULL when
-- the room has none), so that older code reading it stays right.
-- memberships.hidden_seq is set when a member hides a DM: the room's
-- last_seq then. The DM shows again once a message comes after it.

ALTER TABLE rooms ADD COLUMN topic TEXT NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;

ALTER TABLE memberships ADD COLUMN role TEXT CHECK (role IN ('owner', 'member'));
ALTER TABLE memberships ADD COLUMN hidden_seq INTEGER;

UPDATE rooms SET member_count = (SELECT COUNT(*) FROM memberships m WHERE m.room = rooms.name);

-- A room whose owner left before this migration kept naming them, and
-- could never be run again (a private room could not invite). The member
-- who joined first takes over, as Leave now does; nobody, if it is empty.
UPDATE rooms SET owner = (
	SELECT m.user_id FROM memberships m WHERE m.room = rooms.name ORDER BY m.joined_at, m.user_id LIMIT 1)
WHERE owner IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.room = rooms.name AND m.user_id = rooms.owner);

CREATE TRIGGER memberships_count_insert AFTER INSERT ON memberships
BEGIN
	UPDATE rooms SET member_count = member_count + 1 WHERE name = NEW.room;
END;

CREATE TRIGGER memberships_count_delete AFTER DELETE ON memberships
BEGIN
	UPDATE rooms SET member_count = member_count - 1 WHERE name = OLD.room;
END;

-- The longest-standing member, who takes over from the last owner.
CREATE INDEX memberships_room_joined ON memberships (room, joined_at, user_id);
