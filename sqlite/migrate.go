package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/chatd/chatd/internal/migrations"
)

// migrationFS holds the schema migrations, migrations/NNNN_name.sql,
// numbered from 1 without gaps. A migration is never edited once released;
// a change to the schema is a new file. internal/migrations gives the rule
// that lets nodes of two releases share a database during an upgrade (of
// PostgreSQL: a SQLite database has one node, stopped while it upgrades).
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
		return &migrations.NewerError{Current: current, Known: len(ms)}
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

// MigrationStatus tells where the database at path stands against the
// migrations this chatd knows, without changing anything (a file that does
// not exist has seen none, and is not created). A *migrations.NewerError
// says this chatd may not run on it.
func MigrationStatus(ctx context.Context, path string) (migrations.Status, error) {
	ms, err := loadMigrations()
	if err != nil {
		return migrations.Status{}, err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return migrations.Plan(ms, 0), nil
	}
	db, err := sql.Open("sqlite", "file:"+escapePath(path)+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return migrations.Status{}, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer db.Close()
	var current int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&current); err != nil {
		return migrations.Status{}, mapErr(fmt.Sprintf("read %s", path), err)
	}
	if current > len(ms) {
		return migrations.Plan(ms, current), &migrations.NewerError{Current: current, Known: len(ms)}
	}
	return migrations.Plan(ms, current), nil
}

// Migrate applies the migrations the database at path has not seen, as
// Open does first (creating the file if need be), and returns them.
func Migrate(ctx context.Context, path string) ([]migrations.Migration, error) {
	st, err := MigrationStatus(ctx, path)
	if err != nil {
		return nil, err
	}
	s, err := Open(ctx, path)
	if err != nil {
		return nil, err
	}
	// A SQLite database has a single chatd, so what was pending a moment
	// ago is what Open applied.
	return st.Pending, s.Close()
}
