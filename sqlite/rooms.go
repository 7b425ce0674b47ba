package sqlite

import (
	"context"
	"database/sql"
	"errors"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chatd/chatd/chat"
)

// loadAccess reads room name as userID relates to it, for the rules of
// chat.Access to decide on; a room that does not exist is the zero Access.
func loadAccess(ctx context.Context, q querier, userID, name string) (chat.Access, error) {
	var (
		a        = chat.Access{Exists: true}
		lastRead sql.NullInt64
	)
	err := q.QueryRowContext(ctx,
		`SELECT r.private, COALESCE(r.owner, ''), r.last_seq, m.last_read_seq, r.archived
		 FROM rooms r LEFT JOIN memberships m ON m.room = r.name AND m.user_id = ?
		 WHERE r.name = ?`, userID, name).Scan(&a.Private, &a.Owner, &a.LastSeq, &lastRead, &a.Archived)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Access{}, nil
	}
	if err != nil {
		return chat.Access{}, err
	}
	a.Member, a.LastRead = lastRead.Valid, lastRead.Int64
	return a, nil
}

// checkAccess is loadAccess for a request that rule, one of chat.Access's
// (MayRead, MayPost), must let through.
func checkAccess(ctx context.Context, q querier, userID, name string, rule func(chat.Access) error) (chat.Access, error) {
	a, err := loadAccess(ctx, q, userID, name)
	if err != nil {
		return chat.Access{}, err
	}
	return a, rule(a)
}

// roomColumns selects a chat.Room from rooms r LEFT JOIN memberships m (the
// viewer's membership). Unread is counted in the same statement, so lists of
// rooms take one query.
const roomColumns = `r.name, r.private, COALESCE(r.owner, ''), r.last_seq, m.last_read_seq IS NOT NULL,
	CASE WHEN m.last_read_seq IS NULL THEN 0 ELSE (
		SELECT COUNT(*) FROM messages g
		WHERE g.room = r.name AND g.seq > m.last_read_seq AND g.user_id <> m.user_id AND g.deleted = 0
	) END, r.archived`

type scanner interface{ Scan(dest ...any) error }

func scanRoom(sc scanner) (chat.Room, error) {
	var r chat.Room
	err := sc.Scan(&r.Name, &r.Private, &r.Owner, &r.LastSeq, &r.Joined, &r.Unread, &r.Archived)
	return r, err
}

// roomView returns room name as userID sees it, if chat.Access.MayView
// lets them see it.
func roomView(ctx context.Context, q querier, userID, name string) (chat.Room, error) {
	r, err := scanRoom(q.QueryRowContext(ctx,
		`SELECT `+roomColumns+`
		 FROM rooms r LEFT JOIN memberships m ON m.room = r.name AND m.user_id = ?
		 WHERE r.name = ?`, userID, name))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return chat.Room{}, err
	}
	if err := (chat.Access{Exists: err == nil, Private: r.Private, Member: r.Joined}).MayView(); err != nil {
		return chat.Room{}, err
	}
	return r, nil
}

// unread counts the messages of room after marker that others sent and
// that are not deleted.
func unread(ctx context.Context, q querier, userID, room string, marker int64) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM messages
		 WHERE room = ? AND seq > ? AND user_id <> ? AND deleted = 0`,
		room, marker, userID).Scan(&n)
	return n, err
}

// addMember makes userID a member of room with the read marker at
// lastRead; added is false if they already were one.
func addMember(ctx context.Context, tx *sql.Tx, room, userID string, lastRead int64) (added bool, err error) {
	res, err := tx.ExecContext(ctx,
		`INSERT INTO memberships (room, user_id, last_read_seq, joined_at) VALUES (?, ?, ?, ?)
		 ON CONFLICT (room, user_id) DO NOTHING`,
		room, userID, lastRead, toMillis(now()))
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) {
		return false, errUserNotFound
	}
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// createRoom inserts a room with no messages.
func createRoom(ctx context.Context, tx *sql.Tx, name string, private bool, owner string) error {
	var ownerArg any
	if owner != "" {
		ownerArg = owner
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO rooms (name, private, owner, last_seq, created_at) VALUES (?, ?, ?, 0, ?)`,
		name, private, ownerArg, toMillis(now()))
	switch {
	case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
		return chat.Errorf(chat.CodeConflict, "room %q exists", name)
	case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY):
		return errUserNotFound
	}
	return err
}

// CreateRoom creates a room owned by userID, who becomes its first member.
// DM names are refused: only OpenDM makes those rooms.
func (s *Store) CreateRoom(ctx context.Context, userID, name string, private bool) (chat.Room, error) {
	if err := chat.CheckRoomName(name); err != nil {
		return chat.Room{}, err
	}
	err := s.update(ctx, "create room", func(tx *sql.Tx) error {
		if err := createRoom(ctx, tx, name, private, userID); err != nil {
			return err
		}
		_, err := addMember(ctx, tx, name, userID, 0)
		return err
	})
	if err != nil {
		return chat.Room{}, err
	}
	return chat.Room{Name: name, Private: private, Joined: true, Owner: userID}, nil
}

// JoinRoom makes userID a member of a public room, creating it if needed,
// as chat.Access.Join decides.
func (s *Store) JoinRoom(ctx context.Context, userID, name string) (chat.Membership, error) {
	var m chat.Membership
	err := s.update(ctx, "join room", func(tx *sql.Tx) error {
		a, err := loadAccess(ctx, tx, userID, name)
		if err != nil {
			return err
		}
		step, err := a.Join(name)
		if err != nil {
			return err
		}
		switch step {
		case chat.JoinCreate:
			if err := createRoom(ctx, tx, name, false, userID); err != nil {
				return err
			}
			m.Added, err = addMember(ctx, tx, name, userID, 0)
		case chat.JoinAdd:
			m.Added, err = addMember(ctx, tx, name, userID, a.LastSeq)
		}
		if err != nil {
			return err
		}
		m.Room, err = roomView(ctx, tx, userID, name)
		return err
	})
	if err != nil {
		return chat.Membership{}, err
	}
	return m, nil
}

// LeaveRoom ends userID's membership of room name, as chat.Access.MayLeave
// decides.
func (s *Store) LeaveRoom(ctx context.Context, userID, name string) error {
	return s.update(ctx, "leave room", func(tx *sql.Tx) error {
		a, err := loadAccess(ctx, tx, userID, name)
		if err != nil {
			return err
		}
		if leave, err := a.MayLeave(); !leave {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM memberships WHERE room = ? AND user_id = ?`, name, userID)
		return err
	})
}

// Invite adds the user named username to the private room name, as
// chat.Access.MayInvite decides. The invitee's read marker starts at the
// room's last seq, as a joiner's does.
func (s *Store) Invite(ctx context.Context, userID, name, username string) (chat.User, chat.Membership, error) {
	var (
		invitee chat.User
		m       chat.Membership
	)
	err := s.update(ctx, "invite", func(tx *sql.Tx) error {
		a, err := loadAccess(ctx, tx, userID, name)
		if err == nil {
			err = a.MayInvite(userID)
		}
		if err != nil {
			return err
		}
		if invitee, err = userByName(ctx, tx, username); err != nil {
			return err
		}
		if m.Added, err = addMember(ctx, tx, name, invitee.ID, a.LastSeq); err != nil {
			return err
		}
		m.Room, err = roomView(ctx, tx, invitee.ID, name)
		return err
	})
	if err != nil {
		return chat.User{}, chat.Membership{}, err
	}
	return invitee, m, nil
}

// OpenDM returns the direct conversation of userID with username, creating
// it if needed and (re-)adding both users.
func (s *Store) OpenDM(ctx context.Context, userID, username string) (room chat.Room, other chat.User, otherAdded bool, err error) {
	err = s.update(ctx, "open dm", func(tx *sql.Tx) error {
		me, err := userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		if other, err = userByName(ctx, tx, username); err != nil {
			return err
		}
		name := chat.DMName(me.Username, other.Username)
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO rooms (name, private, owner, last_seq, created_at) VALUES (?, 1, NULL, 0, ?)
			 ON CONFLICT (name) DO NOTHING`, name, toMillis(now())); err != nil {
			return err
		}
		a, err := loadAccess(ctx, tx, userID, name)
		if err != nil {
			return err
		}
		if !a.Private {
			// CreateRoom and JoinRoom refuse DM names, so this is a database
			// written by something else.
			return errors.New("dm room " + name + " is public")
		}
		if _, err := addMember(ctx, tx, name, me.ID, a.LastSeq); err != nil {
			return err
		}
		if otherAdded, err = addMember(ctx, tx, name, other.ID, a.LastSeq); err != nil {
			return err
		}
		room, err = roomView(ctx, tx, userID, name)
		return err
	})
	if err != nil {
		return chat.Room{}, chat.User{}, false, err
	}
	return room, other, otherAdded, nil
}

// Rooms returns the rooms userID is a member of, sorted by name.
func (s *Store) Rooms(ctx context.Context, userID string) ([]chat.Room, error) {
	var rooms []chat.Room
	err := s.view(ctx, "rooms", func(q querier) error {
		rows, err := q.QueryContext(ctx,
			`SELECT `+roomColumns+`
			 FROM memberships m JOIN rooms r ON r.name = m.room
			 WHERE m.user_id = ? ORDER BY r.name`, userID)
		if err != nil {
			return err
		}
		rooms, err = scanRooms(rows)
		return err
	})
	return rooms, err
}

// PublicRooms returns up to limit public rooms userID is not in, sorted by
// name. A limit of 0 or less means 100.
func (s *Store) PublicRooms(ctx context.Context, userID string, limit int) ([]chat.Room, error) {
	if limit <= 0 {
		limit = 100
	}
	var rooms []chat.Room
	err := s.view(ctx, "public rooms", func(q querier) error {
		rows, err := q.QueryContext(ctx,
			`SELECT r.name, r.private, COALESCE(r.owner, ''), r.last_seq, FALSE, 0, r.archived
			 FROM rooms r
			 WHERE r.private = 0
			   AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.room = r.name AND m.user_id = ?)
			 ORDER BY r.name LIMIT ?`, userID, limit)
		if err != nil {
			return err
		}
		rooms, err = scanRooms(rows)
		return err
	})
	return rooms, err
}

func scanRooms(rows *sql.Rows) ([]chat.Room, error) {
	defer rows.Close()
	rooms := []chat.Room{}
	for rows.Next() {
		r, err := scanRoom(rows)
		if err != nil {
			return nil, err
		}
		rooms = append(rooms, r)
	}
	return rooms, rows.Err()
}

// Room returns room name as userID sees it.
func (s *Store) Room(ctx context.Context, userID, name string) (chat.Room, error) {
	var r chat.Room
	err := s.view(ctx, "room", func(q querier) error {
		var err error
		r, err = roomView(ctx, q, userID, name)
		return err
	})
	return r, err
}
