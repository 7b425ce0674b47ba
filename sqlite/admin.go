package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/chatd/chatd/chat"
)

// revocationTTL is how long a revocation is kept: long enough for every
// node to have seen it, short enough that the table stays small.
const revocationTTL = 24 * time.Hour

// Users returns every account, sorted by username without case.
func (s *Store) Users(ctx context.Context) ([]chat.UserInfo, error) {
	users := []chat.UserInfo{}
	err := s.view(ctx, "users", func(q querier) error {
		rows, err := q.QueryContext(ctx,
			`SELECT u.id, u.username, u.created_at, u.disabled,
				(SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > ?)
			 FROM users u ORDER BY u.username_key`, toMillis(now()))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var u chat.UserInfo
			var created int64
			if err := rows.Scan(&u.ID, &u.Username, &created, &u.Disabled, &u.Sessions); err != nil {
				return err
			}
			u.CreatedAt = fromMillis(created)
			users = append(users, u)
		}
		return rows.Err()
	})
	return users, err
}

// SetPassword replaces the password hash of the user named username.
func (s *Store) SetPassword(ctx context.Context, username, passwordHash string) (chat.User, error) {
	var u chat.User
	err := s.update(ctx, "set password", func(tx *sql.Tx) error {
		var err error
		if u, err = userByName(ctx, tx, username); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, passwordHash, u.ID)
		return err
	})
	return u, err
}

// SetDisabled disables or enables the account named username; disabling
// revokes its sessions in the same transaction.
func (s *Store) SetDisabled(ctx context.Context, username string, disabled bool) (chat.User, error) {
	var u chat.User
	err := s.update(ctx, "set disabled", func(tx *sql.Tx) error {
		var err error
		if u, err = userByName(ctx, tx, username); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `UPDATE users SET disabled = ? WHERE id = ?`, disabled, u.ID); err != nil {
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
	err := s.update(ctx, "revoke sessions", func(tx *sql.Tx) error {
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
// revocations older than revocationTTL. SQLite's single writer orders the
// ids as it commits them.
func revoke(ctx context.Context, tx *sql.Tx, userID string) (int, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	at := now()
	if _, err := tx.ExecContext(ctx, `DELETE FROM revocations WHERE at < ?`, toMillis(at.Add(-revocationTTL))); err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO revocations (user_id, at) VALUES (?, ?)`, userID, toMillis(at))
	return int(n), err
}

// RevocationsAfter returns up to limit revocations with an id above after.
func (s *Store) RevocationsAfter(ctx context.Context, after int64, limit int) ([]chat.Revocation, error) {
	revs := []chat.Revocation{}
	err := s.view(ctx, "revocations", func(q querier) error {
		rows, err := q.QueryContext(ctx,
			`SELECT id, user_id FROM revocations WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
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

// AllRooms returns every room, DMs included, sorted by name.
func (s *Store) AllRooms(ctx context.Context) ([]chat.RoomInfo, error) {
	rooms := []chat.RoomInfo{}
	err := s.view(ctx, "all rooms", func(q querier) error {
		rows, err := q.QueryContext(ctx,
			`SELECT r.name, r.private, COALESCE(u.username, ''), r.last_seq, r.archived, r.created_at,
				(SELECT COUNT(*) FROM memberships m WHERE m.room = r.name)
			 FROM rooms r LEFT JOIN users u ON u.id = r.owner
			 ORDER BY r.name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r chat.RoomInfo
			var created int64
			if err := rows.Scan(&r.Name, &r.Private, &r.Owner, &r.LastSeq, &r.Archived, &created, &r.Members); err != nil {
				return err
			}
			r.CreatedAt = fromMillis(created)
			rooms = append(rooms, r)
		}
		return rows.Err()
	})
	return rooms, err
}

// SetArchived archives or unarchives room name.
func (s *Store) SetArchived(ctx context.Context, name string, archived bool) error {
	return s.update(ctx, "set archived", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE rooms SET archived = ? WHERE name = ?`, archived, name)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = chat.ErrRoomNotFound
		}
		return err
	})
}

// SetRoomOwner makes the user named username the owner of room name, and a
// member of it.
func (s *Store) SetRoomOwner(ctx context.Context, name, username string) error {
	if err := chat.CheckOwnable(name); err != nil {
		return err
	}
	return s.update(ctx, "set room owner", func(tx *sql.Tx) error {
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
		if _, err := tx.ExecContext(ctx, `UPDATE rooms SET owner = ? WHERE name = ?`, u.ID, name); err != nil {
			return err
		}
		// The room changes hands: its other owners become members.
		if _, err := tx.ExecContext(ctx, `UPDATE memberships SET role = ? WHERE room = ? AND user_id <> ? AND role = ?`,
			chat.RoleMember, name, u.ID, chat.RoleOwner); err != nil {
			return err
		}
		if !a.Member {
			_, err = addMember(ctx, tx, name, u.ID, a.LastSeq, chat.RoleOwner)
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE memberships SET role = ? WHERE room = ? AND user_id = ?`, chat.RoleOwner, name, u.ID)
		return err
	})
}
