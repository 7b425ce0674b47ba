package main

import (
	"context"
	"runtime/debug"
	"testing"
)

// goalFor is the runtime's heap goal for live bytes at target p
// (runtime/mgcpacer.go): live grown by p percent, or the floor that grows
// with p, whichever is larger.
func goalFor(live uint64, p int) uint64 {
	return max(live+live*uint64(p)/100, runtimeHeapMinimum*uint64(p)/100)
}

func TestGCPercentFor(t *testing.T) {
	for _, live := range []uint64{0, 100 << 10, 1 << 20, 3 << 20, 6 << 20, 12 << 20} {
		p := gcPercentFor(live)
		goal := goalFor(live, p)
		if goal < live+gcHeadroom*3/4 || goal > live+gcHeadroom*5/4 {
			t.Errorf("live %d: target %d%% gives a goal of %d, want about live + %d", live, p, goal, gcHeadroom)
		}
	}
	// A large heap (19,000 idle connections) keeps the default, so its
	// memory per connection does not change.
	for _, live := range []uint64{16 << 20, 50 << 20, 1 << 30} {
		if p := gcPercentFor(live); p != defaultGCPercent {
			t.Errorf("live %d: target %d%%, want %d%%", live, p, defaultGCPercent)
		}
	}
}

// TestGCFloorSetsTheTarget: gcFloor looks at the live heap before it
// waits, raises a small heap's target and lowers it again for a large one.
func TestGCFloorSetsTheTarget(t *testing.T) {
	old := debug.SetGCPercent(defaultGCPercent)
	defer debug.SetGCPercent(old)
	done, cancel := context.WithCancel(context.Background())
	cancel() // one look each
	for _, c := range []struct {
		live uint64
		want int
	}{
		{1 << 20, gcPercentFor(1 << 20)},
		{200 << 20, defaultGCPercent},
		{2 << 20, gcPercentFor(2 << 20)},
	} {
		gcFloor(done, func() (uint64, bool) { return c.live, true })
		p := debug.SetGCPercent(defaultGCPercent)
		debug.SetGCPercent(p)
		if p != c.want {
			t.Errorf("target after gcFloor with %d live: %d%%, want %d%%", c.live, p, c.want)
		}
	}
	if gcPercentFor(1<<20) <= defaultGCPercent {
		t.Errorf("a 1 MB heap's target is the default")
	}
	if _, ok := liveHeap(); !ok {
		t.Errorf("liveHeap: the runtime does not report the live heap")
	}
}
