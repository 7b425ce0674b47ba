package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/migrations"
	"github.com/chatd/chatd/storetest"
)

// upgradeFixture is storetest.CheckUpgraded's data, in the SQL of the
// first schema (times in milliseconds).
const upgradeFixture = `
INSERT INTO users (id, username, username_key, password_hash, created_at)
VALUES ('u-alice', 'alice', 'alice', 'not-a-hash', 1700000000000);
INSERT INTO rooms (name, private, owner, last_seq, created_at)
VALUES ('upgraded', 0, 'u-alice', 2, 1700000000000);
INSERT INTO memberships (room, user_id, last_read_seq, joined_at)
VALUES ('upgraded', 'u-alice', 1, 1700000000000);
INSERT INTO messages (room, seq, id, user_id, text, client_msg_id, sent_at)
VALUES ('upgraded', 1, 'm-1', 'u-alice', 'first', NULL, 1700000001000),
       ('upgraded', 2, 'm-2', 'u-alice', 'second', 'c-2', 1700000002000);
`

// schemaAt writes a database at path with the first n migrations, as the
// release that had n would have left it, and the upgrade fixture.
func schemaAt(t *testing.T, path string, n int) {
	t.Helper()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+escapePath(path)+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, m := range ms[:n] {
		if _, err := db.Exec(m.SQL); err != nil {
			t.Fatalf("migration %s: %v", m.Name, err)
		}
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", n)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(upgradeFixture); err != nil {
		t.Fatalf("fixture on schema %d: %v", n, err)
	}
}

// TestUpgradeWithDataInPlace starts from the schema of every earlier
// version, with data written in that version's SQL, and opens the store
// on it: MigrationStatus lists what is pending without applying it, Open
// applies it, and the data are all there.
func TestUpgradeWithDataInPlace(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 {
		t.Skip("one migration: no earlier schema to upgrade from")
	}
	for from := 1; from < len(ms); from++ {
		t.Run(fmt.Sprintf("from %d", from), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "chatd.db")
			schemaAt(t, path, from)
			storetest.Upgrade(t, storetest.Upgrader{
				Status:  func(ctx context.Context) (migrations.Status, error) { return MigrationStatus(ctx, path) },
				Migrate: func(ctx context.Context) ([]migrations.Migration, error) { return Migrate(ctx, path) },
				Open:    func(ctx context.Context) (chat.Store, error) { return Open(ctx, path) },
			}, from, len(ms))
		})
	}
}

// TestNewerSchemaRefused: a SQLite database has one node, so a schema
// newer than this chatd knows is refused, by Open and by MigrationStatus.
func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "chatd.db")
	ms, _ := loadMigrations()
	schemaAt(t, path, len(ms))
	db, err := sql.Open("sqlite", "file:"+escapePath(path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(ms)+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	var newer *migrations.NewerError
	if _, err := MigrationStatus(ctx, path); !errors.As(err, &newer) {
		t.Errorf("MigrationStatus on a newer schema = %v, want a NewerError", err)
	}
	if s, err := Open(ctx, path); !errors.As(err, &newer) {
		if s != nil {
			s.Close()
		}
		t.Errorf("Open on a newer schema = %v, want a NewerError", err)
	}
}

// TestMigrationStatusCreatesNothing: checking a database that does not
// exist lists every migration and leaves no file behind.
func TestMigrationStatusCreatesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chatd.db")
	ms, _ := loadMigrations()
	st, err := MigrationStatus(context.Background(), path)
	if err != nil || st.Current != 0 || len(st.Pending) != len(ms) {
		t.Fatalf("MigrationStatus of no file = %+v, %v", st, err)
	}
	if _, err := sql.Open("sqlite", path); err != nil {
		t.Fatal(err)
	}
	if matches, _ := filepath.Glob(path + "*"); len(matches) > 0 {
		t.Errorf("MigrationStatus created %v", matches)
	}
}
