package server

import (
	"testing"
	"time"
)

// TestFlusherWaitsOnlyAfterBusyRounds: the write delay gathers frames
// under fan-out load and adds nothing to a quiet server's writes, nor to a
// busy one whose rounds already take the delay or longer.
func TestFlusherWaitsOnlyAfterBusyRounds(t *testing.T) {
	const ms = time.Millisecond
	f := &flusher{delay: 10 * ms}
	for _, tt := range []struct {
		last int
		took time.Duration
		want time.Duration
	}{
		{0, 0, 0},
		{1, 0, 0},
		{busyRound - 1, 0, 0},
		{busyRound, 0, 10 * ms},
		{1000, 0, 10 * ms},
		{1000, 4 * ms, 6 * ms},
		{1000, 10 * ms, 0},
		{1000, 25 * ms, 0},
	} {
		if got := f.wait(tt.last, tt.took); got != tt.want {
			t.Errorf("after a round of %d connections that took %v: wait %v, want %v", tt.last, tt.took, got, tt.want)
		}
	}
	if got := (&flusher{}).wait(1000, 0); got != 0 {
		t.Errorf("without a delay: wait %v after a busy round, want 0", got)
	}
}
