package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// gcHeadroom is the least the heap may grow past its live bytes before the
// collector runs again. With defaultGCPercent alone the goal of a small
// heap is its live bytes and half again, or the runtime's 2 MB floor: a
// server sending durable messages to a few hundred connections (1 MB
// live) collected about 24 times a second, and the collector was a
// tenth of chatd's CPU per message (docs/benchmarks.md, "Durable sends,
// eighth pass"). A large heap (19,000 idle connections, ~50 MB live) is
// past the point where defaultGCPercent gives more than this, so its
// memory per connection does not change.
const gcHeadroom = 8 << 20

// gcRetune is how often gcFloor looks at the live heap.
const gcRetune = time.Second

// gcPercentFor is the collector's target for a live heap of live bytes:
// defaultGCPercent, or more for a small heap, so that its goal is about
// live + gcHeadroom. The runtime's floor under the goal (4 MB at a
// target of 100) grows with the target, so the target is also kept where
// that floor stays under live + gcHeadroom.
func gcPercentFor(live uint64) int {
	live = max(live, 1)
	p := min((gcHeadroom*100+live-1)/live, (live+gcHeadroom)*100/runtimeHeapMinimum)
	return max(defaultGCPercent, int(p))
}

// runtimeHeapMinimum is the runtime's least heap goal at a target of 100
// (runtime/mgcpacer.go, defaultHeapMinimum).
const runtimeHeapMinimum = 4 << 20

// gcFloor keeps the collector's target at gcPercentFor the live heap
// that live reports, looking every gcRetune (and at once), until ctx
// ends. It is for when GOGC does not say otherwise.
func gcFloor(ctx context.Context, live func() (uint64, bool)) {
	set := -1 // no target set yet: the first look sets one
	t := time.NewTicker(gcRetune)
	defer t.Stop()
	for {
		if n, ok := live(); ok {
			if p := gcPercentFor(n); p != set {
				debug.SetGCPercent(p)
				set = p
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// liveHeap is the heap's live bytes as of the last collection.
func liveHeap() (uint64, bool) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0, false
	}
	return sample[0].Value.Uint64(), true
}
