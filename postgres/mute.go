package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/chatd/chatd/chat"
)

// SetRoomMuted mutes or unmutes room for userID, a member who may read it.
func (s *Store) SetRoomMuted(ctx context.Context, userID, room string, muted bool) error {
	return s.update(ctx, "set room muted", func(tx pgx.Tx) error {
		if _, err := checkAccess(ctx, tx, userID, room, chat.Access.MayRead); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE memberships SET muted = $1 WHERE room = $2 AND user_id = $3`, muted, room, userID)
		if err == nil && tag.RowsAffected() == 0 { // left meanwhile
			return chat.ErrNotMember
		}
		return err
	})
}
