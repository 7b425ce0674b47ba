-- 0006: a room's description (issue 9): several lines beside the one-line
-- topic, set by its owners. Additive: an older node neither reads nor
-- writes it.

ALTER TABLE rooms ADD COLUMN description TEXT NOT NULL DEFAULT '';
