package sqlite

import (
	"context"
	"database/sql"

	"github.com/chatd/chatd/chat"
)

// SetRoomMuted mutes or unmutes room for userID, a member who may read it.
func (s *Store) SetRoomMuted(ctx context.Context, userID, room string, muted bool) error {
	return s.update(ctx, "set room muted", func(tx *sql.Tx) error {
		if _, err := checkAccess(ctx, tx, userID, room, chat.Access.MayRead); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE memberships SET muted = ? WHERE room = ? AND user_id = ?`, muted, room, userID)
		return err
	})
}
