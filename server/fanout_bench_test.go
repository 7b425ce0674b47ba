package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
	"github.com/gorilla/websocket"
)

// BenchmarkFanOut measures the whole path of a message to many local
// connections over loopback: one connection sends b.N messages to general
// (pipelined, as a client that does not wait for acks), the store commits
// them, the bus carries them, and the hub queues each frame to every
// receiver, whose flusher writes it. It ends when every receiver has read
// every message, and reports deliveries per second.
func BenchmarkFanOut(b *testing.B) {
	for _, receivers := range []int{100, 1000} {
		b.Run(fmt.Sprintf("receivers=%d", receivers), func(b *testing.B) { benchFanOut(b, receivers) })
	}
}

func benchFanOut(b *testing.B, receivers int) {
	srv := chatdtest.Start(b, chatdtest.Options{Config: server.Config{
		RateLimit: 0, PingInterval: time.Minute, PongWait: 2 * time.Minute,
		PresenceLimit: 1, // no presence storm while the receivers connect
	}})
	// Receivers share a few accounts: registering hashes a password.
	var accounts []chatdtest.Account
	for i := range 10 {
		accounts = append(accounts, srv.Register(b, fmt.Sprintf("reader%d", i)))
	}
	marker := []byte(`"type":"new_message"`)
	var (
		got  = make([]atomic.Int64, receivers)
		want atomic.Int64
		done = make(chan struct{}, receivers)
		wg   sync.WaitGroup
	)
	want.Store(-1)
	dialer := &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	for i := range receivers {
		ws := dialRaw(b, srv, accounts[i%len(accounts)].Token, dialer)
		if _, _, err := ws.ReadMessage(); err != nil { // welcome
			b.Fatal(err)
		}
		wg.Go(func() {
			for {
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				if bytes.Contains(data, marker) && got[i].Add(1) == want.Load() {
					done <- struct{}{}
				}
			}
		})
	}
	sender := dialRaw(b, srv, srv.Register(b, "sender").Token, dialer)
	if _, _, err := sender.ReadMessage(); err != nil {
		b.Fatal(err)
	}
	go func() { // acks and the sender's own deliveries
		for {
			if _, _, err := sender.ReadMessage(); err != nil {
				return
			}
		}
	}()
	frame, _ := json.Marshal(protocol.Envelope{Type: protocol.TypeSendMessage,
		Payload: json.RawMessage(`{"room":"general","text":"a message of about sixty-four bytes for the fan-out benchmark"}`)})

	b.ReportAllocs()
	b.ResetTimer()
	want.Store(int64(b.N))
	start := time.Now()
	for range b.N {
		if err := sender.WriteMessage(websocket.TextMessage, frame); err != nil {
			b.Fatal(err)
		}
	}
	timeout := time.After(time.Minute)
	for range receivers {
		select {
		case <-done:
		case <-timeout:
			b.Fatalf("receivers did not get all %d messages within a minute", b.N)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(receivers)*float64(b.N)/elapsed.Seconds(), "deliveries/s")
	srv.Stop()
	wg.Wait()
}
