package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
	"github.com/gorilla/websocket"
)

// rebroadcaster is a tiny stand-in for gorilla's examples/chat: every text
// frame goes to every client, the sender included, and queued messages are
// joined into one frame with '\n', as examples/chat's writePump does.
// mangle, when set, may drop (nil) or repeat a message.
type rebroadcaster struct {
	mangle func(msg []byte) [][]byte

	mu      sync.Mutex // guards clients
	clients map[chan []byte]bool
}

func (rb *rebroadcaster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Registered before the upgrade completes, so that a client that has
	// its 101 gets every later message. (examples/chat registers through
	// its hub a moment later; RunPeer waits gorillaSettle for that.)
	send := make(chan []byte, 100_000)
	rb.mu.Lock()
	rb.clients[send] = true
	rb.mu.Unlock()
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		rb.mu.Lock()
		delete(rb.clients, send)
		rb.mu.Unlock()
		return
	}
	done := make(chan struct{})
	go func() { // the writer: one frame per batch of queued messages
		defer close(done)
		for msg := range send {
			frame := [][]byte{msg}
			for n := len(send); n > 0; n-- {
				frame = append(frame, <-send)
			}
			if ws.WriteMessage(websocket.TextMessage, bytes.Join(frame, []byte{'\n'})) != nil {
				return
			}
		}
	}()
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			break
		}
		out := [][]byte{msg}
		if rb.mangle != nil {
			out = rb.mangle(msg)
		}
		rb.mu.Lock()
		for c := range rb.clients {
			for _, m := range out {
				c <- m
			}
		}
		rb.mu.Unlock()
	}
	rb.mu.Lock()
	delete(rb.clients, send)
	rb.mu.Unlock()
	close(send)
	<-done
	ws.Close()
}

func startRebroadcaster(t *testing.T, mangle func([]byte) [][]byte) string {
	t.Helper()
	srv := httptest.NewServer(&rebroadcaster{mangle: mangle, clients: make(map[chan []byte]bool)})
	t.Cleanup(srv.Close)
	return srv.URL
}

func peerConfig(url, proto string) Config {
	return Config{URL: url, Proto: proto, Users: 5, Senders: 2, Messages: 40, Inflight: 4, Drain: 5 * time.Second, Timeout: 30 * time.Second, stall: time.Second}
}

func TestPeerGorillaCountsEveryDelivery(t *testing.T) {
	url := startRebroadcaster(t, nil)
	for _, tt := range []struct {
		name string
		cfg  func(*Config)
	}{
		{"flat out", func(*Config) {}},
		{"paced", func(c *Config) { c.Messages, c.Rate, c.Duration = 0, 200, 300*time.Millisecond }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := peerConfig(url, protoGorilla)
			tt.cfg(&cfg)
			rep, err := RunPeer(context.Background(), cfg)
			if err != nil {
				t.Fatalf("RunPeer: %v", err)
			}
			if !rep.OK {
				t.Fatalf("report not OK: %v", rep.Failures)
			}
			if cfg.Messages > 0 && rep.Sent != int64(cfg.Senders*cfg.Messages) {
				t.Errorf("sent %d, want senders x messages = %d", rep.Sent, cfg.Senders*cfg.Messages)
			}
			// gorilla echoes to the sender too: every connection subscribes.
			if got, want := rep.Expected, rep.Sent*int64(cfg.Users); got != want || rep.Received != want {
				t.Errorf("expected %d, received %d; want sent x users = %d", got, rep.Received, want)
			}
			if rep.E2ELatency.Count != uint64(rep.Received) {
				t.Errorf("e2e samples %d, want %d", rep.E2ELatency.Count, rep.Received)
			}
		})
	}
}

// TestPeerGorillaCatchesMangling: a server that drops, repeats or reorders
// messages must make the report fail, with the right counts.
func TestPeerGorillaCatchesMangling(t *testing.T) {
	is := func(msg []byte, pub, k int) bool {
		_, p, kk, ok := parsePeerText(string(msg))
		return ok && p == pub && kk == int64(k)
	}
	var held atomic.Pointer[[]byte]
	tests := []struct {
		name   string
		mangle func([]byte) [][]byte
		check  func(t *testing.T, rep *Report)
	}{
		{"drop", func(m []byte) [][]byte {
			if is(m, 0, 7) {
				return nil
			}
			return [][]byte{m}
		}, func(t *testing.T, rep *Report) {
			if rep.Lost != 5 { // one message, five subscribers
				t.Errorf("lost %d, want 5", rep.Lost)
			}
		}},
		{"repeat", func(m []byte) [][]byte {
			if is(m, 1, 3) {
				return [][]byte{m, m}
			}
			return [][]byte{m}
		}, func(t *testing.T, rep *Report) {
			if rep.Duplicates != 5 || rep.Lost != 0 {
				t.Errorf("duplicates %d lost %d, want 5 and 0", rep.Duplicates, rep.Lost)
			}
		}},
		{"reorder", func(m []byte) [][]byte {
			switch {
			case is(m, 0, 4):
				c := bytes.Clone(m)
				held.Store(&c)
				return nil
			case is(m, 0, 5):
				return [][]byte{m, *held.Load()}
			}
			return [][]byte{m}
		}, func(t *testing.T, rep *Report) {
			if rep.OutOfOrder != 5 || rep.Lost != 0 {
				t.Errorf("out of order %d lost %d, want 5 and 0", rep.OutOfOrder, rep.Lost)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := peerConfig(startRebroadcaster(t, tt.mangle), protoGorilla)
			cfg.Inflight = 1
			rep, err := RunPeer(context.Background(), cfg)
			if err != nil {
				t.Fatalf("RunPeer: %v", err)
			}
			if rep.OK {
				t.Fatalf("report OK, want a failure: %+v", rep)
			}
			tt.check(t, rep)
		})
	}
}

// fakeCentrifugo speaks enough of Centrifugo's JSON protocol: connect,
// subscribe, publish with an ack; it pings ({}) after each subscribe and
// refuses publishes until the pong ({}) came; replies and pushes share
// frames, separated by '\n'.
type fakeCentrifugo struct {
	pongs atomic.Int64

	mu   sync.Mutex // guards subs
	subs map[*fakeCfConn]bool
}

type fakeCfConn struct {
	mu sync.Mutex // serializes writes
	ws *websocket.Conn
}

func (c *fakeCfConn) send(lines ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ws.WriteMessage(websocket.TextMessage, []byte(strings.Join(lines, "\n")))
}

func (f *fakeCentrifugo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/connection/websocket" {
		http.NotFound(w, r)
		return
	}
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &fakeCfConn{ws: ws}
	defer func() {
		f.mu.Lock()
		delete(f.subs, c)
		f.mu.Unlock()
		ws.Close()
	}()
	ponged := false
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		if string(data) == "{}" {
			ponged = true
			f.pongs.Add(1)
			continue
		}
		var cmd struct {
			ID        uint32          `json:"id"`
			Connect   json.RawMessage `json:"connect"`
			Subscribe json.RawMessage `json:"subscribe"`
			Publish   *struct {
				Channel string          `json:"channel"`
				Data    json.RawMessage `json:"data"`
			} `json:"publish"`
		}
		if err := json.Unmarshal(data, &cmd); err != nil {
			return
		}
		id, _ := json.Marshal(cmd.ID)
		switch {
		case cmd.Connect != nil:
			c.send(`{"id":` + string(id) + `,"connect":{"client":"x","version":"fake"}}`)
		case cmd.Subscribe != nil:
			f.mu.Lock()
			f.subs[c] = true
			f.mu.Unlock()
			c.send(`{"id":`+string(id)+`,"subscribe":{}}`, `{}`) // reply and a ping in one frame
		case cmd.Publish != nil && !ponged:
			c.send(`{"id":` + string(id) + `,"error":{"code":103,"message":"pong first"}}`)
		case cmd.Publish != nil:
			push := `{"push":{"channel":"` + cmd.Publish.Channel + `","pub":{"data":` + string(cmd.Publish.Data) + `,"offset":1}}}`
			f.mu.Lock()
			for s := range f.subs {
				if s == c {
					continue // the publisher's own copy rides with its ack below
				}
				s.send(push)
			}
			f.mu.Unlock()
			c.send(`{"id":`+string(id)+`,"publish":{}}`, push)
		}
	}
}

func TestPeerCentrifugoFramingAndPings(t *testing.T) {
	fake := &fakeCentrifugo{subs: make(map[*fakeCfConn]bool)}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cfg := peerConfig(srv.URL, protoCentrifugo)
	rep, err := RunPeer(context.Background(), cfg)
	if err != nil {
		t.Fatalf("RunPeer: %v", err)
	}
	if !rep.OK {
		t.Fatalf("report not OK: %v (errors %v)", rep.Failures, rep.Errors)
	}
	if got, want := rep.Acked, int64(cfg.Senders*cfg.Messages); got != want {
		t.Errorf("acked %d, want %d", got, want)
	}
	if got, want := rep.Received, rep.Acked*int64(cfg.Users); got != want || rep.Expected != want {
		t.Errorf("received %d expected %d, want acked x users = %d", got, rep.Expected, want)
	}
	if rep.AckLatency.Count != uint64(rep.Acked) {
		t.Errorf("ack samples %d, want %d", rep.AckLatency.Count, rep.Acked)
	}
	if got := fake.pongs.Load(); got != int64(cfg.Users) {
		t.Errorf("pongs %d, want one per connection (%d)", got, cfg.Users)
	}
}

func TestIdleReportsConnectsAndMemory(t *testing.T) {
	fake := &fakeCentrifugo{subs: make(map[*fakeCfConn]bool)}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	for _, proto := range []string{protoGorilla, protoCentrifugo} {
		url := srv.URL
		if proto == protoGorilla {
			url = startRebroadcaster(t, nil)
		}
		cfg := Config{URL: url, Proto: proto, Idle: true, Users: 20, Hold: 50 * time.Millisecond, ServerPID: os.Getpid(), Timeout: 30 * time.Second}
		rep, err := RunIdle(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s: RunIdle: %v", proto, err)
		}
		if !rep.OK || rep.ConnectsPerS <= 0 || rep.RSSAfterKiB <= 0 || rep.Users != 20 {
			t.Errorf("%s: idle report %+v", proto, rep)
		}
	}
}

func TestIdleChatd(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 0}})
	srv.WaitReady(t)
	cfg := Config{URL: srv.URL, Idle: true, Users: 12, Accounts: 3, Rooms: 2, Timeout: 30 * time.Second}
	rep, err := RunIdle(context.Background(), cfg)
	if err != nil {
		t.Fatalf("RunIdle: %v", err)
	}
	if !rep.OK || rep.Accounts != 3 || rep.JoinSeconds <= 0 || rep.ConnectsPerS <= 0 {
		t.Errorf("idle report %+v", rep)
	}
}

// TestBenchMessagesAndSharedAccounts: --messages sends an exact count and
// --accounts spreads connections over fewer users, each connection still
// getting every message.
func TestBenchMessagesAndSharedAccounts(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 0}})
	srv.WaitReady(t)
	cfg := Config{URL: srv.URL, Users: 6, Accounts: 2, Senders: 2, Messages: 25, Inflight: 4, Drain: 5 * time.Second, Timeout: time.Minute}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !rep.OK {
		t.Fatalf("report not OK: %v", rep.Failures)
	}
	if rep.Acked != 50 || rep.Expected != 50*6 || rep.Received != rep.Expected {
		t.Errorf("acked %d expected %d received %d; want 50, 300, 300", rep.Acked, rep.Expected, rep.Received)
	}
}

// TestStormAfterRestart restarts a real chatd on the same data while the
// storm waits, and checks that every client caught up every message.
func TestStormAfterRestart(t *testing.T) {
	dir := t.TempDir()
	srv := chatdtest.Start(t, chatdtest.Options{DataDir: dir, Config: server.Config{RateLimit: 0}})
	srv.WaitReady(t)
	restart := make(chan struct{})
	progress := &signalWriter{match: "restart the server now", ch: restart}
	cfg := Config{URL: srv.URL, Storm: true, Users: 8, Accounts: 4, Messages: 130, Inflight: 8, Concurrency: 8, Drain: 5 * time.Second, Timeout: time.Minute, Progress: progress}
	type result struct {
		rep *StormReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := RunStorm(context.Background(), cfg)
		done <- result{rep, err}
	}()
	select {
	case <-restart:
	case r := <-done:
		t.Fatalf("storm ended before the restart: %v", r.err)
	}
	srv.Close()
	chatdtest.Start(t, chatdtest.Options{DataDir: dir, Addr: srv.Addr, Config: server.Config{RateLimit: 0}})
	r := <-done
	if r.err != nil {
		t.Fatalf("RunStorm: %v", r.err)
	}
	var text bytes.Buffer
	r.rep.WriteText(&text)
	t.Logf("report:\n%s", text.String())
	if !r.rep.OK || r.rep.Fetched != 8*130 || r.rep.HistoryPages != 8*2 {
		t.Errorf("storm report %+v", r.rep)
	}
}

// signalWriter closes ch once a write contains match.
type signalWriter struct {
	match string
	ch    chan struct{}
	once  sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.match) {
		w.once.Do(func() { close(w.ch) })
	}
	return len(p), nil
}

func TestParsePeerText(t *testing.T) {
	now := time.Unix(0, 1234567890123456789)
	text := peerText(now, 3, 42) + "xxxx"
	ns, pub, k, ok := parsePeerText(text)
	if !ok || ns != now.UnixNano() || pub != 3 || k != 42 {
		t.Errorf("parsePeerText(%q) = %d %d %d %v", text, ns, pub, k, ok)
	}
	if sent, ok := sendTime(text); !ok || sent != now.UnixNano() {
		t.Errorf("sendTime(%q) = %d %v; the send time must stay second", text, sent, ok)
	}
	for _, bad := range []string{"", "hello", textMagic + "1 2", textMagic + "x 1 2 ", textMagic + "1 -1 2 ", textMagic + "1 1 0 "} {
		if _, _, _, ok := parsePeerText(bad); ok {
			t.Errorf("parsePeerText(%q) ok, want not", bad)
		}
	}
}

// TestScanNewMessageAgreesWithJSON: the readers' fast path reads what
// encoding/json reads, and leaves what it does not know to it.
func TestScanNewMessageAgreesWithJSON(t *testing.T) {
	msg := func(room string, seq int64, text string) []byte {
		p, _ := json.Marshal(chat.Message{
			Room: room, Seq: seq, ID: "m_1", From: chat.User{ID: "u_1", Username: "text"},
			Text: text, SentAt: time.Now(), ClientMsgID: `"room":"x"`,
		})
		f, _ := json.Marshal(protocol.Envelope{Type: protocol.TypeNewMessage, Payload: p})
		return f
	}
	for _, tt := range []struct {
		frame []byte
		want  delivery
	}{
		{msg("r1", 42, textMagic+"123 x"), delivery{"r1", 42, textMagic + "123 x"}},
		{msg("general", 7, `say "hi" \ "seq":9`), delivery{"general", 7, "say "}},
		{msg("a", 1, "<&>"), delivery{"a", 1, ""}}, // json escapes < as \u003c: cut there
		// A long text: only its start, as far as the checks read.
		{msg("r", 5, textMagic+"1234567890123456789 "+strings.Repeat("x", 200)), delivery{"r", 5, textMagic + "1234567890123456789 "}},
		// Keys in another order than chatd's: found from the start.
		{[]byte(`{"type":"new_message","payload":{"text":"chatbench 5 x","seq":3,"room":"r"}}`), delivery{"r", 3, "chatbench 5 x"}},
	} {
		s, ok := scanNewMessage(tt.frame)
		got := delivery{string(s.room), s.seq, string(s.text)}
		if !ok || got != tt.want {
			t.Errorf("scanNewMessage(%s) = %+v, %v; want %+v", tt.frame, got, ok, tt.want)
		}
		var env inbound
		var full delivery
		json.Unmarshal(tt.frame, &env)
		json.Unmarshal(env.Payload, &full)
		if full.Room != got.Room || full.Seq != got.Seq || !strings.HasPrefix(full.Text, got.Text) {
			t.Errorf("scan %+v disagrees with encoding/json %+v", got, full)
		}
	}
	for _, f := range []string{`{"type":"ack","id":"s1","payload":{}}`, `{"type":"new_message","payload":{"room":"r"}}`, `{"type":"new_message"`} {
		if d, ok := scanNewMessage([]byte(f)); ok {
			t.Errorf("scanNewMessage(%s) = %+v, want fallback", f, d)
		}
	}
}

func TestLeadingInt(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int64
		rest string
		ok   bool
	}{
		{"12 x", 12, " x", true},
		{"0", 0, "", true},
		{"9223372036854775807", math.MaxInt64, "", true},
		{"9223372036854775808", 0, "9223372036854775808", false}, // past MaxInt64
		{"", 0, "", false},
		{"-1", 0, "-1", false},
	} {
		n, rest, ok := leadingInt(tt.in)
		if n != tt.n || rest != tt.rest || ok != tt.ok {
			t.Errorf("leadingInt(%q) = %d %q %v, want %d %q %v", tt.in, n, rest, ok, tt.n, tt.rest, tt.ok)
		}
		if bn, brest, bok := leadingInt([]byte(tt.in)); bn != n || string(brest) != rest || bok != ok {
			t.Errorf("leadingInt([]byte(%q)) differs from the string form", tt.in)
		}
	}
}

// BenchmarkScanNewMessage: the readers' cost per delivery of a chatd
// frame (no allocation).
func BenchmarkScanNewMessage(b *testing.B) {
	p, _ := json.Marshal(chat.Message{
		Room: "cb12345678", Seq: 123456, ID: "m_0123456789abcdefghijklmnop", From: chat.User{ID: "u_0123456789", Username: "cb12345678-0001"},
		Text: textMagic + "1234567890123456789 " + strings.Repeat("x", 34), SentAt: time.Now(),
	})
	frame, _ := json.Marshal(protocol.Envelope{Type: protocol.TypeNewMessage, Payload: p})
	b.ReportAllocs()
	for b.Loop() {
		m, ok := scanNewMessage(frame)
		if !ok || m.seq != 123456 {
			b.Fatal("scan failed")
		}
		if _, ok := sendTime(m.text); !ok {
			b.Fatal("no send time")
		}
	}
}

// TestScanAckAgreesWithJSON: the fast path for send acks reads the id
// and seq that encoding/json reads from the frames chatd writes, and
// leaves anything else to it.
func TestScanAckAgreesWithJSON(t *testing.T) {
	ack := func(id string, m chat.Message) []byte {
		return protocol.AppendMessageAck(nil, id, m.AppendJSON(nil))
	}
	m := chat.Message{
		Room: "cb-r1", Seq: 4711, ID: "m_1", From: chat.User{ID: "u_1", Username: "cb-u1"},
		Text: `"seq":1 \ x`, SentAt: time.Now(), ClientMsgID: `"seq":2`,
	}
	for _, tt := range []struct {
		frame []byte
		id    string
		seq   int64
	}{
		{ack("s17", m), "s17", 4711},
		{ack("s1", chat.Message{Room: "general", Seq: 1, ID: "m_2", SentAt: time.Now()}), "s1", 1},
	} {
		id, seq, ok := scanAck(tt.frame)
		if !ok || string(id) != tt.id || seq != tt.seq {
			t.Errorf("scanAck(%s) = %q, %d, %v; want %q, %d", tt.frame, id, seq, ok, tt.id, tt.seq)
		}
		var env inbound
		var full struct {
			Message struct {
				Seq int64 `json:"seq"`
			} `json:"message"`
		}
		if err := json.Unmarshal(tt.frame, &env); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(env.Payload, &full)
		if env.ID != string(id) || full.Message.Seq != seq {
			t.Errorf("scan %q %d disagrees with encoding/json %q %d", id, seq, env.ID, full.Message.Seq)
		}
	}
	for _, f := range []string{
		`{"type":"ack","id":"q1","payload":{"room":{"name":"r","last_seq":3}}}`, // a join's ack
		`{"type":"ack","id":"s\"1","payload":{"message":{"room":"r","seq":3}}}`,
		`{"type":"ack","id":"s1","payload":{"message":{"seq":3,"room":"r"}}}`,
		`{"type":"ack","id":"s1","payload":{"message":{"room":"r","seq":0}}}`,
		`{"type":"ack","id":"s1","payload":{"message":{"room":"r","seq":3`,
		`{"type":"error","id":"s1","payload":{"code":"internal","message":"x"}}`,
		`{"id":"s1","type":"ack","payload":{"message":{"room":"r","seq":3}}}`,
	} {
		if id, seq, ok := scanAck([]byte(f)); ok {
			t.Errorf("scanAck(%s) = %q, %d, want fallback", f, id, seq)
		}
	}
}

// TestAppendSendFrameMatchesJSON: the bench's send frames are what
// encoding/json made of them before.
func TestAppendSendFrameMatchesJSON(t *testing.T) {
	sent := time.Unix(1700000000, 123456789)
	for _, size := range []int{30, 64, 200} {
		got := appendSendFrame(nil, "s42", "cb-r<7>", sent, size, "0a1b2c", 42)
		text := textMagic + "1700000000123456789 "
		text += strings.Repeat("x", max(0, size-len(text)))
		p, _ := json.Marshal(protocol.SendMessage{Room: "cb-r<7>", Text: text, ClientMsgID: "0a1b2c-42"})
		want, _ := json.Marshal(protocol.Envelope{Type: protocol.TypeSendMessage, ID: "s42", Payload: p})
		if !bytes.Equal(got, want) {
			t.Errorf("size %d:\n got %s\nwant %s", size, got, want)
		}
	}
}

// BenchmarkScanAck: the readers' cost per send ack (no allocation).
func BenchmarkScanAck(b *testing.B) {
	m := chat.Message{
		Room: "cb12345678-r1", Seq: 123456, ID: "m_0123456789abcdefghijklmnop", From: chat.User{ID: "u_0123456789", Username: "cb12345678-0001"},
		Text: textMagic + "1234567890123456789 " + strings.Repeat("x", 34), SentAt: time.Now(), ClientMsgID: "0a1b2c3d4e5f-123",
	}
	frame := protocol.AppendMessageAck(nil, "s123", m.AppendJSON(nil))
	b.ReportAllocs()
	for b.Loop() {
		if _, seq, ok := scanAck(frame); !ok || seq != 123456 {
			b.Fatal("scan failed")
		}
	}
}
