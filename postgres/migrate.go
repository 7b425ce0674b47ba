package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatd/chatd/internal/migrations"
)

// migrationFS holds the schema migrations, migrations/NNNN_name.sql,
// numbered from 1 without gaps. A migration is never edited once released;
// a change to the schema is a new file. internal/migrations gives the rule
// that lets nodes of two releases share the database during an upgrade.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// loadMigrations returns the embedded migrations in order.
func loadMigrations() ([]migrations.Migration, error) {
	return migrations.Load(migrationFS, "migrations")
}

// migrationLock is the first key of the advisory lock that serialises
// migrations; the second is a hash of the schema being migrated, so that
// chatds on different schemas of one database do not wait for each other.
const migrationLock = 0x63686174 // "chat"

// migrate applies the migrations the database has not seen; see
// applyMigrations.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := applyMigrations(ctx, pool)
	return err
}

// applyMigrations applies the migrations the database has not seen, all in
// one transaction, records each in schema_migrations and returns them.
// Several chatd nodes starting at once take turns on a transaction-scoped
// advisory lock: the first applies the migrations, the others then find
// nothing to do. Running it on an up-to-date database changes nothing, and
// so does running it on a newer schema that this chatd may run on (one
// whose newer migrations require no newer chatd).
//
// The tables go into the first schema of the connection's search_path.
func applyMigrations(ctx context.Context, pool *pgxpool.Pool) ([]migrations.Migration, error) {
	ms, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	var applied []migrations.Migration
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var schema string
		err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema)
		if err != nil {
			// current_schema() is NULL when no schema of the search_path exists.
			return fmt.Errorf("no schema to migrate: none of the search_path exists (%w)", err)
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, migrationLock, schema); err != nil {
			return err
		}
		// Under the lock: IF NOT EXISTS alone would race with another node.
		// requires came after the first release; a database that release
		// created gains it here.
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer     NOT NULL PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		);
		ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS requires integer NOT NULL DEFAULT 0`); err != nil {
			return err
		}
		st, err := status(ctx, tx, ms)
		if err != nil {
			return err
		}
		for _, m := range st.Pending {
			// No arguments: pgx sends the file with the simple protocol, which
			// allows several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, requires) VALUES ($1, $2, $3)`,
				m.Version, m.Name, m.Requires); err != nil {
				return err
			}
		}
		applied = st.Pending
		return nil
	})
	if err != nil {
		return nil, err
	}
	return applied, nil
}

// status reads the database's schema version; a *migrations.NewerError
// if it is newer than this chatd may run on.
func status(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, ms []migrations.Migration) (migrations.Status, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return migrations.Status{}, err
	}
	current := 0
	if exists {
		if err := q.QueryRow(ctx, `SELECT COALESCE(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return migrations.Status{}, err
		}
	}
	st := migrations.Plan(ms, current)
	if current > len(ms) {
		// Only a chatd that knows the requires column migrates past this
		// one's versions, so it exists.
		var requires int
		if err := q.QueryRow(ctx, `SELECT COALESCE(max(requires), 0) FROM schema_migrations WHERE version > $1`,
			len(ms)).Scan(&requires); err != nil {
			return st, err
		}
		if requires > len(ms) {
			return st, &migrations.NewerError{Current: current, Known: len(ms), Requires: requires}
		}
	}
	return st, nil
}

// MigrationStatus tells where the database at url stands against the
// migrations this chatd knows, without changing anything. A
// *migrations.NewerError says this chatd may not run on it.
func MigrationStatus(ctx context.Context, url string) (migrations.Status, error) {
	ms, err := loadMigrations()
	if err != nil {
		return migrations.Status{}, err
	}
	pool, where, err := connect(ctx, url)
	if err != nil {
		return migrations.Status{}, err
	}
	defer pool.Close()
	st, err := status(ctx, pool, ms)
	return st, mapErr("migration status of "+where, err)
}

// Migrate applies the migrations the database at url has not seen, as
// Open does first, and returns the ones it applied.
func Migrate(ctx context.Context, url string) ([]migrations.Migration, error) {
	pool, where, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	applied, err := applyMigrations(ctx, pool)
	return applied, mapErr("migrate "+where, err)
}
