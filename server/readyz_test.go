package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/postgres"
	"github.com/chatd/chatd/postgres/pgtest"
	"github.com/chatd/chatd/server"
)

// stallProxy forwards TCP to a target, and while stalled forwards nothing,
// as a database that stopped answering does.
type stallProxy struct {
	ln      net.Listener
	target  string
	stalled atomic.Bool
	wg      sync.WaitGroup
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target}
	p.wg.Go(p.accept)
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *stallProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.wg.Go(func() { p.pipe(u, c) })
		p.wg.Go(func() { p.pipe(c, u) })
	}
}

// pipe copies until either side closes; while stalled, what arrives waits.
func (p *stallProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for p.stalled.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestReadyzAnswersWhileTheStoreStalls: /readyz answers within a couple of
// seconds while PostgreSQL does not answer at all (503), and 200 again once
// it does.
func TestReadyzAnswersWhileTheStoreStalls(t *testing.T) {
	pgURL := pgtest.URL(t)
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newStallProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	store, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := chatdtest.Start(t, chatdtest.Options{Store: store, Config: server.Config{Logger: quiet}})
	t.Cleanup(func() { proxy.stalled.Store(false) }) // before the server stops, if the test failed stalled

	hc := &http.Client{Timeout: 8 * time.Second}
	probe := func() (int, time.Duration) {
		start := time.Now()
		resp, err := hc.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatalf("/readyz: no answer after %v: %v", time.Since(start).Round(time.Millisecond), err)
		}
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	if code, _ := probe(); code != http.StatusOK {
		t.Fatalf("/readyz = %d before the stall, want 200", code)
	}
	proxy.stalled.Store(true)
	for range 2 {
		code, took := probe()
		if code != http.StatusServiceUnavailable || took > 4*time.Second {
			t.Fatalf("/readyz during the stall: %d after %v, want 503 within a few seconds", code, took)
		}
	}
	proxy.stalled.Store(false)
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _ := probe()
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d 15 s after the store answers again", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
