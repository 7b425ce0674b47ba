package sqlite_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/sqlite"
)

// rawDB opens path with the driver directly, to look at the file the way
// another process would.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	ctx := t.Context()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := s.CreateUser(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	sent, _, err := s.Append(ctx, chat.NewMessage{Room: chat.General, From: alice, Text: "before restart", ClientMsgID: "c1", SentAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path) // migrations run again: they must change nothing
	msgs, _, err := s.History(ctx, alice.ID, chat.General, chat.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].ID != sent.ID || msgs[0].Text != sent.Text || !msgs[0].SentAt.Equal(sent.SentAt) {
		t.Fatalf("History after reopen = %+v, want [%+v]", msgs, sent)
	}
	// The idempotency record survives too.
	again, created, err := s.Append(ctx, chat.NewMessage{Room: chat.General, From: alice, Text: "retry", ClientMsgID: "c1", SentAt: time.Now()})
	if err != nil || created || again.ID != sent.ID {
		t.Errorf("Append retry after reopen = %s, created %v, %v; want %s, false", again.ID, created, err, sent.ID)
	}
	if _, err := s.CreateUser(ctx, "ALICE", "hash"); !errors.Is(err, chat.ErrConflict) {
		t.Errorf("CreateUser(ALICE) after reopen: %v, want ErrConflict", err)
	}
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	for range 3 {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db := rawDB(t, path)
	var version int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 1 {
		t.Errorf("user_version = %d, want the number of migrations (>= 1)", version)
	}
	// general was created once, not once per Open.
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM rooms WHERE name = 'general'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("general rooms = %d, want 1", n)
	}

	// A database from a newer chatd is refused rather than misread.
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, version+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := sqlite.Open(t.Context(), path); err == nil {
		s.Close()
		t.Errorf("Open of a database with schema version %d succeeded, want an error", version+1)
	}
}

func TestWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	open(t, path)
	var mode string
	if err := rawDB(t, path).QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if s, err := sqlite.Open(t.Context(), filepath.Join(dir, "missing", "chat.db")); err == nil {
		s.Close()
		t.Errorf("Open in a missing directory succeeded, want an error")
	}
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte("this is not a database, just some text long enough to have a header"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := sqlite.Open(t.Context(), junk); err == nil {
		s.Close()
		t.Errorf("Open of a file that is not a database succeeded, want an error")
	}
}

// TestOddPath checks that a file name with URI syntax in it is taken
// literally.
func TestOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a?b#c%20d.db")
	s := open(t, path)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at %q: %v", path, err)
	}
}

// TestCloseKeepsAcknowledgedAppends checks durability across Close: every
// Append that returned a message is there after reopening.
func TestCloseKeepsAcknowledgedAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	ctx := t.Context()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := s.CreateUser(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		acked []chat.Message
		wg    sync.WaitGroup
	)
	for i := range 8 {
		wg.Go(func() {
			for j := 0; ; j++ {
				m, _, err := s.Append(ctx, chat.NewMessage{Room: chat.General, From: alice, Text: fmt.Sprintf("%d/%d", i, j), SentAt: time.Now()})
				if err != nil {
					if !errors.Is(err, chat.ErrUnavailable) {
						t.Errorf("Append racing Close: %v, want ErrUnavailable", err)
					}
					return
				}
				mu.Lock()
				acked = append(acked, m)
				mu.Unlock()
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	s = open(t, path)
	last, err := s.LastSeq(ctx, chat.General)
	if err != nil {
		t.Fatal(err)
	}
	if last != int64(len(acked)) {
		t.Errorf("LastSeq after reopen = %d, want %d (the acknowledged appends)", last, len(acked))
	}
	stored, err := s.MessagesAfter(ctx, chat.General, 0, len(acked)+10)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range stored {
		ids[m.ID] = true
	}
	for _, m := range acked {
		if !ids[m.ID] {
			t.Errorf("acknowledged message seq %d (%s) missing after reopen", m.Seq, m.ID)
		}
	}
}

// TestGroupCommitIsolatesFailures: Appends that share a transaction do not
// share their failures. A member's and a non-member's messages, sent at the
// same time into one private room, end as they would alone: every member
// message stored with gap-free seqs, every non-member one refused.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "chat.db"))
	ctx := t.Context()
	alice, err := s.CreateUser(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	mallory, err := s.CreateUser(ctx, "mallory", "hash")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRoom(ctx, alice.ID, "secret", true); err != nil {
		t.Fatal(err)
	}
	const each = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for i := range each {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, created, err := s.Append(ctx, chat.NewMessage{Room: "secret", From: alice, Text: fmt.Sprint("a", i), ClientMsgID: fmt.Sprint("a", i)})
			if err != nil || !created {
				errs <- fmt.Errorf("member append %d: created=%v err=%v", i, created, err)
			}
		}()
		go func() {
			defer wg.Done()
			_, _, err := s.Append(ctx, chat.NewMessage{Room: "secret", From: mallory, Text: "let me in"})
			if !errors.Is(err, chat.ErrNotFound) {
				errs <- fmt.Errorf("non-member append: err=%v, want not_found", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	msgs, err := s.MessagesAfter(ctx, "secret", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != each {
		t.Fatalf("%d messages stored, want %d", len(msgs), each)
	}
	for i, m := range msgs {
		if m.Seq != int64(i+1) || m.From.ID != alice.ID {
			t.Fatalf("message %d: seq %d from %s, want seq %d from alice", i, m.Seq, m.From.Username, i+1)
		}
	}
}

// TestTwoStoresOneRoom: two stores on one file (two processes, say) take
// turns appending to one room. Each writer remembers the room's last_seq
// from its own Appends; what the other stored in between must not give
// a seq twice or leave a gap, and no Append may fail.
func TestTwoStoresOneRoom(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	ctx := t.Context()
	a := open(t, path)
	b := open(t, path)
	alice, err := a.CreateUser(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	stores := []*sqlite.Store{a, a, b, a, b, b, a, b, a, a}
	for i, s := range stores {
		m, created, err := s.Append(ctx, chat.NewMessage{Room: chat.General, From: alice, Text: fmt.Sprint("m", i), ClientMsgID: fmt.Sprint("c", i), SentAt: time.Now()})
		if err != nil || !created || m.Seq != int64(i+1) || m.From.Username != "alice" {
			t.Fatalf("Append %d = seq %d by %q, created %v, %v; want seq %d by alice", i, m.Seq, m.From.Username, created, err, i+1)
		}
	}
	r, err := a.Room(ctx, alice.ID, chat.General)
	if err != nil || r.LastSeq != int64(len(stores)) {
		t.Errorf("Room = last_seq %d, %v; want %d", r.LastSeq, err, len(stores))
	}
}

// TestCompletionOffTheWriter: a batch's outcomes are reported off the
// writer, so a completion that takes its time does not hold up the next
// commit; completions still come in the writer's order, and an update
// reports its outcome only after those of the Appends committed before it.
func TestCompletionOffTheWriter(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "chat.db"))
	ctx := t.Context()
	alice, err := s.CreateUser(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		order []string
	)
	note := func(what string) {
		mu.Lock()
		order = append(order, what)
		mu.Unlock()
	}
	release := make(chan struct{})
	firstDone := make(chan struct{})
	s.AppendAsync(ctx, chat.NewMessage{Room: chat.General, From: alice, Text: "first", SentAt: time.Now()}, func(m chat.Message, _ bool, err error) {
		if err != nil {
			t.Errorf("first append: %v", err)
		}
		<-release // a slow completion
		note("first")
		close(firstDone)
	})
	// The second Append goes to the writer once the first has committed,
	// so that the two are not one batch.
	waitLastSeq := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			last, err := s.LastSeq(ctx, chat.General)
			if err != nil {
				close(release)
				t.Fatal(err)
			}
			if last == want {
				return
			}
			if time.Now().After(deadline) {
				close(release)
				t.Fatalf("LastSeq = %d while the first completion waits, want %d: the writer waits for its completions", last, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitLastSeq(1)
	secondDone := make(chan struct{})
	s.AppendAsync(ctx, chat.NewMessage{Room: chat.General, From: alice, Text: "second", SentAt: time.Now()}, func(m chat.Message, _ bool, err error) {
		if err != nil {
			t.Errorf("second append: %v", err)
		}
		note("second")
		close(secondDone)
	})
	// It commits while the first completion waits (the writer does not
	// wait for it).
	waitLastSeq(2)
	updated := make(chan error, 1)
	go func() {
		_, err := s.CreateRoom(ctx, alice.ID, "later", false)
		note("update")
		updated <- err
	}()
	select {
	case err := <-updated:
		close(release)
		t.Fatalf("CreateRoom returned (%v) before the earlier Appends were reported", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	<-firstDone
	<-secondDone
	if err := <-updated; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := fmt.Sprint(order); got != "[first second update]" {
		t.Errorf("reported in the order %s, want [first second update]", got)
	}
}
