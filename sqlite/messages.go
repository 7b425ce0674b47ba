package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/chatd/chatd/chat"
)

const (
	// defaultAfterLimit is MessagesAfter's page when the caller gives none.
	defaultAfterLimit = 100
)

// selectMessage reads a chat.Message from messages g JOIN users u.
const selectMessage = `SELECT g.room, g.seq, g.id, g.user_id, u.username, g.text,
	COALESCE(g.client_msg_id, ''), g.sent_at, g.edited_at, g.deleted,
	COALESCE(g.reply_to, 0), COALESCE(g.mentions, ''), g.mention_room
	FROM messages g JOIN users u ON u.id = g.user_id `

func scanMessage(sc scanner) (chat.Message, error) {
	var (
		m        chat.Message
		sentAt   int64
		editedAt sql.NullInt64
		mentions string
	)
	err := sc.Scan(&m.Room, &m.Seq, &m.ID, &m.From.ID, &m.From.Username, &m.Text,
		&m.ClientMsgID, &sentAt, &editedAt, &m.Deleted, &m.ReplyTo, &mentions, &m.MentionRoom)
	if err != nil {
		return chat.Message{}, err
	}
	m.Mentions = strings.Fields(mentions)
	m.SentAt = fromMillis(sentAt)
	if editedAt.Valid {
		t := fromMillis(editedAt.Int64)
		m.EditedAt = &t
	}
	return m, nil
}

func scanMessages(rows *sql.Rows, capacity int) ([]chat.Message, error) {
	defer rows.Close()
	msgs := make([]chat.Message, 0, capacity)
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}

func loadMessage(ctx context.Context, q querier, room string, seq int64) (chat.Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, selectMessage+`WHERE g.room = ? AND g.seq = ?`, room, seq))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Message{}, chat.ErrMessageNotFound
	}
	return m, err
}

// Append stores a message: membership check, idempotency check, seq
// assignment and insert, in one statement inside a write transaction that
// is durable (synchronous=FULL) before Append returns. Concurrent Appends
// share one transaction and so one fsync (group commit, see appender.go).
func (s *Store) Append(ctx context.Context, nm chat.NewMessage) (chat.Message, bool, error) {
	type result struct {
		m       chat.Message
		created bool
		err     error
	}
	done := make(chan result, 1)
	s.AppendAsync(ctx, nm, func(m chat.Message, created bool, err error) { done <- result{m, created, err} })
	// Once queued, wait for the outcome even if ctx ends: the message may
	// be committed, and the caller must not be told otherwise.
	r := <-done
	return r.m, r.created, r.err
}

// AppendAsync implements chat.AsyncAppender: the appender takes requests
// in the order they were queued and reports them in that order.
func (s *Store) AppendAsync(ctx context.Context, nm chat.NewMessage, done func(chat.Message, bool, error)) {
	if err := s.gate.Enter(); err != nil {
		done(chat.Message{}, false, err)
		return
	}
	req := &appendReq{ctx: ctx, nm: nm, then: func(m chat.Message, created bool, err error) {
		s.gate.Exit()
		done(m, created, err)
	}}
	select {
	case s.writes <- req:
	case <-ctx.Done():
		s.gate.Exit()
		done(chat.Message{}, false, mapErr("append", ctx.Err()))
	}
}

// History returns a page of room's messages for userID, ascending, and
// whether more exist further in the query's direction.
func (s *Store) History(ctx context.Context, userID, room string, q chat.HistoryQuery) ([]chat.Message, bool, error) {
	q, err := q.Check()
	if err != nil {
		return nil, false, err
	}
	limit := q.Limit

	var (
		msgs []chat.Message
		more bool
	)
	err = s.view(ctx, "history", func(db querier) error {
		if _, err := checkAccess(ctx, db, userID, room, chat.Access.MayRead); err != nil {
			return err
		}
		// A thread's page is a room page of the messages that reply to it.
		where := `WHERE g.room = ?1 `
		if q.Thread > 0 {
			if _, err := loadMessage(ctx, db, room, q.Thread); err != nil {
				return err
			}
			where = `WHERE g.room = ?1 AND g.reply_to = ?3 `
		}
		// One row more than the page, in the order q.Page takes.
		var (
			rows *sql.Rows
			err  error
		)
		switch {
		case q.After:
			rows, err = db.QueryContext(ctx, selectMessage+where+`AND g.seq > ?2 ORDER BY g.seq LIMIT ?4`,
				room, q.AfterSeq, q.Thread, limit+1)
		case q.BeforeSeq > 0:
			rows, err = db.QueryContext(ctx, selectMessage+where+`AND g.seq < ?2 ORDER BY g.seq DESC LIMIT ?4`,
				room, q.BeforeSeq, q.Thread, limit+1)
		default:
			rows, err = db.QueryContext(ctx, selectMessage+where+`AND ?2 = 0 ORDER BY g.seq DESC LIMIT ?4`,
				room, 0, q.Thread, limit+1)
		}
		if err != nil {
			return err
		}
		if msgs, err = scanMessages(rows, limit+1); err != nil {
			return err
		}
		msgs, more = q.Page(msgs)
		return decorate(ctx, db, userID, room, msgs)
	})
	if err != nil {
		return nil, false, err
	}
	return msgs, more, nil
}

// MayRead answers whether userID may read room's messages, as History
// would check it.
func (s *Store) MayRead(ctx context.Context, userID, room string) error {
	return s.view(ctx, "may read", func(q querier) error {
		_, err := checkAccess(short(ctx), q, userID, room, chat.Access.MayRead)
		return err
	})
}

// MessagesAfter returns up to limit messages of room with seq > after,
// ascending, without a membership check. A limit of 0 or less means 100.
func (s *Store) MessagesAfter(ctx context.Context, room string, after int64, limit int) ([]chat.Message, error) {
	if limit <= 0 {
		limit = defaultAfterLimit
	}
	var msgs []chat.Message
	err := s.view(ctx, "messages after", func(q querier) error {
		rows, err := q.QueryContext(ctx, selectMessage+`WHERE g.room = ? AND g.seq > ? ORDER BY g.seq LIMIT ?`,
			room, after, limit)
		if err != nil {
			return err
		}
		if msgs, err = scanMessages(rows, min(limit, 64)); err != nil {
			return err
		}
		return withAttachments(ctx, q, room, msgs)
	})
	if err != nil {
		return nil, err
	}
	return msgs, nil
}

// LastSeq returns the highest seq of room: 0 if it has no messages,
// ErrNotFound if it does not exist.
func (s *Store) LastSeq(ctx context.Context, room string) (int64, error) {
	var seq int64
	err := s.view(ctx, "last seq", func(q querier) error {
		err := q.QueryRowContext(ctx, `SELECT last_seq FROM rooms WHERE name = ?`, room).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return chat.ErrRoomNotFound
		}
		return err
	})
	return seq, err
}

// EditMessage replaces the text of a message, as chat.Access.MayEdit
// decides.
func (s *Store) EditMessage(ctx context.Context, userID, room string, seq int64, text string, at time.Time) (chat.Message, error) {
	if at.IsZero() {
		at = time.Now()
	}
	var msg chat.Message
	err := s.update(ctx, "edit message", func(tx *sql.Tx) error {
		// Membership first, so that a non-member learns nothing of the
		// room's messages, then the whole rule for this message.
		a, err := checkAccess(ctx, tx, userID, room, chat.Access.MayPost)
		if err != nil {
			return err
		}
		m, err := loadMessage(ctx, tx, room, seq)
		if err == nil {
			err = a.MayEdit(userID, m)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET text = ?, edited_at = ? WHERE room = ? AND seq = ?`,
			text, toMillis(at), room, seq); err != nil {
			return err
		}
		editedAt := fromMillis(toMillis(at))
		m.Text, m.EditedAt = text, &editedAt
		msg = m
		return nil
	})
	if err != nil {
		return chat.Message{}, err
	}
	return msg, nil
}

// DeleteMessage marks a message deleted and erases its text, as
// chat.Access.MayDelete decides. Deleting a deleted message returns it
// unchanged.
func (s *Store) DeleteMessage(ctx context.Context, userID, room string, seq int64, at time.Time) (chat.Message, error) {
	if at.IsZero() {
		at = time.Now()
	}
	var msg chat.Message
	err := s.update(ctx, "delete message", func(tx *sql.Tx) error {
		a, err := checkAccess(ctx, tx, userID, room, chat.Access.MayRead)
		if err != nil {
			return err
		}
		m, err := loadMessage(ctx, tx, room, seq)
		if err != nil {
			return err
		}
		already, err := a.MayDelete(userID, m)
		if err != nil {
			return err
		}
		if already {
			msg = m
			return nil
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE messages SET deleted = 1, text = '', deleted_at = ? WHERE room = ? AND seq = ?`,
			toMillis(at), room, seq); err != nil {
			return err
		}
		// Its files go with it (issue 9).
		if _, err := tx.ExecContext(ctx, `DELETE FROM files WHERE room = ? AND seq = ?`, room, seq); err != nil {
			return err
		}
		m.Deleted, m.Text = true, ""
		msg = m
		return nil
	})
	if err != nil {
		return chat.Message{}, err
	}
	return msg, nil
}

// MarkRead moves userID's read marker of room to seq as
// chat.Access.ClampRead decides, and returns the marker and the unread
// count after it.
func (s *Store) MarkRead(ctx context.Context, userID, room string, seq int64) (marker, unreadCount int64, err error) {
	err = s.update(ctx, "mark read", func(tx *sql.Tx) error {
		a, err := checkAccess(ctx, tx, userID, room, chat.Access.MayRead)
		if err != nil {
			return err
		}
		marker = a.ClampRead(seq)
		if marker != a.LastRead {
			if _, err := tx.ExecContext(ctx,
				`UPDATE memberships SET last_read_seq = ? WHERE room = ? AND user_id = ?`,
				marker, room, userID); err != nil {
				return err
			}
		}
		unreadCount, err = unread(ctx, tx, userID, room, marker)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return marker, unreadCount, nil
}
