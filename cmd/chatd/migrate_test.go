package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatd/chatd/postgres/pgtest"
)

// migrateRun runs chatd migrate with args and returns its exit status and
// output.
func migrateRun(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := migrateCommand(context.Background(), args, env(vars), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestMigrateCommand: --check lists what is pending and exits 3, changing
// nothing; migrate applies it; then both say up to date and exit 0. On
// SQLite (through the data dir's env twin) and on PostgreSQL.
func TestMigrateCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	stores := map[string]map[string]string{"sqlite": {"CHATD_DATA_DIR": dir}}
	if os.Getenv(pgtest.EnvVar) != "" || os.Getenv("CHATD_REQUIRE_ALL") != "" {
		stores["postgres"] = map[string]string{"CHATD_POSTGRES_URL": pgtest.URL(t)}
	}
	for name, vars := range stores {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := migrateRun(t, vars, "--check")
			if code != 3 || !strings.Contains(out, "schema version 0;") ||
				!strings.Contains(out, "\n1 0001_init.sql\n") {
				t.Fatalf("migrate --check on an empty database: %d\n%s%s\nwant 3 and the pending list", code, out, errOut)
			}
			if name == "sqlite" {
				if _, err := os.Stat(dir); err == nil {
					t.Errorf("migrate --check created %s", dir)
				}
			}
			code, out, errOut = migrateRun(t, vars)
			if code != 0 || !strings.HasPrefix(out, "applied 0001_init.sql\n") {
				t.Fatalf("migrate: %d\n%s%s\nwant 0 and what it applied", code, out, errOut)
			}
			for _, args := range [][]string{{"--check"}, nil} {
				code, out, errOut = migrateRun(t, vars, args...)
				if code != 0 || !strings.HasPrefix(out, "up to date") {
					t.Errorf("migrate %q after migrating: %d\n%s%s\nwant 0 and up to date", args, code, out, errOut)
				}
			}
		})
	}

	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"--bogus"}, 2},
		{[]string{"now"}, 2},
		{[]string{"-h"}, 0},
		{[]string{"--check", "--postgres-url", "postgres://chatd@127.0.0.1:1/chatd?connect_timeout=2"}, 1},
	} {
		code, out, errOut := migrateRun(t, nil, tt.args...)
		if code != tt.code || (code != 0 && strings.Count(errOut, "\n") != 1) {
			t.Errorf("migrate %q: %d\n%s%s\nwant %d and one line on stderr", tt.args, code, out, errOut, tt.code)
		}
	}
}
