package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/postgres/pgtest"
	"github.com/gorilla/websocket"
)

// env is a getenv over a map.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// instance is a run in a goroutine.
type instance struct {
	addr   string
	stderr *chatdtest.SyncBuffer
	cancel context.CancelFunc
	done   chan error
}

// start calls run with args and vars and waits until it listens; it fails
// the test if run returns first.
func start(tb testing.TB, args []string, vars map[string]string) *instance {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{stderr: &chatdtest.SyncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		in.done <- run(ctx, args, env(vars), io.Discard, in.stderr, func(addr string) { ready <- addr })
	}()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-in.done:
		case <-time.After(10 * time.Second):
			tb.Errorf("run did not return 10 s after cancel")
		}
	})
	select {
	case in.addr = <-ready:
	case err := <-in.done:
		in.done <- err // for Cleanup
		tb.Fatalf("run returned before listening: %v\nstderr:\n%s", err, in.stderr)
	case <-time.After(15 * time.Second):
		tb.Fatalf("run did not listen within 15 s\nstderr:\n%s", in.stderr)
	}
	return in
}

// stop cancels run's context, as SIGTERM does, and returns run's error.
func (in *instance) stop(tb testing.TB) error {
	tb.Helper()
	in.cancel()
	select {
	case err := <-in.done:
		in.done <- err // for Cleanup
		return err
	case <-time.After(10 * time.Second):
		tb.Fatalf("run did not return within 10 s of cancel")
		return nil
	}
}

func waitReady(tb testing.TB, url string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s/readyz never answered 200 (last: %v)", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func register(tb testing.TB, url, username string) string {
	tb.Helper()
	status, token := postCredentials(tb, url+"/api/register", username, "password-1")
	if status != http.StatusCreated || token == "" {
		tb.Fatalf("register %s: status %d", username, status)
	}
	return token
}

// postCredentials posts a username and password (to register or log in)
// and returns the status and the token.
func postCredentials(tb testing.TB, url, username, password string) (int, string) {
	tb.Helper()
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, username, password)
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.Token
}

func TestRunRefusesBadConfiguration(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		vars    map[string]string
		mention string // the error names what is wrong
	}{
		{"unknown flag", []string{"--bogus"}, nil, "bogus"},
		{"flag value", []string{"--rate-limit", "fast"}, nil, "rate-limit"},
		{"negative rate limit", []string{"--rate-limit", "-1"}, nil, "rate-limit"},
		{"log format", []string{"--log-format", "xml"}, nil, "log-format"},
		{"negative write delay", []string{"--write-delay", "-1ms"}, nil, "write-delay"},
		{"profiles off loopback", []string{"--pprof-addr", "0.0.0.0:6060"}, nil, "pprof-addr"},
		{"stray argument", []string{"serve"}, nil, "serve"},
		{"env twin", nil, map[string]string{"CHATD_RATE_LIMIT": "abc"}, "CHATD_RATE_LIMIT"},
		{"env twin of a duration", nil, map[string]string{"CHATD_PING_INTERVAL": "soon"}, "CHATD_PING_INTERVAL"},
		{"env twin validated", nil, map[string]string{"CHATD_LOG_FORMAT": "xml"}, "log-format"},
		{"data dir under a file", []string{"--addr", "127.0.0.1:0", "--data-dir", filepath.Join(file, "data")}, nil, "data"},
		{"bad listen address", []string{"--addr", "127.0.0.1:-5", "--data-dir", t.TempDir()}, nil, "listen"},
		{"unreachable PostgreSQL", []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--postgres-url", "postgres://127.0.0.1:1/chatd"}, nil, "postgres"},
		{"malformed PostgreSQL URL", []string{"--addr", "127.0.0.1:0", "--postgres-url", "postgres://u:pw@127.0.0.1:port/chatd"}, nil, "postgres"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			listened := false
			err := run(ctx, tt.args, env(tt.vars), io.Discard, io.Discard, func(string) { listened = true; cancel() })
			if err == nil || listened {
				t.Fatalf("run(%q, %v) = %v (listened %v), want an error", tt.args, tt.vars, err, listened)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("run(%q, %v) = %q, want it to mention %q", tt.args, tt.vars, err, tt.mention)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans several lines, want one", err)
			}
		})
	}
}

// TestRunRefusesExternalNATSWithSQLite: nodes that share a NATS share rooms,
// and each node's SQLite would hand out the same seqs; so an external NATS
// without PostgreSQL is refused before anything is opened.
func TestRunRefusesExternalNATSWithSQLite(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		vars map[string]string
	}{
		{"flag", []string{"--addr", "127.0.0.1:0", "--nats-url", "nats://127.0.0.1:1"}, nil},
		{"env twin", []string{"--addr", "127.0.0.1:0"}, map[string]string{"CHATD_NATS_URL": "nats://127.0.0.1:1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, append(tt.args, "--data-dir", dir), env(tt.vars), io.Discard, io.Discard, func(string) { cancel() })
			if err == nil || !strings.Contains(err.Error(), "--nats-url needs --postgres-url") || strings.Contains(err.Error(), "\n") {
				t.Errorf("run(%q, %v) = %v, want one line saying --nats-url needs --postgres-url", tt.args, tt.vars, err)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("the SQLite data dir was created: the configuration was not refused first")
			}
		})
	}
}

// TestRunUnreachableNATS: a NATS that does not answer fails the start with
// one line about the bus.
func TestRunUnreachableNATS(t *testing.T) {
	args := []string{"--addr", "127.0.0.1:0", "--postgres-url", pgtest.URL(t), "--nats-url", "nats://127.0.0.1:1"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	listened := false
	err := run(ctx, args, env(nil), io.Discard, io.Discard, func(string) { listened = true; cancel() })
	if err == nil || listened || !strings.Contains(err.Error(), "bus") || strings.Contains(err.Error(), "\n") {
		t.Errorf("run with an unreachable NATS = %v (listened %v), want one line about the bus", err, listened)
	}
}

// serverGoroutines counts the goroutines running code of package server.
func serverGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	n := 0
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/chatd/chatd/server.") {
			n++
		}
	}
	return n
}

// TestRunListenFailureStopsTheServer: a port in use fails the start, and
// neither the server built for it (its heartbeat, flushers and poller) nor
// a listener outlives run.
func TestRunListenFailureStopsTheServer(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String()
	free.Close()
	for _, tt := range []struct {
		name    string
		args    []string
		mention string
	}{
		{"address in use", []string{"--addr", taken.Addr().String()}, "listen"},
		{"profile address in use", []string{"--addr", freeAddr, "--pprof-addr", taken.Addr().String()}, "pprof"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := serverGoroutines()
			err := run(t.Context(), append(tt.args, "--data-dir", t.TempDir()), env(nil), io.Discard, io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("run(%q) = %v, want an error about %s", tt.args, err, tt.mention)
			}
			deadline := time.Now().Add(2 * time.Second)
			for serverGoroutines() > before {
				if time.Now().After(deadline) {
					t.Fatalf("%d goroutines of package server left after run returned, %d before it started",
						serverGoroutines(), before)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if conn, err := net.Dial("tcp", freeAddr); err == nil {
				conn.Close()
				t.Errorf("%s still accepts connections after run returned", freeAddr)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-h"}, env(nil), io.Discard, &stderr, nil)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(stderr.String(), "-data-dir") {
		t.Errorf("run -h printed %q, want the flags' usage", stderr.String())
	}
}

func TestRunEnvironmentTwins(t *testing.T) {
	isJSON := func(log string) bool {
		line, _, _ := strings.Cut(log, "\n")
		return json.Valid([]byte(line)) && strings.HasPrefix(line, "{")
	}

	t.Run("twin applies without the flag", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "from-env")
		in := start(t, nil, map[string]string{
			"CHATD_ADDR": "127.0.0.1:0", "CHATD_DATA_DIR": dir, "CHATD_LOG_FORMAT": "json",
		})
		if err := in.stop(t); err != nil {
			t.Fatalf("run = %v, want nil", err)
		}
		if log := in.stderr.String(); !isJSON(log) || !strings.Contains(log, `"msg":"chatd listening"`) {
			t.Errorf("CHATD_LOG_FORMAT=json: log %q, want JSON lines", log)
		}
		if !strings.HasPrefix(in.addr, "127.0.0.1:") {
			t.Errorf("CHATD_ADDR=127.0.0.1:0: listened on %s", in.addr)
		}
		if _, err := os.Stat(filepath.Join(dir, "chatd.db")); err != nil {
			t.Errorf("CHATD_DATA_DIR: %v", err)
		}
	})

	t.Run("flag wins over twin", func(t *testing.T) {
		dir := t.TempDir()
		in := start(t, []string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--log-format", "text", "--rate-limit", "3"},
			map[string]string{
				"CHATD_ADDR": "256.0.0.1:99999", "CHATD_DATA_DIR": filepath.Join(dir, "elsewhere"),
				"CHATD_LOG_FORMAT": "json", "CHATD_RATE_LIMIT": "abc",
			})
		url := "http://" + in.addr
		waitReady(t, url)
		// The rate limit shows in the welcome frame.
		c, err := chatdtest.DialURL(t, "ws://"+in.addr+"/ws", register(t, url, "alice"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Welcome().Limits.MessagesPerSecond; got != 3 {
			t.Errorf("--rate-limit 3: welcome says %v messages per second", got)
		}
		if err := in.stop(t); err != nil {
			t.Fatalf("run = %v, want nil", err)
		}
		if log := in.stderr.String(); isJSON(log) || !strings.Contains(log, `msg="chatd listening"`) {
			t.Errorf("--log-format text with CHATD_LOG_FORMAT=json: log %q, want text lines", log)
		}
		if _, err := os.Stat(filepath.Join(dir, "chatd.db")); err != nil {
			t.Errorf("--data-dir: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "elsewhere")); err == nil {
			t.Errorf("CHATD_DATA_DIR was used although --data-dir was given")
		}
	})
}

func TestRunServesAndStopsGracefully(t *testing.T) {
	dir := t.TempDir()
	in := start(t, []string{"--addr", "127.0.0.1:0", "--data-dir", dir}, nil)
	url := "http://" + in.addr
	waitReady(t, url)
	token := register(t, url, "alice")

	c, err := chatdtest.DialURL(t, "ws://"+in.addr+"/ws", token, nil, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.Welcome()
	c.Ack("send_message", map[string]string{"room": "general", "text": "before the signal"}, nil)

	stopping := time.Now()
	in.cancel() // what SIGTERM does in main
	if code, text := c.WaitClosed(10 * time.Second); code != websocket.CloseGoingAway {
		t.Errorf("WebSocket closed with %d %q, want %d", code, text, websocket.CloseGoingAway)
	}
	if err := in.stop(t); err != nil {
		t.Errorf("run = %v, want nil", err)
	}
	if d := time.Since(stopping); d > 10*time.Second {
		t.Errorf("run took %v to stop, want under 10 s", d)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Errorf("still answering HTTP after run returned")
	}

	// The data survive: a new run on the same directory has the account and
	// the message.
	in = start(t, []string{"--addr", "127.0.0.1:0", "--data-dir", dir}, nil)
	url = "http://" + in.addr
	waitReady(t, url)
	wantKept(t, url, "before the signal")
}

// wantKept logs alice in on a restarted chatd at url and checks that
// general's history still has text.
func wantKept(t *testing.T, url, text string) {
	t.Helper()
	resp, err := http.Post(url+"/api/login", "application/json", strings.NewReader(`{"username":"alice","password":"password-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		Token string `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login after restart: status %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", url+"/api/rooms/general/messages", nil)
	req.Header.Set("Authorization", "Bearer "+login.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), text) {
		t.Errorf("history after restart: %s, want %q", body, text)
	}
}

func TestRunUnreachablePostgresFailsFast(t *testing.T) {
	// A database that accepts the connection but never answers (so only
	// the timeout ends the wait, even with a long connect_timeout in the
	// URL) fails the start within a few seconds, and the data dir is
	// neither needed nor created.
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // held open, silent, until the test ends
		}
	}()
	dir := filepath.Join(t.TempDir(), "unused")
	started := time.Now()
	err = run(t.Context(), []string{"--addr", "127.0.0.1:0", "--data-dir", dir,
		"--postgres-url", "postgres://chatd@" + ln.Addr().String() + "/chatd?sslmode=disable&connect_timeout=60"},
		env(nil), io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "postgres") || strings.Contains(err.Error(), "\n") {
		t.Errorf("run with a silent PostgreSQL = %v, want one line about postgres", err)
	}
	t.Logf("run: %v", err)
	if d := time.Since(started); d > 8*time.Second {
		t.Errorf("run took %v to give up on PostgreSQL, want a few seconds", d)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("--data-dir was created although --postgres-url was given")
	}
}

func TestRunPostgres(t *testing.T) {
	url := pgtest.URL(t)
	dir := filepath.Join(t.TempDir(), "unused")
	args := []string{"--addr", "127.0.0.1:0", "--data-dir", dir}
	vars := map[string]string{"CHATD_POSTGRES_URL": url}
	in := start(t, args, vars)
	base := "http://" + in.addr
	waitReady(t, base)
	c, err := chatdtest.DialURL(t, "ws://"+in.addr+"/ws", register(t, base, "alice"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Welcome()
	c.Ack("send_message", map[string]string{"room": "general", "text": "kept in postgres"}, nil)
	if err := in.stop(t); err != nil {
		t.Fatalf("run = %v, want nil", err)
	}
	if log := in.stderr.String(); strings.Contains(log, url) {
		t.Errorf("the log shows the PostgreSQL URL:\n%s", log)
	}

	// A restart finds the account and the message in the database.
	in = start(t, args, vars)
	base = "http://" + in.addr
	waitReady(t, base)
	wantKept(t, base, "kept in postgres")
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("--data-dir was created although --postgres-url was given")
	}
}

// TestBinary builds chatd and checks what only the process shows: the exit
// status, what reaches stderr, and signal handling.
func TestBinary(t *testing.T) {
	bin := buildChatd(t)

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		args     []string
		env      []string
		postgres bool // add a --postgres-url of a test schema
	}{
		{"unknown flag", []string{"--bogus"}, nil, false},
		{"bad flag value", []string{"--rate-limit", "fast"}, nil, false},
		{"bad env twin", nil, []string{"CHATD_RATE_LIMIT=abc"}, false},
		{"unusable data dir", []string{"--addr", "127.0.0.1:0", "--data-dir", filepath.Join(file, "data")}, nil, false},
		{"unreachable NATS", []string{"--addr", "127.0.0.1:0", "--nats-url", "nats://127.0.0.1:1"}, nil, true},
		{"external NATS with SQLite", []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--nats-url", "nats://127.0.0.1:1"}, nil, false},
		{"unreachable PostgreSQL", []string{"--addr", "127.0.0.1:0", "--postgres-url", "postgres://chatd@127.0.0.1:1/chatd"}, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.postgres {
				args = append(args, "--postgres-url", pgtest.URL(t))
			}
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), tt.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Errorf("chatd %q: %v, want exit status 2", tt.args, err)
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || lines[0] == "" || strings.Contains(stderr.String(), "goroutine") {
				t.Errorf("chatd %q: stderr has %d lines, want one clear line:\n%s", tt.args, len(lines), stderr.String())
			}
		})
	}

	t.Run("help", func(t *testing.T) {
		out, err := exec.Command(bin, "-h").CombinedOutput()
		if err != nil {
			t.Errorf("chatd -h: %v, want exit status 0", err)
		}
		if !strings.Contains(string(out), "-data-dir") {
			t.Errorf("chatd -h printed no usage:\n%s", out)
		}
	})

	t.Run("SIGTERM", func(t *testing.T) {
		cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-format", "json")
		cmd.Env = os.Environ()
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		addr := make(chan string, 1)
		var logMu sync.Mutex
		var log strings.Builder
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				logMu.Lock()
				log.WriteString(sc.Text() + "\n")
				logMu.Unlock()
				var line struct {
					Msg  string `json:"msg"`
					Addr string `json:"addr"`
				}
				if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "chatd listening" {
					addr <- line.Addr
				}
			}
			exited <- cmd.Wait()
		}()
		t.Cleanup(func() { cmd.Process.Kill() })
		logs := func() string {
			logMu.Lock()
			defer logMu.Unlock()
			return log.String()
		}

		var a string
		select {
		case a = <-addr:
		case err := <-exited:
			t.Fatalf("chatd exited before listening: %v\n%s", err, logs())
		case <-time.After(15 * time.Second):
			t.Fatalf("chatd did not log its address within 15 s:\n%s", logs())
		}
		url := "http://" + a
		waitReady(t, url)
		c, err := chatdtest.DialURL(t, "ws://"+a+"/ws", register(t, url, "alice"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Welcome()

		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code, text := c.WaitClosed(10 * time.Second); code != websocket.CloseGoingAway {
			t.Errorf("WebSocket closed with %d %q on SIGTERM, want %d", code, text, websocket.CloseGoingAway)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("chatd after SIGTERM: %v, want exit status 0\n%s", err, logs())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("chatd still running 10 s after SIGTERM:\n%s", logs())
		}
	})
}

// TestPprofOnLoopback: --pprof-addr serves the runtime's profiles there,
// and only there.
func TestPprofOnLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--pprof-addr", addr},
			env(nil), io.Discard, io.Discard, func(a string) { ready <- a })
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("chatd did not start")
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("GET /debug/pprof/goroutine: %d %.100s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
}
