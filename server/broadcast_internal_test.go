package server

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestBroadcastGroupsFollowAttachAndDetach: a room keeps its connections
// in one group per flusher, and a detach moves the group's last connection
// into the leaver's place. After every attach and detach, in a random
// order over two flushers, a broadcast reaches every attached connection
// exactly once and no detached one.
func TestBroadcastGroupsFollowAttachAndDetach(t *testing.T) {
	s := &Server{cfg: Config{QueueFrames: 1 << 20, QueueBytes: 1 << 30},
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.metrics = newMetrics(prometheus.NewRegistry(), s.log)
	flushers := []*flusher{{wake: make(chan struct{}, 1)}, {wake: make(chan struct{}, 1)}}
	r := &room{name: "general", h: &hub{s: s}, conns: make(map[*conn]int)}
	var all []*conn
	for i := range 40 {
		f := flushers[i%len(flushers)]
		all = append(all, &conn{s: s, flusher: f, mu: &f.qmu}) // not started: nothing is written
	}
	attached := map[*conn]bool{}
	want := map[*conn]int{} // frames each should have
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 400 {
		c := all[rng.IntN(len(all))]
		r.mu.Lock()
		if attached[c] {
			r.removeConnLocked(c)
		} else {
			r.addConnLocked(c)
		}
		attached[c] = !attached[c]
		r.broadcastLocked([]byte("m"), nil, frameMessage)
		r.mu.Unlock()
		for c := range attached {
			if attached[c] {
				want[c]++
			}
		}
		for i, c := range all {
			c.mu.Lock()
			got := c.outFrames
			c.mu.Unlock()
			if got != want[c] {
				t.Fatalf("step %d: connection %d (attached %v) has %d frames, want %d", step, i, attached[c], got, want[c])
			}
		}
	}
}
