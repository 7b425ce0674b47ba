package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/server"
)

// TestBenchAgainstServer runs the bench in-process against a real chatd
// (SQLite file, embedded NATS, loopback) and checks that it saw every
// delivery, in order.
func TestBenchAgainstServer(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 0}})
	srv.WaitReady(t)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"as fast as acks allow", Config{Users: 6, Rooms: 2, Inflight: 2}},
		{"paced", Config{Users: 6, Rooms: 2, Senders: 3, Rate: 60}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.URL = srv.URL
			cfg.Duration = time.Second
			cfg.Drain = 5 * time.Second
			cfg.Timeout = time.Minute
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			var text bytes.Buffer
			rep.WriteText(&text)
			t.Logf("report:\n%s", text.String())
			if !rep.OK {
				t.Errorf("report not OK: %v", rep.Failures)
			}
			if rep.Acked == 0 {
				t.Fatal("nothing acked")
			}
			if rep.Received != rep.Expected {
				t.Errorf("deliveries received %d, want expected %d", rep.Received, rep.Expected)
			}
			// Every member of a room gets every message: 3 per room here.
			if want := rep.Acked * 3; rep.Expected != want {
				t.Errorf("expected %d, want acked x members = %d", rep.Expected, want)
			}
			if rep.OrderViolations != 0 || rep.Lost != 0 {
				t.Errorf("violations %d, lost %d; want 0", rep.OrderViolations, rep.Lost)
			}
			if rep.E2ELatency.Count != uint64(rep.Received) {
				t.Errorf("e2e samples %d, want one per delivery (%d)", rep.E2ELatency.Count, rep.Received)
			}
			if rep.AckLatency.Count != uint64(rep.Acked) || rep.AckLatency.P50 <= 0 {
				t.Errorf("ack latency %+v, want %d positive samples", rep.AckLatency, rep.Acked)
			}
			if cfg.Rate > 0 && (rep.Acked < 30 || rep.Acked > 90) {
				t.Errorf("acked %d in 1 s at 60/s", rep.Acked)
			}
			if _, err := json.Marshal(rep); err != nil {
				t.Errorf("report does not marshal: %v", err)
			}
		})
	}
}

// TestRerunSamePrefix: a second run with the same users logs them in and
// still counts its own messages (its client_msg_ids must not collide with
// the first run's, or the server would deduplicate them).
func TestRerunSamePrefix(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 0}})
	srv.WaitReady(t)
	cfg := Config{URL: srv.URL, Users: 3, Prefix: "again", Rate: 30, Duration: 500 * time.Millisecond, Drain: 5 * time.Second, Timeout: time.Minute}
	for i := range 2 {
		rep, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if !rep.OK || rep.Received == 0 || rep.Received != rep.Expected {
			t.Errorf("run %d: ok=%v received %d expected %d failures %v (report %+v)", i, rep.OK, rep.Received, rep.Expected, rep.Failures, rep)
		}
	}
}

// TestOrderCheck feeds one client's reader deliveries directly.
func TestOrderCheck(t *testing.T) {
	b := &bench{}
	r := &roomState{name: "r"}
	c := &client{b: b, room: r, others: map[string]int64{"general": 10}}
	c.cursor.Store(5)
	c.joined.Store(true)
	msg := func(room string, seq int64) json.RawMessage {
		return json.RawMessage(`{"room":"` + room + `","seq":` + strconv.FormatInt(seq, 10) +
			`,"text":"` + textMagic + strconv.FormatInt(time.Now().UnixNano(), 10) + ` x"}`)
	}
	for _, seq := range []int64{6, 7, 9, 8, 10, 10} { // a gap (8), a step back, a repeat
		c.onMessage(time.Now(), msg("r", seq))
	}
	for _, seq := range []int64{11, 13} { // general: a gap
		c.onMessage(time.Now(), msg("general", seq))
	}
	if got, want := b.violation.Load(), int64(4); got != want {
		t.Errorf("violations = %d, want %d", got, want)
	}
	if got, want := b.skipped.Load(), int64(1); got != want {
		t.Errorf("skipped = %d, want %d", got, want)
	}
	if got, want := b.received.Load(), int64(4); got != want { // 6 7 9 10
		t.Errorf("received = %d, want %d", got, want)
	}
	if got, want := c.cursor.Load(), int64(10); got != want {
		t.Errorf("cursor = %d, want %d", got, want)
	}
	if got := b.e2eLat.Count(); got != 4 {
		t.Errorf("e2e samples = %d, want 4", got)
	}
}

func TestCheckLoopbackURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.0.0.1", true},
		{"https://127.1.2.3:443/", true},
		{"http://localhost:8080", true},
		{"http://LocalHost:8080", true},
		{"http://[::1]:8080", true},
		{"http://[::ffff:127.0.0.1]:8080", true},
		{"http://10.0.0.1:8080", false},
		{"http://192.168.1.10:8080", false},
		{"http://0.0.0.0:8080", false},
		{"http://[::]:8080", false},
		{"http://[2001:db8::1]:8080", false},
		{"http://example.com", false},
		{"http://localhost.example.com:8080", false},
		{"http://127.0.0.1.nip.io:8080", false},
		{"http://user:pw@127.0.0.1:8080", false},
		{"ws://127.0.0.1:8080", false},
		{"127.0.0.1:8080", false},
		{"", false},
		{"http://:8080", false},
	}
	for _, tt := range tests {
		err := checkLoopbackURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("checkLoopbackURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
}

func TestLoopbackControl(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:80": true, "[::1]:80": true, "10.1.2.3:80": false, "[2001:db8::1]:80": false,
	} {
		if err := loopbackControl("tcp", addr, nil); (err == nil) != ok {
			t.Errorf("loopbackControl(%s) = %v, want ok=%v", addr, err, ok)
		}
	}
}

func TestRunRefusesRemoteURL(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--url", "http://192.0.2.1:8080", "--users", "1"}, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "not loopback") {
		t.Errorf("run = %d, stderr %q; want 2 and a loopback refusal", code, errOut.String())
	}
}

func TestHistogramSmallValuesExact(t *testing.T) {
	var h Histogram
	if got := h.Quantile(0.5); got != 0 {
		t.Errorf("empty Quantile = %v, want 0", got)
	}
	for v := 1; v <= 100; v++ {
		h.Record(time.Duration(v))
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.01, 1}, {0.5, 50}, {0.6, 60}, {1, 100},
	}
	for _, tt := range tests {
		// Values under 128 ns sit in buckets one nanosecond wide.
		if got := h.Quantile(tt.q); got != tt.want {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := h.Max(); got != 100 {
		t.Errorf("Max = %v, want 100ns", got)
	}
	h.Record(-5) // a clock step
	if got := h.Count(); got != 101 {
		t.Errorf("Count = %d, want 101", got)
	}
}

func TestHistogramQuantilesMatchSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var vals []time.Duration
	for range 100_000 {
		// Log-uniform from 10 µs to 10 s, as latencies spread.
		v := time.Duration(math.Exp(math.Log(1e4) + rng.Float64()*(math.Log(1e10)-math.Log(1e4))))
		vals = append(vals, v)
		h.Record(v)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := h.Quantile(q)
		if rel := math.Abs(float64(got-want)) / float64(want); rel > 1.0/histSub {
			t.Errorf("Quantile(%v) = %v, exact %v: off by %.2f%%", q, got, want, 100*rel)
		}
	}
	if got, want := h.Max(), vals[len(vals)-1]; got != want {
		t.Errorf("Max = %v, want %v", got, want)
	}
}

func TestHistogramBucketsCoverEveryValue(t *testing.T) {
	check := func(v uint64) {
		i := bucketOf(v)
		lo, hi := bucketBounds(i)
		if i < 0 || i >= histBuckets || v < lo || v > hi {
			t.Fatalf("value %d: bucket %d [%d, %d]", v, i, lo, hi)
		}
	}
	for v := range uint64(100_000) {
		check(v)
	}
	for shift := range 63 {
		v := uint64(1) << shift
		check(v - 1)
		check(v)
		check(v + 1)
	}
	check(math.MaxInt64)
	// Adjacent buckets touch: no value falls between two of them.
	for i := 1; i < bucketOf(math.MaxInt64); i++ {
		_, prevHi := bucketBounds(i - 1)
		lo, _ := bucketBounds(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, bucket %d ends at %d", i, lo, i-1, prevHi)
		}
	}
}

// TestCPUTime: the server CPU figure of --idle is read from /proc and
// grows with the work a process does.
func TestCPUTime(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if got := cpuTime(0); got != 0 {
		t.Errorf("cpuTime(0) = %v, want 0", got)
	}
	before := cpuTime(os.Getpid())
	if before <= 0 {
		t.Fatalf("cpuTime(self) = %v, want > 0", before)
	}
	// Spin until the figure moves: on a loaded machine the wall time that
	// takes is anyone's guess, so the bound is generous.
	deadline := time.Now().Add(20 * time.Second)
	for cpuTime(os.Getpid())-before < 50*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("cpuTime grew %v in 20 s of spinning", cpuTime(os.Getpid())-before)
		}
	}
}

// TestCPUMeterPerDelivery: a fan-out run's report divides the CPU time of
// the bench, and of the --server-pid process, spent since startCPU by the
// deliveries; without a server pid only the bench's is filled in.
func TestCPUMeterPerDelivery(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	both, alone := startCPU(os.Getpid()), startCPU(0)
	start := cpuTime(os.Getpid())
	deadline := time.Now().Add(20 * time.Second)
	for cpuTime(os.Getpid())-start < 100*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatal("no CPU time in 20 s of spinning")
		}
	}
	var rep, repAlone Report
	both.report(&rep, 1000)
	alone.report(&repAlone, 1000)
	// 100 ms over 1000 deliveries: about 100 µs each (ticks of 10 ms).
	if rep.BenchCPUPerDelivery < 90 || rep.ServerCPUPerDelivery < 90 {
		t.Errorf("per delivery: bench %.1f µs, server %.1f µs; want about 100 each", rep.BenchCPUPerDelivery, rep.ServerCPUPerDelivery)
	}
	if repAlone.BenchCPUPerDelivery < 90 || repAlone.ServerCPUPerDelivery != 0 {
		t.Errorf("without a server pid: bench %.1f µs, server %.1f µs; want about 100 and 0", repAlone.BenchCPUPerDelivery, repAlone.ServerCPUPerDelivery)
	}
	var none Report
	both.report(&none, 0)
	if none.BenchCPUPerDelivery != 0 {
		t.Errorf("with no delivery: %.1f µs per delivery, want 0 (not measured)", none.BenchCPUPerDelivery)
	}
}

// TestReadersFlag: --readers takes poll (the default) or goroutine.
func TestReadersFlag(t *testing.T) {
	c := Config{URL: "http://127.0.0.1:1"}
	if err := c.check(); err != nil || c.Readers != readersPoll {
		t.Errorf("default: %v, readers %q; want no error and %q", err, c.Readers, readersPoll)
	}
	c = Config{URL: "http://127.0.0.1:1", Readers: "threads"}
	if err := c.check(); err == nil || !strings.Contains(err.Error(), "--readers") {
		t.Errorf("--readers threads: %v, want an error naming --readers", err)
	}
}

// TestCPUMeterPerConnect: an idle run's CPU per connect, for the bench and
// the server, counts from a process's very first tick: a server started
// for the run (gorilla's, Centrifugo's) may have used none when the
// connects begin, and its figure must still be reported.
func TestCPUMeterPerConnect(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	m := startCPU(os.Getpid())
	m.self, m.server = 0, 0 // as a process that had used no tick yet
	deadline := time.Now().Add(20 * time.Second)
	for cpuTime(os.Getpid()) < 50*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatal("no CPU time in 20 s of spinning")
		}
	}
	var rep IdleReport
	m.perConnect(&rep, 1000)
	if rep.BenchCPUPerConnectUS < 45 || rep.ServerCPUPerConnectUS < 45 {
		t.Errorf("per connect from a process's first tick: bench %.1f µs, server %.1f µs; want at least 50 each", rep.BenchCPUPerConnectUS, rep.ServerCPUPerConnectUS)
	}
	var none IdleReport
	startCPU(0).perConnect(&none, 1000)
	if none.ServerCPUPerConnectUS != 0 {
		t.Errorf("without a server pid: server %.1f µs, want 0", none.ServerCPUPerConnectUS)
	}
}

// TestNextDueNow: a sender holds a send back, to write it with the next,
// only when the next is due at once.
func TestNextDueNow(t *testing.T) {
	withFree := func(free int) chan struct{} {
		slots := make(chan struct{}, 4)
		for range 4 - free {
			slots <- struct{}{}
		}
		return slots
	}
	for _, tc := range []struct {
		name     string
		interval time.Duration
		slots    chan struct{}
		limit, k int
		want     bool
	}{
		{"unpaced, a slot free", 0, withFree(1), 0, 7, true},
		{"unpaced, before the limit", 0, withFree(3), 10, 9, true},
		{"the last of the limit", 0, withFree(3), 10, 10, false},
		{"no slot free", 0, withFree(0), 0, 7, false},
		{"paced", time.Millisecond, withFree(3), 0, 7, false},
		{"no acks (gorilla)", 0, nil, 0, 7, false},
	} {
		if got := nextDueNow(tc.interval, tc.slots, tc.limit, tc.k); got != tc.want {
			t.Errorf("%s: nextDueNow = %v, want %v", tc.name, got, tc.want)
		}
	}
}
