package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
)

// listenerServer serves srv's handler on a second port through
// Server.Listener, with an http.Server that records every connection it
// sees; it returns the address and the count of connections net/http got.
func listenerServer(t *testing.T, srv *chatdtest.Server) (addr string, seen func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	hs := &http.Server{
		Handler:           srv.Srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				mu.Lock()
				n++
				mu.Unlock()
			}
		},
	}
	go hs.Serve(srv.Srv.Listener(ln, hs.ReadHeaderTimeout))
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String(), func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// wsRequest is a WebSocket handshake for /ws with the RFC 6455 §1.3 key and
// extra header lines.
func wsRequest(addr, path string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", path, addr)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// rawExchange writes the parts of req with a pause between them and
// returns the response's status line and, for a 101, the first frame's
// payload; otherwise the body. A connection closed without an answer
// gives "".
func rawExchange(t *testing.T, addr string, parts ...string) (status string, rest []byte) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for i, p := range parts {
		if i > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		if _, err := io.WriteString(nc, p); err != nil {
			t.Fatal(err)
		}
	}
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	status, err = br.ReadString('\n')
	if err == io.EOF && status == "" {
		return "", nil // closed without an answer
	}
	if err != nil {
		t.Fatalf("read status: %v", err)
	}
	status = strings.TrimSpace(status)
	if strings.HasPrefix(status, "HTTP/1.1 101 ") {
		for { // the header
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if line == "\r\n" {
				break
			}
		}
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatal(err)
		}
		size := int(h[1])
		if size == 126 {
			var ext [2]byte
			io.ReadFull(br, ext[:])
			size = int(ext[0])<<8 | int(ext[1])
		}
		rest = make([]byte, size)
		if _, err := io.ReadFull(br, rest); err != nil {
			t.Fatal(err)
		}
		return status, rest
	}
	resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(strings.NewReader(status+"\r\n"), br)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rest, _ = io.ReadAll(resp.Body)
	return status, rest
}

// TestListenerUpgradesOutsideNetHTTP: a handshake that passes every check
// is answered, with the welcome, without net/http ever seeing the
// connection (even sent in pieces); anything else on the same port (a
// refused upgrade, another path, another request) is net/http's, answered
// as the handler answers it.
func TestListenerUpgradesOutsideNetHTTP(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	addr, seen := listenerServer(t, srv)
	auth := "Authorization: Bearer " + alice.Token

	req := wsRequest(addr, "/ws?v=1", auth, "Origin: http://"+addr)
	for _, parts := range [][]string{{req}, {"GE", "T /w", req[6:20], req[20:]}} {
		status, welcome := rawExchange(t, addr, parts...)
		if !strings.HasPrefix(status, "HTTP/1.1 101 ") || !bytes.Contains(welcome, []byte(`"type":"welcome"`)) || !bytes.Contains(welcome, []byte(alice.User.ID)) {
			t.Fatalf("sent in %d parts: %q then %.100s, want a 101 and alice's welcome", len(parts), status, welcome)
		}
	}
	if n := seen(); n != 0 {
		t.Fatalf("net/http saw %d connections of the upgrades, want none", n)
	}

	for _, tc := range []struct {
		name   string
		req    string
		status string
		body   string
	}{
		{"no session", wsRequest(addr, "/ws"), "401", `"code":"unauthorized"`},
		{"bad token", wsRequest(addr, "/ws", "Authorization: Bearer nope"), "401", `"code":"unauthorized"`},
		{"foreign origin", wsRequest(addr, "/ws", auth, "Origin: https://evil.example"), "403", `"code":"forbidden"`},
		{"other path", wsRequest(addr, "/wsx", auth), "404", ""},
		{"no version", strings.Replace(wsRequest(addr, "/ws", auth), "Sec-WebSocket-Version: 13\r\n", "", 1), "400", ""},
		// gorilla's upgrader closes such a connection without an answer.
		{"data before the answer", wsRequest(addr, "/ws", auth) + "\x81\x80abcd", "", ""},
		{"health", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "200", `"status":"ok"`},
		{"post", "POST /ws HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "405", ""},
	} {
		before := seen()
		status, body := rawExchange(t, addr, tc.req)
		if (tc.status == "") != (status == "") || tc.status != "" && !strings.HasPrefix(status, "HTTP/1.1 "+tc.status+" ") || !bytes.Contains(body, []byte(tc.body)) {
			t.Errorf("%s: %q %.200s; want %s with %s", tc.name, status, body, tc.status, tc.body)
		}
		if seen() != before+1 {
			t.Errorf("%s: net/http saw %d connections, want 1", tc.name, seen()-before)
		}
	}
}

// TestListenerCloseEndsReads: closing the listener (http.Server's
// Shutdown does) closes a connection whose request is still being read,
// and Accept fails from then on.
func TestListenerCloseEndsReads(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := srv.Srv.Listener(ln, time.Minute)
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: x\r\n") // and no more
	time.Sleep(50 * time.Millisecond)                     // let it be read
	l.Close()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := nc.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("read after Close: %d bytes, %v; want the connection closed", n, err)
	}
	if c, err := l.Accept(); err == nil {
		c.Close()
		t.Fatal("Accept after Close succeeded")
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestListenerHeaderTimeout: a WebSocket request whose header never ends
// is closed, unanswered, once the header timeout has passed, as net/http
// closes one under ReadHeaderTimeout.
func TestListenerHeaderTimeout(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := srv.Srv.Listener(ln, 100*time.Millisecond)
	defer l.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: x\r\n") // and no more
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := nc.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("read: %d bytes, %v; want the connection closed by the server", n, err)
	}
}
