package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/postgres"
	"github.com/chatd/chatd/postgres/pgtest"
)

// rawConn connects to url with pgx directly, to look at the database the
// way another program would.
func rawConn(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(tb.Context(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// migrationVersions returns the versions schema_migrations records.
func migrationVersions(tb testing.TB, url string) []int {
	tb.Helper()
	rows, err := rawConn(tb, url).Query(tb.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		tb.Fatal(err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		tb.Fatal(err)
	}
	return versions
}

func TestReopenKeepsData(t *testing.T) {
	url := pgtest.URL(t)
	ctx := t.Context()
	s, err := postgres.Open(ctx, url)
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
	if err := s.Close(); err != nil {
		t.Errorf("Close twice: %v, want nil", err)
	}

	for range 2 { // the migrations run again each time: they must change nothing
		s = open(t, url)
	}
	msgs, _, err := s.History(ctx, alice.ID, chat.General, chat.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].ID != sent.ID || msgs[0].Text != sent.Text || !msgs[0].SentAt.Equal(sent.SentAt) {
		t.Fatalf("History after reopen = %+v, want [%+v]", msgs, sent)
	}
	again, created, err := s.Append(ctx, chat.NewMessage{Room: chat.General, From: alice, Text: "retry", ClientMsgID: "c1", SentAt: time.Now()})
	if err != nil || created || again.ID != sent.ID {
		t.Errorf("Append retry after reopen = %s, created %v, %v; want %s, false", again.ID, created, err, sent.ID)
	}
	if _, err := s.CreateUser(ctx, "ALICE", "hash"); !errors.Is(err, chat.ErrConflict) {
		t.Errorf("CreateUser(ALICE) after reopen: %v, want ErrConflict", err)
	}
	if got, want := migrationVersions(t, url), allVersions(t); !slices.Equal(got, want) {
		t.Errorf("schema_migrations after three Opens = %v, want %v", got, want)
	}
}

func TestConcurrentOpens(t *testing.T) {
	// Several nodes starting at once on an empty database: the advisory lock
	// lets one migrate while the others wait, then find nothing to do.
	url := pgtest.URL(t)
	const nodes = 8
	stores := make([]*postgres.Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range nodes {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = postgres.Open(t.Context(), url)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d of %d at once: %v", i, nodes, err)
			continue
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	if t.Failed() {
		return
	}
	if got, want := migrationVersions(t, url), allVersions(t); !slices.Equal(got, want) {
		t.Errorf("schema_migrations after %d concurrent Opens = %v, want %v", nodes, got, want)
	}
	// Every node sees the one general room the migration made.
	u, err := stores[0].CreateUser(t.Context(), "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if rooms, err := s.Rooms(t.Context(), u.ID); err != nil || len(rooms) != 1 || rooms[0].Name != chat.General {
			t.Errorf("node %d: Rooms = %v, %v; want [general]", i, rooms, err)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	url := pgtest.URL(t)
	open(t, url)
	if _, err := rawConn(t, url).Exec(t.Context(),
		`INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(t.Context(), url)
	if err == nil {
		s.Close()
		t.Fatal("Open of a database from a newer chatd succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open = %v, want it to say the schema is newer", err)
	}
}

func TestTwoNodesNoGaps(t *testing.T) {
	// Two stores on one database are two chatd nodes: concurrent appends to
	// one room through both get seqs 1..n, each once, and history agrees.
	url := pgtest.URL(t)
	nodes := []*postgres.Store{open(t, url), open(t, url)}
	ctx := t.Context()
	const senders, perSender = 8, 25
	users := make([]chat.User, senders)
	for i := range users {
		var err error
		if users[i], err = nodes[i%2].CreateUser(ctx, fmt.Sprintf("user%d", i), "hash"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := nodes[0].CreateRoom(ctx, users[0].ID, "busy", false); err != nil {
		t.Fatal(err)
	}
	for _, u := range users[1:] {
		if _, err := nodes[1].JoinRoom(ctx, u.ID, "busy"); err != nil {
			t.Fatal(err)
		}
	}

	var (
		mu  sync.Mutex
		got []chat.Message
		wg  sync.WaitGroup
	)
	for i, u := range users {
		wg.Go(func() {
			for j := range perSender {
				node := nodes[(i+j)%2]
				m, created, err := node.Append(ctx, chat.NewMessage{Room: "busy", From: u,
					Text: fmt.Sprintf("%d/%d", i, j), SentAt: time.Now()})
				if err != nil || !created {
					t.Errorf("Append %d/%d: created %v, %v", i, j, created, err)
					return
				}
				mu.Lock()
				got = append(got, m)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	const n = senders * perSender
	slices.SortFunc(got, func(a, b chat.Message) int { return int(a.Seq - b.Seq) })
	for i, m := range got {
		if m.Seq != int64(i+1) {
			t.Fatalf("sorted seqs from both nodes: position %d has seq %d, want %d (gap or repeat)", i, m.Seq, i+1)
		}
	}
	for i, node := range nodes {
		if last, err := node.LastSeq(ctx, "busy"); err != nil || last != n {
			t.Errorf("node %d: LastSeq = %d, %v; want %d", i, last, err, n)
		}
		var all []chat.Message
		for after := int64(0); ; {
			page, err := node.MessagesAfter(ctx, "busy", after, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			all = append(all, page...)
			after = page[len(page)-1].Seq
		}
		if len(all) != n {
			t.Fatalf("node %d: %d messages stored, want %d", i, len(all), n)
		}
		for j := range all {
			if all[j].ID != got[j].ID || !all[j].SentAt.Equal(got[j].SentAt) {
				t.Errorf("node %d seq %d: stored %s, Append returned %s", i, all[j].Seq, all[j].ID, got[j].ID)
			}
		}
	}
}

func TestTwoNodesClientMsgID(t *testing.T) {
	// A client retrying through two nodes at once still stores one message.
	url := pgtest.URL(t)
	nodes := []*postgres.Store{open(t, url), open(t, url)}
	ctx := t.Context()
	alice, err := nodes[0].CreateUser(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	const tries = 16
	ids := make([]string, tries)
	created := make([]bool, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			m, c, err := nodes[i%2].Append(ctx, chat.NewMessage{Room: chat.General, From: alice,
				Text: "once", ClientMsgID: "retry", SentAt: time.Now()})
			if err != nil {
				t.Errorf("Append %d: %v", i, err)
			}
			ids[i], created[i] = m.ID, c
		})
	}
	wg.Wait()
	if n := len(slices.DeleteFunc(slices.Clone(created), func(c bool) bool { return !c })); n != 1 {
		t.Errorf("%d Appends with one client id on two nodes created %d messages, want 1", tries, n)
	}
	if ids[0] == "" || slices.ContainsFunc(ids, func(id string) bool { return id != ids[0] }) {
		t.Errorf("Appends returned message IDs %v, want one", ids)
	}
	if last, err := nodes[1].LastSeq(ctx, chat.General); err != nil || last != 1 {
		t.Errorf("LastSeq = %d, %v; want 1", last, err)
	}
}

func TestConcurrentJoinCreatesOnce(t *testing.T) {
	// Two nodes joining a room that does not exist yet: one creates it,
	// both are members, neither fails.
	url := pgtest.URL(t)
	nodes := []*postgres.Store{open(t, url), open(t, url)}
	ctx := t.Context()
	const n = 8
	users := make([]chat.User, n)
	for i := range users {
		var err error
		if users[i], err = nodes[0].CreateUser(ctx, fmt.Sprintf("user%d", i), "hash"); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			m, err := nodes[i%2].JoinRoom(ctx, u.ID, "new-room")
			if err != nil || !m.Added || !m.Room.Joined {
				t.Errorf("JoinRoom(user%d) = %+v, %v; want added and joined", i, m, err)
			}
		})
	}
	wg.Wait()
	rooms, err := nodes[1].PublicRooms(ctx, "nobody", 10)
	if err != nil || len(rooms) != 2 || rooms[1].Name != "new-room" || !slices.ContainsFunc(users, func(u chat.User) bool { return u.ID == rooms[1].Owner }) {
		t.Errorf("PublicRooms = %+v, %v; want general and new-room owned by one of the joiners", rooms, err)
	}
}

func TestMarkReadNeverMovesBack(t *testing.T) {
	// Two connections of one user on two nodes mark read at once.
	url := pgtest.URL(t)
	nodes := []*postgres.Store{open(t, url), open(t, url)}
	ctx := t.Context()
	alice, _ := nodes[0].CreateUser(ctx, "alice", "hash")
	bob, _ := nodes[0].CreateUser(ctx, "bob", "hash")
	for range 50 {
		if _, _, err := nodes[0].Append(ctx, chat.NewMessage{Room: chat.General, From: alice, Text: "x", SentAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if _, _, err := nodes[i%2].MarkRead(ctx, bob.ID, chat.General, int64(i+1)); err != nil {
				t.Errorf("MarkRead(%d): %v", i+1, err)
			}
		})
	}
	wg.Wait()
	if r, err := nodes[1].Room(ctx, bob.ID, chat.General); err != nil || r.Unread != 0 {
		t.Errorf("after marks up to 50 in any order: Room = %+v, %v; want unread 0", r, err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	// Nothing listens on port 1: Open fails at once, clearly, as unavailable.
	// No database is needed for this test.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	started := time.Now()
	s, err := postgres.Open(ctx, "postgres://chatd:secret@127.0.0.1:1/chatd?sslmode=disable&connect_timeout=3")
	if err == nil {
		s.Close()
		t.Fatal("Open of an unreachable database succeeded")
	}
	if d := time.Since(started); d > 5*time.Second {
		t.Errorf("Open took %v to fail, want it fast", d)
	}
	if !errors.Is(err, chat.ErrUnavailable) {
		t.Errorf("Open = %v, want ErrUnavailable", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "127.0.0.1:1") || strings.Contains(msg, "\n") || strings.Contains(msg, "secret") {
		t.Errorf("Open = %q, want one line naming 127.0.0.1:1 and no password", msg)
	}
}

func TestOpenBadURL(t *testing.T) {
	_, err := postgres.Open(t.Context(), "postgres://chatd:secret@127.0.0.1:notaport/chatd")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("Open of a malformed URL = %v, want an error without the password", err)
	}
}

func TestDeadlineIsUnavailable(t *testing.T) {
	s := open(t, pgtest.URL(t))
	alice, err := s.CreateUser(t.Context(), "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	_, _, err = s.Append(ctx, chat.NewMessage{Room: chat.General, From: alice, Text: "late", SentAt: time.Now()})
	if !errors.Is(err, chat.ErrUnavailable) {
		t.Errorf("Append past its deadline = %v, want ErrUnavailable", err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping afterwards: %v", err)
	}
}

func TestTerminatedConnectionsRecover(t *testing.T) {
	// The server ending every connection (a restart, a failover) costs at
	// most the calls in flight, as unavailable; the pool then reconnects.
	// The store's connections carry an application_name of their own, so
	// that only they are ended, not those of tests running alongside.
	base := pgtest.URL(t)
	app := "chatd-terminate-" + strings.ToLower(t.Name())
	s := open(t, pgtest.WithParam(t, base, "application_name", app))
	ctx := t.Context()
	alice, err := s.CreateUser(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	var ended int
	if err := rawConn(t, base).QueryRow(ctx,
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&ended); err != nil {
		t.Fatal(err)
	}
	if ended == 0 {
		t.Fatalf("found no connection of the store to end")
	}
	for i := range 5 {
		_, _, err := s.Append(ctx, chat.NewMessage{Room: chat.General, From: alice, Text: "after", SentAt: time.Now()})
		if err == nil {
			return
		}
		if !errors.Is(err, chat.ErrUnavailable) {
			t.Fatalf("Append %d after the connections were ended: %v, want success or ErrUnavailable", i, err)
		}
		t.Logf("Append %d after the connections were ended: %v", i, err)
	}
	t.Errorf("Append still fails after 5 tries")
}

// allVersions is every embedded migration's version, in order.
func allVersions(t *testing.T) []int {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	var vs []int
	for i := range files {
		vs = append(vs, i+1) // numbered from 1 without gaps
	}
	return vs
}
