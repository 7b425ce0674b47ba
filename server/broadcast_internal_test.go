package server

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"

	"github.com/chatd/chatd/chat"

	"github.com/prometheus/client_golang/prometheus"
)

// TestBroadcastGroupsFollowAttachAndDetach: a room keeps its connections
// in one group per flusher, and a detach moves the group's last connection
// into the leaver's place. After every attach, detach, hide and show, in a
// random order over two flushers with more connections each than a
// broadcast queues to under one hold of the lock, a broadcast reaches
// every attached, shown connection exactly once and no other.
func TestBroadcastGroupsFollowAttachAndDetach(t *testing.T) {
	s := &Server{cfg: Config{QueueFrames: 1 << 20, QueueBytes: 1 << 30},
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.metrics = newMetrics(prometheus.NewRegistry(), s.log)
	flushers := []*flusher{{wake: make(chan struct{}, 1)}, {wake: make(chan struct{}, 1)}}
	r := &room{name: "general", h: &hub{s: s}, conns: make(map[*conn]int)}
	var all []*conn
	for i := range 3 * broadcastChunk {
		f := flushers[i%len(flushers)]
		all = append(all, &conn{s: s, flusher: f, mu: &f.qmu}) // not started: nothing is written
	}
	attached, hidden := map[*conn]bool{}, map[*conn]bool{}
	want := map[*conn]int{} // frames each should have
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 1000 {
		c := all[rng.IntN(len(all))]
		r.mu.Lock()
		switch {
		case attached[c] && rng.IntN(4) == 0:
			if hidden[c] = !hidden[c]; hidden[c] {
				if r.hidden == nil {
					r.hidden = make(map[*conn]chat.Room)
				}
				r.hidden[c] = chat.Room{}
			} else {
				delete(r.hidden, c)
			}
		case attached[c]:
			r.removeConnLocked(c)
			delete(r.hidden, c)
			attached[c], hidden[c] = false, false
		default:
			r.addConnLocked(c)
			attached[c] = true
		}
		r.broadcastLocked([]byte("m"), nil, frameMessage)
		r.mu.Unlock()
		for c := range attached {
			if attached[c] && !hidden[c] {
				want[c]++
			}
		}
		for i, c := range all {
			c.mu.Lock()
			got := c.outFrames
			c.mu.Unlock()
			if got != want[c] {
				t.Fatalf("step %d: connection %d (attached %v, hidden %v) has %d frames, want %d",
					step, i, attached[c], hidden[c], got, want[c])
			}
		}
	}
}
