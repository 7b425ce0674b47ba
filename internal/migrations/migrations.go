// Package migrations reads a store's embedded schema migrations: files
// named NNNN_name.sql, numbered from 1 without gaps. The sqlite and postgres
// stores each keep their own files and apply them their own way; this is
// the part they share.
//
// # Rolling upgrades
//
// A cluster is upgraded one node at a time, so for a while nodes of the
// new release and of the previous one run on the same PostgreSQL database:
// the first new node to start migrates the schema, and the old nodes go on
// (or restart) on the migrated schema. The rule that makes this work:
//
//   - A release's migrations are additive: new tables, new columns that
//     are nullable or have a default, new indexes, new triggers that the
//     old code's writes satisfy. The old code, which knows nothing of
//     them, keeps working.
//   - Nothing the previous release reads or writes is dropped, renamed or
//     retyped. That waits for the next release, once no running node uses
//     it any more; such a migration declares, with a line
//     "-- requires: N" in its file, that only a chatd knowing schema
//     version N or later (the last of the release that stopped using what
//     it drops) may run on a database that has it.
//   - A migration is never edited once released; a change is a new file.
//
// Every store applies all pending migrations in one transaction, so a
// failure leaves the schema as it was. PostgreSQL migrations take an
// advisory lock, so nodes starting together take turns: the first
// migrates, the others find nothing to do. A chatd that finds a schema
// newer than it knows starts on it, without migrating, unless one of the
// newer migrations requires a newer chatd (PostgreSQL records each
// migration's requirement in schema_migrations; a SQLite database has a
// single node, stopped for its upgrade, and refuses a newer schema).
package migrations

import (
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
)

// Migration is one schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
	// Requires is the schema version a chatd must know at least to run on
	// a database with this migration applied: 0 for an additive
	// migration, which every older chatd can live with. A line
	// "-- requires: N" in the file sets it.
	Requires int
}

// requiresLine declares a migration's Requires.
var requiresLine = regexp.MustCompile(`(?m)^--\s*requires:\s*(\d+)\s*$`)

// Load returns the migrations in dir of fsys in order, checking that they
// are numbered 1, 2, 3, ... A migration is never edited once released; a
// change to the schema is a new file.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries { // ReadDir sorts by name
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", e.Name())
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("migration %s: want version %d", e.Name(), len(ms)+1)
		}
		b, err := fs.ReadFile(fsys, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		m := Migration{Version: v, Name: e.Name(), SQL: string(b)}
		if r := requiresLine.FindStringSubmatch(m.SQL); r != nil {
			m.Requires, _ = strconv.Atoi(r[1])
			if m.Requires >= v {
				return nil, fmt.Errorf("migration %s: requires %d, want a version before %d", e.Name(), m.Requires, v)
			}
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// Status is where a database stands against the migrations a chatd knows.
type Status struct {
	Current int         // the database's schema version; 0 if it has none
	Known   int         // the newest version this chatd knows
	Pending []Migration // what Migrate would apply, in order
}

// Plan returns the status of a database at version current against ms.
// A database newer than ms is no error: the caller decides whether this
// chatd may run on it (see NewerError).
func Plan(ms []Migration, current int) Status {
	st := Status{Current: current, Known: len(ms)}
	if current < len(ms) {
		st.Pending = ms[current:]
	}
	return st
}

// NewerError is a database schema newer than this chatd may run on.
type NewerError struct {
	Current, Known int
	Requires       int // 0 where the store records no requirement
}

func (e *NewerError) Error() string {
	if e.Requires > 0 {
		return fmt.Sprintf("database schema version %d requires a chatd that knows version %d or later; this one knows %d", e.Current, e.Requires, e.Known)
	}
	return fmt.Sprintf("database schema version %d is newer than this chatd knows (%d)", e.Current, e.Known)
}
