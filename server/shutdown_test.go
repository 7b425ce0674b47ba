package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/postgres"
	"github.com/chatd/chatd/postgres/pgtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
)

// Shutdown: every WebSocket closes with 1001 and nothing stored goes
// unacknowledged.

// readFrames reads ws in a goroutine into a channel, which is closed when
// the connection ends; err then holds why.
func readFrames(tb testing.TB, ws *websocket.Conn) (frames <-chan chatdtest.Frame, err func() error) {
	ch := make(chan chatdtest.Frame, 4096)
	var readErr error
	go func() {
		defer close(ch)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				readErr = err
				return
			}
			var f chatdtest.Frame
			if err := json.Unmarshal(data, &f); err != nil {
				f.Type = "!invalid-json"
			}
			ch <- f
		}
	}()
	return ch, func() error { return readErr } // valid once ch is closed
}

func TestShutdownClosesWith1001AndKeepsAckedMessages(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	bob := srv.Register(t, "bob")
	b := srv.Dial(t, bob.Token)
	b.Welcome()
	a := dialRaw(t, srv, alice.Token, nil)
	frames, readErr := readFrames(t, a)

	// One send acked for sure, then more in flight while the server stops:
	// whatever is acked must be in the store afterwards.
	writeFrame(t, a, protocol.TypeSendMessage, "f0", protocol.SendMessage{Room: "general", Text: "before shutdown"})
	var acked []string
	timeout := time.After(5 * time.Second)
	for len(acked) == 0 {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("connection ended before the first ack: %v", readErr())
			}
			if f.ID == "f0" {
				if f.Type != protocol.TypeAck {
					t.Fatalf("first send: got %s %s, want an ack", f.Type, f.Payload)
				}
				acked = append(acked, "before shutdown")
			}
		case <-timeout:
			t.Fatal("no ack for the first send")
		}
	}
	const n = 10
	for i := 1; i <= n; i++ {
		writeFrame(t, a, protocol.TypeSendMessage, fmt.Sprintf("f%d", i), protocol.SendMessage{Room: "general", Text: fmt.Sprintf("in flight %d", i)})
	}
	srv.Stop()

	if code, text := b.WaitClosed(5 * time.Second); code != websocket.CloseGoingAway {
		t.Errorf("bob: close code %d %q, want %d", code, text, websocket.CloseGoingAway)
	}
	for f := range frames { // ends when the connection does
		if f.Type != protocol.TypeAck {
			continue
		}
		var ack protocol.MessageAck
		f.Decode(t, &ack)
		acked = append(acked, ack.Message.Text)
	}
	var ce *websocket.CloseError
	if err := readErr(); !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Errorf("alice: connection ended with %v, want close %d", err, websocket.CloseGoingAway)
	}

	stored := map[string]bool{}
	for _, text := range historyTexts(t, srv, alice.User.ID, "general") {
		stored[text] = true
	}
	for _, text := range acked {
		if !stored[text] {
			t.Errorf("%q was acked before shutdown but is not in the store", text)
		}
	}
	t.Logf("%d of %d sends acked before shutdown", len(acked), n+1)

	if _, err := srv.TryDial(t, alice.Token, nil); err == nil {
		t.Errorf("dial after shutdown succeeded, want it refused")
	}
}

// TestShutdownAnswersRequestsInHand: a client pipelining sends while the
// server shuts down is acked for every message that was stored before its
// connection closes with 1001: nothing stored goes unacknowledged.
func TestShutdownAnswersRequestsInHand(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 0}})
	ws := dialRaw(t, srv, srv.Register(t, "alice").Token, nil)
	var acked atomic.Int64
	closed := make(chan error, 1)
	go func() {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				closed <- err
				return
			}
			if bytes.HasPrefix(data, []byte(`{"type":"ack"`)) {
				acked.Add(1)
			}
		}
	}()
	go func() {
		for i := 0; i < 2000; i++ {
			frame := fmt.Sprintf(`{"type":"send_message","id":"s%d","payload":{"room":"general","text":"m%d"}}`, i, i)
			if ws.WriteMessage(websocket.TextMessage, []byte(frame)) != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for acked.Load() < 20 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	srv.Stop()
	var err error
	select {
	case err = <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not close after shutdown")
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("connection ended with %v, want close 1001", err)
	}
	stored, err := srv.Store.LastSeq(t.Context(), "general")
	if err != nil {
		t.Fatal(err)
	}
	if got := acked.Load(); got != stored {
		t.Fatalf("%d messages stored but %d acked before the 1001", stored, got)
	}
}

// TestShutdownPastItsDeadlineWaitsForConnections: a shutdown that reaches
// its deadline closes the sockets left, and returns only once their
// goroutines have ended (here, one waiting for a send that PostgreSQL
// holds on a row lock), so that the caller may then close the store and
// the bus.
func TestShutdownPastItsDeadlineWaitsForConnections(t *testing.T) {
	pgURL := pgtest.URL(t)
	ctx := t.Context()
	store, err := postgres.Open(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg := server.NewRegistry()
	srv := chatdtest.Start(t, chatdtest.Options{Store: store, Config: server.Config{Registry: reg}})
	c := srv.Dial(t, srv.Register(t, "alice").Token)
	c.Welcome()

	// Hold general's row: alice's next send waits for it.
	lock, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close(context.Background())
	tx, err := lock.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT 1 FROM rooms WHERE name = 'general' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	c.Send(protocol.TypeSendMessage, protocol.SendMessage{Room: "general", Text: "held"})
	for waiting := 0; waiting == 0; time.Sleep(10 * time.Millisecond) {
		err := lock.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
	}

	const deadline = 300 * time.Millisecond
	const held = 300 * time.Millisecond // past the deadline, well within closedConnsWait
	sctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	start := time.Now()
	released := make(chan struct{})
	go func() {
		defer close(released)
		time.Sleep(deadline + held)
		tx.Rollback(context.Background())
	}()
	err = srv.Srv.Shutdown(sctx)
	open := metricValue(t, reg, "chatd_connections")
	took := time.Since(start)
	<-released
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want the deadline's error", err)
	}
	if open != 0 {
		t.Errorf("Shutdown returned after %v with %v connection(s) still being served, want none", took, open)
	}
	if took < deadline+held {
		t.Errorf("Shutdown returned after %v, before the send it waited for was released (%v)", took, deadline+held)
	}
}

// TestShutdownDuringAWelcome: a shutdown that begins after a connection's
// welcome is written but before the connection is handed to the poller
// still closes it with 1001 at once, instead of leaving it in the poller
// with a deadline the poller does not watch until Shutdown's own deadline
// cuts it off (the client then saw 1006).
func TestShutdownDuringAWelcome(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	paused, release := server.PauseAfterWelcome(srv.Srv)
	defer release()
	c := srv.Dial(t, alice.Token)
	c.Welcome()
	select {
	case <-paused:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection never reached the pause after its welcome")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Srv.Shutdown(ctx) }()
	for deadline := time.Now().Add(5 * time.Second); !server.Draining(srv.Srv); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Shutdown did not drain the connection")
		}
	}
	release()

	if code, text := c.WaitClosed(8 * time.Second); code != websocket.CloseGoingAway {
		t.Errorf("closed with %d %q, want %d", code, text, websocket.CloseGoingAway)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v, want nil: the connection outlived its deadline", err)
	}
}
