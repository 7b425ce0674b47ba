package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/chatd/chatd/chat"
)

// TestUpgradeHandsOverStaleOwners opens a database at schema 2 as an
// older chatd left it, with a private room whose owner had left (it could
// never invite again), and checks that migration 3 hands it to the member
// who joined first and keeps the roles of the other rooms.
func TestUpgradeHandsOverStaleOwners(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:2] {
		if _, err := db.Exec(m.SQL); err != nil {
			t.Fatalf("migration %s: %v", m.Name, err)
		}
	}
	for _, q := range []string{
		`INSERT INTO users VALUES ('u_a', 'alice', 'alice', 'h', 0), ('u_b', 'bob', 'bob', 'h', 0), ('u_c', 'carol', 'carol', 'h', 0)`,
		`INSERT INTO rooms (name, private, owner, last_seq, created_at) VALUES ('club', 1, 'u_a', 0, 0), ('lobby', 0, 'u_a', 0, 0)`,
		// alice left club (the old LeaveRoom deleted her row only); carol joined before bob.
		`INSERT INTO memberships (room, user_id, last_read_seq, joined_at) VALUES ('club', 'u_c', 0, 10), ('club', 'u_b', 0, 20)`,
		`INSERT INTO memberships (room, user_id, last_read_seq, joined_at) VALUES ('lobby', 'u_a', 0, 5), ('lobby', 'u_b', 0, 6)`,
		`PRAGMA user_version = 2`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct{ user, room, role string }{
		{"u_c", "club", chat.RoleOwner},
		{"u_b", "club", chat.RoleMember},
		{"u_a", "lobby", chat.RoleOwner},
		{"u_b", "lobby", chat.RoleMember},
	} {
		r, err := s.Room(t.Context(), c.user, c.room)
		if err != nil {
			t.Fatalf("Room(%s, %s): %v", c.user, c.room, err)
		}
		if r.Role != c.role || r.MemberCount != 2 {
			t.Errorf("%s in %s after the upgrade: role %q, %d members; want %q, 2", c.user, c.room, r.Role, r.MemberCount, c.role)
		}
	}
	// The room can be run again: its new owner invites.
	if _, _, err := s.Invite(t.Context(), "u_c", "club", "alice"); err != nil {
		t.Errorf("Invite by the new owner: %v", err)
	}
}
