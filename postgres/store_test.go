package postgres_test

import (
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/postgres"
	"github.com/chatd/chatd/postgres/pgtest"
	"github.com/chatd/chatd/storetest"
)

func TestStore(t *testing.T) {
	pgtest.BaseURL(t)
	storetest.Run(t, func(t *testing.T) chat.Store {
		// A session time zone far from UTC (+13:45 or +12:45) shows that
		// times come back in UTC whatever the server's setting.
		url := pgtest.WithParam(t, pgtest.URL(t), "timezone", "Pacific/Chatham")
		// Commits that do not wait for the WAL flush halve the suite's time;
		// what other connections see is the same.
		return open(t, pgtest.WithParam(t, url, "synchronous_commit", "off"))
	})
}

// open opens the store at url and closes it when the test ends.
func open(tb testing.TB, url string) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(tb.Context(), url)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}
