package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/migrations"
	"github.com/chatd/chatd/postgres/pgtest"
	"github.com/chatd/chatd/storetest"
)

// upgradeFixture is storetest.CheckUpgraded's data, in the SQL of the
// first schema.
const upgradeFixture = `
INSERT INTO users (id, username, username_key, password_hash, created_at)
VALUES ('u-alice', 'alice', 'alice', 'not-a-hash', '2023-11-14 22:13:20+00');
INSERT INTO rooms (name, private, owner, last_seq, created_at)
VALUES ('upgraded', false, 'u-alice', 2, '2023-11-14 22:13:20+00');
INSERT INTO memberships (room, user_id, last_read_seq, joined_at)
VALUES ('upgraded', 'u-alice', 1, '2023-11-14 22:13:20+00');
INSERT INTO messages (room, seq, id, user_id, text, client_msg_id, sent_at)
VALUES ('upgraded', 1, 'm-1', 'u-alice', 'first', NULL, '2023-11-14 22:13:21+00'),
       ('upgraded', 2, 'm-2', 'u-alice', 'second', 'c-2', '2023-11-14 22:13:22+00');
`

// execSQL runs sql on its own connection to url.
func execSQL(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%.60s: %v", sql, err)
	}
}

// schemaAt makes the database at url what the release that knew the first
// n migrations left, bookkeeping included (schema_migrations had no
// requires column then), with the upgrade fixture in it.
func schemaAt(t *testing.T, url string, n int) {
	t.Helper()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	execSQL(t, url, `CREATE TABLE schema_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`)
	for _, m := range ms[:n] {
		execSQL(t, url, m.SQL)
		execSQL(t, url, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
	}
	execSQL(t, url, upgradeFixture)
}

// TestUpgradeWithDataInPlace starts from the schema of every earlier
// version, and of this one as the previous release's chatd left it, with
// data written in that version's SQL: MigrationStatus lists what is
// pending without applying it, Migrate applies it, and the data are all
// there.
func TestUpgradeWithDataInPlace(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for from := 1; from <= len(ms); from++ {
		t.Run(fmt.Sprintf("from %d", from), func(t *testing.T) {
			url := pgtest.URL(t)
			schemaAt(t, url, from)
			storetest.Upgrade(t, storetest.Upgrader{
				Status:  func(ctx context.Context) (migrations.Status, error) { return MigrationStatus(ctx, url) },
				Migrate: func(ctx context.Context) ([]migrations.Migration, error) { return Migrate(ctx, url) },
				Open:    func(ctx context.Context) (chat.Store, error) { return Open(ctx, url) },
			}, from, len(ms))
		})
	}
}

// TestNewerSchema: during a rolling upgrade a node of the previous release
// (re)starts on the schema a newer node migrated. It runs on it when the
// newer migrations are additive, and is refused, in one line that says
// why, when one of them requires a newer chatd.
func TestNewerSchema(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	ms, _ := loadMigrations()
	next := len(ms) + 1
	execSQL(t, url, `CREATE TABLE later_feature (id integer)`)
	execSQL(t, url, `INSERT INTO schema_migrations (version, name) VALUES ($1, 'later_feature.sql')`, next)

	st, err := MigrationStatus(ctx, url)
	if err != nil || st.Current != next || len(st.Pending) != 0 {
		t.Fatalf("MigrationStatus on an additive newer schema = %+v, %v; want version %d, nothing pending", st, err, next)
	}
	s, err = Open(ctx, url)
	if err != nil {
		t.Fatalf("Open on an additive newer schema: %v", err)
	}
	s.Close()

	execSQL(t, url, `UPDATE schema_migrations SET requires = $1 WHERE version = $1`, next)
	var newer *migrations.NewerError
	if _, err := MigrationStatus(ctx, url); !errors.As(err, &newer) || newer.Requires != next {
		t.Errorf("MigrationStatus on a schema that requires a newer chatd = %v, want a NewerError", err)
	}
	s, err = Open(ctx, url)
	if !errors.As(err, &newer) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open on a schema that requires a newer chatd = %v, want a NewerError", err)
	}
	t.Logf("Open: %v", err)
}
