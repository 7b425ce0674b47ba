package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatd/chatd/chat"
)

// revocationTTL is how long a revocation is kept: long enough for every
// node to have seen it, short enough that the table stays small.
const revocationTTL = 24 * time.Hour

// Users returns every account, sorted by username without case.
func (s *Store) Users(ctx context.Context) ([]chat.UserInfo, error) {
	users := []chat.UserInfo{}
	err := s.view(ctx, "users", func(q querier) error {
		rows, err := q.Query(ctx,
			`SELECT u.id, u.username, u.created_at, u.disabled,
				(SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > $1)
			 FROM users u ORDER BY u.username_key`, now())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var u chat.UserInfo
			if err := rows.Scan(&u.ID, &u.Username, &u.CreatedAt, &u.Disabled, &u.Sessions); err != nil {
				return err
			}
			u.CreatedAt = fromDB(u.CreatedAt)
			users = append(users, u)
		}
		return rows.Err()
	})
	return users, err
}

// SetPassword replaces the password hash of the user named username.
func (s *Store) SetPassword(ctx context.Context, username, passwordHash string) (chat.User, error) {
	var u chat.User
	err := s.update(ctx, "set password", func(tx pgx.Tx) error {
		var err error
		if u, err = userByName(ctx, tx, username); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, passwordHash, u.ID)
		return err
	})
	return u, err
}

// SetDisabled disables or enables the account named username; disabling
// revokes its sessions in the same transaction. The update locks the
// user's row, so a CreateSession under way (which reads it FOR SHARE)
// either commits first, and its session is deleted here, or sees the
// account disabled.
func (s *Store) SetDisabled(ctx context.Context, username string, disabled bool) (chat.User, error) {
	var u chat.User
	err := s.update(ctx, "set disabled", func(tx pgx.Tx) error {
		var err error
		if u, err = userByName(ctx, tx, username); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `UPDATE users SET disabled = $1 WHERE id = $2`, disabled, u.ID); err != nil {
			return err
		}
		if disabled {
			_, err = revoke(ctx, tx, u.ID)
		}
		return err
	})
	return u, err
}

// RevokeSessions deletes the sessions of the user named username and
// records the revocation.
func (s *Store) RevokeSessions(ctx context.Context, username string) (chat.User, int, error) {
	var (
		u chat.User
		n int
	)
	err := s.update(ctx, "revoke sessions", func(tx pgx.Tx) error {
		var err error
		if u, err = userByName(ctx, tx, username); err != nil {
			return err
		}
		n, err = revoke(ctx, tx, u.ID)
		return err
	})
	return u, n, err
}

// revoke deletes userID's sessions, records a revocation and forgets the
// revocations older than revocationTTL. The EXCLUSIVE lock (which readers'
// ACCESS SHARE does not wait for) makes writers take turns until they
// commit, so ids become visible in increasing order: a poller that has
// seen id n will never find a smaller one appear later.
func revoke(ctx context.Context, tx pgx.Tx, userID string) (int, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE revocations IN EXCLUSIVE MODE`); err != nil {
		return 0, err
	}
	at := now()
	if _, err := tx.Exec(ctx, `DELETE FROM revocations WHERE at < $1`, at.Add(-revocationTTL)); err != nil {
		return 0, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO revocations (user_id, at) VALUES ($1, $2)`, userID, at)
	return int(tag.RowsAffected()), err
}

// RevocationsAfter returns up to limit revocations with an id above after.
func (s *Store) RevocationsAfter(ctx context.Context, after int64, limit int) ([]chat.Revocation, error) {
	revs := []chat.Revocation{}
	err := s.view(ctx, "revocations", func(q querier) error {
		rows, err := q.Query(ctx,
			`SELECT id, user_id FROM revocations WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r chat.Revocation
			if err := rows.Scan(&r.ID, &r.UserID); err != nil {
				return err
			}
			revs = append(revs, r)
		}
		return rows.Err()
	})
	return revs, err
}

// AllRooms returns every room, DMs included, sorted by name (bytewise).
func (s *Store) AllRooms(ctx context.Context) ([]chat.RoomInfo, error) {
	rooms := []chat.RoomInfo{}
	err := s.view(ctx, "all rooms", func(q querier) error {
		rows, err := q.Query(ctx,
			`SELECT r.name, r.private, COALESCE(u.username, ''), r.last_seq, r.archived, r.created_at,
				(SELECT COUNT(*) FROM memberships m WHERE m.room = r.name)
			 FROM rooms r LEFT JOIN users u ON u.id = r.owner
			 ORDER BY r.name COLLATE "C"`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r chat.RoomInfo
			if err := rows.Scan(&r.Name, &r.Private, &r.Owner, &r.LastSeq, &r.Archived, &r.CreatedAt, &r.Members); err != nil {
				return err
			}
			r.CreatedAt = fromDB(r.CreatedAt)
			rooms = append(rooms, r)
		}
		return rows.Err()
	})
	return rooms, err
}

// SetArchived archives or unarchives room name. The update waits for the
// room's Appends in progress (they hold its row lock), and those after it
// see the room archived.
func (s *Store) SetArchived(ctx context.Context, name string, archived bool) error {
	return s.update(ctx, "set archived", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE rooms SET archived = $1 WHERE name = $2`, archived, name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return chat.ErrRoomNotFound
		}
		return nil
	})
}

// SetRoomOwner makes the user named username the owner of room name, and a
// member of it.
func (s *Store) SetRoomOwner(ctx context.Context, name, username string) error {
	if err := chat.CheckOwnable(name); err != nil {
		return err
	}
	return s.update(ctx, "set room owner", func(tx pgx.Tx) error {
		u, err := userByName(ctx, tx, username)
		if err != nil {
			return err
		}
		a, err := loadAccess(ctx, tx, u.ID, name)
		switch {
		case err != nil:
			return err
		case !a.Exists:
			return chat.ErrRoomNotFound
		}
		if _, err := tx.Exec(ctx, `UPDATE rooms SET owner = $1 WHERE name = $2`, u.ID, name); err != nil {
			return err
		}
		// The room changes hands: its other owners become members.
		if _, err := tx.Exec(ctx, `UPDATE memberships SET role = $1 WHERE room = $2 AND user_id <> $3 AND role = $4`,
			chat.RoleMember, name, u.ID, chat.RoleOwner); err != nil {
			return err
		}
		if !a.Member {
			_, err = addMember(ctx, tx, name, u.ID, a.LastSeq, chat.RoleOwner)
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE memberships SET role = $1 WHERE room = $2 AND user_id = $3`, chat.RoleOwner, name, u.ID)
		return err
	})
}
