package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// BenchmarkAppend measures one durable Append (one write transaction with
// an fsync) to a room.
func BenchmarkAppend(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "chat.db"))
	ctx := b.Context()
	alice, err := s.CreateUser(ctx, "alice", "hash")
	if err != nil {
		b.Fatal(err)
	}
	m := chat.NewMessage{Room: chat.General, From: alice, Text: "hello, this is a benchmark message", SentAt: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Append(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendParallel measures Appends from 32 goroutines per CPU to
// one room, as many connections sending at once: they share the single
// writer, and group commit lets them share its fsync.
func BenchmarkAppendParallel(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "chat.db"))
	b.SetParallelism(32)
	ctx := b.Context()
	alice, err := s.CreateUser(ctx, "alice", "hash")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		m := chat.NewMessage{Room: chat.General, From: alice, Text: "hello", SentAt: time.Now()}
		for pb.Next() {
			if _, _, err := s.Append(ctx, m); err != nil {
				b.Error(err)
				return
			}
		}
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
