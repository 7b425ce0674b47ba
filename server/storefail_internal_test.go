package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// TestStoreFailuresLogOncePerInterval: the first failure of an operation
// is logged at once with its cause, the next ones within the interval only
// counted, and the first after it logged with how many it stands for;
// answers of the store (not found) and callers giving up are not failures.
func TestStoreFailuresLogOncePerInterval(t *testing.T) {
	var logs strings.Builder
	counted := map[string]int{}
	f := newStoreFailures(slog.New(slog.NewTextHandler(&logs, nil)), func(op string) { counted[op]++ })
	now := time.Unix(1e9, 0)
	f.now = func() time.Time { return now }
	full := fmt.Errorf("sqlite: append: %w: disk I/O error", chat.ErrUnavailable)

	for range 100 {
		err := f.failed("append", full)
		if !errors.Is(err, chat.ErrUnavailable) {
			t.Fatalf("failed returned %v, want the error with its code", err)
		}
		now = now.Add(time.Millisecond)
	}
	now = now.Add(storeFailureLogEvery)
	f.failed("append", full)
	f.failed("history", full)
	f.failed("room", chat.Errorf(chat.CodeNotFound, "no such room"))
	f.failed("room", fmt.Errorf("postgres: room: %w", context.Canceled))
	f.failed("append", f.failed("append", full)) // counted once

	if counted["append"] != 102 || counted["history"] != 1 || counted["room"] != 0 {
		t.Errorf("counted %v, want append 102, history 1, no room", counted)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	want := []string{"op=append", "failures=1 ", "op=append", "failures=100 ", "op=history", "failures=1 "}
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3 (append, its summary, history):\n%s", len(lines), logs.String())
	}
	for i, line := range lines {
		if !strings.Contains(line, want[2*i]) || !strings.Contains(line, want[2*i+1]) || !strings.Contains(line, "disk I/O error") {
			t.Errorf("log line %d: %s, want %s %s and the cause", i+1, line, want[2*i], want[2*i+1])
		}
	}
}

// TestWriteErrorQuietForAbandonedRequests: a request whose client went
// away mid-call (its context canceled) is not logged as a failure, while
// an internal error of a live request still is.
func TestWriteErrorQuietForAbandonedRequests(t *testing.T) {
	var logs strings.Builder
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	gone := httptest.NewRequest(http.MethodGet, "/ws", nil).WithContext(ctx)
	s.writeError(httptest.NewRecorder(), gone, fmt.Errorf("sqlite: session user: %w", context.Canceled))
	if strings.Contains(logs.String(), "request failed") {
		t.Errorf("an abandoned request was logged as a failure:\n%s", logs.String())
	}
	live := httptest.NewRequest(http.MethodGet, "/ws", nil)
	s.writeError(httptest.NewRecorder(), live, errors.New("boom"))
	if !strings.Contains(logs.String(), "request failed") {
		t.Errorf("an internal error of a live request was not logged:\n%s", logs.String())
	}
}
