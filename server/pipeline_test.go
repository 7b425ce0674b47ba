package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
	"github.com/chatd/chatd/sqlite"
)

// countingAppender is a real SQLite store that records how many Appends
// were in flight at once.
type countingAppender struct {
	*sqlite.Store
	mu          sync.Mutex
	inFlight    int
	maxInFlight int
}

func (s *countingAppender) AppendAsync(ctx context.Context, m chat.NewMessage, done func(chat.Message, bool, error)) {
	s.mu.Lock()
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	s.mu.Unlock()
	s.Store.AppendAsync(ctx, m, func(msg chat.Message, created bool, err error) {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
		done(msg, created, err)
	})
}

// TestPipelinedSends: one connection's sends reach the store without
// waiting for each other's commits, and still every reply comes in the
// order of the requests, an error or another request's ack included, with
// seqs in sending order.
func TestPipelinedSends(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	store := &countingAppender{Store: st}
	srv := chatdtest.Start(t, chatdtest.Options{Store: store, Config: server.Config{RateLimit: 0}})
	alice := srv.Dial(t, srv.Register(t, "alice").Token)
	alice.Welcome()

	const n = 200
	var want []string
	for i := range n {
		id := fmt.Sprintf("s%d", i)
		text := fmt.Sprintf("message %d", i)
		switch i {
		case 50:
			text = "   " // refused: only white space
		case 100:
			raw, _ := json.Marshal(protocol.Envelope{Type: protocol.TypeListRooms, ID: "rooms", Payload: json.RawMessage(`{}`)})
			if err := alice.SendRaw(raw); err != nil {
				t.Fatal(err)
			}
			want = append(want, "rooms")
		}
		raw, _ := json.Marshal(protocol.Envelope{Type: protocol.TypeSendMessage, ID: id,
			Payload: json.RawMessage(fmt.Sprintf(`{"room":"general","text":%q}`, text))})
		if err := alice.SendRaw(raw); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}

	var lastSeq int64
	for _, id := range want {
		var f chatdtest.Frame
		for f = alice.Next(); f.Type == protocol.TypeNewMessage; f = alice.Next() {
		}
		if f.ID != id {
			t.Fatalf("reply %s %s, want the reply to %s next: replies out of request order", f.Type, f.ID, id)
		}
		switch id {
		case "rooms":
			if f.Type != protocol.TypeAck {
				t.Fatalf("list_rooms: %s %s", f.Type, f.Payload)
			}
		case "s50":
			if f.Type != protocol.TypeError {
				t.Fatalf("a blank message was answered with %s %s", f.Type, f.Payload)
			}
		default:
			var ack protocol.MessageAck
			if f.Type != protocol.TypeAck {
				t.Fatalf("%s: %s %s", id, f.Type, f.Payload)
			}
			f.Decode(t, &ack)
			if ack.Message.Seq != lastSeq+1 {
				t.Fatalf("%s acked with seq %d after seq %d: stored out of sending order", id, ack.Message.Seq, lastSeq)
			}
			lastSeq = ack.Message.Seq
		}
	}
	if lastSeq != n-1 {
		t.Fatalf("last seq %d, want %d", lastSeq, n-1)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if store.maxInFlight < 2 {
		t.Errorf("at most %d Append in flight from one connection sending %d at once: sends wait for each other's commits", store.maxInFlight, n)
	}
	t.Logf("at most %d Appends in flight", store.maxInFlight)
}
