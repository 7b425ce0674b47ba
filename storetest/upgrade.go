package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/migrations"
)

// Upgrader reaches one database through a store's migration functions.
type Upgrader struct {
	Status  func(context.Context) (migrations.Status, error)
	Migrate func(context.Context) ([]migrations.Migration, error)
	Open    func(context.Context) (chat.Store, error)
}

// Upgrade upgrades a database at schema version from, holding the data
// CheckUpgraded describes, to the newest of known versions: Status lists
// what is pending and changes nothing, Migrate applies it, and the store
// opened then has the data.
func Upgrade(tb testing.TB, u Upgrader, from, known int) {
	tb.Helper()
	ctx := context.Background()
	for range 2 { // a check changes nothing
		st, err := u.Status(ctx)
		if err != nil || st.Current != from || len(st.Pending) != known-from {
			tb.Fatalf("migration status = %+v, %v; want version %d with %d pending", st, err, from, known-from)
		}
	}
	applied, err := u.Migrate(ctx)
	if err != nil || len(applied) != known-from {
		tb.Fatalf("Migrate = %d applied, %v; want %d", len(applied), err, known-from)
	}
	s, err := u.Open(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	CheckUpgraded(tb, s)
	if st, err := u.Status(ctx); err != nil || st.Current != known || len(st.Pending) != 0 {
		tb.Errorf("migration status after the upgrade = %+v, %v; want up to date", st, err)
	}
}

// CheckUpgraded checks a store opened (and so migrated to the newest
// schema) on a database into which an upgrade test wrote, with an earlier
// release's SQL and schema, this: a user u-alice named alice; a room
// "upgraded" owned by alice, with alice a member (last read seq 1) and
// last_seq 2; its messages 1 "first" (id m-1, no client id) and 2 "second"
// (id m-2, client id c-2), sent by alice. The data must all be there, and
// the store must go on from it: the next message is seq 3, and a repeated
// client id is still recognised. The fixture SQL needs only the first
// schema's tables and columns, which by the rule in internal/migrations
// stay until a migration says otherwise.
func CheckUpgraded(tb testing.TB, s chat.Store) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	alice, err := s.UserByName(ctx, "alice")
	if err != nil || alice.ID != "u-alice" {
		tb.Fatalf("UserByName(alice) after the upgrade = %+v, %v; want u-alice", alice, err)
	}
	msgs, more, err := s.History(ctx, alice.ID, "upgraded", chat.HistoryQuery{Limit: 10})
	if err != nil || more || len(msgs) != 2 {
		tb.Fatalf("History(upgraded) after the upgrade = %d messages (more %v), %v; want 2", len(msgs), more, err)
	}
	for i, want := range []struct {
		seq      int64
		id, text string
	}{{1, "m-1", "first"}, {2, "m-2", "second"}} {
		if m := msgs[i]; m.Seq != want.seq || m.ID != want.id || m.Text != want.text || m.From.ID != alice.ID {
			tb.Errorf("message %d after the upgrade = %+v, want seq %d %s %q from alice", i, m, want.seq, want.id, want.text)
		}
	}
	m, created, err := s.Append(ctx, chat.NewMessage{Room: "upgraded", From: alice, Text: "third", SentAt: time.Now()})
	if err != nil || !created || m.Seq != 3 {
		tb.Fatalf("Append after the upgrade = seq %d (created %v), %v; want seq 3", m.Seq, created, err)
	}
	m, created, err = s.Append(ctx, chat.NewMessage{Room: "upgraded", From: alice, Text: "second again", ClientMsgID: "c-2", SentAt: time.Now()})
	if err != nil || created || m.Seq != 2 {
		tb.Errorf("Append of client id c-2 again = seq %d (created %v), %v; want seq 2, not created", m.Seq, created, err)
	}
	if last, err := s.LastSeq(ctx, "upgraded"); err != nil || last != 3 {
		tb.Errorf("LastSeq(upgraded) = %d, %v; want 3", last, err)
	}
}
