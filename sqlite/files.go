package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/chatd/chatd/chat"
)

// Files (issue 9) live in the database file, in the files table of
// migration 0006: see there why.

// attachmentColumns selects a chat.Attachment from files f.
const attachmentColumns = `f.id, f.name, f.size, f.type, f.width, f.height, f.has_thumb`

func scanAttachment(sc scanner, extra ...any) (chat.Attachment, error) {
	var (
		a     chat.Attachment
		thumb bool
	)
	if err := sc.Scan(append([]any{&a.ID, &a.Name, &a.Size, &a.Type, &a.Width, &a.Height, &thumb}, extra...)...); err != nil {
		return chat.Attachment{}, err
	}
	a.URL = chat.FileURL(a.ID, a.Name)
	if thumb {
		a.Thumb = chat.ThumbURL(a.ID)
	}
	return a, nil
}

// SaveFile stores an upload, as chat.Access.MayPost decides.
func (s *Store) SaveFile(ctx context.Context, userID string, f chat.NewFile) (chat.Attachment, error) {
	if f.CreatedAt.IsZero() {
		f.CreatedAt = time.Now()
	}
	id := chat.NewID("f_")
	err := s.update(ctx, "save file", func(tx *sql.Tx) error {
		if _, err := checkAccess(ctx, tx, userID, f.Room, chat.Access.MayPost); err != nil {
			return err
		}
		var thumb []byte
		if len(f.Thumb) > 0 {
			thumb = f.Thumb
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO files
			(id, room, uploader, name, size, type, width, height, created_at, has_thumb, content, thumb)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, f.Room, userID, f.Name, len(f.Content), f.Type, f.Width, f.Height, toMillis(f.CreatedAt),
			thumb != nil, f.Content, thumb)
		return err
	})
	if err != nil {
		return chat.Attachment{}, err
	}
	return f.Attachment(id), nil
}

// File returns a file and its content (or thumbnail) to a reader that
// chat.Access.MayReadFile lets read it.
func (s *Store) File(ctx context.Context, userID, id string, thumb bool) (chat.Attachment, []byte, error) {
	if !chat.ValidFileID(id) {
		return chat.Attachment{}, nil, chat.ErrFileNotFound
	}
	var (
		a       chat.Attachment
		content []byte
	)
	err := s.view(ctx, "file", func(q querier) error {
		var (
			room, uploader string
			seq            sql.NullInt64
		)
		a0, err := scanAttachment(q.QueryRowContext(ctx, `SELECT `+attachmentColumns+`, f.room, f.uploader, f.seq
			FROM files f WHERE f.id = ?`, id), &room, &uploader, &seq)
		if errors.Is(err, sql.ErrNoRows) {
			return chat.ErrFileNotFound
		}
		if err != nil {
			return err
		}
		acc, err := loadAccess(ctx, q, userID, room)
		if err != nil {
			return err
		}
		if err := acc.MayReadFile(userID, uploader, seq.Valid); err != nil {
			return err
		}
		col := "content"
		if thumb {
			if a0.Thumb == "" {
				return chat.ErrFileNotFound
			}
			col = "thumb"
		}
		a = a0
		// The content is read after the check, so that nobody's refusal
		// costs a read of it. A message deleted in between takes its file
		// with it: no row then.
		err = q.QueryRowContext(ctx, `SELECT `+col+` FROM files WHERE id = ?`, id).Scan(&content)
		if errors.Is(err, sql.ErrNoRows) {
			return chat.ErrFileNotFound
		}
		return err
	})
	if err != nil {
		return chat.Attachment{}, nil, err
	}
	return a, content, nil
}

// DeleteUnattachedFiles deletes the uploads older than before that no
// message carries.
func (s *Store) DeleteUnattachedFiles(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.update(ctx, "delete unattached files", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM files WHERE seq IS NULL AND created_at < ?`, toMillis(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// attachFiles gives msg, just inserted, the files nm names, inside
// Append's transaction. attachable has checked them.
func attachFiles(ctx context.Context, q querier, nm chat.NewMessage, msg *chat.Message) error {
	for i, id := range nm.Attachments {
		if _, err := q.ExecContext(ctx, `UPDATE files SET seq = ?, pos = ? WHERE id = ?`, msg.Seq, i, id); err != nil {
			return err
		}
	}
	atts, err := attachmentsOf(ctx, q, msg.Room, msg.Seq, msg.Seq)
	msg.Attachments = atts[msg.Seq]
	return err
}

// attachable checks, before the insert, that every file nm names is an
// unattached upload of its sender to its room (chat.Attachable).
func attachable(ctx context.Context, q querier, nm chat.NewMessage) error {
	args := []any{nm.Room, nm.From.ID}
	for _, id := range nm.Attachments {
		args = append(args, id)
	}
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM files
		WHERE room = ? AND uploader = ? AND seq IS NULL AND id IN (?`+strings.Repeat(", ?", len(nm.Attachments)-1)+`)`,
		args...).Scan(&n)
	if err != nil {
		return err
	}
	return chat.Attachable(nm.Attachments, n)
}

// attachmentsOf returns the files of room's messages first to last, by
// seq, each message's in its order.
func attachmentsOf(ctx context.Context, q querier, room string, first, last int64) (map[int64][]chat.Attachment, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+attachmentColumns+`, f.seq FROM files f
		WHERE f.room = ? AND f.seq BETWEEN ? AND ? ORDER BY f.seq, f.pos`, room, first, last)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out map[int64][]chat.Attachment
	for rows.Next() {
		var seq int64
		a, err := scanAttachment(rows, &seq)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = make(map[int64][]chat.Attachment)
		}
		out[seq] = append(out[seq], a)
	}
	return out, rows.Err()
}

// withAttachments fills in the attachments of msgs, ascending by seq, all
// of room.
func withAttachments(ctx context.Context, q querier, room string, msgs []chat.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	atts, err := attachmentsOf(ctx, q, room, msgs[0].Seq, msgs[len(msgs)-1].Seq)
	if err != nil {
		return err
	}
	chat.Attach(msgs, atts)
	return nil
}
