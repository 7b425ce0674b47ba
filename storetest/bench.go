package storetest

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// Bench runs the Append benchmarks on the stores that newStore returns
// (new and empty, as for Run), so that both implementations are measured
// on the same load:
//
//   - Append: one Append at a time, each waiting for its commit.
//   - AppendParallel/OneRoom: 32 goroutines per CPU appending to one room,
//     as a busy shared room; they contend for the room's seq.
//   - AppendParallel/ManyRooms: 32 goroutines per CPU, each a user alone in
//     a room of their own, as many independent conversations.
//   - AppendAsync/ManyRooms, for a chat.AsyncAppender: the same senders
//     pipelining, up to 4 Appends in flight each, with a completion that
//     encodes the message as the server's ack does.
//
// Every message carries a ClientMsgID, as the server's sends do, so the
// idempotency check is on the measured path.
func Bench(b *testing.B, newStore func(tb testing.TB) chat.Store) {
	b.Run("Append", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		alice := benchUser(b, s, "alice")
		m := chat.NewMessage{Room: chat.General, From: alice, Text: "hello, this is a benchmark message"}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			m.ClientMsgID, m.SentAt = "c"+strconv.Itoa(i), time.Now()
			if _, _, err := s.Append(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendParallel/OneRoom", func(b *testing.B) {
		s := newStore(b)
		alice := benchUser(b, s, "alice")
		benchParallel(b, s, func(int) (chat.User, string) { return alice, chat.General })
	})
	b.Run("AppendParallel/ManyRooms", func(b *testing.B) {
		s := newStore(b)
		benchParallel(b, s, senderPerRoom(b, s))
	})
	b.Run("AppendAsync/ManyRooms", func(b *testing.B) {
		s := newStore(b)
		aa, ok := s.(chat.AsyncAppender)
		if !ok {
			b.Skip("the store does not implement chat.AsyncAppender")
		}
		benchAsync(b, aa, senderPerRoom(b, s))
	})
}

// senderPerRoom makes a user and a room of theirs for each of the
// benchmark's goroutines, and tells goroutine g its sender and room.
func senderPerRoom(b *testing.B, s chat.Store) func(g int) (chat.User, string) {
	b.Helper()
	n := parallelism * runtime.GOMAXPROCS(0)
	users := make([]chat.User, n)
	for i := range users {
		users[i] = benchUser(b, s, fmt.Sprintf("user%d", i))
		if _, err := s.CreateRoom(b.Context(), users[i].ID, fmt.Sprintf("room%d", i), false); err != nil {
			b.Fatal(err)
		}
	}
	return func(g int) (chat.User, string) {
		g %= n
		return users[g], fmt.Sprintf("room%d", g)
	}
}

// benchAsync runs pipelined Appends from parallelism goroutines per CPU,
// each with up to 4 in flight; who tells goroutine g its sender and room.
func benchAsync(b *testing.B, aa chat.AsyncAppender, who func(g int) (chat.User, string)) {
	const inflight = 4
	ctx := b.Context()
	var next atomic.Int64
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := int(next.Add(1) - 1)
		from, room := who(g)
		m := chat.NewMessage{Room: room, From: from, Text: "hello"}
		slots := make(chan struct{}, inflight)
		var wg sync.WaitGroup
		for i := 0; pb.Next(); i++ {
			m.ClientMsgID, m.SentAt = strconv.Itoa(i), time.Now()
			slots <- struct{}{}
			wg.Add(1)
			aa.AppendAsync(ctx, m, func(m chat.Message, _ bool, err error) {
				if err != nil {
					b.Error(err)
				}
				m.AppendJSON(nil) // the server encodes the stored message once, for its ack and its event
				<-slots
				wg.Done()
			})
		}
		wg.Wait()
	})
}

// parallelism is the benchmarks' goroutines per CPU: many connections
// sending at once, each waiting for its ack.
const parallelism = 32

// benchParallel runs Appends from parallelism goroutines per CPU; who
// tells goroutine g (counted from 0) its sender and room.
func benchParallel(b *testing.B, s chat.Store, who func(g int) (chat.User, string)) {
	ctx := b.Context()
	var next atomic.Int64
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := int(next.Add(1) - 1)
		from, room := who(g)
		m := chat.NewMessage{Room: room, From: from, Text: "hello"}
		prefix := "g" + strconv.Itoa(g) + "-"
		i := 0
		for pb.Next() {
			i++
			m.ClientMsgID, m.SentAt = prefix+strconv.Itoa(i), time.Now()
			if _, _, err := s.Append(ctx, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchUser(b *testing.B, s chat.Store, name string) chat.User {
	b.Helper()
	u, err := s.CreateUser(b.Context(), name, "hash")
	if err != nil {
		b.Fatal(err)
	}
	return u
}
