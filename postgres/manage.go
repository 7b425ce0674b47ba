package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/chatd/chatd/chat"
)

// What issue 9 added to rooms: the directory, topics, member lists, roles
// and archiving, as in sqlite. The rules are chat.Access's; this file
// reads and writes.

// countOwners counts the owners of room other than except.
func countOwners(ctx context.Context, q querier, room, except string) (int, error) {
	var n int
	err := q.QueryRow(ctx,
		`SELECT COUNT(*) FROM memberships m JOIN rooms r ON r.name = m.room
		 WHERE m.room = $1 AND m.user_id <> $2 AND `+roleExpr+` = 'owner'`, room, except).Scan(&n)
	return n, err
}

// settleRoles writes down the roles of room's members that roleExpr
// derives from rooms.owner, so that fixOwner may move rooms.owner without
// changing anyone's role.
func settleRoles(ctx context.Context, tx pgx.Tx, room string) error {
	_, err := tx.Exec(ctx,
		`UPDATE memberships SET role = CASE
			WHEN user_id = (SELECT owner FROM rooms WHERE name = $1) THEN 'owner' ELSE 'member' END
		 WHERE room = $1 AND role IS NULL`, room)
	return err
}

// fixOwner points rooms.owner at one of room's owners (the one it names,
// if still an owner, else the longest-standing), or NULL if it has none,
// for the rule of chat.Access.NewMemberRole and for older nodes. Roles
// must be settled.
func fixOwner(ctx context.Context, tx pgx.Tx, room string) error {
	_, err := tx.Exec(ctx,
		`UPDATE rooms SET owner = (
			SELECT m.user_id FROM memberships m
			WHERE m.room = rooms.name AND m.role = 'owner'
			ORDER BY m.user_id = rooms.owner DESC NULLS LAST, m.joined_at, m.user_id LIMIT 1)
		 WHERE name = $1`, room)
	return err
}

// handOverRoom makes the longest-standing member of room its owner and
// returns them; the zero User if nobody is left.
func handOverRoom(ctx context.Context, tx pgx.Tx, room string) (chat.User, error) {
	var u chat.User
	err := tx.QueryRow(ctx,
		`SELECT u.id, u.username FROM memberships m JOIN users u ON u.id = m.user_id
		 WHERE m.room = $1 ORDER BY m.joined_at, m.user_id LIMIT 1`, room).Scan(&u.ID, &u.Username)
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.User{}, nil
	}
	if err != nil {
		return chat.User{}, err
	}
	_, err = tx.Exec(ctx, `UPDATE memberships SET role = 'owner' WHERE room = $1 AND user_id = $2`, room, u.ID)
	return u, err
}

// lockRoom serialises the changes of room's roles, so that two owners
// stepping down at once cannot both see the other stay.
func lockRoom(ctx context.Context, tx pgx.Tx, room string) error {
	_, err := tx.Exec(ctx, `SELECT FROM rooms WHERE name = $1 FOR NO KEY UPDATE`, room)
	return err
}

// showDM clears userID's hidden mark of DM room.
func showDM(ctx context.Context, tx pgx.Tx, room, userID string) error {
	_, err := tx.Exec(ctx,
		`UPDATE memberships SET hidden_seq = NULL WHERE room = $1 AND user_id = $2 AND hidden_seq IS NOT NULL`, room, userID)
	return err
}

// Directory returns a page of public, unarchived rooms whose name or topic
// contains q.Query, sorted by name.
func (s *Store) Directory(ctx context.Context, userID string, q chat.DirectoryQuery) ([]chat.Room, string, error) {
	q, err := q.Check()
	if err != nil {
		return nil, "", err
	}
	var rooms []chat.Room
	err = s.view(ctx, "directory", func(db querier) error {
		rows, err := db.Query(ctx,
			`SELECT `+roomColumns+`
			 FROM rooms r LEFT JOIN memberships m ON m.room = r.name AND m.user_id = $1
			 WHERE NOT r.private AND NOT r.archived AND r.name > $2
			   AND ($3 = '' OR strpos(r.name, $3) > 0
			        OR strpos(translate(r.topic, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), $3) > 0)
			 ORDER BY r.name LIMIT $4`, userID, q.After, q.Query, q.Limit+1)
		if err != nil {
			return err
		}
		rooms, err = scanRooms(rows)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rooms) > q.Limit {
		rooms = rooms[:q.Limit]
		next = rooms[q.Limit-1].Name
	}
	return rooms, next, nil
}

// SetTopic sets room's topic, as chat.Access.MayManage decides.
func (s *Store) SetTopic(ctx context.Context, userID, room, topic string) (chat.Room, error) {
	if err := chat.CheckTopic(topic); err != nil {
		return chat.Room{}, err
	}
	return s.setRoomText(ctx, "set topic", `UPDATE rooms SET topic = $1 WHERE name = $2`, userID, room, topic)
}

// SetDescription sets room's description, as chat.Access.MayManage decides.
func (s *Store) SetDescription(ctx context.Context, userID, room, description string) (chat.Room, error) {
	if err := chat.CheckDescription(description); err != nil {
		return chat.Room{}, err
	}
	return s.setRoomText(ctx, "set description", `UPDATE rooms SET description = $1 WHERE name = $2`, userID, room, description)
}

// setRoomText runs update (which takes the text, then the room) for an
// owner of room, and returns the room as they see it afterwards.
func (s *Store) setRoomText(ctx context.Context, op, update, userID, room, text string) (chat.Room, error) {
	var r chat.Room
	err := s.update(ctx, op, func(tx pgx.Tx) error {
		if _, err := checkAccess(ctx, tx, userID, room, chat.Access.MayManage); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, update, text, room); err != nil {
			return err
		}
		var err error
		r, err = roomView(ctx, tx, userID, room)
		return err
	})
	return r, err
}

// ArchiveRoom archives room, or brings it back, as chat.Access.MayArchive
// decides.
func (s *Store) ArchiveRoom(ctx context.Context, userID, room string, archive bool) (r chat.Room, changed bool, err error) {
	err = s.update(ctx, "archive room", func(tx pgx.Tx) error {
		a, err := loadAccess(ctx, tx, userID, room)
		if err != nil {
			return err
		}
		already, err := a.MayArchive(archive)
		if err != nil {
			return err
		}
		if !already {
			if _, err := tx.Exec(ctx, `UPDATE rooms SET archived = $1 WHERE name = $2`, archive, room); err != nil {
				return err
			}
		}
		changed = !already
		r, err = roomView(ctx, tx, userID, room)
		return err
	})
	return r, changed, err
}

// Members returns a page of room's members, sorted by username without
// case, to a member.
func (s *Store) Members(ctx context.Context, userID, room string, q chat.MembersQuery) ([]chat.Member, string, error) {
	q, err := q.Check()
	if err != nil {
		return nil, "", err
	}
	var (
		members []chat.Member
		keys    []string
	)
	err = s.view(ctx, "members", func(db querier) error {
		if _, err := checkAccess(ctx, db, userID, room, chat.Access.MayRead); err != nil {
			return err
		}
		rows, err := db.Query(ctx,
			`SELECT u.id, u.username, u.username_key, `+roleExpr+`
			 FROM memberships m JOIN rooms r ON r.name = m.room JOIN users u ON u.id = m.user_id
			 WHERE m.room = $1 AND u.username_key > $2
			 ORDER BY u.username_key LIMIT $3`, room, q.After, q.Limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		members = []chat.Member{}
		for rows.Next() {
			var (
				m   chat.Member
				key string
			)
			if err := rows.Scan(&m.User.ID, &m.User.Username, &key, &m.Role); err != nil {
				return err
			}
			members, keys = append(members, m), append(keys, key)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(members) > q.Limit {
		members = members[:q.Limit]
		next = keys[q.Limit-1]
	}
	return members, next, nil
}

// manage starts an owner's request about another user of room: it
// loads userID's access, which must let them manage the room (before the
// other user is looked up, so that a stranger learns nothing), then the
// user named username into u and their access.
func manage(ctx context.Context, tx pgx.Tx, userID, room, username string, u *chat.User) (a, t chat.Access, err error) {
	if err = lockRoom(ctx, tx, room); err != nil {
		return a, t, err
	}
	if a, err = loadAccess(ctx, tx, userID, room); err != nil {
		return a, t, err
	}
	if err = a.MayManage(); err != nil {
		return a, t, err
	}
	if *u, err = userByName(ctx, tx, username); err != nil {
		return a, t, err
	}
	t, err = loadAccess(ctx, tx, u.ID, room)
	return a, t, err
}

// SetRole gives the user named username the role role in room, as
// chat.Access.MaySetRole decides.
func (s *Store) SetRole(ctx context.Context, userID, room, username, role string) (chat.User, error) {
	var u chat.User
	err := s.update(ctx, "set role", func(tx pgx.Tx) error {
		a, t, err := manage(ctx, tx, userID, room, username, &u)
		if err != nil {
			return err
		}
		owners, err := countOwners(ctx, tx, room, "")
		if err != nil {
			return err
		}
		if err := a.MaySetRole(t, role, owners); err != nil {
			return err
		}
		if err := settleRoles(ctx, tx, room); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE memberships SET role = $1 WHERE room = $2 AND user_id = $3`,
			role, room, u.ID); err != nil {
			return err
		}
		return fixOwner(ctx, tx, room)
	})
	return u, err
}

// RemoveMember ends the membership of the user named username in room, as
// chat.Access.MayRemove decides.
func (s *Store) RemoveMember(ctx context.Context, userID, room, username string) (chat.User, error) {
	var u chat.User
	err := s.update(ctx, "remove member", func(tx pgx.Tx) error {
		a, t, err := manage(ctx, tx, userID, room, username, &u)
		if err != nil {
			return err
		}
		if err := a.MayRemove(userID, u.ID, t); err != nil {
			return err
		}
		if err := settleRoles(ctx, tx, room); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM memberships WHERE room = $1 AND user_id = $2`, room, u.ID); err != nil {
			return err
		}
		return fixOwner(ctx, tx, room)
	})
	return u, err
}
