-- 0005: a room's description (issue 9), the twin of sqlite's 0006: several
-- lines beside the one-line topic, set by its owners. Additive: an older
-- node neither reads nor writes it.

ALTER TABLE rooms ADD COLUMN description text NOT NULL DEFAULT '';
