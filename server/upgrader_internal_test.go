package server

import (
	"net"
	"testing"
	"time"
)

// TestUpgradersAreReused: connections that come one after another are
// served by the upgrader that served the one before (it waits for the next
// instead of ending, keeping its grown stack), and Close ends the waiting
// ones. Plain HTTP requests, which the listener hands to net/http
// (Accept), take the same path through an upgrader as a WebSocket's.
func TestUpgradersAreReused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := (&Server{}).Listener(ln, 5*time.Second).(*wsListener)
	defer l.Close()
	waitIdle := func(want func(int32) bool) int32 {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for n := l.idle.Load(); ; n = l.idle.Load() {
			if want(n) || time.Now().After(deadline) {
				return n
			}
			time.Sleep(time.Millisecond)
		}
	}
	const conns = 20
	for range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		got, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		got.Close()
		c.Close()
		waitIdle(func(n int32) bool { return n >= 1 })
		time.Sleep(2 * time.Millisecond) // from counting itself idle to waiting
	}
	// One upgrader served them all; a connection that came while it was
	// between counting itself idle and waiting may have started another.
	if n := l.idle.Load(); n > 2 {
		t.Fatalf("%d connections one after another left %d upgraders waiting, want 1", conns, n)
	}
	l.Close()
	if n := waitIdle(func(n int32) bool { return n == 0 }); n != 0 {
		t.Fatalf("%d upgraders still waiting after Close", n)
	}
}
