package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestLoginThrottleKeys: failed logins are counted under the account name
// as accounts are looked up (case-insensitively), and a name no account can
// have (a 60 KiB one, say) leaves no key of its own.
func TestLoginThrottleKeys(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &Server{metrics: newMetrics(prometheus.NewRegistry(), quiet), log: quiet}
	s.auth = newAuth(s)
	login := func(username string) int {
		t.Helper()
		body := fmt.Sprintf(`{"username":%q,"password":"password-1"}`, username)
		w := httptest.NewRecorder()
		s.handleLogin(w, httptest.NewRequest("POST", "/api/login", strings.NewReader(body)))
		return w.Code
	}

	if got := login(strings.Repeat("a", 60<<10)); got != http.StatusUnauthorized {
		t.Fatalf("login with a 60 KiB username: status %d, want 401", got)
	}
	for key := range s.auth.byName.m {
		t.Errorf("a name no account can have is a throttle key of %d bytes", len(key))
	}

	// A valid name would need a store to fail against: count its failures
	// as handleLogin does.
	s.auth.byName.take(throttleName("ALICE"))
	s.auth.byName.take(throttleName("Alice"))
	if len(s.auth.byName.m) != 1 || s.auth.byName.m["alice"] == nil {
		t.Errorf("failures for ALICE and Alice: %d keys, want one, alice", len(s.auth.byName.m))
	}
}

// TestLimiterSetBounded: a flood of distinct keys, each with a failure
// against it, cannot grow a limiterSet past its bound, and a key hammered
// empty meanwhile stays throttled.
func TestLimiterSetBounded(t *testing.T) {
	ls := newLimiterSet(1.0/12, 5) // the account throttle: 5, then one per 12 s
	ls.max = 100
	for range 5 {
		ls.take("victim")
	}
	if ls.exhausted("victim") == 0 {
		t.Fatal("victim not throttled after 5 failures")
	}
	for i := range 10 * ls.max {
		ls.take(fmt.Sprintf("flood-%d", i))
		if n := len(ls.m); n > ls.max {
			t.Fatalf("after %d keys the set holds %d, want at most %d", i+1, n, ls.max)
		}
	}
	if ls.exhausted("victim") == 0 {
		t.Errorf("victim no longer throttled after a flood of %d other keys", 10*ls.max)
	}
}
