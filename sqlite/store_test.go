package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/sqlite"
	"github.com/chatd/chatd/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) chat.Store {
		return open(t, filepath.Join(t.TempDir(), "chat.db"))
	})
}

// open opens the database at path and closes it when the test ends.
func open(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(tb.Context(), path)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}
