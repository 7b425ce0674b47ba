package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
	"github.com/gorilla/websocket"
)

// The limits and bad input of PROTOCOL §7, the heartbeat of §6, slow
// consumers and shutdown, each against a real server over loopback.

// scrapeMetric reads /metrics and returns the value of an unlabelled sample
// (0 and false if it is absent).
func scrapeMetric(tb testing.TB, srv *chatdtest.Server, name string) (float64, bool) {
	tb.Helper()
	status, body := srv.Do(tb, "GET", "/metrics", "", nil)
	if status != http.StatusOK {
		tb.Fatalf("GET /metrics: status %d, want 200", status)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			tb.Fatalf("metric %s: bad value %q", name, rest)
		}
		return v, true
	}
	return 0, false
}

// errorFrameCode decodes an error frame; it fails the test for anything else.
func errorFrameCode(tb testing.TB, f chatdtest.Frame) string {
	tb.Helper()
	if f.Type != protocol.TypeError {
		tb.Fatalf("got %s frame %s, want an error", f.Type, f.Payload)
	}
	var p protocol.ErrorPayload
	f.Decode(tb, &p)
	if p.Message == "" {
		tb.Errorf("error frame %s has no message", f.Payload)
	}
	return string(p.Code)
}

// historyTexts returns the texts of a room's newest messages, read from the
// store as user sees it.
func historyTexts(tb testing.TB, srv *chatdtest.Server, userID, room string) []string {
	tb.Helper()
	msgs, _, err := srv.Store.History(context.Background(), userID, room, chat.HistoryQuery{Limit: 100})
	if err != nil {
		tb.Fatalf("store history of %s: %v", room, err)
	}
	texts := make([]string, len(msgs))
	for i, m := range msgs {
		texts[i] = m.Text
	}
	return texts
}

func TestFrameOverLimitCloses1009(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")

	// A frame of exactly the limit is read (and its 16 KB text refused as
	// too_large); one byte more closes the connection.
	frameOf := func(size int) []byte {
		head, tail := `{"type":"send_message","id":"big","payload":"`, `"}`
		return []byte(head + strings.Repeat("a", size-len(head)-len(tail)) + tail)
	}
	c := srv.Dial(t, alice.Token)
	c.Welcome()
	if err := c.SendRaw(frameOf(server.DefaultMaxFrameBytes)); err != nil {
		t.Fatal(err)
	}
	f := c.Expect(protocol.TypeError, func(f chatdtest.Frame) bool { return f.ID == "big" })
	if got, want := errorFrameCode(t, f), "too_large"; got != want {
		t.Errorf("frame of exactly %d bytes: error %q, want %q", server.DefaultMaxFrameBytes, got, want)
	}

	if err := c.SendRaw(frameOf(server.DefaultMaxFrameBytes + 1)); err != nil {
		t.Fatal(err)
	}
	if code, text := c.WaitClosed(5 * time.Second); code != websocket.CloseMessageTooBig {
		t.Errorf("frame of %d bytes: close code %d %q, want %d", server.DefaultMaxFrameBytes+1, code, text, websocket.CloseMessageTooBig)
	}
}

func TestInvalidUTF8Closes1007(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	c := srv.Dial(t, alice.Token)
	c.Welcome()
	if err := c.WS.WriteMessage(websocket.TextMessage, []byte{0xff, 0xfe}); err != nil {
		t.Fatal(err)
	}
	if code, text := c.WaitClosed(5 * time.Second); code != websocket.CloseInvalidFramePayloadData {
		t.Errorf("close code %d %q, want %d", code, text, websocket.CloseInvalidFramePayloadData)
	}
}

func TestBadFramesAnsweredConnectionStaysOpen(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	c := srv.Dial(t, alice.Token)
	c.Welcome()

	tests := []struct {
		name  string
		frame string
		id    string // the id the error must carry
		code  string
	}{
		{"not JSON", `hello there`, "", "bad_request"},
		{"JSON array", `[1,2,3]`, "", "bad_request"},
		{"truncated JSON", `{"type":"send_message","id":"t1"`, "", "bad_request"},
		{"unknown type", `{"type":"frobnicate","id":"u1","payload":{}}`, "u1", "unknown_type"},
		{"type not a string", `{"type":42,"id":"w1"}`, "w1", "bad_request"},
		{"no type", `{"id":"w2","payload":{}}`, "w2", "bad_request"},
		{"id not a string", `{"type":"list_rooms","id":7}`, "", "bad_request"},
		{"room not a string", `{"type":"send_message","id":"w3","payload":{"room":7,"text":"hi"}}`, "w3", "bad_request"},
		{"limit not a number", `{"type":"history","id":"w4","payload":{"room":"general","limit":"ten"}}`, "w4", "bad_request"},
		{"payload not an object", `{"type":"join_room","id":"w5","payload":["general"]}`, "w5", "bad_request"},
		{"seq not a number", `{"type":"mark_read","id":"w6","payload":{"room":"general","seq":"1"}}`, "w6", "bad_request"},
	}
	for _, tt := range tests {
		if err := c.SendRaw([]byte(tt.frame)); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		f := c.Expect(protocol.TypeError, func(f chatdtest.Frame) bool { return f.ID == tt.id })
		if got := errorFrameCode(t, f); got != tt.code {
			t.Errorf("%s: %s: error %q, want %q", tt.name, tt.frame, got, tt.code)
		}
	}

	// A binary frame is refused the same way.
	if err := c.WS.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"list_rooms","id":"bin"}`)); err != nil {
		t.Fatal(err)
	}
	f := c.Expect(protocol.TypeError, nil)
	if got, want := errorFrameCode(t, f), "bad_request"; got != want {
		t.Errorf("binary frame: error %q, want %q", got, want)
	}
	if f.ID == "bin" {
		t.Errorf("binary frame answered as a request (id %q)", f.ID)
	}

	// The connection still works.
	var ack protocol.MessageAck
	c.Ack(protocol.TypeSendMessage, protocol.SendMessage{Room: "general", Text: "still here"}, &ack)
	if ack.Message.Text != "still here" || ack.Message.Seq != 1 {
		t.Errorf("send after bad frames: got %+v, want text %q seq 1", ack.Message, "still here")
	}
	c.ExpectNone(protocol.TypeAck, func(f chatdtest.Frame) bool { return f.ID == "bin" }, 50*time.Millisecond)
}

func TestTextLimits(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	c := srv.Dial(t, alice.Token)
	c.Welcome()

	send := func(text string) chatdtest.Frame {
		t.Helper()
		return c.Request(protocol.TypeSendMessage, protocol.SendMessage{Room: "general", Text: text})
	}
	refused := []struct {
		name, text, code string
	}{
		{"empty", "", "bad_request"},
		{"spaces", "   ", "bad_request"},
		{"white space", " \t\n\r\u00a0\u2003 ", "bad_request"},
		{"4001 ASCII", strings.Repeat("a", chat.MaxTextChars+1), "too_large"},
		{"4001 emoji", strings.Repeat("😀", chat.MaxTextChars+1), "too_large"},
	}
	for _, tt := range refused {
		if got := errorFrameCode(t, send(tt.text)); got != tt.code {
			t.Errorf("%s text: error %q, want %q", tt.name, got, tt.code)
		}
	}

	// 4000 code points are accepted even when they are 16000 bytes, and the
	// text is stored exactly as sent.
	accepted := []struct{ name, text string }{
		{"4000 ASCII", strings.Repeat("a", chat.MaxTextChars)},
		{"4000 emoji", strings.Repeat("😀", chat.MaxTextChars)},
		{"padded", "  hi  \n"},
	}
	for _, tt := range accepted {
		f := send(tt.text)
		if f.Type != protocol.TypeAck {
			t.Fatalf("%s text (%d code points): got %s %s, want an ack", tt.name, utf8.RuneCountInString(tt.text), f.Type, f.Payload)
		}
		var ack protocol.MessageAck
		f.Decode(t, &ack)
		if ack.Message.Text != tt.text {
			t.Errorf("%s text: ack text differs from what was sent (%d vs %d bytes)", tt.name, len(ack.Message.Text), len(tt.text))
		}
	}
	got := historyTexts(t, srv, alice.User.ID, "general")
	if len(got) != len(accepted) {
		t.Fatalf("stored %d messages, want %d (refused texts must not be stored)", len(got), len(accepted))
	}
	for i, tt := range accepted {
		if got[i] != tt.text {
			t.Errorf("stored message %d (%s) differs from what was sent", i+1, tt.name)
		}
	}
}

func TestRateLimit(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 10}}) // burst 20
	alice := srv.Register(t, "alice")
	c := srv.Dial(t, alice.Token)
	w := c.Welcome()
	if got, want := w.Limits.MessagesPerSecond, 10.0; got != want {
		t.Errorf("welcome limits.messages_per_second = %v, want %v", got, want)
	}

	// Sends written back to back: the burst of 20 passes and the rest is
	// refused, except for the tokens earned meanwhile (one per 100 ms).
	const n = 30
	start := time.Now()
	for i := 1; i <= n; i++ {
		b, err := json.Marshal(protocol.Envelope{
			Type: protocol.TypeSendMessage, ID: fmt.Sprintf("s%d", i),
			Payload: json.RawMessage(fmt.Sprintf(`{"room":"general","text":"msg %d"}`, i)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SendRaw(b); err != nil {
			t.Fatal(err)
		}
	}
	replies := map[string]chatdtest.Frame{}
	var at21 time.Duration // when the reply to the 21st arrived
	for len(replies) < n {
		f := c.Next()
		if f.Type != protocol.TypeAck && f.Type != protocol.TypeError {
			continue
		}
		replies[f.ID] = f
		if f.ID == "s21" {
			at21 = time.Since(start)
		}
	}
	elapsed := time.Since(start)

	var stored, refused []string
	for i := 1; i <= n; i++ {
		f, ok := replies[fmt.Sprintf("s%d", i)]
		if !ok {
			t.Fatalf("no reply to send %d", i)
		}
		text := fmt.Sprintf("msg %d", i)
		if f.Type == protocol.TypeAck {
			stored = append(stored, text)
			continue
		}
		if code := errorFrameCode(t, f); code != "rate_limited" {
			t.Errorf("send %d: error %q, want rate_limited", i, code)
		}
		if i <= 20 {
			t.Errorf("send %d refused, want the burst of 20 to pass", i)
		}
		refused = append(refused, text)
	}
	if at21 < 100*time.Millisecond {
		if replies["s21"].Type != protocol.TypeError {
			t.Errorf("21st send within %v was accepted, want rate_limited", at21)
		}
	} else {
		t.Logf("the first 21 sends took %v: a token may have been earned meanwhile", at21)
	}
	if max := 20 + int(10*elapsed.Seconds()) + 1; len(stored) > max {
		t.Errorf("%d of %d sends accepted within %v, want at most %d", len(stored), n, elapsed, max)
	}
	if len(refused) == 0 {
		t.Fatalf("none of %d sends within %v was rate_limited", n, elapsed)
	}

	// Refused messages are not stored; accepted ones are.
	got := historyTexts(t, srv, alice.User.ID, "general")
	if strings.Join(got, "|") != strings.Join(stored, "|") {
		t.Errorf("stored texts = %q, want exactly the acked ones %q", got, stored)
	}
	if v, _ := scrapeMetric(t, srv, "chatd_rate_limited_total"); int(v) != len(refused) {
		t.Errorf("chatd_rate_limited_total = %v, want %d", v, len(refused))
	}

	// The connection stays open, and sends pass again once tokens return.
	time.Sleep(250 * time.Millisecond)
	c.Ack(protocol.TypeSendMessage, protocol.SendMessage{Room: "general", Text: "later"}, nil)
}

func TestRepeatedBadFramesClose1008(t *testing.T) {
	badFrame := []byte(`not json`)
	sendBad := func(t *testing.T, c *chatdtest.Client, n int) {
		t.Helper()
		for range n {
			if err := c.SendRaw(badFrame); err != nil {
				t.Fatal(err)
			}
			if code := errorFrameCode(t, c.Expect(protocol.TypeError, nil)); code != "bad_request" {
				t.Fatalf("bad frame: error %q, want bad_request", code)
			}
		}
	}

	t.Run("20 in a row", func(t *testing.T) {
		srv := chatdtest.Start(t, chatdtest.Options{})
		c := srv.Dial(t, srv.Register(t, "alice").Token)
		c.Welcome()
		sendBad(t, c, server.DefaultBadFrameLimit-1)
		c.Ack(protocol.TypeListRooms, struct{}{}, nil) // 19: still open
		sendBad(t, c, 1)
		if code, text := c.WaitClosed(5 * time.Second); code != websocket.ClosePolicyViolation {
			t.Errorf("after %d bad frames: close code %d %q, want %d", server.DefaultBadFrameLimit, code, text, websocket.ClosePolicyViolation)
		}
	})

	t.Run("rate_limited refusals do not count", func(t *testing.T) {
		srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 1}}) // burst 2
		c := srv.Dial(t, srv.Register(t, "alice").Token)
		c.Welcome()
		sendBad(t, c, server.DefaultBadFrameLimit-1)
		limited := 0
		for range 10 {
			f := c.Request(protocol.TypeSendMessage, protocol.SendMessage{Room: "general", Text: "hi"})
			if f.Type == protocol.TypeError {
				if code := errorFrameCode(t, f); code != "rate_limited" {
					t.Fatalf("send: error %q, want rate_limited or an ack", code)
				}
				limited++
			}
		}
		if limited < 5 {
			t.Fatalf("%d of 10 quick sends were rate_limited, want at least 5", limited)
		}
		c.Ack(protocol.TypeListRooms, struct{}{}, nil) // still open
		sendBad(t, c, 1)                               // the 20th bad frame
		if code, text := c.WaitClosed(5 * time.Second); code != websocket.ClosePolicyViolation {
			t.Errorf("close code %d %q, want %d", code, text, websocket.ClosePolicyViolation)
		}
	})

	t.Run("spread beyond the window", func(t *testing.T) {
		const window = 300 * time.Millisecond
		srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{BadFrameWindow: window}})
		c := srv.Dial(t, srv.Register(t, "alice").Token)
		c.Welcome()
		sendBad(t, c, 15)
		time.Sleep(window + 100*time.Millisecond)
		sendBad(t, c, 15) // 30 bad frames, never 20 within the window
		c.Ack(protocol.TypeListRooms, struct{}{}, nil)
		time.Sleep(window + 100*time.Millisecond)
		sendBad(t, c, server.DefaultBadFrameLimit)
		if code, text := c.WaitClosed(5 * time.Second); code != websocket.ClosePolicyViolation {
			t.Errorf("close code %d %q, want %d", code, text, websocket.ClosePolicyViolation)
		}
	})
}

// dialRaw opens a WebSocket with gorilla directly, without the harness's
// reader goroutine: the test decides when (and whether) to read.
func dialRaw(tb testing.TB, srv *chatdtest.Server, token string, dialer *websocket.Dialer) *websocket.Conn {
	tb.Helper()
	if dialer == nil {
		dialer = &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	}
	ws, _, err := dialer.Dial(srv.WSURL(), http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { ws.Close() })
	return ws
}

// readUntilError reads ws in a goroutine and reports the error that ended it.
func readUntilError(ws *websocket.Conn) <-chan error {
	done := make(chan error, 1)
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				done <- err
				return
			}
		}
	}()
	return done
}

func TestHeartbeat(t *testing.T) {
	const (
		pingInterval = 100 * time.Millisecond
		pongWait     = 300 * time.Millisecond
	)
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{PingInterval: pingInterval, PongWait: pongWait}})

	t.Run("welcome announces the timing", func(t *testing.T) {
		c := srv.Dial(t, srv.Register(t, "walter").Token)
		w := c.Welcome()
		if w.Heartbeat.PingIntervalMS != pingInterval.Milliseconds() || w.Heartbeat.PongWaitMS != pongWait.Milliseconds() {
			t.Errorf("welcome heartbeat = %+v, want ping %d ms, pong wait %d ms", w.Heartbeat, pingInterval.Milliseconds(), pongWait.Milliseconds())
		}
	})

	t.Run("a client that answers pings stays", func(t *testing.T) {
		t.Parallel()
		c := srv.Dial(t, srv.Register(t, "alice").Token)
		c.Welcome()
		time.Sleep(1200 * time.Millisecond)
		c.Ack(protocol.TypeListRooms, struct{}{}, nil)
	})

	t.Run("the server pings", func(t *testing.T) {
		t.Parallel()
		ws := dialRaw(t, srv, srv.Register(t, "bob").Token, nil)
		var pings atomic.Int32
		ws.SetPingHandler(func(data string) error {
			pings.Add(1)
			return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		done := readUntilError(ws)
		select {
		case err := <-done:
			t.Fatalf("connection ended after %d pings although every ping was answered: %v", pings.Load(), err)
		case <-time.After(1200 * time.Millisecond):
		}
		// About 12 are due; allow for a slow machine.
		if got := pings.Load(); got < 5 {
			t.Errorf("%d pings in 1.2 s, want at least 5 (interval %v)", got, pingInterval)
		}
	})

	t.Run("a client that never answers is closed", func(t *testing.T) {
		t.Parallel()
		ws := dialRaw(t, srv, srv.Register(t, "carol").Token, nil)
		var pings atomic.Int32
		ws.SetPingHandler(func(string) error { pings.Add(1); return nil })
		start := time.Now()
		done := readUntilError(ws)
		select {
		case err := <-done:
			t.Logf("closed after %v and %d pings: %v", time.Since(start).Round(time.Millisecond), pings.Load(), err)
		case <-time.After(1500 * time.Millisecond):
			t.Fatalf("connection still open %v after connecting without answering %d pings (pong wait %v)", time.Since(start), pings.Load(), pongWait)
		}
		if pings.Load() == 0 {
			t.Errorf("closed without ever being pinged")
		}
	})
}

// TestHeartbeatLatePong: a pong is due within PongWait of its ping, not of
// the previous pong. A client (or a busy server) whose pongs take longer
// than PongWait-PingInterval must not be dropped.
func TestHeartbeatLatePong(t *testing.T) {
	const (
		pingInterval = 600 * time.Millisecond
		pongWait     = 800 * time.Millisecond
		pongDelay    = 500 * time.Millisecond // > pongWait-pingInterval, < pongWait
	)
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{PingInterval: pingInterval, PongWait: pongWait}})
	ws := dialRaw(t, srv, srv.Register(t, "slowpoke").Token, nil)
	var pongs atomic.Int32
	ws.SetPingHandler(func(data string) error {
		go func() {
			time.Sleep(pongDelay)
			if ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second)) == nil {
				pongs.Add(1)
			}
		}()
		return nil
	})
	done := readUntilError(ws)
	select {
	case err := <-done:
		t.Fatalf("connection dropped after %d late pongs: %v", pongs.Load(), err)
	case <-time.After(2500 * time.Millisecond):
	}
	if pongs.Load() < 2 {
		t.Errorf("only %d pongs sent in 2.5 s", pongs.Load())
	}
}

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
		if sent%25 == 0 {
			waitAcked(int64(sent - 100)) // at most about 100 in flight
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

func writeFrame(tb testing.TB, ws *websocket.Conn, typ, id string, payload any) {
	tb.Helper()
	p, err := json.Marshal(payload)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := json.Marshal(protocol.Envelope{Type: typ, ID: id, Payload: p})
	if err != nil {
		tb.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
		tb.Fatalf("write %s: %v", typ, err)
	}
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

// TestRandomFramesNeverBreakTheServer throws a few thousand mutated frames
// (valid envelopes with corrupted bytes, wrong types, huge numbers, deep
// nesting) at one connection. Every frame with an id gets exactly one
// reply, the server stays up, and the connection still works afterwards.
func TestRandomFramesNeverBreakTheServer(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 0, BadFrameLimit: 1 << 30}})
	c := srv.Dial(t, srv.Register(t, "fuzzer").Token)
	c.Welcome()
	seeds := []string{
		`{"type":"send_message","id":"X","payload":{"room":"general","text":"hi"}}`,
		`{"type":"history","id":"X","payload":{"room":"general","before_seq":9223372036854775807,"limit":100}}`,
		`{"type":"join_room","id":"X","payload":{"room":"r-1"}}`,
		`{"type":"edit_message","id":"X","payload":{"room":"general","seq":1,"text":"e"}}`,
		`{"type":"mark_read","id":"X","payload":{"room":"general","seq":-5}}`,
		`{"type":"who","id":"X","payload":{"room":"general","limit":1e308}}`,
		`{"type":"open_dm","id":"X","payload":{"user":"fuzzer"}}`,
		`{"type":"invite","id":"X","payload":{"room":"general","user":"nobody"}}`,
		`{"type":"delete_message","id":"X","payload":{"room":"general","seq":1}}`,
		`{"type":"typing","id":"X","payload":{"room":"dm:a:b"}}`,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 2000
	intact := map[string]bool{} // ids of frames sent unmutated
	for i := range n {
		// Mutations may turn one id into another, so only the ids of
		// frames sent intact, in a namespace of their own, are counted.
		mutations := rng.IntN(4)
		id := fmt.Sprintf("m%d", i)
		if mutations == 0 {
			id = fmt.Sprintf("ok-%d", i)
			intact[id] = true
		}
		b := []byte(strings.Replace(seeds[rng.IntN(len(seeds))], `"X"`, `"`+id+`"`, 1))
		for range mutations {
			switch pos := rng.IntN(len(b)); rng.IntN(3) {
			case 0:
				b[pos] = byte(rng.IntN(94) + 32) // printable, keeps UTF-8 valid
			case 1:
				b = append(b[:pos:pos], b[pos+1:]...)
			case 2:
				b = append(b[:pos:pos], append([]byte(`[[[[{"a":`), b[pos:]...)...)
			}
		}
		if err := c.SendRaw(b); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	// A plain request still works, and every intact request was answered
	// exactly once. Replies come in request order, so this one comes after
	// the server has worked through all 2000, which under -race on a busy
	// machine can take longer than a usual reply.
	if err := c.SendRaw([]byte(`{"type":"send_message","id":"final","payload":{"room":"general","text":"still here"}}`)); err != nil {
		t.Fatal(err)
	}
	var ack protocol.MessageAck
	c.ExpectWithin(protocol.TypeAck, func(f chatdtest.Frame) bool { return f.ID == "final" }, time.Minute).Decode(t, &ack)
	if ack.Message.Text != "still here" {
		t.Fatalf("after the storm: %+v", ack.Message)
	}
	// Replies travel in request order, so all are in by now.
	replies := map[string]int{}
	byID := map[string][]string{}
	for _, f := range c.Drain() {
		if f.ID != "" {
			byID[f.ID] = append(byID[f.ID], f.Type+" "+string(f.Payload))
			if f.Type != "ack" && f.Type != "error" {
				t.Errorf("frame with id %q has type %q", f.ID, f.Type)
			}
			replies[f.ID]++
		}
	}
	for id := range intact {
		if replies[id] != 1 {
			t.Errorf("intact request %s got %d replies, want 1: %v", id, replies[id], byID[id])
		}
	}
	if len(intact) == 0 {
		t.Fatal("no frame was sent intact")
	}
	status, _ := srv.Do(t, "GET", "/healthz", "", nil)
	if status != 200 {
		t.Fatalf("/healthz = %d after the storm", status)
	}
}

// TestRefusedRequestsAreNotBadFrames: well-formed requests that the server
// refuses (inviting to a public room, a too-long text) are answered but do
// not count towards the 1008 bad-frame limit.
func TestRefusedRequestsAreNotBadFrames(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 0}})
	online := func(name string) *chatdtest.Client {
		c := srv.Dial(t, srv.Register(t, name).Token)
		c.Welcome()
		return c
	}
	alice := online("alice")
	online("bob")
	for range 25 {
		if code := alice.ErrorCode("invite", protocol.Invite{Room: "general", User: "bob"}); code != "bad_request" {
			t.Fatalf("invite to a public room: %s, want bad_request", code)
		}
	}
	alice.Ack("list_rooms", struct{}{}, nil) // still open after 25 refusals
	for range 20 {
		alice.SendRaw([]byte(`{"type":"typing","payload":{"room":5}}`))
	}
	if code, _ := alice.WaitClosed(5 * time.Second); code != websocket.ClosePolicyViolation {
		t.Fatalf("after 20 malformed frames: close %d, want 1008", code)
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
	slow := dialRaw(t, srv, srv.Register(t, "carol").Token, nil)
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
