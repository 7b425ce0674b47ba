package sqlite

import (
	"context"
	"database/sql"
	"errors"

	sqlite3 "modernc.org/sqlite/lib"

	zz "zombiezen.com/go/sqlite"

	"github.com/chatd/chatd/chat"
)

// loadAccess reads room name as userID relates to it, for the rules of
// chat.Access to decide on; a room that does not exist is the zero Access.
func loadAccess(ctx context.Context, q querier, userID, name string) (chat.Access, error) {
	var (
		a        = chat.Access{Exists: true}
		lastRead sql.NullInt64
		role     string
	)
	err := q.QueryRowContext(ctx,
		`SELECT r.private, COALESCE(r.owner, ''), r.archived, r.last_seq, m.last_read_seq,
			CASE WHEN m.user_id IS NULL THEN '' ELSE `+roleExpr+` END, `+hiddenExpr+`
		 FROM rooms r LEFT JOIN memberships m ON m.room = r.name AND m.user_id = ?
		 WHERE r.name = ?`, userID, name).Scan(&a.Private, &a.Owner, &a.Archived, &a.LastSeq, &lastRead, &role, &a.Hidden)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Access{}, nil
	}
	if err != nil {
		return chat.Access{}, err
	}
	a.Member, a.LastRead, a.Role = lastRead.Valid, lastRead.Int64, role
	return a, nil
}

// roleExpr is the role of membership m in room r. A NULL role is a row
// written before roles existed (or by an older node): its member is an
// owner if rooms.owner names them, as it was then.
const roleExpr = `COALESCE(m.role, CASE WHEN m.user_id = r.owner THEN 'owner' ELSE 'member' END)`

// hiddenExpr: the member m hid DM r, and no message came since.
const hiddenExpr = `(m.hidden_seq IS NOT NULL AND r.last_seq <= m.hidden_seq)`

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
	) END,
	r.topic, r.description, r.member_count, r.archived,
	(SELECT g.sent_at FROM messages g WHERE g.room = r.name AND g.seq = r.last_seq),
	CASE WHEN m.user_id IS NULL THEN '' ELSE ` + roleExpr + ` END, ` + hiddenExpr + `,
	COALESCE(m.muted, 0)`

type scanner interface{ Scan(dest ...any) error }

func scanRoom(sc scanner) (chat.Room, error) {
	var (
		r    chat.Room
		last sql.NullInt64
		hid  sql.NullBool
	)
	err := sc.Scan(&r.Name, &r.Private, &r.Owner, &r.LastSeq, &r.Joined, &r.Unread,
		&r.Topic, &r.Description, &r.MemberCount, &r.Archived, &last, &r.Role, &hid, &r.Muted)
	if last.Valid {
		t := fromMillis(last.Int64)
		r.LastActivity = &t
	}
	r.Hidden = hid.Bool
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
func addMember(ctx context.Context, tx *sql.Tx, room, userID string, lastRead int64, role string) (added bool, err error) {
	res, err := tx.ExecContext(ctx,
		`INSERT INTO memberships (room, user_id, last_read_seq, joined_at, role) VALUES (?, ?, ?, ?, ?)
		 ON CONFLICT (room, user_id) DO NOTHING`,
		room, userID, lastRead, toMillis(now()), role)
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
		_, err := addMember(ctx, tx, name, userID, 0, chat.RoleOwner)
		return err
	})
	if err != nil {
		return chat.Room{}, err
	}
	return chat.Room{Name: name, Private: private, Joined: true, Owner: userID, Role: chat.RoleOwner, MemberCount: 1}, nil
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
			m.Added, err = addMember(ctx, tx, name, userID, 0, chat.RoleOwner)
		case chat.JoinAdd:
			if m.Added, err = addMember(ctx, tx, name, userID, a.LastSeq, a.NewMemberRole(name)); err == nil && a.NewMemberRole(name) == chat.RoleOwner {
				err = fixOwner(ctx, tx, name)
			}
		case chat.JoinShow:
			err = showDM(ctx, tx, name, userID)
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
func (s *Store) LeaveRoom(ctx context.Context, userID, name string) (newOwner chat.User, err error) {
	err = s.update(ctx, "leave room", func(tx *sql.Tx) error {
		newOwner = chat.User{}
		a, err := loadAccess(ctx, tx, userID, name)
		if err != nil {
			return err
		}
		others := 0
		if a.IsOwner() {
			if others, err = countOwners(ctx, tx, name, userID); err != nil {
				return err
			}
		}
		step, handOver, err := a.Leave(name, others)
		switch {
		case err != nil || step == chat.LeaveNothing:
			return err
		case step == chat.LeaveHide:
			_, err = tx.ExecContext(ctx, `UPDATE memberships SET hidden_seq = ? WHERE room = ? AND user_id = ?`,
				a.LastSeq, name, userID)
			return err
		}
		if err := settleRoles(ctx, tx, name); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM memberships WHERE room = ? AND user_id = ?`, name, userID); err != nil {
			return err
		}
		if handOver {
			if newOwner, err = handOverRoom(ctx, tx, name); err != nil {
				return err
			}
		}
		if chat.Ownable(name) {
			return fixOwner(ctx, tx, name)
		}
		return nil
	})
	return newOwner, err
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
		if m.Added, err = addMember(ctx, tx, name, invitee.ID, a.LastSeq, chat.RoleMember); err != nil {
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
		if _, err := addMember(ctx, tx, name, me.ID, a.LastSeq, chat.RoleMember); err != nil {
			return err
		}
		if err := showDM(ctx, tx, name, me.ID); err != nil {
			return err
		}
		if otherAdded, err = addMember(ctx, tx, name, other.ID, a.LastSeq, chat.RoleMember); err != nil {
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
	// One user's memberships: a short read (lookup).
	err := s.lookup(ctx, "rooms", func(c *direct) error {
		rooms = []chat.Room{}
		err := each(c, `SELECT `+roomColumns+`
			 FROM memberships m JOIN rooms r ON r.name = m.room
			 WHERE m.user_id = ?1 ORDER BY r.name`, []any{userID}, func(st *zz.Stmt) error {
			r, err := scanRoom(row{st})
			rooms = append(rooms, r)
			return err
		})
		if err != nil || len(rooms) == 0 {
			return err
		}
		// The mention counts in the same call: the welcome needs both.
		room, ok := chat.MentionScope(rooms)
		if !ok {
			return nil
		}
		mentions := make(map[string]int64)
		if err := unreadMentions(c, userID, room, mentions); err != nil {
			return err
		}
		for i := range rooms {
			rooms[i].Mentions = mentions[rooms[i].Name]
		}
		return nil
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
			`SELECT `+roomColumns+`
			 FROM rooms r LEFT JOIN memberships m ON m.room = r.name AND m.user_id = ?
			 WHERE r.private = 0 AND m.user_id IS NULL
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
