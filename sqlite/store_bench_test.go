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

// BenchmarkWelcomeRooms measures what a welcome reads of the store: the
// user's rooms with their unread and mention counts (Rooms), for a user in
// five rooms with messages, some mentioning them, unread.
func BenchmarkWelcomeRooms(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "chat.db"))
	ctx := b.Context()
	alice, err := s.CreateUser(ctx, "alice", "hash")
	if err != nil {
		b.Fatal(err)
	}
	bob, err := s.CreateUser(ctx, "bob", "hash")
	if err != nil {
		b.Fatal(err)
	}
	rooms := []string{chat.General, "a", "b", "c", "d"}
	for _, r := range rooms[1:] {
		if _, err := s.JoinRoom(ctx, alice.ID, r); err != nil {
			b.Fatal(err)
		}
		if _, err := s.JoinRoom(ctx, bob.ID, r); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 100 {
		text := "hello"
		if i%10 == 0 {
			text = "hello @alice"
		}
		if _, _, err := s.Append(ctx, chat.NewMessage{Room: rooms[i%len(rooms)], From: bob, Text: text, SentAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	// alice has unread messages (and mentions) in every room; bob, who
	// sent them, has none: the welcome of most connects.
	for _, u := range []chat.User{alice, bob} {
		b.Run(map[string]string{alice.ID: "unread", bob.ID: "read"}[u.ID], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Rooms(ctx, u.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
