package sqlite_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
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

// BenchmarkAppendAsync measures pipelined Appends as the server makes
// them: 64 senders, each alone in a room of its own with up to 4 Appends
// in flight, and a completion that encodes the message as an ack would.
func BenchmarkAppendAsync(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "chat.db"))
	ctx := b.Context()
	const senders, inflight = 64, 4
	users := make([]chat.User, senders)
	for i := range users {
		u, err := s.CreateUser(ctx, fmt.Sprintf("user%d", i), "hash")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.CreateRoom(ctx, u.ID, fmt.Sprintf("room%d", i), false); err != nil {
			b.Fatal(err)
		}
		users[i] = u
	}
	var next atomic.Int64
	b.SetParallelism(senders / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := int(next.Add(1)-1) % senders
		m := chat.NewMessage{Room: fmt.Sprintf("room%d", g), From: users[g], Text: "hello"}
		slots := make(chan struct{}, inflight)
		var wg sync.WaitGroup
		for i := 0; pb.Next(); i++ {
			m.ClientMsgID, m.SentAt = strconv.Itoa(i), time.Now()
			slots <- struct{}{}
			wg.Add(1)
			s.AppendAsync(ctx, m, func(m chat.Message, _ bool, err error) {
				if err != nil {
					b.Error(err)
				}
				json.Marshal(m)
				<-slots
				wg.Done()
			})
		}
		wg.Wait()
	})
}
