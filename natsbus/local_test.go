package natsbus

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// serverMsgs is how many messages the bus's embedded server has taken in.
func serverMsgs(tb testing.TB, b *Bus) int64 {
	tb.Helper()
	vz, err := b.ns.Varz(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return vz.InMsgs
}

// TestLocalBusSkipsTheServer: an embedded bus with no cluster delivers
// straight to its subscriptions, and its server sees none of the events;
// an embedded bus that accepts routes (another node may subscribe) sends
// every event through its server.
func TestLocalBusSkipsTheServer(t *testing.T) {
	for _, tt := range []struct {
		name    string
		opts    Options
		through bool // the events go through the server
	}{
		{"alone", Options{}, false},
		{"cluster", Options{ClusterListen: "127.0.0.1:0"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBus(t, tt.opts)
			ch := collect(t, b, "room:x")
			before := serverMsgs(t, b)
			for i := range 10 {
				if err := b.Publish("room:x", fmt.Appendf(nil, "%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 10 {
				if got, want := string(recv(t, ch)), fmt.Sprint(i); got != want {
					t.Fatalf("event %d = %q, want %q", i, got, want)
				}
			}
			// The server counts a client's messages after it has routed
			// them: through it, the count may trail the deliveries a while.
			n := serverMsgs(t, b) - before
			for deadline := time.Now().Add(2 * time.Second); tt.through && n < 10 && time.Now().Before(deadline); n = serverMsgs(t, b) - before {
				time.Sleep(time.Millisecond)
			}
			if (n >= 10) != tt.through {
				t.Errorf("the server took in %d messages; through it: %v, want %v", n, n >= 10, tt.through)
			}
		})
	}
}

// TestLocalBusOneOrderExactlyOnce: publishers on one topic at once, two
// subscribers; each subscriber gets every event exactly once, each
// publisher's in the order it published them, and both subscribers in the
// same order (the order of the Publish calls, as through one NATS
// connection).
func TestLocalBusOneOrderExactlyOnce(t *testing.T) {
	b := newBus(t, Options{})
	const publishers, each = 8, 2000
	subs := [2]chan []byte{make(chan []byte, 2*publishers*each), make(chan []byte, 2*publishers*each)} // room for duplicates: a handler never blocks
	for _, ch := range subs {
		sub, err := b.Subscribe("room:x", func(d []byte) { ch <- d })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sub.Unsubscribe() })
	}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				if err := b.Publish("room:x", fmt.Appendf(nil, "%d.%d", p, i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var orders [2][]string
	for s, ch := range subs {
		next := make([]int, publishers)
		for range publishers * each {
			d := recv(t, ch)
			pub, i, ok := strings.Cut(string(d), ".")
			p, err1 := strconv.Atoi(pub)
			n, err2 := strconv.Atoi(i)
			if d == nil || !ok || err1 != nil || err2 != nil {
				t.Fatalf("subscriber %d got %q", s, d)
			}
			if n != next[p] {
				t.Fatalf("subscriber %d got %d.%d, want %d.%d: reordered or duplicated", s, p, n, p, next[p])
			}
			next[p]++
			orders[s] = append(orders[s], string(d))
		}
		select {
		case d := <-ch:
			t.Fatalf("subscriber %d got %q beyond every event", s, d)
		case <-time.After(50 * time.Millisecond):
		}
	}
	for i := range orders[0] {
		if orders[0][i] != orders[1][i] {
			t.Fatalf("event %d: the subscribers got %s and %s: two orders", i, orders[0][i], orders[1][i])
		}
	}
}

// TestLocalBusOverflowSignalsLoss: a subscription whose handler is stuck
// keeps NATS's pending limit; what comes beyond it is dropped, and the
// handler, once free, gets what was queued, then the loss signal, then
// what is published afterwards.
func TestLocalBusOverflowSignalsLoss(t *testing.T) {
	defer func(n int) { pendingMsgs = n }(pendingMsgs)
	pendingMsgs = 1000
	b := newBus(t, Options{})
	stuck := make(chan struct{})
	var mu sync.Mutex
	var got [][]byte
	sub, err := b.Subscribe("room:x", func(d []byte) {
		if string(d) == "first" {
			<-stuck
		}
		mu.Lock()
		got = append(got, d)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	taken := func() { // waits until the handler has taken what is queued
		for {
			b.mu.Lock()
			n := len(sub.(*subscription).q.events)
			b.mu.Unlock()
			if n == 0 {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	b.Publish("room:x", []byte("first"))
	taken()
	event := []byte("e")
	for range pendingMsgs + 10 {
		b.Publish("room:x", event)
	}
	close(stuck)
	taken()
	b.Publish("room:x", []byte("after"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= pendingMsgs+3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	// first, the pendingMsgs events queued, the loss signal, after
	if len(got) != pendingMsgs+3 {
		t.Fatalf("the handler got %d events, want %d", len(got), pendingMsgs+3)
	}
	if string(got[0]) != "first" || got[pendingMsgs+1] != nil || string(got[pendingMsgs+2]) != "after" {
		t.Fatalf("the handler got %q, ..., %q, %q; want first, ..., the nil loss signal, after",
			got[0], got[pendingMsgs+1], got[pendingMsgs+2])
	}
	for _, d := range got[1 : pendingMsgs+1] {
		if string(d) != "e" {
			t.Fatalf("a queued event arrived as %q", d)
		}
	}
}

// TestLocalBusClosed: a closed local bus takes no more events.
func TestLocalBusClosed(t *testing.T) {
	b := newBus(t, Options{})
	b.Close()
	if err := b.Publish("room:x", []byte("x")); err == nil {
		t.Error("Publish on a closed bus succeeded")
	}
	if _, err := b.Subscribe("room:x", func([]byte) {}); err == nil {
		t.Error("Subscribe on a closed bus succeeded")
	}
}

// BenchmarkLocalPublish: one publisher, one subscriber of the topic that
// does nothing with what it gets; the cost of the bus itself per event.
func BenchmarkLocalPublish(b *testing.B) {
	bus := newBus(b, Options{})
	var wg sync.WaitGroup
	wg.Add(b.N)
	sub, err := bus.Subscribe("room:x", func([]byte) { wg.Done() })
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Unsubscribe()
	data := []byte(`{"k":"msg","r":"general","s":1,"f":{}}`)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		bus.Publish("room:x", data)
	}
	wg.Wait()
}
