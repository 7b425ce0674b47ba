package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/chatd/chatd/internal/migrations"
	"github.com/chatd/chatd/postgres"
	"github.com/chatd/chatd/sqlite"
)

// Exit statuses of chatd migrate.
const (
	migrateOK      = 0 // applied, or nothing to apply
	migrateFailed  = 1 // the database could not be read or migrated, or is too new for this chatd
	migrateBadUse  = 2 // bad flags
	migratePending = 3 // --check: migrations are pending
)

// migrateTimeout bounds connecting and migrating. A migration may wait for
// another node's.
const migrateTimeout = 5 * time.Minute

// runMigrate is "chatd migrate [--check]": it applies the schema
// migrations that the database has not seen (what chatd does when it
// starts), or with --check lists them without applying anything.
func runMigrate(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), migrateTimeout)
	defer cancel()
	return migrateCommand(ctx, args, os.Getenv, stdout, stderr)
}

func migrateCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chatd migrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dataDir := fs.String("data-dir", "./data", "directory of the SQLite database (env CHATD_DATA_DIR)")
	pgURL := fs.String("postgres-url", "", "PostgreSQL URL: migrate PostgreSQL instead of SQLite (env CHATD_POSTGRES_URL)")
	check := fs.Bool("check", false, "list the pending migrations without applying them; exit 3 if there are any")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: chatd migrate [--check] [--data-dir DIR | --postgres-url URL]\n\n"+
			"Applies the schema migrations the database has not seen, as chatd does at start.\n"+
			"Exit status: 0 done or nothing to do, 1 failed (or the database is too new for this chatd),\n"+
			"2 bad use, 3 with --check: migrations are pending.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return migrateOK
		}
		fmt.Fprintln(stderr, "chatd migrate:", err)
		return migrateBadUse
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "chatd migrate: unexpected argument %q\n", fs.Arg(0))
		return migrateBadUse
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if v := getenv("CHATD_DATA_DIR"); v != "" && !given["data-dir"] {
		*dataDir = v
	}
	if v := getenv("CHATD_POSTGRES_URL"); v != "" && !given["postgres-url"] {
		*pgURL = v
	}

	var (
		st      migrations.Status
		applied []migrations.Migration
		err     error
	)
	path := filepath.Join(*dataDir, "chatd.db")
	switch {
	case *check && *pgURL != "":
		st, err = postgres.MigrationStatus(ctx, *pgURL)
	case *check:
		st, err = sqlite.MigrationStatus(ctx, path)
	case *pgURL != "":
		applied, err = postgres.Migrate(ctx, *pgURL)
	default:
		if err = os.MkdirAll(*dataDir, 0o700); err == nil {
			applied, err = sqlite.Migrate(ctx, path)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "chatd migrate:", err)
		return migrateFailed
	}
	if !*check {
		for _, m := range applied {
			fmt.Fprintf(stdout, "applied %s\n", m.Name)
		}
		if len(applied) == 0 {
			fmt.Fprintln(stdout, "up to date")
		}
		return migrateOK
	}
	switch {
	case st.Current > st.Known:
		fmt.Fprintf(stdout, "up to date: the database is at schema version %d, newer than this chatd knows (%d), and this chatd may run on it\n", st.Current, st.Known)
	case len(st.Pending) == 0:
		fmt.Fprintf(stdout, "up to date: schema version %d\n", st.Current)
	default:
		fmt.Fprintf(stdout, "schema version %d; %d pending:\n", st.Current, len(st.Pending))
		for _, m := range st.Pending {
			fmt.Fprintf(stdout, "%d %s\n", m.Version, m.Name)
		}
		return migratePending
	}
	return migrateOK
}
