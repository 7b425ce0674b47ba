package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/storetest"
)

// BenchmarkStore runs the shared Append benchmarks (storetest.Bench) on
// a database file of its own for each.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(tb testing.TB) chat.Store {
		return open(tb, filepath.Join(tb.TempDir(), "chat.db"))
	})
}

// BenchmarkHistory measures reading the newest page of 50 messages.
func BenchmarkHistory(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "chat.db"))
	ctx := b.Context()
	alice, err := s.CreateUser(ctx, "alice", "hash")
	if err != nil {
		b.Fatal(err)
	}
	for range 200 {
		if _, _, err := s.Append(ctx, chat.NewMessage{Room: chat.General, From: alice, Text: "hello", SentAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.History(ctx, alice.ID, chat.General, chat.HistoryQuery{}); err != nil {
			b.Fatal(err)
		}
	}
}
