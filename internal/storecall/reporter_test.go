package storecall

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// The batches are reported in the order they were handed over, off the
// caller's goroutine, and Wait and Close wait for what was handed over.
func TestReporterOrderAndWait(t *testing.T) {
	var mu sync.Mutex
	var got []int
	release := make(chan struct{})
	r := NewReporter(2, func(i int) {
		if i == 0 {
			<-release // the first report holds the goroutine
		}
		mu.Lock()
		got = append(got, i)
		mu.Unlock()
	})
	r.Report([]int{0, 1})
	r.Report([]int{2})
	r.Report([]int{3, 4})

	waited := make(chan struct{})
	go func() { r.Wait(); close(waited) }()
	select {
	case <-waited:
		t.Fatal("Wait returned while a batch was still being reported")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return once every batch was reported")
	}
	mu.Lock()
	if want := []int{0, 1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Fatalf("reported %v, want %v", got, want)
	}
	mu.Unlock()

	r.Report([]int{5})
	r.Close()
	mu.Lock()
	defer mu.Unlock()
	if got[len(got)-1] != 5 {
		t.Fatalf("Close returned before the last batch was reported: %v", got)
	}
}
