package sqlite

import (
	"context"
	"database/sql"
	"errors"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chatd/chatd/chat"
)

var (
	// errRoomNotFound is also the answer for a private room the user is not
	// in, with the same message, so it does not reveal that the room exists.
	errRoomNotFound = chat.Errorf(chat.CodeNotFound, "room not found")
	errNotMember    = chat.Errorf(chat.CodeForbidden, "not a member of this room")
	errRoomName     = chat.Errorf(chat.CodeBadRequest, "invalid room name")
)

// access is a room and one user's relation to it.
type access struct {
	private  bool
	owner    string // "" for none
	lastSeq  int64
	member   bool
	lastRead int64 // the member's read marker
	archived bool
}

// loadAccess reads room name as userID relates to it; found is false if
// the room does not exist.
func loadAccess(ctx context.Context, q querier, userID, name string) (a access, found bool, err error) {
	var lastRead sql.NullInt64
	err = q.QueryRowContext(ctx,
		`SELECT r.private, COALESCE(r.owner, ''), r.last_seq, m.last_read_seq, r.archived
		 FROM rooms r LEFT JOIN memberships m ON m.room = r.name AND m.user_id = ?
		 WHERE r.name = ?`, userID, name).Scan(&a.private, &a.owner, &a.lastSeq, &lastRead, &a.archived)
	if errors.Is(err, sql.ErrNoRows) {
		return access{}, false, nil
	}
	if err != nil {
		return access{}, false, err
	}
	a.member, a.lastRead = lastRead.Valid, lastRead.Int64
	return a, true, nil
}

// memberAccess is loadAccess for requests that read or write a room's
// messages: they need membership. A private room the user is not in looks
// exactly like a missing one; a public room they have not joined is
// forbidden.
func memberAccess(ctx context.Context, q querier, userID, name string) (access, error) {
	a, found, err := loadAccess(ctx, q, userID, name)
	switch {
	case err != nil:
		return access{}, err
	case !found || (a.private && !a.member):
		return access{}, errRoomNotFound
	case !a.member:
		return access{}, errNotMember
	}
	return a, nil
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

// roomView returns room name as userID sees it: errRoomNotFound if it does
// not exist or is private and they are not in it.
func roomView(ctx context.Context, q querier, userID, name string) (chat.Room, error) {
	r, err := scanRoom(q.QueryRowContext(ctx,
		`SELECT `+roomColumns+`
		 FROM rooms r LEFT JOIN memberships m ON m.room = r.name AND m.user_id = ?
		 WHERE r.name = ?`, userID, name))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && r.Private && !r.Joined) {
		return chat.Room{}, errRoomNotFound
	}
	return r, err
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
	if !chat.ValidRoomName(name) {
		return chat.Room{}, errRoomName
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

// JoinRoom makes userID a member of a public room, creating it if needed.
// A DM name that does not exist answers ErrNotFound like any private room
// the user is not in: nobody may claim a DM's name as an ordinary room.
func (s *Store) JoinRoom(ctx context.Context, userID, name string) (chat.Membership, error) {
	var m chat.Membership
	err := s.update(ctx, "join room", func(tx *sql.Tx) error {
		a, found, err := loadAccess(ctx, tx, userID, name)
		switch {
		case err != nil:
			return err
		case !found:
			if chat.IsDMName(name) {
				return errRoomNotFound
			}
			if !chat.ValidRoomName(name) {
				return errRoomName
			}
			if err := createRoom(ctx, tx, name, false, userID); err != nil {
				return err
			}
			m.Added, err = addMember(ctx, tx, name, userID, 0)
		case a.member:
			// Already in: nothing changes, the read marker included.
		case a.private:
			return errRoomNotFound
		default:
			m.Added, err = addMember(ctx, tx, name, userID, a.lastSeq)
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

// LeaveRoom ends userID's membership of room name.
func (s *Store) LeaveRoom(ctx context.Context, userID, name string) error {
	return s.update(ctx, "leave room", func(tx *sql.Tx) error {
		a, found, err := loadAccess(ctx, tx, userID, name)
		switch {
		case err != nil:
			return err
		case !found || (a.private && !a.member):
			return errRoomNotFound
		case !a.member:
			return nil
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM memberships WHERE room = ? AND user_id = ?`, name, userID)
		return err
	})
}

// Invite adds the user named username to the private room name; only its
// owner may. The invitee's read marker starts at the room's last seq, as a
// joiner's does.
func (s *Store) Invite(ctx context.Context, userID, name, username string) (chat.User, chat.Membership, error) {
	var (
		invitee chat.User
		m       chat.Membership
	)
	err := s.update(ctx, "invite", func(tx *sql.Tx) error {
		a, found, err := loadAccess(ctx, tx, userID, name)
		switch {
		case err != nil:
			return err
		case !found || (a.private && !a.member):
			return errRoomNotFound
		case !a.private:
			return chat.Errorf(chat.CodeBadRequest, "room is public: anyone may join it")
		case a.owner != userID:
			return chat.Errorf(chat.CodeForbidden, "only the room's owner may invite")
		}
		if invitee, err = userByName(ctx, tx, username); err != nil {
			return err
		}
		if m.Added, err = addMember(ctx, tx, name, invitee.ID, a.lastSeq); err != nil {
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
		a, _, err := loadAccess(ctx, tx, userID, name)
		if err != nil {
			return err
		}
		if !a.private {
			// CreateRoom and JoinRoom refuse DM names, so this is a database
			// written by something else.
			return errors.New("dm room " + name + " is public")
		}
		if _, err := addMember(ctx, tx, name, me.ID, a.lastSeq); err != nil {
			return err
		}
		if otherAdded, err = addMember(ctx, tx, name, other.ID, a.lastSeq); err != nil {
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
