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
// waits, and a test process's heap is small.
func TestGCFloorSetsTheTarget(t *testing.T) {
	old := debug.SetGCPercent(defaultGCPercent)
	defer debug.SetGCPercent(old)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	gcFloor(ctx) // one look, then ctx is done
	p := debug.SetGCPercent(defaultGCPercent)
	if p <= defaultGCPercent {
		t.Fatalf("target after gcFloor on a small heap: %d%%, want more than %d%%", p, defaultGCPercent)
	}
}
