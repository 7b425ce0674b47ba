package postgres_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/postgres/pgtest"
	"github.com/chatd/chatd/storetest"
)

// BenchmarkStore runs the shared Append benchmarks (storetest.Bench), each
// on a schema of its own, with the server's durable commits
// (synchronous_commit on), as chatd runs.
func BenchmarkStore(b *testing.B) {
	pgtest.BaseURL(b)
	storetest.Bench(b, func(tb testing.TB) chat.Store {
		return open(tb, pgtest.URL(tb))
	})
}

// BenchmarkAppendChatbench is the store's part of `chatbench --users 50
// --rooms 50 --inflight 4 --rate 0`: 50 senders, each in a room of their
// own, 4 Appends in flight each, and chatbench's texts: 64 bytes that
// begin with the send time, so that every message brings a word of its own
// to the search index, and a client id per message.
func BenchmarkAppendChatbench(b *testing.B) {
	const senders, inflight = 50, 4
	s := open(b, pgtest.URL(b))
	ctx := b.Context()
	users := make([]chat.User, senders)
	for i := range users {
		u, err := s.CreateUser(ctx, fmt.Sprintf("sender%d", i), "x")
		if err != nil {
			b.Fatal(err)
		}
		users[i] = u
		if _, err := s.CreateRoom(ctx, u.ID, fmt.Sprintf("room%d", i), false); err != nil {
			b.Fatal(err)
		}
	}
	pad := strings.Repeat("x", 64)
	slots := make(chan struct{}, senders*inflight)
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		slots <- struct{}{}
		wg.Add(1)
		sent := time.Now()
		text := "chatbench " + strconv.FormatInt(sent.UnixNano(), 10) + " "
		m := chat.NewMessage{Room: fmt.Sprintf("room%d", i%senders), From: users[i%senders],
			Text: text + pad[:64-len(text)], ClientMsgID: "c" + strconv.Itoa(i), SentAt: sent}
		s.AppendAsync(ctx, m, func(_ chat.Message, _ bool, err error) {
			if err != nil {
				b.Error(err)
			}
			<-slots
			wg.Done()
		})
	}
	wg.Wait()
}
