//go:build linux

package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestDialPolledWaitsForTheConnect: a listener whose accept queue is full
// drops the next SYN, so a dial on the poller finds its socket still
// connecting when it writes the request; it must wait for the kernel's
// retransmitted SYN (about a second) and then upgrade as usual.
func TestDialPolledWaitsForTheConnect(t *testing.T) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil { // a queue of one
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "listener")
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/"
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.WriteMessage(websocket.TextMessage, []byte("hello"))
		ws.ReadMessage() // until the client goes
	})}
	defer srv.Close()

	waits := writeWaits.Load()
	const dials = 4
	var wg sync.WaitGroup
	errs := make(chan error, dials)
	conns := make(chan *wsConn, dials)
	for range dials {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			c, err := dialWS(ctx, url, nil, 4096, true)
			if err != nil {
				errs <- err
				return
			}
			conns <- c
		})
	}
	time.Sleep(300 * time.Millisecond) // the queue fills, later SYNs are dropped
	go srv.Serve(ln)
	wg.Wait()
	close(errs)
	close(conns)
	for err := range errs {
		t.Errorf("dial: %v", err)
	}
	for c := range conns {
		c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if m, err := c.readMessage(); err != nil || !strings.Contains(string(m), "hello") {
			t.Errorf("first message %q, %v; want hello", m, err)
		}
		c.Close()
	}
	if writeWaits.Load() == waits {
		t.Error("no dial waited for its connect: the test did not fill the accept queue")
	}
}
