package server_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
)

// TestStoreFailuresAreLoggedAndCounted: while the store fails under a
// running server (its SQLite database closed under it, as a disk that
// stopped answering), every request refused for it is counted in
// chatd_store_failures_total by operation, and the log names the cause in
// a line or two per operation, not one per request: on the WebSocket and
// on the HTTP API alike.
func TestStoreFailuresAreLoggedAndCounted(t *testing.T) {
	var logs chatdtest.SyncBuffer
	reg := server.NewRegistry()
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Registry: reg,
	}})
	alice := srv.Register(t, "alice")
	c := srv.Dial(t, alice.Token)
	c.Welcome()
	c.Ack(protocol.TypeSendMessage, protocol.SendMessage{Room: "general", Text: "before"}, nil)
	if err := srv.Store.Close(); err != nil {
		t.Fatal(err)
	}

	const sends, gets = 300, 100
	for i := range sends {
		f := c.Request(protocol.TypeSendMessage, protocol.SendMessage{Room: "general", Text: "lost"})
		if code := errorFrameCode(t, f); code != "unavailable" {
			t.Fatalf("send %d with the store closed: error %q, want unavailable", i+1, code)
		}
	}
	for i := range gets {
		if status, body := srv.Do(t, "GET", "/api/rooms", alice.Token, nil); status != http.StatusServiceUnavailable {
			t.Fatalf("GET /api/rooms %d with the store closed: %d %s, want 503", i+1, status, body)
		}
	}

	for _, tt := range []struct {
		op   string
		want float64
	}{{"append", sends}, {"session_user", gets}} {
		if got := metricValue(t, reg, "chatd_store_failures_total", "op", tt.op); got != tt.want {
			t.Errorf(`chatd_store_failures_total{op=%q} = %v, want %v`, tt.op, got, tt.want)
		}
		var lines []string
		for line := range strings.SplitSeq(logs.String(), "\n") {
			if strings.Contains(line, `msg="store failed"`) && strings.Contains(line, "op="+tt.op+" ") {
				lines = append(lines, line)
			}
		}
		if len(lines) < 1 || len(lines) > 2 {
			t.Errorf("%v %s failures: %d log lines, want 1 or 2:\n%s", tt.want, tt.op, len(lines), strings.Join(lines, "\n"))
		}
		for _, line := range lines {
			if !strings.Contains(line, "store is closed") {
				t.Errorf("log line does not name the cause: %s", line)
			}
		}
	}
	if n := strings.Count(logs.String(), "\n"); n > 20 {
		t.Errorf("%d refused requests logged %d lines, want a few:\n%.3000s", sends+gets, n, logs.String())
	}
}
