package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// TestUpgradeHandsOverStaleOwners opens a database at schema 2 as an
// older chatd left it, with a private room whose owner had left (it could
// never invite again), and checks that migration 3 hands it to the member
// who joined first and keeps the roles of the other rooms.
func TestUpgradeHandsOverStaleOwners(t *testing.T) {
	path := oldDatabase(t, 2,
		`INSERT INTO users VALUES ('u_a', 'alice', 'alice', 'h', 0), ('u_b', 'bob', 'bob', 'h', 0), ('u_c', 'carol', 'carol', 'h', 0)`,
		`INSERT INTO rooms (name, private, owner, last_seq, created_at) VALUES ('club', 1, 'u_a', 0, 0), ('lobby', 0, 'u_a', 0, 0)`,
		// alice left club (the old LeaveRoom deleted her row only); carol joined before bob.
		`INSERT INTO memberships (room, user_id, last_read_seq, joined_at) VALUES ('club', 'u_c', 0, 10), ('club', 'u_b', 0, 20)`,
		`INSERT INTO memberships (room, user_id, last_read_seq, joined_at) VALUES ('lobby', 'u_a', 0, 5), ('lobby', 'u_b', 0, 6)`,
		`PRAGMA user_version = 2`,
	)

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

// TestUpgradeSearchWithoutDocsize opens a database at schema 10 with
// messages indexed for search, one of them deleted, and checks that
// migration 11 rebuilds the index without its size table and that search
// finds what it found before, and edits afterwards.
func TestUpgradeSearchWithoutDocsize(t *testing.T) {
	path := oldDatabase(t, 10,
		`INSERT INTO users (id, username, username_key, password_hash, created_at) VALUES ('u_a', 'alice', 'alice', 'h', 0)`,
		`INSERT INTO memberships (room, user_id, last_read_seq, joined_at) VALUES ('general', 'u_a', 0, 0)`,
		`INSERT INTO messages (room, seq, id, user_id, text, sent_at) VALUES
			('general', 1, 'm_1', 'u_a', 'ancient walrus', 1000),
			('general', 2, 'm_2', 'u_a', 'modern walrus', 2000),
			('general', 3, 'm_3', 'u_a', '', 3000)`,
		`UPDATE messages SET deleted = 1 WHERE seq = 3`,
		`UPDATE rooms SET last_seq = 3 WHERE name = 'general'`,
		// The writer indexes its batches itself since migration 9.
		`INSERT INTO messages_fts (rowid, text) SELECT rowid, text FROM messages`,
		`PRAGMA user_version = 10`,
	)

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	search := func(words string) []int64 {
		t.Helper()
		rs, _, err := s.Search(t.Context(), "u_a", chat.SearchQuery{Text: words})
		if err != nil {
			t.Fatalf("Search(%q): %v", words, err)
		}
		var seqs []int64
		for _, r := range rs {
			seqs = append(seqs, r.Seq)
		}
		return seqs
	}
	if got := search("walrus"); len(got) != 2 || got[0] != 2 || got[1] != 1 {
		t.Errorf("Search(walrus) after the upgrade = %v, want [2 1]", got)
	}
	look, err := sql.Open("sqlite", "file:"+path+"?_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer look.Close()
	var n int
	if err := look.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'messages_fts_docsize'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("messages_fts_docsize tables: %d, %v; want none", n, err)
	}
	if _, err := s.EditMessage(t.Context(), "u_a", chat.General, 1, "ancient narwhal", time.UnixMilli(5000)); err != nil {
		t.Fatal(err)
	}
	if got := search("walrus"); len(got) != 1 || got[0] != 2 {
		t.Errorf("Search(walrus) after an edit = %v, want [2]", got)
	}
	if got := search("narwhal"); len(got) != 1 || got[0] != 1 {
		t.Errorf("Search(narwhal) after an edit = %v, want [1]", got)
	}
	// New messages are indexed as before.
	if _, _, err := s.Append(t.Context(), chat.NewMessage{Room: chat.General, From: chat.User{ID: "u_a"}, Text: "walrus again", SentAt: time.UnixMilli(6000)}); err != nil {
		t.Fatal(err)
	}
	if got := search("walrus"); len(got) != 2 || got[0] != 4 {
		t.Errorf("Search(walrus) after an Append = %v, want [4 2]", got)
	}
}

// oldDatabase makes a database file with the first n migrations only and
// the rows queries insert: what an older release left behind.
func oldDatabase(t *testing.T, n int, queries ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chat.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) <= n {
		t.Fatalf("%d migrations, want more than %d", len(ms), n)
	}
	for _, m := range ms[:n] {
		if _, err := db.Exec(m.SQL); err != nil {
			t.Fatalf("migration %s: %v", m.Name, err)
		}
	}
	for _, q := range queries {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return path
}
