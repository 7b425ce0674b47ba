package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestWSConnFraming: the bench's client reads what a general-purpose
// server writes: several frames per write, a message in fragments larger
// than the read buffer, a ping (answered with a pong carrying its data)
// between them, and the close frame's code; on a goroutine of its own and
// on a poller alike.
func TestWSConnFraming(t *testing.T) {
	for _, readers := range []string{readersGoroutine, readersPoll} {
		t.Run(readers, func(t *testing.T) { testWSConnFraming(t, readers == readersPoll, false) })
	}
	// A host name is dialled through Go's netpoller and then moved to a
	// poller (readPolled).
	t.Run("poll-by-name", func(t *testing.T) { testWSConnFraming(t, true, true) })
}

func testWSConnFraming(t *testing.T, polled, byName bool) {
	big := bytes.Repeat([]byte("0123456789"), 2000) // 20 kB: more than the 4 KiB buffer
	pong := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Bench") != "yes" {
			http.Error(w, "no header", http.StatusForbidden)
			return
		}
		up := websocket.Upgrader{WriteBufferSize: 1024} // gorilla fragments what does not fit
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.SetPongHandler(func(s string) error { pong <- s; return nil })
		go func() { // the reader runs the pong handler
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
		ws.WriteMessage(websocket.TextMessage, []byte("one"))
		ws.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second))
		ws.WriteMessage(websocket.TextMessage, big)
		ws.WriteMessage(websocket.TextMessage, []byte("three"))
		ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "slow"))
		time.Sleep(time.Second)
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	if byName {
		url = strings.Replace(url, "127.0.0.1", "localhost", 1)
	}
	ctx := context.Background()
	if _, err := dialWS(ctx, url, nil, 4096, polled); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("dial without the header: %v, want an error naming HTTP 403", err)
	}
	c, err := dialWS(ctx, url, http.Header{"X-Bench": {"yes"}}, 4096, polled)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// On Linux a polled connection is dialled on the poller, which has
	// read everything above by the time the reader starts.
	onLinuxPoller := polled && !byName && runtime.GOOS == "linux"
	if _, onPoller := c.nc.(*setupConn); onPoller != onLinuxPoller {
		t.Errorf("dialled on a poller: %v, want %v", onPoller, onLinuxPoller)
	}
	var got [][]byte
	ended := make(chan error, 1)
	c.read(polled, func(_ time.Time, m []byte) { got = append(got, bytes.Clone(m)) }, func(err error) { ended <- err })
	select {
	case err = <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the reader did not see the end")
	}
	var ce *closeError
	if !errors.As(err, &ce) || ce.code != websocket.CloseTryAgainLater || closeCodeOf(err) != "1013" {
		t.Errorf("end: %v, want the server's close 1013", err)
	}
	want := [][]byte{[]byte("one"), big, []byte("three")}
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("message %d: %d bytes %.20q..., want %d bytes %.20q...", i, len(got[i]), got[i], len(want[i]), want[i])
		}
	}
	select {
	case s := <-pong:
		if s != "are you there" {
			t.Errorf("pong %q, want the ping's data", s)
		}
	case <-time.After(5 * time.Second):
		t.Error("the ping was not answered")
	}
}

// TestWSConnCloseWhileReading: closing a connection whose reader waits for
// the server ends the reader once, and Close returns (a polled one lets go
// of its descriptor only after the poller has).
func TestWSConnCloseWhileReading(t *testing.T) {
	hold := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.WriteMessage(websocket.TextMessage, []byte("hello"))
		<-hold
	}))
	defer srv.Close()
	defer close(hold)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	for _, readers := range []string{readersGoroutine, readersPoll} {
		t.Run(readers, func(t *testing.T) {
			c, err := dialWS(context.Background(), url, nil, 4096, readers == readersPoll)
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan string, 4)
			ends := make(chan error, 2)
			c.read(readers == readersPoll, func(_ time.Time, m []byte) { got <- string(m) }, func(err error) { ends <- err })
			select {
			case m := <-got:
				if m != "hello" {
					t.Errorf("got %q, want hello", m)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no message")
			}
			closed := make(chan error, 1)
			go func() { closed <- c.Close() }()
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("Close did not return")
			}
			select {
			case <-ends:
			case <-time.After(10 * time.Second):
				t.Fatal("the reader did not end")
			}
			select {
			case err := <-ends:
				t.Errorf("the reader ended twice (%v)", err)
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
}

// TestWSConnWriteTexts: several messages written in one write reach a
// general-purpose server as the same messages, in order.
func TestWSConnWriteTexts(t *testing.T) {
	got := make(chan string, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			_, m, err := ws.ReadMessage()
			if err != nil {
				close(got)
				return
			}
			got <- string(m)
		}
	}))
	defer srv.Close()
	c, err := dialWS(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil, 4096, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"one", strings.Repeat("two", 100), "", "four"}
	var ps [][]byte
	for _, w := range want {
		ps = append(ps, []byte(w))
	}
	if err := c.writeTexts(ps); err != nil {
		t.Fatal(err)
	}
	if err := c.writeTexts(ps[:1]); err != nil {
		t.Fatal(err)
	}
	c.Close()
	want = append(want, "one")
	for i, w := range want {
		select {
		case m, ok := <-got:
			if !ok || m != w {
				t.Fatalf("message %d = %.20q (%v), want %.20q", i, m, ok, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d did not arrive", i)
		}
	}
}
