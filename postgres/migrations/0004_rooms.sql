-- 0002: rooms people find and run (issue 9), the twin of sqlite's 0003: a
-- topic, an archived flag, a member count kept by a trigger (so that room
-- lists need no COUNT over a big room's members, and a node that does not
-- know the column still keeps it right), roles, and DMs hidden by their
-- member.
--
-- Additive only: an older node keeps working on this schema. Its
-- memberships have a NULL role: such a member is an owner if rooms.owner
-- names them, as before. rooms.owner stays one of the owners (NULL when
-- the room has none), so that older code reading it stays right.
-- memberships.hidden_seq is set when a member hides a DM: the room's
-- last_seq then. The DM shows again once a message comes after it.

ALTER TABLE rooms ADD COLUMN topic text NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN member_count bigint NOT NULL DEFAULT 0;

ALTER TABLE memberships ADD COLUMN role text CHECK (role IN ('owner', 'member'));
ALTER TABLE memberships ADD COLUMN hidden_seq bigint;

UPDATE rooms r SET member_count = (SELECT COUNT(*) FROM memberships m WHERE m.room = r.name);

-- A room whose owner left before this migration kept naming them, and
-- could never be run again (a private room could not invite). The member
-- who joined first takes over, as Leave now does; nobody, if it is empty.
UPDATE rooms r SET owner = (
	SELECT m.user_id FROM memberships m WHERE m.room = r.name ORDER BY m.joined_at, m.user_id LIMIT 1)
WHERE r.owner IS NOT NULL
  AND NOT EXISTS (SELECT FROM memberships m WHERE m.room = r.name AND m.user_id = r.owner);

CREATE FUNCTION memberships_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		UPDATE rooms SET member_count = member_count + 1 WHERE name = NEW.room;
	ELSE
		UPDATE rooms SET member_count = member_count - 1 WHERE name = OLD.room;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER memberships_count AFTER INSERT OR DELETE ON memberships
	FOR EACH ROW EXECUTE FUNCTION memberships_count();

-- The longest-standing member, who takes over from the last owner.
CREATE INDEX memberships_room_joined ON memberships (room, joined_at, user_id);
