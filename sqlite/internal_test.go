package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"modernc.org/sqlite"
)

// TestPragmas checks the per-connection settings that durability and
// integrity rest on, on both pools.
func TestPragmas(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(pool string, db querier, pragma string, want int64) {
		var got int64
		if err := db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("%s PRAGMA %s: %v", pool, pragma, err)
		}
		if got != want {
			t.Errorf("%s pool: PRAGMA %s = %d, want %d", pool, pragma, got, want)
		}
	}
	check("write", s.w.conn, "foreign_keys", 1)
	check("write", s.w.conn, "synchronous", 2) // FULL
	check("write", s.w.conn, "busy_timeout", busyTimeout.Milliseconds())
	check("write", s.w.conn, "query_only", 0)
	err = s.view(t.Context(), "pragmas", func(q querier) error {
		check("read", q, "foreign_keys", 1)
		check("read", q, "busy_timeout", busyTimeout.Milliseconds())
		check("read", q, "query_only", 1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.lookup(t.Context(), "pragmas", func(c *direct) error {
		for _, p := range []struct {
			pragma string
			want   int64
		}{{"foreign_keys", 1}, {"busy_timeout", busyTimeout.Milliseconds()}, {"query_only", 1}} {
			var got int64
			if err := one(c, "PRAGMA "+p.pragma, nil, &got); err != nil {
				t.Fatalf("direct PRAGMA %s: %v", p.pragma, err)
			}
			if got != p.want {
				t.Errorf("direct read connection: PRAGMA %s = %d, want %d", p.pragma, got, p.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
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

	// A failure of the database on a direct connection (openDirect), whose
	// errors are zombiezen's: a write on a query_only connection fails with
	// SQLITE_READONLY.
	err = s.lookup(t.Context(), "write", func(c *direct) error { return exec(c, `DELETE FROM sessions`) })
	if !errors.Is(err, chat.ErrUnavailable) || !strings.Contains(err.Error(), "readonly") {
		t.Errorf("write on a direct read connection: %v, want ErrUnavailable with the cause", err)
	}

	// The connections closed under the store, as if the database went away.
	for _, rc := range s.reads.conns {
		rc.conn.Close()
	}
	s.read.Close()
	s.w.close()
	s.write.Close()
	err = s.Ping(t.Context())
	if !errors.Is(err, chat.ErrUnavailable) || !strings.Contains(err.Error(), "connection is already closed") {
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

// TestReadStatementsPreparedOnce: a reader prepares each query text once,
// up to its bound, and answers the same either way.
func TestReadStatementsPreparedOnce(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	err = s.view(ctx, "test", func(q querier) error {
		rc := q.(*readConn)
		before := len(rc.stmts)
		for range 3 {
			var got int
			if err := q.QueryRowContext(ctx, "SELECT 1").Scan(&got); err != nil || got != 1 {
				t.Fatalf("SELECT 1 = %d, %v", got, err)
			}
		}
		if n := len(rc.stmts) - before; n != 1 {
			t.Fatalf("%d statements prepared for one query text run three times, want 1", n)
		}
		// Beyond the bound, queries still run, unprepared.
		for i := range maxReaderStmts + 5 {
			var got int
			q := "SELECT " + strings.Repeat(" ", i+1) + "1"
			if err := rc.QueryRowContext(ctx, q).Scan(&got); err != nil || got != 1 {
				t.Fatalf("query %d: %d, %v", i, got, err)
			}
		}
		if n := len(rc.stmts); n != maxReaderStmts {
			t.Fatalf("%d statements prepared, want the bound %d", n, maxReaderStmts)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReaderRenewsBrokenConnection: a reader whose connection broke takes
// a new one, so the store's reads do not keep failing on it.
func TestReaderRenewsBrokenConnection(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	err = s.view(ctx, "break", func(q querier) error {
		q.(*readConn).conn.Close()
		var n int
		return q.QueryRowContext(ctx, "SELECT 1").Scan(&n)
	})
	if !errors.Is(err, chat.ErrUnavailable) {
		t.Fatalf("read on a closed connection: %v, want ErrUnavailable", err)
	}
	for i := range 4 * len(s.reads.conns) {
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("ping %d after the renewal: %v", i, err)
		}
	}
}

// TestUpdateEndedMidTransaction: an update whose context ends inside its
// transaction fails with the context's error, and leaves the writer out
// of the transaction, so that the next writes work (they once all failed
// with "cannot start a transaction within a transaction").
func TestUpdateEndedMidTransaction(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	alice, err := s.CreateUser(t.Context(), "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i+1)*time.Millisecond)
		err := s.update(ctx, "test", func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = 'x' WHERE id = ?`, alice.ID); err != nil {
				return err
			}
			// A statement that runs until the deadline interrupts it.
			var n int64
			return tx.QueryRowContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 1000000000)
				SELECT count(*) FROM c`).Scan(&n)
		})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, chat.ErrUnavailable) {
			t.Fatalf("round %d: update = %v, want the context's error", i, err)
		}
		if _, err := s.JoinRoom(t.Context(), alice.ID, "lobby"); err != nil {
			t.Fatalf("round %d: a write after the ended update: %v", i, err)
		}
	}
	_, hash, err := s.UserCredentials(t.Context(), "alice")
	if err != nil || hash != "hash" {
		t.Errorf("password hash = %q, %v; want the ended updates rolled back", hash, err)
	}
}

// exec runs query with args on d, for its effect.
func exec(d *direct, query string, args ...any) error {
	return each(d, query, args, nil)
}
