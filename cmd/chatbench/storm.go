package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/protocol"
)

// stormHistoryLimit is the page size of the catch-up: the protocol's
// largest.
const stormHistoryLimit = 100

// A refused history page is asked for again after stormRetryPause,
// doubling, at most stormHistoryRetries times per client.
const (
	stormRetryPause     = 50 * time.Millisecond
	stormHistoryRetries = 20
)

// StormReport is what a --storm run measured: how long chatd takes, after
// a restart, until every client is back and caught up.
type StormReport struct {
	URL      string `json:"url"`
	Users    int    `json:"users"`
	Accounts int    `json:"accounts"`
	Messages int    `json:"messages"` // sent before the restart: what each client catches up

	RegisterSeconds float64 `json:"register_s"`
	ConnectSeconds  float64 `json:"connect_s"`
	JoinSeconds     float64 `json:"join_s"`

	DownSeconds     float64        `json:"down_s"`         // first lost connection until /readyz answered 200
	WelcomedSeconds float64        `json:"all_welcomed_s"` // from ready until every welcome
	CaughtUpSeconds float64        `json:"all_caught_up_s"`
	CatchUp         LatencySummary `json:"catch_up"` // per client, from ready until caught up
	HistoryPages    int64          `json:"history_pages"`
	Fetched         int64          `json:"messages_fetched"`
	DialRetries     int64          `json:"dial_retries"`
	// BenchCPUSeconds is the bench's own CPU time (user and system) from
	// ready until every client caught up: the other half of the storm's
	// cost on a machine the bench shares with the server.
	BenchCPUSeconds float64 `json:"bench_cpu_s"`
	Gaps            int64   `json:"gaps"` // fetched pages that skipped a seq
	// HistoryErrors counts refused history requests by error code; each
	// was asked again.
	HistoryErrors map[string]int64 `json:"history_errors"`

	ConnErrors map[string]int64 `json:"connection_errors"`
	OK         bool             `json:"ok"`
	Failures   []string         `json:"failures"`
}

func (r *StormReport) result() (bool, []string) { return r.OK, r.Failures }

// WriteText prints the report for people.
func (r *StormReport) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("chatbench %s  reconnect storm", r.URL)
	p("setup       connections %d  accounts %d  messages before restart %d  (register %.1fs connect %.1fs join %.1fs)",
		r.Users, r.Accounts, r.Messages, r.RegisterSeconds, r.ConnectSeconds, r.JoinSeconds)
	p("restart     down %.2fs", r.DownSeconds)
	p("storm       all welcomed %.2fs  all caught up %.2fs  dial retries %d  bench CPU %.2fs", r.WelcomedSeconds, r.CaughtUpSeconds, r.DialRetries, r.BenchCPUSeconds)
	p("catch-up    p50 %.0fms  p90 %.0fms  p99 %.0fms  max %.0fms  pages %d  messages %d  gaps %d",
		r.CatchUp.P50, r.CatchUp.P90, r.CatchUp.P99, r.CatchUp.Max, r.HistoryPages, r.Fetched, r.Gaps)
	p("refusals    history %s", counts(r.HistoryErrors))
	p("connections errors %s", counts(r.ConnErrors))
	if r.OK {
		p("result      OK")
	} else {
		p("result      FAILED: %s", strings.Join(r.Failures, "; "))
	}
}

// RunStorm connects cfg.Users clients and joins them to the rooms, sends
// cfg.Messages messages from the first client, then waits for the server
// to go away (the caller restarts it on the same data directory), polls
// /readyz, and reconnects every client at once (cfg.Concurrency dials in
// parallel). Each client resumes from the seq it had when it joined, as a
// client that was offline during the messages would, so it pages history
// with after_seq up to the last_seq of its welcome. The clock runs from
// the first 200 of /readyz.
func RunStorm(ctx context.Context, cfg Config) (*StormReport, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	b, load := newBench(cfg)
	rep := &StormReport{URL: b.base, Users: cfg.Users, Accounts: cfg.Accounts, Messages: cfg.Messages}
	tokens, err := b.register(ctx, load)
	if err != nil {
		return nil, err
	}
	clients, err := b.connectJoin(ctx, load, tokens)
	defer func() { closeAll(clients) }()
	if err != nil {
		return nil, err
	}
	rep.RegisterSeconds, rep.ConnectSeconds, rep.JoinSeconds = load.RegisterSeconds, load.ConnectSeconds, load.JoinSeconds
	resume := make([]int64, len(clients))
	for i, c := range clients {
		resume[i] = c.cursor.Load()
	}

	// The messages the clients will have to catch up.
	if cfg.Messages > 0 {
		var late atomic.Int64
		clients[0].sendLoop(make(chan struct{}), 0, time.Now(), cfg.Messages, cfg.Size, &late)
		waitFor(ctx, cfg.Drain, func() bool { return clients[0].unacked() == 0 })
		if n := b.acked.Load(); n != int64(cfg.Messages) {
			return nil, fmt.Errorf("storm: %d of %d messages acked before the restart", n, cfg.Messages)
		}
	}

	// The restart: every connection ends, then the server is ready again.
	for _, c := range clients {
		c.closing.Store(true) // the server's going-away is expected
	}
	b.progressf("chatbench: storm: %d clients connected, %d messages sent; restart the server now\n", cfg.Users, cfg.Messages)
	var firstGone time.Time
	for _, c := range clients {
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("storm: waiting for the server to restart: %w", context.Cause(ctx))
		}
		if firstGone.IsZero() {
			firstGone = time.Now()
		}
	}
	closeAll(clients)
	clients = nil
	ready, err := waitReady(ctx, b.base)
	if err != nil {
		return nil, err
	}
	rep.DownSeconds = ready.Sub(firstGone).Seconds()
	b.progressf("chatbench: storm: server ready after %.2fs; reconnecting %d clients\n", rep.DownSeconds, cfg.Users)

	// The storm.
	cpu0 := cpuTime(os.Getpid())
	var catchUp Histogram
	var lastWelcome, lastCaughtUp atomic.Int64
	var pages, fetched, retries, gaps atomic.Int64
	var mu sync.Mutex
	again := make([]*client, cfg.Users)
	err = forEach(ctx, cfg.Users, cfg.Concurrency, func(ctx context.Context, i int) error {
		acct := i % cfg.Accounts
		var c *client
		var err error
		for attempt := range setupAttempts + 2 {
			if attempt > 0 {
				retries.Add(1)
				if !sleepCtx(ctx, setupBackoff<<attempt) {
					return ctx.Err()
				}
			}
			if c, err = dial(ctx, b, b.wsURL, tokens[acct], cfg.userName(acct), b.rooms[i%cfg.Rooms]); err == nil {
				break
			}
		}
		if err != nil {
			return err
		}
		mu.Lock()
		again[i] = c
		mu.Unlock()
		storeMax(&lastWelcome, time.Now().UnixNano())
		after, upTo := resume[i], c.welcomeSeq
		refused := 0
		for after < upTo {
			env, err := c.request(ctx, protocol.TypeHistory, protocol.History{Room: c.room.name, AfterSeq: &after, Limit: stormHistoryLimit})
			if err != nil {
				return err
			}
			if env.Type == protocol.TypeError {
				// A refusal (say "unavailable" while the store is swamped):
				// count it and try again after a pause, as a client would.
				b.errCodes.Add(errorCode(env.Payload))
				if refused++; refused > stormHistoryRetries {
					return fmt.Errorf("%s: history refused %d times: %s", c.user, refused, env.Payload)
				}
				if !sleepCtx(ctx, stormRetryPause<<min(refused, 4)) {
					return ctx.Err()
				}
				continue
			}
			if env.Type != protocol.TypeAck {
				return fmt.Errorf("%s: history: %s %s", c.user, env.Type, env.Payload)
			}
			var page historyPage
			if err := json.Unmarshal(env.Payload, &page); err != nil {
				return fmt.Errorf("%s: history: %w", c.user, err)
			}
			pages.Add(1)
			for _, m := range page.Messages {
				if m.Seq != after+1 {
					gaps.Add(1)
				}
				after = m.Seq
				fetched.Add(1)
			}
			if len(page.Messages) == 0 || !page.HasMore {
				break
			}
		}
		now := time.Now()
		catchUp.Record(now.Sub(ready))
		storeMax(&lastCaughtUp, now.UnixNano())
		return nil
	})
	clients = again
	if cpu1 := cpuTime(os.Getpid()); cpu0 > 0 && cpu1 > cpu0 {
		rep.BenchCPUSeconds = (cpu1 - cpu0).Seconds()
	}
	if err != nil {
		return nil, fmt.Errorf("storm: %w (history refusals: %s)", err, counts(b.errCodes.Snapshot()))
	}
	rep.WelcomedSeconds = time.Unix(0, lastWelcome.Load()).Sub(ready).Seconds()
	rep.CaughtUpSeconds = time.Unix(0, lastCaughtUp.Load()).Sub(ready).Seconds()
	rep.CatchUp = catchUp.Summary()
	rep.HistoryPages, rep.Fetched, rep.DialRetries, rep.Gaps = pages.Load(), fetched.Load(), retries.Load(), gaps.Load()
	rep.ConnErrors = b.connErrs.Snapshot()
	rep.HistoryErrors = b.errCodes.Snapshot()
	if want := int64(cfg.Users) * int64(cfg.Messages); rep.Fetched != want {
		rep.Failures = append(rep.Failures, fmt.Sprintf("caught up %d messages, want %d (users x messages)", rep.Fetched, want))
	}
	if rep.Gaps > 0 {
		rep.Failures = append(rep.Failures, fmt.Sprintf("%d gaps in history", rep.Gaps))
	}
	rep.OK = len(rep.Failures) == 0
	if rep.Failures == nil {
		rep.Failures = []string{}
	}
	return rep, nil
}

// historyPage is the part of a history ack the storm checks: each
// message's seq and whether more follow. Decoding the whole
// protocol.HistoryAck (every message's sender, text and time, the time
// parsed) cost the bench CPU the storm's two cores need, and checks
// nothing more.
type historyPage struct {
	Messages []struct {
		Seq int64 `json:"seq"`
	} `json:"messages"`
	HasMore bool `json:"has_more"`
}

func storeMax(a *atomic.Int64, v int64) {
	for {
		m := a.Load()
		if v <= m || a.CompareAndSwap(m, v) {
			return
		}
	}
}

// waitReady polls base/readyz until it answers 200 and returns when.
func waitReady(ctx context.Context, base string) (time.Time, error) {
	hc := &http.Client{
		Timeout:   time.Second,
		Transport: &http.Transport{Proxy: nil, DialContext: loopbackDialer().DialContext, DisableKeepAlives: true},
	}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return time.Time{}, err
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
		}
		if !sleepCtx(ctx, 10*time.Millisecond) {
			return time.Time{}, fmt.Errorf("storm: waiting for /readyz: %w", context.Cause(ctx))
		}
	}
}
