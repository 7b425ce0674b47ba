package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	zz "zombiezen.com/go/sqlite"

	"github.com/chatd/chatd/chat"
)

// Replies, reactions, mentions and search (issue 8).

// threadOf returns the thread a new reply joins: the message nm.ReplyTo
// names, or the thread of that message if it is a reply itself. The
// sender must be allowed to post, so that a non-member learns nothing.
func threadOf(ctx context.Context, q querier, nm chat.NewMessage) (int64, error) {
	if _, err := checkAccess(ctx, q, nm.From.ID, nm.Room, chat.Access.MayPost); err != nil {
		return 0, err
	}
	var root int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(reply_to, seq) FROM messages WHERE room = ? AND seq = ?`,
		nm.Room, nm.ReplyTo).Scan(&root)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, chat.ErrMessageNotFound
	}
	return root, err
}

// recordMentions stores the mentions of m, just inserted, if its text
// has any. Its errors are never SQLite's own, so that the appender rolls
// back the whole batch (the insert is already done).
func recordMentions(ctx context.Context, q querier, m *chat.Message) error {
	names, room := chat.ParseMentions(m.Text)
	if len(names) == 0 && !room {
		return nil
	}
	if len(names) > 0 {
		keys, _ := json.Marshal(names)
		rows, err := q.QueryContext(ctx, `SELECT u.id FROM memberships ms JOIN users u ON u.id = ms.user_id
			WHERE ms.room = ? AND u.username_key IN (SELECT value FROM json_each(?)) AND u.id <> ?
			ORDER BY u.id`, m.Room, string(keys), m.From.ID)
		if err != nil {
			return fmt.Errorf("mentions: %v", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("mentions: %v", err)
			}
			m.Mentions = append(m.Mentions, id)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("mentions: %v", err)
		}
	}
	if room {
		var (
			members int64
			owner   string
		)
		err := q.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM memberships WHERE room = ?1), COALESCE(owner, '')
			FROM rooms WHERE name = ?1`, m.Room).Scan(&members, &owner)
		if err != nil {
			return fmt.Errorf("mentions: %v", err)
		}
		m.MentionRoom = chat.MayMentionRoom(members, owner == m.From.ID)
	}
	if len(m.Mentions) == 0 && !m.MentionRoom {
		return nil
	}
	var ids any
	if len(m.Mentions) > 0 {
		ids = " " + strings.Join(m.Mentions, " ") + " "
	}
	if _, err := q.ExecContext(ctx, `UPDATE messages SET mentions = ?, mention_room = ? WHERE room = ? AND seq = ?`,
		ids, m.MentionRoom, m.Room, m.Seq); err != nil {
		return fmt.Errorf("mentions: %v", err)
	}
	return nil
}

// replySummaries summarises the threads of room whose first message has
// a seq from first to last.
func replySummaries(ctx context.Context, q querier, room string, first, last int64) (map[int64]*chat.Replies, error) {
	rows, err := q.QueryContext(ctx, `SELECT g.reply_to, g.user_id, u.username, count(*), max(g.seq)
		FROM messages g JOIN users u ON u.id = g.user_id
		WHERE g.room = ? AND g.reply_to BETWEEN ? AND ?
		GROUP BY g.reply_to, g.user_id`, room, first, last)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rs []chat.ReplierRow
	for rows.Next() {
		var r chat.ReplierRow
		if err := rows.Scan(&r.Parent, &r.User.ID, &r.User.Username, &r.Count, &r.LastSeq); err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return chat.SummarizeReplies(rs), nil
}

// reactionsOf returns the reactions on the messages of room with a seq
// from first to last, as reader sees them.
func reactionsOf(ctx context.Context, q querier, reader, room string, first, last int64) (map[int64][]chat.Reaction, error) {
	rows, err := q.QueryContext(ctx, `SELECT x.seq, x.emoji, x.user_id, u.username
		FROM reactions x JOIN users u ON u.id = x.user_id
		WHERE x.room = ? AND x.seq BETWEEN ? AND ?
		ORDER BY x.seq, x.created_at, x.rowid`, room, first, last)
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

// React adds or removes userID's reaction, as chat.Access.MayReact decides.
func (s *Store) React(ctx context.Context, userID, room string, seq int64, emoji string, add bool) ([]chat.Reaction, bool, error) {
	if err := chat.CheckEmoji(emoji); err != nil {
		return nil, false, err
	}
	var (
		reactions []chat.Reaction
		changed   bool
	)
	err := s.update(ctx, "react", func(tx *sql.Tx) error {
		a, err := checkAccess(ctx, tx, userID, room, chat.Access.MayRead)
		if err != nil {
			return err
		}
		m, err := loadMessage(ctx, tx, room, seq)
		if err != nil {
			return err
		}
		var present []string
		if add {
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(json_group_array(DISTINCT emoji), '[]') FROM reactions WHERE room = ? AND seq = ?`,
				room, seq).Scan(jsonStrings{&present}); err != nil {
				return err
			}
		}
		if err := a.MayReact(m, present, emoji, add); err != nil {
			return err
		}
		change := `DELETE FROM reactions WHERE room = ?1 AND seq = ?2 AND emoji = ?3 AND user_id = ?4 AND ?5 IS NOT NULL`
		if add {
			change = `INSERT INTO reactions (room, seq, emoji, user_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING`
		}
		res, err := tx.ExecContext(ctx, change, room, seq, emoji, userID, toMillis(time.Now()))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		changed = n > 0
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

// jsonStrings scans a JSON array of strings.
type jsonStrings struct{ v *[]string }

func (j jsonStrings) Scan(src any) error {
	var b []byte
	switch x := src.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		return fmt.Errorf("scan %T as a JSON array", src)
	}
	return json.Unmarshal(b, j.v)
}

// UnreadMentions counts each room's unread messages that mention userID.
func (s *Store) UnreadMentions(ctx context.Context, userID, room string) (map[string]int64, error) {
	counts := map[string]int64{}
	// One user's memberships, as for Rooms: a short read.
	err := s.lookup(ctx, "unread mentions", func(c *direct) error {
		return unreadMentions(c, userID, room, counts)
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// unreadMentions adds to counts, for each room of userID (or only room if
// not ""), how many of its unread messages mention them.
func unreadMentions(c *direct, userID, room string, counts map[string]int64) error {
	return each(c, `SELECT ms.room, count(*)
		FROM memberships ms JOIN messages g ON g.room = ms.room AND g.seq > ms.last_read_seq
		WHERE ms.user_id = ?1 AND (?2 = '' OR ms.room = ?2)
			AND (g.mentions IS NOT NULL OR g.mention_room = 1)
			AND g.deleted = 0 AND g.user_id <> ?1
			AND (g.mention_room = 1 OR instr(g.mentions, ' ' || ?1 || ' ') > 0)
		GROUP BY ms.room`, []any{userID, room}, func(st *zz.Stmt) error {
		counts[st.ColumnText(0)] = st.ColumnInt64(1)
		return nil
	})
}

// Search finds messages with every word of q.Text in the rooms userID is
// a member of, newest first, through the FTS5 index.
func (s *Store) Search(ctx context.Context, userID string, q chat.SearchQuery) ([]chat.SearchResult, bool, error) {
	q, err := q.Check()
	if err != nil {
		return nil, false, err
	}
	words := chat.SearchWords(q.Text)
	if len(words) == 0 {
		return []chat.SearchResult{}, false, nil
	}
	// Each word quoted: FTS5's own operators are not for users to reach.
	for i, w := range words {
		words[i] = `"` + w + `"`
	}
	var after, before any
	if !q.After.IsZero() {
		after = toMillis(q.After)
	}
	if !q.Before.IsZero() {
		before = toMillis(q.Before)
	}
	results := []chat.SearchResult{}
	more := false
	err = s.view(ctx, "search", func(db querier) error {
		if q.Room != "" {
			if _, err := checkAccess(ctx, db, userID, q.Room, chat.Access.MayRead); err != nil {
				return err
			}
		}
		rows, err := db.QueryContext(ctx, `SELECT g.room, g.seq, g.user_id, u.username, g.sent_at, COALESCE(g.reply_to, 0),
				snippet(messages_fts, 0, ?1, ?2, '…', 24)
			FROM messages_fts f
			JOIN messages g ON g.rowid = f.rowid
			JOIN memberships ms ON ms.room = g.room AND ms.user_id = ?3
			JOIN users u ON u.id = g.user_id
			WHERE messages_fts MATCH ?4 AND g.deleted = 0
				AND (?5 = '' OR g.room = ?5)
				AND (?6 = '' OR u.username_key = lower(?6))
				AND (?7 IS NULL OR g.sent_at > ?7)
				AND (?8 IS NULL OR g.sent_at < ?8)
			ORDER BY g.sent_at DESC, g.room, g.seq DESC
			LIMIT ?9 OFFSET ?10`,
			chat.HighlightStart, chat.HighlightEnd, userID, strings.Join(words, " "),
			q.Room, q.From, after, before, q.Limit+1, q.Offset)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r      chat.SearchResult
				sentAt int64
			)
			if err := rows.Scan(&r.Room, &r.Seq, &r.From.ID, &r.From.Username, &sentAt, &r.ReplyTo, &r.Snippet); err != nil {
				return err
			}
			r.SentAt = fromMillis(sentAt)
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
