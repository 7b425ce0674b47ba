package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatd/chatd/chat"
)

// Files (issue 9) live in the files table of migration 0005, content as
// bytea: see there why.

// attachmentJSON is a files row as an attachmentRow, for the queries that
// gather a message's files in one value.
const attachmentJSON = `json_build_object('id', files.id, 'name', files.name, 'size', files.size, 'type', files.type,
	'width', files.width, 'height', files.height, 'has_thumb', files.has_thumb)`

// attachmentRow is a files row without its content.
type attachmentRow struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	Type     string `json:"type"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	HasThumb bool   `json:"has_thumb"`
}

func (f attachmentRow) attachment() chat.Attachment {
	a := chat.Attachment{ID: f.ID, Name: f.Name, Size: f.Size, Type: f.Type, Width: f.Width, Height: f.Height,
		URL: chat.FileURL(f.ID, f.Name)}
	if f.HasThumb {
		a.Thumb = chat.ThumbURL(f.ID)
	}
	return a
}

// attachments makes rows, one message's files in order, into what the
// message carries: nil for none.
func attachments(rows []attachmentRow) []chat.Attachment {
	if len(rows) == 0 {
		return nil
	}
	out := make([]chat.Attachment, len(rows))
	for i, f := range rows {
		out[i] = f.attachment()
	}
	return out
}

// SaveFile stores an upload, as chat.Access.MayPost decides.
func (s *Store) SaveFile(ctx context.Context, userID string, f chat.NewFile) (chat.Attachment, error) {
	if f.CreatedAt.IsZero() {
		f.CreatedAt = time.Now()
	}
	id := chat.NewID("f_")
	err := s.update(ctx, "save file", func(tx pgx.Tx) error {
		if _, err := checkAccess(ctx, tx, userID, f.Room, chat.Access.MayPost); err != nil {
			return err
		}
		var thumb []byte
		if len(f.Thumb) > 0 {
			thumb = f.Thumb
		}
		_, err := tx.Exec(ctx, `INSERT INTO files
			(id, room, uploader, name, size, type, width, height, created_at, has_thumb, content, thumb)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			id, f.Room, userID, f.Name, len(f.Content), f.Type, f.Width, f.Height, toDB(f.CreatedAt),
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
			f              attachmentRow
			room, uploader string
			seq            *int64
		)
		err := q.QueryRow(ctx, `SELECT id, name, size, type, width, height, has_thumb, room, uploader, seq
			FROM files WHERE id = $1`, id).Scan(&f.ID, &f.Name, &f.Size, &f.Type, &f.Width, &f.Height, &f.HasThumb,
			&room, &uploader, &seq)
		if errors.Is(err, pgx.ErrNoRows) {
			return chat.ErrFileNotFound
		}
		if err != nil {
			return err
		}
		acc, err := loadAccess(ctx, q, userID, room)
		if err != nil {
			return err
		}
		if err := acc.MayReadFile(userID, uploader, seq != nil); err != nil {
			return err
		}
		col := "content"
		if thumb {
			if !f.HasThumb {
				return chat.ErrFileNotFound
			}
			col = "thumb"
		}
		a = f.attachment()
		// The content is read after the check, so that nobody's refusal
		// costs a read of it. A message deleted in between takes its file
		// with it: no row then.
		err = q.QueryRow(ctx, `SELECT `+col+` FROM files WHERE id = $1`, id).Scan(&content)
		if errors.Is(err, pgx.ErrNoRows) {
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
	err := s.update(ctx, "delete unattached files", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM files WHERE seq IS NULL AND created_at < $1`, toDB(before))
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// withAttachments fills in the attachments of msgs, ascending by seq, all
// of room.
func withAttachments(ctx context.Context, q querier, room string, msgs []chat.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, `SELECT id, name, size, type, width, height, has_thumb, seq FROM files
		WHERE room = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq, pos`, room, msgs[0].Seq, msgs[len(msgs)-1].Seq)
	if err != nil {
		return err
	}
	defer rows.Close()
	var atts map[int64][]chat.Attachment
	for rows.Next() {
		var (
			f   attachmentRow
			seq int64
		)
		if err := rows.Scan(&f.ID, &f.Name, &f.Size, &f.Type, &f.Width, &f.Height, &f.HasThumb, &seq); err != nil {
			return err
		}
		if atts == nil {
			atts = make(map[int64][]chat.Attachment)
		}
		atts[seq] = append(atts[seq], f.attachment())
	}
	if err := rows.Err(); err != nil {
		return err
	}
	chat.Attach(msgs, atts)
	return nil
}
