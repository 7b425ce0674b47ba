package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

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

// migrate applies the migrations the database has not seen, all in one
// transaction, and records the schema version in PRAGMA user_version (which
// SQLite keeps in the file header, inside the transaction). Running it on an
// up-to-date database changes nothing.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var current int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&current); err != nil {
		return err
	}
	if current > len(ms) {
		return fmt.Errorf("database schema version %d is newer than this chatd knows (%d)", current, len(ms))
	}
	if current == len(ms) {
		return nil
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	// PRAGMA takes no bound parameters; the value is our own integer.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(ms))); err != nil {
		return err
	}
	return tx.Commit()
}
