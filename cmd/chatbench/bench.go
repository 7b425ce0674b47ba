package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Retry bounds for setup requests.
const (
	setupAttempts = 4
	setupBackoff  = 250 * time.Millisecond

	maxJoinsInFlight = 256
	maxRetryAfter    = 15 * time.Second
)

// Run executes one bench run against cfg.URL (already checked) and returns
// its report. An error means the run could not be carried out (setup
// failed, the hard timeout passed); the report then holds what was
// measured so far, or is nil when nothing was.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	b, rep := newBench(cfg)
	clients, err := b.setup(ctx, rep)
	defer closeAll(clients)
	if err != nil {
		return nil, err
	}
	for _, c := range clients {
		c.room.members++
	}
	b.progressf("chatbench: %d connections in %d rooms (connect %.1fs, join %.1fs); %s\n",
		cfg.Users, cfg.Rooms, rep.ConnectSeconds, rep.JoinSeconds, sendingWhat(cfg))

	// Send.
	stop := make(chan struct{})
	var late atomic.Int64
	var senders sync.WaitGroup
	interval := sendInterval(cfg)
	cpu := startCPU(cfg.ServerPID)
	start := time.Now()
	for i := range cfg.Senders {
		c := clients[i]
		// Stagger the senders over one period so the aggregate is smooth.
		first := start.Add(time.Duration(i) * interval / time.Duration(cfg.Senders))
		senders.Go(func() { c.sendLoop(stop, interval, first, cfg.Messages, cfg.Size, &late) })
	}
	timedOut := waitSenders(ctx, cfg, stop, &senders)
	sendEnd := time.Now()

	// Drain: first the acks, then the deliveries of everything acked.
	waitFor(ctx, cfg.Drain, func() bool {
		for _, c := range clients {
			if c.unacked() > 0 && !isDone(c) {
				return false
			}
		}
		return true
	})
	waitFor(ctx, cfg.Drain, func() bool {
		for _, c := range clients {
			if c.cursor.Load() < c.room.maxAcked.Load() && !isDone(c) {
				return false
			}
		}
		return true
	})
	if ctx.Err() != nil {
		timedOut = true
	}

	// Report.
	rep.Sent = b.sent.Load()
	rep.Acked = b.acked.Load()
	rep.LateSends = late.Load()
	rep.AckedPerSec = float64(rep.Acked) / sendEnd.Sub(start).Seconds()
	for _, c := range clients {
		rep.Unanswered += int64(c.unacked())
		if gap := c.room.maxAcked.Load() - c.cursor.Load(); gap > 0 {
			rep.Lost += gap
		}
	}
	for _, r := range b.rooms {
		rep.Expected += r.acked.Load() * r.members
	}
	b.fill(rep, start)
	cpu.report(rep, rep.Received)
	rep.Lost += b.skipped.Load()
	rep.OrderViolations = b.violation.Load()

	fail := func(format string, args ...any) { rep.Failures = append(rep.Failures, fmt.Sprintf(format, args...)) }
	if rep.OrderViolations > 0 {
		fail("%d ordering violations", rep.OrderViolations)
	}
	if rep.Lost > 0 {
		fail("%d deliveries lost", rep.Lost)
	}
	if rep.Received < rep.Expected {
		fail("%d deliveries received, %d expected", rep.Received, rep.Expected)
	}
	if rep.Unanswered > 0 {
		fail("%d messages unanswered after %v", rep.Unanswered, cfg.Drain)
	}
	if n := b.closes.Total(); n > 0 {
		fail("%d connections ended early", n)
	}
	if rep.Acked == 0 {
		fail("no message was acked")
	}
	if timedOut {
		fail("run cut short: %v (--timeout %v)", context.Cause(ctx), cfg.Timeout)
	}
	rep.OK = len(rep.Failures) == 0
	if rep.Failures == nil {
		rep.Failures = []string{}
	}
	return rep, nil
}

// newBench makes the shared state of a chatd run and its report's header.
func newBench(cfg Config) (*bench, *Report) {
	runID := make([]byte, 6)
	rand.Read(runID)
	b := &bench{cfg: cfg, runID: hex.EncodeToString(runID), byName: make(map[string]*roomState)}
	b.progress = cfg.Progress
	if b.progress == nil {
		b.progress = io.Discard
	}
	for i := range cfg.Rooms {
		r := &roomState{name: cfg.roomName(i)}
		b.rooms = append(b.rooms, r)
		b.byName[r.name] = r
	}
	b.base = strings.TrimSuffix(cfg.URL, "/")
	b.wsURL = "ws" + strings.TrimPrefix(b.base, "http") + "/ws"
	rep := &Report{
		Proto: protoChatd, URL: b.base, Prefix: cfg.Prefix, Users: cfg.Users, Rooms: cfg.Rooms, Senders: cfg.Senders,
		Rate: cfg.Rate, Inflight: cfg.Inflight, Size: cfg.Size, Duration: cfg.Duration.Seconds(),
		Messages: cfg.Messages, Accounts: cfg.Accounts,
	}
	if cfg.Messages > 0 {
		rep.Duration = 0
	}
	return b, rep
}

func (b *bench) progressf(format string, args ...any) { fmt.Fprintf(b.progress, format, args...) }

// setup registers (or logs in) the accounts, opens every connection and
// joins each to its room, timing the three steps into rep. The clients
// returned, complete or not, are the caller's to close.
func (b *bench) setup(ctx context.Context, rep *Report) ([]*client, error) {
	tokens, err := b.register(ctx, rep)
	if err != nil {
		return nil, err
	}
	return b.connectJoin(ctx, rep, tokens)
}

// connectJoin opens every connection with the accounts' tokens and joins
// each to its room.
func (b *bench) connectJoin(ctx context.Context, rep *Report, tokens []string) ([]*client, error) {
	cfg := b.cfg
	clients := make([]*client, cfg.Users)
	t0 := time.Now()
	err := forEach(ctx, cfg.Users, cfg.Concurrency, func(ctx context.Context, i int) error {
		var err error
		clients[i], err = b.dialRetry(ctx, tokens[i%cfg.Accounts], cfg.userName(i%cfg.Accounts), b.rooms[i%cfg.Rooms])
		return err
	})
	rep.ConnectSeconds = time.Since(t0).Seconds()
	if err != nil {
		return clients, fmt.Errorf("connect: %w", err)
	}
	if b.connected != nil {
		b.connected()
	}
	t0 = time.Now()
	// Joins are writes, one transaction each on the store's one writer:
	// more than maxJoinsInFlight at once only queue there, past their
	// deadline (a storm's --concurrency 10000 made the setup fail).
	err = forEach(ctx, cfg.Users, min(cfg.Concurrency, maxJoinsInFlight), func(ctx context.Context, i int) error {
		return clients[i].join(ctx)
	})
	rep.JoinSeconds = time.Since(t0).Seconds()
	if err != nil {
		return clients, fmt.Errorf("join: %w", err)
	}
	return clients, nil
}

// register creates (or logs in) the accounts and returns their tokens.
func (b *bench) register(ctx context.Context, rep *Report) ([]string, error) {
	cfg := b.cfg
	hc := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil, // never through a proxy: loopback only
			DialContext:         loopbackDialer().DialContext,
			MaxIdleConnsPerHost: cfg.Concurrency,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// Idle HTTP connections would hold file descriptors the WebSockets need.
	defer hc.CloseIdleConnections()
	tokens := make([]string, cfg.Accounts)
	t0 := time.Now()
	err := forEach(ctx, cfg.Accounts, cfg.Concurrency, func(ctx context.Context, i int) error {
		tok, err := account(ctx, hc, b.base, cfg.userName(i), cfg.Password)
		tokens[i] = tok
		return err
	})
	rep.RegisterSeconds = time.Since(t0).Seconds()
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	b.progressf("chatbench: %d accounts registered or logged in (%.1fs)\n", cfg.Accounts, rep.RegisterSeconds)
	return tokens, nil
}

// dialRetry dials with a bounded number of retries.
func (b *bench) dialRetry(ctx context.Context, token, user string, r *roomState) (*client, error) {
	var err error
	for attempt := range setupAttempts {
		if attempt > 0 && !sleepCtx(ctx, setupBackoff<<attempt) {
			return nil, ctx.Err()
		}
		var c *client
		c, err = dial(ctx, b, b.wsURL, token, user, r)
		if err == nil {
			return c, nil
		}
		b.connErrs.Add("dial")
	}
	return nil, err
}

// sendInterval is one sender's period at --rate, 0 for as fast as allowed.
func sendInterval(cfg Config) time.Duration {
	if cfg.Rate <= 0 {
		return 0
	}
	return time.Duration(float64(cfg.Senders) / cfg.Rate * float64(time.Second))
}

func sendingWhat(cfg Config) string {
	if cfg.Messages > 0 {
		return fmt.Sprintf("sending %d messages per sender", cfg.Messages)
	}
	return fmt.Sprintf("sending for %v", cfg.Duration)
}

// waitSenders ends the sending phase: after --duration (closing stop), or
// once every sender has sent its --messages. It reports whether the run's
// context ended first.
func waitSenders(ctx context.Context, cfg Config, stop chan struct{}, senders *sync.WaitGroup) (timedOut bool) {
	var limit <-chan time.Time
	finished := make(chan struct{})
	go func() { senders.Wait(); close(finished) }()
	if cfg.Messages == 0 {
		limit = time.After(cfg.Duration)
	}
	select {
	case <-limit:
	case <-finished:
	case <-ctx.Done():
		timedOut = true
	}
	close(stop)
	<-finished
	return timedOut
}

func isDone(c *client) bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// waitFor polls cond until it holds, d passes or ctx ends.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) || !sleepCtx(ctx, 10*time.Millisecond) {
			return false
		}
	}
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// forEach runs f(0..n-1) with at most conc at once and returns the first
// error, after which the remaining calls are skipped.
func forEach(ctx context.Context, n, conc int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// closeAll closes every open client in parallel.
func closeAll(clients []*client) {
	var wg sync.WaitGroup
	for _, c := range clients {
		if c != nil {
			wg.Go(c.close)
		}
	}
	wg.Wait()
}

// account registers user, or logs in when the name is taken (a rerun with
// the same --prefix), and returns the session token. Network errors, 429
// and 5xx are retried a bounded number of times.
func account(ctx context.Context, hc *http.Client, base, user, password string) (string, error) {
	body := map[string]string{"username": user, "password": password}
	path := "/api/register"
	var lastErr error
	for attempt := range setupAttempts {
		status, data, retryAfter, err := postJSON(ctx, hc, base+path, body)
		switch {
		case err != nil:
			lastErr = err
		case status == http.StatusCreated || status == http.StatusOK:
			var out struct {
				Token string `json:"token"`
			}
			if err := json.Unmarshal(data, &out); err != nil || out.Token == "" {
				return "", fmt.Errorf("%s %s: no token in %.200s", path, user, data)
			}
			return out.Token, nil
		case status == http.StatusConflict && path == "/api/register":
			path = "/api/login"
			lastErr = fmt.Errorf("%s is taken", user)
			continue // no backoff: a different request
		case status == http.StatusTooManyRequests || status >= 500:
			lastErr = fmt.Errorf("%s %s: HTTP %d: %.200s", path, user, status, data)
		default:
			return "", fmt.Errorf("%s %s: HTTP %d: %.200s", path, user, status, data)
		}
		wait := max(setupBackoff<<attempt, min(retryAfter, maxRetryAfter))
		if attempt+1 < setupAttempts && !sleepCtx(ctx, wait) {
			return "", ctx.Err()
		}
	}
	return "", fmt.Errorf("%s: giving up after %d attempts: %w", user, setupAttempts, lastErr)
}

func postJSON(ctx context.Context, hc *http.Client, url string, body any) (int, []byte, time.Duration, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, data, time.Duration(secs) * time.Second, err
}
