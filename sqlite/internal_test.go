package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"modernc.org/sqlite"

	"github.com/chatd/chatd/chat"
)

// TestPragmas checks the per-connection settings that durability and
// integrity rest on, on both pools.
func TestPragmas(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		pool   string
		db     querier
		pragma string
		want   int64
	}{
		{"write", s.w.conn, "foreign_keys", 1},
		{"write", s.w.conn, "synchronous", 2}, // FULL
		{"write", s.w.conn, "busy_timeout", busyTimeout.Milliseconds()},
		{"write", s.w.conn, "query_only", 0},
		{"read", s.read, "foreign_keys", 1},
		{"read", s.read, "busy_timeout", busyTimeout.Milliseconds()},
		{"read", s.read, "query_only", 1},
	} {
		var got int64
		if err := c.db.QueryRowContext(t.Context(), "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatalf("%s PRAGMA %s: %v", c.pool, c.pragma, err)
		}
		if got != c.want {
			t.Errorf("%s pool: PRAGMA %s = %d, want %d", c.pool, c.pragma, got, c.want)
		}
	}
	if got := s.write.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("write pool MaxOpenConnections = %d, want 1", got)
	}
	if runtime.GOOS == "linux" && !sqlite.FdatasyncEnabled() {
		t.Errorf("commits sync with fsync, want fdatasync")
	}
}

// TestUnavailable checks that failures of the database itself carry
// chat.ErrUnavailable and keep their cause for the logs.
func TestUnavailable(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = s.Rooms(ctx, "u_x")
	if !errors.Is(err, chat.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Rooms with an expired context: %v, want ErrUnavailable wrapping DeadlineExceeded", err)
	}

	// The pools closed under the store, as if the database went away.
	s.read.Close()
	s.w.close()
	s.write.Close()
	err = s.Ping(t.Context())
	if !errors.Is(err, chat.ErrUnavailable) || !strings.Contains(err.Error(), "database is closed") {
		t.Errorf("Ping on a closed database: %v, want ErrUnavailable with the cause", err)
	}
	if got, want := chat.ErrorMessage(err), "database unavailable"; got != want {
		t.Errorf("client message %q, want %q", got, want)
	}
	_, err = s.CreateUser(t.Context(), "alice", "hash")
	if !errors.Is(err, chat.ErrUnavailable) {
		t.Errorf("CreateUser on a closed database: %v, want ErrUnavailable", err)
	}
}

// TestReadStatementsPreparedOnce: reads reuse one prepared statement per
// query text, up to the cache's bound, and answer the same either way.
func TestReadStatementsPreparedOnce(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	u, err := s.CreateUser(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		rooms, err := s.Rooms(ctx, u.ID)
		if err != nil || len(rooms) != 1 || rooms[0].Name != chat.General {
			t.Fatalf("Rooms = %v, %v", rooms, err)
		}
	}
	s.reads.mu.Lock()
	n := len(s.reads.stmts)
	s.reads.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d statements cached after one query text ran three times, want 1", n)
	}

	// Beyond the bound, queries still run, unprepared.
	for i := range maxCachedStmts + 5 {
		var got int
		q := "SELECT " + strings.Repeat(" ", i) + "1"
		if err := s.reads.QueryRowContext(ctx, q).Scan(&got); err != nil || got != 1 {
			t.Fatalf("query %d: %d, %v", i, got, err)
		}
	}
	s.reads.mu.Lock()
	n = len(s.reads.stmts)
	s.reads.mu.Unlock()
	if n != maxCachedStmts {
		t.Fatalf("%d statements cached, want the bound %d", n, maxCachedStmts)
	}
}
