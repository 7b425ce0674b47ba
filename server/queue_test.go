package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// serverSideWS returns the server end of a real WebSocket over loopback,
// for the parts of a conn that act on the socket (the 1013 close extends
// its deadlines).
func serverSideWS(t *testing.T) *websocket.Conn {
	t.Helper()
	got := make(chan *websocket.Conn, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		got <- ws
	}))
	t.Cleanup(hs.Close)
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	ws := <-got
	t.Cleanup(func() { ws.Close() })
	return ws
}

// TestQueuePolicy: while a client is behind (its socket full), messages
// fill the queue to its bound and then close the connection with 1013;
// presence and typing stop at half the bound and are dropped, never
// closing anything. Frames that only wait for the flusher's turn are held
// to the byte bound alone.
func TestQueuePolicy(t *testing.T) {
	s := &Server{cfg: Config{QueueFrames: 4, QueueBytes: 1 << 20}, metrics: newMetrics(prometheus.NewRegistry(), slog.Default())}
	newTestConn := func() *conn {
		ws := serverSideWS(t)
		return &conn{s: s, mu: new(sync.Mutex), wire: newWire(ws.NetConn())} // not started: nothing is written
	}
	queue := func(c *conn, frame []byte, kind frameKind) {
		c.mu.Lock()
		c.queueFrameLocked(frame, kind)
		c.mu.Unlock()
	}
	c := newTestConn()
	c.stalled = true
	msg := []byte("m")
	eph := []byte("p")

	for range 10 {
		queue(c, eph, frameEphemeral)
	}
	if c.outFrames != 2 || c.closing {
		t.Fatalf("after a burst of presence: %d queued, closing=%v; want 2 queued, open", c.outFrames, c.closing)
	}
	queue(c, msg, frameMessage)
	queue(c, msg, frameMessage)
	if c.outFrames != 4 || c.closing {
		t.Fatalf("messages after presence: %d queued, closing=%v; want 4, open", c.outFrames, c.closing)
	}
	if got := string(bytes.Join(c.out, nil)); got != "ppmm" {
		t.Fatalf("queued bytes %q, want the frames in order", got)
	}
	queue(c, eph, frameEphemeral)
	if c.closing {
		t.Fatal("a presence frame on a full queue closed the connection")
	}
	queue(c, msg, frameMessage)
	if !c.closing || c.closeCode != websocket.CloseTryAgainLater || c.outFrames != 0 || len(c.out) != 0 {
		t.Fatalf("a message on a full queue: closing=%v code=%d queued=%d; want closing with 1013 and the queue dropped",
			c.closing, c.closeCode, c.outFrames)
	}

	// A client that keeps up is not cut off by a burst of frames that
	// arrived before its flusher's turn.
	c = newTestConn()
	for range 3 * s.cfg.QueueFrames {
		queue(c, msg, frameMessage)
	}
	if c.closing || c.outFrames != 3*s.cfg.QueueFrames {
		t.Fatalf("a burst for a client that is not behind: closing=%v, %d queued; want all %d queued",
			c.closing, c.outFrames, 3*s.cfg.QueueFrames)
	}

	// The byte bound works alike, stalled or not.
	s.cfg = Config{QueueFrames: 100, QueueBytes: 10}
	c = newTestConn()
	queue(c, make([]byte, 4), frameEphemeral)
	queue(c, make([]byte, 4), frameEphemeral) // 8 bytes > half of 10: dropped
	if c.outFrames != 1 {
		t.Fatalf("byte bound for presence: %d queued, want 1", c.outFrames)
	}
	queue(c, make([]byte, 7), frameMessage)
	if !c.closing {
		t.Fatal("11 bytes in a 10-byte queue did not close it")
	}
}
