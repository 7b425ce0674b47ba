package main

import (
	"math/bits"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// histSubBits sets the histogram's precision: every power of two is split
// into 2^histSubBits buckets, so a recorded value is off by less than
// 1/2^histSubBits (1.6%) of itself. The bucket count is fixed (about 2,300
// for durations up to hours), so memory does not grow with the run.
const (
	histSubBits  = 6
	histSub      = 1 << histSubBits
	histMaxShift = 64 - histSubBits - 1
	histBuckets  = (histMaxShift + 2) * histSub
)

// Histogram records durations (in nanoseconds) into log-linear buckets. It
// is safe for concurrent use: every client's reader records into the same
// histogram with atomic adds, and nothing is locked on the hot path.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Int64
}

// bucketOf returns the bucket index of v (v >= 0).
func bucketOf(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1 // v>>shift is in [histSub, 2*histSub)
	return (shift+1)*histSub + int(v>>uint(shift)) - histSub
}

// bucketBounds returns the smallest and largest value that fall in bucket i.
func bucketBounds(i int) (lo, hi uint64) {
	if i < histSub {
		return uint64(i), uint64(i)
	}
	shift := uint(i/histSub - 1)
	m := uint64(i%histSub + histSub)
	return m << shift, (m+1)<<shift - 1
}

// Record adds one duration; negative durations (a clock step) count as 0.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(uint64(v))].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Max is the largest recorded value, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile returns the value below or at which a fraction q (0..1] of the
// recorded values lie: the midpoint of the bucket holding the
// ceil(q*n)-th smallest value, capped at the exact maximum. It returns 0
// for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.999999999) // ceil without float surprises at exact ranks
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo, hi := bucketBounds(i)
			v := time.Duration(lo + (hi-lo)/2)
			return min(v, h.Max())
		}
	}
	return h.Max()
}

// LatencySummary is the report's view of one histogram, in milliseconds.
type LatencySummary struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// Summary returns the percentiles the report prints.
func (h *Histogram) Summary() LatencySummary {
	return LatencySummary{
		Count: h.Count(),
		P50:   ms(h.Quantile(0.50)),
		P90:   ms(h.Quantile(0.90)),
		P99:   ms(h.Quantile(0.99)),
		Max:   ms(h.Max()),
	}
}

func ms(d time.Duration) float64 {
	// Three decimals: microsecond resolution is more than the histogram has.
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}

// Counter counts occurrences by key (an error code, a close code).
type Counter struct {
	mu sync.Mutex // guards m
	m  map[string]int64
}

// Add counts one occurrence of key.
func (c *Counter) Add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]int64)
	}
	c.m[key]++
}

// Snapshot returns a copy (never nil, so JSON shows {}).
func (c *Counter) Snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

// Total is the sum of all counts.
func (c *Counter) Total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var t int64
	for _, v := range c.m {
		t += v
	}
	return t
}

// sortedKeys returns m's keys in order, for a stable text report.
func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// tally is what every protocol's bench counts the same way, and the part
// of the report made from it.
type tally struct {
	ackLat   Histogram
	e2eLat   Histogram
	errCodes Counter // error replies to sends, by code
	closes   Counter // unexpected connection ends, by close code
	connErrs Counter // dial, write and protocol failures, by kind

	received   atomic.Int64 // deliveries
	foreign    atomic.Int64 // deliveries that are not this run's
	lastRecv   atomic.Int64 // UnixNano of the latest delivery
	duplicates atomic.Int64
	outOfOrder atomic.Int64
}

// fill sets the report's fields that come from t; start is the first send.
func (t *tally) fill(rep *Report, start time.Time) {
	rep.Errors = t.errCodes.Snapshot()
	rep.Received = t.received.Load()
	rep.Foreign = t.foreign.Load()
	if last := t.lastRecv.Load(); last > 0 {
		rep.DeliveryWindow = time.Unix(0, last).Sub(start).Seconds()
		if rep.DeliveryWindow > 0 {
			rep.DeliveriesPerS = float64(rep.Received) / rep.DeliveryWindow
		}
	}
	rep.AckLatency = t.ackLat.Summary()
	rep.E2ELatency = t.e2eLat.Summary()
	rep.Duplicates = t.duplicates.Load()
	rep.OutOfOrder = t.outOfOrder.Load()
	rep.ConnErrors = t.connErrs.Snapshot()
	rep.Closes = t.closes.Snapshot()
}
