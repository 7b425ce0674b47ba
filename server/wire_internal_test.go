package server

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// TestUpgradeResponseIsHeld: the upgrader's response stays in the wire
// until the server takes it (to send with the welcome); nothing reaches
// the client before that, and then the client's handshake completes.
func TestUpgradeResponseIsHeld(t *testing.T) {
	type held struct {
		response []byte
		early    error // the client's read before the response was written
	}
	got := make(chan held, 1)
	release := make(chan error, 1) // the client's verdict on its early read
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hw := &hijackWriter{ResponseWriter: w}
		if _, err := upgrader.Upgrade(hw, r, nil); err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer hw.wire.Close()
		p := hw.wire.takeHandshake()
		early := <-release
		got <- held{p, early}
		hw.wire.Conn.Write(append(p, appendFrame(nil, opText, []byte(`{"type":"welcome"}`))...))
		time.Sleep(100 * time.Millisecond)
	}))
	defer srv.Close()

	nc, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	n, err := nc.Read(buf)
	if n > 0 {
		err = errors.New("read " + string(buf[:n]))
	}
	release <- err
	h := <-got
	if !errors.Is(h.early, os.ErrDeadlineExceeded) {
		t.Errorf("before the server wrote: %v, want nothing (a read timeout)", h.early)
	}
	if !bytes.HasPrefix(h.response, []byte("HTTP/1.1 101 ")) || !bytes.Contains(h.response, []byte("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")) {
		t.Fatalf("held response %q, want the 101 with the RFC's accept value", h.response)
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var all []byte
	for !bytes.Contains(all, []byte(`{"type":"welcome"}`)) {
		n, err := nc.Read(buf)
		if err != nil {
			t.Fatalf("after %q: %v", all, err)
		}
		all = append(all, buf[:n]...)
	}
	if !bytes.HasPrefix(all, h.response) {
		t.Errorf("client read %q, want the held response first", all)
	}
}
