package server

import (
	"sync"
	"time"
)

// flusher writes the queued bytes of many connections: a small pool of them
// (one per core by default) replaces a writer goroutine per connection. A
// connection with news is put on its flusher's list once, however many
// frames arrive before the flusher gets to it, and the flusher hands each
// connection's frames to the kernel in one write that never blocks. So a
// delivery costs an append, not a wake-up and a syscall, and the busier the
// server, the more frames each write carries (the idea of nats-server's
// flushClients and Centrifugo's write delay).
//
// A connection whose client does not keep up (the kernel took only part of
// a write) leaves the pool: a goroutine of its own finishes that write with
// a deadline and whatever queued behind it, then hands it back.
type flusher struct {
	// qmu is the lock of every connection this flusher writes (their
	// conn.mu points here): a broadcast queues a frame to all of a room's
	// connections of one flusher under one lock, instead of taking a lock
	// per recipient, which cost more than the rest of the queueing (two
	// atomic operations on as many cache lines, a thousand times a message).
	qmu sync.Mutex

	delay time.Duration // after a busy round, gather this long before the next
	wake  chan struct{} // capacity 1: the list has news
	quit  chan struct{}
	done  chan struct{}

	mu      sync.Mutex // guards the following; add takes it under qmu, never the reverse
	list    []*conn
	stopped bool
}

func newFlusher(delay time.Duration) *flusher {
	f := &flusher{delay: delay, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	return f
}

// add schedules c. The caller holds c.mu and has set c.scheduled.
func (f *flusher) add(c *conn) {
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		go c.flush() // the last few connections of a shutdown that ran out of time
		return
	}
	f.list = append(f.list, c)
	first := len(f.list) == 1
	f.mu.Unlock()
	if first {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// busyRound is how many connections a round must have written to for
// the next one to wait f.delay: a server that is fanning out gathers more
// frames per write, and a quiet one (a DM, a small room) adds no latency.
const busyRound = 64

// wait is how long the round after one of n connections gathers.
func (f *flusher) wait(n int) time.Duration {
	if n < busyRound {
		return 0
	}
	return f.delay
}

func (f *flusher) run() {
	defer close(f.done)
	var round []*conn
	last := 0 // connections in the previous round
	for {
		select {
		case <-f.wake:
		case <-f.quit:
			f.mu.Lock()
			f.stopped = true
			round, f.list = f.list, nil
			f.mu.Unlock()
			for _, c := range round {
				c.flush()
			}
			return
		}
		if d := f.wait(last); d > 0 {
			time.Sleep(d)
		}
		f.mu.Lock()
		round, f.list = f.list, round[:0]
		f.mu.Unlock()
		last = len(round)
		for _, c := range round {
			c.flush()
		}
		clear(round) // let closed connections go
	}
}

// stop flushes what is listed and ends the flusher; later adds flush in a
// goroutine of their own.
func (f *flusher) stop() {
	close(f.quit)
	<-f.done
}
