package storecall

import "sync"

// Reporter reports the outcomes of a store's write batches on a goroutine
// of its own, batch after batch in the order they were handed over, so
// that the store's writer goes on with its next batch while the server
// acts on the last one's outcomes (its acks, its deliveries). It holds at
// most queue batches handed over and not yet reported; past that, Report
// waits.
//
// Report and Wait are for one goroutine, the writer's.
type Reporter[T any] struct {
	report  func(T)
	batches chan []T
	pending sync.WaitGroup // batches handed over, not yet reported
	done    chan struct{}
}

// NewReporter starts a Reporter that calls report for each item of each
// batch.
func NewReporter[T any](queue int, report func(T)) *Reporter[T] {
	r := &Reporter[T]{report: report, batches: make(chan []T, queue), done: make(chan struct{})}
	go r.run()
	return r
}

func (r *Reporter[T]) run() {
	defer close(r.done)
	for batch := range r.batches {
		for _, item := range batch {
			r.report(item)
		}
		r.pending.Done()
	}
}

// Report hands batch over to be reported after the batches before it. The
// caller must not touch batch afterwards.
func (r *Reporter[T]) Report(batch []T) {
	r.pending.Add(1)
	r.batches <- batch
}

// Wait returns once every batch handed over so far has been reported.
func (r *Reporter[T]) Wait() { r.pending.Wait() }

// Close reports what has been handed over and stops the Reporter.
func (r *Reporter[T]) Close() {
	close(r.batches)
	<-r.done
}
