package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/chatd/chatd/sqlite"
)

// dbFile is the SQLite database's name in the data directory.
const dbFile = "chatd.db"

// errPostgresBackup: chatd copies SQLite files; PostgreSQL has its own tools,
// which know its consistency rules better than chatd could.
var errPostgresBackup = usageError{errors.New("backup and restore work on a SQLite data dir; " +
	"for PostgreSQL use its tools: pg_dump --format=custom --file=FILE URL, and pg_restore --dbname=URL FILE into an empty database")}

// backup writes a consistent copy of the data dir's database to FILE,
// also while chatd serves from it.
func backup(ctx context.Context, e *cmdEnv, args []string) error {
	if e.cfg.postgresURL != "" {
		return errPostgresBackup
	}
	dest := args[0]
	if err := sqlite.Backup(ctx, filepath.Join(e.cfg.dataDir, dbFile), dest); err != nil {
		return err
	}
	info, err := os.Stat(dest)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up %s to %s (%d bytes)\n", filepath.Join(e.cfg.dataDir, dbFile), dest, info.Size())
	return nil
}

// restore puts a backup into an empty (or missing) data dir; chatd can
// then start on it. It refuses a data dir with anything in it rather than
// replace a database that may be in use.
func restore(ctx context.Context, e *cmdEnv, args []string) error {
	if e.cfg.postgresURL != "" {
		return errPostgresBackup
	}
	src, dir := args[0], e.cfg.dataDir
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("data dir: %w", err)
	case len(entries) > 0:
		var names []string
		for _, en := range entries[:min(3, len(entries))] {
			names = append(names, en.Name())
		}
		return fmt.Errorf("data dir %s is not empty (%s): restore into an empty or new one, then point chatd at it",
			dir, strings.Join(names, ", "))
	}
	if err := sqlite.Verify(ctx, src); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	dest := filepath.Join(dir, dbFile)
	if err := copyFile(src, dest); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// Opening brings the schema up to date, as a start would, and proves
	// that the copy opens.
	store, err := sqlite.Open(ctx, dest)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := store.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored %s into %s\n", src, dir)
	return nil
}

// copyFile copies src to a new file dest through a temporary name, synced,
// so that dest is whole or absent.
func copyFile(src, dest string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dest + ".restoring"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // after the rename, a no-op
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(dest))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
