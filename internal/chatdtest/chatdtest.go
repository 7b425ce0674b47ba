// Package chatdtest starts real chatd servers (SQLite file, embedded NATS,
// loopback HTTP) and drives them with real WebSocket clients, for the tests
// of every package.
package chatdtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/natsbus"
	"github.com/chatd/chatd/server"
	"github.com/chatd/chatd/sqlite"
)

// Options configures Start. Config's Store and Bus are filled in.
type Options struct {
	Config  server.Config
	DataDir string // default tb.TempDir(); reuse one to restart a server on the same data
	Addr    string // default 127.0.0.1:0
	// Bus, if set, is used instead of a new embedded one (several nodes).
	Bus chat.Bus
	// Store, if set, is used instead of a SQLite file in DataDir.
	Store chat.Store
}

// Server is a running chatd on loopback.
type Server struct {
	URL   string // http://127.0.0.1:port
	Addr  string
	Srv   *server.Server
	Store chat.Store
	Bus   chat.Bus

	tb       testing.TB
	http     *http.Server
	stopped  bool
	closeOwn func() // closes the store and bus Start opened
}

// Start runs a chatd until the test ends (or Stop).
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if opts.DataDir == "" {
		opts.DataDir = tb.TempDir()
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	ctx := context.Background()
	s := &Server{tb: tb, Store: opts.Store, Bus: opts.Bus}
	ownStore, ownBus := s.Store == nil, s.Bus == nil
	if ownStore {
		st, err := sqlite.Open(ctx, filepath.Join(opts.DataDir, "chatd.db"))
		if err != nil {
			tb.Fatalf("open sqlite: %v", err)
		}
		s.Store = st
	}
	if ownBus {
		b, err := natsbus.New(natsbus.Options{Logger: quietLogger()})
		if err != nil {
			tb.Fatalf("start bus: %v", err)
		}
		s.Bus = b
	}
	cfg := opts.Config
	cfg.Store, cfg.Bus = s.Store, s.Bus
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	srv, err := server.New(cfg)
	if err != nil {
		tb.Fatalf("server.New: %v", err)
	}
	s.Srv = srv
	var ln net.Listener
	for i := 0; ; i++ { // a restart may find the old port in TIME_WAIT for a moment
		ln, err = net.Listen("tcp", opts.Addr)
		if err == nil || i == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	s.Addr = ln.Addr().String()
	s.URL = "http://" + s.Addr
	s.http = &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go s.http.Serve(srv.Listener(ln, s.http.ReadHeaderTimeout))
	s.closeOwn = func() {
		if ownBus {
			s.Bus.Close()
		}
		if ownStore {
			s.Store.Close()
		}
	}
	tb.Cleanup(s.Close)
	return s
}

// Close stops the server and closes the store and bus that Start opened,
// as a process exit would; a server can then be started again on the same
// DataDir and Addr.
func (s *Server) Close() {
	s.Stop()
	if s.closeOwn != nil {
		s.closeOwn()
		s.closeOwn = nil
	}
}

// Stop shuts the server down as SIGTERM would: listener first, then every
// WebSocket with 1001. The store and bus stay open until the test ends.
func (s *Server) Stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		s.http.Shutdown(ctx)
		close(done)
	}()
	if err := s.Srv.Shutdown(ctx); err != nil {
		s.tb.Errorf("server shutdown: %v", err)
	}
	<-done
}

// WSURL is the WebSocket endpoint.
func (s *Server) WSURL() string { return "ws" + strings.TrimPrefix(s.URL, "http") + "/ws" }

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Account is a registered user and their session token.
type Account struct {
	User  chat.User
	Token string
}

// Register creates an account (password "password-1") and returns it.
func (s *Server) Register(tb testing.TB, username string) Account {
	tb.Helper()
	var out struct {
		User  chat.User `json:"user"`
		Token string    `json:"token"`
	}
	status, body := s.Do(tb, "POST", "/api/register", "", map[string]string{"username": username, "password": "password-1"})
	if status != http.StatusCreated {
		tb.Fatalf("register %s: status %d: %s", username, status, body)
	}
	if err := json.Unmarshal(body, &out); err != nil {
		tb.Fatalf("register %s: %v", username, err)
	}
	return Account{User: out.User, Token: out.Token}
}

// Do sends an HTTP request with an optional bearer token and JSON body
// and returns the status and body.
func (s *Server) Do(tb testing.TB, method, path, token string, body any) (int, []byte) {
	tb.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// WaitReady polls /readyz until it answers 200.
func (s *Server) WaitReady(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatal("server never became ready")
}

// Errorf-style helper for JSON decoding in tests.
func mustUnmarshal(tb testing.TB, data []byte, v any) {
	tb.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		tb.Fatalf("decode %s: %v", data, err)
	}
}

var errTimeout = errors.New("timed out")

func describe(f Frame) string { return fmt.Sprintf("%s id=%q %s", f.Type, f.ID, f.Payload) }

// Env returns the environment variable a test needs, skipping the test
// with a clear message when it is unset, or failing it when
// CHATD_REQUIRE_ALL is set (as CI does, so that nothing skips there).
func Env(tb testing.TB, name, what string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("CHATD_REQUIRE_ALL") != "" {
			tb.Fatalf("%s is not set but CHATD_REQUIRE_ALL is: %s cannot be tested", name, what)
		}
		tb.Skipf("%s is not set; skipping %s", name, what)
	}
	return v
}
