package server

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
