package server_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
	"github.com/gorilla/websocket"
)

// The heartbeat of PROTOCOL §6.

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
