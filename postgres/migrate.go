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
// a change to the schema is a new file.
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

// migrate applies the migrations the database has not seen, all in one
// transaction, and records each in schema_migrations. Several chatd nodes
// starting at once take turns on a transaction-scoped advisory lock: the
// first applies the migrations, the others then find nothing to do. Running
// it on an up-to-date database changes nothing.
//
// The tables go into the first schema of the connection's search_path.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
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
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer     NOT NULL PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		if current > len(ms) {
			return fmt.Errorf("database schema version %d is newer than this chatd knows (%d)", current, len(ms))
		}
		for _, m := range ms[current:] {
			// No arguments: pgx sends the file with the simple protocol, which
			// allows several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`,
				m.Version, m.Name); err != nil {
				return err
			}
		}
		return nil
	})
}
