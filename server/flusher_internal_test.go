package server

import (
	"testing"
	"time"
)

// TestFlusherWaitsOnlyAfterBusyRounds: the write delay gathers frames
// under fan-out load and adds nothing to a quiet server's writes.
func TestFlusherWaitsOnlyAfterBusyRounds(t *testing.T) {
	f := &flusher{delay: 10 * time.Millisecond}
	for _, tt := range []struct {
		last int
		want time.Duration
	}{
		{0, 0},
		{1, 0},
		{busyRound - 1, 0},
		{busyRound, 10 * time.Millisecond},
		{1000, 10 * time.Millisecond},
	} {
		if got := f.wait(tt.last); got != tt.want {
			t.Errorf("after a round of %d connections: wait %v, want %v", tt.last, got, tt.want)
		}
	}
	if got := (&flusher{}).wait(1000); got != 0 {
		t.Errorf("without a delay: wait %v after a busy round, want 0", got)
	}
}
