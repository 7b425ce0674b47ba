// Package pgtest gives each test a PostgreSQL database state of its own: a
// fresh schema in the database that CHATD_TEST_POSTGRES_URL names, chosen
// for every connection through search_path and dropped when the test ends.
// A schema costs a few milliseconds where a database would cost a second,
// and tests on one server cannot see each other's tables.
package pgtest

import (
	"context"
	"crypto/rand"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatd/chatd/internal/chatdtest"
)

// EnvVar names the database the tests use, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvVar = "CHATD_TEST_POSTGRES_URL"

// URL returns a URL of the test database whose connections use a new,
// empty schema, which is dropped when tb ends (after the cleanups that tb
// registers later, such as closing the stores opened on it). Without
// CHATD_TEST_POSTGRES_URL it skips tb, or fails it when CHATD_REQUIRE_ALL
// is set.
func URL(tb testing.TB) string {
	tb.Helper()
	base := BaseURL(tb)
	schema := "chatd_test_" + strings.ToLower(rand.Text()[:12])
	ident := pgx.Identifier{schema}.Sanitize()
	// Test schemas need not survive a crash: their DDL need not wait for
	// the WAL to reach the disk.
	admin := WithParam(tb, base, "synchronous_commit", "off")
	exec(tb, admin, "CREATE SCHEMA "+ident)
	tb.Cleanup(func() { exec(tb, admin, "DROP SCHEMA "+ident+" CASCADE") })
	return WithParam(tb, base, "search_path", schema)
}

// BaseURL returns CHATD_TEST_POSTGRES_URL itself, skipping tb (or failing
// it, with CHATD_REQUIRE_ALL) when it is unset. A test calls it first to
// skip as a whole rather than subtest by subtest.
func BaseURL(tb testing.TB) string {
	tb.Helper()
	return chatdtest.Env(tb, EnvVar, "the tests that need PostgreSQL")
}

// WithParam returns the connection string u with a run-time parameter
// (search_path, timezone, ...) set for every connection.
func WithParam(tb testing.TB, u, key, value string) string {
	tb.Helper()
	if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		// key=value form; test values need no quoting.
		return u + " " + key + "=" + value
	}
	parsed, err := url.Parse(u)
	if err != nil {
		tb.Fatalf("%s: %v", EnvVar, err)
	}
	q := parsed.Query()
	q.Set(key, value)
	parsed.RawQuery = q.Encode()
	return parsed.String()
}

// exec runs one statement on its own connection to the database at u.
func exec(tb testing.TB, u, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		tb.Fatalf("connect to %s: %v", EnvVar, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}
