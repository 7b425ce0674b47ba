-- 0006: a member may mute a room (issue 8): clients raise no notification
-- for it. Kept on the membership, so that it follows the user to every
-- device and ends with the membership.
--
-- Additive only: a node that does not know the column leaves it as it is.

ALTER TABLE memberships ADD COLUMN muted INTEGER NOT NULL DEFAULT 0 CHECK (muted IN (0, 1));
