package server

import "sync"

// HoldHistoryReads takes every slot for history reads, so that history
// requests wait (and those for the same page share one read) until
// release is called.
func HoldHistoryReads(s *Server) (release func()) {
	n := cap(s.pages.slots)
	for range n {
		s.pages.slots <- struct{}{}
	}
	return func() {
		for range n {
			<-s.pages.slots
		}
	}
}

// HistoryRequestsWaiting counts the history requests waiting for a read
// that has not started: each read's own and those that joined it.
func HistoryRequestsWaiting(s *Server) int {
	s.pages.mu.Lock()
	defer s.pages.mu.Unlock()
	n := 0
	for _, r := range s.pages.open {
		n += 1 + r.joined
	}
	return n
}

// PauseAfterWelcome makes every connection, once its welcome is written
// and before its reading starts, wait until release is called; paused
// receives once for each connection that reached the pause.
func PauseAfterWelcome(s *Server) (paused <-chan struct{}, release func()) {
	reached := make(chan struct{}, 16)
	gate := make(chan struct{})
	f := func() {
		reached <- struct{}{}
		<-gate
	}
	s.hub.welcomed.Store(&f)
	return reached, sync.OnceFunc(func() { close(gate) })
}

// Draining reports whether every connection of s has been told to drain
// (Shutdown has begun for all of them).
func Draining(s *Server) bool {
	s.hub.mu.Lock()
	conns := make([]*conn, 0, len(s.hub.conns))
	for c := range s.hub.conns {
		conns = append(conns, c)
	}
	s.hub.mu.Unlock()
	for _, c := range conns {
		if !c.isDraining() {
			return false
		}
	}
	return len(conns) > 0
}
