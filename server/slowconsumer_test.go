package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
	"github.com/gorilla/websocket"
)

// Slow consumers: a client that does not read is closed with 1013.

func TestSlowConsumerClosed1013(t *testing.T) {
	// The heartbeat would also end a client that does not read (it cannot
	// answer pings); keep it out of the way so that the queue bound is what
	// cuts it off.
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{
		QueueFrames: 256, QueueBytes: 1 << 20, RateLimit: 0,
		PingInterval: time.Minute, PongWait: 2 * time.Minute,
	}})
	alice := srv.Register(t, "alice") // sends as fast as the store takes it
	bob := srv.Register(t, "bob")     // reads everything
	carol := srv.Register(t, "carol") // reads nothing until the end

	fast := srv.Dial(t, bob.Token)
	fast.Welcome()
	// carol's connection keeps the kernel's default buffers: with a tiny
	// SO_RCVBUF set after the handshake, Linux reopens the TCP window only
	// through zero-window probes with exponential backoff once she reads
	// again, and her reads would stall for many seconds. The server's send
	// buffer (up to tcp_wmem's 4 MB) dominates what the kernel holds anyway.
	slow := dialRaw(t, srv, carol.Token, nil)

	// Alice pipelines her sends over one connection and a goroutine reads
	// her acks (and her copies of the messages), so that she is fast.
	sender := dialRaw(t, srv, alice.Token, nil)
	var acked atomic.Int64
	senderErr := make(chan error, 1)
	go func() {
		for {
			_, data, err := sender.ReadMessage()
			if err != nil {
				senderErr <- err
				return
			}
			// Frames start with their type; decoding thousands of 16 KB
			// frames under the race detector would dominate the test.
			switch {
			case bytes.HasPrefix(data, []byte(`{"type":"ack"`)):
				acked.Add(1)
			case bytes.HasPrefix(data, []byte(`{"type":"error"`)):
				senderErr <- fmt.Errorf("sender got %.200s", data)
				return
			}
		}
	}()
	waitAcked := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for acked.Load() < n {
			select {
			case err := <-senderErr:
				t.Fatalf("sender: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d sends acked after 10 s", acked.Load(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// The first messages are large (4000 emoji, 16 KB) to fill the socket
	// buffers (some 4 MB) quickly; the rest are 3 KB, so that the queue's
	// 256 frames (768 KB) fill before its megabyte does.
	large, small := strings.Repeat("😀", chat.MaxTextChars-6), strings.Repeat("x", 3000)
	loopStart := time.Now()
	sent := 0
	slowClosed := false
	for sent < 5000 && !slowClosed {
		sent++
		text := fmt.Sprintf("%05d %s", sent, small)
		if sent <= 250 {
			text = fmt.Sprintf("%05d %s", sent, large)
		}
		writeFrame(t, sender, protocol.TypeSendMessage, fmt.Sprintf("p%d", sent),
			protocol.SendMessage{Room: "general", Text: text})
		if sent%25 == 0 || sent <= 250 && sent%5 == 0 {
			// At most about 100 in flight; 40 while they are large, so
			// that alice's own copies of them (16 KB each, which her
			// reader under the race detector may lag behind) stay well
			// under her queue's megabyte and she is not the one cut off.
			inFlight := 100
			if sent <= 250 {
				inFlight = 40
			}
			waitAcked(int64(sent - inFlight))
			v, _ := scrapeMetric(t, srv, "chatd_slow_consumers_total")
			slowClosed = v >= 1
		}
	}
	waitAcked(int64(sent))
	if !slowClosed {
		t.Fatalf("chatd_slow_consumers_total still 0 after %d messages to a client that does not read", sent)
	}
	t.Logf("the slow consumer was cut off after at most %d messages (%v)", sent, time.Since(loopStart))

	// Once carol reads, she finds an in-order prefix of the room and then
	// the close 1013. She reads right away: the server's blocked write gives
	// up after its write wait (10 s), and then no close frame can follow.
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	var last int64
	var closeErr error
	for {
		_, data, err := slow.ReadMessage()
		if err != nil {
			closeErr = err
			break
		}
		var env protocol.Envelope
		if err := json.Unmarshal(data, &env); err != nil {
			t.Fatalf("slow client: frame is not JSON: %.60q", data)
		}
		if env.Type != protocol.TypeNewMessage {
			continue
		}
		var m chat.Message
		if err := json.Unmarshal(env.Payload, &m); err != nil {
			t.Fatal(err)
		}
		if m.Seq != last+1 {
			t.Fatalf("slow client: new_message seq %d after %d, want no gap", m.Seq, last)
		}
		last = m.Seq
	}
	var ce *websocket.CloseError
	if !errors.As(closeErr, &ce) || ce.Code != websocket.CloseTryAgainLater {
		t.Fatalf("slow client: connection ended with %v after seq %d, want close %d", closeErr, last, websocket.CloseTryAgainLater)
	}
	if last >= int64(sent) {
		t.Errorf("slow client received all %d messages, want it cut off", sent)
	}

	// The fast member got every message, in order.
	for want := int64(1); want <= int64(sent); {
		f := fast.Next()
		if f.Type != protocol.TypeNewMessage {
			continue
		}
		var m chat.Message
		f.Decode(t, &m)
		if m.Seq != want || !strings.HasPrefix(m.Text, fmt.Sprintf("%05d ", want)) {
			t.Fatalf("fast client: new_message seq %d text %.10q, want seq %d", m.Seq, m.Text, want)
		}
		want++
	}

	// It reconnects, and its welcome cursor covers what it missed.
	again := srv.Dial(t, carol.Token)
	w := again.Welcome()
	for _, r := range w.Rooms {
		if r.Name == "general" && r.LastSeq != int64(sent) {
			t.Errorf("reconnect: general last_seq = %d, want %d", r.LastSeq, sent)
		}
	}
	if v, _ := scrapeMetric(t, srv, "chatd_slow_consumers_total"); v != 1 {
		t.Errorf("chatd_slow_consumers_total = %v, want 1 (only carol was slow)", v)
	}
}

// TestSlowConsumerLongStall: a client that stops reading for longer than
// the write wait and the heartbeat still finds the 1013 close at the end of
// what it was sent, once it reads again.
func TestSlowConsumerLongStall(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{
		RateLimit: 0, QueueFrames: 64, QueueBytes: 256 << 10, WriteWait: time.Second,
		// A client that does not read cannot answer pings; keep the
		// heartbeat from ending it before its queue overflows.
		PingInterval: time.Minute, PongWait: 2 * time.Minute,
	}})
	// A small, fixed receive buffer: with the kernel's autotuning a client
	// that does not read can hold tens of MB on loopback (tcp_rmem up to
	// 32 MiB here), and whether 3000 messages overflow it was luck.
	small := &websocket.Dialer{HandshakeTimeout: 5 * time.Second,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				err = c.(*net.TCPConn).SetReadBuffer(64 << 10)
			}
			return c, err
		}}
	slow := dialRaw(t, srv, srv.Register(t, "carol").Token, small)
	sender := srv.Dial(t, srv.Register(t, "alice").Token)
	sender.Welcome()
	text := strings.Repeat("😀", 3900) // 15.6 KB: few messages fill the buffers
	for i := 0; i < 3000; i++ {
		sender.Send(protocol.TypeSendMessage, protocol.SendMessage{Room: "general", Text: text})
		if i%20 == 19 {
			sender.Ack(protocol.TypeListRooms, struct{}{}, nil) // keep pace with the store
			if scrapeSlowConsumers(t, srv) >= 1 {
				break
			}
		}
	}
	if scrapeSlowConsumers(t, srv) < 1 {
		t.Fatal("the slow client was never cut off")
	}
	time.Sleep(2500 * time.Millisecond) // well past the write wait
	slow.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		_, _, err := slow.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseTryAgainLater {
			t.Fatalf("after a long stall the slow client got %v, want close 1013", err)
		}
		return
	}
}

func scrapeSlowConsumers(tb testing.TB, srv *chatdtest.Server) float64 {
	tb.Helper()
	status, body := srv.Do(tb, "GET", "/metrics", "", nil)
	if status != 200 {
		tb.Fatalf("/metrics: %d", status)
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "chatd_slow_consumers_total "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
