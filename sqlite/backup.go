package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Backup writes a consistent copy of the database at path to dest while
// other connections, of this process or another (a running chatd), go on
// reading and writing it. VACUUM INTO reads one snapshot of the database
// (WAL mode: it waits for no writer and no writer waits for it) and writes
// a compact copy, schema version included.
//
// The copy is written under a temporary name beside dest, synced, and then
// renamed: dest is either the whole backup or absent. dest must not exist.
func Backup(ctx context.Context, path, dest string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("sqlite: backup: %s exists; give a new file name", dest)
	}
	// mode=rw: never create an empty database where none is.
	db, err := sql.Open("sqlite", "file:"+escapePath(path)+fmt.Sprintf("?mode=rw&_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()))
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer db.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*.tmp")
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	os.Remove(tmpName) // VACUUM INTO wants to create the file itself
	defer os.Remove(tmpName)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmpName); err != nil {
		return mapErr("backup", err)
	}
	if err := syncFile(tmpName); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := os.Rename(tmpName, dest); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return syncFile(filepath.Dir(dest))
}

// Verify checks that the file at path is a whole SQLite database of a
// chatd schema that this chatd can open.
func Verify(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	// immutable: a backup that nobody writes; nothing beside it is read or
	// created (no -wal, no -shm).
	db, err := sql.Open("sqlite", "file:"+escapePath(path)+"?mode=ro&immutable=1")
	if err != nil {
		return err
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&check); err != nil {
		return fmt.Errorf("%s is not a SQLite database: %w", path, err)
	}
	if check != "ok" {
		return fmt.Errorf("%s is damaged: %s", path, check)
	}
	var version, rooms int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = 'rooms'`).Scan(&rooms)
	if err != nil {
		return err
	}
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	switch {
	case version == 0 || rooms == 0:
		return fmt.Errorf("%s is a SQLite database, but not chatd's", path)
	case version > len(ms):
		return fmt.Errorf("%s has schema version %d, newer than this chatd knows (%d)", path, version, len(ms))
	}
	return nil
}

// syncFile flushes a file, or a directory's entries, to disk.
func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	return errors.Join(err, f.Close())
}
