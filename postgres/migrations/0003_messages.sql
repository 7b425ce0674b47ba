-- 0002: replies, mentions, reactions and full-text search (issue 8), all
-- in one file so that renumbering it is trivial. Every change is
-- additive: a node of the previous version keeps working on this schema
-- (it leaves the new columns at their defaults; the search vector is a
-- generated column, true whoever writes).

-- A reply names its thread's first message, in the same room.
ALTER TABLE messages ADD COLUMN reply_to bigint;
-- The IDs of the members a message mentions by name (NULL for none), and
-- whether its @room counted.
ALTER TABLE messages ADD COLUMN mentions text[];
ALTER TABLE messages ADD COLUMN mention_room boolean NOT NULL DEFAULT false;
-- Search: the text's words, without stemming ('simple': chat is in every
-- language), indexed with GIN. A deleted message's text is '', so it
-- matches nothing.
ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED;

-- Thread pages and reply summaries.
CREATE INDEX messages_reply_to ON messages (room, reply_to, seq) WHERE reply_to IS NOT NULL;
-- Unread mention counts look only at messages that mention someone.
CREATE INDEX messages_mentions ON messages (room, seq) WHERE mentions IS NOT NULL OR mention_room;
CREATE INDEX messages_search ON messages USING gin (search);

CREATE TABLE reactions (
	room       text        COLLATE "C" NOT NULL,
	seq        bigint      NOT NULL,
	emoji      text        NOT NULL,
	user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (room, seq, emoji, user_id), -- one per user per emoji
	FOREIGN KEY (room, seq) REFERENCES messages (room, seq)
);
