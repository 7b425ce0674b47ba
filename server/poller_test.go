package server_test

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
	"github.com/gorilla/websocket"
)

// TestIdleConnectionsHaveNoGoroutine: with the poller, an idle connection
// costs no goroutine (and so no stack); with ReadGoroutines each has one.
// Both kinds serve requests, pings and closes alike.
func TestIdleConnectionsHaveNoGoroutine(t *testing.T) {
	const conns = 100
	for _, tc := range []struct {
		name           string
		readGoroutines bool
	}{{"poller", false}, {"goroutines", true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{
				RateLimit: 0, ReadGoroutines: tc.readGoroutines,
				// Raw clients that do not read cannot answer pings.
				PingInterval: time.Minute, PongWait: 2 * time.Minute,
			}})
			token := srv.Register(t, "idler").Token
			settle := func() int { return steadyGoroutines() }
			before := settle()
			for range conns {
				ws := dialRaw(t, srv, token, nil) // no client-side reader goroutine
				if _, _, err := ws.ReadMessage(); err != nil {
					t.Fatal(err)
				}
			}
			grown := settle() - before
			if tc.readGoroutines && grown < conns*9/10 {
				t.Fatalf("%d idle connections with ReadGoroutines added %d goroutines, want one each", conns, grown)
			}
			if !tc.readGoroutines && grown > conns/10 {
				t.Fatalf("%d idle connections added %d goroutines, want (nearly) none", conns, grown)
			}
			t.Logf("%d idle connections: %d more goroutines", conns, grown)

			// A connection of the same kind serves requests and messages.
			c := srv.Dial(t, token)
			c.Welcome()
			var ack protocol.MessageAck
			c.Ack(protocol.TypeSendMessage, protocol.SendMessage{Room: "general", Text: "still here"}, &ack)
			if ack.Message.Seq != 1 {
				t.Fatalf("ack %+v", ack)
			}
			c.Expect(protocol.TypeNewMessage, nil)
		})
	}
}

// TestPongsLeaveNoGoroutine: a connection whose client only answers pings
// is read for each pong and handed back to the poller, not left with a
// goroutine waiting for its next frame.
func TestPongsLeaveNoGoroutine(t *testing.T) {
	const conns = 50
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{
		RateLimit: 0, PingInterval: 50 * time.Millisecond, PongWait: 5 * time.Second,
	}})
	token := srv.Register(t, "ponger").Token
	settle := func() int { return steadyGoroutines() }
	before := settle()
	var pongs atomic.Int64
	for range conns {
		ws := dialRaw(t, srv, token, nil)
		ws.SetPingHandler(func(data string) error {
			pongs.Add(1)
			return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		go func() { // the client's reader answers pings
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond) // about ten pings each
	grown := settle() - before
	if pongs.Load() < conns*3 {
		t.Fatalf("only %d pongs from %d connections", pongs.Load(), conns)
	}
	// One goroutine per client (its reader); the server's side adds none
	// per connection.
	if grown > conns+conns/5 {
		t.Fatalf("%d connections answering pings: %d more goroutines, want about %d (the clients' own)", conns, grown, conns)
	}
	t.Logf("%d connections, %d pongs: %d more goroutines", conns, pongs.Load(), grown)
}

// steadyGoroutines counts goroutines over half a second and returns the
// fewest seen: goroutines of work in progress (a pong being read, a
// cleanup ending) come and go, the ones a connection keeps stay.
func steadyGoroutines() int {
	n := runtime.NumGoroutine()
	for range 25 {
		time.Sleep(20 * time.Millisecond)
		n = min(n, runtime.NumGoroutine())
	}
	return n
}
