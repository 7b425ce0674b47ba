package postgres_test

import (
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/postgres/pgtest"
	"github.com/chatd/chatd/storetest"
)

// BenchmarkStore runs the shared Append benchmarks (storetest.Bench), each
// on a schema of its own, with the server's durable commits
// (synchronous_commit on), as chatd runs.
func BenchmarkStore(b *testing.B) {
	pgtest.BaseURL(b)
	storetest.Bench(b, func(tb testing.TB) chat.Store {
		return open(tb, pgtest.URL(tb))
	})
}
