package server

import (
	"bytes"
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkBroadcast measures the hub's share of a fan-out: queueing one
// message to a room of 1000 connections, whose flusher takes what they
// have queued every 30 messages (as at the steady load). No socket: the
// writes are the flushers' and are measured over loopback elsewhere.
func BenchmarkBroadcast(b *testing.B) {
	s := &Server{cfg: Config{QueueFrames: DefaultQueueFrames, QueueBytes: DefaultQueueBytes},
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.metrics = newMetrics(prometheus.NewRegistry(), s.log)
	f := &flusher{wake: make(chan struct{}, 1)}
	r := &room{name: "general", h: &hub{s: s}, conns: make(map[*conn]int)}
	var conns []*conn
	for range 1000 {
		c := &conn{s: s, flusher: f, mu: &f.qmu, started: true}
		conns = append(conns, c)
		r.addConnLocked(c)
	}
	data := bytes.Repeat([]byte("x"), 120)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r.mu.Lock()
		r.broadcastLocked(data, nil, frameMessage)
		r.mu.Unlock()
		if i%30 == 29 {
			for _, c := range conns {
				c.mu.Lock()
				c.scheduled = false
				segs, _ := c.takeLocked()
				c.mu.Unlock()
				putSegs(segs)
			}
			f.mu.Lock()
			clear(f.list)
			f.list = f.list[:0]
			f.mu.Unlock()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(conns)), "ns/delivery")
}
