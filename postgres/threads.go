package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatd/chatd/chat"
)

// Replies, reactions, mentions and search (issue 8).

// recordMentions stores the mentions of a message just appended (by id),
// in the Append's batch: the members named (not the sender), and whether
// its @room counts, as chat.MayMentionRoom decides ($6 is its bound). It
// updates nothing if the Append stored nothing.
//
// Parameters: room, sender id, message id, lower-cased names, @room, bound.
const recordMentions = `WITH named AS (
	SELECT array_agg(u.id ORDER BY u.id) AS ids
	FROM memberships ms JOIN users u ON u.id = ms.user_id
	WHERE ms.room = $1 AND u.username_key = ANY($4::text[]) AND u.id <> $2
), rm AS (
	SELECT $5::boolean AND ((SELECT count(*) FROM memberships WHERE room = $1) <= $6 OR r.owner IS NOT DISTINCT FROM $2) AS ok
	FROM rooms r WHERE r.name = $1
)
UPDATE messages SET mentions = (SELECT ids FROM named), mention_room = COALESCE((SELECT ok FROM rm), false)
WHERE id = $3
RETURNING mentions, mention_room`

// threadSummary reads the repliers of the thread a message just appended
// (by id) joined, in the Append's batch.
const threadSummary = `SELECT g.reply_to, g.user_id, u.username, count(*), max(g.seq)
	FROM messages g JOIN users u ON u.id = g.user_id
	WHERE g.room = $1 AND g.reply_to = (SELECT reply_to FROM messages WHERE id = $2)
	GROUP BY g.reply_to, g.user_id, u.username`

// appendExtras reads the results of the statements tryAppends queued
// after r's appendMessage, and applies them if r stored its message.
func appendExtras(br pgx.BatchResults, r *appendReq) error {
	stored := r.err == nil && r.created
	if len(r.names) > 0 || r.mentionRoom {
		var (
			ids []string
			all bool
		)
		err := br.QueryRow().Scan(&ids, &all)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case stored:
			r.msg.Mentions, r.msg.MentionRoom = ids, all
		}
	}
	if r.nm.ReplyTo > 0 {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		rs, err := scanRepliers(rows)
		if err != nil {
			return err
		}
		if stored {
			r.msg.Thread = chat.SummarizeReplies(rs)[r.msg.ReplyTo]
		}
	}
	return nil
}

func scanRepliers(rows pgx.Rows) ([]chat.ReplierRow, error) {
	defer rows.Close()
	var rs []chat.ReplierRow
	for rows.Next() {
		var r chat.ReplierRow
		if err := rows.Scan(&r.Parent, &r.User.ID, &r.User.Username, &r.Count, &r.LastSeq); err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, rows.Err()
}

// replySummaries summarises the threads of room whose first message has
// a seq from first to last.
func replySummaries(ctx context.Context, q querier, room string, first, last int64) (map[int64]*chat.Replies, error) {
	rows, err := q.Query(ctx, `SELECT g.reply_to, g.user_id, u.username, count(*), max(g.seq)
		FROM messages g JOIN users u ON u.id = g.user_id
		WHERE g.room = $1 AND g.reply_to BETWEEN $2 AND $3
		GROUP BY g.reply_to, g.user_id, u.username`, room, first, last)
	if err != nil {
		return nil, err
	}
	rs, err := scanRepliers(rows)
	if err != nil {
		return nil, err
	}
	return chat.SummarizeReplies(rs), nil
}

// reactionsOf returns the reactions on the messages of room with a seq
// from first to last, as reader sees them.
func reactionsOf(ctx context.Context, q querier, reader, room string, first, last int64) (map[int64][]chat.Reaction, error) {
	rows, err := q.Query(ctx, `SELECT x.seq, x.emoji, x.user_id, u.username
		FROM reactions x JOIN users u ON u.id = x.user_id
		WHERE x.room = $1 AND x.seq BETWEEN $2 AND $3
		ORDER BY x.seq, x.created_at, x.emoji, x.user_id`, room, first, last)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rs []chat.ReactionRow
	for rows.Next() {
		var r chat.ReactionRow
		if err := rows.Scan(&r.Seq, &r.Emoji, &r.User.ID, &r.User.Username); err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return chat.GroupReactions(rs, reader), nil
}

// decorate fills in the replies and reactions of a page of room's
// messages, ascending by seq, as reader sees them.
func decorate(ctx context.Context, q querier, reader, room string, msgs []chat.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	first, last := msgs[0].Seq, msgs[len(msgs)-1].Seq
	threads, err := replySummaries(ctx, q, room, first, last)
	if err != nil {
		return err
	}
	reactions, err := reactionsOf(ctx, q, reader, room, first, last)
	if err != nil {
		return err
	}
	chat.Decorate(msgs, threads, reactions)
	return withAttachments(ctx, q, room, msgs)
}

// React adds or removes userID's reaction, as chat.Access.MayReact
// decides. The message's row lock makes the reactions of one message take
// turns, so the bound on emoji holds across nodes.
func (s *Store) React(ctx context.Context, userID, room string, seq int64, emoji string, add bool) ([]chat.Reaction, bool, error) {
	if err := chat.CheckEmoji(emoji); err != nil {
		return nil, false, err
	}
	var (
		reactions []chat.Reaction
		changed   bool
	)
	err := s.update(ctx, "react", func(tx pgx.Tx) error {
		a, err := checkAccess(ctx, tx, userID, room, chat.Access.MayRead)
		if err != nil {
			return err
		}
		m, err := loadMessageForUpdate(ctx, tx, room, seq)
		if err != nil {
			return err
		}
		var present []string
		if add {
			if err := tx.QueryRow(ctx, `SELECT COALESCE(array_agg(DISTINCT emoji), '{}') FROM reactions WHERE room = $1 AND seq = $2`,
				room, seq).Scan(&present); err != nil {
				return err
			}
		}
		if err := a.MayReact(m, present, emoji, add); err != nil {
			return err
		}
		change := `DELETE FROM reactions WHERE room = $1 AND seq = $2 AND emoji = $3 AND user_id = $4 AND $5::timestamptz IS NOT NULL`
		if add {
			change = `INSERT INTO reactions (room, seq, emoji, user_id, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`
		}
		tag, err := tx.Exec(ctx, change, room, seq, emoji, userID, now())
		if err != nil {
			return err
		}
		changed = tag.RowsAffected() > 0
		all, err := reactionsOf(ctx, tx, userID, room, seq, seq)
		reactions = all[seq]
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if reactions == nil {
		reactions = []chat.Reaction{}
	}
	return reactions, changed, nil
}

// UnreadMentions counts each room's unread messages that mention userID.
func (s *Store) UnreadMentions(ctx context.Context, userID, room string) (map[string]int64, error) {
	counts := map[string]int64{}
	err := s.view(ctx, "unread mentions", func(q querier) error {
		return unreadMentions(ctx, q, userID, room, counts)
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// unreadMentions adds to counts, for each room of userID (or only room if
// not ""), how many of its unread messages mention them.
func unreadMentions(ctx context.Context, q querier, userID, room string, counts map[string]int64) error {
	rows, err := q.Query(ctx, `SELECT ms.room, count(*)
		FROM memberships ms JOIN messages g ON g.room = ms.room AND g.seq > ms.last_read_seq
		WHERE ms.user_id = $1 AND ($2 = '' OR ms.room = $2)
			AND (g.mentions IS NOT NULL OR g.mention_room)
			AND NOT g.deleted AND g.user_id <> $1
			AND (g.mention_room OR $1 = ANY(g.mentions))
		GROUP BY ms.room`, userID, room)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name string
			n    int64
		)
		if err := rows.Scan(&name, &n); err != nil {
			return err
		}
		counts[name] = n
	}
	return rows.Err()
}

// Search finds messages matching q.Text (websearch_to_tsquery, 'simple')
// in the rooms userID is a member of, newest first, through the GIN index.
func (s *Store) Search(ctx context.Context, userID string, q chat.SearchQuery) ([]chat.SearchResult, bool, error) {
	q, err := q.Check()
	if err != nil {
		return nil, false, err
	}
	var after, before *time.Time
	if !q.After.IsZero() {
		t := toDB(q.After)
		after = &t
	}
	if !q.Before.IsZero() {
		t := toDB(q.Before)
		before = &t
	}
	results := []chat.SearchResult{}
	more := false
	err = s.view(ctx, "search", func(db querier) error {
		if q.Room != "" {
			if _, err := checkAccess(ctx, db, userID, q.Room, chat.Access.MayRead); err != nil {
				return err
			}
		}
		rows, err := db.Query(ctx, `WITH tq AS (SELECT websearch_to_tsquery('simple', $1) AS q)
			SELECT g.room, g.seq, g.user_id, u.username, g.sent_at, COALESCE(g.reply_to, 0),
				ts_headline('simple', g.text, tq.q,
					'StartSel=' || $9 || ', StopSel=' || $10 || ', MaxWords=35, MinWords=15, ShortWord=1, MaxFragments=2, FragmentDelimiter=" … "')
			FROM tq, messages g
			JOIN memberships ms ON ms.room = g.room AND ms.user_id = $2
			JOIN users u ON u.id = g.user_id
			WHERE g.search @@ tq.q AND NOT g.deleted
				AND ($3 = '' OR g.room = $3)
				AND ($4 = '' OR u.username_key = lower($4))
				AND ($5::timestamptz IS NULL OR g.sent_at > $5)
				AND ($6::timestamptz IS NULL OR g.sent_at < $6)
			ORDER BY g.sent_at DESC, g.room, g.seq DESC
			LIMIT $7 OFFSET $8`,
			q.Text, userID, q.Room, q.From, after, before, q.Limit+1, q.Offset,
			chat.HighlightStart, chat.HighlightEnd)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r      chat.SearchResult
				sentAt time.Time
			)
			if err := rows.Scan(&r.Room, &r.Seq, &r.From.ID, &r.From.Username, &sentAt, &r.ReplyTo, &r.Snippet); err != nil {
				return err
			}
			r.SentAt = fromDB(sentAt)
			results = append(results, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, false, err
	}
	if len(results) > q.Limit {
		results, more = results[:q.Limit], true
	}
	return results, more, nil
}
