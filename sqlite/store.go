// Package sqlite implements chat.Store on SQLite, chatd's embedded default,
// using the pure-Go driver modernc.org/sqlite.
//
// The database runs in WAL mode with synchronous=FULL, so a committed
// transaction is on disk before the call returns. All writes go through one
// connection (SQLite has a single writer anyway; queueing in database/sql is
// fairer than retrying on SQLITE_BUSY), and reads use a separate pool that
// WAL lets run alongside the writer. The short reads of the connect path
// (SessionUser, Rooms) skip database/sql: they run on direct connections
// through zombiezen.com/go/sqlite, the same library underneath (direct.go).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
	zz "zombiezen.com/go/sqlite"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/storecall"
)

// busyTimeout is how long a connection waits for a lock held by another
// connection (a checkpoint, or another process) before failing with
// SQLITE_BUSY, which the store reports as unavailable.
const busyTimeout = 5 * time.Second

var (
	_ chat.Store         = (*Store)(nil)
	_ chat.AsyncAppender = (*Store)(nil)
)

// Store is a chat.Store backed by one SQLite database file.
type Store struct {
	write *sql.DB  // exactly one connection, which w holds
	w     *writer  // the write connection: every write transaction
	read  *sql.DB  // query_only connections for reads, each held by a reader
	reads *readers // the goroutines that run reads (view)

	writes     chan any // *appendReq or *updateReq, to the writer
	writerDone chan struct{}

	gate storecall.Gate // every call enters it; Close shuts it
}

// Open opens the SQLite database at path, creating the file if it does not
// exist (its directory must exist), and brings its schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	// Commit with fdatasync(2), as SQLite does on every Linux build but
	// this transpiled library does not by default: it syncs the data and
	// the size a read needs, so a commit is as durable, without waiting
	// for the file's timestamps to go through the journal. The setting is
	// the library's, for the whole process; where it does not exist
	// (macOS, Windows) fsync stays.
	sqlite.Fdatasync(true)
	uri := "file:" + escapePath(path)
	params := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)",
		busyTimeout.Milliseconds())

	// journal_mode is persistent in the file, so setting it on the writer
	// once is enough; _txlock=immediate takes the write lock at BEGIN rather
	// than at the first write, so a transaction never fails half way
	// upgrading its lock.
	write, err := sql.Open("sqlite", uri+"?"+params+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, mapErr(fmt.Sprintf("open %s", path), err)
	}

	read, err := sql.Open("sqlite", uri+"?"+params+"&_query_only=1")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, mapErr(fmt.Sprintf("open %s", path), err)
	}
	reads, err := startReaders(ctx, read, uri, n)
	if err != nil {
		read.Close()
		write.Close()
		return nil, mapErr(fmt.Sprintf("open %s", path), err)
	}
	w, err := newWriter(ctx, write)
	if err != nil {
		reads.close()
		read.Close()
		write.Close()
		return nil, mapErr(fmt.Sprintf("open %s", path), err)
	}
	s := &Store{write: write, w: w, read: read, reads: reads, writes: make(chan any, maxAppendBatch), writerDone: make(chan struct{})}
	go s.runWriter()
	return s, nil
}

// escapePath makes a file name safe inside a "file:" URI, whose query
// starts at the first '?'.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	return s.view(ctx, "ping", func(q querier) error {
		var n int64
		return q.QueryRowContext(ctx, `SELECT last_seq FROM rooms WHERE name = ?`, chat.General).Scan(&n)
	})
}

// Close waits for the calls in progress, then closes the database. Calls
// after Close fail with chat.ErrUnavailable; closing again does nothing.
func (s *Store) Close() error {
	return s.gate.Close(func() error {
		// No write is in flight (each is inside the gate until it has its
		// outcome): the writer can stop.
		close(s.writes)
		<-s.writerDone
		return errors.Join(s.w.close(), s.reads.close(), s.read.Close(), s.write.Close())
	})
}

// querier is what *sql.DB, *sql.Tx and *sql.Conn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// update runs fn in a write transaction, committing if fn returns nil. op
// names the operation in errors.
func (s *Store) update(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	defer s.gate.Exit()
	req := &updateReq{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case s.writes <- req:
	case <-ctx.Done():
		return mapErr(op, ctx.Err())
	}
	<-req.done // the transaction ends with ctx, so this wait is bounded by it
	return mapErr(op, ended(ctx, req.err))
}

// view runs fn against the read pool. op names the operation in errors.
func (s *Store) view(ctx context.Context, op string, fn func(q querier) error) error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	defer s.gate.Exit()
	return mapErr(op, ended(ctx, s.reads.do(ctx, func(rc *readConn) error { return fn(rc) })))
}

// lookup runs fn on a reader's direct connection (openDirect), for the
// short reads of the connect and send paths (see short): ctx bounds the
// wait for a reader, not fn's statements, which run to the end. op names
// the operation in errors.
func (s *Store) lookup(ctx context.Context, op string, fn func(c *direct) error) error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	defer s.gate.Exit()
	return mapErr(op, ended(ctx, s.reads.do(ctx, func(rc *readConn) error { return fn(rc.direct) })))
}

// ended gives err the error of ctx if ctx ended: the driver interrupts a
// statement whose context ends (SQLITE_INTERRUPT, "interrupted"), and the
// caller should learn the reason, a deadline (unavailable: try again) or
// its own cancellation, rather than an internal error. Domain errors keep
// their codes (mapErr passes them through).
func ended(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil || errors.Is(err, ctx.Err()) {
		return err
	}
	return fmt.Errorf("%w: %w", ctx.Err(), err)
}

// mapErr gives err a chat code (see storecall.MapErr): failures of the
// database itself become chat.ErrUnavailable.
func mapErr(op string, err error) error { return storecall.MapErr("sqlite", op, err, unavailable) }

// unavailable reports whether err is a failure of the database itself
// rather than of the request: the caller may try again later.
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return unavailableCode(se.Code())
	}
	if code := zz.ErrCode(err); code != zz.ResultError {
		// The direct connections' errors (openDirect), whose codes are
		// SQLite's as well.
		return unavailableCode(int(code))
	}
	// database/sql does not export its "database is closed" error.
	return strings.Contains(err.Error(), "sql: database is closed")
}

// unavailableCode reports whether an SQLite result code (primary or
// extended) is a failure of the database itself.
func unavailableCode(code int) bool {
	switch code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM,
		sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CORRUPT,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL,
		sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}

// isConstraint reports whether err is the SQLite constraint violation code
// (an extended code such as SQLITE_CONSTRAINT_UNIQUE).
func isConstraint(err error, code int) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == code
}

// Times are stored as milliseconds since the epoch and returned in UTC, so
// what a write returns equals what a later read returns.

func toMillis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// now is the current time at the precision the store keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
